//! The model's tokenizer, built from GGUF metadata so that prompts become the
//! same ids llama.cpp would produce for the same file.
//!
//! Two vocabulary kinds are supported: "gpt2" byte-level BPE (SmolLM2, Qwen,
//! Llama 3, Phi-4-mini) and "llama" SentencePiece-style with scores and byte
//! fallback (Gemma, Phi-3). Special tokens are split out of the text first,
//! exactly as llama.cpp does, then each text fragment goes to the
//! model-specific encoder. For "gpt2" the `tokenizer.ggml.pre` value picks
//! llama.cpp's word splitting (`bpe::PreTokenizer`): a name llama.cpp does not
//! know, or one whose splitting Mote does not reproduce, is an
//! `UnsupportedModel` error; a missing one is llama.cpp's documented fallback,
//! its "default" splitting, with a warning.
//!
//! Not reproduced because they never change prompt ids: `clean_spaces`
//! (llama.cpp's detokenizer-only clean-up) and `add_eos_token` (Mote's
//! prompts never end with EOS; no supported family sets it).

mod bpe;
mod pretok;
mod special;
mod spm;
mod vocab;

use std::ops::Range;

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

use special::{Piece, SpecialMatcher};
use vocab::{SpecialIds, TokenKind, Vocab};

enum Model {
    Bpe(Box<bpe::Bpe>),
    Spm(spm::Spm),
}

/// Which special-token texts in a [`Segment`] may become special tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Specials {
    /// Every special token (`parse_special` on): the template's markup.
    All,
    /// Only user-defined ones (`parse_special` off, llama.cpp's plain text).
    UserDefined,
    /// None: the text is tokenized exactly as spelled.
    None,
}

/// Part of a text to encode with [`Tokenizer::encode_segments`].
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub text: &'a str,
    pub specials: Specials,
}

pub struct Tokenizer {
    vocab: Vocab,
    model: Model,
    specials: SpecialMatcher,
    ids: SpecialIds,
    add_bos: bool,
    add_space_prefix: bool,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field(
                "kind",
                &match self.model {
                    Model::Bpe(_) => "gpt2",
                    Model::Spm(_) => "llama",
                },
            )
            .field(
                "pre",
                &match &self.model {
                    Model::Bpe(b) => b.pre.as_str(),
                    Model::Spm(_) => "-",
                },
            )
            .field("vocab_size", &self.vocab.len())
            .field("bos", &self.ids.bos)
            .field("eos", &self.ids.eos)
            .field("add_bos", &self.add_bos)
            .finish()
    }
}

