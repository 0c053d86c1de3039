//! `vtrack run`: the consumer-group processor.
//!
//! One blocking poll loop per instance (never on an async task), one consumer subscribed to
//! the inputs and the three internal topics, one transactional producer. Every
//! `commit_interval`, the outputs, the internal records and the consumed offsets of the
//! interval are committed in one Kafka transaction, so a `read_committed` reader sees each
//! result exactly once. Rebalances commit before partitions are revoked.

use super::catchup::{read_to_ends, records_before, Read};
use super::directory::{Directory, Member};
use super::meters::Meters;
use super::recovery::{
    classify, transactional_producer, FailureBudget, FaultInjection, TxnFailure,
};
use super::sink::Sink;
use super::snapshot::Forced;
use super::tasks::{
    order_key, order_record, tracking_record, Ctx, OrderTask, SellerTask, TaskError, TrackingTask,
};
use super::topology::{TopicKind, Topology};
use super::watermark::SourceClock;
use super::wire::{encode, InputMessage, OrderRecord, Source, TrackingRecord};
use crate::carriers::CarrierRegistry;
use crate::codec::{decode_confirmation, decode_scan};
use crate::config::Config;
use crate::engine::intern::Interner;
use crate::event::Millis;
use crate::http::health::Health;
use crate::http::HttpServer;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::producer::Producer;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Message, Offset, Statistics, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// How long a transaction call may block.
pub(super) const TXN_TIMEOUT: Duration = Duration::from_secs(30);
/// How often input partitions announce their event time.
const ANNOUNCE_EVERY: Duration = Duration::from_millis(200);
/// How often the state gauges are refreshed (they walk the state).
const GAUGES_EVERY: Duration = Duration::from_secs(10);

/// Errors that stop the processor.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A Kafka client call failed.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// A task failed.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The configuration or the carriers file is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A topic is missing or mismatched.
    #[error("topics: {0}")]
    Topics(String),
    /// A rebalance callback failed; the loop stops rather than risk duplicates.
    #[error("rebalance: {0}")]
    Rebalance(String),
    /// A task's state could not be restored.
    #[error("restore: {0}")]
    Restore(String),
    /// A snapshot could not be written.
    #[error(transparent)]
    Snapshot(#[from] super::snapshot::SnapshotError),
    /// The HTTP endpoint could not start.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
}

/// How long a restarted instance waits for its input partitions' last records (to seed their
/// clocks) before going on without them.
const LAST_RECORD_WAIT: Duration = Duration::from_secs(5);

/// The state of one instance: its tasks and the clocks of its input partitions.
pub struct Worker {
    pub(super) config: Config,
    carriers: Arc<CarrierRegistry>,
    pub(super) syms: Interner,
    pub(super) sink: Sink,
    pub(super) topo: Topology,
    pub(super) orders: BTreeMap<i32, OrderTask>,
    pub(super) tracking: BTreeMap<i32, TrackingTask>,
    pub(super) sellers: BTreeMap<i32, SellerTask>,
    inputs: BTreeMap<Source, SourceClock>,
    announced: BTreeMap<Source, Millis>,
    last_announce: Instant,
    /// When this instance last wrote its instance directory entry.
    last_membership: Instant,
    started: Instant,
    failure: Option<String>,
    stats: Stats,
    pub(super) meters: Meters,
    health: Arc<Health>,
    /// Tasks whose snapshot the next commit writes whether due or not.
    forced_snapshots: Forced,
    /// Input records before these `(topic, partition, offset)`s are purged once the open
    /// transaction (holding the snapshots at those offsets) commits.
    pub(super) to_purge: Vec<(String, i32, i64)>,
    purger: Option<super::purge::Purger>,
    /// This instance's id and query URL, for the instance directory.
    instance_id: String,
    url: String,
}

/// What an instance did since start, logged periodically.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    input_events: u64,
    dead_letters: u64,
    order_records: u64,
    tracking_records: u64,
    seller_records: u64,
    commits: u64,
    commit_millis: u64,
    offsets_millis: u64,
    /// Records handled, of every topic.
    records: u64,
    /// Milliseconds from start to the last record handled (updated every 256 records).
    last_record_ms: u64,
}

/// Milliseconds since the epoch, from the wall clock (the driver's only clock).
pub(super) fn wall_now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

macro_rules! ctx {
    ($w:expr) => {
        Ctx {
            syms: &mut $w.syms,
            carriers: &$w.carriers,
            sink: &$w.sink,
            topo: &$w.topo,
            engine: &$w.config.engine,
            format: $w.config.kafka.output_format,
            meters: &mut $w.meters,
        }
    };
}

