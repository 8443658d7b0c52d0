//! Scenario files: TOML in, a validated [`ScenarioConfig`] (and its sweep points) out, or every
//! problem in the file with its `file:line:col` and what would be right.
//!
//! ```text
//! text ──► toml::de::DeTable (spans) ──► take [sweep] ──► strip unknown keys (schema.rs) ──►
//!   serde into ScenarioSpec (raw.rs; a type error is recorded, its value removed, retried) ──►
//!   TryFrom<ScenarioSpec> for ScenarioConfig (validate.rs: units, names, ranges) ──►
//!   one ScenarioConfig per sweep grid point (each point validated the same way)
//! ```
//!
//! - Nothing panics on any input: unit parsing is checked integer arithmetic, offsets are
//!   clamped, the retry loop is bounded (`fuzz/` holds the fuzz target that checks this).
//! - The reference is `docs/scenarios.md`; a test checks that it documents every key of
//!   [`schema`].

pub mod e2;
pub mod error;
pub mod raw;
pub mod schema;
pub mod units;
mod validate;

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use error::{Diagnostic, ErrorKind, Issue, SpecErrors};
pub use validate::{
    DEFAULT_CONTROLLER_NAME, DEFAULT_CONTROL_LATENCY, DEFAULT_DRAIN_LIMIT, DEFAULT_RULE_PRIORITY,
    DEFAULT_SEED, MAX_LOAD, NODE_KINDS,
};

use crate::config::ScenarioConfig;
use raw::ScenarioSpec;

/// Most points a `[sweep]` grid may have.
pub const MAX_SWEEP_POINTS: usize = 10_000;
/// Most type errors recorded before giving up on a file (each one costs a re-parse).
const MAX_TYPE_ERRORS: usize = 64;

/// A loaded scenario: the file as written, and one config per point of its `[sweep]` grid.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub config: ScenarioConfig,
    /// Row-major over the sweep keys in file order (the last key varies fastest); empty
    /// without a `[sweep]`.
    pub sweep: Vec<SweepPoint>,
    /// The file's `[e2]` policy, checked (pGraph merged and unambiguous, NFs sized).
    pub e2: Option<e2::E2Config>,
}

#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// `"workloads.0.load=0.5,controller.per_msg=10us"`.
    pub label: String,
    /// `(sweep key, value as written)` in file order.
    pub assignments: Vec<(String, String)>,
    pub config: ScenarioConfig,
}

/// Reads and validates a scenario file; relative paths in it start at its folder.
pub fn load(path: &Path) -> Result<Scenario, SpecErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| SpecErrors::Read { file: file.clone(), source })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_str(&file, &text, base)
}

/// Validates scenario text; `file_name` is used in diagnostics (and its stem is the default
/// scenario name), `base_dir` is where relative paths (CDFs, traces) start.
pub fn parse_str(file_name: &str, text: &str, base_dir: &Path) -> Result<Scenario, SpecErrors> {
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
    let ctx = Ctx {
        root_span: root.span(),
        base_dir,
        default_name: Path::new(file_name)
            .file_stem()
            .map_or_else(|| "scenario".to_string(), |s| s.to_string_lossy().into_owned()),
        line_starts: std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect(),
    };
    let mut table = root.into_inner();
    let mut issues = Vec::new();
    let axes = take_sweep(&mut table, text, &mut issues);
    // `[e2]` is checked on its own: no run reads it, and a sweep cannot reach it.
    let e2 = match table.remove("e2").map(|v| e2::check(v, text)) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(mut e)) => {
            issues.append(&mut e);
            None
        }
    };
    let config = match check(&table, &ctx) {
        Ok(c) => Some(c),
        Err(mut e) => {
            issues.append(&mut e);
            None
        }
    };
    match config {
        Some(config) if issues.is_empty() => {
            let sweep = expand(&table, &axes, &ctx).map_err(fail)?;
            Ok(Scenario { config, sweep, e2 })
        }
        _ => Err(fail(issues)),
    }
}

/// What every check of a (possibly swept) document needs besides the document.
struct Ctx<'a> {
    root_span: Range<usize>,
    base_dir: &'a Path,
    default_name: String,
    line_starts: Vec<usize>,
}

