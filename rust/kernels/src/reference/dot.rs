//! Scalar dot products of one weight row with one quantized activation row.
//!
//! Each block (or K super-block) is reduced to exact integer sums first and only
//! then scaled, the same split every SIMD kernel uses, so the optimized kernels
//! must agree with these up to float summation order. The `*_block_ints`
//! functions expose those integer sums for bit-exact tests.

use super::dequant::{iq4_levels, q3k_value, two_bits};
use crate::blocks::*;

#[inline(always)]
fn lo(b: u8) -> i32 {
    (b & 0x0f) as i32
}
#[inline(always)]
fn hi(b: u8) -> i32 {
    (b >> 4) as i32
}

/// Σ w·a over one 32-block where `w(j)` yields the integer weight of element j.
#[inline(always)]
fn isum32(a: &[i8; QK], w: impl Fn(usize) -> i32) -> i32 {
    (0..QK).map(|j| w(j) * a[j] as i32).sum()
}

#[inline(always)]
fn q5_bit(qh: u32, j: usize) -> i32 {
    (((qh >> j) & 1) << 4) as i32
}

pub fn q4_0_block_int(x: &BlockQ4_0, y: &BlockQ8_0) -> i32 {
    isum32(&y.qs, |j| if j < 16 { lo(x.qs[j]) - 8 } else { hi(x.qs[j - 16]) - 8 })
}
pub fn q4_1_block_int(x: &BlockQ4_1, y: &BlockQ8_1) -> i32 {
    isum32(&y.qs, |j| if j < 16 { lo(x.qs[j]) } else { hi(x.qs[j - 16]) })
}
pub fn q5_0_block_int(x: &BlockQ5_0, y: &BlockQ8_0) -> i32 {
    let qh = u32::from_le_bytes(x.qh);
    isum32(&y.qs, |j| {
        let n = if j < 16 { lo(x.qs[j]) } else { hi(x.qs[j - 16]) };
        (n | q5_bit(qh, j)) - 16
    })
}
pub fn q5_1_block_int(x: &BlockQ5_1, y: &BlockQ8_1) -> i32 {
    let qh = u32::from_le_bytes(x.qh);
    isum32(&y.qs, |j| {
        let n = if j < 16 { lo(x.qs[j]) } else { hi(x.qs[j - 16]) };
        n | q5_bit(qh, j)
    })
}
pub fn q8_0_block_int(x: &BlockQ8_0, y: &BlockQ8_0) -> i32 {
    isum32(&y.qs, |j| x.qs[j] as i32)
}

pub fn vec_dot_q4_0(x: &[BlockQ4_0], y: &[BlockQ8_0]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = f16_bytes_to_f32(x.d) * f16_bytes_to_f32(y.d);
        s += d * q4_0_block_int(x, y) as f32;
    }
    s
}

pub fn vec_dot_q4_1(x: &[BlockQ4_1], y: &[BlockQ8_1]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = f16_bytes_to_f32(x.d) * f16_bytes_to_f32(y.d);
        s += d * q4_1_block_int(x, y) as f32 + f16_bytes_to_f32(x.m) * f16_bytes_to_f32(y.s);
    }
    s
}

pub fn vec_dot_q5_0(x: &[BlockQ5_0], y: &[BlockQ8_0]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = f16_bytes_to_f32(x.d) * f16_bytes_to_f32(y.d);
        s += d * q5_0_block_int(x, y) as f32;
    }
    s
}

pub fn vec_dot_q5_1(x: &[BlockQ5_1], y: &[BlockQ8_1]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = f16_bytes_to_f32(x.d) * f16_bytes_to_f32(y.d);
        s += d * q5_1_block_int(x, y) as f32 + f16_bytes_to_f32(x.m) * f16_bytes_to_f32(y.s);
    }
    s
}

