//! NEON dot kernels for the 256-element super-block formats (the K-quants and
//! IQ4_XS) against Q8_K, generic over the byte-dot instruction. Each
//! super-block's integer sums are reduced to one exact i32 before scaling, as
//! in the reference.

use super::{h2f, Dot, Mull};
use crate::blocks::{unpack_iq4xs_scales, unpack_k_scales, unpack_q3k_scales, KVALUES_IQ4NL};
use core::arch::aarch64::*;

const Q8K_BYTES: usize = 292;
const Q8K_QS: usize = 4;
const Q8K_BSUMS: usize = 4 + 256;

#[inline(always)]
unsafe fn q8k_d(y: *const u8) -> f32 {
    (y as *const f32).read()
}

#[inline(always)]
unsafe fn ld(p: *const u8) -> int8x16_t {
    vld1q_s8(p as *const i8)
}

/// Σ min_j · (bsum_{2j} + bsum_{2j+1}).
#[inline(always)]
unsafe fn k_mins(mn: &[u8; 8], y: *const u8) -> i32 {
    let b = y.add(Q8K_BSUMS) as *const i16;
    let pairs = vpaddq_s16(vld1q_s16(b), vld1q_s16(b.add(8)));
    let mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn.as_ptr())));
    let lo = vmull_s16(vget_low_s16(pairs), vget_low_s16(mins));
    let hi = vmull_high_s16(pairs, mins);
    vaddvq_s32(vaddq_s32(lo, hi))
}

/// Q4_K/Q5_K share everything but the fifth bit; `HIGH` selects Q5_K. One
/// weight row against `T` activation rows `stride` bytes apart: with T = 4
/// (prefill) each super-block's scales and nibbles are unpacked once for four
/// tokens instead of once per token.
#[inline(always)]
unsafe fn q45k<D: Dot, const HIGH: bool, const T: usize>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; T] {
    let (bb, qs_off) = if HIGH { (176, 48) } else { (144, 16) };
    let m4 = vdupq_n_u8(0x0f);
    let mut acc = [0.0f32; T];
    for i in 0..nb {
        let x = w.add(i * bb);
        let y = |t: usize| a.add(t * stride + i * Q8K_BYTES);
        let (sc, mn) = unpack_k_scales(&*(x.add(4) as *const [u8; 12]));
        let (mut h0, mut h1) = if HIGH { (vld1q_u8(x.add(16)), vld1q_u8(x.add(32))) } else { (m4, m4) };
        let sc16 = vmovl_u8(vld1_u8(sc.as_ptr()));
        // Scales of sub-blocks 0..4 and 4..8, one lane each.
        let scv = [vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sc16))), vreinterpretq_s32_u32(vmovl_high_u16(sc16))];
        let mut sumv = [vdupq_n_s32(0); T];
        for cp in 0..2 {
            // Chunks 2cp and 2cp + 1 hold sub-blocks 4cp..4cp + 4: their four sums
            // are reduced into one vector's lanes and scaled by one multiply.
            let mut parts = [[vdupq_n_s32(0); 4]; T];
            for k in 0..2 {
                let c = 2 * cp + k;
                let q0 = vld1q_u8(x.add(qs_off + 32 * c));
                let q1 = vld1q_u8(x.add(qs_off + 32 * c + 16));
                let (mut l0, mut l1) = (vandq_u8(q0, m4), vandq_u8(q1, m4));
                let (mut u0, mut u1) = (vshrq_n_u8(q0, 4), vshrq_n_u8(q1, 4));
                if HIGH {
                    // Chunk c's fifth bits sit at bits 2c / 2c+1; shifting by 2 per chunk keeps them at 0 / 1.
                    let one = vdupq_n_u8(1);
                    let two = vdupq_n_u8(2);
                    l0 = vorrq_u8(l0, vshlq_n_u8(vandq_u8(h0, one), 4));
                    l1 = vorrq_u8(l1, vshlq_n_u8(vandq_u8(h1, one), 4));
                    u0 = vorrq_u8(u0, vshlq_n_u8(vandq_u8(h0, two), 3));
                    u1 = vorrq_u8(u1, vshlq_n_u8(vandq_u8(h1, two), 3));
                    h0 = vshrq_n_u8(h0, 2);
                    h1 = vshrq_n_u8(h1, 2);
                }
                let s = |v: uint8x16_t| vreinterpretq_s8_u8(v);
                for (t, pt) in parts.iter_mut().enumerate() {
                    let ys = y(t).add(Q8K_QS + 64 * c);
                    pt[2 * k] = D::dot(D::dot(vdupq_n_s32(0), s(l0), ld(ys)), s(l1), ld(ys.add(16)));
                    pt[2 * k + 1] = D::dot(D::dot(vdupq_n_s32(0), s(u0), ld(ys.add(32))), s(u1), ld(ys.add(48)));
                }
            }
            for (sv, p) in sumv.iter_mut().zip(&parts) {
                let per_sub = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
                *sv = vmlaq_s32(*sv, per_sub, scv[cp]);
            }
        }
        let (dw, mw) = (h2f(x), h2f(x.add(2)));
        for (t, at) in acc.iter_mut().enumerate() {
            let yd = q8k_d(y(t));
            *at += dw * yd * vaddvq_s32(sumv[t]) as f32 - mw * yd * k_mins(&mn, y(t)) as f32;
        }
    }
    acc
}

