//! `nftwin what-if`: the shipped plans, a ranking that flips when a fault is rehearsed,
//! malformed plans located by line:col, and the same bytes whatever `--jobs`.

use std::path::{Path, PathBuf};

use scenarios::whatif::{self, plan};

fn maintenance(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("maintenance").join(name)
}

fn parse(text: &str) -> Result<whatif::Plan, scenarios::spec::SpecErrors> {
    plan::parse_str("test-plan.toml", text, Path::new("."))
}

#[test]
fn every_shipped_plan_runs_and_its_top_choice_meets_every_constraint() {
    for name in ["ids-scale-out.toml", "pe-router-drain.toml", "mme-upgrade.toml"] {
        let mut p = plan::load(&maintenance(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        p.seeds = 2;
        let o = whatif::run(&p, 2, None).unwrap();
        assert_eq!(o.ranked.len(), p.alternatives.len(), "{name}");
        let top = o.recommended().unwrap_or_else(|| panic!("{name}: {}", whatif::table(&p, &o)));
        assert!(top.verdicts.iter().all(|v| v.failed.is_empty()), "{name}");
        // Alternatives meeting every constraint come first.
        let meets: Vec<bool> = o.ranked.iter().map(|r| r.meets_all()).collect();
        assert!(meets.windows(2).all(|w| w[0] || !w[1]), "{name}: {meets:?}");
    }
}

/// A device plan without its fault and spread: the shipped plan's alternatives on fixed
/// durations.
fn calm(mut p: whatif::Plan) -> whatif::Plan {
    let whatif::PlanKind::Device(d) = &mut p.kind else { panic!("a device plan") };
    d.faults.clear();
    d.op_spread = 0.0;
    d.upgrade_spread = 0.0;
    p
}

fn values<'a>(o: &'a whatif::Outcome, alt: &str, metric: &str) -> &'a [f64] {
    let r = o.ranked.iter().find(|r| r.name == alt).unwrap_or_else(|| panic!("no {alt}"));
    &r.values.iter().find(|(m, _)| *m == metric).unwrap().1
}

#[test]
fn the_device_plans_count_from_the_executed_mops() {
    let p = calm(plan::load(&maintenance("mme-upgrade.toml")).unwrap());
    let o = whatif::run(&p, 1, None).unwrap();
    let ops = whatif::means(&o, "operations");
    let window = whatif::means(&o, "window_min");
    // Egret 2.2.2: the MOP's operations per MME (executed), 2 per Egret job; 3 MMEs.
    let per_mme = models::egret::mop::table3(&Default::default()).unwrap()[1].mop.operations;
    assert_eq!(ops["MOP, one MME after another"], 3.0 * per_mme as f64);
    assert!(ops["MOP, one MME after another"] > 10.0 * ops["Egret, one job after another"]);
    assert_eq!(ops["Egret, one job after another"], 6.0);
    // Interleaving runs jobs side by side within the pool's headroom.
    assert!(window["Egret, interleaved jobs"] < window["Egret, one job after another"]);
    assert_eq!(o.ranked[0].name, "Egret, interleaved jobs");
}

