//! x86-64 kernels. Only reachable through `dispatch` after run-time detection
//! of AVX2, FMA and F16C (and AVX-512 VNNI for `avx512_vnni`); nothing here is
//! compiled with a raised baseline.

pub mod avx2_bf16;
pub mod avx2_gemm;
pub mod avx2_kquants;
pub mod avx2_legacy;
pub mod avx512_vnni;
pub mod avx512_vnni_kquants;
mod util;

use crate::{DotFn, QuantType};

pub(crate) fn dot_fn(qtype: QuantType) -> Option<DotFn> {
    Some(match qtype {
        QuantType::Q4_0 => avx2_legacy::vec_dot_q4_0,
        QuantType::Q4_1 => avx2_legacy::vec_dot_q4_1,
        QuantType::Q5_0 => avx2_legacy::vec_dot_q5_0,
        QuantType::Q5_1 => avx2_legacy::vec_dot_q5_1,
        QuantType::Q8_0 => avx2_legacy::vec_dot_q8_0,
        QuantType::Q4K => avx2_kquants::vec_dot_q4k,
        QuantType::Q5K => avx2_kquants::vec_dot_q5k,
        QuantType::Q6K => avx2_kquants::vec_dot_q6k,
        QuantType::Q2K => avx2_kquants::vec_dot_q2k,
        QuantType::Q3K => avx2_kquants::vec_dot_q3k,
        QuantType::IQ4NL => avx2_legacy::vec_dot_iq4nl,
        QuantType::IQ4XS => avx2_kquants::vec_dot_iq4xs,
        QuantType::BF16 => avx2_bf16::vec_dot_bf16,
    })
}

pub(crate) fn tile4_fn(qtype: QuantType) -> Option<crate::dispatch::Tile4Fn> {
    Some(match qtype {
        QuantType::Q4_0 => avx2_gemm::tile4_q4_0,
        QuantType::Q4_1 => avx2_gemm::tile4_q4_1,
        QuantType::Q5_0 => avx2_gemm::tile4_q5_0,
        QuantType::Q5_1 => avx2_gemm::tile4_q5_1,
        QuantType::Q8_0 => avx2_gemm::tile4_q8_0,
        QuantType::Q4K => avx2_kquants::tile4_q4k,
        QuantType::Q6K => avx2_kquants::tile4_q6k,
        QuantType::IQ4NL => avx2_gemm::tile4_iq4nl,
        QuantType::Q2K => avx2_kquants::tile4_q2k,
        QuantType::Q3K => avx2_kquants::tile4_q3k,
        QuantType::IQ4XS => avx2_kquants::tile4_iq4xs,
        QuantType::BF16 => avx2_bf16::tile4_bf16,
        QuantType::Q5K => return None,
    })
}

pub(crate) fn tile4x4_fn(qtype: QuantType) -> Option<crate::dispatch::Tile4x4Fn> {
    Some(match qtype {
        QuantType::Q4_0 => avx512_vnni::tile4x4_q4_0,
        QuantType::Q4_1 => avx512_vnni::tile4x4_q4_1,
        QuantType::Q5_0 => avx512_vnni::tile4x4_q5_0,
        QuantType::Q5_1 => avx512_vnni::tile4x4_q5_1,
        QuantType::Q8_0 => avx512_vnni::tile4x4_q8_0,
        QuantType::IQ4NL => avx512_vnni::tile4x4_iq4nl,
        QuantType::Q4K => avx512_vnni_kquants::tile4x4_q4k,
        QuantType::Q6K => avx512_vnni_kquants::tile4x4_q6k,
        _ => return None,
    })
}
