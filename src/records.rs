//! Output records (contract section 6) and the vocabulary they use.

use crate::event::Millis;
use crate::timestamp::serde_ts;
use serde::Serialize;

/// Status of a package's verdict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The window is open and no rule has decided yet.
    Pending,
    /// At least one counting physical scan and no reason against it.
    Valid,
    /// At least one reason.
    Invalid,
    /// Does not count in the metric.
    Excluded,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Valid,
        Status::Invalid,
        Status::Excluded,
    ];

    /// The contract's upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Valid => "VALID",
            Status::Invalid => "INVALID",
            Status::Excluded => "EXCLUDED",
        }
    }
}

/// Why a package is invalid or excluded, in the order of contract section 4.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The order was cancelled.
    Cancelled,
    /// A digital product.
    Digital,
    /// A USPS envelope under $10.
    SmallEnvelope,
    /// Freight with a carrier that is not integrated.
    FreightNonIntegrated,
    /// The tracking ID was blank.
    MissingTracking,
    /// The tracking ID has characters other than ASCII letters and digits.
    InvalidCharacters,
    /// The carrier is unknown or not integrated.
    UnsupportedCarrier,
    /// Confirmed after a counting delivery scan.
    ConfirmedAfterDelivery,
    /// Confirmed after the promised delivery date.
    ConfirmedAfterDeliveryDate,
    /// The ID belongs to another carrier.
    CarrierMismatch,
    /// The carrier never scanned it within the window.
    NoCarrierScan,
}

impl Reason {
    /// Every reason, in contract order.
    pub const ALL: [Reason; 11] = [
        Reason::Cancelled,
        Reason::Digital,
        Reason::SmallEnvelope,
        Reason::FreightNonIntegrated,
        Reason::MissingTracking,
        Reason::InvalidCharacters,
        Reason::UnsupportedCarrier,
        Reason::ConfirmedAfterDelivery,
        Reason::ConfirmedAfterDeliveryDate,
        Reason::CarrierMismatch,
        Reason::NoCarrierScan,
    ];

    /// The contract's upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Cancelled => "CANCELLED",
            Reason::Digital => "DIGITAL",
            Reason::SmallEnvelope => "SMALL_ENVELOPE",
            Reason::FreightNonIntegrated => "FREIGHT_NON_INTEGRATED",
            Reason::MissingTracking => "MISSING_TRACKING",
            Reason::InvalidCharacters => "INVALID_CHARACTERS",
            Reason::UnsupportedCarrier => "UNSUPPORTED_CARRIER",
            Reason::ConfirmedAfterDelivery => "CONFIRMED_AFTER_DELIVERY",
            Reason::ConfirmedAfterDeliveryDate => "CONFIRMED_AFTER_DELIVERY_DATE",
            Reason::CarrierMismatch => "CARRIER_MISMATCH",
            Reason::NoCarrierScan => "NO_CARRIER_SCAN",
        }
    }

    /// True for the two reasons that make a late-confirmation record.
    pub fn is_late_confirmation(self) -> bool {
        matches!(
            self,
            Reason::ConfirmedAfterDelivery | Reason::ConfirmedAfterDeliveryDate
        )
    }
}

/// A warning on a verdict that is not (yet) a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Warning {
    /// Pending, and `no_scan_warning_after` has passed since confirmation without a counting scan.
    NoScanYet,
    /// The tracking ID is shared by more packages than the fan-out bound; scans were not matched.
    TrackingIdOverloaded,
}

/// A package's verdict (topic `tracking-verdicts`, key = package key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictRecord {
    /// Seller.
    pub seller_id: String,
    /// Order.
    pub order_id: String,
    /// Package of the order (`""` = the only one).
    pub package_id: String,
    /// Marketplace.
    pub marketplace: String,
    /// Product category.
    pub category: String,
    /// Carrier as the seller entered it.
    pub carrier_entered: String,
    /// Canonical carrier code, or null when unknown.
    pub carrier: Option<String>,
    /// Tracking ID as entered.
    pub tracking_id: String,
    /// Normalised tracking ID, or null when blank or malformed.
    pub tracking_normalized: Option<String>,
    /// The verdict.
    pub status: Status,
    /// `status == VALID`.
    pub has_valid_tracking: bool,
    /// Reasons, in contract order.
    pub reasons: Vec<Reason>,
    /// Integrated carriers whose formats the ID passes, alphabetical.
    pub detected_carriers: Vec<String>,
    /// The current confirmation's time *t*.
    #[serde(serialize_with = "serde_ts::required")]
    pub confirmed_at: Millis,
    /// End of the promised delivery window.
    #[serde(serialize_with = "serde_ts::optional")]
    pub promised_delivery_at: Option<Millis>,
    /// Earliest counting physical scan in the window.
    #[serde(serialize_with = "serde_ts::optional")]
    pub first_scan_at: Option<Millis>,
    /// Earliest counting delivery scan in the window.
    #[serde(serialize_with = "serde_ts::optional")]
    pub delivered_at: Option<Millis>,
    /// The window has closed: this verdict will not change unless a new confirmation reopens it.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// 1, 2, … per package.
    pub revision: u32,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// One sentence a seller understands.
    pub explanation: String,
}

