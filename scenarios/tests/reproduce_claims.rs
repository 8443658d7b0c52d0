//! The papers' claims as `nftwin reproduce` checks them: every claim of every target has its
//! data in a `--quick` run (a renamed series or metric shows here as an n/a), and the claims
//! blocks of a markdown file are rewritten in place, prose untouched, idempotently, with a
//! clear error for a missing marker.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scenarios::output::split_csv_line;
use scenarios::reproduce::claims::{begin_marker, CLAIMS_HEADER, END_MARKER};
use scenarios::reproduce::TARGETS;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nftwin-claims-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn reproduce(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftwin"))
        .arg("reproduce")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn every_claim_of_every_target_has_its_data_in_a_quick_run() {
    let out = scratch("all");
    let o = reproduce(&["all", "--quick", "--jobs", "2", "--docs", "none"], &out);
    ok(&o);
    let csv = std::fs::read_to_string(out.join("claims.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CLAIMS_HEADER));
    let rows: Vec<Vec<String>> = lines.map(split_csv_line).collect();
    for t in TARGETS {
        assert!(rows.iter().any(|r| r[0] == t.name), "no claim of {} in claims.csv", t.name);
    }
    let na: Vec<String> = rows
        .iter()
        .filter(|r| r[2] == "n/a")
        .map(|r| format!("{}/{}: {}", r[0], r[1], r[5]))
        .collect();
    assert!(na.is_empty(), "claims without data (a renamed series or metric?):\n{}", na.join("\n"));
    for r in &rows {
        assert!(["holds", "departs"].contains(&r[2].as_str()), "{r:?}");
        assert!(!r[4].is_empty() && !r[5].is_empty() && !r[6].is_empty(), "{r:?}");
    }
    let md = std::fs::read_to_string(out.join("claims.md")).unwrap();
    assert!(md.contains("## uhaul") && md.contains("downtime-reduction-websearch"));
    let index = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(index.contains("[claims.md](claims.md)"));
    // Every PNG written is embedded in the index.
    for t in TARGETS {
        for f in std::fs::read_dir(out.join(t.name)).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".png") {
                assert!(
                    index.contains(&format!("]({}/{name})", t.name)),
                    "{name} not in the index"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn reproduce_rewrites_only_the_claims_blocks_of_the_doc_idempotently() {
    let dir = scratch("doc");
    let doc = dir.join("reproduction.md");
    let before = format!(
        "# Title\n\nProse before, kept.\n\n{}\nstale table\n{END_MARKER}\n\nProse between.\n\n{}\n\
         the e2 block, not run here\n{END_MARKER}\nProse after.\n",
        begin_marker("baseline"),
        begin_marker("e2"),
    );
    std::fs::write(&doc, &before).unwrap();
    let docs = doc.to_str().unwrap();
    let o = reproduce(&["baseline", "--quick", "--docs", docs], &dir.join("out"));
    ok(&o);
    let after = std::fs::read_to_string(&doc).unwrap();
    assert!(!after.contains("stale table"), "{after}");
    assert!(after.contains("nftwin reproduce baseline --quick"), "{after}");
    assert!(after.contains("software-move-closed-form"), "{after}");
    assert!(after.contains("the e2 block, not run here"), "{after}");
    // Outside the baseline block every line is kept, in order.
    let outside = |s: &str| -> Vec<String> {
        let mut keep = Vec::new();
        let mut inside = false;
        for l in s.lines() {
            if l == begin_marker("baseline") {
                inside = true;
            }
            if !inside {
                keep.push(l.to_string());
            }
            if inside && l == END_MARKER {
                inside = false;
                keep.push(l.to_string());
            }
        }
        keep
    };
    assert_eq!(outside(&before), outside(&after));
    // A second run writes the same bytes.
    ok(&reproduce(&["baseline", "--quick", "--docs", docs], &dir.join("out2")));
    assert_eq!(std::fs::read_to_string(&doc).unwrap(), after);

    // A doc without the target's marker: a clear error before anything runs, the doc untouched.
    let bare = dir.join("bare.md");
    std::fs::write(&bare, "# no markers\n").unwrap();
    let o =
        reproduce(&["baseline", "--quick", "--docs", bare.to_str().unwrap()], &dir.join("out3"));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("<!-- nftwin:claims baseline -->") && err.contains("bare.md"), "{err}");
    assert!(!dir.join("out3").join("baseline").exists(), "ran despite the bad doc");
    assert_eq!(std::fs::read_to_string(&bare).unwrap(), "# no markers\n");
    let _ = std::fs::remove_dir_all(&dir);
}
