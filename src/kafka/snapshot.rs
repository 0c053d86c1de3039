//! Task snapshots in the compacted changelog topics (`<application_id>-<stage>-changelog`).
//!
//! A task's state is written whole, in chunks, to partition *p* of its stage's changelog,
//! inside the transaction that also commits the task's input offset: keys `chunk/<i>` and a
//! `manifest` naming the snapshot's epoch, its chunk count and the input offset it holds the
//! state at. Compaction keeps the latest snapshot. On assignment, a task loads its latest
//! snapshot and re-reads only its input from that offset to the committed one (design guide
//! section 4), so a restore costs the live state plus the records since the snapshot.
//!
//! A snapshot writes the tombstones of its predecessor's extra chunks first, then its chunks,
//! then the manifest, in one transaction: its chunks are the records right before its
//! manifest. A restore reads the last few records of the changelog partition for the latest
//! manifest, then only the chunks before it, not the older snapshots that compaction has not
//! removed yet (the active segment is never compacted). When that finds no complete snapshot
//! (a snapshot of an older layout, records of an aborted transaction in between) it reads the
//! whole partition.
//!
//! A snapshot is due when the task has read as many records since the last one as the last
//! one held entries (at least [`MIN_RECORDS`], at most once per [`MIN_INTERVAL`]), and always
//! before its partition is revoked and at shutdown.

use super::expiry::Expiry;
use super::tasks::{Ctx, OrderTask, SellerTask, TrackingTask};
use super::watermark::WatermarkVector;
use crate::engine::intern::{with_symbols, Interner};
use crate::engine::order::{OrderStage, OrderState};
use crate::engine::seller::{SellerStage, SellerState};
use crate::engine::tracking::{TrackingStage, TrackingState};
use crate::event::Millis;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Version of the snapshot encoding (first byte of every snapshot).
pub const SNAPSHOT_VERSION: u8 = 5;
/// Bytes per changelog record.
pub const CHUNK_BYTES: usize = 512 * 1024;
/// Fewest records read between two periodic snapshots of a task.
pub const MIN_RECORDS: u64 = 20_000;
/// Shortest time between two periodic snapshots of a task.
pub const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// Records at the end of a changelog partition read for its latest manifest (the manifest, then
/// its transaction's commit marker, is usually last).
pub const TAIL_RECORDS: i64 = 4;
/// Key of the record naming the latest snapshot.
pub const MANIFEST_KEY: &str = "manifest";

/// Errors reading or writing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The snapshot's bytes could not be encoded or decoded.
    #[error("snapshot encoding: {0}")]
    Encoding(#[from] postcard::Error),
    /// Written by another snapshot version.
    #[error("snapshot version {0} is not {SNAPSHOT_VERSION}")]
    Version(u8),
}

/// The latest snapshot of a task: its epoch, chunks, and the input offset it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Wall-clock milliseconds of the write; every chunk of the snapshot carries it.
    pub epoch: i64,
    /// The task's input offset the state is at (the next record to read).
    pub offset: i64,
    /// Number of `chunk/<i>` records.
    pub chunks: u32,
}

/// When a task's next snapshot is due.
#[derive(Debug)]
pub struct SnapshotClock {
    /// Records read since the last snapshot.
    pub records: u64,
    /// When the last snapshot was written (or the task created).
    pub last: Instant,
    /// Entries the last snapshot held.
    pub entries: u64,
    /// Chunks the last snapshot had (stale ones get tombstones).
    pub chunks: u32,
}

impl Default for SnapshotClock {
    fn default() -> Self {
        SnapshotClock {
            records: 0,
            last: Instant::now(),
            entries: 0,
            chunks: 0,
        }
    }
}

impl SnapshotClock {
    /// Whether a periodic snapshot is due.
    pub fn due(&self) -> bool {
        self.records >= MIN_RECORDS.max(self.entries) && self.last.elapsed() >= MIN_INTERVAL
    }

    /// A snapshot of `entries` entries in `chunks` chunks was written.
    pub fn written(&mut self, entries: u64, chunks: u32) {
        *self = SnapshotClock {
            records: 0,
            last: Instant::now(),
            entries,
            chunks,
        };
    }
}

/// The key of chunk `i`.
pub fn chunk_key(i: u32) -> String {
    format!("chunk/{i}")
}

/// A chunk's value: the epoch, then the bytes.
pub fn chunk_value(epoch: i64, bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + bytes.len());
    v.extend_from_slice(&epoch.to_le_bytes());
    v.extend_from_slice(bytes);
    v
}

