//! The `opennf-enh` calibration: the example scenario file carries the same calibrated values
//! as the reproduce target's code, and both give U-HAUL Figure 2a's move times.

use std::path::PathBuf;

use models::oracle::Guarantee;
use scenarios::config::{FlowSource, NodeKind, ProtocolConfig};
use scenarios::driver::run_once;
use scenarios::reproduce::opennf::{prads, prads_move, CTRL_PER_MSG};
use scenarios::spec;

fn example() -> scenarios::config::ScenarioConfig {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/opennf_prads_1000.toml");
    spec::load(&p).unwrap_or_else(|e| panic!("{e}")).config
}

#[test]
fn the_calibrated_example_matches_the_target_and_u_haul_figure_2a() {
    let file = example();
    let code = prads_move(
        1000,
        models::opennf::OpenNfConfig::opennf(Guarantee::LossFreeOrderPreserving),
        1,
    );
    for n in &file.nodes {
        match &n.kind {
            NodeKind::Nf(c) => assert_eq!(*c, prads(), "{}", n.name),
            NodeKind::Controller(c) => assert_eq!(c.per_msg, CTRL_PER_MSG),
            _ => {}
        }
    }
    assert_eq!(file.duration, code.duration);
    assert_eq!(file.timeline[0].at, code.timeline[0].at);
    let flows = |c: &scenarios::config::ScenarioConfig| match &c.workloads[0].flows {
        FlowSource::Trace { flows, .. } => flows.clone(),
        _ => panic!("a trace"),
    };
    assert_eq!(flows(&file), flows(&code));
    assert_eq!(file.workloads[0].flow_rate, code.workloads[0].flow_rate);
    let (ProtocolConfig::OpenNf(a), ProtocolConfig::OpenNf(b)) = (&file.protocol, &code.protocol)
    else {
        panic!("opennf")
    };
    assert_eq!(a, b);

    let ms = |c: &scenarios::config::ScenarioConfig| run_once(c, 1).metrics["move_duration_ms"];
    let lfop = ms(&file);
    assert!(lfop > 400.0, "LF+OP PL+ER: {lfop} ms");
    assert!((ms(&code) - lfop).abs() < 1e-9);
    let ng = ms(&prads_move(1000, models::opennf::OpenNfConfig::opennf(Guarantee::None), 1));
    assert!((ng - 268.0).abs() < 2.0, "NG: {ng} ms");
}

/// HotMiddlebox 6.1 measures the latency of the packets dstInst alone processes during a move
/// ("redirected"), not of every packet sent during it: flows leave srcInst one at a time, so
/// most packets sent early in a move are still processed normally there. A small plain
/// loss-free move of Bro-like flows: the dst-only packets' mean delay exceeds the window's
/// all-packets mean, and every window packet is output by srcInst or by dstInst alone.
#[test]
fn a_loss_free_moves_dst_only_packets_are_slower_than_the_windows_average() {
    use base::{Dur, Time};
    use models::opennf::OpenNfConfig;
    use scenarios::reproduce::opennf::bro_move;

    let window = |protocol: OpenNfConfig| {
        let mut cfg = bro_move(100, 4000.0, protocol, 100_000, Dur::from_millis(400), 1);
        let at = cfg.timeline[0].at;
        cfg.metrics.delay_window = Some((at, at + Dur::from_millis(200)));
        assert!(at > Time::ZERO);
        run_once(&cfg, 1).metrics
    };
    let m = window(OpenNfConfig::opennf(Guarantee::LossFree));
    let (all, dst_only) = (m["window_mean_delay_us"], m["window_mean_delay_dst_only_us"]);
    assert!(m["window_dst_only_pkts"] > 0.0, "{m:?}");
    assert!(m["window_dst_only_pkts"] < m["window_pkts"], "{m:?}");
    assert_eq!(m["window_src_output_pkts"] + m["window_dst_only_pkts"], m["window_pkts"], "{m:?}");
    assert!(dst_only > all, "dst-only {dst_only} us, all {all} us");
    assert_eq!(m["window_reprocessed_pkts"], 0.0, "{m:?}");

    // With reprocessing srcInst outputs every packet and copies those of exported flows.
    let r = window(OpenNfConfig::reprocessing());
    assert_eq!(r["window_dst_only_pkts"], 0.0, "{r:?}");
    assert_eq!(r["window_src_output_pkts"], r["window_pkts"], "{r:?}");
    assert!(r["window_reprocessed_pkts"] > 0.0, "{r:?}");
}
