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
use mote_core::{Engine, LoadOptions};
use serde_json::Value;

const LOGIT_TOL: f64 = 0.02;
const PPL_TOL: f64 = 0.005;
const MARGIN: f64 = 0.5;
const CTX: usize = 512;
const TEXT: &str = "/usr/share/common-licenses/GPL-3";

fn load(name: &str, variant: &str) -> Box<dyn Architecture> {
    let gguf = GgufFile::open(&common::synthetic_path(name, variant)).unwrap();
    model::load(&gguf, CTX, Arc::new(mote_kernels::ThreadPool::new(1))).unwrap()
}

fn row(logits: &candle_core::Tensor, i: usize) -> Vec<f32> {
    logits.get(i).unwrap().to_vec1::<f32>().unwrap()
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
    let m = load(name, "f32");
    let vectors = common::synthetic_vectors(name, "f32");
    let mut worst = 0f64;
    for p in vectors["prompts"].as_array().unwrap() {
        let alt = &p["alt_f32_kv_no_flash_attn"];
        let prompt = common::ids(&p["prompt_token_ids"]);
        let greedy = common::ids(&alt["greedy_token_ids"]);
        let tokens: Vec<u32> = prompt.iter().chain(&greedy[..greedy.len() - 1]).copied().collect();
        let logits = m.forward(&tokens, &mut m.new_cache(CTX), true).unwrap();
        for (i, want) in alt["prompt_positions"].as_array().unwrap().iter().enumerate() {
            worst = worst.max(deviation(&row(&logits, i), want));
        }
        for (k, want) in alt["greedy_steps"].as_array().unwrap().iter().enumerate() {
            worst = worst.max(deviation(&row(&logits, prompt.len() - 1 + k), want));
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
    let mut met = 0;
    for p in prompts {
        let want = common::ids(&p["greedy_token_ids"]);
        let margins: Vec<f64> = p["greedy_top1_margins"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let must = margins.iter().position(|&x| x < MARGIN).unwrap_or(margins.len());
        let mut cache = m.new_cache(CTX);
        let mut logits = m.forward(&common::ids(&p["prompt_token_ids"]), &mut cache, false).unwrap();
        let mut got = Vec::new();
        for _ in 0..want.len() {
            let r = row(&logits, 0);
            let t = (0..r.len()).fold(0, |b, i| if r[i] > r[b] { i } else { b }) as u32;
            got.push(t);
            logits = m.forward(&[t], &mut cache, false).unwrap();
        }
        let agree = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        met += usize::from(agree >= must);
    }
    println!("{name} {variant}: greedy margin rule met in {met}/{}", prompts.len());
    (met, prompts.len())
}

/// Perplexity on GPL-3 at ctx 128 as llama-perplexity computes it; returns
/// (ours, llama.cpp F32-KV, llama.cpp default).
fn perplexity(name: &str, variant: &str) -> (f64, f64, f64) {
    let vectors = common::synthetic_vectors(name, variant);
    let text = std::fs::read_to_string(TEXT).expect("the GPL-3 text ships with Debian's base-files");
    let opts = LoadOptions { context_length: CTX, ..Default::default() };
    let engine = Engine::load(&common::synthetic_path(name, variant), opts).unwrap();
    let p = mote_core::perplexity::perplexity(&engine, &text, 128).unwrap();
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
