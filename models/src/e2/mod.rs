//! # E2 (Palkar et al., SOSP 2015): policy, sizing, the iGraph, placement, dynamic scaling
//!
//! The algorithmic core of E2's control plane (sections 3-5, 7.2 and the appendix). Pure
//! functions over plain data, and sans-IO machines for scaling; no clock, no I/O.
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
//! Scenario files: the `[e2]` table (`scenarios/src/spec/e2.rs`, reference in
//! `docs/scenarios.md`, example `scenarios/e2/e2_policy.toml`) is checked into these types;
//! `nftwin e2 place FILE` prints the pGraph, sizing, iGraph and placement.
//!
//! ```toml
//! [[e2.nf_type]]
//! name = "FW"
//! per_core_rate = "3Gbps"
//! affinity = "5-tuple"   # or "none", or fields joined by `+`: "src_ip/24+dst_port"
//! replicable = true
//!
//! [[e2.node]]            # NodeSpec::Nf
//! name = "f"
//! nf_type = "FW"
//! [[e2.node]]            # NodeSpec::Port
//! name = "int"
//! ports = [0, 7]
//!
//! [[e2.pipelet]]
//! name = "outbound"
//! class = [{ attr = "in_port", in = ["int"] }]
//! edges = [
//!   { from = "int", to = "f", filter = [{ attr = "dst_port", in = [80] }], bw = "2Gbps" },
//!   { from = "int", to = "Drop", filter = [{ attr = "dst_port", not_in = [80] }] },
//!   { from = "f", to = "Drop", filter_in = "prio0" },
//! ]
//!
//! [e2.rack]              # RackSpec; omitted keys take RackSpec::e2_rack()'s values
//! servers = 24
//! cores_per_server = 16
//! reserved_cores = 1
//! nic = "10Gbps"
//! external_ports = 24
//! port = "10Gbps"
//! flow_table_entries = 2048
//! ```
//!
//! Dynamic scaling (sections 5.3-5.4): [`scaling::OverloadDetector`] watches an instance's
//! queue wait and signals overload; [`migration`] splits the instance with migration avoidance
//! (range filters and exceptions in the E2D, pushed to the hardware switch once few exceptions
//! remain) or with the strawmen never-migrate and always-migrate. Both are sans-IO machines;
//! `scenarios::reproduce::e2_split` drives them for Figures 10 and 11.
//!
//! Not here (later work on this module): Figure 12.

pub mod avoidance;
pub mod fig9;
pub mod hardware;
pub mod igraph;
pub mod migration;
pub mod placement;
pub mod policy;
pub mod scaling;
pub mod throughput;
