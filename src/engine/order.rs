//! The order stage: every package's current confirmation, scan facts and verdict, keyed by
//! seller/order. It is the one place a package's verdict lives (design guide section 2).

use super::explain;
use super::few::Few;
use super::intern::{Interner, Labels, Sym};
use super::messages::{
    FactsMsg, PackageRef, PackedFacts, ScanFacts, SellerDelta, SellerSlot, Subscribe,
    TrackingInput, Unsubscribe,
};
use super::slab::Slab;
use super::text::{EventId, OptMillis, PackedStr};
use super::timers::Timers;
use super::verdict::{decide, precheck, JoinInput, Precheck, PrecheckInput, Verdict};
use crate::carriers::{CarrierId, CarrierRegistry, CarrierSet, FormatMatch};
use crate::config::EngineConfig;
use crate::event::{Action, Confirmation, Millis};
use crate::records::{LateConfirmationRecord, Status, VerdictRecord};
use crate::tracking_id::{normalize, TrackingId};
use hashbrown::HashTable;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Index of an order in the stage's arena.
type OrderIdx = u32;

/// A package's current confirmation, reduced to what the rules and outputs need. The
/// carrier as entered is interned (sellers spell a handful of carriers in a handful of ways).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Current {
    confirmed_at: Millis,
    promised_delivery_at: OptMillis,
    /// Only compared: the tie-break between confirmations of the same time, and duplicates.
    event_id: EventId,
    /// The tracking ID as entered.
    tracking: PackedStr,
    /// Carrier as entered, marketplace and category: [`super::intern::Labels`].
    #[serde(with = "super::intern::labels_serde")]
    labels: Sym,
    carrier: Option<CarrierId>,
    precheck: Precheck,
}

/// [`Package::detected`] when the carriers detected are derived again from the ID.
const DERIVE_DETECTED: u32 = u32::MAX;

impl Current {
    /// True when confirmation `c` is newer than this one: greater `(confirmed_at, event_id)`.
    fn older_than(&self, c: &Confirmation) -> bool {
        match c.confirmed_at.cmp(&self.confirmed_at) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => self.event_id.less_than(&c.event_id),
        }
    }
}

/// The tracking stage subscription a package needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    tracking: PackedStr,
    from: Millis,
    to: Millis,
    accepted: CarrierSet,
}

/// One package's state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Package {
    #[serde(with = "super::intern::sym_serde")]
    package: Sym,
    current: Current,
    /// Sequence number of the current subscription.
    seq: u32,
    /// The carriers whose formats the current ID passes ([`CarrierRegistry::detected_set`])
    /// when all of them have an id below 32; [`DERIVE_DETECTED`] when not: then they are
    /// derived again from the ID.
    detected: u32,
    facts: PackedFacts,
    /// Versions written so far: the last record's revision.
    revision: u32,
    /// The last verdict decided.
    verdict: Option<Verdict>,
    /// [`ANSWERED`], [`LATE_CONFIRMATION_SENT`], [`FINAL_BEFORE_CANCEL`].
    flags: u8,
}

/// [`Package::flags`]: the package holds the answer for its current subscription (or needs
/// none).
const ANSWERED: u8 = 1;
/// [`Package::flags`]: its late-confirmation record was written.
const LATE_CONFIRMATION_SENT: u8 = 2;
/// [`Package::flags`]: the order's cancellation arrived after this package's verdict was
/// final, so it does not apply to this confirmation (a new confirmation reopens the package
/// and clears it).
const FINAL_BEFORE_CANCEL: u8 = 4;

impl Package {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// Rule 1 applies to this package.
    fn cancelled(&self, order_cancelled: bool) -> bool {
        order_cancelled && !self.has(FINAL_BEFORE_CANCEL)
    }

    /// The scan facts, unpacked.
    fn facts(&self) -> ScanFacts {
        self.facts.into()
    }

    /// Where it counts in the seller's numbers: derived from the current confirmation and
    /// the last verdict (both always change together, in `emit_changes`).
    fn slot(&self, syms: &Interner) -> Option<SellerSlot> {
        self.verdict.map(|v| slot_of(&self.current, v.status, syms))
    }
}

/// One order: its key, its cancellation and its packages. The default is a removed slot of
/// the arena (no timer, no package).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Order {
    #[serde(with = "super::intern::sym_serde")]
    seller: Sym,
    /// The UTC day of the order's earliest CANCEL, [`NOT_CANCELLED`] when none: for the rules
    /// a cancellation is a flag; its day tells expiry when an order holding only a CANCEL
    /// may go.
    cancel_day: i32,
    /// The time of this order's pending timer, if one is scheduled.
    timer: OptMillis,
    id: PackedStr,
    packages: Few<Package>,
}

/// [`Order::cancel_day`] of an order without a CANCEL.
const NOT_CANCELLED: i32 = i32::MIN;

