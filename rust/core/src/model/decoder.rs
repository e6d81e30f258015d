//! The decoder every supported architecture is an instance of: pre-norm
//! blocks of grouped-query attention and a gated MLP over the shared KV cache
//! and kernels. The architecture files (`llama.rs`, `qwen2.rs`, …) read their
//! hyper-parameters, say which optional pieces their blocks have and set up
//! RoPE; the forward pass lives only here, so a fix or an optimisation reaches
//! every family at once.
//!
//! Optional pieces are taken whenever the file has them, as llama.cpp does
//! (Q/K/V biases in any family, fused or separate Q/K/V and gate/up); pieces
//! an architecture requires are named in its [`BlockSpec`].

use std::sync::{Arc, Mutex};

use mote_kernels::ops::{add_f32, gelu_tanh_mul_inplace, silu_mul_inplace};
use mote_kernels::ThreadPool;

use super::attention::{attend, logits, rms_rows, rms_rows_inplace, AttnShape, Scratch, Views};
use super::linear::{heap_bytes, Linear};
use super::rope::{Rope, RopeMode, RopeParams};
use super::weights::{Embedding, Weights};
use super::{Architecture, KvCache, Logits, ModelConfig};
use crate::error::{Error, Result};

/// The MLP's gate activation.
#[derive(Clone, Copy, Debug)]
pub enum Act {
    Silu,
    GeluTanh,
}

/// What a family's blocks hold beyond the llama block.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockSpec {
    /// Per-head RMS norm of Q and K before RoPE (Qwen3, Gemma 3).
    pub qk_norm: bool,
    /// RMS norms after attention and after the MLP, before each residual add (Gemma 3).
    pub post_norms: bool,
}

/// Model-wide settings of the forward pass.
pub struct Parts {
    pub act: Act,
    /// Multiplies the embeddings (Gemma: √n_embd).
    pub embed_scale: Option<f32>,
    /// Attention scores' scale, usually 1/√head_dim.
    pub attn_scale: f32,
    /// Final logit soft-capping (Gemma's `final_logit_softcapping`).
    pub softcap: Option<f32>,
    /// The RoPE tables the layers choose from.
    pub ropes: Vec<Rope>,
}

/// Where a layer's attention looks: its RoPE table and sliding window.
#[derive(Clone, Copy, Debug)]
pub struct LayerAttn {
    pub rope: usize,
    pub window: Option<usize>,
}

struct Block {
    attn_norm: Vec<f32>,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    bias: [Option<Vec<f32>>; 3],
    qk_norm: Option<(Vec<f32>, Vec<f32>)>,
    wo: Linear,
    post_attn_norm: Option<Vec<f32>>,
    ffn_norm: Vec<f32>,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Option<Vec<f32>>,
    attn: LayerAttn,
}

impl Block {
    fn linears(&self) -> [&Linear; 7] {
        [&self.wq, &self.wk, &self.wv, &self.wo, &self.gate, &self.up, &self.down]
    }
}

pub struct Decoder {
    cfg: ModelConfig,
    embed: Embedding,
    blocks: Vec<Block>,
    norm: Vec<f32>,
    output: Linear,
    parts: Parts,
    /// Positions the RoPE tables cover.
    max_len: usize,
    pool: Arc<ThreadPool>,
    scratch: Mutex<Scratch>,
}

impl Decoder {
    /// Loads the embedding, the output layer (tied to the embedding when the
    /// file has no `output.weight`), the final norm and every block, layer
    /// `i` attending as `layer(i)` says; then refuses the file if any tensor
    /// was left unused.
    pub fn load(
        w: &Weights,
        cfg: ModelConfig,
        max_len: usize,
        spec: BlockSpec,
        parts: Parts,
        layer: impl Fn(usize) -> LayerAttn,
    ) -> Result<Self> {
        let e = cfg.n_embd;
        let embed = w.embedding("token_embd.weight", e, cfg.vocab_size)?;
        let output = if w.has("output.weight") {
            w.linear("output.weight", e, cfg.vocab_size)?
        } else {
            embed.as_linear()?
        };
        let blocks = (0..cfg.n_layer)
            .map(|i| load_block(w, &cfg, i, spec, layer(i)))
            .collect::<Result<Vec<_>>>()?;
        if let Some(b) = blocks.iter().find(|b| b.attn.rope >= parts.ropes.len()) {
            return Err(Error::Backend(format!("layer uses RoPE table {} of {}", b.attn.rope, parts.ropes.len())));
        }
        let norm = w.vector_f32("output_norm.weight", e)?;
        w.check_all_used(&cfg.architecture)?;
        Ok(Self { embed, blocks, norm, output, parts, max_len, pool: w.pool.clone(), scratch: Mutex::new(Scratch::default()), cfg })
    }
}

