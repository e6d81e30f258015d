//! A self-contained HTML report (inline CSS and SVG, no scripts, no external
//! assets) so it can be attached to an issue or opened offline.

mod charts;
mod svg;

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::integrator::EnergyReport;
use crate::sample::Trace;
use svg::{esc, num};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub model: String,
    pub quant: String,
    pub bits_per_weight: f64,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    pub energy: EnergyReport,
    pub trace: Trace,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    #[serde(default)]
    pub title: Option<String>,
    pub runs: Vec<RunRecord>,
}

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#1d1d1f;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#666;margin:0 0 16px}
.honesty{border-left:5px solid #d1495b;background:#fff4f4;padding:10px 14px;margin:12px 0}
.honesty.ok{border-color:#2e933c;background:#f2fbf3}
.chart{display:block;margin:8px 0;background:#fff}
.grid{stroke:#e6e6e6}.axisbox{fill:none;stroke:#999}
.tick{font-size:11px;fill:#444}.alabel{font-size:12px;fill:#333}.ctitle{font-size:13px;font-weight:600;fill:#222}
.plabel{font-size:11px;fill:#333}
.phase-idle{fill:#f1f1f1}.phase-prefill{fill:#fde7c8}.phase-decode{fill:#d7e9f7}
.baseline{stroke:#555;stroke-dasharray:5 4}
.invalid-mark{stroke:#d1495b;stroke-width:2.5}
.grid-2{display:grid;grid-template-columns:repeat(auto-fill,minmax(575px,1fr));gap:4px 16px;align-items:start}
.chart{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{border-bottom:1px solid #e3e3e3;padding:5px 6px;text-align:right;vertical-align:top}
th{background:#fafafa;position:sticky;top:0}
td.l,th.l{text-align:left}
tr.invalid td{background:#fff1f1}
.badge{display:inline-block;border-radius:4px;padding:1px 6px;margin:1px 2px;font-size:11px;font-weight:700;letter-spacing:.02em}
.b-est{background:#fff0c2;color:#7a5600}.b-inv{background:#d1495b;color:#fff}.b-low{background:#ffd9b3;color:#7a3b00}.b-ok{background:#dff3e2;color:#1d6b2a}
.flags{color:#666;font-size:11px;text-align:left;min-width:170px;max-width:230px;overflow-wrap:anywhere}
.flags span{display:block}
td.src{overflow-wrap:anywhere;max-width:120px}
.charging{fill:#d1495b;fill-opacity:.18}.charging-label{font-size:11px;fill:#b02a3c;font-weight:700}
"#;

/// Renders the whole page. Never fails: missing numbers print as "—".
pub fn render_html(data: &ReportData) -> String {
    let title = data
        .title
        .clone()
        .unwrap_or_else(|| "Mote energy report".to_string());
    let mut models: Vec<String> = Vec::new();
    for r in &data.runs {
        if !models.contains(&r.model) {
            models.push(r.model.clone());
        }
    }
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(&title)
    );
    let _ = write!(out, "<h1>{}</h1><p class=\"sub\">{} runs · {} models · energies are net of the idle baseline</p>", esc(&title), data.runs.len(), models.len());
    honesty_banner(&mut out, &data.runs);

    out.push_str("<h2>Energy per run</h2>");
    table(&mut out, &data.runs);

    out.push_str("<h2>Speed, energy and quantization</h2><div class=\"grid-2\">");
    charts::speed_vs_energy(&mut out, &data.runs, &models);
    charts::bits_per_weight(&mut out, &data.runs, &models);
    out.push_str("</div>");

    out.push_str("<h2>Power over time</h2><div class=\"grid-2\">");
    for (i, r) in data.runs.iter().enumerate() {
        charts::power_chart(&mut out, i, r, charts::model_colour(&models, &r.model));
    }
    out.push_str("</div></body></html>\n");
    out
}

fn honesty_banner(out: &mut String, runs: &[RunRecord]) {
    let est = runs.iter().filter(|r| r.energy.estimate).count();
    let inv = runs.iter().filter(|r| !r.energy.valid).count();
    let low = runs.iter().filter(|r| r.energy.low_confidence).count();
    let n = runs.len();
    if est + inv + low == 0 {
        out.push_str("<div class=\"honesty ok\" id=\"honesty\">All runs were measured by a meter, on battery, with enough samples.</div>");
        return;
    }
    out.push_str(
        "<div class=\"honesty\" id=\"honesty\"><strong>Read these numbers with care:</strong><ul>",
    );
    if est > 0 {
        let _ = write!(out, "<li><span class=\"badge b-est\">ESTIMATE</span> {est} of {n} runs come from a model (e.g. CPU time × watts per core), not a power meter: treat them as rough estimates.</li>");
    }
    if inv > 0 {
        let _ = write!(out, "<li><span class=\"badge b-inv\">INVALID</span> {inv} of {n} runs had external power connected (charging) during the measurement: their energy numbers are not usable.</li>");
    }
    if low > 0 {
        let _ = write!(out, "<li><span class=\"badge b-low\">LOW CONFIDENCE</span> {low} of {n} runs have too few samples in the generation window.</li>");
    }
    out.push_str("</ul></div>");
}

fn table(out: &mut String, runs: &[RunRecord]) {
    out.push_str(
        "<table id=\"energy-table\"><thead><tr><th class=\"l\">model</th><th class=\"l\">quant</th><th>bits/w</th><th>prefill tok/s</th><th>decode tok/s</th>\
<th>J</th><th>J prefill</th><th>J decode</th><th>J/token</th><th>tokens/J</th><th>mAh</th><th>% batt/h</th><th>avg W</th><th>±%</th><th>samples</th><th class=\"l\">source</th><th class=\"l\">honesty</th><th class=\"l\">flags</th></tr></thead><tbody>",
    );
    for r in runs {
        let e = &r.energy;
        let mut badges = String::new();
        if e.estimate {
            badges.push_str("<span class=\"badge b-est\">ESTIMATE</span>");
        }
        if !e.valid {
            badges.push_str("<span class=\"badge b-inv\">INVALID</span>");
        }
        if e.low_confidence {
            badges.push_str("<span class=\"badge b-low\">LOW CONFIDENCE</span>");
        }
        if badges.is_empty() {
            badges.push_str("<span class=\"badge b-ok\">MEASURED</span>");
        }
        let _ = write!(
            out,
            "<tr class=\"{}\"><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l src\">{}</td><td class=\"l\">{badges}</td><td class=\"flags\">{}</td></tr>",
            if e.valid { "run" } else { "run invalid" },
            esc(&r.model),
            esc(&r.quant),
            num(r.bits_per_weight, 2),
            num(r.prefill_tokens_per_s, 1),
            num(r.decode_tokens_per_s, 1),
            num(e.joules, 3),
            num(e.joules_prefill, 3),
            num(e.joules_decode, 3),
            num(e.joules_per_token, 4),
            num(e.tokens_per_joule, 2),
            num(e.mah, 4),
            e.battery_pct_per_hour.map_or("—".to_string(), |v| num(v, 1)),
            num(e.avg_watts, 3),
            num(e.uncertainty_pct, 1),
            e.samples,
            esc(&e.source),
            e.flags.iter().map(|f| format!("<span>{}</span>", esc(f))).collect::<String>()
        );
    }
    out.push_str("</tbody></table>");
}
