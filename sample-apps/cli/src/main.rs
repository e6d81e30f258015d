//! `mote`: the desktop sample app. It runs the same core as the mobile SDKs:
//! chat with a model, one-shot generation, tokenization, perplexity, model
//! info and benchmarks.

mod commands;
mod interrupt;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mote", version, about = "On-device LLM chat: the Mote engine on the desktop")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Interactive chat. Without --model, uses SmolLM2-135M-Instruct (fetched on first use).
    Chat(commands::chat::Args),
    /// Generate a continuation for one prompt.
    Generate(commands::generate::Args),
    /// Print the token ids of a text as a JSON array. Special-token texts
    /// (`<|im_end|>`) are parsed, as llama-tokenize does; chat turns never parse them in messages.
    Tokenize {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        text: String,
    },
    /// Perplexity of a text file, computed as llama.cpp's llama-perplexity does.
    Perplexity {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        file: PathBuf,
        #[arg(long, default_value_t = 512)]
        ctx: usize,
        /// KV cache type: f16 (default), f32 or q8_0.
        #[arg(long, default_value = "f16", value_parser = commands::kv_type)]
        kv_type: mote_core::KvType,
    },
    /// Describe a model file.
    Info {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Prefill and decode speed, llama-bench style; `--energy` adds joules per token.
    Bench(commands::bench::Args),
    /// Demonstrate a full memory release and restore, with RSS and TTFT figures.
    Lifecycle(commands::lifecycle::Args),
    /// Manage installed models: list, pull (resumable, verified), rm, verify, use, gc, catalogue.
    Models(commands::models::Args),
    /// Battery logs recorded on a phone: `mote energy import FILE [--json] [--baseline W|FILE]`.
    Energy(commands::energy_import::EnergyArgs),
    /// Quality: perplexity plus SQuAD-style extractive QA (exact match, F1), greedy.
    Eval(commands::eval::Args),
    /// Quantize to each type and measure bits, speed, energy and quality: study.json + study.html.
    Study(commands::study::Args),
    /// Quantize a GGUF model (byte-identical to llama.cpp's llama-quantize without an imatrix).
    Quantize(commands::quantize::Args),
    /// Render energy runs (from `mote bench --energy` or a phone) as a self-contained HTML page.
    Report {
        #[arg(long, default_value = "mote-energy.json")]
        input: PathBuf,
        #[arg(long, default_value = "mote-report.html")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Chat(a) => commands::chat::run(a),
        Command::Generate(a) => commands::generate::run(a),
        Command::Tokenize { model, text } => commands::misc::tokenize(&model, &text),
        Command::Perplexity { model, file, ctx, kv_type } => commands::misc::perplexity(&model, &file, ctx, kv_type),
        Command::Info { model, json } => commands::misc::info(&model, json),
        Command::Bench(a) => commands::bench::run(a),
        Command::Lifecycle(a) => commands::lifecycle::run(a),
        Command::Report { input, out } => commands::report::run(&input, &out),
        Command::Models(a) => commands::models::run(a),
        Command::Quantize(a) => commands::quantize::run(a),
        Command::Energy(a) => commands::energy_import::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Study(a) => commands::study::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mote: {e}");
            ExitCode::FAILURE
        }
    }
}
