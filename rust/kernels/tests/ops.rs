use mote_kernels::ops::*;

#[test]
fn rms_norm_normalises_and_scales() {
    let x = [1.0f32, -2.0, 3.0, -4.0];
    let w = [1.0f32, 2.0, 0.5, 1.0];
    let mut out = [0f32; 4];
    rms_norm(&x, &w, 1e-6, &mut out);
    let rms = ((1.0 + 4.0 + 9.0 + 16.0) / 4.0f32 + 1e-6).sqrt();
    for i in 0..4 {
        assert!((out[i] - x[i] / rms * w[i]).abs() < 1e-6);
    }
}

#[test]
fn softmax_sums_to_one_and_handles_masks() {
    let mut v = [1.0f32, 2.0, 3.0, f32::NEG_INFINITY, 1000.0];
    softmax(&mut v);
    assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    assert_eq!(v[3], 0.0);
    assert!(v[4] > 0.999);
    let mut small = [0.0f32, (2.0f32).ln()];
    softmax(&mut small);
    assert!((small[0] - 1.0 / 3.0).abs() < 1e-6 && (small[1] - 2.0 / 3.0).abs() < 1e-6);
    let mut masked = [f32::NEG_INFINITY; 3];
    softmax(&mut masked);
    assert_eq!(masked, [0.0; 3]);
}

#[test]
fn gated_activations() {
    let g = [-3.0f32, -0.5, 0.0, 0.7, 4.0];
    let u = [2.0f32, 1.0, 5.0, -1.0, 0.5];
    let mut o = [0f32; 5];
    silu_mul(&g, &u, &mut o);
    for i in 0..5 {
        let s = g[i] / (1.0 + (-g[i] as f64).exp() as f32);
        assert!((o[i] - s * u[i]).abs() < 1e-6);
    }
    gelu_tanh_mul(&g, &u, &mut o);
    // tanh-GELU at these points, computed in f64 (Python math.tanh).
    let gelu = [-0.003637392, -0.154_286, 0.0, 0.53057013, 3.9999297];
    for i in 0..5 {
        assert!((o[i] - gelu[i] * u[i]).abs() < 1e-5, "{i}: {}", o[i]);
    }
}
