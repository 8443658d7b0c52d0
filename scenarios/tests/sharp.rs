//! SHarP in the simulator: the oracle finds no lost, reordered or duplicated packet.

use base::Dur;
use scenarios::driver::run_once;
use scenarios::testkit::{sharp_testbed, SharpTestbed};

fn metric(r: &scenarios::driver::RunOutcome, k: &str) -> f64 {
    *r.metrics.get(k).unwrap_or_else(|| panic!("no metric {k}: {:?}", r.metrics.keys()))
}

#[test]
fn a_bidirectional_handover_loses_reorders_and_duplicates_nothing() {
    let cfg = sharp_testbed(&SharpTestbed {
        transfer_delay: Dur::from_millis(100),
        ..SharpTestbed::default()
    });
    let r = run_once(&cfg, 1);
    let o = &r.oracle;
    println!("{:?}\n{:?}", r.moves, r.metrics);
    assert_eq!(r.moves.len(), 1);
    assert!(r.moves[0].finished.is_some(), "{:?}", r.moves);
    assert_eq!(o.lost_updates, 0, "{o:?}");
    assert_eq!(o.reordered_updates, 0);
    assert_eq!(o.duplicate_outputs, 0);
    assert_eq!(o.duplicate_updates, 0);
    assert_eq!(o.state_mismatch, 0);
    assert_eq!(o.lost_packets.values().sum::<u64>(), 0, "{:?}", o.lost_packets);
    assert_eq!(o.sent, o.delivered);
    assert!(r.verdict.honoured);
    // Both directions went through the controller, then VNFn's buffers.
    assert!(metric(&r, "sharp_ctrl_processed_pkts") >= 2.0);
    assert!(metric(&r, "max_vnf_buffer_pkts") >= 100.0, "a 100 ms transfer at 2x1000 pps");
    assert_eq!(metric(&r, "protocol_unexpected"), 0.0);
}

#[test]
fn a_flow_slower_than_the_maximum_silence_goes_undetected_and_loses_its_state() {
    // SHarP III-C: "Flows that have not been detected during this time are treated as new
    // flows". A 5 ms maximum silence misses a 100 pps flow (a packet every 10 ms): VNFn
    // builds fresh state and the oracle sees the updates VNF1 applied as lost.
    let mut tb = SharpTestbed { pps: 100.0, ..SharpTestbed::default() };
    tb.sharp.max_silence = Dur::from_millis(5);
    let r = run_once(&sharp_testbed(&tb), 1);
    assert!(r.oracle.lost_updates > 0, "{:?}", r.oracle);
    assert!(!r.verdict.honoured);
    tb.sharp.max_silence = Dur::from_millis(15);
    let r = run_once(&sharp_testbed(&tb), 1);
    assert_eq!(r.oracle.lost_updates, 0, "{:?}", r.oracle);
    assert!(r.verdict.honoured);
}

