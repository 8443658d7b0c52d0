//! `nftwin what-if PLAN.toml`: rehearse a maintenance window. Every alternative of the plan
//! runs over the plan's seeds; each is judged against the constraints on every seed, and the
//! alternatives are ranked (those meeting every constraint first, then by the objective's mean,
//! then in plan order).
//!
//! ```text
//! PLAN.toml ──► plan::load (file:line:col errors) ──► one job per (alternative, seed)
//!   nf plan:     testkit::reroute_pair + traffic + protocol + faults ──► sweep::run_jobs (rayon)
//!   device plan: models::egret::rehearse per (alternative, seed): MOP steps and Egret jobs
//!                executed with drawn durations and the plan's faults (link down, failed upgrade)
//!   ──► per alternative: mean ± stderr per metric, worst seed per constraint ──► rank
//!   ──► table on stdout; summary.csv, runs.csv, verdicts.csv, ranking.png/.svg, report.md
//! ```
//!
//! Choices made here (documented in `docs/whatif.md`):
//! - The NF testbed is `testkit::reroute_pair` (`h1 -> s1 -> src | dst -> sink`, 10 Gbps links,
//!   flows paced at 1 Gbps), as `nftwin check` uses it; the instances' queues hold 100,000
//!   packets (as in `check`: the plan rehearses the protocol, not the instances' sizing).
//! - "Downtime" is the longest time any packet spent from the source to the sink
//!   (`max_delay_ms`): a packet buffered during a move waits until it is released.
//! - A constraint holds only if it holds on every seed; the table shows the worst seed.

pub mod plan;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use base::{Dur, Time};
use indicatif::ProgressBar;
use models::egret::mop::Sites;
use models::egret::rehearse;
use models::oracle::Guarantee;
use models::sharp::StartHo;
use models::switch::Match;

use crate::config::{
    FlowSource, LinkIdx, NodeIdx, NodeKind, ProtocolConfig, ScenarioConfig, TimelineAction,
    TimelineEvent,
};
use crate::output::{self, TidyRow};
use crate::reproduce::{Figure, PlotKind};

pub use plan::{Alternative, Constraint, Plan, PlanKind};
use plan::{DeviceJob, DevicePlan, FaultAt, FaultKind, How, NfPlan, Traffic};

/// How one alternative fared on one constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub key: &'static str,
    /// The metric it bounds.
    pub metric: &'static str,
    pub shown: String,
    pub limit: f64,
    /// The worst seed's value (NaN: some seed produced no value, e.g. a move never finished).
    pub worst: f64,
    /// Seeds on which the constraint failed.
    pub failed: Vec<u64>,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.failed.is_empty()
    }
}

/// One alternative's results.
#[derive(Clone, Debug)]
pub struct AltResult {
    pub name: String,
    pub seeds: Vec<u64>,
    /// Per metric (in the plan's metric order), one value per seed.
    pub values: Vec<(&'static str, Vec<f64>)>,
    pub verdicts: Vec<Verdict>,
}

impl AltResult {
    pub fn meets_all(&self) -> bool {
        self.verdicts.iter().all(Verdict::holds)
    }

    pub fn mean_stderr(&self, metric: &str) -> (f64, f64) {
        self.values
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or((f64::NAN, 0.0), |(_, v)| output::mean_stderr(v))
    }
}

/// A plan's outcome: alternatives in rank order.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub ranked: Vec<AltResult>,
    /// Runs in the twin (0 for a device plan).
    pub runs: usize,
}

impl Outcome {
    /// The recommended alternative: the first, if it meets every constraint.
    pub fn recommended(&self) -> Option<&AltResult> {
        self.ranked.first().filter(|a| a.meets_all())
    }
}

/// The seeds a plan runs: `seed .. seed + seeds`.
pub fn seeds_of(plan: &Plan) -> Vec<u64> {
    (0..plan.seeds as u64).map(|i| plan.seed + i).collect()
}

