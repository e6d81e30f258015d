//! Files whose math Mote would get wrong are refused with a typed error that
//! names the key or tensor, never run silently wrong, and never a panic:
//! unsupported RoPE scaling, unknown `<arch>.*` keys, tensors an architecture
//! would ignore, heads of size 1, and tensors whose shape disagrees with the
//! declared head size. Each starts from a tiny consistent model that loads.

mod common;

use std::sync::Arc;

use mote_core::gguf::{GgufFile, Value};
use mote_core::{model, Error};

const E: usize = 8;
const FF: usize = 16;
const VOCAB: usize = 4;

struct Tiny {
    arch: &'static str,
    meta: Vec<(&'static str, Value)>,
    tensors: Vec<(String, Vec<usize>)>,
}

impl Tiny {
    /// A one-layer model of `arch` with 2 heads of `head_dim` (n_embd 8).
    fn new(arch: &'static str, head_dim: usize) -> Self {
        let key = |k: &str| -> &'static str { Box::leak(format!("{arch}.{k}").into_boxed_str()) };
        let meta = vec![
            ("general.architecture", Value::String(arch.into())),
            (key("context_length"), Value::U32(64)),
            (key("embedding_length"), Value::U32(E as u32)),
            (key("block_count"), Value::U32(1)),
            (key("feed_forward_length"), Value::U32(FF as u32)),
            (key("attention.head_count"), Value::U32(2)),
            (key("attention.head_count_kv"), Value::U32(1)),
            (key("attention.key_length"), Value::U32(head_dim as u32)),
            (key("attention.value_length"), Value::U32(head_dim as u32)),
        ];
        let (qd, kvd) = (2 * head_dim, head_dim);
        let mut tensors = vec![
            ("token_embd.weight".to_string(), vec![E, VOCAB]),
            ("output_norm.weight".into(), vec![E]),
            ("blk.0.attn_norm.weight".into(), vec![E]),
            ("blk.0.attn_q.weight".into(), vec![E, qd]),
            ("blk.0.attn_k.weight".into(), vec![E, kvd]),
            ("blk.0.attn_v.weight".into(), vec![E, kvd]),
            ("blk.0.attn_output.weight".into(), vec![qd, E]),
            ("blk.0.ffn_norm.weight".into(), vec![E]),
            ("blk.0.ffn_gate.weight".into(), vec![E, FF]),
            ("blk.0.ffn_up.weight".into(), vec![E, FF]),
            ("blk.0.ffn_down.weight".into(), vec![FF, E]),
        ];
        if arch == "qwen3" || arch == "gemma3" {
            tensors.push(("blk.0.attn_q_norm.weight".into(), vec![head_dim]));
            tensors.push(("blk.0.attn_k_norm.weight".into(), vec![head_dim]));
        }
        if arch == "gemma3" {
            tensors.push(("blk.0.post_attention_norm.weight".into(), vec![E]));
            tensors.push(("blk.0.post_ffw_norm.weight".into(), vec![E]));
        }
        Self { arch, meta, tensors }
    }

    fn with(mut self, key: &str, v: Value) -> Self {
        let key: &'static str = Box::leak(format!("{}.{key}", self.arch).into_boxed_str());
        self.meta.retain(|(k, _)| *k != key);
        self.meta.push((key, v));
        self
    }

    fn tensor(mut self, name: &str, dims: &[usize]) -> Self {
        self.tensors.retain(|(n, _)| n != name);
        self.tensors.push((name.into(), dims.to_vec()));
        self
    }

    fn load(&self) -> Result<(), Error> {
        // Small non-zero weights, so a model that loads also runs a token.
        let data: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|(_, d)| (0..d.iter().product::<usize>()).flat_map(|i| (0.01 * (i % 7) as f32 + 0.5).to_le_bytes()).collect())
            .collect();
        let t: Vec<(&str, &[usize], u32, &[u8])> =
            self.tensors.iter().zip(&data).map(|((n, d), b)| (n.as_str(), d.as_slice(), 0u32, b.as_slice())).collect();
        let g = GgufFile::from_bytes(common::write_gguf(&self.meta, &t))?;
        let m = model::load(&g, 32, Arc::new(mote_kernels::ThreadPool::new(1)))?;
        let logits = m.forward(&[1, 2, 3], &mut m.new_cache(32), false)?;
        assert_eq!((logits.rows(), logits.vocab()), (1, VOCAB));
        Ok(())
    }
}

fn unsupported(r: Result<(), Error>, needle: &str) {
    match r {
        Err(Error::UnsupportedModel(m)) => assert!(m.contains(needle), "message {m:?} does not name {needle:?}"),
        other => panic!("expected UnsupportedModel naming {needle:?}, got {other:?}"),
    }
}

