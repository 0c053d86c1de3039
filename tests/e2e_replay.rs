//! End to end: the real `vtrack` binary, as a user runs it (`generate`, then `replay`),
//! checked against an independent reference model of the contract (`tests/reference`).

mod reference;

use reference::{self as model, Expected, Input};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vtrack::carriers::CarrierRegistry;

const ALL_STATUSES: [&str; 4] = ["PENDING", "VALID", "INVALID", "EXCLUDED"];

fn vtrack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vtrack"))
}

/// Runs a command and asserts it exits with success, showing its output otherwise.
fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `vtrack replay` into `out`, with `--as-of` when given.
fn replay(conf: &Path, scans: &Path, out: &Path, as_of: Option<&str>) -> String {
    let mut cmd = vtrack();
    cmd.arg("replay")
        .arg("--confirmations")
        .arg(conf)
        .arg("--scans")
        .arg(scans)
        .arg("--out")
        .arg(out);
    if let Some(t) = as_of {
        cmd.arg("--as-of").arg(t);
    }
    let output = run_ok(&mut cmd);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a replay produced, as seen by the checks.
#[derive(Default)]
struct Seen {
    statuses: BTreeMap<String, usize>,
    reasons: BTreeMap<String, usize>,
    warnings: BTreeMap<String, usize>,
    verdicts: usize,
    seller_rows: usize,
    late: usize,
    dead: usize,
}

/// Compares one replay's output directory with the reference; returns the problems found.
fn check_run(
    label: &str,
    input: &Input,
    expected: &Expected,
    out: &Path,
    stdout: &str,
    seen: &mut Seen,
) -> Vec<String> {
    let mut problems = Vec::new();

    // verdicts.ndjson: every field but revision and explanation, which are checked apart.
    let lines = model::read_output(&out.join("verdicts.ndjson"));
    for v in &lines {
        let key = format!(
            "{}/{}/{}",
            v["seller_id"].as_str().unwrap_or("?"),
            v["order_id"].as_str().unwrap_or("?"),
            v["package_id"].as_str().unwrap_or("?")
        );
        if v.get("revision")
            .and_then(Value::as_u64)
            .is_none_or(|r| r < 1)
        {
            problems.push(format!(
                "{label}: {key}: revision {:?} is not >= 1",
                v.get("revision")
            ));
        }
        if !is_sentence(v.get("explanation")) {
            problems.push(format!(
                "{label}: {key}: explanation {:?} is not a sentence",
                v.get("explanation")
            ));
        }
        let status = v["status"].as_str().unwrap_or("?").to_string();
        *seen.statuses.entry(status).or_default() += 1;
        for r in v["reasons"].as_array().into_iter().flatten() {
            *seen.reasons.entry(r.to_string()).or_default() += 1;
        }
        for w in v["warnings"].as_array().into_iter().flatten() {
            *seen.warnings.entry(w.to_string()).or_default() += 1;
        }
    }
    seen.verdicts += lines.len();
    let actual = model::index(
        "verdicts",
        lines,
        &["seller_id", "order_id", "package_id"],
        model::VERDICT_TS,
    );
    let diffs = model::compare(
        &expected.verdicts,
        &actual,
        &["revision", "explanation"],
        model::VERDICT_TS,
        &[],
    );
    if !diffs.is_empty() {
        let mut s = model::render_diffs(&format!("{label}: verdicts.ndjson"), &diffs, 8);
        s += &input_of_first_keys(input, &diffs, 4);
        problems.push(s);
    }

    // seller_vtr.ndjson, complete.
    let lines = model::read_output(&out.join("seller_vtr.ndjson"));
    seen.seller_rows += lines.len();
    let actual = model::index(
        "seller_vtr",
        lines,
        &["marketplace", "seller_id", "category", "window_days"],
        model::SELLER_TS,
    );
    let diffs = model::compare(
        &expected.sellers,
        &actual,
        &[],
        model::SELLER_TS,
        &["vtr", "threshold"],
    );
    if !diffs.is_empty() {
        problems.push(model::render_diffs(
            &format!("{label}: seller_vtr.ndjson"),
            &diffs,
            8,
        ));
    }

    // late_confirmations.ndjson, complete.
    let lines = model::read_output(&out.join("late_confirmations.ndjson"));
    seen.late += lines.len();
    let actual = model::index(
        "late_confirmations",
        lines,
        &["seller_id", "order_id", "package_id"],
        model::LATE_TS,
    );
    let diffs = model::compare(&expected.late, &actual, &[], model::LATE_TS, &[]);
    if !diffs.is_empty() {
        let mut s = model::render_diffs(&format!("{label}: late_confirmations.ndjson"), &diffs, 8);
        s += &input_of_first_keys(input, &diffs, 4);
        problems.push(s);
    }

    // dead_letters.ndjson: the same lines (file, line number), each with an error.
    let lines = model::read_output(&out.join("dead_letters.ndjson"));
    seen.dead += lines.len();
    let actual: BTreeSet<(String, u64)> = lines
        .iter()
        .map(|d| {
            if d.get("error")
                .and_then(Value::as_str)
                .is_none_or(|e| e.trim().is_empty())
            {
                problems.push(format!("{label}: dead letter without an error: {d:?}"));
            }
            (
                d.get("file")
                    .and_then(Value::as_str)
                    .unwrap_or("<no file>")
                    .to_string(),
                d.get("line").and_then(Value::as_u64).unwrap_or(0),
            )
        })
        .collect();
    let wanted: BTreeSet<(String, u64)> = expected
        .bad
        .iter()
        .map(|b| (b.file.clone(), b.line))
        .collect();
    if lines.len() != expected.bad.len() || actual != wanted {
        let missing: Vec<_> = wanted.difference(&actual).take(10).collect();
        let extra: Vec<_> = actual.difference(&wanted).take(10).collect();
        let why: Vec<&model::Bad> = expected
            .bad
            .iter()
            .filter(|b| missing.contains(&&(b.file.clone(), b.line)))
            .collect();
        problems.push(format!(
            "{label}: dead letters: expected {} line(s), actual {}; \
             expected but not written: {missing:?} (reference says {why:?}); \
             written but not expected: {extra:?}",
            expected.bad.len(),
            lines.len()
        ));
    }
    if !summary_says(stdout, "bad input", expected.bad.len()) {
        problems.push(format!(
            "{label}: the summary does not say how many bad input lines ({}):\n{stdout}",
            expected.bad.len()
        ));
    }
    problems
}

/// Appends the input events of the first `n` differing packages.
fn input_of_first_keys(input: &Input, diffs: &[model::Diff], n: usize) -> String {
    let mut keys: Vec<&str> = diffs.iter().map(|d| d.key.as_str()).collect();
    keys.dedup();
    let mut s = String::new();
    for k in keys.into_iter().take(n) {
        s += &format!(
            "  input events of {k}:\n{}",
            model::describe_package(input, k)
        );
    }
    s
}

/// One sentence a seller understands: non-empty, one line, capitalised, with an end mark.
fn is_sentence(v: Option<&Value>) -> bool {
    let Some(s) = v.and_then(Value::as_str) else {
        return false;
    };
    let s = s.trim();
    s.len() >= 10
        && !s.contains('\n')
        && s.chars().next().is_some_and(|c| c.is_uppercase())
        && (s.ends_with('.') || s.ends_with('!'))
}

/// True when a line of the summary containing `what` shows the number `n`.
fn summary_says(stdout: &str, what: &str, n: usize) -> bool {
    stdout.lines().any(|l| {
        l.to_lowercase().contains(what)
            && l.split(|c: char| !c.is_ascii_digit())
                .any(|w| w == n.to_string())
    })
}

/// Writes the lines of `from` to `to` in a pseudo-random order (xorshift, seeded).
fn shuffle_lines(from: &Path, to: &Path, seed: u64) {
    let text = std::fs::read_to_string(from).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..lines.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lines.swap(i, (x % (i as u64 + 1)) as usize);
    }
    std::fs::write(to, lines.join("\n") + "\n").expect("write");
}

