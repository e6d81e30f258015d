//! NEON dot kernel for bf16 weights against bf16 activations.
//!
//! A bf16 value is the top half of an f32, so widening is zipping with zero
//! halves (`zip1/zip2` with a zero vector), one instruction per four values.
//! Each product is exact in f32; four accumulators hide FMA latency.

use core::arch::aarch64::*;

/// 8 bf16 at `p` → two vectors of 4 f32, in element order.
#[inline(always)]
unsafe fn widen8(p: *const u8) -> (float32x4_t, float32x4_t) {
    let v = vld1q_u16(p as *const u16);
    let z = vdupq_n_u16(0);
    (vreinterpretq_f32_u16(vzip1q_u16(z, v)), vreinterpretq_f32_u16(vzip2q_u16(z, v)))
}

/// # Safety
/// `w` and `a` each hold `nb` blocks of 32 bf16 (little-endian).
#[target_feature(enable = "neon")]
pub unsafe fn vec_dot_bf16(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let mut acc = [vdupq_n_f32(0.0); 4];
    for i in 0..nb {
        for k in 0..4 {
            let (w0, w1) = widen8(w.add(64 * i + 16 * k));
            let (a0, a1) = widen8(a.add(64 * i + 16 * k));
            // Lanes alternate accumulators so consecutive FMAs are independent.
            acc[(2 * k) % 4] = vfmaq_f32(acc[(2 * k) % 4], w0, a0);
            acc[(2 * k + 1) % 4] = vfmaq_f32(acc[(2 * k + 1) % 4], w1, a1);
        }
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])))
}
