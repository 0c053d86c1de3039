//! A generated workload on fresh topics, with what `vtrack replay` says of it, for tests
//! that compare `vtrack run` with replay.

use super::*;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use vtrack::codec::{confirmation_to_json, scan_to_json};
use vtrack::event::{Action, Confirmation, Event, Millis, Scan, ScanType, ShipMethod, DAY_MS};
use vtrack::generate::{generate, GenerateOptions};

pub const PARTITIONS: i32 = 3;

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// Sixty days of workload in the past, plus one "clock" event per input partition at the very end, so
/// every partition's event time reaches the same instant as the replay's `--as-of`.
pub fn workload(packages: u64) -> (Vec<Event>, Millis) {
    let opts = GenerateOptions {
        packages,
        sellers: 30,
        seed: 11,
        // Longer than a window and its retention, so that state expires while the
        // workload streams in.
        days: 60,
        start: now_ms() - 80 * DAY_MS,
        ..GenerateOptions::default()
    };
    let events: Vec<Event> = generate(&opts).collect();
    let end = events.iter().map(Event::event_time).max().unwrap_or(0) + 1;
    (events, end)
}

pub fn clock_confirmation(p: i32, end: Millis) -> Confirmation {
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

pub fn clock_scan(p: i32, end: Millis) -> Scan {
    Scan {
        event_id: format!("clock-s-{p}"),
        carrier: "UPS".into(),
        tracking_id: format!("CLOCK{p}"),
        scan_type: ScanType::InfoReceived,
        scanned_at: end,
        location: None,
    }
}

pub fn write_ndjson(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("write ndjson");
}

/// Produces keyed lines, then one clock line to each partition.
pub fn produce(topic: &str, lines: &[(String, String)], clocks: &[String]) {
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

pub fn read_ndjson(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read output")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

pub fn without_revision(v: Value) -> Value {
    without(v, "revision")
}

pub fn without(mut v: Value, field: &str) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove(field);
    }
    v
}

/// Seller rows as the stream shows them: a row is written when its numbers change or its
/// window slides, so `as_of` is the event time of its last change, not the final one; the
/// window's dates and the numbers are compared.
pub fn seller_rows(rows: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    rows.into_iter()
        .map(|(k, v)| (k, without(v, "as_of")))
        .collect()
}

/// Latest payload per key (tombstones remove the key).
pub fn latest(records: &[Record]) -> BTreeMap<String, Value> {
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

pub fn first_differences(
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

/// Keyed lines for one input topic, and one clock line per partition.
pub type TopicInput = (Vec<(String, String)>, Vec<String>);

/// A workload on fresh topics, and what `vtrack replay` says of it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    pub cfg: vtrack::config::KafkaConfig,
    pub verdicts: BTreeMap<String, Value>,
    pub sellers: BTreeMap<String, Value>,
    /// Keyed lines and per-partition clock lines of both inputs.
    pub input: [TopicInput; 2],
    /// The event time every input partition reaches (replay's `--as-of`).
    pub end: Millis,
}

impl Fixture {
    /// A workload of `packages` on fresh topics, replayed.
    pub fn new(packages: u64) -> Fixture {
        let (events, end) = workload(packages);
        let f = Fixture::from_events(&events, end);
        assert!(
            f.verdicts.len() as u64 >= packages,
            "the workload is not trivial"
        );
        f
    }

    /// Given events (with every event time before `end`) on fresh topics, replayed as of `end`.
    pub fn from_events(events: &[Event], end: Millis) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write_config(
            dir.path(),
            &[
                ("kafka.internal_partitions", "3"),
                ("kafka.idle_source_after", "\"0s\""),
                ("engine.allowed_lateness", "\"0s\""),
            ],
        );
        let cfg = load_config(&config).kafka;
        create_topic(&cfg.confirmations_topic, PARTITIONS);
        create_topic(&cfg.scans_topic, PARTITIONS);
        let mut conf_lines = Vec::new();
        let mut scan_lines = Vec::new();
        for e in events {
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
        let c_file = dir.path().join("c.ndjson");
        let s_file = dir.path().join("s.ndjson");
        let lines = |l: &[(String, String)], clocks: &[String]| -> Vec<String> {
            l.iter()
                .map(|(_, v)| v.clone())
                .chain(clocks.iter().cloned())
                .collect()
        };
        write_ndjson(&c_file, &lines(&conf_lines, &conf_clocks));
        write_ndjson(&s_file, &lines(&scan_lines, &scan_clocks));
        let out = dir.path().join("replay");
        let path = |p: &Path| p.to_str().unwrap_or_default().to_string();
        let replay = run_vtrack(&[
            "replay",
            "--confirmations",
            &path(&c_file),
            "--scans",
            &path(&s_file),
            "--out",
            &path(&out),
            "--config",
            &path(&config),
        ]);
        assert!(replay.status.success(), "replay failed: {replay:?}");
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
        let verdicts: BTreeMap<String, Value> = read_ndjson(&out.join("verdicts.ndjson"))
            .into_iter()
            .map(|v| {
                (
                    key(&v, &["seller_id", "order_id", "package_id"]),
                    without_revision(v),
                )
            })
            .collect();
        let sellers: BTreeMap<String, Value> = read_ndjson(&out.join("seller_vtr.ndjson"))
            .into_iter()
            .map(|v| {
                (
                    key(&v, &["marketplace", "seller_id", "category", "window_days"]),
                    without(v, "as_of"),
                )
            })
            .collect();
        Fixture {
            dir,
            config,
            cfg,
            verdicts,
            sellers,
            input: [(conf_lines, conf_clocks), (scan_lines, scan_clocks)],
            end,
        }
    }

    /// Writes the workload into the input topics.
    pub fn produce(&self) {
        produce(
            &self.cfg.confirmations_topic,
            &self.input[0].0,
            &self.input[0].1,
        );
        produce(&self.cfg.scans_topic, &self.input[1].0, &self.input[1].1);
    }

    /// Writes the workload into the input topics over about `seconds`, in 20 batches, so
    /// that instances are in the middle of their work for that long.
    pub fn produce_paced(&self, seconds: u64) {
        let [(confirmations, conf_clocks), (scans, scan_clocks)] = &self.input;
        let batches = 20;
        let chunk = |lines: &[(String, String)]| lines.len().div_ceil(batches).max(1);
        let mut c = confirmations.chunks(chunk(confirmations));
        let mut s = scans.chunks(chunk(scans));
        for _ in 0..batches {
            produce(&self.cfg.confirmations_topic, c.next().unwrap_or(&[]), &[]);
            produce(&self.cfg.scans_topic, s.next().unwrap_or(&[]), &[]);
            // Pacing the load, not waiting for anything.
            std::thread::sleep(Duration::from_millis(seconds * 1000 / batches as u64));
        }
        produce(&self.cfg.confirmations_topic, &[], conf_clocks);
        produce(&self.cfg.scans_topic, &[], scan_clocks);
    }

    pub fn spawn(&self, instance: &str) -> (KillOnDrop, std::path::PathBuf) {
        self.spawn_with_env(instance, &[])
    }

    /// [`Fixture::spawn`] with more environment variables.
    pub fn spawn_with_env(
        &self,
        instance: &str,
        env: &[(&str, &str)],
    ) -> (KillOnDrop, std::path::PathBuf) {
        let (child, log) = vtrack_logged_with_env(
            &["run", "--config", self.config.to_str().unwrap_or_default()],
            instance,
            env,
        );
        (KillOnDrop(child), log)
    }

    /// Waits until the committed outputs equal the replay; returns every verdict record.
    pub fn assert_converges(&self, logs: &[&Path]) -> Vec<Record> {
        let (mut verdicts, mut sellers) = (BTreeMap::new(), BTreeMap::new());
        let mut records = Vec::new();
        poll_until(Duration::from_secs(180), || {
            records = consume_all(&[&self.cfg.verdicts_topic], Until::end());
            verdicts = latest(&records);
            sellers = seller_rows(latest(&consume_all(
                &[&self.cfg.seller_vtr_topic],
                Until::end(),
            )));
            verdicts == self.verdicts && sellers == self.sellers
        });
        let tails: String = logs
            .iter()
            .map(|l| {
                let text = std::fs::read_to_string(l).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!("--- {}\n{}\n", l.display(), tail.join("\n"))
            })
            .collect();
        assert!(
            verdicts == self.verdicts,
            "verdicts differ from replay:\n{}\nlogs:\n{tails}",
            first_differences(&self.verdicts, &verdicts)
        );
        assert!(
            sellers == self.sellers,
            "seller rows differ from replay:\n{}\nlogs:\n{tails}",
            first_differences(&self.sellers, &sellers)
        );
        records
    }
}

/// Exactly once, as a reader sees it: each package's revisions are 1, 2, 3, … with no gap
/// and no repeat, and no record repeats the content of the one before it.
pub fn assert_exactly_once(records: &[Record]) {
    let mut last: BTreeMap<String, (u64, Value)> = BTreeMap::new();
    for r in records {
        let v = r.json();
        let revision = v["revision"].as_u64().expect("revision");
        let content = without_revision(v);
        let key = r.key_str();
        match last.get(&key) {
            None => assert_eq!(revision, 1, "{key}: first revision {revision}"),
            Some((prev, prev_content)) => {
                assert_eq!(
                    revision,
                    prev + 1,
                    "{key}: revision {revision} after {prev}"
                );
                assert_ne!(
                    &content, prev_content,
                    "{key}: revision {revision} repeats content"
                );
            }
        }
        last.insert(key, (revision, content));
    }
}

pub fn vtrack_logged_with_env(
    args: &[&str],
    instance: &str,
    env: &[(&str, &str)],
) -> (std::process::Child, std::path::PathBuf) {
    let log = std::env::temp_dir().join(format!("{}.log", unique_name(instance)));
    let file = std::fs::File::create(&log).expect("log file");
    let child = vtrack_command(args)
        .env("VTRACK_INSTANCE_ID", instance)
        .envs(env.iter().copied())
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .expect("spawn vtrack");
    (child, log)
}

pub fn stop_gracefully(child: &mut KillOnDrop) {
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

/// Contract section 6: a seller row is written at most once per key per commit interval. With
/// one instance writing the topic, a transaction's records have consecutive offsets (its
/// commit marker takes the next one), so a key may appear once per run of offsets.
pub fn assert_once_per_transaction(records: &[Record]) {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| (r.partition, r.offset));
    let mut keys: std::collections::BTreeSet<String> = Default::default();
    let mut previous: Option<(i32, i64)> = None;
    for r in sorted {
        if previous != Some((r.partition, r.offset - 1)) {
            keys.clear();
        }
        let key = r.key_str();
        assert!(
            keys.insert(key.clone()),
            "{key} written twice in one transaction (partition {}, offset {})",
            r.partition,
            r.offset
        );
        previous = Some((r.partition, r.offset));
    }
}
