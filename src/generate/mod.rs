//! Synthetic workloads: realistic confirmations and scans, seeded and reproducible.
//!
//! STUB.
