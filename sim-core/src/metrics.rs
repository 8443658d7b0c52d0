//! Metrics: counters, time series sampled at events, and histograms.
//!
//! Two histograms, for two needs:
//! - [`Samples`] keeps every value and gives exact nearest-rank quantiles. Memory grows with
//!   the number of samples: use it for per-run quantities (one value per flow or per move).
//! - [`Histogram`] keeps log-linear buckets (the HdrHistogram layout: 1024 buckets per power of
//!   two above 2048). Memory is bounded (at most 56,320 buckets, allocated up to the largest
//!   value seen) whatever the number of samples: use it for per-packet quantities. Its quantiles are
//!   nearest-rank on the bucketed values: the reported value is the lower edge of the bucket
//!   that holds the exact nearest-rank sample, so `reported <= exact < reported * (1 + 2^-10)`,
//!   and values below 2048 are exact. Mean, min and max are exact.

/// A monotone event counter.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Counter(pub u64);

impl Counter {
    #[inline]
    pub fn inc(&mut self) {
        self.0 += 1;
    }
    #[inline]
    pub fn add(&mut self, n: u64) {
        self.0 += n;
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A series of `(time_ns, value)` points recorded when something happens (not on a timer).
/// A point recorded at the same instant as the previous one replaces it, so the series holds
/// the value in force after each instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeSeries {
    points: Vec<(u64, f64)>,
}

impl TimeSeries {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn record(&mut self, time_ns: u64, value: f64) {
        match self.points.last_mut() {
            Some(last) if last.0 == time_ns => last.1 = value,
            Some(last) => {
                assert!(time_ns > last.0, "invariant: time series recorded out of order");
                self.points.push((time_ns, value));
            }
            None => self.points.push((time_ns, value)),
        }
    }
    pub fn points(&self) -> &[(u64, f64)] {
        &self.points
    }
    pub fn max(&self) -> Option<f64> {
        self.points.iter().map(|p| p.1).reduce(f64::max)
    }
    /// Time-weighted mean of the step function over `[first point, end_ns)`.
    pub fn time_average(&self, end_ns: u64) -> Option<f64> {
        let first = self.points.first()?.0;
        if end_ns <= first {
            return None;
        }
        let mut area = 0.0;
        for (i, &(t, v)) in self.points.iter().enumerate() {
            if t >= end_ns {
                break;
            }
            let next = self.points.get(i + 1).map_or(end_ns, |p| p.0.min(end_ns));
            area += v * (next - t) as f64;
        }
        Some(area / (end_ns - first) as f64)
    }
}

/// Every sample kept; exact nearest-rank quantiles.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    values: Vec<u64>,
    sorted: bool,
}

impl Samples {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn record(&mut self, v: u64) {
        self.values.push(v);
        self.sorted = false;
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    pub fn mean(&self) -> Option<f64> {
        if self.values.is_empty() {
            return None;
        }
        Some(self.values.iter().map(|&v| v as u128).sum::<u128>() as f64 / self.len() as f64)
    }
    /// Nearest rank: the smallest value with at least `ceil(q * n)` samples at or below it
    /// (`q` in `[0, 1]`; q = 0 gives the minimum).
    pub fn quantile(&mut self, q: f64) -> Option<u64> {
        if self.values.is_empty() {
            return None;
        }
        if !self.sorted {
            self.values.sort_unstable();
            self.sorted = true;
        }
        Some(self.values[nearest_rank(q, self.values.len() as u64) as usize - 1])
    }
}

/// 1-based nearest rank for quantile `q` of `n` samples, at least 1.
fn nearest_rank(q: f64, n: u64) -> u64 {
    assert!((0.0..=1.0).contains(&q), "invariant: quantile in [0, 1], got {q}");
    ((q * n as f64).ceil() as u64).clamp(1, n)
}

const SUB_BITS: u32 = 11;
const SUB: u64 = 1 << SUB_BITS;

/// Log-linear bucketed histogram with bounded memory (see the module doc for the error bound).
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    n: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Histogram {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn bucket(v: u64) -> usize {
        if v < SUB {
            v as usize
        } else {
            // Range e >= 1 covers [2^(e+10), 2^(e+11)) with SUB/2 buckets of width 2^e.
            let e = 63 - v.leading_zeros() - (SUB_BITS - 1);
            let offset = (v >> e) - SUB / 2; // in [0, SUB/2)
            (SUB + (e as u64 - 1) * (SUB / 2) + offset) as usize
        }
    }

    fn bucket_low(b: usize) -> u64 {
        let b = b as u64;
        if b < SUB {
            b
        } else {
            let e = (b - SUB) / (SUB / 2) + 1;
            let offset = (b - SUB) % (SUB / 2);
            (SUB / 2 + offset) << e
        }
    }

    #[inline]
    pub fn record(&mut self, v: u64) {
        let b = Self::bucket(v);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        if self.n == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.n += 1;
        self.sum += v as u128;
    }

    pub fn len(&self) -> u64 {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / self.n as f64)
    }
    pub fn min(&self) -> Option<u64> {
        (self.n > 0).then_some(self.min)
    }
    pub fn max(&self) -> Option<u64> {
        (self.n > 0).then_some(self.max)
    }

