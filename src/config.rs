//! Configuration: one TOML file (`config/vtrack.toml` documents every key), overridden by
//! `VTRACK_<SECTION>_<KEY>` environment variables, then by command-line flags.

use crate::carriers::{CarrierError, CarrierRegistry};
use crate::event::Millis;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// Errors loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is invalid or a key has a wrong value.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The carriers file is invalid.
    #[error(transparent)]
    Carriers(#[from] CarrierError),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// VTR rules and windows.
    pub engine: EngineConfig,
    /// Where carriers are defined.
    pub carriers: CarriersConfig,
    /// The Kafka processor (`vtrack run`).
    pub kafka: KafkaConfig,
    /// The HTTP endpoint of `vtrack run`: metrics, health, queries.
    pub http: HttpConfig,
}

/// The HTTP endpoint of `vtrack run` (`[http]`): `/metrics`, `/healthz`, `/readyz` and the
/// read-only queries `/v1/sellers/…` and `/v1/packages/…`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on; empty turns the endpoint off. The default answers on
    /// loopback only; containers set `0.0.0.0:8080`.
    pub bind: String,
    /// The URL other instances use to reach this one, to forward queries for keys it owns.
    /// Empty: `http://<bound address>:<bound port>`, with `$HOSTNAME` in place of the address
    /// when bound to `0.0.0.0` or `::` (the address itself when `HOSTNAME` is unset or empty).
    pub advertised_url: String,
    /// `/readyz` fails while the owned partitions are more records than this behind (0 = no limit).
    pub ready_max_lag: i64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: "127.0.0.1:8080".into(),
            advertised_url: String::new(),
            ready_max_lag: 100_000,
        }
    }
}

/// Output record encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// One JSON object per message (default).
    #[default]
    Json,
    /// The protobuf messages of `proto/vtrack.proto`.
    Protobuf,
}

/// The Kafka processor's settings (`[kafka]`).
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// Consumer group id and prefix of every internal topic; instances with the same id share the work.
    pub application_id: String,
    /// This instance's stable id (transactional id suffix). Empty: `VTRACK_INSTANCE_ID`, else the
    /// first free slot of this machine: the host name, then `<host>-1`, … (`kafka::instance`).
    pub instance_id: String,
    /// Input topic of shipment confirmations.
    pub confirmations_topic: String,
    /// Input topic of carrier scans.
    pub scans_topic: String,
    /// Output topic of package verdicts.
    pub verdicts_topic: String,
    /// Output topic of seller VTR rows.
    pub seller_vtr_topic: String,
    /// Output topic of late confirmations.
    pub late_confirmations_topic: String,
    /// Output topic of bad input (original bytes, headers naming topic, partition, offset, error).
    pub dead_letter_topic: String,
    /// Output topic of events that arrived too late to change anything.
    pub late_events_topic: String,
    /// Partitions of every internal topic: the most instances that share the work. Fixed for the life of an application id.
    pub internal_partitions: i32,
    /// Replication factor of topics vtrack creates.
    pub replication_factor: i32,
    /// Create missing topics at start-up (else print what to create and stop).
    pub create_topics: bool,
    /// How often outputs, state changes and input offsets are committed together.
    #[serde(deserialize_with = "duration")]
    pub commit_interval: Millis,
    /// Events whose time lies further ahead of the wall clock are bad input.
    #[serde(deserialize_with = "duration")]
    pub max_future_skew: Millis,
    /// An input partition without events for this long advances event time at wall-clock pace ("0s" = never).
    #[serde(deserialize_with = "duration")]
    pub idle_source_after: Millis,
    /// Encoding of output records.
    pub output_format: OutputFormat,
    /// librdkafka properties passed through to every client (e.g. `"security.protocol" = "SASL_SSL"`).
    pub properties: std::collections::BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            bootstrap_servers: "127.0.0.1:9092".into(),
            application_id: "vtrack".into(),
            instance_id: String::new(),
            confirmations_topic: "shipment-confirmations".into(),
            scans_topic: "carrier-scans".into(),
            verdicts_topic: "tracking-verdicts".into(),
            seller_vtr_topic: "seller-vtr".into(),
            late_confirmations_topic: "late-confirmations".into(),
            dead_letter_topic: "vtrack-dead-letters".into(),
            late_events_topic: "vtrack-late-events".into(),
            internal_partitions: 8,
            replication_factor: 1,
            create_topics: true,
            commit_interval: 100,
            max_future_skew: crate::event::DAY_MS,
            idle_source_after: 30_000,
            output_format: OutputFormat::Json,
            properties: Default::default(),
        }
    }
}