impl Default for Order {
    fn default() -> Self {
        Order {
            seller: Sym::default(),
            cancel_day: NOT_CANCELLED,
            timer: OptMillis::NONE,
            id: PackedStr::default(),
            packages: Few::default(),
        }
    }
}

impl Order {
    /// A CANCEL arrived for the order.
    fn cancelled(&self) -> bool {
        self.cancel_day != NOT_CANCELLED
    }

    /// Orders sort by seller symbol, then order id.
    fn key_cmp(&self, other: &Order) -> std::cmp::Ordering {
        (self.seller, &self.id).cmp(&(other.seller, &other.id))
    }

    /// The name of one of its packages for the other stages.
    fn package_ref(&self, package: Sym) -> PackageRef {
        PackageRef {
            seller: self.seller,
            order: self.id.clone(),
            package,
        }
    }
}

/// The hash of an order key.
fn order_hash(seller: Sym, order: &PackedStr) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write_u32(seller);
    order.hash(&mut h);
    h.finish()
}

/// What processing produced, for the other stages and the outputs.
#[derive(Debug, Default)]
pub struct OrderOutput {
    /// Subscriptions for the tracking stage.
    pub to_tracking: Vec<TrackingInput>,
    /// Status deltas for the seller stage.
    pub to_seller: Vec<SellerDelta>,
    /// Verdict records written (only when records are emitted).
    pub verdicts: Vec<VerdictRecord>,
    /// Late-confirmation records written (only when records are emitted).
    pub late_confirmations: Vec<LateConfirmationRecord>,
}

/// What happened to a confirmation event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// It changed state.
    Applied,
    /// It was the current confirmation already, or older: nothing changed.
    NoChange,
    /// A CONFIRM with the `event_id` of its package's current confirmation: a duplicate,
    /// nothing changed.
    Duplicate,
    /// It arrived after the windows it could change had closed.
    Late,
}

/// The order stage's state for all orders of one task. Orders live in an arena and are
/// found through a hash index of their `u32` positions, so the key is stored once and
/// timers name an order by its position.
pub struct OrderStage {
    cfg: EngineConfig,
    carriers: Arc<CarrierRegistry>,
    orders: Slab<Order>,
    index: HashTable<OrderIdx>,
    timers: Timers,
    /// Scratch list of the timers due when time moves.
    fired: Vec<(Millis, OrderIdx)>,
    /// Scratch list of the orders whose timers fire at one time.
    due: Vec<OrderIdx>,
    now: Millis,
    emit_records: bool,
}

impl OrderStage {
    /// Turns the materialising of verdict records on or off (off while a driver rebuilds
    /// state whose records were written before).
    pub fn set_emit_records(&mut self, emit: bool) {
        self.emit_records = emit;
    }

    /// Whether verdict records are materialised.
    pub fn emits_records(&self) -> bool {
        self.emit_records
    }

    /// An empty stage. With `emit_records`, every verdict change is materialised as a record.
    pub fn new(cfg: EngineConfig, carriers: Arc<CarrierRegistry>, emit_records: bool) -> Self {
        OrderStage {
            cfg,
            carriers,
            orders: Slab::default(),
            index: HashTable::new(),
            timers: Timers::default(),
            fired: Vec::new(),
            due: Vec::new(),
            now: Millis::MIN,
            emit_records,
        }
    }

    /// The position of an order, if held.
    fn find(&self, seller: Sym, order: &PackedStr) -> Option<OrderIdx> {
        let orders = &self.orders;
        self.index
            .find(order_hash(seller, order), |&i| {
                orders[i].seller == seller && orders[i].id == *order
            })
            .copied()
    }

    /// The position of an order, adding it (empty, not cancelled) when new.
    fn find_or_insert(&mut self, seller: Sym, order: &PackedStr) -> OrderIdx {
        if let Some(i) = self.find(seller, order) {
            return i;
        }
        let i = self.orders.push(Order {
            seller,
            id: order.clone(),
            ..Order::default()
        });
        let orders = &self.orders;
        self.index
            .insert_unique(order_hash(seller, order), i, |&j| {
                order_hash(orders[j].seller, &orders[j].id)
            });
        i
    }

    /// Applies a CONFIRM or CANCEL.
    pub fn confirmation(
        &mut self,
        c: &Confirmation,
        syms: &mut Interner,
        out: &mut OrderOutput,
    ) -> ConfirmOutcome {
        let seller = syms.intern(&c.seller_id);
        match c.action {
            Action::Cancel => self.cancel(seller, c, syms, out),
            Action::Confirm => self.confirm(seller, c, syms, out),
        }
    }