/// The MME plan rehearses MME-11's link going down for 30 minutes at a random minute of the
/// two-hour slot. The MOP's operator redoes the UE moves on the seeds where the failure
/// catches step (3), and never without the fault; Egret's base updates add configurations
/// (one per link event inside its window) and no API call; every alternative's window
/// spreads over the seeds.
#[test]
fn the_mme_plans_link_failure_shows_in_its_ranking_and_seeds_spread() {
    let p = plan::load(&maintenance("mme-upgrade.toml")).unwrap();
    let whatif::PlanKind::Device(d) = &p.kind else { panic!("a device plan") };
    assert!(d.faults.iter().all(|f| f.kind == plan::FaultKind::LinkDown), "{:?}", d.faults);
    let o = whatif::run(&p, 2, None).unwrap();
    let table = whatif::table(&p, &o);
    let mut still = p.clone();
    if let whatif::PlanKind::Device(d) = &mut still.kind {
        d.faults.clear();
    }
    let q = whatif::run(&still, 2, None).unwrap();
    let mop = "MOP, one MME after another";
    assert!(values(&o, mop, "fault_operations").iter().any(|&v| v > 0.0), "{table}");
    assert!(values(&q, mop, "fault_operations").iter().all(|&v| v == 0.0));
    for egret in ["Egret, one job after another", "Egret, interleaved jobs"] {
        assert!(values(&o, egret, "fault_operations").iter().all(|&v| v == 0.0), "{table}");
        let (with, without) =
            (values(&o, egret, "device_configs"), values(&q, egret, "device_configs"));
        assert!(with.iter().zip(without).all(|(a, b)| a >= b && a - b <= 2.0), "{table}");
        assert!(with.iter().zip(without).any(|(a, b)| a > b), "{table}");
    }
    for r in &o.ranked {
        assert!(r.mean_stderr("window_min").1 > 0.0, "{}: {table}", r.name);
    }
    let top = o.recommended().unwrap_or_else(|| panic!("{table}"));
    assert_eq!(top.name, "Egret, interleaved jobs", "{table}");
}

/// The router plan rehearses the upgraded router failing to come back at a random minute of
/// its one-hour slot. A fault draws no duration, so on each seed the window with the fault is
/// the window without it plus the 10-minute rollback when it hit an upgrade under way; it hits
/// on some seeds and misses on others (a fault after the upgrade finished fails nothing).
#[test]
fn the_router_plans_failed_upgrade_adds_its_rollback_on_the_seeds_it_hits() {
    let p = plan::load(&maintenance("pe-router-drain.toml")).unwrap();
    let o = whatif::run(&p, 2, None).unwrap();
    let table = whatif::table(&p, &o);
    let mut still = p.clone();
    if let whatif::PlanKind::Device(d) = &mut still.kind {
        d.faults.clear();
    }
    let q = whatif::run(&still, 2, None).unwrap();
    let mut hits = 0;
    for r in &o.ranked {
        let (w, w0, rb) = (
            values(&o, &r.name, "window_min"),
            values(&q, &r.name, "window_min"),
            values(&o, &r.name, "rollbacks"),
        );
        for i in 0..w.len() {
            assert!((w[i] - w0[i] - 10.0 * rb[i]).abs() < 1e-9, "{}: {table}", r.name);
        }
        hits += rb.iter().filter(|&&x| x > 0.0).count();
        assert!(rb.contains(&0.0) || r.name == "MOP (operator steps)", "{table}");
        assert!(r.mean_stderr("window_min").1 > 0.0, "{table}");
    }
    assert!(hits > 0, "{table}");
    assert_eq!(o.recommended().map(|r| r.name.as_str()), Some("Egret job"), "{table}");
}

/// A pool member's link down from the start of the window: with MME-11 gone, a third drained
/// MME would leave the other 7 above 1.5 times their base share, so Egret interleaves two jobs,
/// not three, and its window doubles; under a 40-minute limit the ranking says no alternative
/// meets every constraint.
#[test]
fn a_link_failure_from_the_start_halves_egrets_interleaving() {
    let text = r#"
[plan]
kind = "device"
seeds = 2
[device]
job = "mme-upgrade"
devices = 3
[[alternatives]]
procedure = "egret"
ordering = "interleaved"
[[alternatives]]
procedure = "mop"
[constraints]
max_window = "40min"
"#;
    let fault =
        "[[faults]]\nkind = \"link-down\"\nnode = \"MME-11\"\nat = \"0min\"\nduration = \"3h\"\n";
    let p = parse(text).unwrap();
    let o = whatif::run(&p, 1, None).unwrap();
    assert_eq!(o.recommended().map(|r| r.name.as_str()), Some("egret interleaved"));
    assert_eq!(values(&o, "egret interleaved", "parallel_devices"), &[3.0, 3.0]);
    let p = parse(&format!("{text}{fault}")).unwrap();
    let o = whatif::run(&p, 1, None).unwrap();
    assert_eq!(values(&o, "egret interleaved", "parallel_devices"), &[2.0, 2.0]);
    assert_eq!(values(&o, "egret interleaved", "window_min"), &[64.0, 64.0]);
    assert!(o.recommended().is_none());
    assert!(whatif::conclusion(&p, &o).starts_with("No alternative meets every constraint"));
}

