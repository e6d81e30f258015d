//! Energy of a piecewise-linear power curve over a time window.

/// What one window contributed, in joules unless named otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct WindowEnergy {
    pub joules: f64,
    /// Energy inside gaps longer than the threshold, or extrapolated past the
    /// first/last reading: we drew a line there, we did not measure it.
    pub bridged_joules: f64,
    pub bridged_ms: f64,
    /// Gap between the trapezoid and the left/right rectangle rules: how much
    /// the unknown shape of power between two readings could move the result.
    pub discretization_joules: f64,
}

impl WindowEnergy {
    pub fn mean_watts(&self, duration_ms: f64) -> f64 {
        if duration_ms > 0.0 {
            self.joules / (duration_ms / 1000.0)
        } else {
            0.0
        }
    }
}

/// Integrates `points` (time-sorted `(t_ms, watts)`, at least one) over `[a, b]`
/// with the trapezoidal rule. Outside the readings power is held at the
/// nearest reading and counted as bridged.
pub(crate) fn integrate(points: &[(f64, f64)], a: f64, b: f64, max_gap_ms: f64) -> WindowEnergy {
    let mut w = WindowEnergy::default();
    let (Some(&(t_first, p_first)), Some(&(t_last, p_last))) = (points.first(), points.last())
    else {
        return w;
    };
    if b <= a {
        return w;
    }
    let mut add = |c0: f64, q0: f64, c1: f64, q1: f64, bridged: bool| {
        let dt_s = (c1 - c0) / 1000.0;
        let e = (q0 + q1) / 2.0 * dt_s;
        w.joules += e;
        w.discretization_joules += (q1 - q0).abs() * dt_s / 2.0;
        if bridged {
            w.bridged_joules += e.abs();
            w.bridged_ms += c1 - c0;
        }
    };
    if a < t_first {
        let c1 = b.min(t_first);
        add(a, p_first, c1, p_first, true);
    }
    for pair in points.windows(2) {
        let ((t0, p0), (t1, p1)) = (pair[0], pair[1]);
        let (c0, c1) = (a.max(t0), b.min(t1));
        if t1 <= t0 || c1 <= c0 {
            continue;
        }
        let at = |t: f64| p0 + (p1 - p0) * (t - t0) / (t1 - t0);
        add(c0, at(c0), c1, at(c1), t1 - t0 > max_gap_ms);
    }
    if b > t_last {
        let c0 = a.max(t_last);
        add(c0, p_last, b, p_last, true);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_of_a_ramp_clipped_to_the_window() {
        // 0 W at 0 ms rising to 10 W at 1000 ms; [250, 750] holds 2.5..7.5 W.
        let w = integrate(&[(0.0, 0.0), (1000.0, 10.0)], 250.0, 750.0, 2000.0);
        assert!((w.joules - 2.5).abs() < 1e-12);
        assert!((w.discretization_joules - 1.25).abs() < 1e-12);
        assert_eq!(w.bridged_joules, 0.0);
    }

    #[test]
    fn long_gaps_and_extrapolation_are_counted_as_bridged() {
        let pts = [(0.0, 2.0), (100.0, 2.0), (2100.0, 2.0)];
        let w = integrate(&pts, 0.0, 2600.0, 1000.0);
        assert!((w.joules - 5.2).abs() < 1e-12);
        // 2000 ms gap plus 500 ms held after the last reading.
        assert!((w.bridged_ms - 2500.0).abs() < 1e-9);
        assert!((w.bridged_joules - 5.0).abs() < 1e-12);
    }

    #[test]
    fn empty_or_reversed_windows_are_zero() {
        assert_eq!(integrate(&[], 0.0, 1.0, 1.0), WindowEnergy::default());
        assert_eq!(
            integrate(&[(0.0, 1.0), (1.0, 1.0)], 5.0, 5.0, 1.0),
            WindowEnergy::default()
        );
    }
}
