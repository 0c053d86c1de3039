//! The tracking stage: per tracking ID, the physical scans within retention and the packages
//! subscribed to it. It answers every subscription with the facts of that package's own
//! window, and updates the answer when a new scan changes it (design guide section 2).

use super::few::Few;
use super::messages::{
    FactsMsg, LateReason, PackageRef, ScanFacts, ScanIn, Subscribe, TrackingInput, Unsubscribe,
};
use super::scans::ScanList;
use super::slab::Slab;
use super::text::PackedStr;
use crate::carriers::{CarrierId, CarrierSet};
use crate::config::EngineConfig;
use crate::event::{Millis, ScanType};
use hashbrown::HashTable;
use smallvec::SmallVec;
use std::hash::{Hash, Hasher};

/// Marks a scan whose reporting carrier is unknown.
const UNKNOWN_CARRIER: u8 = u8::MAX;

/// What subscriptions have in common: the length of their window and the carriers they
/// accept. There are a handful of distinct shapes (about one per declared carrier), so a
/// subscription holds the index of its shape in [`Shapes`] instead of 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Shape {
    /// `to - from` (wrapping, so that `from + span` gives `to` back exactly).
    span: Millis,
    accepted: CarrierSet,
}

/// The distinct subscription shapes seen, in order of appearance.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Shapes(Vec<Shape>);

impl Shapes {
    /// The index of a shape, added when new.
    fn index(&mut self, shape: Shape) -> u32 {
        let i = match self.0.iter().position(|s| *s == shape) {
            Some(i) => i,
            None => {
                self.0.push(shape);
                self.0.len() - 1
            }
        };
        u32::try_from(i)
            .ok()
            .filter(|i| i & OVERLOADED == 0)
            .expect("fewer than 2^31 subscription shapes")
    }

    /// The window and accepted carriers of a subscription.
    fn window(&self, sub: &Sub) -> Window {
        let shape = self.0[(sub.shape & !OVERLOADED) as usize];
        Window {
            from: sub.from,
            to: sub.from.wrapping_add(shape.span),
            accepted: shape.accepted,
        }
    }
}

/// A subscription's window `[from, to]` and the carriers whose scans count in it.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Millis,
    to: Millis,
    accepted: CarrierSet,
}

/// A package's subscription to a tracking ID. The facts it was last sent are not kept: they
/// are the facts of the scans held, which a new scan's effect is compared with.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Sub {
    package: PackageRef,
    seq: u32,
    /// Index of its window length and accepted carriers in the stage's [`Shapes`]; the top bit
    /// marks a subscription beyond the fan-out bound.
    shape: u32,
    from: Millis,
}

/// The bit of [`Sub::shape`] that marks a subscription beyond the fan-out bound.
const OVERLOADED: u32 = 1 << 31;

impl Sub {
    /// Beyond the fan-out bound: scans are not matched.
    fn overloaded(&self) -> bool {
        self.shape & OVERLOADED != 0
    }
}

/// Everything known of one tracking ID.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Entry {
    tracking: PackedStr,
    scans: ScanList,
    subs: Few<Sub>,
}

/// The hash of a tracking ID.
fn tracking_hash(tracking: &PackedStr) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    tracking.hash(&mut h);
    h.finish()
}

/// What processing one message produced.
#[derive(Debug, Default)]
pub struct TrackingOutput {
    /// Answers for the order stage.
    pub facts: Vec<FactsMsg>,
    /// Scans that came too late, and why.
    pub late: Vec<(ScanIn, LateReason)>,
    /// The physical scan was held already (same carrier, time and delivery flag): a
    /// duplicate, or a scan of the same moment that adds nothing.
    pub repeated: bool,
}

/// Counters of the tracking stage.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct TrackingCounters {
    /// Non-physical scans (they never count).
    pub non_physical_scans: u64,
    /// Subscriptions beyond the fan-out bound.
    pub overloaded_subscriptions: u64,
}

