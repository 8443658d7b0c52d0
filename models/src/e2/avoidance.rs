//! # E2 migration avoidance as a controller protocol
//!
//! The E2 Manager's side of section 5.4's split ([`SplitController`] with
//! [`Strategy::MigrationAvoidance`]) behind the [`Protocol`] trait, so that a generic
//! [`crate::controller::Controller`] can run it for an operator's move of instance `src` (A)
//! to `dst` (A'): the move is a split that sends the top `share` of A's flow-ID space to A'
//! while every flow A already handles stays with A until it ends (affinity: no state moves).
//!
//! ```text
//!  operator ── Move ──► E2Avoidance (SplitController)
//!                         │ NfCtrl::E2d(Split{m, report_at}) ─────► E2D of src's server
//!                         ◄── NfEvent::E2d(SplitApplied) ─────────  (new flows of [M, Y)
//!                         ◄── NfEvent::E2d(FlowEnded / ExceptionsLeft)   detoured, tagged,
//!                         ◄── NfEvent::E2d(ExceptionsRemaining{flows})   through the switch
//!                         │   (at most push_threshold left)              to dst)
//!                         │ FlowMods{exceptions, [X,M) -> src, [M,Y) -> dst} ──► switch
//!                         ◄── FlowModsDone: Converged (the switch holds the split)
//!                         │ each later FlowEnded of an exception: Delete ──► switch
//!                         └ no exception left: the move is Finished
//! ```
//!
//! - Every message crosses the driver's control channel: the E2D reports its remaining
//!   exceptions ([`E2dEvent::ExceptionsRemaining`]) instead of the manager reading them.
//! - Every rule of the split matches the request's one in-port (the port the traffic arrives
//!   on), so on a switch that the instances' output crosses again, their output leaves by the
//!   switch's own rules instead of going back to A. The manager cannot name the operator's
//!   original rule `[X, Y) -> A`, so it shadows it (`SplitConfig::original_rule: None`).
//! - The move is `Finished` when the old instance stops seeing the moved share: the switch
//!   holds the split and every exception's flow has ended (their rules' deletions sent).
//! - The driver gives A's server an [`crate::e2::migration::E2d`] (built with
//!   [`E2AvoidanceConfig::e2d_per_rule`]) and a tunnel rule on the switch
//!   ([`tunnel_rule`]) carrying the E2D's detoured packets from A's port to A'.

use base::{Dur, Time};

use crate::controller::{Io, MoveLog, MoveRequest, Protocol};
use crate::e2::migration::{SplitConfig, SplitController, SplitOutput, SplitPhase, Strategy};
use crate::nf::{NfCtrl, NfEvent};
use crate::oracle::{Guarantee, LossCause};
use crate::packet::{NodeId, PortId};
use crate::switch::{Action, Cookie, Match, Rule, SwitchEvent};

/// The tag A's E2D puts on a detoured packet (E2 section 6: "tagging and untagging packets
/// with tunneling headers to route between servers").
pub const DETOUR_TAG: u16 = 0xE2;

/// The tunnel from A's E2D to A': a packet from A's port carrying [`DETOUR_TAG`] goes to A',
/// untagged (the untagging A''s E2D would do), above every other rule.
pub fn tunnel_rule(src_port: PortId, dst_port: PortId) -> Rule {
    Rule {
        cookie: Cookie(0xE2 << 48 | 0x7u64 << 40 | (src_port.0 as u64) << 16 | dst_port.0 as u64),
        priority: u16::MAX,
        matcher: Match { in_port: Some(src_port), tag: Some(DETOUR_TAG), ..Match::any() },
        actions: vec![Action::SetTag(0), Action::Output(dst_port)],
        idle_timeout: None,
    }
}

/// Migration avoidance's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct E2AvoidanceConfig {
    /// The fraction of the flow-ID space that goes to the new instance, in (0, 1].
    pub share: f64,
    /// Push the filters to the hardware switch once at most this many exceptions remain (E2
    /// 5.4: "some threshold"; the paper gives no value).
    pub push_threshold: usize,
    /// The E2D's rule-update time (E2 7.2: 20 us per rule in the software dataplane).
    pub e2d_per_rule: Dur,
}

