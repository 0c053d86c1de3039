//! The generator proper: package births in time order, a min-heap of live packages keyed by
//! their next event time, and a small reorder stage for disorder and duplicates.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::ids::IdMaker;
use super::mix::{prob, Scenario};
use super::package::{self, Blueprint, EmitContext, Package};
use super::rng::{mix64, Rng};
use super::seller::{Seller, SellerPicker};
use super::{GenerateOptions, GenerateStats, PackageTruth};
use crate::event::{Action, Event, Millis, DAY_MS, HOUR_MS};

/// Share of events the reorder stage delays (by up to `disorder`).
const SHUFFLED_SHARE: f64 = 0.1;
/// A recycled ID comes back this long after its first use, at the earliest.
const RECYCLE_MIN_DELAY: Millis = 24 * DAY_MS;
/// … and at the latest.
const RECYCLE_MAX_DELAY: Millis = 31 * DAY_MS;
/// Relative activity of each UTC hour (US daytime is busiest).
const HOUR_WEIGHTS: [f64; 24] = [
    6.0, 5.0, 4.0, 3.0, 2.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 3.0, 4.5, 6.0, 7.0, 8.0, 8.0, 8.0,
    8.0, 8.0, 7.5, 7.0, 6.5,
];

/// An event waiting in the reorder stage, released in order of `key`.
#[derive(Debug)]
struct Pending {
    key: Millis,
    seq: u64,
    duplicate: bool,
    event: Box<Event>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.key, self.seq).cmp(&(other.key, other.seq))
    }
}

/// A seeded, reproducible stream of confirmations and scans in approximate event-time order.
///
/// Memory is proportional to the packages live at once (born, not yet finished), not to the
/// number of events. Iterate it to get the events; [`Generator::stats`] counts what was made.
pub struct Generator {
    opts: GenerateOptions,
    sellers: Vec<Seller>,
    picker: SellerPicker,
    ids: IdMaker,
    /// Per seller tier: scenario weights early in the run (recycling possible) and late.
    weights: [[Vec<f64>; 2]; 3],
    order_rng: Rng,
    jitter_rng: Rng,
    end: Millis,
    next_index: u64,
    next_serial: u64,
    next_order: u64,
    slab: Vec<Option<Package>>,
    free: Vec<u32>,
    heap: BinaryHeap<Reverse<(Millis, u64, u32)>>,
    seq: u64,
    buffer: BinaryHeap<Reverse<Pending>>,
    last_in: Millis,
    source_done: bool,
    stats: GenerateStats,
    event_salt: u64,
    order_salt: u64,
    peak_live: usize,
    truth: Option<Vec<PackageTruth>>,
}

impl Generator {
    /// A generator for `opts`.
    pub fn new(opts: &GenerateOptions) -> Generator {
        let opts = opts.clone();
        let sellers_n = opts.sellers.max(1);
        let sellers = (0..sellers_n)
            .map(|i| Seller::new(i, &opts))
            .collect::<Vec<_>>();
        let span = i64::from(opts.days.max(1)) * DAY_MS;
        let early = (span - RECYCLE_MIN_DELAY) as f64 / span as f64;
        let boost = if early > 0.0 {
            (1.0 / early).min(20.0)
        } else {
            0.0
        };
        let factors = [1.0, opts.mix.mediocre_factor, opts.mix.bad_factor];
        let weights = factors.map(|f| [opts.mix.weights(f, boost), opts.mix.weights(f, 0.0)]);
        Generator {
            picker: SellerPicker::new(sellers_n),
            sellers,
            ids: IdMaker::new(opts.seed),
            weights,
            order_rng: Rng::stream(opts.seed, u64::MAX),
            jitter_rng: Rng::stream(opts.seed, u64::MAX - 1),
            end: opts.start + span,
            next_index: 0,
            next_serial: 0,
            next_order: 0,
            slab: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            buffer: BinaryHeap::new(),
            last_in: Millis::MIN,
            source_done: false,
            stats: GenerateStats::default(),
            event_salt: mix64(opts.seed ^ 0xE7E7),
            order_salt: mix64(opts.seed ^ 0x0D0D),
            peak_live: 0,
            truth: None,
            opts,
        }
    }

