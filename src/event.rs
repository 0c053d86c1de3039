//! Domain types of the two input streams (contract section 2).
//!
//! These are the decoded, validated events every driver feeds to the engine. They are
//! independent of the wire format: JSON and protobuf both decode into them (see `codec`).

use serde::{Deserialize, Serialize};

/// Event time or any instant: milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Milliseconds in one hour.
pub const HOUR_MS: Millis = 3_600_000;
/// Milliseconds in one UTC day.
pub const DAY_MS: Millis = 86_400_000;

/// What a shipment-confirmation event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// First confirmation, or an update of carrier / tracking ID.
    #[default]
    Confirm,
    /// The order was cancelled: every package of the order is excluded.
    Cancel,
}

/// How a package was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipMethod {
    /// An ordinary parcel.
    #[default]
    Parcel,
    /// A mail envelope.
    Letter,
    /// Freight.
    Freight,
    /// A digital product: nothing physical ships.
    Digital,
}

/// Kind of carrier scan. Every kind but `InfoReceived` is physical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScanType {
    /// Label created / electronic manifest: **not** a physical scan.
    InfoReceived,
    /// The carrier took the package.
    Accepted,
    /// Moving through the network.
    InTransit,
    /// On the truck for delivery.
    OutForDelivery,
    /// Delivery was tried.
    DeliveryAttempted,
    /// Waiting at a pick-up point.
    AvailableForPickup,
    /// Delivered.
    Delivered,
    /// On its way back to the sender.
    ReturnedToSender,
    /// Something went wrong in transit.
    Exception,
}

impl ScanType {
    /// Every scan type, in contract order.
    pub const ALL: [ScanType; 9] = [
        ScanType::InfoReceived,
        ScanType::Accepted,
        ScanType::InTransit,
        ScanType::OutForDelivery,
        ScanType::DeliveryAttempted,
        ScanType::AvailableForPickup,
        ScanType::Delivered,
        ScanType::ReturnedToSender,
        ScanType::Exception,
    ];

    /// True for every scan that proves the carrier physically handled the package.
    pub fn is_physical(self) -> bool {
        self != ScanType::InfoReceived
    }

    /// The contract's upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanType::InfoReceived => "INFO_RECEIVED",
            ScanType::Accepted => "ACCEPTED",
            ScanType::InTransit => "IN_TRANSIT",
            ScanType::OutForDelivery => "OUT_FOR_DELIVERY",
            ScanType::DeliveryAttempted => "DELIVERY_ATTEMPTED",
            ScanType::AvailableForPickup => "AVAILABLE_FOR_PICKUP",
            ScanType::Delivered => "DELIVERED",
            ScanType::ReturnedToSender => "RETURNED_TO_SENDER",
            ScanType::Exception => "EXCEPTION",
        }
    }

    /// Parses the contract's exact upper-case name.
    pub fn parse(s: &str) -> Option<ScanType> {
        ScanType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl Action {
    /// The contract's upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Confirm => "CONFIRM",
            Action::Cancel => "CANCEL",
        }
    }

    /// Parses the contract's exact upper-case name.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "CONFIRM" => Some(Action::Confirm),
            "CANCEL" => Some(Action::Cancel),
            _ => None,
        }
    }
}

impl ShipMethod {
    /// The contract's upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ShipMethod::Parcel => "PARCEL",
            ShipMethod::Letter => "LETTER",
            ShipMethod::Freight => "FREIGHT",
            ShipMethod::Digital => "DIGITAL",
        }
    }

    /// Parses the contract's exact upper-case name.
    pub fn parse(s: &str) -> Option<ShipMethod> {
        match s {
            "PARCEL" => Some(ShipMethod::Parcel),
            "LETTER" => Some(ShipMethod::Letter),
            "FREIGHT" => Some(ShipMethod::Freight),
            "DIGITAL" => Some(ShipMethod::Digital),
            _ => None,
        }
    }
}

/// A seller's shipment confirmation, update or cancellation (topic `shipment-confirmations`).
/// Serde here is the internal-topic layout (see `kafka::wire`), not the input JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Unique id of this event; a repeat is a duplicate.
    pub event_id: String,
    /// CONFIRM or CANCEL.
    pub action: Action,
    /// The seller.
    pub seller_id: String,
    /// The order.
    pub order_id: String,
    /// The package of the order; `""` is the order's only package.
    pub package_id: String,
    /// Marketplace, default `US`.
    pub marketplace: String,
    /// Product category, default `UNCATEGORIZED`.
    pub category: String,
    /// Carrier as the seller entered it (free text, may be empty).
    pub carrier: String,
    /// Tracking ID as the seller entered it (may be empty).
    pub tracking_id: String,
    /// How the package was sent.
    pub ship_method: ShipMethod,
    /// Order value including shipping, in cents, if known.
    pub package_value_cents: Option<i64>,
    /// When the seller confirmed, updated or cancelled: the event time.
    pub confirmed_at: Millis,
    /// End of the promised delivery window, if known.
    pub promised_delivery_at: Option<Millis>,
}

/// A carrier's scan of a tracking ID (topic `carrier-scans`).
/// Serde here is the internal-topic layout (see `kafka::wire`), not the input JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    /// Unique id of this event.
    pub event_id: String,
    /// The carrier that reported the scan, as it named itself.
    pub carrier: String,
    /// The tracking ID as the carrier reported it.
    pub tracking_id: String,
    /// What happened.
    pub scan_type: ScanType,
    /// When the carrier scanned: the event time.
    pub scanned_at: Millis,
    /// Where, if reported.
    pub location: Option<String>,
}

/// One input event of either stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// From `shipment-confirmations`.
    Confirmation(Confirmation),
    /// From `carrier-scans`.
    Scan(Scan),
}

impl Event {
    /// The event time.
    pub fn event_time(&self) -> Millis {
        match self {
            Event::Confirmation(c) => c.confirmed_at,
            Event::Scan(s) => s.scanned_at,
        }
    }

    /// The producer's unique id of the event.
    pub fn event_id(&self) -> &str {
        match self {
            Event::Confirmation(c) => &c.event_id,
            Event::Scan(s) => &s.event_id,
        }
    }
}

/// The UTC calendar day (days since 1970-01-01) of an instant (clamped to `i32` for the
/// sentinels `Millis::MIN` and `Millis::MAX`).
pub fn utc_day(t: Millis) -> i32 {
    t.div_euclid(DAY_MS).clamp(i32::MIN.into(), i32::MAX.into()) as i32
}
