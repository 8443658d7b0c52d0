//! `nftwin reproduce egret --quick` as a user runs it: Figure 3's numbers exactly, Figure 4 in
//! the twin (after the failure nothing reaches firewall-2, firewall-1 stays drained,
//! firewall-3 takes the rest; with stateless firewalls nothing is split and every packet went
//! where the weights said; with stateful firewalls whose flows move with their state, losses
//! only where firewall-2's failure explains them; and the oracle does find the re-hashed
//! flows' split state when stateful firewalls are not moved), Table 3 from executed plans, and
//! identical bytes for any `--jobs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use scenarios::output::TIDY_HEADER;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nftwin-egret-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn reproduce(out: &Path, jobs: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_nftwin"))
        .args(["reproduce", "egret", "--quick", "--jobs", jobs, "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `(series, x, metric) -> value` of a tidy CSV.
fn table(path: &Path) -> BTreeMap<(String, String, String), f64> {
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(TIDY_HEADER));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 8, "{l}");
            ((f[1].to_string(), f[3].to_string(), f[4].to_string()), f[5].parse().unwrap())
        })
        .collect()
}

fn get(t: &BTreeMap<(String, String, String), f64>, s: &str, x: &str, m: &str) -> f64 {
    *t.get(&(s.to_string(), x.to_string(), m.to_string()))
        .unwrap_or_else(|| panic!("no row {s} {x} {m}"))
}

