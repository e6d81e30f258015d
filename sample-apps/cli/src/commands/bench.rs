//! `mote bench`: prompt-processing (pp) and token-generation (tg) speed the
//! way llama-bench measures them, so the two can be compared side by side:
//! pp prefills N tokens into an empty cache; tg then decodes N tokens one at a time.

use std::path::PathBuf;
use std::time::Instant;

use mote_core::sampling::argmax;

use super::{energy, load, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    model: PathBuf,
    #[arg(long, default_value_t = 128)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 128)]
    gen_tokens: usize,
    /// KV cache type: f16 (default), f32 or q8_0.
    #[arg(long, default_value = "f16", value_parser = super::kv_type)]
    kv_type: mote_core::KvType,
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[arg(long, default_value_t = 3)]
    reps: usize,
    #[arg(long)]
    json: bool,
    /// Also measure energy (an extra run between idle windows) and write a report input file.
    #[arg(long)]
    energy: bool,
    /// Where `--energy` writes its runs, for `mote report`.
    #[arg(long, default_value = "mote-energy.json")]
    energy_out: PathBuf,
    /// Also decode under this JSON Schema (structured output) and report its
    /// speed as a ratio to unconstrained decode, reps interleaved.
    #[arg(long)]
    schema: Option<PathBuf>,
}

#[derive(serde::Serialize)]
pub struct Spread {
    pub mean: f64,
    stddev: f64,
    min: f64,
    max: f64,
}

