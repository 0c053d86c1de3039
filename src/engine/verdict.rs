//! The verdict of a package: every rule of contract section 4, in order, in one place.

use super::messages::ScanFacts;
use crate::carriers::{CarrierId, CarrierRegistry, FormatMatch};
use crate::config::EngineConfig;
use crate::event::{Millis, ShipMethod};
use crate::records::{Reason, Status, Warning};
use crate::tracking_id::TrackingId;

/// A small set of reasons, iterated in contract order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ReasonSet(u16);

impl ReasonSet {
    /// Adds a reason.
    pub fn insert(&mut self, r: Reason) {
        self.0 |= 1 << r as u16;
    }

    /// True when the reason is in the set.
    pub fn contains(self, r: Reason) -> bool {
        self.0 & (1 << r as u16) != 0
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The reasons in contract order.
    pub fn iter(self) -> impl Iterator<Item = Reason> {
        Reason::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// The raw bits, for compact state.
    pub fn bits(self) -> u16 {
        self.0
    }

    /// The first late-confirmation reason, if any.
    pub fn first_late(self) -> Option<Reason> {
        self.iter().find(|r| r.is_late_confirmation())
    }
}

/// A small set of warnings.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct WarningSet(u8);

impl WarningSet {
    /// Adds a warning.
    pub fn insert(&mut self, w: Warning) {
        self.0 |= 1 << w as u8;
    }

    /// The warnings, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Warning> {
        [Warning::NoScanYet, Warning::TrackingIdOverloaded]
            .into_iter()
            .filter(move |w| self.0 & (1 << *w as u8) != 0)
    }
}

/// What the rules before the join decide from the confirmation alone (rules 1-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Precheck {
    /// Excluded or invalid without looking at scans.
    Decided(Status, Reason),
    /// Rule 6: the scans decide.
    Join {
        /// The ID passes no format of the declared family but a check-digit format of
        /// another integrated carrier.
        format_mismatch: bool,
    },
}

/// The verdict of a package at one event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Status.
    pub status: Status,
    /// Reasons, in contract order.
    pub reasons: ReasonSet,
    /// Warnings.
    pub warnings: WarningSet,
    /// The window has closed.
    pub is_final: bool,
}

/// Everything rule 6 looks at for one package.
#[derive(Debug, Clone, Copy)]
pub struct JoinInput {
    /// The current confirmation's time *t*.
    pub t: Millis,
    /// Its promised delivery time.
    pub promised_delivery_at: Option<Millis>,
    /// What the scans in the window say.
    pub facts: ScanFacts,
    /// The ID's format evidence for `CARRIER_MISMATCH`.
    pub format_mismatch: bool,
}

/// Decides a package's verdict. `cancelled` is rule 1; `precheck` rules 2-5; `join` rule 6;
/// `now` is event time (the watermark, or `--as-of` in replay). `answered` says whether the
/// package holds the tracking stage's answer for its current subscription (or needs none):
/// the window cannot close before it does.
pub fn decide(
    cfg: &EngineConfig,
    cancelled: bool,
    precheck: Precheck,
    join: &JoinInput,
    now: Millis,
    answered: bool,
) -> Verdict {
    let closed = answered && now >= join.t.saturating_add(cfg.horizon);
    let mut reasons = ReasonSet::default();
    let status = if cancelled {
        reasons.insert(Reason::Cancelled);
        Status::Excluded
    } else {
        match precheck {
            Precheck::Decided(status, reason) => {
                reasons.insert(reason);
                status
            }
            Precheck::Join { .. } => join_status(join, closed, &mut reasons),
        }
    };
    let mut warnings = WarningSet::default();
    if status == Status::Pending
        && now >= join.t.saturating_add(cfg.no_scan_warning_after)
        && join.facts.first_scan.is_none()
    {
        warnings.insert(Warning::NoScanYet);
    }
    if join.facts.overloaded && !cancelled && matches!(precheck, Precheck::Join { .. }) {
        warnings.insert(Warning::TrackingIdOverloaded);
    }
    Verdict {
        status,
        reasons,
        warnings,
        is_final: closed,
    }
}

/// Rule 6: the join decides.
fn join_status(j: &JoinInput, closed: bool, reasons: &mut ReasonSet) -> Status {
    if j.facts.first_delivery.is_some_and(|d| d < j.t) {
        reasons.insert(Reason::ConfirmedAfterDelivery);
    }
    if j.promised_delivery_at.is_some_and(|p| j.t > p) {
        reasons.insert(Reason::ConfirmedAfterDeliveryDate);
    }
    if j.facts.first_scan.is_none() {
        if j.facts.other_carrier.is_some() || j.format_mismatch {
            reasons.insert(Reason::CarrierMismatch);
        } else if closed {
            reasons.insert(Reason::NoCarrierScan);
        }
    }
    if !reasons.is_empty() {
        Status::Invalid
    } else if j.facts.first_scan.is_some() {
        Status::Valid
    } else {
        Status::Pending
    }
}

/// What a confirmation says, as far as rules 2-5 look at it.
#[derive(Debug, Clone, Copy)]
pub struct PrecheckInput<'a> {
    /// How it was sent.
    pub ship_method: ShipMethod,
    /// The resolved carrier, `None` when unknown.
    pub carrier: Option<CarrierId>,
    /// Order value in cents, if given.
    pub package_value_cents: Option<i64>,
    /// The normalised tracking ID.
    pub tracking: &'a TrackingId<'a>,
    /// What the formats say about the normalised ID (`analyze`; default when it is not one),
    /// computed once by the caller, which needs it too.
    pub formats: &'a FormatMatch,
}

/// Rules 2-5: exemptions, blank and malformed IDs, unsupported carriers.
pub fn precheck(carriers: &CarrierRegistry, c: &PrecheckInput<'_>) -> Precheck {
    let integrated = c.carrier.is_some_and(|id| carriers.is_integrated(id));
    let is_usps = c.carrier.is_some() && c.carrier == carriers.by_code("USPS");
    match c.ship_method {
        ShipMethod::Digital => return Precheck::Decided(Status::Excluded, Reason::Digital),
        ShipMethod::Letter if is_usps && c.package_value_cents.is_some_and(|v| v < 1000) => {
            return Precheck::Decided(Status::Excluded, Reason::SmallEnvelope)
        }
        ShipMethod::Freight if !integrated => {
            return Precheck::Decided(Status::Excluded, Reason::FreightNonIntegrated)
        }
        _ => {}
    }
    match c.tracking {
        TrackingId::Blank => Precheck::Decided(Status::Invalid, Reason::MissingTracking),
        TrackingId::Malformed { .. } => {
            Precheck::Decided(Status::Invalid, Reason::InvalidCharacters)
        }
        TrackingId::Normalized(_) => match c.carrier {
            Some(carrier) if integrated => Precheck::Join {
                format_mismatch: carriers.format_mismatch(carrier, c.formats),
            },
            _ => Precheck::Decided(Status::Invalid, Reason::UnsupportedCarrier),
        },
    }
}
