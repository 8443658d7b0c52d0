//! What one replication measured, collected from the entities after the run.

use std::collections::BTreeMap;

use base::Time;
use models::controller::{MoveId, MoveLog};
use models::oracle::{Guarantee, LossCause, OracleReport, Verdict};
use sim_core::{EntityId, Simulation};

use super::entities::{ControllerEntity, NfEntity, Shared, SinkEntity, SourceEntity, SwitchEntity};
use super::{node_id, Msg};
use crate::config::{NodeIdx, NodeKind, ScenarioConfig};

/// Every metric a run can produce (the tidy format's `metric` column; `[metrics] record` picks
/// among these). A test checks that runs produce nothing else.
pub const METRIC_NAMES: &[&str] = &[
    "completed_flows",
    "controller_messages",
    "ctrl_data_pkts_in",
    "ctrl_plane_msgs",
    "data_plane_msgs",
    "delivered_pkts",
    "duplicate_outputs",
    "duplicate_updates",
    "e2_hw_rules_deleted",
    "e2_hw_rules_sent",
    "e2_switch_converged_ms",
    "e2d_detoured_pkts",
    "edm_active_flows",
    "elephants_moved",
    "flows",
    "guarantee_honoured",
    "in_flight_pkts",
    "lost_controller_buffer_pkts",
    "lost_link_down_pkts",
    "lost_link_queue_pkts",
    "lost_link_random_pkts",
    "lost_nf_down_pkts",
    "lost_nf_queue_pkts",
    "lost_protocol_pkts",
    "lost_rule_drop_pkts",
    "lost_table_miss_pkts",
    "lost_updates",
    "lost_updates_network",
    "max_controller_buffer_pkts",
    "max_delay_ms",
    "max_e2d_exceptions",
    "max_vnf_buffer_pkts",
    "mean_delay_us",
    "mean_fct_ms",
    "move_duration_ms",
    "moves_failed",
    "nf_events_raised_pkts",
    "nf_max_queue_pkts",
    "nf_processed_pkts",
    "p99_delay_us",
    "protocol_unexpected",
    "reexports",
    "reordered_updates",
    "sent_pkts",
    "sharp_ctrl_processed_pkts",
    "sharp_data_ctrl_pkts",
    "sharp_follow_up_pkts",
    "sharp_state_msgs",
    "sharp_vnf_buffered_pkts",
    "sharp_vnf_ctrl_buffered_pkts",
    "sharp_vnf_released_pkts",
    "state_mismatch_flows",
    "state_transfer_ms",
    "switch_packet_ins_pkts",
    "switch_rules_applied",
    "window_dst_only_pkts",
    "window_dst_only_via_controller_pkts",
    "window_mean_delay_dst_only_us",
    "window_mean_delay_reprocessed_us",
    "window_mean_delay_src_output_us",
    "window_mean_delay_us",
    "window_pkts",
    "window_reprocessed_pkts",
    "window_src_output_pkts",
];

/// HotMiddlebox 6.1's three cases among the packets sent during the delay window, by the
/// scenario's first move (`src` to `dst`): packets output by srcInst (before their flow's
/// state left it: processed normally), those output by srcInst whose do-not-output copy went
/// to the controller (reprocessed by dstInst), and those output by dstInst alone (buffered at
/// the controller and released to it, or routed to it after the move). A case with no packet
/// gets its count (0) but no mean. `window_dst_only_via_controller_pkts`: the dst-only packets
/// srcInst raised to the controller.
fn window_paths(cfg: &ScenarioConfig, shared: &Shared, put: &mut impl FnMut(&str, f64)) {
    let Some((src, dst)) = cfg.timeline.iter().find_map(|e| match e.what {
        crate::config::TimelineAction::Move { src, dst, .. } => Some((node_id(src), node_id(dst))),
        _ => None,
    }) else {
        return;
    };
    let mut cases = [
        ("src_output", sim_core::metrics::Histogram::new()),
        ("reprocessed", sim_core::metrics::Histogram::new()),
        ("dst_only", sim_core::metrics::Histogram::new()),
    ];
    let mut via_controller = 0u64;
    for m in shared.window_marks.values() {
        let Some(delay) = m.delay_ns else { continue };
        if m.output_by == Some(src) {
            cases[0].1.record(delay);
            if m.copied {
                cases[1].1.record(delay);
            }
        } else if m.output_by == Some(dst) && !m.copied {
            cases[2].1.record(delay);
            via_controller += u64::from(m.raised);
        }
    }
    for (name, h) in &cases {
        put(&format!("window_{name}_pkts"), h.len() as f64);
        if let Some(mean) = h.mean() {
            put(&format!("window_mean_delay_{name}_us"), mean / 1e3);
        }
    }
    put("window_dst_only_via_controller_pkts", via_controller as f64);
}