#[inline(always)]
pub(crate) unsafe fn q4k<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    q45k::<D, false, 1>(nb, w, a, 0)[0]
}

#[inline(always)]
pub(crate) unsafe fn q5k<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    q45k::<D, true, 1>(nb, w, a, 0)[0]
}

/// Q6_K, one weight row against `T` activation rows (see [`q45k`]).
///
/// The 6-bit codes are assembled with shift-and-insert (`sli`/`sri`: two or
/// three instructions per 16 codes instead of four or five), and used as
/// they are stored (0..63, still valid signed bytes): the −32 offset is
/// taken off once per super-block as 32 · Σ scale · (sum of 16 activations)
/// from Q8_K's `bsums`, instead of one subtraction per 16 codes.
#[inline(always)]
unsafe fn q6k_t<D: Dot, const T: usize>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; T] {
    let m3 = vdupq_n_u8(0x03);
    let m30 = vdupq_n_u8(0x30);
    let mut acc = [0.0f32; T];
    for i in 0..nb {
        let x = w.add(i * 210);
        let y = |t: usize| a.add(t * stride + i * Q8K_BYTES);
        let sc = x.add(192) as *const i8;
        let s8 = vld1q_s8(sc);
        // Scales by (half, n): sub-blocks 8n + half + {0, 2, 4, 6}, one per group g.
        let (even, odd) = (vmovl_s8(vget_low_s8(vuzp1q_s8(s8, s8))), vmovl_s8(vget_low_s8(vuzp2q_s8(s8, s8))));
        let scv = [[vmovl_s16(vget_low_s16(even)), vmovl_high_s16(even)], [vmovl_s16(vget_low_s16(odd)), vmovl_high_s16(odd)]];
        let mut sumv = [vdupq_n_s32(0); T];
        for n in 0..2 {
            let ql = x.add(64 * n);
            let qh = x.add(128 + 32 * n);
            // Each 16-byte vector is one 16-element sub-block with its own scale.
            for half in 0..2 {
                let l0 = vld1q_u8(ql.add(16 * half));
                let l1 = vld1q_u8(ql.add(32 + 16 * half));
                let h = vld1q_u8(qh.add(16 * half));
                let h2 = vshrq_n_u8::<2>(h);
                let q = [
                    vsliq_n_u8::<4>(l0, vandq_u8(h, m3)),
                    vsliq_n_u8::<4>(l1, vandq_u8(h2, m3)),
                    vsriq_n_u8::<4>(vandq_u8(h, m30), l0),
                    vsriq_n_u8::<4>(vandq_u8(h2, m30), l1),
                ];
                // The four groups' sums, one lane each, take their four scales in one multiply.
                for (t, sv) in sumv.iter_mut().enumerate() {
                    let ys = y(t).add(Q8K_QS + 128 * n + 16 * half);
                    let d = [0, 1, 2, 3].map(|g| D::dot(vdupq_n_s32(0), vreinterpretq_s8_u8(q[g]), ld(ys.add(32 * g))));
                    let per_group = vpaddq_s32(vpaddq_s32(d[0], d[1]), vpaddq_s32(d[2], d[3]));
                    *sv = vmlaq_s32(*sv, per_group, scv[half][n]);
                }
            }
        }
        let (slo, shi) = (vmovl_s8(vget_low_s8(s8)), vmovl_high_s8(s8));
        let dw = h2f(x.add(208));
        for (t, at) in acc.iter_mut().enumerate() {
            let b = y(t).add(Q8K_BSUMS) as *const i16;
            let (b0, b1) = (vld1q_s16(b), vld1q_s16(b.add(8)));
            let p = vmull_s16(vget_low_s16(slo), vget_low_s16(b0));
            let p = vmlal_high_s16(p, slo, b0);
            let p = vmlal_s16(p, vget_low_s16(shi), vget_low_s16(b1));
            let p = vmlal_high_s16(p, shi, b1);
            *at += dw * q8k_d(y(t)) * (vaddvq_s32(sumv[t]) - 32 * vaddvq_s32(p)) as f32;
        }
    }
    acc
}