impl Worker {
    /// What a task needs from this instance.
    pub(super) fn ctx(&mut self) -> Ctx<'_> {
        ctx!(self)
    }

    /// Routes one consumed message to ingest or to its task; `arrival` is its Kafka timestamp
    /// (none while restoring).
    fn handle(&mut self, msg: &BorrowedMessage<'_>, arrival: Option<i64>) -> Result<(), RunError> {
        let (topic, partition, offset) = (msg.topic(), msg.partition(), msg.offset());
        self.stats.records += 1;
        self.sink.arrival.set(arrival);
        if self.stats.records.is_multiple_of(256) {
            self.stats.last_record_ms = self.started.elapsed().as_millis() as u64;
        }
        let payload = msg.payload().unwrap_or_default();
        let Some(kind) = self.topo.kind(topic) else {
            return Ok(());
        };
        if !self.sink.muted {
            self.meters.consumed(kind);
        }
        let mut ctx = ctx!(self);
        let stats = &mut self.stats;
        let result = match kind {
            TopicKind::Confirmations | TopicKind::Scans => return self.ingest(kind, msg),
            TopicKind::OrderEvents => {
                stats.order_records += 1;
                self.orders
                    .get_mut(&partition)
                    .map_or(Ok(()), |t| t.handle(payload, &mut ctx))
            }
            TopicKind::TrackingEvents => {
                stats.tracking_records += 1;
                self.tracking
                    .get_mut(&partition)
                    .map_or(Ok(()), |t| t.handle(payload, &mut ctx))
            }
            TopicKind::SellerEvents => {
                stats.seller_records += 1;
                self.sellers
                    .get_mut(&partition)
                    .map_or(Ok(()), |t| t.handle(payload, &mut ctx))
            }
        };
        match result {
            Err(TaskError::Wire(e)) => {
                warn!(topic, partition, offset, error = %e, "internal record skipped");
                Ok(())
            }
            other => other.map_err(RunError::from),
        }
    }

    /// Handles what one poll returned, then commits when `commit` says so.
    fn step<C: ConsumerContext>(
        &mut self,
        polled: Option<rdkafka::error::KafkaResult<rdkafka::message::BorrowedMessage<'_>>>,
        consumer: &BaseConsumer<C>,
        commit: bool,
    ) -> Result<(), RunError> {
        if let Some(result) = polled {
            let msg = result?;
            self.handle(&msg, msg.timestamp().to_millis())?;
        }
        self.health.beat();
        if let Some(f) = self.failure.take() {
            return Err(RunError::Rebalance(f));
        }
        self.sink.poll();
        if commit {
            self.commit(consumer)?;
        }
        Ok(())
    }

    /// Decodes and validates an input event, then sends it to its stage's internal topic.
    fn ingest(&mut self, kind: TopicKind, msg: &BorrowedMessage<'_>) -> Result<(), RunError> {
        let (partition, payload) = (msg.partition(), msg.payload().unwrap_or_default());
        let wall = wall_now();
        self.stats.input_events += 1;
        let is_scans = kind == TopicKind::Scans;
        let decoded = if is_scans {
            decode_scan(payload).map(|s| (s.scanned_at, None, Some(s)))
        } else {
            decode_confirmation(payload).map(|c| (c.confirmed_at, Some(c), None))
        };
        let (time, confirmation, scan) = match decoded {
            Ok(d) => d,
            Err(e) => {
                let (kind, why) = (e.kind(), e.to_string());
                return self.dead_letter(msg, kind, &why);
            }
        };
        let skew = self.config.kafka.max_future_skew;
        if time > wall.saturating_add(skew) {
            let why = format!(
                "event time {} lies more than max_future_skew ahead of the wall clock",
                crate::timestamp::format_rfc3339(time)
            );
            return self.dead_letter(msg, super::meters::FUTURE_TIME, &why);
        }
        let source = if is_scans {
            Source::Scans(partition)
        } else {
            Source::Confirmations(partition)
        };
        self.inputs
            .entry(source)
            .or_insert_with(|| SourceClock::new(wall))
            .observe(time, wall, self.config.kafka.idle_source_after);
        if let Some(c) = confirmation {
            let key = order_key(&c.seller_id, &c.order_id);
            let record = order_record(c, input_message(msg));
            let sent = self.sink.send_internal(
                &self.topo.order_events,
                None,
                Some(key.as_bytes()),
                &record,
            );
            return self.sent_or_too_large(msg, sent, record.len());
        }
        if let Some(s) = scan {
            let key = match crate::tracking_id::normalize(&s.tracking_id) {
                crate::tracking_id::TrackingId::Normalized(id) => id.into_owned(),
                _ => {
                    return self.dead_letter(
                        msg,
                        "invalid_field",
                        "field `tracking_id`: not well formed",
                    )
                }
            };
            let record = tracking_record(s, input_message(msg));
            let sent = self.sink.send_internal(
                &self.topo.tracking_events,
                None,
                Some(key.as_bytes()),
                &record,
            );
            return self.sent_or_too_large(msg, sent, record.len());
        }
        Ok(())
    }

    /// An input event whose internal record the producer refuses as too large is bad input:
    /// it goes to the dead-letter topic, and processing goes on (retrying would refuse it
    /// again on every restart).
    fn sent_or_too_large(
        &mut self,
        msg: &BorrowedMessage<'_>,
        sent: Result<(), KafkaError>,
        record_bytes: usize,
    ) -> Result<(), RunError> {
        match sent {
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)) => {
                let why = format!(
                    "too large: its internal record (the message and its decoded fields) takes \
                     {record_bytes} bytes, more than the producer's message.max.bytes"
                );
                self.dead_letter(msg, super::meters::TOO_LARGE, &why)
            }
            other => other.map_err(RunError::from),
        }
    }

    /// Sends a bad input message to the dead-letter topic as it came (key, value and headers),
    /// with headers naming its source and the error.
    fn dead_letter(
        &mut self,
        msg: &BorrowedMessage<'_>,
        reason: &'static str,
        error: &str,
    ) -> Result<(), RunError> {
        let (topic, partition, offset) = (msg.topic(), msg.partition(), msg.offset());
        self.stats.dead_letters += 1;
        if !self.sink.muted {
            super::meters::bad_input(topic, reason);
        }
        if self.stats.dead_letters <= 10 || self.stats.dead_letters.is_power_of_two() {
            warn!(
                topic,
                partition,
                offset,
                error,
                count = self.stats.dead_letters,
                "bad input sent to the dead-letter topic"
            );
        }
        let came = super::sink::AsItCame {
            topic,
            partition,
            offset,
            key: msg.key(),
            value: msg.payload(),
            headers: msg.headers().into_iter().flat_map(|hs| hs.iter()),
        };
        self.sink
            .send_as_it_came(&self.topo.dead_letters, came, ("vtrack.error", error))?;
        Ok(())
    }

    /// Announces the input partitions' event time (at most every `ANNOUNCE_EVERY`). Tasks
    /// move their own clocks as they read the announcements. Rewrites this instance's
    /// directory entry every [`super::directory::REFRESH_EVERY`].
    fn tick(&mut self) -> Result<(), RunError> {
        if self.last_announce.elapsed() >= ANNOUNCE_EVERY {
            self.last_announce = Instant::now();
            self.announce_inputs()?;
        }
        // A stopping instance has written its tombstone: no entry may follow it.
        let stopping = self.health.is_stopping();
        if !stopping && self.last_membership.elapsed() >= super::directory::REFRESH_EVERY {
            self.announce_membership()?;
        }
        Ok(())
    }

    fn announce_inputs(&mut self) -> Result<(), RunError> {
        self.sink.arrival.set(None);
        let wall = wall_now();
        let idle_after = self.config.kafka.idle_source_after;
        let fallback = self
            .inputs
            .values()
            .filter_map(|c| c.reached(wall, idle_after))
            .max();
        let ctx = ctx!(self);
        for (source, clock) in &self.inputs {
            if let Some(t) = clock.announce(wall, idle_after, fallback) {
                forward(&mut self.announced, &ctx, *source, t)?;
            }
        }
        Ok(())
    }

    /// Commits the open transaction with the consumed offsets and opens the next one.
    fn commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<(), RunError> {
        let started = Instant::now();
        self.tick()?;
        let mut ctx = ctx!(self);
        for t in self.sellers.values_mut() {
            t.tick(&mut ctx)?;
        }
        let mut offsets = TopicPartitionList::new();
        for e in consumer.position()?.elements() {
            if let Offset::Offset(o) = e.offset() {
                offsets.add_partition_offset(e.topic(), e.partition(), Offset::Offset(o))?;
            }
        }
        let forced = std::mem::take(&mut self.forced_snapshots);
        self.write_snapshots(&offsets, &forced)?;
        let producer = &self.sink.producer;
        if offsets.count() > 0 {
            let meta = consumer
                .group_metadata()
                .ok_or_else(|| RunError::Rebalance("no consumer group metadata".into()))?;
            producer.send_offsets_to_transaction(&offsets, &meta, TXN_TIMEOUT)?;
        }
        self.stats.offsets_millis += started.elapsed().as_millis() as u64;
        // Delivered first, so that the commit's own flush finds nothing to wait for; a
        // failed delivery fails the commit.
        if !self.sink.flush(TXN_TIMEOUT) {
            return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut).into());
        }
        producer.commit_transaction(TXN_TIMEOUT)?;
        producer.begin_transaction()?;
        if let Some(purger) = &self.purger {
            purger.request(std::mem::take(&mut self.to_purge));
        }
        self.stats.commits += 1;
        self.stats.commit_millis += started.elapsed().as_millis() as u64;
        self.meters.commits.increment(1);
        self.meters
            .commit_seconds
            .record(started.elapsed().as_secs_f64());
        self.meters.flush();
        Ok(())
    }

    /// Aborts the open transaction and opens the next one.
    pub(super) fn abort(&mut self) -> Result<(), RunError> {
        self.meters.aborts.increment(1);
        self.to_purge.clear();
        // Abort needs the delivery reports of the records still queued served first; the
        // records themselves are discarded with the transaction. A failed send's error is
        // reported again by the abort, so the flush's own result does not matter.
        self.sink.flush(TXN_TIMEOUT);
        self.sink.producer.abort_transaction(TXN_TIMEOUT)?;
        self.sink.producer.begin_transaction()?;
        Ok(())
    }

    /// Takes over assigned partitions: a task for each internal partition, its state
    /// restored from its input up to the group's committed offset, before it processes.
    pub(super) fn assign(
        &mut self,
        tpl: &TopicPartitionList,
        committed: &TopicPartitionList,
    ) -> Result<(), RunError> {
        let started = Instant::now();
        self.health.set_restoring(true);
        metrics::gauge!(crate::metrics::READY).set(0.0);
        self.health.set_joined();
        self.create_tasks(tpl);
        let mut ends = Vec::new();
        for e in committed.elements() {
            let internal = !matches!(
                self.topo.kind(e.topic()),
                None | Some(TopicKind::Confirmations | TopicKind::Scans)
            );
            if let (true, Offset::Offset(end)) = (internal, e.offset()) {
                ends.push((e.topic().to_string(), e.partition(), end));
            }
        }
        self.set_restoring(true);
        let result = self.restore(&ends);
        self.set_restoring(false);
        if result.is_err() {
            self.health.set_restoring(false);
        }
        let restored = result?;
        self.seed_input_clocks(tpl, committed)?;
        self.meters.restore_records.increment(restored);
        self.meters
            .restore_seconds
            .record(started.elapsed().as_secs_f64());
        self.announce_membership()?;
        info!(
            records = restored,
            packages = self
                .orders
                .values()
                .map(|t| t.stage.package_count())
                .sum::<usize>(),
            tracking_ids = self.tracking.values().map(|t| t.stage.len()).sum::<usize>(),
            seconds = started.elapsed().as_secs_f64(),
            "state restored"
        );
        self.health.set_restoring(false);
        self.refresh_gauges();
        Ok(())
    }

    /// Rebuilds the new tasks' state by re-reading each one's input partition from the start
    /// to `end` (the group's committed offset), all partitions through one reader, writing
    /// nothing: those outputs were committed before. Returns the records re-read.
    fn restore(&mut self, ends: &[(String, i32, i64)]) -> Result<u64, RunError> {
        let reader = super::catchup::reader(&self.config.kafka)?;
        let restored = self.restore_with(&reader, ends);
        super::catchup::close_in_background(reader);
        restored
    }

    /// [`Worker::restore`] through `reader`.
    fn restore_with(
        &mut self,
        reader: &rdkafka::consumer::BaseConsumer,
        ends: &[(String, i32, i64)],
    ) -> Result<u64, RunError> {
        let (starts, changelog_records) = self.load_snapshots(reader, ends)?;
        let start = |t: &str, p: i32| starts.get(&(t.to_string(), p)).copied().unwrap_or(0);
        let left: BTreeMap<(String, i32), i64> = ends
            .iter()
            .filter(|(t, p, end)| *end > start(t, *p))
            .map(|(t, p, end)| ((t.clone(), *p), *end))
            .collect();
        info!(
            snapshots = starts.len(),
            replay = left.len(),
            "restoring: snapshots loaded; re-reading input since them"
        );
        for (t, p, end) in ends {
            if *end <= start(t, *p) {
                self.finish_restore(t, *p)?;
            }
        }
        if left.is_empty() {
            return Ok(changelog_records);
        }
        let total: i64 = left.iter().map(|((t, p), end)| end - start(t, *p)).sum();
        let parts = left
            .into_iter()
            .map(|(key, end)| {
                let from = starts
                    .get(&key)
                    .map_or(Offset::Beginning, |&o| Offset::Offset(o));
                (key, (from, end))
            })
            .collect();
        let (mut count, mut last_gauges) = (0u64, Instant::now());
        read_to_ends(reader, &parts, "restoring inputs", |read| match read {
            Read::Record(m) => {
                self.handle(m, None)?;
                count += 1;
                if count % 4096 == 0 {
                    self.health.beat();
                    if last_gauges.elapsed() >= GAUGES_EVERY {
                        last_gauges = Instant::now();
                        self.refresh_gauges();
                    }
                    let remaining = (total - count as i64).max(0) as f64;
                    metrics::gauge!(crate::metrics::RESTORE_REMAINING).set(remaining);
                }
                Ok(())
            }
            Read::End(topic, p) => self.finish_restore(topic, p),
        })?;
        Ok(changelog_records + count)
    }

    /// Seeds each newly assigned input partition's clock with what it had reached before:
    /// the time it announced (every restored task holds what every input partition
    /// announced) and the event time of its last consumed record (the one before the
    /// committed offset), so that a partition that stays quiet after a restart still
    /// advances at wall-clock pace once idle. Once, after the restore: seeding again from
    /// announcements that include idle advance would compound it. A record that is bad
    /// input, or gone with the topic's retention, seeds nothing.
    fn seed_input_clocks(
        &mut self,
        assigned: &TopicPartitionList,
        committed: &TopicPartitionList,
    ) -> Result<(), RunError> {
        for e in assigned.elements() {
            let Some(source) = self.topo.input_source(e.topic(), e.partition()) else {
                continue;
            };
            let orders = self.orders.values().map(|t| &t.clock);
            let tracking = self.tracking.values().map(|t| &t.clock);
            let announced = orders.chain(tracking).filter_map(|c| c.get(source)).max();
            if let (Some(t), Some(clock)) = (announced, self.inputs.get_mut(&source)) {
                clock.seed(t, wall_now());
            }
        }
        let parts: Vec<(String, i32, i64)> = committed
            .elements()
            .iter()
            .filter(|e| self.topo.input_source(e.topic(), e.partition()).is_some())
            .filter_map(|e| match e.offset() {
                Offset::Offset(end) if end > 0 => Some((e.topic().to_string(), e.partition(), end)),
                _ => None,
            })
            .collect();
        if parts.is_empty() {
            return Ok(());
        }
        let reader = super::catchup::reader(&self.config.kafka)?;
        let last_records = records_before(&reader, &parts, LAST_RECORD_WAIT);
        super::catchup::close_in_background(reader);
        let wall = wall_now();
        let latest_allowed = wall.saturating_add(self.config.kafka.max_future_skew);
        for (topic, partition, payload) in last_records {
            let Some(source) = self.topo.input_source(&topic, partition) else {
                continue;
            };
            let time = match source {
                Source::Scans(_) => decode_scan(&payload).map(|s| s.scanned_at),
                _ => decode_confirmation(&payload).map(|c| c.confirmed_at),
            };
            let clock = self.inputs.get_mut(&source);
            if let (Ok(t), Some(clock)) = (time, clock) {
                if t <= latest_allowed {
                    clock.seed(t, wall);
                }
            }
        }
        Ok(())
    }

    /// While restoring, nothing is written and no verdict record is built.
    fn set_restoring(&mut self, restoring: bool) {
        self.sink.muted = restoring;
        for t in self.orders.values_mut() {
            t.stage.set_emit_records(!restoring);
        }
    }

    /// A seller task whose input is re-read computes its rows (unwritten, as they were
    /// written before), so only later changes are written.
    fn finish_restore(&mut self, topic: &str, partition: i32) -> Result<(), RunError> {
        if topic == self.topo.seller_events {
            let mut ctx = ctx!(self);
            if let Some(t) = self.sellers.get_mut(&partition) {
                t.tick(&mut ctx)?;
            }
        }
        Ok(())
    }

    /// A fresh task for each assigned internal partition, a clock for each input partition.
    fn create_tasks(&mut self, tpl: &TopicPartitionList) {
        let wall = wall_now();
        for e in tpl.elements() {
            let p = e.partition();
            let ctx = ctx!(self);
            match self.topo.kind(e.topic()) {
                Some(TopicKind::OrderEvents) => {
                    self.orders.insert(p, OrderTask::new(p, &ctx));
                }
                Some(TopicKind::TrackingEvents) => {
                    self.tracking.insert(p, TrackingTask::new(p, &ctx));
                }
                Some(TopicKind::SellerEvents) => {
                    self.sellers.insert(p, SellerTask::new(p, &ctx));
                }
                Some(TopicKind::Confirmations) => {
                    self.inputs
                        .insert(Source::Confirmations(p), SourceClock::new(wall));
                }
                Some(TopicKind::Scans) => {
                    self.inputs.insert(Source::Scans(p), SourceClock::new(wall));
                }
                None => {}
            }
        }
        info!(
            orders = self.orders.len(),
            tracking = self.tracking.len(),
            sellers = self.sellers.len(),
            inputs = self.inputs.len(),
            "partitions assigned"
        );
    }

    /// Writes this instance's entry of the instance directory: its URL and the internal
    /// partitions it owns now (a tombstone when `leaving`).
    fn announce_membership_or_leave(&mut self, leaving: bool) -> Result<(), RunError> {
        let key = self.instance_id.as_bytes();
        let topic = &self.topo.instances;
        if leaving {
            self.sink.send(topic, Some(0), Some(key), None, None)?;
            return Ok(());
        }
        let member = Member {
            instance_id: self.instance_id.clone(),
            url: self.url.clone(),
            order_partitions: self.orders.keys().copied().collect(),
            tracking_partitions: self.tracking.keys().copied().collect(),
            seller_partitions: self.sellers.keys().copied().collect(),
            updated_at: wall_now(),
        };
        self.last_membership = Instant::now();
        let value = serde_json::to_vec(&member).unwrap_or_default();
        self.sink
            .send(topic, Some(0), Some(key), Some(&value), None)?;
        Ok(())
    }

    fn announce_membership(&mut self) -> Result<(), RunError> {
        self.announce_membership_or_leave(false)
    }

    /// Whether any partition is assigned to this instance.
    fn holds_tasks(&self) -> bool {
        !(self.orders.is_empty()
            && self.tracking.is_empty()
            && self.sellers.is_empty()
            && self.inputs.is_empty())
    }

    /// Sets the gauges that describe the state: entries and bytes, event-time lag and owned
    /// partitions per stage, at-risk sellers, carriers' valid ratios.
    fn refresh_gauges(&self) {
        use crate::metrics as m;
        use metrics::gauge;
        let wall = wall_now();
        let lag = |now: Option<Millis>| now.map(|t| (wall - t).max(0) as f64 / 1000.0);
        let order_now = self.orders.values().map(|t| t.now).min();
        let tracking_now = self.tracking.values().map(|t| t.now).min();
        let lateness = self.config.engine.allowed_lateness;
        let seller_now = self
            .sellers
            .values()
            .filter_map(|t| t.clock.min())
            .min()
            .map(|t| t.saturating_sub(lateness));
        let stages: [(&str, usize, usize, Option<f64>, usize); 3] = [
            (
                "order",
                self.orders.values().map(|t| t.stage.package_count()).sum(),
                self.orders.values().map(|t| t.stage.state_bytes()).sum(),
                lag(order_now.filter(|t| *t > Millis::MIN)),
                self.orders.len(),
            ),
            (
                "tracking",
                self.tracking.values().map(|t| t.stage.len()).sum(),
                self.tracking.values().map(|t| t.stage.state_bytes()).sum(),
                lag(tracking_now.filter(|t| *t > Millis::MIN)),
                self.tracking.len(),
            ),
            (
                "seller",
                self.sellers.values().map(|t| t.stage.row_count()).sum(),
                self.sellers.values().map(|t| t.stage.state_bytes()).sum(),
                lag(seller_now),
                self.sellers.len(),
            ),
        ];
        for (stage, entries, bytes, watermark_lag, partitions) in stages {
            gauge!(m::STATE_ENTRIES, "stage" => stage).set(entries as f64);
            gauge!(m::STATE_BYTES, "stage" => stage).set(bytes as f64);
            gauge!(m::ASSIGNED_PARTITIONS, "stage" => stage).set(partitions as f64);
            if let Some(l) = watermark_lag {
                gauge!(m::WATERMARK_LAG, "stage" => stage).set(l);
            }
        }
        gauge!(m::ASSIGNED_PARTITIONS, "stage" => "ingest").set(self.inputs.len() as f64);
        for w in &self.config.engine.seller_windows_days {
            let n = self
                .sellers
                .values()
                .flat_map(|t| t.at_risk.values())
                .filter(|d| *d == w)
                .count();
            gauge!(m::SELLERS_AT_RISK, "window_days" => w.to_string()).set(n as f64);
        }
        self.meters.refresh_carrier_ratios();
        gauge!(m::READY).set(if self.health.ready().is_ok() {
            1.0
        } else {
            0.0
        });
        gauge!(m::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        if !self.health.is_restoring() {
            gauge!(m::RESTORE_REMAINING).set(0.0);
        }
    }

    /// Forgets which event times were announced, so the next announcements go out again
    /// (after a failed transaction, the last ones may not have been written).
    pub(super) fn forget_announcements(&mut self) {
        self.announced.clear();
    }

    /// Gives up revoked partitions and their state.
    pub(super) fn revoke(&mut self, tpl: &TopicPartitionList) {
        for e in tpl.elements() {
            let p = e.partition();
            match self.topo.kind(e.topic()) {
                Some(TopicKind::OrderEvents) => {
                    self.orders.remove(&p);
                }
                Some(TopicKind::TrackingEvents) => {
                    self.tracking.remove(&p);
                }
                Some(TopicKind::SellerEvents) => {
                    self.sellers.remove(&p);
                }
                Some(TopicKind::Confirmations) => {
                    self.inputs.remove(&Source::Confirmations(p));
                }
                Some(TopicKind::Scans) => {
                    self.inputs.remove(&Source::Scans(p));
                }
                None => {}
            }
        }
        info!(
            revoked = tpl.count(),
            orders = self.orders.len(),
            tracking = self.tracking.len(),
            sellers = self.sellers.len(),
            inputs = self.inputs.len(),
            "partitions revoked"
        );
    }
}

