//! Pieces every decoder architecture shares: grouped-query attention over the
//! KV cache, the per-model scratch buffers and the output projection.
//!
//! The forward pass works on plain f32 rows rather than candle tensors: at
//! one token per step, candle's per-op allocation and dispatch (and its
//! rayon pool competing with ours for the same cores) cost more than the
//! arithmetic of every non-matmul op together.

use mote_kernels::ops::softmax;
use mote_kernels::ThreadPool;
use std::cell::RefCell;

use super::kv_cache::LayerKv;

pub struct AttnShape {
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub scale: f32,
    /// Sliding window: a query at p sees keys p − window < k ≤ p, as llama.cpp does.
    pub window: Option<usize>,
}

thread_local! {
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Below this many multiply-adds, waking the pool costs more than it saves.
const PARALLEL_MACS: usize = 48 * 1024;

/// Causal attention for the `seq` queries in `q` (`[seq][n_head][head_dim]`,
/// positions `start..start + seq`) over the keys and values in `kv`, which
/// already hold positions `0..start + seq`. Writes `[seq][n_head][head_dim]` to `out`.
pub fn attend(pool: &ThreadPool, s: &AttnShape, q: &[f32], kv: LayerKv<'_>, start: usize, seq: usize, out: &mut [f32]) {
    let (nh, hd) = (s.n_head, s.head_dim);
    // The unsafe slicing of `out` below relies on this: checked, not assumed,
    // since this function is reachable from safe code outside the crate.
    let len = seq.checked_mul(nh).and_then(|n| n.checked_mul(hd));
    assert!(
        len.is_some_and(|n| out.len() >= n && q.len() >= n) && s.n_kv_head > 0 && nh % s.n_kv_head == 0,
        "attend: q ({}) and out ({}) must hold {seq} x {nh} heads x {hd}",
        q.len(),
        out.len()
    );
    let rep = nh / s.n_kv_head;
    let first_key = |p: usize| s.window.map_or(0, |w| (p + 1).saturating_sub(w));
    let out_ptr = SendPtr(out.as_mut_ptr());
    let task = |i: usize| {
        let (t, h) = (i / nh, i % nh);
        let p = start + t;
        let k0 = first_key(p);
        let g = h / rep;
        let qv = &q[(t * nh + h) * hd..][..hd];
        // SAFETY: each (t, h) task owns its own head_dim slice of `out`.
        let o = unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add((t * nh + h) * hd), hd) };
        SCORES.with(|sc| {
            let mut sc = sc.borrow_mut();
            sc.clear();
            sc.extend((k0..=p).map(|j| kv.key_dot(g, j, qv) * s.scale));
            softmax(&mut sc);
            o.fill(0.0);
            for (j, &w) in (k0..=p).zip(sc.iter()) {
                kv.value_axpy(g, j, w, o);
            }
        });
    };
    let keys_total: usize = (0..seq).map(|t| start + t + 1 - first_key(start + t)).sum();
    if keys_total * nh * hd * 2 >= PARALLEL_MACS {
        pool.parallel_for(seq * nh, &task);
    } else {
        (0..seq * nh).for_each(task);
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    // A method (not `.0`) so closures capture the whole Sync wrapper.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Activation buffers reused across forward passes, so a decode step does not
/// allocate; each grows to the largest batch seen.
#[derive(Default)]
pub struct Scratch {
    pub x: Vec<f32>,
    pub h: Vec<f32>,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub att: Vec<f32>,
    pub o: Vec<f32>,
    pub gate: Vec<f32>,
    pub up: Vec<f32>,
}

/// The per-call working buffers, each sized for `m` tokens.
pub struct Views<'a> {
    pub x: &'a mut [f32],
    pub h: &'a mut [f32],
    pub o: &'a mut [f32],
    pub q: &'a mut [f32],
    pub k: &'a mut [f32],
    pub v: &'a mut [f32],
    pub att: &'a mut [f32],
    pub gate: &'a mut [f32],
    pub up: &'a mut [f32],
}

impl Scratch {
    /// Buffers for `m` tokens of a model with these dimensions, reusing last call's memory.
    pub fn views(&mut self, m: usize, c: &super::ModelConfig) -> Views<'_> {
        let (e, hd) = (c.n_embd, c.head_dim);
        let Scratch { x, h, q, k, v, att, o, gate, up } = self;
        Views {
            x: sized(x, m * e),
            h: sized(h, m * e),
            o: sized(o, m * e),
            q: sized(q, m * c.n_head * hd),
            k: sized(k, m * c.n_kv_head * hd),
            v: sized(v, m * c.n_kv_head * hd),
            att: sized(att, m * c.n_head * hd),
            gate: sized(gate, m * c.n_ff),
            up: sized(up, m * c.n_ff),
        }
    }
}

/// The final norm and output projection: logits for the last row of `x`, or
/// for every row when `all` is set. `h` is scratch of at least `x`'s size.
/// `softcap` is Gemma's final logit soft-capping, c · tanh(logit / c).
#[allow(clippy::too_many_arguments)]
pub fn logits(
    x: &[f32],
    m: usize,
    all: bool,
    norm: &[f32],
    eps: f32,
    h: &mut [f32],
    output: &super::linear::Linear,
    softcap: Option<f32>,
) -> crate::error::Result<super::Logits> {
    let e = norm.len();
    let rows = if all { m } else { 1 };
    rms_rows(&x[(m - rows) * e..m * e], norm, eps, &mut h[..rows * e]);
    let vocab = output.out_features();
    let mut out = vec![0f32; rows * vocab];
    output.matmul(&h[..rows * e], rows, &mut out)?;
    if let Some(c) = softcap {
        out.iter_mut().for_each(|v| *v = c * (*v / c).tanh());
    }
    Ok(super::Logits::new(out, vocab))
}

/// `v` resized to exactly `n` values (contents unspecified).
pub fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    v.resize(n, 0.0);
    &mut v[..n]
}

/// RMS norm of every `width`-long row of `x` into `out`.
pub fn rms_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let width = w.len();
    for (xr, or) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        mote_kernels::ops::rms_norm(xr, w, eps, or);
    }
}

/// In-place RMS norm of every `w.len()`-long row (per-head norms).
pub fn rms_rows_inplace(x: &mut [f32], w: &[f32], eps: f32) {
    for r in x.chunks_exact_mut(w.len()) {
        mote_kernels::ops::rms_norm_inplace(r, w, eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kv_cache::{KvCache, KvType};

    /// `attend` is public: buffers too short for `seq` tokens must stop it
    /// before its unsafe slicing writes past them (issue 12).
    #[test]
    #[should_panic(expected = "attend: q (8) and out (4)")]
    fn a_short_output_buffer_is_refused_before_any_write() {
        let mut cache = KvCache::new(1, 1, 4, 8, KvType::F32);
        cache.write(0, &[0.5; 8], &[0.25; 8], 2).unwrap();
        let shape = AttnShape { n_head: 2, n_kv_head: 1, head_dim: 4, scale: 0.5, window: None };
        let mut out = vec![0.0; 4]; // one head of one token; two tokens x two heads need 16
        attend(&ThreadPool::new(1), &shape, &[0.1; 8], cache.layer(0), 0, 2, &mut out);
    }
}
