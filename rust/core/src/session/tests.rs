//! Interleavings of a turn and a memory release, made deterministic by
//! running the other party at each lock boundary (`Point`) through the
//! session's test hook. Every one must end with the release applied (never
//! lost) and the user's call served (never `Busy`). Real SmolLM2 model.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{Phase, Point, Session};
use crate::memory::{Actions, MemoryPolicy};
use crate::{CancelToken, Engine, GenerationConfig, LoadOptions};

fn model() -> PathBuf {
    std::env::var_os("MOTE_TEST_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/mote/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    })
}

fn engine(dir: &std::path::Path) -> Engine {
    let e = Engine::load(&model(), LoadOptions { context_length: 512, ..Default::default() }).unwrap();
    e.set_memory_policy(MemoryPolicy { snapshot_dir: Some(dir.to_path_buf()), ..Default::default() });
    e
}

const PARK: Actions = Actions {
    trim_scratch: false,
    trim_kv_cache: false,
    snapshot_sessions: true,
    drop_kv_cache: true,
    unmap_weights: false,
};

fn greedy(n: u32) -> GenerationConfig {
    GenerationConfig { max_tokens: n, ..GenerationConfig::greedy() }
}

fn say(s: &Session, text: &str) -> crate::Reply {
    s.send(text, &greedy(4), &CancelToken::new(), &mut |_| {}).expect("a release never fails a user call")
}

const TURN_POINTS: [Point; 7] = [
    Point::BeforeTurn,
    Point::TurnAdmitted,
    Point::CacheReady,
    Point::Token,
    Point::Generated,
    Point::TurnEnding,
    Point::TurnEnded,
];

#[test]
fn a_release_at_every_lock_boundary_of_a_turn_is_applied_and_the_turn_served() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    for point in TURN_POINTS {
        let s = e.new_session();
        say(&s, "Hello.");
        let fired = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(None));
        {
            let (e, fired, report) = (e.clone(), fired.clone(), report.clone());
            s.inner.set_hook(Some(Arc::new(move |p| {
                if p == point && !fired.swap(true, Ordering::SeqCst) {
                    *report.lock().unwrap() = Some(e.release(PARK));
                }
            })));
        }
        let reply = say(&s, "Name a colour.");
        s.inner.set_hook(None);
        assert!(fired.load(Ordering::SeqCst), "{point:?} was reached");
        let r = report.lock().unwrap().take().unwrap();
        let during = !matches!(point, Point::BeforeTurn | Point::TurnEnded);
        assert_eq!((r.sessions_deferred, r.sessions_released), if during { (1, 0) } else { (0, 1) }, "{point:?}: {r:?}");
        if point == Point::BeforeTurn {
            // Applied before the turn, which then restored the cache from the snapshot.
            assert!(reply.stats.cached_prompt_tokens > 0, "{point:?}: {:?}", reply.stats);
            assert!(s.has_kv_cache());
        } else {
            // Applied when the turn ended (deferred) or right after it: the session is parked.
            assert_eq!(s.phase(), Phase::Parked, "{point:?}");
            assert!(!s.has_kv_cache(), "{point:?}: the deferred release was lost");
            let snap = s.snapshot_path().expect("the release wrote the session's snapshot");
            assert!(snap.starts_with(dir.path()));
            let next = say(&s, "Thanks.");
            assert!(next.stats.cached_prompt_tokens > 0, "{point:?}: restored from the snapshot, not re-prefilled");
        }
        assert_eq!(s.history().len(), if point == Point::BeforeTurn { 4 } else { 6 }, "{point:?}: no message lost");
    }
}

