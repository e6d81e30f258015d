//! Transformer architectures. Each lives in its own file and implements
//! [`Architecture`]; the shared pieces (attention, KV cache, the matmul seam)
//! live beside them so a new architecture is mostly a block definition.

pub mod attention;
pub mod config;
mod decoder;
mod gemma3;
pub mod kv_cache;
pub mod linear;
mod llama;
mod phi3;
mod qwen2;
mod qwen3;
pub mod rope;
pub mod weights;

use std::sync::Arc;

use candle_core::{Device, Tensor};
use mote_kernels::ThreadPool;

pub use config::{ModelConfig, RopeScaling, ScalingKind};
pub use kv_cache::KvCache;

use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use weights::Weights;

pub trait Architecture: Send + Sync {
    fn config(&self) -> &ModelConfig;

    /// Runs `tokens` at the positions after those already in `cache` and
    /// appends their keys and values. Returns f32 logits of shape (1, vocab)
    /// for the last token, or (tokens.len(), vocab) when `all_logits` is set.
    fn forward(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool) -> Result<Tensor>;

    /// Weight bytes copied to the heap (not served from the memory map).
    fn heap_weight_bytes(&self) -> u64;

    fn new_cache(&self, max_len: usize) -> KvCache {
        let c = self.config();
        KvCache::new(c.n_layer, c.n_kv_head, c.head_dim, max_len, &Device::Cpu)
    }
}

/// Architectures this build runs, by `general.architecture`.
pub const SUPPORTED: &[&str] = &["llama", "qwen2", "qwen3", "phi3", "gemma3"];

/// How each architecture's implementation was checked against llama.cpp
/// (`mote info` shows it; the README's table says the same).
pub fn verification(arch: &str) -> &'static str {
    match arch {
        "llama" => "verified: real SmolLM2-135M (tokens, greedy, perplexity) and synthetic Llama 3 models with and without rope_freqs (teacher-forced logits, perplexity) against llama.cpp",
        "gemma3" => "verified: real Gemma 3 270M (tokens, greedy, perplexity) and a synthetic Gemma 3 with linear RoPE scaling and sliding windows against llama.cpp",
        "qwen2" => "verified: synthetic Qwen 2 model (Q/K/V biases) against llama.cpp's logits and perplexity; no real Qwen 2.5 weights here",
        "qwen3" => "verified: synthetic Qwen 3 models (q/k norm, decoupled head sizes) against llama.cpp's logits and perplexity; no real Qwen 3 weights here",
        "phi3" => "verified: synthetic Phi-3 models (fused QKV and gate-up, partial rotary, LongRoPE) against llama.cpp's logits and perplexity; no real Phi weights here",
        _ => "unsupported",
    }
}

/// Builds the model for a validated GGUF file, with RoPE tables for
/// `max_len` positions; its matmuls run on `pool`.
pub fn load(gguf: &GgufFile, max_len: usize, pool: Arc<ThreadPool>) -> Result<Box<dyn Architecture>> {
    let cfg = ModelConfig::from_gguf(gguf)?;
    let w = Weights::new(gguf, pool);
    match cfg.architecture.as_str() {
        "llama" => Ok(Box::new(llama::load(&w, cfg, max_len)?)),
        "qwen2" => Ok(Box::new(qwen2::load(&w, cfg, max_len)?)),
        "qwen3" => Ok(Box::new(qwen3::load(&w, cfg, max_len)?)),
        "phi3" => Ok(Box::new(phi3::load(&w, cfg, max_len)?)),
        "gemma3" => Ok(Box::new(gemma3::load(&w, cfg, max_len)?)),
        other => Err(Error::UnsupportedModel(format!(
            "architecture '{other}' is not supported (supported: {})",
            SUPPORTED.join(", ")
        ))),
    }
}
