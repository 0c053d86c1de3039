//! The scans the tracking stage keeps for one tracking ID, 8 bytes each in one allocation.
//!
//! A scan is packed into a `u64`: reporting carrier (top 8 bits), time (55 bits, biased so
//! that the order of the packed values is the order of the times) and a delivery flag (lowest
//! bit). The list is sorted, so the scans of one carrier are contiguous and in time order.
//! There is at most one value per carrier and time; its flag says whether a delivery was
//! reported at that time. Free slots at the end hold [`FREE`], which sorts after every scan.

use crate::event::Millis;

/// Marks a free slot. No scan packs to it: its time bits are above [`MAX_TIME`]'s.
const FREE: u64 = u64::MAX;

/// Bias added to times so that they pack as unsigned values.
const BIAS: i64 = 1 << 54;

/// Earliest time kept exactly (about 570,000 years before 1970).
const MIN_TIME: Millis = -BIAS;

/// Latest time kept exactly. Decoded events lie in the years 0001 to 9999, far inside
/// `MIN_TIME..=MAX_TIME`; a time outside is clamped to it.
const MAX_TIME: Millis = BIAS - 2;

/// Slots of the first allocation.
const FIRST_CAPACITY: usize = 4;

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

/// The de-duplicated physical scans of one tracking ID: per reporting carrier, the sorted
/// scan times and which of them were deliveries.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ScanList(Box<[u64]>);

impl ScanList {
    /// The scans held, sorted (free slots excluded).
    fn scans(&self) -> &[u64] {
        &self.0[..self.len()]
    }

    /// Number of scans held.
    pub fn len(&self) -> usize {
        self.0.partition_point(|&s| s != FREE)
    }

    /// True when no scan is held.
    pub fn is_empty(&self) -> bool {
        self.0.first().is_none_or(|&s| s == FREE)
    }

    /// Adds a physical scan, a delivery when `delivery`. False when it changes nothing: the
    /// carrier reported that time already (as a delivery, if this is one).
    pub fn insert(&mut self, carrier: u8, at: Millis, delivery: bool) -> bool {
        debug_assert!((MIN_TIME..=MAX_TIME).contains(&at), "scan time {at}");
        let plain = pack(carrier, at, false);
        let i = self.0.partition_point(|&s| s < plain);
        match self.0.get(i) {
            Some(&s) if s | 1 == plain | 1 => {
                if delivered(s) || !delivery {
                    return false;
                }
                self.0[i] = s | 1;
                true
            }
            _ => {
                self.insert_at(i, plain | u64::from(delivery));
                true
            }
        }
    }

    /// Puts a scan at position `i`, moving the later ones up; grows when no slot is free.
    fn insert_at(&mut self, i: usize, scan: u64) {
        let len = self.len();
        if len == self.0.len() {
            let mut grown = std::mem::take(&mut self.0).into_vec();
            let extra = (len / 2).max(2).max(FIRST_CAPACITY.saturating_sub(len));
            grown.reserve_exact(extra);
            grown.resize(len + extra, FREE);
            self.0 = grown.into_boxed_slice();
        }
        self.0.copy_within(i..len, i + 1);
        self.0[i] = scan;
    }

    /// Every scan held, as `(carrier, time, delivered)`: by carrier, then time.
    pub fn iter(&self) -> impl Iterator<Item = (u8, Millis, bool)> + '_ {
        self.0
            .iter()
            .take_while(|&&s| s != FREE)
            .map(|&s| (carrier_of(s), time_of(s), delivered(s)))
    }

    /// Drops the scans before `start`; frees the allocation when none is left.
    pub fn retain_from(&mut self, start: Millis) {
        let kept: Vec<u64> = self
            .scans()
            .iter()
            .copied()
            .filter(|&s| time_of(s) >= start)
            .collect();
        self.0 = kept.into_boxed_slice();
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        self.0.len() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_carrier_time_order() {
        for t in [
            MIN_TIME,
            -62_135_596_800_000,
            -1,
            0,
            1,
            253_402_300_799_999,
            MAX_TIME,
        ] {
            for c in [0u8, 7, 255] {
                let s = pack(c, t, true);
                assert_eq!((carrier_of(s), time_of(s), delivered(s)), (c, t, true));
                assert_ne!(s, FREE);
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
}
