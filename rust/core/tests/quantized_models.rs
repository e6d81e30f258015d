//! Q2_K, Q3_K, IQ4_NL, IQ4_XS and BF16 end to end against llama.cpp, on
//! `llama-quantize --pure` copies of the random-weight synthetic-qwen3 model
//! (rust/testdata/vectors/synthetic/quantized, committed because CI has no
//! llama.cpp to rebuild them; see the "Quantized variants" section of the
//! synthetic README):
//! - perplexity on GPL-3 at ctx 128 within `PPL_TOL` of llama-perplexity's
//!   default-setting value (llama.cpp quantizes the activations to Q8_K/Q8_0
//!   before these dot products, exactly as Mote does);
//! - the greedy margin rule (follow llama.cpp's greedy ids until its own
//!   top-1 margin first drops below 0.5).
//!
//! qwen3's rows are 64 or 128 wide except `ffn_down` (256), so in the Q2_K,
//! Q3_K and IQ4_XS files only the four `ffn_down` matrices have the type
//! under test; llama-quantize put every other matrix at its fallback (Q4_0,
//! Q4_0, IQ4_NL). The test checks that composition before anything else.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use mote_core::gguf::GgufFile;
use mote_core::model::{self, Architecture};
use serde_json::Value;

/// Measured |ppl / llama.cpp default − 1|, AVX2 / scalar kernels: Q2_K
/// 0.052 / 0.017 %, Q3_K 0.178 / 0.195 %, IQ4_NL 0.023 / 0.083 %, IQ4_XS
/// 0.089 / 0.113 %, BF16 0.052 / 0.044 %.
/// llama.cpp's own default vs F32-KV spread on these files is up to 0.16 %.
const PPL_TOL: f64 = 0.005;
const MARGIN: f64 = 0.5;
const CTX: usize = 512;

fn dir() -> PathBuf {
    common::workspace_root().join("rust/testdata/vectors/synthetic/quantized")
}

fn path(variant: &str) -> PathBuf {
    dir().join(format!("synthetic-qwen3.{variant}.gguf"))
}

fn vectors(variant: &str) -> Value {
    let p = dir().join(format!("synthetic-qwen3.{variant}.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Weights per ggml type over the 2-D tensors, and the file's tensor list
/// must be the one llama.cpp's reference was made from.
fn composition(variant: &str, gguf: &GgufFile, want: &Value) -> BTreeMap<&'static str, (usize, usize)> {
    assert_eq!(gguf.file_size() as u64, want["size_bytes"].as_u64().unwrap(), "{variant}: size differs from the reference's");
    let listed = want["tensors"].as_array().unwrap();
    assert_eq!(gguf.tensors.len(), listed.len());
    let mut by_type = BTreeMap::new();
    for (t, w) in gguf.tensors.iter().zip(listed) {
        assert_eq!(t.name, w["name"].as_str().unwrap());
        assert_eq!(t.dtype.name(), w["type"].as_str().unwrap(), "{variant}: {}", t.name);
        let e = by_type.entry(t.dtype.name()).or_insert((0, 0));
        e.0 += 1;
        e.1 += t.elements();
    }
    by_type
}

/// Free-running greedy decoding under the margin rule against llama.cpp's
/// default setting; returns (met, cases).
fn greedy_rule(m: &dyn Architecture, vectors: &Value, report: &mut String) -> (usize, usize) {
    let prompts = vectors["prompts"].as_array().unwrap();
    let mut met = 0;
    for p in prompts {
        let (agree, must) = common::greedy_agreement_json(m, p, CTX, MARGIN);
        let n = p["greedy_token_ids"].as_array().unwrap().len();
        report.push_str(&format!("\n  prompt {:?}: {agree}/{n} greedy ids agree, {must} required", p["prompt"].as_str().unwrap()));
        met += usize::from(agree >= must);
    }
    (met, prompts.len())
}

fn check(variant: &str, ty: &str, min_share: f64) {
    let vectors = vectors(variant);
    let file = path(variant);
    let gguf = GgufFile::open(&file).unwrap();
    let types = composition(variant, &gguf, &vectors);
    let total: usize = types.values().map(|v| v.1).sum();
    let share = types.get(ty).map_or(0.0, |v| v.1 as f64 / total as f64);
    let listing: Vec<String> = types.iter().map(|(t, (n, w))| format!("{t} {n} tensors {:.2} %", 100.0 * *w as f64 / total as f64)).collect();
    let mut report = format!("{variant} [{:?}]: {}", mote_kernels::isa(), listing.join(", "));
    assert!(share >= min_share, "{variant}: only {:.2} % of the weights are {ty}", 100.0 * share);

    let m = model::load(&gguf, CTX, Arc::new(mote_kernels::ThreadPool::new(1))).unwrap();
    let (met, n) = greedy_rule(m.as_ref(), &vectors, &mut report);
    drop(m);

    let p = common::gpl3_perplexity_ctx128(&file);
    let default = vectors["perplexity"]["ppl"].as_f64().unwrap();
    let alt = vectors["perplexity_alt_f32_kv_no_flash_attn"]["ppl"].as_f64().unwrap();
    let delta = p.ppl / default - 1.0;
    println!(
        "{report}\n{variant}: ppl {:.1} over {} tokens; llama.cpp {default:.1} (default, {:+.4} %), {alt:.1} (F32 KV, {:+.4} %); greedy margin rule met in {met}/{n}",
        p.ppl,
        p.tokens,
        100.0 * delta,
        100.0 * (p.ppl / alt - 1.0)
    );
    assert_eq!(met, n, "{variant}: greedy margin rule met in {met}/{n}");
    assert!(delta.abs() < PPL_TOL, "{variant}: perplexity {} not within {} % of llama.cpp's {default}", p.ppl, 100.0 * PPL_TOL);
}

/// Only `ffn_down` (rows of 256) can be a K-quant here: 65536 of 3441472 weights.
const FFN_DOWN_SHARE: f64 = 0.019;

#[test]
fn q2_k() {
    check("q2_k", "Q2_K", FFN_DOWN_SHARE);
}

#[test]
fn q3_k() {
    check("q3_k", "Q3_K", FFN_DOWN_SHARE);
}

#[test]
fn iq4_nl() {
    check("iq4_nl", "IQ4_NL", 0.999);
}

#[test]
fn iq4_xs() {
    check("iq4_xs", "IQ4_XS", FFN_DOWN_SHARE);
}

#[test]
fn bf16() {
    check("bf16", "BF16", 0.999);
}
