//! Transformer architectures. Each lives in its own file and implements
//! [`Architecture`]; the shared pieces (attention, KV cache, the matmul seam)
//! live beside them so a new architecture is mostly a block definition.

pub mod attention;
pub mod config;
mod gemma3;
pub mod kv_cache;
pub mod linear;
mod llama;
pub mod weights;

use std::sync::Arc;

use candle_core::{Device, Tensor};
use mote_kernels::ThreadPool;

pub use config::ModelConfig;
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
pub const SUPPORTED: &[&str] = &["llama", "gemma3"];

/// Builds the model for a validated GGUF file, with RoPE tables for
/// `max_len` positions; its matmuls run on `pool`.
pub fn load(gguf: &GgufFile, max_len: usize, pool: Arc<ThreadPool>) -> Result<Box<dyn Architecture>> {
    let cfg = ModelConfig::from_gguf(gguf)?;
    let w = Weights { gguf, device: Device::Cpu, pool };
    match cfg.architecture.as_str() {
        "llama" => Ok(Box::new(llama::Llama::load(&w, cfg, max_len)?)),
        "gemma3" => Ok(Box::new(gemma3::Gemma3::load(&w, cfg, max_len)?)),
        other => Err(Error::UnsupportedModel(format!(
            "architecture '{other}' is not supported (supported: {})",
            SUPPORTED.join(", ")
        ))),
    }
}
