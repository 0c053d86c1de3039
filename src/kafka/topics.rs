//! The topics vtrack needs, and their start-up check (design section 4).
//!
//! [`TopicPlan::new`] lists every topic of an application: the two input topics, the five
//! output topics and the seven internal topics named `<application_id>-<name>`
//! ([`internal_topic`]: three repartition topics, three changelogs and the instance
//! directory), each with its partition count, replication factor and topic configuration.
//! [`ensure_topics`] makes the cluster match the plan at start-up:
//!
//! * with `kafka.create_topics = true` it creates whatever is missing (inputs and outputs
//!   included, all with `kafka.internal_partitions` partitions, except the instance
//!   directory's one); with `false` it stops and prints the `kafka-topics.sh --create …` line
//!   of every missing topic;
//! * it then describes every internal topic and **refuses to start** when one has another
//!   partition count or cleanup policy than the plan's: a task's state lives in partition
//!   *p* of its changelog, so the counts are fixed for the life of an application id, and a
//!   changelog that is not compacted loses state;
//! * an output topic whose cleanup policy differs (say `seller-vtr` not compacted) only gets
//!   a warning: its readers may have chosen so.
//!
//! Existing topics are never altered. The admin calls block (start-up only).

use crate::config::KafkaConfig;
use crate::kafka::client::{client_config, log_client_config};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// `retention.ms` of the internal event topics: no time limit (-1). A restore loads a task's
/// latest snapshot and re-reads its input partition from the snapshot's offset (from the
/// start when there is none), so records must not expire by age; vtrack deletes the records
/// before that offset after each committed snapshot ([`super::purge`]).
pub const REPARTITION_RETENTION_MS: i64 = -1;

/// How long one admin request, and the wait for created topics to show, may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest topic name Kafka accepts.
const MAX_TOPIC_NAME: usize = 249;

/// The internal topics of an application, each named `<application_id>-<suffix>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InternalTopic {
    /// Repartition topic read by the order stage (key: seller/order).
    OrderEvents,
    /// Repartition topic read by the tracking stage (key: normalised tracking ID).
    TrackingEvents,
    /// Repartition topic read by the seller stage (key: seller).
    SellerEvents,
    /// Compacted changelog of the order stage's state.
    OrderChangelog,
    /// Compacted changelog of the tracking stage's state.
    TrackingChangelog,
    /// Compacted changelog of the seller stage's state.
    SellerChangelog,
    /// Compacted, one partition: each instance's query URL and the partitions it owns
    /// (key: instance id), so any instance can forward a query to the key's owner.
    Instances,
}

impl InternalTopic {
    /// Every internal topic, repartition topics first.
    pub const ALL: [InternalTopic; 7] = [
        InternalTopic::OrderEvents,
        InternalTopic::TrackingEvents,
        InternalTopic::SellerEvents,
        InternalTopic::OrderChangelog,
        InternalTopic::TrackingChangelog,
        InternalTopic::SellerChangelog,
        InternalTopic::Instances,
    ];

    /// The name after `<application_id>-`, e.g. `order-events`.
    pub fn suffix(self) -> &'static str {
        match self {
            InternalTopic::OrderEvents => "order-events",
            InternalTopic::TrackingEvents => "tracking-events",
            InternalTopic::SellerEvents => "seller-events",
            InternalTopic::OrderChangelog => "order-changelog",
            InternalTopic::TrackingChangelog => "tracking-changelog",
            InternalTopic::SellerChangelog => "seller-changelog",
            InternalTopic::Instances => "instances",
        }
    }

    /// Whether the topic is a state changelog (compacted) rather than a repartition topic.
    pub fn is_changelog(self) -> bool {
        matches!(
            self,
            InternalTopic::OrderChangelog
                | InternalTopic::TrackingChangelog
                | InternalTopic::SellerChangelog
        )
    }

    /// `compact` for changelogs and the instance directory, `delete` for repartition topics.
    pub fn cleanup_policy(self) -> CleanupPolicy {
        if self.is_changelog() || self == InternalTopic::Instances {
            CleanupPolicy::Compact
        } else {
            CleanupPolicy::Delete
        }
    }
}

impl fmt::Display for InternalTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// `segment.bytes` of the changelogs (64 MiB instead of the broker's 1 GiB): compaction never
/// touches a partition's active segment, where every snapshot since the last roll stays;
/// smaller segments let the older snapshots go sooner. A restore reads only the latest one
/// whatever the segments.
pub const CHANGELOG_SEGMENT_BYTES: u64 = 64 << 20;

