//! `nftwin report`: one summary table over every tidy CSV under a results folder.
//!
//! ```text
//!  DIR/**/*.csv (header == TIDY_HEADER; other CSVs skipped), in sorted path order
//!    └─► parse each line (output::split_csv_line) ─► polars DataFrame, built from columns
//!         └─► group_by_stable(figure, series, x_name, x, metric)
//!              └─► rows, runs (sum), mean, stderr, min, max of `value` ─► markdown or CSV
//! ```
//!
//! - Groups come out in the order their first row was read (files in sorted path order, rows
//!   in file order), and every float is printed with [`fmt_float`]: the same folder gives the
//!   same bytes.
//! - `stderr` is the standard error of the mean over the group's rows (sample standard deviation
//!   over `sqrt(rows)`). A group of one row has no spread over rows: it keeps that row's own
//!   `stderr` (its spread over its `runs` seeds), so a single results folder reports what its
//!   CSVs say.
//! - A folder with no tidy CSV, or a row that does not parse, is an error naming `file:line`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::output::{split_csv_line, TIDY_HEADER};

/// The grouping keys: the tidy format's identifying columns.
const KEYS: [&str; 5] = ["figure", "series", "x_name", "x", "metric"];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(
        "{0}: no tidy CSV found (a file ending in .csv whose first line is `{TIDY_HEADER}`); \
         give the folder `nftwin reproduce` or `nftwin sweep` wrote"
    )]
    NoTidyCsv(PathBuf),
    #[error("{file}:{line}: {msg}")]
    Malformed { file: PathBuf, line: usize, msg: String },
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
}

/// One summary row: a (figure, series, x_name, x, metric) group over every CSV row read.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub figure: String,
    pub series: String,
    pub x_name: String,
    pub x: String,
    pub metric: String,
    /// Rows aggregated (files, or points repeated within a file).
    pub rows: u64,
    /// Sum of the rows' `runs`.
    pub runs: u64,
    pub mean: f64,
    pub stderr: f64,
    pub min: f64,
    pub max: f64,
}

