//! Structured output and tool calling through the FFI surface the Kotlin
//! and Swift wrappers use, with a Rust `ToolHandler` standing in for app
//! code. Real SmolLM2 model.

use std::sync::{Arc, Mutex};

use mote_ffi::{Engine, LoadOptions, StructuredError, ToolCallError, ToolChoice, ToolHandler, ToolSpec};

mod common;

use common::{greedy, model_path};

fn engine() -> Arc<Engine> {
    Engine::load(model_path(), LoadOptions { context_length: 2048, ..Default::default() }).unwrap()
}

#[test]
fn generate_json_validates_and_bad_schemas_are_typed() {
    let e = engine();
    let schema = r#"{"type":"object","properties":{"title":{"type":"string","maxLength":30},"pages":{"type":"integer","minimum":1,"maximum":2000}},"required":["title","pages"]}"#;
    let text = e.generate_json("Describe a book.".into(), schema.into(), greedy(120)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["title"].as_str().is_some_and(|t| t.len() <= 30), "{v}");
    assert!(v["pages"].as_i64().is_some_and(|p| (1..=2000).contains(&p)), "{v}");
    assert!(matches!(e.generate_json("x".into(), "{not json".into(), greedy(8)), Err(StructuredError::InvalidSchema { .. })));
    assert!(matches!(
        e.generate_json("x".into(), r#"{"type":"integer","minimum":3,"maximum":1}"#.into(), greedy(8)),
        Err(StructuredError::InvalidSchema { .. })
    ));
}

struct Weather(Mutex<Vec<(String, String)>>);

impl ToolHandler for Weather {
    fn call(&self, name: String, arguments_json: String) -> Result<String, ToolCallError> {
        self.0.lock().unwrap().push((name, arguments_json));
        Ok(r#"{"temperature_c": 21}"#.into())
    }
}

struct Broken;

impl ToolHandler for Broken {
    fn call(&self, _: String, _: String) -> Result<String, ToolCallError> {
        Err(ToolCallError::Failed { reason: "offline".into() })
    }
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "Current weather for a city".into(),
        parameters_json: r#"{"type":"object","properties":{"city":{"type":"string","maxLength":30}},"required":["city"]}"#.into(),
    }
}

#[test]
fn a_tool_round_trip_through_the_ffi() {
    let e = engine();
    let handler = Arc::new(Weather(Mutex::default()));
    let messages = r#"[{"role":"user","content":"What is the weather in Paris?"}]"#;
    let run = e.run_tools(messages.into(), vec![weather_tool()], ToolChoice::Required, handler.clone(), 3, greedy(80)).unwrap();
    let seen = handler.0.lock().unwrap().clone();
    assert_eq!(seen[0].0, "get_weather");
    let args: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
    assert!(args["city"].is_string(), "{args}");
    assert_eq!(run.calls[0].name, "get_weather");
    assert!(!run.answer.is_empty());
    let all: serde_json::Value = serde_json::from_str(&run.messages_json).unwrap();
    assert_eq!(all[2]["role"], "tool");

    let err = e.run_tools(messages.into(), vec![weather_tool()], ToolChoice::Required, Arc::new(Broken), 3, greedy(80)).unwrap_err();
    assert_eq!(err, StructuredError::ToolFailed { name: "get_weather".into(), reason: "offline".into() });
    let err = e.run_tools(messages.into(), vec![weather_tool()], ToolChoice::Required, handler.clone(), 1, greedy(80)).unwrap_err();
    assert_eq!(err, StructuredError::StepLimit { steps: 1 });
    let err = e.run_tools(messages.into(), vec![weather_tool()], ToolChoice::Named { name: "nope".into() }, handler, 3, greedy(80)).unwrap_err();
    assert_eq!(err, StructuredError::ToolNotFound { name: "nope".into() });
}
