//! Recorded traces whose energy is known by hand. Every fixture has the same
//! timeline: idle 0–1 s, prefill 1–2 s, decode 2–4 s, idle 4–5 s, a reading
//! every 250 ms, true power idle 1 W, prefill 4 W, decode 3 W. Power is
//! linear between readings, so the trapezoidal rule is exact and:
//!
//! * idle before: 0.75 s × 1 W + ramp 1→4 W over 0.25 s (0.625 J) = 1.375 J
//! * prefill:     0.75 s × 4 W + ramp 4→3 W (0.875 J)             = 3.875 J
//! * decode:      1.75 s × 3 W + ramp 3→1 W (0.5 J)               = 5.75 J
//! * idle after:  1 s × 1 W                                       = 1.0 J
//! * baseline = (1.375 + 1.0) J / 2 s = 1.1875 W
//! * net prefill = 3.875 − 1.1875 = 2.6875 J; net decode = 5.75 − 2 × 1.1875 = 3.375 J

use mote_telemetry::trace_csv::parse_trace_csv;
use mote_telemetry::{EnergyReport, Integrator};

const TOKENS: u64 = 50;
const BASELINE_W: f64 = 2.375 / 2.0;
const NET_PREFILL: f64 = 3.875 - BASELINE_W;
const NET_DECODE: f64 = 5.75 - 2.0 * BASELINE_W;

fn report(name: &str) -> EnergyReport {
    let path = format!("{}/tests/traces/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let trace = parse_trace_csv(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    Integrator::default()
        .integrate(&trace, TOKENS)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn assert_close(got: f64, want: f64, what: &str) {
    let rel = ((got - want) / want).abs();
    assert!(
        rel < 1e-9,
        "{what}: got {got}, want {want} (rel err {rel:e})"
    );
}

fn has(r: &EnergyReport, flag: &str) -> bool {
    r.flags.iter().any(|f| f == flag)
}

#[test]
fn negative_discharge_current_is_flipped_and_integrates_exactly() {
    let r = report("sign_flip.csv");
    assert_close(r.baseline_watts, BASELINE_W, "baseline");
    assert_close(r.joules_prefill, NET_PREFILL, "prefill");
    assert_close(r.joules_decode, NET_DECODE, "decode");
    assert_close(r.joules, 6.0625, "total");
    assert_close(r.joules_per_token, 6.0625 / 50.0, "J/token");
    assert_close(r.tokens_per_joule, 50.0 / 6.0625, "tokens/J");
    assert_close(r.avg_watts, 6.0625 / 3.0, "avg W");
    // 4 V cell: mAh = J / V / 3.6; over 3 s, extrapolated to an hour of a 4000 mAh battery.
    let mah = 6.0625 / 4.0 / 3.6;
    assert_close(r.mah, mah, "mAh");
    assert_close(
        r.battery_pct_per_hour.expect("capacity known"),
        mah * 1200.0 / 4000.0 * 100.0,
        "%/h",
    );
    assert_eq!(r.samples, 13);
    assert!(r.valid && !r.low_confidence && !r.estimate);
    assert!(has(&r, "current_sign_flipped"), "{:?}", r.flags);
}

#[test]
fn milliamp_vendor_gives_the_same_energy() {
    let r = report("milliamps.csv");
    assert_close(r.joules, 6.0625, "total");
    assert_close(r.joules_prefill, NET_PREFILL, "prefill");
    assert!(has(&r, "current_reported_in_mA"), "{:?}", r.flags);
    assert!(!has(&r, "current_sign_flipped"));
}

#[test]
fn gap_is_bridged_and_its_energy_counted_as_uncertainty() {
    let gap = report("gaps.csv");
    let full = report("sign_flip.csv");
    // Decode power is 3 W on both sides of the gap, so the bridge is exact here...
    assert_close(gap.joules, 6.0625, "total");
    assert_close(gap.joules_decode, NET_DECODE, "decode");
    // ...but we could not know that: the 1.75 s × 3 W inside it is uncertain.
    assert_close(
        gap.uncertainty_pct - full.uncertainty_pct,
        100.0 * 5.25 / 6.0625,
        "gap uncertainty",
    );
    assert!(has(&gap, "bridged_ms:1750"), "{:?}", gap.flags);
    // No voltage column: mAh falls back to the nominal 3.85 V, and says so.
    assert_close(gap.mah, 6.0625 / 3.85 / 3.6, "mAh");
    assert!(has(&gap, "mah_from_nominal_voltage"));
    assert_eq!(gap.battery_pct_per_hour, None, "no capacity in this trace");
    assert_eq!(gap.samples, 7);
    assert!(gap.low_confidence, "7 readings < 8");
}

#[test]
fn charging_during_decode_invalidates_the_run() {
    let r = report("charging.csv");
    // Decode: 0.25 s × 3 W, ramp 3→−0.8 W (0.275 J), 0.5 s × −0.8 W, ramp back
    // (0.275 J), 0.5 s × 3 W, ramp 3→1 W (0.5 J) = 2.9 J gross.
    assert_close(r.joules_decode, 2.9 - 2.0 * BASELINE_W, "decode");
    assert_close(r.joules, NET_PREFILL + 2.9 - 2.0 * BASELINE_W, "total");
    assert!(!r.valid);
    assert!(has(&r, "charging_during_window"), "{:?}", r.flags);
    assert!(has(&r, "negative_power_in_window"));
    assert!(
        !has(&r, "current_sign_flipped"),
        "only unplugged readings vote on the sign"
    );
}

#[test]
fn stale_current_is_dropped_and_bridged_not_trusted() {
    let r = report("stale.csv");
    assert!(has(&r, "stale_current_samples:10"), "{:?}", r.flags);
    // Left: (1000 ms, 4 W) then (3750 ms, 3 W); a straight line between them
    // reaches 40/11 W at 2000 ms. Prefill = (4 + 40/11)/2 × 1 s = 42/11 J;
    // decode = (40/11 + 3)/2 × 1.75 s + 0.5 J = 127.75/22 + 0.5 J.
    assert_close(r.joules_prefill, 42.0 / 11.0 - BASELINE_W, "prefill");
    assert_close(
        r.joules_decode,
        127.75 / 22.0 + 0.5 - 2.0 * BASELINE_W,
        "decode",
    );
    assert_close(r.joules, 6.5625, "total");
    // Trusting the frozen reading would have said 4 W until 3750 ms instead.
    assert!(has(&r, "bridged_ms:2750"));
    assert!(r.uncertainty_pct > 100.0 * (42.0 / 11.0 + 127.75 / 22.0) / 6.5625);
    assert!(r.low_confidence);
}
