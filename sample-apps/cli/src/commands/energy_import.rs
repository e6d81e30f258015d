//! `mote energy import FILE [--json] [--baseline W|FILE]`: the energy of a
//! battery log recorded on a phone by another tool (Android BatteryManager
//! CSV or logcat `stats =>` lines), over its whole length.

use std::path::{Path, PathBuf};

use mote_telemetry::import::{parse_batterymanager, parse_logcat_stats, whole_trace, DEFAULT_LOGCAT_COLUMNS};
use mote_telemetry::Trace;

use super::CmdResult;

#[derive(clap::Args)]
pub struct EnergyArgs {
    #[command(subcommand)]
    pub command: EnergyCommand,
}

#[derive(clap::Subcommand)]
pub enum EnergyCommand {
    /// Energy of a recorded Android battery log (BatteryManager CSV or logcat).
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Subtract a baseline: a power in watts, or another log whose mean power is used.
        #[arg(long)]
        baseline: Option<String>,
        /// Column order of logcat `stats =>` lines (comma-separated).
        #[arg(long, default_value = "Timestamp,BATTERY_PROPERTY_CURRENT_NOW,EXTRA_VOLTAGE")]
        columns: String,
    },
}

/// Logs over this size are refused: a day of 10 Hz readings is ~30 MB.
const MAX_LOG_BYTES: u64 = 512 << 20;

fn read_trace(path: &Path, columns: &str) -> Result<Trace, Box<dyn std::error::Error>> {
    let len = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    if len > MAX_LOG_BYTES {
        return Err(format!("{}: {len} bytes is more than a battery log holds", path.display()).into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let trace = if text.contains("stats => ") {
        let cols: Vec<&str> = columns.split(',').map(str::trim).collect();
        let cols = if cols.is_empty() { DEFAULT_LOGCAT_COLUMNS.to_vec() } else { cols };
        parse_logcat_stats(&text, &cols)?
    } else {
        parse_batterymanager(&text)?
    };
    Ok(trace)
}

pub fn run(a: EnergyArgs) -> CmdResult {
    let EnergyCommand::Import { file, json, baseline, columns } = a.command;
    let baseline_w = match baseline {
        None => None,
        Some(b) => Some(match b.parse::<f64>() {
            Ok(w) => w,
            Err(_) => {
                let base = whole_trace(read_trace(Path::new(&b), &columns)?, None)?;
                base.avg_power_w.ok_or("the baseline log was taken while charging")?
            }
        }),
    };
    let e = whole_trace(read_trace(&file, &columns)?, baseline_w)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    println!("{}: {} samples over {:.1} s, current in {}", file.display(), e.samples, e.duration_s, e.unit_detected);
    match (e.energy_j, e.avg_power_w) {
        (Some(j), Some(w)) => println!("  {j:.3} J, {w:.3} W average{}", baseline_w.map_or(String::new(), |b| format!(" (baseline {b:.3} W subtracted)"))),
        _ => println!("  charging: {:.3} J went into the battery; no consumption figure", e.charge_energy_j.unwrap_or(0.0)),
    }
    for f in &e.flags {
        println!("  flag: {f}");
    }
    Ok(())
}
