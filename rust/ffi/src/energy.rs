//! Battery telemetry for apps: Kotlin and Swift read the platform's battery
//! and thermal APIs and push raw readings into an `EnergyMeter`, which is a
//! `mote_telemetry` push source, sampler and integrator behind one object.
//! Vendor quirks (current sign, µA vs mA, mV vs µV, stale readings) are fixed
//! in Rust, so the platform layers pass values exactly as the OS reports them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mote_telemetry as tel;
use tel::source::{CpuModelConfig, PushHandle, PushSource};
use tel::{Integrator, Sampler, SamplerConfig, TelemetryError};

use crate::error::{guard, guard_or, MoteError};

/// Readings buffered between two polls of the sampler; a phone pushes a few per second.
const PUSH_CAPACITY: usize = 4096;
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Platform-neutral thermal pressure, modelled on iOS's four levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ThermalState {
    Nominal,
    Fair,
    Serious,
    Critical,
    Unknown,
}

impl From<tel::ThermalState> for ThermalState {
    fn from(t: tel::ThermalState) -> Self {
        match t {
            tel::ThermalState::Nominal => Self::Nominal,
            tel::ThermalState::Fair => Self::Fair,
            tel::ThermalState::Serious => Self::Serious,
            tel::ThermalState::Critical => Self::Critical,
            tel::ThermalState::Unknown => Self::Unknown,
        }
    }
}

impl From<ThermalState> for tel::ThermalState {
    fn from(t: ThermalState) -> Self {
        match t {
            ThermalState::Nominal => Self::Nominal,
            ThermalState::Fair => Self::Fair,
            ThermalState::Serious => Self::Serious,
            ThermalState::Critical => Self::Critical,
            ThermalState::Unknown => Self::Unknown,
        }
    }
}

/// Maps `PowerManager.getCurrentThermalStatus()` (NONE 0 … SHUTDOWN 6).
#[uniffi::export]
pub fn thermal_state_from_android_status(status: i32) -> ThermalState {
    guard_or(ThermalState::Unknown, || tel::ThermalState::from_android_status(status).into())
}

/// Maps `ProcessInfo.ThermalState.rawValue` (nominal 0 … critical 3).
#[uniffi::export]
pub fn thermal_state_from_ios(raw: i32) -> ThermalState {
    guard_or(ThermalState::Unknown, || tel::ThermalState::from_ios(raw).into())
}

/// Milliseconds on the clock that stamps samples and phase marks.
#[uniffi::export]
pub fn energy_clock_ms() -> f64 {
    guard_or(0.0, tel::clock::now_ms)
}

/// The stretches of a measured generation, marked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Phase {
    IdleBefore,
    Prefill,
    Decode,
    IdleAfter,
}

impl From<Phase> for tel::Phase {
    fn from(p: Phase) -> Self {
        match p {
            Phase::IdleBefore => Self::IdleBefore,
            Phase::Prefill => Self::Prefill,
            Phase::Decode => Self::Decode,
            Phase::IdleAfter => Self::IdleAfter,
        }
    }
}

/// One raw reading. Pass values as the platform reports them: current in µA
/// or mA with either sign, voltage in µV, mV or V. Every field is optional.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EnergySample {
    /// On `energy_clock_ms()`'s clock; `None` stamps the sample when pushed.
    #[uniffi(default = None)]
    pub t_ms: Option<f64>,
    #[uniffi(default = None)]
    pub current_ua: Option<f64>,
    #[uniffi(default = None)]
    pub power_uw: Option<f64>,
    #[uniffi(default = None)]
    pub voltage_uv: Option<f64>,
    #[uniffi(default = None)]
    pub battery_pct: Option<f32>,
    /// Full-charge capacity; needed for `battery_pct_per_hour`.
    #[uniffi(default = None)]
    pub capacity_mah: Option<f64>,
    #[uniffi(default = None)]
    pub charge_counter_uah: Option<f64>,
    /// True whenever external power is connected.
    #[uniffi(default = None)]
    pub charging: Option<bool>,
    #[uniffi(default = None)]
    pub temperature_c: Option<f32>,
    #[uniffi(default = None)]
    pub thermal: Option<ThermalState>,
}

impl EnergySample {
    fn into_core(self, t_ms: f64) -> tel::Sample {
        tel::Sample {
            t_ms,
            current_ua: self.current_ua,
            power_uw: self.power_uw,
            voltage_uv: self.voltage_uv,
            battery_pct: self.battery_pct,
            capacity_mah: self.capacity_mah,
            charge_counter_uah: self.charge_counter_uah,
            charging: self.charging,
            temperature_c: self.temperature_c,
            thermal: self.thermal.map_or(tel::ThermalState::Unknown, Into::into),
        }
    }
}

