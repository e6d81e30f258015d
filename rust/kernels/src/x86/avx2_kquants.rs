//! AVX2+FMA dot kernels for the 256-element super-block formats against Q8_K
//! activations: the K-quants (Q2_K … Q6_K) and IQ4_XS.
//!
//! Sub-block scales are applied with `madd` against a broadcast i16 scale, which
//! both multiplies and widens the `maddubs` pairs to i32 in one instruction.
//! Offsets (Q4_K/Q5_K mins, Q6_K's −32) are taken from the activation `bsums`
//! instead of being subtracted element by element. Each super-block's integer
//! sums are reduced to one exact i32 before scaling (a few ops per 256 values),
//! so per-block rounding is identical to the reference.

use super::util::*;
use crate::blocks::{unpack_iq4xs_scales, unpack_k_scales, unpack_q3k_scales, KVALUES_IQ4NL};
use core::arch::x86_64::*;

const Q8K_BYTES: usize = 292;
const Q8K_QS: usize = 4;
const Q8K_BSUMS: usize = 4 + 256;

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8k_d(y: *const u8) -> f32 {
    (y as *const f32).read()
}

/// Σ min_j · (bsum_{2j} + bsum_{2j+1}) as eight i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn k_mins(mn: &[u8; 8], y: *const u8) -> __m256i {
    let pairs = _mm256_madd_epi16(load256(y.add(Q8K_BSUMS)), _mm256_set1_epi16(1));
    let mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64(mn.as_ptr() as *const __m128i));
    _mm256_mullo_epi32(pairs, mins)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scaled(q: __m256i, y: __m256i, scale: u8) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), _mm256_set1_epi16(scale as i16))
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q4_K blocks, `a` `nb` 4-aligned Q8_K blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q4k(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let m4 = _mm256_set1_epi8(0x0f);
    let mut acc = 0.0f32;
    for i in 0..nb {
        let x = w.add(i * 144);
        let y = a.add(i * Q8K_BYTES);
        let yd = q8k_d(y);
        let (sc, mn) = unpack_k_scales(&*(x.add(4) as *const [u8; 12]));
        let mut sumi = _mm256_setzero_si256();
        for c in 0..4 {
            let q = load256(x.add(16 + 32 * c));
            let lo = _mm256_and_si256(q, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            let ys = y.add(Q8K_QS + 64 * c);
            let p0 = scaled(lo, load256(ys), sc[2 * c]);
            let p1 = scaled(hi, load256(ys.add(32)), sc[2 * c + 1]);
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        let isum = hsum_epi32(sumi) as f32;
        let msum = hsum_epi32(k_mins(&mn, y)) as f32;
        acc += h2f(x) * yd * isum - h2f(x.add(2)) * yd * msum;
    }
    acc
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q5_K blocks, `a` `nb` 4-aligned Q8_K blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q5k(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let m4 = _mm256_set1_epi8(0x0f);
    let one = _mm256_set1_epi8(1);
    let two = _mm256_set1_epi8(2);
    let mut acc = 0.0f32;
    for i in 0..nb {
        let x = w.add(i * 176);
        let y = a.add(i * Q8K_BYTES);
        let yd = q8k_d(y);
        let (sc, mn) = unpack_k_scales(&*(x.add(4) as *const [u8; 12]));
        // Chunk c's fifth bits are bits 2c and 2c+1 of each qh byte; shifting
        // by 2 per chunk keeps them at bits 0/1, clear of neighbour-byte spill.
        let mut hv = load256(x.add(16));
        let mut sumi = _mm256_setzero_si256();
        for c in 0..4 {
            let q = load256(x.add(48 + 32 * c));
            let lo = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_slli_epi16(_mm256_and_si256(hv, one), 4));
            let hi4 = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            let hi = _mm256_or_si256(hi4, _mm256_slli_epi16(_mm256_and_si256(hv, two), 3));
            hv = _mm256_srli_epi16(hv, 2);
            let ys = y.add(Q8K_QS + 64 * c);
            let p0 = scaled(lo, load256(ys), sc[2 * c]);
            let p1 = scaled(hi, load256(ys.add(32)), sc[2 * c + 1]);
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        let isum = hsum_epi32(sumi) as f32;
        let msum = hsum_epi32(k_mins(&mn, y)) as f32;
        acc += h2f(x) * yd * isum - h2f(x.add(2)) * yd * msum;
    }
    acc
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q6_K blocks, `a` `nb` 4-aligned Q8_K blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q6k(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let picks = scale_picks();
    let mut acc = 0.0f32;
    for i in 0..nb {
        let x = w.add(i * 210);
        let y = a.add(i * Q8K_BYTES);
        let s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(x.add(192) as *const __m128i));
        // Stored values are q + 32; remove 32 · Σ scale · bsum once per block.
        let corr = _mm256_slli_epi32(_mm256_madd_epi16(load256(y.add(Q8K_BSUMS)), s16), 5);
        let mut sumi = _mm256_sub_epi32(_mm256_setzero_si256(), corr);
        for n in 0..2 {
            let q = q6k_codes(x.add(64 * n), x.add(128 + 32 * n));
            let half_scales = if n == 0 {
                _mm256_permute2x128_si256(s16, s16, 0x00)
            } else {
                _mm256_permute2x128_si256(s16, s16, 0x11)
            };
            for g in 0..4 {
                let sv = _mm256_shuffle_epi8(half_scales, picks[g]);
                let ys = load256(y.add(Q8K_QS + 128 * n + 32 * g));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[g], ys), sv));
            }
        }
        acc += h2f(x.add(208)) * q8k_d(y) * hsum_epi32(sumi) as f32;
    }
    acc
}

