//! The one sentence a seller reads with each verdict.
//!
//! Every sentence is written into one `String`, piece by piece, without `format!`.

use super::messages::ScanFacts;
use crate::carriers::CarrierRegistry;
use crate::config::EngineConfig;
use crate::event::{utc_day, Millis};
use crate::records::{Reason, Status, VerdictRecord, Warning};
use crate::timestamp::write_day;
use crate::tracking_id::TrackingId;
use std::fmt::Write as _;

/// Room for the usual sentence, so that it is written without growing the string.
const SENTENCE_CAPACITY: usize = 160;

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
    let mut s = String::with_capacity(SENTENCE_CAPACITY);
    match x.record.reasons.first() {
        Some(r) => reason_sentence(&mut s, x, *r),
        None => status_sentence(&mut s, x),
    }
    s
}

/// The declared carrier's display name, or the carrier as entered, in quotes.
fn push_carrier_name(s: &mut String, x: &ExplainInput<'_>) {
    match x
        .carriers
        .by_code(x.record.carrier.as_deref().unwrap_or(""))
    {
        Some(id) => s.push_str(x.carriers.display_name(id)),
        None => {
            s.push('"');
            s.push_str(x.record.carrier_entered.trim());
            s.push('"');
        }
    }
}

/// The display name of the first detected carrier, if it is a known one.
fn detected_name<'a>(x: &ExplainInput<'a>) -> Option<&'a str> {
    let first = x.record.detected_carriers.first()?;
    let id = x.carriers.by_code(first)?;
    Some(x.carriers.display_name(id))
}

/// The UTC day of a time as `YYYY-MM-DD`; nothing when there is no time.
fn push_day(s: &mut String, t: Option<Millis>) {
    if let Some(t) = t {
        write_day(s, utc_day(t));
    }
}

fn reason_sentence(s: &mut String, x: &ExplainInput<'_>, r: Reason) {
    let rec = x.record;
    match r {
        Reason::Cancelled => s.push_str("The order was cancelled, so this package does not count toward your Valid Tracking Rate."),
        Reason::Digital => s.push_str("Digital products do not ship, so this package does not count toward your Valid Tracking Rate."),
        Reason::SmallEnvelope => s.push_str("USPS envelopes under $10 are exempt, so this package does not count toward your Valid Tracking Rate."),
        Reason::FreightNonIntegrated => {
            s.push_str("Freight sent with ");
            push_carrier_name(s, x);
            s.push_str(", a carrier without tracking integration, is exempt from the Valid Tracking Rate.");
        }
        Reason::MissingTracking => s.push_str("No tracking ID was entered: add the tracking ID the carrier gave you."),
        Reason::InvalidCharacters => match x.tracking {
            TrackingId::Malformed { suggestion: Some(fixed) } => {
                s.push_str("The tracking ID contains spaces or hyphens: remove the space and hyphens and enter ");
                s.push_str(fixed);
                s.push('.');
            }
            _ => s.push_str("The tracking ID contains characters no carrier uses: enter only the letters A-Z and digits 0-9 the carrier gave you."),
        },
        Reason::UnsupportedCarrier => unsupported_sentence(s, x),
        Reason::ConfirmedAfterDelivery => {
            s.push_str("Tracking was confirmed after ");
            push_carrier_name(s, x);
            s.push_str(" delivered the package on ");
            push_day(s, rec.delivered_at);
            s.push_str(", so it was of no use to the customer.");
        }
        Reason::ConfirmedAfterDeliveryDate => {
            s.push_str("Tracking was confirmed after the promised delivery date of ");
            push_day(s, rec.promised_delivery_at);
            s.push_str(", so it was of no use to the customer.");
        }
        Reason::CarrierMismatch => mismatch_sentence(s, x),
        Reason::NoCarrierScan => {
            push_carrier_name(s, x);
            s.push_str(" never scanned this tracking ID between ");
            push_day(s, Some(rec.confirmed_at - x.cfg.lookback));
            s.push_str(" and ");
            push_day(s, Some(rec.confirmed_at + x.cfg.horizon));
            s.push_str(": check the ID and that the package was handed over.");
        }
    }
}

fn unsupported_sentence(s: &mut String, x: &ExplainInput<'_>) {
    match &x.record.carrier {
        Some(_) => {
            push_carrier_name(s, x);
            s.push_str(" does not send us tracking scans: ship with an integrated carrier");
        }
        None if x.record.carrier_entered.trim().is_empty() => {
            s.push_str("No carrier was entered: choose the carrier you shipped with");
        }
        None => {
            s.push_str("We do not recognise the carrier ");
            push_carrier_name(s, x);
            s.push_str(": choose the carrier from the list");
        }
    }
    if let Some(name) = detected_name(x) {
        s.push_str("; the tracking ID looks like a ");
        s.push_str(name);
        s.push_str(" number");
    }
    s.push('.');
}

fn mismatch_sentence(s: &mut String, x: &ExplainInput<'_>) {
    match x.facts.other_carrier {
        Some(Some(other)) => {
            s.push_str(x.carriers.display_name(other));
            s.push_str(" scanned this tracking ID, not ");
            push_carrier_name(s, x);
            s.push_str(": correct the carrier.");
        }
        Some(None) => {
            s.push_str("Another carrier scanned this tracking ID, not ");
            push_carrier_name(s, x);
            s.push_str(": correct the carrier.");
        }
        None => {
            match detected_name(x) {
                Some(name) => {
                    s.push_str("This tracking ID looks like a ");
                    s.push_str(name);
                    s.push_str(" number, not a ");
                }
                None => s.push_str("This tracking ID is not a "),
            }
            push_carrier_name(s, x);
            s.push_str(" number: correct the carrier or the tracking ID.");
        }
    }
}

