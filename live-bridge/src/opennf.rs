//! OpenNF's loss-free move live: the `models` OpenNF controller in this process moves every
//! flow's state from one NF host to another while the switch host steers the traffic.
//!
//! ```text
//!                      port 1 ══ nf1 (NodeId 3) ══ sink port 0
//!  source ══ port 0 sw (NodeId 1)
//!                      port 2 ══ nf2 (NodeId 4) ══ sink port 1
//!              ▲ ctrl flowmods / packetout            ▲ ctrl getperflow / putperflow / ...
//!              │ event done / packetin                │ event chunk / putdone / pkt / ...
//!  nftwin live: Controller(OpenNf, loss-free) ── control.sock
//! ```
//!
//! The move (all flows, nf1 to nf2) starts halfway through the source's packets. The NFs are
//! `models::nf::Nf` with the twin's defaults (1 us a packet, a queue of 1,000 packets, 256
//! bytes of state per flow, 5 us to export or import a flow); their calls and events travel on
//! the control channel in `ctrlmsg`'s text form. Loss-free: every packet's update must be in
//! nf2's update logs at the end (`lost_updates`).

use std::path::Path;
use std::time::Duration;

use base::Time;
use models::controller::{ControllerInput, ControllerOutput, MoveId, MoveLog, MoveRequest};
use models::switch::Match;
use models::{NodeId, PortId};

use crate::clock::Mono;
use crate::ctrlmsg;
use crate::lab::{args, source_args, Lab, LabError};
use crate::replay::{ControllerSetup, LoggedController};
use crate::roles::Report;

#[derive(Copy, Clone, Debug)]
pub struct OpenNfPlan {
    pub rate_pps: u64,
    pub count: u64,
    pub flows: u64,
    pub size_bytes: u32,
    /// How long an idle host naps between polls (`nftwin-host --idle-us`).
    pub idle_us: u64,
}

/// What a live OpenNF move measured.
#[derive(Clone, Debug)]
pub struct OpenNfResult {
    pub run_id: String,
    pub sent: u64,
    pub unique: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Updates missing from nf2's update logs (the final owner of every flow), and updates
    /// applied there out of order or twice.
    pub lost_updates: u64,
    pub reordered_updates: u64,
    pub duplicate_updates: u64,
    /// Flows whose state nf2 holds at the end.
    pub flows_moved: u64,
    pub move_ns: Option<u64>,
    pub delay_max_ns: u64,
    pub controller_buffer_peak_pkts: u32,
    pub controller_drops: u64,
    pub failed: Option<String>,
    pub source: Report,
    pub switch: Report,
    pub nf1: Report,
    pub nf2: Report,
    pub sink: Report,
    pub controller_log: Vec<u8>,
}

/// The NF hosts' `models::nf::Nf` parameters: the twin's defaults (`NfConfig::default()`:
/// 1 us a packet, a queue of 1,000 packets, 256 bytes of state per flow). The twin of a live
/// move (`nftwin live --compare`) is given the same.
pub const NF_SERVICE_NS: u64 = 1000;
pub const NF_QUEUE: u32 = 1000;
pub const NF_STATE_BYTES: u32 = 256;

const SWITCH: NodeId = NodeId(1);
const NF1: NodeId = NodeId(3);
const NF2: NodeId = NodeId(4);

fn host_of(n: NodeId) -> Option<&'static str> {
    match n {
        SWITCH => Some("sw"),
        NF1 => Some("nf1"),
        NF2 => Some("nf2"),
        _ => None,
    }
}

