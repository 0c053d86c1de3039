//! Builders and helpers shared by the engine test suites.
//!
//! Event builders give every field its contract default; override any of them with struct
//! update syntax: `Confirmation { category: "Toys".into(), ..confirm("S", "O", "", "UPS", ID, t) }`.
//! Event ids are derived from the content, so building the same event twice gives a duplicate.
#![allow(dead_code, unused_imports)]

use std::sync::{Arc, OnceLock};
use vtrack::carriers::CarrierRegistry;
use vtrack::config::EngineConfig;
use vtrack::engine::Engine;
use vtrack::event::{Action, Confirmation, Event, Millis, Scan, ScanType, ShipMethod};
use vtrack::records::{LateConfirmationRecord, SellerVtrRecord, VerdictRecord};
use vtrack::timestamp::parse_rfc3339;

pub use vtrack::event::{DAY_MS as DAY, HOUR_MS as HOUR};

/// One minute in milliseconds.
pub const MINUTE: Millis = 60_000;

// Tracking IDs with correct check digits (computed for these tests from the public format
// definitions; none is a sample number of the reference data).

/// UPS `1Z…`, mod 10 check digit.
pub const UPS_ID: &str = "1Z999AA10123456784";
/// Another UPS `1Z…` number.
pub const UPS_ID_2: &str = "1Z12345E0205271686";
/// USPS IMpb, 22 digits, application identifier 94, mod 10 check digit (weights 3,1 from the right).
pub const USPS_ID: &str = "9400111899223851245125";
/// Another USPS IMpb 22-digit number.
pub const USPS_ID_2: &str = "9400100000000000000006";
/// S10 international mail number of the US (mod 11 check digit): a USPS and Canada Post format.
pub const S10_US_ID: &str = "EA123456785US";
/// FedEx Express 12 digits (weights 3,1,7, mod 11 mod 10).
pub const FEDEX_ID: &str = "398765432103";
/// DHL Express 10 digits, mod 7 check digit.
pub const DHL_ID: &str = "1234567891";
/// Amazon Logistics `TBA…`: a format without a check digit.
pub const AMAZON_ID: &str = "TBA123456789012";
/// A 12-digit Purolator number (Luhn); Purolator is not integrated, and the number fails
/// the FedEx Express 12 check digit.
pub const PUROLATOR_ID: &str = "334455667785";
/// Well formed, but the format of no carrier.
pub const NO_FORMAT_ID: &str = "ABC123XYZ";

/// Parses an RFC 3339 timestamp; panics on a bad literal.
pub fn ts(s: &str) -> Millis {
    parse_rfc3339(s).unwrap_or_else(|| panic!("bad timestamp literal {s}"))
}

/// The usual confirmation time of the tests.
pub fn t0() -> Millis {
    ts("2026-11-20T10:00:00Z")
}

/// A CONFIRM with the contract's defaults (marketplace US, category UNCATEGORIZED, PARCEL,
/// no value, no promised date).
pub fn confirm(
    seller: &str,
    order: &str,
    package: &str,
    carrier: &str,
    tracking: &str,
    t: Millis,
) -> Confirmation {
    Confirmation {
        event_id: format!("c/{seller}/{order}/{package}/{carrier}/{tracking}/{t}"),
        action: Action::Confirm,
        seller_id: seller.into(),
        order_id: order.into(),
        package_id: package.into(),
        marketplace: "US".into(),
        category: "UNCATEGORIZED".into(),
        carrier: carrier.into(),
        tracking_id: tracking.into(),
        ship_method: ShipMethod::Parcel,
        package_value_cents: None,
        confirmed_at: t,
        promised_delivery_at: None,
    }
}

/// A CANCEL of an order (carrier and tracking empty, package `""`).
pub fn cancel(seller: &str, order: &str, t: Millis) -> Confirmation {
    Confirmation {
        event_id: format!("x/{seller}/{order}/{t}"),
        action: Action::Cancel,
        ..confirm(seller, order, "", "", "", t)
    }
}

/// A carrier scan without location.
pub fn scan(carrier: &str, tracking: &str, scan_type: ScanType, t: Millis) -> Scan {
    Scan {
        event_id: format!("s/{carrier}/{tracking}/{}/{t}", scan_type.as_str()),
        carrier: carrier.into(),
        tracking_id: tracking.into(),
        scan_type,
        scanned_at: t,
        location: None,
    }
}

/// Anything that is an input event.
pub trait ToEvent {
    /// The event.
    fn ev(self) -> Event;
}

impl ToEvent for Confirmation {
    fn ev(self) -> Event {
        Event::Confirmation(self)
    }
}

impl ToEvent for Scan {
    fn ev(self) -> Event {
        Event::Scan(self)
    }
}

impl ToEvent for Event {
    fn ev(self) -> Event {
        self
    }
}

/// The default US carrier registry (built once: compiling its formats takes a while in debug).
pub fn carriers() -> Arc<CarrierRegistry> {
    static REGISTRY: OnceLock<Arc<CarrierRegistry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| Arc::new(CarrierRegistry::default_us()))
        .clone()
}