/// Property names whose values are secrets: never printed.
/// A TOML syntax error, with the offending line shown unless it looks like it holds a secret
/// (secrets never appear in logs, start-up errors included).
fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
    let source_line = line.and_then(|n| text.lines().nth(n - 1)).unwrap_or("");
    if is_secret(source_line) {
        let at = line.map_or(String::new(), |n| format!(" at line {n}"));
        format!(
            "TOML syntax error{at} (the line is not shown: it may hold a secret): {}",
            e.message()
        )
    } else {
        e.to_string()
    }
}

/// The values of secret-looking `kafka.properties`, as an error message would show them.
fn secret_values(table: &toml::Table) -> Vec<String> {
    let props = table
        .get("kafka")
        .and_then(|k| k.get("properties"))
        .and_then(toml::Value::as_table);
    props
        .into_iter()
        .flatten()
        .filter(|(key, _)| is_secret(key))
        .map(|(_, value)| match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .filter(|shown| !shown.is_empty())
        .collect()
}

/// An error's text with the given secret values blanked out.
fn scrub(mut text: String, secrets: &[String]) -> String {
    // Longest first: a secret holding another must not be left half shown.
    let mut secrets: Vec<&String> = secrets.iter().collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        text = text.replace(secret.as_str(), "<redacted>");
    }
    text
}

/// True for a client property whose value may be a secret: every property librdkafka marks
/// sensitive (passwords, key material, `sasl.oauthbearer.config`), anything named like one,
/// misspelled ones included (`sasl.passwd`), and every SASL property: hiding a user name
/// costs less than showing a password under a name nobody foresaw.
pub(crate) fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "jaas",
        "token",
        "key",
        "private",
        "oauthbearer",
        "credential",
        "sasl",
    ]
    .iter()
    .any(|s| k.contains(s))
}

impl KafkaConfig {
    /// `text` with the value of every secret client property replaced by `<redacted>`: for
    /// errors that may quote them (librdkafka names a property it refuses, and its value).
    pub fn redact(&self, text: &str) -> String {
        let secrets: Vec<String> = self
            .properties
            .iter()
            .filter(|(key, value)| is_secret(key) && !value.is_empty())
            .map(|(_, value)| value.clone())
            .collect();
        scrub(text.to_string(), &secrets)
    }
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let props: std::collections::BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    if is_secret(k) {
                        "<redacted>"
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("application_id", &self.application_id)
            .field("instance_id", &self.instance_id)
            .field("internal_partitions", &self.internal_partitions)
            .field("commit_interval", &self.commit_interval)
            .field("output_format", &self.output_format)
            .field("properties", &props)
            .finish_non_exhaustive()
    }
}

/// The rules' parameters (contract sections 4 and 5).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// How long before the confirmation a scan still counts (default 7 days).
    #[serde(deserialize_with = "duration")]
    pub lookback: Millis,
    /// How long after the confirmation a scan still counts; the window closes then (default 14 days).
    #[serde(deserialize_with = "duration")]
    pub horizon: Millis,
    /// How far event time trails the minimum over every input partition of the greatest event
    /// time seen there (default 6 hours).
    #[serde(deserialize_with = "duration")]
    pub allowed_lateness: Millis,
    /// When a pending package without a counting scan gets the `NO_SCAN_YET` warning (default 48 hours).
    #[serde(deserialize_with = "duration")]
    pub no_scan_warning_after: Millis,
    /// Seller VTR windows in days (default 7 and 30).
    pub seller_windows_days: Vec<u32>,
    /// A seller is at risk below this VTR (default 0.95).
    pub vtr_threshold: f64,
    /// A tracking ID with more packages than this whose windows overlap stops matching
    /// scans to the packages beyond the bound (default 10,000).
    pub max_packages_per_tracking_id: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            lookback: 7 * crate::event::DAY_MS,
            horizon: 14 * crate::event::DAY_MS,
            allowed_lateness: 6 * crate::event::HOUR_MS,
            no_scan_warning_after: 48 * crate::event::HOUR_MS,
            seller_windows_days: vec![7, 30],
            vtr_threshold: 0.95,
            max_packages_per_tracking_id: 10_000,
        }
    }
}

/// The longest seller window accepted, in days (ten years).
pub const MAX_WINDOW_DAYS: u32 = 3660;

