//! E2 placement: validity on many random graphs, the local search against brute force on
//! tiny graphs, incremental placement, the throughput simulator on hand-computed cases, and
//! Figure 9's ordering.

use base::{Bps, RngStreams};
use models::e2::fig9::{fig9, generate, igraph_of, GraphKind, Scheme};
use models::e2::hardware::{Rack, RackSpec};
use models::e2::igraph::{Distribution, Endpoint, IEdge, IGraph, Instance};
use models::e2::placement::{
    brute_force_min_cut, inter_server_traffic, place_e2, place_incremental, place_packing,
    place_random, violations, Placement, SearchLimits,
};
use models::e2::throughput::{max_throughput, Bottleneck};
use petgraph::graph::{EdgeIndex, NodeIndex};

const G: f64 = 1e9;

fn rack(servers: u32, cores: u32, nic_gbps: u64) -> Rack {
    Rack::try_from(&RackSpec {
        servers,
        cores_per_server: cores + 1,
        nic_bps: nic_gbps * 1_000_000_000,
        ..RackSpec::e2_rack()
    })
    .unwrap()
}

fn inst(i: usize, load: f64) -> Instance {
    Instance {
        nf: NodeIndex::new(i),
        name: format!("x{i}"),
        replica: 0,
        load_bps: load,
        per_core_bps: 10.0 * G,
    }
}

fn edge(from: Endpoint, to: Endpoint, rate: f64) -> IEdge {
    IEdge { from, to, rate_bps: rate, dist: Distribution::All, pedge: EdgeIndex::new(0) }
}

/// A random iGraph on `n` instances: each ordered pair (a < b) linked with probability 0.4,
/// rate uniform on [0.1, 1) Gbps; one ingress edge into instance 0.
fn random_igraph(seed: u64, n: usize) -> IGraph {
    let mut rng = RngStreams::new(seed).stream("e2/test/tiny-graph");
    let mut edges = vec![edge(Endpoint::Port(NodeIndex::new(999)), Endpoint::Instance(0), G)];
    for a in 0..n {
        for b in a + 1..n {
            if rng.bernoulli(0.4) {
                edges.push(edge(
                    Endpoint::Instance(a),
                    Endpoint::Instance(b),
                    (0.1 + 0.9 * rng.uniform()) * G,
                ));
            }
        }
    }
    IGraph {
        instances: (0..n).map(|i| inst(i, G)).collect(),
        edges,
        input_bps: G,
        grouping: Default::default(),
    }
}

#[test]
fn local_search_reaches_the_brute_force_optimum_on_tiny_graphs() {
    // 5 to 8 instances on 2 or 3 servers of 3 cores: at most 3^8 = 6561 placements to enumerate.
    let mut greedy_misses = 0;
    let mut runs = 0;
    for seed in 0..150u64 {
        let n = 5 + (seed % 4) as usize;
        let servers = 2 + (seed % 2) as u32;
        if n > 3 * servers as usize {
            continue;
        }
        let r = rack(servers, 3, 10);
        let ig = random_igraph(seed, n);
        let opt = brute_force_min_cut(&ig, &r, false).expect("some placement fits");
        let p = place_e2(&ig, &r, false, SearchLimits::default()).unwrap();
        assert!(violations(&ig, &r, &p, false).is_empty());
        let got = inter_server_traffic(&ig, &p);
        // Equal up to float summation order: 1e-9 of the cut.
        assert!(
            got <= opt * (1.0 + 1e-9) + 1.0,
            "seed {seed}: local search {got} vs optimum {opt}"
        );
        let greedy =
            place_e2(&ig, &r, false, SearchLimits { kl_passes: 0, ..SearchLimits::default() })
                .unwrap();
        if inter_server_traffic(&ig, &greedy) > opt * (1.0 + 1e-9) + 1.0 {
            greedy_misses += 1;
        }
        runs += 1;
    }
    assert!(runs >= 100);
    // The paper's greedy descent alone gets stuck sometimes; report it for the record.
    eprintln!("greedy descent with restarts but no KL passes missed the optimum on {greedy_misses} of {runs} tiny graphs");
}

