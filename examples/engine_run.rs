//! Runs the engine once on the benchmark's workload and prints events/s; a small harness
//! for profilers (`valgrind --tool=callgrind --toggle-collect='*run_engine*'`).
//!
//! Run: `cargo run --release --example engine_run [PACKAGES] [replay|streaming]`.

use std::sync::Arc;

/// The allocator the `vtrack` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;
use vtrack::carriers::CarrierRegistry;
use vtrack::config::EngineConfig;
use vtrack::engine::{Engine, Outputs};
use vtrack::event::Event;
use vtrack::generate::{generate, GenerateOptions};

/// Feeds every event to a new engine, then moves time to the last event.
#[inline(never)]
fn run_engine(events: Vec<Event>, emit_records: bool) -> (Engine, Outputs) {
    let carriers = Arc::new(CarrierRegistry::default_us());
    let mut engine = Engine::new(EngineConfig::default(), carriers, emit_records);
    engine.process_all(events);
    let outputs = engine.take_outputs();
    (engine, outputs)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let packages = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let streaming = args.next().is_some_and(|m| m == "streaming");
    let opts = GenerateOptions {
        packages,
        sellers: 500,
        ..GenerateOptions::default()
    };
    let events: Vec<Event> = generate(&opts).collect();
    let n = events.len();
    let start = Instant::now();
    let state = run_engine(events, streaming);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} events in {secs:.3} s = {:.0} events/s ({} mode)",
        n as f64 / secs,
        if streaming { "streaming" } else { "replay" }
    );
    drop(state);
}
