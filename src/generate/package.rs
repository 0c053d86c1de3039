//! One package's script: its confirmations, cancellation and carrier scans, planned at once
//! as a short list of timed steps, emitted one at a time.

use super::carrier::{self, Carrier, CA_CITIES, FREIGHT, NOT_INTEGRATED, UNKNOWN, US_CITIES};
use super::garble;
use super::ids::{self, IdMaker};
use super::mix::Scenario;
use super::rng::Rng;
use super::seller::Seller;
use super::PackageTruth;
use crate::event::{
    Action, Confirmation, Event, Millis, Scan, ScanType, ShipMethod, DAY_MS, HOUR_MS,
};

const MINUTE_MS: Millis = 60_000;
/// No location on a step.
const NO_LOC: u8 = u8::MAX;

/// What a step emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    /// A CONFIRM with the given version of carrier and tracking ID.
    Confirm(u8),
    /// A CANCEL of the order.
    Cancel,
    /// A scan reported by the package's carrier (`false`) or its last-mile carrier (`true`).
    Scan(ScanType, bool),
}

/// One timed step of a package's script.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub(crate) at: Millis,
    pub(crate) kind: StepKind,
    pub(crate) loc: u8,
}

/// A step as a live package keeps it: 8 bytes, time relative to the package's birth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PackedStep {
    /// Milliseconds after the birth (a script lasts weeks at most: well below 49 days).
    dt: u32,
    /// 0-8 scan type (bit 4: last mile), 32 + n: CONFIRM of version n, 64: CANCEL.
    code: u8,
    loc: u8,
}

const CODE_LAST_MILE: u8 = 16;
const CODE_CONFIRM: u8 = 32;
const CODE_CANCEL: u8 = 64;

impl PackedStep {
    fn pack(step: &Step, birth: Millis) -> PackedStep {
        let dt = u32::try_from((step.at - birth).max(0)).unwrap_or(u32::MAX);
        let code = match step.kind {
            StepKind::Confirm(v) => CODE_CONFIRM + v.min(31),
            StepKind::Cancel => CODE_CANCEL,
            StepKind::Scan(ty, last) => {
                let i = ScanType::ALL.iter().position(|t| *t == ty).unwrap_or(0) as u8;
                i | if last { CODE_LAST_MILE } else { 0 }
            }
        };
        PackedStep {
            dt,
            code,
            loc: step.loc,
        }
    }

    fn unpack(self, birth: Millis) -> Step {
        let kind = match self.code {
            CODE_CANCEL => StepKind::Cancel,
            c if c >= CODE_CONFIRM => StepKind::Confirm(c - CODE_CONFIRM),
            c => {
                let ty = ScanType::ALL.get(usize::from(c & 0x0F)).copied();
                StepKind::Scan(ty.unwrap_or(ScanType::InTransit), c & CODE_LAST_MILE != 0)
            }
        };
        Step {
            at: birth + Millis::from(self.dt),
            kind,
            loc: self.loc,
        }
    }
}

/// Carrier and tracking ID as the seller entered them in one CONFIRM.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub(crate) carrier: &'static str,
    /// `None`: the ID the carrier scans (the common case, kept once).
    pub(crate) tracking: Option<Box<str>>,
}

/// Everything needed to plan one package.
pub(crate) struct Blueprint<'a> {
    pub(crate) serial: u64,
    pub(crate) seller_index: u32,
    pub(crate) seller: &'a Seller,
    pub(crate) order_serial: u64,
    pub(crate) package_no: u8,
    pub(crate) canada: bool,
    pub(crate) category: u16,
    pub(crate) birth: Millis,
    pub(crate) scenario: Scenario,
    /// Whether this package carries the order's CANCEL (the first package of the order).
    pub(crate) emits_cancel: bool,
    /// For recycled or reused IDs: the carrier and ID of the earlier package.
    pub(crate) old_id: Option<(Carrier, String)>,
}

