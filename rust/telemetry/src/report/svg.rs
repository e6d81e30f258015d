//! Minimal SVG plotting: linear scales, tick choice, axes and escaping.

use std::fmt::Write;

pub(crate) const PALETTE: [&str; 8] = [
    "#1b6ca8", "#d1495b", "#2e933c", "#8f5bb5", "#e08e0b", "#00798c", "#6b4226", "#5c5c5c",
];

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number for people: fixed decimals, and a dash for what is not a number.
pub(crate) fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "—".to_string()
    }
}

/// Ticks on 1-2-5 steps covering `[lo, hi]`.
pub(crate) fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Decimals enough to tell neighbouring ticks apart.
pub(crate) fn tick_decimals(ticks: &[f64]) -> usize {
    match ticks {
        [a, b, ..] => ((-(b - a).abs().log10()).ceil().max(0.0) as usize).min(6),
        _ => 2,
    }
}

/// Maps data space onto a plot rectangle inside a `width`×`height` SVG.
pub(crate) struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub x: (f64, f64),
    pub y: (f64, f64),
    /// Off for category axes, where numeric ticks would mean nothing.
    pub y_ticks: bool,
}

impl Frame {
    pub fn new(width: f64, height: f64, x: (f64, f64), y: (f64, f64)) -> Self {
        let widen = |(a, b): (f64, f64)| if b > a { (a, b) } else { (a - 0.5, a + 0.5) };
        Frame {
            width,
            height,
            left: 64.0,
            right: 18.0,
            top: 30.0,
            bottom: 44.0,
            x: widen(x),
            y: widen(y),
            y_ticks: true,
        }
    }
    pub fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x.0) / (self.x.1 - self.x.0) * (self.width - self.left - self.right)
    }
    pub fn py(&self, y: f64) -> f64 {
        self.height
            - self.bottom
            - (y - self.y.0) / (self.y.1 - self.y.0) * (self.height - self.top - self.bottom)
    }
    pub fn plot_bottom(&self) -> f64 {
        self.height - self.bottom
    }

    /// Opens the `<svg>` and draws grid, ticks and axis titles.
    pub fn open(&self, out: &mut String, id: &str, title: &str, x_label: &str, y_label: &str) {
        let (w, h) = (self.width, self.height);
        let _ = write!(
            out,
            r#"<svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">"#,
            t = esc(title)
        );
        let _ = write!(
            out,
            r#"<text x="{}" y="18" class="ctitle">{}</text>"#,
            self.left,
            esc(title)
        );
        let xt = ticks(self.x.0, self.x.1, 8);
        let xd = tick_decimals(&xt);
        for t in &xt {
            let x = self.px(*t);
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"#,
                self.top,
                self.plot_bottom(),
                self.plot_bottom() + 14.0,
                num(*t, xd)
            );
        }
        let yt = if self.y_ticks {
            ticks(self.y.0, self.y.1, 5)
        } else {
            Vec::new()
        };
        let yd = tick_decimals(&yt);
        for t in &yt {
            let y = self.py(*t);
            let _ = write!(
                out,
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
                self.left,
                self.width - self.right,
                self.left - 6.0,
                y + 4.0,
                num(*t, yd)
            );
        }
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="axisbox"/>"#,
            self.left,
            self.top,
            self.width - self.left - self.right,
            self.plot_bottom() - self.top
        );
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="alabel" text-anchor="middle">{}</text><text transform="translate(14 {:.1}) rotate(-90)" class="alabel" text-anchor="middle">{}</text>"#,
            (self.left + self.width - self.right) / 2.0,
            h - 8.0,
            esc(x_label),
            (self.top + self.plot_bottom()) / 2.0,
            esc(y_label)
        );
    }
}

/// `(lo, hi)` of finite values, or `None` when there are none.
pub(crate) fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_use_round_steps_inside_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.3, 1.0, 4);
        let want = [0.4, 0.6, 0.8, 1.0];
        assert_eq!(t.len(), want.len());
        assert!(
            t.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{t:?}"
        );
        assert_eq!(ticks(1.0, 1.0, 4), vec![1.0]);
        assert_eq!(tick_decimals(&[0.0, 0.2]), 1);
        assert_eq!(tick_decimals(&[0.0, 20.0]), 0);
    }

    #[test]
    fn escaping_and_missing_numbers() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(num(f64::NAN, 2), "—");
        assert_eq!(num(1.23456, 2), "1.23");
    }

    #[test]
    fn frame_maps_corners_and_survives_flat_ranges() {
        let f = Frame::new(200.0, 100.0, (0.0, 10.0), (5.0, 5.0));
        assert_eq!(f.px(0.0), f.left);
        assert_eq!(f.px(10.0), 200.0 - f.right);
        assert!(f.py(5.0).is_finite());
    }
}