/// The number of twin runs (for a progress bar).
pub fn run_count(plan: &Plan) -> u64 {
    match plan.kind {
        PlanKind::Nf(_) => plan.alternatives.len() as u64 * plan.seeds as u64,
        PlanKind::Device(_) => 0,
    }
}

/// Runs every alternative over the plan's seeds on `threads` threads and ranks them.
pub fn run(plan: &Plan, threads: usize, bar: Option<&ProgressBar>) -> Result<Outcome, String> {
    let seeds = seeds_of(plan);
    let (mut results, runs) = match &plan.kind {
        PlanKind::Nf(nf) => {
            (run_nf(plan, nf, &seeds, threads, bar)?, seeds.len() * plan.alternatives.len())
        }
        PlanKind::Device(d) => (run_device(plan, d)?, 0),
    };
    for r in &mut results {
        r.verdicts = plan.constraints.iter().map(|c| judge(c, r)).collect();
    }
    let objective = plan.objective.as_str();
    // A stable sort keeps plan order among ties.
    results.sort_by(|a, b| {
        let fa = a.verdicts.iter().filter(|v| !v.holds()).count();
        let fb = b.verdicts.iter().filter(|v| !v.holds()).count();
        let (ma, mb) = (a.mean_stderr(objective).0, b.mean_stderr(objective).0);
        fa.cmp(&fb).then(ma.total_cmp(&mb))
    });
    Ok(Outcome { ranked: results, runs })
}

fn judge(c: &Constraint, r: &AltResult) -> Verdict {
    let vals = r.values.iter().find(|(m, _)| *m == c.metric).map_or(&[][..], |(_, v)| &v[..]);
    let mut worst = f64::NEG_INFINITY;
    let mut failed = Vec::new();
    for (i, &v) in vals.iter().enumerate() {
        let seed = r.seeds.get(i).copied().unwrap_or(i as u64);
        if v.is_nan() {
            worst = f64::NAN;
            failed.push(seed);
            continue;
        }
        if !worst.is_nan() {
            worst = worst.max(v);
        }
        if v > c.limit {
            failed.push(seed);
        }
    }
    Verdict { key: c.key, metric: c.metric, shown: c.shown.clone(), limit: c.limit, worst, failed }
}

// ---------------------------------------------------------------------------------------------
// NF plans: the twin.

/// The node indices of `testkit::reroute_pair`: src (fw1) 2, dst (fw2) 3; its links: h1-s1 0,
/// s1-src 1, s1-dst 2, s1-sink 3.
const SRC: u32 = 2;
const DST: u32 = 3;

/// The protocol of a name of [`plan::PROTOCOLS`].
pub fn protocol_config(name: &str) -> Option<ProtocolConfig> {
    use models::opennf::OpenNfConfig as O;
    Some(match name {
        "reroute" => ProtocolConfig::Reroute(Default::default()),
        "opennf-ng" => ProtocolConfig::OpenNf(O::opennf(Guarantee::None)),
        "opennf-lf" => ProtocolConfig::OpenNf(O::opennf(Guarantee::LossFree)),
        "opennf-lf-op" => ProtocolConfig::OpenNf(O::opennf(Guarantee::LossFreeOrderPreserving)),
        "split-merge" => ProtocolConfig::OpenNf(O::split_merge()),
        "reprocessing" => ProtocolConfig::OpenNf(O::reprocessing()),
        "p2p-lf" => ProtocolConfig::OpenNf(O::p2p(Guarantee::LossFree)),
        "p2p-lf-op" => ProtocolConfig::OpenNf(O::p2p(Guarantee::LossFreeOrderPreserving)),
        "uhaul" => {
            // U-HAUL's elephants at the paper's smallest web-search definition, 3 MB (as in
            // `nftwin check`).
            let rho = workloads::builtin("websearch")
                .expect("invariant: a built-in workload")
                .byte_fraction_above(3e6);
            ProtocolConfig::Uhaul(models::uhaul::UhaulConfig::paper(rho))
        }
        "sharp" => ProtocolConfig::Sharp(sharp_config(StartHo::AfterDetection), Default::default()),
        "sharp-per-flow" => {
            ProtocolConfig::Sharp(sharp_config(StartHo::PerFlow), Default::default())
        }
        // E2 section 5.4 with its defaults (`E2AvoidanceConfig::default()`: 20 us per E2D
        // rule, push at 500 exceptions); `scenario` sets the plan's `share`.
        "e2-migration-avoidance" => ProtocolConfig::E2MigrationAvoidance(Default::default()),
        _ => return None,
    })
}