fn spread(v: &[f64]) -> Spread {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Spread {
        mean,
        stddev: var.sqrt(),
        min: v.iter().copied().fold(f64::INFINITY, f64::min),
        max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

pub fn run(a: Args) -> CmdResult {
    if a.reps == 0 || a.prompt_tokens == 0 {
        return Err("--reps and --prompt-tokens must be at least 1".into());
    }
    // Checked: the sum is the context to allocate, and the load refuses one
    // beyond the model's (a wrapped sum would slip past that check).
    let ctx = a
        .prompt_tokens
        .checked_add(a.gen_tokens)
        .and_then(|n| n.checked_add(1))
        .ok_or("--prompt-tokens + --gen-tokens overflows")?;
    let engine = load(&a.model, a.threads, ctx.max(16), a.kv_type)?;
    let l = engine.loaded()?;
    let vocab = l.model.config().vocab_size as u64;
    // A fixed, ordinary-looking token sequence: every rep does identical work.
    // It skips the first and last 100 ids (often special) when the vocabulary is large enough.
    let (lo, span) = if vocab > 300 { (100, vocab - 200) } else { (0, vocab.max(1)) };
    let prompt: Vec<u32> = (0..a.prompt_tokens as u64).map(|i| (lo + i * 7919 % span) as u32).collect();

    let schema = match &a.schema {
        Some(p) => {
            let s = super::generate::read_schema(p)?;
            let structured = mote_structured::Structured::new(&l.tokenizer)?;
            // Compiled once up front so a bad schema fails before any timing.
            structured.constraint(&mote_structured::Grammar::JsonSchema(s.clone()))?;
            Some((structured, mote_structured::Grammar::JsonSchema(s)))
        }
        None => None,
    };
    let mut constrained = Vec::new();
    let (mut pp, mut tg, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
    // One unmeasured warm-up pass pages the weights in, as llama-bench does.
    for rep in 0..=a.reps {
        let mut cache = l.model.new_cache(ctx);
        let t0 = Instant::now();
        let logits = l.model.forward(&prompt, &mut cache, false)?;
        let mut next = argmax(logits.last());
        let t_pp = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        for _ in 0..a.gen_tokens {
            let logits = l.model.forward(&[next], &mut cache, false)?;
            next = argmax(logits.last());
        }
        let t_tg = t1.elapsed().as_secs_f64();
        if let (Some((s, g)), true, true) = (&schema, rep > 0, a.gen_tokens > 0) {
            constrained.push(super::bench_schema::decode(&l, s, g, &prompt, a.gen_tokens, ctx)?);
        }
        if rep > 0 {
            pp.push(a.prompt_tokens as f64 / t_pp);
            ttft.push(t_pp * 1e3);
            if a.gen_tokens > 0 {
                tg.push(a.gen_tokens as f64 / t_tg);
            }
        }
    }
    let (pp, tg, ttft) = (spread(&pp), spread(&tg), spread(&ttft));
    let energy = if a.energy {
        let run = energy::measure(&l, &prompt, a.gen_tokens, ctx)?;
        let record = energy::record(&engine, &a.model, &pp, &tg, run);
        let e = record.energy.clone();
        energy::append(&a.energy_out, record)?;
        Some(e)
    } else {
        None
    };
    let peak = mote_core::sys::peak_rss_bytes();
    let schema_json = (!constrained.is_empty()).then(|| {
        let tps = spread(&constrained.iter().map(|r| r.tokens_per_s).collect::<Vec<_>>());
        let mean = |f: fn(&super::bench_schema::Run) -> f64| constrained.iter().map(f).sum::<f64>() / constrained.len() as f64;
        serde_json::json!({
            "decode_tokens_per_s": tps.mean,
            "ratio_to_unconstrained": if tg.mean > 0.0 { tps.mean / tg.mean } else { 0.0 },
            "constraint_us_per_token": mean(|r| r.constraint_us_per_token),
            "compile_ms": mean(|r| r.compile_ms),
            "decode": tps,
        })
    });
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": a.model,
                "threads": a.threads,
                "prompt_tokens": a.prompt_tokens,
                "gen_tokens": a.gen_tokens,
                "reps": a.reps,
                "kv_type": engine.kv_type().name(),
                "prefill_tokens_per_s": pp.mean,
                "decode_tokens_per_s": tg.mean,
                "ttft_ms": ttft.mean,
                "peak_rss_bytes": peak,
                "prefill": pp,
                "decode": tg,
                "ttft": ttft,
                "schema": schema_json,
                "energy": energy.as_ref().map(|e| serde_json::json!({
                    "source": e.source,
                    "estimate": e.estimate,
                    "joules_per_token": e.joules_per_token,
                    "tokens_per_joule": e.tokens_per_joule,
                    "avg_watts": e.avg_watts,
                    "uncertainty_pct": e.uncertainty_pct,
                    "joules": e.joules,
                    "mah": e.mah,
                    "battery_pct_per_hour": e.battery_pct_per_hour,
                    "valid": e.valid,
                    "low_confidence": e.low_confidence,
                    "flags": e.flags,
                })),
            })
        );
    } else {
        println!("pp{:<5} {:>8.1} ± {:.1} tok/s", a.prompt_tokens, pp.mean, pp.stddev);
        println!("tg{:<5} {:>8.1} ± {:.1} tok/s", a.gen_tokens, tg.mean, tg.stddev);
        println!("ttft    {:>8.1} ms", ttft.mean);
        if let Some(s) = &schema_json {
            println!(
                "tg{:<5} {:>8.1} tok/s under the schema: {:.3}× unconstrained, {:.0} µs/token in the constraint, {:.1} ms to compile",
                a.gen_tokens, s["decode_tokens_per_s"].as_f64().unwrap_or(0.0), s["ratio_to_unconstrained"].as_f64().unwrap_or(0.0),
                s["constraint_us_per_token"].as_f64().unwrap_or(0.0), s["compile_ms"].as_f64().unwrap_or(0.0)
            );
        }
        println!("peak RSS {:.1} MiB", peak as f64 / 1048576.0);
        if let Some(e) = &energy {
            println!(
                "energy  {:.4} J/token, {:.1} tokens/J, {:.2} W avg ± {:.0} % ({}{}){}",
                e.joules_per_token, e.tokens_per_joule, e.avg_watts, e.uncertainty_pct, e.source,
                if e.estimate { ", estimate" } else { "" },
                if e.valid { String::new() } else { format!(" INVALID: {}", e.flags.join(", ")) }
            );
            println!("energy runs appended to {}", a.energy_out.display());
        }
    }
    Ok(())
}