/// Q4_K · four Q8_K activation rows `stride` bytes apart: each block's scales
/// and nibbles are unpacked once for the four rows (prefill).
///
/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q4_K blocks, each row of `a` `nb` 4-aligned Q8_K blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_q4k(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    let m4 = _mm256_set1_epi8(0x0f);
    let mut acc = [0.0f32; 4];
    for i in 0..nb {
        let x = w.add(i * 144);
        let ys = [0, 1, 2, 3].map(|k| a.add(k * stride + i * Q8K_BYTES));
        let (sc, mn) = unpack_k_scales(&*(x.add(4) as *const [u8; 12]));
        let mut sumi = [_mm256_setzero_si256(); 4];
        for c in 0..4 {
            let q = load256(x.add(16 + 32 * c));
            let lo = _mm256_and_si256(q, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            for k in 0..4 {
                let y = ys[k].add(Q8K_QS + 64 * c);
                let p0 = scaled(lo, load256(y), sc[2 * c]);
                let p1 = scaled(hi, load256(y.add(32)), sc[2 * c + 1]);
                sumi[k] = _mm256_add_epi32(sumi[k], _mm256_add_epi32(p0, p1));
            }
        }
        let (d, dmin) = (h2f(x), h2f(x.add(2)));
        for k in 0..4 {
            let yd = q8k_d(ys[k]);
            let isum = hsum_epi32(sumi[k]) as f32;
            let msum = hsum_epi32(k_mins(&mn, ys[k])) as f32;
            acc[k] += d * yd * isum - dmin * yd * msum;
        }
    }
    acc
}

/// Q6_K · four Q8_K activation rows `stride` bytes apart (see [`tile4_q4k`]).
///
/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q6_K blocks, each row of `a` `nb` 4-aligned Q8_K blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_q6k(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    let picks = scale_picks();
    let mut acc = [0.0f32; 4];
    for i in 0..nb {
        let x = w.add(i * 210);
        let ys = [0, 1, 2, 3].map(|k| a.add(k * stride + i * Q8K_BYTES));
        let s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(x.add(192) as *const __m128i));
        let mut sumi = ys.map(|y| {
            let corr = _mm256_slli_epi32(_mm256_madd_epi16(load256(y.add(Q8K_BSUMS)), s16), 5);
            _mm256_sub_epi32(_mm256_setzero_si256(), corr)
        });
        for n in 0..2 {
            let q = q6k_codes(x.add(64 * n), x.add(128 + 32 * n));
            let half_scales = if n == 0 {
                _mm256_permute2x128_si256(s16, s16, 0x00)
            } else {
                _mm256_permute2x128_si256(s16, s16, 0x11)
            };
            for g in 0..4 {
                let sv = _mm256_shuffle_epi8(half_scales, picks[g]);
                for k in 0..4 {
                    let yv = load256(ys[k].add(Q8K_QS + 128 * n + 32 * g));
                    sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(_mm256_maddubs_epi16(q[g], yv), sv));
                }
            }
        }
        let d = h2f(x.add(208));
        for k in 0..4 {
            acc[k] += d * q8k_d(ys[k]) * hsum_epi32(sumi[k]) as f32;
        }
    }
    acc
}

