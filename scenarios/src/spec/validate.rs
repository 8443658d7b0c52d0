//! `ScenarioSpec` (what the file says) to `ScenarioConfig` (what the driver runs): units
//! parsed, names resolved to indices, defaults filled in, every cross-reference checked.
//! Every problem is collected, not only the first.
//!
//! The defaults, and where each comes from, are documented in `docs/scenarios.md`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::ops::Range;

use base::{Bps, Dur, Time};
use models::controller::ControllerConfig;
use models::nf::{NfConfig, StateUpdates};
use models::opennf::OpenNfConfig;
use models::oracle::Guarantee;
use models::reroute::RerouteConfig;
use models::switch::{Action, Match, Prefix, SwitchConfig, TableMiss, UpdateLatency};
use toml::Spanned;
use workloads::FlowSizeDist;

use super::error::{ErrorKind, Issue};
use super::raw::*;
use super::schema::{self, TableSchema};
use super::units::{self, QuantityKind, UnitError};
use crate::config::*;

/// Default master seed.
pub const DEFAULT_SEED: u64 = 1;
/// Default time the run may take to drain after `duration`.
pub const DEFAULT_DRAIN_LIMIT: Dur = Dur::from_secs(1);
/// Default one-way controller latency to every switch and NF (our assumption; see the docs).
pub const DEFAULT_CONTROL_LATENCY: Dur = Dur::from_micros(100);
/// Default name of the controller node.
pub const DEFAULT_CONTROLLER_NAME: &str = "controller";
/// Default rule priority: the lowest, so any explicit priority wins.
pub const DEFAULT_RULE_PRIORITY: u16 = 0;
/// Largest offered load accepted (a fraction of the reference rate).
pub const MAX_LOAD: f64 = 10.0;

pub const NODE_KINDS: &[&str] = &["source", "sink", "switch", "nf"];
const SOURCE_KEYS: &[&str] = &["name", "kind"];
const SWITCH_KEYS: &[&str] =
    &["name", "kind", "table_capacity", "update", "table_miss", "ingress", "rules"];
const NF_KEYS: &[&str] = &[
    "name",
    "kind",
    "service",
    "rate",
    "queue",
    "state_bytes",
    "export_per_flow",
    "import_per_flow",
    "state_updates",
    "selective_cloning",
    "fit_window",
];
const STATE_UPDATES: &[&str] = &["every-packet", "connection-events", "stateless"];
const HARDWARE_KEYS: &[&str] = &["model", "min", "max", "mean"];
const SOFTWARE_KEYS: &[&str] = &["model", "per_rule"];
const TIMELINE_ACTIONS: &[&str] =
    &["move", "link_down", "link_up", "nf_fail", "nf_restore", "set_load"];

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    Source,
    Sink,
    Switch,
    Nf,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Source => "a source",
            Kind::Sink => "a sink",
            Kind::Switch => "a switch",
            Kind::Nf => "an nf",
        }
    }
}

/// Collects issues while validating.
struct Cx {
    issues: Vec<Issue>,
    /// Node names in file order (`None`: the node has no usable name).
    names: Vec<Option<String>>,
    kinds: Vec<Option<Kind>>,
    by_name: BTreeMap<String, usize>,
    controller_name: Option<String>,
    /// Neighbours of each node, in link order.
    adj: Vec<Vec<usize>>,
    /// `(min, max)` node pair to link index and the link's span.
    links: BTreeMap<(usize, usize), (usize, Range<usize>)>,
    line_starts: Vec<usize>,
    controller_span: Range<usize>,
}

impl Cx {
    fn push(&mut self, span: Range<usize>, kind: ErrorKind) {
        self.issues.push(Issue::new(span, kind));
    }

    fn quantity(&mut self, key: &str, q: &Spanned<Quantity>, kind: QuantityKind) -> Option<u64> {
        let r = match q.get_ref() {
            Quantity::Text(t) => units::parse(kind, t),
            Quantity::Int(0) => Ok(0),
            Quantity::Float(x) if *x == 0.0 => Ok(0),
            Quantity::Int(i) if *i < 0 => Err(UnitError::Negative { kind, text: i.to_string() }),
            Quantity::Float(x) if *x < 0.0 => {
                Err(UnitError::Negative { kind, text: x.to_string() })
            }
            Quantity::Float(x) if !x.is_finite() => {
                Err(UnitError::NotANumber { kind, text: x.to_string() })
            }
            other => Err(UnitError::MissingUnit { kind, text: other.to_string() }),
        };
        match r {
            Ok(v) => Some(v),
            Err(source) => {
                self.push(q.span(), ErrorKind::Unit { key: key.to_string(), source });
                None
            }
        }
    }

    /// A duration, `default` if absent (or invalid: the error is recorded).
    fn dur(&mut self, key: &str, q: &Option<Spanned<Quantity>>, default: Dur) -> Dur {
        q.as_ref()
            .and_then(|q| self.quantity(key, q, QuantityKind::Duration))
            .map_or(default, Dur::from_nanos)
    }

    /// A duration that must be above zero.
    fn positive_dur(
        &mut self,
        key: &'static str,
        q: &Option<Spanned<Quantity>>,
        default: Dur,
        example: &'static str,
    ) -> Dur {
        let d = self.dur(key, q, default);
        if let (Some(q), true) = (q, d == Dur::ZERO) {
            self.push(
                q.span(),
                ErrorKind::OutOfRange {
                    key,
                    what: "above zero",
                    got: q.get_ref().to_string(),
                    example,
                },
            );
            return default;
        }
        d
    }

    /// A rate that must be above zero (`None` if absent or invalid).
    fn rate(&mut self, key: &'static str, q: &Spanned<Quantity>) -> Option<Bps> {
        let v = self.quantity(key, q, QuantityKind::Rate)?;
        if v == 0 {
            self.push(
                q.span(),
                ErrorKind::Unit {
                    key: key.to_string(),
                    source: UnitError::Negative {
                        kind: QuantityKind::Rate,
                        text: q.get_ref().to_string(),
                    },
                },
            );
            return None;
        }
        Some(Bps(v))
    }

    fn missing(&mut self, span: Range<usize>, key: &'static str, table: &'static TableSchema) {
        let example = table.example(key).unwrap_or("");
        self.push(span, ErrorKind::MissingKey { key, table: table.name, example });
    }

    fn known_names(&self) -> Vec<String> {
        self.names.iter().flatten().cloned().collect()
    }

    /// Resolves a node name.
    fn node(&mut self, name: &Spanned<String>, role: &'static str) -> Option<usize> {
        if let Some(&i) = self.by_name.get(name.get_ref()) {
            return Some(i);
        }
        if self.controller_name.as_deref() == Some(name.get_ref().as_str()) {
            self.push(
                name.span(),
                ErrorKind::WrongNodeKind {
                    name: name.get_ref().clone(),
                    found: "the controller",
                    role,
                    expected: "a source, sink, switch or nf node (the controller is reached \
                               out of band, after `control_latency`)",
                },
            );
            return None;
        }
        let known = self.known_names();
        self.push(
            name.span(),
            ErrorKind::DanglingNode { name: name.get_ref().clone(), role, known },
        );
        None
    }

