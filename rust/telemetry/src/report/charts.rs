//! The report's three charts, each a standalone inline `<svg>`.

use std::fmt::Write;

use super::svg::{esc, extent, num, Frame, PALETTE};
use super::RunRecord;
use crate::integrator::power_points;
use crate::normalize::NormalizeConfig;
use crate::sample::Phase;

const PHASES: [(Phase, &str, &str); 4] = [
    (Phase::IdleBefore, "idle", "phase-idle"),
    (Phase::Prefill, "prefill", "phase-prefill"),
    (Phase::Decode, "decode", "phase-decode"),
    (Phase::IdleAfter, "idle", "phase-idle"),
];

/// Two charts side by side fit the page's 1180 px column.
const CHART_W: f64 = 575.0;

/// Colour of a model, stable across charts.
pub(crate) fn model_colour(models: &[String], model: &str) -> &'static str {
    let i = models.iter().position(|m| m == model).unwrap_or(0);
    PALETTE[i % PALETTE.len()]
}

/// Power over time for one run, phases shaded, baseline dashed.
pub(crate) fn power_chart(out: &mut String, idx: usize, run: &RunRecord, colour: &str) {
    let trace = &run.trace;
    let pts = power_points(trace, &NormalizeConfig::default());
    let t0 = trace
        .marks
        .iter()
        .map(|m| m.t_ms)
        .chain(pts.first().map(|p| p.0))
        .fold(f64::INFINITY, f64::min);
    let t0 = if t0.is_finite() { t0 } else { 0.0 };
    let end = trace.end_ms.max(pts.last().map_or(t0, |p| p.0));
    let secs = |t: f64| (t - t0) / 1000.0;
    let y_hi = extent(pts.iter().map(|p| p.1))
        .map_or(1.0, |(_, hi)| hi.max(0.0) * 1.15)
        .max(1e-3);
    let y_lo = extent(pts.iter().map(|p| p.1)).map_or(0.0, |(lo, _)| lo.min(0.0) * 1.15);
    let f = Frame::new(CHART_W, 230.0, (0.0, secs(end).max(1e-3)), (y_lo, y_hi));
    let title = format!("{} · {} — power over time", run.model, run.quant);
    f.open(
        out,
        &format!("power-{idx}"),
        &title,
        "time (s)",
        "power (W)",
    );

    let mut marks: Vec<_> = trace.marks.clone();
    marks.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    for (k, m) in marks.iter().enumerate() {
        let stop = marks.get(k + 1).map_or(end, |n| n.t_ms);
        let Some((_, label, class)) = PHASES.iter().find(|p| p.0 == m.phase) else {
            continue;
        };
        let (x0, x1) = (f.px(secs(m.t_ms)), f.px(secs(stop)));
        if x1 <= x0 {
            continue;
        }
        let _ = write!(
            out,
            r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="{class}"><title>{label}: {} s</title></rect><text x="{:.1}" y="{:.1}" class="plabel" text-anchor="middle">{label}</text>"#,
            f.top,
            x1 - x0,
            f.plot_bottom() - f.top,
            num((stop - m.t_ms) / 1000.0, 2),
            (x0 + x1) / 2.0,
            f.top + 12.0
        );
    }
    charging_bands(out, &f, trace, secs);
    let base = run.energy.baseline_watts;
    if base.is_finite() && base > 0.0 {
        let y = f.py(base);
        let _ = write!(
            out,
            r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="baseline"><title>idle baseline {} W</title></line>"#,
            f.left,
            f.width - f.right,
            num(base, 3)
        );
    }
    let poly: Vec<String> = pts
        .iter()
        .map(|(t, w)| format!("{:.1},{:.1}", f.px(secs(*t)), f.py(*w)))
        .collect();
    let _ = write!(
        out,
        r#"<polyline class="power-line" fill="none" stroke="{colour}" stroke-width="1.8" points="{}"/>"#,
        poly.join(" ")
    );
    out.push_str("</svg>");
}

