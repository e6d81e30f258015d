//! `mote models …`: the SDK's model manager (mote-models) on the command line.
//!
//! Contract (external checks rely on it):
//! - `mote models pull --url URL --sha256 HEX [--dir DIR] [--name NAME]`
//!   downloads (resuming any partial file in DIR), verifies and installs;
//!   prints the installed path last; exits 0 only when installed and verified.
//! - `mote models list [--dir DIR] --json`: installed models with name, path,
//!   size, sha256, version (and active, status).
//! - `--dir` defaults to the cache `mote chat` uses.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{Args as ClapArgs, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mote_models::{Catalogue, Manager, Progress};

use super::CmdResult;

#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(ClapArgs, Clone)]
struct DirArg {
    /// The model store (default: $MOTE_MODELS_DIR or ~/.cache/mote/models, as `mote chat`).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Installed models and their versions.
    List {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        json: bool,
    },
    /// Download (resuming), verify and install a model: by URL and SHA-256, or a catalogue id.
    Pull {
        #[arg(long, required_unless_present = "id", conflicts_with = "id")]
        url: Option<String>,
        #[arg(long)]
        sha256: Option<String>,
        /// A catalogue entry (see `mote models catalogue`).
        #[arg(long)]
        id: Option<String>,
        /// Install under this name (default: the URL's file name without .gguf, or the id).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Remove a model (all versions, or one).
    Rm {
        name: String,
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Re-hash installed files; exits non-zero if any is missing or changed.
    Verify {
        name: Option<String>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Activate a version after validating it (parse, load, one token); on failure the previous stays active.
    Use {
        name: String,
        /// Default: the newest version.
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Delete old versions: keeps the active one and the newest KEEP others.
    Gc {
        #[arg(long, default_value_t = 1)]
        keep: usize,
        #[command(flatten)]
        dir: DirArg,
    },
    /// The built-in catalogue (or --file), and what fits in --memory bytes.
    Catalogue {
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        memory: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

fn open(dir: &DirArg) -> Result<Manager, mote_models::ModelError> {
    Manager::open(&dir.dir.clone().unwrap_or_else(mote_models::default_dir))
}

pub fn run(a: Args) -> CmdResult {
    match a.command {
        Cmd::List { dir, json } => {
            let rows = open(&dir)?.store().list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                eprintln!("no models installed in {}", dir.dir.clone().unwrap_or_else(mote_models::default_dir).display());
            } else {
                for r in rows {
                    let mark = if r.active { "*" } else { " " };
                    println!("{mark} {}@{}  {:>8.1} MB  {:?}  {}  {}", r.name, r.version, r.size as f64 / 1e6, r.status, &r.sha256[..12], r.path.display());
                }
            }
            Ok(())
        }
        Cmd::Pull { url, sha256, id, name, dir } => {
            let m = open(&dir)?;
            let pulled = with_progress(&m, |m, cancel, progress| match (&url, &id) {
                (Some(url), _) => {
                    let sha = sha256.as_deref().ok_or("--sha256 is required with --url")?;
                    Ok(m.pull_url(url, sha, name.as_deref(), cancel, progress)?)
                }
                (None, Some(id)) => Ok(m.pull_entry(id, sha256.as_deref(), cancel, progress)?),
                (None, None) => Err("give --url and --sha256, or --id".into()),
            })?;
            for d in &pulled.downloads {
                eprintln!(
                    "downloaded {} bytes in {} request(s){}{}",
                    d.fetched,
                    d.requests,
                    if d.resumed_from > 0 { format!(", resumed from {} bytes", d.resumed_from) } else { String::new() },
                    if d.restarts > 0 { format!(", restarted {} time(s)", d.restarts) } else { String::new() }
                );
            }
            if pulled.downloads.is_empty() {
                eprintln!("already installed");
            }
            eprintln!("{}@{} verified (sha256 {})", pulled.name, pulled.version.version, pulled.version.sha256);
            println!("{}", pulled.version.path.display());
            Ok(())
        }
        Cmd::Rm { name, version, dir } => {
            for p in open(&dir)?.store().remove(&name, version)? {
                eprintln!("deleted {}", p.display());
            }
            Ok(())
        }
        Cmd::Verify { name, dir } => {
            let bad = open(&dir)?.store().verify(name.as_deref())?;
            for (n, v, why) in &bad {
                eprintln!("{n}@{v}: {why}");
            }
            if bad.is_empty() {
                eprintln!("all installed files match their SHA-256");
                Ok(())
            } else {
                Err(format!("{} file(s) missing or changed", bad.len()).into())
            }
        }
        Cmd::Use { name, version, dir } => {
            let m = open(&dir)?;
            let model = m.store().model(&name)?;
            let v = version.or_else(|| model.versions.iter().map(|v| v.version).max()).ok_or("no versions")?;
            let rec = m.activate(&name, v)?;
            eprintln!("{name}@{v} validated and active");
            println!("{}", rec.path.display());
            Ok(())
        }
        Cmd::Gc { keep, dir } => {
            for p in open(&dir)?.store().gc(keep)? {
                eprintln!("deleted {}", p.display());
            }
            Ok(())
        }
        Cmd::Catalogue { file, memory, json } => {
            let c = match file {
                Some(f) => Catalogue::from_json(&std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?)?,
                None => Catalogue::builtin(),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
                return Ok(());
            }
            for e in &c.entries {
                let pin = if e.is_pinned() { "pinned" } else { "unpinned" };
                println!("{:32} {:>6.2} B params  {:7} {:>7.0} MB  RAM@4k {:>6.0} MB  {pin}", e.id, e.parameters as f64 / 1e9, e.quant, e.size_bytes() as f64 / 1e6, e.ram_bytes(0) as f64 / 1e6);
            }
            if let Some(mem) = memory {
                match c.recommend(mem, 0, 0.5) {
                    Some(e) => println!("recommended for {mem} bytes (half of it for the model): {}", e.id),
                    None => println!("nothing fits in half of {mem} bytes"),
                }
            }
            Ok(())
        }
    }
}

/// Runs a pull with a progress bar; Ctrl-C pauses it (the partial file is kept for the next pull).
pub fn with_progress<T>(
    m: &Manager,
    f: impl FnOnce(&Manager, &AtomicBool, &mut dyn FnMut(Progress)) -> Result<T, Box<dyn std::error::Error>>,
) -> Result<T, Box<dyn std::error::Error>> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let _ = crate::interrupt::on_ctrl_c(move || flag.store(true, Ordering::Relaxed));
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = f(m, &cancel, &mut |p: Progress| {
        if let Some(t) = p.total {
            bar.set_length(t);
        }
        bar.set_position(p.downloaded);
    });
    bar.finish_and_clear();
    if let Err(e) = &result {
        if let Some(mote_models::ModelError::Cancelled) = e.downcast_ref::<mote_models::ModelError>() {
            eprintln!("paused: run the same command again to resume");
        }
    }
    result
}
