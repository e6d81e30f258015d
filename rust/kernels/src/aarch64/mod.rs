//! aarch64 kernels. NEON is part of the aarch64 baseline (Android, iOS, Linux);
//! dotprod (`sdot`) and i8mm (`smmla`) are detected at run time and reached only
//! through `dispatch`. Their intrinsics are not stable yet, so they are emitted
//! with inline asm from functions compiled with the matching target feature.
//!
//! Kernel bodies are written once, generic over [`Dot`], and instantiated twice:
//! with widening multiplies (plain NEON) and with `sdot`.

pub mod dotprod;
pub mod neon_bf16;
pub mod i8mm;
pub mod neon_kquants;
pub mod neon_legacy;
pub(crate) mod rows;
pub mod tile4x4;
pub mod tile4x4_kquants;

use crate::{DotFn, Isa, QuantType};
use core::arch::aarch64::*;

/// acc + Σ a·b over 16 signed bytes, folded into four i32 lanes. Only the total
/// over the lanes is meaningful: the two implementations group bytes differently.
pub trait Dot {
    /// # Safety
    /// The CPU must support the instruction the implementation emits.
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t;
}

/// Baseline NEON: 8×8→16-bit widening multiplies, pairwise-accumulated into i32.
pub struct Mull;

impl Dot for Mull {
    #[inline(always)]
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        let lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
        let hi = vmull_high_s8(a, b);
        vpadalq_s16(vpadalq_s16(acc, lo), hi)
    }
}

/// f16 → f32 for a block scale stored little-endian at `p`.
///
/// Half-precision conversion (`fcvt s, h`) is in the AArch64 baseline (Armv8.0;
/// only f16 *arithmetic* needs FEAT_FP16), so no detection is needed. It is two
/// instructions where the portable bit manipulation of
/// `blocks::f16_to_f32` took about fifteen, which was half of the Q8_0 dotprod
/// loop. `vcvt_f32_f16` needs the unstable `f16` type, hence the asm.
#[inline(always)]
pub(crate) unsafe fn h2f(p: *const u8) -> f32 {
    let out: f32;
    core::arch::asm!(
        "ldr {o:h}, [{p}]",
        "fcvt {o:s}, {o:h}",
        p = in(reg) p,
        o = out(vreg) out,
        options(pure, readonly, nostack, preserves_flags)
    );
    out
}

/// Byte j of the result is 0xFF when bit j of `bits` is set (16 bits → 16 bytes).
#[inline(always)]
pub(crate) unsafe fn bits_to_bytes16(bits: u16) -> uint8x16_t {
    let b = vcombine_u8(vdup_n_u8(bits as u8), vdup_n_u8((bits >> 8) as u8));
    let mask = vreinterpretq_u8_u64(vdupq_n_u64(0x8040_2010_0804_0201));
    vtstq_u8(b, mask)
}

pub(crate) fn dot_fn(isa: Isa, qtype: QuantType) -> Option<DotFn> {
    let sdot = matches!(isa, Isa::NeonDotprod | Isa::NeonI8mm);
    Some(match (qtype, sdot) {
        (QuantType::Q4_0, false) => neon_legacy::vec_dot_q4_0,
        (QuantType::Q4_0, true) => dotprod::vec_dot_q4_0,
        (QuantType::Q4_1, false) => neon_legacy::vec_dot_q4_1,
        (QuantType::Q4_1, true) => dotprod::vec_dot_q4_1,
        (QuantType::Q5_0, false) => neon_legacy::vec_dot_q5_0,
        (QuantType::Q5_0, true) => dotprod::vec_dot_q5_0,
        (QuantType::Q5_1, false) => neon_legacy::vec_dot_q5_1,
        (QuantType::Q5_1, true) => dotprod::vec_dot_q5_1,
        (QuantType::Q8_0, false) => neon_legacy::vec_dot_q8_0,
        (QuantType::Q8_0, true) => dotprod::vec_dot_q8_0,
        (QuantType::Q4K, false) => neon_kquants::vec_dot_q4k,
        (QuantType::Q4K, true) => dotprod::vec_dot_q4k,
        (QuantType::Q5K, false) => neon_kquants::vec_dot_q5k,
        (QuantType::Q5K, true) => dotprod::vec_dot_q5k,
        (QuantType::Q6K, false) => neon_kquants::vec_dot_q6k,
        (QuantType::Q6K, true) => dotprod::vec_dot_q6k,
        (QuantType::Q2K, false) => neon_kquants::vec_dot_q2k,
        (QuantType::Q2K, true) => dotprod::vec_dot_q2k,
        (QuantType::Q3K, false) => neon_kquants::vec_dot_q3k,
        (QuantType::Q3K, true) => dotprod::vec_dot_q3k,
        (QuantType::IQ4NL, false) => neon_legacy::vec_dot_iq4nl,
        (QuantType::IQ4NL, true) => dotprod::vec_dot_iq4nl,
        (QuantType::IQ4XS, false) => neon_kquants::vec_dot_iq4xs,
        (QuantType::IQ4XS, true) => dotprod::vec_dot_iq4xs,
        // Float products: sdot does not apply, and Armv8.6 BFDOT is not used
        // because it rounds differently from a plain f32 FMA chain (and needs
        // its own feature detection), so every NEON level shares one kernel.
        (QuantType::BF16, _) => neon_bf16::vec_dot_bf16,
    })
}