    fn cancel(
        &mut self,
        seller: Sym,
        c: &Confirmation,
        syms: &Interner,
        out: &mut OrderOutput,
    ) -> ConfirmOutcome {
        let order_id = PackedStr::from(c.order_id.as_str());
        let day = crate::event::utc_day(c.confirmed_at);
        let unknown = self.find(seller, &order_id).is_none();
        if unknown && self.cancel_kept_from().is_some_and(|kept| day < kept) {
            // A CANCEL alone that expiry would drop at once (or did drop, with its order):
            // too late to exclude anything.
            return ConfirmOutcome::Late;
        }
        let idx = self.find_or_insert(seller, &order_id);
        let order = &mut self.orders[idx];
        if order.cancelled() {
            // The earliest CANCEL's day, whatever the order they came in.
            order.cancel_day = order.cancel_day.min(day);
            return ConfirmOutcome::NoChange;
        }
        // The cancellation is kept whatever its timing: it applies to open packages and to
        // every package confirmed (or reopened) later, never to verdicts already final.
        order.cancel_day = day;
        let is_final = |p: &Package| p.verdict.is_some_and(|v| v.is_final);
        let all_final = !order.packages.is_empty() && order.packages.iter().all(is_final);
        let ctx = EmitCtx {
            cfg: &self.cfg,
            carriers: &self.carriers,
            syms,
            emit: self.emit_records,
        };
        for i in 0..order.packages.len() {
            let p = &order.packages[i];
            if is_final(p) {
                order.packages[i].set(FINAL_BEFORE_CANCEL, true);
                continue;
            }
            write_held_late_record(&ctx, order, i, out);
            let p = &order.packages[i];
            let old = wanted(&self.cfg, &self.carriers, false, &p.current);
            let pref = order.package_ref(p.package);
            resubscribe(&mut order.packages[i], pref, old, None, out);
        }
        self.reevaluate_order(idx, syms, out);
        if all_final {
            ConfirmOutcome::Late
        } else {
            ConfirmOutcome::Applied
        }
    }

    fn confirm(
        &mut self,
        seller: Sym,
        c: &Confirmation,
        syms: &mut Interner,
        out: &mut OrderOutput,
    ) -> ConfirmOutcome {
        let package = syms.intern(&c.package_id);
        let closes_at = c.confirmed_at.saturating_add(self.cfg.horizon);
        let arrives_closed = self.now >= closes_at;
        let order_id = PackedStr::from(c.order_id.as_str());
        let idx = match self.find(seller, &order_id) {
            Some(i) => i,
            None if arrives_closed => return ConfirmOutcome::Late,
            None => self.find_or_insert(seller, &order_id),
        };
        let order = &self.orders[idx];
        let existing = order.packages.iter().position(|p| p.package == package);
        match existing {
            Some(i) if order.packages[i].current.event_id.is(&c.event_id) => {
                return ConfirmOutcome::Duplicate
            }
            Some(i) if !order.packages[i].current.older_than(c) => return ConfirmOutcome::NoChange,
            _ if arrives_closed => return ConfirmOutcome::Late,
            _ => {}
        }
        let (current, detected) = current_of(c, &self.carriers, syms);
        let order = &mut self.orders[idx];
        let cancelled = order.cancelled();
        if let Some(i) = existing {
            let ctx = EmitCtx {
                cfg: &self.cfg,
                carriers: &self.carriers,
                syms,
                emit: self.emit_records,
            };
            write_held_late_record(&ctx, order, i, out);
        }
        let (i, old_wanted, old_slot, before) = match existing {
            Some(i) => {
                let p = &mut order.packages[i];
                let before = Shown::of(p);
                let old = wanted(
                    &self.cfg,
                    &self.carriers,
                    p.cancelled(cancelled),
                    &p.current,
                );
                let old_slot = p.slot(syms);
                p.current = current;
                p.detected = detected;
                p.set(FINAL_BEFORE_CANCEL, false);
                (i, old, old_slot, Some(before))
            }
            None => {
                order.packages.push(new_package(package, current, detected));
                (order.packages.len() - 1, None, None, None)
            }
        };
        let pref = order.package_ref(package);
        let p = &mut order.packages[i];
        let new_wanted = wanted(&self.cfg, &self.carriers, cancelled, &p.current);
        resubscribe(p, pref, old_wanted, new_wanted, out);
        let touched = Touched {
            package: i,
            old_slot,
            before,
        };
        self.reevaluate(idx, Some(touched), syms, out);
        ConfirmOutcome::Applied
    }

    /// Applies the tracking stage's answer for a subscription.
    pub fn facts(&mut self, msg: FactsMsg, syms: &Interner, out: &mut OrderOutput) {
        let Some(idx) = self.find(msg.package.seller, &msg.package.order) else {
            return;
        };
        let order = &mut self.orders[idx];
        let Some(i) = order
            .packages
            .iter()
            .position(|p| p.package == msg.package.package)
        else {
            return;
        };
        let p = &mut order.packages[i];
        if p.seq != msg.seq || p.verdict.is_some_and(|v| v.is_final) {
            return;
        }
        let merged = PackedFacts::from(p.facts().merge(msg.facts));
        if merged == p.facts && p.has(ANSWERED) {
            return;
        }
        let touched = Touched {
            package: i,
            old_slot: p.slot(syms),
            before: Some(Shown::of(p)),
        };
        p.facts = merged;
        p.set(ANSWERED, true);
        self.reevaluate(idx, Some(touched), syms, out);
    }

