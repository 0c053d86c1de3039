//! Protobuf encoding of input events and output records (`proto/vtrack.proto`).

use super::json_out::confirm_text;
use super::proto::carrier_scan::ScanType as PScanType;
use super::proto::shipment_confirmation::{Action as PAction, ShipMethod as PShipMethod};
use super::proto::tracking_verdict::{Reason as PReason, Status as PStatus, Warning as PWarning};
use super::proto::{
    CarrierScan, LateConfirmation, SellerVtr, ShipmentConfirmation, TrackingVerdict,
};
use super::time::to_proto;
use crate::event::{Action, Confirmation, Scan, ScanType, ShipMethod};
use crate::records::{
    LateConfirmationRecord, Reason, SellerVtrRecord, Status, VerdictRecord, Warning,
};
use crate::timestamp::format_day;
use prost::Message;

/// Encodes a confirmation as a protobuf `ShipmentConfirmation`, every field written.
pub fn confirmation_to_proto(c: &Confirmation) -> Vec<u8> {
    confirmation_message(c).encode_to_vec()
}

/// Encodes a scan as a protobuf `CarrierScan`.
pub fn scan_to_proto(s: &Scan) -> Vec<u8> {
    scan_message(s).encode_to_vec()
}

/// Encodes a verdict as a protobuf `TrackingVerdict`.
pub fn verdict_to_proto(v: &VerdictRecord) -> Vec<u8> {
    verdict_message(v).encode_to_vec()
}

/// Encodes a seller's numbers as a protobuf `SellerVtr`.
pub fn seller_vtr_to_proto(r: &SellerVtrRecord) -> Vec<u8> {
    seller_vtr_message(r).encode_to_vec()
}

/// Encodes a late confirmation as a protobuf `LateConfirmation`.
pub fn late_confirmation_to_proto(r: &LateConfirmationRecord) -> Vec<u8> {
    late_confirmation_message(r).encode_to_vec()
}

/// The protobuf message of a confirmation.
pub fn confirmation_message(c: &Confirmation) -> ShipmentConfirmation {
    ShipmentConfirmation {
        event_id: c.event_id.clone(),
        action: action(c.action) as i32,
        seller_id: c.seller_id.clone(),
        order_id: c.order_id.clone(),
        package_id: c.package_id.clone(),
        marketplace: Some(c.marketplace.clone()),
        category: Some(c.category.clone()),
        carrier: confirm_text(c.action, &c.carrier).map(str::to_owned),
        tracking_id: confirm_text(c.action, &c.tracking_id).map(str::to_owned),
        ship_method: ship_method(c.ship_method) as i32,
        package_value_cents: c.package_value_cents,
        confirmed_at: Some(to_proto(c.confirmed_at)),
        promised_delivery_at: c.promised_delivery_at.map(to_proto),
    }
}

/// The protobuf message of a scan.
pub fn scan_message(s: &Scan) -> CarrierScan {
    CarrierScan {
        event_id: s.event_id.clone(),
        carrier: s.carrier.clone(),
        tracking_id: s.tracking_id.clone(),
        scan_type: scan_type(s.scan_type) as i32,
        scanned_at: Some(to_proto(s.scanned_at)),
        location: s.location.clone(),
    }
}

/// The protobuf message of a verdict.
pub fn verdict_message(v: &VerdictRecord) -> TrackingVerdict {
    TrackingVerdict {
        seller_id: v.seller_id.clone(),
        order_id: v.order_id.clone(),
        package_id: v.package_id.clone(),
        marketplace: v.marketplace.clone(),
        category: v.category.clone(),
        carrier_entered: v.carrier_entered.clone(),
        carrier: v.carrier.clone(),
        tracking_id: v.tracking_id.clone(),
        tracking_normalized: v.tracking_normalized.clone(),
        status: status(v.status) as i32,
        has_valid_tracking: v.has_valid_tracking,
        reasons: v.reasons.iter().map(|r| reason(*r) as i32).collect(),
        detected_carriers: v.detected_carriers.clone(),
        confirmed_at: Some(to_proto(v.confirmed_at)),
        promised_delivery_at: v.promised_delivery_at.map(to_proto),
        first_scan_at: v.first_scan_at.map(to_proto),
        delivered_at: v.delivered_at.map(to_proto),
        r#final: v.is_final,
        revision: v.revision,
        warnings: v.warnings.iter().map(|w| warning(*w) as i32).collect(),
        explanation: v.explanation.clone(),
    }
}

