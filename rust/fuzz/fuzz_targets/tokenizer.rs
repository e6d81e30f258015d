//! The tokenizer on arbitrary text: encoding never fails or panics on any
//! text (every vocabulary here spells every byte), and decoding gives the
//! text back, whether special-token texts are parsed or left as text.
//!
//! Input: `[variant, flags, cut, text...]`. `variant` picks one of the
//! tokenizers in `mote_fuzz::tokenizers()`; flags bit 0 makes bytes 1..=8 of
//! the text stand for the vocabulary's special-token texts, so specials come
//! densely, adjacent and overlapping; `cut` splits the text into two
//! segments for `encode_segments`. The text is the rest, as lossy UTF-8.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mote_core::tokenizer::{Segment, Specials};
use mote_fuzz::{tokenizers, Variant};

fuzz_target!(|data: &[u8]| {
    let [which, flags, cut, rest @ ..] = data else { return };
    let all = tokenizers();
    let v = &all[*which as usize % all.len()];
    let tok = &v.tok;
    let mut text = String::from_utf8_lossy(rest).into_owned();
    if flags & 1 != 0 {
        text = with_specials(v, &text);
    }
    // SentencePiece decodes its `▁` as a space, whatever the text spelled.
    let expected = if v.spm { text.replace('\u{2581}', " ") } else { text.clone() };
    let specials: HashSet<u32> = tok.special_ids().iter().copied().collect();
    let name = v.name;

    // Plain text: only user-defined tokens split out, never a control token,
    // and `decode` (the public output path) gives the text back.
    let plain = tok.encode(&text, false, false).unwrap_or_else(|e| panic!("{name}: encode {text:?}: {e}"));
    check_ids(v, &plain);
    assert!(!plain.iter().any(|&id| tok.is_control(id)), "{name}: control token from plain text {text:?}: {plain:?}");
    assert_eq!(tok.decode(&plain), expected, "{name}: plain round trip of {text:?}: {plain:?}");

    // Special texts parsed: the ids still partition the text losslessly.
    let parsed = tok.encode(&text, false, true).unwrap_or_else(|e| panic!("{name}: encode {text:?}: {e}"));
    check_ids(v, &parsed);
    assert_eq!(render(v, &specials, &parsed), expected.as_bytes(), "{name}: parsed round trip of {text:?}: {parsed:?}");

    if let Some(bos) = tok.bos_id() {
        let with_bos = tok.encode(&text, true, true).expect("encoded above");
        assert_eq!((with_bos[0], &with_bos[1..]), (bos, &parsed[..]), "{name}: BOS changed the rest");
    }

    // Segments: all-special segments are documented to equal `encode` with
    // parse_special; "no specials" segments produce no special token at all
    // (message text stays data); mixed ones still round-trip.
    let mut at = (*cut as usize * text.len()) / 255;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let (a, b) = text.split_at(at);
    let seg = |sa, sb| {
        let segments = [Segment { text: a, specials: sa }, Segment { text: b, specials: sb }];
        tok.encode_segments(&segments, false).unwrap_or_else(|e| panic!("{name}: encode_segments {a:?} {b:?}: {e}"))
    };
    assert_eq!(seg(Specials::All, Specials::All), parsed, "{name}: segments {a:?} + {b:?} differ from encode");
    let none = seg(Specials::None, Specials::None);
    assert!(!none.iter().any(|id| specials.contains(id)), "{name}: special token from data {text:?}: {none:?}");
    assert_eq!(tok.decode(&none), expected, "{name}: data round trip of {text:?}: {none:?}");
    for (sa, sb) in [(Specials::None, Specials::All), (Specials::UserDefined, Specials::All)] {
        let mixed = seg(sa, sb);
        check_ids(v, &mixed);
        assert_eq!(render(v, &specials, &mixed), expected.as_bytes(), "{name}: {sa:?}+{sb:?} round trip of {a:?} + {b:?}");
    }

    // Ids from outside (a stored conversation, a caller) may be anything.
    let ids: Vec<u32> = rest.chunks(4).map(|c| c.iter().fold(0u32, |x, &b| x << 8 | u32::from(b))).collect();
    let _ = tok.decode(&ids);
    for &id in &ids {
        assert_eq!(tok.token_text(id).is_some(), (id as usize) < tok.vocab_size(), "{name}: token_text({id})");
    }
});

fn check_ids(v: &Variant, ids: &[u32]) {
    let n = v.tok.vocab_size();
    assert!(ids.iter().all(|&id| (id as usize) < n), "{}: id outside the vocabulary of {n}: {ids:?}", v.name);
}

/// The text `ids` stand for: special tokens as they are spelled, every other
/// token as its bytes, minus the `▁` SentencePiece put in front of each text
/// fragment (at the start and after each special token).
fn render(v: &Variant, specials: &HashSet<u32>, ids: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut strip = v.space_prefix;
    for &id in ids {
        if specials.contains(&id) {
            out.extend_from_slice(v.tok.token_text(id).expect("checked id").as_bytes());
            strip = v.space_prefix;
            continue;
        }
        let piece = v.tok.token_bytes(id);
        if strip && !piece.is_empty() {
            strip = false;
            out.extend_from_slice(piece.strip_prefix(b" ").unwrap_or(&piece[..]));
        } else {
            out.extend_from_slice(&piece);
        }
    }
    out
}

/// `text` with characters U+0001..=U+0008 replaced by special-token texts.
fn with_specials(v: &Variant, text: &str) -> String {
    let texts: Vec<&str> = v.tok.special_ids().iter().filter_map(|&id| v.tok.token_text(id)).collect();
    let mut out = String::with_capacity(text.len() * 4);
    for c in text.chars() {
        match c as u32 {
            n @ 1..=8 if !texts.is_empty() => out.push_str(texts[(n as usize - 1) % texts.len()]),
            _ => out.push(c),
        }
    }
    out
}
