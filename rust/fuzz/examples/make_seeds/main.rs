//! Writes the crafted part of the seed corpus (rust/fuzz/corpus/<target>/),
//! checking on the way that every tiny model really loads and runs a token
//! and every tokenizer seed encodes, so the seeds start the fuzzer deep in
//! the code rather than at the first check.
//!
//!     CARGO_TARGET_DIR=target/fuzz cargo run \
//!         --manifest-path rust/fuzz/Cargo.toml --example make_seeds
//!
//! The SmolLM2 header seed is not made here (see README.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mote_core::gguf::{GgufFile, Value};
use mote_core::memory::snapshot::{self, SnapshotHeader};
use mote_core::{model, ChatMessage, Role};
use mote_fuzz::gguf_writer::{self as w, s, write_gguf};
use mote_fuzz::models::{Shape, TinyModel};
use mote_fuzz::vocab;

mod templates;

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    dir
}

fn save(target: &str, name: &str, bytes: &[u8]) {
    std::fs::write(corpus(target).join(name), bytes).expect("write a seed");
}

/// The model loads for a context of 16 and runs one token, as the target does.
fn runs(name: &str, bytes: &[u8]) {
    let g = GgufFile::from_bytes(bytes.to_vec()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let m = model::load(&g, 16, Arc::new(mote_kernels::ThreadPool::new(1))).unwrap_or_else(|e| panic!("{name}: {e}"));
    let logits = m.forward(&[1], &mut m.new_cache(16), false).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(logits.last().iter().all(|x| x.is_finite()), "{name}: non-finite logits");
}

fn models() -> Vec<(&'static str, TinyModel)> {
    let tiny = Shape::TINY;
    // Rows of 32 for the 32-element block types, of 256 for the K-quants.
    let q32 = Shape { n_embd: 32, n_ff: 32, head_dim: 16, ..tiny };
    let k256 = Shape { n_embd: 256, n_ff: 32, head_dim: 16, ..tiny };
    let two_layers = Shape { n_layer: 2, ..tiny };
    let f = |k: f32| Value::F32(k);
    vec![
        ("llama-f32", TinyModel::new("llama", tiny, w::F32)),
        (
            "llama-ropefreqs-linear",
            TinyModel::new("llama", tiny, w::F32)
                .tensor("rope_freqs.weight", &[2], w::F32)
                .with("rope.scaling.type", s("linear"))
                .with("rope.scaling.factor", f(4.0))
                .with("rope.freq_base", f(500000.0))
                .tensor("output.weight", &[8, 4], w::F32),
        ),
        (
            "qwen2-biases",
            TinyModel::new("qwen2", tiny, w::F32)
                .tensor("blk.0.attn_q.bias", &[8], w::F32)
                .tensor("blk.0.attn_k.bias", &[4], w::F32)
                .tensor("blk.0.attn_v.bias", &[4], w::F32),
        ),
        ("qwen3-qk-norm", TinyModel::new("qwen3", Shape { n_kv_head: 2, ..tiny }, w::F32)),
        (
            "phi3-fused-longrope",
            TinyModel::new("phi3", tiny, w::F32)
                .fused()
                .with("rope.scaling.type", s("longrope"))
                .with("rope.scaling.original_context_length", Value::U32(8))
                .with("rope.scaling.attn_factor", f(1.2))
                .with("rope.dimension_count", Value::U32(2))
                .tensor("rope_factors_long.weight", &[1], w::F32)
                .tensor("rope_factors_short.weight", &[1], w::F32),
        ),
        (
            "gemma3-sliding",
            TinyModel::new("gemma3", two_layers, w::F32)
                .with("attention.sliding_window", Value::U32(2))
                .with("attention.sliding_window_pattern", Value::array(vec![Value::Bool(true), Value::Bool(false)]))
                .with("rope.freq_base_swa", f(10000.0))
                .with("final_logit_softcapping", f(30.0)),
        ),
        ("llama-q8_0", TinyModel::new("llama", q32, w::Q8_0)),
        (
            "llama-32-block-types",
            TinyModel::new("llama", q32, w::Q4_0)
                .layer_type("attn_k", w::Q4_1)
                .layer_type("attn_v", w::Q5_0)
                .layer_type("attn_output", w::Q5_1)
                .layer_type("ffn_gate", w::IQ4NL)
                .layer_type("ffn_up", w::F16)
                .layer_type("ffn_down", w::BF16)
                .tensor("output.weight", &[32, 4], w::Q8_0),
        ),
        (
            "llama-k-quants",
            TinyModel::new("llama", k256, w::Q4K)
                .layer_type("attn_q", w::Q2K)
                .layer_type("attn_k", w::Q3K)
                .layer_type("attn_v", w::Q6K)
                .layer_type("ffn_up", w::Q5K)
                .layer_type("attn_output", w::IQ4NL)
                .layer_type("ffn_down", w::Q8_0)
                .tensor("token_embd.weight", &[256, 4], w::IQ4XS)
                .tensor("output.weight", &[256, 4], w::Q6K),
        ),
        ("llama-alignment-8", TinyModel::new("llama", tiny, w::F32).global("general.alignment", Value::U32(8))),
    ]
}

/// A whole engine's file: model, tokenizer and chat template in one, like a real download.
fn engines() -> Vec<(&'static str, TinyModel)> {
    let bpe = vocab::bpe("smollm", true);
    let spm = vocab::spm(true, false);
    let shape = |meta: &[(String, Value)]| Shape { vocab: vocab::vocab_size(meta), ..Shape::TINY };
    vec![
        ("engine-llama-bpe", TinyModel::new("llama", shape(&bpe), w::F32).with_meta(bpe.clone())),
        ("engine-gemma3-spm", TinyModel::new("gemma3", shape(&spm), w::F32).with_meta(spm.clone())),
    ]
}

fn gguf_seeds() {
    for (name, m) in models().into_iter().chain(engines()) {
        let bytes = m.bytes();
        runs(name, &bytes);
        save("gguf_model", name, &bytes);
    }
    // A vocabulary-only file (as llama.cpp's ggml-vocab-*.gguf): parses, has a tokenizer, no model.
    save("gguf_model", "vocab-only-bpe", &write_gguf(&vocab::bpe("qwen2", true), &[]));
    // Nested arrays, every scalar type: the metadata reader's paths.
    let every = vec![
        ("general.architecture".to_owned(), s("llama")),
        ("a.u8".into(), Value::U8(1)),
        ("a.i8".into(), Value::I8(-1)),
        ("a.u16".into(), Value::U16(2)),
        ("a.i16".into(), Value::I16(-2)),
        ("a.i32".into(), Value::I32(-3)),
        ("a.u64".into(), Value::U64(4)),
        ("a.i64".into(), Value::I64(-4)),
        ("a.f64".into(), Value::F64(0.5)),
        ("a.bool".into(), Value::Bool(true)),
        ("a.nested".into(), Value::array(vec![Value::array(vec![Value::U16(1), Value::U16(2)]), Value::array(vec![Value::U16(3)])])),
    ];
    save("gguf_model", "metadata-every-type", &write_gguf(&every, &[]));
}

fn tokenizer_seeds() {
    let texts: &[(&str, u8, &str)] = &[
        ("plain", 0, "Hello world, the quick brown fox 123 é"),
        ("chatml", 0, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"),
        ("spaces", 0, "  leading and  double  spaces\n\n\n\ttabs \r\n"),
        ("spm-specials", 0, "<s>▁x</s><start_of_turn>model\n<end_of_turn><unk>"),
        ("user-defined", 0, "<tool_call>{\"a\": 1}</tool_call><table>\n\n\n"),
        ("unicode", 0, "日本語テキスト🙂 ἀρχή ñ 0x41 <0x41>"),
        ("dense-specials", 1, "\u{1}a\u{2}\u{3}b\u{1}\u{1} \u{4}\u{5}\u{6}\u{7}\u{8}"),
    ];
    for variant in 0..mote_fuzz::tokenizers().len() as u8 {
        for (name, flags, text) in texts {
            let mut bytes = vec![variant, *flags, 128];
            bytes.extend_from_slice(text.as_bytes());
            save("tokenizer", &format!("{}-{name}", mote_fuzz::tokenizers()[variant as usize].name), &bytes);
        }
    }
}

fn snapshot_seeds() {
    let dir = std::env::temp_dir().join(format!("mote-make-seeds-{}", std::process::id()));
    let p = dir.join("s.motesnap");
    let kv: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
    let header = |kv: &[f32], window_start| SnapshotHeader {
        model_hash: "0f".repeat(32),
        system_prompt: Some("Be brief.".into()),
        history: vec![ChatMessage::new(Role::User, "hi <|im_end|>"), ChatMessage::new(Role::Assistant, "Hello! \u{1F642}")],
        window_start,
        tokens: vec![1, 2, 3, 4, 5, 6],
        kv_floats: kv.len(),
        kv_hash: snapshot::kv_hash(kv),
    };
    for (name, h, data) in [("valid", header(&kv, 0), &kv[..]), ("windowed", header(&kv, 1), &kv[..]), ("no-kv", header(&[], 0), &[][..])] {
        snapshot::write(&p, &h, data).expect("write a snapshot");
        let bytes = std::fs::read(&p).expect("read it back");
        save("snapshot", name, &bytes);
        if name == "valid" {
            save("snapshot", "truncated", &bytes[..bytes.len() - 3]);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn generation_config_seeds() {
    // Field by field in the order `sampling_input::case` draws them; checked below.
    let bytes = |temperature: &[u8], repetition_penalty: &[u8]| {
        [
            &[0u8, 1, 0, 0][..],           // max_tokens
            temperature,                   // an edge index, or 16+ and raw bits
            &[40, 0, 0, 0],                // top_k
            &[2],                          // top_p: edge 2 (1.0)
            &[0],                          // min_p: edge 0 (0.0)
            repetition_penalty,
            &[1, 42, 0, 0, 0, 0, 0, 0, 0], // seed: Some
            &[0],                          // no stop strings
            &[7],                          // how many logits
            &[2, 0, 3, 16, 0, 0, 0x80, 0x40, 5, 6, 4, 2, 0, 3],
            &[2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], // recent tokens
        ]
        .concat()
    };
    let seeds = [
        ("valid", bytes(&[3], &[16, 0xcd, 0xcc, 0x8c, 0x3f]), 0.5), // 0.5; raw bits of 1.1
        ("greedy", bytes(&[0], &[2]), 0.0),                         // 0; 1.0
    ];
    for (name, bytes, temperature) in seeds {
        let c = mote_fuzz::sampling_input::case(&bytes).expect("decodes");
        assert!(c.cfg.validate().is_ok() && c.cfg.temperature == temperature && c.logits.len() > 1, "{name}: {:?}", c.cfg);
        save("generation_config", name, &bytes);
    }
    save("generation_config", "edges", &(0u8..=255).collect::<Vec<_>>());
}

fn main() {
    gguf_seeds();
    tokenizer_seeds();
    templates::chat_template_seeds(&save);
    snapshot_seeds();
    generation_config_seeds();
    println!("seeds written under {}", Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").display());
}
