//! Egret's mask composition under random job sequences (the property test): on every
//! anchor, after every operation, the deployed weights sum to exactly 100% with none negative,
//! failed ports get nothing, a drained target gets nothing, and reverting every mask (with the
//! ports back up) restores the base exactly. The last test drives the same through `Egret`'s
//! API on two anchors.

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

// The same invariants through Egret's API, over a NIB with two anchors (a load balancer of
// four firewalls and a DNS server of four zones with two services): intents by name, updates,
// reverts, links going down and up.

use base::Time;
use models::egret::{Egret, Intent, Nib, NodeType};

#[derive(Clone, Debug)]
enum ApiOp {
    Add { anchor: usize, target: usize, peers: Vec<usize>, filter: Option<u32> },
    Update { pick: usize, target: usize },
    Revert { pick: usize },
    Link { anchor: usize, child: usize, up: bool },
}

const ANCHORS: [(&str, [&str; 4]); 2] =
    [("lb", ["fw1", "fw2", "fw3", "fw4"]), ("dns", ["NZ1", "NZ2", "NZ3", "NZ4"])];

fn api_op() -> impl Strategy<Value = ApiOp> {
    prop_oneof![
        4 => (0usize..2, 0usize..4, proptest::collection::vec(0usize..4, 0..3), proptest::option::of(0u32..2))
            .prop_map(|(anchor, target, peers, filter)| ApiOp::Add { anchor, target, peers, filter }),
        1 => (0usize..8, 0usize..4).prop_map(|(pick, target)| ApiOp::Update { pick, target }),
        2 => (0usize..8).prop_map(|pick| ApiOp::Revert { pick }),
        1 => (0usize..2, 0usize..4, any::<bool>()).prop_map(|(anchor, child, up)| ApiOp::Link { anchor, child, up }),
    ]
}

fn egret() -> Egret {
    let mut nib = Nib::new();
    nib.add("lb", NodeType::LoadBalancer);
    nib.add("dns", NodeType::DnsServer);
    for (a, children) in ANCHORS {
        for c in children {
            let kind =
                if a == "dns" { NodeType::Zone } else { NodeType::Function { stateful: true } };
            nib.add(c, kind);
            nib.link(a, c).unwrap();
        }
    }
    let mut e = Egret::new(nib, ConflictPolicy::Reject);
    e.manage("lb", vec![1, 2, 3, 4]).unwrap();
    e.manage("dns", vec![1, 1, 1, 1]).unwrap();
    e.set_services("dns", &["Phone", "Roaming"]).unwrap();
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn egret_api_keeps_every_anchor_whole(ops in proptest::collection::vec(api_op(), 0..30)) {
        let mut e = egret();
        let initial: Vec<Vec<u32>> =
            ANCHORS.iter().flat_map(|(a, _)| [0, 1].map(|c| e.weights(a, c).unwrap())).collect();
        let mut ids = Vec::new();
        for o in ops {
            match o {
                ApiOp::Add { anchor, target, peers, filter } => {
                    let (_, names) = ANCHORS[anchor];
                    let peers: Vec<&str> = peers.iter().map(|&p| names[p]).collect();
                    let filters: Vec<Filter> = filter.map(Filter::exact).into_iter().collect();
                    let i = Intent::target(names[target]).peers(&peers).filters(&filters);
                    if let Ok(id) = e.add(Time::ZERO, i, None) {
                        ids.push((id, anchor));
                    }
                }
                ApiOp::Update { pick, target } => {
                    if let Some(&(id, anchor)) = ids.get(pick % ids.len().max(1)) {
                        let _ = e.update(id, Intent::target(ANCHORS[anchor].1[target]));
                    }
                }
                ApiOp::Revert { pick } => {
                    if !ids.is_empty() {
                        let (id, _) = ids.remove(pick % ids.len());
                        e.revert(id).unwrap();
                    }
                }
                ApiOp::Link { anchor, child, up } => {
                    let (a, names) = ANCHORS[anchor];
                    e.handle_link(a, names[child], up).unwrap();
                }
            }
            while e.poll_output().is_some() {}
            for (a, _) in ANCHORS {
                let s = e.stack(a).unwrap();
                let any_up = (0..s.ports()).any(|p| s.is_up(p));
                for c in [0, 1] {
                    let sum: u64 = e.weights(a, c).unwrap().iter().map(|&x| x as u64).sum();
                    prop_assert_eq!(sum, if any_up { FULL as u64 } else { 0 });
                }
            }
        }
        for (id, _) in ids {
            e.revert(id).unwrap();
        }
        for (a, names) in ANCHORS {
            for c in names {
                e.handle_link(a, c, true).unwrap();
            }
        }
        let now: Vec<Vec<u32>> =
            ANCHORS.iter().flat_map(|(a, _)| [0, 1].map(|c| e.weights(a, c).unwrap())).collect();
        prop_assert_eq!(now, initial);
    }
}
