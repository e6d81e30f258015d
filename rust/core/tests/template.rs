//! Chat templates: the models' own and the defaults, rendered as Hugging Face
//! would, with hostile templates stopped by typed errors.

mod common;

use mote_core::gguf::{GgufFile, Value};
use mote_core::{ChatMessage, ChatTemplate, Error, Role, Tokenizer};

fn load(name: &str) -> (GgufFile, Tokenizer) {
    let g = GgufFile::open(&common::model_path(name)).unwrap();
    let tok = Tokenizer::from_gguf(&g).unwrap();
    (g, tok)
}

fn chat(system: Option<&str>) -> Vec<ChatMessage> {
    let mut m = Vec::new();
    if let Some(s) = system {
        m.push(ChatMessage::new(Role::System, s));
    }
    m.push(ChatMessage::new(Role::User, "Hi"));
    m.push(ChatMessage::new(Role::Assistant, "Hello! How can I help?"));
    m.push(ChatMessage::new(Role::User, "What is 2+2?"));
    m
}

const SMOL_DEFAULT_SYSTEM: &str =
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
const SMOL_TURNS: &str = "<|im_start|>user\nHi<|im_end|>\n\
<|im_start|>assistant\nHello! How can I help?<|im_end|>\n\
<|im_start|>user\nWhat is 2+2?<|im_end|>\n";

#[test]
fn smollm2_renders_its_chatml_template() {
    let (g, tok) = load("smollm2");
    let t = ChatTemplate::from_gguf(&g, &tok).unwrap();
    assert!(!t.is_default());
    assert!(t.source().contains("SmolLM"));

    let with_system = t.render(&chat(Some("Be brief.")), true).unwrap();
    let want = format!("<|im_start|>system\nBe brief.<|im_end|>\n{SMOL_TURNS}<|im_start|>assistant\n");
    assert_eq!(with_system, want);

    // Without a system message the template injects its own.
    let without = t.render(&chat(None), true).unwrap();
    assert_eq!(without, format!("{SMOL_DEFAULT_SYSTEM}{SMOL_TURNS}<|im_start|>assistant\n"));
    let no_prompt = t.render(&chat(None), false).unwrap();
    assert_eq!(no_prompt, format!("{SMOL_DEFAULT_SYSTEM}{SMOL_TURNS}"));

    assert_eq!(t.turn_end_markers(), vec!["<|im_end|>".to_string()]);
}

#[test]
fn rendered_smollm2_prompt_tokenizes_turn_markers_as_single_tokens() {
    let (g, tok) = load("smollm2");
    let t = ChatTemplate::from_gguf(&g, &tok).unwrap();
    let text = t.render(&chat(Some("Be brief.")), true).unwrap();
    let ids = tok.encode(&text, tok.add_bos(), true).unwrap();
    let im_start = tok.token_id("<|im_start|>").unwrap();
    let im_end = tok.token_id("<|im_end|>").unwrap();
    assert_eq!(ids[0], im_start);
    assert_eq!(ids.iter().filter(|&&i| i == im_start).count(), 5);
    assert_eq!(ids.iter().filter(|&&i| i == im_end).count(), 4);
    // The prompt ends "<|im_start|>assistant\n": the model speaks next.
    let tail = tok.encode("<|im_start|>assistant\n", false, true).unwrap();
    assert_eq!(tail[0], im_start);
    assert!(ids.ends_with(&tail), "{ids:?}");
}

#[test]
fn gemma3_base_model_gets_the_gemma_turn_format() {
    let (g, tok) = load("gemma3");
    let t = ChatTemplate::from_gguf(&g, &tok).unwrap();
    assert!(t.is_default());
    let text = t.render(&chat(Some("Be brief.")), true).unwrap();
    assert_eq!(
        text,
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n\
<start_of_turn>model\nHello! How can I help?<end_of_turn>\n\
<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n\
<start_of_turn>model\n"
    );
    assert_eq!(
        t.render(&[ChatMessage::new(Role::User, "Hi")], false).unwrap(),
        "<start_of_turn>user\nHi<end_of_turn>\n"
    );
    assert_eq!(t.turn_end_markers(), vec!["<end_of_turn>".to_string()]);

    let ids = tok.encode(&text, tok.add_bos(), true).unwrap();
    assert_eq!(ids[..2], [2, tok.token_id("<start_of_turn>").unwrap()]);
    assert_eq!(ids.iter().filter(|&&i| Some(i) == tok.token_id("<end_of_turn>")).count(), 3);

    // Gemma has no system role after the start.
    let late_system = [ChatMessage::new(Role::User, "Hi"), ChatMessage::new(Role::System, "x")];
    assert!(matches!(t.render(&late_system, true), Err(Error::Template(_))));
}