/// Shuffles that spread 16 i16 sub-block scales over the maddubs pairs of one
/// 32-element group: applied to the scales of half n (both lanes holding
/// scales 8n..8n+8), pick g puts scale 8n+2g in the low lane and 8n+2g+1 in
/// the high lane, matching the 16-element sub-blocks the two lanes cover.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scale_picks() -> [__m256i; 4] {
    let pick = |g: i8| {
        let (l0, l1, h0, h1) = (4 * g, 4 * g + 1, 4 * g + 2, 4 * g + 3);
        _mm256_setr_epi8(
            l0, l1, l0, l1, l0, l1, l0, l1, l0, l1, l0, l1, l0, l1, l0, l1, //
            h0, h1, h0, h1, h0, h1, h0, h1, h0, h1, h0, h1, h0, h1, h0, h1,
        )
    };
    [pick(0), pick(1), pick(2), pick(3)]
}

/// The scales of half `n` (0: sub-blocks 0..8, 1: 8..16) in both lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn half_scales(s16: __m256i, n: usize) -> __m256i {
    if n == 0 {
        _mm256_permute2x128_si256(s16, s16, 0x00)
    } else {
        _mm256_permute2x128_si256(s16, s16, 0x11)
    }
}

/// Bits 2g..2g+2 of every byte (g = 0..4): the 2-bit codes of group g.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn crumbs(q: __m256i, g: usize) -> __m256i {
    // A 16-bit shift is fine: the mask drops what crosses from the high byte.
    _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * g as i32)), _mm256_set1_epi8(3))
}

/// Adds, for each of the `R` activation rows, Σ_sub-blocks scale · Σ u·a over
/// one 256-element super-block whose 2-bit codes (OR-ed with `$extra(n, g)`)
/// start at `$qs`; `$s16` holds the 16 i16 scales. Q2_K and Q3_K share the
/// layout: byte l of 32-byte half n holds elements 128n + 32g + l at bits 2g.
/// Each unpacked group serves all `R` rows (R = 4 in the prefill tiles).
macro_rules! two_bit_sums {
    ($sumi:ident, $qs:expr, $ys:expr, $s16:expr, $picks:expr, |$n:ident, $g:ident| $extra:expr) => {{
        for $n in 0..2 {
            let q = load256($qs.add(32 * $n));
            let hs = half_scales($s16, $n);
            for $g in 0..4 {
                let u = _mm256_or_si256(crumbs(q, $g), $extra);
                let sv = _mm256_shuffle_epi8(hs, $picks[$g]);
                for (acc, y) in $sumi.iter_mut().zip($ys.iter()) {
                    let yv = load256(y.add(Q8K_QS + 128 * $n + 32 * $g));
                    *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, yv), sv));
                }
            }
        }
    }};
}

/// Q2_K · `R` Q8_K activation rows `stride` bytes apart.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q2k_rows<const R: usize>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; R] {
    let m4 = _mm_set1_epi8(0x0f);
    let picks = scale_picks();
    let mut acc = [0.0f32; R];
    for i in 0..nb {
        let x = w.add(i * 84);
        let ys: [*const u8; R] = core::array::from_fn(|k| a.add(k * stride + i * Q8K_BYTES));
        let sc = _mm_loadu_si128(x as *const __m128i);
        let s16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc, m4));
        // The mins multiply whole 16-sums of the activations: one madd with bsums.
        let mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc, 4), m4));
        let mut sumi = [_mm256_setzero_si256(); R];
        two_bit_sums!(sumi, x.add(16), ys, s16, picks, |_n, _g| _mm256_setzero_si256());
        let (d, dmin) = (h2f(x.add(80)), h2f(x.add(82)));
        for k in 0..R {
            let yd = q8k_d(ys[k]);
            let msum = hsum_epi32(_mm256_madd_epi16(load256(ys[k].add(Q8K_BSUMS)), mins)) as f32;
            acc[k] += d * yd * hsum_epi32(sumi[k]) as f32 - dmin * yd * msum;
        }
    }
    acc
}

