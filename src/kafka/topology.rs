//! Topic names and partition counts of one running application.

use super::wire::Source;
use crate::config::KafkaConfig;

/// Every topic an instance reads or writes, with the partition counts it needs.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Input: shipment confirmations.
    pub confirmations: String,
    /// Input: carrier scans.
    pub scans: String,
    /// Partitions of the confirmations topic.
    pub confirmations_partitions: i32,
    /// Partitions of the scans topic.
    pub scans_partitions: i32,
    /// Internal: the order stage's input.
    pub order_events: String,
    /// Internal: the tracking stage's input.
    pub tracking_events: String,
    /// Internal: the seller stage's input.
    pub seller_events: String,
    /// Partitions of every internal topic.
    pub internal_partitions: i32,
    /// Output: verdicts.
    pub verdicts: String,
    /// Output: seller VTR rows.
    pub seller_vtr: String,
    /// Output: late confirmations.
    pub late_confirmations: String,
    /// Output: bad input.
    pub dead_letters: String,
    /// Output: late events.
    pub late_events: String,
    /// Internal: the instance directory (query URL and owned partitions per instance).
    pub instances: String,
    /// Internal: snapshots of the order tasks' state.
    pub order_changelog: String,
    /// Internal: snapshots of the tracking tasks' state.
    pub tracking_changelog: String,
    /// Internal: snapshots of the seller tasks' state.
    pub seller_changelog: String,
}

/// What a topic the consumer reads is to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    /// Input: shipment confirmations.
    Confirmations,
    /// Input: carrier scans.
    Scans,
    /// Internal: the order stage's input.
    OrderEvents,
    /// Internal: the tracking stage's input.
    TrackingEvents,
    /// Internal: the seller stage's input.
    SellerEvents,
}

impl TopicKind {
    /// Every kind, inputs first.
    pub const ALL: [TopicKind; 5] = [
        TopicKind::Confirmations,
        TopicKind::Scans,
        TopicKind::OrderEvents,
        TopicKind::TrackingEvents,
        TopicKind::SellerEvents,
    ];
}

/// The name of an internal topic: `<application_id>-<name>`.
pub fn internal_name(app: &str, name: &str) -> String {
    format!("{app}-{name}")
}

impl Topology {
    /// The topology of a configuration, given the input topics' partition counts.
    pub fn new(cfg: &KafkaConfig, confirmations_partitions: i32, scans_partitions: i32) -> Self {
        let app = &cfg.application_id;
        Topology {
            confirmations: cfg.confirmations_topic.clone(),
            scans: cfg.scans_topic.clone(),
            confirmations_partitions,
            scans_partitions,
            order_events: internal_name(app, "order-events"),
            tracking_events: internal_name(app, "tracking-events"),
            seller_events: internal_name(app, "seller-events"),
            internal_partitions: cfg.internal_partitions,
            verdicts: cfg.verdicts_topic.clone(),
            seller_vtr: cfg.seller_vtr_topic.clone(),
            late_confirmations: cfg.late_confirmations_topic.clone(),
            dead_letters: cfg.dead_letter_topic.clone(),
            late_events: cfg.late_events_topic.clone(),
            instances: internal_name(app, "instances"),
            order_changelog: internal_name(app, "order-changelog"),
            tracking_changelog: internal_name(app, "tracking-changelog"),
            seller_changelog: internal_name(app, "seller-changelog"),
        }
    }

    /// Every input partition, as watermark sources.
    pub fn input_sources(&self) -> Vec<Source> {
        (0..self.confirmations_partitions)
            .map(Source::Confirmations)
            .chain((0..self.scans_partitions).map(Source::Scans))
            .collect()
    }

    /// The watermark source of a partition of an input topic, `None` for any other topic.
    pub fn input_source(&self, topic: &str, partition: i32) -> Option<Source> {
        match self.kind(topic)? {
            TopicKind::Confirmations => Some(Source::Confirmations(partition)),
            TopicKind::Scans => Some(Source::Scans(partition)),
            _ => None,
        }
    }

    /// What a topic the consumer reads is, `None` for any other topic.
    pub fn kind(&self, topic: &str) -> Option<TopicKind> {
        TopicKind::ALL.into_iter().find(|k| self.topic(*k) == topic)
    }

    /// The topic of a kind.
    pub fn topic(&self, kind: TopicKind) -> &str {
        match kind {
            TopicKind::Confirmations => &self.confirmations,
            TopicKind::Scans => &self.scans,
            TopicKind::OrderEvents => &self.order_events,
            TopicKind::TrackingEvents => &self.tracking_events,
            TopicKind::SellerEvents => &self.seller_events,
        }
    }

    /// The changelog of the stage that reads `kind`, if it is an internal topic.
    pub fn changelog_of(&self, kind: TopicKind) -> Option<&str> {
        match kind {
            TopicKind::OrderEvents => Some(&self.order_changelog),
            TopicKind::TrackingEvents => Some(&self.tracking_changelog),
            TopicKind::SellerEvents => Some(&self.seller_changelog),
            TopicKind::Confirmations | TopicKind::Scans => None,
        }
    }

    /// Every topic the instance writes to.
    pub fn produced_topics(&self) -> Vec<&str> {
        vec![
            &self.order_events,
            &self.tracking_events,
            &self.seller_events,
            &self.verdicts,
            &self.seller_vtr,
            &self.late_confirmations,
            &self.dead_letters,
            &self.late_events,
            &self.instances,
            &self.order_changelog,
            &self.tracking_changelog,
            &self.seller_changelog,
        ]
    }

    /// The topics the consumer subscribes to.
    pub fn subscriptions(&self) -> Vec<&str> {
        vec![
            &self.confirmations,
            &self.scans,
            &self.order_events,
            &self.tracking_events,
            &self.seller_events,
        ]
    }
}

/// The partition Kafka's `murmur2_random` partitioner (the Java client's default) gives a
/// non-empty key: `(murmur2(key) & 0x7fffffff) % partitions`.
pub fn partition_of(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

/// Kafka's 32-bit murmur2 hash (seed `0x9747b28c`), as the Java client computes it.
pub fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if let Some(&b) = rest.first() {
        h ^= u32::from(b);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Java client's own test vectors (`UtilsTest.testMurmur2`).
    #[test]
    fn murmur2_matches_the_java_client() {
        let cases: [(&str, i32); 6] = [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            ("abc", 479470107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()) as i32, expected, "{key}");
        }
        assert!((0..8).contains(&partition_of(b"seller-1", 8)));
    }
}
