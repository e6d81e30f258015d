//! NEON dot kernels for the 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
//! IQ4_NL), generic over the byte-dot
//! instruction. Blocks alternate between two float accumulators so the FMA
//! latency chain does not limit throughput; activation scales are read from
//! the row's pre-widened f32 appendix (see `acts`) rather than converted per block.

use super::{bits_to_bytes16, h2f, Dot, Mull};
use crate::acts::scales_offset;
use crate::blocks::KVALUES_IQ4NL;
use crate::ActType;
use core::arch::aarch64::*;

/// Activation scale `d` (and for Q8_1 `s`) of block `i` in a row of `nb` blocks starting at `a`.
#[inline(always)]
unsafe fn act_d(a: *const u8, act: ActType, nb: usize, i: usize) -> f32 {
    *(a.add(scales_offset(act, nb)) as *const f32).add(i)
}
#[inline(always)]
unsafe fn act_s(a: *const u8, nb: usize, i: usize) -> f32 {
    *(a.add(scales_offset(ActType::Q8_1, nb)) as *const f32).add(nb + i)
}

/// Sums `d · isum` (+ `extra`) over `nb` blocks; the body yields
/// `(d: f32, isum: int32x4_t, extra: f32)` for block `$i` (−0.0 = no extra; it folds away).
macro_rules! block_loop {
    ($nb:expr, |$i:ident| $body:expr) => {{
        let mut a0 = vdupq_n_f32(0.0);
        let mut a1 = vdupq_n_f32(0.0);
        let (mut e0, mut e1) = (0.0f32, 0.0f32);
        let mut $i = 0usize;
        while $i + 2 <= $nb {
            let (d, s, e): (f32, int32x4_t, f32) = $body;
            a0 = vfmaq_n_f32(a0, vcvtq_f32_s32(s), d);
            e0 += e;
            $i += 1;
            let (d, s, e): (f32, int32x4_t, f32) = $body;
            a1 = vfmaq_n_f32(a1, vcvtq_f32_s32(s), d);
            e1 += e;
            $i += 1;
        }
        if $i < $nb {
            let (d, s, e): (f32, int32x4_t, f32) = $body;
            a0 = vfmaq_n_f32(a0, vcvtq_f32_s32(s), d);
            e0 += e;
        }
        vaddvq_f32(vaddq_f32(a0, a1)) + (e0 + e1)
    }};
}

#[inline(always)]
unsafe fn nibbles(p: *const u8) -> (int8x16_t, int8x16_t) {
    let q = vld1q_u8(p);
    (vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), vreinterpretq_s8_u8(vshrq_n_u8(q, 4)))
}

#[inline(always)]
unsafe fn zero() -> int32x4_t {
    vdupq_n_s32(0)
}

#[inline(always)]
pub(crate) unsafe fn q4_0<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let eight = vdupq_n_s8(8);
    block_loop!(nb, |i| {
        let (x, y) = (w.add(i * 18), a.add(i * 34));
        let (lo, hi) = nibbles(x.add(2));
        let s = D::dot(zero(), vsubq_s8(lo, eight), vld1q_s8(y.add(2) as *const i8));
        let s = D::dot(s, vsubq_s8(hi, eight), vld1q_s8(y.add(18) as *const i8));
        (h2f(x) * act_d(a, ActType::Q8_0, nb, i), s, -0.0)
    })
}

#[inline(always)]
pub(crate) unsafe fn q4_1<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    block_loop!(nb, |i| {
        let (x, y) = (w.add(i * 20), a.add(i * 36));
        let (lo, hi) = nibbles(x.add(4));
        let s = D::dot(zero(), lo, vld1q_s8(y.add(4) as *const i8));
        let s = D::dot(s, hi, vld1q_s8(y.add(20) as *const i8));
        (h2f(x) * act_d(a, ActType::Q8_1, nb, i), s, h2f(x.add(2)) * act_s(a, nb, i))
    })
}

#[inline(always)]
unsafe fn read_u32(p: *const u8) -> u32 {
    (p as *const u32).read_unaligned()
}

