//! HotMiddlebox Figure 5: state transfer time through the controller vs peer to peer.
//!
//! The experiment: `k` pairs of PRADS-like instances `(src_i, dst_i)` on one switch, each pair
//! joined by its own 10 Gbps link; `n` long-lived flows per pair, steered to `src_i` by a
//! flow-hash range; at 2 ms all `k` moves start at once (`src_i` to `dst_i`, the pair's hash
//! range), loss-free, through the controller or P2P. The metric is `state_transfer_ms`: from
//! the move's start to every flow's state being at `dst_i`.
//! - `fig5a`: one move, `n` = 100..1000 flows (the paper varies the state moved).
//! - `fig5b`: `k` = 1..20 simultaneous moves of `n` flows each; the controller path shares the
//!   controller, P2P does not (section 6.2: "the transfer time per move is near constant with
//!   P2P transfers").
//!
//! Traffic is light (the calibration's per-flow rate) so the runs measure the transfer.

use base::{Bps, Dur, Time};
use models::controller::ControllerConfig;
use models::nf::NfConfig;
use models::opennf::OpenNfConfig;
use models::oracle::Guarantee;
use models::switch::{Match, SwitchConfig};

use super::{FigureSpec, PlotKind, Point};
use crate::config::*;

const MTU: u32 = 1500;
const MOVE_AT: Dur = Dur::from_millis(2);

/// Costs and traffic shared by every point of the experiment.
#[derive(Clone, Debug)]
pub struct PairsSetup {
    pub nf: NfConfig,
    pub controller: ControllerConfig,
    /// Packets per second of each flow.
    pub flow_pps: u64,
    /// Traffic lasts this long (the run then drains).
    pub duration: Dur,
}

/// `k` pairs, `n` flows each, moved at 2 ms with `protocol`.
pub fn pairs_experiment(
    k: u32,
    n: u32,
    protocol: OpenNfConfig,
    setup: &PairsSetup,
) -> ScenarioConfig {
    let (nf, controller, duration) = (&setup.nf, &setup.controller, setup.duration);
    let gbps10 = Bps(10_000_000_000);
    let link = |a: u32, b: u32| LinkConfig {
        a: NodeIdx(a),
        b: NodeIdx(b),
        rate: gbps10,
        delay: Dur::from_micros(1),
        max_waiting_pkts: None,
        max_waiting_bytes: None,
        loss: 0.0,
    };
    // Nodes: h1 0, s1 1, sink 2, then src_i = 3 + 2i, dst_i = 4 + 2i, controller last.
    let src = |i: u32| 3 + 2 * i;
    let dst = |i: u32| 4 + 2 * i;
    let range = |i: u32| {
        let w = (1u64 << 32) / k as u64;
        let lo = (i as u64 * w) as u32;
        let hi = if i + 1 == k { None } else { Some(((i as u64 + 1) * w) as u32) };
        (lo, hi)
    };
    let hash_match = |i: u32| match range(i) {
        (lo, Some(hi)) => Match::hash_range(lo, hi),
        // The last range runs to 2^32, which `[lo, hi)` in u32 cannot say: everything from lo.
        (lo, None) => Match { hash: Some((lo, u32::MAX)), ..Match::any() },
    };
    let mut rules = Vec::new();
    for i in 0..k {
        let out = |name: String, from: u32| RuleConfig {
            name,
            priority: 10,
            matcher: Match::any(),
            in_from: Some(NodeIdx(from)),
            actions: vec![RuleAction::OutputTo(NodeIdx(2))],
            idle_timeout: None,
        };
        rules.push(RuleConfig {
            name: format!("to-src{i}"),
            priority: 10,
            matcher: hash_match(i),
            in_from: Some(NodeIdx(0)),
            actions: vec![RuleAction::OutputTo(NodeIdx(src(i)))],
            idle_timeout: None,
        });
        rules.push(out(format!("src{i}-out"), src(i)));
        rules.push(out(format!("dst{i}-out"), dst(i)));
    }
    // The top of the hash space (u32::MAX itself) goes with the last pair.
    rules.push(RuleConfig {
        name: "to-last".into(),
        priority: 5,
        matcher: Match::any(),
        in_from: Some(NodeIdx(0)),
        actions: vec![RuleAction::OutputTo(NodeIdx(src(k - 1)))],
        idle_timeout: None,
    });
    let switch = SwitchConfig {
        table_capacity: 100_000,
        update: models::switch::UpdateLatency::e2_hardware(),
        table_miss: models::switch::TableMiss::Drop,
    };
    let mut nodes = vec![
        NodeConfig { name: "h1".into(), kind: NodeKind::Source },
        NodeConfig {
            name: "s1".into(),
            kind: NodeKind::Switch(SwitchNode { config: switch, ingress: true, rules }),
        },
        NodeConfig { name: "sink".into(), kind: NodeKind::Sink },
    ];
    let mut links = vec![link(0, 1), link(1, 2)];
    for i in 0..k {
        nodes.push(NodeConfig { name: format!("src{i}"), kind: NodeKind::Nf(nf.clone()) });
        nodes.push(NodeConfig { name: format!("dst{i}"), kind: NodeKind::Nf(nf.clone()) });
        links.push(link(1, src(i)));
        links.push(link(1, dst(i)));
    }
    for i in 0..k {
        links.push(link(src(i), dst(i)));
    }
    nodes.push(NodeConfig {
        name: "controller".into(),
        kind: NodeKind::Controller(controller.clone()),
    });

    // n flows per pair: generate synthetic flows, keep the first n whose hash lands in each
    // pair's range, start them in the first millisecond, and make them outlast the run.
    let flow_rate = Bps(setup.flow_pps.max(1) * MTU as u64 * 8);
    let size = setup.flow_pps.max(1) * MTU as u64 * (duration.as_nanos() / 1_000_000_000 + 1);
    let mut per_pair = vec![0u32; k as usize];
    let mut flows = Vec::new();
    let mut i = 0u64;
    while per_pair.iter().any(|&c| c < n) {
        let tuple = workloads::FiveTuple::synthetic(i);
        let h = (tuple.hash64() >> 32) as u32;
        let pair = (0..k).find(|&p| match range(p) {
            (lo, Some(hi)) => lo <= h && h < hi,
            (lo, None) => lo <= h,
        });
        if let Some(p) = pair {
            if per_pair[p as usize] < n {
                per_pair[p as usize] += 1;
                let start = Time::ZERO + Dur::from_nanos(i % 1_000_000);
                flows.push(workloads::Flow {
                    id: workloads::FlowId(i),
                    start,
                    size_bytes: size,
                    tuple,
                });
            }
        }
        i += 1;
    }
    flows.sort_by_key(|f| (f.start, f.id));
    let timeline = (0..k)
        .map(|p| TimelineEvent {
            at: Time::ZERO + MOVE_AT,
            what: TimelineAction::Move {
                flows: hash_match(p),
                src: NodeIdx(src(p)),
                dst: NodeIdx(dst(p)),
            },
        })
        .collect();
    ScenarioConfig {
        name: format!("opennf-pairs-k{k}-n{n}"),
        seed: 1,
        replications: 1,
        duration,
        drain_limit: Dur::from_secs(5),
        nodes,
        links,
        control_latency: Dur::from_micros(100),
        control_jitter: None,
        workloads: vec![WorkloadConfig {
            source: NodeIdx(0),
            flows: FlowSource::Trace { path: "generated".into(), flows },
            mtu: MTU,
            flow_rate,
            pacing: Default::default(),
        }],
        protocol: ProtocolConfig::OpenNf(protocol),
        timeline,
        metrics: MetricsConfig::default(),
    }
}

