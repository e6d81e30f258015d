//! Rotary position embeddings, as llama.cpp's `ggml_rope_ext` applies them
//! with YaRN extrapolation off (the only mode Mote accepts):
//!
//! θᵢ(p) = p · freq_scale · base^(−2i / n_rot) / factorᵢ,   i < n_rot / 2
//!
//! and both cos θ and sin θ multiplied by `mscale` (the file's
//! `rope.scaling.attn_factor`). Only the first `n_rot` values of each head
//! rotate (Phi-4-mini rotates 96 of 128); the rest pass through unchanged.
//! `factors` are Llama 3's `rope_freqs` or Phi's LongRoPE long/short tables.
//!
//! Tables are only as long as the session's context: a table per layer sized
//! to the trained context (131k rows) cost candle's Gemma 3.5 GiB.

use super::weights::Weights;
use super::ModelConfig;
use crate::error::{Error, Result};

/// How the rotated values of a head are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeMode {
    /// Adjacent pairs (2i, 2i+1): llama.cpp's "normal" mode (Llama, SmolLM2).
    Norm,
    /// (i, i + n_rot/2): GPT-NeoX mode (Qwen, Phi-3, Gemma).
    Neox,
}

#[derive(Debug, Clone)]
pub struct RopeParams {
    pub base: f64,
    /// Values rotated per head: even, at most the head size.
    pub n_rot: usize,
    /// Linear position scaling, 1 / `rope.scaling.factor`.
    pub freq_scale: f64,
    /// Multiplies cos and sin (`rope.scaling.attn_factor`).
    pub mscale: f64,
    /// Per-pair divisors of the frequency, `n_rot / 2` of them.
    pub factors: Option<Vec<f32>>,
    pub mode: RopeMode,
}

impl RopeParams {
    pub fn plain(base: f64, n_rot: usize, mode: RopeMode) -> Self {
        Self { base, n_rot, freq_scale: 1.0, mscale: 1.0, factors: None, mode }
    }
}

impl RopeParams {
    /// The file's RoPE for its main (global) layers: `rope.freq_base`, the
    /// rotated width, linear scaling, the attention factor, and the frequency
    /// factors when the file has them. As in llama.cpp, `rope_freqs.weight`
    /// (Llama 3) wins; otherwise LongRoPE's long table is used when the
    /// session's context exceeds `rope.scaling.original_context_length` and
    /// the short one otherwise.
    pub fn from_model(w: &Weights, cfg: &ModelConfig, mode: RopeMode, max_len: usize) -> Result<Self> {
        let half = cfg.n_rot / 2;
        let (long, short) = ("rope_factors_long.weight", "rope_factors_short.weight");
        let name = if w.has("rope_freqs.weight") {
            w.skip(long);
            w.skip(short);
            Some("rope_freqs.weight")
        } else if w.has(long) || w.has(short) {
            let use_long = max_len > cfg.rope_scaling.original_context;
            let (take, other) = if use_long { (long, short) } else { (short, long) };
            w.skip(other);
            Some(take)
        } else {
            None
        };
        let factors = match name {
            Some(n) => {
                let f = w.vector_f32(n, half)?;
                if let Some(bad) = f.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                    return Err(Error::InvalidModel(format!("{n} holds {bad}; RoPE factors must be positive")));
                }
                Some(f)
            }
            None => None,
        };
        Ok(Self {
            base: cfg.rope_base,
            n_rot: cfg.n_rot,
            freq_scale: cfg.rope_scaling.freq_scale,
            mscale: cfg.rope_scaling.attn_factor,
            factors,
            mode,
        })
    }
}

pub struct Rope {
    cos: Vec<f32>,
    sin: Vec<f32>,
    half: usize,
    head_dim: usize,
    mode: RopeMode,
    /// `mscale`, so a shift can rotate without scaling twice.
    mscale: f32,
}

impl Rope {
    /// Tables for positions `0..max_len` of heads `head_dim` wide. The caller
    /// has checked `n_rot` (even, ≤ head_dim) and the factors' length.
    pub fn new(p: &RopeParams, head_dim: usize, max_len: usize) -> Self {
        let half = p.n_rot / 2;
        let inv: Vec<f64> = (0..half)
            .map(|i| {
                let f = p.factors.as_ref().map_or(1.0, |f| f[i] as f64);
                p.freq_scale * p.base.powf(-2.0 * i as f64 / p.n_rot as f64) / f
            })
            .collect();
        let (mut cos, mut sin) = (Vec::with_capacity(max_len * half), Vec::with_capacity(max_len * half));
        for pos in 0..max_len {
            for f in &inv {
                let a = pos as f64 * f;
                cos.push((a.cos() * p.mscale) as f32);
                sin.push((a.sin() * p.mscale) as f32);
            }
        }
        Self { cos, sin, half, head_dim, mode: p.mode, mscale: p.mscale as f32 }
    }

