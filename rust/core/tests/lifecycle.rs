//! Lifecycle-aware memory on the real SmolLM2 model: release and come back
//! without losing the conversation, snapshots across processes, releases
//! during a generation, the pre-load memory check and the crash-loop guard.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::thread;

use mote_core::memory::guard::LoadGuard;
use mote_core::memory::{Actions, InFlight, MemoryPolicy, PressureLevel};
use mote_core::{CancelToken, Engine, Error, GenerationConfig, LoadOptions};

fn engine() -> Engine {
    Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 1024, ..Default::default() }).unwrap()
}

fn greedy(n: u32) -> GenerationConfig {
    GenerationConfig { max_tokens: n, ..GenerationConfig::greedy() }
}

fn say(s: &mote_core::Session, text: &str, n: u32) -> String {
    s.send(text, &greedy(n), &CancelToken::new(), &mut |_| {}).unwrap().text
}

fn with_snapshots(e: &Engine, dir: &Path) {
    e.set_memory_policy(MemoryPolicy { snapshot_dir: Some(dir.to_path_buf()), ..Default::default() });
}

#[test]
fn continuation_after_release_equals_one_without() {
    let dir = tempfile::tempdir().unwrap();
    let reference = engine();
    let r = reference.new_session();
    say(&r, "Name three animals.", 16);
    let want = say(&r, "Which one is the largest?", 16);

    let e = engine();
    with_snapshots(&e, dir.path());
    let s = e.new_session();
    say(&s, "Name three animals.", 16);
    let report = e.on_memory_pressure(PressureLevel::Complete);
    assert_eq!(report.snapshots_written, 1, "{report:?}");
    assert!(!e.is_loaded() && !s.has_kv_cache());
    assert_eq!(report.after.weights_bytes, 0);
    assert_eq!(report.after.kv_cache_bytes, 0);
    let reply = s.send("Which one is the largest?", &greedy(16), &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(reply.text, want);
    // Restored from the snapshot: only the new turn's tokens were prefilled.
    assert!(reply.stats.cached_prompt_tokens > 20, "{:?}", reply.stats);

    // Without a snapshot directory the cache is rebuilt by re-prefilling. That
    // batches the conversation differently from turn-by-turn decoding, so
    // float sums may differ in the last bits and flip a near-tie later on; the
    // reply must agree at its start.
    let e2 = engine();
    let s2 = e2.new_session();
    say(&s2, "Name three animals.", 16);
    e2.release(Actions::all());
    let reply2 = s2.send("Which one is the largest?", &greedy(16), &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(common::first_words(&reply2.text, 3), common::first_words(&want, 3), "{:?} vs {want:?}", reply2.text);
    assert_eq!(reply2.stats.cached_prompt_tokens, 0);
    assert_eq!(s2.history().len(), 4);
}

/// The usual Android sequence: UI_HIDDEN parks the session, COMPLETE follows
/// while it is parked. The second release has no cache to drop and must keep
/// the snapshot the first one wrote.
#[test]
fn a_parked_session_keeps_its_snapshot_through_a_second_release() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine();
    with_snapshots(&e, dir.path());
    let s = e.new_session();
    say(&s, "Name three animals.", 8);
    assert_eq!(e.on_memory_pressure(PressureLevel::Background).snapshots_written, 1);
    let second = e.on_memory_pressure(PressureLevel::Complete);
    assert_eq!(second.snapshots_written, 0, "nothing new to write: {second:?}");
    assert!(s.cached_tokens() > 0, "the parked tokens were forgotten");
    let reply = s.send("Which one is the largest?", &greedy(4), &CancelToken::new(), &mut |_| {}).unwrap();
    assert!(reply.stats.cached_prompt_tokens > 20, "re-prefilled: {:?}", reply.stats);
}

/// Runs in a child process spawned by the test below; a no-op otherwise.
#[test]
fn child_process_restores_snapshot() {
    let Some(path) = std::env::var_os("MOTE_TEST_SNAPSHOT") else { return };
    let e = engine();
    let s = e.restore_session(Path::new(&path)).unwrap();
    assert_eq!(s.history().len(), 2);
    println!("CONTINUATION={:?}", say(&s, "Which one is the largest?", 16));
}

#[test]
fn a_snapshot_restored_in_a_new_process_continues_identically() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("chat.motesnap");
    let e = engine();
    let s = e.new_session();
    say(&s, "Name three animals.", 16);
    s.save_snapshot(&snap).unwrap();
    let want = say(&s, "Which one is the largest?", 16);

    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_restores_snapshot", "--nocapture", "--test-threads", "1"])
        .env("MOTE_TEST_SNAPSHOT", &snap)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().find_map(|l| l.split_once("CONTINUATION=").map(|(_, v)| v)).expect("child prints its continuation");
    assert_eq!(line, format!("{want:?}"));
}

