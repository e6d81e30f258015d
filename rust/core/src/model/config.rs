//! Hyper-parameters read from a GGUF file's `<arch>.*` metadata.

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub architecture: String,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub vocab_size: usize,
    pub rms_eps: f64,
    pub rope_base: f64,
    /// The context the model was trained for (`<arch>.context_length`).
    pub train_context: usize,
    /// Sliding-window attention span, for architectures that use it on some layers.
    pub sliding_window: Option<usize>,
}

impl ModelConfig {
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let arch = g.architecture()?.to_string();
        let key = |k: &str| format!("{arch}.{k}");
        let req = |k: &str| -> Result<usize> {
            let v = g
                .get_u64(&key(k))
                .ok_or_else(|| Error::InvalidModel(format!("{} is missing", key(k))))?;
            // Bounds that no real model approaches; they stop absurd values
            // from turning into huge allocations further down.
            if v == 0 || v > 1 << 24 {
                return Err(Error::InvalidModel(format!("{} = {v} is out of range", key(k))));
            }
            Ok(v as usize)
        };
        let n_embd = req("embedding_length")?;
        let n_head = req("attention.head_count")?;
        let n_kv_head = g.get_u64(&key("attention.head_count_kv")).map_or(Ok(n_head), |_| req("attention.head_count_kv"))?;
        let head_dim = match g.get_u64(&key("attention.key_length")) {
            Some(_) => req("attention.key_length")?,
            None => n_embd / n_head,
        };
        if n_head % n_kv_head != 0 {
            return Err(Error::InvalidModel(format!(
                "{n_head} attention heads cannot share {n_kv_head} KV heads"
            )));
        }
        let token_embd = g
            .tensor("token_embd.weight")
            .ok_or_else(|| Error::InvalidModel("token_embd.weight is missing".into()))?;
        let vocab_size = *token_embd.dims.get(1).unwrap_or(&0);
        if token_embd.dims.len() != 2 || token_embd.dims[0] != n_embd || vocab_size == 0 {
            return Err(Error::InvalidModel(format!(
                "token_embd.weight has shape {:?}, expected [{n_embd}, vocab]",
                token_embd.dims
            )));
        }
        Ok(Self {
            n_layer: req("block_count")?,
            n_ff: req("feed_forward_length")?,
            rms_eps: g.get_f64(&key("attention.layer_norm_rms_epsilon")).unwrap_or(1e-5),
            rope_base: g.get_f64(&key("rope.freq_base")).unwrap_or(10_000.0),
            train_context: req("context_length")?,
            sliding_window: g.get_u64(&key("attention.sliding_window")).map(|v| v as usize),
            architecture: arch,
            n_embd,
            n_head,
            n_kv_head,
            head_dim,
            vocab_size,
        })
    }
}
