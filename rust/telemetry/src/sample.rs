use serde::{Deserialize, Serialize};

/// One reading of the device's power state. Every physical field is optional
/// because no platform exposes all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Monotonic milliseconds (see [`crate::clock::now_ms`]).
    pub t_ms: f64,
    /// Battery current in µA; positive means discharge once normalized.
    pub current_ua: Option<f64>,
    pub power_uw: Option<f64>,
    pub voltage_uv: Option<f64>,
    pub battery_pct: Option<f32>,
    /// Full-charge capacity, needed for "% battery per hour".
    pub capacity_mah: Option<f64>,
    pub charge_counter_uah: Option<f64>,
    /// True whenever external power is connected (charging, full or held).
    pub charging: Option<bool>,
    pub temperature_c: Option<f32>,
    #[serde(default)]
    pub thermal: ThermalState,
}

impl Sample {
    /// A sample at `t_ms` with nothing measured yet.
    pub fn at(t_ms: f64) -> Self {
        Sample {
            t_ms,
            current_ua: None,
            power_uw: None,
            voltage_uv: None,
            battery_pct: None,
            capacity_mah: None,
            charge_counter_uah: None,
            charging: None,
            temperature_c: None,
            thermal: ThermalState::Unknown,
        }
    }

    /// Power in watts: the reported power if any, else V·I. `None` when
    /// neither is available or a value is not finite.
    pub fn power_w(&self) -> Option<f64> {
        let w = match (self.power_uw, self.voltage_uv, self.current_ua) {
            (Some(p), _, _) => p * 1e-6,
            (None, Some(v), Some(i)) => (v * 1e-6) * (i * 1e-6),
            _ => return None,
        };
        w.is_finite().then_some(w)
    }
}

/// Platform-neutral thermal pressure, modelled on iOS's four levels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum ThermalState {
    Nominal,
    Fair,
    Serious,
    Critical,
    #[default]
    Unknown,
}

impl ThermalState {
    /// Maps Android `PowerManager.THERMAL_STATUS_*` (NONE 0 … SHUTDOWN 6).
    /// LIGHT and MODERATE keep the UX intact, so they count as Fair; SEVERE is
    /// the first level where Android says the UX is largely impacted.
    pub fn from_android_status(status: i32) -> Self {
        match status {
            0 => ThermalState::Nominal,
            1 | 2 => ThermalState::Fair,
            3 => ThermalState::Serious,
            4..=6 => ThermalState::Critical,
            _ => ThermalState::Unknown,
        }
    }

    /// Maps `ProcessInfo.ThermalState.rawValue` (nominal 0 … critical 3).
    pub fn from_ios(raw: i32) -> Self {
        match raw {
            0 => ThermalState::Nominal,
            1 => ThermalState::Fair,
            2 => ThermalState::Serious,
            3 => ThermalState::Critical,
            _ => ThermalState::Unknown,
        }
    }
}

/// The stretches of a measured generation. A trace is marked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    IdleBefore,
    Prefill,
    Decode,
    IdleAfter,
}

impl Phase {
    pub fn parse(s: &str) -> Option<Self> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '-'], "")
            .as_str()
        {
            "idlebefore" => Some(Phase::IdleBefore),
            "prefill" => Some(Phase::Prefill),
            "decode" => Some(Phase::Decode),
            "idleafter" => Some(Phase::IdleAfter),
            _ => None,
        }
    }
}

/// The moment a phase starts; it lasts until the next mark or the end of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseMark {
    pub phase: Phase,
    pub t_ms: f64,
}

/// Everything a sampler recorded: raw samples plus phase boundaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub source: String,
    pub estimate: bool,
    pub samples: Vec<Sample>,
    pub marks: Vec<PhaseMark>,
    /// When recording stopped; closes the last phase.
    pub end_ms: f64,
    /// Samples lost because the bounded buffer was full.
    #[serde(default)]
    pub dropped: usize,
    /// Set once vendor quirks were corrected, so they are never corrected twice.
    #[serde(default)]
    pub normalized: bool,
    /// What normalization changed, carried into the report's flags.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Trace {
    pub fn new(source: impl Into<String>, estimate: bool) -> Self {
        Trace {
            source: source.into(),
            estimate,
            samples: Vec::new(),
            marks: Vec::new(),
            end_ms: 0.0,
            dropped: 0,
            normalized: false,
            notes: Vec::new(),
        }
    }

    /// Start of the first mark of `phase`, if recorded.
    pub fn mark_of(&self, phase: Phase) -> Option<f64> {
        self.marks.iter().find(|m| m.phase == phase).map(|m| m.t_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn android_thermal_levels_map_to_four_states() {
        let got: Vec<_> = (-1..=7).map(ThermalState::from_android_status).collect();
        use ThermalState::*;
        assert_eq!(
            got,
            vec![Unknown, Nominal, Fair, Fair, Serious, Critical, Critical, Critical, Unknown]
        );
    }

    #[test]
    fn ios_thermal_levels_map_one_to_one() {
        let got: Vec<_> = (-1..=4).map(ThermalState::from_ios).collect();
        use ThermalState::*;
        assert_eq!(
            got,
            vec![Unknown, Nominal, Fair, Serious, Critical, Unknown]
        );
    }

    #[test]
    fn power_prefers_reported_power_over_v_times_i() {
        let mut s = Sample::at(0.0);
        s.voltage_uv = Some(4_000_000.0);
        s.current_ua = Some(500_000.0);
        assert_eq!(s.power_w(), Some(2.0));
        s.power_uw = Some(1_500_000.0);
        assert_eq!(s.power_w(), Some(1.5));
        s.power_uw = Some(f64::NAN);
        assert_eq!(s.power_w(), None);
    }

    #[test]
    fn phase_names_parse_loosely() {
        assert_eq!(Phase::parse("idle_before"), Some(Phase::IdleBefore));
        assert_eq!(Phase::parse("Decode"), Some(Phase::Decode));
        assert_eq!(Phase::parse("IdleAfter"), Some(Phase::IdleAfter));
        assert_eq!(Phase::parse("warmup"), None);
    }
}
