//! `nftwin live --compare` on real DPDK hosts (reroute, SHarP, OpenNF): the correctness rows
//! agree, and a twin given a wrong control latency (a hundred times the calibrated one for reroute,
//! 40 ms a trip for SHarP and OpenNF) fails the verdict on the handover or move.
//!
//! Needs root and a DPDK-built host binary: `NFTWIN_HOST` or `target/release/nftwin-host`
//! from `cargo build --release -p live-bridge --features dpdk` (CI runs it after the live
//! tests). Otherwise it prints why it skips.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use live_bridge::forward::{self, ForwardPlan};
use live_bridge::lab::LabError;
use live_bridge::reroute::{self, ReroutePlan};
use scenarios::live_compare::{compare, run_twin, LiveMetrics, TwinParams};

/// One lab at a time: the hosts busy-poll, and two labs on two cores slow each other's live
/// run by up to ten times (CI once saw a 6.2 ms reroute beside a SHarP lab, 0.4-0.5 ms alone),
/// which no twin is meant to model. Held by each test, whatever `--test-threads` is.
static ONE_LAB: Mutex<()> = Mutex::new(());

fn one_lab() -> MutexGuard<'static, ()> {
    ONE_LAB.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn host_bin() -> Option<PathBuf> {
    if !live_bridge::sys::is_root() {
        eprintln!("live_compare: skipped: not root");
        return None;
    }
    let p = std::env::var_os("NFTWIN_HOST").map(PathBuf::from).or_else(|| {
        // target/release/deps/<this test> -> target/release/nftwin-host
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.parent()?.join("nftwin-host"))
    })?;
    if !p.exists() {
        eprintln!("live_compare: skipped: no host binary at {} (cargo build --release -p live-bridge --features dpdk)", p.display());
        return None;
    }
    Some(p)
}

