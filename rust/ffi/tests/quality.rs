//! The study's on-device calls through the FFI: quantize the real SmolLM2
//! and score the result, with typed errors for bad input.

mod common;

use mote_ffi::{quantize_model, quantize_types, Engine, LoadOptions, MoteError};

use common::model_path;

#[test]
fn quantize_then_evaluate_on_the_phone_path() {
    assert!(quantize_types().iter().any(|t| t == "Q4_K_M"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q8.gguf").display().to_string();
    let err = quantize_model(model_path(), out.clone(), "Q7_X".into(), 0).unwrap_err();
    assert!(matches!(err, MoteError::InvalidArgument { .. }), "{err:?}");
    let missing = quantize_model("/nonexistent.gguf".into(), out.clone(), "Q8_0".into(), 0).unwrap_err();
    assert!(matches!(missing, MoteError::ModelUnreadable { .. }), "{missing:?}");

    let s = quantize_model(model_path(), out.clone(), "Q8_0".into(), 2).unwrap();
    assert!((8.0..9.0).contains(&s.bits_per_weight), "{s:?}");
    assert!(s.requantized > 0 && s.bytes_out > s.bytes_in, "Q4_1 → Q8_0 grows: {s:?}");

    let engine = Engine::load(out, LoadOptions { context_length: 512, ..Default::default() }).unwrap();
    let set = r#"{"name": "t", "items": [
        {"id": "a", "context": "The capital of France is Paris.", "question": "What is the capital of France?", "answers": ["Paris"]},
        {"id": "b", "context": "Water boils at 100 degrees Celsius at sea level.", "question": "At how many degrees Celsius does water boil at sea level?", "answers": ["100", "100 degrees"]}
    ]}"#;
    let q = engine.evaluate(set.into(), String::new(), 16).unwrap();
    assert_eq!(q.qa_items, 2);
    assert!(q.perplexity.is_finite() && q.perplexity > 1.0 && q.perplexity_tokens > 4, "{q:?}");
    assert!((0.0..=100.0).contains(&q.qa_f1) && q.qa_f1 >= q.qa_exact_match, "{q:?}");
    let bad = engine.evaluate("{}".into(), String::new(), 16).unwrap_err();
    assert!(matches!(bad, MoteError::InvalidArgument { .. }), "{bad:?}");
}