/// Sends an input partition's event time to every order and tracking task, when it moved.
fn forward(
    announced: &mut BTreeMap<Source, Millis>,
    ctx: &Ctx<'_>,
    source: Source,
    time: Millis,
) -> Result<(), KafkaError> {
    let last = announced.entry(source).or_insert(Millis::MIN);
    if time <= *last {
        return Ok(());
    }
    *last = time;
    ctx.broadcast(
        &ctx.topo.order_events,
        &encode(&OrderRecord::Watermark { source, time }),
    )?;
    ctx.broadcast(
        &ctx.topo.tracking_events,
        &encode(&TrackingRecord::Watermark { source, time }),
    )?;
    Ok(())
}

/// How long the group coordinator must have been up without giving this member partitions
/// before it counts as a stand-by: the consumer group protocol's heartbeat interval (5 s by
/// default), so that a heartbeat has answered.
const STANDBY_AFTER_MS: i64 = 5_000;

/// The consumer's context: commits before a revocation, sets up tasks after an assignment,
/// turns librdkafka's statistics into the consumer-lag gauges.
struct RebalanceContext {
    worker: Arc<Mutex<Worker>>,
    health: Arc<Health>,
}

impl RebalanceContext {
    fn lock(&self) -> MutexGuard<'_, Worker> {
        self.worker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A member given no partitions (a stand-by, beyond the partition count) gets no
    /// assignment callback: the group's state in the statistics says it has joined. It is
    /// then ready, and lists itself in the instance directory.
    fn note_standby(&self, statistics: &Statistics) {
        let Some(group) = &statistics.cgrp else {
            return;
        };
        // With the consumer group protocol, a member given nothing stays in join state
        // `init`: what tells it has joined is a coordinator that has been up for a heartbeat
        // or more without giving it partitions.
        let standing_by =
            group.state == "up" && group.assignment_size == 0 && group.stateage >= STANDBY_AFTER_MS;
        if !standing_by || self.health.is_joined() {
            return;
        }
        self.health.set_joined();
        let mut w = self.lock();
        if !w.health.is_stopping() {
            info!("joined the consumer group with no partitions: standing by");
            if let Err(e) = w.announce_membership() {
                w.failure = Some(e.to_string());
            }
        }
    }
}

