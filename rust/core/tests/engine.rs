//! Engine and session behaviour on the real SmolLM2 model: streaming, KV reuse
//! across turns, stop strings, cancellation from another thread, limits and
//! concurrent sessions.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;

use mote_core::{CancelToken, Engine, Error, FinishReason, GenerationConfig, LoadOptions, Role};

fn engine() -> Engine {
    Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 1024, ..Default::default() }).unwrap()
}

fn greedy(max_tokens: u32) -> GenerationConfig {
    GenerationConfig { max_tokens, ..GenerationConfig::greedy() }
}

#[test]
fn streamed_pieces_add_up_to_the_reply() {
    let e = engine();
    let s = e.new_session();
    let mut pieces = Vec::new();
    let reply = s.send("What is the capital of France?", &greedy(24), &CancelToken::new(), &mut |p| pieces.push(p.to_string())).unwrap();
    assert!(pieces.len() > 3);
    assert_eq!(pieces.concat(), reply.text);
    assert!(reply.text.trim().len() > 10, "{:?}", reply.text);
    let st = &reply.stats;
    assert!(st.prompt_tokens > 10 && st.generated_tokens > 0 && st.ttft_ms > 0.0, "{st:?}");
    assert!(st.prefill_tokens_per_s > 0.0 && st.decode_tokens_per_s > 0.0 && st.peak_rss_bytes > 50 << 20, "{st:?}");
}

#[test]
fn a_follow_up_turn_prefills_only_new_tokens_and_matches_a_fresh_run() {
    let e = engine();
    let s = e.new_session();
    let cfg = greedy(16);
    let first = s.send("Name a colour.", &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    let second = s.send("Name another one.", &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(first.stats.cached_prompt_tokens, 0);
    assert!(second.stats.cached_prompt_tokens >= first.stats.prompt_tokens, "{:?}", second.stats);
    let h = s.history();
    assert_eq!(h.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::User, Role::Assistant, Role::User, Role::Assistant]);
    assert_eq!(h[1].content, first.text);

    // The same conversation rendered from scratch into an empty cache gives the
    // same reply: a KV cache reused at a wrong position would derail it at
    // once. (One batched prefill sums floats in another order than turn-by-turn
    // decoding, so only the start must agree: a near-tie may flip later.)
    let l = e.loaded().unwrap();
    let prompt = l.template.render(&h[..3], true).unwrap();
    let tokens = l.tokenizer.encode(&prompt, l.tokenizer.add_bos(), true).unwrap();
    assert_eq!(tokens.len() as u32, second.stats.prompt_tokens);
    let fresh = e.complete(&tokens, &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(common::first_words(&fresh.text, 3), common::first_words(&second.text, 3), "{:?} vs {:?}", fresh.text, second.text);
}

#[test]
fn stop_strings_end_the_reply_and_never_show() {
    let e = engine();
    let cfg = greedy(24);
    let tokens = e.prompt_tokens("The capital of France is", true).unwrap();
    let full = e.complete(&tokens, &cfg, &CancelToken::new(), &mut |_| {}).unwrap().text;
    // Stop at a word from the middle of the unstopped continuation.
    let word = full.split_whitespace().nth(3).expect("a few words").to_string();
    let cut = full.find(&word).unwrap();
    let stopped_cfg = GenerationConfig { stop: vec![word.clone()], ..cfg };
    let mut streamed = String::new();
    let g = e.complete(&tokens, &stopped_cfg, &CancelToken::new(), &mut |p| streamed.push_str(p)).unwrap();
    assert_eq!(g.finish, Some(FinishReason::StopSequence));
    assert_eq!(g.text, full[..cut]);
    assert_eq!(streamed, g.text);
}

#[test]
fn max_tokens_is_respected() {
    let e = engine();
    let tokens = e.prompt_tokens("Once upon a time", true).unwrap();
    let g = e.complete(&tokens, &greedy(5), &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(g.finish, Some(FinishReason::MaxTokens));
    assert_eq!(g.tokens.len(), 5);
}

#[test]
fn same_seed_same_sampled_reply() {
    let e = engine();
    let cfg = GenerationConfig { max_tokens: 16, temperature: 0.9, seed: Some(7), ..Default::default() };
    let tokens = e.prompt_tokens("Write a word:", false).unwrap();
    let a = e.complete(&tokens, &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    let b = e.complete(&tokens, &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(a.tokens, b.tokens);
}

#[test]
fn cancelling_from_another_thread_keeps_the_partial_reply() {
    let e = engine();
    let s = e.new_session();
    let cancel = CancelToken::new();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (c2, seen2) = (cancel.clone(), seen.clone());
    let err = s
        .send("Tell me a long story about a dragon.", &greedy(200), &cancel, &mut |p| {
            let mut v = seen2.lock().unwrap();
            v.push(p.to_string());
            if v.len() == 3 {
                // Cancel from elsewhere, as an app's UI thread would.
                let c = c2.clone();
                thread::spawn(move || c.cancel()).join().unwrap();
            }
        })
        .err()
        .unwrap();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    let pieces = seen.lock().unwrap().clone();
    assert_eq!(pieces.len(), 3, "no piece may arrive after cancellation: {pieces:?}");
    let h = s.history();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].content, pieces.concat());
    // The session carries on.
    let next = s.send("Thanks.", &greedy(4), &CancelToken::new(), &mut |_| {}).unwrap();
    assert!(next.stats.cached_prompt_tokens > 0);
}

#[test]
fn reset_forgets_the_conversation() {
    let e = engine();
    let s = e.new_session();
    s.send("Hello!", &greedy(4), &CancelToken::new(), &mut |_| {}).unwrap();
    s.reset().unwrap();
    assert!(s.history().is_empty());
    let r = s.send("Hello!", &greedy(4), &CancelToken::new(), &mut |_| {}).unwrap();
    // The system prompt's tokens may be reused, the old turn's may not.
    assert!(r.stats.cached_prompt_tokens < r.stats.prompt_tokens / 2 + 1 || r.stats.cached_prompt_tokens == 0, "{:?}", r.stats);
    assert_eq!(s.history().len(), 2);
}

#[test]
fn two_sessions_on_two_threads() {
    let e = engine();
    let expected = e.new_session().send("Say hi.", &greedy(12), &CancelToken::new(), &mut |_| {}).unwrap().text;
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let e = e.clone();
            thread::spawn(move || e.new_session().send("Say hi.", &greedy(12), &CancelToken::new(), &mut |_| {}).unwrap().text)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), expected);
    }
}

