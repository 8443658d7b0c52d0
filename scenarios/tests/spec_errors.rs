//! Scenario files: each error kind the issue names (unknown key, wrong unit, dangling node
//! name, negative rate) with its line:col and help; all four in one file; the examples; unit
//! parsing; sweep expansion; the reference documents every key.

use std::path::{Path, PathBuf};

use base::{Bps, Dur};
use scenarios::config::{FlowSource, NodeKind, RuleAction, TimelineAction};
use scenarios::spec::units::{self, QuantityKind, UnitError};
use scenarios::spec::{self, Diagnostic, ErrorKind, SpecErrors};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A valid base: h1 - s1 - {fw1, fw2}, s1 - sink. `extra` is appended; `link_h1` replaces the
/// h1-s1 link body.
fn scenario(link_h1: &str, extra: &str) -> String {
    format!(
        r#"name = "t"
duration = "10ms"

[[nodes]]
name = "h1"
kind = "source"

[[nodes]]
name = "s1"
kind = "switch"

[[nodes]]
name = "fw1"
kind = "nf"

[[nodes]]
name = "sink"
kind = "sink"

[[links]]
{link_h1}

[[links]]
between = ["s1", "fw1"]
rate = "10Gbps"

[[links]]
between = ["s1", "sink"]
rate = "10Gbps"
{extra}"#
    )
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match spec::parse_str("t.toml", text, Path::new(".")) {
        Ok(_) => panic!("expected errors, the scenario is valid:\n{text}"),
        Err(e) => e.diagnostics().to_vec(),
    }
}

fn one_error(text: &str) -> Diagnostic {
    let d = errors(text);
    assert_eq!(d.len(), 1, "expected one error, got:\n{}", show(&d));
    d.into_iter().next().unwrap()
}

fn show(d: &[Diagnostic]) -> String {
    d.iter().map(|d| format!("{d}\n")).collect()
}

