//! GGUF metadata values.
//!
//! Arrays are kept as typed vectors, and string arrays as one text buffer with
//! item ends, so a parsed array costs about what its bytes take in the file:
//! a `Vec<Value>` would cost 32 bytes per item, which turned a hostile u8
//! array in a 100 MB file into 3 GB (issue 12).

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Array),
}

/// A metadata array: one type for all items.
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    String(Strings),
    /// Arrays of arrays (nesting is bounded by the reader).
    Array(Vec<Array>),
}

/// Strings back to back in one buffer; `ends[i]` is where item `i` ends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strings {
    text: String,
    ends: Vec<u32>,
}

impl Strings {
    pub const fn new() -> Self {
        Strings { text: String::new(), ends: Vec::new() }
    }

    pub fn with_capacity(items: usize) -> Self {
        Strings { text: String::new(), ends: Vec::with_capacity(items) }
    }

    /// Appends an item; `None` if the buffer would pass 4 GiB (no real file
    /// comes near: the largest vocabularies hold a few MB of text).
    pub fn push(&mut self, s: &str) -> Option<()> {
        let end = u32::try_from(self.text.len() + s.len()).ok()?;
        self.text.push_str(s);
        self.ends.push(end);
        Some(())
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        Some(&self.text[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i).expect("in range"))
    }
}

impl<S: AsRef<str>> FromIterator<S> for Strings {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        let mut s = Strings::default();
        for item in items {
            s.push(item.as_ref()).expect("test vocabularies are small");
        }
        s
    }
}

impl Array {
    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::F64(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::Array(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i` of a number or bool array, as a scalar [`Value`]; `None` for
    /// strings, nested arrays, or past the end.
    pub fn scalar(&self, i: usize) -> Option<Value> {
        Some(match self {
            Array::U8(v) => Value::U8(*v.get(i)?),
            Array::I8(v) => Value::I8(*v.get(i)?),
            Array::U16(v) => Value::U16(*v.get(i)?),
            Array::I16(v) => Value::I16(*v.get(i)?),
            Array::U32(v) => Value::U32(*v.get(i)?),
            Array::I32(v) => Value::I32(*v.get(i)?),
            Array::U64(v) => Value::U64(*v.get(i)?),
            Array::I64(v) => Value::I64(*v.get(i)?),
            Array::F32(v) => Value::F32(*v.get(i)?),
            Array::F64(v) => Value::F64(*v.get(i)?),
            Array::Bool(v) => Value::Bool(*v.get(i)?),
            Array::String(_) | Array::Array(_) => return None,
        })
    }

    /// The items of a string array.
    pub fn strings(&self) -> Option<&Strings> {
        match self {
            Array::String(s) => Some(s),
            _ => None,
        }
    }

    /// An array from values of one type (for building files in tests and
    /// tools); `None` if the types are mixed. An empty list is a u8 array.
    pub fn from_values(items: Vec<Value>) -> Option<Array> {
        macro_rules! all {
            ($variant:ident) => {
                items.iter().map(|v| if let Value::$variant(x) = v { Some(x.clone()) } else { None }).collect::<Option<Vec<_>>>().map(Array::$variant)
            };
        }
        match items.first() {
            None => Some(Array::U8(Vec::new())),
            Some(Value::U8(_)) => all!(U8),
            Some(Value::I8(_)) => all!(I8),
            Some(Value::U16(_)) => all!(U16),
            Some(Value::I16(_)) => all!(I16),
            Some(Value::U32(_)) => all!(U32),
            Some(Value::I32(_)) => all!(I32),
            Some(Value::U64(_)) => all!(U64),
            Some(Value::I64(_)) => all!(I64),
            Some(Value::F32(_)) => all!(F32),
            Some(Value::F64(_)) => all!(F64),
            Some(Value::Bool(_)) => all!(Bool),
            Some(Value::String(_)) => items
                .iter()
                .map(|v| v.as_str())
                .collect::<Option<Vec<_>>>()
                .map(|v| Array::String(v.into_iter().collect())),
            Some(Value::Array(_)) => all!(Array),
        }
    }

    /// Every item as a [`Value`] (allocates one per item: for tools and tests).
    pub fn to_values(&self) -> Vec<Value> {
        match self {
            Array::String(s) => s.iter().map(|x| Value::String(x.to_owned())).collect(),
            Array::Array(a) => a.iter().cloned().map(Value::Array).collect(),
            _ => (0..self.len()).map(|i| self.scalar(i).expect("in range")).collect(),
        }
    }
}

impl Value {
    /// A typed array from values of one type; panics if they are mixed
    /// (for building files in tests and tools).
    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Array::from_values(items).expect("array items of one type"))
    }

    /// Any non-negative integer value, widened. Files disagree on integer widths
    /// for the same key, so readers should not insist on one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}