/// Figures 5(a) and 5(b) with the given costs (the calibrated PRADS-like ones).
pub fn figures(quick: bool, setup: &PairsSetup) -> Vec<FigureSpec> {
    let schemes = [
        ("controller", OpenNfConfig::opennf(Guarantee::LossFree)),
        ("P2P", OpenNfConfig::p2p(Guarantee::LossFree)),
    ];
    let flows: &[u32] = if quick { &[100, 500] } else { &[100, 250, 500, 750, 1000] };
    let moves: &[u32] = if quick { &[1, 5] } else { &[1, 2, 5, 10, 15, 20] };
    let per_move_flows = if quick { 50 } else { 100 };
    let fig5a = FigureSpec {
        id: "opennf-enh/fig5a".into(),
        title: "state transfer time vs flows moved: controller path vs P2P".into(),
        x_name: "flows".into(),
        x_label: "flows moved".into(),
        y_label: "state transfer time (ms)".into(),
        plot: PlotKind::Lines,
        metrics: vec!["state_transfer_ms".into()],
        points: schemes
            .iter()
            .flat_map(|(name, c)| {
                flows.iter().map(move |&n| Point {
                    series: name.to_string(),
                    x: n.to_string(),
                    config: pairs_experiment(1, n, c.clone(), setup),
                })
            })
            .collect(),
    };
    let fig5b = FigureSpec {
        id: "opennf-enh/fig5b".into(),
        title: format!(
            "state transfer time per move vs simultaneous moves ({per_move_flows} flows each)"
        ),
        x_name: "moves".into(),
        x_label: "simultaneous moves".into(),
        y_label: "state transfer time per move (ms)".into(),
        plot: PlotKind::Lines,
        metrics: vec!["state_transfer_ms".into()],
        points: schemes
            .iter()
            .flat_map(|(name, c)| {
                moves.iter().map(move |&k| Point {
                    series: name.to_string(),
                    x: k.to_string(),
                    config: pairs_experiment(k, per_move_flows, c.clone(), setup),
                })
            })
            .collect(),
    };
    vec![fig5a, fig5b]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::run_once;

    #[test]
    fn p2p_beats_the_controller_path_and_stays_flat_with_more_moves() {
        let setup = PairsSetup {
            nf: NfConfig::default(),
            controller: ControllerConfig::default(),
            flow_pps: 50,
            duration: Dur::from_millis(60),
        };
        let t = |k, c: OpenNfConfig| {
            let r = run_once(&pairs_experiment(k, 50, c, &setup), 1);
            assert_eq!(r.moves.len(), k as usize);
            assert!(r.moves.iter().all(|m| m.finished.is_some()), "{:?}", r.moves);
            assert_eq!(r.oracle.lost_updates, 0);
            r.metrics["state_transfer_ms"]
        };
        let (c1, p1) = (
            t(1, OpenNfConfig::opennf(Guarantee::LossFree)),
            t(1, OpenNfConfig::p2p(Guarantee::LossFree)),
        );
        let (c5, p5) = (
            t(5, OpenNfConfig::opennf(Guarantee::LossFree)),
            t(5, OpenNfConfig::p2p(Guarantee::LossFree)),
        );
        assert!(p1 < c1, "one move: P2P {p1} ms, controller {c1} ms");
        // Five moves share the controller: its path slows down more than P2P's.
        assert!(c5 / c1 > p5 / p1, "controller x{} vs P2P x{}", c5 / c1, p5 / p1);
    }
}
