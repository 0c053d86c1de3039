//! Messages the three stages exchange (design guide section 2). In one process they pass
//! through queues; the Kafka driver carries them over internal topics.

use super::intern::Sym;
use super::text::{OptMillis, ShortStr};
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
    pub order: ShortStr,
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
    pub tracking: ShortStr,
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
    pub tracking: ShortStr,
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
    pub tracking: ShortStr,
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
    pub fn tracking(&self) -> &str {
        match self {
            TrackingInput::Scan(s) => &s.tracking,
            TrackingInput::Subscribe(s) => &s.tracking,
            TrackingInput::Unsubscribe(u) => &u.tracking,
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

/// [`ScanFacts`] as state holds them: absent times as a sentinel (24 bytes instead of 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PackedFacts {
    first_scan: OptMillis,
    first_delivery: OptMillis,
    #[serde(with = "nested_option")]
    other_carrier: Option<Option<CarrierId>>,
    overloaded: bool,
}

/// `Option<Option<CarrierId>>` as one integer (0: none, 1: some unknown carrier, 2 + id),
/// so that every format keeps "some, unknown" apart from "none" (JSON would not).
mod nested_option {
    use crate::carriers::CarrierId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        v: &Option<Option<CarrierId>>,
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        ser.serialize_u16(match v {
            None => 0,
            Some(None) => 1,
            Some(Some(id)) => 2 + u16::from(*id),
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<Option<Option<CarrierId>>, D::Error> {
        Ok(match u16::deserialize(de)? {
            0 => None,
            1 => Some(None),
            n => Some(CarrierId::try_from(n - 2).ok()),
        })
    }
}

impl PackedFacts {
    /// The tracking ID has more packages than the fan-out bound.
    pub fn overloaded(self) -> bool {
        self.overloaded
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
            first_scan: OptMillis::new(f.first_scan),
            first_delivery: OptMillis::new(f.first_delivery),
            other_carrier: f.other_carrier,
            overloaded: f.overloaded,
        }
    }
}

impl From<PackedFacts> for ScanFacts {
    fn from(f: PackedFacts) -> ScanFacts {
        ScanFacts {
            first_scan: f.first_scan.get(),
            first_delivery: f.first_delivery.get(),
            other_carrier: f.other_carrier,
            overloaded: f.overloaded,
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
