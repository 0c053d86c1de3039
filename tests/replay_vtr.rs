//! Seller VTR (contract section 5), the seller-vtr and late-confirmations
//! records (section 6) and replay's outputs (sections 7 and 8), through `vtrack replay`.
//! Each test pins one sentence of the contract with a hand-made input.

mod common;

use serde_json::Value;
use std::path::Path;

const UPS_ID: &str = "1Z999AA10123456784";
const UPS_ID_2: &str = "1Z12345E0205271686";
const USPS_ID: &str = "9400111899223851245125";
const USPS_ID_2: &str = "9400100000000000000006";

/// A CONFIRM line; `extra` is appended inside the object (`,"k":"v"...`).
fn confirm(
    id: &str,
    seller: &str,
    order: &str,
    carrier: &str,
    tracking: &str,
    t: &str,
    extra: &str,
) -> String {
    format!(
        r#"{{"event_id":"{id}","seller_id":"{seller}","order_id":"{order}","carrier":"{carrier}","tracking_id":"{tracking}","confirmed_at":"{t}"{extra}}}"#
    )
}

fn scan(id: &str, carrier: &str, tracking: &str, scan_type: &str, at: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","carrier":"{carrier}","tracking_id":"{tracking}","scan_type":"{scan_type}","scanned_at":"{at}"}}"#
    )
}

struct Out {
    verdicts: Vec<Value>,
    seller: Vec<Value>,
    late: Vec<Value>,
    dead: Vec<Value>,
    summary: String,
}

impl Out {
    /// The seller-vtr row of a key, if any.
    fn row(&self, market: &str, seller: &str, category: &str, days: u64) -> Option<&Value> {
        self.seller.iter().find(|r| {
            r["marketplace"] == market
                && r["seller_id"] == seller
                && r["category"] == category
                && r["window_days"] == days
        })
    }
}

fn replay(
    dir: &Path,
    confirmations: &[String],
    scans: &[String],
    args: &[&str],
    env: &[(&str, &str)],
) -> Out {
    let (c, s) = (confirmations.join("\n"), scans.join("\n"));
    let r = common::run_replay(dir, c.as_bytes(), s.as_bytes(), args, env).succeeded();
    Out {
        summary: r.stdout(),
        verdicts: r.verdicts,
        seller: r.seller_vtr,
        late: r.late_confirmations,
        dead: r.dead_letters,
    }
}

fn blank(id: &str, seller: &str, t: &str, extra: &str) -> String {
    confirm(id, seller, id, "UPS", "", t, extra)
}

#[test]
fn window_holds_the_n_utc_days_ending_with_the_as_of_day_by_metric_date() {
    let dir = tempfile::tempdir().unwrap();
    let c = vec![
        blank("a", "S", "2026-11-13T23:59:59Z", ""), // day before the 7-day window
        blank("b", "S", "2026-11-14T00:00:00Z", ""), // first day
        blank(
            "d",
            "S",
            "2026-11-10T10:00:00Z",
            r#","promised_delivery_at":"2026-11-14T00:00:00Z""#,
        ),
        blank(
            "e",
            "S",
            "2026-11-10T10:00:00Z",
            r#","promised_delivery_at":"2026-11-13T23:59:59.999Z""#,
        ),
        blank(
            "f",
            "S",
            "2026-11-19T10:00:00Z",
            r#","promised_delivery_at":"2026-11-21T00:00:00Z""#,
        ), // after the as-of day
        blank(
            "g",
            "S",
            "2026-11-19T10:00:00Z",
            r#","promised_delivery_at":"2026-11-20T23:59:59Z""#,
        ), // last day
        blank(
            "h",
            "S",
            "2026-11-14T01:00:00Z",
            r#","promised_delivery_at":"2026-11-13T22:00:00-05:00""#,
        ), // UTC day 11-14
        blank("x", "S", "2026-10-21T12:00:00Z", ""), // before the 30-day window
    ];
    let out = replay(
        dir.path(),
        &c,
        &[],
        &["--as-of", "2026-11-20T12:00:00Z"],
        &[],
    );
    let w7 = out.row("US", "S", "*", 7).unwrap();
    assert_eq!(w7["window_start"], "2026-11-14");
    assert_eq!(w7["window_end"], "2026-11-20");
    assert_eq!(w7["as_of"], "2026-11-20T12:00:00Z");
    assert_eq!(w7["invalid"], 4, "b, d, g, h: {w7}");
    let w30 = out.row("US", "S", "UNCATEGORIZED", 30).unwrap();
    assert_eq!(w30["window_start"], "2026-10-22");
    assert_eq!(w30["invalid"], 6, "all but f and x: {w30}");
}

