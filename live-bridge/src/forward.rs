//! Sustained forwarding through a DPDK switch host: source ══ switch ══ sink.
//!
//! The source paces `count` packets at `rate_pps` in real time; the switch is
//! `models::switch::Switch` with one rule per direction (in-port 0 to port 1 and back); the
//! sink counts what arrives. Loss is `sent - unique`, so a packet lost anywhere (a TX the
//! source gave up on, a full RX ring, the switch) counts.

use std::path::Path;
use std::time::Duration;

use crate::lab::{args, source_args, Lab, LabError};
use crate::roles::Report;

/// What one forwarding run measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardResult {
    /// The lab's run id (to check that nothing was left behind).
    pub run_id: String,
    pub rate_pps: u64,
    pub sent: u64,
    pub unique: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub delay_max_ns: u64,
    pub delay_mean_ns: u64,
    /// How long the source took to send everything (the achieved rate is `sent / this`).
    pub send_ns: u64,
    pub source: Report,
    pub switch: Report,
    pub sink: Report,
    /// Median round trip of a control message to the switch host and back, while it forwards.
    pub control_rtt_ns: u64,
    /// The kernel's interface counters (`ip -s -o link`) at the end of the run.
    pub kernel: String,
}

/// Parameters of one forwarding run.
#[derive(Copy, Clone, Debug)]
pub struct ForwardPlan {
    pub rate_pps: u64,
    pub count: u64,
    pub flows: u64,
    pub size_bytes: u32,
}

/// Builds the three-host lab, runs the plan, tears everything down.
pub fn run(host_bin: &Path, plan: ForwardPlan) -> Result<ForwardResult, LabError> {
    let mut lab = Lab::new(host_bin)?;
    let run_id = lab.id().to_string();
    let (src_if, sw_in) = lab.link("src", "sw")?;
    let (sw_out, sink_if) = lab.link("sw", "sink")?;
    let ready = Duration::from_secs(20);
    lab.spawn("sink", &[sink_if], &args(&["--role", "sink"]))?;
    lab.wait_ready("sink", ready)?;
    lab.spawn("sw", &[sw_in, sw_out], &args(&["--role", "switch"]))?;
    lab.wait_ready("sw", ready)?;
    let src_args = source_args(plan.rate_pps, plan.count, plan.flows, plan.size_bytes);
    lab.spawn("src", &[src_if], &src_args)?;
    // The control channel's round trip to the switch host while it forwards (calibration:
    // under the load the run's rule updates will meet). 21 pings, 2 ms apart.
    lab.wait_ready("src", ready)?;
    let rtts = lab.ping("sw", 21)?;
    let control_rtt_ns = rtts[rtts.len() / 2];
    // The source's own run time plus generous slack for a loaded machine.
    let budget = Duration::from_nanos(plan.count * 1_000_000_000 / plan.rate_pps.max(1))
        + Duration::from_secs(60);
    let source = lab.wait_exit("src", budget)?;
    // Let the last frames drain through the switch.
    lab.sleep(Duration::from_millis(500))?;
    let kernel = lab.kernel_link_stats();
    let switch = lab.stop("sw", Duration::from_secs(10))?;
    let sink = lab.stop("sink", Duration::from_secs(10))?;
    drop(lab);
    let sent = source.get("sent").unwrap_or(0);
    let unique = sink.get("unique").unwrap_or(0);
    Ok(ForwardResult {
        run_id,
        rate_pps: plan.rate_pps,
        sent,
        unique,
        lost: sent.saturating_sub(unique),
        duplicates: sink.get("duplicates").unwrap_or(0),
        reordered: sink.get("reordered").unwrap_or(0),
        delay_max_ns: sink.get("delay_max_ns").unwrap_or(0),
        delay_mean_ns: sink.get("delay_mean_ns").unwrap_or(0),
        send_ns: source.get("send_ns").unwrap_or(0),
        source,
        switch,
        sink,
        control_rtt_ns,
        kernel,
    })
}
