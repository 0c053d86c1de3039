//! JSON decoding of input events.
//!
//! A message is deserialised in one pass into a borrowed struct whose fields accept any JSON
//! value ([`Scalar`]); the types are checked afterwards, so that an error names its field.
//! Strings without escapes are borrowed from the message, never copied twice.

use super::error::{quote, DecodeError};
use super::fields::{ConfirmationFields, ScanFields, Text};
use super::time;
use crate::event::{Action, Confirmation, Millis, Scan, ScanType, ShipMethod};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Decodes a shipment confirmation from a JSON object.
pub(crate) fn decode_confirmation(bytes: &[u8]) -> Result<Confirmation, DecodeError> {
    let raw: RawConfirmation<'_> = parse(bytes)?;
    raw.into_fields()?.into_confirmation()
}

/// Decodes a carrier scan from a JSON object.
pub(crate) fn decode_scan(bytes: &[u8]) -> Result<Scan, DecodeError> {
    let raw: RawScan<'_> = parse(bytes)?;
    raw.into_fields()?.into_scan()
}

/// Checks UTF-8 (of the whole message, ignored fields included) and deserialises.
fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        DecodeError::Undecodable(format!(
            "JSON message is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    // A message is one JSON object; serde would also read a struct from an array of its fields.
    if !text.trim_start().starts_with('{') {
        return Err(DecodeError::Undecodable(
            "invalid JSON: a message is one JSON object".into(),
        ));
    }
    serde_json::from_str(text).map_err(|e| DecodeError::Undecodable(format!("invalid JSON: {e}")))
}

/// Any JSON value other than `null`, as found in a field (`null` is read as an absent field).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits an `i64`.
    Int(i64),
    /// A positive integer beyond `i64`.
    BigUInt(u64),
    /// A number with a fraction or an exponent, or an integer beyond `u64`.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// An array (skipped).
    Array,
    /// An object (skipped).
    Object,
}

impl Scalar<'_> {
    /// Describes the value for an error message.
    fn describe(&self) -> String {
        match self {
            Scalar::Bool(b) => format!("boolean {b}"),
            Scalar::Int(n) => format!("integer {n}"),
            Scalar::BigUInt(n) => format!("integer {n}"),
            Scalar::Float(x) => format!("number {x}"),
            Scalar::Str(s) => format!("string {}", quote(s)),
            Scalar::Array => "an array".to_owned(),
            Scalar::Object => "an object".to_owned(),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Accepts any JSON value, borrowing strings without escapes.
struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Scalar::BigUInt(v), Scalar::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // JSON's integer `-0` arrives as a float.
        if v == 0.0 && v.is_sign_negative() {
            return Ok(Scalar::Int(0));
        }
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Object)
    }
}

/// A field's value: `None` when absent or `null`.
type Field<'a> = Option<Scalar<'a>>;

/// A wrong-type error.
fn wrong_type(field: &'static str, expected: &str, found: &Scalar<'_>) -> DecodeError {
    DecodeError::field_error(
        field,
        format!("expected {expected}, found {}", found.describe()),
    )
}

/// A string field.
fn string<'a>(field: &'static str, value: Field<'a>) -> Result<Text<'a>, DecodeError> {
    match value {
        None => Ok(None),
        Some(Scalar::Str(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(field, "a string", &other)),
    }
}

/// An integer field.
fn integer(field: &'static str, value: Field<'_>) -> Result<Option<i64>, DecodeError> {
    match value {
        None => Ok(None),
        Some(Scalar::Int(n)) => Ok(Some(n)),
        Some(Scalar::BigUInt(n)) => Err(DecodeError::field_error(
            field,
            format!("integer {n} out of range"),
        )),
        Some(other) => Err(wrong_type(field, "an integer", &other)),
    }
}

/// A timestamp field: an RFC 3339 string with an offset, or integer epoch milliseconds.
fn timestamp(field: &'static str, value: Field<'_>) -> Result<Option<Millis>, DecodeError> {
    match value {
        None => Ok(None),
        Some(Scalar::Str(s)) => time::from_rfc3339(field, &s).map(Some),
        Some(Scalar::Int(n)) => time::from_epoch_millis(field, n).map(Some),
        Some(other) => Err(wrong_type(
            field,
            "an RFC 3339 timestamp string or integer epoch milliseconds",
            &other,
        )),
    }
}

/// An enum field: a string holding one of the exact upper-case names.
fn enumeration<T>(
    field: &'static str,
    value: Field<'_>,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, DecodeError> {
    let Some(name) = string(field, value)? else {
        return Ok(None);
    };
    match parse(&name) {
        Some(v) => Ok(Some(v)),
        None => Err(DecodeError::field_error(
            field,
            format!("unknown value {}", quote(&name)),
        )),
    }
}

/// A shipment confirmation as found in the JSON object; unknown fields are skipped.
#[derive(serde::Deserialize)]
struct RawConfirmation<'a> {
    #[serde(borrow)]
    event_id: Field<'a>,
    #[serde(borrow)]
    action: Field<'a>,
    #[serde(borrow)]
    seller_id: Field<'a>,
    #[serde(borrow)]
    order_id: Field<'a>,
    #[serde(borrow)]
    package_id: Field<'a>,
    #[serde(borrow)]
    marketplace: Field<'a>,
    #[serde(borrow)]
    category: Field<'a>,
    #[serde(borrow)]
    carrier: Field<'a>,
    #[serde(borrow)]
    tracking_id: Field<'a>,
    #[serde(borrow)]
    ship_method: Field<'a>,
    #[serde(borrow)]
    package_value_cents: Field<'a>,
    #[serde(borrow)]
    confirmed_at: Field<'a>,
    #[serde(borrow)]
    promised_delivery_at: Field<'a>,
}

