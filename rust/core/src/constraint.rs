//! A hook that restricts which tokens may come next: structured output
//! (JSON Schema, regex, grammar) and forced tool calls. The engine knows
//! nothing of grammars; `mote-structured` implements this with llguidance,
//! and an app may implement it too.

/// Decides, token by token, what the model may write.
///
/// The generation loop calls [`Constraint::mask`] before sampling each
/// token and [`Constraint::accept`] with the token sampled, and ends the
/// reply (as [`crate::FinishReason::EndOfTurn`]) once
/// [`Constraint::is_complete`]. An end-of-generation token ends it too, so a
/// constraint that must not end yet masks those tokens out.
pub trait Constraint: Send {
    /// Sets the logits of every token that may not come next to −∞. An
    /// `Err` ends the generation with [`crate::Error::Constraint`] carrying
    /// its message (e.g. the grammar grew too complex to follow).
    fn mask(&mut self, logits: &mut [f32]) -> Result<(), String>;
    /// Records the token sampled after the last [`Constraint::mask`].
    fn accept(&mut self, token: u32) -> Result<(), String>;
    /// Whether the constrained text is complete: nothing more may follow.
    fn is_complete(&mut self) -> bool;
}
