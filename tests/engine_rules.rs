//! The rules of the product contract (sections 4, 5, 6 and 8), one test or more per rule
//! and reason, against the pure engine.

mod common;

use common::*;
use vtrack::engine::messages::LateReason;
use vtrack::engine::seller::SellerUpdate;
use vtrack::event::{Confirmation, Event, Millis, ScanType, ShipMethod};
use vtrack::records::{Reason, Status, VerdictRecord, Warning};

const LOOKBACK: Millis = 7 * DAY;
const HORIZON: Millis = 14 * DAY;

fn assert_verdict(v: &VerdictRecord, status: Status, reasons: &[Reason]) {
    assert_eq!(
        (v.status, v.reasons.as_slice()),
        (status, reasons),
        "unexpected verdict: {v:#?}"
    );
    assert_eq!(v.has_valid_tracking, status == Status::Valid, "{v:#?}");
    assert!(!v.explanation.trim().is_empty(), "no explanation: {v:#?}");
}

/// The verdict of the only package after a replay of `events` up to `as_of`.
fn judge<E: ToEvent>(events: impl IntoIterator<Item = E>, as_of: Millis) -> VerdictRecord {
    only(&replay(events, as_of))
}

/// A package `S/O/""` with this carrier and tracking ID, confirmed at `t0()`.
fn pkg(carrier: &str, tracking: &str) -> Confirmation {
    confirm("S", "O", "", carrier, tracking, t0())
}

fn with_method(c: Confirmation, m: ShipMethod, value: Option<i64>) -> Confirmation {
    Confirmation {
        ship_method: m,
        package_value_cents: value,
        ..c
    }
}

