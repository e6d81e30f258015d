//! The worker pool: coverage of every index, thread changes, nesting and panics.

use mote_kernels::ThreadPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[test]
fn every_task_runs_exactly_once() {
    for threads in [1, 2, 3, 5] {
        let pool = ThreadPool::new(threads);
        assert_eq!(pool.threads(), threads);
        for n in [0, 1, 2, 3, 7, 100, 1000] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            pool.parallel_for(n, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "threads={threads} n={n}");
        }
    }
}

#[test]
fn many_back_to_back_jobs_and_sleeping_workers() {
    let pool = ThreadPool::new(3);
    let total = AtomicUsize::new(0);
    for round in 0..2000 {
        if round % 500 == 0 {
            // Let workers fall asleep so the wake-up path is exercised too.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        pool.parallel_for(8, &|i| {
            total.fetch_add(i, Ordering::Relaxed);
        });
    }
    assert_eq!(total.load(Ordering::Relaxed), 2000 * 28);
}

#[test]
fn uses_more_than_one_thread() {
    let pool = ThreadPool::new(2);
    let ids = Mutex::new(std::collections::HashSet::new());
    // Tasks that block briefly so the second thread must pick some up.
    pool.parallel_for(16, &|_| {
        ids.lock().unwrap().insert(std::thread::current().id());
        std::thread::sleep(std::time::Duration::from_millis(2));
    });
    assert_eq!(ids.lock().unwrap().len(), 2);
}

#[test]
fn set_threads_changes_parallelism() {
    let pool = ThreadPool::new(1);
    pool.set_threads(3);
    assert_eq!(pool.threads(), 3);
    let ids = Mutex::new(std::collections::HashSet::new());
    pool.parallel_for(24, &|_| {
        ids.lock().unwrap().insert(std::thread::current().id());
        std::thread::sleep(std::time::Duration::from_millis(2));
    });
    assert_eq!(ids.lock().unwrap().len(), 3);
    pool.set_threads(1);
    let ids = Mutex::new(std::collections::HashSet::new());
    pool.parallel_for(8, &|_| {
        ids.lock().unwrap().insert(std::thread::current().id());
    });
    assert_eq!(ids.lock().unwrap().len(), 1);
    pool.set_threads(0);
    assert_eq!(pool.threads(), 1);
}

#[test]
fn nested_calls_run_inline() {
    let pool = ThreadPool::new(2);
    let count = AtomicUsize::new(0);
    pool.parallel_for(4, &|_| {
        pool.parallel_for(4, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
    });
    assert_eq!(count.load(Ordering::Relaxed), 16);
}

#[test]
fn panics_propagate_and_pool_survives() {
    let pool = ThreadPool::new(2);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.parallel_for(64, &|i| {
            if i == 63 || i == 0 {
                panic!("boom");
            }
        })
    }));
    assert!(r.is_err());
    let n = AtomicUsize::new(0);
    pool.parallel_for(10, &|_| {
        n.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(n.load(Ordering::Relaxed), 10);
}

#[test]
fn concurrent_callers_share_one_pool() {
    let pool = ThreadPool::new(2);
    let total = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..200 {
                    pool.parallel_for(5, &|i| {
                        total.fetch_add(i + 1, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 3 * 200 * 15);
}

#[test]
fn default_size_is_at_least_one() {
    let pool = ThreadPool::new(0);
    assert!(pool.threads() >= 1);
    assert!(pool.threads() <= std::thread::available_parallelism().unwrap().get());
}

#[test]
fn pools_can_be_dropped_before_workers_start() {
    // Regression: a worker that started after Drop's wake-up used to sleep forever.
    for _ in 0..200 {
        let pool = ThreadPool::new(3);
        pool.parallel_for(2, &|_| {});
        drop(pool);
        drop(ThreadPool::new(2));
    }
}
