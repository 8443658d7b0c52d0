//! OpenNF's moves against the oracle, across seeds and loads: each guarantee holds where it is
//! declared, and the weaker modes show the violations they permit.

use base::Dur;
use models::nf::StateUpdates;
use models::opennf::OpenNfConfig;
use models::oracle::Guarantee;
use scenarios::config::ProtocolConfig;
use scenarios::driver::{run_once, RunOutcome};
use scenarios::testkit::reroute_pair;

/// `h1 -> s1 -> fw1 | fw2 -> sink`, websearch at `load` of 10 Gbps (flows paced at 1 Gbps, so
/// several are mid-stream), every flow moved from fw1 to fw2 at 10 ms of 20 ms.
fn run(c: OpenNfConfig, load: f64, seed: u64) -> RunOutcome {
    let mut cfg = reroute_pair(Some(load), Dur::from_millis(20), Some(Dur::from_millis(10)));
    cfg.protocol = ProtocolConfig::OpenNf(c);
    let r = run_once(&cfg, seed);
    assert_eq!(r.moves.len(), 1);
    assert!(r.moves[0].finished.is_some(), "the move did not finish: {:?}", r.moves);
    assert!(r.oracle.balances() && r.oracle.in_flight == 0, "{:?}", r.oracle);
    r
}

const CASES: [(f64, u64); 6] = [(0.3, 1), (0.3, 2), (0.6, 3), (0.6, 4), (0.9, 5), (0.9, 6)];

#[test]
fn a_move_without_guarantees_loses_updates_under_load() {
    let mut lost = 0;
    for (load, seed) in CASES {
        let r = run(OpenNfConfig::opennf(Guarantee::None), load, seed);
        assert!(r.verdict.honoured, "`none` is always honoured");
        let dropped =
            r.oracle.lost_packets.get(&models::oracle::LossCause::Protocol).copied().unwrap_or(0);
        // Every update lost is a packet srcInst dropped (a new flow dropped whole has no state
        // anywhere, so it counts as a drop but not as a lost update).
        assert!(r.oracle.lost_updates <= dropped && (dropped == 0) == (r.oracle.lost_updates == 0));
        lost += r.oracle.lost_updates;
    }
    assert!(lost > 0, "no run lost an update");
}

#[test]
fn loss_free_moves_lose_no_update() {
    for (load, seed) in CASES {
        for c in [OpenNfConfig::opennf(Guarantee::LossFree), OpenNfConfig::split_merge()] {
            let r = run(c.clone(), load, seed);
            assert_eq!(
                r.oracle.lost_updates, 0,
                "{c:?} load {load} seed {seed}: {:?}",
                r.oracle.findings
            );
            assert_eq!(r.oracle.duplicate_outputs, 0);
            assert!(r.verdict.honoured, "{:?}", r.verdict);
        }
    }
}

#[test]
fn loss_free_and_order_preserving_moves_neither_lose_nor_reorder() {
    for (load, seed) in CASES {
        let r = run(OpenNfConfig::opennf(Guarantee::LossFreeOrderPreserving), load, seed);
        let o = &r.oracle;
        assert_eq!(
            (o.lost_updates, o.reordered_updates, o.state_mismatch),
            (0, 0, 0),
            "load {load} seed {seed}: {:?}",
            o.findings
        );
        assert!(r.verdict.honoured && r.verdict.clean, "{:?}", r.verdict);
    }
}

#[test]
fn without_ller_the_controller_buffers_more() {
    let (mut with, mut without) = (0.0, 0.0);
    for (load, seed) in CASES {
        with += run(OpenNfConfig::opennf(Guarantee::LossFree), load, seed).metrics
            ["max_controller_buffer_pkts"];
        without +=
            run(OpenNfConfig::split_merge(), load, seed).metrics["max_controller_buffer_pkts"];
    }
    assert!(without > with, "Split/Merge buffered {without}, OpenNF with LLER {with}");
}

