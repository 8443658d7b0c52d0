//! The twin's per-packet path (no migration): two switches, four NF instances, websearch at
//! load 0.8 of 10 Gbps for 0.1 s per iteration; throughput in packet-hops.

use base::Dur;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use scenarios::driver::build;
use scenarios::testkit::two_switch_four_nf;

fn twin(c: &mut Criterion) {
    let cfg = two_switch_four_nf(0.8, Dur::from_millis(100));
    // Runs are deterministic, so one run tells every run's packet-hops.
    let hops = {
        let mut b = build(&cfg, 1);
        b.run();
        b.outcome(&cfg).packet_hops
    };
    let mut g = c.benchmark_group("twin");
    g.throughput(Throughput::Elements(hops));
    g.sample_size(10);
    g.bench_function("2sw_4nf_load0.8_T0.1s", |b| {
        b.iter_batched(|| build(&cfg, 1), |mut built| built.run(), BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, twin);
criterion_main!(benches);
