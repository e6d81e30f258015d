//! AVX2+FMA dot kernel for bf16 weights against bf16 activations.
//!
//! A bf16 value is the top half of an f32, so widening is interleaving with
//! zero halves. `unpacklo/hi_epi16` reorder elements within each 128-bit lane,
//! but identically for weights and activations, so the products pair up the
//! same. Each product is exact in f32.

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

/// bf16 weights · `R` bf16 activation rows `stride` bytes apart.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bf16_rows<const R: usize>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; R] {
    // One row needs four independent FMA chains to hide their latency; four
    // rows already give eight with two each (and four each would spill), so
    // the other two stay zero there and fold away.
    let mut acc = [[_mm256_setzero_ps(); 4]; R];
    for i in 0..nb {
        for h in 0..2 {
            let slot = if R == 1 { 2 * h } else { 0 };
            let (w0, w1) = widen16(w.add(64 * i + 32 * h));
            for (k, acc) in acc.iter_mut().enumerate() {
                let (a0, a1) = widen16(a.add(k * stride + 64 * i + 32 * h));
                acc[slot] = _mm256_fmadd_ps(w0, a0, acc[slot]);
                acc[slot + 1] = _mm256_fmadd_ps(w1, a1, acc[slot + 1]);
            }
        }
    }
    acc.map(|a| hsum_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]))))
}

/// # Safety
/// AVX2+FMA+F16C present; `w` and `a` each hold `nb` blocks of 32 bf16.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_bf16(nb: usize, w: *const u8, a: *const u8) -> f32 {
    bf16_rows::<1>(nb, w, a, 0)[0]
}

/// bf16 weights · four bf16 activation rows `stride` bytes apart (prefill):
/// each weight vector is widened once for the four.
///
/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` blocks of 32 bf16, and so does each row of `a`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_bf16(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    bf16_rows::<4>(nb, w, a, stride)
}
