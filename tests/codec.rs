//! Wire formats: decoding per contract section 2, round trips, JSON/protobuf equivalence,
//! and records in protobuf.

use proptest::prelude::*;
use prost::Message;
use vtrack::codec::proto::{self, carrier_scan, shipment_confirmation, tracking_verdict};
use vtrack::codec::{
    confirmation_message, confirmation_to_json, confirmation_to_proto, decode_confirmation,
    decode_scan, late_confirmation_to_proto, scan_message, scan_to_json, scan_to_proto,
    seller_vtr_to_proto, verdict_to_proto, write_json_line, DecodeError, Format, MAX_MILLIS,
    MIN_MILLIS,
};
use vtrack::event::{Action, Confirmation, Scan, ScanType, ShipMethod};
use vtrack::records::{
    LateConfirmationRecord, Reason, SellerVtrRecord, Status, VerdictRecord, Warning,
};

/// 2026-11-20T15:04:05Z
const T: i64 = 1_795_187_045_000;

const FULL_CONFIRMATION: &str = r#"{"event_id":"e1","action":"CONFIRM","seller_id":"S1",
  "order_id":"O1","package_id":"2","marketplace":"CA","category":"TOYS","carrier":"UPS",
  "tracking_id":"1Z999AA10123456784","ship_method":"LETTER","package_value_cents":899,
  "confirmed_at":"2026-11-20T15:04:05Z","promised_delivery_at":"2026-11-25T23:59:59.5-05:00"}"#;

fn full_confirmation() -> Confirmation {
    Confirmation {
        event_id: "e1".into(),
        action: Action::Confirm,
        seller_id: "S1".into(),
        order_id: "O1".into(),
        package_id: "2".into(),
        marketplace: "CA".into(),
        category: "TOYS".into(),
        carrier: "UPS".into(),
        tracking_id: "1Z999AA10123456784".into(),
        ship_method: ShipMethod::Letter,
        package_value_cents: Some(899),
        confirmed_at: T,
        promised_delivery_at: Some(1_795_669_199_500),
    }
}

fn scan() -> Scan {
    Scan {
        event_id: "s1".into(),
        carrier: "UPS".into(),
        tracking_id: "1z999aa10123456784".into(),
        scan_type: ScanType::Delivered,
        scanned_at: T,
        location: Some("Memphis, TN".into()),
    }
}

fn confirm(json: &str) -> Result<Confirmation, DecodeError> {
    decode_confirmation(json.as_bytes())
}

fn scan_json(json: &str) -> Result<Scan, DecodeError> {
    decode_scan(json.as_bytes())
}

fn error(r: Result<impl std::fmt::Debug, DecodeError>) -> String {
    r.expect_err("bad input").to_string()
}

/// A minimal CONFIRM with `extra` fields added.
fn minimal(extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{"event_id":"e1","seller_id":"S1","order_id":"O1","carrier":"UPS","tracking_id":"X1","confirmed_at":{T}{sep}{extra}}}"#
    )
}

/// A minimal CONFIRM with one field set to the raw JSON text `value` (replacing it if present).
fn minimal_with(key: &str, value: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&minimal("")).expect("json");
    v[key] = serde_json::Value::String("@@VALUE@@".into());
    v.to_string().replace("\"@@VALUE@@\"", value)
}

// ---------------------------------------------------------------- JSON decoding

#[test]
fn decodes_every_confirmation_field() {
    assert_eq!(confirm(FULL_CONFIRMATION), Ok(full_confirmation()));
}

#[test]
fn applies_every_default() {
    let c = confirm(&minimal("")).expect("valid");
    assert_eq!(c.action, Action::Confirm);
    assert_eq!(c.package_id, "");
    assert_eq!(c.marketplace, "US");
    assert_eq!(c.category, "UNCATEGORIZED");
    assert_eq!(c.ship_method, ShipMethod::Parcel);
    assert_eq!(c.package_value_cents, None);
    assert_eq!(c.promised_delivery_at, None);
    assert_eq!(c.confirmed_at, T);
}

