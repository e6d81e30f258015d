//! A tool round trip through the real SmolLM2-135M-Instruct: a required
//! call (constrained, so it parses and validates), the app's result as a
//! `tool` message, then the model's text answer; and the typed errors.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use mote_core::{Engine, LoadOptions};
use mote_structured::{Structured, Tool, ToolCall, ToolChat, ToolChoice, ToolError};
use serde_json::{json, Value};

fn engine() -> Engine {
    Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 2048, ..Default::default() }).unwrap()
}

fn weather() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: "Current weather for a city".into(),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}}, "required": ["city"]}),
    }
}

fn time() -> Tool {
    Tool {
        name: "get_time".into(),
        description: "Current time in a time zone".into(),
        parameters: json!({"type": "object", "properties": {"zone": {"enum": ["UTC", "CET", "PST"]}}, "required": ["zone"]}),
    }
}

fn ask(q: &str) -> Vec<Value> {
    vec![json!({"role": "user", "content": q})]
}

#[test]
fn a_required_call_then_a_text_answer() {
    let engine = engine();
    let chat = ToolChat::new(&engine, Structured::new(&engine.text().0).unwrap(), vec![weather(), time()]).unwrap();
    let mut seen: Vec<ToolCall> = Vec::new();
    let run = chat
        .run(ask("What is the weather in Paris?"), ToolChoice::Required, &mut |c| {
            seen.push(c.clone());
            Ok(json!({"temperature_c": 21, "sky": "sunny"}))
        })
        .unwrap();
    assert!(!seen.is_empty());
    let first = &seen[0];
    assert!(["get_weather", "get_time"].contains(&first.name.as_str()), "{first:?}");
    assert!(first.arguments.is_object(), "{first:?}");
    // The conversation holds the call and the result in transformers' shapes.
    assert_eq!(run.messages[1]["tool_calls"][0]["function"]["name"], json!(first.name));
    assert_eq!(run.messages[2]["role"], "tool");
    assert_eq!(run.messages.last().unwrap()["role"], "assistant");
    assert!(!run.answer.is_empty(), "{:?}", run.messages);
    println!("tool round trip: {:?} → {:?}", seen, run.answer);
}

#[test]
fn a_named_call_is_that_tool() {
    let engine = engine();
    let chat = ToolChat::new(&engine, Structured::new(&engine.text().0).unwrap(), vec![weather(), time()]).unwrap();
    let mut names = Vec::new();
    let _ = chat.run(ask("What time is it?"), ToolChoice::Named("get_time".into()), &mut |c| {
        names.push(c.name.clone());
        let zone = c.arguments["zone"].as_str().unwrap_or_default();
        assert!(["UTC", "CET", "PST"].contains(&zone), "{c:?}");
        Ok(json!("12:00"))
    });
    assert_eq!(names.first().map(String::as_str), Some("get_time"));
}

#[test]
fn errors_are_typed_and_the_engine_goes_on() {
    let engine = engine();
    let s = Structured::new(&engine.text().0).unwrap();
    let bad = Tool { name: "broken".into(), description: String::new(), parameters: json!({"type": "no-such-type"}) };
    assert!(matches!(ToolChat::new(&engine, s.clone(), vec![bad]), Err(ToolError::InvalidTool { .. })));

    let mut chat = ToolChat::new(&engine, s, vec![weather()]).unwrap();
    let nothing = &mut |_: &ToolCall| Ok(json!(null));
    assert!(matches!(chat.run(ask("hi"), ToolChoice::Named("nope".into()), nothing), Err(ToolError::ToolNotFound(n)) if n == "nope"));
    // A model that keeps calling: one step allowed, and the first reply must be a call.
    chat.max_steps = 1;
    assert!(matches!(chat.run(ask("Weather in Rome?"), ToolChoice::Required, nothing), Err(ToolError::StepLimit(1))));
    // A handler's failure is the app's error, named.
    chat.max_steps = 2;
    let failing = &mut |_: &ToolCall| Err("service down".to_string());
    assert!(matches!(chat.run(ask("Weather in Rome?"), ToolChoice::Required, failing), Err(ToolError::Handler { reason, .. }) if reason == "service down"));
    // Still usable.
    let run = chat.run(ask("Say hello."), ToolChoice::None, nothing).unwrap();
    assert!(!run.answer.is_empty());
}
