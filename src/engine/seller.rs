//! The seller stage: per marketplace, seller and category, package counts per metric day
//! and status; the rolling VTR windows of contract section 5.

use super::intern::{Interner, Sym};
use super::messages::{SellerDelta, SellerSlot};
use super::FastMap;
use crate::config::EngineConfig;
use crate::event::{utc_day, Millis};
use crate::records::{SellerVtrRecord, Status};
use std::collections::BTreeMap;

/// Counts per status, indexed by `Status as usize`.
type Counts = [i64; 4];

/// `(marketplace, seller, category or None for *, window days)`.
type WindowKey = (Sym, Sym, Option<Sym>, u32);

/// A package's metric date (contract section 5): the UTC day of its current confirmation's
/// `promised_delivery_at`, or of its `confirmed_at` where that is missing.
pub fn metric_day(confirmed_at: Millis, promised_delivery_at: Option<Millis>) -> i32 {
    crate::event::utc_day(promised_delivery_at.unwrap_or(confirmed_at))
}

/// Category symbol meaning "all categories" (`*`).
pub const ALL_CATEGORIES: &str = "*";

/// A seller-vtr output: a record, or a tombstone for a key whose counts all fell to 0.
#[derive(Debug, Clone, PartialEq)]
pub enum SellerUpdate {
    /// New numbers for the key.
    Record(SellerVtrRecord),
    /// The key `marketplace/seller_id/category/window_days` has nothing left.
    Tombstone(String),
}

/// The seller stage's state for all sellers of one task.
#[derive(Debug)]
pub struct SellerStage {
    cfg: EngineConfig,
    /// `(marketplace, seller)` → category → metric day → counts.
    sellers: FastMap<(Sym, Sym), FastMap<Sym, BTreeMap<i32, Counts>>>,
    /// Keys touched since the last `take_updates`.
    dirty: rustc_hash::FxHashSet<(Sym, Sym)>,
    /// Last written counts per `(marketplace, seller, category or None for *, window)`.
    written: FastMap<WindowKey, (i32, Counts)>,
    last_end_day: Option<i32>,
}

impl SellerStage {
    /// An empty stage.
    pub fn new(cfg: EngineConfig) -> Self {
        SellerStage {
            cfg,
            sellers: FastMap::default(),
            dirty: Default::default(),
            written: FastMap::default(),
            last_end_day: None,
        }
    }

    /// Applies one package's move between slots.
    pub fn apply(&mut self, d: &SellerDelta) {
        if let (Some(old), Some(new)) = (d.old, d.new) {
            if (old.marketplace, old.category, old.day) == (new.marketplace, new.category, new.day)
            {
                // Only the status changed: one look-up moves the count.
                let counts = self.counts(d.seller, new);
                counts[old.status as usize] -= 1;
                counts[new.status as usize] += 1;
                self.dirty.insert((new.marketplace, d.seller));
                return;
            }
        }
        if let Some(old) = d.old {
            self.add(d.seller, old, -1);
        }
        if let Some(new) = d.new {
            self.add(d.seller, new, 1);
        }
    }

    /// The counts of a slot's day, added (zero) when new.
    fn counts(&mut self, seller: Sym, slot: SellerSlot) -> &mut Counts {
        self.sellers
            .entry((slot.marketplace, seller))
            .or_default()
            .entry(slot.category)
            .or_default()
            .entry(slot.day)
            .or_default()
    }

    fn add(&mut self, seller: Sym, slot: SellerSlot, n: i64) {
        let days = self
            .sellers
            .entry((slot.marketplace, seller))
            .or_default()
            .entry(slot.category)
            .or_default();
        let counts = days.entry(slot.day).or_default();
        counts[slot.status as usize] += n;
        if counts.iter().all(|c| *c == 0) {
            days.remove(&slot.day);
        }
        self.dirty.insert((slot.marketplace, seller));
    }

    /// Every `(marketplace, seller, category or *, window)` with a package in its window as of `as_of`.
    pub fn rows(&self, as_of: Millis, syms: &Interner) -> Vec<SellerVtrRecord> {
        let mut rows = Vec::new();
        for (&(mkt, seller), cats) in &self.sellers {
            for (key, counts) in self.window_counts(cats, as_of) {
                if counts.iter().any(|c| *c != 0) {
                    rows.push(self.record(syms, mkt, seller, key.0, key.1, as_of, counts));
                }
            }
        }
        sort_rows(&mut rows);
        rows
    }

