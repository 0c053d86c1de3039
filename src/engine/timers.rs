//! The order stage's timers: `(time, order)` pairs kept in buckets of about an hour of event
//! time, 8 bytes each (the time as an offset within its bucket). Pushing appends to a bucket that is usually hot in the cache; moving time takes the
//! due pairs of the buckets it passes and sorts them once, instead of sifting a large binary
//! heap (a cache miss per level) for every timer.

use crate::event::Millis;
use std::collections::BTreeMap;

/// A bucket covers `2^BUCKET_SHIFT` milliseconds (about 70 minutes).
const BUCKET_SHIFT: u32 = 22;

/// Timers by bucket of their time: per bucket, `(offset of the time in the bucket, id)`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Timers {
    buckets: BTreeMap<Millis, Vec<(u32, u32)>>,
    len: usize,
}

/// The bucket of a time and the time's offset in it.
fn split(at: Millis) -> (Millis, u32) {
    (at >> BUCKET_SHIFT, (at & ((1 << BUCKET_SHIFT) - 1)) as u32)
}

/// The time at `offset` in bucket `bucket`.
fn join(bucket: Millis, offset: u32) -> Millis {
    (bucket << BUCKET_SHIFT) | Millis::from(offset)
}

impl Timers {
    /// Schedules `id` at time `at`.
    pub fn push(&mut self, at: Millis, id: u32) {
        let (bucket, offset) = split(at);
        self.buckets.entry(bucket).or_default().push((offset, id));
        self.len += 1;
    }

    /// Takes every timer due at `now` or before into `due`, sorted by time then id.
    pub fn take_due(&mut self, now: Millis, due: &mut Vec<(Millis, u32)>) {
        let before = due.len();
        let (last, now_offset) = split(now);
        while let Some(mut entry) = self.buckets.first_entry() {
            let key = *entry.key();
            if key > last {
                break;
            }
            if key < last {
                due.extend(entry.get().iter().map(|&(o, id)| (join(key, o), id)));
                entry.remove();
                continue;
            }
            let bucket = entry.get_mut();
            let is_due = |t: &(u32, u32)| t.0 <= now_offset;
            due.extend(
                bucket
                    .iter()
                    .filter(|t| is_due(t))
                    .map(|&(o, id)| (join(key, o), id)),
            );
            bucket.retain(|t| !is_due(t));
            if bucket.is_empty() {
                entry.remove();
            }
            break;
        }
        self.len -= due.len() - before;
        due.sort_unstable();
    }

    /// Number of timers scheduled.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no timer is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held, for state-size reporting (buckets and the map's nodes, roughly).
    pub fn heap_bytes(&self) -> usize {
        let per_bucket = 64;
        self.buckets
            .values()
            .map(|b| per_bucket + b.capacity() * std::mem::size_of::<(u32, u32)>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_sorted_and_only_once() {
        let mut t = Timers::default();
        let hour = 3_600_000;
        for (at, id) in [
            (5 * hour, 1),
            (hour, 2),
            (hour, 0),
            (3 * hour + 1, 3),
            (-hour, 4),
        ] {
            t.push(at, id);
        }
        let mut due = Vec::new();
        t.take_due(hour, &mut due);
        assert_eq!(due, vec![(-hour, 4), (hour, 0), (hour, 2)]);
        assert_eq!(t.len(), 2);
        due.clear();
        t.take_due(hour, &mut due);
        assert!(due.is_empty());
        t.take_due(10 * hour, &mut due);
        assert_eq!(due, vec![(3 * hour + 1, 3), (5 * hour, 1)]);
        assert!(t.is_empty());
    }
}
