//! Measures the engine's live heap bytes per open package with a counting allocator.
//!
//! Run: `cargo run --release --example state_bytes [PACKAGES]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use vtrack::carriers::CarrierRegistry;
use vtrack::config::EngineConfig;
use vtrack::engine::Engine;
use vtrack::generate::{generate, GenerateOptions};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let packages: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let opts = GenerateOptions {
        packages,
        sellers: 500,
        ..GenerateOptions::default()
    };
    let carriers = Arc::new(CarrierRegistry::default_us());
    let before = LIVE.load(Ordering::Relaxed);
    let mut engine = Engine::new(EngineConfig::default(), carriers, false);
    let mut n = 0usize;
    let mut gen = generate(&opts);
    let gen_baseline = LIVE.load(Ordering::Relaxed);
    for e in gen.by_ref() {
        n += 1;
        let _ = engine.process(e);
    }
    drop(gen);
    let after = LIVE.load(Ordering::Relaxed);
    let _ = gen_baseline;
    let s = engine.state_stats();
    let dedup = s.dedup_bytes as isize;
    let state = after - before - dedup;
    println!(
        "{n} events, {} packages, {} tracking IDs (every window open)",
        s.packages, s.tracking_ids
    );
    println!(
        "live heap of the engine without the duplicate filter: {} bytes = {:.0} bytes per open package",
        state,
        state as f64 / s.packages.max(1) as f64
    );
    println!(
        "duplicate filter: {} bytes = {:.1} bytes per event",
        dedup,
        dedup as f64 / n.max(1) as f64
    );
    let per = |b: usize| b as f64 / s.packages.max(1) as f64;
    println!(
        "engine's own estimate: {:.0} bytes per package (order {:.0}, tracking {:.0}, seller {:.0}, interner {:.0})",
        s.bytes_per_package(),
        per(s.order_bytes),
        per(s.tracking_bytes),
        per(s.seller_bytes),
        per(s.other_bytes)
    );
}
