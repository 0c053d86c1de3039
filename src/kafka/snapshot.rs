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

/// The changelog records of a snapshot, in the order they are written (each chunk's value is
/// made when it is sent): tombstones for the chunks of the last snapshot (`last_chunks`)
/// beyond this one's, the chunks, the manifest.
/// The chunks are the records right before the manifest, which is what lets a restore read
/// only them ([`next_read`]).
pub fn snapshot_records<'a>(
    manifest: &'a Manifest,
    bytes: &'a [u8],
    last_chunks: u32,
) -> impl Iterator<Item = (String, Option<Vec<u8>>)> + 'a {
    let stale = (manifest.chunks..last_chunks).map(|i| (chunk_key(i), None));
    let chunks = bytes.chunks(CHUNK_BYTES).enumerate().map(|(i, chunk)| {
        let value = chunk_value(manifest.epoch, chunk);
        (chunk_key(i as u32), Some(value))
    });
    let value = postcard::to_stdvec(manifest).unwrap_or_default();
    stale
        .chain(chunks)
        .chain(std::iter::once((MANIFEST_KEY.to_string(), Some(value))))
}

/// Records at the end of a changelog partition read when the last [`TAIL_RECORDS`] hold no
/// manifest (a snapshot's transaction that aborted after it was written, say).
pub const WIDE_TAIL_RECORDS: i64 = 64;

/// What to do next for a changelog partition holding offsets `low..high`.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// Install this snapshot: the latest complete one.
    Snapshot(Manifest, Vec<u8>),
    /// Read the records of offsets `start..end` (a fresh [`Collected`]).
    Read(i64, i64),
    /// The partition holds no complete snapshot.
    Nothing,
}

/// The offsets a restore reads first of a changelog partition `low..high`: its last few
/// records, where its latest manifest is.
pub fn first_read(low: i64, high: i64) -> (i64, i64) {
    ((high - TAIL_RECORDS).max(low), high)
}

