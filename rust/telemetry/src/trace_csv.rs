//! Recorded traces as CSV, for fixtures and for traces captured by scripts.
//!
//! ```text
//! # source=pixel-7          (optional directives: source, estimate, end_ms)
//! t_ms,current_ua,voltage_uv,charging,phase
//! 0,-250000,4000000,false,idle_before
//! 250,-250000,4000000,false,
//! ```
//! Columns are named after [`Sample`] fields, in any order and any subset;
//! an empty cell is a missing value. `phase`, when set, marks that phase as
//! starting at the row's `t_ms`. The trace ends at the last row unless
//! `end_ms` says otherwise.

use crate::error::TelemetryError;
use crate::sample::{Phase, PhaseMark, Sample, ThermalState, Trace};

pub fn parse_trace_csv(text: &str) -> Result<Trace, TelemetryError> {
    let mut trace = Trace::new("csv", false);
    let mut header: Option<Vec<String>> = None;
    let mut end_ms: Option<f64> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let err = |message: String| TelemetryError::Csv {
            line: line_no,
            message,
        };
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((key, value)) = comment.split_once('=') {
                let value = value.trim();
                match key.trim() {
                    "source" => trace.source = value.to_string(),
                    "estimate" => {
                        trace.estimate = parse_bool(value)
                            .ok_or_else(|| err(format!("bad estimate {value:?}")))?
                    }
                    "end_ms" => end_ms = Some(parse_num(value).map_err(err)?),
                    _ => {}
                }
            }
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some(cols) = &header else {
            header = Some(cells.iter().map(|c| c.to_ascii_lowercase()).collect());
            if !cells.iter().any(|c| c.eq_ignore_ascii_case("t_ms")) {
                return Err(err("header has no t_ms column".into()));
            }
            continue;
        };
        if cells.len() != cols.len() {
            return Err(err(format!(
                "{} cells, header has {}",
                cells.len(),
                cols.len()
            )));
        }
        let mut s = Sample::at(f64::NAN);
        let mut phase = None;
        for (col, cell) in cols.iter().zip(&cells) {
            if cell.is_empty() {
                continue;
            }
            let num = || parse_num(cell).map_err(err);
            match col.as_str() {
                "t_ms" => s.t_ms = num()?,
                "current_ua" => s.current_ua = Some(num()?),
                "power_uw" => s.power_uw = Some(num()?),
                "voltage_uv" => s.voltage_uv = Some(num()?),
                "battery_pct" => s.battery_pct = Some(num()? as f32),
                "capacity_mah" => s.capacity_mah = Some(num()?),
                "charge_counter_uah" => s.charge_counter_uah = Some(num()?),
                "temperature_c" => s.temperature_c = Some(num()? as f32),
                "charging" => {
                    s.charging = Some(
                        parse_bool(cell).ok_or_else(|| err(format!("bad charging {cell:?}")))?,
                    )
                }
                "thermal" => {
                    s.thermal =
                        parse_thermal(cell).ok_or_else(|| err(format!("bad thermal {cell:?}")))?
                }
                "phase" => {
                    phase = Some(
                        Phase::parse(cell).ok_or_else(|| err(format!("unknown phase {cell:?}")))?,
                    )
                }
                other => return Err(err(format!("unknown column {other:?}"))),
            }
        }
        if !s.t_ms.is_finite() {
            return Err(err("row has no t_ms".into()));
        }
        if let Some(phase) = phase {
            trace.marks.push(PhaseMark {
                phase,
                t_ms: s.t_ms,
            });
        }
        trace.samples.push(s);
    }
    if header.is_none() {
        return Err(TelemetryError::Csv {
            line: 0,
            message: "no header".into(),
        });
    }
    trace.end_ms = end_ms.unwrap_or_else(|| trace.samples.last().map_or(0.0, |s| s.t_ms));
    Ok(trace)
}

fn parse_num(cell: &str) -> Result<f64, String> {
    cell.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("not a number: {cell:?}"))
}

fn parse_bool(cell: &str) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn parse_thermal(cell: &str) -> Option<ThermalState> {
    Some(match cell.to_ascii_lowercase().as_str() {
        "nominal" => ThermalState::Nominal,
        "fair" => ThermalState::Fair,
        "serious" => ThermalState::Serious,
        "critical" => ThermalState::Critical,
        "unknown" => ThermalState::Unknown,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives_columns_and_marks() {
        let t = parse_trace_csv(
            "# source=bench\n# estimate=true\n# end_ms=900\nt_ms,power_uw,charging,thermal,phase\n0,1000000,false,fair,prefill\n500,,true,,decode\n",
        )
        .unwrap();
        assert_eq!(
            (t.source.as_str(), t.estimate, t.end_ms),
            ("bench", true, 900.0)
        );
        assert_eq!(t.samples.len(), 2);
        assert_eq!(t.samples[0].power_uw, Some(1e6));
        assert_eq!(t.samples[0].thermal, ThermalState::Fair);
        assert_eq!(t.samples[1].power_uw, None);
        assert_eq!(t.samples[1].charging, Some(true));
        assert_eq!(
            t.marks,
            vec![
                PhaseMark {
                    phase: Phase::Prefill,
                    t_ms: 0.0
                },
                PhaseMark {
                    phase: Phase::Decode,
                    t_ms: 500.0
                }
            ]
        );
    }

    #[test]
    fn bad_rows_report_their_line() {
        let e = parse_trace_csv("t_ms,current_ua\n0,1\n5,abc\n").unwrap_err();
        assert!(matches!(e, TelemetryError::Csv { line: 3, .. }), "{e}");
        assert!(matches!(
            parse_trace_csv("t_ms,x\n1,2\n"),
            Err(TelemetryError::Csv { line: 2, .. })
        ));
        assert!(matches!(
            parse_trace_csv("t_ms,current_ua\n1\n"),
            Err(TelemetryError::Csv { line: 2, .. })
        ));
        assert!(matches!(
            parse_trace_csv("current_ua\n1\n"),
            Err(TelemetryError::Csv { line: 1, .. })
        ));
        assert!(matches!(
            parse_trace_csv(""),
            Err(TelemetryError::Csv { line: 0, .. })
        ));
    }
}