    /// Resolves a node name that must be of kind `want`.
    fn node_of(&mut self, name: &Spanned<String>, role: &'static str, want: Kind) -> Option<usize> {
        let i = self.node(name, role)?;
        match self.kinds[i] {
            Some(k) if k == want => Some(i),
            Some(k) => {
                self.push(
                    name.span(),
                    ErrorKind::WrongNodeKind {
                        name: name.get_ref().clone(),
                        found: k.noun(),
                        role,
                        expected: want.noun(),
                    },
                );
                None
            }
            None => None, // its kind is already reported
        }
    }

    /// Resolves a neighbour of switch `sw` by name.
    fn neighbour(
        &mut self,
        sw: usize,
        name: &Spanned<String>,
        role: &'static str,
    ) -> Option<usize> {
        let i = self.node(name, role)?;
        if self.adj[sw].contains(&i) {
            return Some(i);
        }
        let neighbours = self.adj[sw].iter().filter_map(|&n| self.names[n].clone()).collect();
        let switch = self.names[sw].clone().unwrap_or_default();
        self.push(
            name.span(),
            ErrorKind::NotNeighbour { name: name.get_ref().clone(), switch, role, neighbours },
        );
        None
    }

    fn link_between(&self, a: usize, b: usize) -> Option<usize> {
        self.links.get(&(a.min(b), a.max(b))).map(|(i, _)| *i)
    }

    fn controller_needed(&mut self, span: Range<usize>, what: String) {
        if self.controller_name.is_none() {
            self.push(span, ErrorKind::NeedsController { what });
        }
    }

    /// 1-based line of a span's start (for "first on line N" hints).
    fn line_of(&self, span: &Range<usize>) -> usize {
        self.line_starts.partition_point(|&s| s <= span.start).max(1)
    }
}

impl TryFrom<ScenarioSpec> for ScenarioConfig {
    type Error = Vec<Issue>;

    fn try_from(spec: ScenarioSpec) -> Result<ScenarioConfig, Vec<Issue>> {
        let mut cx = Cx {
            issues: Vec::new(),
            names: Vec::new(),
            kinds: Vec::new(),
            by_name: BTreeMap::new(),
            controller_name: None,
            adj: vec![Vec::new(); spec.nodes.len()],
            links: BTreeMap::new(),
            line_starts: spec.line_starts.clone(),
            controller_span: 0..0,
        };
        let config = build(&mut cx, &spec);
        if cx.issues.is_empty() {
            Ok(config)
        } else {
            Err(cx.issues)
        }
    }
}

fn build(cx: &mut Cx, spec: &ScenarioSpec) -> ScenarioConfig {
    let root_span = 0..0;
    let name = match &spec.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            cx.push(
                n.span(),
                ErrorKind::OutOfRange {
                    key: "name",
                    what: "a non-empty string",
                    got: "\"\"".into(),
                    example: r#"name = "reroute-mid-stream""#,
                },
            );
            String::new()
        }
        Some(n) => n.get_ref().clone(),
        None => spec.default_name.clone(),
    };
    let seed = spec.seed.as_ref().map_or(DEFAULT_SEED, |s| *s.get_ref());
    let replications = match &spec.replications {
        Some(r) if *r.get_ref() == 0 => {
            cx.push(
                r.span(),
                ErrorKind::OutOfRange {
                    key: "replications",
                    what: "at least 1",
                    got: "0".into(),
                    example: "replications = 1",
                },
            );
            1
        }
        Some(r) => *r.get_ref(),
        None => 1,
    };
    if spec.duration.is_none() {
        cx.missing(root_span.clone(), "duration", &schema::ROOT);
    }
    let duration =
        cx.positive_dur("duration", &spec.duration, Dur::from_millis(1), r#"duration = "100ms""#);
    let drain_limit = cx.dur("drain_limit", &spec.drain_limit, DEFAULT_DRAIN_LIMIT);

    // The controller first: its name must be known when links and rules are checked.
    let defaults = ControllerConfig::default();
    let (controller, control_latency, control_jitter) = match &spec.controller {
        Some(c) => {
            let c_span = c.span();
            let c = c.get_ref();
            let name = c
                .name
                .as_ref()
                .map_or(DEFAULT_CONTROLLER_NAME.to_string(), |n| n.get_ref().clone());
            cx.controller_name = Some(name.clone());
            cx.controller_span = c.name.as_ref().map_or(c_span, |n| n.span());
            let cfg = ControllerConfig {
                per_msg: cx.dur("per_msg", &c.per_msg, defaults.per_msg),
                buffer_capacity: c
                    .buffer_capacity
                    .as_ref()
                    .map_or(defaults.buffer_capacity, |b| *b.get_ref()),
            };
            let lat = cx.dur("control_latency", &c.control_latency, DEFAULT_CONTROL_LATENCY);
            let jitter = cx.dur("control_jitter", &c.control_jitter, Dur::ZERO);
            let ordered = c.control_ordered.as_ref().is_none_or(|o| *o.get_ref());
            let jitter = (jitter > Dur::ZERO).then_some(ControlJitter { max: jitter, ordered });
            (Some((name, cfg)), lat, jitter)
        }
        None => (None, DEFAULT_CONTROL_LATENCY, None),
    };

    nodes_pass1(cx, spec);
    let links = links(cx, spec);
    let mut nodes = nodes_pass2(cx, spec);
    if let Some((name, cfg)) = controller {
        nodes.push(NodeConfig { name, kind: NodeKind::Controller(cfg) });
    }
    let workloads = workloads(cx, spec, &links);
    let protocol = protocol(cx, spec);
    let end = duration.as_nanos().saturating_add(drain_limit.as_nanos());
    let timeline = timeline(cx, spec, end, &workloads);
    let metrics = metrics(cx, spec);

    ScenarioConfig {
        name,
        seed,
        replications,
        duration,
        drain_limit,
        nodes,
        links,
        control_latency,
        control_jitter,
        workloads,
        protocol,
        timeline,
        metrics,
    }
}

/// Names and kinds of every node (needed before links and rules can be checked).
fn nodes_pass1(cx: &mut Cx, spec: &ScenarioSpec) {
    let mut first: BTreeMap<String, Range<usize>> = BTreeMap::new();
    for (i, n) in spec.nodes.iter().enumerate() {
        let node = n.get_ref();
        let name = match &node.name {
            None => {
                cx.missing(n.span(), "name", &schema::NODE);
                None
            }
            Some(s) if s.get_ref().trim().is_empty() => {
                cx.push(
                    s.span(),
                    ErrorKind::OutOfRange {
                        key: "name",
                        what: "a non-empty string",
                        got: "\"\"".into(),
                        example: r#"name = "s1""#,
                    },
                );
                None
            }
            Some(s) => {
                let name = s.get_ref().clone();
                if let Some(prev) = first.get(&name) {
                    let first_line = cx.line_of(prev);
                    cx.push(s.span(), ErrorKind::DuplicateName { name: name.clone(), first_line });
                } else if cx.controller_name.as_deref() == Some(name.as_str()) {
                    let first_line = cx.line_of(&cx.controller_span);
                    cx.push(s.span(), ErrorKind::DuplicateName { name: name.clone(), first_line });
                } else {
                    first.insert(name.clone(), s.span());
                    cx.by_name.insert(name.clone(), i);
                }
                Some(name)
            }
        };
        let kind = match &node.kind {
            None => {
                cx.missing(n.span(), "kind", &schema::NODE);
                None
            }
            Some(k) => match k.get_ref().as_str() {
                "source" => Some(Kind::Source),
                "sink" => Some(Kind::Sink),
                "switch" => Some(Kind::Switch),
                "nf" => Some(Kind::Nf),
                other => {
                    cx.push(
                        k.span(),
                        ErrorKind::UnknownValue {
                            key: "kind",
                            given: other.into(),
                            valid: NODE_KINDS,
                        },
                    );
                    None
                }
            },
        };
        cx.names.push(name);
        cx.kinds.push(kind);
    }
}