impl Default for E2AvoidanceConfig {
    /// E2 7.2's split in half; the `reproduce e2` experiment's threshold of 500 exceptions
    /// (ours there: it leaves room in a 2,048-entry table); 20 us per E2D rule.
    fn default() -> Self {
        E2AvoidanceConfig { share: 0.5, push_threshold: 500, e2d_per_rule: Dur::from_micros(20) }
    }
}

/// Why a move cannot be split.
fn refusal(req: &MoveRequest, busy: bool) -> Option<String> {
    if busy {
        return Some("E2 migration avoidance splits one instance at a time".into());
    }
    if req.in_ports.len() != 1 {
        return Some(format!(
            "E2 migration avoidance needs the traffic to arrive on one switch port, not {}",
            req.in_ports.len()
        ));
    }
    None
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct E2AvoidanceStats {
    /// When the move started and when the switch held the split.
    pub started: Option<Time>,
    pub converged: Option<Time>,
    pub unexpected: u64,
}

/// The protocol. Call contract as every [`Protocol`]'s.
pub struct E2Avoidance {
    cfg: E2AvoidanceConfig,
    /// The split in progress and its request.
    split: Option<(SplitController, MoveRequest)>,
    finished: bool,
    stats: E2AvoidanceStats,
}

impl E2Avoidance {
    pub fn new(cfg: E2AvoidanceConfig) -> Self {
        E2Avoidance { cfg, split: None, finished: false, stats: Default::default() }
    }

    pub fn stats(&self) -> &E2AvoidanceStats {
        &self.stats
    }

    /// Carries the split machine's outputs; logs the end of the move.
    fn flush(&mut self, io: &mut Io<'_>) {
        let Some((ctrl, req)) = &mut self.split else { return };
        while let Some(o) = ctrl.poll_output() {
            match o {
                SplitOutput::ToSwitch(m) => io.to_switch(req.switch, m),
                SplitOutput::ToE2d(c) => io.to_nf(req.src, NfCtrl::E2d(c)),
                SplitOutput::Phase { at, phase: SplitPhase::Converged } => {
                    self.stats.converged = Some(at)
                }
                SplitOutput::Phase { .. } => {}
                // Migration avoidance moves no state.
                SplitOutput::MoveState { .. } => self.stats.unexpected += 1,
            }
        }
        // The old instance no longer sees the moved share: the switch holds the split and
        // every exception's flow has ended.
        if !self.finished && ctrl.phase() == SplitPhase::Converged && ctrl.hw_exceptions() == 0 {
            self.finished = true;
            io.log(MoveLog::Finished { id: req.id });
        }
    }
}

impl Protocol for E2Avoidance {
    fn name(&self) -> &'static str {
        "e2-migration-avoidance"
    }

    /// Affinity: no flow changes instance and no packet is held, so the move itself can
    /// neither lose nor reorder an update.
    fn guarantee(&self) -> Guarantee {
        Guarantee::LossFreeOrderPreserving
    }

    fn on_move(&mut self, req: MoveRequest, io: &mut Io<'_>) {
        if let Some(reason) = refusal(&req, self.split.is_some()) {
            io.log(MoveLog::Failed { id: req.id, reason });
            return;
        }
        let mut ctrl = SplitController::new(SplitConfig {
            strategy: Strategy::MigrationAvoidance,
            port_original: req.src_port,
            port_new: req.dst_port,
            original_rule: None,
            in_port: req.in_ports.first().copied(),
            new_share: self.cfg.share,
            push_threshold: self.cfg.push_threshold,
            // Never-migrate's and always-migrate's parameters: not used.
            hw_free_entries: 0,
            export_per_flow: Dur::ZERO,
            import_per_flow: Dur::ZERO,
        });
        let now = io.now();
        io.log(MoveLog::Started { id: req.id });
        self.stats.started = Some(now);
        // The E2D knows A's flows; the manager needs none to split (M comes from the share).
        ctrl.split(now, &[]);
        self.split = Some((ctrl, req));
        self.flush(io);
    }

    fn on_switch_event(&mut self, _from: NodeId, event: SwitchEvent, io: &mut Io<'_>) {
        let now = io.now();
        match event {
            SwitchEvent::PacketIn { packet, .. } => {
                // The split sends nothing to the controller: a table miss.
                self.stats.unexpected += 1;
                io.drop_packet(packet, LossCause::TableMiss);
            }
            SwitchEvent::FlowRemoved { .. } => {}
            event => {
                let Some((ctrl, req)) = &mut self.split else {
                    self.stats.unexpected += 1;
                    return;
                };
                match event {
                    SwitchEvent::FlowModsDone { xid } => ctrl.handle_switch_done(now, xid),
                    SwitchEvent::FlowModFailed { cookie, error, .. } => {
                        ctrl.handle_switch_failed(cookie);
                        let reason = format!("rule {cookie:?} refused: {error:?}");
                        io.log(MoveLog::Failed { id: req.id, reason });
                    }
                    _ => {}
                }
            }
        }
        self.flush(io);
    }

    fn on_nf_event(&mut self, _from: NodeId, event: NfEvent, io: &mut Io<'_>) {
        match (event, &mut self.split) {
            (NfEvent::E2d(ev), Some((ctrl, _))) => ctrl.handle_e2d(io.now(), ev),
            // Flows ending at A before any split: nothing to do.
            (NfEvent::E2d(_), None) => {}
            _ => self.stats.unexpected += 1,
        }
        self.flush(io);
    }

    fn counters(&self) -> Vec<(&'static str, f64)> {
        let split = self.split.as_ref().map(|(c, _)| c.stats());
        let mut v = vec![
            ("e2_hw_rules_sent", split.map_or(0.0, |s| s.hw_rules_sent as f64)),
            ("e2_hw_rules_deleted", split.map_or(0.0, |s| s.hw_rules_deleted as f64)),
            (
                "protocol_unexpected",
                (self.stats.unexpected + split.map_or(0, |s| s.unexpected)) as f64,
            ),
        ];
        if let (Some(s), Some(c)) = (self.stats.started, self.stats.converged) {
            v.push(("e2_switch_converged_ms", c.saturating_since(s).as_nanos() as f64 / 1e6));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{
        Controller, ControllerConfig, ControllerInput, ControllerOutput, MoveId,
    };
    use crate::e2::migration::{E2d, Steer, FLOW_ID_SPACE};
    use crate::packet::{Flags, Packet};
    use crate::switch::{Switch, SwitchConfig, SwitchOutput, TableMiss, UpdateLatency};

    fn req(in_ports: Vec<PortId>) -> MoveRequest {
        MoveRequest {
            id: MoveId(0),
            flows: Match::any(),
            src: NodeId(2),
            dst: NodeId(3),
            switch: NodeId(1),
            in_ports,
            src_port: PortId(1),
            dst_port: PortId(2),
        }
    }

    fn pkt(flow: u64, seq: u32, hash: u32) -> Packet {
        let mut p = Packet::for_test(flow, seq);
        p.hash = hash;
        p
    }

    const HI: u32 = 3 << 30; // in [M, Y) for a share of 0.5
    const LO: u32 = 1 << 30;

    /// One switch in front of and behind both instances (the what-if testbed): `h1` on port
    /// 0, A on port 1, A' on port 2, the sink on port 3; A's server runs an E2D. Control
    /// messages arrive at once; rule updates take no time.
    struct OneSwitch {
        c: Controller,
        s: Switch,
        e2d: E2d,
        /// Packets the switch sent out of each port.
        sent: Vec<(PortId, Packet)>,
        logs: Vec<MoveLog>,
    }

    impl OneSwitch {
        fn new(share: f64) -> OneSwitch {
            let cfg = SwitchConfig {
                table_capacity: 100,
                update: UpdateLatency::Software { per_rule: Dur::ZERO },
                table_miss: TableMiss::Drop,
            };
            let mut s = Switch::new(cfg, base::RngStreams::new(1).stream("switch/s1/updates"));
            let base = |cookie, in_port, out| Rule {
                cookie: Cookie(cookie),
                priority: 10,
                matcher: Match { in_port: Some(PortId(in_port)), ..Match::any() },
                actions: vec![Action::Output(PortId(out))],
                idle_timeout: None,
            };
            let rules = vec![base(1, 0, 1), base(2, 1, 3), base(3, 2, 3)];
            s.preinstall(Time::ZERO, rules).unwrap();
            s.preinstall(Time::ZERO, vec![tunnel_rule(PortId(1), PortId(2))]).unwrap();
            let cfg = E2AvoidanceConfig { share, push_threshold: 1, ..Default::default() };
            let e2d = E2d::new(cfg.e2d_per_rule);
            let c = Controller::new(
                ControllerConfig { per_msg: Dur::ZERO, buffer_capacity: 100 },
                Box::new(E2Avoidance::new(cfg)),
            );
            OneSwitch { c, s, e2d, sent: Vec::new(), logs: Vec::new() }
        }

        /// Runs every machine at `now` until all are quiet.
        fn pump(&mut self, now: Time) {
            loop {
                let mut busy = false;
                self.c.handle_timeout(now);
                while let Some(o) = self.c.poll_output() {
                    busy = true;
                    match o {
                        ControllerOutput::ToSwitch { msg, .. } => self.s.handle_ctrl(now, msg),
                        ControllerOutput::ToNf { to, msg: NfCtrl::E2d(cmd) } => {
                            assert_eq!(to, NodeId(2), "the E2D of A's server");
                            self.e2d.handle_cmd(now, cmd)
                        }
                        ControllerOutput::Log { log, .. } => self.logs.push(log),
                        o => panic!("{o:?}"),
                    }
                }
                self.s.handle_timeout(now);
                while let Some(o) = self.s.poll_output() {
                    busy = true;
                    match o {
                        SwitchOutput::Transmit { port, packet } => self.sent.push((port, packet)),
                        SwitchOutput::ToController(event) => {
                            self.c.handle(now, ControllerInput::Switch { from: NodeId(1), event })
                        }
                        SwitchOutput::Dropped { packet, cause } => panic!("{cause:?}: {packet:?}"),
                    }
                }
                self.e2d.handle_timeout(now);
                while let Some(ev) = self.e2d.poll_event() {
                    busy = true;
                    let event = NfEvent::E2d(ev);
                    self.c.handle(now, ControllerInput::Nf { from: NodeId(2), event });
                }
                if !busy {
                    return;
                }
            }
        }

        /// `p` enters the switch on `port`; where it went (A's arrivals pass A's E2D: a
        /// detoured packet comes back into the switch on A's port).
        fn packet(&mut self, now: Time, port: u16, p: Packet) -> Vec<(PortId, Packet)> {
            self.s.handle_packet(now, PortId(port), p);
            self.pump(now);
            let mut out = Vec::new();
            for (port, p) in std::mem::take(&mut self.sent) {
                if port != PortId(1) {
                    out.push((port, p));
                    continue;
                }
                match self.e2d.steer(p) {
                    Steer::Local(p) => out.push((port, p)),
                    Steer::Detour(mut p) => {
                        p.tag = DETOUR_TAG;
                        out.extend(self.packet(now, 1, p));
                    }
                    Steer::Held => panic!("migration avoidance holds nothing"),
                }
                self.pump(now);
            }
            out
        }
    }

    fn ports(out: &[(PortId, Packet)]) -> Vec<u16> {
        out.iter().map(|o| o.0 .0).collect()
    }

    #[test]
    fn one_switch_split_keeps_old_flows_at_a_sends_new_upper_flows_to_a_prime_and_never_loops() {
        let mut t = OneSwitch::new(0.5);
        let now = Time::ZERO;
        // Two flows of the upper range and one of the lower start at A.
        for (f, h) in [(1, HI), (2, HI), (3, LO)] {
            assert_eq!(ports(&t.packet(now, 0, pkt(f, 0, h))), vec![1]);
        }
        t.c.handle(now, ControllerInput::Move(req(vec![PortId(0)])));
        t.pump(now);
        // The E2D's filters are written (20 us a rule: two ranges and two exceptions).
        let split = now + Dur::from_micros(80);
        t.pump(split);
        assert_eq!(t.e2d.exceptions(), 2);
        // Exceptions stay at A; a new flow of [M, Y) is detoured through the switch to A';
        // [X, M) stays at A.
        assert_eq!(ports(&t.packet(split, 0, pkt(1, 1, HI))), vec![1]);
        let out = t.packet(split, 0, pkt(4, 0, HI));
        assert_eq!(ports(&out), vec![2]);
        assert_eq!(out[0].1.tag, 0, "the tunnel untags");
        assert_eq!(ports(&t.packet(split, 0, pkt(5, 0, LO))), vec![1]);
        // Flow 2 ends: one exception is left, the threshold: the E2D reports it and the
        // manager pushes it and the ranges to the switch.
        let mut last = pkt(2, 1, HI);
        last.flags.insert(Flags::LAST);
        assert_eq!(ports(&t.packet(split, 0, last)), vec![1]);
        assert_eq!(t.logs, vec![MoveLog::Started { id: MoveId(0) }], "flow 1 is still at A");
        // Now the switch alone steers: the exception to A, new upper flows straight to A'.
        assert_eq!(t.e2d.stats().detoured, 1);
        assert_eq!(ports(&t.packet(split, 0, pkt(1, 2, HI))), vec![1]);
        assert_eq!(ports(&t.packet(split, 0, pkt(6, 0, HI))), vec![2]);
        assert_eq!(ports(&t.packet(split, 0, pkt(7, 0, LO))), vec![1]);
        assert_eq!(t.e2d.stats().detoured, 1, "no detour once the switch holds the split");
        // The instances' output re-entering the switch leaves for the sink, exceptions and
        // both ranges alike: the split's rules match the ingress port only.
        for (port, f, h) in [(1, 1, HI), (1, 7, LO), (2, 6, HI)] {
            assert_eq!(ports(&t.packet(split, port, pkt(f, 3, h))), vec![3]);
        }
        // The last exception's flow ends: the old instance no longer sees the moved share.
        let mut last = pkt(1, 4, HI);
        last.flags.insert(Flags::LAST);
        t.packet(split, 0, last);
        assert_eq!(t.logs.last(), Some(&MoveLog::Finished { id: MoveId(0) }));
        let counters = t.c.protocol().counters();
        assert!(counters.contains(&("protocol_unexpected", 0.0)), "{counters:?}");
        // One exception and two ranges written, the exception deleted.
        assert!(counters.contains(&("e2_hw_rules_sent", 3.0)), "{counters:?}");
        assert!(counters.contains(&("e2_hw_rules_deleted", 1.0)), "{counters:?}");
    }

    #[test]
    fn the_share_sets_the_split_point() {
        for (share, m) in [(0.5, FLOW_ID_SPACE / 2), (0.25, 3 * FLOW_ID_SPACE / 4), (1.0, 0)] {
            let mut t = OneSwitch::new(share);
            t.c.handle(Time::ZERO, ControllerInput::Move(req(vec![PortId(0)])));
            t.c.handle_timeout(Time::ZERO);
            let out: Vec<_> = std::iter::from_fn(|| t.c.poll_output()).collect();
            assert!(
                out.iter().any(|o| matches!(o, ControllerOutput::ToNf {
                    msg: NfCtrl::E2d(crate::e2::migration::E2dCmd::Split { m: x, .. }), ..
                } if *x == m)),
                "{share}: {out:?}"
            );
        }
    }

    #[test]
    fn a_move_from_two_ingress_ports_is_refused() {
        let mut t = OneSwitch::new(0.5);
        t.c.handle(Time::ZERO, ControllerInput::Move(req(vec![PortId(0), PortId(4)])));
        t.pump(Time::ZERO);
        assert!(
            matches!(&t.logs[..], [MoveLog::Failed { reason, .. }] if reason.contains("one switch port"))
        );
        // Nothing was asked of the E2D.
        t.pump(Time::ZERO + Dur::from_millis(1));
        assert_eq!(t.e2d.stats().rules_applied, 0);
    }
}