impl ClientContext for RebalanceContext {
    /// librdkafka's log lines, as its default does, except the group's refusals that `run`
    /// answers by joining again ([`Refusal`]): those are logged at debug level, and `run`
    /// says what it does.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        use RDKafkaLogLevel as L;
        match level {
            _ if REFUSALS_LOGGED.iter().any(|r| message.contains(r)) => {
                tracing::debug!(target: "librdkafka", "librdkafka: {fac} {message}")
            }
            L::Emerg | L::Alert | L::Critical | L::Error => {
                error!(target: "librdkafka", "librdkafka: {fac} {message}")
            }
            L::Warning => warn!(target: "librdkafka", "librdkafka: {fac} {message}"),
            L::Notice | L::Info => info!(target: "librdkafka", "librdkafka: {fac} {message}"),
            L::Debug => tracing::debug!(target: "librdkafka", "librdkafka: {fac} {message}"),
        }
    }

    /// Global errors, logged; a [`Refusal`] at debug level (see [`RebalanceContext::log`]).
    fn error(&self, e: KafkaError, reason: &str) {
        if REFUSALS_LOGGED.iter().any(|r| reason.contains(r)) {
            tracing::debug!("librdkafka: {e}: {reason}");
        } else {
            error!("librdkafka: {e}: {reason}");
        }
    }

    /// Lag per owned partition: records between what the loop has read and the end of the
    /// partition (the last stable offset, as the consumer reads committed records only):
    /// the records not fetched yet plus those fetched and not handed out yet.
    fn stats(&self, statistics: Statistics) {
        self.note_standby(&statistics);
        let mut total = 0i64;
        for (topic, t) in &statistics.topics {
            for p in t.partitions.values() {
                if p.partition < 0 || !p.desired || p.ls_offset < 0 || p.next_offset < 0 {
                    continue;
                }
                let lag = (p.ls_offset - p.next_offset).max(0) + p.fetchq_cnt.max(0);
                total += lag;
                metrics::gauge!(
                    crate::metrics::CONSUMER_LAG,
                    "topic" => topic.clone(),
                    "partition" => p.partition.to_string()
                )
                .set(lag as f64);
            }
        }
        self.health.set_lag(total);
    }
}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let mut w = self.lock();
            // A stopping instance committed everything it handled before leaving the poll loop.
            // Closing the consumer polls on and drops what it fetched, which moves the
            // positions past records nobody handled: committing them here would lose those.
            if w.health.is_stopping() {
                w.revoke(tpl);
                return;
            }
            // A lost assignment belongs to another member already: its work is aborted, and
            // the new owner restores from the committed offsets.
            let result = if consumer.assignment_lost() {
                warn!("assignment lost: aborting the open transaction");
                super::meters::rebalance("lost");
                w.abort()
            } else {
                super::meters::rebalance("revoke");
                // The new owner starts from these snapshots instead of the whole history.
                w.forced_snapshots.partitions = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect();
                w.commit(consumer)
            };
            if let Err(e) = result {
                error!(error = %e, "ending the transaction before revocation failed");
                w.failure = Some(e.to_string());
            }
            w.revoke(tpl);
            // While stopping, the entry's tombstone is committed already; the transaction
            // opened now is never committed, so it must stay empty.
            if !w.health.is_stopping() {
                if let Err(e) = w.announce_membership() {
                    w.failure = Some(e.to_string());
                }
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                super::meters::rebalance("assign");
                let mut w = self.lock();
                // A stopping instance takes nothing over: it would restore state only to
                // leave it at once.
                if w.health.is_stopping() {
                    return;
                }
                let result = consumer
                    .committed_offsets((*tpl).clone(), TXN_TIMEOUT)
                    .map_err(RunError::from)
                    .and_then(|committed| w.assign(tpl, &committed));
                if let Err(e) = result {
                    error!(error = %e, "taking over the assigned partitions failed");
                    w.failure = Some(e.to_string());
                }
            }
            Rebalance::Error(e) => error!(error = %e, "rebalance error"),
            Rebalance::Revoke(_) => {}
        }
    }
}

