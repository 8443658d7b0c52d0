//! Mask-based job management at one anchor point (Egret section 3.2).
//!
//! Egret 3.2: "Masks are put on top of one another into a stack, at the bottom of which is the
//! *base* denoting the default configuration of the load balancer. The current (deployed)
//! distribution is calculated by applying all masks to the *base*."
//!
//! An anchor point distributes traffic over its ports (a load balancer's backends, a DNS
//! record set's zones, an MME pool's members, a switch's next hops). Shares are integers in
//! parts per million ([`FULL`] = 100%), so composition is exact: applying a mask moves an
//! integer amount from the target to the sinks, split by largest remainder, and the sum stays
//! exactly [`FULL`]. The deployed configuration is never edited in place: every change (add,
//! update, revert, base update, a port failing) recomputes it from the base, so reverting every
//! mask restores the base exactly (Figure 3-d).
//!
//! ```text
//!   mask 2 (top)   { 0%, -100%, +100%}   <- resolved alternative (Figure 3-c2)
//!   mask 1         {-100%, +50%, +50%}
//!   base           {30%, 30%, 40%}
//!   deployed       = mask 2 ( mask 1 ( base ) ) = {0%, 0%, 100%}
//! ```

use std::collections::BTreeSet;

use base::Time;

/// 100% in parts per million.
pub const FULL: u32 = 1_000_000;

/// A mask's identity, returned by `add` (Egret 3.2.2: "Egret returns a mask-id with each
/// execution"). [`MaskId::BASE`] names the base, which `update` also accepts (Table 2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaskId(pub u32);

impl MaskId {
    pub const BASE: MaskId = MaskId(0);
}

/// A bit-mask match on a traffic class key (Egret section 5: "the *Filter* parameter ...
/// supports any packet matching patterns in the form of bit-masks"). A class `c` matches when
/// `c & mask == value & mask`. The class key is the anchor's: a flow hash at a load
/// balancer, a service id at a DNS server.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Filter {
    pub value: u32,
    pub mask: u32,
}

impl Filter {
    /// Exactly the class `c`.
    pub fn exact(c: u32) -> Filter {
        Filter { value: c, mask: u32::MAX }
    }
    pub fn matches(&self, class: u32) -> bool {
        class & self.mask == self.value & self.mask
    }
}

/// What to do when a new or updated mask conflicts with an active one (Egret 3.2.1).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Egret section 5: "Egret rejects jobs that use existing traffic sources as sinks and
    /// vice versa."
    #[default]
    Reject,
    /// Egret 3.2.1: "Policy-permitted, Egret can automatically resolve conflicts and generate
    /// alternative masks such as the one in Figure 3-c2": the sinks that are another active
    /// job's target are left out; the job is refused only if no sink is left.
    Alternative,
}

/// A job at one anchor: the four parameters of Egret Table 1, with Target and Peers resolved
/// to the anchor's ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorMask {
    /// The port traffic is taken from.
    pub target: usize,
    /// The ports that receive it. `None`: inferred, every other port that is up and not being
    /// drained by another job (Egret 2.2.2, observation 4: traffic is "usually evenly
    /// distributed among peers").
    pub peers: Option<Vec<usize>>,
    /// Relative weights, one per peer; `None`: even.
    pub weights: Option<Vec<u32>>,
    /// The part of the target's traffic to move, in ppm ([`FULL`]: drain it; section 5's
    /// partial migrations take less).
    pub fraction: u32,
    /// Empty: all traffic. Otherwise the classes matching any filter.
    pub filters: Vec<Filter>,
}

impl AnchorMask {
    /// Drain `target` to its inferred peers, evenly.
    pub fn drain(target: usize) -> AnchorMask {
        AnchorMask { target, peers: None, weights: None, fraction: FULL, filters: Vec::new() }
    }

