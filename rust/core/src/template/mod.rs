//! Chat templates: the model's own Jinja template from GGUF metadata, or a
//! default chosen by the vocabulary.
//!
//! Rendering matches Hugging Face transformers (Python jinja2 in an
//! `ImmutableSandboxedEnvironment` with `trim_blocks`, `lstrip_blocks`, loop
//! controls, `raise_exception`, `strftime_now` and its own `tojson`) byte for
//! byte on the real templates llama.cpp collects; see
//! `tests/template_conformance.rs`. [`pycompat`] holds the differences from
//! minijinja's defaults.
//!
//! Templates come from model files, which are untrusted: rendering has no
//! file access, bounded recursion, a budget on `range()` elements, on
//! instructions and on output size, and every failure is an [`Error::Template`].

mod bounded;
mod defaults;
mod namespaces;
mod prompt;
mod pycompat;
mod pyjson;
mod strftime;

use std::sync::atomic::{AtomicU64, Ordering};

use minijinja::{Environment, ErrorKind, State, Value};

use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::tokenizer::Tokenizer;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

/// Far beyond any prompt a phone-sized context holds; a template that writes
/// more is broken or hostile.
const MAX_OUTPUT: usize = 4 << 20;
/// Total `range()` elements one render may create; bounds nested loops.
const RANGE_BUDGET: u64 = 1_000_000;
const RECURSION_LIMIT: usize = 64;
/// Instructions one render may execute; real templates use a few thousand per message.
const FUEL: u64 = 50_000_000;
const TEMPLATE: &str = "chat";
/// Strings that end an assistant turn in common templates.
const KNOWN_TURN_ENDS: &[&str] = &[
    "<|im_end|>",
    "<end_of_turn>",
    "<|eot_id|>",
    "<|end|>",
    "<|endoftext|>",
    "<|eom_id|>",
    "</s>",
    "<|end_of_text|>",
    "<｜end▁of▁sentence｜>",
];

pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    /// `source` as rendered (generation tags rewritten), parsed again per render by `bounded`.
    prepared: String,
    is_default: bool,
    bos_token: String,
    eos_token: String,
    /// Set when the tokenizer adds BOS itself, so a template's own leading
    /// `bos_token` must go (llama.cpp does the same) to avoid a double BOS.
    strip_bos: bool,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").field("is_default", &self.is_default).field("source", &self.source).finish()
    }
}

impl ChatTemplate {
    /// The model's `tokenizer.chat_template`, else a default for its
    /// vocabulary. A model template that does not parse is an
    /// [`Error::Template`] naming the failure, not a silent default: the
    /// prompt format would be wrong. Pass your own template with
    /// [`ChatTemplate::from_gguf_or_override`] to load such a model.
    pub fn from_gguf(g: &GgufFile, tok: &Tokenizer) -> Result<ChatTemplate> {
        Self::from_gguf_or_override(g, tok, None)
    }

    /// As [`ChatTemplate::from_gguf`], but `override_source`, when given, is
    /// used instead of the model's template (which is then not parsed at all).
    pub fn from_gguf_or_override(g: &GgufFile, tok: &Tokenizer, override_source: Option<&str>) -> Result<ChatTemplate> {
        if let Some(source) = override_source {
            return Self::new(source, tok, false)
                .map_err(|e| Error::Template(format!("the chat template override does not parse: {}", detail(e))));
        }
        match g.get("tokenizer.chat_template") {
            Some(v) => {
                let source =
                    v.as_str().ok_or_else(|| Error::InvalidModel("tokenizer.chat_template is not a string".into()))?;
                Self::new(source, tok, false).map_err(|e| {
                    Error::Template(format!(
                        "the model's chat template (tokenizer.chat_template) does not parse: {}; \
                         pass a chat template override to use this model",
                        detail(e)
                    ))
                })
            }
            None => Self::new(defaults::for_vocab(tok), tok, true),
        }
    }

    /// A template from Jinja source, with `tok`'s BOS/EOS texts.
    pub fn from_source(source: &str, tok: &Tokenizer) -> Result<ChatTemplate> {
        Self::new(source, tok, false)
    }

