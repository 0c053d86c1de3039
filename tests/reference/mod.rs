//! An independent, deliberately simple model of `vtrack replay`, written from the product
//! contract (`contract.md` sections 2, 4, 5, 6 and 8) and nothing else.
//!
//! It reads the two NDJSON inputs with `serde_json::Value`, decides which lines are bad
//! input, drops duplicates and events after `as_of`, and computes every package's verdict,
//! the seller rows and the late confirmations with plain loops. The only vtrack code it
//! uses is the carrier registry (aliases, integration, formats), tracking-ID normalisation
//! and RFC 3339 parsing, which are unit-tested on their own.
//!
//! Expected records are `serde_json::Value` objects shaped like vtrack's output lines,
//! except that timestamps are epoch milliseconds (integers): the comparison parses the
//! actual RFC 3339 strings, so it does not depend on how sub-second digits are printed.

#![allow(dead_code)]

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use vtrack::carriers::CarrierRegistry;
use vtrack::tracking_id::{normalize, TrackingId};

/// Milliseconds in one hour.
pub const HOUR: i64 = 3_600_000;
/// Milliseconds in one UTC day.
pub const DAY: i64 = 24 * HOUR;
/// Contract section 4: scans count from `t - LOOKBACK`.
pub const LOOKBACK: i64 = 7 * DAY;
/// Contract section 4: scans count until `t + HORIZON`; the window closes then.
pub const HORIZON: i64 = 14 * DAY;
/// Contract section 4: `NO_SCAN_YET` once this long has passed since `t`.
pub const NO_SCAN_WARNING_AFTER: i64 = 48 * HOUR;
/// Contract section 5: seller windows.
pub const WINDOWS_DAYS: [i64; 2] = [7, 30];
/// Contract section 5: at-risk threshold.
pub const THRESHOLD: f64 = 0.95;

/// Timestamp fields of each output file (compared as instants, not as text).
pub const VERDICT_TS: &[&str] = &[
    "confirmed_at",
    "promised_delivery_at",
    "first_scan_at",
    "delivered_at",
];
/// Timestamp fields of `seller_vtr.ndjson`.
pub const SELLER_TS: &[&str] = &["as_of"];
/// Timestamp fields of `late_confirmations.ndjson`.
pub const LATE_TS: &[&str] = &["confirmed_at", "delivered_at", "promised_delivery_at"];

/// A decoded shipment-confirmation event.
#[derive(Debug, Clone)]
pub struct Conf {
    pub event_id: String,
    pub cancel: bool,
    pub seller_id: String,
    pub order_id: String,
    pub package_id: String,
    pub marketplace: String,
    pub category: String,
    pub carrier: String,
    pub tracking_id: String,
    pub ship_method: String,
    pub package_value_cents: Option<i64>,
    pub confirmed_at: i64,
    pub promised_delivery_at: Option<i64>,
}

/// A decoded carrier-scan event.
#[derive(Debug, Clone)]
pub struct Scan {
    pub event_id: String,
    pub carrier: String,
    /// The normalised (upper-case) tracking ID.
    pub tracking: String,
    pub scan_type: String,
    pub scanned_at: i64,
}

/// A bad input line: file as given, 1-based line number, why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bad {
    pub file: String,
    pub line: u64,
    pub error: String,
}

/// Both inputs, decoded, in file order (duplicates and future events still in).
#[derive(Debug, Default)]
pub struct Input {
    pub confs: Vec<Conf>,
    pub scans: Vec<Scan>,
    pub bad: Vec<Bad>,
}

/// What `vtrack replay` should write.
#[derive(Debug, Default)]
pub struct Expected {
    pub as_of: Option<i64>,
    /// Package key -> verdict.
    pub verdicts: BTreeMap<String, Value>,
    /// `marketplace/seller/category/window` -> seller row.
    pub sellers: BTreeMap<String, Value>,
    /// Package key -> late confirmation.
    pub late: BTreeMap<String, Value>,
    /// Bad input lines.
    pub bad: Vec<Bad>,
    /// Duplicates dropped and events after `as_of` ignored.
    pub duplicates: usize,
    pub after_as_of: usize,
    /// How often the input exercised some rule, for the test's log.
    pub coverage: BTreeMap<&'static str, usize>,
}