/// SHarP on the what-if testbed: `START_HO` as section III-C writes it (after the detection
/// phase) or per flow from its first packet-in; otherwise SHarP's defaults (`r = 100`, entries
/// at 201 and 200 above the testbed's steering rules at 10; no artificial transfer delay; a
/// 15 ms maximum silence). The maximum silence must exceed the longest gap between two packets
/// of a flow (12 us here, 1500 bytes at 1 Gbps) and also the switch's rule-update latency (E2's
/// hardware, up to 8 ms per rule, one at a time): the `2r` forwarding entry is installed after
/// the detection entry, and a detection entry that expires before it is in force lets a flow
/// starting in between build its state at `VNF_1` and then go to `VNF_n` without it (with
/// 1 ms, seed 1 of `ids-scale-out.toml` lost 19 updates that way).
pub fn sharp_config(start: StartHo) -> models::sharp::SharpConfig {
    models::sharp::SharpConfig { start, ..Default::default() }
}

/// The scenario of one alternative on one seed.
pub fn scenario(
    plan: &Plan,
    nf: &NfPlan,
    protocol: &str,
    start_ns: u64,
    seed: u64,
) -> ScenarioConfig {
    let window = Dur::from_nanos(nf.window_ns);
    let load = match &nf.traffic {
        Traffic::Workload { load, .. } => Some(*load),
        Traffic::Trace { .. } => None,
    };
    let mut cfg = crate::testkit::reroute_pair(
        load,
        window,
        Some(Dur::from_nanos(start_ns.min(nf.window_ns))),
    );
    cfg.name = format!("whatif-{}-{protocol}", plan.name);
    cfg.seed = seed;
    cfg.replications = 1;
    cfg.protocol = protocol_config(protocol).expect("invariant: validated protocol names");
    // E2 splits the instance's flow-ID space: the plan's share goes to `dst`.
    if let ProtocolConfig::E2MigrationAvoidance(c) = &mut cfg.protocol {
        c.share = nf.share;
    }
    match &nf.traffic {
        Traffic::Workload { dist, .. } => {
            for w in &mut cfg.workloads {
                if let FlowSource::Generated { dist: d, .. } = &mut w.flows {
                    *d = dist.clone();
                }
            }
        }
        Traffic::Trace { path, flows } => {
            cfg.workloads = vec![crate::config::WorkloadConfig {
                source: NodeIdx(0),
                flows: FlowSource::Trace { path: path.clone(), flows: flows.clone() },
                mtu: 1500,
                flow_rate: base::Bps(1_000_000_000),
                pacing: Default::default(),
            }];
        }
    }
    for n in &mut cfg.nodes {
        match &mut n.kind {
            NodeKind::Nf(c) => c.queue_capacity = 100_000,
            NodeKind::Controller(c) => c.buffer_capacity = nf.buffer,
            _ => {}
        }
    }
    let flows = if nf.share >= 1.0 {
        Match::any()
    } else {
        Match::hash_range(0, (nf.share * 4_294_967_296.0) as u32)
    };
    for e in &mut cfg.timeline {
        if let TimelineAction::Move { flows: f, .. } = &mut e.what {
            *f = flows.clone();
        }
    }
    let streams = base::rng::RngStreams::new(seed);
    for (i, f) in nf.faults.iter().enumerate() {
        let at = match f.at {
            FaultAt::At(t) => t,
            FaultAt::Random => {
                (streams.stream(&format!("whatif/fault/{i}")).uniform() * nf.window_ns as f64)
                    as u64
            }
        };
        let (down, up) = match f.kind {
            FaultKind::LinkDown => {
                let l = LinkIdx(if f.dst { 2 } else { 1 });
                (TimelineAction::LinkDown(l), TimelineAction::LinkUp(l))
            }
            FaultKind::InstanceFail => {
                let n = NodeIdx(if f.dst { DST } else { SRC });
                (TimelineAction::NfFail(n), TimelineAction::NfRestore(n))
            }
        };
        let t = |ns: u64| Time::ZERO + Dur::from_nanos(ns);
        cfg.timeline.push(TimelineEvent { at: t(at), what: down });
        cfg.timeline.push(TimelineEvent { at: t(at + f.duration_ns), what: up });
    }
    cfg.timeline.sort_by_key(|e| e.at);
    // Long enough for a slowed move to finish and the network to drain.
    cfg.drain_limit = Dur::from_secs(2);
    cfg
}