/// The tracking stage's state for all tracking IDs of one task. Entries live in an arena
/// and are found through a hash index of their `u32` positions (the key is stored once).
#[derive(Debug)]
pub struct TrackingStage {
    cfg: EngineConfig,
    entries: Slab<Entry>,
    index: HashTable<u32>,
    shapes: Shapes,
    now: Millis,
    /// With [`TrackingStage::following_order_progress`] (`vtrack run`): the bound of the last
    /// [`TrackingStage::expire_before`], before which a scan is beyond retention. `None`:
    /// this stage's own time decides (in process, where the order stage shares it).
    retention_bound: Option<Millis>,
    /// Counters since start.
    pub counters: TrackingCounters,
}

impl TrackingStage {
    /// An empty stage.
    pub fn new(cfg: EngineConfig) -> Self {
        TrackingStage {
            cfg,
            entries: Slab::default(),
            index: HashTable::new(),
            shapes: Shapes::default(),
            now: Millis::MIN,
            retention_bound: None,
            counters: TrackingCounters::default(),
        }
    }

    /// A stage whose scans are beyond retention only before the order tasks' progress
    /// bound, as [`TrackingStage::expire_before`] receives it, not before its own time less
    /// the windows: its own time can run ahead of an order task that is behind, whose
    /// subscriptions could still reach such a scan. Until a bound is known, no scan is.
    pub fn following_order_progress(mut self) -> Self {
        self.retention_bound = Some(Millis::MIN);
        self
    }

    /// Processes one message.
    pub fn handle(&mut self, msg: TrackingInput, out: &mut TrackingOutput) {
        match msg {
            TrackingInput::Scan(s) => self.scan(s, out),
            TrackingInput::Subscribe(s) => self.subscribe(s, out),
            TrackingInput::Unsubscribe(u) => self.unsubscribe(u),
        }
    }

    /// Moves event time forward.
    pub fn advance(&mut self, now: Millis) {
        self.now = self.now.max(now);
    }

    /// Scans older than this can reach no open or future window.
    fn retention_start(&self) -> Millis {
        self.retention_bound.unwrap_or_else(|| {
            self.now
                .saturating_sub(self.cfg.horizon)
                .saturating_sub(self.cfg.lookback)
        })
    }

    /// The position of a tracking ID's entry, if held.
    fn find(&self, tracking: &PackedStr) -> Option<u32> {
        let entries = &self.entries;
        self.index
            .find(tracking_hash(tracking), |&i| {
                entries[i].tracking == *tracking
            })
            .copied()
    }

    /// The position of a tracking ID's entry, added (empty) when new.
    fn entry(&mut self, tracking: &PackedStr) -> u32 {
        if let Some(i) = self.find(tracking) {
            return i;
        }
        let i = self.entries.push(Entry {
            tracking: tracking.clone(),
            ..Entry::default()
        });
        let entries = &self.entries;
        self.index.insert_unique(tracking_hash(tracking), i, |&j| {
            tracking_hash(&entries[j].tracking)
        });
        i
    }

    fn scan(&mut self, s: ScanIn, out: &mut TrackingOutput) {
        if !s.scan_type.is_physical() {
            self.counters.non_physical_scans += 1;
            return;
        }
        if s.scanned_at < self.retention_start() {
            out.late.push((s, LateReason::ScanBeyondRetention));
            return;
        }
        let now = self.now;
        let i = self.entry(&s.tracking);
        let entry = &mut self.entries[i];
        let carrier = s.carrier.unwrap_or(UNKNOWN_CARRIER);
        // The facts each subscription holds are those of the scans held before this one.
        let mut before: SmallVec<[(usize, Window, ScanFacts); 2]> = SmallVec::new();
        for (k, sub) in entry.subs.iter().enumerate() {
            let w = self.shapes.window(sub);
            if !sub.overloaded() && (w.from..=w.to).contains(&s.scanned_at) {
                before.push((k, w, facts_for(&entry.scans, &w)));
            }
        }
        if !record_scan(entry, carrier, s.scan_type, s.scanned_at) {
            out.repeated = true;
            return;
        }
        let mut late_for_closed = false;
        for (k, w, held) in before {
            let merged = held.merge(single_scan_facts(&w, carrier, s.scan_type, s.scanned_at));
            if merged == held {
                continue;
            }
            if now >= w.to {
                late_for_closed = true;
                continue;
            }
            let sub = &entry.subs[k];
            out.facts.push(FactsMsg {
                package: sub.package.clone(),
                seq: sub.seq,
                facts: merged,
            });
        }
        if late_for_closed {
            out.late.push((s, LateReason::ScanForClosedWindow));
        }
    }

