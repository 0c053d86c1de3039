//! JSON encoding of input events: one line, every field written (defaults included) except
//! absent optional ones, timestamps in RFC 3339 UTC.

use crate::event::{Action, Confirmation, Scan, ScanType, ShipMethod};
use crate::timestamp::format_rfc3339;
use serde::Serialize;
use std::io;

/// Encodes a confirmation as one line of JSON (no newline).
pub fn confirmation_to_json(c: &Confirmation) -> String {
    to_string(&ConfirmationOut::from(c))
}

/// Encodes a scan as one line of JSON (no newline).
pub fn scan_to_json(s: &Scan) -> String {
    to_string(&ScanOut::from(s))
}

/// Writes any record as one line of compact JSON followed by `\n` (an NDJSON line).
pub fn write_json_line<W: io::Write, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Serialises a value whose serialisation cannot fail: string keys only and no fallible
/// `Serialize` implementation (an error would give an empty string).
fn to_string<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The JSON form of a confirmation.
#[derive(Serialize)]
struct ConfirmationOut<'a> {
    event_id: &'a str,
    action: Action,
    seller_id: &'a str,
    order_id: &'a str,
    package_id: &'a str,
    marketplace: &'a str,
    category: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    carrier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking_id: Option<&'a str>,
    ship_method: ShipMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_value_cents: Option<i64>,
    confirmed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    promised_delivery_at: Option<String>,
}

impl<'a> From<&'a Confirmation> for ConfirmationOut<'a> {
    fn from(c: &'a Confirmation) -> Self {
        ConfirmationOut {
            event_id: &c.event_id,
            action: c.action,
            seller_id: &c.seller_id,
            order_id: &c.order_id,
            package_id: &c.package_id,
            marketplace: &c.marketplace,
            category: &c.category,
            carrier: confirm_text(c.action, &c.carrier),
            tracking_id: confirm_text(c.action, &c.tracking_id),
            ship_method: c.ship_method,
            package_value_cents: c.package_value_cents,
            confirmed_at: format_rfc3339(c.confirmed_at),
            promised_delivery_at: c.promised_delivery_at.map(format_rfc3339),
        }
    }
}

/// Carrier and tracking ID are written for a CONFIRM, and for a CANCEL when not empty.
pub(crate) fn confirm_text(action: Action, value: &str) -> Option<&str> {
    (action == Action::Confirm || !value.is_empty()).then_some(value)
}

/// The JSON form of a scan.
#[derive(Serialize)]
struct ScanOut<'a> {
    event_id: &'a str,
    carrier: &'a str,
    tracking_id: &'a str,
    scan_type: ScanType,
    scanned_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
}

impl<'a> From<&'a Scan> for ScanOut<'a> {
    fn from(s: &'a Scan) -> Self {
        ScanOut {
            event_id: &s.event_id,
            carrier: &s.carrier,
            tracking_id: &s.tracking_id,
            scan_type: s.scan_type,
            scanned_at: format_rfc3339(s.scanned_at),
            location: s.location.as_deref(),
        }
    }
}
