//! `mote report`: energy runs in, one self-contained HTML page out.

use std::path::Path;

use mote_telemetry::{render_html, ReportData};

use super::CmdResult;

pub fn run(input: &Path, out: &Path) -> CmdResult {
    let bytes = std::fs::read(input).map_err(|e| format!("read {}: {e}", input.display()))?;
    let data: ReportData = serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a report input: {e}", input.display()))?;
    std::fs::write(out, render_html(&data)).map_err(|e| format!("write {}: {e}", out.display()))?;
    eprintln!("wrote {} ({} runs)", out.display(), data.runs.len());
    Ok(())
}
