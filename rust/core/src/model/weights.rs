//! Turns validated GGUF tensors into the pieces models are built from.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{DType, Device, Tensor};

use mote_kernels::{QMatrix, ThreadPool};

use super::linear::{kernel_type_for, Linear};
use crate::error::{Error, Result};
use crate::gguf::{Backing, GgmlType, GgufFile, TensorInfo};

pub struct Weights<'a> {
    pub gguf: &'a GgufFile,
    pub device: Device,
    pub pool: Arc<ThreadPool>,
    /// Names of the tensors an architecture has taken, so that [`Self::check_all_used`]
    /// can refuse a file holding tensors the architecture would silently ignore.
    used: RefCell<BTreeSet<String>>,
}

/// candle's type for the tensors our kernels do not serve. candle has no
/// IQ4_NL / IQ4_XS, so those are refused with a typed error rather than a panic.
fn candle_dtype(t: GgmlType) -> Result<GgmlDType> {
    Ok(match t {
        GgmlType::F32 => GgmlDType::F32,
        GgmlType::F16 => GgmlDType::F16,
        GgmlType::BF16 => GgmlDType::BF16,
        GgmlType::Q4_0 => GgmlDType::Q4_0,
        GgmlType::Q4_1 => GgmlDType::Q4_1,
        GgmlType::Q5_0 => GgmlDType::Q5_0,
        GgmlType::Q5_1 => GgmlDType::Q5_1,
        GgmlType::Q8_0 => GgmlDType::Q8_0,
        GgmlType::Q4K => GgmlDType::Q4K,
        GgmlType::Q5K => GgmlDType::Q5K,
        GgmlType::Q6K => GgmlDType::Q6K,
        GgmlType::Q2K => GgmlDType::Q2K,
        GgmlType::Q3K => GgmlDType::Q3K,
        GgmlType::IQ4NL | GgmlType::IQ4XS => {
            return Err(Error::UnsupportedModel(format!("tensor type {t} is only supported as a matrix Mote's kernels run")))
        }
    })
}

/// A candle tensor of `shape` (rows first) over `bytes` of GGUF type `t`,
/// for the tensors our kernels do not serve.
fn candle_tensor(bytes: Cow<'_, [u8]>, t: GgmlType, shape: impl Into<candle_core::Shape>, device: &Device) -> Result<QTensor> {
    let storage = QStorage::from_data(bytes, device, candle_dtype(t)?)?;
    Ok(QTensor::new(storage, shape)?)
}

impl<'a> Weights<'a> {
    pub fn new(gguf: &'a GgufFile, pool: Arc<ThreadPool>) -> Self {
        Self { gguf, device: Device::Cpu, pool, used: RefCell::default() }
    }

    pub fn info(&self, name: &str) -> Result<&'a TensorInfo> {
        let info = self
            .gguf
            .tensor(name)
            .ok_or_else(|| Error::InvalidModel(format!("tensor {name} is missing")))?;
        self.used.borrow_mut().insert(name.to_string());
        Ok(info)
    }

    /// Marks a tensor as understood without loading it (e.g. the LongRoPE
    /// table a session of this context does not use).
    pub fn skip(&self, name: &str) {
        self.used.borrow_mut().insert(name.to_string());
    }

    /// Refuses a file with tensors the architecture did not take: each could
    /// change the math (a bias, a scale, an extra norm), so ignoring it would
    /// make the model silently wrong.
    pub fn check_all_used(&self, arch: &str) -> Result<()> {
        let used = self.used.borrow();
        match self.gguf.tensors.iter().find(|t| !used.contains(&t.name)) {
            Some(t) => Err(Error::UnsupportedModel(format!(
                "tensor {} is not used by Mote's {arch} architecture",
                t.name
            ))),
            None => Ok(()),
        }
    }

    /// Checks a tensor's shape, given in ggml order (row length first).
    fn info_with_dims(&self, name: &str, dims: &[usize]) -> Result<&'a TensorInfo> {
        let info = self.info(name)?;
        if info.dims != dims {
            return Err(Error::InvalidModel(format!(
                "tensor {name} has shape {:?}, expected {dims:?}",
                info.dims
            )));
        }
        Ok(info)
    }

    fn qtensor(&self, info: &TensorInfo) -> Result<QTensor> {
        let shape: Vec<usize> = info.dims.iter().rev().copied().collect();
        candle_tensor(Cow::Borrowed(self.gguf.tensor_data(info)), info.dtype, shape, &self.device)
    }

    /// A weight matrix of `out × in` (ggml dims `[in, out]`): served by our
    /// kernels straight from the map when they run its type, else by candle.
    pub fn linear(&self, name: &str, in_features: usize, out_features: usize) -> Result<Linear> {
        let info = self.info_with_dims(name, &[in_features, out_features])?;
        self.linear_from(info, out_features, in_features)
    }

    /// Rows `first..first + rows` of a fused `out × in` matrix (Phi-3's
    /// `attn_qkv`, `ffn_up` holding gate and up), as a matrix of its own over
    /// the same mapped bytes: no copy, and no split of the product per token.
    pub fn linear_rows(&self, name: &str, in_features: usize, out_total: usize, first: usize, rows: usize) -> Result<Linear> {
        let info = self.info_with_dims(name, &[in_features, out_total])?;
        if first + rows > out_total {
            return Err(Error::InvalidModel(format!("tensor {name}: rows {first}..{} of {out_total}", first + rows)));
        }
        let row_bytes = info.size / out_total;
        self.linear_at(info, info.offset + first * row_bytes, rows * row_bytes, rows, in_features)
    }

    fn linear_from(&self, info: &TensorInfo, rows: usize, cols: usize) -> Result<Linear> {
        self.linear_at(info, info.offset, info.size, rows, cols)
    }

    /// `rows × cols` weights of `info`'s type at `offset` (`size` bytes) in the file.
    fn linear_at(&self, info: &TensorInfo, offset: usize, size: usize, rows: usize, cols: usize) -> Result<Linear> {
        match kernel_type_for(info.dtype, cols) {
            Some(q) => {
                let data: Arc<dyn AsRef<[u8]> + Send + Sync> = self.gguf.backing().clone();
                Ok(Linear::from_kernel(QMatrix::new(q, rows, cols, data, offset)?, self.pool.clone()))
            }
            None => {
                let bytes = Cow::Borrowed(&self.gguf.backing()[offset..offset + size]);
                Linear::from_qtensor(Arc::new(candle_tensor(bytes, info.dtype, (rows, cols), &self.device)?))
            }
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.gguf.tensor(name).is_some()
    }

    /// A 1-D f32 vector such as a norm weight or a bias.
    pub fn vector(&self, name: &str, len: usize) -> Result<Tensor> {
        let info = self.info_with_dims(name, &[len])?;
        Ok(self.qtensor(info)?.dequantize(&self.device)?.to_dtype(DType::F32)?)
    }

    /// [`vector`](Self::vector) as plain f32 values.
    pub fn vector_f32(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        Ok(self.vector(name, len)?.to_vec1::<f32>()?)
    }

    pub fn embedding(&self, name: &str, n_embd: usize, vocab: usize) -> Result<Embedding> {
        let info = self.info_with_dims(name, &[n_embd, vocab])?;
        let kernel = match kernel_type_for(info.dtype, n_embd) {
            Some(_) => Some(self.linear_from(info, vocab, n_embd)?),
            None => None,
        };
        Ok(Embedding {
            kernel,
            backing: self.gguf.backing().clone(),
            offset: info.offset,
            row_bytes: info.size / vocab,
            dtype: info.dtype,
            n_embd,
            vocab,
            device: self.device.clone(),
        })
    }
}

