//! The `sharp` target: SHarP (Peuster, Kuettner, Karl), Figures 4 to 8, on the paper's
//! Figure 1 testbed (`testkit::sharp_testbed`: two hosts, ingress and egress switch, two VNFs,
//! a bidirectional UDP flow with sequence numbers handed over from VNF1 to VNFn).
//!
//! - `sharp/fig4a`, `sharp/fig4b` (computed): packets processed at the controller during one
//!   handover, OpenNF (loss-free and order-preserving) vs SHarP, vs packet rate (10 KB of state) and vs state size
//!   (1000 pps). Series `OpenNF (formula)` / `SHarP (formula)`: section IV-A's `3N + 2R + C`
//!   and `2T + C` with the paper's inputs (a 70 ms handover, a 10 ms signalling period:
//!   `N` = state / 1000 B, `R` = rate x 70 ms, `T` = rate x 10 ms; `C` is our count of the
//!   constant messages of each protocol's sequence in the twin, see [`OPENNF_C`] and
//!   [`sharp_c`]). Series `OpenNF (sim)` / `SHarP (sim)`: the control-plane messages counted
//!   in a run of the twin on the testbed (one direction, so OpenNF's move covers the whole
//!   flow), a state chunk of `B` bytes counting as `ceil(B / 1000)` messages of 1000 bytes
//!   (the twin exports one chunk per flow). The OpenNF move lasts about 70 ms because its
//!   VNFs take [`OPENNF_EXPORT`] + [`OPENNF_IMPORT`] (ours, to match Fig. 4's 70 ms); SHarP's
//!   state transfer is given the same 60 ms ([`SHARP_FIG4_TRANSFER`]). Series `SHarP per-flow
//!   (sim)`: the same run with [`StartHo::PerFlow`].
//! - `sharp/fig5`, `sharp/fig6`: vs packet rate with 1000 B and 58 B packets, no state to move
//!   (Fig. 5b's "no state to be exchanged"): handover duration, maximum packet delay,
//!   controller buffer, VNF buffer, lost updates, reordered updates.
//! - `sharp/fig7`, `sharp/fig8`: vs state transfer duration 100..1000 ms at 1000 pps, 1000 B and
//!   58 B packets; the same six metrics. Series `OpenNF` on Fig. 7 (one direction, its VNFs'
//!   export taking the transfer duration) shows the controller buffer SHarP avoids.
//! - Figures 5-8 have two SHarP series ([`SERIES`]): `SHarP`, section III-C's order
//!   (`START_HO` once the detection phase is over, [`StartHo::AfterDetection`], the default),
//!   and `SHarP per-flow`, each flow handed over from its first packet-in
//!   ([`StartHo::PerFlow`], what Fig. 5b's discussion and the authors' prototype describe).
//!
//! One seed per point: the testbed has no random element (software switches, no loss), so more
//! seeds would give the same numbers; the paper's 100 repetitions average testbed noise we do
//! not model.

use base::Dur;
use models::nf::NfConfig;
use models::opennf::OpenNfConfig;
use models::oracle::Guarantee;
use models::sharp::StartHo;

use super::{Computed, Figure, FigureSpec, PlotKind, Point, SeedValues, Target};
use crate::config::{NodeKind, ScenarioConfig};
use crate::driver::run_once;
use crate::output::TidyRow;
use crate::testkit::{sharp_testbed, SharpTestbed};

pub const TARGET: Target = Target {
    name: "sharp",
    description: "SHarP Figures 4-8: controller load vs OpenNF, and handover duration, delay, \
                  buffers, loss and reordering vs packet rate and state transfer duration",
    figures,
    computed: Some(computed),
};

/// OpenNF's VNFs in Figure 4's runs: export and import per flow (ours: with the control
/// latency they make the move last about Fig. 4's 70 ms).
pub const OPENNF_EXPORT: Dur = Dur::from_millis(30);
pub const OPENNF_IMPORT: Dur = Dur::from_millis(30);
/// SHarP's state transfer in Figure 4's runs (the same 60 ms).
pub const SHARP_FIG4_TRANSFER: Dur = Dur::from_millis(60);

/// OpenNF's constant messages `C` for one flow (loss-free and order-preserving, parallelizing,
/// early release), as the twin sends them: getPerflow, perflowDone, the hold at dstInst, the
/// redirect rule and its done, the drain marker's packet-out and its event, the marker that
/// ends the hold and dstInst's report that it ended (`HoldEnded`: the move is over only then),
/// disableEvents, delPerflow, delDone.
pub const OPENNF_C: u64 = 12;

