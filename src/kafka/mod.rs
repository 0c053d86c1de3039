//! The Kafka driver (`vtrack run`): consumer group, internal topics, transactions.

pub mod client;
pub mod produce;
pub mod topics;
