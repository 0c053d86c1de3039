//! The verdict rules (contract sections 3, 4, 6 and 8) through `vtrack replay`: small
//! hand-made NDJSON inputs, each output field checked against the contract's words (rule
//! order, CANCEL, ties, windows, hand-offs, format evidence, warnings, late reasons,
//! normalisation, explanations).

mod common;

use serde_json::{json, Value};

const UPS_ID: &str = "1Z999AA10123456784";
const USPS_ID: &str = "9400111899223851245125";
const S10_US_ID: &str = "EA123456785US";
const FEDEX_ID: &str = "398765432103";
const AMAZON_ID: &str = "TBA123456789012";
const PUROLATOR_ID: &str = "334455667785";
const T: &str = "2026-11-01T10:00:00Z";

/// What a replay wrote.
struct Out {
    verdicts: Vec<Value>,
    late: Vec<Value>,
    dead: Vec<Value>,
}

impl Out {
    /// The verdict of package `order/package` (seller `S`).
    fn verdict(&self, order: &str, package: &str) -> &Value {
        self.verdicts
            .iter()
            .find(|v| v["order_id"] == order && v["package_id"] == package)
            .unwrap_or_else(|| panic!("no verdict for {order}/{package}: {:#?}", self.verdicts))
    }
    /// The only verdict.
    fn only(&self) -> &Value {
        assert_eq!(self.verdicts.len(), 1, "{:#?}", self.verdicts);
        &self.verdicts[0]
    }
}

/// A CONFIRM of seller `S`, order `O`, package `""`, UPS, [`UPS_ID`], at [`T`]; `over`
/// replaces or adds fields (`null` removes one).
fn confirm(id: &str, over: Value) -> Value {
    let mut e = json!({"event_id": id, "seller_id": "S", "order_id": "O", "carrier": "UPS",
        "tracking_id": UPS_ID, "confirmed_at": T});
    merge(&mut e, over);
    e
}

/// A CANCEL of seller `S`, order `O`, at [`T`].
fn cancel(id: &str, over: Value) -> Value {
    let mut e = json!({"event_id": id, "action": "CANCEL", "seller_id": "S", "order_id": "O",
        "confirmed_at": T});
    merge(&mut e, over);
    e
}

/// An ACCEPTED scan by UPS of [`UPS_ID`], two hours after [`T`].
fn scan(id: &str, over: Value) -> Value {
    let mut e = json!({"event_id": id, "carrier": "UPS", "tracking_id": UPS_ID,
        "scan_type": "ACCEPTED", "scanned_at": "2026-11-01T12:00:00Z"});
    merge(&mut e, over);
    e
}

fn merge(e: &mut Value, over: Value) {
    for (k, v) in over.as_object().unwrap() {
        if v.is_null() {
            e.as_object_mut().unwrap().remove(k);
        } else {
            e[k] = v.clone();
        }
    }
}

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

/// `vtrack replay` of the events, with `--as-of` when given and more arguments.
fn replay_args(
    confirmations: &[Value],
    scans: &[Value],
    as_of: Option<&str>,
    args: &[&str],
) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let mut args = args.to_vec();
    if let Some(a) = as_of {
        args.extend(["--as-of", a]);
    }
    let (c, s) = (ndjson(confirmations), ndjson(scans));
    let r = common::run_replay(dir.path(), c.as_bytes(), s.as_bytes(), &args, &[]).succeeded();
    Out {
        verdicts: r.verdicts,
        late: r.late_confirmations,
        dead: r.dead_letters,
    }
}

fn replay(confirmations: &[Value], scans: &[Value], as_of: Option<&str>) -> Out {
    replay_args(confirmations, scans, as_of, &[])
}

fn status(v: &Value) -> (String, Vec<String>) {
    let reasons = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    (v["status"].as_str().unwrap().to_string(), reasons)
}

fn is(v: &Value, st: &str, reasons: &[&str]) {
    let (s, r) = status(v);
    assert_eq!(
        (s.as_str(), r.iter().map(String::as_str).collect::<Vec<_>>()),
        (st, reasons.to_vec()),
        "{v:#}"
    );
}

// ------------------------------------------------------------------------------------
// Conforming behaviour (regression guards)
// ------------------------------------------------------------------------------------