/// The name of internal topic `name` of application `app`: `<app>-<suffix>`.
pub fn internal_topic(app: &str, name: InternalTopic) -> String {
    format!("{app}-{}", name.suffix())
}

/// A topic's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupPolicy {
    /// Old segments are deleted after `retention.ms`.
    Delete,
    /// The latest record per key is kept; a tombstone removes the key.
    Compact,
}

impl CleanupPolicy {
    /// The `cleanup.policy` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
        }
    }

    /// Whether a described `cleanup.policy` value (e.g. `"compact"`, `"compact,delete"`) is
    /// exactly this policy.
    pub fn matches(self, described: &str) -> bool {
        let set: BTreeSet<&str> = described
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        set.len() == 1 && set.contains(self.as_str())
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a topic is to vtrack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicRole {
    /// An input topic (`confirmations_topic`, `scans_topic`): upstream's; any partition count.
    Input,
    /// An output topic: any partition count; a different cleanup policy is only warned about.
    Output,
    /// An internal topic: partition count and cleanup policy must match the plan.
    Internal(InternalTopic),
}

/// One topic of the plan, as vtrack creates it when it is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// The topic name.
    pub name: String,
    /// Where the name comes from, for messages: the configuration key (e.g.
    /// `kafka.verdicts_topic`) or `internal`.
    pub setting: &'static str,
    /// What the topic is to vtrack.
    pub role: TopicRole,
    /// Partitions when created (`kafka.internal_partitions`); for internal topics, required.
    pub partitions: i32,
    /// Replication factor when created (`kafka.replication_factor`; -1 = the broker default).
    pub replication: i32,
    /// The cleanup policy (also the first entry of `configs`).
    pub cleanup_policy: CleanupPolicy,
    /// Topic configuration set at creation, `cleanup.policy` first.
    pub configs: Vec<(String, String)>,
}

impl TopicSpec {
    fn new(
        cfg: &KafkaConfig,
        name: String,
        setting: &'static str,
        role: TopicRole,
        cleanup_policy: CleanupPolicy,
    ) -> TopicSpec {
        let mut configs = vec![(
            "cleanup.policy".to_string(),
            cleanup_policy.as_str().to_string(),
        )];
        let mut partitions = cfg.internal_partitions;
        if let TopicRole::Internal(t) = role {
            if t == InternalTopic::Instances {
                partitions = 1;
            } else if t.is_changelog() {
                configs.push((
                    "segment.bytes".to_string(),
                    CHANGELOG_SEGMENT_BYTES.to_string(),
                ));
            } else {
                configs.push((
                    "retention.ms".to_string(),
                    REPARTITION_RETENTION_MS.to_string(),
                ));
            }
        }
        TopicSpec {
            name,
            setting,
            role,
            partitions,
            replication: cfg.replication_factor,
            cleanup_policy,
            configs,
        }
    }

    /// The `kafka-topics.sh` command that creates this topic on `bootstrap`.
    pub fn create_command(&self, bootstrap: &str) -> String {
        let mut cmd = format!(
            "kafka-topics.sh --bootstrap-server {bootstrap} --create --topic {} --partitions {}",
            self.name, self.partitions
        );
        if self.replication > 0 {
            cmd.push_str(&format!(" --replication-factor {}", self.replication));
        }
        for (k, v) in &self.configs {
            cmd.push_str(&format!(" --config {k}={v}"));
        }
        cmd
    }
}

/// Every topic an application needs, with how to create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPlan {
    /// Application id (prefix of the internal topics).
    pub application_id: String,
    /// The topics: inputs, outputs, then internal topics.
    pub topics: Vec<TopicSpec>,
}