/// Schema check, serde, then validation, collecting every issue.
fn check(table: &DeTable<'_>, ctx: &Ctx<'_>) -> Result<ScenarioConfig, Vec<Issue>> {
    let mut t = table.clone();
    let mut issues = Vec::new();
    let mut suggested = Vec::new();
    // The top level's span is 0..0 here and in validation's "missing key" errors.
    schema::strip_unknown(&mut t, 0..0, &schema::ROOT, &mut issues, &mut suggested);
    let mut spec = None;
    for _ in 0..MAX_TYPE_ERRORS {
        let de = toml::de::Deserializer::from(Spanned::new(ctx.root_span.clone(), t.clone()));
        match ScenarioSpec::deserialize(de) {
            Ok(s) => {
                spec = Some(s);
                break;
            }
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let message = e.message().trim().to_string();
                match schema::locate_value(&t, &span) {
                    Some((path, key, table)) => {
                        let example = table.and_then(|s| s.example(&key));
                        issues
                            .push(Issue::new(span, ErrorKind::WrongType { key, message, example }));
                        if !schema::remove_at(&mut t, &path) {
                            break;
                        }
                    }
                    None => {
                        issues.push(Issue::new(
                            span,
                            ErrorKind::WrongType { key: "(file)".into(), message, example: None },
                        ));
                        break;
                    }
                }
            }
        }
    }
    let Some(mut spec) = spec else {
        return Err(issues);
    };
    spec.base_dir = ctx.base_dir.to_path_buf();
    spec.default_name = ctx.default_name.clone();
    spec.line_starts = ctx.line_starts.clone();
    match ScenarioConfig::try_from(spec) {
        Ok(c) if issues.is_empty() => Ok(c),
        Ok(_) => Err(issues),
        Err(e) => {
            // A key reported as a typo is not reported again as missing.
            issues.extend(e.into_iter().filter(|i| match &i.kind {
                ErrorKind::MissingKey { key, .. } => {
                    !suggested.iter().any(|(span, k)| *span == i.span && k == key)
                }
                _ => true,
            }));
            Err(issues)
        }
    }
}

/// One key of `[sweep]`.
struct Axis<'i> {
    path: String,
    path_span: Range<usize>,
    values: Vec<Spanned<DeValue<'i>>>,
    /// Each value as written, for labels.
    shown: Vec<String>,
}

/// Removes `[sweep]` from the document and returns its keys in file order.
fn take_sweep<'i>(t: &mut DeTable<'i>, text: &str, issues: &mut Vec<Issue>) -> Vec<Axis<'i>> {
    let Some(sweep) = t.remove("sweep") else { return Vec::new() };
    let DeValue::Table(entries) = sweep.get_ref() else {
        issues.push(Issue::new(
            sweep.span(),
            ErrorKind::WrongType {
                key: "sweep".into(),
                message: "must be a table of lists".into(),
                example: Some(r#"[sweep] "workloads.0.load" = [0.5, 0.8]"#),
            },
        ));
        return Vec::new();
    };
    let mut axes = Vec::new();
    for (k, v) in entries.iter() {
        let path = k.get_ref().to_string();
        match v.get_ref() {
            DeValue::Array(a) if !a.is_empty() => {
                let values: Vec<_> = a.iter().cloned().collect();
                let shown = values
                    .iter()
                    .map(|v| match v.get_ref() {
                        DeValue::String(s) => s.to_string(),
                        _ => text.get(v.span()).unwrap_or("?").to_string(),
                    })
                    .collect();
                axes.push(Axis { path, path_span: k.span(), values, shown });
            }
            _ => issues.push(Issue::new(v.span(), ErrorKind::SweepNotList { path })),
        }
    }
    axes.sort_by_key(|a| a.path_span.start);
    let points = axes.iter().try_fold(1u128, |n, a| n.checked_mul(a.values.len() as u128));
    match points {
        Some(n) if n <= MAX_SWEEP_POINTS as u128 => {}
        _ => {
            let span = t.iter().next().map_or(0..0, |(k, _)| k.span());
            let span = axes.first().map_or(span, |a| a.path_span.clone());
            issues.push(Issue::new(
                span,
                ErrorKind::SweepTooLarge {
                    points: points.unwrap_or(u128::MAX),
                    max: MAX_SWEEP_POINTS,
                },
            ));
            return Vec::new();
        }
    }
    axes
}