#[test]
fn a_release_during_generation_finishes_or_cancels_cleanly() {
    for in_flight in [InFlight::Finish, InFlight::Cancel] {
        let dir = tempfile::tempdir().unwrap();
        let e = engine();
        e.set_memory_policy(MemoryPolicy { in_flight, snapshot_dir: Some(dir.path().to_path_buf()), ..Default::default() });
        let s = Arc::new(e.new_session());
        let (tx, rx) = std::sync::mpsc::channel();
        let s2 = s.clone();
        let t = thread::spawn(move || {
            let mut n = 0;
            s2.send("Tell me a long story about the sea.", &greedy(40), &CancelToken::new(), &mut |_| {
                n += 1;
                if n == 2 {
                    tx.send(()).unwrap();
                    // Give the release time to land mid-reply.
                    thread::sleep(std::time::Duration::from_millis(200));
                }
            })
        });
        rx.recv().unwrap();
        let report = e.release(Actions::all());
        assert_eq!(report.sessions_deferred, 1, "{report:?}");
        let result = t.join().unwrap();
        match in_flight {
            InFlight::Finish => assert!(result.is_ok(), "{result:?}"),
            InFlight::Cancel => assert!(matches!(result, Err(Error::Cancelled)), "{result:?}"),
        }
        // The deferred release happened when the reply ended; the conversation survived it.
        assert!(!s.has_kv_cache());
        assert_eq!(s.history().len(), 2);
        let next = s.send("And then?", &greedy(4), &CancelToken::new(), &mut |_| {}).unwrap();
        assert!(next.stats.cached_prompt_tokens > 0, "restored from the snapshot: {:?}", next.stats);
        assert_eq!(s.history().len(), 4);
    }
}

#[test]
fn a_model_that_does_not_fit_is_refused_before_loading() {
    let opts = LoadOptions { available_memory_bytes: Some(64 << 20), ..Default::default() };
    match Engine::load(&common::model_path("smollm2"), opts) {
        Err(Error::InsufficientMemory { needed, available }) => {
            assert_eq!(available, 64 << 20);
            assert!(needed > 98_000_000, "needs at least the weights: {needed}");
        }
        other => panic!("expected InsufficientMemory, got {:?}", other.map(|_| ())),
    }
    let opts = LoadOptions { available_memory_bytes: Some(8 << 30), ..Default::default() };
    assert!(Engine::load(&common::model_path("smollm2"), opts).is_ok());
}

#[test]
fn every_repeated_crash_steps_the_context_down_and_only_a_clean_session_steps_it_up() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::model_path("smollm2");
    let opts = LoadOptions {
        context_length: 4096,
        state_dir: Some(dir.path().to_path_buf()),
        reduce_context_after_crash: true,
        ..Default::default()
    };
    // A load the OS killed: the marker is written, never removed.
    let crash = || std::mem::forget(LoadGuard::arm(dir.path(), &model, 4096, true).unwrap().0);
    crash();
    let e = Engine::load(&model, opts.clone()).unwrap();
    assert_eq!(e.unfinished_load().expect("the crash is reported").context_length, 4096);
    assert_eq!(e.context_length(), 2048);
    // The app is killed later (no clean close): the next launch stays down.
    std::mem::forget(e);
    let e = Engine::load(&model, opts.clone()).unwrap();
    assert!(e.unfinished_load().is_none());
    assert_eq!(e.context_length(), 2048, "one good load must not step back up into the crash");
    std::mem::forget(e);
    // It crashes again at the reduced context: down another step, every time.
    crash();
    let e = Engine::load(&model, opts.clone()).unwrap();
    assert_eq!(e.unfinished_load().unwrap().context_length, 2048);
    assert_eq!(e.context_length(), 1024);
    // A clean close steps back up one level per clean session.
    drop(e);
    let e = Engine::load(&model, opts.clone()).unwrap();
    assert_eq!(e.context_length(), 2048);
    drop(e);
    assert_eq!(Engine::load(&model, opts).unwrap().context_length(), 4096);
}

#[test]
fn a_reload_after_a_release_is_guarded_too() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::model_path("smollm2");
    let opts = LoadOptions {
        context_length: 2048,
        state_dir: Some(dir.path().to_path_buf()),
        reduce_context_after_crash: true,
        ..Default::default()
    };
    let e = Engine::load(&model, opts.clone()).unwrap();
    e.release(Actions { unmap_weights: true, ..Default::default() });
    // Kill the process in the middle of the reload: the marker must be on disk.
    let d = dir.path().to_path_buf();
    let marker_exists = move || std::fs::read_dir(&d).unwrap().flatten().any(|f| f.path().extension().is_some_and(|x| x == "marker"));
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (seen, marker_exists) = (seen.clone(), marker_exists.clone());
        std::thread::spawn(move || {
            for _ in 0..20_000 {
                if marker_exists() {
                    seen.store(true, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        })
    };
    e.loaded().unwrap();
    watcher.join().unwrap();
    assert!(seen.load(std::sync::atomic::Ordering::SeqCst), "the reload armed the crash-loop marker");
    assert!(!marker_exists(), "and disarmed it when it finished");
}

#[test]
fn a_snapshot_that_cannot_be_written_keeps_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the snapshot directory should be: every write fails.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"").unwrap();
    let e = engine();
    e.set_memory_policy(MemoryPolicy { snapshot_dir: Some(blocked), ..Default::default() });
    let s = e.new_session();
    say(&s, "Hello!", 4);
    let report = e.release(Actions { snapshot_sessions: true, ..Default::default() });
    assert_eq!(report.snapshot_errors.len(), 1, "{report:?}");
    assert!(s.has_kv_cache());
    assert_eq!(s.history().len(), 2);
}