#[test]
fn rows_exist_only_for_windows_holding_a_package() {
    let dir = tempfile::tempdir().unwrap();
    let c = vec![
        blank("f", "FUTURE", "2026-11-19T10:00:00Z", r#","promised_delivery_at":"2026-11-25T00:00:00Z""#),
        blank("o", "OLD", "2026-10-20T10:00:00Z", ""),
        blank("m", "MONTH", "2026-10-22T00:00:00Z", ""),
        r#"{"event_id":"x","action":"CANCEL","seller_id":"CANCELONLY","order_id":"o","confirmed_at":"2026-11-19T00:00:00Z"}"#.to_string(),
    ];
    let out = replay(
        dir.path(),
        &c,
        &[],
        &["--as-of", "2026-11-20T12:00:00Z"],
        &[],
    );
    let keys: Vec<String> = out
        .seller
        .iter()
        .map(|r| {
            format!(
                "{}/{}/{}",
                r["seller_id"].as_str().unwrap(),
                r["category"].as_str().unwrap(),
                r["window_days"]
            )
        })
        .collect();
    assert_eq!(keys, ["MONTH/*/30", "MONTH/UNCATEGORIZED/30"], "{keys:?}");
}

#[test]
fn counts_vtr_threshold_and_at_risk() {
    let dir = tempfile::tempdir().unwrap();
    let t = "2026-11-19T10:00:00Z";
    let c = vec![
        confirm("t1", "T", "o1", "UPS", UPS_ID_2, t, ""),
        confirm("t2", "T", "o2", "UPS", UPS_ID_2, t, ""),
        confirm("t3", "T", "o3", "UPS", "", t, ""),
        confirm("t4", "T", "o4", "UPS", "", t, r#","marketplace":"CA""#),
        confirm("x1", "X", "o1", "UPS", UPS_ID, t, r#","category":"A""#),
        confirm(
            "x2",
            "X",
            "o2",
            "UPS",
            UPS_ID,
            t,
            r#","category":"B","ship_method":"DIGITAL""#,
        ),
    ];
    let s = vec![scan(
        "s1",
        "UPS",
        UPS_ID_2,
        "ACCEPTED",
        "2026-11-19T12:00:00Z",
    )];
    let out = replay(
        dir.path(),
        &c,
        &s,
        &["--as-of", "2026-11-20T12:00:00Z"],
        &[],
    );
    let us = out.row("US", "T", "*", 7).unwrap();
    assert_eq!(
        (us["valid"].clone(), us["invalid"].clone()),
        (2.into(), 1.into())
    );
    assert_eq!(us["vtr"].as_f64().unwrap(), 2.0 / 3.0);
    assert_eq!(us["threshold"], 0.95);
    assert_eq!(us["at_risk"], true);
    let ca = out.row("CA", "T", "*", 7).unwrap();
    assert_eq!(
        ca["invalid"], 1,
        "a seller in two marketplaces has two sets: {ca}"
    );
    let x = out.row("US", "X", "*", 30).unwrap();
    assert_eq!(
        (x["excluded"].clone(), x["pending"].clone()),
        (1.into(), 1.into())
    );
    assert!(x["vtr"].is_null());
    assert_eq!(x["at_risk"], false);
    assert!(out.row("US", "X", "A", 7).unwrap()["vtr"].is_null());
}

#[test]
fn a_vtr_equal_to_the_threshold_is_not_at_risk() {
    let dir = tempfile::tempdir().unwrap();
    let t = "2026-11-18T10:00:00Z";
    let mut c: Vec<String> = (0..19)
        .map(|i| {
            confirm(
                &format!("v{i}"),
                "S",
                &format!("o{i}"),
                "UPS",
                UPS_ID,
                t,
                "",
            )
        })
        .collect();
    c.push(confirm("x", "S", "x", "UPS", "", t, ""));
    let s = vec![scan(
        "s1",
        "UPS",
        UPS_ID,
        "ACCEPTED",
        "2026-11-18T12:00:00Z",
    )];
    let out = replay(dir.path(), &c, &s, &[], &[]);
    let r = out.row("US", "S", "*", 7).unwrap();
    assert_eq!(r["vtr"], 0.95);
    assert_eq!(r["at_risk"], false);
}

#[test]
fn a_package_counts_once_in_its_latest_category_marketplace_and_metric_day() {
    let dir = tempfile::tempdir().unwrap();
    let c = vec![
        confirm(
            "u1",
            "U",
            "o1",
            "UPS",
            "",
            "2026-11-18T10:00:00Z",
            r#","category":"A""#,
        ),
        confirm(
            "u2",
            "U",
            "o1",
            "UPS",
            UPS_ID_2,
            "2026-11-18T11:00:00Z",
            r#","category":"B","marketplace":"DE""#,
        ),
        confirm(
            "p1",
            "P",
            "o1",
            "UPS",
            "",
            "2026-11-18T10:00:00Z",
            r#","promised_delivery_at":"2026-11-19T00:00:00Z""#,
        ),
        confirm(
            "p2",
            "P",
            "o1",
            "UPS",
            "",
            "2026-11-18T11:00:00Z",
            r#","promised_delivery_at":"2026-11-30T00:00:00Z""#,
        ),
        confirm("p3", "P", "o2", "UPS", "", "2026-11-18T11:00:00Z", ""),
        // an update after --as-of has not happened yet
        confirm(
            "p4",
            "P",
            "o2",
            "UPS",
            "",
            "2026-11-21T11:00:00Z",
            r#","category":"LATER""#,
        ),
    ];
    let s = vec![scan(
        "s1",
        "UPS",
        UPS_ID_2,
        "ACCEPTED",
        "2026-11-18T12:00:00Z",
    )];
    let out = replay(
        dir.path(),
        &c,
        &s,
        &["--as-of", "2026-11-20T12:00:00Z"],
        &[],
    );
    assert!(out.row("US", "U", "A", 7).is_none());
    assert!(out.row("US", "U", "*", 7).is_none());
    assert_eq!(out.row("DE", "U", "B", 7).unwrap()["valid"], 1);
    assert_eq!(
        out.row("US", "P", "*", 30).unwrap()["invalid"],
        1,
        "o1 moved to 11-30"
    );
    assert!(out.row("US", "P", "LATER", 30).is_none());
}

#[test]
fn late_confirmations_name_the_first_late_reason_and_late_by() {
    let dir = tempfile::tempdir().unwrap();
    let t = "2026-11-18T10:00:00Z";
    let c = vec![
        confirm("l1", "L", "o1", "UPS", UPS_ID, t, r#","promised_delivery_at":"2026-11-17T20:00:00Z""#),
        confirm("l2", "L", "o2", "UPS", UPS_ID_2, t, r#","promised_delivery_at":"2026-11-17T00:00:00Z""#),
        confirm("l3", "L", "o3", "FEDEX_SMARTPOST", USPS_ID, t, ""),
        // late, then corrected to another ID: the latest verdict has no late reason
        confirm("l4a", "L", "o4", "UPS", UPS_ID, "2026-11-18T09:00:00Z", ""),
        confirm("l4b", "L", "o4", "UPS", UPS_ID_2, "2026-11-18T09:30:00Z", ""),
        // late, then cancelled
        confirm("l5", "L", "o5", "UPS", UPS_ID, t, ""),
        r#"{"event_id":"l5x","action":"CANCEL","seller_id":"L","order_id":"o5","confirmed_at":"2026-11-19T10:00:00Z"}"#.to_string(),
        // a delivery exactly at t and a promise exactly at t are not late
        confirm("l6", "L", "o6", "USPS", USPS_ID_2, "2026-11-16T10:00:00Z", r#","promised_delivery_at":"2026-11-16T10:00:00Z""#),
    ];
    let s = vec![
        scan("s1", "UPS", UPS_ID, "DELIVERED", "2026-11-17T10:00:00Z"),
        scan("s2", "UPS", UPS_ID, "DELIVERED", "2026-11-16T10:00:00Z"),
        scan("s0", "UPS", UPS_ID, "DELIVERED", "2026-11-01T10:00:00Z"), // before t - lookback
        scan("s3", "FEDEX", UPS_ID, "DELIVERED", "2026-11-15T10:00:00Z"), // another carrier
        scan("s4", "USPS", USPS_ID, "DELIVERED", "2026-11-18T09:59:59Z"), // hand-off partner
        scan("s5", "UPS", UPS_ID_2, "ACCEPTED", "2026-11-16T10:00:00Z"),
        scan("s6", "USPS", USPS_ID_2, "DELIVERED", "2026-11-16T10:00:00Z"),
    ];
    let out = replay(
        dir.path(),
        &c,
        &s,
        &["--as-of", "2026-11-20T12:00:00Z"],
        &[],
    );
    let orders: Vec<&str> = out
        .late
        .iter()
        .map(|r| r["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, ["o1", "o2", "o3"], "{:?}", out.late);
    let (o1, o2, o3) = (&out.late[0], &out.late[1], &out.late[2]);
    assert_eq!(o1["reason"], "CONFIRMED_AFTER_DELIVERY");
    assert_eq!(
        o1["late_by"],
        2 * 86_400,
        "from the earliest counting delivery: {o1}"
    );
    assert_eq!(o1["delivered_at"], "2026-11-16T10:00:00Z");
    assert_eq!(o1["promised_delivery_at"], "2026-11-17T20:00:00Z");
    assert_eq!(o1["confirmed_at"], t);
    assert_eq!(o2["reason"], "CONFIRMED_AFTER_DELIVERY_DATE");
    assert_eq!(o2["late_by"], 122_400);
    assert!(o2["delivered_at"].is_null());
    assert_eq!(o3["reason"], "CONFIRMED_AFTER_DELIVERY");
    assert_eq!(o3["late_by"], 1);
    assert_eq!(o3["carrier"], "FEDEX_SMARTPOST");
    assert_eq!(o3["tracking_id"], USPS_ID);
}

#[test]
fn the_default_as_of_is_the_greatest_valid_event_time_and_closes_windows_at_equality() {
    let dir = tempfile::tempdir().unwrap();
    let c = vec![
        confirm("a1", "S", "o1", "UPS", UPS_ID, "2026-11-01T10:00:00Z", r#","promised_delivery_at":"2026-12-30T00:00:00Z""#),
        confirm("a2", "S", "o2", "UPS", UPS_ID, "2026-11-01T10:00:00Z", ""),
        r#"{"event_id":"a3","action":"CANCEL","seller_id":"S","order_id":"o2","confirmed_at":"2026-11-15T10:00:00Z"}"#.to_string(),
        // bad input does not move the default as-of
        confirm("bad", "S", "o3", "UPS", UPS_ID, "2030-11-01T10:00:00Z", r#","ship_method":"BOX""#),
    ];
    let out = replay(dir.path(), &c, &[], &[], &[]);
    assert!(
        out.summary.contains("2026-11-15T10:00:00Z"),
        "{}",
        out.summary
    );
    assert!(
        out.verdicts.iter().all(|v| v["final"] == true),
        "t + horizon == as-of: {:?}",
        out.verdicts
    );
    assert_eq!(
        out.seller.len(),
        2,
        "only o2's day is in a window: {:?}",
        out.seller
    );
    assert_eq!(out.row("US", "S", "*", 30).unwrap()["excluded"], 1);
    assert_eq!(out.dead.len(), 1);
    assert_eq!(out.dead[0]["line"], 4);
    assert!(out.summary.contains("1 line(s)"), "{}", out.summary);
}

#[test]
fn config_file_environment_and_set_change_windows_threshold_lookback_and_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let c = vec![
        confirm("c1", "S", "o1", "UPS", UPS_ID, "2026-11-10T10:00:00Z", ""),
        confirm("c2", "S", "o2", "UPS", UPS_ID_2, "2026-11-18T10:00:00Z", ""),
        confirm("c3", "S", "o3", "UPS", "", "2026-11-19T10:00:00Z", ""),
    ];
    let s = vec![
        scan("s1", "UPS", UPS_ID, "ACCEPTED", "2026-11-02T10:00:00Z"), // 8 days before c1
        scan("s2", "UPS", UPS_ID_2, "ACCEPTED", "2026-11-20T12:00:00Z"), // 2 days 2 hours after c2
    ];
    let check = |out: &Out, threshold: f64| {
        let statuses: Vec<&str> = out
            .verdicts
            .iter()
            .map(|v| v["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["VALID", "INVALID", "INVALID"],
            "lookback 9d, horizon 2d"
        );
        let windows: Vec<u64> = out
            .seller
            .iter()
            .filter(|r| r["category"] == "*")
            .map(|r| r["window_days"].as_u64().unwrap())
            .collect();
        assert_eq!(windows, [3], "no package on the 1-day window's day");
        assert_eq!(out.seller[0]["threshold"], threshold);
    };
    let as_of = ["--as-of", "2026-11-20T12:00:00Z"];
    let file = dir.path().join("v.toml");
    std::fs::write(&file, "[engine]\nlookback = \"9d\"\nhorizon = \"2d\"\nseller_windows_days = [1, 3]\nvtr_threshold = 0.5\n").unwrap();
    let with_file = [as_of[0], as_of[1], "--config", file.to_str().unwrap()];
    check(&replay(dir.path(), &c, &s, &with_file, &[]), 0.5);
    let env = [
        ("VTRACK_ENGINE_LOOKBACK", "9d"),
        ("VTRACK_ENGINE_HORIZON", "2d"),
        ("VTRACK_ENGINE_SELLER_WINDOWS_DAYS", "[1,3]"),
        ("VTRACK_ENGINE_VTR_THRESHOLD", "0.5"),
    ];
    check(&replay(dir.path(), &c, &s, &as_of, &env), 0.5);
    // the environment over the file, a flag over both
    check(
        &replay(
            dir.path(),
            &c,
            &s,
            &with_file,
            &[("VTRACK_ENGINE_VTR_THRESHOLD", "0.4")],
        ),
        0.4,
    );
    let mut set = with_file.to_vec();
    set.extend(["--set", "engine.vtr_threshold=0.7"]);
    check(
        &replay(
            dir.path(),
            &c,
            &s,
            &set,
            &[("VTRACK_ENGINE_VTR_THRESHOLD", "0.4")],
        ),
        0.7,
    );
}