/// The URL other instances reach this one on: configured, else the host name and bound port.
fn advertised_url(config: &Config, server: Option<&HttpServer>) -> String {
    if !config.http.advertised_url.is_empty() {
        return config.http.advertised_url.clone();
    }
    let Some(server) = server else {
        return String::new();
    };
    // A server bound to one address is reached there; one bound to every interface, by
    // the host's name.
    let ip = server.addr.ip();
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty() && ip.is_unspecified())
        .unwrap_or_else(|| match ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        });
    format!("http://{host}:{}", server.addr.port())
}

/// With the classic group protocol (`group.protocol=classic` in `kafka.properties`, for
/// brokers before 4.0): how long the group waits for a stopped (static) member before handing
/// its partitions to the others, unless `kafka.properties` sets `session.timeout.ms`: 10 s
/// rather than librdkafka's 45 s, so an instance that left is replaced quickly; heartbeats
/// come from librdkafka's own thread every 3 s, whatever the poll loop does. With the
/// consumer protocol (the default) the broker sets it (`group.consumer.session.timeout.ms`).
const SESSION_TIMEOUT_MS: &str = "10000";

/// How long to wait before joining again while the group still holds this instance id for a
/// process that was killed (the broker frees it when that member's session times out).
const INSTANCE_ID_RETRY: Duration = Duration::from_secs(3);