    /// Nearest-rank quantile on bucket lower edges (clamped to the exact min and max).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.n == 0 {
            return None;
        }
        let rank = nearest_rank(q, self.n);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::bucket_low(b).clamp(self.min, self.max));
            }
        }
        unreachable!("invariant: bucket counts sum to n")
    }

    /// Adds every sample of `other` (same layout, so merging is exact).
    pub fn merge(&mut self, other: &Histogram) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        if other.n > 0 {
            self.min = if self.n == 0 { other.min } else { self.min.min(other.min) };
            self.max = self.max.max(other.max);
        }
        self.n += other.n;
        self.sum += other.sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_follows_the_definition() {
        let mut s = Samples::new();
        for v in [15, 20, 35, 40, 50] {
            s.record(v);
        }
        // The textbook example: n = 5, p30 is rank ceil(1.5) = 2 -> 20; p40 rank 2 -> 20;
        // p50 rank 3 -> 35; p100 -> 50; p0 -> the minimum.
        assert_eq!(s.quantile(0.3), Some(20));
        assert_eq!(s.quantile(0.4), Some(20));
        assert_eq!(s.quantile(0.5), Some(35));
        assert_eq!(s.quantile(1.0), Some(50));
        assert_eq!(s.quantile(0.0), Some(15));
    }

    #[test]
    fn buckets_tile_the_line_without_gaps() {
        for b in 0..(SUB as usize * 8) {
            assert_eq!(Histogram::bucket(Histogram::bucket_low(b)), b);
            if b > 0 {
                assert_eq!(Histogram::bucket(Histogram::bucket_low(b) - 1), b - 1);
            }
        }
        assert!(Histogram::bucket(u64::MAX) < 56_320);
    }

    #[test]
    fn histogram_quantiles_are_within_the_stated_bound() {
        let mut h = Histogram::new();
        let mut s = Samples::new();
        // A deterministic spread over six decades.
        let mut x: u64 = 12345;
        for _ in 0..50_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = (x >> 40) % 10_000_000;
            h.record(v);
            s.record(v);
        }
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let exact = s.quantile(q).unwrap();
            let got = h.quantile(q).unwrap();
            assert!(got <= exact, "q={q}: {got} > {exact}");
            assert!((exact - got) as f64 <= got as f64 / 1024.0, "q={q}: {got} vs {exact}");
        }
        assert_eq!(h.mean(), s.mean());
    }

    #[test]
    fn time_average_weights_by_duration() {
        let mut ts = TimeSeries::new();
        ts.record(0, 0.0);
        ts.record(10, 4.0);
        ts.record(10, 2.0); // same instant: replaces
        ts.record(30, 0.0);
        // 0 for 10 ns, 2 for 20 ns, 0 for 10 ns over [0, 40): 40 / 40 = 1.
        assert_eq!(ts.time_average(40), Some(1.0));
        assert_eq!(ts.max(), Some(2.0));
    }
}