#[test]
fn faults_a_device_plan_cannot_take_are_refused_with_the_reason() {
    let base = "[plan]\nkind = \"device\"\n[device]\njob = \"JOB\"\ndevices = 3\n\
                [[alternatives]]\nprocedure = \"egret\"\n[[faults]]\n";
    let err = |job: &str, fault: &str| {
        let e = parse(&format!("{}{fault}", base.replace("JOB", job))).unwrap_err();
        let d = &e.diagnostics()[0];
        (d.line, d.help().to_string(), e.to_string())
    };
    let (line, help, _) = err("pe-router-drain", "kind = \"link-down\"\nat = \"5min\"\n");
    assert_eq!(line, 9);
    assert!(help.contains("outlives a link failure"), "{help}");
    let (_, _, e) = err("mme-upgrade", "kind = \"link-down\"\nnode = \"MME-2\"\nat = \"5min\"\n");
    assert!(e.contains("MME-2") && e.contains("`node`"), "{e}");
    let (_, help, _) =
        err("mme-upgrade", "kind = \"instance-fail\"\nnode = \"MME-1\"\nat = \"5min\"\n");
    assert!(help.contains("leave `node` out"), "{help}");
    let (line, help, _) = err("mme-upgrade", "kind = \"instance-fail\"\nat = \"random\"\n");
    assert_eq!(line, 10);
    assert!(help.contains("window = \"2h\""), "{help}");
}

#[test]
fn a_device_plans_output_does_not_depend_on_jobs() {
    let [one, two] = outputs_with_jobs_1_and_2("mme-upgrade.toml", &[]);
    assert!(one.0.contains("Recommended:"));
    assert_eq!(one, two);
}

/// Without faults the fastest move that keeps every update wins: OpenNF's loss-free and
/// order-preserving move (opennf-ng is faster but loses updates). With the link to dstInst
/// down from 11 ms to 41 ms, the order-preserving move cannot end before its marker reaches
/// dstInst over that link, so it overruns `max_move_duration`, and U-HAUL (loss-free
/// per-flow moves, finished over the control channel) comes first.
const FLIP: &str = r#"
[plan]
kind = "nf"
window = "20ms"
seeds = 4
objective = "move_duration_ms"

[traffic]
workload = "websearch"
load = 0.5

[[alternatives]]
protocol = "opennf-ng"
[[alternatives]]
protocol = "opennf-lf-op"
[[alternatives]]
protocol = "uhaul"

[constraints]
lost_updates = 0
max_move_duration = "25ms"
"#;

const DST_LINK_DOWN: &str = r#"
[[faults]]
kind = "link-down"
node = "dst"
at = "11ms"
duration = "30ms"
"#;

#[test]
fn a_dst_link_failure_mid_move_flips_the_ranking() {
    let calm = parse(FLIP).unwrap();
    let o = whatif::run(&calm, 2, None).unwrap();
    let names: Vec<&str> = o.ranked.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names[0], "opennf-lf-op", "{}", whatif::table(&calm, &o));
    assert!(o.ranked[0].meets_all());
    let ng = o.ranked.iter().find(|r| r.name == "opennf-ng").unwrap();
    assert!(!ng.meets_all(), "a move without guarantees loses updates at load 0.5");

    let faulty = parse(&format!("{FLIP}{DST_LINK_DOWN}")).unwrap();
    let o = whatif::run(&faulty, 2, None).unwrap();
    let top = o.recommended().expect("U-HAUL meets every constraint");
    assert_eq!(top.name, "uhaul", "{}", whatif::table(&faulty, &o));
    let op = o.ranked.iter().find(|r| r.name == "opennf-lf-op").unwrap();
    let v = op.verdicts.iter().find(|v| v.key == "max_move_duration").unwrap();
    assert!(!v.failed.is_empty() && v.worst > 30.0, "{v:?}");
}

