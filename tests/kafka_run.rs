//! `vtrack run` on the real broker against `vtrack replay` on the same input.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::fixture::*;
use kafka_support::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn run_gives_the_same_final_results_as_replay() {
    require_broker!();
    let f = Fixture::new(1500);
    f.produce();
    let (mut child, log) = f.spawn("one");
    let records = f.assert_converges(&[&log]);
    assert_exactly_once(&records);
    stop_gracefully(&mut child);
    drop(f.dir);
}

#[test]
fn two_instances_split_the_work_and_give_the_same_results() {
    require_broker!();
    let f = Fixture::new(2000);
    let (mut a, log_a) = f.spawn("a");
    let (mut b, log_b) = f.spawn("b");
    // Both members hold partitions before any input arrives, so the work is really split.
    let assigned = |log: &Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("partitions assigned")
    };
    let both = poll_until(Duration::from_secs(60), || {
        assigned(&log_a) && assigned(&log_b)
    });
    assert!(both, "both instances should hold partitions");
    f.produce();
    let records = f.assert_converges(&[&log_a, &log_b]);
    assert_exactly_once(&records);
    stop_gracefully(&mut a);
    stop_gracefully(&mut b);
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
    let restored = |log: &Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("state restored")
    };
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
