//! The 256-value super-block types (Q2_K … Q6_K), byte for byte as ggml's
//! `quantize_row_q*_K_ref`: a scale search per sub-block, the sub-block
//! scales quantized against the block's largest, then every value re-coded
//! against the scale it will actually be decoded with.

use super::search::{make_q3_quants, make_qkx2_quants, make_qx_quants, nearest_int, Qkx2, GROUP_MAX_EPS};
use crate::blocks::{f16_to_f32, f32_to_f16, pack_k_scales, QK_K};

/// Four 2-bit codes per byte: byte l of each 32-byte group holds codes
/// l, l+32, l+64, l+96 of its 128 values (Q2_K and Q3_K's `qs`).
fn pack_2bit(l: &[u8; QK_K], qs: &mut [u8]) {
    for j in (0..QK_K).step_by(128) {
        for i in 0..32 {
            qs[j / 4 + i] = l[j + i] | (l[j + i + 32] << 2) | (l[j + i + 64] << 4) | (l[j + i + 96] << 6);
        }
    }
}

/// Q3_K and Q6_K: a signed scale per 16 values from `search` (which also
/// writes the codes), and the scale with the largest magnitude, sign kept
/// (the first one on ties, as ggml).
fn symmetric_scales(x: &[f32], l: &mut [i8; QK_K], search: impl Fn(&[f32], &mut [i8]) -> f32) -> ([f32; 16], f32) {
    let mut scales = [0f32; 16];
    let (mut max_scale, mut max_abs) = (0.0f32, 0.0f32);
    for j in 0..16 {
        scales[j] = search(&x[16 * j..16 * j + 16], &mut l[16 * j..16 * j + 16]);
        if scales[j].abs() > max_abs {
            max_abs = scales[j].abs();
            max_scale = scales[j];
        }
    }
    (scales, max_scale)
}

/// Largest of the sub-block scales and of the mins (both non-negative).
fn max_scale_min(scales: &[f32], mins: &[f32]) -> (f32, f32) {
    let mut max_scale = 0.0f32;
    let mut max_min = 0.0f32;
    for (&s, &m) in scales.iter().zip(mins) {
        if s > max_scale {
            max_scale = s;
        }
        if m > max_min {
            max_min = m;
        }
    }
    (max_scale, max_min)
}

pub fn q2k(x: &[f32], out: &mut [u8]) {
    let p = Qkx2 { nmax: 3, rmin: -0.5, rdelta: 0.1, nstep: 15, use_mad: true };
    let mut l = [0u8; QK_K];
    let mut aux = [0u8; 16];
    let (mut scales, mut mins) = ([0f32; 16], [0f32; 16]);
    for j in 0..16 {
        let xs = &x[16 * j..16 * j + 16];
        let w: [f32; 16] = core::array::from_fn(|i| xs[i].abs());
        (scales[j], mins[j]) = make_qkx2_quants(&p, xs, &w, &mut l[16 * j..16 * j + 16], &mut aux);
    }
    let (max_scale, max_min) = max_scale_min(&scales, &mins);
    let mut sc = [0u8; 16];
    let d = if max_scale > 0.0 {
        let iscale = 15.0 / max_scale;
        for j in 0..16 {
            sc[j] = nearest_int(iscale * scales[j]) as u8;
        }
        max_scale / 15.0
    } else {
        0.0
    };
    let dmin = if max_min > 0.0 {
        let iscale = 15.0 / max_min;
        for j in 0..16 {
            sc[j] |= (nearest_int(iscale * mins[j]) << 4) as u8;
        }
        max_min / 15.0
    } else {
        0.0
    };
    let (dh, dminh) = (f32_to_f16(d), f32_to_f16(dmin));
    for j in 0..16 {
        let d = f16_to_f32(dh) * (sc[j] & 0xf) as f32;
        if d == 0.0 {
            continue;
        }
        let dm = f16_to_f32(dminh) * (sc[j] >> 4) as f32;
        for i in 0..16 {
            l[16 * j + i] = nearest_int((x[16 * j + i] + dm) / d).clamp(0, 3) as u8;
        }
    }
    // Layout: scales[16], qs[64], d, dmin.
    out[..16].copy_from_slice(&sc);
    pack_2bit(&l, &mut out[16..80]);
    out[80..82].copy_from_slice(&dh.to_le_bytes());
    out[82..84].copy_from_slice(&dminh.to_le_bytes());
}

