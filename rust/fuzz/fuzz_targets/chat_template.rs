//! Chat templates from hostile model files, with hostile messages: building
//! and rendering never panic, never run away (fuel, range budget and
//! recursion limit; libFuzzer's -timeout and -rss_limit_mb catch a miss),
//! fail only with the documented error kinds, and cap their output.
//!
//! Input: `[flags, template source, 0, rest]`. Flags bit 0 is
//! `add_generation_prompt`; bit 1 reads `rest` as JSON for `render_json`
//! (messages, then after another 0 byte the tools); otherwise `rest` is
//! messages separated by 0 bytes, each a role byte (system, user, assistant
//! by value mod 3; an empty part is an empty system message) and its content. Bit 2 also encodes the chat with one of
//! `mote_fuzz::tokenizers()` (bits 3..), the path prompts really take.
//!
//! With bit 2 and an empty source, the tokenizer's own well-formed template
//! is used and message content must stay data: whatever the messages say,
//! the prompt holds the same control tokens as the same chat with empty
//! messages (a message cannot forge a turn).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mote_core::{ChatMessage, ChatTemplate, Error, Role};
use mote_fuzz::Variant;

/// `template::MAX_OUTPUT`: a template that writes more is refused.
const MAX_OUTPUT: usize = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else { return };
    let mut parts = data.splitn(2, |&b| b == 0);
    let source = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let rest = parts.next().unwrap_or_default();
    let add_generation_prompt = flags & 1 != 0;
    let encode = flags & 4 != 0;
    let v = pick(flags);
    let known = encode && source.is_empty();

    let t = if known {
        ChatTemplate::from_source(v.template, &v.tok).expect("the vocabulary's own template builds")
    } else {
        match ChatTemplate::from_source_with_tokens(&source, "<s>", "</s>") {
            Ok(t) => t,
            Err(Error::Template(_)) => return,
            Err(e) => panic!("building {source:?} failed with {e:?}, not a template error"),
        }
    };
    let _ = t.turn_end_markers();

    let rendered = if flags & 2 != 0 {
        let mut json = rest.splitn(2, |&b| b == 0);
        let messages = String::from_utf8_lossy(json.next().unwrap_or_default()).into_owned();
        let tools = json.next().map(|t| String::from_utf8_lossy(t).into_owned());
        if encode {
            check_encoded(v, &t.encode_json(&v.tok, &messages, tools.as_deref(), add_generation_prompt));
        }
        t.render_json(&messages, tools.as_deref(), add_generation_prompt)
    } else {
        let messages: Vec<ChatMessage> = if rest.is_empty() { Vec::new() } else { rest.split(|&b| b == 0).map(message).collect() };
        let r = t.render(&messages, add_generation_prompt);
        if messages.is_empty() {
            assert!(matches!(r, Err(Error::InvalidArgument(_))), "an empty chat must be refused: {r:?}");
        }
        if encode {
            let ids = t.encode(&v.tok, &messages, add_generation_prompt);
            check_encoded(v, &ids);
            if known {
                let blank: Vec<ChatMessage> = messages.iter().map(|m| ChatMessage::new(m.role, "")).collect();
                let blank_ids = t.encode(&v.tok, &blank, add_generation_prompt);
                let controls = |r: &mote_core::Result<Vec<u32>>| {
                    r.as_ref().ok().map(|ids| ids.iter().copied().filter(|&id| v.tok.is_control(id)).collect::<Vec<_>>())
                };
                assert_eq!(controls(&ids), controls(&blank_ids), "{}: message text changed the prompt's control tokens: {messages:?}", v.name);
            }
        }
        r
    };
    match rendered {
        Ok(text) => assert!(text.len() <= MAX_OUTPUT, "{} bytes of output passed the cap", text.len()),
        Err(Error::Template(_) | Error::InvalidArgument(_)) => {}
        Err(e) => panic!("rendering failed with {e:?}, not a template or argument error"),
    }
});

fn message(part: &[u8]) -> ChatMessage {
    let (role, content) = part.split_first().map_or((0, &[][..]), |(r, c)| (*r, c));
    let role = [Role::System, Role::User, Role::Assistant][role as usize % 3];
    ChatMessage::new(role, String::from_utf8_lossy(content))
}

fn pick(flags: u8) -> &'static Variant {
    let all = mote_fuzz::tokenizers();
    &all[(flags >> 3) as usize % all.len()]
}

/// Prompt ids are the vocabulary's; failures are the documented kinds.
fn check_encoded(v: &Variant, r: &mote_core::Result<Vec<u32>>) {
    match r {
        Ok(ids) => {
            let n = v.tok.vocab_size();
            assert!(ids.iter().all(|&id| (id as usize) < n), "{}: prompt id outside the vocabulary of {n}", v.name);
        }
        Err(Error::Template(_) | Error::InvalidArgument(_) | Error::Tokenizer(_)) => {}
        Err(e) => panic!("{}: encoding the chat failed with {e:?}", v.name),
    }
}
