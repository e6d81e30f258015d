//! `mote quantize --model IN --type TYPE --out OUT`: the core's streaming
//! quantizer (byte-identical to llama.cpp's `llama-quantize`, see
//! `mote_core::quantize`), with a progress line and a summary.

use std::io::Write;
use std::path::PathBuf;

use mote_core::quantize::{quantize_file, recipe, QuantizeOptions, RECIPES};

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// Source GGUF (F32, F16, BF16, or quantized: then it is requantized, and said so).
    #[arg(long)]
    pub model: PathBuf,
    /// Q2_K Q3_K Q4_0 Q4_1 Q4_K Q5_0 Q5_1 Q5_K Q6_K Q8_0 (pure: every matrix that type,
    /// as `llama-quantize --pure`) or Q4_K_M Q5_K_M (llama.cpp's mixes).
    #[arg(long = "type")]
    pub ty: String,
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (0: all cores); the output does not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the report as JSON (per-tensor types, sizes, bits per weight).
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> CmdResult {
    let Some(r) = recipe(&a.ty) else {
        let names: Vec<&str> = RECIPES.iter().map(|r| r.name).collect();
        return Err(format!("unknown type '{}': one of {}", a.ty, names.join(" ")).into());
    };
    let options = QuantizeOptions { threads: a.threads, cancel: None };
    let quiet = a.json;
    let report = quantize_file(&a.model, &a.out, r, &options, &mut |i, n, name| {
        if !quiet {
            eprint!("\r[{:>4}/{n}] {name:<48}", i + 1);
            let _ = std::io::stderr().flush();
        }
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    eprintln!();
    let mut by_type = std::collections::BTreeMap::<String, (usize, u64)>::new();
    for t in &report.tensors {
        let e = by_type.entry(t.to.clone()).or_default();
        e.0 += 1;
        e.1 += t.elements;
    }
    let total: u64 = report.tensors.iter().map(|t| t.elements).sum();
    println!("{} → {} ({})", a.model.display(), a.out.display(), report.recipe);
    for (ty, (n, e)) in &by_type {
        println!("  {ty:<6} {n:>4} tensors, {:5.1} % of weights", *e as f64 * 100.0 / total.max(1) as f64);
    }
    println!(
        "  {:.2} MB → {:.2} MB, {:.3} bits per weight{}",
        report.bytes_in as f64 / 1e6,
        report.bytes_out as f64 / 1e6,
        report.bits_per_weight,
        if report.requantized > 0 {
            format!(", {} tensors requantized from an already quantized type", report.requantized)
        } else {
            String::new()
        }
    );
    Ok(())
}
