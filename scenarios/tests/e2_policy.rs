//! E2 policy in scenario files (issue 8, item 1): bad inputs reported at file:line:col with
//! their fix, the ambiguity check naming both offending edges, and a round trip from
//! `scenarios/e2/e2_policy.toml` through the pGraph, sizing and iGraph to a valid placement.

use std::path::PathBuf;
use std::process::Command;

use models::e2::igraph::instances_for;
use models::e2::placement::{inter_server_traffic, violations};
use models::e2::policy::PNodeKind;
use scenarios::e2_place::{place, report, Strategy};
use scenarios::spec::{self, Diagnostic, ErrorKind, SpecErrors};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A valid policy: `in -> a -> b -> out` with `extra` appended (more TOML for `[e2]`).
fn policy(edges: &str, extra: &str) -> String {
    format!(
        r#"name = "t"

[[e2.nf_type]]
name = "FW"
per_core_rate = "1Gbps"

[[e2.nf_type]]
name = "Mon"
per_core_rate = "2Gbps"
affinity = "src_ip"

[[e2.node]]
name = "in"
ports = [0, 0]

[[e2.node]]
name = "out"
ports = [1, 1]

[[e2.node]]
name = "a"
nf_type = "FW"

[[e2.node]]
name = "b"
nf_type = "Mon"

[[e2.pipelet]]
name = "p"
edges = [
{edges}
]
{extra}"#
    )
}

const GOOD_EDGES: &str = r#"  { from = "in", to = "a", bw = "3Gbps" },
  { from = "a", to = "b", bw = "3Gbps" },
  { from = "b", to = "out", bw = "3Gbps" },"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    match spec::e2::parse_str("t.toml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(SpecErrors::Invalid { diagnostics, .. }) => diagnostics,
        Err(e) => panic!("{e}"),
    }
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("no `{needle}`"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

#[test]
fn the_base_policy_is_valid_and_sized_from_its_bandwidths() {
    let c = spec::e2::parse_str("t.toml", &policy(GOOD_EDGES, "")).unwrap();
    // 3 Gbps into a 1 Gbps/core FW and a 2 Gbps/core monitor.
    let names: Vec<&str> = c.igraph.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("a#")).count(), 3);
    assert_eq!(names.iter().filter(|n| n.starts_with("b#")).count(), 2);
}

