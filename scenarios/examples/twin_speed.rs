//! Speed of the twin's per-packet path (no migration) on the two-switch, four-NF scenario:
//! `cargo run --release --example twin_speed -- 0.8 0.2` (load, seconds of traffic).
use base::Dur;
use scenarios::driver::build;
use scenarios::testkit::{reroute_pair, two_switch_four_nf};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let load: f64 = a.get(1).map_or(0.8, |s| s.parse().unwrap());
    let secs: f64 = a.get(2).map_or(0.2, |s| s.parse().unwrap());
    eprintln!(
        "size_of Msg {} Packet {} SwitchCtrl {} ControllerInput {}",
        std::mem::size_of::<scenarios::driver::Msg>(),
        std::mem::size_of::<models::Packet>(),
        std::mem::size_of::<models::switch::SwitchCtrl>(),
        std::mem::size_of::<models::controller::ControllerInput>()
    );
    let cfg = two_switch_four_nf(load, Dur::from_secs_f64(secs));
    let mut b = build(&cfg, 1);
    #[allow(clippy::disallowed_methods)] // wall time is what this measures
    let t0 = std::time::Instant::now();
    b.run();
    let wall = t0.elapsed().as_secs_f64();
    let r = b.outcome(&cfg);
    println!(
        "load {load} T {secs}s: {} packets, {} packet-hops, {} events in {wall:.3} s = {:.2} M packet-hops/s; delivered {} lost {} verdict clean {}",
        r.oracle.sent, r.packet_hops, r.events, r.packet_hops as f64 / wall / 1e6, r.oracle.delivered, r.oracle.lost_packets_total(), r.verdict.clean
    );
    let r = scenarios::driver::run_once(
        &reroute_pair(Some(0.5), Dur::from_millis(20), Some(Dur::from_millis(10))),
        1,
    );
    println!("reroute mid-stream: moves {:?}\n  oracle: lost_updates {} state_mismatch {} of {} flows, verdict {:?}", r.moves, r.oracle.lost_updates, r.oracle.state_mismatch, r.oracle.flows, r.verdict);
}
