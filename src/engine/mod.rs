//! The pure engine: every VTR rule, no I/O, no clock. Event time is passed in.
//!
//! Three stages exchange messages as the design guide describes: the [`order`] stage keeps
//! each package's verdict, the [`tracking`] stage keeps scans per tracking ID and answers
//! subscriptions, the [`seller`] stage keeps the rolling VTR numbers. [`Engine`] wires the
//! three together in one process with in-memory queues; the Kafka driver wires the same
//! stages over internal topics.

pub mod explain;
pub mod few;
pub mod intern;
pub mod messages;
pub mod order;
pub mod scans;
pub mod seller;
pub mod slab;
pub mod text;
pub mod timers;
pub mod tracking;
pub mod verdict;

use crate::carriers::CarrierRegistry;
use crate::config::EngineConfig;
use crate::event::{utc_day, Confirmation, Event, Millis, Scan};
use crate::records::{LateConfirmationRecord, SellerVtrRecord, VerdictRecord};
use crate::tracking_id::{normalize, TrackingId};
use intern::Interner;
use messages::{LateReason, ScanIn, TrackingInput};
use order::{ConfirmOutcome, OrderOutput, OrderStage};
use seller::{SellerStage, SellerUpdate};
use std::collections::VecDeque;
use std::sync::Arc;
use tracking::{TrackingOutput, TrackingStage};

/// The hash map used for engine state: hashbrown with the Fx hasher.
pub type FastMap<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// An event the engine did not apply, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LateEvent {
    /// The original event.
    pub event: Event,
    /// Why it was late.
    pub reason: LateReason,
}

/// Records written since the last [`Engine::take_outputs`] (streaming mode).
#[derive(Debug, Default)]
pub struct Outputs {
    /// Verdict records, in the order they were decided.
    pub verdicts: Vec<VerdictRecord>,
    /// Late-confirmation records.
    pub late_confirmations: Vec<LateConfirmationRecord>,
    /// Events that arrived too late to change anything.
    pub late_events: Vec<LateEvent>,
}

/// Counters of what the engine saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EngineCounters {
    /// Confirmation events processed (duplicates included).
    pub confirmations: u64,
    /// Scan events processed (duplicates included).
    pub scans: u64,
    /// Events ignored because their event_id was seen before.
    pub duplicates: u64,
    /// Events that arrived after the windows they could change had closed.
    pub late_events: u64,
    /// Non-physical scans (they never count).
    pub non_physical_scans: u64,
    /// Subscriptions beyond the per-tracking-ID bound.
    pub overloaded_subscriptions: u64,
}

/// A scan the engine cannot use: its tracking ID is blank or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The scan's tracking ID is blank or has characters other than ASCII letters and digits.
    #[error("field `tracking_id`: {0}")]
    BadScanTrackingId(&'static str),
}

/// Sizes of the engine's state.
#[derive(Debug, Default, Clone, Copy)]
pub struct StateStats {
    /// Packages held by the order stage.
    pub packages: usize,
    /// Tracking IDs held by the tracking stage.
    pub tracking_ids: usize,
    /// Approximate bytes held by the order stage.
    pub order_bytes: usize,
    /// Approximate bytes held by the tracking stage.
    pub tracking_bytes: usize,
    /// Approximate bytes held by the seller stage.
    pub seller_bytes: usize,
    /// Approximate bytes held by the interner.
    pub other_bytes: usize,
    /// Approximate bytes held by the duplicate filter (per event id, not per package).
    pub dedup_bytes: usize,
}

impl StateStats {
    /// Bytes of state per package held.
    pub fn bytes_per_package(&self) -> f64 {
        let total = self.order_bytes + self.tracking_bytes + self.seller_bytes + self.other_bytes;
        total as f64 / self.packages.max(1) as f64
    }
}

/// Seed of the duplicate filter's event-id hash.
const DEDUP_SEED: u64 = 0x7674_7261_636b_2d31;

/// A 64-bit hash of an event id: one pass of a hash of good quality (foldhash, fixed seed:
/// the same ids give the same keys in every run).
pub fn event_id_hash(event_id: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(DEDUP_SEED).hash_one(event_id)
}

