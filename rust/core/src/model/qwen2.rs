//! Qwen 2 / 2.5 decoder: the llama block with biases on Q, K and V (taken by
//! the shared decoder whenever a file has them) and NeoX RoPE.


use super::decoder::{standard, BlockSpec, Decoder};
use super::rope::RopeMode;
use super::weights::Weights;
use super::{ModelConfig, ScalingKind};
use crate::error::Result;

pub fn load(w: &Weights, cfg: ModelConfig, max_len: usize) -> Result<Decoder> {
    cfg.check_keys(w.gguf, &[])?;
    // Qwen 2.5's long-context variants use YaRN, which config.rs refuses by name.
    cfg.require_scaling(&[ScalingKind::None, ScalingKind::Linear])?;
    standard(w, cfg, max_len, BlockSpec::default(), RopeMode::Neox)
}
