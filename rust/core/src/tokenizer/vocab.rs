//! The token table read from GGUF metadata: texts, scores and types in one
//! compact store, plus the special ids llama.cpp derives from them.

use crate::error::{Error, Result};
use crate::gguf::{Array, GgufFile, Strings};

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Undefined,
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl TokenKind {
    fn from_type(t: Option<u64>) -> Self {
        match t {
            Some(1) => Self::Normal,
            Some(2) => Self::Unknown,
            Some(3) => Self::Control,
            Some(4) => Self::UserDefined,
            Some(5) => Self::Unused,
            Some(6) => Self::Byte,
            _ => Self::Undefined,
        }
    }
}

/// All token texts live in one string: a 262k vocabulary as separate
/// `String`s plus a `HashMap<String, u32>` would cost several times the
/// memory on a phone, and build slower.
pub(crate) struct Vocab {
    text: String,
    starts: Vec<u32>,
    kinds: Vec<TokenKind>,
    scores: Vec<f32>,
    /// Open-addressed table of ids keyed by their text; `EMPTY` marks a free slot.
    slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

fn hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's low bits are weak for short keys; the table indexes by low bits.
    h ^ (h >> 29)
}

pub(crate) fn array<'a>(g: &'a GgufFile, key: &str) -> Result<Option<&'a Array>> {
    match g.get(key) {
        None => Ok(None),
        Some(v) => v.as_array().map(Some).ok_or_else(|| Error::InvalidModel(format!("{key} is not an array"))),
    }
}

/// A string array; an empty array of any type is an empty list.
pub(crate) fn strings<'a>(g: &'a GgufFile, key: &str) -> Result<Option<&'a Strings>> {
    static NONE: Strings = Strings::new();
    match array(g, key)? {
        None => Ok(None),
        Some(a) if a.is_empty() => Ok(Some(&NONE)),
        Some(a) => a.strings().map(Some).ok_or_else(|| Error::InvalidModel(format!("{key} does not hold strings"))),
    }
}

/// An optional per-token array, which must have one entry per token.
fn same_len<'a>(g: &'a GgufFile, key: &str, n: usize) -> Result<Option<&'a Array>> {
    match array(g, key)? {
        Some(a) if a.len() != n => Err(Error::InvalidModel(format!("{key} has {} entries for {n} tokens", a.len()))),
        a => Ok(a),
    }
}

impl Vocab {
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let tokens = strings(g, "tokenizer.ggml.tokens")?
            .ok_or_else(|| Error::InvalidModel("tokenizer.ggml.tokens is missing".into()))?;
        let n = tokens.len();
        if n == 0 || n >= EMPTY as usize / 2 {
            return Err(Error::InvalidModel(format!("tokenizer.ggml.tokens has {n} entries")));
        }
        let scores = same_len(g, "tokenizer.ggml.scores", n)?;
        let types = same_len(g, "tokenizer.ggml.token_type", n)?;

        let mut text = String::new();
        let mut starts = Vec::with_capacity(n + 1);
        for (i, s) in tokens.iter().enumerate() {
            starts.push(text.len() as u32);
            if s.is_empty() {
                // llama.cpp's placeholder, so empty tokens never match anything.
                text.push_str(&format!("[EMPTY_{i}]"));
            } else {
                text.push_str(s);
            }
            if text.len() > u32::MAX as usize / 2 {
                return Err(Error::InvalidModel("tokenizer vocabulary text is too large".into()));
            }
        }
        starts.push(text.len() as u32);

        let scores = match scores {
            None => Vec::new(),
            Some(a) => (0..n)
                .map(|i| {
                    a.scalar(i)
                        .and_then(|v| v.as_f64())
                        .map(|f| f as f32)
                        .ok_or_else(|| Error::InvalidModel(format!("tokenizer.ggml.scores[{i}] is not a number")))
                })
                .collect::<Result<_>>()?,
        };
        let kinds = match types {
            // Without types every token is ordinary text, as in llama.cpp.
            None => vec![TokenKind::Normal; n],
            Some(a) => (0..n).map(|i| TokenKind::from_type(a.scalar(i).and_then(|v| v.as_u64()))).collect(),
        };

