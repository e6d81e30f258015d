//! `mote study --model PATH --types T1,T2,… --out DIR`: the bits / speed /
//! energy / quality trade-off on this device. For each type it makes the
//! variant (`mote quantize`), then measures it in a fresh process each
//! (`mote bench --json --energy`, `mote eval --json`) so peak RSS and the
//! page cache belong to that variant alone. Writes DIR/study.json and
//! DIR/study.html (a table and three charts against bits per weight).
//!
//! Thermal: the state is read before and after each variant, and the first
//! variant is benchmarked again after `--sustain-seconds` of decoding, to
//! report the throughput lost to heat.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, required_unless_present = "from_device")]
    pub model: Option<PathBuf>,
    /// Comma-separated `mote quantize` types; `source` measures the model as given.
    #[arg(long, value_delimiter = ',', required_unless_present = "from_device")]
    pub types: Vec<String>,
    /// Render a phone run of `scripts/profile-battery.sh --study` (its output directory) instead.
    #[arg(long)]
    pub from_device: Option<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// QA items per variant (0: all).
    #[arg(long, default_value_t = 0)]
    pub qa_limit: usize,
    /// Skip the energy measurement (it idles before and after each run).
    #[arg(long)]
    pub no_energy: bool,
    /// Decode this long before re-measuring the first variant (0: skip).
    #[arg(long, default_value_t = 60)]
    pub sustain_seconds: u64,
}

fn mote(args: &[String]) -> Result<Value, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).args(args).output()?;
    if !out.status.success() {
        return Err(format!("mote {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()).into());
    }
    // `quantize --json` and friends print one JSON document on stdout.
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Hottest thermal zone in °C (Linux/Android), `None` where there is none.
fn temperature_c() -> Option<f64> {
    let zones = std::fs::read_dir("/sys/class/thermal").ok()?;
    zones
        .filter_map(|z| std::fs::read_to_string(z.ok()?.path().join("temp")).ok())
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .map(|m| m / 1000.0)
        .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.max(t))))
}

fn bench_args(model: &Path, a: &Args, energy: bool, out: &Path, gen_tokens: usize) -> Vec<String> {
    let mut v: Vec<String> = ["bench", "--json", "--prompt-tokens", "64", "--gen-tokens"].map(String::from).to_vec();
    v.push(gen_tokens.to_string());
    v.extend(["--model".into(), model.display().to_string(), "--threads".into(), a.threads.to_string()]);
    v.extend(["--reps".into(), a.reps.to_string()]);
    if energy {
        v.extend(["--energy".into(), "--energy-out".into(), out.join("energy-runs.json").display().to_string()]);
    }
    v
}

