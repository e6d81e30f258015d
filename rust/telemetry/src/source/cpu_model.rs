//! A power *estimate* from this process's CPU time, for machines with no
//! meter (CI, containers, desktops without RAPL access):
//! `watts = idle_watts + watts_per_busy_core × busy cores`.

use std::path::{Path, PathBuf};

use super::{read_trimmed, EnergySource};
use crate::clock::now_ms;
use crate::error::TelemetryError;
use crate::sample::Sample;

/// `/proc/<pid>/stat` reports CPU time in USER_HZ, which the Linux ABI fixes
/// at 100 on every architecture regardless of the kernel's internal HZ.
const USER_HZ: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuModelConfig {
    pub watts_per_busy_core: f64,
    /// Attributed even when this process is idle (screen, radios, SoC floor).
    pub idle_watts: f64,
}

impl Default for CpuModelConfig {
    /// Rough mid-range phone big-core figures; override per device when known.
    fn default() -> Self {
        CpuModelConfig {
            watts_per_busy_core: 2.0,
            idle_watts: 0.5,
        }
    }
}

pub struct CpuModelSource {
    stat_path: PathBuf,
    config: CpuModelConfig,
    last: Option<(f64, f64)>,
}

impl CpuModelSource {
    pub fn new(config: CpuModelConfig) -> Result<Self, TelemetryError> {
        Self::with_stat_path(PathBuf::from("/proc/self/stat"), config)
    }

    /// Reads CPU time from `stat_path` (a `/proc/<pid>/stat` format file).
    pub fn with_stat_path(
        stat_path: PathBuf,
        config: CpuModelConfig,
    ) -> Result<Self, TelemetryError> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !ok(config.watts_per_busy_core) || !ok(config.idle_watts) {
            return Err(TelemetryError::InvalidConfig(format!(
                "cpu model watts must be finite and >= 0: {config:?}"
            )));
        }
        cpu_seconds(&stat_path)?;
        Ok(CpuModelSource {
            stat_path,
            config,
            last: None,
        })
    }

    /// First call primes and yields nothing: busy cores need two reads.
    fn sample_at(&mut self, t_ms: f64) -> Option<Sample> {
        let cpu_s = cpu_seconds(&self.stat_path).ok()?;
        let (prev_t, prev_cpu) = self.last.replace((t_ms, cpu_s))?;
        let wall_s = (t_ms - prev_t) / 1000.0;
        if wall_s <= 0.0 || cpu_s < prev_cpu {
            return None;
        }
        let busy_cores = (cpu_s - prev_cpu) / wall_s;
        let watts = self.config.idle_watts + self.config.watts_per_busy_core * busy_cores;
        let mut s = Sample::at(t_ms);
        s.power_uw = Some(watts * 1e6);
        Some(s)
    }
}

/// utime + stime in seconds. The command name may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn cpu_seconds(path: &Path) -> Result<f64, TelemetryError> {
    let text = read_trimmed(path)?;
    let bad = || TelemetryError::Parse {
        what: format!("cpu time in {}", path.display()),
        value: text.clone(),
    };
    let after = text.rfind(')').map(|i| &text[i + 1..]).ok_or_else(bad)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: field 3 (state) is index 0, so utime (14) is 11, stime (15) is 12.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => Ok((u + s) as f64 / USER_HZ),
        _ => Err(bad()),
    }
}

impl EnergySource for CpuModelSource {
    fn name(&self) -> &str {
        "cpu-time-model"
    }
    fn is_estimate(&self) -> bool {
        true
    }
    fn sample(&mut self) -> Option<Sample> {
        self.sample_at(now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn stat_line(utime: u64, stime: u64) -> String {
        format!("4242 (my (odd) proc) R 1 4242 4242 0 -1 4194304 104 0 0 0 {utime} {stime} 0 0 20 0 3 0 4446 2998272 407")
    }

    #[test]
    fn busy_cores_times_watts_plus_idle() {
        let dir = tempfile::tempdir().unwrap();
        let stat = dir.path().join("stat");
        fs::write(&stat, stat_line(100, 50)).unwrap();
        let cfg = CpuModelConfig {
            watts_per_busy_core: 1.5,
            idle_watts: 0.25,
        };
        let mut src = CpuModelSource::with_stat_path(stat.clone(), cfg).unwrap();
        assert!(src.sample_at(0.0).is_none());
        // 300 ticks = 3 CPU-seconds over 2 wall seconds = 1.5 busy cores.
        fs::write(&stat, stat_line(300, 150)).unwrap();
        let s = src.sample_at(2000.0).unwrap();
        assert_eq!(s.power_uw, Some((0.25 + 1.5 * 1.5) * 1e6));
        assert!(src.is_estimate());
    }

    #[test]
    fn reads_this_process() {
        let mut src = CpuModelSource::new(CpuModelConfig::default()).unwrap();
        src.sample_at(0.0);
        let s = src.sample_at(100.0).unwrap();
        assert!(s.power_uw.unwrap() >= 0.5e6);
    }

    #[test]
    fn malformed_stat_and_bad_config_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let stat = dir.path().join("stat");
        fs::write(&stat, "4242 (x) R 1 2").unwrap();
        assert!(matches!(
            CpuModelSource::with_stat_path(stat.clone(), CpuModelConfig::default()),
            Err(TelemetryError::Parse { .. })
        ));
        fs::write(&stat, stat_line(1, 1)).unwrap();
        let neg = CpuModelConfig {
            watts_per_busy_core: -1.0,
            idle_watts: 0.0,
        };
        assert!(matches!(
            CpuModelSource::with_stat_path(stat, neg),
            Err(TelemetryError::InvalidConfig(_))
        ));
    }
}
