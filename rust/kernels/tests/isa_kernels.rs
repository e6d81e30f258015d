//! Every optimised dot kernel against the scalar reference, on every ISA this
//! CPU (or emulator) supports, not only the one `isa()` picks.

mod common;
use common::*;
use mote_kernels::{isa, supported_isas, vec_dot, Isa, QuantType};

const BLOCK_COUNTS: [usize; 7] = [1, 2, 3, 7, 8, 17, 40];

fn optimized_isas() -> Vec<Isa> {
    supported_isas().iter().copied().filter(|&i| i != Isa::Scalar).collect()
}

#[test]
fn integer_part_is_bit_exact() {
    // With every scale 1.0 the float result is an integer sum below 2^24, so any
    // difference in the integer kernels shows up as an exact mismatch.
    let mut rng = Rng::new(1);
    for &isa in supported_isas() {
        for q in QuantType::ALL {
            for nb in BLOCK_COUNTS {
                let cols = nb * q.block_len();
                let w = unit_weights(&mut rng, q, nb);
                for lim in [60, 127] {
                    if lim > 60 && q.act_type() == mote_kernels::ActType::Q8_1 {
                        continue; // s = Σqs must stay exact in f16
                    }
                    let a = unit_acts(&mut rng, q, cols, 1, lim);
                    let want = unit_int_dot(q, &w, &a);
                    assert!(want.abs() < 1 << 24, "test data too large");
                    let got = vec_dot(isa, q, &w, &a, 0);
                    assert_eq!(got, want as f32, "{isa:?} {q:?} nb={nb} lim={lim}");
                }
            }
        }
    }
}

#[test]
fn random_blocks_match_reference() {
    let mut rng = Rng::new(2);
    for isa in optimized_isas() {
        for q in QuantType::ALL {
            for nb in BLOCK_COUNTS {
                for _ in 0..4 {
                    let cols = nb * q.block_len();
                    let w = random_weights(&mut rng, q, nb);
                    let (_, a) = random_acts(&mut rng, q, cols, 1);
                    let want = vec_dot(Isa::Scalar, q, &w, &a, 0);
                    let got = vec_dot(isa, q, &w, &a, 0);
                    let scale = error_scale(q, &w, &a, 0);
                    assert_close(got, want, scale, 1e-5, &format!("{isa:?} {q:?} nb={nb}"));
                }
            }
        }
    }
}

#[test]
fn extreme_values_do_not_saturate() {
    // Largest-magnitude codes everywhere: catches i16 saturation in pairwise
    // multiply-adds and sign handling of −128 / −127.
    for &isa in supported_isas() {
        // BF16 has no integer path to saturate, and these fills would be NaN / huge floats.
        for q in QuantType::ALL.into_iter().filter(|&q| q != QuantType::BF16) {
            for fill in [0x00u8, 0xff, 0x80, 0x7f] {
                let nb = 3;
                let cols = nb * q.block_len();
                let mut w = vec![fill; nb * q.block_bytes()];
                for b in 0..nb {
                    for &o in f16_fields(q) {
                        w[b * q.block_bytes() + o..][..2].copy_from_slice(&mote_kernels::blocks::f32_to_f16_bytes(1.0));
                    }
                }
                let mut rng = Rng::new(fill as u64);
                for lim in [127, 60] {
                    let a = unit_acts(&mut rng, q, cols, 1, lim);
                    let want = unit_int_dot(q, &w, &a);
                    assert_eq!(vec_dot(isa, q, &w, &a, 0), want as f32, "{isa:?} {q:?} fill={fill:#x}");
                }
            }
        }
    }
}

#[test]
fn forced_isa_env_is_honoured() {
    // isa() is fixed at first use, so this only checks consistency with the variable.
    let chosen = isa();
    assert!(supported_isas().contains(&chosen));
    match std::env::var("MOTE_KERNELS_ISA").as_deref() {
        Ok("scalar") => assert_eq!(chosen, Isa::Scalar),
        Ok(_) => {}
        Err(_) => assert_eq!(chosen, *supported_isas().last().unwrap()),
    }
}

#[test]
fn expected_isas_are_detected() {
    // CI (scripts/test-kernels-aarch64.sh) states which ISAs the emulated CPU must
    // expose, so a detection regression cannot silently skip the SIMD paths.
    if let Ok(list) = std::env::var("MOTE_KERNELS_EXPECT_ISAS") {
        let names: Vec<&str> = supported_isas().iter().map(|i| i.name()).collect();
        assert_eq!(names.join(","), list);
    }
}
