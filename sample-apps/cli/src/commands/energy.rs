//! Energy for `mote bench --energy`: one generation between idle windows,
//! sampled by the best source this machine has, integrated with the idle
//! baseline subtracted.

use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use mote_core::engine::Loaded;
use mote_core::sampling::argmax;
use mote_core::Engine;
use mote_telemetry::{auto_source, Integrator, Phase, ReportData, RunRecord, Sampler, SamplerConfig, Trace};

use super::bench::Spread;

/// Long enough for a few samples at the sampler's interval on either side.
const IDLE: Duration = Duration::from_millis(1500);

pub struct Run {
    trace: Trace,
    tokens: u64,
}

pub fn measure(l: &Loaded, prompt: &[u32], gen_tokens: usize, ctx: usize) -> Result<Run, Box<dyn std::error::Error>> {
    let source = auto_source()?;
    let sampler = Sampler::start(source, SamplerConfig { interval: Duration::from_millis(50), ..Default::default() })?;
    sampler.mark(Phase::IdleBefore);
    sleep(IDLE);
    sampler.mark(Phase::Prefill);
    let mut cache = l.model.new_cache(ctx);
    let logits = l.model.forward(prompt, &mut cache, false)?;
    let mut next = argmax(logits.last());
    sampler.mark(Phase::Decode);
    for _ in 0..gen_tokens {
        let logits = l.model.forward(&[next], &mut cache, false)?;
        next = argmax(logits.last());
    }
    sampler.mark(Phase::IdleAfter);
    sleep(IDLE);
    Ok(Run { trace: sampler.stop(), tokens: gen_tokens as u64 })
}

pub fn record(engine: &Engine, model: &Path, pp: &Spread, tg: &Spread, run: Run) -> RunRecord {
    let info = engine.info();
    let energy = match Integrator::default().integrate(&run.trace, run.tokens) {
        Ok(e) => e,
        Err(e) => {
            // Keep the run in the report, visibly unusable, rather than drop it.
            mote_telemetry::EnergyReport {
                source: run.trace.source.clone(),
                estimate: run.trace.estimate,
                valid: false,
                flags: vec![format!("integration failed: {e}")],
                ..Default::default()
            }
        }
    };
    // Without a file type, the quant type holding most parameters names the file.
    let quant = info.file_type.clone().or_else(|| {
        info.quant_types.iter().filter(|(k, _)| *k != "F32").max_by_key(|(_, v)| **v).map(|(k, _)| k.clone())
    });
    RunRecord {
        model: if info.name.is_empty() { model.display().to_string() } else { info.name.clone() },
        quant: quant.unwrap_or_default(),
        bits_per_weight: info.bits_per_weight,
        prefill_tokens_per_s: pp.mean,
        decode_tokens_per_s: tg.mean,
        energy,
        trace: run.trace,
    }
}

/// Appends to the report input so runs over several models collect in one file.
pub fn append(path: &Path, run: RunRecord) -> Result<(), Box<dyn std::error::Error>> {
    let mut data: ReportData = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a report input: {e}", path.display()))?,
        Err(_) => ReportData::default(),
    };
    data.runs.push(run);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&data)?).map_err(|e| format!("write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