/// SHarP on the IDS plan's one-switch testbed, without the plan's fault, on every seed of the
/// plan: per flow, nothing lost, reordered or duplicated and every move finished; as III-C
/// writes it (`START_HO` after the detection phase, the whole share buffered at the
/// controller meanwhile), no update lost or reordered either, and the only packets lost are
/// those the controller's release burst overflows the switch's 1000-packet queue to `dst` with.
#[test]
fn sharp_on_the_ids_plan_without_faults_loses_no_update() {
    let mut p = plan::load(&maintenance("ids-scale-out.toml")).unwrap();
    let whatif::PlanKind::Nf(nf) = &mut p.kind else { panic!("an nf plan") };
    nf.faults.clear();
    let nf = nf.clone();
    for (protocol, loss_free) in [("sharp-per-flow", true), ("sharp", false)] {
        let alt = p
            .alternatives
            .iter()
            .find(|a| matches!(&a.how, plan::How::Move { protocol: q, .. } if q == protocol))
            .unwrap_or_else(|| panic!("the IDS plan offers {protocol}"));
        let plan::How::Move { start_ns, .. } = alt.how else { unreachable!() };
        for seed in whatif::seeds_of(&p) {
            let cfg = whatif::scenario(&p, &nf, protocol, start_ns, seed);
            let r = scenarios::driver::run_once(&cfg, seed);
            let o = &r.oracle;
            let case = format!("{protocol}, seed {seed}: {o:?}");
            assert!(r.moves.iter().all(|m| m.finished.is_some()), "{case}");
            assert_eq!(
                (o.lost_updates, o.reordered_updates, o.duplicate_outputs),
                (0, 0, 0),
                "{case}"
            );
            assert_eq!((o.duplicate_updates, o.state_mismatch), (0, 0), "{case}");
            assert!(r.verdict.honoured, "{case}");
            let lost: u64 = o.lost_packets.values().sum();
            if loss_free {
                assert_eq!(lost, 0, "{case}");
            } else {
                let queue = o.lost_packets.get(&models::oracle::LossCause::LinkQueue);
                assert_eq!(queue.copied().unwrap_or(0), lost, "{case}");
            }
        }
    }
}

/// The IDS plan rehearses a crash of the new instance, not a link failure. Without it, every
/// alternative keeps every update; with it, the instance's losses show in the ranking: some
/// alternative loses updates on some seed, and SHarP per flow, whose handover control packets
/// die with the instance, overruns the plan's loss budget or never finishes on some seed.
#[test]
fn the_ids_plans_instance_crash_shows_in_its_ranking() {
    let p = plan::load(&maintenance("ids-scale-out.toml")).unwrap();
    let whatif::PlanKind::Nf(nf) = &p.kind else { panic!("an nf plan") };
    assert!(nf.faults.iter().all(|f| f.kind == plan::FaultKind::InstanceFail), "{:?}", nf.faults);
    let mut calm = p.clone();
    if let whatif::PlanKind::Nf(nf) = &mut calm.kind {
        nf.faults.clear();
    }
    let lost = |o: &whatif::Outcome, name: &str| {
        let r = o.ranked.iter().find(|r| r.name == name).unwrap();
        let v = r.verdicts.iter().find(|v| v.key == "lost_updates").unwrap();
        (r.values.iter().find(|(m, _)| *m == "lost_updates").unwrap().1.clone(), v.holds())
    };
    let o = whatif::run(&calm, 2, None).unwrap();
    for r in &o.ranked {
        assert!(lost(&o, &r.name).0.iter().all(|&v| v == 0.0), "{}", whatif::table(&calm, &o));
    }
    let o = whatif::run(&p, 2, None).unwrap();
    let table = whatif::table(&p, &o);
    assert!(o.ranked.iter().any(|r| lost(&o, &r.name).0.iter().any(|&v| v > 0.0)), "{table}");
    let sharp = o.ranked.iter().find(|r| r.name == "SHarP per flow").unwrap();
    let unfinished =
        sharp.values.iter().any(|(m, v)| *m == "move_duration_ms" && v.iter().any(|x| x.is_nan()));
    assert!(!lost(&o, "SHarP per flow").1 || unfinished, "{table}");
    assert!(o.recommended().is_some(), "{table}");
}

