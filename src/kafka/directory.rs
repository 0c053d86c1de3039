//! The instance directory: which instance owns which internal partition, and the URL its
//! queries are served on. Each instance writes its own entry (key: instance id) to the
//! compacted topic `<application_id>-instances` after every assignment and revocation and
//! every 30 s, inside its transaction, and a tombstone when it stops; every instance reads
//! the whole topic, so any instance can forward a query to the owner of the key.

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
#[derive(Debug)]
pub struct Directory {
    members: RwLock<BTreeMap<String, Member>>,
    /// How old an entry may be and still be listed, in milliseconds.
    fresh_ms: i64,
}

impl Default for Directory {
    fn default() -> Self {
        Directory::listing_entries_newer_than(MEMBER_FRESH_MS)
    }
}

impl Directory {
    /// An empty directory whose listing leaves out entries older than `fresh_ms`.
    pub fn listing_entries_newer_than(fresh_ms: i64) -> Directory {
        Directory {
            members: RwLock::default(),
            fresh_ms,
        }
    }

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

    /// The instances listed as of wall-clock `now` (milliseconds), by instance id: those whose
    /// entry was written within its freshness limit (a live instance rewrites it every
    /// [`REFRESH_EVERY`]; one killed with `kill -9` leaves no tombstone), each with only the
    /// partitions no other listed instance claimed after it (a killed instance's partitions
    /// belong to their new owner at once).
    pub fn members(&self, now: i64) -> Vec<Member> {
        let members = self.members.read().unwrap_or_else(|p| p.into_inner());
        let live: Vec<&Member> = members
            .values()
            .filter(|m| now.saturating_sub(m.updated_at) <= self.fresh_ms)
            .collect();
        let claimed_later = |m: &Member, kind: TopicKind, p: i32| {
            live.iter().any(|o| {
                o.instance_id != m.instance_id
                    && o.updated_at > m.updated_at
                    && o.partitions(kind).contains(&p)
            })
        };
        live.iter()
            .map(|&m| {
                let keep = |kind: TopicKind| -> Vec<i32> {
                    let owned = m.partitions(kind).iter().copied();
                    owned.filter(|&p| !claimed_later(m, kind, p)).collect()
                };
                Member {
                    order_partitions: keep(TopicKind::OrderEvents),
                    tracking_partitions: keep(TopicKind::TrackingEvents),
                    seller_partitions: keep(TopicKind::SellerEvents),
                    ..m.clone()
                }
            })
            .collect()
    }
}

/// How often an instance rewrites its entry while it runs (besides every assignment and
/// revocation), so the listing can tell live instances from killed ones.
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// An entry older than this is not listed, by default: longer than a restore inside a
/// rebalance may keep an instance from rewriting it (librdkafka's `max.poll.interval.ms`, 5
/// minutes by default; [`freshness_for`] follows a configured one).
pub const MEMBER_FRESH_MS: i64 = 6 * 60 * 1000;

/// The freshness limit for a consumer whose `max.poll.interval.ms` is `max_poll_ms`: a minute
/// more, and never under [`MEMBER_FRESH_MS`].
pub fn freshness_for(max_poll_ms: Option<i64>) -> i64 {
    max_poll_ms.map_or(MEMBER_FRESH_MS, |ms| {
        MEMBER_FRESH_MS.max(ms.saturating_add(60_000))
    })
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
        assert_eq!(d.members(10).len(), 1);
    }

    #[test]
    fn the_listing_drops_stale_entries_and_partitions_claimed_later() {
        let d = Directory::default();
        // `a` was killed owning 0 and 1; `b` took 1 later; `c` stands by.
        d.apply("a", Some(&member("a", vec![0, 1], 1_000)));
        d.apply("b", Some(&member("b", vec![1], 2_000)));
        d.apply("c", Some(&member("c", vec![], 3_000)));
        let listed = |now| -> Vec<(String, Vec<i32>)> {
            d.members(now)
                .into_iter()
                .map(|m| (m.instance_id, m.order_partitions))
                .collect()
        };
        assert_eq!(
            listed(3_000),
            vec![
                ("a".into(), vec![0]),
                ("b".into(), vec![1]),
                ("c".into(), vec![])
            ]
        );
        // Once `a` has not rewritten its entry for too long, it is not listed any more;
        // the others, refreshed, are.
        assert_eq!(freshness_for(None), MEMBER_FRESH_MS);
        assert_eq!(freshness_for(Some(900_000)), 960_000);
        d.apply("b", Some(&member("b", vec![0, 1], 1_000 + MEMBER_FRESH_MS)));
        d.apply("c", Some(&member("c", vec![], 1_000 + MEMBER_FRESH_MS)));
        let later = 1_001 + MEMBER_FRESH_MS;
        assert_eq!(
            listed(later),
            vec![("b".into(), vec![0, 1]), ("c".into(), vec![])]
        );
    }
}