#[test]
fn an_unknown_nf_type_is_reported_at_its_value_with_the_known_types() {
    let text = policy(GOOD_EDGES, "").replace(r#"nf_type = "Mon""#, r#"nf_type = "Mn""#);
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(matches!(&d[0].kind, ErrorKind::UnknownNfType { name, .. } if name == "Mn"));
    assert_eq!((d[0].line, d[0].col), pos(&text, r#""Mn""#));
    assert!(d[0].help().contains("did you mean `Mon`"), "{}", d[0].help());
}

#[test]
fn an_edge_to_an_unknown_node_is_reported_at_the_name() {
    let edges = GOOD_EDGES.replace(r#"to = "out""#, r#"to = "uot""#);
    let text = policy(&edges, "");
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(matches!(&d[0].kind, ErrorKind::UnknownPolicyNode { name, role, .. }
            if name == "uot" && *role == "edge `to`"));
    assert_eq!((d[0].line, d[0].col), pos(&text, r#""uot""#));
    assert!(d[0].help().contains("did you mean `out`"), "{}", d[0].help());
}

#[test]
fn bad_filters_are_reported_at_the_condition() {
    // Both `in` and `not_in`; then a condition without `attr`; then an empty `in`.
    let edges = GOOD_EDGES
        .replace(
            r#"{ from = "a", to = "b", bw = "3Gbps" }"#,
            r#"{ from = "a", to = "b", filter = [{ attr = "x", in = [1], not_in = [2] }] }"#,
        )
        .replace(
            r#"{ from = "in", to = "a", bw = "3Gbps" }"#,
            r#"{ from = "in", to = "a", filter = [{ in = ["y"] }] }"#,
        );
    let text = policy(&edges, "");
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d.iter().all(|d| matches!(d.kind, ErrorKind::BadFilter { .. })));
    // Sorted by position: the missing attr (edge 0), then `not_in` next to `in` (edge 1).
    assert_eq!((d[0].line, d[0].col), pos(&text, r#"{ in = ["y"] }"#));
    assert!(d[0].to_string().contains("no `attr`"), "{}", d[0]);
    assert_eq!((d[1].line, d[1].col), pos(&text, "[2]"));
    assert!(d[1].to_string().contains("both `in` and `not_in`"), "{}", d[1]);
    assert!(d[1].help().contains("exactly one"), "{}", d[1].help());
}

#[test]
fn a_typo_and_a_wrong_type_in_e2_are_located() {
    let text = policy(GOOD_EDGES, "\n[e2.rack]\nservrs = 4\nnic = 10\n");
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(matches!(&d[0].kind, ErrorKind::UnknownKey { key, .. } if key == "servrs"));
    assert_eq!((d[0].line, d[0].col), pos(&text, "servrs"));
    assert!(d[0].help().contains("did you mean `servers`"), "{}", d[0].help());
    assert!(matches!(&d[1].kind, ErrorKind::Unit { key, .. } if key == "nic"));
    assert_eq!((d[1].line, d[1].col), pos(&text, "10\n"));
}

#[test]
fn an_ambiguous_policy_names_both_offending_edges_at_each() {
    // Figure 2 gone wrong: port-80 traffic leaving `a` matches both edges of one pipelet,
    // so adding the pipelet's class cannot separate them.
    let edges = r#"  { from = "in", to = "a" },
  { from = "a", to = "b", filter = [{ attr = "dst_port", in = [80] }] },
  { from = "a", to = "out" },
  { from = "b", to = "out" },"#;
    let text = policy(edges, "");
    let d = errors(&text);
    assert_eq!(d.len(), 2, "{d:?}");
    let e1 = "pipelet p edge 1 (a -> b)";
    let e2 = "pipelet p edge 2 (a -> out)";
    assert_eq!((d[0].line, d[0].col), pos(&text, r#"{ from = "a", to = "b""#));
    assert_eq!((d[1].line, d[1].col), pos(&text, r#"{ from = "a", to = "out""#));
    for (diag, this, other) in [(&d[0], e1, e2), (&d[1], e2, e1)] {
        let ErrorKind::AmbiguousEdges { node, this: t, other: o } = &diag.kind else {
            panic!("{diag}")
        };
        assert_eq!((node.as_str(), t.as_str(), o.as_str()), ("a", this, other));
    }
    assert!(d[0].to_string().starts_with("t.toml:"), "{}", d[0]);
}

#[test]
fn overlapping_edges_of_different_pipelets_are_disambiguated_by_class() {
    // Two pipelets share `b`; `b -> out` and `b -> in` overlap until each gets its class.
    let extra = r#"
[[e2.pipelet]]
name = "q"
class = [{ attr = "in_port", in = ["out"] }]
edges = [{ from = "out", to = "b" }, { from = "b", to = "in" }]
"#;
    let text = policy(GOOD_EDGES, extra).replace(
        "[[e2.pipelet]]\nname = \"p\"\n",
        "[[e2.pipelet]]\nname = \"p\"\nclass = [{ attr = \"in_port\", in = [\"in\"] }]\n",
    );
    let c = spec::e2::parse_str("t.toml", &text).unwrap();
    let narrowed: Vec<String> = c
        .pgraph
        .graph
        .edge_indices()
        .filter(|&e| c.pgraph.graph[e].disambiguated)
        .map(|e| c.pgraph.edge_ref(e).to_string())
        .collect();
    assert_eq!(narrowed, ["pipelet p edge 2 (b -> out)", "pipelet q edge 1 (b -> in)"]);
    assert!(c.summary().contains("unambiguous"), "{}", c.summary());

    // With overlapping classes, the same two edges are an error.
    let clash = text.replace(r#"in = ["out"]"#, r#"in = ["in", "out"]"#);
    let d = errors(&clash);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d
        .iter()
        .all(|d| matches!(&d.kind, ErrorKind::AmbiguousEdges { node, .. } if node == "b")));
}

#[test]
fn packets_with_no_destination_are_reported_at_the_node() {
    let edges = r#"  { from = "in", to = "a" },
  { from = "a", to = "b", filter = [{ attr = "dst_port", in = [80] }] },
  { from = "b", to = "out" },"#;
    let text = policy(edges, "");
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(matches!(&d[0].kind, ErrorKind::NoDestination { node } if node == "a"));
    assert_eq!((d[0].line, d[0].col), pos(&text, r#""a""#));
    assert!(d[0].help().contains("Drop"), "{}", d[0].help());
}

#[test]
fn a_bad_e2_table_fails_a_runnable_scenario_at_its_line() {
    let path = crate_dir().join("examples/reroute_midstream.toml");
    let base = std::fs::read_to_string(&path).unwrap();
    spec::parse_str("s.toml", &base, &crate_dir().join("examples")).expect("the example is valid");
    let good = format!("{base}\n{}", policy(GOOD_EDGES, "").replace("name = \"t\"\n", ""));
    let s = spec::parse_str("s.toml", &good, &crate_dir().join("examples")).unwrap();
    assert_eq!(s.e2.expect("[e2] kept").igraph.instances.len(), 5);
    let bad = good.replace(r#"nf_type = "Mon""#, r#"nf_type = "Mn""#);
    let Err(SpecErrors::Invalid { diagnostics: d, .. }) =
        spec::parse_str("s.toml", &bad, &crate_dir().join("examples"))
    else {
        panic!("accepted")
    };
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].line, d[0].col), pos(&bad, r#""Mn""#));
}

#[test]
fn the_example_policy_round_trips_to_a_valid_placement() {
    let path = crate_dir().join("e2/e2_policy.toml");
    let c = spec::e2::load(&path).unwrap();
    let g = &c.pgraph.graph;
    // Sizing: each NF's instances from the file's bandwidths and per-core rates.
    for n in g.node_indices() {
        let PNodeKind::Nf { nf_type } = &g[n].kind else { continue };
        let load: u64 = g
            .edge_indices()
            .filter(|&e| g.edge_endpoints(e).map(|(_, to)| to) == Some(n))
            .map(|e| g[e].bw_bps.unwrap())
            .sum();
        let want = instances_for(load as f64, c.catalog.types[nf_type].per_core_bps);
        assert!(want >= 1);
        assert_eq!(c.igraph.instances_of(n).len(), want, "{}", g[n].name);
    }
    // The two pipelets share the monitor; only its two out-edges needed their classes.
    let narrowed: Vec<String> = g
        .edge_indices()
        .filter(|&e| g[e].disambiguated)
        .map(|e| c.pgraph.edge_ref(e).to_string())
        .collect();
    assert_eq!(
        narrowed,
        ["pipelet figure2 edge 6 (mon -> int)", "pipelet outbound edge 2 (mon -> ext)"]
    );

    let e2 = place(&c, Strategy::E2, 1).unwrap();
    let packing = place(&c, Strategy::Packing, 1).unwrap();
    for p in [&e2, &packing] {
        assert_eq!(p.server_of.len(), c.igraph.instances.len());
        assert!(violations(&c.igraph, &c.rack, p, true).is_empty());
    }
    // The local search starts from the packing and never increases the cut.
    let (cut_e2, cut_pack) =
        (inter_server_traffic(&c.igraph, &e2), inter_server_traffic(&c.igraph, &packing));
    assert!(cut_e2 <= cut_pack, "{cut_e2} > {cut_pack}");

    // The report is deterministic and names every instance.
    let all = Strategy::ALL;
    let r = report(&c, &all, 7);
    assert_eq!(r, report(&c, &all, 7));
    for i in &c.igraph.instances {
        assert!(r.contains(&format!(" {}", i.name)), "{} missing", i.name);
    }
}

#[test]
fn the_cli_validates_the_example_and_points_at_a_bad_policy() {
    let example = crate_dir().join("e2/e2_policy.toml");
    let out =
        Command::new(env!("CARGO_BIN_EXE_nftwin")).arg("validate").arg(&example).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok (E2 policy:") && stdout.contains("unambiguous"), "{stdout}");

    let dir = std::env::temp_dir().join(format!("nftwin-e2-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let text = policy(GOOD_EDGES, "").replace(r#"to = "out""#, r#"to = "uot""#);
    std::fs::write(&bad, &text).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_nftwin")).arg("validate").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (l, c) = pos(&text, r#""uot""#);
    assert!(
        stderr.contains(&format!("bad.toml:{l}:{c}: error: no E2 node named `uot`")),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_nftwin"))
        .args(["e2", "place"])
        .arg(&example)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("placement (step 4, e2;") && stdout.contains("server 0:"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}