/// What to do after reading offsets `start..end` of a changelog partition `low..high` into
/// `c`: install the latest snapshot when they hold all of it; else read the span its manifest
/// names (its chunks are the records right before it), a wider tail when no manifest was
/// among them, and at last the whole partition.
pub fn next_read(c: &Collected, (start, end): (i64, i64), (low, high): (i64, i64)) -> Next {
    if let Some((manifest, bytes)) = c.snapshot() {
        return Next::Snapshot(manifest, bytes);
    }
    if start <= low && end >= high {
        return Next::Nothing;
    }
    match c.latest_span() {
        Some((from, to)) if (from.max(low), to) != (start, end) => Next::Read(from.max(low), to),
        None if end == high && end - start < WIDE_TAIL_RECORDS => {
            Next::Read((high - WIDE_TAIL_RECORDS).max(low), high)
        }
        _ => Next::Read(low, high),
    }
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

    /// A changelog partition in memory: `(offset, key, value)`, with offsets left out where
    /// transaction markers and aborted records lie.
    type Log = Vec<(i64, String, Option<Vec<u8>>)>;

    /// Appends one committed transaction of `records` (and its commit marker's offset).
    fn commit(log: &mut Log, next: &mut i64, records: Vec<(String, Option<Vec<u8>>)>) {
        for (key, value) in records {
            log.push((*next, key, value));
            *next += 1;
        }
        *next += 1;
    }

    /// Appends a snapshot of `bytes` at input offset `offset` as [`Out::write`] does.
    fn snapshot(log: &mut Log, next: &mut i64, epoch: i64, bytes: &[u8], last_chunks: u32) -> u32 {
        let manifest = Manifest {
            epoch,
            offset: epoch * 10,
            chunks: bytes.chunks(CHUNK_BYTES).len() as u32,
        };
        commit(
            log,
            next,
            snapshot_records(&manifest, bytes, last_chunks).collect(),
        );
        manifest.chunks
    }

    /// What a restore of the partition `low..high` installs, and how many records it reads.
    fn restore(log: &Log, low: i64, high: i64) -> (Option<(Manifest, Vec<u8>)>, usize) {
        let (start, end) = first_read(low, high);
        let (mut step, mut read) = (Next::Read(start, end), 0);
        loop {
            match step {
                Next::Read(start, end) => {
                    let mut c = Collected::default();
                    for (offset, key, value) in log.iter().filter(|r| (start..end).contains(&r.0)) {
                        read += 1;
                        c.apply(*offset, key.as_bytes(), value.as_deref());
                    }
                    step = next_read(&c, (start, end), (low, high));
                }
                Next::Snapshot(m, bytes) => return (Some((m, bytes)), read),
                Next::Nothing => return (None, read),
            }
        }
    }

    fn state(n: usize, fill: u8) -> Vec<u8> {
        vec![fill; n]
    }

    #[test]
    fn a_restore_reads_the_latest_snapshot_and_not_the_older_ones() {
        let (mut log, mut next) = (Log::new(), 0);
        // Snapshots of 3, 1, 4 and then 2 chunks: the last one tombstones two stale chunks.
        let mut chunks = 0;
        for (epoch, size) in [
            (1, 2 * CHUNK_BYTES + 5),
            (2, 9),
            (3, 3 * CHUNK_BYTES + 1),
            (4, CHUNK_BYTES + 1),
        ] {
            chunks = snapshot(
                &mut log,
                &mut next,
                epoch,
                &state(size, epoch as u8),
                chunks,
            );
        }
        let (found, read) = restore(&log, 0, next);
        let (m, bytes) = found.expect("a snapshot");
        assert_eq!((m.epoch, bytes), (4, state(CHUNK_BYTES + 1, 4)));
        // The tail: the last 4 offsets hold both chunks, the manifest and its marker.
        assert_eq!(read, 3, "of {} records", log.len());
        // Two more chunks: the tail holds the manifest and the last two; the span all four.
        let bytes = state(4 * CHUNK_BYTES, 5);
        snapshot(&mut log, &mut next, 5, &bytes, chunks);
        let (found, read) = restore(&log, 0, next);
        assert_eq!(found.map(|(m, b)| (m.epoch, b)), Some((5, bytes)));
        assert_eq!(read, 3 + 5, "of {} records", log.len());
    }

    #[test]
    fn a_small_snapshot_is_read_with_the_tail_alone() {
        let (mut log, mut next) = (Log::new(), 0);
        snapshot(&mut log, &mut next, 1, &state(100, 1), 0);
        snapshot(&mut log, &mut next, 2, &state(50, 2), 1);
        let (found, read) = restore(&log, 0, next);
        assert_eq!(found.map(|(m, b)| (m.epoch, b)), Some((2, state(50, 2))));
        assert_eq!(read, 2);
    }

    #[test]
    fn an_aborted_snapshot_after_the_latest_widens_the_tail() {
        let (mut log, mut next) = (Log::new(), 0);
        let mut chunks = 0;
        for epoch in 1..=40 {
            chunks = snapshot(&mut log, &mut next, epoch, &state(9, epoch as u8), chunks);
        }
        snapshot(&mut log, &mut next, 41, &state(2 * CHUNK_BYTES, 41), chunks);
        // A snapshot of 10 chunks whose transaction aborted: offsets a reader never sees.
        next += 11;
        let (found, read) = restore(&log, 0, next);
        assert_eq!(
            found.map(|(m, b)| (m.epoch, b)),
            Some((41, state(2 * CHUNK_BYTES, 41)))
        );
        // Nothing in the last 4 offsets; the last 64 hold the snapshot.
        let wide = log
            .iter()
            .filter(|r| r.0 >= next - WIDE_TAIL_RECORDS)
            .count();
        assert!(wide < log.len());
        assert_eq!(read, wide);
    }

    #[test]
    fn a_snapshot_in_the_earlier_layout_is_found_by_reading_everything() {
        let (mut log, mut next) = (Log::new(), 0);
        snapshot(&mut log, &mut next, 1, &state(3 * CHUNK_BYTES, 1), 0);
        // Chunks, then the stale chunks' tombstones, then the manifest.
        let manifest = Manifest {
            epoch: 2,
            offset: 20,
            chunks: 1,
        };
        let mut records: Vec<_> = snapshot_records(&manifest, &state(7, 2), 0).collect();
        let m = records.pop().expect("manifest");
        records.extend((1..3).map(|i| (chunk_key(i), None)));
        records.push(m);
        commit(&mut log, &mut next, records);
        let (found, read) = restore(&log, 0, next);
        assert_eq!(found.map(|(m, b)| (m.epoch, b)), Some((2, state(7, 2))));
        assert_eq!(
            read,
            3 + 2 + log.len(),
            "tail, span, then the whole partition"
        );
    }

    #[test]
    fn a_partition_without_a_manifest_has_no_snapshot() {
        let (mut log, mut next) = (Log::new(), 0);
        commit(
            &mut log,
            &mut next,
            vec![(chunk_key(0), Some(chunk_value(1, b"x")))],
        );
        assert_eq!(restore(&log, 0, next), (None, 1));
    }

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
        let manifest = Manifest {
            epoch: super::processor::wall_now(),
            offset,
            chunks: bytes.chunks(CHUNK_BYTES).len() as u32,
        };
        for (key, value) in snapshot_records(&manifest, bytes, clock.chunks) {
            let key = Some(key.as_bytes());
            self.sink
                .send(t.changelog, Some(t.partition), key, value.as_deref(), None)?;
        }
        clock.written(entries as u64, manifest.chunks);
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
        use super::catchup::{read_to_ends, Read};
        use rdkafka::Message;
        let mut read = 0u64;
        let mut starts = HashMap::new();
        let mut reads: std::collections::BTreeMap<(String, i32), (i64, i64)> = parts
            .iter()
            .map(|(k, &(low, high))| (k.clone(), first_read(low, high)))
            .collect();
        while !reads.is_empty() {
            // A reader of its own for each round: partitions assigned again to the same
            // consumer could show the previous round's position before their fetch restarts.
            let round = super::catchup::reader(&self.config.kafka)?;
            // An offset, not `Offset::Beginning`: that one makes librdkafka look the start up
            // first, which took about half a second here. Changelogs are never purged, so
            // their first offset does not move.
            let batch = reads
                .iter()
                .map(|(k, &(start, end))| (k.clone(), (Offset::Offset(start), end)))
                .collect();
            let mut collected: HashMap<(String, i32), Collected> = HashMap::new();
            let mut next = std::collections::BTreeMap::new();
            // A partition's snapshot is installed as soon as its read ends, while librdkafka
            // goes on fetching the others.
            read_to_ends(&round, &batch, "restoring snapshots", |r| match r {
                Read::Record(m) => {
                    read += 1;
                    collected
                        .entry((m.topic().to_string(), m.partition()))
                        .or_default()
                        .apply(m.offset(), m.key().unwrap_or_default(), m.payload());
                    Ok(())
                }
                Read::End(topic, p) => {
                    let k = (topic.to_string(), p);
                    let c = collected.remove(&k).unwrap_or_default();
                    match next_read(&c, reads[&k], parts[&k]) {
                        Next::Snapshot(manifest, bytes) => {
                            let (input, end) = &inputs[&k];
                            let at = self.use_snapshot(
                                reader,
                                &k.0,
                                (input, p, *end),
                                manifest,
                                &bytes,
                            )?;
                            starts.extend(at.map(|offset| ((input.clone(), p), offset)));
                        }
                        Next::Read(start, end) => {
                            next.insert(k, (start, end));
                        }
                        Next::Nothing => {}
                    }
                    Ok(())
                }
            })?;
            super::catchup::close_in_background(round);
            reads = next;
        }
        Ok((starts, read))
    }

    /// Installs the snapshot `manifest` names (with `bytes`) read from `changelog` for input
    /// partition `(input, p)`, committed up to `end`; returns the input offset its state is
    /// at (`None`: the snapshot is not used, and the input is re-read from its beginning).
    fn use_snapshot(
        &mut self,
        reader: &rdkafka::consumer::BaseConsumer,
        changelog: &str,
        (input, p, end): (&str, i32, i64),
        manifest: Manifest,
        bytes: &[u8],
    ) -> Result<Option<i64>, super::processor::RunError> {
        use rdkafka::consumer::Consumer;
        if manifest.offset > end {
            tracing::warn!(%changelog, p, "snapshot ahead of the committed offset: ignored");
            return Ok(None);
        }
        let Err(e) = self.install_snapshot(input, p, bytes, manifest.chunks) else {
            return Ok(Some(manifest.offset));
        };
        // Records before a committed snapshot are purged: without the snapshot, the state
        // cannot be rebuilt from what is left.
        let (low, _) = reader.fetch_watermarks(input, p, Duration::from_secs(30))?;
        if low > 0 {
            return Err(super::processor::RunError::Restore(format!(
                "the snapshot in {changelog}[{p}] is unreadable ({e}) and {input}[{p}] \
                 was purged up to offset {low}: run the vtrack version that wrote it"
            )));
        }
        tracing::warn!(%changelog, p, error = %e, "unreadable snapshot: re-reading the whole input");
        Ok(None)
    }
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
