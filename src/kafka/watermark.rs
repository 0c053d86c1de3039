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

    /// What `source` has announced, if anything.
    pub fn get(&self, source: Source) -> Option<Millis> {
        self.announced.get(&source).copied()
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
    /// The event time the partition had reached at its last event: the greatest event time
    /// seen, or more when it had advanced while idle (an old or repeated event after an idle
    /// spell does not pull it back). `None` until an event, or a time announced before (by
    /// an earlier owner of the partition), is known.
    pub base: Option<Millis>,
    /// Wall-clock time of the last event (or of the assignment).
    pub last_activity_wall: Millis,
    /// An event was seen since the assignment (seeds no longer apply).
    seen_event: bool,
}

impl SourceClock {
    /// A clock for a partition assigned at `wall`.
    pub fn new(wall: Millis) -> Self {
        SourceClock {
            base: None,
            last_activity_wall: wall,
            seen_event: false,
        }
    }

    /// An event was seen at wall-clock `wall`.
    pub fn observe(&mut self, event_time: Millis, wall: Millis, idle_after: Millis) {
        let reached = self.reached(wall, idle_after);
        self.base = Some(reached.map_or(event_time, |r| r.max(event_time)));
        self.last_activity_wall = wall;
        self.seen_event = true;
    }

    /// A time the partition had reached before it was assigned here (what it announced, as
    /// the tasks hold it; the event time of its last consumed record), used until an event
    /// arrives: a restarted instance whose inputs stay quiet still advances from there. The
    /// greatest seed counts.
    /// `wall` is now: idle time counts from the seed, not from before a restore.
    pub fn seed(&mut self, reached: Millis, wall: Millis) {
        if !self.seen_event {
            self.base = Some(self.base.map_or(reached, |b| b.max(reached)));
            self.last_activity_wall = wall;
        }
    }

    /// True until an event is seen.
    pub fn awaits_event(&self) -> bool {
        !self.seen_event
    }

    /// The event time reached at wall-clock `wall`: the base, plus the idle time once idle
    /// for `idle_after` (`0` turns idle advance off).
    pub fn reached(&self, wall: Millis, idle_after: Millis) -> Option<Millis> {
        let idle_for = wall - self.last_activity_wall;
        let idle = idle_after > 0 && idle_for >= idle_after;
        self.base
            .map(|t| if idle { t.saturating_add(idle_for) } else { t })
    }

    /// What to announce at wall-clock `wall`: [`SourceClock::reached`]. A partition with no
    /// time known announces `fallback` once idle (what the instance's other partitions have
    /// reached, idle advance included), so an empty partition neither freezes time nor
    /// holds it back.
    pub fn announce(
        &self,
        wall: Millis,
        idle_after: Millis,
        fallback: Option<Millis>,
    ) -> Option<Millis> {
        let idle = idle_after > 0 && wall - self.last_activity_wall >= idle_after;
        match self.reached(wall, idle_after) {
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
            "empty and idle: what the others reached"
        );
        c.observe(1_000, 50, 30);
        assert_eq!(c.announce(60, 30, None), Some(1_000));
        assert_eq!(c.announce(100, 30, None), Some(1_050));
        assert_eq!(c.announce(100, 0, None), Some(1_000), "idle advance off");
    }

    #[test]
    fn an_old_event_after_an_idle_spell_does_not_pull_time_back() {
        let mut c = SourceClock::new(0);
        c.observe(1_000, 0, 30);
        assert_eq!(c.announce(500, 30, None), Some(1_500));
        c.observe(900, 500, 30); // a repeat of an old event
        assert_eq!(c.announce(510, 30, None), Some(1_500), "held where it was");
        assert_eq!(
            c.announce(600, 30, None),
            Some(1_600),
            "and advancing again"
        );
    }

    #[test]
    fn a_partition_seeded_with_an_earlier_announcement_advances_from_it() {
        let mut c = SourceClock::new(0);
        c.seed(5_000, 0);
        assert_eq!(c.announce(10, 30, None), Some(5_000));
        assert_eq!(c.announce(100, 30, None), Some(5_100));
        c.seed(1, 0);
        assert_eq!(c.announce(10, 30, None), Some(5_000), "the greatest seed");
        c.observe(6_000, 200, 30);
        assert_eq!(c.announce(210, 30, None), Some(6_000));
        c.seed(9_000, 200);
        assert_eq!(
            c.announce(210, 30, None),
            Some(6_000),
            "events rule once seen"
        );
    }
}