    /// What has been generated so far (complete once the iterator is exhausted).
    pub fn stats(&self) -> &GenerateStats {
        &self.stats
    }

    /// Also records every package's key and scenario (memory grows with the packages: for
    /// tests and demos, not for large runs).
    pub fn with_truth(mut self) -> Generator {
        self.truth = Some(Vec::new());
        self
    }

    /// The packages created so far with their scenarios, when [`Generator::with_truth`] was used.
    pub fn truth(&self) -> &[PackageTruth] {
        self.truth.as_deref().unwrap_or(&[])
    }

    /// The most packages that were live at once so far (a measure of memory use).
    pub fn peak_live_packages(&self) -> usize {
        self.peak_live
    }

    /// Birth time of the package with main-sequence index `i`: evenly spread over the run,
    /// jittered, and warped so that US daytime hours are busiest. Non-decreasing in `i`.
    fn birth_of(&self, i: u64) -> Millis {
        let n = self.opts.packages.max(1) as i128;
        let span = (self.end - self.opts.start) as i128;
        let base = i as i128 * span / n;
        let gap = ((i as i128 + 1) * span / n - base).max(1);
        let jitter = (mix64(self.opts.seed ^ mix64(i)) as i128) % gap;
        let t = self.opts.start + (base + jitter) as Millis;
        warp_day(t).clamp(self.opts.start, self.end - 1)
    }

    /// Admits every order born no later than the earliest pending event.
    fn admit_due(&mut self) {
        while self.next_index < self.opts.packages {
            let birth = self.birth_of(self.next_index);
            if matches!(self.heap.peek(), Some(Reverse((t, _, _))) if *t < birth) {
                break;
            }
            self.admit_order(birth);
        }
    }

    /// Creates one order (one or more packages) born at `birth`.
    fn admit_order(&mut self, birth: Millis) {
        let order = self.next_order;
        self.next_order += 1;
        let seller_index = self.picker.pick(&mut self.order_rng);
        let canada = self.sellers[seller_index as usize].in_canada && self.order_rng.chance(0.4);
        let category = self.sellers[seller_index as usize].category(&mut self.order_rng);
        let left = self.opts.packages.saturating_sub(self.next_index);
        let multi = self.order_rng.chance(prob(self.opts.mix.multi_package));
        let count = if multi {
            (2 + self.order_rng.below(2)).min(left)
        } else {
            1
        };
        let cancel = self.draw_cancellation();
        self.stats.orders += 1;
        if count > 1 {
            self.stats.multi_package_orders += 1;
        }
        for k in 0..count {
            let scenario = cancel.unwrap_or_else(|| self.draw_scenario(seller_index, birth));
            let part = OrderPart {
                seller_index,
                order,
                package_no: if count > 1 { k as u8 + 1 } else { 0 },
                canada,
                category,
                birth,
                emits_cancel: k == 0,
            };
            self.admit_package(&part, scenario, count - k - 1);
        }
    }

    fn draw_cancellation(&mut self) -> Option<Scenario> {
        let x = self.order_rng.unit();
        let before = prob(self.opts.mix.cancelled_before_confirm);
        let after = prob(self.opts.mix.cancelled_after_confirm);
        if x < before {
            Some(Scenario::CancelledBeforeConfirm)
        } else if x < before + after {
            Some(Scenario::CancelledAfterConfirm)
        } else {
            None
        }
    }

    fn draw_scenario(&mut self, seller_index: u32, birth: Millis) -> Scenario {
        let tier = self.sellers[seller_index as usize].tier.index();
        let late = usize::from(birth + RECYCLE_MIN_DELAY > self.end);
        let i = self.order_rng.weighted(&self.weights[tier][late]);
        Scenario::ALL.get(i).copied().unwrap_or(Scenario::Valid)
    }

