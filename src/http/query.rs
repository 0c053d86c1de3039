//! The read-only queries, answered from the processor's state (like Kafka Streams'
//! interactive queries): `GET /v1/sellers/{seller_id}/vtr` and
//! `GET /v1/packages/{seller_id}/{order_id}/{package_id}`.
//!
//! Every key lives on one instance (the owner of its partition). An instance that does not
//! own the key forwards the request to the owner, once (a forwarded request carries
//! [`FORWARDED_HEADER`] and is never forwarded again); when the owner cannot be reached the
//! answer names it.

use serde_json::Value;

/// Header of a request one instance forwards to another (its value: the sender's instance id).
pub const FORWARDED_HEADER: &str = "x-vtrack-forwarded-by";
/// Header of every query answer: the instance whose state answered.
pub const INSTANCE_HEADER: &str = "x-vtrack-instance";

/// What the state says about a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The key is held here: the JSON answer.
    Found(Value),
    /// The key's owner is this instance and it holds nothing for it.
    NotFound(String),
    /// Another instance owns the key.
    Elsewhere {
        /// The owner's instance id.
        instance: String,
        /// The owner's base URL.
        url: String,
    },
    /// No instance can answer now (no owner known, or the owner is restoring).
    Unavailable(String),
}

/// The processor side of the queries. Calls may block briefly (they read the state the
/// poll loop owns), so the endpoint runs them off its async tasks.
pub trait Lookup: Send + Sync + 'static {
    /// Every row (marketplace, category or `*`, window) of one seller, as of the owning
    /// task's event time: `{"seller_id", "as_of", "rows": [seller-vtr records]}`.
    fn seller_vtr(&self, seller_id: &str) -> Answer;
    /// The latest verdict record of one package, with its explanation.
    fn package(&self, seller_id: &str, order_id: &str, package_id: &str) -> Answer;
    /// The instances of the group, their URLs and the partitions each owns.
    fn instances(&self) -> Value;
    /// This instance's id.
    fn instance_id(&self) -> String;
}

/// The reason a path's ids are refused, if they are.
pub fn check_ids(ids: &[(&str, &str)]) -> Result<(), String> {
    for (name, value) in ids {
        if value.len() > MAX_ID_BYTES {
            return Err(format!("`{name}` is longer than {MAX_ID_BYTES} bytes"));
        }
    }
    match ids.first() {
        Some((name, "")) => Err(format!("`{name}` is empty")),
        _ => Ok(()),
    }
}

/// The longest id a query accepts.
pub const MAX_ID_BYTES: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(check_ids(&[("seller_id", "s1"), ("package_id", "")]).is_ok());
        assert_eq!(
            check_ids(&[("seller_id", "")]),
            Err("`seller_id` is empty".to_string())
        );
        let long = "x".repeat(MAX_ID_BYTES + 1);
        assert!(check_ids(&[("seller_id", "s"), ("order_id", &long)]).is_err());
    }
}