#[test]
fn cancel_excludes_every_package_of_the_order_whatever_its_timing_and_creates_none() {
    let out = replay(
        &[
            cancel(
                "x",
                json!({"package_id": "zz", "confirmed_at": "2026-10-01T00:00:00Z"}),
            ),
            confirm("c1", json!({"package_id": "1"})),
            confirm("c2", json!({"package_id": "2", "ship_method": "DIGITAL"})),
            cancel("y", json!({"order_id": "ONLY_CANCELLED"})),
        ],
        &[scan("s1", json!({}))],
        None,
    );
    assert_eq!(out.verdicts.len(), 2, "a CANCEL alone creates no package");
    is(out.verdict("O", "1"), "EXCLUDED", &["CANCELLED"]);
    // Rule 1 comes before rule 2.
    is(out.verdict("O", "2"), "EXCLUDED", &["CANCELLED"]);
}

#[test]
fn exemptions_come_before_the_tracking_rules_and_follow_section_8() {
    let blank = json!({"tracking_id": ""});
    let cases = [
        (
            json!({"ship_method": "DIGITAL", "tracking_id": ""}),
            "EXCLUDED",
            "DIGITAL",
        ),
        (
            json!({"ship_method": "LETTER", "carrier": "United States Postal Service", "tracking_id": "", "package_value_cents": 999}),
            "EXCLUDED",
            "SMALL_ENVELOPE",
        ),
        (
            json!({"ship_method": "LETTER", "carrier": "USPS", "tracking_id": "", "package_value_cents": 1000}),
            "INVALID",
            "MISSING_TRACKING",
        ),
        (
            json!({"ship_method": "LETTER", "carrier": "USPS", "tracking_id": ""}),
            "INVALID",
            "MISSING_TRACKING",
        ),
        (
            json!({"ship_method": "LETTER", "carrier": "FEDEX_SMARTPOST", "tracking_id": "", "package_value_cents": 5}),
            "INVALID",
            "MISSING_TRACKING",
        ),
        (
            json!({"ship_method": "PARCEL", "carrier": "USPS", "tracking_id": "", "package_value_cents": 5}),
            "INVALID",
            "MISSING_TRACKING",
        ),
        (
            json!({"ship_method": "FREIGHT", "carrier": "Bob's Trucks", "tracking_id": ""}),
            "EXCLUDED",
            "FREIGHT_NON_INTEGRATED",
        ),
        (
            json!({"ship_method": "FREIGHT", "carrier": "Estes", "tracking_id": ""}),
            "EXCLUDED",
            "FREIGHT_NON_INTEGRATED",
        ),
        (
            json!({"ship_method": "FREIGHT", "carrier": "UPS", "tracking_id": ""}),
            "INVALID",
            "MISSING_TRACKING",
        ),
        (
            json!({"carrier": "foo", "tracking_id": "  "}),
            "INVALID",
            "MISSING_TRACKING",
        ),
        (
            json!({"carrier": "foo", "tracking_id": "1Z 999"}),
            "INVALID",
            "INVALID_CHARACTERS",
        ),
        (json!({"carrier": "foo"}), "INVALID", "UNSUPPORTED_CARRIER"),
        (
            json!({"carrier": "Old Dominion", "tracking_id": PUROLATOR_ID}),
            "INVALID",
            "UNSUPPORTED_CARRIER",
        ),
        (blank, "INVALID", "MISSING_TRACKING"),
    ];
    let confirmations: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (over, _, _))| {
            let mut o = over.clone();
            o["order_id"] = json!(format!("O{i}"));
            confirm(&format!("c{i}"), o)
        })
        .collect();
    let out = replay(&confirmations, &[], None);
    for (i, (_, st, reason)) in cases.iter().enumerate() {
        is(out.verdict(&format!("O{i}"), ""), st, &[reason]);
    }
    let od = out.verdict("O12", "");
    assert_eq!(od["carrier"], "OLD_DOMINION");
    assert_eq!(out.verdict("O11", "")["carrier"], Value::Null);
}

#[test]
fn the_current_confirmation_breaks_ties_by_the_event_ids_utf8_bytes() {
    // U+FF61 is EF BD A1 in UTF-8, U+1F600 is F0 9F 98 80: the emoji is greater in UTF-8
    // (and smaller in UTF-16).
    for (first, second) in [(0, 1), (1, 0)] {
        let events = [
            confirm(
                "\u{ff61}",
                json!({"carrier": "USPS", "tracking_id": USPS_ID}),
            ),
            confirm("\u{1F600}", json!({})),
        ];
        let out = replay(&[events[first].clone(), events[second].clone()], &[], None);
        assert_eq!(out.only()["carrier"], "UPS", "{:#}", out.only());
    }
}