/// The latest records of one changelog partition, assembled into the latest snapshot.
#[derive(Debug, Default)]
pub struct Collected {
    manifest: Option<Manifest>,
    /// Offset of the latest manifest record.
    manifest_at: Option<i64>,
    chunks: HashMap<u32, Vec<u8>>,
}

impl Collected {
    /// Applies the changelog record at `offset` (a tombstone when `value` is `None`).
    pub fn apply(&mut self, offset: i64, key: &[u8], value: Option<&[u8]>) {
        let key = String::from_utf8_lossy(key);
        if key == MANIFEST_KEY {
            self.manifest = value.and_then(|v| postcard::from_bytes(v).ok());
            self.manifest_at = Some(offset);
        } else if let Some(i) = key.strip_prefix("chunk/").and_then(|i| i.parse().ok()) {
            match value {
                Some(v) => {
                    self.chunks.insert(i, v.to_vec());
                }
                None => {
                    self.chunks.remove(&i);
                }
            }
        }
    }

    /// The offsets from the first chunk of the latest manifest's snapshot to the manifest,
    /// where that snapshot lies if written whole in one transaction.
    pub fn latest_span(&self) -> Option<(i64, i64)> {
        let (m, at) = (self.manifest?, self.manifest_at?);
        Some((at - i64::from(m.chunks), at + 1))
    }

    /// The latest complete snapshot: its manifest and bytes.
    pub fn snapshot(&self) -> Option<(Manifest, Vec<u8>)> {
        let m = self.manifest?;
        let mut bytes = Vec::new();
        for i in 0..m.chunks {
            let chunk = self.chunks.get(&i)?;
            let (epoch, data) = chunk.split_at_checked(8)?;
            if i64::from_le_bytes(epoch.try_into().ok()?) != m.epoch {
                return None;
            }
            bytes.extend_from_slice(data);
        }
        Some((m, bytes))
    }
}

type Meta = (WatermarkVector, Millis, Millis, Expiry);

/// An order task's snapshot bytes.
pub fn encode_order(t: &OrderTask, syms: &mut Interner) -> Result<Vec<u8>, SnapshotError> {
    let meta = (&t.clock, t.now, t.forwarded, &t.expiry);
    Ok(with_symbols(syms, || {
        postcard::to_stdvec(&(SNAPSHOT_VERSION, meta, t.stage.state()))
    })?)
}

/// An order task from its snapshot bytes.
pub fn decode_order(
    bytes: &[u8],
    partition: i32,
    ctx: &mut Ctx<'_>,
) -> Result<OrderTask, SnapshotError> {
    let (version, (clock, now, forwarded, expiry), state): (u8, Meta, OrderState) =
        with_symbols(ctx.syms, || postcard::from_bytes(bytes))?;
    check(version)?;
    let mut task = OrderTask::new(partition, ctx);
    task.stage = OrderStage::from_state(state, ctx.engine.clone(), ctx.carriers.clone(), true);
    (task.clock, task.now, task.forwarded, task.expiry) = (clock, now, forwarded, expiry);
    Ok(task)
}

/// A tracking task's snapshot bytes.
pub fn encode_tracking(t: &TrackingTask, syms: &mut Interner) -> Result<Vec<u8>, SnapshotError> {
    let meta = (&t.clock, t.now, t.forwarded, &t.expiry);
    Ok(with_symbols(syms, || {
        postcard::to_stdvec(&(SNAPSHOT_VERSION, meta, t.stage.state()))
    })?)
}

/// A tracking task from its snapshot bytes.
pub fn decode_tracking(
    bytes: &[u8],
    partition: i32,
    ctx: &mut Ctx<'_>,
) -> Result<TrackingTask, SnapshotError> {
    let (version, (clock, now, forwarded, expiry), state): (u8, Meta, TrackingState) =
        with_symbols(ctx.syms, || postcard::from_bytes(bytes))?;
    check(version)?;
    let mut task = TrackingTask::new(partition, ctx);
    task.stage = TrackingStage::from_state(state, ctx.engine.clone());
    (task.clock, task.now, task.forwarded, task.expiry) = (clock, now, forwarded, expiry);
    Ok(task)
}

/// A seller task's snapshot bytes.
pub fn encode_seller(t: &SellerTask, syms: &Interner) -> Result<Vec<u8>, SnapshotError> {
    Ok(postcard::to_stdvec(&(
        SNAPSHOT_VERSION,
        &t.clock,
        &t.at_risk,
        t.stage.state(syms),
    ))?)
}

