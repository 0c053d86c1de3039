//! `vtrack generate --kafka` against a real broker: exactly the generator's events land in
//! the two input topics, decodable, keyed by order id and tracking ID, each key's events in
//! one partition in generation order.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::{
    consume_all, load_config, require_broker, run_vtrack, topic_exists, topic_partitions,
    write_config, Record, Until,
};
use std::collections::HashMap;
use vtrack::codec::{confirmation_to_json, decode_confirmation, decode_scan, scan_to_json, Format};
use vtrack::event::Event;
use vtrack::generate::{generate, GenerateOptions};

/// The generated events of `opts`: (confirmations, scans, stats).
fn expected(
    opts: &GenerateOptions,
) -> (
    Vec<vtrack::event::Confirmation>,
    Vec<vtrack::event::Scan>,
    vtrack::generate::GenerateStats,
) {
    let mut gen = generate(opts);
    let (mut confirmations, mut scans) = (Vec::new(), Vec::new());
    for e in gen.by_ref() {
        match e {
            Event::Confirmation(c) => confirmations.push(c),
            Event::Scan(s) => scans.push(s),
        }
    }
    (confirmations, scans, gen.stats().clone())
}

/// Event ids per key in topic order; panics when a key spans partitions.
fn ids_per_key(records: &[Record], id: impl Fn(&Record) -> String) -> HashMap<String, Vec<String>> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| (r.partition, r.offset));
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    for r in sorted {
        let key = r.key_str();
        let p = *partition_of.entry(key.clone()).or_insert(r.partition);
        assert_eq!(p, r.partition, "key {key} is in two partitions");
        ids.entry(key).or_default().push(id(r));
    }
    ids
}

fn generate_into_kafka(format: &str, packages: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), &[("kafka.internal_partitions", "3")]);
    let cfg = load_config(&path).kafka;
    let packages_arg = packages.to_string();
    let out = run_vtrack(&[
        "generate",
        "--kafka",
        "--config",
        path.to_str().expect("utf-8 path"),
        "--packages",
        &packages_arg,
        "--format",
        format,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    let opts = GenerateOptions {
        packages,
        ..GenerateOptions::default()
    };
    let (confirmations, scans, stats) = expected(&opts);
    assert_eq!(stats.confirmations as usize, confirmations.len());
    assert!(
        stdout.contains(&format!(
            "produced {} confirmations to topic {} and {} scans to topic {}",
            stats.confirmations, cfg.confirmations_topic, stats.scans, cfg.scans_topic
        )),
        "{stdout}"
    );
    assert!(stdout.contains("events/s"), "{stdout}");
    assert_eq!(topic_partitions(&cfg.confirmations_topic), Some(3));
    assert_eq!(topic_partitions(&cfg.scans_topic), Some(3));

    // Confirmations: exactly the generated ones (duplicates included), keyed by order id.
    let got = consume_all(
        &[&cfg.confirmations_topic],
        Until::count(confirmations.len()),
    );
    assert_eq!(got.len(), confirmations.len(), "confirmations in the topic");
    let mut decoded: Vec<String> = Vec::new();
    for r in &got {
        let payload = r.payload.as_deref().expect("a payload");
        let wanted = if format == "json" {
            Format::Json
        } else {
            Format::Protobuf
        };
        assert_eq!(Format::detect(payload), wanted);
        let c = decode_confirmation(payload).expect("a decodable confirmation");
        assert_eq!(r.key_str(), c.order_id, "keyed by order id");
        decoded.push(confirmation_to_json(&c));
    }
    let mut generated: Vec<String> = confirmations.iter().map(confirmation_to_json).collect();
    decoded.sort();
    generated.sort();
    assert_eq!(
        decoded, generated,
        "the topic holds the generated confirmations"
    );
    let mut per_order: HashMap<String, Vec<String>> = HashMap::new();
    for c in &confirmations {
        per_order
            .entry(c.order_id.clone())
            .or_default()
            .push(c.event_id.clone());
    }
    let in_topic = ids_per_key(&got, |r| {
        decode_confirmation(r.payload.as_deref().unwrap_or_default())
            .map(|c| c.event_id)
            .unwrap_or_default()
    });
    assert_eq!(
        in_topic, per_order,
        "each order's events in order, in one partition"
    );

    // Scans: exactly the generated ones, keyed by tracking ID.
    let got = consume_all(&[&cfg.scans_topic], Until::count(scans.len()));
    assert_eq!(got.len(), scans.len(), "scans in the topic");
    let mut decoded: Vec<String> = Vec::new();
    for r in &got {
        let s = decode_scan(r.payload.as_deref().expect("a payload")).expect("a decodable scan");
        assert_eq!(r.key_str(), s.tracking_id, "keyed by tracking ID");
        decoded.push(scan_to_json(&s));
    }
    let mut generated: Vec<String> = scans.iter().map(scan_to_json).collect();
    decoded.sort();
    generated.sort();
    assert_eq!(decoded, generated, "the topic holds the generated scans");
}

#[test]
fn generate_kafka_writes_exactly_the_generated_events_as_json() {
    let _broker = require_broker!();
    generate_into_kafka("json", 500);
}

#[test]
fn generate_kafka_writes_protobuf_on_request() {
    let _broker = require_broker!();
    generate_into_kafka("protobuf", 100);
}

#[test]
fn generate_kafka_without_create_topics_lists_the_missing_inputs() {
    let _broker = require_broker!();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), &[("kafka.create_topics", "false")]);
    let cfg = load_config(&path).kafka;
    let out = run_vtrack(&[
        "generate",
        "--kafka",
        "--config",
        path.to_str().expect("utf-8 path"),
        "--packages",
        "10",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for topic in [&cfg.confirmations_topic, &cfg.scans_topic] {
        assert!(
            stderr.contains(&format!("--create --topic {topic} ")),
            "{stderr}"
        );
        assert!(!topic_exists(topic));
    }
}

#[test]
fn generate_needs_files_or_kafka() {
    // No broker needed.
    let out = run_vtrack(&["generate", "--packages", "5"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--confirmations") && stderr.contains("--kafka"),
        "{stderr}"
    );
    let out = run_vtrack(&["generate", "--packages", "5", "--scans", "x.ndjson"]);
    assert!(!out.status.success());
}