    fn applies_to(&self, class: u32) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.matches(class))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    #[error("port {port} is not a port of this anchor (it has {ports})")]
    NoSuchPort { port: usize, ports: usize },
    #[error("{weights} weights given for {peers} peers")]
    WeightsMismatch { weights: usize, peers: usize },
    #[error("the weights sum to zero")]
    ZeroWeights,
    #[error("the fraction {0} ppm is above 100%")]
    Fraction(u32),
    #[error("the target {0} is also among its own peers")]
    TargetIsPeer(usize),
    #[error("conflict with mask {with:?}: port {port} would be a source in one job and a sink in the other")]
    Conflict { with: MaskId, port: usize },
    #[error("no peer can take the traffic (every peer is down or being drained)")]
    NoSink,
    #[error("no mask {0:?}")]
    NoSuchMask(MaskId),
    #[error("the base has {got} weights for {ports} ports")]
    BaseLength { got: usize, ports: usize },
    #[error("the base's weights sum to zero")]
    BaseZero,
}

#[derive(Clone, Debug)]
struct Entry {
    id: MaskId,
    mask: AnchorMask,
    expires: Option<Time>,
}

/// One anchor point's base and mask stack.
#[derive(Clone, Debug)]
pub struct MaskStack {
    /// The operator's base, as declared (relative weights, any scale).
    declared: Vec<u32>,
    /// Which ports are up (a failed link takes its port out of the base).
    up: Vec<bool>,
    /// Bottom to top.
    stack: Vec<Entry>,
    policy: ConflictPolicy,
}

impl MaskStack {
    /// `base`: relative weights per port (normalised to [`FULL`]).
    pub fn new(base: Vec<u32>, policy: ConflictPolicy) -> Result<MaskStack, MaskError> {
        if base.iter().map(|&w| w as u64).sum::<u64>() == 0 {
            return Err(MaskError::BaseZero);
        }
        let n = base.len();
        Ok(MaskStack { declared: base, up: vec![true; n], stack: Vec::new(), policy })
    }

    pub fn ports(&self) -> usize {
        self.declared.len()
    }

    pub fn is_up(&self, port: usize) -> bool {
        self.up[port]
    }

    /// Active masks, bottom to top.
    pub fn masks(&self) -> impl Iterator<Item = (MaskId, &AnchorMask)> {
        self.stack.iter().map(|e| (e.id, &e.mask))
    }

    pub fn mask(&self, id: MaskId) -> Option<&AnchorMask> {
        self.stack.iter().find(|e| e.id == id).map(|e| &e.mask)
    }

    pub fn policy(&self) -> ConflictPolicy {
        self.policy
    }

    /// The effective base: the declared base over the ports that are up, renormalised (Egret
    /// 3.2.3: a failure "render[s] the existing configuration obsolete (e.g. the number of
    /// available ports decreases because of a failed link)"). A failed port's share goes to
    /// the others in proportion to their declared weights; if they all have weight 0, evenly.
    pub fn base(&self) -> Vec<u32> {
        let live: Vec<u64> = self
            .declared
            .iter()
            .zip(&self.up)
            .map(|(&w, &u)| if u { w as u64 } else { 0 })
            .collect();
        if live.iter().sum::<u64>() > 0 {
            return apportion(FULL as u64, &live);
        }
        let even: Vec<u64> = self.up.iter().map(|&u| u as u64).collect();
        if even.iter().sum::<u64>() == 0 {
            return vec![0; self.ports()];
        }
        apportion(FULL as u64, &even)
    }

    /// Base update by the operator (`update(BASE, ...)`, Table 2).
    pub fn set_base(&mut self, base: Vec<u32>) -> Result<(), MaskError> {
        if base.len() != self.ports() {
            return Err(MaskError::BaseLength { got: base.len(), ports: self.ports() });
        }
        if base.iter().map(|&w| w as u64).sum::<u64>() == 0 {
            return Err(MaskError::BaseZero);
        }
        self.declared = base;
        Ok(())
    }

    /// Base update on a failure or a recovery (the NIB's topology discovery reports it).
    pub fn set_port_up(&mut self, port: usize, up: bool) -> Result<(), MaskError> {
        self.check_port(port)?;
        self.up[port] = up;
        Ok(())
    }