/// The group consumer. By default it speaks the consumer group protocol (KIP-848, brokers
/// 4.0 and later) with the broker's `range` assignor: every stage's partitions are spread
/// evenly over the instances, partition *p* of every internal topic on one instance, and a
/// rebalance moves only what changes owner. `group.protocol=classic` in `kafka.properties`
/// falls back to the classic protocol with the `cooperative-sticky` assignor, which balances
/// the number of partitions an instance holds but not each stage's share.
fn group_consumer(
    client: &rdkafka::ClientConfig,
    k: &crate::config::KafkaConfig,
    instance: &str,
    protocol: &str,
    context: RebalanceContext,
) -> Result<BaseConsumer<RebalanceContext>, RunError> {
    let mut conf = client.clone();
    conf.set("group.id", &k.application_id)
        .set("group.instance.id", instance)
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .set("statistics.interval.ms", "5000");
    if protocol == CLASSIC {
        conf.set("group.protocol", CLASSIC)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set(
                "session.timeout.ms",
                client
                    .get("session.timeout.ms")
                    .unwrap_or(SESSION_TIMEOUT_MS),
            );
    } else {
        let assignor = client.get("group.remote.assignor").unwrap_or("range");
        conf.set("group.protocol", "consumer")
            .set("group.remote.assignor", assignor);
    }
    Ok(conf.create_with_context(context)?)
}

