//! The order stage: every package's current confirmation, scan facts and verdict, keyed by
//! seller/order. It is the one place a package's verdict lives (design guide section 2).

use super::explain;
use super::intern::{Interner, Sym};
use super::messages::{
    FactsMsg, PackageRef, ScanFacts, SellerDelta, SellerSlot, Subscribe, TrackingInput, Unsubscribe,
};
use super::verdict::{decide, precheck, JoinInput, Precheck, PrecheckInput, Verdict};
use super::FastMap;
use crate::carriers::{CarrierId, CarrierRegistry, CarrierSet};
use crate::config::EngineConfig;
use crate::event::{utc_day, Action, Confirmation, Millis};
use crate::records::{LateConfirmationRecord, Status, VerdictRecord};
use crate::tracking_id::{normalize, TrackingId};
use hashbrown::Equivalent;
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Key of an order: interned seller and order id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct OrderKey {
    seller: Sym,
    order: Box<str>,
}

/// A borrowed [`OrderKey`] for look-ups without allocating.
#[derive(Hash)]
struct OrderKeyRef<'a> {
    seller: Sym,
    order: &'a str,
}

impl From<&OrderKeyRef<'_>> for OrderKey {
    fn from(k: &OrderKeyRef<'_>) -> OrderKey {
        OrderKey {
            seller: k.seller,
            order: k.order.into(),
        }
    }
}

impl Equivalent<OrderKey> for OrderKeyRef<'_> {
    fn equivalent(&self, key: &OrderKey) -> bool {
        self.seller == key.seller && self.order == &*key.order
    }
}

/// The strings of a current confirmation that are only needed for output and tie-breaks,
/// packed into one allocation: event id, carrier as entered, tracking ID as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Texts {
    buf: Box<str>,
    event_id_end: u32,
    carrier_end: u32,
}

impl Texts {
    fn new(event_id: &str, carrier: &str, tracking: &str) -> Texts {
        let buf = [event_id, carrier, tracking].concat().into_boxed_str();
        Texts {
            buf,
            event_id_end: event_id.len() as u32,
            carrier_end: (event_id.len() + carrier.len()) as u32,
        }
    }
    fn event_id(&self) -> &str {
        &self.buf[..self.event_id_end as usize]
    }
    fn carrier(&self) -> &str {
        &self.buf[self.event_id_end as usize..self.carrier_end as usize]
    }
    fn tracking(&self) -> &str {
        &self.buf[self.carrier_end as usize..]
    }
}

/// A package's current confirmation, reduced to what the rules and outputs need.
#[derive(Debug, Clone)]
struct Current {
    texts: Texts,
    confirmed_at: Millis,
    promised_delivery_at: Option<Millis>,
    marketplace: Sym,
    category: Sym,
    carrier: Option<CarrierId>,
    precheck: Precheck,
    detected: CarrierSet,
}

/// The tracking stage subscription a package needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    tracking: Box<str>,
    from: Millis,
    to: Millis,
    accepted: CarrierSet,
}

/// One package's state.
#[derive(Debug, Clone)]
struct Package {
    package: Sym,
    current: Current,
    /// Sequence number of the current subscription.
    seq: u32,
    /// The package holds the answer for its current subscription (or needs none).
    answered: bool,
    facts: ScanFacts,
    /// What was last written: content fingerprint and revision.
    fingerprint: u64,
    revision: u32,
    /// Where it counts in the seller's numbers.
    slot: Option<SellerSlot>,
    /// The last verdict decided.
    verdict: Option<Verdict>,
    late_confirmation_sent: bool,
    /// The order's cancellation arrived after this package's verdict was final, so it does
    /// not apply to this confirmation (a new confirmation reopens the package and clears it).
    final_before_cancel: bool,
}

impl Package {
    /// Rule 1 applies to this package.
    fn cancelled(&self, order_cancelled: bool) -> bool {
        order_cancelled && !self.final_before_cancel
    }
}

/// One order: its cancellation and its packages.
#[derive(Debug, Clone, Default)]
struct Order {
    cancelled_at: Option<Millis>,
    /// The time of this order's pending timer, if one is scheduled.
    timer: Option<Millis>,
    packages: SmallVec<[Package; 1]>,
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
    /// It arrived after the windows it could change had closed.
    Late,
}

/// The order stage's state for all orders of one task.
pub struct OrderStage {
    cfg: EngineConfig,
    carriers: Arc<CarrierRegistry>,
    orders: FastMap<OrderKey, Order>,
    timers: BinaryHeap<Reverse<(Millis, OrderKey)>>,
    now: Millis,
    emit_records: bool,
}

