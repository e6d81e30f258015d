//! The contract of `mote quantize`, `mote energy import`, `mote eval` and
//! `mote study` (flags and JSON keys external checks use), run as a user would.

mod common;

use std::process::Command;

use common::{model, mote};

#[test]
fn quantize_writes_the_type_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.gguf");
    let m = model();
    let r = mote(&["quantize", "--model", m.to_str().unwrap(), "--type", "Q4_0", "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(r["recipe"], "Q4_0");
    let bpw = r["bits_per_weight"].as_f64().unwrap();
    assert!((4.4..5.0).contains(&bpw), "Q4_0 is 4.5 bits per weight, plus the F32 norms: {bpw}");
    assert!(r["tensors"].as_array().unwrap().iter().any(|t| t["to"] == "Q4_0"));
    let info = mote(&["info", "--model", out.to_str().unwrap(), "--json"]);
    assert_eq!(info["file_type"], "Q4_0", "{info}");
    let bad = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(["quantize", "--model", m.to_str().unwrap(), "--type", "Q3_X", "--out", dir.path().join("x.gguf").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("Q4_K_M"));
    assert!(!dir.path().join("x.gguf").exists());
}

#[test]
fn energy_import_reads_csv_and_logcat_and_detects_milliamps() {
    let dir = tempfile::tempdir().unwrap();
    // 10 s at 250 mA (reported in mA, as a Galaxy J7 does) and 4000 mV: 10 J.
    let rows: String = (0..=100).map(|k| format!("{},-250,4000\n", 1_700_000_000_000u64 + k * 100)).collect();
    let csv = dir.path().join("run.csv");
    std::fs::write(&csv, format!("Timestamp,BATTERY_PROPERTY_CURRENT_NOW,EXTRA_VOLTAGE\n{rows}")).unwrap();
    let e = mote(&["energy", "import", csv.to_str().unwrap(), "--json"]);
    assert!((e["energy_j"].as_f64().unwrap() - 10.0).abs() < 1e-9, "{e}");
    assert!((e["avg_power_w"].as_f64().unwrap() - 1.0).abs() < 1e-9 && e["duration_s"] == 10.0, "{e}");
    assert_eq!(e["unit_detected"], "mA");
    assert_eq!(e["samples"], 101);
    let logcat = dir.path().join("logcat.txt");
    let lines: String = rows.lines().map(|r| format!("12-01 10:00:00.000 1 2 I BatteryMgr:DataCollectionService: stats => {r}\n")).collect();
    std::fs::write(&logcat, lines).unwrap();
    let l = mote(&["energy", "import", logcat.to_str().unwrap(), "--json", "--baseline", "0.25"]);
    assert!((l["energy_j"].as_f64().unwrap() - 7.5).abs() < 1e-9, "10 J minus 0.25 W for 10 s: {l}");
}

#[test]
fn eval_scores_qa_and_perplexity() {
    let m = model();
    let e = mote(&["eval", "--model", m.to_str().unwrap(), "--json", "--limit", "3"]);
    assert_eq!(e["items"], 3);
    let ppl = e["ppl"].as_f64().unwrap();
    assert!((2.0..50.0).contains(&ppl), "SmolLM2 on plain English prose: {ppl}");
    let (em, f1) = (e["qa_exact_match"].as_f64().unwrap(), e["qa_f1"].as_f64().unwrap());
    assert!((0.0..=100.0).contains(&em) && f1 >= em && f1 > 0.0, "{e}");
}

#[test]
fn study_writes_json_and_a_page_with_charts() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let out = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(["study", "--model", m.to_str().unwrap(), "--types", "Q4_0", "--out", dir.path().to_str().unwrap()])
        .args(["--qa-limit", "2", "--reps", "1", "--sustain-seconds", "0", "--no-energy", "--threads", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let study: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("study.json")).unwrap()).unwrap();
    let v = study["variants"].as_array().unwrap();
    assert_eq!(v.len(), 1);
    for key in ["bits_per_weight", "file_bytes", "peak_rss_bytes", "ttft_ms", "prefill_tokens_per_s", "decode_tokens_per_s", "ppl", "qa_f1"] {
        assert!(!v[0][key].is_null(), "{key} missing: {}", v[0]);
    }
    assert!(study["note"].as_str().unwrap().contains("requantized"), "SmolLM2 ships as Q4_1: the study says its variants are requantized");
    let page = std::fs::read_to_string(dir.path().join("study.html")).unwrap();
    // Quality, perplexity and speed charts; without --energy the energy one says it has no data.
    assert_eq!(page.matches("<svg").count(), 3, "{page}");
    assert!(page.contains("Tokens per joule vs bits per weight") && page.contains("no data"));
    assert!(page.contains("<td>Q4_0</td>"));
}

#[test]
fn study_from_device_merges_phone_runs_and_host_quality() {
    // The layout scripts/profile-battery.sh --study writes (no phone here:
    // the runs are what the sample app's bench mode writes, abridged).
    let dir = tempfile::tempdir().unwrap();
    for (ty, bpw, tpj, f1) in [("Q8_0", 8.5, 20.0, 30.0), ("Q4_0", 4.5, 35.0, 25.0)] {
        let v = dir.path().join(ty);
        std::fs::create_dir_all(&v).unwrap();
        std::fs::write(v.join("quantize.json"), format!(r#"{{"bits_per_weight": {bpw}, "bytes_out": 1000, "requantized": 0}}"#)).unwrap();
        let run = format!(r#"{{"prefill_tokens_per_s": 100.0, "decode_tokens_per_s": 20.0, "energy": {{"valid": true, "tokens_per_joule": {tpj}, "joules_per_token": {}, "uncertainty_pct": 5.0, "source": "android-batterymanager"}}}}"#, 1.0 / tpj);
        let bad = r#"{"prefill_tokens_per_s": 1.0, "decode_tokens_per_s": 1.0, "energy": {"valid": false, "tokens_per_joule": 999.0}}"#;
        std::fs::write(v.join("runs.json"), format!(r#"{{"runs": [{run}, {run}, {bad}]}}"#)).unwrap();
        std::fs::write(v.join("eval.json"), format!(r#"{{"ppl": 10.0, "qa_exact_match": 0.0, "qa_f1": {f1}, "items": 171}}"#)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(["study", "--from-device", dir.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let study: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("study.json")).unwrap()).unwrap();
    let v = study["variants"].as_array().unwrap();
    assert_eq!(v[0]["type"], "Q8_0", "sorted by bits, highest first");
    assert_eq!(v[1]["tokens_per_joule"], 35.0, "invalid runs (the charger was in) are left out");
    assert_eq!(v[1]["valid_runs"], 2);
    assert!(std::fs::read_to_string(out.path().join("study.html")).unwrap().contains("<td>Q4_0</td>"));
}