fn links(cx: &mut Cx, spec: &ScenarioSpec) -> Vec<LinkConfig> {
    let mut out = Vec::new();
    for l in &spec.links {
        let link = l.get_ref();
        let ends = match &link.between {
            None => {
                cx.missing(l.span(), "between", &schema::LINK);
                None
            }
            Some(b) if b.get_ref().len() != 2 => {
                cx.push(
                    b.span(),
                    ErrorKind::OutOfRange {
                        key: "between",
                        what: "a list of two node names",
                        got: format!("{} names", b.get_ref().len()),
                        example: r#"between = ["h1", "s1"]"#,
                    },
                );
                None
            }
            Some(b) => {
                let (x, y) = (&b.get_ref()[0], &b.get_ref()[1]);
                let a = cx.node(x, "an end of [[links]]");
                let c = cx.node(y, "an end of [[links]]");
                match (a, c) {
                    (Some(a), Some(c)) if a == c => {
                        cx.push(b.span(), ErrorKind::SelfLink { name: x.get_ref().clone() });
                        None
                    }
                    (Some(a), Some(c)) => {
                        let key = (a.min(c), a.max(c));
                        if let Some((_, first)) = cx.links.get(&key) {
                            let first_line = cx.line_of(first);
                            cx.push(
                                b.span(),
                                ErrorKind::DuplicateLink {
                                    a: x.get_ref().clone(),
                                    b: y.get_ref().clone(),
                                    first_line,
                                },
                            );
                            None
                        } else {
                            Some((a, c))
                        }
                    }
                    _ => None,
                }
            }
        };
        let rate = match &link.rate {
            None => {
                cx.missing(l.span(), "rate", &schema::LINK);
                None
            }
            Some(r) => cx.rate("rate", r),
        };
        let delay = cx.dur("delay", &link.delay, Dur::ZERO);
        let max_waiting_bytes = link
            .queue_bytes
            .as_ref()
            .and_then(|q| cx.quantity("queue_bytes", q, QuantityKind::Size));
        let loss = match &link.loss {
            None => 0.0,
            Some(p) => {
                let v = *p.get_ref();
                if !(0.0..=1.0).contains(&v) {
                    cx.push(
                        p.span(),
                        ErrorKind::OutOfRange {
                            key: "loss",
                            what: "a probability in [0, 1]",
                            got: v.to_string(),
                            example: "loss = 0.001",
                        },
                    );
                }
                v
            }
        };
        if let (Some((a, b)), Some(rate)) = (ends, rate) {
            let idx = out.len();
            cx.links.insert((a.min(b), a.max(b)), (idx, l.span()));
            cx.adj[a].push(b);
            cx.adj[b].push(a);
            out.push(LinkConfig {
                a: NodeIdx(a as u32),
                b: NodeIdx(b as u32),
                rate,
                delay,
                max_waiting_pkts: link.queue.as_ref().map(|q| *q.get_ref()),
                max_waiting_bytes,
                loss,
            });
        } else if let Some((a, b)) = ends {
            // Keep the topology for later checks even when the rate is wrong.
            cx.links.insert((a.min(b), a.max(b)), (usize::MAX, l.span()));
            cx.adj[a].push(b);
            cx.adj[b].push(a);
        }
    }
    out
}

/// Every node's configuration, once the topology is known.
fn nodes_pass2(cx: &mut Cx, spec: &ScenarioSpec) -> Vec<NodeConfig> {
    let mut out = Vec::with_capacity(spec.nodes.len() + 1);
    for (i, n) in spec.nodes.iter().enumerate() {
        let node = n.get_ref();
        let name = cx.names[i].clone().unwrap_or_default();
        let kind = match cx.kinds[i] {
            Some(Kind::Source) => {
                stray_keys(cx, node, SOURCE_KEYS, "source nodes");
                let count = cx.adj[i].len();
                if count != 1 {
                    let span = node.name.as_ref().map_or(n.span(), |s| s.span());
                    cx.push(span, ErrorKind::SourceLinks { name: name.clone(), count });
                }
                NodeKind::Source
            }
            Some(Kind::Sink) => {
                stray_keys(cx, node, SOURCE_KEYS, "sink nodes");
                on_switch(cx, i, n, "sink");
                NodeKind::Sink
            }
            Some(Kind::Nf) => {
                stray_keys(cx, node, NF_KEYS, "nf nodes");
                on_switch(cx, i, n, "nf");
                NodeKind::Nf(nf(cx, node))
            }
            Some(Kind::Switch) => {
                stray_keys(cx, node, SWITCH_KEYS, "switch nodes");
                NodeKind::Switch(switch(cx, i, node))
            }
            None => NodeKind::Sink, // already reported; the config is discarded
        };
        out.push(NodeConfig { name, kind });
    }
    out
}

fn on_switch(cx: &mut Cx, i: usize, n: &Spanned<NodeSpec>, kind: &'static str) {
    if !cx.adj[i].iter().any(|&j| cx.kinds[j] == Some(Kind::Switch)) {
        let span = n.get_ref().name.as_ref().map_or(n.span(), |s| s.span());
        let name = cx.names[i].clone().unwrap_or_default();
        cx.push(span, ErrorKind::NotOnSwitch { name, kind });
    }
}

/// Keys given that belong to another kind of node.
fn stray_keys(cx: &mut Cx, n: &NodeSpec, valid: &'static [&'static str], what: &'static str) {
    let present: [(&'static str, Option<Range<usize>>); 14] = [
        ("table_capacity", n.table_capacity.as_ref().map(|v| v.span())),
        ("update", n.update.as_ref().map(|v| v.span())),
        ("table_miss", n.table_miss.as_ref().map(|v| v.span())),
        ("ingress", n.ingress.as_ref().map(|v| v.span())),
        ("rules", n.rules.as_ref().map(|v| v.span())),
        ("service", n.service.as_ref().map(|v| v.span())),
        ("rate", n.rate.as_ref().map(|v| v.span())),
        ("queue", n.queue.as_ref().map(|v| v.span())),
        ("state_bytes", n.state_bytes.as_ref().map(|v| v.span())),
        ("export_per_flow", n.export_per_flow.as_ref().map(|v| v.span())),
        ("import_per_flow", n.import_per_flow.as_ref().map(|v| v.span())),
        ("state_updates", n.state_updates.as_ref().map(|v| v.span())),
        ("selective_cloning", n.selective_cloning.as_ref().map(|v| v.span())),
        ("fit_window", n.fit_window.as_ref().map(|v| v.span())),
    ];
    for (key, span) in present {
        if let (Some(span), false) = (span, valid.contains(&key)) {
            cx.push(span, ErrorKind::KeyNotForKind { key, what, valid });
        }
    }
}