/// A seller task from its snapshot bytes.
pub fn decode_seller(
    bytes: &[u8],
    partition: i32,
    ctx: &mut Ctx<'_>,
) -> Result<SellerTask, SnapshotError> {
    let (version, clock, at_risk, state): (u8, WatermarkVector, HashMap<String, u32>, SellerState) =
        postcard::from_bytes(bytes)?;
    check(version)?;
    let mut task = SellerTask::new(partition, ctx);
    task.stage = SellerStage::from_state(state, ctx.engine.clone(), ctx.syms);
    task.clock = clock;
    task.at_risk = at_risk;
    Ok(task)
}

fn check(version: u8) -> Result<(), SnapshotError> {
    if version == SNAPSHOT_VERSION {
        Ok(())
    } else {
        Err(SnapshotError::Version(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_complete_snapshot_is_assembled() {
        let mut c = Collected::default();
        let m1 = Manifest {
            epoch: 1,
            offset: 10,
            chunks: 2,
        };
        c.apply(0, b"chunk/0", Some(&chunk_value(1, b"ab")));
        c.apply(1, b"chunk/1", Some(&chunk_value(1, b"cd")));
        c.apply(
            2,
            MANIFEST_KEY.as_bytes(),
            Some(&postcard::to_stdvec(&m1).unwrap()),
        );
        assert_eq!(c.snapshot(), Some((m1, b"abcd".to_vec())));
        assert_eq!(c.latest_span(), Some((0, 3)));
        // A newer snapshot with one chunk; the stale chunk is tombstoned.
        let m2 = Manifest {
            epoch: 2,
            offset: 20,
            chunks: 1,
        };
        c.apply(4, b"chunk/1", None);
        c.apply(5, b"chunk/0", Some(&chunk_value(2, b"xyz")));
        c.apply(
            6,
            MANIFEST_KEY.as_bytes(),
            Some(&postcard::to_stdvec(&m2).unwrap()),
        );
        assert_eq!(c.snapshot(), Some((m2, b"xyz".to_vec())));
        assert_eq!(c.latest_span(), Some((5, 7)));
        // A chunk of another epoch makes the snapshot unusable.
        c.apply(8, b"chunk/0", Some(&chunk_value(3, b"zz")));
        assert_eq!(c.snapshot(), None);
    }
}

/// Which tasks must write a snapshot at the next commit, whether due or not.
#[derive(Debug, Default)]
pub struct Forced {
    /// Every task (shutdown).
    pub all: bool,
    /// These `(internal topic, partition)`s (before a revocation).
    pub partitions: Vec<(String, i32)>,
}

impl Forced {
    fn contains(&self, topic: &str, partition: i32) -> bool {
        self.all
            || self
                .partitions
                .iter()
                .any(|(t, p)| t == topic && *p == partition)
    }
}

/// The offset of `topic[partition]` in `positions`, if known.
fn position_of(
    positions: &rdkafka::TopicPartitionList,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    match positions.find_partition(topic, partition)?.offset() {
        rdkafka::Offset::Offset(o) => Some(o),
        _ => None,
    }
}

impl super::processor::Worker {
    /// Writes the snapshots due at this commit into the open transaction; `positions` are the
    /// input offsets committed with it, the offsets the snapshots hold the state at.
    pub(super) fn write_snapshots(
        &mut self,
        positions: &rdkafka::TopicPartitionList,
        forced: &Forced,
    ) -> Result<(), super::processor::RunError> {
        let topo = &self.topo;
        let mut out = Out {
            sink: &self.sink,
            positions,
            forced,
            purge: &mut self.to_purge,
        };
        let syms = &mut self.syms;
        for (&p, t) in self.orders.iter_mut() {
            let target = Target::new(&topo.order_events, &topo.order_changelog, p);
            if let Some(offset) = out.due(&target, &t.snap) {
                let bytes = encode_order(t, syms)?;
                let entries = t.stage.package_count();
                out.write(&target, offset, &bytes, &mut t.snap, entries)?;
            }
        }
        for (&p, t) in self.tracking.iter_mut() {
            let target = Target::new(&topo.tracking_events, &topo.tracking_changelog, p);
            if let Some(offset) = out.due(&target, &t.snap) {
                let bytes = encode_tracking(t, syms)?;
                let entries = t.stage.len();
                out.write(&target, offset, &bytes, &mut t.snap, entries)?;
            }
        }
        for (&p, t) in self.sellers.iter_mut() {
            let target = Target::new(&topo.seller_events, &topo.seller_changelog, p);
            if let Some(offset) = out.due(&target, &t.snap) {
                let bytes = encode_seller(t, syms)?;
                let entries = t.stage.row_count();
                out.write(&target, offset, &bytes, &mut t.snap, entries)?;
            }
        }
        Ok(())
    }
}

/// Where the snapshots of one commit go.
struct Out<'a> {
    sink: &'a super::sink::Sink,
    positions: &'a rdkafka::TopicPartitionList,
    forced: &'a Forced,
    purge: &'a mut Vec<(String, i32, i64)>,
}

impl Out<'_> {
    /// The input offset to snapshot a task at, when its snapshot is due (or forced) and its
    /// input position is known.
    fn due(&self, t: &Target<'_>, clock: &SnapshotClock) -> Option<i64> {
        let offset = position_of(self.positions, t.input, t.partition)?;
        (self.forced.contains(t.input, t.partition) || clock.due()).then_some(offset)
    }

    /// Writes a task's snapshot of `entries` entries taken at input `offset` (tombstones for
    /// the last snapshot's extra chunks, chunks, manifest: the chunks right before the
    /// manifest), and marks its input before that offset for purging.
    fn write(
        &mut self,
        t: &Target<'_>,
        offset: i64,
        bytes: &[u8],
        clock: &mut SnapshotClock,
        entries: usize,
    ) -> Result<(), rdkafka::error::KafkaError> {
        let send = |key: String, value: Option<&[u8]>| {
            let key = Some(key.as_bytes());
            self.sink
                .send(t.changelog, Some(t.partition), key, value, None)
        };
        let epoch = super::processor::wall_now();
        let chunks = bytes.chunks(CHUNK_BYTES).len() as u32;
        for stale in chunks..clock.chunks {
            send(chunk_key(stale), None)?;
        }
        for (i, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
            send(chunk_key(i as u32), Some(&chunk_value(epoch, chunk)))?;
        }
        let manifest = Manifest {
            epoch,
            offset,
            chunks,
        };
        let value = postcard::to_stdvec(&manifest).unwrap_or_default();
        send(MANIFEST_KEY.to_string(), Some(&value))?;
        clock.written(entries as u64, chunks);
        self.purge.push((t.input.to_string(), t.partition, offset));
        Ok(())
    }
}

/// A task's input partition and the changelog partition its snapshots go to.
struct Target<'a> {
    input: &'a str,
    changelog: &'a str,
    partition: i32,
}

