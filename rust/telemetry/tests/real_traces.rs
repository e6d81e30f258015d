//! `mote energy import` on 14 real Android BatteryManager traces (a Pixel 3
//! and a Galaxy J7, from S2-group/battery-manager-ar-plugin-evaluation at
//! c09266e4), against the energies the authors published for the same runs.
//!
//! The traces carry no licence, so they are not in this repository: they are
//! read from `../shared/traces/android-batterymanager` beside the checkout
//! (or `MOTE_SHARED_TRACES`), and the test says it skipped when absent.
//!
//! Published values: the `Energy trapz (J)` column of each batch's
//! `Aggregated_Results_Batterymanager.csv` in that repository (paths in
//! docs/notes/s2-battery-traces.md). Their method is ours without the
//! normaliser: trapezoid of |I|·V, I taken as µA, no baseline. So:
//! * Pixel 3 runs (µA) must match to rounding;
//! * Galaxy J7 runs report mA: the authors' figures are 1000× too small,
//!   and ours must be exactly 1000× theirs, with the unit detected;
//! * pixel3-gps-2 was recorded on a charger (current 0.5–1.3 A rising with
//!   the voltage): the authors count its 267 J as consumption; we flag it
//!   and report no consumption.

use std::path::PathBuf;

use mote_telemetry::import::{parse_batterymanager, whole_trace};

/// (file, published J, device reports mA, charging)
const PUBLISHED: [(&str, f64, bool, bool); 14] = [
    ("pixel3-cpufactorial-1.csv", 34.79231136981601, false, false),
    ("pixel3-camera-1.csv", 90.19141939785149, false, false),
    ("pixel3-gps-1.csv", 34.386960989814995, false, false),
    ("pixel3-https-1.csv", 35.250076264756004, false, false),
    ("pixel3-writelocal-1.csv", 34.767186659557495, false, false),
    ("pixel3-baseline-1.csv", 40.64674433771, false, false),
    ("pixel3-cpufactorial-2.csv", 46.7458624149325, false, false),
    ("pixel3-gps-2.csv", 267.22914324693045, false, true),
    ("galaxyj7-cpufactorial-1.csv", 0.03420115758799999, true, false),
    ("galaxyj7-camera-1.csv", 0.054072767342000005, true, false),
    ("galaxyj7-gps-1.csv", 0.033532267953500006, true, false),
    ("galaxyj7-https-1.csv", 0.026984432129499997, true, false),
    ("galaxyj7-baseline-1.csv", 0.029453836032000004, true, false),
    ("galaxyj7-gps-2.csv", 0.028626911159499998, true, false),
];

/// Same formula, different rounding order (V·1e3·1e-6 vs V/1e3): 1e-12 relative is ample.
const TOLERANCE: f64 = 1e-9;

fn traces_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MOTE_SHARED_TRACES").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces/android-batterymanager")
    });
    dir.join(PUBLISHED[0].0).is_file().then_some(dir)
}

#[test]
fn real_traces_match_the_published_energies() {
    let Some(dir) = traces_dir() else {
        eprintln!("SKIPPED: ../shared/traces/android-batterymanager is not beside this checkout (set MOTE_SHARED_TRACES)");
        return;
    };
    for (file, published, in_ma, charging) in PUBLISHED {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let e = whole_trace(parse_batterymanager(&text).unwrap(), None).unwrap();
        let ours = if charging { e.charge_energy_j.unwrap() } else { e.energy_j.unwrap() };
        let theirs = if in_ma { published * 1000.0 } else { published };
        let rel = (ours - theirs).abs() / theirs;
        eprintln!("{file:28} ours {ours:10.4} J, published {published:.6} J{}, rel diff {rel:.1e}, unit {}, flags {:?}", if in_ma { " (×1000: mA)" } else { "" }, e.unit_detected, e.flags);
        assert!(rel < TOLERANCE, "{file}: {ours} J vs {theirs} J");
        assert_eq!(e.unit_detected, if in_ma { "mA" } else { "uA" }, "{file}");
        assert_eq!(e.charging, charging, "{file}: {:?}", e.flags);
        assert_eq!(e.energy_j.is_none(), charging, "{file}");
        if !charging {
            // 60 s runs of a phone at 0.3–1.5 W.
            let w = e.avg_power_w.unwrap();
            assert!((0.3..1.6).contains(&w), "{file}: {w} W");
        }
    }
}
