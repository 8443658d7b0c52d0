//! The star benchmark (`shared/bench/star.md`) at rho = 0.8, throughput in packet-hops.
//! T = 0.1 s per iteration keeps a sample short; `nftwin bench star` runs the full T = 1 s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scenarios::bench::star::{Star, StarParams};
use sim_core::Dur;

fn star(c: &mut Criterion) {
    let params = StarParams { rho: 0.8, duration: Dur::from_millis(100), seed: 1 };
    // Runs are deterministic, so one run tells every run's packet-hops.
    let hops = Star::build(&params).run().packet_hops();
    let mut g = c.benchmark_group("star");
    g.throughput(Throughput::Elements(hops));
    g.sample_size(20);
    g.bench_function("rho0.8_T0.1s", |b| {
        b.iter_batched(|| Star::build(&params), Star::run, criterion::BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, star);
criterion_main!(benches);
