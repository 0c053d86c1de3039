//! `vtrack demo`: a marketplace's worth of generated events through the engine, and the
//! outcome a person wants to see. Nothing to install but the Rust toolchain.

use crate::carriers::CarrierRegistry;
use crate::config::EngineConfig;
use crate::engine::Engine;
use crate::event::{Event, Millis};
use crate::generate::{generate, GenerateOptions};
use crate::records::{Reason, SellerVtrRecord, Status, VerdictRecord};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

/// What the demo found.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Events processed.
    pub events: u64,
    /// Seconds the engine spent on them (generation excluded).
    pub engine_seconds: f64,
    /// Event time at the end.
    pub as_of: Millis,
    /// Latest verdict of every package.
    pub verdicts: Vec<VerdictRecord>,
    /// Every seller row.
    pub seller_rows: Vec<SellerVtrRecord>,
    /// Bytes of engine state per package at the end.
    pub bytes_per_package: f64,
}

/// Generates a workload, runs the engine over it, and returns what it found.
pub fn run_demo(
    gen: &GenerateOptions,
    cfg: &EngineConfig,
    carriers: Arc<CarrierRegistry>,
) -> DemoReport {
    let events: Vec<Event> = generate(gen).collect();
    let as_of = events.iter().map(Event::event_time).max().unwrap_or(0);
    let mut engine = Engine::new(cfg.clone(), carriers, false);
    let started = Instant::now();
    let n = events.len() as u64;
    for e in events {
        // Generated scans always carry well-formed tracking IDs; a refused one is simply skipped.
        let _ = engine.process(e);
    }
    engine.advance_to(as_of);
    let engine_seconds = started.elapsed().as_secs_f64();
    DemoReport {
        events: n,
        engine_seconds,
        as_of,
        bytes_per_package: engine.state_stats().bytes_per_package(),
        verdicts: engine.verdicts(),
        seller_rows: engine.seller_rows(),
    }
}

