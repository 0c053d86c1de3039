//! Messages the three stages exchange (design guide section 2). In one process they pass
//! through queues; the Kafka driver carries them over internal topics.

use super::intern::Sym;
use super::text::{Decoded, PackedStr};
use crate::carriers::{CarrierId, CarrierSet};
use crate::event::{Millis, ScanType};
use crate::records::Status;

/// Names a package across stages: seller, order, package id.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PackageRef {
    /// Interned seller id.
    #[serde(with = "super::intern::sym_serde")]
    pub seller: Sym,
    /// Order id.
    pub order: PackedStr,
    /// Interned package id.
    #[serde(with = "super::intern::sym_serde")]
    pub package: Sym,
}

/// A scan, decoded and normalised, on its way to the tracking stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanIn {
    /// The reporting carrier, `None` when unknown.
    pub carrier: Option<CarrierId>,
    /// Normalised tracking ID.
    pub tracking: PackedStr,
    /// What happened.
    pub scan_type: ScanType,
    /// When.
    pub scanned_at: Millis,
}

/// The order stage asks the tracking stage for the scans of one tracking ID in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// The asking package.
    pub package: PackageRef,
    /// Sequence number of this subscription for the package; answers echo it.
    pub seq: u32,
    /// Normalised tracking ID.
    pub tracking: PackedStr,
    /// Window start, `t - lookback`.
    pub from: Millis,
    /// Window end, `t + horizon`: the package's window closes then.
    pub to: Millis,
    /// Carriers whose scans count: the declared carrier and its hand-off partners.
    pub accepted: CarrierSet,
}

/// The order stage no longer needs the scans of a tracking ID for a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The package.
    pub package: PackageRef,
    /// The tracking ID it was subscribed to.
    pub tracking: PackedStr,
}

/// Everything that reaches the tracking stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingInput {
    /// A carrier scan.
    Scan(ScanIn),
    /// A package wants the scans of a tracking ID.
    Subscribe(Subscribe),
    /// A package no longer does.
    Unsubscribe(Unsubscribe),
}

impl TrackingInput {
    /// The normalised tracking ID this message is keyed by.
    pub fn tracking(&self) -> Decoded<'_> {
        match self {
            TrackingInput::Scan(s) => s.tracking.decode(),
            TrackingInput::Subscribe(s) => s.tracking.decode(),
            TrackingInput::Unsubscribe(u) => u.tracking.decode(),
        }
    }
}

/// What the scans of a tracking ID say for one subscription's window.
/// Facts only grow as scans arrive, so merging two answers is taking the earliest times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ScanFacts {
    /// Earliest counting physical scan in the window.
    pub first_scan: Option<Millis>,
    /// Earliest counting delivery in the window.
    pub first_delivery: Option<Millis>,
    /// A carrier that is not accepted reported a physical scan in the window
    /// (`Some(None)` when that carrier is unknown).
    pub other_carrier: Option<Option<CarrierId>>,
    /// The tracking ID has more packages than the fan-out bound: scans are not matched.
    pub overloaded: bool,
}

impl ScanFacts {
    /// Both answers together: the earliest of each time, any other carrier, any overload.
    pub fn merge(self, other: ScanFacts) -> ScanFacts {
        ScanFacts {
            first_scan: min_opt(self.first_scan, other.first_scan),
            first_delivery: min_opt(self.first_delivery, other.first_delivery),
            other_carrier: match (self.other_carrier, other.other_carrier) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            overloaded: self.overloaded || other.overloaded,
        }
    }
}

/// [`ScanFacts`] as state holds them, in 16 bytes: each time in the top 56 bits of a word
/// (biased, 0 for none), the other carrier in the low byte of the first word and the
/// overload flag in the low bit of the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PackedFacts {
    first_scan: u64,
    first_delivery: u64,
}

/// Bias added to a time before packing; decoded events (years 0001 to 9999) are far inside
/// `-BIAS..BIAS - 1`.
const FACT_BIAS: i64 = 1 << 54;