/// The classic group protocol's name.
const CLASSIC: &str = "classic";

/// The consumer group protocol: `consumer` unless `kafka.properties` says `classic`.
fn group_protocol(client: &rdkafka::ClientConfig) -> &'static str {
    match client.get("group.protocol") {
        Some(p) if p.eq_ignore_ascii_case(CLASSIC) => CLASSIC,
        _ => "consumer",
    }
}

/// Why the group refused to let this instance join, where joining again is the answer.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// Its instance id is still held by an earlier member (a process of this instance that
    /// was killed): join again once the broker's session timeout frees it.
    InstanceIdHeld,
    /// The broker does not offer the consumer group protocol (before Kafka 4.0, or
    /// `group.coordinator.rebalance.protocols` without `consumer`): join with the classic one.
    NoConsumerProtocol,
}

/// The refusal `e` is, if any, for an instance that joined with `protocol`.
fn refusal(e: &RunError, protocol: &str) -> Option<Refusal> {
    let RunError::Kafka(k) = e else {
        return None;
    };
    match k.rdkafka_error_code()? {
        RDKafkaErrorCode::UnreleasedInstanceId => Some(Refusal::InstanceIdHeld),
        RDKafkaErrorCode::UnsupportedVersion if protocol != CLASSIC => {
            Some(Refusal::NoConsumerProtocol)
        }
        _ => None,
    }
}

/// What librdkafka's log lines say when the group refuses a join for a [`Refusal`].
const REFUSALS_LOGGED: [&str; 2] = [
    "instance ID is still used",
    "ConsumerGroupHeartbeat fatal error: Broker: API version not supported",
];

/// Fences the transactional ids of this machine's instance slots whose process is gone: a
/// process killed in a transaction and restarted in another slot would otherwise leave that
/// transaction open until it times out, stalling every `read_committed` reader.
fn fence_stale_slots(
    client: &rdkafka::ClientConfig,
    k: &crate::config::KafkaConfig,
    stale: Vec<super::instance::InstanceId>,
) {
    for slot in stale {
        let id = format!("{}-{}", k.application_id, slot.id);
        match super::recovery::fence(client, &id) {
            Ok(()) => {
                info!(transactional_id = %id, "fenced the transactions of a gone instance slot")
            }
            Err(e) => {
                warn!(transactional_id = %id, error = %k.redact(&e.to_string()), "cannot fence a gone instance slot")
            }
        }
    }
}

/// Runs the processor until `stop` is set, then commits and leaves the group.
pub fn run(config: Config, stop: Arc<AtomicBool>) -> Result<(), RunError> {
    let k = &config.kafka;
    let claimed = super::instance::claim(k);
    let instance = claimed.id.clone();
    let carriers = Arc::new(config.carrier_registry()?);
    let prometheus = crate::metrics::install();
    let health = Arc::new(Health::new(config.http.ready_max_lag));
    let listener = match config.http.bind.as_str() {
        "" => None,
        bind => Some(HttpServer::bind(bind)?),
    };
    super::topics::ensure_topics(k).map_err(|e| RunError::Topics(e.to_string()))?;
    let client = super::client::client_config(k);
    let (cp, sp) = input_partitions(&client, k)?;
    let topo = Topology::new(k, cp, sp);
    let transactional_id = format!("{}-{}", k.application_id, instance);
    let producer = transactional_producer(&client, &transactional_id)?;
    fence_stale_slots(&client, k, claimed.stale);
    let max_poll = client
        .get("max.poll.interval.ms")
        .and_then(|ms| ms.parse().ok());
    let directory = Arc::new(Directory::listing_entries_newer_than(
        super::directory::freshness_for(max_poll),
    ));
    let reader_stop = Arc::new(AtomicBool::new(false));
    let reader =
        super::directory::spawn_reader(k, &topo.instances, directory.clone(), reader_stop.clone())?;
    let worker = Arc::new(Mutex::new(Worker {
        carriers,
        syms: Interner::default(),
        sink: Sink::new(producer, &topo.produced_topics()),
        meters: Meters::new(&topo),
        topo: topo.clone(),
        orders: BTreeMap::new(),
        tracking: BTreeMap::new(),
        sellers: BTreeMap::new(),
        inputs: BTreeMap::new(),
        announced: BTreeMap::new(),
        last_announce: Instant::now(),
        last_membership: Instant::now(),
        started: Instant::now(),
        failure: None,
        stats: Stats::default(),
        health: health.clone(),
        forced_snapshots: Forced::default(),
        to_purge: Vec::new(),
        purger: Some(super::purge::Purger::start(k)?),
        instance_id: instance.clone(),
        url: String::new(),
        config: config.clone(),
    }));
    let server = if let Some(listener) = listener {
        let lookup = super::queries::KafkaLookup {
            worker: worker.clone(),
            health: health.clone(),
            directory,
            partitions: topo.internal_partitions,
            instance_id: instance.clone(),
        };
        let server = HttpServer::start(listener, health.clone(), prometheus, Arc::new(lookup))?;
        info!(addr = %server.addr, "serving /metrics, /healthz, /readyz and /v1 queries");
        Some(server)
    } else {
        None
    };
    lock(&worker).url = advertised_url(&config, server.as_ref());
    info!(
        instance,
        application_id = %k.application_id,
        group_protocol = group_protocol(&client),
        "vtrack run started"
    );
    let result = join_and_poll(&worker, &health, &config, &client, &stop, &transactional_id);
    health.set_stopping();
    reader_stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    drop(server);
    result
}

