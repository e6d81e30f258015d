//! `mote study --from-device DIR`: the study page from a phone run by
//! `scripts/profile-battery.sh --study`. The script quantizes on the host
//! (byte-identical to what the phone would write), runs the sample app's
//! bench mode on the phone once per variant, and scores quality on the host
//! (the same bytes give the same perplexity and answers up to kernel
//! rounding). DIR/<type>/ holds `quantize.json`, `runs.json` (the app's
//! `ReportData`) and `eval.json`.

use std::path::Path;

use serde_json::{json, Value};

fn read(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn spread(v: &[f64]) -> Value {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    json!({"mean": mean, "stddev": sd})
}

/// One study variant from a device directory, `None` if its runs are missing.
fn variant(dir: &Path) -> Option<Value> {
    let ty = dir.file_name()?.to_string_lossy().to_string();
    let runs = read(&dir.join("runs.json"))?;
    let runs: Vec<&Value> = runs["runs"].as_array()?.iter().filter(|r| r["energy"]["valid"] == true).collect();
    let quant = read(&dir.join("quantize.json")).unwrap_or(Value::Null);
    let eval = read(&dir.join("eval.json")).unwrap_or(Value::Null);
    let col = |f: &dyn Fn(&Value) -> Option<f64>| runs.iter().filter_map(|r| f(r)).collect::<Vec<f64>>();
    let tpj = col(&|r| r["energy"]["tokens_per_joule"].as_f64());
    let jpt = col(&|r| r["energy"]["joules_per_token"].as_f64());
    let unc = col(&|r| r["energy"]["uncertainty_pct"].as_f64());
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    Some(json!({
        "type": ty,
        "bits_per_weight": quant["bits_per_weight"],
        "file_bytes": quant["bytes_out"],
        "requantized_tensors": quant["requantized"],
        "prefill_tokens_per_s": spread(&col(&|r| r["prefill_tokens_per_s"].as_f64())),
        "decode_tokens_per_s": spread(&col(&|r| r["decode_tokens_per_s"].as_f64())),
        "joules_per_token": mean(&jpt),
        "tokens_per_joule": mean(&tpj),
        "energy_uncertainty_pct": mean(&unc),
        "energy_source": runs.first().map(|r| r["energy"]["source"].clone()),
        "valid_runs": runs.len(),
        "ppl": eval["ppl"],
        "qa_exact_match": eval["qa_exact_match"],
        "qa_f1": eval["qa_f1"],
        "qa_items": eval["items"],
        "quality_measured_on": "host (same file)",
    }))
}

/// The study document for a device directory.
pub fn study(dir: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let mut variants: Vec<Value> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| variant(&e.path()))
        .collect();
    variants.sort_by(|a, b| b["bits_per_weight"].as_f64().partial_cmp(&a["bits_per_weight"].as_f64()).unwrap_or(std::cmp::Ordering::Equal));
    if variants.is_empty() {
        return Err(format!("{}: no <type>/runs.json with valid runs", dir.display()).into());
    }
    let requantized = variants.iter().any(|v| v["requantized_tensors"].as_u64().unwrap_or(0) > 0);
    Ok(json!({
        "model": read(&dir.join("source.json")).and_then(|s| s["model"].as_str().map(String::from)).unwrap_or_default(),
        "note": if requantized {
            "Measured on the phone (speed, energy); quality scored on the host on the same files. Variants were requantized from an already quantized source."
        } else {
            "Measured on the phone (speed, energy); quality scored on the host on the same files."
        },
        "machine": read(&dir.join("device.json")).unwrap_or(Value::Null),
        "variants": variants,
        "thermal": Value::Null,
    }))
}
