//! `nftwin live --compare` on real DPDK hosts: the correctness rows agree, and a twin given ten
//! times the calibrated control latency fails the verdict on the handover.
//!
//! Needs root and a DPDK-built host binary: `NFTWIN_HOST` or `target/release/nftwin-host`
//! from `cargo build --release -p live-bridge --features dpdk` (CI runs it after the live
//! tests). Otherwise it prints why it skips.

use std::path::PathBuf;

use live_bridge::forward::{self, ForwardPlan};
use live_bridge::lab::LabError;
use live_bridge::reroute::{self, ReroutePlan};
use scenarios::live_compare::{compare, run_twin, LiveMetrics, TwinParams};

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

#[test]
fn a_twin_with_ten_times_the_control_latency_fails_against_the_live_run() {
    let Some(bin) = host_bin() else { return };
    let (rate, secs, flows) = (10_000, 2, 50);
    let cal = match forward::run(
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
    };
    let right = compare(&m, &run_twin(&params(1), &dir).expect("twin"), 0.25);
    let wrong = compare(&m, &run_twin(&params(10), &dir).expect("twin"), 0.25);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    eprintln!("calibrated twin: {right:?}\ntwin at 10x control latency: {wrong:?}");
    let row = |rows: &[scenarios::live_compare::Row], k: &str| {
        rows.iter().find(|r| r.metric == k).expect("row").clone()
    };
    for k in ["lost_pkts", "duplicate_pkts", "controller_buffer_peak_pkts"] {
        assert!(row(&right, k).ok, "{k} agrees exactly");
    }
    assert!(!row(&wrong, "handover_ms").ok, "ten times the control latency is found");
}
