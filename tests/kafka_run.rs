//! `vtrack run` on the real broker against `vtrack replay` on the same input.

mod kafka_support;

use kafka_support::*;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use vtrack::codec::{confirmation_to_json, scan_to_json};
use vtrack::event::{Action, Confirmation, Event, Millis, Scan, ScanType, ShipMethod, DAY_MS};
use vtrack::generate::{generate, GenerateOptions};

const PARTITIONS: i32 = 3;

fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// A workload in the past, plus one "clock" event per input partition at the very end, so
/// every partition's event time reaches the same instant as the replay's `--as-of`.
fn workload(packages: u64) -> (Vec<Event>, Millis) {
    let opts = GenerateOptions {
        packages,
        sellers: 30,
        seed: 11,
        start: now_ms() - 50 * DAY_MS,
        ..GenerateOptions::default()
    };
    let events: Vec<Event> = generate(&opts).collect();
    let end = events.iter().map(Event::event_time).max().unwrap_or(0) + 1;
    (events, end)
}

fn clock_confirmation(p: i32, end: Millis) -> Confirmation {
    Confirmation {
        event_id: format!("clock-c-{p}"),
        action: Action::Cancel,
        seller_id: "__clock__".into(),
        order_id: format!("__clock__{p}"),
        package_id: String::new(),
        marketplace: "US".into(),
        category: "UNCATEGORIZED".into(),
        carrier: String::new(),
        tracking_id: String::new(),
        ship_method: ShipMethod::Parcel,
        package_value_cents: None,
        confirmed_at: end,
        promised_delivery_at: None,
    }
}

fn clock_scan(p: i32, end: Millis) -> Scan {
    Scan {
        event_id: format!("clock-s-{p}"),
        carrier: "UPS".into(),
        tracking_id: format!("CLOCK{p}"),
        scan_type: ScanType::InfoReceived,
        scanned_at: end,
        location: None,
    }
}

fn write_ndjson(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("write ndjson");
}

