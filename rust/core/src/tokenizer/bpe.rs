//! GPT-2-style byte-level BPE ("gpt2" vocabulary), run by the `tokenizers`
//! crate with the pre-tokenizer llama.cpp uses for the file's `tokenizer.ggml.pre`.

use tokenizers::models::bpe::{BpeBuilder, Vocab as BpeVocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::SplitDelimiterBehavior;

use super::vocab::{array, Vocab};
use crate::error::{Error, Result};
use crate::gguf::GgufFile;

const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// How a `tokenizer.ggml.pre` value splits text before BPE: llama.cpp applies
/// each regex in turn, keeping both the matches and the text between them.
pub(crate) struct PreTokenizer {
    regexes: &'static [&'static str],
    /// Whole words found in the vocabulary skip merging (Llama 3's tokenizer).
    ignore_merges: bool,
    /// llama.cpp's add-BOS default for this pre-tokenizer when the metadata is silent.
    pub add_bos_default: bool,
}

impl PreTokenizer {
    pub fn for_name(pre: Option<&str>) -> Self {
        let plain = |regexes| Self { regexes, ignore_merges: false, add_bos_default: false };
        match pre.unwrap_or("default") {
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2" => {
                Self { regexes: &[LLAMA3], ignore_merges: true, add_bos_default: true }
            }
            "dbrx" | "smaug-bpe" => plain(&[LLAMA3]),
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "megrez" | "stablelm2" | "hunyuan" => plain(&[QWEN2]),
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
                plain(&[r"\p{N}", GPT2])
            }
            "gpt-2" | "phi-2" | "mpt" | "olmo" | "jais" | "trillion" | "granite-docling" | "exaone4" | "jina-es"
            | "jina-de" | "jina-v2-es" | "jina-v2-de" | "gigachat" | "a.x-4.0" | "mellum" | "roberta-bpe" => {
                plain(&[GPT2])
            }
            "falcon" => plain(&[r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"]),
            other => {
                if other != "default" {
                    log::warn!("unrecognised tokenizer.ggml.pre '{other}'; using llama.cpp's default pre-tokenizer");
                }
                plain(&[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"])
            }
        }
    }
}

pub(crate) struct Bpe {
    inner: tokenizers::Tokenizer,
}

impl Bpe {
    pub fn from_gguf(g: &GgufFile, vocab: &Vocab, pre: &PreTokenizer) -> Result<Self> {
        let merges = array(g, "tokenizer.ggml.merges")?
            .ok_or_else(|| Error::InvalidModel("gpt2 tokenizer without tokenizer.ggml.merges".into()))?;
        let ids: BpeVocab = (0..vocab.len() as u32).map(|id| (vocab.token(id).to_owned(), id)).collect();
        let mut pairs = Vec::with_capacity(merges.len());
        let mut dropped = 0usize;
        for (i, m) in merges.iter().enumerate() {
            let m =
                m.as_str().ok_or_else(|| Error::InvalidModel(format!("tokenizer.ggml.merges[{i}] is not a string")))?;
            // The separator is the first space after the first byte: a merge's
            // left side may itself be a space in non-byte-level vocabularies.
            let split = m
                .bytes()
                .skip(1)
                .position(|b| b == b' ')
                .map(|p| p + 1)
                .ok_or_else(|| Error::InvalidModel(format!("tokenizer.ggml.merges[{i}] '{m}' has no separator")))?;
            let (a, b) = (&m[..split], &m[split + 1..]);
            // llama.cpp keeps merges whose parts are not tokens but they can
            // never fire usefully; `tokenizers` rejects them, so drop them.
            if ids.contains_key(a) && ids.contains_key(b) && ids.contains_key(&format!("{a}{b}")) {
                pairs.push((a.to_owned(), b.to_owned()));
            } else {
                dropped += 1;
            }
        }
        if dropped > 0 {
            log::warn!("dropped {dropped} BPE merges that name tokens outside the vocabulary");
        }
        let model = BpeBuilder::new()
            .vocab_and_merges(ids, pairs)
            .ignore_merges(pre.ignore_merges)
            .build()
            .map_err(|e| Error::InvalidModel(format!("BPE tokenizer: {e}")))?;

        let mut steps = Vec::with_capacity(pre.regexes.len() + 1);
        for re in pre.regexes {
            let split = Split::new(SplitPattern::Regex((*re).to_owned()), SplitDelimiterBehavior::Isolated, false)
                .map_err(|e| Error::Tokenizer(format!("pre-tokenizer regex: {e}")))?;
            steps.push(PreTokenizerWrapper::Split(split));
        }
        // Byte-level mapping only; the splitting was done above.
        steps.push(PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)));
        let mut inner = tokenizers::Tokenizer::new(model);
        inner.with_pre_tokenizer(Some(Sequence::new(steps)));
        Ok(Self { inner })
    }

    pub fn encode(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        out.extend_from_slice(enc.get_ids());
        Ok(())
    }
}

/// GPT-2 spells each byte as a printable character: bytes that are already
/// printable Latin-1 stand for themselves, the other 68 take U+0100 onwards.
fn is_printable_byte(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The raw bytes behind a byte-level token's text. Characters outside the
/// byte alphabet (never produced by a well-formed vocabulary) pass through.
pub(crate) fn unmap_bytes(token: &str, out: &mut Vec<u8>) {
    for c in token.chars() {
        let cp = c as u32;
        if cp < 256 && is_printable_byte(cp as u8) {
            out.push(cp as u8);
        } else if (256..256 + 68).contains(&cp) {
            let nth = (cp - 256) as usize;
            if let Some(b) = (0..=255u8).filter(|&b| !is_printable_byte(b)).nth(nth) {
                out.push(b);
            }
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}