/// Which input an event id belongs to: confirmations and scans come from different
/// producers, so the same id in both is two events.
#[derive(Debug, Clone, Copy)]
enum IdSpace {
    Confirmations,
    Scans,
}

/// A set of 64-bit event-id hashes.
type IdSet = hashbrown::HashSet<u64, rustc_hash::FxBuildHasher>;

/// Remembers the event ids of the run (as 64-bit hashes), per input, to drop duplicates. A
/// confirmation id is remembered whatever its time. Scans are six times as many, so their
/// ids are kept per UTC day of the scan time: the set of the day at hand stays in the cache,
/// and a carrier that sends a scan again sends the same time (the contract: producers never
/// reuse an id for another event). Replay and the demo are bounded runs; the Kafka driver
/// does not use it (its stages are idempotent).
#[derive(Debug, Default)]
struct Dedup {
    confirmations: IdSet,
    scan_days: FastMap<i32, IdSet>,
    /// The driver drops duplicates itself: every event is a first.
    off: bool,
}

impl Dedup {
    /// True the first time an event id is seen in its input.
    fn first_time(&mut self, space: IdSpace, event_time: Millis, event_id: &str) -> bool {
        if self.off {
            return true;
        }
        let key = event_id_hash(event_id);
        match space {
            IdSpace::Confirmations => self.confirmations.insert(key),
            IdSpace::Scans => self.scan_day(utc_day(event_time)).insert(key),
        }
    }

    /// The scan ids of a day, a new day's set sized like the busiest day so far (days see
    /// similar traffic, and growing a large set step by step rehashes it each time).
    fn scan_day(&mut self, day: i32) -> &mut IdSet {
        if !self.scan_days.contains_key(&day) {
            let busiest = self.scan_days.values().map(|s| s.len()).max().unwrap_or(0);
            let ids = IdSet::with_capacity_and_hasher(busiest, Default::default());
            self.scan_days.insert(day, ids);
        }
        self.scan_days.get_mut(&day).expect("inserted above")
    }

    /// Forgets the scan ids of the days before `day`.
    fn forget_scans_before(&mut self, day: i32) {
        self.scan_days.retain(|d, _| *d >= day);
    }

    fn bytes(&self) -> usize {
        self.confirmations.allocation_size()
            + self
                .scan_days
                .values()
                .map(IdSet::allocation_size)
                .sum::<usize>()
    }
}

/// The three stages wired together in one process.
pub struct Engine {
    cfg: EngineConfig,
    carriers: Arc<CarrierRegistry>,
    syms: Interner,
    order: OrderStage,
    tracking: TrackingStage,
    seller: SellerStage,
    dedup: Dedup,
    to_tracking: VecDeque<TrackingInput>,
    /// Reused buffers for the stages' outputs (always empty between calls).
    order_out: OrderOutput,
    tracking_out: TrackingOutput,
    outputs: Outputs,
    counters: EngineCounters,
    now: Millis,
}

