//! Sizing (step 2) and the pGraph -> iGraph conversion with affinity-respecting splits
//! (step 3, Figure 4).

use std::collections::BTreeMap;

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::Direction;
use thiserror::Error;

use super::hardware::{AffinityKey, NfCatalog};
use super::policy::{PGraph, PNodeKind};

#[derive(Debug, Error, PartialEq)]
pub enum SizingError {
    #[error("NF {nf} has type {nf_type}, which no NF description names")]
    UnknownNfType { nf: String, nf_type: String },
    #[error("NF {nf} cannot be replicated but its load {load_bps} bps exceeds one core ({per_core_bps} bps)")]
    NotReplicable { nf: String, load_bps: f64, per_core_bps: u64 },
}

/// How many instances one NF gets.
#[derive(Clone, Debug, PartialEq)]
pub struct NfSize {
    pub load_bps: f64,
    pub per_core_bps: u64,
    pub instances: usize,
}

/// Step 2: "E2 uses the initial estimate of the load on a NF (sum of all incoming traffic
/// streams), and its per-core capacity from the NF description, to determine how many
/// instances (running on separate cores) should be allocated to it."
///
/// `instances = max(1, ceil(load / per_core))`; an edge without a `bw` annotation counts 0.
pub fn size(pg: &PGraph, catalog: &NfCatalog) -> Result<BTreeMap<NodeIndex, NfSize>, SizingError> {
    let mut out = BTreeMap::new();
    for n in pg.graph.node_indices() {
        let PNodeKind::Nf { nf_type } = &pg.graph[n].kind else { continue };
        let name = &pg.graph[n].name;
        let desc = catalog.types.get(nf_type).ok_or_else(|| SizingError::UnknownNfType {
            nf: name.clone(),
            nf_type: nf_type.clone(),
        })?;
        let load_bps: f64 = pg
            .graph
            .edges_directed(n, Direction::Incoming)
            .map(|e| e.weight().bw_bps.unwrap_or(0) as f64)
            .sum();
        let instances = instances_for(load_bps, desc.per_core_bps);
        if instances > 1 && !desc.replicable {
            return Err(SizingError::NotReplicable {
                nf: name.clone(),
                load_bps,
                per_core_bps: desc.per_core_bps,
            });
        }
        out.insert(n, NfSize { load_bps, per_core_bps: desc.per_core_bps, instances });
    }
    Ok(out)
}

/// `max(1, ceil(load / per_core))`, with loads within one part in 1e9 of a multiple rounding
/// down (a load of exactly 3 cores' worth needs 3 cores, whatever the float summation did).
pub fn instances_for(load_bps: f64, per_core_bps: u64) -> usize {
    let cores = load_bps / per_core_bps as f64;
    ((cores - 1e-9).ceil() as usize).max(1)
}

/// One end of an iGraph edge.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Instance(usize),
    /// A switch port group (never placed on a server).
    Port(NodeIndex),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// The pGraph node this is an instance of.
    pub nf: NodeIndex,
    /// `<nf name>#<replica>`.
    pub name: String,
    pub replica: usize,
    pub load_bps: f64,
    pub per_core_bps: f64,
}

/// How the traffic of an iGraph edge is selected at its source.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Figure 4(b)/(c): the source hashes on the downstream NF's split key and spreads evenly.
    Hash(AffinityKey),
    /// Figure 4(d): no reclassification; the upstream instance's traffic already satisfies the
    /// downstream affinity.
    Direct,
    /// Only one destination: everything goes there.
    All,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IEdge {
    pub from: Endpoint,
    pub to: Endpoint,
    pub rate_bps: f64,
    pub dist: Distribution,
    /// The pGraph edge this came from.
    pub pedge: EdgeIndex,
}

/// The instance graph. Edges into `Drop` are left out: dropped traffic costs no link.
#[derive(Clone, Debug, PartialEq)]
pub struct IGraph {
    pub instances: Vec<Instance>,
    pub edges: Vec<IEdge>,
    /// Traffic entering from switch ports, at the load estimate.
    pub input_bps: f64,
    /// The key each NF's instances are actually partitioned on (its own split key, or the
    /// upstream's when directly connected).
    pub grouping: BTreeMap<NodeIndex, AffinityKey>,
}

