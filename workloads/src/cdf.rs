//! Empirical flow-size distributions: a piecewise-linear CDF read from `size_bytes,cdf` CSV.
//!
//! Convention (the one `shared/workloads/PROVENANCE.md` uses for its statistics, and HPCC's
//! `traffic_gen.py`, ns-2 `Empirical` with `interpolation_ 2`): between consecutive rows the
//! sizes are uniform, so the CDF is linear. Two rows with the same size are a **point mass**;
//! two rows with the same cdf are a **zero-probability segment**. Both are valid.
//!
//! Everything here is exact under that convention: the mean, the second moment, quantiles and
//! the byte-weighted tail `E[S 1{S > T}] / E[S]` are closed-form sums over segments, and the
//! sampler is the inverse of the same CDF, so "sampled mean = analytic mean" is a test, not a
//! hope.

use std::fmt;
use std::path::Path;

use base::Rng;

/// Why a CDF file was rejected. Every variant names the file and, where one exists, the line
/// (1-based, counting the header) and the rule that was broken.
#[derive(Debug, thiserror::Error)]
pub enum CdfError {
    #[error("{file}: cannot read the CDF file")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: expected the header `size_bytes,cdf`, found `{found}`")]
    BadHeader { file: String, line: usize, found: String },
    #[error("{file}:{line}: expected 2 comma-separated fields `size_bytes,cdf`, found {found}")]
    FieldCount { file: String, line: usize, found: usize },
    #[error("{file}:{line}: column 1 (size_bytes) `{text}` is not a whole number of bytes (e.g. `1500`)")]
    BadSize { file: String, line: usize, text: String },
    #[error("{file}:{line}: column 2 (cdf) `{text}` is not a number in [0, 1] (e.g. `0.25`)")]
    BadCdf { file: String, line: usize, text: String },
    #[error(
        "{file}:{line}: size_bytes decreases ({size} after {prev}); sizes must be non-decreasing"
    )]
    SizeDecreasing { file: String, line: usize, size: u64, prev: u64 },
    #[error("{file}:{line}: cdf decreases ({cdf} after {prev}); the cdf must be non-decreasing")]
    CdfDecreasing { file: String, line: usize, cdf: f64, prev: f64 },
    #[error(
        "{file}:{line}: the first row's cdf is {cdf}, it must be exactly 0 \
         (prepend `{size},0` to put that mass on the smallest size)"
    )]
    FirstNotZero { file: String, line: usize, cdf: f64, size: u64 },
    #[error("{file}:{line}: the last row's cdf is {cdf}, it must be exactly 1")]
    LastNotOne { file: String, line: usize, cdf: f64 },
    #[error("{file}: {rows} data row(s); a distribution needs at least 2 (from cdf 0 to cdf 1)")]
    TooFewRows { file: String, rows: usize },
    #[error("{file}: every size is 0 bytes, so the mean is 0 and no load can be offered")]
    ZeroMean { file: String },
}

/// A validated piecewise-linear flow-size CDF.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSizeDist {
    name: String,
    /// Sizes in bytes, non-decreasing (as `f64` for the arithmetic; all are whole numbers).
    x: Vec<f64>,
    /// Cumulative probabilities, non-decreasing, `c[0] == 0`, `c[last] == 1`.
    c: Vec<f64>,
    mean: f64,
}

