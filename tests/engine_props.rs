//! Properties of the engine over small random workloads (contract section 4: "the final
//! verdict depends only on the set of events that arrived before the window closed, never
//! on their order (duplicates included)"; section 6: a record is written whenever any field
//! but `revision` changes, never twice for the same content).

mod common;

use common::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use vtrack::engine::Engine;
use vtrack::event::{Action, Confirmation, Event, Millis, ScanType, ShipMethod};
use vtrack::records::VerdictRecord;

const HORIZON: Millis = 14 * DAY;
const LATENESS: Millis = 6 * HOUR;

const SELLERS: [&str; 2] = ["S1", "S2"];
const ORDERS: [&str; 4] = ["O1", "O2", "O3", "O4"];
const PACKAGES: [&str; 2] = ["", "1"];
const MARKETPLACES: [&str; 2] = ["US", "UK"];
const CATEGORIES: [&str; 2] = ["A", "B"];
/// Carriers as sellers enter them: hand-off pairs, a known carrier not integrated, an
/// unknown one, an alias.
const CONFIRM_CARRIERS: [&str; 8] = [
    "UPS",
    "USPS",
    "FEDEX_SMARTPOST",
    "FEDEX",
    "UPS_MAIL_INNOVATIONS",
    "PUROLATOR",
    "ACME",
    "ups ",
];
/// Carriers as they report scans.
const SCAN_CARRIERS: [&str; 6] = [
    "UPS",
    "USPS",
    "FEDEX_SMARTPOST",
    "FEDEX",
    "UPS_MAIL_INNOVATIONS",
    "ACME",
];
/// Tracking IDs as entered: a few shared well-formed IDs, blank, malformed.
const CONFIRM_IDS: [&str; 8] = [
    UPS_ID,
    USPS_ID,
    FEDEX_ID,
    AMAZON_ID,
    NO_FORMAT_ID,
    "",
    "1Z 999",
    " 9400111899223851245125 ",
];
/// Tracking IDs as scanned (always well formed: a blank or malformed one is bad input).
const SCAN_IDS: [&str; 6] = [
    UPS_ID,
    USPS_ID,
    FEDEX_ID,
    AMAZON_ID,
    NO_FORMAT_ID,
    "1z999aa10123456784",
];
/// (carrier, tracking ID) pairs of confirmations that make sense, by index: most packages
/// are entered right, so that scans often count.
const COHERENT_CONFIRMS: [(usize, usize); 9] = [
    (0, 0),
    (1, 1),
    (2, 1),
    (3, 2),
    (4, 1),
    (7, 0),
    (1, 7),
    (0, 4),
    (2, 2),
];
/// (carrier, tracking ID) pairs of scans that make sense, by index.
const COHERENT_SCANS: [(usize, usize); 7] =
    [(0, 0), (1, 1), (3, 2), (0, 5), (0, 4), (1, 4), (2, 1)];
const METHODS: [ShipMethod; 4] = [
    ShipMethod::Parcel,
    ShipMethod::Letter,
    ShipMethod::Freight,
    ShipMethod::Digital,
];

/// One generated input event, by indices into the tables above. Times are hours from `t0()`.
#[derive(Debug, Clone)]
enum Op {
    Confirm {
        seller: usize,
        order: usize,
        package: usize,
        marketplace: usize,
        category: usize,
        carrier: usize,
        id: usize,
        method: usize,
        value: Option<i64>,
        t_h: i64,
        promised_h: Option<i64>,
    },
    Cancel {
        seller: usize,
        order: usize,
        t_h: i64,
    },
    Scan {
        carrier: usize,
        id: usize,
        kind: usize,
        t_h: i64,
    },
}

fn delivered_kind() -> usize {
    ScanType::ALL
        .iter()
        .position(|k| *k == ScanType::Delivered)
        .expect("DELIVERED is a scan type")
}

