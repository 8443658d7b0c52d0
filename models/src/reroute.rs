//! `reroute`: the baseline. The controller points the switch rule for a set of flows at the
//! new instance and transfers no state.
//!
//! ```text
//! operator ──Move──► controller ──FlowMods(Add rule: flows -> dst_port)──► switch
//!                    controller ◄──────────FlowModsDone───────────────────┘  => Finished
//! ```
//!
//! Flows that were mid-stream lose the state built at the old instance, and their packets in
//! flight to it are still processed there; the oracle shows both (lost updates, state mismatch).
//! It declares no guarantee, so its verdict is honoured whatever happens: the yardstick the
//! other protocols beat.

use std::collections::BTreeMap;

use crate::controller::{Io, MoveId, MoveLog, MoveRequest, Protocol};
use crate::nf::NfEvent;
use crate::oracle::Guarantee;
use crate::packet::{NodeId, Xid};
use crate::switch::{Action, Cookie, FlowMod, Match, Rule, SwitchCtrl, SwitchEvent};

#[derive(Clone, Debug, PartialEq)]
pub struct RerouteConfig {
    /// Priority of the redirecting rules; above the steering rules they override.
    pub priority: u16,
}

impl Default for RerouteConfig {
    fn default() -> Self {
        RerouteConfig { priority: 1000 }
    }
}

pub struct Reroute {
    cfg: RerouteConfig,
    next_xid: u64,
    pending: BTreeMap<Xid, MoveId>,
}

/// Cookies of the rules a move installs: the move id in the high bits, the port index below.
pub fn move_cookie(id: MoveId, i: usize) -> Cookie {
    Cookie(0x5200_0000_0000_0000 | (id.0 as u64) << 16 | i as u64)
}

/// The rules that send a move's flows to its destination: one per in-port of the steering
/// switch, above the steering rules at `priority`. Every protocol's final forwarding update.
pub fn redirect_rules(req: &MoveRequest, priority: u16) -> Vec<FlowMod> {
    req.in_ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            FlowMod::Add(Rule {
                cookie: move_cookie(req.id, i),
                priority,
                matcher: Match { in_port: Some(port), ..req.flows.clone() },
                actions: vec![Action::Output(req.dst_port)],
                idle_timeout: None,
            })
        })
        .collect()
}

impl Reroute {
    pub fn new(cfg: RerouteConfig) -> Reroute {
        Reroute { cfg, next_xid: 1, pending: BTreeMap::new() }
    }
}

impl Protocol for Reroute {
    fn name(&self) -> &'static str {
        "reroute"
    }

    fn guarantee(&self) -> Guarantee {
        Guarantee::None
    }

    fn on_move(&mut self, req: MoveRequest, io: &mut Io<'_>) {
        let xid = Xid(self.next_xid);
        self.next_xid += 1;
        let mods = redirect_rules(&req, self.cfg.priority);
        io.log(MoveLog::Started { id: req.id });
        io.to_switch(req.switch, SwitchCtrl::FlowMods { xid, mods });
        self.pending.insert(xid, req.id);
    }

    fn on_switch_event(&mut self, _from: NodeId, event: SwitchEvent, io: &mut Io<'_>) {
        match event {
            SwitchEvent::FlowModsDone { xid } => {
                if let Some(id) = self.pending.remove(&xid) {
                    io.log(MoveLog::Finished { id });
                }
            }
            SwitchEvent::FlowModFailed { xid, error, .. } => {
                if let Some(&id) = self.pending.get(&xid) {
                    io.log(MoveLog::Failed { id, reason: format!("rule refused: {error:?}") });
                }
            }
            _ => {}
        }
    }

    fn on_nf_event(&mut self, _from: NodeId, _event: NfEvent, _io: &mut Io<'_>) {}
}