fn run_nf(
    plan: &Plan,
    nf: &NfPlan,
    seeds: &[u64],
    threads: usize,
    bar: Option<&ProgressBar>,
) -> Result<Vec<AltResult>, String> {
    let mut configs = Vec::new();
    for a in &plan.alternatives {
        let How::Move { protocol, start_ns } = &a.how else {
            return Err(format!("alternative `{}` is not a move", a.name));
        };
        for &s in seeds {
            configs.push(scenario(plan, nf, protocol, *start_ns, s));
        }
    }
    let refs: Vec<&ScenarioConfig> = configs.iter().collect();
    let jobs = crate::sweep::jobs(&refs);
    let cancel = AtomicBool::new(false);
    let outcomes = crate::sweep::run_jobs(&jobs, threads, bar, &cancel)
        .ok_or_else(|| "the run was cancelled".to_string())?;
    let mut out = Vec::new();
    for (i, a) in plan.alternatives.iter().enumerate() {
        let runs = &outcomes[i * seeds.len()..(i + 1) * seeds.len()];
        let values = plan::NF_METRICS
            .iter()
            .map(|&m| (m, runs.iter().map(|r| nf_metric(r, m)).collect()))
            .collect();
        out.push(AltResult {
            name: a.name.clone(),
            seeds: seeds.to_vec(),
            values,
            verdicts: Vec::new(),
        });
    }
    Ok(out)
}

/// One metric of a run; NaN where it has no value (a move that never finished).
fn nf_metric(r: &crate::driver::RunOutcome, m: &str) -> f64 {
    let unfinished = r.moves.iter().any(|m| m.finished.is_none());
    match m {
        "lost_pkts" => r
            .metrics
            .iter()
            .filter(|(k, _)| k.starts_with("lost_") && k.ends_with("_pkts"))
            .map(|(_, v)| *v)
            .sum(),
        "move_duration_ms" if unfinished => f64::NAN,
        // SHarP's `ctrl_buff` + `sw_buff` at the VNFs; the other protocols have no handover
        // support layer: no value rather than a 0 that reads as "buffered nothing".
        "max_vnf_buffer_pkts" => r.metrics.get(m).copied().unwrap_or(f64::NAN),
        // E2's software exceptions at the old instance's E2D; the others have no E2D.
        "max_e2d_exceptions" => r.metrics.get(m).copied().unwrap_or(f64::NAN),
        _ => r.metrics.get(m).copied().unwrap_or(0.0),
    }
}

// ---------------------------------------------------------------------------------------------
// Device plans: Egret section 2.2's jobs, MOP vs Egret, from the executed plans.

