//! The start-up topic check against a real broker: `ensure_topics` creates every topic of
//! the plan with its partitions and cleanup policy, changes nothing the second time, refuses
//! internal topics with another partition count or cleanup policy (before creating
//! anything), and without `create_topics` lists what to create.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::{
    create_topic, create_topic_with, kafka_config, require_broker, topic_config, topic_exists,
    topic_partitions,
};
use vtrack::kafka::topics::{
    ensure_plan, ensure_topics, internal_topic, InternalTopic, TopicError, TopicMismatch, TopicPlan,
};

const DELETE: &str = "delete";
const COMPACT: &str = "compact";

/// The cleanup policy each topic must have, written out independently of `TopicPlan`.
fn expected_policies(cfg: &vtrack::config::KafkaConfig) -> Vec<(String, &'static str)> {
    let app = &cfg.application_id;
    vec![
        (cfg.confirmations_topic.clone(), DELETE),
        (cfg.scans_topic.clone(), DELETE),
        (cfg.verdicts_topic.clone(), DELETE),
        (cfg.seller_vtr_topic.clone(), COMPACT),
        (cfg.late_confirmations_topic.clone(), DELETE),
        (cfg.dead_letter_topic.clone(), DELETE),
        (cfg.late_events_topic.clone(), DELETE),
        (format!("{app}-order-events"), DELETE),
        (format!("{app}-tracking-events"), DELETE),
        (format!("{app}-seller-events"), DELETE),
        (format!("{app}-order-changelog"), COMPACT),
        (format!("{app}-tracking-changelog"), COMPACT),
        (format!("{app}-seller-changelog"), COMPACT),
        (format!("{app}-instances"), COMPACT),
    ]
}

#[test]
fn ensure_topics_creates_every_topic_with_its_partitions_and_policy() {
    let _broker = require_broker!();
    let cfg = vtrack::config::KafkaConfig {
        internal_partitions: 3,
        ..kafka_config()
    };
    let plan = TopicPlan::new(&cfg);
    let expected = expected_policies(&cfg);
    assert_eq!(plan.topics.len(), expected.len());

    let report = ensure_plan(&cfg, &plan).expect("ensure_plan");
    let mut created = report.created.clone();
    created.sort();
    let mut names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(created, names, "every topic is created");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    for (name, policy) in &expected {
        let partitions = if name.ends_with("-instances") { 1 } else { 3 };
        assert_eq!(
            topic_partitions(name),
            Some(partitions),
            "partitions of {name}"
        );
        let config = topic_config(name);
        assert_eq!(
            config.get("cleanup.policy").map(String::as_str),
            Some(*policy),
            "cleanup.policy of {name}"
        );
    }
    // Internal event topics keep their records; changelogs roll their segments at 64 MiB, so
    // that compaction removes old snapshots.
    let kept = [
        InternalTopic::OrderEvents,
        InternalTopic::TrackingEvents,
        InternalTopic::SellerEvents,
    ]
    .map(|t| (t, "retention.ms", "-1"));
    let rolled = [
        InternalTopic::OrderChangelog,
        InternalTopic::TrackingChangelog,
        InternalTopic::SellerChangelog,
    ]
    .map(|t| (t, "segment.bytes", "67108864"));
    for (t, key, value) in kept.into_iter().chain(rolled) {
        let name = internal_topic(&cfg.application_id, t);
        assert_eq!(
            topic_config(&name).get(key).map(String::as_str),
            Some(value),
            "{key} of {name}"
        );
    }

    // A second call finds everything in place and changes nothing.
    let again = ensure_plan(&cfg, &plan).expect("second ensure_plan");
    assert!(again.created.is_empty(), "{:?}", again.created);
    ensure_topics(&cfg).expect("ensure_topics");
    for (name, policy) in &expected {
        let partitions = if name.ends_with("-instances") { 1 } else { 3 };
        assert_eq!(
            topic_partitions(name),
            Some(partitions),
            "partitions of {name}"
        );
        assert_eq!(topic_config(name)["cleanup.policy"], *policy);
    }

    // Without create_topics, a complete cluster is fine too.
    let no_create = vtrack::config::KafkaConfig {
        create_topics: false,
        ..cfg
    };
    ensure_topics(&no_create).expect("everything exists");
}

