//! U-HAUL (Liu et al., APSys 2016): elephant-only state migration on top of OpenNF.
//!
//! "U-HAUL consists of three components: an elephant detection module (EDM) at each VNF, a new
//! northbound API call between applications and the controller, and a new filter API between
//! the controller and the EDM to obtain elephant flow information" (section 3).
//!
//! ```text
//!  app            controller (Uhaul)                  srcInst (EDM)         dstInst    switch
//!   | moveElephant(src, dst, scope, properties)
//!   |------------->| flowMods(unseen at src -> dstInst) ------------------------------------->|
//!   |              |<------------------------------------------------------------ flowModsDone
//!   |              | SetCreateState(off) ------------->|  (unseen flows: tagged, sent on)
//!   |              | FilterChannel: getElephant ------>|  FIT -> proportion/size detection
//!   |              |<-------------- SetFilter(5-tuples of the elephants)
//!   |              | for each filter: OpenNF move(filter, properties)  (getPerflow, putPerflow,
//!   |              |   packet events, flowMods(filter -> dstInst), marker, delPerflow)
//!   |              | all moved: Finished  (mice stay at srcInst and finish there)
//! ```
//!
//! - `edm`: the flow information table with its eviction pass, and the detection rules.
//! - [`Uhaul`]: the controller application; it drives one [`OpenNf`] per-flow move per
//!   selected elephant, with the requested guarantee and optimizations, and logs the whole as
//!   one move: `Started` at the call, `StateMoved` when every elephant's state is at dstInst,
//!   `Finished` after the last `delPerflow` (the paper's downtime, section 4.3).
//! - "during state migration, the original NF instance stops establishing new states for flows
//!   it has not seen yet. All packets that hit the original instance but do not have any
//!   matching state are forwarded to the new instance which processes them normally"
//!   (section 3): srcInst's state creation is turned off, and a rule sends what it hands back
//!   (tagged `unseen_tag`, arriving from srcInst) to dstInst. When the move has finished,
//!   srcInst creates state for flows it has never seen again; the flows it handed to dstInst
//!   during the move stay dstInst's (srcInst keeps handing their packets back).

mod edm;

pub use edm::{flow_id_of, select, Detection, FitEntry, FlowInfoTable, DEFAULT_WINDOW};

use std::collections::BTreeMap;

use crate::controller::{Io, MoveId, MoveLog, MoveRequest, Protocol};
use crate::nf::{NfCtrl, NfEvent};
use crate::opennf::{OpenNf, OpenNfConfig};
use crate::oracle::Guarantee;
use crate::packet::{NodeId, Xid};
use crate::switch::{Action, Cookie, FlowMod, Match, Rule, SwitchCtrl, SwitchEvent};

#[derive(Clone, Debug, PartialEq)]
pub struct UhaulConfig {
    /// The per-flow moves' properties and optimizations ("we set the guarantee to be
    /// loss-free, the scope to be per-flow state, and the optimizations to be parallelizing
    /// and early-release", section 4.1).
    pub opennf: OpenNfConfig,
    pub detection: Detection,
    /// The tag srcInst puts on packets of flows it has no state for during a move.
    pub unseen_tag: u16,
}

impl UhaulConfig {
    /// Proportion-based detection at `rho`, loss-free per-flow moves with parallelizing and
    /// early release (the paper's evaluation setting).
    pub fn paper(rho: f64) -> Self {
        UhaulConfig {
            opennf: OpenNfConfig::opennf(Guarantee::LossFree),
            detection: Detection::Proportion { rho },
            unseen_tag: UNSEEN_TAG,
        }
    }
}

/// The default tag of unseen flows' packets.
pub const UNSEEN_TAG: u16 = 0x5548;

/// The first id of the per-elephant OpenNF moves (below 2^16: OpenNF keys its buffer groups
/// with 16 bits of move id).
const SUB_MOVE_BASE: u32 = 0x8000;
/// U-HAUL's own transaction ids, far from the inner OpenNF's.
const XID_BASE: u64 = 1 << 62;

