//! A quiet input partition does not freeze time: windows still close.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::*;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::time::Duration;

fn produce_to(topic: &str, partition: i32, value: &str) {
    let producer: BaseProducer = client_config().create().expect("producer");
    producer
        .send(
            BaseRecord::<str, str>::to(topic)
                .partition(partition)
                .payload(value),
        )
        .map_err(|(e, _)| e)
        .expect("send");
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// A configuration with two internal partitions, idle advance after 1 s and no allowed
/// lateness, in a directory of its own (kept alive by the first value).
fn quiet_setup() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    vtrack::config::KafkaConfig,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &[
            ("kafka.internal_partitions", "2"),
            ("kafka.idle_source_after", "\"1s\""),
            ("engine.allowed_lateness", "\"0s\""),
        ],
    );
    let cfg = load_config(&config).kafka;
    (dir, config, cfg)
}

#[test]
fn windows_close_although_an_input_partition_stays_quiet() {
    require_broker!();
    let (_dir, config, cfg) = quiet_setup();
    // Two partitions per input; partition 1 of each never receives anything.
    create_topic(&cfg.confirmations_topic, 2);
    create_topic(&cfg.scans_topic, 2);
    let confirm = r#"{"event_id":"c1","seller_id":"s1","order_id":"o1","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-01-01T00:00:00Z"}"#;
    // A later event moves partition 0 past the package's close (t + 14 days).
    let later = r#"{"event_id":"c2","seller_id":"s2","order_id":"o2","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-01-20T00:00:00Z"}"#;
    let scan = r#"{"event_id":"x1","carrier":"UPS","tracking_id":"T1","scan_type":"INFO_RECEIVED","scanned_at":"2026-01-20T00:00:00Z"}"#;
    produce_to(&cfg.confirmations_topic, 0, confirm);
    produce_to(&cfg.confirmations_topic, 0, later);
    produce_to(&cfg.scans_topic, 0, scan);

    let (child, log) =
        spawn_vtrack_logged(&["run", "--config", config.to_str().unwrap_or_default()]);
    let _child = KillOnDrop(child);
    let mut last = serde_json::Value::Null;
    let closed = poll_until(Duration::from_secs(60), || {
        if let Some(r) = consume_all(&[&cfg.verdicts_topic], Until::end())
            .iter()
            .rev()
            .find(|r| r.key_str() == "s1/o1/")
        {
            last = r.json();
        }
        last["final"] == true
    });
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        closed,
        "the window never closed; last verdict {last}\nlog:\n{text}"
    );
    assert_eq!(last["status"], "INVALID");
    assert_eq!(last["reasons"], serde_json::json!(["NO_CARRIER_SCAN"]));
}

/// The latest verdict record of a package key, if any.
fn latest_verdict(topic: &str, key: &str) -> serde_json::Value {
    consume_all(&[topic], Until::end())
        .iter()
        .rev()
        .find(|r| r.key_str() == key)
        .map_or(serde_json::Value::Null, |r| r.json())
}

/// A confirmation whose window closes only by idle advance; the instance is stopped once
/// `stop_when` holds of the package's verdict record, restarted, and nothing else arrives.
/// With `last_undecodable`, the last record of the partition is bad input, so that only what
/// the tasks hold of the announcements can seed the restarted instance's clocks.
fn a_window_closes_over_quiet_inputs_across_a_restart(
    stop_when: fn(&serde_json::Value) -> bool,
    last_undecodable: bool,
) {
    use kafka_support::fixture::{now_ms, stop_gracefully};
    require_broker!();
    let (_dir, config, cfg) = quiet_setup();
    create_topic(&cfg.confirmations_topic, 2);
    create_topic(&cfg.scans_topic, 2);
    // A confirmation whose window closes a minute after the latest event time (a CANCEL of
    // another order). Every other input partition stays empty, so only idle advance at
    // wall-clock pace closes it, and nothing arrives after the restart below.
    let closes_in = 60_000;
    let started = std::time::Instant::now();
    let latest = now_ms() - 10 * 86_400_000;
    let t = latest + closes_in - 14 * 86_400_000;
    let confirm = format!(
        r#"{{"event_id":"c1","seller_id":"s1","order_id":"o1","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":{t}}}"#
    );
    let marker = format!(
        r#"{{"event_id":"m1","action":"CANCEL","seller_id":"s2","order_id":"o2","confirmed_at":{latest}}}"#
    );
    produce_to(&cfg.confirmations_topic, 0, &confirm);
    produce_to(&cfg.confirmations_topic, 0, &marker);
    if last_undecodable {
        produce_to(&cfg.confirmations_topic, 0, "{not json");
    }
    let args = ["run", "--config", config.to_str().unwrap_or_default()];

    let (child, log) = spawn_vtrack_logged(&args);
    let mut first = KillOnDrop(child);
    let mut last = serde_json::Value::Null;
    let stoppable = poll_until(DEFAULT_DEADLINE, || {
        last = latest_verdict(&cfg.verdicts_topic, "s1/o1/");
        stop_when(&last)
    });
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(stoppable, "last verdict {last}\nlog:\n{text}");
    stop_gracefully(&mut first);
    let last = latest_verdict(&cfg.verdicts_topic, "s1/o1/");
    assert_eq!(
        last["final"], false,
        "the window closed before the restart, so the test proves nothing: {last}"
    );

    let (child, log) = spawn_vtrack_logged(&args);
    let _second = KillOnDrop(child);
    let mut last = serde_json::Value::Null;
    let closed = poll_until(Duration::from_millis(closes_in as u64 + 60_000), || {
        last = latest_verdict(&cfg.verdicts_topic, "s1/o1/");
        last["final"] == true
    });
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        closed,
        "the window never closed after the restart; last verdict {last}\nlog:\n{text}"
    );
    // Idle advance goes at wall-clock pace, never faster.
    assert!(
        started.elapsed() >= Duration::from_millis(closes_in as u64),
        "closed after {:?}, before event time could reach the close",
        started.elapsed()
    );
    assert_eq!(last["reasons"], serde_json::json!(["NO_CARRIER_SCAN"]));
}

#[test]
fn a_window_closes_over_quiet_inputs_after_a_restart_that_follows_announcements() {
    // Time has moved past t + 48 hours once the warning is out (the latest event time is
    // t + 13 days): the inputs' time was announced, and the tasks hold it.
    // The last record is bad input: only the announcements can seed the restart.
    a_window_closes_over_quiet_inputs_across_a_restart(
        |v| v["warnings"] == serde_json::json!(["NO_SCAN_YET"]),
        true,
    );
}

#[test]
fn a_window_closes_over_quiet_inputs_after_an_early_restart() {
    // Stopped at the first verdict, perhaps before any time was announced: the restarted
    // instance starts from its inputs' last records.
    a_window_closes_over_quiet_inputs_across_a_restart(|v| v["status"] == "PENDING", false);
}