fn status_sentence(s: &mut String, x: &ExplainInput<'_>) {
    let rec = x.record;
    let close = Some(rec.confirmed_at + x.cfg.horizon);
    match rec.status {
        Status::Valid => {
            push_carrier_name(s, x);
            s.push_str(" scanned this package on ");
            push_day(s, rec.first_scan_at);
            s.push_str(": the tracking is valid.");
        }
        Status::Pending if rec.warnings.contains(&Warning::TrackingIdOverloaded) => {
            s.push_str("This tracking ID was entered for too many packages to match scans to it: enter the package's own ");
            push_carrier_name(s, x);
            s.push_str(" tracking ID.");
        }
        Status::Pending if rec.warnings.contains(&Warning::NoScanYet) => {
            push_carrier_name(s, x);
            s.push_str(" has not scanned this package yet, ");
            write!(s, "{}", x.cfg.no_scan_warning_after / 3_600_000)
                .expect("writing to a String does not fail");
            s.push_str(" hours after confirmation: check the tracking ID before ");
            push_day(s, close);
            s.push('.');
        }
        _ => {
            s.push_str("Waiting for the first ");
            push_carrier_name(s, x);
            s.push_str(" scan; tracking is judged by ");
            push_day(s, close);
            s.push('.');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carriers::CarrierId;

    /// The sentences as `format!` wrote them before they were written piece by piece: the
    /// oracle of the test below.
    mod reference {
        use super::super::ExplainInput;
        use crate::records::{Reason, Status, Warning};
        use crate::timestamp::format_day;
        use crate::tracking_id::TrackingId;

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
    }

    fn record(status: Status) -> VerdictRecord {
        VerdictRecord {
            seller_id: "S".into(),
            order_id: "O".into(),
            package_id: String::new(),
            marketplace: "US".into(),
            category: "toys".into(),
            carrier_entered: String::new(),
            carrier: None,
            tracking_id: String::new(),
            tracking_normalized: None,
            status,
            has_valid_tracking: status == Status::Valid,
            reasons: Vec::new(),
            detected_carriers: Vec::new(),
            confirmed_at: 1_763_600_000_000,
            promised_delivery_at: None,
            first_scan_at: None,
            delivered_at: None,
            is_final: false,
            revision: 1,
            warnings: Vec::new(),
            explanation: String::new(),
        }
    }

    #[test]
    fn sentences_are_the_formatted_ones() {
        let carriers = CarrierRegistry::default_us();
        let cfg = EngineConfig::default();
        let ups = carriers.by_code("UPS").expect("UPS");
        let reasons = std::iter::once(None).chain(Reason::ALL.map(Some));
        let fixed = TrackingId::Malformed {
            suggestion: Some("1Z999AA10123456784".into()),
        };
        let trackings = [
            TrackingId::Normalized("1Z999AA10123456784".into()),
            TrackingId::Blank,
            TrackingId::Malformed { suggestion: None },
            fixed,
        ];
        let declared: [(Option<&str>, &str); 6] = [
            (None, ""),
            (None, "  \t"),
            (None, " Fed  Ex Xpress "),
            (Some("UPS"), "ups"),
            (Some("PUROLATOR"), "Purolator"),
            (Some("NOT_A_CODE"), " weird "),
        ];
        let detected: [&[&str]; 4] = [&[], &["UPS"], &["AMAZON", "UPS"], &["NOT_A_CODE"]];
        let others: [Option<Option<CarrierId>>; 3] = [None, Some(None), Some(Some(ups))];
        let warnings: [&[Warning]; 4] = [
            &[],
            &[Warning::NoScanYet],
            &[Warning::TrackingIdOverloaded],
            &[Warning::NoScanYet, Warning::TrackingIdOverloaded],
        ];
        let times = [None, Some(0), Some(-1), Some(1_763_654_321_000)];
        let mut checked = 0;
        for reason in reasons {
            for status in Status::ALL {
                for (carrier, entered) in declared {
                    for found in detected {
                        for warned in warnings {
                            for (i, t) in times.into_iter().enumerate() {
                                let mut rec = record(status);
                                rec.reasons.extend(reason);
                                rec.carrier = carrier.map(String::from);
                                rec.carrier_entered = entered.into();
                                rec.detected_carriers =
                                    found.iter().map(|c| c.to_string()).collect();
                                rec.warnings = warned.to_vec();
                                rec.first_scan_at = t;
                                rec.delivered_at = times[(i + 1) % times.len()];
                                rec.promised_delivery_at = times[(i + 2) % times.len()];
                                rec.confirmed_at = t.unwrap_or(86_400_000 * 365);
                                for tracking in &trackings {
                                    for other in others {
                                        let facts = ScanFacts {
                                            other_carrier: other,
                                            ..ScanFacts::default()
                                        };
                                        let x = ExplainInput {
                                            record: &rec,
                                            tracking,
                                            facts: &facts,
                                            carriers: &carriers,
                                            cfg: &cfg,
                                        };
                                        assert_eq!(explain(&x), reference::explain(&x), "{rec:?}");
                                        checked += 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }
}
