//! Structured output through the real SmolLM2-135M-Instruct, which left
//! alone often writes invalid JSON: every reply must parse and validate
//! against its schema (checked by the `jsonschema` crate, not by
//! llguidance), over varied schemas and prompts.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use mote_core::{CancelToken, Engine, GenerationConfig, LoadOptions};
use mote_structured::{Grammar, Structured, StructuredError};
use serde_json::{json, Value};

fn engine() -> Engine {
    Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 1024, ..Default::default() }).unwrap()
}

/// Greedy reply to `prompt` (a user message) constrained by `grammar`.
fn reply(engine: &Engine, s: &Structured, prompt: &str, grammar: &Grammar) -> mote_core::generate::Generation {
    let mut c = s.constraint(grammar).unwrap();
    let tokens = engine.prompt_tokens(prompt, false).unwrap();
    let cfg = GenerationConfig { max_tokens: 400, ..GenerationConfig::greedy() };
    engine.complete_constrained(&tokens, &cfg, &CancelToken::new(), Some(&mut c), &mut |_| {}).unwrap()
}

/// Bounded strings, numbers and arrays throughout, so every valid reply fits
/// the token budget: the claim under test is validity, not brevity.
fn schemas() -> Vec<Value> {
    let name = json!({"type": "string", "maxLength": 30});
    vec![
        json!({"type": "object", "properties": {"answer": {"type": "boolean"}}, "required": ["answer"]}),
        json!({"type": "object", "properties": {"name": name, "age": {"type": "integer", "minimum": 0, "maximum": 120}}, "required": ["name", "age"]}),
        json!({"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]}}, "required": ["color"]}),
        json!({"type": "object", "properties": {"score": {"type": "number", "minimum": 0, "maximum": 10}}, "required": ["score"]}),
        json!({"type": "object", "properties": {"tags": {"type": "array", "items": name, "minItems": 1, "maxItems": 4}}, "required": ["tags"]}),
        json!({"type": "object", "properties": {
            "person": {"type": "object", "properties": {"first": name, "last": name}, "required": ["first", "last"], "additionalProperties": false},
            "city": name
        }, "required": ["person", "city"], "additionalProperties": false}),
        json!({"type": "array", "items": {"type": "integer", "minimum": -50, "maximum": 50}, "minItems": 2, "maxItems": 5}),
        json!({"type": "object", "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}}, "required": ["sentiment", "confidence"]}),
        json!({"type": "object", "properties": {"title": name, "year": {"type": "integer", "minimum": 1800, "maximum": 2100}, "genres": {"type": "array", "items": {"enum": ["drama", "comedy", "action", "horror"]}, "maxItems": 3}}, "required": ["title", "year", "genres"]}),
        json!({"type": "object", "properties": {"ok": {"const": true}, "reason": {"type": ["string", "null"], "maxLength": 40}}, "required": ["ok", "reason"]}),
        json!({"type": "object", "properties": {"id": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$"}}, "required": ["id"]}),
        json!({"type": "object", "properties": {"steps": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 9}, "text": name}, "required": ["n", "text"]}, "minItems": 1, "maxItems": 3}}, "required": ["steps"]}),
        json!({"anyOf": [
            {"type": "object", "properties": {"kind": {"const": "cat"}, "lives": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["kind", "lives"]},
            {"type": "object", "properties": {"kind": {"const": "dog"}, "good": {"type": "boolean"}}, "required": ["kind", "good"]}
        ]}),
        json!({"$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer", "minimum": -9, "maximum": 9}, "y": {"type": "integer", "minimum": -9, "maximum": 9}}, "required": ["x", "y"]}},
               "type": "object", "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"}}, "required": ["from", "to"]}),
        json!({"type": "object", "properties": {"temperature": {"type": "number", "exclusiveMinimum": -100, "exclusiveMaximum": 60}, "unit": {"enum": ["C", "F"]}}, "required": ["temperature", "unit"]}),
        json!({"type": "object", "properties": {"email": {"type": "string", "pattern": "^[a-z]{1,10}@[a-z]{1,10}\\.com$"}}, "required": ["email"]}),
        json!({"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"name": name, "qty": {"type": "integer", "minimum": 1, "maximum": 99}, "price": {"type": "number", "minimum": 0, "maximum": 1000}}, "required": ["name", "qty", "price"], "additionalProperties": false}, "minItems": 1, "maxItems": 3}, "total": {"type": "number", "minimum": 0, "maximum": 100000}}, "required": ["items", "total"]}),
        json!({"type": "string", "enum": ["yes", "no", "maybe"]}),
        json!({"type": "integer", "minimum": 1, "maximum": 100}),
        json!({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "object", "properties": {"c": {"type": "array", "items": {"type": "boolean"}, "maxItems": 3}}, "required": ["c"]}}, "required": ["b"]}}, "required": ["a"]}),
    ]
}