pub fn vec_dot_q8_0(x: &[BlockQ8_0], y: &[BlockQ8_0]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = f16_bytes_to_f32(x.d) * f16_bytes_to_f32(y.d);
        s += d * q8_0_block_int(x, y) as f32;
    }
    s
}

/// (Σ scale·dot, Σ min·bsum) of one Q4_K super-block.
pub fn q4k_block_ints(x: &BlockQ4K, y: &BlockQ8K) -> (i32, i32) {
    let (sc, mn) = unpack_k_scales(&x.scales);
    let mut isum = 0i32;
    for c in 0..4 {
        let q = &x.qs[32 * c..32 * c + 32];
        let a = &y.qs[64 * c..64 * c + 64];
        let d0: i32 = (0..32).map(|l| lo(q[l]) * a[l] as i32).sum();
        let d1: i32 = (0..32).map(|l| hi(q[l]) * a[32 + l] as i32).sum();
        isum += sc[2 * c] as i32 * d0 + sc[2 * c + 1] as i32 * d1;
    }
    (isum, kmins(&mn, &y.bsums))
}

fn kmins(mn: &[u8; 8], bsums: &[i16; 16]) -> i32 {
    (0..8).map(|j| mn[j] as i32 * (bsums[2 * j] as i32 + bsums[2 * j + 1] as i32)).sum()
}

pub fn q5k_block_ints(x: &BlockQ5K, y: &BlockQ8K) -> (i32, i32) {
    let (sc, mn) = unpack_k_scales(&x.scales);
    let mut isum = 0i32;
    for c in 0..4 {
        let q = &x.qs[32 * c..32 * c + 32];
        let a = &y.qs[64 * c..64 * c + 64];
        let b0 = 2 * c;
        let b1 = 2 * c + 1;
        let d0: i32 = (0..32)
            .map(|l| (lo(q[l]) | ((((x.qh[l] >> b0) & 1) as i32) << 4)) * a[l] as i32)
            .sum();
        let d1: i32 = (0..32)
            .map(|l| (hi(q[l]) | ((((x.qh[l] >> b1) & 1) as i32) << 4)) * a[32 + l] as i32)
            .sum();
        isum += sc[b0] as i32 * d0 + sc[b1] as i32 * d1;
    }
    (isum, kmins(&mn, &y.bsums))
}

/// Σ over the 16 sub-blocks of scale · Σ (q − 32)·a.
pub fn q6k_block_int(x: &BlockQ6K, y: &BlockQ8K) -> i32 {
    let mut isum = 0i32;
    for n in 0..2 {
        let ql = &x.ql[64 * n..64 * n + 64];
        let qh = &x.qh[32 * n..32 * n + 32];
        let a = &y.qs[128 * n..128 * n + 128];
        let sc = &x.scales[8 * n..8 * n + 8];
        for l in 0..32 {
            let h = qh[l] as i32;
            let q = [
                (lo(ql[l]) | ((h & 3) << 4)) - 32,
                (lo(ql[l + 32]) | (((h >> 2) & 3) << 4)) - 32,
                (hi(ql[l]) | (((h >> 4) & 3) << 4)) - 32,
                (hi(ql[l + 32]) | (((h >> 6) & 3) << 4)) - 32,
            ];
            let is = l / 16;
            for (g, &qv) in q.iter().enumerate() {
                isum += sc[is + 2 * g] as i32 * qv * a[32 * g + l] as i32;
            }
        }
    }
    isum
}

pub fn vec_dot_q4k(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let (isum, msum) = q4k_block_ints(x, y);
        s += f16_bytes_to_f32(x.d) * y.d * isum as f32 - f16_bytes_to_f32(x.dmin) * y.d * msum as f32;
    }
    s
}

pub fn vec_dot_q5k(x: &[BlockQ5K], y: &[BlockQ8K]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let (isum, msum) = q5k_block_ints(x, y);
        s += f16_bytes_to_f32(x.d) * y.d * isum as f32 - f16_bytes_to_f32(x.dmin) * y.d * msum as f32;
    }
    s
}

