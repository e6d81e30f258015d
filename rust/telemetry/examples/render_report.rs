//! Renders a report from synthetic runs: `cargo run -p mote-telemetry --example render_report -- OUT.html`.
//! Used by tests/render_in_chromium.sh to check the page in a real browser.

use mote_telemetry::{
    render_html, Integrator, Phase, PhaseMark, ReportData, RunRecord, Sample, Trace,
};

/// Deterministic noise so the page is identical on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

struct Spec {
    model: &'static str,
    quant: &'static str,
    bpw: f64,
    prefill_tps: f64,
    decode_tps: f64,
    prefill_w: f64,
    decode_w: f64,
    estimate: bool,
    charging: bool,
    every_ms: f64,
}

fn synth(spec: &Spec, seed: u64) -> (Trace, u64) {
    let (prompt, generated) = (120.0, 96.0);
    let prefill_ms = prompt / spec.prefill_tps * 1000.0;
    let decode_ms = generated / spec.decode_tps * 1000.0;
    let bounds = [
        0.0,
        1500.0,
        1500.0 + prefill_ms,
        1500.0 + prefill_ms + decode_ms,
    ];
    let end = bounds[3] + 1500.0;
    let mut rng = Lcg(seed);
    let mut trace = Trace::new(
        if spec.estimate {
            "cpu-time-model"
        } else {
            "android-batterymanager"
        },
        spec.estimate,
    );
    let mut t = 0.0;
    while t <= end {
        let target = if t < bounds[1] || t >= bounds[3] {
            0.9
        } else if t < bounds[2] {
            spec.prefill_w
        } else {
            spec.decode_w
        };
        let watts = target * (1.0 + 0.12 * rng.next());
        let mut s = Sample::at(t);
        if spec.estimate {
            s.power_uw = Some(watts * 1e6);
        } else {
            let volts = 3.9 - 0.05 * t / end;
            // This vendor reports discharge as negative µA; the normalizer fixes it.
            s.current_ua = Some(-(watts / volts) * 1e6);
            s.voltage_uv = Some(volts * 1e6);
            s.capacity_mah = Some(4500.0);
            let plugged = spec.charging && t > bounds[2] && t < bounds[2] + decode_ms / 3.0;
            s.charging = Some(plugged);
            if plugged {
                s.current_ua = Some(350_000.0);
            }
        }
        trace.samples.push(s);
        t += spec.every_ms;
    }
    for (phase, t_ms) in [
        Phase::IdleBefore,
        Phase::Prefill,
        Phase::Decode,
        Phase::IdleAfter,
    ]
    .into_iter()
    .zip(bounds)
    {
        trace.marks.push(PhaseMark { phase, t_ms });
    }
    trace.end_ms = end;
    (trace, generated as u64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: render_report OUT.html")?;
    #[rustfmt::skip]
    let specs = [
        Spec { model: "qwen2.5-0.5b", quant: "Q4_K_M", bpw: 4.85, prefill_tps: 310.0, decode_tps: 38.0, prefill_w: 4.6, decode_w: 3.1, estimate: false, charging: false, every_ms: 100.0 },
        Spec { model: "qwen2.5-0.5b", quant: "Q8_0", bpw: 8.5, prefill_tps: 260.0, decode_tps: 27.0, prefill_w: 4.9, decode_w: 3.6, estimate: false, charging: false, every_ms: 100.0 },
        Spec { model: "llama-3.2-1b", quant: "Q4_K_M", bpw: 4.85, prefill_tps: 140.0, decode_tps: 19.0, prefill_w: 5.2, decode_w: 3.8, estimate: false, charging: true, every_ms: 100.0 },
        Spec { model: "llama-3.2-1b", quant: "Q4_0", bpw: 4.5, prefill_tps: 150.0, decode_tps: 21.0, prefill_w: 5.0, decode_w: 3.7, estimate: false, charging: false, every_ms: 1000.0 },
        Spec { model: "smollm2-360m", quant: "Q8_0", bpw: 8.5, prefill_tps: 420.0, decode_tps: 52.0, prefill_w: 3.9, decode_w: 2.8, estimate: true, charging: false, every_ms: 100.0 },
    ];
    let integrator = Integrator::default();
    let mut runs = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let (trace, tokens) = synth(spec, 7 + i as u64);
        let energy = integrator.integrate(&trace, tokens)?;
        runs.push(RunRecord {
            model: spec.model.into(),
            quant: spec.quant.into(),
            bits_per_weight: spec.bpw,
            prefill_tokens_per_s: spec.prefill_tps,
            decode_tokens_per_s: spec.decode_tps,
            energy,
            trace,
        });
    }
    let data = ReportData {
        title: Some("Mote energy report (synthetic demo data)".into()),
        runs,
    };
    std::fs::write(&out, render_html(&data))?;
    eprintln!("wrote {out}");
    Ok(())
}
