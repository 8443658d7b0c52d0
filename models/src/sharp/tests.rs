use super::*;
use crate::controller::{Controller, ControllerConfig, ControllerInput, ControllerOutput};
use crate::nf::NfCtrl;

fn pkt(flow: u64, seq: u32) -> Packet {
    Packet::for_test(flow, seq)
}

fn req(id: u32) -> MoveRequest {
    MoveRequest {
        id: MoveId(id),
        flows: Match::any(),
        src: NodeId(2),
        dst: NodeId(3),
        switch: NodeId(1),
        in_ports: vec![PortId(0)],
        src_port: PortId(1),
        dst_port: PortId(2),
    }
}

fn settle(c: &mut Controller, now: Time) -> Vec<ControllerOutput> {
    c.handle_timeout(now);
    std::iter::from_fn(|| c.poll_output()).collect()
}

fn switch_msgs(out: &[ControllerOutput]) -> Vec<SwitchCtrl> {
    out.iter()
        .filter_map(|o| match o {
            ControllerOutput::ToSwitch { msg, .. } => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn ctrl_packets_round_trip() {
    let c = CtrlPacket {
        kind: CtrlKind::StartHo,
        id: MoveId(7),
        src: NodeId(4),
        dst: NodeId(9),
        flow: pkt(3, 0).tuple,
        flows: 2,
        sides: 2,
        last: true,
    };
    let p = c.encode();
    assert!(!p.is_data());
    assert_eq!(CtrlPacket::decode(&p), Some(c));
    assert_eq!(CtrlPacket::decode(&pkt(1, 0)), None);
    assert_eq!(super::hsl_test_parse(ctrl_mark(MoveId(5))), Some((MoveId(5), true)));
    assert_eq!(super::hsl_test_parse(sw_mark(MoveId(5))), Some((MoveId(5), false)));
}

#[test]
fn a_request_installs_detection_at_2r_plus_1_and_forwarding_at_2r() {
    let cfg = SharpConfig { priority: 7, ..SharpConfig::default() };
    let mut c = Controller::new(
        ControllerConfig { per_msg: Dur::ZERO, buffer_capacity: 100 },
        Box::new(Sharp::new(cfg.clone())),
    );
    c.handle(Time::ZERO, ControllerInput::Move(req(0)));
    let out = switch_msgs(&settle(&mut c, Time::ZERO));
    let SwitchCtrl::FlowMods { mods, .. } = &out[0] else { panic!("{out:?}") };
    let rules: Vec<(u16, Vec<Action>, Option<Dur>)> = mods
        .iter()
        .map(|m| match m {
            FlowMod::Add(r) => (r.priority, r.actions.clone(), r.idle_timeout),
            _ => panic!("{m:?}"),
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            (15, vec![Action::ToController], Some(cfg.max_silence)),
            (14, vec![Action::Output(PortId(2))], None),
        ]
    );
    // A detected flow gets an exact entry to the controller, and its packets are buffered.
    for s in 0..3 {
        let event = SwitchEvent::PacketIn {
            in_port: PortId(0),
            packet: pkt(1, s),
            reason: PacketInReason::Action,
        };
        c.handle(Time::ZERO, ControllerInput::Switch { from: NodeId(1), event });
    }
    let out = switch_msgs(&settle(&mut c, Time::ZERO));
    assert_eq!(out.len(), 1, "one exact entry per flow: {out:?}");
    assert_eq!(c.buffer().len(), 3);
}

#[test]
fn hsl_releases_ctrl_buff_before_sw_buff_after_transfer_and_buffer_end() {
    let (src, dst) = (NodeId(2), NodeId(3));
    let mut h = Hsl::new(dst, HslConfig::default());
    let id = MoveId(0);
    let start = CtrlPacket {
        kind: CtrlKind::StartHo,
        id,
        src,
        dst,
        flow: pkt(1, 0).tuple,
        flows: 1,
        sides: 1,
        last: true,
    };
    let t = Time::ZERO;
    h.handle_packet(t, start.encode());
    let out: Vec<_> = std::iter::from_fn(|| h.poll_output()).collect();
    let xid = match &out[0] {
        HslOutput::NfCtrl(NfCtrl::Accept { xid, peer, .. }) if *peer == src => *xid,
        o => panic!("{o:?}"),
    };
    assert_eq!(out[1], HslOutput::Reply(HslReply { id: 0, kind: HslReplyKind::Ack }));
    // Direct packets (switch-tagged) arrive before the controller's marked ones.
    for s in [5, 6] {
        h.handle_packet(t, Packet { tag: sw_mark(id), ..pkt(1, s) });
    }
    for s in [3, 4] {
        h.handle_packet(t, Packet { tag: ctrl_mark(id), ..pkt(1, s) });
    }
    assert_eq!(h.holding(), 4);
    let end = CtrlPacket { kind: CtrlKind::BufferEnd, ..start };
    h.handle_packet(t, end.encode());
    assert!(h.poll_output().is_none(), "the state is not there yet");
    assert!(h.handle_nf_event(t, &NfEvent::TransferDone { xid, flows: 1 }));
    let out: Vec<_> = std::iter::from_fn(|| h.poll_output()).collect();
    let seqs: Vec<u32> = out
        .iter()
        .filter_map(|o| match o {
            HslOutput::ToNf(p) => {
                assert_eq!(p.tag, 0);
                Some(p.seq)
            }
            _ => None,
        })
        .collect();
    assert_eq!(seqs, vec![3, 4, 5, 6]);
    assert_eq!(
        out.last(),
        Some(&HslOutput::Reply(HslReply { id: 0, kind: HslReplyKind::Released }))
    );
    assert_eq!(h.stats().max_buffered, 4);
    // After the release, tagged packets go straight to the NF.
    h.handle_packet(t, Packet { tag: sw_mark(id), ..pkt(1, 7) });
    assert!(matches!(h.poll_output(), Some(HslOutput::ToNf(p)) if p.seq == 7));
}

#[test]
fn hsl_failing_with_its_vnf_loses_its_buffers_and_keeps_its_handover() {
    let (src, dst) = (NodeId(2), NodeId(3));
    let mut h = Hsl::new(dst, HslConfig::default());
    let id = MoveId(0);
    let start = CtrlPacket {
        kind: CtrlKind::StartHo,
        id,
        src,
        dst,
        flow: pkt(1, 0).tuple,
        flows: 1,
        sides: 1,
        last: true,
    };
    h.handle_packet(Time::ZERO, start.encode());
    let xid = match h.poll_output() {
        Some(HslOutput::NfCtrl(NfCtrl::Accept { xid, .. })) => xid,
        o => panic!("{o:?}"),
    };
    while h.poll_output().is_some() {}
    h.handle_packet(Time::ZERO, Packet { tag: ctrl_mark(id), ..pkt(1, 3) });
    h.handle_packet(Time::ZERO, Packet { tag: sw_mark(id), ..pkt(1, 4) });
    let lost: Vec<u32> = h.fail().iter().map(|p| p.seq).collect();
    assert_eq!(lost, vec![3, 4]);
    assert_eq!(h.holding(), 0);
    // Back up, the handover goes on: a later direct packet waits for BUFFER_END and the state.
    h.handle_packet(Time::ZERO, Packet { tag: sw_mark(id), ..pkt(1, 5) });
    h.handle_packet(Time::ZERO, CtrlPacket { kind: CtrlKind::BufferEnd, ..start }.encode());
    assert!(h.handle_nf_event(Time::ZERO, &NfEvent::TransferDone { xid, flows: 1 }));
    let seqs: Vec<u32> = std::iter::from_fn(|| h.poll_output())
        .filter_map(|o| if let HslOutput::ToNf(p) = o { Some(p.seq) } else { None })
        .collect();
    assert_eq!(seqs, vec![5]);
}

#[test]
fn hsl_counts_a_control_packet_for_another_vnf() {
    let mut h = Hsl::new(NodeId(8), HslConfig::default());
    let start = CtrlPacket {
        kind: CtrlKind::StartHo,
        id: MoveId(0),
        src: NodeId(2),
        dst: NodeId(3),
        flow: pkt(1, 0).tuple,
        flows: 1,
        sides: 1,
        last: true,
    };
    h.handle_packet(Time::ZERO, start.encode());
    assert!(h.poll_output().is_none());
    assert_eq!(h.stats().unexpected, 1);
}

#[test]
fn coexisting_requests_take_their_own_priorities_and_the_higher_one_detects() {
    let mut cfg = SharpConfig::default();
    cfg.priorities.insert(0, 10);
    cfg.priorities.insert(1, 20);
    let mut c = Controller::new(
        ControllerConfig { per_msg: Dur::ZERO, buffer_capacity: 100 },
        Box::new(Sharp::new(cfg)),
    );
    c.handle(Time::ZERO, ControllerInput::Move(req(0)));
    c.handle(Time::ZERO, ControllerInput::Move(MoveRequest { dst: NodeId(4), ..req(1) }));
    let out = switch_msgs(&settle(&mut c, Time::ZERO));
    let prios: Vec<Vec<u16>> = out
        .iter()
        .map(|m| match m {
            SwitchCtrl::FlowMods { mods, .. } => mods
                .iter()
                .map(|m| match m {
                    FlowMod::Add(r) => r.priority,
                    _ => panic!("{m:?}"),
                })
                .collect(),
            _ => panic!("{m:?}"),
        })
        .collect();
    assert_eq!(prios, vec![vec![21, 20], vec![41, 40]]);
    // A packet both requests match went to the controller by the higher one's detection entry
    // (41 beats 21): it is that handover's.
    let event = SwitchEvent::PacketIn {
        in_port: PortId(0),
        packet: pkt(1, 0),
        reason: PacketInReason::Action,
    };
    c.handle(Time::ZERO, ControllerInput::Switch { from: NodeId(1), event });
    settle(&mut c, Time::ZERO);
    assert_eq!(c.buffer().group_len(group(MoveId(1), 0)), 1);
    assert_eq!(c.buffer().group_len(group(MoveId(0), 0)), 0);
}

fn ctrl_packets(out: &[SwitchCtrl]) -> Vec<CtrlPacket> {
    out.iter()
        .filter_map(|m| match m {
            SwitchCtrl::PacketOut { packet, .. } => CtrlPacket::decode(packet),
            _ => None,
        })
        .collect()
}

/// `StartHo::PerFlow`: a flow's first packet-in starts its own handover (`START_HO` to both
/// VNFs at once); as written (`AfterDetection`), nothing starts before the detection phase
/// ends. The flow's exact entry is deleted only after the detection phase, even when the
/// destination released it before.
#[test]
fn per_flow_start_hands_a_flow_over_from_its_first_packet_in() {
    for start in [StartHo::AfterDetection, StartHo::PerFlow] {
        let cfg = SharpConfig { start, ..SharpConfig::default() };
        let mut c = Controller::new(
            ControllerConfig { per_msg: Dur::ZERO, buffer_capacity: 100 },
            Box::new(Sharp::new(cfg)),
        );
        c.handle(Time::ZERO, ControllerInput::Move(req(0)));
        let out = switch_msgs(&settle(&mut c, Time::ZERO));
        let SwitchCtrl::FlowMods { mods, .. } = &out[0] else { panic!("{out:?}") };
        let FlowMod::Add(detection) = &mods[0] else { panic!("{mods:?}") };
        let detection = detection.cookie;
        let event = SwitchEvent::PacketIn {
            in_port: PortId(0),
            packet: pkt(1, 0),
            reason: PacketInReason::Action,
        };
        c.handle(Time::ZERO, ControllerInput::Switch { from: NodeId(1), event });
        let out = switch_msgs(&settle(&mut c, Time::ZERO));
        let starts = ctrl_packets(&out);
        let flow = MoveId(FLOW_HANDOVER_BASE);
        if start == StartHo::AfterDetection {
            assert!(starts.is_empty(), "{starts:?}");
            assert_eq!(c.buffer().group_len(group(MoveId(0), 0)), 1);
            continue;
        }
        assert_eq!(starts.len(), 2, "START_HO to both VNFs: {out:?}");
        assert!(starts.iter().all(|s| s.kind == CtrlKind::StartHo && s.id == flow && s.flows == 1));
        assert_eq!(c.buffer().group_len(group(flow, 0)), 1);
        // Both ACKs: phase 2 releases the buffer marked and redirects the exact entry.
        for from in [NodeId(2), NodeId(3)] {
            let event = NfEvent::Hsl(HslReply { id: flow.0, kind: HslReplyKind::Ack });
            c.handle(Time::ZERO, ControllerInput::Nf { from, event });
        }
        let out = switch_msgs(&settle(&mut c, Time::ZERO));
        assert!(out.iter().any(|m| matches!(m, SwitchCtrl::PacketOut { packet, .. }
            if packet.tag == ctrl_mark(flow))));
        assert_eq!(c.buffer().len(), 0);
        // Released while the request still detects: no deletion yet.
        let released = NfEvent::Hsl(HslReply { id: flow.0, kind: HslReplyKind::Released });
        c.handle(Time::ZERO, ControllerInput::Nf { from: NodeId(3), event: released });
        let deletes = |out: &[SwitchCtrl]| {
            out.iter()
                .filter(|m| {
                    matches!(m, SwitchCtrl::FlowMods { mods, .. }
                    if mods.iter().any(|m| matches!(m, FlowMod::Delete { .. })))
                })
                .count()
        };
        assert_eq!(deletes(&switch_msgs(&settle(&mut c, Time::ZERO))), 0);
        let event = SwitchEvent::FlowRemoved { cookie: detection, packets: 1, bytes: 0 };
        c.handle(Time::ZERO, ControllerInput::Switch { from: NodeId(1), event });
        assert_eq!(deletes(&switch_msgs(&settle(&mut c, Time::ZERO))), 1);
        assert_eq!(c.protocol().counters()[2], ("protocol_unexpected", 0.0));
    }
}

/// One switch that is both IngrSw and EgrSw (ingress == egress): `h1` on port 0, `VNF_1` on
/// port 1, `VNF_n` on port 2, the sink on port 3; the VNFs' output comes back into the same
/// switch. Returns every packet the switch transmitted, by port, and drives the controller
/// and the switch against each other at `now` until both are quiet.
struct OneSwitch {
    c: Controller,
    s: crate::switch::Switch,
    sent: Vec<(PortId, Packet)>,
}

impl OneSwitch {
    fn new() -> OneSwitch {
        use crate::switch::{Switch, SwitchConfig, TableMiss, UpdateLatency};
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
        s.preinstall(Time::ZERO, vec![base(1, 0, 1), base(2, 1, 3), base(3, 2, 3)]).unwrap();
        let c = Controller::new(
            ControllerConfig { per_msg: Dur::ZERO, buffer_capacity: 100 },
            Box::new(Sharp::new(SharpConfig::default())),
        );
        OneSwitch { c, s, sent: Vec::new() }
    }

    fn pump(&mut self, now: Time) {
        use crate::switch::SwitchOutput;
        loop {
            let mut busy = false;
            self.c.handle_timeout(now);
            while let Some(o) = self.c.poll_output() {
                if let ControllerOutput::ToSwitch { msg, .. } = o {
                    busy = true;
                    self.s.handle_ctrl(now, msg);
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
            if !busy {
                return;
            }
        }
    }

    fn packet(&mut self, now: Time, in_port: u16, p: Packet) -> Vec<(PortId, Packet)> {
        self.s.handle_packet(now, PortId(in_port), p);
        self.pump(now);
        std::mem::take(&mut self.sent)
    }
}

/// SHarP III-C's exact entries carry "no wildcard fields": they match the flow as it enters
/// IngrSw, in-port included. On a switch that is also the egress switch, the VNFs' output of
/// the flow re-enters the same switch from the VNFs' ports; it must leave towards the sink,
/// neither be taken to the controller again (phase 1) nor be sent back into `VNF_n` by the
/// redirected entry (phase 2), where it would be processed twice. The test packet, injected
/// at IngrSw as if it had arrived on the flow's in-port, still meets the redirected entry.
#[test]
fn one_switch_handover_vnf_output_reentering_the_switch_leaves_for_the_sink() {
    let mut t = OneSwitch::new();
    let now = Time::ZERO;
    let r = MoveRequest { src_port: PortId(1), dst_port: PortId(2), ..req(0) };
    t.c.handle(now, ControllerInput::Move(r));
    t.pump(now);
    // Phase 1: the flow is detected and buffered at the controller.
    assert!(t.packet(now, 0, pkt(1, 5)).is_empty());
    assert_eq!(t.c.buffer().len(), 1);
    // Packet 4, processed by VNF_1 before the handover, comes back from VNF_1.
    let out = t.packet(now, 1, pkt(1, 4));
    assert_eq!(out.iter().map(|o| (o.0, o.1.seq)).collect::<Vec<_>>(), vec![(PortId(3), 4)]);
    assert_eq!(t.c.buffer().len(), 1, "VNF_1's output was taken for the flow's next packet");
    // The detection phase ends; START_HO to both VNFs; both ACK.
    let later = now + SharpConfig::default().max_silence;
    t.pump(later);
    let starts: Vec<PortId> = std::mem::take(&mut t.sent).into_iter().map(|o| o.0).collect();
    assert_eq!(starts, vec![PortId(1), PortId(2)]);
    for from in [NodeId(2), NodeId(3)] {
        let event = NfEvent::Hsl(HslReply { id: 0, kind: HslReplyKind::Ack });
        t.c.handle(later, ControllerInput::Nf { from, event });
    }
    t.pump(later);
    // Phase 2: the buffered packet goes to VNF_n marked, then the test packet comes back to
    // the controller and BUFFER_END follows it to VNF_n.
    let out = std::mem::take(&mut t.sent);
    assert_eq!(out[0].0, PortId(2));
    assert_eq!((out[0].1.seq, out[0].1.tag), (5, ctrl_mark(MoveId(0))));
    let ctrl: Vec<CtrlKind> =
        out.iter().filter_map(|o| CtrlPacket::decode(&o.1)).map(|c| c.kind).collect();
    assert_eq!(ctrl, vec![CtrlKind::Test, CtrlKind::BufferEnd], "{out:?}");
    assert!(out.iter().all(|o| o.0 == PortId(2)));
    // New packets of the flow go straight to VNF_n, tagged for sw_buff...
    let out = t.packet(later, 0, pkt(1, 6));
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, out[0].1.tag), (PortId(2), sw_mark(MoveId(0))));
    // ... and VNF_n's output of them leaves for the sink, not back into VNF_n.
    let out = t.packet(later, 2, pkt(1, 6));
    assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), vec![PortId(3)]);
    assert_eq!(t.c.protocol().counters()[2], ("protocol_unexpected", 0.0));
}
