//! Pipelets, their merge into a pGraph, and the appendix's ambiguity check.
//!
//! A policy is a set of NF nodes (instances of NF types, switch ports, `Drop`) and a list of
//! pipelets; each pipelet has a traffic class and a list of edges
//! `src [filter_out] -> (bw) [filter_in] dst`.
//!
//! **Filters** are conjunctions of conditions `attr in {v...}` / `attr not in {v...}` over
//! attributes with open domains (header fields such as `dst_port`, address names such as
//! `dst_net = my_net`, derived attributes such as `FW.safe`). The libpcap syntax of the paper
//! is richer; this subset is the one whose intersection and coverage are decidable exactly:
//! two conjunctions intersect unless one attribute's allowed sets are disjoint, and a union
//! covers everything iff it covers every point of the finite grid made of the values the
//! filters mention plus one "any other value" per attribute.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use thiserror::Error;

/// One condition of a filter, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondSpec {
    pub attr: String,
    /// `true`: the attribute's value is one of `values`; `false`: it is none of them.
    pub is_in: bool,
    pub values: Vec<String>,
}

impl CondSpec {
    pub fn is_in(attr: &str, values: &[&str]) -> Self {
        CondSpec {
            attr: attr.into(),
            is_in: true,
            values: values.iter().map(|v| (*v).into()).collect(),
        }
    }
    pub fn not_in(attr: &str, values: &[&str]) -> Self {
        CondSpec {
            attr: attr.into(),
            is_in: false,
            values: values.iter().map(|v| (*v).into()).collect(),
        }
    }
}

/// A node of the policy, as written: `NAT n;`, `Port<0-7> int;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeSpec {
    /// An instance `name` of the NF type `nf_type` (described in [`super::hardware::NfTypeSpec`]).
    Nf { name: String, nf_type: String },
    /// A group of switch ports `[first, last]` (both included).
    Port { name: String, first: u32, last: u32 },
}

/// `from [filter_out] -> (bw) [filter_in] to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeSpec {
    pub from: String,
    pub to: String,
    pub filter_out: Vec<CondSpec>,
    /// Expected traffic on the edge at boot-up, if known.
    pub bw_bps: Option<u64>,
    /// A placeholder input vport or metadata of the downstream NF (Figure 16's `prio0`).
    pub filter_in: Option<String>,
}

