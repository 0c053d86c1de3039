//! The `vtrack` binary's command-line behaviour around its inputs and outputs: generator mix
//! flags, replay's reading of NDJSON files (duplicates, byte-order mark, errors), and a
//! reader that goes away.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn vtrack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vtrack"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a replay wrote: verdicts and dead letters as JSON values, and the summary.
type Replayed = (Vec<serde_json::Value>, Vec<serde_json::Value>, String);

/// Writes the two input files of a replay into `dir`.
fn write_inputs(dir: &Path, confirmations: &str, scans: &str) -> (PathBuf, PathBuf) {
    let (c, s) = (dir.join("c.ndjson"), dir.join("s.ndjson"));
    std::fs::write(&c, confirmations).unwrap();
    std::fs::write(&s, scans).unwrap();
    (c, s)
}

/// `vtrack replay` of the given lines.
fn replay(dir: &Path, confirmations: &[u8], scans: &[u8]) -> Replayed {
    replay_with(dir, confirmations, scans, &[])
}

/// [`replay`] with more arguments.
fn replay_with(dir: &Path, confirmations: &[u8], scans: &[u8], args: &[&str]) -> Replayed {
    let r = common::run_replay(dir, confirmations, scans, args, &[]).succeeded();
    let summary = r.stdout();
    (r.verdicts, r.dead_letters, summary)
}

const CONFIRM_UPS: &str = r#"{"event_id":"1","seller_id":"S1","order_id":"O1","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-11-01T10:00:00Z"}"#;

#[test]
fn the_same_event_id_in_confirmations_and_scans_is_two_events() {
    let dir = tempfile::tempdir().unwrap();
    let scan = r#"{"event_id":"1","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-01T12:00:00Z"}"#;
    let (verdicts, dead, summary) = replay(dir.path(), CONFIRM_UPS.as_bytes(), scan.as_bytes());
    assert!(dead.is_empty());
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0]["status"], "VALID", "{}", verdicts[0]);
    assert!(summary.contains("(0 duplicates"), "{summary}");
}

#[test]
fn a_repeated_event_id_is_a_duplicate_whatever_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let repeated = r#"{"event_id":"1","seller_id":"S1","order_id":"O1","carrier":"UPS","tracking_id":"","confirmed_at":"2026-11-03T10:00:00Z","category":"OTHER"}"#;
    let confirmations = format!("{CONFIRM_UPS}\n{repeated}\n");
    let scan = r#"{"event_id":"s1","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-01T12:00:00Z"}"#;
    let (verdicts, _, summary) = replay(dir.path(), confirmations.as_bytes(), scan.as_bytes());
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0]["status"], "VALID", "{}", verdicts[0]);
    assert_eq!(verdicts[0]["category"], "UNCATEGORIZED");
    assert!(summary.contains("(1 duplicates"), "{summary}");
}

#[test]
fn a_repeated_scan_id_is_a_duplicate_whatever_its_time_and_line() {
    // Producers never reuse an id for another event, so a repeat is ignored even when its
    // content differs; the copy kept is the earlier one, in either line order.
    let early_other_carrier = r#"{"event_id":"s1","carrier":"FEDEX","tracking_id":"1Z999AA10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-01T11:00:00Z"}"#;
    let later_ups = r#"{"event_id":"s1","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-03T12:00:00Z"}"#;
    for scans in [
        [early_other_carrier, later_ups],
        [later_ups, early_other_carrier],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let lines = format!("{}\n{}\n", scans[0], scans[1]);
        let (verdicts, _, summary) = replay(dir.path(), CONFIRM_UPS.as_bytes(), lines.as_bytes());
        assert_eq!(verdicts[0]["status"], "INVALID", "{}", verdicts[0]);
        assert_eq!(
            verdicts[0]["reasons"][0], "CARRIER_MISMATCH",
            "{}",
            verdicts[0]
        );
        assert!(summary.contains("2 scans (1 duplicates"), "{summary}");
    }
}

