//! Quantized (ggml/GGUF block format) matrix kernels for on-device inference.
//!
//! Weights stay in their GGUF bytes; activations are quantized per call to the
//! Q8 format llama.cpp pairs with each weight type, and the integer dot products
//! run on the best instruction set the CPU offers, chosen at run time.

// `is_multiple_of` needs Rust 1.87; the workspace MSRV is 1.85.
#![allow(clippy::manual_is_multiple_of)]

mod acts;
pub mod blocks;
mod dispatch;
mod error;
mod matrix;
pub mod ops;
mod pool;
pub mod quantize;
pub mod reference;
mod topology;

#[cfg(target_arch = "x86_64")]
pub mod x86;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;

pub use acts::ActBuf;
pub use dispatch::{isa, supported_isas, vec_dot};
pub use error::KernelError;
pub use matrix::QMatrix;
pub use pool::ThreadPool;
pub use reference::{quantize_q8_0, quantize_q8_1, quantize_q8_k};
pub use topology::{Cluster, CoreKind, CpuTopology, TopologySource};

/// One weight row · one activation row: `nb` blocks of weights at `w`, the
/// matching activation blocks at `a`.
pub(crate) type DotFn = unsafe fn(nb: usize, w: *const u8, a: *const u8) -> f32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantType {
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
    Q2K,
    Q3K,
    IQ4NL,
    IQ4XS,
    /// Unquantized bf16 weights, taken 32 at a time (see [`blocks::BlockBF16`]).
    BF16,
}

/// Activation formats, each the partner of some weight types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActType {
    Q8_0,
    Q8_1,
    Q8K,
    /// bf16 activations for BF16 weights, as ggml's `vec_dot_bf16` takes them:
    /// the product of two bf16 values is exact in f32, so the kernels are plain
    /// widening FMAs and their results track llama.cpp's, while the activation
    /// rounding (2⁻⁹ relative) is smaller than any Q8 format's.
    BF16,
}

impl ActType {
    pub fn block_len(self) -> usize {
        match self {
            ActType::Q8_0 | ActType::Q8_1 | ActType::BF16 => blocks::QK,
            ActType::Q8K => blocks::QK_K,
        }
    }
    pub fn block_bytes(self) -> usize {
        match self {
            ActType::Q8_0 => core::mem::size_of::<blocks::BlockQ8_0>(),
            ActType::Q8_1 => core::mem::size_of::<blocks::BlockQ8_1>(),
            ActType::Q8K => core::mem::size_of::<blocks::BlockQ8K>(),
            ActType::BF16 => core::mem::size_of::<blocks::BlockBF16>(),
        }
    }
}

impl QuantType {
    pub const ALL: [QuantType; 13] = [
        QuantType::Q4_0,
        QuantType::Q4_1,
        QuantType::Q5_0,
        QuantType::Q5_1,
        QuantType::Q8_0,
        QuantType::Q4K,
        QuantType::Q5K,
        QuantType::Q6K,
        QuantType::Q2K,
        QuantType::Q3K,
        QuantType::IQ4NL,
        QuantType::IQ4XS,
        QuantType::BF16,
    ];

    /// Elements per block.
    pub fn block_len(self) -> usize {
        match self {
            QuantType::Q4K | QuantType::Q5K | QuantType::Q6K | QuantType::Q2K | QuantType::Q3K | QuantType::IQ4XS => {
                blocks::QK_K
            }
            QuantType::Q4_0
            | QuantType::Q4_1
            | QuantType::Q5_0
            | QuantType::Q5_1
            | QuantType::Q8_0
            | QuantType::IQ4NL
            | QuantType::BF16 => blocks::QK,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        use core::mem::size_of;
        match self {
            QuantType::Q4_0 => size_of::<blocks::BlockQ4_0>(),
            QuantType::Q4_1 => size_of::<blocks::BlockQ4_1>(),
            QuantType::Q5_0 => size_of::<blocks::BlockQ5_0>(),
            QuantType::Q5_1 => size_of::<blocks::BlockQ5_1>(),
            QuantType::Q8_0 => size_of::<blocks::BlockQ8_0>(),
            QuantType::Q4K => size_of::<blocks::BlockQ4K>(),
            QuantType::Q5K => size_of::<blocks::BlockQ5K>(),
            QuantType::Q6K => size_of::<blocks::BlockQ6K>(),
            QuantType::Q2K => size_of::<blocks::BlockQ2K>(),
            QuantType::Q3K => size_of::<blocks::BlockQ3K>(),
            QuantType::IQ4NL => size_of::<blocks::BlockIQ4NL>(),
            QuantType::IQ4XS => size_of::<blocks::BlockIQ4XS>(),
            QuantType::BF16 => size_of::<blocks::BlockBF16>(),
        }
    }

    /// Bytes of one row of `cols` elements; `None` if `cols` is not a whole number of blocks.
    pub fn row_bytes(self, cols: usize) -> Option<usize> {
        if cols % self.block_len() != 0 {
            return None;
        }
        (cols / self.block_len()).checked_mul(self.block_bytes())
    }

    /// The activation format llama.cpp pairs with this weight type.
    pub fn act_type(self) -> ActType {
        match self {
            QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 | QuantType::IQ4NL => ActType::Q8_0,
            QuantType::Q4_1 | QuantType::Q5_1 => ActType::Q8_1,
            QuantType::Q4K | QuantType::Q5K | QuantType::Q6K | QuantType::Q2K | QuantType::Q3K | QuantType::IQ4XS => {
                ActType::Q8K
            }
            QuantType::BF16 => ActType::BF16,
        }
    }

    /// Byte offsets of the f16 scale fields in one block (`d`, then `dmin`/`m`
    /// where the type has one). Lets tests and benchmarks put finite scales
    /// into otherwise random blocks; BF16 has none.
    pub fn f16_fields(self) -> &'static [usize] {
        match self {
            QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 | QuantType::IQ4NL | QuantType::IQ4XS => &[0],
            QuantType::Q4_1 | QuantType::Q5_1 | QuantType::Q4K | QuantType::Q5K => &[0, 2],
            QuantType::Q6K => &[208],
            QuantType::Q2K => &[80, 82],
            QuantType::Q3K => &[108],
            QuantType::BF16 => &[],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    Scalar,
    Avx2,
    /// AVX2 plus AVX-512 (F, BW, VL, VNNI) on 256-bit registers: `vpdpbusd`
    /// for the prefill tiles; every other kernel is the AVX2 one.
    Avx512Vnni,
    Neon,
    NeonDotprod,
    NeonI8mm,
}

impl Isa {
    /// True for the x86-64 levels.
    pub fn is_x86(self) -> bool {
        matches!(self, Isa::Avx2 | Isa::Avx512Vnni)
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512Vnni => "avx512vnni",
            Isa::Neon => "neon",
            Isa::NeonDotprod => "dotprod",
            Isa::NeonI8mm => "i8mm",
        }
    }
}