impl EdgeSpec {
    pub fn new(from: &str, to: &str) -> Self {
        EdgeSpec {
            from: from.into(),
            to: to.into(),
            filter_out: vec![],
            bw_bps: None,
            filter_in: None,
        }
    }
    pub fn filter(mut self, c: CondSpec) -> Self {
        self.filter_out.push(c);
        self
    }
    pub fn bw(mut self, bps: u64) -> Self {
        self.bw_bps = Some(bps);
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipeletSpec {
    pub name: String,
    /// The pipelet's traffic class; E2 adds it to ambiguous edges to disambiguate them.
    pub class: Vec<CondSpec>,
    pub edges: Vec<EdgeSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PolicySpec {
    pub nodes: Vec<NodeSpec>,
    pub pipelets: Vec<PipeletSpec>,
}

/// A validated filter: attribute -> allowed set. Empty map = `true`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Filter {
    conds: BTreeMap<String, Allowed>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Allowed {
    In(BTreeSet<String>),
    NotIn(BTreeSet<String>),
}

impl Allowed {
    fn admits(&self, v: &str) -> bool {
        match self {
            Allowed::In(s) => s.contains(v),
            Allowed::NotIn(s) => !s.contains(v),
        }
    }
    fn and(&self, o: &Allowed) -> Allowed {
        use Allowed::*;
        match (self, o) {
            (In(a), In(b)) => In(a.intersection(b).cloned().collect()),
            (In(a), NotIn(b)) | (NotIn(b), In(a)) => In(a.difference(b).cloned().collect()),
            (NotIn(a), NotIn(b)) => NotIn(a.union(b).cloned().collect()),
        }
    }
    /// Open domains: only an `In` set can be empty.
    fn is_empty(&self) -> bool {
        matches!(self, Allowed::In(s) if s.is_empty())
    }
    fn values(&self) -> &BTreeSet<String> {
        match self {
            Allowed::In(s) | Allowed::NotIn(s) => s,
        }
    }
}

impl Filter {
    pub fn from_conds(conds: &[CondSpec]) -> Filter {
        let mut f = Filter::default();
        for c in conds {
            let set: BTreeSet<String> = c.values.iter().cloned().collect();
            let a = if c.is_in { Allowed::In(set) } else { Allowed::NotIn(set) };
            f.and_allowed(&c.attr, a);
        }
        f
    }
    fn and_allowed(&mut self, attr: &str, a: Allowed) {
        let merged = match self.conds.get(attr) {
            Some(old) => old.and(&a),
            None => a,
        };
        self.conds.insert(attr.to_string(), merged);
    }
    pub fn and(&self, o: &Filter) -> Filter {
        let mut f = self.clone();
        for (k, a) in &o.conds {
            f.and_allowed(k, a.clone());
        }
        f
    }
    pub fn is_true(&self) -> bool {
        self.conds.is_empty()
    }
    pub fn is_empty(&self) -> bool {
        self.conds.values().any(Allowed::is_empty)
    }
    pub fn intersects(&self, o: &Filter) -> bool {
        !self.and(o).is_empty()
    }
    /// Does a packet whose attributes are `point` (attributes absent = "some other value")
    /// match?
    fn admits(&self, point: &BTreeMap<&str, Option<&str>>) -> bool {
        self.conds.iter().all(|(k, a)| match point.get(k.as_str()).copied().flatten() {
            Some(v) => a.admits(v),
            // A value no filter mentions: only a `not in` admits it.
            None => matches!(a, Allowed::NotIn(_)),
        })
    }
}

impl std::fmt::Display for Filter {
    /// `true`, or the conditions joined by ` and `: `dst_port in {80} and FW.safe not in {true}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.conds.is_empty() {
            return f.write_str("true");
        }
        for (i, (k, a)) in self.conds.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            let op = if matches!(a, Allowed::In(_)) { "in" } else { "not in" };
            let vs: Vec<&str> = a.values().iter().map(String::as_str).collect();
            write!(f, "{k} {op} {{{}}}", vs.join(", "))?;
        }
        Ok(())
    }
}

/// The union of `filters` is `true`, by enumerating the mentioned-values grid. `None` when
/// the grid exceeds `limit` points.
pub fn covers_everything(filters: &[&Filter], limit: u64) -> Option<bool> {
    let mut axes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in filters {
        for (k, a) in &f.conds {
            let e = axes.entry(k.as_str()).or_default();
            e.extend(a.values().iter().map(String::as_str));
        }
    }
    let axes: Vec<(&str, Vec<Option<&str>>)> = axes
        .into_iter()
        .map(|(k, vs)| (k, vs.into_iter().map(Some).chain([None]).collect()))
        .collect();
    let mut size: u64 = 1;
    for (_, vs) in &axes {
        size = size.saturating_mul(vs.len() as u64);
    }
    if size > limit {
        return None;
    }
    let mut idx = vec![0usize; axes.len()];
    loop {
        let point: BTreeMap<&str, Option<&str>> =
            axes.iter().zip(&idx).map(|((k, vs), &i)| (*k, vs[i])).collect();
        if !filters.iter().any(|f| f.admits(&point)) {
            return Some(false);
        }
        // Odometer increment.
        let mut d = 0;
        loop {
            if d == axes.len() {
                return Some(true);
            }
            idx[d] += 1;
            if idx[d] < axes[d].1.len() {
                break;
            }
            idx[d] = 0;
            d += 1;
        }
    }
}