fn op() -> impl Strategy<Value = Op> {
    let confirm = (
        (0..SELLERS.len(), 0..ORDERS.len(), 0..PACKAGES.len()),
        (0..MARKETPLACES.len(), 0..CATEGORIES.len()),
        prop_oneof![
            3 => prop::sample::select(&COHERENT_CONFIRMS[..]),
            1 => (0..CONFIRM_CARRIERS.len(), 0..CONFIRM_IDS.len()),
        ],
        prop_oneof![6 => Just(0usize), 1 => 1..METHODS.len()],
        prop::sample::select(vec![None, Some(500i64), Some(1000)]),
        // confirmation times on a 6-hour grid over 10 days: ties on confirmed_at happen
        (0i64..40).prop_map(|k| k * 6),
        prop::option::of(-48i64..240),
    )
        .prop_map(
            |(
                (seller, order, package),
                (marketplace, category),
                (carrier, id),
                method,
                value,
                t_h,
                promised,
            )| {
                Op::Confirm {
                    seller,
                    order,
                    package,
                    marketplace,
                    category,
                    carrier,
                    id,
                    method,
                    value,
                    t_h,
                    promised_h: promised.map(|p| t_h + p),
                }
            },
        );
    let cancel = (0..SELLERS.len(), 0..ORDERS.len(), 0i64..300)
        .prop_map(|(seller, order, t_h)| Op::Cancel { seller, order, t_h });
    let scan = (
        prop_oneof![
            3 => prop::sample::select(&COHERENT_SCANS[..]),
            1 => (0..SCAN_CARRIERS.len(), 0..SCAN_IDS.len()),
        ],
        prop_oneof![3 => 0..ScanType::ALL.len(), 1 => Just(delivered_kind())],
        // from 10 days before the first confirmation to 25 days after it, hour by hour:
        // window edges (t - 168h, t + 336h) are hit exactly now and then
        -240i64..600,
    )
        .prop_map(|((carrier, id), kind, t_h)| Op::Scan {
            carrier,
            id,
            kind,
            t_h,
        });
    prop_oneof![16 => confirm, 1 => cancel, 20 => scan]
}

fn at(h: i64) -> Millis {
    t0() + h * HOUR
}

/// The events of a workload, each with its own event id.
fn to_events(ops: &[Op]) -> Vec<Event> {
    ops.iter()
        .enumerate()
        .map(|(i, op)| match *op {
            Op::Confirm {
                seller,
                order,
                package,
                marketplace,
                category,
                carrier,
                id,
                method,
                value,
                t_h,
                promised_h,
            } => Confirmation {
                event_id: format!("c{i}"),
                marketplace: MARKETPLACES[marketplace].into(),
                category: CATEGORIES[category].into(),
                ship_method: METHODS[method],
                package_value_cents: value,
                promised_delivery_at: promised_h.map(at),
                ..confirm(
                    SELLERS[seller],
                    ORDERS[order],
                    PACKAGES[package],
                    CONFIRM_CARRIERS[carrier],
                    CONFIRM_IDS[id],
                    at(t_h),
                )
            }
            .ev(),
            Op::Cancel { seller, order, t_h } => Confirmation {
                event_id: format!("x{i}"),
                ..cancel(SELLERS[seller], ORDERS[order], at(t_h))
            }
            .ev(),
            Op::Scan {
                carrier,
                id,
                kind,
                t_h,
            } => vtrack::event::Scan {
                event_id: format!("s{i}"),
                ..scan(
                    SCAN_CARRIERS[carrier],
                    SCAN_IDS[id],
                    ScanType::ALL[kind],
                    at(t_h),
                )
            }
            .ev(),
        })
        .collect()
}

/// A deterministic Fisher-Yates shuffle driven by `seed`.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = (x % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// Batch replay: every event, then event time moved to `as_of`.
fn batch(events: &[Event], as_of: Millis) -> Engine {
    let mut e = engine(false);
    feed(&mut e, events.iter().cloned());
    e.advance_to(as_of);
    e
}

/// Everything the final state shows, revisions cleared.
type Outcome = (
    Vec<VerdictRecord>,
    Vec<vtrack::records::SellerVtrRecord>,
    Vec<vtrack::records::LateConfirmationRecord>,
);

fn outcome(e: &Engine) -> Outcome {
    (contents(e), e.seller_rows(), e.late_confirmations())
}

fn workload() -> impl Strategy<Value = (Vec<Op>, i64)> {
    (
        prop::collection::vec(op(), 1..40),
        // event time at the end: mostly before some windows close, sometimes after all
        prop_oneof![0i64..600, Just(40 * 24), Just(100 * 24)],
    )
}

/// The latest time the watermark may reach without closing any window: just before the
/// earliest `t + horizon` of all confirmations.
fn last_open_time(events: &[Event]) -> Millis {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Confirmation(c) if c.action == Action::Confirm => {
                Some(c.confirmed_at + HORIZON - 1)
            }
            _ => None,
        })
        .min()
        .unwrap_or(Millis::MAX)
}

/// Streams the events one by one with records emitted, advancing the watermark after the
/// flagged events (never past `last_open_time`, nor past `as_of`), then to `as_of`.
/// Returns the engine and every verdict record written, in order.
fn stream(events: &[Event], advance_after: &[bool], as_of: Millis) -> (Engine, Vec<VerdictRecord>) {
    stream_reloading(events, advance_after, &[], as_of)
}

