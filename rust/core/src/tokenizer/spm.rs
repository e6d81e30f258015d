//! SentencePiece-style ("llama" vocabulary) tokenization, as llama.cpp does it.
//!
//! Start from single characters and keep merging the adjacent pair whose
//! concatenation is a token with the highest score (ties: leftmost pair);
//! characters that never become tokens are spelled with `<0xNN>` byte tokens.
//! This is written out rather than expressed as a `tokenizers` BPE model: a
//! merge table derived from 262k scores is slow to build and cannot encode
//! "any pair whose concatenation is a token", which is what llama.cpp does.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::vocab::Vocab;
use crate::error::{Error, Result};

/// SentencePiece's visible space.
pub(crate) const SPACE: &str = "\u{2581}";

pub(crate) struct Spm {
    /// The token for each byte value, for characters not in the vocabulary.
    byte_tokens: Box<[Option<u32>; 256]>,
}

struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// Max-heap order: higher score first, then the leftmost pair.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then_with(|| other.left.cmp(&self.left))
    }
}

impl Spm {
    pub fn new(vocab: &Vocab) -> Self {
        let mut byte_tokens = Box::new([None; 256]);
        for (b, slot) in byte_tokens.iter_mut().enumerate() {
            *slot = vocab.id(&format!("<0x{b:02X}>")).or_else(|| {
                // llama.cpp's fallback: the byte itself, when it is a whole character.
                let b = b as u8;
                b.is_ascii().then(|| vocab.id(std::str::from_utf8(&[b]).unwrap_or_default())).flatten()
            });
        }
        Self { byte_tokens }
    }

    /// Tokenizes one fragment whose spaces are already escaped to `▁`.
    pub fn encode(&self, vocab: &Vocab, text: &str, unk: Option<u32>, out: &mut Vec<u32>) -> Result<()> {
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        for (i, (start, c)) in text.char_indices().enumerate() {
            symbols.push(Symbol {
                start,
                len: c.len_utf8(),
                prev: i.checked_sub(1),
                next: (start + c.len_utf8() < text.len()).then_some(i + 1),
            });
        }

        let mut queue = BinaryHeap::new();
        let try_pair =
            |symbols: &[Symbol], queue: &mut BinaryHeap<Bigram>, left: Option<usize>, right: Option<usize>| {
                let (Some(left), Some(right)) = (left, right) else { return };
                let (l, r) = (&symbols[left], &symbols[right]);
                let len = l.len + r.len;
                if let Some(id) = vocab.id(&text[l.start..l.start + len]) {
                    queue.push(Bigram { score: vocab.score(id), left, right, len });
                }
            };
        for i in 1..symbols.len() {
            try_pair(&symbols, &mut queue, Some(i - 1), Some(i));
        }

        while let Some(b) = queue.pop() {
            let (l, r) = (&symbols[b.left], &symbols[b.right]);
            // Stale entry: one side has merged since it was queued.
            if l.len == 0 || r.len == 0 || l.len + r.len != b.len {
                continue;
            }
            let right_next = r.next;
            symbols[b.left].len = b.len;
            symbols[b.right].len = 0;
            symbols[b.left].next = right_next;
            if let Some(n) = right_next {
                symbols[n].prev = Some(b.left);
            }
            let prev = symbols[b.left].prev;
            try_pair(&symbols, &mut queue, prev, Some(b.left));
            try_pair(&symbols, &mut queue, Some(b.left), right_next);
        }

        let mut at = (!symbols.is_empty()).then_some(0);
        while let Some(i) = at {
            let s = &symbols[i];
            let piece = &text[s.start..s.start + s.len];
            match vocab.id(piece) {
                Some(id) => out.push(id),
                None => {
                    for &byte in piece.as_bytes() {
                        let id = self.byte_tokens[byte as usize].or(unk).ok_or_else(|| {
                            Error::Tokenizer(format!("no token for byte 0x{byte:02X} and no unknown token"))
                        })?;
                        out.push(id);
                    }
                }
            }
            at = s.next;
        }
        Ok(())
    }
}

/// The byte a `<0xNN>` token stands for.
pub(crate) fn byte_of(token: &str) -> Option<u8> {
    let hex = token.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}