#[inline(always)]
pub(crate) unsafe fn q6k<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    q6k_t::<D, 1>(nb, w, a, 0)[0]
}

/// `pub unsafe fn NAME(nb, w, a, stride) -> [f32; 4]`: one weight row against
/// four activation rows (the prefill tiles) for one ISA level.
macro_rules! tile4_entries {
    ($features:literal, $dot:ty) => {
        /// # Safety
        /// The CPU must support the enabled features; `w` holds `nb` Q4_K blocks,
        /// `a`, `a + stride`, … four rows of `nb` 4-aligned Q8_K blocks.
        #[target_feature(enable = $features)]
        pub unsafe fn tile4_q4k(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
            super::neon_kquants::q45k_tile::<$dot, false>(nb, w, a, stride)
        }
        /// # Safety
        /// As `tile4_q4k`, for Q5_K.
        #[target_feature(enable = $features)]
        pub unsafe fn tile4_q5k(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
            super::neon_kquants::q45k_tile::<$dot, true>(nb, w, a, stride)
        }
        /// # Safety
        /// As `tile4_q4k`, for Q6_K.
        #[target_feature(enable = $features)]
        pub unsafe fn tile4_q6k(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
            super::neon_kquants::q6k_tile::<$dot>(nb, w, a, stride)
        }
    };
}
pub(crate) use tile4_entries;

#[inline(always)]
pub(crate) unsafe fn q45k_tile<D: Dot, const HIGH: bool>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    q45k::<D, HIGH, 4>(nb, w, a, stride)
}

#[inline(always)]
pub(crate) unsafe fn q6k_tile<D: Dot>(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4] {
    q6k_t::<D, 4>(nb, w, a, stride)
}

/// Bits 2g..2g+2 of every byte: the 2-bit codes of group g (Q2_K/Q3_K layout:
/// byte l of 32-byte half n holds elements 128n + 32g + l at bits 2g).
#[inline(always)]
unsafe fn crumbs(q: uint8x16_t, g: usize) -> uint8x16_t {
    // A negative per-lane shift count shifts right (vshrq_n needs a constant).
    vandq_u8(vshlq_u8(q, vdupq_n_s8(-2 * g as i8)), vdupq_n_u8(3))
}

/// Σ_sub-blocks scale · Σ q·a over one 2-bit-layout super-block; `$val(n, g, half, codes)`
/// turns 16 codes into signed weights and `$scale(s)` gives sub-block s's scale.
macro_rules! two_bit_sum {
    ($D:ty, $qs:expr, $y:expr, |$n:ident, $g:ident, $h:ident, $c:ident| $val:expr, |$s:ident| $scale:expr) => {{
        let mut sumv = vdupq_n_s32(0);
        for $n in 0..2 {
            let q = [vld1q_u8($qs.add(32 * $n)), vld1q_u8($qs.add(32 * $n + 16))];
            for $g in 0..4 {
                // Each 16-byte half is one 16-element sub-block with its own scale.
                for $h in 0..2 {
                    let $c = crumbs(q[$h], $g);
                    let ys = ld($y.add(Q8K_QS + 128 * $n + 32 * $g + 16 * $h));
                    let p = <$D>::dot(vdupq_n_s32(0), $val, ys);
                    let $s = 8 * $n + 2 * $g + $h;
                    sumv = vmlaq_n_s32(sumv, p, $scale);
                }
            }
        }
        vaddvq_s32(sumv)
    }};
}