/// Q3_K · `R` Q8_K activation rows `stride` bytes apart.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q3k_rows<const R: usize>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; R] {
    let one = _mm256_set1_epi8(1);
    let picks = scale_picks();
    let mut acc = [0.0f32; R];
    for i in 0..nb {
        let x = w.add(i * 110);
        let ys: [*const u8; R] = core::array::from_fn(|k| a.add(k * stride + i * Q8K_BYTES));
        let sc = unpack_q3k_scales(&*(x.add(96) as *const [u8; 12]));
        let s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(sc.as_ptr() as *const __m128i));
        // Values q − 4·(1 − h) are used as u = q + 4h in 0..=7 (unsigned, as
        // maddubs wants); the −4 per element comes back as −4 · Σ scale · bsum.
        let mut sumi: [__m256i; R] = core::array::from_fn(|k| {
            let corr = _mm256_madd_epi16(load256(ys[k].add(Q8K_BSUMS)), s16);
            _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 2))
        });
        let hm = load256(x);
        two_bit_sums!(sumi, x.add(32), ys, s16, picks, |n, g| {
            let h = _mm256_and_si256(_mm256_srl_epi16(hm, _mm_cvtsi32_si128((4 * n + g) as i32)), one);
            _mm256_slli_epi16(h, 2)
        });
        let d = h2f(x.add(108));
        for k in 0..R {
            acc[k] += d * q8k_d(ys[k]) * hsum_epi32(sumi[k]) as f32;
        }
    }
    acc
}

/// IQ4_XS · `R` Q8_K activation rows `stride` bytes apart.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn iq4xs_rows<const R: usize>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; R] {
    // The 16 levels fit one register: pshufb maps nibbles to signed values.
    let table = _mm256_broadcastsi128_si256(_mm_loadu_si128(KVALUES_IQ4NL.as_ptr() as *const __m128i));
    let mut acc = [0.0f32; R];
    for i in 0..nb {
        let x = w.add(i * 136);
        let ys: [*const u8; R] = core::array::from_fn(|k| a.add(k * stride + i * Q8K_BYTES));
        let sc = unpack_iq4xs_scales([*x.add(2), *x.add(3)], &*(x.add(4) as *const [u8; 4]));
        let mut sumi = [_mm256_setzero_si256(); R];
        for (ib, &s) in sc.iter().enumerate() {
            let v = _mm256_shuffle_epi8(table, nibbles(x.add(8 + 16 * ib)));
            // Signed × signed: v's sign moves onto the activations (|v| ≤ 127).
            let vu = _mm256_sign_epi8(v, v);
            let sv = _mm256_set1_epi16(s as i16);
            for k in 0..R {
                let yv = _mm256_sign_epi8(load256(ys[k].add(Q8K_QS + 32 * ib)), v);
                sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(_mm256_maddubs_epi16(vu, yv), sv));
            }
        }
        let d = h2f(x);
        for k in 0..R {
            acc[k] += d * q8k_d(ys[k]) * hsum_epi32(sumi[k]) as f32;
        }
    }
    acc
}

macro_rules! row_entries {
    ($($ty:literal: $dot:ident, $tile4:ident => $rows:ident),*) => {$(
        #[doc = concat!("# Safety\nAVX2+FMA+F16C present; `w` holds `nb` ", $ty, " blocks, `a` `nb` 4-aligned Q8_K blocks.")]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn $dot(nb: usize, w: *const u8, a: *const u8) -> f32 {
            $rows::<1>(nb, w, a, 0)[0]
        }

        #[doc = concat!($ty, " · four Q8_K activation rows `stride` bytes apart (prefill): each block is unpacked once for the four.")]
        #[doc = ""]
        #[doc = concat!("# Safety\nAVX2+FMA+F16C present; `w` holds `nb` ", $ty, " blocks, each row of `a` `nb` 4-aligned Q8_K blocks.")]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn $tile4(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
            $rows::<4>(nb, w, a, stride)
        }
    )*};
}
row_entries!(
    "Q2_K": vec_dot_q2k, tile4_q2k => q2k_rows,
    "Q3_K": vec_dot_q3k, tile4_q3k => q3k_rows,
    "IQ4_XS": vec_dot_iq4xs, tile4_iq4xs => iq4xs_rows
);
