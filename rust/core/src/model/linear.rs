//! The matmul seam. Every weight matrix multiply in every architecture goes
//! through [`Linear`], so the backend behind it can change without touching
//! model code: our own SIMD kernels reading the memory map directly (the
//! default for quantized weights), or candle's matmul for the rest.

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, Layout, Module, Shape, Tensor};
use mote_kernels::{QMatrix, QuantType, ThreadPool};

use crate::error::{Error, Result};
use crate::gguf::GgmlType;

#[derive(Clone)]
pub struct Linear {
    backend: Backend,
    out_features: usize,
    in_features: usize,
}

#[derive(Clone)]
enum Backend {
    Kernel(KernelMatmul),
    Candle(QMatMul),
}

/// The quant type our kernels run, if they run this one.
pub fn kernel_type(t: GgmlType) -> Option<QuantType> {
    Some(match t {
        GgmlType::Q4_0 => QuantType::Q4_0,
        GgmlType::Q4_1 => QuantType::Q4_1,
        GgmlType::Q5_0 => QuantType::Q5_0,
        GgmlType::Q5_1 => QuantType::Q5_1,
        GgmlType::Q8_0 => QuantType::Q8_0,
        GgmlType::Q4K => QuantType::Q4K,
        GgmlType::Q5K => QuantType::Q5K,
        GgmlType::Q6K => QuantType::Q6K,
        GgmlType::Q2K => QuantType::Q2K,
        GgmlType::Q3K => QuantType::Q3K,
        GgmlType::IQ4NL => QuantType::IQ4NL,
        GgmlType::IQ4XS => QuantType::IQ4XS,
        GgmlType::BF16 => QuantType::BF16,
        GgmlType::F32 | GgmlType::F16 => return None,
    })
}

/// [`kernel_type`] for a matrix with rows of `cols`: `None` where the kernels
/// cannot take that width (BF16 runs in groups of 32 values, ggml's BF16 has
/// no blocks), so such a matrix stays with candle instead of failing.
pub fn kernel_type_for(t: GgmlType, cols: usize) -> Option<QuantType> {
    kernel_type(t).filter(|q| q.row_bytes(cols).is_some())
}

/// Heap bytes held by a set of matrices beyond the memory map.
pub fn heap_bytes<'a>(all: impl IntoIterator<Item = &'a Linear>) -> u64 {
    all.into_iter().map(Linear::heap_bytes).sum()
}

/// Whether weights of this type are used straight from the memory map (no heap copy).
pub fn zero_copy(t: GgmlType) -> bool {
    kernel_type(t).is_some()
}

impl Linear {
    pub fn from_qtensor(t: Arc<QTensor>) -> Result<Self> {
        let (out_features, in_features) = t.shape().dims2()?;
        Ok(Self { backend: Backend::Candle(QMatMul::from_arc(t)?), out_features, in_features })
    }

    pub fn from_kernel(m: QMatrix, pool: Arc<ThreadPool>) -> Self {
        let (out_features, in_features) = (m.rows(), m.cols());
        Self { backend: Backend::Kernel(KernelMatmul { m: Arc::new(m), pool }), out_features, in_features }
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Heap bytes this matrix holds beyond the memory map.
    pub fn heap_bytes(&self) -> u64 {
        match &self.backend {
            Backend::Kernel(k) => (k.m.resident_bytes() as u64).saturating_sub(k.m.bytes().len() as u64),
            Backend::Candle(QMatMul::QTensor(t)) => t.storage_size_in_bytes() as u64,
            Backend::Candle(QMatMul::Tensor(t) | QMatMul::TensorF16(t)) => {
                (t.elem_count() * t.dtype().size_in_bytes()) as u64
            }
        }
    }

    /// Row `row` of the weights as f32 (embedding lookups); kernel-backed matrices only.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        if let Backend::Kernel(k) = &self.backend {
            k.m.dequantize_row(row, out);
        }
    }

    /// y (m × out_features) = x (m × in_features) · Wᵀ.
    pub fn matmul(&self, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
        Self::matmul_many(x, m, &mut [(self, y)])
    }

    /// Several products of the same input; kernel-backed ones run as a
    /// single parallel job with the input quantized once.
    pub fn matmul_many(x: &[f32], m: usize, parts: &mut [(&Linear, &mut [f32])]) -> Result<()> {
        let kernels: Option<Vec<&KernelMatmul>> = parts
            .iter()
            .map(|(l, _)| match &l.backend {
                Backend::Kernel(k) => Some(k),
                Backend::Candle(_) => None,
            })
            .collect();
        if let Some(ks) = kernels {
            let pool = ks[0].pool.clone();
            let mut qp: Vec<(&QMatrix, &mut [f32])> = ks.iter().zip(parts.iter_mut()).map(|(k, (_, y))| (&*k.m, &mut **y)).collect();
            QMatrix::matmul_many(&pool, x, m, &mut qp);
            return Ok(());
        }
        for (l, y) in parts.iter_mut() {
            let t = Tensor::from_slice(&x[..m * l.in_features], (m, l.in_features), &candle_core::Device::Cpu)?;
            let out = l.forward(&t)?.flatten_all()?.to_vec1::<f32>()?;
            y[..out.len()].copy_from_slice(&out);
        }
        Ok(())
    }

    /// `x`: (..., in_features) → (..., out_features).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.backend {
            Backend::Kernel(k) => Ok(x.contiguous()?.apply_op1_no_bwd(k)?),
            Backend::Candle(m) => Ok(m.forward(x)?),
        }
    }
}

#[derive(Clone)]
struct KernelMatmul {
    m: Arc<QMatrix>,
    pool: Arc<ThreadPool>,
}

impl CustomOp1 for KernelMatmul {
    fn name(&self) -> &'static str {
        "mote-qmatmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("mote-qmatmul takes f32 activations");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("mote-qmatmul takes contiguous activations");
        };
        let dims = layout.shape().dims();
        let cols = *dims.last().unwrap_or(&0);
        if cols != self.m.cols() {
            candle_core::bail!("mote-qmatmul: input width {cols}, weights take {}", self.m.cols());
        }
        let m = (end - start) / cols.max(1);
        let mut y = vec![0f32; m * self.m.rows()];
        self.m.matmul(&self.pool, &data[start..end], m, &mut y);
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("rank ≥ 1") = self.m.rows();
        Ok((CpuStorage::F32(y), Shape::from(out_dims)))
    }
}

impl From<mote_kernels::KernelError> for Error {
    fn from(e: mote_kernels::KernelError) -> Self {
        Error::InvalidModel(e.to_string())
    }
}
