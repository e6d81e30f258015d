//! Resumable verified downloads against a loopback server with injected
//! faults: dropped connections, truncated bodies, cancels, a killed process,
//! 5xx answers, a server without `Range`, a changed object, a wrong hash, a
//! full disk.

mod common;
use common::*;

use mote_models::download::{self, part_paths, Request, RetryPolicy};
use mote_models::http::Client;
use mote_models::ModelError;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn fast_retries() -> RetryPolicy {
    RetryPolicy { max_failures: 6, initial_backoff: Duration::from_millis(10), max_backoff: Duration::from_millis(80) }
}

fn fetch(url: &str, sha: &str, dest: &Path, cancel: &AtomicBool) -> Result<download::Outcome, ModelError> {
    let req = Request { url, sha256: sha, size: None, dest };
    download::download(&Client::new(), &req, &fast_retries(), cancel, &mut |_| {})
}

#[test]
fn connection_drops_at_random_offsets_resume_byte_exact() {
    let data = blob(2 << 20, 1);
    let sha = sha256_hex(&data);
    let mut rng = Rng(0x5eed);
    let dir = tempfile::tempdir().unwrap();
    let mut interruptions = 0;
    for round in 0..7 {
        let server = Server::start("m.gguf", data.clone());
        // Ten cuts per download, each after a random number of body bytes.
        server.with(|b| b.cuts = (0..10).map(|_| 1 + rng.below(data.len() as u64 / 8)).collect());
        let dest = dir.path().join(format!("m{round}.gguf"));
        let out = fetch(&server.url, &sha, &dest, &AtomicBool::new(false)).expect("download completes through the drops");
        assert_eq!(std::fs::read(&dest).unwrap(), data, "byte-exact after resumes");
        let log = server.requests();
        let cut = log.iter().filter(|r| r.sent < data.len() as u64 - r.range_from.unwrap_or(0)).count();
        interruptions += cut;
        assert_eq!(cut, 10, "every cut was an interruption: {log:?}");
        // Each request resumed exactly where the previous one stopped: no byte twice.
        let mut at = 0;
        for r in &log {
            assert_eq!(r.range_from.unwrap_or(0), at, "{log:?}");
            at += r.sent;
        }
        assert_eq!(out.fetched, data.len() as u64);
        assert_eq!(out.requests as usize, log.len());
        assert_eq!(out.restarts, 0);
        assert!(!part_paths(&dest).0.exists() && !part_paths(&dest).1.exists(), "no partial files left");
    }
    eprintln!("connection drops: {interruptions} interruptions, all resumed byte-exact, 0 bytes fetched twice");
}

#[test]
fn cancel_pauses_and_a_later_call_resumes() {
    let data = blob(3 << 20, 2);
    let sha = sha256_hex(&data);
    let server = Server::start("c.gguf", data.clone());
    server.with(|b| b.chunk_delay = Some(Duration::from_millis(1)));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c.gguf");
    let mut rng = Rng(7);
    let mut kept_total = 0;
    for _ in 0..10 {
        let cancel = AtomicBool::new(false);
        let stop_at = rng.below(data.len() as u64 / 12) + 1;
        let start = std::fs::metadata(part_paths(&dest).0).map_or(0, |m| m.len());
        let req = Request { url: &server.url, sha256: &sha, size: None, dest: &dest };
        let r = download::download(&Client::new(), &req, &fast_retries(), &cancel, &mut |p| {
            if p.downloaded >= start + stop_at {
                cancel.store(true, Ordering::Relaxed);
            }
        });
        assert!(matches!(r, Err(ModelError::Cancelled)), "{r:?}");
        assert!(!dest.exists(), "a paused download is not installed");
        let kept = std::fs::metadata(part_paths(&dest).0).unwrap().len();
        assert!(kept > start, "the partial file grows across pauses");
        assert_eq!(std::fs::read(part_paths(&dest).0).unwrap(), data[..kept as usize], "the kept prefix is correct");
        kept_total = kept;
    }
    let out = fetch(&server.url, &sha, &dest, &AtomicBool::new(false)).unwrap();
    assert_eq!(out.resumed_from, kept_total);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let fetched: u64 = server.requests().iter().map(|r| r.sent).sum();
    // Bytes in flight when a cancel lands may be sent but not written.
    assert!(fetched < data.len() as u64 + 10 * (1 << 20), "fetched {fetched}");
    eprintln!("cancel/resume: 10 pauses, resumed from {kept_total} bytes; {fetched} bytes sent for a {} byte file", data.len());
}