#[test]
fn an_empty_chat_is_rejected() {
    let (g, tok) = load("smollm2");
    let t = ChatTemplate::from_gguf(&g, &tok).unwrap();
    assert!(matches!(t.render(&[], true), Err(Error::InvalidArgument(_))));
}

#[test]
fn raise_exception_becomes_a_template_error() {
    let (_, tok) = load("smollm2");
    let t = ChatTemplate::from_source(
        "{% if messages[0]['role'] != 'system' %}{{ raise_exception('System message required') }}{% endif %}ok",
        &tok,
    )
    .unwrap();
    match t.render(&chat(None), true) {
        Err(Error::Template(msg)) => assert!(msg.contains("System message required"), "{msg}"),
        other => panic!("expected a template error, got {other:?}"),
    }
    assert_eq!(t.render(&chat(Some("s")), true).unwrap(), "ok");
    // Syntax errors surface when the template is built.
    assert!(matches!(ChatTemplate::from_source("{% for %}", &tok), Err(Error::Template(_))));
}

#[test]
fn runaway_templates_are_stopped() {
    let (_, tok) = load("smollm2");
    let start = std::time::Instant::now();
    let nested = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
    let huge_string = "{{ 'x' * 90000000 }}";
    let huge_loop = "{% for a in range(100000) %}{{ 'y' * 1000 }}{% endfor %}";
    let recursive = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    for src in [nested, huge_string, huge_loop, recursive] {
        let t = ChatTemplate::from_source(src, &tok).unwrap();
        assert!(matches!(t.render(&chat(None), true), Err(Error::Template(_))), "{src}");
    }
    // The budget is per render: a template that stays inside it keeps working.
    let t = ChatTemplate::from_source(
        "{% for i in range(6) %}{% for a in range(100000) %}{% endfor %}{% endfor %}ok",
        &tok,
    )
    .unwrap();
    assert_eq!(t.render(&chat(None), true).unwrap(), "ok");
    assert_eq!(t.render(&chat(None), true).unwrap(), "ok");
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}

#[test]
fn hugging_face_helpers_work() {
    let (_, tok) = load("smollm2");
    let src = "{%- for m in messages -%}[{{ m['content'].strip() }}|{{ m['role'].upper() }}|\
{{ m['content'].split(',') | length }}{% if m['content'].startswith('  hi') %}|starts{% endif %}]{%- endfor -%}\
{% if loop is undefined and tools is none %}{{ messages[0]['content'] | tojson }}{% endif %}\
{{ bos_token }}{{ eos_token }}|{{ strftime_now('%Y') | length }}";
    let t = ChatTemplate::from_source(src, &tok).unwrap();
    let out = t.render(&[ChatMessage::new(Role::User, "  hi, there  ")], true).unwrap();
    assert_eq!(out, "[hi, there|USER|2|starts]\"  hi, there  \"<|im_start|><|im_end|>|4");
}

#[test]
fn trim_and_lstrip_blocks_match_hugging_face() {
    let (_, tok) = load("smollm2");
    let src = "{% for m in messages %}\n    {% if loop.first %}\n{{ m['content'] }}\n    {% endif %}\n{% endfor %}";
    let t = ChatTemplate::from_source(src, &tok).unwrap();
    assert_eq!(t.render(&chat(None), false).unwrap(), "Hi\n");
}

fn synthetic(tokens: &[&str]) -> (GgufFile, Tokenizer) {
    let md = vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("gpt-2".into())),
        ("tokenizer.ggml.tokens", Value::array(tokens.iter().map(|t| Value::String((*t).into())).collect())),
        ("tokenizer.ggml.merges", Value::array(vec![])),
    ];
    let g = GgufFile::from_bytes(common::write_gguf(&md, &[])).unwrap();
    let tok = Tokenizer::from_gguf(&g).unwrap();
    (g, tok)
}

