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
