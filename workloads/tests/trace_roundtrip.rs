//! Traces round-trip exactly, and the same seed gives a byte-identical trace.

use base::{Bps, Dur, RngStreams};
use workloads::{builtin, ArrivalParams, Arrivals, Trace, TraceMeta};

fn generate(name: &str, seed: u64, load: f64) -> Trace {
    let d = builtin(name).unwrap();
    let p = ArrivalParams { load, link: Bps(10_000_000_000), duration: Dur::from_secs(1) };
    Trace {
        meta: Some(TraceMeta {
            dist: name.to_string(),
            load,
            link: p.link,
            duration: p.duration,
            seed,
        }),
        flows: Arrivals::new(&d, &p, &RngStreams::new(seed)).unwrap().collect(),
    }
}

fn csv(t: &Trace) -> Vec<u8> {
    let mut v = Vec::new();
    t.write_csv(&mut v).unwrap();
    v
}

#[test]
fn write_then_read_gives_the_same_trace_and_bytes() {
    for name in ["websearch", "fb-hadoop", "azure-wan"] {
        // An awkward load checks that the float metadata survives the text form bit for bit.
        let t = generate(name, 42, 0.1 + 0.2);
        assert!(t.flows.len() > 100, "{name}: {}", t.flows.len());
        let bytes = csv(&t);
        let back = Trace::parse("mem", std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert_eq!(back, t, "{name}");
        assert_eq!(back.meta.as_ref().unwrap().load.to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(csv(&back), bytes, "{name}");
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = csv(&generate("fb-cache", 7, 0.8));
    assert_eq!(a, csv(&generate("fb-cache", 7, 0.8)));
    assert_ne!(a, csv(&generate("fb-cache", 8, 0.8)));
}

#[test]
fn a_truncated_file_is_an_error_not_a_shorter_trace() {
    // A trace cut in the middle of a row (an interrupted copy) must not load as fewer flows.
    let bytes = csv(&generate("websearch", 1, 0.8));
    let text = std::str::from_utf8(&bytes).unwrap();
    let cut = &text[..text.len() - 9];
    assert!(Trace::parse("cut.csv", cut).is_err());
}
