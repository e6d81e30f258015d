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

use mote_kernels::ThreadPool;

pub use config::{ModelConfig, RopeScaling, ScalingKind};
pub use kv_cache::{KvCache, KvType};


use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use weights::Weights;

pub trait Architecture: Send + Sync {
    fn config(&self) -> &ModelConfig;

    /// Runs `tokens` at the positions after those already in `cache` and
    /// appends their keys and values. Returns the logits of the last token,
    /// or of every token when `all_logits` is set.
    fn forward(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool) -> Result<Logits> {
        self.forward_until(tokens, cache, all_logits, &|| false)
    }

    /// `forward` that checks `stop` before each layer and gives up with
    /// `Error::Cancelled` when it says so, leaving the cache as it was. A
    /// long prefill chunk thus notices a cancel within one layer's work.
    fn forward_until(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool, stop: &dyn Fn() -> bool) -> Result<Logits>;

    /// Drops cached positions `start..start + n` and re-rotates the keys
    /// after them so they read as `n` positions earlier (llama.cpp's context
    /// shift). Attention then sees the remaining tokens as if the dropped
    /// ones had never been there, without re-running them.
    fn shift_cache(&self, cache: &mut KvCache, start: usize, n: usize) -> Result<()>;

    /// Weight bytes copied to the heap (not served from the memory map).
    fn heap_weight_bytes(&self) -> u64;

    fn new_cache(&self, max_len: usize) -> KvCache {
        let c = self.config();
        KvCache::new(c.n_layer, c.n_kv_head, c.head_dim, max_len, c.kv_type)
    }
}

/// The output of a forward pass: `rows()` rows of `vocab()` logits, as the
/// output projection wrote them. A plain buffer, not a candle tensor, so the
/// sampler reads it without a vocabulary-sized copy per token.
#[derive(Debug, Clone, PartialEq)]
pub struct Logits {
    data: Vec<f32>,
    vocab: usize,
}

impl Logits {
    pub fn new(data: Vec<f32>, vocab: usize) -> Self {
        assert!(vocab > 0 && data.len() % vocab == 0, "logits: {} values for a vocabulary of {vocab}", data.len());
        Self { data, vocab }
    }

    pub fn rows(&self) -> usize {
        self.data.len() / self.vocab
    }

    pub fn vocab(&self) -> usize {
        self.vocab
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.vocab..][..self.vocab]
    }

    pub fn last(&self) -> &[f32] {
        self.row(self.rows() - 1)
    }

    /// The last row, taking the buffer when there is only one (no copy).
    pub fn into_last(mut self) -> Vec<f32> {
        let start = self.data.len() - self.vocab;
        self.data.drain(..start);
        self.data
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
    load_kv(gguf, max_len, pool, KvType::default())
}

/// [`load`] with sessions' KV caches stored as `kv`.
pub fn load_kv(gguf: &GgufFile, max_len: usize, pool: Arc<ThreadPool>, kv: KvType) -> Result<Box<dyn Architecture>> {
    let mut cfg = ModelConfig::from_gguf(gguf)?;
    kv.check(cfg.head_dim)?;
    cfg.kv_type = kv;
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
