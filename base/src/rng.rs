//! Seeded random-number streams, one per named consumer.
//!
//! A run has one master seed. Each consumer (a source's arrivals, a link's losses, an NF's
//! service times) asks for a stream by a stable path such as `"host/s3/arrivals"`. The stream's
//! state is derived from `(master seed, path)` only, so creating streams in another order, or
//! adding an entity, never changes another entity's numbers.
//!
//! Derivation (fixed; changing it changes every result, so it is versioned by this comment):
//! 1. `h = FNV-1a-64(path as UTF-8)`;
//! 2. `x = splitmix64(master_seed) ^ h`;
//! 3. the four xoshiro256++ state words are four successive `splitmix64` outputs from `x`.
//!
//! The generator is xoshiro256++ (Blackman and Vigna), implemented here so its output can
//! never change under a dependency upgrade.

use crate::time::Dur;

/// A master seed from which named streams are derived.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RngStreams {
    master: u64,
}

impl RngStreams {
    pub fn new(master_seed: u64) -> Self {
        RngStreams { master: master_seed }
    }

    pub fn master_seed(&self) -> u64 {
        self.master
    }

    /// The stream for `path`. Asking twice for one path gives two identical streams.
    pub fn stream(&self, path: &str) -> Rng {
        let mut x = splitmix64_mix(self.master) ^ fnv1a64(path.as_bytes());
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = splitmix64_next(&mut x);
        }
        Rng { s }
    }
}

/// FNV-1a, 64-bit: the fixed hash for stream names.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix64_next(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    splitmix64_mix(*x)
}

