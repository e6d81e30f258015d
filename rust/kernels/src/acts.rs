//! Quantized activation rows.
//!
//! A row is the ggml blocks (Q8_0, Q8_1, Q8_K or bf16), padded to 4 bytes, followed
//! for Q8_0/Q8_1 by the block scales already widened to f32 (all `d`, then all
//! `s` = d·Σq: Q8_1's stored one, and for Q8_0 computed here so that kernels
//! can treat Q4_0/Q5_0 weights as unsigned and correct by their offset). The values are the f16-rounded ones, so numerics are exactly
//! ggml's; the widening is done once per row instead of once per weight row.

use crate::blocks::*;
use crate::{ActType, QuantType};

/// 8-byte-aligned scratch holding quantized activation rows.
#[derive(Default, Clone)]
pub struct ActBuf {
    words: Vec<u64>,
    len: usize,
}

/// Offset of the f32 scale appendix in a row of `nb` blocks.
#[inline(always)]
pub(crate) fn scales_offset(act: ActType, nb: usize) -> usize {
    (nb * act.block_bytes()).next_multiple_of(4)
}

impl ActBuf {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of one quantized row of `cols` activations for weights of `qtype`.
    pub fn row_bytes(qtype: QuantType, cols: usize) -> usize {
        let a = qtype.act_type();
        let nb = cols / a.block_len();
        scales_offset(a, nb)
            + match a {
                ActType::Q8_0 | ActType::Q8_1 => 8 * nb,
                ActType::Q8K | ActType::BF16 => 0,
            }
    }

    /// Quantizes `m` rows of `cols` values from `x` for weights of `qtype`.
    pub fn quantize(&mut self, qtype: QuantType, x: &[f32], m: usize, cols: usize) {
        let rb = Self::row_bytes(qtype, cols);
        self.resize(rb * m);
        for (i, xr) in x.chunks_exact(cols).take(m).enumerate() {
            quantize_row_into(qtype, xr, &mut self.bytes_mut()[i * rb..(i + 1) * rb]);
        }
    }

    /// Builds rows from ggml activation blocks (`m` rows back to back), e.g. hand-made test data.
    pub fn from_blocks(qtype: QuantType, cols: usize, blocks: &[u8]) -> ActBuf {
        let a = qtype.act_type();
        let blk_row = cols / a.block_len() * a.block_bytes();
        assert_eq!(blocks.len() % blk_row, 0, "from_blocks: not whole rows");
        let m = blocks.len() / blk_row;
        let rb = Self::row_bytes(qtype, cols);
        let mut buf = ActBuf::new();
        buf.resize(rb * m);
        for i in 0..m {
            let row = &mut buf.bytes_mut()[i * rb..(i + 1) * rb];
            row[..blk_row].copy_from_slice(&blocks[i * blk_row..(i + 1) * blk_row]);
            fill_scales(a, cols / a.block_len(), row);
        }
        buf
    }

    /// The ggml block bytes of row `row` (without the scale appendix).
    pub fn row_blocks(&self, qtype: QuantType, cols: usize, row: usize) -> &[u8] {
        let a = qtype.act_type();
        let rb = Self::row_bytes(qtype, cols);
        &self.bytes()[row * rb..][..cols / a.block_len() * a.block_bytes()]
    }

    /// Sets the length in bytes (contents unspecified).
    pub(crate) fn resize(&mut self, len: usize) {
        self.words.resize(len.div_ceil(8), 0);
        self.len = len;
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: u64 storage viewed as bytes, within its length.
        unsafe { core::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.len) }
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above.
        unsafe { core::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, self.len) }
    }
}

