//! The `baseline` target: the `reroute` yardstick, no paper behind it.
//!
//! `reroute` changes the switch's rules and moves no state, so every flow that is active when
//! its packets switch from `fw1` to `fw2` loses the updates `fw1` made, and the switch's rule
//! update latency decides how long the move takes. Every protocol target's figures are read
//! against these numbers. The scenario is `testkit::reroute_pair` (websearch flows paced at
//! 1 Gbps on a 10 Gbps access link, every flow moved from `fw1` to `fw2` mid-run).

use base::Dur;
use models::switch::UpdateLatency;

use super::{FigureSpec, PlotKind, Point, Target};
use crate::config::{NodeKind, ScenarioConfig};
use crate::testkit::reroute_pair;

pub const TARGET: Target = Target {
    name: "baseline",
    description:
        "the `reroute` baseline: lost updates vs load, move duration vs switch update model",
    figures,
    computed: None,
};

/// Offered loads of `baseline/lost-updates` (fraction of the 10 Gbps access link).
const LOADS: [f64; 5] = [0.1, 0.3, 0.5, 0.7, 0.9];
/// Load of `baseline/move-duration`.
const MOVE_LOAD: f64 = 0.5;

/// Seeds per point and run length: the move happens at half the duration.
fn scale(quick: bool) -> (u32, Dur) {
    if quick {
        (4, Dur::from_millis(50))
    } else {
        (20, Dur::from_millis(200))
    }
}

fn pair(load: f64, replications: u32, duration: Dur) -> ScenarioConfig {
    let mut cfg =
        reroute_pair(Some(load), duration, Some(Dur::from_nanos(duration.as_nanos() / 2)));
    cfg.replications = replications;
    cfg.seed = 1;
    cfg
}

/// The switch `s1` of `reroute_pair` with another rule-update model.
fn with_update(mut cfg: ScenarioConfig, update: UpdateLatency) -> ScenarioConfig {
    for n in &mut cfg.nodes {
        if let NodeKind::Switch(s) = &mut n.kind {
            s.config.update = update.clone();
        }
    }
    cfg
}

fn figures(quick: bool) -> Vec<FigureSpec> {
    let (reps, duration) = scale(quick);
    let lost = FigureSpec {
        id: "baseline/lost-updates".into(),
        title: "reroute: updates lost by a mid-run move vs load".into(),
        x_name: "load".into(),
        x_label: "offered load (fraction of 10 Gbps)".into(),
        y_label: "count per run".into(),
        plot: PlotKind::Lines,
        metrics: vec!["lost_updates".into(), "state_mismatch_flows".into()],
        points: LOADS
            .iter()
            .map(|&l| Point {
                series: "reroute".into(),
                x: l.to_string(),
                config: pair(l, reps, duration),
            })
            .collect(),
    };
    let models =
        [("hardware", UpdateLatency::e2_hardware()), ("software", UpdateLatency::e2_software())];
    let duration_fig = FigureSpec {
        id: "baseline/move-duration".into(),
        title: format!("reroute: move duration vs switch update model (load {MOVE_LOAD})"),
        x_name: "switch_update".into(),
        x_label: "switch rule-update model".into(),
        y_label: "move duration (ms)".into(),
        plot: PlotKind::Bars,
        metrics: vec!["move_duration_ms".into()],
        points: models
            .into_iter()
            .map(|(name, u)| Point {
                series: "reroute".into(),
                x: name.into(),
                config: with_update(pair(MOVE_LOAD, reps, duration), u),
            })
            .collect(),
    };
    vec![lost, duration_fig]
}
