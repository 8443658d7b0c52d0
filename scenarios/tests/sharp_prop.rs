//! Property: a SHarP handover loses, reorders and duplicates nothing, whatever the packet
//! rate, the control latency, the state transfer duration, the moment of the request and the
//! switches' rule-update model (software, or E2's hardware latencies of 1-8 ms per rule) and
//! the moment of `START_HO` (after the detection phase, or per flow); and
//! its control-plane messages match section IV-A's count.

use base::Dur;
use proptest::prelude::*;
use scenarios::driver::run_once;
use scenarios::reproduce::sharp::{
    sharp_c, sharp_c_per_flow, sharp_data_c, sharp_data_c_per_flow, sharp_data_formula,
    sharp_formula,
};
use scenarios::testkit::{sharp_testbed, SharpTestbed};

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn sharp_is_loss_free_and_order_preserving(
        // Above 100 pps: slower flows need a longer maximum silence (see the sharp test
        // `a_flow_slower_than_the_maximum_silence_...`).
        pps in 100.0f64..6000.0,
        latency_us in 100u64..6000,
        transfer_ms in 0u64..400,
        at_us in 20_000u64..150_000,
        bidirectional in any::<bool>(),
        bytes in prop::sample::select(vec![58u32, 1000]),
        hardware in any::<bool>(),
        per_flow in any::<bool>(),
        seed in 1u64..1000,
    ) {
        let tb = SharpTestbed {
            pps,
            packet_bytes: bytes,
            bidirectional,
            control_latency: Dur::from_micros(latency_us),
            transfer_delay: Dur::from_millis(transfer_ms),
            handover_at: Dur::from_micros(at_us),
            ..SharpTestbed::default()
        };
        let mut tb = tb;
        if per_flow {
            tb.sharp.start = models::sharp::StartHo::PerFlow;
        }
        let mut cfg = sharp_testbed(&tb);
        if hardware {
            for n in &mut cfg.nodes {
                if let scenarios::config::NodeKind::Switch(s) = &mut n.kind {
                    s.config.update = models::switch::UpdateLatency::e2_hardware();
                }
            }
        }
        let r = run_once(&cfg, seed);
        let o = &r.oracle;
        prop_assert!(r.moves.len() == 1 && r.moves[0].finished.is_some(), "{:?}", r.moves);
        prop_assert_eq!(o.lost_updates, 0, "{:?}", o);
        prop_assert_eq!(o.reordered_updates, 0);
        prop_assert_eq!(o.duplicate_updates, 0);
        prop_assert_eq!(o.duplicate_outputs, 0);
        prop_assert_eq!(o.lost_packets.values().sum::<u64>(), 0);
        prop_assert_eq!(o.sent, o.delivered);
        prop_assert!(r.verdict.honoured);
        let m = |k: &str| r.metrics[k];
        let (flows, active) = if bidirectional { (2, 2) } else { (1, 1) };
        let (c, cd) = if per_flow {
            (sharp_c_per_flow(flows, 2), sharp_data_c_per_flow(flows))
        } else {
            (sharp_c(flows, 2, active), sharp_data_c(flows, 2, active))
        };
        let (c, cd) = (c as f64, cd as f64);
        let (t, d) = (m("sharp_ctrl_processed_pkts"), m("sharp_follow_up_pkts"));
        // D, independently: the switches' packet-ins less the T packets and the test copies.
        prop_assert_eq!(d, m("switch_packet_ins_pkts") - t - active as f64);
        prop_assert_eq!(m("ctrl_plane_msgs"), sharp_formula(t, c) + d);
        let (v, rr) = (m("sharp_state_msgs"), m("sharp_vnf_buffered_pkts"));
        prop_assert_eq!(m("sharp_vnf_ctrl_buffered_pkts"), t);
        prop_assert_eq!(m("sharp_vnf_released_pkts"), rr);
        prop_assert_eq!(m("sharp_data_ctrl_pkts"), cd);
        prop_assert_eq!(m("data_plane_msgs"), sharp_data_formula(v, rr, cd));
    }
}
