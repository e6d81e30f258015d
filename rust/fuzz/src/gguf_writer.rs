//! GGUF v3 files for the seed corpus and the vocabularies the tokenizer and
//! template targets build once per process, through mote-core's writer, with
//! tensors given by ggml type id and filled so quantized seeds load.

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

/// A GGUF v3 file holding `metadata` and `tensors` (data from [`TensorSpec::data`]),
/// aligned to `general.alignment` (32 when absent): mote-core's own writer.
pub fn write_gguf(metadata: &[(String, Value)], tensors: &[TensorSpec]) -> Vec<u8> {
    let meta: Vec<(&str, Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let data: Vec<Vec<u8>> = tensors.iter().map(TensorSpec::data).collect();
    let tensors: Vec<(&str, &[usize], u32, &[u8])> =
        tensors.iter().zip(&data).map(|(t, d)| (t.name.as_str(), t.dims.as_slice(), t.type_id, d.as_slice())).collect();
    mote_core::gguf::write(&meta, &tensors)
}

/// A string metadata value.
pub fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

/// A string array metadata value.
pub fn strings<S: AsRef<str>>(items: &[S]) -> Value {
    Value::Array(Array::String(items.iter().map(|x| x.as_ref()).collect()))
}