fn run_device(plan: &Plan, d: &DevicePlan) -> Result<Vec<AltResult>, String> {
    let sites = Sites { mmes: d.pool, ..Sites::default() };
    let job = match d.job {
        DeviceJob::PeRouterDrain => rehearse::DeviceJob::PeRouterDrain,
        DeviceJob::MmeUpgrade => rehearse::DeviceJob::MmeUpgrade,
    };
    let seeds = seeds_of(plan);
    let mut out = Vec::new();
    for a in &plan.alternatives {
        let How::Device { egret, interleaved } = a.how else {
            return Err(format!("alternative `{}` is not a device procedure", a.name));
        };
        let procedure = match (egret, interleaved) {
            (false, _) => rehearse::Procedure::Mop,
            (true, false) => rehearse::Procedure::Egret,
            (true, true) => rehearse::Procedure::EgretInterleaved,
        };
        let mut values: Vec<(&'static str, Vec<f64>)> =
            plan::DEVICE_METRICS.iter().map(|&m| (m, Vec::new())).collect();
        for &seed in &seeds {
            let r = rehearse_device(&sites, job, procedure, d, seed)
                .map_err(|e| format!("alternative `{}`, seed {seed}: {e}", a.name))?;
            for (m, v) in &mut values {
                v.push(match *m {
                    "window_min" => r.window_min,
                    "operations" => r.operations as f64,
                    "state_variables" => r.state_variables as f64,
                    "parallel_devices" => r.parallel_devices as f64,
                    "device_configs" => r.device_configs as f64,
                    "fault_operations" => r.operations as f64 - r.planned_operations as f64,
                    "rollbacks" => r.rollbacks as f64,
                    _ => unreachable!("invariant: every device metric is listed"),
                });
            }
        }
        out.push(AltResult {
            name: a.name.clone(),
            seeds: seeds.clone(),
            values,
            verdicts: vec![],
        });
    }
    Ok(out)
}

/// One alternative of a device plan on one seed: the faults' times (a random one uniform in
/// the plan's window, stream `whatif/fault/<index>`, the same for every alternative, so each
/// meets the same fault at the same minute) and every operation's and upgrade's duration
/// (log-normal around the plan's medians, stream `whatif/device/durations`).
pub fn rehearse_device(
    sites: &Sites,
    job: rehearse::DeviceJob,
    procedure: rehearse::Procedure,
    d: &DevicePlan,
    seed: u64,
) -> Result<rehearse::Rehearsal, String> {
    let streams = base::rng::RngStreams::new(seed);
    let faults: Vec<rehearse::DeviceFault> = d
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at_min = match f.at {
                FaultAt::At(ns) => ns as f64 / 60e9,
                FaultAt::Random => {
                    streams.stream(&format!("whatif/fault/{i}")).uniform()
                        * d.window_min.expect("invariant: validated: random needs a window")
                }
            };
            let dur_min = f.duration_ns as f64 / 60e9;
            match f.kind {
                FaultKind::LinkDown => rehearse::DeviceFault::PeerLinkDown {
                    mme: f.member.expect("invariant: validated: a link-down names its member"),
                    at_min,
                    down_min: dur_min,
                },
                FaultKind::InstanceFail => {
                    rehearse::DeviceFault::UpgradeFails { at_min, rollback_min: dur_min }
                }
            }
        })
        .collect();
    let mut rng = streams.stream("whatif/device/durations");
    let mut draw = |what: rehearse::Draw| match what {
        rehearse::Draw::Operation => rng.lognormal(d.op_min, d.op_spread),
        rehearse::Draw::Upgrade => rng.lognormal(d.upgrade_min, d.upgrade_spread),
    };
    rehearse::rehearse(sites, job, d.devices, procedure, d.headroom, &faults, &mut draw)
}

// ---------------------------------------------------------------------------------------------
// Presentation.

/// A number as the table prints it: integers without decimals, else 3 significant digits.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    if v == v.trunc() && v.abs() < 1e12 {
        return format!("{}", v as i64);
    }
    let mag = v.abs();
    if mag >= 100.0 {
        format!("{v:.0}")
    } else if mag >= 10.0 {
        format!("{v:.1}")
    } else if mag >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn cell(r: &AltResult, m: &str) -> String {
    let (mean, se) = r.mean_stderr(m);
    if se > 0.0 {
        format!("{} ± {}", num(mean), num(se))
    } else {
        num(mean)
    }
}

/// The unit a metric's name ends in, as printed after a number.
fn unit_of(metric: &str) -> &'static str {
    if metric.ends_with("_ms") {
        " ms"
    } else if metric.ends_with("_min") {
        " min"
    } else if metric.ends_with("_pkts") {
        " pkts"
    } else {
        ""
    }
}

