//! Mote's vocabulary as llguidance's token trie.
//!
//! llguidance matches bytes, so each token is given as the bytes it adds
//! to the reply (`Tokenizer::token_bytes`: byte-level BPE spellings and
//! SentencePiece `▁`/`<0xNN>` already undone). Control tokens (BOS, turn
//! markers) get llguidance's special marker byte in front of their text, so
//! plain text never matches them; every end-of-generation token is an EOS,
//! allowed only where the grammar may end.

use llguidance::toktrie::{ApproximateTokEnv, TokEnv, TokRxInfo, TokTrie};
use mote_core::Tokenizer;
use std::sync::Arc;

pub(crate) fn token_env(tok: &Tokenizer) -> TokEnv {
    let n = tok.vocab_size();
    let words: Vec<Vec<u8>> = (0..n as u32)
        .map(|id| {
            if tok.is_control(id) || tok.is_eog(id) {
                let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
                w.extend_from_slice(tok.token_text(id).unwrap_or_default().as_bytes());
                w
            } else {
                tok.token_bytes(id)
            }
        })
        .collect();
    let eog = tok.eog_ids();
    let first_eos = eog.first().copied().or(tok.eos_id()).unwrap_or(0);
    let info = TokRxInfo::new(n as u32, first_eos);
    let eos = if eog.is_empty() { vec![first_eos] } else { eog.to_vec() };
    let trie = TokTrie::from(&info, &words).with_eos_tokens(&eos);
    // Greedy tokenization of grammar literals, marked non-canonical: our
    // encoder is not promised to agree with it, so llguidance forces no
    // tokens from it, and masks stay exact.
    Arc::new(ApproximateTokEnv::new(trie))
}
