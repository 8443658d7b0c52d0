//! What E2 does with a policy file (`nftwin e2 place FILE`): the pGraph after the ambiguity
//! check, sizing (step 2), the iGraph (step 3) and a placement (step 4) with its inter-server
//! traffic and maximum throughput. Plain text; deterministic (the Random strategy draws from
//! the stream `e2/placement/random/policy/<seed>`).

use std::fmt::Write;

use base::RngStreams;
use models::e2::hardware::{Affinity, AffinityKey};
use models::e2::igraph::{size, Distribution, Endpoint, IGraph};
use models::e2::placement::{
    inter_server_traffic, place_e2, place_packing, place_random, violations, Placement,
    PlacementError, SearchLimits,
};
use models::e2::policy::PNodeKind;
use models::e2::throughput::{max_throughput, Bottleneck};

use crate::spec::e2::E2Config;

/// Which placement algorithm to run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Section 5.1's local search (NIC limits enforced at the load estimate).
    E2,
    /// Section 7.2's strawman: depth-first packing (NIC limits enforced).
    Packing,
    /// Section 7.2's strawman: uniformly random servers with a free core.
    Random,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::E2, Strategy::Packing, Strategy::Random];
    pub fn name(self) -> &'static str {
        match self {
            Strategy::E2 => "e2",
            Strategy::Packing => "packing",
            Strategy::Random => "random",
        }
    }
}

/// Places the iGraph of `cfg` with `strategy`.
pub fn place(cfg: &E2Config, strategy: Strategy, seed: u64) -> Result<Placement, PlacementError> {
    let ig = &cfg.igraph;
    match strategy {
        Strategy::E2 => place_e2(ig, &cfg.rack, true, SearchLimits::default()),
        Strategy::Packing => place_packing(ig, &cfg.rack, true),
        Strategy::Random => {
            let mut rng =
                RngStreams::new(seed).stream(&format!("e2/placement/random/policy/{seed}"));
            place_random(ig, &cfg.rack, &mut rng)
        }
    }
}

fn gbps(bps: f64) -> String {
    format!("{:.3} Gbps", bps / 1e9)
}

fn affinity(a: &Affinity) -> String {
    match a {
        Affinity::None => "none".into(),
        Affinity::Key(k) => key(k),
    }
}

fn key(k: &AffinityKey) -> String {
    if *k == AffinityKey::FIVE_TUPLE {
        return "5-tuple".into();
    }
    let mut parts = vec![];
    for (len, f) in [(k.src_prefix, "src_ip"), (k.dst_prefix, "dst_ip")] {
        match len {
            0 => {}
            32 => parts.push(f.to_string()),
            l => parts.push(format!("{f}/{l}")),
        }
    }
    for (on, f) in [(k.src_port, "src_port"), (k.dst_port, "dst_port"), (k.proto, "proto")] {
        if on {
            parts.push(f.to_string());
        }
    }
    if parts.is_empty() {
        "everything together".into()
    } else {
        parts.join("+")
    }
}

fn endpoint(ig: &IGraph, cfg: &E2Config, e: Endpoint) -> String {
    match e {
        Endpoint::Instance(i) => ig.instances[i].name.clone(),
        Endpoint::Port(n) => format!("port {}", cfg.pgraph.graph[n].name),
    }
}

