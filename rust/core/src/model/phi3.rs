//! Phi-3 / Phi-3.5 / Phi-4-mini decoder: the llama block with Q, K and V fused
//! in `attn_qkv` and gate and up fused in `ffn_up` (served as row ranges of
//! the mapped tensors, not split per token), NeoX RoPE over the first
//! `rope.dimension_count` values of each head only (Phi-4-mini: 96 of 128),
//! and LongRoPE: per-frequency factors, long beyond
//! `rope.scaling.original_context_length` and short within it, with
//! `rope.scaling.attn_factor` scaling cos and sin.
//!
//! `phi3.attention.sliding_window` is read but not applied, exactly as
//! llama.cpp does ("Phi SWA is currently disabled"): Phi-3.5/4's window is
//! 262 144, wider than any phone context, and the references we check
//! against run without it.


use super::decoder::{standard, BlockSpec, Decoder};
use super::rope::RopeMode;
use super::weights::Weights;
use super::{ModelConfig, ScalingKind};
use crate::error::Result;

pub fn load(w: &Weights, cfg: ModelConfig, max_len: usize) -> Result<Decoder> {
    cfg.check_keys(w.gguf, &["attention.sliding_window"])?;
    cfg.require_scaling(&[ScalingKind::None, ScalingKind::Linear, ScalingKind::LongRope])?;
    standard(w, cfg, max_len, BlockSpec::default(), RopeMode::Neox)
}