/// A live package: its identity, its versions and the steps left to emit.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    serial: u64,
    seller: u32,
    order_serial: u64,
    package_no: u8,
    canada: bool,
    category: u16,
    ship: ShipMethod,
    value_cents: Option<i64>,
    promised: Option<Millis>,
    versions: Box<[Version]>,
    carrier: Option<Carrier>,
    scanned_id: Box<str>,
    birth: Millis,
    steps: Box<[PackedStep]>,
    next: usize,
}

/// Run-wide context for turning steps into events.
pub(crate) struct EmitContext<'a> {
    pub(crate) sellers: &'a [Seller],
    pub(crate) categories: &'a [String],
    pub(crate) event_salt: u64,
    pub(crate) order_salt: u64,
}

impl Package {
    /// The carrier that scans the package (`None` when nobody reports scans).
    pub(crate) fn carrier(&self) -> Option<Carrier> {
        self.carrier
    }

    /// The tracking ID the carrier scans.
    pub(crate) fn scanned_id(&self) -> &str {
        &self.scanned_id
    }

    /// Which package this is, and what was meant to happen to it.
    pub(crate) fn truth(&self, cx: &EmitContext<'_>, scenario: Scenario) -> PackageTruth {
        let c = self.order_fields(cx, 0);
        PackageTruth {
            seller_id: c.seller_id,
            order_id: c.order_id,
            package_id: c.package_id,
            marketplace: c.marketplace,
            scenario,
        }
    }

    /// Time of the next step, if any is left.
    pub(crate) fn next_time(&self) -> Option<Millis> {
        self.step(self.next).map(|s| s.at)
    }

    fn step(&self, i: usize) -> Option<Step> {
        self.steps.get(i).map(|s| s.unpack(self.birth))
    }

    /// Emits the next step as an event and moves on.
    pub(crate) fn emit(&mut self, cx: &EmitContext<'_>) -> Option<Event> {
        let step = self.step(self.next)?;
        let key = (self.serial << 8) | (self.next as u64 & 0xFF);
        self.next += 1;
        let event_id = ids::event_id(key, cx.event_salt);
        Some(match step.kind {
            StepKind::Confirm(v) => Event::Confirmation(self.confirmation(cx, event_id, step, v)),
            StepKind::Cancel => Event::Confirmation(self.cancellation(cx, event_id, step)),
            StepKind::Scan(ty, last) => Event::Scan(self.scan(event_id, step, ty, last)),
        })
    }

    fn confirmation(&self, cx: &EmitContext<'_>, id: String, step: Step, v: u8) -> Confirmation {
        let version = self.versions.get(usize::from(v));
        Confirmation {
            event_id: id,
            action: Action::Confirm,
            carrier: version.map(|v| v.carrier.to_string()).unwrap_or_default(),
            tracking_id: match version.map(|v| &v.tracking) {
                Some(Some(t)) => t.to_string(),
                Some(None) => self.scanned_id.to_string(),
                None => String::new(),
            },
            ship_method: self.ship,
            package_value_cents: self.value_cents,
            promised_delivery_at: self.promised,
            ..self.order_fields(cx, step.at)
        }
    }

    fn cancellation(&self, cx: &EmitContext<'_>, id: String, step: Step) -> Confirmation {
        Confirmation {
            event_id: id,
            action: Action::Cancel,
            package_id: String::new(),
            ..self.order_fields(cx, step.at)
        }
    }

