//! Sustained forwarding through a DPDK switch host: source ══ switch ══ sink; and, for the
//! calibration of twins whose packets cross NF hosts, source ══ switch ══ nf ══ sink
//! ([`run_through_nf`]).
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
    /// The NF host's report ([`run_through_nf`]; empty otherwise).
    pub nf: Report,
    /// Links a packet crosses from source to sink (2, or 3 through an NF host).
    pub hops: u64,
    /// Median round trip of a control message to the switch host and back, while it forwards.
    pub control_rtt_ns: u64,
    /// The control channel's time per message in a burst: [`CONTROL_BURST`] pings to the
    /// switch host sent at once, the time to the last answer over their number, while it
    /// forwards ([`Lab::ping_burst`]; [`run_through_nf`]; [`calibrate`] after the source is
    /// done, idle; 0 otherwise).
    pub control_msg_ns: u64,
    /// A rule update's time on the switch host, from its loop taking it to its `done`
    /// leaving: the median of [`CALIBRATION_RULES`] one-rule updates while it forwards
    /// ([`Lab::flowmods`], the host's `flowmods_done_median_ns`; [`calibrate`] only, 0
    /// otherwise). The ping round trip already holds the channel and the host's queue.
    pub flowmod_ns: u64,
    /// How late the run's thread wakes from a [`TIMER_PROBE`] wait on the control channel
    /// with no message coming, the median of [`CALIBRATION_RULES`] tries while the hosts
    /// forward ([`Lab::timer_lateness`]; [`calibrate`] only, 0 otherwise): the live
    /// controller's per-message timer is such a wait.
    pub timer_late_ns: u64,
    /// The kernel's interface counters (`ip -s -o link`) at the end of the run.
    pub kernel: String,
}

/// One-rule updates (and timer tries) a [`calibrate`] run times.
pub const CALIBRATION_RULES: usize = 21;

/// The wait whose lateness [`calibrate`] measures: the live controller's per-message time
/// (10 us, `ControllerConfig::default().per_msg`).
pub const TIMER_PROBE: Duration = Duration::from_micros(10);

/// Pings in the burst that measures the control channel's time per message (about as many
/// as the packet-outs of SHarP's release at 1,000-10,000 pps, or OpenNF's 500 `putPerflow`s).
pub const CONTROL_BURST: usize = 200;

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
    run_lab(host_bin, plan, None)
}

/// Source ══ switch ══ sink as [`run`], calibrating a twin whose switch gets rule updates
/// (the reroute's): besides the path delay and the control round trip, the control
/// channel's time per message in a burst (`control_msg_ns`), the switch host's time to apply
/// and confirm a rule update (`flowmod_ns`) and the run's timer lateness (`timer_late_ns`).
pub fn calibrate(host_bin: &Path, plan: ForwardPlan) -> Result<ForwardResult, LabError> {
    run_lab_with(host_bin, plan, None, true)
}

/// The NF host of a calibration run ([`run_through_nf`]).
#[derive(Copy, Clone, Debug)]
pub struct NfCalibration {
    /// The NF's modelled time per packet (`--service-ns`; 1 ns measures the host alone).
    pub service_ns: u64,
    /// The nap of an idle switch or NF host (`--idle-us`), as in the run being calibrated.
    pub idle_us: u64,
}

/// Source ══ switch ══ nf ══ sink (`models::nf::Nf` alone, `--hsl 0`): the calibration of
/// a twin whose packets cross switch and NF hosts. Gives the switch's and the NF's own
/// per-packet cost (their `busy_ns / busy_pkts`, [`crate::roles::Busy`]), the path's mean
/// one-way delay over its three links, and the control round trip to the switch host.
pub fn run_through_nf(
    host_bin: &Path,
    plan: ForwardPlan,
    nf: NfCalibration,
) -> Result<ForwardResult, LabError> {
    run_lab(host_bin, plan, Some(nf))
}

fn run_lab(
    host_bin: &Path,
    plan: ForwardPlan,
    nf: Option<NfCalibration>,
) -> Result<ForwardResult, LabError> {
    let calibrating = nf.is_some();
    run_lab_with(host_bin, plan, nf, calibrating)
}