#[derive(Clone, Debug)]
enum Pending {
    UnseenRule(MoveId),
    GetElephant(MoveId),
}

struct ElephantMove {
    req: MoveRequest,
    subs: Vec<MoveId>,
    detected: bool,
    state_moved: bool,
    finished: bool,
}

/// The U-HAUL controller application.
pub struct Uhaul {
    cfg: UhaulConfig,
    inner: OpenNf,
    next_xid: u64,
    next_sub: u32,
    moves: BTreeMap<MoveId, ElephantMove>,
    pending: BTreeMap<Xid, Pending>,
    /// Inputs that fit no move (counted, never a panic).
    pub unexpected: u64,
    /// Elephants moved, and active flows the EDM looked at, over every move.
    pub elephants: u64,
    pub active: u64,
}

impl Uhaul {
    pub fn new(cfg: UhaulConfig) -> Uhaul {
        let inner = OpenNf::new(cfg.opennf.clone()).without_move_logs();
        Uhaul {
            cfg,
            inner,
            next_xid: XID_BASE,
            next_sub: SUB_MOVE_BASE,
            moves: BTreeMap::new(),
            pending: BTreeMap::new(),
            unexpected: 0,
            elephants: 0,
            active: 0,
        }
    }

    fn xid(&mut self, p: Pending) -> Xid {
        let x = Xid(self.next_xid);
        self.next_xid += 1;
        self.pending.insert(x, p);
        x
    }

    /// The rule that sends what srcInst hands back (unseen flows) to dstInst.
    fn unseen_rule(&self, req: &MoveRequest) -> FlowMod {
        FlowMod::Add(Rule {
            cookie: Cookie(0x5548_0000_0000_0000 | req.id.0 as u64),
            priority: self.cfg.opennf.priority.saturating_add(1),
            matcher: Match {
                in_port: Some(req.src_port),
                tag: Some(self.cfg.unseen_tag),
                ..req.flows.clone()
            },
            actions: vec![Action::Output(req.dst_port)],
            idle_timeout: None,
        })
    }

    /// SetFilter: "The controller uses the matched filters to configure the moveElephant
    /// operation. For each filter, it invokes the OpenNF getPerflow function and pass the
    /// filter as the input" (section 3.2): one OpenNF per-flow move per elephant.
    fn on_set_filter(
        &mut self,
        id: MoveId,
        flows: Vec<crate::packet::FiveTuple>,
        active: u64,
        io: &mut Io<'_>,
    ) {
        let Some(m) = self.moves.get_mut(&id) else {
            self.unexpected += 1;
            return;
        };
        m.detected = true;
        self.elephants += flows.len() as u64;
        self.active += active;
        let req = m.req.clone();
        let mut subs = Vec::with_capacity(flows.len());
        for t in flows {
            let sub = MoveId(self.next_sub);
            self.next_sub += 1;
            subs.push(sub);
            let sub_req = MoveRequest { id: sub, flows: Match::flow(&t), ..req.clone() };
            self.inner.on_move(sub_req, io);
        }
        self.moves.get_mut(&id).expect("present").subs = subs;
        self.progress(io);
    }