    fn check_port(&self, port: usize) -> Result<(), MaskError> {
        if port >= self.ports() {
            return Err(MaskError::NoSuchPort { port, ports: self.ports() });
        }
        Ok(())
    }

    fn validate(&self, m: &AnchorMask) -> Result<(), MaskError> {
        self.check_port(m.target)?;
        if m.fraction > FULL {
            return Err(MaskError::Fraction(m.fraction));
        }
        if let Some(peers) = &m.peers {
            for &p in peers {
                self.check_port(p)?;
                if p == m.target {
                    return Err(MaskError::TargetIsPeer(p));
                }
            }
            if let Some(w) = &m.weights {
                if w.len() != peers.len() {
                    return Err(MaskError::WeightsMismatch {
                        weights: w.len(),
                        peers: peers.len(),
                    });
                }
            }
        } else if let Some(w) = &m.weights {
            return Err(MaskError::WeightsMismatch { weights: w.len(), peers: 0 });
        }
        if let Some(w) = &m.weights {
            if w.iter().map(|&x| x as u64).sum::<u64>() == 0 {
                return Err(MaskError::ZeroWeights);
            }
        }
        Ok(())
    }

    /// The ports the jobs below position `pos` drain (their targets), for classes both masks
    /// touch. A job higher in the stack never gives traffic to them.
    fn sources_below(&self, pos: usize, m: &AnchorMask) -> BTreeSet<usize> {
        self.stack[..pos.min(self.stack.len())]
            .iter()
            .filter(|e| overlaps(&e.mask, m))
            .map(|e| e.mask.target)
            .collect()
    }

    /// Egret 3.2.1: "The two jobs conflict with each other because *Target 1* cannot be both
    /// source and sink." Masks apply bottom-up, so a job at `pos` conflicts with a job below
    /// it whose target it names as a peer, and with a job above it that names its target as a
    /// peer. (A job whose target is a lower job's sink is fine: it takes that traffic on, as
    /// job 2 does in Figure 3-c2.) Inferred peers never conflict: they leave drained ports out.
    fn check_conflict(
        &self,
        pos: usize,
        me: Option<MaskId>,
        m: &AnchorMask,
    ) -> Result<(), MaskError> {
        if self.policy == ConflictPolicy::Reject {
            let ours = m.peers.as_deref().unwrap_or(&[]);
            for e in self.stack[..pos].iter().filter(|e| overlaps(&e.mask, m)) {
                if ours.contains(&e.mask.target) {
                    return Err(MaskError::Conflict { with: e.id, port: e.mask.target });
                }
            }
            for e in self.stack[pos..].iter().filter(|e| Some(e.id) != me && overlaps(&e.mask, m)) {
                if e.mask.peers.as_deref().unwrap_or(&[]).contains(&m.target) {
                    return Err(MaskError::Conflict { with: e.id, port: m.target });
                }
            }
        }
        // Under the alternative policy the conflicting sinks are left out; one must remain.
        if self.sinks(pos, m).is_empty() {
            return Err(MaskError::NoSink);
        }
        Ok(())
    }

    /// The ports the mask at `pos` actually gives traffic to, with their relative weights: its
    /// peers (or every other port), minus ports that are down and ports a lower job drains.
    fn sinks(&self, pos: usize, m: &AnchorMask) -> Vec<(usize, u64)> {
        let drained = self.sources_below(pos, m);
        let candidates: Vec<(usize, u64)> = match &m.peers {
            Some(peers) => peers
                .iter()
                .enumerate()
                .map(|(i, &p)| (p, m.weights.as_ref().map_or(1, |w| w[i] as u64)))
                .collect(),
            None => (0..self.ports()).filter(|&p| p != m.target).map(|p| (p, 1)).collect(),
        };
        candidates
            .into_iter()
            .filter(|&(p, w)| w > 0 && self.up[p] && !drained.contains(&p))
            .collect()
    }

