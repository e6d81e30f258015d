//! Armv8.6 i8mm 4×4 prefill tiles for the K-quants (Q4_K, Q5_K, Q6_K):
//! four weight rows against four tokens per pass, like `tile4x4` for the
//! 32-element formats.
//!
//! Why: before these, K-quant prefill ran one weight row against four
//! tokens with `sdot` (`tile4_q4k`/`tile4_q6k`), unpacking each row's
//! nibbles and scales once per four tokens and loading each activation
//! chunk once per row. Here each unpacked row serves four tokens and each
//! activation chunk four rows, and one `smmla` does 32 multiply-adds where
//! `sdot` does 16. Per 256-element super-block a Q4_K tile costs about 500
//! instructions for 16 row×token outputs, against about 800 for four
//! `tile4_q4k` calls. The full-size Q4_K_M models (most apps' choice) are
//! almost entirely Q4_K and Q6_K.
//!
//! The sub-block scales multiply the exact i32 `smmla` sums before anything
//! is converted to float, so every output is the reference's integer sum
//! times the same float scales. The activations come packed by
//! `acts::pack4` (Q8_K layout, `Pack4::Smmla`), with per-sub-block sums for
//! Q4_K/Q5_K's minimum term beside them.

use super::rows::gather_f16;
use super::tile4x4::{mm16x4, row_pairs, token_pairs, untile};
use crate::acts::PACK4K_BLOCK_BYTES;
use crate::blocks::unpack_k_scales;
use core::arch::aarch64::*;

/// `[f(0), f(1), f(2), f(3)]`, always inlined: `[0, 1, 2, 3].map(f)` with a
/// large closure was compiled as an out-of-line call with its results
/// spilled to the stack.
#[inline(always)]
fn rows4<T>(f: impl Fn(usize) -> T) -> [T; 4] {
    [f(0), f(1), f(2), f(3)]
}

/// Per sub-block j, `[a_j, a_j, b_j, b_j]`: rows a and b's scales in the
/// lane order of a row pair's `smmla` tile.
#[inline(always)]
unsafe fn pair_scales8(a: int16x8_t, b: int16x8_t) -> [int32x4_t; 8] {
    let z = [vzip1q_s16(a, b), vzip2q_s16(a, b)]; // a0 b0 a1 b1 … / a4 b4 …
    let mut out = [vdupq_n_s32(0); 8];
    for (h, &zh) in z.iter().enumerate() {
        for (q, d) in [vzip1q_s16(zh, zh), vzip2q_s16(zh, zh)]
            .into_iter()
            .enumerate()
        {
            out[4 * h + 2 * q] = vmovl_s16(vget_low_s16(d));
            out[4 * h + 2 * q + 1] = vmovl_high_s16(d);
        }
    }
    out
}

/// Σ_j b[j] · m[j]: one row's minimum term for the four tokens (lanes).
#[inline(always)]
unsafe fn mins_dot(b: &[int16x4_t; 8], m: int16x8_t) -> int32x4_t {
    let s = vmull_laneq_s16::<0>(b[0], m);
    let s = vmlal_laneq_s16::<1>(s, b[1], m);
    let s = vmlal_laneq_s16::<2>(s, b[2], m);
    let s = vmlal_laneq_s16::<3>(s, b[3], m);
    let s = vmlal_laneq_s16::<4>(s, b[4], m);
    let s = vmlal_laneq_s16::<5>(s, b[5], m);
    let s = vmlal_laneq_s16::<6>(s, b[6], m);
    vmlal_laneq_s16::<7>(s, b[7], m)
}

/// [`pair_scales8`] for two rows' 16 signed scales (Q6_K).
#[inline(always)]
unsafe fn scales16(a: int8x16_t, b: int8x16_t) -> [int32x4_t; 16] {
    let lo = pair_scales8(vmovl_s8(vget_low_s8(a)), vmovl_s8(vget_low_s8(b)));
    let hi = pair_scales8(vmovl_high_s8(a), vmovl_high_s8(b));
    [lo[0], lo[1], lo[2], lo[3], lo[4], lo[5], lo[6], lo[7], hi[0], hi[1], hi[2], hi[3], hi[4], hi[5], hi[6], hi[7]]
}

