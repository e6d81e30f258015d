//! Writes GGUF v3 files in memory: small or deliberately broken models for
//! tests, fuzzing seeds and tools. Real model files are never copied.

use super::value::{Array, Value};

/// A GGUF v3 file holding `metadata` and `tensors` (name, ggml dims with the
/// contiguous dimension first, ggml type id, raw data), for tests that need
/// small or deliberately broken models. Arrays take their item type from
/// their first element (u8 when empty).
/// Data is aligned to the file's `general.alignment` (32 when absent).
pub fn write(metadata: &[(&str, Value)], tensors: &[(&str, &[usize], u32, &[u8])]) -> Vec<u8> {
    let align = metadata.iter().find(|(k, _)| *k == "general.alignment").and_then(|(_, v)| v.as_u64()).unwrap_or(32);
    let align = align.max(1) as usize;
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
    for (name, dims, ty, data) in tensors {
        string(&mut out, name);
        out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for &d in *dims {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        offset += data.len().div_ceil(align) * align;
    }
    pad(&mut out);
    for (_, _, _, data) in tensors {
        out.extend_from_slice(data);
        pad(&mut out);
    }
    out
}
