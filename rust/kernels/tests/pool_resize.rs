//! `set_threads` racing with jobs: the thermal policy resizes the pool from its
//! own thread while decode keeps issuing `parallel_for`. Every task must still
//! run exactly once, nothing may hang, and the pool must shut down cleanly.

use mote_kernels::ThreadPool;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[test]
fn resizing_while_jobs_run() {
    for _ in 0..3 {
        let pool = ThreadPool::new(4);
        let stop = AtomicBool::new(false);
        let jobs = AtomicUsize::new(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut x = 0x2545f4914f6cdd1du64;
                while !stop.load(Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    pool.set_threads(1 + (x % 5) as usize);
                    if x % 3 == 0 {
                        std::thread::sleep(Duration::from_micros(x % 500));
                    } else {
                        std::thread::yield_now();
                    }
                }
            });
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_millis(200) {
                for n in [2, 7, 33] {
                    let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                    pool.parallel_for(n, &|i| {
                        hits[i].fetch_add(1, Relaxed);
                    });
                    assert!(hits.iter().all(|h| h.load(Relaxed) == 1), "n={n}");
                    jobs.fetch_add(1, Relaxed);
                }
            }
            stop.store(true, Relaxed);
        });
        assert!(jobs.load(Relaxed) > 0);
        // Whatever the last resize was, raising to the full count works.
        pool.set_threads(4);
        let n = AtomicUsize::new(0);
        pool.parallel_for(100, &|_| {
            n.fetch_add(1, Relaxed);
        });
        assert_eq!(n.load(Relaxed), 100);
    }
}
