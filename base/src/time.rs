//! Simulated time: `u64` nanoseconds since the start of the run.
//!
//! `Time` is an instant, `Dur` a span. Arithmetic that would leave the `u64` range panics (in every
//! build; nothing saturates silently): a simulated clock past 584 years is a bug.
//!
//! Rates become durations in exactly one place, [`tx_time`], so every link, NF and host rounds
//! the same way.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of simulated time, in nanoseconds since the run began.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(u64);

/// A rate in bits per second.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bps(pub u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const MAX: Time = Time(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Time {
        Time(ns)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }
    /// The span since `earlier`, or zero if `earlier` is later.
    #[inline]
    pub fn saturating_since(self, earlier: Time) -> Dur {
        Dur(self.0.saturating_sub(earlier.0))
    }
}

impl Dur {
    pub const ZERO: Dur = Dur(0);

    pub const fn from_nanos(ns: u64) -> Dur {
        Dur(ns)
    }
    pub const fn from_micros(us: u64) -> Dur {
        Dur(us * 1_000)
    }
    pub const fn from_millis(ms: u64) -> Dur {
        Dur(ms * 1_000_000)
    }
    pub const fn from_secs(s: u64) -> Dur {
        Dur(s * 1_000_000_000)
    }
    /// Seconds as a float, rounded to the nearest nanosecond (ties away from zero).
    /// Negative or non-finite input is a caller bug (validated input never has one).
    pub fn from_secs_f64(s: f64) -> Dur {
        assert!(s.is_finite() && s >= 0.0, "invariant: duration must be finite and >= 0, got {s}");
        Dur((s * 1e9).round() as u64)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }
    pub fn as_micros_f64(self) -> f64 {
        self.0 as f64 * 1e-3
    }
}

/// Time to serialize `bits` at `rate`: `ceil(bits * 1e9 / rate)` nanoseconds.
///
/// This is the one rate-to-duration conversion in nftwin. It rounds **up** so a transmission
/// never ends before its last bit could have left. Links apply it to the cumulative bits of a
/// busy period (see `sim_core::link`), so back-to-back packets do not accumulate rounding: a
/// 1502-byte packet at 10 Gbps takes 1201.6 ns, a lone one is delivered after 1202 ns, and the
/// k-th of a burst ends at `ceil(k * 1201.6)` ns after the burst began.
///
/// # Panics
/// If `rate` is zero (validated configurations never have one).
pub fn tx_time(bits: u128, rate: Bps) -> Dur {
    assert!(rate.0 > 0, "invariant: a rate must be positive");
    let ns = (bits * 1_000_000_000).div_ceil(rate.0 as u128);
    Dur(u64::try_from(ns).expect("invariant: a transmission shorter than 584 years"))
}

impl Add<Dur> for Time {
    type Output = Time;
    #[inline]
    fn add(self, d: Dur) -> Time {
        Time(self.0.checked_add(d.0).expect("invariant: simulated time overflow"))
    }
}
impl AddAssign<Dur> for Time {
    #[inline]
    fn add_assign(&mut self, d: Dur) {
        *self = *self + d;
    }
}
impl Sub<Time> for Time {
    type Output = Dur;
    /// Panics if `rhs` is later: use [`Time::saturating_since`] where that can happen.
    #[inline]
    fn sub(self, rhs: Time) -> Dur {
        Dur(self.0.checked_sub(rhs.0).expect("invariant: subtracting a later time"))
    }
}
impl Add for Dur {
    type Output = Dur;
    #[inline]
    fn add(self, d: Dur) -> Dur {
        Dur(self.0.checked_add(d.0).expect("invariant: duration overflow"))
    }
}
impl AddAssign for Dur {
    #[inline]
    fn add_assign(&mut self, d: Dur) {
        *self = *self + d;
    }
}

fn fmt_ns(ns: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if ns == 0 {
        write!(f, "0s")
    } else if ns.is_multiple_of(1_000_000_000) {
        write!(f, "{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        write!(f, "{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        write!(f, "{}us", ns / 1_000)
    } else {
        write!(f, "{ns}ns")
    }
}
impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t=")?;
        fmt_ns(self.0, f)
    }
}
impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_ns(self.0, f)
    }
}
impl fmt::Debug for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_ns(self.0, f)
    }
}
impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_ns(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_time_rounds_up_to_whole_nanoseconds() {
        // 1502 B at 10 Gbps = 12016 bits / 1e10 = 1201.6 ns.
        assert_eq!(tx_time(12_016, Bps(10_000_000_000)), Dur::from_nanos(1202));
        // Exact division is not rounded.
        assert_eq!(tx_time(8_000, Bps(1_000_000_000)), Dur::from_micros(8));
        // Five back-to-back packets as one busy period: ceil(5 * 1201.6) = 6008, not 5 * 1202.
        assert_eq!(tx_time(5 * 12_016, Bps(10_000_000_000)), Dur::from_nanos(6008));
        assert_eq!(tx_time(0, Bps(1)), Dur::ZERO);
    }

    #[test]
    fn display_uses_the_largest_exact_unit() {
        assert_eq!(Dur::from_micros(250).to_string(), "250us");
        assert_eq!(Dur::from_nanos(1202).to_string(), "1202ns");
        assert_eq!(Dur::from_secs(3).to_string(), "3s");
        assert_eq!(Dur::from_secs_f64(0.0015).to_string(), "1500us");
    }

    #[test]
    #[should_panic(expected = "subtracting a later time")]
    fn subtracting_a_later_time_panics() {
        let _ = Time::from_nanos(1) - Time::from_nanos(2);
    }
}
