//! E2 section 5.4 in the split experiment: migration avoidance keeps affinity (the oracle
//! finds no lost or reordered update and no flow migrates), balances the load, and the
//! strawmen behave as the paper describes.

use base::{Dur, Time};
use models::e2::migration::{SplitPhase, Strategy};
use scenarios::reproduce::e2_split::{run, SplitExperiment, SplitResult};

fn summary(r: &SplitResult) -> String {
    format!(
        "phases {:?}\nflows {} at split {} max_exc {} max_hw {} failed {} raced {} moved {} pause {:?} held {}\n\
         oracle lost {} reord {} dup {} mismatch {} delivered {} sent {}\n\
         imb 6-8s {:.1} last2s {:.1} balanced_from {:?} lat pre {:.2} during {:.2}",
        r.phases,
        r.flows,
        r.flows_at_split,
        r.max_exceptions,
        r.max_hw_rules,
        r.hw_rules_failed,
        r.raced_flows,
        r.flows_moved,
        r.pause,
        r.held_pkts,
        r.oracle.lost_updates,
        r.oracle.reordered_updates,
        r.oracle.duplicate_outputs,
        r.oracle.state_mismatch,
        r.oracle.delivered,
        r.oracle.sent,
        r.imbalance_pct(Time::ZERO + Dur::from_secs(6), Time::ZERO + Dur::from_secs(8)),
        r.imbalance_pct(
            Time::ZERO + Dur::from_secs(r.bins.len() as u64 / 10 - 2),
            Time::ZERO + Dur::from_secs(r.bins.len() as u64 / 10)
        ),
        r.balanced_from(10.0),
        r.mean_latency_us(Time::ZERO, Time::ZERO + Dur::from_secs(2)),
        r.mean_latency_us(Time::ZERO + Dur::from_secs(2), Time::ZERO + Dur::from_secs(8)),
    )
}

#[test]
#[ignore]
fn explore() {
    for s in Strategy::ALL {
        let r = run(&SplitExperiment::paper(s, 1, Dur::from_secs(20)));
        println!("== {}\n{}", s.name(), summary(&r));
    }
}
