//! Intel/AMD RAPL package energy counters. Only top-level `intel-rapl:N`
//! zones are summed: their `intel-rapl:N:M` children are parts of them and
//! adding those would double count.

use std::path::{Path, PathBuf};

use super::{read_f64, EnergySource};
use crate::clock::now_ms;
use crate::error::TelemetryError;
use crate::sample::Sample;

pub(super) const DEFAULT_ROOT: &str = "/sys/class/powercap";

struct Zone {
    energy_path: PathBuf,
    /// Counter range; the counter wraps to zero after it.
    max_uj: Option<f64>,
    last_uj: f64,
}

pub struct RaplSource {
    zones: Vec<Zone>,
    last_t_ms: Option<f64>,
}

impl RaplSource {
    /// Fails when there is no readable package zone (no RAPL, or the counters
    /// are root-only as on most kernels since 2020).
    pub fn open(root: &Path) -> Result<Self, TelemetryError> {
        let entries = std::fs::read_dir(root).map_err(|e| TelemetryError::io(root, e))?;
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| is_package_zone(&e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .collect();
        dirs.sort();
        let mut zones = Vec::new();
        for dir in dirs {
            let energy_path = dir.join("energy_uj");
            let last_uj = read_f64(&energy_path)?;
            let max_uj = read_f64(&dir.join("max_energy_range_uj"))
                .ok()
                .filter(|m| *m > 0.0);
            zones.push(Zone {
                energy_path,
                max_uj,
                last_uj,
            });
        }
        if zones.is_empty() {
            return Err(TelemetryError::NoSource);
        }
        Ok(RaplSource {
            zones,
            last_t_ms: None,
        })
    }

    /// First call primes the counters and yields nothing: power needs two reads.
    fn sample_at(&mut self, t_ms: f64) -> Option<Sample> {
        let mut total_uj = 0.0;
        let mut complete = true;
        for z in &mut self.zones {
            let Ok(now_uj) = read_f64(&z.energy_path) else {
                complete = false;
                continue;
            };
            match delta_uj(z.last_uj, now_uj, z.max_uj) {
                Some(d) => total_uj += d,
                None => complete = false,
            }
            z.last_uj = now_uj;
        }
        let prev_t = self.last_t_ms.replace(t_ms)?;
        let dt_s = (t_ms - prev_t) / 1000.0;
        if !complete || dt_s <= 0.0 {
            return None;
        }
        let mut s = Sample::at(t_ms);
        s.power_uw = Some(total_uj / dt_s);
        Some(s)
    }
}

fn is_package_zone(name: &str) -> bool {
    name.strip_prefix("intel-rapl:")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
}

/// Energy between two counter reads, unwrapping one overflow. Without a known
/// range a decrease is unexplainable, so that interval is dropped.
fn delta_uj(prev: f64, now: f64, max: Option<f64>) -> Option<f64> {
    if now >= prev {
        Some(now - prev)
    } else {
        max.map(|m| (m - prev) + now)
    }
}

impl EnergySource for RaplSource {
    fn name(&self) -> &str {
        "rapl"
    }
    fn is_estimate(&self) -> bool {
        false
    }
    fn sample(&mut self) -> Option<Sample> {
        self.sample_at(now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn zone(root: &Path, name: &str, energy: u64, max: u64) -> PathBuf {
        let d = root.join(name);
        fs::create_dir(&d).unwrap();
        fs::write(d.join("energy_uj"), format!("{energy}\n")).unwrap();
        fs::write(d.join("max_energy_range_uj"), format!("{max}\n")).unwrap();
        d
    }

    #[test]
    fn sums_packages_and_ignores_subzones() {
        let root = tempfile::tempdir().unwrap();
        let p0 = zone(root.path(), "intel-rapl:0", 1_000_000, 1_000_000_000);
        let p1 = zone(root.path(), "intel-rapl:1", 0, 1_000_000_000);
        let core = zone(root.path(), "intel-rapl:0:0", 0, 1_000_000_000);
        let mut src = RaplSource::open(root.path()).unwrap();
        assert!(src.sample_at(0.0).is_none(), "first read only primes");
        fs::write(p0.join("energy_uj"), "4000000").unwrap(); // +3 J
        fs::write(p1.join("energy_uj"), "1000000").unwrap(); // +1 J
        fs::write(core.join("energy_uj"), "900000000").unwrap(); // must not count
        let s = src.sample_at(2000.0).unwrap();
        assert_eq!(s.power_uw, Some(2_000_000.0), "4 J over 2 s");
    }

    #[test]
    fn counter_wraparound_is_unwrapped() {
        let root = tempfile::tempdir().unwrap();
        let p0 = zone(root.path(), "intel-rapl:0", 9_500_000, 10_000_000);
        let mut src = RaplSource::open(root.path()).unwrap();
        src.sample_at(0.0);
        fs::write(p0.join("energy_uj"), "1500000").unwrap(); // 0.5 J to the wrap + 1.5 J
        let s = src.sample_at(1000.0).unwrap();
        assert_eq!(s.power_uw, Some(2_000_000.0));
    }

    #[test]
    fn decrease_without_known_range_drops_the_interval() {
        assert_eq!(delta_uj(10.0, 4.0, None), None);
        assert_eq!(delta_uj(10.0, 4.0, Some(12.0)), Some(6.0));
        assert_eq!(delta_uj(4.0, 10.0, None), Some(6.0));
    }

    #[test]
    fn missing_or_unreadable_rapl_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(
            RaplSource::open(root.path()),
            Err(TelemetryError::NoSource)
        ));
        let d = root.path().join("intel-rapl:0");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("energy_uj"), "garbage").unwrap();
        assert!(matches!(
            RaplSource::open(root.path()),
            Err(TelemetryError::Parse { .. })
        ));
    }

    #[test]
    fn zone_names() {
        assert!(is_package_zone("intel-rapl:0"));
        assert!(is_package_zone("intel-rapl:12"));
        assert!(!is_package_zone("intel-rapl:0:1"));
        assert!(!is_package_zone("intel-rapl:"));
        assert!(!is_package_zone("intel-rapl-mmio:0"));
    }
}
