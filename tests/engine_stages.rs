//! The stages on their own, as the Kafka driver uses them: messages between them can be
//! late, so an answer can arrive after event time has passed a window's close.

use std::sync::Arc;
use vtrack::carriers::CarrierRegistry;
use vtrack::config::EngineConfig;
use vtrack::engine::intern::Interner;
use vtrack::engine::messages::{FactsMsg, ScanFacts, Subscribe, TrackingInput};
use vtrack::engine::order::{OrderOutput, OrderStage};
use vtrack::event::{Action, Confirmation, ShipMethod, DAY_MS};
use vtrack::records::Status;

fn confirm(t: i64) -> Confirmation {
    Confirmation {
        event_id: "e1".into(),
        action: Action::Confirm,
        seller_id: "s".into(),
        order_id: "o".into(),
        package_id: String::new(),
        marketplace: "US".into(),
        category: "C".into(),
        carrier: "UPS".into(),
        tracking_id: "1Z999AA10123456784".into(),
        ship_method: ShipMethod::Parcel,
        package_value_cents: None,
        confirmed_at: t,
        promised_delivery_at: None,
    }
}

/// The subscription an order stage's output asks for.
fn subscription(out: &OrderOutput) -> Subscribe {
    out.to_tracking
        .iter()
        .find_map(|m| match m {
            TrackingInput::Subscribe(s) => Some(s.clone()),
            _ => None,
        })
        .expect("the package subscribes to its tracking ID")
}

#[test]
fn a_package_waiting_for_its_answer_past_the_close_is_not_final_until_the_answer_arrives() {
    let carriers = Arc::new(CarrierRegistry::default_us());
    let mut stage = OrderStage::new(EngineConfig::default(), carriers, true);
    let mut syms = Interner::default();
    let mut out = OrderOutput::default();
    let t = 1_000 * DAY_MS;
    stage.confirmation(&confirm(t), &mut syms, &mut out);
    let sub = subscription(&out);
    // Event time passes the close before the tracking stage's answer arrives: this must
    // return (no timer loop) and must not make the verdict final.
    let mut out = OrderOutput::default();
    stage.advance(t + 20 * DAY_MS, &syms, &mut out);
    assert!(out.verdicts.iter().all(|v| !v.is_final));
    let mut out = OrderOutput::default();
    let facts = ScanFacts {
        first_scan: Some(t + 3_600_000),
        ..ScanFacts::default()
    };
    stage.facts(
        FactsMsg {
            package: sub.package,
            seq: sub.seq,
            facts,
        },
        &syms,
        &mut out,
    );
    let last = out.verdicts.last().expect("the answer writes a verdict");
    assert_eq!(last.status, Status::Valid);
    assert!(last.is_final);
}

/// The late-confirmation record waits for the scans' answer: written before it, it would name
/// the promised date's reason and no delivery, where the scans show a delivery before *t*.
#[test]
fn the_late_confirmation_record_waits_for_the_answer() {
    let carriers = Arc::new(CarrierRegistry::default_us());
    let mut stage = OrderStage::new(EngineConfig::default(), carriers, true);
    let mut syms = Interner::default();
    let t = 1_000 * DAY_MS;
    let c = Confirmation {
        promised_delivery_at: Some(t - DAY_MS),
        ..confirm(t)
    };
    let mut out = OrderOutput::default();
    stage.confirmation(&c, &mut syms, &mut out);
    assert!(
        out.late_confirmations.is_empty(),
        "written before the answer: {:?}",
        out.late_confirmations
    );
    let sub = subscription(&out);
    let delivered = t - 2 * DAY_MS;
    let mut out = OrderOutput::default();
    stage.facts(
        FactsMsg {
            package: sub.package,
            seq: sub.seq,
            facts: ScanFacts {
                first_scan: Some(delivered - DAY_MS),
                first_delivery: Some(delivered),
                ..ScanFacts::default()
            },
        },
        &syms,
        &mut out,
    );
    assert_eq!(
        out.late_confirmations.len(),
        1,
        "{:?}",
        out.late_confirmations
    );
    let late = &out.late_confirmations[0];
    assert_eq!(late.reason, vtrack::records::Reason::ConfirmedAfterDelivery);
    assert_eq!(late.delivered_at, Some(delivered));
    assert_eq!(late.late_by, 2 * 86_400);
}