/// The child half of `killed_process_resumes`: downloads until SIGKILLed.
#[test]
fn child_download_helper() {
    let Ok(url) = std::env::var("MOTE_TEST_CHILD_URL") else { return };
    let sha = std::env::var("MOTE_TEST_CHILD_SHA").unwrap();
    let dest = std::path::PathBuf::from(std::env::var("MOTE_TEST_CHILD_DEST").unwrap());
    let _ = fetch(&url, &sha, &dest, &AtomicBool::new(false));
}

#[test]
fn killed_process_resumes() {
    let data = blob(8 << 20, 3);
    let sha = sha256_hex(&data);
    let server = Server::start("k.gguf", data.clone());
    // 512 chunks of 16 KiB at 4 ms each: about two seconds per full transfer.
    server.with(|b| b.chunk_delay = Some(Duration::from_millis(4)));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("k.gguf");
    let mut rng = Rng(11);
    let mut kills = 0;
    let mut last = 0;
    while kills < 20 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_download_helper", "--test-threads=1", "--quiet"])
            .env("MOTE_TEST_CHILD_URL", &server.url)
            .env("MOTE_TEST_CHILD_SHA", &sha)
            .env("MOTE_TEST_CHILD_DEST", &dest)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + rng.below(60)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert!(!dest.exists(), "the child finished before its kill; make the transfer slower");
        kills += 1;
        let now = std::fs::metadata(part_paths(&dest).0).map_or(0, |m| m.len());
        assert!(now >= last, "the partial file never shrinks between kills ({last} -> {now})");
        assert_eq!(std::fs::read(part_paths(&dest).0).unwrap_or_default(), data[..now as usize]);
        last = now;
    }
    let out = fetch(&server.url, &sha, &dest, &AtomicBool::new(false)).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let sent: u64 = server.requests().iter().map(|r| r.sent).sum();
    eprintln!(
        "SIGKILL: {kills} kills; final call resumed from {} of {} bytes; {sent} bytes sent in all ({:.1}% re-sent)",
        out.resumed_from,
        data.len(),
        (sent as f64 / data.len() as f64 - 1.0) * 100.0
    );
    assert!(out.resumed_from >= last && out.resumed_from > 0, "the final call resumed the killed ones' bytes");
}