#[test]
fn user_calls_during_a_release_wait_for_it_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    for point in [Point::ReleaseAdmitted, Point::ReleaseApplied] {
        for call in ["send", "edit", "reset"] {
            let s = Arc::new(e.new_session());
            say(&s, "Hello.");
            let waiter = Arc::new(Mutex::new(None));
            {
                let (s2, waiter) = (s.clone(), waiter.clone());
                s.inner.set_hook(Some(Arc::new(move |p| {
                    if p != point || waiter.lock().unwrap().is_some() {
                        return;
                    }
                    let s3 = s2.clone();
                    let h = std::thread::spawn(move || match call {
                        "send" => s3.send("More.", &greedy(4), &CancelToken::new(), &mut |_| {}).map(|_| ()),
                        "edit" => s3.set_system_prompt(Some("Be brief.".into())),
                        _ => s3.reset(),
                    });
                    // Let the call reach the state machine while the release still owns the session.
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    assert!(!h.is_finished(), "{call} at {point:?} waits for the release");
                    *waiter.lock().unwrap() = Some(h);
                })));
            }
            let r = e.release(PARK);
            assert_eq!(r.sessions_released, 1, "{r:?}");
            let h = waiter.lock().unwrap().take().expect("hook ran");
            h.join().unwrap().unwrap_or_else(|err| panic!("{call} at {point:?}: {err}"));
            s.inner.set_hook(None);
            let expected = if call == "reset" { 0 } else if call == "send" { 4 } else { 2 };
            assert_eq!(s.history().len(), expected, "{call} at {point:?}");
            if call == "reset" {
                assert!(s.snapshot_path().is_none(), "reset deletes the session's own snapshot");
            }
        }
    }
}

#[test]
fn snapshot_files_are_unique_exposed_and_deleted_with_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let (a, b) = (e.new_session(), e.new_session());
    say(&a, "Hi.");
    say(&b, "Hi.");
    e.release(PARK);
    let (pa, pb) = (a.snapshot_path().unwrap(), b.snapshot_path().unwrap());
    assert_ne!(pa, pb);
    assert!(pa.exists() && pb.exists());
    let name = pa.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.contains(&format!("-{:x}-", std::process::id())), "names carry the process: {name}");
    // An app-saved snapshot is the app's: it outlives the session.
    let saved = dir.path().join("kept.motesnap");
    a.save_snapshot(&saved).unwrap();
    drop(a);
    assert!(!pa.exists(), "dropping the session deletes its own snapshot");
    assert!(saved.exists(), "but never one the app saved");
    b.reset().unwrap();
    assert!(!pb.exists(), "reset deletes it too");
    let restored = e.restore_session(&saved).unwrap();
    assert_eq!(restored.history().len(), 2);
}

#[test]
fn memory_reports_count_the_cache_of_a_generating_session() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let s = e.new_session();
    let seen = Arc::new(Mutex::new(0u64));
    {
        let (e, seen) = (e.clone(), seen.clone());
        s.inner.set_hook(Some(Arc::new(move |p| {
            if p == Point::Token {
                *seen.lock().unwrap() = e.memory_report().kv_cache_bytes;
            }
        })));
    }
    say(&s, "Hello.");
    s.inner.set_hook(None);
    assert!(*seen.lock().unwrap() > 0, "mid-reply, the session's KV cache is counted");
    assert_eq!(*seen.lock().unwrap(), e.memory_report().kv_cache_bytes);
}

/// A snapshot whose KV part is damaged, or that another model wrote, still
/// gives back the whole conversation: the next turn re-prefills it instead of
/// using the cache, and no message is lost.
#[test]
fn a_damaged_or_foreign_snapshot_restores_the_conversation_and_re_prefills() {
    use crate::memory::snapshot;
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let s = e.new_session();
    say(&s, "Hi.");
    say(&s, "Name a colour.");
    let good = dir.path().join("good.motesnap");
    s.save_snapshot(&good).unwrap();
    let intact = e.restore_session(&good).unwrap();
    assert!(say(&intact, "Another?").stats.cached_prompt_tokens > 0, "an intact snapshot restores the cache");

    let damaged = dir.path().join("damaged.motesnap");
    let mut bytes = std::fs::read(&good).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    std::fs::write(&damaged, &bytes).unwrap();
    let (mut header, kv) = snapshot::read(&good).unwrap();
    header.model_hash = "blake3:another-model".into();
    let foreign = dir.path().join("foreign.motesnap");
    snapshot::write(&foreign, &header, &kv).unwrap();

    for (what, path) in [("damaged KV", &damaged), ("another model's", &foreign)] {
        let r = e.restore_session(path).unwrap();
        assert_eq!(r.history(), s.history(), "{what}: the conversation is restored");
        let reply = say(&r, "Another?");
        assert_eq!(reply.stats.cached_prompt_tokens, 0, "{what}: re-prefilled, not restored from the file");
        assert_eq!(r.history().len(), 6, "{what}: no message lost");
    }
}
