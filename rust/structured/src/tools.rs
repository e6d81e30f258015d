//! Tool calls as each model family writes them, parsed out of a reply.
//!
//! Families differ in the wrapper and in the key for the arguments:
//! - **Hermes** (Qwen 2.5/3, SmolLM3, Hermes, and our generic prompt):
//!   `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, one block per call;
//! - **Llama 3.x**: a bare JSON object `{"name": …, "parameters": {…}}`,
//!   optionally after `<|python_tag|>`, several separated by `;`;
//! - **Phi-4-mini**: `<|tool_call|>[{"name": …, "arguments": {…}}, …]<|/tool_call|>`;
//! - **Gemma 3** (no native format; Google's guidance): a fenced
//!   ```` ```tool_code ```` block holding `name(key=value, …)` calls, or a
//!   bare JSON object as Llama writes it.
//!
//! Parsing never fails: text that is not a well-formed call stays in the
//! reply's content, so the app sees what the model wrote.

use serde_json::{Map, Value};

/// One call the model asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    pub name: String,
    /// The arguments object (`{}` when the model gave none).
    pub arguments: Value,
}

/// How a model family writes tool calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolFormat {
    Hermes,
    Llama3,
    Phi4Mini,
    Gemma,
}

impl ToolFormat {
    /// The family whose format `template` (a chat template's source) uses;
    /// Hermes for templates without tool support, with which Mote describes
    /// the tools itself.
    pub fn detect(template: &str) -> ToolFormat {
        if template.contains("<|tool_call|>") {
            ToolFormat::Phi4Mini
        } else if template.contains("<tool_call>") {
            ToolFormat::Hermes
        } else if template.contains("<|python_tag|>") || template.contains("Environment: ipython") || template.contains("<|start_header_id|>") {
            ToolFormat::Llama3
        } else if template.contains("<start_of_turn>") {
            ToolFormat::Gemma
        } else {
            ToolFormat::Hermes
        }
    }

    /// Splits `reply` into its text and the tool calls in it.
    pub fn parse(self, reply: &str) -> (String, Vec<ToolCall>) {
        match self {
            ToolFormat::Hermes => blocks(reply, "<tool_call>", "</tool_call>", |b| one_call(b).into_iter().collect()),
            ToolFormat::Phi4Mini => blocks(reply, "<|tool_call|>", "<|/tool_call|>", call_list),
            ToolFormat::Llama3 => bare_json(reply.strip_prefix("<|python_tag|>").unwrap_or(reply)),
            ToolFormat::Gemma => {
                let (text, calls) = blocks(reply, "```tool_code", "```", python_calls);
                if calls.is_empty() {
                    bare_json(reply)
                } else {
                    (text, calls)
                }
            }
        }
    }
}

/// Calls inside every `open … close` block; text outside the blocks (and
/// blocks that hold no call) is the content.
fn blocks(reply: &str, open: &str, close: &str, inner: impl Fn(&str) -> Vec<ToolCall>) -> (String, Vec<ToolCall>) {
    let (mut text, mut calls, mut rest) = (String::new(), Vec::new(), reply);
    while let Some(start) = rest.find(open) {
        let body_from = start + open.len();
        // An unclosed last block runs to the end (the model stopped at its end token).
        let (body, next) = match rest[body_from..].find(close) {
            Some(end) => (&rest[body_from..body_from + end], body_from + end + close.len()),
            None => (&rest[body_from..], rest.len()),
        };
        let found = inner(body);
        text.push_str(&rest[..start]);
        if found.is_empty() {
            text.push_str(&rest[start..next]);
        }
        calls.extend(found);
        rest = &rest[next..];
    }
    text.push_str(rest);
    (text.trim().to_string(), calls)
}

/// `{"name": …, "arguments" | "parameters": {…}}`.
fn one_call(json: &str) -> Option<ToolCall> {
    call_from(&serde_json::from_str(json.trim()).ok()?)
}

fn call_from(v: &Value) -> Option<ToolCall> {
    let o = v.as_object()?;
    let name = o.get("name")?.as_str()?.to_string();
    let arguments = match o.get("arguments").or_else(|| o.get("parameters")) {
        None | Some(Value::Null) => Value::Object(Map::new()),
        // Some models write the arguments as a JSON string.
        Some(Value::String(s)) => serde_json::from_str(s).ok().filter(Value::is_object)?,
        Some(a @ Value::Object(_)) => a.clone(),
        Some(_) => return None,
    };
    Some(ToolCall { name, arguments })
}

