//! Perplexity on the GPL-3 text at ctx 256, computed as llama.cpp's
//! llama-perplexity does, within 1 % of llama.cpp's value for each real model.

mod common;

use mote_core::{Engine, LoadOptions};

const TEXT: &str = "/usr/share/common-licenses/GPL-3";

fn check(name: &str) {
    let want = common::model_vectors(name)["perplexity_gpl3_ctx256"]["ppl"].as_f64().unwrap();
    let text = std::fs::read_to_string(TEXT).expect("the GPL-3 text ships with Debian's base-files");
    let engine = Engine::load(&common::model_path(name), LoadOptions { context_length: 256, ..Default::default() }).unwrap();
    let p = mote_core::perplexity::perplexity(&engine, &text, 256).unwrap();
    let rel = (p.ppl - want).abs() / want;
    println!("{name}: ppl {:.4} over {} tokens, llama.cpp {want:.4}, difference {:.3} %", p.ppl, p.tokens, rel * 100.0);
    assert!(rel < 0.01, "{name}: perplexity {} is not within 1 % of llama.cpp's {want}", p.ppl);
}

#[test]
fn smollm2_perplexity_matches_llama_cpp() {
    check("smollm2");
}

#[test]
fn gemma3_perplexity_matches_llama_cpp() {
    check("gemma3");
}