#[test]
fn truncated_body_without_length_is_rejected_and_removed() {
    let data = blob(1 << 20, 4);
    let sha = sha256_hex(&data);
    let server = Server::start("t.gguf", data.clone());
    server.with(|b| {
        b.no_length = true;
        b.cuts.push_back(300_000);
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("t.gguf");
    let r = fetch(&server.url, &sha, &dest, &AtomicBool::new(false));
    // Without a length an early close looks like the end: only the hash can tell.
    assert!(matches!(r, Err(ModelError::Checksum { .. })), "{r:?}");
    assert!(!dest.exists() && !part_paths(&dest).0.exists(), "rejected bytes are removed");
    fetch(&server.url, &sha, &dest, &AtomicBool::new(false)).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
}

#[test]
fn server_ignoring_range_restarts_cleanly() {
    let data = blob(1 << 20, 5);
    let sha = sha256_hex(&data);
    let server = Server::start("r.gguf", data.clone());
    server.with(|b| {
        b.ignore_range = true;
        b.cuts.push_back(400_000);
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("r.gguf");
    let out = fetch(&server.url, &sha, &dest, &AtomicBool::new(false)).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(out.restarts, 1);
    let log = server.requests();
    assert_eq!(log[1].range_from, Some(400_000), "it asked to resume");
    assert_eq!(log[1].status, 200, "and got the whole object");
}

#[test]
fn changed_object_restarts_through_if_range() {
    let data = blob(1 << 20, 6);
    let sha = sha256_hex(&data);
    let server = Server::start("e.gguf", data.clone());
    server.with(|b| b.cuts.push_back(500_000));
    server.with(|b| b.statuses.extend([503; 6]));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("e.gguf");
    // First call: the cut, then six 503s: gives up, keeping the partial file.
    server.with(|b| b.statuses.clear());
    server.with(|b| b.cuts = [500_000].into());
    let cancel = AtomicBool::new(false);
    let req = Request { url: &server.url, sha256: &sha, size: None, dest: &dest };
    let mut seen = 0;
    let _ = download::download(&Client::new(), &req, &fast_retries(), &cancel, &mut |p| {
        seen = p.downloaded;
        if p.downloaded >= 500_000 {
            cancel.store(true, Ordering::Relaxed);
        }
    });
    assert!(seen >= 500_000 && part_paths(&dest).0.exists());
    server.with(|b| b.etag = "\"v2\"".into());
    let out = fetch(&server.url, &sha, &dest, &AtomicBool::new(false)).unwrap();
    let log = server.requests();
    let last = log.last().unwrap();
    assert_eq!(last.if_range.as_deref(), Some("\"v1\""), "it sent the old validator");
    assert_eq!(last.status, 200, "the server saw the change and sent it all");
    assert_eq!(out.restarts, 1);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
}

#[test]
fn server_errors_are_retried_with_backoff_then_typed() {
    let data = blob(200_000, 7);
    let sha = sha256_hex(&data);
    let server = Server::start("s.gguf", data.clone());
    server.with(|b| b.statuses.extend([503, 500, 502]));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("s.gguf");
    let t0 = Instant::now();
    let out = fetch(&server.url, &sha, &dest, &AtomicBool::new(false)).unwrap();
    assert_eq!(out.requests, 4);
    assert!(t0.elapsed() >= Duration::from_millis(10 + 20 + 40), "backoff doubled: {:?}", t0.elapsed());
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    // Persistent 5xx: bounded attempts, then the status.
    let dest2 = dir.path().join("s2.gguf");
    server.with(|b| b.statuses.extend([503; 20]));
    let r = fetch(&server.url, &sha, &dest2, &AtomicBool::new(false));
    assert!(matches!(r, Err(ModelError::Http { status: 503, .. })), "{r:?}");
    // A 404 is not retried.
    server.with(|b| b.statuses = [404].into());
    let before = server.requests().len();
    let r = fetch(&server.url, &sha, &dir.path().join("s3.gguf"), &AtomicBool::new(false));
    assert!(matches!(r, Err(ModelError::Http { status: 404, .. })), "{r:?}");
    assert_eq!(server.requests().len(), before + 1);
}

#[test]
fn wrong_hash_is_rejected_and_the_file_removed() {
    let data = blob(300_000, 8);
    let server = Server::start("w.gguf", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("w.gguf");
    let wrong = sha256_hex(b"something else");
    let r = fetch(&server.url, &wrong, &dest, &AtomicBool::new(false));
    match r {
        Err(ModelError::Checksum { expected, actual, .. }) => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, sha256_hex(&data));
        }
        other => panic!("{other:?}"),
    }
    assert!(!dest.exists() && !part_paths(&dest).0.exists() && !part_paths(&dest).1.exists());
}

/// A 1 MiB tmpfs (needs root, as CI runs; skipped with a message otherwise).
struct SmallDisk(tempfile::TempDir);
impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let d = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(d.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(d))
    }
}
impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn full_disk_is_a_typed_error_and_installs_nothing() {
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("SKIPPED full_disk: cannot mount a tmpfs here (not root); CI runs it as root");
        return;
    };
    let data = blob(3 << 20, 9);
    let sha = sha256_hex(&data);
    let server = Server::start("f.gguf", data.clone());
    let dest = disk.0.path().join("f.gguf");
    // With a length: refused before a byte is written.
    let r = fetch(&server.url, &sha, &dest, &AtomicBool::new(false));
    assert!(matches!(r, Err(ModelError::NoSpace { .. })), "{r:?}");
    assert!(!dest.exists());
    assert_eq!(std::fs::metadata(part_paths(&dest).0).map_or(0, |m| m.len()), 0);
    // Without a length: the write fails with ENOSPC, reported the same way.
    server.with(|b| b.no_length = true);
    let r = fetch(&server.url, &sha, &dest, &AtomicBool::new(false));
    assert!(matches!(r, Err(ModelError::NoSpace { .. })), "{r:?}");
    assert!(!dest.exists(), "nothing half-installed");
}
