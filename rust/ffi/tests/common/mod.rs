#![allow(dead_code)]
//! Helpers shared by the FFI contract tests.

use std::path::PathBuf;

use mote_ffi::GenerationConfig;

/// The real SmolLM2 model: MOTE_TEST_MODEL, or the cache scripts/fetch-models.sh fills.
pub fn model_path() -> String {
    let path = std::env::var_os("MOTE_TEST_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").expect("HOME");
        PathBuf::from(home).join(".cache/mote/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    assert!(path.is_file(), "{} missing: run scripts/fetch-models.sh smollm2", path.display());
    path.to_string_lossy().into_owned()
}

pub fn greedy(max_tokens: i32) -> GenerationConfig {
    GenerationConfig {
        max_tokens,
        temperature: 0.0,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        repetition_penalty: 1.0,
        seed: None,
        stop: vec![],
    }
}
