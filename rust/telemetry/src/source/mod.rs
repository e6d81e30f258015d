//! Where power readings come from. Each platform gets the best source it has;
//! mobile layers push readings in through [`PushSource`].

mod cpu_model;
mod power_supply;
mod push;
mod rapl;

use std::path::Path;

pub use cpu_model::{CpuModelConfig, CpuModelSource};
pub use power_supply::PowerSupplySource;
pub use push::{PushHandle, PushSource};
pub use rapl::RaplSource;

use crate::error::TelemetryError;
use crate::sample::Sample;

pub trait EnergySource: Send {
    fn name(&self) -> &str;
    /// True when readings come from a model rather than a meter.
    fn is_estimate(&self) -> bool;
    /// One reading, or `None` when nothing could be read this time.
    fn sample(&mut self) -> Option<Sample>;
    /// How many samples one poll of the sampler may drain. Meters produce a
    /// fresh reading per call, so one; push sources buffer between polls.
    fn max_per_poll(&self) -> usize {
        1
    }
}

/// The most trustworthy source this machine offers: a battery meter, then
/// RAPL package counters, then the CPU-time model (an estimate).
pub fn auto_source() -> Result<Box<dyn EnergySource>, TelemetryError> {
    auto_source_from(
        Path::new(power_supply::DEFAULT_ROOT),
        Path::new(rapl::DEFAULT_ROOT),
    )
}

fn auto_source_from(
    power_root: &Path,
    rapl_root: &Path,
) -> Result<Box<dyn EnergySource>, TelemetryError> {
    if let Some(mut s) = PowerSupplySource::discover(power_root) {
        if s.sample().and_then(|x| x.power_w()).is_some() {
            return Ok(Box::new(s));
        }
    }
    if let Ok(s) = RaplSource::open(rapl_root) {
        return Ok(Box::new(s));
    }
    match CpuModelSource::new(CpuModelConfig::default()) {
        Ok(s) => Ok(Box::new(s)),
        Err(e) => {
            log::debug!("cpu model unavailable: {e}");
            Err(TelemetryError::NoSource)
        }
    }
}

fn read_trimmed(path: &Path) -> Result<String, TelemetryError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| TelemetryError::io(path, e))
}

fn read_f64(path: &Path) -> Result<f64, TelemetryError> {
    let text = read_trimmed(path)?;
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| TelemetryError::Parse {
            what: path.display().to_string(),
            value: text,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn names(power: &Path, rapl: &Path) -> (String, bool) {
        let s = auto_source_from(power, rapl).unwrap();
        (s.name().to_string(), s.is_estimate())
    }

    #[test]
    fn prefers_battery_then_rapl_then_cpu_model() {
        let power = tempfile::tempdir().unwrap();
        let rapl = tempfile::tempdir().unwrap();
        assert_eq!(
            names(power.path(), rapl.path()),
            ("cpu-time-model".to_string(), true)
        );

        let zone = rapl.path().join("intel-rapl:0");
        fs::create_dir(&zone).unwrap();
        fs::write(zone.join("energy_uj"), "5").unwrap();
        assert_eq!(
            names(power.path(), rapl.path()),
            ("rapl".to_string(), false)
        );

        let bat = power.path().join("BAT0");
        fs::create_dir(&bat).unwrap();
        fs::write(bat.join("type"), "Battery").unwrap();
        fs::write(bat.join("power_now"), "7000000").unwrap();
        assert_eq!(
            names(power.path(), rapl.path()),
            ("power_supply:BAT0".to_string(), false)
        );
    }

    #[test]
    fn a_battery_without_readable_power_is_skipped() {
        let power = tempfile::tempdir().unwrap();
        let bat = power.path().join("BAT0");
        fs::create_dir(&bat).unwrap();
        fs::write(bat.join("type"), "Battery").unwrap();
        fs::write(bat.join("current_now"), "garbage").unwrap();
        assert_eq!(
            names(power.path(), &power.path().join("none")).0,
            "cpu-time-model"
        );
    }
}