/// The pGraph, sizing and iGraph of `cfg`, then one placement per strategy.
pub fn report(cfg: &E2Config, strategies: &[Strategy], seed: u64) -> String {
    let mut o = String::new();
    let pg = &cfg.pgraph;
    let g = &pg.graph;
    let _ = writeln!(o, "{}", cfg.summary());
    let _ = writeln!(
        o,
        "\npGraph (appendix: pipelets merged; ambiguous edges narrowed to their pipelet's class):"
    );
    for e in g.edge_indices() {
        let r = pg.edge_ref(e);
        let w = &g[e];
        let bw = w.bw_bps.map_or_else(|| "-".to_string(), |b| gbps(b as f64));
        let narrowed = if w.disambiguated { " (class added)" } else { "" };
        let _ = writeln!(
            o,
            "  {} -> {}  [{}]{}  bw {}  ({} edge {})",
            r.from, r.to, w.filter, narrowed, bw, r.pipelet, r.index
        );
    }
    let _ = writeln!(o, "\nsizing (step 2: load = sum of incoming bw; instances = max(1, ceil(load / per-core rate))):");
    let sizes = size(pg, &cfg.catalog).expect("invariant: sized when the file was checked");
    for (n, s) in &sizes {
        let PNodeKind::Nf { nf_type } = &g[*n].kind else { continue };
        let t = &cfg.catalog.types[nf_type];
        let split = cfg.igraph.grouping.get(n).map_or_else(|| "-".to_string(), key);
        let _ = writeln!(
            o,
            "  {} ({}): load {}, per core {}, {} instance(s); affinity {}, split on {}{}",
            g[*n].name,
            nf_type,
            gbps(s.load_bps),
            gbps(s.per_core_bps as f64),
            s.instances,
            affinity(&t.affinity),
            split,
            if t.replicable { "" } else { ", not replicable" },
        );
    }
    let ig = &cfg.igraph;
    let _ = writeln!(
        o,
        "\niGraph (step 3): {} instances, {} edges, input {}",
        ig.instances.len(),
        ig.edges.len(),
        gbps(ig.input_bps)
    );
    for e in &ig.edges {
        let dist = match e.dist {
            Distribution::Hash(k) => format!("hash on {}", key(&k)),
            Distribution::Direct => "direct (Figure 4(d))".into(),
            Distribution::All => "all".into(),
        };
        let _ = writeln!(
            o,
            "  {} -> {}  {}  {}",
            endpoint(ig, cfg, e.from),
            endpoint(ig, cfg, e.to),
            gbps(e.rate_bps),
            dist
        );
    }
    let rack = &cfg.rack;
    for &s in strategies {
        let _ = writeln!(
            o,
            "\nplacement (step 4, {}; rack: {} servers x {} NF cores, NIC {}):",
            s.name(),
            rack.servers,
            rack.nf_cores,
            gbps(rack.nic.0 as f64)
        );
        let p = match place(cfg, s, seed) {
            Ok(p) => p,
            Err(e) => {
                let _ = writeln!(o, "  cannot place: {e}");
                continue;
            }
        };
        let mut on: Vec<Vec<&str>> = vec![vec![]; rack.servers];
        for (i, &srv) in p.server_of.iter().enumerate() {
            on[srv].push(&ig.instances[i].name);
        }
        let mut empty = 0;
        for (srv, names) in on.iter().enumerate() {
            if names.is_empty() {
                empty += 1;
            } else {
                let _ = writeln!(o, "  server {srv}: {}", names.join(" "));
            }
        }
        if empty > 0 {
            let _ = writeln!(o, "  ({empty} servers unused)");
        }
        let _ = writeln!(o, "  inter-server traffic: {}", gbps(inter_server_traffic(ig, &p)));
        let v = violations(ig, rack, &p, true);
        if !v.is_empty() {
            let _ = writeln!(o, "  over a limit at the load estimate on {} server(s)", v.len());
        }
        if ig.input_bps > 0.0 {
            let t = max_throughput(ig, rack, &p);
            let b = match t.bottleneck {
                Bottleneck::Core { instance } => format!("core of {}", ig.instances[instance].name),
                Bottleneck::NicIn { server } => format!("NIC into server {server}"),
                Bottleneck::NicOut { server } => format!("NIC out of server {server}"),
                Bottleneck::ExternalIn => "external ports (in)".into(),
                Bottleneck::ExternalOut => "external ports (out)".into(),
                Bottleneck::Switch => "switch".into(),
            };
            let _ = writeln!(
                o,
                "  max throughput: {} ({:.3} x the estimate), first to saturate: {b}",
                gbps(t.input_bps),
                t.scale
            );
        }
    }
    o
}
