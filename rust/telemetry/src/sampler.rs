//! Polls an [`EnergySource`] on a background thread while the engine runs.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::now_ms;
use crate::error::TelemetryError;
use crate::sample::Trace;
use crate::sample::{Phase, PhaseMark, Sample};
use crate::source::EnergySource;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerConfig {
    pub interval: Duration,
    /// Samples kept at most; later ones are counted in `Trace::dropped`.
    pub capacity: usize,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            interval: Duration::from_millis(100),
            capacity: 100_000,
        }
    }
}

struct Shared {
    samples: Vec<Sample>,
    marks: Vec<PhaseMark>,
    dropped: usize,
    capacity: usize,
}

impl Shared {
    fn record(&mut self, s: Sample) {
        if self.samples.len() < self.capacity {
            self.samples.push(s);
        } else {
            self.dropped += 1;
        }
    }
}

pub struct Sampler {
    shared: Arc<Mutex<Shared>>,
    stop_tx: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    source_name: String,
    estimate: bool,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Only plain pushes happen under the lock, so a poisoned one is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sampler {
    pub fn start(
        mut source: Box<dyn EnergySource>,
        config: SamplerConfig,
    ) -> Result<Sampler, TelemetryError> {
        if config.interval.is_zero() || config.capacity == 0 {
            return Err(TelemetryError::InvalidConfig(format!(
                "sampler needs a nonzero interval and capacity: {config:?}"
            )));
        }
        let shared = Arc::new(Mutex::new(Shared {
            samples: Vec::new(),
            marks: Vec::new(),
            dropped: 0,
            capacity: config.capacity,
        }));
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let source_name = source.name().to_string();
        let estimate = source.is_estimate();
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("mote-telemetry-sampler".into())
            .spawn(move || loop {
                for _ in 0..source.max_per_poll().max(1) {
                    match source.sample() {
                        Some(s) => lock(&worker).record(s),
                        None => break,
                    }
                }
                // Waiting on the channel rather than sleeping lets stop() return at once.
                match stop_rx.recv_timeout(config.interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                        // Catch what a push source received since the last poll.
                        while let Some(s) = source.sample() {
                            lock(&worker).record(s);
                            if source.max_per_poll() <= 1 {
                                break;
                            }
                        }
                        return;
                    }
                }
            })
            .map_err(TelemetryError::Spawn)?;
        Ok(Sampler {
            shared,
            stop_tx: Some(stop_tx),
            thread: Some(thread),
            source_name,
            estimate,
        })
    }

    /// Marks that `phase` starts now.
    pub fn mark(&self, phase: Phase) {
        self.mark_at(phase, now_ms());
    }

    /// Marks that `phase` started at `t_ms` (on [`now_ms`]'s clock).
    pub fn mark_at(&self, phase: Phase, t_ms: f64) {
        lock(&self.shared).marks.push(PhaseMark { phase, t_ms });
    }

    /// Stops the thread and hands back everything recorded, raw (not normalized).
    pub fn stop(mut self) -> Trace {
        self.halt();
        let end_ms = now_ms();
        let mut g = lock(&self.shared);
        let mut trace = Trace::new(self.source_name.clone(), self.estimate);
        trace.samples = std::mem::take(&mut g.samples);
        trace.marks = std::mem::take(&mut g.marks);
        trace.dropped = g.dropped;
        trace.end_ms = trace.samples.last().map_or(end_ms, |s| s.t_ms.max(end_ms));
        trace
    }

    fn halt(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::warn!("telemetry sampler thread panicked; trace may be short");
            }
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::PushSource;

    struct Counter(u32);
    impl EnergySource for Counter {
        fn name(&self) -> &str {
            "counter"
        }
        fn is_estimate(&self) -> bool {
            true
        }
        fn sample(&mut self) -> Option<Sample> {
            self.0 += 1;
            let mut s = Sample::at(now_ms());
            s.power_uw = Some(self.0 as f64);
            Some(s)
        }
    }

    #[test]
    fn samples_in_background_and_records_marks_in_time_order() {
        let cfg = SamplerConfig {
            interval: Duration::from_millis(5),
            capacity: 1000,
        };
        let sampler = Sampler::start(Box::new(Counter(0)), cfg).unwrap();
        sampler.mark(Phase::Prefill);
        std::thread::sleep(Duration::from_millis(60));
        sampler.mark(Phase::Decode);
        let trace = sampler.stop();
        assert_eq!(trace.source, "counter");
        assert!(trace.estimate);
        assert!(trace.samples.len() >= 3, "got {}", trace.samples.len());
        assert!(trace.samples.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
        assert_eq!(
            trace.marks.iter().map(|m| m.phase).collect::<Vec<_>>(),
            vec![Phase::Prefill, Phase::Decode]
        );
        assert!(trace.marks[0].t_ms < trace.marks[1].t_ms);
        assert!(trace.end_ms >= trace.marks[1].t_ms);
    }

    #[test]
    fn full_buffer_counts_drops_instead_of_growing() {
        let cfg = SamplerConfig {
            interval: Duration::from_millis(1),
            capacity: 2,
        };
        let sampler = Sampler::start(Box::new(Counter(0)), cfg).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let trace = sampler.stop();
        assert_eq!(trace.samples.len(), 2);
        assert!(trace.dropped > 0);
    }

    #[test]
    fn push_samples_reach_the_trace_even_when_pushed_just_before_stop() {
        let (src, handle) = PushSource::new("push", false, 64);
        let cfg = SamplerConfig {
            interval: Duration::from_secs(60),
            capacity: 100,
        };
        let sampler = Sampler::start(Box::new(src), cfg).unwrap();
        for t in 0..5 {
            handle.push(Sample::at(t as f64));
        }
        let trace = sampler.stop();
        assert_eq!(
            trace.samples.iter().map(|s| s.t_ms).collect::<Vec<_>>(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0]
        );
    }

    #[test]
    fn zero_interval_is_rejected() {
        let cfg = SamplerConfig {
            interval: Duration::ZERO,
            capacity: 1,
        };
        assert!(matches!(
            Sampler::start(Box::new(Counter(0)), cfg),
            Err(TelemetryError::InvalidConfig(_))
        ));
    }
}