#[test]
fn the_base_scenario_is_valid() {
    let s = spec::parse_str(
        "t.toml",
        &scenario("between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"", ""),
        Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.config.nodes.len(), 4);
    assert_eq!(s.config.links.len(), 3);
    assert_eq!(s.config.links[0].rate, Bps(10_000_000_000));
    assert!(s.sweep.is_empty());
}

#[test]
fn unknown_key_names_line_col_and_closest_key() {
    // Line 22 holds the typo; column 1 is where the key starts.
    let d = one_error(&scenario("between = [\"h1\", \"s1\"]\nrat = \"10Gbps\"", ""));
    assert_eq!((d.line, d.col), (22, 1), "{d}");
    assert!(
        matches!(&d.kind, ErrorKind::UnknownKey { key, table: "[[links]]", .. } if key == "rat")
    );
    assert_eq!(
        d.help(),
        "did you mean `rate`? valid keys: between, rate, delay, queue, queue_bytes, loss"
    );
    assert!(d
        .to_string()
        .starts_with("t.toml:22:1: error: unknown key `rat` in [[links]]\n  help: "));
}

#[test]
fn wrong_unit_names_the_valid_units() {
    let d =
        one_error(&scenario("between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"\ndelay = \"5mz\"", ""));
    assert_eq!((d.line, d.col), (23, 9), "{d}");
    assert!(
        matches!(&d.kind, ErrorKind::Unit { key, source: UnitError::UnknownUnit { .. } } if key == "delay")
    );
    assert_eq!(d.help(), "did you mean `ms`? units: ns, us, ms, s");
}

#[test]
fn missing_unit_says_add_one() {
    let d = one_error(&scenario("between = [\"h1\", \"s1\"]\nrate = 10", ""));
    assert_eq!((d.line, d.col), (22, 8), "{d}");
    assert!(d.help().starts_with("add a unit, e.g. \"10Gbps\""), "{}", d.help());
}

#[test]
fn dangling_node_name_lists_the_nodes() {
    let d = one_error(&scenario(
        "between = [\"h1\", \"s2\"]\nrate = \"10Gbps\"",
        "\n[[links]]\nbetween = [\"h1\", \"s1\"]\nrate = \"1Gbps\"\n",
    ));
    assert_eq!((d.line, d.col), (21, 18), "{d}");
    assert!(matches!(&d.kind, ErrorKind::DanglingNode { name, .. } if name == "s2"));
    assert_eq!(d.help(), "did you mean `s1`? nodes in this file: h1, s1, fw1, sink");
}

#[test]
fn negative_rate_says_positive() {
    let d = one_error(&scenario("between = [\"h1\", \"s1\"]\nrate = \"-10Gbps\"", ""));
    assert_eq!((d.line, d.col), (22, 8), "{d}");
    assert_eq!(d.kind.to_string(), "`rate`: a rate must be positive, got `-10Gbps`");
    assert_eq!(d.help(), "write a positive value, e.g. \"10Gbps\"");
}

#[test]
fn four_mistakes_give_exactly_four_errors() {
    let path = crate_dir().join("tests/data/four_mistakes.toml");
    let e = spec::load(&path).expect_err("the file has four mistakes");
    let d = e.diagnostics();
    assert_eq!(d.len(), 4, "{}", show(d));
    let at: Vec<(usize, usize)> = d.iter().map(|d| (d.line, d.col)).collect();
    assert_eq!(at, [(23, 1), (28, 9), (31, 18), (36, 8)], "{}", show(d));
    assert!(matches!(d[0].kind, ErrorKind::UnknownKey { .. }));
    assert!(matches!(d[1].kind, ErrorKind::Unit { source: UnitError::UnknownUnit { .. }, .. }));
    assert!(matches!(d[2].kind, ErrorKind::DanglingNode { .. }));
    assert!(matches!(d[3].kind, ErrorKind::Unit { source: UnitError::Negative { .. }, .. }));
    // Every line of the report names the file.
    let text = e.to_string();
    assert_eq!(text.matches("four_mistakes.toml:").count(), 4, "{text}");
    assert!(text.ends_with("4 errors"));
}

#[test]
fn not_a_neighbour_lists_the_neighbours() {
    let rule = "\n[[nodes.rules]]\nactions = [{ output = \"h1\" }]\n";
    // Rules belong to the last [[nodes]] table; put the switch last.
    let text = scenario("between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"", "")
        .replace("[[nodes]]\nname = \"s1\"\nkind = \"switch\"\n", "")
        + "\n[[nodes]]\nname = \"s1\"\nkind = \"switch\"\n"
        + rule;
    let spec::Scenario { config, .. } =
        spec::parse_str("t.toml", &text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let s1 = config.find("s1").unwrap();
    let NodeKind::Switch(sw) = &config.node(s1).kind else { panic!("s1 is a switch") };
    assert_eq!(sw.rules[0].actions, [RuleAction::OutputTo(config.find("h1").unwrap())]);
    assert!(sw.ingress, "s1 is adjacent to a source");

    let text = text.replace("output = \"h1\"", "output = \"fw2\"");
    let d = one_error(&text);
    assert!(matches!(&d.kind, ErrorKind::DanglingNode { name, .. } if name == "fw2"), "{d}");
    let text = text.replace("[{ output = \"fw2\" }]", "[{ output = \"s1\" }]");
    let d = one_error(&text);
    assert!(matches!(&d.kind, ErrorKind::NotNeighbour { name, .. } if name == "s1"), "{d}");
    assert_eq!(d.help(), "did you mean `h1`? its neighbours (nodes linked to it): h1, fw1, sink");
}

#[test]
fn syntax_and_type_errors_are_located_and_all_reported() {
    let d = errors("name = \"x\"\nduration = \n");
    assert!(matches!(d[0].kind, ErrorKind::Syntax { .. }), "{}", show(&d));
    assert_eq!(d[0].line, 2);
    // Two type errors in one file: both reported (serde stops at the first; the loader retries).
    let text = scenario("between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"\nqueue = \"big\"", "")
        .replace("name = \"t\"", "seed = \"one\"");
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{}", show(&d));
    assert!(d.iter().all(|d| matches!(d.kind, ErrorKind::WrongType { .. })), "{}", show(&d));
}

#[test]
fn hostile_inputs_are_errors_not_panics() {
    for text in [
        "duration = \"99999999999999999999s\"",
        "duration = \"1.0000000000000000000000000000000000000001s\"",
        "duration = \"-0s\"",
        "duration = 1e308",
        "duration = nan",
        "[sweep]\n\"a.b\" = []",
        "[[nodes]]\nname = \"\"\nkind = \"x\"",
        "[[links]]\nbetween = []",
        "[[timeline]]\nat = \"1s\"\nmove = {}",
        "[sweep]\n\"nodes.0\" = [1]",
        "duration = \"1ms\"\n[sweep]\n\"duration\" = [\"1ms\", \"x\"]",
        "\u{feff}duration = \"1µs\"\n[[nodes]]\nname = \"é\"\nkind = \"nf\"",
    ] {
        let r = spec::parse_str("t.toml", text, Path::new("."));
        assert!(r.is_err(), "{text}");
    }
}

#[test]
fn the_examples_validate() {
    let dir = crate_dir().join("examples");
    let s = spec::load(&dir.join("reroute_midstream.toml")).unwrap_or_else(|e| panic!("{e}"));
    let c = &s.config;
    assert_eq!(c.name, "reroute-mid-stream");
    assert_eq!(c.duration, Dur::from_millis(100));
    // Nodes in file order, the controller last.
    let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["h1", "s1", "fw1", "fw2", "sink", "controller"]);
    assert!(matches!(c.nodes[5].kind, NodeKind::Controller(_)));
    assert_eq!(c.controller(), c.find("controller"));
    assert_eq!(c.timeline.len(), 1);
    let TimelineAction::Move { src, dst, .. } = &c.timeline[0].what else { panic!("a move") };
    assert_eq!((*src, *dst), (c.find("fw1").unwrap(), c.find("fw2").unwrap()));
    let FlowSource::Generated { load, reference, .. } = &c.workloads[0].flows else { panic!() };
    assert_eq!((*load, *reference), (0.5, Bps(10_000_000_000)));

    let s = spec::load(&dir.join("two_switch_four_nf.toml")).unwrap_or_else(|e| panic!("{e}"));
    let c = &s.config;
    let nfs = c.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Nf(_))).count();
    let switches = c.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Switch(_))).count();
    assert_eq!((switches, nfs, c.controller()), (2, 4, None));
    assert!(c.timeline.is_empty());
}