/// The grid limit of the coverage check: 2^20 points.
pub const COVERAGE_GRID_LIMIT: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PNodeKind {
    Nf { nf_type: String },
    Port { first: u32, last: u32 },
    Drop,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PNode {
    pub name: String,
    pub kind: PNodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PEdge {
    /// The filter the packet must match, after any disambiguation by traffic class.
    pub filter: Filter,
    pub bw_bps: Option<u64>,
    pub filter_in: Option<String>,
    /// Index of the pipelet the edge came from, and of the edge inside it.
    pub pipelet: usize,
    pub index: usize,
    /// E2 added the pipelet's traffic class to this edge to disambiguate it.
    pub disambiguated: bool,
}

/// Names an edge as the user wrote it, for error messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EdgeRef {
    pub pipelet: String,
    pub index: usize,
    pub from: String,
    pub to: String,
}

impl std::fmt::Display for EdgeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pipelet {} edge {} ({} -> {})", self.pipelet, self.index, self.from, self.to)
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("node {name} is declared twice")]
    DuplicateNode { name: String },
    #[error("{edge}: unknown node {name}; declare it as an NF or a port first")]
    UnknownNode { edge: EdgeRef, name: String },
    #[error("{edge}: `Drop` discards packets and cannot be the source of an edge")]
    FromDrop { edge: EdgeRef },
    #[error("pipelet {pipelet} has a cycle through {node}; a pipelet must be a DAG")]
    Cycle { pipelet: String, node: String },
    #[error("port group {name}: first port {first} is after last port {last}")]
    BadPortRange { name: String, first: u32, last: u32 },
    #[error("packets leaving {node} have more than one destination: {}", fmt_pairs(pairs))]
    Ambiguous { node: String, pairs: Vec<(EdgeRef, EdgeRef)> },
    #[error("some packets leaving {node} have no destination; add an edge (to `Drop` if intended) whose filter covers them")]
    NoDestination { node: String },
    #[error("the filters leaving {node} mention too many values to check coverage exactly")]
    CoverageTooLarge { node: String },
}

fn fmt_pairs(pairs: &[(EdgeRef, EdgeRef)]) -> String {
    pairs.iter().map(|(a, b)| format!("[{a}] and [{b}]")).collect::<Vec<_>>().join(", ")
}

/// The merged policy graph: one node per NF instance name / port group / `Drop`.
#[derive(Clone, Debug)]
pub struct PGraph {
    pub graph: DiGraph<PNode, PEdge>,
    pipelet_names: Vec<String>,
}

pub const DROP: &str = "Drop";

impl PGraph {
    /// Appendix: "E2 merges all pipelets into a single policy graph, termed a pGraph. During
    /// this process, E2 checks that each packet coming from a node has exactly one destination."
    pub fn merge(spec: &PolicySpec) -> Result<PGraph, PolicyError> {
        let mut graph: DiGraph<PNode, PEdge> = DiGraph::new();
        let mut by_name: BTreeMap<String, NodeIndex> = BTreeMap::new();
        for n in &spec.nodes {
            let (name, kind) = match n {
                NodeSpec::Nf { name, nf_type } => {
                    (name, PNodeKind::Nf { nf_type: nf_type.clone() })
                }
                NodeSpec::Port { name, first, last } => {
                    if first > last {
                        return Err(PolicyError::BadPortRange {
                            name: name.clone(),
                            first: *first,
                            last: *last,
                        });
                    }
                    (name, PNodeKind::Port { first: *first, last: *last })
                }
            };
            if by_name.contains_key(name) || name == DROP {
                return Err(PolicyError::DuplicateNode { name: name.clone() });
            }
            let ix = graph.add_node(PNode { name: name.clone(), kind });
            by_name.insert(name.clone(), ix);
        }
        let drop = graph.add_node(PNode { name: DROP.into(), kind: PNodeKind::Drop });
        by_name.insert(DROP.into(), drop);

        // "the pGraph is simply the union of the individual pipelets with one node for each NF
        // and edges copied from the individual pipelets."
        for (pi, p) in spec.pipelets.iter().enumerate() {
            let mut local: DiGraph<(), ()> = DiGraph::new();
            let mut local_ix: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
            for (ei, e) in p.edges.iter().enumerate() {
                let eref = || EdgeRef {
                    pipelet: p.name.clone(),
                    index: ei,
                    from: e.from.clone(),
                    to: e.to.clone(),
                };
                let look = |name: &str| {
                    by_name
                        .get(name)
                        .copied()
                        .ok_or_else(|| PolicyError::UnknownNode { edge: eref(), name: name.into() })
                };
                let (a, b) = (look(&e.from)?, look(&e.to)?);
                if a == drop {
                    return Err(PolicyError::FromDrop { edge: eref() });
                }
                graph.add_edge(
                    a,
                    b,
                    PEdge {
                        filter: Filter::from_conds(&e.filter_out),
                        bw_bps: e.bw_bps,
                        filter_in: e.filter_in.clone(),
                        pipelet: pi,
                        index: ei,
                        disambiguated: false,
                    },
                );
                let la = *local_ix.entry(a).or_insert_with(|| local.add_node(()));
                let lb = *local_ix.entry(b).or_insert_with(|| local.add_node(()));
                local.add_edge(la, lb, ());
            }
            if let Err(c) = petgraph::algo::toposort(&local, None) {
                let global = local_ix.iter().find(|(_, l)| **l == c.node_id()).map(|(g, _)| *g);
                let node = global.map(|g| graph[g].name.clone()).unwrap_or_default();
                return Err(PolicyError::Cycle { pipelet: p.name.clone(), node });
            }
        }
        let mut pg =
            PGraph { graph, pipelet_names: spec.pipelets.iter().map(|p| p.name.clone()).collect() };
        let classes: Vec<Filter> =
            spec.pipelets.iter().map(|p| Filter::from_conds(&p.class)).collect();
        pg.check_and_disambiguate(&classes)?;
        Ok(pg)
    }