#[test]
fn null_is_absent() {
    let nulls = r#""action":null,"package_id":null,"marketplace":null,"category":null,
        "ship_method":null,"package_value_cents":null,"promised_delivery_at":null"#;
    assert_eq!(confirm(&minimal(nulls)), confirm(&minimal("")));
    let no_seller = r#"{"event_id":"e","seller_id":null,"order_id":"o","carrier":"",
        "tracking_id":"","confirmed_at":0}"#;
    assert_eq!(
        error(confirm(no_seller)),
        "missing required field `seller_id`"
    );
    let s = r#"{"event_id":"s","carrier":"UPS","tracking_id":"X","scan_type":"ACCEPTED",
        "scanned_at":0,"location":null}"#;
    assert_eq!(scan_json(s).expect("valid").location, None);
}

#[test]
fn every_required_confirmation_field_is_named_when_missing() {
    for field in [
        "event_id",
        "seller_id",
        "order_id",
        "confirmed_at",
        "carrier",
        "tracking_id",
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&minimal("")).expect("json");
        v.as_object_mut().expect("object").remove(field);
        let e = confirm(&v.to_string()).expect_err(field);
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(e.to_string().starts_with("missing required field"), "{e}");
    }
}

#[test]
fn confirm_requires_carrier_and_tracking_id_but_cancel_does_not() {
    let no_carrier = minimal("").replace(r#""carrier":"UPS","#, "");
    assert_eq!(
        error(confirm(&no_carrier)),
        "missing required field `carrier` (action is CONFIRM)"
    );
    let cancel = r#"{"event_id":"e","action":"CANCEL","seller_id":"S","order_id":"O",
        "confirmed_at":"2026-11-20T15:04:05Z"}"#;
    let c = confirm(cancel).expect("valid cancel");
    assert_eq!(
        (c.action, c.carrier.as_str(), c.tracking_id.as_str()),
        (Action::Cancel, "", "")
    );
}