        let mut vocab = Vocab { text, starts, kinds, scores, slots: vec![EMPTY; (n * 2).next_power_of_two()] };
        for id in 0..n as u32 {
            vocab.insert(id);
        }
        Ok(vocab)
    }

    /// Later duplicates win, as in llama.cpp's `token_to_id[word] = i`.
    fn insert(&mut self, id: u32) {
        let mask = self.slots.len() - 1;
        let mut i = hash(self.token(id)) as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == EMPTY || self.token(slot) == self.token(id) {
                self.slots[i] = id;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    pub fn id(&self, s: &str) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = hash(s) as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == EMPTY {
                return None;
            }
            if self.token(slot) == s {
                return Some(slot);
            }
            i = (i + 1) & mask;
        }
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Panics on an out-of-range id: callers check ids from outside first.
    pub fn token(&self, id: u32) -> &str {
        let i = id as usize;
        &self.text[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    pub fn get(&self, id: u32) -> Option<&str> {
        ((id as usize) < self.len()).then(|| self.token(id))
    }

    pub fn kind(&self, id: u32) -> TokenKind {
        self.kinds.get(id as usize).copied().unwrap_or(TokenKind::Undefined)
    }

    pub fn set_kind(&mut self, id: u32, kind: TokenKind) {
        if let Some(k) = self.kinds.get_mut(id as usize) {
            *k = kind;
        }
    }

    pub fn score(&self, id: u32) -> f32 {
        self.scores.get(id as usize).copied().unwrap_or(0.0)
    }
}

/// The ids that start and end text, found the way llama.cpp finds them.
#[derive(Debug, Default)]
pub(crate) struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub unk: Option<u32>,
    /// Sorted; every id that ends generation.
    pub eog: Vec<u32>,
}

/// Texts llama.cpp treats as end-of-turn when the metadata names no EOT id.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
/// Texts that end generation whatever the metadata says.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|flush|>",
    "<|calls|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];
/// Fill-in-the-middle pad/repo/file-separator tokens also end generation in llama.cpp:
/// a chat reply that emits one has left the conversation.
const FIM_EOG_TEXTS: &[&str] = &[
    "<|fim_pad|>",
    "<fim-pad>",
    "<fim_pad>",
    "<PAD>",
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
    "<|file_sep|>",
];

impl SpecialIds {
    /// `spm` selects llama.cpp's SentencePiece defaults (bos 1, eos 2, unk 0).
    /// llama.cpp's gpt2 default of 11 is an artefact of GPT-2 itself, so BPE
    /// vocabularies without ids get none rather than a wrong one.
    pub fn from_gguf(g: &GgufFile, vocab: &mut Vocab, spm: bool) -> Self {
        let n = vocab.len() as u64;
        let read = |key: &str, default: Option<u32>| -> Option<u32> {
            match g.get(&format!("tokenizer.ggml.{key}")) {
                None => default,
                Some(v) => match v.as_u64() {
                    Some(id) if id < n => Some(id as u32),
                    _ => {
                        log::warn!("ignoring bad tokenizer.ggml.{key} {v:?} ({n} tokens)");
                        default
                    }
                },
            }
        };
        let default = |id: u32| (spm && u64::from(id) < n).then_some(id);
        let mut ids = SpecialIds {
            bos: read("bos_token_id", default(1)),
            eos: read("eos_token_id", default(2)),
            eot: read("eot_token_id", None),
            unk: read("unknown_token_id", default(0)),
            eog: Vec::new(),
        };
        let eom = read("eom_token_id", None).or_else(|| vocab.id("<|eom_id|>"));
        if ids.eot.is_none() {
            ids.eot = EOT_TEXTS.iter().find_map(|t| vocab.id(t));
        }

        let mut eog: Vec<u32> =
            ["fim_pad_token_id", "fim_rep_token_id", "fim_sep_token_id"].iter().filter_map(|k| read(k, None)).collect();
        for text in EOG_TEXTS.iter().chain(FIM_EOG_TEXTS) {
            if let Some(id) = vocab.id(text) {
                eog.push(id);
            }
        }
        // Ends of turn must be control tokens so that they are never printed
        // and are recognised in rendered templates; llama.cpp forces the same.
        for &id in eog.iter().chain(ids.eot.iter()).chain(eom.iter()) {
            if vocab.kind(id) != TokenKind::Control {
                vocab.set_kind(id, TokenKind::Control);
            }
        }
        // gpt-oss: these are always rendered, so never control tokens.
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(id) = vocab.id(text) {
                vocab.set_kind(id, TokenKind::UserDefined);
            }
        }
        eog.extend(ids.eos.iter().chain(ids.eot.iter()).chain(eom.iter()));
        eog.sort_unstable();
        eog.dedup();
        // llama.cpp's exceptions: with o200k_harmony's <|return|>/<|call|> (or
        // solar-open's <|calls|>/<|flush|>) <|end|> does not end generation,
        // and next to <|tool_response> or <|plamo:eos|> "</s>" is plain text.
        let eog_id = |t: &str| vocab.id(t).filter(|id| eog.contains(id));
        let has = |t: &str| eog_id(t).is_some();
        let calls = has("<|call|>") || has("<|calls|>");
        let end = eog_id("<|end|>").filter(|_| calls && (has("<|return|>") || has("<|flush|>")));
        let plain_s = eog_id("</s>").filter(|_| has("<|tool_response>") || has("<|plamo:eos|>"));
        if let Some(end) = end {
            eog.retain(|&id| id != end);
            vocab.set_kind(end, TokenKind::UserDefined);
        }
        if let Some(s) = plain_s {
            eog.retain(|&id| id != s);
            vocab.set_kind(s, TokenKind::Normal);
        }
        ids.eog = eog;
        ids
    }
}
