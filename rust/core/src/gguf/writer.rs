//! Writes GGUF v3: the header on its own (for `mote quantize`, which streams
//! tensor data after it) and whole small files in memory (tests, fuzzing
//! seeds). The layout is ggml's: metadata, tensor infos, zero padding to the
//! alignment, then each tensor's data padded to the alignment.

use super::value::{Array, Value};

/// One tensor's entry in the header: ggml dims (contiguous first), type id,
/// and the data's byte length (offsets follow from the lengths).
pub struct TensorHeader<'a> {
    pub name: &'a str,
    pub dims: &'a [usize],
    pub type_id: u32,
    pub bytes: usize,
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

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

/// The item type an array was read with (kept even when it is empty).
fn item_type(a: &Array) -> u32 {
    match a {
        Array::U8(_) => 0,
        Array::I8(_) => 1,
        Array::U16(_) => 2,
        Array::I16(_) => 3,
        Array::U32(_) => 4,
        Array::I32(_) => 5,
        Array::F32(_) => 6,
        Array::Bool(_) => 7,
        Array::String(_) => 8,
        Array::Array(_) => 9,
        Array::U64(_) => 10,
        Array::I64(_) => 11,
        Array::F64(_) => 12,
    }
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
            out.extend_from_slice(&item_type(a).to_le_bytes());
            out.extend_from_slice(&(a.len() as u64).to_le_bytes());
            match a {
                Array::String(items) => items.iter().for_each(|s| string(out, s)),
                _ => a.to_values().iter().for_each(|item| value(out, item)),
            }
        }
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
}

/// The header of a GGUF v3 file, padded to `align`: tensor data starts right
/// after it, each tensor's data padded to `align` with zeros.
pub fn header(metadata: &[(&str, &Value)], tensors: &[TensorHeader], align: usize) -> Vec<u8> {
    let align = align.max(1);
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
        string(&mut out, t.name);
        out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
        for &d in t.dims {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(&t.type_id.to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        offset += t.bytes.div_ceil(align) * align;
    }
    out.resize(out.len().div_ceil(align) * align, 0);
    out
}

/// A GGUF v3 file holding `metadata` and `tensors` (name, ggml dims with the
/// contiguous dimension first, ggml type id, raw data), for tests that need
/// small or deliberately broken models. Data is aligned to the file's
/// `general.alignment` (32 when absent).
pub fn write(metadata: &[(&str, Value)], tensors: &[(&str, &[usize], u32, &[u8])]) -> Vec<u8> {
    let align = metadata.iter().find(|(k, _)| *k == "general.alignment").and_then(|(_, v)| v.as_u64()).unwrap_or(32);
    let align = align.max(1) as usize;
    let meta: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let infos: Vec<TensorHeader> = tensors
        .iter()
        .map(|(name, dims, ty, data)| TensorHeader { name, dims, type_id: *ty, bytes: data.len() })
        .collect();
    let mut out = header(&meta, &infos, align);
    for (_, _, _, data) in tensors {
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(align) * align, 0);
    }
    out
}
