//! The scalar reference against plain f32 arithmetic, and format round trips.

mod common;
use common::*;
use mote_kernels::blocks::*;
use mote_kernels::reference::{dequantize_bytes, quantize_weights};
use mote_kernels::{vec_dot, ActType, Isa, QuantType};

#[test]
fn reference_dot_equals_f32_dot_of_dequantized_values() {
    let mut rng = Rng::new(10);
    for q in QuantType::ALL {
        for nb in [1, 3, 8] {
            let cols = nb * q.block_len();
            let w = random_weights(&mut rng, q, nb);
            let (_, a) = random_acts(&mut rng, q, cols, 1);
            let mut wf = vec![0f32; cols];
            dequantize_bytes(q, &w, &mut wf);
            let af = dequant_acts(q, &a, cols, 0);
            let exact: f64 = wf.iter().zip(&af).map(|(&x, &y)| x as f64 * y as f64).sum();
            let scale: f64 = wf.iter().zip(&af).map(|(&x, &y)| (x as f64 * y as f64).abs()).sum();
            let got = vec_dot(Isa::Scalar, q, &w, &a, 0) as f64;
            // Q8_1's s is rounded to f16 (as in ggml), so Q4_1/Q5_1 differ by up to ~1e-3 of |m·Σa|.
            let rel = if q.act_type() == ActType::Q8_1 { 2e-3 } else { 1e-5 };
            assert!((got - exact).abs() <= rel * scale + 1e-9, "{q:?} nb={nb}: {got} vs {exact} (scale {scale})");
        }
    }
}

#[test]
fn quantized_dot_approximates_the_float_dot() {
    let mut rng = Rng::new(11);
    for q in QuantType::ALL {
        let cols = 4 * 256;
        let wf: Vec<f32> = (0..cols).map(|_| rng.f32()).collect();
        let w = quantize_weights(q, &wf);
        let (x, a) = random_acts(&mut rng, q, cols, 1);
        let exact: f32 = wf.iter().zip(&x).map(|(a, b)| a * b).sum();
        let norm = (wf.iter().map(|v| v * v).sum::<f32>() * x.iter().map(|v| v * v).sum::<f32>()).sqrt();
        let got = vec_dot(Isa::Scalar, q, &w, &a, 0);
        assert!((got - exact).abs() < 0.1 * norm, "{q:?}: {got} vs {exact} (norm {norm})");
    }
}

#[test]
fn dequantize_round_trip_error_is_bounded_by_the_step() {
    let mut rng = Rng::new(12);
    // Worst-case |x − deq(q(x))| relative to the block's max |x|, with slack for
    // scale rounding. Q4_0/Q5_0 lose a whole step at the clipped end of their
    // asymmetric range ([-8, 7] / [-16, 15] / Q6_K [-32, 31]).
    let bound = |q: QuantType| match q {
        QuantType::Q8_0 => 0.006,
        QuantType::Q4_0 => 0.13,
        QuantType::Q5_0 => 0.07,
        QuantType::Q5_1 | QuantType::Q5K => 0.05,
        QuantType::Q6K => 0.035,
        QuantType::Q2K => 0.45,
        QuantType::Q3K => 0.3,
        QuantType::IQ4NL | QuantType::IQ4XS => 0.13,
        QuantType::BF16 => 0.004,
        QuantType::Q4_1 | QuantType::Q4K => 0.1,
    };
    for q in QuantType::ALL {
        let n = 8 * 256;
        let x: Vec<f32> = (0..n).map(|_| rng.f32() * 2.0).collect();
        let w = quantize_weights(q, &x);
        assert_eq!(w.len(), q.row_bytes(n).unwrap());
        let mut back = vec![0f32; n];
        dequantize_bytes(q, &w, &mut back);
        let max_err = x.iter().zip(&back).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(max_err <= bound(q) * 2.0, "{q:?}: max error {max_err}");
        // And the re-quantized dequantized values reproduce the same bytes (a fixed point) for Q8_0.
        if q == QuantType::Q8_0 {
            assert_eq!(quantize_weights(q, &back), w);
        }
    }
}

#[test]
fn q8_activation_quantizers_follow_ggml() {
    let x: Vec<f32> = (0..32).map(|i| (i as f32 - 10.5) * 0.25).collect();
    let mut b = [BlockQ8_0::default()];
    mote_kernels::quantize_q8_0(&x, &mut b);
    // amax = 5.125 (element 31) maps to 127; element 0 = −2.625 → −65.04 → −65.
    assert_eq!(b[0].qs[31], 127);
    assert_eq!(b[0].qs[0], -65);
    assert_eq!(b[0].d, f32_to_f16_bytes(5.125 / 127.0));
    let mut b1 = [BlockQ8_1::default()];
    mote_kernels::quantize_q8_1(&x, &mut b1);
    let sum: i32 = b1[0].qs.iter().map(|&q| q as i32).sum();
    assert_eq!(b1[0].qs, b[0].qs);
    assert_eq!(b1[0].s, f32_to_f16_bytes(5.125 / 127.0 * sum as f32));

    // Q8_K: the signed max maps to −127, d is negative then, bsums are the 16-sums.
    let mut xk: Vec<f32> = (0..256).map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0).collect();
    xk[5] = 3.0;
    let mut k = [BlockQ8K::default()];
    mote_kernels::quantize_q8_k(&xk, &mut k);
    assert_eq!(k[0].qs[5], -127);
    assert!((k[0].d + 3.0 / 127.0).abs() < 1e-7);
    for j in 0..16 {
        assert_eq!(k[0].bsums[j] as i32, k[0].qs[16 * j..16 * j + 16].iter().map(|&q| q as i32).sum::<i32>());
    }
    let mut z = [BlockQ8K::default()];
    mote_kernels::quantize_q8_k(&[0.0; 256], &mut z);
    assert_eq!(z[0].d, 0.0);
}

