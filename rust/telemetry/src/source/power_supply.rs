//! Linux/Android `/sys/class/power_supply/<battery>/` reader. Values are raw:
//! vendor sign and unit quirks are fixed later by [`crate::normalize`].

use std::path::{Path, PathBuf};

use super::{read_f64, read_trimmed, EnergySource};
use crate::clock::now_ms;
use crate::sample::{Sample, ThermalState};

pub(super) const DEFAULT_ROOT: &str = "/sys/class/power_supply";

pub struct PowerSupplySource {
    dir: PathBuf,
    name: String,
}

impl PowerSupplySource {
    /// The first supply under `root` whose `type` is `Battery` and that reports
    /// current or power. `None` when there is none (desktops, containers).
    pub fn discover(root: &Path) -> Option<Self> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        dirs.into_iter()
            .find(|d| is_metered_battery(d))
            .map(Self::at)
    }

    /// Reads this supply directory directly.
    pub fn at(dir: PathBuf) -> Self {
        let leaf = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        PowerSupplySource {
            name: format!("power_supply:{leaf}"),
            dir,
        }
    }

    fn read_sample(&self, t_ms: f64) -> Option<Sample> {
        let f = |name: &str| read_f64(&self.dir.join(name)).ok();
        let mut s = Sample::at(t_ms);
        s.current_ua = f("current_now");
        s.voltage_uv = f("voltage_now");
        s.power_uw = f("power_now");
        s.battery_pct = f("capacity").map(|v| v as f32);
        s.capacity_mah = f("charge_full").map(|uah| uah / 1000.0);
        s.charge_counter_uah = f("charge_counter").or_else(|| f("charge_now"));
        // Android exposes tenths of a degree Celsius.
        s.temperature_c = f("temp").map(|t| (t / 10.0) as f32);
        s.charging = read_trimmed(&self.dir.join("status"))
            .ok()
            .and_then(|st| charging_from_status(&st));
        s.thermal = ThermalState::Unknown;
        let any = s.current_ua.is_some() || s.power_uw.is_some() || s.voltage_uv.is_some();
        any.then_some(s)
    }
}

fn is_metered_battery(dir: &Path) -> bool {
    let is_battery = read_trimmed(&dir.join("type"))
        .map(|t| t.eq_ignore_ascii_case("battery"))
        .unwrap_or(false);
    is_battery && (dir.join("current_now").exists() || dir.join("power_now").exists())
}

/// `Full` and `Not charging` still mean external power is connected, which
/// corrupts battery-side measurements just like charging does.
pub(crate) fn charging_from_status(status: &str) -> Option<bool> {
    match status.trim().to_ascii_lowercase().as_str() {
        "discharging" => Some(false),
        "charging" | "full" | "not charging" => Some(true),
        _ => None,
    }
}

impl EnergySource for PowerSupplySource {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_estimate(&self) -> bool {
        false
    }
    fn sample(&mut self) -> Option<Sample> {
        self.read_sample(now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &Path, name: &str, value: &str) {
        fs::write(dir.join(name), format!("{value}\n")).unwrap();
    }

    fn fake_root() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let ac = root.path().join("AC");
        fs::create_dir(&ac).unwrap();
        write(&ac, "type", "Mains");
        write(&ac, "current_now", "999");
        let bat = root.path().join("battery");
        fs::create_dir(&bat).unwrap();
        write(&bat, "type", "Battery");
        write(&bat, "current_now", "-412000");
        write(&bat, "voltage_now", "3870000");
        write(&bat, "capacity", "81");
        write(&bat, "status", "Discharging");
        write(&bat, "charge_full", "4500000");
        write(&bat, "charge_counter", "3645000");
        write(&bat, "temp", "312");
        root
    }

    #[test]
    fn reads_the_battery_not_the_charger() {
        let root = fake_root();
        let src = PowerSupplySource::discover(root.path()).expect("battery found");
        assert_eq!(src.name(), "power_supply:battery");
        let s = src.read_sample(5.0).unwrap();
        assert_eq!(s.t_ms, 5.0);
        assert_eq!(s.current_ua, Some(-412000.0));
        assert_eq!(s.voltage_uv, Some(3870000.0));
        assert_eq!(s.power_uw, None);
        assert_eq!(s.battery_pct, Some(81.0));
        assert_eq!(s.capacity_mah, Some(4500.0));
        assert_eq!(s.charge_counter_uah, Some(3645000.0));
        assert_eq!(s.temperature_c, Some(31.2));
        assert_eq!(s.charging, Some(false));
    }

    #[test]
    fn status_strings_map_to_external_power() {
        assert_eq!(charging_from_status("Charging"), Some(true));
        assert_eq!(charging_from_status("Full"), Some(true));
        assert_eq!(charging_from_status("Not charging"), Some(true));
        assert_eq!(charging_from_status("Discharging"), Some(false));
        assert_eq!(charging_from_status("Unknown"), None);
    }

    #[test]
    fn garbage_values_become_missing_fields_not_panics() {
        let root = fake_root();
        let bat = root.path().join("battery");
        write(&bat, "current_now", "not-a-number");
        write(&bat, "capacity", "");
        let s = PowerSupplySource::at(bat).read_sample(0.0).unwrap();
        assert_eq!(s.current_ua, None);
        assert_eq!(s.battery_pct, None);
        assert_eq!(s.voltage_uv, Some(3870000.0));
    }

    #[test]
    fn no_battery_means_no_source() {
        let root = tempfile::tempdir().unwrap();
        assert!(PowerSupplySource::discover(root.path()).is_none());
        assert!(PowerSupplySource::discover(&root.path().join("missing")).is_none());
    }
}
