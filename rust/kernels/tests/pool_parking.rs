//! Thermal throttling: after `set_threads` lowers the count, the surplus
//! workers must really sleep (no CPU time at all, not even spinning between
//! jobs), and raising the count must bring them back into the next jobs.
//!
//! Linux only: per-thread CPU time comes from /proc/self/task/*/schedstat
//! (nanoseconds on CPU), falling back to utime+stime in /proc/.../stat.
//! This file holds a single test so that its pool is the only one whose
//! `mote-kernels-{idx}` threads exist in the process.
#![cfg(target_os = "linux")]

use mote_kernels::ThreadPool;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

const WORKERS: usize = 3; // ThreadPool::new(4): the caller plus three workers
/// CPU a parked worker may show over a whole run: 0 in practice; this only
/// absorbs one last spin (≤ 300 µs) and tick-granular accounting.
const PARKED_MAX_NS: u64 = 5_000_000;
const PARKED_MAX_NS_TICKS: u64 = 30_000_000;

/// (tid, idx) of every pool worker, found by thread name.
fn worker_tids() -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let tid = e.file_name().to_string_lossy().into_owned();
        let Ok(comm) = std::fs::read_to_string(e.path().join("comm")) else { continue };
        if let Some(idx) = comm.trim().strip_prefix("mote-kernels-") {
            out.push((tid, idx.parse().unwrap()));
        }
    }
    out
}

/// CPU time of thread `tid` in ns, and whether it came from schedstat (exact)
/// or from clock ticks.
fn cpu_ns(tid: &str) -> (u64, bool) {
    if let Ok(s) = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")) {
        if let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse().ok()) {
            return (ns, true);
        }
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest.split_whitespace().skip(11).take(2).map(|v| v.parse().unwrap()).collect();
    ((f[0] + f[1]) * 10_000_000, false) // USER_HZ is 100 on Linux
}

fn cpu_by_idx(tids: &[(String, usize)]) -> ([u64; WORKERS], bool) {
    let mut out = [0; WORKERS];
    let mut exact = true;
    for (tid, idx) in tids {
        let (ns, e) = cpu_ns(tid);
        out[*idx] = ns;
        exact &= e;
    }
    (out, exact)
}

/// Back-to-back small jobs, the shape of decode's matmul loops, for at least
/// `wall` and until each of the first `active` workers ran a task (a loaded
/// machine may keep one off the CPU for a while; capped at 10 s); returns how
/// many tasks each worker ran.
fn run_jobs(pool: &ThreadPool, wall: Duration, active: usize) -> [usize; WORKERS] {
    let ran: [AtomicUsize; WORKERS] = Default::default();
    let t0 = Instant::now();
    while t0.elapsed() < wall || (t0.elapsed() < Duration::from_secs(10) && ran[..active].iter().any(|a| a.load(Relaxed) == 0)) {
        pool.parallel_for(16, &|i| {
            let mut x = i as u64 + 1;
            for _ in 0..2000 {
                x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
            }
            if let Some(idx) = std::thread::current().name().and_then(|n| n.strip_prefix("mote-kernels-")) {
                ran[idx.parse::<usize>().unwrap()].fetch_add(1, Relaxed);
            }
        });
    }
    ran.map(|a| a.into_inner())
}

/// Raised workers join the next jobs: tasks that sleep leave every thread
/// time to pick some up. Retries a few jobs so a loaded machine cannot flake.
fn assert_all_workers_join(pool: &ThreadPool) {
    let ran: [AtomicUsize; WORKERS] = Default::default();
    for _ in 0..20 {
        pool.parallel_for(24, &|_| {
            if let Some(idx) = std::thread::current().name().and_then(|n| n.strip_prefix("mote-kernels-")) {
                ran[idx.parse::<usize>().unwrap()].fetch_add(1, Relaxed);
            }
            std::thread::sleep(Duration::from_millis(2));
        });
        if ran.iter().all(|a| a.load(Relaxed) > 0) {
            return;
        }
    }
    panic!("after raising the thread count some workers never ran a task: {ran:?}");
}

/// Lowers to `threads`, lets the lowered workers settle, runs jobs, and checks
/// that workers `>= threads - 1` used no CPU while the others did the work.
fn check_parked(pool: &ThreadPool, tids: &[(String, usize)], threads: usize) {
    pool.set_threads(threads);
    std::thread::sleep(Duration::from_millis(20));
    let (before, exact) = cpu_by_idx(tids);
    let t0 = Instant::now();
    let ran = run_jobs(pool, Duration::from_millis(300), threads - 1);
    let wall_ms = t0.elapsed().as_secs_f64() * 1e3;
    let (after, _) = cpu_by_idx(tids);
    let limit = if exact { PARKED_MAX_NS } else { PARKED_MAX_NS_TICKS };
    for idx in 0..WORKERS {
        let used = after[idx] - before[idx];
        if idx + 1 >= threads {
            assert_eq!(ran[idx], 0, "threads={threads}: surplus worker {idx} ran tasks");
            assert!(
                used <= limit,
                "threads={threads}: surplus worker {idx} used {:.1} ms of CPU in {wall_ms:.0} ms of jobs (should be parked)",
                used as f64 / 1e6
            );
        } else {
            assert!(ran[idx] > 0, "threads={threads}: active worker {idx} ran no task");
            assert!(used > 0 || !exact, "threads={threads}: active worker {idx} used no CPU");
        }
    }
}

#[test]
fn lowered_workers_park_and_raised_workers_return() {
    let pool = ThreadPool::new(4);
    assert_all_workers_join(&pool);
    let tids = worker_tids();
    assert_eq!(tids.len(), WORKERS, "{tids:?}");

    // Lowered while the workers are hot (spinning right after a job).
    run_jobs(&pool, Duration::from_millis(50), 0);
    check_parked(&pool, &tids, 2);
    pool.set_threads(4);
    assert_all_workers_join(&pool);

    // Lowered while the workers are asleep between jobs.
    std::thread::sleep(Duration::from_millis(20));
    check_parked(&pool, &tids, 1);
    pool.set_threads(3);
    check_parked(&pool, &tids, 3);
    pool.set_threads(4);
    assert_all_workers_join(&pool);
    assert_eq!(pool.threads(), 4);
}
