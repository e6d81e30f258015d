//! Armv8.2 dotprod (`sdot`) instantiations of the NEON kernels.
//!
//! `vdotq_s32` is still unstable, so `sdot` is emitted with inline asm; every
//! entry point carries `#[target_feature(enable = "dotprod")]` and is only
//! reached after run-time detection.

use super::{neon_kquants as k, neon_legacy as l, Dot};
use core::arch::aarch64::*;
use core::arch::asm;

pub struct Sdot;

impl Dot for Sdot {
    #[inline(always)]
    unsafe fn dot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        asm!(
            ".arch_extension dotprod",
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags)
        );
        acc
    }
}

macro_rules! dotprod_entry {
    ($($name:ident => $m:ident :: $f:ident),*) => {$(
        /// # Safety
        /// The CPU must support dotprod; `w`/`a` must hold `nb` weight / matching activation blocks.
        #[target_feature(enable = "neon,dotprod")]
        pub unsafe fn $name(nb: usize, w: *const u8, a: *const u8) -> f32 {
            $m::$f::<Sdot>(nb, w, a)
        }
    )*};
}

dotprod_entry!(
    vec_dot_q4_0 => l::q4_0,
    vec_dot_q4_1 => l::q4_1,
    vec_dot_q5_0 => l::q5_0,
    vec_dot_q5_1 => l::q5_1,
    vec_dot_q8_0 => l::q8_0,
    vec_dot_q4k => k::q4k,
    vec_dot_q5k => k::q5k,
    vec_dot_q6k => k::q6k,
    vec_dot_q2k => k::q2k,
    vec_dot_q3k => k::q3k,
    vec_dot_iq4nl => l::iq4nl,
    vec_dot_iq4xs => k::iq4xs
);

super::rows::rows4_entries!("neon,dotprod", Sdot);

super::neon_kquants::tile4_entries!("neon,dotprod", Sdot);