impl TopicPlan {
    /// Every topic of `vtrack run`: the inputs (`confirmations_topic`, `scans_topic`),
    /// the outputs (`verdicts_topic`, `late_confirmations_topic`, `dead_letter_topic`,
    /// `late_events_topic` with `cleanup.policy=delete`; `seller_vtr_topic` compacted, as it
    /// carries tombstones), the repartition topics (`delete`, `retention.ms` -1: purged by
    /// vtrack after each committed snapshot), the changelogs (`compact`) and the instance
    /// directory (`compact`, one partition); all but the instance directory with
    /// `internal_partitions` partitions, all with `replication_factor` replicas.
    pub fn new(cfg: &KafkaConfig) -> TopicPlan {
        let mut plan = TopicPlan::inputs(cfg);
        let outputs = [
            (
                &cfg.verdicts_topic,
                "kafka.verdicts_topic",
                CleanupPolicy::Delete,
            ),
            (
                &cfg.seller_vtr_topic,
                "kafka.seller_vtr_topic",
                CleanupPolicy::Compact,
            ),
            (
                &cfg.late_confirmations_topic,
                "kafka.late_confirmations_topic",
                CleanupPolicy::Delete,
            ),
            (
                &cfg.dead_letter_topic,
                "kafka.dead_letter_topic",
                CleanupPolicy::Delete,
            ),
            (
                &cfg.late_events_topic,
                "kafka.late_events_topic",
                CleanupPolicy::Delete,
            ),
        ];
        for (name, setting, policy) in outputs {
            plan.topics.push(TopicSpec::new(
                cfg,
                name.clone(),
                setting,
                TopicRole::Output,
                policy,
            ));
        }
        for t in InternalTopic::ALL {
            plan.topics.push(TopicSpec::new(
                cfg,
                internal_topic(&cfg.application_id, t),
                "internal",
                TopicRole::Internal(t),
                t.cleanup_policy(),
            ));
        }
        plan
    }

    /// The input topics only (what `vtrack generate --kafka` writes to).
    pub fn inputs(cfg: &KafkaConfig) -> TopicPlan {
        let topics = [
            (&cfg.confirmations_topic, "kafka.confirmations_topic"),
            (&cfg.scans_topic, "kafka.scans_topic"),
        ]
        .into_iter()
        .map(|(name, setting)| {
            TopicSpec::new(
                cfg,
                name.clone(),
                setting,
                TopicRole::Input,
                CleanupPolicy::Delete,
            )
        })
        .collect();
        TopicPlan {
            application_id: cfg.application_id.clone(),
            topics,
        }
    }

    /// The topic named `name`, if the plan has it.
    pub fn get(&self, name: &str) -> Option<&TopicSpec> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// The spec of internal topic `t`, if the plan has it.
    pub fn internal(&self, t: InternalTopic) -> Option<&TopicSpec> {
        self.topics
            .iter()
            .find(|s| s.role == TopicRole::Internal(t))
    }

    /// Checks names and counts before any request: every name legal and distinct, at least
    /// one partition, a replication factor of at least 1 (or -1, the broker default).
    pub fn validate(&self) -> Result<(), TopicError> {
        let invalid = |m: String| Err(TopicError::Invalid(m));
        if self.application_id.is_empty() {
            return invalid("kafka.application_id must not be empty".into());
        }
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for t in &self.topics {
            if let Some(problem) = topic_name_problem(&t.name) {
                return invalid(format!("{} `{}` {problem}", t.setting, t.name));
            }
            if let Some(other) = seen.insert(&t.name, t.setting) {
                return invalid(format!(
                    "topic `{}` is named by both {other} and {}: every topic needs its own name",
                    t.name, t.setting
                ));
            }
            if t.partitions < 1 {
                return invalid(format!(
                    "kafka.internal_partitions must be at least 1 (is {})",
                    t.partitions
                ));
            }
            if t.replication < 1 && t.replication != -1 {
                return invalid(format!(
                    "kafka.replication_factor must be at least 1, or -1 for the broker default (is {})",
                    t.replication
                ));
            }
        }
        Ok(())
    }
}

/// Why `name` is not a legal Kafka topic name, if it is not.
fn topic_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("is not a legal topic name")
    } else if name.len() > MAX_TOPIC_NAME {
        Some("is longer than 249 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("may only contain ASCII letters, digits, '.', '_' and '-'")
    } else {
        None
    }
}

/// An internal topic that does not match the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicMismatch {
    /// Another partition count than `kafka.internal_partitions`.
    Partitions {
        /// The topic.
        topic: String,
        /// `kafka.internal_partitions`.
        expected: i32,
        /// The topic's partition count.
        actual: i32,
    },
    /// Another cleanup policy than the plan's.
    CleanupPolicy {
        /// The topic.
        topic: String,
        /// The plan's policy.
        expected: CleanupPolicy,
        /// The topic's `cleanup.policy` as described (empty when the broker gave none).
        actual: String,
    },
}