/// What failed, for the table: `lost_updates 312 > 0 (4/4 seeds)`.
pub fn failures(r: &AltResult) -> String {
    let f: Vec<String> = r
        .verdicts
        .iter()
        .filter(|v| !v.holds())
        .map(|v| {
            let n = r.seeds.len();
            let unit = unit_of(v.metric);
            if v.worst.is_nan() {
                format!(
                    "{}: no value on {}/{n} seeds (a move never finished)",
                    v.key,
                    v.failed.len()
                )
            } else {
                format!(
                    "{}: {}{unit} > {}, over by {}{unit} ({}/{n} seeds)",
                    v.key,
                    num(v.worst),
                    v.shown,
                    num(v.worst - v.limit),
                    v.failed.len()
                )
            }
        })
        .collect();
    if f.is_empty() {
        "meets all".into()
    } else {
        f.join("; ")
    }
}

/// The ranked table, as markdown (printed and pasted into `report.md`).
pub fn table(plan: &Plan, o: &Outcome) -> String {
    let metrics = plan.metrics();
    let mut s = String::new();
    let _ = write!(s, "| rank | alternative |");
    for m in metrics {
        let star = if *m == plan.objective { " (objective)" } else { "" };
        let _ = write!(s, " {m}{star} |");
    }
    let _ = writeln!(s, " constraints |");
    let _ = write!(s, "|---:|---|");
    for _ in metrics {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s, "---|");
    for (i, r) in o.ranked.iter().enumerate() {
        let _ = write!(s, "| {} | {} |", i + 1, r.name);
        for m in metrics {
            let _ = write!(s, " {} |", cell(r, m));
        }
        let _ = writeln!(s, " {} |", failures(r));
    }
    s
}

/// The verdict in one sentence.
pub fn conclusion(plan: &Plan, o: &Outcome) -> String {
    match o.recommended() {
        Some(r) => {
            let (m, se) = r.mean_stderr(&plan.objective);
            let meeting = o.ranked.iter().filter(|a| a.meets_all()).count();
            let seeds = format!("on all {} seeds", r.seeds.len());
            format!(
                "Recommended: {} — meets every constraint {seeds} and has the lowest {} among \
                 the {meeting} of {} alternatives that do ({}{}{}).",
                r.name,
                plan.objective,
                o.ranked.len(),
                num(m),
                if se > 0.0 { format!(" ± {}", num(se)) } else { String::new() },
                unit_of(&plan.objective)
            )
        }
        None => format!(
            "No alternative meets every constraint. The closest is {} ({}); relax a \
             constraint or add an alternative.",
            o.ranked.first().map_or("none", |r| r.name.as_str()),
            o.ranked.first().map_or(String::new(), failures)
        ),
    }
}

