//! Timestamps on the wire: RFC 3339 strings (any offset) or epoch milliseconds.
//!
//! Formatting is hand-written for the years 0000 to 9999 (a civil date from a day number by
//! Howard Hinnant's `civil_from_days`, digits into fixed arrays); other values take
//! chrono's formatting, so the text is chrono's for every input.

use crate::event::{Millis, DAY_MS};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Day number of 0000-01-01, the first day formatted by hand.
const FIRST_DAY: i64 = -719_528;
/// Day number of 9999-12-31, the last day formatted by hand.
const LAST_DAY: i64 = 2_932_896;

/// Parses an RFC 3339 timestamp with an explicit offset into epoch milliseconds.
/// A timestamp without an offset is rejected.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    // RFC 3339 is ASCII; chrono also takes a Unicode minus sign (U+2212) in the offset.
    if !s.is_ascii() {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-20T15:04:05Z`, with millis when non-zero).
pub fn format_rfc3339(t: Millis) -> String {
    let mut s = String::with_capacity(24);
    write_rfc3339(&mut s, t);
    s
}

/// Appends epoch milliseconds as RFC 3339 UTC to `out`, as [`format_rfc3339`] writes them.
pub fn write_rfc3339(out: &mut String, t: Millis) {
    let day = t.div_euclid(DAY_MS);
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        out.push_str(&chrono_rfc3339(t));
        return;
    }
    let ms = t.rem_euclid(DAY_MS) as u32;
    let (secs, millis) = (ms / 1000, ms % 1000);
    let [h0, h1] = two_digits(secs / 3600);
    let [m0, m1] = two_digits(secs / 60 % 60);
    let [s0, s1] = two_digits(secs % 60);
    push_ascii(out, &date(day));
    push_ascii(out, &[b'T', h0, h1, b':', m0, m1, b':', s0, s1]);
    if millis != 0 {
        let [c0, c1] = two_digits(millis / 10);
        push_ascii(out, &[b'.', c0, c1, digit(millis % 10)]);
    }
    out.push('Z');
}

/// Formats a UTC day number (days since 1970-01-01) as `YYYY-MM-DD`.
pub fn format_day(day: i32) -> String {
    let mut s = String::with_capacity(10);
    write_day(&mut s, day);
    s
}

/// Appends a UTC day number as `YYYY-MM-DD` to `out`, as [`format_day`] writes it.
pub fn write_day(out: &mut String, day: i32) {
    let day = i64::from(day);
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        out.push_str(&chrono_day(day));
        return;
    }
    push_ascii(out, &date(day));
}

/// The date of a day number in `FIRST_DAY..=LAST_DAY` as `YYYY-MM-DD`.
fn date(day: i64) -> [u8; 10] {
    let (year, month, dom) = civil_from_days(day);
    let [y0, y1] = two_digits(year / 100);
    let [y2, y3] = two_digits(year % 100);
    let [m0, m1] = two_digits(month);
    let [d0, d1] = two_digits(dom);
    [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1]
}

/// The proleptic Gregorian (year, month, day) of a day number in `FIRST_DAY..=LAST_DAY`, by
/// Howard Hinnant's `civil_from_days`: eras of 400 years (146 097 days) whose years start on
/// March 1st, so the leap day is the last day of a year. Counting from -0400-03-01 keeps
/// every quantity non-negative.
fn civil_from_days(day: i64) -> (u32, u32, u32) {
    debug_assert!((FIRST_DAY..=LAST_DAY).contains(&day));
    let z = (day + 719_468 + 146_097) as u32; // days since -0400-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of the era, 0..=146_096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of the era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let dom = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u32::from(month <= 2) - 400;
    (year, month, dom)
}

/// The two ASCII digits of a value below 100.
fn two_digits(n: u32) -> [u8; 2] {
    [digit(n / 10), digit(n % 10)]
}

/// The ASCII digit of a value below 10.
fn digit(n: u32) -> u8 {
    b'0' + n as u8
}

/// Appends ASCII bytes to a string.
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.extend(bytes.iter().map(|&b| char::from(b)));
}

/// chrono's RFC 3339 text, for values outside the years 0000 to 9999.
#[cold]
#[inline(never)]
fn chrono_rfc3339(t: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(t) {
        Some(dt) => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => t.to_string(),
    }
}

/// chrono's `YYYY-MM-DD` text, for days outside the years 0000 to 9999.
#[cold]
#[inline(never)]
fn chrono_day(day: i64) -> String {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    match epoch.checked_add_signed(chrono::Duration::days(day)) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => day.to_string(),
    }
}

/// Serde helpers writing timestamps as RFC 3339 UTC strings.
pub mod serde_ts {
    use super::*;
    use serde::Serializer;

    /// Serialises a required timestamp.
    pub fn required<S: Serializer>(t: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339(*t))
    }

    /// Serialises an optional timestamp (`null` when absent).
    pub fn optional<S: Serializer>(t: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    /// Serialises a UTC day number as `YYYY-MM-DD`.
    pub fn day<S: Serializer>(d: &i32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_day(*d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_any_offset_and_rejects_naive() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:01+01:00"), Some(1000));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        // RFC 3339 allows only `+` and `-` before an offset, not a Unicode minus sign.
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01\u{2212}01:00"), None);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1500), "1970-01-01T00:00:01.500Z");
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(20_412), "2025-11-20");
    }

    #[test]
    fn formats_like_chrono_at_the_edges() {
        let days = [
            i32::MIN,
            -100_000_000,
            FIRST_DAY as i32 - 1,
            FIRST_DAY as i32,
            FIRST_DAY as i32 + 59,
            FIRST_DAY as i32 + 60,
            -1,
            0,
            11_016,  // 2000-02-29
            -25_509, // 1900-03-01
            LAST_DAY as i32,
            LAST_DAY as i32 + 1,
            100_000_000,
            i32::MAX,
        ];
        for d in days {
            assert_eq!(format_day(d), chrono_day(i64::from(d)), "day {d}");
        }
        let first = FIRST_DAY * DAY_MS;
        let last = (LAST_DAY + 1) * DAY_MS - 1;
        let times = [
            i64::MIN,
            first - 1,
            first,
            first + 1,
            -1,
            0,
            1,
            999,
            1_000,
            1_010,
            1_100,
            DAY_MS - 1,
            last - 1,
            last,
            last + 1,
            i64::MAX,
        ];
        for t in times {
            assert_eq!(format_rfc3339(t), chrono_rfc3339(t), "time {t}");
        }
        assert_eq!(format_day(FIRST_DAY as i32), "0000-01-01");
        assert_eq!(format_day(FIRST_DAY as i32 - 1), "-0001-12-31");
        assert_eq!(format_day(LAST_DAY as i32 + 1), "+10000-01-01");
        assert_eq!(format_rfc3339(1_010), "1970-01-01T00:00:01.010Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn write_variants_append() {
        let mut s = String::from("on ");
        write_day(&mut s, 0);
        s.push_str(", at ");
        write_rfc3339(&mut s, 1_500);
        assert_eq!(s, "on 1970-01-01, at 1970-01-01T00:00:01.500Z");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn day_is_chronos(d in prop_oneof![
            any::<i32>(),
            (FIRST_DAY as i32 - 1_000)..=(LAST_DAY as i32 + 1_000),
            -1_000_000..=1_000_000i32,
        ]) {
            prop_assert_eq!(format_day(d), chrono_day(i64::from(d)));
        }

        #[test]
        fn rfc3339_is_chronos(t in prop_oneof![
            any::<i64>(),
            (FIRST_DAY * DAY_MS - 10 * DAY_MS)..=((LAST_DAY + 10) * DAY_MS),
            // Around the epoch, where the millis are often round.
            (-10 * DAY_MS..=10 * DAY_MS).prop_map(|t| t / 10 * 10),
            (-1_000_000_000i64..=1_000_000_000).prop_map(|s| s * 1000),
        ]) {
            prop_assert_eq!(format_rfc3339(t), chrono_rfc3339(t));
        }
    }
}
