//! Armv8.6 i8mm 4×4 tiles for the prefill GEMM of the 32-element formats:
//! four weight rows against four activation rows per pass.
//!
//! Why four by four: per block, a 2×2 tile (`rows::tile2x2`) unpacks two
//! weight rows, loads two activation rows, zips all four into `smmla`'s 2×8
//! layout and scales four sums, about 42 instructions for 4 outputs. Here
//! each unpacked row and each loaded activation serves four outputs instead
//! of two, and the scales of four rows and four tokens are widened once:
//! about 90 instructions for 16 outputs. The activations come packed
//! (`acts::pack4`) in `smmla`'s operand layout with their scales beside them,
//! so the tile reads one stream and spends no zips or address arithmetic on them. llama.cpp gets the same reuse from
//! weights repacked at load (`q4_0_4x8`); these tiles read the weights as
//! they lie in the memory-mapped file, so releasing the weights under memory
//! pressure still returns all of their pages.

use super::rows::{gather_f16, ld, smmla, Block32, Offset};
use crate::acts::PACK4_BLOCK_BYTES;
use core::arch::aarch64::*;

/// Builds `smmla`'s 2×8 operand from the same 8-byte half of two rows.
#[inline(always)]
unsafe fn pair(x: int8x16_t, y: int8x16_t, hi: bool) -> int8x16_t {
    let (x, y) = (vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y));
    vreinterpretq_s8_s64(if hi { vzip2q_s64(x, y) } else { vzip1q_s64(x, y) })
}

/// Adds 16 elements of weight rows `w` times the packed activations at `y`
/// (two 8-byte chunks, each as token pairs (0,1) and (2,3)) to the four 2×2
/// tiles `s` (index: 2·row pair + token pair).
#[inline(always)]
pub(super) unsafe fn mm16x4(s: &mut [int32x4_t; 4], w: [int8x16_t; 4], y: *const u8) {
    for (c, hi) in [false, true].into_iter().enumerate() {
        let (w01, w23) = (pair(w[0], w[1], hi), pair(w[2], w[3], hi));
        let (y01, y23) = (ld(y.add(32 * c)), ld(y.add(32 * c + 16)));
        s[0] = smmla(s[0], w01, y01);
        s[1] = smmla(s[1], w01, y23);
        s[2] = smmla(s[2], w23, y01);
        s[3] = smmla(s[3], w23, y23);
    }
}

/// `([v0, v1, v0, v1], [v2, v3, v2, v3])`: a token pair's values in `smmla` lane order.
#[inline(always)]
pub(super) unsafe fn token_pairs(v: float32x4_t) -> (float32x4_t, float32x4_t) {
    let d = vreinterpretq_f64_f32(v);
    (vreinterpretq_f32_f64(vdupq_laneq_f64::<0>(d)), vreinterpretq_f32_f64(vdupq_laneq_f64::<1>(d)))
}

/// `([v0, v0, v1, v1], [v2, v2, v3, v3])`: a row pair's values in `smmla` lane order.
#[inline(always)]
pub(super) unsafe fn row_pairs(v: float32x4_t) -> (float32x4_t, float32x4_t) {
    (vzip1q_f32(v, v), vzip2q_f32(v, v))
}

/// Weight rows `w + r·ws` (r < 4, `nb` blocks each) times the four tokens
/// packed at `a` by `acts::pack4`: `out[4·r + t]`.
///
/// # Safety
/// The CPU must support i8mm; the four weight rows hold `nb` blocks and `a`
/// one group of `nb` packed blocks; any alignment.
#[inline(always)]
pub(crate) unsafe fn tile4x4<B: Block32>(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    let f = B::new();
    let zero = vdupq_n_f32(0.0);
    let mut acc = [zero; 4];
    for i in 0..nb {
        let x = w.add(i * B::BYTES);
        let y = a.add(i * PACK4_BLOCK_BYTES);
        let q = [0, 1, 2, 3].map(|r| f.quants(x.add(r * ws)));
        let mut s = [vdupq_n_s32(0); 4];
        mm16x4(&mut s, q.map(|q| q.0), y);
        mm16x4(&mut s, q.map(|q| q.1), y.add(64));
        let wd = gather_f16(x, ws, 0);
        let (w01, w23) = row_pairs(wd);
        let (a01, a23) = token_pairs(vld1q_f32(y.add(128) as *const f32));
        let scale = [vmulq_f32(w01, a01), vmulq_f32(w01, a23), vmulq_f32(w23, a01), vmulq_f32(w23, a23)];
        for k in 0..4 {
            acc[k] = vfmaq_f32(acc[k], vcvtq_f32_s32(s[k]), scale[k]);
        }
        // The offset term joins the same running sum block by block, as in
        // the reference: two large sums kept apart over a row and subtracted
        // at the end lost precision where activations have a large mean.
        let wo = match B::OFFSET {
            Offset::None => None,
            Offset::Min => Some(gather_f16(x, ws, 2)),
            Offset::Zero(z) => Some(vmulq_n_f32(wd, -z)),
        };
        if let Some(wo) = wo {
            let (o01, o23) = row_pairs(wo);
            let (s01, s23) = token_pairs(vld1q_f32(y.add(144) as *const f32));
            acc[0] = vfmaq_f32(acc[0], o01, s01);
            acc[1] = vfmaq_f32(acc[1], o01, s23);
            acc[2] = vfmaq_f32(acc[2], o23, s01);
            acc[3] = vfmaq_f32(acc[3], o23, s23);
        }
    }
    untile(acc)
}

/// `out[4·row + token]` from the four 2×2 tiles (index: 2·row pair + token pair).
#[inline(always)]
pub(super) unsafe fn untile(tiles: [float32x4_t; 4]) -> [f32; 16] {
    let mut out = [0f32; 16];
    for (k, &tile) in tiles.iter().enumerate() {
        let mut lanes = [0f32; 4];
        vst1q_f32(lanes.as_mut_ptr(), tile);
        // Tile k covers rows 2·(k / 2) + {0, 1} and tokens 2·(k % 2) + {0, 1};
        // its lanes are (row, token) = (0,0), (0,1), (1,0), (1,1).
        let (r, t) = (2 * (k / 2), 2 * (k % 2));
        out[4 * r + t] = lanes[0];
        out[4 * r + t + 1] = lanes[1];
        out[4 * (r + 1) + t] = lanes[2];
        out[4 * (r + 1) + t + 1] = lanes[3];
    }
    out
}

macro_rules! tiles4x4 {
    ($($name:ident => $fmt:ident),*) => {$(
        /// # Safety
        /// The CPU must support i8mm; four weight rows `ws` bytes apart hold `nb`
        /// blocks, `a` one group of `nb` blocks packed by `acts::pack4`.
        #[target_feature(enable = "neon,i8mm")]
        pub unsafe fn $name(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
            tile4x4::<super::rows::$fmt>(nb, w, ws, a)
        }
    )*};
}

tiles4x4!(
    tile4x4_q4_0 => Q4_0,
    tile4x4_q4_1 => Q4_1,
    tile4x4_q5_0 => Q5_0,
    tile4x4_q5_1 => Q5_1,
    tile4x4_q8_0 => Q8_0,
    tile4x4_iq4nl => IQ4NL
);
