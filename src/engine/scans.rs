//! The scans the tracking stage keeps for one tracking ID, in one exact-size allocation of
//! 5 bytes a scan.
//!
//! A scan is reporting carrier, time and a delivery flag. Logically the list is sorted
//! `u64`s (see [`pack`]: carrier in the top 8 bits, time biased in the next 55, the flag in
//! the lowest), so the scans of one carrier are contiguous and in time order, with at most
//! one value per carrier and time (its flag says whether a delivery was reported then).
//!
//! Stored, the list is narrow when its times lie within about 24 days of each other (always,
//! for the scans of one retention period): a tag byte, a base (`i32` minutes since 1970), then
//! per scan its carrier byte and a `u32` holding the offset from the base in milliseconds
//! (31 bits) and the flag. Otherwise it is wide: the tag, then the packed `u64`s. Either way
//! the order of the stored scans is the logical order. Changing the list decodes and
//! re-encodes it (lists are short: a handful of scans).

use crate::event::Millis;
use smallvec::SmallVec;

/// Bias added to times so that they pack as unsigned values.
const BIAS: i64 = 1 << 54;

/// Earliest time kept exactly (about 570,000 years before 1970).
const MIN_TIME: Millis = -BIAS;

/// Latest time kept exactly. Decoded events lie in the years 0001 to 9999, far inside
/// `MIN_TIME..=MAX_TIME`; a time outside is clamped to it.
const MAX_TIME: Millis = BIAS - 2;

/// Tag of a narrow list.
const NARROW: u8 = 0;
/// Tag of a wide list.
const WIDE: u8 = 1;
/// Bytes before the scans of a narrow list: tag and base.
const NARROW_HEAD: usize = 5;
/// Bytes of a scan in a narrow list.
const NARROW_SCAN: usize = 5;
/// A millisecond offset a narrow list can hold: below 2^31.
const MAX_OFFSET: i64 = (1 << 31) - 1;
const MINUTE: i64 = 60_000;

/// The packed scan of a carrier at a time.
fn pack(carrier: u8, at: Millis, delivered: bool) -> u64 {
    let biased = (at.clamp(MIN_TIME, MAX_TIME) + BIAS) as u64;
    (u64::from(carrier) << 56) | (biased << 1) | u64::from(delivered)
}

fn carrier_of(scan: u64) -> u8 {
    (scan >> 56) as u8
}

fn time_of(scan: u64) -> Millis {
    ((scan >> 1) & ((1 << 55) - 1)) as i64 - BIAS
}

fn delivered(scan: u64) -> bool {
    scan & 1 == 1
}

/// A narrow scan's bytes: the carrier, then the offset from the list's base and the flag.
fn narrow_scan(carrier: u8, offset: i64, delivered: bool) -> [u8; NARROW_SCAN] {
    let word = ((offset as u32) << 1) | u32::from(delivered);
    let [a, b, c, d] = word.to_le_bytes();
    [carrier, a, b, c, d]
}

/// The word of a narrow scan: offset and flag.
fn narrow_word(scan: &[u8]) -> u32 {
    u32::from_le_bytes([scan[1], scan[2], scan[3], scan[4]])
}

/// The scans of a [`ScanList`], in order, as `(carrier, time, delivered)`.
pub struct Iter<'a> {
    /// The base of a narrow list; `None` for a wide one.
    narrow_start: Option<Millis>,
    rest: &'a [u8],
}

impl Iterator for Iter<'_> {
    type Item = (u8, Millis, bool);

    fn next(&mut self) -> Option<Self::Item> {
        match self.narrow_start {
            Some(start) => {
                let (scan, rest) = self.rest.split_first_chunk::<NARROW_SCAN>()?;
                self.rest = rest;
                let word = narrow_word(scan);
                Some((scan[0], start + i64::from(word >> 1), word & 1 == 1))
            }
            None => {
                let (scan, rest) = self.rest.split_first_chunk::<8>()?;
                self.rest = rest;
                let s = u64::from_le_bytes(*scan);
                Some((carrier_of(s), time_of(s), delivered(s)))
            }
        }
    }
}

/// The scans of a list, decoded.
type Scans = SmallVec<[u64; 16]>;

/// The de-duplicated physical scans of one tracking ID: per reporting carrier, the sorted
/// scan times and which of them were deliveries.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ScanList(Box<[u8]>);

impl ScanList {
    /// The list holding `scans` (sorted): narrow when their times allow, wide otherwise.
    fn encode(scans: &[u64]) -> ScanList {
        let Some(earliest) = scans.iter().map(|&s| time_of(s)).min() else {
            return ScanList::default();
        };
        let latest = scans.iter().map(|&s| time_of(s)).max().unwrap_or(earliest);
        let base = i32::try_from(earliest.div_euclid(MINUTE)).ok();
        let narrow = base.filter(|&b| latest - i64::from(b) * MINUTE <= MAX_OFFSET);
        let bytes: Vec<u8> = match narrow {
            Some(base) => {
                let start = i64::from(base) * MINUTE;
                let mut v = Vec::with_capacity(NARROW_HEAD + NARROW_SCAN * scans.len());
                v.push(NARROW);
                v.extend_from_slice(&base.to_le_bytes());
                for &s in scans {
                    v.extend_from_slice(&narrow_scan(
                        carrier_of(s),
                        time_of(s) - start,
                        delivered(s),
                    ));
                }
                v
            }
            None => {
                let mut v = Vec::with_capacity(1 + 8 * scans.len());
                v.push(WIDE);
                for &s in scans {
                    v.extend_from_slice(&s.to_le_bytes());
                }
                v
            }
        };
        ScanList(bytes.into_boxed_slice())
    }

