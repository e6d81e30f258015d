//! Vendor quirks in raw battery readings, fixed once per trace:
//!
//! * **Units.** Some phones report `current_now` in mA instead of µA. A phone
//!   running an LLM draws hundreds of mA, so if *no* reading in the trace
//!   reaches `ma_threshold` (20 000) the trace cannot be µA (that would be
//!   < 20 mA under load) and is scaled ×1000. One reading ≥ 20 000 proves µA:
//!   20 000 mA (20 A) is impossible on a phone. Voltage gets the same kind of
//!   rule: a 3–5 V cell reads below 100 in V and below 100 000 in mV.
//! * **Sign.** Discharge is positive after normalization. Vendors disagree, so
//!   the sign is decided per trace by the majority sign of nonzero readings
//!   taken while not on external power (all readings when that is unknown).
//! * **Stale values.** A fuel gauge that stops updating repeats its last value.
//!   A value repeated unchanged for longer than `stale_ms` keeps only its first
//!   occurrence; the repeats are removed, so the integrator bridges the hole
//!   and counts it in the uncertainty instead of trusting a frozen number.
//!   Only `current_ua` is checked: it is the fuel-gauge field that freezes,
//!   while computed power (RAPL deltas, the CPU model at idle) can
//!   legitimately repeat.

