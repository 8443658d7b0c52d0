//! Statistical tests of the sampler and the arrival process, with fixed seeds. Each tolerance
//! is derived in a comment from the distribution's exact moments; run with `--release` (CI
//! does), they draw 10^6 sizes per catalog entry.

use base::{Bps, Dur, RngStreams};
use workloads::{builtin, ArrivalParams, Arrivals, FlowSizeDist, CATALOG};

const N: usize = 1_000_000;

/// The KS statistic of integer samples against the CDF of `max(1, round(X))`, X ~ `d`:
/// `G(v) = P(sample <= v) = F(v + 1/2)` and `G(v-) = F(v - 1/2)` at whole `v` (a point mass
/// at `v` falls between the two). With `F_n` the empirical CDF, the supremum of
/// `|F_n - G|` is reached at a sample value, either at it or just below it.
fn ks_statistic(d: &FlowSizeDist, samples: &mut [u64]) -> f64 {
    samples.sort_unstable();
    let n = samples.len() as f64;
    let mut dmax: f64 = 0.0;
    let mut i = 0;
    while i < samples.len() {
        let v = samples[i];
        let j = i + samples[i..].partition_point(|&s| s == v);
        let below = d.cdf_at(v as f64 - 0.5);
        let at = d.cdf_at(v as f64 + 0.5);
        dmax = dmax.max((i as f64 / n - below).abs()).max((j as f64 / n - at).abs());
        i = j;
    }
    dmax
}

fn check_mean_and_ks(name: &str) {
    let d = builtin(name).unwrap();
    let mut rng = RngStreams::new(20_260_001).stream(&format!("test/sizes/{name}"));
    let mut s: Vec<u64> = (0..N).map(|_| d.sample(&mut rng)).collect();
    let sampled = s.iter().map(|&x| x as f64).sum::<f64>() / N as f64;
    let mean = d.mean();
    // Mean: the standard error over N draws is sd / sqrt(N), sd^2 = E[S^2] - mean^2 (exact
    // from the CDF). The coefficients of variation run from 1.5 (fb-cache) to 8.0
    // (datamining), so SE / mean is 0.15% .. 0.80%: the required 2% is at least 2.5 SE for
    // datamining and at least 3.6 SE for the others. Rounding to whole bytes moves the mean
    // by under 1 B, far below that.
    let se = (d.second_moment() - mean * mean).sqrt() / (N as f64).sqrt();
    let rel = (sampled - mean) / mean;
    // KS: for n = 10^6 the asymptotic 1% critical value is 1.628 / sqrt(n) = 1.628e-3
    // (Kolmogorov's distribution; exact for continuous F, conservative with point masses).
    // D is invariant under the monotone inverse transform, so on the continuous parts it
    // measures the uniforms; what it checks is that the transform is the inverse of the very
    // CDF `cdf_at` evaluates (a step sampler fails it, see below).
    let ks = ks_statistic(&d, &mut s);
    let crit = 1.628 / (N as f64).sqrt();
    println!(
        "{name}: analytic mean {mean:.0} B, sampled {sampled:.0} B ({:+.3}%, {:+.2} SE), KS {ks:.2e} (1% critical {crit:.2e})",
        rel * 100.0,
        (sampled - mean) / se
    );
    assert!(rel.abs() < 0.02, "{name}: sampled mean {sampled} vs analytic {mean}");
    assert!(ks < crit, "{name}: KS {ks} >= {crit}");
}

#[test]
fn websearch_sampled_mean_and_ks() {
    check_mean_and_ks("websearch");
}
#[test]
fn fb_cache_sampled_mean_and_ks() {
    check_mean_and_ks("fb-cache");
}
#[test]
fn fb_hadoop_sampled_mean_and_ks() {
    check_mean_and_ks("fb-hadoop");
}
#[test]
fn datamining_sampled_mean_and_ks() {
    check_mean_and_ks("datamining");
}
#[test]
fn azure_wan_sampled_mean_and_ks() {
    check_mean_and_ks("azure-wan");
}

