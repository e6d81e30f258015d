//! Every bad input gets a typed error, never a panic: files these tests make
//! (garbage, truncations, hostile headers, random corruption) and a prompt
//! longer than the context.

mod common;

use std::io::Write;

use mote_core::gguf::{GgufFile, Value};
use mote_core::{CancelToken, Engine, Error, GenerationConfig, LoadOptions};

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn load_err(bytes: &[u8]) -> Error {
    let f = write_temp(bytes);
    match Engine::load(f.path(), LoadOptions::default()) {
        Ok(_) => panic!("loaded a bad file"),
        Err(e) => e,
    }
}

fn arch_meta(arch: &str) -> Vec<(&'static str, Value)> {
    vec![("general.architecture", Value::String(arch.into()))]
}

#[test]
fn a_missing_file_is_unreadable() {
    let e = Engine::load(std::path::Path::new("/nonexistent/model.gguf"), LoadOptions::default()).err().unwrap();
    assert!(matches!(e, Error::ModelUnreadable { .. }), "{e:?}");
}

#[test]
fn a_non_gguf_file_is_invalid() {
    let e = load_err(b"<html>this is not a model</html>\n");
    assert!(matches!(&e, Error::InvalidModel(m) if m.contains("not a GGUF")), "{e:?}");
    assert!(matches!(load_err(b""), Error::InvalidModel(_)));
}

#[test]
fn truncated_real_models_are_invalid() {
    let bytes = std::fs::read(common::model_path("smollm2")).unwrap();
    // Inside the header, inside the vocabulary, and inside the tensor data.
    for cut in [6, 24, 4096, 1 << 20, bytes.len() - 1] {
        let e = load_err(&bytes[..cut]);
        assert!(matches!(e, Error::InvalidModel(_)), "cut at {cut}: {e:?}");
    }
}

#[test]
fn unsupported_architecture_is_typed() {
    let meta = arch_meta("mamba");
    let data = vec![0u8; 4 * 32];
    let e = load_err(&common::write_gguf(&meta, &[("token_embd.weight", &[32], 0, &data)]));
    assert!(matches!(&e, Error::UnsupportedModel(m) if m.contains("mamba")) || matches!(&e, Error::InvalidModel(_)), "{e:?}");
    // With complete hyper-parameters the architecture itself is what's refused.
    let mut meta = arch_meta("mamba");
    for (k, v) in [("mamba.block_count", 1u32), ("mamba.embedding_length", 32), ("mamba.attention.head_count", 1),
        ("mamba.feed_forward_length", 32), ("mamba.context_length", 64)] {
        meta.push((k, Value::U32(v)));
    }
    let f = write_temp(&common::write_gguf(&meta, &[("token_embd.weight", &[32, 1], 0, &data)]));
    let g = GgufFile::open(f.path()).unwrap();
    let e = mote_core::model::load(&g, 64, std::sync::Arc::new(mote_kernels::ThreadPool::new(0))).err().unwrap();
    assert!(matches!(&e, Error::UnsupportedModel(m) if m.contains("mamba")), "{e:?}");
}

#[test]
fn unsupported_quant_type_is_typed() {
    // Type 16 is IQ2_XXS (256 values in 66 bytes), which this build does not run.
    let data = vec![0u8; 66];
    let e = load_err(&common::write_gguf(&arch_meta("llama"), &[("w", &[256], 16, &data)]));
    assert!(matches!(&e, Error::UnsupportedModel(m) if m.contains("type")), "{e:?}");
}

#[test]
fn a_tensor_past_the_end_is_invalid() {
    let data = vec![0u8; 4 * 64];
    let mut bytes = common::write_gguf(&arch_meta("llama"), &[("w", &[64], 0, &data)]);
    bytes.truncate(bytes.len() - 8);
    let e = load_err(&bytes);
    assert!(matches!(&e, Error::InvalidModel(m) if m.contains("past the end")), "{e:?}");
}

#[test]
fn absurd_dimensions_are_invalid() {
    let data = vec![0u8; 64];
    for dims in [&[1usize << 40, 1 << 40][..], &[usize::MAX / 2, 3], &[0, 4], &[1, 1, 1, 1, 1]] {
        let e = load_err(&common::write_gguf(&arch_meta("llama"), &[("w", dims, 0, &data)]));
        assert!(matches!(e, Error::InvalidModel(_)), "{dims:?}: {e:?}");
    }
    // A row that isn't a whole number of quant blocks.
    let e = load_err(&common::write_gguf(&arch_meta("llama"), &[("w", &[33], 8, &data)]));
    assert!(matches!(&e, Error::InvalidModel(m) if m.contains("block")), "{e:?}");
}

#[test]
fn hostile_counts_do_not_allocate() {
    // Claims 2^60 tensors, then a 2^62-byte key: both must fail before any allocation.
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    assert!(matches!(GgufFile::from_bytes(b), Err(Error::InvalidModel(_))));
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    b.extend_from_slice(&(1u64 << 62).to_le_bytes());
    assert!(matches!(GgufFile::from_bytes(b), Err(Error::InvalidModel(_))));
}

