//! The Kafka driver (`vtrack run`): consumer group, internal topics, transactions.
