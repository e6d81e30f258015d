//! `mote lifecycle`: the whole memory cycle an app goes through when it is
//! backgrounded under pressure, measured: chat, full release, restore, continue,
//! and compare with an engine that was never released.

use std::path::PathBuf;
use std::time::Instant;

use mote_core::memory::accounting::process_footprint_bytes;
use mote_core::memory::{Actions, MemoryPolicy, PressureLevel};
use mote_core::{CancelToken, GenerationConfig, Session};

use super::{load, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// A first turn long enough that re-prefilling it costs real time.
const FIRST: &str = "I am planning a week-long trip along the coast. I like quiet beaches, small fishing villages, \
long walks on cliffs, fresh seafood, old lighthouses and local markets. I do not like crowds, loud bars or long drives. \
I will travel by train and bus, and I can walk up to fifteen kilometres a day. Please suggest a plan for the first day.";
const SECOND: &str = "What should I pack for that day?";

fn send(s: &Session, text: &str) -> Result<(String, f64), mote_core::Error> {
    let cfg = GenerationConfig { max_tokens: 24, ..GenerationConfig::greedy() };
    let r = s.send(text, &cfg, &CancelToken::new(), &mut |_| {})?;
    Ok((r.text, r.stats.ttft_ms))
}

pub fn run(a: Args) -> CmdResult {
    let snapshots = std::env::temp_dir().join(format!("mote-lifecycle-{}", std::process::id()));
    let engine = load(&a.model, a.threads, 1024, Default::default())?;
    engine.set_memory_policy(MemoryPolicy { snapshot_dir: Some(snapshots.clone()), ..Default::default() });
    let session = engine.new_session();
    let (first_reply, _) = send(&session, FIRST)?;
    let rss_loaded = process_footprint_bytes();

    let report = engine.on_memory_pressure(PressureLevel::Complete);
    let rss_released = process_footprint_bytes();

    // Weights come back first, timed on their own, so the TTFTs below compare
    // restoring the KV cache against re-prefilling the conversation.
    let t = Instant::now();
    engine.loaded()?;
    let reload_ms = t.elapsed().as_secs_f64() * 1e3;
    let (restored_reply, restore_ttft_ms) = send(&session, SECOND)?;

    // The reference: the same conversation on a session never released.
    let unreleased = engine.new_session();
    let (ref_first, _) = send(&unreleased, FIRST)?;
    let (ref_second, _) = send(&unreleased, SECOND)?;

    // A session whose KV cache is dropped with no snapshot re-prefills the conversation.
    engine.set_memory_policy(MemoryPolicy::default());
    let reprefilled = engine.new_session();
    send(&reprefilled, FIRST)?;
    engine.release(Actions { drop_kv_cache: true, ..Default::default() });
    let (_, reprefill_ttft_ms) = send(&reprefilled, SECOND)?;
    let continuation_equal = first_reply == ref_first && restored_reply == ref_second;
    let _ = std::fs::remove_dir_all(&snapshots);

    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "rss_loaded_bytes": rss_loaded,
                "rss_released_bytes": rss_released,
                "continuation_equal": continuation_equal,
                "restore_ttft_ms": restore_ttft_ms,
                "reprefill_ttft_ms": reprefill_ttft_ms,
                "weights_reload_ms": reload_ms,
                "snapshots_written": report.snapshots_written,
                "release": report,
            })
        );
    } else {
        let mib = |b: u64| b as f64 / 1048576.0;
        println!("first reply:        {first_reply:?}");
        println!("RSS loaded:         {:.1} MiB", mib(rss_loaded));
        println!("RSS after release:  {:.1} MiB ({} snapshot written)", mib(rss_released), report.snapshots_written);
        println!("weights reload:     {reload_ms:.0} ms");
        println!("continued reply:    {restored_reply:?}");
        println!("equal to unreleased engine: {continuation_equal}");
        println!("TTFT after restore: {restore_ttft_ms:.0} ms; after re-prefill: {reprefill_ttft_ms:.0} ms");
    }
    Ok(())
}
