//! Generation speed: flows per second from Poisson arrivals + inverse-transform sizes +
//! synthetic 5-tuples into a trace in memory (`Vec<Flow>`). The issue asks for >= 5 M flows/s.

use base::{Bps, Dur, RngStreams};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use workloads::{builtin, ArrivalParams, Arrivals, Flow};

const FLOWS: usize = 1_000_000;

fn gen(c: &mut Criterion) {
    let mut g = c.benchmark_group("gen");
    g.throughput(Throughput::Elements(FLOWS as u64));
    g.sample_size(20);
    // websearch: 12 rows; fb-cache: 331 rows (the longest binary search in the catalog).
    for name in ["websearch", "fb-cache"] {
        let d = builtin(name).unwrap();
        // A duration long enough that the iterator never ends before FLOWS flows.
        let p = ArrivalParams {
            load: 1.0,
            link: Bps(10_000_000_000),
            duration: Dur::from_secs(1_000_000),
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || Vec::<Flow>::with_capacity(FLOWS),
                |mut v| {
                    v.extend(Arrivals::new(&d, &p, &RngStreams::new(1)).unwrap().take(FLOWS));
                    v
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, gen);
criterion_main!(benches);
