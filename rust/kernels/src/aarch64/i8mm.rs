//! Armv8.6 i8mm (`smmla`) 2×2 tiles for the prefill GEMM: two weight rows
//! against two activation rows, so each unpacked weight block feeds two tokens.
//!
//! `smmla d, n, m` treats n and m as 2×8 row-major byte matrices and adds
//! n·mᵀ to the 2×2 i32 matrix d; zipping the 64-bit halves of two rows builds
//! those operands. `vmmlaq_s32` is unstable, hence the asm.

use super::h2f;
use core::arch::aarch64::*;
use core::arch::asm;

#[inline(always)]
unsafe fn smmla(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    asm!(
        ".arch_extension i8mm",
        "smmla {acc:v}.4s, {a:v}.16b, {b:v}.16b",
        acc = inout(vreg) acc,
        a = in(vreg) a,
        b = in(vreg) b,
        options(pure, nomem, nostack, preserves_flags)
    );
    acc
}

/// Adds the 2×2 dot products of 16 elements of rows (r0, r1) with (a0, a1).
#[inline(always)]
unsafe fn mm16(acc: int32x4_t, r0: int8x16_t, r1: int8x16_t, a0: int8x16_t, a1: int8x16_t) -> int32x4_t {
    let z = |x: int8x16_t, y: int8x16_t, hi: bool| {
        let (x, y) = (vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y));
        vreinterpretq_s8_s64(if hi { vzip2q_s64(x, y) } else { vzip1q_s64(x, y) })
    };
    let acc = smmla(acc, z(r0, r1, false), z(a0, a1, false));
    smmla(acc, z(r0, r1, true), z(a0, a1, true))
}

/// `[d_r0·e_a0, d_r0·e_a1, d_r1·e_a0, d_r1·e_a1]`, the lane order of `smmla`.
#[inline(always)]
unsafe fn outer(d0: f32, d1: f32, e0: f32, e1: f32) -> float32x4_t {
    let d = vcombine_f32(vdup_n_f32(d0), vdup_n_f32(d1));
    let e = vcombine_f32(vld1_f32([e0, e1].as_ptr()), vld1_f32([e0, e1].as_ptr()));
    vmulq_f32(d, e)
}

#[inline(always)]
unsafe fn ld(p: *const u8) -> int8x16_t {
    vld1q_s8(p as *const i8)
}

/// # Safety
/// The CPU must support i8mm; `w0`/`w1` hold `nb` Q8_0 blocks, `a0`/`a1` `nb` Q8_0 activation blocks.
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn tile_q8_0(nb: usize, w0: *const u8, w1: *const u8, a0: *const u8, a1: *const u8) -> [f32; 4] {
    let mut acc = vdupq_n_f32(0.0);
    for i in 0..nb {
        let (x0, x1, y0, y1) = (w0.add(34 * i), w1.add(34 * i), a0.add(34 * i), a1.add(34 * i));
        let s = mm16(vdupq_n_s32(0), ld(x0.add(2)), ld(x1.add(2)), ld(y0.add(2)), ld(y1.add(2)));
        let s = mm16(s, ld(x0.add(18)), ld(x1.add(18)), ld(y0.add(18)), ld(y1.add(18)));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(s), outer(h2f(x0), h2f(x1), h2f(y0), h2f(y1)));
    }
    let mut out = [0f32; 4];
    vst1q_f32(out.as_mut_ptr(), acc);
    out
}

/// # Safety
/// The CPU must support i8mm; `w0`/`w1` hold `nb` Q4_1 blocks, `a0`/`a1` `nb` Q8_1 activation blocks.
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn tile_q4_1(nb: usize, w0: *const u8, w1: *const u8, a0: *const u8, a1: *const u8) -> [f32; 4] {
    let m4 = vdupq_n_u8(0x0f);
    let mut acc = vdupq_n_f32(0.0);
    let mut accm = vdupq_n_f32(0.0);
    for i in 0..nb {
        let (x0, x1, y0, y1) = (w0.add(20 * i), w1.add(20 * i), a0.add(36 * i), a1.add(36 * i));
        let (q0, q1) = (vld1q_u8(x0.add(4)), vld1q_u8(x1.add(4)));
        let lo = |q: uint8x16_t| vreinterpretq_s8_u8(vandq_u8(q, m4));
        let hi = |q: uint8x16_t| vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
        let s = mm16(vdupq_n_s32(0), lo(q0), lo(q1), ld(y0.add(4)), ld(y1.add(4)));
        let s = mm16(s, hi(q0), hi(q1), ld(y0.add(20)), ld(y1.add(20)));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(s), outer(h2f(x0), h2f(x1), h2f(y0), h2f(y1)));
        accm = vaddq_f32(accm, outer(h2f(x0.add(2)), h2f(x1.add(2)), h2f(y0.add(2)), h2f(y1.add(2))));
    }
    let mut out = [0f32; 4];
    vst1q_f32(out.as_mut_ptr(), vaddq_f32(acc, accm));
    out
}
