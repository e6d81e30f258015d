//! RSS before and after a full release, alone in its own test binary so no
//! other test's allocations blur the figures.

mod common;

use mote_core::memory::accounting::process_footprint_bytes;
use mote_core::memory::Actions;
use mote_core::{CancelToken, Engine, GenerationConfig, LoadOptions};

#[test]
fn a_full_release_returns_at_least_80_percent_of_weights_and_kv() {
    let baseline = process_footprint_bytes();
    let e = Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 2048, ..Default::default() }).unwrap();
    let s = e.new_session();
    let long = "Describe the ocean in detail. ".repeat(30);
    s.send(&long, &GenerationConfig { max_tokens: 16, ..GenerationConfig::greedy() }, &CancelToken::new(), &mut |_| {}).unwrap();
    let report = e.memory_report();
    let loaded = process_footprint_bytes();
    let released_target = report.weights_bytes + report.kv_cache_bytes;
    let r = e.release(Actions::all());
    let released = process_footprint_bytes();
    let dropped = loaded.saturating_sub(released);
    println!(
        "baseline {:.1} MiB, loaded {:.1} MiB (weights {:.1} MiB, resident {:.1} MiB, KV {:.1} MiB), released {:.1} MiB: dropped {:.1} MiB = {:.0} % of weights + KV",
        mib(baseline), mib(loaded), mib(report.weights_bytes), mib(report.weights_resident_bytes), mib(report.kv_cache_bytes),
        mib(released), mib(dropped), 100.0 * dropped as f64 / released_target as f64
    );
    assert!(report.kv_cache_bytes > 0 && report.weights_bytes > 90 << 20, "{report:?}");
    assert_eq!(r.after.weights_bytes + r.after.kv_cache_bytes, 0);
    assert!(dropped as f64 >= 0.8 * released_target as f64, "RSS dropped {dropped} of {released_target}");
}

fn mib(b: u64) -> f64 {
    b as f64 / 1048576.0
}