impl fmt::Display for TopicMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicMismatch::Partitions {
                topic,
                expected,
                actual,
            } => write!(
                f,
                "topic `{topic}` has {actual} partitions, but kafka.internal_partitions = {expected}"
            ),
            TopicMismatch::CleanupPolicy {
                topic,
                expected,
                actual,
            } => write!(
                f,
                "topic `{topic}` has cleanup.policy={actual}, but vtrack needs cleanup.policy={expected}"
            ),
        }
    }
}

/// Errors of the start-up topic check.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The configuration names an impossible topic layout.
    #[error("invalid Kafka topic settings: {0}")]
    Invalid(String),
    /// The admin client could not be created (bad `kafka.properties`?).
    #[error("cannot create a Kafka admin client: {0}")]
    Client(#[source] KafkaError),
    /// The cluster's metadata could not be read.
    #[error("cannot read topic metadata from {bootstrap}: {source}")]
    Metadata {
        /// `kafka.bootstrap_servers`.
        bootstrap: String,
        /// The client error.
        #[source]
        source: KafkaError,
    },
    /// Topics are missing and `kafka.create_topics = false`.
    #[error(
        "{} topic(s) that vtrack needs do not exist and kafka.create_topics = false; \
         create them (or set kafka.create_topics = true):\n  {}",
        .topics.len(),
        .commands.join("\n  ")
    )]
    Missing {
        /// The missing topics, in plan order.
        topics: Vec<String>,
        /// One `kafka-topics.sh --create …` line per missing topic.
        commands: Vec<String>,
    },
    /// A topic could not be created.
    #[error("cannot create topic `{topic}`: {reason}")]
    Create {
        /// The topic.
        topic: String,
        /// The broker's or client's reason.
        reason: String,
    },
    /// A topic did not become usable in time after creation (or is broken).
    #[error("topic `{topic}` is not ready after {seconds} s: {reason}")]
    NotReady {
        /// The topic.
        topic: String,
        /// How long vtrack waited.
        seconds: u64,
        /// What the metadata said last.
        reason: String,
    },
    /// A topic's configuration could not be described.
    #[error("cannot read the configuration of topic `{topic}`: {reason}")]
    Describe {
        /// The topic.
        topic: String,
        /// The broker's or client's reason.
        reason: String,
    },
    /// Internal topics exist with another partition count or cleanup policy.
    #[error(
        "refusing to start: internal topics of application id `{application_id}` do not match \
         the configuration:\n  {}\nThe partition count and cleanup policy of internal topics are \
         fixed for the life of an application id: set kafka.internal_partitions to the topics' \
         partition count, or use a new kafka.application_id (deleting the topics loses the \
         application's state).",
        .mismatches.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Mismatch {
        /// `kafka.application_id`.
        application_id: String,
        /// Every mismatch found.
        mismatches: Vec<TopicMismatch>,
    },
}

/// What [`ensure_plan`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnsureReport {
    /// Topics created by this call, in plan order.
    pub created: Vec<String>,
    /// Warnings about output topics (also logged), e.g. an output with another cleanup policy.
    pub warnings: Vec<String>,
}

/// Makes the cluster hold every topic of [`TopicPlan::new`]: see [`ensure_plan`].
pub fn ensure_topics(cfg: &KafkaConfig) -> Result<(), TopicError> {
    ensure_plan(cfg, &TopicPlan::new(cfg)).map(|_| ())
}