impl OrderStage {
    /// An empty stage. With `emit_records`, every verdict change is materialised as a record.
    pub fn new(cfg: EngineConfig, carriers: Arc<CarrierRegistry>, emit_records: bool) -> Self {
        OrderStage {
            cfg,
            carriers,
            orders: FastMap::default(),
            timers: BinaryHeap::new(),
            now: Millis::MIN,
            emit_records,
        }
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
        let key = OrderKeyRef {
            seller,
            order: &c.order_id,
        };
        let order = self.orders.entry_ref(&key).or_default();
        if order.cancelled_at.is_some() {
            return ConfirmOutcome::NoChange;
        }
        // The cancellation is kept whatever its timing: it applies to open packages and to
        // every package confirmed (or reopened) later, never to verdicts already final.
        order.cancelled_at = Some(c.confirmed_at);
        let is_final = |p: &Package| p.verdict.is_some_and(|v| v.is_final);
        let all_final = !order.packages.is_empty() && order.packages.iter().all(is_final);
        let order_key = OrderKey {
            seller,
            order: c.order_id.as_str().into(),
        };
        for p in order.packages.iter_mut() {
            if is_final(p) {
                p.final_before_cancel = true;
                continue;
            }
            let old = wanted(&self.cfg, &self.carriers, false, &p.current);
            let pref = PackageRef {
                seller,
                order: order_key.order.clone(),
                package: p.package,
            };
            resubscribe(p, pref, old, None, out);
        }
        self.reevaluate_order(&order_key, syms, out);
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
        let key = OrderKeyRef {
            seller,
            order: &c.order_id,
        };
        let closes_at = c.confirmed_at.saturating_add(self.cfg.horizon);
        let arrives_closed = self.now >= closes_at;
        let order = match self.orders.get_mut(&key) {
            Some(o) => o,
            None if arrives_closed => return ConfirmOutcome::Late,
            None => self.orders.entry_ref(&key).or_default(),
        };
        match order.packages.iter().position(|p| p.package == package) {
            Some(i) => {
                let cur = &order.packages[i].current;
                let newer = (c.confirmed_at, c.event_id.as_bytes())
                    > (cur.confirmed_at, cur.texts.event_id().as_bytes());
                if !newer {
                    return ConfirmOutcome::NoChange;
                }
                if arrives_closed {
                    return ConfirmOutcome::Late;
                }
            }
            None if arrives_closed => return ConfirmOutcome::Late,
            None => {}
        }
        let current = current_of(c, &self.carriers, syms);
        let order_key = OrderKey {
            seller,
            order: c.order_id.as_str().into(),
        };
        let order = self.orders.get_mut(&key).expect("order exists");
        let cancelled = order.cancelled_at.is_some();
        let old_wanted;
        let idx = match order.packages.iter().position(|p| p.package == package) {
            Some(i) => {
                let p = &mut order.packages[i];
                old_wanted = wanted(
                    &self.cfg,
                    &self.carriers,
                    p.cancelled(cancelled),
                    &p.current,
                );
                p.current = current;
                p.final_before_cancel = false;
                i
            }
            None => {
                old_wanted = None;
                order.packages.push(Package {
                    package,
                    current,
                    seq: 0,
                    answered: true,
                    facts: ScanFacts::default(),
                    fingerprint: 0,
                    revision: 0,
                    slot: None,
                    verdict: None,
                    late_confirmation_sent: false,
                    final_before_cancel: false,
                });
                order.packages.len() - 1
            }
        };
        let pref = PackageRef {
            seller,
            order: order_key.order.clone(),
            package,
        };
        let new_wanted = wanted(
            &self.cfg,
            &self.carriers,
            cancelled,
            &order.packages[idx].current,
        );
        resubscribe(&mut order.packages[idx], pref, old_wanted, new_wanted, out);
        self.reevaluate_order(&order_key, syms, out);
        ConfirmOutcome::Applied
    }

    /// Applies the tracking stage's answer for a subscription.
    pub fn facts(&mut self, msg: FactsMsg, syms: &Interner, out: &mut OrderOutput) {
        let key = OrderKeyRef {
            seller: msg.package.seller,
            order: &msg.package.order,
        };
        let Some(order) = self.orders.get_mut(&key) else {
            return;
        };
        let Some(p) = order
            .packages
            .iter_mut()
            .find(|p| p.package == msg.package.package)
        else {
            return;
        };
        if p.seq != msg.seq || p.verdict.is_some_and(|v| v.is_final) {
            return;
        }
        let merged = p.facts.merge(msg.facts);
        if merged == p.facts && p.answered {
            return;
        }
        p.facts = merged;
        p.answered = true;
        let order_key = OrderKey {
            seller: msg.package.seller,
            order: msg.package.order,
        };
        self.reevaluate_order(&order_key, syms, out);
    }

