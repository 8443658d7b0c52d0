//! The reroute baseline live: the `models` controller in this process moves all traffic from
//! one switch port to another by a rule update sent over the control channel.
//!
//! ```text
//!            port 0       port 1 ═══ sink port 0      (before the move)
//!  source ══════════ switch
//!                         port 2 ═══ sink port 1      (after: redirect rule, priority 1000)
//!                           ▲ ctrl flowmods / event done
//!  nftwin live: Controller(Reroute) ── control.sock ──┘   every input/output in controller.log
//! ```
//!
//! Nodes as the controller sees them: the switch is `NodeId(1)`; both "instances" are the sink
//! (`NodeId(2)`), reached through switch ports 1 (old) and 2 (new). The move starts halfway
//! through the source's packets; the handover duration is from the move's `Started` to its
//! `Finished` log, on the controller's clock.

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

/// What a live reroute measured.
#[derive(Clone, Debug)]
pub struct RerouteResult {
    pub run_id: String,
    pub sent: u64,
    pub unique: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Packets the sink received through the old and the new port.
    pub via_old: u64,
    pub via_new: u64,
    /// From the move's start to its end, on the controller's clock.
    pub handover_ns: Option<u64>,
    pub delay_max_ns: u64,
    pub source: Report,
    pub switch: Report,
    pub sink: Report,
    /// The most packets the controller's buffer held.
    pub controller_buffer_peak_pkts: u32,
    /// The controller's log (see `replay`).
    pub controller_log: Vec<u8>,
    /// Per host, where its events to the run waited (`control::Waits`: on the way, then in
    /// the run until its loop took them).
    pub event_waits: std::collections::BTreeMap<String, crate::control::Waits>,
    /// From the controller's timer run or input that produced the `FlowMods` to their send
    /// call, and the send call itself (stamping, writing to the socket, logging), on the
    /// controller's clock: the run's own share of the way out.
    pub flowmods_send_lag_ns: Option<(u64, u64)>,
}

#[derive(Copy, Clone, Debug)]
pub struct ReroutePlan {
    pub rate_pps: u64,
    pub count: u64,
    pub flows: u64,
    pub size_bytes: u32,
}

const SWITCH: NodeId = NodeId(1);
const SINK: NodeId = NodeId(2);

pub fn run(host_bin: &Path, plan: ReroutePlan) -> Result<RerouteResult, LabError> {
    let mut lab = Lab::new(host_bin)?;
    let run_id = lab.id().to_string();
    let (src_if, sw0) = lab.link("src", "sw")?;
    let (sw1, sink0) = lab.link("sw", "sink")?;
    let (sw2, sink1) = lab.link("sw", "sink")?;
    let ready = Duration::from_secs(20);
    lab.spawn("sink", &[sink0, sink1], &args(&["--role", "sink"]))?;
    lab.wait_ready("sink", ready)?;
    lab.spawn("sw", &[sw0, sw1, sw2], &args(&["--role", "switch", "--route", "0:1"]))?;
    lab.wait_ready("sw", ready)?;
    let mut ctl = LoggedController::new(&ControllerSetup::reroute())
        .expect("invariant: the reroute setup builds");
    lab.spawn(
        "src",
        &[src_if],
        &source_args(plan.rate_pps, plan.count, plan.flows, plan.size_bytes),
    )?;
    let clock = Mono::start();
    let move_at = Time::from_nanos(plan.count / 2 * 1_000_000_000 / plan.rate_pps.max(1));
    let budget = move_at.as_nanos() * 2 + 60_000_000_000;
    let (mut moved, mut started, mut finished) = (false, None, None);
    let mut flowmods_send_lag_ns = None;
    let source = loop {
        if let Some(r) = lab.finished("src")? {
            break r;
        }
        if clock.now().as_nanos() > budget {
            return Err(LabError::Timeout {
                host: "src".into(),
                what: "did not finish".into(),
                secs: budget / 1_000_000_000,
                log_tail: lab.log_tail("src", 12),
            });
        }
        let mut outs = Vec::new();
        if !moved && clock.now() >= move_at {
            moved = true;
            let req = MoveRequest {
                id: MoveId(1),
                flows: Match::any(),
                src: SINK,
                dst: SINK,
                switch: SWITCH,
                in_ports: vec![PortId(0)],
                src_port: PortId(1),
                dst_port: PortId(2),
            };
            outs.extend(ctl.handle_live(clock.now(), ControllerInput::Move(req)));
        }
        // Wait for a host's message, but no longer than until the controller's next deadline
        // (its per-message cost) or 1 ms (the move's start, the source's end).
        let wait = ctl.wait_ns(clock.now());
        let mut fed_at = clock.now();
        if let Some((host, line)) = lab.control().recv_timeout(Duration::from_nanos(wait)) {
            // Only the switch sends events; anything else is logged by the channel and ignored.
            if let (true, Some(ev)) = (host == "sw", line.strip_prefix("event ")) {
                if let Ok(event) = ctrlmsg::decode_switch_event(ev) {
                    let input = ControllerInput::Switch { from: SWITCH, event };
                    fed_at = clock.now();
                    outs.extend(ctl.handle_live(fed_at, input));
                }
            }
        }
        let ticked = clock.now();
        let timer_outs = ctl.tick(ticked);
        if !timer_outs.is_empty() {
            fed_at = ticked;
        }
        outs.extend(timer_outs);
        for o in outs {
            match o {
                ControllerOutput::ToSwitch { msg, .. } => {
                    let line = ctrlmsg::encode_switch_ctrl(&msg)
                        .expect("invariant: reroute sends flow mods only");
                    let before = clock.now().as_nanos();
                    lab.control().send("sw", &format!("ctrl {line}"));
                    if flowmods_send_lag_ns.is_none() {
                        let after = clock.now().as_nanos();
                        flowmods_send_lag_ns =
                            Some((before.saturating_sub(fed_at.as_nanos()), after - before));
                    }
                }
                ControllerOutput::Log { at, log: MoveLog::Started { .. } } => started = Some(at),
                ControllerOutput::Log { at, log: MoveLog::Finished { .. } } => finished = Some(at),
                _ => {}
            }
        }
    };
    lab.sleep(Duration::from_millis(500))?;
    let switch = lab.stop("sw", Duration::from_secs(10))?;
    let sink = lab.stop("sink", Duration::from_secs(10))?;
    let event_waits = lab.control().waits().into_iter().map(|(h, (_, e))| (h, e)).collect();
    drop(lab);
    let sent = source.get("sent").unwrap_or(0);
    let unique = sink.get("unique").unwrap_or(0);
    Ok(RerouteResult {
        run_id,
        sent,
        unique,
        lost: sent.saturating_sub(unique),
        duplicates: sink.get("duplicates").unwrap_or(0),
        reordered: sink.get("reordered").unwrap_or(0),
        via_old: sink.get("data_port0").unwrap_or(0),
        via_new: sink.get("data_port1").unwrap_or(0),
        handover_ns: started.zip(finished).map(|(s, f): (Time, Time)| f.as_nanos() - s.as_nanos()),
        delay_max_ns: sink.get("delay_max_ns").unwrap_or(0),
        source,
        switch,
        sink,
        controller_buffer_peak_pkts: ctl.controller().buffer().max(),
        controller_log: ctl.log().to_vec(),
        event_waits,
        flowmods_send_lag_ns,
    })
}