#[inline(always)]
pub(crate) unsafe fn q2k<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let mut acc = 0.0f32;
    for i in 0..nb {
        let x = w.add(i * 84);
        let y = a.add(i * Q8K_BYTES);
        let sc = &*(x as *const [u8; 16]);
        // Mins (high nibbles) multiply whole 16-sums of the activations.
        let raw = vld1q_u8(x);
        let mins = vshrq_n_u8(raw, 4);
        let b = y.add(Q8K_BSUMS) as *const i16;
        let m_lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mins)));
        let m_hi = vreinterpretq_s16_u16(vmovl_high_u8(mins));
        let mprod = vaddq_s32(
            vaddq_s32(vmull_s16(vget_low_s16(m_lo), vld1_s16(b)), vmull_high_s16(m_lo, vld1q_s16(b))),
            vaddq_s32(vmull_s16(vget_low_s16(m_hi), vld1_s16(b.add(8))), vmull_high_s16(m_hi, vld1q_s16(b.add(8)))),
        );
        let msum = vaddvq_s32(mprod) as f32;
        let isum = two_bit_sum!(D, x.add(16), y, |_n, _g, _h, c| vreinterpretq_s8_u8(c), |s| (sc[s] & 0xf) as i32);
        let yd = q8k_d(y);
        acc += h2f(x.add(80)) * yd * isum as f32 - h2f(x.add(82)) * yd * msum;
    }
    acc
}

#[inline(always)]
pub(crate) unsafe fn q3k<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let one = vdupq_n_u8(1);
    let four = vdupq_n_s8(4);
    let mut acc = 0.0f32;
    for i in 0..nb {
        let x = w.add(i * 110);
        let y = a.add(i * Q8K_BYTES);
        let sc = unpack_q3k_scales(&*(x.add(96) as *const [u8; 12]));
        let hm = [vld1q_u8(x), vld1q_u8(x.add(16))];
        // Weight = code + 4·h − 4, in −4..=3: h is bit 4n + g of hmask byte l.
        let isum = two_bit_sum!(
            D,
            x.add(32),
            y,
            |n, g, h, c| {
                let hb = vandq_u8(vshlq_u8(hm[h], vdupq_n_s8(-((4 * n + g) as i8))), one);
                vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(c, vshlq_n_u8(hb, 2))), four)
            },
            |s| sc[s] as i32
        );
        acc += h2f(x.add(108)) * q8k_d(y) * isum as f32;
    }
    acc
}

#[inline(always)]
pub(crate) unsafe fn iq4xs<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    // The 16 levels fit one register: tbl maps nibbles to signed values.
    let table = vld1q_s8(KVALUES_IQ4NL.as_ptr());
    let m4 = vdupq_n_u8(0x0f);
    let mut acc = 0.0f32;
    for i in 0..nb {
        let x = w.add(i * 136);
        let y = a.add(i * Q8K_BYTES);
        let sc = unpack_iq4xs_scales([*x.add(2), *x.add(3)], &*(x.add(4) as *const [u8; 4]));
        let mut sumv = vdupq_n_s32(0);
        for (ib, &s) in sc.iter().enumerate() {
            let q = vld1q_u8(x.add(8 + 16 * ib));
            let lo = vqtbl1q_s8(table, vandq_u8(q, m4));
            let hi = vqtbl1q_s8(table, vshrq_n_u8(q, 4));
            let ys = y.add(Q8K_QS + 32 * ib);
            let p = D::dot(D::dot(vdupq_n_s32(0), lo, ld(ys)), hi, ld(ys.add(16)));
            sumv = vmlaq_n_s32(sumv, p, s as i32);
        }
        acc += h2f(x) * q8k_d(y) * vaddvq_s32(sumv) as f32;
    }
    acc
}

macro_rules! neon_entry {
    ($($name:ident => $body:ident),*) => {$(
        /// # Safety
        /// `w` must hold `nb` weight blocks and `a` `nb` 4-aligned Q8_K blocks.
        #[target_feature(enable = "neon")]
        pub unsafe fn $name(nb: usize, w: *const u8, a: *const u8) -> f32 {
            $body::<Mull>(nb, w, a)
        }
    )*};
}
neon_entry!(
    vec_dot_q4k => q4k,
    vec_dot_q5k => q5k,
    vec_dot_q6k => q6k,
    vec_dot_q2k => q2k,
    vec_dot_q3k => q3k,
    vec_dot_iq4xs => iq4xs
);

tile4_entries!("neon", Mull);
