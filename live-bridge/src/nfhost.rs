//! The NF instance role, free of DPDK: `models::nf::Nf` behind SHarP's handover support layer
//! (`models::sharp::Hsl`), wired as the twin's `NfEntity` wires them (`scenarios/src/driver/
//! entities.rs`), so the host binary only moves frames and lines.
//!
//! ```text
//!  port 0 (ingress side) ──► Hsl ──► Nf ──► port 1 (onward)      a flow that arrived on
//!  port 1 (onward side)  ──► Hsl ──► Nf ──► port 0 (back)        port 1 leaves by port 0
//!                             │       ├──► ToPeer: the NF's own state transfer (relayed)
//!                             └───────┴──► ToController: HSL's ACK / released
//! ```
//!
//! The NF is a bump in the wire between two switches, as VNF1 and VNFn in SHarP's Figure 1:
//! what it outputs leaves by the port opposite to the one its packet came in on (told apart by
//! 5-tuple; the twin's `NfEntity` does it by flow id).
//!
//! **Connection state.** SHarP leaves the state transfer to the VNF: "We leave it to the VNF
//! to prepare and migrate all state belonging to the flows that are handed over" (III-B).
//! This VNF keeps a connection's state for both directions, so when the HSL asks it to move
//! a flow (`NfCtrl::TransferFlows` with the 5-tuples SHarP detected), it moves the reverse
//! 5-tuple's state too. It matters in the paper's testbed, where Host2 only answers Host1:
//! while SHarP buffers Host1's packets Host2 is silent, so the egress switch detects no
//! reverse flow and `START_HO` names the forward 5-tuple only (a live run without this lost
//! the reverse direction's 1,010 updates, which the oracle reported).

use std::collections::{BTreeSet, VecDeque};

use base::Time;
use models::nf::{Nf, NfConfig, NfCtrl, NfEvent, NfOutput, PeerMsg};
use models::sharp::{Hsl, HslConfig, HslOutput};
use models::{FiveTuple, NodeId, Packet};

use crate::roles::Report;

/// What the NF host must do.
#[derive(Clone, Debug, PartialEq)]
pub enum NfHostOutput {
    /// Send out of port 0 (towards the ingress switch) or 1 (onward).
    Transmit { port: u16, packet: Packet },
    /// An event for the controller (SHarP: the HSL's replies).
    ToController(NfEvent),
    /// A message for another instance (the NF's peer-to-peer state transfer).
    ToPeer { peer: NodeId, msg: PeerMsg },
}

/// One NF instance with its HSL.
pub struct NfHost {
    nf: Nf,
    hsl: Option<Hsl>,
    /// 5-tuples whose data arrived on port 1: their output goes back out of port 0.
    reverse: BTreeSet<FiveTuple>,
    out: VecDeque<NfHostOutput>,
    pub peer_msgs: u64,
    pub dropped: u64,
}

impl NfHost {
    pub fn new(me: NodeId, cfg: NfConfig, hsl: Option<HslConfig>) -> NfHost {
        NfHost {
            nf: Nf::new(cfg),
            hsl: hsl.map(|c| Hsl::new(me, c)),
            reverse: BTreeSet::new(),
            out: VecDeque::new(),
            peer_msgs: 0,
            dropped: 0,
        }
    }

    pub fn nf(&self) -> &Nf {
        &self.nf
    }

    pub fn hsl(&self) -> Option<&Hsl> {
        self.hsl.as_ref()
    }

    /// A frame's packet from port `port`.
    pub fn on_packet(&mut self, now: Time, port: u16, p: Packet) {
        if port == 1 && p.is_data() {
            self.reverse.insert(p.tuple);
        }
        match &mut self.hsl {
            Some(h) => h.handle_packet(now, p),
            None => self.nf.handle_packet(now, p),
        }
        self.drain(now);
    }

    /// A call from the controller (OpenNF's southbound API).
    pub fn on_ctrl(&mut self, now: Time, msg: NfCtrl) {
        self.nf.handle_ctrl(now, msg);
        self.drain(now);
    }

    /// A message from another instance.
    pub fn on_peer(&mut self, now: Time, msg: PeerMsg) {
        self.nf.handle_peer(now, msg);
        self.drain(now);
    }

