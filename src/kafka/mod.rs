//! The Kafka driver (`vtrack run`): consumer group, internal topics, transactions.
//!
//! The driver owns consumers, producers, transactions, rebalances and shutdown, and nothing
//! of the VTR rules: those stay in [`crate::engine`].

pub mod catchup;
pub mod client;
pub mod directory;
pub mod expiry;
pub mod instance;
pub mod meters;
pub mod processor;
pub mod produce;
pub mod purge;
pub mod queries;
pub mod recovery;
pub mod sink;
pub mod snapshot;
pub mod tasks;
pub mod topics;
pub mod topology;
pub mod watermark;
pub mod wire;
