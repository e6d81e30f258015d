//! Raw greedy continuations of the real models against llama.cpp's, under the
//! margin rule: follow llama.cpp's ids until its own top-1 margin first drops
//! below 0.5 logits, where a correct implementation may take the other branch.

mod common;

use mote_core::gguf::GgufFile;
use mote_core::model;

const MARGIN: f64 = 0.5;

fn check(name: &str) {
    let gguf = GgufFile::open(&common::model_path(name)).unwrap();
    let m = model::load(&gguf, 512, std::sync::Arc::new(mote_kernels::ThreadPool::new(0))).unwrap();
    let vectors = common::model_vectors(name);
    let cases = vectors["cases"].as_array().unwrap();
    let (mut rule_ok, mut exact) = (0, 0);
    for case in cases {
        let prompt = common::ids(&case["prompt_token_ids"]);
        let want = common::ids(&case["greedy_32_token_ids"]);
        let margins: Vec<f64> = case["greedy_32_top1_margins"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let (agree, must) = common::greedy_agreement(m.as_ref(), &prompt, &want, &margins, 512, MARGIN);
        println!("{name}: {:?}: agrees for {agree}/32, required {must}", case["prompt"].as_str().unwrap());
        if agree >= must {
            rule_ok += 1;
        }
        if agree == 32 {
            exact += 1;
        }
    }
    println!("{name}: margin rule met in {rule_ok}/{}, exact 32-token matches {exact}/{}", cases.len(), cases.len());
    assert_eq!(rule_ok, cases.len(), "{name}: greedy continuation leaves llama.cpp's before a near-tie");
}

#[test]
fn smollm2_greedy_follows_llama_cpp() {
    check("smollm2");
}

#[test]
fn gemma3_greedy_follows_llama_cpp() {
    check("gemma3");
}