/// Two rows' per-token vectors `a`, `b` rearranged into the tiles of token
/// pairs (0,1) and (2,3).
#[inline(always)]
unsafe fn to_tiles(a: int32x4_t, b: int32x4_t) -> (int32x4_t, int32x4_t) {
    let (a, b) = (vreinterpretq_s64_s32(a), vreinterpretq_s64_s32(b));
    (
        vreinterpretq_s32_s64(vzip1q_s64(a, b)),
        vreinterpretq_s32_s64(vzip2q_s64(a, b)),
    )
}

/// Q4_K (`HIGH = false`) or Q5_K (`HIGH`, with the fifth bits of `qh`).
#[inline(always)]
unsafe fn q45k_tile<const HIGH: bool>(
    nb: usize,
    w: *const u8,
    ws: usize,
    a: *const u8,
) -> [f32; 16] {
    let (bb, qs_off) = if HIGH { (176, 48) } else { (144, 16) };
    let (m4, one, two) = (vdupq_n_u8(0x0f), vdupq_n_u8(1), vdupq_n_u8(2));
    let mut acc = [vdupq_n_f32(0.0); 4];
    for i in 0..nb {
        let x = w.add(i * bb);
        let y = a.add(i * PACK4K_BLOCK_BYTES);
        let xr = |r: usize| x.add(r * ws);
        let scales = |r: usize| unpack_k_scales(&*(xr(r).add(4) as *const [u8; 12]));
        let (k0, k1, k2, k3) = (scales(0), scales(1), scales(2), scales(3));
        let widen = |v: &[u8; 8]| vreinterpretq_s16_u16(vmovl_u8(vld1_u8(v.as_ptr())));
        let sc = [pair_scales8(widen(&k0.0), widen(&k1.0)), pair_scales8(widen(&k2.0), widen(&k3.0))];
        let mut hb = [[m4; 2]; 4];
        if HIGH {
            hb = rows4(|r: usize| [vld1q_u8(xr(r).add(16)), vld1q_u8(xr(r).add(32))]);
        }
        let mut isum = [vdupq_n_s32(0); 4];
        for c in 0..4 {
            // Bytes 32c.. hold sub-block 2c in their low nibbles and 2c + 1 in their high ones.
            let (mut slo, mut shi) = ([vdupq_n_s32(0); 4], [vdupq_n_s32(0); 4]);
            for half in 0..2 {
                let raw = rows4(|r: usize| vld1q_u8(xr(r).add(qs_off + 32 * c + 16 * half)));
                let mut lo = raw.map(|q| vandq_u8(q, m4));
                let mut hi = raw.map(|q| vshrq_n_u8::<4>(q));
                if HIGH {
                    // Chunk c's fifth bits sit at bits 2c / 2c + 1; shifting by 2 per chunk keeps them at 0 / 1.
                    for r in 0..4 {
                        let h = hb[r][half];
                        lo[r] = vorrq_u8(lo[r], vshlq_n_u8::<4>(vandq_u8(h, one)));
                        hi[r] = vorrq_u8(hi[r], vshlq_n_u8::<3>(vandq_u8(h, two)));
                        hb[r][half] = vshrq_n_u8::<2>(h);
                    }
                }
                mm16x4(
                    &mut slo,
                    lo.map(|v| vreinterpretq_s8_u8(v)),
                    y.add(128 * (2 * c) + 64 * half),
                );
                mm16x4(
                    &mut shi,
                    hi.map(|v| vreinterpretq_s8_u8(v)),
                    y.add(128 * (2 * c + 1) + 64 * half),
                );
            }
            for t in 0..4 {
                isum[t] = vmlaq_s32(isum[t], slo[t], sc[t / 2][2 * c]);
                isum[t] = vmlaq_s32(isum[t], shi[t], sc[t / 2][2 * c + 1]);
            }
        }
        let (b03, b47) = (vld1_s16_x4(y.add(1040) as *const i16), vld1_s16_x4(y.add(1072) as *const i16));
        let bsums = [b03.0, b03.1, b03.2, b03.3, b47.0, b47.1, b47.2, b47.3];
        let (mi0, mi1) = (mins_dot(&bsums, widen(&k0.1)), mins_dot(&bsums, widen(&k1.1)));
        let (mi2, mi3) = (mins_dot(&bsums, widen(&k2.1)), mins_dot(&bsums, widen(&k3.1)));
        let ((m0, m1), (m2, m3)) = (to_tiles(mi0, mi1), to_tiles(mi2, mi3));
        let mins = [m0, m1, m2, m3];
        let d = row_pairs(gather_f16(x, ws, 0));
        let dmin = row_pairs(gather_f16(x, ws, 2));
        let ad = token_pairs(vld1q_f32(y.add(1024) as *const f32));
        for t in 0..4 {
            let (dr, mr) = if t < 2 { (d.0, dmin.0) } else { (d.1, dmin.1) };
            let at = if t % 2 == 0 { ad.0 } else { ad.1 };
            acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(isum[t]), vmulq_f32(dr, at));
            acc[t] = vfmsq_f32(acc[t], vcvtq_f32_s32(mins[t]), vmulq_f32(mr, at));
        }
    }
    untile(acc)
}