fn physical_types() -> Vec<ScanType> {
    ScanType::ALL
        .into_iter()
        .filter(|t| *t != ScanType::InfoReceived)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Rule 1: CANCELLED
// ---------------------------------------------------------------------------------------

#[test]
fn cancel_excludes_the_package() {
    let t = t0();
    let v = judge(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
            cancel("S", "O", t + 2 * HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Excluded, &[Reason::Cancelled]);
}

#[test]
fn cancel_before_the_confirm_excludes_it() {
    let t = t0();
    for order in [false, true] {
        let mut events = vec![
            cancel("S", "O", t - DAY).ev(),
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        ];
        if order {
            events.reverse();
        }
        let v = judge(events, t + DAY);
        assert_verdict(&v, Status::Excluded, &[Reason::Cancelled]);
    }
}

#[test]
fn cancel_excludes_every_package_of_the_order_and_ignores_its_package_id() {
    let t = t0();
    let e = replay(
        [
            confirm("S", "O", "", "UPS", UPS_ID, t),
            confirm("S", "O", "1", "UPS", UPS_ID_2, t),
            confirm("S", "O", "2", "USPS", USPS_ID, t),
            Confirmation {
                package_id: "7".into(),
                ..cancel("S", "O", t + HOUR)
            },
            // confirmed after the cancellation: excluded too
            confirm("S", "O", "3", "USPS", USPS_ID_2, t + 2 * DAY),
            // other orders are not touched
            confirm("S", "O2", "", "UPS", UPS_ID, t),
            confirm("S2", "O", "", "UPS", UPS_ID, t),
        ],
        t + 3 * DAY,
    );
    for p in ["", "1", "2", "3"] {
        assert_verdict(
            &verdict(&e, "S", "O", p),
            Status::Excluded,
            &[Reason::Cancelled],
        );
    }
    assert_verdict(&verdict(&e, "S", "O2", ""), Status::Pending, &[]);
    assert_verdict(&verdict(&e, "S2", "O", ""), Status::Pending, &[]);
    assert!(
        find_verdict(&e, "S", "O", "7").is_none(),
        "the CANCEL's package_id created a package"
    );
}

#[test]
fn a_cancel_alone_creates_no_package() {
    let t = t0();
    let e = replay([cancel("S", "O", t)], t + DAY);
    assert!(e.verdicts().is_empty(), "{:#?}", e.verdicts());
    assert!(e.seller_rows().is_empty(), "{:#?}", e.seller_rows());
    assert!(e.late_confirmations().is_empty());
}

#[test]
fn a_cancelled_package_does_not_count_but_stays_in_the_report() {
    let t = t0();
    let e = replay(
        [
            confirm("S", "O", "", "UPS", "", t),
            cancel("S", "O", t + HOUR),
        ],
        t + DAY,
    );
    let v = only(&e);
    assert_verdict(&v, Status::Excluded, &[Reason::Cancelled]);
    let r = row(&e, "US", "S", "*", 30).expect("row");
    assert_eq!((r.valid, r.invalid, r.excluded, r.pending), (0, 0, 1, 0));
    assert_eq!(r.vtr, None);
}

// ---------------------------------------------------------------------------------------
// Rule 2: exemptions
// ---------------------------------------------------------------------------------------

#[test]
fn digital_is_excluded() {
    let t = t0();
    for (carrier, tracking) in [("", ""), ("UPS", UPS_ID), ("ACME", "运单")] {
        let c = with_method(
            confirm("S", "O", "", carrier, tracking, t),
            ShipMethod::Digital,
            None,
        );
        let v = judge([c], t + DAY);
        assert_verdict(&v, Status::Excluded, &[Reason::Digital]);
    }
}

#[test]
fn small_envelope_is_a_usps_letter_under_ten_dollars() {
    let t = t0();
    for (carrier, value, tracking) in [
        ("USPS", 999, USPS_ID),
        ("usps", 0, USPS_ID),
        ("United States Postal Service", 500, ""),
        ("USPS", 999, "bad id!"),
    ] {
        let c = with_method(
            confirm("S", "O", "", carrier, tracking, t),
            ShipMethod::Letter,
            Some(value),
        );
        let v = judge([c], t + DAY);
        assert_verdict(&v, Status::Excluded, &[Reason::SmallEnvelope]);
        assert_eq!(v.carrier.as_deref(), Some("USPS"));
    }
}

#[test]
fn small_envelope_needs_the_value() {
    let c = with_method(pkg("USPS", USPS_ID), ShipMethod::Letter, None);
    assert_verdict(&judge([c], t0() + DAY), Status::Pending, &[]);
}

#[test]
fn small_envelope_of_ten_dollars_is_not_exempt() {
    let c = with_method(pkg("USPS", USPS_ID), ShipMethod::Letter, Some(1000));
    assert_verdict(&judge([c], t0() + DAY), Status::Pending, &[]);
    let c = with_method(pkg("USPS", ""), ShipMethod::Letter, Some(1000));
    assert_verdict(
        &judge([c], t0() + DAY),
        Status::Invalid,
        &[Reason::MissingTracking],
    );
}

#[test]
fn small_envelope_needs_usps_itself() {
    let t = t0() + DAY;
    // a letter via UPS is not exempt
    let c = with_method(pkg("UPS", UPS_ID), ShipMethod::Letter, Some(500));
    assert_verdict(&judge([c], t), Status::Pending, &[]);
    // nor via a carrier that hands off to USPS
    let c = with_method(
        pkg("FEDEX_SMARTPOST", USPS_ID),
        ShipMethod::Letter,
        Some(500),
    );
    assert_verdict(&judge([c], t), Status::Pending, &[]);
    // nor via an unknown carrier
    let c = with_method(pkg("ACME Post", USPS_ID), ShipMethod::Letter, Some(500));
    assert_verdict(
        &judge([c], t),
        Status::Invalid,
        &[Reason::UnsupportedCarrier],
    );
    // and a cheap USPS parcel is not an envelope
    let c = with_method(pkg("USPS", ""), ShipMethod::Parcel, Some(500));
    assert_verdict(&judge([c], t), Status::Invalid, &[Reason::MissingTracking]);
}

#[test]
fn freight_with_a_carrier_not_integrated_is_excluded() {
    let t = t0() + DAY;
    for (carrier, tracking, code) in [
        ("Purolator", PUROLATOR_ID, Some("PUROLATOR")),
        ("ESTES", "", Some("ESTES")),
        ("Old Dominion", "12 34", Some("OLD_DOMINION")),
        ("Bob's Trucking", NO_FORMAT_ID, None),
        ("", "", None),
    ] {
        let c = with_method(pkg(carrier, tracking), ShipMethod::Freight, None);
        let v = judge([c], t);
        assert_verdict(&v, Status::Excluded, &[Reason::FreightNonIntegrated]);
        assert_eq!(v.carrier.as_deref(), code, "{carrier}");
    }
}

#[test]
fn freight_with_an_integrated_carrier_is_not_exempt() {
    let t = t0();
    let c = with_method(pkg("UPS", UPS_ID), ShipMethod::Freight, None);
    assert_verdict(&judge([c.clone()], t + DAY), Status::Pending, &[]);
    let v = judge(
        [
            c.ev(),
            scan("UPS", UPS_ID, ScanType::InTransit, t + DAY).ev(),
        ],
        t + 2 * DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
    let c = with_method(pkg("UPS", " "), ShipMethod::Freight, None);
    assert_verdict(
        &judge([c], t + DAY),
        Status::Invalid,
        &[Reason::MissingTracking],
    );
}

// ---------------------------------------------------------------------------------------
// Rules 3-5: blank, malformed, unsupported carrier
// ---------------------------------------------------------------------------------------

#[test]
fn blank_tracking_is_missing_tracking_at_once() {
    let t = t0();
    for tracking in ["", "   ", " \t\n "] {
        let e = replay([pkg("UPS", tracking)], t);
        let v = only(&e);
        assert_verdict(&v, Status::Invalid, &[Reason::MissingTracking]);
        assert_eq!(v.tracking_normalized, None);
        assert_eq!(v.tracking_id, tracking, "tracking_id is as entered");
        assert!(!v.is_final);
        assert!(v.detected_carriers.is_empty());
        let v = judge([pkg("UPS", tracking)], t + HORIZON);
        assert_verdict(&v, Status::Invalid, &[Reason::MissingTracking]);
        assert!(v.is_final);
    }
}

#[test]
fn malformed_tracking_is_invalid_characters() {
    let t = t0();
    for tracking in [
        "1Z999AA1 0123456784",
        "1Z999-AA10123456784",
        "运单123456789",
        "ＡＢＣ123456",
        "9400.1118",
        "1Z999AA10123456784!",
    ] {
        let v = judge([pkg("UPS", tracking)], t + DAY);
        assert_verdict(&v, Status::Invalid, &[Reason::InvalidCharacters]);
        assert_eq!(v.tracking_normalized, None, "{tracking}");
        assert!(v.detected_carriers.is_empty(), "{tracking}");
    }
}

#[test]
fn invalid_characters_explanation_offers_removing_spaces_when_that_fixes_it() {
    let t = t0();
    for tracking in [
        "1Z999AA1 0123456784",
        "1Z 999 AA1 01 2345 6784",
        "1Z999-AA1-0123456784",
    ] {
        let v = judge([pkg("UPS", tracking)], t + DAY);
        assert_verdict(&v, Status::Invalid, &[Reason::InvalidCharacters]);
        let x = v.explanation.to_lowercase();
        assert!(x.contains("remov"), "{tracking}: {}", v.explanation);
        assert!(
            v.explanation.contains(UPS_ID),
            "the explanation should give the fixed ID: {}",
            v.explanation
        );
    }
    let v = judge([pkg("UPS", "运单123456789")], t + DAY);
    assert!(
        !v.explanation.to_lowercase().contains("remove them"),
        "{}",
        v.explanation
    );
}

#[test]
fn tracking_is_trimmed_and_case_insensitive() {
    let t = t0();
    let v = judge(
        [
            pkg("ups", "  1z999aa10123456784\t").ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
    assert_eq!(v.tracking_normalized.as_deref(), Some(UPS_ID));
    assert_eq!(v.tracking_id, "  1z999aa10123456784\t");
    assert_eq!(v.carrier_entered, "ups");
    assert_eq!(v.carrier.as_deref(), Some("UPS"));
    // and the scan's ID is normalised the same way
    let v = judge(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", " 1z999aa10123456784 ", ScanType::Accepted, t + HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
}

#[test]
fn unknown_carrier_is_unsupported_with_a_null_carrier() {
    let t = t0();
    for entered in ["ACME Couriers", "", "  ", "Pony Express"] {
        let v = judge(
            [
                pkg(entered, UPS_ID).ev(),
                scan(entered, UPS_ID, ScanType::Accepted, t + HOUR).ev(),
            ],
            t + DAY,
        );
        assert_verdict(&v, Status::Invalid, &[Reason::UnsupportedCarrier]);
        assert_eq!(v.carrier, None, "{entered:?}");
        assert_eq!(v.carrier_entered, entered);
    }
}

#[test]
fn known_carrier_not_integrated_is_unsupported() {
    let t = t0();
    for (entered, code) in [
        ("PUROLATOR", "PUROLATOR"),
        ("Purolator", "PUROLATOR"),
        ("Old Dominion", "OLD_DOMINION"),
        ("YunExpress", "YUNEXPRESS"),
        ("dpd", "DPD"),
    ] {
        let v = judge(
            [
                pkg(entered, PUROLATOR_ID).ev(),
                scan(entered, PUROLATOR_ID, ScanType::Delivered, t + DAY).ev(),
            ],
            t + 2 * DAY,
        );
        assert_verdict(&v, Status::Invalid, &[Reason::UnsupportedCarrier]);
        assert_eq!(v.carrier.as_deref(), Some(code), "{entered}");
    }
}

#[test]
fn carriers_resolve_through_the_alias_table() {
    let t = t0();
    for (entered, code) in [
        ("Fed Ex", "FEDEX"),
        ("fedex ground", "FEDEX"),
        ("Federal Express", "FEDEX"),
        ("FEDEX_SMARTPOST", "FEDEX_SMARTPOST"),
        ("SmartPost", "FEDEX_SMARTPOST"),
        ("AMZL", "AMAZON"),
        ("Amazon Shipping", "AMAZON"),
        ("UPS Mail Innovations", "UPS_MAIL_INNOVATIONS"),
        ("United Parcel Service", "UPS"),
        ("DHL eCommerce", "DHL_ECOMMERCE"),
        ("Canada Post", "CANADA_POST"),
        ("On-Trac", "ONTRAC"),
        ("LaserShip", "LASERSHIP"),
    ] {
        let v = judge([pkg(entered, NO_FORMAT_ID)], t + DAY);
        assert_eq!(v.carrier.as_deref(), Some(code), "{entered}");
        assert_verdict(&v, Status::Pending, &[]);
    }
}

#[test]
fn the_first_rule_that_applies_gives_the_status() {
    let t = t0();
    let cases: Vec<(Vec<Event>, Status, Reason)> = vec![
        // cancelled + blank + unknown carrier
        (
            vec![pkg("ACME", "").ev(), cancel("S", "O", t).ev()],
            Status::Excluded,
            Reason::Cancelled,
        ),
        // cancelled + digital
        (
            vec![
                with_method(pkg("UPS", UPS_ID), ShipMethod::Digital, None).ev(),
                cancel("S", "O", t).ev(),
            ],
            Status::Excluded,
            Reason::Cancelled,
        ),
        // digital + blank + unknown carrier
        (
            vec![with_method(pkg("ACME", ""), ShipMethod::Digital, None).ev()],
            Status::Excluded,
            Reason::Digital,
        ),
        // small envelope + malformed
        (
            vec![with_method(pkg("USPS", "94 00-"), ShipMethod::Letter, Some(100)).ev()],
            Status::Excluded,
            Reason::SmallEnvelope,
        ),
        // freight with an unknown carrier + blank
        (
            vec![with_method(pkg("Truckers Inc", ""), ShipMethod::Freight, None).ev()],
            Status::Excluded,
            Reason::FreightNonIntegrated,
        ),
        // blank + malformed carrier... blank + unknown carrier
        (
            vec![pkg("ACME", " ").ev()],
            Status::Invalid,
            Reason::MissingTracking,
        ),
        // malformed + unknown carrier
        (
            vec![pkg("ACME", "1Z 999").ev()],
            Status::Invalid,
            Reason::InvalidCharacters,
        ),
        // unknown carrier + confirmed after the promised date + another carrier's scan
        (
            vec![
                Confirmation {
                    promised_delivery_at: Some(t - DAY),
                    ..pkg("ACME", UPS_ID)
                }
                .ev(),
                scan("UPS", UPS_ID, ScanType::Delivered, t - 2 * DAY).ev(),
            ],
            Status::Invalid,
            Reason::UnsupportedCarrier,
        ),
    ];
    for (i, (events, status, reason)) in cases.into_iter().enumerate() {
        for as_of in [t + HOUR, t + HORIZON] {
            let v = judge(events.clone(), as_of);
            assert_eq!(
                (v.status, v.reasons.clone()),
                (status, vec![reason]),
                "case {i} as of {as_of}: {v:#?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rule 6: the join
// ---------------------------------------------------------------------------------------

#[test]
fn valid_on_any_counting_physical_scan() {
    let t = t0();
    for kind in physical_types() {
        let at = t + DAY;
        let v = judge(
            [pkg("UPS", UPS_ID).ev(), scan("UPS", UPS_ID, kind, at).ev()],
            t + 2 * DAY,
        );
        assert_verdict(&v, Status::Valid, &[]);
        assert_eq!(v.first_scan_at, Some(at), "{kind:?}");
        let delivered = (kind == ScanType::Delivered).then_some(at);
        assert_eq!(v.delivered_at, delivered, "{kind:?}");
        assert!(v.warnings.is_empty());
        assert!(!v.is_final);
    }
}

#[test]
fn first_scan_at_is_the_earliest_counting_scan() {
    let t = t0();
    let v = judge(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, t + 3 * DAY).ev(),
            scan("UPS", UPS_ID, ScanType::InTransit, t + DAY).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + 2 * HOUR).ev(),
            scan("UPS", UPS_ID, ScanType::InfoReceived, t + HOUR).ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, t + 4 * DAY).ev(),
        ],
        t + HORIZON,
    );
    assert_verdict(&v, Status::Valid, &[]);
    assert_eq!(v.first_scan_at, Some(t + 2 * HOUR));
    assert_eq!(v.delivered_at, Some(t + 3 * DAY));
    assert!(v.is_final);
}

#[test]
fn info_received_alone_is_not_a_scan() {
    let t = t0();
    let events = [
        pkg("UPS", UPS_ID).ev(),
        scan("UPS", UPS_ID, ScanType::InfoReceived, t + HOUR).ev(),
    ];
    let e = replay(events.clone(), t + DAY);
    assert_verdict(&only(&e), Status::Pending, &[]);
    assert_eq!(only(&e).first_scan_at, None);
    assert_eq!(e.counters().non_physical_scans, 1);
    let v = judge(events, t + HORIZON);
    assert_verdict(&v, Status::Invalid, &[Reason::NoCarrierScan]);
    assert!(v.is_final);
}

#[test]
fn info_received_by_another_carrier_is_no_mismatch() {
    let t = t0();
    let v = judge(
        [
            pkg("USPS", USPS_ID).ev(),
            scan("UPS", USPS_ID, ScanType::InfoReceived, t + HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Pending, &[]);
}

#[test]
fn a_scan_counts_only_inside_the_window_edges_included() {
    let t = t0();
    for (offset, counts) in [
        (-LOOKBACK - 1, false),
        (-LOOKBACK, true),
        (-DAY, true),
        (0, true),
        (HORIZON, true),
        (HORIZON + 1, false),
        (HORIZON + DAY, false),
        (-LOOKBACK - DAY, false),
    ] {
        let v = judge(
            [
                pkg("UPS", UPS_ID).ev(),
                scan("UPS", UPS_ID, ScanType::InTransit, t + offset).ev(),
            ],
            t + HORIZON + 2,
        );
        assert!(v.is_final);
        if counts {
            assert_verdict(&v, Status::Valid, &[]);
            assert_eq!(v.first_scan_at, Some(t + offset));
        } else {
            assert_verdict(&v, Status::Invalid, &[Reason::NoCarrierScan]);
            assert_eq!(v.first_scan_at, None, "offset {offset}");
        }
    }
}

#[test]
fn a_delivery_outside_the_window_is_not_looked_at() {
    let t = t0();
    // delivered long before t: a recycled ID, not a late confirmation
    let v = judge(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, t - LOOKBACK - HOUR).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
    assert_eq!(v.delivered_at, None);
    // and another carrier's scan outside the window is no mismatch
    let v = judge(
        [
            pkg("USPS", USPS_ID).ev(),
            scan("UPS", USPS_ID, ScanType::InTransit, t - LOOKBACK - 1).ev(),
            scan("UPS", USPS_ID, ScanType::InTransit, t + HORIZON + 1).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Pending, &[]);
}

#[test]
fn recycled_tracking_ids_count_only_near_each_confirmation() {
    let t = t0();
    let later = t + 40 * DAY;
    let e = replay(
        [
            confirm("S1", "O1", "", "UPS", UPS_ID, t).ev(),
            confirm("S2", "O2", "", "UPS", UPS_ID, later).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, later + DAY).ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, later + 2 * DAY).ev(),
        ],
        later + 3 * DAY,
    );
    let first = verdict(&e, "S1", "O1", "");
    assert_verdict(&first, Status::Invalid, &[Reason::NoCarrierScan]);
    assert!(first.is_final);
    assert_eq!(first.first_scan_at, None);
    let second = verdict(&e, "S2", "O2", "");
    assert_verdict(&second, Status::Valid, &[]);
    assert_eq!(second.first_scan_at, Some(later + DAY));
    assert_eq!(second.delivered_at, Some(later + 2 * DAY));
}

#[test]
fn one_tracking_id_shared_by_two_packages_counts_for_both() {
    let t = t0();
    let e = replay(
        [
            confirm("S", "O", "1", "UPS", UPS_ID, t).ev(),
            confirm("S", "O", "2", "UPS", UPS_ID, t + DAY).ev(),
            confirm("S2", "X", "", "UPS", UPS_ID, t + 2 * DAY).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + 3 * DAY).ev(),
        ],
        t + 4 * DAY,
    );
    for (s, o, p) in [("S", "O", "1"), ("S", "O", "2"), ("S2", "X", "")] {
        assert_verdict(&verdict(&e, s, o, p), Status::Valid, &[]);
    }
}

#[test]
fn confirmed_after_delivery() {
    let t = t0();
    let e = replay(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t - 4 * DAY).ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, t - 2 * DAY).ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, t - 3 * DAY).ev(),
            // a delivery by another carrier does not count
            scan("USPS", UPS_ID, ScanType::Delivered, t - 6 * DAY).ev(),
        ],
        t + HOUR,
    );
    let v = only(&e);
    assert_verdict(&v, Status::Invalid, &[Reason::ConfirmedAfterDelivery]);
    assert_eq!(v.delivered_at, Some(t - 3 * DAY));
    assert_eq!(v.first_scan_at, Some(t - 4 * DAY));
    assert!(!v.is_final, "given as soon as it holds");
    let late = late_of(&e, "S", "O", "").expect("late-confirmation record");
    assert_eq!(late.reason, Reason::ConfirmedAfterDelivery);
    assert_eq!(
        late.late_by,
        3 * 86_400,
        "from the earliest counting delivery"
    );
    assert_eq!(late.delivered_at, Some(t - 3 * DAY));
    assert_eq!(late.confirmed_at, t);
    assert_eq!(late.carrier.as_deref(), Some("UPS"));
    assert_eq!(late.tracking_id, UPS_ID);
    assert_eq!(e.late_confirmations().len(), 1);
}

#[test]
fn late_by_counts_seconds_exactly() {
    let t = t0();
    let e = replay(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, t - 90 * MINUTE - 1500).ev(),
        ],
        t + HOUR,
    );
    let late = late_of(&e, "S", "O", "").expect("late record");
    assert_eq!(late.late_by, 90 * 60 + 1, "{late:?}");
}

