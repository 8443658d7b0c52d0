//! The wire codec of the live bridge: a [`Packet`] as a real Ethernet / IPv4 / UDP frame.
//!
//! The live bridge's hosts exchange real frames, so that `tshark` reads them and the kernel's
//! veths carry them like any other traffic. The UDP payload starts with the oracle header,
//! which carries everything the twin's [`Packet`] carries end to end:
//!
//! ```text
//!  0               14                  34        42                                    82
//!  | Ethernet      | IPv4 (no options) | UDP     | oracle header (40 bytes)            | pad
//!  | dst src 0x800 | ... proto 17 ...  | sp dp   | "NFTW" ver flags tag flow seq hash  |
//!  |               |                   | len 0   | sent_ns proto size_bytes            |
//! ```
//!
//! - Addresses and ports come from the packet's 5-tuple; the tuple's own protocol number is
//!   kept in the oracle header (the frame is always UDP, as in SHarP's testbed).
//! - All fields are big-endian (network order). The UDP checksum is 0 (allowed for IPv4); the
//!   IPv4 header checksum is computed and checked.
//! - The frame is padded with zeros to the packet's `size_bytes` less the 4-byte FCS the NIC
//!   adds, within Ethernet's bounds (at least the header's 82 bytes, at most 1514).
//!
//! Decoding a frame that is not ours (the kernel's ARP, IPv6 neighbour discovery) or is damaged
//! returns a [`WireError`]; a host counts those, it never panics on them.

use base::Time;
use thiserror::Error;

use crate::packet::{FiveTuple, Flags, FlowId, Packet};

/// A MAC address.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// A locally administered unicast address for node `n` (`02:6e:66:00:hi:lo`).
    pub const fn for_node(n: u16) -> Mac {
        Mac([0x02, 0x6e, 0x66, 0x00, (n >> 8) as u8, n as u8])
    }
}

/// The ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// The oracle header's first four bytes.
pub const MAGIC: [u8; 4] = *b"NFTW";
/// The oracle header's version; a frame of another version is refused.
pub const VERSION: u8 = 1;

const ETH_LEN: usize = 14;
const IPV4_LEN: usize = 20;
const UDP_LEN: usize = 8;
/// The oracle header's length.
pub const ORACLE_LEN: usize = 40;
/// The shortest frame the codec writes (headers only, no padding).
pub const MIN_FRAME: usize = ETH_LEN + IPV4_LEN + UDP_LEN + ORACLE_LEN;
/// The longest frame the codec writes (Ethernet's 1500-byte MTU plus its header, no FCS).
pub const MAX_FRAME: usize = 1514;
/// Bytes the NIC adds after the frame (the FCS); `size_bytes` counts them, frames do not.
pub const FCS_LEN: u32 = 4;

/// Why a frame was not decoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("frame of {len} bytes is shorter than the {need} its headers need")]
    TooShort { len: usize, need: usize },
    #[error("ethertype {0:#06x} is not IPv4")]
    NotIpv4(u16),
    #[error("IPv4 version/IHL byte {0:#04x} is not version 4 with a 20..60-byte header")]
    BadIpHeader(u8),
    #[error("IP protocol {0} is not UDP")]
    NotUdp(u8),
    #[error("IPv4 header checksum does not verify")]
    BadChecksum,
    #[error("IPv4 total length {ip} or UDP length {udp} disagrees with the frame")]
    BadLength { ip: usize, udp: usize },
    #[error("UDP payload does not start with the oracle header's magic")]
    NotOracle,
    #[error("oracle header version {0} (this codec reads version {VERSION})")]
    UnknownVersion(u8),
}

/// The frame length for a packet of `size_bytes` on the wire (see the module doc).
pub fn frame_len(size_bytes: u32) -> usize {
    (size_bytes.saturating_sub(FCS_LEN) as usize).clamp(MIN_FRAME, MAX_FRAME)
}