fn describe_plan(plan: &Plan) -> String {
    let mut s = String::new();
    match &plan.kind {
        PlanKind::Nf(nf) => {
            let traffic = match &nf.traffic {
                Traffic::Workload { name, load, .. } => {
                    format!("{name} at load {load} of 10 Gbps")
                }
                Traffic::Trace { path, flows } => {
                    format!("trace {} ({} flows)", path.display(), flows.len())
                }
            };
            let _ = writeln!(
                s,
                "- Target: {}; moved: {}% of its flows from `src` to `dst` \
                 (`h1 -> s1 -> src | dst -> sink`)",
                if plan.target.is_empty() { "src" } else { &plan.target },
                num(nf.share * 100.0)
            );
            let _ = writeln!(
                s,
                "- Window (simulated traffic): {} ms; traffic: {traffic}",
                num(nf.window_ns as f64 / 1e6)
            );
            let _ = writeln!(s, "- Controller buffer: {} packets", nf.buffer);
            if nf.faults.is_empty() {
                let _ = writeln!(s, "- Faults rehearsed: none");
            }
            for f in &nf.faults {
                let what = match f.kind {
                    FaultKind::LinkDown => "link s1 - ",
                    FaultKind::InstanceFail => "instance ",
                };
                let at = match f.at {
                    FaultAt::At(t) => format!("at {} ms", num(t as f64 / 1e6)),
                    FaultAt::Random => "at a random time in the window (per seed)".into(),
                };
                let _ = writeln!(
                    s,
                    "- Fault rehearsed: {what}{} down {at} for {} ms",
                    if f.dst { "dst" } else { "src" },
                    num(f.duration_ns as f64 / 1e6)
                );
            }
        }
        PlanKind::Device(d) => {
            let job = match d.job {
                DeviceJob::PeRouterDrain => "drain a PE router (Egret 2.2.1)".to_string(),
                DeviceJob::MmeUpgrade => {
                    format!("upgrade {} MME(s) in a pool of {} (Egret 2.2.2)", d.devices, d.pool)
                }
            };
            let _ = writeln!(s, "- Job: {job}");
            let _ = writeln!(
                s,
                "- One operator operation: {} min; one upgrade: {} min; pool headroom (interleaving): {}x",
                num(d.op_min),
                num(d.upgrade_min),
                d.headroom
            );
            let _ = writeln!(
                s,
                "- Durations per seed: log-normal around those medians, sigma {} (operations) \
                 and {} (upgrades); operations, state variables and configurations are counted \
                 from the MOP steps and Egret jobs as executed (`models::egret::rehearse`)",
                d.op_spread, d.upgrade_spread
            );
            if d.faults.is_empty() {
                let _ = writeln!(s, "- Faults rehearsed: none");
            }
            for f in &d.faults {
                let at = match f.at {
                    FaultAt::At(t) => format!("at minute {}", num(t as f64 / 60e9)),
                    FaultAt::Random => format!(
                        "at a random minute of the {}-minute window (per seed)",
                        num(d.window_min.unwrap_or(f64::NAN))
                    ),
                };
                let dur = num(f.duration_ns as f64 / 60e9);
                let _ = match f.kind {
                    FaultKind::LinkDown => writeln!(
                        s,
                        "- Fault rehearsed: the link to MME-{} down {at} for {dur} min",
                        f.member.unwrap_or(0)
                    ),
                    FaultKind::InstanceFail => writeln!(
                        s,
                        "- Fault rehearsed: the first device whose upgrade has not finished \
                         {at} fails to come back; rolled back to its old software in {dur} min"
                    ),
                };
            }
        }
    }
    let c: Vec<String> =
        plan.constraints.iter().map(|c| format!("`{} = {}`", c.key, c.shown)).collect();
    let _ = writeln!(
        s,
        "- Constraints (on every seed): {}",
        if c.is_empty() { "none".to_string() } else { c.join(", ") }
    );
    let _ = match plan.kind {
        PlanKind::Nf(_) => writeln!(
            s,
            "- Objective: minimise {}; seeds: {} from {}",
            plan.objective, plan.seeds, plan.seed
        ),
        PlanKind::Device(_) => writeln!(
            s,
            "- Objective: minimise {}; seeds: {} from {}",
            plan.objective, plan.seeds, plan.seed
        ),
    };
    s
}

