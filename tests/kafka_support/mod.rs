//! Harness for integration tests against a real Kafka broker (in the spirit of
//! rust-rdkafka's `tests/utils.rs`).
//!
//! * The broker is `VTRACK_TEST_BOOTSTRAP` (`scripts/test.sh` starts one and sets it). A
//!   test starts with `let bootstrap = kafka_support::require_broker!();`, which returns
//!   early and prints `skipped: no broker` when the variable is unset.
//! * Every topic, group and application id gets a random suffix ([`unique_name`]), so tests
//!   run in parallel and again on the same broker without seeing each other's data.
//! * Nothing waits with a bare sleep: [`poll_until`] polls a condition against a deadline,
//!   and [`consume_all`] reads until a count is reached *and* every partition is at its end,
//!   or until an idle timeout.
//!
//! Use it with `mod kafka_support;` in the test file.
#![allow(dead_code, unused_macros, unused_imports)]

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};
use vtrack::config::{Config, KafkaConfig};

pub mod fixture;

/// The environment variable naming the test broker.
pub const BOOTSTRAP_VAR: &str = "VTRACK_TEST_BOOTSTRAP";

/// Default deadline of the waits below.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// The test broker's bootstrap address (`VTRACK_TEST_BOOTSTRAP`), if one is configured.
pub fn bootstrap() -> Option<String> {
    std::env::var(BOOTSTRAP_VAR)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Prints (uncaptured, so it shows in every test run) that the current test was skipped.
pub fn print_skipped() {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let line = format!(
        "skipped: no broker: {test} (set {BOOTSTRAP_VAR}, e.g. 127.0.0.1:9092; scripts/test.sh does)\n"
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The test broker's bootstrap address; without one, prints `skipped: no broker` and
/// returns from the calling test.
macro_rules! require_broker {
    () => {
        match crate::kafka_support::bootstrap() {
            Some(b) => b,
            None => {
                crate::kafka_support::print_skipped();
                return;
            }
        }
    };
}
pub(crate) use require_broker;

/// The test broker's address; panics without one (use [`require_broker!`] first).
pub fn broker() -> String {
    bootstrap().unwrap_or_else(|| panic!("{BOOTSTRAP_VAR} is not set"))
}

/// `prefix-` followed by 12 random hex digits: a fresh topic, group or application id.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS per process; mix in time, pid and a counter.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{prefix}-{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Polls `condition` every 50 ms until it holds (true) or `timeout` passes (false).
pub fn poll_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        // The interval of a poll against state outside the process (a topic, a log file);
        // what is awaited is the condition, never the sleep.
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client configuration for the test broker.
pub fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", broker());
    c
}

/// An admin client for the test broker.
pub fn admin() -> AdminClient<DefaultClientContext> {
    client_config().create().expect("admin client")
}

/// Runs a future to completion on this thread (the rdkafka admin futures complete from
/// the client's own thread).
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

fn admin_options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(30)))
        .operation_timeout(Some(Duration::from_secs(30)))
}

/// Creates `name` with `partitions` partitions (replication 1, broker defaults) and waits
/// until every partition has a leader.
pub fn create_topic(name: &str, partitions: i32) {
    create_topic_with(name, partitions, &[]);
}

/// Creates `name` with `partitions` partitions and topic `configs` (e.g.
/// `("cleanup.policy", "compact")`), and waits until every partition has a leader.
pub fn create_topic_with(name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let topic = NewTopic {
        name,
        num_partitions: partitions,
        replication: TopicReplication::Fixed(1),
        config: configs.to_vec(),
    };
    let results =
        block_on(admin().create_topics([&topic], &admin_options())).expect("create_topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}"));
    }
    let ready = poll_until(DEFAULT_DEADLINE, || {
        topic_partitions(name).is_some_and(|n| n == partitions)
    });
    assert!(
        ready,
        "topic {name} did not show up with {partitions} partitions"
    );
}

/// Partition counts of every topic of the cluster whose partitions all have a leader.
fn ready_topics() -> HashMap<String, i32> {
    let consumer: BaseConsumer = client_config().create().expect("consumer");
    // All topics: asking for one by name could auto-create it.
    let Ok(metadata) = consumer.fetch_metadata(None, Duration::from_secs(10)) else {
        return HashMap::new();
    };
    metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none() && t.partitions().iter().all(|p| p.leader() >= 0))
        .map(|t| (t.name().to_string(), t.partitions().len() as i32))
        .collect()
}