#[test]
fn local_search_with_nic_limits_matches_brute_force_on_tiny_graphs() {
    // A 2.5 Gbps NIC makes some cuts infeasible; the optimum is over valid placements only.
    let mut compared = 0;
    for seed in 0..80u64 {
        let n = 5 + (seed % 3) as usize;
        let r = rack(3, 3, 3);
        let ig = random_igraph(1000 + seed, n);
        let Some(opt) = brute_force_min_cut(&ig, &r, true) else { continue };
        let Ok(p) = place_e2(&ig, &r, true, SearchLimits::default()) else { continue };
        assert!(violations(&ig, &r, &p, true).is_empty(), "seed {seed}");
        let got = inter_server_traffic(&ig, &p);
        assert!(
            got <= opt * (1.0 + 1e-9) + 1.0,
            "seed {seed}: local search {got} vs optimum {opt}"
        );
        compared += 1;
    }
    assert!(compared >= 40, "{compared}");
}

#[test]
fn every_placement_respects_cores_and_nics_on_many_random_graphs() {
    // Section 7.2's rack cut to 6 servers of 15 cores; graphs filled to 60% of the cores.
    let r = rack(6, 15, 10);
    let mut placed = 0;
    for seed in 0..60u64 {
        for kind in GraphKind::ALL {
            // Rates at a quarter of what the cores could take, so that NICs usually allow a
            // placement (the fill alone would oversubscribe them whatever the placement).
            let ig = igraph_of(&generate(kind, seed, &r, 0.6)).scaled(0.25);
            let rand =
                place_random(&ig, &r, &mut RngStreams::new(seed).stream("e2/test/random")).unwrap();
            assert!(
                violations(&ig, &r, &rand, false).is_empty(),
                "Random broke a core limit, seed {seed}"
            );
            let (Ok(pack), Ok(e2)) =
                (place_packing(&ig, &r, true), place_e2(&ig, &r, true, SearchLimits::default()))
            else {
                continue;
            };
            assert!(violations(&ig, &r, &pack, true).is_empty(), "Packing, seed {seed} {kind:?}");
            assert!(violations(&ig, &r, &e2, true).is_empty(), "E2, seed {seed} {kind:?}");
            // The local search starts from the packing and only takes improving steps.
            assert!(
                inter_server_traffic(&ig, &e2) <= inter_server_traffic(&ig, &pack) * (1.0 + 1e-9)
            );
            placed += 1;
        }
    }
    // Most graphs must be placeable at all, or this test checks nothing.
    assert!(placed >= 90, "only {placed} of 120 graphs placed");
}

#[test]
fn incremental_placement_joins_the_heaviest_neighbour_server_and_moves_no_one() {
    // x0 on s0, x1 and x2 on s1; the new x3 talks 1 Gbps to x0 and 3 Gbps to x1 + x2.
    let r = rack(3, 3, 10);
    let mut ig = random_igraph(0, 0);
    ig.edges.clear();
    ig.instances = (0..4).map(|i| inst(i, G)).collect();
    ig.edges.push(edge(Endpoint::Port(NodeIndex::new(9)), Endpoint::Instance(0), G));
    ig.edges.push(edge(Endpoint::Instance(0), Endpoint::Instance(3), G));
    ig.edges.push(edge(Endpoint::Instance(3), Endpoint::Instance(1), 2.0 * G));
    ig.edges.push(edge(Endpoint::Instance(2), Endpoint::Instance(3), G));
    let mut p = Placement { server_of: vec![0, 1, 1] };
    assert_eq!(place_incremental(&ig, &r, &mut p, true), Ok(1));
    assert_eq!(p.server_of, vec![0, 1, 1, 1]);
    // With s1 full, the next best is s0 (1 Gbps), not the empty s2.
    let small = rack(3, 2, 10);
    let mut p = Placement { server_of: vec![0, 1, 1] };
    assert_eq!(place_incremental(&ig, &small, &mut p, true), Ok(0));
}

