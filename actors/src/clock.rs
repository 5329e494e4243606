//! The only place that reads the system clock. Everything else asks a `Clock`, so tests can
//! run on a manual one (clippy's `disallowed-methods` enforces this).

use std::sync::Mutex;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// Today's date in the given zone (the clinic's calendar).
    fn today(&self, zone: &TimeZone) -> Date {
        self.now().to_zoned(zone.clone()).date()
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the system clock
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t = t.checked_add(by).expect("manual clock stays within jiff's range in tests");
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
