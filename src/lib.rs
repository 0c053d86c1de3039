//! vtrack: Valid Tracking Rate for online marketplaces, computed continuously from sellers'
//! shipment confirmations and carriers' scan events.
//!
//! The [`engine`] holds every rule of the product contract and does no I/O; the drivers
//! ([`replay`], [`demo`], and the Kafka processor) feed it events and write its records.
#![warn(missing_docs)]

pub mod carriers;
pub mod cli;
pub mod codec;
pub mod config;
pub mod demo;
pub mod engine;
pub mod event;
pub mod generate;
#[cfg(feature = "kafka")]
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "kafka")]
pub mod metrics;
pub mod records;
pub mod replay;
pub mod timestamp;
pub mod tracking_id;
