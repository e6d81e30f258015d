//! Activation quantizers (f32 → Q8_0 / Q8_1 / Q8_K), numerically as llama.cpp's
//! x86 build: Q8_0/Q8_1 scale by `127 / amax` and round half to even (the AVX2
//! path), Q8_K uses ggml's reference (signed max → −127, round half to even).
//! Every ISA shares these, so the dot kernels see identical activations.

use crate::blocks::*;

/// Round half to even for |y| < 2²², as `round_ties_even` does: adding and
/// subtracting 1.5·2²³ leaves the FPU's default rounding to do it. Without
/// SSE4.1 (the generic x86-64 baseline) `round_ties_even` is a libm call per value.
#[inline(always)]
fn round_even(y: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (y + MAGIC) - MAGIC
}

#[inline(always)]
fn amax(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Quantizes one 32-block; returns the unrounded f32 scale and Σqs.
#[inline(always)]
fn q8_block(x: &[f32], qs: &mut [i8; QK]) -> (f32, i32) {
    let amax = amax(x);
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let mut sum = 0i32;
    for (q, &v) in qs.iter_mut().zip(x) {
        // A block of denormals makes `id` infinite: clamped, as the i8 range
        // would be, instead of saturating to i32::MAX and overflowing `sum`.
        let r = round_even(v * id).clamp(-127.0, 127.0) as i32;
        *q = r as i8;
        sum += r;
    }
    (d, sum)
}

/// `x.len()` must equal `out.len() * 32`.
pub fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    assert_eq!(x.len(), out.len() * QK, "quantize_q8_0: length mismatch");
    for (b, xs) in out.iter_mut().zip(x.chunks_exact(QK)) {
        let (d, _) = q8_block(xs, &mut b.qs);
        b.d = f32_to_f16_bytes(d);
    }
}

/// `x.len()` must equal `out.len() * 32`.
pub fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    assert_eq!(x.len(), out.len() * QK, "quantize_q8_1: length mismatch");
    for (b, xs) in out.iter_mut().zip(x.chunks_exact(QK)) {
        let (d, sum) = q8_block(xs, &mut b.qs);
        b.d = f32_to_f16_bytes(d);
        b.s = f32_to_f16_bytes(d * sum as f32);
    }
}

/// `x.len()` must equal `out.len() * 256`.
pub fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    assert_eq!(x.len(), out.len() * QK_K, "quantize_q8_k: length mismatch");
    for (b, xs) in out.iter_mut().zip(x.chunks_exact(QK_K)) {
        let mut max = 0.0f32;
        let mut amax = 0.0f32;
        for &v in xs {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            *b = BlockQ8K::default();
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in b.qs.iter_mut().zip(xs) {
            *q = (round_even(iscale * v) as i32).min(127) as i8;
        }
        for (s, qs) in b.bsums.iter_mut().zip(b.qs.chunks_exact(16)) {
            *s = qs.iter().map(|&q| q as i16).sum();
        }
        b.d = 1.0 / iscale;
    }
}

/// f32 → bf16 (round to nearest even), 32 values per block; used for BF16
/// activations and weights alike. `x.len()` must equal `out.len() * 32`.
pub fn quantize_bf16(x: &[f32], out: &mut [BlockBF16]) {
    assert_eq!(x.len(), out.len() * QK, "quantize_bf16: length mismatch");
    for (b, xs) in out.iter_mut().zip(x.chunks_exact(QK)) {
        for (v, &f) in b.v.iter_mut().zip(xs) {
            *v = f32_to_bf16(f).to_le_bytes();
        }
    }
}
