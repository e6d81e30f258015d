//! Shared test helpers: a seeded RNG and random/unit-scale block builders.
#![allow(dead_code)]

use mote_kernels::blocks::*;
use mote_kernels::{ActBuf, QuantType};

/// SplitMix64: tiny, seeded, good enough for test data.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i32
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
    /// Activation-like values: mostly small, a few outliers.
    pub fn acts(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|i| self.f32() * if i % 37 == 0 { 8.0 } else { 1.0 }).collect()
    }
}

/// Byte offsets of the f16 scale fields of one block.
pub fn f16_fields(q: QuantType) -> &'static [usize] {
    q.f16_fields()
}

/// `n` bf16 values from `f`, as little-endian bytes.
fn bf16_bytes(n: usize, mut f: impl FnMut() -> f32) -> Vec<u8> {
    (0..n).flat_map(|_| f32_to_bf16(f()).to_le_bytes()).collect()
}

/// Random blocks: arbitrary quant bits, finite scales of mixed sign.
pub fn random_weights(rng: &mut Rng, q: QuantType, nb: usize) -> Vec<u8> {
    if q == QuantType::BF16 {
        // Random bytes would be NaNs and infinities: draw values instead.
        return bf16_bytes(nb * q.block_len(), || rng.f32() * 0.05);
    }
    let mut w = rng.bytes(nb * q.block_bytes());
    for b in 0..nb {
        for &o in f16_fields(q) {
            let v = f32_to_f16_bytes(rng.f32() * 0.05);
            w[b * q.block_bytes() + o..][..2].copy_from_slice(&v);
        }
    }
    w
}

/// Random blocks whose f16 scales are all exactly 1.0, so a dot product is an integer sum.
pub fn unit_weights(rng: &mut Rng, q: QuantType, nb: usize) -> Vec<u8> {
    if q == QuantType::BF16 {
        // No scales: small integers, exact in bf16, keep the dot an exact integer.
        return bf16_bytes(nb * q.block_len(), || rng.range(-16, 16) as f32);
    }
    let mut w = rng.bytes(nb * q.block_bytes());
    for b in 0..nb {
        for &o in f16_fields(q) {
            w[b * q.block_bytes() + o..][..2].copy_from_slice(&f32_to_f16_bytes(1.0));
        }
    }
    w
}

/// `m` rows of unit-scale activation blocks with values in [-lim, lim] (Q8_1 `s` = Σqs, exact in f16 for lim ≤ 60).
pub fn unit_acts(rng: &mut Rng, q: QuantType, cols: usize, m: usize, lim: i32) -> ActBuf {
    let a = q.act_type();
    let mut bytes = vec![0u8; cols / a.block_len() * a.block_bytes() * m];
    for blk in bytes.chunks_exact_mut(a.block_bytes()) {
        match a {
            mote_kernels::ActType::Q8_0 | mote_kernels::ActType::Q8_1 => {
                let off = if a == mote_kernels::ActType::Q8_0 { 2 } else { 4 };
                let mut sum = 0i32;
                for v in &mut blk[off..off + 32] {
                    let x = rng.range(-lim, lim);
                    sum += x;
                    *v = x as i8 as u8;
                }
                blk[0..2].copy_from_slice(&f32_to_f16_bytes(1.0));
                if off == 4 {
                    blk[2..4].copy_from_slice(&f32_to_f16_bytes(sum as f32));
                }
            }
            mote_kernels::ActType::BF16 => {
                let v = bf16_bytes(32, || rng.range(-lim, lim) as f32);
                blk.copy_from_slice(&v);
            }
            mote_kernels::ActType::Q8K => {
                blk[0..4].copy_from_slice(&1.0f32.to_le_bytes());
                let mut sums = [0i16; 16];
                for j in 0..256 {
                    let x = rng.range(-lim, lim);
                    sums[j / 16] += x as i16;
                    blk[4 + j] = x as i8 as u8;
                }
                for (j, s) in sums.iter().enumerate() {
                    blk[260 + 2 * j..262 + 2 * j].copy_from_slice(&s.to_le_bytes());
                }
            }
        }
    }
    ActBuf::from_blocks(q, cols, &bytes)
}

pub fn random_acts(rng: &mut Rng, q: QuantType, cols: usize, m: usize) -> (Vec<f32>, ActBuf) {
    let x = rng.acts(cols * m);
    let mut buf = ActBuf::new();
    buf.quantize(q, &x, m, cols);
    (x, buf)
}

/// Exact integer value of a unit-scale dot product, from the reference block sums.
pub fn unit_int_dot(q: QuantType, w: &[u8], acts: &ActBuf) -> i64 {
    let nb = w.len() / q.block_bytes();
    let a = acts.row_blocks(q, nb * q.block_len(), 0);
    let ab = q.act_type().block_bytes();
    let mut total = 0i64;
    for b in 0..nb {
        let wb = &w[b * q.block_bytes()..(b + 1) * q.block_bytes()];
        let y = &a[b * ab..(b + 1) * ab];
        total += block_int(q, wb, y);
    }
    total
}

