//! The star benchmark against queueing theory (`shared/bench/star.md`).
//!
//! The bottleneck is an M/D/1 queue with service rate mu = 10e9 / 12016 = 832,223.7 pkt/s:
//! mean wait W = rho / (2 mu (1 - rho)).
//!
//! **What "wait" is measured as.** The mean one-way delay minus the fixed delay of an empty
//! network (two serializations and two propagations, with the engine's own rounding:
//! 2 x 1202 + 2 x 1000 ns). This is the queueing delay a packet sees end to end. The switch
//! port's own wait is 2-4% lower than W (see the closing note on the engine issue): a source's
//! access link has the bottleneck's rate, so a packet that follows its predecessor from the same
//! source within one transmission time waits at the access link instead of at the port. The
//! wait moves; its total does not.
//!
//! **Duration.** T = 3 s: over 20 seeds the relative error of the measured wait ranged over
//! [-0.74%, +0.88%] at rho = 0.5 and [-1.45%, +0.97%] at rho = 0.8, so 3% is about six
//! standard errors and holds for any seed, not only the ones below.
//!
//! These tests need a release build to run in seconds (`cargo test --release`).

use scenarios::bench::star::{self, StarParams, StarReport, LINK_RATE, PACKET_BYTES, PROPAGATION};
use sim_core::{tx_time, Dur};

fn run(rho: f64, secs: f64, seed: u64) -> StarReport {
    star::run(&StarParams { rho, duration: Dur::from_secs_f64(secs), seed })
}

fn md1_wait_us(rho: f64) -> f64 {
    rho / (2.0 * star::mu() * (1.0 - rho)) * 1e6
}

fn fixed_delay_us() -> f64 {
    let tx = tx_time(PACKET_BYTES as u128 * 8, LINK_RATE);
    2.0 * (tx.as_micros_f64() + PROPAGATION.as_micros_f64())
}

#[test]
fn mean_wait_matches_md1_within_3_percent() {
    for rho in [0.5, 0.8] {
        for seed in [1, 2] {
            let r = run(rho, 3.0, seed);
            let wait = r.mean_delay_us - fixed_delay_us();
            let w = md1_wait_us(rho);
            let err = wait / w - 1.0;
            assert!(err.abs() < 0.03, "rho {rho} seed {seed}: wait {wait:.4} us vs W {w:.4} us");
        }
    }
}

#[test]
fn p99_delay_is_in_the_reference_band() {
    // star.md: "about 8.4" us at rho = 0.5 and "about 16.4-17.0" us at rho = 0.8. "About" is
    // taken as 2% around 8.4 and 1% beyond each end of 16.4-17.0; over 20 seeds at T = 3 s we
    // measured 8.41-8.50 and 16.50-17.06. The histogram's quantile error is below 0.1%.
    let r = run(0.5, 3.0, 1);
    assert!((8.23..=8.57).contains(&r.p99_delay_us), "rho 0.5: p99 {}", r.p99_delay_us);
    let r = run(0.8, 3.0, 1);
    assert!((16.24..=17.17).contains(&r.p99_delay_us), "rho 0.8: p99 {}", r.p99_delay_us);
}

#[test]
fn every_packet_sent_is_received_or_dropped() {
    for (rho, seed) in [(0.3, 1), (0.8, 2), (1.2, 3), (2.0, 4)] {
        let r = run(rho, 0.2, seed);
        assert!(r.sent > 0);
        assert_eq!(r.sent, r.received + r.dropped, "rho {rho} seed {seed}");
        if rho < 1.0 {
            assert_eq!(r.dropped, 0, "rho {rho}: a 1000-packet queue does not overflow");
        }
    }
}

#[test]
fn overload_fills_the_queue_to_the_bound_and_drops_the_fluid_excess() {
    let r = run(1.2, 1.0, 1);
    // The queue reaches its bound and never passes it.
    assert_eq!(r.bottleneck_max_waiting, 1000);
    // Fluid estimate over T = 1 s: arrivals 1.2 mu T, the port serves mu T, and 1000 packets
    // are left waiting at T (they drain after T and are received): (1.2 - 1) mu T - 1000.
    let fluid = 0.2 * star::mu() * 1.0 - 1000.0;
    let err = r.dropped as f64 / fluid - 1.0;
    assert!(err.abs() < 0.05, "dropped {} vs fluid {fluid:.0}", r.dropped);
}

/// The CSV line without the wall-clock columns (`wall_s`, `packet_hops_per_s`).
fn simulated_columns(r: &StarReport) -> String {
    r.csv_line().split(',').take(8).collect::<Vec<_>>().join(",")
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let a = simulated_columns(&run(0.8, 0.1, 7));
    let b = simulated_columns(&run(0.8, 0.1, 7));
    let c = simulated_columns(&run(0.8, 0.1, 8));
    assert_eq!(a, b);
    assert_ne!(a, c);
}