// ---------------------------------------------------------------------------------------
// Parsing (contract section 2, and section 8 "Parsing")
// ---------------------------------------------------------------------------------------

const ACTIONS: &[&str] = &["CONFIRM", "CANCEL"];
const SHIP_METHODS: &[&str] = &["PARCEL", "LETTER", "FREIGHT", "DIGITAL"];
const SCAN_TYPES: &[&str] = &[
    "INFO_RECEIVED",
    "ACCEPTED",
    "IN_TRANSIT",
    "OUT_FOR_DELIVERY",
    "DELIVERY_ATTEMPTED",
    "AVAILABLE_FOR_PICKUP",
    "DELIVERED",
    "RETURNED_TO_SENDER",
    "EXCEPTION",
];

/// A field's value; `null` is the same as absent.
fn field<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.get(name).filter(|v| !v.is_null())
}

fn opt_str(o: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match field(o, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!("{name}: wrong type {v}")),
    }
}

fn req_str(o: &Map<String, Value>, name: &str) -> Result<String, String> {
    opt_str(o, name)?.ok_or_else(|| format!("{name}: missing"))
}

/// A required identifier. The contract does not say whether `""` is acceptable; vtrack's
/// README documents that an empty `event_id`, `seller_id`, `order_id` or scan `carrier` is
/// bad input, which is what a platform engineer would expect of a required key.
fn req_id(o: &Map<String, Value>, name: &str) -> Result<String, String> {
    let s = req_str(o, name)?;
    if s.is_empty() {
        return Err(format!("{name}: empty"));
    }
    Ok(s)
}

fn opt_int(o: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match field(o, name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{name}: not an integer: {v}")),
    }
}

fn opt_ts(o: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match field(o, name) {
        None => Ok(None),
        Some(Value::String(s)) => vtrack::timestamp::parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| format!("{name}: not RFC 3339 with an offset: {s}")),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{name}: not a timestamp: {v}")),
    }
}

fn req_ts(o: &Map<String, Value>, name: &str) -> Result<i64, String> {
    opt_ts(o, name)?.ok_or_else(|| format!("{name}: missing"))
}

fn opt_enum(
    o: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<String>, String> {
    match opt_str(o, name)? {
        None => Ok(None),
        Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        Some(s) => Err(format!("{name}: unknown value {s}")),
    }
}

fn object(line: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("undecodable: {e}")),
    }
}

/// Decodes one confirmation line.
pub fn parse_confirmation(line: &[u8]) -> Result<Conf, String> {
    let o = object(line)?;
    let action = opt_enum(&o, "action", ACTIONS)?.unwrap_or_else(|| "CONFIRM".into());
    let cancel = action == "CANCEL";
    // Every known field is type-checked, required or not.
    let event_id = req_id(&o, "event_id")?;
    let seller_id = req_id(&o, "seller_id")?;
    let order_id = req_id(&o, "order_id")?;
    let package_id = opt_str(&o, "package_id")?.unwrap_or_default();
    let marketplace = opt_str(&o, "marketplace")?.unwrap_or_else(|| "US".into());
    let category = opt_str(&o, "category")?.unwrap_or_else(|| "UNCATEGORIZED".into());
    let carrier = opt_str(&o, "carrier")?;
    let tracking_id = opt_str(&o, "tracking_id")?;
    let ship_method = opt_enum(&o, "ship_method", SHIP_METHODS)?.unwrap_or_else(|| "PARCEL".into());
    let package_value_cents = opt_int(&o, "package_value_cents")?;
    let confirmed_at = req_ts(&o, "confirmed_at")?;
    let promised_delivery_at = opt_ts(&o, "promised_delivery_at")?;
    // carrier and tracking_id: required (possibly empty) for CONFIRM only.
    let (carrier, tracking_id) = if cancel {
        (carrier.unwrap_or_default(), tracking_id.unwrap_or_default())
    } else {
        (
            carrier.ok_or("carrier: missing")?,
            tracking_id.ok_or("tracking_id: missing")?,
        )
    };
    Ok(Conf {
        event_id,
        cancel,
        seller_id,
        order_id,
        package_id,
        marketplace,
        category,
        carrier,
        tracking_id,
        ship_method,
        package_value_cents,
        confirmed_at,
        promised_delivery_at,
    })
}

