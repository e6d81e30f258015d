//! The scalar reference against ggml itself: blocks and their dequantized
//! values written by gguf-py (tests/vectors/make_ggml_vectors.py says how),
//! compared bit for bit; then every ISA's dot products on those ggml-checked
//! blocks against an f64 dot of the dequantized values.

mod common;
use common::*;
use mote_kernels::reference::{dequantize_bytes, quantize_weights};
use mote_kernels::{supported_isas, vec_dot, QuantType};

const FILE: &[u8] = include_bytes!("vectors/ggml_dequant.bin");

struct Section {
    q: QuantType,
    blocks: Vec<u8>,
    expected: Vec<f32>,
    sources: Vec<f32>,
}

fn sections() -> Vec<Section> {
    assert_eq!(&FILE[..8], b"MOTEGGV1");
    let mut p = 8;
    let u32_at = |p: &mut usize| {
        let v = u32::from_le_bytes(FILE[*p..*p + 4].try_into().unwrap());
        *p += 4;
        v as usize
    };
    let n = u32_at(&mut p);
    let floats = |bytes: &[u8]| -> Vec<f32> { bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect() };
    let out: Vec<Section> = (0..n)
        .map(|_| {
            let (id, nb, bb, nv, ns) = (u32_at(&mut p), u32_at(&mut p), u32_at(&mut p), u32_at(&mut p), u32_at(&mut p));
            let q = match id {
                10 => QuantType::Q2K,
                11 => QuantType::Q3K,
                20 => QuantType::IQ4NL,
                23 => QuantType::IQ4XS,
                30 => QuantType::BF16,
                _ => panic!("unexpected ggml type {id}"),
            };
            assert_eq!(bb, q.block_bytes(), "{q:?} block size");
            assert_eq!(nv, nb * q.block_len(), "{q:?} value count");
            let blocks = FILE[p..p + nb * bb].to_vec();
            p += nb * bb;
            let expected = floats(&FILE[p..p + 4 * nv]);
            p += 4 * nv;
            let sources = floats(&FILE[p..p + 4 * ns]);
            p += 4 * ns;
            Section { q, blocks, expected, sources }
        })
        .collect();
    assert_eq!(p, FILE.len(), "trailing bytes");
    out
}

#[test]
fn vectors_cover_every_new_type() {
    let got: Vec<QuantType> = sections().iter().map(|s| s.q).collect();
    for q in [QuantType::Q2K, QuantType::Q3K, QuantType::IQ4NL, QuantType::IQ4XS, QuantType::BF16] {
        assert!(got.contains(&q), "{q:?} missing from the vectors");
    }
}

#[test]
fn reference_dequantization_is_bit_exact_with_ggml() {
    for s in sections() {
        let mut out = vec![0f32; s.expected.len()];
        dequantize_bytes(s.q, &s.blocks, &mut out);
        for (i, (g, w)) in out.iter().zip(&s.expected).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{:?} value {i}: got {g:e}, ggml {w:e}", s.q);
        }
    }
}

#[test]
fn bf16_rounding_is_bit_exact_with_ggml() {
    let mut n = 0;
    for s in sections().iter().filter(|s| !s.sources.is_empty()) {
        assert_eq!(quantize_weights(s.q, &s.sources), s.blocks, "{:?}", s.q);
        n += 1;
    }
    assert!(n >= 2, "expected the BF16 sections to carry their f32 inputs");
}

#[test]
fn dots_on_ggml_blocks_equal_the_f64_dot_of_dequantized_values() {
    let mut rng = Rng::new(40);
    for s in sections().iter().filter(|s| s.expected.iter().all(|v| v.is_finite())) {
        let (q, cols) = (s.q, s.expected.len());
        let (_, acts) = random_acts(&mut rng, q, cols, 1);
        let af = dequant_acts(q, &acts, cols, 0);
        let exact: f64 = s.expected.iter().zip(&af).map(|(&w, &a)| w as f64 * a as f64).sum();
        let scale: f64 = s.expected.iter().zip(&af).map(|(&w, &a)| (w as f64 * a as f64).abs()).sum();
        for &isa in supported_isas() {
            let got = vec_dot(isa, q, &s.blocks, &acts, 0) as f64;
            assert!((got - exact).abs() <= 1e-5 * scale, "{isa:?} {q:?}: {got} vs {exact} (scale {scale})");
        }
    }
}
