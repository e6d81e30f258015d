//! Structured output and tool calling for Kotlin and Swift: JSON replies
//! constrained to a schema, and tool-calling conversations whose handler is
//! app code (a foreign trait). Both block for the whole generation: the
//! Kotlin and Swift wrappers run them off the main thread.

use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{guard, FromPanic, MoteError};
use crate::records::GenerationConfig;
use mote_structured as ms;

/// Why structured output or a tool conversation failed. The engine and its
/// sessions stay usable in every case.
#[derive(Debug, Clone, PartialEq, uniffi::Error)]
pub enum StructuredError {
    /// Not a JSON Schema that can be enforced (malformed, unsupported, unsatisfiable).
    InvalidSchema { reason: String },
    /// A regex or grammar that does not parse or matches nothing.
    InvalidGrammar { reason: String },
    /// Valid, but beyond the limits that keep each token's check cheap.
    TooComplex { reason: String },
    /// The model called a tool that was not offered.
    ToolNotFound { name: String },
    /// A call's arguments do not match the tool's schema.
    InvalidArguments { name: String, reason: String },
    /// The model was still calling tools after this many steps.
    StepLimit { steps: i32 },
    /// The app's handler reported a failure for this tool.
    ToolFailed { name: String, reason: String },
    /// The generation itself failed (cancelled, context full, …).
    Engine { error: String },
}

impl std::fmt::Display for StructuredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for StructuredError {}

impl FromPanic for StructuredError {
    fn from_panic(reason: String) -> Self {
        StructuredError::Engine { error: reason }
    }
}

impl From<ms::StructuredError> for StructuredError {
    fn from(e: ms::StructuredError) -> Self {
        match e {
            ms::StructuredError::InvalidSchema(reason) => Self::InvalidSchema { reason },
            ms::StructuredError::InvalidGrammar(reason) => Self::InvalidGrammar { reason },
            ms::StructuredError::TooComplex(reason) => Self::TooComplex { reason },
        }
    }
}

impl From<MoteError> for StructuredError {
    fn from(e: MoteError) -> Self {
        Self::Engine { error: e.to_string() }
    }
}

impl From<mote_core::Error> for StructuredError {
    fn from(e: mote_core::Error) -> Self {
        MoteError::from(e).into()
    }
}

impl From<ms::ToolError> for StructuredError {
    fn from(e: ms::ToolError) -> Self {
        match e {
            ms::ToolError::ToolNotFound(name) => Self::ToolNotFound { name },
            ms::ToolError::InvalidArguments { name, reason } => Self::InvalidArguments { name, reason },
            ms::ToolError::StepLimit(n) => Self::StepLimit { steps: i32::try_from(n).unwrap_or(i32::MAX) },
            ms::ToolError::InvalidTool { name, source } => match Self::from(source) {
                Self::InvalidSchema { reason } => Self::InvalidSchema { reason: format!("tool `{name}`: {reason}") },
                other => other,
            },
            ms::ToolError::Handler { name, reason } => Self::ToolFailed { name, reason },
            ms::ToolError::Engine(e) => e.into(),
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters_json: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The first reply is a call to one of the tools.
    Required,
    /// The first reply is a call to this tool.
    Named { name: String },
    /// No tools: a text reply.
    None,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ToolCall {
    pub name: String,
    pub arguments_json: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ToolRun {
    /// The model's final text answer.
    pub answer: String,
    /// The whole conversation as a JSON array, in transformers' message shapes.
    pub messages_json: String,
    /// Every call made, in order.
    pub calls: Vec<ToolCall>,
}

/// A handler's failure, reported to the model's caller as `ToolFailed`.
#[derive(Debug, Clone, PartialEq, uniffi::Error)]
pub enum ToolCallError {
    Failed { reason: String },
}

impl std::fmt::Display for ToolCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Failed { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for ToolCallError {}

impl From<uniffi::UnexpectedUniFFICallbackError> for ToolCallError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}

/// App code that runs a tool: gets the arguments as JSON (already validated
/// against the tool's schema), returns the result (JSON or plain text).
/// Called on the generating thread, never the main thread.
#[uniffi::export(with_foreign)]
pub trait ToolHandler: Send + Sync {
    fn call(&self, name: String, arguments_json: String) -> Result<String, ToolCallError>;
}

fn json(what: &str, text: &str) -> Result<serde_json::Value, StructuredError> {
    serde_json::from_str(text).map_err(|e| StructuredError::InvalidSchema { reason: format!("{what} is not JSON: {e}") })
}

#[uniffi::export]
impl Engine {
    /// A reply to `prompt` (a user message) that parses as JSON and
    /// validates against `schema_json`. Blocks for the whole generation.
    pub fn generate_json(&self, prompt: String, schema_json: String, config: GenerationConfig) -> Result<String, StructuredError> {
        guard(|| {
            let schema = json("the schema", &schema_json)?;
            let core = self.core();
            let mut c = self.structured()?.constraint(&ms::Grammar::JsonSchema(schema.clone()))?;
            let tokens = core.prompt_tokens(&ms::with_schema(&prompt, &schema), false)?;
            let cfg = mote_core::GenerationConfig::try_from(config)?;
            let g = core.complete_constrained(&tokens, &cfg, &Default::default(), Some(&mut c), &mut |_| {})?;
            if g.finish == Some(mote_core::FinishReason::MaxTokens) {
                return Err(StructuredError::Engine { error: "the reply reached max_tokens before the JSON was complete".into() });
            }
            Ok(g.text)
        })
    }

    /// Continues `messages_json` (an array of `{role, content}` messages)
    /// with `tools` until the model answers in text; each call goes to
    /// `handler`. At most `max_steps` replies.
    pub fn run_tools(
        &self,
        messages_json: String,
        tools: Vec<ToolSpec>,
        choice: ToolChoice,
        handler: Arc<dyn ToolHandler>,
        max_steps: i32,
        config: GenerationConfig,
    ) -> Result<ToolRun, StructuredError> {
        guard(|| {
            let messages = match json("messages_json", &messages_json)? {
                serde_json::Value::Array(m) => m,
                _ => return Err(StructuredError::Engine { error: "messages_json must be a JSON array".into() }),
            };
            let tools = tools
                .into_iter()
                .map(|t| Ok(ms::Tool { parameters: json(&format!("tool `{}`'s parameters", t.name), &t.parameters_json)?, name: t.name, description: t.description }))
                .collect::<Result<Vec<_>, StructuredError>>()?;
            let mut chat = ms::ToolChat::new(self.core(), self.structured()?.clone(), tools)?;
            chat.max_steps = usize::try_from(max_steps.max(1)).unwrap_or(1);
            chat.config = mote_core::GenerationConfig::try_from(config)?;
            let choice = match choice {
                ToolChoice::Auto => ms::ToolChoice::Auto,
                ToolChoice::Required => ms::ToolChoice::Required,
                ToolChoice::Named { name } => ms::ToolChoice::Named(name),
                ToolChoice::None => ms::ToolChoice::None,
            };
            let run = chat.run(messages, choice, &mut |c| {
                handler.call(c.name.clone(), c.arguments.to_string()).map(serde_json::Value::String).map_err(|e| e.to_string())
            })?;
            Ok(ToolRun {
                answer: run.answer,
                messages_json: serde_json::Value::Array(run.messages).to_string(),
                calls: run.calls.into_iter().map(|c| ToolCall { name: c.name, arguments_json: c.arguments.to_string() }).collect(),
            })
        })
    }
}
