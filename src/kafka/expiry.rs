//! State expiry in `vtrack run`: memory is bounded by the windows, not by history.
//!
//! * An order task drops the orders no later event can change ([`OrderStage::expire`]:
//!   every package final, its metric day out of the longest seller window), and announces
//!   its event time to every tracking task.
//! * A tracking task drops scans and subscriptions once **every order task** has got far
//!   enough ([`TrackingStage::expire_before`]). Its own event time is not enough: it comes
//!   from the inputs and can run far ahead of an order task that is behind (catching up, or
//!   restoring), whose subscriptions are still to come. A confirmation that is not late at
//!   its order task has `t + horizon` after that task's event time, so once every order
//!   task has announced event time *T*, no subscription to come starts before
//!   `T - horizon - lookback`. The announcements never move a tracking task's time (that
//!   would close the loop between the stages that design section 3 warns about); they only
//!   bound what it keeps.
//!
//! Both run at most once per hour of event time, as records are read, so a task's state
//! stays a function of its input log and a restore computes the same state.
//!
//! [`OrderStage::expire`]: crate::engine::order::OrderStage::expire
//! [`TrackingStage::expire_before`]: crate::engine::tracking::TrackingStage::expire_before

use super::watermark::WatermarkVector;
use super::wire::Source;
use crate::config::EngineConfig;
use crate::event::{Millis, HOUR_MS};

/// Event time between two expiries of a task.
pub const STEP: Millis = HOUR_MS;

/// When a task last dropped state and, for a tracking task, the event time every order task
/// has announced. Part of the task's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Expiry {
    /// Event time of the last expiry.
    last: Millis,
    /// What each order task has announced (expects none in an order task).
    orders: WatermarkVector,
}

impl Expiry {
    /// For an order task: expiry follows its own event time.
    pub fn for_order_task() -> Self {
        Expiry {
            last: Millis::MIN,
            orders: WatermarkVector::new(Vec::new()),
        }
    }

    /// For a tracking task: expiry follows the slowest of `order_tasks` order tasks.
    pub fn for_tracking_task(order_tasks: i32) -> Self {
        Expiry {
            last: Millis::MIN,
            orders: WatermarkVector::new((0..order_tasks).map(Source::Order).collect()),
        }
    }

    /// True when event time `now` has entered a later hour than the last expiry's (or when
    /// nothing was dropped yet); remembers `now` then.
    pub fn due(&mut self, now: Millis) -> bool {
        let due = self.last == Millis::MIN || now.div_euclid(STEP) > self.last.div_euclid(STEP);
        if due {
            self.last = now;
        }
        due
    }

    /// Records an order task's announced event time. Returns the bound to expire a tracking
    /// task's state before (no subscription to come starts earlier) when every order task
    /// has announced and an expiry is due.
    pub fn order_progress(
        &mut self,
        source: Source,
        time: Millis,
        cfg: &EngineConfig,
    ) -> Option<Millis> {
        if !self.orders.announce(source, time) {
            return None;
        }
        let slowest = self.orders.min()?;
        self.due(slowest).then(|| {
            slowest
                .saturating_sub(cfg.horizon)
                .saturating_sub(cfg.lookback)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DAY_MS;

    #[test]
    fn expiry_is_due_once_per_hour_of_event_time() {
        let mut e = Expiry::for_order_task();
        assert!(e.due(10 * DAY_MS + 1));
        assert!(!e.due(10 * DAY_MS + HOUR_MS - 1));
        assert!(e.due(10 * DAY_MS + HOUR_MS));
        assert!(!e.due(10 * DAY_MS + HOUR_MS + 5));
    }

    #[test]
    fn a_tracking_task_waits_for_every_order_task_and_follows_the_slowest() {
        let cfg = EngineConfig::default();
        let mut e = Expiry::for_tracking_task(2);
        let t = 100 * DAY_MS;
        assert_eq!(e.order_progress(Source::Order(0), t, &cfg), None);
        let bound = e.order_progress(Source::Order(1), t - DAY_MS, &cfg);
        assert_eq!(bound, Some(t - DAY_MS - cfg.horizon - cfg.lookback));
        assert_eq!(
            e.order_progress(Source::Order(1), t - DAY_MS + 1, &cfg),
            None,
            "not an hour later"
        );
        assert_eq!(
            e.order_progress(Source::Order(1), t - DAY_MS, &cfg),
            None,
            "announcements only move forward"
        );
        let bound = e.order_progress(Source::Order(1), t + DAY_MS, &cfg);
        assert_eq!(bound, Some(t - cfg.horizon - cfg.lookback), "the slowest");
    }
}
