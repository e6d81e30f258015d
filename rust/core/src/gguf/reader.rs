//! A cursor over untrusted bytes: every read is bounds-checked and every
//! length is checked against what is left before anything is allocated.

use super::value::{Array, Strings, Value};
use super::GgufError;

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Arrays nested deeper than this are rejected: no real file nests at all,
/// and unbounded recursion on hostile input would overflow the stack.
const MAX_NESTING: usize = 2;

/// Arrays of arrays hold at most this many arrays: each costs a fixed
/// in-memory header, so their count, not their bytes, bounds the memory.
const MAX_NESTED_ARRAYS: usize = 1 << 16;

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                what: what.to_string(),
                offset: self.pos as u64,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N, what)?);
        Ok(a)
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count that must fit in what is left of the file at `min_item` bytes per item.
    pub fn count(&mut self, min_item: usize, what: &str) -> Result<usize, GgufError> {
        let n = self.u64(what)?;
        let fits = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(min_item.max(1)))
            .is_some_and(|bytes| bytes <= self.remaining());
        if !fits {
            return Err(GgufError::Invalid(format!(
                "{what} of {n} at offset {} exceeds the file",
                self.pos - 8
            )));
        }
        Ok(n as usize)
    }

    pub fn string(&mut self, what: &str) -> Result<String, GgufError> {
        self.str(what).map(str::to_owned)
    }

    /// A length-prefixed UTF-8 string, borrowed from the file.
    fn str(&mut self, what: &str) -> Result<&'a str, GgufError> {
        let n = self.count(1, what)?;
        let start = self.pos;
        let b = self.bytes(n, what)?;
        std::str::from_utf8(b)
            .map_err(|_| GgufError::Invalid(format!("{what} at offset {start} is not valid UTF-8")))
    }

    pub fn value(&mut self, ty: u32, depth: usize) -> Result<Value, GgufError> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>("u8")?[0]),
            1 => Value::I8(self.array::<1>("i8")?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array("u16")?)),
            3 => Value::I16(i16::from_le_bytes(self.array("i16")?)),
            4 => Value::U32(self.u32("u32")?),
            5 => Value::I32(i32::from_le_bytes(self.array("i32")?)),
            6 => Value::F32(f32::from_le_bytes(self.array("f32")?)),
            7 => match self.array::<1>("bool")?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(GgufError::Invalid(format!("bool value {b}"))),
            },
            8 => Value::String(self.string("string")?),
            9 => {
                let item_ty = self.u32("array type")?;
                let n = self.count(min_size(item_ty)?, "array length")?;
                Value::Array(self.items(item_ty, n, depth + 1)?)
            }
            10 => Value::U64(self.u64("u64")?),
            11 => Value::I64(i64::from_le_bytes(self.array("i64")?)),
            12 => Value::F64(f64::from_le_bytes(self.array("f64")?)),
            t => return Err(GgufError::Invalid(format!("unknown metadata value type {t}"))),
        })
    }
}

impl<'a> Reader<'a> {
    /// `n` items of type `ty` at nesting `depth`, stored compactly (about
    /// their size in the file). `n` was checked against the bytes left.
    fn items(&mut self, ty: u32, n: usize, depth: usize) -> Result<Array, GgufError> {
        macro_rules! numbers {
            ($variant:ident, $t:ty) => {{
                const W: usize = std::mem::size_of::<$t>();
                let b = self.bytes(n * W, "array items")?;
                Array::$variant(b.chunks_exact(W).map(|c| <$t>::from_le_bytes(c.try_into().expect("W bytes"))).collect())
            }};
        }
        Ok(match ty {
            0 => numbers!(U8, u8),
            1 => numbers!(I8, i8),
            2 => numbers!(U16, u16),
            3 => numbers!(I16, i16),
            4 => numbers!(U32, u32),
            5 => numbers!(I32, i32),
            6 => numbers!(F32, f32),
            10 => numbers!(U64, u64),
            11 => numbers!(I64, i64),
            12 => numbers!(F64, f64),
            7 => Array::Bool(
                self.bytes(n, "array items")?
                    .iter()
                    .map(|&b| match b {
                        0 => Ok(false),
                        1 => Ok(true),
                        b => Err(GgufError::Invalid(format!("bool value {b}"))),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            8 => {
                let mut strings = Strings::with_capacity(n);
                for _ in 0..n {
                    let s = self.str("string")?;
                    strings.push(s).ok_or_else(|| GgufError::Invalid("string array larger than 4 GiB".into()))?;
                }
                Array::String(strings)
            }
            9 => {
                if depth >= MAX_NESTING || n > MAX_NESTED_ARRAYS {
                    return Err(GgufError::Invalid(format!("array of {n} arrays at nesting {depth}")));
                }
                let mut arrays = Vec::with_capacity(n);
                for _ in 0..n {
                    let item_ty = self.u32("array type")?;
                    let m = self.count(min_size(item_ty)?, "array length")?;
                    arrays.push(self.items(item_ty, m, depth + 1)?);
                }
                Array::Array(arrays)
            }
            t => return Err(GgufError::Invalid(format!("unknown array item type {t}"))),
        })
    }
}

/// The fewest bytes one value of a type can take; bounds array lengths up front.
fn min_size(ty: u32) -> Result<usize, GgufError> {
    Ok(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4 | 5 | 6 => 4,
        8 | 10 | 11 | 12 => 8,
        9 => 12,
        t => return Err(GgufError::Invalid(format!("unknown array item type {t}"))),
    })
}
