//! Pieces every decoder architecture shares: RoPE tables, RMS norm and
//! grouped-query attention over the KV cache.

use candle_core::{DType, Device, Tensor};

use crate::error::Result;

/// Precomputed rotary tables, only as long as the session's context: a table
/// per layer sized to the trained context (131k rows) cost candle's Gemma 3.5 GiB.
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
    /// `true` rotates adjacent pairs (llama's "normal" mode), `false` the two halves (NeoX).
    interleaved: bool,
}

impl Rope {
    pub fn new(base: f64, head_dim: usize, max_len: usize, interleaved: bool, device: &Device) -> Result<Self> {
        let half = head_dim / 2;
        let inv: Vec<f32> = (0..half).map(|i| (1.0 / base.powf(2.0 * i as f64 / head_dim as f64)) as f32).collect();
        let mut angles = Vec::with_capacity(max_len * half);
        for p in 0..max_len {
            angles.extend(inv.iter().map(|f| p as f32 * f));
        }
        let angles = Tensor::from_vec(angles, (max_len, half), device)?;
        Ok(Self { cos: angles.cos()?, sin: angles.sin()?, interleaved })
    }

    /// `x`: (1, heads, seq, head_dim) at positions `start..start + seq`.
    pub fn apply(&self, x: &Tensor, start: usize) -> Result<Tensor> {
        let seq = x.dim(2)?;
        let cos = self.cos.narrow(0, start, seq)?;
        let sin = self.sin.narrow(0, start, seq)?;
        let x = x.contiguous()?;
        Ok(if self.interleaved {
            candle_nn::rotary_emb::rope_i(&x, &cos, &sin)?
        } else {
            candle_nn::rotary_emb::rope(&x, &cos, &sin)?
        })
    }
}

pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    Ok(candle_nn::ops::rms_norm(&x.contiguous()?, weight, eps as f32)?)
}

/// Causal attention for queries at positions `start..start + seq` over keys
/// `0..start + seq`, optionally limited to a sliding window of `window`
/// positions (a query at p sees keys p - window < k ≤ p, as llama.cpp does).
///
/// `q`: (1, heads, seq, d); `k`, `v`: (1, kv_heads, L, d). Returns (1, seq, heads·d).
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, start: usize, scale: f64, window: Option<usize>) -> Result<Tensor> {
    let (_, n_head, seq, d) = q.dims4()?;
    let n_kv = k.dim(1)?;
    let n_rep = n_head / n_kv;
    let total = k.dim(2)?;

    // Keys no query can see are cut off up front rather than masked, which is
    // what makes decoding with a sliding window cheap.
    let first_key = match window {
        Some(w) => (start + 1).saturating_sub(w),
        None => 0,
    };
    let (k, v) = if first_key > 0 {
        (k.narrow(2, first_key, total - first_key)?, v.narrow(2, first_key, total - first_key)?)
    } else {
        (k.clone(), v.clone())
    };
    let keys = total - first_key;

    // Grouped heads share a KV head; folding them into the query rows avoids copying K and V.
    let q = q.contiguous()?.reshape((1, n_kv, n_rep * seq, d))?;
    let att = (q.matmul(&k.contiguous()?.t()?)? * scale)?;
    let att = if seq > 1 || window.is_some_and(|w| start + seq > w) {
        let mask = mask(start, seq, first_key, keys, window, q.device())?;
        att.reshape((1, n_kv, n_rep, seq, keys))?
            .broadcast_add(&mask)?
            .reshape((1, n_kv, n_rep * seq, keys))?
    } else {
        att
    };
    let att = candle_nn::ops::softmax_last_dim(&att)?;
    let out = att.matmul(&v.contiguous()?)?;
    Ok(out.reshape((1, n_head, seq, d))?.transpose(1, 2)?.reshape((1, seq, n_head * d))?)
}

fn mask(start: usize, seq: usize, first_key: usize, keys: usize, window: Option<usize>, device: &Device) -> Result<Tensor> {
    let mut m = vec![0f32; seq * keys];
    for r in 0..seq {
        let p = start + r;
        for c in 0..keys {
            let kp = first_key + c;
            let hidden = kp > p || window.is_some_and(|w| p - kp >= w);
            if hidden {
                m[r * keys + c] = f32::NEG_INFINITY;
            }
        }
    }
    Ok(Tensor::from_vec(m, (seq, keys), device)?.to_dtype(DType::F32)?)
}

/// Splits a (1, seq, heads·d) projection into (1, heads, seq, d).
pub fn split_heads(x: &Tensor, heads: usize, d: usize) -> Result<Tensor> {
    let seq = x.dim(1)?;
    Ok(x.reshape((1, seq, heads, d))?.transpose(1, 2)?.contiguous()?)
}

/// Keeps only the last position unless every position's logits are wanted.
pub fn select_positions(x: &Tensor, all: bool) -> Result<Tensor> {
    if all {
        return Ok(x.clone());
    }
    let seq = x.dim(1)?;
    Ok(x.narrow(1, seq - 1, 1)?)
}