/// SHarP's constant messages `C` for `flows` detected flows on `sides` switches (one in-port
/// each), `active` of them with a detected flow, as the twin sends them: per side the
/// detection and forwarding entries (2) and their done, the detection entry's removal and
/// `BUFFER_END` (5 S); per active side the done of the redirect, of the end of
/// `BUFFER_FOLLOW_UP` and of the cleanup, the test packet's packet-out and its copy (5 S');
/// per flow the exact entry and its done, its redirect, its follow-up end and its deletion
/// (5 F); a `START_HO` per flow (one if none) to each VNF; two ACKs and the destination's
/// release (3).
pub fn sharp_c(flows: u64, sides: u64, active: u64) -> u64 {
    5 * sides + 5 * active + 5 * flows + 2 * flows.max(1) + 3
}

/// SHarP's constant messages `C` with [`StartHo::PerFlow`], for `flows` detected flows on
/// `sides` switches: per side the detection and forwarding entries (2), their done and the
/// detection entry's removal (4 S); per flow, which is a handover of its own, its exact entry
/// and done, `START_HO` to each VNF, two ACKs, the redirect and its done, the test packet out
/// and its copy in, `BUFFER_END`, the end of `BUFFER_FOLLOW_UP` and its done, the release,
/// the deletion and its done (16 F).
pub fn sharp_c_per_flow(flows: u64, sides: u64) -> u64 {
    4 * sides + 16 * flows
}

/// SHarP's constant data-plane messages `C` with [`StartHo::PerFlow`]: per flow, `START_HO` to
/// each VNF, its `BUFFER_END` and its test packet (4 F).
pub fn sharp_data_c_per_flow(flows: u64) -> u64 {
    4 * flows
}

/// SHarP's constant data-plane messages `C` for `flows` detected flows on `sides` switches,
/// `active` of them with a detected flow, as the twin sends them: a `START_HO` per flow (one if
/// none) to each VNF, a `BUFFER_END` per side and the test packet of each active side, which
/// the redirected exact entry also forwards to the destination.
pub fn sharp_data_c(flows: u64, sides: u64, active: u64) -> u64 {
    2 * flows.max(1) + sides + active
}

/// Section IV-A: SHarP's data-plane messages, `V + 2R + C`.
pub fn sharp_data_formula(v: f64, r: f64, c: f64) -> f64 {
    v + 2.0 * r + c
}

/// Section IV-A: OpenNF's control-plane messages.
pub fn opennf_formula(n: f64, r: f64, c: f64) -> f64 {
    3.0 * n + 2.0 * r + c
}

/// Section IV-A: SHarP's control-plane messages.
pub fn sharp_formula(t: f64, c: f64) -> f64 {
    2.0 * t + c
}

const SIX: [&str; 6] = [
    "move_duration_ms",
    "max_delay_ms",
    "max_controller_buffer_pkts",
    "max_vnf_buffer_pkts",
    "lost_updates",
    "reordered_updates",
];

fn six() -> Vec<String> {
    SIX.iter().map(|s| s.to_string()).collect()
}

fn rates(quick: bool) -> Vec<f64> {
    if quick {
        vec![100.0, 1000.0, 5000.0, 10000.0]
    } else {
        vec![100.0, 250.0, 500.0, 1000.0, 2000.0, 3000.0, 5000.0, 7500.0, 10000.0]
    }
}

fn durations_ms(quick: bool) -> Vec<u64> {
    if quick {
        vec![100, 400, 700, 1000]
    } else {
        (1..=10).map(|k| k * 100).collect()
    }
}

/// OpenNF (loss-free and order-preserving) on the testbed, one direction, its export taking `export`.
fn opennf_point(tb: &SharpTestbed, export: Dur, import: Dur) -> ScenarioConfig {
    let mut cfg = sharp_testbed(&SharpTestbed {
        bidirectional: false,
        opennf: Some(OpenNfConfig::opennf(Guarantee::LossFreeOrderPreserving)),
        ..tb.clone()
    });
    for n in &mut cfg.nodes {
        if let NodeKind::Nf(c) = &mut n.kind {
            *c = NfConfig { export_per_flow: export, import_per_flow: import, ..c.clone() };
        }
    }
    cfg
}

/// The series of Figures 5-8: SHarP as section III-C orders it (`START_HO` after the detection
/// phase), and SHarP starting each flow's handover on its first packet-in.
pub const SERIES: [(&str, StartHo); 2] =
    [("SHarP", StartHo::AfterDetection), ("SHarP per-flow", StartHo::PerFlow)];

