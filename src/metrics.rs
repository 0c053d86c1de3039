//! Every metric `vtrack run` exports, declared once here, described at start-up and served
//! as Prometheus text on `/metrics`.
//!
//! Names follow `vtrack_<noun>_<unit>[_total]`. Label values are bounded: topic names come
//! from the configuration, stages, statuses, reasons and kinds from fixed lists, carriers
//! from the carriers file (`unknown` for the rest), partitions from the partition counts.
//! Hot paths use handles registered up front and add counts in batches.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Input events read, per input topic.
pub const INPUT_EVENTS: &str = "vtrack_input_events_total";
/// Records read, per topic and stage (`ingest`, `order`, `tracking`, `seller`).
pub const RECORDS_CONSUMED: &str = "vtrack_records_consumed_total";
/// Records written, per topic (internal and output topics).
pub const RECORDS_PRODUCED: &str = "vtrack_records_produced_total";
/// Bad input sent to the dead-letter topic, per input topic and reason.
pub const BAD_INPUT: &str = "vtrack_bad_input_total";
/// Events later than the allowed lateness, sent to the late-events topic, per input topic and reason.
pub const LATE_EVENTS: &str = "vtrack_late_events_total";
/// Input events the state already holds, per input topic: a CONFIRM with its package's
/// current `event_id`, a physical scan whose carrier, time and delivery flag are held.
pub const DUPLICATE_EVENTS: &str = "vtrack_duplicate_events_total";
/// Verdict records written, per status.
pub const VERDICTS: &str = "vtrack_verdicts_total";
/// Packages whose verdict became final, per status.
pub const FINAL_VERDICTS: &str = "vtrack_final_verdicts_total";
/// Reasons carried by final verdicts, per reason.
pub const FINAL_VERDICT_REASONS: &str = "vtrack_final_verdict_reasons_total";
/// Late-confirmation records written, per reason.
pub const LATE_CONFIRMATIONS: &str = "vtrack_late_confirmations_total";
/// Sellers whose `*` row is at risk, per window, over this instance's seller partitions.
pub const SELLERS_AT_RISK: &str = "vtrack_sellers_at_risk";
/// VALID / (VALID + INVALID) of the final verdicts written since start, per resolved carrier.
pub const CARRIER_VALID_RATIO: &str = "vtrack_carrier_valid_ratio";
/// Records of each owned partition the loop has not read yet, up to the end (the last stable
/// offset): those not fetched plus those fetched and not handed out.
pub const CONSUMER_LAG: &str = "vtrack_consumer_lag_records";
/// Wall clock minus the event time of the slowest task, per stage.
pub const WATERMARK_LAG: &str = "vtrack_watermark_lag_seconds";
/// Entries held, per stage (packages, tracking IDs, seller rows).
pub const STATE_ENTRIES: &str = "vtrack_state_entries";
/// Bytes of state held, per stage.
pub const STATE_BYTES: &str = "vtrack_state_bytes";
/// State entries dropped because no later event can change them, per stage.
pub const EXPIRED_ENTRIES: &str = "vtrack_expired_entries_total";
/// Records re-read to restore state since start.
pub const RESTORE_RECORDS: &str = "vtrack_restore_records_total";
/// Records left to re-read by the restore in progress (0 when none).
pub const RESTORE_REMAINING: &str = "vtrack_restore_remaining_records";
/// Duration of each restore of newly assigned partitions.
pub const RESTORE_DURATION: &str = "vtrack_restore_duration_seconds";
/// Kafka transactions committed.
pub const TRANSACTION_COMMITS: &str = "vtrack_transaction_commits_total";
/// Kafka transactions aborted.
pub const TRANSACTION_ABORTS: &str = "vtrack_transaction_aborts_total";
/// Time to commit one transaction (offsets, then commit).
pub const TRANSACTION_COMMIT_DURATION: &str = "vtrack_transaction_commit_seconds";
/// Rebalance callbacks, per kind (`assign`, `revoke`, `lost`).
pub const REBALANCES: &str = "vtrack_rebalances_total";
/// Partitions owned, per stage (`ingest` for the input topics).
pub const ASSIGNED_PARTITIONS: &str = "vtrack_assigned_partitions";
/// From the latest event time a verdict holds (confirmation, first scan, delivery) to the
/// moment it is written, for verdicts an event changed (not those a closing window decided).
pub const VERDICT_EVENT_TIME_LATENCY: &str = "vtrack_verdict_event_time_latency_seconds";
/// From the arrival of the input record that caused a verdict or late confirmation (its
/// Kafka timestamp) to the moment the record is written.
pub const VERDICT_ARRIVAL_LATENCY: &str = "vtrack_verdict_arrival_latency_seconds";
/// 1 when the instance is ready (joined, restored, not far behind), else 0.
pub const READY: &str = "vtrack_ready";
/// Always 1, labelled with the version.
pub const BUILD_INFO: &str = "vtrack_build_info";

/// How a metric is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution with explicit buckets.
    Histogram,
}

