//! Chat templates render byte for byte as Hugging Face transformers renders them.
//!
//! Corpus: the real templates llama.cpp collects in `models/templates/*.jinja`
//! (each file is named after the model repository it comes from, see that
//! directory's README), taken at test time from the PyPI sdist
//! llama-cpp-python==0.3.36 (`scripts/llama-cpp-source.sh`) and never committed,
//! plus the templates embedded in the two real test models (SmolLM2; Gemma 3's
//! GGUF has none). Every message list of `scripts/reference/template_cases.json`
//! is rendered with every template by jinja2 set up as transformers does
//! (`scripts/reference/render_templates.py`, pinned jinja2 in a venv) and by
//! Mote; the outputs must be identical. Pairs jinja2 itself refuses (e.g. a
//! template that requires a system message) are skipped and counted apart.
//!
//! The test prints `identical/total` per message list and a short diff for
//! every mismatch. It fails on any mismatch not listed in [`KNOWN_MISMATCHES`]
//! (each with its reason), so the conformance count can only go up.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use mote_core::gguf::GgufFile;
use mote_core::ChatTemplate;

/// (template file stem, message list, why Mote's output differs).
const KNOWN_MISMATCHES: &[(&str, &str, &str)] = &[
    // The template writes `"…"|safe + name + "…"|safe + spec|tojson`. In jinja2
    // `|safe` makes a markupsafe.Markup, and Markup + str HTML-escapes the str,
    // so the tool spec reaches the prompt as `{&#34;name&#34;: …}` (a template
    // bug that transformers faithfully reproduces). minijinja's `+` has no
    // such overload (it concatenates plainly), so Mote prints real JSON.
    ("meetkai-functionary-medium-v3.1", "tools_offered", MARKUP_CONCAT),
    ("meetkai-functionary-medium-v3.1", "tool_call", MARKUP_CONCAT),
    ("meetkai-functionary-medium-v3.1", "tool_call_openai", MARKUP_CONCAT),
];
const MARKUP_CONCAT: &str = "jinja2's Markup + str escapes the JSON tool spec to &#34;; minijinja concatenates plainly";

fn corpus_dir() -> std::path::PathBuf {
    let root = common::workspace_root();
    let out =
        Command::new("bash").arg(root.join("scripts/llama-cpp-source.sh")).output().expect("run llama-cpp-source.sh");
    assert!(out.status.success(), "llama-cpp-source.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    let src = String::from_utf8(out.stdout).unwrap();
    let dir = Path::new(src.trim()).join("models/templates");
    assert!(dir.is_dir(), "no {}", dir.display());
    dir
}

/// Copies the corpus and the models' own templates into `dir`.
fn collect_templates(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jinja") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            n += 1;
        }
    }
    assert!(n >= 40, "only {n} templates in llama.cpp's corpus");
    for (name, stem) in [("smollm2", "gguf-SmolLM2-135M-Instruct"), ("gemma3", "gguf-gemma-3-270m")] {
        let g = GgufFile::open(&common::model_path(name)).unwrap();
        match g.get("tokenizer.chat_template").and_then(|v| v.as_str()) {
            Some(source) => {
                std::fs::write(dir.join(format!("{stem}.jinja")), source).unwrap();
                n += 1;
            }
            // Gemma 3 270m (the base model) carries no template; Mote's default is used.
            None => assert_eq!(name, "gemma3", "{name} lost its chat template"),
        }
    }
    n
}

fn short_diff(want: &str, got: &str) -> String {
    let at = want.bytes().zip(got.bytes()).take_while(|(a, b)| a == b).count();
    let mut start = at.saturating_sub(60);
    while !want.is_char_boundary(start) {
        start -= 1;
    }
    let window = |s: &str| {
        let mut end = (at + 80).min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut from = start.min(end);
        while !s.is_char_boundary(from) {
            from -= 1;
        }
        format!("{:?}", &s[from..end])
    };
    format!(
        "first difference at byte {at} (lengths {} vs {})\n      jinja2: {}\n      mote:   {}",
        want.len(),
        got.len(),
        window(want),
        window(got)
    )
}

#[derive(Default)]
struct Tally {
    identical: usize,
    compared: usize,
    skipped: usize,
    /// Skipped pairs that Mote refuses too (a typed error rather than a prompt).
    skipped_mote_fails: usize,
}