/// Section IV-A's counts, checked against the messages the twin's controller actually received
/// and sent, over several rates, state transfer durations, one or two directions, and both
/// moments of `START_HO`. The control plane carries `2T + C + D`: section III-C's
/// `BUFFER_FOLLOW_UP` copies `D` cross the control channel too, and IV-A's `2T + C` has no term
/// for them (docs/reproduction.md, SHarP, gives the argument). `D` is measured twice: by the
/// controller, and from the switches' packet-ins less the `T` packets the destination's HSL
/// took into `ctrl_buff` and the test packets' copies.
#[test]
fn counted_control_messages_equal_the_section_iv_a_formulas() {
    use models::sharp::StartHo;
    use scenarios::reproduce::sharp::{
        opennf_formula, sharp_c, sharp_c_per_flow, sharp_data_c, sharp_data_c_per_flow,
        sharp_data_formula, sharp_formula, OPENNF_C,
    };
    for pps in [200.0, 1000.0, 4000.0] {
        for transfer_ms in [0, 50, 300] {
            for bidirectional in [false, true] {
                for start in [StartHo::AfterDetection, StartHo::PerFlow] {
                    let mut tb = SharpTestbed {
                        pps,
                        bidirectional,
                        transfer_delay: Dur::from_millis(transfer_ms),
                        ..SharpTestbed::default()
                    };
                    tb.sharp.start = start;
                    let r = run_once(&sharp_testbed(&tb), 1);
                    let case =
                        format!("{pps} pps, {transfer_ms} ms, bidir {bidirectional}, {start:?}");
                    assert!(r.verdict.honoured, "{case}: {:?}", r.oracle);
                    // The egress switch steers to both VNFs, so it is a side even with one
                    // direction.
                    let (flows, active) = if bidirectional { (2, 2) } else { (1, 1) };
                    let t = metric(&r, "sharp_ctrl_processed_pkts");
                    let d = metric(&r, "sharp_follow_up_pkts");
                    let d_switch = metric(&r, "switch_packet_ins_pkts")
                        - metric(&r, "sharp_vnf_ctrl_buffered_pkts")
                        - active as f64;
                    assert_eq!(d, d_switch, "{case}: D seen by the controller and the switches");
                    // T packets in (packet-ins) and out (marked packet-outs), and the copies,
                    // which only come in.
                    assert_eq!(metric(&r, "ctrl_data_pkts_in"), t + d, "{case}");
                    let (c, cd) = match start {
                        StartHo::AfterDetection => {
                            (sharp_c(flows, 2, active), sharp_data_c(flows, 2, active))
                        }
                        StartHo::PerFlow => {
                            (sharp_c_per_flow(flows, 2), sharp_data_c_per_flow(flows))
                        }
                    };
                    let (c, cd) = (c as f64, cd as f64);
                    assert_eq!(metric(&r, "ctrl_plane_msgs"), sharp_formula(t, c) + d, "{case}");
                    assert!(t > 0.0 && d > 0.0, "{case}");
                    // The data plane, `V + 2R + C`: R the redirected packets VNFn's HSL
                    // buffered (each in, then out to the NF), of which the controller's T are
                    // the ctrl_buff ones.
                    let v = metric(&r, "sharp_state_msgs");
                    let rr = metric(&r, "sharp_vnf_buffered_pkts");
                    println!("{case}: T {t} D {d} V {v} R {rr}");
                    let transfers = match start {
                        StartHo::AfterDetection => 1.0,
                        StartHo::PerFlow => flows as f64,
                    };
                    assert_eq!(
                        v,
                        flows as f64 + transfers,
                        "a state message per flow, a done per transfer"
                    );
                    assert_eq!(metric(&r, "sharp_vnf_ctrl_buffered_pkts"), t);
                    assert_eq!(metric(&r, "sharp_vnf_released_pkts"), rr);
                    assert!(t < rr, "{case}: T is a strict subset of R");
                    assert_eq!(metric(&r, "sharp_data_ctrl_pkts"), cd, "{case}");
                    assert_eq!(metric(&r, "data_plane_msgs"), sharp_data_formula(v, rr, cd));
                }
            }
        }
        // OpenNF, loss-free and order-preserving, one flow: N = 1 state chunk.
        let tb = SharpTestbed {
            pps,
            bidirectional: false,
            opennf: Some(models::opennf::OpenNfConfig::opennf(
                models::oracle::Guarantee::LossFreeOrderPreserving,
            )),
            ..SharpTestbed::default()
        };
        let r = run_once(&sharp_testbed(&tb), 1);
        let rr = metric(&r, "ctrl_data_pkts_in");
        assert!(rr > 0.0);
        assert_eq!(metric(&r, "ctrl_plane_msgs"), opennf_formula(1.0, rr, OPENNF_C as f64));
    }
}

/// Least squares `y = a + b x`, and R^2.
fn fit(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let b = sxy / sxx;
    let r2 = if syy == 0.0 { 1.0 } else { sxy * sxy / (sxx * syy) };
    (my - b * mx, b, r2)
}

/// Figure 7's claims: SHarP's controller buffer does not grow with the state transfer
/// duration (largest peak at most 1.2x the smallest), OpenNF's does, linearly; SHarP's VNF
/// buffer grows linearly; the maximum delay is the transfer duration plus a constant.
#[test]
fn fig7_controller_buffer_is_constant_in_the_transfer_duration() {
    let spec = scenarios::reproduce::sharp::TARGET;
    let figs = (spec.figures)(true);
    let fig7 = figs.iter().find(|f| f.id == "sharp/fig7").expect("fig7");
    let mut by: std::collections::BTreeMap<(String, &str), Vec<(f64, f64)>> = Default::default();
    for p in &fig7.points {
        let r = run_once(&p.config, p.config.seed);
        let x: f64 = p.x.parse().unwrap();
        for m in ["max_controller_buffer_pkts", "max_vnf_buffer_pkts", "max_delay_ms"] {
            if let Some(v) = r.metrics.get(m) {
                by.entry((p.series.clone(), m)).or_default().push((x, *v));
            }
        }
        if p.series.starts_with("SHarP") {
            assert_eq!(r.oracle.lost_updates + r.oracle.reordered_updates, 0);
            assert_eq!(r.oracle.duplicate_outputs, 0);
        }
    }
    for (series, _) in scenarios::reproduce::sharp::SERIES {
        let ctrl = &by[&(series.into(), "max_controller_buffer_pkts")];
        let max = ctrl.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let min = ctrl.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert!(min > 0.0 && max <= 1.2 * min, "{series}: {ctrl:?}");
        let (a, b, r2) = fit(&by[&(series.into(), "max_delay_ms")]);
        println!("{series} max delay = {a:.2} + {b:.4} x ms, R2 {r2:.5}");
        assert!((b - 1.0).abs() < 0.02 && r2 > 0.999 && a > 0.0, "{series}");
    }
    let (a, b, r2) = fit(&by[&("OpenNF".into(), "max_controller_buffer_pkts")]);
    println!("OpenNF controller buffer = {a:.1} + {b:.3} x, R2 {r2:.4}");
    assert!(b > 0.5 && r2 > 0.99, "OpenNF's buffer grows with the transfer");
    let (a, b, r2) = fit(&by[&("SHarP".into(), "max_vnf_buffer_pkts")]);
    println!("SHarP VNF buffer = {a:.1} + {b:.3} x, R2 {r2:.4}");
    assert!(b > 1.0 && r2 > 0.99, "two 1000 pps directions fill it at ~2 packets per ms");
}

