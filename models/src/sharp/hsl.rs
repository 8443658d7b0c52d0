//! SHarP's handover support layer (HSL), section III-B: the layer "between the actual VNF
//! implementation and the network interfaces of the VNF container" that intercepts the
//! controller's control messages from the data plane and buffers packets for a handover.
//!
//! ```text
//!  data plane ──► HSL ──┬─ START_HO ──► (src) after the transfer delay: TransferFlows ─► NF
//!                       │               (dst) Accept ─► NF;      ACK ─► controller
//!                       ├─ marked by Ctrl ──► ctrl_buff ─┐
//!                       ├─ tagged by the switch ► sw_buff ┤ released when every BUFFER_END
//!                       ├─ BUFFER_END ────────────────────┘ is in and the NF's TransferDone:
//!                       │                                    ctrl_buff, then sw_buff ─► NF
//!                       └─ anything else ──────────────────────────────────────────► NF
//! ```
//!
//! - The state transfer is the NF's own (peer to peer, `NfCtrl::TransferFlows` / `Accept`):
//!   "We leave it to the VNF to prepare and migrate all state belonging to the flows that are
//!   handed over." Its duration is the NF's export/import cost and its link to the peer (size
//!   and link rate), plus `transfer_delay`, the artificial delay of section IV-B ("achieved by
//!   artificially introducing a delay after which the VNFs signal the completion").
//! - "It first releases its ctrl_buff and afterwards its sw_buff to ensure that all packets
//!   are processed by VNF_n in the same order as they have entered the SHarP system."
//! - A control packet that fits no handover here is counted, never a panic.
//! - When the VNF fails ([`Hsl::fail`]), `ctrl_buff` and `sw_buff` are lost with it.

use std::collections::{BTreeMap, VecDeque};

use base::{Dur, Time};

use super::{CtrlKind, CtrlPacket};
use crate::controller::MoveId;
use crate::nf::{NfCtrl, NfEvent};
use crate::packet::{FiveTuple, Flags, NodeId, Packet, Xid};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HslConfig {
    /// Added to the NF's own state transfer before it starts (section IV-B's artificial
    /// delay; 0 for none).
    pub transfer_delay: Dur,
    /// A deliberate bug, for proving that `nftwin check` catches one (never set otherwise).
    pub fault: Option<HslFault>,
}

/// Deliberate bugs `nftwin check --inject-fault` can plant in the HSL.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HslFault {
    /// Release `sw_buff` before `ctrl_buff`, against section III-C's order: the packets the
    /// switch sent here directly overtake the older ones the controller marked.
    ReleaseSwBeforeCtrl,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HslReplyKind {
    /// `START_HO` received and the NF told.
    Ack,
    /// The destination released `ctrl_buff` and `sw_buff`: the flows are processed here.
    Released,
}

