//! U-HAUL's elephant detection module (EDM, section 3.1): the flow monitor's flow information
//! table (FIT) and the two detection rules compared in section 4.2.
//!
//! ```text
//!  packet arrives ──► FIT: insert (new flow) / update (size, last timestamp)
//!  every window   ──► eviction pointer pass: drop entries last seen before now - window
//!  getElephant    ──► active flows (seen within the window) ──► proportion-based or
//!                      size-based selection ──► SetFilter(5-tuples)
//! ```
//!
//! Sans-IO: time is passed in. The eviction passes run at the epochs `k x window` (k = 1, 2,
//! ...); a pass that fell due since the last input runs before that input is applied, which
//! gives exactly what a timer firing at the epoch would (a packet at an epoch instant is
//! applied after that epoch's pass).

use base::{Dur, Time};

use crate::fxhash::FxHashMap;
use crate::packet::FiveTuple;
use crate::switch::Match;

/// The paper's window: "We choose 100ms because it is able to cover all active flows that
/// indeed cause overload for NF instance" (section 3.1; 20 ms and 50 ms were also tried).
pub const DEFAULT_WINDOW: Dur = Dur::from_millis(100);

/// "each entry stores the flow ID hashed from five-tuples, its current size, and a timestamp
/// of its last packet" (section 3.1). The 5-tuple and the switch hash are kept beside them so
/// that SetFilter can hand the controller the 5-tuples of the selected flows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FitEntry {
    pub flow_id: u64,
    pub tuple: FiveTuple,
    pub hash: u32,
    /// Bytes seen so far (the flow's current size).
    pub bytes: u64,
    pub last_seen: Time,
}

/// The flow ID of a 5-tuple: `fmix64(FNV-1a-64(src ++ dst ++ sport ++ dport ++ proto))`, big
/// endian, the workloads crate's flow hash (docs/workloads.md), so it names the same flow.
pub fn flow_id_of(t: &FiveTuple) -> u64 {
    let mut bytes = [0u8; 13];
    bytes[0..4].copy_from_slice(&t.src.to_be_bytes());
    bytes[4..8].copy_from_slice(&t.dst.to_be_bytes());
    bytes[8..10].copy_from_slice(&t.sport.to_be_bytes());
    bytes[10..12].copy_from_slice(&t.dport.to_be_bytes());
    bytes[12] = t.proto;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// How the EDM decides which active flows are elephants.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Detection {
    /// Section 3.1, "Traffic Proportion based Detection": "the EDM queries its FIT for all
    /// active flows and obtains the total current size S. It then selects flows one by one
    /// based on their current size in the decreasing order and calculates the total size of
    /// selected flows S', until the proportion of traffic from the selected flows S'/S is
    /// larger than or equal to rho." `rho` is the byte share of elephants in the workload,
    /// computed offline for the elephant definition.
    Proportion { rho: f64 },
    /// The size-based approach of Hedera and Mahout: "a flow is classified as an elephant when
    /// it has sent more than a certain amount of bytes".
    Size { definition_bytes: u64 },
}

/// The flow information table with its eviction pointer.
#[derive(Clone, Debug)]
pub struct FlowInfoTable {
    window: Dur,
    entries: FxHashMap<u64, FitEntry>,
    /// The next eviction epoch.
    next_pass: Time,
    passes: u64,
}

impl Default for FlowInfoTable {
    fn default() -> Self {
        FlowInfoTable::new(DEFAULT_WINDOW)
    }
}

impl FlowInfoTable {
    /// # Panics
    /// If `window` is zero (validated configurations never have it).
    pub fn new(window: Dur) -> Self {
        assert!(window > Dur::ZERO, "invariant: the FIT window must be positive");
        FlowInfoTable {
            window,
            entries: FxHashMap::default(),
            next_pass: Time::ZERO + window,
            passes: 0,
        }
    }

