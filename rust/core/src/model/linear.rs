//! The matmul seam. Every weight matrix multiply in every architecture goes
//! through [`Linear`], so the backend behind it (our own SIMD kernels, candle's
//! quantized matmul, or an app-supplied delegate) can change without touching
//! model code.

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Module, Tensor};
use std::sync::Arc;

use crate::error::Result;
use crate::gguf::GgmlType;

pub struct Linear {
    backend: Backend,
    out_features: usize,
    in_features: usize,
}

enum Backend {
    Candle(QMatMul),
}

/// Whether weights of this type are used straight from the memory map
/// (no heap copy). candle's quantized matmul copies every tensor.
pub fn zero_copy(_dtype: GgmlType) -> bool {
    false
}

impl Linear {
    /// Heap bytes this matrix holds beyond the memory map.
    pub fn heap_bytes(&self) -> u64 {
        match &self.backend {
            Backend::Candle(m) => match m {
                QMatMul::QTensor(t) => t.storage_size_in_bytes() as u64,
                QMatMul::Tensor(t) | QMatMul::TensorF16(t) => (t.elem_count() * t.dtype().size_in_bytes()) as u64,
            },
        }
    }

    pub fn from_qtensor(t: Arc<QTensor>) -> Result<Self> {
        let (out_features, in_features) = t.shape().dims2()?;
        Ok(Self { backend: Backend::Candle(QMatMul::from_arc(t)?), out_features, in_features })
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// `x`: (..., in_features) → (..., out_features).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.backend {
            Backend::Candle(m) => Ok(m.forward(x)?),
        }
    }
}