    /// Early or stale calls are no-ops.
    pub fn handle_timeout(&mut self, now: Time) {
        self.nf.handle_timeout(now);
        if let Some(h) = &mut self.hsl {
            h.handle_timeout(now);
        }
        self.drain(now);
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        let hsl = self.hsl.as_ref().and_then(Hsl::poll_timeout);
        match (self.nf.poll_timeout(), hsl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn poll_output(&mut self) -> Option<NfHostOutput> {
        self.out.pop_front()
    }

    /// Runs the HSL's outputs into the NF and the NF's out, until both are quiet (as the
    /// twin's `NfEntity::drain`).
    fn drain(&mut self, now: Time) {
        loop {
            let mut busy = false;
            while let Some(o) = self.hsl.as_mut().and_then(Hsl::poll_output) {
                busy = true;
                match o {
                    HslOutput::ToNf(p) => self.nf.handle_packet(now, p),
                    HslOutput::NfCtrl(c) => self.nf.handle_ctrl(now, with_reverse(c)),
                    HslOutput::Reply(r) => {
                        self.out.push_back(NfHostOutput::ToController(NfEvent::Hsl(r)))
                    }
                }
            }
            while let Some(o) = self.nf.poll_output() {
                busy = true;
                match o {
                    NfOutput::Transmit(packet) => {
                        let port = if self.reverse.contains(&packet.tuple) { 0 } else { 1 };
                        self.out.push_back(NfHostOutput::Transmit { port, packet });
                    }
                    NfOutput::ToController(event) => {
                        if let Some(h) = &mut self.hsl {
                            if h.handle_nf_event(now, &event) {
                                continue;
                            }
                        }
                        self.out.push_back(NfHostOutput::ToController(event));
                    }
                    NfOutput::ToPeer { peer, msg } => {
                        self.peer_msgs += 1;
                        self.out.push_back(NfHostOutput::ToPeer { peer, msg });
                    }
                    NfOutput::Dropped { .. } => self.dropped += 1,
                    NfOutput::StateCreated { .. } => {}
                }
            }
            if !busy {
                break;
            }
        }
    }

    /// The oracle's view of this instance's per-flow state (the flows it owns at the end),
    /// and the HSL's buffers.
    pub fn report(&self) -> Report {
        let mut r = Report::default();
        let states = self.nf.states();
        r.set("flows_owned", states.len() as u64);
        r.set("state_updates", states.iter().map(|(_, s)| s.log.updates).sum());
        r.set("state_reordered", states.iter().map(|(_, s)| s.log.reordered).sum());
        r.set("state_duplicates", states.iter().map(|(_, s)| s.log.duplicates).sum());
        r.set("nf_packets", self.nf.stats().processed);
        r.set("nf_dropped", self.dropped);
        r.set("peer_msgs", self.peer_msgs);
        if let Some(h) = &self.hsl {
            let s = h.stats();
            r.set("hsl_max_buffered", s.max_buffered);
            r.set("hsl_max_ctrl_buff", s.max_ctrl_buff);
            r.set("hsl_max_sw_buff", s.max_sw_buff);
            r.set("hsl_ctrl_buffered", s.ctrl_buffered);
            r.set("hsl_sw_buffered", s.sw_buffered);
            r.set("hsl_released", s.released);
            r.set("hsl_control_packets", s.control_packets);
            r.set("hsl_unexpected", s.unexpected);
        }
        r
    }
}

/// A transfer of these 5-tuples' state also moves their reverse directions' (see the module
/// doc: the VNF's state is per connection).
fn with_reverse(c: NfCtrl) -> NfCtrl {
    match c {
        NfCtrl::TransferFlows { xid, peer, mut flows, lock, id } => {
            let reverse: Vec<FiveTuple> = flows.iter().map(crate::roles::reverse).collect();
            for r in reverse {
                if !flows.contains(&r) {
                    flows.push(r);
                }
            }
            NfCtrl::TransferFlows { xid, peer, flows, lock, id }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::controller::MoveId;
    use models::sharp::{ctrl_mark, CtrlKind, CtrlPacket};

    use crate::roles::{echo, SourcePlan};

    fn fwd(i: u64) -> Packet {
        SourcePlan { rate_pps: 1000, count: 100, flows: 1, size_bytes: 128 }
            .packet(i, Time::from_nanos(i))
    }

    fn run(h: &mut NfHost, until: Time) -> Vec<NfHostOutput> {
        let mut out = Vec::new();
        loop {
            while let Some(o) = h.poll_output() {
                out.push(o);
            }
            match h.poll_timeout() {
                Some(t) if t <= until => h.handle_timeout(t),
                _ => return out,
            }
        }
    }

    fn start_ho(src: NodeId, dst: NodeId, flow: &Packet) -> Packet {
        CtrlPacket {
            kind: CtrlKind::StartHo,
            id: MoveId(1),
            src,
            dst,
            flow: flow.tuple,
            flows: 1,
            sides: 1,
            last: true,
        }
        .encode()
    }

    /// Two NF hosts and their HSLs hand a bidirectional flow over: the source moves the
    /// reverse 5-tuple's state with the forward one, the destination holds the marked
    /// packets until the state is in and BUFFER_END came, then serves them in order, and
    /// outputs leave by the port opposite to their packet's.
    #[test]
    fn a_handover_between_two_nf_hosts_moves_both_directions_state() {
        let (n1, n2) = (NodeId(3), NodeId(4));
        let cfg = NfConfig { service: base::Dur::from_micros(10), ..NfConfig::default() };
        let hsl = HslConfig { transfer_delay: base::Dur::from_millis(100), fault: None };
        let mut vnf1 = NfHost::new(n1, cfg.clone(), Some(hsl.clone()));
        let mut vnfn = NfHost::new(n2, cfg, Some(hsl));
        let mut t = Time::from_nanos(1_000);
        // Host1's packets 0..3 and Host2's answers through VNF1.
        for i in 0..3 {
            vnf1.on_packet(t, 0, fwd(i));
            vnf1.on_packet(t, 1, echo(&fwd(i)));
            t += base::Dur::from_micros(100);
        }
        let out = run(&mut vnf1, t);
        let ports: Vec<u16> = out
            .iter()
            .filter_map(|o| match o {
                NfHostOutput::Transmit { port, .. } => Some(*port),
                _ => None,
            })
            .collect();
        assert_eq!(ports, vec![1, 0, 1, 0, 1, 0], "forward out of 1, answers out of 0");
        // START_HO names only the forward 5-tuple (the egress switch saw no answer).
        let ho = start_ho(n1, n2, &fwd(0));
        vnf1.on_packet(t, 0, ho);
        vnfn.on_packet(t, 0, ho);
        assert!(run(&mut vnfn, t).contains(&NfHostOutput::ToController(NfEvent::Hsl(
            models::sharp::HslReply { id: 1, kind: models::sharp::HslReplyKind::Ack }
        ))));
        // Packets 3..5 reach VNFn marked by the controller, then BUFFER_END; held meanwhile.
        for i in 3..5 {
            let mut p = fwd(i);
            p.tag = ctrl_mark(MoveId(1));
            vnfn.on_packet(t, 0, p);
        }
        let end = CtrlPacket {
            kind: CtrlKind::BufferEnd,
            flows: 0,
            sides: 0,
            ..CtrlPacket::decode(&ho).expect("ctrl")
        };
        vnfn.on_packet(t, 0, end.encode());
        assert!(run(&mut vnfn, t).is_empty(), "held until the state is in");
        assert_eq!(vnfn.hsl().expect("hsl").holding(), 2);
        // 100 ms later VNF1 sends both directions' state.
        let later = t + base::Dur::from_millis(101);
        let peer: Vec<PeerMsg> = run(&mut vnf1, later)
            .into_iter()
            .filter_map(|o| match o {
                NfHostOutput::ToPeer { peer, msg } if peer == n2 => Some(msg),
                _ => None,
            })
            .collect();
        let states = peer.iter().filter(|m| matches!(m, PeerMsg::State { .. })).count();
        assert_eq!(states, 2, "the forward and the reverse 5-tuple's state: {peer:?}");
        for m in peer {
            vnfn.on_peer(later, m);
        }
        let out = run(&mut vnfn, later + base::Dur::from_millis(1));
        let served: Vec<u32> = out
            .iter()
            .filter_map(|o| match o {
                NfHostOutput::Transmit { port: 1, packet } if packet.is_data() => Some(packet.seq),
                _ => None,
            })
            .collect();
        assert_eq!(served, vec![3, 4], "released in order, onward");
        assert!(out.iter().any(|o| matches!(
            o,
            NfHostOutput::ToController(NfEvent::Hsl(r))
                if r.kind == models::sharp::HslReplyKind::Released
        )));
        let r = vnfn.report();
        // Forward: 0..3 at VNF1 plus 3, 4 here; reverse: 0..3 at VNF1.
        assert_eq!(r.get("state_updates"), Some(8));
        assert_eq!(r.get("state_reordered"), Some(0));
        assert_eq!(r.get("flows_owned"), Some(2));
    }
}