/// Makes the cluster of `cfg` hold every topic of `plan`: creates the missing ones when
/// `cfg.create_topics` (else fails with [`TopicError::Missing`], listing the commands that
/// create them), waits until they show in the metadata, then checks that every internal
/// topic has `plan`'s partition count and cleanup policy ([`TopicError::Mismatch`] when
/// not). Output topics with another cleanup policy are reported as warnings. Calling it
/// again when everything exists changes nothing.
pub fn ensure_plan(cfg: &KafkaConfig, plan: &TopicPlan) -> Result<EnsureReport, TopicError> {
    plan.validate()?;
    let admin = Admin::new(cfg)?;
    let mut existing = admin.topics()?;
    let unready: Vec<&str> = plan
        .topics
        .iter()
        .filter(|t| {
            existing
                .get(&t.name)
                .is_some_and(|s| s.error.is_some() || s.partitions == 0)
        })
        .map(|t| t.name.as_str())
        .collect();
    if !unready.is_empty() {
        existing = admin.wait_until_ready(&unready, &[])?;
    }
    // Refuse on a mismatch before creating anything.
    let mut report = EnsureReport {
        created: Vec::new(),
        warnings: check(&admin, plan, &existing)?,
    };
    let missing: Vec<&TopicSpec> = plan
        .topics
        .iter()
        .filter(|t| !existing.contains_key(&t.name))
        .collect();
    if missing.is_empty() {
        tracing::debug!(topics = plan.topics.len(), "every Kafka topic exists");
        return Ok(report);
    }
    if !cfg.create_topics {
        return Err(TopicError::Missing {
            topics: missing.iter().map(|t| t.name.clone()).collect(),
            commands: missing
                .iter()
                .map(|t| t.create_command(&cfg.bootstrap_servers))
                .collect(),
        });
    }
    report.created = admin.create(&missing, cfg.replication_factor)?;
    let names: Vec<&str> = missing.iter().map(|t| t.name.as_str()).collect();
    // Check the new topics too: another instance may have created some meanwhile.
    let mut now = admin.wait_until_ready(&names, &report.created)?;
    now.retain(|name, _| names.contains(&name.as_str()));
    report.warnings.extend(check(&admin, plan, &now)?);
    Ok(report)
}

/// Checks the partition counts and cleanup policies of the topics of `plan` that `topics`
/// lists (the others are skipped). Returns the warnings about output topics.
fn check(
    admin: &Admin,
    plan: &TopicPlan,
    topics: &HashMap<String, TopicState>,
) -> Result<Vec<String>, TopicError> {
    let mut mismatches = Vec::new();
    for t in &plan.topics {
        let (TopicRole::Internal(_), Some(state)) = (t.role, topics.get(&t.name)) else {
            continue;
        };
        if state.partitions != t.partitions {
            mismatches.push(TopicMismatch::Partitions {
                topic: t.name.clone(),
                expected: t.partitions,
                actual: state.partitions,
            });
        }
    }
    let checked: Vec<&TopicSpec> = plan
        .topics
        .iter()
        .filter(|t| t.role != TopicRole::Input && topics.contains_key(&t.name))
        .collect();
    let mut warnings = Vec::new();
    let policies = admin.cleanup_policies(&checked)?;
    for t in checked {
        let actual = policies.get(&t.name).cloned().unwrap_or_default();
        if t.cleanup_policy.matches(&actual) {
            continue;
        }
        match t.role {
            TopicRole::Internal(_) => mismatches.push(TopicMismatch::CleanupPolicy {
                topic: t.name.clone(),
                expected: t.cleanup_policy,
                actual,
            }),
            _ => {
                let warning = format!(
                    "output topic `{}` ({}) has cleanup.policy={actual}; vtrack would create it with cleanup.policy={}",
                    t.name, t.setting, t.cleanup_policy
                );
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
        }
    }
    if !mismatches.is_empty() {
        return Err(TopicError::Mismatch {
            application_id: plan.application_id.clone(),
            mismatches,
        });
    }
    Ok(warnings)
}

/// A topic as the cluster metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TopicState {
    partitions: i32,
    /// The topic's error (e.g. being deleted).
    error: Option<RDKafkaErrorCode>,
    /// Some partition has no leader (yet).
    leaderless: bool,
}

/// The admin client and its request options.
struct Admin {
    client: AdminClient<DefaultClientContext>,
    options: AdminOptions,
    bootstrap: String,
}

impl Admin {
    fn new(cfg: &KafkaConfig) -> Result<Admin, TopicError> {
        let config = client_config(cfg);
        log_client_config("admin", &config);
        let client = config.create().map_err(TopicError::Client)?;
        Ok(Admin {
            client,
            options: AdminOptions::new()
                .request_timeout(Some(ADMIN_TIMEOUT))
                .operation_timeout(Some(ADMIN_TIMEOUT)),
            bootstrap: cfg.bootstrap_servers.clone(),
        })
    }

    /// Every topic of the cluster. (Metadata of all topics: asking for one topic by name
    /// would let a broker with `auto.create.topics.enable` create it.)
    fn topics(&self) -> Result<HashMap<String, TopicState>, TopicError> {
        let metadata = self
            .client
            .inner()
            .fetch_metadata(None, ADMIN_TIMEOUT)
            .map_err(|source| TopicError::Metadata {
                bootstrap: self.bootstrap.clone(),
                source,
            })?;
        Ok(metadata
            .topics()
            .iter()
            .map(|t| {
                let state = TopicState {
                    partitions: i32::try_from(t.partitions().len()).unwrap_or(i32::MAX),
                    error: t.error().map(RDKafkaErrorCode::from),
                    leaderless: t.partitions().iter().any(|p| p.leader() < 0),
                };
                (t.name().to_string(), state)
            })
            .collect())
    }