impl<'a> Target<'a> {
    fn new(input: &'a str, changelog: &'a str, partition: i32) -> Self {
        Target {
            input,
            changelog,
            partition,
        }
    }
}

/// Input offsets, by `(internal topic, partition)`, that loaded snapshots hold the state at.
pub type Starts = HashMap<(String, i32), i64>;

impl super::processor::Worker {
    /// Loads the latest snapshot of every task in `ends` (`(input topic, partition, committed
    /// offset)`) that has one, replacing the fresh task; returns the input offset each loaded
    /// task's state is at, from where its input is to be re-read, and the number of changelog
    /// records read.
    pub(super) fn load_snapshots(
        &mut self,
        reader: &rdkafka::consumer::BaseConsumer,
        ends: &[(String, i32, i64)],
    ) -> Result<(Starts, u64), super::processor::RunError> {
        use rdkafka::consumer::Consumer;
        use rdkafka::Offset;
        // changelog partition -> (its first offset, its end); -> (input topic, its end)
        let mut parts = std::collections::BTreeMap::new();
        let mut inputs: HashMap<(String, i32), (String, i64)> = HashMap::new();
        for (topic, p, end) in ends {
            let Some(changelog) = self
                .topo
                .kind(topic)
                .and_then(|k| self.topo.changelog_of(k))
            else {
                continue;
            };
            let (low, high) = reader.fetch_watermarks(changelog, *p, Duration::from_secs(30))?;
            if high > low {
                parts.insert((changelog.to_string(), *p), (low, high));
                inputs.insert((changelog.to_string(), *p), (topic.clone(), *end));
            }
        }
        let mut read = 0u64;
        // The tail of each partition: its latest manifest, often with its whole snapshot.
        let tails = parts
            .iter()
            .map(|(k, &(low, high))| {
                let from = (high - TAIL_RECORDS).max(low);
                (k.clone(), (Offset::Offset(from), high))
            })
            .collect();
        let mut spans = std::collections::BTreeMap::new();
        let mut snapshots = Vec::new();
        for (k, c) in collect_changelog(reader, &tails, &mut read)? {
            if let Some(snapshot) = c.snapshot() {
                snapshots.push((k, snapshot));
            } else if let Some((from, to)) = c.latest_span() {
                let from = Offset::Offset(from.max(parts[&k].0));
                spans.insert(k, (from, to));
            }
        }
        // The chunks right before it; the whole partition where they are not a snapshot.
        snapshots.extend(
            collect_changelog(reader, &spans, &mut read)?
                .into_iter()
                .filter_map(|(k, c)| Some((k, c.snapshot()?))),
        );
        let whole = parts
            .iter()
            .filter(|(k, _)| !snapshots.iter().any(|(s, _)| s == *k))
            .map(|(k, &(_, high))| (k.clone(), (Offset::Beginning, high)))
            .collect();
        snapshots.extend(
            collect_changelog(reader, &whole, &mut read)?
                .into_iter()
                .filter_map(|(k, c)| Some((k, c.snapshot()?))),
        );
        let mut starts = HashMap::new();
        for ((changelog, p), (manifest, bytes)) in snapshots {
            let (input, end) = inputs[&(changelog.clone(), p)].clone();
            if manifest.offset > end {
                tracing::warn!(%changelog, p, "snapshot ahead of the committed offset: ignored");
                continue;
            }
            match self.install_snapshot(&input, p, &bytes, manifest.chunks) {
                Ok(()) => {
                    starts.insert((input, p), manifest.offset);
                }
                Err(e) => {
                    // Records before a committed snapshot are purged: without the snapshot,
                    // the state cannot be rebuilt from what is left.
                    let (low, _) = reader.fetch_watermarks(&input, p, Duration::from_secs(30))?;
                    if low > 0 {
                        return Err(super::processor::RunError::Restore(format!(
                            "the snapshot in {changelog}[{p}] is unreadable ({e}) and {input}[{p}] \
                             was purged up to offset {low}: run the vtrack version that wrote it"
                        )));
                    }
                    tracing::warn!(%changelog, p, error = %e, "unreadable snapshot: re-reading the whole input");
                }
            }
        }
        Ok((starts, read))
    }
}

