//! Small vocabularies of both kinds mote-core reads, built in code (no
//! third-party vocabulary is committed): byte-level BPE ("gpt2") with the
//! specials and user-defined tokens of SmolLM2/Qwen-style files, and
//! SentencePiece ("llama") with byte fallback and Gemma-style turn markers.
//! Every byte is spelled by some token in each, so any text encodes.

use mote_core::gguf::Value;

use crate::gguf_writer::{s, strings};

/// llama.cpp's token types.
const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const BYTE: i32 = 6;

pub const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}\
{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}\
{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}\
{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Gemma-style turns: the system prompt folds into the first user turn and
/// roles must alternate.
pub const TURNS: &str = "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}\
{%- set prefix = messages[0]['content'] + '\n\n' -%}{%- set rest = messages[1:] -%}\
{%- else -%}{%- set prefix = '' -%}{%- set rest = messages -%}{%- endif -%}\
{%- for m in rest -%}{%- if (m['role'] == 'user') != (loop.index0 % 2 == 0) -%}\
{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}\
{%- set role = 'model' if m['role'] == 'assistant' else m['role'] -%}\
{{ '<start_of_turn>' + role + '\n' + (prefix if loop.first else '') }}{{ m['content'] | trim }}{{ '<end_of_turn>\n' }}\
{%- endfor -%}{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}";

/// GPT-2's printable spelling of each byte (mote-core's `bpe::byte_chars`).
pub fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return b as char;
    }
    let nth = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + nth).expect("U+0100 onwards")
}

/// Merge ranks of the BPE vocabulary, in GPT-2 spelling (`Ġ` is a space).
const MERGES: &[(&str, &str)] = &[
    ("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n"), ("Ġt", "he"), ("e", "r"),
    ("Ġ", "s"), ("a", "t"), ("Ġ", "w"), ("Ġ", "o"), ("e", "n"), ("Ġ", "c"), ("i", "t"), ("i", "s"),
    ("a", "n"), ("o", "r"), ("e", "s"), ("Ġ", "b"), ("e", "d"), ("Ġ", "f"), ("in", "g"), ("Ġ", "p"),
    ("o", "u"), ("Ġa", "n"), ("a", "l"), ("Ġt", "o"), ("Ġo", "f"), ("Ġan", "d"), ("l", "l"),
    ("Ġw", "or"), ("l", "d"), ("Ġwor", "ld"), ("Ġ", "h"), ("e", "l"), ("l", "o"), ("Ġh", "el"), ("Ġhel", "lo"),
    ("Ġ", "Ġ"), ("ĠĠ", "ĠĠ"), ("Ċ", "Ċ"), ("1", "2"), ("12", "3"), ("Ã", "©"), ("'", "s"), ("Ġ", "1"),
];

/// A byte-level BPE vocabulary with pre-tokenizer `pre`. `user_defined`
/// adds Qwen's `<tool_call>` markers, which split out of plain text too.
pub fn bpe(pre: &str, user_defined: bool) -> Vec<(String, Value)> {
    let mut tokens: Vec<String> = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"].map(String::from).to_vec();
    let mut types = vec![CONTROL; 3];
    for b in 0..=255u8 {
        tokens.push(byte_char(b).to_string());
        types.push(NORMAL);
    }
    let mut merges = Vec::new();
    for &(a, b) in MERGES {
        assert!(tokens.iter().any(|t| t == a) && tokens.iter().any(|t| t == b), "merge {a} {b} of unknown parts");
        merges.push(format!("{a} {b}"));
        let joined = format!("{a}{b}");
        if !tokens.contains(&joined) {
            tokens.push(joined);
            types.push(NORMAL);
        }
    }
    // Whole words no merge reaches: only Llama 3's ignore_merges finds them.
    for w in ["world", "Ġmodel", "Ġassistant"] {
        tokens.push(w.to_owned());
        types.push(NORMAL);
    }
    if user_defined {
        for t in ["<tool_call>", "</tool_call>"] {
            tokens.push(t.to_owned());
            types.push(USER_DEFINED);
        }
    }
    vec![
        ("tokenizer.ggml.model".into(), s("gpt2")),
        ("tokenizer.ggml.pre".into(), s(pre)),
        ("tokenizer.ggml.tokens".into(), strings(&tokens)),
        ("tokenizer.ggml.token_type".into(), Value::array(types.into_iter().map(Value::I32).collect())),
        ("tokenizer.ggml.merges".into(), strings(&merges)),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(1)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(2)),
        ("tokenizer.ggml.unknown_token_id".into(), Value::U32(0)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
        ("tokenizer.chat_template".into(), s(CHATML)),
    ]
}

/// SentencePiece pieces (besides single letters), best score first.
const PIECES: &[&str] = &[
    "▁t", "he", "▁the", "in", "er", "▁a", "on", "▁w", "or", "ld", "▁wor", "▁world", "▁h", "el", "lo", "▁hel",
    "▁hello", "▁▁", "▁▁▁▁", "\n", "é", "▁é", "12", "123",
];

/// A SentencePiece vocabulary with `<0xNN>` byte fallback. `space_prefix` is
/// `add_space_prefix` (SentencePiece's leading `▁`); `user_defined` adds
/// Gemma-style user-defined tokens (an HTML tag, a run of newlines).
pub fn spm(space_prefix: bool, user_defined: bool) -> Vec<(String, Value)> {
    let mut tokens: Vec<String> = ["<unk>", "<s>", "</s>", "<start_of_turn>", "<end_of_turn>"].map(String::from).to_vec();
    let mut types = vec![UNKNOWN, CONTROL, CONTROL, CONTROL, CONTROL];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(BYTE);
    }
    let letters = (b'a'..=b'z').chain(b'A'..=b'Z').chain(b'0'..=b'9').map(|c| (c as char).to_string());
    for p in std::iter::once("▁".to_owned()).chain(letters).chain(PIECES.iter().map(|p| p.to_string())) {
        tokens.push(p);
        types.push(NORMAL);
    }
    if user_defined {
        for t in ["<table>", "\n\n\n"] {
            tokens.push(t.to_owned());
            types.push(USER_DEFINED);
        }
    }
    // Longer pieces score higher, as in real SentencePiece models.
    let scores = tokens.iter().zip(&types).map(|(t, &ty)| Value::F32(if ty == NORMAL { t.chars().count() as f32 - 10.0 } else { 0.0 }));
    vec![
        ("tokenizer.ggml.model".into(), s("llama")),
        ("tokenizer.ggml.tokens".into(), strings(&tokens)),
        ("tokenizer.ggml.scores".into(), Value::array(scores.collect())),
        ("tokenizer.ggml.token_type".into(), Value::array(types.into_iter().map(Value::I32).collect())),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(1)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(2)),
        ("tokenizer.ggml.add_space_prefix".into(), Value::Bool(space_prefix)),
        ("tokenizer.chat_template".into(), s(TURNS)),
    ]
}

/// The number of tokens in a vocabulary's metadata.
pub fn vocab_size(meta: &[(String, Value)]) -> usize {
    meta.iter().find(|(k, _)| k == "tokenizer.ggml.tokens").and_then(|(_, v)| v.as_array()).map_or(0, |a| a.len())
}
