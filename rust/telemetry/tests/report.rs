//! The HTML report: structure, printed numbers, honesty, and JSON loading.

use mote_telemetry::{
    render_html, Integrator, Phase, PhaseMark, ReportData, RunRecord, Sample, Trace,
};

/// Idle 1 W, prefill `p` W, decode `d` W, one reading per 100 ms over 4 s.
fn trace(p: f64, d: f64, estimate: bool, plugged_during_decode: bool) -> Trace {
    let mut t = Trace::new(
        if estimate {
            "cpu-time-model"
        } else {
            "power_supply:battery"
        },
        estimate,
    );
    for k in 0..=40 {
        let ms = k as f64 * 100.0;
        let watts = match ms {
            m if (1000.0..2000.0).contains(&m) => p,
            m if (2000.0..3000.0).contains(&m) => d,
            _ => 1.0,
        };
        let mut s = Sample::at(ms);
        s.power_uw = Some(watts * 1e6);
        s.charging = Some(plugged_during_decode && (2200.0..2500.0).contains(&ms));
        t.samples.push(s);
    }
    for (phase, t_ms) in [
        (Phase::IdleBefore, 0.0),
        (Phase::Prefill, 1000.0),
        (Phase::Decode, 2000.0),
        (Phase::IdleAfter, 3000.0),
    ] {
        t.marks.push(PhaseMark { phase, t_ms });
    }
    t.end_ms = 4000.0;
    t
}

fn run(model: &str, quant: &str, bpw: f64, tps: f64, trace: Trace) -> RunRecord {
    let energy = Integrator::default().integrate(&trace, 40).unwrap();
    RunRecord {
        model: model.into(),
        quant: quant.into(),
        bits_per_weight: bpw,
        prefill_tokens_per_s: 10.0 * tps,
        decode_tokens_per_s: tps,
        energy,
        trace,
    }
}

fn data() -> ReportData {
    ReportData {
        title: None,
        runs: vec![
            run(
                "tiny<b>",
                "Q4_K_M",
                4.85,
                31.5,
                trace(5.0, 3.0, false, false),
            ),
            run("small", "Q8_0", 8.5, 22.25, trace(6.0, 4.5, true, true)),
        ],
    }
}

#[test]
fn page_is_self_contained_with_one_svg_per_chart() {
    let html = render_html(&data());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no JS required");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "no external assets"
    );
    assert_eq!(
        html.matches("<svg").count(),
        2 + 2,
        "scatter, bits per weight, one power chart per run"
    );
    assert_eq!(html.matches("</svg>").count(), 4);
    for id in [
        "id=\"speed-energy\"",
        "id=\"bits-per-weight\"",
        "id=\"power-0\"",
        "id=\"power-1\"",
        "id=\"energy-table\"",
    ] {
        assert!(html.contains(id), "missing {id}");
    }
    assert_eq!(html.matches("class=\"phase-prefill\"").count(), 2);
    assert_eq!(html.matches("class=\"phase-decode\"").count(), 2);
    assert_eq!(html.matches("class=\"run-point\"").count(), 2);
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 2);
}

#[test]
fn power_line_has_a_vertex_per_reading() {
    let d = data();
    let html = render_html(&d);
    let start = html.find("class=\"power-line\"").expect("power line");
    let points = &html[start..];
    let points = &points[points.find("points=\"").unwrap() + 8..];
    let points = &points[..points.find('"').unwrap()];
    assert_eq!(points.split(' ').count(), d.runs[0].trace.samples.len());
}

#[test]
fn numbers_from_the_reports_are_printed() {
    let d = data();
    let html = render_html(&d);
    for r in &d.runs {
        let e = &r.energy;
        for s in [
            format!("{:.3}", e.joules),
            format!("{:.4}", e.joules_per_token),
            format!("{:.2}", e.tokens_per_joule),
            format!("{:.1}", r.decode_tokens_per_s),
        ] {
            assert!(html.contains(&format!(">{s}<")), "{s} not printed");
        }
        assert!(
            html.contains(&format!(">{:.2}</text>", r.bits_per_weight)),
            "bpw label"
        );
    }
    // Run 0: idle 1 W, prefill 5 W, decode 3 W → nonzero net energy.
    assert!(d.runs[0].energy.joules > 5.0);
}

#[test]
fn honesty_flags_are_prominent() {
    let html = render_html(&data());
    assert!(html.contains("id=\"honesty\""));
    assert!(html.contains("1 of 2 runs come from a model"));
    assert!(html.contains("1 of 2 runs had external power connected"));
    assert_eq!(html.matches("<tr class=\"run invalid\">").count(), 1);
    assert!(html.contains("class=\"badge b-est\">ESTIMATE"));
    assert!(html.contains("class=\"badge b-ok\">MEASURED"));
    assert!(html.contains("<span>charging_during_window</span>"));
    assert!(
        html.contains("class=\"charging\""),
        "charging stretch drawn on the power chart"
    );
}

#[test]
fn text_is_escaped_and_bad_numbers_print_as_dashes() {
    let mut d = data();
    d.runs[1].decode_tokens_per_s = f64::NAN;
    let html = render_html(&d);
    assert!(html.contains("tiny&lt;b&gt;") && !html.contains("tiny<b>"));
    assert!(!html.contains("NaN") && !html.contains("inf"));
    assert!(html.contains(">—<"));
}

#[test]
fn empty_report_still_renders() {
    let html = render_html(&ReportData::default());
    assert!(html.contains("0 runs"));
    assert!(html.contains("All runs were measured"));
    assert_eq!(html.matches("<svg").count(), 2);
}

#[test]
fn report_data_round_trips_through_json() {
    let d = data();
    let json = serde_json::to_string(&d).unwrap();
    let back: ReportData = serde_json::from_str(&json).unwrap();
    // serde_json's default float parser may land one ULP off, so compare
    // what matters: identical pages and numbers equal to float precision.
    assert!(
        render_html(&back) == render_html(&d),
        "re-rendered page differs"
    );
    for (a, b) in back.runs.iter().zip(&d.runs) {
        assert!((a.energy.joules - b.energy.joules).abs() <= 1e-12 * b.energy.joules.abs());
        assert_eq!(
            (a.energy.valid, a.energy.estimate, &a.energy.flags),
            (b.energy.valid, b.energy.estimate, &b.energy.flags)
        );
        assert_eq!(a.trace.samples.len(), b.trace.samples.len());
        assert_eq!(a.trace.marks, b.trace.marks);
    }
    // What the Android app writes may omit optional fields.
    let minimal = r#"{"runs":[]}"#;
    assert_eq!(
        serde_json::from_str::<ReportData>(minimal).unwrap(),
        ReportData::default()
    );
}