    /// Moves event time to `now`: windows close and warnings appear. Timers fire in time
    /// order, each order re-decided as of its timer's time (orders due at the same time in key
    /// order), so a jump of event time gives every package the versions gradual progress
    /// would: a warning, then the final verdict, each with its own revision.
    pub fn advance(&mut self, now: Millis, syms: &Interner, out: &mut OrderOutput) {
        if now <= self.now {
            return;
        }
        let mut fired = std::mem::take(&mut self.fired);
        loop {
            self.timers.take_due(now, &mut fired);
            if fired.is_empty() {
                break;
            }
            // Re-deciding schedules timers after the time it decides at; those due by `now`
            // fire in the next round. Orders are independent, so only each order's own
            // timers need to fire in order, and an order has one timer at a time.
            for group in fired.chunk_by(|a, b| a.0 == b.0) {
                self.now = group[0].0;
                self.fire(group[0].0, group.iter().map(|t| t.1), syms, out);
            }
            fired.clear();
        }
        self.now = now;
        self.fired = fired;
    }

    /// Re-decides, in key order, the orders whose timer for time `at` fired (skipping those
    /// whose timer was moved since).
    fn fire(
        &mut self,
        at: Millis,
        orders: impl Iterator<Item = OrderIdx>,
        syms: &Interner,
        out: &mut OrderOutput,
    ) {
        let mut due = std::mem::take(&mut self.due);
        due.extend(orders);
        due.sort_unstable_by(|&a, &b| self.orders[a].key_cmp(&self.orders[b]));
        due.dedup();
        for &idx in &due {
            let order = &mut self.orders[idx];
            if order.timer != OptMillis::new(Some(at)) {
                continue;
            }
            order.timer = OptMillis::NONE;
            self.reevaluate_order(idx, syms, out);
        }
        due.clear();
        self.due = due;
    }

    /// Re-decides every package of an order, writes what changed, and sets its next timer.
    fn reevaluate_order(&mut self, idx: OrderIdx, syms: &Interner, out: &mut OrderOutput) {
        self.reevaluate(idx, None, syms, out);
    }

    /// [`Self::reevaluate_order`] after what one package shows was changed.
    fn reevaluate(
        &mut self,
        idx: OrderIdx,
        touched: Option<Touched>,
        syms: &Interner,
        out: &mut OrderOutput,
    ) {
        let order = &mut self.orders[idx];
        let mut next_timer: Option<Millis> = None;
        for i in 0..order.packages.len() {
            let p = &order.packages[i];
            let v = verdict_of(&self.cfg, p.cancelled(order.cancelled()), p, self.now);
            // A package past its close but still waiting for its answer needs no timer: the
            // answer's arrival re-decides it.
            if let Some(t) = next_deadline(&self.cfg, p, &v).filter(|t| *t > self.now) {
                next_timer = Some(next_timer.map_or(t, |n: Millis| n.min(t)));
            }
            let ctx = EmitCtx {
                cfg: &self.cfg,
                carriers: &self.carriers,
                syms,
                emit: self.emit_records,
            };
            let (old_slot, before) = match &touched {
                Some(t) if t.package == i => (t.old_slot, t.before.as_ref()),
                _ => (order.packages[i].slot(syms), None),
            };
            emit_changes(&ctx, order, i, v, (old_slot, before), out);
        }
        if let Some(t) = next_timer {
            if order.timer.get().is_none_or(|scheduled| t < scheduled) {
                order.timer = OptMillis::new(Some(t));
                self.timers.push(t, idx);
            }
        }
    }

    /// Drops the orders no later event can change any more: every package final, with its
    /// metric day before the longest seller window as of event time, so it counts in no
    /// seller number now or later. An order holding only a CANCEL (an order cancelled before
    /// it shipped) is kept for `horizon` and the longest seller window after the CANCEL's
    /// day, so that a confirmation arriving in that time is still excluded; one arriving
    /// later starts afresh. Returns the number of packages dropped.
    pub fn expire(&mut self) -> usize {
        let (Some(first_day), Some(cancel_kept_from)) =
            (self.first_window_day(), self.cancel_kept_from())
        else {
            return 0;
        };
        let gone = |p: &Package| {
            p.verdict.is_some_and(|v| v.is_final)
                && super::seller::metric_day(
                    p.current.confirmed_at,
                    p.current.promised_delivery_at.get(),
                ) < first_day
        };
        let orders = &mut self.orders;
        let mut dropped = Vec::new();
        self.index.retain(|&mut i| {
            let o = &orders[i];
            let expired = if o.packages.is_empty() {
                o.cancelled() && o.cancel_day < cancel_kept_from
            } else {
                o.packages.iter().all(gone)
            };
            if expired {
                dropped.push(i);
            }
            !expired
        });
        dropped
            .into_iter()
            .map(|i| self.orders.remove(i).packages.len())
            .sum()
    }

