//! ggml block layouts, IEEE half-precision and bf16 conversion.
//!
//! Every weight block keeps its f16 fields as `[u8; 2]` so that the struct has
//! alignment 1: GGUF tensors are only guaranteed to be 32-byte aligned at the
//! tensor start, and several block sizes (18, 22, 34, 210 B) are not multiples of
//! 2 or 4, so a `&[u8]` from a memory map can always be viewed as `&[Block]`.

pub const QK: usize = 32;
pub const QK_K: usize = 256;
/// Bytes of packed 6-bit scales/mins in Q4_K and Q5_K.
pub const K_SCALE_SIZE: usize = 12;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockQ4_0 {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockQ4_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; QK / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockQ5_0 {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockQ5_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// Used both for Q8_0 weights and for activations paired with Q4_0/Q5_0/Q8_0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockQ8_0 {
    pub d: [u8; 2],
    pub qs: [i8; QK],
}

/// Activation block for Q4_1/Q5_1: `s` = d · Σqs, so the weight minimum folds into one multiply.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockQ8_1 {
    pub d: [u8; 2],
    pub s: [u8; 2],
    pub qs: [i8; QK],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ4K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub qs: [u8; QK_K / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ5K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub qh: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ6K {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: [u8; 2],
}

/// 2-bit K-quant: 16 sub-blocks of 16, each with a 4-bit scale (low nibble of
/// `scales`) and 4-bit min (high nibble): x = d·sc·q − dmin·m.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ2K {
    pub scales: [u8; QK_K / 16],
    pub qs: [u8; QK_K / 4],
    pub d: [u8; 2],
    pub dmin: [u8; 2],
}

/// 3-bit K-quant: 2 low bits in `qs`, the third in `hmask` (set = no −4
/// offset), 16 signed 6-bit sub-block scales packed in 12 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ3K {
    pub hmask: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 4],
    pub scales: [u8; K_SCALE_SIZE],
    pub d: [u8; 2],
}

/// Non-linear 4-bit: each nibble indexes [`KVALUES_IQ4NL`], times the f16 scale.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockIQ4NL {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// IQ4_NL's values in 256-element super-blocks with a 6-bit scale per 32
/// (low 4 bits in `scales_l` nibbles, high 2 bits in the u16 `scales_h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockIQ4XS {
    pub d: [u8; 2],
    pub scales_h: [u8; 2],
    pub scales_l: [u8; QK_K / 64],
    pub qs: [u8; QK_K / 2],
}

/// 32 bf16 values. ggml's BF16 has no blocks (one element = 2 bytes); grouping
/// them by 32 lets the kernels work in whole vectors, and is the same bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockBF16 {
    pub v: [[u8; 2]; QK],
}

/// The 16 levels of IQ4_NL / IQ4_XS (ggml's `kvalues_iq4nl`): denser near zero.
pub const KVALUES_IQ4NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// Activation block for the K-quants; `bsums` are sums of each 16 `qs`, which
/// lets the kernels apply the weight minimums / offsets without touching `qs`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8K {
    pub d: f32,
    pub qs: [i8; QK_K],
    pub bsums: [i16; QK_K / 16],
}

impl Default for BlockQ8K {
    fn default() -> Self {
        BlockQ8K { d: 0.0, qs: [0; QK_K], bsums: [0; QK_K / 16] }
    }
}

macro_rules! zeroed_default {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                // SAFETY: plain-old-data made of byte arrays; all-zero is valid.
                unsafe { core::mem::zeroed() }
            }
        }
    )*};
}
zeroed_default!(BlockQ4K, BlockQ5K, BlockQ6K, BlockQ2K, BlockQ3K, BlockIQ4XS, BlockBF16);

const _: () = {
    assert!(core::mem::size_of::<BlockQ4_0>() == 18);
    assert!(core::mem::size_of::<BlockQ4_1>() == 20);
    assert!(core::mem::size_of::<BlockQ5_0>() == 22);
    assert!(core::mem::size_of::<BlockQ5_1>() == 24);
    assert!(core::mem::size_of::<BlockQ8_0>() == 34);
    assert!(core::mem::size_of::<BlockQ8_1>() == 36);
    assert!(core::mem::size_of::<BlockQ4K>() == 144);
    assert!(core::mem::size_of::<BlockQ5K>() == 176);
    assert!(core::mem::size_of::<BlockQ6K>() == 210);
    assert!(core::mem::size_of::<BlockQ8K>() == 292);
    assert!(core::mem::size_of::<BlockQ2K>() == 84);
    assert!(core::mem::size_of::<BlockQ3K>() == 110);
    assert!(core::mem::size_of::<BlockIQ4NL>() == 18);
    assert!(core::mem::size_of::<BlockIQ4XS>() == 136);
    assert!(core::mem::size_of::<BlockBF16>() == 64);
};