/// A JSON array of calls (Phi-4-mini), or a single call object.
fn call_list(json: &str) -> Vec<ToolCall> {
    match serde_json::from_str::<Value>(json.trim()) {
        Ok(Value::Array(items)) => {
            let calls: Vec<ToolCall> = items.iter().filter_map(call_from).collect();
            if calls.len() == items.len() {
                calls
            } else {
                Vec::new()
            }
        }
        Ok(v) => call_from(&v).into_iter().collect(),
        Err(_) => Vec::new(),
    }
}

/// A reply that is only JSON call objects (back to back or on lines of
/// their own, or separated by `;` as Llama 3.x writes several): the calls;
/// anything else is text.
fn bare_json(reply: &str) -> (String, Vec<ToolCall>) {
    let trimmed = reply.trim();
    let stream: Option<Vec<ToolCall>> =
        serde_json::Deserializer::from_str(trimmed).into_iter::<Value>().map(|v| v.ok().as_ref().and_then(call_from)).collect();
    // `;` is not JSON: split on it (a `;` inside a string then fails the
    // parse of its half, and the reply stays text).
    let split = || trimmed.split(';').filter(|p| !p.trim().is_empty()).map(one_call).collect::<Option<Vec<ToolCall>>>();
    match stream.filter(|c| !c.is_empty()).or_else(|| split().filter(|c| !c.is_empty())) {
        Some(calls) => (String::new(), calls),
        None => (trimmed.to_string(), Vec::new()),
    }
}

/// `name(key=value, …)` lines, values as Python literals (strings, numbers,
/// True/False/None, lists and dicts of those).
fn python_calls(body: &str) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some(open) = line.find('(') else { return Vec::new() };
        let name = line[..open].trim();
        let Some(args) = line[open + 1..].strip_suffix(')') else { return Vec::new() };
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            return Vec::new();
        }
        let Some(arguments) = python_kwargs(args) else { return Vec::new() };
        calls.push(ToolCall { name: name.to_string(), arguments });
    }
    calls
}

fn python_kwargs(src: &str) -> Option<Value> {
    let mut p = Py { s: src.as_bytes(), i: 0 };
    let mut out = Map::new();
    loop {
        p.ws();
        if p.i == p.s.len() {
            return Some(Value::Object(out));
        }
        let start = p.i;
        while p.i < p.s.len() && (p.s[p.i].is_ascii_alphanumeric() || p.s[p.i] == b'_') {
            p.i += 1;
        }
        let key = std::str::from_utf8(&p.s[start..p.i]).ok()?.to_string();
        p.ws();
        if key.is_empty() || !p.eat(b'=') {
            return None;
        }
        let v = p.value(0)?;
        out.insert(key, v);
        p.ws();
        if !p.eat(b',') && p.i != p.s.len() {
            return None;
        }
    }
}

/// A small reader for Python literals.
struct Py<'a> {
    s: &'a [u8],
    i: usize,
}

impl Py<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&b);
        self.i += usize::from(hit);
        hit
    }
    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > 32 {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            q @ (b'"' | b'\'') => self.string(q),
            b'[' => self.seq(b']', depth).map(Value::Array),
            b'{' => self.dict(depth),
            _ => self.atom(),
        }
    }
    fn string(&mut self, q: u8) -> Option<Value> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                _ if c == q => return String::from_utf8(out).ok().map(Value::String),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                }
                _ => out.push(c),
            }
        }
        None
    }
    fn seq(&mut self, close: u8, depth: usize) -> Option<Vec<Value>> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.value(depth + 1)?);
            if !self.eat(b',') {
                return self.eat(close).then_some(items);
            }
        }
    }
    fn dict(&mut self, depth: usize) -> Option<Value> {
        self.i += 1;
        let mut m = Map::new();
        loop {
            if self.eat(b'}') {
                return Some(Value::Object(m));
            }
            let Value::String(k) = self.value(depth + 1)? else { return None };
            if !self.eat(b':') {
                return None;
            }
            m.insert(k, self.value(depth + 1)?);
            if !self.eat(b',') {
                return self.eat(b'}').then_some(Value::Object(m));
            }
        }
    }
    fn atom(&mut self) -> Option<Value> {
        let start = self.i;
        while self.i < self.s.len() && !b",)]}: \t\n".contains(&self.s[self.i]) {
            self.i += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        match word {
            "True" | "true" => Some(Value::Bool(true)),
            "False" | "false" => Some(Value::Bool(false)),
            "None" | "null" => Some(Value::Null),
            _ => serde_json::from_str::<serde_json::Number>(word).ok().map(Value::Number),
        }
    }
}
