//! `nftwin check` end to end: it fails, with a clear message, on a deliberately broken protocol
//! and on a golden summary that drifted. (That it passes on the current code is `.ci/run`'s
//! own `nftwin check --quick` step.)

use std::path::Path;
use std::process::Command;

fn nftwin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nftwin"))
}

fn golden_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../results/golden"))
}

#[test]
fn a_broken_order_preserving_move_fails_the_check_with_the_order_violation() {
    let out = nftwin()
        .args(["check", "--quick", "--jobs", "2", "--inject-fault", "opennf-skip-order-hold"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL opennf-lf-op / none / websearch")
            && stdout.contains("declared loss-free+order-preserving broken")
            && stdout.contains("reordered updates"),
        "{stdout}"
    );
    assert!(stdout.contains("check: FAILED"), "{stdout}");
}

#[test]
fn sharp_releasing_sw_buff_before_ctrl_buff_fails_the_check_with_the_reorder_violation() {
    let out = nftwin()
        .args(["check", "--quick", "--jobs", "2", "--inject-fault", "sharp-release-sw-before-ctrl"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // Every SHarP case fails (each fault, jitter included) and names the broken order; the
    // other protocols are untouched.
    for variant in ["sharp", "sharp-per-flow"] {
        for fault in ["none", "control-delay", "control-jitter"] {
            let want = format!("FAIL {variant} / {fault} / websearch");
            assert!(stdout.contains(&want), "{want}: {stdout}");
        }
    }
    assert!(
        stdout.contains("declared loss-free+order-preserving broken")
            && stdout.contains("reordered updates"),
        "{stdout}"
    );
    let fails = stdout.lines().filter(|l| l.trim_start().starts_with("FAIL ")).collect::<Vec<_>>();
    let sharp = |l: &&&str| l.contains("FAIL sharp /") || l.contains("FAIL sharp-per-flow /");
    assert!(fails.iter().all(|l| sharp(&l)), "{fails:?}");
    assert!(stdout.contains("check: FAILED"), "{stdout}");
}

#[test]
fn an_unknown_fault_is_refused_with_the_known_ones() {
    let out = nftwin().args(["check", "--quick", "--inject-fault", "nope"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown fault `nope`"), "{stderr}");
    assert!(stderr.contains("sharp-release-sw-before-ctrl"), "{stderr}");
}

#[test]
fn a_golden_summary_that_drifted_fails_the_check_and_shows_the_difference() {
    let tmp = std::env::temp_dir().join(format!("nftwin-golden-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for e in std::fs::read_dir(golden_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    // One lost update where the golden run had none.
    let f = tmp.join("opennf_move.csv");
    let text = std::fs::read_to_string(&f).unwrap();
    let line = text.lines().find(|l| l.contains(",lost_updates,0,")).expect("a lost_updates row");
    let bad = line.replace(",lost_updates,0,", ",lost_updates,1,");
    std::fs::write(&f, text.replace(line, &bad)).unwrap();

    let out =
        nftwin().args(["check", "--quick", "--jobs", "2", "--golden"]).arg(&tmp).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("expectations: 0 failed"), "the matrix itself passes: {stdout}");
    assert!(stdout.contains("opennf_move.toml: 1 differences beyond tolerance"), "{stdout}");
    assert!(stdout.contains("lost_updates 1 -> 0 (-1, must match exactly)"), "{stdout}");
    assert!(stdout.contains("reroute_midstream.toml: matches"), "{stdout}");
}
