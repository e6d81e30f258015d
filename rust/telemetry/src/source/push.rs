//! Readings fed in from outside Rust: Kotlin reads `BatteryManager`, Swift
//! reads `UIDevice`/`ProcessInfo`, and both push through the FFI.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::EnergySource;
use crate::clock::now_ms;
use crate::sample::Sample;

struct Queue {
    items: VecDeque<Sample>,
    capacity: usize,
    dropped: usize,
}

/// The sampler side. Create with [`PushSource::new`], hand the [`PushHandle`]
/// to the platform layer.
pub struct PushSource {
    name: String,
    estimate: bool,
    queue: Arc<Mutex<Queue>>,
}

/// Cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct PushHandle {
    queue: Arc<Mutex<Queue>>,
}

fn lock(q: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // A panic elsewhere while holding the lock leaves a plain queue behind;
    // it is still consistent, so keep using it.
    q.lock().unwrap_or_else(|e| e.into_inner())
}

impl PushSource {
    pub fn new(
        name: impl Into<String>,
        estimate: bool,
        capacity: usize,
    ) -> (PushSource, PushHandle) {
        let queue = Arc::new(Mutex::new(Queue {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }));
        (
            PushSource {
                name: name.into(),
                estimate,
                queue: queue.clone(),
            },
            PushHandle { queue },
        )
    }

    /// Samples discarded because nobody drained the queue in time.
    pub fn dropped(&self) -> usize {
        lock(&self.queue).dropped
    }
}

impl PushHandle {
    /// Queues a sample with the caller's `t_ms` (must be on [`now_ms`]'s clock).
    pub fn push(&self, sample: Sample) {
        let mut q = lock(&self.queue);
        if q.items.len() >= q.capacity {
            // The oldest reading is the least useful one for a live sampler.
            q.items.pop_front();
            q.dropped += 1;
        }
        q.items.push_back(sample);
    }

    /// Queues a sample stamped with the current time, for callers that
    /// have no access to the Rust clock.
    pub fn push_now(&self, mut sample: Sample) {
        sample.t_ms = now_ms();
        self.push(sample);
    }
}

impl EnergySource for PushSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_estimate(&self) -> bool {
        self.estimate
    }
    fn sample(&mut self) -> Option<Sample> {
        lock(&self.queue).items.pop_front()
    }
    fn max_per_poll(&self) -> usize {
        lock(&self.queue).capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_samples_come_out_in_order_and_overflow_drops_oldest() {
        let (mut src, handle) = PushSource::new("android-batterymanager", false, 2);
        let h2 = handle.clone();
        std::thread::spawn(move || {
            for t in 0..3 {
                h2.push(Sample::at(t as f64));
            }
        })
        .join()
        .unwrap();
        assert_eq!(src.dropped(), 1);
        assert_eq!(src.sample().map(|s| s.t_ms), Some(1.0));
        assert_eq!(src.sample().map(|s| s.t_ms), Some(2.0));
        assert_eq!(src.sample(), None);
        assert_eq!(src.name(), "android-batterymanager");
    }

    #[test]
    fn push_now_stamps_the_shared_clock() {
        let (mut src, handle) = PushSource::new("ios", false, 4);
        let before = now_ms();
        handle.push_now(Sample::at(-1.0));
        let t = src.sample().unwrap().t_ms;
        assert!(t >= before && t <= now_ms());
    }
}