fn nf(cx: &mut Cx, n: &NodeSpec) -> NfConfig {
    let d = NfConfig::default();
    let service = match (&n.service, &n.rate) {
        (Some(s), Some(_)) => {
            cx.push(
                s.span(),
                ErrorKind::Conflict {
                    a: "service",
                    b: "rate",
                    help: "give the per-packet `service` time or the packet `rate` (service = 1/rate), not both",
                },
            );
            d.service
        }
        (Some(_), None) => cx.positive_dur("service", &n.service, d.service, r#"service = "1us""#),
        (None, Some(r)) => match cx.quantity("rate", r, QuantityKind::PacketRate) {
            Some(pps) if pps > 0 && pps <= 1_000_000_000 => {
                // Rounded to the nearest nanosecond: the engine's resolution.
                Dur::from_nanos((1_000_000_000 + pps / 2) / pps)
            }
            Some(_) => {
                cx.push(
                    r.span(),
                    ErrorKind::OutOfRange {
                        key: "rate",
                        what: "between 1pps and 1Gpps (service time 1 s to 1 ns)",
                        got: r.get_ref().to_string(),
                        example: r#"rate = "1Mpps""#,
                    },
                );
                d.service
            }
            None => d.service,
        },
        (None, None) => d.service,
    };
    let state_updates = match &n.state_updates {
        None => d.state_updates,
        Some(v) => match v.get_ref().as_str() {
            "every-packet" => StateUpdates::EveryPacket,
            "connection-events" => StateUpdates::ConnectionEvents,
            "stateless" => StateUpdates::Stateless,
            other => {
                cx.push(
                    v.span(),
                    ErrorKind::UnknownValue {
                        key: "state_updates",
                        given: other.into(),
                        valid: STATE_UPDATES,
                    },
                );
                d.state_updates
            }
        },
    };
    NfConfig {
        service,
        queue_capacity: n.queue.as_ref().map_or(d.queue_capacity, |q| *q.get_ref()),
        state_bytes_per_flow: n
            .state_bytes
            .as_ref()
            .map_or(d.state_bytes_per_flow, |q| *q.get_ref()),
        export_per_flow: cx.dur("export_per_flow", &n.export_per_flow, d.export_per_flow),
        import_per_flow: cx.dur("import_per_flow", &n.import_per_flow, d.import_per_flow),
        state_updates,
        selective_cloning: n
            .selective_cloning
            .as_ref()
            .map_or(d.selective_cloning, |b| *b.get_ref()),
        fit_window: cx.positive_dur(
            "fit_window",
            &n.fit_window,
            d.fit_window,
            "fit_window = \"100ms\"",
        ),
    }
}

fn switch(cx: &mut Cx, i: usize, n: &NodeSpec) -> SwitchNode {
    let d = SwitchConfig::default();
    let table_capacity = match &n.table_capacity {
        None => d.table_capacity,
        Some(c) => match usize::try_from(*c.get_ref()) {
            Ok(v) if v >= 1 => v,
            _ => {
                cx.push(
                    c.span(),
                    ErrorKind::OutOfRange {
                        key: "table_capacity",
                        what: "at least 1",
                        got: c.get_ref().to_string(),
                        example: "table_capacity = 2048",
                    },
                );
                d.table_capacity
            }
        },
    };
    let update = n.update.as_ref().map_or(d.update.clone(), |u| update(cx, u));
    let table_miss = match &n.table_miss {
        None => d.table_miss,
        Some(t) => match t.get_ref().as_str() {
            "drop" => TableMiss::Drop,
            "controller" => {
                cx.controller_needed(t.span(), "`table_miss = \"controller\"`".into());
                TableMiss::ToController
            }
            other => {
                cx.push(
                    t.span(),
                    ErrorKind::UnknownValue {
                        key: "table_miss",
                        given: other.into(),
                        valid: &["drop", "controller"],
                    },
                );
                d.table_miss
            }
        },
    };
    let ingress = n.ingress.as_ref().map_or_else(
        || cx.adj[i].iter().any(|&j| cx.kinds[j] == Some(Kind::Source)),
        |b| *b.get_ref(),
    );
    let mut rules = Vec::new();
    if let Some(rs) = &n.rules {
        let mut seen: BTreeMap<String, Range<usize>> = BTreeMap::new();
        for (k, r) in rs.get_ref().iter().enumerate() {
            if let Some(rule) = rule(cx, i, k, r, &mut seen) {
                rules.push(rule);
            }
        }
        if rs.get_ref().len() > table_capacity {
            let switch = cx.names[i].clone().unwrap_or_default();
            cx.push(
                rs.span(),
                ErrorKind::TableFull {
                    switch,
                    rules: rs.get_ref().len(),
                    capacity: table_capacity as u64,
                },
            );
        }
    }
    SwitchNode { config: SwitchConfig { table_capacity, update, table_miss }, ingress, rules }
}

fn update(cx: &mut Cx, u: &Spanned<UpdateSpec>) -> UpdateLatency {
    let spec = u.get_ref();
    let model = spec.model.as_ref().map_or("hardware", |m| m.get_ref().as_str());
    let present = [
        ("min", &spec.min),
        ("max", &spec.max),
        ("mean", &spec.mean),
        ("per_rule", &spec.per_rule),
    ];
    match model {
        "hardware" => {
            for (key, v) in present {
                if let (Some(v), false) = (v, HARDWARE_KEYS.contains(&key)) {
                    cx.push(
                        v.span(),
                        ErrorKind::KeyNotForKind {
                            key,
                            what: "`update` with model \"hardware\"",
                            valid: HARDWARE_KEYS,
                        },
                    );
                }
            }
            let UpdateLatency::Hardware { min: dmin, max: dmax, mean: dmean } =
                UpdateLatency::e2_hardware()
            else {
                unreachable!("e2_hardware is a hardware model")
            };
            let min = cx.dur("min", &spec.min, dmin);
            let max = cx.dur("max", &spec.max, dmax);
            let mean = cx.dur("mean", &spec.mean, dmean);
            let (lo, hi, m) = (min.as_nanos(), max.as_nanos(), mean.as_nanos());
            // A truncated exponential on [min, max] has a mean of at most the midpoint (the
            // uniform limit), so a larger mean cannot be met.
            let mid = lo + (hi.saturating_sub(lo)) / 2;
            if lo > hi || m < lo || m > mid {
                cx.push(
                    u.span(),
                    ErrorKind::OutOfRange {
                        key: "update",
                        what: "min <= mean <= (min + max) / 2 (a truncated exponential on [min, max])",
                        got: format!("min {min}, mean {mean}, max {max}"),
                        example: r#"update = { model = "hardware", min = "1ms", max = "8ms", mean = "3ms" }"#,
                    },
                );
                return UpdateLatency::e2_hardware();
            }
            UpdateLatency::Hardware { min, max, mean }
        }
        "software" => {
            for (key, v) in present {
                if let (Some(v), false) = (v, SOFTWARE_KEYS.contains(&key)) {
                    cx.push(
                        v.span(),
                        ErrorKind::KeyNotForKind {
                            key,
                            what: "`update` with model \"software\"",
                            valid: SOFTWARE_KEYS,
                        },
                    );
                }
            }
            let UpdateLatency::Software { per_rule } = UpdateLatency::e2_software() else {
                unreachable!("e2_software is a software model")
            };
            UpdateLatency::Software { per_rule: cx.dur("per_rule", &spec.per_rule, per_rule) }
        }
        other => {
            let span = spec.model.as_ref().map_or(u.span(), |m| m.span());
            cx.push(
                span,
                ErrorKind::UnknownValue {
                    key: "model",
                    given: other.into(),
                    valid: &["hardware", "software"],
                },
            );
            UpdateLatency::e2_hardware()
        }
    }
}

fn rule(
    cx: &mut Cx,
    sw: usize,
    k: usize,
    r: &Spanned<RuleSpec>,
    seen: &mut BTreeMap<String, Range<usize>>,
) -> Option<RuleConfig> {
    let spec = r.get_ref();
    let name = match &spec.name {
        Some(n) => {
            if let Some(prev) = seen.get(n.get_ref()) {
                let first_line = cx.line_of(prev);
                cx.push(
                    n.span(),
                    ErrorKind::DuplicateName { name: n.get_ref().clone(), first_line },
                );
            } else {
                seen.insert(n.get_ref().clone(), n.span());
            }
            n.get_ref().clone()
        }
        None => format!("rule{k}"),
    };
    let (matcher, in_from) = match &spec.matcher {
        None => (Match::any(), None),
        Some(m) => {
            let in_from =
                m.get_ref().from.as_ref().and_then(|f| cx.neighbour(sw, f, "`match.from`"));
            (matcher(cx, m.get_ref()), in_from)
        }
    };
    let mut actions = Vec::new();
    match &spec.actions {
        None => cx.missing(r.span(), "actions", &schema::RULE),
        Some(a) if a.get_ref().is_empty() => cx.push(
            a.span(),
            ErrorKind::OutOfRange {
                key: "actions",
                what: "a non-empty list",
                got: "[]".into(),
                example: r#"actions = ["drop"]"#,
            },
        ),
        Some(a) => {
            for act in a.get_ref() {
                let resolved = match act.get_ref() {
                    ActionSpec::Output(to) => cx
                        .neighbour(sw, to, "`output`")
                        .map(|j| RuleAction::OutputTo(NodeIdx(j as u32))),
                    ActionSpec::SetTag(t) => Some(RuleAction::Other(Action::SetTag(*t.get_ref()))),
                    ActionSpec::Word(w) => match w.as_str() {
                        "controller" => {
                            cx.controller_needed(
                                act.span(),
                                format!("rule `{name}` (action \"controller\")"),
                            );
                            Some(RuleAction::Other(Action::ToController))
                        }
                        "duplicate" => {
                            cx.controller_needed(
                                act.span(),
                                format!("rule `{name}` (action \"duplicate\")"),
                            );
                            Some(RuleAction::Other(Action::DupToController))
                        }
                        "drop" => Some(RuleAction::Other(Action::Drop)),
                        other => {
                            cx.push(act.span(), ErrorKind::UnknownAction { given: other.into() });
                            None
                        }
                    },
                };
                actions.extend(resolved);
            }
        }
    }
    let idle_timeout = spec.idle_timeout.as_ref().map(|_| {
        cx.positive_dur(
            "idle_timeout",
            &spec.idle_timeout,
            Dur::from_secs(1),
            r#"idle_timeout = "1s""#,
        )
    });
    Some(RuleConfig {
        name,
        priority: spec.priority.as_ref().map_or(DEFAULT_RULE_PRIORITY, |p| *p.get_ref()),
        matcher,
        in_from: in_from.map(|j| NodeIdx(j as u32)),
        actions,
        idle_timeout,
    })
}

/// The 5-tuple, hash and tag part of a match (`from` is resolved by the caller).
fn matcher(cx: &mut Cx, m: &MatchSpec) -> Match {
    let mut prefix = |s: &Option<Spanned<String>>| {
        s.as_ref().and_then(|s| {
            let p = parse_prefix(s.get_ref());
            if p.is_none() {
                cx.push(s.span(), ErrorKind::BadAddress { text: s.get_ref().clone() });
            }
            p
        })
    };
    let src = prefix(&m.src);
    let dst = prefix(&m.dst);
    let hash = m.hash.as_ref().and_then(|h| match h.get_ref().as_slice() {
        [lo, hi] => {
            let (lo, hi) = (*lo.get_ref(), *hi.get_ref());
            let why = if lo >= hi {
                Some("empty (lo must be below hi)")
            } else if hi > u64::from(u32::MAX) {
                Some("beyond the 32-bit hash")
            } else {
                None
            };
            match why {
                Some(why) => {
                    cx.push(h.span(), ErrorKind::BadHashRange { lo, hi, why });
                    None
                }
                None => Some((lo as u32, hi as u32)),
            }
        }
        _ => {
            cx.push(
                h.span(),
                ErrorKind::BadHashRange { lo: 0, hi: 0, why: "not a list of two numbers [lo, hi]" },
            );
            None
        }
    });
    Match {
        in_port: None,
        src,
        dst,
        sport: m.sport.as_ref().map(|v| *v.get_ref()),
        dport: m.dport.as_ref().map(|v| *v.get_ref()),
        proto: m.proto.as_ref().map(|v| *v.get_ref()),
        hash,
        tag: m.tag.as_ref().map(|v| *v.get_ref()),
    }
}

/// `"10.0.0.1"` (a /32) or `"10.0.0.0/8"`.
fn parse_prefix(s: &str) -> Option<Prefix> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok().filter(|&l| l <= 32)?),
        None => (s, 32),
    };
    let addr: Ipv4Addr = addr.trim().parse().ok()?;
    Some(Prefix { addr: u32::from(addr), len })
}

