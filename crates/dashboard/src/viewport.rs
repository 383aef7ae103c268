//! Which rows of a long list are near the viewport, and which rendered rows show them.
//!
//! With "show all", a card of hundreds of containers renders only the rows on screen plus a
//! margin, in a body as tall as the whole list (every row is exactly [`ROW_PX`] tall and
//! placed at its position). Re-ordering or updating the list then costs Chromium's style,
//! layout and paint a few dozen rows, not hundreds. As the page scrolls, rendered rows that
//! left the window are reused for the positions that entered it ([`reassign`]): a scroll
//! changes what some rows show and where, and creates no elements.

use std::ops::Range;

/// Height of one container row in CSS pixels: `.containers .body .row` in `style/main.css`.
pub const ROW_PX: f64 = 34.0;

/// Rows rendered beyond each edge of the viewport, so that a scroll finds rows already drawn.
pub const OVERSCAN: usize = 10;

/// Rows rendered when the list's place on screen is unknown: a tall screen's worth.
pub const FALLBACK_ROWS: usize = 100;

/// The rows of a `len`-row list to render, when the list's top edge is `top_px` from the top
/// of a viewport `height_px` tall (negative once scrolled past): those intersecting the
/// viewport, widened by [`OVERSCAN`] on each side. Nonsense geometry renders the first
/// [`FALLBACK_ROWS`] rows (a list of 10,000 must not become 10,000 elements).
#[must_use]
pub fn rows_in_view(top_px: f64, height_px: f64, len: usize) -> Range<usize> {
    if !top_px.is_finite() || !height_px.is_finite() || height_px < 0.0 {
        return 0..len.min(FALLBACK_ROWS);
    }
    // Saturating float-to-int: negative becomes 0, huge becomes usize::MAX.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rows = |rows: f64| rows as usize;
    let first = rows((-top_px / ROW_PX).floor());
    let end = rows(((height_px - top_px) / ROW_PX).ceil());
    let start = first.saturating_sub(OVERSCAN).min(len);
    let end = end.saturating_add(OVERSCAN).clamp(start, len);
    start..end
}

/// How rendered rows follow a new window: see [`reassign`].
#[derive(Debug, PartialEq, Eq)]
pub struct Reassignment {
    /// For each rendered row, in order: its position in the new window, or `None` when it is
    /// no longer needed.
    pub moves: Vec<Option<usize>>,
    /// Positions no rendered row could take: new rows are needed for them, in this order.
    pub added: Vec<usize>,
}

/// Rendered rows now at `positions` (one each) follow `window`: a row whose position is still
/// in the window stays; rows that left it take the positions that entered it, in order; the
/// positions left over need new rows, the rows left over go.
#[must_use]
pub fn reassign(positions: &[usize], window: Range<usize>) -> Reassignment {
    let held: std::collections::HashSet<usize> = positions
        .iter()
        .copied()
        .filter(|p| window.contains(p))
        .collect();
    let mut entered = window.filter(|p| !held.contains(p));
    let moves = positions
        .iter()
        .map(|p| {
            if held.contains(p) {
                Some(*p)
            } else {
                entered.next()
            }
        })
        .collect();
    Reassignment {
        moves,
        added: entered.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassign_reuses_rows_that_left_the_window() {
        // (rows at, new window) → (their new positions, positions needing new rows)
        type Case = (
            &'static [usize],
            Range<usize>,
            Vec<Option<usize>>,
            Vec<usize>,
        );
        let cases: Vec<Case> = vec![
            // Unchanged.
            (&[0, 1, 2], 0..3, vec![Some(0), Some(1), Some(2)], vec![]),
            // Scrolled down two rows: the two top rows go to the bottom.
            (
                &[0, 1, 2, 3],
                2..6,
                vec![Some(4), Some(5), Some(2), Some(3)],
                vec![],
            ),
            // Scrolled up one row: the bottom row comes to the top.
            (
                &[4, 5, 2, 3],
                1..5,
                vec![Some(4), Some(1), Some(2), Some(3)],
                vec![],
            ),
            // The window grew: new rows for the rest.
            (&[0, 1], 0..4, vec![Some(0), Some(1)], vec![2, 3]),
            // It shrank: the rows beyond it go.
            (
                &[0, 1, 2, 3],
                0..2,
                vec![Some(0), Some(1), None, None],
                vec![],
            ),
            // A jump far away: every row is reused.
            (
                &[0, 1, 2],
                50..53,
                vec![Some(50), Some(51), Some(52)],
                vec![],
            ),
            // From nothing, and to nothing.
            (&[], 0..3, vec![], vec![0, 1, 2]),
            (&[7, 8], 0..0, vec![None, None], vec![]),
        ];
        for (at, window, moves, added) in cases {
            assert_eq!(
                reassign(at, window.clone()),
                Reassignment { moves, added },
                "rows at {at:?} → {window:?}"
            );
        }
    }

    #[test]
    fn rows_in_view_covers_the_viewport_plus_the_overscan() {
        // (list top, viewport height, rows) → rendered range; rows are 34 px.
        let cases: &[(f64, f64, usize, Range<usize>)] = &[
            // List starts 400 px down a 900 px viewport: 15 rows fit (500 / 34 = 14.7), + 10.
            (400.0, 900.0, 100, 0..25),
            // Scrolled 1000 px past the list's top: row 29 is at the top edge.
            (-1000.0, 900.0, 100, 19..66),
            // Exactly on a row boundary.
            (-340.0, 340.0, 100, 0..30),
            // Near the end: clamped to the list.
            (-3000.0, 900.0, 100, 78..100),
            // Short list: all of it.
            (100.0, 900.0, 12, 0..12),
            // List below the viewport: only the overscan, ready for the scroll.
            (2000.0, 900.0, 100, 0..10),
            // List scrolled far above the viewport: nothing.
            (-10_000.0, 900.0, 100, 100..100),
            (0.0, 900.0, 0, 0..0),
            // Nonsense geometry renders everything.
            (f64::NAN, 900.0, 50, 0..50),
            (0.0, f64::INFINITY, 50, 0..50),
            (f64::NAN, 900.0, 10_000, 0..FALLBACK_ROWS),
            (0.0, -1.0, 50, 0..50),
        ];
        for (top, height, len, want) in cases {
            assert_eq!(
                rows_in_view(*top, *height, *len),
                *want,
                "top {top}, height {height}, len {len}"
            );
        }
    }

    #[test]
    fn every_row_on_screen_is_rendered_at_any_scroll_position() {
        let len = 300;
        for scrolled in (0..12_000).step_by(7) {
            let top = 200.0 - f64::from(scrolled);
            let range = rows_in_view(top, 700.0, len);
            for row in 0..len {
                #[allow(clippy::cast_precision_loss)]
                let row_top = top + row as f64 * ROW_PX;
                let on_screen = row_top < 700.0 && row_top + ROW_PX > 0.0;
                assert!(
                    !on_screen || range.contains(&row),
                    "row {row} on screen but not rendered at scroll {scrolled}: {range:?}"
                );
            }
        }
    }
}