    /// Pushes a new mask on top; `expires`: Table 2's optional timeout, as an absolute time.
    pub fn add(
        &mut self,
        id: MaskId,
        mask: AnchorMask,
        expires: Option<Time>,
    ) -> Result<(), MaskError> {
        self.validate(&mask)?;
        self.check_conflict(self.stack.len(), None, &mask)?;
        self.stack.push(Entry { id, mask, expires });
        Ok(())
    }

    /// Replaces a mask's parameters; it keeps its place in the stack.
    pub fn update(&mut self, id: MaskId, mask: AnchorMask) -> Result<(), MaskError> {
        let i = self.index(id)?;
        self.validate(&mask)?;
        self.check_conflict(i, Some(id), &mask)?;
        self.stack[i].mask = mask;
        Ok(())
    }

    /// Removes a mask from anywhere in the stack.
    pub fn revert(&mut self, id: MaskId) -> Result<AnchorMask, MaskError> {
        let i = self.index(id)?;
        Ok(self.stack.remove(i).mask)
    }

    fn index(&self, id: MaskId) -> Result<usize, MaskError> {
        self.stack.iter().position(|e| e.id == id).ok_or(MaskError::NoSuchMask(id))
    }

    /// The masks whose timeout has passed at `now`, removed.
    pub fn expire(&mut self, now: Time) -> Vec<MaskId> {
        let gone: Vec<MaskId> = self
            .stack
            .iter()
            .filter(|e| e.expires.is_some_and(|t| t <= now))
            .map(|e| e.id)
            .collect();
        self.stack.retain(|e| !gone.contains(&e.id));
        gone
    }

    /// The earliest timeout of an active mask.
    pub fn next_expiry(&self) -> Option<Time> {
        self.stack.iter().filter_map(|e| e.expires).min()
    }

    /// The deployed weights for traffic of `class` (use 0 when no mask has a filter): the base,
    /// then every mask that applies to the class, bottom to top. A mask with no sink left (its
    /// peers failed) is suspended: it moves nothing, and [`MaskStack::suspended`] names it.
    pub fn weights(&self, class: u32) -> Vec<u32> {
        let mut w: Vec<u64> = self.base().into_iter().map(u64::from).collect();
        for (pos, e) in self.stack.iter().enumerate() {
            if !e.mask.applies_to(class) {
                continue;
            }
            let sinks = self.sinks(pos, &e.mask);
            if sinks.is_empty() {
                continue;
            }
            // Egret footnote 6: "the 30% traffic of port 1 is distributed equally to port 2
            // and 3, each getting 15% of all in-coming traffic."
            let t = e.mask.target;
            let taken = w[t] * e.mask.fraction as u64 / FULL as u64;
            w[t] -= taken;
            let rel: Vec<u64> = sinks.iter().map(|&(_, r)| r).collect();
            for ((p, _), give) in sinks.iter().zip(apportion(taken, &rel)) {
                w[*p] += give as u64;
            }
        }
        w.into_iter().map(|x| x as u32).collect()
    }

    /// The masks that cannot move anything now (no peer up and free).
    pub fn suspended(&self) -> Vec<MaskId> {
        let empty = |(pos, e): &(usize, &Entry)| self.sinks(*pos, &e.mask).is_empty();
        self.stack.iter().enumerate().filter(empty).map(|(_, e)| e.id).collect()
    }

    /// The effective mask of `id` as Figure 3 draws it: per port, the ppm taken (negative) or
    /// given (positive) relative to what the target had.
    pub fn effective(&self, id: MaskId) -> Result<Vec<i64>, MaskError> {
        let i = self.index(id)?;
        let e = &self.stack[i];
        let mut out = vec![0i64; self.ports()];
        let sinks = self.sinks(i, &e.mask);
        if sinks.is_empty() {
            return Ok(out);
        }
        out[e.mask.target] = -(e.mask.fraction as i64);
        let rel: Vec<u64> = sinks.iter().map(|&(_, r)| r).collect();
        for ((p, _), give) in sinks.iter().zip(apportion(FULL as u64, &rel)) {
            out[*p] = give as i64;
        }
        Ok(out)
    }

