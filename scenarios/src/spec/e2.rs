//! The `[e2]` table: E2's policy (pipelets over NF instances and switch ports, appendix and
//! section 3.1), its NF descriptions (section 3.2) and the rack, checked into an [`E2Config`]
//! whose pGraph has passed the appendix's ambiguity check and whose NFs are sized.
//!
//! The table can sit in a runnable scenario (then [`super::load`] checks it with the rest) or
//! alone in a *policy file*: a file with `[e2]` and no `[[nodes]]` ([`load`]; only `name` may
//! sit beside it). Either way every problem is an [`Issue`] with a span, so it prints as
//! `file:line:col` with a help line; the ambiguity check names both offending edges.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use models::e2::hardware::{Affinity, AffinityKey, NfCatalog, NfTypeSpec, Rack, RackSpec};
use models::e2::igraph::{IGraph, SizingError};
use models::e2::policy::{
    CondSpec, EdgeSpec, NodeSpec, PGraph, PipeletSpec, PolicyError, PolicySpec, DROP,
};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{self, ErrorKind, Issue, SpecErrors};
use super::raw::Quantity;
use super::schema;
use super::units::{self, QuantityKind, UnitError};

type S<T> = Spanned<T>;

/// Most type errors recorded in `[e2]` before giving up (each one costs a re-parse).
const MAX_TYPE_ERRORS: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct E2Spec {
    #[serde(default)]
    pub nf_type: Vec<S<NfTypeRaw>>,
    #[serde(default)]
    pub node: Vec<S<NodeRaw>>,
    #[serde(default)]
    pub pipelet: Vec<S<PipeletRaw>>,
    pub rack: Option<S<RackRaw>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NfTypeRaw {
    pub name: Option<S<String>>,
    pub per_core_rate: Option<S<Quantity>>,
    pub affinity: Option<S<String>>,
    pub replicable: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRaw {
    pub name: Option<S<String>>,
    pub nf_type: Option<S<String>>,
    pub ports: Option<S<Vec<S<u32>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipeletRaw {
    pub name: Option<S<String>>,
    #[serde(default)]
    pub class: Vec<S<CondRaw>>,
    #[serde(default)]
    pub edges: Vec<S<EdgeRaw>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeRaw {
    pub from: Option<S<String>>,
    pub to: Option<S<String>>,
    #[serde(default)]
    pub filter: Vec<S<CondRaw>>,
    pub bw: Option<S<Quantity>>,
    pub filter_in: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CondRaw {
    pub attr: Option<S<String>>,
    #[serde(rename = "in")]
    pub is_in: Option<S<Vec<Token>>>,
    pub not_in: Option<S<Vec<Token>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RackRaw {
    pub servers: Option<S<u32>>,
    pub cores_per_server: Option<S<u32>>,
    pub reserved_cores: Option<S<u32>>,
    pub nic: Option<S<Quantity>>,
    pub external_ports: Option<S<u32>>,
    pub port: Option<S<Quantity>>,
    pub flow_table_entries: Option<S<u64>>,
}

/// A filter value: a string, or an integer or boolean taken as its text (`80` = `"80"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Token(pub String);

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Token;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer, such as \"my_net\" or 80")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Token, E> {
                Ok(Token(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A checked `[e2]`: the policy as written, its merged pGraph, the NF catalog, the rack and
/// the sized iGraph.
#[derive(Clone, Debug)]
pub struct E2Config {
    pub policy: PolicySpec,
    pub pgraph: PGraph,
    pub catalog: NfCatalog,
    pub rack_spec: RackSpec,
    pub rack: Rack,
    pub igraph: IGraph,
}

impl E2Config {
    /// One line: what the file holds and the ambiguity check's result.
    pub fn summary(&self) -> String {
        let g = &self.pgraph.graph;
        let narrowed = g.edge_weights().filter(|e| e.disambiguated).count();
        format!(
            "E2 policy: {} NF types, {} nodes, {} pipelets; pGraph {} edges, unambiguous \
             (every packet leaving a node has exactly one destination; {} edges narrowed to \
             their pipelet's class); iGraph {} instances",
            self.catalog.types.len(),
            self.policy.nodes.len(),
            self.policy.pipelets.len(),
            g.edge_count(),
            narrowed,
            self.igraph.instances.len(),
        )
    }
}

/// A file is a policy file if it has `[e2]` and no `[[nodes]]` (unparsable text is not).
pub fn is_policy_file(text: &str) -> bool {
    match DeTable::parse(text) {
        Ok(t) => {
            let t = t.get_ref();
            t.get("e2").is_some() && t.get("nodes").is_none()
        }
        Err(_) => false,
    }
}

/// Reads and checks a policy file (see the module docs).
pub fn load(path: &Path) -> Result<E2Config, SpecErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| SpecErrors::Read { file: file.clone(), source })?;
    parse_str(&file, &text)
}

/// The `[e2]` of a policy file or of a scenario, whichever `path` is.
pub fn load_any(path: &Path) -> Result<E2Config, SpecErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| SpecErrors::Read { file: file.clone(), source })?;
    if is_policy_file(&text) {
        return parse_str(&file, &text);
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let s = super::parse_str(&file, &text, base)?;
    s.e2.ok_or_else(|| SpecErrors::Invalid {
        file: file.clone(),
        diagnostics: error::locate(
            &file,
            &text,
            vec![Issue::new(
                0..0,
                ErrorKind::MissingKey { key: "e2", table: "the top level", example: "[e2]" },
            )],
        ),
    })
}

/// Checks a policy file's text; `file_name` is used in diagnostics.
pub fn parse_str(file_name: &str, text: &str) -> Result<E2Config, SpecErrors> {
    let fail = |issues: Vec<Issue>| SpecErrors::Invalid {
        file: file_name.to_string(),
        diagnostics: error::locate(file_name, text, issues),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let issues = syntax
            .iter()
            .map(|e| {
                Issue::new(
                    e.span().unwrap_or(0..0),
                    ErrorKind::Syntax { message: e.message().trim().to_string() },
                )
            })
            .collect();
        return Err(fail(issues));
    }
    let mut table = root.into_inner();
    let mut issues = Vec::new();
    const POLICY_KEYS: &[&str] = &["name", "e2"];
    for (k, _) in table.iter() {
        if !POLICY_KEYS.contains(&k.get_ref().as_ref()) {
            issues.push(Issue::new(
                k.span(),
                ErrorKind::UnknownKey {
                    key: k.get_ref().to_string(),
                    table: "a policy file (one with [e2] and no [[nodes]])",
                    valid: POLICY_KEYS,
                },
            ));
        }
    }
    if let Some(n) = table.get("name") {
        if !matches!(n.get_ref(), DeValue::String(_)) {
            issues.push(Issue::new(
                n.span(),
                ErrorKind::WrongType {
                    key: "name".into(),
                    message: "must be a string".into(),
                    example: Some(r#"name = "web-chain""#),
                },
            ));
        }
    }
    let Some(e2) = table.remove("e2") else {
        issues.push(Issue::new(
            0..0,
            ErrorKind::MissingKey { key: "e2", table: "the top level", example: "[e2]" },
        ));
        return Err(fail(issues));
    };
    match check(e2, text) {
        Ok(c) if issues.is_empty() => Ok(c),
        Ok(_) => Err(fail(issues)),
        Err(mut e) => {
            issues.append(&mut e);
            Err(fail(issues))
        }
    }
}

/// Checks the value of the top-level `e2` key: schema, serde, then validation.
pub(super) fn check(e2: Spanned<DeValue<'_>>, text: &str) -> Result<E2Config, Vec<Issue>> {
    let e2_span = e2.span();
    let mut root = DeTable::new();
    root.insert(Spanned::new(e2_span.clone(), "e2".into()), e2);
    let mut issues = Vec::new();
    let mut suggested = Vec::new();
    schema::strip_unknown(&mut root, 0..0, &schema::ROOT, &mut issues, &mut suggested);

    #[derive(Deserialize)]
    struct Doc {
        e2: S<E2Spec>,
    }
    let mut doc = None;
    for _ in 0..MAX_TYPE_ERRORS {
        let de = toml::de::Deserializer::from(Spanned::new(0..text.len(), root.clone()));
        match Doc::deserialize(de) {
            Ok(d) => {
                doc = Some(d);
                break;
            }
            Err(e) => {
                let span = e.span().unwrap_or(e2_span.clone());
                let message = e.message().trim().to_string();
                match schema::locate_value(&root, &span) {
                    Some((path, key, table)) if path.len() > 1 => {
                        let example = table.and_then(|s| s.example(&key));
                        issues
                            .push(Issue::new(span, ErrorKind::WrongType { key, message, example }));
                        if !schema::remove_at(&mut root, &path) {
                            break;
                        }
                    }
                    _ => {
                        issues.push(Issue::new(
                            span,
                            ErrorKind::WrongType {
                                key: "e2".into(),
                                message,
                                example: Some("[e2]"),
                            },
                        ));
                        break;
                    }
                }
            }
        }
    }
    let Some(doc) = doc else { return Err(issues) };
    let mut cx = Cx { issues, text };
    let config = validate(&mut cx, &doc.e2);
    match config {
        Some(c) if cx.issues.is_empty() => Ok(c),
        _ => Err(cx.issues),
    }
}

struct Cx<'t> {
    issues: Vec<Issue>,
    text: &'t str,
}

impl Cx<'_> {
    fn push(&mut self, span: Range<usize>, kind: ErrorKind) {
        self.issues.push(Issue::new(span, kind));
    }
    fn line_of(&self, span: &Range<usize>) -> usize {
        error::line_col(self.text, span.start).0
    }
    fn required<'a, T>(
        &mut self,
        v: &'a Option<S<T>>,
        at: Range<usize>,
        key: &'static str,
        table: &'static str,
        example: &'static str,
    ) -> Option<&'a S<T>> {
        if v.is_none() {
            self.push(at, ErrorKind::MissingKey { key, table, example });
        }
        v.as_ref()
    }
    fn rate(&mut self, key: &str, q: &S<Quantity>) -> Option<u64> {
        let kind = QuantityKind::Rate;
        let r = match q.get_ref() {
            Quantity::Text(t) => units::parse(kind, t),
            Quantity::Int(0) => Ok(0),
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
    fn positive(&mut self, key: &'static str, v: u64, span: Range<usize>, example: &'static str) {
        if v == 0 {
            self.push(
                span,
                ErrorKind::OutOfRange { key, what: "positive", got: "0".into(), example },
            );
        }
    }
}

fn validate(cx: &mut Cx<'_>, e2: &S<E2Spec>) -> Option<E2Config> {
    let e2_span = e2.span();
    let spec = e2.get_ref();
    let before = cx.issues.len();
    let rack_spec = rack(cx, spec.rack.as_ref());
    let catalog = nf_types(cx, &spec.nf_type);
    let (nodes, node_spans) = nodes(cx, &spec.node, &catalog);
    let (pipelets, edge_spans, pipelet_spans) = pipelets(cx, &spec.pipelet, &node_spans);
    if cx.issues.len() > before {
        return None;
    }
    let rack = match Rack::try_from(&rack_spec) {
        Ok(r) => r,
        Err(e) => {
            let at = spec.rack.as_ref().map_or(e2_span.clone(), |r| r.span());
            cx.push(at, ErrorKind::E2Policy { message: e.to_string() });
            return None;
        }
    };
    let catalog = match NfCatalog::new(&catalog.into_values().collect::<Vec<_>>()) {
        Ok(c) => c,
        Err(e) => {
            cx.push(e2_span, ErrorKind::E2Policy { message: e.to_string() });
            return None;
        }
    };
    let policy = PolicySpec { nodes, pipelets };
    let pgraph = match PGraph::merge(&policy) {
        Ok(pg) => pg,
        Err(e) => {
            policy_error(cx, e, &e2_span, &node_spans, &edge_spans, &pipelet_spans);
            return None;
        }
    };
    let igraph = match IGraph::build(&pgraph, &catalog) {
        Ok(ig) => ig,
        Err(e) => {
            let nf = match &e {
                SizingError::UnknownNfType { nf, .. } | SizingError::NotReplicable { nf, .. } => nf,
            };
            let at = node_spans.get(nf).cloned().unwrap_or(e2_span);
            cx.push(at, ErrorKind::E2Policy { message: e.to_string() });
            return None;
        }
    };
    Some(E2Config { policy, pgraph, catalog, rack_spec, rack, igraph })
}

/// Reports a merge error at the nodes and edges it names.
fn policy_error(
    cx: &mut Cx<'_>,
    e: PolicyError,
    e2_span: &Range<usize>,
    node_spans: &BTreeMap<String, Range<usize>>,
    edge_spans: &BTreeMap<(String, usize), Range<usize>>,
    pipelet_spans: &BTreeMap<String, Range<usize>>,
) {
    match e {
        // Appendix: "If E2 is unable to automatically resolve ambiguity, it returns an error."
        PolicyError::Ambiguous { node, pairs } => {
            for (a, b) in pairs {
                for (this, other) in [(&a, &b), (&b, &a)] {
                    let at = edge_spans
                        .get(&(this.pipelet.clone(), this.index))
                        .cloned()
                        .unwrap_or(e2_span.clone());
                    cx.push(
                        at,
                        ErrorKind::AmbiguousEdges {
                            node: node.clone(),
                            this: this.to_string(),
                            other: other.to_string(),
                        },
                    );
                }
            }
        }
        PolicyError::NoDestination { node } => {
            let at = node_spans.get(&node).cloned().unwrap_or(e2_span.clone());
            cx.push(at, ErrorKind::NoDestination { node });
        }
        PolicyError::Cycle { pipelet, node } => {
            let at = pipelet_spans.get(&pipelet).cloned().unwrap_or(e2_span.clone());
            cx.push(at, ErrorKind::PolicyCycle { pipelet, node });
        }
        // The rest were checked above with their own spans; a filter set too large to check
        // exactly is the one that can reach here.
        other => cx.push(e2_span.clone(), ErrorKind::E2Policy { message: other.to_string() }),
    }
}

fn rack(cx: &mut Cx<'_>, r: Option<&S<RackRaw>>) -> RackSpec {
    let mut s = RackSpec::e2_rack();
    let Some(r) = r else { return s };
    let r = r.get_ref();
    if let Some(v) = &r.servers {
        cx.positive("servers", v.get_ref().to_owned().into(), v.span(), "servers = 24");
        s.servers = *v.get_ref();
    }
    if let Some(v) = &r.cores_per_server {
        let n = u64::from(*v.get_ref());
        cx.positive("cores_per_server", n, v.span(), "cores_per_server = 16");
        s.cores_per_server = *v.get_ref();
    }
    if let Some(v) = &r.reserved_cores {
        s.reserved_cores = *v.get_ref();
        if s.reserved_cores >= s.cores_per_server && s.cores_per_server > 0 {
            cx.push(
                v.span(),
                ErrorKind::OutOfRange {
                    key: "reserved_cores",
                    what: "below cores_per_server (a server needs a core for NFs)",
                    got: s.reserved_cores.to_string(),
                    example: "reserved_cores = 1",
                },
            );
        }
    }
    if let Some(q) = &r.nic {
        if let Some(v) = cx.rate("nic", q) {
            cx.positive("nic", v, q.span(), r#"nic = "10Gbps""#);
            s.nic_bps = v;
        }
    }
    if let Some(v) = &r.external_ports {
        s.external_ports = *v.get_ref();
    }
    if let Some(q) = &r.port {
        if let Some(v) = cx.rate("port", q) {
            cx.positive("port", v, q.span(), r#"port = "10Gbps""#);
            s.port_bps = v;
        }
    }
    if let Some(v) = &r.flow_table_entries {
        s.flow_table_entries = usize::try_from(*v.get_ref()).unwrap_or(usize::MAX);
    }
    s
}

const NF_TYPE: &str = "[[e2.nf_type]]";
const NODE: &str = "[[e2.node]]";
const PIPELET: &str = "[[e2.pipelet]]";
const EDGE: &str = "an edge of [[e2.pipelet]]";

fn nf_types(cx: &mut Cx<'_>, raw: &[S<NfTypeRaw>]) -> BTreeMap<String, NfTypeSpec> {
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<String, Range<usize>> = BTreeMap::new();
    for t in raw {
        let span = t.span();
        let r = t.get_ref();
        let name = cx.required(&r.name, span.clone(), "name", NF_TYPE, r#"name = "FW""#);
        let rate = cx.required(
            &r.per_core_rate,
            span.clone(),
            "per_core_rate",
            NF_TYPE,
            r#"per_core_rate = "3Gbps""#,
        );
        let per_core_bps = rate.and_then(|q| {
            let v = cx.rate("per_core_rate", q)?;
            cx.positive("per_core_rate", v, q.span(), r#"per_core_rate = "3Gbps""#);
            Some(v)
        });
        // Ours: per-flow state is the common case (section 3.2's example is "all packets in
        // a flow").
        let affinity = match &r.affinity {
            None => Some(Affinity::Key(AffinityKey::FIVE_TUPLE)),
            Some(a) => {
                let parsed = parse_affinity(a.get_ref());
                if parsed.is_none() {
                    cx.push(a.span(), ErrorKind::BadAffinity { given: a.get_ref().clone() });
                }
                parsed
            }
        };
        // Ours: NFs scale out unless the description says they cannot.
        let replicable = r.replicable.as_ref().is_none_or(|b| *b.get_ref());
        let Some(name) = name else { continue };
        if let Some(prev) = seen.get(name.get_ref()) {
            let first_line = cx.line_of(prev);
            cx.push(
                name.span(),
                ErrorKind::DuplicateName { name: name.get_ref().clone(), first_line },
            );
            continue;
        }
        seen.insert(name.get_ref().clone(), name.span());
        if let (Some(per_core_bps), Some(affinity)) = (per_core_bps, affinity) {
            out.insert(
                name.get_ref().clone(),
                NfTypeSpec { name: name.get_ref().clone(), per_core_bps, affinity, replicable },
            );
        }
    }
    // A type whose rate or affinity was bad is still known, so nodes naming it raise no
    // second error: its name maps to a placeholder that validation never returns.
    for (n, _) in seen {
        out.entry(n.clone()).or_insert(NfTypeSpec {
            name: n,
            per_core_bps: 0,
            affinity: Affinity::None,
            replicable: true,
        });
    }
    out
}

/// `"none"`, `"5-tuple"`, or fields joined by `+`: `src_ip[/len]`, `dst_ip[/len]`,
/// `src_port`, `dst_port`, `proto`.
pub fn parse_affinity(s: &str) -> Option<Affinity> {
    match s.trim() {
        "none" => return Some(Affinity::None),
        "5-tuple" => return Some(Affinity::Key(AffinityKey::FIVE_TUPLE)),
        _ => {}
    }
    let mut k = AffinityKey {
        src_prefix: 0,
        dst_prefix: 0,
        src_port: false,
        dst_port: false,
        proto: false,
    };
    for part in s.split('+').map(str::trim) {
        let (field, len) = match part.split_once('/') {
            Some((f, l)) => (f, Some(l.parse::<u8>().ok().filter(|l| (1..=32).contains(l))?)),
            None => (part, None),
        };
        match (field, len) {
            ("src_ip", l) if k.src_prefix == 0 => k.src_prefix = l.unwrap_or(32),
            ("dst_ip", l) if k.dst_prefix == 0 => k.dst_prefix = l.unwrap_or(32),
            ("src_port", None) if !k.src_port => k.src_port = true,
            ("dst_port", None) if !k.dst_port => k.dst_port = true,
            ("proto", None) if !k.proto => k.proto = true,
            _ => return None,
        }
    }
    Some(Affinity::Key(k))
}

/// The nodes, and each name's span (for errors about the node).
fn nodes(
    cx: &mut Cx<'_>,
    raw: &[S<NodeRaw>],
    catalog: &BTreeMap<String, NfTypeSpec>,
) -> (Vec<NodeSpec>, BTreeMap<String, Range<usize>>) {
    let mut out = Vec::new();
    let mut spans: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let known: Vec<String> = catalog.keys().cloned().collect();
    for n in raw {
        let span = n.span();
        let r = n.get_ref();
        let name = cx.required(&r.name, span.clone(), "name", NODE, r#"name = "fw""#);
        let kind = match (&r.nf_type, &r.ports) {
            (Some(_), Some(p)) => {
                cx.push(
                    p.span(),
                    ErrorKind::Conflict {
                        a: "nf_type",
                        b: "ports",
                        help: "a node is an NF instance (`nf_type`) or a group of switch ports \
                               (`ports`); write two nodes",
                    },
                );
                None
            }
            (None, None) => {
                cx.push(
                    span.clone(),
                    ErrorKind::NeedsOneOf {
                        what: "an [[e2.node]]",
                        options: &["nf_type", "ports"],
                    },
                );
                None
            }
            (Some(t), None) => {
                if catalog.contains_key(t.get_ref()) {
                    Some(Ok(t.get_ref().clone()))
                } else {
                    cx.push(
                        t.span(),
                        ErrorKind::UnknownNfType {
                            name: t.get_ref().clone(),
                            known: known.clone(),
                        },
                    );
                    None
                }
            }
            (None, Some(p)) => match p.get_ref().as_slice() {
                [a, b] if a.get_ref() <= b.get_ref() => Some(Err((*a.get_ref(), *b.get_ref()))),
                _ => {
                    cx.push(
                        p.span(),
                        ErrorKind::OutOfRange {
                            key: "ports",
                            what: "[first, last] with first <= last",
                            got: cx.text.get(p.span()).unwrap_or("?").to_string(),
                            example: "ports = [0, 7]",
                        },
                    );
                    None
                }
            },
        };
        let Some(name) = name else { continue };
        let nm = name.get_ref().clone();
        if nm == DROP {
            cx.push(
                name.span(),
                ErrorKind::E2Policy {
                    message: "`Drop` is built in (it discards packets); name the node otherwise"
                        .into(),
                },
            );
            continue;
        }
        if let Some(prev) = spans.get(&nm) {
            let first_line = cx.line_of(prev);
            cx.push(name.span(), ErrorKind::DuplicateName { name: nm, first_line });
            continue;
        }
        spans.insert(nm.clone(), name.span());
        match kind {
            Some(Ok(nf_type)) => out.push(NodeSpec::Nf { name: nm, nf_type }),
            Some(Err((first, last))) => out.push(NodeSpec::Port { name: nm, first, last }),
            None => {}
        }
    }
    (out, spans)
}

type EdgeSpans = BTreeMap<(String, usize), Range<usize>>;

fn pipelets(
    cx: &mut Cx<'_>,
    raw: &[S<PipeletRaw>],
    nodes: &BTreeMap<String, Range<usize>>,
) -> (Vec<PipeletSpec>, EdgeSpans, BTreeMap<String, Range<usize>>) {
    let mut out = Vec::new();
    let mut edge_spans = BTreeMap::new();
    let mut spans: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let known: Vec<String> = nodes.keys().cloned().collect();
    for p in raw {
        let span = p.span();
        let r = p.get_ref();
        let Some(name) = cx.required(&r.name, span.clone(), "name", PIPELET, r#"name = "web""#)
        else {
            continue;
        };
        let nm = name.get_ref().clone();
        if let Some(prev) = spans.get(&nm) {
            let first_line = cx.line_of(prev);
            cx.push(name.span(), ErrorKind::DuplicateName { name: nm, first_line });
            continue;
        }
        spans.insert(nm.clone(), span.clone());
        if r.edges.is_empty() {
            cx.push(
                span.clone(),
                ErrorKind::MissingKey {
                    key: "edges",
                    table: PIPELET,
                    example: r#"edges = [{ from = "int", to = "fw" }]"#,
                },
            );
        }
        let class = conds(cx, &r.class);
        let mut edges = Vec::new();
        for (i, e) in r.edges.iter().enumerate() {
            let espan = e.span();
            let er = e.get_ref();
            edge_spans.insert((nm.clone(), i), espan.clone());
            let mut end = |v: &Option<S<String>>, key: &'static str, ex: &'static str| {
                let s = cx.required(v, espan.clone(), key, EDGE, ex)?;
                let n = s.get_ref();
                if n == DROP && key == "from" {
                    cx.push(
                        s.span(),
                        ErrorKind::E2Policy {
                            message: "`Drop` discards packets and cannot be an edge's `from`"
                                .into(),
                        },
                    );
                    return None;
                }
                if n != DROP && !nodes.contains_key(n) {
                    let role = if key == "from" { "edge `from`" } else { "edge `to`" };
                    cx.push(
                        s.span(),
                        ErrorKind::UnknownPolicyNode {
                            name: n.clone(),
                            role,
                            known: known.clone(),
                        },
                    );
                    return None;
                }
                Some(n.clone())
            };
            let from = end(&er.from, "from", r#"from = "int""#);
            let to = end(&er.to, "to", r#"to = "fw""#);
            let filter_out = conds(cx, &er.filter);
            let bw_bps = er.bw.as_ref().and_then(|q| cx.rate("bw", q));
            if let (Some(from), Some(to)) = (from, to) {
                edges.push(EdgeSpec {
                    from,
                    to,
                    filter_out,
                    bw_bps,
                    filter_in: er.filter_in.as_ref().map(|s| s.get_ref().clone()),
                });
            }
        }
        out.push(PipeletSpec { name: nm, class, edges });
    }
    (out, edge_spans, spans)
}

fn conds(cx: &mut Cx<'_>, raw: &[S<CondRaw>]) -> Vec<CondSpec> {
    let mut out = Vec::new();
    for c in raw {
        let span = c.span();
        let r = c.get_ref();
        let bad = |why: &str| ErrorKind::BadFilter { why: why.into() };
        let attr = match &r.attr {
            Some(a) if !a.get_ref().trim().is_empty() => a.get_ref().trim().to_string(),
            Some(a) => {
                cx.push(a.span(), bad("`attr` is empty"));
                continue;
            }
            None => {
                cx.push(span, bad("no `attr` (the header field or attribute tested)"));
                continue;
            }
        };
        let (is_in, values) = match (&r.is_in, &r.not_in) {
            (Some(_), Some(n)) => {
                cx.push(n.span(), bad("both `in` and `not_in`; write two conditions"));
                continue;
            }
            (None, None) => {
                cx.push(span, bad(&format!("`{attr}` has neither `in` nor `not_in`")));
                continue;
            }
            (Some(v), None) => (true, v),
            (None, Some(v)) => (false, v),
        };
        if values.get_ref().is_empty() {
            let why = if is_in {
                "`in = []` matches nothing; to send nothing, leave the edge out"
            } else {
                "`not_in = []` excludes nothing; leave the condition out"
            };
            cx.push(values.span(), bad(why));
            continue;
        }
        out.push(CondSpec {
            attr,
            is_in,
            values: values.get_ref().iter().map(|t| t.0.clone()).collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinities_parse_as_documented() {
        assert_eq!(parse_affinity("none"), Some(Affinity::None));
        assert_eq!(parse_affinity("5-tuple"), Some(Affinity::Key(AffinityKey::FIVE_TUPLE)));
        assert_eq!(parse_affinity("src_ip"), Some(Affinity::Key(AffinityKey::SRC_IP)));
        let k = parse_affinity("src_ip/24+dst_port").unwrap();
        assert_eq!(
            k,
            Affinity::Key(AffinityKey {
                src_prefix: 24,
                dst_prefix: 0,
                src_port: false,
                dst_port: true,
                proto: false
            })
        );
        assert_eq!(parse_affinity("src_ip/33"), None);
        assert_eq!(parse_affinity("src_ip+src_ip"), None);
        assert_eq!(parse_affinity("flow"), None);
    }
}
