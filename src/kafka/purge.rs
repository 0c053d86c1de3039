//! Purging the internal event topics: once a task's snapshot is committed, the records of
//! its input partition before the snapshot's offset are never read again (a restore starts
//! at the snapshot), so they are deleted (`DeleteRecords`), as Kafka Streams purges its
//! repartition topics. The requests run on a thread of their own, off the poll loop.

use super::topics::block_on;
use crate::config::KafkaConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, warn};

/// Sends purge requests to the purging thread; dropping it ends the thread.
pub struct Purger {
    requests: Sender<Vec<(String, i32, i64)>>,
    thread: std::thread::JoinHandle<()>,
    stopping: Arc<AtomicBool>,
    /// Disconnected when the thread ends.
    done: Receiver<()>,
}

/// How long a stopping instance waits for a purge in flight. Purging is housekeeping: what
/// is not purged now is purged after the next snapshot, by whichever instance owns the
/// partition (the internal event topics have no time retention).
const FINISH_WAIT: Duration = Duration::from_secs(2);

impl Purger {
    /// Starts the purging thread.
    pub fn start(cfg: &KafkaConfig) -> Result<Purger, KafkaError> {
        let admin: AdminClient<DefaultClientContext> =
            super::client::client_config(cfg).create()?;
        let (requests, received) = channel::<Vec<(String, i32, i64)>>();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let (ended, done) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("vtrack-purge".into())
            .spawn(move || {
                let _ended = ended;
                let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
                for batch in received {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    purge(&admin, &options, &batch);
                }
            })
            .map_err(|e| KafkaError::ClientCreation(format!("purge thread: {e}")))?;
        Ok(Purger {
            requests,
            thread,
            stopping,
            done,
        })
    }

    /// Ends the thread once the requests made so far are done (the last snapshots' purge
    /// among them), waiting at most 2 s: a stopping instance does not wait on housekeeping,
    /// and what is left then is dropped.
    pub fn finish(self) {
        drop(self.requests);
        match self.done.recv_timeout(FINISH_WAIT) {
            Err(RecvTimeoutError::Timeout) => {
                self.stopping.store(true, Ordering::Relaxed);
                debug!("stopping without waiting for the purges left");
            }
            _ => {
                let _ = self.thread.join();
            }
        }
    }

    /// Asks to delete the records before `offset` of each `(topic, partition, offset)`.
    pub fn request(&self, batch: Vec<(String, i32, i64)>) {
        if !batch.is_empty() {
            let _ = self.requests.send(batch);
        }
    }
}

fn purge(
    admin: &AdminClient<DefaultClientContext>,
    options: &AdminOptions,
    batch: &[(String, i32, i64)],
) {
    let mut tpl = TopicPartitionList::new();
    for (topic, partition, offset) in batch {
        if tpl
            .add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .is_err()
        {
            return;
        }
    }
    match block_on(admin.delete_records(&tpl, options)) {
        Ok(result) => {
            for e in result.elements() {
                if let Err(err) = e.error() {
                    warn!(topic = e.topic(), partition = e.partition(), error = %err, "purging records failed");
                } else {
                    debug!(topic = e.topic(), partition = e.partition(), low = ?e.offset(), "purged");
                }
            }
        }
        Err(e) => warn!(error = %e, "purging records failed"),
    }
}