#[test]
fn a_delivery_at_or_after_t_is_not_late() {
    let t = t0();
    for at in [t, t + HOUR] {
        let e = replay(
            [
                pkg("UPS", UPS_ID).ev(),
                scan("UPS", UPS_ID, ScanType::Delivered, at).ev(),
            ],
            t + DAY,
        );
        let v = only(&e);
        assert_verdict(&v, Status::Valid, &[]);
        assert_eq!(v.delivered_at, Some(at));
        assert!(e.late_confirmations().is_empty());
    }
}

#[test]
fn confirmed_after_the_promised_delivery_date() {
    let t = t0();
    let c = Confirmation {
        promised_delivery_at: Some(t - HOUR),
        ..pkg("UPS", UPS_ID)
    };
    // given at once, before any scan and before the window closes
    let e = replay([c.clone()], t);
    let v = only(&e);
    assert_verdict(&v, Status::Invalid, &[Reason::ConfirmedAfterDeliveryDate]);
    assert_eq!(v.promised_delivery_at, Some(t - HOUR));
    // with a counting scan: still invalid, the tracking was of no use
    let e = replay(
        [
            c.clone().ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        ],
        t + DAY,
    );
    let v = only(&e);
    assert_verdict(&v, Status::Invalid, &[Reason::ConfirmedAfterDeliveryDate]);
    assert_eq!(v.first_scan_at, Some(t + HOUR));
    let late = late_of(&e, "S", "O", "").expect("late record");
    assert_eq!(late.reason, Reason::ConfirmedAfterDeliveryDate);
    assert_eq!(late.late_by, 3600);
    assert_eq!(late.promised_delivery_at, Some(t - HOUR));
    // without a scan, once the window closed, both reasons in order
    let v = judge([c], t + HORIZON);
    assert_verdict(
        &v,
        Status::Invalid,
        &[Reason::ConfirmedAfterDeliveryDate, Reason::NoCarrierScan],
    );
}