    /// The fields every confirmation event of the package shares.
    fn order_fields(&self, cx: &EmitContext<'_>, at: Millis) -> Confirmation {
        let seller = cx.sellers.get(self.seller as usize);
        Confirmation {
            event_id: String::new(),
            action: Action::Confirm,
            seller_id: seller.map(|s| s.id.clone()).unwrap_or_default(),
            order_id: ids::order_id(self.order_serial, cx.order_salt, self.canada),
            package_id: match self.package_no {
                0 => String::new(),
                n => n.to_string(),
            },
            marketplace: if self.canada { "CA" } else { "US" }.to_string(),
            category: cx
                .categories
                .get(usize::from(self.category))
                .cloned()
                .unwrap_or_else(|| "UNCATEGORIZED".to_string()),
            carrier: String::new(),
            tracking_id: String::new(),
            ship_method: ShipMethod::Parcel,
            package_value_cents: None,
            confirmed_at: at,
            promised_delivery_at: None,
        }
    }

    fn scan(&self, id: String, step: Step, ty: ScanType, last_mile: bool) -> Scan {
        let carrier = self.carrier.unwrap_or(Carrier::Usps);
        let reporter = if last_mile {
            carrier.last_mile()
        } else {
            carrier
        };
        Scan {
            event_id: id,
            carrier: reporter.code().to_string(),
            tracking_id: self.scanned_id.to_string(),
            scan_type: ty,
            scanned_at: step.at,
            location: self.location(step.loc),
        }
    }

    fn location(&self, loc: u8) -> Option<String> {
        let cities: &[&str] = if self.canada { &CA_CITIES } else { &US_CITIES };
        match loc {
            NO_LOC => None,
            l => cities
                .get(usize::from(l) % cities.len())
                .map(|s| s.to_string()),
        }
    }
}

/// The script being planned.
struct Plan<'a> {
    bp: &'a Blueprint<'a>,
    rng: Rng,
    ship: ShipMethod,
    value_cents: Option<i64>,
    promised: Option<Millis>,
    versions: Vec<Version>,
    carrier: Option<Carrier>,
    scanned_id: String,
    steps: Vec<Step>,
    origin: u8,
    dest: u8,
}

/// Plans a package from its blueprint; every step is at or after `bp.birth`.
pub(crate) fn plan(bp: &Blueprint<'_>, ids: &IdMaker, seed: u64) -> Package {
    let mut rng = Rng::stream(seed, bp.serial);
    let carrier = match &bp.old_id {
        Some((c, _)) => *c,
        None => bp.seller.carrier(&mut rng, bp.canada),
    };
    let scanned_id = match (&bp.old_id, bp.scenario) {
        (Some((_, id)), Scenario::RecycledId) => id.clone(),
        _ => carrier::make_id(ids, carrier, bp.serial, &bp.seller.shipper, &mut rng),
    };
    let cities = if bp.canada {
        CA_CITIES.len()
    } else {
        US_CITIES.len()
    } as u64;
    let mut p = Plan {
        bp,
        ship: ShipMethod::Parcel,
        value_cents: draw_value(&mut rng),
        promised: None,
        versions: Vec::with_capacity(1),
        carrier: Some(carrier),
        scanned_id,
        steps: Vec::with_capacity(10),
        origin: if bp.canada {
            rng.below(cities) as u8
        } else {
            bp.seller.origin
        },
        dest: rng.below(cities) as u8,
        rng,
    };
    p.script(ids);
    p.finish()
}

/// Order value incl. shipping, log-uniform between $8 and $300; unknown for 5% of orders.
fn draw_value(rng: &mut Rng) -> Option<i64> {
    if rng.chance(0.05) {
        return None;
    }
    let x = (800f64.ln() + rng.unit() * (30_000f64.ln() - 800f64.ln())).exp();
    Some(x as i64)
}

/// Moves a delivery in the US night (02:00-14:00 UTC) to the afternoon (12 hours later).
fn daytime(t: Millis) -> Millis {
    let hour = t.rem_euclid(DAY_MS) / HOUR_MS;
    if (2..14).contains(&hour) {
        t + 12 * HOUR_MS
    } else {
        t
    }
}

/// The promised delivery date: `days` after `a`, at the end of that (US) day.
fn promise_after(a: Millis, days: i64) -> Millis {
    (a + days * DAY_MS).div_euclid(DAY_MS) * DAY_MS + DAY_MS + 4 * HOUR_MS
}