/// Reads `parts` (`(changelog, partition) -> (start, end)`) and collects each partition's
/// records; counts them in `read`.
fn collect_changelog(
    reader: &rdkafka::consumer::BaseConsumer,
    parts: &std::collections::BTreeMap<(String, i32), (rdkafka::Offset, i64)>,
    read: &mut u64,
) -> Result<HashMap<(String, i32), Collected>, super::processor::RunError> {
    use super::catchup::{read_to_ends, Read};
    use rdkafka::Message;
    let mut collected: HashMap<(String, i32), Collected> = HashMap::new();
    read_to_ends(reader, parts, "restoring snapshots", |r| {
        if let Read::Record(m) = r {
            *read += 1;
            collected
                .entry((m.topic().to_string(), m.partition()))
                .or_default()
                .apply(m.offset(), m.key().unwrap_or_default(), m.payload());
        }
        Ok(())
    })?;
    Ok(collected)
}

impl super::processor::Worker {
    /// Replaces the task of `input[p]` with the one a snapshot holds.
    fn install_snapshot(
        &mut self,
        input: &str,
        p: i32,
        bytes: &[u8],
        chunks: u32,
    ) -> Result<(), SnapshotError> {
        use super::topology::TopicKind;
        let kind = self.topo.kind(input);
        match kind {
            Some(TopicKind::OrderEvents) => {
                let mut t = decode_order(bytes, p, &mut self.ctx())?;
                t.stage.set_emit_records(!self.sink.muted);
                t.snap.chunks = chunks;
                self.orders.insert(p, t);
            }
            Some(TopicKind::TrackingEvents) => {
                let mut t = decode_tracking(bytes, p, &mut self.ctx())?;
                t.snap.chunks = chunks;
                self.tracking.insert(p, t);
            }
            Some(TopicKind::SellerEvents) => {
                let mut t = decode_seller(bytes, p, &mut self.ctx())?;
                t.snap.chunks = chunks;
                self.sellers.insert(p, t);
            }
            _ => {}
        }
        Ok(())
    }
}