#[test]
fn confirming_exactly_at_the_promised_date_is_not_late() {
    let t = t0();
    let c = Confirmation {
        promised_delivery_at: Some(t),
        ..pkg("UPS", UPS_ID)
    };
    let e = replay(
        [
            c.ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&only(&e), Status::Valid, &[]);
    assert!(e.late_confirmations().is_empty());
}

#[test]
fn both_late_reasons_in_contract_order() {
    let t = t0();
    let e = replay(
        [
            Confirmation {
                promised_delivery_at: Some(t - DAY),
                ..pkg("UPS", UPS_ID)
            }
            .ev(),
            scan("UPS", UPS_ID, ScanType::Delivered, t - 2 * DAY).ev(),
        ],
        t + DAY,
    );
    let v = only(&e);
    assert_verdict(
        &v,
        Status::Invalid,
        &[
            Reason::ConfirmedAfterDelivery,
            Reason::ConfirmedAfterDeliveryDate,
        ],
    );
    let late = late_of(&e, "S", "O", "").expect("late record");
    assert_eq!(
        late.reason,
        Reason::ConfirmedAfterDelivery,
        "the first reason"
    );
    assert_eq!(late.late_by, 2 * 86_400);
}

#[test]
fn late_date_and_carrier_mismatch_together() {
    let t = t0();
    let v = judge(
        [Confirmation {
            promised_delivery_at: Some(t - DAY),
            ..pkg("USPS", UPS_ID)
        }],
        t + HOUR,
    );
    assert_verdict(
        &v,
        Status::Invalid,
        &[Reason::ConfirmedAfterDeliveryDate, Reason::CarrierMismatch],
    );
}

#[test]
fn carrier_mismatch_from_another_carriers_scan() {
    let t = t0();
    for other in ["UPS", "FedEx", "DHL", "Speedy Local Couriers", "PUROLATOR"] {
        let e = replay(
            [
                pkg("USPS", USPS_ID).ev(),
                scan(other, USPS_ID, ScanType::InTransit, t + DAY).ev(),
            ],
            t + DAY,
        );
        let v = only(&e);
        assert_verdict(&v, Status::Invalid, &[Reason::CarrierMismatch]);
        assert!(!v.is_final, "given while the window is open ({other})");
        assert_eq!(v.first_scan_at, None);
    }
}

#[test]
fn carrier_mismatch_from_a_scan_before_t_in_the_lookback() {
    let t = t0();
    let v = judge(
        [
            pkg("UPS", NO_FORMAT_ID).ev(),
            scan("USPS", NO_FORMAT_ID, ScanType::Accepted, t - LOOKBACK).ev(),
        ],
        t,
    );
    assert_verdict(&v, Status::Invalid, &[Reason::CarrierMismatch]);
}

#[test]
fn a_counting_scan_wins_over_another_carriers_scan() {
    let t = t0();
    let v = judge(
        [
            pkg("USPS", USPS_ID).ev(),
            scan("UPS", USPS_ID, ScanType::InTransit, t + HOUR).ev(),
            scan("USPS", USPS_ID, ScanType::Accepted, t + DAY).ev(),
        ],
        t + HORIZON,
    );
    assert_verdict(&v, Status::Valid, &[]);
    assert!(v.is_final);
}

#[test]
fn carrier_mismatch_from_format_evidence_immediately() {
    let t = t0();
    for (declared, tracking) in [
        ("USPS", UPS_ID),            // a UPS package entered as USPS
        ("UPS", USPS_ID),            // a USPS IMpb number entered as UPS
        ("UPS", FEDEX_ID),           // FedEx Express 12
        ("UPS", DHL_ID),             // DHL Express mod 7
        ("FEDEX", USPS_ID),          // FedEx has no hand-off partner
        ("FEDEX_SMARTPOST", UPS_ID), // a UPS number is in no format of SmartPost + USPS
        ("AMAZON", S10_US_ID),       // S10 with its mod 11 check digit
        ("UPS_MAIL_INNOVATIONS", FEDEX_ID),
    ] {
        let e = replay([pkg(declared, tracking)], t);
        let v = only(&e);
        assert_eq!(
            (v.status, v.reasons.as_slice()),
            (Status::Invalid, &[Reason::CarrierMismatch][..]),
            "{declared} / {tracking}: {v:#?}"
        );
        assert!(!v.is_final);
        // still the verdict once the window closed
        let v = judge([pkg(declared, tracking)], t + HORIZON);
        assert_eq!(
            v.reasons,
            vec![Reason::CarrierMismatch],
            "{declared} / {tracking}"
        );
        assert!(v.is_final);
    }
}

#[test]
fn format_mismatch_is_overridden_by_a_counting_scan() {
    let t = t0();
    let v = judge(
        [
            pkg("USPS", UPS_ID).ev(),
            scan("USPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
}

#[test]
fn no_mismatch_when_the_other_carriers_format_has_no_check_digit() {
    let t = t0();
    for (declared, tracking, detected) in [
        ("UPS", AMAZON_ID, vec!["AMAZON"]),
        ("USPS", AMAZON_ID, vec!["AMAZON"]),
        // Purolator has a check digit, but is not integrated
        ("USPS", PUROLATOR_ID, vec![]),
        // no format at all
        ("UPS", NO_FORMAT_ID, vec![]),
    ] {
        let v = judge([pkg(declared, tracking)], t + DAY);
        assert_eq!(
            (v.status, v.reasons.as_slice()),
            (Status::Pending, &[][..]),
            "{declared} / {tracking}: {v:#?}"
        );
        assert_eq!(v.detected_carriers, detected, "{declared} / {tracking}");
        let v = judge([pkg(declared, tracking)], t + HORIZON);
        assert_eq!(v.reasons, vec![Reason::NoCarrierScan], "{declared}");
    }
}

#[test]
fn no_format_mismatch_within_the_declared_family() {
    let t = t0();
    for (declared, tracking) in [
        ("USPS", USPS_ID),
        ("USPS", S10_US_ID),
        ("CANADA_POST", S10_US_ID),
        ("FEDEX_SMARTPOST", USPS_ID), // hand-off partner USPS: its formats count
        ("FEDEX_SMARTPOST", FEDEX_ID),
        ("UPS_MAIL_INNOVATIONS", USPS_ID),
        ("UPS_MAIL_INNOVATIONS", UPS_ID),
        ("DHL_ECOMMERCE", USPS_ID),
        ("DHL_ECOMMERCE", DHL_ID),
        ("DHL", DHL_ID),
        ("FEDEX", FEDEX_ID),
        ("UPS", UPS_ID),
        ("AMAZON", AMAZON_ID),
    ] {
        let v = judge([pkg(declared, tracking)], t + DAY);
        assert_eq!(
            (v.status, v.reasons.as_slice()),
            (Status::Pending, &[][..]),
            "{declared} / {tracking}: {v:#?}"
        );
    }
}

#[test]
fn hand_offs_are_one_way() {
    let t = t0();
    for (declared, reporter, tracking, valid) in [
        ("FEDEX_SMARTPOST", "USPS", USPS_ID, true),
        ("UPS_MAIL_INNOVATIONS", "USPS", USPS_ID, true),
        ("DHL_ECOMMERCE", "USPS", USPS_ID, true),
        ("FEDEX_SMARTPOST", "FEDEX_SMARTPOST", USPS_ID, true),
        ("USPS", "FEDEX_SMARTPOST", USPS_ID, false),
        ("USPS", "UPS_MAIL_INNOVATIONS", USPS_ID, false),
        ("USPS", "DHL_ECOMMERCE", USPS_ID, false),
        ("FEDEX", "USPS", FEDEX_ID, false),
        ("FEDEX_SMARTPOST", "FEDEX", FEDEX_ID, false),
        ("FEDEX", "FEDEX_SMARTPOST", FEDEX_ID, false),
    ] {
        let v = judge(
            [
                pkg(declared, tracking).ev(),
                scan(reporter, tracking, ScanType::InTransit, t + DAY).ev(),
            ],
            t + 2 * DAY,
        );
        let expected: (Status, Vec<Reason>) = if valid {
            (Status::Valid, vec![])
        } else {
            (Status::Invalid, vec![Reason::CarrierMismatch])
        };
        assert_eq!(
            (v.status, v.reasons.clone()),
            expected,
            "declared {declared}, scanned by {reporter}: {v:#?}"
        );
    }
}

#[test]
fn scans_resolve_their_carrier_through_aliases() {
    let t = t0();
    let v = judge(
        [
            pkg("USPS", USPS_ID).ev(),
            scan(
                "United States Postal Service",
                USPS_ID,
                ScanType::Accepted,
                t + HOUR,
            )
            .ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
}

#[test]
fn no_carrier_scan_only_when_the_window_closed() {
    let t = t0();
    let c = pkg("UPS", UPS_ID);
    let mut e = engine(false);
    feed1(&mut e, c);
    e.advance_to(t + HORIZON - 1);
    let v = only(&e);
    assert_verdict(&v, Status::Pending, &[]);
    assert!(!v.is_final);
    e.advance_to(t + HORIZON);
    let v = only(&e);
    assert_verdict(&v, Status::Invalid, &[Reason::NoCarrierScan]);
    assert!(v.is_final);
    assert!(v.warnings.is_empty(), "no warning once invalid: {v:#?}");
}

#[test]
fn final_whatever_the_status() {
    let t = t0();
    let events = [
        confirm("S", "A", "", "UPS", UPS_ID, t).ev(),
        scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        confirm("S", "B", "", "UPS", "", t).ev(),
        with_method(
            confirm("S", "C", "", "UPS", "", t),
            ShipMethod::Digital,
            None,
        )
        .ev(),
        confirm("S", "D", "", "ACME", UPS_ID_2, t).ev(),
    ];
    let e = replay(events.clone(), t + HORIZON - 1);
    assert!(
        e.verdicts().iter().all(|v| !v.is_final),
        "{:#?}",
        e.verdicts()
    );
    let e = replay(events, t + HORIZON);
    assert_eq!(e.verdicts().len(), 4);
    assert!(
        e.verdicts().iter().all(|v| v.is_final),
        "{:#?}",
        e.verdicts()
    );
}

#[test]
fn no_scan_yet_warning_after_48_hours_while_pending() {
    let t = t0();
    let mut e = engine(false);
    feed1(&mut e, pkg("UPS", UPS_ID));
    e.advance_to(t + 48 * HOUR - 1);
    assert!(only(&e).warnings.is_empty());
    e.advance_to(t + 48 * HOUR);
    let v = only(&e);
    assert_verdict(&v, Status::Pending, &[]);
    assert_eq!(v.warnings, vec![Warning::NoScanYet]);
    assert!(!v.is_final);
    // a counting scan lifts it
    feed1(
        &mut e,
        scan("UPS", UPS_ID, ScanType::Accepted, t + 49 * HOUR),
    );
    let v = only(&e);
    assert_verdict(&v, Status::Valid, &[]);
    assert!(v.warnings.is_empty());
}

#[test]
fn a_jump_past_the_close_writes_the_warning_then_the_final_verdict() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, pkg("UPS", UPS_ID));
    e.advance_to(t + 30 * DAY);
    let records = e.take_outputs().verdicts;
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.revision, r.status, r.warnings.clone(), r.is_final))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, Status::Pending, vec![], false),
            (2, Status::Pending, vec![Warning::NoScanYet], false),
            (3, Status::Invalid, vec![], true),
        ]
    );
}