    pub fn node(&self, name: &str) -> Option<NodeIndex> {
        self.graph.node_indices().find(|&i| self.graph[i].name == name)
    }

    pub fn edge_ref(&self, e: EdgeIndex) -> EdgeRef {
        let (a, b) = self.graph.edge_endpoints(e).expect("invariant: edge index from this graph");
        let w = &self.graph[e];
        EdgeRef {
            pipelet: self.pipelet_names[w.pipelet].clone(),
            index: w.index,
            from: self.graph[a].name.clone(),
            to: self.graph[b].name.clone(),
        }
    }

    fn out_edges(&self, n: NodeIndex) -> Vec<EdgeIndex> {
        let mut v: Vec<EdgeIndex> =
            self.graph.edges(n).map(|e| petgraph::visit::EdgeRef::id(&e)).collect();
        v.sort();
        v
    }

    /// Pairs of out-edges of `n` to different destinations whose filters intersect.
    fn overlapping(&self, n: NodeIndex) -> Vec<(EdgeIndex, EdgeIndex)> {
        let es = self.out_edges(n);
        let mut out = vec![];
        for (i, &a) in es.iter().enumerate() {
            for &b in &es[i + 1..] {
                let (da, db) = (self.graph.edge_endpoints(a), self.graph.edge_endpoints(b));
                let same_dst = da.map(|x| x.1) == db.map(|x| x.1);
                if !same_dst && self.graph[a].filter.intersects(&self.graph[b].filter) {
                    out.push((a, b));
                }
            }
        }
        out
    }

