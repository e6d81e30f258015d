//! Weight quantizers that produce the same bytes as llama.cpp's reference
//! quantizers (`quantize_row_*_ref` in ggml-quants.c, used by `llama-quantize`
//! without an importance matrix), so a model quantized on the phone is the
//! model its developer measured on the desktop.
//!
//! Bit-exactness is a property of the order of floating-point operations, not
//! of the algorithm: every expression here keeps ggml's evaluation order
//! (`w*x*l` is `(w*x)*l`, sums run left to right, no fused multiply-adds),
//! and ggml compiles these functions for the baseline ISA, where no FMA can
//! be contracted. Don't "simplify" an expression without re-running
//! `tests/quantize_llamacpp.rs`, which checks the bytes.
//!
//! `reference::quantize_weights` keeps its simpler round-to-nearest
//! quantizers: kernel tests use them to build matrices and need no search.

mod kquants;
mod legacy;
mod search;

use crate::QuantType;

/// Whether [`quantize_row`] writes `ty` (the types `mote quantize` offers;
/// the IQ4 and BF16 weights Mote reads have no quantizer here).
pub fn can_quantize(ty: QuantType) -> bool {
    !matches!(ty, QuantType::IQ4NL | QuantType::IQ4XS | QuantType::BF16)
}

/// Bytes of a row of `n` values of `ty`, `None` unless `n` is whole blocks.
pub fn row_bytes(ty: QuantType, n: usize) -> Option<usize> {
    (n % ty.block_len() == 0).then(|| n / ty.block_len() * ty.block_bytes())
}

/// Quantizes `x` (a whole number of blocks) into `out` (exactly
/// `row_bytes(x.len())` bytes). Rows are independent, so callers may pass
/// several rows at once.
///
/// # Panics
/// If `ty` has no quantizer, or the lengths don't match: callers size both from the tensor's shape.
pub fn quantize_row(ty: QuantType, x: &[f32], out: &mut [u8]) {
    assert!(can_quantize(ty), "no quantizer for {ty:?}");
    let bytes = row_bytes(ty, x.len()).expect("a whole number of blocks");
    assert_eq!(out.len(), bytes, "output sized for {ty:?}");
    let (n, b) = (ty.block_len(), ty.block_bytes());
    for (x, out) in x.chunks_exact(n).zip(out.chunks_exact_mut(b)) {
        match ty {
            QuantType::Q4_0 => legacy::q4_0(x, out),
            QuantType::Q4_1 => legacy::q4_1(x, out),
            QuantType::Q5_0 => legacy::q5_0(x, out),
            QuantType::Q5_1 => legacy::q5_1(x, out),
            QuantType::Q8_0 => legacy::q8_0(x, out),
            QuantType::Q2K => kquants::q2k(x, out),
            QuantType::Q3K => kquants::q3k(x, out),
            QuantType::Q4K => kquants::q4k(x, out),
            QuantType::Q5K => kquants::q5k(x, out),
            QuantType::Q6K => kquants::q6k(x, out),
            QuantType::IQ4NL | QuantType::IQ4XS | QuantType::BF16 => unreachable!("checked above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::QK_K;
    use crate::reference;

    fn sample(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.2
            })
            .collect()
    }

    fn dequant(ty: QuantType, q: &[u8], n: usize) -> Vec<f32> {
        let mut out = vec![0.0; n];
        reference::dequantize_bytes(ty, q, &mut out);
        out
    }

    fn quantized(ty: QuantType, x: &[f32]) -> Vec<u8> {
        let mut q = vec![0u8; row_bytes(ty, x.len()).unwrap()];
        quantize_row(ty, x, &mut q);
        q
    }

    /// The round trip's error falls with the bits, as each format promises
    /// (the byte-exact check against llama.cpp is in tests/quantize_llamacpp.rs).
    #[test]
    fn round_trip_error_shrinks_with_bits() {
        use QuantType::*;
        let x = sample(4 * QK_K, 7);
        let rms = |ty: QuantType| {
            let y = dequant(ty, &quantized(ty, &x), x.len());
            (x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / x.len() as f32).sqrt()
        };
        let r: Vec<(QuantType, f32)> = [Q2K, Q3K, Q4_0, Q4K, Q5K, Q6K, Q8_0].iter().map(|&t| (t, rms(t))).collect();
        for w in r.windows(2) {
            assert!(w[1].1 < w[0].1, "{:?} rms {} is not below {:?} rms {}", w[1].0, w[1].1, w[0].0, w[0].1);
        }
        // Uniform in ±0.1: Q8_0's step is 0.1/127, so its rms error is about step/√12.
        assert!(r.last().unwrap().1 < 0.1 / 127.0 / 12f32.sqrt() * 1.5);
        // The min/scale search must beat plain round-to-nearest, which is what it is for.
        let rtn_q4k = {
            let q = reference::quantize_q4k(&x);
            let y = dequant(Q4K, crate::blocks::as_bytes(&q), x.len());
            (x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / x.len() as f32).sqrt()
        };
        assert!(rms(Q4K) < rtn_q4k, "searched Q4_K {} vs round-to-nearest {}", rms(Q4K), rtn_q4k);
    }

    #[test]
    fn zero_and_constant_blocks_stay_finite_and_exact() {
        use QuantType::*;
        for ty in [Q2K, Q3K, Q4K, Q5K, Q6K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0] {
            for fill in [0.0f32, 0.25, -3.0] {
                let x = vec![fill; QK_K];
                let y = dequant(ty, &quantized(ty, &x), QK_K);
                for v in &y {
                    assert!(v.is_finite() && (v - fill).abs() <= fill.abs() * 0.02 + 1e-6, "{ty:?} fill {fill}: {v}");
                }
            }
        }
    }
}
