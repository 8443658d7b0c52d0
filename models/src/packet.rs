//! Packets, flows and the identifiers every element shares.

use std::fmt;

use base::Time;

/// Any node of the network: host, switch, NF instance or controller.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// A port of a switch (or the one port of a host or NF).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub u16);

/// A flow, as numbered by its source (unique within a run).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(pub u64);

/// A control transaction, chosen by whoever sends the request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Xid(pub u64);

/// An IPv4 5-tuple.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiveTuple {
    pub src: u32,
    pub dst: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
}

impl fmt::Display for FiveTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = |a: u32| format!("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
        write!(f, "{}:{}>{}:{}/{}", ip(self.src), self.sport, ip(self.dst), self.dport, self.proto)
    }
}

/// Per-packet flags.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// Process to update state, but output nothing (OpenNF reprocessing, HotMiddlebox section 4).
    pub const DO_NOT_OUTPUT: Flags = Flags(1);
    /// The last packet of its flow (lets sinks compute flow completion times).
    pub const LAST: Flags = Flags(2);
    /// Sent by the controller (packet-out) after buffering: an instance holding a flow's
    /// direct arrivals still processes these at once.
    pub const RELEASED: Flags = Flags(4);
    /// Not data: a protocol's marker that follows the packets before it through a FIFO path
    /// (`flow` is [`MARKER_FLOW`], `seq` the marker's id). Never processed or output.
    pub const MARKER: Flags = Flags(8);
    /// With `MARKER`: a SHarP control message carried in the data plane (`START_HO`,
    /// `BUFFER_END`, the `BUFFER_FOLLOW_UP` test packet); see `sharp::CtrlPacket`.
    pub const SHARP_CTRL: Flags = Flags(16);

    pub const fn empty() -> Flags {
        Flags(0)
    }
    pub const fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }
    pub fn insert(&mut self, f: Flags) {
        self.0 |= f.0;
    }
    pub fn remove(&mut self, f: Flags) {
        self.0 &= !f.0;
    }
    pub const fn bits(self) -> u8 {
        self.0
    }
    pub const fn from_bits(b: u8) -> Flags {
        Flags(b)
    }
}

/// A data packet. It carries what the oracle needs, `(flow, seq)`, end to end.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub flow: FlowId,
    /// Position in its flow, from 0, assigned by the source.
    pub seq: u32,
    pub tuple: FiveTuple,
    /// The flow's hash, computed once by the source from the 5-tuple (as a NIC's RSS hash
    /// would be); switches match hash ranges `[lo, hi)` against it.
    pub hash: u32,
    /// Bytes on the wire.
    pub size_bytes: u32,
    /// When the source sent it.
    pub sent: Time,
    pub flags: Flags,
    /// A mark protocols may set and match (0: none).
    pub tag: u16,
}

/// The flow id every marker packet carries.
pub const MARKER_FLOW: FlowId = FlowId(u64::MAX);

/// A packet's identity for the oracle.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketKey {
    pub flow: FlowId,
    pub seq: u32,
}

impl Packet {
    pub fn key(&self) -> PacketKey {
        PacketKey { flow: self.flow, seq: self.seq }
    }

    /// A packet for tests: `flow`'s `seq`-th, tuple `10.0.0.1:<flow> > 10.0.0.2:80/6`, hash
    /// `flow`, 1500 bytes, sent at 0, no flags.
    #[cfg(test)]
    pub(crate) fn for_test(flow: u64, seq: u32) -> Packet {
        Packet {
            flow: FlowId(flow),
            seq,
            tuple: FiveTuple {
                src: 0x0a00_0001,
                dst: 0x0a00_0002,
                sport: flow as u16,
                dport: 80,
                proto: 6,
            },
            hash: flow as u32,
            size_bytes: 1500,
            sent: Time::ZERO,
            flags: Flags::empty(),
            tag: 0,
        }
    }

    /// A packet the oracle accounts for: not a protocol's marker, and not a copy made only to
    /// update state (`DO_NOT_OUTPUT`; the original is accounted for instead).
    pub fn is_data(&self) -> bool {
        !self.flags.contains(Flags::MARKER) && !self.flags.contains(Flags::DO_NOT_OUTPUT)
    }
}
