//! Per-session key/value cache. It grows in chunks up to the session's context
//! so a short chat doesn't pay for a long context, and it can be truncated to
//! a shared prefix so a follow-up turn prefills only the new tokens.

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};

const FIRST_CHUNK: usize = 256;

pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    n_kv_head: usize,
    head_dim: usize,
    capacity: usize,
    len: usize,
    max_len: usize,
    device: Device,
}

impl KvCache {
    pub fn new(n_layer: usize, n_kv_head: usize, head_dim: usize, max_len: usize, device: &Device) -> Self {
        Self {
            layers: (0..n_layer).map(|_| None).collect(),
            n_kv_head,
            head_dim,
            capacity: 0,
            len: 0,
            max_len,
            device: device.clone(),
        }
    }

    /// Tokens whose keys and values are cached.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Forgets everything after `len` tokens; the memory stays for reuse.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Frees the cache's memory; the next forward pass starts from nothing.
    pub fn release(&mut self) {
        self.layers.iter_mut().for_each(|l| *l = None);
        self.capacity = 0;
        self.len = 0;
    }

    /// Gives back capacity beyond the cached tokens.
    pub fn shrink_to_fit(&mut self) {
        if self.capacity > self.len {
            let keep = self.len;
            let result = (|| -> Result<()> {
                for slot in self.layers.iter_mut() {
                    if let Some((k, v)) = slot.take() {
                        if keep > 0 {
                            *slot = Some((k.narrow(2, 0, keep)?.contiguous()?, v.narrow(2, 0, keep)?.contiguous()?));
                        }
                    }
                }
                Ok(())
            })();
            if result.is_err() {
                // Copying failed (out of memory): dropping the cache is the safe answer.
                self.release();
                return;
            }
            self.capacity = keep;
        }
    }

    /// Bytes allocated (not only used) by the cache.
    pub fn allocated_bytes(&self) -> usize {
        let per_layer = 2 * self.n_kv_head * self.capacity * self.head_dim * 4;
        per_layer * self.layers.iter().filter(|l| l.is_some()).count()
    }

    /// Bytes the cached tokens need.
    pub fn used_bytes(&self) -> usize {
        2 * self.n_kv_head * self.len * self.head_dim * 4 * self.layers.len()
    }

    /// Writes `seq` new positions for layer `il` after the cached ones and
    /// returns keys and values for all `len + seq` positions, (1, kv_heads, L, head_dim).
    pub fn append(&mut self, il: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let seq = k.dim(2)?;
        let total = self.len + seq;
        if total > self.max_len {
            return Err(Error::ContextFull { context: self.max_len });
        }
        if total > self.capacity {
            self.grow(total)?;
        }
        if self.layers[il].is_none() {
            self.layers[il] = Some(self.zeros_pair(self.capacity)?);
        }
        let (ck, cv) = self.layers[il].as_ref().expect("allocated above");
        ck.slice_set(&k.contiguous()?, 2, self.len)?;
        cv.slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((ck.narrow(2, 0, total)?, cv.narrow(2, 0, total)?))
    }

    /// Marks `seq` positions appended by every layer as cached.
    pub fn advance(&mut self, seq: usize) {
        self.len += seq;
    }

    fn zeros_pair(&self, cap: usize) -> Result<(Tensor, Tensor)> {
        let shape = (1, self.n_kv_head, cap, self.head_dim);
        Ok((
            Tensor::zeros(shape, DType::F32, &self.device)?,
            Tensor::zeros(shape, DType::F32, &self.device)?,
        ))
    }

    fn grow(&mut self, needed: usize) -> Result<()> {
        let mut cap = self.capacity.max(FIRST_CHUNK.min(self.max_len));
        while cap < needed {
            cap = (cap * 2).min(self.max_len);
        }
        for slot in self.layers.iter_mut() {
            if let Some((k, v)) = slot.take() {
                let shape = (1, self.n_kv_head, cap, self.head_dim);
                let nk = Tensor::zeros(shape, DType::F32, &self.device)?;
                let nv = Tensor::zeros(shape, DType::F32, &self.device)?;
                if self.len > 0 {
                    nk.slice_set(&k.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                    nv.slice_set(&v.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                }
                *slot = Some((nk, nv));
            }
        }
        self.capacity = cap;
        Ok(())
    }

    /// The cached keys and values as flat f32 data, layer by layer, for snapshots.
    pub fn export(&self) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(self.used_bytes() / 4);
        for slot in &self.layers {
            let (k, v) = slot.as_ref().ok_or_else(|| Error::Backend("KV cache layer not allocated".into()))?;
            for t in [k, v] {
                out.extend(t.narrow(2, 0, self.len)?.flatten_all()?.to_vec1::<f32>()?);
            }
        }
        Ok(out)
    }

    /// Restores what [`export`](Self::export) produced for `len` tokens.
    pub fn import(&mut self, len: usize, data: &[f32]) -> Result<()> {
        let per = self.n_kv_head * len * self.head_dim;
        if len > self.max_len || data.len() != per * 2 * self.layers.len() {
            return Err(Error::InvalidArgument("KV snapshot does not match this model and context".into()));
        }
        self.release();
        self.grow(len.max(1))?;
        let shape = (1, self.n_kv_head, len, self.head_dim);
        for (il, chunk) in data.chunks(per * 2).enumerate() {
            let pair = self.zeros_pair(self.capacity)?;
            if len > 0 {
                pair.0.slice_set(&Tensor::from_slice(&chunk[..per], shape, &self.device)?, 2, 0)?;
                pair.1.slice_set(&Tensor::from_slice(&chunk[per..], shape, &self.device)?, 2, 0)?;
            }
            self.layers[il] = Some(pair);
        }
        self.len = len;
        Ok(())
    }
}
