//! The 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), byte for byte as
//! ggml's `quantize_row_*_ref`. Each function writes one block.
//!
//! ggml converts the shifted values with C's float→int8/uint8 cast, which
//! truncates toward zero; `as i32` does the same for every value these
//! blocks produce (they stay well inside i32, and NaN becomes 0 either way).

use crate::blocks::f32_to_f16_bytes;

fn inv(d: f32) -> f32 {
    if d != 0.0 { 1.0 / d } else { 0.0 }
}

/// The value with the largest magnitude, sign kept (first one on ties).
fn signed_absmax(x: &[f32]) -> f32 {
    super::search::signed_absmax(x).0
}

fn min_max(x: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}

/// The 5th bits of 32 codes, as Q5_0/Q5_1's little-endian `qh`.
fn high_bits(q: &[u8; 32]) -> [u8; 4] {
    let mut qh = 0u32;
    for (j, &v) in q.iter().enumerate() {
        qh |= u32::from((v & 0x10) >> 4) << j;
    }
    qh.to_le_bytes()
}

fn low_nibbles(q: &[u8; 32], out: &mut [u8]) {
    for j in 0..16 {
        out[j] = (q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4);
    }
}

pub fn q4_0(x: &[f32], out: &mut [u8]) {
    let d = signed_absmax(x) / -8.0;
    let id = inv(d);
    let q: [u8; 32] = core::array::from_fn(|j| ((x[j] * id + 8.5) as i32 as i8).min(15) as u8);
    out[..2].copy_from_slice(&f32_to_f16_bytes(d));
    low_nibbles(&q, &mut out[2..18]);
}

pub fn q4_1(x: &[f32], out: &mut [u8]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 15.0;
    let id = inv(d);
    let q: [u8; 32] = core::array::from_fn(|j| (((x[j] - min) * id + 0.5) as i32 as i8).min(15) as u8);
    out[..2].copy_from_slice(&f32_to_f16_bytes(d));
    out[2..4].copy_from_slice(&f32_to_f16_bytes(min));
    low_nibbles(&q, &mut out[4..20]);
}

pub fn q5_0(x: &[f32], out: &mut [u8]) {
    let d = signed_absmax(x) / -16.0;
    let id = inv(d);
    let q: [u8; 32] = core::array::from_fn(|j| ((x[j] * id + 16.5) as i32 as i8).min(31) as u8);
    out[..2].copy_from_slice(&f32_to_f16_bytes(d));
    out[2..6].copy_from_slice(&high_bits(&q));
    low_nibbles(&q, &mut out[6..22]);
}

pub fn q5_1(x: &[f32], out: &mut [u8]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 31.0;
    let id = inv(d);
    // No clamp: ggml relies on (x − min)·id ≤ 31 here.
    let q: [u8; 32] = core::array::from_fn(|j| ((x[j] - min) * id + 0.5) as i32 as u8);
    out[..2].copy_from_slice(&f32_to_f16_bytes(d));
    out[2..4].copy_from_slice(&f32_to_f16_bytes(min));
    out[4..8].copy_from_slice(&high_bits(&q));
    low_nibbles(&q, &mut out[8..24]);
}

pub fn q8_0(x: &[f32], out: &mut [u8]) {
    let amax = x.iter().fold(0.0f32, |m, &v| if m > v.abs() { m } else { v.abs() });
    let d = amax / 127.0;
    let id = inv(d);
    out[..2].copy_from_slice(&f32_to_f16_bytes(d));
    for (o, &v) in out[2..34].iter_mut().zip(x) {
        // roundf: halves away from zero, as `f32::round`.
        *o = (v * id).round() as i32 as i8 as u8;
    }
}
