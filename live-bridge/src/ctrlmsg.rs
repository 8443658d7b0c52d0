//! The text form of the controller's messages on the control channel and in its log.
//!
//! `models` types carry no serde; this is their one-line, whitespace-separated form, written
//! and read here only. What the live controller exchanges with a switch host today:
//!
//! ```text
//!  controller -> switch   flowmods <xid> <n> { add <cookie> <prio> <match> <actions> <idle_ns|->
//!                                            | modify <cookie> <actions> | delete <cookie> }*n
//!  switch -> controller   done <xid> | failed <xid> <cookie> table_full|no_such_rule
//!                         | removed <cookie> <packets> <bytes>
//!                         | packetin <in_port> <action|dup|miss> <packet>
//!  controller -> switch   packetout <packet> <port|->       (SHarP's control packets, releases)
//!  NF host -> controller  hsl <handover> ack|released       (SHarP's HSL replies)
//!  NF host <-> NF host    state <id> <flow> <flow state> | packet <id> <packet> | done <id> <n>
//!  operator -> controller move <id> <match> <src> <dst> <switch> <in_ports> <src_port> <dst_port>
//! ```
//!
//! A packet is one token of twelve comma-separated fields,
//! `flow,seq,src,dst,sport,dport,proto,hash,size,sent_ns,flags,tag` (addresses as `u32`); a
//! flow state is `src,dst,sport,dport,proto,hash,packets,bytes,created,last_seen` then the
//! update log `digest,updates,reordered,duplicates,max_seq|-,last_update` and its applied
//! sequence numbers as runs `lo-hi` joined by `.` (`none` when empty).
//!
//! A match is one token of eight comma-separated fields, `-` for a wildcard:
//! `in_port,src/len,dst/len,sport,dport,proto,lo-hi,tag`; actions are one token joined by
//! `|`: `out.P`, `ctl`, `dup`, `tag.T`, `drop` (`none` for no action); port lists are joined by
//! `,`. Packets travel in the text form above (packet-in, packet-out).

use std::fmt::Write as _;