pub fn run(a: Args) -> CmdResult {
    std::fs::create_dir_all(&a.out)?;
    if let Some(dir) = &a.from_device {
        let study = super::study_device::study(dir)?;
        std::fs::write(a.out.join("study.json"), serde_json::to_string_pretty(&study)?)?;
        std::fs::write(a.out.join("study.html"), super::study_page::render(&study))?;
        println!("{}", a.out.join("study.html").display());
        return Ok(());
    }
    let model = a.model.clone().ok_or("--model is required")?;
    let a = Args { model: Some(model.clone()), ..a };
    let stem = model.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let source_info = mote(&["info".into(), "--model".into(), model.display().to_string(), "--json".into()])?;
    let mut rows = Vec::new();
    for ty in &a.types {
        let t0 = Instant::now();
        eprintln!("study: {ty}");
        let (path, quant) = if ty.eq_ignore_ascii_case("source") {
            (model.clone(), Value::Null)
        } else {
            let p = a.out.join(format!("{stem}.{ty}.gguf"));
            let q = mote(&[
                "quantize".into(), "--model".into(), model.display().to_string(), "--type".into(), ty.clone(),
                "--out".into(), p.display().to_string(), "--json".into(), "--threads".into(), a.threads.to_string(),
            ])?;
            (p, q)
        };
        let temp_before = temperature_c();
        let bench = mote(&bench_args(&path, &a, !a.no_energy, &a.out, 64))?;
        let mut eval_args: Vec<String> = vec!["eval".into(), "--json".into(), "--model".into(), path.display().to_string()];
        eval_args.extend(["--limit".into(), a.qa_limit.to_string(), "--threads".into(), a.threads.to_string()]);
        let eval = mote(&eval_args)?;
        let size = std::fs::metadata(&path)?.len();
        let info = mote(&["info".into(), "--model".into(), path.display().to_string(), "--json".into()])?;
        let bpw = quant["bits_per_weight"].as_f64().or_else(|| info["bits_per_weight"].as_f64());
        let energy = &bench["energy"];
        rows.push(json!({
            "type": ty,
            "file": path.file_name().map(|f| f.to_string_lossy().to_string()),
            "bits_per_weight": bpw,
            "file_bytes": size,
            "requantized_tensors": quant["requantized"],
            "peak_rss_bytes": bench["peak_rss_bytes"],
            "ttft_ms": bench["ttft"],
            "prefill_tokens_per_s": bench["prefill"],
            "decode_tokens_per_s": bench["decode"],
            "joules_per_token": energy["joules_per_token"],
            "tokens_per_joule": energy["tokens_per_joule"],
            "energy_uncertainty_pct": energy["uncertainty_pct"],
            "energy_source": energy["source"],
            "energy_valid": energy["valid"],
            "ppl": eval["ppl"],
            "qa_exact_match": eval["qa_exact_match"],
            "qa_f1": eval["qa_f1"],
            "qa_items": eval["items"],
            "qa_f1_stderr": f1_stderr(&eval["answers"]),
            "temperature_c_before": temp_before,
            "temperature_c_after": temperature_c(),
            "seconds": t0.elapsed().as_secs_f64(),
        }));
    }
    let thermal = sustained(&a, &rows)?;
    let requantized = rows.iter().any(|r| r["requantized_tensors"].as_u64().unwrap_or(0) > 0);
    let study = json!({
        "model": model.display().to_string(),
        "source": {"file_type": source_info["file_type"], "bits_per_weight": source_info["bits_per_weight"]},
        "note": if requantized {
            "Variants were requantized from an already quantized source (no F16/F32 given): each carries the source's error as well as its own."
        } else { "Variants were quantized from the given source." },
        "machine": machine(),
        "variants": rows,
        "thermal": thermal,
    });
    std::fs::write(a.out.join("study.json"), serde_json::to_string_pretty(&study)?)?;
    std::fs::write(a.out.join("study.html"), super::study_page::render(&study))?;
    println!("{}", a.out.join("study.html").display());
    Ok(())
}

/// Standard error of the mean F1 over the items (the QA score's uncertainty).
fn f1_stderr(answers: &Value) -> Option<f64> {
    let f: Vec<f64> = answers.as_array()?.iter().filter_map(|a| a["f1"].as_f64()).collect();
    if f.len() < 2 {
        return None;
    }
    let n = f.len() as f64;
    let mean = f.iter().sum::<f64>() / n;
    let var = f.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(100.0 * (var / n).sqrt())
}

/// Decodes for `sustain_seconds` with the first variant, then benchmarks it
/// again: the throughput lost to heat (phones lose up to half in minutes).
fn sustained(a: &Args, rows: &[Value]) -> Result<Value, Box<dyn std::error::Error>> {
    let Some(first) = rows.first() else { return Ok(Value::Null) };
    if a.sustain_seconds == 0 {
        return Ok(json!({"skipped": true}));
    }
    let path = match first["file"].as_str() {
        Some(f) if first["type"] != "source" => a.out.join(f),
        _ => a.model.clone().unwrap_or_default(),
    };
    let before = first["decode_tokens_per_s"]["mean"].as_f64().unwrap_or(0.0);
    let temp_start = temperature_c();
    let t0 = Instant::now();
    let mut loads = 0;
    while t0.elapsed().as_secs() < a.sustain_seconds {
        mote(&bench_args(&path, a, false, &a.out, 256))?;
        loads += 1;
    }
    let after = mote(&bench_args(&path, a, false, &a.out, 64))?;
    let after_tps = after["decode"]["mean"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "variant": first["type"],
        "sustained_seconds": t0.elapsed().as_secs_f64(),
        "load_runs": loads,
        "decode_tokens_per_s_before": before,
        "decode_tokens_per_s_after": after_tps,
        "throughput_lost_pct": if before > 0.0 { 100.0 * (1.0 - after_tps / before) } else { 0.0 },
        "temperature_c_start": temp_start,
        "temperature_c_end": temperature_c(),
    }))
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()));
    json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpu": cpu,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "isa": format!("{:?}", mote_kernels::isa()),
    })
}
