//! AVX2+FMA dot kernels for the 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1,
//! Q8_0, IQ4_NL).
//!
//! Each block becomes eight i32 partial sums via `maddubs` (u8 × i8 → i16
//! pairs) and `madd` (→ i32); none can saturate for these value ranges. The
//! per-block scaling is what costs at 32 elements, so blocks go in groups of
//! eight: one `hadd` tree turns eight blocks' partials into one vector of exact
//! block sums, the eight f16 weight scales are widened with a single
//! `vcvtph2ps`, and the activation scales come pre-widened (see `acts`).

use super::util::*;
use crate::acts::scales_offset;
use crate::blocks::KVALUES_IQ4NL;
use crate::ActType;
use core::arch::x86_64::*;

/// Eight vectors of block partials → one vector of the eight exact block sums.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum8(s: [__m256i; 8]) -> __m256 {
    let a = _mm256_hadd_epi32(s[0], s[1]);
    let b = _mm256_hadd_epi32(s[2], s[3]);
    let c = _mm256_hadd_epi32(s[4], s[5]);
    let d = _mm256_hadd_epi32(s[6], s[7]);
    let ab = _mm256_hadd_epi32(a, b);
    let cd = _mm256_hadd_epi32(c, d);
    let lo = _mm256_permute2x128_si256(ab, cd, 0x20);
    let hi = _mm256_permute2x128_si256(ab, cd, 0x31);
    _mm256_cvtepi32_ps(_mm256_add_epi32(lo, hi))
}

/// The f16 at `p`, `p + stride`, … (eight of them) as f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gather_f16x8(p: *const u8, stride: usize) -> __m256 {
    let g = |k: usize| (p.add(k * stride) as *const i16).read_unaligned();
    _mm256_cvtph_ps(_mm_setr_epi16(g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7)))
}

/// Σ_blocks d_w·d_a·isum (+ m_w·s_a when `$min`), `$isum` giving block partials from
/// the weight block `$x` and activation block `$y`.
macro_rules! kernel {
    ($nb:ident, $w:ident, $a:ident, $ws:expr, $act:expr, $min:expr, |$x:ident, $y:ident| $isum:expr) => {{
        let ad = $a.add(scales_offset($act, $nb)) as *const f32;
        let ab = $act.block_bytes();
        let mut acc = _mm256_setzero_ps();
        let mut accm = _mm256_setzero_ps();
        let mut i = 0usize;
        while i + 8 <= $nb {
            let mut s = [_mm256_setzero_si256(); 8];
            for (k, sk) in s.iter_mut().enumerate() {
                let $x = $w.add((i + k) * $ws);
                let $y = $a.add((i + k) * ab);
                *sk = $isum;
            }
            let dw = gather_f16x8($w.add(i * $ws), $ws);
            acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_loadu_ps(ad.add(i))), hsum8(s), acc);
            if $min {
                let mw = gather_f16x8($w.add(i * $ws + 2), $ws);
                accm = _mm256_fmadd_ps(mw, _mm256_loadu_ps(ad.add($nb + i)), accm);
            }
            i += 8;
        }
        if i < $nb {
            // The last 1–7 blocks take the same vector path with zeroed lanes:
            // done one by one they cost as much as 8 full blocks (640-wide
            // rows, e.g. Gemma's output layer, have 4 of 20 blocks here).
            let rem = $nb - i;
            let mut s = [_mm256_setzero_si256(); 8];
            let (mut dwh, mut da, mut mwh, mut sa) = ([0i16; 8], [0f32; 8], [0i16; 8], [0f32; 8]);
            for k in 0..rem {
                let $x = $w.add((i + k) * $ws);
                let $y = $a.add((i + k) * ab);
                s[k] = $isum;
                dwh[k] = ($x as *const i16).read_unaligned();
                da[k] = *ad.add(i + k);
                if $min {
                    mwh[k] = ($x.add(2) as *const i16).read_unaligned();
                    sa[k] = *ad.add($nb + i + k);
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(dwh.as_ptr() as *const __m128i));
            acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_loadu_ps(da.as_ptr())), hsum8(s), acc);
            if $min {
                let mw = _mm256_cvtph_ps(_mm_loadu_si128(mwh.as_ptr() as *const __m128i));
                accm = _mm256_fmadd_ps(mw, _mm256_loadu_ps(sa.as_ptr()), accm);
            }
        }
        hsum_ps(_mm256_add_ps(acc, accm))
    }};
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q4_0 blocks, `a` one Q8_0 activation row of `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q4_0(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let eight = _mm256_set1_epi8(8);
    kernel!(nb, w, a, 18, ActType::Q8_0, false, |x, y| {
        dot_i8_i8(_mm256_sub_epi8(nibbles(x.add(2)), eight), load256(y.add(2)))
    })
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q4_1 blocks, `a` one Q8_1 activation row of `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q4_1(nb: usize, w: *const u8, a: *const u8) -> f32 {
    kernel!(nb, w, a, 20, ActType::Q8_1, true, |x, y| dot_u8_i8(nibbles(x.add(4)), load256(y.add(4))))
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q5_0 blocks, `a` one Q8_0 activation row of `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q5_0(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let f0 = _mm256_set1_epi8(0xf0u8 as i8);
    kernel!(nb, w, a, 22, ActType::Q8_0, false, |x, y| {
        // q − 16 as a byte is q | 0xF0 when the fifth bit is clear, and q when set.
        let hb = _mm256_andnot_si256(bits_to_bytes(read_u32(x.add(2))), f0);
        dot_i8_i8(_mm256_or_si256(nibbles(x.add(6)), hb), load256(y.add(2)))
    })
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q5_1 blocks, `a` one Q8_1 activation row of `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q5_1(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let b4 = _mm256_set1_epi8(0x10);
    kernel!(nb, w, a, 24, ActType::Q8_1, true, |x, y| {
        let hb = _mm256_and_si256(bits_to_bytes(read_u32(x.add(4))), b4);
        dot_u8_i8(_mm256_or_si256(nibbles(x.add(8)), hb), load256(y.add(4)))
    })
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q8_0 blocks, `a` one Q8_0 activation row of `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q8_0(nb: usize, w: *const u8, a: *const u8) -> f32 {
    kernel!(nb, w, a, 34, ActType::Q8_0, false, |x, y| dot_i8_i8(load256(x.add(2)), load256(y.add(2))))
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` IQ4_NL blocks, `a` one Q8_0 activation row of `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_iq4nl(nb: usize, w: *const u8, a: *const u8) -> f32 {
    // The 16 levels fit one register: pshufb maps nibbles to signed values.
    let table = _mm256_broadcastsi128_si256(_mm_loadu_si128(KVALUES_IQ4NL.as_ptr() as *const __m128i));
    kernel!(nb, w, a, 18, ActType::Q8_0, false, |x, y| {
        dot_i8_i8(_mm256_shuffle_epi8(table, nibbles(x.add(2))), load256(y.add(2)))
    })
}