    pub fn window(&self) -> Dur {
        self.window
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Eviction passes run so far.
    pub fn passes(&self) -> u64 {
        self.passes
    }

    /// The instant of the next eviction pass.
    pub fn next_pass(&self) -> Time {
        self.next_pass
    }

    /// Runs every eviction pass due at or before `now`; returns the FIT size after each, with
    /// the pass's instant (what Table 8 counts).
    pub fn advance(&mut self, now: Time) -> Vec<(Time, usize)> {
        let mut sizes = Vec::new();
        while self.next_pass <= now {
            let at = self.next_pass;
            self.evict(at);
            sizes.push((at, self.entries.len()));
            self.next_pass = at + self.window;
        }
        sizes
    }

    /// "Every 100ms, an eviction pointer goes through the FIT to evict entries whose timestamps
    /// are not within the last time window": an entry last seen before `now - window` goes;
    /// one seen at `now - window` or later stays.
    pub fn evict(&mut self, now: Time) {
        let horizon = now.as_nanos().saturating_sub(self.window.as_nanos());
        self.entries.retain(|_, e| e.last_seen.as_nanos() >= horizon);
        self.passes += 1;
    }

    /// A packet of `bytes` bytes of flow `tuple` arrived at `now`. "Insertion: When a packet
    /// arrives at the VNF, if the flow is not present in the FIT, a new entry with the flow ID
    /// and timestamp is added. Update: When a packet arrives and its flow is present in the
    /// table, the size and timestamp of the flow is updated."
    pub fn on_packet(&mut self, now: Time, tuple: &FiveTuple, hash: u32, bytes: u32) {
        if self.next_pass <= now {
            self.advance(now);
        }
        let flow_id = flow_id_of(tuple);
        let e = self.entries.entry(flow_id).or_insert(FitEntry {
            flow_id,
            tuple: *tuple,
            hash,
            bytes: 0,
            last_seen: now,
        });
        e.bytes += bytes as u64;
        e.last_seen = now;
    }

    /// The active flows at `now` matching `scope`: entries seen within the last window, sorted
    /// by decreasing current size (ties: increasing flow ID, so the order is deterministic).
    pub fn active(&mut self, now: Time, scope: &Match) -> Vec<FitEntry> {
        self.advance(now);
        let horizon = now.as_nanos().saturating_sub(self.window.as_nanos());
        let mut v: Vec<FitEntry> = self
            .entries
            .values()
            .filter(|e| e.last_seen.as_nanos() >= horizon && scope.matches_tuple(&e.tuple, e.hash))
            .copied()
            .collect();
        v.sort_unstable_by(|a, b| b.bytes.cmp(&a.bytes).then(a.flow_id.cmp(&b.flow_id)));
        v
    }

    /// `getElephant`: the active flows in `scope` that `detection` calls elephants, largest
    /// first.
    pub fn get_elephants(
        &mut self,
        now: Time,
        scope: &Match,
        detection: Detection,
    ) -> Vec<FitEntry> {
        let active = self.active(now, scope);
        let n = select(&active, detection);
        active[..n].to_vec()
    }
}

/// How many of `active` (sorted by decreasing size) are elephants: for proportion-based
/// detection, the shortest prefix whose share S'/S of the total reaches rho; for size-based,
/// the flows larger than the definition (a prefix too, since the list is sorted).
pub fn select(active: &[FitEntry], detection: Detection) -> usize {
    match detection {
        Detection::Proportion { rho } => {
            let total: u64 = active.iter().map(|e| e.bytes).sum();
            if total == 0 {
                return 0;
            }
            let target = rho * total as f64;
            let mut selected = 0u64;
            for (i, e) in active.iter().enumerate() {
                // "until the proportion of traffic from the selected flows S'/S is larger than
                // or equal to rho": stop at the first prefix that reaches it.
                if selected as f64 >= target {
                    return i;
                }
                selected += e.bytes;
            }
            active.len()
        }
        Detection::Size { definition_bytes } => {
            active.iter().take_while(|e| e.bytes > definition_bytes).count()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(i: u32) -> FiveTuple {
        FiveTuple { src: 0x0a00_0000 + i, dst: 0xac10_0000, sport: 1024, dport: 80, proto: 6 }
    }

    fn ms(x: u64) -> Time {
        Time::ZERO + Dur::from_millis(x)
    }

    fn entry(i: u32, bytes: u64) -> FitEntry {
        FitEntry { flow_id: i as u64, tuple: tuple(i), hash: i, bytes, last_seen: Time::ZERO }
    }

    #[test]
    fn flow_id_is_the_workloads_hash() {
        // docs/workloads.md: flow 0 (10.0.0.0:1024 > 172.16.0.0:80/6) hashes to 0xe61c95013da2aa8b.
        assert_eq!(flow_id_of(&tuple(0)), 0xe61c_9501_3da2_aa8b);
    }

    #[test]
    fn fit_inserts_then_updates_size_and_timestamp() {
        let mut fit = FlowInfoTable::default();
        fit.on_packet(ms(1), &tuple(1), 1, 1500);
        fit.on_packet(ms(2), &tuple(1), 1, 500);
        fit.on_packet(ms(3), &tuple(2), 2, 100);
        assert_eq!(fit.len(), 2);
        let a = fit.active(ms(3), &Match::any());
        assert_eq!((a[0].tuple, a[0].bytes, a[0].last_seen), (tuple(1), 2000, ms(2)));
        assert_eq!((a[1].tuple, a[1].bytes, a[1].last_seen), (tuple(2), 100, ms(3)));
    }

    #[test]
    fn eviction_removes_exactly_the_entries_older_than_the_window() {
        let mut fit = FlowInfoTable::new(Dur::from_millis(100));
        // Last seen at 99.999 ms, 100 ms, 150 ms and 200 ms; the pass at 200 ms keeps what was
        // seen at 100 ms or later.
        let seen = [
            Time::ZERO + Dur::from_nanos(99_999_999),
            ms(100),
            ms(150),
            Time::ZERO + Dur::from_nanos(199_999_999),
        ];
        for (i, t) in seen.iter().enumerate() {
            fit.on_packet(*t, &tuple(i as u32), 0, 100);
        }
        // The pass at 100 ms ran when the packet at 100 ms arrived (before it): it kept the
        // entry seen at 99.999 ms (within [0, 100]).
        assert_eq!(fit.passes(), 1);
        let sizes = fit.advance(ms(200));
        assert_eq!(sizes, vec![(ms(200), 3)]);
        let left: Vec<FiveTuple> =
            fit.active(ms(200), &Match::any()).iter().map(|e| e.tuple).collect();
        assert!(!left.contains(&tuple(0)));
        assert_eq!(left.len(), 3);
        // Nothing more happens before the next epoch.
        assert!(fit.advance(Time::ZERO + Dur::from_nanos(299_999_999)).is_empty());
        assert_eq!(fit.next_pass(), ms(300));
    }

    #[test]
    fn a_window_of_20_ms_evicts_sooner() {
        let mut fit = FlowInfoTable::new(Dur::from_millis(20));
        fit.on_packet(ms(1), &tuple(1), 0, 100);
        fit.on_packet(ms(25), &tuple(2), 0, 100);
        // Passes at 20 ms (keeps both: 1 >= 0) and 40 ms (keeps last seen >= 20 ms).
        assert_eq!(fit.advance(ms(40)), vec![(ms(40), 1)]);
    }

    #[test]
    fn proportion_selection_stops_at_the_first_prefix_reaching_rho() {
        // Sizes 50, 30, 15, 5 of a total 100.
        let a = [entry(1, 50), entry(2, 30), entry(3, 15), entry(4, 5)];
        let n = |rho| select(&a, Detection::Proportion { rho });
        assert_eq!(n(0.0), 0);
        assert_eq!(n(0.5), 1); // 50/100 reaches 0.5 exactly
        assert_eq!(n(0.51), 2);
        assert_eq!(n(0.8), 2);
        assert_eq!(n(0.81), 3);
        assert_eq!(n(0.95), 3);
        assert_eq!(n(0.96), 4);
        assert_eq!(n(1.0), 4);
        assert_eq!(select(&[], Detection::Proportion { rho: 0.5 }), 0);
    }

    #[test]
    fn size_selection_takes_flows_strictly_above_the_definition() {
        let a = [entry(1, 50), entry(2, 30), entry(3, 15), entry(4, 5)];
        assert_eq!(select(&a, Detection::Size { definition_bytes: 30 }), 1);
        assert_eq!(select(&a, Detection::Size { definition_bytes: 29 }), 2);
        assert_eq!(select(&a, Detection::Size { definition_bytes: 100 }), 0);
    }

    #[test]
    fn get_elephants_looks_at_active_flows_in_scope_only() {
        let mut fit = FlowInfoTable::default();
        fit.on_packet(ms(1), &tuple(1), 10, 9000); // goes stale
        fit.on_packet(ms(150), &tuple(2), 10, 3000);
        fit.on_packet(ms(150), &tuple(3), 10, 1000);
        fit.on_packet(ms(150), &tuple(4), 99, 5000); // out of scope
        let scope = Match::hash_range(0, 50);
        let e = fit.get_elephants(ms(160), &scope, Detection::Proportion { rho: 0.7 });
        assert_eq!(e.iter().map(|e| e.tuple).collect::<Vec<_>>(), vec![tuple(2)]);
        let e = fit.get_elephants(ms(160), &scope, Detection::Proportion { rho: 0.76 });
        assert_eq!(e.len(), 2);
    }
}
