//! Egret's mask composition under random job sequences (the property test): on every
//! anchor, after every operation, the deployed weights sum to exactly 100% with none negative,
//! failed ports get nothing, a drained target gets nothing, and reverting every mask (with the
//! ports back up) restores the base exactly.

use models::egret::{AnchorMask, ConflictPolicy, Filter, MaskId, MaskStack, FULL};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Add {
        target: usize,
        peers: Option<Vec<usize>>,
        weights: bool,
        fraction: u32,
        filter: Option<u32>,
    },
    Update {
        pick: usize,
        target: usize,
        fraction: u32,
    },
    Revert {
        pick: usize,
    },
    Port {
        port: usize,
        up: bool,
    },
    Base {
        weights: Vec<u32>,
    },
}

const PORTS: usize = 5;
const CLASSES: [u32; 3] = [0, 1, 2];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..PORTS, proptest::option::of(proptest::collection::vec(0..PORTS, 1..4)), any::<bool>(),
              prop_oneof![Just(FULL), 0..=FULL], proptest::option::of(0u32..3))
            .prop_map(|(target, peers, weights, fraction, filter)| Op::Add { target, peers, weights, fraction, filter }),
        1 => (0usize..8, 0..PORTS, 0..=FULL).prop_map(|(pick, target, fraction)| Op::Update { pick, target, fraction }),
        2 => (0usize..8).prop_map(|pick| Op::Revert { pick }),
        1 => (0..PORTS, any::<bool>()).prop_map(|(port, up)| Op::Port { port, up }),
        1 => proptest::collection::vec(0u32..100, PORTS).prop_map(|weights| Op::Base { weights }),
    ]
}

fn mask(
    target: usize,
    peers: &Option<Vec<usize>>,
    weights: bool,
    fraction: u32,
    filter: Option<u32>,
) -> AnchorMask {
    let peers = peers.as_ref().map(|p| {
        let mut p: Vec<usize> = p.iter().copied().filter(|&x| x != target).collect();
        p.dedup();
        p
    });
    let peers = peers.filter(|p| !p.is_empty());
    let weights =
        if weights { peers.as_ref().map(|p| (1..=p.len() as u32).collect()) } else { None };
    AnchorMask {
        target,
        peers,
        weights,
        fraction,
        filters: filter.map(Filter::exact).into_iter().collect(),
    }
}

fn check(s: &MaskStack) {
    let any_up = (0..s.ports()).any(|p| s.is_up(p));
    let suspended = s.suspended();
    for c in CLASSES {
        let w = s.weights(c);
        let sum: u64 = w.iter().map(|&x| x as u64).sum();
        assert_eq!(sum, if any_up { FULL as u64 } else { 0 }, "class {c}: {w:?}");
        for (p, &x) in w.iter().enumerate() {
            if !s.is_up(p) {
                assert_eq!(x, 0, "down port {p} gets traffic: {w:?}");
            }
        }
        for (id, m) in s.masks() {
            let applies = m.filters.is_empty() || m.filters.iter().any(|f| f.matches(c));
            if applies && m.fraction == FULL && !suspended.contains(&id) {
                assert_eq!(
                    w[m.target], 0,
                    "class {c}: drained target {} gets {w:?} (mask {id:?})",
                    m.target
                );
            }
        }
    }
}

fn run(policy: ConflictPolicy, base: Vec<u32>, ops: Vec<Op>) {
    let Ok(mut s) = MaskStack::new(base.clone(), policy) else { return };
    let mut declared = base;
    let mut next = 1;
    for o in ops {
        let ids: Vec<MaskId> = s.masks().map(|(id, _)| id).collect();
        match o {
            Op::Add { target, peers, weights, fraction, filter } => {
                if s.add(MaskId(next), mask(target, &peers, weights, fraction, filter), None)
                    .is_ok()
                {
                    next += 1;
                }
            }
            Op::Update { pick, target, fraction } => {
                if let Some(&id) = ids.get(pick % ids.len().max(1)) {
                    let _ = s.update(id, mask(target, &None, false, fraction, None));
                }
            }
            Op::Revert { pick } => {
                if let Some(&id) = ids.get(pick % ids.len().max(1)) {
                    s.revert(id).unwrap();
                }
            }
            Op::Port { port, up } => s.set_port_up(port, up).unwrap(),
            Op::Base { weights } => {
                if s.set_base(weights.clone()).is_ok() {
                    declared = weights;
                }
            }
        }
        check(&s);
    }
    let ids: Vec<MaskId> = s.masks().map(|(id, _)| id).collect();
    for id in ids {
        s.revert(id).unwrap();
        check(&s);
    }
    for p in 0..PORTS {
        s.set_port_up(p, true).unwrap();
    }
    let fresh = MaskStack::new(declared, policy).unwrap();
    for c in CLASSES {
        assert_eq!(s.weights(c), fresh.weights(c), "reverting every mask must restore the base");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn masks_keep_weights_whole_reject(base in proptest::collection::vec(0u32..100, PORTS), ops in proptest::collection::vec(op(), 0..40)) {
        run(ConflictPolicy::Reject, base, ops);
    }

    #[test]
    fn masks_keep_weights_whole_alternative(base in proptest::collection::vec(0u32..100, PORTS), ops in proptest::collection::vec(op(), 0..40)) {
        run(ConflictPolicy::Alternative, base, ops);
    }
}
