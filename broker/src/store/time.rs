//! Clock helpers: the wall clock in ms, and pure local-time arithmetic (index file names,
//! the `deleteWhen` hour) given a UTC offset.
//!
//! The crate is unsafe-free, so it cannot call `localtime_r`; the local UTC offset is read once
//! from `date +%z` ([`local_utc_offset_secs`]) and passed to the pure functions.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in ms since the epoch. The store takes one so tests can control store
/// timestamps; production uses [`system_clock`].
pub type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock as a [`Clock`].
pub fn system_clock() -> Clock {
    std::sync::Arc::new(now_ms)
}

/// Wall-clock time in ms since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The local UTC offset in seconds, from `date +%z`; 0 (UTC) when unavailable.
pub fn local_utc_offset_secs() -> i32 {
    let out = std::process::Command::new("date").arg("+%z").output();
    match out {
        Ok(o) if o.status.success() => parse_utc_offset(&String::from_utf8_lossy(&o.stdout)),
        _ => None,
    }
    .unwrap_or(0)
}

/// Parses `+0800` / `-0530` into seconds.
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

/// Calendar fields of a local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Year.
    pub year: i64,
    /// Month 1..=12.
    pub month: u32,
    /// Day 1..=31.
    pub day: u32,
    /// Hour 0..=23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
    /// Millisecond.
    pub milli: u32,
}

/// Local calendar time of `ms` (epoch ms) at `utc_offset_secs`.
pub fn local_time(ms: i64, utc_offset_secs: i32) -> LocalTime {
    let local = ms + i64::from(utc_offset_secs) * 1000;
    let days = local.div_euclid(86_400_000);
    let rem = local.rem_euclid(86_400_000);
    let (year, month, day) = protocol::util::clock::civil_from_days(days);
    let (month, day) = (month as u32, day as u32); // 1..=12 and 1..=31
    LocalTime {
        year,
        month,
        day,
        hour: (rem / 3_600_000) as u32,
        minute: (rem / 60_000 % 60) as u32,
        second: (rem / 1000 % 60) as u32,
        milli: (rem % 1000) as u32,
    }
}

/// `yyyyMMddHHmmssSSS` of `ms` in local time (index file names).
pub fn format_yyyymmddhhmmsssss(ms: i64, utc_offset_secs: i32) -> String {
    let t = local_time(ms, utc_offset_secs);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.milli
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2021-03-04 05:06:07.089 UTC
        let ms = 1_614_834_367_089;
        assert_eq!(format_yyyymmddhhmmsssss(ms, 0), "20210304050607089");
        assert_eq!(format_yyyymmddhhmmsssss(ms, 8 * 3600), "20210304130607089");
        assert_eq!(local_time(ms, -6 * 3600).day, 3);
        assert_eq!(format_yyyymmddhhmmsssss(0, 0), "19700101000000000");
        // leap day
        assert_eq!(
            format_yyyymmddhhmmsssss(951_782_400_000, 0),
            "20000229000000000"
        );
    }

    #[test]
    fn parses_offsets() {
        assert_eq!(parse_utc_offset("+0800\n"), Some(28_800));
        assert_eq!(parse_utc_offset("-0530"), Some(-19_800));
        assert_eq!(parse_utc_offset("UTC"), None);
    }
}