/// [`stream`], reloading the engine's state (as a snapshot and restore do) after the events
/// `reload_after` flags.
fn stream_reloading(
    events: &[Event],
    advance_after: &[bool],
    reload_after: &[bool],
    as_of: Millis,
) -> (Engine, Vec<VerdictRecord>) {
    let cap = last_open_time(events).min(as_of);
    let mut e = engine(true);
    let mut records = Vec::new();
    let mut max_seen = Millis::MIN;
    for (i, ev) in events.iter().enumerate() {
        max_seen = max_seen.max(ev.event_time());
        feed1(&mut e, ev.clone());
        if advance_after.get(i).copied().unwrap_or(false) {
            e.advance_to((max_seen - LATENESS).min(cap));
        }
        let out = e.take_outputs();
        records.extend(out.verdicts);
        assert_no_late_confirmation(&out.late_events);
        if reload_after.get(i).copied().unwrap_or(false) {
            e.reload_state().expect("state reloads");
        }
    }
    e.advance_to(as_of);
    records.extend(e.take_outputs().verdicts);
    (e, records)
}

/// With the watermark kept before every window's close, no confirmation can be late.
fn assert_no_late_confirmation(late: &[vtrack::engine::LateEvent]) {
    for l in late {
        assert!(
            matches!(l.event, Event::Scan(_)),
            "a confirmation was late although no window had closed: {l:?}"
        );
    }
}

/// Streams the events with a watermark that trails the greatest event time seen by the
/// allowed lateness after each flagged event (so windows close and events come late), then
/// moves it to `as_of`. Returns the engine, the event time before each event was processed,
/// and which events were CONFIRMs the engine reported late.
fn stream_with_watermark(
    events: &[Event],
    advance_after: &[bool],
    as_of: Millis,
) -> (Engine, Vec<Millis>, Vec<bool>) {
    let mut e = engine(true);
    let mut now_before = Vec::new();
    let mut late_confirm = Vec::new();
    let mut max_seen = Millis::MIN;
    for (i, ev) in events.iter().enumerate() {
        now_before.push(e.now());
        max_seen = max_seen.max(ev.event_time());
        feed1(&mut e, ev.clone());
        let out = e.take_outputs();
        late_confirm.push(out.late_events.iter().any(|l| {
            l.event == *ev
                && matches!(&l.event, Event::Confirmation(c) if c.action == Action::Confirm)
        }));
        if advance_after.get(i).copied().unwrap_or(false) {
            e.advance_to((max_seen - LATENESS).min(as_of));
        }
    }
    e.advance_to(as_of);
    (e, now_before, late_confirm)
}

