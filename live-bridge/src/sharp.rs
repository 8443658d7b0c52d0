//! SHarP live: the paper's Figure 1 testbed on DPDK hosts, handed over by the `models` SHarP
//! controller running in this process.
//!
//! ```text
//!                 port 1 ══ vnf1 (NodeId 3) ══ port 0
//!  h1 ══ port 0 ingr                                 egr port 2 ══ h2 (answers each packet)
//!  (client)  (NodeId 1)  port 2 ══ vnfn (NodeId 4) ══ port 1  (NodeId 2)
//!                 ▲ ctrl flowmods / packetout           ▲            vnf1 ◄─ peer ─► vnfn
//!                 │ event done / removed / packetin     │            (relayed by this run)
//!  nftwin live: Controller(Sharp) ── control.sock ──────┴── event hsl ack|released (VNFs)
//! ```
//!
//! - Host1 sends a flow at `rate_pps` (sequence numbers 0, 2, 4, ...); Host2 answers each
//!   packet with the next sequence number of the same flow on the reverse 5-tuple
//!   (`roles::echo`): one bidirectional flow, one state at the VNF, as in section IV-B. Both
//!   hosts are the oracle's receivers (one-way delay at Host2, round trip at Host1); the final
//!   owner's update log (vnfn) must hold every packet of both directions.
//! - The move (all flows, vnf1 to vnfn) is two [`MoveRequest`]s with one id, one per switch,
//!   as the twin's driver hands a bidirectional handover to SHarP: on `ingr` the traffic
//!   arrives on port 0 and the VNFs sit on ports 1 / 2; on `egr` it arrives on port 2 and the
//!   VNFs sit on ports 0 / 1. It starts halfway through Host1's packets.
//! - The VNFs' own state transfer (`PeerMsg`) travels on the control channel: the sending
//!   host writes `peer <node> <message>`, this run hands `peer <message>` to the other VNF
//!   (see docs/live.md for why not a veth).
//! - The handover duration is from the move's `Started` to its `Finished` log, on the
//!   controller's clock; the controller buffer peak is its `PacketBuffer::max`, the VNF buffer
//!   peak vnfn's HSL `max_buffered`.

use std::path::Path;
use std::time::Duration;

use base::Time;
use models::controller::{ControllerInput, ControllerOutput, MoveId, MoveLog, MoveRequest};
use models::switch::Match;
use models::{NodeId, PortId};

use crate::clock::Mono;
use crate::ctrlmsg;
use crate::lab::{args, Lab, LabError};
use crate::replay::{ControllerSetup, LoggedController};
use crate::roles::Report;

/// A live SHarP handover.
#[derive(Copy, Clone, Debug)]
pub struct SharpPlan {
    pub rate_pps: u64,
    /// Host1's packets (the answers are as many).
    pub count: u64,
    pub size_bytes: u32,
    /// Section IV-B's artificial delay before the VNFs' state transfer.
    pub transfer_delay_ns: u64,
    /// The detection entry's idle timeout.
    pub max_silence_ns: u64,
    /// The VNFs' time per packet (the twin's `service`).
    pub service_ns: u64,
    /// How long an idle host naps between polls (`nftwin-host --idle-us`).
    pub idle_us: u64,
}

/// What a live SHarP handover measured.
#[derive(Clone, Debug)]
pub struct SharpResult {
    pub run_id: String,
    /// Host1's packets sent, and Host2's answers.
    pub sent: u64,
    pub answered: u64,
    /// Over both directions.
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Packet updates that did not reach the final owner's state (vnfn's update logs), and
    /// updates applied there out of order or twice.
    pub lost_updates: u64,
    pub reordered_updates: u64,
    pub duplicate_updates: u64,
    pub handover_ns: Option<u64>,
    /// The largest one-way delay of a packet from Host1 to Host2.
    pub delay_max_ns: u64,
    /// The largest round trip measured at Host1 (the paper's delay).
    pub rtt_max_ns: u64,
    pub controller_buffer_peak_pkts: u32,
    pub vnf_buffer_peak_pkts: u64,
    /// Packets the controller dropped, and outputs it could not deliver.
    pub controller_drops: u64,
    pub failed: Option<String>,
    pub h1: Report,
    pub ingr: Report,
    pub vnf1: Report,
    pub vnfn: Report,
    pub egr: Report,
    pub h2: Report,
    pub controller_log: Vec<u8>,
    /// The median control round trip to the two switch hosts under this run's own traffic,
    /// before the move (21 pings to each, from 300 ms after Host1 started): what the twin's
    /// control latency needs, measured where the handover's messages travel.
    pub control_rtt_ns: u64,
    /// Per host, where its events to the run waited (`control::Waits`: on the way, then in
    /// the run until its loop took them).
    pub event_waits: std::collections::BTreeMap<String, crate::control::Waits>,
}

/// When the in-run control round trips are measured: after Host1's traffic has settled,
/// well before the move (halfway through Host1's packets, 1 s in the live files).
const RTT_AT: Duration = Duration::from_millis(300);

