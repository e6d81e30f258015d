//! Perplexity as llama.cpp's `llama-perplexity` computes it, so our numbers
//! compare with its: non-overlapping windows of `ctx` tokens, each from an
//! empty cache and starting with BOS when the model uses one, scoring only the
//! second half of each window so every scored token has context behind it.

use serde::Serialize;

use crate::engine::Engine;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct Perplexity {
    pub ppl: f64,
    /// Tokens scored.
    pub tokens: usize,
}

pub fn perplexity(engine: &Engine, text: &str, ctx: usize) -> Result<Perplexity> {
    let l = engine.loaded()?;
    if ctx < 4 || ctx > engine.context_length() {
        return Err(Error::InvalidArgument(format!(
            "ctx must be within 4..={} (the engine's context)",
            engine.context_length()
        )));
    }
    let tok = &l.tokenizer;
    let all = tok.encode(text, tok.add_bos(), false)?;
    let windows = all.len() / ctx;
    if windows == 0 {
        return Err(Error::InvalidArgument(format!("the text has {} tokens, fewer than one window of {ctx}", all.len())));
    }
    let (mut nll, mut count) = (0f64, 0usize);
    for w in 0..windows {
        let mut window = all[w * ctx..(w + 1) * ctx].to_vec();
        if tok.add_bos() {
            if let Some(bos) = tok.bos_id() {
                window[0] = bos;
            }
        }
        // Only the second half is scored, so the first half is prefilled
        // without logits: for a 262k-word vocabulary the output projection
        // costs more than the rest of the model.
        let half = ctx / 2;
        let mut cache = l.model.new_cache(ctx);
        l.model.forward(&window[..half], &mut cache, false)?;
        let logits = l.model.forward(&window[half..], &mut cache, true)?;
        for (p, &next) in window.iter().enumerate().skip(half + 1) {
            nll -= log_softmax_at(logits.row(p - 1 - half), next as usize);
            count += 1;
        }
    }
    Ok(Perplexity { ppl: (nll / count as f64).exp(), tokens: count })
}

fn log_softmax_at(row: &[f32], i: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    row[i] as f64 - max - sum.ln()
}