#[test]
fn throughput_of_a_two_nf_chain_is_the_hand_computed_bottleneck() {
    // in -> a -> b -> out at 4 Gbps; cores 10 Gbps each.
    let chain = |_: ()| IGraph {
        instances: vec![inst(0, 4.0 * G), inst(1, 4.0 * G)],
        edges: vec![
            edge(Endpoint::Port(NodeIndex::new(8)), Endpoint::Instance(0), 4.0 * G),
            edge(Endpoint::Instance(0), Endpoint::Instance(1), 4.0 * G),
            edge(Endpoint::Instance(1), Endpoint::Port(NodeIndex::new(9)), 4.0 * G),
        ],
        input_bps: 4.0 * G,
        grouping: Default::default(),
    };
    let ig = chain(());
    // NIC 5 Gbps: each server sees 4 in and 4 out per 4 of input, whatever the placement:
    // 4 * 5 / 4 = 5 Gbps, the first server's NIC in saturates first.
    let r = rack(2, 2, 5);
    for p in [vec![0, 0], vec![0, 1]] {
        let t = max_throughput(&ig, &r, &Placement { server_of: p });
        assert!((t.input_bps - 5.0 * G).abs() < 1.0, "{t:?}");
        assert_eq!(t.bottleneck, Bottleneck::NicIn { server: 0 });
    }
    // A 10 Gbps switch: together, 8 cross it per 4 of input -> 5 Gbps; apart, 12 -> 3.33.
    let mut r = rack(2, 2, 100);
    r.switch = Bps(10_000_000_000);
    let t = max_throughput(&ig, &r, &Placement { server_of: vec![0, 0] });
    assert!((t.input_bps - 5.0 * G).abs() < 1.0 && t.bottleneck == Bottleneck::Switch, "{t:?}");
    let t = max_throughput(&ig, &r, &Placement { server_of: vec![0, 1] });
    assert!((t.input_bps - 10.0 / 3.0 * G).abs() < 1.0, "{t:?}");
    // Fast links: the 10 Gbps cores cap the input at 10 Gbps.
    let t = max_throughput(&ig, &rack(2, 2, 100), &Placement { server_of: vec![0, 1] });
    assert!(
        (t.input_bps - 10.0 * G).abs() < 1.0 && t.bottleneck == Bottleneck::Core { instance: 0 },
        "{t:?}"
    );
}

#[test]
fn figure_9_puts_e2_ahead_of_both_strawmen() {
    let seeds: Vec<u64> = (1..=5).collect();
    let series = fig9(&seeds);
    assert_eq!(series.len(), 8);
    let mean = |k: GraphKind, s: Scheme| {
        series.iter().find(|x| x.kind == k && x.scheme == s).unwrap().mean_gbps()
    };
    for k in GraphKind::ALL {
        let (e2, pack, rand) =
            (mean(k, Scheme::E2), mean(k, Scheme::Packing), mean(k, Scheme::Random));
        eprintln!("{k:?}: E2 {e2:.1} Gbps, Packing {pack:.1}, Random {rand:.1}; E2/Random {:.2}, Packing/E2 {:.2}", e2 / rand, pack / e2);
        assert!(e2 >= pack * (1.0 - 1e-9), "{k:?}: E2 {e2} < Packing {pack}");
        // E2's search starts from the cut-only placement and keeps the best it finds.
        let cut = mean(k, Scheme::E2CutOnly);
        assert!(e2 >= cut * (1.0 - 1e-9), "{k:?}: E2 {e2} < E2-cut-only {cut}");
        assert!(e2 > rand, "{k:?}: E2 {e2} <= Random {rand}");
        // Packing beats Random on the chain, where depth-first packing is nearly optimal.
        // On the random graph it does not here (28.6 vs 35.4 Gbps over seeds 1-5): it
        // fills half the servers and saturates their NICs while Random spreads over all 24.
        if k == GraphKind::Chain5 {
            assert!(pack > rand, "{k:?}: Packing {pack} <= Random {rand}");
        }
        // The paper reports 2.25-2.59x over Random; ours must at least be clearly ahead.
        assert!(e2 / rand > 1.5, "{k:?}: E2/Random only {}", e2 / rand);
    }
    for s in &series {
        for (seed, gbps, b) in &s.per_seed {
            eprintln!("  {:?} {:?} seed {seed}: {gbps:.1} Gbps ({b:?})", s.kind, s.scheme);
        }
    }
}

#[test]
fn figure_9_is_a_function_of_its_seeds() {
    assert_eq!(fig9(&[7, 8]), fig9(&[7, 8]));
    assert_ne!(fig9(&[7]), fig9(&[8]));
}
