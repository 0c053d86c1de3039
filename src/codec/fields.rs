//! The contract's rules for the fields of an input event, shared by JSON and protobuf:
//! which are required, which may be empty, and the defaults of the others.
//!
//! Each decoder fills a `*Fields` value with what the message holds (`None` = absent) and
//! lets it build the domain event.

use super::error::{quote, DecodeError};
use crate::event::{Action, Confirmation, Millis, Scan, ScanType, ShipMethod};
use crate::tracking_id::{normalize, TrackingId};
use std::borrow::Cow;

/// Marketplace of a confirmation that names none.
pub const DEFAULT_MARKETPLACE: &str = "US";
/// Category of a confirmation that names none.
pub const DEFAULT_CATEGORY: &str = "UNCATEGORIZED";

/// The category, `UNCATEGORIZED` when none; `*` is refused in a CONFIRM, as it names all categories in
/// the seller numbers (a package of category `*` would share its row key with them).
fn category(c: Text<'_>, action: Action) -> Result<String, DecodeError> {
    let c = or_default_when_empty(c, DEFAULT_CATEGORY);
    if c == crate::engine::seller::ALL_CATEGORIES {
        // A CANCEL's category plays no part in any rule: it must not make the CANCEL bad input.
        if action == Action::Cancel {
            return Ok(DEFAULT_CATEGORY.to_owned());
        }
        return Err(DecodeError::Field {
            field: "category",
            why: "`*` names all categories in the seller numbers and cannot be a category".into(),
        });
    }
    Ok(c)
}

/// A string field as read from the wire, borrowed from the message when possible.
pub(crate) type Text<'a> = Option<Cow<'a, str>>;

/// The fields of a shipment confirmation as present in a message.
#[derive(Debug, Default)]
pub(crate) struct ConfirmationFields<'a> {
    pub event_id: Text<'a>,
    pub action: Option<Action>,
    pub seller_id: Text<'a>,
    pub order_id: Text<'a>,
    pub package_id: Text<'a>,
    pub marketplace: Text<'a>,
    pub category: Text<'a>,
    pub carrier: Text<'a>,
    pub tracking_id: Text<'a>,
    pub ship_method: Option<ShipMethod>,
    pub package_value_cents: Option<i64>,
    pub confirmed_at: Option<Millis>,
    pub promised_delivery_at: Option<Millis>,
}

/// The fields of a carrier scan as present in a message.
#[derive(Debug, Default)]
pub(crate) struct ScanFields<'a> {
    pub event_id: Text<'a>,
    pub carrier: Text<'a>,
    pub tracking_id: Text<'a>,
    pub scan_type: Option<ScanType>,
    pub scanned_at: Option<Millis>,
    pub location: Text<'a>,
}

impl ConfirmationFields<'_> {
    /// Applies the contract: required fields, CONFIRM-only fields, defaults.
    pub fn into_confirmation(self) -> Result<Confirmation, DecodeError> {
        let action = self.action.unwrap_or_default();
        Ok(Confirmation {
            event_id: non_empty("event_id", self.event_id)?,
            action,
            seller_id: non_empty("seller_id", self.seller_id)?,
            order_id: non_empty("order_id", self.order_id)?,
            package_id: or_default(self.package_id, ""),
            marketplace: or_default_when_empty(self.marketplace, DEFAULT_MARKETPLACE),
            category: category(self.category, action)?,
            carrier: required_to_confirm("carrier", action, self.carrier)?,
            tracking_id: required_to_confirm("tracking_id", action, self.tracking_id)?,
            ship_method: self.ship_method.unwrap_or_default(),
            package_value_cents: non_negative("package_value_cents", self.package_value_cents)?,
            confirmed_at: required("confirmed_at", self.confirmed_at)?,
            promised_delivery_at: self.promised_delivery_at,
        })
    }
}

impl ScanFields<'_> {
    /// Applies the contract: every field but `location` is required, and the tracking ID
    /// must be neither blank nor malformed.
    pub fn into_scan(self) -> Result<Scan, DecodeError> {
        Ok(Scan {
            event_id: non_empty("event_id", self.event_id)?,
            carrier: scan_carrier(self.carrier)?,
            tracking_id: scan_tracking_id(self.tracking_id)?,
            scan_type: required("scan_type", self.scan_type)?,
            scanned_at: required("scanned_at", self.scanned_at)?,
            location: self.location.map(Cow::into_owned),
        })
    }
}

/// A required value.
fn required<T>(field: &'static str, value: Option<T>) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::missing(field))
}

/// A required string that may not be empty (an identifier).
fn non_empty(field: &'static str, value: Text<'_>) -> Result<String, DecodeError> {
    let value = required(field, value)?;
    if value.is_empty() {
        return Err(DecodeError::field_error(field, "must not be empty"));
    }
    Ok(value.into_owned())
}

/// An optional amount that may not be negative (a negative order value would otherwise earn
/// the small-envelope exemption).
fn non_negative(field: &'static str, value: Option<i64>) -> Result<Option<i64>, DecodeError> {
    match value {
        Some(v) if v < 0 => Err(DecodeError::field_error(field, format!("{v} is negative"))),
        v => Ok(v),
    }
}

/// An optional string with its default.
fn or_default(value: Text<'_>, default: &str) -> String {
    value.map_or_else(|| default.to_owned(), Cow::into_owned)
}

/// An optional string with its default, also when empty or blank: as in protobuf, where an
/// empty string reads as absent (a blank marketplace or category would make a seller-vtr
/// key with an empty part).
fn or_default_when_empty(value: Text<'_>, default: &str) -> String {
    or_default(value.filter(|v| !v.trim().is_empty()), default)
}

/// The reporting carrier of a scan: required, and with a letter or digit (carriers are
/// looked up by their letters and digits, so `"--"` would name none).
fn scan_carrier(value: Text<'_>) -> Result<String, DecodeError> {
    let carrier = non_empty("carrier", value)?;
    if !carrier.chars().any(char::is_alphanumeric) {
        return Err(DecodeError::field_error(
            "carrier",
            "has no letter or digit, so it names no carrier",
        ));
    }
    Ok(carrier)
}

/// A string required by CONFIRM (may be empty) and optional for CANCEL (default empty).
fn required_to_confirm(
    field: &'static str,
    action: Action,
    value: Text<'_>,
) -> Result<String, DecodeError> {
    match (value, action) {
        (Some(v), _) => Ok(v.into_owned()),
        (None, Action::Cancel) => Ok(String::new()),
        (None, Action::Confirm) => Err(DecodeError::Missing {
            field,
            condition: " (action is CONFIRM)",
        }),
    }
}

/// A scan's tracking ID, kept as reported, which must normalise.
fn scan_tracking_id(value: Text<'_>) -> Result<String, DecodeError> {
    const FIELD: &str = "tracking_id";
    let value = required(FIELD, value)?;
    match normalize(&value) {
        TrackingId::Normalized(_) => Ok(value.into_owned()),
        TrackingId::Blank => Err(DecodeError::field_error(FIELD, "blank")),
        TrackingId::Malformed { .. } => Err(DecodeError::field_error(
            FIELD,
            format!(
                "{} is malformed: only ASCII letters and digits are allowed",
                quote(&value)
            ),
        )),
    }
}