/// The llama shape most families share: one RoPE table for every layer, no
/// sliding window, a SiLU-gated MLP and 1/√head_dim attention scores.
pub fn standard(w: &Weights, cfg: ModelConfig, max_len: usize, spec: BlockSpec, mode: RopeMode) -> Result<Decoder> {
    let rope = RopeParams::from_model(w, &cfg, mode, max_len)?;
    let parts = Parts {
        act: Act::Silu,
        embed_scale: None,
        attn_scale: 1.0 / (cfg.head_dim as f32).sqrt(),
        softcap: None,
        ropes: vec![Rope::new(&rope, cfg.head_dim, max_len)],
    };
    Decoder::load(w, cfg, max_len, spec, parts, |_| LayerAttn { rope: 0, window: None })
}

/// Refuses partial rotation where the architecture (as llama.cpp) has none.
pub fn require_full_rotation(cfg: &ModelConfig) -> Result<()> {
    if cfg.n_rot == cfg.head_dim {
        return Ok(());
    }
    Err(Error::UnsupportedModel(format!(
        "{}.rope.dimension_count = {} differs from the head size {}",
        cfg.architecture, cfg.n_rot, cfg.head_dim
    )))
}

fn load_block(w: &Weights, cfg: &ModelConfig, i: usize, spec: BlockSpec, attn: LayerAttn) -> Result<Block> {
    let n = |s: &str| format!("blk.{i}.{s}.weight");
    let (e, hd, ff) = (cfg.n_embd, cfg.head_dim, cfg.n_ff);
    let (qd, kvd) = (cfg.n_head * hd, cfg.n_kv_head * hd);
    let (wq, wk, wv, bias) = if w.has(&n("attn_qkv")) {
        let (name, total) = (n("attn_qkv"), qd + 2 * kvd);
        let fused_bias = format!("blk.{i}.attn_qkv.bias");
        let bias = if w.has(&fused_bias) {
            let b = w.vector_f32(&fused_bias, total)?;
            [Some(b[..qd].to_vec()), Some(b[qd..qd + kvd].to_vec()), Some(b[qd + kvd..].to_vec())]
        } else {
            separate_biases(w, i, qd, kvd)?
        };
        (
            w.linear_rows(&name, e, total, 0, qd)?,
            w.linear_rows(&name, e, total, qd, kvd)?,
            w.linear_rows(&name, e, total, qd + kvd, kvd)?,
            bias,
        )
    } else {
        (w.linear(&n("attn_q"), e, qd)?, w.linear(&n("attn_k"), e, kvd)?, w.linear(&n("attn_v"), e, kvd)?, separate_biases(w, i, qd, kvd)?)
    };
    // Phi-3 fuses gate and up into one `ffn_up` of 2·n_ff rows, gate first.
    let (gate, up) = if w.has(&n("ffn_gate")) {
        (w.linear(&n("ffn_gate"), e, ff)?, w.linear(&n("ffn_up"), e, ff)?)
    } else {
        (w.linear_rows(&n("ffn_up"), e, 2 * ff, 0, ff)?, w.linear_rows(&n("ffn_up"), e, 2 * ff, ff, ff)?)
    };
    let qk_norm = match spec.qk_norm {
        true => Some((w.vector_f32(&n("attn_q_norm"), hd)?, w.vector_f32(&n("attn_k_norm"), hd)?)),
        false => None,
    };
    let post = |name: &str| -> Result<Option<Vec<f32>>> {
        match spec.post_norms {
            true => Ok(Some(w.vector_f32(&n(name), e)?)),
            false => Ok(None),
        }
    };
    Ok(Block {
        attn_norm: w.vector_f32(&n("attn_norm"), e)?,
        wq,
        wk,
        wv,
        bias,
        qk_norm,
        wo: w.linear(&n("attn_output"), qd, e)?,
        post_attn_norm: post("post_attention_norm")?,
        ffn_norm: w.vector_f32(&n("ffn_norm"), e)?,
        gate,
        up,
        down: w.linear(&n("ffn_down"), ff, e)?,
        post_ffn_norm: post("post_ffw_norm")?,
        attn,
    })
}