use base::{Dur, Time};
use models::controller::{ControllerInput, MoveId, MoveRequest};
use models::nf::{EventAction, ExportLock, FlowState, NfCtrl, NfEvent, PeerMsg};
use models::oracle::{SeqSet, UpdateLog};
use models::sharp::{HslReply, HslReplyKind};
use models::switch::{
    Action, Cookie, FlowMod, FlowModError, Match, PacketInReason, Prefix, Rule, SwitchCtrl,
    SwitchEvent,
};
use models::{FiveTuple, Flags, FlowId, NodeId, Packet, PortId, Xid};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CtrlMsgError {
    #[error("message ended early: expected {0}")]
    Missing(&'static str),
    #[error("bad {what}: {token:?}")]
    Bad { what: &'static str, token: String },
    #[error("unknown message {0:?}")]
    Unknown(String),
    #[error("{0} does not travel on the control channel yet")]
    Unsupported(&'static str),
    #[error("trailing tokens after the message: {0:?}")]
    Trailing(String),
}

type R<T> = Result<T, CtrlMsgError>;

/// Writes a controller-to-switch message.
pub fn encode_switch_ctrl(m: &SwitchCtrl) -> R<String> {
    let (xid, mods) = match m {
        SwitchCtrl::FlowMods { xid, mods } => (xid, mods),
        SwitchCtrl::PacketOut { packet, out } => {
            let port = out.map_or("-".to_string(), |p| p.0.to_string());
            return Ok(format!("packetout {} {port}", encode_packet(packet)));
        }
        SwitchCtrl::PacketOutTable { packet, in_port } => {
            return Ok(format!("packetout-table {} {}", encode_packet(packet), in_port.0));
        }
    };
    let mut s = format!("flowmods {} {}", xid.0, mods.len());
    for fm in mods {
        match fm {
            FlowMod::Add(r) => {
                let idle = r.idle_timeout.map_or("-".to_string(), |d| d.as_nanos().to_string());
                let _ = write!(
                    s,
                    " add {} {} {} {} {idle}",
                    r.cookie.0,
                    r.priority,
                    encode_match(&r.matcher),
                    encode_actions(&r.actions)
                );
            }
            FlowMod::Modify { cookie, actions } => {
                let _ = write!(s, " modify {} {}", cookie.0, encode_actions(actions));
            }
            FlowMod::Delete { cookie } => {
                let _ = write!(s, " delete {}", cookie.0);
            }
        }
    }
    Ok(s)
}

/// Reads a controller-to-switch message.
pub fn decode_switch_ctrl(line: &str) -> R<SwitchCtrl> {
    let mut t = Tokens::new(line);
    match t.word("message")? {
        "flowmods" => {
            let xid = Xid(t.num("xid")?);
            let n: usize = t.num("count")?;
            let mut mods = Vec::with_capacity(n.min(4096));
            for _ in 0..n {
                mods.push(match t.word("flow mod")? {
                    "add" => FlowMod::Add(Rule {
                        cookie: Cookie(t.num("cookie")?),
                        priority: t.num("priority")?,
                        matcher: decode_match(t.word("match")?)?,
                        actions: decode_actions(t.word("actions")?)?,
                        idle_timeout: opt(t.word("idle timeout")?, "idle timeout")?
                            .map(Dur::from_nanos),
                    }),
                    "modify" => FlowMod::Modify {
                        cookie: Cookie(t.num("cookie")?),
                        actions: decode_actions(t.word("actions")?)?,
                    },
                    "delete" => FlowMod::Delete { cookie: Cookie(t.num("cookie")?) },
                    other => return Err(bad("flow mod", other)),
                });
            }
            t.end()?;
            Ok(SwitchCtrl::FlowMods { xid, mods })
        }
        "packetout" => {
            let packet = decode_packet(t.word("packet")?)?;
            let out = opt(t.word("port")?, "port")?.map(PortId);
            t.end()?;
            Ok(SwitchCtrl::PacketOut { packet, out })
        }
        "packetout-table" => {
            let packet = decode_packet(t.word("packet")?)?;
            let in_port = PortId(t.num("in-port")?);
            t.end()?;
            Ok(SwitchCtrl::PacketOutTable { packet, in_port })
        }
        other => Err(CtrlMsgError::Unknown(other.to_string())),
    }
}

/// Writes a switch-to-controller message.
pub fn encode_switch_event(e: &SwitchEvent) -> R<String> {
    Ok(match e {
        SwitchEvent::FlowModsDone { xid } => format!("done {}", xid.0),
        SwitchEvent::FlowModFailed { xid, cookie, error } => {
            let err = match error {
                FlowModError::TableFull => "table_full",
                FlowModError::NoSuchRule => "no_such_rule",
            };
            format!("failed {} {} {err}", xid.0, cookie.0)
        }
        SwitchEvent::FlowRemoved { cookie, packets, bytes } => {
            format!("removed {} {packets} {bytes}", cookie.0)
        }
        SwitchEvent::PacketIn { in_port, packet, reason } => {
            let why = match reason {
                PacketInReason::Action => "action",
                PacketInReason::Duplicate => "dup",
                PacketInReason::TableMiss => "miss",
            };
            format!("packetin {} {why} {}", in_port.0, encode_packet(packet))
        }
    })
}

/// Reads a switch-to-controller message.
pub fn decode_switch_event(line: &str) -> R<SwitchEvent> {
    let mut t = Tokens::new(line);
    let e = match t.word("message")? {
        "done" => SwitchEvent::FlowModsDone { xid: Xid(t.num("xid")?) },
        "failed" => SwitchEvent::FlowModFailed {
            xid: Xid(t.num("xid")?),
            cookie: Cookie(t.num("cookie")?),
            error: match t.word("error")? {
                "table_full" => FlowModError::TableFull,
                "no_such_rule" => FlowModError::NoSuchRule,
                other => return Err(bad("flow mod error", other)),
            },
        },
        "removed" => SwitchEvent::FlowRemoved {
            cookie: Cookie(t.num("cookie")?),
            packets: t.num("packets")?,
            bytes: t.num("bytes")?,
        },
        "packetin" => SwitchEvent::PacketIn {
            in_port: PortId(t.num("in port")?),
            reason: match t.word("reason")? {
                "action" => PacketInReason::Action,
                "dup" => PacketInReason::Duplicate,
                "miss" => PacketInReason::TableMiss,
                other => return Err(bad("packet-in reason", other)),
            },
            packet: decode_packet(t.word("packet")?)?,
        },
        other => return Err(CtrlMsgError::Unknown(other.to_string())),
    };
    t.end()?;
    Ok(e)
}

/// Writes a controller input as the controller log records it: `switch <node> <event>` or
/// `move ...`.
pub fn encode_input(i: &ControllerInput) -> R<String> {
    match i {
        ControllerInput::Switch { from, event } => {
            Ok(format!("switch {} {}", from.0, encode_switch_event(event)?))
        }
        ControllerInput::Move(r) => Ok(format!(
            "move {} {} {} {} {} {} {} {}",
            r.id.0,
            encode_match(&r.flows),
            r.src.0,
            r.dst.0,
            r.switch.0,
            join(r.in_ports.iter().map(|p| p.0.to_string()), ","),
            r.src_port.0,
            r.dst_port.0
        )),
        ControllerInput::Nf { from, event } => {
            Ok(format!("nf {} {}", from.0, encode_nf_event(event)?))
        }
    }
}

/// Writes an NF host's event to the controller: SHarP's HSL replies and OpenNF's events
/// (`chunk`, `perflowdone`, `putdone`, `deldone`, `transferdone`, `holdended`, `pkt`).
pub fn encode_nf_event(e: &NfEvent) -> R<String> {
    Ok(match e {
        NfEvent::Hsl(HslReply { id, kind }) => {
            let k = match kind {
                HslReplyKind::Ack => "ack",
                HslReplyKind::Released => "released",
            };
            format!("hsl {id} {k}")
        }
        NfEvent::PerflowChunk { xid, flow, state } => {
            format!("chunk {} {} {}", xid.0, flow.0, encode_flow_state(state))
        }
        NfEvent::PerflowDone { xid, flows } => format!("perflowdone {} {flows}", xid.0),
        NfEvent::PutDone { xid, flows } => format!("putdone {} {flows}", xid.0),
        NfEvent::DelDone { xid, flows } => format!("deldone {} {flows}", xid.0),
        NfEvent::TransferDone { xid, flows } => format!("transferdone {} {flows}", xid.0),
        NfEvent::HoldEnded { id } => format!("holdended {id}"),
        NfEvent::Packet { id, packet, exported } => {
            format!("pkt {id} {} {}", encode_packet(packet), u8::from(*exported))
        }
        NfEvent::SetFilter { .. } => return Err(CtrlMsgError::Unsupported("U-HAUL's SetFilter")),
        NfEvent::E2d(_) => return Err(CtrlMsgError::Unsupported("E2's E2D events")),
    })
}

/// Reads what [`encode_nf_event`] wrote.
pub fn decode_nf_event(line: &str) -> R<NfEvent> {
    let mut t = Tokens::new(line);
    let e = match t.word("NF event")? {
        "hsl" => NfEvent::Hsl(HslReply {
            id: t.num("handover")?,
            kind: match t.word("HSL reply")? {
                "ack" => HslReplyKind::Ack,
                "released" => HslReplyKind::Released,
                other => return Err(bad("HSL reply", other)),
            },
        }),
        "chunk" => NfEvent::PerflowChunk {
            xid: Xid(t.num("xid")?),
            flow: FlowId(t.num("flow")?),
            state: Box::new(decode_flow_state(t.word("flow state")?, t.word("update log")?)?),
        },
        "perflowdone" => NfEvent::PerflowDone { xid: Xid(t.num("xid")?), flows: t.num("flows")? },
        "putdone" => NfEvent::PutDone { xid: Xid(t.num("xid")?), flows: t.num("flows")? },
        "deldone" => NfEvent::DelDone { xid: Xid(t.num("xid")?), flows: t.num("flows")? },
        "transferdone" => NfEvent::TransferDone { xid: Xid(t.num("xid")?), flows: t.num("flows")? },
        "holdended" => NfEvent::HoldEnded { id: t.num("hold id")? },
        "pkt" => NfEvent::Packet {
            id: t.num("lock id")?,
            packet: decode_packet(t.word("packet")?)?,
            exported: match t.word("exported")? {
                "0" => false,
                "1" => true,
                other => return Err(bad("exported (0 or 1)", other)),
            },
        },
        other => return Err(CtrlMsgError::Unknown(other.to_string())),
    };
    t.end()?;
    Ok(e)
}

/// Writes a controller-to-NF message (OpenNF's southbound calls).
pub fn encode_nf_ctrl(c: &NfCtrl) -> R<String> {
    let lock = |l: &Option<ExportLock>| match l {
        None => "-".to_string(),
        Some(l) => {
            let a = match l.action {
                EventAction::Drop => "drop",
                EventAction::Buffer => "buffer",
                EventAction::Copy => "copy",
            };
            format!("{}:{a}:{}", l.id, u8::from(l.late))
        }
    };
    Ok(match c {
        NfCtrl::GetPerflow { xid, filter, lock: l } => {
            format!("getperflow {} {} {}", xid.0, encode_match(filter), lock(l))
        }
        NfCtrl::PutPerflow { xid, states } => {
            let mut s = format!("putperflow {} {}", xid.0, states.len());
            for (f, st) in states {
                let _ = write!(s, " {} {}", f.0, encode_flow_state(st));
            }
            s
        }
        NfCtrl::DelPerflow { xid, filter } => {
            format!("delperflow {} {}", xid.0, encode_match(filter))
        }
        NfCtrl::SetCreateState { create, unseen_tag } => {
            format!("setcreate {} {unseen_tag}", u8::from(*create))
        }
        NfCtrl::DisableEvents { id } => format!("disable {id}"),
        NfCtrl::Transfer { xid, peer, filter, lock: l } => {
            format!("transfer {} {} {} {}", xid.0, peer.0, encode_match(filter), lock(&Some(*l)))
        }
        NfCtrl::Accept { xid, peer, id } => format!("accept {} {} {id}", xid.0, peer.0),
        NfCtrl::Hold { id, filter } => format!("hold {id} {}", encode_match(filter)),
        NfCtrl::SetExportWindow { active_within } => {
            format!(
                "window {}",
                active_within.map_or("-".to_string(), |d| d.as_nanos().to_string())
            )
        }
        NfCtrl::TransferFlows { .. } => {
            return Err(CtrlMsgError::Unsupported("TransferFlows (the HSL's, inside the host)"))
        }
        NfCtrl::GetElephant { .. } => {
            return Err(CtrlMsgError::Unsupported("U-HAUL's getElephant"))
        }
        NfCtrl::E2d(_) => return Err(CtrlMsgError::Unsupported("E2's E2D commands")),
    })
}

/// Reads what [`encode_nf_ctrl`] wrote.
pub fn decode_nf_ctrl(line: &str) -> R<NfCtrl> {
    fn lock(s: &str) -> R<Option<ExportLock>> {
        if s == "-" {
            return Ok(None);
        }
        let f: Vec<&str> = s.split(':').collect();
        if f.len() != 3 {
            return Err(bad("lock (id:action:late)", s));
        }
        Ok(Some(ExportLock {
            id: f[0].parse().map_err(|_| bad("lock id", s))?,
            action: match f[1] {
                "drop" => EventAction::Drop,
                "buffer" => EventAction::Buffer,
                "copy" => EventAction::Copy,
                _ => return Err(bad("lock action", s)),
            },
            late: match f[2] {
                "0" => false,
                "1" => true,
                _ => return Err(bad("lock late (0 or 1)", s)),
            },
        }))
    }
    let mut t = Tokens::new(line);
    let c = match t.word("NF message")? {
        "getperflow" => NfCtrl::GetPerflow {
            xid: Xid(t.num("xid")?),
            filter: decode_match(t.word("filter")?)?,
            lock: lock(t.word("lock")?)?,
        },
        "putperflow" => {
            let xid = Xid(t.num("xid")?);
            let n: usize = t.num("count")?;
            let mut states = Vec::with_capacity(n.min(4096));
            for _ in 0..n {
                let f = FlowId(t.num("flow")?);
                states.push((f, decode_flow_state(t.word("flow state")?, t.word("update log")?)?));
            }
            NfCtrl::PutPerflow { xid, states }
        }
        "delperflow" => {
            NfCtrl::DelPerflow { xid: Xid(t.num("xid")?), filter: decode_match(t.word("filter")?)? }
        }
        "setcreate" => NfCtrl::SetCreateState {
            create: t.num::<u8>("create")? != 0,
            unseen_tag: t.num("unseen tag")?,
        },
        "disable" => NfCtrl::DisableEvents { id: t.num("lock id")? },
        "transfer" => NfCtrl::Transfer {
            xid: Xid(t.num("xid")?),
            peer: NodeId(t.num("peer")?),
            filter: decode_match(t.word("filter")?)?,
            lock: lock(t.word("lock")?)?.ok_or(CtrlMsgError::Missing("a transfer's lock"))?,
        },
        "accept" => NfCtrl::Accept {
            xid: Xid(t.num("xid")?),
            peer: NodeId(t.num("peer")?),
            id: t.num("transfer id")?,
        },
        "hold" => NfCtrl::Hold { id: t.num("hold id")?, filter: decode_match(t.word("filter")?)? },
        "window" => NfCtrl::SetExportWindow {
            active_within: opt(t.word("window")?, "window")?.map(Dur::from_nanos),
        },
        other => return Err(CtrlMsgError::Unknown(other.to_string())),
    };
    t.end()?;
    Ok(c)
}

/// Writes an instance-to-instance message (the NF's own state transfer).
pub fn encode_peer(m: &PeerMsg) -> String {
    match m {
        PeerMsg::State { id, flow, state } => {
            format!("state {id} {} {}", flow.0, encode_flow_state(state))
        }
        PeerMsg::Packet { id, packet } => format!("packet {id} {}", encode_packet(packet)),
        PeerMsg::Done { id, flows } => format!("done {id} {flows}"),
    }
}

/// Reads what [`encode_peer`] wrote.
pub fn decode_peer(line: &str) -> R<PeerMsg> {
    let mut t = Tokens::new(line);
    let m = match t.word("peer message")? {
        "state" => PeerMsg::State {
            id: t.num("transfer id")?,
            flow: FlowId(t.num("flow")?),
            state: Box::new(decode_flow_state(t.word("flow state")?, t.word("update log")?)?),
        },
        "packet" => {
            PeerMsg::Packet { id: t.num("transfer id")?, packet: decode_packet(t.word("packet")?)? }
        }
        "done" => PeerMsg::Done { id: t.num("transfer id")?, flows: t.num("flows")? },
        other => return Err(CtrlMsgError::Unknown(other.to_string())),
    };
    t.end()?;
    Ok(m)
}

/// A packet as one token (see the module doc).
pub fn encode_packet(p: &Packet) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{}",
        p.flow.0,
        p.seq,
        p.tuple.src,
        p.tuple.dst,
        p.tuple.sport,
        p.tuple.dport,
        p.tuple.proto,
        p.hash,
        p.size_bytes,
        p.sent.as_nanos(),
        p.flags.bits(),
        p.tag
    )
}

/// Reads what [`encode_packet`] wrote.
pub fn decode_packet(s: &str) -> R<Packet> {
    let f: Vec<&str> = s.split(',').collect();
    if f.len() != 12 {
        return Err(bad("packet (12 fields)", s));
    }
    fn n<T: std::str::FromStr>(x: &str, what: &'static str) -> R<T> {
        x.parse().map_err(|_| bad(what, x))
    }
    Ok(Packet {
        flow: FlowId(n(f[0], "flow")?),
        seq: n(f[1], "seq")?,
        tuple: FiveTuple {
            src: n(f[2], "source address")?,
            dst: n(f[3], "destination address")?,
            sport: n(f[4], "source port")?,
            dport: n(f[5], "destination port")?,
            proto: n(f[6], "protocol")?,
        },
        hash: n(f[7], "hash")?,
        size_bytes: n(f[8], "size")?,
        sent: Time::from_nanos(n(f[9], "send time")?),
        flags: Flags::from_bits(n(f[10], "flags")?),
        tag: n(f[11], "tag")?,
    })
}

/// A flow's state as two tokens: the state and its update log (see the module doc).
fn encode_flow_state(s: &FlowState) -> String {
    let t = &s.tuple;
    let l = &s.log;
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for q in l.applied.iter() {
        match runs.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(q) => *hi = q,
            _ => runs.push((q, q)),
        }
    }
    let applied = if runs.is_empty() {
        "none".to_string()
    } else {
        join(runs.iter().map(|(a, b)| format!("{a}-{b}")), ".")
    };
    format!(
        "{},{},{},{},{},{},{},{},{},{} {},{},{},{},{},{},{applied}",
        t.src,
        t.dst,
        t.sport,
        t.dport,
        t.proto,
        s.hash,
        s.packets,
        s.bytes,
        s.created.as_nanos(),
        s.last_seen.as_nanos(),
        l.digest,
        l.updates,
        l.reordered,
        l.duplicates,
        l.max_seq.map_or("-".to_string(), |m| m.to_string()),
        l.last_update.as_nanos()
    )
}

