//! Watermarks across the repartition (design guide section 3).
//!
//! A task's event time is the minimum over every upstream source of what that source has
//! announced, less the allowed lateness; one fast partition cannot make the others late. A
//! source's announcement only ever moves forward.

use super::wire::Source;
use crate::event::Millis;
use std::collections::BTreeMap;

/// What each upstream source of a task has announced.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatermarkVector {
    announced: BTreeMap<Source, Millis>,
    expected: Vec<Source>,
}

impl WatermarkVector {
    /// A vector waiting for every source in `expected`.
    pub fn new(expected: Vec<Source>) -> Self {
        WatermarkVector {
            announced: BTreeMap::new(),
            expected,
        }
    }

    /// Records an announcement; returns true when the source moved forward.
    pub fn announce(&mut self, source: Source, time: Millis) -> bool {
        let slot = self.announced.entry(source).or_insert(Millis::MIN);
        if time > *slot {
            *slot = time;
            true
        } else {
            false
        }
    }

    /// The minimum over every expected source, `None` until each has announced.
    pub fn min(&self) -> Option<Millis> {
        self.expected
            .iter()
            .map(|s| self.announced.get(s).copied())
            .try_fold(Millis::MAX, |m, t| t.map(|t| m.min(t)))
            .filter(|_| !self.expected.is_empty())
    }

    /// Every announcement, for the changelog.
    pub fn entries(&self) -> impl Iterator<Item = (Source, Millis)> + '_ {
        self.announced.iter().map(|(s, t)| (*s, *t))
    }
}

/// Event time of an input partition as the ingest stage announces it: the greatest event time
/// seen, advancing at wall-clock pace once the partition has been idle for `idle_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceClock {
    /// Greatest event time seen.
    pub max_event_time: Option<Millis>,
    /// Wall-clock time of the last event (or of the assignment).
    pub last_activity_wall: Millis,
}

impl SourceClock {
    /// A clock for a partition assigned at `wall`.
    pub fn new(wall: Millis) -> Self {
        SourceClock {
            max_event_time: None,
            last_activity_wall: wall,
        }
    }

    /// An event was seen at wall-clock `wall`.
    pub fn observe(&mut self, event_time: Millis, wall: Millis) {
        self.max_event_time = Some(
            self.max_event_time
                .map_or(event_time, |m| m.max(event_time)),
        );
        self.last_activity_wall = wall;
    }

    /// What to announce at wall-clock `wall`. An idle partition advances at wall-clock pace
    /// from its last event; one that never had an event announces `fallback` (the greatest
    /// time of the instance's other partitions) once idle, so an empty partition does not
    /// freeze time. `idle_after = 0` turns idle advance off.
    pub fn announce(
        &self,
        wall: Millis,
        idle_after: Millis,
        fallback: Option<Millis>,
    ) -> Option<Millis> {
        let idle_for = wall - self.last_activity_wall;
        let idle = idle_after > 0 && idle_for >= idle_after;
        match self.max_event_time {
            Some(t) if idle => Some(t + idle_for),
            Some(t) => Some(t),
            None if idle => fallback,
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_over_every_expected_source() {
        let mut v = WatermarkVector::new(vec![Source::Scans(0), Source::Confirmations(0)]);
        assert!(v.announce(Source::Scans(0), 100));
        assert_eq!(v.min(), None, "a source has not announced yet");
        v.announce(Source::Confirmations(0), 50);
        assert_eq!(v.min(), Some(50));
        assert!(!v.announce(Source::Confirmations(0), 40), "never backwards");
        assert_eq!(v.min(), Some(50));
        v.announce(Source::Confirmations(0), 200);
        assert_eq!(v.min(), Some(100));
    }

    #[test]
    fn idle_partitions_advance_at_wall_clock_pace() {
        let mut c = SourceClock::new(0);
        assert_eq!(c.announce(10, 30, Some(7)), None);
        assert_eq!(
            c.announce(40, 30, Some(7)),
            Some(7),
            "empty and idle: fallback"
        );
        c.observe(1_000, 50);
        assert_eq!(c.announce(60, 30, None), Some(1_000));
        assert_eq!(c.announce(100, 30, None), Some(1_050));
        assert_eq!(c.announce(100, 0, None), Some(1_000), "idle advance off");
    }
}
