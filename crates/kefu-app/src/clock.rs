//! Time as an input: the server uses [`SystemClock`], tests use [`ManualClock`].

use std::sync::Mutex;

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Where use cases get `now` from.
pub trait Clock: Send + Sync {
    /// The current time, truncated to microseconds (what both databases store exactly).
    fn now(&self) -> DateTime<Utc>;
}

fn to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(Duration::microseconds(1)).unwrap_or(time)
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_micros(Utc::now())
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(to_micros(start)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = to_micros(*now + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
