//! AVX-512 VNNI 4×4 prefill tiles for Q4_K and Q6_K, on 256-bit registers:
//! four weight rows against four tokens per pass, like `avx512_vnni` for
//! the 32-element formats.
//!
//! Why: the AVX2 tiles (`avx2_kquants::tile4_*`) already unpack a weight
//! row once for four tokens, but each token's sums pay a `madd` (scale) and
//! an `add` per sub-block and a horizontal sum per super-block. Here
//! `vpdpwssd` multiplies the `maddubs` pairs by the sub-block scale and
//! accumulates in one instruction, and the four tokens' sums are folded
//! together (three `vphaddd`) so one conversion and one FMA serve four
//! tokens. About 100 instructions per row and super-block for four tokens,
//! against about 165.
//!
//! Integer sums are exact, so each output is the reference's i32 sum times
//! the same float scales. Activations come packed by `acts::pack4` (Q8_K,
//! `Pack4::Rows`): per sub-block of 32, each token's 32 quants in turn,
//! then the tokens' `d` and their 16 sums of 16 quants, token by token.

use super::avx512_vnni::f16x4;
use super::util::{load256, q6k_codes};
use crate::acts::PACK4K_BLOCK_BYTES;
use crate::blocks::unpack_k_scales;
use core::arch::x86_64::*;

/// One row's four per-token sums (eight lanes each) folded into one vector:
/// lanes t and t + 4 hold token t's two halves.
#[inline(always)]
unsafe fn fold4(s: [__m256i; 4]) -> __m256i {
    _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]))
}

/// The packed activations' per-block pieces: the tokens' scales as
/// `[d0..d3, d0..d3]` and their 16 sums of 16, token by token.
#[inline(always)]
unsafe fn block_acts(y: *const u8) -> (__m256, [__m256i; 4]) {
    let d = _mm_loadu_ps(y.add(1024) as *const f32);
    (_mm256_set_m128(d, d), [0, 1, 2, 3].map(|t| load256(y.add(1040 + 32 * t))))
}

/// Adds `v` (folded, see [`fold4`]) times `scale_r · d_t` to `acc`.
#[inline(always)]
unsafe fn scale_add(acc: __m256, v: __m256i, wd: __m128, r: i32, da8: __m256) -> __m256 {
    let wr = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(wd), _mm256_set1_epi32(r));
    _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(wr, da8), acc)
}

/// Each row's two halves summed: `out[4·r + t]`.
#[inline(always)]
unsafe fn finish(acc: [__m256; 4]) -> [f32; 16] {
    let mut out = [0f32; 16];
    for (r, a) in acc.iter().enumerate() {
        let sum = _mm_add_ps(_mm256_castps256_ps128(*a), _mm256_extractf128_ps(*a, 1));
        _mm_storeu_ps(out.as_mut_ptr().add(4 * r), sum);
    }
    out
}

#[inline(always)]
unsafe fn q4k_tile(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    let m4 = _mm256_set1_epi8(0x0f);
    // The 16 sums of 16 pair up into the 8 sub-blocks' sums: each minimum
    // is repeated for both halves of its sub-block.
    let dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    let mut acc = [_mm256_setzero_ps(); 4];
    for i in 0..nb {
        let x = w.add(i * 144);
        let y = a.add(i * PACK4K_BLOCK_BYTES);
        let (da8, bsums) = block_acts(y);
        let (dw, dmin) = (f16x4(x, ws, 0), f16x4(x, ws, 2));
        for r in 0..4 {
            let xr = x.add(r * ws);
            let (sc, mn) = unpack_k_scales(&*(xr.add(4) as *const [u8; 12]));
            let mut s = [_mm256_setzero_si256(); 4];
            for c in 0..4 {
                // Bytes 32c.. hold sub-block 2c in their low nibbles and 2c + 1 in their high ones.
                let q = load256(xr.add(16 + 32 * c));
                let lo = _mm256_and_si256(q, m4);
                let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                let (slo, shi) = (_mm256_set1_epi16(sc[2 * c] as i16), _mm256_set1_epi16(sc[2 * c + 1] as i16));
                for (t, st) in s.iter_mut().enumerate() {
                    let (al, ah) = (load256(y.add(256 * c + 32 * t)), load256(y.add(256 * c + 128 + 32 * t)));
                    *st = _mm256_dpwssd_epi32(*st, _mm256_maddubs_epi16(lo, al), slo);
                    *st = _mm256_dpwssd_epi32(*st, _mm256_maddubs_epi16(hi, ah), shi);
                }
            }
            let mins = _mm_shuffle_epi8(_mm_loadl_epi64(mn.as_ptr() as *const __m128i), dup);
            let m16 = _mm256_cvtepu8_epi16(mins);
            let mi = fold4(bsums.map(|b| _mm256_madd_epi16(b, m16)));
            acc[r] = scale_add(acc[r], fold4(s), dw, r as i32, da8);
            acc[r] = scale_add(acc[r], _mm256_sub_epi32(_mm256_setzero_si256(), mi), dmin, r as i32, da8);
        }
    }
    finish(acc)
}

#[inline(always)]
unsafe fn q6k_tile(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    let mut acc = [_mm256_setzero_ps(); 4];
    for i in 0..nb {
        let x = w.add(i * 210);
        let y = a.add(i * PACK4K_BLOCK_BYTES);
        let (da8, bsums) = block_acts(y);
        let dw = f16x4(x, ws, 208);
        for r in 0..4 {
            let xr = x.add(r * ws);
            let sc = xr.add(192) as *const i8;
            let mut s = [_mm256_setzero_si256(); 4];
            for n in 0..2 {
                let q = q6k_codes(xr.add(64 * n), xr.add(128 + 32 * n));
                for (g, &qg) in q.iter().enumerate() {
                    // Elements 16·half of this group belong to 16-element sub-block 8n + 2g + half.
                    let k = 8 * n + 2 * g;
                    let sv = _mm256_set_m128i(_mm_set1_epi16(*sc.add(k + 1) as i16), _mm_set1_epi16(*sc.add(k) as i16));
                    for (t, st) in s.iter_mut().enumerate() {
                        let at = load256(y.add(128 * (4 * n + g) + 32 * t));
                        *st = _mm256_dpwssd_epi32(*st, _mm256_maddubs_epi16(qg, at), sv);
                    }
                }
            }
            // Stored codes are value + 32: remove 32 · Σ scale · (sum of 16) per token.
            let s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(sc as *const __m128i));
            let corr = fold4(bsums.map(|b| _mm256_madd_epi16(b, s16)));
            let total = _mm256_sub_epi32(fold4(s), _mm256_slli_epi32(corr, 5));
            acc[r] = scale_add(acc[r], total, dw, r as i32, da8);
        }
    }
    finish(acc)
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX512F/BW/VL and AVX512-VNNI; four
/// weight rows `ws` bytes apart hold `nb` Q4_K blocks, `a` one group of `nb`
/// blocks packed by `acts::pack4` (`Pack4::Rows`).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn tile4x4_q4k(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    q4k_tile(nb, w, ws, a)
}

/// # Safety
/// As [`tile4x4_q4k`], for Q6_K blocks.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn tile4x4_q6k(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    q6k_tile(nb, w, ws, a)
}