    /// The first day of the longest seller window as of event time (`None` before time
    /// moves).
    fn first_window_day(&self) -> Option<i32> {
        let longest = self.cfg.longest_window_days() as i32;
        (self.now != Millis::MIN)
            .then(|| crate::event::utc_day(self.now).saturating_sub(longest - 1))
    }

    /// The first day of a CANCEL that an order holding only that CANCEL keeps: `horizon` and
    /// the longest seller window back (`None` before time moves).
    fn cancel_kept_from(&self) -> Option<i32> {
        let day = crate::event::DAY_MS;
        let horizon_days = (self.cfg.horizon.saturating_add(day - 1) / day).min(i32::MAX.into());
        Some(self.first_window_day()?.saturating_sub(horizon_days as i32))
    }

    /// The latest verdict of every package, as records, sorted by package key.
    pub fn verdict_records(&self, syms: &Interner) -> Vec<VerdictRecord> {
        let mut records = Vec::new();
        for order in self.orders.iter() {
            for p in order.packages.iter() {
                if let Some(v) = p.verdict {
                    records.push(build_record(&self.carriers, syms, order, p, &v, &self.cfg));
                }
            }
        }
        records.sort_by(|a, b| {
            (&a.seller_id, &a.order_id, &a.package_id).cmp(&(
                &b.seller_id,
                &b.order_id,
                &b.package_id,
            ))
        });
        records
    }

    /// The latest verdict of one package, as a record; `None` when the stage holds no
    /// verdict for it.
    pub fn package_record(
        &self,
        syms: &Interner,
        seller_id: &str,
        order_id: &str,
        package_id: &str,
    ) -> Option<VerdictRecord> {
        let (seller, package) = (syms.get(seller_id)?, syms.get(package_id)?);
        let order = &self.orders[self.find(seller, &PackedStr::from(order_id))?];
        let p = order.packages.iter().find(|p| p.package == package)?;
        let v = p.verdict.as_ref()?;
        Some(build_record(&self.carriers, syms, order, p, v, &self.cfg))
    }

    /// One late-confirmation record per package whose latest verdict carries a late reason.
    pub fn late_confirmation_records(&self, syms: &Interner) -> Vec<LateConfirmationRecord> {
        self.verdict_records(syms)
            .iter()
            .filter_map(late_record)
            .collect()
    }

    /// Number of packages held.
    pub fn package_count(&self) -> usize {
        self.orders.iter().map(|o| o.packages.len()).sum()
    }

    /// Approximate bytes of state held (arena, index, spilled packages, long strings, timers).
    pub fn state_bytes(&self) -> usize {
        let index = self.index.allocation_size();
        let heap: usize = self
            .orders
            .iter()
            .map(|o| {
                let spilled = o.packages.heap_bytes();
                let strings: usize = o
                    .packages
                    .iter()
                    .map(|p| p.current.event_id.heap_bytes() + p.current.tracking.heap_bytes())
                    .sum();
                o.id.heap_bytes() + spilled + strings
            })
            .sum();
        self.orders.allocated_bytes() + index + heap + self.timers.heap_bytes()
    }
}

/// A package's state when it is first confirmed.
fn new_package(package: Sym, current: Current, detected: u32) -> Package {
    Package {
        package,
        current,
        detected,
        seq: 0,
        facts: PackedFacts::default(),
        revision: 0,
        verdict: None,
        flags: ANSWERED,
    }
}

/// Reduces a CONFIRM to the package's current confirmation, and the carriers detected from its
/// tracking ID (see [`Package::detected`]).
fn current_of(c: &Confirmation, carriers: &CarrierRegistry, syms: &mut Interner) -> (Current, u32) {
    let carrier = carriers.resolve(&c.carrier);
    let tracking = normalize(&c.tracking_id);
    let formats = match &tracking {
        TrackingId::Normalized(id) => carriers.analyze(id),
        _ => FormatMatch::default(),
    };
    let pre = precheck(
        carriers,
        &PrecheckInput {
            ship_method: c.ship_method,
            carrier,
            package_value_cents: c.package_value_cents,
            tracking: &tracking,
            formats: &formats,
        },
    );
    let labels = Labels {
        carrier_entered: syms.intern(&c.carrier),
        marketplace: syms.intern(&c.marketplace),
        category: syms.intern(&c.category),
    };
    let detected = u32::try_from(carriers.detected_set(&formats)).unwrap_or(DERIVE_DETECTED);
    let current = Current {
        confirmed_at: c.confirmed_at,
        promised_delivery_at: OptMillis::new(c.promised_delivery_at),
        event_id: EventId::new(&c.event_id),
        tracking: PackedStr::from(c.tracking_id.as_str()),
        labels: syms.intern_labels(labels),
        carrier,
        precheck: pre,
    };
    (current, detected)
}

