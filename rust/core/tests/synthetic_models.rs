//! Every architecture against llama.cpp on tiny random-weight models
//! (rust/testdata/vectors/synthetic, rebuilt bit-exactly by
//! scripts/make-synthetic.sh):
//! - F32 files: teacher-forced top-10 logits and logsumexp within 0.02 of
//!   llama.cpp's F32-KV, no-flash-attention values at every prompt position
//!   and every greedy step;
//! - Q8_0 files: perplexity within 0.5 % of llama.cpp's;
//! - both: the greedy margin rule (follow llama.cpp's ids until its own top-1
//!   margin first drops below 0.5).

mod common;

use std::sync::Arc;

use mote_core::gguf::GgufFile;
use mote_core::model::{self, Architecture};
use serde_json::Value;

const LOGIT_TOL: f64 = 0.02;
const PPL_TOL: f64 = 0.005;
const MARGIN: f64 = 0.5;
const CTX: usize = 512;

fn load(name: &str, variant: &str) -> Box<dyn Architecture> {
    let gguf = GgufFile::open(&common::synthetic_path(name, variant)).unwrap();
    from_file(&gguf)
}

fn from_file(gguf: &GgufFile) -> Box<dyn Architecture> {
    model::load(gguf, CTX, Arc::new(mote_kernels::ThreadPool::new(1))).unwrap()
}

fn logsumexp(v: &[f32]) -> f64 {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    max + v.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln()
}

/// Largest deviation of our top-10 logits and logsumexp from one reference step.
fn deviation(ours: &[f32], want: &Value) -> f64 {
    let mut worst = (logsumexp(ours) - want["logsumexp"].as_f64().unwrap()).abs();
    for pair in want["topk"].as_array().unwrap() {
        let (id, logit) = (pair[0].as_u64().unwrap() as usize, pair[1].as_f64().unwrap());
        worst = worst.max((ours[id] as f64 - logit).abs());
    }
    worst
}

/// Teacher-forced logits at every prompt position and greedy step, against
/// the F32-KV reference; returns the largest deviation seen.
fn teacher_forced(name: &str) -> f64 {
    teacher_forced_on(name, load(name, "f32").as_ref())
}

fn teacher_forced_on(name: &str, m: &dyn Architecture) -> f64 {
    let vectors = common::synthetic_vectors(name, "f32");
    let mut worst = 0f64;
    for p in vectors["prompts"].as_array().unwrap() {
        let alt = &p["alt_f32_kv_no_flash_attn"];
        let prompt = common::ids(&p["prompt_token_ids"]);
        let greedy = common::ids(&alt["greedy_token_ids"]);
        let tokens: Vec<u32> = prompt.iter().chain(&greedy[..greedy.len() - 1]).copied().collect();
        let logits = m.forward(&tokens, &mut m.new_cache(CTX), true).unwrap();
        for (i, want) in alt["prompt_positions"].as_array().unwrap().iter().enumerate() {
            worst = worst.max(deviation(&common::logits_row(&logits, i), want));
        }
        for (k, want) in alt["greedy_steps"].as_array().unwrap().iter().enumerate() {
            worst = worst.max(deviation(&common::logits_row(&logits, prompt.len() - 1 + k), want));
        }
    }
    println!("{name} f32: max teacher-forced deviation {worst:.5} (top-10 logits and logsumexp)");
    worst
}

/// Free-running greedy decoding under the margin rule; returns (met, cases).
fn greedy_rule(name: &str, variant: &str) -> (usize, usize) {
    let m = load(name, variant);
    let vectors = common::synthetic_vectors(name, variant);
    let prompts = vectors["prompts"].as_array().unwrap();
    let met = prompts.iter().filter(|p| {
        let (agree, must) = common::greedy_agreement_json(m.as_ref(), p, CTX, MARGIN);
        agree >= must
    });
    let met = met.count();
    println!("{name} {variant}: greedy margin rule met in {met}/{}", prompts.len());
    (met, prompts.len())
}

