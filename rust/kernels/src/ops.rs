//! Fused f32 helpers for the forward pass: norms, activations, softmax and the
//! dot/axpy pair attention is built from. Sums of squares are accumulated in
//! f64, as ggml does, so long rows normalise the same way llama.cpp's do.
//!
//! The element loops are written once as plain Rust and compiled twice: for
//! the baseline target and, behind run-time detection, with AVX2+FMA enabled
//! so the same code vectorises 8 wide. `exp` is a branch-free polynomial
//! (Cephes' expf coefficients) because libm's is a call per element that
//! never vectorises, and SiLU/GELU/softmax spend most of their time in it.

#[cfg(target_arch = "x86_64")]
#[inline]
fn avx2() -> bool {
    use std::sync::OnceLock;
    static A: OnceLock<bool> = OnceLock::new();
    *A.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// Generates `pub fn $name` that runs `$body` (an `#[inline(always)]` fn) as
/// an AVX2+FMA-enabled copy when available, else as the baseline copy.
macro_rules! multiversion {
    ($(#[$m:meta])* pub fn $name:ident($($a:ident: $t:ty),*) $(-> $r:ty)? => $body:ident) => {
        $(#[$m])*
        pub fn $name($($a: $t),*) $(-> $r)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($a: $t),*) $(-> $r)? {
                    $body($($a),*)
                }
                if avx2() {
                    // SAFETY: AVX2 and FMA were detected at run time.
                    return unsafe { wide($($a),*) };
                }
            }
            $body($($a),*)
        }
    };
}

mod kv;
pub use kv::*;

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding then subtracting 1.5·2²³ rounds to the nearest integer without a
/// rounding instruction (SSE2 has none).
const ROUND_MAGIC: f32 = 12_582_912.0;

/// e^x to about 2 ulp for x in [−87, 88]; 0 below, +∞-free above.
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    let xc = x.clamp(-87.0, 88.0);
    let k = (xc * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = xc - k * LN2_HI - k * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let scale = f32::from_bits(((k as i32 + 127) as u32) << 23);
    if x < -87.0 {
        0.0
    } else {
        e * scale
    }
}

/// out = x / sqrt(mean(x²) + eps) · w
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    assert!(w.len() == x.len() && out.len() == x.len(), "rms_norm: length mismatch");
    if x.is_empty() {
        return;
    }
    let scale = rms_scale(x, eps);
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
        *o = v * scale * g;
    }
}

/// In-place [`rms_norm`].
pub fn rms_norm_inplace(x: &mut [f32], w: &[f32], eps: f32) {
    assert!(w.len() == x.len(), "rms_norm: length mismatch");
    if x.is_empty() {
        return;
    }
    let scale = rms_scale(x, eps);
    for (v, &g) in x.iter_mut().zip(w) {
        *v = *v * scale * g;
    }
}

fn rms_scale(x: &[f32], eps: f32) -> f32 {
    let ss: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
    1.0 / ((ss / x.len() as f64) as f32 + eps).sqrt()
}

/// In-place softmax; an all −∞ row becomes all zeros rather than NaN.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        x.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let sum = exp_sub_sum(x, max);
    let inv = (1.0 / sum) as f32;
    x.iter_mut().for_each(|v| *v *= inv);
}

multiversion! {
    /// x ← e^(x − max); returns Σ x in f64.
    pub fn exp_sub_sum(x: &mut [f32], max: f32) -> f64 => exp_sub_sum_body
}
#[inline(always)]
fn exp_sub_sum_body(x: &mut [f32], max: f32) -> f64 {
    let mut sum = 0.0f64;
    for c in x.chunks_mut(64) {
        let mut s = 0.0f32;
        for v in c.iter_mut() {
            *v = exp_fast(*v - max);
            s += *v;
        }
        sum += s as f64;
    }
    sum
}

multiversion! {
    /// out = silu(gate) · up (SwiGLU).
    pub fn silu_mul(gate: &[f32], up: &[f32], out: &mut [f32]) => silu_mul_body
}
#[inline(always)]
fn silu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    assert!(up.len() == gate.len() && out.len() == gate.len(), "silu_mul: length mismatch");
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = g / (1.0 + exp_fast(-g)) * u;
    }
}

multiversion! {
    /// up ← silu(gate) · up, the in-place form of [`silu_mul`].
    pub fn silu_mul_inplace(gate: &[f32], up: &mut [f32]) => silu_mul_inplace_body
}
#[inline(always)]
fn silu_mul_inplace_body(gate: &[f32], up: &mut [f32]) {
    assert!(up.len() == gate.len(), "silu_mul: length mismatch");
    for (u, &g) in up.iter_mut().zip(gate) {
        *u *= g / (1.0 + exp_fast(-g));
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_COEF_A: f32 = 0.044_715;

/// tanh-approximated GELU of one value.
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x)).tanh())
}

multiversion! {
    /// out = gelu_tanh(gate) · up (GeGLU, Gemma's MLP), using ½(1 + tanh z) =
    /// 1 / (1 + e^(−2z)). llama.cpp's CPU backend instead looks GELU up in an
    /// f16 table (differences ≲ 1e-3 relative).
    pub fn gelu_tanh_mul(gate: &[f32], up: &[f32], out: &mut [f32]) => gelu_tanh_mul_body
}
#[inline(always)]
fn gelu_tanh_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    assert!(up.len() == gate.len() && out.len() == gate.len(), "gelu_tanh_mul: length mismatch");
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        let z = SQRT_2_OVER_PI * g * (1.0 + GELU_COEF_A * g * g);
        *o = g / (1.0 + exp_fast(-2.0 * z)) * u;
    }
}

multiversion! {
    /// up ← gelu_tanh(gate) · up, the in-place form of [`gelu_tanh_mul`].
    pub fn gelu_tanh_mul_inplace(gate: &[f32], up: &mut [f32]) => gelu_tanh_mul_inplace_body
}
#[inline(always)]
fn gelu_tanh_mul_inplace_body(gate: &[f32], up: &mut [f32]) {
    assert!(up.len() == gate.len(), "gelu_tanh_mul: length mismatch");
    for (u, &g) in up.iter_mut().zip(gate) {
        let z = SQRT_2_OVER_PI * g * (1.0 + GELU_COEF_A * g * g);
        *u *= g / (1.0 + exp_fast(-2.0 * z));
    }
}

multiversion! {
    /// Σ a·b. Eight independent partial sums let the loop vectorise without
    /// reassociating floats behind the compiler's back.
    pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 => dot_body
}
#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_f32: length mismatch");
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..16 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = tail;
    for v in acc {
        s += v;
    }
    s
}

multiversion! {
    /// y += alpha · x
    pub fn axpy_f32(alpha: f32, x: &[f32], y: &mut [f32]) => axpy_body
}
#[inline(always)]
fn axpy_body(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy_f32: length mismatch");
    for (o, &v) in y.iter_mut().zip(x) {
        *o += alpha * v;
    }
}

multiversion! {
    /// y += x
    pub fn add_f32(x: &[f32], y: &mut [f32]) => add_body
}
#[inline(always)]
fn add_body(x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "add_f32: length mismatch");
    for (o, &v) in y.iter_mut().zip(x) {
        *o += v;
    }
}
