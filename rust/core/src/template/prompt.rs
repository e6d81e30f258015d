//! Chat prompts as token ids, with message content treated as data.
//!
//! A rendered prompt mixes the template's markup (`<|im_start|>`,
//! `<start_of_turn>`, ...) with text from the messages. Parsing special tokens
//! in all of it, as llama.cpp and transformers do, lets any message forge
//! turns: a user writing `<|im_end|>\n<|im_start|>system\n` gets a real system
//! turn. Here only the template's own text can produce control tokens.
//!
//! How: the template's output cannot be mapped back to the messages in
//! general (it trims, concatenates, moves Gemma's system prompt into the first
//! user turn, JSON-encodes tool arguments). So every special-token text inside
//! a message (or tool spec) is replaced, before rendering, by a placeholder
//! that no transformation of these kinds changes: a private-use character that
//! occurs nowhere else, the occurrence number, the same character. Wherever
//! the template put a placeholder, the original text goes back into the
//! output, marked "no special tokens" for the tokenizer; the rest is encoded
//! as before. Conversations without such texts take the unchanged path, so
//! their ids are what they always were.
//!
//! A template whose output depends on those texts (e.g. Qwen 3 cutting an
//! assistant message at `</think>`) sees the placeholder, not the text, and
//! renders the message whole; that is logged, and still safe: it is the one
//! way to render such a message without letting its text act as markup.

use std::ops::Range;

use minijinja::value::{Value, ValueKind};

use super::{parse_json, ChatMessage, ChatTemplate};
use crate::error::{Error, Result};
use crate::tokenizer::{Segment, Specials, Tokenizer};

/// The messages of one prompt, in either input form.
enum Conversation<'a> {
    Messages(&'a [ChatMessage]),
    Json { messages: Value, tools: Value },
}

