//! Human-readable figures for the UI.

/// `"12.3 %"`, or `"–"` when the agent could not read the figure yet.
pub fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => {
            if v >= 100.0 {
                format!("{v:.0} %")
            } else {
                format!("{v:.1} %")
            }
        }
        _ => "–".to_owned(),
    }
}

/// Binary units, three significant figures: `"512 B"`, `"1.50 KiB"`, `"24.0 MiB"`, `"3.25 GiB"`.
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if value < 1024 {
        return format!("{value} B");
    }
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= 1024.0 && unit < UNITS.len() - 1 {
        scaled /= 1024.0;
        unit += 1;
    }
    let digits = if scaled >= 100.0 {
        0
    } else if scaled >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.digits$} {}", UNITS[unit])
}

/// `"used / limit"` with either side possibly unknown.
pub fn memory(used: Option<u64>, limit: Option<u64>) -> String {
    match (used, limit) {
        (Some(used), Some(limit)) => format!("{} / {}", bytes(used), bytes(limit)),
        (Some(used), None) => bytes(used),
        (None, _) => "–".to_owned(),
    }
}

/// The two most significant units: `"45s"`, `"12m 3s"`, `"5h 7m"`, `"3d 4h"`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// Relative time of a past event: `"just now"`, `"4 s ago"`, `"3 min ago"`, `"2 h ago"`.
pub fn ago(age_ms: f64) -> String {
    let secs = (age_ms.max(0.0) / 1_000.0).floor() as u64;
    if secs < 2 {
        "just now".to_owned()
    } else if secs < 120 {
        format!("{secs} s ago")
    } else if secs < 7_200 {
        format!("{} min ago", secs / 60)
    } else {
        format!("{} h ago", secs / 3_600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_table() {
        assert_eq!(percent(None), "–");
        assert_eq!(percent(Some(f64::NAN)), "–");
        assert_eq!(percent(Some(0.04)), "0.0 %");
        assert_eq!(percent(Some(19.96)), "20.0 %");
        assert_eq!(percent(Some(250.4)), "250 %");

        let byte_cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.50 KiB"),
            (24 * 1024 * 1024, "24.0 MiB"),
            (512 * 1024 * 1024, "512 MiB"),
            (3_489_660_928, "3.25 GiB"),
        ];
        for (value, expected) in byte_cases {
            assert_eq!(bytes(value), expected);
        }
        assert_eq!(memory(Some(1024), Some(2048)), "1.00 KiB / 2.00 KiB");
        assert_eq!(memory(Some(10), None), "10 B");
        assert_eq!(memory(None, Some(10)), "–");

        let durations = [
            (0, "0s"),
            (59, "59s"),
            (61, "1m 1s"),
            (3_725, "1h 2m"),
            (90_000, "1d 1h"),
        ];
        for (secs, expected) in durations {
            assert_eq!(duration(secs), expected);
        }

        let ages = [
            (-5.0, "just now"),
            (1_999.0, "just now"),
            (4_200.0, "4 s ago"),
            (185_000.0, "3 min ago"),
            (7_300_000.0, "2 h ago"),
        ];
        for (ms, expected) in ages {
            assert_eq!(ago(ms), expected);
        }
    }
}