impl IGraph {
    /// Step 3: "Converting the pGraph to an iGraph."
    pub fn build(pg: &PGraph, catalog: &NfCatalog) -> Result<IGraph, SizingError> {
        let sizes = size(pg, catalog)?;
        let g = &pg.graph;
        let mut instances = vec![];
        let mut first: BTreeMap<NodeIndex, usize> = BTreeMap::new();
        for (&n, s) in &sizes {
            first.insert(n, instances.len());
            for r in 0..s.instances {
                instances.push(Instance {
                    nf: n,
                    name: format!("{}#{r}", g[n].name),
                    replica: r,
                    load_bps: s.load_bps / s.instances as f64,
                    per_core_bps: s.per_core_bps as f64,
                });
            }
        }
        let affinity = |n: NodeIndex| match &g[n].kind {
            PNodeKind::Nf { nf_type } => Some(catalog.types[nf_type].affinity),
            _ => None,
        };

        // Decide, per NF, whether its input can be wired directly (Figure 4(d)), in an order
        // where upstream NFs come first when the graph allows (cycles across pipelets are
        // broken by visiting in node order; such a NF just keeps its own split).
        let order =
            petgraph::algo::toposort(g, None).unwrap_or_else(|_| g.node_indices().collect());
        let mut grouping: BTreeMap<NodeIndex, AffinityKey> = BTreeMap::new();
        let mut direct_from: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        for &v in &order {
            let Some(aff) = affinity(v) else { continue };
            let mut ups: Vec<NodeIndex> = g.neighbors_directed(v, Direction::Incoming).collect();
            ups.sort();
            ups.dedup();
            // "node B from the previous example is preceded by node A that groups traffic by
            // source IP addresses. If the affinity constraint for A already satisfies the
            // affinity constraint for B, E2 does not need to reclassify the outputs from A's
            // instances, and instead can create direct connections as in Figure 4(d)."
            // Only when A is B's sole upstream: packets of one aggregate arriving from two
            // upstream NFs would otherwise not be kept together.
            let direct = match ups.as_slice() {
                [u] if affinity(*u).is_some() => {
                    grouping.get(u).filter(|k| aff.satisfied_by_split_on(k)).copied()
                }
                _ => None,
            };
            match direct {
                Some(k) => {
                    grouping.insert(v, k);
                    direct_from.insert(v, ups[0]);
                }
                None => {
                    grouping.insert(v, aff.split_key());
                }
            }
        }

        let count = |n: NodeIndex| sizes.get(&n).map_or(1, |s| s.instances);
        let endpoint = |n: NodeIndex, i: usize| match g[n].kind {
            PNodeKind::Nf { .. } => Endpoint::Instance(first[&n] + i),
            _ => Endpoint::Port(n),
        };
        let mut edges = vec![];
        let mut input_bps = 0.0;
        let mut pedges: Vec<EdgeIndex> = g.edge_indices().collect();
        pedges.sort();
        for e in pedges {
            let (u, v) = g.edge_endpoints(e).expect("invariant: edge of this graph");
            let rate = g[e].bw_bps.unwrap_or(0) as f64;
            if matches!(g[u].kind, PNodeKind::Port { .. }) {
                input_bps += rate;
            }
            if g[v].kind == PNodeKind::Drop {
                continue;
            }
            let (nu, nv) = (count(u), count(v));
            if nv == 1 {
                for i in 0..nu {
                    edges.push(IEdge {
                        from: endpoint(u, i),
                        to: endpoint(v, 0),
                        rate_bps: rate / nu as f64,
                        dist: Distribution::All,
                        pedge: e,
                    });
                }
            } else if direct_from.get(&v) == Some(&u) {
                // Lay u's instances and v's on [0, 1) in equal pieces; u_i feeds the v_j it
                // overlaps, in proportion (nu == nv: one-to-one, as drawn in Figure 4(d)).
                // Boundaries on the common scale nu * nv: u_i = [i nv, (i+1) nv).
                for i in 0..nu {
                    for j in 0..nv {
                        let lo = (i * nv).max(j * nu);
                        let hi = ((i + 1) * nv).min((j + 1) * nu);
                        if hi > lo {
                            let share = (hi - lo) as f64 / (nu * nv) as f64;
                            edges.push(IEdge {
                                from: endpoint(u, i),
                                to: endpoint(v, j),
                                rate_bps: rate * share,
                                dist: Distribution::Direct,
                                pedge: e,
                            });
                        }
                    }
                }
            } else {
                // Figure 4(b): "E2 inserts a filter that hashes traffic from A on the 5-tuple and
                // splits it evenly towards B's instances" (on B's split key in general).
                let key = grouping[&v];
                for i in 0..nu {
                    for j in 0..nv {
                        edges.push(IEdge {
                            from: endpoint(u, i),
                            to: endpoint(v, j),
                            rate_bps: rate / (nu * nv) as f64,
                            dist: Distribution::Hash(key),
                            pedge: e,
                        });
                    }
                }
            }
        }
        Ok(IGraph { instances, edges, input_bps, grouping })
    }

