//! Gemma 3 decoder, written here rather than taken from candle-transformers,
//! whose version uses SiLU instead of GELU, builds full-length RoPE tables per
//! layer, expands the embedding to f32 and drops the sliding window when
//! decoding. Gemma 3 differs from llama in: embeddings scaled by √n_embd,
//! per-head RMS norm on Q and K, extra norms after attention and after the
//! MLP, a GELU(tanh)-gated MLP, NeoX RoPE, and sliding-window layers.
//!
//! Layer layout, as llama.cpp reads it: with `attention.sliding_window` set,
//! `attention.sliding_window_pattern` (a period n, or one flag per layer;
//! default 6) makes layers i with i mod n < n − 1 local (270M, 1B, 4B: five
//! local, then one global). Local layers use RoPE base `rope.freq_base_swa`
//! (default 10 000) unscaled; global layers use `rope.freq_base` with the
//! file's linear `rope.scaling.factor` (Gemma 3 4B: 8). Without a window,
//! every layer is global. The 27B (62 layers) scales scores by
//! 1/√(n_embd/n_head) instead of 1/√head_dim.

use super::decoder::{require_full_rotation, Act, BlockSpec, Decoder, LayerAttn, Parts};
use super::rope::{Rope, RopeMode, RopeParams};
use super::weights::Weights;
use super::{ModelConfig, ScalingKind};
use crate::error::{Error, Result};
use crate::gguf::GgufFile;

const DEFAULT_PATTERN: usize = 6;
const DEFAULT_LOCAL_BASE: f64 = 10_000.0;
const LAYERS_27B: usize = 62;

pub fn load(w: &Weights, cfg: ModelConfig, max_len: usize) -> Result<Decoder> {
    cfg.check_keys(
        w.gguf,
        &["attention.sliding_window", "attention.sliding_window_pattern", "rope.freq_base_swa", "final_logit_softcapping"],
    )?;
    cfg.require_scaling(&[ScalingKind::None, ScalingKind::Linear])?;
    require_full_rotation(&cfg)?;
    let local = local_layers(w.gguf, &cfg)?;
    let key = |k: &str| format!("gemma3.{k}");
    let global = RopeParams::from_model(w, &cfg, RopeMode::Neox, max_len)?;
    let local_base = match w.gguf.get_f64(&key("rope.freq_base_swa")) {
        Some(b) if b.is_finite() && b > 0.0 => b,
        Some(b) => return Err(Error::InvalidModel(format!("gemma3.rope.freq_base_swa = {b} must be positive"))),
        None => DEFAULT_LOCAL_BASE,
    };
    let local_rope = RopeParams { base: local_base, freq_scale: 1.0, factors: None, ..global.clone() };
    let softcap = match w.gguf.get_f64(&key("final_logit_softcapping")) {
        // 0 means "no soft-capping", as in llama.cpp.
        Some(c) if c.is_finite() && c > 0.0 => Some(c as f32),
        Some(c) if !c.is_finite() || c < 0.0 => {
            return Err(Error::InvalidModel(format!("gemma3.final_logit_softcapping = {c} must not be negative")))
        }
        _ => None,
    };
    let score_dim = if cfg.n_layer == LAYERS_27B { cfg.n_embd / cfg.n_head } else { cfg.head_dim };
    let parts = Parts {
        act: Act::GeluTanh,
        embed_scale: Some((cfg.n_embd as f64).sqrt() as f32),
        attn_scale: 1.0 / (score_dim as f32).sqrt(),
        softcap,
        ropes: vec![Rope::new(&global, cfg.head_dim, max_len), Rope::new(&local_rope, cfg.head_dim, max_len)],
    };
    let window = cfg.sliding_window;
    let spec = BlockSpec { qk_norm: true, post_norms: true };
    Decoder::load(w, cfg, max_len, spec, parts, |i| match local[i] {
        true => LayerAttn { rope: 1, window },
        false => LayerAttn { rope: 0, window: None },
    })
}

/// Which layers attend locally, from the sliding-window keys.
fn local_layers(g: &GgufFile, cfg: &ModelConfig) -> Result<Vec<bool>> {
    let n = cfg.n_layer;
    if g.get_u64("gemma3.attention.sliding_window") == Some(0) {
        // A window of no tokens would let local layers see nothing; omit the
        // key for a model without local layers.
        return Err(Error::InvalidModel("gemma3.attention.sliding_window is 0".into()));
    }
    if cfg.sliding_window.is_none() {
        return Ok(vec![false; n]);
    }
    let key = "gemma3.attention.sliding_window_pattern";
    let period = match g.get(key) {
        None => DEFAULT_PATTERN,
        Some(v) => match (v.as_array(), v.as_u64()) {
            (Some(flags), _) => {
                if flags.len() != n {
                    return Err(Error::InvalidModel(format!("{key} has {} flags for {n} layers", flags.len())));
                }
                return (0..n)
                    .map(|i| {
                        flags.scalar(i).and_then(|f| f.as_bool()).ok_or_else(|| Error::InvalidModel(format!("{key} must hold booleans")))
                    })
                    .collect();
            }
            (None, Some(p)) if p as usize <= n.max(1) => p as usize,
            _ => return Err(Error::InvalidModel(format!("{key} must be a layer period or one flag per layer"))),
        },
    };
    // llama.cpp: a period of 0 makes every layer local.
    Ok((0..n).map(|i| period == 0 || i % period < period - 1).collect())
}