fn decode_flow_state(state: &str, log: &str) -> R<FlowState> {
    let f: Vec<&str> = state.split(',').collect();
    let g: Vec<&str> = log.split(',').collect();
    if f.len() != 10 {
        return Err(bad("flow state (10 fields)", state));
    }
    if g.len() != 7 {
        return Err(bad("update log (7 fields)", log));
    }
    fn n<T: std::str::FromStr>(x: &str, what: &'static str) -> R<T> {
        x.parse().map_err(|_| bad(what, x))
    }
    let mut applied = SeqSet::new();
    if g[6] != "none" {
        for run in g[6].split('.') {
            let (a, b) = run.split_once('-').ok_or_else(|| bad("applied run", run))?;
            let (a, b): (u32, u32) = (n(a, "applied run")?, n(b, "applied run")?);
            if b < a {
                return Err(bad("applied run", run));
            }
            for q in a..=b {
                applied.insert(q);
            }
        }
    }
    Ok(FlowState {
        tuple: FiveTuple {
            src: n(f[0], "source address")?,
            dst: n(f[1], "destination address")?,
            sport: n(f[2], "source port")?,
            dport: n(f[3], "destination port")?,
            proto: n(f[4], "protocol")?,
        },
        hash: n(f[5], "hash")?,
        packets: n(f[6], "packets")?,
        bytes: n(f[7], "bytes")?,
        created: Time::from_nanos(n(f[8], "created")?),
        last_seen: Time::from_nanos(n(f[9], "last seen")?),
        log: UpdateLog {
            applied,
            digest: n(g[0], "digest")?,
            updates: n(g[1], "updates")?,
            reordered: n(g[2], "reordered")?,
            duplicates: n(g[3], "duplicates")?,
            max_seq: opt(g[4], "max seq")?,
            last_update: Time::from_nanos(n(g[5], "last update")?),
        },
    })
}

