//! Qwen 3 decoder: the Qwen 2 block without biases, with a per-head RMS norm
//! of Q and K before RoPE, and a head size set by `attention.key_length`
//! rather than n_embd / n_head (Qwen3-0.6B: 16 heads of 128 over n_embd 1024).


use super::decoder::{require_full_rotation, standard, BlockSpec, Decoder};
use super::rope::RopeMode;
use super::weights::Weights;
use super::{ModelConfig, ScalingKind};
use crate::error::Result;

pub fn load(w: &Weights, cfg: ModelConfig, max_len: usize) -> Result<Decoder> {
    cfg.check_keys(w.gguf, &[])?;
    cfg.require_scaling(&[ScalingKind::None, ScalingKind::Linear])?;
    require_full_rotation(&cfg)?; // as llama.cpp requires for this architecture
    standard(w, cfg, max_len, BlockSpec { qk_norm: true, post_norms: false }, RopeMode::Neox)
}
