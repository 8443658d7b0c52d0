//! Maintenance plan files (`nftwin what-if PLAN.toml`): TOML in, a validated [`Plan`] out, or
//! every problem with its `file:line:col` and the fix, through the scenario files' machinery
//! (`spec::error`, `spec::schema::strip_unknown`, `spec::units`). The reference is
//! `docs/whatif.md`; a test checks that it documents every key of the schemas below.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use crate::spec::error::{self, ErrorKind, Issue, SpecErrors};
use crate::spec::raw::Quantity;
use crate::spec::schema::{table as schema, Key, TableSchema};
use crate::spec::units::{self, QuantityKind};

type S<T> = Spanned<T>;

schema!(
    ROOT,
    "the top level of a plan",
    [
        ("plan", "[plan]"),
        ("traffic", "[traffic]"),
        ("device", "[device]"),
        ("faults", "[[faults]]"),
        ("alternatives", "[[alternatives]]"),
        ("constraints", "[constraints]"),
    ],
    [
        ("plan", PLAN),
        ("traffic", TRAFFIC),
        ("device", DEVICE),
        ("faults", FAULT),
        ("alternatives", ALTERNATIVE),
        ("constraints", CONSTRAINTS)
    ]
);

schema!(
    PLAN,
    "[plan]",
    [
        ("name", r#"name = "ids-scale-out""#),
        ("kind", r#"kind = "nf""#),
        ("target", r#"target = "ids1""#),
        ("window", r#"window = "30ms""#),
        ("seeds", "seeds = 5"),
        ("seed", "seed = 1"),
        ("objective", r#"objective = "move_duration_ms""#),
    ],
    []
);

schema!(
    TRAFFIC,
    "[traffic]",
    [
        ("workload", r#"workload = "websearch""#),
        ("load", "load = 0.5"),
        ("trace", r#"trace = "flows.csv""#),
        ("share", "share = 0.5"),
        ("buffer", "buffer = 5000"),
    ],
    []
);

schema!(
    DEVICE,
    "[device]",
    [
        ("job", r#"job = "mme-upgrade""#),
        ("devices", "devices = 3"),
        ("pool", "pool = 11"),
        ("op_time", r#"op_time = "1min""#),
        ("upgrade_time", r#"upgrade_time = "30min""#),
        ("headroom", "headroom = 1.5"),
        ("op_spread", "op_spread = 0.5"),
        ("upgrade_spread", "upgrade_spread = 0.2"),
    ],
    []
);

schema!(
    FAULT,
    "[[faults]]",
    [
        ("kind", r#"kind = "link-down""#),
        ("node", r#"node = "dst""#),
        ("at", r#"at = "12ms""#),
        ("duration", r#"duration = "2ms""#),
    ],
    []
);

schema!(
    ALTERNATIVE,
    "[[alternatives]]",
    [
        ("name", r#"name = "OpenNF loss-free""#),
        ("protocol", r#"protocol = "opennf-lf""#),
        ("start", r#"start = "10ms""#),
        ("procedure", r#"procedure = "egret""#),
        ("ordering", r#"ordering = "interleaved""#),
    ],
    []
);

schema!(
    CONSTRAINTS,
    "[constraints]",
    [
        ("max_downtime", r#"max_downtime = "50ms""#),
        ("max_move_duration", r#"max_move_duration = "20ms""#),
        ("lost_updates", "lost_updates = 0"),
        ("reordered_updates", "reordered_updates = 0"),
        ("lost_packets", "lost_packets = 0"),
        ("duplicate_outputs", "duplicate_outputs = 0"),
        ("max_controller_buffer", "max_controller_buffer = 5000"),
        ("max_window", r#"max_window = "2h""#),
        ("max_operations", "max_operations = 10"),
    ],
    []
);

/// Every table of a plan, for the docs test.
pub static ALL_TABLES: [&TableSchema; 7] =
    [&ROOT, &PLAN, &TRAFFIC, &DEVICE, &FAULT, &ALTERNATIVE, &CONSTRAINTS];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFileSpec {
    plan: Option<S<PlanSpec>>,
    traffic: Option<S<TrafficSpec>>,
    device: Option<S<DeviceSpec>>,
    #[serde(default)]
    faults: Vec<S<FaultSpec>>,
    #[serde(default)]
    alternatives: Vec<S<AltSpec>>,
    constraints: Option<S<ConstraintsSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanSpec {
    name: Option<S<String>>,
    kind: Option<S<String>>,
    target: Option<S<String>>,
    window: Option<S<Quantity>>,
    seeds: Option<S<u32>>,
    seed: Option<S<u64>>,
    objective: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficSpec {
    workload: Option<S<String>>,
    load: Option<S<f64>>,
    trace: Option<S<String>>,
    share: Option<S<f64>>,
    buffer: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceSpec {
    job: Option<S<String>>,
    devices: Option<S<u32>>,
    pool: Option<S<u32>>,
    op_time: Option<S<Quantity>>,
    upgrade_time: Option<S<Quantity>>,
    headroom: Option<S<f64>>,
    op_spread: Option<S<f64>>,
    upgrade_spread: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    kind: Option<S<String>>,
    node: Option<S<String>>,
    at: Option<S<Quantity>>,
    duration: Option<S<Quantity>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AltSpec {
    name: Option<S<String>>,
    protocol: Option<S<String>>,
    start: Option<S<Quantity>>,
    procedure: Option<S<String>>,
    ordering: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConstraintsSpec {
    max_downtime: Option<S<Quantity>>,
    max_move_duration: Option<S<Quantity>>,
    lost_updates: Option<S<u64>>,
    reordered_updates: Option<S<u64>>,
    lost_packets: Option<S<u64>>,
    duplicate_outputs: Option<S<u64>>,
    max_controller_buffer: Option<S<u64>>,
    max_window: Option<S<Quantity>>,
    max_operations: Option<S<u64>>,
}

/// What a plan rehearses: moving an NF's flows in the twin, or a device job (Egret 2.2).
#[derive(Clone, Debug, PartialEq)]
pub enum PlanKind {
    Nf(NfPlan),
    Device(DevicePlan),
}

/// An NF plan: `h1 -> s1 -> src | dst -> sink` (`testkit::reroute_pair`), the traffic, and the
/// share of the flow space moved from `src` to `dst`.
#[derive(Clone, Debug, PartialEq)]
pub struct NfPlan {
    /// The simulated traffic span (ns).
    pub window_ns: u64,
    pub traffic: Traffic,
    /// Fraction of the flow hash space moved (1 = drain `src`, 0.5 = scale out to `dst`).
    pub share: f64,
    /// The controller's buffer, packets.
    pub buffer: u32,
    pub faults: Vec<Fault>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Traffic {
    /// A built-in distribution or a CDF CSV (relative to the plan), at a load of 10 Gbps.
    Workload { name: String, dist: workloads::FlowSizeDist, load: f64 },
    /// A flow trace CSV written by `nftwin workload gen`.
    Trace { path: PathBuf, flows: Vec<workloads::Flow> },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The link between the switch and the node goes down, then up after `duration`.
    LinkDown,
    /// The NF instance fails, then restarts after `duration`.
    InstanceFail,
}

pub const FAULT_KINDS: &[&str] = &["link-down", "instance-fail"];
pub const FAULT_NODES: &[&str] = &["src", "dst"];

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultAt {
    At(u64),
    /// Uniform in `[0, window)`, drawn per seed from the stream `whatif/fault/<index>`.
    Random,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    /// `true` for the destination instance, `false` for the source.
    pub dst: bool,
    pub at: FaultAt,
    pub duration_ns: u64,
}

/// A device plan: one of Egret section 2.2's jobs, MOP vs Egret.
#[derive(Clone, Debug, PartialEq)]
pub struct DevicePlan {
    pub job: DeviceJob,
    /// Devices the job covers (MMEs upgraded; 1 for a router drain).
    pub devices: u32,
    /// MMEs in the pool.
    pub pool: u32,
    /// The median of one operation's duration, minutes.
    pub op_min: f64,
    /// The median of one upgrade's duration, minutes.
    pub upgrade_min: f64,
    pub headroom: f64,
    /// The log-normal sigma of each operation's duration, drawn per seed (0: fixed).
    pub op_spread: f64,
    /// The log-normal sigma of each upgrade's duration, drawn per seed (0: fixed).
    pub upgrade_spread: f64,
    /// `[plan] window`: the slot a random fault time falls in, minutes.
    pub window_min: Option<f64>,
    pub faults: Vec<DeviceFault>,
}

/// A fault a device plan rehearses (`models::egret::rehearse`).
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceFault {
    /// `LinkDown`: the link between the MME pool and `member` fails for `duration`.
    /// `InstanceFail`: the first device whose upgrade has not finished by `at` fails to come
    /// back and is rolled back to its old software in `duration`.
    pub kind: FaultKind,
    /// The pool member whose link fails (`MME-<member>`), for `LinkDown`.
    pub member: Option<u32>,
    /// Minutes from the window's start, or uniform in `[plan] window` per seed (stream
    /// `whatif/fault/<index>`).
    pub at: FaultAt,
    pub duration_ns: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeviceJob {
    PeRouterDrain,
    MmeUpgrade,
}

pub const DEVICE_JOBS: &[&str] = &["pe-router-drain", "mme-upgrade"];

#[derive(Clone, Debug, PartialEq)]
pub struct Alternative {
    pub name: String,
    pub how: How,
}

#[derive(Clone, Debug, PartialEq)]
pub enum How {
    /// A protocol of [`PROTOCOLS`] starting its move at `start_ns`.
    Move {
        protocol: String,
        start_ns: u64,
    },
    Device {
        egret: bool,
        interleaved: bool,
    },
}

/// The protocols an NF plan can compare.
pub const PROTOCOLS: &[&str] = &[
    "reroute",
    "opennf-ng",
    "opennf-lf",
    "opennf-lf-op",
    "split-merge",
    "reprocessing",
    "p2p-lf",
    "p2p-lf-op",
    "uhaul",
    "sharp",
    "sharp-per-flow",
    "e2-migration-avoidance",
];
pub const PROCEDURES: &[&str] = &["mop", "egret"];
pub const ORDERINGS: &[&str] = &["sequential", "interleaved"];
pub const KINDS: &[&str] = &["nf", "device"];

/// A constraint: a metric's limit (inclusive), checked on every seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// As written in the plan (`max_downtime`).
    pub key: &'static str,
    /// The metric it bounds (`max_delay_ms`).
    pub metric: &'static str,
    pub limit: f64,
    /// The limit as written (`"50ms"`).
    pub shown: String,
}

/// Which metric each constraint key bounds, and whether it is a duration (converted to the
/// metric's unit).
pub const CONSTRAINT_METRICS: &[(&str, &str)] = &[
    ("max_downtime", "max_delay_ms"),
    ("max_move_duration", "move_duration_ms"),
    ("lost_updates", "lost_updates"),
    ("reordered_updates", "reordered_updates"),
    ("lost_packets", "lost_pkts"),
    ("duplicate_outputs", "duplicate_outputs"),
    ("max_controller_buffer", "max_controller_buffer_pkts"),
    ("max_window", "window_min"),
    ("max_operations", "operations"),
];

/// The metrics an NF plan reports, in table order.
pub const NF_METRICS: &[&str] = &[
    "move_duration_ms",
    "max_delay_ms",
    "lost_updates",
    "reordered_updates",
    "lost_pkts",
    "duplicate_outputs",
    "max_controller_buffer_pkts",
    "max_vnf_buffer_pkts",
    "max_e2d_exceptions",
    "switch_rules_applied",
];
/// The metrics a device plan reports, in table order.
pub const DEVICE_METRICS: &[&str] = &[
    "window_min",
    "operations",
    "state_variables",
    "parallel_devices",
    "device_configs",
    "fault_operations",
    "rollbacks",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub name: String,
    pub target: String,
    pub kind: PlanKind,
    pub seeds: u32,
    pub seed: u64,
    pub objective: String,
    pub alternatives: Vec<Alternative>,
    pub constraints: Vec<Constraint>,
}

impl Plan {
    pub fn metrics(&self) -> &'static [&'static str] {
        match self.kind {
            PlanKind::Nf(_) => NF_METRICS,
            PlanKind::Device(_) => DEVICE_METRICS,
        }
    }
}

/// Reads and validates a plan file.
pub fn load(path: &Path) -> Result<Plan, SpecErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| SpecErrors::Read { file: file.clone(), source })?;
    parse_str(&file, &text, path.parent().unwrap_or(Path::new(".")))
}

/// Validates plan text; `file_name` names it in diagnostics (its stem is the default name).
pub fn parse_str(file_name: &str, text: &str, base_dir: &Path) -> Result<Plan, SpecErrors> {
    let fail = |issues: Vec<Issue>| SpecErrors::Invalid {
        file: file_name.to_string(),
        diagnostics: error::locate(file_name, text, issues),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Err(fail(
            syntax
                .iter()
                .map(|e| {
                    Issue::new(
                        e.span().unwrap_or(0..0),
                        ErrorKind::Syntax { message: e.message().trim().to_string() },
                    )
                })
                .collect(),
        ));
    }
    let span = root.span();
    let mut table = root.into_inner();
    let mut issues = Vec::new();
    let mut suggested = Vec::new();
    crate::spec::schema::strip_unknown(&mut table, 0..0, &ROOT, &mut issues, &mut suggested);
    let de = toml::de::Deserializer::from(Spanned::new(span, table));
    let spec = match PlanFileSpec::deserialize(de) {
        Ok(s) => s,
        Err(e) => {
            issues.push(Issue::new(
                e.span().unwrap_or(0..0),
                ErrorKind::WrongType {
                    key: "(plan)".into(),
                    message: e.message().trim().to_string(),
                    example: None,
                },
            ));
            return Err(fail(issues));
        }
    };
    let default_name = Path::new(file_name)
        .file_stem()
        .map_or_else(|| "plan".to_string(), |s| s.to_string_lossy().into_owned());
    match validate(text, spec, &default_name, base_dir, &mut issues) {
        Some(p) if issues.is_empty() => Ok(p),
        _ => Err(fail(issues)),
    }
}

fn missing(issues: &mut Vec<Issue>, key: &'static str, table: &'static str, ex: &'static str) {
    issues.push(Issue::new(0..0, ErrorKind::MissingKey { key, table, example: ex }));
}

fn one_of(
    v: &S<String>,
    key: &'static str,
    valid: &'static [&'static str],
    issues: &mut Vec<Issue>,
) -> Option<usize> {
    let i = valid.iter().position(|k| *k == v.get_ref());
    if i.is_none() {
        issues.push(Issue::new(
            v.span(),
            ErrorKind::UnknownValue { key, given: v.get_ref().clone(), valid },
        ));
    }
    i
}

/// A duration in nanoseconds; besides the scenario units (`ns`, `us`, `ms`, `s`) a plan takes
/// `min` and `h` (maintenance windows are minutes and hours).
pub fn duration_ns(text: &str) -> Result<u64, units::UnitError> {
    let t = text.trim();
    for (suffix, mul) in [("min", 60u64), ("h", 3600)] {
        if let Some(num) = t.strip_suffix(suffix) {
            let s = units::parse(QuantityKind::Duration, &format!("{}s", num.trim()))?;
            if let Some(v) = s.checked_mul(mul) {
                return Ok(v);
            }
        }
    }
    units::parse(QuantityKind::Duration, t)
}

fn dur(q: &S<Quantity>, key: &'static str, issues: &mut Vec<Issue>) -> Option<u64> {
    let text = q.get_ref().to_string();
    match duration_ns(&text) {
        Ok(v) => Some(v),
        Err(source) => {
            issues.push(Issue::new(q.span(), ErrorKind::Unit { key: key.into(), source }));
            None
        }
    }
}

fn validate(
    text: &str,
    f: PlanFileSpec,
    default_name: &str,
    base_dir: &Path,
    issues: &mut Vec<Issue>,
) -> Option<Plan> {
    let Some(plan) = f.plan else {
        missing(issues, "plan", "the top level of a plan", "[plan] kind = \"nf\"");
        return None;
    };
    let p = plan.get_ref();
    let kind = match &p.kind {
        Some(k) => one_of(k, "kind", KINDS, issues)?,
        None => {
            missing(issues, "kind", "[plan]", r#"kind = "nf""#);
            return None;
        }
    };
    let nf = kind == 0;
    let seeds = p.seeds.as_ref().map_or(5, |s| *s.get_ref());
    if let Some(s) = p.seeds.as_ref().filter(|s| !(1..=1000).contains(s.get_ref())) {
        issues.push(Issue::new(
            s.span(),
            ErrorKind::OutOfRange {
                key: "seeds",
                what: "between 1 and 1000",
                got: s.get_ref().to_string(),
                example: "seeds = 5",
            },
        ));
    }
    let window_ns = p.window.as_ref().and_then(|w| dur(w, "window", issues));
    let metrics = if nf { NF_METRICS } else { DEVICE_METRICS };
    let objective = match &p.objective {
        Some(o) if metrics.contains(&o.get_ref().as_str()) => o.get_ref().clone(),
        Some(o) => {
            let valid = metrics;
            issues.push(Issue::new(
                o.span(),
                ErrorKind::UnknownValue { key: "objective", given: o.get_ref().clone(), valid },
            ));
            String::new()
        }
        None if nf => "move_duration_ms".into(),
        None => "window_min".into(),
    };

    // Alternatives.
    let mut alternatives = Vec::new();
    if f.alternatives.is_empty() {
        missing(issues, "alternatives", "the top level of a plan", "[[alternatives]]");
    }
    let mut names: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    for a in &f.alternatives {
        let s = a.get_ref();
        let how = if nf {
            for (k, v) in [("procedure", &s.procedure), ("ordering", &s.ordering)] {
                if let Some(v) = v {
                    issues.push(Issue::new(
                        v.span(),
                        ErrorKind::KeyNotForKind {
                            key: k,
                            what: "an alternative of an nf plan",
                            valid: &["name", "protocol", "start"],
                        },
                    ));
                }
            }
            let Some(proto) = &s.protocol else {
                issues.push(Issue::new(
                    a.span(),
                    ErrorKind::MissingKey {
                        key: "protocol",
                        table: "[[alternatives]]",
                        example: r#"protocol = "opennf-lf""#,
                    },
                ));
                continue;
            };
            one_of(proto, "protocol", PROTOCOLS, issues);
            let start_ns = match &s.start {
                Some(q) => dur(q, "start", issues).unwrap_or(0),
                None => window_ns.unwrap_or(0) / 3,
            };
            How::Move { protocol: proto.get_ref().clone(), start_ns }
        } else {
            for (k, v) in [("protocol", &s.protocol)] {
                if let Some(v) = v {
                    issues.push(Issue::new(
                        v.span(),
                        ErrorKind::KeyNotForKind {
                            key: k,
                            what: "an alternative of a device plan",
                            valid: &["name", "procedure", "ordering"],
                        },
                    ));
                }
            }
            if let Some(v) = &s.start {
                issues.push(Issue::new(
                    v.span(),
                    ErrorKind::KeyNotForKind {
                        key: "start",
                        what: "an alternative of a device plan",
                        valid: &["name", "procedure", "ordering"],
                    },
                ));
            }
            let Some(proc_) = &s.procedure else {
                issues.push(Issue::new(
                    a.span(),
                    ErrorKind::MissingKey {
                        key: "procedure",
                        table: "[[alternatives]]",
                        example: r#"procedure = "egret""#,
                    },
                ));
                continue;
            };
            let egret = one_of(proc_, "procedure", PROCEDURES, issues) == Some(1);
            let interleaved =
                s.ordering.as_ref().and_then(|o| one_of(o, "ordering", ORDERINGS, issues))
                    == Some(1);
            if interleaved && !egret {
                issues.push(Issue::new(
                    s.ordering.as_ref().map_or(a.span(), |o| o.span()),
                    ErrorKind::Conflict {
                        a: "procedure = \"mop\"",
                        b: "ordering = \"interleaved\"",
                        help: "a MOP is carried out step by step by one operator team (Egret \
                               2.5: \"operators always perform operations sequentially\"); \
                               interleave Egret jobs instead (procedure = \"egret\")",
                    },
                ));
            }
            How::Device { egret, interleaved }
        };
        let name = match (&s.name, &how) {
            (Some(n), _) => n.get_ref().clone(),
            (None, How::Move { protocol, start_ns }) if s.start.is_some() => {
                format!("{protocol} @{}ms", *start_ns as f64 / 1e6)
            }
            (None, How::Move { protocol, .. }) => protocol.clone(),
            (None, How::Device { egret, interleaved }) => format!(
                "{} {}",
                if *egret { "egret" } else { "mop" },
                if *interleaved { "interleaved" } else { "sequential" }
            ),
        };
        let span = s.name.as_ref().map_or(a.span(), |n| n.span());
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
            let first_line = error::line_col(text, first.start).0;
            issues.push(Issue::new(span, ErrorKind::DuplicateName { name, first_line }));
            continue;
        }
        names.push((name.clone(), span));
        alternatives.push(Alternative { name, how });
    }

    // Constraints.
    let mut constraints = Vec::new();
    if let Some(c) = &f.constraints {
        let c = c.get_ref();
        let count =
            |v: &Option<S<u64>>| v.as_ref().map(|v| (*v.get_ref() as f64, v.get_ref().to_string()));
        let ms = |v: &Option<S<Quantity>>, key, issues: &mut Vec<Issue>| {
            v.as_ref().and_then(|q| {
                dur(q, key, issues).map(|ns| (ns as f64 / 1e6, q.get_ref().to_string()))
            })
        };
        let vals: [(&'static str, Option<(f64, String)>); 9] = [
            ("max_downtime", ms(&c.max_downtime, "max_downtime", issues)),
            ("max_move_duration", ms(&c.max_move_duration, "max_move_duration", issues)),
            ("lost_updates", count(&c.lost_updates)),
            ("reordered_updates", count(&c.reordered_updates)),
            ("lost_packets", count(&c.lost_packets)),
            ("duplicate_outputs", count(&c.duplicate_outputs)),
            ("max_controller_buffer", count(&c.max_controller_buffer)),
            (
                "max_window",
                c.max_window.as_ref().and_then(|q| {
                    dur(q, "max_window", issues)
                        .map(|ns| (ns as f64 / 60e9, q.get_ref().to_string()))
                }),
            ),
            ("max_operations", count(&c.max_operations)),
        ];
        for (key, v) in vals {
            let Some((limit, shown)) = v else { continue };
            let metric = CONSTRAINT_METRICS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, m)| *m)
                .expect("invariant: every constraint key has a metric");
            if !metrics.contains(&metric) {
                issues.push(Issue::new(
                    0..0,
                    ErrorKind::KeyNotForKind {
                        key,
                        what: if nf {
                            "[constraints] of an nf plan"
                        } else {
                            "[constraints] of a device plan"
                        },
                        valid: if nf {
                            &[
                                "max_downtime",
                                "max_move_duration",
                                "lost_updates",
                                "reordered_updates",
                                "lost_packets",
                                "duplicate_outputs",
                                "max_controller_buffer",
                            ]
                        } else {
                            &["max_window", "max_operations"]
                        },
                    },
                ));
                continue;
            }
            constraints.push(Constraint { key, metric, limit, shown });
        }
    }

    let kind = if nf {
        if f.device.is_some() {
            issues.push(Issue::new(
                f.device.as_ref().map_or(0..0, |d| d.span()),
                ErrorKind::Conflict {
                    a: "kind = \"nf\"",
                    b: "[device]",
                    help: "an nf plan describes its [traffic]; [device] is for kind = \"device\"",
                },
            ));
        }
        let Some(window_ns) = window_ns else {
            if p.window.is_none() {
                missing(issues, "window", "[plan]", r#"window = "30ms""#);
            }
            return None;
        };
        let Some(t) = &f.traffic else {
            missing(
                issues,
                "traffic",
                "the top level of a plan",
                "[traffic] workload = \"websearch\"",
            );
            return None;
        };
        let t = t.get_ref();
        let traffic = match (&t.workload, &t.trace) {
            (Some(_), Some(tr)) => {
                issues.push(Issue::new(
                    tr.span(),
                    ErrorKind::Conflict {
                        a: "workload",
                        b: "trace",
                        help: "give a workload at a load, or a trace, not both",
                    },
                ));
                return None;
            }
            (None, Some(tr)) => {
                let path = base_dir.join(tr.get_ref());
                match workloads::Trace::from_path(&path) {
                    Ok(trace) => Traffic::Trace { path, flows: trace.flows },
                    Err(e) => {
                        issues.push(Issue::new(
                            tr.span(),
                            ErrorKind::Trace { path: tr.get_ref().clone(), reason: e.to_string() },
                        ));
                        return None;
                    }
                }
            }
            (w, None) => {
                let name = w.as_ref().map_or("websearch".to_string(), |w| w.get_ref().clone());
                let dist = match resolve_dist(&name, base_dir) {
                    Ok(d) => d,
                    Err(reason) => {
                        let span = w.as_ref().map_or(0..0, |w| w.span());
                        issues.push(Issue::new(
                            span,
                            ErrorKind::Distribution { given: name.clone(), reason },
                        ));
                        return None;
                    }
                };
                let load = t.load.as_ref().map_or(0.5, |l| *l.get_ref());
                if let Some(l) =
                    t.load.as_ref().filter(|l| !(*l.get_ref() > 0.0 && *l.get_ref() <= 1.0))
                {
                    issues.push(Issue::new(
                        l.span(),
                        ErrorKind::OutOfRange {
                            key: "load",
                            what: "in (0, 1], a fraction of the 10 Gbps access link",
                            got: l.get_ref().to_string(),
                            example: "load = 0.5",
                        },
                    ));
                }
                Traffic::Workload { name, dist, load }
            }
        };
        let share = t.share.as_ref().map_or(1.0, |s| *s.get_ref());
        if let Some(s) = t.share.as_ref().filter(|s| !(*s.get_ref() > 0.0 && *s.get_ref() <= 1.0)) {
            issues.push(Issue::new(
                s.span(),
                ErrorKind::OutOfRange {
                    key: "share",
                    what: "in (0, 1], the fraction of the flow space moved",
                    got: s.get_ref().to_string(),
                    example: "share = 0.5",
                },
            ));
        }
        let buffer = t.buffer.as_ref().map_or(10_000, |b| *b.get_ref());
        let mut faults = Vec::new();
        for fs in &f.faults {
            let s = fs.get_ref();
            let kind = fault_kind(fs, r#"kind = "link-down""#, issues);
            let dst = s.node.as_ref().map_or(Some(1), |n| one_of(n, "node", FAULT_NODES, issues));
            let at = fault_at(fs, Some(window_ns), r#"at = "12ms" (or "random")"#, issues);
            let duration_ns = match &s.duration {
                Some(q) => dur(q, "duration", issues),
                None => Some(2_000_000),
            };
            if let (Some(kind), Some(d), Some(at), Some(duration_ns)) = (kind, dst, at, duration_ns)
            {
                faults.push(Fault { kind, dst: d == 1, at, duration_ns });
            }
        }
        PlanKind::Nf(NfPlan { window_ns, traffic, share, buffer, faults })
    } else {
        if let Some(t) = &f.traffic {
            issues.push(Issue::new(
                t.span(),
                ErrorKind::Conflict {
                    a: "kind = \"device\"",
                    b: "[traffic]",
                    help: "a device plan counts operations and window minutes; [traffic] is for \
                           kind = \"nf\"",
                },
            ));
        }
        let Some(d) = &f.device else {
            missing(issues, "device", "the top level of a plan", r#"[device] job = "mme-upgrade""#);
            return None;
        };
        let d = d.get_ref();
        let job = match &d.job {
            Some(j) => one_of(j, "job", DEVICE_JOBS, issues)?,
            None => {
                missing(issues, "job", "[device]", r#"job = "mme-upgrade""#);
                return None;
            }
        };
        let job = if job == 0 { DeviceJob::PeRouterDrain } else { DeviceJob::MmeUpgrade };
        let pool = d.pool.as_ref().map_or(11, |p| *p.get_ref());
        let devices = d.devices.as_ref().map_or(1, |p| *p.get_ref());
        if let Some(x) = d.devices.as_ref().filter(|x| *x.get_ref() == 0 || *x.get_ref() > pool) {
            issues.push(Issue::new(
                x.span(),
                ErrorKind::OutOfRange {
                    key: "devices",
                    what: "between 1 and the pool's size",
                    got: x.get_ref().to_string(),
                    example: "devices = 3",
                },
            ));
        }
        if let Some(x) = d.pool.as_ref().filter(|x| !(2..=1000).contains(x.get_ref())) {
            issues.push(Issue::new(
                x.span(),
                ErrorKind::OutOfRange {
                    key: "pool",
                    what: "between 2 and 1000",
                    got: x.get_ref().to_string(),
                    example: "pool = 11",
                },
            ));
        }
        let min = |q: &Option<S<Quantity>>, key, default: f64, issues: &mut Vec<Issue>| {
            q.as_ref().map_or(Some(default), |q| dur(q, key, issues).map(|ns| ns as f64 / 60e9))
        };
        let op_min = min(&d.op_time, "op_time", 1.0, issues)?;
        let upgrade_min = min(&d.upgrade_time, "upgrade_time", 30.0, issues)?;
        let headroom = d.headroom.as_ref().map_or(1.5, |h| *h.get_ref());
        if let Some(h) =
            d.headroom.as_ref().filter(|h| h.get_ref().partial_cmp(&1.0).is_none_or(|o| o.is_lt()))
        {
            issues.push(Issue::new(
                h.span(),
                ErrorKind::OutOfRange {
                    key: "headroom",
                    what: "at least 1 (a multiple of a member's base share)",
                    got: h.get_ref().to_string(),
                    example: "headroom = 1.5",
                },
            ));
        }
        let spread =
            |v: &Option<S<f64>>, key: &'static str, ex: &'static str, issues: &mut Vec<Issue>| {
                let x = v.as_ref().map_or(0.0, |x| *x.get_ref());
                if let Some(v) = v.as_ref().filter(|_| !(0.0..=3.0).contains(&x)) {
                    issues.push(Issue::new(
                        v.span(),
                        ErrorKind::OutOfRange {
                            key,
                            what: "between 0 and 3 (the standard deviation of the duration's log)",
                            got: x.to_string(),
                            example: ex,
                        },
                    ));
                }
                x
            };
        let op_spread = spread(&d.op_spread, "op_spread", "op_spread = 0.5", issues);
        let upgrade_spread =
            spread(&d.upgrade_spread, "upgrade_spread", "upgrade_spread = 0.2", issues);
        let window_min = window_ns.map(|ns| ns as f64 / 60e9);
        let faults = device_faults(&f.faults, job, devices, pool, window_ns, upgrade_min, issues);
        PlanKind::Device(DevicePlan {
            job,
            devices,
            pool,
            op_min,
            upgrade_min,
            headroom,
            op_spread,
            upgrade_spread,
            window_min,
            faults,
        })
    };
    Some(Plan {
        name: p.name.as_ref().map_or(default_name.to_string(), |n| n.get_ref().clone()),
        target: p.target.as_ref().map_or(String::new(), |t| t.get_ref().clone()),
        kind,
        seeds,
        seed: p.seed.as_ref().map_or(1, |s| *s.get_ref()),
        objective,
        alternatives,
        constraints,
    })
}

/// A device plan's `[[faults]]`: a pool member's link going down (MME pool only), or the
/// upgraded device failing to come back (`instance-fail`, no `node`: the device that fails is
/// the first whose upgrade has not finished by `at`).
fn device_faults(
    faults: &[S<FaultSpec>],
    job: DeviceJob,
    devices: u32,
    pool: u32,
    window_ns: Option<u64>,
    upgrade_min: f64,
    issues: &mut Vec<Issue>,
) -> Vec<DeviceFault> {
    let mut out = Vec::new();
    for fs in faults {
        let s = fs.get_ref();
        let kind = fault_kind(fs, r#"kind = "instance-fail""#, issues);
        let mut member = None;
        match (kind, &s.node) {
            (Some(FaultKind::LinkDown), _) if job == DeviceJob::PeRouterDrain => {
                issues.push(Issue::new(
                    s.kind.as_ref().map_or(fs.span(), |k| k.span()),
                    ErrorKind::Conflict {
                        a: "job = \"pe-router-drain\"",
                        b: "kind = \"link-down\"",
                        help: "a PE router drains locally: its OSPF costs are interface \
                               configuration that outlives a link failure, so neither the MOP \
                               nor Egret has a step to redo; rehearse the upgrade failing \
                               instead (kind = \"instance-fail\")",
                    },
                ));
            }
            (Some(FaultKind::LinkDown), None) => issues.push(Issue::new(
                fs.span(),
                ErrorKind::MissingKey {
                    key: "node",
                    table: "[[faults]] of a device plan",
                    example: r#"node = "MME-11" (a pool member the plan does not upgrade)"#,
                },
            )),
            (Some(FaultKind::LinkDown), Some(n)) => {
                let m = n.get_ref().strip_prefix("MME-").and_then(|x| x.parse::<u32>().ok());
                match m.filter(|&m| m > devices && m <= pool) {
                    Some(m) => member = Some(m),
                    None => issues.push(Issue::new(
                        n.span(),
                        ErrorKind::OutOfRange {
                            key: "node",
                            what: "a pool member the plan does not upgrade: MME-<devices + 1> \
                                   to MME-<pool> (the upgraded ones are MME-1 to \
                                   MME-<devices>)",
                            got: n.get_ref().clone(),
                            example: r#"node = "MME-11""#,
                        },
                    )),
                }
            }
            (Some(FaultKind::InstanceFail), Some(n)) => issues.push(Issue::new(
                n.span(),
                ErrorKind::Conflict {
                    a: "kind = \"instance-fail\"",
                    b: "node",
                    help: "on a device plan the device that fails to come back is the first \
                           whose upgrade has not finished at `at`; leave `node` out",
                },
            )),
            _ => {}
        }
        let at = fault_at(fs, window_ns, r#"at = "40min" (or "random")"#, issues);
        let duration_ns = match &s.duration {
            Some(q) => dur(q, "duration", issues),
            None => Some((upgrade_min * 60e9) as u64),
        };
        if let (Some(kind), Some(at), Some(duration_ns)) = (kind, at, duration_ns) {
            out.push(DeviceFault { kind, member, at, duration_ns });
        }
    }
    out
}

/// A fault's `kind` (`missing`: the example the error gives when it is absent).
fn fault_kind(
    fs: &S<FaultSpec>,
    missing: &'static str,
    issues: &mut Vec<Issue>,
) -> Option<FaultKind> {
    let k = match &fs.get_ref().kind {
        Some(k) => one_of(k, "kind", FAULT_KINDS, issues)?,
        None => {
            issues.push(Issue::new(
                fs.span(),
                ErrorKind::MissingKey { key: "kind", table: "[[faults]]", example: missing },
            ));
            return None;
        }
    };
    Some(if k == 0 { FaultKind::LinkDown } else { FaultKind::InstanceFail })
}

/// A fault's `at`: a time inside the plan's window, or "random" (uniform in the window, so
/// the plan needs one). `missing`: the example the error gives when `at` is absent.
fn fault_at(
    fs: &S<FaultSpec>,
    window_ns: Option<u64>,
    missing: &'static str,
    issues: &mut Vec<Issue>,
) -> Option<FaultAt> {
    let Some(q) = &fs.get_ref().at else {
        issues.push(Issue::new(
            fs.span(),
            ErrorKind::MissingKey { key: "at", table: "[[faults]]", example: missing },
        ));
        return None;
    };
    if q.get_ref().to_string() == "random" {
        if window_ns.is_none() {
            issues.push(Issue::new(
                q.span(),
                ErrorKind::MissingKey {
                    key: "window",
                    table: "[plan]: a random fault time is drawn in the plan's window (or give \
                            `at` a time)",
                    example: r#"window = "2h""#,
                },
            ));
        }
        return Some(FaultAt::Random);
    }
    let t = dur(q, "at", issues)?;
    if window_ns.is_some_and(|w| t >= w) {
        issues.push(Issue::new(
            q.span(),
            ErrorKind::OutOfRange {
                key: "at",
                what: "inside the plan's window",
                got: q.get_ref().to_string(),
                example: r#"at = "random""#,
            },
        ));
    }
    Some(FaultAt::At(t))
}

/// A catalog name, or a CDF CSV path relative to the plan's folder.
fn resolve_dist(name: &str, base_dir: &Path) -> Result<workloads::FlowSizeDist, String> {
    if let Some(d) = workloads::builtin(name) {
        return Ok(d);
    }
    let p = base_dir.join(name);
    if p.is_file() {
        workloads::FlowSizeDist::from_path(&p).map_err(|e| e.to_string())
    } else {
        Err(format!("no built-in distribution and no file {} by that name", p.display()))
    }
}