impl EngineConfig {
    /// The longest seller window in days.
    pub fn longest_window_days(&self) -> u32 {
        self.seller_windows_days.iter().copied().max().unwrap_or(0)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.lookback < 0 || self.horizon <= 0 {
            return bad("engine.lookback must be >= 0 and engine.horizon > 0");
        }
        let windows = &self.seller_windows_days;
        if windows.is_empty() || windows.iter().any(|&d| d == 0 || d > MAX_WINDOW_DAYS) {
            return bad(&format!(
                "engine.seller_windows_days must list at least one window, each of 1 to {MAX_WINDOW_DAYS} days"
            ));
        }
        if (1..windows.len()).any(|i| windows[..i].contains(&windows[i])) {
            return bad("engine.seller_windows_days lists a window twice (a seller-vtr key names its window's length)");
        }
        if !(0.0..=1.0).contains(&self.vtr_threshold) {
            return bad("engine.vtr_threshold must lie in [0, 1]");
        }
        if self.max_packages_per_tracking_id == 0 {
            return bad("engine.max_packages_per_tracking_id must be at least 1");
        }
        Ok(())
    }
}

/// Where the carrier definitions come from.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CarriersConfig {
    /// A carriers TOML file; empty = the built-in US default (`config/carriers.toml`).
    pub file: Option<PathBuf>,
}

impl Config {
    /// Loads the file (or the defaults when `path` is `None`), applies `VTRACK_…` overrides,
    /// then `SECTION.KEY=VALUE` settings (the `--set` flags) over them.
    pub fn load(path: Option<&Path>, sets: &[String]) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_path_buf(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_toml_with(&text, std::env::vars(), sets)
    }

    /// Parses TOML text, then applies `VTRACK_<SECTION>_<KEY>=value` overrides from `env`.
    pub fn from_toml_with_env(
        text: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        Self::from_toml_with(text, env, &[])
    }

    /// [`Config::from_toml_with_env`], then `SECTION.KEY=VALUE` settings over it.
    pub fn from_toml_with(
        text: &str,
        env: impl Iterator<Item = (String, String)>,
        sets: &[String],
    ) -> Result<Config, ConfigError> {
        let mut value: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Invalid(syntax_error(text, &e)))?;
        for (name, raw) in env {
            apply_env_override(&mut value, &name, &raw);
        }
        for set in sets {
            apply_setting(&mut value, set)?;
        }
        let secrets = secret_values(&value);
        let config: Config = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(scrub(e.to_string(), &secrets)))?;
        config.engine.validate()?;
        Ok(config)
    }

    /// The carrier registry this configuration names.
    pub fn carrier_registry(&self) -> Result<CarrierRegistry, ConfigError> {
        match &self.carriers.file {
            None => Ok(CarrierRegistry::default_us()),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                Ok(CarrierRegistry::from_toml(&text)?)
            }
        }
    }
}

/// Applies one `VTRACK_SECTION_KEY` variable to the matching `[section] key`, when the
/// section is known. The value is read as TOML (number, boolean, array) or else as a string.
fn apply_env_override(table: &mut toml::Table, name: &str, raw: &str) {
    const SECTIONS: [&str; 4] = ["engine", "carriers", "kafka", "http"];
    let Some(rest) = name.strip_prefix("VTRACK_") else {
        return;
    };
    let rest = rest.to_ascii_lowercase();
    for section in SECTIONS {
        let Some(key) = rest.strip_prefix(section).and_then(|r| r.strip_prefix('_')) else {
            continue;
        };
        let entry = table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(Default::default()));
        let toml::Value::Table(t) = entry else {
            continue;
        };
        // `VTRACK_KAFKA_PROPERTIES_SASL_PASSWORD` sets the librdkafka property `sasl.password`.
        if let Some(property) = key
            .strip_prefix("properties_")
            .filter(|_| section == "kafka")
        {
            let props = t
                .entry("properties")
                .or_insert_with(|| toml::Value::Table(Default::default()));
            if let toml::Value::Table(props) = props {
                props.insert(
                    property.replace('_', "."),
                    toml::Value::String(raw.to_string()),
                );
            }
            continue;
        }
        t.insert(key.to_string(), env_value(section, key, raw));
    }
}