#[test]
fn scan_window_bounds_are_inclusive_and_final_is_as_of_at_least_t_plus_horizon() {
    let at = |when: &str, as_of: &str| {
        let out = replay(
            &[confirm("c", json!({}))],
            &[scan("s", json!({"scanned_at": when}))],
            Some(as_of),
        );
        let v = out.only().clone();
        (status(&v).0, v["final"].as_bool().unwrap())
    };
    let end = "2026-11-15T10:00:00Z";
    assert_eq!(at("2026-10-25T10:00:00Z", end), ("VALID".into(), true));
    assert_eq!(
        at("2026-10-25T09:59:59.999Z", end),
        ("INVALID".into(), true)
    );
    assert_eq!(at("2026-11-15T10:00:00Z", end), ("VALID".into(), true));
    assert_eq!(
        at("2026-11-15T10:00:00Z", "2026-11-15T09:59:59.999Z"),
        ("PENDING".into(), false),
        "a scan after --as-of has not happened"
    );
}

#[test]
fn no_carrier_scan_only_when_final_and_no_scan_yet_after_48_hours() {
    let v = |as_of: &str, scans: &[Value]| {
        replay(&[confirm("c", json!({}))], scans, Some(as_of))
            .only()
            .clone()
    };
    let info = [scan("s", json!({"scan_type": "INFO_RECEIVED"}))];
    let w = v("2026-11-03T09:59:59.999Z", &info);
    is(&w, "PENDING", &[]);
    assert_eq!(w["warnings"], json!([]));
    let w = v("2026-11-03T10:00:00Z", &info);
    is(&w, "PENDING", &[]);
    assert_eq!(w["warnings"], json!(["NO_SCAN_YET"]));
    let w = v("2026-11-15T10:00:00Z", &info);
    is(&w, "INVALID", &["NO_CARRIER_SCAN"]);
    assert_eq!(w["warnings"], json!([]));
    assert_eq!(w["final"], true);
}

#[test]
fn hand_offs_are_one_way_and_unknown_scanners_are_another_carrier() {
    let smartpost = replay(
        &[confirm(
            "c",
            json!({"carrier": "FEDEX_SMARTPOST", "tracking_id": FEDEX_ID}),
        )],
        &[scan(
            "s",
            json!({"carrier": "USPS", "tracking_id": FEDEX_ID}),
        )],
        None,
    );
    is(smartpost.only(), "VALID", &[]);
    let usps = replay(
        &[confirm(
            "c",
            json!({"carrier": "USPS", "tracking_id": USPS_ID}),
        )],
        &[scan(
            "s",
            json!({"carrier": "FEDEX_SMARTPOST", "tracking_id": USPS_ID}),
        )],
        None,
    );
    is(usps.only(), "INVALID", &["CARRIER_MISMATCH"]);
    assert_eq!(
        usps.only()["final"],
        false,
        "given while the window is open"
    );
    let unknown = replay(
        &[confirm("c", json!({}))],
        &[scan("s", json!({"carrier": "Bob's Courier"}))],
        None,
    );
    is(unknown.only(), "INVALID", &["CARRIER_MISMATCH"]);
}

#[test]
fn format_evidence_needs_a_check_digit_format_of_another_integrated_carrier() {
    let v = |carrier: &str, id: &str| {
        replay(
            &[confirm("c", json!({"carrier": carrier, "tracking_id": id}))],
            &[],
            None,
        )
        .only()
        .clone()
    };
    is(&v("USPS", UPS_ID), "INVALID", &["CARRIER_MISMATCH"]);
    is(&v("UPS", S10_US_ID), "INVALID", &["CARRIER_MISMATCH"]);
    // Amazon TBA has no check digit.
    is(&v("FEDEX", AMAZON_ID), "PENDING", &[]);
    // USPS formats are in FedEx SmartPost's family (its hand-off partner).
    is(&v("SmartPost", USPS_ID), "PENDING", &[]);
    // Purolator is not integrated.
    is(&v("UPS", PUROLATOR_ID), "PENDING", &[]);
    assert_eq!(
        v("UPS", S10_US_ID)["detected_carriers"],
        json!(["CANADA_POST", "USPS"])
    );
    assert_eq!(v("USPS", USPS_ID)["detected_carriers"], json!(["USPS"]));
}