/// Every metric: name, kind, unit, description. The operations guide lists the same names.
pub const ALL: &[(&str, Kind, Unit, &str)] = &[
    (
        INPUT_EVENTS,
        Kind::Counter,
        Unit::Count,
        "Input events read, per input topic.",
    ),
    (
        RECORDS_CONSUMED,
        Kind::Counter,
        Unit::Count,
        "Records read, per topic and stage.",
    ),
    (
        RECORDS_PRODUCED,
        Kind::Counter,
        Unit::Count,
        "Records written, per topic.",
    ),
    (
        BAD_INPUT,
        Kind::Counter,
        Unit::Count,
        "Bad input sent to the dead-letter topic, per input topic and reason.",
    ),
    (
        LATE_EVENTS,
        Kind::Counter,
        Unit::Count,
        "Events later than the allowed lateness, per input topic and reason.",
    ),
    (
        DUPLICATE_EVENTS,
        Kind::Counter,
        Unit::Count,
        "Input events the state already holds (duplicates, ignored), per input topic.",
    ),
    (
        VERDICTS,
        Kind::Counter,
        Unit::Count,
        "Verdict records written, per status.",
    ),
    (
        FINAL_VERDICTS,
        Kind::Counter,
        Unit::Count,
        "Packages whose verdict became final, per status.",
    ),
    (
        FINAL_VERDICT_REASONS,
        Kind::Counter,
        Unit::Count,
        "Reasons carried by final verdicts, per reason.",
    ),
    (
        LATE_CONFIRMATIONS,
        Kind::Counter,
        Unit::Count,
        "Late-confirmation records written, per reason.",
    ),
    (
        SELLERS_AT_RISK,
        Kind::Gauge,
        Unit::Count,
        "Sellers whose all-categories row is at risk, per window, on this instance.",
    ),
    (
        CARRIER_VALID_RATIO,
        Kind::Gauge,
        Unit::Count,
        "VALID / (VALID + INVALID) of final verdicts since start, per carrier.",
    ),
    (
        CONSUMER_LAG,
        Kind::Gauge,
        Unit::Count,
        "Records behind the end of each owned partition.",
    ),
    (
        WATERMARK_LAG,
        Kind::Gauge,
        Unit::Seconds,
        "Wall clock minus the event time of the slowest task, per stage.",
    ),
    (
        STATE_ENTRIES,
        Kind::Gauge,
        Unit::Count,
        "Entries of state held, per stage.",
    ),
    (
        EXPIRED_ENTRIES,
        Kind::Counter,
        Unit::Count,
        "State entries dropped because no later event can change them, per stage (packages of the order stage, tracking IDs of the tracking stage).",
    ),
    (
        STATE_BYTES,
        Kind::Gauge,
        Unit::Bytes,
        "Bytes of state held, per stage.",
    ),
    (
        RESTORE_RECORDS,
        Kind::Counter,
        Unit::Count,
        "Records re-read to restore state.",
    ),
    (
        RESTORE_REMAINING,
        Kind::Gauge,
        Unit::Count,
        "Records left to re-read by the restore in progress.",
    ),
    (
        RESTORE_DURATION,
        Kind::Histogram,
        Unit::Seconds,
        "Duration of each restore of newly assigned partitions.",
    ),
    (
        TRANSACTION_COMMITS,
        Kind::Counter,
        Unit::Count,
        "Kafka transactions committed.",
    ),
    (
        TRANSACTION_ABORTS,
        Kind::Counter,
        Unit::Count,
        "Kafka transactions aborted.",
    ),
    (
        TRANSACTION_COMMIT_DURATION,
        Kind::Histogram,
        Unit::Seconds,
        "Time to commit one transaction.",
    ),
    (
        REBALANCES,
        Kind::Counter,
        Unit::Count,
        "Rebalance callbacks, per kind (assign, revoke, lost).",
    ),
    (
        ASSIGNED_PARTITIONS,
        Kind::Gauge,
        Unit::Count,
        "Partitions owned, per stage.",
    ),
    (
        VERDICT_EVENT_TIME_LATENCY,
        Kind::Histogram,
        Unit::Seconds,
        "From the latest event time a verdict holds to the moment it is written.",
    ),
    (
        VERDICT_ARRIVAL_LATENCY,
        Kind::Histogram,
        Unit::Seconds,
        "From the arrival of the input record that caused an output to the moment it is written.",
    ),
    (
        READY,
        Kind::Gauge,
        Unit::Count,
        "1 when the instance is ready, else 0.",
    ),
    (
        BUILD_INFO,
        Kind::Gauge,
        Unit::Count,
        "Always 1, labelled with the version.",
    ),
];

/// Buckets of the latency histograms: 5 ms to 7 days.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 5.0,
    10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0, 604800.0,
];

/// Buckets of the transaction and restore duration histograms: 1 ms to 10 minutes.
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 600.0,
];

/// Gauges not set for this long leave the output (a revoked partition's lag, say). Every
/// gauge is refreshed more often than this while it means something.
pub const GAUGE_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and describes every metric.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .idle_timeout(
                    metrics_util::MetricKindMask::GAUGE,
                    Some(GAUGE_IDLE_TIMEOUT),
                )
                .set_buckets_for_metric(Matcher::Suffix("latency_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Suffix("commit_seconds".into()),
                        DURATION_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Suffix("duration_seconds".into()),
                        DURATION_BUCKETS,
                    )
                })
                .expect("bucket lists are non-empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (a library user's); then vtrack's
            // metrics go there and `/metrics` shows this recorder's (empty) view.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

/// Describes every metric, and sets the build info.
fn describe() {
    for &(name, kind, unit, help) in ALL {
        match kind {
            Kind::Counter => describe_counter!(name, unit, help),
            Kind::Gauge => describe_gauge!(name, unit, help),
            Kind::Histogram => describe_histogram!(name, unit, help),
        }
    }
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_convention_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &(name, kind, _, help) in ALL {
            assert!(seen.insert(name), "{name} declared twice");
            assert!(name.starts_with("vtrack_"), "{name}");
            assert!(!help.is_empty(), "{name} has no description");
            assert_eq!(
                name.ends_with("_total"),
                kind == Kind::Counter,
                "{name}: counters and only counters end in _total"
            );
        }
    }
}