fn run_lab_with(
    host_bin: &Path,
    plan: ForwardPlan,
    nf: Option<NfCalibration>,
    calibrating: bool,
) -> Result<ForwardResult, LabError> {
    let mut lab = Lab::new(host_bin)?;
    let run_id = lab.id().to_string();
    let (src_if, sw_in) = lab.link("src", "sw")?;
    let ready = Duration::from_secs(20);
    let sw_out = if let Some(c) = nf {
        let (sw_out, nf_in) = lab.link("sw", "nf")?;
        let (nf_out, sink_if) = lab.link("nf", "sink")?;
        lab.spawn("sink", &[sink_if], &args(&["--role", "sink"]))?;
        lab.wait_ready("sink", ready)?;
        let a = args(&[
            "--role",
            "nf",
            "--hsl",
            "0",
            "--node",
            "3",
            "--service-ns",
            &c.service_ns.max(1).to_string(),
            "--queue",
            "100000",
            "--idle-us",
            &c.idle_us.to_string(),
        ]);
        lab.spawn("nf", &[nf_in, nf_out], &a)?;
        lab.wait_ready("nf", ready)?;
        sw_out
    } else {
        let (sw_out, sink_if) = lab.link("sw", "sink")?;
        lab.spawn("sink", &[sink_if], &args(&["--role", "sink"]))?;
        lab.wait_ready("sink", ready)?;
        sw_out
    };
    let mut sw_args = args(&["--role", "switch"]);
    if let Some(c) = nf {
        sw_args.extend(args(&["--idle-us", &c.idle_us.to_string()]));
    }
    lab.spawn("sw", &[sw_in, sw_out], &sw_args)?;
    lab.wait_ready("sw", ready)?;
    let src_args = source_args(plan.rate_pps, plan.count, plan.flows, plan.size_bytes);
    lab.spawn("src", &[src_if], &src_args)?;
    // The control channel's round trip to the switch host while it forwards (calibration:
    // under the load the run's rule updates will meet). 21 pings, 2 ms apart.
    lab.wait_ready("src", ready)?;
    let rtts = lab.ping("sw", 21)?;
    let control_rtt_ns = rtts[rtts.len() / 2];
    // Calibration runs only: the plain forwarding run (the 100,000 pps test) stays as it was.
    // Under traffic for SHarP's and OpenNF's calibration. (The reroute's takes it once the
    // source is done, below: the burst holds the switch's loop for some ms, which delayed
    // the packets behind it and doubled the path delay this run measures.)
    let mut control_msg_ns = if calibrating && nf.is_some() {
        lab.ping_burst("sw", CONTROL_BURST)? / CONTROL_BURST as u64
    } else {
        0
    };
    // The reroute's calibration: rule updates on the switch host and the run's timer, both
    // under the traffic. (The update times come back in the switch's report.)
    let timer_late_ns = if calibrating && nf.is_none() {
        lab.flowmods("sw", CALIBRATION_RULES)?;
        let late = lab.timer_lateness(TIMER_PROBE, CALIBRATION_RULES);
        late.get(late.len() / 2).copied().unwrap_or(0)
    } else {
        0
    };
    // The source's own run time plus generous slack for a loaded machine.
    let budget = Duration::from_nanos(plan.count * 1_000_000_000 / plan.rate_pps.max(1))
        + Duration::from_secs(60);
    let source = lab.wait_exit("src", budget)?;
    // Let the last frames drain through the switch.
    lab.sleep(Duration::from_millis(500))?;
    if calibrating && nf.is_none() {
        control_msg_ns = lab.ping_burst("sw", CONTROL_BURST)? / CONTROL_BURST as u64;
    }
    let kernel = lab.kernel_link_stats();
    let switch = lab.stop("sw", Duration::from_secs(10))?;
    let nf_report =
        if nf.is_some() { lab.stop("nf", Duration::from_secs(10))? } else { Report::default() };
    let sink = lab.stop("sink", Duration::from_secs(10))?;
    drop(lab);
    let sent = source.get("sent").unwrap_or(0);
    let unique = sink.get("unique").unwrap_or(0);
    let flowmod_ns = if calibrating && nf.is_none() {
        switch.get("flowmods_done_median_ns").unwrap_or(0)
    } else {
        0
    };
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
        nf: nf_report,
        hops: if nf.is_some() { 3 } else { 2 },
        control_rtt_ns,
        control_msg_ns,
        flowmod_ns,
        timer_late_ns,
        kernel,
    })
}
