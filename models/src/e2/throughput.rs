//! The maximum cluster-wide throughput of a placed iGraph (section 7.2): "the maximum
//! cluster-wide throughput that a rackscale E2 system ... could sustain before *any* component
//! - cores, server links, or switch capacity - of the system is saturated".
//!
//! Model (fluid, linear): every rate in the iGraph scales with the input. With the iGraph's
//! rates at its estimate `input_bps`, the input can grow by the largest factor `k` such that
//! - each instance's load stays within its core's rate (one instance per core);
//! - each server's NIC, in each direction (full duplex), carries at most `rack.nic`: in =
//!   edges into its instances from ports or other servers, out = the reverse;
//! - the external ports carry the input (and the output) within `external_ports x port`;
//! - the switch carries every edge that crosses it (port or inter-server) within `rack.switch`.
//!
//! Traffic between instances on one server stays in its software dataplane and costs no link
//! (E2D's own core is reserved and not modelled as a limit).

use super::hardware::Rack;
use super::igraph::{Endpoint, IGraph};
use super::placement::Placement;

/// What saturates first.
#[derive(Clone, Debug, PartialEq)]
pub enum Bottleneck {
    Core { instance: usize },
    NicIn { server: usize },
    NicOut { server: usize },
    ExternalIn,
    ExternalOut,
    Switch,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Throughput {
    /// The largest sustainable input, in bps.
    pub input_bps: f64,
    /// `input_bps / ig.input_bps`.
    pub scale: f64,
    pub bottleneck: Bottleneck,
}

/// The largest input the placed iGraph sustains. Ties between bottlenecks go to the first in
/// the order cores, NICs (by server, in then out), external in, external out, switch.
pub fn max_throughput(ig: &IGraph, rack: &Rack, p: &Placement) -> Throughput {
    assert!(ig.input_bps > 0.0, "invariant: the iGraph carries some input");
    let s_count = rack.servers;
    let (mut nic_in, mut nic_out) = (vec![0.0; s_count], vec![0.0; s_count]);
    let (mut ext_in, mut ext_out, mut switch) = (0.0, 0.0, 0.0);
    let server = |e: Endpoint| match e {
        Endpoint::Instance(i) => Some(p.server_of[i]),
        Endpoint::Port(_) => None,
    };
    for e in &ig.edges {
        let (a, b) = (server(e.from), server(e.to));
        if matches!(e.from, Endpoint::Port(_)) {
            ext_in += e.rate_bps;
        }
        if matches!(e.to, Endpoint::Port(_)) {
            ext_out += e.rate_bps;
        }
        if a != b || a.is_none() {
            switch += e.rate_bps;
            if let Some(a) = a {
                nic_out[a] += e.rate_bps;
            }
            if let Some(b) = b {
                nic_in[b] += e.rate_bps;
            }
        }
    }
    let mut best = (f64::INFINITY, Bottleneck::Switch);
    let mut consider = |cap: f64, used: f64, b: Bottleneck| {
        if used > 0.0 && cap / used < best.0 {
            best = (cap / used, b);
        }
    };
    for (i, inst) in ig.instances.iter().enumerate() {
        consider(inst.per_core_bps, inst.load_bps, Bottleneck::Core { instance: i });
    }
    let nic = rack.nic.0 as f64;
    for s in 0..s_count {
        consider(nic, nic_in[s], Bottleneck::NicIn { server: s });
        consider(nic, nic_out[s], Bottleneck::NicOut { server: s });
    }
    let ext = rack.external_ports as f64 * rack.port.0 as f64;
    consider(ext, ext_in, Bottleneck::ExternalIn);
    consider(ext, ext_out, Bottleneck::ExternalOut);
    consider(rack.switch.0 as f64, switch, Bottleneck::Switch);
    Throughput { input_bps: ig.input_bps * best.0, scale: best.0, bottleneck: best.1 }
}