#[test]
fn f16_conversion_round_trips_every_value() {
    for h in 0..=u16::MAX {
        let f = f16_to_f32(h);
        if f.is_nan() {
            assert!(f16_to_f32(f32_to_f16(f)).is_nan());
        } else {
            assert_eq!(f32_to_f16(f), h, "{h:#06x} -> {f}");
        }
    }
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds to +inf
    assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00); // tie → even
    assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02); // tie → even (up)
    assert_eq!(f32_to_f16(2f32.powi(-25) * 1.5), 0x0001); // subnormal rounding
}

#[test]
fn k_scales_pack_unpack() {
    let mut rng = Rng::new(13);
    for _ in 0..100 {
        let sc: [u8; 8] = core::array::from_fn(|_| rng.range(0, 63) as u8);
        let mn: [u8; 8] = core::array::from_fn(|_| rng.range(0, 63) as u8);
        assert_eq!(unpack_k_scales(&pack_k_scales(&sc, &mn)), (sc, mn));
    }
}

#[test]
fn block_sizes_match_ggml() {
    let expect = [(QuantType::Q4_0, 32, 18), (QuantType::Q4_1, 32, 20), (QuantType::Q5_0, 32, 22),
        (QuantType::Q5_1, 32, 24), (QuantType::Q8_0, 32, 34), (QuantType::Q4K, 256, 144),
        (QuantType::Q5K, 256, 176), (QuantType::Q6K, 256, 210), (QuantType::Q2K, 256, 84),
        (QuantType::Q3K, 256, 110), (QuantType::IQ4NL, 32, 18), (QuantType::IQ4XS, 256, 136),
        // ggml's BF16 is 2 bytes per element with no blocks; ours groups 32.
        (QuantType::BF16, 32, 64)];
    for (q, len, bytes) in expect {
        assert_eq!((q.block_len(), q.block_bytes()), (len, bytes), "{q:?}");
        assert_eq!(q.row_bytes(len * 3), Some(bytes * 3));
        assert_eq!(q.row_bytes(len + 1), None);
    }
}

#[test]
fn q3k_and_iq4xs_scales_pack_unpack() {
    let mut rng = Rng::new(14);
    for _ in 0..100 {
        let sc: [i8; 16] = core::array::from_fn(|_| rng.range(-32, 31) as i8);
        assert_eq!(unpack_q3k_scales(&pack_q3k_scales(&sc)), sc);
    }
    // Every byte pattern unpacks into the 6-bit range, and re-packs to itself.
    for _ in 0..100 {
        let b: [u8; 12] = rng.bytes(12).try_into().unwrap();
        let sc = unpack_q3k_scales(&b);
        assert!(sc.iter().all(|&v| (-32..=31).contains(&v)));
        assert_eq!(pack_q3k_scales(&sc), b);
    }
    // IQ4_XS: sub-block 3 = low nibble of scales_l[1] >> 4, bits 6..8 of scales_h.
    let s = unpack_iq4xs_scales(0b11_00_0000u16.to_le_bytes(), &[0, 0xa0, 0, 0]);
    assert_eq!(s[3], (0xa | (3 << 4)) - 32);
    assert_eq!(s[0], -32);
}

#[test]
fn bf16_conversion_rounds_to_nearest_even() {
    assert_eq!(f32_to_bf16(1.0), 0x3f80);
    assert_eq!(bf16_to_f32(0x3f80), 1.0);
    assert_eq!(f32_to_bf16(1.0 + 2f32.powi(-8)), 0x3f80); // tie → even (down)
    assert_eq!(f32_to_bf16(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82); // tie → even (up)
    assert_eq!(f32_to_bf16(f32::MAX), 0x7f80); // rounds to +inf
    assert_eq!(f32_to_bf16(-0.0), 0x8000);
    assert_eq!(f32_to_bf16(f32::from_bits(0x7f80_0001)) & 0x7fc0, 0x7fc0); // NaN stays NaN, made quiet
    for h in 0..=u16::MAX {
        let f = bf16_to_f32(h);
        if !f.is_nan() {
            assert_eq!(f32_to_bf16(f), h, "{h:#06x}");
        }
    }
}