fn separate_biases(w: &Weights, i: usize, qd: usize, kvd: usize) -> Result<[Option<Vec<f32>>; 3]> {
    let one = |s: &str, len: usize| -> Result<Option<Vec<f32>>> {
        let name = format!("blk.{i}.{s}.bias");
        if w.has(&name) {
            Ok(Some(w.vector_f32(&name, len)?))
        } else {
            Ok(None)
        }
    };
    Ok([one("attn_q", qd)?, one("attn_k", kvd)?, one("attn_v", kvd)?])
}

/// Adds `bias` to each of the `bias.len()`-wide rows of `x`.
fn add_rows(bias: &Option<Vec<f32>>, x: &mut [f32]) {
    if let Some(b) = bias {
        x.chunks_exact_mut(b.len()).for_each(|row| add_f32(b, row));
    }
}

impl Architecture for Decoder {
    fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    fn heap_weight_bytes(&self) -> u64 {
        heap_bytes(self.blocks.iter().flat_map(|b| b.linears()).chain([&self.output]))
    }

    fn shift_cache(&self, cache: &mut KvCache, start: usize, n: usize) -> Result<()> {
        // Every layer rotates its keys with its own table (Gemma's local
        // and global layers differ); the rotation needs only the distance.
        let ropes: Vec<&Rope> = self.blocks.iter().map(|b| &self.parts.ropes[b.attn.rope]).collect();
        cache.remove_range(start, n, &|il, key| ropes[il].shift_back(key, n))
    }

    fn forward_until(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool, stop: &dyn Fn() -> bool) -> Result<Logits> {
        let c = &self.cfg;
        let p = &self.parts;
        let m = tokens.len();
        if m == 0 {
            return Err(Error::InvalidArgument("forward needs at least one token".into()));
        }
        let (hd, nh, nkv) = (c.head_dim, c.n_head, c.n_kv_head);
        let eps = c.rms_eps as f32;
        let start = cache.len();
        // The RoPE tables end at the context the model was loaded for.
        let limit = cache.max_len().min(self.max_len);
        if start + m > limit {
            return Err(Error::ContextFull { context: limit });
        }
        let mut guard = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let Views { x, h, o, q, k, v, att, gate, up } = guard.views(m, c);
        self.embed.lookup_into(tokens, x)?;
        if let Some(s) = p.embed_scale {
            x.iter_mut().for_each(|v| *v *= s);
        }
        for (il, b) in self.blocks.iter().enumerate() {
            // Layers before this one wrote past `len`, which `advance` never
            // covered: the cache still holds exactly what it held before.
            if stop() {
                return Err(Error::Cancelled);
            }
            let rope = &p.ropes[b.attn.rope];
            let shape = AttnShape { n_head: nh, n_kv_head: nkv, head_dim: hd, scale: p.attn_scale, window: b.attn.window };
            rms_rows(x, &b.attn_norm, eps, h);
            Linear::matmul_many(h, m, &mut [(&b.wq, &mut *q), (&b.wk, &mut *k), (&b.wv, &mut *v)])?;
            add_rows(&b.bias[0], q);
            add_rows(&b.bias[1], k);
            add_rows(&b.bias[2], v);
            if let Some((qn, kn)) = &b.qk_norm {
                rms_rows_inplace(q, qn, eps);
                rms_rows_inplace(k, kn, eps);
            }
            for t in 0..m {
                rope.apply(&mut q[t * nh * hd..][..nh * hd], start + t);
                rope.apply(&mut k[t * nkv * hd..][..nkv * hd], start + t);
            }
            cache.write(il, k, v, m)?;
            attend(&self.pool, &shape, q, cache.layer(il), start, m, att);
            b.wo.matmul(att, m, o)?;
            if let Some(n) = &b.post_attn_norm {
                rms_rows_inplace(o, n, eps);
            }
            add_f32(o, x);
            rms_rows(x, &b.ffn_norm, eps, h);
            Linear::matmul_many(h, m, &mut [(&b.gate, &mut *gate), (&b.up, &mut *up)])?;
            match p.act {
                Act::Silu => silu_mul_inplace(gate, up),
                Act::GeluTanh => gelu_tanh_mul_inplace(gate, up),
            }
            b.down.matmul(up, m, o)?;
            if let Some(n) = &b.post_ffn_norm {
                rms_rows_inplace(o, n, eps);
            }
            add_f32(o, x);
        }
        cache.advance(m);
        logits(x, m, all_logits, &self.norm, eps, h, &self.output, p.softcap)
    }
}