#[test]
fn templates_render_as_transformers_does() {
    // Templates that print today's date (Llama 3.x, Granite) must use local
    // time as transformers does: 14 h east of UTC the local date differs from
    // UTC's for most of the day. This binary has a single test, so setting the
    // variable races with nothing; the jinja2 process inherits it.
    std::env::set_var("TZ", "MOTE-14");
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    let n_templates = collect_templates(&templates);

    let root = common::workspace_root();
    let expected_path = tmp.path().join("expected.json");
    let out = Command::new("bash")
        .arg(root.join("scripts/reference/render_templates.sh"))
        .arg(root.join("scripts/reference/template_cases.json"))
        .arg(&templates)
        .arg(&expected_path)
        .output()
        .expect("run render_templates.sh");
    assert!(out.status.success(), "render_templates.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut compiled: BTreeMap<(String, String, String), Result<ChatTemplate, String>> = BTreeMap::new();
    let mut unexpected = Vec::new();
    let mut known_seen = Vec::new();
    let mut known_fixed = Vec::new();
    // Pairs jinja2 refuses but Mote renders (minijinja is laxer, e.g. `for x in none`).
    let mut lenient = Vec::new();
    for e in &expected {
        let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
        let (name, case) = (s("template"), s("case"));
        let tally = tallies.entry(case.clone()).or_default();
        let template = compiled.entry((name.clone(), s("bos_token"), s("eos_token"))).or_insert_with(|| {
            let source = std::fs::read_to_string(templates.join(format!("{name}.jinja"))).unwrap();
            ChatTemplate::from_source_with_tokens(&source, &s("bos_token"), &s("eos_token")).map_err(|e| e.to_string())
        });
        let got = match template {
            Ok(t) => t.render_json(
                &s("messages_json"),
                e["tools_json"].as_str(),
                e["add_generation_prompt"].as_bool().unwrap(),
            ),
            Err(msg) => Err(mote_core::Error::Template(msg.clone())),
        };
        if e.get("error").is_some() {
            tally.skipped += 1;
            if matches!(got, Err(mote_core::Error::Template(_))) {
                tally.skipped_mote_fails += 1;
            } else {
                let err = e["error"].as_str().unwrap_or_default();
                lenient.push(format!("  {name} / {case}: {}", err.chars().take(90).collect::<String>()));
            }
            continue;
        }
        tally.compared += 1;
        let want = s("expected");
        let known = KNOWN_MISMATCHES.iter().find(|(t, c, _)| *t == name && *c == case);
        match (got, known) {
            (Ok(got), None) if got == want => tally.identical += 1,
            (Ok(got), Some(_)) if got == want => {
                tally.identical += 1;
                known_fixed.push(format!("{name} / {case}"));
            }
            (got, known) => {
                let detail = match got {
                    Ok(got) => short_diff(&want, &got),
                    Err(err) => format!("mote failed: {err}"),
                };
                let line = format!("  {name} / {case}: {detail}");
                match known {
                    Some((_, _, reason)) => known_seen.push(format!("{line}\n      known: {reason}")),
                    None => unexpected.push(line),
                }
            }
        }
    }

    println!("chat-template conformance, {n_templates} templates (jinja2 errors skipped):");
    let (mut identical, mut compared, mut skipped, mut refused) = (0, 0, 0, 0);
    for (case, t) in &tallies {
        println!(
            "  {case:<16} {}/{} identical, {} skipped (jinja2 error; Mote errors on {})",
            t.identical, t.compared, t.skipped, t.skipped_mote_fails
        );
        identical += t.identical;
        compared += t.compared;
        skipped += t.skipped;
        refused += t.skipped_mote_fails;
    }
    println!("  {:<16} {identical}/{compared} identical, {skipped} skipped (Mote errors on {refused})", "all");
    if !lenient.is_empty() {
        println!("skipped pairs that Mote renders although jinja2 fails:\n{}", lenient.join("\n"));
    }
    if !known_seen.is_empty() {
        println!("known mismatches:\n{}", known_seen.join("\n"));
    }
    if !known_fixed.is_empty() {
        println!(
            "listed as known mismatches but now identical (remove them from the list):\n  {}",
            known_fixed.join("\n  ")
        );
    }
    assert!(compared > 300, "only {compared} pairs compared");
    assert!(unexpected.is_empty(), "{} mismatches:\n{}", unexpected.len(), unexpected.join("\n"));
}
