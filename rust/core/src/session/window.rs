//! Which part of a conversation the model sees. A chat outlives any context
//! window, so each turn picks the newest messages that fit (keeping the
//! system prompt) under the session's [`ContextPolicy`], and, for `Shift`,
//! works out which cached tokens belong to the turns it drops so they can be
//! cut out of the KV cache instead of re-prefilling everything after them.

use crate::error::{Error, Result};
use crate::template::{ChatMessage, ChatTemplate, Role};
use crate::tokenizer::Tokenizer;

/// What a session does when the conversation no longer fits its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContextPolicy {
    /// Keep the system prompt and the newest whole exchanges that fit. When
    /// a turn would not fit, the oldest exchanges go until the conversation
    /// takes half the context; the cached prefix (the system prompt) is
    /// reused and the rest re-prefilled.
    #[default]
    DropOldest,
    /// Like `DropOldest`, but the dropped exchanges are cut out of the KV
    /// cache and the later keys re-rotated (llama.cpp's context shift), so
    /// nothing is re-prefilled. Falls back to `DropOldest` when the template
    /// does not render turns independently (Gemma folds the system prompt
    /// into the first user turn).
    Shift,
    /// Never drop anything: a turn that does not fit fails with `ContextFull`.
    Fail,
}

/// How full a session's context is, as of the last completed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContextStatus {
    /// Tokens the conversation the model sees takes (system prompt and the
    /// messages still in the window).
    pub used: usize,
    /// The session's context length.
    pub limit: usize,
    pub remaining: usize,
    /// History messages the model no longer sees (dropped or shifted out).
    pub dropped_messages: usize,
}

/// The template and tokenizer, which is all planning needs.
pub(crate) struct Text<'a> {
    pub tok: &'a Tokenizer,
    pub template: &'a ChatTemplate,
}

impl Text<'_> {
    /// Tokens of `system` + `history` (+ `user`), rendered as the next prompt.
    pub fn encode(&self, system: Option<&str>, history: &[ChatMessage], user: Option<&ChatMessage>) -> Result<Vec<u32>> {
        let mut msgs = Vec::with_capacity(history.len() + 2);
        if let Some(s) = system {
            msgs.push(ChatMessage::new(Role::System, s));
        }
        msgs.extend_from_slice(history);
        msgs.extend(user.cloned());
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        self.template.encode(self.tok, &msgs, user.is_some())
    }
}

/// The prompt for a turn: `history[first..]` after the system prompt.
pub(crate) struct Plan {
    pub first: usize,
    pub tokens: Vec<u32>,
}

/// Tokens a reply should have room for when older turns can be dropped to
/// make it: a quarter of the context, or the reply's own limit if smaller,
/// plus the template's end-of-turn markup, so the conversation as the next
/// turn renders it still fits.
pub(crate) fn reserve(ctx: usize, max_tokens: u32) -> usize {
    (ctx / 4).min(max_tokens as usize).max(1) + TURN_END_MARGIN
}

const TURN_END_MARGIN: usize = 8;

/// Picks the window for a turn, starting no earlier than `first`. When the
/// prompt plus `reserve` does not fit, drops whole exchanges (the window
/// always starts at a user message) until the prompt takes at most half the
/// context, or only the new message is left.
pub(crate) fn plan(
    text: &Text,
    system: Option<&str>,
    history: &[ChatMessage],
    mut first: usize,
    user: &ChatMessage,
    ctx: usize,
    reserve: usize,
    policy: ContextPolicy,
) -> Result<Plan> {
    first = first.min(history.len());
    let mut dropping = false;
    loop {
        let tokens = text.encode(system, &history[first..], Some(user))?;
        let fits = tokens.len() < ctx;
        if policy == ContextPolicy::Fail {
            if fits {
                return Ok(Plan { first, tokens });
            }
            // Distinguish "this conversation is full" from "this message alone is too long".
            let alone = text.encode(system, &[], Some(user))?.len();
            return Err(if alone >= ctx {
                Error::PromptTooLong { tokens: alone, context: ctx }
            } else {
                Error::ContextFull { context: ctx }
            });
        }
        // Once something must go, drop down to half the context, as
        // llama.cpp's context shift does: the next several turns then fit
        // without another drop, so a long chat re-prefills (or shifts) once
        // every few turns instead of on every turn.
        let target = if dropping { ctx / 2 } else { ctx.saturating_sub(reserve) };
        if tokens.len() <= target || (fits && first == history.len()) {
            return Ok(Plan { first, tokens });
        }
        dropping = true;
        match next_exchange(history, first) {
            Some(next) => first = next,
            None if fits => return Ok(Plan { first, tokens }),
            None => return Err(Error::PromptTooLong { tokens: tokens.len(), context: ctx }),
        }
    }
}

/// The start of the exchange after the one at `first`: the next user message,
/// or the end of the history.
pub(crate) fn next_exchange(history: &[ChatMessage], first: usize) -> Option<usize> {
    if first >= history.len() {
        return None;
    }
    Some(history[first + 1..].iter().position(|m| m.role == Role::User).map_or(history.len(), |i| first + 1 + i))
}

/// Where the tokens of the dropped messages sit in `old` (the previous
/// window rendered with this turn's message) so that cutting `old[at..at +
/// len]` leaves exactly `new`. None when the template does not render the
/// dropped turns as one contiguous run (then the cache cannot be shifted).
pub(crate) fn cut(old: &[u32], new: &[u32]) -> Option<(usize, usize)> {
    let len = old.len().checked_sub(new.len()).filter(|&d| d > 0)?;
    let at = common_prefix(old, new);
    (old[at + len..] == new[at..]).then_some((at, len))
}

pub(crate) fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_is_found_only_when_the_rest_is_unchanged() {
        // system [1 2], dropped turn [3 4 5], kept [6 7].
        assert_eq!(cut(&[1, 2, 3, 4, 5, 6, 7], &[1, 2, 6, 7]), Some((2, 3)));
        // The kept part changed (a template that merges the system prompt into the first turn).
        assert_eq!(cut(&[1, 2, 3, 4, 5, 6, 7], &[1, 9, 6, 7]), None);
        assert_eq!(cut(&[1, 2], &[1, 2]), None);
        assert_eq!(cut(&[1, 2], &[1, 2, 3]), None);
    }

    #[test]
    fn exchanges_start_at_user_messages() {
        let m = |r| ChatMessage::new(r, "x");
        let h = [m(Role::User), m(Role::Assistant), m(Role::System), m(Role::User), m(Role::Assistant)];
        assert_eq!(next_exchange(&h, 0), Some(3));
        assert_eq!(next_exchange(&h, 3), Some(5));
        assert_eq!(next_exchange(&h, 5), None);
        assert_eq!(reserve(512, 64), 72);
        assert_eq!(reserve(512, 1000), 136);
    }
}