/// Applies one `SECTION.KEY=VALUE` setting (`kafka.properties.NAME=VALUE` sets a librdkafka
/// property). The value is typed as an environment variable's is.
fn apply_setting(table: &mut toml::Table, setting: &str) -> Result<(), ConfigError> {
    let bad = || {
        ConfigError::Invalid(format!(
            "--set `{setting}`: expected SECTION.KEY=VALUE, SECTION one of engine, carriers, kafka, http"
        ))
    };
    let (path, raw) = setting.split_once('=').ok_or_else(bad)?;
    let (section, key) = path.trim().split_once('.').ok_or_else(bad)?;
    if !["engine", "carriers", "kafka", "http"].contains(&section) || key.is_empty() {
        return Err(bad());
    }
    let toml::Value::Table(t) = table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(Default::default()))
    else {
        return Err(bad());
    };
    match key
        .strip_prefix("properties.")
        .filter(|_| section == "kafka")
    {
        Some(property) => {
            let props = t
                .entry("properties")
                .or_insert_with(|| toml::Value::Table(Default::default()));
            if let toml::Value::Table(props) = props {
                props.insert(property.to_string(), toml::Value::String(raw.to_string()));
            }
        }
        None => {
            t.insert(key.to_string(), env_value(section, key, raw));
        }
    }
    Ok(())
}

