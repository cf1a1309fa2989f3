//! Timestamps on the command line and in output. Pure functions of their arguments; all
//! calendar times are UTC (the Java tools use the local time zone, which a `forbid(unsafe)`
//! crate without a time-zone database cannot know).

use protocol::util::clock::{civil_from_days, days_from_civil};

/// Milliseconds per day.
const DAY_MS: i64 = 86_400_000;

/// Parses `now` (→ `now_ms`), milliseconds since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS`
/// (Java's `UtilAll.YYYY_MM_DD_HH_MM_SS_SSS`, taken as UTC).
pub fn parse_timestamp(text: &str, now_ms: i64) -> Option<i64> {
    let text = text.trim();
    if text == "now" {
        return Some(now_ms);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    let (date, time) = text.split_once('#')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second, milli) = (t.next()??, t.next()??, t.next()??, t.next()??);
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..60).contains(&second)
        && (0..1000).contains(&milli);
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + milli)
}

/// `yyyy-MM-dd HH:mm:ss,SSS` (UTC), Java's `timeMillisToHumanString2` layout.
pub fn format_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = split(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02},{milli:03}")
}

/// `yyyy-MM-dd HH:mm:ss` (UTC).
pub fn format_secs(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = split(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

fn split(ms: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let (y, mo, d) = civil_from_days(days);
    let secs = in_day / 1000;
    (
        y,
        mo,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        in_day % 1000,
    )
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_three_forms() {
        assert_eq!(parse_timestamp("now", 7), Some(7));
        assert_eq!(
            parse_timestamp(" 1700000000000 ", 7),
            Some(1_700_000_000_000)
        );
        // 2023-11-14T22:13:20.000Z is 1_700_000_000_000.
        assert_eq!(
            parse_timestamp("2023-11-14#22:13:20:000", 0),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_timestamp("1970-01-01#00:00:00:001", 0), Some(1));
        assert_eq!(
            parse_timestamp("2024-02-29#23:59:59:999", 0),
            Some(1_709_251_199_999)
        );
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "yesterday",
            "2023-11-14",
            "2023-11-14#22:13:20",
            "2023-13-01#00:00:00:000",
            "2023-02-29#00:00:00:000",
            "2023-11-14#24:00:00:000",
            "2023-11-14#22:13:20:000:1",
            "2023-11-14-1#22:13:20:000",
        ] {
            assert_eq!(parse_timestamp(bad, 0), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_ms(1_700_000_000_123), "2023-11-14 22:13:20,123");
        assert_eq!(format_secs(1_700_000_000_123), "2023-11-14 22:13:20");
        assert_eq!(format_ms(0), "1970-01-01 00:00:00,000");
        for ms in [0, 1, 951_782_400_000, 4_102_444_800_000, 1_709_251_199_999] {
            let (y, mo, d, h, mi, s, milli) = split(ms);
            let text = format!("{y:04}-{mo:02}-{d:02}#{h:02}:{mi:02}:{s:02}:{milli:03}");
            assert_eq!(parse_timestamp(&text, 0), Some(ms));
        }
    }
}
