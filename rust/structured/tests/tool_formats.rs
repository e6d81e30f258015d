//! Tool-call parsing on replies written in each family's real format.

use mote_structured::{ToolCall, ToolFormat};
use serde_json::json;

fn call(name: &str, arguments: serde_json::Value) -> ToolCall {
    ToolCall { name: name.into(), arguments }
}

#[test]
fn hermes_qwen_and_smollm3_blocks() {
    // Qwen2.5/Qwen3 write one block per call, each on its own lines.
    let reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"C\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\"}}\n</tool_call>";
    let (text, calls) = ToolFormat::Hermes.parse(reply);
    assert_eq!(text, "");
    assert_eq!(calls, vec![call("get_weather", json!({"city": "Paris", "unit": "C"})), call("get_time", json!({"tz": "Europe/Paris"}))]);
    // Qwen3 thinks first; the thought stays text. An unclosed last block (stopped at <|im_end|>) still counts.
    let (text, calls) = ToolFormat::Hermes.parse("<think>\nI need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}");
    assert_eq!(text, "<think>\nI need the weather.\n</think>");
    assert_eq!(calls, vec![call("get_weather", json!({"city": "Oslo"}))]);
    // Arguments written as a JSON string are decoded.
    let (_, calls) = ToolFormat::Hermes.parse(r#"<tool_call>{"name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}</tool_call>"#);
    assert_eq!(calls, vec![call("add", json!({"a": 1, "b": 2}))]);
    // A malformed block stays in the text; nothing is invented.
    let (text, calls) = ToolFormat::Hermes.parse("Sure! <tool_call>{\"name\": get_weather}</tool_call>");
    assert!(calls.is_empty());
    assert_eq!(text, "Sure! <tool_call>{\"name\": get_weather}</tool_call>");
}

#[test]
fn llama3_json_calls() {
    // Llama 3.1/3.2's template asks for {"name": …, "parameters": …}.
    let (text, calls) = ToolFormat::Llama3.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"San Francisco\"}}");
    assert_eq!(text, "");
    assert_eq!(calls, vec![call("get_weather", json!({"city": "San Francisco"}))]);
    let (_, calls) = ToolFormat::Llama3.parse("<|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"rust\"}}; {\"name\": \"get_time\", \"parameters\": {}}");
    assert_eq!(calls, vec![call("search", json!({"q": "rust"})), call("get_time", json!({}))]);
    // Prose, or JSON that is not a call, is an answer.
    let (text, calls) = ToolFormat::Llama3.parse("The weather in Paris is sunny.");
    assert!(calls.is_empty());
    assert_eq!(text, "The weather in Paris is sunny.");
    let (text, calls) = ToolFormat::Llama3.parse("{\"temperature\": 21}");
    assert!(calls.is_empty());
    assert_eq!(text, "{\"temperature\": 21}");
}

#[test]
fn phi4_mini_call_lists() {
    let reply = "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Tokyo\"}}, {\"name\": \"convert\", \"arguments\": {\"amount\": 3.5, \"to\": \"EUR\"}}]<|/tool_call|>";
    let (text, calls) = ToolFormat::Phi4Mini.parse(reply);
    assert_eq!(text, "");
    assert_eq!(calls, vec![call("get_weather", json!({"city": "Tokyo"})), call("convert", json!({"amount": 3.5, "to": "EUR"}))]);
    let (text, calls) = ToolFormat::Phi4Mini.parse("No tools needed: 4.");
    assert!(calls.is_empty());
    assert_eq!(text, "No tools needed: 4.");
}

#[test]
fn gemma_tool_code_and_json() {
    let reply = "I'll look that up.\n```tool_code\nget_weather(city=\"Paris\", days=3, metric=True)\nsearch(query='news', filters={\"lang\": \"fr\"}, tags=[\"a\", \"b\"])\n```";
    let (text, calls) = ToolFormat::Gemma.parse(reply);
    assert_eq!(text, "I'll look that up.");
    assert_eq!(
        calls,
        vec![
            call("get_weather", json!({"city": "Paris", "days": 3, "metric": true})),
            call("search", json!({"query": "news", "filters": {"lang": "fr"}, "tags": ["a", "b"]})),
        ]
    );
    let (_, calls) = ToolFormat::Gemma.parse("{\"name\": \"get_time\", \"parameters\": {\"tz\": \"UTC\"}}");
    assert_eq!(calls, vec![call("get_time", json!({"tz": "UTC"}))]);
    let (text, calls) = ToolFormat::Gemma.parse("```tool_code\nprint(1 + 1)\n```");
    assert!(calls.is_empty(), "{calls:?}");
    assert!(text.contains("print(1 + 1)"));
}

#[test]
fn formats_are_detected_from_templates() {
    assert_eq!(ToolFormat::detect("{%- if tools %}<tools>{% endif %}<tool_call>\\n{\"name\": <function-name>}</tool_call><|im_start|>"), ToolFormat::Hermes);
    assert_eq!(ToolFormat::detect("<|start_header_id|>ipython<|end_header_id|>{{- \"Environment: ipython\\n\" }}"), ToolFormat::Llama3);
    assert_eq!(ToolFormat::detect("<|system|>{{ m.content }}<|tool|>{{ tools }}<|/tool|><|tool_call|>"), ToolFormat::Phi4Mini);
    assert_eq!(ToolFormat::detect("<start_of_turn>user\n{{ m.content }}<end_of_turn>"), ToolFormat::Gemma);
    assert_eq!(ToolFormat::detect("<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>"), ToolFormat::Hermes);
}

#[test]
fn hostile_replies_never_panic_and_stay_text() {
    // Model output is untrusted: deep nesting, unterminated strings, stray
    // markers and huge inputs must come back as text, not a panic or a hang.
    let deep_json = format!("<tool_call>{{\"name\":\"x\",\"arguments\":{}1{}}}</tool_call>", "[".repeat(100_000), "]".repeat(100_000));
    let deep_py = format!("```tool_code\nf(a={}1{})\n```", "[".repeat(100_000), "]".repeat(100_000));
    let cases = [
        deep_json.as_str(),
        deep_py.as_str(),
        "<tool_call><tool_call><tool_call>",
        "```tool_code\nf(a='unterminated)\n```",
        "```tool_code\nf(=1)\n```",
        "<|tool_call|>[{\"name\": 1}]<|/tool_call|>",
        "{\"name\": \"x\", \"parameters\": [1, 2]};;;",
        "\u{0}\u{ffff}<tool_call>\u{10ffff}",
    ];
    for reply in cases {
        for format in [ToolFormat::Hermes, ToolFormat::Llama3, ToolFormat::Phi4Mini, ToolFormat::Gemma] {
            let (text, calls) = format.parse(reply);
            assert!(calls.is_empty(), "{format:?} found calls in {:.60}: {calls:?}", reply);
            assert!(!text.is_empty());
        }
    }
}