fn workloads(cx: &mut Cx, spec: &ScenarioSpec, links: &[LinkConfig]) -> Vec<WorkloadConfig> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<usize, Range<usize>> = BTreeMap::new();
    for w in &spec.workloads {
        let ws = w.get_ref();
        let source = match &ws.source {
            None => {
                cx.missing(w.span(), "source", &schema::WORKLOAD);
                None
            }
            Some(s) => cx.node_of(s, "the `source` of [[workloads]]", Kind::Source).and_then(|i| {
                if let Some(prev) = seen.get(&i) {
                    let first_line = cx.line_of(prev);
                    cx.push(
                        s.span(),
                        ErrorKind::DuplicateName { name: s.get_ref().clone(), first_line },
                    );
                    None
                } else {
                    seen.insert(i, s.span());
                    Some(i)
                }
            }),
        };
        // The source's link rate: the default for `reference` and `flow_rate`.
        let link_rate = source.and_then(|i| {
            links.iter().find(|l| l.a.0 as usize == i || l.b.0 as usize == i).map(|l| l.rate)
        });
        let reference = ws.reference.as_ref().and_then(|r| cx.rate("reference", r)).or(link_rate);
        let flow_rate = ws.flow_rate.as_ref().and_then(|r| cx.rate("flow_rate", r)).or(link_rate);
        let mtu = match &ws.mtu {
            None => workloads::DEFAULT_MTU,
            Some(m) if *m.get_ref() == 0 => {
                cx.push(
                    m.span(),
                    ErrorKind::OutOfRange {
                        key: "mtu",
                        what: "at least 1",
                        got: "0".into(),
                        example: "mtu = 1500",
                    },
                );
                workloads::DEFAULT_MTU
            }
            Some(m) => *m.get_ref(),
        };
        let flows = match (&ws.dist, &ws.trace) {
            (Some(d), Some(_)) => {
                cx.push(
                    d.span(),
                    ErrorKind::Conflict {
                        a: "dist",
                        b: "trace",
                        help: "a workload either generates flows (`dist` and `load`) or replays a `trace`",
                    },
                );
                None
            }
            (None, None) => {
                cx.push(
                    w.span(),
                    ErrorKind::NeedsOneOf { what: "[[workloads]]", options: &["dist", "trace"] },
                );
                None
            }
            (Some(d), None) => {
                let load = match &ws.load {
                    None => {
                        cx.missing(w.span(), "load", &schema::WORKLOAD);
                        None
                    }
                    Some(l) => {
                        let v = *l.get_ref();
                        if v > 0.0 && v <= MAX_LOAD {
                            Some(v)
                        } else {
                            cx.push(
                                l.span(),
                                ErrorKind::OutOfRange {
                                    key: "load",
                                    what: "in (0, 10] (a fraction of `reference`)",
                                    got: v.to_string(),
                                    example: "load = 0.8",
                                },
                            );
                            None
                        }
                    }
                };
                let dist = resolve_dist(cx, d, &spec.base_dir);
                match (dist, load, reference) {
                    (Some(dist), Some(load), Some(reference)) => {
                        Some(FlowSource::Generated { dist, load, reference })
                    }
                    _ => None,
                }
            }
            (None, Some(t)) => {
                for (key, present) in [
                    ("load", ws.load.as_ref().map(|v| v.span())),
                    ("reference", ws.reference.as_ref().map(|v| v.span())),
                ] {
                    if let Some(span) = present {
                        cx.push(
                            span,
                            ErrorKind::Conflict {
                                a: "trace",
                                b: key,
                                help: "a trace's flows start at their recorded times; remove this key",
                            },
                        );
                    }
                }
                let path = spec.base_dir.join(t.get_ref());
                match workloads::Trace::from_path(&path) {
                    Ok(trace) => Some(FlowSource::Trace { path, flows: trace.flows }),
                    Err(e) => {
                        cx.push(
                            t.span(),
                            ErrorKind::Trace { path: t.get_ref().clone(), reason: e.to_string() },
                        );
                        None
                    }
                }
            }
        };
        let pacing = pacing(cx, ws);
        if let (Some(i), Some(flows), Some(flow_rate)) = (source, flows, flow_rate) {
            out.push(WorkloadConfig { source: NodeIdx(i as u32), flows, mtu, flow_rate, pacing });
        }
    }
    out
}

