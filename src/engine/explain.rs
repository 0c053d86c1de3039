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
use std::borrow::Cow;
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
fn carrier_name<'a>(x: &ExplainInput<'a>) -> Cow<'a, str> {
    match x
        .carriers
        .by_code(x.record.carrier.as_deref().unwrap_or(""))
    {
        Some(id) => Cow::Borrowed(x.carriers.display_name(id)),
        None => Cow::Owned(format!("\"{}\"", x.record.carrier_entered.trim())),
    }
}

fn push_carrier_name(s: &mut String, x: &ExplainInput<'_>) {
    s.push_str(&carrier_name(x));
}

/// `a ` or `an ` for a name, by its first letter ("an Amazon number", "a UPS number").
fn push_article(s: &mut String, name: &str) {
    let first = name.trim_start_matches('"').chars().next().unwrap_or('x');
    let vowel = matches!(first.to_ascii_uppercase(), 'A' | 'E' | 'I' | 'O');
    s.push_str(if vowel { "an " } else { "a " });
}

/// A name after its article.
fn push_with_article(s: &mut String, name: &str) {
    push_article(s, name);
    s.push_str(name);
}

/// The display name of the first detected carrier, if it is a known one.
fn detected_name<'a>(x: &ExplainInput<'a>) -> Option<&'a str> {
    let detected = &x.record.detected_carriers;
    let first = detected.first()?;
    let home = s10_home_carrier(x.tracking).filter(|h| detected.iter().any(|d| d == h));
    let id = x.carriers.by_code(home.unwrap_or(first))?;
    Some(x.carriers.display_name(id))
}

/// The carrier an S10 ID's country code names, when it is one of the carriers that read S10
/// numbers: `EA123456785US` is a USPS number and `…CA` a Canada Post one, though both
/// carriers' formats pass either.
fn s10_home_carrier(tracking: &TrackingId<'_>) -> Option<&'static str> {
    let TrackingId::Normalized(id) = tracking else {
        return None;
    };
    let b = id.as_bytes();
    let s10 = b.len() == 13
        && b[..2].iter().all(u8::is_ascii_alphabetic)
        && b[2..11].iter().all(u8::is_ascii_digit);
    match b.get(11..).filter(|_| s10)? {
        b"US" => Some("USPS"),
        b"CA" => Some("CANADA_POST"),
        _ => None,
    }
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
                s.push_str("The tracking ID contains spaces or hyphens: remove them and enter ");
                s.push_str(fixed);
                s.push('.');
            }
            _ => s.push_str("The tracking ID contains characters no carrier uses: enter only the letters A-Z and digits 0-9 the carrier gave you."),
        },
        Reason::UnsupportedCarrier => unsupported_sentence(s, x),
        Reason::ConfirmedAfterDelivery => {
            // The delivery may come from a hand-off partner, so no carrier is named.
            s.push_str("Tracking was confirmed after the package was delivered on ");
            push_day(s, rec.delivered_at);
            s.push_str(", so it was of no use to the customer.");
        }
        Reason::ConfirmedAfterDeliveryDate => {
            s.push_str("Tracking was confirmed after the promised delivery date of ");
            push_day(s, rec.promised_delivery_at);
            s.push_str(", so it was of no use to the customer.");
        }
        Reason::CarrierMismatch => mismatch_sentence(s, x),
        Reason::NoCarrierScan if rec.warnings.contains(&Warning::TrackingIdOverloaded) => {
            overloaded_sentence(s, x);
        }
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

/// A tracking ID shared by more packages than the fan-out bound: its scans are not matched.
fn overloaded_sentence(s: &mut String, x: &ExplainInput<'_>) {
    s.push_str("This tracking ID was entered for too many packages to match scans to it: enter the package's own ");
    push_carrier_name(s, x);
    s.push_str(" tracking ID.");
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
        s.push_str("; the tracking ID looks like ");
        push_with_article(s, name);
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
                    s.push_str("This tracking ID looks like ");
                    push_with_article(s, name);
                    s.push_str(" number, not ");
                }
                None => s.push_str("This tracking ID is not "),
            }
            push_with_article(s, &carrier_name(x));
            s.push_str(" number: correct the carrier or the tracking ID.");
        }
    }
}