/// Marker for block types that may be viewed from raw bytes (alignment 1, no padding, any bit pattern valid).
///
/// # Safety
/// Implementors must be `repr(C)`, contain only byte arrays and have alignment 1.
pub unsafe trait ByteBlock: Copy {}
unsafe impl ByteBlock for BlockQ4_0 {}
unsafe impl ByteBlock for BlockQ4_1 {}
unsafe impl ByteBlock for BlockQ5_0 {}
unsafe impl ByteBlock for BlockQ5_1 {}
unsafe impl ByteBlock for BlockQ8_0 {}
unsafe impl ByteBlock for BlockQ8_1 {}
unsafe impl ByteBlock for BlockQ4K {}
unsafe impl ByteBlock for BlockQ5K {}
unsafe impl ByteBlock for BlockQ6K {}
unsafe impl ByteBlock for BlockQ2K {}
unsafe impl ByteBlock for BlockQ3K {}
unsafe impl ByteBlock for BlockIQ4NL {}
unsafe impl ByteBlock for BlockIQ4XS {}
unsafe impl ByteBlock for BlockBF16 {}

/// Views bytes as blocks; `None` if the length is not a whole number of blocks.
pub fn cast_blocks<T: ByteBlock>(bytes: &[u8]) -> Option<&[T]> {
    let sz = core::mem::size_of::<T>();
    if bytes.len() % sz != 0 {
        return None;
    }
    debug_assert_eq!(core::mem::align_of::<T>(), 1);
    // SAFETY: ByteBlock guarantees alignment 1 and that every bit pattern is valid.
    Some(unsafe { core::slice::from_raw_parts(bytes.as_ptr() as *const T, bytes.len() / sz) })
}

pub fn cast_blocks_mut<T: ByteBlock>(bytes: &mut [u8]) -> Option<&mut [T]> {
    let sz = core::mem::size_of::<T>();
    if bytes.len() % sz != 0 {
        return None;
    }
    // SAFETY: as in `cast_blocks`.
    Some(unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut T, bytes.len() / sz) })
}

pub fn as_bytes<T: ByteBlock>(blocks: &[T]) -> &[u8] {
    // SAFETY: ByteBlock types have no padding.
    unsafe { core::slice::from_raw_parts(blocks.as_ptr() as *const u8, core::mem::size_of_val(blocks)) }
}

/// Exact f16 → f32 without a table or F16C, so it is usable from every ISA path.
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    // Shifting puts the f16 exponent/mantissa in f32 position with a bias of 15
    // instead of 127; multiplying by 2^112 rebiases, and handles subnormals exactly.
    let scaled = (f32::from_bits(em << 13) * f32::from_bits(0x7780_0000)).to_bits();
    let bits = if em >= 0x7c00 { 0x7f80_0000 | ((em & 0x3ff) << 13) } else { scaled };
    f32::from_bits(bits | sign)
}

#[inline(always)]
pub fn f16_bytes_to_f32(b: [u8; 2]) -> f32 {
    f16_to_f32(u16::from_le_bytes(b))
}

