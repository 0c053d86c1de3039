//! The queries of the HTTP endpoint, answered from this instance's tasks, or by naming the
//! instance that owns the key (see [`crate::http::query`]).

use super::directory::Directory;
use super::processor::Worker;
use super::tasks::order_key;
use super::topology::{partition_of, TopicKind};
use crate::http::health::Health;
use crate::http::query::{Answer, Lookup};
use crate::timestamp::format_rfc3339;
use serde_json::json;
use std::sync::{Arc, Mutex, MutexGuard};

/// Answers queries from a running processor.
pub struct KafkaLookup {
    /// The processor's state.
    pub worker: Arc<Mutex<Worker>>,
    /// Whether a restore holds the state.
    pub health: Arc<Health>,
    /// Who owns which partition.
    pub directory: Arc<Directory>,
    /// Partitions of the internal topics.
    pub partitions: i32,
    /// This instance's id.
    pub instance_id: String,
}

impl KafkaLookup {
    fn worker(&self) -> MutexGuard<'_, Worker> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers from the local task of `partition` when this instance owns it (`local` returns
    /// `None` otherwise), else names the owner.
    fn at(
        &self,
        kind: TopicKind,
        partition: i32,
        local: impl FnOnce(&Worker) -> Option<Answer>,
    ) -> Answer {
        if self.health.is_restoring() {
            return Answer::Unavailable(
                "this instance is restoring state; try again shortly".into(),
            );
        }
        if let Some(answer) = local(&self.worker()) {
            return answer;
        }
        match self.directory.owner(kind, partition, &self.instance_id) {
            Some(m) if !m.url.is_empty() => Answer::Elsewhere {
                instance: m.instance_id,
                url: m.url,
            },
            Some(m) => Answer::Unavailable(format!(
                "instance {} owns the key but serves no HTTP endpoint",
                m.instance_id
            )),
            None => Answer::Unavailable(format!(
                "no instance owns partition {partition} of the key yet (rebalancing?)"
            )),
        }
    }
}

impl Lookup for KafkaLookup {
    fn seller_vtr(&self, seller_id: &str) -> Answer {
        let p = partition_of(seller_id.as_bytes(), self.partitions);
        self.at(TopicKind::SellerEvents, p, |w| {
            let task = w.sellers.get(&p)?;
            let Some(min) = task.clock.min() else {
                return Some(Answer::Unavailable(
                    "the seller task has no event time yet".into(),
                ));
            };
            let as_of = min.saturating_sub(w.config.engine.allowed_lateness);
            let rows = task.stage.seller_rows(seller_id, as_of, &w.syms);
            Some(if rows.is_empty() {
                Answer::NotFound(format!("no seller-vtr rows for seller `{seller_id}`"))
            } else {
                Answer::Found(json!({
                    "seller_id": seller_id,
                    "as_of": format_rfc3339(as_of),
                    "rows": rows,
                }))
            })
        })
    }

    fn package(&self, seller_id: &str, order_id: &str, package_id: &str) -> Answer {
        let p = partition_of(order_key(seller_id, order_id).as_bytes(), self.partitions);
        self.at(TopicKind::OrderEvents, p, |w| {
            let task = w.orders.get(&p)?;
            let record = task
                .stage
                .package_record(&w.syms, seller_id, order_id, package_id);
            Some(match record {
                Some(r) => Answer::Found(serde_json::to_value(r).unwrap_or_default()),
                None => Answer::NotFound(format!(
                    "no package `{package_id}` of order `{order_id}` of seller `{seller_id}`: \
                     never confirmed, or final and out of every seller window, so no longer \
                     held (its final verdict was written to the tracking-verdicts topic)"
                )),
            })
        })
    }

    fn instances(&self) -> serde_json::Value {
        json!({
            "instance_id": self.instance_id,
            "partitions": self.partitions,
            "members": self.directory.members(super::processor::wall_now()),
        })
    }

    fn instance_id(&self) -> String {
        self.instance_id.clone()
    }
}
