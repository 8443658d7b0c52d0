//! Results on disk: the tidy CSV format (ARCHITECTURE.md, "Results: one tidy format"), the
//! per-run verdicts, and `manifest.json`.
//!
//! Every file is written to `<name>.tmp` and renamed into place, and `manifest.json` is written
//! last: a folder without a manifest is an interrupted run, and no file in it is half-written.
//! Nothing written depends on the wall clock, the machine or `--jobs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::driver::RunOutcome;

pub const TIDY_HEADER: &str = "figure,series,x_name,x,metric,value,stderr,runs";

/// One row of the tidy format.
#[derive(Clone, Debug, PartialEq)]
pub struct TidyRow {
    pub figure: String,
    pub series: String,
    pub x_name: String,
    pub x: String,
    pub metric: String,
    pub value: f64,
    pub stderr: f64,
    pub runs: usize,
}

/// Mean and standard error of the mean, summed in the given order (deterministic).
pub fn mean_stderr(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    (mean, (var / n as f64).sqrt())
}

/// Rows for one point: every metric, averaged over the replications, in metric-name order.
pub fn rows_for(
    figure: &str,
    series: &str,
    x_name: &str,
    x: &str,
    runs: &[RunOutcome],
) -> Vec<TidyRow> {
    rows_for_metrics(figure, series, x_name, x, runs.iter().map(|r| &r.metrics))
}

/// [`rows_for`] from the runs' metric maps alone (e.g. read back from a resume cache).
pub fn rows_for_metrics<'a>(
    figure: &str,
    series: &str,
    x_name: &str,
    x: &str,
    runs: impl IntoIterator<Item = &'a BTreeMap<String, f64>>,
) -> Vec<TidyRow> {
    let mut by_metric: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for metrics in runs {
        for (k, v) in metrics {
            by_metric.entry(k).or_default().push(*v);
        }
    }
    by_metric
        .into_iter()
        .map(|(metric, vals)| {
            let (value, stderr) = mean_stderr(&vals);
            TidyRow {
                figure: figure.into(),
                series: series.into(),
                x_name: x_name.into(),
                x: x.into(),
                metric: metric.into(),
                value,
                stderr,
                runs: vals.len(),
            }
        })
        .collect()
}

/// A CSV field: quoted if it holds a comma, a quote or a newline.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits one CSV line written by [`tidy_csv`] into its fields (quotes as [`field`] writes them).
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

pub fn tidy_csv(rows: &[TidyRow]) -> String {
    let mut out = String::from(TIDY_HEADER);
    out.push('\n');
    for r in rows {
        // `{}` on f64 prints the shortest representation that reads back to the same bits.
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            field(&r.figure),
            field(&r.series),
            field(&r.x_name),
            field(&r.x),
            field(&r.metric),
            r.value,
            r.stderr,
            r.runs
        );
    }
    out
}

/// Writes `contents` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, contents: &str) -> io::Result<()> {
    write_atomic_bytes(path, contents.as_bytes())
}

/// [`write_atomic`] for binary files (plots).
pub fn write_atomic_bytes(path: &Path, contents: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(match path.extension() {
        Some(e) => format!("{}.tmp", e.to_string_lossy()),
        None => "tmp".into(),
    });
    fs::write(&tmp, contents)?;
    fs::rename(&tmp, path)
}

/// The file a figure's tidy CSV goes to: `<out>/<target>/<figure with / replaced by ->.csv`.
pub fn figure_path(out: &Path, target: &str, figure: &str) -> PathBuf {
    out.join(target).join(format!("{}.csv", figure.replace('/', "-")))
}

/// One replication's verdict as a JSON object.
pub fn verdict_json(r: &RunOutcome) -> String {
    let o = &r.oracle;
    let lost: Vec<String> =
        o.lost_packets.iter().map(|(c, n)| format!("\"{}\": {n}", c.name())).collect();
    let violations: Vec<String> = r.verdict.violations.iter().map(|v| json_str(v)).collect();
    format!(
        "{{\"seed\": {}, \"protocol\": {}, \"guarantee\": {}, \"honoured\": {}, \"clean\": {}, \"violations\": [{}], \
         \"sent\": {}, \"delivered\": {}, \"in_flight\": {}, \"lost_packets\": {{{}}}, \"lost_updates\": {}, \
         \"lost_updates_network\": {}, \"reordered_updates\": {}, \"duplicate_updates\": {}, \"duplicate_outputs\": {}, \
         \"state_mismatch_flows\": {}}}",
        r.seed,
        json_str(r.protocol),
        json_str(&r.guarantee.to_string()),
        r.verdict.honoured,
        r.verdict.clean,
        violations.join(", "),
        o.sent,
        o.delivered,
        o.in_flight,
        lost.join(", "),
        o.lost_updates,
        o.lost_updates_network,
        o.reordered_updates,
        o.duplicate_updates,
        o.duplicate_outputs,
        o.state_mismatch
    )
}

pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What `manifest.json` records: enough to reproduce the folder, nothing that varies by run.
pub struct Manifest<'a> {
    pub command: &'a str,
    pub scenario: &'a Path,
    pub scenario_bytes: &'a [u8],
    pub seeds: &'a [u64],
    pub files: &'a [String],
}

impl Manifest<'_> {
    pub fn to_json(&self) -> String {
        let seeds: Vec<String> = self.seeds.iter().map(|s| s.to_string()).collect();
        let files: Vec<String> = self.files.iter().map(|f| json_str(f)).collect();
        format!(
            "{{\n  \"tool\": \"nftwin\",\n  \"version\": {},\n  \"git_revision\": {},\n  \"command\": {},\n  \
             \"scenario\": {},\n  \"scenario_fnv1a64\": \"{:016x}\",\n  \"seeds\": [{}],\n  \"files\": [{}]\n}}\n",
            json_str(env!("CARGO_PKG_VERSION")),
            json_str(option_env!("NFTWIN_GIT_REVISION").unwrap_or("unknown")),
            json_str(self.command),
            json_str(&self.scenario.display().to_string()),
            base::rng::fnv1a64(self.scenario_bytes),
            seeds.join(", "),
            files.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_stderr_follow_the_textbook() {
        assert_eq!(mean_stderr(&[2.0]), (2.0, 0.0));
        let (m, se) = mean_stderr(&[1.0, 2.0, 3.0, 4.0]);
        // Sample variance 5/3; stderr sqrt(5/3 / 4) = 0.6455.
        assert_eq!(m, 2.5);
        assert!((se - 0.645_497_224).abs() < 1e-9);
    }

    #[test]
    fn a_written_line_splits_back_into_its_fields() {
        let fields = ["a/b", "x, \"quoted\" y", "load", "0.5", "m", "1.5", "0", "3"];
        let line = fields.iter().map(|f| field(f)).collect::<Vec<_>>().join(",");
        assert_eq!(split_csv_line(&line), fields);
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        let rows = [TidyRow {
            figure: "run/x".into(),
            series: "reroute".into(),
            x_name: "point".into(),
            x: "a=1,b=2".into(),
            metric: "lost_updates".into(),
            value: 0.1,
            stderr: 0.0,
            runs: 1,
        }];
        assert_eq!(
            tidy_csv(&rows),
            format!("{TIDY_HEADER}\nrun/x,reroute,point,\"a=1,b=2\",lost_updates,0.1,0,1\n")
        );
    }

    #[test]
    fn an_atomic_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("nftwin-out-test-{}", std::process::id()));
        let p = dir.join("a/b.csv");
        write_atomic(&p, "x\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "x\n");
        assert!(!dir.join("a/b.csv.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