    fn subscribe(&mut self, s: Subscribe, out: &mut TrackingOutput) {
        let max = self.cfg.max_packages_per_tracking_id as usize;
        let i = self.entry(&s.tracking);
        let entry = &mut self.entries[i];
        entry.subs.retain(|sub| sub.package != s.package);
        // Only the subscriptions whose window reaches this one's start count toward the
        // bound: a placeholder typed over months is not one typed by many sellers at once,
        // and the count does not depend on which ended windows expiry has dropped yet.
        let shapes = &self.shapes;
        let concurrent = entry
            .subs
            .iter()
            .filter(|sub| shapes.window(sub).to >= s.from)
            .count();
        let overloaded = concurrent >= max;
        if overloaded {
            self.counters.overloaded_subscriptions += 1;
        }
        let shape = self.shapes.index(Shape {
            span: s.to.wrapping_sub(s.from),
            accepted: s.accepted,
        });
        let sub = Sub {
            package: s.package,
            seq: s.seq,
            shape: if overloaded {
                shape | OVERLOADED
            } else {
                shape
            },
            from: s.from,
        };
        let facts = if overloaded {
            ScanFacts {
                overloaded: true,
                ..ScanFacts::default()
            }
        } else {
            facts_for(&entry.scans, &self.shapes.window(&sub))
        };
        out.facts.push(FactsMsg {
            package: sub.package.clone(),
            seq: sub.seq,
            facts,
        });
        entry.subs.push(sub);
    }

    fn unsubscribe(&mut self, u: Unsubscribe) {
        let Some(i) = self.find(&u.tracking) else {
            return;
        };
        let entry = &mut self.entries[i];
        entry.subs.retain(|sub| sub.package != u.package);
        if entry.subs.is_empty() && entry.scans.is_empty() {
            self.remove(i);
        }
    }

    /// Drops an entry.
    fn remove(&mut self, i: u32) {
        let hash = tracking_hash(&self.entries[i].tracking);
        if let Ok(found) = self.index.find_entry(hash, |&j| j == i) {
            found.remove();
        }
        self.entries.remove(i);
    }

    /// Drops scans no open or future window can reach, and tracking IDs left with nothing,
    /// as of this stage's own event time (in process, where the order stage shares it).
    /// Returns the number of tracking IDs dropped.
    pub fn expire(&mut self) -> usize {
        self.expire_before(self.retention_start())
    }

    /// Drops what no later message can need once no future subscription starts before
    /// `bound`: the subscriptions whose window ends before it (a scan in such a window is
    /// beyond retention, so late, whatever it finds), then the scans before it that no
    /// remaining window holds (the facts those windows were given stay the facts of the
    /// scans held), then tracking IDs left with nothing. In `vtrack run` the bound comes
    /// from the order tasks' progress, not from this stage's time: a subscription can be
    /// in flight from an order task that is behind. Returns the number of tracking IDs
    /// dropped.
    pub fn expire_before(&mut self, bound: Millis) -> usize {
        if let Some(b) = &mut self.retention_bound {
            *b = (*b).max(bound);
        }
        let shapes = &self.shapes;
        let entries = &mut self.entries;
        let mut emptied = Vec::new();
        self.index.retain(|&mut i| {
            let e = &mut entries[i];
            e.subs.retain(|sub| shapes.window(sub).to >= bound);
            let start = e.subs.iter().map(|sub| sub.from).fold(bound, Millis::min);
            e.scans.retain_from(start);
            let keep = !(e.scans.is_empty() && e.subs.is_empty());
            if !keep {
                emptied.push(i);
            }
            keep
        });
        let dropped = emptied.len();
        for i in emptied {
            self.entries.remove(i);
        }
        dropped
    }