/// The subscription a package needs: only when the join decides (rule 6).
fn wanted(
    cfg: &EngineConfig,
    carriers: &CarrierRegistry,
    cancelled: bool,
    cur: &Current,
) -> Option<Wanted> {
    if cancelled || !matches!(cur.precheck, Precheck::Join { .. }) {
        return None;
    }
    let entered = cur.tracking.decode();
    let TrackingId::Normalized(id) = normalize(&entered) else {
        return None;
    };
    let carrier = cur.carrier?;
    Some(Wanted {
        tracking: PackedStr::from(id.as_ref()),
        from: cur.confirmed_at.saturating_sub(cfg.lookback),
        to: cur.confirmed_at.saturating_add(cfg.horizon),
        accepted: carriers.accepted_reporters(carrier),
    })
}

/// Moves a package's subscription from `old` to `new` when they differ.
fn resubscribe(
    p: &mut Package,
    pref: PackageRef,
    old: Option<Wanted>,
    new: Option<Wanted>,
    out: &mut OrderOutput,
) {
    if old == new {
        return;
    }
    if let Some(o) = old {
        if new.as_ref().is_none_or(|n| n.tracking != o.tracking) {
            out.to_tracking
                .push(TrackingInput::Unsubscribe(Unsubscribe {
                    package: pref.clone(),
                    tracking: o.tracking,
                }));
        }
    }
    p.facts = PackedFacts::default();
    p.seq += 1;
    p.set(ANSWERED, new.is_none());
    if let Some(n) = new {
        out.to_tracking.push(TrackingInput::Subscribe(Subscribe {
            package: pref,
            seq: p.seq,
            tracking: n.tracking,
            from: n.from,
            to: n.to,
            accepted: n.accepted,
        }));
    }
}

fn verdict_of(cfg: &EngineConfig, cancelled: bool, p: &Package, now: Millis) -> Verdict {
    let (format_mismatch, precheck) = match p.current.precheck {
        Precheck::Join { format_mismatch } => (format_mismatch, p.current.precheck),
        other => (false, other),
    };
    let join = JoinInput {
        t: p.current.confirmed_at,
        promised_delivery_at: p.current.promised_delivery_at.get(),
        facts: p.facts(),
        format_mismatch,
    };
    decide(cfg, cancelled, precheck, &join, now, p.has(ANSWERED))
}

/// When the verdict could next change with time alone: the warning or the window's close.
fn next_deadline(cfg: &EngineConfig, p: &Package, v: &Verdict) -> Option<Millis> {
    if v.is_final {
        return None;
    }
    let t = p.current.confirmed_at;
    let warn = t.saturating_add(cfg.no_scan_warning_after);
    let close = t.saturating_add(cfg.horizon);
    let warned = v.warnings.iter().next().is_some();
    if v.status == crate::records::Status::Pending && !warned && warn < close {
        Some(warn)
    } else {
        Some(close)
    }
}

/// What `emit_changes` needs to know besides the package.
struct EmitCtx<'a> {
    cfg: &'a EngineConfig,
    carriers: &'a CarrierRegistry,
    syms: &'a Interner,
    emit: bool,
}

/// A package whose current confirmation or scan facts just changed: where it counted until
/// then, and what its last record showed (`None` for a new package).
#[derive(Debug, Clone)]
struct Touched {
    package: usize,
    old_slot: Option<SellerSlot>,
    before: Option<Shown>,
}

/// What a package's record shows besides its key, verdict and revision: its current
/// confirmation's fields (the others are derived from them) and its scan facts.
#[derive(Debug, Clone)]
struct Shown {
    confirmed_at: Millis,
    promised_delivery_at: OptMillis,
    tracking: PackedStr,
    labels: Sym,
    facts: ScanFacts,
}

impl Shown {
    fn of(p: &Package) -> Shown {
        let c = &p.current;
        Shown {
            confirmed_at: c.confirmed_at,
            promised_delivery_at: c.promised_delivery_at,
            tracking: c.tracking.clone(),
            labels: c.labels,
            facts: p.facts(),
        }
    }

    /// True when a record with verdict `v` shows something else than `self` did with the
    /// same verdict. The other carrier shows only in the explanation of a first-reason
    /// `CARRIER_MISMATCH`.
    fn differs(&self, now: &Shown, v: &Verdict) -> bool {
        let other_shows = v.reasons.iter().next() == Some(crate::records::Reason::CarrierMismatch);
        let (a, b) = (&self.facts, &now.facts);
        (self.confirmed_at, self.promised_delivery_at, &self.tracking)
            != (now.confirmed_at, now.promised_delivery_at, &now.tracking)
            || self.labels != now.labels
            || (a.first_scan, a.first_delivery, a.overloaded)
                != (b.first_scan, b.first_delivery, b.overloaded)
            || (other_shows && a.other_carrier != b.other_carrier)
    }
}