/// Every point of the grid, validated; an issue in any point fails the whole file.
fn expand(
    base: &DeTable<'_>,
    axes: &[Axis<'_>],
    ctx: &Ctx<'_>,
) -> Result<Vec<SweepPoint>, Vec<Issue>> {
    if axes.is_empty() {
        return Ok(Vec::new());
    }
    // Paths first, once each, so a bad path is one error, not one per point.
    let mut issues = Vec::new();
    for a in axes {
        let segs: Vec<String> = a.path.split('.').map(str::to_string).collect();
        if let Err(why) = set_path(&mut base.clone(), &segs, a.values[0].clone(), &a.path_span) {
            issues.push(Issue::new(
                a.path_span.clone(),
                ErrorKind::BadSweepPath { path: a.path.clone(), why },
            ));
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let mut points = Vec::new();
    let mut idx = vec![0usize; axes.len()];
    loop {
        let mut t = base.clone();
        let mut assignments = Vec::with_capacity(axes.len());
        for (a, &i) in axes.iter().zip(&idx) {
            let segs: Vec<String> = a.path.split('.').map(str::to_string).collect();
            // Checked above for the first value; the path does not depend on the value.
            if let Err(why) = set_path(&mut t, &segs, a.values[i].clone(), &a.path_span) {
                issues.push(Issue::new(
                    a.path_span.clone(),
                    ErrorKind::BadSweepPath { path: a.path.clone(), why },
                ));
            }
            assignments.push((a.path.clone(), a.shown[i].clone()));
        }
        match check(&t, ctx) {
            Ok(config) => {
                let label = assignments
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",");
                points.push(SweepPoint { label, assignments, config });
            }
            Err(mut e) => issues.append(&mut e),
        }
        // Row-major: the last axis varies fastest.
        let mut d = axes.len();
        loop {
            if d == 0 {
                return if issues.is_empty() { Ok(points) } else { Err(issues) };
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < axes[d].values.len() {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Sets the value at a dotted path (`workloads.0.load`, `nodes.fw1.service`): a table key, or
/// in an array of tables an index or the `name` (for workloads also the `source`) of an element.
fn set_path<'i>(
    t: &mut DeTable<'i>,
    segs: &[String],
    value: Spanned<DeValue<'i>>,
    key_span: &Range<usize>,
) -> Result<(), String> {
    match segs {
        [] => Err("the path is empty".into()),
        [last] => {
            if last.is_empty() {
                return Err("the path has an empty part".into());
            }
            t.remove(last.as_str());
            t.insert(Spanned::new(key_span.clone(), Cow::Owned(last.clone())), value);
            Ok(())
        }
        [seg, rest @ ..] => match schema::find_mut(t, seg) {
            None => Err(format!("the file has no `{seg}` here")),
            Some(DeValue::Table(sub)) => set_path(sub, rest, value, key_span),
            Some(DeValue::Array(a)) => {
                let [sel, rest2 @ ..] = rest else {
                    return Err("the path ends early".into());
                };
                if rest2.is_empty() {
                    return Err(format!("`{seg}.{sel}` is a whole entry; name a key inside it"));
                }
                let by_index = sel.parse::<usize>().ok().filter(|&i| i < a.len());
                let by_name = || {
                    a.iter().position(|e| {
                        ["name", "source"].iter().any(|k| {
                            e.get_ref().get(*k).and_then(|v| v.get_ref().as_str())
                                == Some(sel.as_str())
                        })
                    })
                };
                let Some(i) = by_index.or_else(by_name) else {
                    return Err(format!(
                        "`{seg}` has {} entries and none is `{sel}` (use an index from 0 or a name)",
                        a.len()
                    ));
                };
                match a.get_mut(i).map(|e| e.get_mut()) {
                    Some(DeValue::Table(sub)) => set_path(sub, rest2, value, key_span),
                    _ => Err(format!("`{seg}.{sel}` is not a table")),
                }
            }
            Some(_) => Err(format!("`{seg}` is a value, not a table")),
        },
    }
}
