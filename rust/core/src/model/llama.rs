//! Llama-family decoder (SmolLM2, Llama 3.2): pre-norm blocks with RMS norm,
//! grouped-query attention with adjacent-pair RoPE, and a SiLU-gated MLP.

use std::sync::{Arc, Mutex};

use candle_core::Tensor;
use mote_kernels::ops::{add_f32, silu_mul_inplace};
use mote_kernels::ThreadPool;

use super::attention::{attend, logits, rms_rows, AttnShape, Rope, Scratch, Views};
use super::linear::{heap_bytes, Linear};
use super::weights::{Embedding, Weights};
use super::{Architecture, KvCache, ModelConfig};
use crate::error::{Error, Result};

struct Block {
    attn_norm: Vec<f32>,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: Vec<f32>,
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
    norm: Vec<f32>,
    output: Linear,
    rope: Rope,
    pool: Arc<ThreadPool>,
    scratch: Mutex<Scratch>,
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
                    attn_norm: w.vector_f32(&n("attn_norm"), e)?,
                    wq: w.linear(&n("attn_q"), e, cfg.n_head * hd)?,
                    wk: w.linear(&n("attn_k"), e, cfg.n_kv_head * hd)?,
                    wv: w.linear(&n("attn_v"), e, cfg.n_kv_head * hd)?,
                    wo: w.linear(&n("attn_output"), cfg.n_head * hd, e)?,
                    ffn_norm: w.vector_f32(&n("ffn_norm"), e)?,
                    gate: w.linear(&n("ffn_gate"), e, cfg.n_ff)?,
                    up: w.linear(&n("ffn_up"), e, cfg.n_ff)?,
                    down: w.linear(&n("ffn_down"), cfg.n_ff, e)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rope: Rope::new(cfg.rope_base, hd, max_len, true),
            norm: w.vector_f32("output_norm.weight", e)?,
            embed,
            blocks,
            output,
            cfg,
            pool: w.pool.clone(),
            scratch: Mutex::new(Scratch::default()),
        })
    }
}

impl Architecture for Llama {
    fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    fn heap_weight_bytes(&self) -> u64 {
        heap_bytes(self.blocks.iter().flat_map(|b| b.linears()).chain([&self.output]))
    }

    fn forward(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool) -> Result<Tensor> {
        let c = &self.cfg;
        let m = tokens.len();
        if m == 0 {
            return Err(Error::InvalidArgument("forward needs at least one token".into()));
        }
        let (hd, nh, nkv) = (c.head_dim, c.n_head, c.n_kv_head);
        let eps = c.rms_eps as f32;
        let start = cache.len();
        let shape = AttnShape { n_head: nh, n_kv_head: nkv, head_dim: hd, scale: 1.0 / (hd as f32).sqrt(), window: None };
        let mut guard = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let Views { x, h, o, q, k, v, att, gate, up } = guard.views(m, c);
        self.embed.lookup_into(tokens, x)?;
        for (il, b) in self.blocks.iter().enumerate() {
            rms_rows(x, &b.attn_norm, eps, h);
            Linear::matmul_many(h, m, &mut [(&b.wq, &mut *q), (&b.wk, &mut *k), (&b.wv, &mut *v)])?;
            for t in 0..m {
                self.rope.apply(&mut q[t * nh * hd..][..nh * hd], start + t);
                self.rope.apply(&mut k[t * nkv * hd..][..nkv * hd], start + t);
            }
            cache.write(il, k, v, m)?;
            attend(&self.pool, &shape, q, cache.layer(il), start, m, att);
            b.wo.matmul(att, m, o)?;
            add_f32(o, x);
            rms_rows(x, &b.ffn_norm, eps, h);
            Linear::matmul_many(h, m, &mut [(&b.gate, &mut *gate), (&b.up, &mut *up)])?;
            silu_mul_inplace(gate, up);
            b.down.matmul(up, m, o)?;
            add_f32(o, x);
        }
        cache.advance(m);
        logits(x, m, all_logits, &self.norm, eps, h, &self.output)
    }
}