/// Decodes one scan line. A blank or malformed scan tracking ID is bad input (section 8).
pub fn parse_scan(line: &[u8]) -> Result<Scan, String> {
    let o = object(line)?;
    let event_id = req_id(&o, "event_id")?;
    let carrier = req_id(&o, "carrier")?;
    let raw = req_str(&o, "tracking_id")?;
    let scan_type = opt_enum(&o, "scan_type", SCAN_TYPES)?.ok_or("scan_type: missing")?;
    let scanned_at = req_ts(&o, "scanned_at")?;
    opt_str(&o, "location")?;
    let tracking = match normalize(&raw) {
        TrackingId::Normalized(n) => n.into_owned(),
        TrackingId::Blank => return Err("tracking_id: blank".into()),
        TrackingId::Malformed { .. } => return Err("tracking_id: malformed".into()),
    };
    Ok(Scan {
        event_id,
        carrier,
        tracking,
        scan_type,
        scanned_at,
    })
}

/// Calls `f` with (1-based line number, bytes) for every line that is not blank.
fn for_lines(path: &Path, mut f: impl FnMut(u64, &[u8])) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        f(i as u64 + 1, line);
    }
}

/// Reads and decodes both input files.
pub fn read_input(confirmations: &Path, scans: &Path) -> Input {
    let mut input = Input::default();
    let name = confirmations.display().to_string();
    for_lines(confirmations, |n, line| match parse_confirmation(line) {
        Ok(c) => input.confs.push(c),
        Err(error) => input.bad.push(Bad {
            file: name.clone(),
            line: n,
            error,
        }),
    });
    let name = scans.display().to_string();
    for_lines(scans, |n, line| match parse_scan(line) {
        Ok(s) => input.scans.push(s),
        Err(error) => input.bad.push(Bad {
            file: name.clone(),
            line: n,
            error,
        }),
    });
    input
}

impl Input {
    /// Least and greatest event time of the valid events.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let times = self
            .confs
            .iter()
            .map(|c| c.confirmed_at)
            .chain(self.scans.iter().map(|s| s.scanned_at));
        times.fold(None, |acc, t| match acc {
            None => Some((t, t)),
            Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
        })
    }
}

// ---------------------------------------------------------------------------------------
// The rules (contract sections 4, 5, 6, 8)
// ---------------------------------------------------------------------------------------

/// Package key `seller_id/order_id/package_id`.
pub fn package_key(seller: &str, order: &str, package: &str) -> String {
    format!("{seller}/{order}/{package}")
}

/// UTC day number of an instant.
pub fn utc_day(t: i64) -> i64 {
    t.div_euclid(DAY)
}

/// `YYYY-MM-DD` of a UTC day number, computed with chrono independently of vtrack.
pub fn day_string(day: i64) -> String {
    let d =
        chrono::DateTime::<chrono::Utc>::from_timestamp(day * 86_400, 0).expect("date in range");
    d.format("%Y-%m-%d").to_string()
}

/// Carriers whose scans count for `declared` (contract section 3: hand-offs are one way).
fn accepted_reporters(declared: &str) -> Vec<&str> {
    match declared {
        "FEDEX_SMARTPOST" | "UPS_MAIL_INNOVATIONS" | "DHL_ECOMMERCE" => vec![declared, "USPS"],
        _ => vec![declared],
    }
}

/// What the reference decided for one package, besides its record.
struct Verdict {
    record: Value,
    /// Earliest counting delivery scan before t.
    earliest_delivery_before_t: Option<i64>,
}

