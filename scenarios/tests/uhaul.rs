//! U-HAUL's moveElephant in the twin, against the oracle: elephants move with OpenNF's
//! loss-free per-flow moves, flows unseen at srcInst during the move are processed at dstInst,
//! and mice left behind finish at srcInst with their state intact.

use base::{Bps, Dur, Time};
use models::opennf::OpenNfConfig;
use models::oracle::Guarantee;
use models::uhaul::{Detection, UhaulConfig, UNSEEN_TAG};
use scenarios::config::{FlowSource, NodeIdx, ProtocolConfig, ScenarioConfig, WorkloadConfig};
use scenarios::driver::build;
use scenarios::testkit::reroute_pair;

const SRC: NodeIdx = NodeIdx(2);
const DST: NodeIdx = NodeIdx(3);
const ELEPHANTS: std::ops::Range<u64> = 0..4;
const MICE: std::ops::Range<u64> = 10..30;
const NEW: std::ops::Range<u64> = 40..45;
/// 30 KB: 20 packets of 1500 B.
const MOUSE_BYTES: u64 = 30_000;

fn flow(id: u64, start_us: u64, size_bytes: u64) -> workloads::Flow {
    workloads::Flow {
        id: workloads::FlowId(id),
        start: Time::ZERO + Dur::from_micros(start_us),
        size_bytes,
        tuple: workloads::FiveTuple::synthetic(id),
    }
}

/// `h1 -> s1 -> src | dst -> sink`, a software switch (20 us per rule), every flow paced at
/// 20 Mbps; the move at 50 ms. srcInst stops creating state about 0.35 ms later (controller,
/// rule, control latencies). Elephants (1 MB) start in the first 0.4 ms; mice (30 KB, 12 ms
/// long) start at 45 ms, so they are mid-stream at the move; the new flows start at 51 ms,
/// during the move. At detection the elephants have sent about 125 KB each (500 KB) and the
/// mice about 13 KB each (260 KB): a rho of 0.55 is reached by the four elephants (0.66) and
/// not by three (0.49).
fn scenario(protocol: ProtocolConfig) -> ScenarioConfig {
    let mut cfg = reroute_pair(None, Dur::from_millis(200), Some(Dur::from_millis(50)));
    for n in &mut cfg.nodes {
        if let scenarios::config::NodeKind::Switch(s) = &mut n.kind {
            s.config.update = models::switch::UpdateLatency::e2_software();
        }
    }
    let mut flows: Vec<workloads::Flow> = ELEPHANTS.map(|k| flow(k, 100 * k, 1_000_000)).collect();
    flows.extend(MICE.map(|k| flow(k, 45_000 + 10 * (k - MICE.start), MOUSE_BYTES)));
    flows.extend(NEW.map(|k| flow(k, 51_000 + 100 * (k - NEW.start), MOUSE_BYTES)));
    flows.sort_by_key(|f| (f.start, f.id));
    cfg.workloads = vec![WorkloadConfig {
        source: NodeIdx(0),
        flows: FlowSource::Trace { path: "uhaul test (built in code)".into(), flows },
        mtu: 1500,
        flow_rate: Bps(20_000_000),
    }];
    cfg.protocol = protocol;
    cfg
}

fn uhaul(rho: f64) -> ProtocolConfig {
    ProtocolConfig::Uhaul(UhaulConfig {
        opennf: OpenNfConfig::opennf(Guarantee::LossFree),
        detection: Detection::Proportion { rho },
        unseen_tag: UNSEEN_TAG,
    })
}

#[test]
fn move_elephant_moves_the_elephants_and_leaves_the_mice() {
    let cfg = scenario(uhaul(0.55));
    let mut b = build(&cfg, 1);
    b.run();
    let r = b.outcome(&cfg);
    assert_eq!(r.protocol, "uhaul");
    assert_eq!(r.moves.len(), 1, "{:?}", r.moves);
    assert!(r.moves[0].finished.is_some(), "{:?}", r.moves);
    assert!(r.verdict.honoured, "{:?} {:?}", r.verdict, r.oracle.findings);
    assert_eq!(r.oracle.lost_updates, 0);
    assert_eq!(r.oracle.state_mismatch, 0);
    assert_eq!(r.metrics["elephants_moved"], 4.0);
    // The elephants' state is at dstInst only, with every packet's update.
    for e in ELEPHANTS {
        assert!(b.nf_log(SRC, e).is_none(), "elephant {e} still at srcInst");
        let log = b.nf_log(DST, e).expect("elephant at dstInst");
        assert_eq!(log.updates, 1_000_000u64.div_ceil(1500), "elephant {e}");
    }
}

#[test]
fn a_mouse_left_behind_finishes_at_src_with_its_state_intact() {
    let cfg = scenario(uhaul(0.55));
    let mut b = build(&cfg, 1);
    b.run();
    for m in MICE {
        let log = b.nf_log(SRC, m).expect("the mouse's state stays at srcInst");
        assert_eq!(log.updates, MOUSE_BYTES / 1500, "mouse {m}: every packet updated srcInst");
        assert!(b.nf_log(DST, m).is_none(), "mouse {m} reached dstInst");
    }
    assert!(b.outcome(&cfg).verdict.honoured);
}

#[test]
fn a_flow_unseen_at_src_during_the_move_is_processed_at_dst() {
    let cfg = scenario(uhaul(0.55));
    let mut b = build(&cfg, 1);
    b.run();
    for n in NEW {
        assert!(b.nf_log(SRC, n).is_none(), "srcInst created state for new flow {n}");
        let log = b.nf_log(DST, n).expect("the new flow is processed at dstInst");
        assert_eq!(log.updates, MOUSE_BYTES / 1500, "new flow {n}");
    }
}

#[test]
fn size_based_detection_misses_elephants_that_have_not_sent_enough() {
    // At the move the elephants have sent about 125 KB: a 200 KB definition selects none, and
    // the move moves nothing (and still completes, loss-free).
    let p = ProtocolConfig::Uhaul(UhaulConfig {
        detection: Detection::Size { definition_bytes: 200_000 },
        ..match uhaul(0.55) {
            ProtocolConfig::Uhaul(c) => c,
            _ => unreachable!(),
        }
    });
    let cfg = scenario(p);
    let mut b = build(&cfg, 1);
    b.run();
    let r = b.outcome(&cfg);
    assert_eq!(r.metrics["elephants_moved"], 0.0);
    assert!(r.moves[0].finished.is_some() && r.verdict.honoured);
    for e in ELEPHANTS {
        assert!(b.nf_log(SRC, e).is_some() && b.nf_log(DST, e).is_none());
    }
}