    /// Moves event time to `now`: windows close and warnings appear.
    pub fn advance(&mut self, now: Millis, syms: &Interner, out: &mut OrderOutput) {
        if now <= self.now {
            return;
        }
        self.now = now;
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, key))) = self.timers.pop() else {
                break;
            };
            let Some(order) = self.orders.get_mut(&key) else {
                continue;
            };
            if order.timer != Some(at) {
                continue;
            }
            order.timer = None;
            self.reevaluate_order(&key, syms, out);
        }
    }

    /// Re-decides every package of an order, writes what changed, and sets its next timer.
    fn reevaluate_order(&mut self, key: &OrderKey, syms: &Interner, out: &mut OrderOutput) {
        let Some(order) = self.orders.get_mut(key) else {
            return;
        };
        let cancelled = order.cancelled_at.is_some();
        let mut next_timer: Option<Millis> = None;
        for p in order.packages.iter_mut() {
            let v = verdict_of(&self.cfg, p.cancelled(cancelled), p, self.now);
            let ctx = EmitCtx {
                cfg: &self.cfg,
                carriers: &self.carriers,
                syms,
                key,
                emit: self.emit_records,
            };
            emit_changes(&ctx, p, v, out);
            // A package past its close but still waiting for its answer needs no timer: the
            // answer's arrival re-decides it.
            if let Some(t) = next_deadline(&self.cfg, p, &v).filter(|t| *t > self.now) {
                next_timer = Some(next_timer.map_or(t, |n: Millis| n.min(t)));
            }
        }
        if let Some(t) = next_timer {
            if order.timer.is_none_or(|scheduled| t < scheduled) {
                order.timer = Some(t);
                self.timers.push(Reverse((t, key.clone())));
            }
        }
    }

    /// The latest verdict of every package, as records, sorted by package key.
    pub fn verdict_records(&self, syms: &Interner) -> Vec<VerdictRecord> {
        let mut records = Vec::new();
        for (key, order) in &self.orders {
            for p in &order.packages {
                if let Some(v) = p.verdict {
                    records.push(build_record(&self.carriers, syms, key, p, &v, &self.cfg));
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

    /// One late-confirmation record per package whose latest verdict carries a late reason.
    pub fn late_confirmation_records(&self, syms: &Interner) -> Vec<LateConfirmationRecord> {
        self.verdict_records(syms)
            .iter()
            .filter_map(late_record)
            .collect()
    }

    /// Number of packages held.
    pub fn package_count(&self) -> usize {
        self.orders.values().map(|o| o.packages.len()).sum()
    }

    /// Approximate bytes of state held (table, keys, packages, texts, timers).
    pub fn state_bytes(&self) -> usize {
        let table = self.orders.capacity() * (std::mem::size_of::<(OrderKey, Order)>() + 1);
        let heap: usize = self
            .orders
            .iter()
            .map(|(k, o)| {
                k.order.len()
                    + if o.packages.spilled() {
                        o.packages.capacity() * std::mem::size_of::<Package>()
                    } else {
                        0
                    }
                    + o.packages
                        .iter()
                        .map(|p| p.current.texts.buf.len())
                        .sum::<usize>()
            })
            .sum();
        let timers = self.timers.len() * std::mem::size_of::<Reverse<(Millis, OrderKey)>>()
            + self
                .timers
                .iter()
                .map(|Reverse((_, k))| k.order.len())
                .sum::<usize>();
        table + heap + timers
    }
}

/// Reduces a CONFIRM to the package's current confirmation.
fn current_of(c: &Confirmation, carriers: &CarrierRegistry, syms: &mut Interner) -> Current {
    let carrier = carriers.resolve(&c.carrier);
    let tracking = normalize(&c.tracking_id);
    let pre = precheck(
        carriers,
        &PrecheckInput {
            ship_method: c.ship_method,
            carrier,
            package_value_cents: c.package_value_cents,
            tracking: &tracking,
        },
    );
    let detected = match &tracking {
        TrackingId::Normalized(id) => carriers.detected_set(&carriers.analyze(id)),
        _ => 0,
    };
    Current {
        texts: Texts::new(&c.event_id, &c.carrier, &c.tracking_id),
        confirmed_at: c.confirmed_at,
        promised_delivery_at: c.promised_delivery_at,
        marketplace: syms.intern(&c.marketplace),
        category: syms.intern(&c.category),
        carrier,
        precheck: pre,
        detected,
    }
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
    let TrackingId::Normalized(id) = normalize(cur.texts.tracking()) else {
        return None;
    };
    let carrier = cur.carrier?;
    Some(Wanted {
        tracking: id.into(),
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
    p.facts = ScanFacts::default();
    p.seq += 1;
    p.answered = new.is_none();
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
        promised_delivery_at: p.current.promised_delivery_at,
        facts: p.facts,
        format_mismatch,
    };
    decide(cfg, cancelled, precheck, &join, now, p.answered)
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
    key: &'a OrderKey,
    emit: bool,
}

/// Stores the new verdict and writes what changed: seller delta, verdict, late confirmation.
fn emit_changes(ctx: &EmitCtx<'_>, p: &mut Package, v: Verdict, out: &mut OrderOutput) {
    let slot = Some(SellerSlot {
        marketplace: p.current.marketplace,
        category: p.current.category,
        day: utc_day(
            p.current
                .promised_delivery_at
                .unwrap_or(p.current.confirmed_at),
        ),
        status: v.status,
    });
    if slot != p.slot {
        out.to_seller.push(SellerDelta {
            seller: ctx.key.seller,
            old: p.slot,
            new: slot,
        });
        p.slot = slot;
    }
    p.verdict = Some(v);
    let fp = fingerprint(p, &v);
    if fp == p.fingerprint && p.revision > 0 {
        return;
    }
    p.fingerprint = fp;
    p.revision += 1;
    let first_late = v.reasons.first_late().is_some() && !p.late_confirmation_sent;
    if first_late {
        p.late_confirmation_sent = true;
    }
    if ctx.emit {
        let record = build_record(ctx.carriers, ctx.syms, ctx.key, p, &v, ctx.cfg);
        if first_late {
            out.late_confirmations.extend(late_record(&record));
        }
        out.verdicts.push(record);
    }
}

/// A hash of everything a verdict record shows but its revision.
fn fingerprint(p: &Package, v: &Verdict) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    let c = &p.current;
    (c.texts.carrier(), c.texts.tracking()).hash(&mut h);
    (
        c.confirmed_at,
        c.promised_delivery_at,
        c.marketplace,
        c.category,
    )
        .hash(&mut h);
    let f = &p.facts;
    (f.first_scan, f.first_delivery, f.overloaded, v).hash(&mut h);
    // The other carrier shows only in the explanation of a first-reason CARRIER_MISMATCH.
    if v.reasons.iter().next() == Some(crate::records::Reason::CarrierMismatch) {
        f.other_carrier.hash(&mut h);
    }
    h.finish() | 1
}

/// Materialises a verdict record.
fn build_record(
    carriers: &CarrierRegistry,
    syms: &Interner,
    key: &OrderKey,
    p: &Package,
    v: &Verdict,
    cfg: &EngineConfig,
) -> VerdictRecord {
    let c = &p.current;
    let tracking = normalize(c.texts.tracking());
    let tracking_normalized = match &tracking {
        TrackingId::Normalized(id) => Some(id.to_string()),
        _ => None,
    };
    let mut record = VerdictRecord {
        seller_id: syms.resolve(key.seller).to_string(),
        order_id: key.order.to_string(),
        package_id: syms.resolve(p.package).to_string(),
        marketplace: syms.resolve(c.marketplace).to_string(),
        category: syms.resolve(c.category).to_string(),
        carrier_entered: c.texts.carrier().to_string(),
        carrier: c.carrier.map(|id| carriers.code(id).to_string()),
        tracking_id: c.texts.tracking().to_string(),
        tracking_normalized,
        status: v.status,
        has_valid_tracking: v.status == Status::Valid,
        reasons: v.reasons.iter().collect(),
        detected_carriers: carriers
            .set_iter(c.detected)
            .map(|id| carriers.code(id).to_string())
            .collect(),
        confirmed_at: c.confirmed_at,
        promised_delivery_at: c.promised_delivery_at,
        first_scan_at: p.facts.first_scan,
        delivered_at: p.facts.first_delivery,
        is_final: v.is_final,
        revision: p.revision,
        warnings: v.warnings.iter().collect(),
        explanation: String::new(),
    };
    record.explanation = explain::explain(&explain::ExplainInput {
        record: &record,
        tracking: &tracking,
        facts: &p.facts,
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
        delivered_at: v.delivered_at,
        promised_delivery_at: v.promised_delivery_at,
        late_by: (v.confirmed_at - from).div_euclid(1000),
        reason,
    })
}
