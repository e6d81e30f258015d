//! Fixed workload for counting instructions under an emulator (see
//! scripts/icount-aarch64.sh): `iters` row-dots of one 4096-wide weight row
//! on one ISA. Run it twice with different `iters`; the difference divided by
//! the difference in calls is the kernel's instructions per row, free of the
//! setup and process start-up that both runs share.
//!
//!   icount <isa> <qtype> <iters> [dot|gemv]      e.g. icount dotprod q4_0 1000
//!
//! `dot` (default) times the single-row kernel; `gemv` one `QMatrix` product of
//! ROWS rows (one thread, one activation row) per iteration, i.e. the decode
//! path with its multi-row kernels; divide by ROWS for a per-row figure.

use mote_kernels::{supported_isas, vec_dot, ActBuf, Isa, QMatrix, QuantType, ThreadPool};
use std::sync::Arc;

const COLS: usize = 4096;
/// Rows of the `gemv` workload.
pub const ROWS: usize = 64;

fn parse_isa(s: &str) -> Isa {
    let all = [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni, Isa::Neon, Isa::NeonDotprod, Isa::NeonI8mm];
    *all.iter().find(|i| i.name() == s).unwrap_or_else(|| panic!("unknown ISA {s}"))
}

fn parse_qtype(s: &str) -> QuantType {
    *QuantType::ALL
        .iter()
        .find(|q| format!("{q:?}").eq_ignore_ascii_case(s))
        .unwrap_or_else(|| panic!("unknown quant type {s}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 && args.len() != 5 {
        eprintln!("usage: icount <isa> <qtype> <iters> [dot|gemv]");
        std::process::exit(2);
    }
    let (isa, q, iters) = (parse_isa(&args[1]), parse_qtype(&args[2]), args[3].parse::<usize>().expect("iters"));
    if !supported_isas().contains(&isa) {
        eprintln!("icount: {isa:?} is not supported on this CPU");
        std::process::exit(3);
    }
    // Deterministic data; any finite scales will do since only the work is counted.
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let gemv = args.get(4).map(String::as_str) == Some("gemv");
    let rows = if gemv { ROWS } else { 1 };
    let mut w: Vec<u8> = (0..rows * q.row_bytes(COLS).unwrap()).map(|_| next() as u8).collect();
    if q == QuantType::BF16 {
        // Random bytes would include NaNs and subnormals; use ordinary values.
        for v in w.chunks_exact_mut(2) {
            v.copy_from_slice(&mote_kernels::blocks::f32_to_bf16((next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5).to_le_bytes());
        }
    }
    let scale_at = q.f16_fields();
    for blk in w.chunks_exact_mut(q.block_bytes()) {
        for &o in scale_at {
            blk[o..o + 2].copy_from_slice(&0x2000u16.to_le_bytes());
        }
    }
    let x: Vec<f32> = (0..COLS).map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5).collect();
    let mut acts = ActBuf::new();
    acts.quantize(q, &x, 1, COLS);
    let mut sum = 0.0f32;
    if gemv {
        let mut mat = QMatrix::new(q, ROWS, COLS, Arc::new(w), 0).expect("matrix");
        mat.set_isa(isa).expect("isa");
        let pool = ThreadPool::new(1);
        let mut y = vec![0f32; ROWS];
        for _ in 0..iters {
            mat.matmul(&pool, std::hint::black_box(&x), 1, &mut y);
            sum += y[0];
        }
        println!("{sum}");
        return;
    }
    for _ in 0..iters {
        sum += vec_dot(isa, q, std::hint::black_box(&w), &acts, 0);
    }
    println!("{sum}");
}