impl<'a> RawConfirmation<'a> {
    /// Checks the type of every field.
    fn into_fields(self) -> Result<ConfirmationFields<'a>, DecodeError> {
        Ok(ConfirmationFields {
            event_id: string("event_id", self.event_id)?,
            action: enumeration("action", self.action, Action::parse)?,
            seller_id: string("seller_id", self.seller_id)?,
            order_id: string("order_id", self.order_id)?,
            package_id: string("package_id", self.package_id)?,
            marketplace: string("marketplace", self.marketplace)?,
            category: string("category", self.category)?,
            carrier: string("carrier", self.carrier)?,
            tracking_id: string("tracking_id", self.tracking_id)?,
            ship_method: enumeration("ship_method", self.ship_method, ShipMethod::parse)?,
            package_value_cents: integer("package_value_cents", self.package_value_cents)?,
            confirmed_at: timestamp("confirmed_at", self.confirmed_at)?,
            promised_delivery_at: timestamp("promised_delivery_at", self.promised_delivery_at)?,
        })
    }
}

/// A carrier scan as found in the JSON object; unknown fields are skipped.
#[derive(serde::Deserialize)]
struct RawScan<'a> {
    #[serde(borrow)]
    event_id: Field<'a>,
    #[serde(borrow)]
    carrier: Field<'a>,
    #[serde(borrow)]
    tracking_id: Field<'a>,
    #[serde(borrow)]
    scan_type: Field<'a>,
    #[serde(borrow)]
    scanned_at: Field<'a>,
    #[serde(borrow)]
    location: Field<'a>,
}

impl<'a> RawScan<'a> {
    /// Checks the type of every field.
    fn into_fields(self) -> Result<ScanFields<'a>, DecodeError> {
        Ok(ScanFields {
            event_id: string("event_id", self.event_id)?,
            carrier: string("carrier", self.carrier)?,
            tracking_id: string("tracking_id", self.tracking_id)?,
            scan_type: enumeration("scan_type", self.scan_type, ScanType::parse)?,
            scanned_at: timestamp("scanned_at", self.scanned_at)?,
            location: string("location", self.location)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(json: &str) -> Scalar<'_> {
        serde_json::from_str(json).expect("any JSON value")
    }

    #[test]
    fn borrows_strings_without_escapes() {
        assert!(matches!(
            scalar(r#""plain""#),
            Scalar::Str(Cow::Borrowed("plain"))
        ));
        let escaped = scalar(r#""a\"b""#);
        assert!(matches!(escaped, Scalar::Str(Cow::Owned(ref s)) if s == "a\"b"));
    }

    #[test]
    fn reads_every_json_value() {
        assert_eq!(scalar("-3"), Scalar::Int(-3));
        assert_eq!(scalar("18446744073709551615"), Scalar::BigUInt(u64::MAX));
        assert_eq!(scalar("1.0"), Scalar::Float(1.0));
        assert_eq!(scalar("true"), Scalar::Bool(true));
        assert_eq!(scalar(r#"[1,[2],{"a":3}]"#), Scalar::Array);
        assert_eq!(scalar(r#"{"a":{"b":[null]}}"#), Scalar::Object);
    }

    #[test]
    fn null_fields_are_absent() {
        let raw: RawScan<'_> = parse(br#"{"location":null}"#).expect("parses");
        assert_eq!(raw.location, None);
    }
}
