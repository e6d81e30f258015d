//! AVX2+FMA dot kernel for bf16 weights against bf16 activations.
//!
//! A bf16 value is the top half of an f32, so widening is interleaving with
//! zero halves. `unpacklo/hi_epi16` reorder elements within each 128-bit lane,
//! but identically for weights and activations, so the products pair up the
//! same. Each product is exact in f32; four accumulators hide FMA latency.

use super::util::hsum_ps;
use core::arch::x86_64::*;

/// 16 bf16 at `p` → two vectors of 8 f32 (lane-interleaved order).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn widen16(p: *const u8) -> (__m256, __m256) {
    let v = _mm256_loadu_si256(p as *const __m256i);
    let z = _mm256_setzero_si256();
    (_mm256_castsi256_ps(_mm256_unpacklo_epi16(z, v)), _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, v)))
}

/// # Safety
/// AVX2+FMA+F16C present; `w` and `a` each hold `nb` blocks of 32 bf16.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_bf16(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 4];
    for i in 0..nb {
        for h in 0..2 {
            let (w0, w1) = widen16(w.add(64 * i + 32 * h));
            let (a0, a1) = widen16(a.add(64 * i + 32 * h));
            acc[2 * h] = _mm256_fmadd_ps(w0, a0, acc[2 * h]);
            acc[2 * h + 1] = _mm256_fmadd_ps(w1, a1, acc[2 * h + 1]);
        }
    }
    hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])))
}
