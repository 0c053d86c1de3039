//! Records on vtrack's internal topics: what the stages send each other across instances.
//!
//! Symbols and carrier ids are local to an instance, so on the wire every name is a string.
//! Every record starts with a schema version byte, so a rolling upgrade can tell old records
//! from new; the body is postcard.

use crate::carriers::{CarrierRegistry, CarrierSet};
use crate::engine::intern::Interner;
use crate::engine::messages::{
    FactsMsg, PackageRef, ScanFacts, ScanIn, SellerDelta, SellerSlot, Subscribe, Unsubscribe,
};
use crate::event::{Confirmation, Millis, Scan};
use crate::records::Status;
use serde::{Deserialize, Serialize};

/// Version of the internal record layout.
pub const SCHEMA_VERSION: u8 = 4;

/// Errors reading an internal record.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Written by a vtrack with another record layout.
    #[error("internal record has schema version {0}, this vtrack reads {SCHEMA_VERSION}")]
    Version(u8),
    /// Not a record of this layout.
    #[error("internal record does not decode: {0}")]
    Decode(#[from] postcard::Error),
    /// Empty payload.
    #[error("internal record is empty")]
    Empty,
}

/// Who announced a watermark: an input partition, or a task of an upstream stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Source {
    /// Partition of the confirmations input topic.
    Confirmations(i32),
    /// Partition of the scans input topic.
    Scans(i32),
    /// Task (partition) of the tracking stage.
    Tracking(i32),
    /// Task (partition) of the order stage.
    Order(i32),
}

/// A package named by strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WirePackage {
    /// Seller id.
    pub seller: String,
    /// Order id.
    pub order: String,
    /// Package id.
    pub package: String,
}

/// Scan facts with carriers named by code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireFacts {
    /// Earliest counting physical scan.
    pub first_scan: Option<Millis>,
    /// Earliest counting delivery.
    pub first_delivery: Option<Millis>,
    /// Another carrier's physical scan (`Some(None)`: unknown carrier).
    pub other_carrier: Option<Option<String>>,
    /// Fan-out bound exceeded.
    pub overloaded: bool,
}

/// A seller slot by strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSlot {
    /// Marketplace.
    pub marketplace: String,
    /// Category.
    pub category: String,
    /// Metric day.
    pub day: i32,
    /// Status index (`Status as u8`).
    pub status: u8,
}

/// An input message as it came: partition, offset, key, headers and value. Written to the
/// late-events topic, should its event turn out late.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputMessage {
    /// Partition of the input topic.
    pub partition: i32,
    /// Offset in that partition.
    pub offset: i64,
    /// Key (`None` for a null key).
    #[serde(with = "serde_bytes")]
    pub key: Option<Vec<u8>>,
    /// Headers, in order (`None` for a null value).
    pub headers: Vec<(String, Option<serde_bytes::ByteBuf>)>,
    /// Value.
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
}

/// Records of `<app>-order-events` (key: seller/order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderRecord {
    /// A CONFIRM or CANCEL, and the input message it came in (written to the late-events
    /// topic as it came, should the event be late).
    Confirmation(Confirmation, InputMessage),
    /// The tracking stage's answer to a subscription.
    Facts {
        /// The package.
        package: WirePackage,
        /// Subscription sequence.
        seq: u32,
        /// The facts.
        facts: WireFacts,
    },
    /// Event time announced by an upstream source.
    Watermark {
        /// Who.
        source: Source,
        /// Its event time.
        time: Millis,
    },
}

/// Records of `<app>-tracking-events` (key: normalised tracking ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackingRecord {
    /// A carrier scan, and the input message it came in (for the late-events topic).
    Scan(Scan, InputMessage),
    /// A package subscribes to a tracking ID.
    Subscribe {
        /// The package.
        package: WirePackage,
        /// Sequence.
        seq: u32,
        /// Normalised tracking ID.
        tracking: String,
        /// Window start.
        from: Millis,
        /// Window end.
        to: Millis,
        /// Accepted reporting carriers by code.
        accepted: Vec<String>,
    },
    /// A package unsubscribes.
    Unsubscribe {
        /// The package.
        package: WirePackage,
        /// Normalised tracking ID.
        tracking: String,
    },
    /// Event time announced by an upstream source.
    Watermark {
        /// Who.
        source: Source,
        /// Its event time.
        time: Millis,
    },
    /// An order task's event time, for expiry only ([`super::expiry`]): it never moves the
    /// tracking task's time.
    OrderProgress {
        /// The order task ([`Source::Order`]).
        source: Source,
        /// Its event time (the watermark, less the allowed lateness).
        time: Millis,
    },
}

/// Records of `<app>-seller-events` (key: marketplace/seller... the seller id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SellerRecord {
    /// One package's move between slots.
    Delta {
        /// Seller id.
        seller: String,
        /// Old slot.
        old: Option<WireSlot>,
        /// New slot.
        new: Option<WireSlot>,
    },
    /// Event time announced by an order task.
    Watermark {
        /// Who.
        source: Source,
        /// Its event time.
        time: Millis,
    },
}

/// Encodes a record with its schema version.
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = vec![SCHEMA_VERSION];
    // Serialising these plain data types into a Vec cannot fail.
    if let Ok(body) = postcard::to_allocvec(record) {
        out.extend_from_slice(&body);
    }
    out
}

/// Decodes a record, checking its schema version.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    let (&version, body) = bytes.split_first().ok_or(WireError::Empty)?;
    if version != SCHEMA_VERSION {
        return Err(WireError::Version(version));
    }
    Ok(postcard::from_bytes(body)?)
}