const PROMPTS: [&str; 3] = [
    "Give me an example.",
    "Describe the weather in Paris today.",
    "Tell me about a famous book.",
];

#[test]
fn every_reply_parses_and_validates() {
    let engine = engine();
    let s = Structured::new(&engine.text().0).unwrap();
    let (mut total, mut valid) = (0, 0);
    let mut failures = Vec::new();
    for schema in schemas() {
        let validator = jsonschema::validator_for(&schema).expect("test schemas are valid JSON Schema");
        for prompt in PROMPTS {
            let g = reply(&engine, &s, &mote_structured::with_schema(prompt, &schema), &Grammar::JsonSchema(schema.clone()));
            total += 1;
            match serde_json::from_str::<Value>(&g.text) {
                Ok(v) if validator.is_valid(&v) => valid += 1,
                Ok(v) => failures.push(format!("{schema} / {prompt:?}: {v} does not validate ({:?})", g.finish)),
                Err(e) => failures.push(format!("{schema} / {prompt:?}: {:?} is not JSON: {e} ({:?})", g.text, g.finish)),
            }
        }
    }
    println!("structured output: {valid}/{total} replies valid");
    assert!(total >= 50, "at least 50 schema × prompt cases");
    assert!(failures.is_empty(), "{} of {total} invalid:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn unconstrained_smollm2_does_break_json() {
    // The baseline the constraint is for: asked for JSON, the free model
    // writes prose or broken JSON on some of these prompts.
    let engine = engine();
    let cfg = GenerationConfig { max_tokens: 120, ..GenerationConfig::greedy() };
    let mut broken = 0;
    for schema in schemas().into_iter().take(10) {
        let tokens = engine.prompt_tokens(&mote_structured::with_schema(PROMPTS[0], &schema), false).unwrap();
        let g = engine.complete(&tokens, &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
        let ok = serde_json::from_str::<Value>(&g.text).is_ok_and(|v| jsonschema::validator_for(&schema).unwrap().is_valid(&v));
        broken += usize::from(!ok);
    }
    println!("unconstrained: {broken}/10 replies invalid");
    assert!(broken > 0, "SmolLM2 alone wrote valid JSON for every schema: this test no longer shows anything");
}

#[test]
fn regex_and_lark_replies_match() {
    let engine = engine();
    let s = Structured::new(&engine.text().0).unwrap();
    let g = reply(&engine, &s, "What is the date of the moon landing?", &Grammar::Regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}".into()));
    assert!(g.text.len() == 10 && g.text.chars().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() }), "{:?}", g.text);
    let lark = r#"start: answer " because " reason
answer: "yes" | "no"
reason: /[a-z ]{1,40}/"#;
    let g = reply(&engine, &s, "Is the sky blue?", &Grammar::Lark(lark.into()));
    let (answer, reason) = g.text.split_once(" because ").unwrap_or_else(|| panic!("{:?}", g.text));
    assert!(["yes", "no"].contains(&answer), "{:?}", g.text);
    assert!(!reason.is_empty() && reason.len() <= 40 && reason.chars().all(|c| c == ' ' || c.is_ascii_lowercase()), "{:?}", g.text);
}

#[test]
fn bad_grammars_are_typed_errors_and_the_engine_goes_on() {
    let engine = engine();
    let s = Structured::new(&engine.text().0).unwrap();
    let err = |g: Grammar| s.constraint(&g).err().unwrap_or_else(|| panic!("{g:?} was accepted"));
    assert!(matches!(err(Grammar::JsonSchema(json!({"type": "nonsense"}))), StructuredError::InvalidSchema(_)));
    assert!(matches!(err(Grammar::JsonSchema(json!({"type": "integer", "minimum": 5, "maximum": 1}))), StructuredError::InvalidSchema(_)));
    assert!(matches!(err(Grammar::JsonSchema(json!({"$ref": "https://example.com/schema.json"}))), StructuredError::InvalidSchema(_)));
    assert!(matches!(err(Grammar::Regex("(unclosed".into())), StructuredError::InvalidGrammar(_)));
    assert!(matches!(err(Grammar::Lark("start: undefined_rule".into())), StructuredError::InvalidGrammar(_)));
    // The engine and the compiler still work.
    let g = reply(&engine, &s, "Yes or no?", &Grammar::Regex("(yes|no)".into()));
    assert!(g.text == "yes" || g.text == "no", "{:?}", g.text);
}