/// The protobuf message of a seller's numbers.
pub fn seller_vtr_message(r: &SellerVtrRecord) -> SellerVtr {
    SellerVtr {
        marketplace: r.marketplace.clone(),
        seller_id: r.seller_id.clone(),
        category: r.category.clone(),
        window_days: r.window_days,
        as_of: Some(to_proto(r.as_of)),
        window_start: format_day(r.window_start),
        window_end: format_day(r.window_end),
        valid: r.valid,
        invalid: r.invalid,
        excluded: r.excluded,
        pending: r.pending,
        vtr: r.vtr,
        threshold: r.threshold,
        at_risk: r.at_risk,
    }
}

/// The protobuf message of a late confirmation.
pub fn late_confirmation_message(r: &LateConfirmationRecord) -> LateConfirmation {
    LateConfirmation {
        seller_id: r.seller_id.clone(),
        order_id: r.order_id.clone(),
        package_id: r.package_id.clone(),
        marketplace: r.marketplace.clone(),
        carrier: r.carrier.clone(),
        tracking_id: r.tracking_id.clone(),
        confirmed_at: Some(to_proto(r.confirmed_at)),
        delivered_at: r.delivered_at.map(to_proto),
        promised_delivery_at: r.promised_delivery_at.map(to_proto),
        late_by: r.late_by,
        reason: reason(r.reason) as i32,
    }
}

fn action(a: Action) -> PAction {
    match a {
        Action::Confirm => PAction::Confirm,
        Action::Cancel => PAction::Cancel,
    }
}

fn ship_method(m: ShipMethod) -> PShipMethod {
    match m {
        ShipMethod::Parcel => PShipMethod::Parcel,
        ShipMethod::Letter => PShipMethod::Letter,
        ShipMethod::Freight => PShipMethod::Freight,
        ShipMethod::Digital => PShipMethod::Digital,
    }
}

fn scan_type(t: ScanType) -> PScanType {
    match t {
        ScanType::InfoReceived => PScanType::InfoReceived,
        ScanType::Accepted => PScanType::Accepted,
        ScanType::InTransit => PScanType::InTransit,
        ScanType::OutForDelivery => PScanType::OutForDelivery,
        ScanType::DeliveryAttempted => PScanType::DeliveryAttempted,
        ScanType::AvailableForPickup => PScanType::AvailableForPickup,
        ScanType::Delivered => PScanType::Delivered,
        ScanType::ReturnedToSender => PScanType::ReturnedToSender,
        ScanType::Exception => PScanType::Exception,
    }
}

fn status(s: Status) -> PStatus {
    match s {
        Status::Pending => PStatus::Pending,
        Status::Valid => PStatus::Valid,
        Status::Invalid => PStatus::Invalid,
        Status::Excluded => PStatus::Excluded,
    }
}

fn reason(r: Reason) -> PReason {
    match r {
        Reason::Cancelled => PReason::Cancelled,
        Reason::Digital => PReason::Digital,
        Reason::SmallEnvelope => PReason::SmallEnvelope,
        Reason::FreightNonIntegrated => PReason::FreightNonIntegrated,
        Reason::MissingTracking => PReason::MissingTracking,
        Reason::InvalidCharacters => PReason::InvalidCharacters,
        Reason::UnsupportedCarrier => PReason::UnsupportedCarrier,
        Reason::ConfirmedAfterDelivery => PReason::ConfirmedAfterDelivery,
        Reason::ConfirmedAfterDeliveryDate => PReason::ConfirmedAfterDeliveryDate,
        Reason::CarrierMismatch => PReason::CarrierMismatch,
        Reason::NoCarrierScan => PReason::NoCarrierScan,
    }
}

fn warning(w: Warning) -> PWarning {
    match w {
        Warning::NoScanYet => PWarning::NoScanYet,
        Warning::TrackingIdOverloaded => PWarning::TrackingIdOverloaded,
    }
}
