//! `mote models …` contract: pull by URL and SHA-256 (resuming after the
//! process is killed), list --json, verify, rm, use with rollback.

#[path = "../../../rust/models/tests/common/mod.rs"]
mod common;
use common::*;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote")).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn pull_resumes_after_kill_verifies_and_lists() {
    let data = blob(4 << 20, 41);
    let sha = sha256_hex(&data);
    let server = Server::start("tiny.gguf", data.clone());
    server.with(|b| b.chunk_delay = Some(Duration::from_millis(3)));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();

    // Killed mid-download: nothing is installed, the next pull resumes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(["models", "pull", "--url", &server.url, "--sha256", &sha, "--dir", d, "--name", "tiny"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!dir.path().join("tiny.gguf").exists());
    server.with(|b| b.chunk_delay = None);

    let out = mote(&["models", "pull", "--url", &server.url, "--sha256", &sha, "--dir", d, "--name", "tiny"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let path = stdout.lines().last().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), data, "the printed path is the verified file");
    assert!(text(&out.stderr).contains("resumed from"), "{}", text(&out.stderr));

    let out = mote(&["models", "list", "--dir", d, "--json"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &list[0];
    assert_eq!(row["name"], "tiny");
    assert_eq!(row["path"], path);
    assert_eq!(row["size"], data.len() as u64);
    assert_eq!(row["sha256"], sha);
    assert_eq!(row["version"], 1);

    assert!(mote(&["models", "verify", "--dir", d]).status.success());
    std::fs::write(path, b"changed").unwrap();
    assert!(!mote(&["models", "verify", "--dir", d]).status.success(), "a changed file fails verify");
    assert!(mote(&["models", "rm", "tiny", "--dir", d]).status.success());
    assert!(!std::path::Path::new(path).exists());
}

#[test]
fn wrong_hash_fails_and_installs_nothing() {
    let data = blob(100_000, 42);
    let server = Server::start("w.gguf", data);
    let dir = tempfile::tempdir().unwrap();
    let out = mote(&["models", "pull", "--url", &server.url, "--sha256", &sha256_hex(b"x"), "--dir", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("SHA-256 mismatch"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "gguf")).count(), 0);
}

#[test]
fn use_validates_and_rolls_back() {
    let model = std::fs::read(model_path("smollm2")).unwrap();
    let broken = model[..200_000].to_vec();
    let (good, bad) = (Server::start("smol.gguf", model.clone()), Server::start("smol.gguf", broken.clone()));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (s, bytes) in [(&good, &model), (&bad, &broken)] {
        let out = mote(&["models", "pull", "--url", &s.url, "--sha256", &sha256_hex(bytes), "--dir", d, "--name", "smol"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = mote(&["models", "use", "smol", "--version", "1", "--dir", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = mote(&["models", "use", "smol", "--dir", d]);
    assert!(!out.status.success(), "version 2 is not a runnable model");
    assert!(text(&out.stderr).contains("failed validation"), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&mote(&["models", "list", "--dir", d, "--json"]).stdout).unwrap();
    let active: Vec<_> = list.as_array().unwrap().iter().filter(|r| r["active"] == true).collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["version"], 1, "rolled back to version 1");
}