/// `examples/sharp_testbed.toml` is the testkit's testbed: same results, and twice the same.
#[test]
fn the_example_file_runs_as_the_testkit_testbed() {
    let p =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sharp_testbed.toml");
    let file = scenarios::spec::load(&p).unwrap_or_else(|e| panic!("{e}")).config;
    let code = sharp_testbed(&SharpTestbed {
        transfer_delay: Dur::from_millis(100),
        ..SharpTestbed::default()
    });
    let (a, b) = (run_once(&file, 1), run_once(&code, 1));
    assert_eq!(a.metrics, b.metrics);
    assert_eq!(a.moves, b.moves);
    assert_eq!(run_once(&file, 1).metrics, a.metrics);
    assert!(a.verdict.honoured);
}

/// `nftwin reproduce sharp --quick`: every figure as CSV and PNG, the same bytes for any
/// `--jobs`, and no SHarP run with a lost or reordered update.
#[test]
fn reproduce_sharp_quick_is_complete_deterministic_and_loss_free() {
    let run = |jobs: &str| {
        let out = std::env::temp_dir().join(format!("nftwin-sharp-{}-{jobs}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_nftwin"))
            .args(["reproduce", "sharp", "--quick", "--jobs", jobs, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out.join("sharp")
    };
    let (a, b) = (run("1"), run("3"));
    for fig in ["fig4a", "fig4b", "fig5", "fig6", "fig7", "fig8"] {
        for ext in ["csv", "png"] {
            let name = format!("sharp-{fig}.{ext}");
            let x = std::fs::read(a.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(x, std::fs::read(b.join(&name)).unwrap(), "{name} depends on --jobs");
        }
        if ["fig5", "fig6", "fig7", "fig8"].contains(&fig) {
            let csv = std::fs::read_to_string(a.join(format!("sharp-{fig}.csv"))).unwrap();
            let bad: Vec<&str> = csv
                .lines()
                .filter(|l| l.contains(",SHarP,") || l.contains(",SHarP per-flow,"))
                .filter(|l| l.contains(",lost_updates,") || l.contains(",reordered_updates,"))
                .filter(|l| l.split(',').nth(5) != Some("0"))
                .collect();
            assert!(bad.is_empty(), "{bad:?}");
        }
    }
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d.parent().unwrap());
    }
}

/// Two requests at different priorities: the second (r = 200) hands the flows back to VNF1
/// after the first (r = 100) moved them to VNFn; its entries (401 / 400) override the first's
/// forwarding entry (200), which stays installed.
#[test]
fn a_higher_priority_request_overrides_a_lower_one() {
    use base::Time;
    use models::switch::Match;
    use scenarios::config::{NodeIdx, TimelineAction, TimelineEvent};
    let mut tb = SharpTestbed { tail: Dur::from_millis(500), ..SharpTestbed::default() };
    tb.sharp.priorities.insert(1, 200);
    let mut cfg = sharp_testbed(&tb);
    cfg.timeline.push(TimelineEvent {
        at: Time::ZERO + Dur::from_millis(300),
        what: TimelineAction::Move { flows: Match::any(), src: NodeIdx(3), dst: NodeIdx(2) },
    });
    let r = run_once(&cfg, 1);
    assert_eq!(r.moves.len(), 2);
    assert!(r.moves.iter().all(|m| m.finished.is_some()), "{:?}", r.moves);
    let o = &r.oracle;
    assert_eq!(o.lost_updates + o.reordered_updates + o.duplicate_outputs, 0, "{o:?}");
    assert_eq!(o.lost_packets.values().sum::<u64>(), 0);
    assert!(r.verdict.honoured);
    // Both flows end at VNF1 again, with every update applied there.
    let mut b = scenarios::driver::build(&cfg, 1);
    b.run();
    for flow in [1, 2] {
        let back = b.nf_log(NodeIdx(2), flow).expect("VNF1 holds the state");
        let away = b.nf_log(NodeIdx(3), flow).expect("VNFn held it");
        assert_eq!(back.updates, o.sent / 2, "flow {flow}");
        assert!(back.last_update > away.last_update);
    }
}
