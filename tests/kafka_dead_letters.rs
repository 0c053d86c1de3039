//! Bad input on the real broker: it lands in the dead-letter topic with headers naming its
//! topic, partition, offset and error, and everything else is processed.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::*;
use std::time::Duration;

#[test]
fn bad_input_goes_to_the_dead_letter_topic_and_the_rest_is_processed() {
    require_broker!();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &[
            ("kafka.internal_partitions", "2"),
            ("kafka.idle_source_after", "\"1s\""),
            // The producer may write records of up to 200,000 bytes: an internal record is
            // the input message plus its decoded fields, about twice the input.
            ("kafka.properties.message.max.bytes", "200000"),
        ],
    );
    let cfg = load_config(&config).kafka;
    create_topic(&cfg.confirmations_topic, 1);
    create_topic(&cfg.scans_topic, 1);
    let good = r#"{"event_id":"c-ok","seller_id":"s1","order_id":"o1","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-01-10T10:00:00Z"}"#;
    let missing_seller = r#"{"event_id":"c-bad","order_id":"o2","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-01-10T10:00:00Z"}"#;
    let far_future = r#"{"event_id":"c-future","seller_id":"s1","order_id":"o3","carrier":"UPS","tracking_id":"X1","confirmed_at":"2999-01-01T00:00:00Z"}"#;
    // Valid, but its internal record would be about 240,000 bytes.
    let big = format!(
        r#"{{"event_id":"c-big","seller_id":"{}","order_id":"o4","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-01-10T10:00:00Z"}}"#,
        "S".repeat(120_000)
    );
    // So large that even its dead letter (the message and vtrack's headers) is too large.
    let huge = format!(
        r#"{{"event_id":"c-huge","seller_id":"{}","order_id":"o5","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-01-10T10:00:00Z"}}"#,
        "S".repeat(199_900)
    );
    produce_all(
        &cfg.confirmations_topic,
        &[
            ("k0", "this is not an event"),
            ("k1", missing_seller),
            ("k2", good),
            ("k3", far_future),
            ("k6", big.as_str()),
            ("k7", huge.as_str()),
        ],
    );
    let bad_scan = r#"{"event_id":"s-bad","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"SCANNED","scanned_at":"2026-01-10T12:00:00Z"}"#;
    let good_scan = r#"{"event_id":"s-ok","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"ACCEPTED","scanned_at":"2026-01-10T12:00:00Z"}"#;
    produce_all(&cfg.scans_topic, &[("k4", bad_scan), ("k5", good_scan)]);

    let (child, log) =
        spawn_vtrack_logged(&["run", "--config", config.to_str().unwrap_or_default()]);
    let _child = KillOnDrop(child);

    let dead = consume_all(
        &[&cfg.dead_letter_topic],
        Until::count(6).within(Duration::from_secs(90)),
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        dead.len(),
        6,
        "dead letters: {:?}\nlog:\n{text}",
        dead.iter().map(Record::key_str).collect::<Vec<_>>()
    );
    let header =
        |r: &Record, h: &str| String::from_utf8_lossy(r.header(h).unwrap_or_default()).into_owned();
    let by_payload = |p: &str| {
        dead.iter()
            .find(|r| r.payload_str() == p)
            .unwrap_or_else(|| panic!("no dead letter with payload {p}"))
    };
    let not_event = by_payload("this is not an event");
    assert_eq!(
        header(not_event, "vtrack.source.topic"),
        cfg.confirmations_topic
    );
    assert_eq!(header(not_event, "vtrack.source.partition"), "0");
    assert_eq!(header(not_event, "vtrack.source.offset"), "0");
    assert!(!header(not_event, "vtrack.error").is_empty());
    assert_eq!(
        not_event.key_str(),
        "k0",
        "a dead letter keeps its input's key"
    );
    let missing = by_payload(missing_seller);
    assert_eq!(header(missing, "vtrack.source.offset"), "1");
    assert!(
        header(missing, "vtrack.error").contains("seller_id"),
        "{}",
        header(missing, "vtrack.error")
    );
    assert!(header(by_payload(far_future), "vtrack.error").contains("max_future_skew"));
    let scan = by_payload(bad_scan);
    assert_eq!(header(scan, "vtrack.source.topic"), cfg.scans_topic);
    assert!(header(scan, "vtrack.error").contains("scan_type"));

    let too_large = by_payload(&big);
    assert!(
        header(too_large, "vtrack.error").contains("too large"),
        "{}",
        header(too_large, "vtrack.error")
    );
    assert_eq!(header(too_large, "vtrack.source.offset"), "4");
    let huge_letter = dead
        .iter()
        .find(|r| r.key_str() == "k7")
        .expect("a dead letter for the huge message");
    assert!(
        huge_letter.payload_str().is_empty(),
        "written without its value"
    );
    assert_eq!(header(huge_letter, "vtrack.source.offset"), "5");
    assert!(header(huge_letter, "vtrack.value.dropped").starts_with("2000"));
    assert!(header(huge_letter, "vtrack.error").contains("too large"));

    // The good events were processed: the package is valid.
    let mut valid = false;
    poll_until(Duration::from_secs(60), || {
        valid = consume_all(&[&cfg.verdicts_topic], Until::end())
            .iter()
            .any(|r| r.key_str() == "s1/o1/" && r.json()["status"] == "VALID");
        valid
    });
    assert!(
        valid,
        "the good confirmation and scan were not processed\nlog:\n{text}"
    );
}