#[test]
fn defaults_follow_the_vocabulary() {
    let (g, tok) = synthetic(&["a", "<|im_start|>", "<|im_end|>"]);
    let t = ChatTemplate::from_gguf(&g, &tok).unwrap();
    assert!(t.is_default());
    assert_eq!(
        t.render(&chat(Some("S")), true).unwrap(),
        format!("<|im_start|>system\nS<|im_end|>\n{SMOL_TURNS}<|im_start|>assistant\n")
    );

    let (g, tok) = synthetic(&["a", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]);
    let t = ChatTemplate::from_gguf(&g, &tok).unwrap();
    assert_eq!(
        t.render(&[ChatMessage::new(Role::User, "Hi")], true).unwrap(),
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    assert_eq!(t.turn_end_markers(), vec!["<|eot_id|>".to_string()]);

    let (g, tok) = synthetic(&["a", "b"]);
    let t = ChatTemplate::from_gguf(&g, &tok).unwrap();
    assert_eq!(
        t.render(&chat(Some("S")), true).unwrap(),
        "System: S\n\nUser: Hi\n\nAssistant: Hello! How can I help?\n\nUser: What is 2+2?\n\nAssistant:"
    );
    assert_eq!(t.turn_end_markers(), vec!["\nUser:".to_string()]);
}

#[test]
fn a_leading_bos_is_dropped_when_the_tokenizer_adds_one() {
    let (_, gemma) = load("gemma3");
    let t =
        ChatTemplate::from_source("{{ bos_token }}<start_of_turn>user\n{{ messages[0]['content'] }}", &gemma).unwrap();
    let text = t.render(&[ChatMessage::new(Role::User, "Hi")], false).unwrap();
    assert_eq!(text, "<start_of_turn>user\nHi");
    let ids = gemma.encode(&text, gemma.add_bos(), true).unwrap();
    assert_eq!(ids.iter().filter(|&&i| Some(i) == gemma.bos_id()).count(), 1);

    // SmolLM2 adds no BOS, so a template's bos_token stays.
    let (_, smol) = load("smollm2");
    let t = ChatTemplate::from_source("{{ bos_token }}x", &smol).unwrap();
    assert_eq!(t.render(&[ChatMessage::new(Role::User, "Hi")], false).unwrap(), "<|im_start|>x");
}

#[test]
fn an_unparsable_model_template_is_an_error_unless_overridden() {
    let md = vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        (
            "tokenizer.ggml.tokens",
            Value::array(["a", "<|im_start|>", "<|im_end|>"].iter().map(|t| Value::String((*t).into())).collect()),
        ),
        ("tokenizer.ggml.merges", Value::array(vec![])),
        ("tokenizer.chat_template", Value::String("{% for m in messages %}{{ m.content".into())),
    ];
    let g = GgufFile::from_bytes(common::write_gguf(&md, &[])).unwrap();
    let tok = Tokenizer::from_gguf(&g).unwrap();
    // No silent default: the prompt format would be wrong.
    match ChatTemplate::from_gguf(&g, &tok) {
        Err(Error::Template(msg)) => {
            assert!(msg.contains("tokenizer.chat_template") && msg.contains("does not parse"), "{msg}");
            assert!(msg.contains("unexpected end of input"), "{msg}");
        }
        other => panic!("expected a template error, got {other:?}"),
    }
    // An override replaces the model's template without parsing it.
    let chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
    let t = ChatTemplate::from_gguf_or_override(&g, &tok, Some(chatml)).unwrap();
    assert!(!t.is_default());
    assert_eq!(t.render(&[ChatMessage::new(Role::User, "Hi")], true).unwrap(), "<|im_start|>user\nHi<|im_end|>\n");
    // A broken override is an error too, named as the override's.
    match ChatTemplate::from_gguf_or_override(&g, &tok, Some("{% if %}")) {
        Err(Error::Template(msg)) => assert!(msg.contains("override"), "{msg}"),
        other => panic!("expected a template error, got {other:?}"),
    }
}

