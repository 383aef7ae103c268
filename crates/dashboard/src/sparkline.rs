//! SVG path data for the per-row sparklines (plain SVG, no chart library: 300 rows update every
//! second, so each is one `d` attribute).
//!
//! Coordinates are integers in a 1200 × 240 `viewBox` (the element is drawn 120 × 24 CSS px):
//! tenth-of-a-pixel precision without float formatting, which dominated the update cost.

/// Width of the sparkline's `viewBox`.
pub const WIDTH: i64 = 1200;
/// Height of the sparkline's `viewBox`.
pub const HEIGHT: i64 = 240;

/// A polyline through the last `slots` of `values` (oldest first), spread over the whole
/// width: once `slots` samples exist each is one of `slots` equal steps (a fixed 60 s axis);
/// before that, the samples there are fill the width, so a row seconds old shows its line
/// rather than a sliver at the right edge (as Beszel's charts start; a fixed axis left 58 of 60
/// steps empty for the first minute). A single sample is a flat line at its value. Values are
/// scaled to `max` (values above it are clipped); a `None` breaks the line. Empty when nothing
/// is known.
pub fn path(values: &[Option<f64>], slots: usize, max: f64) -> String {
    let slots = slots.max(2);
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let skip = values.len().saturating_sub(slots);
    let shown = &values[skip..];
    // Keep the line inside the box: half a stroke from top and bottom.
    let (top, span) = (5.0, (HEIGHT - 10) as f64);
    let y_of = |v: f64| (top + (1.0 - (v / max).clamp(0.0, 1.0)) * span).round() as i64;
    let mut out = String::with_capacity(shown.len() * 10 + 2);
    if let [Some(v)] = shown {
        if v.is_finite() {
            let y = y_of(*v);
            for (pen, x) in [('M', 0), ('L', WIDTH)] {
                out.push(pen);
                push_int(&mut out, x);
                out.push(' ');
                push_int(&mut out, y);
            }
        }
        return out;
    }
    let steps = shown.len().max(2) as i64 - 1;
    let mut pen_down = false;
    for (i, value) in shown.iter().enumerate() {
        match value {
            Some(v) if v.is_finite() => {
                let x = i as i64 * WIDTH / steps;
                out.push(if pen_down { 'L' } else { 'M' });
                push_int(&mut out, x);
                out.push(' ');
                push_int(&mut out, y_of(*v));
                pen_down = true;
            }
            _ => pen_down = false,
        }
    }
    out
}

/// Appends a non-negative integer's digits (negative values are clamped to 0).
fn push_int(out: &mut String, value: i64) {
    let mut value = value.max(0) as u64;
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (value % 10) as u8;
        n += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in digits[..n].iter().rev() {
        out.push(char::from(digit));
    }
}

/// The scale of a CPU sparkline: the largest value shown, at least 1 %, so an idle container
/// is a flat line at the bottom rather than noise blown up to full height.
/// Values no CPU can have (negative, not finite, over [`crate::format::MAX_SHOWN_PERCENT`]) do
/// not set the scale beyond that bound.
pub fn cpu_scale(values: &[Option<f64>]) -> f64 {
    values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max)
        .min(crate::format::MAX_SHOWN_PERCENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The horizontal extent of path data from [`path`], in `viewBox` units: `(leftmost x,
    /// rightmost x)`, `None` for an empty path.
    fn x_extent(path: &str) -> Option<(i64, i64)> {
        path.split(['M', 'L'])
            .filter_map(|point| point.split(' ').next()?.parse::<i64>().ok())
            .fold(None, |extent, x| match extent {
                None => Some((x, x)),
                Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
            })
    }

    #[test]
    fn paths_table() {
        let cases: &[(&[Option<f64>], usize, f64, &str)] = &[
            (&[], 60, 1.0, ""),
            (&[None, None], 60, 1.0, ""),
            (&[None], 60, 1.0, ""),
            (&[Some(f64::NAN)], 60, 1.0, ""),
            (&[Some(0.0), Some(1.0)], 2, 1.0, "M0 235L1200 5"),
            // The first seconds of a row: the samples there are span the width.
            (&[Some(0.5)], 3, 1.0, "M0 120L1200 120"),
            (&[Some(0.5)], 60, 1.0, "M0 120L1200 120"),
            (&[Some(0.0), Some(1.0)], 60, 1.0, "M0 235L1200 5"),
            (
                &[Some(0.0), Some(0.5), Some(1.0)],
                60,
                1.0,
                "M0 235L600 120L1200 5",
            ),
            (&[Some(0.0), None, Some(2.0)], 3, 1.0, "M0 235M1200 5"),
            // Longer than the axis: only the newest `slots` are drawn.
            (&[Some(1.0), Some(0.0), Some(1.0)], 2, 1.0, "M0 235L1200 5"),
            (
                &[Some(-3.0), Some(f64::NAN), Some(0.25)],
                5,
                0.0,
                "M0 235M1200 178",
            ),
        ];
        for (values, slots, max, expected) in cases {
            assert_eq!(path(values, *slots, *max), *expected, "values {values:?}");
        }
    }

    #[test]
    fn a_full_axis_keeps_equal_steps_and_a_young_one_fills_the_width() {
        // (samples known, slots) → horizontal extent of the line
        type Extent = Option<(i64, i64)>;
        let cases: [(usize, usize, Extent); 6] = [
            (0, 60, None),
            (1, 60, Some((0, 1200))),
            (2, 60, Some((0, 1200))),
            (5, 60, Some((0, 1200))),
            (60, 60, Some((0, 1200))),
            (300, 60, Some((0, 1200))),
        ];
        for (n, slots, extent) in cases {
            let values: Vec<Option<f64>> = (0..n).map(|i| Some(i as f64)).collect();
            let d = path(&values, slots, 300.0);
            assert_eq!(x_extent(&d), extent, "{n} samples: {d}");
            let points = d.matches(['M', 'L']).count();
            assert_eq!(points, if n == 1 { 2 } else { n.min(slots) }, "{d}");
        }
        // A full axis: 60 samples, steps of 1200 / 59 (integer division per point).
        let full: Vec<Option<f64>> = vec![Some(1.0); 60];
        let d = path(&full, 60, 1.0);
        assert!(d.starts_with("M0 5L20 5L40 5"), "{d}");
        assert!(d.ends_with("L1200 5"), "{d}");
    }

    #[test]
    fn x_extent_reads_path_data() {
        assert_eq!(x_extent(""), None);
        assert_eq!(x_extent("M1180 5L1200 7"), Some((1180, 1200)));
        assert_eq!(x_extent("M0 235M1200 178"), Some((0, 1200)));
    }

    #[test]
    fn integers_are_written_exactly() {
        for value in [0, 7, 10, 235, 1200, 9_007_199] {
            let mut out = String::new();
            push_int(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        let mut out = String::new();
        push_int(&mut out, -4);
        assert_eq!(out, "0");
    }

    #[test]
    fn cpu_scale_has_a_floor() {
        assert_eq!(cpu_scale(&[]), 1.0);
        assert_eq!(cpu_scale(&[Some(0.2), None]), 1.0);
        assert_eq!(cpu_scale(&[Some(20.0), Some(3.0)]), 20.0);
        assert_eq!(cpu_scale(&[Some(-5.0), Some(f64::INFINITY)]), 1.0);
        assert_eq!(
            cpu_scale(&[Some(1e308), Some(3.0)]),
            crate::format::MAX_SHOWN_PERCENT
        );
    }
}
