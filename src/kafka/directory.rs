//! The instance directory: which instance owns which internal partition, and the URL its
//! queries are served on. Each instance writes its own entry (key: instance id) to the
//! compacted topic `<application_id>-instances` after every assignment and revocation, inside
//! its transaction, and a tombstone when it stops; every instance reads the whole topic, so
//! any instance can forward a query to the owner of the key.

use super::topology::TopicKind;
use crate::config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tracing::warn;

/// One instance's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The instance id.
    pub instance_id: String,
    /// Base URL of its HTTP endpoint (empty: it serves none).
    pub url: String,
    /// Partitions of `<app>-order-events` it owns.
    pub order_partitions: Vec<i32>,
    /// Partitions of `<app>-tracking-events` it owns.
    pub tracking_partitions: Vec<i32>,
    /// Partitions of `<app>-seller-events` it owns.
    pub seller_partitions: Vec<i32>,
    /// Wall-clock milliseconds when it was written; the newest claim of a partition wins.
    pub updated_at: i64,
}

impl Member {
    /// The partitions of a stage's topic it owns.
    pub fn partitions(&self, kind: TopicKind) -> &[i32] {
        match kind {
            TopicKind::OrderEvents => &self.order_partitions,
            TopicKind::TrackingEvents => &self.tracking_partitions,
            TopicKind::SellerEvents => &self.seller_partitions,
            TopicKind::Confirmations | TopicKind::Scans => &[],
        }
    }
}

/// Every instance's latest entry.
#[derive(Debug, Default)]
pub struct Directory {
    members: RwLock<BTreeMap<String, Member>>,
}

impl Directory {
    /// Applies one record of the topic: an entry, or a tombstone (`None`).
    pub fn apply(&self, key: &str, value: Option<&[u8]>) {
        let mut members = self.members.write().unwrap_or_else(|p| p.into_inner());
        match value.map(serde_json::from_slice::<Member>) {
            None => {
                members.remove(key);
            }
            Some(Ok(m)) => {
                members.insert(key.to_string(), m);
            }
            Some(Err(e)) => warn!(key, error = %e, "unreadable instance directory entry skipped"),
        }
    }

    /// The instance other than `me` that most recently claimed `partition` of a stage.
    pub fn owner(&self, kind: TopicKind, partition: i32, me: &str) -> Option<Member> {
        let members = self.members.read().unwrap_or_else(|p| p.into_inner());
        members
            .values()
            .filter(|m| m.instance_id != me && m.partitions(kind).contains(&partition))
            .max_by_key(|m| m.updated_at)
            .cloned()
    }

    /// Every entry, by instance id.
    pub fn members(&self) -> Vec<Member> {
        let members = self.members.read().unwrap_or_else(|p| p.into_inner());
        members.values().cloned().collect()
    }
}

/// Reads `topic` from its start into `directory` until `stop` is set.
pub fn spawn_reader(
    cfg: &KafkaConfig,
    topic: &str,
    directory: Arc<Directory>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, rdkafka::error::KafkaError> {
    let reader: BaseConsumer = super::client::client_config(cfg)
        .set("group.id", format!("{}-directory", cfg.application_id))
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    reader.assign(&tpl)?;
    let handle = std::thread::Builder::new()
        .name("vtrack-directory".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match reader.poll(Duration::from_millis(200)) {
                    Some(Ok(m)) => {
                        let key = m.key().map(String::from_utf8_lossy).unwrap_or_default();
                        directory.apply(&key, m.payload());
                    }
                    Some(Err(e)) => warn!(error = %e, "reading the instance directory"),
                    None => {}
                }
            }
        })
        .map_err(|e| {
            rdkafka::error::KafkaError::ClientCreation(format!("directory thread: {e}"))
        })?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, orders: Vec<i32>, at: i64) -> Vec<u8> {
        serde_json::to_vec(&Member {
            instance_id: id.into(),
            url: format!("http://{id}:8080"),
            order_partitions: orders,
            tracking_partitions: vec![],
            seller_partitions: vec![],
            updated_at: at,
        })
        .unwrap()
    }

    #[test]
    fn the_newest_claim_wins_and_tombstones_remove() {
        let d = Directory::default();
        d.apply("a", Some(&member("a", vec![0, 1], 10)));
        d.apply("b", Some(&member("b", vec![1], 20)));
        let owner = |p| {
            d.owner(TopicKind::OrderEvents, p, "me")
                .map(|m| m.instance_id)
        };
        assert_eq!(owner(0).as_deref(), Some("a"));
        assert_eq!(owner(1).as_deref(), Some("b"), "b claimed 1 after a");
        assert_eq!(owner(2), None);
        assert_eq!(
            d.owner(TopicKind::OrderEvents, 0, "a"),
            None,
            "never yourself"
        );
        d.apply("b", None);
        assert_eq!(owner(1).as_deref(), Some("a"));
        d.apply("c", Some(b"not json"));
        assert_eq!(d.members().len(), 1);
    }
}