#[test]
fn unit_parsing_table() {
    use QuantityKind::*;
    let ok: &[(QuantityKind, &str, u64)] = &[
        (Duration, "250us", 250_000),
        (Duration, "1.5ms", 1_500_000),
        (Duration, "2s", 2_000_000_000),
        (Duration, "7ns", 7),
        (Duration, "3 ms", 3_000_000),
        (Duration, "0.5us", 500),
        (Duration, "18446744073709551615ns", u64::MAX),
        (Rate, "10Gbps", 10_000_000_000),
        (Rate, "2.5Gbps", 2_500_000_000),
        (Rate, "100Mbps", 100_000_000),
        (Rate, "1Tbps", 1_000_000_000_000),
        (Rate, "9600bps", 9600),
        (PacketRate, "1Mpps", 1_000_000),
        (PacketRate, "14.88Mpps", 14_880_000),
        (Size, "1MB", 1_000_000),
        (Size, "64KiB", 65_536),
        (Size, "1500B", 1500),
    ];
    for &(k, text, want) in ok {
        assert_eq!(units::parse(k, text), Ok(want), "{text}");
    }
    type Case = (QuantityKind, &'static str, fn(&UnitError) -> bool);
    let bad: &[Case] = &[
        (Rate, "-10Gbps", |e| matches!(e, UnitError::Negative { .. })),
        (Rate, "10", |e| matches!(e, UnitError::MissingUnit { .. })),
        (Rate, "10GBps", |e| matches!(e, UnitError::UnknownUnit { .. })),
        (Duration, "5mz", |e| matches!(e, UnitError::UnknownUnit { .. })),
        (Duration, "0.5ns", |e| matches!(e, UnitError::NotWhole { .. })),
        (Duration, "18446744073709551616ns", |e| matches!(e, UnitError::TooLarge { .. })),
        (Duration, "99999999999999999999s", |e| matches!(e, UnitError::TooLarge { .. })),
        (Duration, "1e3ms", |e| matches!(e, UnitError::UnknownUnit { .. })),
        (Duration, "", |e| matches!(e, UnitError::NotANumber { .. })),
        (Size, "1.2.3MB", |e| matches!(e, UnitError::NotANumber { .. })),
    ];
    for (k, text, is) in bad {
        let e = units::parse(*k, text).expect_err(text);
        assert!(is(&e), "{text}: {e:?}");
    }
}

#[test]
fn sweep_expands_row_major_in_file_order() {
    let text = scenario(
        "between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"",
        r#"
[controller]
per_msg = "10us"

[[workloads]]
source = "h1"
dist = "websearch"
load = 0.3

[sweep]
"workloads.0.load" = [0.5, 0.8]
"controller.per_msg" = ["10us", "50us", "1ms"]
"#,
    );
    let s = spec::parse_str("t.toml", &text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let labels: Vec<&str> = s.sweep.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "workloads.0.load=0.5,controller.per_msg=10us",
            "workloads.0.load=0.5,controller.per_msg=50us",
            "workloads.0.load=0.5,controller.per_msg=1ms",
            "workloads.0.load=0.8,controller.per_msg=10us",
            "workloads.0.load=0.8,controller.per_msg=50us",
            "workloads.0.load=0.8,controller.per_msg=1ms",
        ]
    );
    let load = |c: &scenarios::config::ScenarioConfig| match &c.workloads[0].flows {
        FlowSource::Generated { load, .. } => *load,
        FlowSource::Trace { .. } => unreachable!(),
    };
    let per_msg = |c: &scenarios::config::ScenarioConfig| match &c.nodes.last().unwrap().kind {
        NodeKind::Controller(cc) => cc.per_msg,
        _ => unreachable!(),
    };
    assert_eq!(load(&s.config), 0.3, "the base config is the file without the sweep");
    assert_eq!(load(&s.sweep[4].config), 0.8);
    assert_eq!(per_msg(&s.sweep[4].config), Dur::from_micros(50));
    assert_eq!(s.sweep[2].assignments[1], ("controller.per_msg".into(), "1ms".into()));

    // A bad value in a sweep list is reported where it is written.
    let bad = text.replace("\"1ms\"]", "\"1mz\"]");
    let d = one_error(&bad);
    let line = bad.lines().position(|l| l.contains("1mz")).unwrap() + 1;
    assert_eq!(d.line, line, "{d}");
    // A path that names nothing is one error at the key.
    let bad = text.replace("workloads.0.load", "workloads.3.load");
    let d = one_error(&bad);
    assert!(matches!(d.kind, ErrorKind::BadSweepPath { .. }), "{d}");
}

