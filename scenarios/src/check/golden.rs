//! Golden summaries: a fixed set of scenario files, run with their own seeds, against the
//! summaries kept in `results/golden/` (one tidy CSV per scenario, one row per replication
//! and metric, `x_name` = `seed`).
//!
//! Tolerances: the oracle's counts (`CORRECTNESS` below) must match exactly; every other
//! metric within 1% of the golden value (or 1e-9 absolute, for values near zero). The run is
//! deterministic, so on unchanged code everything matches bit for bit; the tolerance lets a
//! model refinement that moves a timing by a hair pass, and flags anything larger for review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::ScenarioConfig;
use crate::driver::RunOutcome;
use crate::output::{self, TidyRow};

/// Relative tolerance for metrics other than the oracle's counts.
pub const RELATIVE_TOLERANCE: f64 = 0.01;
const ABSOLUTE_FLOOR: f64 = 1e-9;

/// Metrics compared exactly: what the oracle counts, and the verdict.
const CORRECTNESS: &[&str] = &[
    "duplicate_outputs",
    "duplicate_updates",
    "guarantee_honoured",
    "in_flight_pkts",
    "lost_updates",
    "lost_updates_network",
    "moves_failed",
    "protocol_unexpected",
    "reordered_updates",
    "state_mismatch_flows",
];

fn exact(metric: &str) -> bool {
    CORRECTNESS.contains(&metric) || metric.starts_with("lost_") && metric.ends_with("_pkts")
}

/// The scenario files of the golden set, in `dir`, by name order.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list the golden scenarios in {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no scenario files (*.toml) in {}", dir.display());
    }
    Ok(files)
}

/// The golden file's name for a scenario file.
pub fn golden_path(golden_dir: &Path, scenario: &Path) -> PathBuf {
    let stem = scenario.file_stem().map_or("scenario".into(), |s| s.to_string_lossy());
    golden_dir.join(format!("{stem}.csv"))
}

/// One scenario's summary: a row per replication and metric.
pub fn summary(stem: &str, cfg: &ScenarioConfig, runs: &[RunOutcome]) -> Vec<TidyRow> {
    let figure = format!("golden/{stem}");
    let series = cfg.protocol.name();
    let mut rows = Vec::new();
    for r in runs {
        for (metric, &value) in &r.metrics {
            rows.push(TidyRow {
                figure: figure.clone(),
                series: series.into(),
                x_name: "seed".into(),
                x: r.seed.to_string(),
                metric: metric.clone(),
                value,
                stderr: 0.0,
                runs: 1,
            });
        }
    }
    rows
}

/// One difference beyond tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub seed: String,
    pub metric: String,
    pub golden: Option<f64>,
    pub now: Option<f64>,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: Option<f64>| v.map_or("(absent)".to_string(), |v| format!("{v}"));
        write!(
            f,
            "seed {}: {} {} -> {}",
            self.seed,
            self.metric,
            show(self.golden),
            show(self.now)
        )?;
        match (self.golden, self.now) {
            (Some(g), Some(n)) if exact(&self.metric) => {
                write!(f, " ({:+}, must match exactly)", n - g)
            }
            (Some(g), Some(n)) if g != 0.0 => write!(
                f,
                " ({:+.2}%, tolerance {}%)",
                (n - g) / g.abs() * 100.0,
                RELATIVE_TOLERANCE * 100.0
            ),
            _ => Ok(()),
        }
    }
}

/// Reads a golden CSV (the tidy format this crate writes) into `(seed, metric) -> value`.
pub fn read_golden(path: &Path) -> Result<BTreeMap<(String, String), f64>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "no golden summary at {} (create it with `nftwin check --update-golden`)",
            path.display()
        )
    })?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let fields = output::split_csv_line(line);
        if fields.len() != 8 {
            bail!("{}:{}: expected 8 fields, got {}", path.display(), i + 1, fields.len());
        }
        let value: f64 = fields[5]
            .parse()
            .with_context(|| format!("{}:{}: value `{}`", path.display(), i + 1, fields[5]))?;
        out.insert((fields[3].clone(), fields[4].clone()), value);
    }
    Ok(out)
}

/// The differences between a golden summary and the rows of this run, beyond tolerance.
pub fn compare(golden: &BTreeMap<(String, String), f64>, now: &[TidyRow]) -> Vec<Drift> {
    let now_map: BTreeMap<(String, String), f64> =
        now.iter().map(|r| ((r.x.clone(), r.metric.clone()), r.value)).collect();
    let keys: std::collections::BTreeSet<&(String, String)> =
        golden.keys().chain(now_map.keys()).collect();
    let mut drifts = Vec::new();
    for k in keys {
        let (g, n) = (golden.get(k).copied(), now_map.get(k).copied());
        let ok = match (g, n) {
            (Some(g), Some(n)) if exact(&k.1) => g == n,
            (Some(g), Some(n)) => {
                (n - g).abs() <= (RELATIVE_TOLERANCE * g.abs()).max(ABSOLUTE_FLOOR)
                    || (g.is_nan() && n.is_nan())
            }
            _ => false,
        };
        if !ok {
            drifts.push(Drift { seed: k.0.clone(), metric: k.1.clone(), golden: g, now: n });
        }
    }
    drifts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seed: &str, metric: &str, value: f64) -> TidyRow {
        TidyRow {
            figure: "golden/x".into(),
            series: "opennf".into(),
            x_name: "seed".into(),
            x: seed.into(),
            metric: metric.into(),
            value,
            stderr: 0.0,
            runs: 1,
        }
    }

    #[test]
    fn counts_must_match_exactly_and_timings_within_one_percent() {
        let golden: BTreeMap<(String, String), f64> = [
            (("1".to_string(), "lost_updates".to_string()), 0.0),
            (("1".to_string(), "move_duration_ms".to_string()), 100.0),
            (("1".to_string(), "mean_delay_us".to_string()), 10.0),
        ]
        .into_iter()
        .collect();
        let ok = [
            row("1", "lost_updates", 0.0),
            row("1", "move_duration_ms", 100.9),
            row("1", "mean_delay_us", 10.0),
        ];
        assert!(compare(&golden, &ok).is_empty());
        let bad = [
            row("1", "lost_updates", 1.0),
            row("1", "move_duration_ms", 101.1),
            row("1", "p99_delay_us", 3.0),
        ];
        let d = compare(&golden, &bad);
        let names: Vec<&str> = d.iter().map(|d| d.metric.as_str()).collect();
        // A lost update, a 1.1% drift, a metric gone and a metric new.
        assert_eq!(
            names,
            vec!["lost_updates", "mean_delay_us", "move_duration_ms", "p99_delay_us"]
        );
        assert!(d[0].to_string().contains("must match exactly"), "{}", d[0]);
        assert!(d[2].to_string().contains("+1.10%"), "{}", d[2]);
    }
}