/// The partition count of `topic`, or `None` when it does not exist (or is not ready).
pub fn topic_partitions(topic: &str) -> Option<i32> {
    ready_topics().get(topic).copied()
}

/// How many records of `topics` consumer group `group` has not committed yet: the sum over
/// their partitions of the end offset less the group's committed offset (0 once the group has
/// handled and committed everything, transaction markers included).
pub fn group_lag(group: &str, topics: &[&str]) -> i64 {
    let consumer: BaseConsumer = client_config()
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for topic in topics {
        let partitions = topic_partitions(topic).unwrap_or_else(|| panic!("no topic {topic}"));
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|e| {
            let (_, high) = consumer
                .fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(10))
                .expect("watermarks");
            high - e.offset().to_raw().filter(|o| *o >= 0).unwrap_or(0)
        })
        .sum()
}

/// Whether `topic` exists (and is ready).
pub fn topic_exists(topic: &str) -> bool {
    topic_partitions(topic).is_some()
}

/// The configuration of `topic` as the broker describes it (every entry with a value).
pub fn topic_config(topic: &str) -> BTreeMap<String, String> {
    let results =
        block_on(admin().describe_configs(&[ResourceSpecifier::Topic(topic)], &admin_options()))
            .expect("describe_configs");
    let resource = results
        .into_iter()
        .next()
        .expect("one result")
        .unwrap_or_else(|e| panic!("cannot describe topic {topic}: {e}"));
    resource
        .entries
        .into_iter()
        .filter_map(|e| e.value.map(|v| (e.name, v)))
        .collect()
}

/// Delivery reports of the harness's producers.
#[derive(Default)]
struct Failures(Mutex<Vec<String>>);

impl ClientContext for Failures {}

impl ProducerContext for Failures {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = result {
            if let Ok(mut f) = self.0.lock() {
                f.push(format!("{e} (topic {})", m.topic()));
            }
        }
    }
}

/// Produces `records` (key, payload) to `topic` with an idempotent producer
/// (`murmur2_random` partitioner, like vtrack) and waits until all are acknowledged.
pub fn produce_all<K: AsRef<[u8]>, V: AsRef<[u8]>>(topic: &str, records: &[(K, V)]) {
    let with_headers: Vec<WithHeaders<'_>> = records
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref(), &[][..]))
        .collect();
    produce_with_headers(topic, &with_headers);
}

/// A record to produce: key, payload, headers.
pub type WithHeaders<'a> = (&'a [u8], &'a [u8], &'a [(&'a str, &'a str)]);

/// [`produce_all`] for records with headers.
pub fn produce_with_headers(topic: &str, records: &[WithHeaders<'_>]) {
    let producer: BaseProducer<Failures> = client_config()
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .create_with_context(Failures::default())
        .expect("producer");
    for &(key, value, headers) in records {
        let mut record = BaseRecord::to(topic).key(key).payload(value);
        if !headers.is_empty() {
            let h = headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                })
            });
            record = record.headers(h);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(_), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => panic!("cannot send to {topic}: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(Duration::from_secs(60))
        .expect("flush the test producer");
    let failures = producer.context().0.lock().expect("lock").clone();
    assert!(failures.is_empty(), "delivery failed: {failures:?}");
}

/// Produces one JSON message (`value` is the JSON text) with `key` to `topic`.
pub fn produce_json(topic: &str, key: &str, value: &str) {
    produce_all(topic, &[(key, value)]);
}

/// A consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key (None for a null key).
    pub key: Option<Vec<u8>>,
    /// Payload (None for a tombstone).
    pub payload: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Record {
    /// The key as UTF-8 (lossy; "" when null).
    pub fn key_str(&self) -> String {
        String::from_utf8_lossy(self.key.as_deref().unwrap_or_default()).into_owned()
    }

    /// The payload as UTF-8 (lossy; "" for a tombstone).
    pub fn payload_str(&self) -> String {
        String::from_utf8_lossy(self.payload.as_deref().unwrap_or_default()).into_owned()
    }

    /// The payload parsed as JSON; panics when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(self.payload.as_deref().unwrap_or_default()).unwrap_or_else(|e| {
            panic!(
                "record {}/{}@{} is not JSON: {e}",
                self.topic, self.partition, self.offset
            )
        })
    }

    /// The value of the first header named `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// When [`consume_all`] stops.
