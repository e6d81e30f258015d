//! Attention's inner loops over a compact KV cache: q·k and w·v where the
//! keys and values are stored as f16 (llama.cpp's default cache type) or as
//! q8_0 blocks. An f16 cache halves the memory a chat holds and what decode
//! reads per token once the context is long; q8_0 takes it to 34/128.
//!
//! The `*_scalar` bodies are the reference. The dispatched versions convert
//! halves in hardware: x86 F16C (`vcvtph2ps`, 8 per instruction, chosen at
//! run time) and aarch64 FCVTL (4 per instruction, base ARMv8 AdvSIMD, so
//! every phone has it). The aarch64 loops are `asm!` because Rust's f16 NEON
//! intrinsics are not stable. q8_0 rows have no hand-written SIMD: the
//! scalar body vectorises (AVX2 copy at run time) and is used only by apps
//! that choose the smaller cache.

use crate::blocks::{f16_to_f32, f32_to_f16, BlockQ8_0, QK};
#[cfg(target_arch = "x86_64")]
use super::avx2;

multiversion! {
    /// Σ q·k for an f16 row `k`.
    pub fn dot_f16_generic(q: &[f32], k: &[u16]) -> f32 => dot_f16_scalar
}

/// Σ q·k for an f16 row `k`.
#[inline(always)]
pub fn dot_f16_scalar(q: &[f32], k: &[u16]) -> f32 {
    assert_eq!(q.len(), k.len(), "dot_f16: length mismatch");
    let mut acc = [0f32; 8];
    let (cq, ck) = (q.chunks_exact(8), k.chunks_exact(8));
    let tail: f32 = cq.remainder().iter().zip(ck.remainder()).map(|(a, &b)| a * f16_to_f32(b)).sum();
    for (a, b) in cq.zip(ck) {
        for i in 0..8 {
            acc[i] += a[i] * f16_to_f32(b[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

multiversion! {
    /// out += w · v for an f16 row `v`.
    pub fn axpy_f16_generic(w: f32, v: &[u16], out: &mut [f32]) => axpy_f16_scalar
}

/// out += w · v for an f16 row `v`.
#[inline(always)]
pub fn axpy_f16_scalar(w: f32, v: &[u16], out: &mut [f32]) {
    assert_eq!(v.len(), out.len(), "axpy_f16: length mismatch");
    for (o, &h) in out.iter_mut().zip(v) {
        *o += w * f16_to_f32(h);
    }
}

/// Σ q·k for an f16 row `k`, converting in hardware where the CPU can.
pub fn dot_f16(q: &[f32], k: &[u16]) -> f32 {
    assert_eq!(q.len(), k.len(), "dot_f16: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if f16c() {
        // SAFETY: AVX2, FMA and F16C were detected at run time; lengths are equal.
        return unsafe { x86::dot_f16(q, k) };
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: FCVTL/FMLA are base AArch64 AdvSIMD; lengths are equal.
        return unsafe { arm::dot_f16(q, k) };
    }
    #[allow(unreachable_code)]
    dot_f16_generic(q, k)
}

/// out += w · v for an f16 row `v`, converting in hardware where the CPU can.
pub fn axpy_f16(w: f32, v: &[u16], out: &mut [f32]) {
    assert_eq!(v.len(), out.len(), "axpy_f16: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if f16c() {
        // SAFETY: as in `dot_f16`.
        return unsafe { x86::axpy_f16(w, v, out) };
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: as in `dot_f16`.
        return unsafe { arm::axpy_f16(w, v, out) };
    }
    #[allow(unreachable_code)]
    axpy_f16_generic(w, v, out)
}

multiversion! {
    /// Σ q·k for a row `k` of q8_0 blocks (`q.len()` = 32 × blocks).
    pub fn dot_q8_0(q: &[f32], k: &[BlockQ8_0]) -> f32 => dot_q8_0_scalar
}

/// Σ q·k for a row `k` of q8_0 blocks.
#[inline(always)]
pub fn dot_q8_0_scalar(q: &[f32], k: &[BlockQ8_0]) -> f32 {
    assert_eq!(q.len(), k.len() * QK, "dot_q8_0: length mismatch");
    let mut acc = 0f32;
    for (b, qs) in k.iter().zip(q.chunks_exact(QK)) {
        let mut s = [0f32; 8];
        for i in 0..QK {
            s[i % 8] += qs[i] * b.qs[i] as f32;
        }
        acc += f16_to_f32(u16::from_le_bytes(b.d)) * s.iter().sum::<f32>();
    }
    acc
}

multiversion! {
    /// out += w · v for a row `v` of q8_0 blocks.
    pub fn axpy_q8_0(w: f32, v: &[BlockQ8_0], out: &mut [f32]) => axpy_q8_0_scalar
}

/// out += w · v for a row `v` of q8_0 blocks.
#[inline(always)]
pub fn axpy_q8_0_scalar(w: f32, v: &[BlockQ8_0], out: &mut [f32]) {
    assert_eq!(out.len(), v.len() * QK, "axpy_q8_0: length mismatch");
    for (b, o) in v.iter().zip(out.chunks_exact_mut(QK)) {
        let wd = w * f16_to_f32(u16::from_le_bytes(b.d));
        for (o, &q) in o.iter_mut().zip(&b.qs) {
            *o += wd * q as f32;
        }
    }
}

/// f32 → f16 (round to nearest even) for a whole row.
pub fn f32_to_f16_row(x: &[f32], out: &mut [u16]) {
    assert_eq!(x.len(), out.len(), "f32_to_f16_row: length mismatch");
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = f32_to_f16(v));
}

/// f16 → f32 for a whole row.
pub fn f16_to_f32_row(h: &[u16], out: &mut [f32]) {
    assert_eq!(h.len(), out.len(), "f16_to_f32_row: length mismatch");
    out.iter_mut().zip(h).for_each(|(o, &v)| *o = f16_to_f32(v));
}

#[cfg(target_arch = "x86_64")]
fn f16c() -> bool {
    use std::sync::OnceLock;
    static A: OnceLock<bool> = OnceLock::new();
    *A.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c"))
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn load8(k: *const u16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(k as *const __m128i))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_f16(q: &[f32], k: &[u16]) -> f32 {
        let n = q.len();
        let (qp, kp) = (q.as_ptr(), k.as_ptr());
        let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 16 <= n {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), load8(kp.add(i)), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i + 8)), load8(kp.add(i + 8)), a1);
            i += 16;
        }
        if i + 8 <= n {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), load8(kp.add(i)), a0);
            i += 8;
        }
        let s = _mm256_add_ps(a0, a1);
        let h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        let h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
        let tail: f32 = (i..n).map(|j| q[j] * crate::blocks::f16_to_f32(k[j])).sum();
        _mm_cvtss_f32(h) + tail
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn axpy_f16(w: f32, v: &[u16], out: &mut [f32]) {
        let n = v.len();
        let (vp, op) = (v.as_ptr(), out.as_mut_ptr());
        let wv = _mm256_set1_ps(w);
        let mut i = 0;
        while i + 8 <= n {
            _mm256_storeu_ps(op.add(i), _mm256_fmadd_ps(wv, load8(vp.add(i)), _mm256_loadu_ps(op.add(i))));
            i += 8;
        }
        for j in i..n {
            out[j] += w * crate::blocks::f16_to_f32(v[j]);
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use std::arch::asm;

    pub unsafe fn dot_f16(q: &[f32], k: &[u16]) -> f32 {
        let n = q.len();
        let n8 = n / 8 * 8;
        let mut acc = [0f32; 4];
        if n8 > 0 {
            asm!(
                "movi v0.4s, #0",
                "movi v1.4s, #0",
                "2:",
                "ld1 {{v2.8h}}, [{k}], #16",
                "ld1 {{v3.4s, v4.4s}}, [{q}], #32",
                "fcvtl v5.4s, v2.4h",
                "fcvtl2 v6.4s, v2.8h",
                "fmla v0.4s, v5.4s, v3.4s",
                "fmla v1.4s, v6.4s, v4.4s",
                "subs {n}, {n}, #8",
                "b.ne 2b",
                "fadd v0.4s, v0.4s, v1.4s",
                "st1 {{v0.4s}}, [{acc}]",
                k = inout(reg) k.as_ptr() => _,
                q = inout(reg) q.as_ptr() => _,
                n = inout(reg) n8 => _,
                acc = in(reg) acc.as_mut_ptr(),
                out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _, out("v6") _,
                options(nostack),
            );
        }
        let tail: f32 = (n8..n).map(|j| q[j] * crate::blocks::f16_to_f32(k[j])).sum();
        acc.iter().sum::<f32>() + tail
    }

    pub unsafe fn axpy_f16(w: f32, v: &[u16], out: &mut [f32]) {
        let n = v.len();
        let n8 = n / 8 * 8;
        if n8 > 0 {
            asm!(
                "dup v7.4s, {w:v}.s[0]",
                "2:",
                "ld1 {{v2.8h}}, [{v}], #16",
                "ld1 {{v3.4s, v4.4s}}, [{o}]",
                "fcvtl v5.4s, v2.4h",
                "fcvtl2 v6.4s, v2.8h",
                "fmla v3.4s, v5.4s, v7.4s",
                "fmla v4.4s, v6.4s, v7.4s",
                "st1 {{v3.4s, v4.4s}}, [{o}], #32",
                "subs {n}, {n}, #8",
                "b.ne 2b",
                w = in(vreg) w,
                v = inout(reg) v.as_ptr() => _,
                o = inout(reg) out.as_mut_ptr() => _,
                n = inout(reg) n8 => _,
                out("v2") _, out("v3") _, out("v4") _, out("v5") _, out("v6") _, out("v7") _,
                options(nostack),
            );
        }
        for j in n8..n {
            out[j] += w * crate::blocks::f16_to_f32(v[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, seed: u32) -> (Vec<f32>, Vec<u16>) {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0
        };
        let q: Vec<f32> = (0..n).map(|_| next()).collect();
        let k: Vec<u16> = (0..n).map(|_| f32_to_f16(next())).collect();
        (q, k)
    }

    #[test]
    fn f16_dot_and_axpy_agree_with_the_scalar_reference() {
        // Every tail length, and the head sizes models use.
        for n in (0..40).chain([64, 80, 96, 128, 256]) {
            let (q, k) = rows(n, n as u32 + 1);
            let (got, want) = (dot_f16(&q, &k), dot_f16_scalar(&q, &k));
            assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()) * n as f32, "n={n}: {got} vs {want}");
            let (mut a, mut b) = (q.clone(), q.clone());
            axpy_f16(0.37, &k, &mut a);
            axpy_f16_scalar(0.37, &k, &mut b);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "n={n}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn q8_0_rows_match_their_dequantised_values() {
        let (q, _) = rows(128, 7);
        let (x, _) = rows(128, 8);
        let mut blocks = vec![BlockQ8_0::default(); 4];
        crate::reference::quantize_q8_0(&x, &mut blocks);
        let deq: Vec<f32> = blocks
            .iter()
            .flat_map(|b| b.qs.iter().map(move |&v| f16_to_f32(u16::from_le_bytes(b.d)) * v as f32))
            .collect();
        let want: f32 = q.iter().zip(&deq).map(|(a, b)| a * b).sum();
        let got = dot_q8_0(&q, &blocks);
        assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        let mut out = vec![1.0f32; 128];
        axpy_q8_0(0.5, &blocks, &mut out);
        for (o, d) in out.iter().zip(&deq) {
            assert!((o - (1.0 + 0.5 * d)).abs() < 1e-5);
        }
    }
}