#[test]
fn read_errors_name_the_file() {
    let e = spec::load(Path::new("/nonexistent/x.toml")).expect_err("no such file");
    assert!(matches!(e, SpecErrors::Read { .. }));
    assert!(e.to_string().contains("/nonexistent/x.toml"));
}

/// docs/scenarios.md documents every key the parser accepts, in a section per table, as a
/// table row "| `key` |"; and every such row names a key the parser accepts.
#[test]
fn the_reference_documents_every_key() {
    let doc = std::fs::read_to_string(crate_dir().join("../docs/scenarios.md"))
        .expect("docs/scenarios.md");
    for table in spec::schema::ALL {
        let heading = format!("### {}\n", table.name);
        let start = doc.find(&heading).unwrap_or_else(|| panic!("no section `{}`", heading.trim()));
        let body = &doc[start + heading.len()..];
        let body = &body[..body.find("\n#").unwrap_or(body.len())];
        for key in table.key_names {
            assert!(
                body.contains(&format!("| `{key}` |")),
                "{}: key `{key}` is not documented",
                table.name
            );
        }
        for line in body.lines().filter(|l| l.starts_with("| `")) {
            let key = line.trim_start_matches("| `").split('`').next().unwrap();
            assert!(
                table.key_names.contains(&key),
                "{}: documented key `{key}` is not accepted",
                table.name
            );
        }
    }
}