fn invalid(r: Result<(), Error>, needle: &str) {
    match r {
        Err(Error::InvalidModel(m)) => assert!(m.contains(needle), "message {m:?} does not name {needle:?}"),
        other => panic!("expected InvalidModel naming {needle:?}, got {other:?}"),
    }
}

#[test]
fn the_tiny_models_load_and_run() {
    for arch in ["llama", "qwen2", "qwen3", "phi3"] {
        Tiny::new(arch, 4).load().unwrap_or_else(|e| panic!("{arch}: {e}"));
    }
}

#[test]
fn yarn_and_unknown_rope_scaling_are_refused_by_name() {
    for kind in ["yarn", "dynamic", "su-magic"] {
        unsupported(Tiny::new("qwen2", 4).with("rope.scaling.type", Value::String(kind.into())).load(), "rope.scaling.type");
    }
    // LongRoPE is Phi's; a Qwen 2 file claiming it is refused, not half-applied.
    unsupported(Tiny::new("qwen2", 4).with("rope.scaling.type", Value::String("longrope".into())).load(), "rope.scaling.type");
    Tiny::new("llama", 4).with("rope.scaling.type", Value::String("linear".into())).with("rope.scaling.factor", Value::F32(4.0)).load().unwrap();
}

#[test]
fn unknown_architecture_keys_are_refused_by_name() {
    unsupported(Tiny::new("llama", 4).with("attention.scale", Value::F32(0.5)).load(), "llama.attention.scale");
    unsupported(Tiny::new("qwen3", 4).with("expert_count", Value::U32(8)).load(), "qwen3.expert_count");
    unsupported(Tiny::new("qwen2", 4).with("attention.sliding_window", Value::U32(16)).load(), "qwen2.attention.sliding_window");
}

#[test]
fn tensors_an_architecture_would_ignore_are_refused_by_name() {
    unsupported(Tiny::new("llama", 4).tensor("blk.0.attn_output.bias", &[E]).load(), "blk.0.attn_output.bias");
    unsupported(Tiny::new("qwen2", 4).tensor("blk.0.attn_q_norm.weight", &[4]).load(), "attn_q_norm");
    // Q/K/V biases are honoured wherever they appear, as llama.cpp does.
    Tiny::new("llama", 4).tensor("blk.0.attn_q.bias", &[8]).tensor("blk.0.attn_k.bias", &[4]).load().unwrap();
}

#[test]
fn a_head_of_size_one_is_a_typed_error() {
    for arch in ["llama", "qwen2", "qwen3", "phi3", "gemma3"] {
        let r = Tiny::new(arch, 1).load();
        assert!(matches!(r, Err(Error::InvalidModel(_))), "{arch}: {r:?}");
    }
    // An odd or too-wide rotation is refused the same way.
    invalid(Tiny::new("phi3", 4).with("rope.dimension_count", Value::U32(3)).load(), "rope.dimension_count");
    invalid(Tiny::new("phi3", 4).with("rope.dimension_count", Value::U32(6)).load(), "rope.dimension_count");
    unsupported(Tiny::new("llama", 4).with("rope.dimension_count", Value::U32(2)).load(), "rope.dimension_count");
}

#[test]
fn a_tensor_shaped_for_another_head_size_is_refused() {
    // Heads of 4 declared, attn_q shaped for heads of 8.
    invalid(Tiny::new("qwen3", 4).tensor("blk.0.attn_q.weight", &[E, 16]).load(), "blk.0.attn_q.weight");
    invalid(Tiny::new("qwen3", 4).tensor("blk.0.attn_k_norm.weight", &[8]).load(), "attn_k_norm");
    invalid(Tiny::new("llama", 4).with("attention.value_length", Value::U32(4)).tensor("blk.0.attn_v.weight", &[E, 8]).load(), "attn_v");
}

#[test]
fn bad_rope_factor_tables_are_refused() {
    let zero = Tiny::new("llama", 4).tensor("rope_freqs.weight", &[2]);
    zero.load().unwrap(); // well-formed factors load
    invalid(Tiny::new("llama", 4).tensor("rope_freqs.weight", &[3]).load(), "rope_freqs.weight");
}

#[test]
fn a_gemma3_sliding_window_of_zero_is_refused() {
    invalid(Tiny::new("gemma3", 4).with("attention.sliding_window", Value::U32(0)).load(), "sliding_window is 0");
    Tiny::new("gemma3", 4).with("attention.sliding_window", Value::U32(2)).load().unwrap();
}
