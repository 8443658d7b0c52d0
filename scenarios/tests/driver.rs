//! The sim driver end to end on scenarios built in code: the oracle on the `reroute` baseline,
//! accounting, determinism, and a link failure.

use base::Dur;
use models::oracle::{Guarantee, LossCause};
use scenarios::config::{LinkIdx, TimelineAction, TimelineEvent};
use scenarios::driver::run_once;
use scenarios::testkit::{reroute_pair, two_switch_four_nf};

#[test]
fn reroute_mid_stream_loses_updates_and_says_its_guarantee_held() {
    // Websearch at half of 10 Gbps, flows paced at 1 Gbps: about five flows are active when the
    // rule changes (~10 ms plus a 1-8 ms hardware update). Their state stays at fw1 and their
    // remaining packets build new state at fw2.
    let cfg = reroute_pair(Some(0.5), Dur::from_millis(20), Some(Dur::from_millis(10)));
    let r = run_once(&cfg, 1);
    assert_eq!(r.moves.len(), 1);
    assert!(r.moves[0].finished.is_some(), "{:?}", r.moves);
    assert!(r.oracle.lost_updates > 0, "{:?}", r.oracle);
    assert!(r.oracle.state_mismatch > 0, "{:?}", r.oracle);
    assert_eq!(r.guarantee, Guarantee::None);
    assert!(r.verdict.honoured && !r.verdict.clean);
    // The oracle would have failed a loss-free protocol on the same run.
    assert!(!r.oracle.verdict(Guarantee::LossFree).honoured);
    assert!(r.oracle.balances(), "{:?}", r.oracle);
}

#[test]
fn the_same_move_without_traffic_shows_nothing() {
    let cfg = reroute_pair(None, Dur::from_millis(20), Some(Dur::from_millis(10)));
    let r = run_once(&cfg, 1);
    assert!(r.moves[0].finished.is_some());
    assert_eq!(r.oracle.sent, 0);
    assert!(r.verdict.honoured && r.verdict.clean, "{:?}", r.oracle);
    assert!(r.oracle.findings.is_empty());
}

#[test]
fn without_a_move_every_flow_is_clean_and_everything_is_delivered() {
    let cfg = reroute_pair(Some(0.5), Dur::from_millis(20), None);
    let r = run_once(&cfg, 3);
    assert!(r.oracle.sent > 1000);
    assert_eq!(r.oracle.delivered, r.oracle.sent);
    assert!(r.oracle.verdict(Guarantee::LossFreeOrderPreserving).honoured, "{:?}", r.oracle);
    assert_eq!(r.oracle.flows_without_state, 0);
}

#[test]
fn runs_are_deterministic_per_seed() {
    let cfg = two_switch_four_nf(0.8, Dur::from_millis(5));
    let a = run_once(&cfg, 7);
    let b = run_once(&cfg, 7);
    let c = run_once(&cfg, 8);
    assert_eq!(format!("{:?}", a.metrics), format!("{:?}", b.metrics));
    assert_eq!(a.events, b.events);
    assert_ne!(format!("{:?}", a.metrics), format!("{:?}", c.metrics));
}

#[test]
fn a_link_failure_loses_packets_with_that_cause_and_the_books_balance() {
    let mut cfg = reroute_pair(Some(0.8), Dur::from_millis(10), None);
    // Cut s1-fw1 (link 1) from 4 ms to 6 ms.
    for (at, what) in
        [(4, TimelineAction::LinkDown(LinkIdx(1))), (6, TimelineAction::LinkUp(LinkIdx(1)))]
    {
        cfg.timeline.push(TimelineEvent { at: base::Time::ZERO + Dur::from_millis(at), what });
    }
    let r = run_once(&cfg, 1);
    let down = r.oracle.lost_packets.get(&LossCause::LinkDown).copied().unwrap_or(0);
    assert!(down > 0, "{:?}", r.oracle);
    assert!(r.oracle.balances(), "{:?}", r.oracle);
    // Updates lost with the link are the network's, not a protocol's.
    assert!(r.oracle.lost_updates_network > 0);
    assert_eq!(r.oracle.lost_updates, 0, "{:?}", r.oracle.findings);
}

#[test]
fn two_switches_with_nfs_in_the_wire_deliver_every_packet() {
    let cfg = two_switch_four_nf(0.8, Dur::from_millis(5));
    let r = run_once(&cfg, 1);
    assert!(r.oracle.sent > 1000);
    assert_eq!(r.oracle.delivered, r.oracle.sent, "{:?}", r.oracle.lost_packets);
    assert!(r.verdict.clean);
    // Every packet crosses four links: h1-s1, s1-nf, nf-s2, s2-sink.
    assert_eq!(r.packet_hops, 4 * r.oracle.sent);
}

#[test]
fn every_metric_a_run_produces_is_a_documented_metric_name() {
    let r = run_once(&reroute_pair(Some(0.5), Dur::from_millis(20), Some(Dur::from_millis(10))), 1);
    for k in r.metrics.keys() {
        assert!(
            scenarios::driver::METRIC_NAMES.contains(&k.as_str()),
            "{k} is not in METRIC_NAMES"
        );
    }
    assert!(r.metrics.len() >= 30);
}
