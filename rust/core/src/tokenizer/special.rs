//! Splitting text at special tokens before the model's tokenizer sees it.
//!
//! llama.cpp does not scan left to right: it takes each special token in turn,
//! longest text first, and cuts every occurrence out of the text that is still
//! unclaimed. Matching that order matters when special texts overlap (Gemma's
//! runs of spaces, newlines and tabs are user-defined tokens of every length).

use std::collections::HashMap;

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
        Self { order, rank, lengths, first_bytes }
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
                let mut last = 0;
                for (at, _) in s.match_indices(special) {
                    if at > last {
                        next.push(Piece::Text(&s[last..at]));
                    }
                    next.push(Piece::Token(id));
                    last = at + special.len();
                }
                if last < s.len() {
                    next.push(Piece::Text(&s[last..]));
                }
            }
            pieces = next;
        }
        pieces
    }
}