/// f32 → f16 with round-to-nearest-even (what F16C's `vcvtps2ph` and ggml do).
pub fn f32_to_f16(f: f32) -> u16 {
    let x = f.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let man = x & 0x7f_ffff;
    if exp == 0xff {
        let nan = if man != 0 { 0x200 | (man >> 13) as u16 } else { 0 };
        return sign | 0x7c00 | nan;
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rem = m & ((1u32 << shift) - 1);
        let mut r = m >> shift;
        if rem > half || (rem == half && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
        r += 1;
    }
    sign | r as u16
}

#[inline]
pub fn f32_to_f16_bytes(f: f32) -> [u8; 2] {
    f32_to_f16(f).to_le_bytes()
}

/// Unpacks the 6-bit sub-block scales and mins shared by Q4_K and Q5_K.
#[inline(always)]
pub fn unpack_k_scales(s: &[u8; K_SCALE_SIZE]) -> ([u8; 8], [u8; 8]) {
    let a = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let b = u32::from_le_bytes([s[4], s[5], s[6], s[7]]);
    let c = u32::from_le_bytes([s[8], s[9], s[10], s[11]]);
    // Sub-blocks 0..4 keep their 6 bits in the low bits of bytes 0..8; 4..8 put
    // their low 4 bits in bytes 8..12 and their top 2 bits in bits 6..7 of 0..8.
    let sc_lo = a & 0x3f3f_3f3f;
    let mn_lo = b & 0x3f3f_3f3f;
    let sc_hi = (c & 0x0f0f_0f0f) | ((a >> 2) & 0x3030_3030);
    let mn_hi = ((c >> 4) & 0x0f0f_0f0f) | ((b >> 2) & 0x3030_3030);
    let mut sc = [0u8; 8];
    let mut mn = [0u8; 8];
    sc[..4].copy_from_slice(&sc_lo.to_le_bytes());
    sc[4..].copy_from_slice(&sc_hi.to_le_bytes());
    mn[..4].copy_from_slice(&mn_lo.to_le_bytes());
    mn[4..].copy_from_slice(&mn_hi.to_le_bytes());
    (sc, mn)
}

/// Inverse of [`unpack_k_scales`]; values must be < 64.
pub fn pack_k_scales(sc: &[u8; 8], mn: &[u8; 8]) -> [u8; K_SCALE_SIZE] {
    let mut q = [0u8; K_SCALE_SIZE];
    for j in 0..4 {
        q[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
        q[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6);
        q[j + 8] = (sc[j + 4] & 0xf) | ((mn[j + 4] & 0xf) << 4);
    }
    q
}

/// bf16 → f32 is exact: bf16 is the top half of an f32 (NaN payloads kept, as ggml does).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// f32 → bf16 rounding to nearest even, NaNs made quiet: ggml's `ggml_compute_fp32_to_bf16`.
pub fn f32_to_bf16(f: f32) -> u16 {
    let u = f.to_bits();
    if u & 0x7fff_ffff > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    // Adding 0x7fff plus the lowest kept bit rounds ties to even; a carry
    // correctly bumps the exponent (up to infinity).
    ((u as u64 + 0x7fff + ((u >> 16) & 1) as u64) >> 16) as u16
}

/// Unpacks Q3_K's sixteen 6-bit scales and removes their +32 bias. Scale j keeps
/// its low 4 bits in byte j (j < 8) or the high nibble of byte j − 8, and its
/// top 2 bits in bits 2·(j / 4) of byte 8 + j % 4.
#[inline(always)]
pub fn unpack_q3k_scales(s: &[u8; K_SCALE_SIZE]) -> [i8; 16] {
    let a = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let b = u32::from_le_bytes([s[4], s[5], s[6], s[7]]);
    let h = u32::from_le_bytes([s[8], s[9], s[10], s[11]]);
    let words = [
        (a & 0x0f0f_0f0f) | ((h & 0x0303_0303) << 4),
        (b & 0x0f0f_0f0f) | (((h >> 2) & 0x0303_0303) << 4),
        ((a >> 4) & 0x0f0f_0f0f) | (((h >> 4) & 0x0303_0303) << 4),
        ((b >> 4) & 0x0f0f_0f0f) | (((h >> 6) & 0x0303_0303) << 4),
    ];
    let mut out = [0i8; 16];
    for (k, w) in words.iter().enumerate() {
        for (j, byte) in w.to_le_bytes().iter().enumerate() {
            out[4 * k + j] = *byte as i8 - 32;
        }
    }
    out
}

/// Inverse of [`unpack_q3k_scales`]; values must be in −32..=31.
pub fn pack_q3k_scales(sc: &[i8; 16]) -> [u8; K_SCALE_SIZE] {
    let mut q = [0u8; K_SCALE_SIZE];
    for (j, &v) in sc.iter().enumerate() {
        let u = (v as i32 + 32) as u8 & 63;
        if j < 8 {
            q[j] |= u & 0xf;
        } else {
            q[j - 8] |= (u & 0xf) << 4;
        }
        q[8 + j % 4] |= (u >> 4) << (2 * (j / 4));
    }
    q
}

/// IQ4_XS's eight 6-bit sub-block scales, bias 32 removed.
#[inline(always)]
pub fn unpack_iq4xs_scales(scales_h: [u8; 2], scales_l: &[u8; 4]) -> [i8; 8] {
    let h = u16::from_le_bytes(scales_h) as u32;
    core::array::from_fn(|ib| {
        let lo = (scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf;
        let hi = ((h >> (2 * ib)) & 3) as u8;
        (lo | (hi << 4)) as i8 - 32
    })
}