fn fill_scales(a: ActType, nb: usize, row: &mut [u8]) {
    if matches!(a, ActType::Q8K | ActType::BF16) {
        return; // Q8_K's d is already f32; bf16 has no scales
    }
    let off = scales_offset(a, nb);
    let bb = a.block_bytes();
    for b in 0..nb {
        let hdr: [u8; 4] = row[b * bb..b * bb + 4].try_into().unwrap();
        let d = f16_bytes_to_f32([hdr[0], hdr[1]]);
        row[off + 4 * b..off + 4 * b + 4].copy_from_slice(&d.to_le_bytes());
        if a == ActType::Q8_0 {
            let sum: i32 = row[b * bb + 2..b * bb + 34].iter().map(|&q| q as i8 as i32).sum();
            row[off + 4 * (nb + b)..off + 4 * (nb + b) + 4].copy_from_slice(&(d * sum as f32).to_le_bytes());
        } else {
            let s = f16_bytes_to_f32([hdr[2], hdr[3]]);
            row[off + 4 * (nb + b)..off + 4 * (nb + b) + 4].copy_from_slice(&s.to_le_bytes());
        }
    }
}

/// Quantizes one activation row into `out` (exactly `row_bytes`, 4-byte aligned).
pub(crate) fn quantize_row_into(qtype: QuantType, x: &[f32], out: &mut [u8]) {
    use crate::reference as r;
    let a = qtype.act_type();
    let nb = x.len() / a.block_len();
    assert_eq!(out.len(), ActBuf::row_bytes(qtype, x.len()), "activation row size");
    assert_eq!(out.as_ptr() as usize % 4, 0, "activation rows must be 4-byte aligned");
    let blocks = &mut out[..nb * a.block_bytes()];
    match a {
        ActType::Q8_0 => r::quantize_q8_0(x, cast_blocks_mut(blocks).unwrap()),
        ActType::Q8_1 => r::quantize_q8_1(x, cast_blocks_mut(blocks).unwrap()),
        ActType::Q8K => {
            // SAFETY: length and alignment checked; every bit pattern is a valid BlockQ8K.
            let kb = unsafe { core::slice::from_raw_parts_mut(blocks.as_mut_ptr() as *mut BlockQ8K, nb) };
            r::quantize_q8_k(x, kb)
        }
        ActType::BF16 => r::quantize_bf16(x, cast_blocks_mut(blocks).unwrap()),
    }
    fill_scales(a, nb, out);
}

/// (block bytes, offset of the quants in a block) of the Q8_0/Q8_1 activation formats.
#[inline(always)]
pub(crate) const fn act_layout(act: ActType) -> (usize, usize) {
    match act {
        ActType::Q8_1 => (36, 4),
        _ => (34, 2),
    }
}

/// Bytes per block of one four-token group in [`pack4`]'s Q8_0/Q8_1 layout.
pub(crate) const PACK4_BLOCK_BYTES: usize = 160;

/// Bytes per 256-element block of one four-token group in [`pack4`]'s Q8_K layout.
pub(crate) const PACK4K_BLOCK_BYTES: usize = 8 * 128 + 16 + 128;

/// Bytes per block of one four-token group for activations of type `act`.
pub(crate) const fn pack4_block_bytes(act: ActType) -> usize {
    match act {
        ActType::Q8K => PACK4K_BLOCK_BYTES,
        _ => PACK4_BLOCK_BYTES,
    }
}

/// How [`pack4`] lays out 32 quants of each of four tokens (128 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pack4 {
    /// For each 8-byte chunk, token pairs (0,1) and (2,3) as
    /// `[8 bytes of token a | 8 of token b]`: `smmla`'s 2×8 operand (i8mm).
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    Smmla,
    /// Each token's 32 bytes in turn: one 256-bit load per token (AVX-512 VNNI).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Rows,
}

/// Writes 32 quants at byte `at` of each of the four `rows` into `o` (128 bytes) in `layout`.
fn put_quants(layout: Pack4, rows: &[&[u8]; 4], at: usize, o: &mut [u8]) {
    match layout {
        Pack4::Smmla => {
            for c in 0..4 {
                for p in 0..2 {
                    for (h, t) in [2 * p, 2 * p + 1].into_iter().enumerate() {
                        o[32 * c + 16 * p + 8 * h..][..8]
                            .copy_from_slice(&rows[t][at + 8 * c..][..8]);
                    }
                }
            }
        }
        Pack4::Rows => {
            for (t, row) in rows.iter().enumerate() {
                o[32 * t..][..32].copy_from_slice(&row[at..][..32]);
            }
        }
    }
}