/// `pacing` and its slow start: `"open-loop"` (the default, at `flow_rate`) or `"fair-share"`.
fn pacing(cx: &mut Cx, ws: &crate::spec::raw::WorkloadSpec) -> SourcePacing {
    const VALID: &[&str] = &["open-loop", "fair-share"];
    let fair = match &ws.pacing {
        None => false,
        Some(p) => match p.get_ref().as_str() {
            "open-loop" => false,
            "fair-share" => true,
            other => {
                cx.push(
                    p.span(),
                    ErrorKind::UnknownValue { key: "pacing", given: other.into(), valid: VALID },
                );
                return SourcePacing::OpenLoop;
            }
        },
    };
    if !fair {
        let stray = [
            ("slow_start_rtt", ws.slow_start_rtt.as_ref().map(|v| v.span())),
            ("initial_window", ws.initial_window.as_ref().map(|v| v.span())),
        ];
        for (key, span) in stray {
            if let Some(span) = span {
                cx.push(
                    span,
                    ErrorKind::Conflict {
                        a: key,
                        b: "pacing = \"open-loop\"",
                        help: "slow start is part of `pacing = \"fair-share\"`; set it or remove this key",
                    },
                );
            }
        }
        return SourcePacing::OpenLoop;
    }
    if let Some(r) = &ws.flow_rate {
        cx.push(
            r.span(),
            ErrorKind::Conflict {
                a: "flow_rate",
                b: "pacing = \"fair-share\"",
                help: "a fair-sharing source's flows share its link's rate; remove `flow_rate`",
            },
        );
    }
    let initial_window = match &ws.initial_window {
        None => workloads::DEFAULT_INITIAL_WINDOW,
        Some(w) if *w.get_ref() == 0 => {
            cx.push(
                w.span(),
                ErrorKind::OutOfRange {
                    key: "initial_window",
                    what: "at least 1 packet",
                    got: "0".into(),
                    example: "initial_window = 10",
                },
            );
            workloads::DEFAULT_INITIAL_WINDOW
        }
        Some(w) => *w.get_ref(),
    };
    if let (Some(w), None) = (&ws.initial_window, &ws.slow_start_rtt) {
        cx.missing(w.span(), "slow_start_rtt", &schema::WORKLOAD);
    }
    let slow_start = ws.slow_start_rtt.is_some().then(|| workloads::SlowStart {
        rtt: cx.positive_dur(
            "slow_start_rtt",
            &ws.slow_start_rtt,
            Dur::from_micros(100),
            "slow_start_rtt = \"100us\"",
        ),
        initial_window,
    });
    SourcePacing::FairShare { slow_start }
}

/// A catalog name, or a CSV path relative to the scenario file's folder.
fn resolve_dist(cx: &mut Cx, d: &Spanned<String>, base: &std::path::Path) -> Option<FlowSizeDist> {
    let given = d.get_ref();
    if let Some(dist) = workloads::builtin(given) {
        return Some(dist);
    }
    let path = base.join(given);
    let r = if path.is_file() {
        FlowSizeDist::from_path(&path).map_err(|e| e.to_string())
    } else {
        Err(format!("no built-in distribution and no file {} by that name", path.display()))
    };
    match r {
        Ok(dist) => Some(dist),
        Err(reason) => {
            cx.push(d.span(), ErrorKind::Distribution { given: given.clone(), reason });
            None
        }
    }
}