    /// The same iGraph with every rate and load multiplied by `k` (the input scaled by `k`,
    /// instance counts unchanged).
    pub fn scaled(&self, k: f64) -> IGraph {
        let mut g = self.clone();
        g.input_bps *= k;
        g.instances.iter_mut().for_each(|i| i.load_bps *= k);
        g.edges.iter_mut().for_each(|e| e.rate_bps *= k);
        g
    }

    /// Instances of the pGraph node `nf`, in replica order.
    pub fn instances_of(&self, nf: NodeIndex) -> Vec<usize> {
        (0..self.instances.len()).filter(|&i| self.instances[i].nf == nf).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::hardware::{Affinity, NfTypeSpec};
    use super::super::policy::{EdgeSpec, NodeSpec, PipeletSpec, PolicySpec};
    use super::*;

    const G: u64 = 1_000_000_000;

    fn chain(
        a_aff: Affinity,
        b_aff: Affinity,
        bw: u64,
        a_rate: u64,
        b_rate: u64,
    ) -> (PGraph, NfCatalog) {
        let spec = PolicySpec {
            nodes: vec![
                NodeSpec::Port { name: "in".into(), first: 0, last: 0 },
                NodeSpec::Port { name: "out".into(), first: 1, last: 1 },
                NodeSpec::Nf { name: "a".into(), nf_type: "A".into() },
                NodeSpec::Nf { name: "b".into(), nf_type: "B".into() },
            ],
            pipelets: vec![PipeletSpec {
                name: "p".into(),
                class: vec![],
                edges: vec![
                    EdgeSpec::new("in", "a").bw(bw),
                    EdgeSpec::new("a", "b").bw(bw),
                    EdgeSpec::new("b", "out").bw(bw),
                ],
            }],
        };
        let cat = NfCatalog::new(&[
            NfTypeSpec {
                name: "A".into(),
                per_core_bps: a_rate,
                affinity: a_aff,
                replicable: true,
            },
            NfTypeSpec {
                name: "B".into(),
                per_core_bps: b_rate,
                affinity: b_aff,
                replicable: true,
            },
        ])
        .unwrap();
        (PGraph::merge(&spec).unwrap(), cat)
    }

    #[test]
    fn sizing_is_the_ceiling_of_load_over_per_core_rate() {
        // 10 Gbps into A at 3 Gbps per core: 3.33 -> 4 cores; into B at 2.5 Gbps: exactly 4.
        let (pg, cat) = chain(Affinity::None, Affinity::None, 10 * G, 3 * G, 2_500_000_000);
        let s = size(&pg, &cat).unwrap();
        let a = &s[&pg.node("a").unwrap()];
        let b = &s[&pg.node("b").unwrap()];
        assert_eq!((a.instances, b.instances), (4, 4));
        assert_eq!(a.load_bps, 10e9);
        assert_eq!(instances_for(0.0, G), 1);
        // Over a multiple by more than the 1e-9-core rounding allowance: one more core.
        assert_eq!(instances_for(2.000_01e9, G), 3);
        assert_eq!(instances_for(2e9 + 1e-3, G), 2);
    }

    #[test]
    fn a_non_replicable_nf_over_one_core_is_an_error() {
        let (pg, mut cat) = chain(Affinity::None, Affinity::None, 10 * G, 3 * G, 20 * G);
        cat.types.get_mut("A").unwrap().replicable = false;
        assert!(matches!(size(&pg, &cat), Err(SizingError::NotReplicable { .. })));
    }

    #[test]
    fn a_flow_affinity_downstream_of_a_destination_split_gets_a_full_hash_mesh() {
        // Figure 4(b)/(c): A splits on the 5-tuple, B needs source-IP affinity. One source's
        // flows are spread over A's instances, so A's outputs must be rehashed for B.
        let (pg, cat) = chain(
            Affinity::Key(AffinityKey::FIVE_TUPLE),
            Affinity::Key(AffinityKey::SRC_IP),
            12 * G,
            4 * G,
            4 * G,
        );
        let ig = IGraph::build(&pg, &cat).unwrap();
        let ab: Vec<&IEdge> = ig
            .edges
            .iter()
            .filter(|e| pg.edge_ref(e.pedge).from == "a" && pg.edge_ref(e.pedge).to == "b")
            .collect();
        assert_eq!(ab.len(), 3 * 3);
        assert!(ab.iter().all(|e| e.dist == Distribution::Hash(AffinityKey::SRC_IP)));
        assert!(ab.iter().all(|e| (e.rate_bps - 12e9 / 9.0).abs() < 1.0));
        // Every B instance still receives a third of the traffic.
        for j in ig.instances_of(pg.node("b").unwrap()) {
            let got: f64 =
                ab.iter().filter(|e| e.to == Endpoint::Instance(j)).map(|e| e.rate_bps).sum();
            assert!((got - 4e9).abs() < 1.0, "{got}");
        }
    }

    #[test]
    fn figure_4d_a_source_ip_split_feeds_flow_affinity_instances_directly() {
        // A groups by source IP, B needs the 5-tuple: A_i -> B_i, no mesh.
        let (pg, cat) = chain(
            Affinity::Key(AffinityKey::SRC_IP),
            Affinity::Key(AffinityKey::FIVE_TUPLE),
            12 * G,
            4 * G,
            4 * G,
        );
        let ig = IGraph::build(&pg, &cat).unwrap();
        let (a, b) = (pg.node("a").unwrap(), pg.node("b").unwrap());
        let ab: Vec<&IEdge> =
            ig.edges.iter().filter(|e| pg.graph.edge_endpoints(e.pedge) == Some((a, b))).collect();
        assert_eq!(ab.len(), 3);
        let (ai, bi) = (ig.instances_of(a), ig.instances_of(b));
        for k in 0..3 {
            assert_eq!(
                (ab[k].from, ab[k].to),
                (Endpoint::Instance(ai[k]), Endpoint::Instance(bi[k]))
            );
            assert_eq!(ab[k].dist, Distribution::Direct);
        }
        assert_eq!(ig.grouping[&b], AffinityKey::SRC_IP);
    }

    #[test]
    fn direct_connections_with_unequal_counts_keep_every_instance_evenly_loaded() {
        // 12 Gbps: A at 4 Gbps/core -> 3 instances, B at 2.5 Gbps/core -> 5 instances. The
        // interval mapping needs at most 3 + 5 - 1 = 7 edges instead of 15.
        let (pg, cat) = chain(
            Affinity::Key(AffinityKey::SRC_IP),
            Affinity::Key(AffinityKey::FIVE_TUPLE),
            12 * G,
            4 * G,
            2_500_000_000,
        );
        let ig = IGraph::build(&pg, &cat).unwrap();
        let (a, b) = (pg.node("a").unwrap(), pg.node("b").unwrap());
        let ab: Vec<&IEdge> =
            ig.edges.iter().filter(|e| pg.graph.edge_endpoints(e.pedge) == Some((a, b))).collect();
        assert!(ab.len() <= 7, "{}", ab.len());
        for j in ig.instances_of(b) {
            let got: f64 =
                ab.iter().filter(|e| e.to == Endpoint::Instance(j)).map(|e| e.rate_bps).sum();
            assert!((got - 12e9 / 5.0).abs() < 1.0, "{got}");
        }
        for i in ig.instances_of(a) {
            let sent: f64 =
                ab.iter().filter(|e| e.from == Endpoint::Instance(i)).map(|e| e.rate_bps).sum();
            assert!((sent - 4e9).abs() < 1.0, "{sent}");
        }
    }

    #[test]
    fn ingress_is_hashed_by_the_switch_and_counted_as_input() {
        let (pg, cat) = chain(Affinity::None, Affinity::None, 8 * G, 4 * G, 8 * G);
        let ig = IGraph::build(&pg, &cat).unwrap();
        assert_eq!(ig.input_bps, 8e9);
        let from_port = ig.edges.iter().filter(|e| matches!(e.from, Endpoint::Port(_))).count();
        assert_eq!(from_port, 2);
        assert_eq!(ig.instances.len(), 3);
    }
}