    /// Logs the moves whose elephants are all moved; when the last move from an instance
    /// ends, that instance creates state for new flows again.
    fn progress(&mut self, io: &mut Io<'_>) {
        let mut ended = Vec::new();
        for (id, m) in self.moves.iter_mut().filter(|(_, m)| m.detected && !m.finished) {
            let (mut state, mut done) = (true, true);
            for s in &m.subs {
                let (st, dn) = self.inner.move_progress(*s).unwrap_or((false, false));
                state &= st;
                done &= dn;
            }
            if state && !m.state_moved {
                m.state_moved = true;
                io.log(MoveLog::StateMoved { id: *id });
            }
            if done {
                m.finished = true;
                io.log(MoveLog::Finished { id: *id });
                ended.push(m.req.src);
            }
        }
        // Section 3: "during state migration, the original NF instance stops establishing new
        // states for flows it has not seen yet" -- during, so once the migration is over it
        // establishes state for new flows again. The flows it handed to dstInst meanwhile are
        // dstInst's: the instance keeps handing their packets back (`nf` module doc), and the
        // rule that steers them to dstInst stays.
        ended.dedup();
        for src in ended {
            if !self.moves.values().any(|m| m.req.src == src && !m.finished) {
                let unseen_tag = self.cfg.unseen_tag;
                io.to_nf(src, NfCtrl::SetCreateState { create: true, unseen_tag });
            }
        }
    }
}

impl Protocol for Uhaul {
    fn name(&self) -> &'static str {
        "uhaul"
    }

    fn guarantee(&self) -> Guarantee {
        self.cfg.opennf.guarantee
    }

    fn counters(&self) -> Vec<(&'static str, f64)> {
        let mut c = self.inner.counters();
        c.iter_mut()
            .filter(|(k, _)| *k == "protocol_unexpected")
            .for_each(|(_, v)| *v += self.unexpected as f64);
        c.push(("elephants_moved", self.elephants as f64));
        c.push(("edm_active_flows", self.active as f64));
        c
    }

    /// `moveElephant(src, dst, scope, properties)`: `req.flows` limits the flows considered
    /// (all of srcInst's when it matches everything); the properties are the configuration's.
    fn on_move(&mut self, req: MoveRequest, io: &mut Io<'_>) {
        let id = req.id;
        io.log(MoveLog::Started { id });
        let mods = vec![self.unseen_rule(&req)];
        let x = self.xid(Pending::UnseenRule(id));
        io.to_switch(req.switch, SwitchCtrl::FlowMods { xid: x, mods });
        self.moves.insert(
            id,
            ElephantMove {
                req,
                subs: Vec::new(),
                detected: false,
                state_moved: false,
                finished: false,
            },
        );
    }

    fn on_switch_event(&mut self, from: NodeId, event: SwitchEvent, io: &mut Io<'_>) {
        if let SwitchEvent::FlowModsDone { xid } = &event {
            if let Some(Pending::UnseenRule(id)) = self.pending.get(xid).cloned() {
                self.pending.remove(xid);
                let Some(m) = self.moves.get(&id) else { return };
                let (src, filter) = (m.req.src, m.req.flows.clone());
                // The rule is in place: srcInst may now hand unseen flows back. Then
                // FilterChannel: "it invokes the FilterChannel function to send a getElephant
                // message to the EDM" (section 3.2).
                let unseen_tag = self.cfg.unseen_tag;
                io.to_nf(src, NfCtrl::SetCreateState { create: false, unseen_tag });
                let detection = self.cfg.detection;
                let x = self.xid(Pending::GetElephant(id));
                io.to_nf(src, NfCtrl::GetElephant { xid: x, filter, detection });
                return;
            }
        }
        if let SwitchEvent::FlowModFailed { xid, error, .. } = &event {
            if let Some(Pending::UnseenRule(id)) = self.pending.get(xid).cloned() {
                io.log(MoveLog::Failed { id, reason: format!("rule refused: {error:?}") });
                // Nothing was turned off yet; a failed move holds no instance in its mode.
                self.moves.remove(&id);
                return;
            }
        }
        self.inner.on_switch_event(from, event, io);
        self.progress(io);
    }

    fn on_nf_event(&mut self, from: NodeId, event: NfEvent, io: &mut Io<'_>) {
        if let NfEvent::SetFilter { xid, flows, active } = event {
            match self.pending.remove(&xid) {
                Some(Pending::GetElephant(id)) => self.on_set_filter(id, flows, active, io),
                _ => self.unexpected += 1,
            }
            return;
        }
        self.inner.on_nf_event(from, event, io);
        self.progress(io);
    }
}