fn status_sentence(s: &mut String, x: &ExplainInput<'_>) {
    let rec = x.record;
    let close = Some(rec.confirmed_at + x.cfg.horizon);
    match rec.status {
        Status::Valid => {
            // The scan may come from a hand-off partner: the tracking ID is the seller's.
            s.push_str("Your ");
            push_carrier_name(s, x);
            s.push_str(" tracking ID was first scanned on ");
            push_day(s, rec.first_scan_at);
            s.push_str(": the tracking is valid.");
        }
        Status::Pending if rec.warnings.contains(&Warning::TrackingIdOverloaded) => {
            overloaded_sentence(s, x);
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

    fn record(status: Status, reason: Option<Reason>) -> VerdictRecord {
        VerdictRecord {
            seller_id: "S".into(),
            order_id: "O".into(),
            package_id: String::new(),
            marketplace: "US".into(),
            category: "toys".into(),
            carrier_entered: "FedEx SmartPost".into(),
            carrier: Some("FEDEX_SMARTPOST".into()),
            tracking_id: String::new(),
            tracking_normalized: None,
            status,
            has_valid_tracking: status == Status::Valid,
            reasons: reason.into_iter().collect(),
            detected_carriers: Vec::new(),
            confirmed_at: 1_763_600_000_000, // 2025-11-20T00:53:20Z
            promised_delivery_at: Some(1_763_500_000_000),
            first_scan_at: Some(1_763_700_000_000),
            delivered_at: Some(1_763_400_000_000),
            is_final: false,
            revision: 1,
            warnings: Vec::new(),
            explanation: String::new(),
        }
    }

    fn sentence(rec: &VerdictRecord, tracking: &TrackingId<'_>, facts: ScanFacts) -> String {
        let carriers = CarrierRegistry::default_us();
        let x = ExplainInput {
            record: rec,
            tracking,
            facts: &facts,
            carriers: &carriers,
            cfg: &EngineConfig::default(),
        };
        explain(&x)
    }

    fn of(status: Status, reason: Option<Reason>) -> String {
        let id = TrackingId::Normalized("9400111899223197428490".into());
        sentence(&record(status, reason), &id, ScanFacts::default())
    }

    #[test]
    fn one_sentence_per_reason_and_status() {
        use Reason as R;
        let cases = [
            (Status::Excluded, Some(R::Cancelled), "The order was cancelled, so this package does not count toward your Valid Tracking Rate."),
            (Status::Invalid, Some(R::MissingTracking), "No tracking ID was entered: add the tracking ID the carrier gave you."),
            (Status::Invalid, Some(R::ConfirmedAfterDelivery), "Tracking was confirmed after the package was delivered on 2025-11-17, so it was of no use to the customer."),
            (Status::Invalid, Some(R::ConfirmedAfterDeliveryDate), "Tracking was confirmed after the promised delivery date of 2025-11-18, so it was of no use to the customer."),
            (Status::Invalid, Some(R::NoCarrierScan), "FedEx SmartPost never scanned this tracking ID between 2025-11-13 and 2025-12-04: check the ID and that the package was handed over."),
            (Status::Invalid, Some(R::CarrierMismatch), "This tracking ID is not a FedEx SmartPost number: correct the carrier or the tracking ID."),
            (Status::Valid, None, "Your FedEx SmartPost tracking ID was first scanned on 2025-11-21: the tracking is valid."),
            (Status::Pending, None, "Waiting for the first FedEx SmartPost scan; tracking is judged by 2025-12-04."),
        ];
        for (status, reason, expected) in cases {
            assert_eq!(of(status, reason), expected, "{status:?} {reason:?}");
        }
        let mut warned = record(Status::Pending, None);
        warned.warnings.push(Warning::NoScanYet);
        let id = TrackingId::Normalized("1Z999AA10123456784".into());
        assert_eq!(
            sentence(&warned, &id, ScanFacts::default()),
            "FedEx SmartPost has not scanned this package yet, 48 hours after confirmation: check the tracking ID before 2025-12-04."
        );
    }

    #[test]
    fn a_fixable_id_is_given_back_fixed() {
        let rec = record(Status::Invalid, Some(Reason::InvalidCharacters));
        let fixable = TrackingId::Malformed {
            suggestion: Some("1Z999AA10123456784".into()),
        };
        assert_eq!(
            sentence(&rec, &fixable, ScanFacts::default()),
            "The tracking ID contains spaces or hyphens: remove them and enter 1Z999AA10123456784."
        );
        let other = TrackingId::Malformed { suggestion: None };
        assert!(sentence(&rec, &other, ScanFacts::default()).contains("characters no carrier uses"));
    }

    #[test]
    fn a_mismatch_names_the_scanning_carrier_or_the_look_of_the_id() {
        let carriers = CarrierRegistry::default_us();
        let ups = carriers.by_code("UPS").expect("UPS");
        let mut rec = record(Status::Invalid, Some(Reason::CarrierMismatch));
        let id = TrackingId::Normalized("1Z999AA10123456784".into());
        let scanned = |other| ScanFacts {
            other_carrier: Some(other),
            ..ScanFacts::default()
        };
        assert_eq!(
            sentence(&rec, &id, scanned(Some(ups))),
            "UPS scanned this tracking ID, not FedEx SmartPost: correct the carrier."
        );
        assert_eq!(
            sentence(&rec, &id, scanned(None)),
            "Another carrier scanned this tracking ID, not FedEx SmartPost: correct the carrier."
        );
        rec.detected_carriers = vec!["UPS".into()];
        assert_eq!(
            sentence(&rec, &id, ScanFacts::default()),
            "This tracking ID looks like a UPS number, not a FedEx SmartPost number: correct the carrier or the tracking ID."
        );
        rec.carrier = Some("AMAZON".into());
        assert_eq!(
            sentence(&rec, &id, ScanFacts::default()),
            "This tracking ID looks like a UPS number, not an Amazon number: correct the carrier or the tracking ID."
        );
    }

    #[test]
    fn an_s10_number_is_named_after_its_country() {
        let home = |id: &str| s10_home_carrier(&TrackingId::Normalized(id.into()));
        assert_eq!(home("EA123456785US"), Some("USPS"));
        assert_eq!(home("LZ246813576CA"), Some("CANADA_POST"));
        assert_eq!(home("RR123456785GB"), None);
        assert_eq!(home("1Z999AA10123456784"), None);
        assert_eq!(home("E1234567850US"), None);
        assert_eq!(home("US"), None);
    }

    #[test]
    fn unsupported_carriers_say_what_to_do() {
        let mut rec = record(Status::Invalid, Some(Reason::UnsupportedCarrier));
        let id = TrackingId::Normalized("1Z999AA10123456784".into());
        rec.carrier = None;
        rec.carrier_entered = "  ".into();
        assert_eq!(
            sentence(&rec, &id, ScanFacts::default()),
            "No carrier was entered: choose the carrier you shipped with."
        );
        rec.carrier_entered = "QuickShip".into();
        rec.detected_carriers = vec!["UPS".into()];
        assert_eq!(
            sentence(&rec, &id, ScanFacts::default()),
            "We do not recognise the carrier \"QuickShip\": choose the carrier from the list; the tracking ID looks like a UPS number."
        );
        rec.carrier = Some("PUROLATOR".into());
        rec.carrier_entered = "Purolator".into();
        rec.detected_carriers.clear();
        assert!(sentence(&rec, &id, ScanFacts::default())
            .ends_with(" does not send us tracking scans: ship with an integrated carrier."));
    }
}