/// Writes `p` as a frame from `src` to `dst` into `buf` (cleared first); returns its length.
pub fn encode(p: &Packet, src: Mac, dst: Mac, buf: &mut Vec<u8>) -> usize {
    let len = frame_len(p.size_bytes);
    buf.clear();
    buf.resize(len, 0);
    let f = &mut buf[..];
    // Ethernet.
    f[0..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    // IPv4: no options, don't fragment, TTL 64; the identification is the seq's low bits.
    let ip = &mut f[ETH_LEN..ETH_LEN + IPV4_LEN];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((len - ETH_LEN) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&(p.seq as u16).to_be_bytes());
    ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    ip[12..16].copy_from_slice(&p.tuple.src.to_be_bytes());
    ip[16..20].copy_from_slice(&p.tuple.dst.to_be_bytes());
    let sum = ipv4_checksum(ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    // UDP, checksum 0.
    let u = &mut f[ETH_LEN + IPV4_LEN..ETH_LEN + IPV4_LEN + UDP_LEN];
    u[0..2].copy_from_slice(&p.tuple.sport.to_be_bytes());
    u[2..4].copy_from_slice(&p.tuple.dport.to_be_bytes());
    u[4..6].copy_from_slice(&((len - ETH_LEN - IPV4_LEN) as u16).to_be_bytes());
    // The oracle header.
    let o = &mut f[ETH_LEN + IPV4_LEN + UDP_LEN..MIN_FRAME];
    o[0..4].copy_from_slice(&MAGIC);
    o[4] = VERSION;
    o[5] = p.flags.bits();
    o[6..8].copy_from_slice(&p.tag.to_be_bytes());
    o[8..16].copy_from_slice(&p.flow.0.to_be_bytes());
    o[16..20].copy_from_slice(&p.seq.to_be_bytes());
    o[20..24].copy_from_slice(&p.hash.to_be_bytes());
    o[24..32].copy_from_slice(&p.sent.as_nanos().to_be_bytes());
    o[32] = p.tuple.proto;
    // o[33..36] reserved, zero.
    o[36..40].copy_from_slice(&p.size_bytes.to_be_bytes());
    len
}

/// What a decoded frame says besides the packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub src: Mac,
    pub dst: Mac,
}

/// Reads a frame written by [`encode`] (any trailing padding is ignored).
pub fn decode(f: &[u8]) -> Result<(Packet, FrameInfo), WireError> {
    if f.len() < ETH_LEN {
        return Err(WireError::TooShort { len: f.len(), need: ETH_LEN });
    }
    let ethertype = be16(&f[12..14]);
    if ethertype != ETHERTYPE_IPV4 {
        return Err(WireError::NotIpv4(ethertype));
    }
    if f.len() < ETH_LEN + IPV4_LEN {
        return Err(WireError::TooShort { len: f.len(), need: ETH_LEN + IPV4_LEN });
    }
    let vihl = f[ETH_LEN];
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < IPV4_LEN {
        return Err(WireError::BadIpHeader(vihl));
    }
    let need = ETH_LEN + ihl + UDP_LEN + ORACLE_LEN;
    if f.len() < need {
        return Err(WireError::TooShort { len: f.len(), need });
    }
    let ip = &f[ETH_LEN..ETH_LEN + ihl];
    if ip[9] != IPPROTO_UDP {
        return Err(WireError::NotUdp(ip[9]));
    }
    if ipv4_checksum(ip) != 0 {
        return Err(WireError::BadChecksum);
    }
    let ip_len = usize::from(be16(&ip[2..4]));
    let u = &f[ETH_LEN + ihl..ETH_LEN + ihl + UDP_LEN];
    let udp_len = usize::from(be16(&u[4..6]));
    if ip_len + ETH_LEN > f.len() || udp_len + ihl != ip_len || udp_len < UDP_LEN + ORACLE_LEN {
        return Err(WireError::BadLength { ip: ip_len, udp: udp_len });
    }
    let o = &f[ETH_LEN + ihl + UDP_LEN..need];
    if o[0..4] != MAGIC {
        return Err(WireError::NotOracle);
    }
    if o[4] != VERSION {
        return Err(WireError::UnknownVersion(o[4]));
    }
    let p = Packet {
        flow: FlowId(be64(&o[8..16])),
        seq: be32(&o[16..20]),
        tuple: FiveTuple {
            src: be32(&ip[12..16]),
            dst: be32(&ip[16..20]),
            sport: be16(&u[0..2]),
            dport: be16(&u[2..4]),
            proto: o[32],
        },
        hash: be32(&o[20..24]),
        size_bytes: be32(&o[36..40]),
        sent: Time::from_nanos(be64(&o[24..32])),
        flags: Flags::from_bits(o[5]),
        tag: be16(&o[6..8]),
    };
    let mut src = [0; 6];
    let mut dst = [0; 6];
    dst.copy_from_slice(&f[0..6]);
    src.copy_from_slice(&f[6..12]);
    Ok((p, FrameInfo { src: Mac(src), dst: Mac(dst) }))
}

/// RFC 1071 one's-complement sum over the header: written with the checksum field zero it
/// gives the field's value; over a header with a correct checksum it gives 0.
fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for w in h.chunks(2) {
        let hi = u32::from(w[0]) << 8;
        let lo = w.get(1).map_or(0, |&b| u32::from(b));
        sum += hi | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn be64(b: &[u8]) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Packet {
        let mut p = Packet::for_test(7, 41);
        p.sent = Time::from_nanos(123_456_789);
        p.flags = Flags::LAST;
        p.tag = 0xbeef;
        p.hash = 0xdead_beef;
        p
    }

    #[test]
    fn encode_then_decode_gives_the_packet_back() {
        let p = sample();
        let mut buf = Vec::new();
        let n = encode(&p, Mac::for_node(1), Mac::for_node(2), &mut buf);
        assert_eq!(n, 1496, "1500 bytes on the wire less the FCS");
        let (q, info) = decode(&buf).expect("our own frame decodes");
        assert_eq!(q, p);
        assert_eq!(info, FrameInfo { src: Mac::for_node(1), dst: Mac::for_node(2) });
    }

    #[test]
    fn frame_is_ipv4_udp_with_a_valid_header_checksum() {
        let mut buf = Vec::new();
        encode(&sample(), Mac::for_node(1), Mac::for_node(2), &mut buf);
        assert_eq!(&buf[12..14], &[0x08, 0x00]);
        assert_eq!(buf[14], 0x45);
        assert_eq!(buf[14 + 9], 17);
        assert_eq!(ipv4_checksum(&buf[14..34]), 0);
        // 10.0.0.1:7 > 10.0.0.2:80, as the 5-tuple says.
        assert_eq!(&buf[26..34], &[10, 0, 0, 1, 10, 0, 0, 2]);
        assert_eq!(&buf[34..38], &[0, 7, 0, 80]);
        assert_eq!(&buf[42..46], b"NFTW");
    }

    #[test]
    fn small_packets_are_padded_to_the_header_and_large_ones_capped() {
        assert_eq!(frame_len(64), MIN_FRAME);
        assert_eq!(frame_len(9000), MAX_FRAME);
        assert_eq!(frame_len(200), 196);
    }

    #[test]
    fn decode_arp_frame_is_not_ipv4() {
        let mut f = vec![0u8; 60];
        f[12] = 0x08;
        f[13] = 0x06;
        assert_eq!(decode(&f), Err(WireError::NotIpv4(0x0806)));
    }

    #[test]
    fn decode_corrupted_header_fails_the_checksum() {
        let mut buf = Vec::new();
        encode(&sample(), Mac::for_node(1), Mac::for_node(2), &mut buf);
        buf[14 + 8] = 63; // TTL changed without fixing the checksum
        assert_eq!(decode(&buf), Err(WireError::BadChecksum));
    }

    #[test]
    fn decode_foreign_udp_payload_is_not_oracle() {
        let mut buf = Vec::new();
        encode(&sample(), Mac::for_node(1), Mac::for_node(2), &mut buf);
        buf[42] = b'X';
        assert_eq!(decode(&buf), Err(WireError::NotOracle));
        buf[42] = b'N';
        buf[46] = 9;
        assert_eq!(decode(&buf), Err(WireError::UnknownVersion(9)));
    }

    #[test]
    fn decode_truncated_frame_is_too_short() {
        let mut buf = Vec::new();
        encode(&sample(), Mac::for_node(1), Mac::for_node(2), &mut buf);
        for cut in [0, 13, 20, 40, MIN_FRAME - 1] {
            assert!(matches!(decode(&buf[..cut]), Err(WireError::TooShort { .. })), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn any_packet_round_trips(
            flow in any::<u64>(), seq in any::<u32>(), src in any::<u32>(), dst in any::<u32>(),
            sport in any::<u16>(), dport in any::<u16>(), proto in any::<u8>(),
            hash in any::<u32>(), size in 0u32..20_000, sent in any::<u64>(),
            flags in any::<u8>(), tag in any::<u16>(),
        ) {
            let p = Packet {
                flow: FlowId(flow), seq,
                tuple: FiveTuple { src, dst, sport, dport, proto },
                hash, size_bytes: size, sent: Time::from_nanos(sent),
                flags: Flags::from_bits(flags), tag,
            };
            let mut buf = Vec::new();
            let n = encode(&p, Mac::for_node(3), Mac::for_node(4), &mut buf);
            prop_assert_eq!(n, buf.len());
            prop_assert_eq!(decode(&buf).map(|(q, _)| q), Ok(p));
        }

        /// SHarP on the wire: its control packets (`START_HO`, `BUFFER_END`, the
        /// `BUFFER_FOLLOW_UP` test packet, flagged `MARKER | SHARP_CTRL`) and the controller's
        /// and the switch's marks on data packets survive a frame, as the live hosts need.
        #[test]
        fn sharp_control_packets_and_marks_round_trip(
            kind in 0usize..3, id in 0u32..0x4000, src in 0u32..1000, dst in 0u32..1000,
            sport in any::<u16>(), flows in any::<u16>(), sides in any::<u8>(),
            last in any::<bool>(), seq in any::<u32>(), by_ctrl in any::<bool>(),
        ) {
            use crate::controller::MoveId;
            use crate::sharp::{ctrl_mark, sw_mark, CtrlKind, CtrlPacket};
            let kind = [CtrlKind::StartHo, CtrlKind::BufferEnd, CtrlKind::Test][kind];
            let c = CtrlPacket {
                kind, id: MoveId(id), src: crate::NodeId(src), dst: crate::NodeId(dst),
                flow: FiveTuple { src: 1, dst: 2, sport, dport: 5000, proto: 17 },
                flows, sides, last,
            };
            let mut buf = Vec::new();
            encode(&c.encode(), Mac::for_node(1), Mac::for_node(2), &mut buf);
            let (p, _) = decode(&buf).expect("decodes");
            prop_assert_eq!(CtrlPacket::decode(&p), Some(c));
            let mut data = Packet::for_test(3, seq);
            data.tag = if by_ctrl { ctrl_mark(MoveId(id)) } else { sw_mark(MoveId(id)) };
            encode(&data, Mac::for_node(1), Mac::for_node(2), &mut buf);
            let (q, _) = decode(&buf).expect("decodes");
            prop_assert_eq!(q, data);
            prop_assert!(q.is_data() && CtrlPacket::decode(&q).is_none());
        }

        #[test]
        fn decode_never_panics_on_arbitrary_bytes(f in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&f);
        }
    }
}