/// `[protocol]`: `reroute` (default), `opennf` (a guarantee, parallelizing and LLER on unless
/// turned off), `split-merge` (loss-free buffering without parallelizing or LLER) or `sharp`
/// (SHarP's handover; `priority` is its request priority r).
fn protocol(cx: &mut Cx, spec: &ScenarioSpec) -> ProtocolConfig {
    let p = spec.protocol.as_ref().map(|p| p.get_ref());
    let name = p.and_then(|p| p.name.as_ref()).map_or("reroute", |n| n.get_ref().as_str());
    let priority = p.and_then(|p| p.priority.as_ref()).map(|v| *v.get_ref());
    let flag = |v: Option<&Spanned<bool>>, d: bool| v.map_or(d, |b| *b.get_ref());
    match name {
        "sharp" => {
            let d = models::sharp::SharpConfig::default();
            let mut c = models::sharp::SharpConfig {
                priority: priority.unwrap_or(d.priority),
                ..d.clone()
            };
            let max = models::sharp::SharpConfig::MAX_PRIORITY;
            if let Some(v) = p.and_then(|p| p.priority.as_ref()).filter(|v| *v.get_ref() > max) {
                cx.push(
                    v.span(),
                    ErrorKind::OutOfRange {
                        key: "priority",
                        what: "at most 32766 for sharp (its entries sit at 2r+1 and 2r, below \
                               the exact entries at 65535)",
                        got: v.get_ref().to_string(),
                        example: "priority = 100",
                    },
                );
                c.priority = d.priority;
            }
            c.max_silence = cx.positive_dur(
                "max_silence",
                &p.and_then(|p| p.max_silence.clone()),
                d.max_silence,
                r#"max_silence = "15ms""#,
            );
            if let Some(v) = p.and_then(|p| p.start_ho.as_ref()) {
                c.start = match v.get_ref().as_str() {
                    "after-detection" => models::sharp::StartHo::AfterDetection,
                    "per-flow" => models::sharp::StartHo::PerFlow,
                    other => {
                        cx.push(
                            v.span(),
                            ErrorKind::UnknownValue {
                                key: "start_ho",
                                given: other.into(),
                                valid: &["after-detection", "per-flow"],
                            },
                        );
                        d.start
                    }
                };
            }
            let transfer_delay =
                cx.dur("transfer_delay", &p.and_then(|p| p.transfer_delay.clone()), Dur::ZERO);
            ProtocolConfig::Sharp(
                c,
                models::sharp::HslConfig { transfer_delay, ..Default::default() },
            )
        }
        "e2-migration-avoidance" => {
            let mut c = models::e2::avoidance::E2AvoidanceConfig::default();
            if let Some(v) = p.and_then(|p| p.share.as_ref()) {
                let share = *v.get_ref();
                if share > 0.0 && share <= 1.0 {
                    c.share = share;
                } else {
                    cx.push(
                        v.span(),
                        ErrorKind::OutOfRange {
                            key: "share",
                            what: "in (0, 1] (the fraction of the flow-ID space the new \
                                   instance gets)",
                            got: share.to_string(),
                            example: "share = 0.5",
                        },
                    );
                }
            }
            if let Some(v) = p.and_then(|p| p.push_threshold.as_ref()) {
                c.push_threshold = *v.get_ref() as usize;
            }
            ProtocolConfig::E2MigrationAvoidance(c)
        }
        "opennf" | "split-merge" => {
            let mut c = if name == "opennf" {
                OpenNfConfig::opennf(Guarantee::LossFree)
            } else {
                OpenNfConfig::split_merge()
            };
            if let Some(g) = p.and_then(|p| p.guarantee.as_ref()) {
                c.guarantee = match g.get_ref().as_str() {
                    "none" => Guarantee::None,
                    "loss-free" => Guarantee::LossFree,
                    "loss-free+order-preserving" => Guarantee::LossFreeOrderPreserving,
                    other => {
                        cx.push(g.span(), ErrorKind::UnknownGuarantee { given: other.to_string() });
                        c.guarantee
                    }
                };
            }
            if let Some(p) = p {
                c.parallelize = flag(p.parallelize.as_ref(), c.parallelize);
                c.early_release = flag(p.early_release.as_ref(), c.early_release);
                c.late_locking = flag(p.late_locking.as_ref(), c.late_locking);
                c.reprocess = flag(p.reprocess.as_ref(), c.reprocess);
                c.p2p = flag(p.p2p.as_ref(), c.p2p);
            }
            c.priority = priority.unwrap_or(c.priority);
            ProtocolConfig::OpenNf(c)
        }
        _ => {
            let d = RerouteConfig::default();
            ProtocolConfig::Reroute(RerouteConfig { priority: priority.unwrap_or(d.priority) })
        }
    }
}