/// The tidy CSV files under `dir` (recursively), in sorted path order.
pub fn tidy_files(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = fs::read_dir(&d).map_err(|e| ReportError::Io(d.clone(), e))?;
        for entry in entries {
            let path = entry.map_err(|e| ReportError::Io(d.clone(), e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "csv") {
                let text =
                    fs::read_to_string(&path).map_err(|e| ReportError::Io(path.clone(), e))?;
                if text.lines().next().map(str::trim_end) == Some(TIDY_HEADER) {
                    found.push(path);
                }
            }
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(ReportError::NoTidyCsv(dir.to_path_buf()));
    }
    Ok(found)
}

/// The columns of every row of `files`, in file then line order.
#[derive(Default)]
struct Columns {
    keys: [Vec<String>; 5],
    value: Vec<f64>,
    stderr: Vec<f64>,
    runs: Vec<u64>,
}

fn parse_into(cols: &mut Columns, file: &Path) -> Result<(), ReportError> {
    let text = fs::read_to_string(file).map_err(|e| ReportError::Io(file.to_path_buf(), e))?;
    for (i, line) in text.lines().enumerate().skip(1) {
        let bad =
            |msg: String| ReportError::Malformed { file: file.to_path_buf(), line: i + 1, msg };
        if line.trim().is_empty() {
            continue;
        }
        let f = split_csv_line(line);
        if f.len() != 8 {
            return Err(bad(format!(
                "expected 8 fields ({TIDY_HEADER}), found {}: `{line}`",
                f.len()
            )));
        }
        let num = |k: usize, name: &str| {
            f[k].parse::<f64>().map_err(|_| bad(format!("{name} `{}` is not a number", f[k])))
        };
        let (value, stderr) = (num(5, "value")?, num(6, "stderr")?);
        let runs = f[7]
            .parse::<u64>()
            .map_err(|_| bad(format!("runs `{}` is not a whole number", f[7])))?;
        for (k, col) in cols.keys.iter_mut().enumerate() {
            col.push(f[k].clone());
        }
        cols.value.push(value);
        cols.stderr.push(stderr);
        cols.runs.push(runs);
    }
    Ok(())
}

/// Reads every tidy CSV under `dir` and aggregates it with polars.
pub fn summarise(dir: &Path) -> Result<Vec<Summary>, ReportError> {
    let mut cols = Columns::default();
    for file in tidy_files(dir)? {
        parse_into(&mut cols, &file)?;
    }
    summarise_columns(cols)
}

// The eager `GroupBy` aggregations are marked deprecated in favour of `lazy`, which this crate
// leaves out on purpose (build time); they are the documented eager API.
#[allow(deprecated)]
fn summarise_columns(cols: Columns) -> Result<Vec<Summary>, ReportError> {
    let [figure, series, x_name, x, metric] = cols.keys;
    let df = DataFrame::new_infer_height(vec![
        Column::new("figure".into(), figure),
        Column::new("series".into(), series),
        Column::new("x_name".into(), x_name),
        Column::new("x".into(), x),
        Column::new("metric".into(), metric),
        Column::new("value".into(), cols.value),
        Column::new("stderr".into(), cols.stderr),
        Column::new("runs".into(), cols.runs),
    ])?;
    // Every aggregation below groups the same frame the same stable way, so row i of each
    // result is the same group.
    let groups = || df.group_by_stable(KEYS);
    let mean = groups()?.select(["value", "stderr"]).mean()?;
    let std = groups()?.select(["value"]).std(1)?;
    let min = groups()?.select(["value"]).min()?;
    let max = groups()?.select(["value"]).max()?;
    let count = groups()?.select(["value"]).count()?;
    let runs = groups()?.select(["runs"]).sum()?;

    let key_col = |k: &str| -> Result<Vec<String>, ReportError> {
        let c = mean.column(k)?.str()?;
        Ok((0..c.len()).map(|i| c.get(i).unwrap_or_default().to_string()).collect())
    };
    let f64_col = |df: &DataFrame, k: &str| -> Result<Vec<f64>, ReportError> {
        let c = df.column(k)?.cast(&DataType::Float64)?;
        let c = c.f64()?;
        Ok((0..c.len()).map(|i| c.get(i).unwrap_or(f64::NAN)).collect())
    };
    let u64_col = |df: &DataFrame, k: &str| -> Result<Vec<u64>, ReportError> {
        let c = df.column(k)?.cast(&DataType::UInt64)?;
        let c = c.u64()?;
        Ok((0..c.len()).map(|i| c.get(i).unwrap_or(0)).collect())
    };
    let keys: Vec<Vec<String>> = KEYS.iter().map(|k| key_col(k)).collect::<Result<_, _>>()?;
    let means = f64_col(&mean, "value_mean")?;
    let own_stderr = f64_col(&mean, "stderr_mean")?;
    let stds = f64_col(&std, "value_agg_std")?;
    let mins = f64_col(&min, "value_min")?;
    let maxs = f64_col(&max, "value_max")?;
    let counts = u64_col(&count, "value_count")?;
    let run_sums = u64_col(&runs, "runs_sum")?;

    Ok((0..means.len())
        .map(|i| Summary {
            figure: keys[0][i].clone(),
            series: keys[1][i].clone(),
            x_name: keys[2][i].clone(),
            x: keys[3][i].clone(),
            metric: keys[4][i].clone(),
            rows: counts[i],
            runs: run_sums[i],
            mean: means[i],
            stderr: if counts[i] > 1 { stds[i] / (counts[i] as f64).sqrt() } else { own_stderr[i] },
            min: mins[i],
            max: maxs[i],
        })
        .collect())
}

/// A float in a fixed form: six significant digits, trailing zeros dropped; scientific notation
/// below 1e-3 or from 1e9 on; `NaN`, `inf`, `-inf` as such.
pub fn fmt_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs();
    if !(1e-3..1e9).contains(&mag) {
        return format!("{v:.5e}");
    }
    let digits = (5 - mag.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

const COLUMNS: [&str; 11] =
    ["figure", "series", "x_name", "x", "metric", "rows", "runs", "mean", "stderr", "min", "max"];

fn cells(s: &Summary) -> [String; 11] {
    [
        s.figure.clone(),
        s.series.clone(),
        s.x_name.clone(),
        s.x.clone(),
        s.metric.clone(),
        s.rows.to_string(),
        s.runs.to_string(),
        fmt_float(s.mean),
        fmt_float(s.stderr),
        fmt_float(s.min),
        fmt_float(s.max),
    ]
}

/// A markdown table, one line per group (`|` in a field escaped).
pub fn markdown(rows: &[Summary]) -> String {
    let mut out = format!("| {} |\n", COLUMNS.join(" | "));
    let align: Vec<&str> =
        COLUMNS.iter().enumerate().map(|(i, _)| if i < 5 { "---" } else { "---:" }).collect();
    let _ = writeln!(out, "|{}|", align.join("|"));
    for r in rows {
        let c: Vec<String> = cells(r).iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", c.join(" | "));
    }
    out
}

/// The same table as CSV (fields quoted as the tidy format quotes them).
pub fn csv(rows: &[Summary]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for r in rows {
        let c: Vec<String> = cells(r).iter().map(|c| quote(c)).collect();
        let _ = writeln!(out, "{}", c.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_have_one_fixed_form() {
        assert_eq!(fmt_float(6000.0), "6000");
        assert_eq!(fmt_float(0.23), "0.23");
        assert_eq!(fmt_float(1.0 / 3.0), "0.333333");
        assert_eq!(fmt_float(123456.789), "123457");
        assert_eq!(fmt_float(-2.5), "-2.5");
        assert_eq!(fmt_float(0.0001234), "1.23400e-4");
        assert_eq!(fmt_float(f64::NAN), "NaN");
        assert_eq!(fmt_float(-0.0), "0");
    }
}