/// The output files of a replay, as bytes.
fn replay_files(dir: &Path, confirmations: &[&str], scans: &[&str]) -> Vec<Vec<u8>> {
    let join = |lines: &[&str]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    replay(dir, join(confirmations).as_bytes(), join(scans).as_bytes());
    [
        "verdicts",
        "seller_vtr",
        "late_confirmations",
        "dead_letters",
    ]
    .iter()
    .map(|f| std::fs::read(dir.join("out").join(format!("{f}.ndjson"))).unwrap())
    .collect()
}

#[test]
fn replay_outputs_do_not_depend_on_the_order_of_the_lines() {
    // A corrected tracking ID, then scans: in time order the package goes through several
    // versions, and every output byte (revision included) is the same in any line order.
    let first = r#"{"event_id":"c1","seller_id":"S1","order_id":"O1","carrier":"UPS","tracking_id":"1Z999AA1012345678","confirmed_at":"2026-11-01T09:00:00Z"}"#;
    let scans = [
        r#"{"event_id":"s1","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-01T12:00:00Z"}"#,
        r#"{"event_id":"s2","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"IN_TRANSIT","scanned_at":"2026-11-02T12:00:00Z"}"#,
        r#"{"event_id":"s3","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"DELIVERED","scanned_at":"2026-11-03T12:00:00Z"}"#,
        "not json",
    ];
    let confirmations = [first, "{}", CONFIRM_UPS];
    let dir = tempfile::tempdir().unwrap();
    let in_order = replay_files(dir.path(), &confirmations, &scans);
    let verdict: serde_json::Value =
        serde_json::from_slice(in_order[0].split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(verdict["status"], "VALID", "{verdict}");
    assert!(verdict["revision"].as_u64().unwrap() >= 3, "{verdict}");
    let reversed = |lines: &[&'static str]| lines.iter().rev().copied().collect::<Vec<_>>();
    let dir = tempfile::tempdir().unwrap();
    let out_of_order = replay_files(dir.path(), &confirmations, &reversed(&scans));
    // Dead letters name their file and line, which the reordering changed.
    for (a, b) in in_order.iter().zip(&out_of_order).take(3) {
        assert_eq!(String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    }
}

#[test]
fn replay_skips_a_byte_order_mark_and_names_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let confirmations = format!("\u{feff}{CONFIRM_UPS}\nnot json\n");
    let (verdicts, dead, _) = replay(dir.path(), confirmations.as_bytes(), b"");
    assert_eq!(
        verdicts.len(),
        1,
        "the first line decodes despite its byte-order mark"
    );
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["line"], 2);
    let error = dead[0]["error"].as_str().unwrap();
    assert!(
        error.contains("JSON") && !error.contains("protobuf"),
        "{error}"
    );
}

#[test]
fn a_reader_that_went_away_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = write_inputs(dir.path(), CONFIRM_UPS, "");
    // A pipe whose reading end is closed before vtrack writes anything: every write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = vtrack()
        .args(["replay", "--confirmations"])
        .arg(&c)
        .arg("--scans")
        .arg(&s)
        .arg("--out")
        .arg(dir.path().join("out"))
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("out/verdicts.ndjson").exists());
}

/// The scenario counts `vtrack generate` prints.
fn scenarios(out: &Output) -> std::collections::HashMap<String, u64> {
    stdout(out)
        .lines()
        .skip_while(|l| *l != "scenarios:")
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((parts.next()?.to_string(), parts.next()?.parse().ok()?))
        })
        .collect()
}