#[inline(always)]
pub(crate) unsafe fn q5_0<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let f0 = vdupq_n_u8(0xf0);
    block_loop!(nb, |i| {
        let (x, y) = (w.add(i * 22), a.add(i * 34));
        let qh = read_u32(x.add(2));
        let (lo, hi) = nibbles(x.add(6));
        // q − 16 as a byte is q | 0xF0 when the fifth bit is clear, q when it is set.
        let lo = vorrq_s8(lo, vreinterpretq_s8_u8(vbicq_u8(f0, bits_to_bytes16(qh as u16))));
        let hi = vorrq_s8(hi, vreinterpretq_s8_u8(vbicq_u8(f0, bits_to_bytes16((qh >> 16) as u16))));
        let s = D::dot(zero(), lo, vld1q_s8(y.add(2) as *const i8));
        let s = D::dot(s, hi, vld1q_s8(y.add(18) as *const i8));
        (h2f(x) * act_d(a, ActType::Q8_0, nb, i), s, -0.0)
    })
}

#[inline(always)]
pub(crate) unsafe fn q5_1<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let b4 = vdupq_n_u8(0x10);
    block_loop!(nb, |i| {
        let (x, y) = (w.add(i * 24), a.add(i * 36));
        let qh = read_u32(x.add(4));
        let (lo, hi) = nibbles(x.add(8));
        let lo = vorrq_s8(lo, vreinterpretq_s8_u8(vandq_u8(b4, bits_to_bytes16(qh as u16))));
        let hi = vorrq_s8(hi, vreinterpretq_s8_u8(vandq_u8(b4, bits_to_bytes16((qh >> 16) as u16))));
        let s = D::dot(zero(), lo, vld1q_s8(y.add(4) as *const i8));
        let s = D::dot(s, hi, vld1q_s8(y.add(20) as *const i8));
        (h2f(x) * act_d(a, ActType::Q8_1, nb, i), s, h2f(x.add(2)) * act_s(a, nb, i))
    })
}

#[inline(always)]
pub(crate) unsafe fn q8_0<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    block_loop!(nb, |i| {
        let (x, y) = (w.add(i * 34), a.add(i * 34));
        let s = D::dot(zero(), vld1q_s8(x.add(2) as *const i8), vld1q_s8(y.add(2) as *const i8));
        let s = D::dot(s, vld1q_s8(x.add(18) as *const i8), vld1q_s8(y.add(18) as *const i8));
        (h2f(x) * act_d(a, ActType::Q8_0, nb, i), s, -0.0)
    })
}

#[inline(always)]
pub(crate) unsafe fn iq4nl<D: Dot>(nb: usize, w: *const u8, a: *const u8) -> f32 {
    // The 16 levels fit one register: tbl maps nibbles to signed values.
    let table = vld1q_s8(KVALUES_IQ4NL.as_ptr());
    block_loop!(nb, |i| {
        let (x, y) = (w.add(i * 18), a.add(i * 34));
        let (lo, hi) = nibbles(x.add(2));
        let lo = vqtbl1q_s8(table, vreinterpretq_u8_s8(lo));
        let hi = vqtbl1q_s8(table, vreinterpretq_u8_s8(hi));
        let s = D::dot(zero(), lo, vld1q_s8(y.add(2) as *const i8));
        let s = D::dot(s, hi, vld1q_s8(y.add(18) as *const i8));
        (h2f(x) * act_d(a, ActType::Q8_0, nb, i), s, -0.0)
    })
}

macro_rules! neon_entry {
    ($($name:ident => $body:ident),*) => {$(
        /// # Safety
        /// `w`/`a` must hold `nb` weight / matching activation blocks.
        #[target_feature(enable = "neon")]
        pub unsafe fn $name(nb: usize, w: *const u8, a: *const u8) -> f32 {
            $body::<Mull>(nb, w, a)
        }
    )*};
}
neon_entry!(vec_dot_q4_0 => q4_0, vec_dot_q4_1 => q4_1, vec_dot_q5_0 => q5_0, vec_dot_q5_1 => q5_1, vec_dot_q8_0 => q8_0, vec_dot_iq4nl => iq4nl);

super::rows::rows4_entries!("neon", Mull);