    /// Number of tracking IDs held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no tracking ID is held.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Approximate bytes of state held (arena, index, long keys, scans, subscriptions).
    pub fn state_bytes(&self) -> usize {
        let heap: usize = self
            .entries
            .iter()
            .map(|e| {
                e.tracking.heap_bytes()
                    + e.scans.heap_bytes()
                    + e.subs.heap_bytes()
                    + e.subs
                        .iter()
                        .map(|s| s.package.order.heap_bytes())
                        .sum::<usize>()
            })
            .sum();
        self.entries.allocated_bytes()
            + self.index.allocation_size()
            + self.shapes.0.capacity() * std::mem::size_of::<Shape>()
            + heap
    }
}

/// Adds a physical scan; false when it was already known (a duplicate changes nothing).
fn record_scan(entry: &mut Entry, carrier: u8, kind: ScanType, at: Millis) -> bool {
    entry.scans.insert(carrier, at, kind == ScanType::Delivered)
}

fn accepts(w: &Window, carrier: u8) -> bool {
    carrier != UNKNOWN_CARRIER && w.accepted & (1 << carrier) != 0
}

fn as_carrier(carrier: u8) -> Option<CarrierId> {
    (carrier != UNKNOWN_CARRIER).then_some(carrier)
}

/// The facts one scan adds for a subscription whose window contains it.
fn single_scan_facts(w: &Window, carrier: u8, kind: ScanType, at: Millis) -> ScanFacts {
    if accepts(w, carrier) {
        ScanFacts {
            first_scan: Some(at),
            first_delivery: (kind == ScanType::Delivered).then_some(at),
            ..ScanFacts::default()
        }
    } else {
        ScanFacts {
            other_carrier: Some(as_carrier(carrier)),
            ..ScanFacts::default()
        }
    }
}

/// The facts of all known scans for a subscription's window (one pass: lists are short).
fn facts_for(scans: &ScanList, w: &Window) -> ScanFacts {
    let mut facts = ScanFacts::default();
    for (carrier, at, delivered) in scans.iter() {
        if at < w.from || at > w.to {
            continue;
        }
        let one = if accepts(w, carrier) {
            ScanFacts {
                first_scan: Some(at),
                first_delivery: delivered.then_some(at),
                ..ScanFacts::default()
            }
        } else {
            ScanFacts {
                other_carrier: Some(as_carrier(carrier)),
                ..ScanFacts::default()
            }
        };
        facts = facts.merge(one);
    }
    facts
}

/// A tracking stage's state, borrowed, as a snapshot writes it (inside
/// [`super::intern::with_symbols`]). Read it back as a [`TrackingState`].
#[derive(serde::Serialize)]
pub struct TrackingStateRef<'a> {
    entries: &'a Slab<Entry>,
    shapes: &'a Shapes,
    now: Millis,
    retention_bound: Option<Millis>,
    counters: TrackingCounters,
}

/// A tracking stage's state read from a snapshot (inside [`super::intern::with_symbols`]).
#[derive(serde::Deserialize)]
pub struct TrackingState {
    entries: Slab<Entry>,
    shapes: Shapes,
    now: Millis,
    retention_bound: Option<Millis>,
    counters: TrackingCounters,
}

impl TrackingStage {
    /// The state a snapshot holds: entries (arena positions included), shapes, event time.
    pub fn state(&self) -> TrackingStateRef<'_> {
        TrackingStateRef {
            entries: &self.entries,
            shapes: &self.shapes,
            now: self.now,
            retention_bound: self.retention_bound,
            counters: self.counters,
        }
    }

    /// A stage holding a snapshot's state; the hash index is rebuilt from the entries.
    pub fn from_state(state: TrackingState, cfg: EngineConfig) -> Self {
        let mut stage = TrackingStage::new(cfg);
        stage.entries = state.entries;
        stage.shapes = state.shapes;
        stage.now = state.now;
        stage.retention_bound = state.retention_bound;
        stage.counters = state.counters;
        let entries = &stage.entries;
        for i in entries.live_indices() {
            let hash = tracking_hash(&entries[i].tracking);
            stage
                .index
                .insert_unique(hash, i, |&j| tracking_hash(&entries[j].tracking));
        }
        stage
    }
}