#[test]
fn late_reasons_their_order_and_the_late_confirmation_row() {
    let out = replay(
        &[confirm(
            "c",
            json!({"confirmed_at": "2026-11-03T00:00:00Z", "promised_delivery_at": "2026-11-02T06:00:00Z"}),
        )],
        &[
            scan(
                "s1",
                json!({"scan_type": "DELIVERED", "scanned_at": "2026-11-02T00:00:00Z"}),
            ),
            scan(
                "s0",
                json!({"scan_type": "DELIVERED", "scanned_at": "2026-11-01T00:00:00Z"}),
            ),
        ],
        None,
    );
    let v = out.only();
    is(
        v,
        "INVALID",
        &["CONFIRMED_AFTER_DELIVERY", "CONFIRMED_AFTER_DELIVERY_DATE"],
    );
    assert_eq!(v["delivered_at"], "2026-11-01T00:00:00Z");
    assert_eq!(out.late.len(), 1);
    assert_eq!(out.late[0]["reason"], "CONFIRMED_AFTER_DELIVERY");
    assert_eq!(out.late[0]["late_by"], 2 * 86_400);
    // A delivery exactly at t is not before t; t equal to the promised date is not after it.
    let out = replay(
        &[confirm("c", json!({"promised_delivery_at": T}))],
        &[scan(
            "s",
            json!({"scan_type": "DELIVERED", "scanned_at": T}),
        )],
        None,
    );
    is(out.only(), "VALID", &[]);
    assert!(out.late.is_empty());
    // Before the close, a late reason stands alone; at the close NO_CARRIER_SCAN follows it.
    let c = [confirm(
        "c",
        json!({"promised_delivery_at": "2026-10-30T00:00:00Z"}),
    )];
    is(
        replay(&c, &[], None).only(),
        "INVALID",
        &["CONFIRMED_AFTER_DELIVERY_DATE"],
    );
    is(
        replay(&c, &[], Some("2026-12-01T00:00:00Z")).only(),
        "INVALID",
        &["CONFIRMED_AFTER_DELIVERY_DATE", "NO_CARRIER_SCAN"],
    );
}

#[test]
fn tracking_and_carrier_normalisation() {
    let v = |over: Value| replay(&[confirm("c", over)], &[], None).only().clone();
    let lower = v(json!({"tracking_id": "  1z999aa10123456784\t"}));
    assert_eq!(lower["tracking_normalized"], UPS_ID);
    assert_eq!(lower["tracking_id"], "  1z999aa10123456784\t");
    let spaced = v(json!({"tracking_id": "1Z 999-AA10123456784"}));
    is(&spaced, "INVALID", &["INVALID_CHARACTERS"]);
    assert_eq!(spaced["tracking_normalized"], Value::Null);
    assert!(
        spaced["explanation"].as_str().unwrap().contains(UPS_ID),
        "{spaced:#}"
    );
    for (entered, code) in [
        ("Fed Ex", "FEDEX"),
        ("fedex ground", "FEDEX"),
        ("AMZL", "AMAZON"),
        ("Amazon Shipping", "AMAZON"),
        ("ups mi", "UPS_MAIL_INNOVATIONS"),
        ("fedex_smartpost", "FEDEX_SMARTPOST"),
        ("purolator", "PUROLATOR"),
    ] {
        assert_eq!(v(json!({"carrier": entered}))["carrier"], code, "{entered}");
    }
}

#[test]
fn as_of_counts_an_event_exactly_at_it_and_ignores_later_ones() {
    let out = replay(
        &[
            confirm("c", json!({})),
            cancel("x", json!({"confirmed_at": "2026-11-03T10:00:00.001Z"})),
        ],
        &[scan("s", json!({"scanned_at": "2026-11-03T10:00:00Z"}))],
        Some("2026-11-03T10:00:00Z"),
    );
    is(out.only(), "VALID", &[]);
}

// ------------------------------------------------------------------------------------
// Where the contract leaves room: the choices written down in the README
// ------------------------------------------------------------------------------------

/// A CANCEL's category plays no part in any rule, so `*` (refused as a CONFIRM's category,
/// since it names all categories) does not make it bad input: the order is cancelled.
#[test]
fn a_cancel_cancels_whatever_its_category() {
    let out = replay(
        &[
            confirm("c", json!({})),
            cancel("x", json!({"category": "*"})),
        ],
        &[],
        None,
    );
    assert!(out.dead.is_empty(), "{:#?}", out.dead);
    is(out.only(), "EXCLUDED", &["CANCELLED"]);
}

/// Both USPS and Canada Post read S10 numbers, so both are detected; the explanation names the
/// carrier of the number's country (`…US`: USPS), not the first by code.
#[test]
fn a_us_s10_number_is_explained_as_usps() {
    let out = replay(
        &[confirm("c", json!({"tracking_id": S10_US_ID}))],
        &[],
        None,
    );
    let v = out.only();
    assert_eq!(v["detected_carriers"], json!(["CANADA_POST", "USPS"]));
    let e = v["explanation"].as_str().unwrap().to_string();
    assert!(e.contains("USPS") && !e.contains("Canada Post"), "{e}");
}