/// `[protocol] start_ho` (SHarP): the two moments of `START_HO`, and a wrong one named with
/// its line:col and the valid values.
#[test]
fn sharp_start_ho_parses_and_a_wrong_value_is_named() {
    use models::sharp::StartHo;
    let base = scenario("between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"", "");
    for (given, want) in
        [("after-detection", StartHo::AfterDetection), ("per-flow", StartHo::PerFlow)]
    {
        let text = format!("{base}\n[protocol]\nname = \"sharp\"\nstart_ho = \"{given}\"\n");
        let s = spec::parse_str("t.toml", &text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
        match &s.config.protocol {
            scenarios::config::ProtocolConfig::Sharp(c, _) => assert_eq!(c.start, want),
            p => panic!("{p:?}"),
        }
    }
    let text = format!("{base}\n[protocol]\nname = \"sharp\"\nstart_ho = \"perflow\"\n");
    let line = text.lines().position(|l| l.starts_with("start_ho")).unwrap() + 1;
    let d = one_error(&text);
    assert_eq!((d.line, d.col), (line, 12), "{d}");
    assert!(matches!(&d.kind, ErrorKind::UnknownValue { key: "start_ho", .. }), "{d}");
    assert!(d.help().contains("per-flow"), "{}", d.help());
}

#[test]
fn pacing_fair_share_with_slow_start_and_its_mistakes() {
    use scenarios::config::SourcePacing;
    let link = "between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"";
    let w = |keys: &str| {
        scenario(
            link,
            &format!(
                "\n[[workloads]]\nsource = \"h1\"\ndist = \"websearch\"\nload = 0.5\n{keys}\n"
            ),
        )
    };
    let parse = |text: &str| {
        spec::parse_str("t.toml", text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(parse(&w("")).config.workloads[0].pacing, SourcePacing::OpenLoop);
    let s = parse(&w("pacing = \"fair-share\"\nslow_start_rtt = \"100us\"\ninitial_window = 4"));
    let expect = workloads::SlowStart { rtt: Dur::from_micros(100), initial_window: 4 };
    assert_eq!(s.config.workloads[0].pacing, SourcePacing::FairShare { slow_start: Some(expect) });
    let s = parse(&w("pacing = \"fair-share\""));
    assert_eq!(s.config.workloads[0].pacing, SourcePacing::FairShare { slow_start: None });
    // Line 36 is the first key after `load`, the value starts at column 10.
    let d = one_error(&w("pacing = \"tcp\""));
    assert_eq!((d.line, d.col), (36, 10), "{d}");
    assert!(matches!(&d.kind, ErrorKind::UnknownValue { key: "pacing", .. }), "{d}");
    let d = one_error(&w("pacing = \"fair-share\"\nflow_rate = \"1Gbps\""));
    assert!(matches!(&d.kind, ErrorKind::Conflict { a: "flow_rate", .. }), "{d}");
    let d = one_error(&w("slow_start_rtt = \"100us\""));
    assert!(matches!(&d.kind, ErrorKind::Conflict { a: "slow_start_rtt", .. }), "{d}");
    let d = one_error(&w("pacing = \"fair-share\"\nslow_start_rtt = \"0us\""));
    assert!(matches!(&d.kind, ErrorKind::OutOfRange { key: "slow_start_rtt", .. }), "{d}");
}

#[test]
fn control_jitter_is_read_ordered_by_default_and_zero_means_none() {
    let link = "between = [\"h1\", \"s1\"]\nrate = \"10Gbps\"";
    let parse = |controller: &str| {
        let text = scenario(link, &format!("\n[controller]\n{controller}\n"));
        spec::parse_str("t.toml", &text, Path::new(".")).unwrap_or_else(|e| panic!("{e}")).config
    };
    let j = parse("control_jitter = \"1ms\"").control_jitter.expect("jitter");
    assert_eq!((j.max, j.ordered), (Dur::from_millis(1), true));
    let j = parse("control_jitter = \"50us\"\ncontrol_ordered = false").control_jitter.unwrap();
    assert_eq!((j.max, j.ordered), (Dur::from_micros(50), false));
    assert_eq!(parse("control_jitter = \"0s\"").control_jitter, None);
    assert_eq!(parse("").control_jitter, None);
    let d = one_error(&scenario(link, "\n[controller]\ncontrol_jitter = \"1kg\"\n"));
    assert!(d.to_string().contains("control_jitter"), "{d}");
}