/// Renders `src` as transformers would, with one user message "Hi" and `tools`.
fn hf(src: &str, tools: Option<&str>) -> String {
    let t = ChatTemplate::from_source_with_tokens(src, "<s>", "</s>").unwrap();
    t.render_json(r#"[{"role": "user", "content": "Hi"}]"#, tools, true).unwrap()
}

#[test]
fn loop_controls_and_jinja2_tests() {
    assert_eq!(
        hf("{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i > 3 %}{% break %}{% endif %}{{ i }}{% endfor %}", None),
        "023"
    );
    // jinja2: none is not iterable (minijinja's own test says it is), undefined and strings are.
    let tools_check = "{{ tools is iterable and tools | length > 0 }}|{{ nothing is iterable }}|{{ 'ab' is iterable }}|{{ 3 is iterable }}";
    assert_eq!(hf(tools_check, None), "False|True|True|False");
    assert_eq!(hf(tools_check, Some(r#"[{"type": "function"}]"#)), "True|True|True|False");
    assert_eq!(hf("{{ 'ab' is sequence }}|{{ {} is sequence }}|{{ true is number }}", None), "True|True|True");
}

#[test]
fn tojson_is_transformers_json_dumps() {
    let tools = r#"[{"b": 1, "a": [1, 2.5, null, true, 1e16], "s": "é<>&'\"\n"}]"#;
    assert_eq!(
        hf("{{ tools[0] | tojson }}", Some(tools)),
        r#"{"b": 1, "a": [1, 2.5, null, true, 1e+16], "s": "é<>&'\"\n"}"#
    );
    assert_eq!(
        hf("{{ tools[0] | tojson(indent=2) }}", Some(tools)),
        "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2.5,\n    null,\n    true,\n    1e+16\n  ],\n  \"s\": \"é<>&'\\\"\\n\"\n}"
    );
    assert_eq!(
        hf("{{ tools[0] | tojson(separators=(',', ':'), sort_keys=true, ensure_ascii=true) }}", Some(tools)),
        r#"{"a":[1,2.5,null,true,1e+16],"b":1,"s":"\u00e9<>&'\"\n"}"#
    );
    assert_eq!(
        hf("{{ {} | tojson(indent=4) }}{{ [] | tojson }}{{ '😀' | tojson(true) }}", None),
        r#"{}[]"\ud83d\ude00""#
    );
    let t = ChatTemplate::from_source_with_tokens("{{ tools | tojson(colour=1) }}", "", "").unwrap();
    assert!(matches!(t.render_json("[{}]", None, false), Err(Error::Template(_))));
}

#[test]
fn python_methods_and_printing() {
    // Containers print as Python's str(): repr with single quotes.
    assert_eq!(
        hf("{{ {'a': [1, 'x', none, true, 2.0]} }}|{{ [\"it's\"] | string }}", None),
        r#"{'a': [1, 'x', None, True, 2.0]}|["it's"]"#
    );
    assert_eq!(
        hf("{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in {'z': 0} | items %}{{ k }}{% endfor %}", None),
        "b=1;a=2;z"
    );
    assert_eq!(
        hf("{{ 'a b  c'.split() }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ 'k=v=w'.partition('=')[2] }}", None),
        "['a', 'b', 'c']|['a,b', 'c']|v=w"
    );
    assert_eq!(hf("{{ 'hello'[::-1] }}|{{ 'hello'[1:3] }}|{{ messages[-1].content.removeprefix('H') }}|{{ 'x'.center(4, '*') }}", None), "olleh|el|i|*x**");
    assert_eq!(hf("{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ 'ü€'.find('€') }}", None), "['a', 'b', 'c']|1");
    assert_eq!(
        hf("{% set ns = namespace(n=0) %}{% for m in ['a', 'b', 'c'] %}{% set ns.n = ns.n + 1 %}{{ loop.previtem | default('^') }}{{ m }}{{ loop.nextitem | default('$') }} {% endfor %}{{ ns.n }}", None),
        "^ab abc bc$ 3"
    );
}

#[test]
fn indent_keeps_jinja2_quirks() {
    assert_eq!(hf("[{{ '{\\n' | indent(4, first=true) }}]", None), "[    {\n]");
    assert_eq!(hf("[{{ 'a\\n\\nb' | indent(2) }}]", None), "[a\n\n  b]");
    assert_eq!(hf("[{{ 'a\\n\\nb' | indent('> ', blank=true) }}]", None), "[a\n> \n> b]");
}

#[test]
fn generation_blocks_render_their_body() {
    let src = "{% for m in messages %}{% set x = 'outer' %}{%- generation -%}\n  [{{ m.content }}]{% set x = 'inner' %}\n{%- endgeneration %}{{ x }}{% endfor %}";
    assert_eq!(hf(src, None), "[Hi]outer");
}

/// Single operations that would allocate gigabytes (a 2e9-wide field, a
/// replace or join that squares a string) end in a template error or a
/// bounded result inside a 1 GiB address space, never an abort. Each output
/// is piped into `length`, so the output cap is not what stops them.
#[test]
fn allocation_bombs_are_bounded() {
    if !common::under_address_space_limit("allocation_bombs_are_bounded", 1 << 30) {
        return;
    }
    let (_, tok) = load("smollm2");
    let s20k = "{% set s = 'x' * 20000 %}";
    let cases = [
        "{{ ('x' | indent(2000000000, true)) | length }}".to_string(),
        "{{ ('a\nb' | indent('x' * 2000)) | length }}".to_string(),
        "{{ ({'a': [1, 2]} | tojson(indent=2000000000)) | length }}".to_string(),
        "{{ '{:>2000000000}'.format('x') | length }}".to_string(),
        "{{ '{:>{}}'.format('x', 2000000000) | length }}".to_string(),
        "{{ '{:.2000000000f}'.format(1.5) | length }}".to_string(),
        "{{ ('%2000000000s' | format('x')) | length }}".to_string(),
        "{{ ('%*s' | format(2000000000, 'x')) | length }}".to_string(),
        // Not a bomb: a multi-byte character inside a % conversion made
        // minijinja's printf slice inside it and panic (fuzz finding).
        "{{ '%s ha ds %its (%(%.\u{fffd}f%D)' | format('x', 3, 12.5) }}".to_string(),
        "{{ '%(ключ)s' | format({'ключ': 1}) }}".to_string(),
        "{{ 'x'.rjust(2000000000) | length }}".to_string(),
        format!("{s20k}{{{{ s.replace('x', s) | length }}}}"),
        format!("{s20k}{{{{ s | replace('x', s) | length }}}}"),
        format!("{s20k}{{{{ s.replace('', s) | length }}}}"),
        format!("{s20k}{{{{ s.join(range(20000) | map('string')) | length }}}}"),
        format!("{s20k}{{{{ range(20000) | map('string') | join(s) | length }}}}"),
        // Doubling: fuel cannot see it, each step is one instruction.
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}".to_string(),
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}".to_string(),
        "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}".to_string(),
        "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s | length }}{% endif %}{% endmacro %}{{ d('x', 25) }}".to_string(),
        format!("{s20k}{{% set s = s ~ s %}}{}{{{{ s | length }}}}", "{% set s = s ~ s ~ s ~ s %}".repeat(12)),
        "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(30) %}{% set t %}{{ ns.s }}{{ ns.s }}{% endset %}{% set ns.s = t %}{% endfor %}{{ ns.s | length }}".to_string(),
        // Many distinct large strings, each within the per-value limit.
        format!("{s20k}{{% set ns = namespace(l=[]) %}}{{% for i in range(5000) %}}{{% set ns.l = ns.l + [s ~ i] %}}{{% endfor %}}{{{{ ns.l | length }}}}"),
        // Raw text emitted in a loop: counted although it never passes an expression.
        format!("{{% for i in range(100000) %}}{}{{% endfor %}}", "y".repeat(1000)),
    ];
    for src in &cases {
        let t = ChatTemplate::from_source(src, &tok).unwrap();
        match t.render(&chat(None), true) {
            Err(Error::Template(m)) => println!("{src}: {m}"),
            Ok(out) => {
                let n: usize = out.trim().parse().unwrap_or_else(|_| panic!("{src}: {out}"));
                assert!(n <= 4 << 20, "{src}: {n} bytes");
                println!("{src}: bounded to {n}");
            }
            Err(e) => panic!("{src}: {e:?}"),
        }
    }
    // Ordinary uses are untouched.
    let t = ChatTemplate::from_source(
        "{{ 'a-b'.replace('-', '+') }} {{ 'a-b' | replace('-', '', 1) }} {{ '{:>4}'.format('x') }} {{ '%3d' | format(7) }} {{ ', '.join(['x', 'y']) }} {{ [1, 2] | join('|') }} {{ 'a' ~ 1 ~ none }} {{ 1 + 2 }} {{ [1] + [2] }} {{ 'ab' * 2 }} {{ 3 * 'c' }} {{ 2 * 3.5 }}",
        &tok,
    )
    .unwrap();
    assert_eq!(t.render(&chat(None), true).unwrap(), "a+b ab    x   7 x, y 1|2 a1None 3 [1, 2] abab ccc 7.0");
    // Slices with a step are Python's (minijinja 2.24 panicked on the empty and reversed ones the fuzzer found).
    let t = ChatTemplate::from_source(
        "{{ 'abc'[::-1] }}|{{ ''[::-1] }}|{{ [][::-1] }}|{{ [1, 2, 3][::2] }}|{{ 'abc'[0:2:-1] }}|{{ 'abcdef'[-1:1:-2] }}|{{ 'abc'[1:] }}",
        &tok,
    )
    .unwrap();
    assert_eq!(t.render(&chat(None), true).unwrap(), "cba||[]|[1, 3]||fd|bc");
    // `{%}` before a generation tag (fuzzer finding): a template error, not a panic.
    assert!(ChatTemplate::from_source("{%}generation", &tok).is_err());
}
