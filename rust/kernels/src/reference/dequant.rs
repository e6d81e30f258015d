//! Block → f32 expansion (embedding lookups, tests, and the f32 ground truth).

use crate::blocks::*;

pub fn dequantize_q4_0(x: &[BlockQ4_0], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        let d = f16_bytes_to_f32(b.d);
        for j in 0..16 {
            o[j] = ((b.qs[j] & 0xf) as i32 - 8) as f32 * d;
            o[j + 16] = ((b.qs[j] >> 4) as i32 - 8) as f32 * d;
        }
    }
}

pub fn dequantize_q4_1(x: &[BlockQ4_1], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        let (d, m) = (f16_bytes_to_f32(b.d), f16_bytes_to_f32(b.m));
        for j in 0..16 {
            o[j] = (b.qs[j] & 0xf) as f32 * d + m;
            o[j + 16] = (b.qs[j] >> 4) as f32 * d + m;
        }
    }
}

fn q5_values(qs: &[u8; 16], qh: [u8; 4]) -> [i32; QK] {
    let qh = u32::from_le_bytes(qh);
    let mut v = [0i32; QK];
    for j in 0..16 {
        v[j] = ((qs[j] & 0xf) as u32 | (((qh >> j) & 1) << 4)) as i32;
        v[j + 16] = ((qs[j] >> 4) as u32 | (((qh >> (j + 16)) & 1) << 4)) as i32;
    }
    v
}

pub fn dequantize_q5_0(x: &[BlockQ5_0], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        let d = f16_bytes_to_f32(b.d);
        for (o, q) in o.iter_mut().zip(q5_values(&b.qs, b.qh)) {
            *o = (q - 16) as f32 * d;
        }
    }
}

pub fn dequantize_q5_1(x: &[BlockQ5_1], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        let (d, m) = (f16_bytes_to_f32(b.d), f16_bytes_to_f32(b.m));
        for (o, q) in o.iter_mut().zip(q5_values(&b.qs, b.qh)) {
            *o = q as f32 * d + m;
        }
    }
}

pub fn dequantize_q8_0(x: &[BlockQ8_0], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        let d = f16_bytes_to_f32(b.d);
        for (o, &q) in o.iter_mut().zip(&b.qs) {
            *o = q as f32 * d;
        }
    }
}

pub fn dequantize_q8_1(x: &[BlockQ8_1], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        let d = f16_bytes_to_f32(b.d);
        for (o, &q) in o.iter_mut().zip(&b.qs) {
            *o = q as f32 * d;
        }
    }
}

pub fn dequantize_q8_k(x: &[BlockQ8K], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK_K);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK_K)) {
        for (o, &q) in o.iter_mut().zip(&b.qs) {
            *o = q as f32 * b.d;
        }
    }
}

pub fn dequantize_q4k(x: &[BlockQ4K], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK_K);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK_K)) {
        let (d, dmin) = (f16_bytes_to_f32(b.d), f16_bytes_to_f32(b.dmin));
        let (sc, mn) = unpack_k_scales(&b.scales);
        for c in 0..4 {
            let (d0, m0) = (d * sc[2 * c] as f32, dmin * mn[2 * c] as f32);
            let (d1, m1) = (d * sc[2 * c + 1] as f32, dmin * mn[2 * c + 1] as f32);
            for l in 0..32 {
                let q = b.qs[32 * c + l];
                o[64 * c + l] = d0 * (q & 0xf) as f32 - m0;
                o[64 * c + 32 + l] = d1 * (q >> 4) as f32 - m1;
            }
        }
    }
}

pub fn dequantize_q5k(x: &[BlockQ5K], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK_K);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK_K)) {
        let (d, dmin) = (f16_bytes_to_f32(b.d), f16_bytes_to_f32(b.dmin));
        let (sc, mn) = unpack_k_scales(&b.scales);
        for c in 0..4 {
            let (d0, m0) = (d * sc[2 * c] as f32, dmin * mn[2 * c] as f32);
            let (d1, m1) = (d * sc[2 * c + 1] as f32, dmin * mn[2 * c + 1] as f32);
            for l in 0..32 {
                let q = b.qs[32 * c + l];
                let h0 = ((b.qh[l] >> (2 * c)) & 1) << 4;
                let h1 = ((b.qh[l] >> (2 * c + 1)) & 1) << 4;
                o[64 * c + l] = d0 * ((q & 0xf) | h0) as f32 - m0;
                o[64 * c + 32 + l] = d1 * ((q >> 4) | h1) as f32 - m1;
            }
        }
    }
}

