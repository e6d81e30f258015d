//! CPU cost of the worker pool when the thermal policy lowers the thread
//! count: runs decode-shaped matmuls back to back for ~2 s at HIGH threads,
//! then ~2 s at LOW threads (via `set_threads`), and prints the process CPU
//! time per wall second of each phase. With lowered workers parked, CPU time
//! per second drops in proportion to the threads in use (as long as HIGH fits
//! the cores); the "surplus" column is the CPU the lowered workers still burn.
//!
//!   cargo run --release -p mote-kernels --example pool_cpu [-- HIGH [LOW]]
//!
//! HIGH defaults to the available cores, LOW to HIGH / 2. Linux only (/proc).
//! With HIGH above the core count, process CPU per second is capped by the
//! cores in both phases; the surplus column and layers/s then show whether the
//! lowered workers still take CPU from the active ones. LOW = 1 runs jobs
//! inline on the caller, so it never involves the lowered workers at all.

use mote_kernels::{QMatrix, QuantType, ThreadPool};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PHASE: Duration = Duration::from_secs(2);

/// Process CPU time (all threads, user + system) in seconds, from /proc/self/stat.
fn process_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split_whitespace().skip(11).take(2).map(|v| v.parse::<u64>().ok());
    let ticks = f.next()?? + f.next()??;
    Some(ticks as f64 / 100.0) // USER_HZ is 100 on Linux
}

/// CPU seconds of each pool worker (`mote-kernels-{idx}`), indexed by idx.
fn worker_cpu() -> Vec<f64> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let Some(idx) = comm.trim().strip_prefix("mote-kernels-").and_then(|i| i.parse::<usize>().ok()) else { continue };
        let ns = std::fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
            .unwrap_or(0);
        if out.len() <= idx {
            out.resize(idx + 1, 0.0);
        }
        out[idx] = ns as f64 / 1e9;
    }
    out
}

struct Phase {
    threads: usize,
    cpu_per_s: f64,
    surplus_per_s: f64,
    layers_per_s: f64,
}

/// One "layer" per iteration: a fused up/gate-like product and a down-like one.
fn run(pool: &ThreadPool, up: &QMatrix, down: &QMatrix, x: &[f32], h: &mut [f32], y: &mut [f32], high: usize) -> Phase {
    let threads = pool.threads();
    let (cpu0, w0, t0) = (process_cpu().unwrap(), worker_cpu(), Instant::now());
    let mut layers = 0usize;
    while t0.elapsed() < PHASE {
        up.matmul(pool, x, 1, h);
        down.matmul(pool, h, 1, y);
        layers += 1;
    }
    let wall = t0.elapsed().as_secs_f64();
    let (cpu1, w1) = (process_cpu().unwrap(), worker_cpu());
    // Workers threads-1 .. high-1 are the ones this phase should not use.
    let surplus = (threads.saturating_sub(1)..high - 1).fold(0.0, |acc, i| acc + w1.get(i).unwrap_or(&0.0) - w0.get(i).unwrap_or(&0.0));
    Phase { threads, cpu_per_s: (cpu1 - cpu0) / wall, surplus_per_s: surplus / wall, layers_per_s: layers as f64 / wall }
}

fn main() {
    if process_cpu().is_none() {
        eprintln!("pool_cpu needs Linux /proc");
        return;
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let high = args.first().copied().unwrap_or(cores).max(1);
    let low = args.get(1).copied().unwrap_or(high / 2).max(1);

    // Q8_0 at SmolLM2-360M-like shapes (960 → 2560 → 960), hot in cache so the
    // work is compute-bound and CPU time tracks the threads actually working.
    let (d, ff) = (960, 2560);
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut matrix = |rows: usize, cols: usize| {
        let q = QuantType::Q8_0;
        let mut w: Vec<u8> = (0..rows * q.row_bytes(cols).unwrap()).map(|_| rand() as u8).collect();
        for blk in w.chunks_exact_mut(q.block_bytes()) {
            blk[0..2].copy_from_slice(&0x2000u16.to_le_bytes()); // small finite f16 scale
        }
        QMatrix::new(q, rows, cols, Arc::new(w), 0).unwrap()
    };
    let (up, down) = (matrix(ff, d), matrix(d, ff));
    let x: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
    let (mut h, mut y) = (vec![0f32; ff], vec![0f32; d]);

    let pool = ThreadPool::new(high);
    for _ in 0..200 {
        up.matmul(&pool, &x, 1, &mut h);
    }
    println!("cores: {cores}  phases: {high} then {low} threads, {} s each", PHASE.as_secs());
    println!("{:>7} {:>10} {:>14} {:>16}", "threads", "layers/s", "CPU s / wall s", "surplus CPU s/s");
    let a = run(&pool, &up, &down, &x, &mut h, &mut y, high);
    pool.set_threads(low);
    let b = run(&pool, &up, &down, &x, &mut h, &mut y, high);
    for p in [&a, &b] {
        println!("{:>7} {:>10.0} {:>14.3} {:>16.3}", p.threads, p.layers_per_s, p.cpu_per_s, p.surplus_per_s);
    }
    println!(
        "CPU/s ratio {low}/{high} threads: {:.3}  (proportional: {:.3})",
        b.cpu_per_s / a.cpu_per_s,
        low.min(cores) as f64 / high.min(cores) as f64
    );
}
