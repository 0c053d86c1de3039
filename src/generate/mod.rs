//! Synthetic workloads: realistic confirmations and scans, seeded and reproducible.
//!
//! STUB.

use crate::event::{Event, Millis};

/// Workload shape (stub).
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// Seed.
    pub seed: u64,
    /// Packages.
    pub packages: u64,
    /// Sellers.
    pub sellers: u32,
    /// Start.
    pub start: Millis,
    /// Days.
    pub days: u32,
    /// Duplicates.
    pub duplicate_rate: f64,
}

/// Generates events (stub).
pub fn generate(_o: &GenerateOptions) -> impl Iterator<Item = Event> {
    std::iter::empty()
}

/// Writes NDJSON (stub).
pub fn write_ndjson(
    _o: &GenerateOptions,
    _c: &mut impl std::io::Write,
    _s: &mut impl std::io::Write,
) -> std::io::Result<()> {
    Ok(())
}