#[test]
fn the_ks_check_rejects_a_step_sampler() {
    // The test above must be able to fail: sampling the rows as steps (the Homa convention,
    // each row's size with mass c_i - c_{i-1}) instead of interpolating is a different
    // distribution and must be far above the critical value.
    let d = builtin("websearch").unwrap();
    let rows: Vec<(u64, f64)> = d.rows().collect();
    let mut rng = RngStreams::new(5).stream("test/step");
    let mut s: Vec<u64> = (0..100_000)
        .map(|_| {
            let u = rng.uniform();
            rows.iter().find(|r| r.1 >= u).unwrap().0.max(1)
        })
        .collect();
    let ks = ks_statistic(&d, &mut s);
    assert!(ks > 10.0 * 1.628 / (1e5f64).sqrt(), "{ks}");
}

#[test]
fn offered_load_at_0_8_of_10g_over_10s() {
    // The offered load of one trace is random: bytes in [0, T) are compound Poisson, so
    // Var(bytes) = lambda T E[S^2] and the relative sd of the load is
    // sigma = sqrt(E[S^2] / (lambda T mean^2)). At 0.8 of 10 Gbps over 10 s that is 1.4%
    // (azure-wan), 1.5% (fb-cache), 2.0% (fb-hadoop), 3.3% (websearch) and 22% (datamining:
    // 1,339 flows, 1% of them carrying half the bytes). So "within 2%" for a single 10 s trace
    // is not a property any generator can guarantee for these CDFs; what can be checked is:
    // (1) every single trace is within 4 sigma (false with probability 6e-5 if calibrated);
    // (2) the pooled load of K independent 10 s traces, K chosen so that the pooled sigma is
    //     at most 0.5%, is within 2% of the target (that is 4 pooled sigmas): this fails if
    //     lambda or the mean used for it is off by more than about 2%.
    let link = Bps(10_000_000_000);
    let p = ArrivalParams { load: 0.8, link, duration: Dur::from_secs(10) };
    for e in CATALOG {
        let d = e.dist();
        let lambda_t = workloads::arrival_rate(p.load, link, d.mean()) * 10.0;
        let sigma = (d.second_moment() / (lambda_t * d.mean() * d.mean())).sqrt();
        let load_of = |seed: u64| -> (f64, usize) {
            let flows: Vec<_> = Arrivals::new(&d, &p, &RngStreams::new(seed)).unwrap().collect();
            let bytes: u128 = flows.iter().map(|f| f.size_bytes as u128).sum();
            (bytes as f64 * 8.0 / (link.0 as f64 * 10.0), flows.len())
        };
        let (one, n) = load_of(1);
        let k = ((sigma / 0.005).powi(2).ceil() as u64).max(1);
        let pooled = (1..=k).map(load_of).map(|(l, _)| l).sum::<f64>() / k as f64;
        println!(
            "{}: seed 1: {n} flows, load {one:.4} ({:+.2}%, sigma {:.2}%); pooled over {k} seeds: {pooled:.4} ({:+.2}%)",
            e.name,
            (one / 0.8 - 1.0) * 100.0,
            sigma * 100.0,
            (pooled / 0.8 - 1.0) * 100.0
        );
        assert!((one / 0.8 - 1.0).abs() < 4.0 * sigma, "{}: single trace {one}", e.name);
        assert!((pooled / 0.8 - 1.0).abs() < 0.02, "{}: pooled {pooled}", e.name);
    }
}

#[test]
fn lambda_is_calibrated_with_the_interpolated_mean() {
    // The flow count over 10 s is Poisson(lambda T): for fb-hadoop at 0.8 of 10 Gbps,
    // lambda T = 83,042, sd 288; 4 sd = 1153. A mean computed the step way (183,897 B instead
    // of 120,421 B) would give 54,378 flows: this checks the arrival clock on its own.
    let d = builtin("fb-hadoop").unwrap();
    let p = ArrivalParams { load: 0.8, link: Bps(10_000_000_000), duration: Dur::from_secs(10) };
    let n = Arrivals::new(&d, &p, &RngStreams::new(3)).unwrap().count() as f64;
    let expect = workloads::arrival_rate(0.8, p.link, d.mean()) * 10.0;
    assert!((expect - 83_042.0).abs() < 1.0, "{expect}");
    assert!((n - expect).abs() < 4.0 * expect.sqrt(), "{n} vs {expect}");
}