    /// The scans held, packed, in order.
    fn decode(&self) -> Scans {
        self.packed().collect()
    }

    /// The scans held, packed, in order, decoded one by one.
    fn packed(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter().map(|(c, at, d)| pack(c, at, d))
    }

    /// The base of a narrow list: the time its offsets count from.
    fn narrow_start(&self) -> Option<Millis> {
        match self.0.as_ref() {
            [NARROW, a, b, c, d, ..] => {
                Some(i64::from(i32::from_le_bytes([*a, *b, *c, *d])) * MINUTE)
            }
            _ => None,
        }
    }

    /// [`ScanList::insert`] into a narrow list, in place of its bytes, when the scan's time
    /// fits its base; `None` when it does not (the list is then re-encoded).
    fn insert_narrow(&mut self, carrier: u8, at: Millis, delivery: bool) -> Option<bool> {
        let offset = at - self.narrow_start()?;
        if !(0..=MAX_OFFSET).contains(&offset) {
            return None;
        }
        let word = (offset as u32) << 1;
        let scans = &self.0[NARROW_HEAD..];
        let at_or_after = scans
            .chunks_exact(NARROW_SCAN)
            .position(|c| (c[0], narrow_word(c) & !1) >= (carrier, word));
        let pos = NARROW_HEAD + at_or_after.unwrap_or(scans.len() / NARROW_SCAN) * NARROW_SCAN;
        if let Some(c) = self.0.get(pos..pos + NARROW_SCAN) {
            let held = narrow_word(c);
            if c[0] == carrier && held & !1 == word {
                if held & 1 == 1 || !delivery {
                    return Some(false);
                }
                self.0[pos + 1..pos + NARROW_SCAN].copy_from_slice(&(held | 1).to_le_bytes());
                return Some(true);
            }
        }
        let mut grown = Vec::with_capacity(self.0.len() + NARROW_SCAN);
        grown.extend_from_slice(&self.0[..pos]);
        grown.extend_from_slice(&narrow_scan(carrier, offset, delivery));
        grown.extend_from_slice(&self.0[pos..]);
        self.0 = grown.into_boxed_slice();
        Some(true)
    }

    /// Number of scans held.
    pub fn len(&self) -> usize {
        match self.0.first() {
            None => 0,
            Some(&NARROW) => self.0.len().saturating_sub(NARROW_HEAD) / NARROW_SCAN,
            Some(_) => (self.0.len() - 1) / 8,
        }
    }

    /// True when no scan is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a physical scan, a delivery when `delivery`. False when it changes nothing: the
    /// carrier reported that time already (as a delivery, if this is one).
    pub fn insert(&mut self, carrier: u8, at: Millis, delivery: bool) -> bool {
        debug_assert!((MIN_TIME..=MAX_TIME).contains(&at), "scan time {at}");
        if let Some(changed) = self.insert_narrow(carrier, at, delivery) {
            return changed;
        }
        let mut scans = self.decode();
        let plain = pack(carrier, at, false);
        let i = scans.partition_point(|&s| s < plain);
        match scans.get(i) {
            Some(&s) if s | 1 == plain | 1 => {
                if delivered(s) || !delivery {
                    return false;
                }
                scans[i] = s | 1;
            }
            _ => scans.insert(i, plain | u64::from(delivery)),
        }
        *self = ScanList::encode(&scans);
        true
    }