fn with_start(tb: SharpTestbed, start: StartHo) -> SharpTestbed {
    let mut tb = tb;
    tb.sharp.start = start;
    tb
}

fn vs_rate(id: &str, bytes: u32, quick: bool) -> FigureSpec {
    let mut points = Vec::new();
    for pps in rates(quick) {
        for (series, start) in SERIES {
            let tb =
                SharpTestbed { pps, packet_bytes: bytes, state_bytes: 0, ..Default::default() };
            points.push(Point {
                series: series.into(),
                x: format!("{pps}"),
                config: sharp_testbed(&with_start(tb, start)),
            });
        }
    }
    FigureSpec {
        id: id.into(),
        title: format!("SHarP vs packet rate, {bytes} B packets, no state to move"),
        x_name: "pps".into(),
        x_label: "packets per second (each direction)".into(),
        y_label: "ms / packets".into(),
        plot: PlotKind::Lines,
        metrics: six(),
        points,
    }
}

fn vs_duration(id: &str, bytes: u32, with_opennf: bool, quick: bool) -> FigureSpec {
    let mut points = Vec::new();
    for ms in durations_ms(quick) {
        let d = Dur::from_millis(ms);
        let tb = SharpTestbed { packet_bytes: bytes, transfer_delay: d, ..SharpTestbed::default() };
        for (series, start) in SERIES {
            points.push(Point {
                series: series.into(),
                x: ms.to_string(),
                config: sharp_testbed(&with_start(tb.clone(), start)),
            });
        }
        if with_opennf {
            let tb = SharpTestbed { transfer_delay: Dur::ZERO, tail: d + tb.tail, ..tb };
            points.push(Point {
                series: "OpenNF".into(),
                x: ms.to_string(),
                config: opennf_point(&tb, d, Dur::from_micros(5)),
            });
        }
    }
    FigureSpec {
        id: id.into(),
        title: format!("SHarP vs state transfer duration, 1000 pps, {bytes} B packets"),
        x_name: "transfer_ms".into(),
        x_label: "state transfer duration (ms)".into(),
        y_label: "ms / packets".into(),
        plot: PlotKind::Lines,
        metrics: six(),
        points,
    }
}

fn figures(quick: bool) -> Vec<FigureSpec> {
    vec![
        vs_rate("sharp/fig5", 1000, quick),
        vs_rate("sharp/fig6", 58, quick),
        vs_duration("sharp/fig7", 1000, true, quick),
        vs_duration("sharp/fig8", 58, false, quick),
    ]
}

const FIG4_RATES: [f64; 6] = [100.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0];
const FIG4_STATE_KB: [u32; 6] = [1, 10, 25, 50, 75, 100];

fn computed(_quick: bool) -> Computed {
    Computed {
        figure_ids: vec!["sharp/fig4a".into(), "sharp/fig4b".into()],
        seeds: vec![1],
        inputs: format!(
            "testkit::sharp_testbed {:?} rates {FIG4_RATES:?} state_kb {FIG4_STATE_KB:?} \
             opennf {OPENNF_EXPORT:?}+{OPENNF_IMPORT:?} sharp {SHARP_FIG4_TRANSFER:?}",
            SharpTestbed::default()
        ),
        per_seed: fig4_per_seed,
        build: fig4_build,
    }
}

/// Control-plane messages of one run, a state chunk of `state_bytes` counting as
/// `ceil(state_bytes / 1000)` messages (put and acknowledgement alike).
fn sim_msgs(pps: f64, state_bytes: u32, opennf: bool, start: StartHo, seed: u64) -> f64 {
    let mut tb = SharpTestbed {
        pps,
        state_bytes,
        bidirectional: false,
        transfer_delay: if opennf { Dur::ZERO } else { SHARP_FIG4_TRANSFER },
        ..SharpTestbed::default()
    };
    tb.sharp.start = start;
    let cfg =
        if opennf { opennf_point(&tb, OPENNF_EXPORT, OPENNF_IMPORT) } else { sharp_testbed(&tb) };
    let r = run_once(&cfg, seed);
    let msgs = r.metrics.get("ctrl_plane_msgs").copied().unwrap_or(f64::NAN);
    let per_chunk = state_bytes.div_ceil(1000).max(1) as f64;
    if opennf {
        msgs + 3.0 * (per_chunk - 1.0)
    } else {
        msgs
    }
}

