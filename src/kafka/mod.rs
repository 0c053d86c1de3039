//! The Kafka driver (`vtrack run`): consumer group, internal topics, transactions.
pub mod wire;
pub mod watermark;
pub mod sink;
pub mod tasks;
pub mod topology;
pub mod processor;