#[test]
fn generate_mix_sets_how_often_each_scenario_happens() {
    let dir = tempfile::tempdir().unwrap();
    let generate = |mix: &str| {
        run(vtrack()
            .args(["generate", "--packages", "2000", "--confirmations"])
            .arg(dir.path().join("c.ndjson"))
            .arg("--scans")
            .arg(dir.path().join("s.ndjson"))
            .args(["--mix", mix]))
    };
    let out = generate("none,wrong_carrier=0.5");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = scenarios(&out);
    let wrong = counts.get("wrong_carrier").copied().unwrap_or(0);
    assert!((600..=1400).contains(&wrong), "{counts:?}");
    assert!(
        counts.keys().all(|k| k == "wrong_carrier" || k == "valid"),
        "{counts:?}"
    );
    let default = scenarios(&generate("digital=0"));
    assert!(
        !default.contains_key("digital") && default.contains_key("small_envelope"),
        "{default:?}"
    );
    let bad = generate("no_such_failure=0.1");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no_such_failure"));
}

#[test]
fn set_flags_override_configuration_keys() {
    let dir = tempfile::tempdir().unwrap();
    let as_of = ["--as-of", "2026-11-03T10:00:00Z"];
    let (verdicts, _, _) = replay_with(dir.path(), CONFIRM_UPS.as_bytes(), b"", &as_of);
    assert_eq!(verdicts[0]["status"], "PENDING", "{}", verdicts[0]);
    let short = [
        "--as-of",
        "2026-11-03T10:00:00Z",
        "--set",
        "engine.horizon=1d",
    ];
    let (verdicts, _, _) = replay_with(dir.path(), CONFIRM_UPS.as_bytes(), b"", &short);
    assert_eq!(verdicts[0]["status"], "INVALID", "{}", verdicts[0]);
    assert_eq!(verdicts[0]["final"], true);
    for bad in ["engine.no_such_key=1", "horizon=1d", "nosection.key=1"] {
        let out = run(vtrack().args(["demo", "--packages", "10", "--set", bad]));
        assert!(!out.status.success(), "--set {bad} was accepted");
    }
}

#[test]
fn a_repeat_does_not_move_the_default_as_of() {
    // The copy dated weeks later is a duplicate: it changes nothing, so event time ends at
    // the confirmation and the package stays pending.
    let dir = tempfile::tempdir().unwrap();
    let repeat = CONFIRM_UPS.replace("2026-11-01T10:00:00Z", "2026-12-31T10:00:00Z");
    let confirmations = format!("{CONFIRM_UPS}\n{repeat}\n");
    let (verdicts, _, summary) = replay(dir.path(), confirmations.as_bytes(), b"");
    assert_eq!(verdicts[0]["status"], "PENDING", "{}", verdicts[0]);
    assert_eq!(verdicts[0]["final"], false, "{}", verdicts[0]);
    assert!(summary.contains("2026-11-01T10:00:00Z"), "{summary}");
}

#[test]
fn replay_reads_an_input_from_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let scans = dir.path().join("s.ndjson");
    let scan = r#"{"event_id":"s1","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-01T12:00:00Z"}"#;
    std::fs::write(&scans, scan).unwrap();
    let out = dir.path().join("out");
    let mut child = vtrack()
        .args(["replay", "--confirmations", "/dev/stdin", "--scans"])
        .arg(&scans)
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{CONFIRM_UPS}").unwrap();
    }
    let result = child.wait_with_output().unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let verdicts = std::fs::read_to_string(out.join("verdicts.ndjson")).unwrap();
    let v: serde_json::Value = serde_json::from_str(verdicts.trim()).unwrap();
    assert_eq!(v["status"], "VALID", "{v}");
}

#[test]
fn replay_input_errors_name_the_flag_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let confirmations = dir.path().join("c.ndjson");
    std::fs::write(&confirmations, CONFIRM_UPS).unwrap();
    for (scans, says) in [
        (dir.path().join("missing.ndjson"), "--scans"),
        (dir.path().to_path_buf(), "is a directory"),
    ] {
        let out = dir.path().join("out");
        let result = run(vtrack()
            .args(["replay", "--confirmations"])
            .arg(&confirmations)
            .arg("--scans")
            .arg(&scans)
            .arg("--out")
            .arg(&out));
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success());
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            !out.exists(),
            "no output directory for a replay that cannot read its input"
        );
    }
}

