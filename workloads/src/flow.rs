//! Flows, synthetic 5-tuples and the stable flow hash.
//!
//! **The hash is fixed across versions** (E2 splits traffic by ranges of it, and published
//! results depend on which flow lands where). It is
//!
//! ```text
//! flow_hash = fmix64(FNV-1a-64(bytes)), bytes = src(4, big-endian) ++ dst(4, BE)
//!                                               ++ sport(2, BE) ++ dport(2, BE) ++ proto(1)
//! fmix64(k): k ^= k >> 33; k *= 0xff51afd7ed558ccd; k ^= k >> 33;
//!            k *= 0xc4ceb9fe1a85ec53; k ^= k >> 33
//! ```
//!
//! FNV-1a's last step is one multiply, so inputs that differ only in their last bytes differ
//! mostly in the product's low and middle bits; MurmurHash3's `fmix64` finalizer spreads every
//! input bit over the whole word, so a range split on the high bits (`bucket`) stays balanced
//! for any tuple set. `the_hash_is_pinned` holds test vectors: if it fails,
//! the hash changed, and every E2 result changes with it.
//!
//! Synthetic 5-tuples are a fixed function of the flow's index `i` (its `flow_id`):
//! `src = 10.0.0.0 + (i mod 2^24)`, `dst = 172.16.0.0 + (i mod 4096)` (a pool of 4096
//! servers), `sport = 1024 + (i / 2^24) mod 64512`, `dport = 80`, `proto = 6` (TCP). Tuples
//! of different indices differ below `2^24 * 64512` (about 10^12) flows.

use std::fmt;
use std::net::Ipv4Addr;

use base::rng::fnv1a64;
use base::Time;

/// A flow's identity in a trace (dense, unique; the index of its arrival in generated traces).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(pub u64);

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An IPv4 5-tuple.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiveTuple {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
}

impl FiveTuple {
    /// The synthetic tuple of the flow with index `i` (see the module doc).
    #[inline]
    pub fn synthetic(i: u64) -> Self {
        FiveTuple {
            src: Ipv4Addr::from(0x0A00_0000 | (i & 0x00FF_FFFF) as u32),
            dst: Ipv4Addr::from(0xAC10_0000 | (i & 0x0FFF) as u32),
            sport: 1024 + ((i >> 24) % 64_512) as u16,
            dport: 80,
            proto: 6,
        }
    }

    /// The fixed 13-byte layout the hash reads.
    pub fn to_bytes(&self) -> [u8; 13] {
        let mut b = [0u8; 13];
        b[0..4].copy_from_slice(&self.src.octets());
        b[4..8].copy_from_slice(&self.dst.octets());
        b[8..10].copy_from_slice(&self.sport.to_be_bytes());
        b[10..12].copy_from_slice(&self.dport.to_be_bytes());
        b[12] = self.proto;
        b
    }

    /// The stable flow hash (module doc).
    pub fn hash64(&self) -> u64 {
        fmix64(fnv1a64(&self.to_bytes()))
    }
}

/// MurmurHash3's 64-bit finalizer.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Which of `n` equal ranges of the hash space `hash` falls in: `floor(hash * n / 2^64)`.
/// Range `k` is `[k * 2^64 / n, (k + 1) * 2^64 / n)`, so splitting a range in two keeps every
/// other flow where it was.
pub fn bucket(hash: u64, n: u64) -> u64 {
    ((hash as u128 * n as u128) >> 64) as u64
}

/// One flow of a workload: who, when it starts, how many bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub id: FlowId,
    pub start: Time,
    pub size_bytes: u64,
    pub tuple: FiveTuple,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_pinned() {
        // FNV-1a-64 is pinned in base; fmix64(1) is MurmurHash3's finalizer on 1. The two
        // tuple hashes were computed once, by this code and independently in Python, and must
        // never change.
        let t = FiveTuple::synthetic(0);
        assert_eq!(t.to_bytes(), [10, 0, 0, 0, 172, 16, 0, 0, 0x04, 0x00, 0, 80, 6]);
        assert_eq!(fmix64(0), 0);
        assert_eq!(fmix64(1), 0xb456_bcfc_34c2_cb2c);
        assert_eq!(t.hash64(), PINNED_0);
        assert_eq!(FiveTuple::synthetic(123_456_789).hash64(), PINNED_123456789);
    }
    const PINNED_0: u64 = 0xe61c_9501_3da2_aa8b;
    const PINNED_123456789: u64 = 0x373a_32ab_e691_71e6;

    #[test]
    fn synthetic_tuples_are_distinct() {
        let mut v: Vec<FiveTuple> = (0..100_000u64)
            .chain((1u64 << 24) - 5..(1 << 24) + 5)
            .map(FiveTuple::synthetic)
            .collect();
        let n = v.len();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), n);
    }

    #[test]
    fn buckets_of_sequential_tuples_are_balanced() {
        // 160k sequential tuples into 16 ranges: each count is Binomial(160000, 1/16), sd
        // sqrt(160000 * 1/16 * 15/16) = 96.8; 5 sd = 484. A hash whose high bits followed the
        // index (e.g. the tuple's bytes read as a number) would put them all in one bucket.
        // (Plain FNV-1a also passes on these tuples; fmix64 is there for tuple sets that differ
        // in fewer bits, at no cost to this property.)
        let mut counts = [0i64; 16];
        for i in 0..160_000 {
            counts[bucket(FiveTuple::synthetic(i).hash64(), 16) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (c - 10_000).abs() < 484), "{counts:?}");
    }
}
