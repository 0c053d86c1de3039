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

#[test]
fn windows_close_although_an_input_partition_stays_quiet() {
    require_broker!();
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