    /// Every scan held, as `(carrier, time, delivered)`: by carrier, then time.
    pub fn iter(&self) -> Iter<'_> {
        match self.narrow_start() {
            Some(start) => Iter {
                narrow_start: Some(start),
                rest: &self.0[NARROW_HEAD..],
            },
            None => Iter {
                narrow_start: None,
                rest: self.0.get(1..).unwrap_or_default(),
            },
        }
    }

    /// Drops the scans before `start`; frees the allocation when none is left.
    pub fn retain_from(&mut self, start: Millis) {
        if self.iter().all(|(_, at, _)| at >= start) {
            return;
        }
        let kept: Scans = self.packed().filter(|&s| time_of(s) >= start).collect();
        *self = ScanList::encode(&kept);
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times at the edges: the extremes kept exactly, year 0001, around 1970, year 9999.
    const EDGE_TIMES: [Millis; 7] = [
        MIN_TIME,
        -62_135_596_800_000,
        -1,
        0,
        1,
        253_402_300_799_999,
        MAX_TIME,
    ];

    #[test]
    fn packing_keeps_carrier_time_order() {
        for t in EDGE_TIMES {
            for c in [0u8, 7, 255] {
                let s = pack(c, t, true);
                assert_eq!((carrier_of(s), time_of(s), delivered(s)), (c, t, true));
            }
        }
        assert!(pack(1, MAX_TIME, true) < pack(2, MIN_TIME, false));
        assert!(pack(1, -5, true) < pack(1, -4, false));
    }

    #[test]
    fn keeps_one_scan_per_carrier_and_time() {
        let mut l = ScanList::default();
        assert!(l.is_empty());
        assert!(l.insert(2, 50, false));
        assert!(!l.insert(2, 50, false));
        assert!(l.insert(2, 50, true));
        assert!(!l.insert(2, 50, true));
        assert!(!l.insert(2, 50, false));
        assert!(l.insert(1, 70, true));
        for t in [10, 90, 30, 60, 20, 80] {
            assert!(l.insert(2, t, false));
        }
        assert_eq!(l.len(), 8);
        let held: Vec<_> = l.iter().collect();
        let times_of_2: Vec<_> = held.iter().filter(|s| s.0 == 2).map(|s| s.1).collect();
        assert_eq!(held[0], (1, 70, true));
        assert_eq!(times_of_2, vec![10, 20, 30, 50, 60, 80, 90]);
        assert_eq!(held.iter().filter(|s| s.2).count(), 2);
        l.retain_from(55);
        assert_eq!(l.len(), 4);
        assert_eq!(l.iter().filter(|s| s.2).count(), 1);
        l.retain_from(1000);
        assert!(l.is_empty());
        assert_eq!(l.heap_bytes(), 0);
    }

    #[test]
    fn a_list_is_narrow_while_its_times_allow_and_wide_beyond() {
        let day = 86_400_000;
        let mut l = ScanList::default();
        assert!(l.insert(3, 1_790_000_000_123, false));
        assert!(l.insert(3, 1_790_000_000_123 + 20 * day, true));
        assert_eq!(l.heap_bytes(), NARROW_HEAD + 2 * NARROW_SCAN);
        // An earlier scan moves the base; one 30 days away makes the list wide.
        assert!(l.insert(1, 1_790_000_000_000 - 59_999, false));
        assert_eq!(l.heap_bytes(), NARROW_HEAD + 3 * NARROW_SCAN);
        assert!(l.insert(1, 1_790_000_000_000 + 30 * day, false));
        assert_eq!(l.heap_bytes(), 1 + 4 * 8);
        let held: Vec<_> = l.iter().collect();
        assert_eq!(
            held,
            vec![
                (1, 1_790_000_000_000 - 59_999, false),
                (1, 1_790_000_000_000 + 30 * day, false),
                (3, 1_790_000_000_123, false),
                (3, 1_790_000_000_123 + 20 * day, true),
            ]
        );
        // Once the early scans are dropped, it is narrow again.
        l.retain_from(1_790_000_000_000 + 10 * day);
        assert_eq!(l.len(), 2);
        assert_eq!(l.heap_bytes(), NARROW_HEAD + 2 * NARROW_SCAN);
        // Times far from 1970 and negative ones are exact too.
        let mut far = ScanList::default();
        for t in EDGE_TIMES {
            assert!(far.insert(9, t, true));
        }
        let times: Vec<_> = far.iter().map(|s| s.1).collect();
        assert_eq!(times, EDGE_TIMES);
        let mut negative = ScanList::default();
        assert!(negative.insert(0, -5, false));
        assert!(negative.insert(0, -1, true));
        assert_eq!(negative.heap_bytes(), NARROW_HEAD + 2 * NARROW_SCAN);
        assert_eq!(
            negative.iter().collect::<Vec<_>>(),
            vec![(0, -5, false), (0, -1, true)]
        );
    }

    proptest::proptest! {
        /// The list holds what a plain sorted set of `(carrier, time)` with delivery flags
        /// holds, whatever the times (narrow, wide and the moves between them).
        #[test]
        fn holds_what_a_sorted_set_holds(
            scans in proptest::collection::vec(
                (0u8..4, proptest::prop_oneof![0i64..200_000, -3_000_000_000i64..3_000_000_000], proptest::bool::ANY),
                0..40,
            ),
            cut in proptest::option::of(-3_000_000_000i64..3_000_000_000),
        ) {
            let mut list = ScanList::default();
            let mut model = std::collections::BTreeMap::<(u8, Millis), bool>::new();
            for (carrier, at, delivery) in scans {
                let held = model.get(&(carrier, at)).copied();
                let changes = held.is_none() || (delivery && held == Some(false));
                proptest::prop_assert_eq!(list.insert(carrier, at, delivery), changes);
                let e = model.entry((carrier, at)).or_insert(false);
                *e |= delivery;
            }
            if let Some(cut) = cut {
                list.retain_from(cut);
                model.retain(|&(_, at), _| at >= cut);
            }
            let expected: Vec<_> = model.iter().map(|(&(c, at), &d)| (c, at, d)).collect();
            proptest::prop_assert_eq!(list.iter().collect::<Vec<_>>(), expected);
            proptest::prop_assert_eq!(list.len(), model.len());
        }
    }
}
