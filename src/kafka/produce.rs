//! `vtrack generate --kafka`: writes a generated workload into the input topics.
//!
//! Confirmations go to `kafka.confirmations_topic` keyed by order id, scans to
//! `kafka.scans_topic` keyed by tracking ID (the contract does not rely on input keys; these
//! keep an order's or a tracking ID's events in one partition, in order). The producer is
//! plain (not transactional) and idempotent, partitions with `murmur2_random` like Java
//! clients, and is flushed at the end: when [`produce_workload`] returns `Ok`, every event
//! has been acknowledged by the brokers. Message timestamps are the producer's clock, not
//! the event time (a broker rejects timestamps far in the future and expires old ones).

use crate::codec::{self, Format};
use crate::config::KafkaConfig;
use crate::event::Event;
use crate::generate::{generate, GenerateOptions, GenerateStats};
use crate::kafka::client::{client_config, log_client_config};
use crate::kafka::topics::{ensure_plan, TopicError, TopicPlan};
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How long the final flush may take (librdkafka fails undeliverable messages after
/// `message.timeout.ms`, 5 minutes by default, so it ends before this).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(600);

/// Delivery reports are served every this many events.
const POLL_EVERY: u64 = 256;

/// Errors writing a workload to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The input topics are missing (and may not be created) or could not be created.
    #[error(transparent)]
    Topics(#[from] TopicError),
    /// The producer could not be created (bad `kafka.properties`?).
    #[error("cannot create a Kafka producer: {0}")]
    Client(#[source] KafkaError),
    /// A message could not be enqueued.
    #[error("cannot send to topic `{topic}`: {source}")]
    Send {
        /// The topic.
        topic: String,
        /// The client error.
        #[source]
        source: KafkaError,
    },
    /// Brokers did not acknowledge some messages.
    #[error("{failed} event(s) were not delivered; first error: {first}")]
    Delivery {
        /// Messages that failed.
        failed: u64,
        /// The first failure.
        first: String,
    },
    /// The final flush timed out.
    #[error("flushing the producer did not finish within {} s: {source}", FLUSH_TIMEOUT.as_secs())]
    Flush {
        /// The client error.
        #[source]
        source: KafkaError,
    },
}

/// Counts delivery reports.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| format!("{error} (topic {})", message.topic()));
                }
            }
        }
    }
}

impl Deliveries {
    fn failure(&self) -> Option<ProduceError> {
        let failed = self.failed.load(Ordering::Relaxed);
        (failed > 0).then(|| ProduceError::Delivery {
            failed,
            first: self
                .first_error
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .unwrap_or_default(),
        })
    }
}

/// Writes the workload `opts` describes into `cfg`'s input topics (after making sure they
/// exist: [`TopicPlan::inputs`], created when missing and `kafka.create_topics`), encoded as
/// `format`, and waits until every event is acknowledged. Returns what was generated: on
/// `Ok`, exactly `confirmations` events are in the confirmations topic and `scans` in the
/// scans topic (duplicates included). Stops at the first delivery failure. With `rate`, at
/// most that many events are sent per second.
pub fn produce_workload(
    cfg: &KafkaConfig,
    opts: &GenerateOptions,
    format: Format,
    rate: Option<f64>,
) -> Result<GenerateStats, ProduceError> {
    ensure_plan(cfg, &TopicPlan::inputs(cfg))?;
    let mut config = client_config(cfg);
    // A plain producer: a transactional.id among the shared properties is the processor's.
    config
        .remove("transactional.id")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random");
    log_client_config("generate producer", &config);
    let producer: BaseProducer<Deliveries> = config
        .create_with_context(Deliveries::default())
        .map_err(ProduceError::Client)?;

    let mut generator = generate(opts);
    let mut sent: u64 = 0;
    let started = std::time::Instant::now();
    for event in generator.by_ref() {
        let (topic, key, payload): (&str, &str, Vec<u8>) = match &event {
            Event::Confirmation(c) => (
                &cfg.confirmations_topic,
                &c.order_id,
                match format {
                    Format::Json => codec::confirmation_to_json(c).into_bytes(),
                    Format::Protobuf => codec::confirmation_to_proto(c),
                },
            ),
            Event::Scan(s) => (
                &cfg.scans_topic,
                &s.tracking_id,
                match format {
                    Format::Json => codec::scan_to_json(s).into_bytes(),
                    Format::Protobuf => codec::scan_to_proto(s),
                },
            ),
        };
        send(&producer, topic, key.as_bytes(), &payload)?;
        sent += 1;
        if let Some(rate) = rate.filter(|r| *r > 0.0 && sent.is_multiple_of(100)) {
            // Pacing: wait until the wall clock catches up with the events sent.
            let due = Duration::from_secs_f64(sent as f64 / rate);
            while let Some(ahead) = due.checked_sub(started.elapsed()) {
                producer.poll(ahead);
            }
        }
        if sent.is_multiple_of(POLL_EVERY) {
            producer.poll(Duration::ZERO);
            if let Some(e) = producer.context().failure() {
                return Err(e);
            }
        }
    }
    producer
        .flush(FLUSH_TIMEOUT)
        .map_err(|source| ProduceError::Flush { source })?;
    if let Some(e) = producer.context().failure() {
        return Err(e);
    }
    let delivered = producer.context().delivered.load(Ordering::Relaxed);
    if delivered != sent {
        return Err(ProduceError::Delivery {
            failed: sent.saturating_sub(delivered),
            first: format!("only {delivered} of {sent} events were acknowledged"),
        });
    }
    Ok(generator.stats().clone())
}

/// Enqueues one message, serving delivery reports while librdkafka's queue is full.
fn send(
    producer: &BaseProducer<Deliveries>,
    topic: &str,
    key: &[u8],
    payload: &[u8],
) -> Result<(), ProduceError> {
    let mut record = BaseRecord::to(topic).key(key).payload(payload);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(100));
                if let Some(e) = producer.context().failure() {
                    return Err(e);
                }
            }
            Err((source, _)) => {
                return Err(ProduceError::Send {
                    topic: topic.to_string(),
                    source,
                })
            }
        }
    }
}
