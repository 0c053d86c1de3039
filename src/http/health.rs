//! What `/healthz` and `/readyz` answer: the processor sets these flags, the endpoint reads them.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The poll loop is stuck when it has not turned for this long (`/healthz` fails).
pub const STUCK_AFTER: Duration = Duration::from_secs(120);

/// The processor's state, shared with the HTTP endpoint.
#[derive(Debug)]
pub struct Health {
    /// The consumer has received its first assignment (possibly empty: a stand-by instance).
    joined: AtomicBool,
    /// Newly assigned tasks are re-reading their state.
    restoring: AtomicBool,
    /// Shutdown has begun.
    stopping: AtomicBool,
    /// Records behind over the owned partitions; -1 until librdkafka first reports.
    lag: AtomicI64,
    /// Milliseconds since the epoch when the poll loop last turned.
    heartbeat: AtomicU64,
    /// `/readyz` fails above this lag (0: no limit).
    max_lag: i64,
}

/// Why the instance is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// It has not joined the consumer group yet.
    NotJoined,
    /// It is restoring state.
    Restoring,
    /// It is shutting down.
    Stopping,
    /// Its partitions are too far behind.
    Lagging,
}

impl NotReady {
    /// A short explanation.
    pub fn as_str(self) -> &'static str {
        match self {
            NotReady::NotJoined => "not joined to the consumer group yet",
            NotReady::Restoring => "restoring state of newly assigned partitions",
            NotReady::Stopping => "shutting down",
            NotReady::Lagging => "too far behind on its partitions",
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Health {
    /// A processor that has just started; `/readyz` fails while lag exceeds `max_lag` (0: never).
    pub fn new(max_lag: i64) -> Self {
        Health {
            joined: AtomicBool::new(false),
            restoring: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            lag: AtomicI64::new(-1),
            heartbeat: AtomicU64::new(now_ms()),
            max_lag,
        }
    }

    /// The consumer joined the group (received an assignment, or stands by with none).
    pub fn set_joined(&self) {
        self.joined.store(true, Ordering::Relaxed);
    }

    /// Whether it has joined the consumer group.
    pub fn is_joined(&self) -> bool {
        self.joined.load(Ordering::Relaxed)
    }

    /// A restore began or ended.
    pub fn set_restoring(&self, restoring: bool) {
        self.restoring.store(restoring, Ordering::Relaxed);
    }

    /// Whether a restore is running.
    pub fn is_restoring(&self) -> bool {
        self.restoring.load(Ordering::Relaxed)
    }

    /// Shutdown began.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// The total lag of the owned partitions, as librdkafka last reported it.
    pub fn set_lag(&self, lag: i64) {
        self.lag.store(lag, Ordering::Relaxed);
    }

    /// The poll loop (or a restore) made progress.
    pub fn beat(&self) {
        self.heartbeat.store(now_ms(), Ordering::Relaxed);
    }

    /// `Ok` while the poll loop turns.
    pub fn alive(&self) -> Result<(), Duration> {
        let idle =
            Duration::from_millis(now_ms().saturating_sub(self.heartbeat.load(Ordering::Relaxed)));
        if idle > STUCK_AFTER {
            Err(idle)
        } else {
            Ok(())
        }
    }

    /// `Ok` when joined, restored, not stopping and not far behind.
    pub fn ready(&self) -> Result<(), NotReady> {
        if self.is_stopping() {
            return Err(NotReady::Stopping);
        }
        if !self.joined.load(Ordering::Relaxed) {
            return Err(NotReady::NotJoined);
        }
        if self.is_restoring() {
            return Err(NotReady::Restoring);
        }
        let lag = self.lag.load(Ordering::Relaxed);
        if self.max_lag > 0 && lag > self.max_lag {
            return Err(NotReady::Lagging);
        }
        Ok(())
    }

    /// The last reported lag (-1: not reported yet).
    pub fn lag(&self) -> i64 {
        self.lag.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_joined_restored_caught_up_and_running() {
        let h = Health::new(100);
        assert_eq!(h.ready(), Err(NotReady::NotJoined));
        h.set_joined();
        assert_eq!(h.ready(), Ok(()), "lag unknown counts as caught up");
        h.set_restoring(true);
        assert_eq!(h.ready(), Err(NotReady::Restoring));
        h.set_restoring(false);
        h.set_lag(101);
        assert_eq!(h.ready(), Err(NotReady::Lagging));
        h.set_lag(100);
        assert_eq!(h.ready(), Ok(()));
        h.set_stopping();
        assert_eq!(h.ready(), Err(NotReady::Stopping));
        assert!(h.alive().is_ok());
    }

    #[test]
    fn no_lag_limit_when_zero() {
        let h = Health::new(0);
        h.set_joined();
        h.set_lag(i64::MAX);
        assert_eq!(h.ready(), Ok(()));
    }
}