fn expect_files(out: &Path) {
    for f in [
        "verdicts.ndjson",
        "seller_vtr.ndjson",
        "late_confirmations.ndjson",
        "dead_letters.ndjson",
    ] {
        assert!(out.join(f).is_file(), "replay did not write {f}");
    }
}

#[test]
fn generated_workload_matches_the_reference_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("confirmations.ndjson");
    let scans = dir.path().join("scans.ndjson");
    // E2E_SEED and E2E_PACKAGES explore other workloads (not named VTRACK_…: vtrack reads those).
    let seed = std::env::var("E2E_SEED").unwrap_or_else(|_| "7".into());
    let packages = std::env::var("E2E_PACKAGES").unwrap_or_else(|_| "3000".into());
    run_ok(
        vtrack()
            .args(["generate", "--confirmations"])
            .arg(&conf)
            .arg("--scans")
            .arg(&scans)
            .args(["--packages", &packages, "--sellers", "40", "--seed", &seed]),
    );
    let input = model::read_input(&conf, &scans);
    assert!(
        input.confs.len() >= 3000 && input.scans.len() >= 3000,
        "generate wrote too little: {} confirmations, {} scans",
        input.confs.len(),
        input.scans.len()
    );
    let registry = CarrierRegistry::default_us();
    let (first, last) = input.time_range().expect("events with times");

    let mut problems = Vec::new();
    let mut seen_all = Seen::default();
    // Run 1: as of the end of the input. Run 2: as of the middle, given explicitly.
    let middle = first + (last - first) / 2;
    let middle = middle - middle.rem_euclid(1000);
    let middle_text = vtrack::timestamp::format_rfc3339(middle);
    // Run 3: the same events in another order (contract section 4: the verdicts depend only
    // on the set of events, never on their order).
    let conf_shuffled = dir.path().join("confirmations.shuffled.ndjson");
    let scans_shuffled = dir.path().join("scans.shuffled.ndjson");
    shuffle_lines(&conf, &conf_shuffled, 11);
    shuffle_lines(&scans, &scans_shuffled, 13);
    let shuffled_input = model::read_input(&conf_shuffled, &scans_shuffled);
    let runs = [
        ("default as-of", None, &conf, &scans, &input, "out1"),
        ("as-of middle", Some(middle), &conf, &scans, &input, "out2"),
        (
            "shuffled input",
            None,
            &conf_shuffled,
            &scans_shuffled,
            &shuffled_input,
            "out3",
        ),
    ];
    for (label, as_of, conf, scans, input, out) in runs {
        let out: PathBuf = dir.path().join(out);
        let stdout = replay(conf, scans, &out, as_of.map(|_| middle_text.as_str()));
        expect_files(&out);
        let expected = model::compute(input, as_of, &registry);
        let mut seen = Seen::default();
        problems.extend(check_run(label, input, &expected, &out, &stdout, &mut seen));
        eprintln!(
            "{label} (as of {}): {} verdicts {:?}, reasons {:?}, warnings {:?}, \
             {} seller rows, {} late confirmations, {} dead letters; \
             reference: {} duplicates, {} after as-of, coverage {:?}",
            expected
                .as_of
                .map_or("-".into(), vtrack::timestamp::format_rfc3339),
            seen.verdicts,
            seen.statuses,
            seen.reasons,
            seen.warnings,
            seen.seller_rows,
            seen.late,
            seen.dead,
            expected.duplicates,
            expected.after_as_of,
            expected.coverage,
        );
        assert!(
            seen.verdicts >= 1000 && seen.seller_rows >= 40,
            "{label}: a degenerate run: {} verdicts, {} seller rows",
            seen.verdicts,
            seen.seller_rows
        );
        for (k, n) in seen.statuses {
            *seen_all.statuses.entry(k).or_default() += n;
        }
        for (k, n) in seen.reasons {
            *seen_all.reasons.entry(k).or_default() += n;
        }
        seen_all.late += seen.late;
        seen_all.dead += seen.dead;
    }

    // The workload must exercise the rules, not only agree with the model.
    for s in ALL_STATUSES {
        assert!(
            seen_all.statuses.contains_key(s),
            "no package is {s}: {:?}",
            seen_all.statuses
        );
    }
    assert!(
        seen_all.reasons.len() >= 8,
        "only {} distinct reasons in the outputs: {:?}",
        seen_all.reasons.len(),
        seen_all.reasons
    );
    assert!(seen_all.late > 0, "no late confirmation in either run");
    assert!(
        problems.is_empty(),
        "vtrack replay disagrees with the reference model:\n{}",
        problems.join("\n")
    );
}