pub fn q3k(x: &[f32], out: &mut [u8]) {
    let mut l = [0i8; QK_K];
    let (scales, max_scale) = symmetric_scales(x, &mut l, |x, l| make_q3_quants(4, x, l));
    let mut packed = [0u8; 12];
    let d = if max_scale != 0.0 {
        let iscale = -32.0 / max_scale;
        for j in 0..16 {
            // ggml stores nearest_int's result in an int8_t before clamping.
            let v = ((nearest_int(iscale * scales[j]) as i8).clamp(-32, 31) + 32) as u8;
            if j < 8 {
                packed[j] = v & 0xf;
            } else {
                packed[j - 8] |= (v & 0xf) << 4;
            }
            packed[j % 4 + 8] |= (v >> 4) << (2 * (j / 4));
        }
        1.0 / iscale
    } else {
        0.0
    };
    let dh = f32_to_f16(d);
    for j in 0..16 {
        let lo = if j < 8 { packed[j] & 0xf } else { packed[j - 8] >> 4 };
        let sc = (lo | (((packed[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) as i32 - 32;
        let d = f16_to_f32(dh) * sc as f32;
        if d == 0.0 {
            continue;
        }
        for i in 0..16 {
            l[16 * j + i] = (nearest_int(x[16 * j + i] / d).clamp(-4, 3) + 4) as i8;
        }
    }
    // The third bit goes to hmask: bit b of byte m is value 32·b + m.
    let mut hmask = [0u8; 32];
    let mut codes = [0u8; QK_K];
    for j in 0..QK_K {
        let mut v = l[j] as u8;
        if v > 3 {
            hmask[j % 32] |= 1 << (j / 32);
            v -= 4;
        }
        codes[j] = v;
    }
    // Layout: hmask[32], qs[64], scales[12], d.
    out[..32].copy_from_slice(&hmask);
    pack_2bit(&codes, &mut out[32..96]);
    out[96..108].copy_from_slice(&packed);
    out[108..110].copy_from_slice(&dh.to_le_bytes());
}

/// Q4_K and Q5_K share everything but the code width and search settings.
/// Returns the codes, and the block header (d, dmin, 12 packed scale bytes).
fn k_asym(x: &[f32], p: &Qkx2) -> ([u8; QK_K], [u8; 16]) {
    let mut l = [0u8; QK_K];
    let mut aux = [0u8; 32];
    let (mut scales, mut mins) = ([0f32; 8], [0f32; 8]);
    for j in 0..8 {
        let xs = &x[32 * j..32 * j + 32];
        let mut sum_x2 = 0.0f32;
        for &v in xs {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        let w: [f32; 32] = core::array::from_fn(|i| av_x + xs[i].abs());
        (scales[j], mins[j]) = make_qkx2_quants(p, xs, &w, &mut l[32 * j..32 * j + 32], &mut aux);
    }
    let (max_scale, max_min) = max_scale_min(&scales, &mins);
    let inv_scale = if max_scale > 0.0 { 63.0 / max_scale } else { 0.0 };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    // ggml keeps nearest_int's result in a uint8_t, then caps it at 63.
    let ls: [u8; 8] = core::array::from_fn(|j| (nearest_int(inv_scale * scales[j]) as u8).min(63));
    let lm: [u8; 8] = core::array::from_fn(|j| (nearest_int(inv_min * mins[j]) as u8).min(63));
    let (dh, dminh) = (f32_to_f16(max_scale / 63.0), f32_to_f16(max_min / 63.0));
    for j in 0..8 {
        let d = f16_to_f32(dh) * ls[j] as f32;
        if d == 0.0 {
            continue;
        }
        let dm = f16_to_f32(dminh) * lm[j] as f32;
        for i in 0..32 {
            l[32 * j + i] = nearest_int((x[32 * j + i] + dm) / d).clamp(0, p.nmax) as u8;
        }
    }
    let mut head = [0u8; 16];
    head[..2].copy_from_slice(&dh.to_le_bytes());
    head[2..4].copy_from_slice(&dminh.to_le_bytes());
    head[4..].copy_from_slice(&pack_k_scales(&ls, &lm));
    (l, head)
}

pub fn q4k(x: &[f32], out: &mut [u8]) {
    let (l, head) = k_asym(x, &Qkx2 { nmax: 15, rmin: -1.0, rdelta: 0.1, nstep: 20, use_mad: false });
    out[..16].copy_from_slice(&head);
    let qs = &mut out[16..144];
    for (g, j) in (0..QK_K).step_by(64).enumerate() {
        for i in 0..32 {
            qs[32 * g + i] = l[j + i] | (l[j + i + 32] << 4);
        }
    }
}

pub fn q5k(x: &[f32], out: &mut [u8]) {
    let (l, head) = k_asym(x, &Qkx2 { nmax: 31, rmin: -0.5, rdelta: 0.1, nstep: 15, use_mad: false });
    out[..16].copy_from_slice(&head);
    // Layout after the header: qh[32], qs[128].
    let (qh, qs) = out[16..176].split_at_mut(32);
    qh.fill(0);
    for (g, n) in (0..QK_K).step_by(64).enumerate() {
        let (m1, m2) = (1u8 << (2 * g), 2u8 << (2 * g));
        for j in 0..32 {
            let (mut l1, mut l2) = (l[n + j], l[n + j + 32]);
            if l1 > 15 {
                l1 -= 16;
                qh[j] |= m1;
            }
            if l2 > 15 {
                l2 -= 16;
                qh[j] |= m2;
            }
            qs[32 * g + j] = l1 | (l2 << 4);
        }
    }
}

pub fn q6k(x: &[f32], out: &mut [u8]) {
    let mut l = [0i8; QK_K];
    let (scales, max_scale) = symmetric_scales(x, &mut l, |x, l| make_qx_quants(32, x, l));
    let max_abs = max_scale.abs();
    // Layout: ql[128], qh[64], scales[16] (i8), d.
    if max_abs < GROUP_MAX_EPS {
        out.fill(0);
        return;
    }
    let iscale = -128.0 / max_scale;
    let dh = f32_to_f16(1.0 / iscale);
    let sc: [i8; 16] = core::array::from_fn(|ib| nearest_int(iscale * scales[ib]).min(127) as i8);
    for j in 0..16 {
        let d = f16_to_f32(dh) * sc[j] as f32;
        if d == 0.0 {
            continue;
        }
        for i in 0..16 {
            l[16 * j + i] = (nearest_int(x[16 * j + i] / d).clamp(-32, 31) + 32) as i8;
        }
    }
    let (ql, rest) = out.split_at_mut(128);
    let (qh, rest) = rest.split_at_mut(64);
    for (h, j) in (0..QK_K).step_by(128).enumerate() {
        let (ql, qh) = (&mut ql[64 * h..64 * h + 64], &mut qh[32 * h..32 * h + 32]);
        for i in 0..32 {
            let c = |k: usize| l[j + i + 32 * k] as u8;
            ql[i] = (c(0) & 0xf) | ((c(2) & 0xf) << 4);
            ql[i + 32] = (c(1) & 0xf) | ((c(3) & 0xf) << 4);
            qh[i] = (c(0) >> 4) | ((c(1) >> 4) << 2) | ((c(2) >> 4) << 4) | ((c(3) >> 4) << 6);
        }
    }
    for (o, s) in rest[..16].iter_mut().zip(sc) {
        *o = s as u8;
    }
    rest[16..18].copy_from_slice(&dh.to_le_bytes());
}
