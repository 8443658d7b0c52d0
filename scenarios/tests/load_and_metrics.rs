//! Timeline `set_load` and the `[metrics]` table, from the file to the flows and the CSV.

use std::path::Path;

use base::{Dur, Time};
use scenarios::config::{FlowSource, NodeIdx, TimelineAction, TimelineEvent};
use scenarios::driver::source_flows;
use scenarios::spec::parse_str;
use scenarios::testkit::reroute_pair;

fn bytes_between(flows: &[(workloads::Flow, u32, base::Bps)], from: Time, to: Time) -> f64 {
    flows
        .iter()
        .filter(|f| f.0.start >= from && f.0.start < to)
        .map(|f| f.0.size_bytes as f64)
        .sum()
}

#[test]
fn set_load_changes_the_offered_load_from_its_time_on_and_leaves_earlier_flows_alone() {
    // fb-cache at load 0.2 of 10 Gbps for 2 s, then 0.8 from 1 s. One second of fb-cache at
    // load L offers L * 1.25e9 B with a relative sd of about 1.5% * sqrt(10) / sqrt(L / 0.8)
    // (the workloads tests' figure for 10 s at 0.8): 9.5% at 0.2, 4.7% at 0.8; we allow 30%.
    let mut cfg = reroute_pair(Some(0.2), Dur::from_secs(2), None);
    if let FlowSource::Generated { dist, .. } = &mut cfg.workloads[0].flows {
        *dist = workloads::builtin("fb-cache").unwrap();
    }
    let before = source_flows(&cfg, NodeIdx(0), 1);
    let one_s = Time::ZERO + Dur::from_secs(1);
    cfg.timeline.push(TimelineEvent {
        at: one_s,
        what: TimelineAction::SetLoad { source: NodeIdx(0), load: 0.8 },
    });
    let after = source_flows(&cfg, NodeIdx(0), 1);
    let first = bytes_between(&after, Time::ZERO, one_s) / 1.25e9;
    let second = bytes_between(&after, one_s, one_s + Dur::from_secs(1)) / 1.25e9;
    assert!((first / 0.2 - 1.0).abs() < 0.3, "first second offered {first}");
    assert!((second / 0.8 - 1.0).abs() < 0.3, "second second offered {second}");
    // Flows before the change are exactly those of the run without it.
    let early = |v: &[(workloads::Flow, u32, base::Bps)]| -> Vec<workloads::Flow> {
        v.iter().filter(|f| f.0.start < one_s).map(|f| f.0).collect()
    };
    assert_eq!(early(&before), early(&after));
    // Ids stay unique across the segments.
    let mut ids: Vec<u64> = after.iter().map(|f| f.0.id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), after.len());
}

const BASE: &str = r#"
duration = "10ms"
[controller]
[[nodes]]
name = "h1"
kind = "source"
[[nodes]]
name = "s1"
kind = "switch"
[[nodes]]
name = "sink"
kind = "sink"
[[links]]
between = ["h1", "s1"]
rate = "10Gbps"
[[links]]
between = ["s1", "sink"]
rate = "10Gbps"
[[workloads]]
source = "h1"
dist = "websearch"
load = 0.5
"#;

#[test]
fn set_load_and_metrics_parse_and_bad_ones_are_reported_where_they_are() {
    let good = format!(
        "{BASE}\n[[timeline]]\nat = \"5ms\"\nset_load = {{ source = \"h1\", load = 0.9 }}\n\
         [metrics]\nrecord = [\"lost_updates\", \"sent_pkts\"]\ncontroller_buffer_series = true\n"
    );
    let s = parse_str("good.toml", &good, Path::new(".")).expect("valid");
    assert!(
        matches!(s.config.timeline[0].what, TimelineAction::SetLoad { load, .. } if load == 0.9)
    );
    assert_eq!(
        s.config.metrics.record.as_deref(),
        Some(&["lost_updates".to_string(), "sent_pkts".to_string()][..])
    );
    assert!(s.config.metrics.controller_buffer_series);

    let bad = format!(
        "{BASE}\n[[timeline]]\nat = \"5ms\"\nset_load = {{ source = \"h1\", load = -1 }}\n\
         [metrics]\nrecord = [\"lost_update\"]\n"
    );
    let e = parse_str("bad.toml", &bad, Path::new(".")).unwrap_err().to_string();
    assert!(e.contains("bad.toml:26:36:"), "{e}"); // at the load value
    assert!(e.contains("in (0, 10]"), "{e}");
    assert!(
        e.contains("no metric named `lost_update`") && e.contains("did you mean \"lost_updates\""),
        "{e}"
    );
}
