//! Edges of input decoding and of the command line, run through the binary: extreme times,
//! offsets, amounts, byte-order marks and configuration (contract sections 2, 7 and 8
//! "Parsing"; where the contract is silent, the README's "Semantics").

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn vtrack() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vtrack"));
    // Keep panic messages short and stable whatever the caller's environment says.
    cmd.env("RUST_BACKTRACE", "0");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// "A service never panics on data": exit code 101 or a panic message is a failure.
fn assert_no_panic(out: &Output, what: &str) {
    let err = stderr(out);
    assert!(
        out.status.code() != Some(101) && !err.contains("panicked at"),
        "{what} panicked: {:?}\n{err}",
        out.status
    );
}

/// `vtrack replay` of the given lines; returns the output and the dead letters.
fn replay(dir: &Path, confirmations: &str, scans: &str, args: &[&str]) -> (Output, Vec<String>) {
    let r = common::run_replay(dir, confirmations.as_bytes(), scans.as_bytes(), args, &[]);
    let dead = r.dead_letters.iter().map(|d| d.to_string()).collect();
    (r.output, dead)
}

fn generate(dir: &Path, args: &[&str]) -> Output {
    run(vtrack()
        .args(["generate", "--packages", "50", "--confirmations"])
        .arg(dir.join("c.ndjson"))
        .arg("--scans")
        .arg(dir.join("s.ndjson"))
        .args(args))
}

// ---------------------------------------------------------------------------------------------
// Never a panic, never a time that is not RFC 3339
// ---------------------------------------------------------------------------------------------

#[test]
fn generate_never_panics_on_a_start_near_the_end_of_time() {
    // `--start` takes epoch milliseconds; start + days overflows and a clamp panics
    // (src/generate/stream.rs: "min > max"). Expected: a clear error, not exit 101.
    let dir = tempfile::tempdir().unwrap();
    for start in ["9223372036854775807", "9223372036000000000"] {
        let out = generate(dir.path(), &["--start", start]);
        assert_no_panic(&out, &format!("generate --start {start}"));
    }
}

#[test]
fn demo_never_panics_on_an_extreme_start() {
    // Positive end: the generator's clamp panics; negative end: the engine's BTreeMap range
    // panics ("range start is greater than range end").
    for start in [
        "--start=9223372036854775807",
        "--start=-1000000000000000000",
    ] {
        let out = run(vtrack().args(["demo", "--packages", "50", start]));
        assert_no_panic(&out, &format!("demo {start}"));
    }
}

#[test]
fn generated_files_replay_without_bad_lines_or_generate_refuses_the_start() {
    // Contract section 2: timestamps are RFC 3339 strings; section 7: `generate` writes events
    // for replay. A start in year 9999 (or `--days` large enough) makes generate write
    // `"+10000-01-01T…"`, which replay (rightly) rejects as not RFC 3339.
    for args in [
        &["--start", "9999-12-31T00:00:00Z"][..],
        &["--days", "100000000"][..],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = generate(dir.path(), args);
        assert_no_panic(&out, "generate");
        if !out.status.success() {
            continue; // refusing the value with an error is fine
        }
        let result = run(vtrack()
            .args(["replay", "--confirmations"])
            .arg(dir.path().join("c.ndjson"))
            .arg("--scans")
            .arg(dir.path().join("s.ndjson"))
            .arg("--out")
            .arg(dir.path().join("out")));
        assert!(result.status.success(), "{}", stderr(&result));
        let dead = std::fs::read_to_string(dir.path().join("out/dead_letters.ndjson")).unwrap();
        assert!(
            dead.is_empty(),
            "generate {args:?} wrote lines replay rejects: {}",
            dead.lines().next().unwrap_or("")
        );
    }
}

#[test]
fn generate_refuses_a_configuration_it_cannot_read() {
    // Section 7: configuration is one TOML file overridable by VTRACK_… and flags; `generate`
    // offers --config and --set, but to files it ignores them silently, even a missing file.
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--config", "/nonexistent/vtrack.toml"][..],
        &["--set", "engine.horizon=not-a-duration"][..],
        &["--set", "nosection.key=1"][..],
    ] {
        let out = generate(dir.path(), args);
        assert!(!out.status.success(), "generate {args:?} was accepted");
    }
}

#[test]
fn a_timestamp_with_a_unicode_minus_offset_is_bad_input() {
    // Section 2 and 8: timestamps are RFC 3339, whose offsets are `+hh:mm` / `-hh:mm` (ASCII).
    // U+2212 MINUS SIGN is accepted today (chrono's lenient parser) and read as -05:00.
    let dir = tempfile::tempdir().unwrap();
    let line = "{\"event_id\":\"c1\",\"seller_id\":\"S1\",\"order_id\":\"O1\",\"carrier\":\"UPS\",\
                \"tracking_id\":\"1Z999AA10123456784\",\"confirmed_at\":\"2026-11-01T10:00:00\u{2212}05:00\"}\n";
    let (out, dead) = replay(dir.path(), line, "", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dead.len(), 1, "not RFC 3339, yet accepted");
    assert!(dead[0].contains("confirmed_at"), "{}", dead[0]);
}

// ---------------------------------------------------------------------------------------------
// Where the contract is silent (README "Semantics")
// ---------------------------------------------------------------------------------------------

#[test]
fn an_as_of_outside_the_years_of_input_timestamps_is_refused() {
    // Input timestamps are limited to years 0001-9999; --as-of is not, and seller_vtr.ndjson
    // then holds `"as_of":"+10000-01-01T00:00:00Z"` (section 6: timestamps RFC 3339 UTC).
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"event_id":"c1","seller_id":"S1","order_id":"O1","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"9999-12-31T10:00:00Z"}"#;
    let (out, _) = replay(dir.path(), line, "", &["--as-of", "253402300800000"]);
    if out.status.success() {
        let rows = std::fs::read_to_string(dir.path().join("out/seller_vtr.ndjson")).unwrap();
        assert!(!rows.contains("\"+10000"), "{rows}");
    }
}

#[test]
fn a_negative_package_value_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"event_id":"c1","seller_id":"S1","order_id":"O1","carrier":"USPS","tracking_id":"9400111899223851245125","ship_method":"LETTER","package_value_cents":-5,"confirmed_at":"2026-11-01T10:00:00Z"}"#;
    let (out, dead) = replay(dir.path(), line, "", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dead.len(), 1, "a negative order value was accepted");
}

#[test]
fn a_byte_order_mark_before_an_empty_first_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"event_id":"c1","seller_id":"S1","order_id":"O1","carrier":"UPS","tracking_id":"1Z999AA10123456784","confirmed_at":"2026-11-01T10:00:00Z"}"#;
    let (out, dead) = replay(dir.path(), &format!("\u{feff}\n{line}\n"), "", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dead.is_empty(), "{dead:?}");
}

#[test]
fn minus_zero_is_an_integer() {
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"event_id":"c1","seller_id":"S1","order_id":"O1","carrier":"UPS","tracking_id":"1Z999AA10123456784","package_value_cents":-0,"confirmed_at":"2026-11-01T10:00:00Z"}"#;
    let (out, dead) = replay(dir.path(), line, "", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dead.is_empty(), "{dead:?}");
}
