//! Long chats never dead-end: a 200-turn conversation at a 512-token context
//! completes under `DropOldest` and `Shift`, and `Fail` stops with
//! `ContextFull` without losing history. A KV shift re-rotates the kept keys
//! exactly to their new positions, on the real SmolLM2 and on a synthetic
//! Gemma 3 (two RoPE tables, sliding windows).

mod common;

use std::time::Instant;

use mote_core::model::Architecture;
use mote_core::{CancelToken, ContextPolicy, Engine, Error, GenerationConfig, KvType, LoadOptions, Role};

fn engine(ctx: usize) -> Engine {
    Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: ctx, ..Default::default() }).unwrap()
}

fn chat(policy: ContextPolicy, turns: usize) -> (Vec<u32>, mote_core::Session) {
    let e = engine(512);
    let s = e.new_session();
    s.set_system_prompt(Some("You are a terse assistant.".into())).unwrap();
    s.set_context_policy(policy).unwrap();
    let cfg = GenerationConfig { max_tokens: 12, ..GenerationConfig::greedy() };
    let mut cached = Vec::new();
    for i in 0..turns {
        let r = s
            .send(&format!("Turn {i}: name a thing that is {}.", ["red", "round", "soft", "loud", "cold"][i % 5]), &cfg, &CancelToken::new(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{policy:?} turn {i}: {e}"));
        let st = s.context_status();
        // A reply may fill the context; its end-of-turn markup (never cached) can then
        // take the rendered conversation a few tokens past it, until the next turn drops.
        assert!(st.limit == 512 && st.used <= 512 + 4, "{policy:?} turn {i}: {st:?}");
        assert!(r.stats.prompt_tokens < 512);
        cached.push(r.stats.cached_prompt_tokens);
    }
    (cached, s)
}

#[test]
fn two_hundred_turns_at_context_512_complete_with_drop_oldest_and_shift() {
    let mut summary = Vec::new();
    for policy in [ContextPolicy::DropOldest, ContextPolicy::Shift] {
        let t = Instant::now();
        let (cached, s) = chat(policy, 200);
        let st = s.context_status();
        assert_eq!(s.history().len(), 400, "the app's history keeps every message");
        assert!(st.dropped_messages > 300, "{st:?}");
        let reused: u32 = cached.iter().sum();
        summary.push((policy, reused));
        println!("{policy:?}: 200 turns in {:.1} s, {st:?}, {reused} prompt tokens reused from the cache", t.elapsed().as_secs_f64());
    }
    // Shifting keeps the cache across drops; dropping re-prefills after the system prompt.
    assert!(summary[1].1 > summary[0].1, "{summary:?}");
}

#[test]
fn fail_stops_with_context_full_and_keeps_the_history() {
    let e = engine(512);
    let s = e.new_session();
    s.set_context_policy(ContextPolicy::Fail).unwrap();
    let cfg = GenerationConfig { max_tokens: 12, ..GenerationConfig::greedy() };
    let mut turns = 0;
    let err = loop {
        match s.send("Name a colour, please.", &cfg, &CancelToken::new(), &mut |_| {}) {
            Ok(_) => turns += 1,
            Err(e) => break e,
        }
        assert!(turns < 200, "a 512-token context cannot hold 200 turns");
    };
    assert!(matches!(err, Error::ContextFull { context: 512 }), "{err:?}");
    assert_eq!(s.history().len(), 2 * turns, "nothing lost");
    // Editing the history makes room again.
    s.truncate_history(2).unwrap();
    s.send("Name a colour, please.", &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    // A message that cannot fit even alone is PromptTooLong under every policy.
    let huge = "word ".repeat(600);
    assert!(matches!(s.send(&huge, &cfg, &CancelToken::new(), &mut |_| {}), Err(Error::PromptTooLong { .. })));
    s.set_context_policy(ContextPolicy::DropOldest).unwrap();
    assert!(matches!(s.send(&huge, &cfg, &CancelToken::new(), &mut |_| {}), Err(Error::PromptTooLong { .. })));
}

#[test]
fn token_counts_status_and_history_edits_agree() {
    let e = engine(512);
    let s = e.new_session();
    // Special-token text in a message counts as the plain text it is, not as one control token.
    assert!(e.count_tokens("hi<|im_end|>").unwrap() > e.count_tokens("hi").unwrap() + 2);
    assert_eq!(e.tokenize("hi<|im_end|>", Some(false)).unwrap().len(), e.count_tokens("hi").unwrap() + 1);
    let cfg = GenerationConfig { max_tokens: 6, ..GenerationConfig::greedy() };
    s.send("Say one word.", &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    s.send("Another.", &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    let h = s.history();
    let st = s.context_status();
    // `used` is the conversation as the next prompt holds it, without the new turn's opener.
    let with_opener = e.count_message_tokens(&h).unwrap();
    assert!(st.used < with_opener && with_opener - st.used < 8, "{st:?} vs {with_opener}");
    assert_eq!(st.remaining, 512 - st.used);
    s.replace_message(0, mote_core::ChatMessage::new(Role::User, "Say two words.")).unwrap();
    assert_eq!(s.history()[0].content, "Say two words.");
    s.remove_message(3).unwrap();
    assert_eq!(s.history().len(), 3);
    assert!(s.context_status().used < st.used);
    assert!(matches!(s.remove_message(3), Err(Error::InvalidArgument(_))));
    s.truncate_history(0).unwrap();
    assert!(s.history().is_empty());
    // The next turn reuses the cached prefix that still matches (the system part, here none).
    let r = s.send("Hello.", &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(s.history().len(), 2);
    assert!(r.stats.prompt_tokens > 0);
}

/// After cutting `drop` tokens out of the cache, the first layer's keys
/// and values equal those a fresh prefill of the remaining tokens writes.
/// (Only the first layer: deeper layers' entries were computed while the
/// dropped tokens were in view, and llama.cpp's shift keeps them as they are;
/// what the shift itself must get right is the re-rotation, and the first
/// layer's keys depend on nothing but the token and its position.)
fn shift_matches_fresh_prefill(m: &dyn Architecture, vocab: u32) {
    let toks: Vec<u32> = (0..90u32).map(|i| (i * 37 + 11) % vocab).collect();
    let (keep, drop) = (10, 40);
    let c = m.config();
    let layer0 = |cache: &mote_core::model::KvCache| {
        let n = c.n_kv_head * cache.len() * c.head_dim;
        cache.export().unwrap()[..2 * n].to_vec()
    };
    let mut cache = m.new_cache(256);
    m.forward(&toks, &mut cache, false).unwrap();
    let before = layer0(&cache);
    m.shift_cache(&mut cache, keep, drop).unwrap();
    assert_eq!(cache.len(), toks.len() - drop);
    let mut fresh_tokens = toks[..keep].to_vec();
    fresh_tokens.extend_from_slice(&toks[keep + drop..]);
    let mut fresh = m.new_cache(256);
    m.forward(&fresh_tokens, &mut fresh, false).unwrap();
    let (shifted, fresh) = (layer0(&cache), layer0(&fresh));
    let dev = shifted.iter().zip(&fresh).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    let scale = fresh.iter().map(|v| v.abs()).fold(0f32, f32::max);
    // An f32 cache re-rotates exactly up to float error; an f16 or q8_0 one
    // stores each re-rotated key rounded again (2^-11 relative for f16, a
    // 1/254 step of the block's largest value for q8_0).
    let tol = match c.kv_type {
        KvType::F32 => 1e-4,
        KvType::F16 => 2e-3,
        KvType::Q8_0 => 2e-2,
    };
    println!("{:?} cache, shift vs fresh prefill, layer 0 K/V: max |Δ| {dev:.2e} (values up to {scale:.1})", c.kv_type);
    assert!(dev < tol * scale.max(1.0), "{dev} vs scale {scale}");
    // Moving without re-rotating would leave the keys rotated for their old positions.
    let n = c.n_kv_head * (toks.len() - drop) * c.head_dim;
    let mut moved: Vec<f32> = Vec::new();
    for g in 0..c.n_kv_head {
        let head = &before[g * toks.len() * c.head_dim..][..toks.len() * c.head_dim];
        moved.extend_from_slice(&head[..keep * c.head_dim]);
        moved.extend_from_slice(&head[(keep + drop) * c.head_dim..]);
    }
    let unrotated = moved.iter().zip(&fresh[..n]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    let margin = if c.kv_type == KvType::F32 { 100.0 } else { 5.0 };
    assert!(unrotated > margin * dev.max(1e-6), "the re-rotation is what makes them agree ({unrotated} vs {dev})");
}

#[test]
fn a_kv_shift_equals_a_fresh_prefill_on_smollm2_for_every_cache_type() {
    for kv_type in [KvType::F32, KvType::F16, KvType::Q8_0] {
        let e = Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 256, kv_type, ..Default::default() }).unwrap();
        let l = e.loaded().unwrap();
        assert_eq!(l.model.config().kv_type, kv_type);
        shift_matches_fresh_prefill(l.model.as_ref(), l.model.config().vocab_size as u32);
    }
}

#[test]
fn a_kv_shift_equals_a_fresh_prefill_on_gemma3_with_local_and_global_ropes() {
    let path = common::synthetic_path("gemma3-scaled", "f32");
    let e = Engine::load(&path, LoadOptions { context_length: 256, ..Default::default() }).unwrap();
    let l = e.loaded().unwrap();
    shift_matches_fresh_prefill(l.model.as_ref(), l.model.config().vocab_size as u32);
}
