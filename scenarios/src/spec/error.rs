//! What can be wrong with a scenario file, and where.
//!
//! Checks produce [`Issue`]s (a byte span into the file and an [`ErrorKind`]); the loader turns
//! them into [`Diagnostic`]s with a 1-based line and column, sorted by position, and returns
//! all of them at once as [`SpecErrors`]. Each kind says what is wrong (`Display`) and what
//! would be right ([`ErrorKind::help`]). They print like rustc's:
//!
//! ```text
//! bad.toml:12:1: error: unknown key `rat` in [[links]]
//!   help: did you mean `rate`? valid keys: between, rate, delay, queue, queue_bytes, loss
//! ```

use std::fmt;
use std::ops::Range;

use super::units::{closest, UnitError};

/// One problem, located by a byte span of the file's text.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub span: Range<usize>,
    pub kind: ErrorKind,
}

impl Issue {
    pub fn new(span: Range<usize>, kind: ErrorKind) -> Issue {
        Issue { span, kind }
    }
}

/// What is wrong. The message names the cause; [`ErrorKind::help`] says what would be right.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    #[error("invalid TOML: {message}")]
    Syntax { message: String },
    #[error("unknown key `{key}` in {table}")]
    UnknownKey { key: String, table: &'static str, valid: &'static [&'static str] },
    #[error("missing key `{key}` in {table}")]
    MissingKey { key: &'static str, table: &'static str, example: &'static str },
    /// A value of the wrong TOML type (the message is serde's, e.g. "invalid type: ...").
    #[error("`{key}`: {message}")]
    WrongType { key: String, message: String, example: Option<&'static str> },
    #[error("`{key}`: {source}")]
    Unit {
        key: String,
        #[source]
        source: UnitError,
    },
    #[error("`{key}` must be {what}, got {got}")]
    OutOfRange { key: &'static str, what: &'static str, got: String, example: &'static str },
    #[error("`{key}` = \"{given}\" is not one of the allowed values")]
    UnknownValue { key: &'static str, given: String, valid: &'static [&'static str] },
    #[error("no node named `{name}` ({role})")]
    DanglingNode { name: String, role: &'static str, known: Vec<String> },
    #[error("`{name}` is not a neighbour of switch `{switch}` ({role})")]
    NotNeighbour { name: String, switch: String, role: &'static str, neighbours: Vec<String> },
    #[error("`{name}` is {found}, but {role} must be {expected}")]
    WrongNodeKind { name: String, found: &'static str, role: &'static str, expected: &'static str },
    #[error("the name `{name}` is used twice (first on line {first_line})")]
    DuplicateName { name: String, first_line: usize },
    #[error("`{key}` is not a key of {what}")]
    KeyNotForKind { key: &'static str, what: &'static str, valid: &'static [&'static str] },
    #[error("`{a}` and `{b}` cannot both be given")]
    Conflict { a: &'static str, b: &'static str, help: &'static str },
    #[error("{what} needs one of: {}", options.join(", "))]
    NeedsOneOf { what: &'static str, options: &'static [&'static str] },
    #[error("{what} needs a controller, and the scenario has no [controller] table")]
    NeedsController { what: String },
    #[error("source `{name}` has {count} links; a source has exactly one")]
    SourceLinks { name: String, count: usize },
    #[error("{kind} `{name}` is linked to no switch")]
    NotOnSwitch { name: String, kind: &'static str },
    #[error("`{a}` and `{b}` are not linked")]
    NotLinked { a: String, b: String },
    #[error("`{a}` and `{b}` are linked twice (first on line {first_line})")]
    DuplicateLink { a: String, b: String, first_line: usize },
    #[error("a link cannot join `{name}` to itself")]
    SelfLink { name: String },
    #[error("`{text}` is not an IPv4 address or prefix")]
    BadAddress { text: String },
    #[error("hash range [{lo}, {hi}) is {why}")]
    BadHashRange { lo: u64, hi: u64, why: &'static str },
    #[error("unknown action `{given}`")]
    UnknownAction { given: String },
    #[error("switch `{switch}` has {rules} rules but room for {capacity}")]
    TableFull { switch: String, rules: usize, capacity: u64 },
    #[error("`{from}` and `{to}` share no switch, so traffic cannot be steered between them")]
    NoCommonSwitch { from: String, to: String },
    #[error("cannot use the flow-size distribution `{given}`: {reason}")]
    Distribution { given: String, reason: String },
    #[error("cannot read the trace `{path}`: {reason}")]
    Trace { path: String, reason: String },
    #[error("unknown protocol `{given}`")]
    UnknownProtocol { given: String },
    #[error("no metric named `{given}`")]
    UnknownMetric { given: String },
    #[error("unknown guarantee `{given}`")]
    UnknownGuarantee { given: String },
    #[error("sweep key `{path}`: {why}")]
    BadSweepPath { path: String, why: String },
    #[error("sweep key `{path}` must be a non-empty list of values")]
    SweepNotList { path: String },
    #[error("the sweep grid has {points} points; at most {max} are allowed")]
    SweepTooLarge { points: u128, max: usize },
    #[error("event at {at} is after the run's end ({end}: duration + drain_limit)")]
    EventAfterEnd { at: String, end: String },
    #[error("no NF type named `{name}`")]
    UnknownNfType { name: String, known: Vec<String> },
    #[error("no E2 node named `{name}` ({role})")]
    UnknownPolicyNode { name: String, role: &'static str, known: Vec<String> },
    #[error("bad filter condition: {why}")]
    BadFilter { why: String },
    #[error("`{given}` is not an affinity")]
    BadAffinity { given: String },
    #[error("packets leaving `{node}` can take both this edge, {this}, and {other}")]
    AmbiguousEdges { node: String, this: String, other: String },
    #[error("some packets leaving `{node}` match no edge's filter")]
    NoDestination { node: String },
    #[error("pipelet `{pipelet}` has a cycle through `{node}`")]
    PolicyCycle { pipelet: String, node: String },
    #[error("{message}")]
    E2Policy { message: String },
}

impl ErrorKind {
    /// What would be right.
    pub fn help(&self) -> String {
        use ErrorKind::*;
        match self {
            Syntax { .. } => "the file must be valid TOML (https://toml.io); check quotes, \
                              brackets and `key = value` pairs near this position"
                .into(),
            UnknownKey { key, valid, .. } => match closest(key, valid) {
                Some(c) => format!("did you mean `{c}`? valid keys: {}", valid.join(", ")),
                None => format!("valid keys: {}", valid.join(", ")),
            },
            MissingKey { example, .. } => format!("add it, e.g. `{example}`"),
            WrongType { example: Some(e), .. } => format!("write it like `{e}`"),
            WrongType { example: None, .. } => {
                "see docs/scenarios.md for this key's type".into()
            }
            Unit { source, .. } => source.help(),
            OutOfRange { example, .. } => format!("e.g. `{example}`"),
            UnknownValue { given, valid, .. } => one_of(given, valid),
            DanglingNode { name, known, .. } => {
                names_help(name, known, "nodes in this file", "the file defines no [[nodes]]")
            }
            NotNeighbour { name, neighbours, .. } => names_help(
                name,
                neighbours,
                "its neighbours (nodes linked to it)",
                "the switch has no links; add [[links]] with `between`",
            ),
            WrongNodeKind { .. } => "name a node of the right kind".into(),
            DuplicateName { .. } => "give every node (and every rule of a switch) its own name".into(),
            KeyNotForKind { what, valid, .. } => format!("keys of {what}: {}", valid.join(", ")),
            Conflict { help, .. } => (*help).into(),
            NeedsOneOf { options, .. } => format!("add exactly one of: {}", options.join(", ")),
            NeedsController { .. } => {
                "add a `[controller]` table (every key has a default, so `[controller]` alone works)"
                    .into()
            }
            SourceLinks { .. } => {
                "link the source to exactly one switch with one [[links]] entry".into()
            }
            NotOnSwitch { .. } => "add a [[links]] entry between it and a switch".into(),
            NotLinked { .. } => "name the two ends of an existing [[links]] entry".into(),
            DuplicateLink { .. } => {
                "rules name neighbours, so two nodes share at most one link; remove one".into()
            }
            SelfLink { .. } => "a link joins two different nodes".into(),
            BadAddress { .. } => "write e.g. \"10.0.0.1\" or \"10.0.0.0/8\"".into(),
            BadHashRange { .. } => {
                "write [lo, hi] with lo < hi <= 4294967295, e.g. [0, 2147483648]".into()
            }
            UnknownAction { given } => {
                let valid = ["controller", "duplicate", "drop"];
                let base = "actions are { output = \"NAME\" }, { set_tag = N }, \"controller\", \
                            \"duplicate\" or \"drop\"";
                match closest(given, &valid) {
                    Some(c) => format!("did you mean \"{c}\"? {base}"),
                    None => base.into(),
                }
            }
            TableFull { .. } => "raise `table_capacity` or remove rules".into(),
            NoCommonSwitch { .. } => {
                "link both NF instances to the same switch; that switch's rules are what a move \
                 changes"
                    .into()
            }
            Distribution { .. } => format!(
                "name a built-in distribution ({}) or a `size_bytes,cdf` CSV file (relative to \
                 the scenario file)",
                workloads::catalog::names()
            ),
            Trace { .. } => {
                "name a trace CSV written by `nftwin workload gen` (relative to the scenario file)"
                    .into()
            }
            UnknownProtocol { given } => one_of(given, PROTOCOLS),
            UnknownMetric { given } => one_of(given, crate::driver::METRIC_NAMES),
            UnknownGuarantee { given } => one_of(given, GUARANTEES),
            BadSweepPath { .. } => "a sweep key is a dotted path to an existing table, e.g. \
                                    \"workloads.0.load\" or \"nodes.fw1.service\""
                .into(),
            SweepNotList { .. } => "write e.g. `\"workloads.0.load\" = [0.5, 0.8]`".into(),
            SweepTooLarge { .. } => "split the sweep into several files".into(),
            EventAfterEnd { .. } => "move the event earlier or raise `drain_limit`".into(),
            UnknownNfType { name, known } => names_help(
                name,
                known,
                "NF types in [[e2.nf_type]]",
                "describe the type in an [[e2.nf_type]] entry",
            ),
            UnknownPolicyNode { name, known, .. } => {
                let h = names_help(name, known, "nodes in [[e2.node]]", "the file has no [[e2.node]]");
                format!("{h} (or `Drop`, which discards)")
            }
            BadFilter { .. } => "write a condition as `{ attr = \"dst_port\", in = [\"80\"] }` or \
                                 `{ attr = \"dst_port\", not_in = [\"80\"] }`: a non-empty `attr` \
                                 and exactly one non-empty list"
                .into(),
            BadAffinity { .. } => "write \"none\", \"5-tuple\", or fields joined by `+` from \
                                   src_ip[/len], dst_ip[/len], src_port, dst_port, proto \
                                   (e.g. \"src_ip/24+dst_port\")"
                .into(),
            AmbiguousEdges { .. } => "make the two edges' filters disjoint (e.g. add \
                                      `not_in` the other's values to one), or put them in \
                                      pipelets whose `class`es are disjoint so E2 can add the \
                                      class to each"
                .into(),
            NoDestination { .. } => "add an edge from it whose filter covers them (to `Drop` \
                                     if they should be discarded)"
                .into(),
            PolicyCycle { .. } => "a pipelet is a chain or a DAG; remove an edge of the cycle \
                                   (or move it to another pipelet)"
                .into(),
            E2Policy { .. } => "see docs/scenarios.md, section [e2]".into(),
        }
    }
}

/// Protocols a scenario can run.
pub const PROTOCOLS: &[&str] =
    &["reroute", "opennf", "split-merge", "sharp", "e2-migration-avoidance"];
/// The guarantees an OpenNF move can be asked for.
pub const GUARANTEES: &[&str] = &["none", "loss-free", "loss-free+order-preserving"];

fn one_of(given: &str, valid: &[&str]) -> String {
    match closest(given, valid) {
        Some(c) => format!("did you mean \"{c}\"? valid: {}", valid.join(", ")),
        None => format!("valid: {}", valid.join(", ")),
    }
}

fn names_help(name: &str, known: &[String], what: &str, none: &str) -> String {
    if known.is_empty() {
        return none.into();
    }
    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
    let list = refs.join(", ");
    match closest(name, &refs) {
        Some(c) => format!("did you mean `{c}`? {what}: {list}"),
        None => format!("{what}: {list}"),
    }
}

/// An [`Issue`] located in a file: 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub kind: ErrorKind,
}

impl Diagnostic {
    pub fn help(&self) -> String {
        self.kind.help()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}\n  help: {}",
            self.file,
            self.line,
            self.col,
            self.kind,
            self.help()
        )
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecErrors {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found in the file, in order of position.
    #[error("{}", DiagnosticList(diagnostics))]
    Invalid { file: String, diagnostics: Vec<Diagnostic> },
}

impl SpecErrors {
    /// The located problems (empty for a read error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            SpecErrors::Read { .. } => &[],
            SpecErrors::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

struct DiagnosticList<'a>(&'a [Diagnostic]);

impl fmt::Display for DiagnosticList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "\n{n} error{}", if n == 1 { "" } else { "s" })
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`; offsets past the end
/// or inside a character are clamped, never a panic.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Located, sorted and de-duplicated diagnostics.
pub fn locate(file: &str, text: &str, mut issues: Vec<Issue>) -> Vec<Diagnostic> {
    issues.sort_by_cached_key(|i| (i.span.start, i.span.end, i.kind.to_string()));
    issues.dedup();
    issues
        .into_iter()
        .map(|i| {
            let (line, col) = line_col(text, i.span.start);
            Diagnostic { file: file.to_string(), line, col, kind: i.kind }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_clamped() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 8), (3, 1));
        assert_eq!(line_col(t, 6), (2, 3)); // inside `é`: clamped to its start
        assert_eq!(line_col(t, 999), (3, 2));
    }
}