impl Tokenizer {
    pub fn from_gguf(g: &GgufFile) -> Result<Tokenizer> {
        let kind = match g.get("tokenizer.ggml.model") {
            None => return Err(Error::InvalidModel("tokenizer.ggml.model is missing".into())),
            Some(v) => v.as_str().ok_or_else(|| Error::InvalidModel("tokenizer.ggml.model is not a string".into()))?,
        };
        let spm = match kind {
            "llama" => true,
            "gpt2" => false,
            other => return Err(Error::UnsupportedModel(format!("tokenizer type '{other}' (supported: gpt2, llama)"))),
        };
        let mut vocab = Vocab::from_gguf(g)?;
        let ids = SpecialIds::from_gguf(g, &mut vocab, spm);
        let flag = |key: &str, default: bool| match g.get(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| Error::InvalidModel(format!("{key} is not a bool"))),
        };
        let (model, add_bos_default, add_space_prefix_default) = if spm {
            (Model::Spm(spm::Spm::new(&vocab)), true, true)
        } else {
            let pre = match g.get("tokenizer.ggml.pre") {
                None => None,
                Some(v) => {
                    Some(v.as_str().ok_or_else(|| Error::InvalidModel("tokenizer.ggml.pre is not a string".into()))?)
                }
            };
            let pre = bpe::PreTokenizer::for_name(pre)?;
            (Model::Bpe(Box::new(bpe::Bpe::from_gguf(g, &vocab, &pre)?)), pre.add_bos_default, false)
        };
        let add_bos = flag("tokenizer.ggml.add_bos_token", add_bos_default)?;
        let add_space_prefix = flag("tokenizer.ggml.add_space_prefix", add_space_prefix_default)?;
        if add_bos && ids.bos.is_none() {
            log::warn!("the model asks for a BOS token but names none; prompts will start without one");
        }
        let mut specials = SpecialMatcher::new(&vocab);
        // llama.cpp recognises Phi-3 by name and makes its special tokens eat
        // the whitespace after them (HF's `rstrip`), except BOS, UNK and <|endoftext|>.
        let name = g.get_str("general.name").unwrap_or_default().to_lowercase();
        if name.contains("phi-3") || name.contains("phi3") {
            let keep: Vec<Option<u32>> = ["<unk>", "<s>", "<|endoftext|>"].iter().map(|t| vocab.id(t)).collect();
            for id in specials.ids().to_vec() {
                if !keep.contains(&Some(id)) {
                    specials.set_strip(&vocab, id, false, true);
                }
            }
        }
        Ok(Tokenizer { vocab, model, specials, ids, add_bos, add_space_prefix })
    }

    /// `add_bos`: the caller passes `self.add_bos()` for raw prompts.
    /// `parse_special`: recognise special/control tokens written in the text
    /// (as llama.cpp does for prompts). Without it they are tokenized as the
    /// plain text they are spelled with, except user-defined tokens (llama.cpp's
    /// rule: those are ordinary text the vocabulary spells as one token). Chat
    /// prompts go through [`crate::ChatTemplate::encode`] instead, which keeps
    /// special texts inside messages plain.
    pub fn encode(&self, text: &str, add_bos: bool, parse_special: bool) -> Result<Vec<u32>> {
        let pieces = self.specials.split(&self.vocab, text, parse_special);
        self.encode_pieces(&pieces, add_bos, text.len())
    }

    /// Encodes the concatenation of `segments`, each with its own rule for
    /// special-token texts. The text between special tokens is encoded as one
    /// fragment across segment boundaries, so BPE word splitting and
    /// SentencePiece's leading space are the same as for the joined text: when
    /// no special-token text is refused, the ids equal `encode(joined, add_bos,
    /// true)`. A special-token text that spans several segments becomes a
    /// token only if every one of them allows it.
    pub fn encode_segments(&self, segments: &[Segment<'_>], add_bos: bool) -> Result<Vec<u32>> {
        let mut text = String::with_capacity(segments.iter().map(|s| s.text.len()).sum());
        let mut spans = Vec::with_capacity(segments.len());
        for s in segments.iter().filter(|s| !s.text.is_empty()) {
            spans.push((text.len()..text.len() + s.text.len(), s.specials));
            text.push_str(s.text);
        }
        let parse = spans.iter().any(|(_, sp)| *sp == Specials::All);
        let allow = |id: u32, r: Range<usize>| {
            let kind = self.vocab.kind(id);
            // Spans are in order: skip those ending before `r`, stop after it.
            let first = spans.partition_point(|(s, _)| s.end <= r.start);
            spans[first..].iter().take_while(|(s, _)| s.start < r.end).all(|(_, sp)| match sp {
                Specials::All => true,
                Specials::UserDefined => kind == TokenKind::UserDefined,
                Specials::None => false,
            })
        };
        let pieces = self.specials.split_where(&self.vocab, &text, parse, &allow);
        self.encode_pieces(&pieces, add_bos, text.len())
    }

    fn encode_pieces(&self, pieces: &[Piece<'_>], add_bos: bool, text_len: usize) -> Result<Vec<u32>> {
        let mut out = Vec::with_capacity(text_len / 3 + 2);
        if add_bos {
            let bos = self.ids.bos.ok_or_else(|| Error::Tokenizer("this model has no BOS token".into()))?;
            out.push(bos);
        }
        // SentencePiece marks word starts with a space, so a fragment that
        // follows a special token (or opens the text) gets one when asked.
        let mut after_special = true;
        let mut escaped = String::new();
        for piece in pieces {
            match (*piece, &self.model) {
                (Piece::Token(id), _) => {
                    out.push(id);
                    after_special = true;
                }
                (Piece::Text(s), Model::Bpe(bpe)) => bpe.encode(s, &mut out)?,
                (Piece::Text(s), Model::Spm(spm)) => {
                    escaped.clear();
                    if self.add_space_prefix && after_special {
                        escaped.push_str(spm::SPACE);
                    }
                    for c in s.chars() {
                        match c {
                            ' ' => escaped.push_str(spm::SPACE),
                            c => escaped.push(c),
                        }
                    }
                    spm.encode(&self.vocab, &escaped, self.ids.unk, &mut out)?;
                    after_special = false;
                }
            }
        }
        Ok(out)
    }

    /// Every place in `text` spelling a special token (control, user-defined
    /// or unknown), overlapping ones included: (byte range, id), by position.
    pub fn special_texts(&self, text: &str) -> Vec<(Range<usize>, u32)> {
        self.specials.occurrences(text)
    }

    /// Every special token (control, user-defined, unknown): the texts that
    /// `encode` with `parse_special` reads as single tokens.
    pub fn special_ids(&self) -> &[u32] {
        self.specials.ids()
    }

    /// Whether `id` is a user-defined token: text the vocabulary spells as
    /// one token, split out of plain text too (Gemma's whitespace runs and
    /// HTML tags, Qwen's `<tool_call>`).
    pub fn is_user_defined(&self, id: u32) -> bool {
        self.vocab.kind(id) == TokenKind::UserDefined
    }

    /// Whether raw prompts should start with BOS (`tokenizer.ggml.add_bos_token`,
    /// else llama.cpp's default for the tokenizer type).
    pub fn add_bos(&self) -> bool {
        self.add_bos && self.ids.bos.is_some()
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.ids.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.ids.eos
    }

    /// The end-of-turn token (metadata, else found by text as llama.cpp does).
    pub fn eot_id(&self) -> Option<u32> {
        self.ids.eot
    }

    /// End of generation: EOS, EOT and the end-of-turn tokens llama.cpp
    /// recognises by text (`<|im_end|>`, `<end_of_turn>`, `<|eot_id|>`, ...).
    pub fn is_eog(&self, id: u32) -> bool {
        self.ids.eog.binary_search(&id).is_ok()
    }

    /// Every end-of-generation id, ascending.
    pub fn eog_ids(&self) -> &[u32] {
        &self.ids.eog
    }

    /// The bytes this token contributes to output text. One token may carry
    /// part of a UTF-8 character (byte-level BPE, `<0xNN>` fallback), so
    /// callers streaming text must join bytes before decoding. Control tokens
    /// contribute nothing; user-defined tokens contribute their text.
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(text) = self.vocab.get(id) else { return Vec::new() };
        match self.vocab.kind(id) {
            TokenKind::UserDefined => text.as_bytes().to_vec(),
            TokenKind::Normal => match self.model {
                Model::Bpe(_) => {
                    let mut out = Vec::with_capacity(text.len());
                    bpe::unmap_bytes(text, &mut out);
                    out
                }
                Model::Spm(_) => text.replace(spm::SPACE, " ").into_bytes(),
            },
            TokenKind::Byte => spm::byte_of(text).map(|b| vec![b]).unwrap_or_default(),
            TokenKind::Control | TokenKind::Unknown | TokenKind::Unused | TokenKind::Undefined => Vec::new(),
        }
    }

    /// The text of `ids`, with invalid UTF-8 replaced. Drops the space a
    /// SentencePiece model put in front of the text when encoding.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        let mut strip_space = self.add_space_prefix && matches!(self.model, Model::Spm(_));
        for &id in ids {
            let piece = self.token_bytes(id);
            if strip_space && !piece.is_empty() {
                strip_space = false;
                bytes.extend_from_slice(piece.strip_prefix(b" ").unwrap_or(&piece));
            } else {
                bytes.extend_from_slice(&piece);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The token as stored in the vocabulary (`▁` and byte-level spellings intact).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.get(id)
    }

    /// The id of the token spelled exactly `text` in the vocabulary.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.id(text)
    }

    /// Whether `id` is a control token (BOS, EOS, turn markers): never printed.
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.kind(id) == TokenKind::Control
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The BOS token's text, for chat templates' `bos_token`.
    pub fn bos_token_str(&self) -> Option<&str> {
        self.ids.bos.and_then(|id| self.vocab.get(id))
    }

    /// The EOS token's text, for chat templates' `eos_token`.
    pub fn eos_token_str(&self) -> Option<&str> {
        self.ids.eos.and_then(|id| self.vocab.get(id))
    }
}