/// Where a package with this confirmation and status counts in its seller's numbers.
fn slot_of(c: &Current, status: Status, syms: &Interner) -> SellerSlot {
    let labels = syms.labels(c.labels);
    SellerSlot {
        marketplace: labels.marketplace,
        category: labels.category,
        day: super::seller::metric_day(c.confirmed_at, c.promised_delivery_at.get()),
        status,
    }
}

/// Stores package `i`'s new verdict and writes what changed: seller delta (from `old_slot`,
/// where it counted until now), verdict (a new revision unless the record would show the same
/// as the last: `before` is what it showed when this package's inputs just changed),
/// late confirmation.
fn emit_changes(
    ctx: &EmitCtx<'_>,
    order: &mut Order,
    i: usize,
    v: Verdict,
    (old_slot, before): (Option<SellerSlot>, Option<&Shown>),
    out: &mut OrderOutput,
) {
    let p = &mut order.packages[i];
    let slot = Some(slot_of(&p.current, v.status, ctx.syms));
    if slot != old_slot {
        out.to_seller.push(SellerDelta {
            seller: order.seller,
            old: old_slot,
            new: slot,
        });
    }
    let unchanged = p.verdict == Some(v) && before.is_none_or(|b| !b.differs(&Shown::of(p), &v));
    p.verdict = Some(v);
    let new_version = !unchanged || p.revision == 0;
    if new_version {
        p.revision += 1;
    }
    // The late-confirmation record waits for the scans' answer: before it, a package may show
    // only its promised date's reason, and no delivery time.
    let first_late =
        v.reasons.first_late().is_some() && p.has(ANSWERED) && !p.has(LATE_CONFIRMATION_SENT);
    if first_late {
        p.set(LATE_CONFIRMATION_SENT, true);
    }
    if ctx.emit && (new_version || first_late) {
        let p = &order.packages[i];
        let record = build_record(ctx.carriers, ctx.syms, order, p, &v, ctx.cfg);
        if first_late {
            out.late_confirmations.extend(late_record(&record));
        }
        if new_version {
            out.verdicts.push(record);
        }
    }
}

/// Writes the late-confirmation record a package still owes when the answer it waits for
/// will not come (its confirmation is being replaced, or its order cancelled): the package
/// showed a late reason, and [`emit_changes`] held the record back for the scans' answer.
fn write_held_late_record(ctx: &EmitCtx<'_>, order: &mut Order, i: usize, out: &mut OrderOutput) {
    let p = &order.packages[i];
    let Some(v) = p.verdict else {
        return;
    };
    if p.has(ANSWERED) || p.has(LATE_CONFIRMATION_SENT) || v.reasons.first_late().is_none() {
        return;
    }
    order.packages[i].set(LATE_CONFIRMATION_SENT, true);
    if ctx.emit {
        let p = &order.packages[i];
        let record = build_record(ctx.carriers, ctx.syms, order, p, &v, ctx.cfg);
        out.late_confirmations.extend(late_record(&record));
    }
}

/// Materialises a verdict record.
fn build_record(
    carriers: &CarrierRegistry,
    syms: &Interner,
    order: &Order,
    p: &Package,
    v: &Verdict,
    cfg: &EngineConfig,
) -> VerdictRecord {
    let c = &p.current;
    let labels = syms.labels(c.labels);
    let entered = c.tracking.decode();
    let tracking = normalize(&entered);
    let tracking_normalized = match &tracking {
        TrackingId::Normalized(id) => Some(id.to_string()),
        _ => None,
    };
    let detected = match (&tracking, p.detected) {
        (TrackingId::Normalized(id), DERIVE_DETECTED) => {
            carriers.detected_set(&carriers.analyze(id))
        }
        (_, d) => CarrierSet::from(d),
    };
    let facts = p.facts();
    let mut record = VerdictRecord {
        seller_id: syms.resolve(order.seller).to_string(),
        order_id: String::from(&order.id),
        package_id: syms.resolve(p.package).to_string(),
        marketplace: syms.resolve(labels.marketplace).to_string(),
        category: syms.resolve(labels.category).to_string(),
        carrier_entered: syms.resolve(labels.carrier_entered).to_string(),
        carrier: c.carrier.map(|id| carriers.code(id).to_string()),
        tracking_id: entered.to_string(),
        tracking_normalized,
        status: v.status,
        has_valid_tracking: v.status == Status::Valid,
        reasons: v.reasons.iter().collect(),
        detected_carriers: carriers
            .set_iter(detected)
            .map(|id| carriers.code(id).to_string())
            .collect(),
        confirmed_at: c.confirmed_at,
        promised_delivery_at: c.promised_delivery_at.get(),
        first_scan_at: facts.first_scan,
        delivered_at: facts.first_delivery,
        is_final: v.is_final,
        revision: p.revision,
        warnings: v.warnings.iter().collect(),
        explanation: String::new(),
    };
    record.explanation = explain::explain(&explain::ExplainInput {
        record: &record,
        tracking: &tracking,
        facts: &facts,
        carriers,
        cfg,
    });
    record
}

