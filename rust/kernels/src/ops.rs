//! Fused f32 helpers for the decode loop. Sums are accumulated in f64, as ggml
//! does, so long rows normalise the same way llama.cpp's do.

/// out = x / sqrt(mean(x²) + eps) · w
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    assert!(w.len() == x.len() && out.len() == x.len(), "rms_norm: length mismatch");
    if x.is_empty() {
        return;
    }
    let ss: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
    let scale = 1.0 / ((ss / x.len() as f64) as f32 + eps).sqrt();
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
        *o = v * scale * g;
    }
}

/// In-place softmax; an all −∞ row becomes all zeros rather than NaN.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        x.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let mut sum = 0.0f64;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    x.iter_mut().for_each(|v| *v *= inv);
}

/// out = silu(gate) · up (SwiGLU).
pub fn silu_mul(gate: &[f32], up: &[f32], out: &mut [f32]) {
    assert!(up.len() == gate.len() && out.len() == gate.len(), "silu_mul: length mismatch");
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = g / (1.0 + (-g).exp()) * u;
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_COEF_A: f32 = 0.044_715;

/// tanh-approximated GELU of one value.
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x)).tanh())
}

/// out = gelu_tanh(gate) · up (GeGLU, Gemma's MLP). Exact f32; llama.cpp's CPU
/// backend instead looks GELU up in an f16 table (differences ≲ 1e-3 relative).
pub fn gelu_tanh_mul(gate: &[f32], up: &[f32], out: &mut [f32]) {
    assert!(up.len() == gate.len() && out.len() == gate.len(), "gelu_tanh_mul: length mismatch");
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = gelu_tanh(g) * u;
    }
}
