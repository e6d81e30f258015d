//! Battery logs recorded on a phone by other tools, read into a [`Trace`]
//! and integrated over their whole length (`mote energy import`).
//!
//! * `android` reads Android BatteryManager logs: the CSV written by the
//!   common companion apps (`Timestamp,BATTERY_PROPERTY_CURRENT_NOW,EXTRA_VOLTAGE`,
//!   as android-runner's BatteryManager plugin writes it) and the raw logcat
//!   `stats =>` lines that CSV is extracted from.
//! * [`whole_trace`] integrates one: the existing normaliser fixes units
//!   and sign; then a trapezoid of V·I over every sample, as the published
//!   BatteryManager evaluations compute it, with the quirks named in `flags`.
//!
//! Perfetto's battery counters are not read: its trace format is protobuf,
//! and its CSV exports are ad hoc queries without a documented layout.

mod android;

pub use android::{parse_batterymanager, parse_logcat_stats, DEFAULT_LOGCAT_COLUMNS};

use serde::Serialize;

use crate::normalize::{normalize, NormalizeConfig};
use crate::sample::Trace;

/// A whole trace's energy, for an imported log.
#[derive(Debug, Clone, Serialize)]
pub struct WholeTraceEnergy {
    /// Energy the battery delivered, J. `None` for a run taken while
    /// charging: the phone's consumption is not in such a log.
    pub energy_j: Option<f64>,
    /// `energy_j / duration_s` (time-weighted, not the mean of the samples).
    pub avg_power_w: Option<f64>,
    pub duration_s: f64,
    /// The unit the current was reported in: "uA", or "mA" (scaled ×1000).
    pub unit_detected: &'static str,
    pub samples: usize,
    pub charging: bool,
    /// For a charging run: the energy that went into the battery, J.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_energy_j: Option<f64>,
    /// Subtracted baseline power, W (only with `--baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_w: Option<f64>,
    pub flags: Vec<String>,
}

/// Voltage readings a "live" voltage has at least, to judge charging by it.
const MIN_DISTINCT_VOLTAGES: usize = 8;
/// Correlation of |I| with V above which the run is charging (see below).
const CHARGING_CORRELATION: f64 = 0.5;

/// Integrates `trace` over its whole length, minus `baseline_w` watts if given.
/// Units and sign are normalized first; repeated readings are kept (a
/// fuel gauge that refreshes every few seconds holds its value in between,
/// and dropping the repeats would turn that step into a ramp).
pub fn whole_trace(mut trace: Trace, baseline_w: Option<f64>) -> Result<WholeTraceEnergy, crate::TelemetryError> {
    let cfg = NormalizeConfig { stale_ms: f64::INFINITY, ..NormalizeConfig::default() };
    let outcome = normalize(&mut trace, &cfg);
    trace.samples.retain(|s| s.t_ms.is_finite());
    trace.samples.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    let pts: Vec<(f64, f64, f64, f64)> = trace
        .samples
        .iter()
        .filter_map(|s| Some((s.t_ms, s.power_w()?, s.current_ua?, s.voltage_uv?)))
        .collect();
    if pts.len() < 2 {
        return Err(crate::TelemetryError::NoPowerData);
    }
    let mut flags = trace.notes.clone();
    let duration_s = (pts[pts.len() - 1].0 - pts[0].0) / 1000.0;
    let mut energy = 0.0;
    let mut gaps = 0;
    for w in pts.windows(2) {
        let dt = (w[1].0 - w[0].0) / 1000.0;
        energy += 0.5 * (w[0].1 + w[1].1) * dt;
        gaps += usize::from(dt > 5.0);
    }
    if gaps > 0 {
        flags.push(format!("gaps_over_5s:{gaps}"));
    }
    let repeats = pts.windows(2).filter(|w| w[0].2 == w[1].2).count();
    if repeats * 2 > pts.len() {
        let changes = pts.len() - 1 - repeats;
        flags.push(format!(
            "current_repeats:{repeats}_of_{} (gauge refreshes about every {:.1} s)",
            pts.len(),
            duration_s / changes.max(1) as f64
        ));
    }
    let voltages = distinct(pts.iter().map(|p| p.3));
    if voltages == 1 && duration_s > 10.0 {
        flags.push("voltage_frozen (one value for the whole run: EXTRA_VOLTAGE stops updating after `dumpsys battery unplug`)".into());
    }
    // With a live voltage, the cell's internal resistance gives the
    // direction: discharge pulls the voltage down as the current rises
    // (V = OCV − I·R), charging pushes it up (V = OCV + I·R). The sign of
    // the current can't tell: phones disagree on it, even one phone across
    // sessions.
    let said_charging = trace.samples.iter().any(|s| s.charging == Some(true));
    let corr = correlation(pts.iter().map(|p| (p.2.abs(), p.3)));
    let charging = said_charging || (voltages >= MIN_DISTINCT_VOLTAGES && corr.is_some_and(|c| c > CHARGING_CORRELATION));
    if charging {
        flags.push(match corr {
            Some(c) if !said_charging => format!("charging (voltage rises with current: r = {c:.2}); not counted as consumption"),
            _ => "charging (the log says so); not counted as consumption".into(),
        });
    } else if voltages < MIN_DISTINCT_VOLTAGES {
        flags.push("direction_unverified (too few voltage readings to tell charge from discharge)".into());
    }
    let energy_j = (!charging).then(|| energy - baseline_w.unwrap_or(0.0) * duration_s);
    Ok(WholeTraceEnergy {
        energy_j,
        avg_power_w: energy_j.filter(|_| duration_s > 0.0).map(|e| e / duration_s),
        duration_s,
        unit_detected: if outcome.current_in_ma { "mA" } else { "uA" },
        samples: pts.len(),
        charging,
        charge_energy_j: charging.then_some(energy.abs()),
        baseline_w,
        flags,
    })
}