impl ChatTemplate {
    /// The prompt ids for `messages` (BOS as the tokenizer wants it). Special
    /// token texts inside messages are encoded as the plain text they are
    /// spelled with; only the template's markup becomes special tokens.
    pub fn encode(&self, tok: &Tokenizer, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<Vec<u32>> {
        if messages.is_empty() {
            return Err(Error::InvalidArgument("a chat needs at least one message".into()));
        }
        self.encode_conversation(tok, &Conversation::Messages(messages), add_generation_prompt)
    }

    /// As [`ChatTemplate::encode`], for the JSON messages and tools of
    /// [`ChatTemplate::render_json`]. Every string in them is data: contents,
    /// tool-call arguments, names, tool descriptions.
    pub fn encode_json(
        &self,
        tok: &Tokenizer,
        messages_json: &str,
        tools_json: Option<&str>,
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>> {
        let (messages, tools) = parse_json(messages_json, tools_json)?;
        self.encode_conversation(tok, &Conversation::Json { messages, tools }, add_generation_prompt)
    }

    fn encode_conversation(
        &self,
        tok: &Tokenizer,
        conv: &Conversation<'_>,
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>> {
        let strings = conv.strings();
        let guarded = |s: &str| !self.guarded_spans(tok, s).is_empty();
        let ids = if !strings.iter().any(|s| guarded(s)) {
            // Nothing a message says can be read as markup: encode as always.
            let text = conv.render(self, &mut |s| s.to_owned(), add_generation_prompt)?;
            tok.encode(&text, tok.add_bos(), true)?
        } else {
            let marker = self.free_marker(&strings)?;
            let mut originals: Vec<String> = Vec::new();
            let mut hide = |s: &str| {
                let spans = self.guarded_spans(tok, s);
                let mut out = String::with_capacity(s.len() + 8 * spans.len());
                let mut last = 0;
                for r in spans {
                    out.push_str(&s[last..r.start]);
                    out.push(marker);
                    out.push_str(&originals.len().to_string());
                    out.push(marker);
                    originals.push(s[r.clone()].to_owned());
                    last = r.end;
                }
                out.push_str(&s[last..]);
                out
            };
            let hidden = conv.render(self, &mut hide, add_generation_prompt)?;
            let (text, plain) = restore(&hidden, marker, &originals);
            // The real rendering is only needed for this warning (one more render).
            if log::log_enabled!(log::Level::Warn)
                && conv.render(self, &mut |s| s.to_owned(), add_generation_prompt).ok().as_deref() != Some(&text)
            {
                log::warn!(
                    "the chat template's output depends on special-token text inside a message; \
                     that message was rendered with the text hidden from the template"
                );
            }
            tok.encode_segments(&segments(&text, &plain), tok.add_bos())?
        };
        Ok(drop_double_bos(tok, ids))
    }

    /// Byte ranges of `s` (merged when they overlap) spelling a special token
    /// that must not come from a message: every control and unknown token,
    /// and the user-defined ones this template writes as markup (Command-R's
    /// `<|START_OF_TURN_TOKEN|>`, Qwen's `<tool_call>`). Other user-defined
    /// tokens (Gemma's whitespace runs and HTML tags) are ordinary text the
    /// vocabulary spells as one token, as in llama.cpp and transformers, and
    /// keep their ids.
    fn guarded_spans(&self, tok: &Tokenizer, s: &str) -> Vec<Range<usize>> {
        let mut spans: Vec<Range<usize>> = Vec::new();
        for (r, id) in tok.special_texts(s) {
            if tok.is_user_defined(id) && !self.writes_as_markup(&s[r.clone()]) {
                continue;
            }
            match spans.last_mut() {
                Some(last) if r.start < last.end => last.end = last.end.max(r.end),
                _ => spans.push(r),
            }
        }
        spans
    }

    /// Whether the template can emit user-defined token `text` itself.
    /// Whitespace cannot forge a turn, and Gemma's newline tokens occur in every template.
    fn writes_as_markup(&self, text: &str) -> bool {
        !text.trim().is_empty() && (self.source.contains(text) || text == self.bos_token || text == self.eos_token)
    }

    /// A private-use character in no message and not in the template, so
    /// that every one in the output is a placeholder's.
    fn free_marker(&self, strings: &[String]) -> Result<char> {
        ('\u{E000}'..='\u{F8FF}')
            .find(|c| {
                !self.source.contains(*c)
                    && !self.bos_token.contains(*c)
                    && !self.eos_token.contains(*c)
                    && !strings.iter().any(|s| s.contains(*c))
            })
            .ok_or_else(|| Error::InvalidArgument("the messages use every private-use character".into()))
    }
}

impl Conversation<'_> {
    /// Every string the template gets from the caller.
    fn strings(&self) -> Vec<String> {
        match self {
            Conversation::Messages(m) => m.iter().map(|m| m.content.clone()).collect(),
            Conversation::Json { messages, tools } => {
                let mut out = Vec::new();
                collect_strings(messages, &mut out);
                collect_strings(tools, &mut out);
                out
            }
        }
    }

    /// The template's output with every caller string passed through `f`.
    fn render(
        &self,
        t: &ChatTemplate,
        f: &mut dyn FnMut(&str) -> String,
        add_generation_prompt: bool,
    ) -> Result<String> {
        match self {
            Conversation::Messages(m) => {
                let mapped: Vec<ChatMessage> = m.iter().map(|m| ChatMessage::new(m.role, f(&m.content))).collect();
                t.render(&mapped, add_generation_prompt)
            }
            Conversation::Json { messages, tools } => {
                t.render_values(map_strings(messages, f), map_strings(tools, f), add_generation_prompt)
            }
        }
    }
}

/// Keys too: a template may print an arguments object with `tojson`.
fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v.kind() {
        ValueKind::String => out.push(v.as_str().unwrap_or_default().to_owned()),
        ValueKind::Seq | ValueKind::Map => {
            let is_map = v.kind() == ValueKind::Map;
            for item in v.try_iter().into_iter().flatten() {
                if is_map {
                    if let Ok(value) = v.get_item(&item) {
                        collect_strings(&value, out);
                    }
                }
                collect_strings(&item, out);
            }
        }
        _ => {}
    }
}

/// `v` with every string (map keys included) replaced by `f` of it, map order kept.
fn map_strings(v: &Value, f: &mut dyn FnMut(&str) -> String) -> Value {
    match v.kind() {
        ValueKind::String => Value::from(f(v.as_str().unwrap_or_default())),
        ValueKind::Seq => {
            Value::from(v.try_iter().into_iter().flatten().map(|x| map_strings(&x, f)).collect::<Vec<_>>())
        }
        ValueKind::Map => {
            let mut pairs = Vec::new();
            for key in v.try_iter().into_iter().flatten() {
                let value = v.get_item(&key).unwrap_or_default();
                pairs.push((map_strings(&key, f), map_strings(&value, f)));
            }
            Value::from_iter(pairs)
        }
        _ => v.clone(),
    }
}

/// `hidden` with each placeholder `marker N marker` replaced by
/// `originals[N]`, and the byte ranges those now cover. A marker that does
/// not open a valid placeholder (a template cut one apart) is dropped: it
/// was never the caller's text.
fn restore(hidden: &str, marker: char, originals: &[String]) -> (String, Vec<Range<usize>>) {
    let mut text = String::with_capacity(hidden.len());
    let mut plain = Vec::new();
    let mut rest = hidden;
    while let Some(i) = rest.find(marker) {
        text.push_str(&rest[..i]);
        rest = &rest[i + marker.len_utf8()..];
        let index = rest.find(marker).and_then(|j| Some((rest[..j].parse::<usize>().ok()?, j)));
        if let Some((original, j)) = index.and_then(|(n, j)| Some((originals.get(n)?, j))) {
            plain.push(text.len()..text.len() + original.len());
            text.push_str(original);
            rest = &rest[j + marker.len_utf8()..];
        }
    }
    text.push_str(rest);
    (text, plain)
}

/// `text` cut into markup (all special tokens) and the message texts at
/// `plain` (none), which are in order and do not overlap.
fn segments<'a>(text: &'a str, plain: &[Range<usize>]) -> Vec<Segment<'a>> {
    let mut out = Vec::with_capacity(2 * plain.len() + 1);
    let mut last = 0;
    for r in plain {
        out.push(Segment { text: &text[last..r.start], specials: Specials::All });
        out.push(Segment { text: &text[r.clone()], specials: Specials::None });
        last = r.end;
    }
    out.push(Segment { text: &text[last..], specials: Specials::All });
    out
}

/// A template that writes `bos_token` while the tokenizer adds BOS too would
/// start with two; llama.cpp keeps one.
fn drop_double_bos(tok: &Tokenizer, mut ids: Vec<u32>) -> Vec<u32> {
    if tok.add_bos() && ids.len() >= 2 && ids[0] == ids[1] && Some(ids[0]) == tok.bos_id() {
        ids.remove(0);
    }
    ids
}
