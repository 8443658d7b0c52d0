//! The event queue under the "hold" model: a queue of n pending events; each operation pops
//! the earliest and pushes one a random gap later, as a simulation's steady state does.
//! n = 32 is the star benchmark (16 sources' timers plus busy links), 1,024 a congested
//! network, 65,536 a large scenario with many timers. Throughput is in hold operations.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sim_core::queue::EventQueue;
use sim_core::{RngStreams, Time};

/// An event payload the size of a small packet message.
#[derive(Clone, Copy)]
struct Payload {
    _a: [u64; 4],
}

fn hold(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_queue_hold");
    const OPS: u64 = 100_000;
    for n in [32usize, 1_024, 65_536] {
        g.throughput(Throughput::Elements(OPS));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let mut rng = RngStreams::new(1).stream("bench/hold");
            // Mean gap n us, so pending events spread over about n us either way.
            let mean = n as f64 * 1_000.0;
            let mut q = EventQueue::with_capacity(n);
            for _ in 0..n {
                q.push(Time::ZERO + rng.exp_dur(mean), Payload { _a: [0; 4] });
            }
            b.iter(|| {
                for _ in 0..OPS {
                    let (t, p) = q.pop().expect("n > 0");
                    q.push(t + rng.exp_dur(mean), p);
                }
            });
        });
    }
    g.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
