//! A model file from anywhere: the GGUF parser, then every step
//! `Engine::load` takes on what it accepts (config, memory estimate, model
//! info, tokenizer, chat template, model), then one token through the
//! model. Each refuses with a typed error or works; none panics, and none
//! allocates beyond what the file's size justifies (libFuzzer's
//! -malloc_limit_mb and -rss_limit_mb turn a blow-up into a finding).
//!
//! The input is the file. Seeds (rust/fuzz/corpus/gguf_model) are tiny
//! models of every architecture and weight type that load and run, so
//! mutations start deep inside model construction and the kernels.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mote_core::gguf::GgufFile;
use mote_core::model::{self, ModelConfig};
use mote_core::{ChatMessage, ChatTemplate, Error, Role, Tokenizer};
use mote_kernels::ThreadPool;

/// The context the model is built for: small, so RoPE tables and the KV
/// cache stay small whatever the file says.
const CTX: usize = 16;

/// One pool for the process: a pool per input would spawn a thread per input.
fn pool() -> Arc<ThreadPool> {
    static POOL: OnceLock<Arc<ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| Arc::new(ThreadPool::new(1))).clone()
}

/// What a hostile file may be refused with: never a panic, never an error
/// that blames the caller or the machine.
fn refused(what: &str, e: Error) {
    assert!(
        matches!(e, Error::InvalidModel(_) | Error::UnsupportedModel(_) | Error::Backend(_) | Error::Template(_) | Error::Tokenizer(_)),
        "{what} failed with {e:?}, not a model error"
    );
}

fuzz_target!(|data: &[u8]| {
    let g = match GgufFile::from_bytes(data.to_vec()) {
        Ok(g) => g,
        Err(e) => return refused("parse", e),
    };
    for t in &g.tensors {
        assert_eq!(g.tensor_data(t).len(), t.size, "tensor {} data", t.name);
    }

    if let Ok(cfg) = ModelConfig::from_gguf(&g) {
        let _ = mote_core::engine::estimate_bytes(&g, &cfg, CTX);
        let _ = mote_core::ModelInfo::new(&g, &cfg, CTX);
    }

    match Tokenizer::from_gguf(&g) {
        Ok(tok) => text(&g, &tok),
        Err(e) => refused("tokenizer", e),
    }

    let m = match model::load(&g, CTX, pool()) {
        Ok(m) => m,
        Err(e) => return refused("model load", e),
    };
    let vocab = m.config().vocab_size;
    match m.forward(&[1], &mut m.new_cache(CTX), false) {
        Ok(logits) => assert_eq!((logits.rows(), logits.vocab()), (1, vocab), "logits shape"),
        // Token 1 lies outside a one-token vocabulary.
        Err(Error::InvalidArgument(_)) if vocab < 2 => {}
        Err(e) => refused("forward", e),
    }
});

/// The file's tokenizer and chat template on a short chat, as a session's first turn.
fn text(g: &GgufFile, tok: &Tokenizer) {
    let ids = tok.encode("Hello <|im_start|> world <s>\n", tok.add_bos(), true).unwrap_or_else(|e| {
        refused("encode", e);
        Vec::new()
    });
    assert!(ids.iter().all(|&id| (id as usize) < tok.vocab_size()), "encode gave an id outside the vocabulary");
    let _ = tok.decode(&ids);
    let template = match ChatTemplate::from_gguf(g, tok) {
        Ok(t) => t,
        Err(e) => return refused("chat template", e),
    };
    let chat = [ChatMessage::new(Role::System, "Be brief."), ChatMessage::new(Role::User, "Hi <|im_end|>")];
    match template.encode(tok, &chat, true) {
        Ok(ids) => assert!(ids.iter().all(|&id| (id as usize) < tok.vocab_size()), "prompt id outside the vocabulary"),
        Err(Error::InvalidArgument(_)) => {}
        Err(e) => refused("prompt", e),
    }
}