impl FlowSizeDist {
    /// Parses `size_bytes,cdf` CSV text. `file` names the source in errors (a path, or
    /// `builtin:<name>`). Blank lines are skipped; `\r\n` line ends are accepted.
    pub fn parse(file: &str, text: &str) -> Result<Self, CdfError> {
        let f = || file.to_string();
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let (hline, header) = lines
            .by_ref()
            .find(|(_, l)| !l.trim().is_empty())
            .ok_or(CdfError::TooFewRows { file: f(), rows: 0 })?;
        if header.trim() != "size_bytes,cdf" {
            return Err(CdfError::BadHeader { file: f(), line: hline, found: header.to_string() });
        }
        let mut x: Vec<f64> = Vec::new();
        let mut c: Vec<f64> = Vec::new();
        let mut raw_x: Vec<u64> = Vec::new();
        let mut last_line = hline;
        for (line, l) in lines {
            if l.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = l.split(',').collect();
            if fields.len() != 2 {
                return Err(CdfError::FieldCount { file: f(), line, found: fields.len() });
            }
            let (st, ct) = (fields[0].trim(), fields[1].trim());
            let size: u64 = st.parse().map_err(|_| CdfError::BadSize {
                file: f(),
                line,
                text: st.to_string(),
            })?;
            let cdf: f64 = match ct.parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => v,
                _ => return Err(CdfError::BadCdf { file: f(), line, text: ct.to_string() }),
            };
            if let (Some(&prev), Some(&prev_c)) = (raw_x.last(), c.last()) {
                if size < prev {
                    return Err(CdfError::SizeDecreasing { file: f(), line, size, prev });
                }
                if cdf < prev_c {
                    return Err(CdfError::CdfDecreasing { file: f(), line, cdf, prev: prev_c });
                }
            } else if cdf != 0.0 {
                return Err(CdfError::FirstNotZero { file: f(), line, cdf, size });
            }
            raw_x.push(size);
            x.push(size as f64);
            c.push(cdf);
            last_line = line;
        }
        if x.len() < 2 {
            return Err(CdfError::TooFewRows { file: f(), rows: x.len() });
        }
        let last = *c.last().expect("invariant: at least two rows");
        if last != 1.0 {
            return Err(CdfError::LastNotOne { file: f(), line: last_line, cdf: last });
        }
        let mut d = FlowSizeDist { name: file.to_string(), x, c, mean: 0.0 };
        d.mean = d.segments().map(|(a, b, p)| p * (a + b) / 2.0).sum();
        if d.mean <= 0.0 {
            return Err(CdfError::ZeroMean { file: f() });
        }
        Ok(d)
    }

    /// Reads and parses a CSV file; errors name the path.
    pub fn from_path(path: &Path) -> Result<Self, CdfError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| CdfError::Io { file: file.clone(), source })?;
        Self::parse(&file, &text)
    }

    /// The name given at parse time (a path or `builtin:<name>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames (the catalog uses this to give builtins their short names).
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The rows as `(size_bytes, cdf)`.
    pub fn rows(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        self.x.iter().zip(&self.c).map(|(&x, &c)| (x as u64, c))
    }

    /// `(a, b, p)` for each pair of consecutive rows: sizes uniform on `[a, b]` with
    /// probability `p` (a point mass when `a == b`; `p == 0` segments are included).
    fn segments(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        (1..self.x.len()).map(|i| (self.x[i - 1], self.x[i], self.c[i] - self.c[i - 1]))
    }

    /// Exact mean: `sum p (a + b) / 2`.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Exact second moment `E[S^2] = sum p (a^2 + a b + b^2) / 3` (for error bars in tests).
    pub fn second_moment(&self) -> f64 {
        self.segments().map(|(a, b, p)| p * (a * a + a * b + b * b) / 3.0).sum()
    }

    /// The largest size.
    pub fn max(&self) -> f64 {
        *self.x.last().expect("invariant: at least two rows")
    }

    /// `P(S <= s)`: right-continuous, so a point mass at `s` is included.
    pub fn cdf_at(&self, s: f64) -> f64 {
        // j = number of rows with x <= s; row j-1 is the last such (the highest cdf on ties).
        let j = self.x.partition_point(|&x| x <= s);
        if j == 0 {
            return 0.0;
        }
        if j == self.x.len() {
            return 1.0;
        }
        let (x0, x1, c0, c1) = (self.x[j - 1], self.x[j], self.c[j - 1], self.c[j]);
        c0 + (c1 - c0) * (s - x0) / (x1 - x0)
    }

    /// The inverse CDF, `inf { s : F(s) >= q }` for `q` in `[0, 1]`, interpolated linearly:
    /// with `i` the first row with `c_i >= q`, `x_{i-1} + (x_i - x_{i-1}) (q - c_{i-1}) /
    /// (c_i - c_{i-1})`. `c_{i-1} < q <= c_i` there, so the division is never by zero, a point
    /// mass returns its size and a zero-probability segment is never entered.
    #[inline]
    pub fn quantile(&self, q: f64) -> f64 {
        let i = self.c.partition_point(|&c| c < q);
        if i == 0 {
            return self.x[0];
        }
        if i == self.c.len() {
            return self.max();
        }
        let (x0, x1, c0, c1) = (self.x[i - 1], self.x[i], self.c[i - 1], self.c[i]);
        x0 + (x1 - x0) * (q - c0) / (c1 - c0)
    }

    /// One flow size in whole bytes: `max(1, round(quantile(u)))` with `u` uniform in `[0, 1)`.
    /// Rounding to the nearest byte moves the mean by well under a byte; the floor of 1 byte
    /// (a flow has at least one byte) matters only for CDFs that start at 0 B, where it adds
    /// at most `P(S < 0.5)`, about 1e-5 B for `websearch`.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        let s = self.quantile(rng.uniform()).round() as u64;
        s.max(1)
    }

    /// `E[S 1{S > t}] / E[S]`: the fraction of all bytes carried by flows larger than `t`.
    ///
    /// Per segment `[a, b]` with probability `p`: all of `p (a + b) / 2` if `t <= a`; the part
    /// above `t`, `p (b^2 - t^2) / (2 (b - a))`, if `a < t < b`; nothing if `t >= b`. A point
    /// mass at `a` counts only if `a > t` (the flows must be strictly larger).
    pub fn byte_fraction_above(&self, t: f64) -> f64 {
        let above: f64 = self
            .segments()
            .map(|(a, b, p)| {
                if a == b {
                    if a > t {
                        p * a
                    } else {
                        0.0
                    }
                } else if t <= a {
                    p * (a + b) / 2.0
                } else if t < b {
                    p * (b * b - t * t) / (2.0 * (b - a))
                } else {
                    0.0
                }
            })
            .sum();
        above / self.mean
    }
}