pub(crate) fn tile_fn(qtype: QuantType) -> Option<crate::dispatch::TileFn> {
    Some(match qtype {
        QuantType::Q4_0 => i8mm::tile_q4_0,
        QuantType::Q4_1 => i8mm::tile_q4_1,
        QuantType::Q5_0 => i8mm::tile_q5_0,
        QuantType::Q5_1 => i8mm::tile_q5_1,
        QuantType::Q8_0 => i8mm::tile_q8_0,
        QuantType::IQ4NL => i8mm::tile_iq4nl,
        _ => return None,
    })
}

pub(crate) fn tile4x4_fn(qtype: QuantType) -> Option<crate::dispatch::Tile4x4Fn> {
    Some(match qtype {
        QuantType::Q4_0 => tile4x4::tile4x4_q4_0,
        QuantType::Q4_1 => tile4x4::tile4x4_q4_1,
        QuantType::Q5_0 => tile4x4::tile4x4_q5_0,
        QuantType::Q5_1 => tile4x4::tile4x4_q5_1,
        QuantType::Q8_0 => tile4x4::tile4x4_q8_0,
        QuantType::IQ4NL => tile4x4::tile4x4_iq4nl,
        QuantType::Q4K => tile4x4_kquants::tile4x4_q4k,
        QuantType::Q5K => tile4x4_kquants::tile4x4_q5k,
        QuantType::Q6K => tile4x4_kquants::tile4x4_q6k,
        _ => return None,
    })
}

pub(crate) fn rows4_fn(isa: Isa, qtype: QuantType) -> Option<crate::dispatch::Rows4Fn> {
    let sdot = matches!(isa, Isa::NeonDotprod | Isa::NeonI8mm);
    Some(match (qtype, sdot) {
        (QuantType::Q4_0, false) => neon_legacy::rows4_q4_0,
        (QuantType::Q4_0, true) => dotprod::rows4_q4_0,
        (QuantType::Q4_1, false) => neon_legacy::rows4_q4_1,
        (QuantType::Q4_1, true) => dotprod::rows4_q4_1,
        (QuantType::Q5_0, false) => neon_legacy::rows4_q5_0,
        (QuantType::Q5_0, true) => dotprod::rows4_q5_0,
        (QuantType::Q5_1, false) => neon_legacy::rows4_q5_1,
        (QuantType::Q5_1, true) => dotprod::rows4_q5_1,
        (QuantType::Q8_0, false) => neon_legacy::rows4_q8_0,
        (QuantType::Q8_0, true) => dotprod::rows4_q8_0,
        (QuantType::IQ4NL, false) => neon_legacy::rows4_iq4nl,
        (QuantType::IQ4NL, true) => dotprod::rows4_iq4nl,
        _ => return None,
    })
}

pub(crate) fn tile4_fn(isa: Isa, qtype: QuantType) -> Option<crate::dispatch::Tile4Fn> {
    let sdot = matches!(isa, Isa::NeonDotprod | Isa::NeonI8mm);
    Some(match (qtype, sdot) {
        (QuantType::Q4K, false) => neon_kquants::tile4_q4k,
        (QuantType::Q4K, true) => dotprod::tile4_q4k,
        (QuantType::Q5K, false) => neon_kquants::tile4_q5k,
        (QuantType::Q5K, true) => dotprod::tile4_q5k,
        (QuantType::Q6K, false) => neon_kquants::tile4_q6k,
        (QuantType::Q6K, true) => dotprod::tile4_q6k,
        _ => return None,
    })
}