impl Plan<'_> {
    fn finish(mut self) -> Package {
        self.steps.sort_by_key(|s| s.at);
        let birth = self.steps.first().map_or(self.bp.birth, |s| s.at);
        let steps = self.steps.iter().map(|s| PackedStep::pack(s, birth));
        Package {
            serial: self.bp.serial,
            seller: self.bp.seller_index,
            order_serial: self.bp.order_serial,
            package_no: self.bp.package_no,
            canada: self.bp.canada,
            category: self.bp.category,
            ship: self.ship,
            value_cents: self.value_cents,
            promised: self.promised,
            versions: self.versions.into_boxed_slice(),
            carrier: self.carrier,
            scanned_id: self.scanned_id.into_boxed_str(),
            birth,
            steps: steps.collect(),
            next: 0,
        }
    }

    fn real(&self) -> Carrier {
        self.carrier.unwrap_or(Carrier::Usps)
    }

    fn spelling(&self, c: Carrier) -> &'static str {
        self.bp.seller.spelling(c)
    }

    fn script(&mut self, ids: &IdMaker) {
        use Scenario as S;
        let b = self.bp.birth;
        match self.bp.scenario {
            S::Valid | S::RecycledId => self.standard(b, Entry::Real),
            S::MissingTracking => self.standard(b, Entry::Blank),
            S::InvalidCharactersFixable => self.standard(b, Entry::Fixable),
            S::InvalidCharactersOther => self.standard(b, Entry::Other),
            S::WrongCarrier => self.standard(b, Entry::WrongCarrier),
            S::PlaceholderId => self.standard(b, Entry::Placeholder),
            S::ReusedOldId => self.standard(b, Entry::Old),
            S::CorrectedTracking => self.corrected(b, true),
            S::CorrectedCarrier => self.corrected(b, false),
            S::NoScan => self.unscanned(b, false),
            S::InfoReceivedOnly => self.unscanned(b, true),
            S::NotIntegratedCarrier => self.unsupported(b, ids, &NOT_INTEGRATED),
            S::UnknownCarrier => self.unsupported(b, ids, &UNKNOWN),
            S::ConfirmedAfterDelivery => self.after_delivery(b),
            S::ConfirmedAfterPromise => self.after_promise(b),
            S::Digital => self.digital(b),
            S::SmallEnvelope => self.small_envelope(b),
            S::FreightNonIntegrated => self.freight(b, ids),
            S::CancelledBeforeConfirm => self.cancelled_before(b),
            S::CancelledAfterConfirm => self.cancelled_after(b),
        }
    }

    fn step(&mut self, at: Millis, kind: StepKind, loc: u8) {
        self.steps.push(Step { at, kind, loc });
    }

    fn scan(&mut self, at: Millis, ty: ScanType, last_mile: bool, loc: u8) {
        self.step(at, StepKind::Scan(ty, last_mile), loc);
    }

    fn confirm(&mut self, at: Millis, carrier: &'static str, tracking: String) {
        let v = self.versions.len().min(255) as u8;
        let tracking = (tracking != self.scanned_id).then(|| tracking.into_boxed_str());
        self.versions.push(Version { carrier, tracking });
        self.step(at, StepKind::Confirm(v), NO_LOC);
    }

    fn cancel(&mut self, at: Millis) {
        if self.bp.emits_cancel {
            self.step(at, StepKind::Cancel, NO_LOC);
        }
    }

    /// The label is created at `b` (INFO_RECEIVED); the seller confirms minutes to hours later.
    fn label(&mut self, b: Millis) -> Millis {
        self.scan(b, ScanType::InfoReceived, false, NO_LOC);
        b + self.rng.range(5 * MINUTE_MS, 4 * HOUR_MS)
    }

    /// Sets the promised date after a confirmation at `a` and ships the package from `a`.
    fn promise_and_ship(&mut self, a: Millis) {
        let transit = self.real().transit_days(&mut self.rng);
        let promised = promise_after(a, (transit + 1 + self.rng.range(0, 1)).clamp(2, 6));
        if !self.rng.chance(0.03) {
            self.promised = Some(promised);
        }
        let accept = a + self.rng.range(HOUR_MS, 24 * HOUR_MS);
        let deliver = self.delivery_time(accept, transit, promised);
        self.lifecycle(accept, deliver, false);
    }

    /// On time (before the promise) for 92% of packages, late by up to 2 days otherwise.
    fn delivery_time(&mut self, accept: Millis, transit: i64, promised: Millis) -> Millis {
        let earliest = accept + 10 * HOUR_MS;
        if self.rng.chance(0.08) {
            let late = promised + self.rng.range(2 * HOUR_MS, 48 * HOUR_MS);
            return daytime(late.max(earliest));
        }
        let target = accept + transit * DAY_MS + self.rng.range(-4 * HOUR_MS, 4 * HOUR_MS);
        let latest = promised - self.rng.range(HOUR_MS, 6 * HOUR_MS);
        daytime(target.min(latest).max(earliest))
    }

    /// Physical scans from acceptance to delivery (or a return), with the usual accidents.
    /// `plain` = accepted, in transit, out for delivery, delivered: nothing else.
    fn lifecycle(&mut self, accept: Millis, deliver: Millis, plain: bool) {
        let handoff = self.real().last_mile() != self.real();
        let mut deliver = deliver;
        self.scan(accept, ScanType::Accepted, false, self.origin);
        let hops = self.rng.range(1, 3).max(if handoff { 2 } else { 1 });
        if !plain && self.rng.chance(0.02) {
            let mid = accept + (deliver - accept) / 2;
            let hub = self.hub();
            self.scan(mid, ScanType::Exception, false, hub);
            deliver += DAY_MS;
        }
        let lead = self.rng.range(HOUR_MS, 6 * HOUR_MS);
        let ofd = deliver - lead.min((deliver - accept) / 3);
        let gap = (ofd - accept) / (hops + 1);
        for k in 1..=hops {
            let at = accept + gap * k + self.rng.range(-gap * 2 / 5, gap * 2 / 5);
            let hub = self.hub();
            self.scan(at, ScanType::InTransit, handoff && k > 1, hub);
        }
        self.scan(ofd, ScanType::OutForDelivery, handoff, self.dest);
        self.last_mile(deliver, handoff, plain);
    }

    /// Delivered, or attempted then delivered, picked up, or returned to sender.
    fn last_mile(&mut self, at: Millis, handoff: bool, plain: bool) {
        let d = self.dest;
        let roll = if plain { 0 } else { self.rng.below(1000) };
        if roll < 935 {
            return self.scan(at, ScanType::Delivered, handoff, d);
        }
        self.scan(at, ScanType::DeliveryAttempted, handoff, d);
        let next = at + DAY_MS + self.rng.range(-2 * HOUR_MS, 2 * HOUR_MS);
        if roll < 970 {
            self.scan(next - 3 * HOUR_MS, ScanType::OutForDelivery, handoff, d);
            return self.scan(next, ScanType::Delivered, handoff, d);
        }
        self.scan(at + 3 * HOUR_MS, ScanType::AvailableForPickup, handoff, d);
        if roll < 990 {
            let picked = at + self.rng.range(DAY_MS, 3 * DAY_MS);
            return self.scan(picked, ScanType::Delivered, handoff, d);
        }
        let back = at + self.rng.range(2 * DAY_MS, 4 * DAY_MS);
        self.scan(back, ScanType::ReturnedToSender, handoff, d);
    }

    fn hub(&mut self) -> u8 {
        let n = if self.bp.canada {
            CA_CITIES.len()
        } else {
            US_CITIES.len()
        };
        self.rng.below(n as u64) as u8
    }

    /// What the seller types as tracking ID (and carrier) for the scenario.
    fn entry(&mut self, e: Entry) -> (&'static str, String) {
        let real = self.real();
        let id = self.scanned_id.clone();
        match e {
            Entry::Real => (self.spelling(real), id),
            Entry::Blank => {
                let blank = if self.rng.chance(0.7) { "" } else { "  " };
                (self.spelling(real), blank.to_string())
            }
            Entry::Fixable => (self.spelling(real), garble::fixable(&id, &mut self.rng)),
            Entry::Other => (self.spelling(real), garble::other(&id, &mut self.rng)),
            Entry::WrongCarrier => {
                let wrong = real.confusable(&mut self.rng);
                (self.spelling(wrong), id)
            }
            Entry::Placeholder => {
                let ph = self
                    .rng
                    .pick(&ids::PLACEHOLDERS)
                    .copied()
                    .unwrap_or("123456789");
                (self.spelling(real), ph.to_string())
            }
            Entry::Old => {
                let old = self.bp.old_id.as_ref().map(|(_, id)| id.clone());
                (self.spelling(real), old.unwrap_or(id))
            }
        }
    }

    /// Label, confirmation with the given entry, shipment.
    fn standard(&mut self, b: Millis, e: Entry) {
        let a = self.label(b);
        let (carrier, tracking) = self.entry(e);
        self.confirm(a, carrier, tracking);
        self.promise_and_ship(a);
    }

    /// A first CONFIRM with a mistake, corrected by a second one a few hours later.
    fn corrected(&mut self, b: Millis, tracking: bool) {
        let a = self.label(b);
        let first = match (tracking, self.rng.below(3)) {
            (true, 0) => Entry::Blank,
            (true, 1) => Entry::Fixable,
            (true, _) => Entry::Other,
            (false, _) => Entry::WrongCarrier,
        };
        let (carrier, mut id) = self.entry(first);
        if !tracking && self.rng.chance(0.25) {
            // Both wrong at first: the carrier and the ID's separators are fixed together.
            id = garble::fixable(&id, &mut self.rng);
        }
        self.confirm(a, carrier, id);
        let fix_at = a + self.rng.range(HOUR_MS, 10 * HOUR_MS);
        let (carrier, id) = self.entry(Entry::Real);
        self.confirm(fix_at, carrier, id);
        self.promise_and_ship(a);
    }

    /// Confirmed, but never physically scanned (maybe a label was created).
    fn unscanned(&mut self, b: Millis, label: bool) {
        let a = if label { self.label(b) } else { b };
        let (carrier, id) = self.entry(Entry::Real);
        self.confirm(a, carrier, id);
        let promised = promise_after(a, self.rng.range(2, 6));
        self.promised = Some(promised);
    }

    /// A carrier vtrack is not integrated with, or does not know: nobody reports scans.
    fn unsupported(&mut self, b: Millis, ids: &IdMaker, names: &[&'static str]) {
        let name = self.rng.pick(names).copied().unwrap_or("Other");
        let id = carrier::other_id(ids, name, self.bp.serial);
        self.carrier = None;
        self.scanned_id = id.clone();
        self.confirm(b, name, id);
        self.promised = Some(promise_after(b, self.rng.range(3, 6)));
    }

    /// Shipped and delivered first; the seller confirms hours after the DELIVERED scan.
    fn after_delivery(&mut self, b: Millis) {
        self.scan(b, ScanType::InfoReceived, false, NO_LOC);
        let accept = b + self.rng.range(HOUR_MS, 20 * HOUR_MS);
        let transit = self.real().transit_days(&mut self.rng);
        let deliver = accept + transit * DAY_MS + self.rng.range(-4 * HOUR_MS, 4 * HOUR_MS);
        let deliver = daytime(deliver.max(accept + 10 * HOUR_MS));
        self.lifecycle(accept, deliver, true);
        let a = deliver + self.rng.range(2 * HOUR_MS, 36 * HOUR_MS);
        let (carrier, id) = self.entry(Entry::Real);
        self.confirm(a, carrier, id);
        self.promised = Some(promise_after(a, self.rng.range(1, 3)));
    }

    /// The seller ships and confirms after the promised delivery date has passed.
    fn after_promise(&mut self, b: Millis) {
        let a = self.label(b);
        let (carrier, id) = self.entry(Entry::Real);
        self.confirm(a, carrier, id);
        let accept = a + self.rng.range(HOUR_MS, 24 * HOUR_MS);
        let transit = self.real().transit_days(&mut self.rng);
        let deliver = daytime(accept + transit * DAY_MS);
        self.lifecycle(accept, deliver, false);
        self.promised = Some(a - self.rng.range(2 * HOUR_MS, 72 * HOUR_MS));
    }

    /// A digital product: no carrier, usually no tracking.
    fn digital(&mut self, b: Millis) {
        self.ship = ShipMethod::Digital;
        self.carrier = None;
        let carrier = *self
            .rng
            .pick(&["", "Email", "Digital Delivery"])
            .unwrap_or(&"");
        let tracking = *self.rng.pick(&["", "", "N/A", "DIGITAL"]).unwrap_or(&"");
        self.confirm(b, carrier, tracking.to_string());
        self.value_cents = Some(self.rng.range(99, 9_999));
    }

    /// A USPS envelope under $10: mostly untracked, sometimes with a scanned IMpb number.
    fn small_envelope(&mut self, b: Millis) {
        self.ship = ShipMethod::Letter;
        self.carrier = Some(Carrier::Usps);
        self.value_cents = Some(self.rng.range(99, 999));
        let spelled = self.spelling(Carrier::Usps);
        if self.rng.chance(0.7) {
            self.confirm(b, spelled, String::new());
            return;
        }
        let a = self.label(b);
        self.confirm(a, spelled, self.scanned_id.clone());
        self.promise_and_ship(a);
    }

    /// Freight with a carrier that is not integrated (or unknown): no scans.
    fn freight(&mut self, b: Millis, ids: &IdMaker) {
        self.ship = ShipMethod::Freight;
        self.carrier = None;
        let name = self.rng.pick(&FREIGHT).copied().unwrap_or("Estes");
        self.confirm(b, name, carrier::other_id(ids, name, self.bp.serial));
        self.value_cents = Some(self.rng.range(50_000, 500_000));
        self.promised = Some(promise_after(b, self.rng.range(4, 10)));
    }

    /// Cancelled, then confirmed anyway by mistake; half of them ship.
    fn cancelled_before(&mut self, b: Millis) {
        self.cancel(b);
        let a = b + self.rng.range(30 * MINUTE_MS, 12 * HOUR_MS);
        if self.rng.chance(0.5) {
            let label = a - self.rng.range(0, 20 * MINUTE_MS).min(a - b);
            self.scan(label, ScanType::InfoReceived, false, NO_LOC);
            let (carrier, id) = self.entry(Entry::Real);
            self.confirm(a, carrier, id);
            self.promise_and_ship(a);
        } else {
            let (carrier, id) = self.entry(Entry::Real);
            self.confirm(a, carrier, id);
        }
    }

    /// Confirmed, then cancelled: the label is voided, or it was too late and it ships.
    fn cancelled_after(&mut self, b: Millis) {
        let a = self.label(b);
        let (carrier, id) = self.entry(Entry::Real);
        self.confirm(a, carrier, id);
        let cancel_at = a + self.rng.range(HOUR_MS, 36 * HOUR_MS);
        self.cancel(cancel_at);
        if self.rng.chance(0.4) {
            self.promise_and_ship(a);
        }
    }
}

/// What the seller enters in a CONFIRM.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Real,
    Blank,
    Fixable,
    Other,
    WrongCarrier,
    Placeholder,
    Old,
}
