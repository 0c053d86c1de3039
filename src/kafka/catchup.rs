//! Reading partitions up to given end offsets, outside the consumer group: what a restore
//! does with the changelogs (to their end) and with the tasks' inputs (to the committed
//! offsets).

use super::processor::RunError;
use crate::config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tracing::warn;

/// A read that gets no record for this long fails.
const STALL: Duration = Duration::from_secs(60);

/// A consumer outside the group that reads committed records of the partitions it is given.
pub fn reader(cfg: &KafkaConfig) -> Result<BaseConsumer, KafkaError> {
    let mut client = super::client::client_config(cfg);
    let partition_bytes = client
        .get("max.partition.fetch.bytes")
        .unwrap_or(RESTORE_PARTITION_FETCH_BYTES)
        .to_string();
    client
        .set("group.id", format!("{}-restore", cfg.application_id))
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "10")
        .set("max.partition.fetch.bytes", partition_bytes)
        .create()
}

/// Closes a reader on a thread of its own: librdkafka takes about 100 ms to close a consumer,
/// which a restore need not wait for.
pub fn close_in_background(reader: BaseConsumer) {
    std::thread::spawn(move || drop(reader));
}

/// The restore reader's `max.partition.fetch.bytes`, unless `kafka.properties` sets it: 8 MiB
/// rather than librdkafka's 1 MiB, so that a fetch brings many 512 KB snapshot chunks of a
/// partition at once instead of one or two (librdkafka's `fetch.max.bytes`, 50 MB, still
/// bounds a fetch).
const RESTORE_PARTITION_FETCH_BYTES: &str = "8388608";

/// What [`read_to_ends`] hands over.
pub enum Read<'a> {
    /// A record before its partition's end.
    Record(&'a BorrowedMessage<'a>),
    /// A partition reached its end.
    End(&'a str, i32),
}

/// Assigns `parts` (`(topic, partition) -> (start, end)`) to `reader` and reads each from its
/// start until its end offset, handing every record before the end to `on`, then the end.
/// `what` names the partitions in the error after [`STALL`] without a record.
pub fn read_to_ends(
    reader: &BaseConsumer,
    parts: &BTreeMap<(String, i32), (Offset, i64)>,
    what: &str,
    mut on: impl FnMut(Read<'_>) -> Result<(), RunError>,
) -> Result<(), RunError> {
    let mut left: BTreeMap<(String, i32), i64> = parts
        .iter()
        .map(|(k, (_, end))| (k.clone(), *end))
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, p), (start, _)) in parts {
        tpl.add_partition_offset(topic, *p, *start)?;
    }
    reader.assign(&tpl)?;
    let mut last_progress = Instant::now();
    while !left.is_empty() {
        match reader.poll(Duration::from_millis(20)) {
            Some(Ok(m)) => {
                let key = (m.topic().to_string(), m.partition());
                let Some(&end) = left.get(&key) else {
                    continue;
                };
                last_progress = Instant::now();
                if m.offset() < end {
                    on(Read::Record(&m))?;
                }
                if m.offset() + 1 >= end {
                    left.remove(&key);
                    on(Read::End(&key.0, key.1))?;
                }
            }
            Some(Err(e)) => return Err(e.into()),
            None => {
                // Only transaction markers may be left before a partition's end.
                for e in reader.position()?.elements() {
                    let key = (e.topic().to_string(), e.partition());
                    let at_end = matches!(
                        (e.offset().to_raw(), left.get(&key)),
                        (Some(pos), Some(&end)) if pos >= end
                    );
                    if at_end {
                        left.remove(&key);
                        on(Read::End(&key.0, key.1))?;
                    }
                }
                if !left.is_empty() && last_progress.elapsed() > STALL {
                    return Err(RunError::Restore(format!(
                        "{what}: no progress for {} s; partitions left: {:?}",
                        STALL.as_secs(),
                        left.keys().collect::<Vec<_>>()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The value of the record just before `end` in each of `parts` (`(topic, partition, end)`)
/// that still holds it, read within `within`. Best effort: a record gone with the topic's
/// retention, a transaction marker there, or a broker that does not answer in time gives
/// nothing for that partition, and an error is only logged.
pub fn records_before(
    reader: &BaseConsumer,
    parts: &[(String, i32, i64)],
    within: Duration,
) -> Vec<(String, i32, Vec<u8>)> {
    let mut tpl = TopicPartitionList::new();
    let mut wanted = BTreeMap::new();
    for (topic, p, end) in parts {
        match reader.fetch_watermarks(topic, *p, within) {
            Ok((low, high)) if low < *end && *end <= high => {
                let added = tpl.add_partition_offset(topic, *p, Offset::Offset(end - 1));
                if added.is_ok() {
                    wanted.insert((topic.clone(), *p), end - 1);
                }
            }
            Ok(_) => {}
            Err(e) => {
                warn!(topic, partition = p, error = %e, "cannot read the offsets of an input partition")
            }
        }
    }
    let mut found = Vec::new();
    if wanted.is_empty() {
        return found;
    }
    if let Err(e) = reader.assign(&tpl) {
        warn!(error = %e, "cannot read the inputs' last records");
        return found;
    }
    let started = Instant::now();
    while !wanted.is_empty() && started.elapsed() < within {
        match reader.poll(Duration::from_millis(20)) {
            Some(Ok(m)) => {
                let key = (m.topic().to_string(), m.partition());
                if wanted.get(&key) == Some(&m.offset()) {
                    wanted.remove(&key);
                    found.push((key.0, key.1, m.payload().unwrap_or_default().to_vec()));
                }
            }
            Some(Err(e)) => {
                warn!(error = %e, "reading the inputs' last records");
                break;
            }
            None => {}
        }
    }
    found
}
