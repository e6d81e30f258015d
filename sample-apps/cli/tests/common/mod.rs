//! Helpers shared by the CLI tests: the real model and a JSON-printing run.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

pub fn model() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash").arg(root.join("scripts/fetch-models.sh")).arg("smollm2").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().split_whitespace().nth(1).unwrap())
}

pub fn mote(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mote")).args(args).output().unwrap();
    assert!(out.status.success(), "mote {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("mote {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}