    /// Number of seller rows (marketplace, seller, category or `*`, window) last written.
    pub fn row_count(&self) -> usize {
        self.written.len()
    }

    /// The rows of one seller (every marketplace, category or `*`, and window) as of `as_of`.
    pub fn seller_rows(
        &self,
        seller_id: &str,
        as_of: Millis,
        syms: &Interner,
    ) -> Vec<SellerVtrRecord> {
        let Some(seller) = syms.get(seller_id) else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for (&(mkt, s), cats) in &self.sellers {
            if s != seller {
                continue;
            }
            for (key, counts) in self.window_counts(cats, as_of) {
                if counts.iter().any(|c| *c != 0) {
                    rows.push(self.record(syms, mkt, seller, key.0, key.1, as_of, counts));
                }
            }
        }
        sort_rows(&mut rows);
        rows
    }

    /// The rows whose numbers changed since the last call, or whose window slid, and
    /// tombstones for keys that fell to nothing. Old days leave the state as they leave the
    /// longest window.
    pub fn take_updates(&mut self, as_of: Millis, syms: &Interner) -> Vec<SellerUpdate> {
        let end = utc_day(as_of);
        let slid = self.last_end_day != Some(end);
        self.last_end_day = Some(end);
        let keys: Vec<(Sym, Sym)> = if slid {
            self.sellers.keys().copied().collect()
        } else {
            self.dirty.iter().copied().collect()
        };
        self.dirty.clear();
        let mut out = Vec::new();
        for (mkt, seller) in keys {
            let counts = match self.sellers.get(&(mkt, seller)) {
                Some(cats) => self.window_counts(cats, as_of),
                None => Vec::new(),
            };
            for ((cat, window), c) in counts {
                let start = end - window as i32 + 1;
                let wkey = (mkt, seller, cat, window);
                let before = self.written.get(&wkey).copied();
                let empty = c.iter().all(|n| *n == 0);
                if empty {
                    if before.is_some() {
                        self.written.remove(&wkey);
                        let cat_name = cat.map_or(ALL_CATEGORIES, |c| syms.resolve(c));
                        out.push(SellerUpdate::Tombstone(crate::records::seller_vtr_key(
                            syms.resolve(mkt),
                            syms.resolve(seller),
                            cat_name,
                            window,
                        )));
                    }
                } else if before != Some((start, c)) {
                    self.written.insert(wkey, (start, c));
                    out.push(SellerUpdate::Record(
                        self.record(syms, mkt, seller, cat, window, as_of, c),
                    ));
                }
            }
        }
        if slid {
            self.expire_days(end);
        }
        out
    }

    /// Drops metric days that left the longest window.
    fn expire_days(&mut self, end: i32) {
        let first_kept = end - self.cfg.longest_window_days() as i32 + 1;
        for cats in self.sellers.values_mut() {
            for days in cats.values_mut() {
                *days = days.split_off(&first_kept);
            }
            cats.retain(|_, days| !days.is_empty());
        }
        self.sellers.retain(|_, cats| !cats.is_empty());
    }