/// Converts between instance-local engine messages and wire records.
pub struct Translator<'a> {
    /// The instance's interner.
    pub syms: &'a mut Interner,
    /// The carrier registry.
    pub carriers: &'a CarrierRegistry,
}

impl Translator<'_> {
    /// A package reference on the wire.
    pub fn package_out(&self, p: &PackageRef) -> WirePackage {
        WirePackage {
            seller: self.syms.resolve(p.seller).to_string(),
            order: String::from(&p.order),
            package: self.syms.resolve(p.package).to_string(),
        }
    }

    /// A package reference from the wire.
    pub fn package_in(&mut self, p: &WirePackage) -> PackageRef {
        PackageRef {
            seller: self.syms.intern(&p.seller),
            order: p.order.as_str().into(),
            package: self.syms.intern(&p.package),
        }
    }

    fn carriers_out(&self, set: CarrierSet) -> Vec<String> {
        self.carriers
            .iter()
            .filter(|(id, _)| set & crate::carriers::bit(*id) != 0)
            .map(|(_, code)| code.to_string())
            .collect()
    }

    fn carriers_in(&self, codes: &[String]) -> CarrierSet {
        codes
            .iter()
            .filter_map(|c| self.carriers.by_code(c))
            .fold(0, |set, id| set | crate::carriers::bit(id))
    }

    /// A subscription on the wire.
    pub fn subscribe_out(&self, s: &Subscribe) -> TrackingRecord {
        TrackingRecord::Subscribe {
            package: self.package_out(&s.package),
            seq: s.seq,
            tracking: String::from(&s.tracking),
            from: s.from,
            to: s.to,
            accepted: self.carriers_out(s.accepted),
        }
    }

    /// A subscription from the wire.
    pub fn subscribe_in(
        &mut self,
        package: &WirePackage,
        seq: u32,
        tracking: &str,
        from: Millis,
        to: Millis,
        accepted: &[String],
    ) -> Subscribe {
        Subscribe {
            package: self.package_in(package),
            seq,
            tracking: tracking.into(),
            from,
            to,
            accepted: self.carriers_in(accepted),
        }
    }

    /// An unsubscription on the wire.
    pub fn unsubscribe_out(&self, u: &Unsubscribe) -> TrackingRecord {
        TrackingRecord::Unsubscribe {
            package: self.package_out(&u.package),
            tracking: String::from(&u.tracking),
        }
    }

    /// Facts on the wire.
    pub fn facts_out(&self, f: &FactsMsg) -> OrderRecord {
        let code = |id: u8| self.carriers.code(id).to_string();
        OrderRecord::Facts {
            package: self.package_out(&f.package),
            seq: f.seq,
            facts: WireFacts {
                first_scan: f.facts.first_scan,
                first_delivery: f.facts.first_delivery,
                other_carrier: f.facts.other_carrier.map(|o| o.map(code)),
                overloaded: f.facts.overloaded,
            },
        }
    }

    /// Facts from the wire.
    pub fn facts_in(&mut self, package: &WirePackage, seq: u32, f: &WireFacts) -> FactsMsg {
        FactsMsg {
            package: self.package_in(package),
            seq,
            facts: ScanFacts {
                first_scan: f.first_scan,
                first_delivery: f.first_delivery,
                other_carrier: f
                    .other_carrier
                    .as_ref()
                    .map(|o| o.as_deref().and_then(|c| self.carriers.by_code(c))),
                overloaded: f.overloaded,
            },
        }
    }

    /// A seller delta on the wire.
    pub fn delta_out(&self, d: &SellerDelta) -> SellerRecord {
        let slot = |s: &SellerSlot| WireSlot {
            marketplace: self.syms.resolve(s.marketplace).to_string(),
            category: self.syms.resolve(s.category).to_string(),
            day: s.day,
            status: s.status as u8,
        };
        SellerRecord::Delta {
            seller: self.syms.resolve(d.seller).to_string(),
            old: d.old.as_ref().map(slot),
            new: d.new.as_ref().map(slot),
        }
    }

    /// A seller delta from the wire.
    pub fn delta_in(
        &mut self,
        seller: &str,
        old: &Option<WireSlot>,
        new: &Option<WireSlot>,
    ) -> SellerDelta {
        let mut slot = |s: &WireSlot| SellerSlot {
            marketplace: self.syms.intern(&s.marketplace),
            category: self.syms.intern(&s.category),
            day: s.day,
            status: Status::ALL
                .get(s.status as usize)
                .copied()
                .unwrap_or(Status::Pending),
        };
        let old = old.as_ref().map(&mut slot);
        let new = new.as_ref().map(&mut slot);
        SellerDelta {
            seller: self.syms.intern(seller),
            old,
            new,
        }
    }

    /// A scan as the tracking stage takes it, or `None` when its tracking ID is not well formed.
    pub fn scan_in(&self, s: &Scan) -> Option<ScanIn> {
        match crate::tracking_id::normalize(&s.tracking_id) {
            crate::tracking_id::TrackingId::Normalized(id) => Some(ScanIn {
                carrier: self.carriers.resolve(&s.carrier),
                tracking: id.as_ref().into(),
                scan_type: s.scan_type,
                scanned_at: s.scanned_at,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_version() {
        let r = OrderRecord::Watermark {
            source: Source::Scans(3),
            time: 42,
        };
        let bytes = encode(&r);
        assert_eq!(bytes[0], SCHEMA_VERSION);
        assert_eq!(decode::<OrderRecord>(&bytes).unwrap(), r);
        let mut old = bytes.clone();
        old[0] = 99;
        assert!(matches!(
            decode::<OrderRecord>(&old),
            Err(WireError::Version(99))
        ));
        assert!(decode::<OrderRecord>(&[]).is_err());
    }
}