/// A token-embedding table left quantized in the mapped file: only the rows a
/// forward pass asks for are dequantized, so a 262k-row table never becomes a
/// 671 MB f32 copy.
pub struct Embedding {
    /// The table as a kernel matrix, when our kernels run its type: rows are
    /// dequantized from the map and it doubles as a tied output layer.
    kernel: Option<Linear>,
    backing: Arc<Backing>,
    offset: usize,
    row_bytes: usize,
    dtype: GgmlType,
    n_embd: usize,
    vocab: usize,
    device: Device,
}

impl Embedding {
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// The rows of `tokens`, back to back, into `out` (tokens.len() × n_embd).
    pub fn lookup_into(&self, tokens: &[u32], out: &mut [f32]) -> Result<()> {
        if let Some(k) = &self.kernel {
            for (row, &t) in out.chunks_mut(self.n_embd).zip(tokens) {
                if t as usize >= self.vocab {
                    return Err(Error::InvalidArgument(format!("token id {t} is outside the vocabulary of {}", self.vocab)));
                }
                k.dequantize_row(t as usize, row);
            }
            return Ok(());
        }
        let rows = self.lookup(tokens)?.flatten_all()?.to_vec1::<f32>()?;
        out[..rows.len()].copy_from_slice(&rows);
        Ok(())
    }

    /// (tokens.len(), n_embd) f32.
    pub fn lookup(&self, tokens: &[u32]) -> Result<Tensor> {
        if let Some(k) = &self.kernel {
            let mut out = vec![0f32; tokens.len() * self.n_embd];
            for (row, &t) in out.chunks_mut(self.n_embd).zip(tokens) {
                if t as usize >= self.vocab {
                    return Err(Error::InvalidArgument(format!("token id {t} is outside the vocabulary of {}", self.vocab)));
                }
                k.dequantize_row(t as usize, row);
            }
            return Ok(Tensor::from_vec(out, (tokens.len(), self.n_embd), &self.device)?);
        }
        let mut bytes = Vec::with_capacity(tokens.len() * self.row_bytes);
        for &t in tokens {
            let t = t as usize;
            if t >= self.vocab {
                return Err(Error::InvalidArgument(format!("token id {t} is outside the vocabulary of {}", self.vocab)));
            }
            let start = self.offset + t * self.row_bytes;
            bytes.extend_from_slice(&self.backing[start..start + self.row_bytes]);
        }
        let q = candle_tensor(Cow::Owned(bytes), self.dtype, (tokens.len(), self.n_embd), &self.device)?;
        Ok(q.dequantize(&self.device)?)
    }

    /// The same table as an output projection (tied embeddings).
    pub fn as_linear(&self) -> Result<Linear> {
        if let Some(k) = &self.kernel {
            return Ok(k.clone());
        }
        let data = Cow::Borrowed(&self.backing[self.offset..self.offset + self.row_bytes * self.vocab]);
        Linear::from_qtensor(Arc::new(candle_tensor(data, self.dtype, (self.vocab, self.n_embd), &self.device)?))
    }
}
