//! Human-readable figures for the UI. Every formatter takes whatever an agent sent — negative,
//! huge, `u64::MAX` — and returns something sane: never "NaN", "Infinity", a minus sign where
//! none can be, or hundreds of digits.

use std::borrow::Cow;

/// CPU above this (percent of one core, i.e. a thousand busy cores) is not a reading but a
/// broken agent; it is shown as a bound, not as its digits.
pub const MAX_SHOWN_PERCENT: f64 = 100_000.0;
/// Counts (PIDs) above this are not a reading but a broken agent (Linux allows at most 2^22
/// processes); shown as a bound.
pub const MAX_SHOWN_COUNT: u64 = 99_999_999;
/// Durations from this many seconds on (100 years) are shown as a bound.
pub const MAX_SHOWN_SECS: u64 = 100 * 365 * 86_400;

/// `"12.3 %"`; `"–"` when the agent could not read the figure yet or sent one no CPU can have
/// (negative, not finite); `"> 100000 %"` above [`MAX_SHOWN_PERCENT`].
pub fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() && v >= 0.0 => {
            // `-0.0 >= 0.0`: drop its sign.
            let v = v.abs();
            if v > MAX_SHOWN_PERCENT {
                format!("> {MAX_SHOWN_PERCENT:.0} %")
            } else if v >= 100.0 {
                format!("{v:.0} %")
            } else {
                format!("{v:.1} %")
            }
        }
        _ => "–".to_owned(),
    }
}

/// A whole count as its digits, `"> 99999999"` above [`MAX_SHOWN_COUNT`].
pub fn count(value: u64) -> String {
    if value > MAX_SHOWN_COUNT {
        format!("> {MAX_SHOWN_COUNT}")
    } else {
        value.to_string()
    }
}

/// Binary units, three significant figures: `"512 B"`, `"1.50 KiB"`, `"24.0 MiB"`, `"3.25 GiB"`,
/// up to `"16.0 EiB"` (`u64::MAX`).
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
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

/// The two most significant units: `"45s"`, `"12m 3s"`, `"5h 7m"`, `"3d 4h"`; from
/// [`MAX_SHOWN_SECS`] on, `"> 100 years"`.
pub fn duration(secs: u64) -> String {
    if secs >= MAX_SHOWN_SECS {
        return "> 100 years".to_owned();
    }
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

/// Relative time of a past event: `"just now"`, `"4 s ago"`, `"3 min ago"`, `"2 h ago"`,
/// `"3 d ago"`. A negative or non-finite age (a clock gone wrong) is "just now".
pub fn ago(age_ms: f64) -> String {
    let age_ms = if age_ms.is_finite() { age_ms } else { 0.0 };
    // Saturating float-to-int: negative becomes 0, huge becomes u64::MAX.
    let secs = (age_ms.max(0.0) / 1_000.0).floor() as u64;
    if secs < 2 {
        "just now".to_owned()
    } else if secs < 120 {
        format!("{secs} s ago")
    } else if secs < 7_200 {
        format!("{} min ago", secs / 60)
    } else if secs < 172_800 {
        format!("{} h ago", secs / 3_600)
    } else if secs < MAX_SHOWN_SECS {
        format!("{} d ago", secs / 86_400)
    } else {
        "over 100 years ago".to_owned()
    }
}

/// `text` cut to at most `max_chars` characters, the cut marked with "…" (which counts as one
/// of them). Borrowed when nothing is cut, so the common case costs no copy.
pub fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    // Byte length bounds the character count: most texts are decided without counting.
    if text.len() <= max_chars {
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            let mut out = String::with_capacity(end + 3);
            out.push_str(&text[..end]);
            out.push('…');
            Cow::Owned(out)
        }
    }
}

/// [`truncate`] in place, for strings an agent sent that the dashboard keeps.
pub fn truncate_owned(text: &mut String, max_chars: usize) {
    if let Cow::Owned(cut) = truncate(text, max_chars) {
        *text = cut;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_table() {
        let cases = [
            (None, "–"),
            (Some(f64::NAN), "–"),
            (Some(f64::INFINITY), "–"),
            (Some(f64::NEG_INFINITY), "–"),
            (Some(-5.0), "–"),
            (Some(-0.0), "0.0 %"),
            (Some(0.04), "0.0 %"),
            (Some(19.96), "20.0 %"),
            (Some(250.4), "250 %"),
            (Some(100_000.0), "100000 %"),
            (Some(100_000.5), "> 100000 %"),
            (Some(1e308), "> 100000 %"),
            (Some(f64::MAX), "> 100000 %"),
        ];
        for (value, expected) in cases {
            assert_eq!(percent(value), expected, "{value:?}");
        }
    }

    #[test]
    fn bytes_and_memory_table() {
        let byte_cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.50 KiB"),
            (24 * 1024 * 1024, "24.0 MiB"),
            (512 * 1024 * 1024, "512 MiB"),
            (3_489_660_928, "3.25 GiB"),
            (1 << 50, "1.00 PiB"),
            (1 << 60, "1.00 EiB"),
            (u64::MAX, "16.0 EiB"),
        ];
        for (value, expected) in byte_cases {
            assert_eq!(bytes(value), expected, "{value}");
        }
        let memory_cases = [
            (Some(1024), Some(2048), "1.00 KiB / 2.00 KiB"),
            (Some(10), None, "10 B"),
            (None, Some(10), "–"),
            (Some(u64::MAX), Some(0), "16.0 EiB / 0 B"),
        ];
        for (used, limit, expected) in memory_cases {
            assert_eq!(memory(used, limit), expected);
        }
    }

    #[test]
    fn duration_table() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (61, "1m 1s"),
            (3_725, "1h 2m"),
            (90_000, "1d 1h"),
            (MAX_SHOWN_SECS - 1, "36499d 23h"),
            (MAX_SHOWN_SECS, "> 100 years"),
            (u64::MAX, "> 100 years"),
        ];
        for (secs, expected) in cases {
            assert_eq!(duration(secs), expected, "{secs}");
        }
    }

    #[test]
    fn ago_table() {
        let cases = [
            (-5.0, "just now"),
            (f64::NAN, "just now"),
            (f64::NEG_INFINITY, "just now"),
            (f64::INFINITY, "just now"),
            (1_999.0, "just now"),
            (4_200.0, "4 s ago"),
            (185_000.0, "3 min ago"),
            (7_300_000.0, "2 h ago"),
            (3.0 * 86_400_000.0, "3 d ago"),
            (1e18, "over 100 years ago"),
            (f64::MAX, "over 100 years ago"),
        ];
        for (ms, expected) in cases {
            assert_eq!(ago(ms), expected, "{ms}");
        }
    }

    #[test]
    fn truncate_table() {
        let cases = [
            ("", 5, ""),
            ("short", 5, "short"),
            ("longer", 5, "long…"),
            ("naïveté", 7, "naïveté"),
            ("naïveté!", 7, "naïvet…"),
            ("<img src=x onerror=alert(1)>", 10, "<img src=…"),
            ("ab", 0, "…"),
            ("ab", 1, "…"),
        ];
        for (text, max, expected) in cases {
            assert_eq!(truncate(text, max), expected, "{text:?} to {max}");
        }
        assert!(matches!(truncate("short", 5), Cow::Borrowed(_)));
        let mut owned = "x".repeat(1_000);
        truncate_owned(&mut owned, 10);
        assert_eq!(owned.chars().count(), 10);
        assert!(owned.ends_with('…'));
    }
}