    /// A template from Jinja source with the given BOS/EOS texts, for a
    /// caller without a tokenizer. The output keeps a leading BOS.
    pub fn from_source_with_tokens(source: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate> {
        Self::build(source, false, bos_token, eos_token, false)
    }

    fn new(source: &str, tok: &Tokenizer, is_default: bool) -> Result<ChatTemplate> {
        Self::build(
            source,
            is_default,
            tok.bos_token_str().unwrap_or_default(),
            tok.eos_token_str().unwrap_or_default(),
            tok.add_bos(),
        )
    }

    fn build(
        source: &str,
        is_default: bool,
        bos_token: &str,
        eos_token: &str,
        strip_bos: bool,
    ) -> Result<ChatTemplate> {
        let mut env = Environment::new();
        // Hugging Face renders with these; templates are written for them.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_recursion_limit(RECURSION_LIMIT);
        // Bounds CPU time too: loops over large literals write nothing the output cap would catch.
        env.set_fuel(Some(FUEL));
        env.set_unknown_method_callback(pycompat::unknown_method);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_function("strftime_now", |format: String| strftime::now(&format));
        env.add_function("range", budgeted_range);
        env.set_formatter(pycompat::formatter);
        env.add_filter("tojson", pyjson::tojson);
        env.add_filter("indent", pycompat::indent);
        env.add_filter("format", pycompat::format_filter);
        env.add_filter("replace", pycompat::replace_filter);
        env.add_filter("join", pycompat::join_filter);
        env.add_filter("string", pycompat::string_filter);
        env.add_test("iterable", pycompat::is_iterable);
        env.add_test("sequence", pycompat::is_sequence);
        env.add_test("number", pycompat::is_number);
        bounded::install(&mut env);
        let prepared = generation_tags_as_scopes(source);
        // Added so that syntax errors surface at load; renders go through `bounded`.
        env.add_template_owned(TEMPLATE, prepared.clone()).map_err(template_error)?;
        Ok(ChatTemplate {
            env,
            source: source.to_owned(),
            prepared,
            is_default,
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
            strip_bos,
        })
    }

    /// The prompt text for `messages`. To tokenize a chat use
    /// [`ChatTemplate::encode`], which keeps special-token texts inside
    /// messages from becoming control tokens; encoding this text with
    /// `parse_special` would let a message forge turns.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        if messages.is_empty() {
            return Err(Error::InvalidArgument("a chat needs at least one message".into()));
        }
        self.render_values(Value::from_serialize(messages), Value::from(()), add_generation_prompt)
    }

    /// The prompt text for messages and tools given as JSON, in the shapes
    /// transformers' `apply_chat_template` takes: `messages_json` an array of
    /// objects (`role`, `content`, and e.g. `tool_calls`, `tool_call_id`,
    /// `name`), `tools_json` an array of JSON-schema function specs
    /// (`{"type": "function", "function": {...}}`). Object keys keep their order.
    pub fn render_json(
        &self,
        messages_json: &str,
        tools_json: Option<&str>,
        add_generation_prompt: bool,
    ) -> Result<String> {
        let (messages, tools) = parse_json(messages_json, tools_json)?;
        self.render_values(messages, tools, add_generation_prompt)
    }

    fn render_values(&self, messages: Value, tools: Value, add_generation_prompt: bool) -> Result<String> {
        // What transformers' apply_chat_template passes.
        let ctx = minijinja::context! {
            messages => messages,
            tools => tools,
            documents => Value::from(()),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        let mut text = bounded::render(&self.env, TEMPLATE, &self.prepared, ctx).map_err(template_error)?;
        if text.len() > MAX_OUTPUT {
            return Err(Error::Template(format!("template output exceeds {MAX_OUTPUT} bytes")));
        }
        if self.strip_bos && !self.bos_token.is_empty() && text.starts_with(&self.bos_token) {
            text.drain(..self.bos_token.len());
        }
        Ok(text)
    }

    /// True when a default was chosen: the model had no template.
    pub fn is_default(&self) -> bool {
        self.is_default
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Strings that end an assistant turn in this template's text form (e.g.
    /// "<end_of_turn>", "<|im_end|>"), for stop handling when the model
    /// spells them out instead of emitting a single token.
    pub fn turn_end_markers(&self) -> Vec<String> {
        if defaults::is_plain(&self.source) {
            return vec![defaults::PLAIN_TURN_END.to_owned()];
        }
        let mut markers: Vec<String> =
            KNOWN_TURN_ENDS.iter().filter(|m| self.source.contains(*m)).map(|m| (*m).to_owned()).collect();
        if self.source.contains("eos_token") && !self.eos_token.is_empty() && !markers.contains(&self.eos_token) {
            markers.push(self.eos_token.clone());
        }
        markers
    }
}

/// `render_json`'s arguments as template values.
fn parse_json(messages_json: &str, tools_json: Option<&str>) -> Result<(Value, Value)> {
    let parse = |what: &str, text: &str| -> Result<Value> {
        serde_json::from_str::<Value>(text)
            .map_err(|e| Error::InvalidArgument(format!("{what} is not valid JSON: {e}")))
    };
    let messages = parse("messages_json", messages_json)?;
    if messages.kind() != minijinja::value::ValueKind::Seq {
        return Err(Error::InvalidArgument("messages_json must be a JSON array".into()));
    }
    if messages.len() == Some(0) {
        return Err(Error::InvalidArgument("a chat needs at least one message".into()));
    }
    let tools = match tools_json {
        Some(t) => parse("tools_json", t)?,
        None => Value::from(()),
    };
    Ok((messages, tools))
}

/// transformers' `{% generation %}…{% endgeneration %}` (marking assistant
/// text for training masks) renders its body in a scope of its own; minijinja
/// has no such tag, so it becomes `{% with %}…{% endwith %}`, keeping the
/// tag's whitespace control.
fn generation_tags_as_scopes(source: &str) -> String {
    if !source.contains("generation") {
        return source.to_owned();
    }
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(i) = rest.find("{%") {
        out.push_str(&rest[..i]);
        let tag = &rest[i..];
        // After the opening `{%`: in `{%}` the `%` must not close the tag.
        let Some(end) = tag[2..].find("%}").map(|e| e + 2) else {
            out.push_str(tag);
            return out;
        };
        let inner = &tag[2..end];
        let trimmed = inner.trim_start_matches(['-', '+']).trim_end_matches(['-', '+']).trim();
        let replacement = match trimmed {
            "generation" => Some("with"),
            "endgeneration" => Some("endwith"),
            _ => None,
        };
        match replacement {
            Some(word) => out.push_str(&format!("{{%{}%}}", inner.replacen(trimmed, word, 1))),
            None => out.push_str(&tag[..end + 2]),
        }
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    out
}

fn detail(e: Error) -> String {
    match e {
        Error::Template(msg) => msg,
        other => other.to_string(),
    }
}

fn template_error(e: minijinja::Error) -> Error {
    // raise_exception's message is the detail; other errors read best in full.
    match (e.kind(), e.detail()) {
        (ErrorKind::InvalidOperation, Some(detail)) => Error::Template(detail.to_owned()),
        _ => {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            Error::Template(msg)
        }
    }
}

/// Per-render counter behind `range()`. It lives in the render's temps,
/// which templates cannot reach, so a template cannot reset it.
#[derive(Debug)]
struct RangeBudget(AtomicU64);

impl minijinja::value::Object for RangeBudget {}

fn budgeted_range(
    state: &State,
    lower: i64,
    upper: Option<i64>,
    step: Option<i64>,
) -> std::result::Result<Value, minijinja::Error> {
    let invalid = |msg: &'static str| minijinja::Error::new(ErrorKind::InvalidOperation, msg);
    let (start, end) = match upper {
        Some(u) => (lower, u),
        None => (0, lower),
    };
    let step = step.unwrap_or(1);
    let len = match step {
        0 => 0,
        s if s > 0 => (end.saturating_sub(start).max(0) as u64).div_ceil(s.unsigned_abs()),
        s => (start.saturating_sub(end).max(0) as u64).div_ceil(s.unsigned_abs()),
    };
    let budget = state.get_or_set_temp_object("mote_range_budget", || RangeBudget(AtomicU64::new(RANGE_BUDGET)));
    let left = budget.0.load(Ordering::Relaxed);
    if len > left {
        return Err(invalid("template loops exceed the rendering budget"));
    }
    budget.0.store(left - len, Ordering::Relaxed);
    let to_isize = |v: i64| isize::try_from(v).map_err(|_| invalid("range bound too large"));
    minijinja::functions::range(to_isize(lower)?, upper.map(to_isize).transpose()?, Some(to_isize(step)?))
}
