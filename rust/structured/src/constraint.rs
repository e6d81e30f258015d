//! One reply's grammar state, as a `mote_core::Constraint`.

use llguidance::{Matcher, TokenParser};
use mote_core::Constraint;

/// Follows one reply through its grammar. Made by
/// [`crate::Structured::constraint`]; used once.
pub struct GrammarConstraint {
    matcher: Matcher,
}

impl GrammarConstraint {
    pub(crate) fn new(parser: TokenParser) -> GrammarConstraint {
        GrammarConstraint { matcher: Matcher::new(Ok(parser)) }
    }

    /// Whether the text so far is a complete match (the reply may end here).
    pub fn is_accepting(&mut self) -> bool {
        self.matcher.is_accepting().unwrap_or(false)
    }

    fn failed(&self, what: &str) -> String {
        self.matcher.get_error().unwrap_or_else(|| what.to_string())
    }
}

impl Constraint for GrammarConstraint {
    fn mask(&mut self, logits: &mut [f32]) -> Result<(), String> {
        let m = &mut self.matcher;
        let allowed = crate::guard(|| m.compute_mask().map_err(|e| crate::StructuredError::TooComplex(e.to_string())))
            .map_err(|e| e.to_string())?;
        let n = allowed.len().min(logits.len());
        allowed.iter_unset_entries(|i| {
            if i < n {
                logits[i] = f32::NEG_INFINITY;
            }
        });
        // Logit rows past the vocabulary (padding in some models) are never words.
        logits[n..].iter_mut().for_each(|l| *l = f32::NEG_INFINITY);
        if allowed.num_set() == 0 {
            return Err(self.failed("the grammar allows no token here"));
        }
        Ok(())
    }

    fn accept(&mut self, token: u32) -> Result<(), String> {
        let m = &mut self.matcher;
        crate::guard(|| m.consume_token(token).map_err(|e| crate::StructuredError::InvalidGrammar(e.to_string())))
            .map_err(|e| e.to_string())
    }

    fn is_complete(&mut self) -> bool {
        self.matcher.is_stopped()
    }
}
