//! The `mote study` page: one self-contained HTML file (no scripts, no
//! network), a table of every variant and three SVG charts against bits per
//! weight, each point with its uncertainty as an error bar.

use serde_json::Value;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// (label, x, y, ±err) points → an SVG scatter with error bars.
fn chart(title: &str, y_label: &str, pts: &[(String, f64, f64, f64)]) -> String {
    let (w, h, l, r, t, b) = (420.0, 260.0, 56.0, 16.0, 28.0, 40.0);
    if pts.is_empty() {
        return format!("<figure><figcaption>{}</figcaption><p>no data</p></figure>", esc(title));
    }
    let xs = pts.iter().map(|p| p.1);
    let (x0, x1) = (xs.clone().fold(f64::INFINITY, f64::min), xs.fold(f64::NEG_INFINITY, f64::max));
    let y1 = pts.iter().map(|p| p.2 + p.3).fold(f64::NEG_INFINITY, f64::max);
    let y0 = pts.iter().map(|p| p.2 - p.3).fold(f64::INFINITY, f64::min).min(0.0);
    let (x0, x1) = if x1 > x0 { (x0 - 0.3, x1 + 0.3) } else { (x0 - 1.0, x0 + 1.0) };
    let y1 = if y1 > y0 { y1 * 1.08 } else { y0 + 1.0 };
    let px = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - r);
    let py = |y: f64| h - b - (y - y0) / (y1 - y0) * (h - t - b);
    let mut s = format!(r#"<figure><svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}">"#, esc(title));
    s += &format!(r##"<line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="#444"/><line x1="{l}" y1="{t}" x2="{l}" y2="{}" stroke="#444"/>"##, h - b, w - r, h - b, h - b);
    for k in 0..=4 {
        let y = y0 + (y1 - y0) * k as f64 / 4.0;
        s += &format!(r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>"#, l - 4.0, py(y) + 3.0, fmt(y));
        let x = x0 + (x1 - x0) * k as f64 / 4.0;
        s += &format!(r#"<text x="{}" y="{}" font-size="10" text-anchor="middle">{x:.1}</text>"#, px(x), h - b + 14.0);
    }
    s += &format!(r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">bits per weight</text>"#, (l + w - r) / 2.0, h - 6.0);
    s += &format!(r#"<text x="12" y="{}" font-size="11" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"#, (t + h - b) / 2.0, (t + h - b) / 2.0, esc(y_label));
    for (label, x, y, e) in pts {
        let (cx, cy) = (px(*x), py(*y));
        if *e > 0.0 {
            s += &format!(r##"<line x1="{cx}" y1="{}" x2="{cx}" y2="{}" stroke="#c33"/>"##, py(y + e), py(y - e));
        }
        s += &format!(r##"<circle cx="{cx}" cy="{cy}" r="4" fill="#2563eb"/><text x="{}" y="{}" font-size="10">{}</text>"##, cx + 6.0, cy - 6.0, esc(label));
    }
    s + &format!("</svg><figcaption>{}</figcaption></figure>", esc(title))
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 { format!("{v:.0}") } else if v.abs() >= 1.0 { format!("{v:.1}") } else { format!("{v:.3}") }
}

fn cell(v: &Value, digits: usize) -> String {
    match v {
        Value::Null => "–".into(),
        Value::Number(n) => n.as_f64().map_or("–".into(), |x| format!("{x:.digits$}")),
        Value::String(s) => esc(s),
        other => esc(&other.to_string()),
    }
}

pub fn render(study: &Value) -> String {
    let empty = vec![];
    let rows = study["variants"].as_array().unwrap_or(&empty);
    let points = |y: &dyn Fn(&Value) -> Option<(f64, f64)>| -> Vec<(String, f64, f64, f64)> {
        rows.iter()
            .filter_map(|r| {
                let (v, e) = y(r)?;
                Some((r["type"].as_str().unwrap_or("?").to_string(), num(&r["bits_per_weight"])?, v, e))
            })
            .collect()
    };
    let quality = points(&|r| Some((num(&r["qa_f1"])?, num(&r["qa_f1_stderr"]).unwrap_or(0.0))));
    let ppl = points(&|r| Some((num(&r["ppl"])?, 0.0)));
    let tpj = points(&|r| {
        let v = num(&r["tokens_per_joule"])?;
        Some((v, v * num(&r["energy_uncertainty_pct"]).unwrap_or(0.0) / 100.0))
    });
    let tps = points(&|r| Some((num(&r["decode_tokens_per_s"]["mean"])?, num(&r["decode_tokens_per_s"]["stddev"]).unwrap_or(0.0))));
    let mut table = String::from(
        "<table><tr><th>type</th><th>BPW</th><th>file MB</th><th>peak RSS MB</th><th>TTFT ms</th><th>prefill tok/s</th><th>decode tok/s</th><th>J/token</th><th>tokens/J</th><th>perplexity</th><th>QA EM %</th><th>QA F1 %</th></tr>",
    );
    for r in rows {
        let mb = |v: &Value| num(v).map_or("–".into(), |x| format!("{:.1}", x / 1e6));
        table += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ± {}</td><td>{} ± {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ± {}</td></tr>",
            cell(&r["type"], 0), cell(&r["bits_per_weight"], 3), mb(&r["file_bytes"]), mb(&r["peak_rss_bytes"]),
            cell(&r["ttft_ms"]["mean"], 1), cell(&r["prefill_tokens_per_s"]["mean"], 1), cell(&r["prefill_tokens_per_s"]["stddev"], 1),
            cell(&r["decode_tokens_per_s"]["mean"], 1), cell(&r["decode_tokens_per_s"]["stddev"], 1),
            cell(&r["joules_per_token"], 4), cell(&r["tokens_per_joule"], 2), cell(&r["ppl"], 3),
            cell(&r["qa_exact_match"], 1), cell(&r["qa_f1"], 1), cell(&r["qa_f1_stderr"], 1),
        );
    }
    table += "</table>";
    let th = &study["thermal"];
    let thermal = if th["throughput_lost_pct"].is_number() {
        format!(
            "<p>Thermal: after {} s of decoding with {}, decode went from {} to {} tokens/s ({} % lost); hottest zone {} → {} °C.</p>",
            cell(&th["sustained_seconds"], 0), cell(&th["variant"], 0), cell(&th["decode_tokens_per_s_before"], 1),
            cell(&th["decode_tokens_per_s_after"], 1), cell(&th["throughput_lost_pct"], 1),
            cell(&th["temperature_c_start"], 1), cell(&th["temperature_c_end"], 1)
        )
    } else {
        "<p>Thermal: not measured.</p>".into()
    };
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Mote study: {model}</title>
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#111}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}figure{{display:inline-block;margin:8px}}</style></head>
<body><h1>Bits, speed, energy and quality: {model}</h1>
<p>{note}</p><p>Machine: {machine}. Energy source: {source}.</p>
{table}{thermal}
{c1}{c2}{c3}{c4}
<p>Error bars: QA F1 ± its standard error over the items; tokens per joule ± the energy integration's stated uncertainty; decode ± its standard deviation over the repetitions.</p>
</body></html>"#,
        model = esc(study["model"].as_str().unwrap_or("")),
        note = esc(study["note"].as_str().unwrap_or("")),
        machine = esc(&study["machine"].to_string()),
        source = rows.first().map_or("–".into(), |r| cell(&r["energy_source"], 0)),
        c1 = chart("Quality: QA F1 (%) vs bits per weight", "QA F1 %", &quality),
        c2 = chart("Perplexity vs bits per weight", "perplexity", &ppl),
        c3 = chart("Tokens per joule vs bits per weight", "tokens / J", &tpj),
        c4 = chart("Decode tokens/s vs bits per weight", "tokens / s", &tps),
    )
}