    fn check_and_disambiguate(&mut self, classes: &[Filter]) -> Result<(), PolicyError> {
        let nodes: Vec<NodeIndex> = self.graph.node_indices().collect();
        for n in nodes {
            if self.graph[n].kind == PNodeKind::Drop {
                continue;
            }
            let es = self.out_edges(n);
            // "and that the union of all filters attached to a NF's output evaluates to true"
            // (checked on the filters as written: disambiguation only narrows an edge to its
            // own pipelet's class, which is where its packets come from).
            // "E2 also returns an error if a packet coming from a node has no destination."
            // A port group with no out-edge is an egress only: its packets leave the cluster.
            let is_port = matches!(self.graph[n].kind, PNodeKind::Port { .. });
            if !(is_port && es.is_empty()) {
                let fs: Vec<&Filter> = es.iter().map(|&e| &self.graph[e].filter).collect();
                match covers_everything(&fs, COVERAGE_GRID_LIMIT) {
                    Some(true) => {}
                    Some(false) => {
                        return Err(PolicyError::NoDestination { node: self.graph[n].name.clone() })
                    }
                    None => {
                        return Err(PolicyError::CoverageTooLarge {
                            node: self.graph[n].name.clone(),
                        })
                    }
                }
            }
            // "If a packet has more than one possible destination, E2 first attempts to remedy
            // this by adding filters to ambiguous edges, specifying the traffic class of the
            // pipelet corresponding to that edge."
            let pairs = self.overlapping(n);
            if pairs.is_empty() {
                continue;
            }
            let mut touched: BTreeSet<EdgeIndex> = BTreeSet::new();
            for &(a, b) in &pairs {
                if self.graph[a].pipelet != self.graph[b].pipelet {
                    touched.insert(a);
                    touched.insert(b);
                }
            }
            for e in touched {
                let w = &mut self.graph[e];
                w.filter = w.filter.and(&classes[w.pipelet]);
                w.disambiguated = true;
            }
            // "If E2 is unable to automatically resolve ambiguity, it returns an error"
            let left = self.overlapping(n);
            if !left.is_empty() {
                let pairs =
                    left.into_iter().map(|(a, b)| (self.edge_ref(a), self.edge_ref(b))).collect();
                return Err(PolicyError::Ambiguous { node: self.graph[n].name.clone(), pairs });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nf(name: &str, t: &str) -> NodeSpec {
        NodeSpec::Nf { name: name.into(), nf_type: t.into() }
    }

    /// Figure 14, with `dst port 80` as `dst_port in {80}`, `dst ip my_net` as
    /// `dst_net in {my_net}` and `FW.safe` as `FW.safe in {true}`. Drops omitted in the
    /// figure are written out, or the coverage check would (rightly) fail.
    fn figure14() -> PolicySpec {
        let c = CondSpec::is_in;
        let n = CondSpec::not_in;
        PolicySpec {
            nodes: vec![
                nf("p", "Proxy"),
                nf("n", "NAT"),
                nf("f", "FW"),
                NodeSpec::Port { name: "int".into(), first: 0, last: 7 },
                NodeSpec::Port { name: "ext".into(), first: 8, last: 15 },
            ],
            pipelets: vec![
                PipeletSpec {
                    name: "outbound".into(),
                    class: vec![c("in_port", &["int"])],
                    edges: vec![
                        EdgeSpec::new("int", "p").filter(c("dst_port", &["80"])),
                        EdgeSpec::new("int", "n").filter(n("dst_port", &["80"])),
                        EdgeSpec::new("p", "n").filter(n("dst_net", &["my_net"])),
                        EdgeSpec::new("p", DROP).filter(c("dst_net", &["my_net"])),
                        EdgeSpec::new("n", "f"),
                        EdgeSpec::new("f", "ext")
                            .filter(c("FW.safe", &["true"]))
                            .filter(n("dst_net", &["wan_net"])),
                        EdgeSpec::new("f", DROP).filter(n("FW.safe", &["true"])),
                    ],
                },
                PipeletSpec {
                    name: "inbound".into(),
                    class: vec![c("in_port", &["ext"])],
                    edges: vec![
                        EdgeSpec::new("ext", "f"),
                        EdgeSpec::new("f", "n")
                            .filter(c("FW.safe", &["true"]))
                            .filter(c("dst_net", &["wan_net"])),
                        EdgeSpec::new("n", "p")
                            .filter(c("src_port", &["80"]))
                            .filter(c("dst_net", &["my_net"])),
                        EdgeSpec::new("n", "int")
                            .filter(n("src_port", &["80"]))
                            .filter(c("dst_net", &["my_net"])),
                        EdgeSpec::new("n", DROP).filter(n("dst_net", &["my_net"])),
                        EdgeSpec::new("p", "int").filter(c("dst_net", &["my_net"])),
                    ],
                },
            ],
        }
    }

    #[test]
    fn figure14_merges_after_adding_the_traffic_class_to_the_nat_edges() {
        let pg = PGraph::merge(&figure14()).expect("Figure 14 is resolvable");
        // "simply merging the two pipelets in Figure 15 results in ambiguity for packets
        // leaving the NAT. E2 will thus add a filter that limits the edge for the 'n -> f'
        // rule to traffic arriving from an internal port."
        let n = pg.node("n").unwrap();
        let nf = pg.graph.edges_connecting(n, pg.node("f").unwrap()).next().unwrap();
        assert!(nf.weight().disambiguated);
        assert!(!nf
            .weight()
            .filter
            .intersects(&Filter::from_conds(&[CondSpec::is_in("in_port", &["ext"])])));
        // Edges leaving the proxy overlap too (p -> int, p -> Drop on dst_net=my_net).
        let p = pg.node("p").unwrap();
        assert!(pg.graph.edges(p).any(|e| e.weight().disambiguated));
        // The IDS-free ingress edges were never ambiguous and stay as written.
        let int = pg.node("int").unwrap();
        assert!(pg.graph.edges(int).all(|e| !e.weight().disambiguated));
    }

    #[test]
    fn overlapping_edges_of_one_pipelet_are_reported_by_name() {
        let c = CondSpec::is_in;
        let spec = PolicySpec {
            nodes: vec![
                nf("ids", "IDS"),
                nf("web", "Cache"),
                nf("mon", "Monitor"),
                NodeSpec::Port { name: "in".into(), first: 0, last: 0 },
            ],
            pipelets: vec![PipeletSpec {
                name: "fig2".into(),
                class: vec![],
                edges: vec![
                    EdgeSpec::new("in", "ids"),
                    // Both edges take port-80 traffic: ambiguous, and a class cannot help
                    // because they belong to the same pipelet.
                    EdgeSpec::new("ids", "web").filter(c("dst_port", &["80"])),
                    EdgeSpec::new("ids", "mon"),
                    EdgeSpec::new("web", DROP),
                    EdgeSpec::new("mon", DROP),
                ],
            }],
        };
        let err = PGraph::merge(&spec).unwrap_err();
        let PolicyError::Ambiguous { node, pairs } = &err else { panic!("{err}") };
        assert_eq!(node, "ids");
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].0.index, pairs[0].1.index), (1, 2));
        assert!(err.to_string().contains("pipelet fig2 edge 1 (ids -> web)"), "{err}");
    }