/// Perplexity on GPL-3 at ctx 128 as llama-perplexity computes it; returns
/// (ours, llama.cpp F32-KV, llama.cpp default).
fn perplexity(name: &str, variant: &str) -> (f64, f64, f64) {
    let vectors = common::synthetic_vectors(name, variant);
    let p = common::gpl3_perplexity_ctx128(&common::synthetic_path(name, variant));
    let alt = vectors["perplexity_alt_f32_kv_no_flash_attn"]["ppl"].as_f64().unwrap();
    let default = vectors["perplexity"]["ppl"].as_f64().unwrap();
    println!(
        "{name} {variant}: ppl {:.1} over {} tokens; llama.cpp {alt:.1} (F32 KV, {:+.3} %), {default:.1} (default, {:+.3} %)",
        p.ppl,
        p.tokens,
        (p.ppl / alt - 1.0) * 100.0,
        (p.ppl / default - 1.0) * 100.0
    );
    (p.ppl, alt, default)
}

fn check(name: &str) {
    let dev = teacher_forced(name);
    assert!(dev <= LOGIT_TOL, "{name}: teacher-forced logits deviate by {dev} (> {LOGIT_TOL})");
    for variant in ["f32", "q8_0"] {
        let (met, n) = greedy_rule(name, variant);
        assert_eq!(met, n, "{name} {variant}: greedy margin rule met in {met}/{n}");
    }
    let (ppl, alt, _) = perplexity(name, "q8_0");
    assert!((ppl / alt - 1.0).abs() < PPL_TOL, "{name} q8_0: perplexity {ppl} not within 0.5 % of {alt}");
}

#[test]
fn llama() {
    check("llama");
}

#[test]
fn qwen2() {
    check("qwen2");
}

#[test]
fn qwen3() {
    check("qwen3");
}

#[test]
fn phi3() {
    check("phi3");
}

#[test]
fn llama_with_rope_freqs() {
    check("llama-ropefreqs");
}

#[test]
fn phi3_with_partial_rotary_and_longrope() {
    check("phi3-partial");
}

#[test]
fn qwen3_with_64_wide_heads() {
    check("qwen3-hd64");
}

#[test]
fn gemma3_with_linear_scaling_and_sliding_window() {
    check("gemma3-scaled");
}

/// A synthetic file with one detail undone, the way an implementation that
/// ignored it would compute: tensors set to 1, or a float key set to 1.
enum Undo {
    Tensor(&'static str),
    Key(&'static str),
}

fn undone(name: &str, undo: &Undo) -> Box<dyn Architecture> {
    let mut bytes = std::fs::read(common::synthetic_path(name, "f32")).unwrap();
    let one = 1f32.to_le_bytes();
    match undo {
        Undo::Tensor(t) => {
            let g = GgufFile::from_bytes(bytes.clone()).unwrap();
            let t = g.tensor(t).unwrap();
            let (at, n) = (t.offset, t.size / 4);
            drop(g);
            (0..n).for_each(|i| bytes[at + 4 * i..][..4].copy_from_slice(&one));
        }
        Undo::Key(k) => {
            // A GGUF key is its bytes, then the value type (6: f32), then the value.
            let at = bytes.windows(k.len()).position(|w| w == k.as_bytes()).unwrap() + k.len();
            assert_eq!(&bytes[at..at + 4], &6u32.to_le_bytes(), "{k} is an f32");
            bytes[at + 4..at + 8].copy_from_slice(&one);
        }
    }
    from_file(&GgufFile::from_bytes(bytes).unwrap())
}

/// The logit check is sharp enough to see each RoPE detail: the same file
/// with the detail undone (what Mote used to do by ignoring `rope_freqs` or
/// `rope.scaling.*`) fails it by a wide margin.
#[test]
fn ignoring_rope_freqs_would_fail_the_check() {
    assert_visible(&[("llama-ropefreqs", Undo::Tensor("rope_freqs.weight"))]);
}

#[test]
fn each_rope_detail_is_visible_to_the_check() {
    assert_visible(&[
        ("phi3-partial", Undo::Tensor("rope_factors_long.weight")),
        ("phi3-partial", Undo::Key("phi3.rope.scaling.attn_factor")),
        ("gemma3-scaled", Undo::Key("gemma3.rope.scaling.factor")),
    ]);
}

fn assert_visible(cases: &[(&str, Undo)]) {
    for (name, undo) in cases {
        let dev = teacher_forced_on(name, undone(name, undo).as_ref());
        let what = match undo {
            Undo::Tensor(t) | Undo::Key(t) => t,
        };
        println!("{name} without {what}: deviation {dev:.4}");
        assert!(dev > 10.0 * LOGIT_TOL, "{name}: undoing {what} still matched llama.cpp within {dev}");
    }
}