/// Computes the whole replay outcome.
pub fn compute(input: &Input, as_of_flag: Option<i64>, reg: &CarrierRegistry) -> Expected {
    let mut out = Expected {
        bad: input.bad.clone(),
        ..Expected::default()
    };
    // as_of: the flag, else the greatest event time among the valid input events.
    let Some(as_of) = as_of_flag.or(input.time_range().map(|r| r.1)) else {
        return out;
    };
    out.as_of = Some(as_of);

    // Drop duplicates (first occurrence kept, per topic) and events after as_of.
    let mut seen = HashSet::new();
    let mut confs: Vec<&Conf> = Vec::new();
    for c in &input.confs {
        if c.confirmed_at > as_of {
            out.after_as_of += 1;
        } else if !seen.insert(c.event_id.as_str()) {
            out.duplicates += 1;
        } else {
            confs.push(c);
        }
    }
    let mut seen = HashSet::new();
    let mut scans_by_id: HashMap<&str, Vec<&Scan>> = HashMap::new();
    for s in &input.scans {
        if s.scanned_at > as_of {
            out.after_as_of += 1;
        } else if !seen.insert(s.event_id.as_str()) {
            out.duplicates += 1;
        } else {
            scans_by_id.entry(s.tracking.as_str()).or_default().push(s);
        }
    }

    // Cancelled orders, and each package's current confirmation.
    let cancelled: HashSet<(&str, &str)> = confs
        .iter()
        .filter(|c| c.cancel)
        .map(|c| (c.seller_id.as_str(), c.order_id.as_str()))
        .collect();
    let mut current: BTreeMap<String, &Conf> = BTreeMap::new();
    for c in confs.iter().filter(|c| !c.cancel) {
        let key = package_key(&c.seller_id, &c.order_id, &c.package_id);
        let replace = match current.get(&key) {
            None => true,
            Some(old) => {
                (c.confirmed_at, c.event_id.as_bytes())
                    > (old.confirmed_at, old.event_id.as_bytes())
            }
        };
        if let Some(old) = current.get(&key) {
            *out.coverage.entry("CONFIRM updates").or_default() += 1;
            if old.confirmed_at == c.confirmed_at {
                *out.coverage
                    .entry("CONFIRMs tied on confirmed_at")
                    .or_default() += 1;
            }
        }
        if replace {
            current.insert(key, c);
        }
    }

    // Verdicts and late confirmations.
    for (key, c) in &current {
        let is_cancelled = cancelled.contains(&(c.seller_id.as_str(), c.order_id.as_str()));
        let v = verdict(c, is_cancelled, &scans_by_id, as_of, reg, &mut out.coverage);
        if let Some(late) = late_confirmation(c, &v) {
            out.late.insert(key.clone(), late);
        }
        out.verdicts.insert(key.clone(), v.record);
    }

    // Seller rows.
    let as_of_day = utc_day(as_of);
    #[derive(Default)]
    struct Counts {
        valid: u64,
        invalid: u64,
        excluded: u64,
        pending: u64,
    }
    let mut rows: BTreeMap<(String, String, String, i64), Counts> = BTreeMap::new();
    for (key, c) in &current {
        let status = out.verdicts[key]["status"]
            .as_str()
            .expect("status")
            .to_string();
        let metric_day = utc_day(c.promised_delivery_at.unwrap_or(c.confirmed_at));
        for n in WINDOWS_DAYS {
            let start = as_of_day - (n - 1);
            if metric_day < start || metric_day > as_of_day {
                continue;
            }
            for category in [c.category.as_str(), "*"] {
                let counts = rows
                    .entry((
                        c.marketplace.clone(),
                        c.seller_id.clone(),
                        category.to_string(),
                        n,
                    ))
                    .or_default();
                match status.as_str() {
                    "VALID" => counts.valid += 1,
                    "INVALID" => counts.invalid += 1,
                    "EXCLUDED" => counts.excluded += 1,
                    "PENDING" => counts.pending += 1,
                    other => panic!("reference produced status {other}"),
                }
            }
        }
    }
    for ((marketplace, seller, category, n), k) in rows {
        let vtr = if k.valid + k.invalid == 0 {
            None
        } else {
            Some(k.valid as f64 / (k.valid + k.invalid) as f64)
        };
        let at_risk = vtr.is_some_and(|v| v < THRESHOLD);
        let key = format!("{marketplace}/{seller}/{category}/{n}");
        out.sellers.insert(
            key,
            json!({
                "marketplace": marketplace,
                "seller_id": seller,
                "category": category,
                "window_days": n,
                "as_of": as_of,
                "window_start": day_string(as_of_day - (n - 1)),
                "window_end": day_string(as_of_day),
                "valid": k.valid,
                "invalid": k.invalid,
                "excluded": k.excluded,
                "pending": k.pending,
                "vtr": vtr,
                "threshold": THRESHOLD,
                "at_risk": at_risk,
            }),
        );
    }
    out
}