    /// Plans and admits one package (`reserved` more of its order follow). A recycling
    /// scenario makes this package a valid one and schedules the later package that reuses its
    /// ID, when the budget of packages leaves room for it.
    fn admit_package(&mut self, part: &OrderPart, scenario: Scenario, reserved: u64) {
        let recycles = matches!(scenario, Scenario::RecycledId | Scenario::ReusedOldId);
        let left = self
            .opts
            .packages
            .saturating_sub(self.next_index + reserved);
        let first = if recycles { Scenario::Valid } else { scenario };
        let pkg = self.plan(part, first, None);
        if recycles && left >= 2 && pkg.carrier().is_some() {
            let old = (pkg.carrier(), pkg.scanned_id().to_string());
            self.spawn_reuse(part, scenario, old);
        }
        self.insert(pkg, first);
    }

    /// Schedules a package weeks later that uses the same tracking ID again.
    fn spawn_reuse(
        &mut self,
        part: &OrderPart,
        scenario: Scenario,
        old: (Option<super::carrier::Carrier>, String),
    ) {
        let (Some(carrier), id) = old else { return };
        let latest = (self.end - 1 - part.birth).min(RECYCLE_MAX_DELAY);
        let delay = self
            .order_rng
            .range(RECYCLE_MIN_DELAY, latest.max(RECYCLE_MIN_DELAY));
        let seller_index = match scenario {
            Scenario::RecycledId => self.picker.pick(&mut self.order_rng),
            _ => part.seller_index,
        };
        let later = OrderPart {
            seller_index,
            order: self.next_order,
            package_no: 0,
            canada: part.canada,
            category: self.sellers[seller_index as usize].category(&mut self.order_rng),
            birth: part.birth + delay,
            emits_cancel: false,
        };
        self.next_order += 1;
        self.stats.orders += 1;
        let pkg = self.plan(&later, scenario, Some((carrier, id)));
        self.insert(pkg, scenario);
    }

    fn plan(
        &mut self,
        part: &OrderPart,
        scenario: Scenario,
        old_id: Option<(super::carrier::Carrier, String)>,
    ) -> Package {
        let serial = self.next_serial;
        self.next_serial += 1;
        let bp = Blueprint {
            serial,
            seller_index: part.seller_index,
            seller: &self.sellers[part.seller_index as usize],
            order_serial: part.order,
            package_no: part.package_no,
            canada: part.canada,
            category: part.category,
            birth: part.birth,
            scenario,
            emits_cancel: part.emits_cancel,
            old_id,
        };
        package::plan(&bp, &self.ids, self.opts.seed)
    }