/// Reads what [`encode_input`] wrote.
pub fn decode_input(line: &str) -> R<ControllerInput> {
    let mut t = Tokens::new(line);
    match t.word("input")? {
        "switch" => {
            let from = NodeId(t.num("node")?);
            Ok(ControllerInput::Switch { from, event: decode_switch_event(t.rest())? })
        }
        "move" => {
            let r = MoveRequest {
                id: MoveId(t.num("move id")?),
                flows: decode_match(t.word("match")?)?,
                src: NodeId(t.num("src")?),
                dst: NodeId(t.num("dst")?),
                switch: NodeId(t.num("switch")?),
                in_ports: t
                    .word("in ports")?
                    .split(',')
                    .map(|p| p.parse().map(PortId).map_err(|_| bad("port", p)))
                    .collect::<R<_>>()?,
                src_port: PortId(t.num("src port")?),
                dst_port: PortId(t.num("dst port")?),
            };
            t.end()?;
            Ok(ControllerInput::Move(r))
        }
        "nf" => {
            let from = NodeId(t.num("node")?);
            Ok(ControllerInput::Nf { from, event: decode_nf_event(t.rest())? })
        }
        other => Err(CtrlMsgError::Unknown(other.to_string())),
    }
}

/// `Time` as the log writes it.
pub fn time_ns(t: Time) -> u64 {
    t.as_nanos()
}

