//! Timestamps on the wire, checked to lie in the years 0001 to 9999: the range RFC 3339 and
//! `google.protobuf.Timestamp` can both express, so that every decoded time can be written back.

use super::error::{quote, DecodeError};
use crate::event::Millis;
use crate::timestamp::parse_rfc3339;

/// `0001-01-01T00:00:00Z` in epoch milliseconds: the earliest accepted time.
pub const MIN_MILLIS: Millis = -62_135_596_800_000;
/// `9999-12-31T23:59:59.999Z` in epoch milliseconds: the latest accepted time.
pub const MAX_MILLIS: Millis = 253_402_300_799_999;

const RANGE: &str = "out of range (years 0001 to 9999)";

/// True for a time in the years 0001 to 9999: one RFC 3339 and protobuf can both write.
pub fn representable(t: Millis) -> bool {
    (MIN_MILLIS..=MAX_MILLIS).contains(&t)
}

/// Checks epoch milliseconds read from an integer.
pub(crate) fn from_epoch_millis(field: &'static str, t: i64) -> Result<Millis, DecodeError> {
    if representable(t) {
        Ok(t)
    } else {
        Err(DecodeError::field_error(
            field,
            format!("epoch milliseconds {t} {RANGE}"),
        ))
    }
}

/// Parses an RFC 3339 timestamp with an offset, saying why when it is not one.
pub(crate) fn from_rfc3339(field: &'static str, s: &str) -> Result<Millis, DecodeError> {
    match parse_rfc3339(s) {
        Some(t) if representable(t) => Ok(t),
        Some(_) => Err(DecodeError::field_error(
            field,
            format!("timestamp {} is {RANGE}", quote(s)),
        )),
        None => Err(DecodeError::field_error(field, rfc3339_problem(s))),
    }
}

/// Why a string is not an RFC 3339 timestamp with an offset.
fn rfc3339_problem(s: &str) -> String {
    if parse_rfc3339(&format!("{s}Z")).is_some() {
        format!("timestamp {} has no UTC offset", quote(s))
    } else {
        format!("timestamp {} is not RFC 3339", quote(s))
    }
}

/// Reads a protobuf timestamp to the millisecond (finer digits dropped).
pub(crate) fn from_proto(
    field: &'static str,
    ts: &prost_types::Timestamp,
) -> Result<Millis, DecodeError> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(DecodeError::field_error(
            field,
            format!("timestamp nanos {} not in 0..1000000000", ts.nanos),
        ));
    }
    let millis = ts
        .seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(ts.nanos / 1_000_000)));
    match millis {
        Some(t) if representable(t) => Ok(t),
        _ => Err(DecodeError::field_error(
            field,
            format!("timestamp of {} seconds is {RANGE}", ts.seconds),
        )),
    }
}

/// Writes epoch milliseconds as a protobuf timestamp.
pub(crate) fn to_proto(t: Millis) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.div_euclid(1000),
        // rem_euclid(1000) is in 0..1000, so the product fits an i32.
        nanos: (t.rem_euclid(1000) * 1_000_000) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::format_rfc3339;

    #[test]
    fn range_ends_are_the_rfc3339_years() {
        assert_eq!(format_rfc3339(MIN_MILLIS), "0001-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(MAX_MILLIS), "9999-12-31T23:59:59.999Z");
        assert!(from_epoch_millis("t", MAX_MILLIS + 1).is_err());
        assert!(from_epoch_millis("t", MIN_MILLIS - 1).is_err());
    }

    #[test]
    fn proto_timestamps_round_trip_including_negative() {
        for t in [MIN_MILLIS, -1, 0, 1, 1_500, MAX_MILLIS] {
            assert_eq!(from_proto("t", &to_proto(t)), Ok(t));
        }
        let bad_nanos = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(from_proto("t", &bad_nanos).is_err());
        let huge = prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert!(from_proto("t", &huge).is_err());
    }

    #[test]
    fn says_why_a_string_is_not_a_timestamp() {
        let naive = from_rfc3339("confirmed_at", "2026-11-20T15:04:05").unwrap_err();
        assert_eq!(
            naive.to_string(),
            "field `confirmed_at`: timestamp \"2026-11-20T15:04:05\" has no UTC offset"
        );
        let junk = from_rfc3339("confirmed_at", "yesterday").unwrap_err();
        assert_eq!(
            junk.to_string(),
            "field `confirmed_at`: timestamp \"yesterday\" is not RFC 3339"
        );
    }
}
