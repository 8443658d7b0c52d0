//! The live side's clocks. The twin never reads a clock; the live bridge must.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base::Time;

/// Nanoseconds since the Unix epoch: the one clock every host of a run shares (they run on
/// one machine), used for packets' send stamps and the sink's delays.
#[allow(clippy::disallowed_methods)] // live bridge: real time is the point
pub fn wall() -> Time {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Time::from_nanos(d.as_nanos() as u64)
}

/// A monotonic clock started at creation, as `models` machines' `now`.
#[derive(Copy, Clone, Debug)]
pub struct Mono(Instant);

impl Mono {
    #[allow(clippy::disallowed_methods)] // live bridge: real time is the point
    pub fn start() -> Mono {
        Mono(Instant::now())
    }
    pub fn now(&self) -> Time {
        Time::from_nanos(self.0.elapsed().as_nanos() as u64)
    }
}