#[derive(Debug, Clone, Copy)]
pub struct Until {
    /// Stop once this many records were read and every partition is at its end (so records
    /// beyond the count that are already committed are returned too).
    pub count: Option<usize>,
    /// Stop once no record arrived for this long.
    pub idle: Option<Duration>,
    /// Stop at this age in any case (returning what was read).
    pub deadline: Duration,
}

impl Until {
    /// At least `n` records and every partition at its end, or the default deadline.
    pub fn count(n: usize) -> Until {
        Until {
            count: Some(n),
            idle: None,
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// Everything committed now: every partition at its end.
    pub fn end() -> Until {
        Until::count(0)
    }

    /// No record for `idle` (or the default deadline).
    pub fn idle(idle: Duration) -> Until {
        Until {
            count: None,
            idle: Some(idle),
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// The same, with another overall deadline.
    pub fn within(self, deadline: Duration) -> Until {
        Until { deadline, ..self }
    }
}

/// Reads `topics` from the beginning with `isolation.level=read_committed` (no consumer
/// group: every partition is assigned), until `until` says stop. Waits (within the
/// deadline) for topics that do not exist yet. Records come in arrival order.
pub fn consume_all(topics: &[&str], until: Until) -> Vec<Record> {
    let started = Instant::now();
    let deadline = started + until.deadline;
    // One consumer per topic: a partition-EOF event names the partition but not the topic.
    let mut consumers: Vec<(String, BaseConsumer)> = Vec::new();
    let mut at_end: HashMap<(String, i32), bool> = HashMap::new();
    for topic in topics {
        let mut partitions = None;
        poll_until(deadline.saturating_duration_since(Instant::now()), || {
            partitions = topic_partitions(topic);
            partitions.is_some()
        });
        let Some(partitions) = partitions else {
            eprintln!("consume_all: topic {topic} does not exist");
            continue;
        };
        let consumer: BaseConsumer = client_config()
            .set("group.id", unique_name("test-reader"))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("isolation.level", "read_committed")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("partition offset");
            at_end.insert((topic.to_string(), p), false);
        }
        consumer.assign(&tpl).expect("assign");
        consumers.push((topic.to_string(), consumer));
    }
    let mut records = Vec::new();
    let mut last_record = Instant::now();
    loop {
        let mut got = false;
        for (topic, consumer) in &consumers {
            // Drain what is buffered, then move to the next topic.
            while let Some(result) = consumer.poll(Duration::from_millis(20)) {
                match result {
                    Ok(m) => {
                        at_end.insert((topic.clone(), m.partition()), false);
                        records.push(Record {
                            topic: m.topic().to_string(),
                            partition: m.partition(),
                            offset: m.offset(),
                            key: m.key().map(<[u8]>::to_vec),
                            payload: m.payload().map(<[u8]>::to_vec),
                            headers: m
                                .headers()
                                .map(|h| {
                                    h.iter()
                                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                                        .collect()
                                })
                                .unwrap_or_default(),
                        });
                        got = true;
                    }
                    Err(KafkaError::PartitionEOF(p)) => {
                        at_end.insert((topic.clone(), p), true);
                    }
                    Err(e) => eprintln!("consume_all: {topic}: {e}"),
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
        let now = Instant::now();
        if got {
            last_record = now;
        }
        let all_at_end = at_end.values().all(|&e| e);
        if let Some(n) = until.count {
            if records.len() >= n && all_at_end {
                return records;
            }
        }
        if let Some(idle) = until.idle {
            if now.duration_since(last_record) >= idle {
                return records;
            }
        }
        if now >= deadline {
            eprintln!(
                "consume_all: deadline of {:?} reached with {} records",
                until.deadline,
                records.len()
            );
            return records;
        }
    }
}

/// A `KafkaConfig` for the test broker with a unique application id and unique topic
/// names (4 internal partitions, replication 1, topics created on demand).
pub fn kafka_config() -> KafkaConfig {
    let app = unique_name("vt");
    KafkaConfig {
        bootstrap_servers: broker(),
        application_id: app.clone(),
        instance_id: String::new(),
        confirmations_topic: format!("{app}-in-confirmations"),
        scans_topic: format!("{app}-in-scans"),
        verdicts_topic: format!("{app}-out-verdicts"),
        seller_vtr_topic: format!("{app}-out-seller-vtr"),
        late_confirmations_topic: format!("{app}-out-late-confirmations"),
        dead_letter_topic: format!("{app}-out-dead-letters"),
        late_events_topic: format!("{app}-out-late-events"),
        internal_partitions: 4,
        replication_factor: 1,
        create_topics: true,
        ..KafkaConfig::default()
    }
}

/// Writes `dir/vtrack.toml`: the `[kafka]` section of a fresh [`kafka_config`] (unique
/// application id and topics), `[http] bind` on an ephemeral loopback port, then `overrides`, each `("section.key", toml_value)`, e.g.
/// `("kafka.internal_partitions", "3")`, `("engine.horizon", "\"5d\"")`; a key
/// `kafka.properties.<name>` sets a librdkafka property to the plain string value. Read it
/// back with [`load_config`].
pub fn write_config(dir: &Path, overrides: &[(&str, &str)]) -> PathBuf {
    let k = kafka_config();
    let mut kafka = toml::Table::new();
    let strings = [
        ("bootstrap_servers", &k.bootstrap_servers),
        ("application_id", &k.application_id),
        ("confirmations_topic", &k.confirmations_topic),
        ("scans_topic", &k.scans_topic),
        ("verdicts_topic", &k.verdicts_topic),
        ("seller_vtr_topic", &k.seller_vtr_topic),
        ("late_confirmations_topic", &k.late_confirmations_topic),
        ("dead_letter_topic", &k.dead_letter_topic),
        ("late_events_topic", &k.late_events_topic),
    ];
    for (key, value) in strings {
        kafka.insert(key.into(), toml::Value::String(value.clone()));
    }
    kafka.insert(
        "internal_partitions".into(),
        toml::Value::Integer(k.internal_partitions.into()),
    );
    kafka.insert(
        "replication_factor".into(),
        toml::Value::Integer(k.replication_factor.into()),
    );
    kafka.insert(
        "create_topics".into(),
        toml::Value::Boolean(k.create_topics),
    );
    let mut root = toml::Table::new();
    root.insert("kafka".into(), toml::Value::Table(kafka));
    // Tests run instances side by side: each listens on a port of its own.
    let mut http = toml::Table::new();
    http.insert("bind".into(), toml::Value::String("127.0.0.1:0".into()));
    root.insert("http".into(), toml::Value::Table(http));
    for (key, raw) in overrides {
        let (section, rest) = key
            .split_once('.')
            .unwrap_or_else(|| panic!("override `{key}` is not section.key"));
        let section = root
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section) = section else {
            unreachable!("sections are tables")
        };
        if let Some(property) = rest.strip_prefix("properties.") {
            let props = section
                .entry("properties")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(props) = props {
                props.insert(property.into(), toml::Value::String(raw.to_string()));
            }
            continue;
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| panic!("override {key} = {raw} is not a TOML value"));
        section.insert(rest.into(), value);
    }
    std::fs::create_dir_all(dir).expect("config dir");
    let path = dir.join("vtrack.toml");
    std::fs::write(&path, toml::to_string(&root).expect("TOML")).expect("write vtrack.toml");
    path
}

/// Loads a configuration file as `vtrack` would (without `VTRACK_…` overrides).
pub fn load_config(path: &Path) -> Config {
    let text = std::fs::read_to_string(path).expect("read config");
    Config::from_toml_with_env(&text, std::iter::empty()).expect("valid config")
}

/// The `vtrack` binary under test, with `VTRACK_CONFIG` cleared.
pub fn vtrack_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vtrack"));
    cmd.args(args)
        .env_remove("VTRACK_CONFIG")
        .stdin(Stdio::null());
    cmd
}

/// Starts `vtrack args…` in the background, its stdout and stderr going to a fresh log file
/// in the temp dir (the path is printed; see [`spawn_vtrack_logged`] to read it).
pub fn spawn_vtrack(args: &[&str]) -> Child {
    spawn_vtrack_logged(args).0
}

/// [`spawn_vtrack`], also returning the log file.
pub fn spawn_vtrack_logged(args: &[&str]) -> (Child, PathBuf) {
    let dir = std::env::temp_dir().join("vtrack-test-logs");
    std::fs::create_dir_all(&dir).expect("log dir");
    let log = dir.join(format!("{}.log", unique_name("vtrack")));
    let file = std::fs::File::create(&log).expect("log file");
    let child = vtrack_command(args)
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .expect("spawn vtrack");
    println!(
        "spawned vtrack {} (pid {}), log {}",
        args.join(" "),
        child.id(),
        log.display()
    );
    (child, log)
}

/// Runs `vtrack args…` to completion and returns its output.
pub fn run_vtrack(args: &[&str]) -> Output {
    vtrack_command(args).output().expect("run vtrack")
}

/// Kills (SIGKILL) and reaps the child when dropped, so a failing test leaves no process.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