fn splitmix64_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A xoshiro256++ generator. Not cryptographic; fast and reproducible.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)` (Lemire's multiply-shift; the bias is below `n / 2^64`).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// `true` with probability `p`.
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Exponential with the given mean, as a float (ziggurat; see [`Rng::std_exp`]).
    #[inline]
    pub fn exp(&mut self, mean: f64) -> f64 {
        self.std_exp() * mean
    }

    /// A standard exponential (mean 1) by the ziggurat method of Marsaglia and Tsang (2000),
    /// 256 layers. About 98.9% of draws take the fast path: one `u64`, one multiply, one
    /// compare; the rest fall to the exact wedge test or the tail `R - ln(u)`. The tables are
    /// built once with `libm`, so every platform draws the same numbers.
    #[inline]
    pub fn std_exp(&mut self) -> f64 {
        let z = ziggurat();
        loop {
            let bits = self.next_u64();
            let i = (bits & 0xff) as usize;
            // The top 52 bits, independent of the layer index in the low 8.
            let u = (bits >> 12) as f64 * (1.0 / (1u64 << 52) as f64);
            let x = u * z.x[i];
            if x < z.x[i + 1] {
                return x;
            }
            if i == 0 {
                // The base layer's tail beyond R: R plus a standard exponential (memoryless).
                return ZIG_EXP_R - libm::log(1.0 - self.uniform());
            }
            if z.f[i + 1] + (z.f[i] - z.f[i + 1]) * self.uniform() < libm::exp(-x) {
                return x;
            }
        }
    }

    /// An exponential with scale `scale` conditioned on being at most `max`, by inversion:
    /// `x = -scale * ln(1 - u (1 - exp(-max / scale)))`.
    pub fn truncated_exp(&mut self, scale: f64, max: f64) -> f64 {
        let tail = 1.0 - libm::exp(-max / scale);
        (-scale * libm::log(1.0 - self.uniform() * tail)).min(max)
    }

    /// A standard normal (mean 0, variance 1) by the Box-Muller transform, one value per two
    /// uniforms (the second is not kept, so a stream's draws do not depend on call parity).
    /// `libm` keeps every platform on the same numbers.
    pub fn std_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln(0) is never taken
        let u2 = self.uniform();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    /// A log-normal with the given median and `sigma`, the standard deviation of its log
    /// (`sigma = 0` returns the median itself, drawing nothing).
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        if sigma == 0.0 {
            return median;
        }
        median * libm::exp(sigma * self.std_normal())
    }

    /// An exponential gap with mean `mean_ns`, rounded to the nearest nanosecond.
    #[inline]
    pub fn exp_dur(&mut self, mean_ns: f64) -> Dur {
        Dur::from_nanos((self.exp(mean_ns) + 0.5) as u64)
    }
}

/// Right edge of the base layer, and the area of each layer, for 256 layers (Marsaglia and
/// Tsang, "The Ziggurat Method for Generating Random Variables", J. Stat. Softw. 5(8), 2000).
const ZIG_EXP_R: f64 = 7.697_117_470_131_05;
const ZIG_EXP_V: f64 = 3.949_659_822_581_557e-3;

struct Ziggurat {
    /// Layer edges: `x[0] = V / f(R)`, `x[1] = R`, ..., `x[256] = 0`.
    x: [f64; 257],
    /// `f(x[i]) = exp(-x[i])`.
    f: [f64; 257],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut x = [0.0; 257];
        x[0] = ZIG_EXP_V / libm::exp(-ZIG_EXP_R);
        x[1] = ZIG_EXP_R;
        for i in 2..256 {
            x[i] = -libm::log(ZIG_EXP_V / x[i - 1] + libm::exp(-x[i - 1]));
        }
        x[256] = 0.0;
        let f = x.map(|xi| libm::exp(-xi));
        Ziggurat { x, f }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_depends_only_on_seed_and_path() {
        let a = RngStreams::new(7);
        let mut x1 = a.stream("host/s3/arrivals");
        let _ = a.stream("something/else").next_u64();
        let mut x2 = RngStreams::new(7).stream("host/s3/arrivals");
        for _ in 0..100 {
            assert_eq!(x1.next_u64(), x2.next_u64());
        }
    }

    #[test]
    fn different_paths_and_seeds_give_different_streams() {
        let s = RngStreams::new(1);
        assert_ne!(s.stream("a").next_u64(), s.stream("b").next_u64());
        assert_ne!(s.stream("a").next_u64(), RngStreams::new(2).stream("a").next_u64());
    }

    #[test]
    fn the_derivation_is_pinned() {
        // Changing the derivation silently would change every published result. If this value
        // has to change, say so in the commit and the changelog.
        // Published test vectors: FNV-1a-64("a"), and xoshiro256++ from state {1, 2, 3, 4}.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut x = Rng { s: [1, 2, 3, 4] };
        assert_eq!(x.next_u64(), 41_943_041);
        // Our own derivation, pinned by its first draw.
        let first = RngStreams::new(1).stream("host/s3/arrivals").next_u64();
        assert_eq!(first, 11_188_331_224_334_252_188);
    }

    #[test]
    fn the_exponential_fits_its_cdf() {
        // Kolmogorov-Smirnov against 1 - exp(-x) over 200k draws: the 1% critical value is
        // 1.628 / sqrt(n) = 3.64e-3. A fixed seed makes this a regression test of the sampler
        // (the ziggurat's wedge and tail paths included: 1.1% of draws).
        let mut r = RngStreams::new(11).stream("ks");
        let n = 200_000;
        let mut xs: Vec<f64> = (0..n).map(|_| r.std_exp()).collect();
        xs.sort_by(f64::total_cmp);
        let mut d: f64 = 0.0;
        for (i, &x) in xs.iter().enumerate() {
            let cdf = 1.0 - (-x).exp();
            d = d
                .max((cdf - i as f64 / n as f64).abs())
                .max(((i + 1) as f64 / n as f64 - cdf).abs());
        }
        assert!(d < 1.628 / (n as f64).sqrt(), "KS statistic {d}");
        // The tail beyond R = 7.7 has mass exp(-7.7) = 4.5e-4: about 90 of 200k draws.
        let tail = xs.iter().filter(|&&x| x > ZIG_EXP_R).count();
        assert!((40..=150).contains(&tail), "{tail} draws beyond R");
    }

    #[test]
    fn the_normal_and_lognormal_have_their_moments() {
        // 200k draws: the standard error of a N(0,1) mean is 1/sqrt(2e5) = 2.2e-3, of its
        // variance sqrt(2/2e5) = 3.2e-3; the bounds are about 5 standard errors. The log-normal's
        // median is exp(mu): half the draws fall below it (binomial sd 1.1e-3).
        let mut r = RngStreams::new(5).stream("n");
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.std_normal()).collect();
        let mu = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / n as f64;
        assert!(mu.abs() < 0.011, "{mu}");
        assert!((var - 1.0).abs() < 0.016, "{var}");
        let below = (0..n).filter(|_| r.lognormal(3.0, 0.5) < 3.0).count() as f64 / n as f64;
        assert!((below - 0.5).abs() < 0.006, "{below}");
        assert_eq!(r.lognormal(3.0, 0.0), 3.0);
    }

    #[test]
    fn uniform_and_exp_have_the_right_means() {
        // 200k draws: the standard error of a U(0,1) mean is 0.289/sqrt(2e5) = 6.5e-4, of an
        // Exp(1) mean 1/sqrt(2e5) = 2.2e-3; the bounds are about 5 standard errors.
        let mut r = RngStreams::new(3).stream("t");
        let n = 200_000;
        let mu: f64 = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        assert!((mu - 0.5).abs() < 3.3e-3, "{mu}");
        let me: f64 = (0..n).map(|_| r.exp(1.0)).sum::<f64>() / n as f64;
        assert!((me - 1.0).abs() < 1.1e-2, "{me}");
        let mut counts = [0u32; 10];
        for _ in 0..n {
            counts[r.below(10) as usize] += 1;
        }
        // Each count is Binomial(2e5, 0.1): sd 134; 5 sd = 670.
        assert!(counts.iter().all(|&c| (c as i64 - 20_000).abs() < 670), "{counts:?}");
    }
}