/// An environment value as TOML: a key documented as a string takes the text as it is
/// (`VTRACK_KAFKA_APPLICATION_ID=2024` is the id "2024"); others are parsed as TOML values,
/// falling back to the text.
fn env_value(section: &str, key: &str, raw: &str) -> toml::Value {
    static DOCUMENTED: std::sync::OnceLock<toml::Table> = std::sync::OnceLock::new();
    let documented = DOCUMENTED
        .get_or_init(|| toml::from_str(include_str!("../config/vtrack.toml")).unwrap_or_default());
    let is_string = documented
        .get(section)
        .and_then(|s| s.get(key))
        .is_some_and(toml::Value::is_str);
    if is_string {
        return toml::Value::String(raw.to_string());
    }
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// Parses a duration such as `7d`, `6h`, `90m`, `30s`, `100ms` into milliseconds.
pub fn parse_duration(s: &str) -> Option<Millis> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: Millis = n.parse().ok()?;
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => crate::event::HOUR_MS,
        "d" => crate::event::DAY_MS,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{s}` is not a duration (use a number and a unit: ms, s, m, h, d)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_do_not_show_secrets() {
        let error = |text: &str| {
            Config::from_toml_with_env(text, std::iter::empty())
                .expect_err("bad configuration")
                .to_string()
        };
        let unquoted = "[kafka.properties]\n\"sasl.password\" = SECRET123\n";
        let e = error(unquoted);
        assert!(!e.contains("SECRET123") && e.contains("line 2"), "{e}");
        let number = "[kafka.properties]\n\"sasl.password\" = 12345\n";
        let e = error(number);
        assert!(!e.contains("12345") && e.contains("sasl.password"), "{e}");
        let plain = "[kafka]\nbootstrap_servers = localhost:9092\n";
        assert!(
            error(plain).contains("localhost:9092"),
            "other lines are shown"
        );
    }

    #[test]
    fn client_errors_are_redacted() {
        let text = "[kafka.properties]\n\"sasl.oauthbearer.client.secret\" = \"S3cret\"\n\"client.id\" = \"visible\"\n";
        let c = Config::from_toml_with_env(text, std::iter::empty()).expect("valid");
        let said = "property \"sasl.oauthbearer.client.secret\" refused: S3cret; client.id visible";
        assert_eq!(
            c.kafka.redact(said),
            "property \"sasl.oauthbearer.client.secret\" refused: <redacted>; client.id visible"
        );
        // One secret holding another is hidden whole.
        let text =
            "[kafka.properties]\n\"sasl.password\" = \"abc\"\n\"ssl.key.password\" = \"abcXYZ9\"\n";
        let c = Config::from_toml_with_env(text, std::iter::empty()).expect("valid");
        assert_eq!(c.kafka.redact("bad value abcXYZ9"), "bad value <redacted>");
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::from_toml_with_env("", std::iter::empty()).unwrap();
        assert_eq!(c.engine.lookback, 7 * 86_400_000);
        assert_eq!(c.engine.horizon, 14 * 86_400_000);
        assert_eq!(c.engine.allowed_lateness, 6 * 3_600_000);
        assert_eq!(c.engine.no_scan_warning_after, 48 * 3_600_000);
        assert_eq!(c.engine.seller_windows_days, vec![7, 30]);
        assert_eq!(c.engine.vtr_threshold, 0.95);
    }

    #[test]
    fn the_documented_file_parses_to_the_defaults() {
        let text = include_str!("../config/vtrack.toml");
        let c = Config::from_toml_with_env(text, std::iter::empty()).unwrap();
        let d = EngineConfig::default();
        assert_eq!(c.engine.lookback, d.lookback);
        assert_eq!(c.engine.horizon, d.horizon);
        assert_eq!(c.engine.seller_windows_days, d.seller_windows_days);
    }

    #[test]
    fn env_strings_stay_strings_and_properties_pass_through() {
        let env = [
            ("VTRACK_KAFKA_APPLICATION_ID", "2024"),
            ("VTRACK_KAFKA_PROPERTIES_SASL_PASSWORD", "hunter2"),
            ("VTRACK_HTTP_BIND", "0.0.0.0:8080"),
            ("VTRACK_HTTP_READY_MAX_LAG", "5"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let c = Config::from_toml_with_env("", env.into_iter()).unwrap();
        assert_eq!(c.kafka.application_id, "2024");
        assert_eq!(c.kafka.properties["sasl.password"], "hunter2");
        assert_eq!(c.http.bind, "0.0.0.0:8080");
        assert_eq!(c.http.ready_max_lag, 5);
        assert!(!format!("{:?}", c.kafka).contains("hunter2"));
    }

    #[test]
    fn set_flags_override_environment_and_file() {
        let sets = [
            "engine.horizon=5d".to_string(),
            "kafka.application_id=2025".to_string(),
            "kafka.properties.security.protocol=SSL".to_string(),
        ];
        let env = [("VTRACK_ENGINE_HORIZON".to_string(), "3d".to_string())];
        let c = Config::from_toml_with("[engine]\nhorizon = \"1d\"\n", env.into_iter(), &sets)
            .expect("config");
        assert_eq!(c.engine.horizon, 5 * crate::event::DAY_MS);
        assert_eq!(c.kafka.application_id, "2025");
        assert_eq!(
            c.kafka
                .properties
                .get("security.protocol")
                .map(String::as_str),
            Some("SSL")
        );
        let bad = ["engine.horizon".to_string()];
        assert!(Config::from_toml_with("", std::iter::empty(), &bad).is_err());
    }

    #[test]
    fn env_overrides_file() {
        let env = vec![
            ("VTRACK_ENGINE_HORIZON".to_string(), "3d".to_string()),
            ("VTRACK_ENGINE_VTR_THRESHOLD".to_string(), "0.9".to_string()),
            ("OTHER".to_string(), "x".to_string()),
        ];
        let c =
            Config::from_toml_with_env("[engine]\nhorizon = \"5d\"\n", env.into_iter()).unwrap();
        assert_eq!(c.engine.horizon, 3 * 86_400_000);
        assert_eq!(c.engine.vtr_threshold, 0.9);
    }

    #[test]
    fn rejects_bad_values_with_the_key() {
        let e =
            Config::from_toml_with_env("[engine]\nhorizon = \"5 parsecs\"\n", std::iter::empty())
                .unwrap_err()
                .to_string();
        assert!(e.contains("horizon"), "{e}");
        assert!(Config::from_toml_with_env("[engine]\nnope = 1\n", std::iter::empty()).is_err());
    }

    #[test]
    fn kafka_defaults_and_secrets_stay_out_of_debug_output() {
        let text = "[kafka]\nbootstrap_servers = \"k:9092\"\n[kafka.properties]\n\"sasl.password\" = \"hunter2\"\n\"security.protocol\" = \"SASL_SSL\"\n";
        let c = Config::from_toml_with_env(text, std::iter::empty()).unwrap();
        assert_eq!(c.kafka.bootstrap_servers, "k:9092");
        assert_eq!(c.kafka.confirmations_topic, "shipment-confirmations");
        assert_eq!(c.kafka.commit_interval, 100);
        let shown = format!("{:?}", c.kafka);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("SASL_SSL"), "{shown}");
    }

    #[test]
    fn seller_windows_are_distinct_and_of_sensible_length() {
        let load = |w: &str| {
            Config::from_toml_with_env(
                &format!("[engine]\nseller_windows_days = {w}\n"),
                std::iter::empty(),
            )
        };
        assert!(load("[7, 30, 3660]").is_ok());
        for bad in [
            "[]",
            "[0]",
            "[7, 7]",
            "[30, 7, 30]",
            "[3661]",
            "[3000000000]",
        ] {
            let e = load(bad).expect_err(bad).to_string();
            assert!(e.contains("seller_windows_days"), "{bad}: {e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Some(100));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("3w"), None);
    }
}