/// A late-confirmation record held back for the answer is written when the answer will not
/// come: the order is cancelled, or the confirmation replaced, before it arrives.
#[test]
fn a_held_late_confirmation_record_is_written_when_its_answer_will_not_come() {
    let t = 1_000 * DAY_MS;
    let late = Confirmation {
        promised_delivery_at: Some(t - DAY_MS),
        ..confirm(t)
    };
    let cancel = Confirmation {
        event_id: "e2".into(),
        action: Action::Cancel,
        confirmed_at: t + 1,
        ..confirm(t + 1)
    };
    let on_time = Confirmation {
        event_id: "e3".into(),
        promised_delivery_at: Some(t + 5 * DAY_MS),
        ..confirm(t + 2)
    };
    for next in [cancel, on_time] {
        let carriers = Arc::new(CarrierRegistry::default_us());
        let mut stage = OrderStage::new(EngineConfig::default(), carriers, true);
        let mut syms = Interner::default();
        let mut out = OrderOutput::default();
        stage.confirmation(&late, &mut syms, &mut out);
        assert!(out.late_confirmations.is_empty());
        let mut out = OrderOutput::default();
        stage.confirmation(&next, &mut syms, &mut out);
        assert_eq!(out.late_confirmations.len(), 1, "{:?}", next.action);
        let record = &out.late_confirmations[0];
        assert_eq!(
            record.reason,
            vtrack::records::Reason::ConfirmedAfterDeliveryDate
        );
        assert_eq!(record.confirmed_at, t);
        assert_eq!(record.late_by, 86_400);
    }
}

/// The point queries answer what the full listings hold, for every package and seller.
#[test]
fn point_queries_agree_with_the_full_listings() {
    let opts = vtrack::generate::GenerateOptions {
        packages: 400,
        sellers: 12,
        ..Default::default()
    };
    let events: Vec<vtrack::event::Event> = vtrack::generate::generate(&opts).collect();
    let carriers = Arc::new(CarrierRegistry::default_us());
    let mut engine = vtrack::engine::Engine::new(EngineConfig::default(), carriers, false);
    engine.process_all(events);
    let verdicts = engine.verdicts();
    assert!(!verdicts.is_empty());
    for v in &verdicts {
        let found = engine
            .package(&v.seller_id, &v.order_id, &v.package_id)
            .expect("every listed package is found");
        assert_eq!(&found, v);
    }
    assert!(engine.package("no-such-seller", "o", "p").is_none());
    let v = &verdicts[0];
    assert!(engine
        .package(&v.seller_id, &v.order_id, "no-such-package")
        .is_none());
    let rows = engine.seller_rows();
    let sellers: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.seller_id.as_str()).collect();
    for s in sellers {
        let expected: Vec<_> = rows.iter().filter(|r| r.seller_id == s).cloned().collect();
        assert_eq!(engine.seller_rows_of(s), expected, "seller {s}");
    }
    assert!(engine.seller_rows_of("no-such-seller").is_empty());
}

/// What `vtrack run` counts as duplicates: the stages recognise an event their state holds.
#[test]
fn the_stages_recognise_events_they_hold_already() {
    use vtrack::engine::messages::ScanIn;
    use vtrack::engine::order::ConfirmOutcome;
    use vtrack::engine::text::PackedStr;
    use vtrack::engine::tracking::{TrackingOutput, TrackingStage};
    use vtrack::event::ScanType;

    let carriers = Arc::new(CarrierRegistry::default_us());
    let mut stage = OrderStage::new(EngineConfig::default(), carriers, true);
    let mut syms = Interner::default();
    let t = 1_000 * DAY_MS;
    let mut apply =
        |c: &Confirmation| stage.confirmation(c, &mut syms, &mut OrderOutput::default());
    assert_eq!(apply(&confirm(t)), ConfirmOutcome::Applied);
    assert_eq!(apply(&confirm(t)), ConfirmOutcome::Duplicate);
    let older = Confirmation {
        event_id: "e0".into(),
        ..confirm(t - 1)
    };
    assert_eq!(
        apply(&older),
        ConfirmOutcome::NoChange,
        "older, not a duplicate"
    );
    let newer = Confirmation {
        event_id: "e2".into(),
        ..confirm(t + 1)
    };
    assert_eq!(apply(&newer), ConfirmOutcome::Applied);
    assert_eq!(
        apply(&confirm(t)),
        ConfirmOutcome::NoChange,
        "no longer current"
    );

    let mut tracking = TrackingStage::new(EngineConfig::default());
    tracking.advance(t);
    let scan = |scan_type, at| ScanIn {
        carrier: Some(0),
        tracking: PackedStr::from("1Z999AA10123456784"),
        scan_type,
        scanned_at: at,
    };
    let mut repeated = |s: ScanIn| {
        let mut out = TrackingOutput::default();
        tracking.handle(TrackingInput::Scan(s), &mut out);
        out.repeated
    };
    assert!(!repeated(scan(ScanType::Accepted, t)));
    assert!(repeated(scan(ScanType::Accepted, t)));
    assert!(
        !repeated(scan(ScanType::Delivered, t)),
        "a delivery adds to it"
    );
    assert!(repeated(scan(ScanType::Delivered, t)));
    assert!(!repeated(scan(ScanType::Accepted, t + 1)));
}

