//! AVX2+FMA tiles for prefill: one weight row against four activation rows.
//!
//! With many activation rows the row-dot kernels are compute-bound, and per
//! block most of their work is unpacking the weights and scaling the block
//! sum. Here each weight block is unpacked (and made unsigned for `maddubs`)
//! once for four rows, and the block sums are scaled by a broadcast
//! `d_w · d_a` straight into float accumulators, so a block costs each row
//! about half of what a row-dot spends on it.

use super::util::*;
use crate::acts::scales_offset;
use crate::blocks::KVALUES_IQ4NL;
use crate::ActType;
use core::arch::x86_64::*;

/// `$unpack` turns weight block `$x` into `(unsigned bytes, sign source)`; the
/// activation bytes get the sign source's signs, so `maddubs` sees u8 × i8.
/// `$min` = (offset of an f16 in the block, factor) adds factor·f16·s_a per
/// block: Q4_1/Q5_1's m_w, or −8·d_w / −16·d_w for Q4_0/Q5_0, whose values
/// are used unsigned (q instead of q − 8 or q − 16), saving a sign op per row.
macro_rules! tile4 {
    ($nb:ident, $w:ident, $a:ident, $stride:ident, $ws:expr, $qs:expr, $act:expr, $min:expr, |$x:ident| $unpack:expr) => {{
        let min: Option<(usize, f32)> = $min;
        let ab = $act.block_bytes();
        let so = scales_offset($act, $nb);
        let ap = [$a, $a.add($stride), $a.add(2 * $stride), $a.add(3 * $stride)];
        let ad = ap.map(|p| p.add(so) as *const f32);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); 4];
        for b in 0..$nb {
            let $x = $w.add(b * $ws);
            let (wu, sign): (__m256i, Option<__m256i>) = $unpack;
            let dw = _mm256_set1_ps(h2f($x));
            for k in 0..4 {
                let y = load256(ap[k].add(b * ab + $qs));
                let y = match sign {
                    Some(s) => _mm256_sign_epi8(y, s),
                    None => y,
                };
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(wu, y), ones);
                let t = _mm256_mul_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&*ad[k].add(b)));
                acc[k] = _mm256_fmadd_ps(t, dw, acc[k]);
            }
        }
        let mut out = [hsum_ps(acc[0]), hsum_ps(acc[1]), hsum_ps(acc[2]), hsum_ps(acc[3])];
        if let Some((mo, mf)) = min {
            // Eight blocks per step: a scalar loop here was a serial add chain
            // costing as much as the whole integer part.
            let mut accm = [_mm256_setzero_ps(); 4];
            let mut b = 0;
            while b + 8 <= $nb {
                let p = $w.add(b * $ws + mo);
                let g = |j: usize| (p.add(j * $ws) as *const i16).read_unaligned();
                let mw = _mm256_cvtph_ps(_mm_setr_epi16(g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7)));
                let mw = _mm256_mul_ps(mw, _mm256_set1_ps(mf));
                for k in 0..4 {
                    accm[k] = _mm256_fmadd_ps(mw, _mm256_loadu_ps(ad[k].add($nb + b)), accm[k]);
                }
                b += 8;
            }
            for k in 0..4 {
                out[k] += hsum_ps(accm[k]);
            }
            while b < $nb {
                let mw = h2f($w.add(b * $ws + mo)) * mf;
                for k in 0..4 {
                    out[k] += mw * *ad[k].add($nb + b);
                }
                b += 1;
            }
        }
        out
    }};
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q4_0 blocks; `a` four Q8_0 activation rows `stride` bytes apart.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_q4_0(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    tile4!(nb, w, a, stride, 18, 2, ActType::Q8_0, Some((0, -8.0)), |x| (nibbles(x.add(2)), None))
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q4_1 blocks; `a` four Q8_1 activation rows `stride` bytes apart.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_q4_1(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    tile4!(nb, w, a, stride, 20, 4, ActType::Q8_1, Some((2, 1.0)), |x| (nibbles(x.add(4)), None))
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q5_0 blocks; `a` four Q8_0 activation rows `stride` bytes apart.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_q5_0(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    let b4 = _mm256_set1_epi8(0x10);
    tile4!(nb, w, a, stride, 22, 2, ActType::Q8_0, Some((0, -16.0)), |x| {
        let hb = _mm256_and_si256(bits_to_bytes(read_u32(x.add(2))), b4);
        (_mm256_or_si256(nibbles(x.add(6)), hb), None)
    })
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q5_1 blocks; `a` four Q8_1 activation rows `stride` bytes apart.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_q5_1(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    let b4 = _mm256_set1_epi8(0x10);
    tile4!(nb, w, a, stride, 24, 4, ActType::Q8_1, Some((2, 1.0)), |x| {
        let hb = _mm256_and_si256(bits_to_bytes(read_u32(x.add(4))), b4);
        (_mm256_or_si256(nibbles(x.add(8)), hb), None)
    })
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` Q8_0 blocks; `a` four Q8_0 activation rows `stride` bytes apart.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_q8_0(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    tile4!(nb, w, a, stride, 34, 2, ActType::Q8_0, None, |x| {
        let v = load256(x.add(2));
        (_mm256_sign_epi8(v, v), Some(v))
    })
}

/// # Safety
/// AVX2+FMA+F16C present; `w` holds `nb` IQ4_NL blocks; `a` four Q8_0 activation rows `stride` bytes apart.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn tile4_iq4nl(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    let table = _mm256_broadcastsi128_si256(_mm_loadu_si128(KVALUES_IQ4NL.as_ptr() as *const __m128i));
    tile4!(nb, w, a, stride, 18, 2, ActType::Q8_0, None, |x| {
        let v = _mm256_shuffle_epi8(table, nibbles(x.add(2)));
        (_mm256_sign_epi8(v, v), Some(v))
    })
}
