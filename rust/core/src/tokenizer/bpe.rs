//! GPT-2-style byte-level BPE ("gpt2" vocabulary): words split as llama.cpp
//! splits them for the file's `tokenizer.ggml.pre` (see `pretok`), then
//! merged by the `tokenizers` crate's BPE model with the file's merge ranks.

use tokenizers::models::bpe::{BpeBuilder, Vocab as BpeVocab, BPE};
use tokenizers::Model as _;

use super::pretok::{Splitter, GPT2, LLAMA3, QWEN2, QWEN35};
use super::vocab::{strings, Vocab};
use crate::error::{Error, Result};
use crate::gguf::GgufFile;

const SMOLLM: &[&str] = &[r"\p{N}", GPT2];
const DEFAULT: &[&str] = &[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"];
const FALCON: &[&str] = &[r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"];
const GPT4O: &str = r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const TEKKEN: &str = r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const SEED_CODER: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+";
const BAILINGMOE: &str = r"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+";
const UFAKZEKA: &str = r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const MINICPM5: &[&str] = &[
    r"\p{N}{1,3}",
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

/// How a `tokenizer.ggml.pre` value splits text before BPE, and the flags
/// llama.cpp (src/llama-vocab.cpp) attaches to it. Every name here maps to
/// llama.cpp's own patterns; any other name is refused rather than guessed.
pub(crate) struct PreTokenizer {
    pub name: String,
    patterns: &'static [&'static str],
    /// Whole words found in the vocabulary skip merging (Llama 3's tokenizer).
    ignore_merges: bool,
    /// llama.cpp's add-BOS default for this pre-tokenizer when the metadata is silent.
    pub add_bos_default: bool,
}

/// Pre-tokenizer names this build implements, for error messages and docs.
pub(crate) const SUPPORTED: &[&str] = &[
    "default",
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "falcon-h1",
    "pixtral",
    "midm-2.0",
    "lfm2",
    "jina-v5-nano",
    "dbrx",
    "smaug-bpe",
    "qwen2",
    "deepseek-r1-qwen",
    "kormo",
    "f2llmv2",
    "megrez",
    "stablelm2",
    "hunyuan",
    "grok-2",
    "solar-open",
    "qwen35",
    "smollm",
    "starcoder",
    "refact",
    "command-r",
    "codeshell",
    "exaone",
    "minerva-7b",
    "mellum2",
    "gpt-2",
    "phi-2",
    "mpt",
    "olmo",
    "jais",
    "exaone4",
    "trillion",
    "granite-docling",
    "jina-es",
    "jina-de",
    "jina-v2-es",
    "jina-v2-de",
    "gigachat",
    "a.x-4.0",
    "mellum",
    "modern-bert",
    "falcon",
    "gpt-4o",
    "llama4",
    "kanana2",
    "talkie",
    "minimax-m2",
    "tekken",
    "seed-coder",
    "bailingmoe",
    "bailingmoe2",
    "llada-moe",
    "ufakzeka",
    "minicpm5",
];

impl PreTokenizer {
    /// `None` (no `tokenizer.ggml.pre`) is llama.cpp's documented fallback:
    /// the "default" pre-tokenizer, with a warning. An unknown name is an
    /// `UnsupportedModel` error, as it is a load error in llama.cpp.
    pub fn for_name(pre: Option<&str>) -> Result<Self> {
        let name = match pre {
            Some(p) => p,
            None => {
                log::warn!(
                    "tokenizer.ggml.pre is missing; using llama.cpp's 'default' pre-tokenizer (quality may suffer)"
                );
                "default"
            }
        };
        let (patterns, ignore_merges, add_bos_default): (&'static [&'static str], bool, bool) = match name {
            "default" => (DEFAULT, false, false),
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2"
            | "jina-v5-nano" => (&[LLAMA3], true, true),
            "dbrx" | "smaug-bpe" => (&[LLAMA3], false, false),
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" | "stablelm2" | "hunyuan" | "grok-2"
            | "solar-open" => (&[QWEN2], false, false),
            "qwen35" => (&[QWEN35], false, false),
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
                (SMOLLM, false, false)
            }
            "gpt-2" | "phi-2" | "mpt" | "olmo" | "jais" | "exaone4" | "trillion" | "granite-docling" | "jina-es"
            | "jina-de" | "jina-v2-es" | "jina-v2-de" | "gigachat" | "a.x-4.0" | "mellum" | "modern-bert" => {
                (&[GPT2], false, false)
            }
            "falcon" => (FALCON, false, false),
            "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => (&[GPT4O], false, false),
            "tekken" => (&[TEKKEN], true, true),
            "seed-coder" => (&[SEED_CODER], false, false),
            "bailingmoe" | "bailingmoe2" | "llada-moe" => (&[BAILINGMOE], false, false),
            "ufakzeka" => (&[UFAKZEKA], false, false),
            "minicpm5" => (MINICPM5, true, false),
            other => {
                return Err(Error::UnsupportedModel(format!(
                    "tokenizer.ggml.pre '{other}' is not a supported pre-tokenizer (supported: {})",
                    SUPPORTED.join(", ")
                )))
            }
        };
        Ok(Self { name: name.to_owned(), patterns, ignore_merges, add_bos_default })
    }
}

pub(crate) struct Bpe {
    model: BPE,
    splitter: Splitter,
    /// The `tokenizer.ggml.pre` value in force.
    pub pre: String,
}

impl Bpe {
    pub fn from_gguf(g: &GgufFile, vocab: &Vocab, pre: &PreTokenizer) -> Result<Self> {
        let merges = strings(g, "tokenizer.ggml.merges")?
            .ok_or_else(|| Error::InvalidModel("gpt2 tokenizer without tokenizer.ggml.merges".into()))?;
        let ids: BpeVocab = (0..vocab.len() as u32).map(|id| (vocab.token(id).to_owned(), id)).collect();
        let mut pairs = Vec::with_capacity(merges.len());
        let mut dropped = 0usize;
        for (i, m) in merges.iter().enumerate() {
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
        Ok(Self { model, splitter: Splitter::new(pre.patterns)?, pre: pre.name.clone() })
    }

    /// Splits `text` into words, spells each word's bytes as GPT-2 characters
    /// and merges them by rank, as llama.cpp's `llm_tokenizer_bpe_session`.
    pub fn encode(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        let map = byte_chars();
        let mut word = String::new();
        for w in self.splitter.split(text)? {
            word.clear();
            word.extend(w.bytes().map(|b| map[b as usize]));
            let tokens = self.model.tokenize(&word).map_err(|e| Error::Tokenizer(e.to_string()))?;
            out.extend(tokens.iter().map(|t| t.id));
        }
        Ok(())
    }
}

/// The character GPT-2 spells each byte with.
fn byte_chars() -> &'static [char; 256] {
    static MAP: std::sync::OnceLock<[char; 256]> = std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = ['\0'; 256];
        let mut next = 256u32;
        for b in 0..=255u8 {
            map[b as usize] = if is_printable_byte(b) {
                b as char
            } else {
                next += 1;
                char::from_u32(next - 1).unwrap_or('?')
            };
        }
        map
    })
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
