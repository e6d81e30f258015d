//! Multi-row kernels for the 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1,
//! Q8_0, IQ4_NL), on the weights as they lie in the file (no repacking, so
//! weights stay memory-mapped and cost no heap).
//!
//! - [`rows4`]: four consecutive weight rows against one activation row, the
//!   decode GEMV. Each activation block is loaded once for four rows, the four
//!   integer sums are folded into one vector with three pairwise adds, and the
//!   four weight scales are widened with one `fcvtl`. The single-row kernels
//!   paid all of that per row.
//! - [`tile2x2`]: two weight rows against two activation rows with `smmla`
//!   (i8mm), the prefill GEMM where fewer than four tokens remain; four by
//!   four is in `tile4x4.rs`.
//!
//! The formats differ only in how 32 weights become two `int8x16_t` and in
//! their offset term, so each is a [`Block32`] and the loops are written once.
//! Q4_0 and Q5_0 are taken as unsigned (0..15 / 0..31) and corrected by
//! `-8·d·s` / `-16·d·s`, with `s = d_a·Σq_a` from the activation row's
//! appendix (see `acts`): one subtraction fewer per 16 weights and row.

use super::Dot;
use crate::acts::{act_layout, scales_offset};
use crate::blocks::KVALUES_IQ4NL;
use crate::ActType;
use core::arch::aarch64::*;
use core::arch::asm;

/// The term a format adds to `d_w · d_a · Σ q_w·q_a` per block.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Offset {
    /// Symmetric (Q8_0, IQ4_NL): nothing.
    None,
    /// Stored minimum `m` (f16 at byte 2): `+ m · s_a`.
    Min,
    /// Unsigned codes with an implicit zero point `k`: `- k · d_w · s_a`.
    Zero(f32),
}

/// One 32-element weight format.
pub(crate) trait Block32: Copy {
    /// Bytes per weight block.
    const BYTES: usize;
    /// The activation format it pairs with.
    const ACT: ActType;
    const OFFSET: Offset;
    /// Builds the format's constant vectors once per call.
    unsafe fn new() -> Self;
    /// The 32 weights of the block at `x` as bytes (elements 0..16, 16..32).
    unsafe fn quants(self, x: *const u8) -> (int8x16_t, int8x16_t);
}

#[inline(always)]
unsafe fn nibbles(p: *const u8, m4: uint8x16_t) -> (int8x16_t, int8x16_t) {
    let q = vld1q_u8(p);
    (vreinterpretq_s8_u8(vandq_u8(q, m4)), vreinterpretq_s8_u8(vshrq_n_u8(q, 4)))
}

/// The fifth bits of a Q5 block as 0x10 bytes: for elements 0..16 and 16..32.
///
/// The 32 bits at `qh` are replicated into every lane (`ld1r`), `tbl` spreads
/// byte k of them over eight lanes, and a per-lane shift brings bit j of each
/// to bit 4: nine instructions for both halves, where testing each half
/// against a bit mask from general registers took about fifteen.
#[derive(Clone, Copy)]
pub(crate) struct FifthBits {
    spread_lo: uint8x16_t,
    spread_hi: uint8x16_t,
    shift: int8x16_t,
    b4: uint8x16_t,
}

