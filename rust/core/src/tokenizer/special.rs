//! Splitting text at special tokens before the model's tokenizer sees it.
//!
//! llama.cpp does not scan left to right: it takes each special token in turn,
//! longest text first, and cuts every occurrence out of the text that is still
//! unclaimed. Matching that order matters when special texts overlap (Gemma's
//! runs of spaces, newlines and tabs are user-defined tokens of every length).

use std::collections::HashMap;
use std::ops::Range;

use super::vocab::{TokenKind, Vocab};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Token(u32),
}

pub(crate) struct SpecialMatcher {
    /// Special ids in llama.cpp's matching order: longest text first, then by id.
    order: Vec<u32>,
    /// Text of each special token to its position in `order`.
    rank: HashMap<Box<str>, usize>,
    /// Distinct byte lengths of special texts, so a scan tries only those.
    lengths: Vec<usize>,
    first_bytes: [bool; 256],
    /// Per rank: whitespace to drop before (`lstrip`) and after (`rstrip`) a
    /// match, llama.cpp's `LLAMA_TOKEN_ATTR_LSTRIP` / `RSTRIP`.
    strip: Vec<(bool, bool)>,
}

/// C's `isspace`, which llama.cpp strips with.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn is_special(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::Control | TokenKind::UserDefined | TokenKind::Unknown)
}

impl SpecialMatcher {
    pub fn new(vocab: &Vocab) -> Self {
        let mut order: Vec<u32> = (0..vocab.len() as u32).filter(|&id| is_special(vocab.kind(id))).collect();
        order.sort_by(|&a, &b| vocab.token(b).len().cmp(&vocab.token(a).len()).then(a.cmp(&b)));
        let mut rank = HashMap::with_capacity(order.len());
        let mut lengths = Vec::new();
        let mut first_bytes = [false; 256];
        for (r, &id) in order.iter().enumerate() {
            let t = vocab.token(id);
            // A duplicate text keeps its first (llama.cpp: earliest-matched) rank.
            rank.entry(t.into()).or_insert(r);
            lengths.push(t.len());
            first_bytes[t.as_bytes()[0] as usize] = true;
        }
        lengths.sort_unstable();
        lengths.dedup();
        let strip = vec![(false, false); order.len()];
        Self { order, rank, lengths, first_bytes, strip }
    }

    /// Marks special token `id` to swallow the whitespace before and/or after it.
    pub fn set_strip(&mut self, vocab: &Vocab, id: u32, lstrip: bool, rstrip: bool) {
        if let Some(&r) = self.rank.get(vocab.token(id)) {
            if self.order[r] == id {
                self.strip[r] = (lstrip, rstrip);
            }
        }
    }

    /// Ids of every special token, in matching order.
    pub fn ids(&self) -> &[u32] {
        &self.order
    }

    /// Ranks of the special tokens that occur anywhere in `text`, ascending.
    /// Only these can match below, so the full list is never walked.
    fn present(&self, vocab: &Vocab, text: &str, parse_special: bool) -> Vec<usize> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            if !self.first_bytes[b as usize] || !text.is_char_boundary(i) {
                continue;
            }
            for &len in &self.lengths {
                let Some(s) = text.get(i..i + len) else { continue };
                if let Some(&r) = self.rank.get(s) {
                    let kind = vocab.kind(self.order[r]);
                    if parse_special || kind == TokenKind::UserDefined {
                        found.push(r);
                    }
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Without `parse_special` only user-defined tokens are split out, as in
    /// llama.cpp: they are ordinary text that the vocabulary spells as one token.
    pub fn split<'a>(&self, vocab: &Vocab, text: &'a str, parse_special: bool) -> Vec<Piece<'a>> {
        self.split_where(vocab, text, parse_special, &|_, _| true)
    }

    /// As [`Self::split`], but a match of token `id` over the byte range
    /// `r` of `text` becomes a token only when `allow(id, r)`; otherwise it
    /// stays text, where shorter special tokens may still match, exactly as if
    /// that token were not special. Chat prompts use this to keep special
    /// texts written inside a message from becoming control tokens while the
    /// template's own markup around them still does.
    pub fn split_where<'a>(
        &self,
        vocab: &Vocab,
        text: &'a str,
        parse_special: bool,
        allow: &dyn Fn(u32, Range<usize>) -> bool,
    ) -> Vec<Piece<'a>> {
        let mut pieces = vec![Piece::Text(text)];
        if text.is_empty() {
            return Vec::new();
        }
        for r in self.present(vocab, text, parse_special) {
            let id = self.order[r];
            let special = vocab.token(id);
            let mut next = Vec::with_capacity(pieces.len() + 2);
            for piece in pieces {
                let Piece::Text(s) = piece else {
                    next.push(piece);
                    continue;
                };
                // Every piece is a slice of `text`: its offset there, for `allow`.
                let base = s.as_ptr() as usize - text.as_ptr() as usize;
                let (lstrip, rstrip) = self.strip[r];
                let mut last = 0;
                let mut from = 0;
                while let Some(found) = s[from..].find(special) {
                    let at = from + found;
                    if !allow(id, base + at..base + at + special.len()) {
                        from = at + s[at..].chars().next().map_or(1, char::len_utf8);
                        continue;
                    }
                    let mut left = &s[last..at];
                    if lstrip {
                        left = left.trim_end_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
                    }
                    if !left.is_empty() {
                        next.push(Piece::Text(left));
                    }
                    next.push(Piece::Token(id));
                    last = at + special.len();
                    if rstrip {
                        while last < s.len() && is_c_space(s.as_bytes()[last]) {
                            last += 1;
                        }
                    }
                    from = last;
                }
                if last < s.len() {
                    next.push(Piece::Text(&s[last..]));
                }
            }
            pieces = next;
        }
        pieces
    }

    /// Every occurrence of a special token's text in `text` (overlapping ones
    /// included), as (byte range, id), in order of position.
    pub fn occurrences(&self, text: &str) -> Vec<(Range<usize>, u32)> {
        let mut found = Vec::new();
        for (i, &b) in text.as_bytes().iter().enumerate() {
            if !self.first_bytes[b as usize] || !text.is_char_boundary(i) {
                continue;
            }
            for &len in &self.lengths {
                let Some(s) = text.get(i..i + len) else { continue };
                if let Some(&r) = self.rank.get(s) {
                    found.push((i..i + len, self.order[r]));
                }
            }
        }
        found
    }
}