    /// Creates `missing`; a topic that another instance created meanwhile is fine. Returns
    /// the names created.
    fn create(&self, missing: &[&TopicSpec], replication: i32) -> Result<Vec<String>, TopicError> {
        let new_topics: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|t| NewTopic {
                name: &t.name,
                num_partitions: t.partitions,
                replication: TopicReplication::Fixed(t.replication),
                config: t
                    .configs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
            })
            .collect();
        let results =
            block_on(self.client.create_topics(&new_topics, &self.options)).map_err(|e| {
                TopicError::Create {
                    topic: missing
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    reason: e.to_string(),
                }
            })?;
        let mut created = Vec::new();
        for result in results {
            match result {
                Ok(name) => {
                    if let Some(t) = missing.iter().find(|t| t.name == name) {
                        let configs: Vec<String> =
                            t.configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        if t.role == TopicRole::Input {
                            tracing::info!(
                                "input topic {name} ({}) did not exist: created it with {} partitions, replication {}, {}",
                                t.setting, t.partitions, t.replication, configs.join(" ")
                            );
                        } else {
                            tracing::info!(
                                "created topic {name}: {} partitions, replication {}, {}",
                                t.partitions,
                                t.replication,
                                configs.join(" ")
                            );
                        }
                    }
                    created.push(name);
                }
                Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    tracing::info!("topic {name} was created meanwhile by someone else");
                }
                Err((topic, code)) => {
                    let hint = if code == RDKafkaErrorCode::InvalidReplicationFactor {
                        format!(
                            " (kafka.replication_factor = {replication}: more than the brokers?)"
                        )
                    } else {
                        String::new()
                    };
                    return Err(TopicError::Create {
                        topic,
                        reason: format!("{code}{hint}"),
                    });
                }
            }
        }
        Ok(created)
    }

    /// Polls the metadata until every topic of `names` is listed without error, and every
    /// partition of the topics in `created` has a leader.
    fn wait_until_ready(
        &self,
        names: &[&str],
        created: &[String],
    ) -> Result<HashMap<String, TopicState>, TopicError> {
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        loop {
            let topics = self.topics()?;
            let not_ready = names.iter().find_map(|&name| {
                let reason = match topics.get(name) {
                    None => "not listed in the metadata".to_string(),
                    Some(TopicState { error: Some(e), .. }) => e.to_string(),
                    Some(TopicState { partitions: 0, .. }) => "listed without partitions".into(),
                    Some(s) if s.leaderless && created.iter().any(|c| c == name) => {
                        "a partition has no leader".into()
                    }
                    Some(_) => return None,
                };
                Some((name, reason))
            });
            let Some((topic, reason)) = not_ready else {
                return Ok(topics);
            };
            if Instant::now() >= deadline {
                return Err(TopicError::NotReady {
                    topic: topic.to_string(),
                    seconds: ADMIN_TIMEOUT.as_secs(),
                    reason,
                });
            }
            // The broker offers no notification that a new topic's metadata is ready: poll.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `cleanup.policy` of each topic of `specs` (retrying topics the broker does not
    /// know yet, right after their creation).
    fn cleanup_policies(
        &self,
        specs: &[&TopicSpec],
    ) -> Result<HashMap<String, String>, TopicError> {
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        let mut policies = HashMap::new();
        let mut pending: Vec<&str> = specs.iter().map(|t| t.name.as_str()).collect();
        while !pending.is_empty() {
            let resources: Vec<ResourceSpecifier<'_>> = pending
                .iter()
                .map(|n| ResourceSpecifier::Topic(n))
                .collect();
            let first = pending.first().copied().unwrap_or_default().to_string();
            let results = block_on(self.client.describe_configs(&resources, &self.options))
                .map_err(|e| TopicError::Describe {
                    topic: first,
                    reason: e.to_string(),
                })?;
            let mut retry = Vec::new();
            for (name, result) in pending.iter().copied().zip(results) {
                match result {
                    Ok(resource) => {
                        let policy = resource
                            .get("cleanup.policy")
                            .and_then(|e| e.value.clone())
                            .unwrap_or_default();
                        policies.insert(name.to_string(), policy);
                    }
                    Err(RDKafkaErrorCode::UnknownTopicOrPartition) if Instant::now() < deadline => {
                        retry.push(name);
                    }
                    Err(code) => {
                        return Err(TopicError::Describe {
                            topic: name.to_string(),
                            reason: code.to_string(),
                        })
                    }
                }
            }
            if !retry.is_empty() {
                // Describing a just-created topic can fail until the broker knows it: poll.
                std::thread::sleep(Duration::from_millis(100));
            }
            pending = retry;
        }
        Ok(policies)
    }
}

/// Runs a future to completion on this thread (the admin client completes its futures
/// from its own polling thread).
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> KafkaConfig {
        KafkaConfig {
            application_id: "app".into(),
            internal_partitions: 3,
            replication_factor: 1,
            bootstrap_servers: "b:9092".into(),
            ..KafkaConfig::default()
        }
    }

    #[test]
    fn internal_topic_names() {
        assert_eq!(
            internal_topic("app", InternalTopic::OrderEvents),
            "app-order-events"
        );
        assert_eq!(
            internal_topic("x", InternalTopic::SellerChangelog),
            "x-seller-changelog"
        );
    }

    #[test]
    fn the_plan_lists_every_topic_with_its_policy() {
        let plan = TopicPlan::new(&cfg());
        assert_eq!(plan.topics.len(), 14);
        plan.validate().unwrap();
        assert!(plan.topics.iter().all(|t| t.replication == 1));
        assert!(plan
            .topics
            .iter()
            .all(|t| t.partitions == if t.name == "app-instances" { 1 } else { 3 }));
        let policy = |n: &str| plan.get(n).unwrap().cleanup_policy;
        assert_eq!(policy("seller-vtr"), CleanupPolicy::Compact);
        assert_eq!(policy("tracking-verdicts"), CleanupPolicy::Delete);
        assert_eq!(policy("late-confirmations"), CleanupPolicy::Delete);
        assert_eq!(policy("app-order-changelog"), CleanupPolicy::Compact);
        assert_eq!(policy("app-instances"), CleanupPolicy::Compact);
        assert_eq!(policy("app-tracking-events"), CleanupPolicy::Delete);
        let repartition = plan.internal(InternalTopic::SellerEvents).unwrap();
        assert!(repartition
            .configs
            .contains(&("retention.ms".into(), "-1".into())));
        assert_eq!(
            plan.get("shipment-confirmations").unwrap().role,
            TopicRole::Input
        );
    }

    #[test]
    fn create_commands() {
        let plan = TopicPlan::new(&cfg());
        let c = plan
            .internal(InternalTopic::OrderChangelog)
            .unwrap()
            .create_command("b:9092");
        assert_eq!(c, "kafka-topics.sh --bootstrap-server b:9092 --create --topic app-order-changelog --partitions 3 --replication-factor 1 --config cleanup.policy=compact --config segment.bytes=67108864");
    }

    #[test]
    fn validation() {
        let mut c = cfg();
        c.seller_vtr_topic = c.verdicts_topic.clone();
        let e = TopicPlan::new(&c).validate().unwrap_err().to_string();
        assert!(e.contains("kafka.seller_vtr_topic"), "{e}");
        let mut c = cfg();
        c.internal_partitions = 0;
        assert!(TopicPlan::new(&c).validate().is_err());
        let mut c = cfg();
        c.scans_topic = "a b".into();
        assert!(TopicPlan::new(&c).validate().is_err());
        let mut c = cfg();
        c.replication_factor = -1;
        TopicPlan::new(&c).validate().unwrap();
    }

    #[test]
    fn cleanup_policy_matching() {
        assert!(CleanupPolicy::Compact.matches("compact"));
        assert!(!CleanupPolicy::Compact.matches("compact,delete"));
        assert!(!CleanupPolicy::Delete.matches(""));
        assert!(CleanupPolicy::Delete.matches(" delete "));
    }

    #[test]
    fn mismatch_message_names_topic_and_counts() {
        let e = TopicError::Mismatch {
            application_id: "app".into(),
            mismatches: vec![TopicMismatch::Partitions {
                topic: "app-order-events".into(),
                expected: 3,
                actual: 2,
            }],
        }
        .to_string();
        assert!(e.contains("`app-order-events` has 2 partitions"), "{e}");
        assert!(e.contains("kafka.internal_partitions = 3"), "{e}");
    }
}