#[test]
fn egret_quick_reproduces_figures_3_4_and_table_3_identically_for_any_jobs() {
    let one = scratch("jobs1");
    let two = scratch("jobs2");
    reproduce(&one, "1");
    reproduce(&two, "2");
    let dir = one.join("egret");
    for stem in
        ["egret-fig3", "egret-fig4", "egret-fig4-oracle", "egret-table3", "egret-interleave"]
    {
        for ext in ["csv", "png"] {
            let name = format!("{stem}.{ext}");
            let a = std::fs::read(dir.join(&name)).unwrap();
            assert_eq!(
                a,
                std::fs::read(two.join("egret").join(&name)).unwrap(),
                "{name} differs across --jobs"
            );
        }
    }

    // Figure 3: base {30,30,40}; job 1 {0,45,55}; job 2 rejected; its alternative {0,0,100};
    // job 1 reverted: the original job 2 applies, {45,0,55}.
    let f3 = table(&dir.join("egret-fig3.csv"));
    let w = |step: &str| -> Vec<f64> {
        (1..=3).map(|p| get(&f3, &format!("port{p}"), step, "weight_pct")).collect()
    };
    assert_eq!(w("a-base"), vec![30.0, 30.0, 40.0]);
    assert_eq!(w("b-job1"), vec![0.0, 45.0, 55.0]);
    assert_eq!(w("c1-job2-rejected"), vec![0.0, 45.0, 55.0]);
    assert_eq!(w("c2-job2-alternative"), vec![0.0, 0.0, 100.0]);
    assert_eq!(w("d-job1-reverted"), vec![45.0, 0.0, 55.0]);

    // Figure 4: before the job about a third each; between the job and the failure nothing at
    // firewall-1; after the base update everything at firewall-3.
    let f4 = table(&dir.join("egret-fig4.csv"));
    let modes = ["a-stateless-fw", "control-stateful-fw-rehash", "b-stateful-fw-state-move"];
    for mode in modes {
        let share = |fw: u32, t: u32| {
            get(&f4, &format!("{mode}/firewall-{fw}"), &t.to_string(), "traffic_share_pct")
        };
        let before: f64 = (4..=19).map(|k| share(1, k * 5)).sum::<f64>() / 16.0;
        assert!(before > 15.0 && before < 50.0, "{mode}: firewall-1 had {before}% before the job");
        for t in (115..=250).step_by(5) {
            assert_eq!(share(1, t), 0.0, "{mode}: firewall-1 not drained at {t} ms");
            assert!(share(2, t) > 0.0 && share(3, t) > 0.0, "{mode}: at {t} ms");
        }
        for t in (260..=400).step_by(5) {
            assert_eq!(share(2, t), 0.0, "{mode}: firewall-2 gets traffic at {t} ms");
            assert_eq!(share(1, t), 0.0, "{mode}: firewall-1 came back at {t} ms");
            assert_eq!(share(3, t), 100.0, "{mode}: at {t} ms");
        }
    }

    let o = table(&dir.join("egret-fig4-oracle.csv"));
    let m = |mode: &str, metric: &str| get(&o, "twin", mode, metric);
    // (a) Stateless firewalls behind the stateless load balancer: no state, so nothing to
    // split or lose; and every packet a firewall processed had a hash that the weights in
    // force when it crossed the load balancer give to that firewall.
    let a = "a"; // a-stateless-fw
    for metric in ["lost_updates", "state_mismatch_flows", "split_flows_count", "misrouted_pkts"] {
        assert_eq!(m(a, metric), 0.0, "{a}: {metric}");
    }
    assert!(m(a, "processed_pkts") > 0.0);
    // Every packet a firewall processed came back through the audit, but for the ones the
    // failed link dropped on their way back.
    let unaudited = m(a, "processed_pkts") - m(a, "audited_pkts");
    assert!(unaudited >= 0.0 && unaudited <= m(a, "lost_link_down_pkts"), "{a}: {unaudited}");
    assert_eq!(m(a, "lost_other_pkts"), 0.0, "{a}: only the failed link loses packets");
    // The control: the same load balancer and entries in front of stateful firewalls. The
    // oracle must see the re-hashed flows' state split, also for flows that never touched
    // firewall-2, or its zeros above and below would prove nothing.
    let c = "control"; // control-stateful-fw-rehash
    assert_eq!(m(c, "misrouted_pkts"), 0.0, "{c}: the same forwarding as (a)");
    assert!(m(c, "split_flows_not_fw2_count") > 0.0, "{c}: the oracle must see split state");
    assert!(m(c, "lost_updates_not_fw2") > 0.0, "{c}: and the updates it loses");
    // (b) Stateful firewalls, firewall-1's flows moved with their state: the only losses are
    // the ones the failure implies, firewall-2's: its flows' state stays on the disconnected
    // device when their traffic fails over (split between firewall-2 and firewall-3), and the
    // packets on the failed link. Nothing else loses a packet, an update or its state.
    let b = "b"; // b-stateful-fw-state-move
    for metric in [
        "lost_updates_not_fw2",
        "state_mismatch_flows_not_fw2",
        "split_flows_not_fw2_count",
        "lost_other_pkts",
    ] {
        assert_eq!(m(b, metric), 0.0, "{b}: {metric}");
    }
    assert!(m(b, "lost_link_down_pkts") > 0.0, "{b}: the failed link drops what it held");
    assert!(m(b, "split_flows_count") > 0.0, "{b}: firewall-2's flows fail over without state");

    // Table 3: Egret needs two API calls per job; the MOPs many more operations and state.
    let t3 = table(&dir.join("egret-table3.csv"));
    for job in ["router", "mme", "dns"] {
        let (mop, eg) =
            (get(&t3, "MOP", job, "operations_count"), get(&t3, "Egret", job, "operations_count"));
        assert_eq!(eg, 2.0, "{job}");
        assert!(mop > 2.0 * eg, "{job}: MOP {mop} vs Egret {eg}");
        let (ms, es) = (
            get(&t3, "MOP", job, "state_variables_count"),
            get(&t3, "Egret", job, "state_variables_count"),
        );
        assert!(ms >= es, "{job}: MOP state {ms} vs Egret {es}");
    }
    assert!(get(&t3, "MOP", "dns", "operations_count") > 100.0);

    // Interleaving: never longer than the sequential MOPs, strictly shorter from k = 2.
    let il = table(&dir.join("egret-interleave.csv"));
    for k in 1..=11 {
        let (mop, eg) = (
            get(&il, "MOP (sequential)", &k.to_string(), "window_min"),
            get(&il, "Egret (interleaved)", &k.to_string(), "window_min"),
        );
        assert!(eg <= mop, "k={k}");
    }
    let _ = std::fs::remove_dir_all(&one);
    let _ = std::fs::remove_dir_all(&two);
}
