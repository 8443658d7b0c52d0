//! `nftwin workload` end to end: the printed statistics, determinism of `gen`, and exit code 2
//! with a one-line reason on bad input.

use std::process::Command;

fn nftwin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nftwin")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn field(stdout: &str, key: &str) -> f64 {
    let line = stdout.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{key}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn stats_websearch_prints_the_provenance_mean() {
    // shared/workloads/PROVENANCE.md: websearch_dctcp_hpcc.csv, linear mean 1,711,250 B.
    let (code, out, err) = nftwin(&["workload", "stats", "websearch"]);
    assert_eq!(code, 0, "{err}");
    let mean = field(&out, "mean_bytes");
    assert!((mean / 1_711_250.0 - 1.0).abs() < 0.01, "{mean}");
    assert_eq!(field(&out, "median_bytes"), 73_077.0);
    assert_eq!(field(&out, "bytes_above_10mb_pct"), 35.1);
}

#[test]
fn gen_is_deterministic_and_stats_reads_the_trace_back() {
    let dir = std::env::temp_dir().join(format!("nftwin-wl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    for p in [&a, &b] {
        let args = ["workload", "gen", "--dist", "fb-cache", "--load", "0.5", "--link-gbps", "10"];
        let more = ["--duration", "0.2", "--seed", "4", "--out", p.to_str().unwrap()];
        let (code, _, err) = nftwin(&[&args[..], &more[..]].concat());
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let (code, out, err) = nftwin(&["workload", "stats", a.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // 0.2 s at 0.5 of 10 Gbps with fb-cache: about 182 flows, so the load has an sd of about
    // 11%: only a loose check. The time-average active flows equals the load (open loop at
    // the link rate) up to flows running past the end of the 0.2 s window.
    let load = field(&out, "offered_load");
    assert!((load - 0.5).abs() < 0.25, "{load}");
    let active = field(&out, "time_avg_active_flows");
    assert!((active - load).abs() < 0.02, "{active} vs {load}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_2_with_a_reason() {
    let gen = ["workload", "gen", "--dist", "websearch", "--out", "x.csv"];
    for (args, says) in [
        (vec!["workload", "stats", "websarch"], "websearch, fb-cache"),
        ([&gen[..], &["--load", "-1"]].concat(), "--load"),
        ([&gen[..], &["--load", "0.5", "--link-gbps", "0"]].concat(), "--link-gbps"),
    ] {
        let (code, _, err) = nftwin(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.starts_with("error: ") && err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    assert!(!std::path::Path::new("x.csv").exists());
}
