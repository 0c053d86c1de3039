//! `vtrack run` on the real broker against `vtrack replay` on the same input.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::fixture::*;
use kafka_support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[test]
fn run_gives_the_same_final_results_as_replay() {
    require_broker!();
    let f = Fixture::new(1500);
    f.produce();
    let (mut child, log) = f.spawn("one");
    let records = f.assert_converges(&[&log]);
    assert_exactly_once(&records);
    // Event time jumps weeks ahead on every input partition at once: windows close and
    // slide under several watermarks, and each seller row is still written once per commit.
    let later = now_ms() - vtrack::event::DAY_MS;
    let confirmation_clocks: Vec<String> = (0..PARTITIONS)
        .map(|p| vtrack::codec::confirmation_to_json(&clock_confirmation(p, later)))
        .collect();
    let scan_clocks: Vec<String> = (0..PARTITIONS)
        .map(|p| vtrack::codec::scan_to_json(&clock_scan(p, later)))
        .collect();
    produce(&f.cfg.confirmations_topic, &[], &confirmation_clocks);
    produce(&f.cfg.scans_topic, &[], &scan_clocks);
    let as_of = format!("\"as_of\":\"{}\"", vtrack::timestamp::format_rfc3339(later));
    let mut rows = Vec::new();
    let caught_up = poll_until(Duration::from_secs(60), || {
        rows = consume_all(&[&f.cfg.seller_vtr_topic], Until::end());
        rows.iter().any(|r| {
            r.payload
                .as_ref()
                .is_some_and(|p| String::from_utf8_lossy(p).contains(&as_of))
        })
    });
    assert!(caught_up, "no seller row as of the new event time");
    assert_once_per_transaction(&rows);
    stop_gracefully(&mut child);
    drop(f.dir);
}

/// What an instance has logged so far.
fn log_text(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Starts two instances given these ids (`""`: none given), waits until both hold
/// partitions (so the work is really split), produces the input and checks that the
/// outputs equal replay, exactly once. Returns the instances, still running, and their logs.
fn two_instances_share_the_work(
    f: &Fixture,
    ids: [&str; 2],
    env: &[(&str, &str)],
) -> [(KillOnDrop, PathBuf); 2] {
    let [a, b] = ids.map(|id| f.spawn_with_env(id, env));
    let assigned = |log: &Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("partitions assigned")
    };
    let both = poll_until(Duration::from_secs(60), || assigned(&a.1) && assigned(&b.1));
    assert!(both, "both instances should hold partitions");
    f.produce();
    let records = f.assert_converges(&[&a.1, &b.1]);
    assert_exactly_once(&records);
    [a, b]
}

#[test]
fn two_instances_split_the_work_and_give_the_same_results() {
    require_broker!();
    let f = Fixture::new(2000);
    for (mut child, _) in two_instances_share_the_work(&f, ["a", "b"], &[]) {
        stop_gracefully(&mut child);
    }
}

#[test]
fn the_classic_group_protocol_still_works_for_older_brokers() {
    require_broker!();
    let f = Fixture::new(1000);
    let classic = [("VTRACK_KAFKA_PROPERTIES_GROUP_PROTOCOL", "classic")];
    for (mut child, log) in two_instances_share_the_work(&f, ["ca", "cb"], &classic) {
        let text = log_text(&log);
        let started = text.lines().find(|l| l.contains("vtrack run started"));
        assert!(
            started.is_some_and(|l| l.contains("group_protocol") && l.contains("\"classic\"")),
            "{started:?}"
        );
        stop_gracefully(&mut child);
    }
}

#[test]
fn instances_started_alike_on_one_machine_take_distinct_ids_and_share_the_work() {
    require_broker!();
    let f = Fixture::new(2000);
    // No instance id configured or given: each claims a free slot of this machine.
    let instances = two_instances_share_the_work(&f, ["", ""], &[]);
    // The id each logged at start (`instance="…"`, between colour codes).
    let id_of = |log: &Path| {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let line = text.lines().find(|l| l.contains("vtrack run started"))?;
        let quoted = line.split("instance").nth(1)?.split('"').nth(1)?;
        Some(quoted.to_string())
    };
    let (id_a, id_b) = (id_of(&instances[0].1), id_of(&instances[1].1));
    assert!(id_a.is_some() && id_a != id_b, "{id_a:?} {id_b:?}");
    for (mut child, _) in instances {
        stop_gracefully(&mut child);
    }
}

