//! E2's migration avoidance from a scenario file (`[protocol] name = "e2-migration-avoidance"`):
//! the keys are checked into the protocol's configuration, a run on the OpenNF example's
//! one-switch testbed keeps affinity, and bad input is located.

use std::path::Path;

use scenarios::config::ProtocolConfig;
use scenarios::spec;

/// `scenarios/examples/opennf_move.toml` with its `[protocol]` table replaced by `protocol`
/// and its move by `move_`.
fn example(protocol: &str, move_: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/opennf_move.toml"),
    )
    .unwrap();
    let head = &text[..text.find("[protocol]").expect("the example has a [protocol] table")];
    format!("{head}[protocol]\n{protocol}\n\n[[timeline]]\nat = \"50ms\"\n{move_}\n")
}

const ALL: &str = r#"move = { flows = "all", from = "fw1", to = "fw2" }"#;

#[test]
fn a_scenario_file_split_keeps_affinity_and_pauses_nothing() {
    let text = example("name = \"e2-migration-avoidance\"\nshare = 0.25\npush_threshold = 3", ALL);
    let cfg =
        spec::parse_str("e2.toml", &text, Path::new(".")).unwrap_or_else(|e| panic!("{e}")).config;
    let ProtocolConfig::E2MigrationAvoidance(c) = &cfg.protocol else {
        panic!("{:?}", cfg.protocol)
    };
    assert_eq!((c.share, c.push_threshold), (0.25, 3));
    for seed in 1..=3 {
        let r = scenarios::driver::run_once(&cfg, seed);
        let o = &r.oracle;
        let case = format!("seed {seed}: {o:?} {:?}", r.metrics);
        assert!(r.verdict.honoured, "{case}");
        assert_eq!((o.lost_updates, o.reordered_updates, o.duplicate_outputs), (0, 0, 0), "{case}");
        assert_eq!(o.lost_packets.values().sum::<u64>(), 0, "{case}");
        assert!(r.moves.iter().all(|m| m.finished.is_some() && m.failed.is_none()), "{case}");
        assert_eq!(r.metrics["max_controller_buffer_pkts"], 0.0, "{case}");
        // The split went to the switch: at least the two ranges.
        assert!(r.metrics["e2_hw_rules_sent"] >= 2.0, "{case}");
    }
}

#[test]
fn a_split_of_some_flows_or_a_share_out_of_range_is_located() {
    let some = r#"move = { flows = { dport = 80 }, from = "fw1", to = "fw2" }"#;
    let text = example("name = \"e2-migration-avoidance\"\nshare = 1.5", some);
    let e = spec::parse_str("e2.toml", &text, Path::new(".")).unwrap_err();
    let d = e.diagnostics();
    assert_eq!(d.len(), 2, "{e}");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(d[0].line, line_of("share = 1.5"), "{e}");
    assert!(e.to_string().contains("`share` must be in (0, 1]"), "{e}");
    assert_eq!(d[1].line, line_of("dport = 80"), "{e}");
    assert!(d[1].help().contains(r#"flows = "all""#), "{}", d[1]);
}
