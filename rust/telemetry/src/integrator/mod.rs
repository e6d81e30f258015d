//! Attributes a trace's energy to one generation, split into prefill and
//! decode, net of the idle baseline measured around it.

mod window;

use serde::{Deserialize, Serialize};

use crate::error::TelemetryError;
use crate::normalize::{normalize, NormalizeConfig};
use crate::sample::{Phase, ThermalState, Trace};
use window::{integrate, WindowEnergy};

/// Coulombs in one mAh.
const COULOMB_PER_MAH: f64 = 3.6;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntegratorConfig {
    /// Readings further apart than this are bridged, and counted as uncertain.
    pub max_gap_ms: f64,
    /// Fewer readings than this during prefill+decode sets `low_confidence`.
    pub min_samples: usize,
    /// Used for mAh when the trace has no voltage (RAPL, CPU model).
    pub nominal_voltage_v: f64,
    /// Added to the uncertainty of traces from estimating sources: the CPU
    /// model ignores GPU, memory, screen and DVFS, so ±50% is a fair floor.
    pub estimate_uncertainty_pct: f64,
    pub normalize: NormalizeConfig,
}

impl Default for IntegratorConfig {
    fn default() -> Self {
        IntegratorConfig {
            max_gap_ms: 1000.0,
            min_samples: 8,
            nominal_voltage_v: 3.85,
            estimate_uncertainty_pct: 50.0,
            normalize: NormalizeConfig::default(),
        }
    }
}

/// Energy attributed to one generation. All energies are net of the idle
/// baseline; `tokens` are generated (decode) tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    pub source: String,
    pub estimate: bool,
    pub joules: f64,
    pub joules_prefill: f64,
    pub joules_decode: f64,
    /// Net joules (prefill included) per generated token.
    pub joules_per_token: f64,
    pub tokens_per_joule: f64,
    pub mah: f64,
    pub battery_pct_per_hour: Option<f64>,
    /// Net watts over prefill+decode.
    pub avg_watts: f64,
    pub uncertainty_pct: f64,
    pub samples: usize,
    pub valid: bool,
    pub low_confidence: bool,
    pub flags: Vec<String>,
    #[serde(default)]
    pub baseline_watts: f64,
    /// Prefill + decode wall time.
    #[serde(default)]
    pub duration_s: f64,
    #[serde(default)]
    pub tokens: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Integrator {
    pub config: IntegratorConfig,
}