fn encode_match(m: &Match) -> String {
    fn o<T: ToString>(v: Option<T>) -> String {
        v.map_or("-".to_string(), |v| v.to_string())
    }
    let pfx = |p: Option<Prefix>| p.map_or("-".to_string(), |p| format!("{}/{}", p.addr, p.len));
    format!(
        "{},{},{},{},{},{},{},{}",
        o(m.in_port.map(|p| p.0)),
        pfx(m.src),
        pfx(m.dst),
        o(m.sport),
        o(m.dport),
        o(m.proto),
        m.hash.map_or("-".to_string(), |(lo, hi)| format!("{lo}-{hi}")),
        o(m.tag)
    )
}

fn decode_match(s: &str) -> R<Match> {
    let f: Vec<&str> = s.split(',').collect();
    if f.len() != 8 {
        return Err(bad("match (8 fields)", s));
    }
    let pfx = |x: &str| -> R<Option<Prefix>> {
        if x == "-" {
            return Ok(None);
        }
        let (a, l) = x.split_once('/').ok_or_else(|| bad("prefix", x))?;
        let p = Prefix {
            addr: a.parse().map_err(|_| bad("prefix address", x))?,
            len: l.parse().map_err(|_| bad("prefix length", x))?,
        };
        if p.len > 32 {
            return Err(bad("prefix length", x));
        }
        Ok(Some(p))
    };
    let hash = if f[6] == "-" {
        None
    } else {
        let (lo, hi) = f[6].split_once('-').ok_or_else(|| bad("hash range", f[6]))?;
        Some((
            lo.parse().map_err(|_| bad("hash range", f[6]))?,
            hi.parse().map_err(|_| bad("hash range", f[6]))?,
        ))
    };
    Ok(Match {
        in_port: opt(f[0], "in port")?.map(PortId),
        src: pfx(f[1])?,
        dst: pfx(f[2])?,
        sport: opt(f[3], "source port")?,
        dport: opt(f[4], "destination port")?,
        proto: opt(f[5], "protocol")?,
        hash,
        tag: opt(f[7], "tag")?,
    })
}