#[test]
fn an_as_of_before_every_event_is_warned_about() {
    // 1793491200 is a time in seconds; read as milliseconds it lies in January 1970.
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = write_inputs(dir.path(), CONFIRM_UPS, "");
    let result = run(vtrack()
        .args(["replay", "--as-of", "1793491200", "--confirmations"])
        .arg(&c)
        .arg("--scans")
        .arg(&s)
        .arg("--out")
        .arg(dir.path().join("out")));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("lie after --as-of 1970-01-21"), "{stderr}");
}

#[cfg(feature = "kafka")]
#[test]
fn run_says_a_wrong_http_address_before_it_contacts_kafka() {
    // Nothing listens on port 1: were the broker contacted first, the error would be about it.
    let result = run(vtrack()
        .args(["run", "--set", "http.bind=notanaddr"])
        .args(["--set", "kafka.bootstrap_servers=127.0.0.1:1"])
        .args(["--set", "kafka.instance_id=cli-test"]));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    assert!(stderr.contains("cannot listen on notanaddr"), "{stderr}");
}

#[test]
fn generate_refuses_meaningless_values_and_one_file_for_both() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (dir.path().join("c.ndjson"), dir.path().join("s.ndjson"));
    for (args, says) in [
        (&["--duplicate-rate", "2"][..], "not a fraction from 0 to 1"),
        (
            &["--duplicate-rate", "NaN"][..],
            "not a fraction from 0 to 1",
        ),
        (&["--days", "0"][..], "--days"),
        (&["--sellers", "0"][..], "--sellers"),
    ] {
        let result = run(vtrack()
            .args(["generate", "--packages", "10", "--confirmations"])
            .arg(&c)
            .arg("--scans")
            .arg(&s)
            .args(args));
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{args:?} accepted");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let same = dir.path().join(".").join("c.ndjson");
    let result = run(vtrack()
        .args(["generate", "--packages", "10", "--confirmations"])
        .arg(&c)
        .arg("--scans")
        .arg(&same));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(stderr.contains("name the same file"), "{stderr}");
    // A device takes both outputs (timing the generator alone).
    let result = run(vtrack().args([
        "generate",
        "--packages",
        "10",
        "--confirmations",
        "/dev/null",
        "--scans",
        "/dev/null",
    ]));
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[cfg(feature = "kafka")]
#[test]
fn run_errors_never_show_a_secret() {
    // This librdkafka build refuses the OAuth property and quotes its value in the error.
    let result = run(vtrack()
        .args(["run", "--set", "http.bind="])
        .args(["--set", "kafka.bootstrap_servers=127.0.0.1:1"])
        .args(["--set", "kafka.instance_id=cli-test"])
        .args([
            "--set",
            "kafka.properties.sasl.oauthbearer.client.secret=S3cretPW3",
        ]));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    assert!(!stderr.contains("S3cretPW3"), "{stderr}");
    assert!(stderr.contains("<redacted>"), "{stderr}");
}

#[test]
fn replay_reports_progress_on_long_inputs_when_not_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let confirmation = r#"{"event_id":"c1","seller_id":"S","order_id":"O","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-11-01T00:00:00Z"}"#;
    let progress = |scans: &str| {
        let (c, s) = write_inputs(dir.path(), &format!("{confirmation}\n"), scans);
        let out = run(vtrack()
            .args(["replay", "--confirmations"])
            .arg(c)
            .arg("--scans")
            .arg(s)
            .arg("--out")
            .arg(dir.path().join("out")));
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Standard error is a pipe here: a long input gets a line per tenth of the work.
    let long = progress(&"\n".repeat(9 << 20));
    for step in ["replay: 10%", "replay: 50%", "replay: 100%"] {
        assert!(long.contains(step), "{step} missing from: {long}");
    }
    let short = progress("");
    assert!(!short.contains("replay: "), "{short}");
}