/// A time (or none) in the top 56 bits of a word.
fn pack_time(t: Option<Millis>) -> u64 {
    t.map_or(0, |t| {
        debug_assert!((-FACT_BIAS..FACT_BIAS - 1).contains(&t), "time {t}");
        ((t.clamp(-FACT_BIAS, FACT_BIAS - 2) + FACT_BIAS + 1) as u64) << 8
    })
}

fn unpack_time(word: u64) -> Option<Millis> {
    let field = (word >> 8) as i64;
    (field != 0).then(|| field - FACT_BIAS - 1)
}

/// `None`, `Some(None)` (unknown carrier) or `Some(Some(id))` as a byte: 0, 1 or `id + 2`.
fn pack_other(c: Option<Option<CarrierId>>) -> u64 {
    match c {
        None => 0,
        Some(None) => 1,
        Some(Some(id)) => {
            let code = u64::from(id) + 2;
            assert!(
                code <= 0xff,
                "carrier ids are below 64 (a CarrierSet is 64 bits)"
            );
            code
        }
    }
}

fn unpack_other(word: u64) -> Option<Option<CarrierId>> {
    match word & 0xff {
        0 => None,
        1 => Some(None),
        code => Some(Some((code - 2) as CarrierId)),
    }
}

impl PackedFacts {
    /// The tracking ID has more packages than the fan-out bound.
    pub fn overloaded(self) -> bool {
        self.first_delivery & 1 == 1
    }
}

impl Default for PackedFacts {
    fn default() -> PackedFacts {
        PackedFacts::from(ScanFacts::default())
    }
}

impl From<ScanFacts> for PackedFacts {
    fn from(f: ScanFacts) -> PackedFacts {
        PackedFacts {
            first_scan: pack_time(f.first_scan) | pack_other(f.other_carrier),
            first_delivery: pack_time(f.first_delivery) | u64::from(f.overloaded),
        }
    }
}

impl From<PackedFacts> for ScanFacts {
    fn from(f: PackedFacts) -> ScanFacts {
        ScanFacts {
            first_scan: unpack_time(f.first_scan),
            first_delivery: unpack_time(f.first_delivery),
            other_carrier: unpack_other(f.first_scan),
            overloaded: f.overloaded(),
        }
    }
}

fn min_opt(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The tracking stage's answer to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactsMsg {
    /// The subscribed package.
    pub package: PackageRef,
    /// The subscription's sequence number.
    pub seq: u32,
    /// The facts for its window so far.
    pub facts: ScanFacts,
}

/// Where a package counts in its seller's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SellerSlot {
    /// Interned marketplace.
    pub marketplace: Sym,
    /// Interned category.
    pub category: Sym,
    /// Metric date (UTC day number).
    pub day: i32,
    /// Latest status.
    pub status: Status,
}

/// One atomic change of one package's place in its seller's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SellerDelta {
    /// Interned seller id.
    pub seller: Sym,
    /// Where the package counted until now.
    pub old: Option<SellerSlot>,
    /// Where it counts from now on.
    pub new: Option<SellerSlot>,
}

/// Why an event was late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LateReason {
    /// A confirmation or cancellation for packages whose windows had closed.
    WindowClosed,
    /// A scan older than any open or future window can reach.
    ScanBeyondRetention,
    /// A scan inside the window of packages whose windows had closed.
    ScanForClosedWindow,
}

impl LateReason {
    /// A short machine-readable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LateReason::WindowClosed => "window_closed",
            LateReason::ScanBeyondRetention => "scan_beyond_retention",
            LateReason::ScanForClosedWindow => "scan_for_closed_window",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_facts_round_trip() {
        let times = [
            None,
            Some(0),
            Some(-1),
            Some(-62_135_596_800_000),
            Some(253_402_300_799_999),
        ];
        let others = [None, Some(None), Some(Some(0)), Some(Some(63))];
        for first_scan in times {
            for first_delivery in times {
                for other_carrier in others {
                    for overloaded in [false, true] {
                        let f = ScanFacts {
                            first_scan,
                            first_delivery,
                            other_carrier,
                            overloaded,
                        };
                        assert_eq!(ScanFacts::from(PackedFacts::from(f)), f);
                    }
                }
            }
        }
        assert_eq!(std::mem::size_of::<PackedFacts>(), 16);
    }
}