#[test]
fn no_scan_yet_only_for_pending_packages() {
    let t = t0();
    let e = replay(
        [
            confirm("S", "A", "", "UPS", "", t).ev(),
            confirm("S", "B", "", "USPS", UPS_ID, t).ev(),
            confirm("S", "C", "", "UPS", UPS_ID, t).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + 3 * DAY).ev(),
            confirm("S", "D", "", "UPS", UPS_ID_2, t).ev(),
        ],
        t + 4 * DAY,
    );
    for o in ["A", "B", "C"] {
        assert!(verdict(&e, "S", o, "").warnings.is_empty(), "{o}");
    }
    assert_eq!(verdict(&e, "S", "D", "").warnings, vec![Warning::NoScanYet]);
}

// ---------------------------------------------------------------------------------------
// Updates, ties, duplicates, keys
// ---------------------------------------------------------------------------------------

#[test]
fn the_current_confirmation_is_the_latest_confirmed_at() {
    let t = t0();
    let old = confirm("S", "O", "", "UPS", UPS_ID, t);
    let new = Confirmation {
        category: "Toys".into(),
        ..confirm("S", "O", "", "USPS", USPS_ID, t + HOUR)
    };
    for events in [[old.clone(), new.clone()], [new.clone(), old.clone()]] {
        let v = judge(events, t + DAY);
        assert_eq!(v.confirmed_at, t + HOUR);
        assert_eq!(v.carrier.as_deref(), Some("USPS"));
        assert_eq!(v.tracking_id, USPS_ID);
        assert_eq!(v.category, "Toys");
    }
}

#[test]
fn ties_on_confirmed_at_go_to_the_greatest_event_id_by_bytes() {
    let t = t0();
    // (smaller, greater) by UTF-8 bytes
    for (small, great) in [
        ("a", "b"),
        ("Z", "a"),
        ("10", "9"),
        ("evt-z", "evt-é"),
        ("ab", "abc"),
    ] {
        let lo = Confirmation {
            event_id: small.into(),
            ..confirm("S", "O", "", "UPS", UPS_ID, t)
        };
        let hi = Confirmation {
            event_id: great.into(),
            ..confirm("S", "O", "", "USPS", USPS_ID, t)
        };
        for events in [[lo.clone(), hi.clone()], [hi.clone(), lo.clone()]] {
            let v = judge(events, t + DAY);
            assert_eq!(
                v.carrier.as_deref(),
                Some("USPS"),
                "{small:?} < {great:?}: {v:#?}"
            );
        }
    }
}

#[test]
fn a_correction_reopens_the_package_with_a_new_t() {
    let t = t0();
    let mut e = engine(false);
    feed1(&mut e, pkg("UPS", UPS_ID_2));
    e.advance_to(t + HORIZON);
    let v = only(&e);
    assert_verdict(&v, Status::Invalid, &[Reason::NoCarrierScan]);
    assert!(v.is_final);
    let t2 = t + HORIZON + HOUR;
    feed1(&mut e, confirm("S", "O", "", "UPS", UPS_ID, t2));
    let v = only(&e);
    assert_verdict(&v, Status::Pending, &[]);
    assert!(!v.is_final);
    assert_eq!(v.confirmed_at, t2);
    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Accepted, t2 + HOUR));
    assert_verdict(&only(&e), Status::Valid, &[]);
    e.advance_to(t2 + HORIZON);
    let v = only(&e);
    assert_verdict(&v, Status::Valid, &[]);
    assert!(v.is_final);
}

#[test]
fn a_correction_drops_the_facts_of_the_old_tracking_id() {
    let t = t0();
    let v = judge(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
            confirm("S", "O", "", "UPS", UPS_ID_2, t + 2 * HOUR).ev(),
        ],
        t + DAY,
    );
    assert_verdict(&v, Status::Pending, &[]);
    assert_eq!(v.first_scan_at, None);
    assert_eq!(v.tracking_normalized.as_deref(), Some(UPS_ID_2));
}

#[test]
fn a_correction_of_the_carrier_fixes_a_mismatch() {
    let t = t0();
    let v = judge(
        [
            pkg("USPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
            confirm("S", "O", "", "UPS", UPS_ID, t + DAY).ev(),
        ],
        t + 2 * DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
    assert_eq!(v.confirmed_at, t + DAY);
    assert_eq!(v.first_scan_at, Some(t + HOUR));
}

#[test]
fn a_tracking_id_change_counts_once_in_the_sellers_numbers() {
    let t = t0();
    let e = replay(
        [
            pkg("UPS", UPS_ID).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
            confirm("S", "O", "", "USPS", USPS_ID, t + 2 * HOUR).ev(),
            confirm("S", "O", "", "USPS", USPS_ID_2, t + 3 * HOUR).ev(),
            scan("USPS", USPS_ID_2, ScanType::Accepted, t + 4 * HOUR).ev(),
        ],
        t + DAY,
    );
    assert_eq!(e.verdicts().len(), 1);
    for w in [7, 30] {
        let r = row(&e, "US", "S", "*", w).expect("row");
        assert_eq!((r.valid, r.invalid, r.excluded, r.pending), (1, 0, 0, 0));
        let r = row(&e, "US", "S", "UNCATEGORIZED", w).expect("row");
        assert_eq!((r.valid, r.invalid, r.excluded, r.pending), (1, 0, 0, 0));
    }
}

#[test]
fn duplicates_change_nothing_and_are_counted() {
    let t = t0();
    let events = vec![
        pkg("UPS", UPS_ID).ev(),
        scan("UPS", UPS_ID, ScanType::Delivered, t - DAY).ev(),
        cancel("S", "O2", t).ev(),
        confirm("S", "O2", "", "UPS", UPS_ID_2, t).ev(),
    ];
    let once = replay(events.clone(), t + DAY);
    let mut twice_events = events.clone();
    twice_events.extend(events.iter().cloned());
    twice_events.push(events[1].clone());
    let twice = replay(twice_events, t + DAY);
    assert_eq!(once.verdicts(), twice.verdicts());
    assert_eq!(once.seller_rows(), twice.seller_rows());
    assert_eq!(once.late_confirmations(), twice.late_confirmations());
    let c = twice.counters();
    assert_eq!(c.duplicates, 5);
    assert_eq!(c.confirmations, 6);
    assert_eq!(c.scans, 3);
    assert_eq!(once.counters().duplicates, 0);
}

#[test]
fn a_duplicate_of_an_older_update_does_not_revert_the_package() {
    let t = t0();
    let old = confirm("S", "O", "", "UPS", UPS_ID, t);
    let new = confirm("S", "O", "", "USPS", USPS_ID, t + HOUR);
    let v = judge([old.clone(), new, old], t + DAY);
    assert_eq!(v.carrier.as_deref(), Some("USPS"));
}

#[test]
fn package_ids_empty_and_one_are_different_packages() {
    let t = t0();
    let e = replay(
        [
            confirm("S", "O", "", "UPS", UPS_ID, t).ev(),
            confirm("S", "O", "1", "UPS", "", t).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        ],
        t + DAY,
    );
    assert_eq!(e.verdicts().len(), 2);
    assert_verdict(&verdict(&e, "S", "O", ""), Status::Valid, &[]);
    assert_verdict(
        &verdict(&e, "S", "O", "1"),
        Status::Invalid,
        &[Reason::MissingTracking],
    );
    let r = row(&e, "US", "S", "*", 7).expect("row");
    assert_eq!((r.valid, r.invalid), (1, 1));
}

#[test]
fn the_package_key_is_seller_order_package() {
    let t = t0();
    let e = replay(
        [
            confirm("S1", "O", "", "UPS", UPS_ID, t),
            confirm("S2", "O", "", "UPS", UPS_ID, t),
            confirm("S1", "O2", "", "UPS", UPS_ID, t),
        ],
        t + DAY,
    );
    let mut keys: Vec<String> = e.verdicts().iter().map(|v| v.key()).collect();
    keys.sort();
    assert_eq!(keys, vec!["S1/O/", "S1/O2/", "S2/O/"]);
}

#[test]
fn detected_carriers_are_the_integrated_carriers_in_alphabetical_order() {
    let t = t0();
    for (tracking, detected) in [
        (S10_US_ID, vec!["CANADA_POST", "USPS"]),
        (UPS_ID, vec!["UPS", "UPS_MAIL_INNOVATIONS"]),
        (FEDEX_ID, vec!["FEDEX", "FEDEX_SMARTPOST"]),
        (DHL_ID, vec!["DHL", "DHL_ECOMMERCE"]),
        (USPS_ID, vec!["USPS"]),
        (AMAZON_ID, vec!["AMAZON"]),
        (PUROLATOR_ID, vec![]),
        (NO_FORMAT_ID, vec![]),
        ("", vec![]),
        ("1Z999AA1 0123456784", vec![]),
    ] {
        let v = judge([pkg("USPS", tracking)], t + HOUR);
        assert_eq!(v.detected_carriers, detected, "{tracking:?}");
    }
    // the same whatever the declared carrier, also an unknown one
    let v = judge([pkg("ACME", S10_US_ID)], t + HOUR);
    assert_eq!(v.detected_carriers, vec!["CANADA_POST", "USPS"]);
}

#[test]
fn the_record_carries_the_current_confirmation() {
    let t = t0();
    let c = Confirmation {
        marketplace: "CA".into(),
        category: "Books".into(),
        promised_delivery_at: Some(t + 3 * DAY),
        ..confirm("S", "O", "", "Fed Ex", FEDEX_ID, t)
    };
    let v = judge(
        [c.ev(), scan("FEDEX", FEDEX_ID, ScanType::Accepted, t).ev()],
        t + DAY,
    );
    assert_verdict(&v, Status::Valid, &[]);
    assert_eq!(
        (
            v.seller_id.as_str(),
            v.order_id.as_str(),
            v.package_id.as_str()
        ),
        ("S", "O", "")
    );
    assert_eq!(v.marketplace, "CA");
    assert_eq!(v.category, "Books");
    assert_eq!(v.carrier_entered, "Fed Ex");
    assert_eq!(v.carrier.as_deref(), Some("FEDEX"));
    assert_eq!(v.tracking_normalized.as_deref(), Some(FEDEX_ID));
    assert_eq!(v.confirmed_at, t);
    assert_eq!(v.promised_delivery_at, Some(t + 3 * DAY));
    assert_eq!(v.first_scan_at, Some(t));
    assert_eq!(v.delivered_at, None);
    assert!(v.revision >= 1);
    let defaults = judge([pkg("UPS", UPS_ID)], t);
    assert_eq!(defaults.marketplace, "US");
    assert_eq!(defaults.category, "UNCATEGORIZED");
}

// ---------------------------------------------------------------------------------------
// Streaming: revisions, no record twice for the same content
// ---------------------------------------------------------------------------------------

/// Takes the verdict records written since the last call.
fn written(e: &mut vtrack::engine::Engine) -> Vec<VerdictRecord> {
    e.take_outputs().verdicts
}

#[test]
fn streaming_writes_each_change_once_with_increasing_revisions() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, pkg("UPS", UPS_ID));
    let r = written(&mut e);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!((r[0].revision, r[0].status), (1, Status::Pending));

    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR));
    let r = written(&mut e);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!((r[0].revision, r[0].status), (2, Status::Valid));

    // a duplicate, a later scan, a non-physical scan, time passing: nothing visible changes
    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR));
    feed1(
        &mut e,
        scan("UPS", UPS_ID, ScanType::InTransit, t + 2 * HOUR),
    );
    feed1(
        &mut e,
        scan("UPS", UPS_ID, ScanType::InfoReceived, t - HOUR),
    );
    e.advance_to(t + 3 * DAY);
    e.advance_to(t + 3 * DAY);
    assert!(written(&mut e).is_empty());

    feed1(
        &mut e,
        scan("UPS", UPS_ID, ScanType::Delivered, t + 3 * DAY),
    );
    let r = written(&mut e);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!((r[0].revision, r[0].delivered_at), (3, Some(t + 3 * DAY)));

    e.advance_to(t + HORIZON);
    let r = written(&mut e);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].revision, 4);
    assert!(r[0].is_final);
    assert_eq!(r[0].status, Status::Valid);
    e.advance_to(t + 2 * HORIZON);
    assert!(written(&mut e).is_empty());
    assert_eq!(only(&e).revision, 4);
    assert_eq!(content(&only(&e)), content(&r[0]));
}