#[test]
fn an_instance_killed_mid_stream_and_restarted_loses_and_doubles_nothing() {
    require_broker!();
    let f = Fixture::new(4000);
    f.produce();
    let (mut first, log_1) = f.spawn("k");
    // Kill -9 once some results are committed, while the rest is in flight.
    let started = poll_until(Duration::from_secs(60), || {
        consume_all(&[&f.cfg.verdicts_topic], Until::end()).len() > 500
    });
    assert!(started, "no verdicts within 60 s");
    first.0.kill().expect("SIGKILL");
    let _ = first.0.wait();
    let (mut second, log_2) = f.spawn("k");
    let records = f.assert_converges(&[&log_1, &log_2]);
    assert_exactly_once(&records);
    stop_gracefully(&mut second);
}

/// What an instance has logged so far, without colour codes.
fn plain_log(log: &Path) -> String {
    log_text(log)
        .split("\x1b[")
        .enumerate()
        .map(|(i, part)| match part.split_once('m') {
            Some((_, rest)) if i > 0 => rest,
            _ => part,
        })
        .collect()
}

/// The number after `records=` on the "state restored" line of a log.
fn restored_records(log: &Path) -> Option<u64> {
    let text = plain_log(log);
    let line = text.lines().find(|l| l.contains("state restored"))?;
    let after = line.split("records=").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn a_restart_reads_only_the_latest_snapshot_of_each_task() {
    require_broker!();
    let f = Fixture::new(1000);
    f.produce();
    let (mut first, log) = f.spawn("snap");
    f.assert_converges(&[&log]);
    // A stop snapshots every task that has read records: the first, then three more after a
    // record at the same event time on every input partition (the watermarks it sends reach
    // every task). Compaction leaves the active segment alone: each changelog partition holds
    // four snapshots.
    stop_gracefully(&mut first);
    let app = &f.cfg.application_id;
    let internal = ["order", "tracking", "seller"].map(|s| format!("{app}-{s}-events"));
    let mut consumed = vec![
        f.cfg.confirmations_topic.as_str(),
        f.cfg.scans_topic.as_str(),
    ];
    consumed.extend(internal.iter().map(|t| t.as_str()));
    let clocks: Vec<String> = (0..PARTITIONS)
        .map(|p| vtrack::codec::scan_to_json(&clock_scan(p, f.end)))
        .collect();
    let mut logs = vec![log];
    for _ in 0..3 {
        let (mut next, log) = f.spawn("snap");
        let restored = poll_until(DEFAULT_DEADLINE, || restored_records(&log).is_some());
        assert!(restored, "no restore logged:\n{}", plain_log(&log));
        produce(&f.cfg.scans_topic, &[], &clocks);
        let handled = poll_until(DEFAULT_DEADLINE, || group_lag(app, &consumed) == 0);
        assert!(handled, "the clock records were not handled");
        stop_gracefully(&mut next);
        logs.push(log);
    }
    let changelogs = ["order", "tracking", "seller"].map(|s| format!("{app}-{s}-changelog"));
    let held = consume_all(&changelogs.each_ref().map(|t| t.as_str()), Until::end()).len() as u64;
    let (mut last, log) = f.spawn("snap");
    let restored = poll_until(DEFAULT_DEADLINE, || restored_records(&log).is_some());
    assert!(restored, "no restore logged:\n{}", plain_log(&log));
    let read = restored_records(&log).expect("records read");
    let text = plain_log(&log);
    assert!(
        text.contains("snapshots=9 replay=0"),
        "every task should restore from its snapshot alone:\n{text}"
    );
    // Each snapshot here is one chunk and a manifest: the restore reads the last few offsets
    // of each of the 9 partitions, which hold the latest one, and not the older ones.
    let tail = 9 * vtrack::kafka::snapshot::TAIL_RECORDS as u64;
    assert!(
        read <= tail && read * 2 <= held,
        "the restore read {read} of the {held} changelog records"
    );
    logs.push(log);
    let records = f.assert_converges(&logs.iter().map(|l| l.as_path()).collect::<Vec<_>>());
    assert_exactly_once(&records);
    stop_gracefully(&mut last);
}

#[test]
fn instances_joining_and_leaving_mid_stream_change_no_result() {
    require_broker!();
    let f = Fixture::new(8000);
    f.produce();
    let (mut a, log_a) = f.spawn("ja");
    let some_verdicts = poll_until(Duration::from_secs(60), || {
        consume_all(&[&f.cfg.verdicts_topic], Until::end()).len() > 300
    });
    assert!(some_verdicts, "no verdicts within 60 s");
    // Two join while the work is in flight: a rebalance moves tasks, which restore.
    let (mut b, log_b) = f.spawn("jb");
    let (mut c, log_c) = f.spawn("jc");
    let restored = |log: &Path| log_text(log).contains("state restored");
    let joined = poll_until(Duration::from_secs(90), || {
        restored(&log_b) && restored(&log_c)
    });
    assert!(joined, "the joining instances never took over partitions");
    // One leaves gracefully: its tasks move again.
    stop_gracefully(&mut a);
    let records = f.assert_converges(&[&log_a, &log_b, &log_c]);
    assert_exactly_once(&records);
    stop_gracefully(&mut b);
    stop_gracefully(&mut c);
}

/// An instance stopped while a newcomer is being given its share, with scans still arriving:
/// closing its consumer drops records it fetched and did not handle, and nothing of them may
/// be committed as handled. The newcomer's first (empty) assignment marks the middle of the
/// cooperative rebalance. The classic protocol's two-phase rebalance is where this stop is
/// known to land in the race (the consumer protocol moves partitions at heartbeats, with no
/// such mark); the guard it tests serves both.
#[test]
fn an_instance_stopped_in_the_middle_of_a_rebalance_loses_nothing() {
    require_broker!();
    let env: &[(&str, &str)] = &[("VTRACK_KAFKA_PROPERTIES_GROUP_PROTOCOL", "classic")];
    let f = Fixture::new(1000);
    let [(confirmations, confirmation_clocks), (scans, scan_clocks)] = &f.input;
    produce(
        &f.cfg.confirmations_topic,
        confirmations,
        confirmation_clocks,
    );
    let (mut x, log_x) = f.spawn_with_env("mx", env);
    let (mut y, log_y) = f.spawn_with_env("my", env);
    let assigned = |log: &Path| log_text(log).matches("partitions assigned").count();
    assert!(poll_until(Duration::from_secs(60), || assigned(&log_x) > 0
        && assigned(&log_y) > 0));
    // Scans keep arriving, a slice at a time, while the group changes.
    let topic = f.cfg.scans_topic.clone();
    let (scans, scan_clocks) = (scans.clone(), scan_clocks.clone());
    let producing = std::thread::spawn(move || {
        for slice in scans.chunks(20) {
            produce(&topic, slice, &[]);
            // The pace of the input (200 scans a second), not a synchronisation.
            std::thread::sleep(Duration::from_millis(100));
        }
        produce(&topic, &[], &scan_clocks);
    });
    let (mut z, log_z) = f.spawn_with_env("mz", env);
    assert!(poll_until(Duration::from_secs(60), || assigned(&log_z) > 0));
    // A timed wait, not a synchronisation: no log line marks the moment the group moves
    // partitions to the newcomer (its second phase), which is where a stop lost records; two
    // seconds after the first phase lands there on this machine (the test failed 4 times out
    // of 4 without the fix).
    std::thread::sleep(Duration::from_millis(2000));
    // Stop the member that reads the inputs: it holds fetched records.
    let owns_inputs = |log: &Path| {
        log_text(log)
            .lines()
            .rfind(|l| l.contains("partitions assigned"))
            .is_some_and(|l| !l.contains("inputs=0"))
    };
    let victim = if owns_inputs(&log_x) { &mut x } else { &mut y };
    stop_gracefully(victim);
    producing.join().expect("producer thread");
    let records = f.assert_converges(&[&log_x, &log_y, &log_z]);
    assert_exactly_once(&records);
    for member in [&mut x, &mut y, &mut z] {
        if member.0.try_wait().ok().flatten().is_none() {
            stop_gracefully(member);
        }
    }
}

/// Design guide section 7: a tracking-ID correction moves a package to another tracking
/// partition while the old ID's scans are still arriving. Each package counts once, with the
/// new ID's verdict, exactly as replay says.
#[test]
fn a_tracking_id_correction_across_partitions_counts_once_with_the_new_id() {
    use vtrack::event::{Action, Confirmation, Event, Scan, ScanType, ShipMethod, DAY_MS};
    use vtrack::generate::ids::{ups_shipper, IdMaker};
    use vtrack::kafka::topology::partition_of;
    require_broker!();
    let ids = IdMaker::new(7);
    let shipper = ups_shipper(3, 7);
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        - DAY_MS;
    let partitions = 3;
    let confirm = |order: &str, tracking: &str, at: i64, event: &str| Confirmation {
        event_id: event.into(),
        action: Action::Confirm,
        seller_id: "correcting-seller".into(),
        order_id: order.into(),
        package_id: "1".into(),
        marketplace: "US".into(),
        category: "BOOKS".into(),
        carrier: "UPS".into(),
        tracking_id: tracking.into(),
        ship_method: ShipMethod::Parcel,
        package_value_cents: None,
        confirmed_at: at,
        promised_delivery_at: None,
    };
    let scan = |tracking: &str, kind: ScanType, at: i64, event: String| Scan {
        event_id: event,
        carrier: "UPS".into(),
        tracking_id: tracking.into(),
        scan_type: kind,
        scanned_at: at,
        location: None,
    };
    let mut events = Vec::new();
    let mut expected_ids = Vec::new();
    let mut unique = 1u64;
    for n in 0..40 {
        // An old and a new ID on different tracking partitions.
        let old = ids.ups(unique, &shipper);
        let mut new = ids.ups(unique + 1, &shipper);
        unique += 2;
        while partition_of(new.as_bytes(), partitions) == partition_of(old.as_bytes(), partitions) {
            new = ids.ups(unique, &shipper);
            unique += 1;
        }
        let order = format!("fix-order-{n}");
        let t = end - 20 * DAY_MS + n * 3_600_000;
        events.push(Event::Confirmation(confirm(
            &order,
            &old,
            t,
            &format!("c{n}-old"),
        )));
        // Half the corrections come with scans for the new ID, half only with the old ID's.
        events.push(Event::Confirmation(confirm(
            &order,
            &new,
            t + 60_000,
            &format!("c{n}-new"),
        )));
        for (i, kind) in [ScanType::Accepted, ScanType::InTransit, ScanType::Delivered]
            .into_iter()
            .enumerate()
        {
            let at = t + 3_600_000 * (i as i64 + 1) * 12;
            events.push(Event::Scan(scan(&old, kind, at, format!("s{n}-old-{i}"))));
            if n % 2 == 0 {
                events.push(Event::Scan(scan(
                    &new,
                    kind,
                    at + 1,
                    format!("s{n}-new-{i}"),
                )));
            }
        }
        expected_ids.push((order, new));
    }
    let f = Fixture::from_events(&events, end);
    for (n, (order, new)) in expected_ids.iter().enumerate() {
        let key = format!("correcting-seller/{order}/1");
        let v = f.verdicts.get(&key).expect("replay has the package");
        assert_eq!(v["tracking_id"].as_str(), Some(new.as_str()), "{key}: {v}");
        // Only the new ID's scans count.
        let valid = v["status"] == "VALID";
        assert_eq!(valid, n % 2 == 0, "{key}: {v}");
    }
    let all = f
        .sellers
        .values()
        .find(|r| {
            r["seller_id"] == "correcting-seller" && r["category"] == "*" && r["window_days"] == 30
        })
        .expect("the seller's 30-day row");
    let counted: u64 = ["valid", "invalid", "excluded", "pending"]
        .iter()
        .map(|k| all[*k].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(counted, 40, "each package counts once: {all}");
    f.produce();
    let (_child, log) = f.spawn("corrections");
    let records = f.assert_converges(&[&log]);
    assert_exactly_once(&records);
}

/// Failed transactions are recovered in process: every fifth commit is replaced by an abort,
/// after which the instance rebuilds its state from the committed offsets and rewinds. The
/// outputs still equal replay, exactly once, and the instance never exits.
#[test]
fn aborted_transactions_are_recovered_in_process_exactly_once() {
    require_broker!();
    let f = Fixture::new(1000);
    f.produce();
    let (mut child, log) = f.spawn_with_env("aborting", &[("VTRACK_FAULT_ABORT_EVERY", "5")]);
    let records = f.assert_converges(&[&log]);
    assert_exactly_once(&records);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let recoveries = text
        .matches("state rebuilt from the committed offsets")
        .count();
    assert!(recoveries >= 2, "expected recoveries, saw {recoveries}");
    assert!(
        child.0.try_wait().expect("wait").is_none(),
        "the instance kept running"
    );
    stop_gracefully(&mut child);
}

#[test]
fn a_restart_that_takes_another_slot_fences_the_transaction_a_killed_instance_left_open() {
    require_broker!();
    let f = Fixture::new(4000);
    // No configured instance id: each process claims the lowest free slot of the machine.
    let by_slot = [("VTRACK_INSTANCE_ID", ""), ("HOSTNAME", "fence-test")];
    let (mut first, log_1) = f.spawn_with_env("unused", &by_slot);
    let ready = poll_until(DEFAULT_DEADLINE, || {
        log_text(&log_1).contains("state restored")
    });
    assert!(ready, "the first instance never started");
    let (mut second, log_2) = f.spawn_with_env("unused", &by_slot);
    let ready = poll_until(DEFAULT_DEADLINE, || {
        log_text(&log_2).contains("state restored")
    });
    assert!(ready, "the second instance never started");
    std::thread::scope(|scope| {
        // The input keeps coming for 20 s, so the second instance dies in a transaction that
        // holds records.
        scope.spawn(|| f.produce_paced(20));
        let started = poll_until(Duration::from_secs(60), || {
            consume_all(&[&f.cfg.verdicts_topic], Until::end()).len() > 200
        });
        assert!(started, "no verdicts within 60 s");
        second.0.kill().expect("SIGKILL");
        let _ = second.0.wait();
        stop_gracefully(&mut first);
    });
    // The second instance died inside a transaction; the first slot was freed cleanly. The
    // restart takes the first slot, so its own id fences nothing: the killed instance's
    // transaction would stall every read_committed reader for minutes unless the restart
    // fences the gone slot.
    let (mut third, log_3) = f.spawn_with_env("unused", &by_slot);
    let records = f.assert_converges(&[&log_1, &log_2, &log_3]);
    assert_exactly_once(&records);
    assert!(
        log_text(&log_3).contains("fenced the transactions of a gone instance slot"),
        "{}",
        log_text(&log_3)
    );
    stop_gracefully(&mut third);
}

/// Contract section 6: output records as protobuf on request, same content as JSON.
#[test]
fn verdicts_come_as_protobuf_on_request() {
    use prost::Message;
    use vtrack::codec::proto::TrackingVerdict;
    require_broker!();
    let f = Fixture::new(500);
    f.produce();
    let (mut child, _log) = f.spawn_with_env("pb", &[("VTRACK_KAFKA_OUTPUT_FORMAT", "protobuf")]);
    // What an acceptance reader compares: status, reasons, finality, warnings, explanation.
    type Shown = (String, Vec<String>, bool, Vec<String>, String);
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let expected: BTreeMap<String, Shown> = f
        .verdicts
        .iter()
        .map(|(k, v)| {
            let shown = (
                v["status"].as_str().unwrap_or_default().to_string(),
                names(&v["reasons"]),
                v["final"].as_bool().unwrap_or_default(),
                names(&v["warnings"]),
                v["explanation"].as_str().unwrap_or_default().to_string(),
            );
            (k.clone(), shown)
        })
        .collect();
    let mut got = BTreeMap::new();
    let converged = poll_until(Duration::from_secs(180), || {
        got.clear();
        for r in consume_all(&[&f.cfg.verdicts_topic], Until::end()) {
            let payload = r.payload.as_deref().unwrap_or_default();
            let Ok(m) = TrackingVerdict::decode(payload) else {
                continue;
            };
            let shown: Shown = (
                m.status().as_str_name().to_string(),
                m.reasons().map(|x| x.as_str_name().to_string()).collect(),
                m.r#final,
                m.warnings().map(|x| x.as_str_name().to_string()).collect(),
                m.explanation.clone(),
            );
            got.insert(r.key_str(), shown);
        }
        got == expected
    });
    let differing = expected.iter().find(|(k, v)| got.get(*k) != Some(*v));
    assert!(
        converged,
        "{} of {} packages as protobuf; first difference: {differing:?} vs {:?}",
        got.len(),
        expected.len(),
        differing.and_then(|(k, _)| got.get(k))
    );
    stop_gracefully(&mut child);
}