/// The wrong twin has a hundred times the calibrated control latency (65 ms a handover in one run):
/// at ten times (2.8-5.6 ms) a live run slowed by a busy machine (2.5 ms once, 6.2 ms beside
/// another lab) could land within the tolerance.
#[test]
fn a_twin_with_a_hundred_times_the_control_latency_fails_against_the_live_run() {
    let Some(bin) = host_bin() else { return };
    let _lab = one_lab();
    let (rate, secs, flows) = (10_000, 2, 50);
    let cal = match forward::calibrate(
        &bin,
        ForwardPlan { rate_pps: rate, count: rate, flows, size_bytes: 128 },
    ) {
        Err(LabError::NoDpdk) => {
            eprintln!("live_compare: skipped: the host binary was built without `dpdk`");
            return;
        }
        r => r.expect("calibration run"),
    };
    let live = reroute::run(
        &bin,
        ReroutePlan { rate_pps: rate, count: rate * secs, flows, size_bytes: 128 },
    )
    .expect("live reroute");
    let m = LiveMetrics {
        lost_pkts: live.lost as f64,
        duplicate_pkts: live.duplicates as f64,
        handover_ms: live.handover_ns.expect("the move finished") as f64 / 1e6,
        mean_delay_us: live.sink.get("delay_mean_ns").unwrap_or(0) as f64 / 1e3,
        controller_buffer_peak_pkts: f64::from(live.controller_buffer_peak_pkts),
    };
    let dir = std::env::temp_dir().join(format!("nftwin-live-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let params = |scale: u64| TwinParams {
        rate_pps: rate,
        seconds: secs,
        flows,
        size_bytes: 128,
        control_latency_ns: cal.control_rtt_ns / 2 * scale,
        path_delay_ns: cal.delay_mean_ns,
        switch_cost_ns: live_bridge::roles::Busy::per_pkt_ns(&cal.switch).unwrap_or(0),
        per_msg_ns: scenarios::live_compare::reroute_per_msg_ns(
            cal.control_msg_ns,
            cal.timer_late_ns,
        ),
        per_rule_ns: cal.flowmod_ns.max(1),
    };
    let right = compare(&m, &run_twin(&params(1), &dir).expect("twin"), 0.25);
    let wrong = compare(&m, &run_twin(&params(100), &dir).expect("twin"), 0.25);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    eprintln!("calibrated twin: {right:?}\ntwin at 100x control latency: {wrong:?}");
    let row = |rows: &[scenarios::live_compare::Row], k: &str| {
        rows.iter().find(|r| r.metric == k).expect("row").clone()
    };
    for k in ["lost_pkts", "duplicate_pkts", "controller_buffer_peak_pkts"] {
        assert!(row(&right, k).ok, "{k} agrees exactly");
    }
    assert!(!row(&wrong, "handover_ms").ok, "a hundred times the control latency is found");
}

/// SHarP live at 1,000 pps against its twin: the correctness rows agree exactly (all zero),
/// and a twin whose control channel is slow enough to matter (40 ms a trip; ten times the
/// calibrated ~0.1 ms moves a 117 ms handover by a few ms only) fails the handover row. At
/// 20 ms a trip (twin 295 ms) a live run slowed by a loaded machine (220 ms once, beside three
/// builds) came within the 25% tolerance; 40 ms a trip leaves a wider margin.
#[test]
fn sharp_live_agrees_on_correctness_and_a_wrong_twin_fails_the_verdict() {
    use live_bridge::sharp::{self, SharpPlan};
    use scenarios::live_compare::{compare_sharp, run_sharp_twin, SharpMetrics, SharpTwinParams};
    let Some(bin) = host_bin() else { return };
    let _lab = one_lab();
    // The controller at the hosts' priority, as `nftwin live` runs it (docs/live.md).
    live_bridge::sys::set_realtime(live_bridge::lab::HOST_RT_PRIORITY as i32)
        .expect("SCHED_RR as root");
    // As `nftwin live --compare`: through a switch host and an NF host, naps as the run's.
    let cal = match forward::run_through_nf(
        &bin,
        ForwardPlan { rate_pps: 1000, count: 1000, flows: 1, size_bytes: 128 },
        forward::NfCalibration { service_ns: 1, idle_us: 200 },
    ) {
        Err(LabError::NoDpdk) => {
            eprintln!("live_compare: skipped: the host binary was built without `dpdk`");
            return;
        }
        r => r.expect("calibration run"),
    };
    let plan = SharpPlan {
        rate_pps: 1000,
        count: 2000,
        size_bytes: 128,
        transfer_delay_ns: 100_000_000,
        max_silence_ns: 15_000_000,
        service_ns: 10_000,
        idle_us: 200,
    };
    let r = sharp::run(&bin, plan).expect("live SHarP");
    let live = SharpMetrics {
        lost_pkts: r.lost as f64,
        duplicate_pkts: r.duplicates as f64,
        reordered_updates: r.reordered_updates as f64,
        lost_updates: r.lost_updates as f64,
        handover_ms: r.handover_ns.expect("the handover finished") as f64 / 1e6,
        max_delay_ms: r.delay_max_ns as f64 / 1e6,
        controller_buffer_peak_pkts: f64::from(r.controller_buffer_peak_pkts),
        vnf_buffer_peak_pkts: r.vnf_buffer_peak_pkts as f64,
    };
    let dir = std::env::temp_dir().join(format!("nftwin-live-sharp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let params = |control_latency_ns| SharpTwinParams {
        rate_pps: plan.rate_pps,
        count: plan.count,
        size_bytes: plan.size_bytes,
        transfer_delay_ns: plan.transfer_delay_ns,
        max_silence_ns: plan.max_silence_ns,
        service_ns: plan.service_ns,
        control_latency_ns,
        hop_delay_ns: cal.delay_mean_ns / cal.hops,
        switch_cost_ns: live_bridge::roles::Busy::per_pkt_ns(&cal.switch).unwrap_or(0),
        nf_cost_ns: live_bridge::roles::Busy::per_pkt_ns(&cal.nf).unwrap_or(0),
        per_msg_ns: scenarios::live_compare::per_msg_ns(cal.control_msg_ns),
    };
    let right = compare_sharp(
        &live,
        // As `nftwin live --compare`: the round trip measured in the run, before the move.
        &run_sharp_twin(&params(r.control_rtt_ns.max(1) / 2), &dir).expect("twin"),
        0.25,
    );
    let wrong =
        compare_sharp(&live, &run_sharp_twin(&params(40_000_000), &dir).expect("twin"), 0.25);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    eprintln!("calibrated twin: {right:?}\ntwin at 40 ms a control trip: {wrong:?}");
    let row = |rows: &[scenarios::live_compare::Row], k: &str| {
        rows.iter().find(|r| r.metric == k).expect("row").clone()
    };
    for k in ["lost_pkts", "duplicate_pkts", "reordered_updates", "lost_updates"] {
        let x = row(&right, k);
        assert!(x.ok && x.live == 0.0, "{k}: zero live and in the twin: {x:?}");
    }
    assert!(!row(&wrong, "handover_ms").ok, "the slow control channel is found");
}

/// OpenNF's loss-free move of 500 flows live against its twin (the shape of
/// `nftwin live scenarios/live/opennf-500.toml --compare`, 1 s instead of 2): lost and
/// duplicated packets and lost updates zero and equal; a twin whose control channel takes
/// 40 ms a trip (as the SHarP test's) fails the move row. The move's timing rows are printed,
/// not asserted (docs/live.md reports them).
#[test]
fn opennf_live_agrees_on_correctness_and_a_wrong_twin_fails_the_verdict() {
    use live_bridge::opennf::{self, OpenNfPlan};
    use scenarios::live_compare::{
        compare_opennf, run_opennf_twin, OpenNfMetrics, OpenNfTwinParams,
    };
    let Some(bin) = host_bin() else { return };
    let _lab = one_lab();
    live_bridge::sys::set_realtime(live_bridge::lab::HOST_RT_PRIORITY as i32)
        .expect("SCHED_RR as root");
    let plan = OpenNfPlan { rate_pps: 5000, count: 5000, flows: 500, size_bytes: 128, idle_us: 50 };
    let cal = match forward::run_through_nf(
        &bin,
        ForwardPlan {
            rate_pps: plan.rate_pps,
            count: plan.rate_pps,
            flows: plan.flows,
            size_bytes: 128,
        },
        forward::NfCalibration { service_ns: 1, idle_us: plan.idle_us },
    ) {
        Err(LabError::NoDpdk) => {
            eprintln!("live_compare: skipped: the host binary was built without `dpdk`");
            return;
        }
        r => r.expect("calibration run"),
    };
    let r = opennf::run(&bin, plan).expect("live OpenNF move");
    let live = OpenNfMetrics {
        lost_pkts: r.lost as f64,
        duplicate_pkts: r.duplicates as f64,
        lost_updates: r.lost_updates as f64,
        move_ms: r.move_ns.expect("the move finished") as f64 / 1e6,
        max_delay_ms: r.delay_max_ns as f64 / 1e6,
        controller_buffer_peak_pkts: f64::from(r.controller_buffer_peak_pkts),
    };
    let dir = std::env::temp_dir().join(format!("nftwin-live-opennf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let params = |control_latency_ns| OpenNfTwinParams {
        rate_pps: plan.rate_pps,
        count: plan.count,
        flows: plan.flows,
        size_bytes: plan.size_bytes,
        service_ns: opennf::NF_SERVICE_NS,
        queue: opennf::NF_QUEUE,
        state_bytes: opennf::NF_STATE_BYTES,
        control_latency_ns,
        hop_delay_ns: cal.delay_mean_ns / cal.hops,
        switch_cost_ns: live_bridge::roles::Busy::per_pkt_ns(&cal.switch).unwrap_or(0),
        nf_cost_ns: live_bridge::roles::Busy::per_pkt_ns(&cal.nf).unwrap_or(0),
        per_msg_ns: scenarios::live_compare::per_msg_ns(cal.control_msg_ns),
    };
    let right = compare_opennf(
        &live,
        &run_opennf_twin(&params(cal.control_rtt_ns / 2), &dir).expect("twin"),
        0.25,
    );
    let wrong =
        compare_opennf(&live, &run_opennf_twin(&params(40_000_000), &dir).expect("twin"), 0.25);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    eprintln!("calibrated twin: {right:?}\ntwin at 40 ms a control trip: {wrong:?}");
    let row = |rows: &[scenarios::live_compare::Row], k: &str| {
        rows.iter().find(|r| r.metric == k).expect("row").clone()
    };
    for k in ["lost_pkts", "duplicate_pkts", "lost_updates"] {
        let x = row(&right, k);
        assert!(x.ok && x.live == 0.0, "{k}: zero live and in the twin: {x:?}");
    }
    assert_eq!(r.flows_moved, plan.flows, "nf2 holds every flow's state");
    assert!(!row(&wrong, "move_ms").ok, "the slow control channel is found");
}
