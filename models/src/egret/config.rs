//! Configuration generation (Egret 3.1): what a composed weight vector becomes on each kind of
//! anchor point, and on a router that migrates locally.
//!
//! Egret 3.1: "These configurations can be as simple as a single command to raise OSPF weight
//! to 65535 on a router link or as complex as many flow table entries for multiple
//! programmable switches."

use super::mask::FULL;

/// MOP 2.2.1: "65535 is the maximum and default OSPF weight for drains".
pub const OSPF_DRAIN: u16 = 65535;

/// The flow hash is 32 bits; a segment `[lo, hi)` with `hi` up to `HASH_SPACE`.
pub const HASH_SPACE: u64 = 1 << 32;

/// One device's configuration, as Egret pushes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceConfig {
    /// A router's links and their OSPF weights.
    OspfWeights(Vec<(String, u16)>),
    /// An L4 load balancer's port weights (ppm), per backend.
    LbWeights(Vec<(String, u32)>),
    /// An SDN switch's hash-range entries: `[lo, hi)` of the flow hash to a port's neighbour.
    SdnEntries(Vec<HashSegment>),
    /// A DNS server's records: per service, the zones and their weights (ppm).
    DnsRecords(Vec<(String, Vec<(String, u32)>)>),
    /// An MME pool's "RelativeMmeCapacity" per member (0-255, as 3GPP TS 36.413 encodes it).
    MmeCapacity(Vec<(String, u8)>),
}

/// A flow-hash range and the port it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashSegment {
    pub lo: u64,
    pub hi: u64,
    pub port: usize,
}

/// Hash-space lengths for weights in ppm: exact, summing to [`HASH_SPACE`] (the last port with
/// weight takes the rounding).
fn lengths(weights: &[u32]) -> Vec<u64> {
    let sum: u64 = weights.iter().map(|&w| w as u64).sum();
    let denom = if sum == 0 { FULL as u64 } else { sum };
    let mut len: Vec<u64> = weights.iter().map(|&w| w as u64 * HASH_SPACE / denom).collect();
    if sum > 0 {
        let last = weights.iter().rposition(|&w| w > 0).expect("invariant: sum > 0");
        len[last] += HASH_SPACE - len.iter().sum::<u64>();
    }
    len
}

/// The entries of a switch with no history: one contiguous range per port, in port order.
pub fn initial_segments(weights: &[u32]) -> Vec<HashSegment> {
    let mut lo = 0;
    let mut out = Vec::new();
    for (port, len) in lengths(weights).into_iter().enumerate() {
        if len > 0 {
            out.push(HashSegment { lo, hi: lo + len, port });
            lo += len;
        }
    }
    out
}

/// New entries for new weights that move as little of the hash space as possible: a port
/// whose share shrinks gives up the top of its ranges; ports whose share grows take the freed
/// pieces in port order. Flows in untouched ranges stay where they are (a stateless load
/// balancer otherwise reshuffles flows between ports that did not change).
pub fn rebalance(prev: &[HashSegment], weights: &[u32]) -> Vec<HashSegment> {
    let want = lengths(weights);
    let mut have = vec![0u64; weights.len()];
    for s in prev {
        if s.port < have.len() {
            have[s.port] += s.hi - s.lo;
        }
    }
    // Keep each port's ranges from the bottom up to what it should have; free the rest.
    let mut kept: Vec<HashSegment> = Vec::new();
    let mut free: Vec<(u64, u64)> = Vec::new();
    let mut used = vec![0u64; weights.len()];
    for s in prev {
        let keep = if s.port < want.len() { want[s.port].saturating_sub(used[s.port]) } else { 0 };
        let k = keep.min(s.hi - s.lo);
        if k > 0 {
            kept.push(HashSegment { lo: s.lo, hi: s.lo + k, port: s.port });
            used[s.port] += k;
        }
        if s.lo + k < s.hi {
            free.push((s.lo + k, s.hi));
        }
    }
    // Hash space no previous entry covered is free too.
    let mut covered: Vec<(u64, u64)> = prev.iter().map(|s| (s.lo, s.hi)).collect();
    covered.sort_unstable();
    let mut at = 0;
    for (lo, hi) in covered {
        if lo > at {
            free.push((at, lo));
        }
        at = at.max(hi);
    }
    if at < HASH_SPACE {
        free.push((at, HASH_SPACE));
    }
    free.sort_unstable();
    let mut out = kept;
    let mut fi = 0;
    for port in 0..weights.len() {
        let mut need = want[port] - used[port].min(want[port]);
        while need > 0 && fi < free.len() {
            let (lo, hi) = free[fi];
            let take = need.min(hi - lo);
            out.push(HashSegment { lo, hi: lo + take, port });
            need -= take;
            if lo + take == hi {
                fi += 1;
            } else {
                free[fi].0 = lo + take;
            }
        }
    }
    out.sort_by_key(|s| s.lo);
    // Merge neighbours that go to the same port.
    let mut merged: Vec<HashSegment> = Vec::new();
    for s in out {
        match merged.last_mut() {
            Some(m) if m.hi == s.lo && m.port == s.port => m.hi = s.hi,
            _ => merged.push(s),
        }
    }
    merged
}

/// "RelativeMmeCapacity" from a pool share: the pool's largest share maps to 255.
pub fn mme_capacity(weights: &[u32]) -> Vec<u8> {
    let max = weights.iter().copied().max().unwrap_or(0).max(1) as u64;
    weights.iter().map(|&w| ((w as u64 * 255 + max / 2) / max) as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebalance_moves_only_the_drained_range() {
        let third = FULL / 3;
        let base = initial_segments(&[third, third, FULL - 2 * third]);
        assert_eq!(base.len(), 3);
        let drained = rebalance(&base, &[0, FULL / 2, FULL / 2]);
        // fw2's and fw3's own ranges are untouched.
        for s in &base[1..] {
            assert!(drained.iter().any(|d| d.port == s.port && d.lo <= s.lo && d.hi >= s.hi));
        }
        let total: u64 = drained.iter().map(|s| s.hi - s.lo).sum();
        assert_eq!(total, HASH_SPACE);
        let to = |p| drained.iter().filter(|s| s.port == p).map(|s| s.hi - s.lo).sum::<u64>();
        assert_eq!(to(0), 0);
        assert_eq!(to(1), HASH_SPACE / 2);
        assert_eq!(to(2), HASH_SPACE / 2);
        // Back to the base: the same lengths again.
        let back = rebalance(&drained, &[third, third, FULL - 2 * third]);
        assert_eq!(back.iter().map(|s| s.hi - s.lo).sum::<u64>(), HASH_SPACE);
    }

    #[test]
    fn mme_capacity_scales_to_255() {
        assert_eq!(mme_capacity(&[0, 500_000, 500_000]), vec![0, 255, 255]);
    }
}