/// Repacks `m / 4` groups of four quantized activation rows (`rb` bytes
/// each, `nb` blocks) for the 4×4 tiles, which then read one stream instead
/// of four rows plus their scale arrays. Per group and block:
/// - Q8_0/Q8_1 ([`PACK4_BLOCK_BYTES`]): 128 bytes of quants in `layout`
///   (see [`Pack4`]), the four tokens' `d` (f32), then their `s = d·Σq`;
/// - Q8_K ([`PACK4K_BLOCK_BYTES`]): its eight 32-element sub-blocks as
///   128 bytes each in `layout`, the four tokens' `d` (f32), then their sums
///   of quants (i16, for the K-quants' minimum and offset terms): `Smmla`,
///   per 32 and sub-block by sub-block (64 bytes, 64 unused); `Rows`, per
///   16 and token by token (128 bytes).
///
/// Runs once per product, before the weight rows are split between threads.
pub(crate) fn pack4(
    layout: Pack4,
    act: ActType,
    acts: &[u8],
    rb: usize,
    m: usize,
    nb: usize,
    out: &mut Vec<u8>,
) {
    let bb = pack4_block_bytes(act);
    out.clear();
    out.resize(m / 4 * nb * bb, 0);
    for g in 0..m / 4 {
        let rows: [&[u8]; 4] =
            core::array::from_fn(|t| &acts[(4 * g + t) * rb..(4 * g + t + 1) * rb]);
        for i in 0..nb {
            let o = &mut out[(g * nb + i) * bb..][..bb];
            if act == ActType::Q8K {
                pack_q8k_block(layout, &rows, i, o);
            } else {
                pack_q8_block(layout, act, &rows, i, nb, o);
            }
        }
    }
}

fn pack_q8_block(
    layout: Pack4,
    act: ActType,
    rows: &[&[u8]; 4],
    i: usize,
    nb: usize,
    o: &mut [u8],
) {
    let (ab, aq) = act_layout(act);
    let so = scales_offset(act, nb);
    put_quants(layout, rows, i * ab + aq, &mut o[..128]);
    for (t, row) in rows.iter().enumerate() {
        o[128 + 4 * t..][..4].copy_from_slice(&row[so + 4 * i..][..4]);
        o[144 + 4 * t..][..4].copy_from_slice(&row[so + 4 * (nb + i)..][..4]);
    }
}

fn pack_q8k_block(layout: Pack4, rows: &[&[u8]; 4], i: usize, o: &mut [u8]) {
    // BlockQ8K: d (f32), 256 quants, 16 i16 sums of 16 quants each.
    const BYTES: usize = core::mem::size_of::<BlockQ8K>();
    let b0 = i * BYTES;
    for j in 0..8 {
        put_quants(layout, rows, b0 + 4 + 32 * j, &mut o[128 * j..][..128]);
    }
    for (t, row) in rows.iter().enumerate() {
        o[1024 + 4 * t..][..4].copy_from_slice(&row[b0..][..4]);
        let bsum = |k: usize| i16::from_le_bytes([row[b0 + 260 + 2 * k], row[b0 + 261 + 2 * k]]);
        match layout {
            // Sub-block (32) by sub-block, the four tokens' sums side by side:
            // one `smlal` by lane per sub-block serves four tokens.
            Pack4::Smmla => {
                for j in 0..8 {
                    // |Σ of 32 quants| ≤ 32·128: fits an i16.
                    o[1040 + 8 * j + 2 * t..][..2]
                        .copy_from_slice(&(bsum(2 * j) + bsum(2 * j + 1)).to_le_bytes());
                }
            }
            // Token by token, the 16 sums of 16 as they are: `vpmaddwd`
            // against a row's 16 scales (Q6_K) or its paired minimums (Q4_K).
            Pack4::Rows => o[1040 + 32 * t..][..32].copy_from_slice(&row[b0 + 260..][..32]),
        }
    }
}