/// A seller's numbers for one category and window (topic `seller-vtr`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SellerVtrRecord {
    /// Marketplace.
    pub marketplace: String,
    /// Seller.
    pub seller_id: String,
    /// Category, or `*` for all categories.
    pub category: String,
    /// Window length in days.
    pub window_days: u32,
    /// The event time the numbers hold for.
    #[serde(serialize_with = "serde_ts::required")]
    pub as_of: Millis,
    /// First day of the window (UTC date).
    #[serde(serialize_with = "serde_ts::day")]
    pub window_start: i32,
    /// Last day of the window (UTC date), the day of `as_of`.
    #[serde(serialize_with = "serde_ts::day")]
    pub window_end: i32,
    /// Packages with valid tracking.
    pub valid: u64,
    /// Packages with invalid tracking.
    pub invalid: u64,
    /// Excluded packages.
    pub excluded: u64,
    /// Packages not decided yet.
    pub pending: u64,
    /// `valid / (valid + invalid)`, null when both are 0.
    pub vtr: Option<f64>,
    /// The at-risk threshold.
    pub threshold: f64,
    /// `vtr < threshold`; false when `vtr` is null.
    pub at_risk: bool,
}

impl SellerVtrRecord {
    /// The Kafka key: `marketplace/seller_id/category/window_days`.
    pub fn key(&self) -> String {
        seller_vtr_key(
            &self.marketplace,
            &self.seller_id,
            &self.category,
            self.window_days,
        )
    }
}

/// A package confirmed after its delivery or its promised delivery date (topic `late-confirmations`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LateConfirmationRecord {
    /// Seller.
    pub seller_id: String,
    /// Order.
    pub order_id: String,
    /// Package.
    pub package_id: String,
    /// Marketplace.
    pub marketplace: String,
    /// Canonical carrier code.
    pub carrier: Option<String>,
    /// Tracking ID as entered.
    pub tracking_id: String,
    /// The current confirmation's time.
    #[serde(serialize_with = "serde_ts::required")]
    pub confirmed_at: Millis,
    /// Earliest counting delivery in the window.
    #[serde(serialize_with = "serde_ts::optional")]
    pub delivered_at: Option<Millis>,
    /// End of the promised delivery window.
    #[serde(serialize_with = "serde_ts::optional")]
    pub promised_delivery_at: Option<Millis>,
    /// Seconds from the earliest counting delivery before *t* (or the promised date) to *t*.
    pub late_by: i64,
    /// The first late reason.
    pub reason: Reason,
}

/// The package key `seller_id/order_id/package_id`, the Kafka key of verdicts and late
/// confirmations (each part escaped by [`key_part`]).
pub fn package_key(seller_id: &str, order_id: &str, package_id: &str) -> String {
    [seller_id, order_id, package_id].map(key_part).join("/")
}

/// The seller-vtr key `marketplace/seller_id/category/window_days` (each part escaped by
/// [`key_part`]).
pub fn seller_vtr_key(
    marketplace: &str,
    seller_id: &str,
    category: &str,
    window_days: u32,
) -> String {
    format!(
        "{}/{}/{}/{window_days}",
        key_part(marketplace),
        key_part(seller_id),
        key_part(category)
    )
}

/// One part of a Kafka key: `%` is written `%25` and `/` is written `%2F`, so that ids holding
/// a `/` cannot make two packages (or two seller rows) share a key. Ids without either are
/// written as they are.
pub fn key_part(id: &str) -> std::borrow::Cow<'_, str> {
    if id.contains(['/', '%']) {
        id.replace('%', "%25").replace('/', "%2F").into()
    } else {
        id.into()
    }
}

impl VerdictRecord {
    /// The Kafka key: the package key.
    pub fn key(&self) -> String {
        package_key(&self.seller_id, &self.order_id, &self.package_id)
    }
}

impl LateConfirmationRecord {
    /// The Kafka key: the package key.
    pub fn key(&self) -> String {
        package_key(&self.seller_id, &self.order_id, &self.package_id)
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn keys_escape_slashes_so_that_ids_never_share_one() {
        assert_eq!(package_key("S1", "O1", ""), "S1/O1/");
        assert_eq!(seller_vtr_key("US", "S1", "*", 7), "US/S1/*/7");
        assert_ne!(package_key("A/B", "C", ""), package_key("A", "B/C", ""));
        assert_eq!(package_key("A/B", "C", ""), "A%2FB/C/");
        assert_eq!(package_key("A", "B/C", ""), "A/B%2FC/");
        assert_ne!(
            seller_vtr_key("US", "A/B", "X", 30),
            seller_vtr_key("US", "A", "B/X", 30)
        );
        // `%` is escaped too, so an id holding `%2F` stays apart from one holding `/`.
        assert_ne!(package_key("A%2FB", "C", ""), package_key("A/B", "C", ""));
        assert_eq!(key_part("100%"), "100%25");
    }
}