#[test]
fn streaming_warning_then_window_close() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, pkg("UPS", UPS_ID));
    e.advance_to(t + DAY);
    let r = written(&mut e);
    assert_eq!(r.len(), 1);
    e.advance_to(t + 3 * DAY);
    let r = written(&mut e);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].warnings, vec![Warning::NoScanYet]);
    assert_eq!(r[0].revision, 2);
    e.advance_to(t + HORIZON + DAY);
    let r = written(&mut e);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].revision, 3);
    assert_eq!(r[0].reasons, vec![Reason::NoCarrierScan]);
    assert!(r[0].warnings.is_empty());
    assert!(r[0].is_final);
}

#[test]
fn streaming_an_update_with_the_same_content_writes_nothing() {
    let mut e = engine(true);
    let c = pkg("UPS", UPS_ID);
    feed1(&mut e, c.clone());
    assert_eq!(written(&mut e).len(), 1);
    feed1(
        &mut e,
        Confirmation {
            event_id: format!("{}~", c.event_id),
            ..c
        },
    );
    assert!(written(&mut e).is_empty());
    assert_eq!(only(&e).revision, 1);
}

#[test]
fn streaming_another_carriers_scan_of_a_valid_package_writes_nothing() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, pkg("UPS", UPS_ID));
    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR));
    let before = written(&mut e);
    assert_eq!(before.last().map(|r| r.status), Some(Status::Valid));
    // nothing a verdict record shows changes: the package stays VALID with the same scan times
    feed1(
        &mut e,
        scan("USPS", UPS_ID, ScanType::InTransit, t + 2 * HOUR),
    );
    let after = written(&mut e);
    assert!(
        after.is_empty(),
        "a record was written again with the same content: before {:#?}, after {after:#?}",
        before.last()
    );
}

/// A UPS package confirmed at `t0()`, promised for the day before: late by its promise.
fn promised_a_day_before_t() -> Confirmation {
    Confirmation {
        promised_delivery_at: Some(t0() - DAY),
        ..pkg("UPS", UPS_ID)
    }
}

#[test]
fn streaming_late_confirmation_record_once() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, promised_a_day_before_t());
    let out = e.take_outputs();
    assert_eq!(out.late_confirmations.len(), 1, "{out:#?}");
    let late = &out.late_confirmations[0];
    assert_eq!(late.reason, Reason::ConfirmedAfterDeliveryDate);
    assert_eq!(late.late_by, 86_400);
    assert_eq!(late.key(), "S/O/");
    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR));
    e.advance_to(t + HORIZON);
    let out = e.take_outputs();
    assert_eq!(out.verdicts.len(), 2, "{out:#?}");
    assert!(out.late_confirmations.is_empty(), "{out:#?}");
}

/// A late-confirmation record names the delivery before t, not one after it: that one is no
/// part of why the confirmation was late (the verdict shows it).
#[test]
fn a_late_confirmation_record_names_only_a_delivery_before_t() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Delivered, t + DAY));
    feed1(&mut e, promised_a_day_before_t());
    let out = e.take_outputs();
    assert_eq!(out.late_confirmations.len(), 1, "{out:#?}");
    let late = &out.late_confirmations[0];
    assert_eq!(late.reason, Reason::ConfirmedAfterDeliveryDate);
    assert_eq!(late.delivered_at, None);
    assert_eq!(verdict(&e, "S", "O", "").delivered_at, Some(t + DAY));
    assert_eq!(e.late_confirmations()[0].delivered_at, None, "replay's row");
}

// ---------------------------------------------------------------------------------------
// Late events
// ---------------------------------------------------------------------------------------

#[test]
fn a_confirm_whose_window_closed_is_late_and_changes_nothing() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, confirm("S", "O", "", "UPS", UPS_ID, t));
    e.advance_to(t + 20 * DAY);
    let before = e.verdicts();
    e.take_outputs();

    // a new package and an update, both with windows closed at t + 15/16 days
    let new_package = confirm("S", "O2", "", "UPS", UPS_ID, t + DAY);
    let update = confirm("S", "O", "", "USPS", USPS_ID, t + 2 * DAY);
    feed1(&mut e, new_package.clone());
    feed1(&mut e, update.clone());
    let out = e.take_outputs();
    assert!(out.verdicts.is_empty(), "{:#?}", out.verdicts);
    let late: Vec<_> = out.late_events.iter().map(|l| l.event.clone()).collect();
    assert_eq!(late, vec![new_package.ev(), update.ev()]);
    assert!(out
        .late_events
        .iter()
        .all(|l| l.reason == LateReason::WindowClosed));
    assert_eq!(e.verdicts(), before);
    assert_eq!(e.counters().late_events, 2);

    // a confirm whose window is still open is applied
    feed1(&mut e, confirm("S", "O3", "", "UPS", UPS_ID, t + 10 * DAY));
    let out = e.take_outputs();
    assert!(out.late_events.is_empty());
    assert_eq!(out.verdicts.len(), 1);
}

#[test]
fn a_scan_for_a_closed_package_is_late_but_counts_for_an_open_one() {
    let t = t0();
    let mut e = engine(true);
    feed(
        &mut e,
        [
            confirm("S", "A", "", "UPS", UPS_ID, t),
            confirm("S", "B", "", "UPS", UPS_ID, t + 10 * DAY),
        ],
    );
    e.advance_to(t + 15 * DAY);
    let a_before = verdict(&e, "S", "A", "");
    assert_verdict(&a_before, Status::Invalid, &[Reason::NoCarrierScan]);
    assert!(a_before.is_final);
    e.take_outputs();

    // inside both windows: [t-7d, t+14d] and [t+3d, t+24d]
    let s = scan("UPS", UPS_ID, ScanType::Accepted, t + 12 * DAY);
    feed1(&mut e, s.clone());
    let out = e.take_outputs();
    assert_eq!(out.late_events.len(), 1, "{out:#?}");
    assert_eq!(out.late_events[0].event, s.ev());
    assert_eq!(out.verdicts.len(), 1, "only B changes: {:#?}", out.verdicts);
    assert_eq!(verdict(&e, "S", "A", ""), a_before);
    assert_verdict(&verdict(&e, "S", "B", ""), Status::Valid, &[]);
    assert_eq!(e.counters().late_events, 1);
}

