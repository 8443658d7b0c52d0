//! # E2 (Palkar et al., SOSP 2015): policy, sizing, the iGraph, placement, Figure 9
//!
//! The algorithmic core of E2's control plane (sections 3-5, 7.2 and the appendix). Pure
//! functions over plain data; no time, no I/O.
//!
//! ```text
//!  PolicySpec ──PGraph::merge──► PGraph ──IGraph::build(NfCatalog)──► IGraph ──place_*(Rack)──► Placement
//!  (pipelets)   (union, ambiguity       (sizing: instances per NF,          (E2 local search,     │
//!                check, disambiguation)  affinity-respecting splits,         Random, Packing,      ▼
//!                                        Figure 4(d) direct connections)     incremental)  max_throughput
//! ```
//!
//! - **Inputs**: a [`policy::PolicySpec`] (nodes, pipelets with traffic classes, edges with
//!   filters and optional bandwidth), [`hardware::NfTypeSpec`]s (per-core rate, affinity,
//!   replicable) and a [`hardware::RackSpec`] (servers, cores, NICs, ports, flow table, rule
//!   update latencies; [`hardware::RackSpec::e2_rack`] is section 7.2's rack).
//! - **Outputs**: the pGraph (or the offending edges), the sized iGraph, a placement, the
//!   maximum throughput and its bottleneck, and [`fig9::fig9`]'s series.
//! - **Invariants**: every placement uses at most `nf_cores` instances per server; E2's and
//!   Packing's, with `enforce_nic`, keep every NIC within its rate at the load estimate; the
//!   local search never increases the inter-server traffic of its starting packing; every
//!   result depends only on its inputs and seeds (no hash-map order reaches an output).
//!
//! Not here (later work on this module): migration avoidance in the simulator, dynamic
//! scaling, `nftwin reproduce e2`.

pub mod fig9;
pub mod hardware;
pub mod igraph;
pub mod placement;
pub mod policy;
pub mod throughput;
