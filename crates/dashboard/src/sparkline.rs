//! SVG path data for the per-row sparklines (plain SVG, no chart library: 300 rows update every
//! second, so each is one `d` attribute).
//!
//! Coordinates are integers in a 1200 × 240 `viewBox` (the element is drawn 120 × 24 CSS px):
//! tenth-of-a-pixel precision without float formatting, which dominated the update cost.

/// Width of the sparkline's `viewBox`.
pub const WIDTH: i64 = 1200;
/// Height of the sparkline's `viewBox`.
pub const HEIGHT: i64 = 240;

/// A polyline through `values` (oldest first), right-aligned so the newest point sits at the
/// right edge and each slot is one of `slots` equal steps. Values are scaled to `max` (values
/// above it are clipped); a `None` breaks the line. Empty when nothing is known.
pub fn path(values: &[Option<f64>], slots: usize, max: f64) -> String {
    let slots = slots.max(2);
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let first_slot = slots.saturating_sub(values.len());
    let skip = values.len().saturating_sub(slots);
    // Keep the line inside the box: half a stroke from top and bottom.
    let (top, span) = (5.0, (HEIGHT - 10) as f64);
    let mut out = String::with_capacity(values.len().min(slots) * 10);
    let mut pen_down = false;
    for (i, value) in values.iter().skip(skip).enumerate() {
        match value {
            Some(v) if v.is_finite() => {
                let slot = (first_slot + i) as i64;
                let x = slot * WIDTH / (slots as i64 - 1);
                let y = (top + (1.0 - (v / max).clamp(0.0, 1.0)) * span).round() as i64;
                out.push(if pen_down { 'L' } else { 'M' });
                push_int(&mut out, x);
                out.push(' ');
                push_int(&mut out, y);
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

    #[test]
    fn paths_table() {
        let cases: &[(&[Option<f64>], usize, f64, &str)] = &[
            (&[], 60, 1.0, ""),
            (&[None, None], 60, 1.0, ""),
            (&[Some(0.0), Some(1.0)], 2, 1.0, "M0 235L1200 5"),
            (&[Some(0.5)], 3, 1.0, "M1200 120"),
            (&[Some(0.0), None, Some(2.0)], 3, 1.0, "M0 235M1200 5"),
            (&[Some(1.0), Some(0.0), Some(1.0)], 2, 1.0, "M0 235L1200 5"),
            (
                &[Some(-3.0), Some(f64::NAN), Some(0.25)],
                5,
                0.0,
                "M600 235M1200 178",
            ),
        ];
        for (values, slots, max, expected) in cases {
            assert_eq!(path(values, *slots, *max), *expected, "values {values:?}");
        }
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