#[test]
fn random_corruption_never_panics() {
    let meta = vec![
        ("general.architecture", Value::String("llama".into())),
        ("tokenizer.ggml.tokens", Value::array(vec![Value::String("a".into()), Value::String("b".into())])),
        ("llama.context_length", Value::U32(64)),
    ];
    let data = vec![1u8; 34 * 2];
    let good = common::write_gguf(&meta, &[("token_embd.weight", &[32, 2], 8, &data)]);
    assert!(GgufFile::from_bytes(good.clone()).is_ok());
    // A fixed-seed xorshift keeps the test reproducible.
    let mut s = 0x9E3779B97F4A7C15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut rejected = 0;
    for _ in 0..5000 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % b.len() as u64) as usize;
            b[i] = next() as u8;
        }
        if GgufFile::from_bytes(b).is_err() {
            rejected += 1;
        }
    }
    assert!(rejected > 0);
}

#[test]
fn a_prompt_longer_than_the_context_is_refused_and_the_session_survives() {
    let engine = Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 64, ..Default::default() }).unwrap();
    let session = engine.new_session();
    let long = "tell me about the sea ".repeat(40);
    let cfg = GenerationConfig { max_tokens: 4, ..GenerationConfig::greedy() };
    let e = session.send(&long, &cfg, &CancelToken::new(), &mut |_| {}).err().unwrap();
    assert!(matches!(e, Error::PromptTooLong { context: 64, tokens } if tokens > 64), "{e:?}");
    assert!(session.history().is_empty(), "a refused turn must not enter the history");
    let reply = session.send("Hi", &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    assert!(reply.stats.generated_tokens > 0);
    // Raw completion refuses the same way.
    let tokens = engine.prompt_tokens(&long, true).unwrap();
    let e = engine.complete(&tokens, &cfg, &CancelToken::new(), &mut |_| {}).err().unwrap();
    assert!(matches!(e, Error::PromptTooLong { .. }), "{e:?}");
}

#[test]
fn a_context_length_beyond_the_model_is_refused() {
    let e = Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 1 << 20, ..Default::default() }).err().unwrap();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

/// `general.alignment` may legally be 1, but tensor data that lands unaligned
/// for its type is refused by name instead of reaching a misaligned read.
#[test]
fn tensor_data_misaligned_for_its_type_is_invalid() {
    // An f16 tensor of one value (2 bytes), then an f32 one, packed with alignment 1.
    let build = |name: &str, alignment: u32| {
        let mut meta = arch_meta("llama");
        meta.push(("general.alignment", Value::U32(alignment)));
        meta.push(("general.name", Value::String(name.into())));
        common::write_gguf(&meta, &[("half", &[1], 1, &[0, 0]), ("float", &[4], 0, &[0; 16])])
    };
    // Pad the name so that the data starts 4-aligned: the f32 tensor then sits at 2 mod 4.
    let pad = (4 - (build("", 1).len() - 18) % 4) % 4;
    let bytes = build(&"x".repeat(pad), 1);
    assert_eq!((bytes.len() - 18) % 4, 0);
    let file = write_temp(&bytes);
    match GgufFile::open(file.path()) {
        Err(Error::InvalidModel(m)) => assert!(m.contains("float") && m.contains("aligned"), "{m}"),
        other => panic!("expected InvalidModel, got {:?}", other.map(|_| ())),
    }
    // The same tensors with the default alignment parse.
    let mut meta = arch_meta("llama");
    meta.push(("general.alignment", Value::U32(32)));
    let file = write_temp(&common::write_gguf(&meta, &[("half", &[1], 1, &[0, 0]), ("float", &[4], 0, &[0; 16])]));
    assert!(GgufFile::open(file.path()).is_ok());
}

/// A metadata array costs about its size in the file, whatever its item type:
/// a 48 MB file whose arrays claim tens of millions of items parses (or fails)
/// inside a 640 MiB address space. As `Vec<Value>` (32 bytes an item) the u8
/// array alone took 1.5 GB.
#[test]
fn hostile_metadata_arrays_stay_within_the_memory_bound() {
    if !common::under_address_space_limit("hostile_metadata_arrays_stay_within_the_memory_bound", 640 << 20) {
        return;
    }
    const N: usize = 48 << 20;
    let cases: Vec<(&str, u32, usize)> = vec![("u8", 0, 1), ("u16", 2, 2), ("u32", 4, 4), ("bool", 7, 1), ("string", 8, 8)];
    for (what, ty, item) in cases {
        // One key holding an array of N / item items of `ty`, all zero bytes
        // (zero-length strings, false, 0).
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        let key = "tokenizer.ggml.scores";
        b.extend_from_slice(&(key.len() as u64).to_le_bytes());
        b.extend_from_slice(key.as_bytes());
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&((N / item) as u64).to_le_bytes());
        b.resize(b.len() + N, 0);
        let file = write_temp(&b);
        drop(b);
        let g = GgufFile::open(file.path()).unwrap_or_else(|e| panic!("{what}: {e}"));
        let a = g.get(key).and_then(Value::as_array).expect("an array");
        assert_eq!(a.len(), N / item, "{what}");
        println!("{what}: {} items parsed", a.len());
    }
}
