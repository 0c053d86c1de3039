//! librdkafka client settings shared by every client vtrack makes (admin, producers,
//! consumers): the bootstrap servers, then every `[kafka.properties]` entry.
//!
//! Property values may be secrets (SASL passwords, key material): log a client's settings
//! only through [`redacted`], never with `{:?}` of the [`ClientConfig`] itself.

use crate::config::{is_secret, KafkaConfig};
use rdkafka::ClientConfig;
use std::collections::BTreeMap;

/// What [`redacted`] shows instead of a secret value.
pub const REDACTED: &str = "<redacted>";

/// The base librdkafka configuration of every vtrack client: `bootstrap.servers` from
/// `kafka.bootstrap_servers`, then every `kafka.properties` entry as given (so a
/// `bootstrap.servers` property, if any, wins). Callers add their role's settings
/// (`group.id`, `transactional.id`, …) on top.
pub fn client_config(cfg: &KafkaConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", cfg.bootstrap_servers.as_str());
    for (key, value) in &cfg.properties {
        config.set(key.as_str(), value.as_str());
    }
    config
}

/// The settings of `config`, sorted, with the value of every key that looks secret
/// (`sasl.password`, `ssl.key.password`, `…jaas…`, `…token…`, …) replaced by
/// [`REDACTED`]: the only form in which client settings may be logged.
pub fn redacted(config: &ClientConfig) -> BTreeMap<String, String> {
    config
        .config_map()
        .iter()
        .map(|(k, v)| {
            let shown = if is_secret(k) {
                REDACTED.to_string()
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// Logs (at debug level) the settings a client of `role` is created with, secrets redacted.
pub fn log_client_config(role: &str, config: &ClientConfig) {
    tracing::debug!(role, settings = ?redacted(config), "creating Kafka client");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> KafkaConfig {
        let mut cfg = KafkaConfig {
            bootstrap_servers: "k1:9092,k2:9092".into(),
            ..KafkaConfig::default()
        };
        cfg.properties
            .insert("security.protocol".into(), "SASL_SSL".into());
        cfg.properties
            .insert("sasl.password".into(), "hunter2".into());
        cfg.properties
            .insert("sasl.jaas.config".into(), "user=a password=b".into());
        cfg
    }

    #[test]
    fn bootstrap_and_every_property_pass_through() {
        let c = client_config(&cfg());
        assert_eq!(c.get("bootstrap.servers"), Some("k1:9092,k2:9092"));
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("sasl.password"), Some("hunter2"));
        assert_eq!(c.config_map().len(), 4);
    }

    #[test]
    fn a_bootstrap_property_wins() {
        let mut k = cfg();
        k.properties
            .insert("bootstrap.servers".into(), "other:9092".into());
        assert_eq!(
            client_config(&k).get("bootstrap.servers"),
            Some("other:9092")
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let shown = redacted(&client_config(&cfg()));
        assert_eq!(shown["sasl.password"], REDACTED);
        assert_eq!(shown["sasl.jaas.config"], REDACTED);
        assert_eq!(shown["security.protocol"], "SASL_SSL");
        assert!(!format!("{shown:?}").contains("hunter2"));
    }

    #[test]
    fn every_property_librdkafka_marks_sensitive_is_secret() {
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl_key",
            "ssl.keystore.password",
            "sasl.oauthbearer.config",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.assertion.private.key.passphrase",
            "sasl.oauthbearer.assertion.private.key.pem",
        ] {
            assert!(crate::config::is_secret(key), "{key}");
        }
        for key in ["sasl.passwd", "sasl.pasword", "ssl.keystore.pasword"] {
            assert!(crate::config::is_secret(key), "misspelled: {key}");
        }
        for key in ["security.protocol", "bootstrap.servers", "linger.ms"] {
            assert!(!crate::config::is_secret(key), "{key}");
        }
    }
}
