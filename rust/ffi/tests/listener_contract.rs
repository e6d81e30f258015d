//! The threading contract of `ChatSession::send` that the Kotlin and Swift
//! wrappers rely on, checked from Rust with the real SmolLM2 model
//! (MOTE_TEST_MODEL, or the cache filled by scripts/fetch-models.sh).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mote_ffi::{Engine, LoadOptions, MoteError, Reply, TaskHandle, TokenListener};

mod common;

use common::{greedy, model_path};

fn engine() -> Arc<Engine> {
    Engine::load(model_path(), LoadOptions { context_length: 512, ..Default::default() }).expect("load")
}

#[derive(Debug)]
enum Event {
    Token(String),
    Done(Result<Reply, MoteError>),
}

/// Forwards callbacks to a channel; optionally misbehaves on a given token.
struct Probe {
    tx: Mutex<Sender<Event>>,
    tokens: Mutex<usize>,
    panic_at: Option<usize>,
    cancel_at: Option<(usize, Arc<Mutex<Option<Arc<TaskHandle>>>>)>,
}

impl Probe {
    fn new() -> (Arc<Self>, Receiver<Event>) {
        let (tx, rx) = channel();
        (Arc::new(Probe { tx: Mutex::new(tx), tokens: Mutex::new(0), panic_at: None, cancel_at: None }), rx)
    }
}

impl TokenListener for Probe {
    fn on_token(&self, text: String) {
        let n = {
            let mut n = self.tokens.lock().unwrap();
            *n += 1;
            *n
        };
        self.tx.lock().unwrap().send(Event::Token(text)).unwrap();
        if self.panic_at == Some(n) {
            panic!("listener bug");
        }
        if let Some((at, slot)) = &self.cancel_at {
            if *at == n {
                slot.lock().unwrap().as_ref().expect("handle stored").cancel();
            }
        }
    }
    fn on_complete(&self, reply: Reply) {
        self.tx.lock().unwrap().send(Event::Done(Ok(reply))).unwrap();
    }
    fn on_error(&self, error: MoteError) {
        self.tx.lock().unwrap().send(Event::Done(Err(error))).unwrap();
    }
}

/// Collects events until the terminal one; asserts there is exactly one.
fn drain(rx: &Receiver<Event>) -> (Vec<String>, Result<Reply, MoteError>) {
    let mut tokens = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)).expect("listener went silent") {
            Event::Token(t) => tokens.push(t),
            Event::Done(result) => {
                assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "callback after the terminal one");
                return (tokens, result);
            }
        }
    }
}

#[test]
fn a_panicking_listener_ends_the_turn_with_internal_and_the_session_survives() {
    let engine = engine();
    let session = engine.new_session().unwrap();
    let (tx, rx) = channel();
    let probe = Arc::new(Probe { tx: Mutex::new(tx), tokens: Mutex::new(0), panic_at: Some(2), cancel_at: None });
    let handle = session.send("Tell me a story.".into(), greedy(64), probe);
    let (tokens, result) = drain(&rx);
    assert_eq!(tokens.len(), 2, "tokens kept flowing after the listener failed");
    match result {
        Err(MoteError::Internal { reason }) => assert!(reason.contains("listener bug"), "{reason}"),
        other => panic!("expected Internal, got {other:?}"),
    }
    assert!(handle.is_finished());
    // The failure was the listener's: the session can carry on.
    let (probe, rx) = Probe::new();
    session.send("Hello".into(), greedy(4), probe);
    assert!(drain(&rx).1.is_ok());
}

#[test]
fn cancelling_from_inside_on_token_does_not_deadlock() {
    let engine = engine();
    let session = engine.new_session().unwrap();
    let slot = Arc::new(Mutex::new(None));
    let (tx, rx) = channel();
    let probe = Arc::new(Probe { tx: Mutex::new(tx), tokens: Mutex::new(0), panic_at: None, cancel_at: Some((3, slot.clone())) });
    // Hold the slot so the worker cannot reach token 3 before the handle is stored.
    let mut guard = slot.lock().unwrap();
    *guard = Some(session.send("Count to fifty.".into(), greedy(64), probe));
    drop(guard);
    let (tokens, result) = drain(&rx);
    assert_eq!(tokens.len(), 3);
    assert_eq!(result.unwrap_err(), MoteError::Cancelled);
    let history = session.history().unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[1].content.starts_with(&tokens.concat()));
}

#[test]
fn busy_is_reported_before_send_returns() {
    let engine = engine();
    let session = engine.new_session().unwrap();
    let (first, first_rx) = Probe::new();
    let running = session.send("Describe the sea.".into(), greedy(32), first);
    let (second, second_rx) = Probe::new();
    let rejected = session.send("And the sky?".into(), greedy(4), second);
    // Synchronous: the outcome is already there, no waiting.
    assert!(rejected.is_finished());
    match second_rx.try_recv() {
        Ok(Event::Done(Err(MoteError::Busy))) => {}
        other => panic!("expected an immediate Busy, got {other:?}"),
    }
    assert_eq!(session.reset(), Err(MoteError::Busy));
    assert!(drain(&first_rx).1.is_ok());
    assert!(running.is_finished());
    assert_eq!(session.history().unwrap().len(), 2);
}

#[test]
fn load_errors_are_typed() {
    match Engine::load("/nonexistent/m.gguf".into(), LoadOptions::default()) {
        Err(MoteError::ModelUnreadable { path, .. }) => assert_eq!(path, "/nonexistent/m.gguf"),
        Err(other) => panic!("expected ModelUnreadable, got {other:?}"),
        Ok(_) => panic!("loaded a missing file"),
    }
    let not_gguf = std::env::temp_dir().join(format!("mote-ffi-not-gguf-{}", std::process::id()));
    std::fs::write(&not_gguf, b"hello, not a model").unwrap();
    let result = Engine::load(not_gguf.to_string_lossy().into_owned(), LoadOptions::default());
    std::fs::remove_file(&not_gguf).unwrap();
    assert!(matches!(result, Err(MoteError::InvalidModel { .. })), "{:?}", result.err());
}