    /// The classes in which the deployed weights may differ: 0 and every filter's value.
    pub fn classes(&self) -> Vec<u32> {
        let mut c: BTreeSet<u32> = BTreeSet::from([0]);
        for e in &self.stack {
            c.extend(e.mask.filters.iter().map(|f| f.value & f.mask));
        }
        c.into_iter().collect()
    }
}

/// Two masks can interact when some class falls under both.
fn overlaps(a: &AnchorMask, b: &AnchorMask) -> bool {
    if a.filters.is_empty() || b.filters.is_empty() {
        return true;
    }
    a.filters.iter().any(|x| b.filters.iter().any(|y| (x.value ^ y.value) & x.mask & y.mask == 0))
}

/// Splits `total` in proportion to `rel` (not all zero) by largest remainder: the parts sum to
/// `total` exactly; ties go to the lower index.
pub fn apportion(total: u64, rel: &[u64]) -> Vec<u32> {
    let sum: u64 = rel.iter().sum();
    assert!(sum > 0, "invariant: apportion over weights that are not all zero");
    let mut parts: Vec<u64> =
        rel.iter().map(|&r| (total as u128 * r as u128 / sum as u128) as u64).collect();
    let mut left = total - parts.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..rel.len()).collect();
    // Largest remainder first; the sort is stable, so ties keep index order.
    order.sort_by_key(|&i| std::cmp::Reverse((total as u128 * rel[i] as u128) % sum as u128));
    for i in order {
        if left == 0 {
            break;
        }
        if rel[i] > 0 {
            parts[i] += 1;
            left -= 1;
        }
    }
    parts.into_iter().map(|p| p as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(p: u32) -> u32 {
        p * FULL / 100
    }

    /// Egret Figure 3, step by step.
    #[test]
    fn figure3_load_balancer_masks() {
        let mut lb = MaskStack::new(vec![30, 30, 40], ConflictPolicy::Reject).unwrap();
        // (a) the base {30%, 30%, 40%}
        assert_eq!(lb.weights(0), vec![pct(30), pct(30), pct(40)]);
        // (b) job 1: Target 1 -> 2 and 3: mask {-100%, +50%, +50%} gives {0%, 45%, 55%}
        let job1 = AnchorMask { peers: Some(vec![1, 2]), ..AnchorMask::drain(0) };
        lb.add(MaskId(1), job1, None).unwrap();
        assert_eq!(
            lb.effective(MaskId(1)).unwrap(),
            vec![-(pct(100) as i64), pct(50) as i64, pct(50) as i64]
        );
        assert_eq!(lb.weights(0), vec![0, pct(45), pct(55)]);
        // (c1) job 2: Target 2 -> 1 and 3 conflicts: 1 is job 1's source
        let job2 = AnchorMask { peers: Some(vec![0, 2]), ..AnchorMask::drain(1) };
        assert_eq!(
            lb.add(MaskId(2), job2.clone(), None),
            Err(MaskError::Conflict { with: MaskId(1), port: 0 })
        );
        assert_eq!(lb.weights(0), vec![0, pct(45), pct(55)], "a rejected job changes nothing");
        // (c2) the alternative: {0%, -100%, +100%}
        lb.policy = ConflictPolicy::Alternative;
        lb.add(MaskId(2), job2, None).unwrap();
        assert_eq!(lb.effective(MaskId(2)).unwrap(), vec![0, -(pct(100) as i64), pct(100) as i64]);
        assert_eq!(lb.weights(0), vec![0, 0, pct(100)]);
        // (d) job 1 reverted: the original mask 2 {+50%, -100%, +50%} is valid again
        lb.revert(MaskId(1)).unwrap();
        assert_eq!(
            lb.effective(MaskId(2)).unwrap(),
            vec![pct(50) as i64, -(pct(100) as i64), pct(50) as i64]
        );
        assert_eq!(lb.weights(0), vec![pct(45), 0, pct(55)]);
        lb.revert(MaskId(2)).unwrap();
        assert_eq!(lb.weights(0), vec![pct(30), pct(30), pct(40)]);
    }

    /// Egret 4.1.1 / Figure 4: drain firewall-1, then firewall-2 fails.
    #[test]
    fn port_down_updates_base_and_masks_are_reapplied() {
        let mut lb = MaskStack::new(vec![1, 1, 1], ConflictPolicy::Reject).unwrap();
        lb.add(MaskId(1), AnchorMask::drain(0), None).unwrap();
        assert_eq!(lb.weights(0), vec![0, FULL / 2, FULL / 2]);
        lb.set_port_up(1, false).unwrap();
        assert_eq!(lb.base(), vec![FULL / 2, 0, FULL / 2]);
        assert_eq!(lb.weights(0), vec![0, 0, FULL]);
        lb.revert(MaskId(1)).unwrap();
        assert_eq!(lb.weights(0), vec![FULL / 2, 0, FULL / 2]);
    }

    #[test]
    fn explicit_peer_down_suspends_the_mask() {
        let mut lb = MaskStack::new(vec![1, 1, 1], ConflictPolicy::Reject).unwrap();
        lb.add(MaskId(1), AnchorMask { peers: Some(vec![1]), ..AnchorMask::drain(0) }, None)
            .unwrap();
        lb.set_port_up(1, false).unwrap();
        assert_eq!(lb.suspended(), vec![MaskId(1)]);
        assert_eq!(lb.weights(0).iter().sum::<u32>(), FULL);
    }

    #[test]
    fn filters_apply_per_class() {
        let mut dns = MaskStack::new(vec![1, 1], ConflictPolicy::Reject).unwrap();
        let m = AnchorMask { filters: vec![Filter::exact(7)], ..AnchorMask::drain(0) };
        dns.add(MaskId(1), m, None).unwrap();
        assert_eq!(dns.weights(7), vec![0, FULL]);
        assert_eq!(dns.weights(3), vec![FULL / 2, FULL / 2]);
        assert_eq!(dns.classes(), vec![0, 7]);
    }

    #[test]
    fn timeout_reverts() {
        let mut lb = MaskStack::new(vec![1, 1], ConflictPolicy::Reject).unwrap();
        lb.add(MaskId(1), AnchorMask::drain(0), Some(Time::from_nanos(10))).unwrap();
        assert_eq!(lb.next_expiry(), Some(Time::from_nanos(10)));
        assert!(lb.expire(Time::from_nanos(9)).is_empty());
        assert_eq!(lb.expire(Time::from_nanos(10)), vec![MaskId(1)]);
        assert_eq!(lb.weights(0), vec![FULL / 2, FULL / 2]);
    }

    #[test]
    fn bad_masks_are_errors() {
        let mut lb = MaskStack::new(vec![1, 1], ConflictPolicy::Reject).unwrap();
        assert!(matches!(
            lb.add(MaskId(1), AnchorMask::drain(5), None),
            Err(MaskError::NoSuchPort { .. })
        ));
        let m =
            AnchorMask { peers: Some(vec![1]), weights: Some(vec![1, 2]), ..AnchorMask::drain(0) };
        assert!(matches!(lb.add(MaskId(1), m, None), Err(MaskError::WeightsMismatch { .. })));
        assert_eq!(lb.revert(MaskId(9)), Err(MaskError::NoSuchMask(MaskId(9))));
        lb.add(MaskId(1), AnchorMask::drain(0), None).unwrap();
        assert_eq!(lb.add(MaskId(2), AnchorMask::drain(1), None), Err(MaskError::NoSink));
    }

    #[test]
    fn apportion_is_exact() {
        assert_eq!(apportion(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(apportion(FULL as u64, &[1, 1]), vec![FULL / 2, FULL / 2]);
        assert_eq!(apportion(7, &[0, 1]), vec![0, 7]);
    }
}
