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
use std::sync::mpsc::{channel, Sender};
use std::time::Duration;
use tracing::{debug, warn};

/// Sends purge requests to the purging thread; dropping it ends the thread.
pub struct Purger {
    requests: Sender<Vec<(String, i32, i64)>>,
    thread: std::thread::JoinHandle<()>,
}

impl Purger {
    /// Starts the purging thread.
    pub fn start(cfg: &KafkaConfig) -> Result<Purger, KafkaError> {
        let admin: AdminClient<DefaultClientContext> =
            super::client::client_config(cfg).create()?;
        let (requests, received) = channel::<Vec<(String, i32, i64)>>();
        let thread = std::thread::Builder::new()
            .name("vtrack-purge".into())
            .spawn(move || {
                let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
                for batch in received {
                    purge(&admin, &options, &batch);
                }
            })
            .map_err(|e| KafkaError::ClientCreation(format!("purge thread: {e}")))?;
        Ok(Purger { requests, thread })
    }

    /// Waits for the requests sent so far to be done, and ends the thread.
    pub fn finish(self) {
        drop(self.requests);
        let _ = self.thread.join();
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
