//! The pure engine. STUB.
