//! `mote chat`: an interactive multi-turn chat in the terminal. Ctrl-C stops
//! the reply being written; at the prompt it quits.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mote_core::{CancelToken, Error};

use super::generate::config;
use super::{load, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// A GGUF model; defaults to SmolLM2-135M-Instruct Q4_1, fetched on first use.
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long)]
    system: Option<String>,
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, default_value_t = 512)]
    max_tokens: u32,
    /// KV cache type: f16 (default), f32 or q8_0.
    #[arg(long, default_value = "f16", value_parser = super::kv_type)]
    kv_type: mote_core::KvType,
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[arg(long, default_value_t = 0)]
    ctx: usize,
    /// Print speed and memory after each reply.
    #[arg(long)]
    stats: bool,
    /// Functions the model may call (a JSON array of function specs, each
    /// with a canned "result" the CLI answers with); see `chat_tools.rs`.
    #[arg(long)]
    tools: Option<PathBuf>,
    /// With --tools: auto (the model decides), required (its first reply
    /// each turn is a call), none, or a tool's name.
    #[arg(long, default_value = "auto")]
    tool_choice: String,
}

pub fn run(a: Args) -> CmdResult {
    let path = match a.model {
        Some(p) => p,
        None => default_model()?,
    };
    let engine = load(&path, a.threads, a.ctx, a.kv_type)?;
    let info = engine.info();
    eprintln!(
        "{} ({}, {:.0} M parameters, context {}). /reset clears the chat, /quit leaves; Ctrl-C stops a reply.",
        if info.name.is_empty() { &info.architecture } else { &info.name },
        info.architecture,
        info.parameters as f64 / 1e6,
        engine.context_length()
    );
    if let Some(tools) = &a.tools {
        let choice = match a.tool_choice.as_str() {
            "auto" => mote_structured::ToolChoice::Auto,
            "required" => mote_structured::ToolChoice::Required,
            "none" => mote_structured::ToolChoice::None,
            name => mote_structured::ToolChoice::Named(name.to_string()),
        };
        return super::chat_tools::run(&engine, tools, choice, a.system, a.max_tokens);
    }
    let session = engine.new_session();
    session.set_system_prompt(a.system)?;
    let cfg = config(a.temperature, a.seed, a.max_tokens, None, None, None, None);

    // The handler cancels whatever reply is running; with none, it quits.
    let current: Arc<Mutex<Option<CancelToken>>> = Arc::default();
    let handler_slot = current.clone();
    crate::interrupt::on_ctrl_c(move || match handler_slot.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(t) => t.cancel(),
        None => std::process::exit(130),
    })?;

    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" | "/exit" => break,
            "/reset" => {
                session.reset()?;
                eprintln!("(chat cleared)");
                continue;
            }
            _ => {}
        }
        let cancel = CancelToken::new();
        *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(cancel.clone());
        let result = session.send(line, &cfg, &cancel, &mut |piece| {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
        });
        *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        println!();
        match result {
            Ok(reply) if a.stats => {
                let s = &reply.stats;
                eprintln!(
                    "[{} prompt tokens ({} cached), {} generated, TTFT {:.0} ms, prefill {:.1} tok/s, decode {:.1} tok/s, peak RSS {:.0} MiB]",
                    s.prompt_tokens, s.cached_prompt_tokens, s.generated_tokens, s.ttft_ms,
                    s.prefill_tokens_per_s, s.decode_tokens_per_s, s.peak_rss_bytes as f64 / 1048576.0
                );
            }
            Ok(_) => {}
            Err(Error::Cancelled) => eprintln!("(stopped)"),
            Err(e @ (Error::PromptTooLong { .. } | Error::ContextFull { .. })) => {
                eprintln!("({e}; use /reset to start over)");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The default model through the model manager: installed (and verified) on
/// first use from the built-in catalogue, resumable if interrupted.
fn default_model() -> Result<PathBuf, Box<dyn std::error::Error>> {
    const DEFAULT: &str = "smollm2-135m-instruct-q4_1";
    let m = mote_models::Manager::open(&mote_models::default_dir())?;
    if let Ok(path) = m.resolve(DEFAULT) {
        return Ok(path);
    }
    eprintln!("Fetching the default model (first use only)…");
    let pulled = super::models::with_progress(&m, |m, cancel, progress| Ok(m.pull_entry(DEFAULT, None, cancel, progress)?))?;
    Ok(pulled.version.path)
}
