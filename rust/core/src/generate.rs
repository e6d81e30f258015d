//! The generation loop: prefill the new prompt tokens, then sample, stream and
//! stop. It is synchronous; callers run it on a worker thread of their own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::GenerationConfig;
use crate::constraint::Constraint;
use crate::error::{Error, Result};
use crate::model::{Architecture, KvCache};
use crate::sampling::Sampler;
use crate::stats::{FinishReason, Stats};
use crate::stream::{StopMatcher, StopOutcome, Utf8Assembler};
use crate::sys;
use crate::tokenizer::Tokenizer;

/// Prefill runs in chunks so the attention scores of a long prompt never need
/// one huge allocation. Cancellation is checked before every chunk and, inside
/// one, before every layer: a cancel is noticed within 1/n_layer of a chunk's
/// work (256 tokens over SmolLM2's 30 layers: the work of ≈9 tokens).
const PREFILL_CHUNK: usize = 256;

/// Cancels a generation from any thread. Cloning shares the flag.
#[derive(Clone, Default, Debug)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Generation {
    pub text: String,
    pub tokens: Vec<u32>,
    /// `None` when cancelled; `text` and `tokens` then hold what came before.
    pub finish: Option<FinishReason>,
    pub stats: Stats,
}

pub struct Request<'a> {
    pub config: &'a GenerationConfig,
    pub cancel: &'a CancelToken,
    /// Stop strings beyond the config's own, e.g. a template's end-of-turn text.
    pub extra_stops: &'a [String],
    /// Prompt tokens already in the KV cache (for the stats).
    pub cached_prompt_tokens: usize,
    /// Sleep between generated tokens (thermal pacing); zero for none.
    pub pace: Duration,
    /// What the reply may be (structured output); `None` for free text.
    pub constraint: Option<&'a mut dyn Constraint>,
}

/// Feeds `new_tokens` after the `context` already in `cache`, then generates.
/// `context` is kept equal to the tokens whose keys and values are cached.
pub fn generate(
    model: &dyn Architecture,
    tok: &Tokenizer,
    cache: &mut KvCache,
    context: &mut Vec<u32>,
    new_tokens: &[u32],
    req: &mut Request,
    on_piece: &mut dyn FnMut(&str),
) -> Result<Generation> {
    let started = Instant::now();
    let cfg = req.config;
    cfg.validate()?;
    let ctx = cache.max_len();
    let prompt_total = context.len() + new_tokens.len();
    if new_tokens.is_empty() {
        return Err(Error::InvalidArgument("nothing to generate from: the prompt is empty".into()));
    }
    // Room for the prompt and at least one generated token.
    if prompt_total >= ctx {
        return Err(Error::PromptTooLong { tokens: prompt_total, context: ctx });
    }
    debug_assert_eq!(context.len(), cache.len());

    let mut logits = None;
    for chunk in new_tokens.chunks(PREFILL_CHUNK) {
        if req.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let stop = || req.cancel.is_cancelled();
        logits = Some(model.forward_until(chunk, cache, false, &stop)?);
        context.extend_from_slice(chunk);
    }
    let mut logits: Vec<f32> = logits.expect("prompt is not empty").into_last();
    let prefill_s = started.elapsed().as_secs_f64();

    let mut sampler = Sampler::new(cfg);
    let mut utf8 = Utf8Assembler::default();
    let mut stops = StopMatcher::new(cfg.stop.iter().chain(req.extra_stops).cloned().collect());
    let mut text = String::new();
    let mut tokens = Vec::new();
    let mut first_token_at = None;
    let mut emit = |s: &str, text: &mut String| {
        if !s.is_empty() {
            text.push_str(s);
            on_piece(s);
        }
    };

    let finish = loop {
        if req.cancel.is_cancelled() {
            break None;
        }
        if tokens.len() >= cfg.max_tokens as usize {
            break Some(FinishReason::MaxTokens);
        }
        if let Some(c) = req.constraint.as_deref_mut() {
            c.mask(&mut logits).map_err(Error::Constraint)?;
        }
        let next = sampler.sample(&mut logits, context);
        first_token_at.get_or_insert_with(Instant::now);
        if tok.is_eog(next) {
            break Some(FinishReason::EndOfTurn);
        }
        let complete = match req.constraint.as_deref_mut() {
            Some(c) => {
                c.accept(next).map_err(Error::Constraint)?;
                c.is_complete()
            }
            None => false,
        };
        tokens.push(next);
        let piece = utf8.push(&tok.token_bytes(next));
        match stops.push(&piece) {
            StopOutcome::Emit(s) => emit(&s, &mut text),
            StopOutcome::Stopped(s) => {
                emit(&s, &mut text);
                break Some(FinishReason::StopSequence);
            }
        }
        if complete {
            break Some(FinishReason::EndOfTurn);
        }
        if cache.len() + 1 >= ctx {
            break Some(FinishReason::ContextFull);
        }
        // A cancel mid-step drops this token's cache entry; the reply so far stands.
        let stop = || req.cancel.is_cancelled();
        logits = match model.forward_until(&[next], cache, false, &stop) {
            Err(Error::Cancelled) => break None,
            step => step?.into_last(),
        };
        context.push(next);
        pause(req.pace, req.cancel);
    };
    if finish != Some(FinishReason::StopSequence) {
        // Text held back as a possible stop string was not one after all.
        match stops.push(&utf8.finish()) {
            StopOutcome::Emit(s) => {
                emit(&s, &mut text);
                emit(&stops.finish(), &mut text);
            }
            StopOutcome::Stopped(s) => emit(&s, &mut text),
        }
    }

    let now = Instant::now();
    let decode_s = first_token_at.map_or(0.0, |t| now.duration_since(t).as_secs_f64());
    let prefilled = new_tokens.len();
    let stats = Stats {
        load_ms: 0.0,
        prompt_tokens: prompt_total as u32,
        cached_prompt_tokens: req.cached_prompt_tokens as u32,
        generated_tokens: tokens.len() as u32,
        ttft_ms: first_token_at.map_or(0.0, |t| t.duration_since(started).as_secs_f64() * 1e3),
        prefill_tokens_per_s: rate(prefilled, prefill_s),
        // The first token's time belongs to prefill; decode covers the rest.
        decode_tokens_per_s: rate(tokens.len().saturating_sub(1), decode_s),
        peak_rss_bytes: sys::peak_rss_bytes(),
    };
    Ok(Generation { text, tokens, finish, stats })
}

/// Sleeps for `pace`, waking early when cancelled.
fn pause(pace: Duration, cancel: &CancelToken) {
    let until = Instant::now() + pace;
    while !cancel.is_cancelled() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(5)));
    }
}

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}
