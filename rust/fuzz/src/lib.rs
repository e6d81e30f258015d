//! Shared pieces of the fuzz targets: a GGUF writer, tiny models for the
//! seed corpus, and the small tokenizers the tokenizer and template targets
//! build once per process.

pub mod gguf_writer;
pub mod models;
pub mod sampling_input;
pub mod vocab;

use std::sync::OnceLock;

use mote_core::gguf::{GgufFile, Value};
use mote_core::Tokenizer;

/// One tokenizer the targets run, and what its round trip must give back.
pub struct Variant {
    pub name: &'static str,
    pub tok: Tokenizer,
    /// SentencePiece: decoding spells `▁` as a space, so an input `▁` comes
    /// back as a space (as in llama.cpp and SentencePiece itself).
    pub spm: bool,
    /// SentencePiece's `add_space_prefix`: each text fragment (the start, and
    /// after each special token) is encoded with a leading `▁` that decoding drops.
    pub space_prefix: bool,
    /// The chat template its vocabulary file carries.
    pub template: &'static str,
}

pub fn tokenizer_from_meta(meta: &[(String, Value)]) -> Tokenizer {
    let g = GgufFile::from_bytes(gguf_writer::write_gguf(meta, &[])).expect("a well-formed vocabulary file");
    Tokenizer::from_gguf(&g).expect("a vocabulary mote-core accepts")
}

/// Byte-level BPE under each family of word splitting (hand-written
/// splitters for SmolLM/Llama 3/Qwen 2, collapsed regexes for GPT-4o and
/// "default"), and SentencePiece with and without the space prefix. The
/// SentencePiece vocabulary with a space prefix has no user-defined tokens:
/// a fragment after one gets its own `▁`, which decoding keeps, so that
/// variant could not round-trip by design.
pub fn tokenizers() -> &'static [Variant] {
    static ALL: OnceLock<Vec<Variant>> = OnceLock::new();
    ALL.get_or_init(|| {
        let bpe = |name, pre, ud| Variant {
            name,
            tok: tokenizer_from_meta(&vocab::bpe(pre, ud)),
            spm: false,
            space_prefix: false,
            template: vocab::CHATML,
        };
        let spm = |name, prefix, ud| Variant {
            name,
            tok: tokenizer_from_meta(&vocab::spm(prefix, ud)),
            spm: true,
            space_prefix: prefix,
            template: vocab::TURNS,
        };
        vec![
            bpe("bpe-smollm", "smollm", true),
            bpe("bpe-llama3", "llama-bpe", false),
            bpe("bpe-qwen2", "qwen2", true),
            bpe("bpe-gpt4o", "gpt-4o", false),
            bpe("bpe-default", "default", true),
            spm("spm-prefix", true, false),
            spm("spm-user-defined", false, true),
        ]
    })
}
