//! AVX-512 VNNI 4×4 prefill tiles for the 32-element formats, on 256-bit
//! registers (AVX512VL): four weight rows against four tokens per pass.
//!
//! Q5_0/Q5_1's fifth bits are used as an AVX512BW byte mask directly (one
//! masked add), where AVX2 spreads them into bytes with four instructions.
//!
//! Why: the AVX2 tiles (`avx2_gemm`) run one weight row against four tokens
//! with `maddubs` + `madd` per token and block. Here each unpacked weight row
//! serves four tokens and each activation load four rows, and one `vpdpbusd`
//! (u8 × i8 → i32) replaces the `maddubs`/`madd` pair. 256-bit rather than
//! 512-bit registers: one block is 32 bytes, and cores that split 512-bit
//! operations (AMD Zen 4) run these at full rate. AVX512VL also gives 32
//! vector registers, enough for the 16 accumulators.
//!
//! `vpdpbusd` wants unsigned weights: Q4_0/Q5_0 codes are used as they are
//! (0..15 / 0..31) and Q8_0/IQ4_NL's signed values are shifted by +128; each
//! is corrected by `-k·d_w·s_a` with `s_a = d_a·Σq_a` from the activations'
//! appendix. Q4_1/Q5_1 codes are unsigned already and add `m_w·s_a`.
//! Activations come packed by `acts::pack4` (`Pack4::Rows`).

use super::util::{load256, nibbles, read_u32};
use crate::acts::PACK4_BLOCK_BYTES;
use crate::blocks::KVALUES_IQ4NL;
use core::arch::x86_64::*;

/// One 32-element weight format as unsigned bytes.
trait Unsigned32: Copy {
    const BYTES: usize;
    /// Byte offset of the f16 minimum (Q4_1/Q5_1), whose term is `+m·s_a`.
    const MIN_AT: Option<usize>;
    /// The implicit zero point k (term `-k·d·s_a`) when there is no minimum.
    const ZERO: f32;
    unsafe fn new() -> Self;
    /// The block's 32 weights as unsigned bytes, in element order.
    unsafe fn unpack(self, x: *const u8) -> __m256i;
}

#[derive(Clone, Copy)]
struct Q4_0;
impl Unsigned32 for Q4_0 {
    const BYTES: usize = 18;
    const MIN_AT: Option<usize> = None;
    const ZERO: f32 = 8.0;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q4_0
    }
    #[inline(always)]
    unsafe fn unpack(self, x: *const u8) -> __m256i {
        nibbles(x.add(2))
    }
}

#[derive(Clone, Copy)]
struct Q4_1;
impl Unsigned32 for Q4_1 {
    const BYTES: usize = 20;
    const MIN_AT: Option<usize> = Some(2);
    const ZERO: f32 = 0.0;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q4_1
    }
    #[inline(always)]
    unsafe fn unpack(self, x: *const u8) -> __m256i {
        nibbles(x.add(4))
    }
}

#[derive(Clone, Copy)]
struct Q5_0(__m256i);
impl Unsigned32 for Q5_0 {
    const BYTES: usize = 22;
    const MIN_AT: Option<usize> = None;
    const ZERO: f32 = 16.0;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q5_0(_mm256_set1_epi8(0x10))
    }
    #[inline(always)]
    unsafe fn unpack(self, x: *const u8) -> __m256i {
        // The fifth bits are a byte mask as they stand: add 16 where set.
        let n = nibbles(x.add(6));
        _mm256_mask_add_epi8(n, read_u32(x.add(2)), n, self.0)
    }
}

#[derive(Clone, Copy)]
struct Q5_1(__m256i);
impl Unsigned32 for Q5_1 {
    const BYTES: usize = 24;
    const MIN_AT: Option<usize> = Some(2);
    const ZERO: f32 = 0.0;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q5_1(_mm256_set1_epi8(0x10))
    }
    #[inline(always)]
    unsafe fn unpack(self, x: *const u8) -> __m256i {
        let n = nibbles(x.add(8));
        _mm256_mask_add_epi8(n, read_u32(x.add(4)), n, self.0)
    }
}

#[derive(Clone, Copy)]
struct Q8_0(__m256i);
impl Unsigned32 for Q8_0 {
    const BYTES: usize = 34;
    const MIN_AT: Option<usize> = None;
    const ZERO: f32 = 128.0;
    #[inline(always)]
    unsafe fn new() -> Self {
        Q8_0(_mm256_set1_epi8(-128))
    }
    #[inline(always)]
    unsafe fn unpack(self, x: *const u8) -> __m256i {
        _mm256_xor_si256(load256(x.add(2)), self.0)
    }
}