/// Energy attributed to one generation, net of the idle baseline. Show the
/// numbers only with `valid`, `estimate` and `low_confidence` (docs/telemetry.md).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EnergyReport {
    pub source: String,
    pub estimate: bool,
    pub joules: f64,
    pub joules_prefill: f64,
    pub joules_decode: f64,
    pub joules_per_token: f64,
    pub tokens_per_joule: f64,
    pub mah: f64,
    pub battery_pct_per_hour: Option<f64>,
    pub avg_watts: f64,
    pub uncertainty_pct: f64,
    /// Readings inside prefill + decode.
    pub samples: i64,
    pub valid: bool,
    pub low_confidence: bool,
    pub flags: Vec<String>,
    pub baseline_watts: f64,
    pub duration_s: f64,
    pub tokens: i64,
}

impl From<tel::EnergyReport> for EnergyReport {
    fn from(r: tel::EnergyReport) -> Self {
        EnergyReport {
            source: r.source,
            estimate: r.estimate,
            joules: r.joules,
            joules_prefill: r.joules_prefill,
            joules_decode: r.joules_decode,
            joules_per_token: r.joules_per_token,
            tokens_per_joule: r.tokens_per_joule,
            mah: r.mah,
            battery_pct_per_hour: r.battery_pct_per_hour,
            avg_watts: r.avg_watts,
            uncertainty_pct: r.uncertainty_pct,
            samples: crate::records::to_i64(r.samples as u64),
            valid: r.valid,
            low_confidence: r.low_confidence,
            flags: r.flags,
            baseline_watts: r.baseline_watts,
            duration_s: r.duration_s,
            tokens: crate::records::to_i64(r.tokens),
        }
    }
}

impl From<TelemetryError> for MoteError {
    fn from(e: TelemetryError) -> Self {
        match e {
            TelemetryError::MissingPhase(_) | TelemetryError::MarksOutOfOrder(_) | TelemetryError::NoPowerData => {
                MoteError::InvalidArgument { reason: e.to_string() }
            }
            other => MoteError::Internal { reason: other.to_string() },
        }
    }
}

/// The CPU-time power model used where no meter exists (iOS):
/// `watts = idle_watts + watts_per_busy_core × busy cores`.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct CpuPowerModel {
    pub watts_per_busy_core: f64,
    pub idle_watts: f64,
}

/// The core's default figures, so every platform estimates alike.
#[uniffi::export]
pub fn default_cpu_power_model() -> CpuPowerModel {
    let fallback = CpuPowerModel { watts_per_busy_core: 2.0, idle_watts: 0.5 };
    guard_or(fallback, || {
        let c = CpuModelConfig::default();
        CpuPowerModel { watts_per_busy_core: c.watts_per_busy_core, idle_watts: c.idle_watts }
    })
}

/// Measures one generation: push readings, mark the phases, then `finish`.
/// Recording runs on a background thread from construction until `finish`.
#[derive(uniffi::Object)]
pub struct EnergyMeter {
    push: PushHandle,
    sampler: Mutex<Option<Sampler>>,
}

impl EnergyMeter {
    fn with_sampler<T>(&self, f: impl FnOnce(&Sampler) -> T) -> Result<T, MoteError> {
        let slot = self.sampler.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().map(f).ok_or_else(finished)
    }
}

fn finished() -> MoteError {
    MoteError::InvalidArgument { reason: "this energy meter has already finished".into() }
}

#[uniffi::export]
impl EnergyMeter {
    /// `source` names the readings in the report (e.g. "android-batterymanager");
    /// `estimate` says they come from a model, not a meter (the iOS CPU model).
    #[uniffi::constructor]
    pub fn new(source: String, estimate: bool) -> Result<Arc<Self>, MoteError> {
        guard(|| {
            let (src, push) = PushSource::new(source, estimate, PUSH_CAPACITY);
            let config = SamplerConfig { interval: POLL_INTERVAL, ..SamplerConfig::default() };
            let sampler = Sampler::start(Box::new(src), config)?;
            Ok(Arc::new(EnergyMeter { push, sampler: Mutex::new(Some(sampler)) }))
        })
    }

    /// Records a reading; any thread may push.
    pub fn push_sample(&self, sample: EnergySample) -> Result<(), MoteError> {
        guard(|| {
            self.with_sampler(|_| ())?;
            match sample.t_ms {
                Some(t) => self.push.push(sample.into_core(t)),
                None => self.push.push_now(sample.into_core(0.0)),
            }
            Ok(())
        })
    }