    #[test]
    fn a_node_whose_filters_do_not_cover_everything_is_rejected() {
        let c = CondSpec::is_in;
        let spec = PolicySpec {
            nodes: vec![
                nf("ids", "IDS"),
                nf("web", "Cache"),
                NodeSpec::Port { name: "in".into(), first: 0, last: 0 },
            ],
            pipelets: vec![PipeletSpec {
                name: "p".into(),
                class: vec![],
                edges: vec![
                    EdgeSpec::new("in", "ids"),
                    EdgeSpec::new("ids", "web").filter(c("dst_port", &["80"])),
                    EdgeSpec::new("web", DROP),
                ],
            }],
        };
        assert_eq!(
            PGraph::merge(&spec).unwrap_err(),
            PolicyError::NoDestination { node: "ids".into() }
        );
    }

    #[test]
    fn a_cycle_inside_one_pipelet_is_rejected() {
        let spec = PolicySpec {
            nodes: vec![nf("a", "A"), nf("b", "B")],
            pipelets: vec![PipeletSpec {
                name: "p".into(),
                class: vec![],
                edges: vec![EdgeSpec::new("a", "b"), EdgeSpec::new("b", "a")],
            }],
        };
        assert!(matches!(PGraph::merge(&spec).unwrap_err(), PolicyError::Cycle { .. }));
    }

    #[test]
    fn coverage_distinguishes_in_and_not_in_on_open_domains() {
        let a = Filter::from_conds(&[CondSpec::is_in("x", &["1"])]);
        let b = Filter::from_conds(&[CondSpec::not_in("x", &["1"])]);
        let c = Filter::from_conds(&[CondSpec::is_in("x", &["2"])]);
        assert_eq!(covers_everything(&[&a, &b], 100), Some(true));
        // "x = 3" is matched by neither.
        assert_eq!(covers_everything(&[&a, &c], 100), Some(false));
        assert!(!a.intersects(&b));
        assert!(b.intersects(&c));
    }
}