pub fn vec_dot_q6k(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        s += f16_bytes_to_f32(x.d) * y.d * q6k_block_int(x, y) as f32;
    }
    s
}

/// (Σ scale·dot, Σ min·bsum) of one Q2_K super-block: 16 sub-blocks of 16,
/// whose 4-bit mins multiply the activation `bsums` directly.
pub fn q2k_block_ints(x: &BlockQ2K, y: &BlockQ8K) -> (i32, i32) {
    let mut isum = 0i32;
    let mut msum = 0i32;
    for s in 0..16 {
        let d: i32 = (16 * s..16 * s + 16).map(|e| two_bits(&x.qs, e) as i32 * y.qs[e] as i32).sum();
        isum += (x.scales[s] & 0xf) as i32 * d;
        msum += (x.scales[s] >> 4) as i32 * y.bsums[s] as i32;
    }
    (isum, msum)
}

/// Σ over the 16 sub-blocks of (scale − 32) · Σ q·a, q in −4..=3.
pub fn q3k_block_int(x: &BlockQ3K, y: &BlockQ8K) -> i32 {
    let sc = unpack_q3k_scales(&x.scales);
    (0..16)
        .map(|s| sc[s] as i32 * (16 * s..16 * s + 16).map(|e| q3k_value(x, e) * y.qs[e] as i32).sum::<i32>())
        .sum()
}

pub fn iq4nl_block_int(x: &BlockIQ4NL, y: &BlockQ8_0) -> i32 {
    let v = iq4_levels(&x.qs);
    isum32(&y.qs, |j| v[j] as i32)
}

/// Σ over the 8 sub-blocks of (scale − 32) · Σ level·a.
pub fn iq4xs_block_int(x: &BlockIQ4XS, y: &BlockQ8K) -> i32 {
    let sc = unpack_iq4xs_scales(x.scales_h, &x.scales_l);
    (0..8)
        .map(|ib| {
            let v = iq4_levels(&x.qs[16 * ib..16 * ib + 16]);
            let d: i32 = (0..QK).map(|j| v[j] as i32 * y.qs[QK * ib + j] as i32).sum();
            sc[ib] as i32 * d
        })
        .sum()
}

pub fn vec_dot_q2k(x: &[BlockQ2K], y: &[BlockQ8K]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let (isum, msum) = q2k_block_ints(x, y);
        s += f16_bytes_to_f32(x.d) * y.d * isum as f32 - f16_bytes_to_f32(x.dmin) * y.d * msum as f32;
    }
    s
}

pub fn vec_dot_q3k(x: &[BlockQ3K], y: &[BlockQ8K]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        s += f16_bytes_to_f32(x.d) * y.d * q3k_block_int(x, y) as f32;
    }
    s
}

pub fn vec_dot_iq4nl(x: &[BlockIQ4NL], y: &[BlockQ8_0]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = f16_bytes_to_f32(x.d) * f16_bytes_to_f32(y.d);
        s += d * iq4nl_block_int(x, y) as f32;
    }
    s
}

pub fn vec_dot_iq4xs(x: &[BlockIQ4XS], y: &[BlockQ8K]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        s += f16_bytes_to_f32(x.d) * y.d * iq4xs_block_int(x, y) as f32;
    }
    s
}

/// bf16 · bf16: each product is exact in f32 (8-bit significands), and they
/// are summed in f64 as ggml's scalar `ggml_vec_dot_bf16` does, so this is
/// the exact dot up to one final rounding for any realistic row.
pub fn vec_dot_bf16(x: &[BlockBF16], y: &[BlockBF16]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut s = 0.0f64;
    for (x, y) in x.iter().zip(y) {
        for (a, b) in x.v.iter().zip(&y.v) {
            s += (bf16_to_f32(u16::from_le_bytes(*a)) * bf16_to_f32(u16::from_le_bytes(*b))) as f64;
        }
    }
    s as f32
}
