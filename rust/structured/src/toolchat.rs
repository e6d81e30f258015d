//! A tool-calling conversation: the model's own template renders the tools
//! and the tool results, its family's parser reads the calls, arguments are
//! validated against each tool's schema before the app's handler sees them,
//! and the loop runs until the model answers in text or a step limit.
//!
//! When the app requires a call (`ToolChoice::Required` or `Named`), the
//! reply is constrained to the family's call syntax with a JSON Schema per
//! tool inside (a Lark grammar with `%json`), so it always parses and its
//! arguments always validate.

use crate::tools::{ToolCall, ToolFormat};
use crate::{Grammar, Structured, StructuredError};
use mote_core::{CancelToken, Engine, GenerationConfig};
use serde_json::{json, Value};

/// A function the model may call: a name, what it does, and a JSON Schema
/// for its arguments object.
#[derive(Clone, Debug)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

impl Tool {
    /// The OpenAI/transformers function spec chat templates take as `tools`.
    fn spec(&self) -> Value {
        json!({"type": "function", "function": {"name": self.name, "description": self.description, "parameters": self.parameters}})
    }
}

/// Whether the model must call a tool in its next reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides; its reply is parsed for calls.
    Auto,
    /// The next reply is a call to one of the tools (constrained).
    Required,
    /// The next reply is a call to this tool (constrained).
    Named(String),
    /// No calls: the tools are not shown and the reply is text.
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("the model called `{0}`, which is not one of the tools")]
    ToolNotFound(String),
    #[error("arguments for `{name}` do not match its schema: {reason}")]
    InvalidArguments { name: String, reason: String },
    #[error("no text answer after {0} tool-calling steps")]
    StepLimit(usize),
    /// A tool's parameters are not a JSON Schema llguidance or the validator accepts.
    #[error("tool `{name}`: {source}")]
    InvalidTool { name: String, source: StructuredError },
    #[error("the tool `{name}` failed: {reason}")]
    Handler { name: String, reason: String },
    #[error(transparent)]
    Engine(#[from] mote_core::Error),
}

/// The conversation after a run, and the answer.
#[derive(Debug)]
pub struct ToolRun {
    /// Every message, in transformers' shapes (`tool_calls`, `tool` role).
    pub messages: Vec<Value>,
    pub answer: String,
    /// Every call made, in order.
    pub calls: Vec<ToolCall>,
}

/// Runs a conversation with tools.
pub struct ToolChat<'e> {
    engine: &'e Engine,
    structured: Structured,
    tools: Vec<Tool>,
    validators: Vec<jsonschema::Validator>,
    format: ToolFormat,
    native: bool,
    pub max_steps: usize,
    pub config: GenerationConfig,
}

impl<'e> ToolChat<'e> {
    pub fn new(engine: &'e Engine, structured: Structured, tools: Vec<Tool>) -> Result<ToolChat<'e>, ToolError> {
        let mut validators = Vec::new();
        for t in &tools {
            let invalid = |e: String| ToolError::InvalidTool { name: t.name.clone(), source: StructuredError::InvalidSchema(e) };
            validators.push(jsonschema::validator_for(&t.parameters).map_err(|e| invalid(e.to_string()))?);
            // Compiled once so a schema llguidance cannot use fails here, not mid-conversation.
            structured.constraint(&Grammar::JsonSchema(t.parameters.clone())).map_err(|e| ToolError::InvalidTool { name: t.name.clone(), source: e })?;
        }
        let template = engine.text().1;
        let native = template.source().contains("tools");
        Ok(ToolChat {
            engine,
            structured,
            tools,
            validators,
            format: ToolFormat::detect(template.source()),
            native,
            max_steps: 4,
            config: GenerationConfig { max_tokens: 256, ..GenerationConfig::greedy() },
        })
    }

    pub fn format(&self) -> ToolFormat {
        self.format
    }

    /// Continues `messages` (transformers' shapes) until the model answers
    /// in text: each call is validated and passed to `handler`, whose
    /// result goes back as a `tool` message. `choice` applies to the first
    /// reply; later ones are `Auto`.
    pub fn run(
        &self,
        mut messages: Vec<Value>,
        choice: ToolChoice,
        handler: &mut dyn FnMut(&ToolCall) -> Result<Value, String>,
    ) -> Result<ToolRun, ToolError> {
        let mut calls_made = Vec::new();
        let mut choice = choice;
        for _ in 0..self.max_steps {
            let reply = self.reply(&messages, &choice)?;
            let (text, calls) = if choice == ToolChoice::None { (reply.trim().to_string(), Vec::new()) } else { self.format.parse(&reply) };
            if calls.is_empty() {
                messages.push(json!({"role": "assistant", "content": text}));
                return Ok(ToolRun { messages, answer: text, calls: calls_made });
            }
            for c in &calls {
                self.check(c)?;
            }
            let tool_calls: Vec<Value> = calls.iter().map(|c| json!({"type": "function", "function": {"name": c.name, "arguments": c.arguments}})).collect();
            messages.push(json!({"role": "assistant", "content": text, "tool_calls": tool_calls}));
            for c in calls {
                let result = handler(&c).map_err(|reason| ToolError::Handler { name: c.name.clone(), reason })?;
                let content = match result {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                messages.push(json!({"role": "tool", "name": c.name, "content": content}));
                calls_made.push(c);
            }
            choice = ToolChoice::Auto;
        }
        Err(ToolError::StepLimit(self.max_steps))
    }

    fn check(&self, c: &ToolCall) -> Result<(), ToolError> {
        let i = self.tools.iter().position(|t| t.name == c.name).ok_or_else(|| ToolError::ToolNotFound(c.name.clone()))?;
        let errors: Vec<String> = self.validators[i].iter_errors(&c.arguments).map(|e| e.to_string()).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ToolError::InvalidArguments { name: c.name.clone(), reason: errors.join("; ") })
        }
    }

