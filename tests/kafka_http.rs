//! The HTTP endpoint of `vtrack run` on the real broker: queries answered by either of two
//! instances equal `vtrack replay`; `/metrics` has every documented metric with numbers that
//! add up and passes `promtool check metrics`; `/healthz` and `/readyz` through start-up,
//! restore and shutdown.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::fixture::*;
use kafka_support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// One HTTP/1.0 GET: status and body, `None` when nothing listens.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b)?.to_string();
    Some((status, body))
}

/// A query's answer; a 503 (the owner is restoring or the group rebalancing) is asked again
/// for a while, as a client would.
fn query(addr: &str, path: &str) -> (u16, Value) {
    let mut answer = (0, Value::Null);
    poll_until(Duration::from_secs(30), || {
        answer = get_json(addr, path);
        answer.0 != 503
    });
    answer
}

fn get_json(addr: &str, path: &str) -> (u16, Value) {
    let (status, body) = get(addr, path).unwrap_or_else(|| panic!("no answer from {addr}"));
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET {path} on {addr}: not JSON ({e}): {body}"));
    (status, json)
}

/// Percent-encodes a path segment.
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn log_text(log: &Path) -> String {
    strip_ansi(&std::fs::read_to_string(log).unwrap_or_default())
}

/// The address the instance logging to `log` serves HTTP on.
fn http_addr(log: &Path) -> String {
    let mut addr = None;
    poll_until(DEFAULT_DEADLINE, || {
        addr = log_text(log)
            .lines()
            .find(|l| l.contains("serving /metrics"))
            .and_then(|l| l.split("addr=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string);
        addr.is_some()
    });
    addr.unwrap_or_else(|| panic!("{} never said where it serves HTTP", log.display()))
}

/// Prometheus text: sample name with labels → value (comments skipped).
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Sum of every sample of a metric (all label sets).
fn sum(samples: &BTreeMap<String, f64>, metric: &str) -> f64 {
    samples
        .iter()
        .filter(|(k, _)| k.as_str() == metric || k.starts_with(&format!("{metric}{{")))
        .map(|(_, v)| v)
        .sum()
}

fn scrape(addr: &str) -> String {
    let (status, body) = get(addr, "/metrics").expect("metrics answer");
    assert_eq!(status, 200, "{body}");
    body
}

fn promtool_check(scrape: &str) {
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("VTRACK_SKIP_PROMTOOL").is_some() => {
            eprintln!("promtool check skipped (VTRACK_SKIP_PROMTOOL): {e}");
            return;
        }
        Err(e) => panic!(
            "promtool not found ({e}): install Debian's `prometheus` package, or set VTRACK_SKIP_PROMTOOL=1"
        ),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scrape.as_bytes())
        .expect("write scrape");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn queries_to_either_instance_answer_like_replay_and_metrics_add_up() {
    require_broker!();
    let f = Fixture::new(1500);
    let (_a, log_a) = f.spawn("qa");
    let (_b, log_b) = f.spawn("qb");
    let addrs = [http_addr(&log_a), http_addr(&log_b)];
    // Both instances own partitions, are ready and are in the directory before any input
    // arrives, so the work (and the state queries read) is really split.
    let settled = poll_until(DEFAULT_DEADLINE, || {
        let (_, v) = get_json(&addrs[0], "/v1/instances");
        let owners = v["members"].as_array().map_or(0, |m| {
            m.iter()
                .filter(|m| {
                    m["order_partitions"]
                        .as_array()
                        .is_some_and(|p| !p.is_empty())
                })
                .count()
        });
        owners == 2 && addrs.iter().all(|a| get_json(a, "/readyz").0 == 200)
    });
    assert!(settled, "both instances should own partitions and be ready");
    f.produce();
    let records = f.assert_converges(&[&log_a, &log_b]);

    // Every package, asked of either instance, is replay's verdict, unless the order task
    // has forgotten it: final, with its metric day out of every seller window as of the end
    // (no later event can change what it counts for).
    let longest_window = 30;
    let expirable = |v: &Value| {
        let day = |field: &str| {
            v[field]
                .as_str()
                .and_then(vtrack::timestamp::parse_rfc3339)
                .map(vtrack::event::utc_day)
        };
        let metric_day = day("promised_delivery_at").or_else(|| day("confirmed_at"));
        v["final"] == true
            && metric_day.expect("a confirmation time")
                <= vtrack::event::utc_day(f.end) - longest_window
    };
    let mut forgotten = 0;
    for (i, (key, expected)) in f.verdicts.iter().enumerate() {
        let addr = &addrs[i % 2];
        let (seller, order, package) = (
            expected["seller_id"].as_str().unwrap_or_default(),
            expected["order_id"].as_str().unwrap_or_default(),
            expected["package_id"].as_str().unwrap_or_default(),
        );
        let path = format!(
            "/v1/packages/{}/{}/{}",
            seg(seller),
            seg(order),
            seg(package)
        );
        let (status, mut got) = query(addr, &path);
        if status == 404 && expirable(expected) {
            assert!(
                got["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("out of every seller window")),
                "{got}"
            );
            forgotten += 1;
            continue;
        }
        assert_eq!(status, 200, "{key} via {addr}: {got}");
        got.as_object_mut().map(|o| o.remove("revision"));
        assert_eq!(&got, expected, "{key} via {addr}");
    }

    // Every seller, asked of either instance, has replay's rows.
    let mut by_seller: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in f.sellers.values() {
        let seller = row["seller_id"].as_str().unwrap_or_default().to_string();
        by_seller.entry(seller).or_default().push(row.clone());
    }
    assert!(by_seller.len() > 5, "the workload has sellers");
    for (seller, expected) in &by_seller {
        for addr in &addrs {
            let (status, got) = query(addr, &format!("/v1/sellers/{}/vtr", seg(seller)));
            assert_eq!(status, 200, "{seller} via {addr}: {got}");
            assert!(got["as_of"].is_string(), "{got}");
            let mut rows: Vec<Value> = got["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.as_object_mut().map(|o| o.remove("as_of"));
                    r
                })
                .collect();
            let key = |v: &Value| {
                format!(
                    "{}/{}/{}",
                    v["marketplace"], v["category"], v["window_days"]
                )
            };
            rows.sort_by_key(key);
            let mut expected = expected.clone();
            expected.sort_by_key(key);
            assert_eq!(rows, expected, "seller {seller} via {addr}");
        }
    }

    // Clear 404s and 400s.
    let (status, v) = get_json(&addrs[0], "/v1/sellers/no-such-seller/vtr");
    assert_eq!(status, 404, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("no-such-seller")),
        "{v}"
    );
    let (status, v) = get_json(&addrs[1], "/v1/packages/no-such-seller/o/p");
    assert_eq!(status, 404, "{v}");
    let long = "x".repeat(2000);
    let (status, v) = get_json(&addrs[0], &format!("/v1/sellers/{long}/vtr"));
    assert_eq!(status, 400, "{v}");
    let (status, v) = get_json(&addrs[0], "/v1/nothing");
    assert_eq!(status, 404, "{v}");

    // One undecodable input and one confirmation far too late, so every counter has a sample.
    produce_json(&f.cfg.confirmations_topic, "bad", "{not json");
    let late = serde_json::json!({
        "event_id": "late-1", "action": "CONFIRM", "seller_id": "late-seller",
        "order_id": "late-order", "package_id": "1", "marketplace": "US",
        "category": "BOOKS", "carrier": "UPS", "tracking_id": "1Z999AA10123456784",
        "ship_method": "PARCEL", "confirmed_at": "2020-01-01T00:00:00Z"
    });
    let late_text = late.to_string();
    produce_with_headers(
        &f.cfg.confirmations_topic,
        &[(
            b"late-key",
            late_text.as_bytes(),
            &[("trace-id", "t-42"), ("origin", "shop")],
        )],
    );

    // The metrics: every documented name, and numbers that add up across the instances.
    let finals = f
        .verdicts
        .values()
        .filter(|v| v["final"].as_bool() == Some(true))
        .count() as f64;
    let mut texts = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    let complete = poll_until(Duration::from_secs(90), || {
        texts = addrs.iter().map(|a| scrape(a)).collect();
        let all: Vec<BTreeMap<String, f64>> = texts.iter().map(|t| samples(t)).collect();
        let total = |m: &str| all.iter().map(|s| sum(s, m)).sum::<f64>();
        missing = vtrack::metrics::ALL
            .iter()
            .map(|(name, ..)| *name)
            .filter(|name| !texts.iter().any(|t| t.contains(&format!("\n{name}"))))
            .collect();
        missing.is_empty()
            && total(vtrack::metrics::FINAL_VERDICTS) == finals
            && total(vtrack::metrics::VERDICTS) == records.len() as f64
            && total(vtrack::metrics::BAD_INPUT) == 1.0
            && total(vtrack::metrics::LATE_EVENTS) == 1.0
            // The workload repeats about one event in 200.
            && total(vtrack::metrics::DUPLICATE_EVENTS) >= 1.0
    });
    let all: Vec<BTreeMap<String, f64>> = texts.iter().map(|t| samples(t)).collect();
    let total = |m: &str| all.iter().map(|s| sum(s, m)).sum::<f64>();
    assert!(
        complete,
        "metrics incomplete: missing {missing:?}; final verdicts {} of {finals}; verdict records {} of {}; bad input {}; late events {}; duplicates {}",
        total(vtrack::metrics::FINAL_VERDICTS),
        total(vtrack::metrics::VERDICTS),
        records.len(),
        total(vtrack::metrics::BAD_INPUT),
        total(vtrack::metrics::LATE_EVENTS),
        total(vtrack::metrics::DUPLICATE_EVENTS),
    );
    // The late confirmation is in the late-events topic as it came, with why.
    let late_events = consume_all(
        &[&f.cfg.late_events_topic],
        Until::count(1).within(Duration::from_secs(30)),
    );
    assert_eq!(late_events.len(), 1, "{late_events:?}");
    assert_eq!(late_events[0].payload_str(), late_text);
    assert_eq!(late_events[0].key.as_deref(), Some(&b"late-key"[..]));
    let names: Vec<&str> = late_events[0]
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        names[..2],
        ["trace-id", "origin"],
        "the input's headers first, in order"
    );
    let header = |h: &str| {
        late_events[0]
            .header(h)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(
        header("vtrack.late.reason").as_deref(),
        Some("window_closed")
    );
    assert_eq!(
        header("vtrack.source.topic").as_deref(),
        Some(f.cfg.confirmations_topic.as_str())
    );
    assert_eq!(header("trace-id").as_deref(), Some("t-42"));
    let late_input = consume_all(
        &[&f.cfg.confirmations_topic],
        Until::end().within(Duration::from_secs(30)),
    )
    .into_iter()
    .find(|r| r.key.as_deref() == Some(&b"late-key"[..]))
    .expect("the late confirmation in its input topic");
    assert_eq!(
        header("vtrack.source.partition"),
        Some(late_input.partition.to_string())
    );
    assert_eq!(
        header("vtrack.source.offset"),
        Some(late_input.offset.to_string())
    );
    let input = (f.input[0].0.len() + f.input[1].0.len()) as f64;
    assert!(
        total(vtrack::metrics::INPUT_EVENTS) >= input,
        "input events counted: {} of at least {input}",
        total(vtrack::metrics::INPUT_EVENTS)
    );
    assert_eq!(total(vtrack::metrics::TRANSACTION_ABORTS), 0.0);
    assert!(total(vtrack::metrics::TRANSACTION_COMMITS) > 0.0);
    assert_eq!(
        total(&format!(
            "{}_count",
            vtrack::metrics::VERDICT_ARRIVAL_LATENCY
        )),
        records.len() as f64,
        "one arrival latency per verdict record"
    );
    // Orders no later event can change were dropped, and counted.
    assert!(forgotten > 0, "the oldest final packages are forgotten");
    let expired = |stage: &str| -> f64 {
        let series = format!("{}{{stage=\"{stage}\"}}", vtrack::metrics::EXPIRED_ENTRIES);
        all.iter().filter_map(|s| s.get(&series)).sum()
    };
    assert!(
        expired("order") >= forgotten as f64,
        "{} packages counted as expired, {forgotten} answered 404",
        expired("order")
    );
    assert!(
        expired("tracking") > 0.0,
        "tracking IDs whose windows have all passed are dropped"
    );
    for text in &texts {
        promtool_check(text);
    }
}

#[test]
fn health_follows_start_up_restore_and_shutdown() {
    require_broker!();
    let f = Fixture::new(600);
    f.produce();
    for round in ["start", "restart"] {
        let (mut child, log) = f.spawn("health");
        let addr = http_addr(&log);
        let (status, v) = get_json(&addr, "/healthz");
        assert_eq!(
            (status, v["status"].as_str()),
            (200, Some("alive")),
            "{round}"
        );
        // Not ready until the state is restored; ready after.
        let mut ready = false;
        let mut reasons = Vec::new();
        poll_until(DEFAULT_DEADLINE, || {
            let (status, v) = get_json(&addr, "/readyz");
            if status == 200 {
                ready = true;
                assert!(
                    log_text(&log).contains("state restored"),
                    "{round}: ready before the state was restored"
                );
            } else {
                assert_eq!(status, 503, "{v}");
                reasons.push(v["reason"].as_str().unwrap_or_default().to_string());
            }
            ready
        });
        assert!(ready, "{round}: never ready; reasons seen {reasons:?}");
        // Rare events' series exist from the start, at 0, for alerts on `increase()`.
        let at_start = samples(&scrape(&addr));
        for series in [
            format!(
                "{}{{topic=\"{}\",reason=\"undecodable\"}}",
                vtrack::metrics::BAD_INPUT,
                f.cfg.scans_topic
            ),
            format!(
                "{}{{topic=\"{}\",reason=\"window_closed\"}}",
                vtrack::metrics::LATE_EVENTS,
                f.cfg.confirmations_topic
            ),
        ] {
            assert_eq!(at_start.get(&series), Some(&0.0), "{round}: {series}");
        }
        if round == "start" {
            f.assert_converges(&[&log]);
        } else {
            let restored = poll_until(DEFAULT_DEADLINE, || {
                sum(&samples(&scrape(&addr)), vtrack::metrics::RESTORE_RECORDS) > 0.0
            });
            assert!(
                restored,
                "a restart restores state, and says so in /metrics"
            );
            // A graceful stop snapshots every task (3 partitions of 3 stages), so the restart
            // loads the snapshots and re-reads no input.
            let text = log_text(&log);
            assert!(
                text.contains("snapshots=9") && text.contains("replay=0"),
                "the restart should restore from the snapshots alone:\n{text}"
            );
            f.assert_converges(&[&log]);
        }
        stop_gracefully(&mut child);
        assert!(
            get(&addr, "/healthz").is_none(),
            "{round}: still serving after exit"
        );
        // The snapshots written at the stop hold the state: the input records before them
        // are purged from the internal topics.
        let order_events = format!("{}-order-events", f.cfg.application_id);
        let probe: rdkafka::consumer::BaseConsumer = client_config().create().expect("probe");
        let purged = (0..3).all(|p| {
            use rdkafka::consumer::Consumer;
            let (low, high) = probe
                .fetch_watermarks(&order_events, p, Duration::from_secs(10))
                .expect("watermarks");
            high == 0 || low > 0
        });
        assert!(
            purged,
            "{round}: {order_events} was not purged up to the snapshots"
        );
    }
}

/// The internal partitions of each stage a member of `/v1/instances` owns.
fn stage_partitions(member: &Value) -> [Vec<u64>; 3] {
    [
        "order_partitions",
        "tracking_partitions",
        "seller_partitions",
    ]
    .map(|stage| {
        member[stage]
            .as_array()
            .map(|ps| ps.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    })
}

#[test]
fn an_instance_that_joins_takes_its_share_of_every_stage() {
    require_broker!();
    let f = Fixture::new(200);
    let (mut a, log_a) = f.spawn("sa");
    let addr = http_addr(&log_a);
    let members = || get_json(&addr, "/v1/instances").1["members"].clone();
    let alone = poll_until(DEFAULT_DEADLINE, || {
        members()
            .as_array()
            .is_some_and(|m| m.len() == 1 && stage_partitions(&m[0])[0].len() == 3)
    });
    assert!(alone, "the first instance should own every partition");
    // A second instance joins (a scale-up): it must take a share of each stage, not a
    // whole stage, and partition p of every stage stays on one instance.
    let (mut b, _log_b) = f.spawn("sb");
    let mut last = Value::Null;
    let shared = poll_until(Duration::from_secs(120), || {
        last = members();
        let Some(m) = last.as_array().filter(|m| m.len() == 2) else {
            return false;
        };
        let owned: Vec<[Vec<u64>; 3]> = m.iter().map(stage_partitions).collect();
        let stage_total = |s: usize| owned.iter().map(|o| o[s].len()).sum::<usize>();
        (0..3).all(|s| stage_total(s) == 3)
            && owned.iter().all(|[orders, tracking, sellers]| {
                !orders.is_empty() && orders == tracking && orders == sellers
            })
    });
    assert!(
        shared,
        "each instance should own a share of every stage: {last}"
    );
    stop_gracefully(&mut b);
    stop_gracefully(&mut a);
}

/// An instance beyond the partition count stands by: it gets no partition (the consumer group
/// protocol then calls no assignment callback), yet it is ready, and the directory lists it
/// with nothing owned.
#[test]
fn an_instance_beyond_the_partition_count_stands_by_ready() {
    require_broker!();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &[("kafka.internal_partitions", "1")]);
    let cfg = load_config(&config).kafka;
    create_topic(&cfg.confirmations_topic, 1);
    create_topic(&cfg.scans_topic, 1);
    let args = ["run", "--config", config.to_str().unwrap_or_default()];
    let (a, log_a) = spawn_vtrack_logged(&args);
    let mut a = KillOnDrop(a);
    let addr_a = http_addr(&log_a);
    let first_ready = poll_until(DEFAULT_DEADLINE, || get_json(&addr_a, "/readyz").0 == 200);
    assert!(first_ready, "the first instance never became ready");

    let (b, log_b) = spawn_vtrack_logged(&args);
    let mut b = KillOnDrop(b);
    let addr_b = http_addr(&log_b);
    let mut last = Value::Null;
    let ready = poll_until(Duration::from_secs(60), || {
        let (status, v) = get_json(&addr_b, "/readyz");
        last = v;
        status == 200
    });
    assert!(
        ready,
        "the stand-by never became ready: {last}\n{}",
        log_text(&log_b)
    );
    let mut members = Value::Null;
    let listed = poll_until(DEFAULT_DEADLINE, || {
        members = get_json(&addr_a, "/v1/instances").1["members"].clone();
        members.as_array().is_some_and(|m| {
            m.len() == 2
                && m.iter()
                    .any(|x| stage_partitions(x).iter().all(Vec::is_empty))
        })
    });
    assert!(
        listed,
        "the stand-by is not listed as owning nothing: {members}"
    );
    stop_gracefully(&mut b);
    stop_gracefully(&mut a);
}
