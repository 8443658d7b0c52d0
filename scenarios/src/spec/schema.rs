//! The keys each table of a scenario file accepts: one list used by the unknown-key check (and
//! its help text), by the docs test (every key here is documented in `docs/scenarios.md`) and,
//! through the examples, by type errors' help.
//!
//! The serde structs in `raw.rs` are the other half; a test checks that the two agree.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{ErrorKind, Issue};

/// A key and an example of it as written in a file.
pub struct Key {
    pub name: &'static str,
    pub example: &'static str,
}

/// A table of the file (or every element of an array of tables).
pub struct TableSchema {
    /// As the reference and the errors name it: `[[links]]`, `[controller]`, `top level`.
    pub name: &'static str,
    pub keys: &'static [Key],
    /// Just the key names, for help texts.
    pub key_names: &'static [&'static str],
    /// Keys whose value is a table or an array of tables, checked with their own schema.
    pub children: &'static [(&'static str, &'static TableSchema)],
}

macro_rules! table {
    ($ident:ident, $name:expr, [$(($k:expr, $ex:expr)),* $(,)?], [$(($ck:expr, $cs:ident)),* $(,)?]) => {
        pub static $ident: TableSchema = TableSchema {
            name: $name,
            keys: &[$(Key { name: $k, example: $ex }),*],
            key_names: &[$($k),*],
            children: &[$(($ck, &$cs)),*],
        };
    };
}
/// Also declares the schema of `nftwin what-if` plans (`whatif/plan.rs`).
pub(crate) use table;