/// Q6_K: 16 sub-blocks of 16 with signed 8-bit scales; weights are
/// `(4 low bits | 2 high bits << 4) − 32`, which fit `smmla`'s signed bytes.
#[inline(always)]
unsafe fn q6k_tile(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    let (m4, m3, off) = (vdupq_n_u8(0x0f), vdupq_n_u8(0x03), vdupq_n_s8(32));
    let mut acc = [vdupq_n_f32(0.0); 4];
    for i in 0..nb {
        let x = w.add(i * 210);
        let y = a.add(i * PACK4K_BLOCK_BYTES);
        let xr = |r: usize| x.add(r * ws);
        let s8 = rows4(|r: usize| vld1q_s8(xr(r).add(192) as *const i8));
        let sc = [scales16(s8[0], s8[1]), scales16(s8[2], s8[3])];
        let mut isum = [vdupq_n_s32(0); 4];
        for n in 0..2 {
            for half in 0..2 {
                let l0 = rows4(|r: usize| vld1q_u8(xr(r).add(64 * n + 16 * half)));
                let l1 = rows4(|r: usize| vld1q_u8(xr(r).add(64 * n + 32 + 16 * half)));
                let h = rows4(|r: usize| vld1q_u8(xr(r).add(128 + 32 * n + 16 * half)));
                for g in 0..4 {
                    let q = rows4(|r: usize| {
                        let u = match g {
                            0 => vorrq_u8(vandq_u8(l0[r], m4), vshlq_n_u8::<4>(vandq_u8(h[r], m3))),
                            1 => vorrq_u8(
                                vandq_u8(l1[r], m4),
                                vshlq_n_u8::<4>(vandq_u8(vshrq_n_u8::<2>(h[r]), m3)),
                            ),
                            2 => vorrq_u8(
                                vshrq_n_u8::<4>(l0[r]),
                                vshlq_n_u8::<4>(vandq_u8(vshrq_n_u8::<4>(h[r]), m3)),
                            ),
                            _ => vorrq_u8(
                                vshrq_n_u8::<4>(l1[r]),
                                vshlq_n_u8::<4>(vshrq_n_u8::<6>(h[r])),
                            ),
                        };
                        vsubq_s8(vreinterpretq_s8_u8(u), off)
                    });
                    // Elements 128n + 32g + 16·half …: sub-block 8n + 2g + half of 16.
                    let mut s = [vdupq_n_s32(0); 4];
                    mm16x4(&mut s, q, y.add(128 * (4 * n + g) + 64 * half));
                    for t in 0..4 {
                        isum[t] = vmlaq_s32(isum[t], s[t], sc[t / 2][8 * n + 2 * g + half]);
                    }
                }
            }
        }
        let d = row_pairs(gather_f16(x, ws, 208));
        let ad = token_pairs(vld1q_f32(y.add(1024) as *const f32));
        for t in 0..4 {
            let dr = if t < 2 { d.0 } else { d.1 };
            let at = if t % 2 == 0 { ad.0 } else { ad.1 };
            acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(isum[t]), vmulq_f32(dr, at));
        }
    }
    untile(acc)
}

/// # Safety
/// The CPU must support i8mm; four weight rows `ws` bytes apart hold `nb`
/// Q4_K blocks, `a` one group of `nb` blocks packed by `acts::pack4`.
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn tile4x4_q4k(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    q45k_tile::<false>(nb, w, ws, a)
}

/// # Safety
/// As [`tile4x4_q4k`], for Q5_K blocks.
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn tile4x4_q5k(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    q45k_tile::<true>(nb, w, ws, a)
}

/// # Safety
/// As [`tile4x4_q4k`], for Q6_K blocks.
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn tile4x4_q6k(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    q6k_tile(nb, w, ws, a)
}