/// The verdict of one package (contract section 4, rules 1-6).
fn verdict(
    c: &Conf,
    cancelled: bool,
    scans_by_id: &HashMap<&str, Vec<&Scan>>,
    as_of: i64,
    reg: &CarrierRegistry,
    coverage: &mut BTreeMap<&'static str, usize>,
) -> Verdict {
    let mut count = |what: &'static str| *coverage.entry(what).or_default() += 1;
    let t = c.confirmed_at;
    let closed = as_of >= t + HORIZON;
    let carrier_id = reg.resolve(&c.carrier);
    let carrier_code: Option<String> = carrier_id.map(|id| reg.code(id).to_string());
    let integrated = carrier_id.is_some_and(|id| reg.is_integrated(id));
    let tracking = normalize(&c.tracking_id);
    let normalized: Option<String> = match &tracking {
        TrackingId::Normalized(n) => Some(n.to_string()),
        _ => None,
    };
    let formats = normalized.as_deref().map(|n| reg.analyze(n));
    let mut detected: Vec<String> = match &formats {
        Some(m) => reg
            .detected_carriers(m)
            .into_iter()
            .map(|id| reg.code(id).to_string())
            .collect(),
        None => Vec::new(),
    };
    detected.sort();

    let mut reasons: Vec<&str> = Vec::new();
    let status: &str;
    let mut first_scan_at: Option<i64> = None;
    let mut delivered_at: Option<i64> = None;
    let mut earliest_delivery_before_t: Option<i64> = None;

    if cancelled {
        status = "EXCLUDED";
        reasons.push("CANCELLED");
    } else if c.ship_method == "DIGITAL" {
        status = "EXCLUDED";
        reasons.push("DIGITAL");
    } else if c.ship_method == "LETTER"
        && carrier_code.as_deref() == Some("USPS")
        && c.package_value_cents.is_some_and(|v| v < 1000)
    {
        status = "EXCLUDED";
        reasons.push("SMALL_ENVELOPE");
    } else if c.ship_method == "FREIGHT" && !integrated {
        status = "EXCLUDED";
        reasons.push("FREIGHT_NON_INTEGRATED");
    } else if matches!(tracking, TrackingId::Blank) {
        status = "INVALID";
        reasons.push("MISSING_TRACKING");
    } else if matches!(tracking, TrackingId::Malformed { .. }) {
        status = "INVALID";
        reasons.push("INVALID_CHARACTERS");
    } else if !integrated {
        status = "INVALID";
        reasons.push("UNSUPPORTED_CARRIER");
    } else {
        // Rule 6: the join.
        let declared = carrier_code
            .as_deref()
            .expect("integrated carrier has a code");
        let n = normalized.as_deref().expect("well-formed ID");
        let accepted = accepted_reporters(declared);
        let mut counting = 0usize;
        let mut other_carrier = false;
        for s in scans_by_id.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            debug_assert_eq!(s.tracking, n);
            let physical = s.scan_type != "INFO_RECEIVED";
            let in_window = t - LOOKBACK <= s.scanned_at && s.scanned_at <= t + HORIZON;
            if !physical {
                continue;
            }
            if !in_window {
                count("physical scans of the ID outside the window");
                continue;
            }
            let reporter = reg.resolve(&s.carrier).map(|id| reg.code(id));
            if reporter.is_some_and(|r| accepted.contains(&r)) {
                if reporter != Some(declared) {
                    count("counting scans by a hand-off partner");
                }
                if Some(s.carrier.as_str()) != reporter {
                    count("counting scans reported under an alias");
                }
                counting += 1;
                first_scan_at = Some(first_scan_at.map_or(s.scanned_at, |f| f.min(s.scanned_at)));
                if s.scan_type == "DELIVERED" {
                    delivered_at = Some(delivered_at.map_or(s.scanned_at, |d| d.min(s.scanned_at)));
                    if s.scanned_at < t {
                        earliest_delivery_before_t = Some(
                            earliest_delivery_before_t
                                .map_or(s.scanned_at, |d| d.min(s.scanned_at)),
                        );
                    }
                }
            } else {
                count("scans in the window by another carrier");
                other_carrier = true;
            }
        }
        if earliest_delivery_before_t.is_some() {
            reasons.push("CONFIRMED_AFTER_DELIVERY");
        }
        if c.promised_delivery_at.is_some_and(|p| t > p) {
            reasons.push("CONFIRMED_AFTER_DELIVERY_DATE");
        }
        if counting == 0 {
            let id = carrier_id.expect("integrated carrier");
            let format_evidence = reg.format_mismatch(id, formats.as_ref().expect("formats"));
            if format_evidence && !other_carrier {
                count("CARRIER_MISMATCH by format evidence alone");
            }
            if other_carrier || format_evidence {
                reasons.push("CARRIER_MISMATCH");
            } else if closed {
                reasons.push("NO_CARRIER_SCAN");
            }
            // else: NO_CARRIER_SCAN is not given while the window is open.
        }
        status = if !reasons.is_empty() {
            "INVALID"
        } else if counting > 0 {
            "VALID"
        } else {
            "PENDING"
        };
    }

    let mut warnings: Vec<&str> = Vec::new();
    if status == "PENDING" && as_of - t >= NO_SCAN_WARNING_AFTER {
        warnings.push("NO_SCAN_YET");
    }
    let record = json!({
        "seller_id": c.seller_id,
        "order_id": c.order_id,
        "package_id": c.package_id,
        "marketplace": c.marketplace,
        "category": c.category,
        "carrier_entered": c.carrier,
        "carrier": carrier_code,
        "tracking_id": c.tracking_id,
        "tracking_normalized": normalized,
        "status": status,
        "has_valid_tracking": status == "VALID",
        "reasons": reasons,
        "detected_carriers": detected,
        "confirmed_at": t,
        "promised_delivery_at": c.promised_delivery_at,
        "first_scan_at": first_scan_at,
        "delivered_at": delivered_at,
        "final": closed,
        "warnings": warnings,
    });
    Verdict {
        record,
        earliest_delivery_before_t,
    }
}