impl Engine {
    /// A new engine. With `emit_records`, every verdict change is written to
    /// [`Engine::take_outputs`] (streaming); without, only the final state is read (replay).
    pub fn new(cfg: EngineConfig, carriers: Arc<CarrierRegistry>, emit_records: bool) -> Self {
        Engine {
            order: OrderStage::new(cfg.clone(), carriers.clone(), emit_records),
            tracking: TrackingStage::new(cfg.clone()),
            seller: SellerStage::new(cfg.clone()),
            cfg,
            carriers,
            syms: Interner::default(),
            dedup: Dedup::default(),
            to_tracking: VecDeque::new(),
            order_out: OrderOutput::default(),
            tracking_out: TrackingOutput::default(),
            outputs: Outputs::default(),
            counters: EngineCounters::default(),
            now: Millis::MIN,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Processes one event. Only a scan with a blank or malformed tracking ID is refused.
    pub fn process(&mut self, event: Event) -> Result<(), EngineError> {
        match event {
            Event::Confirmation(c) => {
                self.process_confirmation(c);
                Ok(())
            }
            Event::Scan(s) => self.process_scan(s),
        }
    }

    /// Processes one confirmation, update or cancellation.
    pub fn process_confirmation(&mut self, c: Confirmation) {
        self.counters.confirmations += 1;
        if !self
            .dedup
            .first_time(IdSpace::Confirmations, c.confirmed_at, &c.event_id)
        {
            self.counters.duplicates += 1;
            return;
        }
        let mut out = std::mem::take(&mut self.order_out);
        let outcome = self.order.confirmation(&c, &mut self.syms, &mut out);
        if outcome == ConfirmOutcome::Duplicate {
            self.counters.duplicates += 1;
        }
        if outcome == ConfirmOutcome::Late {
            self.counters.late_events += 1;
            self.outputs.late_events.push(LateEvent {
                event: Event::Confirmation(c),
                reason: LateReason::WindowClosed,
            });
        }
        self.absorb(&mut out);
        self.order_out = out;
        self.drain();
    }

    /// Processes one carrier scan.
    pub fn process_scan(&mut self, s: Scan) -> Result<(), EngineError> {
        let tracking = match normalize(&s.tracking_id) {
            TrackingId::Normalized(id) => text::PackedStr::from(id.as_ref()),
            TrackingId::Blank => return Err(EngineError::BadScanTrackingId("blank")),
            TrackingId::Malformed { .. } => {
                return Err(EngineError::BadScanTrackingId(
                    "contains characters other than ASCII letters and digits",
                ))
            }
        };
        self.counters.scans += 1;
        if !self
            .dedup
            .first_time(IdSpace::Scans, s.scanned_at, &s.event_id)
        {
            self.counters.duplicates += 1;
            return Ok(());
        }
        let msg = ScanIn {
            carrier: self.carriers.resolve(&s.carrier),
            tracking,
            scan_type: s.scan_type,
            scanned_at: s.scanned_at,
        };
        let mut out = std::mem::take(&mut self.tracking_out);
        self.tracking.handle(TrackingInput::Scan(msg), &mut out);
        if let Some((_, reason)) = out.late.pop() {
            self.counters.late_events += 1;
            self.outputs.late_events.push(LateEvent {
                event: Event::Scan(s),
                reason,
            });
        }
        self.absorb_tracking(&mut out);
        self.tracking_out = out;
        self.drain();
        Ok(())
    }

    /// Moves event time (the watermark) forward to `now`: windows close, warnings appear.
    pub fn advance_to(&mut self, now: Millis) {
        if now <= self.now {
            return;
        }
        self.now = now;
        self.tracking.advance(now);
        let mut out = std::mem::take(&mut self.order_out);
        self.order.advance(now, &self.syms, &mut out);
        self.absorb(&mut out);
        self.order_out = out;
        self.drain();
    }

    /// Drops state no later event can change (streaming only: replay reads the final state).
    pub fn expire(&mut self) {
        self.tracking.expire();
        self.order.expire();
        let retention = self.cfg.lookback + self.cfg.horizon + self.cfg.allowed_lateness;
        let first_day = utc_day(self.now.saturating_sub(retention));
        self.dedup.forget_scans_before(first_day);
    }

    /// Hands the order stage's output on, leaving `out` empty (its buffers are reused).
    fn absorb(&mut self, out: &mut OrderOutput) {
        self.to_tracking.extend(out.to_tracking.drain(..));
        for d in out.to_seller.drain(..) {
            self.seller.apply(&d);
        }
        self.outputs.verdicts.append(&mut out.verdicts);
        self.outputs
            .late_confirmations
            .append(&mut out.late_confirmations);
    }

    /// Hands the tracking stage's answers to the order stage, leaving `out` empty. Only scans
    /// can be late, and `process_scan` reports those itself.
    fn absorb_tracking(&mut self, out: &mut TrackingOutput) {
        let mut order_out = std::mem::take(&mut self.order_out);
        for f in out.facts.drain(..) {
            self.order.facts(f, &self.syms, &mut order_out);
        }
        out.late.clear();
        self.absorb(&mut order_out);
        self.order_out = order_out;
    }

    /// Runs the stages until no message is in flight.
    fn drain(&mut self) {
        let mut out = std::mem::take(&mut self.tracking_out);
        while let Some(msg) = self.to_tracking.pop_front() {
            self.tracking.handle(msg, &mut out);
            self.absorb_tracking(&mut out);
        }
        self.tracking_out = out;
    }

    /// Feeds every event of `events` (bad ones are skipped), then moves event time to the
    /// greatest event time among them: a whole run in memory (benchmarks, profiling).
    pub fn process_all(&mut self, events: Vec<Event>) {
        let end = events
            .iter()
            .map(Event::event_time)
            .max()
            .unwrap_or(Millis::MIN);
        for e in events {
            let _ = self.process(e);
        }
        self.advance_to(end);
    }

    /// Records written since the last call (streaming mode).
    pub fn take_outputs(&mut self) -> Outputs {
        std::mem::take(&mut self.outputs)
    }

    /// Seller rows that changed since the last call (streaming mode).
    pub fn take_seller_updates(&mut self) -> Vec<SellerUpdate> {
        self.seller.take_updates(self.now, &self.syms)
    }

    /// The latest verdict of every package, sorted by package key.
    pub fn verdicts(&self) -> Vec<VerdictRecord> {
        self.order.verdict_records(&self.syms)
    }

    /// One record per package whose latest verdict carries a late-confirmation reason.
    pub fn late_confirmations(&self) -> Vec<LateConfirmationRecord> {
        self.order.late_confirmation_records(&self.syms)
    }

    /// Every seller/category/window with a package in the window, as of event time.
    pub fn seller_rows(&self) -> Vec<SellerVtrRecord> {
        self.seller.rows(self.now, &self.syms)
    }

    /// The latest verdict of one package (what `GET /v1/packages/…` answers).
    pub fn package(
        &self,
        seller_id: &str,
        order_id: &str,
        package_id: &str,
    ) -> Option<VerdictRecord> {
        self.order
            .package_record(&self.syms, seller_id, order_id, package_id)
    }

    /// One seller's rows as of event time (what `GET /v1/sellers/…/vtr` answers).
    pub fn seller_rows_of(&self, seller_id: &str) -> Vec<SellerVtrRecord> {
        self.seller.seller_rows(seller_id, self.now, &self.syms)
    }

    /// Turns the duplicate filter off, for a driver that drops duplicates itself (`replay`
    /// does, exactly, before applying any event).
    pub fn without_duplicate_filter(mut self) -> Self {
        self.dedup.off = true;
        self
    }

    /// What the engine saw.
    pub fn counters(&self) -> EngineCounters {
        let mut c = self.counters;
        c.non_physical_scans = self.tracking.counters.non_physical_scans;
        c.overloaded_subscriptions = self.tracking.counters.overloaded_subscriptions;
        c
    }

    /// Event time.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Writes every stage's state out and reads it back into a fresh interner, as a Kafka
    /// task's snapshot and restore do (symbols travel as strings and get new numbers). Nothing
    /// the engine writes afterwards may change; the property tests hold it to that.
    pub fn reload_state(&mut self) -> Result<(), serde_json::Error> {
        let order =
            intern::with_symbols(&mut self.syms, || serde_json::to_vec(&self.order.state()))?;
        let tracking = intern::with_symbols(&mut self.syms, || {
            serde_json::to_vec(&self.tracking.state())
        })?;
        let seller = serde_json::to_vec(&self.seller.state(&self.syms))?;
        let mut fresh = Interner::default();
        let order: order::OrderState =
            intern::with_symbols(&mut fresh, || serde_json::from_slice(&order))?;
        let tracking: tracking::TrackingState =
            intern::with_symbols(&mut fresh, || serde_json::from_slice(&tracking))?;
        let seller: seller::SellerState = serde_json::from_slice(&seller)?;
        let emit = self.order.emits_records();
        self.order = OrderStage::from_state(order, self.cfg.clone(), self.carriers.clone(), emit);
        self.tracking = TrackingStage::from_state(tracking, self.cfg.clone());
        self.seller = SellerStage::from_state(seller, self.cfg.clone(), &mut fresh);
        self.syms = fresh;
        Ok(())
    }

    /// Sizes of the state.
    pub fn state_stats(&self) -> StateStats {
        StateStats {
            packages: self.order.package_count(),
            tracking_ids: self.tracking.len(),
            order_bytes: self.order.state_bytes(),
            tracking_bytes: self.tracking.state_bytes(),
            seller_bytes: self.seller.state_bytes(),
            other_bytes: self.syms.heap_bytes(),
            dedup_bytes: self.dedup.bytes(),
        }
    }
}
