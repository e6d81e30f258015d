//! `mote generate`: one prompt, one continuation; `--json` for machines.

use std::io::Write;
use std::path::PathBuf;

use mote_core::{CancelToken, GenerationConfig};
use mote_structured::{Grammar, Structured};

use super::{load, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    prompt: String,
    /// Use the prompt as is, without the chat template (BOS per the model's
    /// metadata). Special-token texts in it become special tokens: you write the
    /// markup. Without --raw the prompt is a user message, where they are plain text.
    #[arg(long)]
    raw: bool,
    #[arg(long, default_value_t = 128)]
    max_tokens: u32,
    /// 0 is greedy decoding.
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    #[arg(long)]
    seed: Option<u64>,
    /// KV cache type: f16 (default), f32 or q8_0.
    #[arg(long, default_value = "f16", value_parser = super::kv_type)]
    kv_type: mote_core::KvType,
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Defaults to 1.1 when sampling and 1.0 (off) when greedy.
    #[arg(long)]
    repeat_penalty: Option<f32>,
    #[arg(long)]
    top_k: Option<u32>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long)]
    min_p: Option<f32>,
    /// Stop before this string (repeatable).
    #[arg(long)]
    stop: Vec<String>,
    #[arg(long, default_value_t = 0)]
    ctx: usize,
    /// Constrain the reply to this JSON Schema (a file): it always parses
    /// and validates. Without --raw the schema is also shown to the model.
    #[arg(long)]
    schema: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn config(
    temperature: f32,
    seed: Option<u64>,
    max_tokens: u32,
    repeat_penalty: Option<f32>,
    top_k: Option<u32>,
    top_p: Option<f32>,
    min_p: Option<f32>,
) -> GenerationConfig {
    // Passed through as given: a negative or NaN temperature is the core's
    // `InvalidArgument`, not a silent switch to greedy.
    let base = if temperature == 0.0 { GenerationConfig::greedy() } else { GenerationConfig::default() };
    GenerationConfig {
        temperature,
        seed,
        max_tokens,
        repetition_penalty: repeat_penalty.unwrap_or(base.repetition_penalty),
        top_k: top_k.unwrap_or(base.top_k),
        top_p: top_p.unwrap_or(base.top_p),
        min_p: min_p.unwrap_or(base.min_p),
        ..base
    }
}

pub fn run(a: Args) -> CmdResult {
    let engine = load(&a.model, a.threads, a.ctx, a.kv_type)?;
    let mut cfg = config(a.temperature, a.seed, a.max_tokens, a.repeat_penalty, a.top_k, a.top_p, a.min_p);
    cfg.stop = a.stop;
    let schema = a.schema.as_deref().map(read_schema).transpose()?;
    let mut constraint = match &schema {
        Some(s) => Some(Structured::new(&engine.text().0)?.constraint(&Grammar::JsonSchema(s.clone()))?),
        None => None,
    };
    let text = match &schema {
        Some(s) if !a.raw => mote_structured::with_schema(&a.prompt, s),
        _ => a.prompt.clone(),
    };
    let prompt = engine.prompt_tokens(&text, a.raw)?;
    let json = a.json;
    let mut out = std::io::stdout();
    let c = constraint.as_mut().map(|c| c as &mut dyn mote_core::Constraint);
    let g = engine.complete_constrained(&prompt, &cfg, &CancelToken::new(), c, &mut |piece| {
        if !json {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
        }
    })?;
    if json {
        let s = &g.stats;
        println!(
            "{}",
            serde_json::json!({
                "prompt_token_ids": prompt,
                "token_ids": g.tokens,
                "text": g.text,
                "finish": g.finish,
                "stats": {
                    "load_ms": s.load_ms,
                    "prompt_tokens": s.prompt_tokens,
                    "generated_tokens": s.generated_tokens,
                    "ttft_ms": s.ttft_ms,
                    "prefill_tokens_per_s": s.prefill_tokens_per_s,
                    "decode_tokens_per_s": s.decode_tokens_per_s,
                    "peak_rss_bytes": s.peak_rss_bytes,
                }
            })
        );
    } else {
        println!();
    }
    Ok(())
}

/// The JSON Schema in `path`; a file that is not JSON is the user's error, said plainly.
pub fn read_schema(path: &std::path::Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read schema {}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("schema {} is not JSON: {e}", path.display()))?)
}