/// A small hand-written input: malformed lines, a missing required field, a duplicate, an
/// event after `--as-of`, and lines that must pass.
#[test]
fn hand_written_input_with_bad_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("conf.ndjson");
    let scans = dir.path().join("scans.ndjson");
    let ok = r#"{"event_id":"c1","seller_id":"S1","order_id":"O1","category":"TOYS","carrier":"United Parcel Service","tracking_id":" 1z999aa10123456784 ","confirmed_at":"2026-11-20T10:00:00Z","promised_delivery_at":"2026-11-24T23:59:59-05:00"}"#;
    let conf_lines = [
        ok,                                                                     // 1 ok
        r#"{"event_id":"c2","seller_id":"S1","order_id":"O2","carrier":"UPS""#, // 2 truncated
        r#"{"event_id":"c3","order_id":"O3","carrier":"USPS","tracking_id":"9400111899223344556677","confirmed_at":"2026-11-20T10:00:00Z"}"#, // 3 no seller_id
        ok, // 4 duplicate
        "", // 5 blank: skipped
        r#"{"event_id":"c6","seller_id":"S1","order_id":"O6","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-11-30T00:00:00Z"}"#, // 6 after as-of
        r#"{"event_id":"c7","action":"SHIP","seller_id":"S1","order_id":"O7","carrier":"UPS","tracking_id":"X1","confirmed_at":"2026-11-20T10:00:00Z"}"#, // 7 unknown action
        r#"{"event_id":"c8","seller_id":"S1","order_id":"O8","carrier":"UPS","tracking_id":"X1","confirmed_at":"2026-11-20T10:00:00"}"#, // 8 no offset
        "hello, world", // 9 not JSON
        r#"{"event_id":"c10","seller_id":"S2","order_id":"O10","carrier":"Fed Ex","tracking_id":"  ","confirmed_at":"2026-11-21T00:00:00Z"}"#, // 10 blank tracking
        r#"{"event_id":"c11","action":"CANCEL","seller_id":"S2","order_id":"O10","confirmed_at":"2026-11-22T00:00:00Z"}"#, // 11 cancels O10
        r#"{"event_id":"c12","seller_id":"S2","order_id":"O12","carrier":"USPS","tracking_id":"AB 12-3","confirmed_at":"2026-11-21T00:00:00Z","package_value_cents":null}"#, // 12 malformed tracking
        r#"{"event_id":"c13","seller_id":"S3","order_id":"O13","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-11-20T10:00:00Z","package_value_cents":"999"}"#, // 13 wrong type
        r#"{"event_id":null,"seller_id":"S3","order_id":"O14","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-11-20T10:00:00Z"}"#, // 14 null event_id
        r#"{"event_id":"c15","seller_id":"S3","order_id":"O15","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-11-20T11:00:00+01:00","promised_delivery_at":null,"gift_wrap":{"paper":"red"}}"#, // 15 ok, unknown field
        r#"{"event_id":"c16","seller_id":"S3","order_id":"O16","carrier":"UPS","confirmed_at":"2026-11-20T10:00:00Z"}"#, // 16 CONFIRM without tracking_id
        r#"{"event_id":"c17","action":"CANCEL","seller_id":"S3","order_id":"O99","confirmed_at":"2026-11-20T10:00:00Z"}"#, // 17 ok: CANCEL alone, no package
    ];
    let scan_lines = [
        r#"{"event_id":"s1","carrier":"ups","tracking_id":"1z999aa10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-20T18:00:00Z","location":"Memphis"}"#, // 1 ok
        r#"{"event_id":"s2","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"delivered","scanned_at":"2026-11-21T18:00:00Z"}"#, // 2 enum case
        r#"{"event_id":"s3","carrier":"UPS","tracking_id":"1Z-999","scan_type":"IN_TRANSIT","scanned_at":"2026-11-21T18:00:00Z"}"#, // 3 malformed ID
        r#"{"event_id":"s4","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"IN_TRANSIT","scanned_at":true}"#, // 4 wrong type
        r#"{"event_id":"s1","carrier":"ups","tracking_id":"1z999aa10123456784","scan_type":"ACCEPTED","scanned_at":"2026-11-20T18:00:00Z","location":"Memphis"}"#, // 5 duplicate
        r#"{"event_id":"s6","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"DELIVERED","scanned_at":1795996800000}"#, // 6 after as-of (2026-11-30)
        r#"{"event_id":"s7","carrier":"UPS","tracking_id":"1Z999AA10123456784","scan_type":"IN_TRANSIT","scanned_at":1795284000000}"#, // 7 ok, epoch millis
    ];
    std::fs::write(&conf, conf_lines.join("\n") + "\n").expect("write");
    std::fs::write(&scans, scan_lines.join("\n")).expect("write"); // no final newline
    let out = dir.path().join("out");
    let as_of = "2026-11-25T00:00:00Z";
    let stdout = replay(&conf, &scans, &out, Some(as_of));
    expect_files(&out);

    // Dead letters name the file, the line and the error.
    let dead = model::read_output(&out.join("dead_letters.ndjson"));
    let mut got: Vec<(String, u64, String)> = dead
        .iter()
        .map(|d| {
            let file = d["file"].as_str().expect("file is a string");
            let name = Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let line = d["line"].as_u64().expect("line is a number");
            let error = d["error"].as_str().expect("error is a string").to_string();
            (name, line, error)
        })
        .collect();
    got.sort();
    let want: Vec<(&str, u64, Option<&str>)> = vec![
        ("conf.ndjson", 2, None),
        ("conf.ndjson", 3, Some("seller_id")),
        ("conf.ndjson", 7, Some("action")),
        ("conf.ndjson", 8, Some("confirmed_at")),
        ("conf.ndjson", 9, None),
        ("conf.ndjson", 13, Some("package_value_cents")),
        ("conf.ndjson", 14, Some("event_id")),
        ("conf.ndjson", 16, Some("tracking_id")),
        ("scans.ndjson", 2, Some("scan_type")),
        ("scans.ndjson", 3, Some("tracking_id")),
        ("scans.ndjson", 4, Some("scanned_at")),
    ];
    assert_eq!(
        got.iter()
            .map(|(f, l, _)| (f.as_str(), *l))
            .collect::<Vec<_>>(),
        want.iter().map(|(f, l, _)| (*f, *l)).collect::<Vec<_>>(),
        "dead letters (file, line); got {got:#?}"
    );
    for ((_, line, error), (file, _, field)) in got.iter().zip(&want) {
        assert!(!error.trim().is_empty(), "{file}:{line}: empty error");
        if let Some(field) = field {
            assert!(
                error.contains(field),
                "{file}:{line}: the error {error:?} does not name the field {field}"
            );
        }
    }
    assert!(
        summary_says(&stdout, "bad input", want.len()),
        "the summary does not say {} bad input lines:\n{stdout}",
        want.len()
    );

    // The good lines were processed, the duplicate once, the future events not at all.
    let verdicts = model::index(
        "verdicts",
        model::read_output(&out.join("verdicts.ndjson")),
        &["seller_id", "order_id", "package_id"],
        &[],
    );
    let keys: Vec<&str> = verdicts.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["S1/O1/", "S2/O10/", "S2/O12/", "S3/O15/"],
        "packages"
    );
    let status = |k: &str| -> (String, Value) {
        let v: &Map<String, Value> = &verdicts[k];
        (
            v["status"].as_str().unwrap_or("?").to_string(),
            v["reasons"].clone(),
        )
    };
    assert_eq!(status("S1/O1/"), ("VALID".into(), Value::Array(vec![])));
    assert_eq!(
        status("S2/O10/"),
        ("EXCLUDED".into(), serde_json::json!(["CANCELLED"]))
    );
    assert_eq!(
        status("S2/O12/"),
        ("INVALID".into(), serde_json::json!(["INVALID_CHARACTERS"]))
    );
    assert_eq!(verdicts["S1/O1/"]["first_scan_at"], "2026-11-20T18:00:00Z");
    assert_eq!(verdicts["S1/O1/"]["carrier"], "UPS");
    assert_eq!(
        verdicts["S1/O1/"]["tracking_normalized"],
        "1Z999AA10123456784"
    );

    // And everything agrees with the reference model too.
    let input = model::read_input(&conf, &scans);
    let registry = CarrierRegistry::default_us();
    let as_of_ms = vtrack::timestamp::parse_rfc3339(as_of).expect("as-of");
    let expected = model::compute(&input, Some(as_of_ms), &registry);
    assert_eq!(
        expected.bad.len(),
        want.len(),
        "reference: {:?}",
        expected.bad
    );
    assert_eq!(expected.duplicates, 2);
    assert_eq!(expected.after_as_of, 2);
    let problems = check_run(
        "hand-written",
        &input,
        &expected,
        &out,
        &stdout,
        &mut Seen::default(),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A package key and its verdict as written down: status, reasons, final, warnings.
type WrittenDown = (
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
    &'static [&'static str],
);