fn encode_actions(a: &[Action]) -> String {
    if a.is_empty() {
        return "none".to_string();
    }
    join(
        a.iter().map(|a| match a {
            Action::Output(p) => format!("out.{}", p.0),
            Action::ToController => "ctl".to_string(),
            Action::DupToController => "dup".to_string(),
            Action::SetTag(t) => format!("tag.{t}"),
            Action::Drop => "drop".to_string(),
        }),
        "|",
    )
}

fn decode_actions(s: &str) -> R<Vec<Action>> {
    if s == "none" {
        return Ok(Vec::new());
    }
    s.split('|')
        .map(|a| match a {
            "ctl" => Ok(Action::ToController),
            "dup" => Ok(Action::DupToController),
            "drop" => Ok(Action::Drop),
            _ => {
                if let Some(p) = a.strip_prefix("out.") {
                    p.parse().map(|p| Action::Output(PortId(p))).map_err(|_| bad("action", a))
                } else if let Some(t) = a.strip_prefix("tag.") {
                    t.parse().map(Action::SetTag).map_err(|_| bad("action", a))
                } else {
                    Err(bad("action", a))
                }
            }
        })
        .collect()
}

fn opt<T: std::str::FromStr>(s: &str, what: &'static str) -> R<Option<T>> {
    if s == "-" {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| bad(what, s))
}

fn bad(what: &'static str, token: &str) -> CtrlMsgError {
    CtrlMsgError::Bad { what, token: token.to_string() }
}

fn join(it: impl Iterator<Item = String>, sep: &str) -> String {
    it.collect::<Vec<_>>().join(sep)
}