/// The late-confirmation record of a package whose verdict carries a late reason.
fn late_confirmation(c: &Conf, v: &Verdict) -> Option<Value> {
    let r = &v.record;
    let reason = r["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(Value::as_str)
        .find(|s| *s == "CONFIRMED_AFTER_DELIVERY" || *s == "CONFIRMED_AFTER_DELIVERY_DATE")?;
    let t = c.confirmed_at;
    let from = if reason == "CONFIRMED_AFTER_DELIVERY" {
        v.earliest_delivery_before_t.expect("a delivery before t")
    } else {
        c.promised_delivery_at.expect("a promised date")
    };
    Some(json!({
        "seller_id": c.seller_id,
        "order_id": c.order_id,
        "package_id": c.package_id,
        "marketplace": c.marketplace,
        "carrier": r["carrier"],
        "tracking_id": c.tracking_id,
        "confirmed_at": t,
        // The delivery before the confirmation, if any (a later one is no part of why it was
        // late).
        "delivered_at": v.earliest_delivery_before_t,
        "promised_delivery_at": c.promised_delivery_at,
        "late_by": (t - from).div_euclid(1000),
        "reason": reason,
    }))
}

// ---------------------------------------------------------------------------------------
// Comparison with vtrack's output
// ---------------------------------------------------------------------------------------

/// One difference between expected and actual.
#[derive(Debug, Clone)]
pub struct Diff {
    pub key: String,
    pub field: String,
    pub expected: String,
    pub actual: String,
}

/// Reads an output NDJSON file as (line number, object) pairs.
pub fn read_output(path: &Path) -> Vec<Map<String, Value>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(o)) => o,
            other => panic!("{}:{}: not a JSON object: {other:?}", path.display(), i + 1),
        })
        .collect()
}

/// Keys the records by `key_fields` joined with `/`, panicking on a repeated key, and turns
/// the RFC 3339 UTC strings of `ts_fields` into epoch milliseconds (a string that is not
/// RFC 3339 UTC is left as it is, and so differs from any expectation).
pub fn index(
    what: &str,
    records: Vec<Map<String, Value>>,
    key_fields: &[&str],
    ts_fields: &[&str],
) -> BTreeMap<String, Map<String, Value>> {
    let mut out = BTreeMap::new();
    for mut r in records {
        let key = key_fields
            .iter()
            .map(|f| match &r.get(*f) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::from("<missing>"),
            })
            .collect::<Vec<_>>()
            .join("/");
        for f in ts_fields {
            if let Some(Value::String(s)) = r.get(*f) {
                if s.ends_with('Z') {
                    if let Some(ms) = vtrack::timestamp::parse_rfc3339(s) {
                        r.insert((*f).to_string(), Value::from(ms));
                    }
                }
            }
        }
        if out.insert(key.clone(), r).is_some() {
            panic!("{what}: key {key} appears on more than one line");
        }
    }
    out
}

