//! `mote bench --schema FILE`: what constrained decoding costs, as the
//! ratio of constrained to unconstrained decode speed measured in the same
//! run, reps interleaved.

use std::time::Instant;

use mote_core::engine::Loaded;
use mote_core::sampling::argmax;
use mote_core::Constraint;
use mote_structured::{Grammar, GrammarConstraint, Structured};

/// One constrained decode run.
pub struct Run {
    pub tokens_per_s: f64,
    /// Mask plus accept, per token.
    pub constraint_us_per_token: f64,
    /// Making a fresh constraint (compiling the schema), per reply.
    pub compile_ms: f64,
}

/// Decodes `n` tokens after `prompt`, greedily, each through the grammar.
/// When a reply completes (grammar done or an end token), the next one
/// starts with a fresh constraint in the same context, so `n` tokens are
/// always decoded.
pub fn decode(l: &Loaded, s: &Structured, g: &Grammar, prompt: &[u32], n: usize, ctx: usize) -> Result<Run, Box<dyn std::error::Error>> {
    let mut cache = l.model.new_cache(ctx);
    let mut logits = l.model.forward(prompt, &mut cache, false)?.last().to_vec();
    let (mut compile_s, mut replies) = (0.0, 1usize);
    let fresh = |compile_s: &mut f64| -> Result<GrammarConstraint, Box<dyn std::error::Error>> {
        let t = Instant::now();
        let c = s.constraint(g)?;
        *compile_s += t.elapsed().as_secs_f64();
        Ok(c)
    };
    let mut c = fresh(&mut compile_s)?;
    let mut in_constraint = 0.0;
    let t0 = Instant::now();
    for _ in 0..n {
        let tm = Instant::now();
        c.mask(&mut logits)?;
        let next = argmax(&logits);
        let done = l.tokenizer.is_eog(next) || {
            c.accept(next)?;
            c.is_complete()
        };
        in_constraint += tm.elapsed().as_secs_f64();
        if done {
            c = fresh(&mut compile_s)?;
            replies += 1;
        }
        logits.clear();
        logits.extend_from_slice(l.model.forward(&[next], &mut cache, false)?.last());
    }
    let total = t0.elapsed().as_secs_f64() - compile_s;
    Ok(Run {
        tokens_per_s: n as f64 / total.max(1e-9),
        constraint_us_per_token: in_constraint / n.max(1) as f64 * 1e6,
        compile_ms: compile_s / replies as f64 * 1e3,
    })
}