/// `report.md`: what a person pastes into a change ticket.
pub fn report_md(plan: &Plan, plan_file: &Path, o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# What-if: {}\n", plan.name);
    let _ = writeln!(
        s,
        "Plan file: `{}` (`nftwin what-if`, nftwin {})\n",
        plan_file.display(),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(s, "## Plan\n\n{}", describe_plan(plan));
    let _ = writeln!(s, "## Alternatives\n");
    for a in &plan.alternatives {
        let how = match &a.how {
            How::Move { protocol, start_ns } => {
                format!("protocol `{protocol}`, move starts at {} ms", num(*start_ns as f64 / 1e6))
            }
            How::Device { egret, interleaved } => format!(
                "{}, {}",
                if *egret { "Egret jobs" } else { "the MOP, step by step" },
                if *interleaved { "interleaved" } else { "one device after the other" }
            ),
        };
        let _ = writeln!(s, "- **{}**: {how}", a.name);
    }
    let _ =
        writeln!(s, "\n## Ranking (mean ± standard error over the seeds)\n\n{}", table(plan, o));
    let _ = writeln!(s, "## Constraint verdicts\n");
    if plan.constraints.is_empty() {
        let _ = writeln!(s, "The plan sets no constraints.\n");
    }
    for r in &o.ranked {
        for v in &r.verdicts {
            let status = if v.holds() { "holds" } else { "FAILS" };
            let _ = writeln!(
                s,
                "- {}: `{} = {}` {status} (worst seed: {}{}{})",
                r.name,
                v.key,
                v.shown,
                num(v.worst),
                unit_of(v.metric),
                if v.holds() { String::new() } else { format!("; failed on seeds {:?}", v.failed) }
            );
        }
    }
    let _ = writeln!(s, "\n## Recommendation\n\n{}", conclusion(plan, o));
    s
}

/// Tidy rows: one per (alternative, metric), mean over the seeds.
pub fn tidy_rows(plan: &Plan, o: &Outcome) -> Vec<TidyRow> {
    let mut rows = Vec::new();
    for r in &o.ranked {
        for (m, vals) in &r.values {
            let (value, stderr) = output::mean_stderr(vals);
            rows.push(TidyRow {
                figure: format!("whatif/{}", plan.name),
                series: r.name.clone(),
                x_name: "alternative".into(),
                x: r.name.clone(),
                metric: (*m).into(),
                value,
                stderr,
                runs: vals.len(),
            });
        }
    }
    rows
}

fn runs_csv(o: &Outcome) -> String {
    let mut s = String::from("alternative,seed,metric,value\n");
    for r in &o.ranked {
        for (m, vals) in &r.values {
            for (seed, v) in r.seeds.iter().zip(vals) {
                let _ = writeln!(s, "{},{seed},{m},{v}", csv_field(&r.name));
            }
        }
    }
    s
}

fn verdicts_csv(o: &Outcome) -> String {
    let mut s = String::from("rank,alternative,constraint,limit,worst,failed_seeds,seeds,holds\n");
    for (i, r) in o.ranked.iter().enumerate() {
        for v in &r.verdicts {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{}",
                i + 1,
                csv_field(&r.name),
                v.key,
                csv_field(&v.shown),
                v.worst,
                v.failed.len(),
                r.seeds.len(),
                v.holds()
            );
        }
    }
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The comparison chart: the objective per alternative (bars, error bars from the seeds).
pub fn figure(plan: &Plan, o: &Outcome) -> Figure {
    let rows: Vec<TidyRow> =
        tidy_rows(plan, o).into_iter().filter(|r| r.metric == plan.objective).collect();
    Figure {
        id: format!("whatif/{}", plan.name),
        title: format!("What-if {}: {} per alternative (ranked)", plan.name, plan.objective),
        x_label: "alternative".into(),
        y_label: plan.objective.clone(),
        plot: PlotKind::Bars,
        metrics: vec![plan.objective.clone()],
        rows,
    }
}

/// Writes every file to `out` (each through temp + rename; `report.md` last).
pub fn write_outputs(
    plan: &Plan,
    plan_file: &Path,
    o: &Outcome,
    out: &Path,
) -> std::io::Result<Vec<String>> {
    let fig = figure(plan, o);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("summary.csv", output::tidy_csv(&tidy_rows(plan, o)).into_bytes()),
        ("runs.csv", runs_csv(o).into_bytes()),
        ("verdicts.csv", verdicts_csv(o).into_bytes()),
        ("ranking.png", crate::reproduce::plot::render_png(&fig)),
        ("ranking.svg", crate::reproduce::plot::render_svg(&fig).into_bytes()),
        ("report.md", report_md(plan, plan_file, o).into_bytes()),
    ];
    let mut names = Vec::new();
    for (name, bytes) in files {
        output::write_atomic_bytes(&out.join(name), &bytes)?;
        names.push(name.to_string());
    }
    Ok(names)
}

/// The per-alternative values as a map (for tests).
pub fn means(o: &Outcome, metric: &str) -> BTreeMap<String, f64> {
    o.ranked.iter().map(|r| (r.name.clone(), r.mean_stderr(metric).0)).collect()
}