/// An engine with the default configuration and carriers.
pub fn engine(emit_records: bool) -> Engine {
    Engine::new(EngineConfig::default(), carriers(), emit_records)
}

/// Feeds events; panics if the engine refuses one.
pub fn feed<E: ToEvent>(e: &mut Engine, events: impl IntoIterator<Item = E>) {
    for ev in events {
        let ev = ev.ev();
        let shown = format!("{ev:?}");
        e.process(ev)
            .unwrap_or_else(|err| panic!("engine refused {shown}: {err}"));
    }
}

/// Feeds one event.
pub fn feed1(e: &mut Engine, ev: impl ToEvent) {
    feed(e, [ev.ev()]);
}

/// Replay: a batch engine fed every event, then event time moved to `as_of`.
pub fn replay<E: ToEvent>(events: impl IntoIterator<Item = E>, as_of: Millis) -> Engine {
    let mut e = engine(false);
    feed(&mut e, events);
    e.advance_to(as_of);
    e
}

/// The latest verdict of a package; panics when the package does not exist.
pub fn verdict(e: &Engine, seller: &str, order: &str, package: &str) -> VerdictRecord {
    find_verdict(e, seller, order, package).unwrap_or_else(|| {
        panic!(
            "no verdict for {seller}/{order}/{package}; verdicts: {:#?}",
            e.verdicts()
        )
    })
}

/// The latest verdict of a package, if it exists.
pub fn find_verdict(e: &Engine, seller: &str, order: &str, package: &str) -> Option<VerdictRecord> {
    e.verdicts()
        .into_iter()
        .find(|v| v.seller_id == seller && v.order_id == order && v.package_id == package)
}

/// The verdict of the only package `S/O/""`.
pub fn only(e: &Engine) -> VerdictRecord {
    verdict(e, "S", "O", "")
}

/// The late-confirmation record of a package, if any.
pub fn late_of(
    e: &Engine,
    seller: &str,
    order: &str,
    package: &str,
) -> Option<LateConfirmationRecord> {
    e.late_confirmations()
        .into_iter()
        .find(|r| r.seller_id == seller && r.order_id == order && r.package_id == package)
}

/// A seller row, if present.
pub fn row(
    e: &Engine,
    marketplace: &str,
    seller: &str,
    category: &str,
    window_days: u32,
) -> Option<SellerVtrRecord> {
    e.seller_rows().into_iter().find(|r| {
        r.marketplace == marketplace
            && r.seller_id == seller
            && r.category == category
            && r.window_days == window_days
    })
}

/// A verdict with its revision cleared, to compare content.
pub fn content(v: &VerdictRecord) -> VerdictRecord {
    VerdictRecord {
        revision: 0,
        ..v.clone()
    }
}

/// Every verdict with revisions cleared.
pub fn contents(e: &Engine) -> Vec<VerdictRecord> {
    e.verdicts().iter().map(content).collect()
}

// ---------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------

/// What `vtrack replay` wrote: how the run ended, and each output file's lines as JSON
/// (none when the file is missing, as after a failed run).
pub struct Replayed {
    /// Exit status, standard output (the summary) and standard error.
    pub output: std::process::Output,
    /// `verdicts.ndjson`.
    pub verdicts: Vec<serde_json::Value>,
    /// `seller_vtr.ndjson`.
    pub seller_vtr: Vec<serde_json::Value>,
    /// `late_confirmations.ndjson`.
    pub late_confirmations: Vec<serde_json::Value>,
    /// `dead_letters.ndjson`.
    pub dead_letters: Vec<serde_json::Value>,
}

impl Replayed {
    /// The summary printed on standard output.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Standard error.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Panics with standard error unless the run succeeded.
    pub fn succeeded(self) -> Replayed {
        assert!(self.output.status.success(), "{}", self.stderr());
        self
    }
}

/// Runs `vtrack replay` on `confirmations` and `scans`, written into `dir` (the outputs go to
/// `dir/out`), with more arguments and environment variables.
pub fn run_replay(
    dir: &std::path::Path,
    confirmations: &[u8],
    scans: &[u8],
    args: &[&str],
    env: &[(&str, &str)],
) -> Replayed {
    let (c, s, out) = (dir.join("c.ndjson"), dir.join("s.ndjson"), dir.join("out"));
    std::fs::write(&c, confirmations).expect("write the confirmations");
    std::fs::write(&s, scans).expect("write the scans");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vtrack"));
    cmd.args(["replay", "--confirmations"])
        .arg(&c)
        .arg("--scans")
        .arg(&s)
        .arg("--out")
        .arg(&out)
        .args(args)
        // Panic messages short and stable whatever the caller's environment says.
        .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let lines = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(out.join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an output line is JSON"))
            .collect()
    };
    Replayed {
        output,
        verdicts: lines("verdicts.ndjson"),
        seller_vtr: lines("seller_vtr.ndjson"),
        late_confirmations: lines("late_confirmations.ndjson"),
        dead_letters: lines("dead_letters.ndjson"),
    }
}
