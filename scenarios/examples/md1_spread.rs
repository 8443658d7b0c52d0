//! Spread of the star benchmark's bottleneck wait around M/D/1 across seeds (used to choose
//! the duration of the theory tests). `cargo run --release --example md1_spread -- 0.8 1 20`
use scenarios::bench::star::{self, StarParams};
use sim_core::Dur;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let rho: f64 = a[1].parse().unwrap();
    let secs: f64 = a[2].parse().unwrap();
    let seeds: u64 = a[3].parse().unwrap();
    let mu = star::mu();
    let w_us = rho / (2.0 * mu * (1.0 - rho)) * 1e6;
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for seed in 1..=seeds {
        let r = star::run(&StarParams { rho, duration: Dur::from_secs_f64(secs), seed });
        let fixed_us =
            2.0 * (sim_core::tx_time(1502 * 8, star::LINK_RATE).as_nanos() as f64 + 1000.0) / 1e3;
        let err = (r.mean_delay_us - fixed_us) / w_us - 1.0;
        lo = lo.min(err);
        hi = hi.max(err);
        println!(
            "seed {seed}: wait {:.4} us ({:+.2}%), p99 {:.3} us, mean delay {:.4}",
            r.bottleneck_mean_wait_us,
            err * 100.0,
            r.p99_delay_us,
            r.mean_delay_us
        );
    }
    println!(
        "rho {rho} T {secs}: W = {w_us:.4} us, error range [{:+.2}%, {:+.2}%]",
        lo * 100.0,
        hi * 100.0
    );
}
