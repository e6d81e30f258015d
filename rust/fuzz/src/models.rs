//! Tiny consistent models, the seeds of the `gguf_model` target: each loads
//! and runs a token, so the fuzzer starts from files that reach the model
//! builders and the forward pass (every architecture, every weight type the
//! kernels and candle serve), not only the header parser. Generalises
//! `rust/core/tests/bad_models.rs`'s `Tiny` to any width, depth and type.

use mote_core::gguf::Value;

use crate::gguf_writer::{write_gguf, TensorSpec, F32};

/// Sizes of a tiny model.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub n_embd: usize,
    pub n_ff: usize,
    pub vocab: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_layer: usize,
}

impl Shape {
    /// `bad_models.rs`'s sizes: n_embd 8, 2 heads of 4 sharing one KV head.
    pub const TINY: Shape = Shape { n_embd: 8, n_ff: 16, vocab: 4, n_head: 2, n_kv_head: 1, head_dim: 4, n_layer: 1 };
}

#[derive(Clone, Debug)]
pub struct TinyModel {
    pub arch: String,
    pub shape: Shape,
    pub meta: Vec<(String, Value)>,
    pub tensors: Vec<TensorSpec>,
}

impl TinyModel {
    /// A model of `arch` whose weight matrices (and token embedding) are of
    /// ggml type `matrix_type`; norms stay f32 as in real files.
    pub fn new(arch: &str, shape: Shape, matrix_type: u32) -> Self {
        let Shape { n_embd: e, n_ff: ff, vocab, n_head, n_kv_head, head_dim: hd, n_layer } = shape;
        let u = |v: usize| Value::U32(v as u32);
        let meta = [
            ("context_length", u(64)),
            ("embedding_length", u(e)),
            ("block_count", u(n_layer)),
            ("feed_forward_length", u(ff)),
            ("attention.head_count", u(n_head)),
            ("attention.head_count_kv", u(n_kv_head)),
            ("attention.key_length", u(hd)),
            ("attention.value_length", u(hd)),
        ]
        .into_iter()
        .map(|(k, v)| (format!("{arch}.{k}"), v))
        .collect();
        let (qd, kvd) = (n_head * hd, n_kv_head * hd);
        let mut tensors = vec![
            TensorSpec::new("token_embd.weight", &[e, vocab], matrix_type),
            TensorSpec::new("output_norm.weight", &[e], F32),
        ];
        for i in 0..n_layer {
            let t = |name: &str, dims: &[usize], ty| TensorSpec::new(format!("blk.{i}.{name}.weight"), dims, ty);
            tensors.extend([
                t("attn_norm", &[e], F32),
                t("attn_q", &[e, qd], matrix_type),
                t("attn_k", &[e, kvd], matrix_type),
                t("attn_v", &[e, kvd], matrix_type),
                t("attn_output", &[qd, e], matrix_type),
                t("ffn_norm", &[e], F32),
                t("ffn_gate", &[e, ff], matrix_type),
                t("ffn_up", &[e, ff], matrix_type),
                t("ffn_down", &[ff, e], matrix_type),
            ]);
            if arch == "qwen3" || arch == "gemma3" {
                tensors.push(t("attn_q_norm", &[hd], F32));
                tensors.push(t("attn_k_norm", &[hd], F32));
            }
            if arch == "gemma3" {
                tensors.push(t("post_attention_norm", &[e], F32));
                tensors.push(t("post_ffw_norm", &[e], F32));
            }
        }
        Self { arch: arch.to_owned(), shape, meta, tensors }.global("general.architecture", Value::String(arch.to_owned()))
    }

    /// Sets `<arch>.<key>`.
    pub fn with(self, key: &str, v: Value) -> Self {
        let key = format!("{}.{key}", self.arch);
        self.global(&key, v)
    }

    /// Sets a key outside the architecture's namespace (`general.*`, `tokenizer.*`).
    pub fn global(mut self, key: &str, v: Value) -> Self {
        self.meta.retain(|(k, _)| k != key);
        self.meta.push((key.to_owned(), v));
        self
    }

    /// Adds or replaces a tensor.
    pub fn tensor(mut self, name: &str, dims: &[usize], type_id: u32) -> Self {
        self.tensors.retain(|t| t.name != name);
        self.tensors.push(TensorSpec::new(name, dims, type_id));
        self
    }

    /// Gives a tensor of every layer (`blk.N.<name>.weight`) another type.
    pub fn layer_type(mut self, name: &str, type_id: u32) -> Self {
        for t in &mut self.tensors {
            if t.name.starts_with("blk.") && t.name.ends_with(&format!(".{name}.weight")) {
                t.type_id = type_id;
            }
        }
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.tensors.retain(|t| t.name != name);
        self
    }

    /// Phi-3's layout: Q, K and V in one `attn_qkv`, gate and up in one `ffn_up`.
    pub fn fused(mut self) -> Self {
        let Shape { n_embd: e, n_ff: ff, n_head, n_kv_head, head_dim, n_layer, .. } = self.shape;
        let total = (n_head + 2 * n_kv_head) * head_dim;
        for i in 0..n_layer {
            let ty = self.tensors.iter().find(|t| t.name == format!("blk.{i}.attn_q.weight")).map_or(F32, |t| t.type_id);
            for part in ["attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up"] {
                self = self.without(&format!("blk.{i}.{part}.weight"));
            }
            self = self.tensor(&format!("blk.{i}.attn_qkv.weight"), &[e, total], ty);
            self = self.tensor(&format!("blk.{i}.ffn_up.weight"), &[e, 2 * ff], ty);
        }
        self
    }

    /// Adds tokenizer (and chat template) metadata.
    pub fn with_meta(mut self, meta: Vec<(String, Value)>) -> Self {
        for (k, v) in meta {
            self = self.global(&k, v);
        }
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        write_gguf(&self.meta, &self.tensors)
    }
}