impl DemoReport {
    /// The report as a person reads it in a terminal.
    pub fn render(&self, worst: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "vtrack demo: {} events, {} packages, as of {}\n",
            self.events,
            self.verdicts.len(),
            crate::timestamp::format_rfc3339(self.as_of)
        );
        self.render_worst(&mut s, worst);
        self.render_categories(&mut s, 5);
        self.render_reasons(&mut s);
        let rate = self.events as f64 / self.engine_seconds.max(1e-9);
        let _ = writeln!(
            s,
            "\nEngine: {:.0} events/s on one core ({:.2} s), {:.0} bytes of state per package.",
            rate, self.engine_seconds, self.bytes_per_package
        );
        s
    }

    fn render_worst(&self, s: &mut String, worst: usize) {
        let longest = self
            .seller_rows
            .iter()
            .map(|r| r.window_days)
            .max()
            .unwrap_or(0);
        let mut rows: Vec<&SellerVtrRecord> = self
            .seller_rows
            .iter()
            .filter(|r| r.category == "*" && r.window_days == longest && r.vtr.is_some())
            .collect();
        rows.sort_by(|a, b| {
            a.vtr
                .partial_cmp(&b.vtr)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let at_risk = rows.iter().filter(|r| r.at_risk).count();
        let _ = writeln!(
            s,
            "Sellers most at risk ({at_risk} of {} sellers, counted per marketplace, below {:.0}% over {longest} days; reasons of the invalid packages in that window):",
            rows.len(),
            rows.first().map_or(95.0, |r| r.threshold * 100.0)
        );
        let _ = writeln!(
            s,
            "  {:<4} {:<16} {:>7} {:>7} {:>7}  top reasons",
            "mkt", "seller", "VTR", "valid", "invalid"
        );
        let window = rows.first().map(|r| (r.window_start, r.window_end));
        let reasons = self.reasons_by_seller(window);
        for r in rows.iter().take(worst) {
            let top = reasons
                .get(&(r.marketplace.as_str(), r.seller_id.as_str()))
                .map(|m| top_reasons(m, 3))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {:<4} {:<16} {:>6.1}% {:>7} {:>7}  {}{}",
                r.marketplace,
                r.seller_id,
                r.vtr.unwrap_or(0.0) * 100.0,
                r.valid,
                r.invalid,
                top,
                if r.at_risk { "  AT RISK" } else { "" }
            );
        }
    }

    /// The seller categories at risk over the longest window: VTR is enforced per category,
    /// so a seller whose overall VTR is fine can still lose a category.
    fn render_categories(&self, s: &mut String, worst: usize) {
        let longest = self.seller_rows.iter().map(|r| r.window_days).max();
        let in_window = |r: &&SellerVtrRecord| Some(r.window_days) == longest && r.vtr.is_some();
        let overall_at_risk: std::collections::BTreeSet<(&str, &str)> = self
            .seller_rows
            .iter()
            .filter(in_window)
            .filter(|r| r.category == "*" && r.at_risk)
            .map(|r| (r.marketplace.as_str(), r.seller_id.as_str()))
            .collect();
        let mut rows: Vec<&SellerVtrRecord> = self
            .seller_rows
            .iter()
            .filter(in_window)
            .filter(|r| r.category != "*" && r.at_risk)
            .collect();
        rows.sort_by(|a, b| {
            a.vtr
                .partial_cmp(&b.vtr)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let hidden = rows
            .iter()
            .filter(|r| !overall_at_risk.contains(&(r.marketplace.as_str(), r.seller_id.as_str())))
            .count();
        let _ = writeln!(
            s,
            "\nSeller categories at risk (VTR is enforced per category): {}, {hidden} of them at sellers whose overall VTR is not at risk; the worst:",
            rows.len()
        );
        for r in rows.iter().take(worst) {
            let _ = writeln!(
                s,
                "  {:<4} {:<16} {:<16} {:>6.1}% {:>7} {:>7}",
                r.marketplace,
                r.seller_id,
                r.category,
                r.vtr.unwrap_or(0.0) * 100.0,
                r.valid,
                r.invalid
            );
        }
    }

    /// The reasons of each seller's invalid packages whose metric day lies in `window`
    /// (first and last day): the packages its VTR counts.
    fn reasons_by_seller(
        &self,
        window: Option<(i32, i32)>,
    ) -> BTreeMap<(&str, &str), BTreeMap<Reason, u64>> {
        self.invalid_by_seller(window)
            .into_iter()
            .map(|(seller, packages)| {
                let mut counts: BTreeMap<Reason, u64> = BTreeMap::new();
                for r in packages.iter().flat_map(|v| v.reasons.iter()) {
                    *counts.entry(*r).or_default() += 1;
                }
                (seller, counts)
            })
            .collect()
    }

    /// Each `(marketplace, seller)`'s invalid packages whose metric day lies in `window`.
    fn invalid_by_seller(
        &self,
        window: Option<(i32, i32)>,
    ) -> BTreeMap<(&str, &str), Vec<&VerdictRecord>> {
        let mut m: BTreeMap<(&str, &str), Vec<&VerdictRecord>> = BTreeMap::new();
        let in_window = |v: &&VerdictRecord| {
            let day = crate::engine::seller::metric_day(v.confirmed_at, v.promised_delivery_at);
            window.is_some_and(|(first, last)| (first..=last).contains(&day))
        };
        for v in self
            .verdicts
            .iter()
            .filter(|v| v.status == Status::Invalid)
            .filter(in_window)
        {
            m.entry((v.marketplace.as_str(), v.seller_id.as_str()))
                .or_default()
                .push(v);
        }
        m
    }

    fn render_reasons(&self, s: &mut String) {
        let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_reason: BTreeMap<Reason, u64> = BTreeMap::new();
        for v in &self.verdicts {
            *by_status.entry(v.status.as_str()).or_default() += 1;
            for r in &v.reasons {
                *by_reason.entry(*r).or_default() += 1;
            }
        }
        let total = self.verdicts.len().max(1) as f64;
        let _ = writeln!(s, "\nVerdicts:");
        for (st, n) in &by_status {
            let _ = writeln!(s, "  {st:<30} {n:>9} {:>6.1}%", *n as f64 * 100.0 / total);
        }
        let _ = writeln!(s, "\nReasons:");
        let mut reasons: Vec<_> = by_reason.into_iter().collect();
        reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
        for (r, n) in reasons {
            let _ = writeln!(
                s,
                "  {:<30} {n:>9} {:>6.1}%",
                r.as_str(),
                n as f64 * 100.0 / total
            );
        }
    }
}

fn top_reasons(m: &BTreeMap<Reason, u64>, n: usize) -> String {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1));
    v.iter()
        .take(n)
        .map(|(r, c)| format!("{} {c}", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reasons shown for a seller are those of the invalid packages its VTR counts.
    #[test]
    fn a_sellers_reasons_come_from_the_packages_its_window_counts() {
        let gen = GenerateOptions {
            packages: 3_000,
            sellers: 20,
            days: 70,
            ..GenerateOptions::default()
        };
        let report = run_demo(
            &gen,
            &EngineConfig::default(),
            Arc::new(CarrierRegistry::default_us()),
        );
        let rows: Vec<&SellerVtrRecord> = report
            .seller_rows
            .iter()
            .filter(|r| r.category == "*" && r.window_days == 30)
            .collect();
        assert!(!rows.is_empty());
        let invalid = report.invalid_by_seller(Some((rows[0].window_start, rows[0].window_end)));
        let outside = report
            .verdicts
            .iter()
            .filter(|v| v.status == Status::Invalid)
            .count()
            - invalid.values().map(Vec::len).sum::<usize>();
        assert!(
            outside > 0,
            "the workload has invalid packages outside the window"
        );
        for r in rows {
            let n = invalid
                .get(&(r.marketplace.as_str(), r.seller_id.as_str()))
                .map_or(0, Vec::len);
            assert_eq!(n as u64, r.invalid, "{} {}", r.marketplace, r.seller_id);
        }
    }

    #[test]
    fn categories_at_risk_include_those_of_sellers_fine_overall() {
        let gen = GenerateOptions {
            packages: 20_000,
            sellers: 40,
            ..GenerateOptions::default()
        };
        let report = run_demo(
            &gen,
            &EngineConfig::default(),
            Arc::new(CarrierRegistry::default_us()),
        );
        let at_risk = |r: &&SellerVtrRecord| r.window_days == 30 && r.at_risk;
        let categories = report
            .seller_rows
            .iter()
            .filter(at_risk)
            .filter(|r| r.category != "*")
            .count();
        assert!(categories > 0, "the workload has categories at risk");
        let text = report.render(5);
        assert!(
            text.contains(&format!(
                "Seller categories at risk (VTR is enforced per category): {categories},"
            )),
            "{text}"
        );
    }
}