pub fn run(host_bin: &Path, plan: OpenNfPlan) -> Result<OpenNfResult, LabError> {
    let mut lab = Lab::new(host_bin)?;
    let run_id = lab.id().to_string();
    let (src_if, sw0) = lab.link("src", "sw")?;
    let (sw1, nf1_0) = lab.link("sw", "nf1")?;
    let (sw2, nf2_0) = lab.link("sw", "nf2")?;
    let (nf1_1, sink0) = lab.link("nf1", "sink")?;
    let (nf2_1, sink1) = lab.link("nf2", "sink")?;
    let idle = plan.idle_us.to_string();
    let (service, queue, state) =
        (NF_SERVICE_NS.to_string(), NF_QUEUE.to_string(), NF_STATE_BYTES.to_string());
    let ready = Duration::from_secs(30);
    lab.spawn("sink", &[sink0, sink1], &args(&["--role", "sink"]))?;
    for (name, node, ifs) in [("nf1", NF1, [nf1_0, nf1_1]), ("nf2", NF2, [nf2_0, nf2_1])] {
        let node = node.0.to_string();
        let a = args(&[
            "--role",
            "nf",
            "--hsl",
            "0",
            "--node",
            &node,
            "--service-ns",
            &service,
            "--queue",
            &queue,
            "--state-bytes",
            &state,
            "--idle-us",
            &idle,
        ]);
        lab.spawn(name, &ifs, &a)?;
    }
    let sw = args(&["--role", "switch", "--route", "0:1", "--idle-us", &idle]);
    lab.spawn("sw", &[sw0, sw1, sw2], &sw)?;
    for h in ["sink", "nf1", "nf2", "sw"] {
        lab.wait_ready(h, ready)?;
    }
    let mut ctl = LoggedController::new(&ControllerSetup::opennf())
        .expect("invariant: the opennf setup builds");
    lab.spawn(
        "src",
        &[src_if],
        &source_args(plan.rate_pps, plan.count, plan.flows, plan.size_bytes),
    )?;
    // The move's time counts from the source's start (its EAL takes 0.3-0.8 s).
    lab.wait_ready("src", ready)?;
    let clock = Mono::start();
    let move_at = Time::from_nanos(plan.count / 2 * 1_000_000_000 / plan.rate_pps.max(1));
    let budget = move_at.as_nanos() * 2 + 60_000_000_000;
    let (mut moved, mut started, mut finished, mut failed) = (false, None, None, None);
    let (mut source, mut drops) = (None, 0u64);
    while source.is_none() || (finished.is_none() && failed.is_none()) {
        if source.is_none() {
            source = lab.finished("src")?;
        } else {
            lab.check_alive()?;
        }
        if crate::sys::stop_requested() {
            return Err(LabError::Interrupted);
        }
        if clock.now().as_nanos() > budget {
            return Err(LabError::Timeout {
                host: "controller".into(),
                what: format!("the move did not finish (started: {})", started.is_some()),
                secs: budget / 1_000_000_000,
                log_tail: lab.log_tail("sw", 12),
            });
        }
        let mut outs = Vec::new();
        if !moved && clock.now() >= move_at {
            moved = true;
            let req = MoveRequest {
                id: MoveId(1),
                flows: Match::any(),
                src: NF1,
                dst: NF2,
                switch: SWITCH,
                in_ports: vec![PortId(0)],
                src_port: PortId(1),
                dst_port: PortId(2),
            };
            outs.extend(ctl.handle_live(clock.now(), ControllerInput::Move(req)));
        }
        let wait = ctl.wait_ns(clock.now());
        let mut next = lab.control().recv_timeout(Duration::from_nanos(wait));
        while let Some((host, line)) = next.take() {
            if let Some(ev) = line.strip_prefix("event ") {
                let input = match host.as_str() {
                    "sw" => ctrlmsg::decode_switch_event(ev)
                        .ok()
                        .map(|event| ControllerInput::Switch { from: SWITCH, event }),
                    "nf1" | "nf2" => ctrlmsg::decode_nf_event(ev).ok().map(|event| {
                        let from = if host == "nf1" { NF1 } else { NF2 };
                        ControllerInput::Nf { from, event }
                    }),
                    _ => None,
                };
                if let Some(input) = input {
                    outs.extend(ctl.handle_live(clock.now(), input));
                }
            } else if let Some(rest) = line.strip_prefix("peer ") {
                if let Some((to, msg)) = rest.split_once(' ') {
                    if let Some(h) = to.parse().ok().map(NodeId).and_then(host_of) {
                        lab.control().send(h, &format!("peer {msg}"));
                    }
                }
            }
            next = lab.control().recv_timeout(Duration::ZERO);
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
                ControllerOutput::ToNf { to, msg } => {
                    match (ctrlmsg::encode_nf_ctrl(&msg), host_of(to)) {
                        (Ok(line), Some(h)) => {
                            lab.control().send(h, &format!("ctrl {line}"));
                        }
                        _ => drops += 1,
                    }
                }
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
    let source = source.expect("invariant: the loop ends once the source has");
    lab.sleep(Duration::from_millis(500))?;
    let mut reports = Vec::new();
    for h in ["sw", "nf1", "nf2", "sink"] {
        reports.push(lab.stop(h, Duration::from_secs(10))?);
    }
    drop(lab);
    let [switch, nf1, nf2, sink]: [Report; 4] =
        reports.try_into().expect("invariant: four reports");
    let get = |r: &Report, k: &str| r.get(k).unwrap_or(0);
    let sent = get(&source, "sent");
    let unique = get(&sink, "unique");
    Ok(OpenNfResult {
        run_id,
        sent,
        unique,
        lost: sent.saturating_sub(unique),
        duplicates: get(&sink, "duplicates"),
        reordered: get(&sink, "reordered"),
        lost_updates: sent.saturating_sub(get(&nf2, "state_updates")),
        reordered_updates: get(&nf2, "state_reordered"),
        duplicate_updates: get(&nf2, "state_duplicates"),
        flows_moved: get(&nf2, "flows_owned"),
        move_ns: started.zip(finished).map(|(s, f): (Time, Time)| f.as_nanos() - s.as_nanos()),
        delay_max_ns: get(&sink, "delay_max_ns"),
        controller_buffer_peak_pkts: ctl.controller().buffer().max(),
        controller_drops: drops,
        failed,
        source,
        switch,
        nf1,
        nf2,
        sink,
        controller_log: ctl.log().to_vec(),
    })
}