#[test]
fn loss_free_without_order_preservation_does_reorder_somewhere() {
    // Packets released through the controller race packets that reach dstInst directly once
    // the rule changes: the weaker guarantee permits reordering, and under load it shows.
    let reordered: u64 = CASES
        .iter()
        .map(|&(load, seed)| {
            run(OpenNfConfig::opennf(Guarantee::LossFree), load, seed).oracle.reordered_updates
        })
        .sum();
    assert!(reordered > 0, "no loss-free run reordered an update");
}

/// `run`'s move with every node's kind adjusted by `adjust` first.
fn run_with(
    c: OpenNfConfig,
    load: f64,
    seed: u64,
    adjust: impl Fn(&mut scenarios::config::NodeKind),
) -> RunOutcome {
    let mut cfg = reroute_pair(Some(load), Dur::from_millis(20), Some(Dur::from_millis(10)));
    cfg.protocol = ProtocolConfig::OpenNf(c);
    for n in &mut cfg.nodes {
        adjust(&mut n.kind);
    }
    let r = run_once(&cfg, seed);
    assert!(r.moves[0].finished.is_some(), "{:?}", r.moves);
    assert!(r.oracle.balances() && r.oracle.in_flight == 0, "{:?}", r.oracle);
    r
}

/// The same move with a controller buffer of `capacity` packets.
fn run_small_buffer(c: OpenNfConfig, load: f64, seed: u64, capacity: u32) -> RunOutcome {
    run_with(c, load, seed, |k| {
        if let scenarios::config::NodeKind::Controller(cc) = k {
            cc.buffer_capacity = capacity;
        }
    })
}

#[test]
fn reprocessing_loses_nothing_and_outputs_nothing_twice() {
    for (load, seed) in CASES {
        let r = run(OpenNfConfig::reprocessing(), load, seed);
        let o = &r.oracle;
        assert_eq!(
            (o.lost_updates, o.duplicate_outputs),
            (0, 0),
            "load {load} seed {seed}: {:?}",
            o.findings
        );
        assert!(r.verdict.honoured, "{:?}", r.verdict);
    }
}

#[test]
fn an_overflowing_buffer_loses_updates_without_reprocessing_and_none_with_it() {
    // A 20-packet buffer overflows at these loads (the buffer needed is s x n x r packets,
    // HotMiddlebox section 3). Plain loss-free buffering drops packets that were never
    // processed; reprocessing drops copies of processed packets and re-exports the state.
    let (mut plain_lost, mut reexports) = (0, 0.0);
    for (load, seed) in [(0.6, 3), (0.6, 4), (0.9, 5), (0.9, 6)] {
        let plain = run_small_buffer(OpenNfConfig::opennf(Guarantee::LossFree), load, seed, 20);
        plain_lost += plain.oracle.lost_updates;
        let rep = run_small_buffer(OpenNfConfig::reprocessing(), load, seed, 20);
        assert_eq!(
            rep.oracle.lost_updates, 0,
            "load {load} seed {seed}: {:?}",
            rep.oracle.findings
        );
        assert_eq!(rep.oracle.duplicate_outputs, 0);
        assert_eq!(
            rep.oracle.lost_packets_total(),
            plain.oracle.lost_packets_total() - plain.metrics["lost_controller_buffer_pkts"] as u64
        );
        reexports += rep.metrics["reexports"];
    }
    assert!(plain_lost > 0, "the small buffer never overflowed");
    assert!(reexports > 0.0, "reprocessing never had to re-export");
}

/// The same move with a 10 Gbps link between fw1 and fw2 (declared last, so neither instance
/// sends its output there).
fn run_p2p(c: OpenNfConfig, load: f64, seed: u64) -> RunOutcome {
    let mut cfg = reroute_pair(Some(load), Dur::from_millis(20), Some(Dur::from_millis(10)));
    let mut peer = cfg.links[1].clone();
    (peer.a, peer.b) = (scenarios::config::NodeIdx(2), scenarios::config::NodeIdx(3));
    cfg.links.push(peer);
    cfg.protocol = ProtocolConfig::OpenNf(c);
    let r = run_once(&cfg, seed);
    assert!(r.moves[0].finished.is_some(), "{:?}", r.moves);
    assert!(r.oracle.balances() && r.oracle.in_flight == 0, "{:?}", r.oracle);
    r
}