#[test]
fn release_and_reload_gives_the_same_reply() {
    let e = engine();
    let s = e.new_session();
    let a = s.send("Name a fruit.", &greedy(8), &CancelToken::new(), &mut |_| {}).unwrap();
    let r = e.release(mote_core::memory::Actions::all());
    assert_eq!(r.sessions_released, 1);
    assert!(!e.is_loaded() && !s.has_kv_cache());
    assert_eq!(s.history().len(), 2, "the conversation survives a release");
    let fresh = e.new_session();
    let b = fresh.send("Name a fruit.", &greedy(8), &CancelToken::new(), &mut |_| {}).unwrap();
    assert!(e.is_loaded());
    assert_eq!(a.text, b.text);
}

#[test]
fn a_busy_session_refuses_a_second_send() {
    let e = engine();
    let s = Arc::new(e.new_session());
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = s.clone();
    let t = thread::spawn(move || {
        let mut first = true;
        s2.send("Count to twenty.", &greedy(30), &CancelToken::new(), &mut |_| {
            if std::mem::take(&mut first) {
                tx.send(()).unwrap();
                thread::sleep(std::time::Duration::from_millis(300));
            }
        })
    });
    rx.recv().unwrap();
    let err = s.send("Hello?", &greedy(4), &CancelToken::new(), &mut |_| {}).err().unwrap();
    assert!(matches!(err, Error::Busy), "{err:?}");
    assert!(t.join().unwrap().is_ok());
    assert_eq!(s.history().len(), 2);
}

/// A model stored inside another file (an uncompressed APK asset) loads in
/// place from its byte range and generates exactly what the plain file does;
/// misaligned or out-of-file ranges are typed errors.
#[test]
fn model_embedded_in_a_larger_file_loads_from_its_byte_range() {
    use mote_core::{CancelToken, Engine, GenerationConfig, LoadOptions};
    let model = common::model_path("smollm2");
    let bytes = std::fs::read(&model).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let apk = dir.path().join("app.apk");
    let offset = 4096u64 * 3 + 64; // 32-byte aligned, not page aligned
    let mut blob = vec![0x5au8; offset as usize];
    blob.extend_from_slice(&bytes);
    blob.extend_from_slice(b"PK\x05\x06 trailing zip directory");
    std::fs::write(&apk, &blob).unwrap();

    let config = GenerationConfig { max_tokens: 8, temperature: 0.0, ..Default::default() };
    let run = |path: &std::path::Path, range| {
        let e = Engine::load(path, LoadOptions { context_length: 128, byte_range: range, ..Default::default() }).unwrap();
        let tokens = e.tokenize("The capital of France is", None).unwrap();
        e.complete(&tokens, &config, &CancelToken::new(), &mut |_| {}).unwrap().tokens
    };
    let plain = run(&model, None);
    let embedded = run(&apk, Some((offset, bytes.len() as u64)));
    assert_eq!(embedded, plain, "same tokens from the embedded copy");

    for (range, what) in [((offset + 4, bytes.len() as u64), "aligned"), ((offset, blob.len() as u64), "outside")] {
        match Engine::load(&apk, LoadOptions { byte_range: Some(range), ..Default::default() }) {
            Err(mote_core::Error::InvalidModel(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("{range:?}: {:?}", other.err()),
        }
    }
}