/// Decode speed against energy per token, one point per run.
pub(crate) fn speed_vs_energy(out: &mut String, runs: &[RunRecord], models: &[String]) {
    let xs = extent(runs.iter().map(|r| r.decode_tokens_per_s)).unwrap_or((0.0, 1.0));
    let ys = extent(runs.iter().map(|r| r.energy.joules_per_token)).unwrap_or((0.0, 1.0));
    let f = Frame::new(
        CHART_W,
        320.0,
        (0.0, xs.1.max(0.0) * 1.15 + 1e-9),
        (ys.0.min(0.0), ys.1.max(0.0) * 1.2 + 1e-9),
    );
    f.open(
        out,
        "speed-energy",
        "decode speed vs J/token (lower right is better)",
        "decode tokens/s",
        "J per token",
    );
    for r in runs {
        let (x, y) = (r.decode_tokens_per_s, r.energy.joules_per_token);
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let (px, py) = (f.px(x), f.py(y));
        let c = model_colour(models, &r.model);
        let tip = format!(
            "{} · {}: {} tok/s, {} J/token",
            r.model,
            r.quant,
            num(x, 1),
            num(y, 3)
        );
        // Hollow marks estimates, a cross marks invalid runs: honesty visible at a glance.
        let fill = if r.energy.estimate { "none" } else { c };
        let _ = write!(
            out,
            r#"<circle class="run-point" cx="{px:.1}" cy="{py:.1}" r="6" fill="{fill}" stroke="{c}" stroke-width="2"><title>{}</title></circle>"#,
            esc(&tip)
        );
        if !r.energy.valid {
            let _ = write!(
                out,
                r#"<path d="M{:.1} {:.1}l16 16M{:.1} {:.1}l-16 16" class="invalid-mark"/>"#,
                px - 8.0,
                py - 8.0,
                px + 8.0,
                py - 8.0
            );
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="plabel">{}</text>"#,
            px + 9.0,
            py - 7.0,
            esc(&r.quant)
        );
    }
    legend(out, &f, models);
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">filled: measured · hollow: estimate · ✕: invalid</text></svg>"#,
        f.width - f.right - 6.0,
        f.plot_bottom() - 8.0
    );
}

/// Bits per weight of each run's quantization.
pub(crate) fn bits_per_weight(out: &mut String, runs: &[RunRecord], models: &[String]) {
    let row = 24.0;
    let height = 70.0 + row * runs.len().max(1) as f64;
    let hi = extent(runs.iter().map(|r| r.bits_per_weight))
        .map_or(1.0, |(_, hi)| hi.max(0.0) * 1.1 + 1e-9);
    let mut f = Frame::new(CHART_W, height, (0.0, hi), (0.0, runs.len().max(1) as f64));
    f.left = 190.0;
    f.y_ticks = false;
    f.open(
        out,
        "bits-per-weight",
        "bits per weight",
        "bits per weight",
        "",
    );
    for (i, r) in runs.iter().enumerate() {
        let y = f.py((runs.len() - i) as f64) + 4.0;
        let bpw = if r.bits_per_weight.is_finite() {
            r.bits_per_weight.max(0.0)
        } else {
            0.0
        };
        let x1 = f.px(bpw);
        let _ = write!(
            out,
            r#"<rect class="bar" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text><text x="{:.1}" y="{:.1}" class="tick">{}</text>"#,
            f.left,
            (x1 - f.left).max(0.0),
            row - 8.0,
            model_colour(models, &r.model),
            num(r.bits_per_weight, 2),
            f.left - 6.0,
            y + row / 2.0,
            esc(&format!("{} · {}", r.model, r.quant)),
            x1 + 4.0,
            y + row / 2.0,
            num(r.bits_per_weight, 2)
        );
    }
    out.push_str("</svg>");
}

/// External power invalidates readings, so its stretches are shown in red.
fn charging_bands(
    out: &mut String,
    f: &Frame,
    trace: &crate::sample::Trace,
    secs: impl Fn(f64) -> f64,
) {
    let mut start: Option<f64> = None;
    let close = |out: &mut String, from: f64, to: f64| {
        let (x0, x1) = (f.px(secs(from)), f.px(secs(to)));
        let _ = write!(
            out,
            r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="charging"><title>charging</title></rect><text x="{:.1}" y="{:.1}" class="charging-label" text-anchor="middle">charging</text>"#,
            f.top,
            (x1 - x0).max(2.0),
            f.plot_bottom() - f.top,
            (x0 + x1) / 2.0,
            f.plot_bottom() - 6.0
        );
    };
    for s in &trace.samples {
        match (start, s.charging == Some(true)) {
            (None, true) => start = Some(s.t_ms),
            (Some(from), false) => {
                close(out, from, s.t_ms);
                start = None;
            }
            _ => {}
        }
    }
    if let (Some(from), Some(last)) = (start, trace.samples.last()) {
        close(out, from, last.t_ms);
    }
}

fn legend(out: &mut String, f: &Frame, models: &[String]) {
    for (i, m) in models.iter().enumerate() {
        let (x, y) = (f.left + 10.0, f.top + 14.0 + 16.0 * i as f64);
        let _ = write!(
            out,
            r#"<circle cx="{x:.1}" cy="{:.1}" r="5" fill="{}"/><text x="{:.1}" y="{y:.1}" class="tick">{}</text>"#,
            y - 4.0,
            model_colour(models, m),
            x + 10.0,
            esc(m)
        );
    }
}
