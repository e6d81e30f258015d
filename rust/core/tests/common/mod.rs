#![allow(dead_code)]
//! Helpers shared by the integration tests: real model files and reference vectors.

use std::path::PathBuf;
use std::process::Command;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real model called `name` ("smollm2" or "gemma3"), fetched (and
/// checksum-verified) by scripts/fetch-models.sh on first use.
pub fn model_path(name: &str) -> PathBuf {
    let out = Command::new("bash")
        .arg(workspace_root().join("scripts/fetch-models.sh"))
        .arg(name)
        .output()
        .expect("run scripts/fetch-models.sh");
    assert!(out.status.success(), "fetch-models.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    let path = line.split_whitespace().nth(1).expect("fetch-models.sh prints '<name> <path>'");
    PathBuf::from(path)
}

pub fn vectors() -> serde_json::Value {
    let path = std::env::var_os("MOTE_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/vectors/visible.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The vectors' entry for a model name used by `model_path`.
pub fn model_vectors(name: &str) -> serde_json::Value {
    let key = match name {
        "smollm2" => "smollm2-135m-instruct-q4_1",
        "gemma3" => "gemma-3-270m-q4_k_m",
        other => panic!("no vectors for {other}"),
    };
    vectors()["models"][key].clone()
}