use crate::sample::{Sample, Trace};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalizeConfig {
    pub ma_threshold: f64,
    pub stale_ms: f64,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            ma_threshold: 20_000.0,
            stale_ms: 2_000.0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NormalizeOutcome {
    pub current_in_ma: bool,
    pub voltage_scale: f64,
    pub current_sign_flipped: bool,
    pub power_sign_flipped: bool,
    pub stale_current: usize,
}

/// Fixes `trace` in place and records what changed in `trace.notes`.
/// A trace already normalized is left untouched (scaling twice would be wrong).
pub fn normalize(trace: &mut Trace, cfg: &NormalizeConfig) -> NormalizeOutcome {
    let mut out = NormalizeOutcome {
        voltage_scale: 1.0,
        ..Default::default()
    };
    if trace.normalized {
        return out;
    }
    let s = &mut trace.samples;
    let max_abs = |s: &[Sample], f: fn(&Sample) -> Option<f64>| {
        s.iter()
            .filter_map(f)
            .filter(|v| v.is_finite())
            .map(f64::abs)
            .fold(0.0, f64::max)
    };

    let max_i = max_abs(s, |x| x.current_ua);
    if max_i > 0.0 && max_i < cfg.ma_threshold {
        scale(s, |x| &mut x.current_ua, 1000.0);
        out.current_in_ma = true;
    }
    let max_v = max_abs(s, |x| x.voltage_uv);
    out.voltage_scale = match max_v {
        v if v <= 0.0 => 1.0,
        v if v < 100.0 => 1e6,
        v if v < 100_000.0 => 1e3,
        _ => 1.0,
    };
    if out.voltage_scale != 1.0 {
        scale(s, |x| &mut x.voltage_uv, out.voltage_scale);
    }

    out.current_sign_flipped = discharge_is_negative(s, |x| x.current_ua);
    if out.current_sign_flipped {
        scale(s, |x| &mut x.current_ua, -1.0);
    }
    out.power_sign_flipped = discharge_is_negative(s, |x| x.power_uw);
    if out.power_sign_flipped {
        scale(s, |x| &mut x.power_uw, -1.0);
    }

    out.stale_current = drop_stale(s, |x| &mut x.current_ua, cfg.stale_ms);

    let notes = &mut trace.notes;
    if out.current_in_ma {
        notes.push("current_reported_in_mA".into());
    }
    if out.voltage_scale != 1.0 {
        notes.push(format!("voltage_scaled_x{}", out.voltage_scale));
    }
    if out.current_sign_flipped {
        notes.push("current_sign_flipped".into());
    }
    if out.power_sign_flipped {
        notes.push("power_sign_flipped".into());
    }
    if out.stale_current > 0 {
        notes.push(format!("stale_current_samples:{}", out.stale_current));
    }
    trace.normalized = true;
    out
}

fn scale(samples: &mut [Sample], field: fn(&mut Sample) -> &mut Option<f64>, k: f64) {
    for s in samples {
        if let Some(v) = field(s).as_mut() {
            *v *= k;
        }
    }
}

fn discharge_is_negative(samples: &[Sample], field: fn(&Sample) -> Option<f64>) -> bool {
    let knows_unplugged = samples.iter().any(|s| s.charging == Some(false));
    let (mut pos, mut neg) = (0usize, 0usize);
    for s in samples {
        let counts = if knows_unplugged {
            s.charging == Some(false)
        } else {
            s.charging != Some(true)
        };
        match field(s) {
            Some(v) if counts && v > 0.0 => pos += 1,
            Some(v) if counts && v < 0.0 => neg += 1,
            _ => {}
        }
    }
    neg > pos
}

/// Returns how many repeats were removed.
fn drop_stale(
    samples: &mut [Sample],
    field: fn(&mut Sample) -> &mut Option<f64>,
    stale_ms: f64,
) -> usize {
    let present: Vec<usize> = (0..samples.len())
        .filter(|&i| field(&mut samples[i]).is_some())
        .collect();
    let mut removed = 0;
    let mut start = 0;
    while start < present.len() {
        let value = *field(&mut samples[present[start]]);
        let mut end = start;
        while end + 1 < present.len() && *field(&mut samples[present[end + 1]]) == value {
            end += 1;
        }
        let span = samples[present[end]].t_ms - samples[present[start]].t_ms;
        if span > stale_ms {
            for &i in &present[start + 1..=end] {
                *field(&mut samples[i]) = None;
                removed += 1;
            }
        }
        start = end + 1;
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(currents: &[(f64, f64, Option<bool>)]) -> Trace {
        let mut t = Trace::new("test", false);
        for &(t_ms, i, charging) in currents {
            let mut s = Sample::at(t_ms);
            s.current_ua = Some(i);
            s.charging = charging;
            t.samples.push(s);
        }
        t
    }

    fn currents(t: &Trace) -> Vec<Option<f64>> {
        t.samples.iter().map(|s| s.current_ua).collect()
    }

    #[test]
    fn milliamps_below_threshold_are_scaled_and_microamps_are_not() {
        let mut ma = trace(&[(0.0, 350.0, None), (100.0, 19_999.0, None)]);
        assert!(normalize(&mut ma, &NormalizeConfig::default()).current_in_ma);
        assert_eq!(currents(&ma), vec![Some(350_000.0), Some(19_999_000.0)]);
        let mut ua = trace(&[(0.0, 350.0, None), (100.0, 20_000.0, None)]);
        assert!(!normalize(&mut ua, &NormalizeConfig::default()).current_in_ma);
        assert_eq!(currents(&ua), vec![Some(350.0), Some(20_000.0)]);
    }

    #[test]
    fn sign_follows_majority_while_unplugged_and_ignores_charging_samples() {
        // Discharge reported negative; the charging samples are positive and
        // outnumber them, but they must not vote.
        let mut t = trace(&[
            (0.0, -300_000.0, Some(false)),
            (100.0, -310_000.0, Some(false)),
            (200.0, 5_000.0, Some(false)),
            (300.0, 900_000.0, Some(true)),
            (400.0, 910_000.0, Some(true)),
            (500.0, 920_000.0, Some(true)),
        ]);
        assert!(normalize(&mut t, &NormalizeConfig::default()).current_sign_flipped);
        assert_eq!(currents(&t)[0], Some(300_000.0));
        assert_eq!(currents(&t)[3], Some(-900_000.0));
        assert!(t.notes.contains(&"current_sign_flipped".to_string()));
    }

    #[test]
    fn positive_discharge_is_kept() {
        let mut t = trace(&[
            (0.0, 300_000.0, None),
            (100.0, -1_000.0, None),
            (200.0, 310_000.0, None),
        ]);
        assert!(!normalize(&mut t, &NormalizeConfig::default()).current_sign_flipped);
        assert_eq!(currents(&t)[0], Some(300_000.0));
    }

    #[test]
    fn long_repeats_keep_only_the_first_and_short_ones_survive() {
        let cfg = NormalizeConfig {
            stale_ms: 1000.0,
            ..Default::default()
        };
        let rows: Vec<_> = (0..8)
            .map(|k| {
                (
                    k as f64 * 500.0,
                    if k < 6 {
                        400_000.0
                    } else {
                        420_000.0 + k as f64
                    },
                    None,
                )
            })
            .collect();
        let mut t = trace(&rows);
        let out = normalize(&mut t, &cfg);
        // 0..=2500 ms is 2500 ms > 1000 ms: five repeats removed.
        assert_eq!(out.stale_current, 5);
        assert_eq!(
            currents(&t)[..6],
            [Some(400_000.0), None, None, None, None, None]
        );
        let mut short = trace(&[
            (0.0, 400_000.0, None),
            (1000.0, 400_000.0, None),
            (1500.0, 410_000.0, None),
        ]);
        assert_eq!(normalize(&mut short, &cfg).stale_current, 0);
    }

    #[test]
    fn voltage_in_millivolts_or_volts_is_rescaled() {
        let mut t = trace(&[(0.0, 300_000.0, None)]);
        t.samples[0].voltage_uv = Some(3850.0);
        assert_eq!(
            normalize(&mut t, &NormalizeConfig::default()).voltage_scale,
            1e3
        );
        assert_eq!(t.samples[0].voltage_uv, Some(3_850_000.0));
        let mut v = trace(&[(0.0, 300_000.0, None)]);
        v.samples[0].voltage_uv = Some(3.85);
        normalize(&mut v, &NormalizeConfig::default());
        assert!((v.samples[0].voltage_uv.unwrap() - 3_850_000.0).abs() < 1e-6);
    }

    #[test]
    fn normalizing_twice_changes_nothing_more() {
        let mut t = trace(&[(0.0, -350.0, Some(false)), (100.0, -360.0, Some(false))]);
        normalize(&mut t, &NormalizeConfig::default());
        let once = t.clone();
        let second = normalize(&mut t, &NormalizeConfig::default());
        assert_eq!(t, once);
        assert!(!second.current_in_ma && !second.current_sign_flipped);
    }
}
