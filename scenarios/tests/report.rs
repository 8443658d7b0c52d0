//! `nftwin report` as a user runs it, on a small hand-written results folder whose summary is
//! worked out by hand below.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scenarios::output::TIDY_HEADER;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nftwin-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn report(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftwin")).arg("report").arg(dir).args(args).output().unwrap()
}

/// Three files (two folders) with OpenNF at load 0.5 in each, plus a CSV that is not tidy and
/// a PNG, which are skipped.
fn results(dir: &Path) {
    let h = TIDY_HEADER;
    write(
        dir,
        "a/t-f.csv",
        &format!(
            "{h}\nt/f,OpenNF,load,0.5,lat_ms,2,0.5,3\nt/f,OpenNF,load,0.9,lat_ms,7,0,1\n\
             t/f,\"U-HAUL, fast\",load,0.5,lat_ms,1,0.1,2\n"
        ),
    );
    write(dir, "b/t-f.csv", &format!("{h}\nt/f,OpenNF,load,0.5,lat_ms,4,0.25,3\n"));
    write(dir, "b/t-f-again.csv", &format!("{h}\nt/f,OpenNF,load,0.5,lat_ms,9,1,3\n"));
    write(dir, "b/golden.csv", "flow,packets\n1,2\n");
    write(dir, "b/t-f.png", "not a csv");
}

#[test]
fn the_summary_of_a_hand_written_folder_is_the_one_worked_out_by_hand() {
    let dir = scratch("ok");
    results(&dir);
    let o = report(&[], &dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // OpenNF at 0.5: values 2, 9, 4 (files a/t-f, b/t-f-again, b/t-f in sorted path order):
    // mean 5, sample variance (9 + 1 + 16) / 2 = 13, stderr sqrt(13 / 3) = 2.0816660,
    // runs 3 + 3 + 3. A group of one row keeps that row's stderr (0 and 0.1).
    let expected = "\
| figure | series | x_name | x | metric | rows | runs | mean | stderr | min | max |
|---|---|---|---|---|---:|---:|---:|---:|---:|---:|
| t/f | OpenNF | load | 0.5 | lat_ms | 3 | 9 | 5 | 2.08167 | 2 | 9 |
| t/f | OpenNF | load | 0.9 | lat_ms | 1 | 1 | 7 | 0 | 7 | 7 |
| t/f | U-HAUL, fast | load | 0.5 | lat_ms | 1 | 2 | 1 | 0.1 | 1 | 1 |
";
    assert_eq!(String::from_utf8_lossy(&o.stdout), expected);

    let o = report(&["--format", "csv"], &dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("figure,series,x_name,x,metric,rows,runs,mean,stderr,min,max")
    );
    assert_eq!(csv.lines().nth(3), Some("t/f,\"U-HAUL, fast\",load,0.5,lat_ms,1,2,1,0.1,1,1"));

    let out = dir.join("summary.md");
    let o = report(&["--out", out.to_str().unwrap()], &dir);
    assert!(o.status.success() && o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_folder_without_tidy_csvs_or_with_a_bad_row_is_a_clear_error() {
    let dir = scratch("empty");
    write(&dir, "golden.csv", "flow,packets\n1,2\n");
    let o = report(&[], &dir);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no tidy CSV found"), "{err}");

    let dir = scratch("bad");
    results(&dir);
    write(&dir, "b/t-f.csv", &format!("{TIDY_HEADER}\nt/f,OpenNF,load,0.5,lat_ms,4,0.25,3\nt/f,OpenNF,load,0.5,lat_ms,fast,0,3\n"));
    let o = report(&[], &dir);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let at = format!("{}:3: value `fast` is not a number", dir.join("b/t-f.csv").display());
    assert!(err.contains(&at), "{err}");

    write(&dir, "b/t-f.csv", &format!("{TIDY_HEADER}\nt/f,OpenNF,load,0.5\n"));
    let err = String::from_utf8_lossy(&report(&[], &dir).stderr).into_owned();
    assert!(err.contains("t-f.csv:2: expected 8 fields"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
