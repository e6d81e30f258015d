//! Gemma 3 decoder, written here rather than taken from candle-transformers,
//! whose version uses SiLU instead of GELU, builds full-length RoPE tables per
//! layer, expands the embedding to f32 and drops the sliding window when
//! decoding. Gemma 3 differs from llama in: embeddings scaled by √n_embd,
//! per-head RMS norm on Q and K, extra norms after attention and after the MLP,
//! a GELU(tanh)-gated MLP, NeoX RoPE, and five sliding-window layers (local
//! RoPE base 10 000) for every global one.

use candle_core::Tensor;

use super::attention::{attention, rms_norm, select_positions, split_heads, Rope};
use super::linear::Linear;
use super::weights::{Embedding, Weights};
use super::{Architecture, KvCache, ModelConfig};
use crate::error::Result;

/// Every sixth layer attends globally; the others use the sliding window.
const GLOBAL_EVERY: usize = 6;
const LOCAL_ROPE_BASE: f64 = 10_000.0;

struct Block {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    q_norm: Tensor,
    k_norm: Tensor,
    wo: Linear,
    post_attn_norm: Tensor,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Tensor,
    window: Option<usize>,
}

impl Block {
    fn linears(&self) -> [&Linear; 7] {
        [&self.wq, &self.wk, &self.wv, &self.wo, &self.gate, &self.up, &self.down]
    }
}

pub struct Gemma3 {
    cfg: ModelConfig,
    embed: Embedding,
    blocks: Vec<Block>,
    norm: Tensor,
    output: Linear,
    rope_global: Rope,
    rope_local: Rope,
}

impl Gemma3 {
    pub fn load(w: &Weights, cfg: ModelConfig, max_len: usize) -> Result<Self> {
        let (e, hd) = (cfg.n_embd, cfg.head_dim);
        let embed = w.embedding("token_embd.weight", e, cfg.vocab_size)?;
        let output = if w.has("output.weight") {
            w.linear("output.weight", e, cfg.vocab_size)?
        } else {
            embed.as_linear()?
        };
        let blocks = (0..cfg.n_layer)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}.weight");
                let local = (i + 1) % GLOBAL_EVERY != 0;
                Ok(Block {
                    attn_norm: w.vector(&n("attn_norm"), e)?,
                    wq: w.linear(&n("attn_q"), e, cfg.n_head * hd)?,
                    wk: w.linear(&n("attn_k"), e, cfg.n_kv_head * hd)?,
                    wv: w.linear(&n("attn_v"), e, cfg.n_kv_head * hd)?,
                    q_norm: w.vector(&n("attn_q_norm"), hd)?,
                    k_norm: w.vector(&n("attn_k_norm"), hd)?,
                    wo: w.linear(&n("attn_output"), cfg.n_head * hd, e)?,
                    post_attn_norm: w.vector(&n("post_attention_norm"), e)?,
                    ffn_norm: w.vector(&n("ffn_norm"), e)?,
                    gate: w.linear(&n("ffn_gate"), e, cfg.n_ff)?,
                    up: w.linear(&n("ffn_up"), e, cfg.n_ff)?,
                    down: w.linear(&n("ffn_down"), cfg.n_ff, e)?,
                    post_ffn_norm: w.vector(&n("post_ffw_norm"), e)?,
                    window: if local { cfg.sliding_window } else { None },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rope_global: Rope::new(cfg.rope_base, hd, max_len, false, &w.device)?,
            rope_local: Rope::new(LOCAL_ROPE_BASE, hd, max_len, false, &w.device)?,
            norm: w.vector("output_norm.weight", e)?,
            embed,
            blocks,
            output,
            cfg,
        })
    }
}

impl Architecture for Gemma3 {
    fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    fn heap_weight_bytes(&self) -> u64 {
        let blocks: u64 = self.blocks.iter().map(|b| b.linears().iter().map(|l| l.heap_bytes()).sum::<u64>()).sum();
        blocks + self.output.heap_bytes()
    }

    fn forward(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool) -> Result<Tensor> {
        let c = &self.cfg;
        let (hd, eps) = (c.head_dim, c.rms_eps);
        let start = cache.len();
        let scale = 1.0 / (hd as f64).sqrt();
        let mut x = (self.embed.lookup(tokens)?.unsqueeze(0)? * (c.n_embd as f64).sqrt())?;
        for (il, b) in self.blocks.iter().enumerate() {
            let rope = if b.window.is_some() { &self.rope_local } else { &self.rope_global };
            let h = rms_norm(&x, &b.attn_norm, eps)?;
            let q = rms_norm(&split_heads(&b.wq.forward(&h)?, c.n_head, hd)?, &b.q_norm, eps)?;
            let k = rms_norm(&split_heads(&b.wk.forward(&h)?, c.n_kv_head, hd)?, &b.k_norm, eps)?;
            let v = split_heads(&b.wv.forward(&h)?, c.n_kv_head, hd)?;
            let (q, k) = (rope.apply(&q, start)?, rope.apply(&k, start)?);
            let (k, v) = cache.append(il, &k, &v)?;
            let a = attention(&q, &k, &v, start, scale, b.window)?;
            let a = rms_norm(&b.wo.forward(&a)?, &b.post_attn_norm, eps)?;
            x = (x + a)?;
            let h = rms_norm(&x, &b.ffn_norm, eps)?;
            let g = b.gate.forward(&h)?.gelu()?;
            let f = b.down.forward(&(g * b.up.forward(&h)?)?)?;
            x = (x + rms_norm(&f, &b.post_ffn_norm, eps)?)?;
        }
        cache.advance(tokens.len());
        let x = rms_norm(&select_positions(&x, all_logits)?, &self.norm, eps)?;
        Ok(self.output.forward(&x)?.squeeze(0)?)
    }
}