/// A whitespace tokenizer that names what it expected when it runs out.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Self {
        Tokens { rest: s.trim_start() }
    }
    fn word(&mut self, what: &'static str) -> R<&'a str> {
        if self.rest.is_empty() {
            return Err(CtrlMsgError::Missing(what));
        }
        let end = self.rest.find(char::is_whitespace).unwrap_or(self.rest.len());
        let (w, r) = self.rest.split_at(end);
        self.rest = r.trim_start();
        Ok(w)
    }
    fn num<T: std::str::FromStr>(&mut self, what: &'static str) -> R<T> {
        let w = self.word(what)?;
        w.parse().map_err(|_| bad(what, w))
    }
    fn rest(&mut self) -> &'a str {
        std::mem::take(&mut self.rest)
    }
    fn end(&self) -> R<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CtrlMsgError::Trailing(self.rest.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_mods() -> SwitchCtrl {
        SwitchCtrl::FlowMods {
            xid: Xid(7),
            mods: vec![
                FlowMod::Add(Rule {
                    cookie: Cookie(0x5200_0000_0001_0000),
                    priority: 1000,
                    matcher: Match {
                        in_port: Some(PortId(0)),
                        src: Some(Prefix { addr: 0x0a63_0000, len: 16 }),
                        sport: Some(1024),
                        hash: Some((0, 1 << 31)),
                        tag: Some(3),
                        ..Match::any()
                    },
                    actions: vec![Action::SetTag(2), Action::Output(PortId(2))],
                    idle_timeout: Some(Dur::from_millis(5)),
                }),
                FlowMod::Modify { cookie: Cookie(9), actions: vec![] },
                FlowMod::Delete { cookie: Cookie(10) },
                FlowMod::Add(Rule {
                    cookie: Cookie(11),
                    priority: 1,
                    matcher: Match::any(),
                    actions: vec![Action::ToController, Action::DupToController, Action::Drop],
                    idle_timeout: None,
                }),
            ],
        }
    }

    #[test]
    fn flow_mods_round_trip() {
        let m = sample_mods();
        let s = encode_switch_ctrl(&m).expect("encodes");
        assert_eq!(decode_switch_ctrl(&s), Ok(m));
    }

    #[test]
    fn switch_events_round_trip() {
        for e in [
            SwitchEvent::FlowModsDone { xid: Xid(3) },
            SwitchEvent::FlowModFailed {
                xid: Xid(4),
                cookie: Cookie(5),
                error: FlowModError::TableFull,
            },
            SwitchEvent::FlowRemoved { cookie: Cookie(6), packets: 7, bytes: 8 },
        ] {
            let s = encode_switch_event(&e).expect("encodes");
            assert_eq!(decode_switch_event(&s), Ok(e));
        }
    }

    #[test]
    fn move_input_round_trips() {
        let i = ControllerInput::Move(MoveRequest {
            id: MoveId(1),
            flows: Match::any(),
            src: NodeId(2),
            dst: NodeId(2),
            switch: NodeId(1),
            in_ports: vec![PortId(0), PortId(3)],
            src_port: PortId(1),
            dst_port: PortId(2),
        });
        let s = encode_input(&i).expect("encodes");
        assert_eq!(decode_input(&s), Ok(i));
        let sw = ControllerInput::Switch {
            from: NodeId(1),
            event: SwitchEvent::FlowModsDone { xid: Xid(1) },
        };
        assert_eq!(decode_input(&encode_input(&sw).expect("encodes")), Ok(sw));
    }

    fn sample_packet() -> Packet {
        let mut flags = Flags::MARKER;
        flags.insert(Flags::SHARP_CTRL);
        Packet {
            flow: FlowId(u64::MAX),
            seq: 7,
            tuple: FiveTuple { src: 1, dst: 2, sport: 3, dport: 4, proto: 17 },
            hash: 0x0201,
            size_bytes: 64,
            sent: Time::from_nanos(3 << 32 | 4),
            flags,
            tag: 0x8002,
        }
    }

    #[test]
    fn packet_in_and_out_round_trip() {
        let p = sample_packet();
        for out in [Some(PortId(2)), None] {
            let m = SwitchCtrl::PacketOut { packet: p, out };
            assert_eq!(decode_switch_ctrl(&encode_switch_ctrl(&m).expect("encodes")), Ok(m));
        }
        let m = SwitchCtrl::PacketOutTable { packet: p, in_port: PortId(3) };
        assert_eq!(decode_switch_ctrl(&encode_switch_ctrl(&m).expect("encodes")), Ok(m));
        for reason in [PacketInReason::Action, PacketInReason::Duplicate, PacketInReason::TableMiss]
        {
            let e = SwitchEvent::PacketIn { in_port: PortId(1), packet: p, reason };
            assert_eq!(decode_switch_event(&encode_switch_event(&e).expect("encodes")), Ok(e));
        }
    }

    #[test]
    fn hsl_replies_and_peer_messages_round_trip() {
        for kind in [HslReplyKind::Ack, HslReplyKind::Released] {
            let i = ControllerInput::Nf {
                from: NodeId(4),
                event: NfEvent::Hsl(HslReply { id: 9, kind }),
            };
            assert_eq!(decode_input(&encode_input(&i).expect("encodes")), Ok(i));
        }
        let mut log = UpdateLog::default();
        for q in [0, 1, 2, 5, 6, 9] {
            log.apply(Time::from_nanos(u64::from(q)), q);
        }
        let state = FlowState {
            tuple: sample_packet().tuple,
            hash: 11,
            packets: 6,
            bytes: 768,
            created: Time::from_nanos(1),
            last_seen: Time::from_nanos(9),
            log,
        };
        for m in [
            PeerMsg::State { id: 1, flow: FlowId(0), state: Box::new(state) },
            PeerMsg::State {
                id: 2,
                flow: FlowId(1 << 32),
                state: Box::new(FlowState {
                    log: UpdateLog::default(),
                    ..FlowState {
                        tuple: sample_packet().tuple,
                        hash: 0,
                        packets: 0,
                        bytes: 0,
                        created: Time::ZERO,
                        last_seen: Time::ZERO,
                        log: UpdateLog::default(),
                    }
                }),
            },
            PeerMsg::Packet { id: 3, packet: sample_packet() },
            PeerMsg::Done { id: 4, flows: 2 },
        ] {
            assert_eq!(decode_peer(&encode_peer(&m)), Ok(m));
        }
        assert!(decode_peer("state 1 0 1,2,3 0,0,0,0,-,0,none").is_err());
        assert!(decode_peer("state 1 0 1,2,3,4,17,0,0,0,0,0 0,0,0,0,-,0,5-3").is_err());
        assert!(decode_nf_event("hsl 1 maybe").is_err());
    }

    #[test]
    fn opennf_calls_and_events_round_trip() {
        let lock = ExportLock { id: 3, action: EventAction::Buffer, late: true };
        let filter = Match { in_port: Some(PortId(0)), ..Match::any() };
        let mut log = UpdateLog::default();
        log.apply(Time::from_nanos(5), 0);
        let state = FlowState {
            tuple: sample_packet().tuple,
            hash: 1,
            packets: 1,
            bytes: 128,
            created: Time::from_nanos(5),
            last_seen: Time::from_nanos(5),
            log,
        };
        for c in [
            NfCtrl::GetPerflow { xid: Xid(1), filter: filter.clone(), lock: Some(lock) },
            NfCtrl::GetPerflow { xid: Xid(1), filter: Match::any(), lock: None },
            NfCtrl::PutPerflow {
                xid: Xid(2),
                states: vec![(FlowId(7), state.clone()), (FlowId(8), state.clone())],
            },
            NfCtrl::DelPerflow { xid: Xid(3), filter: filter.clone() },
            NfCtrl::SetCreateState { create: false, unseen_tag: 9 },
            NfCtrl::DisableEvents { id: 3 },
            NfCtrl::Transfer { xid: Xid(4), peer: NodeId(4), filter: filter.clone(), lock },
            NfCtrl::Accept { xid: Xid(5), peer: NodeId(3), id: 1 },
            NfCtrl::Hold { id: 1, filter },
            NfCtrl::SetExportWindow { active_within: Some(Dur::from_millis(3)) },
            NfCtrl::SetExportWindow { active_within: None },
        ] {
            assert_eq!(decode_nf_ctrl(&encode_nf_ctrl(&c).expect("encodes")), Ok(c));
        }
        for e in [
            NfEvent::PerflowChunk { xid: Xid(1), flow: FlowId(7), state: Box::new(state) },
            NfEvent::PerflowDone { xid: Xid(1), flows: 500 },
            NfEvent::PutDone { xid: Xid(2), flows: 1 },
            NfEvent::DelDone { xid: Xid(3), flows: 500 },
            NfEvent::TransferDone { xid: Xid(4), flows: 2 },
            NfEvent::HoldEnded { id: 1 },
            NfEvent::Packet { id: 3, packet: sample_packet(), exported: true },
        ] {
            let i = ControllerInput::Nf { from: NodeId(3), event: e };
            assert_eq!(decode_input(&encode_input(&i).expect("encodes")), Ok(i));
        }
        assert!(decode_nf_ctrl("getperflow 1 -,-,-,-,-,-,-,- 3:keep:1").is_err());
    }

    #[test]
    fn bad_messages_are_errors_not_panics() {
        assert_eq!(decode_switch_event("done"), Err(CtrlMsgError::Missing("xid")));
        assert!(matches!(decode_switch_event("done x"), Err(CtrlMsgError::Bad { .. })));
        assert!(matches!(decode_switch_event("done 1 2"), Err(CtrlMsgError::Trailing(_))));
        assert!(matches!(decode_switch_ctrl("reboot"), Err(CtrlMsgError::Unknown(_))));
        assert!(matches!(
            decode_switch_ctrl("flowmods 1 1 add 1 1 -,-,- none -"),
            Err(CtrlMsgError::Bad { .. })
        ));
        assert!(matches!(
            decode_switch_ctrl("flowmods 1 1 add 1 1 -,99.0/40,-,-,-,-,-,- none -"),
            Err(CtrlMsgError::Bad { .. })
        ));
        assert_eq!(
            decode_switch_ctrl("flowmods 1 2 delete 1"),
            Err(CtrlMsgError::Missing("flow mod"))
        );
        assert!(decode_input("").is_err());
    }
}
