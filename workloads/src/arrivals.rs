//! Poisson flow arrivals at a target load of a link.
//!
//! `lambda = load * capacity_bps / (8 * mean_flow_bytes)` flows per second, with the mean the
//! exact mean of the same piecewise-linear CDF the sizes are drawn from (a mean computed under
//! another convention would miss the load by up to 1.9x, see PROVENANCE.md). Gaps are
//! exponential with mean `1 / lambda`, rounded to the nanosecond; the first flow starts one gap
//! after 0, and flows starting at or after `duration` are not generated.
//!
//! Randomness: gaps from the stream `"workload/arrivals"`, sizes from `"workload/sizes"`, both
//! from the caller's `RngStreams`. One draw of each per flow, so the sizes of the first `n`
//! flows do not depend on the load, and the same seed gives the same trace on every machine.

use base::{Bps, Dur, Rng, RngStreams, Time};

use crate::cdf::FlowSizeDist;
use crate::flow::{FiveTuple, Flow, FlowId};

/// The RNG stream names (stable: changing one changes every trace).
pub const ARRIVALS_STREAM: &str = "workload/arrivals";
pub const SIZES_STREAM: &str = "workload/sizes";

/// What to generate.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ArrivalParams {
    /// Offered load as a fraction of `link` (1.0 = the link's capacity on average).
    pub load: f64,
    /// The link whose capacity the load refers to.
    pub link: Bps,
    /// Flows start in `[0, duration)`.
    pub duration: Dur,
}

/// Parameters that cannot generate a trace.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArrivalError {
    #[error("load must be a positive finite number, got {load}")]
    BadLoad { load: f64 },
    #[error("the link rate must be positive")]
    ZeroRate,
    #[error("the duration must be positive")]
    ZeroDuration,
}

/// Flows per second that offer `load` of `link` with flows of mean `mean_bytes`.
pub fn arrival_rate(load: f64, link: Bps, mean_bytes: f64) -> f64 {
    load * link.0 as f64 / (8.0 * mean_bytes)
}

/// A stream of flows in start order; `collect()` it for a trace.
#[derive(Clone, Debug)]
pub struct Arrivals<'a> {
    dist: &'a FlowSizeDist,
    gaps: Rng,
    sizes: Rng,
    mean_gap_ns: f64,
    now: Time,
    end: Time,
    next: u64,
}

impl<'a> Arrivals<'a> {
    pub fn new(
        dist: &'a FlowSizeDist,
        params: &ArrivalParams,
        streams: &RngStreams,
    ) -> Result<Self, ArrivalError> {
        if !(params.load.is_finite() && params.load > 0.0) {
            return Err(ArrivalError::BadLoad { load: params.load });
        }
        if params.link.0 == 0 {
            return Err(ArrivalError::ZeroRate);
        }
        if params.duration == Dur::ZERO {
            return Err(ArrivalError::ZeroDuration);
        }
        let lambda = arrival_rate(params.load, params.link, dist.mean());
        Ok(Arrivals {
            dist,
            gaps: streams.stream(ARRIVALS_STREAM),
            sizes: streams.stream(SIZES_STREAM),
            mean_gap_ns: 1e9 / lambda,
            now: Time::ZERO,
            end: Time::ZERO + params.duration,
            next: 0,
        })
    }

    /// The mean gap between flow starts, in nanoseconds.
    pub fn mean_gap_ns(&self) -> f64 {
        self.mean_gap_ns
    }
}

impl Iterator for Arrivals<'_> {
    type Item = Flow;

    #[inline]
    fn next(&mut self) -> Option<Flow> {
        // A gap past the end of representable time (absurdly low rates) ends the stream too.
        let gap = self.gaps.exp_dur(self.mean_gap_ns).as_nanos();
        let start = match self.now.as_nanos().checked_add(gap) {
            Some(ns) => Time::from_nanos(ns),
            None => self.end,
        };
        if start >= self.end {
            self.now = self.end;
            return None;
        }
        self.now = start;
        let i = self.next;
        self.next += 1;
        Some(Flow {
            id: FlowId(i),
            start,
            size_bytes: self.dist.sample(&mut self.sizes),
            tuple: FiveTuple::synthetic(i),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::builtin;

    #[test]
    fn same_seed_same_flows_other_seed_other_flows() {
        let d = builtin("fb-hadoop").unwrap();
        let p =
            ArrivalParams { load: 0.5, link: Bps(10_000_000_000), duration: Dur::from_millis(5) };
        let a: Vec<Flow> = Arrivals::new(&d, &p, &RngStreams::new(9)).unwrap().collect();
        let b: Vec<Flow> = Arrivals::new(&d, &p, &RngStreams::new(9)).unwrap().collect();
        let c: Vec<Flow> = Arrivals::new(&d, &p, &RngStreams::new(10)).unwrap().collect();
        assert!(a.len() > 10);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(a.iter().all(|f| f.start < Time::ZERO + p.duration));
    }

    #[test]
    fn an_absurdly_low_rate_gives_no_flows_instead_of_overflowing() {
        let d = builtin("datamining").unwrap();
        let p = ArrivalParams { load: 1e-12, link: Bps(1), duration: Dur::from_secs(1) };
        assert_eq!(Arrivals::new(&d, &p, &RngStreams::new(1)).unwrap().count(), 0);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let d = builtin("websearch").unwrap();
        let s = RngStreams::new(1);
        let ok = ArrivalParams { load: 0.5, link: Bps(1), duration: Dur::from_secs(1) };
        let e = Arrivals::new(&d, &ArrivalParams { load: f64::NAN, ..ok }, &s).unwrap_err();
        assert!(matches!(e, ArrivalError::BadLoad { .. }));
        let e = Arrivals::new(&d, &ArrivalParams { link: Bps(0), ..ok }, &s).unwrap_err();
        assert_eq!(e, ArrivalError::ZeroRate);
        let e = Arrivals::new(&d, &ArrivalParams { duration: Dur::ZERO, ..ok }, &s).unwrap_err();
        assert_eq!(e, ArrivalError::ZeroDuration);
    }
}