    /// Marks that `phase` starts now.
    pub fn mark(&self, phase: Phase) -> Result<(), MoteError> {
        guard(|| self.with_sampler(|s| s.mark(phase.into())))
    }

    /// Marks that `phase` started at `t_ms` (on `energy_clock_ms()`'s clock).
    pub fn mark_at(&self, phase: Phase, t_ms: f64) -> Result<(), MoteError> {
        guard(|| self.with_sampler(|s| s.mark_at(phase.into(), t_ms)))
    }

    /// Stops recording and attributes the energy to `generated_tokens`. The
    /// meter is spent afterwards. Fails with `InvalidArgument` when the
    /// Prefill or Decode mark is missing or there are too few readings.
    pub fn finish(&self, generated_tokens: u64) -> Result<EnergyReport, MoteError> {
        guard(|| {
            let sampler = self.sampler.lock().unwrap_or_else(|p| p.into_inner()).take().ok_or_else(finished)?;
            let trace = sampler.stop();
            Ok(Integrator::default().integrate(&trace, generated_tokens)?.into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(t_ms: f64, current_ma: f64, voltage_mv: f64) -> EnergySample {
        EnergySample {
            t_ms: Some(t_ms),
            current_ua: Some(current_ma),
            power_uw: None,
            voltage_uv: Some(voltage_mv),
            battery_pct: Some(50.0),
            capacity_mah: None,
            charge_counter_uah: None,
            charging: Some(false),
            temperature_c: None,
            thermal: Some(ThermalState::Nominal),
        }
    }

    /// Raw mA / mV readings with an inverted sign, as some phones report them,
    /// integrate to what the physical draw implies: 1 s idle at 100 mA, 1 s
    /// prefill and 1 s decode at 500 mA, 1 s idle at 100 mA, all at 4 V.
    #[test]
    fn raw_phone_readings_integrate_to_the_expected_joules() {
        let meter = EnergyMeter::new("unit".into(), false).unwrap();
        let t0 = energy_clock_ms() + 10_000.0;
        for k in 0..=40 {
            let t = t0 + k as f64 * 100.0;
            let busy = (1000.0..3000.0).contains(&(t - t0));
            meter.push_sample(reading(t, if busy { -500.0 } else { -100.0 }, 4000.0)).unwrap();
        }
        for (p, dt) in [(Phase::IdleBefore, 0.0), (Phase::Prefill, 1000.0), (Phase::Decode, 2000.0), (Phase::IdleAfter, 3000.0)] {
            meter.mark_at(p, t0 + dt).unwrap();
        }
        let r = meter.finish(20).unwrap();
        // 2 W busy, 0.4 W idle. The trapezoid from the last idle reading (900 ms)
        // to the first busy one makes the first idle window 0.48 W and adds
        // 0.12 J (not 0.2 J) to the end of decode: gross 2 + 1.92 J, baseline
        // (0.48 + 0.4) / 2 W over 2 s, net 3.92 − 0.88 = 3.04 J.
        assert!((r.joules - 3.04).abs() < 1e-6, "{r:?}");
        assert!((r.baseline_watts - 0.44).abs() < 1e-9, "{r:?}");
        assert!((r.joules_per_token - r.joules / 20.0).abs() < 1e-9);
        assert!(r.valid && !r.estimate, "{:?}", r.flags);
        assert!(r.flags.iter().any(|f| f == "current_reported_in_mA"), "{:?}", r.flags);
        assert!(r.flags.iter().any(|f| f == "current_sign_flipped"), "{:?}", r.flags);
        assert!(matches!(meter.finish(20), Err(MoteError::InvalidArgument { .. })));
        assert!(matches!(meter.push_sample(reading(t0, 1.0, 1.0)), Err(MoteError::InvalidArgument { .. })));
    }

    #[test]
    fn a_meter_without_marks_reports_a_typed_error() {
        let meter = EnergyMeter::new("unit".into(), true).unwrap();
        meter.push_sample(reading(1.0, 100.0, 4000.0)).unwrap();
        assert!(matches!(meter.finish(1), Err(MoteError::InvalidArgument { .. })));
    }

    #[test]
    fn thermal_mappings_follow_the_core() {
        assert_eq!(thermal_state_from_ios(2), ThermalState::Serious);
        assert_eq!(thermal_state_from_android_status(4), ThermalState::Critical);
        assert_eq!(thermal_state_from_android_status(-1), ThermalState::Unknown);
    }
}