fn by_package(records: &[VerdictRecord]) -> BTreeMap<String, Vec<VerdictRecord>> {
    let mut m: BTreeMap<String, Vec<VerdictRecord>> = BTreeMap::new();
    for r in records {
        m.entry(r.key()).or_default().push(r.clone());
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// (a) Final verdicts, seller rows and late confirmations do not depend on event order.
    #[test]
    fn order_does_not_matter((ops, as_of_h) in workload(), seed in any::<u64>()) {
        let events = to_events(&ops);
        let as_of = at(as_of_h);
        let reference = outcome(&batch(&events, as_of));
        let other = outcome(&batch(&shuffled(&events, seed), as_of));
        prop_assert_eq!(&reference.0, &other.0, "verdicts differ");
        prop_assert_eq!(&reference.1, &other.1, "seller rows differ");
        prop_assert_eq!(&reference.2, &other.2, "late confirmations differ");
        let reversed: Vec<Event> = events.iter().rev().cloned().collect();
        prop_assert_eq!(&reference, &outcome(&batch(&reversed, as_of)), "reversed order differs");
    }

    /// (b) Duplicating any events changes nothing, and every duplicate is counted.
    #[test]
    fn duplicates_change_nothing(
        (ops, as_of_h) in workload(),
        dups in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..12),
        seed in any::<u64>(),
    ) {
        let events = to_events(&ops);
        let as_of = at(as_of_h);
        let reference = batch(&events, as_of);
        let mut with_dups = events.clone();
        for (which, whereto) in &dups {
            let ev = events[which.index(events.len())].clone();
            let pos = whereto.index(with_dups.len() + 1);
            with_dups.insert(pos, ev);
        }
        let e = batch(&with_dups, as_of);
        prop_assert_eq!(outcome(&reference), outcome(&e));
        prop_assert_eq!(e.counters().duplicates, dups.len() as u64);
        // and shuffled too
        let e = batch(&shuffled(&with_dups, seed), as_of);
        prop_assert_eq!(outcome(&reference), outcome(&e));
    }

    /// (c) Streaming equals replay: one by one with records emitted, the watermark never
    /// closing a window before the end, gives the batch's final state; the last record
    /// written for each package is its final verdict.
    #[test]
    fn streaming_equals_replay(
        (ops, as_of_h) in workload(),
        advance_after in prop::collection::vec(any::<bool>(), 0..40),
    ) {
        let events = to_events(&ops);
        let as_of = at(as_of_h);
        let replayed = batch(&events, as_of);
        for flags in [advance_after.clone(), Vec::new()] {
            let (streamed, records) = stream(&events, &flags, as_of);
            prop_assert_eq!(outcome(&replayed), outcome(&streamed));
            let last: BTreeMap<String, VerdictRecord> = by_package(&records)
                .into_iter()
                .map(|(k, v)| (k, v.last().cloned().expect("non-empty")))
                .collect();
            let finals = streamed.verdicts();
            prop_assert_eq!(last.len(), finals.len(), "every package has records");
            for v in &finals {
                let l = last.get(&v.key());
                prop_assert_eq!(l, Some(v), "the last record written is the latest verdict");
            }
        }
    }

    /// (f) A snapshot and restore of the state between events (what a Kafka task does when
    /// its partition moves) changes nothing: the same records per package, the same outcome.
    #[test]
    fn reloading_the_state_changes_nothing(
        (ops, as_of_h) in workload(),
        advance_after in prop::collection::vec(any::<bool>(), 0..40),
        reload_after in prop::collection::vec(any::<bool>(), 0..40),
    ) {
        let events = to_events(&ops);
        let as_of = at(as_of_h);
        let (plain, plain_records) = stream(&events, &advance_after, as_of);
        let (reloaded, reloaded_records) =
            stream_reloading(&events, &advance_after, &reload_after, as_of);
        prop_assert_eq!(outcome(&plain), outcome(&reloaded));
        prop_assert_eq!(by_package(&plain_records), by_package(&reloaded_records));
    }

    /// (g) Moving event time in one jump writes the same records, revisions included, as
    /// moving it there in steps: timers fire in time order, each as of its own time.
    #[test]
    fn a_jump_of_event_time_writes_what_steps_write(
        (ops, as_of_h) in workload(),
        steps in prop::collection::vec(0i64..(100 * 24), 0..12),
    ) {
        let events = to_events(&ops);
        let as_of = at(as_of_h);
        let run = |stops: &[Millis]| {
            let mut e = engine(true);
            feed(&mut e, events.iter().cloned());
            let mut records = e.take_outputs().verdicts;
            for &t in stops {
                e.advance_to(t);
                records.extend(e.take_outputs().verdicts);
            }
            by_package(&records)
        };
        let mut stops: Vec<Millis> = steps.iter().map(|&h| at(h)).filter(|&t| t < as_of).collect();
        stops.sort_unstable();
        stops.push(as_of);
        prop_assert_eq!(run(&[as_of]), run(&stops));
    }

    /// (d) Records never repeat the same content for a package consecutively, and their
    /// revisions go 1, 2, 3, …
    #[test]
    fn records_change_content_and_count_revisions(
        (ops, as_of_h) in workload(),
        advance_after in prop::collection::vec(any::<bool>(), 0..40),
    ) {
        let events = to_events(&ops);
        let (_, records) = stream(&events, &advance_after, at(as_of_h));
        for (key, recs) in by_package(&records) {
            for (i, r) in recs.iter().enumerate() {
                prop_assert_eq!(r.revision as usize, i + 1, "revisions of {}", key);
            }
            for pair in recs.windows(2) {
                prop_assert_ne!(
                    content(&pair[0]),
                    content(&pair[1]),
                    "{} written twice with the same content", key
                );
            }
        }
    }

    /// (e) With a watermark that closes windows as the stream goes, a package's verdict
    /// depends only on the events that arrived before its window closed (a CONFIRM that was
    /// itself late changes nothing): it equals the replay of exactly those events.
    #[test]
    fn verdicts_depend_only_on_events_that_arrived_before_the_close(
        (ops, as_of_h) in workload(),
        advance_after in prop::collection::vec(any::<bool>(), 0..40),
    ) {
        let events = to_events(&ops);
        let as_of = at(as_of_h);
        let (streamed, now_before, late_confirm) =
            stream_with_watermark(&events, &advance_after, as_of);
        for v in streamed.verdicts() {
            let close = v.confirmed_at + HORIZON;
            let arrived_open: Vec<Event> = events
                .iter()
                .enumerate()
                .filter(|(i, _)| now_before[*i] < close && !late_confirm[*i])
                .map(|(_, ev)| ev.clone())
                .collect();
            let replayed = batch(&arrived_open, as_of);
            let expected = find_verdict(&replayed, &v.seller_id, &v.order_id, &v.package_id)
                .map(|r| content(&r));
            prop_assert_eq!(
                Some(content(&v)),
                expected,
                "{} (window closing at {}), events: {:#?}, event time before each: {:?}",
                v.key(),
                close,
                events,
                now_before
            );
        }
    }
}