/// E2's migration avoidance on the IDS plan (the plan's alternative, its share of 0.5): without
/// the plan's fault, affinity holds on every seed (no flow is processed at both instances,
/// the new instance only gets flows of the moved range) and nothing is lost, reordered,
/// buffered or duplicated, while the mechanism did work (exceptions kept at the old instance
/// on some seed, new flows detoured through its E2D on some seed, the split pushed to the
/// switch on every seed). With the plan's crash of the new instance, what is lost is only what
/// reached the crashed instance: no update is reordered, every lost packet died at the down
/// instance, and the losses stay within the plan's budget.
#[test]
fn e2_migration_avoidance_on_the_ids_plan_keeps_affinity_and_loses_only_what_the_crash_drops() {
    use models::oracle::LossCause;
    use scenarios::config::NodeIdx;
    let protocol = "e2-migration-avoidance";
    let p = plan::load(&maintenance("ids-scale-out.toml")).unwrap();
    let whatif::PlanKind::Nf(faulty) = &p.kind else { panic!("an nf plan") };
    let mut calm = faulty.clone();
    calm.faults.clear();
    let alt = p
        .alternatives
        .iter()
        .find(|a| matches!(&a.how, plan::How::Move { protocol: q, .. } if q == protocol))
        .expect("the IDS plan offers E2 migration avoidance");
    let plan::How::Move { start_ns, .. } = alt.how else { unreachable!() };
    let m = ((1.0 - calm.share) * 4_294_967_296.0) as u64;
    let (mut exceptions, mut detoured) = (0.0, 0.0);
    for seed in whatif::seeds_of(&p) {
        let cfg = whatif::scenario(&p, &calm, protocol, start_ns, seed);
        let mut b = scenarios::driver::build(&cfg, seed);
        b.run();
        let r = b.outcome(&cfg);
        let o = &r.oracle;
        let case = format!("seed {seed}: {o:?} {:?}", r.metrics);
        assert!(r.moves.iter().all(|m| m.finished.is_some()) && !r.moves.is_empty(), "{case}");
        assert_eq!(
            (o.lost_updates, o.reordered_updates, o.duplicate_outputs, o.duplicate_updates),
            (0, 0, 0, 0),
            "{case}"
        );
        assert_eq!(o.state_mismatch, 0, "{case}");
        assert_eq!(o.lost_packets.values().sum::<u64>(), 0, "{case}");
        assert!(r.verdict.honoured, "{case}");
        assert_eq!(r.metrics["max_controller_buffer_pkts"], 0.0, "nothing paused: {case}");
        assert_eq!(r.metrics["protocol_unexpected"], 0.0, "{case}");
        assert!(r.metrics.contains_key("e2_switch_converged_ms"), "{case}");
        exceptions += r.metrics["max_e2d_exceptions"];
        detoured += r.metrics["e2d_detoured_pkts"];
        // Affinity: each flow's state is at one instance; the new one has only [M, Y).
        let flows = |n: u32| -> Vec<(u64, u32)> {
            b.nf(NodeIdx(n)).unwrap().states().iter().map(|(f, s)| (f.0, s.hash)).collect()
        };
        let (old, new) = (flows(2), flows(3));
        assert!(!new.is_empty(), "the split sends new flows to the new instance: {case}");
        assert!(new.iter().all(|&(_, h)| h as u64 >= m), "{case}");
        assert!(old.iter().all(|(f, _)| new.iter().all(|(g, _)| f != g)), "{case}");
    }
    assert!(exceptions > 0.0 && detoured > 0.0, "{exceptions} {detoured}");

    let budget = p.constraints.iter().find(|c| c.key == "lost_updates").unwrap().limit;
    for seed in whatif::seeds_of(&p) {
        let cfg = whatif::scenario(&p, faulty, protocol, start_ns, seed);
        let r = scenarios::driver::run_once(&cfg, seed);
        let o = &r.oracle;
        let case = format!("seed {seed} with the crash: {o:?}");
        assert_eq!((o.reordered_updates, o.duplicate_outputs), (0, 0), "{case}");
        let lost: u64 = o.lost_packets.values().sum();
        assert_eq!(o.lost_packets.get(&LossCause::NfDown).copied().unwrap_or(0), lost, "{case}");
        assert!(o.lost_updates as f64 <= budget, "{case}");
    }
}