fn distinct(values: impl Iterator<Item = f64>) -> usize {
    let mut v: Vec<u64> = values.map(f64::to_bits).collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// Pearson correlation, `None` when either side is constant.
fn correlation(pairs: impl Iterator<Item = (f64, f64)> + Clone) -> Option<f64> {
    let n = pairs.clone().count() as f64;
    let (mx, my) = pairs.clone().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Sample;

    fn trace(rows: &[(f64, f64, f64)]) -> Trace {
        let mut t = Trace::new("test", false);
        for &(ms, i, mv) in rows {
            let mut s = Sample::at(ms);
            s.current_ua = Some(i);
            s.voltage_uv = Some(mv);
            t.samples.push(s);
        }
        t
    }

    #[test]
    fn trapezoid_in_watts_over_the_whole_trace() {
        // 0.5 A at 4 V for 2 s, then 1 A: 2 W·2 s + trapezoid (2 → 4 W over 1 s) = 4 + 3.
        let e = whole_trace(trace(&[(0.0, -500_000.0, 4000.0), (2000.0, -500_000.0, 4000.0), (3000.0, -1_000_000.0, 4000.0)]), None).unwrap();
        assert!((e.energy_j.unwrap() - 7.0).abs() < 1e-12, "{e:?}");
        assert_eq!(e.unit_detected, "uA");
        assert!((e.duration_s - 3.0).abs() < 1e-12);
        let b = whole_trace(trace(&[(0.0, 500.0, 4000.0), (1000.0, 500.0, 4000.0)]), Some(0.5)).unwrap();
        assert_eq!(b.unit_detected, "mA");
        assert!((b.energy_j.unwrap() - 1.5).abs() < 1e-12, "2 W for 1 s minus 0.5 W: {b:?}");
    }

    #[test]
    fn voltage_rising_with_current_is_charging() {
        let rows: Vec<(f64, f64, f64)> = (0..20).map(|k| (k as f64 * 500.0, 500_000.0 + 40_000.0 * k as f64, 4300.0 + 4.0 * k as f64)).collect();
        let e = whole_trace(trace(&rows), None).unwrap();
        assert!(e.charging && e.energy_j.is_none() && e.charge_energy_j.unwrap() > 0.0, "{e:?}");
        let falling: Vec<(f64, f64, f64)> = rows.iter().map(|&(t, i, v)| (t, i, 8600.0 - v)).collect();
        let d = whole_trace(trace(&falling), None).unwrap();
        assert!(!d.charging && d.energy_j.unwrap() > 0.0, "{d:?}");
    }
}