#[test]
fn confirm_accepts_empty_carrier_and_tracking_id() {
    let json = minimal("")
        .replace(r#""carrier":"UPS""#, r#""carrier":"""#)
        .replace(r#""tracking_id":"X1""#, r#""tracking_id":"""#);
    let c = confirm(&json).expect("empty is allowed");
    assert_eq!((c.carrier.as_str(), c.tracking_id.as_str()), ("", ""));
}

#[test]
fn an_empty_or_blank_marketplace_or_category_takes_the_default() {
    for empty in ["\"\"", "\"  \""] {
        let c = confirm(&minimal_with("marketplace", empty)).expect("valid");
        assert_eq!(c.marketplace, "US");
        let c = confirm(&minimal_with("category", empty)).expect("valid");
        assert_eq!(c.category, "UNCATEGORIZED");
    }
}

#[test]
fn a_scan_carrier_without_a_letter_or_digit_is_bad_input() {
    for carrier in ["  ", "--", "."] {
        let s = format!(
            "{{\"event_id\":\"s\",\"carrier\":\"{carrier}\",\"tracking_id\":\"X\",\"scan_type\":\"ACCEPTED\",\"scanned_at\":0}}"
        );
        assert_eq!(
            error(scan_json(&s)),
            "field `carrier`: has no letter or digit, so it names no carrier"
        );
    }
}

#[test]
fn identifiers_must_not_be_empty() {
    let json = minimal_with("seller_id", r#""""#);
    assert_eq!(
        error(confirm(&json)),
        "field `seller_id`: must not be empty"
    );
}

#[test]
fn wrong_types_are_bad_input_naming_the_field() {
    let cases = [
        ("seller_id", r#"5"#, "field `seller_id`: expected a string, found integer 5"),
        ("package_id", r#"true"#, "field `package_id`: expected a string, found boolean true"),
        ("category", r#"["A"]"#, "field `category`: expected a string, found an array"),
        ("marketplace", r#"{"code":"US"}"#, "field `marketplace`: expected a string, found an object"),
        ("package_value_cents", r#""899""#, "field `package_value_cents`: expected an integer, found string \"899\""),
        ("package_value_cents", r#"8.5"#, "field `package_value_cents`: expected an integer, found number 8.5"),
        ("package_value_cents", r#"99999999999999999999"#, "field `package_value_cents`: expected an integer, found number 100000000000000000000"),
        ("package_value_cents", r#"18446744073709551615"#, "field `package_value_cents`: integer 18446744073709551615 out of range"),
        ("package_value_cents", r#"-5"#, "field `package_value_cents`: -5 is negative"),
        ("action", r#"1"#, "field `action`: expected a string, found integer 1"),
        ("action", r#""confirm""#, "field `action`: unknown value \"confirm\""),
        ("ship_method", r#""Parcel""#, "field `ship_method`: unknown value \"Parcel\""),
        ("promised_delivery_at", r#"1.5e12"#, "field `promised_delivery_at`: expected an RFC 3339 timestamp string or integer epoch milliseconds, found number 1500000000000"),
        ("promised_delivery_at", r#"false"#, "field `promised_delivery_at`: expected an RFC 3339 timestamp string or integer epoch milliseconds, found boolean false"),
    ];
    for (key, value, message) in cases {
        assert_eq!(
            error(confirm(&minimal_with(key, value))),
            message,
            "{key}: {value}"
        );
    }
}

#[test]
fn a_byte_order_mark_before_a_json_message_is_skipped() {
    let json = format!("\u{feff}{}", minimal_with("category", r#""BOOKS""#));
    let c = vtrack::codec::decode_confirmation(json.as_bytes()).expect("decodes");
    assert_eq!(c.category, "BOOKS");
    assert!(vtrack::codec::decode_confirmation("\u{feff}".as_bytes()).is_err());
}

#[test]
fn minus_zero_is_the_integer_zero() {
    let json = minimal_with("package_value_cents", "-0");
    assert_eq!(confirm(&json).map(|c| c.package_value_cents), Ok(Some(0)));
}

#[test]
fn timestamps_with_any_offset_or_epoch_millis() {
    let same = [
        r#""2026-11-20T15:04:05Z""#,
        r#""2026-11-20T15:04:05+00:00""#,
        r#""2026-11-20T20:34:05+05:30""#,
        r#""2026-11-20T07:04:05-08:00""#,
        r#""2026-11-20T15:04:05.000Z""#,
        "1795187045000",
    ];
    for ts in same {
        let json = minimal_with("confirmed_at", ts);
        assert_eq!(confirm(&json).map(|c| c.confirmed_at), Ok(T), "{ts}");
    }
    let before_epoch = minimal_with("confirmed_at", "-1500");
    assert_eq!(confirm(&before_epoch).map(|c| c.confirmed_at), Ok(-1500));
}

#[test]
fn bad_timestamps_say_why() {
    let cases = [
        (r#""2026-11-20T15:04:05""#, "timestamp \"2026-11-20T15:04:05\" has no UTC offset"),
        (r#""2026-11-20""#, "timestamp \"2026-11-20\" is not RFC 3339"),
        (r#""1795187045000""#, "timestamp \"1795187045000\" is not RFC 3339"),
        ("1795187045000.0", "expected an RFC 3339 timestamp string or integer epoch milliseconds, found number 1795187045000"),
        ("253402300800000", "epoch milliseconds 253402300800000 out of range (years 0001 to 9999)"),
        (r#""0000-12-31T23:59:59Z""#, "timestamp \"0000-12-31T23:59:59Z\" is out of range (years 0001 to 9999)"),
    ];
    for (ts, why) in cases {
        let json = minimal_with("confirmed_at", ts);
        assert_eq!(
            error(confirm(&json)),
            format!("field `confirmed_at`: {why}"),
            "{ts}"
        );
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let extra =
        r#""schema":3,"meta":{"a":[1,{"b":null}],"c":"\u00e9"},"flags":[true,false],"x":1.5"#;
    assert_eq!(confirm(&minimal(extra)), confirm(&minimal("")));
}

#[test]
fn escaped_strings_are_decoded() {
    let json = minimal(r#""category":"Toys \u0026 \"Games\"\n\u00e9\ud83d\ude00""#);
    assert_eq!(
        confirm(&json).expect("valid").category,
        "Toys & \"Games\"\né😀"
    );
}

#[test]
fn utf8_is_required_even_in_ignored_fields() {
    let mut bytes = minimal(r#""note":"xx""#).into_bytes();
    let at = bytes.iter().position(|b| *b == b'x').expect("x");
    bytes[at] = 0xFF;
    let e = decode_confirmation(&bytes).expect_err("not UTF-8");
    assert!(matches!(e, DecodeError::Undecodable(_)), "{e}");
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

#[test]
fn undecodable_json_is_bad_input() {
    for json in [
        "{",
        r#"{"event_id":"e1",}"#,
        "{} trailing",
        r#"{"event_id":"a","event_id":"b"}"#,
    ] {
        let e = confirm(json).expect_err(json);
        assert!(matches!(e, DecodeError::Undecodable(_)), "{json}: {e}");
    }
    let dup = error(confirm(r#"{"event_id":"a","event_id":"b"}"#));
    assert!(dup.contains("duplicate field `event_id`"), "{dup}");
}

#[test]
fn decodes_a_scan_keeping_the_tracking_id_as_reported() {
    let json = r#"  {"event_id":"s1","carrier":"UPS","tracking_id":"1z999aa10123456784",
        "scan_type":"DELIVERED","scanned_at":"2026-11-20T10:04:05-05:00",
        "location":"Memphis, TN","extra":{}}"#;
    assert_eq!(scan_json(json), Ok(scan()));
}

#[test]
fn scan_bad_input_names_the_field() {
    let base = scan_to_json(&scan());
    let replace = |from: &str, to: &str| error(scan_json(&base.replace(from, to)));
    assert_eq!(
        replace(r#""DELIVERED""#, r#""SCANNED""#),
        "field `scan_type`: unknown value \"SCANNED\""
    );
    assert_eq!(
        replace(r#""DELIVERED""#, r#""delivered""#),
        "field `scan_type`: unknown value \"delivered\""
    );
    assert_eq!(
        replace(r#""DELIVERED""#, "null"),
        "missing required field `scan_type`"
    );
    assert_eq!(
        replace(r#""1z999aa10123456784""#, r#"" ""#),
        "field `tracking_id`: blank"
    );
    assert_eq!(
        replace(r#""1z999aa10123456784""#, r#""1Z 999""#),
        "field `tracking_id`: \"1Z 999\" is malformed: only ASCII letters and digits are allowed"
    );
    assert_eq!(
        replace(r#""UPS""#, r#""""#),
        "field `carrier`: must not be empty"
    );
    assert_eq!(
        replace(r#""2026-11-20T15:04:05Z""#, r#""2026-11-20 15:04:05""#),
        "field `scanned_at`: timestamp \"2026-11-20 15:04:05\" has no UTC offset"
    );
    for field in [
        "event_id",
        "carrier",
        "tracking_id",
        "scan_type",
        "scanned_at",
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&base).expect("json");
        v.as_object_mut().expect("object").remove(field);
        assert_eq!(
            error(scan_json(&v.to_string())),
            format!("missing required field `{field}`")
        );
    }
}

// ---------------------------------------------------------------- encoding

#[test]
fn encodes_json_on_one_line_in_utc() {
    assert_eq!(
        confirmation_to_json(&full_confirmation()),
        r#"{"event_id":"e1","action":"CONFIRM","seller_id":"S1","order_id":"O1","package_id":"2","marketplace":"CA","category":"TOYS","carrier":"UPS","tracking_id":"1Z999AA10123456784","ship_method":"LETTER","package_value_cents":899,"confirmed_at":"2026-11-20T15:04:05Z","promised_delivery_at":"2026-11-26T04:59:59.500Z"}"#
    );
    let mut s = scan();
    s.location = None;
    s.tracking_id = "line\nbreak".into();
    assert_eq!(
        scan_to_json(&s),
        r#"{"event_id":"s1","carrier":"UPS","tracking_id":"line\nbreak","scan_type":"DELIVERED","scanned_at":"2026-11-20T15:04:05Z"}"#
    );
}

#[test]
fn cancel_omits_empty_carrier_and_tracking_id() {
    let cancel = Confirmation {
        action: Action::Cancel,
        carrier: String::new(),
        tracking_id: String::new(),
        ..full_confirmation()
    };
    let json = confirmation_to_json(&cancel);
    assert!(
        !json.contains("carrier") && !json.contains("tracking_id"),
        "{json}"
    );
    assert_eq!(confirm(&json), Ok(cancel.clone()));
    assert_eq!(confirmation_message(&cancel).carrier, None);
}

#[test]
fn writes_records_as_ndjson_lines() {
    let mut out = Vec::new();
    write_json_line(&mut out, &late()).expect("write");
    write_json_line(&mut out, &late()).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(text.lines().count(), 2);
    assert!(
        text.ends_with("\"reason\":\"CONFIRMED_AFTER_DELIVERY\"}\n"),
        "{text}"
    );
}

// ---------------------------------------------------------------- protobuf

#[test]
fn json_and_protobuf_decode_to_the_same_event() {
    let c = full_confirmation();
    assert_eq!(
        decode_confirmation(&confirmation_to_proto(&c)),
        confirm(FULL_CONFIRMATION)
    );
    assert_eq!(decode_scan(&scan_to_proto(&scan())), Ok(scan()));
    assert_eq!(Format::detect(&confirmation_to_proto(&c)), Format::Protobuf);
    assert_eq!(Format::detect(b" \r\n\t{}"), Format::Json);
}

#[test]
fn protobuf_defaults_and_presence() {
    let mut m = confirmation_message(&full_confirmation());
    m.action = 0;
    m.ship_method = 0;
    m.marketplace = None;
    m.category = None;
    m.package_id = String::new();
    let c = decode_confirmation(&m.encode_to_vec()).expect("valid");
    assert_eq!(c.action, Action::Confirm);
    assert_eq!(c.ship_method, ShipMethod::Parcel);
    assert_eq!(
        (
            c.marketplace.as_str(),
            c.category.as_str(),
            c.package_id.as_str()
        ),
        ("US", "UNCATEGORIZED", "")
    );
    m.marketplace = Some(String::new());
    m.carrier = Some(String::new());
    let c = decode_confirmation(&m.encode_to_vec()).expect("valid");
    assert_eq!((c.marketplace.as_str(), c.carrier.as_str()), ("US", ""));
}

#[test]
fn protobuf_bad_input_names_the_field() {
    let base = confirmation_message(&full_confirmation());
    let check = |edit: &dyn Fn(&mut proto::ShipmentConfirmation), message: &str| {
        let mut m = base.clone();
        edit(&mut m);
        assert_eq!(error(decode_confirmation(&m.encode_to_vec())), message);
    };
    check(&|m| m.action = 9, "field `action`: unknown value 9");
    check(
        &|m| m.ship_method = -1,
        "field `ship_method`: unknown value -1",
    );
    check(&|m| m.event_id.clear(), "missing required field `event_id`");
    check(
        &|m| m.seller_id.clear(),
        "missing required field `seller_id`",
    );
    check(
        &|m| m.confirmed_at = None,
        "missing required field `confirmed_at`",
    );
    check(
        &|m| m.carrier = None,
        "missing required field `carrier` (action is CONFIRM)",
    );
    check(
        &|m| {
            m.confirmed_at = Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 1_000_000_000,
            })
        },
        "field `confirmed_at`: timestamp nanos 1000000000 not in 0..1000000000",
    );
    let mut s = scan_message(&scan());
    s.scan_type = carrier_scan::ScanType::Unspecified as i32;
    assert_eq!(
        error(decode_scan(&s.encode_to_vec())),
        "missing required field `scan_type`"
    );
    s.scan_type = 42;
    assert_eq!(
        error(decode_scan(&s.encode_to_vec())),
        "field `scan_type`: unknown value 42"
    );
}

#[test]
fn protobuf_cancel_needs_no_carrier() {
    let m = proto::ShipmentConfirmation {
        event_id: "e".into(),
        action: shipment_confirmation::Action::Cancel as i32,
        seller_id: "S".into(),
        order_id: "O".into(),
        confirmed_at: Some(prost_types::Timestamp {
            seconds: 1,
            nanos: 999_999,
        }),
        ..Default::default()
    };
    let c = decode_confirmation(&m.encode_to_vec()).expect("valid");
    assert_eq!(
        (c.action, c.carrier.as_str(), c.confirmed_at),
        (Action::Cancel, "", 1000)
    );
}

#[test]
fn undecodable_protobuf_is_bad_input() {
    for bytes in [&b"\xff\xff\xff"[..], b"not json", b"\x0a\x05ab"] {
        let e = decode_scan(bytes).expect_err("garbage");
        assert!(matches!(e, DecodeError::Undecodable(_)), "{e}");
    }
}

#[test]
fn protobuf_that_looks_like_json_still_decodes() {
    // Field 1 (0x0A) of length 123 (`{`): the bytes start with whitespace then `{`.
    let s = Scan {
        event_id: "e".repeat(123),
        ..scan()
    };
    let bytes = scan_to_proto(&s);
    assert_eq!(&bytes[..2], b"\n{");
    assert_eq!(decode_scan(&bytes), Ok(s));
}

fn verdict() -> VerdictRecord {
    VerdictRecord {
        seller_id: "S1".into(),
        order_id: "O1".into(),
        package_id: String::new(),
        marketplace: "US".into(),
        category: "TOYS".into(),
        carrier_entered: "ups".into(),
        carrier: Some("UPS".into()),
        tracking_id: "1z999aa10123456784".into(),
        tracking_normalized: None,
        status: Status::Invalid,
        has_valid_tracking: false,
        reasons: vec![Reason::ConfirmedAfterDelivery, Reason::CarrierMismatch],
        detected_carriers: vec!["UPS".into()],
        confirmed_at: T,
        promised_delivery_at: None,
        first_scan_at: Some(T - 1),
        delivered_at: Some(T - 1000),
        is_final: true,
        revision: 3,
        warnings: vec![Warning::NoScanYet],
        explanation: "Confirmed after delivery.".into(),
    }
}

fn late() -> LateConfirmationRecord {
    LateConfirmationRecord {
        seller_id: "S1".into(),
        order_id: "O1".into(),
        package_id: "1".into(),
        marketplace: "US".into(),
        carrier: None,
        tracking_id: "X".into(),
        confirmed_at: T,
        delivered_at: Some(T - 5000),
        promised_delivery_at: None,
        late_by: 5,
        reason: Reason::ConfirmedAfterDelivery,
    }
}

#[test]
fn verdicts_in_protobuf() {
    let m = proto::TrackingVerdict::decode(&verdict_to_proto(&verdict())[..]).expect("decode");
    assert_eq!(m.status(), tracking_verdict::Status::Invalid);
    let reasons: Vec<_> = m.reasons().collect();
    assert_eq!(
        reasons,
        [
            tracking_verdict::Reason::ConfirmedAfterDelivery,
            tracking_verdict::Reason::CarrierMismatch
        ]
    );
    assert_eq!(
        m.warnings().collect::<Vec<_>>(),
        [tracking_verdict::Warning::NoScanYet]
    );
    assert_eq!(
        (m.carrier.as_deref(), m.tracking_normalized.as_deref()),
        (Some("UPS"), None)
    );
    assert_eq!(
        m.confirmed_at,
        Some(prost_types::Timestamp {
            seconds: T / 1000,
            nanos: 0
        })
    );
    assert_eq!(
        m.first_scan_at,
        Some(prost_types::Timestamp {
            seconds: T / 1000 - 1,
            nanos: 999_000_000
        })
    );
    assert_eq!(m.promised_delivery_at, None);
    assert!(m.r#final);
    assert_eq!(
        (m.revision, m.explanation.as_str()),
        (3, "Confirmed after delivery.")
    );
}

#[test]
fn seller_vtr_and_late_confirmations_in_protobuf() {
    let r = SellerVtrRecord {
        marketplace: "US".into(),
        seller_id: "S1".into(),
        category: "*".into(),
        window_days: 30,
        as_of: T,
        window_start: 20_412 - 29,
        window_end: 20_412,
        valid: 19,
        invalid: 1,
        excluded: 2,
        pending: 3,
        vtr: Some(0.95),
        threshold: 0.95,
        at_risk: false,
    };
    let m = proto::SellerVtr::decode(&seller_vtr_to_proto(&r)[..]).expect("decode");
    assert_eq!(
        (m.window_start.as_str(), m.window_end.as_str()),
        ("2025-10-22", "2025-11-20")
    );
    assert_eq!(
        (m.valid, m.invalid, m.excluded, m.pending, m.vtr),
        (19, 1, 2, 3, Some(0.95))
    );
    let none = SellerVtrRecord {
        vtr: None,
        valid: 0,
        invalid: 0,
        ..r
    };
    let m = proto::SellerVtr::decode(&seller_vtr_to_proto(&none)[..]).expect("decode");
    assert_eq!(m.vtr, None);
    let m =
        proto::LateConfirmation::decode(&late_confirmation_to_proto(&late())[..]).expect("decode");
    assert_eq!(m.reason(), tracking_verdict::Reason::ConfirmedAfterDelivery);
    assert_eq!(
        (m.carrier, m.late_by, m.package_id.as_str()),
        (None, 5, "1")
    );
}

// ---------------------------------------------------------------- properties

fn text() -> impl Strategy<Value = String> {
    "(?s).{0,12}"
}

fn id() -> impl Strategy<Value = String> {
    "(?s).{1,12}"
}

/// Text with a letter or digit: a marketplace or category (a blank one reads as absent and
/// takes the default), a scan's carrier (one without names no carrier).
fn label() -> impl Strategy<Value = String> {
    "(?s).{0,5}[A-Za-z0-9].{0,5}"
}

fn millis() -> impl Strategy<Value = i64> {
    prop_oneof![
        MIN_MILLIS..=MAX_MILLIS,
        1_700_000_000_000i64..1_900_000_000_000
    ]
}

fn arb_confirmation() -> impl Strategy<Value = Confirmation> {
    let action = prop_oneof![Just(Action::Confirm), Just(Action::Cancel)];
    let method = prop_oneof![
        Just(ShipMethod::Parcel),
        Just(ShipMethod::Letter),
        Just(ShipMethod::Freight),
        Just(ShipMethod::Digital)
    ];
    (
        (id(), action, id(), id(), text(), label(), label()),
        (
            text(),
            text(),
            method,
            proptest::option::of(0..=i64::MAX),
            millis(),
            proptest::option::of(millis()),
        ),
    )
        .prop_map(
            |((event_id, action, seller_id, order_id, package_id, marketplace, category), rest)| {
                let (
                    carrier,
                    tracking_id,
                    ship_method,
                    package_value_cents,
                    confirmed_at,
                    promised_delivery_at,
                ) = rest;
                Confirmation {
                    event_id,
                    action,
                    seller_id,
                    order_id,
                    package_id,
                    marketplace,
                    // `*` is refused: it names all categories in the seller numbers.
                    category: if category == "*" {
                        "**".into()
                    } else {
                        category
                    },
                    carrier,
                    tracking_id,
                    ship_method,
                    package_value_cents,
                    confirmed_at,
                    promised_delivery_at,
                }
            },
        )
}

fn arb_scan() -> impl Strategy<Value = Scan> {
    (
        id(),
        label(),
        "[ \t]{0,2}[A-Za-z0-9]{1,34}[ \t\n]{0,2}",
        prop::sample::select(ScanType::ALL.to_vec()),
        millis(),
        proptest::option::of(text()),
    )
        .prop_map(
            |(event_id, carrier, tracking_id, scan_type, scanned_at, location)| Scan {
                event_id,
                carrier,
                tracking_id,
                scan_type,
                scanned_at,
                location,
            },
        )
}

proptest! {
    #[test]
    fn confirmations_round_trip(c in arb_confirmation()) {
        let json = confirmation_to_json(&c);
        prop_assert!(!json.contains('\n'));
        prop_assert_eq!(decode_confirmation(json.as_bytes()), Ok(c.clone()));
        let bytes = confirmation_to_proto(&c);
        prop_assert_eq!(decode_confirmation(&bytes), Ok(c.clone()));
        let again = decode_confirmation(&bytes).map(|c| confirmation_to_proto(&c));
        prop_assert_eq!(again, Ok(bytes));
        let json_again = decode_confirmation(json.as_bytes()).map(|c| confirmation_to_json(&c));
        prop_assert_eq!(json_again, Ok(json));
    }

    #[test]
    fn scans_round_trip(s in arb_scan()) {
        let json = scan_to_json(&s);
        prop_assert_eq!(decode_scan(json.as_bytes()), Ok(s.clone()));
        let bytes = scan_to_proto(&s);
        prop_assert_eq!(decode_scan(&bytes), Ok(s.clone()));
        prop_assert_eq!(decode_scan(&bytes).map(|s| scan_to_proto(&s)), Ok(bytes));
        prop_assert_eq!(decode_scan(json.as_bytes()).map(|s| scan_to_json(&s)), Ok(json));
    }

    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_confirmation(&bytes);
        let _ = decode_scan(&bytes);
        let mut json = b"{".to_vec();
        json.extend_from_slice(&bytes);
        let _ = decode_confirmation(&json);
    }
}

// ---------------------------------------------------------------- throughput

/// Decoding throughput of typical messages; run with
/// `cargo test --release --test codec -- --ignored --nocapture throughput`.
#[test]
#[ignore = "a measurement, not a check"]
fn throughput() {
    let c = confirmation_to_json(&full_confirmation());
    let s = scan_to_json(&scan());
    let cp = confirmation_to_proto(&full_confirmation());
    let sp = scan_to_proto(&scan());
    measure("JSON confirmation", c.as_bytes(), |b| {
        decode_confirmation(b).is_ok()
    });
    measure("JSON scan", s.as_bytes(), |b| decode_scan(b).is_ok());
    measure("protobuf confirmation", &cp, |b| {
        decode_confirmation(b).is_ok()
    });
    measure("protobuf scan", &sp, |b| decode_scan(b).is_ok());
}

fn measure(name: &str, bytes: &[u8], decode: impl Fn(&[u8]) -> bool) {
    const N: u32 = 1_000_000;
    let start = std::time::Instant::now();
    let ok = (0..N)
        .filter(|_| decode(std::hint::black_box(bytes)))
        .count();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(ok, N as usize);
    println!(
        "{name} ({} bytes): {:.0} messages/s, {:.0} ns each",
        bytes.len(),
        f64::from(N) / secs,
        secs * 1e9 / f64::from(N)
    );
}

#[test]
fn a_message_is_one_json_object_not_an_array() {
    let array =
        r#"["e1",null,"S1","O1",null,null,null,"UPS","X1",null,null,"2026-11-10T10:00:00Z",null]"#;
    let json_only = vtrack::codec::decode_confirmation_json(array.as_bytes());
    assert!(error(json_only).contains("JSON object"));
    assert!(
        confirm(array).is_err(),
        "bad input for the Kafka driver too"
    );
    let scan = r#"["s1","UPS","1Z2X98HT0307336570","ACCEPTED","2026-11-11T10:00:00Z",null]"#;
    assert!(error(vtrack::codec::decode_scan_json(scan.as_bytes())).contains("JSON object"));
    assert!(
        confirm(&format!("  \n{}", minimal(""))).is_ok(),
        "whitespace before the object"
    );
}

#[test]
fn category_star_is_refused_as_it_names_all_categories() {
    let e = error(confirm(&minimal_with("category", r#""*""#)));
    assert!(
        e.contains("category") && e.contains("all categories"),
        "{e}"
    );
    assert!(confirm(&minimal_with("category", r#""**""#)).is_ok());
    // A CANCEL's category plays no part: `*` there does not make it bad input.
    let cancel = r#"{"event_id":"x","action":"CANCEL","seller_id":"S","order_id":"O","category":"*","confirmed_at":"2026-11-01T10:00:00Z"}"#;
    assert_eq!(
        confirm(cancel).map(|c| c.category),
        Ok("UNCATEGORIZED".to_owned())
    );
}

#[test]
fn text_that_is_not_json_is_named_as_such() {
    let e = error(confirm("this is not json"));
    assert!(e.contains("neither a JSON object"), "{e}");
    let e = error(scan_json_or_proto(b"\x0a\x02e1\xff"));
    assert!(
        !e.contains("neither a JSON object"),
        "binary input keeps the protobuf error: {e}"
    );
}

fn scan_json_or_proto(bytes: &[u8]) -> Result<Scan, DecodeError> {
    decode_scan(bytes)
}

#[test]
fn an_empty_message_is_undecodable_not_a_message_without_fields() {
    use vtrack::codec::{decode_confirmation, decode_scan};
    let c = decode_confirmation(b"").unwrap_err();
    let s = decode_scan(b"").unwrap_err();
    for e in [c, s] {
        assert_eq!(e.kind(), "undecodable", "{e}");
        assert!(e.to_string().contains("no value"), "{e}");
    }
}
