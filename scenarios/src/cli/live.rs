//! `nftwin live FILE`: a live scenario on DPDK hosts in network namespaces (`live-bridge`).
//!
//! A live file is small TOML (`scenarios/live/*.toml`, described in docs/live.md) of one of
//! two kinds: `forward` (sustained forwarding through a DPDK switch host) and `reroute` (the
//! `models` controller moves the traffic to another switch port halfway; its log goes to
//! `--out`, for `nftwin replay`). The run always tears down what it built, also on Ctrl-C and
//! when a host crashes. Exit status: 0 when nothing was lost or duplicated (and, for
//! `forward`, nothing reordered), 3 otherwise, 2 for bad input or a failed run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use live_bridge::forward::{self, ForwardPlan, ForwardResult, NfCalibration};
use live_bridge::opennf::OpenNfPlan;
use live_bridge::reroute::{self, ReroutePlan};
use live_bridge::roles::Busy;
use live_bridge::sharp::SharpPlan;
use scenarios::live_compare::{
    self, LiveMetrics, OpenNfMetrics, OpenNfTwinParams, SharpMetrics, SharpTwinParams, TwinParams,
};
use serde::Deserialize;

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// A live scenario (TOML; see docs/live.md and scenarios/live/).
    pub file: PathBuf,
    /// The host binary (default: `nftwin-host` beside this `nftwin`).
    #[arg(long)]
    pub host_bin: Option<PathBuf>,
    /// Where the controller's log goes (`reroute`): `<out>/controller.log`.
    #[arg(long, default_value = "live-out")]
    pub out: PathBuf,
    /// Calibrate, run live and in the twin, print both side by side with a verdict
    /// (`reroute`, `sharp`, `opennf`).
    #[arg(long)]
    pub compare: bool,
    /// Allowed relative difference for timing metrics in `--compare`.
    #[arg(long, default_value_t = 0.25)]
    pub tolerance: f64,
    /// Multiply the calibrated control latency given to the twin (a deliberately wrong twin
    /// shows that the comparison can fail).
    #[arg(long, default_value_t = 1.0)]
    pub twin_control_scale: f64,
    /// `sharp`, `opennf`: give the twin no per-packet host cost (the calibrated switch and NF
    /// hosts' own time per packet is left out), to see what it changes.
    #[arg(long)]
    pub no_host_cost: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A controller log written by `nftwin live` (`<out>/controller.log`).
    pub log: PathBuf,
}

