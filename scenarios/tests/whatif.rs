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

#[test]
fn the_device_plans_count_from_the_executed_mops() {
    let p = plan::load(&maintenance("mme-upgrade.toml")).unwrap();
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
    let bin = env!("CARGO_BIN_EXE_nftwin");
    let dir = std::env::temp_dir().join(format!("nftwin-whatif-jobs-{}", std::process::id()));
    let plan = maintenance("ids-scale-out.toml");
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        let out = dir.join(jobs);
        let r = std::process::Command::new(bin)
            .args(["what-if", plan.to_str().unwrap(), "--seeds", "2", "--jobs", jobs, "--out"])
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
        outputs.push((stdout, files));
    }
    assert!(outputs[0].0.contains("Recommended:"));
    assert_eq!(outputs[0], outputs[1]);
    std::fs::remove_dir_all(&dir).unwrap();
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