#[test]
fn tracking_expiry_keeps_what_a_window_still_holds_and_drops_the_rest() {
    use vtrack::engine::messages::{PackageRef, ScanIn};
    use vtrack::engine::text::PackedStr;
    use vtrack::engine::tracking::{TrackingOutput, TrackingStage};
    use vtrack::event::ScanType;

    let t = 1_000 * DAY_MS;
    let mut tracking = TrackingStage::new(EngineConfig::default());
    tracking.advance(t);
    let send = |tracking: &mut TrackingStage, msg| {
        let mut out = TrackingOutput::default();
        tracking.handle(msg, &mut out);
        out.facts
    };
    let scan = |id: &str, at| {
        TrackingInput::Scan(ScanIn {
            carrier: Some(0),
            tracking: PackedStr::from(id),
            scan_type: ScanType::Accepted,
            scanned_at: at,
        })
    };
    let subscribe = |package: &str, from, to| {
        TrackingInput::Subscribe(Subscribe {
            package: PackageRef {
                seller: 0,
                order: PackedStr::from(package),
                package: 0,
            },
            seq: 1,
            tracking: PackedStr::from("X1"),
            from,
            to,
            accepted: 1,
        })
    };
    send(&mut tracking, scan("X1", t - 8 * DAY_MS)); // before the window below
    send(&mut tracking, scan("X1", t - DAY_MS)); // inside it
    send(&mut tracking, scan("Y1", t - 8 * DAY_MS)); // nobody's
    send(
        &mut tracking,
        subscribe("a", t - 7 * DAY_MS, t + 14 * DAY_MS),
    );
    assert_eq!(tracking.len(), 2);

    // No future window starts before t + 14 days; the subscription's window ends then.
    tracking.expire_before(t + 14 * DAY_MS);
    assert_eq!(tracking.len(), 1, "Y1 held nothing any window needs");
    let facts = send(&mut tracking, scan("X1", t + DAY_MS));
    assert!(
        facts.is_empty(),
        "the scan inside the window was kept, so a later one changes nothing: {facts:?}"
    );
    let facts = send(
        &mut tracking,
        subscribe("b", t - 7 * DAY_MS, t + 14 * DAY_MS),
    );
    assert_eq!(
        facts[0].facts.first_scan,
        Some(t - DAY_MS),
        "the scan before the window is gone, the one inside it is not"
    );

    // Once the windows end before the bound, the subscriptions and their scans go.
    tracking.expire_before(t + 14 * DAY_MS + 1);
    assert!(tracking.is_empty());
}

#[test]
fn following_order_progress_a_scan_is_beyond_retention_only_before_their_bound() {
    use vtrack::engine::messages::ScanIn;
    use vtrack::engine::text::PackedStr;
    use vtrack::engine::tracking::{TrackingOutput, TrackingStage};
    use vtrack::event::ScanType;

    let t = 1_000 * DAY_MS;
    let old_scan = |id: &str| {
        TrackingInput::Scan(ScanIn {
            carrier: Some(0),
            tracking: PackedStr::from(id),
            scan_type: ScanType::Accepted,
            scanned_at: t - 30 * DAY_MS,
        })
    };
    let late = |stage: &mut TrackingStage, id: &str| {
        let mut out = TrackingOutput::default();
        stage.handle(old_scan(id), &mut out);
        !out.late.is_empty()
    };
    // Its own time is a month past the scan: in process, that makes it late.
    let mut own = TrackingStage::new(EngineConfig::default());
    own.advance(t);
    assert!(late(&mut own, "A1"));
    // Following the order tasks, it is kept while a subscription to come could reach it...
    let mut following = TrackingStage::new(EngineConfig::default()).following_order_progress();
    following.advance(t);
    assert!(!late(&mut following, "A1"));
    // ...and late once their bound has passed it.
    following.expire_before(t - 29 * DAY_MS);
    assert!(late(&mut following, "B1"));
}