#[test]
fn a_scan_older_than_every_open_window_is_late() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, confirm("S", "O", "", "UPS", UPS_ID, t + 30 * DAY));
    e.advance_to(t + 30 * DAY);
    e.take_outputs();
    let s = scan("UPS", UPS_ID_2, ScanType::Accepted, t);
    feed1(&mut e, s.clone());
    let out = e.take_outputs();
    assert_eq!(out.late_events.len(), 1, "{out:#?}");
    assert_eq!(out.late_events[0].event, s.ev());
    assert_eq!(e.counters().late_events, 1);
}

#[test]
fn a_cancel_after_one_packages_window_closed_changes_no_final_verdict() {
    // Contract section 4: "An event that arrives after the windows it could change have
    // closed is late: it changes no final verdict"; "the final verdict depends only on the
    // set of events that arrived before the window closed".
    let t = t0();
    let mut e = engine(true);
    feed(
        &mut e,
        [
            confirm("S", "O", "A", "UPS", UPS_ID, t).ev(),
            scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
            confirm("S", "O", "B", "UPS", UPS_ID_2, t + 10 * DAY).ev(),
        ],
    );
    e.advance_to(t + 15 * DAY);
    let a_final = verdict(&e, "S", "O", "A");
    assert_verdict(&a_final, Status::Valid, &[]);
    assert!(a_final.is_final);

    feed1(&mut e, cancel("S", "O", t + 15 * DAY));
    assert_verdict(
        &verdict(&e, "S", "O", "B"),
        Status::Excluded,
        &[Reason::Cancelled],
    );
    let a = verdict(&e, "S", "O", "A");
    assert_eq!(
        a, a_final,
        "the CANCEL arrived after A's window closed: A's final verdict must not change"
    );
}

#[test]
fn a_cancel_counts_for_packages_confirmed_after_it_whatever_the_watermark() {
    // Contract section 8: "CANCEL excludes every package of (seller_id, order_id) whatever
    // its timing, also packages confirmed after it". Section 4: the final verdict depends
    // only on the set of events that arrived before the window closed, never on their order.
    let t = t0();
    let run = |cancel_first: bool| {
        let mut e = engine(true);
        feed1(&mut e, confirm("S", "O", "A", "UPS", UPS_ID, t));
        e.advance_to(t + 15 * DAY);
        let x = cancel("S", "O", t + 15 * DAY);
        let b = confirm("S", "O", "B", "UPS", UPS_ID_2, t + 15 * DAY);
        if cancel_first {
            feed(&mut e, [x, b]);
        } else {
            feed(&mut e, [b, x]);
        }
        e.advance_to(t + 40 * DAY);
        verdict(&e, "S", "O", "B")
    };
    let b_cancel_last = run(false);
    assert_verdict(&b_cancel_last, Status::Excluded, &[Reason::Cancelled]);
    let b_cancel_first = run(true);
    assert_verdict(&b_cancel_first, Status::Excluded, &[Reason::Cancelled]);
}

// ---------------------------------------------------------------------------------------
// Seller VTR (section 5)
// ---------------------------------------------------------------------------------------

fn counts(r: &vtrack::records::SellerVtrRecord) -> (u64, u64, u64, u64) {
    (r.valid, r.invalid, r.excluded, r.pending)
}

#[test]
fn seller_windows_hold_metric_dates_of_the_last_n_utc_days_both_ends_included() {
    let t = ts("2026-11-20T10:00:00Z");
    let as_of = ts("2026-11-30T12:00:00Z");
    let promised = |o: &str, p: Option<&str>, at: Millis| Confirmation {
        promised_delivery_at: p.map(ts),
        ..confirm("S", o, "", "UPS", "", at)
    };
    let e = replay(
        [
            promised("a", Some("2026-11-24T00:00:00Z"), t), // 7 & 30
            promised("b", Some("2026-11-23T23:59:59Z"), t), // 30
            promised("c", Some("2026-11-01T00:00:00Z"), t), // 30
            promised("d", Some("2026-10-31T23:59:59Z"), t), // none
            promised("e", Some("2026-11-30T23:59:59Z"), t), // 7 & 30: the day of as_of
            promised("f", Some("2026-12-01T00:00:00Z"), t), // none: future
            promised("g", None, ts("2026-11-24T05:00:00Z")), // 7 & 30 by t's day
            promised("h", None, ts("2026-11-23T23:00:00Z")), // 30
            // promised in another offset: its UTC day counts
            Confirmation {
                promised_delivery_at: Some(ts("2026-11-23T20:00:00-05:00")), // 11-24 UTC
                ..confirm("S", "i", "", "UPS", "", t)
            },
        ],
        as_of,
    );
    let r7 = row(&e, "US", "S", "*", 7).expect("7-day row");
    assert_eq!(counts(&r7), (0, 4, 0, 0), "a, e, g, i: {r7:#?}");
    assert_eq!(
        r7.window_start,
        vtrack::event::utc_day(ts("2026-11-24T00:00:00Z"))
    );
    assert_eq!(r7.window_end, vtrack::event::utc_day(as_of));
    assert_eq!(r7.as_of, as_of);
    let r30 = row(&e, "US", "S", "*", 30).expect("30-day row");
    assert_eq!(counts(&r30), (0, 7, 0, 0), "a, b, c, e, g, h, i: {r30:#?}");
    assert_eq!(
        r30.window_start,
        vtrack::event::utc_day(ts("2026-11-01T00:00:00Z"))
    );
    assert_eq!(r30.vtr, Some(0.0));
    assert!(r30.at_risk);
}

#[test]
fn seller_vtr_per_category_star_and_marketplace() {
    let t = t0();
    let as_of = t + 2 * DAY;
    let mut events: Vec<Event> = Vec::new();
    let mut n = 0;
    let mut add = |events: &mut Vec<Event>, mkt: &str, cat: &str, kind: &str| {
        n += 1;
        let order = format!("o{n}");
        let id = format!("ID{n:08}");
        let base = Confirmation {
            marketplace: mkt.into(),
            category: cat.into(),
            ..confirm("S", &order, "", "UPS", &id, t)
        };
        match kind {
            "valid" => {
                events.push(base.ev());
                events.push(scan("UPS", &id, ScanType::Accepted, t + HOUR).ev());
            }
            "invalid" => events.push(
                Confirmation {
                    tracking_id: String::new(),
                    ..base
                }
                .ev(),
            ),
            "excluded" => events.push(
                Confirmation {
                    ship_method: ShipMethod::Digital,
                    ..base
                }
                .ev(),
            ),
            "pending" => events.push(base.ev()),
            _ => unreachable!(),
        }
    };
    for _ in 0..19 {
        add(&mut events, "US", "A", "valid");
    }
    add(&mut events, "US", "A", "invalid");
    for k in ["valid", "invalid", "excluded", "pending"] {
        add(&mut events, "US", "B", k);
    }
    add(&mut events, "US", "C", "excluded");
    add(&mut events, "US", "C", "pending");
    add(&mut events, "UK", "A", "valid");
    add(&mut events, "UK", "A", "invalid");
    add(&mut events, "UK", "A", "invalid");
    let e = replay(events, as_of);

    for w in [7, 30] {
        let a = row(&e, "US", "S", "A", w).expect("A");
        assert_eq!(counts(&a), (19, 1, 0, 0));
        assert_eq!(a.vtr, Some(0.95));
        assert!(!a.at_risk, "0.95 is not below the threshold");
        assert_eq!(a.threshold, 0.95);

        let b = row(&e, "US", "S", "B", w).expect("B");
        assert_eq!(counts(&b), (1, 1, 1, 1));
        assert_eq!(b.vtr, Some(0.5));
        assert!(b.at_risk);

        let c = row(&e, "US", "S", "C", w).expect("C");
        assert_eq!(counts(&c), (0, 0, 1, 1));
        assert_eq!(c.vtr, None);
        assert!(!c.at_risk, "at_risk is false when vtr is null");

        let all = row(&e, "US", "S", "*", w).expect("*");
        assert_eq!(counts(&all), (20, 2, 2, 2));
        assert_eq!(all.vtr, Some(20.0 / 22.0), "unrounded");
        assert!(all.at_risk);

        let uk = row(&e, "UK", "S", "A", w).expect("UK A");
        assert_eq!(counts(&uk), (1, 2, 0, 0));
        assert_eq!(uk.vtr, Some(1.0 / 3.0));
        let uk_all = row(&e, "UK", "S", "*", w).expect("UK *");
        assert_eq!(counts(&uk_all), (1, 2, 0, 0));
        assert!(row(&e, "UK", "S", "B", w).is_none());
    }
    let mut keys: Vec<String> = e.seller_rows().iter().map(|r| r.key()).collect();
    keys.sort();
    let mut expected = vec![
        "UK/S/*/7",
        "UK/S/*/30",
        "UK/S/A/7",
        "UK/S/A/30",
        "US/S/*/7",
        "US/S/*/30",
        "US/S/A/7",
        "US/S/A/30",
        "US/S/B/7",
        "US/S/B/30",
        "US/S/C/7",
        "US/S/C/30",
    ];
    expected.sort();
    assert_eq!(keys, expected);
}

#[test]
fn at_risk_just_below_the_threshold() {
    let t = t0();
    let mut events = Vec::new();
    for i in 0..18 {
        let id = format!("V{i:06}");
        events.push(confirm("S", &format!("v{i}"), "", "UPS", &id, t).ev());
        events.push(scan("UPS", &id, ScanType::Accepted, t + HOUR).ev());
    }
    events.push(confirm("S", "x", "", "UPS", "", t).ev());
    let e = replay(events, t + DAY);
    let r = row(&e, "US", "S", "*", 30).expect("row");
    assert_eq!(r.vtr, Some(18.0 / 19.0));
    assert!(r.at_risk);
}