/// A move's life as the controller logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveRecord {
    pub id: MoveId,
    pub started: Option<Time>,
    /// Every flow's state reached the destination.
    pub state_moved: Option<Time>,
    pub finished: Option<Time>,
    pub failed: Option<String>,
}

/// One replication's results.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub seed: u64,
    pub protocol: &'static str,
    pub guarantee: Guarantee,
    pub oracle: OracleReport,
    pub verdict: Verdict,
    pub moves: Vec<MoveRecord>,
    /// Named metrics, with units in the names (the tidy format's `metric` column).
    pub metrics: BTreeMap<String, f64>,
    /// Engine events (for speed measurements).
    pub events: u64,
    /// Packet-hops: packets delivered by links.
    pub packet_hops: u64,
    /// The simulated instant the run ended.
    pub end: Time,
    /// The controller buffer's `(time, packets)` after every change (empty without a controller).
    pub controller_buffer: Vec<(Time, u32)>,
}

pub(super) fn collect(
    cfg: &ScenarioConfig,
    seed: u64,
    sim: &Simulation<Msg>,
    shared: &Shared,
) -> RunOutcome {
    let mut metrics = BTreeMap::new();
    let mut logs = Vec::new();
    let mut flows = 0usize;
    let mut controller = None;
    let mut delay = None;
    let mut window = None;
    let mut fcts = Vec::new();
    for (i, node) in cfg.nodes.iter().enumerate() {
        let id = EntityId(i as u32);
        match &node.kind {
            NodeKind::Nf(_) => {
                let e = sim.entity::<NfEntity>(id).expect("nf");
                for (f, log) in e.logs() {
                    logs.push((node_id(NodeIdx(i as u32)), f, log));
                }
                let s = e.nf.stats();
                *metrics.entry("nf_processed_pkts".into()).or_insert(0.0) += s.processed as f64;
                *metrics.entry("nf_events_raised_pkts".into()).or_insert(0.0) +=
                    s.events_raised as f64;
                let q = metrics.entry("nf_max_queue_pkts".to_string()).or_insert(0.0);
                *q = f64::max(*q, s.max_queue as f64);
                if let Some(d) = &e.e2d {
                    // E2: the software exceptions' peak in the E2D and the packets it detoured.
                    let st = d.stats();
                    let x = metrics.entry("max_e2d_exceptions".to_string()).or_insert(0.0);
                    *x = f64::max(*x, st.max_exceptions as f64);
                    *metrics.entry("e2d_detoured_pkts".to_string()).or_insert(0.0) +=
                        st.detoured as f64;
                }
                if let Some(h) = &e.hsl {
                    let hs = h.stats();
                    let b = metrics.entry("max_vnf_buffer_pkts".to_string()).or_insert(0.0);
                    *b = f64::max(*b, hs.max_buffered as f64);
                    // SHarP's data-plane messages (section IV-A, `V + 2R + C`): the state
                    // transfer's messages between the VNFs (V), every redirected packet into the
                    // HSL's buffers and out of them to the NF (2R), the control packets (C).
                    let buffered = hs.ctrl_buffered + hs.sw_buffered;
                    for (k, v) in [
                        ("sharp_state_msgs", e.peer_msgs),
                        ("sharp_vnf_buffered_pkts", buffered),
                        ("sharp_vnf_ctrl_buffered_pkts", hs.ctrl_buffered),
                        ("sharp_vnf_released_pkts", hs.released),
                        ("sharp_data_ctrl_pkts", hs.control_packets),
                        (
                            "data_plane_msgs",
                            e.peer_msgs + buffered + hs.released + hs.control_packets,
                        ),
                    ] {
                        *metrics.entry(k.to_string()).or_insert(0.0) += v as f64;
                    }
                }
            }
            NodeKind::Source => flows += sim.entity::<SourceEntity>(id).expect("source").flows(),
            NodeKind::Sink => {
                let e = sim.entity::<SinkEntity>(id).expect("sink");
                if let Some(m) = e.delay_ns.clone().quantile(1.0) {
                    let d = metrics.entry("max_delay_ms".to_string()).or_insert(0.0);
                    *d = f64::max(*d, m as f64 / 1e6);
                }
                delay = Some(e.delay_ns.clone());
                window = Some(e.window_delay_ns.clone());
                fcts.extend(e.sink.fcts_ns().into_iter().map(|(_, f)| f));
            }
            NodeKind::Switch(_) => {
                let s = sim.entity::<SwitchEntity>(id).expect("switch").switch.stats();
                *metrics.entry("switch_packet_ins_pkts".into()).or_insert(0.0) +=
                    s.packet_ins as f64;
                *metrics.entry("switch_rules_applied".into()).or_insert(0.0) +=
                    s.rules_applied as f64;
            }
            NodeKind::Controller(_) => {
                controller = Some(sim.entity::<ControllerEntity>(id).expect("controller"))
            }
        }
    }
    let oracle = shared.oracle.finish(logs);
    let (protocol, guarantee) = match controller {
        Some(c) => (c.controller.protocol().name(), c.controller.protocol().guarantee()),
        None => (cfg.protocol.name(), Guarantee::None),
    };
    let verdict = oracle.verdict(guarantee);

    let mut moves: BTreeMap<MoveId, MoveRecord> = BTreeMap::new();
    for (at, log) in &shared.moves {
        let id = match log {
            MoveLog::Started { id }
            | MoveLog::StateMoved { id }
            | MoveLog::Finished { id }
            | MoveLog::Failed { id, .. } => *id,
        };
        let r = moves.entry(id).or_insert(MoveRecord {
            id,
            started: None,
            state_moved: None,
            finished: None,
            failed: None,
        });
        match log {
            MoveLog::Started { .. } => r.started = Some(*at),
            MoveLog::StateMoved { .. } => r.state_moved = Some(*at),
            MoveLog::Finished { .. } => r.finished = Some(*at),
            MoveLog::Failed { reason, .. } => r.failed = Some(reason.clone()),
        }
    }
    let moves: Vec<MoveRecord> = moves.into_values().collect();

    let mut put = |k: &str, v: f64| {
        metrics.insert(k.to_string(), v);
    };
    put("flows", flows as f64);
    put("sent_pkts", oracle.sent as f64);
    put("delivered_pkts", oracle.delivered as f64);
    put("in_flight_pkts", oracle.in_flight as f64);
    for c in LossCause::ALL {
        put(
            &format!("lost_{}_pkts", c.name()),
            oracle.lost_packets.get(&c).copied().unwrap_or(0) as f64,
        );
    }
    put("lost_updates", oracle.lost_updates as f64);
    put("lost_updates_network", oracle.lost_updates_network as f64);
    put("reordered_updates", oracle.reordered_updates as f64);
    put("duplicate_updates", oracle.duplicate_updates as f64);
    put("duplicate_outputs", oracle.duplicate_outputs as f64);
    put("state_mismatch_flows", oracle.state_mismatch as f64);
    if let Some(d) = &delay {
        put("mean_delay_us", d.mean().unwrap_or(0.0) / 1e3);
        put("p99_delay_us", d.quantile(0.99).unwrap_or(0) as f64 / 1e3);
    }
    if let (Some(w), Some(_)) = (&window, cfg.metrics.delay_window) {
        put("window_mean_delay_us", w.mean().unwrap_or(0.0) / 1e3);
        put("window_pkts", w.len() as f64);
        window_paths(cfg, shared, &mut put);
    }
    if !fcts.is_empty() {
        fcts.sort_unstable();
        put("mean_fct_ms", fcts.iter().map(|&f| f as f64).sum::<f64>() / fcts.len() as f64 / 1e6);
        put("completed_flows", fcts.len() as f64);
    }
    if let Some(c) = controller {
        for (k, v) in c.controller.protocol().counters() {
            put(k, v);
        }
        put("max_controller_buffer_pkts", c.controller.buffer().max() as f64);
        put("controller_messages", c.controller.stats().messages as f64);
        put("ctrl_plane_msgs", c.ctrl_msgs as f64);
        put("ctrl_data_pkts_in", c.ctrl_pkts_in as f64);
    }
    let durations: Vec<f64> = moves
        .iter()
        .filter_map(|m| Some((m.finished? - m.started?).as_nanos() as f64 / 1e6))
        .collect();
    if !durations.is_empty() {
        put("move_duration_ms", durations.iter().sum::<f64>() / durations.len() as f64);
    }
    let transfers: Vec<f64> = moves
        .iter()
        .filter_map(|m| Some((m.state_moved? - m.started?).as_nanos() as f64 / 1e6))
        .collect();
    if !transfers.is_empty() {
        put("state_transfer_ms", transfers.iter().sum::<f64>() / transfers.len() as f64);
    }
    put("moves_failed", moves.iter().filter(|m| m.failed.is_some()).count() as f64);
    put("guarantee_honoured", f64::from(u8::from(verdict.honoured)));

    let packet_hops = (0..cfg.links.len() * 2)
        .map(|l| sim.link(sim_core::LinkId(l as u32)).stats().delivered_pkts)
        .sum();
    RunOutcome {
        seed,
        protocol,
        guarantee,
        oracle,
        verdict,
        moves,
        metrics,
        events: sim.stats().events,
        packet_hops,
        end: sim.now(),
        controller_buffer: controller
            .map(|c| c.controller.buffer().occupancy().to_vec())
            .unwrap_or_default(),
    }
}
