//! Per-session key/value cache. It grows in chunks up to the session's context
//! so a short chat doesn't pay for a long context, and it can be truncated to
//! a shared prefix so a follow-up turn prefills only the new tokens.
//!
//! Storage is plain f32 per layer, laid out [kv_head][position][head_dim] so
//! that attention reads each head's keys as one contiguous run.

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};

const FIRST_CHUNK: usize = 256;

pub struct KvCache {
    layers: Vec<Option<(Vec<f32>, Vec<f32>)>>,
    n_kv_head: usize,
    head_dim: usize,
    capacity: usize,
    len: usize,
    max_len: usize,
    device: Device,
}

/// One layer's cached keys and values, `[kv_head][cap][head_dim]` each.
pub struct LayerKv<'a> {
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub cap: usize,
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
            if keep == 0 {
                self.release();
                return;
            }
            self.resize_layers(keep);
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
    /// `k`, `v`: (1, kv_heads, seq, head_dim).
    pub fn append(&mut self, il: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let seq = k.dim(2)?;
        // To the token-major layout `write` takes.
        let tm = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.transpose(1, 2)?.flatten_all()?.to_vec1::<f32>()?) };
        self.write(il, &tm(k)?, &tm(v)?, seq)?;
        let total = self.len + seq;
        let l = self.layer(il);
        let (hd, nkv, cap) = (self.head_dim, self.n_kv_head, l.cap);
        let take = |d: &[f32]| -> Result<Tensor> {
            let mut out = Vec::with_capacity(nkv * total * hd);
            for g in 0..nkv {
                out.extend_from_slice(&d[g * cap * hd..][..total * hd]);
            }
            Ok(Tensor::from_vec(out, (1, nkv, total, hd), &self.device)?)
        };
        Ok((take(l.k)?, take(l.v)?))
    }

    /// Writes `seq` new positions for layer `il` after the cached ones. `k`
    /// and `v` are token-major: `[seq][kv_head][head_dim]`.
    pub fn write(&mut self, il: usize, k: &[f32], v: &[f32], seq: usize) -> Result<()> {
        let total = self.len + seq;
        if total > self.max_len {
            return Err(Error::ContextFull { context: self.max_len });
        }
        if total > self.capacity {
            self.grow(total)?;
        }
        let (hd, nkv, cap, len) = (self.head_dim, self.n_kv_head, self.capacity, self.len);
        let (ck, cv) = self.layers[il].get_or_insert_with(|| (vec![0f32; nkv * cap * hd], vec![0f32; nkv * cap * hd]));
        for t in 0..seq {
            for g in 0..nkv {
                let src = (t * nkv + g) * hd;
                let dst = (g * cap + len + t) * hd;
                ck[dst..dst + hd].copy_from_slice(&k[src..src + hd]);
                cv[dst..dst + hd].copy_from_slice(&v[src..src + hd]);
            }
        }
        Ok(())
    }

    /// Layer `il`'s storage; positions past `len + written` are unspecified.
    pub fn layer(&self, il: usize) -> LayerKv<'_> {
        let (k, v) = self.layers[il].as_ref().map_or((&[][..], &[][..]), |(k, v)| (&k[..], &v[..]));
        LayerKv { k, v, cap: self.capacity }
    }

    /// Marks `seq` positions appended by every layer as cached.
    pub fn advance(&mut self, seq: usize) {
        self.len += seq;
    }

    fn grow(&mut self, needed: usize) -> Result<()> {
        let mut cap = self.capacity.max(FIRST_CHUNK.min(self.max_len));
        while cap < needed {
            cap = (cap * 2).min(self.max_len);
        }
        self.resize_layers(cap);
        Ok(())
    }

    /// Moves every allocated layer to a capacity of `cap` positions, keeping
    /// the cached ones.
    fn resize_layers(&mut self, cap: usize) {
        let (hd, nkv, old, keep) = (self.head_dim, self.n_kv_head, self.capacity, self.len.min(cap));
        for slot in self.layers.iter_mut() {
            if let Some((k, v)) = slot.as_mut() {
                for d in [k, v] {
                    let mut n = vec![0f32; nkv * cap * hd];
                    for g in 0..nkv {
                        n[g * cap * hd..][..keep * hd].copy_from_slice(&d[g * old * hd..][..keep * hd]);
                    }
                    *d = n;
                }
            }
        }
        self.capacity = cap;
    }

    /// The cached keys and values as flat f32 data, layer by layer, for snapshots.
    pub fn export(&self) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(self.used_bytes() / 4);
        let (hd, cap, len) = (self.head_dim, self.capacity, self.len);
        for slot in &self.layers {
            let (k, v) = slot.as_ref().ok_or_else(|| Error::Backend("KV cache layer not allocated".into()))?;
            for d in [k, v] {
                for g in 0..self.n_kv_head {
                    out.extend_from_slice(&d[g * cap * hd..][..len * hd]);
                }
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
        if len == 0 {
            return Ok(());
        }
        let (hd, cap) = (self.head_dim, self.capacity);
        for (il, chunk) in data.chunks(per * 2).enumerate() {
            let mut pair = (vec![0f32; self.n_kv_head * cap * hd], vec![0f32; self.n_kv_head * cap * hd]);
            for (dst, src) in [(&mut pair.0, &chunk[..per]), (&mut pair.1, &chunk[per..])] {
                for g in 0..self.n_kv_head {
                    dst[g * cap * hd..][..len * hd].copy_from_slice(&src[g * len * hd..][..len * hd]);
                }
            }
            self.layers[il] = Some(pair);
        }
        self.len = len;
        Ok(())
    }
}