/// A confirmation line: the required fields, plus `extra` ones.
fn confirm(id: &str, key: &str, carrier: &str, tracking: &str, at: &str, extra: Value) -> String {
    let mut parts = key.splitn(3, '/');
    let (seller, order, package) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut v = serde_json::json!({
        "event_id": id, "seller_id": seller, "order_id": order, "package_id": package,
        "carrier": carrier, "tracking_id": tracking, "confirmed_at": at,
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v.to_string()
}

/// A scan line.
fn scan(id: &str, carrier: &str, tracking: &str, scan_type: &str, at: Value) -> String {
    serde_json::json!({
        "event_id": id, "carrier": carrier, "tracking_id": tracking,
        "scan_type": scan_type, "scanned_at": at,
    })
    .to_string()
}

/// Hand-written packages on the edges of the rules (ties, hand-offs, window ends, late
/// confirmations, format evidence, exemptions, cancellations, warnings, seller windows),
/// each with its expected verdict written down from the contract, and the whole output
/// compared with the reference model.
#[test]
fn hand_written_rule_edges() {
    use serde_json::json;
    let none = json!({});
    let t0 = "2026-11-20T00:00:00Z";
    let as_of = "2026-12-05T00:00:00Z";
    let confs = [
        // Tie on confirmed_at: the greater event_id wins, whatever the file order.
        confirm("e-b", "E/TIE/", "FEDEX", "751233477249", t0, none.clone()),
        confirm("e-a", "E/TIE/", "UPS", "1Z999AA10123456784", t0, none.clone()),
        confirm("ho1", "E/HO1/", "SmartPost", "9205599034630291143241", t0, none.clone()),
        confirm("ho2", "E/HO2/", "USPS", "9300154528892425507292", t0, none.clone()),
        confirm("w1", "E/W1/", "UPS", "1Z0V46S20114344428", t0, none.clone()),
        confirm("w2", "E/W2/", "UPS", "1Z0V46S20160260057", t0, none.clone()),
        confirm("w3", "E/W3/", "UPS", "1Z0V46S20395627771", t0, none.clone()),
        confirm(
            "late",
            "E/LATE/",
            "ups",
            "1Z0V46S21316937566",
            "2026-11-23T00:00:00Z",
            json!({"promised_delivery_at": "2026-11-22T00:00:00Z"}),
        ),
        confirm(
            "late2",
            "E/LATE2/",
            "UPS",
            "1Z0V46S24269172854",
            "2026-11-22T19:00:00-05:00",
            json!({"promised_delivery_at": "2026-11-21T00:00:00Z"}),
        ),
        confirm("fmt", "E/FMT/", "FedEx", "1ZCK5S694257753542", "2026-11-30T00:00:00Z", none.clone()),
        confirm("p1", "E/P1/", "USPS", "9400154528837155632585", "2026-12-02T00:00:00Z", none.clone()),
        confirm("p2", "E/P2/", "USPS", "9436154528870011421232", "2026-12-04T00:00:01Z", none.clone()),
        confirm(
            "env1",
            "E/ENV1/",
            "U.S.P.S.",
            "9436157592968462024600",
            t0,
            json!({"ship_method": "LETTER", "package_value_cents": 999}),
        ),
        confirm("env2", "E/ENV2/", "USPS", "9461254528844809716124", t0, json!({"ship_method": "LETTER"})),
        confirm(
            "env3",
            "E/ENV3/",
            "SmartPost",
            "9200199034630260553528",
            t0,
            json!({"ship_method": "LETTER", "package_value_cents": 500}),
        ),
        confirm("fr", "E/FR/", "SAIA", "QS1552030948", t0, json!({"ship_method": "FREIGHT"})),
        confirm("fr2", "E/FR2/", "Old Dominion", "QS1671742652", t0, json!({"ship_method": "FREIGHT"})),
        confirm("uns", "E/UNS/", "Purolator", "ABC123", t0, none.clone()),
        r#"{"event_id":"cx1","action":"CANCEL","seller_id":"E","order_id":"C1","package_id":"9","confirmed_at":"2026-11-19T00:00:00Z"}"#.to_string(),
        confirm("c1a", "E/C1/1", "UPS", "1ZEGFU8H0160590528", t0, none.clone()),
        confirm("c1b", "E/C1/2", "UPS", "1ZEGFU8H0230244144", t0, none.clone()),
        r#"{"event_id":"cx2","action":"CANCEL","seller_id":"E","order_id":"C2","confirmed_at":"2026-11-19T00:00:00Z","carrier":null}"#.to_string(),
        confirm("pk0", "E/PK/", "UPS", "1ZEGFU8H0231037456", t0, none.clone()),
        confirm("pk1", "E/PK/1", "UPS", "1ZEGFU8H0231037456", t0, none.clone()),
        confirm("unk", "E/UNK/", "UPS", "1ZEGFU8H1242753768", t0, none.clone()),
        confirm("r1", "E/RE/", "UPS", "", t0, none.clone()),
        confirm("r2", "E/RE/", "UPS", "1ZEGFU8H4207715845", "2026-12-01T00:00:00Z", none.clone()),
        confirm("dig", "E/DIG/", "", "", t0, json!({"ship_method": "DIGITAL"})),
        // Boundaries at as-of: the window closes exactly at t + 14d; 48 hours exactly.
        confirm("edge14", "E/EDGE14/", "UPS", "1ZEGFU8H4207715845X", "2026-11-21T00:00:00Z", none.clone()),
        confirm("h48", "E/H48/", "USPS", "9474855974615377335516", "2026-12-03T00:00:00Z", none.clone()),
        confirm("asof", "E/ASOF/", "UPS", "1ZEGFU8H0230244144Y", "2026-12-01T00:00:00Z", none.clone()),
        // The current confirmation decides marketplace and category too.
        confirm("mk1", "E/MK/", "UPS", "1Z0V46S24279398557", t0, json!({"marketplace": "CA", "category": "BOOKS"})),
        confirm("mk2", "E/MK/", "UPS", "1Z0V46S24279398557", "2026-11-20T00:00:01Z", json!({"category": "TOYS"})),
        // Delivered exactly at t and promised exactly at t: neither is "after".
        confirm("dt", "E/DT/", "UPS", "1ZEGFU8H0114344428", t0, json!({"promised_delivery_at": t0})),
        // Evidence of another carrier must be a physical scan inside the window, and only
        // matters when no scan counts.
        confirm("ow", "E/OW/", "UPS", "1Z0V46S20114344428Q", t0, none.clone()),
        confirm("ir", "E/IR/", "UPS", "1Z0V46S20114344428R", t0, none.clone()),
        confirm("both", "E/BOTH/", "UPS", "1Z0V46S20114344428S", t0, none.clone()),
        // Exemption edges: $10.00 is not under $10; integrated freight is judged; rule 1 first.
        confirm("env4", "E/ENV4/", "USPS", "9436154528870011421232Z", t0, json!({"ship_method": "LETTER", "package_value_cents": 1000})),
        confirm("fr3", "E/FR3/", "UPS", "1Z0V46S20114344428T", t0, json!({"ship_method": "FREIGHT"})),
        confirm("dc", "E/DC/", "", "", t0, json!({"ship_method": "DIGITAL"})),
        r#"{"event_id":"cx4","action":"CANCEL","seller_id":"E","order_id":"DC","confirmed_at":"2026-11-21T00:00:00Z"}"#.to_string(),
        // After as-of: not yet happened, so ignored.
        confirm("r3", "E/RE/", "USPS", "9200197324528898671348", "2026-12-05T00:00:01Z", none.clone()),
        r#"{"event_id":"cx3","action":"CANCEL","seller_id":"E","order_id":"W1","confirmed_at":"2026-12-06T00:00:00Z"}"#.to_string(),
        confirm("bl", "E/BL/", "UPS", "   ", t0, none.clone()),
        confirm("bad", "E/BAD/", "UPS", "1Z-EGF", t0, none.clone()),
        // Seller F: seller windows and marketplaces.
        confirm(
            "fv",
            "F/V/",
            "UPS",
            "1ZI8UB2X0216649693",
            "2026-11-27T00:00:00Z",
            json!({"category": "TOYS", "promised_delivery_at": "2026-11-29T12:00:00Z"}),
        ),
        confirm(
            "fi",
            "F/I/",
            "USPS",
            "9461254528876323382219",
            "2026-11-01T00:00:00Z",
            json!({"category": "TOYS", "promised_delivery_at": "2026-11-28T00:00:00Z"}),
        ),
        confirm(
            "ffut",
            "F/FUT/",
            "USPS",
            "9474854528840357114548",
            "2026-12-04T00:00:00Z",
            json!({"category": "TOYS", "promised_delivery_at": "2026-12-08T00:00:00Z"}),
        ),
        confirm(
            "fca",
            "F/CA/",
            "Canada Post",
            "1163225140877038",
            "2026-12-04T12:00:00Z",
            json!({"marketplace": "CA"}),
        ),
    ];
    let ts = |s: &str| json!(s);
    let scans = [
        scan(
            "s-tie",
            "FEDEX",
            "751233477249",
            "IN_TRANSIT",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-ho1",
            "USPS",
            "9205599034630291143241",
            "ACCEPTED",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-ho2",
            "FEDEX_SMARTPOST",
            "9300154528892425507292",
            "IN_TRANSIT",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-w1",
            "UPS",
            "1Z0V46S20114344428",
            "ACCEPTED",
            ts("2026-11-13T00:00:00Z"),
        ),
        scan(
            "s-w2",
            "UPS",
            "1Z0V46S20160260057",
            "ACCEPTED",
            ts("2026-11-12T23:59:59Z"),
        ),
        scan(
            "s-w3",
            "UPS",
            "1Z0V46S20395627771",
            "DELIVERED",
            ts("2026-12-04T00:00:00Z"),
        ),
        scan(
            "s-late-a",
            "UPS",
            "1Z0V46S21316937566",
            "DELIVERED",
            ts("2026-11-22T00:00:00Z"),
        ),
        scan(
            "s-late-b",
            "United Parcel Service",
            "1z0v46s21316937566",
            "DELIVERED",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-late2",
            "UPS",
            "1Z0V46S24269172854",
            "IN_TRANSIT",
            json!(1_795_478_400_000_i64),
        ),
        scan(
            "s-p1",
            "USPS",
            "9400154528837155632585",
            "INFO_RECEIVED",
            ts("2026-12-02T01:00:00Z"),
        ),
        scan(
            "s-env2",
            "USPS",
            "9461254528844809716124",
            "DELIVERED",
            ts("2026-11-22T00:00:00Z"),
        ),
        scan(
            "s-env3",
            "USPS",
            "9200199034630260553528",
            "ACCEPTED",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-pk",
            "UPS",
            "1ZEGFU8H0231037456",
            "ACCEPTED",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-c1",
            "UPS",
            "1ZEGFU8H0160590528",
            "ACCEPTED",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-unk",
            "Some Local Courier",
            "1ZEGFU8H1242753768",
            "IN_TRANSIT",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-ow",
            "FEDEX",
            "1Z0V46S20114344428Q",
            "IN_TRANSIT",
            ts("2026-11-12T00:00:00Z"),
        ),
        scan(
            "s-ir",
            "FEDEX",
            "1Z0V46S20114344428R",
            "INFO_RECEIVED",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-both-1",
            "FEDEX",
            "1Z0V46S20114344428S",
            "IN_TRANSIT",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-both-2",
            "UPS",
            "1Z0V46S20114344428S",
            "IN_TRANSIT",
            ts("2026-11-22T00:00:00Z"),
        ),
        scan(
            "s-env4",
            "USPS",
            "9436154528870011421232Z",
            "IN_TRANSIT",
            ts("2026-11-22T00:00:00Z"),
        ),
        scan(
            "s-fr3",
            "UPS",
            "1Z0V46S20114344428T",
            "IN_TRANSIT",
            ts("2026-11-22T00:00:00Z"),
        ),
        scan("s-dt", "UPS", "1ZEGFU8H0114344428", "DELIVERED", ts(t0)),
        scan(
            "s-mk",
            "UPS",
            "1Z0V46S24279398557",
            "IN_TRANSIT",
            ts("2026-11-21T00:00:00Z"),
        ),
        scan(
            "s-asof",
            "UPS",
            "1ZEGFU8H0230244144Y",
            "ACCEPTED",
            ts("2026-12-05T00:00:00Z"),
        ),
        scan(
            "s-p2-future",
            "USPS",
            "9436154528870011421232",
            "ACCEPTED",
            ts("2026-12-05T00:00:01Z"),
        ),
        scan(
            "s-fv",
            "UPS",
            "1ZI8UB2X0216649693",
            "ACCEPTED",
            ts("2026-11-28T00:00:00Z"),
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let conf_path = dir.path().join("conf.ndjson");
    let scan_path = dir.path().join("scans.ndjson");
    std::fs::write(&conf_path, confs.join("\n") + "\n").expect("write");
    std::fs::write(&scan_path, scans.join("\n") + "\n").expect("write");
    let out = dir.path().join("out");
    let stdout = replay(&conf_path, &scan_path, &out, Some(as_of));
    expect_files(&out);

    // The verdicts written down from the contract: status, reasons, final, warnings.
    let want: &[WrittenDown] = &[
        ("E/TIE/", "VALID", &[], true, &[]),
        ("E/HO1/", "VALID", &[], true, &[]),
        ("E/HO2/", "INVALID", &["CARRIER_MISMATCH"], true, &[]),
        ("E/W1/", "VALID", &[], true, &[]),
        ("E/W2/", "INVALID", &["NO_CARRIER_SCAN"], true, &[]),
        ("E/W3/", "VALID", &[], true, &[]),
        (
            "E/LATE/",
            "INVALID",
            &["CONFIRMED_AFTER_DELIVERY", "CONFIRMED_AFTER_DELIVERY_DATE"],
            false,
            &[],
        ),
        (
            "E/LATE2/",
            "INVALID",
            &["CONFIRMED_AFTER_DELIVERY_DATE"],
            false,
            &[],
        ),
        ("E/FMT/", "INVALID", &["CARRIER_MISMATCH"], false, &[]),
        ("E/P1/", "PENDING", &[], false, &["NO_SCAN_YET"]),
        ("E/P2/", "PENDING", &[], false, &[]),
        ("E/ENV1/", "EXCLUDED", &["SMALL_ENVELOPE"], true, &[]),
        ("E/ENV2/", "VALID", &[], true, &[]),
        ("E/ENV3/", "VALID", &[], true, &[]),
        ("E/FR/", "EXCLUDED", &["FREIGHT_NON_INTEGRATED"], true, &[]),
        ("E/FR2/", "EXCLUDED", &["FREIGHT_NON_INTEGRATED"], true, &[]),
        ("E/UNS/", "INVALID", &["UNSUPPORTED_CARRIER"], true, &[]),
        ("E/C1/1", "EXCLUDED", &["CANCELLED"], true, &[]),
        ("E/C1/2", "EXCLUDED", &["CANCELLED"], true, &[]),
        ("E/PK/", "VALID", &[], true, &[]),
        ("E/PK/1", "VALID", &[], true, &[]),
        ("E/UNK/", "INVALID", &["CARRIER_MISMATCH"], true, &[]),
        ("E/RE/", "PENDING", &[], false, &["NO_SCAN_YET"]),
        ("E/DIG/", "EXCLUDED", &["DIGITAL"], true, &[]),
        ("E/MK/", "VALID", &[], true, &[]),
        ("E/OW/", "INVALID", &["NO_CARRIER_SCAN"], true, &[]),
        ("E/IR/", "INVALID", &["NO_CARRIER_SCAN"], true, &[]),
        ("E/BOTH/", "VALID", &[], true, &[]),
        ("E/ENV4/", "VALID", &[], true, &[]),
        ("E/FR3/", "VALID", &[], true, &[]),
        ("E/DC/", "EXCLUDED", &["CANCELLED"], true, &[]),
        ("E/DT/", "VALID", &[], true, &[]),
        ("E/EDGE14/", "INVALID", &["NO_CARRIER_SCAN"], true, &[]),
        ("E/H48/", "PENDING", &[], false, &["NO_SCAN_YET"]),
        ("E/ASOF/", "VALID", &[], false, &[]),
        ("E/BL/", "INVALID", &["MISSING_TRACKING"], true, &[]),
        ("E/BAD/", "INVALID", &["INVALID_CHARACTERS"], true, &[]),
        ("F/V/", "VALID", &[], false, &[]),
        ("F/I/", "INVALID", &["NO_CARRIER_SCAN"], true, &[]),
        ("F/FUT/", "PENDING", &[], false, &[]),
        ("F/CA/", "PENDING", &[], false, &[]),
    ];
    let input = model::read_input(&conf_path, &scan_path);
    let registry = CarrierRegistry::default_us();
    let as_of_ms = vtrack::timestamp::parse_rfc3339(as_of).expect("as-of");
    let expected = model::compute(&input, Some(as_of_ms), &registry);
    let actual = model::index(
        "verdicts",
        model::read_output(&out.join("verdicts.ndjson")),
        &["seller_id", "order_id", "package_id"],
        model::VERDICT_TS,
    );
    let mut problems = Vec::new();
    let summary =
        |v: &Map<String, Value>| json!([v["status"], v["reasons"], v["final"], v["warnings"]]);
    for (key, status, reasons, is_final, warnings) in want {
        let w = json!([status, reasons, is_final, warnings]);
        let model_says = expected
            .verdicts
            .get(*key)
            .map(|v| json!([v["status"], v["reasons"], v["final"], v["warnings"]]));
        if model_says.as_ref() != Some(&w) {
            problems.push(format!(
                "reference model: {key}: written down {w}, model {model_says:?}"
            ));
        }
        let vtrack_says = actual.get(*key).map(summary);
        if vtrack_says.as_ref() != Some(&w) {
            problems.push(format!(
                "vtrack: {key}: written down {w}, vtrack {vtrack_says:?}"
            ));
        }
    }
    let listed: BTreeSet<&str> = want.iter().map(|w| w.0).collect();
    let extra: Vec<&String> = actual
        .keys()
        .filter(|k| !listed.contains(k.as_str()))
        .collect();
    if !extra.is_empty() {
        problems.push(format!("vtrack: unexpected packages {extra:?}"));
    }
    // A few fields written down too.
    let field = |key: &str, f: &str| actual.get(key).and_then(|v| v.get(f)).cloned();
    let ms = |s: &str| json!(vtrack::timestamp::parse_rfc3339(s).expect("time"));
    for (key, f, value) in [
        ("E/TIE/", "carrier", json!("FEDEX")),
        ("E/TIE/", "tracking_id", json!("751233477249")),
        ("E/HO1/", "carrier", json!("FEDEX_SMARTPOST")),
        ("E/W1/", "first_scan_at", ms("2026-11-13T00:00:00Z")),
        ("E/W3/", "delivered_at", ms("2026-12-04T00:00:00Z")),
        ("E/LATE/", "delivered_at", ms("2026-11-21T00:00:00Z")),
        ("E/LATE2/", "confirmed_at", ms("2026-11-23T00:00:00Z")),
        (
            "E/FMT/",
            "detected_carriers",
            json!(["UPS", "UPS_MAIL_INNOVATIONS"]),
        ),
        ("E/FR/", "carrier", Value::Null),
        ("E/FR2/", "carrier", json!("OLD_DOMINION")),
        ("E/UNS/", "carrier", json!("PUROLATOR")),
        ("E/BAD/", "tracking_normalized", Value::Null),
        ("E/RE/", "confirmed_at", ms("2026-12-01T00:00:00Z")),
        ("E/MK/", "marketplace", json!("US")),
        ("E/MK/", "category", json!("TOYS")),
        ("E/DT/", "delivered_at", ms(t0)),
    ] {
        if field(key, f).as_ref() != Some(&value) {
            problems.push(format!(
                "vtrack: {key}: {f}: written down {value}, vtrack {:?}",
                field(key, f)
            ));
        }
    }
    // Late confirmations: E/LATE/ from the delivery, E/LATE2/ from the promised date.
    let late = model::index(
        "late",
        model::read_output(&out.join("late_confirmations.ndjson")),
        &["seller_id", "order_id", "package_id"],
        model::LATE_TS,
    );
    let late_summary: BTreeMap<&str, Value> = late
        .iter()
        .map(|(k, v)| (k.as_str(), json!([v["reason"], v["late_by"]])))
        .collect();
    let late_want: BTreeMap<&str, Value> = [
        ("E/LATE/", json!(["CONFIRMED_AFTER_DELIVERY", 172_800])),
        (
            "E/LATE2/",
            json!(["CONFIRMED_AFTER_DELIVERY_DATE", 172_800]),
        ),
    ]
    .into_iter()
    .collect();
    if late_summary != late_want {
        problems.push(format!(
            "vtrack: late confirmations: written down {late_want:?}, vtrack {late_summary:?}"
        ));
    }
    // Seller F: the 7-day window starts 2026-11-29, so F/I/ (metric day 2026-11-28) is only in
    // the 30-day one; F/FUT/ (promised 2026-12-08) is in neither; CA is a set of its own.
    let sellers = model::index(
        "seller_vtr",
        model::read_output(&out.join("seller_vtr.ndjson")),
        &["marketplace", "seller_id", "category", "window_days"],
        model::SELLER_TS,
    );
    for (key, start, counts, vtr, at_risk) in [
        ("US/F/TOYS/7", "2026-11-29", [1, 0, 0, 0], json!(1.0), false),
        ("US/F/*/7", "2026-11-29", [1, 0, 0, 0], json!(1.0), false),
        ("US/F/TOYS/30", "2026-11-06", [1, 1, 0, 0], json!(0.5), true),
        ("US/F/*/30", "2026-11-06", [1, 1, 0, 0], json!(0.5), true),
        (
            "CA/F/UNCATEGORIZED/7",
            "2026-11-29",
            [0, 0, 0, 1],
            Value::Null,
            false,
        ),
        ("CA/F/*/30", "2026-11-06", [0, 0, 0, 1], Value::Null, false),
    ] {
        let w = json!([start, "2026-12-05", counts, vtr, at_risk]);
        let got = sellers.get(key).map(|r| {
            json!([
                r["window_start"],
                r["window_end"],
                [r["valid"], r["invalid"], r["excluded"], r["pending"]],
                r["vtr"],
                r["at_risk"]
            ])
        });
        if got.as_ref() != Some(&w) {
            problems.push(format!(
                "vtrack: seller row {key}: written down {w}, vtrack {got:?}"
            ));
        }
    }
    let f_rows = sellers.keys().filter(|k| k.contains("/F/")).count();
    if f_rows != 8 {
        problems.push(format!(
            "vtrack: seller F has {f_rows} rows, written down 8"
        ));
    }
    // And the whole output against the reference model.
    problems.extend(check_run(
        "rule edges",
        &input,
        &expected,
        &out,
        &stdout,
        &mut Seen::default(),
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