    /// Rotates every head vector in `x` (one token's heads, back to back) for position `pos`.
    pub fn apply(&self, x: &mut [f32], pos: usize) {
        let half = self.half;
        if half == 0 {
            return;
        }
        self.rotate(x, &self.cos[pos * half..][..half], &self.sin[pos * half..][..half]);
    }

    /// Moves already-rotated head vectors `delta` positions back, as a KV
    /// shift needs: a rotation by −θ(delta) without the `mscale` factor,
    /// which the keys already carry once. Rotations compose, so a key
    /// rotated for position p becomes the key for p − delta.
    pub fn shift_back(&self, x: &mut [f32], delta: usize) {
        let half = self.half;
        if half == 0 || delta == 0 {
            return;
        }
        let m = if self.mscale != 0.0 { self.mscale } else { 1.0 };
        let cos: Vec<f32> = self.cos[delta * half..][..half].iter().map(|c| c / m).collect();
        let sin: Vec<f32> = self.sin[delta * half..][..half].iter().map(|s| -s / m).collect();
        self.rotate(x, &cos, &sin);
    }

    fn rotate(&self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        let half = self.half;
        for head in x.chunks_exact_mut(self.head_dim) {
            let rot = &mut head[..2 * half];
            match self.mode {
                RopeMode::Norm => {
                    for (i, pair) in rot.chunks_exact_mut(2).enumerate() {
                        let (a, b) = (pair[0], pair[1]);
                        pair[0] = a * cos[i] - b * sin[i];
                        pair[1] = a * sin[i] + b * cos[i];
                    }
                }
                RopeMode::Neox => {
                    let (lo, hi) = rot.split_at_mut(half);
                    for i in 0..half {
                        let (a, b) = (lo[i], hi[i]);
                        lo[i] = a * cos[i] - b * sin[i];
                        hi[i] = a * sin[i] + b * cos[i];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_rotation_leaves_the_tail_alone() {
        let p = RopeParams::plain(10_000.0, 4, RopeMode::Neox);
        let rope = Rope::new(&p, 6, 8);
        let mut x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        rope.apply(&mut x, 3);
        assert_eq!(&x[4..6], &[5.0, 6.0]);
        assert_eq!(&x[10..12], &[5.0, 6.0]);
        // Pair (0, 2) rotates by 3 rad at frequency 1.
        let (c, s) = (3f64.cos() as f32, 3f64.sin() as f32);
        assert!((x[0] - (1.0 * c - 3.0 * s)).abs() < 1e-6);
        assert!((x[2] - (1.0 * s + 3.0 * c)).abs() < 1e-6);
    }

    #[test]
    fn factors_and_scale_slow_the_rotation_and_mscale_scales_it() {
        let mut p = RopeParams::plain(10_000.0, 2, RopeMode::Norm);
        p.factors = Some(vec![4.0]);
        p.freq_scale = 0.5;
        p.mscale = 2.0;
        let rope = Rope::new(&p, 2, 9);
        let mut x = [1.0, 0.0];
        rope.apply(&mut x, 8); // θ = 8 · 0.5 / 4 = 1
        assert!((x[0] - 2.0 * 1f32.cos()).abs() < 1e-6);
        assert!((x[1] - 2.0 * 1f32.sin()).abs() < 1e-6);
    }

    #[test]
    fn shifting_back_equals_rotating_for_the_earlier_position() {
        for mode in [RopeMode::Norm, RopeMode::Neox] {
            let p = RopeParams {
                base: 10_000.0,
                n_rot: 6,
                freq_scale: 0.5,
                mscale: 1.3,
                factors: Some(vec![1.0, 2.0, 4.0]),
                mode,
            };
            let rope = Rope::new(&p, 8, 64);
            let x: Vec<f32> = (0..16).map(|i| (i as f32 * 0.37).sin()).collect();
            let (mut shifted, mut direct) = (x.clone(), x.clone());
            rope.apply(&mut shifted, 40);
            rope.shift_back(&mut shifted, 17);
            rope.apply(&mut direct, 23);
            for (a, b) in shifted.iter().zip(&direct) {
                assert!((a - b).abs() < 1e-5, "{mode:?}: {shifted:?} vs {direct:?}");
            }
        }
    }
}
