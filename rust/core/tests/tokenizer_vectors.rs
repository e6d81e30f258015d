//! The tokenizer against llama.cpp's reference tokenizations of the real
//! models, plus decoding, special tokens, end-of-generation ids and bad metadata.

mod common;

use std::time::Instant;

use mote_core::gguf::{GgufFile, Value};
use mote_core::{Error, Tokenizer};

fn load(name: &str) -> Tokenizer {
    let g = GgufFile::open(&common::model_path(name)).unwrap();
    let start = Instant::now();
    let tok = Tokenizer::from_gguf(&g).unwrap();
    eprintln!("{name}: tokenizer of {} tokens built in {:?}", tok.vocab_size(), start.elapsed());
    tok
}

fn cases(name: &str) -> Vec<(String, Vec<u32>)> {
    let v = common::model_vectors(name);
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let ids = c["prompt_token_ids"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as u32);
            (c["prompt"].as_str().unwrap().to_owned(), ids.collect())
        })
        .collect()
}

fn check_vectors(name: &str) {
    let tok = load(name);
    let cases = cases(name);
    assert_eq!(cases.len(), 12);
    let mut failures = Vec::new();
    for (prompt, want) in &cases {
        let got = tok.encode(prompt, tok.add_bos(), true).unwrap();
        if &got != want {
            failures.push(format!("{prompt:?}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    eprintln!("{name}: {}/{} cases match llama.cpp", cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{name} mismatches:\n{}", failures.join("\n"));
}

#[test]
fn smollm2_matches_llama_cpp() {
    check_vectors("smollm2");
}

#[test]
fn gemma3_matches_llama_cpp() {
    check_vectors("gemma3");
}

#[test]
fn metadata_flags_and_ids() {
    let smol = load("smollm2");
    assert!(!smol.add_bos());
    assert_eq!((smol.bos_id(), smol.eos_id()), (Some(1), Some(2)));
    assert_eq!(smol.vocab_size(), 49152);
    let gemma = load("gemma3");
    assert!(gemma.add_bos());
    assert_eq!((gemma.bos_id(), gemma.eos_id()), (Some(2), Some(1)));
    assert_eq!(gemma.bos_token_str(), Some("<bos>"));
    assert_eq!(gemma.eos_token_str(), Some("<eos>"));
    assert_eq!(gemma.vocab_size(), 262144);
}

#[test]
fn gemma3_builds_fast() {
    let g = GgufFile::open(&common::model_path("gemma3")).unwrap();
    // Best of three: the machine is shared with other builds.
    let best = (0..3)
        .map(|_| {
            let start = Instant::now();
            Tokenizer::from_gguf(&g).unwrap();
            start.elapsed()
        })
        .min()
        .unwrap();
    eprintln!("gemma3 tokenizer build: best of 3 = {best:?}");
    assert!(best.as_secs_f64() < 1.5, "262k-token tokenizer took {best:?}");
}

#[test]
fn decode_round_trips_vector_prompts() {
    for name in ["smollm2", "gemma3"] {
        let tok = load(name);
        for (prompt, _) in cases(name) {
            let ids = tok.encode(&prompt, tok.add_bos(), true).unwrap();
            assert_eq!(tok.decode(&ids), prompt, "{name}");
        }
    }
}

/// Joining token bytes rebuilds text even when single tokens hold partial characters.
fn assert_splits_characters(tok: &Tokenizer, text: &str) {
    let ids = tok.encode(text, false, false).unwrap();
    let pieces: Vec<Vec<u8>> = ids.iter().map(|&id| tok.token_bytes(id)).collect();
    assert_eq!(pieces.concat(), text.as_bytes());
    assert!(
        pieces.iter().any(|p| std::str::from_utf8(p).is_err()),
        "expected a token holding part of a character in {text:?}: {pieces:?}"
    );
}

#[test]
fn token_bytes_carry_partial_characters() {
    let smol = load("smollm2");
    assert_splits_characters(&smol, "東京は日本の首都です。");
    assert_splits_characters(&smol, "it's über-cold! 🙂");
    let gemma = load("gemma3");
    // U+A66C is not in Gemma's vocabulary: it falls back to three byte tokens.
    let ids = gemma.encode("Ꙭ", false, false).unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|&id| gemma.token_bytes(id).len() == 1));
    assert_splits_characters(&gemma, "xꙬy");
    // Whole characters and SentencePiece spaces.
    let ids = gemma.encode("東京 🙂", false, false).unwrap();
    let text: Vec<u8> = ids.iter().flat_map(|&id| gemma.token_bytes(id)).collect();
    assert_eq!(text, "東京 🙂".as_bytes());
}

#[test]
fn control_tokens_decode_to_nothing_but_user_defined_to_text() {
    let gemma = load("gemma3");
    assert!(gemma.token_bytes(2).is_empty(), "<bos> is control");
    let tab = gemma.token_id("\t").unwrap();
    assert_eq!(gemma.token_bytes(tab), b"\t");
    assert!(gemma.token_bytes(u32::MAX).is_empty());
    assert_eq!(gemma.decode(&[2, 818, u32::MAX, 5279]), "The capital");
    assert_eq!(gemma.token_text(818), Some("The"));
    assert_eq!(gemma.token_text(5279), Some("▁capital"));
    assert_eq!(gemma.token_text(u32::MAX), None);
}

#[test]
fn special_tokens_parse_only_when_asked() {
    let smol = load("smollm2");
    let text = "<|im_start|>user\nHi<|im_end|>\n";
    let parsed = smol.encode(text, false, true).unwrap();
    assert_eq!(parsed[0], 1);
    assert_eq!(parsed.iter().filter(|&&id| id == 2).count(), 1);
    let plain = smol.encode(text, false, false).unwrap();
    assert!(!plain.contains(&1) && !plain.contains(&2), "{plain:?}");
    assert_eq!(smol.decode(&plain), text);
    assert_eq!(smol.decode(&parsed), "user\nHi\n");

    let gemma = load("gemma3");
    let start = gemma.token_id("<start_of_turn>").unwrap();
    let parsed = gemma.encode("<start_of_turn>user\nHi", true, true).unwrap();
    assert_eq!(&parsed[..2], &[2, start]);
    let plain = gemma.encode("<start_of_turn>user\nHi", true, false).unwrap();
    assert!(!plain.contains(&start) && plain.len() > 4, "{plain:?}");
    // User-defined tokens (here "\n" and a tab) are split out even without parse_special.
    let newline = gemma.token_id("\n").unwrap();
    assert!(plain.contains(&newline));
    assert!(gemma.encode("a\tb", false, false).unwrap().contains(&gemma.token_id("\t").unwrap()));
    assert_eq!(gemma.encode("", true, true).unwrap(), vec![2]);
    assert!(gemma.encode("", false, true).unwrap().is_empty());
}

#[test]
fn end_of_generation_tokens() {
    let smol = load("smollm2");
    let im_end = smol.token_id("<|im_end|>").unwrap();
    assert!(smol.is_eog(im_end));
    assert!(smol.is_eog(smol.token_id("<|endoftext|>").unwrap()));
    assert!(smol.is_eog(smol.eos_id().unwrap()));
    assert!(!smol.is_eog(smol.token_id("<|im_start|>").unwrap()));
    assert!(!smol.is_eog(504));

    let gemma = load("gemma3");
    assert!(gemma.is_eog(1), "<eos>");
    assert!(gemma.is_eog(gemma.token_id("<end_of_turn>").unwrap()));
    assert_eq!(gemma.eot_id(), gemma.token_id("<end_of_turn>"));
    assert!(!gemma.is_eog(2), "<bos>");
    assert!(!gemma.is_eog(gemma.token_id("<start_of_turn>").unwrap()));
    assert!(!gemma.is_eog(818));
}

// ---- synthetic vocabularies and bad metadata ----

fn strings(items: &[&str]) -> Value {
    Value::array(items.iter().map(|s| Value::String((*s).into())).collect())
}

fn build(metadata: &[(&str, Value)]) -> mote_core::Result<Tokenizer> {
    let g = GgufFile::from_bytes(common::write_gguf(metadata, &[]))?;
    Tokenizer::from_gguf(&g)
}

/// A tiny SentencePiece vocabulary: merges go by the merged token's score.
fn tiny_spm(extra: &[(&str, Value)]) -> Vec<(&'static str, Value)> {
    let tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "c", "ab", "bc", "▁a", "<0x41>", "<0xC3>", "<0xA9>"];
    let scores = [0.0, 0.0, 0.0, -1.0, -2.0, -2.0, -2.0, -5.0, -3.0, -4.0, 0.0, 0.0, 0.0];
    let types = [2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6];
    let mut md: Vec<(&'static str, Value)> = vec![
        ("tokenizer.ggml.model", Value::String("llama".into())),
        ("tokenizer.ggml.tokens", strings(&tokens)),
        ("tokenizer.ggml.scores", Value::array(scores.iter().map(|&s| Value::F32(s)).collect())),
        ("tokenizer.ggml.token_type", Value::array(types.iter().map(|&t| Value::I32(t)).collect())),
    ];
    for (k, v) in extra {
        let key: &'static str = Box::leak(k.to_string().into_boxed_str());
        md.push((key, v.clone()));
    }
    md
}

