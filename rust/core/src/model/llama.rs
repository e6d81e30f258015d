//! Llama-family decoder (SmolLM2, Llama 3.x): pre-norm blocks with RMS norm,
//! grouped-query attention with adjacent-pair RoPE, and a SiLU-gated MLP.
//! Llama 3.1/3.2 files carry `rope_freqs.weight`, per-frequency divisors that
//! stretch the long wavelengths; they are applied at every position.


use super::decoder::{require_full_rotation, standard, BlockSpec, Decoder};
use super::rope::RopeMode;
use super::weights::Weights;
use super::{ModelConfig, ScalingKind};
use crate::error::Result;

pub fn load(w: &Weights, cfg: ModelConfig, max_len: usize) -> Result<Decoder> {
    cfg.check_keys(w.gguf, &[])?;
    cfg.require_scaling(&[ScalingKind::None, ScalingKind::Linear, ScalingKind::LongRope])?;
    require_full_rotation(&cfg)?; // as llama.cpp requires for this architecture
    standard(w, cfg, max_len, BlockSpec::default(), RopeMode::Norm)
}