/// The late-confirmation record of a verdict that carries a late reason.
fn late_record(v: &VerdictRecord) -> Option<LateConfirmationRecord> {
    let reason = v
        .reasons
        .iter()
        .copied()
        .find(|r| r.is_late_confirmation())?;
    let from = match reason {
        crate::records::Reason::ConfirmedAfterDelivery => v.delivered_at,
        _ => v.promised_delivery_at,
    }?;
    Some(LateConfirmationRecord {
        seller_id: v.seller_id.clone(),
        order_id: v.order_id.clone(),
        package_id: v.package_id.clone(),
        marketplace: v.marketplace.clone(),
        carrier: v.carrier.clone(),
        tracking_id: v.tracking_id.clone(),
        confirmed_at: v.confirmed_at,
        // The delivery that came before the confirmation (the earliest counting one), if any:
        // one after it is no part of why the confirmation was late, and would depend on when
        // the record is written.
        delivered_at: v.delivered_at.filter(|d| *d < v.confirmed_at),
        promised_delivery_at: v.promised_delivery_at,
        late_by: (v.confirmed_at - from).div_euclid(1000),
        reason,
    })
}

/// An order stage's state, borrowed, as a snapshot writes it (symbols as their strings: write
/// it inside [`super::intern::with_symbols`]). Read it back as an [`OrderState`].
#[derive(serde::Serialize)]
pub struct OrderStateRef<'a> {
    orders: &'a Slab<Order>,
    timers: &'a Timers,
    now: Millis,
}

/// An order stage's state read from a snapshot (inside [`super::intern::with_symbols`]).
#[derive(serde::Deserialize)]
pub struct OrderState {
    orders: Slab<Order>,
    timers: Timers,
    now: Millis,
}

impl OrderStage {
    /// The state a snapshot holds: orders (arena positions included), timers, event time.
    pub fn state(&self) -> OrderStateRef<'_> {
        OrderStateRef {
            orders: &self.orders,
            timers: &self.timers,
            now: self.now,
        }
    }

    /// A stage holding a snapshot's state; the hash index is rebuilt from the orders.
    pub fn from_state(
        state: OrderState,
        cfg: EngineConfig,
        carriers: Arc<CarrierRegistry>,
        emit_records: bool,
    ) -> Self {
        let mut stage = OrderStage::new(cfg, carriers, emit_records);
        stage.orders = state.orders;
        stage.timers = state.timers;
        stage.now = state.now;
        let orders = &stage.orders;
        for i in orders.live_indices() {
            let o = &orders[i];
            stage
                .index
                .insert_unique(order_hash(o.seller, &o.id), i, |&j| {
                    order_hash(orders[j].seller, &orders[j].id)
                });
        }
        stage
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// The state layout the "State size" section of ARCHITECTURE.md accounts for.
    #[test]
    fn an_order_of_one_package_is_128_bytes() {
        assert_eq!(std::mem::size_of::<Current>(), 56);
        assert_eq!(std::mem::size_of::<Package>(), 96);
        assert_eq!(std::mem::size_of::<Order>(), 128);
    }

    #[test]
    fn detected_carriers_not_held_are_derived_from_the_id() {
        let carriers = Arc::new(CarrierRegistry::default_us());
        let mut stage = OrderStage::new(EngineConfig::default(), carriers, false);
        let mut syms = Interner::default();
        let c = Confirmation {
            event_id: "c1".into(),
            action: Action::Confirm,
            seller_id: "S".into(),
            order_id: "O".into(),
            package_id: String::new(),
            marketplace: "US".into(),
            category: "TOYS".into(),
            carrier: "UPS".into(),
            tracking_id: "1Z999AA10123456784".into(),
            ship_method: crate::event::ShipMethod::Parcel,
            package_value_cents: None,
            confirmed_at: 0,
            promised_delivery_at: None,
        };
        stage.confirmation(&c, &mut syms, &mut OrderOutput::default());
        let record = |stage: &OrderStage| stage.package_record(&syms, "S", "O", "").unwrap();
        let held = record(&stage);
        assert!(
            held.detected_carriers.contains(&"UPS".to_string()),
            "{held:?}"
        );
        let idx = stage
            .find(syms.get("S").unwrap(), &PackedStr::from("O"))
            .unwrap();
        stage.orders[idx].packages[0].detected = DERIVE_DETECTED;
        assert_eq!(record(&stage).detected_carriers, held.detected_carriers);
    }
}
