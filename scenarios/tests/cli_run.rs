//! `nftwin run` and `nftwin sweep` as a user runs them: exit status, files, determinism.

use std::path::{Path, PathBuf};
use std::process::Command;

fn nftwin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nftwin"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nftwin-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn here(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A number from verdict.json (the first replication's).
fn json_number(json: &str, key: &str) -> u64 {
    let at = json.find(&format!("\"{key}\": ")).unwrap_or_else(|| panic!("{key} in {json}"));
    let rest = &json[at + key.len() + 4..];
    rest[..rest.find([',', '}']).unwrap()].trim().parse().unwrap()
}

#[test]
fn reroute_mid_stream_loses_updates_yet_exits_zero_and_without_traffic_finds_nothing() {
    let out = scratch("midstream");
    let st = nftwin()
        .args(["run", here("examples/reroute_midstream.toml").to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0), "{}", String::from_utf8_lossy(&st.stderr));
    let v = std::fs::read_to_string(out.join("verdict.json")).unwrap();
    assert!(json_number(&v, "lost_updates") > 0, "{v}");
    assert!(json_number(&v, "state_mismatch_flows") > 0, "{v}");
    assert!(v.contains("\"guarantee\": \"none\"") && v.contains("\"honoured\": true"), "{v}");
    assert!(v.contains("\"clean\": false"), "{v}");
    assert!(out.join("manifest.json").exists());

    let out = scratch("no-traffic");
    let st = nftwin()
        .args(["run", here("tests/data/reroute_no_traffic.toml").to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0));
    let v = std::fs::read_to_string(out.join("verdict.json")).unwrap();
    assert_eq!(json_number(&v, "lost_updates"), 0);
    assert_eq!(json_number(&v, "state_mismatch_flows"), 0);
    assert!(v.contains("\"clean\": true"), "{v}");
}

#[test]
fn sweep_output_is_byte_identical_whatever_jobs_is() {
    let file = here("tests/data/reroute_sweep.toml");
    let mut outs = vec![];
    for jobs in ["1", "2"] {
        let out = scratch(&format!("sweep-j{jobs}"));
        let st = nftwin()
            .args(["sweep", file.to_str().unwrap(), "--jobs", jobs, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(st.status.code(), Some(0), "{}", String::from_utf8_lossy(&st.stderr));
        outs.push(out);
    }
    for f in ["sweep-reroute-sweep.csv", "verdict.json", "manifest.json"] {
        let a = std::fs::read(outs[0].join(f)).unwrap();
        let b = std::fs::read(outs[1].join(f)).unwrap();
        assert!(!a.is_empty());
        assert_eq!(a, b, "{f} differs between --jobs 1 and --jobs 2");
    }
    // Four points, each with its own row per metric: the grid really ran.
    let csv = std::fs::read_to_string(outs[0].join("sweep-reroute-sweep.csv")).unwrap();
    let sent_rows = csv.lines().filter(|l| l.contains(",sent_pkts,")).count();
    assert_eq!(sent_rows, 4, "{csv}");
}

#[test]
fn a_malformed_scenario_is_an_error_with_exit_status_2_and_writes_nothing() {
    let out = scratch("bad");
    let st = nftwin()
        .args(["run", here("tests/data/four_mistakes.toml").to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("four_mistakes.toml:23:1"));
    assert!(!out.exists());
}

/// `nftwin ... | head`: a reader that goes away ends the command quietly (status 141, as for a
/// C tool's SIGPIPE), without a panic's message. The pipe is closed before `nftwin` writes
/// anything; `workload list` prints at once and runs nothing.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let mut child = nftwin()
        .args(["workload", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(matches!(out.status.code(), Some(0 | 141)), "{:?}: {stderr}", out.status);
}
