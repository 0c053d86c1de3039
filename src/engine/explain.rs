//! The one sentence a seller reads with each verdict.

use super::messages::ScanFacts;
use crate::carriers::CarrierRegistry;
use crate::config::EngineConfig;
use crate::records::{Reason, Status, VerdictRecord, Warning};
use crate::timestamp::format_day;
use crate::tracking_id::TrackingId;

/// What an explanation is made from.
pub struct ExplainInput<'a> {
    /// The record, explanation still empty.
    pub record: &'a VerdictRecord,
    /// The normalised tracking ID.
    pub tracking: &'a TrackingId<'a>,
    /// The scan facts.
    pub facts: &'a ScanFacts,
    /// Carrier names and formats.
    pub carriers: &'a CarrierRegistry,
    /// Windows.
    pub cfg: &'a EngineConfig,
}

/// The explanation of a verdict: the first reason's sentence, or what the status means.
pub fn explain(x: &ExplainInput<'_>) -> String {
    match x.record.reasons.first() {
        Some(r) => reason_sentence(x, *r),
        None => status_sentence(x),
    }
}

fn carrier_name(x: &ExplainInput<'_>) -> String {
    match x
        .carriers
        .by_code(x.record.carrier.as_deref().unwrap_or(""))
    {
        Some(id) => x.carriers.display_name(id).to_string(),
        None => format!("\"{}\"", x.record.carrier_entered.trim()),
    }
}

fn detected_phrase(x: &ExplainInput<'_>) -> Option<String> {
    let first = x.record.detected_carriers.first()?;
    let id = x.carriers.by_code(first)?;
    Some(format!("a {} number", x.carriers.display_name(id)))
}

fn day_of(t: crate::event::Millis) -> String {
    format_day(crate::event::utc_day(t))
}

fn reason_sentence(x: &ExplainInput<'_>, r: Reason) -> String {
    let rec = x.record;
    match r {
        Reason::Cancelled => "The order was cancelled, so this package does not count toward your Valid Tracking Rate.".into(),
        Reason::Digital => "Digital products do not ship, so this package does not count toward your Valid Tracking Rate.".into(),
        Reason::SmallEnvelope => "USPS envelopes under $10 are exempt, so this package does not count toward your Valid Tracking Rate.".into(),
        Reason::FreightNonIntegrated => format!(
            "Freight sent with {}, a carrier without tracking integration, is exempt from the Valid Tracking Rate.",
            carrier_name(x)
        ),
        Reason::MissingTracking => "No tracking ID was entered: add the tracking ID the carrier gave you.".into(),
        Reason::InvalidCharacters => match x.tracking {
            TrackingId::Malformed { suggestion: Some(fixed) } => format!(
                "The tracking ID contains spaces or hyphens: remove the space and hyphens and enter {fixed}."
            ),
            _ => "The tracking ID contains characters no carrier uses: enter only the letters A-Z and digits 0-9 the carrier gave you.".into(),
        },
        Reason::UnsupportedCarrier => unsupported_sentence(x),
        Reason::ConfirmedAfterDelivery => format!(
            "Tracking was confirmed after {} delivered the package on {}, so it was of no use to the customer.",
            carrier_name(x),
            rec.delivered_at.map(day_of).unwrap_or_default()
        ),
        Reason::ConfirmedAfterDeliveryDate => format!(
            "Tracking was confirmed after the promised delivery date of {}, so it was of no use to the customer.",
            rec.promised_delivery_at.map(day_of).unwrap_or_default()
        ),
        Reason::CarrierMismatch => mismatch_sentence(x),
        Reason::NoCarrierScan => format!(
            "{} never scanned this tracking ID between {} and {}: check the ID and that the package was handed over.",
            carrier_name(x),
            day_of(rec.confirmed_at - x.cfg.lookback),
            day_of(rec.confirmed_at + x.cfg.horizon)
        ),
    }
}

fn unsupported_sentence(x: &ExplainInput<'_>) -> String {
    let base = match &x.record.carrier {
        Some(_) => format!(
            "{} does not send us tracking scans: ship with an integrated carrier",
            carrier_name(x)
        ),
        None if x.record.carrier_entered.trim().is_empty() => {
            "No carrier was entered: choose the carrier you shipped with".into()
        }
        None => format!(
            "We do not recognise the carrier {}: choose the carrier from the list",
            carrier_name(x)
        ),
    };
    match detected_phrase(x) {
        Some(looks) => format!("{base}; the tracking ID looks like {looks}."),
        None => format!("{base}."),
    }
}

fn mismatch_sentence(x: &ExplainInput<'_>) -> String {
    let declared = carrier_name(x);
    match x.facts.other_carrier {
        Some(Some(other)) => format!(
            "{} scanned this tracking ID, not {declared}: correct the carrier.",
            x.carriers.display_name(other)
        ),
        Some(None) => format!(
            "Another carrier scanned this tracking ID, not {declared}: correct the carrier."
        ),
        None => match detected_phrase(x) {
            Some(looks) => format!(
                "This tracking ID looks like {looks}, not a {declared} number: correct the carrier or the tracking ID."
            ),
            None => format!("This tracking ID is not a {declared} number: correct the carrier or the tracking ID."),
        },
    }
}

fn status_sentence(x: &ExplainInput<'_>) -> String {
    let rec = x.record;
    let carrier = carrier_name(x);
    match rec.status {
        Status::Valid => format!(
            "{carrier} scanned this package on {}: the tracking is valid.",
            rec.first_scan_at.map(day_of).unwrap_or_default()
        ),
        Status::Pending if rec.warnings.contains(&Warning::TrackingIdOverloaded) => format!(
            "This tracking ID was entered for too many packages to match scans to it: enter the package's own {carrier} tracking ID."
        ),
        Status::Pending if rec.warnings.contains(&Warning::NoScanYet) => format!(
            "{carrier} has not scanned this package yet, {} hours after confirmation: check the tracking ID before {}.",
            x.cfg.no_scan_warning_after / 3_600_000,
            day_of(rec.confirmed_at + x.cfg.horizon)
        ),
        _ => format!(
            "Waiting for the first {carrier} scan; tracking is judged by {}.",
            day_of(rec.confirmed_at + x.cfg.horizon)
        ),
    }
}