    /// Counts per (category or `None` for all, window) as of `as_of`.
    fn window_counts(
        &self,
        cats: &FastMap<Sym, BTreeMap<i32, Counts>>,
        as_of: Millis,
    ) -> Vec<((Option<Sym>, u32), Counts)> {
        let end = utc_day(as_of);
        let mut out = Vec::new();
        for &window in &self.cfg.seller_windows_days {
            let start = end - window as i32 + 1;
            let mut all: Counts = [0; 4];
            for (&cat, days) in cats {
                let mut c: Counts = [0; 4];
                for (_, day_counts) in days.range(start..=end) {
                    for i in 0..4 {
                        c[i] += day_counts[i];
                    }
                }
                for i in 0..4 {
                    all[i] += c[i];
                }
                out.push(((Some(cat), window), c));
            }
            out.push(((None, window), all));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        syms: &Interner,
        mkt: Sym,
        seller: Sym,
        cat: Option<Sym>,
        window: u32,
        as_of: Millis,
        c: Counts,
    ) -> SellerVtrRecord {
        let end = utc_day(as_of);
        let n = |s: Status| c[s as usize].max(0) as u64;
        let (valid, invalid) = (n(Status::Valid), n(Status::Invalid));
        let vtr = (valid + invalid > 0).then(|| valid as f64 / (valid + invalid) as f64);
        SellerVtrRecord {
            marketplace: syms.resolve(mkt).to_string(),
            seller_id: syms.resolve(seller).to_string(),
            category: cat.map_or(ALL_CATEGORIES, |c| syms.resolve(c)).to_string(),
            window_days: window,
            as_of,
            window_start: end - window as i32 + 1,
            window_end: end,
            valid,
            invalid,
            excluded: n(Status::Excluded),
            pending: n(Status::Pending),
            vtr,
            threshold: self.cfg.vtr_threshold,
            at_risk: vtr.is_some_and(|v| v < self.cfg.vtr_threshold),
        }
    }

    /// Approximate bytes of state held.
    pub fn state_bytes(&self) -> usize {
        self.sellers
            .values()
            .map(|cats| {
                64 + cats
                    .values()
                    .map(|days| 48 + days.len() * (4 + 32 + 16))
                    .sum::<usize>()
            })
            .sum::<usize>()
            + self.written.len() * 64
    }
}

/// Sorts rows by marketplace, seller, category, window.
fn sort_rows(rows: &mut [SellerVtrRecord]) {
    rows.sort_by(|a, b| {
        (&a.marketplace, &a.seller_id, &a.category, a.window_days).cmp(&(
            &b.marketplace,
            &b.seller_id,
            &b.category,
            b.window_days,
        ))
    });
}

/// Counts per metric day of one category.
type DayCounts = Vec<(i32, Counts)>;
/// A seller's categories, by name, with their counts per day.
type NamedCategories = Vec<(String, DayCounts)>;
/// A written row's key, with names: marketplace, seller, category (`None` for `*`), window.
type NamedRowKey = (String, String, Option<String>, u32);

/// A seller stage's state as a snapshot holds it, with strings instead of symbols.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SellerState {
    sellers: Vec<(String, String, NamedCategories)>,
    dirty: Vec<(String, String)>,
    written: Vec<(NamedRowKey, (i32, Counts))>,
    last_end_day: Option<i32>,
}

impl SellerStage {
    /// The state a snapshot holds.
    pub fn state(&self, syms: &Interner) -> SellerState {
        let s = |sym: Sym| syms.resolve(sym).to_string();
        SellerState {
            sellers: self
                .sellers
                .iter()
                .map(|(&(m, seller), cats)| {
                    let cats = cats
                        .iter()
                        .map(|(&c, days)| (s(c), days.iter().map(|(d, n)| (*d, *n)).collect()))
                        .collect();
                    (s(m), s(seller), cats)
                })
                .collect(),
            dirty: self
                .dirty
                .iter()
                .map(|&(m, seller)| (s(m), s(seller)))
                .collect(),
            written: self
                .written
                .iter()
                .map(|(&(m, seller, c, w), v)| ((s(m), s(seller), c.map(s), w), *v))
                .collect(),
            last_end_day: self.last_end_day,
        }
    }

    /// A stage holding a snapshot's state.
    pub fn from_state(state: SellerState, cfg: EngineConfig, syms: &mut Interner) -> Self {
        let mut stage = SellerStage::new(cfg);
        for (m, seller, cats) in state.sellers {
            let key = (syms.intern(&m), syms.intern(&seller));
            let entry = stage.sellers.entry(key).or_default();
            for (c, days) in cats {
                entry.insert(syms.intern(&c), days.into_iter().collect());
            }
        }
        for (m, seller) in state.dirty {
            stage.dirty.insert((syms.intern(&m), syms.intern(&seller)));
        }
        for ((m, seller, c, w), v) in state.written {
            let c = c.map(|c| syms.intern(&c));
            stage
                .written
                .insert((syms.intern(&m), syms.intern(&seller), c, w), v);
        }
        stage.last_end_day = state.last_end_day;
        stage
    }
}
