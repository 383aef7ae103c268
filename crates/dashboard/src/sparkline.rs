//! SVG path data for the per-row sparklines (plain SVG, no chart library: 300 rows update every
//! second, so each is one `d` attribute).

/// Width of the sparkline's `viewBox`.
pub const WIDTH: f64 = 120.0;
/// Height of the sparkline's `viewBox`.
pub const HEIGHT: f64 = 24.0;

/// A polyline through `values` (oldest first), right-aligned so the newest point sits at the
/// right edge and each slot is one of `slots` equal steps. Values are scaled to `max` (values
/// above it are clipped); a `None` breaks the line. Empty when nothing is known.
pub fn path(values: &[Option<f64>], slots: usize, max: f64) -> String {
    let slots = slots.max(2);
    let step = WIDTH / (slots - 1) as f64;
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let first_slot = slots.saturating_sub(values.len());
    let skip = values.len().saturating_sub(slots);
    let mut out = String::with_capacity(values.len() * 12);
    let mut pen_down = false;
    for (i, value) in values.iter().skip(skip).enumerate() {
        match value {
            Some(v) if v.is_finite() => {
                let x = (first_slot + i) as f64 * step;
                let y = HEIGHT - (v / max).clamp(0.0, 1.0) * (HEIGHT - 1.0) - 0.5;
                out.push(if pen_down { 'L' } else { 'M' });
                out.push_str(&format!("{x:.1} {y:.1}"));
                pen_down = true;
            }
            _ => pen_down = false,
        }
    }
    out
}

/// The scale of a CPU sparkline: the largest value shown, at least 1 %, so an idle container
/// is a flat line at the bottom rather than noise blown up to full height.
pub fn cpu_scale(values: &[Option<f64>]) -> f64 {
    values.iter().flatten().copied().fold(1.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_table() {
        let cases: &[(&[Option<f64>], usize, f64, &str)] = &[
            (&[], 60, 1.0, ""),
            (&[None, None], 60, 1.0, ""),
            (&[Some(0.0), Some(1.0)], 2, 1.0, "M0.0 23.5L120.0 0.5"),
            (&[Some(0.5)], 3, 1.0, "M120.0 12.0"),
            (&[Some(0.0), None, Some(2.0)], 3, 1.0, "M0.0 23.5M120.0 0.5"),
            (
                &[Some(1.0), Some(0.0), Some(1.0)],
                2,
                1.0,
                "M0.0 23.5L120.0 0.5",
            ),
        ];
        for (values, slots, max, expected) in cases {
            assert_eq!(path(values, *slots, *max), *expected, "values {values:?}");
        }
    }

    #[test]
    fn cpu_scale_has_a_floor() {
        assert_eq!(cpu_scale(&[]), 1.0);
        assert_eq!(cpu_scale(&[Some(0.2), None]), 1.0);
        assert_eq!(cpu_scale(&[Some(20.0), Some(3.0)]), 20.0);
    }
}