pub fn dequantize_q6k(x: &[BlockQ6K], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK_K);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK_K)) {
        let d = f16_bytes_to_f32(b.d);
        for n in 0..2 {
            let (ql, qh) = (&b.ql[64 * n..64 * n + 64], &b.qh[32 * n..32 * n + 32]);
            let sc = &b.scales[8 * n..8 * n + 8];
            let o = &mut o[128 * n..128 * n + 128];
            for l in 0..32 {
                let h = qh[l] as i32;
                let q = [
                    ((ql[l] & 0xf) as i32 | ((h & 3) << 4)) - 32,
                    ((ql[l + 32] & 0xf) as i32 | (((h >> 2) & 3) << 4)) - 32,
                    ((ql[l] >> 4) as i32 | (((h >> 4) & 3) << 4)) - 32,
                    ((ql[l + 32] >> 4) as i32 | (((h >> 6) & 3) << 4)) - 32,
                ];
                for (g, &qv) in q.iter().enumerate() {
                    o[32 * g + l] = d * sc[l / 16 + 2 * g] as f32 * qv as f32;
                }
            }
        }
    }
}

// The expansions below keep ggml's operation order (sub-block scale first,
// then scale · q − min, no fused multiply-add), so they are bit-exact with
// ggml's `dequantize_row_*` (checked against gguf-py in tests/ggml_vectors.rs).

/// Element e of a 256-element 2-bit super-block: its 2 bits sit in byte
/// 32·(e / 128) + e % 32 of `qs`, at bit 2·((e / 32) % 4).
#[inline(always)]
pub(crate) fn two_bits(qs: &[u8; 64], e: usize) -> u8 {
    (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3
}

pub fn dequantize_q2k(x: &[BlockQ2K], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK_K);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK_K)) {
        let (d, dmin) = (f16_bytes_to_f32(b.d), f16_bytes_to_f32(b.dmin));
        for (s, o) in o.chunks_exact_mut(16).enumerate() {
            let dl = d * (b.scales[s] & 0xf) as f32;
            let ml = dmin * (b.scales[s] >> 4) as f32;
            for (l, o) in o.iter_mut().enumerate() {
                *o = dl * two_bits(&b.qs, 16 * s + l) as f32 - ml;
            }
        }
    }
}

/// Q3_K's value of element e: the 2 low bits minus 4 unless its `hmask` bit is set.
#[inline(always)]
pub(crate) fn q3k_value(b: &BlockQ3K, e: usize) -> i32 {
    let high = (b.hmask[e % 32] >> (e / 32)) & 1;
    two_bits(&b.qs, e) as i32 - if high == 0 { 4 } else { 0 }
}

pub fn dequantize_q3k(x: &[BlockQ3K], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK_K);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK_K)) {
        let d = f16_bytes_to_f32(b.d);
        let sc = unpack_q3k_scales(&b.scales);
        for (s, o) in o.chunks_exact_mut(16).enumerate() {
            let dl = d * sc[s] as f32;
            for (l, o) in o.iter_mut().enumerate() {
                *o = dl * q3k_value(b, 16 * s + l) as f32;
            }
        }
    }
}

/// 16 nibbles → 32 IQ4 levels in ggml order (low nibbles first).
#[inline(always)]
pub(crate) fn iq4_levels(qs: &[u8]) -> [i8; QK] {
    core::array::from_fn(|j| {
        let n = if j < 16 { qs[j] & 0xf } else { qs[j - 16] >> 4 };
        KVALUES_IQ4NL[n as usize]
    })
}

pub fn dequantize_iq4nl(x: &[BlockIQ4NL], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        let d = f16_bytes_to_f32(b.d);
        for (o, v) in o.iter_mut().zip(iq4_levels(&b.qs)) {
            *o = d * v as f32;
        }
    }
}

pub fn dequantize_iq4xs(x: &[BlockIQ4XS], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK_K);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK_K)) {
        let d = f16_bytes_to_f32(b.d);
        let sc = unpack_iq4xs_scales(b.scales_h, &b.scales_l);
        for (ib, o) in o.chunks_exact_mut(QK).enumerate() {
            let dl = d * sc[ib] as f32;
            for (o, v) in o.iter_mut().zip(iq4_levels(&b.qs[16 * ib..16 * ib + 16])) {
                *o = dl * v as f32;
            }
        }
    }
}

pub fn dequantize_bf16(x: &[BlockBF16], out: &mut [f32]) {
    assert_eq!(out.len(), x.len() * QK);
    for (b, o) in x.iter().zip(out.chunks_exact_mut(QK)) {
        for (o, v) in o.iter_mut().zip(&b.v) {
            *o = bf16_to_f32(u16::from_le_bytes(*v));
        }
    }
}