/// Joins the group and runs the poll loop until `stop` is set; after a [`Refusal`] of the
/// join, joins again as it says.
fn join_and_poll(
    worker: &Arc<Mutex<Worker>>,
    health: &Arc<Health>,
    config: &Config,
    client: &rdkafka::ClientConfig,
    stop: &AtomicBool,
    transactional_id: &str,
) -> Result<(), RunError> {
    let k = &config.kafka;
    let (instance, topics): (String, Vec<String>) = {
        let w = lock(worker);
        let topics = w.topo.subscriptions().into_iter().map(String::from);
        (w.instance_id.clone(), topics.collect())
    };
    let mut protocol = group_protocol(client);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let context = RebalanceContext {
            worker: worker.clone(),
            health: health.clone(),
        };
        let consumer = group_consumer(client, k, &instance, protocol, context)?;
        consumer.subscribe(&topics.iter().map(String::as_str).collect::<Vec<_>>())?;
        let result = poll_loop(&consumer, worker, config, stop, client, transactional_id);
        let refused = match &result {
            Err(e) if !lock(worker).holds_tasks() => refusal(e, protocol),
            _ => None,
        };
        drop(consumer);
        match refused {
            Some(Refusal::InstanceIdHeld) => {
                warn!(
                    instance,
                    "the group still holds this instance id for an earlier process (killed?); \
                     joining again once the broker's session timeout frees it"
                );
                let until = Instant::now() + INSTANCE_ID_RETRY;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            Some(Refusal::NoConsumerProtocol) => {
                warn!(
                    "the broker does not offer the consumer group protocol (KIP-848: Kafka 4.0 \
                     or later, with `consumer` in group.coordinator.rebalance.protocols): \
                     joining with the classic protocol; \"group.protocol\" = \"classic\" in \
                     [kafka.properties] says so up front"
                );
                protocol = CLASSIC;
            }
            None => return result,
        }
    }
}

/// Polls, handles and commits until `stop` is set; then commits, leaves the directory and
/// the group.
fn poll_loop(
    consumer: &BaseConsumer<RebalanceContext>,
    worker: &Mutex<Worker>,
    config: &Config,
    stop: &AtomicBool,
    client: &rdkafka::ClientConfig,
    transactional_id: &str,
) -> Result<(), RunError> {
    let mut budget = FailureBudget::default();
    let mut fault = FaultInjection::from_env();
    let commit_every = Duration::from_millis(config.kafka.commit_interval.max(1) as u64);
    let mut last_commit = Instant::now();
    let mut last_log = Instant::now();
    let mut last_gauges = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // Rebalance callbacks run inside `poll` and take the worker: poll without it.
        let polled = consumer.poll(Duration::from_millis(20));
        let mut w = lock(worker);
        let due = last_commit.elapsed() >= commit_every;
        if due && fault.abort_now() {
            w.recover(consumer, TxnFailure::Abortable, client, transactional_id)?;
            last_commit = Instant::now();
            continue;
        }
        if let Err(e) = w.step(polled, consumer, due) {
            match classify(&e) {
                Some(failure) if budget.allow() => {
                    error!(error = %e, "transaction failed; recovering");
                    w.recover(consumer, failure, client, transactional_id)?;
                }
                _ => return Err(e),
            }
        }
        if due {
            last_commit = Instant::now();
        }
        if last_gauges.elapsed() >= GAUGES_EVERY {
            last_gauges = Instant::now();
            w.refresh_gauges();
        }
        if last_log.elapsed() >= Duration::from_secs(10) {
            last_log = Instant::now();
            info!(stats = ?w.stats, "progress");
        }
    }
    info!("stopping: committing the open transaction and leaving the group");
    let mut w = lock(worker);
    w.health.set_stopping();
    w.announce_membership_or_leave(true)?;
    w.forced_snapshots.all = true;
    w.commit(consumer)?;
    if let Some(purger) = w.purger.take() {
        purger.finish();
    }
    info!(stats = ?w.stats, "stopped");
    drop(w);
    consumer.unsubscribe();
    Ok(())
}

fn lock(w: &Mutex<Worker>) -> MutexGuard<'_, Worker> {
    w.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Partition counts of the two input topics.
fn input_partitions(
    client: &rdkafka::ClientConfig,
    k: &crate::config::KafkaConfig,
) -> Result<(i32, i32), RunError> {
    let probe: BaseConsumer = client.create()?;
    let count = |topic: &str| -> Result<i32, RunError> {
        let md = probe.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let n = md
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len() as i32);
        if n == 0 {
            return Err(RunError::Topics(format!(
                "input topic `{topic}` does not exist"
            )));
        }
        Ok(n)
    };
    Ok((count(&k.confirmations_topic)?, count(&k.scans_topic)?))
}

/// An input message as it came, to travel with its event through the internal topics.
fn input_message(msg: &BorrowedMessage<'_>) -> InputMessage {
    InputMessage {
        partition: msg.partition(),
        offset: msg.offset(),
        key: msg.key().map(<[u8]>::to_vec),
        headers: msg
            .headers()
            .into_iter()
            .flat_map(|hs| hs.iter())
            .map(|h| (h.key.to_string(), h.value.map(serde_bytes::ByteBuf::from)))
            .collect(),
        value: msg.payload().unwrap_or_default().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka(code: RDKafkaErrorCode) -> RunError {
        RunError::Kafka(KafkaError::MessageConsumptionFatal(code))
    }

    #[test]
    fn the_protocol_is_the_consumer_one_unless_classic_is_asked_for() {
        let mut client = rdkafka::ClientConfig::new();
        assert_eq!(group_protocol(&client), "consumer");
        client.set("group.protocol", "Classic");
        assert_eq!(group_protocol(&client), CLASSIC);
    }

    #[test]
    fn refusals_worth_joining_again_are_told_apart() {
        let held = kafka(RDKafkaErrorCode::UnreleasedInstanceId);
        assert_eq!(refusal(&held, "consumer"), Some(Refusal::InstanceIdHeld));
        let old_broker = kafka(RDKafkaErrorCode::UnsupportedVersion);
        assert_eq!(
            refusal(&old_broker, "consumer"),
            Some(Refusal::NoConsumerProtocol)
        );
        // Already classic: nothing older to fall back to.
        assert_eq!(refusal(&old_broker, CLASSIC), None);
        assert_eq!(
            refusal(
                &kafka(RDKafkaErrorCode::GroupAuthorizationFailed),
                "consumer"
            ),
            None
        );
        assert_eq!(refusal(&RunError::Topics("x".into()), "consumer"), None);
    }
}