fn show(v: Option<&Value>, ts: bool) -> String {
    match v {
        None => "<absent>".into(),
        Some(Value::Number(n)) if ts => match n.as_i64() {
            Some(ms) => format!("{} ({ms})", vtrack::timestamp::format_rfc3339(ms)),
            None => n.to_string(),
        },
        Some(v) => v.to_string(),
    }
}

/// Compares expected records with actual ones, field by field. `skip` fields are not
/// compared; `float_fields` are compared with a small tolerance.
pub fn compare(
    expected: &BTreeMap<String, Value>,
    actual: &BTreeMap<String, Map<String, Value>>,
    skip: &[&str],
    ts_fields: &[&str],
    float_fields: &[&str],
) -> Vec<Diff> {
    let mut diffs = Vec::new();
    for (key, e) in expected {
        let e = e.as_object().expect("expected record is an object");
        let Some(a) = actual.get(key) else {
            diffs.push(Diff {
                key: key.clone(),
                field: "<record>".into(),
                expected: "present".into(),
                actual: "missing".into(),
            });
            continue;
        };
        let mut fields: Vec<&String> = e.keys().chain(a.keys()).collect();
        fields.sort();
        fields.dedup();
        for f in fields {
            if skip.contains(&f.as_str()) {
                continue;
            }
            let (ev, av) = (e.get(f), a.get(f));
            let same = match (ev, av) {
                (Some(Value::Number(x)), Some(Value::Number(y)))
                    if float_fields.contains(&f.as_str()) =>
                {
                    let (x, y) = (
                        x.as_f64().unwrap_or(f64::NAN),
                        y.as_f64().unwrap_or(f64::NAN),
                    );
                    (x - y).abs() <= 1e-9
                }
                (Some(x), Some(y)) => x == y,
                (None, None) => true,
                _ => false,
            };
            if !same {
                let ts = ts_fields.contains(&f.as_str());
                diffs.push(Diff {
                    key: key.clone(),
                    field: f.clone(),
                    expected: show(ev, ts),
                    actual: show(av, ts),
                });
            }
        }
    }
    for key in actual.keys() {
        if !expected.contains_key(key) {
            diffs.push(Diff {
                key: key.clone(),
                field: "<record>".into(),
                expected: "absent".into(),
                actual: "present".into(),
            });
        }
    }
    diffs
}

/// A readable report of the first `max_keys` differing records, with a per-field tally.
pub fn render_diffs(what: &str, diffs: &[Diff], max_keys: usize) -> String {
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for d in diffs {
        *tally.entry(d.field.as_str()).or_default() += 1;
    }
    let mut s = format!(
        "{what}: {} differing field(s); by field: {tally:?}\n",
        diffs.len()
    );
    let mut keys: Vec<&str> = Vec::new();
    for d in diffs {
        if !keys.contains(&d.key.as_str()) {
            if keys.len() == max_keys {
                continue;
            }
            keys.push(&d.key);
        }
        s += &format!(
            "  {}  {}: expected {}, actual {}\n",
            d.key, d.field, d.expected, d.actual
        );
    }
    s
}

/// The input events behind one package (its order's confirmations and cancellations, and
/// the scans of its tracking ID), for bug reports.
pub fn describe_package(input: &Input, key: &str) -> String {
    let mut s = String::new();
    let mut ids: HashSet<String> = HashSet::new();
    for c in &input.confs {
        let k = package_key(&c.seller_id, &c.order_id, &c.package_id);
        let same_order = key.starts_with(&format!("{}/{}/", c.seller_id, c.order_id));
        if k == key || (c.cancel && same_order) {
            s += &format!("    conf {c:?}\n");
            if let TrackingId::Normalized(n) = normalize(&c.tracking_id) {
                ids.insert(n.into_owned());
            }
        }
    }
    for sc in &input.scans {
        if ids.contains(&sc.tracking) {
            s += &format!("    scan {sc:?}\n");
        }
    }
    s
}
