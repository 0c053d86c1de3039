//! Criterion benchmark of the whole engine (order, tracking and seller stages) on a generated,
//! realistic mix, plus the state bytes per open package.
//!
//! Run: `cargo bench --bench engine`. Set `VTRACK_BENCH_PACKAGES` to change the size.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::sync::Arc;
use vtrack::carriers::CarrierRegistry;
use vtrack::config::EngineConfig;
use vtrack::engine::Engine;
use vtrack::event::Event;
use vtrack::generate::{generate, GenerateOptions};

/// The allocator the `vtrack` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn workload() -> Vec<Event> {
    let packages = std::env::var("VTRACK_BENCH_PACKAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            100_000
        } else {
            2_000 // `cargo test --all-targets` runs each benchmark once as a smoke test
        });
    let opts = GenerateOptions {
        packages,
        sellers: 500,
        ..GenerateOptions::default()
    };
    generate(&opts).collect()
}

fn run(events: Vec<Event>, emit_records: bool) -> Engine {
    let carriers = Arc::new(CarrierRegistry::default_us());
    let mut engine = Engine::new(EngineConfig::default(), carriers, emit_records);
    engine.process_all(events);
    engine
}

/// Prints bytes of state per open package: every window still open (as of no time at all).
fn report_state_bytes(events: &[Event]) {
    let carriers = Arc::new(CarrierRegistry::default_us());
    let mut engine = Engine::new(EngineConfig::default(), carriers, false);
    for e in events.iter().cloned() {
        let _ = engine.process(e);
    }
    let s = engine.state_stats();
    println!(
        "state: {} packages, {} tracking IDs; order {} B, tracking {} B, seller {} B, interner {} B \
         => {:.0} bytes per open package (duplicate filter: {:.0} bytes per event)",
        s.packages,
        s.tracking_ids,
        s.order_bytes,
        s.tracking_bytes,
        s.seller_bytes,
        s.other_bytes,
        s.bytes_per_package(),
        s.dedup_bytes as f64 / events.len().max(1) as f64
    );
}

fn bench_engine(c: &mut Criterion) {
    let events = workload();
    report_state_bytes(&events);
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("replay_mode", |b| {
        b.iter_batched(
            || events.clone(),
            |ev| run(ev, false),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("streaming_records", |b| {
        b.iter_batched(
            || events.clone(),
            |ev| {
                let mut engine = run(ev, true);
                engine.take_outputs()
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