#[test]
fn synthetic_spm_merges_by_score_with_byte_fallback() {
    let tok = build(&tiny_spm(&[])).unwrap();
    // Defaults for a "llama" vocabulary: BOS 1 added, a space prefix.
    assert!(tok.add_bos());
    // "▁abc": "bc" (-3) beats "ab" (-5) and "▁a" (-4), so "▁a" then "bc".
    assert_eq!(tok.encode("abc", true, false).unwrap(), vec![1, 9, 8]);
    // "é" is not a token: its two UTF-8 bytes fall back to <0xC3><0xA9>.
    assert_eq!(tok.encode("é", false, false).unwrap(), vec![3, 11, 12]);
    assert_eq!(tok.decode(&[1, 3, 11, 12]), "é");
    // No byte token for 'x' and an unknown token: it becomes <unk>.
    assert_eq!(tok.encode("x", false, false).unwrap(), vec![3, 0]);

    let no_prefix = build(&tiny_spm(&[("tokenizer.ggml.add_space_prefix", Value::Bool(false))])).unwrap();
    assert_eq!(no_prefix.encode("abc", false, false).unwrap(), vec![4, 8]);
}

#[test]
fn missing_or_garbled_metadata_is_a_typed_error() {
    let without =
        |key: &str| -> Vec<(&'static str, Value)> { tiny_spm(&[]).into_iter().filter(|(k, _)| *k != key).collect() };
    let replaced = |key: &str, v: Value| -> Vec<(&'static str, Value)> {
        tiny_spm(&[]).into_iter().map(|(k, old)| (k, if k == key { v.clone() } else { old })).collect()
    };
    let invalid = |r: mote_core::Result<Tokenizer>| matches!(r, Err(Error::InvalidModel(_)));

    assert!(invalid(build(&without("tokenizer.ggml.model"))));
    assert!(invalid(build(&without("tokenizer.ggml.tokens"))));
    assert!(invalid(build(&replaced("tokenizer.ggml.model", Value::U32(1)))));
    assert!(invalid(build(&replaced("tokenizer.ggml.tokens", Value::String("a".into())))));
    assert!(invalid(build(&replaced("tokenizer.ggml.tokens", Value::array(vec![Value::U8(1)])))));
    assert!(invalid(build(&replaced("tokenizer.ggml.tokens", Value::array(vec![])))));
    assert!(invalid(build(&replaced("tokenizer.ggml.scores", Value::array(vec![Value::F32(0.0)])))));
    let mut bad_flag = tiny_spm(&[]);
    bad_flag.push(("tokenizer.ggml.add_bos_token", Value::String("yes".into())));
    assert!(invalid(build(&bad_flag)));
    assert!(matches!(
        build(&replaced("tokenizer.ggml.model", Value::String("bert".into()))),
        Err(Error::UnsupportedModel(_))
    ));
    // A gpt2 vocabulary needs merges, and merges must be "left right".
    let gpt2 = replaced("tokenizer.ggml.model", Value::String("gpt2".into()));
    assert!(invalid(build(&gpt2)));
    let mut bad_merge = gpt2.clone();
    bad_merge.push(("tokenizer.ggml.merges", strings(&["ab"])));
    assert!(invalid(build(&bad_merge)));
    // An out-of-range BOS id is ignored (llama.cpp warns and keeps its default).
    let tok = build(&tiny_spm(&[("tokenizer.ggml.bos_token_id", Value::U32(9999))])).unwrap();
    assert_eq!(tok.bos_id(), Some(1));
}

#[test]
fn synthetic_byte_level_bpe() {
    // Byte-level spellings: "Ġ" is the space byte.
    let tokens = ["<|endoftext|>", "h", "i", "Ġ", "hi", "Ġh", "Ġhi", "!"];
    let types = [3, 1, 1, 1, 1, 1, 1, 1];
    let md = vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("gpt-2".into())),
        ("tokenizer.ggml.tokens", strings(&tokens)),
        ("tokenizer.ggml.token_type", Value::array(types.iter().map(|&t| Value::I32(t)).collect())),
        ("tokenizer.ggml.merges", strings(&["Ġ h", "Ġh i", "h i", "x y"])),
        ("tokenizer.ggml.eos_token_id", Value::U32(0)),
    ];
    let tok = build(&md).unwrap();
    assert!(!tok.add_bos());
    assert_eq!(tok.bos_id(), None);
    assert_eq!(tok.encode("hi hi!", false, true).unwrap(), vec![4, 6, 7]);
    assert_eq!(tok.encode("hi<|endoftext|>", false, true).unwrap(), vec![4, 0]);
    assert!(matches!(tok.encode("hi", true, true), Err(Error::Tokenizer(_))));
    assert_eq!(tok.decode(&[4, 6, 7, 0]), "hi hi!");
    assert!(tok.is_eog(0));
}

#[test]
fn long_and_degenerate_inputs_encode_quickly() {
    let mixed: String = cases("gemma3").iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join("\n").repeat(150);
    let inputs = [mixed, " ".repeat(100_000), "a".repeat(100_000), "\n \t".repeat(30_000), "東".repeat(50_000)];
    for name in ["smollm2", "gemma3"] {
        let tok = load(name);
        for text in &inputs {
            let start = std::time::Instant::now();
            let ids = tok.encode(text, false, true).unwrap();
            let took = start.elapsed();
            eprintln!("{name}: {} bytes -> {} tokens in {took:?}", text.len(), ids.len());
            assert_eq!(tok.decode(&ids), *text);
            assert!(took.as_secs_f64() < 2.0, "{name}: {} bytes took {took:?}", text.len());
        }
    }
}

#[test]
fn tokenizer_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Tokenizer>();
    shareable::<mote_core::ChatTemplate>();
}
