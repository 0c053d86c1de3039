//! The instance's one transactional producer, and the topics it writes.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Writes records inside the open transaction.
pub struct Sink {
    /// The transactional producer.
    pub producer: BaseProducer,
    /// While a task restores its state by re-reading its input, what it would write was
    /// written already: records are dropped.
    pub muted: bool,
    /// The Kafka timestamp of the input record being handled. Internal records carry it on,
    /// so a verdict's arrival latency is measured from the input record that caused it.
    pub arrival: Cell<Option<i64>>,
    /// Records written, per topic.
    produced: Vec<(String, metrics::Counter)>,
}

impl Sink {
    /// A sink writing with `producer` to `topics` (each counted on its own).
    pub fn new(producer: BaseProducer, topics: &[&str]) -> Sink {
        let produced = topics
            .iter()
            .map(|t| {
                let c =
                    metrics::counter!(crate::metrics::RECORDS_PRODUCED, "topic" => t.to_string());
                (t.to_string(), c)
            })
            .collect();
        Sink {
            producer,
            muted: false,
            arrival: Cell::new(None),
            produced,
        }
    }

    /// Sends one record of an internal topic, stamped with the arrival time of the input
    /// record being handled.
    pub fn send_internal(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), KafkaError> {
        self.write(
            topic,
            partition,
            key,
            Some(payload),
            None,
            self.arrival.get(),
        )
    }

    /// Sends one output record (timestamped now).
    pub fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
    ) -> Result<(), KafkaError> {
        self.write(topic, partition, key, payload, headers, None)
    }

    /// Writes an input message as it came (key, value and headers, in order) to `topic`, with
    /// headers naming where it came from (`vtrack.source.topic`, `vtrack.source.partition`,
    /// `vtrack.source.offset`) and `why` (a header's name and value): dead letters and late
    /// events.
    pub fn send_as_it_came<'h>(
        &self,
        topic: &str,
        came: AsItCame<'_, impl IntoIterator<Item = Header<'h, &'h [u8]>>>,
        why: (&str, &str),
    ) -> Result<(), KafkaError> {
        let h = came
            .headers
            .into_iter()
            .fold(OwnedHeaders::new(), |h, x| h.insert(x));
        let (p, o) = (came.partition.to_string(), came.offset.to_string());
        let h = add_headers(
            h,
            &[
                ("vtrack.source.topic", came.topic),
                ("vtrack.source.partition", &p),
                ("vtrack.source.offset", &o),
                why,
            ],
        );
        match self.send(topic, None, came.key, came.value, Some(h.clone())) {
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)) => {
                // The message with vtrack's headers is more than the producer may write: keep
                // where it came from and why, without its value (it stays in its input topic
                // for as long as that topic keeps it).
                let size = came.value.map_or(0, <[u8]>::len);
                tracing::error!(
                    topic = came.topic,
                    partition = came.partition,
                    offset = came.offset,
                    size,
                    to = topic,
                    "message too large to copy: written without its value"
                );
                let dropped = format!("{size} bytes, more than the producer's message.max.bytes");
                let h = add_headers(h, &[("vtrack.value.dropped", &dropped)]);
                self.send(topic, None, came.key, None, Some(h))
            }
            other => other,
        }
    }

    /// Sends one record; waits for room in the local queue when it is full.
    fn write(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
        timestamp: Option<i64>,
    ) -> Result<(), KafkaError> {
        if self.muted {
            return Ok(());
        }
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        record.timestamp = timestamp;
        record.partition = partition;
        record.key = key;
        record.payload = payload;
        record.headers = headers;
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    if let Some((_, c)) = self.produced.iter().find(|(t, _)| t == topic) {
                        c.increment(1);
                    }
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    self.producer.poll(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Serves delivery reports without waiting.
    pub fn poll(&self) {
        self.producer.poll(Duration::ZERO);
    }

    /// Waits until every record sent has been delivered (or failed), serving delivery
    /// reports as they come, for at most `timeout`; false when some are still in flight.
    /// rust-rdkafka's own `flush` serves them in polls of up to 100 ms that it waits out in
    /// full, which made every transaction commit take about 100 ms; and its `poll` with a
    /// timeout under a few milliseconds spins. So: ask librdkafka to send what lingers (a
    /// flush without waiting), serve what is there, and pause briefly.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            // Times out at once by design; it wakes the brokers to send without lingering.
            let _ = self.producer.flush(Duration::ZERO);
            self.poll();
            if self.producer.in_flight_count() == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(FLUSH_PAUSE);
        }
    }
}

/// How long [`Sink::flush`] pauses between looks at what is still in flight.
const FLUSH_PAUSE: Duration = Duration::from_micros(250);

/// An input message as it came, for [`Sink::send_as_it_came`].
pub struct AsItCame<'a, H> {
    /// Its input topic.
    pub topic: &'a str,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key.
    pub key: Option<&'a [u8]>,
    /// Its value.
    pub value: Option<&'a [u8]>,
    /// Its headers, in order.
    pub headers: H,
}

/// Headers from name/value pairs.
pub fn headers(pairs: &[(&str, &str)]) -> OwnedHeaders {
    add_headers(OwnedHeaders::new(), pairs)
}

/// `headers` with `pairs` added after the ones it holds.
pub fn add_headers(headers: OwnedHeaders, pairs: &[(&str, &str)]) -> OwnedHeaders {
    pairs.iter().fold(headers, |h, (k, v)| {
        h.insert(Header {
            key: k,
            value: Some(v.as_bytes()),
        })
    })
}

/// True for errors after which the transaction can be aborted and the work retried.
pub fn is_abortable(e: &KafkaError) -> bool {
    match e {
        KafkaError::Transaction(t) => t.txn_requires_abort() && !t.is_fatal(),
        _ => false,
    }
}