fn timeline(
    cx: &mut Cx,
    spec: &ScenarioSpec,
    end_ns: u64,
    workloads: &[WorkloadConfig],
) -> Vec<TimelineEvent> {
    if let Some(p) = &spec.protocol {
        if let Some(n) = &p.get_ref().name {
            if !super::error::PROTOCOLS.contains(&n.get_ref().as_str()) {
                cx.push(n.span(), ErrorKind::UnknownProtocol { given: n.get_ref().clone() });
            }
        }
    }
    let mut out = Vec::new();
    for e in &spec.timeline {
        let ev = e.get_ref();
        let at = match &ev.at {
            None => {
                cx.missing(e.span(), "at", &schema::TIMELINE);
                None
            }
            Some(a) => cx.quantity("at", a, QuantityKind::Duration).and_then(|ns| {
                if ns > end_ns {
                    cx.push(
                        a.span(),
                        ErrorKind::EventAfterEnd {
                            at: Dur::from_nanos(ns).to_string(),
                            end: Dur::from_nanos(end_ns).to_string(),
                        },
                    );
                    None
                } else {
                    Some(Time::from_nanos(ns))
                }
            }),
        };
        let given: Vec<Range<usize>> = [
            ev.move_.as_ref().map(|v| v.span()),
            ev.link_down.as_ref().map(|v| v.span()),
            ev.link_up.as_ref().map(|v| v.span()),
            ev.nf_fail.as_ref().map(|v| v.span()),
            ev.nf_restore.as_ref().map(|v| v.span()),
            ev.set_load.as_ref().map(|v| v.span()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() != 1 {
            let span = given.get(1).cloned().unwrap_or(e.span());
            cx.push(
                span,
                ErrorKind::NeedsOneOf { what: "a [[timeline]] event", options: TIMELINE_ACTIONS },
            );
            continue;
        }
        let what = if let Some(m) = &ev.move_ {
            e2_whole_range(cx, spec, m);
            move_event(cx, m)
        } else if let Some(l) = &ev.link_down {
            link_event(cx, l).map(TimelineAction::LinkDown)
        } else if let Some(l) = &ev.link_up {
            link_event(cx, l).map(TimelineAction::LinkUp)
        } else if let Some(n) = &ev.nf_fail {
            cx.node_of(n, "`nf_fail`", Kind::Nf).map(|i| TimelineAction::NfFail(NodeIdx(i as u32)))
        } else if let Some(n) = &ev.nf_restore {
            cx.node_of(n, "`nf_restore`", Kind::Nf)
                .map(|i| TimelineAction::NfRestore(NodeIdx(i as u32)))
        } else if let Some(l) = &ev.set_load {
            set_load_event(cx, l, workloads)
        } else {
            None
        };
        if let (Some(at), Some(what)) = (at, what) {
            out.push(TimelineEvent { at, what });
        }
    }
    out.sort_by_key(|e| e.at); // stable: file order among equal times
    out
}

/// `set_load = { source, load }`: the source must have a generated workload (a trace has no
/// load to change), and the load is in (0, 10] as a workload's.
fn set_load_event(
    cx: &mut Cx,
    l: &Spanned<SetLoadSpec>,
    workloads: &[WorkloadConfig],
) -> Option<TimelineAction> {
    let spec = l.get_ref();
    let source = match &spec.source {
        None => {
            cx.missing(l.span(), "source", &schema::SET_LOAD);
            None
        }
        Some(s) => cx.node_of(s, "the `source` of `set_load`", Kind::Source).and_then(|i| {
            let generated = workloads.iter().any(|w| {
                w.source == NodeIdx(i as u32) && matches!(w.flows, FlowSource::Generated { .. })
            });
            if !generated {
                cx.push(
                    s.span(),
                    ErrorKind::OutOfRange {
                        key: "source",
                        what: "a source with a generated workload (`dist` and `load`; a trace's load cannot change)",
                        got: s.get_ref().clone(),
                        example: "set_load = { source = \"h1\", load = 0.9 }",
                    },
                );
                return None;
            }
            Some(NodeIdx(i as u32))
        }),
    };
    let load = match &spec.load {
        None => {
            cx.missing(l.span(), "load", &schema::SET_LOAD);
            None
        }
        Some(v) => {
            let x = *v.get_ref();
            if x > 0.0 && x <= MAX_LOAD {
                Some(x)
            } else {
                cx.push(
                    v.span(),
                    ErrorKind::OutOfRange {
                        key: "load",
                        what: "in (0, 10] (a fraction of the workload's `reference`)",
                        got: x.to_string(),
                        example: "load = 0.9",
                    },
                );
                None
            }
        }
    };
    Some(TimelineAction::SetLoad { source: source?, load: load? })
}

/// `[metrics]`: which metrics the tidy CSV keeps (names checked against the driver's list).
fn metrics(cx: &mut Cx, spec: &ScenarioSpec) -> MetricsConfig {
    let Some(m) = &spec.metrics else { return MetricsConfig::default() };
    let m = m.get_ref();
    let record = m.record.as_ref().map(|r| {
        let mut names = Vec::new();
        for n in r.get_ref() {
            if crate::driver::METRIC_NAMES.contains(&n.get_ref().as_str()) {
                names.push(n.get_ref().clone());
            } else {
                cx.push(n.span(), ErrorKind::UnknownMetric { given: n.get_ref().clone() });
            }
        }
        names
    });
    let controller_buffer_series =
        m.controller_buffer_series.as_ref().is_some_and(|b| *b.get_ref());
    MetricsConfig { record, controller_buffer_series, delay_window: None }
}

/// E2's migration avoidance splits the instance's whole flow-ID space (`[protocol] share`
/// sets the split point): a move naming some flows would be ignored, so it is refused.
fn e2_whole_range(cx: &mut Cx, spec: &ScenarioSpec, m: &Spanned<MoveSpec>) {
    let e2 = spec
        .protocol
        .as_ref()
        .and_then(|p| p.get_ref().name.as_ref())
        .is_some_and(|n| n.get_ref() == "e2-migration-avoidance");
    if let (true, Some(f)) = (e2, &m.get_ref().flows) {
        if let FlowsSpec::Match(_) = f.get_ref() {
            cx.push(
                f.span(),
                ErrorKind::OutOfRange {
                    key: "flows",
                    what: "\"all\" under e2-migration-avoidance (E2 splits the instance's whole \
                           flow-ID space; `[protocol] share` sets the split point)",
                    got: "a match".into(),
                    example: r#"flows = "all""#,
                },
            );
        }
    }
}

fn move_event(cx: &mut Cx, m: &Spanned<MoveSpec>) -> Option<TimelineAction> {
    let spec = m.get_ref();
    cx.controller_needed(m.span(), "a `move`".into());
    let flows = match &spec.flows {
        None => {
            cx.missing(m.span(), "flows", &schema::MOVE);
            None
        }
        Some(f) => match f.get_ref() {
            FlowsSpec::Word(w) if w == "all" => Some(Match::any()),
            FlowsSpec::Word(w) => {
                cx.push(
                    f.span(),
                    ErrorKind::UnknownValue { key: "flows", given: w.clone(), valid: &["all"] },
                );
                None
            }
            FlowsSpec::Match(ms) => {
                if let Some(from) = &ms.from {
                    cx.push(
                        from.span(),
                        ErrorKind::KeyNotForKind {
                            key: "from",
                            what: "a move's `flows`",
                            valid: schema::FLOWS.key_names,
                        },
                    );
                }
                Some(matcher(cx, ms))
            }
        },
    };
    let src = match &spec.from {
        None => {
            cx.missing(m.span(), "from", &schema::MOVE);
            None
        }
        Some(f) => cx.node_of(f, "the `from` of a move", Kind::Nf),
    };
    let dst = match &spec.to {
        None => {
            cx.missing(m.span(), "to", &schema::MOVE);
            None
        }
        Some(t) => cx.node_of(t, "the `to` of a move", Kind::Nf),
    };
    let (src, dst) = (src?, dst?);
    let (from_name, to_name) =
        (cx.names[src].clone().unwrap_or_default(), cx.names[dst].clone().unwrap_or_default());
    if src == dst {
        cx.push(
            m.span(),
            ErrorKind::OutOfRange {
                key: "move",
                what: "between two different NFs",
                got: format!("{from_name} to itself"),
                example: r#"move = { flows = "all", from = "fw1", to = "fw2" }"#,
            },
        );
        return None;
    }
    let shared =
        cx.adj[src].iter().any(|&s| cx.kinds[s] == Some(Kind::Switch) && cx.adj[dst].contains(&s));
    if !shared {
        cx.push(m.span(), ErrorKind::NoCommonSwitch { from: from_name, to: to_name });
        return None;
    }
    Some(TimelineAction::Move { flows: flows?, src: NodeIdx(src as u32), dst: NodeIdx(dst as u32) })
}

fn link_event(cx: &mut Cx, l: &Spanned<Vec<Spanned<String>>>) -> Option<LinkIdx> {
    let [a, b] = l.get_ref().as_slice() else {
        cx.push(
            l.span(),
            ErrorKind::OutOfRange {
                key: "link_down",
                what: "a list of the two node names of a link",
                got: format!("{} names", l.get_ref().len()),
                example: r#"link_down = ["s1", "fw1"]"#,
            },
        );
        return None;
    };
    let (x, y) = (cx.node(a, "a link end")?, cx.node(b, "a link end")?);
    match cx.link_between(x, y) {
        Some(i) if i != usize::MAX => Some(LinkIdx(i as u32)),
        Some(_) => None, // the link itself is invalid and reported
        None => {
            cx.push(
                l.span(),
                ErrorKind::NotLinked { a: a.get_ref().clone(), b: b.get_ref().clone() },
            );
            None
        }
    }
}
