//! The lifecycle surface Kotlin and Swift call, checked from Rust with the
//! real SmolLM2 model: pressure levels through the FFI types, snapshots, the
//! pre-load refusal, and a chat that carries on after each release.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mote_ffi::{
    ChatSession, Engine, LoadOptions, MoteError, PressureLevel, Reply, TokenListener,
};

mod common;

use common::{greedy, model_path};

struct Done(Mutex<Sender<Result<Reply, MoteError>>>);

impl TokenListener for Done {
    fn on_token(&self, _: String) {}
    fn on_complete(&self, reply: Reply) {
        let _ = self.0.lock().unwrap().send(Ok(reply));
    }
    fn on_error(&self, error: MoteError) {
        let _ = self.0.lock().unwrap().send(Err(error));
    }
}

fn ask(session: &ChatSession, message: &str) -> Reply {
    let (tx, rx) = channel();
    session.send(message.into(), greedy(6), Arc::new(Done(Mutex::new(tx))));
    rx.recv_timeout(Duration::from_secs(60)).expect("no reply").expect("turn failed")
}

#[test]
fn background_then_trim_complete_keep_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::load(model_path(), LoadOptions { context_length: 512, ..Default::default() }).unwrap();
    let mut policy = engine.memory_policy().unwrap();
    policy.snapshot_dir = Some(dir.path().display().to_string());
    engine.set_memory_policy(policy).unwrap();
    let session = engine.new_session().unwrap();
    let first = ask(&session, "My name is Ada.");
    let cached = session.cached_tokens().unwrap();
    assert!(cached > 0);

    let bg = engine.on_memory_pressure(PressureLevel::Background).unwrap();
    assert_eq!(bg.level, Some(PressureLevel::Background));
    assert!(bg.actions.snapshot_sessions && bg.actions.drop_kv_cache && !bg.actions.unmap_weights);
    assert_eq!((bg.sessions_released, bg.snapshots_written), (1, 1), "{bg:?}");
    assert!(bg.before.kv_cache_bytes > 0 && bg.after.kv_cache_bytes == 0, "{bg:?}");
    assert!(!session.has_kv_cache().unwrap());
    assert_eq!(session.cached_tokens().unwrap(), cached, "the snapshot keeps the tokens");

    // 80 = TRIM_MEMORY_COMPLETE; 0 asks nothing.
    assert_eq!(engine.on_android_trim_memory(0).unwrap(), None);
    let complete = engine.on_android_trim_memory(80).unwrap().expect("80 is a pressure level");
    assert_eq!(complete.level, Some(PressureLevel::Complete));
    assert!(complete.before.weights_bytes > 0 && complete.after.weights_bytes == 0, "{complete:?}");
    assert!(!engine.is_loaded().unwrap());

    let second = ask(&session, "What is my name?");
    assert!(engine.is_loaded().unwrap());
    let history = session.history().unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history[1].content, first.text);
    assert_eq!(history[3].content, second.text);
    // The cache came back from the snapshot; a re-prefill would reuse nothing.
    assert!(second.stats.cached_prompt_tokens > 0, "{:?} vs {cached} cached before", second.stats);
}

#[test]
fn a_saved_snapshot_restores_into_a_new_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.snapshot").display().to_string();
    let engine = Engine::load(model_path(), LoadOptions { context_length: 512, ..Default::default() }).unwrap();
    let session = engine.new_session().unwrap();
    ask(&session, "Hello");
    session.save_snapshot(path.clone()).unwrap();
    let restored = engine.restore_session(path).unwrap();
    assert_eq!(restored.history().unwrap(), session.history().unwrap());
    assert!(matches!(
        engine.restore_session(dir.path().join("missing").display().to_string()),
        Err(MoteError::InvalidSnapshot { .. })
    ));
}

#[test]
fn a_model_that_does_not_fit_is_refused_before_loading() {
    let options = LoadOptions { available_memory_bytes: Some(16 << 20), ..Default::default() };
    match Engine::load(model_path(), options) {
        Err(MoteError::InsufficientMemory { needed, available }) => {
            assert_eq!(available, 16 << 20);
            assert!(needed > 64 << 20, "needed {needed}");
        }
        Err(other) => panic!("expected InsufficientMemory, got {other:?}"),
        Ok(_) => panic!("loaded with 16 MiB available"),
    }
    let skip = LoadOptions { available_memory_bytes: Some(16 << 20), skip_memory_check: true, context_length: 256, ..Default::default() };
    assert!(Engine::load(model_path(), skip).is_ok());
}

#[test]
fn the_crash_loop_marker_is_reported_through_the_ffi() {
    let dir = tempfile::tempdir().unwrap();
    // What a load the OS killed leaves behind: an armed guard never disarmed.
    let model = std::path::PathBuf::from(model_path());
    std::mem::forget(mote_core::memory::guard::LoadGuard::arm(dir.path(), &model, 2048, true).unwrap().0);
    let options = LoadOptions {
        state_dir: Some(dir.path().display().to_string()),
        reduce_context_after_crash: true,
        ..Default::default()
    };
    let engine = Engine::load(model_path(), options).unwrap();
    let previous = engine.unfinished_load().unwrap().expect("marker reported");
    assert_eq!((previous.model.as_str(), previous.context_length), (model_path().as_str(), 2048));
    assert_eq!(engine.info().unwrap().context_length, 1024, "half the context that crashed");
}
