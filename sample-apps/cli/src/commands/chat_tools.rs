//! `mote chat --tools FILE`: a chat whose model may call the functions in
//! FILE. The CLI answers each call with the canned `result` given beside the
//! function in FILE, so tool calling can be tried and scripted without code.
//!
//! FILE is a JSON array of function specs, each either transformers' shape
//! (`{"type": "function", "function": {name, description, parameters}}`) or
//! the bare function (`{name, description, parameters}`), plus `"result"`:
//! the JSON the CLI returns for every call to it.

use std::io::BufRead;
use std::path::Path;

use mote_core::Engine;
use mote_structured::{Structured, Tool, ToolChat, ToolChoice};
use serde_json::{json, Value};

use super::CmdResult;

/// The tools in `path` and their canned results.
pub fn read_tools(path: &Path) -> Result<Vec<(Tool, Value)>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read tools {}: {e}", path.display()))?;
    let list: Vec<Value> = serde_json::from_str(&text).map_err(|e| format!("tools {} is not a JSON array: {e}", path.display()))?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let f = entry.get("function").unwrap_or(entry);
            let name = f["name"].as_str().ok_or_else(|| format!("tool {i} in {} has no \"name\"", path.display()))?;
            let tool = Tool {
                name: name.to_string(),
                description: f["description"].as_str().unwrap_or_default().to_string(),
                parameters: f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            };
            Ok((tool, entry.get("result").cloned().unwrap_or(Value::Null)))
        })
        .collect()
}

/// Reads lines from stdin until EOF or /quit; each is a user turn, answered
/// after any tool calls (printed to stderr as they happen).
pub fn run(engine: &Engine, tools_file: &Path, choice: ToolChoice, system: Option<String>, max_tokens: u32) -> CmdResult {
    let tools = read_tools(tools_file)?;
    let results: Vec<(String, Value)> = tools.iter().map(|(t, r)| (t.name.clone(), r.clone())).collect();
    let mut chat = ToolChat::new(engine, Structured::new(&engine.text().0)?, tools.into_iter().map(|(t, _)| t).collect())?;
    chat.config.max_tokens = max_tokens;
    let mut messages: Vec<Value> = system.map(|s| json!({"role": "system", "content": s})).into_iter().collect();
    eprintln!("tools: {} ({:?} format); /quit leaves", results.iter().map(|r| r.0.as_str()).collect::<Vec<_>>().join(", "), chat.format());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/quit" || line == "/exit" {
            break;
        }
        messages.push(json!({"role": "user", "content": line}));
        let run = chat.run(messages.clone(), choice.clone(), &mut |call| {
            let result = results.iter().find(|(n, _)| *n == call.name).map(|r| r.1.clone()).unwrap_or(Value::Null);
            eprintln!("[tool] {}({}) -> {}", call.name, call.arguments, result);
            Ok(result)
        })?;
        println!("{}", run.answer);
        messages = run.messages;
    }
    Ok(())
}