#[test]
fn a_malformed_plan_names_line_col_and_the_fix() {
    let text = "[plan]\nkind = \"nf\"\nwindow = \"20ms\"\n\n[traffic]\nload = 0.5\n\n\
                [[alternatives]]\nprotocol = \"opennf-lff\"\n\n[constraints]\nlost_update = 0\n";
    let e = parse(text).unwrap_err();
    let d = e.diagnostics();
    assert_eq!(d.len(), 2, "{e}");
    assert_eq!((d[0].line, d[0].col), (9, 12));
    assert!(d[0].help().contains("did you mean \"opennf-lf\""), "{}", d[0]);
    assert_eq!((d[1].line, d[1].col), (12, 1));
    assert!(d[1].help().contains("did you mean `lost_updates`"), "{}", d[1]);
    assert!(e.to_string().contains("test-plan.toml:12:1: error: unknown key `lost_update`"), "{e}");

    let e = parse("[plan]\nkind = \"device\"\n[device]\njob = \"mme-upgrade\"\n[[alternatives]]\nprocedure = \"mop\"\nordering = \"interleaved\"\n").unwrap_err();
    assert_eq!(e.diagnostics()[0].line, 7, "{e}");
    let e = parse("[plan]\nkind = \"nf\"\nwindow = \"20 parsecs\"\n[traffic]\n[[alternatives]]\nprotocol = \"reroute\"\n").unwrap_err();
    assert_eq!((e.diagnostics()[0].line, e.diagnostics()[0].col), (3, 10), "{e}");
}

#[test]
fn the_output_does_not_depend_on_jobs() {
    let [one, two] = outputs_with_jobs_1_and_2("ids-scale-out.toml", &["--seeds", "2"]);
    assert!(one.0.contains("Recommended:"));
    assert_eq!(one, two);
}

/// `nftwin what-if PLAN ARGS --jobs J` for J = 1 and 2: stdout (the output folder as `OUT`)
/// and every file written, none left as a `.tmp`.
fn outputs_with_jobs_1_and_2(plan: &str, args: &[&str]) -> [(String, Vec<Vec<u8>>); 2] {
    let bin = env!("CARGO_BIN_EXE_nftwin");
    let name = plan.trim_end_matches(".toml");
    let dir =
        std::env::temp_dir().join(format!("nftwin-whatif-jobs-{name}-{}", std::process::id()));
    let plan = maintenance(plan);
    let outputs = ["1", "2"].map(|jobs| {
        let out = dir.join(jobs);
        let r = std::process::Command::new(bin)
            .arg("what-if")
            .arg(&plan)
            .args(args)
            .args(["--jobs", jobs, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let stdout = String::from_utf8(r.stdout).unwrap().replace(out.to_str().unwrap(), "OUT");
        let files: Vec<Vec<u8>> =
            ["summary.csv", "runs.csv", "verdicts.csv", "ranking.png", "ranking.svg", "report.md"]
                .iter()
                .map(|f| std::fs::read(out.join(f)).unwrap())
                .collect();
        assert!(!out.join("report.md.tmp").exists());
        (stdout, files)
    });
    std::fs::remove_dir_all(&dir).unwrap();
    outputs
}

#[test]
fn docs_whatif_documents_every_plan_key() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/whatif.md"))
            .unwrap();
    for t in plan::ALL_TABLES {
        for k in t.key_names {
            assert!(
                doc.contains(&format!("`{k}`")),
                "docs/whatif.md does not document `{k}` of {}",
                t.name
            );
        }
    }
}