    fn reply(&self, messages: &[Value], choice: &ToolChoice) -> Result<String, ToolError> {
        let tok_and_template = self.engine.text();
        let (tok, template) = (&tok_and_template.0, &tok_and_template.1);
        let shown: Vec<&Tool> = match choice {
            ToolChoice::None => Vec::new(),
            ToolChoice::Named(n) => self.tools.iter().filter(|t| &t.name == n).collect(),
            _ => self.tools.iter().collect(),
        };
        if let ToolChoice::Named(n) = choice {
            if shown.is_empty() {
                return Err(ToolError::ToolNotFound(n.clone()));
            }
        }
        let mut msgs = messages.to_vec();
        if !self.native && !shown.is_empty() {
            msgs.insert(0, json!({"role": "system", "content": hermes_system_prompt(&shown)}));
        }
        let specs: Vec<Value> = shown.iter().map(|t| t.spec()).collect();
        let tools_json = (!specs.is_empty()).then(|| Value::Array(specs).to_string());
        let prompt = template.encode_json(tok, &Value::Array(msgs).to_string(), tools_json.as_deref(), true)?;
        let mut constraint = match choice {
            ToolChoice::Required | ToolChoice::Named(_) => Some(
                self.structured
                    .constraint(&Grammar::Lark(call_grammar(self.format, &shown)))
                    .map_err(|source| ToolError::InvalidTool { name: "tool-call grammar".into(), source })?,
            ),
            _ => None,
        };
        let c = constraint.as_mut().map(|c| c as &mut dyn mote_core::Constraint);
        let g = self.engine.complete_constrained(&prompt, &self.config, &CancelToken::new(), c, &mut |_| {})?;
        Ok(g.text)
    }
}

/// For templates without tool support: the tools described as Hermes/Qwen
/// templates describe them, so the model knows what it may call and how.
fn hermes_system_prompt(tools: &[&Tool]) -> String {
    let list: Vec<String> = tools.iter().map(|t| t.spec().to_string()).collect();
    format!(
        "You may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{{\"name\": <function-name>, \"arguments\": <args-json-object>}}\n</tool_call>",
        list.join("\n")
    )
}

/// A Lark grammar for exactly one call to one of `tools`, in `format`'s syntax.
fn call_grammar(format: ToolFormat, tools: &[&Tool]) -> String {
    let args_key = if matches!(format, ToolFormat::Llama3 | ToolFormat::Gemma) { "parameters" } else { "arguments" };
    let one: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({"type": "object", "properties": {"name": {"const": t.name}, args_key: t.parameters},
                   "required": ["name", args_key], "additionalProperties": false})
        })
        .collect();
    let mut schema = json!({"anyOf": one});
    crate::close_objects(&mut schema, 0);
    let schema = crate::compact(schema);
    let call = format!("call: %json {schema}");
    match format {
        ToolFormat::Hermes => format!("start: \"<tool_call>\" call \"</tool_call>\"\n{call}"),
        ToolFormat::Phi4Mini => format!("start: \"<|tool_call|>[\" call \"]<|/tool_call|>\"\n{call}"),
        ToolFormat::Llama3 | ToolFormat::Gemma => format!("start: call\n{call}"),
    }
}