impl FifthBits {
    #[inline(always)]
    unsafe fn new() -> FifthBits {
        const LO: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
        const HI: [u8; 16] = [2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
        // Lane j holds bit j % 8 of its byte: shift left by 4 - j (negative = right).
        const SHIFT: [i8; 16] = [4, 3, 2, 1, 0, -1, -2, -3, 4, 3, 2, 1, 0, -1, -2, -3];
        FifthBits {
            spread_lo: vld1q_u8(LO.as_ptr()),
            spread_hi: vld1q_u8(HI.as_ptr()),
            shift: vld1q_s8(SHIFT.as_ptr()),
            b4: vdupq_n_u8(0x10),
        }
    }

    #[inline(always)]
    unsafe fn get(self, qh: *const u8) -> (int8x16_t, int8x16_t) {
        let v = vreinterpretq_u8_u32(ld1r_u32(qh));
        let bits = |spread| vreinterpretq_s8_u8(vandq_u8(vshlq_u8(vqtbl1q_u8(v, spread), self.shift), self.b4));
        (bits(self.spread_lo), bits(self.spread_hi))
    }
}

/// Four bytes at `p` (any alignment) replicated into the four 32-bit lanes.
#[inline(always)]
unsafe fn ld1r_u32(p: *const u8) -> uint32x4_t {
    vdupq_n_u32((p as *const u32).read_unaligned())
}

#[derive(Clone, Copy)]
pub(crate) struct Q4_0(uint8x16_t);
impl Block32 for Q4_0 {
    const BYTES: usize = 18;
    const ACT: ActType = ActType::Q8_0;
    const OFFSET: Offset = Offset::Zero(8.0);
    #[inline(always)]
    unsafe fn new() -> Self {
        Q4_0(vdupq_n_u8(0x0f))
    }
    #[inline(always)]
    unsafe fn quants(self, x: *const u8) -> (int8x16_t, int8x16_t) {
        nibbles(x.add(2), self.0)
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Q4_1(uint8x16_t);
impl Block32 for Q4_1 {
    const BYTES: usize = 20;
    const ACT: ActType = ActType::Q8_1;
    const OFFSET: Offset = Offset::Min;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q4_1(vdupq_n_u8(0x0f))
    }
    #[inline(always)]
    unsafe fn quants(self, x: *const u8) -> (int8x16_t, int8x16_t) {
        nibbles(x.add(4), self.0)
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Q5_0(uint8x16_t, FifthBits);
impl Block32 for Q5_0 {
    const BYTES: usize = 22;
    const ACT: ActType = ActType::Q8_0;
    const OFFSET: Offset = Offset::Zero(16.0);
    #[inline(always)]
    unsafe fn new() -> Self {
        Q5_0(vdupq_n_u8(0x0f), FifthBits::new())
    }
    #[inline(always)]
    unsafe fn quants(self, x: *const u8) -> (int8x16_t, int8x16_t) {
        let (h0, h1) = self.1.get(x.add(2));
        let (lo, hi) = nibbles(x.add(6), self.0);
        (vorrq_s8(lo, h0), vorrq_s8(hi, h1))
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Q5_1(uint8x16_t, FifthBits);
impl Block32 for Q5_1 {
    const BYTES: usize = 24;
    const ACT: ActType = ActType::Q8_1;
    const OFFSET: Offset = Offset::Min;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q5_1(vdupq_n_u8(0x0f), FifthBits::new())
    }
    #[inline(always)]
    unsafe fn quants(self, x: *const u8) -> (int8x16_t, int8x16_t) {
        let (h0, h1) = self.1.get(x.add(4));
        let (lo, hi) = nibbles(x.add(8), self.0);
        (vorrq_s8(lo, h0), vorrq_s8(hi, h1))
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Q8_0;
impl Block32 for Q8_0 {
    const BYTES: usize = 34;
    const ACT: ActType = ActType::Q8_0;
    const OFFSET: Offset = Offset::None;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q8_0
    }
    #[inline(always)]
    unsafe fn quants(self, x: *const u8) -> (int8x16_t, int8x16_t) {
        (vld1q_s8(x.add(2) as *const i8), vld1q_s8(x.add(18) as *const i8))
    }
}

#[derive(Clone, Copy)]
pub(crate) struct IQ4NL(uint8x16_t, int8x16_t);
impl Block32 for IQ4NL {
    const BYTES: usize = 18;
    const ACT: ActType = ActType::Q8_0;
    const OFFSET: Offset = Offset::None;
    #[inline(always)]
    unsafe fn new() -> Self {
        IQ4NL(vdupq_n_u8(0x0f), vld1q_s8(KVALUES_IQ4NL.as_ptr()))
    }
    #[inline(always)]
    unsafe fn quants(self, x: *const u8) -> (int8x16_t, int8x16_t) {
        let (lo, hi) = nibbles(x.add(2), self.0);
        (vqtbl1q_s8(self.1, vreinterpretq_u8_s8(lo)), vqtbl1q_s8(self.1, vreinterpretq_u8_s8(hi)))
    }
}

#[inline(always)]
pub(super) unsafe fn ld(p: *const u8) -> int8x16_t {
    vld1q_s8(p as *const i8)
}

/// The f16s at byte `off` of four blocks `stride` bytes apart, widened.
#[inline(always)]
pub(super) unsafe fn gather_f16(x: *const u8, stride: usize, off: usize) -> float32x4_t {
    let p = |r: usize| x.add(r * stride + off);
    f16x4(p(0), p(1), p(2), p(3))
}

/// Four f16s from four (possibly unaligned) addresses, widened. In asm because
/// `vld1_lane_u16` takes an aligned `*const u16`, and weights may sit at any
/// byte offset; `ld1` lane loads and `fcvtl` are Armv8.0 baseline.
#[inline(always)]
unsafe fn f16x4(p0: *const u8, p1: *const u8, p2: *const u8, p3: *const u8) -> float32x4_t {
    let out: float32x4_t;
    asm!(
        "ld1 {{ {h:v}.h }}[0], [{p0}]",
        "ld1 {{ {h:v}.h }}[1], [{p1}]",
        "ld1 {{ {h:v}.h }}[2], [{p2}]",
        "ld1 {{ {h:v}.h }}[3], [{p3}]",
        "fcvtl {o:v}.4s, {h:v}.4h",
        p0 = in(reg) p0,
        p1 = in(reg) p1,
        p2 = in(reg) p2,
        p3 = in(reg) p3,
        h = out(vreg) _,
        o = lateout(vreg) out,
        options(pure, readonly, nostack, preserves_flags)
    );
    out
}

/// Rows `w`, `w + ws`, `w + 2ws`, `w + 3ws` (each `nb` blocks) · activation row `a`.
///
/// # Safety
/// The CPU must support what `D` emits; the rows and `a` must hold `nb` blocks
/// (and `a` its scale appendix); any alignment.
#[inline(always)]
pub(crate) unsafe fn rows4<B: Block32, D: Dot>(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 4] {
    let f = B::new();
    let (ab, aq) = act_layout(B::ACT);
    let ad = a.add(scales_offset(B::ACT, nb)) as *const f32;
    let as_ = ad.add(nb);
    // One block: the four rows' sums folded to one vector, scaled into `acc`.
    // The offset term joins the running sum block by block, as in the
    // reference: kept apart over a row and subtracted at the end, the two
    // large sums lost precision where activations have a large mean.
    let block = |i: usize, acc: float32x4_t| {
        let y = a.add(i * ab + aq);
        let (ya, yb) = (ld(y), ld(y.add(16)));
        let x = w.add(i * B::BYTES);
        let dot = |r: usize| {
            let (lo, hi) = f.quants(x.add(r * ws));
            D::dot(D::dot(vdupq_n_s32(0), lo, ya), hi, yb)
        };
        let (s0, s1, s2, s3) = (dot(0), dot(1), dot(2), dot(3));
        let s = vpaddq_s32(vpaddq_s32(s0, s1), vpaddq_s32(s2, s3));
        let dw = gather_f16(x, ws, 0);
        let acc = vfmaq_f32(acc, vcvtq_f32_s32(s), vmulq_n_f32(dw, *ad.add(i)));
        match B::OFFSET {
            Offset::None => acc,
            Offset::Min => vfmaq_n_f32(acc, gather_f16(x, ws, 2), *as_.add(i)),
            Offset::Zero(k) => vfmaq_n_f32(acc, vmulq_n_f32(dw, -k), *as_.add(i)),
        }
    };
    // Two blocks per step into two accumulators, so consecutive blocks' FMAs
    // do not wait on each other (as locals: an indexed pair was kept on the stack).
    let zero = vdupq_n_f32(0.0);
    let (mut acc0, mut acc1) = (zero, zero);
    let mut i = 0;
    while i + 2 <= nb {
        acc0 = block(i, acc0);
        acc1 = block(i + 1, acc1);
        i += 2;
    }
    if i < nb {
        acc0 = block(i, acc0);
    }
    let total = vaddq_f32(acc0, acc1);
    let mut out = [0f32; 4];
    vst1q_f32(out.as_mut_ptr(), total);
    out
}

#[inline(always)]
pub(super) unsafe fn smmla(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
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
/// `smmla d, n, m` treats n and m as 2×8 row-major byte matrices and adds n·mᵀ
/// to the 2×2 i32 matrix d; zipping the 64-bit halves of two rows builds them.
#[inline(always)]
unsafe fn mm16(acc: int32x4_t, r0: int8x16_t, r1: int8x16_t, a0: int8x16_t, a1: int8x16_t) -> int32x4_t {
    let z = |x: int8x16_t, y: int8x16_t, hi: bool| {
        let (x, y) = (vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y));
        vreinterpretq_s8_s64(if hi { vzip2q_s64(x, y) } else { vzip1q_s64(x, y) })
    };
    let acc = smmla(acc, z(r0, r1, false), z(a0, a1, false));
    smmla(acc, z(r0, r1, true), z(a0, a1, true))
}

/// `[w0·a0, w0·a1, w1·a0, w1·a1]` (the lane order of `smmla`) for two weight
/// rows of `nb` blocks and two activation rows.
///
/// # Safety
/// The CPU must support i8mm; sizes as for [`rows4`].
#[inline(always)]
pub(crate) unsafe fn tile2x2<B: Block32>(nb: usize, w0: *const u8, w1: *const u8, a0: *const u8, a1: *const u8) -> [f32; 4] {
    let f = B::new();
    let (ab, aq) = act_layout(B::ACT);
    let (d0, d1) = (a0.add(scales_offset(B::ACT, nb)) as *const f32, a1.add(scales_offset(B::ACT, nb)) as *const f32);
    let mut acc = vdupq_n_f32(0.0);
    for i in 0..nb {
        let (x0, x1) = (w0.add(i * B::BYTES), w1.add(i * B::BYTES));
        let (y0, y1) = (a0.add(i * ab + aq), a1.add(i * ab + aq));
        let ((l0, h0), (l1, h1)) = (f.quants(x0), f.quants(x1));
        let s = mm16(vdupq_n_s32(0), l0, l1, ld(y0), ld(y1));
        let s = mm16(s, h0, h1, ld(y0.add(16)), ld(y1.add(16)));
        // Lanes (r, t) in smmla order: weight row r's value times activation row t's.
        let wd = pair_f16(x0, x1, 0);
        let ad = vld1_lane_f32::<1>(d1.add(i), vld1_dup_f32(d0.add(i)));
        let ad = vcombine_f32(ad, ad);
        acc = vfmaq_f32(acc, vcvtq_f32_s32(s), vmulq_f32(wd, ad));
        if B::OFFSET != Offset::None {
            let (s0, s1) = (d0.add(nb + i), d1.add(nb + i));
            let asum = vld1_lane_f32::<1>(s1, vld1_dup_f32(s0));
            let asum = vcombine_f32(asum, asum);
            // Into the same running sum, block by block (see `rows4`).
            let wo = match B::OFFSET {
                Offset::Zero(k) => vmulq_n_f32(wd, -k),
                _ => pair_f16(x0, x1, 2),
            };
            acc = vfmaq_f32(acc, wo, asum);
        }
    }
    let total = acc;
    let mut out = [0f32; 4];
    vst1q_f32(out.as_mut_ptr(), total);
    out
}

/// `[h(x0), h(x0), h(x1), h(x1)]` for the f16s at byte `off` of two blocks.
#[inline(always)]
unsafe fn pair_f16(x0: *const u8, x1: *const u8, off: usize) -> float32x4_t {
    f16x4(x0.add(off), x0.add(off), x1.add(off), x1.add(off))
}

/// The [`rows4`] entry points of one ISA level (its target features and
/// byte-dot): `pub unsafe fn rows4_q4_0(nb, w, ws, a) -> [f32; 4]` and so on
/// for every 32-element format.
macro_rules! rows4_entries {
    ($features:literal, $dot:ty) => {
        super::rows::rows4_entries!(@each $features, $dot;
            rows4_q4_0 => Q4_0, rows4_q4_1 => Q4_1, rows4_q5_0 => Q5_0,
            rows4_q5_1 => Q5_1, rows4_q8_0 => Q8_0, rows4_iq4nl => IQ4NL);
    };
    (@each $features:literal, $dot:ty; $($name:ident => $fmt:ident),*) => {$(
        /// # Safety
        /// The CPU must support the enabled features; four rows `ws` bytes apart
        /// hold `nb` weight blocks each, `a` `nb` activation blocks and their appendix.
        #[target_feature(enable = $features)]
        pub unsafe fn $name(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 4] {
            super::rows::rows4::<super::rows::$fmt, $dot>(nb, w, ws, a)
        }
    )*};
}
pub(crate) use rows4_entries;
