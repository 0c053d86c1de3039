//! Timestamps on the wire: RFC 3339 strings (any offset) or epoch milliseconds.

use crate::event::Millis;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Parses an RFC 3339 timestamp with an explicit offset into epoch milliseconds.
/// A timestamp without an offset is rejected.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-20T15:04:05Z`, with millis when non-zero).
pub fn format_rfc3339(t: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(t) {
        Some(dt) => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => t.to_string(),
    }
}

/// Formats a UTC day number (days since 1970-01-01) as `YYYY-MM-DD`.
pub fn format_day(day: i32) -> String {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    match epoch.checked_add_signed(chrono::Duration::days(day as i64)) {
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

    #[test]
    fn parses_any_offset_and_rejects_naive() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:01+01:00"), Some(1000));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1500), "1970-01-01T00:00:01.500Z");
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(20_412), "2025-11-20");
    }
}
