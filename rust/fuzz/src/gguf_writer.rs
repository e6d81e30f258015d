//! Writes GGUF v3 files, for the seed corpus and the vocabularies the
//! tokenizer and template targets build once per process. The same layout as
//! `rust/core/tests/common/mod.rs`'s `write_gguf` (which an outside crate
//! cannot import), with tensors given by ggml type id so quantized seeds can
//! be written too.

use mote_core::gguf::{Array, GgmlType, Value};

/// A tensor to write: name, ggml dims (contiguous dimension first), ggml type id.
#[derive(Clone, Debug)]
pub struct TensorSpec {
    pub name: String,
    pub dims: Vec<usize>,
    pub type_id: u32,
}

impl TensorSpec {
    pub fn new(name: impl Into<String>, dims: &[usize], type_id: u32) -> Self {
        Self { name: name.into(), dims: dims.to_vec(), type_id }
    }

    /// Bytes of data: whole rows of the type's blocks.
    pub fn size(&self) -> usize {
        let t = GgmlType::from_id(self.type_id).expect("a type mote-core knows");
        let rows: usize = self.dims[1..].iter().product();
        t.row_bytes(self.dims[0]).expect("rows of whole blocks") * rows
    }

    /// Deterministic data that decodes to small finite values in every type:
    /// f32 weights as in `bad_models.rs`'s `Tiny`, and for the others bytes
    /// below 0x3C, so each f16/bf16 (value or block scale) has a small
    /// exponent and is never inf or NaN.
    pub fn data(&self) -> Vec<u8> {
        if self.type_id == 0 {
            let n: usize = self.dims.iter().product();
            return (0..n).flat_map(|i| (0.01 * (i % 7) as f32 + 0.5).to_le_bytes()).collect();
        }
        (0..self.size()).map(|i| ((i * 37 + 11) % 0x3C) as u8).collect()
    }
}

pub const F32: u32 = 0;
pub const F16: u32 = 1;
pub const Q4_0: u32 = 2;
pub const Q4_1: u32 = 3;
pub const Q5_0: u32 = 6;
pub const Q5_1: u32 = 7;
pub const Q8_0: u32 = 8;
pub const Q2K: u32 = 10;
pub const Q3K: u32 = 11;
pub const Q4K: u32 = 12;
pub const Q5K: u32 = 13;
pub const Q6K: u32 = 14;
pub const IQ4NL: u32 = 20;
pub const IQ4XS: u32 = 23;
pub const BF16: u32 = 30;

fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => string(out, s),
        Value::Array(a) => {
            let item_type = match a {
                Array::Array(_) => 9,
                _ if a.is_empty() => 0,
                _ => a.to_values().first().map_or(0, type_id),
            };
            out.extend_from_slice(&item_type.to_le_bytes());
            out.extend_from_slice(&(a.len() as u64).to_le_bytes());
            for item in a.to_values() {
                value(out, &item);
            }
        }
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
}

/// A GGUF v3 file holding `metadata` and `tensors` (data from [`TensorSpec::data`]),
/// aligned to `general.alignment` (32 when absent).
pub fn write_gguf(metadata: &[(String, Value)], tensors: &[TensorSpec]) -> Vec<u8> {
    let align = metadata
        .iter()
        .find(|(k, _)| k == "general.alignment")
        .and_then(|(_, v)| v.as_u64())
        .unwrap_or(32)
        .max(1) as usize;
    let pad = |out: &mut Vec<u8>| out.resize(out.len().div_ceil(align) * align, 0);

    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, v) in metadata {
        string(&mut out, key);
        out.extend_from_slice(&type_id(v).to_le_bytes());
        value(&mut out, v);
    }
    let mut offset = 0usize;
    for t in tensors {
        string(&mut out, &t.name);
        out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
        for &d in &t.dims {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(&t.type_id.to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        offset += t.size().div_ceil(align) * align;
    }
    pad(&mut out);
    for t in tensors {
        out.extend_from_slice(&t.data());
        pad(&mut out);
    }
    out
}

/// A string metadata value.
pub fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

/// A string array metadata value.
pub fn strings<S: AsRef<str>>(items: &[S]) -> Value {
    Value::Array(Array::String(items.iter().map(|x| x.as_ref()).collect()))
}
