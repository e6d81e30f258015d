//! Run-time ISA selection and the per-ISA kernel tables.

use crate::acts::{ActBuf, Pack4};
use crate::{DotFn, Isa, QuantType};
use std::sync::OnceLock;

/// Every ISA this CPU can run, weakest first (always starts with `Scalar`).
pub fn supported_isas() -> &'static [Isa] {
    static S: OnceLock<Vec<Isa>> = OnceLock::new();
    S.get_or_init(detect)
}

fn detect() -> Vec<Isa> {
    #[allow(unused_mut)]
    let mut v = vec![Isa::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
            v.push(Isa::Avx2);
            // Only instructions the OS has enabled state for are reported
            // (AVX-512 needs XCR0's opmask/ZMM bits), unlike raw cpuid.
            let avx512 = is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw");
            if avx512 && is_x86_feature_detected!("avx512vl") && is_x86_feature_detected!("avx512vnni") {
                v.push(Isa::Avx512Vnni);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use std::arch::is_aarch64_feature_detected as has;
        if has!("neon") {
            v.push(Isa::Neon);
            if has!("dotprod") {
                v.push(Isa::NeonDotprod);
                // Our i8mm level also runs the dotprod GEMV kernels.
                if has!("i8mm") {
                    v.push(Isa::NeonI8mm);
                }
            }
        }
    }
    v
}

/// The ISA used by default: the best supported one, or `MOTE_KERNELS_ISA`
/// (scalar|avx2|avx512vnni|neon|dotprod|i8mm) clamped to what the CPU supports.
pub fn isa() -> Isa {
    static I: OnceLock<Isa> = OnceLock::new();
    *I.get_or_init(|| {
        let best = *supported_isas().last().unwrap();
        match std::env::var("MOTE_KERNELS_ISA") {
            Ok(s) => clamp_request(&s, supported_isas()).unwrap_or(best),
            Err(_) => best,
        }
    })
}

/// Maps a requested level onto the strongest supported ISA not above it.
/// Unknown names yield `None`; a level from the other architecture means "best".
pub(crate) fn clamp_request(s: &str, supported: &[Isa]) -> Option<Isa> {
    let want = match s.trim().to_ascii_lowercase().as_str() {
        "scalar" => Isa::Scalar,
        "avx2" => Isa::Avx2,
        "avx512vnni" => Isa::Avx512Vnni,
        "neon" => Isa::Neon,
        "dotprod" => Isa::NeonDotprod,
        "i8mm" => Isa::NeonI8mm,
        _ => return None,
    };
    let best = *supported.last()?;
    let same_family = |i: Isa| matches!(i, Isa::Scalar) || i.is_x86() == want.is_x86();
    if want != Isa::Scalar && !supported.iter().any(|&i| i != Isa::Scalar && same_family(i)) {
        return Some(best);
    }
    supported.iter().rev().copied().find(|&i| i <= want && same_family(i))
}

/// The row-dot kernel for `qtype` on `isa` (falling back to a weaker ISA's
/// kernel where a type has no specialised one).
pub(crate) fn dot_fn(isa: Isa, qtype: QuantType) -> DotFn {
    match isa {
        Isa::Scalar => crate::reference::dot_fn(qtype),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512Vnni => crate::x86::dot_fn(qtype).unwrap_or_else(|| crate::reference::dot_fn(qtype)),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon | Isa::NeonDotprod | Isa::NeonI8mm => {
            crate::aarch64::dot_fn(isa, qtype).unwrap_or_else(|| crate::reference::dot_fn(qtype))
        }
        #[allow(unreachable_patterns)]
        _ => panic!("ISA {isa:?} does not exist on this architecture"),
    }
}

/// 2 weight rows × 2 activation rows → `[r0·a0, r0·a1, r1·a0, r1·a1]`.
pub(crate) type TileFn = unsafe fn(nb: usize, w0: *const u8, w1: *const u8, a0: *const u8, a1: *const u8) -> [f32; 4];

pub(crate) fn tile_fn(isa: Isa, qtype: QuantType) -> Option<TileFn> {
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::NeonI8mm {
        return crate::aarch64::tile_fn(qtype);
    }
    let _ = (isa, qtype);
    None
}

/// 4 weight rows (`w`, `w + ws`, …) × 4 tokens packed by `acts::pack4` → `out[4·row + token]`.
pub(crate) type Tile4x4Fn = unsafe fn(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 16];

/// The 4×4 tile for `qtype` on `isa`, with the activation packing it reads.
pub(crate) fn tile4x4_fn(isa: Isa, qtype: QuantType) -> Option<(Tile4x4Fn, Pack4)> {
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::NeonI8mm {
        return crate::aarch64::tile4x4_fn(qtype).map(|f| (f, Pack4::Smmla));
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni {
        return crate::x86::tile4x4_fn(qtype).map(|f| (f, Pack4::Rows));
    }
    let _ = (isa, qtype);
    None
}

/// Four weight rows (`nb` blocks each, at `w`, `w + ws`, …) · one activation row.
pub(crate) type Rows4Fn = unsafe fn(nb: usize, w: *const u8, ws: usize, a: *const u8) -> [f32; 4];

pub(crate) fn rows4_fn(isa: Isa, qtype: QuantType) -> Option<Rows4Fn> {
    #[cfg(target_arch = "aarch64")]
    if matches!(isa, Isa::Neon | Isa::NeonDotprod | Isa::NeonI8mm) {
        return crate::aarch64::rows4_fn(isa, qtype);
    }
    let _ = (isa, qtype);
    None
}

/// One weight row (`nb` blocks at `w`) · activation rows `a`, `a + stride`, … (four).
pub(crate) type Tile4Fn = unsafe fn(nb: usize, w: *const u8, a: *const u8, stride: usize) -> [f32; 4];

pub(crate) fn tile4_fn(isa: Isa, qtype: QuantType) -> Option<Tile4Fn> {
    #[cfg(target_arch = "x86_64")]
    if isa.is_x86() {
        return crate::x86::tile4_fn(qtype);
    }
    #[cfg(target_arch = "aarch64")]
    if matches!(isa, Isa::Neon | Isa::NeonDotprod | Isa::NeonI8mm) {
        return crate::aarch64::tile4_fn(isa, qtype);
    }
    let _ = (isa, qtype);
    None
}

/// Dot product of one weight row (`qtype` bytes) with row `row` of `acts`, on a
/// chosen ISA. For tests and benchmarks; panics if `isa` is unsupported or the
/// sizes disagree.
pub fn vec_dot(isa: Isa, qtype: QuantType, w: &[u8], acts: &ActBuf, row: usize) -> f32 {
    assert!(supported_isas().contains(&isa), "{isa:?} not supported on this CPU");
    assert_eq!(w.len() % qtype.block_bytes(), 0);
    let nb = w.len() / qtype.block_bytes();
    let rb = ActBuf::row_bytes(qtype, nb * qtype.block_len());
    assert!(acts.bytes().len() >= (row + 1) * rb, "activation buffer too small");
    // SAFETY: sizes checked above, ISA checked supported; ActBuf is 8-aligned and rows are multiples of 4 bytes.
    unsafe { dot_fn(isa, qtype)(nb, w.as_ptr(), acts.bytes().as_ptr().add(row * rb)) }
}