table!(
    ROOT,
    "the top level",
    [
        ("name", r#"name = "reroute-mid-stream""#),
        ("seed", "seed = 1"),
        ("replications", "replications = 5"),
        ("duration", r#"duration = "100ms""#),
        ("drain_limit", r#"drain_limit = "1s""#),
        ("controller", "[controller]"),
        ("nodes", "[[nodes]]"),
        ("links", "[[links]]"),
        ("workloads", "[[workloads]]"),
        ("protocol", "[protocol]"),
        ("timeline", "[[timeline]]"),
        ("metrics", "[metrics]"),
        ("sweep", "[sweep]"),
        ("e2", "[e2]"),
    ],
    [
        ("e2", E2),
        ("controller", CONTROLLER),
        ("nodes", NODE),
        ("links", LINK),
        ("workloads", WORKLOAD),
        ("protocol", PROTOCOL),
        ("timeline", TIMELINE),
        ("metrics", METRICS),
    ]
);

table!(
    METRICS,
    "[metrics]",
    [
        ("record", r#"record = ["lost_updates", "mean_delay_us"]"#),
        ("controller_buffer_series", "controller_buffer_series = true"),
    ],
    []
);

table!(
    SET_LOAD,
    "`set_load` of [[timeline]]",
    [("source", r#"source = "h1""#), ("load", "load = 0.9")],
    []
);

table!(
    CONTROLLER,
    "[controller]",
    [
        ("name", r#"name = "ctl""#),
        ("per_msg", r#"per_msg = "10us""#),
        ("buffer_capacity", "buffer_capacity = 10000"),
        ("control_latency", r#"control_latency = "100us""#),
        ("control_jitter", r#"control_jitter = "50us""#),
        ("control_ordered", "control_ordered = true"),
    ],
    []
);

table!(
    NODE,
    "[[nodes]]",
    [
        ("name", r#"name = "s1""#),
        ("kind", r#"kind = "switch""#),
        ("table_capacity", "table_capacity = 2048"),
        ("update", r#"update = { model = "hardware", min = "1ms", max = "8ms", mean = "3ms" }"#),
        ("table_miss", r#"table_miss = "drop""#),
        ("ingress", "ingress = true"),
        ("rules", "[[nodes.rules]]"),
        ("service", r#"service = "1us""#),
        ("rate", r#"rate = "1Mpps""#),
        ("queue", "queue = 1000"),
        ("state_bytes", "state_bytes = 256"),
        ("export_per_flow", r#"export_per_flow = "5us""#),
        ("import_per_flow", r#"import_per_flow = "5us""#),
        ("state_updates", r#"state_updates = "connection-events""#),
        ("selective_cloning", "selective_cloning = true"),
        ("fit_window", r#"fit_window = "50ms""#),
    ],
    [("update", UPDATE), ("rules", RULE)]
);

table!(
    UPDATE,
    "`update` of [[nodes]]",
    [
        ("model", r#"model = "hardware""#),
        ("min", r#"min = "1ms""#),
        ("max", r#"max = "8ms""#),
        ("mean", r#"mean = "3ms""#),
        ("per_rule", r#"per_rule = "20us""#),
    ],
    []
);

table!(
    RULE,
    "[[nodes.rules]]",
    [
        ("name", r#"name = "to-fw1""#),
        ("priority", "priority = 10"),
        ("match", r#"match = { from = "h1", dst = "10.0.0.0/8" }"#),
        ("actions", r#"actions = [{ output = "fw1" }]"#),
        ("idle_timeout", r#"idle_timeout = "1s""#),
    ],
    [("match", MATCH), ("actions", ACTION)]
);

table!(
    MATCH,
    "`match` of [[nodes.rules]]",
    [
        ("from", r#"from = "h1""#),
        ("src", r#"src = "10.0.0.0/8""#),
        ("dst", r#"dst = "172.16.0.1""#),
        ("sport", "sport = 80"),
        ("dport", "dport = 80"),
        ("proto", "proto = 6"),
        ("hash", "hash = [0, 2147483648]"),
        ("tag", "tag = 0"),
    ],
    []
);

table!(
    ACTION,
    "an action of [[nodes.rules]]",
    [("output", r#"{ output = "fw1" }"#), ("set_tag", "{ set_tag = 1 }"),],
    []
);

table!(
    LINK,
    "[[links]]",
    [
        ("between", r#"between = ["h1", "s1"]"#),
        ("rate", r#"rate = "10Gbps""#),
        ("delay", r#"delay = "1us""#),
        ("queue", "queue = 1000"),
        ("queue_bytes", r#"queue_bytes = "1MB""#),
        ("loss", "loss = 0.0"),
    ],
    []
);

table!(
    WORKLOAD,
    "[[workloads]]",
    [
        ("source", r#"source = "h1""#),
        ("dist", r#"dist = "websearch""#),
        ("trace", r#"trace = "flows.csv""#),
        ("load", "load = 0.8"),
        ("reference", r#"reference = "10Gbps""#),
        ("mtu", "mtu = 1500"),
        ("flow_rate", r#"flow_rate = "10Gbps""#),
        ("pacing", r#"pacing = "fair-share""#),
        ("slow_start_rtt", r#"slow_start_rtt = "100us""#),
        ("initial_window", "initial_window = 10"),
    ],
    []
);

table!(
    PROTOCOL,
    "[protocol]",
    [
        ("name", r#"name = "opennf""#),
        ("priority", "priority = 1000"),
        ("guarantee", r#"guarantee = "loss-free""#),
        ("parallelize", "parallelize = true"),
        ("early_release", "early_release = true"),
        ("late_locking", "late_locking = true"),
        ("reprocess", "reprocess = true"),
        ("p2p", "p2p = true"),
        ("max_silence", r#"max_silence = "15ms""#),
        ("transfer_delay", r#"transfer_delay = "100ms""#),
        ("start_ho", r#"start_ho = "per-flow""#),
        ("share", "share = 0.5"),
        ("push_threshold", "push_threshold = 500"),
    ],
    []
);

table!(
    TIMELINE,
    "[[timeline]]",
    [
        ("at", r#"at = "50ms""#),
        ("move", r#"move = { flows = "all", from = "fw1", to = "fw2" }"#),
        ("link_down", r#"link_down = ["s1", "fw1"]"#),
        ("link_up", r#"link_up = ["s1", "fw1"]"#),
        ("nf_fail", r#"nf_fail = "fw1""#),
        ("nf_restore", r#"nf_restore = "fw1""#),
        ("set_load", r#"set_load = { source = "h1", load = 0.9 }"#),
    ],
    [("move", MOVE), ("set_load", SET_LOAD)]
);

table!(
    MOVE,
    "`move` of [[timeline]]",
    [("flows", r#"flows = "all""#), ("from", r#"from = "fw1""#), ("to", r#"to = "fw2""#),],
    [("flows", FLOWS)]
);

table!(
    FLOWS,
    "`move.flows` of [[timeline]]",
    [
        ("src", r#"src = "10.0.0.0/8""#),
        ("dst", r#"dst = "172.16.0.1""#),
        ("sport", "sport = 80"),
        ("dport", "dport = 80"),
        ("proto", "proto = 6"),
        ("hash", "hash = [0, 2147483648]"),
        ("tag", "tag = 0"),
    ],
    []
);

table!(
    E2,
    "[e2]",
    [
        ("nf_type", "[[e2.nf_type]]"),
        ("node", "[[e2.node]]"),
        ("pipelet", "[[e2.pipelet]]"),
        ("rack", "[e2.rack]"),
    ],
    [("nf_type", E2_NF_TYPE), ("node", E2_NODE), ("pipelet", E2_PIPELET), ("rack", E2_RACK)]
);

table!(
    E2_NF_TYPE,
    "[[e2.nf_type]]",
    [
        ("name", r#"name = "FW""#),
        ("per_core_rate", r#"per_core_rate = "3Gbps""#),
        ("affinity", r#"affinity = "5-tuple""#),
        ("replicable", "replicable = true"),
    ],
    []
);

table!(
    E2_NODE,
    "[[e2.node]]",
    [("name", r#"name = "fw""#), ("nf_type", r#"nf_type = "FW""#), ("ports", "ports = [0, 7]"),],
    []
);

table!(
    E2_PIPELET,
    "[[e2.pipelet]]",
    [
        ("name", r#"name = "outbound""#),
        ("class", r#"class = [{ attr = "in_port", in = ["int"] }]"#),
        ("edges", r#"edges = [{ from = "int", to = "fw", bw = "2Gbps" }]"#),
    ],
    [("class", E2_COND), ("edges", E2_EDGE)]
);

table!(
    E2_EDGE,
    "an edge of [[e2.pipelet]]",
    [
        ("from", r#"from = "int""#),
        ("to", r#"to = "fw""#),
        ("filter", r#"filter = [{ attr = "dst_port", in = ["80"] }]"#),
        ("bw", r#"bw = "2Gbps""#),
        ("filter_in", r#"filter_in = "prio0""#),
    ],
    [("filter", E2_COND)]
);

table!(
    E2_COND,
    "a condition of `class` or `filter`",
    [
        ("attr", r#"attr = "dst_port""#),
        ("in", r#"in = ["80", "443"]"#),
        ("not_in", r#"not_in = ["80"]"#),
    ],
    []
);

table!(
    E2_RACK,
    "[e2.rack]",
    [
        ("servers", "servers = 24"),
        ("cores_per_server", "cores_per_server = 16"),
        ("reserved_cores", "reserved_cores = 1"),
        ("nic", r#"nic = "10Gbps""#),
        ("external_ports", "external_ports = 24"),
        ("port", r#"port = "10Gbps""#),
        ("flow_table_entries", "flow_table_entries = 2048"),
    ],
    []
);

/// Every table schema, for the docs test.
pub static ALL: &[&TableSchema] = &[
    &ROOT,
    &CONTROLLER,
    &NODE,
    &UPDATE,
    &RULE,
    &MATCH,
    &ACTION,
    &LINK,
    &WORKLOAD,
    &PROTOCOL,
    &TIMELINE,
    &MOVE,
    &FLOWS,
    &SET_LOAD,
    &METRICS,
    &E2,
    &E2_NF_TYPE,
    &E2_NODE,
    &E2_PIPELET,
    &E2_EDGE,
    &E2_COND,
    &E2_RACK,
];

impl TableSchema {
    pub fn example(&self, key: &str) -> Option<&'static str> {
        self.keys.iter().find(|k| k.name == key).map(|k| k.example)
    }

    pub fn child(&self, key: &str) -> Option<&'static TableSchema> {
        self.children.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }
}

/// Reports every key that `schema` (and its children's schemas) does not know, and removes it
/// so that deserialization sees only known keys. `sweep` is free-form and skipped.
///
/// `span` is the table's own span; `(span, key)` is recorded in `suggested` for each unknown
/// key that looks like a typo of `key`, so that the "missing `key`" error it causes can be
/// left out (one mistake, one error).
pub fn strip_unknown(
    table: &mut DeTable<'_>,
    span: Range<usize>,
    schema: &'static TableSchema,
    out: &mut Vec<Issue>,
    suggested: &mut Vec<(Range<usize>, &'static str)>,
) {
    let unknown: Vec<(String, Range<usize>)> = table
        .iter()
        .filter(|(k, _)| !schema.key_names.contains(&k.get_ref().as_ref()))
        .map(|(k, _)| (k.get_ref().to_string(), k.span()))
        .collect();
    for (key, key_span) in unknown {
        table.remove(key.as_str());
        if let Some(c) = super::units::closest(&key, schema.key_names) {
            suggested.push((span.clone(), c));
        }
        out.push(Issue::new(
            key_span,
            ErrorKind::UnknownKey { key, table: schema.name, valid: schema.key_names },
        ));
    }
    for (k, v) in table.iter_mut() {
        if let Some(child) = schema.child(k.get_ref()) {
            let span = v.span();
            strip_value(v.get_mut(), span, child, out, suggested);
        }
    }
}

fn strip_value(
    v: &mut DeValue<'_>,
    span: Range<usize>,
    schema: &'static TableSchema,
    out: &mut Vec<Issue>,
    suggested: &mut Vec<(Range<usize>, &'static str)>,
) {
    match v {
        DeValue::Table(t) => strip_unknown(t, span, schema, out, suggested),
        DeValue::Array(a) => {
            for e in a.iter_mut() {
                let span = e.span();
                if let DeValue::Table(t) = e.get_mut() {
                    strip_unknown(t, span, schema, out, suggested);
                }
            }
        }
        _ => {}
    }
}

/// One step of a path into the document.
#[derive(Clone, Debug)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// The path to the value whose span is the smallest one containing `err` (a serde error's
/// span), with the key naming it and the schema of the table holding it.
pub fn locate_value(
    root: &DeTable<'_>,
    err: &Range<usize>,
) -> Option<(Vec<Step>, String, Option<&'static TableSchema>)> {
    let mut best: Option<(usize, Vec<Step>, String, Option<&'static TableSchema>)> = None;
    let mut path = Vec::new();
    visit_table(root, Some(&ROOT), err, &mut path, "", &mut best);
    best.map(|(_, p, k, s)| (p, k, s))
}

type Best = Option<(usize, Vec<Step>, String, Option<&'static TableSchema>)>;

fn consider(
    v: &Spanned<DeValue<'_>>,
    err: &Range<usize>,
    path: &[Step],
    key: &str,
    schema: Option<&'static TableSchema>,
    best: &mut Best,
) {
    let s = v.span();
    if s.start <= err.start && err.end <= s.end {
        let len = s.end - s.start;
        if best.as_ref().is_none_or(|(l, ..)| len < *l) {
            *best = Some((len, path.to_vec(), key.to_string(), schema));
        }
    }
}

fn visit_table(
    t: &DeTable<'_>,
    schema: Option<&'static TableSchema>,
    err: &Range<usize>,
    path: &mut Vec<Step>,
    _key: &str,
    best: &mut Best,
) {
    for (k, v) in t.iter() {
        let name = k.get_ref().as_ref();
        path.push(Step::Key(name.to_string()));
        consider(v, err, path, name, schema, best);
        let child = schema.and_then(|s| s.child(name));
        visit_value(v, child, err, path, name, best);
        path.pop();
    }
}

fn visit_value(
    v: &Spanned<DeValue<'_>>,
    schema: Option<&'static TableSchema>,
    err: &Range<usize>,
    path: &mut Vec<Step>,
    key: &str,
    best: &mut Best,
) {
    match v.get_ref() {
        DeValue::Table(t) => visit_table(t, schema, err, path, key, best),
        DeValue::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                path.push(Step::Index(i));
                consider(e, err, path, key, schema, best);
                visit_value(e, schema, err, path, key, best);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Removes the value at `path`; false if there is none.
pub fn remove_at(root: &mut DeTable<'_>, path: &[Step]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur: &mut DeValue<'_> = match parents.first() {
        None => return remove_from_table(root, last),
        Some(Step::Key(k)) => match find_mut(root, k) {
            Some(v) => v,
            None => return false,
        },
        Some(Step::Index(_)) => return false,
    };
    for step in &parents[1..] {
        cur = match (cur, step) {
            (DeValue::Table(t), Step::Key(k)) => match find_mut(t, k) {
                Some(v) => v,
                None => return false,
            },
            (DeValue::Array(a), Step::Index(i)) => match a.get_mut(*i) {
                Some(v) => v.get_mut(),
                None => return false,
            },
            _ => return false,
        };
    }
    match (cur, last) {
        (DeValue::Table(t), step) => remove_from_table(t, step),
        (DeValue::Array(a), Step::Index(i)) if *i < a.len() => {
            let old = std::mem::replace(a, toml::de::DeArray::new());
            *a = old.into_iter().enumerate().filter(|(j, _)| j != i).map(|(_, v)| v).collect();
            true
        }
        _ => false,
    }
}

fn remove_from_table(t: &mut DeTable<'_>, step: &Step) -> bool {
    let Step::Key(k) = step else { return false };
    t.remove(k.as_str()).is_some()
}

pub fn find_mut<'a, 'i>(t: &'a mut DeTable<'i>, key: &str) -> Option<&'a mut DeValue<'i>> {
    t.iter_mut().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v.get_mut())
}
