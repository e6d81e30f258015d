//! Llama-family decoder (SmolLM2, Llama 3.2): pre-norm blocks with RMS norm,
//! grouped-query attention with adjacent-pair RoPE, and a SiLU-gated MLP.

use candle_core::{Module, Tensor};

use super::attention::{attention, rms_norm, select_positions, split_heads, Rope};
use super::linear::Linear;
use super::weights::{Embedding, Weights};
use super::{Architecture, KvCache, ModelConfig};
use crate::error::Result;

struct Block {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Block {
    fn linears(&self) -> [&Linear; 7] {
        [&self.wq, &self.wk, &self.wv, &self.wo, &self.gate, &self.up, &self.down]
    }
}

pub struct Llama {
    cfg: ModelConfig,
    embed: Embedding,
    blocks: Vec<Block>,
    norm: Tensor,
    output: Linear,
    rope: Rope,
}

impl Llama {
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
                Ok(Block {
                    attn_norm: w.vector(&n("attn_norm"), e)?,
                    wq: w.linear(&n("attn_q"), e, cfg.n_head * hd)?,
                    wk: w.linear(&n("attn_k"), e, cfg.n_kv_head * hd)?,
                    wv: w.linear(&n("attn_v"), e, cfg.n_kv_head * hd)?,
                    wo: w.linear(&n("attn_output"), cfg.n_head * hd, e)?,
                    ffn_norm: w.vector(&n("ffn_norm"), e)?,
                    gate: w.linear(&n("ffn_gate"), e, cfg.n_ff)?,
                    up: w.linear(&n("ffn_up"), e, cfg.n_ff)?,
                    down: w.linear(&n("ffn_down"), cfg.n_ff, e)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rope: Rope::new(cfg.rope_base, hd, max_len, true, &w.device)?,
            norm: w.vector("output_norm.weight", e)?,
            embed,
            blocks,
            output,
            cfg,
        })
    }
}

impl Architecture for Llama {
    fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    fn heap_weight_bytes(&self) -> u64 {
        let blocks: u64 = self.blocks.iter().map(|b| b.linears().iter().map(|l| l.heap_bytes()).sum::<u64>()).sum();
        blocks + self.output.heap_bytes()
    }

    fn forward(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool) -> Result<Tensor> {
        let c = &self.cfg;
        let start = cache.len();
        let scale = 1.0 / (c.head_dim as f64).sqrt();
        let mut x = self.embed.lookup(tokens)?.unsqueeze(0)?;
        for (il, b) in self.blocks.iter().enumerate() {
            let h = rms_norm(&x, &b.attn_norm, c.rms_eps)?;
            let q = self.rope.apply(&split_heads(&b.wq.forward(&h)?, c.n_head, c.head_dim)?, start)?;
            let k = self.rope.apply(&split_heads(&b.wk.forward(&h)?, c.n_kv_head, c.head_dim)?, start)?;
            let v = split_heads(&b.wv.forward(&h)?, c.n_kv_head, c.head_dim)?;
            let (k, v) = cache.append(il, &k, &v)?;
            let a = attention(&q, &k, &v, start, scale, None)?;
            x = (x + b.wo.forward(&a)?)?;
            let h = rms_norm(&x, &b.ffn_norm, c.rms_eps)?;
            let g = candle_nn::Activation::Silu.forward(&b.gate.forward(&h)?)?;
            x = (x + b.down.forward(&(g * b.up.forward(&h)?)?)?)?;
        }
        cache.advance(tokens.len());
        let x = rms_norm(&select_positions(&x, all_logits)?, &self.norm, c.rms_eps)?;
        Ok(self.output.forward(&x)?.squeeze(0)?)
    }
}
