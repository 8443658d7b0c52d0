//! SHarP in the simulator: the oracle finds no lost, reordered or duplicated packet.

use base::Dur;
use scenarios::driver::run_once;
use scenarios::testkit::{sharp_testbed, SharpTestbed};

fn metric(r: &scenarios::driver::RunOutcome, k: &str) -> f64 {
    *r.metrics.get(k).unwrap_or_else(|| panic!("no metric {k}: {:?}", r.metrics.keys()))
}

#[test]
fn a_bidirectional_handover_loses_reorders_and_duplicates_nothing() {
    let cfg = sharp_testbed(&SharpTestbed {
        transfer_delay: Dur::from_millis(100),
        ..SharpTestbed::default()
    });
    let r = run_once(&cfg, 1);
    let o = &r.oracle;
    println!("{:?}\n{:?}", r.moves, r.metrics);
    assert_eq!(r.moves.len(), 1);
    assert!(r.moves[0].finished.is_some(), "{:?}", r.moves);
    assert_eq!(o.lost_updates, 0, "{o:?}");
    assert_eq!(o.reordered_updates, 0);
    assert_eq!(o.duplicate_outputs, 0);
    assert_eq!(o.duplicate_updates, 0);
    assert_eq!(o.state_mismatch, 0);
    assert_eq!(o.lost_packets.values().sum::<u64>(), 0, "{:?}", o.lost_packets);
    assert_eq!(o.sent, o.delivered);
    assert!(r.verdict.honoured);
    // Both directions went through the controller, then VNFn's buffers.
    assert!(metric(&r, "sharp_ctrl_processed_pkts") >= 2.0);
    assert!(metric(&r, "max_vnf_buffer_pkts") >= 100.0, "a 100 ms transfer at 2x1000 pps");
    assert_eq!(metric(&r, "protocol_unexpected"), 0.0);
}

#[test]
fn a_flow_slower_than_the_maximum_silence_goes_undetected_and_loses_its_state() {
    // SHarP III-C: "Flows that have not been detected during this time are treated as new
    // flows". A 5 ms maximum silence misses a 100 pps flow (a packet every 10 ms): VNFn
    // builds fresh state and the oracle sees the updates VNF1 applied as lost.
    let mut tb = SharpTestbed { pps: 100.0, ..SharpTestbed::default() };
    tb.sharp.max_silence = Dur::from_millis(5);
    let r = run_once(&sharp_testbed(&tb), 1);
    assert!(r.oracle.lost_updates > 0, "{:?}", r.oracle);
    assert!(!r.verdict.honoured);
    tb.sharp.max_silence = Dur::from_millis(15);
    let r = run_once(&sharp_testbed(&tb), 1);
    assert_eq!(r.oracle.lost_updates, 0, "{:?}", r.oracle);
    assert!(r.verdict.honoured);
}