#[test]
fn a_package_counts_exactly_once_whatever_its_history() {
    let t = t0();
    let mut e = engine(false);
    let check = |e: &vtrack::engine::Engine, cat: &str, expected: (u64, u64, u64, u64)| {
        for w in [7, 30] {
            let all = row(e, "US", "S", "*", w).expect("*");
            assert_eq!(counts(&all), expected, "* {w}");
            let r = row(e, "US", "S", cat, w).expect("category row");
            assert_eq!(counts(&r), expected, "{cat} {w}");
        }
        let n: usize = e.seller_rows().len();
        assert_eq!(
            n,
            4,
            "only the current category has rows: {:#?}",
            e.seller_rows()
        );
    };
    feed1(
        &mut e,
        Confirmation {
            category: "A".into(),
            ..pkg("UPS", UPS_ID)
        },
    );
    e.advance_to(t + HOUR);
    check(&e, "A", (0, 0, 0, 1));
    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR));
    check(&e, "A", (1, 0, 0, 0));
    // corrected: another category, another ID, another metric date
    feed1(
        &mut e,
        Confirmation {
            category: "B".into(),
            promised_delivery_at: Some(t + 2 * DAY),
            ..confirm("S", "O", "", "USPS", USPS_ID, t + 2 * HOUR)
        },
    );
    e.advance_to(t + 3 * DAY);
    check(&e, "B", (0, 0, 0, 1));
    feed1(
        &mut e,
        scan("UPS", USPS_ID, ScanType::Accepted, t + 3 * DAY),
    );
    check(&e, "B", (0, 1, 0, 0));
    feed1(&mut e, cancel("S", "O", t + 3 * DAY));
    check(&e, "B", (0, 0, 1, 0));
    // final, and still once (the metric day left the 7-day window by then)
    e.advance_to(t + HORIZON + 3 * HOUR);
    let all = row(&e, "US", "S", "*", 30).expect("*");
    assert_eq!(counts(&all), (0, 0, 1, 0));
    assert_eq!(e.seller_rows().len(), 2, "{:#?}", e.seller_rows());
}

#[test]
fn seller_updates_are_written_when_numbers_change_and_tombstoned_when_empty() {
    let t = t0();
    let mut e = engine(true);
    feed1(&mut e, pkg("UPS", ""));
    e.advance_to(t);
    let first = e.take_seller_updates();
    let mut keys: Vec<String> = first
        .iter()
        .map(|u| match u {
            SellerUpdate::Record(r) => r.key(),
            SellerUpdate::Tombstone(k) => format!("tombstone {k}"),
        })
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "US/S/*/30",
            "US/S/*/7",
            "US/S/UNCATEGORIZED/30",
            "US/S/UNCATEGORIZED/7"
        ]
    );
    assert!(e.take_seller_updates().is_empty(), "nothing changed");
    // the metric day leaves the 7-day window
    e.advance_to(t + 7 * DAY);
    let mut slid: Vec<String> = e
        .take_seller_updates()
        .iter()
        .map(|u| match u {
            SellerUpdate::Record(r) => r.key(),
            SellerUpdate::Tombstone(k) => format!("tombstone {k}"),
        })
        .collect();
    slid.sort();
    assert_eq!(
        slid,
        vec![
            "US/S/*/30",
            "US/S/UNCATEGORIZED/30",
            "tombstone US/S/*/7",
            "tombstone US/S/UNCATEGORIZED/7"
        ]
    );
}

#[test]
fn only_packages_whose_windows_overlap_count_toward_the_fan_out_bound() {
    let t = t0();
    let cfg = vtrack::config::EngineConfig {
        max_packages_per_tracking_id: 1,
        ..vtrack::config::EngineConfig::default()
    };
    // The same tracking ID 30 days apart (a carrier recycling it, or a placeholder typed
    // months apart): the windows do not overlap, so neither package is beyond the bound,
    // in replay as in streaming with expiry.
    let events = [
        confirm("S", "A", "", "UPS", UPS_ID, t).ev(),
        scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        confirm("S", "B", "", "UPS", UPS_ID, t + 30 * DAY).ev(),
        scan("UPS", UPS_ID, ScanType::Accepted, t + 30 * DAY + HOUR).ev(),
    ];
    let mut replayed = vtrack::engine::Engine::new(cfg.clone(), carriers(), false);
    feed(&mut replayed, events.iter().cloned());
    replayed.advance_to(t + 60 * DAY);
    let mut streamed = vtrack::engine::Engine::new(cfg, carriers(), false);
    for e in events {
        let at = e.event_time();
        streamed.advance_to(at);
        streamed.expire();
        feed1(&mut streamed, e);
    }
    streamed.advance_to(t + 60 * DAY);
    // (Streaming has forgotten A by then: final, out of every seller window.)
    for (e, order) in [(&replayed, "A"), (&replayed, "B"), (&streamed, "B")] {
        let v = verdict(e, "S", order, "");
        assert_eq!(v.status, Status::Valid, "{v:?}");
        assert!(v.warnings.is_empty(), "{v:?}");
    }
}

#[test]
fn packages_beyond_the_fan_out_bound_learn_why_their_scans_do_not_count() {
    let t = t0();
    let cfg = vtrack::config::EngineConfig {
        max_packages_per_tracking_id: 2,
        ..vtrack::config::EngineConfig::default()
    };
    let mut e = vtrack::engine::Engine::new(cfg, carriers(), false);
    for order in ["A", "B", "C"] {
        feed1(&mut e, confirm("S", order, "", "UPS", UPS_ID, t));
    }
    feed1(&mut e, scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR));
    e.advance_to(t + 30 * DAY);
    let verdicts = e.verdicts();
    let overloaded: Vec<_> = verdicts
        .iter()
        .filter(|v| v.warnings.contains(&Warning::TrackingIdOverloaded))
        .collect();
    assert_eq!(overloaded.len(), 1, "{verdicts:#?}");
    assert_eq!(overloaded[0].reasons, vec![Reason::NoCarrierScan]);
    assert!(
        overloaded[0].explanation.contains("too many packages"),
        "{}",
        overloaded[0].explanation
    );
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| v.status == Status::Valid)
            .count(),
        2
    );
}

#[test]
fn an_order_holding_only_a_cancel_is_kept_for_horizon_and_the_longest_window() {
    let t = t0();
    let mut e = engine(false);
    feed(
        &mut e,
        [cancel("S", "KEPT", t).ev(), cancel("S", "GONE", t).ev()],
    );
    // 14 days of horizon and 30 of the longest window after the CANCEL's day: still held,
    // so a confirmation then is excluded.
    e.advance_to(t + 43 * DAY);
    e.expire();
    feed1(
        &mut e,
        confirm("S", "KEPT", "", "UPS", UPS_ID, t + 43 * DAY).ev(),
    );
    e.advance_to(t + 43 * DAY + HOUR);
    let v = verdict(&e, "S", "KEPT", "");
    assert_eq!(v.reasons, vec![Reason::Cancelled], "{v:?}");
    // A day later the CANCEL alone is forgotten: a confirmation starts afresh.
    e.advance_to(t + 46 * DAY);
    e.expire();
    feed1(
        &mut e,
        confirm("S", "GONE", "", "UPS", UPS_ID_2, t + 46 * DAY).ev(),
    );
    e.advance_to(t + 46 * DAY + HOUR);
    let v = verdict(&e, "S", "GONE", "");
    assert_eq!(v.status, Status::Pending, "{v:?}");
    // A CANCEL alone that old is late: it would be forgotten at once.
    let late = e.counters().late_events;
    feed1(&mut e, cancel("S", "OLD", t).ev());
    assert_eq!(e.counters().late_events, late + 1);
    feed1(&mut e, cancel("S", "RECENT", t + 40 * DAY).ev());
    assert_eq!(e.counters().late_events, late + 1);
}

#[test]
fn packages_no_event_can_change_any_more_are_dropped() {
    let t = t0();
    let events = [
        confirm("S", "A", "", "UPS", UPS_ID, t).ev(),
        scan("UPS", UPS_ID, ScanType::Accepted, t + HOUR).ev(),
        confirm("S", "B", "", "UPS", UPS_ID_2, t + 20 * DAY).ev(),
    ];
    let mut kept = engine(false);
    let mut expired = engine(false);
    for e in [&mut kept, &mut expired] {
        feed(e, events.iter().cloned());
    }
    // Final but still inside the 30-day seller window: kept.
    for day in [15, 25] {
        for e in [&mut kept, &mut expired] {
            e.advance_to(t + day * DAY);
        }
        expired.expire();
        assert_eq!(expired.state_stats().packages, 2, "day {day}");
        assert_eq!(expired.seller_rows(), kept.seller_rows(), "day {day}");
    }
    // A's metric day has left every window: A goes, B (final, still counted) stays.
    for e in [&mut kept, &mut expired] {
        e.advance_to(t + 40 * DAY);
    }
    expired.expire();
    assert_eq!(expired.state_stats().packages, 1);
    assert!(find_verdict(&expired, "S", "A", "").is_none());
    assert_eq!(
        verdict(&expired, "S", "B", ""),
        verdict(&kept, "S", "B", "")
    );
    assert_eq!(expired.seller_rows(), kept.seller_rows());
}
