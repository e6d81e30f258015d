//! Simple round-to-nearest weight quantizers (no llama.cpp-style error search).
//! They exist to build realistic test and benchmark matrices; GGUF files bring
//! their own quantized weights.

use crate::blocks::*;

fn signed_absmax(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m })
}

fn min_max(x: &[f32]) -> (f32, f32) {
    x.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

fn inv(d: f32) -> f32 {
    if d != 0.0 { 1.0 / d } else { 0.0 }
}

fn pack_nibbles(q: &[u8; QK]) -> [u8; 16] {
    core::array::from_fn(|j| q[j] | (q[j + 16] << 4))
}

/// Symmetric 4/5-bit: values in [-half, half) with the largest magnitude at −half.
fn sym_block(x: &[f32], half: f32, maxq: i32) -> (u16, [u8; QK]) {
    let d = signed_absmax(x) / -half;
    let dh = f32_to_f16(d);
    let id = inv(d);
    let q = core::array::from_fn(|j| ((x[j] * id + half + 0.5) as i32).clamp(0, maxq) as u8);
    (dh, q)
}

/// Asymmetric 4/5-bit: x ≈ d·q + min.
fn asym_block(x: &[f32], maxq: i32) -> (u16, u16, [u8; QK]) {
    let (lo, hi) = min_max(x);
    let d = (hi - lo) / maxq as f32;
    let id = inv(d);
    let q = core::array::from_fn(|j| (((x[j] - lo) * id).round() as i32).clamp(0, maxq) as u8);
    (f32_to_f16(d), f32_to_f16(lo), q)
}

fn high_bits(q: &[u8; QK]) -> [u8; 4] {
    let mut qh = 0u32;
    for (j, &v) in q.iter().enumerate() {
        qh |= ((v as u32 >> 4) & 1) << j;
    }
    qh.to_le_bytes()
}

fn low4(q: &[u8; QK]) -> [u8; QK] {
    core::array::from_fn(|j| q[j] & 0xf)
}

pub fn quantize_q4_0(x: &[f32]) -> Vec<BlockQ4_0> {
    x.chunks_exact(QK)
        .map(|c| {
            let (d, q) = sym_block(c, 8.0, 15);
            BlockQ4_0 { d: d.to_le_bytes(), qs: pack_nibbles(&q) }
        })
        .collect()
}

pub fn quantize_q4_1(x: &[f32]) -> Vec<BlockQ4_1> {
    x.chunks_exact(QK)
        .map(|c| {
            let (d, m, q) = asym_block(c, 15);
            BlockQ4_1 { d: d.to_le_bytes(), m: m.to_le_bytes(), qs: pack_nibbles(&q) }
        })
        .collect()
}

pub fn quantize_q5_0(x: &[f32]) -> Vec<BlockQ5_0> {
    x.chunks_exact(QK)
        .map(|c| {
            let (d, q) = sym_block(c, 16.0, 31);
            BlockQ5_0 { d: d.to_le_bytes(), qh: high_bits(&q), qs: pack_nibbles(&low4(&q)) }
        })
        .collect()
}

pub fn quantize_q5_1(x: &[f32]) -> Vec<BlockQ5_1> {
    x.chunks_exact(QK)
        .map(|c| {
            let (d, m, q) = asym_block(c, 31);
            BlockQ5_1 {
                d: d.to_le_bytes(),
                m: m.to_le_bytes(),
                qh: high_bits(&q),
                qs: pack_nibbles(&low4(&q)),
            }
        })
        .collect()
}

pub fn quantize_q8_0_weights(x: &[f32]) -> Vec<BlockQ8_0> {
    let mut out = vec![BlockQ8_0::default(); x.len() / QK];
    super::activations::quantize_q8_0(&x[..out.len() * QK], &mut out);
    out
}

/// Q4_K/Q5_K: per-32 scale and non-negative min, both 6-bit relative to f16 super-scales.
fn kquant_asym(x: &[f32], maxq: i32) -> (u16, u16, [u8; 12], [u8; QK_K]) {
    let mut scales = [0f32; 8];
    let mut mins = [0f32; 8];
    for (j, c) in x.chunks_exact(QK).enumerate() {
        let (lo, hi) = min_max(c);
        let lo = lo.min(0.0);
        scales[j] = (hi - lo) / maxq as f32;
        mins[j] = -lo;
    }
    let d = f32_to_f16(scales.iter().cloned().fold(0.0, f32::max) / 63.0);
    let dmin = f32_to_f16(mins.iter().cloned().fold(0.0, f32::max) / 63.0);
    let (df, mf) = (f16_to_f32(d), f16_to_f32(dmin));
    let sc: [u8; 8] = core::array::from_fn(|j| ((scales[j] * inv(df)).round() as i32).clamp(0, 63) as u8);
    let mn: [u8; 8] = core::array::from_fn(|j| ((mins[j] * inv(mf)).round() as i32).clamp(0, 63) as u8);
    let mut q = [0u8; QK_K];
    for j in 0..8 {
        let (ds, m) = (df * sc[j] as f32, mf * mn[j] as f32);
        for l in 0..QK {
            let v = ((x[32 * j + l] + m) * inv(ds)).round() as i32;
            q[32 * j + l] = v.clamp(0, maxq) as u8;
        }
    }
    (d, dmin, pack_k_scales(&sc, &mn), q)
}

fn k_nibbles(q: &[u8; QK_K]) -> [u8; QK_K / 2] {
    core::array::from_fn(|i| {
        let (c, l) = (i / 32, i % 32);
        (q[64 * c + l] & 0xf) | ((q[64 * c + 32 + l] & 0xf) << 4)
    })
}

pub fn quantize_q4k(x: &[f32]) -> Vec<BlockQ4K> {
    x.chunks_exact(QK_K)
        .map(|c| {
            let (d, dmin, scales, q) = kquant_asym(c, 15);
            BlockQ4K { d: d.to_le_bytes(), dmin: dmin.to_le_bytes(), scales, qs: k_nibbles(&q) }
        })
        .collect()
}

pub fn quantize_q5k(x: &[f32]) -> Vec<BlockQ5K> {
    x.chunks_exact(QK_K)
        .map(|c| {
            let (d, dmin, scales, q) = kquant_asym(c, 31);
            let qh = core::array::from_fn(|l| {
                (0..8).fold(0u8, |h, j| h | (((q[32 * j + l] >> 4) & 1) << j))
            });
            BlockQ5K { d: d.to_le_bytes(), dmin: dmin.to_le_bytes(), scales, qh, qs: k_nibbles(&q) }
        })
        .collect()
}

pub fn quantize_q6k(x: &[f32]) -> Vec<BlockQ6K> {
    x.chunks_exact(QK_K)
        .map(|c| {
            let sub: [f32; 16] = core::array::from_fn(|j| signed_absmax(&c[16 * j..16 * j + 16]) / -32.0);
            let smax = sub.iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
            let d = f32_to_f16(smax / -128.0);
            let df = f16_to_f32(d);
            let scales: [i8; 16] = core::array::from_fn(|j| ((sub[j] * inv(df)).round() as i32).clamp(-128, 127) as i8);
            let q: [u8; QK_K] = core::array::from_fn(|i| {
                let s = df * scales[i / 16] as f32;
                (((c[i] * inv(s)).round() as i32).clamp(-32, 31) + 32) as u8
            });
            let mut b = BlockQ6K { ql: [0; 128], qh: [0; 64], scales, d: d.to_le_bytes() };
            for n in 0..2 {
                let q = &q[128 * n..];
                for l in 0..32 {
                    b.ql[64 * n + l] = (q[l] & 0xf) | ((q[l + 64] & 0xf) << 4);
                    b.ql[64 * n + l + 32] = (q[l + 32] & 0xf) | ((q[l + 96] & 0xf) << 4);
                    b.qh[32 * n + l] =
                        (q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6);
                }
            }
            b
        })
        .collect()
}

/// Least-squares scale for fixed integer levels: argmin_s Σ (x − s·q)².
/// Refitting after rounding keeps flat blocks (all values near one level)
/// from being pulled to the level's nominal value.
fn refit(x: &[f32], q: impl Fn(usize) -> f32) -> Option<f32> {
    let (mut xq, mut qq) = (0.0f32, 0.0f32);
    for (j, &v) in x.iter().enumerate() {
        xq += v * q(j);
        qq += q(j) * q(j);
    }
    (qq > 0.0).then(|| xq / qq)
}

/// Q2_K: per-16 scale and min, both 4-bit relative to f16 super-scales. When
/// every sub-block lies above zero the mins are stored with a negative `dmin`
/// (an offset up), else they are clamped to ≤ 0 as in ggml's quantizer.
pub fn quantize_q2k(x: &[f32]) -> Vec<BlockQ2K> {
    x.chunks_exact(QK_K)
        .map(|c| {
            let subs: Vec<(f32, f32)> = c.chunks_exact(16).map(min_max).collect();
            let up = subs.iter().all(|&(lo, _)| lo > 0.0);
            let lo = |j: usize| if up { subs[j].0 } else { subs[j].0.min(0.0) };
            let scales: [f32; 16] = core::array::from_fn(|j| (subs[j].1 - lo(j)) / 3.0);
            let mins: [f32; 16] = core::array::from_fn(|j| lo(j).abs());
            let d = f32_to_f16(scales.iter().cloned().fold(0.0, f32::max) / 15.0);
            let mmax = mins.iter().cloned().fold(0.0, f32::max) / 15.0;
            let dmin = f32_to_f16(if up { -mmax } else { mmax });
            let (df, mf) = (f16_to_f32(d), f16_to_f32(dmin));
            let mut b = BlockQ2K { d: d.to_le_bytes(), dmin: dmin.to_le_bytes(), ..Default::default() };
            for j in 0..16 {
                let sc = ((scales[j] * inv(df)).round() as i32).clamp(0, 15);
                let mn = ((-lo(j) * inv(mf)).round() as i32).clamp(0, 15);
                b.scales[j] = (sc | (mn << 4)) as u8;
                let (ds, m) = (df * sc as f32, mf * mn as f32);
                for l in 0..16 {
                    let e = 16 * j + l;
                    let q = (((c[e] + m) * inv(ds)).round() as i32).clamp(0, 3) as u8;
                    b.qs[32 * (e / 128) + e % 32] |= q << (2 * ((e / 32) % 4));
                }
            }
            b
        })
        .collect()
}

/// Q3_K: symmetric 3-bit (−4..=3) per 16, 6-bit signed scales under an f16 `d`.
pub fn quantize_q3k(x: &[f32]) -> Vec<BlockQ3K> {
    x.chunks_exact(QK_K)
        .map(|c| {
            let sub: [f32; 16] = core::array::from_fn(|j| {
                let s = &c[16 * j..16 * j + 16];
                let d0 = signed_absmax(s) / -4.0;
                let q = |l: usize| ((s[l] * inv(d0)).round()).clamp(-4.0, 3.0);
                refit(s, q).unwrap_or(0.0)
            });
            let d = f32_to_f16(signed_absmax(&sub) / -32.0);
            let df = f16_to_f32(d);
            let sc: [i8; 16] = core::array::from_fn(|j| ((sub[j] * inv(df)).round() as i32).clamp(-32, 31) as i8);
            let mut b = BlockQ3K { scales: pack_q3k_scales(&sc), d: d.to_le_bytes(), ..Default::default() };
            for (e, &v) in c.iter().enumerate() {
                let q = ((v * inv(df * sc[e / 16] as f32)).round() as i32).clamp(-4, 3) + 4;
                b.qs[32 * (e / 128) + e % 32] |= ((q & 3) as u8) << (2 * ((e / 32) % 4));
                b.hmask[e % 32] |= ((q >> 2) as u8) << (e / 32);
            }
            b
        })
        .collect()
}

/// Index of the IQ4 level nearest to `v` (in units of the block scale).
fn nearest_iq4(v: f32) -> u8 {
    let mut best = 0;
    for (i, &k) in KVALUES_IQ4NL.iter().enumerate() {
        if (v - k as f32).abs() < (v - KVALUES_IQ4NL[best] as f32).abs() {
            best = i;
        }
    }
    best as u8
}

/// Refitted IQ4 scale of 32 values: the signed max first maps to −127.
fn iq4_scale(x: &[f32]) -> f32 {
    let d0 = signed_absmax(x) / -127.0;
    refit(x, |j| KVALUES_IQ4NL[nearest_iq4(x[j] * inv(d0)) as usize] as f32).unwrap_or(0.0)
}

fn iq4_nibbles(x: &[f32], d: f32) -> [u8; 16] {
    let q: [u8; QK] = core::array::from_fn(|j| nearest_iq4(x[j] * inv(d)));
    pack_nibbles(&q)
}

pub fn quantize_iq4nl(x: &[f32]) -> Vec<BlockIQ4NL> {
    x.chunks_exact(QK)
        .map(|c| {
            let d = f32_to_f16(iq4_scale(c));
            BlockIQ4NL { d: d.to_le_bytes(), qs: iq4_nibbles(c, f16_to_f32(d)) }
        })
        .collect()
}

pub fn quantize_iq4xs(x: &[f32]) -> Vec<BlockIQ4XS> {
    x.chunks_exact(QK_K)
        .map(|c| {
            let sub: [f32; 8] = core::array::from_fn(|j| iq4_scale(&c[QK * j..QK * j + QK]));
            let d = f32_to_f16(signed_absmax(&sub) / -32.0);
            let df = f16_to_f32(d);
            let mut b = BlockIQ4XS { d: d.to_le_bytes(), ..Default::default() };
            let mut h = 0u16;
            for j in 0..8 {
                let ls = ((sub[j] * inv(df)).round() as i32).clamp(-32, 31) + 32;
                b.scales_l[j / 2] |= ((ls & 0xf) as u8) << (4 * (j % 2));
                h |= ((ls >> 4) as u16) << (2 * j);
                let ds = df * (ls - 32) as f32;
                b.qs[16 * j..16 * j + 16].copy_from_slice(&iq4_nibbles(&c[QK * j..QK * j + QK], ds));
            }
            b.scales_h = h.to_le_bytes();
            b
        })
        .collect()
}

pub fn quantize_bf16_weights(x: &[f32]) -> Vec<BlockBF16> {
    let mut out = vec![BlockBF16::default(); x.len() / QK];
    super::activations::quantize_bf16(&x[..out.len() * QK], &mut out);
    out
}
