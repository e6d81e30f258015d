//! Structured output for Mote: replies that always parse, constrained token
//! by token to a JSON Schema, a regular expression or a Lark grammar.
//!
//! The constraint engine is llguidance (the one llama.cpp, mistral.rs and
//! LiteRT-LM use), fed from Mote's own tokenizer: each vocabulary entry's
//! bytes as the model writes them, control tokens marked special, every
//! end-of-generation token as EOS. Writing our own would mean re-deriving
//! its lexer/Earley machinery and its JSON Schema coverage (ADR 9).
//!
//! ```no_run
//! # fn demo(engine: &mote_core::Engine) -> Result<(), Box<dyn std::error::Error>> {
//! use mote_structured::{Grammar, Structured};
//! let structured = Structured::new(&engine.text().0)?;
//! let schema = serde_json::json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
//! let mut constraint = structured.constraint(&Grammar::JsonSchema(schema))?;
//! let prompt = engine.prompt_tokens("Is water wet?", false)?;
//! let cfg = mote_core::GenerationConfig::greedy();
//! let reply = engine.complete_constrained(&prompt, &cfg, &Default::default(), Some(&mut constraint), &mut |_| {})?;
//! let value: serde_json::Value = serde_json::from_str(&reply.text)?;
//! # Ok(()) }
//! ```

mod constraint;
pub mod toolchat;
pub mod tools;
mod vocab;

pub use constraint::GrammarConstraint;
pub use toolchat::{Tool, ToolChat, ToolChoice, ToolError, ToolRun};
pub use tools::{ToolCall, ToolFormat};

use llguidance::api::TopLevelGrammar;
use llguidance::ParserFactory;
use mote_core::Tokenizer;
use std::sync::Arc;

/// What a reply must match.
#[derive(Clone, Debug)]
pub enum Grammar {
    /// A JSON Schema (draft 2020-12 subset llguidance supports; `$ref`s
    /// inside the schema only). Replies are compact JSON unless the schema
    /// sets llguidance's own `x-guidance` options.
    JsonSchema(serde_json::Value),
    /// A regular expression the whole reply matches.
    Regex(String),
    /// A grammar in llguidance's Lark dialect (`start: …`).
    Lark(String),
}

/// Why a grammar could not be used. Each case leaves the engine and its
/// sessions untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructuredError {
    /// Not a JSON Schema llguidance can compile (malformed, an unsupported
    /// keyword, a remote `$ref`, or no value satisfies it).
    #[error("invalid JSON Schema: {0}")]
    InvalidSchema(String),
    /// A regex or Lark grammar that does not parse or matches nothing.
    #[error("invalid grammar: {0}")]
    InvalidGrammar(String),
    /// Valid, but larger than the limits that keep each token's mask cheap.
    #[error("grammar too complex: {0}")]
    TooComplex(String),
}

/// Grammars for one model's vocabulary. Building it indexes the vocabulary
/// once (tens of milliseconds for 150k tokens); keep it with the engine and
/// make a [`GrammarConstraint`] per request.
#[derive(Clone)]
pub struct Structured {
    factory: Arc<ParserFactory>,
}

impl Structured {
    pub fn new(tokenizer: &Tokenizer) -> Result<Structured, StructuredError> {
        let env = vocab::token_env(tokenizer);
        let mut factory = guard(|| ParserFactory::new_simple(&env).map_err(|e| StructuredError::InvalidGrammar(e.to_string())))?;
        factory.quiet();
        Ok(Structured { factory: Arc::new(factory) })
    }

    /// A fresh constraint for one reply.
    pub fn constraint(&self, grammar: &Grammar) -> Result<GrammarConstraint, StructuredError> {
        let (top, invalid): (TopLevelGrammar, fn(String) -> StructuredError) = match grammar {
            Grammar::JsonSchema(schema) => {
                let mut schema = schema.clone();
                close_objects(&mut schema, 0);
                (TopLevelGrammar::from_json_schema(compact(schema)), StructuredError::InvalidSchema)
            }
            Grammar::Regex(rx) => (TopLevelGrammar::from_regex(rx), StructuredError::InvalidGrammar),
            Grammar::Lark(src) => (TopLevelGrammar::from_lark(src.clone()), StructuredError::InvalidGrammar),
        };
        let factory = self.factory.clone();
        let parser = guard(move || factory.create_parser(top).map_err(|e| classify(e.to_string(), invalid)))?;
        Ok(GrammarConstraint::new(parser))
    }
}

/// `prompt` followed by `schema`: the constraint guarantees the form, but
/// the model writes better values when it can read the field names and
/// descriptions it is filling in.
pub fn with_schema(prompt: &str, schema: &serde_json::Value) -> String {
    format!("{prompt}\n\nReply with JSON that matches this JSON Schema:\n{schema}")
}

/// Objects get exactly the properties their schema lists, unless it says
/// otherwise (`additionalProperties`, `patternProperties`): JSON Schema's
/// default allows any extra key, and a small model fills that freedom with
/// keys copied from the schema until it runs out of tokens, so its reply
/// never closes. Apple's `@Generable` and OpenAI's strict mode make the same
/// choice. Every reply still validates against the schema as given.
pub(crate) fn close_objects(schema: &mut serde_json::Value, depth: usize) {
    // Deeper than any real schema; bounds the recursion on hostile input.
    const MAX_DEPTH: usize = 64;
    let Some(obj) = schema.as_object_mut() else { return };
    if depth > MAX_DEPTH {
        return;
    }
    let is_object = obj.contains_key("properties") || obj.get("type").is_some_and(|t| t == "object");
    if is_object && !obj.contains_key("additionalProperties") && !obj.contains_key("patternProperties") && !obj.contains_key("unevaluatedProperties") {
        obj.insert("additionalProperties".into(), serde_json::Value::Bool(false));
    }
    for (key, sub) in obj.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" | "definitions" | "patternProperties" => {
                if let Some(m) = sub.as_object_mut() {
                    m.values_mut().for_each(|v| close_objects(v, depth + 1));
                }
            }
            // Not `not` or `if`: narrowing those would widen what the schema allows.
            "items" | "additionalProperties" | "then" | "else" | "contains" => close_objects(sub, depth + 1),
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Some(a) = sub.as_array_mut() {
                    a.iter_mut().for_each(|v| close_objects(v, depth + 1));
                }
            }
            _ => {}
        }
    }
}

/// JSON Schema replies without optional whitespace: fewer tokens, and the
/// reply ends at the closing brace instead of wherever the model stops
/// adding spaces. A schema's own `x-guidance` options win.
pub(crate) fn compact(mut schema: serde_json::Value) -> serde_json::Value {
    if let Some(obj) = schema.as_object_mut() {
        obj.entry("x-guidance").or_insert_with(|| serde_json::json!({ "whitespace_flexible": false }));
    }
    schema
}

fn classify(msg: String, invalid: fn(String) -> StructuredError) -> StructuredError {
    let lower = msg.to_lowercase();
    if ["too big", "too large", "too complex", "fuel", "limit"].iter().any(|k| lower.contains(k)) {
        StructuredError::TooComplex(msg)
    } else {
        invalid(msg)
    }
}

/// Runs `f`, turning a panic inside llguidance (a hostile schema reaching
/// an assertion) into an error for that grammar instead of the app's crash.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, StructuredError>) -> Result<T, StructuredError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(StructuredError::InvalidGrammar("the grammar engine failed on this grammar".into())))
}