    /// Counts the package and puts it in the heap at its first event.
    fn insert(&mut self, pkg: Package, scenario: Scenario) {
        self.next_index += 1;
        self.stats.packages += 1;
        self.stats.scenarios[scenario.index()] += 1;
        if let Some(truth) = self.truth.as_mut() {
            let cx = EmitContext {
                sellers: &self.sellers,
                categories: &self.opts.categories,
                event_salt: self.event_salt,
                order_salt: self.order_salt,
            };
            truth.push(pkg.truth(&cx, scenario));
        }
        let Some(t) = pkg.next_time() else { return };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(pkg);
                s
            }
            None => {
                self.slab.push(Some(pkg));
                (self.slab.len() - 1) as u32
            }
        };
        self.push(t, slot);
        self.peak_live = self.peak_live.max(self.heap.len());
    }

    fn push(&mut self, t: Millis, slot: u32) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, slot)));
    }

    /// The next event in exact event-time order.
    fn next_in_order(&mut self) -> Option<Event> {
        self.admit_due();
        let Reverse((_, _, slot)) = self.heap.pop()?;
        let cx = EmitContext {
            sellers: &self.sellers,
            categories: &self.opts.categories,
            event_salt: self.event_salt,
            order_salt: self.order_salt,
        };
        let pkg = self.slab.get_mut(slot as usize)?.as_mut()?;
        let event = pkg.emit(&cx);
        match pkg.next_time() {
            Some(t) => self.push(t, slot),
            None => {
                self.slab[slot as usize] = None;
                self.free.push(slot);
            }
        }
        event
    }

    /// Puts an event (and maybe its duplicate) in the reorder stage, or gives it back when it
    /// can go out at once (not delayed, and nothing waiting is due before it).
    fn enqueue(&mut self, event: Event) -> Option<Event> {
        let t = event.event_time();
        let disorder = self.opts.disorder.max(0);
        let delay = if disorder > 0 && self.jitter_rng.chance(SHUFFLED_SHARE) {
            self.jitter_rng.range(0, disorder)
        } else {
            0
        };
        if self.jitter_rng.chance(prob(self.opts.duplicate_rate)) {
            let key = t + self.jitter_rng.range(0, disorder);
            self.queue(key, true, event.clone());
        }
        let first = match self.buffer.peek() {
            Some(Reverse(top)) => top.key > t + delay,
            None => true,
        };
        if delay == 0 && first {
            return Some(event);
        }
        self.queue(t + delay, false, event);
        None
    }

    fn queue(&mut self, key: Millis, duplicate: bool, event: Event) {
        self.seq += 1;
        let seq = self.seq;
        self.buffer.push(Reverse(Pending {
            key,
            seq,
            duplicate,
            event: Box::new(event),
        }));
    }

    fn count(&mut self, duplicate: bool, event: &Event) {
        self.stats.duplicates += u64::from(duplicate);
        match event {
            Event::Confirmation(c) => {
                self.stats.confirmations += 1;
                self.stats.cancellations += u64::from(c.action == Action::Cancel);
            }
            Event::Scan(_) => self.stats.scans += 1,
        }
    }
}

/// What the packages of one order share.
struct OrderPart {
    seller_index: u32,
    order: u64,
    package_no: u8,
    canada: bool,
    category: u16,
    birth: Millis,
    emits_cancel: bool,
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            let ready = match self.buffer.peek() {
                Some(Reverse(top)) => self.source_done || top.key <= self.last_in,
                None if self.source_done => return None,
                None => false,
            };
            if ready {
                let Reverse(p) = self.buffer.pop()?;
                self.count(p.duplicate, &p.event);
                return Some(*p.event);
            }
            match self.next_in_order() {
                Some(ev) => {
                    self.last_in = ev.event_time();
                    if let Some(ev) = self.enqueue(ev) {
                        self.count(false, &ev);
                        return Some(ev);
                    }
                }
                None => self.source_done = true,
            }
        }
    }
}

impl std::iter::FusedIterator for Generator {}

/// Moves `t` within its UTC day so that events follow the daily activity curve (monotone).
fn warp_day(t: Millis) -> Millis {
    let day = t.div_euclid(DAY_MS) * DAY_MS;
    let total: f64 = HOUR_WEIGHTS.iter().sum();
    let mut target = (t - day) as f64 / DAY_MS as f64 * total;
    for (h, w) in HOUR_WEIGHTS.iter().enumerate() {
        if target < *w {
            let within = (target / w * HOUR_MS as f64) as Millis;
            return day + h as Millis * HOUR_MS + within.min(HOUR_MS - 1);
        }
        target -= w;
    }
    day + DAY_MS - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warp_is_monotone_and_stays_in_the_day() {
        let mut prev = Millis::MIN;
        for k in 0..(2 * 24 * 60) {
            let t = 1_793_577_600_000 + k * 60_000;
            let w = warp_day(t);
            assert!(w >= prev, "{k}");
            assert_eq!(w.div_euclid(DAY_MS), t.div_euclid(DAY_MS));
            prev = w;
        }
    }

    #[test]
    fn births_never_go_back_in_time() {
        let opts = GenerateOptions {
            packages: 5000,
            days: 3,
            ..GenerateOptions::default()
        };
        let g = Generator::new(&opts);
        let mut prev = Millis::MIN;
        for i in 0..5000 {
            let b = g.birth_of(i);
            assert!(b >= prev && b >= opts.start && b < g.end);
            prev = b;
        }
    }
}
