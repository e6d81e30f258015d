//! One process-wide monotonic clock, so that samples taken by any source,
//! samples pushed from Kotlin/Swift and phase marks share a time base.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the first call in this process (monotonic, never goes back).
pub fn now_ms() -> f64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    epoch.elapsed().as_secs_f64() * 1000.0
}