#[derive(Clone, Copy)]
struct IQ4NL(__m256i, __m256i);
impl Unsigned32 for IQ4NL {
    const BYTES: usize = 18;
    const MIN_AT: Option<usize> = None;
    const ZERO: f32 = 128.0;
    #[inline(always)]
    unsafe fn new() -> Self {
        let table = _mm256_broadcastsi128_si256(_mm_loadu_si128(KVALUES_IQ4NL.as_ptr() as *const __m128i));
        IQ4NL(table, _mm256_set1_epi8(-128))
    }
    #[inline(always)]
    unsafe fn unpack(self, x: *const u8) -> __m256i {
        _mm256_xor_si256(_mm256_shuffle_epi8(self.0, nibbles(x.add(2))), self.1)
    }
}

/// The f16s at byte `off` of four blocks `ws` bytes apart, widened.
#[inline(always)]
pub(super) unsafe fn f16x4(x: *const u8, ws: usize, off: usize) -> __m128 {
    let g = |r: usize| (x.add(r * ws + off) as *const i16).read_unaligned();
    _mm_cvtph_ps(_mm_setr_epi16(g(0), g(1), g(2), g(3), 0, 0, 0, 0))
}

/// Weight rows `w + r·ws` (r < 4, `nb` blocks) × the four tokens packed at `a`: `out[4·r + t]`.
///
/// Per row and block, the four tokens' `vpdpbusd` sums (eight i32 lanes
/// each) are folded by three `vphaddd` into one register holding each
/// token's two half-block sums (lanes t and t + 4), so one conversion, one
/// scale and one FMA serve four tokens instead of one.
#[inline(always)]
unsafe fn tile4x4<F: Unsigned32>(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
    let f = F::new();
    let lane = [0, 1, 2, 3].map(|k| _mm_set1_epi32(k));
    let mut acc = [_mm_setzero_ps(); 4];
    for i in 0..nb {
        let x = w.add(i * F::BYTES);
        let y = a.add(i * PACK4_BLOCK_BYTES);
        let yt = [0, 1, 2, 3].map(|t| load256(y.add(32 * t)));
        let da = _mm_loadu_ps(y.add(128) as *const f32);
        let sa = _mm_loadu_ps(y.add(144) as *const f32);
        let dw = f16x4(x, ws, 0);
        let wo = match F::MIN_AT {
            Some(at) => f16x4(x, ws, at),
            None => _mm_mul_ps(dw, _mm_set1_ps(-F::ZERO)),
        };
        for r in 0..4 {
            let wu = f.unpack(x.add(r * ws));
            let s = yt.map(|y| _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, y));
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
            // Each token's whole-block sum, still exact, then the block's value
            // (scaled sum plus the offset term) before it joins the running sum,
            // in the reference's order: accumulating the two large terms
            // separately over a row and subtracting at the end lost precision
            // wherever activations have a large mean (SmolLM2's perplexity
            // moved by 0.4 %).
            let sum = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            let scale = _mm_mul_ps(_mm_permutevar_ps(dw, lane[r]), da);
            let block = _mm_fmadd_ps(_mm_permutevar_ps(wo, lane[r]), sa, _mm_mul_ps(_mm_cvtepi32_ps(sum), scale));
            acc[r] = _mm_add_ps(acc[r], block);
        }
    }
    let mut out = [0f32; 16];
    for (r, a) in acc.iter().enumerate() {
        _mm_storeu_ps(out.as_mut_ptr().add(4 * r), *a);
    }
    out
}

macro_rules! tiles {
    ($($name:ident => $fmt:ident),*) => {$(
        /// # Safety
        /// The CPU must support AVX2, FMA, F16C, AVX512F/BW/VL and AVX512-VNNI; four
        /// weight rows `ws` bytes apart hold `nb` blocks, `a` one group of `nb`
        /// blocks packed by `acts::pack4` (`Pack4::Rows`).
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        pub unsafe fn $name(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16] {
            tile4x4::<$fmt>(nb, w, ws, a)
        }
    )*};
}

tiles!(
    tile4x4_q4_0 => Q4_0,
    tile4x4_q4_1 => Q4_1,
    tile4x4_q5_0 => Q5_0,
    tile4x4_q5_1 => Q5_1,
    tile4x4_q8_0 => Q8_0,
    tile4x4_iq4nl => IQ4NL
);
