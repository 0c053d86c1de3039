//! The processor's metric handles, registered once at start-up (names in [`crate::metrics`]).
//! Per-record counts are kept in plain integers and added to the counters at each commit.

use super::topology::{TopicKind, Topology};
use crate::metrics as m;
use crate::records::{LateConfirmationRecord, Reason, Status, VerdictRecord};
use metrics::{counter, gauge, histogram, Counter, Histogram};
use std::collections::BTreeMap;

/// The stage label of a topic the consumer reads.
pub fn stage_of(kind: TopicKind) -> &'static str {
    match kind {
        TopicKind::Confirmations | TopicKind::Scans => "ingest",
        TopicKind::OrderEvents => "order",
        TopicKind::TrackingEvents => "tracking",
        TopicKind::SellerEvents => "seller",
    }
}

/// The position of a kind in [`TopicKind::ALL`] (the two inputs first), which indexes the
/// per-kind counters.
fn kind_index(kind: TopicKind) -> usize {
    TopicKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// The processor's metrics.
pub struct Meters {
    consumed: [Counter; 5],
    consumed_pending: [u64; 5],
    input_events: [Counter; 2],
    verdicts: [Counter; 4],
    final_verdicts: [Counter; 4],
    reasons: [Counter; 11],
    /// Final VALID and INVALID verdicts per resolved carrier (`unknown` for none).
    carriers: BTreeMap<String, (u64, u64)>,
    event_latency: Histogram,
    arrival_latency: Histogram,
    /// Transactions committed.
    pub commits: Counter,
    /// Transactions aborted.
    pub aborts: Counter,
    /// Commit durations.
    pub commit_seconds: Histogram,
    /// Records re-read by restores.
    pub restore_records: Counter,
    /// Restore durations.
    pub restore_seconds: Histogram,
}

impl Meters {
    /// Registers every handle for a topology.
    pub fn new(topo: &Topology) -> Self {
        let consumed = TopicKind::ALL.map(|k| {
            let topic = topo.topic(k).to_string();
            counter!(m::RECORDS_CONSUMED, "topic" => topic, "stage" => stage_of(k))
        });
        let input_events = [&topo.confirmations, &topo.scans]
            .map(|t| counter!(m::INPUT_EVENTS, "topic" => t.clone()));
        register_rare_series(topo);
        Meters {
            consumed,
            consumed_pending: [0; 5],
            input_events,
            verdicts: Status::ALL.map(|s| counter!(m::VERDICTS, "status" => s.as_str())),
            final_verdicts: Status::ALL
                .map(|s| counter!(m::FINAL_VERDICTS, "status" => s.as_str())),
            reasons: Reason::ALL
                .map(|r| counter!(m::FINAL_VERDICT_REASONS, "reason" => r.as_str())),
            carriers: BTreeMap::new(),
            event_latency: histogram!(m::VERDICT_EVENT_TIME_LATENCY),
            arrival_latency: histogram!(m::VERDICT_ARRIVAL_LATENCY),
            commits: counter!(m::TRANSACTION_COMMITS),
            aborts: counter!(m::TRANSACTION_ABORTS),
            commit_seconds: histogram!(m::TRANSACTION_COMMIT_DURATION),
            restore_records: counter!(m::RESTORE_RECORDS),
            restore_seconds: histogram!(m::RESTORE_DURATION),
        }
    }

    /// Counts one record read (added to the counters at [`Meters::flush`]).
    pub fn consumed(&mut self, kind: TopicKind) {
        self.consumed_pending[kind_index(kind)] += 1;
    }

    /// Adds the counts kept since the last flush to the counters.
    pub fn flush(&mut self) {
        for (i, n) in self.consumed_pending.iter_mut().enumerate() {
            if *n > 0 {
                self.consumed[i].increment(*n);
                if i < 2 {
                    self.input_events[i].increment(*n);
                }
                *n = 0;
            }
        }
    }

    /// Counts a verdict record written; `arrival` is the Kafka timestamp of the record that
    /// caused it, `now` the wall clock, `by_event` whether an event (not a closing window)
    /// decided it.
    pub fn verdict(&mut self, v: &VerdictRecord, now: i64, arrival: Option<i64>, by_event: bool) {
        self.verdicts[status_index(v.status)].increment(1);
        if let Some(a) = arrival {
            self.arrival_latency.record(seconds(now - a));
        }
        if by_event {
            let latest = [Some(v.confirmed_at), v.first_scan_at, v.delivered_at]
                .into_iter()
                .flatten()
                .max();
            if let Some(t) = latest {
                self.event_latency.record(seconds(now - t));
            }
        }
        if !v.is_final {
            return;
        }
        self.final_verdicts[status_index(v.status)].increment(1);
        for r in &v.reasons {
            if let Some(i) = Reason::ALL.iter().position(|x| x == r) {
                self.reasons[i].increment(1);
            }
        }
        let carrier = v.carrier.as_deref().unwrap_or("unknown");
        if matches!(v.status, Status::Valid | Status::Invalid) {
            let entry = self.carriers.entry(carrier.to_string()).or_default();
            if v.status == Status::Valid {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }

    /// Counts a late-confirmation record written.
    pub fn late_confirmation(&self, l: &LateConfirmationRecord) {
        counter!(m::LATE_CONFIRMATIONS, "reason" => l.reason.as_str()).increment(1);
    }

    /// Sets the per-carrier valid ratio gauges.
    pub fn refresh_carrier_ratios(&self) {
        for (carrier, (valid, invalid)) in &self.carriers {
            let total = valid + invalid;
            if total > 0 {
                gauge!(m::CARRIER_VALID_RATIO, "carrier" => carrier.clone())
                    .set(*valid as f64 / total as f64);
            }
        }
    }
}

fn status_index(s: Status) -> usize {
    Status::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

fn seconds(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

/// Counts one bad input.
pub fn bad_input(topic: &str, reason: &'static str) {
    counter!(m::BAD_INPUT, "topic" => topic.to_string(), "reason" => reason).increment(1);
}

/// Registers, at 0, the series of events that may be rare, so that they are exported from
/// the start and an alert on `increase()` sees the first one.
fn register_rare_series(topo: &Topology) {
    use crate::codec::DecodeError;
    use crate::engine::messages::LateReason;
    for topic in [&topo.confirmations, &topo.scans] {
        for reason in DecodeError::KINDS
            .into_iter()
            .chain([FUTURE_TIME, TOO_LARGE])
        {
            counter!(m::BAD_INPUT, "topic" => topic.clone(), "reason" => reason).increment(0);
        }
        counter!(m::DUPLICATE_EVENTS, "topic" => topic.clone()).increment(0);
    }
    let late = [
        (&topo.confirmations, LateReason::WindowClosed),
        (&topo.scans, LateReason::ScanBeyondRetention),
        (&topo.scans, LateReason::ScanForClosedWindow),
    ];
    for (topic, reason) in late {
        counter!(m::LATE_EVENTS, "topic" => topic.clone(), "reason" => reason.as_str())
            .increment(0);
    }
    for stage in ["order", "tracking"] {
        counter!(m::EXPIRED_ENTRIES, "stage" => stage).increment(0);
    }
}

/// The bad-input reason of an event dated too far ahead of the wall clock.
pub const FUTURE_TIME: &str = "future_time";

/// The bad-input reason of an event whose internal record (the message it came in plus its
/// decoded fields) is larger than the producer may write (`message.max.bytes`).
pub const TOO_LARGE: &str = "too_large";

/// Counts one late event.
pub fn late_event(topic: &str, reason: &str) {
    counter!(m::LATE_EVENTS, "topic" => topic.to_string(), "reason" => reason.to_string())
        .increment(1);
}

/// Counts one duplicate input event.
pub fn duplicate_event(topic: &str) {
    counter!(m::DUPLICATE_EVENTS, "topic" => topic.to_string()).increment(1);
}

/// Counts state entries dropped by expiry: packages (`order`) or tracking IDs (`tracking`).
pub fn expired(stage: &'static str, entries: usize) {
    counter!(m::EXPIRED_ENTRIES, "stage" => stage).increment(entries as u64);
}

/// Counts one rebalance callback.
pub fn rebalance(kind: &'static str) {
    counter!(m::REBALANCES, "kind" => kind).increment(1);
}
