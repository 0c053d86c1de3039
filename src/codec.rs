//! Wire formats: JSON and protobuf decoding of input events, encoding of events and records.
//!
//! STUB.

use crate::event::{Confirmation, Scan};

/// Why an input message is bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a JSON object nor a protobuf message.
    #[error("undecodable: {0}")]
    Undecodable(String),
    /// A field is missing, has the wrong type or an invalid value.
    #[error("field `{field}`: {why}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

/// Decodes a shipment confirmation from JSON or protobuf bytes.
pub fn decode_confirmation(_bytes: &[u8]) -> Result<Confirmation, DecodeError> {
    Err(DecodeError::Undecodable("not implemented".into()))
}

/// Decodes a carrier scan from JSON or protobuf bytes.
pub fn decode_scan(_bytes: &[u8]) -> Result<Scan, DecodeError> {
    Err(DecodeError::Undecodable("not implemented".into()))
}

/// Encodes a confirmation as one line of JSON.
pub fn confirmation_to_json(_c: &Confirmation) -> String {
    String::new()
}

/// Encodes a scan as one line of JSON.
pub fn scan_to_json(_s: &Scan) -> String {
    String::new()
}
