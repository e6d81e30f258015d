//! candle's quantized row-dot kernels under the same fixed workload as
//! mote-kernels' `icount` example (4096-wide rows, deterministic data), so
//! scripts/icount-aarch64.sh can count candle's NEON `vec_dot` against ours.
//!
//!   icount_candle <qtype> <iters> [dot|dot4]
//!
//! `dot`: `GgmlType::vec_dot`, one row per call. `dot4`: `vec_dot_4` (four
//! rows sharing the activation loads, where candle has it; otherwise its
//! default of four `vec_dot`s); divide by 4 for a per-row figure.

use candle_core::quantized::k_quants::*;

const COLS: usize = 4096;

fn run<T: GgmlType>(iters: usize, four: bool) -> f32 {
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let nb = COLS / T::BLCK_SIZE;
    let rows: Vec<Vec<T>> = (0..4)
        .map(|_| {
            let w: Vec<f32> = (0..COLS).map(|_| next()).collect();
            let mut b = vec![T::zeros(); nb];
            T::from_float(&w, &mut b);
            b
        })
        .collect();
    let x: Vec<f32> = (0..COLS).map(|_| next()).collect();
    let mut a = vec![T::VecDotType::zeros(); COLS / T::VecDotType::BLCK_SIZE];
    T::VecDotType::from_float(&x, &mut a);
    let mut sum = 0.0f32;
    for _ in 0..iters {
        let r = std::hint::black_box(&rows);
        if four {
            let (a0, a1, a2, a3) = T::vec_dot_4(COLS, &r[0], &r[1], &r[2], &r[3], &a);
            sum += a0 + a1 + a2 + a3;
        } else {
            sum += T::vec_dot(COLS, &r[0], &a);
        }
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 && args.len() != 4 {
        eprintln!("usage: icount_candle <qtype> <iters> [dot|dot4]");
        std::process::exit(2);
    }
    let iters: usize = args[2].parse().expect("iters");
    let four = args.get(3).map(String::as_str) == Some("dot4");
    let sum = match args[1].to_ascii_lowercase().as_str() {
        "q4_0" => run::<BlockQ4_0>(iters, four),
        "q4_1" => run::<BlockQ4_1>(iters, four),
        "q5_0" => run::<BlockQ5_0>(iters, four),
        "q5_1" => run::<BlockQ5_1>(iters, four),
        "q8_0" => run::<BlockQ8_0>(iters, four),
        "q2k" => run::<BlockQ2K>(iters, four),
        "q3k" => run::<BlockQ3K>(iters, four),
        "q4k" => run::<BlockQ4K>(iters, four),
        "q5k" => run::<BlockQ5K>(iters, four),
        "q6k" => run::<BlockQ6K>(iters, four),
        other => {
            eprintln!("icount_candle: candle has no {other} kernel");
            std::process::exit(3);
        }
    };
    println!("{sum}");
}
