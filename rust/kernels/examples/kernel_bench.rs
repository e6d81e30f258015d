//! GEMV throughput at the real model shapes, against the scalar reference.
//!
//!   cargo run --release -p mote-kernels --example kernel_bench [-- --hot] [-- --quick] [-- --only q2k,bf16]
//!
//! Decode streams every weight once per token, so by default each measurement
//! rotates over enough copies of the matrix to exceed the last-level cache
//! (`--hot` reuses one copy instead). GB/s counts weight bytes only.

use mote_kernels::{isa, Isa, QMatrix, QuantType, ThreadPool};
use std::sync::Arc;
use std::time::{Duration, Instant};

const STREAM_BYTES: usize = 160 << 20;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// Random quant bits with small finite f16 scales (0x2000 ≈ 0.0078).
fn random_matrix(rng: &mut Rng, q: QuantType, rows: usize, cols: usize) -> Vec<u8> {
    let mut w: Vec<u8> = (0..rows * q.row_bytes(cols).unwrap()).map(|_| rng.next() as u8).collect();
    if q == QuantType::BF16 {
        // Random bytes would include NaNs and subnormals (slow on some CPUs).
        return (0..rows * cols).flat_map(|_| mote_kernels::blocks::f32_to_bf16(rng.f32()).to_le_bytes()).collect();
    }
    let scale_offsets = q.f16_fields();
    for blk in w.chunks_exact_mut(q.block_bytes()) {
        for &o in scale_offsets {
            blk[o..o + 2].copy_from_slice(&0x2000u16.to_le_bytes());
        }
    }
    w
}

fn bench(mats: &[QMatrix], pool: &ThreadPool, x: &[f32], y: &mut [f32], budget: Duration) -> f64 {
    let bytes = mats[0].bytes().len();
    mats[0].matmul(pool, x, 1, y);
    let start = Instant::now();
    let mut n = 0usize;
    while n < 3 || start.elapsed() < budget {
        mats[n % mats.len()].matmul(pool, x, 1, y);
        n += 1;
    }
    (bytes * n) as f64 / start.elapsed().as_secs_f64() / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hot = args.iter().any(|a| a == "--hot");
    let quick = args.iter().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 150 } else { 400 });
    // `--only a,b`: just these types (names as in `QuantType`'s Debug, any case).
    let only: Option<Vec<String>> =
        args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(|l| l.split(',').map(|t| t.to_ascii_lowercase()).collect());
    let best = isa();
    println!("isa: {best:?}  mode: {}  (DRAM read: 13.7 GB/s 1T, 27.7 GB/s 2T on the reference box)", if hot { "hot" } else { "streamed" });
    println!("{:<6} {:>13} {:>3} {:>9} {:>9} {:>8} {:>9}", "type", "rows×cols", "thr", "GB/s", "scalarGB/s", "speedup", "µs/call");

    let mut cases: Vec<(QuantType, usize, usize)> = Vec::new();
    for q in [QuantType::Q8_0, QuantType::Q4_1, QuantType::Q5_0, QuantType::Q4_0, QuantType::Q5_1] {
        for (r, c) in [(576, 576), (1536, 576), (576, 1536)] {
            cases.push((q, r, c));
        }
    }
    for q in [QuantType::Q4K, QuantType::Q6K, QuantType::Q5K, QuantType::Q2K, QuantType::Q3K, QuantType::IQ4XS] {
        cases.push((q, 576, 1536));
        cases.push((q, 640, 2048));
    }
    for q in [QuantType::IQ4NL, QuantType::BF16] {
        cases.push((q, 576, 1536));
        cases.push((q, 640, 2048));
    }
    cases.push((QuantType::Q8_0, 49152, 576));
    cases.push((QuantType::Q8_0, 262144, 640));
    cases.push((QuantType::Q5_0, 2048, 640));

    let mut rng = Rng(0x9e3779b97f4a7c15);
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];
    if let Some(only) = &only {
        cases.retain(|(q, _, _)| only.contains(&format!("{q:?}").to_ascii_lowercase()));
    }
    for (q, rows, cols) in cases {
        let one = q.row_bytes(cols).unwrap() * rows;
        let copies = if hot { 1 } else { STREAM_BYTES.div_ceil(one).max(1) };
        let mut mats: Vec<QMatrix> = (0..copies)
            .map(|_| {
                let data = random_matrix(&mut rng, q, rows, cols);
                QMatrix::new(q, rows, cols, Arc::new(data), 0).unwrap()
            })
            .collect();
        let x: Vec<f32> = (0..cols).map(|_| rng.f32()).collect();
        let mut y = vec![0f32; rows];
        for pool in &pools {
            mats.iter_mut().for_each(|m| m.set_isa(Isa::Scalar).unwrap());
            let scalar = bench(&mats, pool, &x, &mut y, budget / 2);
            mats.iter_mut().for_each(|m| m.set_isa(best).unwrap());
            let fast = bench(&mats, pool, &x, &mut y, budget);
            let us = one as f64 / (fast * 1e9) * 1e6;
            println!(
                "{:<6} {:>13} {:>3} {:>9.2} {:>10.2} {:>7.1}x {:>9.1}",
                format!("{q:?}"),
                format!("{rows}×{cols}"),
                pool.threads(),
                fast,
                scalar,
                fast / scalar,
                us
            );
        }
    }
}