/// Produces keyed lines, then one clock line to each partition.
fn produce(topic: &str, lines: &[(String, String)], clocks: &[String]) {
    let producer: BaseProducer = client_config().create().expect("producer");
    let send = |record: BaseRecord<'_, str, str>| {
        let mut record = record;
        loop {
            match producer.send(record) {
                Ok(()) => return,
                Err((_, r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    };
    for (key, value) in lines {
        send(
            BaseRecord::to(topic)
                .key(key.as_str())
                .payload(value.as_str()),
        );
    }
    for (p, value) in clocks.iter().enumerate() {
        send(
            BaseRecord::to(topic)
                .partition(p as i32)
                .payload(value.as_str()),
        );
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn read_ndjson(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read output")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn without_revision(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("revision");
    }
    v
}

/// Latest payload per key (tombstones remove the key).
fn latest(records: &[Record]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for r in records {
        match &r.payload {
            Some(_) => {
                out.insert(r.key_str(), without_revision(r.json()));
            }
            None => {
                out.remove(&r.key_str());
            }
        }
    }
    out
}

fn first_differences(
    expected: &BTreeMap<String, Value>,
    actual: &BTreeMap<String, Value>,
) -> String {
    let mut s = format!("expected {} keys, got {}\n", expected.len(), actual.len());
    for (k, e) in expected
        .iter()
        .filter(|(k, e)| actual.get(*k) != Some(e))
        .take(3)
    {
        s += &format!("key {k}\n  expected {e}\n  actual   {:?}\n", actual.get(k));
    }
    for k in actual.keys().filter(|k| !expected.contains_key(*k)).take(3) {
        s += &format!("unexpected key {k}\n");
    }
    s
}

#[test]
fn run_gives_the_same_final_results_as_replay() {
    require_broker!();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &[
            ("kafka.internal_partitions", "3"),
            ("kafka.idle_source_after", "\"0s\""),
            ("kafka.instance_id", "\"i1\""),
            ("engine.allowed_lateness", "\"0s\""),
        ],
    );
    let cfg = load_config(&config).kafka;
    create_topic(&cfg.confirmations_topic, PARTITIONS);
    create_topic(&cfg.scans_topic, PARTITIONS);

    let (events, end) = workload(1500);
    let mut conf_lines = Vec::new();
    let mut scan_lines = Vec::new();
    for e in &events {
        match e {
            Event::Confirmation(c) => {
                conf_lines.push((c.order_id.clone(), confirmation_to_json(c)))
            }
            Event::Scan(s) => scan_lines.push((s.tracking_id.clone(), scan_to_json(s))),
        }
    }
    let conf_clocks: Vec<String> = (0..PARTITIONS)
        .map(|p| confirmation_to_json(&clock_confirmation(p, end)))
        .collect();
    let scan_clocks: Vec<String> = (0..PARTITIONS)
        .map(|p| scan_to_json(&clock_scan(p, end)))
        .collect();

    // The replay of the same events.
    let c_file = dir.path().join("c.ndjson");
    let s_file = dir.path().join("s.ndjson");
    let all_conf: Vec<String> = conf_lines
        .iter()
        .map(|(_, v)| v.clone())
        .chain(conf_clocks.clone())
        .collect();
    let all_scans: Vec<String> = scan_lines
        .iter()
        .map(|(_, v)| v.clone())
        .chain(scan_clocks.clone())
        .collect();
    write_ndjson(&c_file, &all_conf);
    write_ndjson(&s_file, &all_scans);
    let out = dir.path().join("replay");
    let replay = run_vtrack(&[
        "replay",
        "--confirmations",
        c_file.to_str().unwrap_or_default(),
        "--scans",
        s_file.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
        "--config",
        config.to_str().unwrap_or_default(),
    ]);
    assert!(replay.status.success(), "replay failed: {:?}", replay);
    let key = |v: &Value, fields: &[&str]| {
        fields
            .iter()
            .map(|f| match &v[*f] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    let expected_verdicts: BTreeMap<String, Value> = read_ndjson(&out.join("verdicts.ndjson"))
        .into_iter()
        .map(|v| {
            (
                key(&v, &["seller_id", "order_id", "package_id"]),
                without_revision(v),
            )
        })
        .collect();
    let expected_sellers: BTreeMap<String, Value> = read_ndjson(&out.join("seller_vtr.ndjson"))
        .into_iter()
        .map(|v| {
            (
                key(&v, &["marketplace", "seller_id", "category", "window_days"]),
                v,
            )
        })
        .collect();
    assert!(
        expected_verdicts.len() >= 1500,
        "the workload is not trivial"
    );

    // The processor on the same events.
    produce(&cfg.confirmations_topic, &conf_lines, &conf_clocks);
    produce(&cfg.scans_topic, &scan_lines, &scan_clocks);
    let (child, log) =
        spawn_vtrack_logged(&["run", "--config", config.to_str().unwrap_or_default()]);
    let mut child = KillOnDrop(child);

    let (mut verdicts, mut sellers) = (BTreeMap::new(), BTreeMap::new());
    poll_until(Duration::from_secs(150), || {
        verdicts = latest(&consume_all(&[&cfg.verdicts_topic], Until::end()));
        sellers = latest(&consume_all(&[&cfg.seller_vtr_topic], Until::end()));
        verdicts == expected_verdicts && sellers == expected_sellers
    });
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        verdicts == expected_verdicts,
        "verdicts differ from replay:\n{}\nlog tail:\n{}",
        first_differences(&expected_verdicts, &verdicts),
        log_text
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        sellers == expected_sellers,
        "seller rows differ from replay:\n{}",
        first_differences(&expected_sellers, &sellers)
    );

    // Graceful shutdown: SIGTERM, exit 0.
    let pid = child.0.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut status = None;
    let stopped = poll_until(Duration::from_secs(30), || {
        status = child.0.try_wait().expect("wait");
        status.is_some()
    });
    assert!(stopped, "vtrack run did not stop within 30 s of SIGTERM");
    assert!(
        status.is_some_and(|s| s.success()),
        "vtrack run exited with {status:?}"
    );
}
