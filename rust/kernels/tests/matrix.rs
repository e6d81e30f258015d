//! `QMatrix` end to end: GEMV/GEMM on every ISA against per-element reference dots.

mod common;
use common::*;
use mote_kernels::{supported_isas, vec_dot, ActBuf, Isa, KernelError, QMatrix, QuantType, ThreadPool};
use std::sync::Arc;

fn matrix(q: QuantType, rows: usize, cols: usize, bytes: Vec<u8>, offset: usize) -> QMatrix {
    QMatrix::new(q, rows, cols, Arc::new(bytes), offset).unwrap()
}

#[test]
fn matmul_matches_reference_on_every_isa() {
    let mut rng = Rng::new(20);
    let pools: Vec<ThreadPool> = [1, 2, 3].into_iter().map(ThreadPool::new).collect();
    for q in QuantType::ALL {
        for (rows, nb) in [(1, 1), (5, 3), (37, 2), (64, 1)] {
            let cols = nb * q.block_len();
            // Put the tensor at an odd offset to exercise unaligned block access.
            let offset = 7;
            let mut bytes = rng.bytes(offset);
            let w = random_weights(&mut rng, q, rows * nb);
            bytes.extend_from_slice(&w);
            let mut mat = matrix(q, rows, cols, bytes, offset);
            for m in [1, 2, 3, 7, 8] {
                let (x, acts) = random_acts(&mut rng, q, cols, m);
                let rb = q.row_bytes(cols).unwrap();
                for &isa in supported_isas() {
                    mat.set_isa(isa).unwrap();
                    for pool in &pools {
                        let mut y = vec![f32::NAN; m * rows];
                        mat.matmul(pool, &x, m, &mut y);
                        for i in 0..m {
                            for r in 0..rows {
                                let wr = &w[r * rb..(r + 1) * rb];
                                let want = vec_dot(Isa::Scalar, q, wr, &acts, i);
                                let scale = error_scale(q, wr, &acts, i);
                                let what = format!("{isa:?} {q:?} {rows}x{cols} m={m} t={} ({i},{r})", pool.threads());
                                assert_close(y[i * rows + r], want, scale, 1e-5, &what);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_equals_repeated_gemv() {
    // The tiled GEMM path (i8mm on capable CPUs) must give what m separate GEMVs give.
    let mut rng = Rng::new(21);
    let pool = ThreadPool::new(2);
    for q in QuantType::ALL {
        let (rows, cols, m) = (10, 2 * q.block_len(), 5);
        let mut mat = matrix(q, rows, cols, random_weights(&mut rng, q, rows * 2), 0);
        let x = rng.acts(m * cols);
        for &isa in supported_isas() {
            mat.set_isa(isa).unwrap();
            let mut y = vec![0f32; m * rows];
            mat.matmul(&pool, &x, m, &mut y);
            for i in 0..m {
                let mut yi = vec![0f32; rows];
                mat.matmul(&pool, &x[i * cols..(i + 1) * cols], 1, &mut yi);
                let mut acts = ActBuf::new();
                acts.quantize(q, &x[i * cols..], 1, cols);
                for r in 0..rows {
                    let wr = &mat.bytes()[r * q.row_bytes(cols).unwrap()..][..q.row_bytes(cols).unwrap()];
                    let scale = error_scale(q, wr, &acts, 0);
                    assert_close(y[i * rows + r], yi[r], scale, 1e-5, &format!("{isa:?} {q:?} ({i},{r})"));
                }
            }
        }
    }
}

#[test]
fn matmul_approximates_f32_matmul() {
    let mut rng = Rng::new(22);
    let pool = ThreadPool::new(2);
    let (rows, cols, m) = (24, 512, 3);
    let wf: Vec<f32> = (0..rows * cols).map(|_| rng.f32()).collect();
    let x = rng.acts(m * cols);
    for q in QuantType::ALL {
        let mat = matrix(q, rows, cols, mote_kernels::reference::quantize_weights(q, &wf), 0);
        let mut y = vec![0f32; m * rows];
        mat.matmul(&pool, &x, m, &mut y);
        for i in 0..m {
            for r in 0..rows {
                let xr = &x[i * cols..(i + 1) * cols];
                let wr = &wf[r * cols..(r + 1) * cols];
                let exact: f32 = xr.iter().zip(wr).map(|(a, b)| a * b).sum();
                let norm = (xr.iter().map(|v| v * v).sum::<f32>() * wr.iter().map(|v| v * v).sum::<f32>()).sqrt();
                assert!((y[i * rows + r] - exact).abs() < 0.1 * norm, "{q:?} ({i},{r})");
            }
        }
    }
}

#[test]
fn dequantize_row_reads_the_right_row() {
    let mut rng = Rng::new(23);
    for q in QuantType::ALL {
        let (rows, cols) = (3, q.block_len() * 2);
        let wf: Vec<f32> = (0..rows * cols).map(|r| (r / cols) as f32 + rng.f32() * 0.1).collect();
        let mat = matrix(q, rows, cols, mote_kernels::reference::quantize_weights(q, &wf), 0);
        let mut out = vec![0f32; cols];
        for r in 0..rows {
            mat.dequantize_row(r, &mut out);
            let mean = out.iter().sum::<f32>() / cols as f32;
            assert!((mean - r as f32).abs() < 0.1, "{q:?} row {r}: mean {mean}");
        }
    }
}

#[test]
fn construction_validates_shape_and_bounds() {
    let data: Arc<Vec<u8>> = Arc::new(vec![0u8; 1000]);
    let q = QuantType::Q8_0;
    assert!(matches!(QMatrix::new(q, 2, 33, data.clone(), 0), Err(KernelError::BadShape { .. })));
    assert!(matches!(QMatrix::new(q, 0, 32, data.clone(), 0), Err(KernelError::BadShape { .. })));
    assert!(matches!(QMatrix::new(q, 29, 32, data.clone(), 15), Err(KernelError::OutOfBounds { .. })));
    assert!(matches!(QMatrix::new(q, usize::MAX / 8, 32, data.clone(), 0), Err(KernelError::OutOfBounds { .. })));
    assert!(matches!(QMatrix::new(q, 1, 32, data.clone(), usize::MAX), Err(KernelError::OutOfBounds { .. })));
    let m = QMatrix::new(q, 29, 32, data.clone(), 14).unwrap();
    assert_eq!((m.rows(), m.cols(), m.qtype()), (29, 32, q));
    assert!(QMatrix::new(QuantType::Q4K, 1, 256, data, 0).is_ok());
    let e = KernelError::OutOfBounds { offset: 1, needed: 2, available: 0 };
    assert!(e.to_string().contains("offset 1"));
}

#[test]
fn unsupported_isa_is_rejected() {
    let data: Arc<Vec<u8>> = Arc::new(vec![0u8; 34]);
    let mut m = QMatrix::new(QuantType::Q8_0, 1, 32, data, 0).unwrap();
    let foreign = if cfg!(target_arch = "x86_64") { Isa::NeonI8mm } else { Isa::Avx2 };
    assert_eq!(m.set_isa(foreign), Err(KernelError::UnsupportedIsa(foreign)));
}

#[test]
fn long_rows_and_many_activation_rows_match_reference() {
    // 19 blocks and 9 rows reach the 4-row tiles' 8-block steps, their tails
    // and the leftover single rows.
    let mut rng = Rng::new(23);
    let pool = ThreadPool::new(2);
    for q in QuantType::ALL {
        let (rows, nb, m) = (6, 19, 9);
        let cols = nb * q.block_len();
        let w = random_weights(&mut rng, q, rows * nb);
        let mut mat = matrix(q, rows, cols, w.clone(), 0);
        let (x, acts) = random_acts(&mut rng, q, cols, m);
        let rb = q.row_bytes(cols).unwrap();
        for &isa in supported_isas() {
            mat.set_isa(isa).unwrap();
            let mut y = vec![f32::NAN; m * rows];
            mat.matmul(&pool, &x, m, &mut y);
            for i in 0..m {
                for r in 0..rows {
                    let wr = &w[r * rb..(r + 1) * rb];
                    let want = vec_dot(Isa::Scalar, q, wr, &acts, i);
                    let scale = error_scale(q, wr, &acts, i);
                    assert_close(y[i * rows + r], want, scale, 1e-5, &format!("{isa:?} {q:?} ({i},{r})"));
                }
            }
        }
    }
}

#[test]
fn grouped_matmul_equals_separate_ones() {
    // Mixed activation formats (Q8_0, Q8_1, Q8_K, bf16) in one job.
    let mut rng = Rng::new(24);
    let pool = ThreadPool::new(2);
    let cols = 512;
    let types = [QuantType::Q5_0, QuantType::Q4_1, QuantType::Q6K, QuantType::Q4K, QuantType::BF16, QuantType::IQ4NL];
    let mats: Vec<QMatrix> = types
        .iter()
        .enumerate()
        .map(|(k, &q)| {
            let rows = 3 + 5 * k;
            matrix(q, rows, cols, random_weights(&mut rng, q, rows * cols / q.block_len()), 0)
        })
        .collect();
    for m in [1, 6] {
        let x = rng.acts(m * cols);
        let mut grouped: Vec<Vec<f32>> = mats.iter().map(|w| vec![f32::NAN; m * w.rows()]).collect();
        let mut parts: Vec<(&QMatrix, &mut [f32])> = mats.iter().zip(grouped.iter_mut()).map(|(w, y)| (w, &mut y[..])).collect();
        QMatrix::matmul_many(&pool, &x, m, &mut parts);
        for (w, g) in mats.iter().zip(&grouped) {
            let mut alone = vec![0f32; m * w.rows()];
            w.matmul(&pool, &x, m, &mut alone);
            assert_eq!(g, &alone, "{:?} m={m}", w.qtype());
        }
    }
}
