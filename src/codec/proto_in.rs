//! Protobuf decoding of input events (`proto/vtrack.proto`).
//!
//! In protobuf an empty plain string is indistinguishable from an absent one: it reads as
//! absent. Fields whose emptiness matters are `optional` in the schema.

use super::error::DecodeError;
use super::fields::{ConfirmationFields, ScanFields, Text};
use super::proto::carrier_scan::ScanType as PScanType;
use super::proto::shipment_confirmation::{Action as PAction, ShipMethod as PShipMethod};
use super::proto::{CarrierScan, ShipmentConfirmation};
use super::time;
use crate::event::{Action, Confirmation, Millis, Scan, ScanType, ShipMethod};
use prost::Message;
use std::borrow::Cow;

/// Decodes a shipment confirmation from a protobuf `ShipmentConfirmation`.
pub(crate) fn decode_confirmation(bytes: &[u8]) -> Result<Confirmation, DecodeError> {
    let m = ShipmentConfirmation::decode(bytes).map_err(undecodable)?;
    confirmation_fields(m)?.into_confirmation()
}

/// Decodes a carrier scan from a protobuf `CarrierScan`.
pub(crate) fn decode_scan(bytes: &[u8]) -> Result<Scan, DecodeError> {
    let m = CarrierScan::decode(bytes).map_err(undecodable)?;
    scan_fields(m)?.into_scan()
}

fn undecodable(e: prost::DecodeError) -> DecodeError {
    DecodeError::Undecodable(format!("invalid protobuf: {e}"))
}

fn confirmation_fields(
    m: ShipmentConfirmation,
) -> Result<ConfirmationFields<'static>, DecodeError> {
    Ok(ConfirmationFields {
        event_id: plain(m.event_id),
        action: action(m.action)?,
        seller_id: plain(m.seller_id),
        order_id: plain(m.order_id),
        package_id: plain(m.package_id),
        marketplace: m.marketplace.map(Cow::Owned),
        category: m.category.map(Cow::Owned),
        carrier: m.carrier.map(Cow::Owned),
        tracking_id: m.tracking_id.map(Cow::Owned),
        ship_method: ship_method(m.ship_method)?,
        package_value_cents: m.package_value_cents,
        confirmed_at: timestamp("confirmed_at", m.confirmed_at)?,
        promised_delivery_at: timestamp("promised_delivery_at", m.promised_delivery_at)?,
    })
}

fn scan_fields(m: CarrierScan) -> Result<ScanFields<'static>, DecodeError> {
    Ok(ScanFields {
        event_id: plain(m.event_id),
        carrier: plain(m.carrier),
        tracking_id: plain(m.tracking_id),
        scan_type: scan_type(m.scan_type)?,
        scanned_at: timestamp("scanned_at", m.scanned_at)?,
        location: m.location.map(Cow::Owned),
    })
}

/// A plain proto3 string: empty reads as absent.
fn plain(value: String) -> Text<'static> {
    (!value.is_empty()).then_some(Cow::Owned(value))
}

fn timestamp(
    field: &'static str,
    value: Option<prost_types::Timestamp>,
) -> Result<Option<Millis>, DecodeError> {
    value.map(|ts| time::from_proto(field, &ts)).transpose()
}

/// An enum number that is not in the schema.
fn unknown(field: &'static str, number: i32) -> DecodeError {
    DecodeError::field_error(field, format!("unknown value {number}"))
}

fn action(number: i32) -> Result<Option<Action>, DecodeError> {
    match PAction::try_from(number).map_err(|_| unknown("action", number))? {
        PAction::Unspecified => Ok(None),
        PAction::Confirm => Ok(Some(Action::Confirm)),
        PAction::Cancel => Ok(Some(Action::Cancel)),
    }
}

fn ship_method(number: i32) -> Result<Option<ShipMethod>, DecodeError> {
    match PShipMethod::try_from(number).map_err(|_| unknown("ship_method", number))? {
        PShipMethod::Unspecified => Ok(None),
        PShipMethod::Parcel => Ok(Some(ShipMethod::Parcel)),
        PShipMethod::Letter => Ok(Some(ShipMethod::Letter)),
        PShipMethod::Freight => Ok(Some(ShipMethod::Freight)),
        PShipMethod::Digital => Ok(Some(ShipMethod::Digital)),
    }
}

fn scan_type(number: i32) -> Result<Option<ScanType>, DecodeError> {
    let value = PScanType::try_from(number).map_err(|_| unknown("scan_type", number))?;
    Ok(match value {
        PScanType::Unspecified => None,
        PScanType::InfoReceived => Some(ScanType::InfoReceived),
        PScanType::Accepted => Some(ScanType::Accepted),
        PScanType::InTransit => Some(ScanType::InTransit),
        PScanType::OutForDelivery => Some(ScanType::OutForDelivery),
        PScanType::DeliveryAttempted => Some(ScanType::DeliveryAttempted),
        PScanType::AvailableForPickup => Some(ScanType::AvailableForPickup),
        PScanType::Delivered => Some(ScanType::Delivered),
        PScanType::ReturnedToSender => Some(ScanType::ReturnedToSender),
        PScanType::Exception => Some(ScanType::Exception),
    })
}