const INGR: NodeId = NodeId(1);
const EGR: NodeId = NodeId(2);
const VNF1: NodeId = NodeId(3);
const VNFN: NodeId = NodeId(4);

fn host_of(n: NodeId) -> Option<&'static str> {
    match n {
        INGR => Some("ingr"),
        EGR => Some("egr"),
        VNF1 => Some("vnf1"),
        VNFN => Some("vnfn"),
        _ => None,
    }
}

fn node_of(host: &str) -> Option<NodeId> {
    match host {
        "ingr" => Some(INGR),
        "egr" => Some(EGR),
        "vnf1" => Some(VNF1),
        "vnfn" => Some(VNFN),
        _ => None,
    }
}

/// The two sides of the handover (one per switch), as the twin's driver builds them.
pub fn move_requests() -> [MoveRequest; 2] {
    let side = |switch, in_port, src_port, dst_port| MoveRequest {
        id: MoveId(1),
        flows: Match::any(),
        src: VNF1,
        dst: VNFN,
        switch,
        in_ports: vec![PortId(in_port)],
        src_port: PortId(src_port),
        dst_port: PortId(dst_port),
    };
    [side(INGR, 0, 1, 2), side(EGR, 2, 0, 1)]
}

pub fn run(host_bin: &Path, plan: SharpPlan) -> Result<SharpResult, LabError> {
    let mut lab = Lab::new(host_bin)?;
    let run_id = lab.id().to_string();
    let (h1_if, ingr0) = lab.link("h1", "ingr")?;
    let (ingr1, vnf1_0) = lab.link("ingr", "vnf1")?;
    let (ingr2, vnfn_0) = lab.link("ingr", "vnfn")?;
    let (vnf1_1, egr0) = lab.link("vnf1", "egr")?;
    let (vnfn_1, egr1) = lab.link("vnfn", "egr")?;
    let (egr2, h2_if) = lab.link("egr", "h2")?;
    let ready = Duration::from_secs(30);
    lab.spawn("h2", &[h2_if], &with_idle(args(&["--role", "echo"]), &plan))?;
    let egr = args(&["--role", "switch", "--route", "0:2,1:2,2:0"]);
    lab.spawn("egr", &[egr0, egr1, egr2], &with_idle(egr, &plan))?;
    for (name, node, ifs) in [("vnf1", VNF1, [vnf1_0, vnf1_1]), ("vnfn", VNFN, [vnfn_0, vnfn_1])] {
        let a = args(&[
            "--role",
            "nf",
            "--node",
            &node.0.to_string(),
            "--service-ns",
            &plan.service_ns.to_string(),
            "--transfer-delay-ns",
            &plan.transfer_delay_ns.to_string(),
        ]);
        lab.spawn(name, &ifs, &with_idle(a, &plan))?;
    }
    lab.spawn(
        "ingr",
        &[ingr0, ingr1, ingr2],
        &args(&["--role", "switch", "--route", "0:1,1:0,2:0"]),
    )?;
    for h in ["h2", "egr", "vnf1", "vnfn", "ingr"] {
        lab.wait_ready(h, ready)?;
    }
    let setup = ControllerSetup::sharp(plan.max_silence_ns);
    let mut ctl = LoggedController::new(&setup).expect("invariant: the sharp setup builds");
    lab.spawn(
        "h1",
        &[h1_if],
        &with_idle(
            args(&[
                "--role",
                "client",
                "--rate-pps",
                &plan.rate_pps.to_string(),
                "--count",
                &plan.count.to_string(),
                "--flows",
                "1",
                "--size",
                &plan.size_bytes.to_string(),
            ]),
            &plan,
        ),
    )?;
    lab.wait_ready("h1", ready)?;
    let clock = Mono::start();
    let move_at = Time::from_nanos(plan.count / 2 * 1_000_000_000 / plan.rate_pps.max(1));
    let control_rtt_ns = if move_at.as_nanos() > 2 * RTT_AT.as_nanos() as u64 {
        lab.sleep(RTT_AT)?;
        let mut rtts = lab.ping("ingr", 21)?;
        rtts.extend(lab.ping("egr", 21)?);
        rtts.sort_unstable();
        rtts[rtts.len() / 2]
    } else {
        0
    };
    let budget = move_at.as_nanos() * 2 + 60_000_000_000;
    let (mut moved, mut started, mut finished, mut failed) = (false, None, None, None);
    let (mut sent_done, mut drops) = (false, 0u64);
    while !(sent_done && (finished.is_some() || failed.is_some())) {
        lab.check_alive()?;
        if crate::sys::stop_requested() {
            return Err(LabError::Interrupted);
        }
        if clock.now().as_nanos() > budget {
            return Err(LabError::Timeout {
                host: "controller".into(),
                what: format!(
                    "the handover did not finish (sent all: {sent_done}, started: {})",
                    started.is_some()
                ),
                secs: budget / 1_000_000_000,
                log_tail: lab.log_tail("ingr", 12),
            });
        }
        let mut outs = Vec::new();
        if !moved && clock.now() >= move_at {
            moved = true;
            for req in move_requests() {
                outs.extend(ctl.handle_live(clock.now(), ControllerInput::Move(req)));
            }
        }
        let wait = ctl.wait_ns(clock.now());
        let mut first = lab.control().recv_timeout(Duration::from_nanos(wait));
        // Take everything that has arrived, in arrival order, before running the timer.
        while let Some((host, line)) = first.take() {
            if let Some(ev) = line.strip_prefix("event ") {
                let input = match node_of(&host) {
                    Some(from @ (INGR | EGR)) => ctrlmsg::decode_switch_event(ev)
                        .ok()
                        .map(|event| ControllerInput::Switch { from, event }),
                    Some(from) => ctrlmsg::decode_nf_event(ev)
                        .ok()
                        .map(|event| ControllerInput::Nf { from, event }),
                    None => None,
                };
                if let Some(input) = input {
                    outs.extend(ctl.handle_live(clock.now(), input));
                }
            } else if let Some(rest) = line.strip_prefix("peer ") {
                // The VNFs' own state transfer, relayed to the named instance.
                if let Some((to, msg)) = rest.split_once(' ') {
                    if let Some(h) = to.parse().ok().map(NodeId).and_then(host_of) {
                        lab.control().send(h, &format!("peer {msg}"));
                    }
                }
            } else if host == "h1" && line.starts_with("sent ") {
                sent_done = true;
            }
            first = lab.control().recv_timeout(Duration::ZERO);
        }
        outs.extend(ctl.tick(clock.now()));
        for o in outs {
            match o {
                ControllerOutput::ToSwitch { to, msg } => {
                    let line = ctrlmsg::encode_switch_ctrl(&msg)
                        .expect("invariant: every switch message has a text form");
                    match host_of(to) {
                        Some(h) => {
                            lab.control().send(h, &format!("ctrl {line}"));
                        }
                        None => drops += 1,
                    }
                }
                // SHarP talks to the VNFs in the data plane only.
                ControllerOutput::ToNf { .. } => drops += 1,
                ControllerOutput::Dropped { .. } => drops += 1,
                ControllerOutput::Log { at, log: MoveLog::Started { .. } } => started = Some(at),
                ControllerOutput::Log { at, log: MoveLog::Finished { .. } } => finished = Some(at),
                ControllerOutput::Log { log: MoveLog::Failed { reason, .. }, .. } => {
                    failed = Some(reason)
                }
                ControllerOutput::Log { .. } => {}
            }
        }
    }
    // The last answers drain.
    lab.sleep(Duration::from_millis(500))?;
    let h1 = lab.stop("h1", Duration::from_secs(10))?;
    let mut reports = Vec::new();
    for h in ["ingr", "vnf1", "vnfn", "egr", "h2"] {
        reports.push(lab.stop(h, Duration::from_secs(10))?);
    }
    let event_waits = lab.control().waits().into_iter().map(|(h, (_, e))| (h, e)).collect();
    drop(lab);
    let [ingr, vnf1, vnfn, egr, h2]: [Report; 5] =
        reports.try_into().expect("invariant: five reports");
    let get = |r: &Report, k: &str| r.get(k).unwrap_or(0);
    let sent = get(&h1, "sent");
    let answered = get(&h2, "answered");
    let lost =
        sent.saturating_sub(get(&h2, "unique")) + answered.saturating_sub(get(&h1, "unique"));
    // The final owner's update log: every packet of the flow, both directions, must be in it.
    let updates = get(&vnfn, "state_updates");
    Ok(SharpResult {
        run_id,
        sent,
        answered,
        lost,
        duplicates: get(&h1, "duplicates") + get(&h2, "duplicates"),
        reordered: get(&h1, "reordered") + get(&h2, "reordered"),
        lost_updates: (sent + answered).saturating_sub(updates),
        reordered_updates: get(&vnfn, "state_reordered"),
        duplicate_updates: get(&vnfn, "state_duplicates"),
        handover_ns: started.zip(finished).map(|(s, f): (Time, Time)| f.as_nanos() - s.as_nanos()),
        delay_max_ns: get(&h2, "delay_max_ns"),
        rtt_max_ns: get(&h1, "delay_max_ns"),
        controller_buffer_peak_pkts: ctl.controller().buffer().max(),
        vnf_buffer_peak_pkts: get(&vnfn, "hsl_max_buffered"),
        controller_drops: drops,
        failed,
        h1,
        ingr,
        vnf1,
        vnfn,
        egr,
        h2,
        controller_log: ctl.log().to_vec(),
        event_waits,
        control_rtt_ns,
    })
}

fn with_idle(mut a: Vec<String>, plan: &SharpPlan) -> Vec<String> {
    a.extend(["--idle-us".to_string(), plan.idle_us.to_string()]);
    a
}