fn block_int(q: QuantType, wb: &[u8], y: &[u8]) -> i64 {
    use mote_kernels::reference as r;
    fn c<T: ByteBlock>(b: &[u8]) -> &T {
        &cast_blocks::<T>(b).unwrap()[0]
    }
    let q8k = || {
        let mut blk = BlockQ8K { d: f32::from_le_bytes(y[0..4].try_into().unwrap()), ..Default::default() };
        for j in 0..256 {
            blk.qs[j] = y[4 + j] as i8;
        }
        for j in 0..16 {
            blk.bsums[j] = i16::from_le_bytes([y[260 + 2 * j], y[261 + 2 * j]]);
        }
        blk
    };
    let s_of = |y: &[u8]| f16_bytes_to_f32([y[2], y[3]]) as i64;
    match q {
        QuantType::Q4_0 => r::q4_0_block_int(c(wb), c(y)) as i64,
        QuantType::Q4_1 => r::q4_1_block_int(c(wb), c(y)) as i64 + s_of(y),
        QuantType::Q5_0 => r::q5_0_block_int(c(wb), c(y)) as i64,
        QuantType::Q5_1 => r::q5_1_block_int(c(wb), c(y)) as i64 + s_of(y),
        QuantType::Q8_0 => r::q8_0_block_int(c(wb), c(y)) as i64,
        QuantType::Q4K => {
            let (i, m) = r::q4k_block_ints(c(wb), &q8k());
            i as i64 - m as i64
        }
        QuantType::Q5K => {
            let (i, m) = r::q5k_block_ints(c(wb), &q8k());
            i as i64 - m as i64
        }
        QuantType::Q6K => r::q6k_block_int(c(wb), &q8k()) as i64,
        QuantType::Q2K => {
            let (i, m) = r::q2k_block_ints(c(wb), &q8k());
            i as i64 - m as i64
        }
        QuantType::Q3K => r::q3k_block_int(c(wb), &q8k()) as i64,
        QuantType::IQ4NL => r::iq4nl_block_int(c(wb), c(y)) as i64,
        QuantType::IQ4XS => r::iq4xs_block_int(c(wb), &q8k()) as i64,
        QuantType::BF16 => {
            let v = |b: &[u8], j: usize| bf16_to_f32(u16::from_le_bytes([b[2 * j], b[2 * j + 1]])) as i64;
            (0..32).map(|j| v(wb, j) * v(y, j)).sum()
        }
    }
}

/// Dequantized activation row `row`.
pub fn dequant_acts(q: QuantType, a: &ActBuf, cols: usize, row: usize) -> Vec<f32> {
    use mote_kernels::reference as r;
    let b = a.row_blocks(q, cols, row);
    let mut out = vec![0f32; cols];
    match q.act_type() {
        mote_kernels::ActType::Q8_0 => r::dequantize_q8_0(cast_blocks(b).unwrap(), &mut out),
        mote_kernels::ActType::Q8_1 => r::dequantize_q8_1(cast_blocks(b).unwrap(), &mut out),
        mote_kernels::ActType::BF16 => r::dequantize_bf16(cast_blocks(b).unwrap(), &mut out),
        mote_kernels::ActType::Q8K => {
            for (i, blk) in b.chunks_exact(292).enumerate() {
                let d = f32::from_le_bytes(blk[..4].try_into().unwrap());
                for j in 0..256 {
                    out[i * 256 + j] = blk[4 + j] as i8 as f32 * d;
                }
            }
        }
    }
    out
}

/// Scale of the float rounding error of a dot product: Σ|block results| plus
/// Σ|w·a| per element (SIMD lanes partially sum a block before it is scaled, so
/// cancellation inside a block matters), plus |m|·|a| for the types with a minimum.
pub fn error_scale(q: QuantType, w: &[u8], acts: &ActBuf, row: usize) -> f32 {
    let cols = w.len() / q.block_bytes() * q.block_len();
    let mut wf = vec![0f32; cols];
    mote_kernels::reference::dequantize_bytes(q, w, &mut wf);
    let af = dequant_acts(q, acts, cols, row);
    let mut s: f32 = wf.iter().zip(&af).map(|(x, y)| (x * y).abs()).sum();
    if matches!(q, QuantType::Q4_1 | QuantType::Q5_1) {
        for (b, blk) in w.chunks_exact(q.block_bytes()).enumerate() {
            let m = f16_bytes_to_f32([blk[2], blk[3]]).abs();
            s += af[b * 32..(b + 1) * 32].iter().map(|a| a.abs() * m).sum::<f32>();
        }
    }
    s + abs_block_sum(q, w, acts, row)
}

/// Σ over blocks of |reference dot of that block|.
pub fn abs_block_sum(q: QuantType, w: &[u8], acts: &ActBuf, row: usize) -> f32 {
    let nb = w.len() / q.block_bytes();
    let ab = q.act_type().block_bytes();
    let a = acts.row_blocks(q, nb * q.block_len(), row);
    (0..nb)
        .map(|b| {
            let one = ActBuf::from_blocks(q, q.block_len(), &a[b * ab..(b + 1) * ab]);
            let wb = &w[b * q.block_bytes()..(b + 1) * q.block_bytes()];
            mote_kernels::vec_dot(mote_kernels::Isa::Scalar, q, wb, &one, 0).abs()
        })
        .sum()
}

pub fn assert_close(got: f32, want: f32, scale: f32, rel: f32, what: &str) {
    let tol = rel * scale + 1e-30;
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want}, |diff| {} > tol {tol}",
        (got - want).abs()
    );
}
