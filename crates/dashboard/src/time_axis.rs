//! Where a chart's time axis puts its labels: a round interval that leaves each label room at
//! the chart's width (pure, so it is tested on the host; `chart.rs` hands it to ECharts).

/// Left margin of the plot, in CSS pixels (the CPU axis' labels).
pub const GRID_LEFT: f64 = 44.0;
/// Right margin of the plot, in CSS pixels (the memory axis' labels).
pub const GRID_RIGHT: f64 = 52.0;
/// Room one time label needs: `"15:11:10"` is 47 px wide in ECharts' 12 px sans-serif, plus a
/// gap.
pub const LABEL_PX: f64 = 64.0;
/// Intervals between time labels at most, however wide the chart (and when its width is not
/// known yet).
pub const MAX_INTERVALS: f64 = 6.0;

/// Round tick intervals, shortest first (ms).
const STEPS_MS: [f64; 8] = [10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 1_800e3];

/// The axis start and a round tick interval for a chart `width` CSS pixels wide spanning
/// `oldest`..`newest` (ms): the start aligned down to the interval, so labels fall on round
/// times; the shortest interval that gives every label [`LABEL_PX`] of the plot and makes at
/// most [`MAX_INTERVALS`]. ECharts left to itself labels a one-minute span every 10 s, which
/// overlaps on a phone.
pub fn ticks(oldest: f64, newest: f64, width: Option<f64>) -> (f64, f64) {
    let plot = width
        .filter(|w| w.is_finite())
        .map(|w| (w - GRID_LEFT - GRID_RIGHT).max(1.0));
    let start = |step: f64| (oldest / step).floor() * step;
    let fits = |step: f64| {
        let span = (newest - start(step)).max(1.0);
        span / step <= MAX_INTERVALS && plot.is_none_or(|plot| plot * step / span >= LABEL_PX)
    };
    let last = STEPS_MS[STEPS_MS.len() - 1];
    let interval = STEPS_MS
        .iter()
        .copied()
        .find(|&step| fits(step))
        .unwrap_or(last);
    (start(interval), interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round hour (ms since the epoch).
    const T0: f64 = 472_222.0 * 3_600_000.0;
    const MIN: f64 = 60_000.0;
    /// The detail chart's width on a 375 px phone.
    const PHONE: Option<f64> = Some(330.0);
    const DESKTOP: Option<f64> = Some(600.0);

    #[test]
    fn ticks_table() {
        // (oldest, newest, width) → (axis start, interval)
        let cases = [
            // The first minute on a desktop: 15 s steps from a round quarter minute.
            ((T0 + 1_000.0, T0 + 61_000.0, DESKTOP), (T0, 15e3)),
            ((T0 + 1_000.0, T0 + 61_000.0, None), (T0, 15e3)),
            // The same minute on a phone: 30 s steps.
            ((T0 + 1_000.0, T0 + 61_000.0, PHONE), (T0, 30e3)),
            ((T0 + 16_000.0, T0 + 76_000.0, PHONE), (T0, 30e3)),
            // Narrower still: a minute.
            ((T0 + 1_000.0, T0 + 61_000.0, Some(200.0)), (T0, 60e3)),
            // Five minutes: 1-minute steps on a desktop, 2 on a phone.
            (
                (T0 + 7_000.0, T0 + 5.0 * MIN + 7_000.0, DESKTOP),
                (T0, 60e3),
            ),
            ((T0 + 7_000.0, T0 + 5.0 * MIN + 7_000.0, PHONE), (T0, 120e3)),
            // Longer than the steps go: the longest.
            ((T0, T0 + 600.0 * MIN, DESKTOP), (T0, 1_800e3)),
            // Nothing to span, or no room at all.
            ((T0, T0, DESKTOP), (T0, 10e3)),
            ((T0, T0 + MIN, Some(0.0)), (T0, 1_800e3)),
        ];
        for ((oldest, newest, width), want) in cases {
            assert_eq!(
                ticks(oldest, newest, width),
                want,
                "{oldest} {newest} {width:?}"
            );
        }
    }

    #[test]
    fn every_label_gets_its_room() {
        for width in [250.0, 330.0, 400.0, 600.0, 1_200.0] {
            let plot = width - GRID_LEFT - GRID_RIGHT;
            for offset in [0.0, 1_000.0, 14_999.0, 29_999.0, 59_999.0] {
                for span in [MIN, 2.0 * MIN, 5.0 * MIN] {
                    let (oldest, newest) = (T0 + offset, T0 + offset + span);
                    let (start, interval) = ticks(oldest, newest, Some(width));
                    assert!(start <= oldest && start > oldest - interval);
                    let intervals = (newest - start) / interval;
                    assert!(intervals <= MAX_INTERVALS, "{width} {offset} {span}");
                    let px = plot * interval / (newest - start);
                    assert!(
                        px >= LABEL_PX,
                        "{width} px, {offset}, {span}: {px} px per label"
                    );
                }
            }
        }
    }
}