/// `(t_ms, watts)` of every usable reading, time-sorted, after normalization.
pub fn power_points(trace: &Trace, config: &NormalizeConfig) -> Vec<(f64, f64)> {
    let mut owned;
    let trace = if trace.normalized {
        trace
    } else {
        owned = trace.clone();
        normalize(&mut owned, config);
        &owned
    };
    let mut pts: Vec<(f64, f64)> = trace
        .samples
        .iter()
        .filter(|s| s.t_ms.is_finite())
        .filter_map(|s| Some((s.t_ms, s.power_w()?)))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

struct Windows {
    idle_before: Option<(f64, f64)>,
    prefill: (f64, f64),
    decode: (f64, f64),
    idle_after: Option<(f64, f64)>,
}

fn windows(trace: &Trace) -> Result<Windows, TelemetryError> {
    let p = trace
        .mark_of(Phase::Prefill)
        .ok_or(TelemetryError::MissingPhase(Phase::Prefill))?;
    let d = trace
        .mark_of(Phase::Decode)
        .ok_or(TelemetryError::MissingPhase(Phase::Decode))?;
    let ib = trace.mark_of(Phase::IdleBefore);
    let ia = trace.mark_of(Phase::IdleAfter);
    let last_t = trace
        .samples
        .iter()
        .map(|s| s.t_ms)
        .filter(|t| t.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let end = trace.end_ms.max(last_t);
    let decode_end = ia.unwrap_or(end);
    let order = [ib.unwrap_or(p), p, d, decode_end, end];
    if order.iter().any(|t| !t.is_finite()) || order.windows(2).any(|w| w[0] > w[1]) {
        return Err(TelemetryError::MarksOutOfOrder(format!(
            "idle_before={ib:?} prefill={p} decode={d} idle_after={ia:?} end={end}"
        )));
    }
    Ok(Windows {
        idle_before: ib.map(|t| (t, p)),
        prefill: (p, d),
        decode: (d, decode_end),
        idle_after: ia.map(|t| (t, end)),
    })
}

impl Integrator {
    pub fn new(config: IntegratorConfig) -> Self {
        Integrator { config }
    }

    pub fn integrate(
        &self,
        trace: &Trace,
        generated_tokens: u64,
    ) -> Result<EnergyReport, TelemetryError> {
        let cfg = &self.config;
        let mut trace = trace.clone();
        normalize(&mut trace, &cfg.normalize);
        let w = windows(&trace)?;
        let pts = power_points(&trace, &cfg.normalize);
        if pts.len() < 2 {
            return Err(TelemetryError::NoPowerData);
        }
        let mut flags: Vec<String> = Vec::new();
        let span = |r: (f64, f64)| r.1 - r.0;
        let energy = |r: (f64, f64)| integrate(&pts, r.0, r.1, cfg.max_gap_ms);
        let prefill = energy(w.prefill);
        let decode = energy(w.decode);
        let active_ms = span(w.prefill) + span(w.decode);
        let active_s = active_ms / 1000.0;

        let idles: Vec<(WindowEnergy, f64)> = [w.idle_before, w.idle_after]
            .into_iter()
            .flatten()
            .filter(|r| span(*r) > 0.0)
            .map(|r| (energy(r), span(r)))
            .collect();
        let idle_ms: f64 = idles.iter().map(|(_, d)| d).sum();
        let (baseline_w, baseline_unc_j) = if idle_ms > 0.0 {
            let idle_j: f64 = idles.iter().map(|(e, _)| e.joules).sum();
            let shaky_j: f64 = idles
                .iter()
                .map(|(e, _)| e.bridged_joules + e.discretization_joules)
                .sum();
            // Uncertain idle energy moves the baseline, which is scaled up to the active time.
            let mut unc = shaky_j * active_ms / idle_ms;
            if let [(a, da), (b, db)] = idles.as_slice() {
                // Drift between the two idle windows: we cannot know which is right.
                unc += (a.mean_watts(*da) - b.mean_watts(*db)).abs() / 2.0 * active_s;
            } else {
                flags.push("single_idle_window".into());
            }
            (idle_j / (idle_ms / 1000.0), unc)
        } else {
            flags.push("no_idle_baseline".into());
            (0.0, 0.0)
        };

        let joules_prefill = prefill.joules - baseline_w * span(w.prefill) / 1000.0;
        let joules_decode = decode.joules - baseline_w * span(w.decode) / 1000.0;
        let joules = joules_prefill + joules_decode;
        let bridged_ms = prefill.bridged_ms + decode.bridged_ms;
        let unc_j = prefill.bridged_joules
            + decode.bridged_joules
            + prefill.discretization_joules
            + decode.discretization_joules
            + baseline_unc_j;
        let mut uncertainty_pct = if joules != 0.0 {
            100.0 * unc_j / joules.abs()
        } else {
            100.0
        };
        if trace.estimate {
            uncertainty_pct += cfg.estimate_uncertainty_pct;
            flags.push("estimate".into());
        }
        if bridged_ms > 0.0 {
            flags.push(format!("bridged_ms:{bridged_ms:.0}"));
        }

        let (a0, a1) = (w.prefill.0, w.decode.1);
        let in_active = |t: f64| t >= a0 && t <= a1;
        let samples = pts.iter().filter(|(t, _)| in_active(*t)).count();
        let low_confidence = samples < cfg.min_samples;
        if low_confidence {
            flags.push(format!("low_confidence:{samples}_samples"));
        }

        let first_mark = w.idle_before.map_or(a0, |r| r.0);
        let mut valid = true;
        if trace
            .samples
            .iter()
            .any(|s| s.t_ms >= first_mark && s.charging == Some(true))
        {
            valid = false;
            flags.push("charging_during_window".into());
        }
        if pts.iter().any(|(t, p)| in_active(*t) && *p < 0.0) {
            // Net current into the battery: external power, flagged or not.
            valid = false;
            flags.push("negative_power_in_window".into());
        }
        if joules <= 0.0 {
            flags.push("net_energy_not_positive".into());
        }
        if active_ms <= 0.0 {
            flags.push("empty_generation_window".into());
        }
        let hottest = trace
            .samples
            .iter()
            .filter(|s| in_active(s.t_ms) && s.thermal != ThermalState::Unknown)
            .map(|s| s.thermal)
            .max();
        if let Some(hot @ (ThermalState::Serious | ThermalState::Critical)) = hottest {
            // The OS was throttling: speed and energy reflect a hot device.
            flags.push(format!("thermal_{}", format!("{hot:?}").to_lowercase()));
        }
        if trace.dropped > 0 {
            flags.push(format!("samples_dropped:{}", trace.dropped));
        }

        let volts: Vec<f64> = trace
            .samples
            .iter()
            .filter(|s| in_active(s.t_ms))
            .filter_map(|s| s.voltage_uv)
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| v * 1e-6)
            .collect();
        let volts = if volts.is_empty() {
            flags.push("mah_from_nominal_voltage".into());
            cfg.nominal_voltage_v
        } else {
            volts.iter().sum::<f64>() / volts.len() as f64
        };
        let mah = joules / volts / COULOMB_PER_MAH;
        let capacity = trace
            .samples
            .iter()
            .rev()
            .filter_map(|s| s.capacity_mah)
            .find(|c| c.is_finite() && *c > 0.0);
        let battery_pct_per_hour = match capacity {
            Some(cap) if active_s > 0.0 => Some(mah / (active_s / 3600.0) / cap * 100.0),
            _ => None,
        };
        if generated_tokens == 0 {
            flags.push("no_tokens".into());
        }
        flags.extend(trace.notes.iter().cloned());

        Ok(EnergyReport {
            source: trace.source.clone(),
            estimate: trace.estimate,
            joules,
            joules_prefill,
            joules_decode,
            joules_per_token: if generated_tokens > 0 {
                joules / generated_tokens as f64
            } else {
                0.0
            },
            tokens_per_joule: if joules > 0.0 {
                generated_tokens as f64 / joules
            } else {
                0.0
            },
            mah,
            battery_pct_per_hour,
            avg_watts: if active_s > 0.0 {
                joules / active_s
            } else {
                0.0
            },
            uncertainty_pct,
            samples,
            valid,
            low_confidence,
            flags,
            baseline_watts: baseline_w,
            duration_s: active_s,
            tokens: generated_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{PhaseMark, Sample};

    /// Constant `watts` readings every 100 ms over [0, 4000] with the four phases
    /// one second each; `plugged(t)` says whether external power is connected.
    fn flat_trace(
        watts: impl Fn(f64) -> f64,
        plugged: impl Fn(f64) -> bool,
        estimate: bool,
    ) -> Trace {
        let mut t = Trace::new("unit", estimate);
        for k in -10..=40 {
            let ms = k as f64 * 100.0;
            let mut s = Sample::at(ms);
            s.power_uw = Some(watts(ms) * 1e6);
            s.charging = Some(plugged(ms));
            t.samples.push(s);
        }
        for (phase, ms) in [
            (Phase::IdleBefore, 0.0),
            (Phase::Prefill, 1000.0),
            (Phase::Decode, 2000.0),
            (Phase::IdleAfter, 3000.0),
        ] {
            t.marks.push(PhaseMark { phase, t_ms: ms });
        }
        t.end_ms = 4000.0;
        t
    }

    #[test]
    fn constant_power_has_no_net_energy_and_estimate_adds_uncertainty() {
        let report = Integrator::default()
            .integrate(&flat_trace(|_| 2.0, |_| false, true), 10)
            .unwrap();
        assert!(report.joules.abs() < 1e-12);
        assert!((report.baseline_watts - 2.0).abs() < 1e-12);
        assert!(report
            .flags
            .contains(&"net_energy_not_positive".to_string()));
        assert!(report.uncertainty_pct >= 50.0);
        assert!(report.estimate && report.valid);
    }

    #[test]
    fn charging_before_the_first_mark_does_not_invalidate() {
        let report = Integrator::default()
            .integrate(
                &flat_trace(
                    |t| {
                        if (1000.0..2000.0).contains(&t) {
                            3.0
                        } else {
                            1.0
                        }
                    },
                    |t| t < 0.0,
                    false,
                ),
                5,
            )
            .unwrap();
        assert!(report.valid, "{:?}", report.flags);
        let plugged_mid = flat_trace(|_| 1.0, |t| (2500.0..2600.0).contains(&t), false);
        assert!(
            !Integrator::default()
                .integrate(&plugged_mid, 5)
                .unwrap()
                .valid
        );
    }

    #[test]
    fn missing_or_misordered_marks_are_errors() {
        let mut t = flat_trace(|_| 1.0, |_| false, false);
        t.marks.retain(|m| m.phase != Phase::Decode);
        assert!(matches!(
            Integrator::default().integrate(&t, 1),
            Err(TelemetryError::MissingPhase(Phase::Decode))
        ));
        let mut t = flat_trace(|_| 1.0, |_| false, false);
        t.marks[1].t_ms = 2500.0;
        assert!(matches!(
            Integrator::default().integrate(&t, 1),
            Err(TelemetryError::MarksOutOfOrder(_))
        ));
        let mut t = flat_trace(|_| 1.0, |_| false, false);
        t.samples.truncate(1);
        assert!(matches!(
            Integrator::default().integrate(&t, 1),
            Err(TelemetryError::NoPowerData)
        ));
    }

    #[test]
    fn throttling_during_generation_is_flagged() {
        let mut t = flat_trace(|_| 1.0, |_| false, false);
        t.samples[25].thermal = ThermalState::Serious;
        let r = Integrator::default().integrate(&t, 1).unwrap();
        assert!(
            r.flags.contains(&"thermal_serious".to_string()),
            "{:?}",
            r.flags
        );
        t.samples[25].thermal = ThermalState::Fair;
        let r = Integrator::default().integrate(&t, 1).unwrap();
        assert!(!r.flags.iter().any(|f| f.starts_with("thermal_")));
    }

    #[test]
    fn few_samples_are_low_confidence() {
        let mut t = flat_trace(|_| 1.0, |_| false, false);
        t.samples.retain(|s| (s.t_ms as i64) % 500 == 0);
        let report = Integrator::default().integrate(&t, 1).unwrap();
        assert_eq!(report.samples, 5);
        assert!(report.low_confidence);
    }
}