/// `nftwin replay LOG`: exit 0 when every output matches, 3 at the first that does not.
pub fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.log)
        .with_context(|| format!("cannot read {}", args.log.display()))?;
    match live_bridge::replay::replay(&text) {
        Ok(s) => {
            println!(
                "{}: replayed {} inputs and {} timeouts; all {} outputs identical to the log",
                args.log.display(),
                s.inputs,
                s.timeouts,
                s.outputs
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(
            e @ (live_bridge::replay::ReplayError::Mismatch { .. }
            | live_bridge::replay::ReplayError::Extra { .. }),
        ) => {
            eprintln!("{}: replay differs: {e}", args.log.display());
            Ok(ExitCode::from(3))
        }
        Err(e) => bail!("{}: {e}", args.log.display()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveFile {
    live: LiveSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveSpec {
    kind: String,
    rate_pps: u64,
    seconds: u64,
    #[serde(default = "one")]
    flows: u64,
    #[serde(default = "default_size")]
    size_bytes: u32,
    /// `sharp`: section IV-B's artificial delay before the VNFs' state transfer.
    #[serde(default)]
    transfer_delay_ms: Option<u64>,
    /// `sharp`: the detection entry's idle timeout (default: the twin's 15 ms).
    #[serde(default)]
    max_silence_ms: Option<u64>,
    /// `sharp`: the VNFs' time per packet (default 10 us, as the twin's testbed).
    #[serde(default)]
    service_us: Option<u64>,
    /// `sharp`: how long an idle host naps between polls (default 50 us).
    #[serde(default)]
    idle_us: Option<u64>,
    /// `--compare`: allowed relative difference of the timing metrics (default 25%).
    #[serde(default)]
    tolerance: Option<f64>,
}

fn one() -> u64 {
    1
}
fn default_size() -> u32 {
    128
}

pub fn run(args: LiveArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let spec = parse(&args.file, &text)?;
    let host_bin = host_binary(args.host_bin.clone())?;
    live_bridge::sys::catch_stop_signals();
    // The controller (this process) runs at the hosts' real-time priority, for the same
    // reason they do (docs/live.md, "Scheduling"); set before the lab starts its threads.
    if live_bridge::sys::is_root() {
        if let Err(e) = live_bridge::sys::set_realtime(live_bridge::lab::HOST_RT_PRIORITY as i32) {
            eprintln!(
                "live: could not raise the controller to SCHED_RR ({e}); timings will be noisier"
            );
        }
    }
    if spec.kind == "reroute" {
        return run_reroute(&host_bin, &spec, &args);
    }
    if spec.kind == "sharp" {
        return run_sharp(&host_bin, &spec, &args);
    }
    if spec.kind == "opennf" {
        return run_opennf(&host_bin, &spec, &args);
    }
    if args.compare {
        bail!("--compare needs a live file of kind `reroute`, `sharp` or `opennf` (the forward kind has no twin counterpart yet)");
    }
    let plan = ForwardPlan {
        rate_pps: spec.rate_pps,
        count: spec.rate_pps * spec.seconds,
        flows: spec.flows,
        size_bytes: spec.size_bytes,
    };
    eprintln!(
        "live: forwarding {} packets at {} pps ({} flows, {} bytes) through a DPDK switch host",
        plan.count, plan.rate_pps, plan.flows, plan.size_bytes
    );
    let r = forward::run(&host_bin, plan).map_err(|e| anyhow!("live run failed: {e}"))?;
    let secs = r.send_ns as f64 / 1e9;
    let per_pkt = |rep: &live_bridge::roles::Report| rep.get("cpu_ns").unwrap_or(0) / r.sent.max(1);
    println!("metric                   value");
    println!("sent_pkts                {}", r.sent);
    println!("received_pkts            {}", r.unique);
    println!("lost_pkts                {}", r.lost);
    println!("reordered_pkts           {}", r.reordered);
    println!("duplicate_pkts           {}", r.duplicates);
    println!("achieved_pps             {:.0}", r.sent as f64 / secs.max(1e-9));
    println!("delay_mean_us            {:.1}", r.delay_mean_ns as f64 / 1e3);
    println!("delay_max_us             {:.1}", r.delay_max_ns as f64 / 1e3);
    println!("cpu_source_ns_per_pkt    {}", per_pkt(&r.source));
    println!("cpu_switch_ns_per_pkt    {}", per_pkt(&r.switch));
    println!("cpu_sink_ns_per_pkt      {}", per_pkt(&r.sink));
    eprintln!("source: {}\nswitch: {}\nsink:   {}", r.source, r.switch, r.sink);
    let ok = r.lost == 0 && r.reordered == 0 && r.duplicates == 0;
    println!("verdict                  {}", if ok { "loss-free" } else { "LOSS" });
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

fn run_reroute(host_bin: &Path, spec: &LiveSpec, args: &LiveArgs) -> Result<ExitCode> {
    let out = args.out.as_path();
    // Calibration first: a forwarding run of a second at the same rate gives the path's
    // one-way delay, the control channel's round trip and time per message, the switch
    // host's time per packet and per rule update, and the run thread's timer lateness.
    let calibration = if args.compare {
        let cal = forward::calibrate(
            host_bin,
            ForwardPlan {
                rate_pps: spec.rate_pps,
                count: spec.rate_pps,
                flows: spec.flows,
                size_bytes: spec.size_bytes,
            },
        )
        .map_err(|e| anyhow!("calibration run failed: {e}"))?;
        eprintln!(
            "calibration: control round trip {} us (median of 21), path delay mean {} us, \
             channel {} us a message in a burst, rule update {} us on the switch host \
             (median of {}), timer {} us late (median), switch host {} ns a packet",
            cal.control_rtt_ns / 1000,
            cal.delay_mean_ns / 1000,
            cal.control_msg_ns / 1000,
            cal.flowmod_ns / 1000,
            forward::CALIBRATION_RULES,
            cal.timer_late_ns / 1000,
            Busy::per_pkt_ns(&cal.switch).unwrap_or(0)
        );
        Some(cal)
    } else {
        None
    };
    let plan = ReroutePlan {
        rate_pps: spec.rate_pps,
        count: spec.rate_pps * spec.seconds,
        flows: spec.flows,
        size_bytes: spec.size_bytes,
    };
    eprintln!(
        "live: {} packets at {} pps ({} flows); the controller reroutes them halfway",
        plan.count, plan.rate_pps, plan.flows
    );
    let r = reroute::run(host_bin, plan).map_err(|e| anyhow!("live run failed: {e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let log = out.join("controller.log");
    let tmp = out.join("controller.log.tmp");
    std::fs::write(&tmp, &r.controller_log)
        .and_then(|()| std::fs::rename(&tmp, &log))
        .with_context(|| format!("cannot write {}", log.display()))?;
    println!("metric                   value");
    println!("sent_pkts                {}", r.sent);
    println!("received_pkts            {}", r.unique);
    println!("lost_pkts                {}", r.lost);
    println!("duplicate_pkts           {}", r.duplicates);
    println!("reordered_pkts           {}", r.reordered);
    println!("via_old_port_pkts        {}", r.via_old);
    println!("via_new_port_pkts        {}", r.via_new);
    match r.handover_ns {
        Some(ns) => println!("handover_us              {:.1}", ns as f64 / 1e3),
        None => println!("handover_us              (the move did not finish)"),
    }
    println!("delay_max_us             {:.1}", r.delay_max_ns as f64 / 1e3);
    println!("controller_log           {}", log.display());
    eprintln!("source: {}\nswitch: {}\nsink:   {}", r.source, r.switch, r.sink);
    print_event_waits(&r.event_waits);
    if let Some((to_send, send)) = r.flowmods_send_lag_ns {
        eprintln!(
            "controller: its FlowMods were handed to the channel {} us after the timer run; the send took {} us",
            to_send / 1000,
            send / 1000
        );
    }
    let ok = r.lost == 0 && r.duplicates == 0 && r.handover_ns.is_some();
    println!("verdict                  {}", if ok { "loss-free" } else { "LOSS or unfinished" });
    let Some(cal) = calibration else {
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(3) });
    };
    let params = TwinParams {
        rate_pps: spec.rate_pps,
        seconds: spec.seconds,
        flows: spec.flows,
        size_bytes: spec.size_bytes,
        control_latency_ns: (cal.control_rtt_ns as f64 / 2.0 * args.twin_control_scale) as u64,
        path_delay_ns: cal.delay_mean_ns,
        switch_cost_ns: host_cost(&cal.switch, args),
        per_msg_ns: live_compare::reroute_per_msg_ns(cal.control_msg_ns, cal.timer_late_ns),
        per_rule_ns: match cal.flowmod_ns {
            0 => live_compare::E2_SOFTWARE_PER_RULE_NS,
            n => n,
        },
    };
    let twin = live_compare::run_twin(&params, out)?;
    let live = LiveMetrics {
        lost_pkts: r.lost as f64,
        duplicate_pkts: r.duplicates as f64,
        handover_ms: r.handover_ns.map_or(f64::NAN, |n| n as f64 / 1e6),
        mean_delay_us: r.sink.get("delay_mean_ns").unwrap_or(0) as f64 / 1e3,
        controller_buffer_peak_pkts: f64::from(r.controller_buffer_peak_pkts),
    };
    let rows = live_compare::compare(&live, &twin, args.tolerance);
    println!();
    println!(
        "twin parameters: control_latency {} us, per_msg {} us, per_rule {} us, path delay {} us, switch host {} ns/pkt (scenario: {})",
        params.control_latency_ns / 1000,
        params.per_msg_ns / 1000,
        params.per_rule_ns / 1000,
        params.path_delay_ns / 1000,
        params.switch_cost_ns,
        out.join("live-twin.toml").display()
    );
    print!("{}", live_compare::table(&rows));
    let agree = rows.iter().all(|r| r.ok);
    Ok(if ok && agree { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

fn run_sharp(host_bin: &Path, spec: &LiveSpec, args: &LiveArgs) -> Result<ExitCode> {
    let out = args.out.as_path();
    let plan = SharpPlan {
        rate_pps: spec.rate_pps,
        count: spec.rate_pps * spec.seconds,
        size_bytes: spec.size_bytes,
        transfer_delay_ns: spec.transfer_delay_ms.unwrap_or(100) * 1_000_000,
        max_silence_ns: spec.max_silence_ms.unwrap_or(15) * 1_000_000,
        service_ns: spec.service_us.unwrap_or(10) * 1_000,
        idle_us: spec.idle_us.unwrap_or(50),
    };
    // Calibration first (for --compare): a second of forwarding at the same rate through a
    // switch host and an NF host gives a hop's one-way delay, the control channel's round trip
    // to a switch host and both hosts' own time per packet.
    let calibration = if args.compare {
        Some(calibrate_through_nf(host_bin, spec, 1, plan.idle_us)?)
    } else {
        None
    };
    eprintln!(
        "live: SHarP testbed, {} packets each way at {} pps, handed over from vnf1 to vnfn halfway ({} ms state transfer)",
        plan.count,
        plan.rate_pps,
        plan.transfer_delay_ns / 1_000_000
    );
    let r = live_bridge::sharp::run(host_bin, plan).map_err(|e| anyhow!("live run failed: {e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let log = out.join("controller.log");
    let tmp = out.join("controller.log.tmp");
    std::fs::write(&tmp, &r.controller_log)
        .and_then(|()| std::fs::rename(&tmp, &log))
        .with_context(|| format!("cannot write {}", log.display()))?;
    println!("metric                       value");
    println!("sent_pkts (h1 -> h2)         {}", r.sent);
    println!("answered_pkts (h2 -> h1)     {}", r.answered);
    println!("lost_pkts                    {}", r.lost);
    println!("duplicate_pkts               {}", r.duplicates);
    println!("reordered_pkts               {}", r.reordered);
    println!("lost_updates                 {}", r.lost_updates);
    println!("reordered_updates            {}", r.reordered_updates);
    println!("duplicate_updates            {}", r.duplicate_updates);
    match r.handover_ns {
        Some(ns) => println!("handover_ms                  {:.3}", ns as f64 / 1e6),
        None => println!("handover_ms                  (the handover did not finish)"),
    }
    println!("delay_max_ms (h1 -> h2)      {:.3}", r.delay_max_ns as f64 / 1e6);
    println!("rtt_max_ms (at h1)           {:.3}", r.rtt_max_ns as f64 / 1e6);
    println!("controller_buffer_peak_pkts  {}", r.controller_buffer_peak_pkts);
    println!("vnf_buffer_peak_pkts         {}", r.vnf_buffer_peak_pkts);
    println!("controller_log               {}", log.display());
    if let Some(f) = &r.failed {
        println!("failed                       {f}");
    }
    for (n, rep) in [
        ("h1", &r.h1),
        ("ingr", &r.ingr),
        ("vnf1", &r.vnf1),
        ("vnfn", &r.vnfn),
        ("egr", &r.egr),
        ("h2", &r.h2),
    ] {
        eprintln!("{n}: {rep}");
    }
    print_event_waits(&r.event_waits);
    let ok = r.lost == 0
        && r.duplicates == 0
        && r.reordered == 0
        && r.lost_updates == 0
        && r.reordered_updates == 0
        && r.duplicate_updates == 0
        && r.controller_drops == 0
        && r.handover_ns.is_some()
        && r.failed.is_none();
    println!(
        "verdict                      {}",
        if ok { "loss-free, order-preserving" } else { "VIOLATION or unfinished" }
    );
    let Some(cal) = calibration else {
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(3) });
    };
    let params = SharpTwinParams {
        rate_pps: plan.rate_pps,
        count: plan.count,
        size_bytes: plan.size_bytes,
        transfer_delay_ns: plan.transfer_delay_ns,
        max_silence_ns: plan.max_silence_ns,
        service_ns: plan.service_ns,
        // Half the median control round trip to the switch hosts under the run's own
        // traffic, before the move (SharpResult::control_rtt_ns); the calibration's if the
        // run was too short to measure it.
        control_latency_ns: (sharp_rtt(&r, &cal) as f64 / 2.0 * args.twin_control_scale) as u64,
        hop_delay_ns: cal.delay_mean_ns / cal.hops.max(1),
        switch_cost_ns: host_cost(&cal.switch, args),
        nf_cost_ns: host_cost(&cal.nf, args),
        per_msg_ns: live_compare::per_msg_ns(cal.control_msg_ns),
    };
    eprintln!(
        "control round trip to the switch hosts: {} us in the run before the move, {} us in the calibration",
        r.control_rtt_ns / 1000,
        cal.control_rtt_ns / 1000
    );
    let twin = live_compare::run_sharp_twin(&params, out)?;
    let live = SharpMetrics {
        lost_pkts: r.lost as f64,
        duplicate_pkts: r.duplicates as f64,
        reordered_updates: r.reordered_updates as f64,
        lost_updates: r.lost_updates as f64,
        handover_ms: r.handover_ns.map_or(f64::NAN, |n| n as f64 / 1e6),
        max_delay_ms: r.delay_max_ns as f64 / 1e6,
        controller_buffer_peak_pkts: f64::from(r.controller_buffer_peak_pkts),
        vnf_buffer_peak_pkts: r.vnf_buffer_peak_pkts as f64,
    };
    let tolerance = spec.tolerance.unwrap_or(args.tolerance);
    let rows = live_compare::compare_sharp(&live, &twin, tolerance);
    println!();
    println!(
        "twin parameters: control_latency {} us, per_msg {} us, hop delay {} us, switch host {} ns/pkt, NF host {} ns/pkt (scenario: {})",
        params.control_latency_ns / 1000,
        params.per_msg_ns / 1000,
        params.hop_delay_ns / 1000,
        params.switch_cost_ns,
        params.nf_cost_ns,
        out.join("live-twin.toml").display()
    );
    print!("{}", live_compare::table(&rows));
    let agree = rows.iter().all(|r| r.ok);
    Ok(if ok && agree { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

/// The calibration of a twin whose packets cross switch and NF hosts: a second of the live
/// file's traffic through source, switch, NF (`service_ns`, `--idle-us idle_us`) and sink.
fn calibrate_through_nf(
    host_bin: &Path,
    spec: &LiveSpec,
    service_ns: u64,
    idle_us: u64,
) -> Result<ForwardResult> {
    let cal = forward::run_through_nf(
        host_bin,
        ForwardPlan {
            rate_pps: spec.rate_pps,
            count: spec.rate_pps,
            flows: spec.flows,
            size_bytes: spec.size_bytes,
        },
        NfCalibration { service_ns, idle_us },
    )
    .map_err(|e| anyhow!("calibration run failed: {e}"))?;
    eprintln!(
        "calibration: control round trip {} us (median of 21), {} us a message in a burst of {}, \
         path delay mean {} us over {} links, switch host {} ns/pkt, NF host {} ns/pkt (busy time \
         per packet), lost {}",
        cal.control_rtt_ns / 1000,
        cal.control_msg_ns / 1000,
        forward::CONTROL_BURST,
        cal.delay_mean_ns / 1000,
        cal.hops,
        Busy::per_pkt_ns(&cal.switch).unwrap_or(0),
        Busy::per_pkt_ns(&cal.nf).unwrap_or(0),
        cal.lost
    );
    Ok(cal)
}

/// The SHarP twin's control round trip: the one measured in the run, else the calibration's.
fn sharp_rtt(r: &live_bridge::sharp::SharpResult, cal: &ForwardResult) -> u64 {
    if r.control_rtt_ns > 0 {
        r.control_rtt_ns
    } else {
        cal.control_rtt_ns
    }
}

/// Where each host's events to the controller waited (stderr; docs/live.md).
fn print_event_waits(w: &std::collections::BTreeMap<String, live_bridge::control::Waits>) {
    for (h, w) in w.iter().filter(|(_, w)| w.n > 0) {
        eprintln!(
            "events from {h}: {}, on the way {} us mean / {} us max, in the run {} us mean / {} us max",
            w.n,
            w.transit_sum / w.n / 1000,
            w.transit_max / 1000,
            w.queue_sum / w.n / 1000,
            w.queue_max / 1000
        );
    }
}

/// A calibrated host's own time per packet for the twin (0 with `--no-host-cost`).
fn host_cost(report: &live_bridge::roles::Report, args: &LiveArgs) -> u64 {
    if args.no_host_cost {
        0
    } else {
        Busy::per_pkt_ns(report).unwrap_or(0)
    }
}

fn run_opennf(host_bin: &Path, spec: &LiveSpec, args: &LiveArgs) -> Result<ExitCode> {
    let out = args.out.as_path();
    let plan = OpenNfPlan {
        rate_pps: spec.rate_pps,
        count: spec.rate_pps * spec.seconds,
        flows: spec.flows,
        size_bytes: spec.size_bytes,
        idle_us: spec.idle_us.unwrap_or(50),
    };
    let calibration = if args.compare {
        Some(calibrate_through_nf(host_bin, spec, 1, plan.idle_us)?)
    } else {
        None
    };
    eprintln!(
        "live: {} packets at {} pps ({} flows) through nf1; OpenNF moves every flow to nf2 halfway (loss-free)",
        plan.count, plan.rate_pps, plan.flows
    );
    let r =
        live_bridge::opennf::run(host_bin, plan).map_err(|e| anyhow!("live run failed: {e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let log = out.join("controller.log");
    let tmp = out.join("controller.log.tmp");
    std::fs::write(&tmp, &r.controller_log)
        .and_then(|()| std::fs::rename(&tmp, &log))
        .with_context(|| format!("cannot write {}", log.display()))?;
    println!("metric                       value");
    println!("sent_pkts                    {}", r.sent);
    println!("received_pkts                {}", r.unique);
    println!("lost_pkts                    {}", r.lost);
    println!("duplicate_pkts               {}", r.duplicates);
    println!("reordered_pkts               {}", r.reordered);
    println!("lost_updates                 {}", r.lost_updates);
    println!("reordered_updates            {}", r.reordered_updates);
    println!("duplicate_updates            {}", r.duplicate_updates);
    println!("flows_moved                  {}", r.flows_moved);
    match r.move_ns {
        Some(ns) => println!("move_ms                      {:.3}", ns as f64 / 1e6),
        None => println!("move_ms                      (the move did not finish)"),
    }
    println!("delay_max_ms                 {:.3}", r.delay_max_ns as f64 / 1e6);
    println!("controller_buffer_peak_pkts  {}", r.controller_buffer_peak_pkts);
    println!("controller_log               {}", log.display());
    if let Some(f) = &r.failed {
        println!("failed                       {f}");
    }
    for (n, rep) in [
        ("source", &r.source),
        ("sw", &r.switch),
        ("nf1", &r.nf1),
        ("nf2", &r.nf2),
        ("sink", &r.sink),
    ] {
        eprintln!("{n}: {rep}");
    }
    let ok = r.lost == 0
        && r.duplicates == 0
        && r.lost_updates == 0
        && r.controller_drops == 0
        && r.move_ns.is_some()
        && r.failed.is_none();
    println!(
        "verdict                      {}",
        if ok { "loss-free" } else { "VIOLATION or unfinished" }
    );
    let Some(cal) = calibration else {
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(3) });
    };
    // The NF hosts' parameters are live_bridge::opennf's (the twin's defaults).
    let params = OpenNfTwinParams {
        rate_pps: plan.rate_pps,
        count: plan.count,
        flows: plan.flows,
        size_bytes: plan.size_bytes,
        service_ns: live_bridge::opennf::NF_SERVICE_NS,
        queue: live_bridge::opennf::NF_QUEUE,
        state_bytes: live_bridge::opennf::NF_STATE_BYTES,
        control_latency_ns: (cal.control_rtt_ns as f64 / 2.0 * args.twin_control_scale) as u64,
        hop_delay_ns: cal.delay_mean_ns / cal.hops.max(1),
        switch_cost_ns: host_cost(&cal.switch, args),
        nf_cost_ns: host_cost(&cal.nf, args),
        per_msg_ns: live_compare::per_msg_ns(cal.control_msg_ns),
    };
    let twin = live_compare::run_opennf_twin(&params, out)?;
    let live = OpenNfMetrics {
        lost_pkts: r.lost as f64,
        duplicate_pkts: r.duplicates as f64,
        lost_updates: r.lost_updates as f64,
        move_ms: r.move_ns.map_or(f64::NAN, |n| n as f64 / 1e6),
        max_delay_ms: r.delay_max_ns as f64 / 1e6,
        controller_buffer_peak_pkts: f64::from(r.controller_buffer_peak_pkts),
    };
    let tolerance = spec.tolerance.unwrap_or(args.tolerance);
    let rows = live_compare::compare_opennf(&live, &twin, tolerance);
    println!();
    println!(
        "twin parameters: control_latency {} us, per_msg {} us, hop delay {} us, switch host {} ns/pkt, NF host {} ns/pkt (scenario: {})",
        params.control_latency_ns / 1000,
        params.per_msg_ns / 1000,
        params.hop_delay_ns / 1000,
        params.switch_cost_ns,
        params.nf_cost_ns,
        out.join("live-twin.toml").display()
    );
    print!("{}", live_compare::table(&rows));
    let agree = rows.iter().all(|r| r.ok);
    Ok(if ok && agree { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

fn parse(file: &Path, text: &str) -> Result<LiveSpec> {
    let f: LiveFile = toml::from_str(text).map_err(|e| {
        let (line, col) =
            e.span().map_or((1, 1), |s| scenarios::spec::error::line_col(text, s.start));
        anyhow!("{}:{line}:{col}: error: {}", file.display(), e.message())
    })?;
    let s = f.live;
    let at = |key: &str| {
        let off = text.find(key).unwrap_or(0);
        let (l, c) = scenarios::spec::error::line_col(text, off);
        format!("{}:{l}:{c}", file.display())
    };
    if !["forward", "reroute", "sharp", "opennf"].contains(&s.kind.as_str()) {
        bail!(
            "{}: error: unknown live kind `{}`\nhelp: the kinds are: forward, reroute, sharp, opennf",
            at("kind"),
            s.kind
        );
    }
    if s.rate_pps == 0 || s.seconds == 0 || s.flows == 0 {
        bail!(
            "{}: error: rate_pps, seconds and flows must be at least 1\nhelp: e.g. rate_pps = 100000, seconds = 10, flows = 100",
            at("[live]")
        );
    }
    Ok(s)
}

/// `nftwin-host` beside this executable, unless given.
fn host_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    let p = match given {
        Some(p) => p,
        None => std::env::current_exe()
            .context("cannot find this executable's folder")?
            .with_file_name("nftwin-host"),
    };
    if !p.exists() {
        bail!(
            "no host binary at {}\nhelp: build it with `cargo build --release -p live-bridge --features dpdk` (needs `apt-get install libdpdk-dev pkg-config`)",
            p.display()
        );
    }
    Ok(p)
}