/// HSL to controller.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HslReply {
    /// The handover (`MoveId`).
    pub id: u32,
    pub kind: HslReplyKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HslOutput {
    /// A packet for the NF implementation.
    ToNf(Packet),
    /// A request to the NF's state management.
    NfCtrl(NfCtrl),
    /// A reply to the controller.
    Reply(HslReply),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HslStats {
    /// Largest `ctrl_buff` + `sw_buff` occupancy (the VNF buffer of Figures 5d and 7d).
    pub max_buffered: u64,
    pub max_ctrl_buff: u64,
    pub max_sw_buff: u64,
    /// Data packets put in `ctrl_buff` (marked by the controller: its `T` packets).
    pub ctrl_buffered: u64,
    /// Data packets put in `sw_buff` (sent straight here by the redirected exact entries).
    pub sw_buffered: u64,
    /// Data packets released from `ctrl_buff` and `sw_buff` to the NF.
    pub released: u64,
    /// SHarP control packets received from the data plane (`START_HO`, `BUFFER_END`, the
    /// test packet).
    pub control_packets: u64,
    /// Control packets or marked packets that fit no handover here.
    pub unexpected: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Role {
    Src,
    Dst,
}

struct Handover {
    role: Role,
    peer: NodeId,
    flows: Vec<FiveTuple>,
    sides: u8,
    /// Every `START_HO` is in.
    started: bool,
    /// `BUFFER_END`s received.
    ends: u8,
    xid: Option<Xid>,
    transfer_at: Option<Time>,
    transfer_done: bool,
    ctrl_buff: VecDeque<Packet>,
    sw_buff: VecDeque<Packet>,
    released: bool,
}

/// The HSL machine of one VNF. Call contract as every machine's (see the crate doc).
pub struct Hsl {
    me: NodeId,
    cfg: HslConfig,
    handovers: BTreeMap<MoveId, Handover>,
    next_xid: u64,
    out: VecDeque<HslOutput>,
    stats: HslStats,
}

/// The handover a mark names, and whether the controller (not the switch) set it.
pub(super) fn parse_mark(tag: u16) -> Option<(MoveId, bool)> {
    (tag & 0x8000 != 0).then_some((MoveId(((tag & 0x7fff) >> 1) as u32), tag & 1 == 0))
}

impl Hsl {
    pub fn new(me: NodeId, cfg: HslConfig) -> Hsl {
        Hsl {
            me,
            cfg,
            handovers: BTreeMap::new(),
            // HSL transactions are numbered apart from the controller's.
            next_xid: 0x4853_4c00_0000_0000,
            out: VecDeque::new(),
            stats: HslStats::default(),
        }
    }

    pub fn stats(&self) -> &HslStats {
        &self.stats
    }

    /// Data packets in `ctrl_buff` and `sw_buff`.
    pub fn holding(&self) -> usize {
        self.handovers.values().map(|h| h.ctrl_buff.len() + h.sw_buff.len()).sum()
    }

    fn note_occupancy(&mut self) {
        let (c, s) = self
            .handovers
            .values()
            .fold((0, 0), |(c, s), h| (c + h.ctrl_buff.len(), s + h.sw_buff.len()));
        self.stats.max_ctrl_buff = self.stats.max_ctrl_buff.max(c as u64);
        self.stats.max_sw_buff = self.stats.max_sw_buff.max(s as u64);
        self.stats.max_buffered = self.stats.max_buffered.max((c + s) as u64);
    }

    /// A packet from the data plane.
    pub fn handle_packet(&mut self, now: Time, p: Packet) {
        if let Some(c) = CtrlPacket::decode(&p) {
            self.stats.control_packets += 1;
            return self.on_ctrl(now, c);
        }
        if p.flags.contains(Flags::MARKER) {
            self.out.push_back(HslOutput::ToNf(p));
            return;
        }
        let Some((id, by_ctrl)) = parse_mark(p.tag) else {
            self.out.push_back(HslOutput::ToNf(p));
            return;
        };
        let mut p = p;
        p.tag = 0;
        match self.handovers.get_mut(&id) {
            Some(h) if h.role == Role::Dst && !h.released => {
                // "VNF_n detects the marked packets and puts them in its internal ctrl_buff
                // ... the packets are buffered in the internal sw_buff of the VNF to not mix
                // them up with the packets previously buffered at the controller".
                if by_ctrl {
                    self.stats.ctrl_buffered += 1;
                    h.ctrl_buff.push_back(p);
                } else {
                    self.stats.sw_buffered += 1;
                    h.sw_buff.push_back(p);
                }
                self.note_occupancy();
            }
            Some(_) => self.out.push_back(HslOutput::ToNf(p)),
            None => {
                self.stats.unexpected += 1;
                self.out.push_back(HslOutput::ToNf(p));
            }
        }
    }

    fn on_ctrl(&mut self, now: Time, c: CtrlPacket) {
        match c.kind {
            CtrlKind::StartHo => {
                let role = if c.dst == self.me {
                    Role::Dst
                } else if c.src == self.me {
                    Role::Src
                } else {
                    self.stats.unexpected += 1;
                    return;
                };
                let h = self.handovers.entry(c.id).or_insert_with(|| Handover {
                    role,
                    peer: if role == Role::Dst { c.src } else { c.dst },
                    flows: Vec::new(),
                    sides: c.sides.max(1),
                    started: false,
                    ends: 0,
                    xid: None,
                    transfer_at: None,
                    transfer_done: false,
                    ctrl_buff: VecDeque::new(),
                    sw_buff: VecDeque::new(),
                    released: false,
                });
                if h.started {
                    self.stats.unexpected += 1;
                    return;
                }
                if c.flows > 0 {
                    h.flows.push(c.flow);
                }
                if !c.last {
                    return;
                }
                h.started = true;
                if h.flows.len() != c.flows as usize {
                    self.stats.unexpected += 1;
                }
                // "The HSL in the VNFs intercepts the control message and can, e.g., trigger
                // the preparation of the state transfer before replying with acknowledgments".
                if h.flows.is_empty() {
                    h.transfer_done = true;
                } else {
                    match h.role {
                        Role::Src => h.transfer_at = Some(now + self.cfg.transfer_delay),
                        Role::Dst => {
                            let xid = Xid(self.next_xid);
                            self.next_xid += 1;
                            h.xid = Some(xid);
                            let accept = NfCtrl::Accept { xid, peer: h.peer, id: c.id.0 as u64 };
                            self.out.push_back(HslOutput::NfCtrl(accept));
                        }
                    }
                }
                self.out
                    .push_back(HslOutput::Reply(HslReply { id: c.id.0, kind: HslReplyKind::Ack }));
                self.try_release(c.id);
            }
            CtrlKind::BufferEnd => match self.handovers.get_mut(&c.id) {
                Some(h) if h.role == Role::Dst && h.started && !h.released => {
                    h.ends += 1;
                    self.try_release(c.id);
                }
                _ => self.stats.unexpected += 1,
            },
            // The test packet also reaches us through the redirected entry; it is the
            // controller's, not ours.
            CtrlKind::Test => {}
        }
    }

    /// An event of the NF's state management; `false` if it is not the HSL's (the driver
    /// passes it on).
    pub fn handle_nf_event(&mut self, _now: Time, ev: &NfEvent) -> bool {
        let NfEvent::TransferDone { xid, .. } = ev else { return false };
        let Some((&id, h)) = self.handovers.iter_mut().find(|(_, h)| h.xid == Some(*xid)) else {
            return false;
        };
        h.transfer_done = true;
        self.try_release(id);
        true
    }

    fn try_release(&mut self, id: MoveId) {
        let Some(h) = self.handovers.get_mut(&id) else { return };
        if h.role != Role::Dst || h.released || !h.started || !h.transfer_done || h.ends < h.sides {
            return;
        }
        h.released = true;
        let (first, then) = match self.cfg.fault {
            Some(HslFault::ReleaseSwBeforeCtrl) => (&mut h.sw_buff, &mut h.ctrl_buff),
            None => (&mut h.ctrl_buff, &mut h.sw_buff),
        };
        for p in first.drain(..).chain(then.drain(..)) {
            self.stats.released += 1;
            self.out.push_back(HslOutput::ToNf(p));
        }
        self.out.push_back(HslOutput::Reply(HslReply { id: id.0, kind: HslReplyKind::Released }));
    }

    /// The VNF fails: the HSL sits in the VNF's container and fails with it. Its buffers are
    /// lost (returned, for the driver to account as lost at a down instance); like the NF, it
    /// comes back with the handovers it knew, and packets reaching the VNF while it is down
    /// never reach the HSL.
    pub fn fail(&mut self) -> Vec<Packet> {
        let mut lost = Vec::new();
        for h in self.handovers.values_mut() {
            lost.extend(h.ctrl_buff.drain(..).chain(h.sw_buff.drain(..)));
        }
        lost
    }

    /// Early or stale calls are no-ops.
    pub fn handle_timeout(&mut self, now: Time) {
        for (id, h) in self.handovers.iter_mut() {
            if h.transfer_at.is_some_and(|t| t <= now) {
                h.transfer_at = None;
                let xid = Xid(self.next_xid);
                self.next_xid += 1;
                // The source's NF moves exactly the handed-over flows' state to the peer.
                self.out.push_back(HslOutput::NfCtrl(NfCtrl::TransferFlows {
                    xid,
                    peer: h.peer,
                    flows: h.flows.clone(),
                    lock: None,
                    // The destination accepts it under the handover's id.
                    id: id.0 as u64,
                }));
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<HslOutput> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        self.handovers.values().filter_map(|h| h.transfer_at).min()
    }
}
