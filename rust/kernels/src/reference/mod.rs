//! Scalar reference implementations: the numerical specification every SIMD
//! path is tested against, and the fallback on CPUs without SIMD support.

mod activations;
mod dequant;
mod dot;
mod quantize_weights;

pub use activations::*;
pub use dequant::*;
pub use dot::*;
pub use quantize_weights::*;

use crate::blocks::*;
use crate::QuantType;

/// Byte-level entry point in the shape every ISA table uses.
///
/// # Safety
/// `w` must hold `nb` blocks of `qtype` and `a` the matching activation blocks
/// (`a` 4-byte aligned for Q8_K).
pub(crate) unsafe fn dot_raw(qtype: QuantType, nb: usize, w: *const u8, a: *const u8) -> f32 {
    use core::slice::from_raw_parts as sl;
    match qtype {
        QuantType::Q4_0 => vec_dot_q4_0(sl(w as *const BlockQ4_0, nb), sl(a as *const BlockQ8_0, nb)),
        QuantType::Q4_1 => vec_dot_q4_1(sl(w as *const BlockQ4_1, nb), sl(a as *const BlockQ8_1, nb)),
        QuantType::Q5_0 => vec_dot_q5_0(sl(w as *const BlockQ5_0, nb), sl(a as *const BlockQ8_0, nb)),
        QuantType::Q5_1 => vec_dot_q5_1(sl(w as *const BlockQ5_1, nb), sl(a as *const BlockQ8_1, nb)),
        QuantType::Q8_0 => vec_dot_q8_0(sl(w as *const BlockQ8_0, nb), sl(a as *const BlockQ8_0, nb)),
        QuantType::Q4K => vec_dot_q4k(sl(w as *const BlockQ4K, nb), sl(a as *const BlockQ8K, nb)),
        QuantType::Q5K => vec_dot_q5k(sl(w as *const BlockQ5K, nb), sl(a as *const BlockQ8K, nb)),
        QuantType::Q6K => vec_dot_q6k(sl(w as *const BlockQ6K, nb), sl(a as *const BlockQ8K, nb)),
        QuantType::Q2K => vec_dot_q2k(sl(w as *const BlockQ2K, nb), sl(a as *const BlockQ8K, nb)),
        QuantType::Q3K => vec_dot_q3k(sl(w as *const BlockQ3K, nb), sl(a as *const BlockQ8K, nb)),
        QuantType::IQ4NL => vec_dot_iq4nl(sl(w as *const BlockIQ4NL, nb), sl(a as *const BlockQ8_0, nb)),
        QuantType::IQ4XS => vec_dot_iq4xs(sl(w as *const BlockIQ4XS, nb), sl(a as *const BlockQ8K, nb)),
        QuantType::BF16 => vec_dot_bf16(sl(w as *const BlockBF16, nb), sl(a as *const BlockBF16, nb)),
    }
}

macro_rules! ref_dot_fns {
    ($($name:ident => $qt:ident),*) => {$(
        pub(crate) unsafe fn $name(nb: usize, w: *const u8, a: *const u8) -> f32 {
            dot_raw(QuantType::$qt, nb, w, a)
        }
    )*};
}
ref_dot_fns!(q4_0 => Q4_0, q4_1 => Q4_1, q5_0 => Q5_0, q5_1 => Q5_1, q8_0 => Q8_0, q4k => Q4K, q5k => Q5K, q6k => Q6K,
    q2k => Q2K, q3k => Q3K, iq4nl => IQ4NL, iq4xs => IQ4XS, bf16 => BF16);

pub(crate) fn dot_fn(qtype: QuantType) -> crate::DotFn {
    match qtype {
        QuantType::Q4_0 => q4_0,
        QuantType::Q4_1 => q4_1,
        QuantType::Q5_0 => q5_0,
        QuantType::Q5_1 => q5_1,
        QuantType::Q8_0 => q8_0,
        QuantType::Q4K => q4k,
        QuantType::Q5K => q5k,
        QuantType::Q6K => q6k,
        QuantType::Q2K => q2k,
        QuantType::Q3K => q3k,
        QuantType::IQ4NL => iq4nl,
        QuantType::IQ4XS => iq4xs,
        QuantType::BF16 => bf16,
    }
}

/// Dequantizes a byte row of `qtype` into `out` (whose length fixes the element count).
pub fn dequantize_bytes(qtype: QuantType, w: &[u8], out: &mut [f32]) {
    fn c<T: ByteBlock>(w: &[u8]) -> &[T] {
        cast_blocks(w).expect("dequantize_bytes: not a whole number of blocks")
    }
    match qtype {
        QuantType::Q4_0 => dequantize_q4_0(c(w), out),
        QuantType::Q4_1 => dequantize_q4_1(c(w), out),
        QuantType::Q5_0 => dequantize_q5_0(c(w), out),
        QuantType::Q5_1 => dequantize_q5_1(c(w), out),
        QuantType::Q8_0 => dequantize_q8_0(c(w), out),
        QuantType::Q4K => dequantize_q4k(c(w), out),
        QuantType::Q5K => dequantize_q5k(c(w), out),
        QuantType::Q6K => dequantize_q6k(c(w), out),
        QuantType::Q2K => dequantize_q2k(c(w), out),
        QuantType::Q3K => dequantize_q3k(c(w), out),
        QuantType::IQ4NL => dequantize_iq4nl(c(w), out),
        QuantType::IQ4XS => dequantize_iq4xs(c(w), out),
        QuantType::BF16 => dequantize_bf16(c(w), out),
    }
}

/// Quantizes f32 weights with the simple quantizers above into ggml bytes.
pub fn quantize_weights(qtype: QuantType, x: &[f32]) -> Vec<u8> {
    match qtype {
        QuantType::Q4_0 => as_bytes(&quantize_q4_0(x)).to_vec(),
        QuantType::Q4_1 => as_bytes(&quantize_q4_1(x)).to_vec(),
        QuantType::Q5_0 => as_bytes(&quantize_q5_0(x)).to_vec(),
        QuantType::Q5_1 => as_bytes(&quantize_q5_1(x)).to_vec(),
        QuantType::Q8_0 => as_bytes(&quantize_q8_0_weights(x)).to_vec(),
        QuantType::Q4K => as_bytes(&quantize_q4k(x)).to_vec(),
        QuantType::Q5K => as_bytes(&quantize_q5k(x)).to_vec(),
        QuantType::Q6K => as_bytes(&quantize_q6k(x)).to_vec(),
        QuantType::Q2K => as_bytes(&quantize_q2k(x)).to_vec(),
        QuantType::Q3K => as_bytes(&quantize_q3k(x)).to_vec(),
        QuantType::IQ4NL => as_bytes(&quantize_iq4nl(x)).to_vec(),
        QuantType::IQ4XS => as_bytes(&quantize_iq4xs(x)).to_vec(),
        QuantType::BF16 => as_bytes(&quantize_bf16_weights(x)).to_vec(),
    }
}