fn fig4_per_seed(seed: u64) -> SeedValues {
    let mut v = SeedValues::new();
    let (after, per_flow) = (StartHo::AfterDetection, StartHo::PerFlow);
    for pps in FIG4_RATES {
        v.insert(format!("a/opennf/{pps}"), sim_msgs(pps, 10_000, true, after, seed));
        v.insert(format!("a/sharp/{pps}"), sim_msgs(pps, 10_000, false, after, seed));
        v.insert(format!("a/per-flow/{pps}"), sim_msgs(pps, 10_000, false, per_flow, seed));
    }
    for kb in FIG4_STATE_KB {
        let bytes = kb * 1000;
        v.insert(format!("b/opennf/{kb}"), sim_msgs(1000.0, bytes, true, after, seed));
        v.insert(format!("b/sharp/{kb}"), sim_msgs(1000.0, bytes, false, after, seed));
        v.insert(format!("b/per-flow/{kb}"), sim_msgs(1000.0, bytes, false, per_flow, seed));
    }
    v
}

fn fig4_build(per_seed: &[(u64, SeedValues)]) -> Vec<Figure> {
    let v = &per_seed[0].1;
    let runs = per_seed.len();
    let row = |fig: &str, series: &str, x_name: &str, x: String, value: f64| TidyRow {
        figure: fig.into(),
        series: series.into(),
        x_name: x_name.into(),
        x,
        metric: "ctrl_processed_msgs".into(),
        value,
        stderr: 0.0,
        runs,
    };
    // The testbed's C: one flow, detected on the ingress switch; the egress switch, which
    // steers to both VNFs too, runs an idle side.
    let (c_onf, c_sharp) = (OPENNF_C as f64, sharp_c(1, 2, 1) as f64);
    let mut a = Vec::new();
    for pps in FIG4_RATES {
        let x = format!("{pps}");
        let (n, r, t) = (10.0, pps * 0.070, pps * 0.010);
        a.push(row(
            "sharp/fig4a",
            "OpenNF (formula)",
            "pps",
            x.clone(),
            opennf_formula(n, r, c_onf),
        ));
        a.push(row("sharp/fig4a", "SHarP (formula)", "pps", x.clone(), sharp_formula(t, c_sharp)));
        a.push(row("sharp/fig4a", "OpenNF (sim)", "pps", x.clone(), v[&format!("a/opennf/{pps}")]));
        a.push(row("sharp/fig4a", "SHarP (sim)", "pps", x.clone(), v[&format!("a/sharp/{pps}")]));
        let per_flow = v[&format!("a/per-flow/{pps}")];
        a.push(row("sharp/fig4a", "SHarP per-flow (sim)", "pps", x, per_flow));
    }
    let mut b = Vec::new();
    for kb in FIG4_STATE_KB {
        let x = kb.to_string();
        let (n, r, t) = (kb as f64, 1000.0 * 0.070, 1000.0 * 0.010);
        b.push(row(
            "sharp/fig4b",
            "OpenNF (formula)",
            "state_kb",
            x.clone(),
            opennf_formula(n, r, c_onf),
        ));
        b.push(row(
            "sharp/fig4b",
            "SHarP (formula)",
            "state_kb",
            x.clone(),
            sharp_formula(t, c_sharp),
        ));
        b.push(row(
            "sharp/fig4b",
            "OpenNF (sim)",
            "state_kb",
            x.clone(),
            v[&format!("b/opennf/{kb}")],
        ));
        let sharp = v[&format!("b/sharp/{kb}")];
        b.push(row("sharp/fig4b", "SHarP (sim)", "state_kb", x.clone(), sharp));
        let per_flow = v[&format!("b/per-flow/{kb}")];
        b.push(row("sharp/fig4b", "SHarP per-flow (sim)", "state_kb", x, per_flow));
    }
    let fig = |id: &str, title: &str, x_label: &str, rows: Vec<TidyRow>| Figure {
        id: id.into(),
        title: title.into(),
        x_label: x_label.into(),
        y_label: "packets processed at the controller".into(),
        plot: PlotKind::Lines,
        metrics: vec!["ctrl_processed_msgs".into()],
        rows,
    };
    vec![
        fig(
            "sharp/fig4a",
            "Controller load of one handover vs packet rate (10 KB state)",
            "packets per second",
            a,
        ),
        fig(
            "sharp/fig4b",
            "Controller load of one handover vs state size (1000 pps)",
            "state size (KB)",
            b,
        ),
    ]
}
