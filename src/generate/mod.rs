//! Synthetic workloads: realistic confirmations and scans, seeded and reproducible.
//!
//! [`generate`] streams a marketplace's shipment confirmations and carrier scans, interleaved
//! in approximate event-time order, from a handful of events to tens of millions, in memory
//! proportional to the packages in flight at once (not to the number of events):
//!
//! * packages are born in time order; each gets a short **script** (its confirmations,
//!   cancellation and scans as timed steps) planned from its own random stream, and waits in
//!   a min-heap keyed by the time of its next step;
//! * a small reorder stage delays some events by up to `disorder` and re-emits a share of
//!   them (same `event_id`, same content) as duplicates: every event is within `disorder` of
//!   sorted order, so a consumer with a 6-hour allowed lateness sees nothing late.
//!
//! Every failure of contract section 1, the exemptions, corrections, cancellations,
//! multi-package orders, recycled and placeholder tracking IDs appear in proportions set by
//! [`FailureMix`]; sellers come in good, mediocre and bad tiers that scale their mistakes.
//! The random generator is this module's own ([`rng`]): the same options always give the
//! same events, byte for byte, whatever the crate versions.

mod carrier;
mod garble;
pub mod ids;
mod mix;
mod package;
pub mod rng;
mod seller;
mod stream;

use std::io::{BufWriter, Write};

use crate::codec;
use crate::event::{Event, Millis, DAY_MS, HOUR_MS};

pub use mix::{FailureMix, Scenario};
pub use stream::Generator;

/// 2026-11-02T00:00:00Z, a Monday: the default first day.
pub const DEFAULT_START: Millis = 1_793_577_600_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Seed of every random choice: the same options give the same events.
    pub seed: u64,
    /// Number of packages (orders with several packages count each one).
    pub packages: u64,
    /// Number of sellers (at least one is used); their sizes follow a long-tailed law.
    pub sellers: u32,
    /// When the first package's events begin (its label, then its confirmation).
    pub start: Millis,
    /// Days over which packages are confirmed (at least 1). Recycled IDs need more than
    /// 24 days to appear.
    pub days: u32,
    /// Share of events emitted a second time with the same `event_id` and content.
    pub duplicate_rate: f64,
    /// Largest displacement of an event from event-time order (default 30 minutes; keep it
    /// well below the consumer's allowed lateness).
    pub disorder: Millis,
    /// How often each scenario happens.
    pub mix: FailureMix,
    /// Share of sellers that also sell in the `CA` marketplace (40% of their orders go there).
    pub canada_sellers: f64,
    /// Product categories sellers pick from (each seller sells in 1 to 3 of them).
    pub categories: Vec<String>,
}

impl Default for GenerateOptions {
    fn default() -> GenerateOptions {
        GenerateOptions {
            seed: 42,
            packages: 100_000,
            sellers: 500,
            start: DEFAULT_START,
            days: 30,
            duplicate_rate: 0.005,
            disorder: HOUR_MS / 2,
            mix: FailureMix::default(),
            canada_sellers: 0.15,
            categories: [
                "BOOKS",
                "ELECTRONICS",
                "HOME_KITCHEN",
                "TOYS_GAMES",
                "CLOTHING",
                "BEAUTY",
                "SPORTS_OUTDOORS",
                "AUTOMOTIVE",
                "PET_SUPPLIES",
                "TOOLS",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// How far before `start` and after its last day the generated events may lie (labels and
/// recycled IDs before, deliveries, returns and corrections after), with room to spare.
const EVENT_MARGIN: Millis = 400 * DAY_MS;

impl GenerateOptions {
    /// Checks that every generated time lies in the years 0001 to 9999, which RFC 3339 (and so
    /// the NDJSON the generator writes) can express.
    pub fn check_time_range(&self) -> Result<(), String> {
        use crate::codec::representable;
        let end = self
            .start
            .checked_add(i64::from(self.days) * DAY_MS + EVENT_MARGIN);
        let first = self.start.checked_sub(EVENT_MARGIN);
        match (first, end) {
            (Some(first), Some(end)) if representable(first) && representable(end) => Ok(()),
            _ => Err(format!(
                "the events of --start {} and --days {} would not all lie in the years 0001 to \
                 9999 (RFC 3339 times): keep --start more than 400 days inside that range",
                crate::timestamp::format_rfc3339(self.start),
                self.days
            )),
        }
    }
}

/// Counts of what a run generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateStats {
    /// Packages created.
    pub packages: u64,
    /// Orders created.
    pub orders: u64,
    /// Orders of 2 or 3 packages.
    pub multi_package_orders: u64,
    /// Events of the confirmations stream (CONFIRM and CANCEL, duplicates included).
    pub confirmations: u64,
    /// CANCEL events among them.
    pub cancellations: u64,
    /// Scan events (duplicates included).
    pub scans: u64,
    /// Events emitted a second time (counted in `confirmations` or `scans` too).
    pub duplicates: u64,
    /// Packages per scenario, indexed like [`Scenario::ALL`].
    pub scenarios: [u64; Scenario::ALL.len()],
}

impl GenerateStats {
    /// Packages generated with scenario `s`.
    pub fn scenario(&self, s: Scenario) -> u64 {
        self.scenarios.get(s.index()).copied().unwrap_or(0)
    }

    /// Every event emitted, duplicates included.
    pub fn events(&self) -> u64 {
        self.confirmations + self.scans
    }
}

/// What a generated package was meant to be: its key and its scenario (see
/// [`Generator::with_truth`]), to check an engine's verdicts against the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageTruth {
    /// The seller.
    pub seller_id: String,
    /// The order.
    pub order_id: String,
    /// The package of the order (`""` for single-package orders).
    pub package_id: String,
    /// `US` or `CA`.
    pub marketplace: String,
    /// What happens to the package.
    pub scenario: Scenario,
}

/// The events of the workload `opts` describes, in approximate event-time order.
pub fn generate(opts: &GenerateOptions) -> Generator {
    Generator::new(opts)
}

/// Writes the workload as NDJSON: confirmations to one writer, scans to the other, one JSON
/// object per line. Returns what was generated.
pub fn write_ndjson(
    opts: &GenerateOptions,
    confirmations: &mut impl Write,
    scans: &mut impl Write,
) -> std::io::Result<GenerateStats> {
    let mut conf = BufWriter::with_capacity(1 << 16, confirmations);
    let mut scan = BufWriter::with_capacity(1 << 16, scans);
    let mut gen = generate(opts);
    for event in gen.by_ref() {
        match &event {
            Event::Confirmation(c) => writeln!(conf, "{}", codec::confirmation_to_json(c))?,
            Event::Scan(s) => writeln!(scan, "{}", codec::scan_to_json(s))?,
        }
    }
    conf.flush()?;
    scan.flush()?;
    Ok(gen.stats().clone())
}