impl fmt::Display for FlowSizeDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} rows, mean {:.0} B)", self.name, self.x.len(), self.mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FlowSizeDist, CdfError> {
        FlowSizeDist::parse("t.csv", text)
    }

    #[test]
    fn mean_quantiles_and_byte_fractions_are_exact_on_a_uniform() {
        // Uniform on [0, 1000]: mean 500, median 500, bytes above 500 = (1000^2 - 500^2) /
        // (2 * 1000) / 500 = 0.75.
        let d = parse("size_bytes,cdf\n0,0\n1000,1\n").unwrap();
        assert_eq!(d.mean(), 500.0);
        assert_eq!(d.quantile(0.5), 500.0);
        assert_eq!(d.cdf_at(250.0), 0.25);
        assert!((d.byte_fraction_above(500.0) - 0.75).abs() < 1e-12);
        assert!((d.second_moment() - 1e6 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn point_masses_and_flat_segments_are_handled() {
        // Half the flows are exactly 100 B, then a flat (zero-probability) stretch to 200 B,
        // then uniform on [200, 400].
        let d = parse("size_bytes,cdf\n100,0\n100,0.5\n200,0.5\n400,1\n").unwrap();
        assert_eq!(d.mean(), 0.5 * 100.0 + 0.5 * 300.0);
        assert_eq!(d.quantile(0.25), 100.0);
        assert_eq!(d.quantile(0.5), 100.0);
        assert_eq!(d.quantile(0.75), 300.0);
        assert_eq!(d.cdf_at(99.0), 0.0);
        assert_eq!(d.cdf_at(100.0), 0.5);
        assert_eq!(d.cdf_at(150.0), 0.5);
        // Bytes above 100: only the upper half counts (the mass at 100 is not > 100).
        assert!((d.byte_fraction_above(100.0) - 150.0 / 200.0).abs() < 1e-12);
        assert!((d.byte_fraction_above(99.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn websearch_mean_matches_provenance() {
        let d = parse(include_str!("../data/websearch_dctcp_hpcc.csv")).unwrap();
        assert_eq!(d.mean().round(), 1_711_250.0);
        assert_eq!(d.quantile(0.5).round(), 73_077.0);
        assert_eq!((d.byte_fraction_above(1e6) * 1000.0).round(), 950.0);
    }

    #[test]
    fn bad_files_name_the_line_and_the_rule() {
        let e = parse("size_bytes,cdf\n0,0\n10,0.5\n5,1\n").unwrap_err();
        assert!(matches!(e, CdfError::SizeDecreasing { line: 4, size: 5, prev: 10, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "t.csv:4: size_bytes decreases (5 after 10); sizes must be non-decreasing"
        );
        let e = parse("size_bytes,cdf\n0,0\n10,0.5\n20,0.4\n30,1\n").unwrap_err();
        assert!(matches!(e, CdfError::CdfDecreasing { line: 4, .. }), "{e}");
        let e = parse("size_bytes,cdf\n0,0.1\n10,1\n").unwrap_err();
        assert!(matches!(e, CdfError::FirstNotZero { line: 2, .. }), "{e}");
        let e = parse("size_bytes,cdf\n0,0\n10,0.99\n").unwrap_err();
        assert!(matches!(e, CdfError::LastNotOne { line: 3, .. }), "{e}");
        let e = parse("size,cdf\n0,0\n10,1\n").unwrap_err();
        assert!(matches!(e, CdfError::BadHeader { line: 1, .. }), "{e}");
        let e = parse("size_bytes,cdf\n0,0\n1e3,1\n").unwrap_err();
        assert!(matches!(e, CdfError::BadSize { line: 3, .. }), "{e}");
        let e = parse("size_bytes,cdf\n0,0\n10,1.5\n").unwrap_err();
        assert!(matches!(e, CdfError::BadCdf { line: 3, .. }), "{e}");
        let e = parse("size_bytes,cdf\n0,0\n10,1,3\n").unwrap_err();
        assert!(matches!(e, CdfError::FieldCount { line: 3, found: 3, .. }), "{e}");
        let e = parse("size_bytes,cdf\n0,0\n").unwrap_err();
        assert!(matches!(e, CdfError::TooFewRows { rows: 1, .. }), "{e}");
        let e = parse("size_bytes,cdf\n0,0\n0,1\n").unwrap_err();
        assert!(matches!(e, CdfError::ZeroMean { .. }), "{e}");
        // CRLF and blank lines are fine.
        assert!(parse("size_bytes,cdf\r\n0,0\r\n\r\n10,1\r\n").is_ok());
    }
}
