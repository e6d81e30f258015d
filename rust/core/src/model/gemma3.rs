//! Gemma 3 decoder, written here rather than taken from candle-transformers,
//! whose version uses SiLU instead of GELU, builds full-length RoPE tables per
//! layer, expands the embedding to f32 and drops the sliding window when
//! decoding. Gemma 3 differs from llama in: embeddings scaled by √n_embd,
//! per-head RMS norm on Q and K, extra norms after attention and after the MLP,
//! a GELU(tanh)-gated MLP, NeoX RoPE, and five sliding-window layers (local
//! RoPE base 10 000) for every global one.

use std::sync::{Arc, Mutex};

use candle_core::Tensor;
use mote_kernels::ops::{add_f32, gelu_tanh_mul_inplace};
use mote_kernels::ThreadPool;

use super::attention::{attend, logits, rms_rows, rms_rows_inplace, AttnShape, Rope, Scratch, Views};
use super::linear::{heap_bytes, Linear};
use super::weights::{Embedding, Weights};
use super::{Architecture, KvCache, ModelConfig};
use crate::error::{Error, Result};

/// Every sixth layer attends globally; the others use the sliding window.
const GLOBAL_EVERY: usize = 6;
const LOCAL_ROPE_BASE: f64 = 10_000.0;

struct Block {
    attn_norm: Vec<f32>,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    wo: Linear,
    post_attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Vec<f32>,
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
    norm: Vec<f32>,
    output: Linear,
    rope_global: Rope,
    rope_local: Rope,
    pool: Arc<ThreadPool>,
    scratch: Mutex<Scratch>,
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
                    attn_norm: w.vector_f32(&n("attn_norm"), e)?,
                    wq: w.linear(&n("attn_q"), e, cfg.n_head * hd)?,
                    wk: w.linear(&n("attn_k"), e, cfg.n_kv_head * hd)?,
                    wv: w.linear(&n("attn_v"), e, cfg.n_kv_head * hd)?,
                    q_norm: w.vector_f32(&n("attn_q_norm"), hd)?,
                    k_norm: w.vector_f32(&n("attn_k_norm"), hd)?,
                    wo: w.linear(&n("attn_output"), cfg.n_head * hd, e)?,
                    post_attn_norm: w.vector_f32(&n("post_attention_norm"), e)?,
                    ffn_norm: w.vector_f32(&n("ffn_norm"), e)?,
                    gate: w.linear(&n("ffn_gate"), e, cfg.n_ff)?,
                    up: w.linear(&n("ffn_up"), e, cfg.n_ff)?,
                    down: w.linear(&n("ffn_down"), cfg.n_ff, e)?,
                    post_ffn_norm: w.vector_f32(&n("post_ffw_norm"), e)?,
                    window: if local { cfg.sliding_window } else { None },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rope_global: Rope::new(cfg.rope_base, hd, max_len, false),
            rope_local: Rope::new(LOCAL_ROPE_BASE, hd, max_len, false),
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

impl Architecture for Gemma3 {
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
        let (e, hd, nh, nkv) = (c.n_embd, c.head_dim, c.n_head, c.n_kv_head);
        let eps = c.rms_eps as f32;
        let start = cache.len();
        let mut guard = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let Views { x, h, o, q, k, v, att, gate, up } = guard.views(m, c);
        self.embed.lookup_into(tokens, x)?;
        let embed_scale = (e as f64).sqrt() as f32;
        x.iter_mut().for_each(|v| *v *= embed_scale);
        for (il, b) in self.blocks.iter().enumerate() {
            let rope = if b.window.is_some() { &self.rope_local } else { &self.rope_global };
            let shape = AttnShape { n_head: nh, n_kv_head: nkv, head_dim: hd, scale: 1.0 / (hd as f32).sqrt(), window: b.window };
            rms_rows(x, &b.attn_norm, eps, h);
            Linear::matmul_many(h, m, &mut [(&b.wq, &mut *q), (&b.wk, &mut *k), (&b.wv, &mut *v)])?;
            rms_rows_inplace(q, &b.q_norm, eps);
            rms_rows_inplace(k, &b.k_norm, eps);
            for t in 0..m {
                rope.apply(&mut q[t * nh * hd..][..nh * hd], start + t);
                rope.apply(&mut k[t * nkv * hd..][..nkv * hd], start + t);
            }
            cache.write(il, k, v, m)?;
            attend(&self.pool, &shape, q, cache.layer(il), start, m, att);
            b.wo.matmul(att, m, o)?;
            rms_rows_inplace(o, &b.post_attn_norm, eps);
            add_f32(o, x);
            rms_rows(x, &b.ffn_norm, eps, h);
            Linear::matmul_many(h, m, &mut [(&b.gate, &mut *gate), (&b.up, &mut *up)])?;
            gelu_tanh_mul_inplace(gate, up);
            b.down.matmul(up, m, o)?;
            rms_rows_inplace(o, &b.post_ffn_norm, eps);
            add_f32(o, x);
        }
        cache.advance(m);
        logits(x, m, all_logits, &self.norm, eps, h, &self.output)
    }
}
