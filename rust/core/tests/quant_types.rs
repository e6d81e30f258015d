//! The GGUF tensor types and the kernels agree on ids, geometry and pairing.

use mote_core::gguf::GgmlType;
use mote_core::model::linear::{kernel_type, kernel_type_for};
use mote_kernels::QuantType;

#[test]
fn ggml_ids_and_sizes_match_ggml_h() {
    // (id, type, elements per block, bytes per block) from ggml.h / ggml-common.h.
    let expect = [
        (10, GgmlType::Q2K, 256, 84),
        (11, GgmlType::Q3K, 256, 110),
        (12, GgmlType::Q4K, 256, 144),
        (20, GgmlType::IQ4NL, 32, 18),
        (23, GgmlType::IQ4XS, 256, 136),
        (30, GgmlType::BF16, 1, 2),
    ];
    for (id, t, len, bytes) in expect {
        assert_eq!(GgmlType::from_id(id), Some(t), "id {id}");
        assert_eq!((t.block_len(), t.block_bytes()), (len, bytes), "{t}");
    }
    // Types this build still does not run stay unknown (IQ2_XXS, IQ3_S, TQ1_0).
    for id in [16, 21, 34] {
        assert_eq!(GgmlType::from_id(id), None, "id {id}");
    }
    assert_eq!(GgmlType::IQ4XS.to_string(), "IQ4_XS");
}

#[test]
fn every_kernel_type_has_the_same_row_size_as_the_file() {
    for id in 0..40 {
        let Some(t) = GgmlType::from_id(id) else { continue };
        let Some(q) = kernel_type(t) else { continue };
        for cols in [256, 512, 2048] {
            assert_eq!(q.row_bytes(cols), t.row_bytes(cols), "{t} vs {q:?}, {cols} columns");
        }
    }
    for (t, q) in [
        (GgmlType::Q2K, QuantType::Q2K),
        (GgmlType::Q3K, QuantType::Q3K),
        (GgmlType::IQ4NL, QuantType::IQ4NL),
        (GgmlType::IQ4XS, QuantType::IQ4XS),
        (GgmlType::BF16, QuantType::BF16),
    ] {
        assert_eq!(kernel_type(t), Some(q), "{t}");
    }
}

#[test]
fn bf16_rows_the_kernels_cannot_take_stay_with_candle() {
    // The kernels take BF16 in groups of 32; ggml's BF16 rows can be any width.
    assert_eq!(kernel_type_for(GgmlType::BF16, 64), Some(QuantType::BF16));
    assert_eq!(kernel_type_for(GgmlType::BF16, 33), None);
    assert_eq!(kernel_type_for(GgmlType::F32, 64), None);
    assert_eq!(kernel_type_for(GgmlType::Q2K, 512), Some(QuantType::Q2K));
}
