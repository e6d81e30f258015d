//! `mote eval --model PATH [--json]`: perplexity plus SQuAD-style extractive
//! QA (exact match and F1), greedy, on the set that ships with Mote
//! (data/qa/squad-mini.json: public-domain and CC0 passages, see SOURCES.md).

use std::io::Write;
use std::path::PathBuf;

use mote_core::eval::{run_qa, QaScore, QaSet};
use mote_core::perplexity::perplexity;
use mote_core::{CancelToken, Engine, KvType, LoadOptions};

use super::CmdResult;

pub const BUILTIN_QA: &str = include_str!("../../data/qa/squad-mini.json");

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub json: bool,
    /// A QA set in the same JSON format (default: the built-in one).
    #[arg(long)]
    pub qa: Option<PathBuf>,
    /// Perplexity text (default: the QA set's passages).
    #[arg(long)]
    pub ppl_file: Option<PathBuf>,
    #[arg(long, default_value_t = 256)]
    pub ctx: usize,
    /// Answer only the first N items (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub struct Quality {
    pub ppl: f64,
    pub ppl_tokens: usize,
    pub qa: QaScore,
}

/// Loads `model` and measures both probes (shared with `mote study`).
pub fn measure(a: &Args, progress: bool) -> Result<Quality, Box<dyn std::error::Error>> {
    let mut set = match &a.qa {
        Some(p) => QaSet::from_json(&std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?)?,
        None => QaSet::from_json(BUILTIN_QA)?,
    };
    let text = match &a.ppl_file {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => set.text(),
    };
    if a.limit > 0 {
        set.items.truncate(a.limit);
    }
    let ctx = a.ctx.max(512);
    let engine = Engine::load(&a.model, LoadOptions { threads: a.threads, context_length: ctx, kv_type: KvType::F16, ..Default::default() })?;
    let p = perplexity(&engine, &text, a.ctx)?;
    let qa = run_qa(&engine, &set, &CancelToken::new(), &mut |i, n| {
        if progress {
            eprint!("\rQA {i}/{n}");
            let _ = std::io::stderr().flush();
        }
    })?;
    if progress {
        eprintln!();
    }
    Ok(Quality { ppl: p.ppl, ppl_tokens: p.tokens, qa })
}

pub fn run(a: Args) -> CmdResult {
    let q = measure(&a, !a.json)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ppl": q.ppl,
                "ppl_tokens": q.ppl_tokens,
                "qa_exact_match": q.qa.exact_match,
                "qa_f1": q.qa.f1,
                "items": q.qa.items,
                "answers": q.qa.answers,
            }))?
        );
    } else {
        println!("perplexity {:.4} over {} tokens (ctx {})", q.ppl, q.ppl_tokens, a.ctx);
        println!("QA: exact match {:.1} %, F1 {:.1} % over {} items", q.qa.exact_match, q.qa.f1, q.qa.items);
    }
    Ok(())
}