#[test]
fn an_internal_topic_with_another_partition_count_refuses_to_start() {
    let _broker = require_broker!();
    let cfg = vtrack::config::KafkaConfig {
        internal_partitions: 3,
        ..kafka_config()
    };
    let topic = internal_topic(&cfg.application_id, InternalTopic::OrderEvents);
    create_topic_with(&topic, 2, &[("cleanup.policy", "delete")]);

    let err = ensure_topics(&cfg).expect_err("a partition mismatch must refuse to start");
    let message = err.to_string();
    match &err {
        TopicError::Mismatch { mismatches, .. } => assert_eq!(
            mismatches,
            &[TopicMismatch::Partitions {
                topic: topic.clone(),
                expected: 3,
                actual: 2,
            }]
        ),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(message.contains(&topic), "{message}");
    assert!(message.contains("has 2 partitions"), "{message}");
    assert!(
        message.contains("kafka.internal_partitions = 3"),
        "{message}"
    );
    // Refused before creating anything.
    assert!(!topic_exists(&cfg.verdicts_topic));
    assert!(!topic_exists(&internal_topic(
        &cfg.application_id,
        InternalTopic::OrderChangelog
    )));
    assert_eq!(topic_partitions(&topic), Some(2), "left as it was");
}

#[test]
fn a_changelog_that_is_not_compacted_refuses_to_start() {
    let _broker = require_broker!();
    let cfg = vtrack::config::KafkaConfig {
        internal_partitions: 3,
        ..kafka_config()
    };
    let topic = internal_topic(&cfg.application_id, InternalTopic::SellerChangelog);
    create_topic(&topic, 3); // broker default: cleanup.policy=delete

    let err = ensure_topics(&cfg).expect_err("a policy mismatch must refuse to start");
    let message = err.to_string();
    match &err {
        TopicError::Mismatch { mismatches, .. } => assert_eq!(
            mismatches,
            &[TopicMismatch::CleanupPolicy {
                topic: topic.clone(),
                expected: vtrack::kafka::topics::CleanupPolicy::Compact,
                actual: "delete".into(),
            }]
        ),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(message.contains(&topic), "{message}");
    assert!(message.contains("cleanup.policy=delete"), "{message}");
    assert!(message.contains("cleanup.policy=compact"), "{message}");
}

#[test]
fn an_output_with_another_policy_is_only_a_warning() {
    let _broker = require_broker!();
    let cfg = vtrack::config::KafkaConfig {
        internal_partitions: 2,
        ..kafka_config()
    };
    create_topic(&cfg.seller_vtr_topic, 5); // delete policy, another partition count
    let report = ensure_plan(&cfg, &TopicPlan::new(&cfg)).expect("outputs are not refused");
    assert!(!report.created.contains(&cfg.seller_vtr_topic));
    assert_eq!(report.created.len(), 13);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains(&cfg.seller_vtr_topic),
        "{:?}",
        report.warnings
    );
    assert_eq!(topic_partitions(&cfg.seller_vtr_topic), Some(5));
}

#[test]
fn without_create_topics_the_error_lists_what_to_create() {
    let _broker = require_broker!();
    let cfg = vtrack::config::KafkaConfig {
        internal_partitions: 3,
        create_topics: false,
        ..kafka_config()
    };
    // The inputs exist (upstream's); everything else is missing.
    create_topic(&cfg.confirmations_topic, 6);
    create_topic(&cfg.scans_topic, 6);

    let err = ensure_topics(&cfg).expect_err("missing topics without create_topics");
    let message = err.to_string();
    let TopicError::Missing { topics, commands } = &err else {
        panic!("expected Missing, got {err:?}");
    };
    let expected: Vec<(String, &str)> = expected_policies(&cfg).into_iter().skip(2).collect();
    assert_eq!(
        topics,
        &expected.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    );
    assert_eq!(commands.len(), expected.len());
    for ((name, policy), command) in expected.iter().zip(commands) {
        assert!(command.starts_with("kafka-topics.sh "), "{command}");
        assert!(command.contains("--create"), "{command}");
        assert!(command.contains(&format!("--topic {name} ")), "{command}");
        let partitions = if name.ends_with("-instances") { 1 } else { 3 };
        assert!(
            command.contains(&format!("--partitions {partitions}")),
            "{command}"
        );
        assert!(command.contains("--replication-factor 1"), "{command}");
        assert!(
            command.contains(&format!("--config cleanup.policy={policy}")),
            "{command}"
        );
        assert!(message.contains(command.as_str()), "{message}");
        assert!(!topic_exists(name), "{name} must not be created");
    }
    assert!(message.contains("kafka.create_topics"), "{message}");
    assert!(!message.contains(&format!("--topic {} ", cfg.confirmations_topic)));
}

/// The harness itself: topics, produce, consume (count, end, idle), config files, the binary.
#[test]
fn the_test_harness_round_trips_records() {
    use kafka_support::{
        consume_all, load_config, produce_all, produce_json, spawn_vtrack, unique_name,
        write_config, KillOnDrop, Until,
    };
    use std::time::Duration;
    let _broker = require_broker!();
    assert_ne!(unique_name("t"), unique_name("t"));

    let topic = unique_name("harness");
    create_topic(&topic, 3);
    assert_eq!(topic_partitions(&topic), Some(3));
    assert_eq!(topic_config(&topic)["cleanup.policy"], "delete");
    produce_json(&topic, "k0", r#"{"n":0}"#);
    let records: Vec<(String, String)> = (1..20)
        .map(|n| (format!("k{n}"), format!(r#"{{"n":{n}}}"#)))
        .collect();
    produce_all(&topic, &records);

    let got = consume_all(&[&topic], Until::count(20));
    assert_eq!(got.len(), 20);
    let mut ns: Vec<i64> = got
        .iter()
        .map(|r| {
            assert_eq!(r.topic, topic);
            assert_eq!(r.key_str(), format!("k{}", r.json()["n"]));
            assert!(r.headers.is_empty());
            r.json()["n"].as_i64().expect("n")
        })
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..20).collect::<Vec<_>>());
    assert_eq!(consume_all(&[&topic], Until::end()).len(), 20);
    let idle = consume_all(&[&topic], Until::idle(Duration::from_millis(1500)));
    assert_eq!(idle.len(), 20);

    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(
        dir.path(),
        &[
            ("kafka.internal_partitions", "2"),
            ("kafka.properties.client.id", "harness"),
            ("engine.horizon", "\"5d\""),
        ],
    );
    let config = load_config(&path);
    assert_eq!(config.kafka.internal_partitions, 2);
    assert_eq!(config.kafka.properties["client.id"], "harness");
    assert_eq!(config.engine.horizon, 5 * 86_400_000);
    assert!(config.kafka.application_id.starts_with("vt-"));
    assert!(config
        .kafka
        .verdicts_topic
        .starts_with(&config.kafka.application_id));

    let mut child = KillOnDrop(spawn_vtrack(&["--version"]));
    assert!(child.0.wait().expect("wait").success());
}
