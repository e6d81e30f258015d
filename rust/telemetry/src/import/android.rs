//! Android BatteryManager logs. The companion apps log one row per reading:
//! epoch milliseconds, then the requested properties in order, with
//! `BATTERY_PROPERTY_CURRENT_NOW` as the device reports it (µA by the
//! documentation, mA on some phones) and `EXTRA_VOLTAGE` in mV. Values are
//! put in the [`Trace`] as reported; the normaliser decides the units.

use crate::error::TelemetryError;
use crate::sample::{Sample, Trace};

/// The columns of a logcat `stats =>` line when none are given (the
/// companion app logs values only; android-runner's default data points).
pub const DEFAULT_LOGCAT_COLUMNS: &[&str] = &["Timestamp", "BATTERY_PROPERTY_CURRENT_NOW", "EXTRA_VOLTAGE"];

/// Puts one named value into `s`; unknown columns are ignored.
fn set(s: &mut Sample, column: &str, cell: &str) -> Result<(), String> {
    let num = || cell.parse::<f64>().map_err(|_| format!("{column}: not a number: {cell:?}"));
    match column {
        "BATTERY_PROPERTY_CURRENT_NOW" => s.current_ua = Some(num()?),
        "EXTRA_VOLTAGE" => s.voltage_uv = Some(num()?),
        "BATTERY_PROPERTY_CHARGE_COUNTER" => s.charge_counter_uah = Some(num()?),
        "EXTRA_TEMPERATURE" => s.temperature_c = Some((num()? / 10.0) as f32),
        "BATTERY_PROPERTY_CAPACITY" | "EXTRA_LEVEL" => s.battery_pct = Some(num()? as f32),
        "ACTION_CHARGING" => s.charging = Some(cell == "true"),
        "ACTION_DISCHARGING" => s.charging = Some(cell != "true"),
        // EXTRA_PLUGGED: 0 on battery, a BATTERY_PLUGGED_* bit otherwise.
        "EXTRA_PLUGGED" => s.charging = Some(num()? != 0.0),
        _ => {}
    }
    Ok(())
}

fn rows<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    columns: &[&str],
    source: &str,
) -> Result<Trace, TelemetryError> {
    let t_col = columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case("Timestamp"))
        .ok_or_else(|| TelemetryError::Csv { line: 1, message: "no Timestamp column".into() })?;
    let mut trace = Trace::new(source, false);
    for (line, row) in lines {
        let err = |message: String| TelemetryError::Csv { line, message };
        let cells: Vec<&str> = row.split(',').map(str::trim).collect();
        if cells.len() != columns.len() {
            return Err(err(format!("{} values for {} columns", cells.len(), columns.len())));
        }
        let t: f64 = cells[t_col].parse().map_err(|_| err(format!("bad timestamp {:?}", cells[t_col])))?;
        let mut s = Sample::at(t);
        for (c, v) in columns.iter().zip(&cells) {
            set(&mut s, c, v).map_err(err)?;
        }
        trace.samples.push(s);
    }
    trace.end_ms = trace.samples.iter().map(|s| s.t_ms).fold(f64::NEG_INFINITY, f64::max);
    Ok(trace)
}

/// The CSV: a header naming the columns, then one row per reading.
pub fn parse_batterymanager(text: &str) -> Result<Trace, TelemetryError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty());
    let (_, header) = lines.next().ok_or(TelemetryError::NoPowerData)?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    rows(lines, &columns, "android-batterymanager")
}

/// `adb logcat` output: the `stats => v1,v2,…` lines, in `columns` order;
/// everything else in the log is skipped.
pub fn parse_logcat_stats(text: &str, columns: &[&str]) -> Result<Trace, TelemetryError> {
    let lines = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.split_once("stats => ").map(|(_, v)| (i + 1, v.trim())))
        // The plugin drops quoted lines (string-valued data points).
        .filter(|(_, v)| !v.contains('"'));
    let mut trace = rows(lines, columns, "android-batterymanager-logcat")?;
    trace.samples.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_logcat_give_the_same_samples() {
        let csv = "Timestamp,BATTERY_PROPERTY_CURRENT_NOW,EXTRA_VOLTAGE\n1000,-250000,4000\n1100,-260000,4001\n";
        let logcat = "12-01 10:00:00.100  123  456 I BatteryMgr:DataCollectionService: stats => 1100,-260000,4001\n\
                      12-01 10:00:00.000  123  456 I ActivityManager: unrelated\n\
                      12-01 10:00:00.000  123  456 I BatteryMgr:DataCollectionService: stats => 1000,-250000,4000\n";
        let a = parse_batterymanager(csv).unwrap();
        let b = parse_logcat_stats(logcat, DEFAULT_LOGCAT_COLUMNS).unwrap();
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.samples[1].current_ua, Some(-260_000.0));
        assert_eq!(a.samples[1].voltage_uv, Some(4001.0));
    }

    #[test]
    fn malformed_rows_are_typed_errors() {
        assert!(matches!(parse_batterymanager("Timestamp,X\n1,2,3\n"), Err(TelemetryError::Csv { line: 2, .. })));
        assert!(matches!(parse_batterymanager("A,B\n1,2\n"), Err(TelemetryError::Csv { .. })));
        assert!(parse_batterymanager("Timestamp,EXTRA_VOLTAGE\nx,4000\n").is_err());
    }
}