#[test]
fn p2p_moves_keep_their_guarantees() {
    for (load, seed) in CASES {
        let lf = run_p2p(OpenNfConfig::p2p(Guarantee::LossFree), load, seed);
        assert_eq!(lf.oracle.lost_updates, 0, "load {load} seed {seed}: {:?}", lf.oracle.findings);
        let op = run_p2p(OpenNfConfig::p2p(Guarantee::LossFreeOrderPreserving), load, seed);
        let o = &op.oracle;
        assert_eq!(
            (o.lost_updates, o.reordered_updates, o.state_mismatch),
            (0, 0, 0),
            "load {load} seed {seed}: {:?}",
            o.findings
        );
        // P2P buffers nothing at the controller.
        assert_eq!(op.metrics["max_controller_buffer_pkts"], 0.0);
    }
}

#[test]
fn p2p_transfers_state_faster_than_the_controller_path() {
    // HotMiddlebox Figure 5(a): P2P avoids triangular routing through the controller.
    let (mut ctl, mut p2p) = (0.0, 0.0);
    for (load, seed) in CASES {
        ctl += run_p2p(OpenNfConfig::opennf(Guarantee::LossFree), load, seed).metrics
            ["state_transfer_ms"];
        p2p += run_p2p(OpenNfConfig::p2p(Guarantee::LossFree), load, seed).metrics
            ["state_transfer_ms"];
    }
    assert!(p2p < ctl, "P2P {p2p} ms vs controller path {ctl} ms (summed over runs)");
}

/// `run`, with both instances stateful firewalls (state changes on connection set-up and
/// teardown only) that clone selectively or not.
fn run_firewall(c: OpenNfConfig, load: f64, seed: u64, selective_cloning: bool) -> RunOutcome {
    run_with(c, load, seed, |k| {
        if let scenarios::config::NodeKind::Nf(nf) = k {
            nf.state_updates = StateUpdates::ConnectionEvents;
            nf.selective_cloning = selective_cloning;
        }
    })
}

/// HotMiddlebox section 4: a firewall "can selectively clone packets to reduce buffer demands".
/// Cloning only set-up and teardown packets keeps the move loss-free and without duplicate
/// output, and the controller buffers (and dstInst reprocesses) fewer packets.
#[test]
fn selective_cloning_keeps_a_firewall_move_loss_free_and_buffers_less() {
    let (mut all, mut selective) = (0.0, 0.0);
    for (load, seed) in CASES {
        for sel in [false, true] {
            let r = run_firewall(OpenNfConfig::reprocessing(), load, seed, sel);
            let o = &r.oracle;
            assert_eq!(
                (o.lost_updates, o.duplicate_outputs),
                (0, 0),
                "selective {sel}, load {load}, seed {seed}: {:?}",
                o.findings
            );
            assert!(r.verdict.honoured, "{:?}", r.verdict);
            let buffered = r.metrics["max_controller_buffer_pkts"];
            if sel {
                selective += buffered;
            } else {
                all += buffered;
            }
        }
    }
    assert!(all > 0.0, "no move buffered anything: the test exercises nothing");
    assert!(selective < all / 2.0, "selective cloning buffered {selective}, cloning all {all}");
}

/// The oracle still bites for a firewall: a move without guarantees drops set-up and teardown
/// packets at srcInst, and those are lost updates.
#[test]
fn a_firewall_move_without_guarantees_loses_connection_updates() {
    let lost: u64 = CASES
        .iter()
        .map(|&(load, seed)| {
            run_firewall(OpenNfConfig::opennf(Guarantee::None), load, seed, false)
                .oracle
                .lost_updates
        })
        .sum();
    assert!(lost > 0, "no firewall move without guarantees lost an update");
}
