//! Egret: intent-based traffic migration (Lin et al., CoNEXT 2019).
//!
//! Egret 3.1 (Figure 1): an operator states an intent with four parameters (Table 1):
//! *Target* (required), *Peers*, *Weights*, *Filters*; Egret discovers the migration mechanism
//! and the anchor points in its network information base ([`nib`]), composes the job as a mask
//! on each anchor's stack ([`mask`]), generates the devices' configurations ([`config`]) and
//! pushes them; a stateful target's existing traffic is moved with its state.
//!
//! ```text
//! operator --add(params) / update(id, params) / revert(id)--> Egret --mask-id-->
//!            NIB: mechanism + anchors -> MaskStack per anchor -> DeviceConfig per device
//!            poll_output: Configure { device, config } | MoveState { src, dst, share } | Event
//! topology discovery --link down/up--> base update -> every mask reapplied -> Configure ...
//! ```
//!
//! Sans-IO: time is passed in (mask timeouts, Table 2); outputs are drained by the caller, who
//! carries them out (the twin's switch rules, OpenNF moves) and counts them. Bad intents are
//! errors returned to the operator, never panics.

pub mod config;
pub mod mask;
pub mod mop;
pub mod nib;
pub mod rehearse;

use std::collections::{BTreeMap, VecDeque};

use base::{Dur, Time};

pub use config::{DeviceConfig, HashSegment, OSPF_DRAIN};
pub use mask::{AnchorMask, ConflictPolicy, Filter, MaskError, MaskId, MaskStack, FULL};
pub use nib::{Mechanism, Nib, NibError, NodeType};

/// An intent (Egret Table 1). Only `target` is required; missing parameters are inferred.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Intent {
    pub target: String,
    /// Empty: every other node the anchor steers to (Egret 2.2.1: "what operators need to
    /// provide as input for this traffic migration job is simply which PE router").
    pub peers: Vec<String>,
    /// Relative weights, one per peer; empty: even (observation 4).
    pub weights: Vec<u32>,
    /// Traffic classes (bit-masks); empty: all traffic. At a DNS anchor, a service's class is
    /// its index in the server's service list.
    pub filters: Vec<Filter>,
    /// The part of the target's traffic to move, ppm; [`FULL`] drains it.
    pub fraction: u32,
}

impl Intent {
    /// `{Target = name}`: drain it.
    pub fn target(name: &str) -> Intent {
        Intent { target: name.to_string(), fraction: FULL, ..Intent::default() }
    }

    pub fn peers(mut self, peers: &[&str]) -> Intent {
        self.peers = peers.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn weights(mut self, w: &[u32]) -> Intent {
        self.weights = w.to_vec();
        self
    }

    pub fn filters(mut self, f: &[Filter]) -> Intent {
        self.filters = f.to_vec();
        self
    }

    /// How many of Table 1's parameters the operator gave (the Egret column of Table 3's
    /// state variables, before the mask id).
    pub fn parameters_given(&self) -> u32 {
        1 + !self.peers.is_empty() as u32
            + !self.weights.is_empty() as u32
            + !self.filters.is_empty() as u32
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgretError {
    #[error(transparent)]
    Nib(#[from] NibError),
    #[error("at anchor `{anchor}`: {error}")]
    Mask { anchor: String, error: MaskError },
    #[error("`{anchor}` is not an anchor Egret manages")]
    NotAnAnchor { anchor: String },
    #[error("peer `{peer}` is not reached through anchor `{anchor}`")]
    PeerNotUnderAnchor { peer: String, anchor: String },
    #[error("no mask {0:?}")]
    NoSuchMask(MaskId),
}

/// What Egret wants done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EgretOutput {
    /// Push this configuration to `device`.
    Configure { device: String, config: DeviceConfig },
    /// Observation 3: a stateful target's existing traffic moved with its state: `share` ppm
    /// of what `src` holds goes to `dst` (the caller runs OpenNF's move).
    MoveState { src: String, dst: String, share: u32 },
    /// A mask's timeout passed and it was reverted.
    Expired(MaskId),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EgretStats {
    pub api_calls: u64,
    pub rejected: u64,
    pub device_configs: u64,
    pub state_moves: u64,
    pub base_updates: u64,
}

#[derive(Clone, Debug)]
enum AnchorKind {
    Lb,
    Sdn { segments: Vec<HashSegment> },
    Dns { services: Vec<String> },
    MmePool,
}

#[derive(Clone, Debug)]
struct Anchor {
    kind: AnchorKind,
    ports: Vec<String>,
    stack: MaskStack,
}

#[derive(Clone, Debug)]
struct Job {
    intent: Intent,
    /// The anchor the job's mask sits on; `None` for a local (router) job.
    anchor: Option<String>,
}

/// The Egret controller.
#[derive(Clone, Debug)]
pub struct Egret {
    nib: Nib,
    policy: ConflictPolicy,
    anchors: BTreeMap<String, Anchor>,
    jobs: BTreeMap<MaskId, (Job, Option<Time>)>,
    next_id: u32,
    out: VecDeque<EgretOutput>,
    stats: EgretStats,
}

impl Egret {
    pub fn new(nib: Nib, policy: ConflictPolicy) -> Egret {
        Egret {
            nib,
            policy,
            anchors: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_id: 1,
            out: VecDeque::new(),
            stats: EgretStats::default(),
        }
    }

    pub fn nib(&self) -> &Nib {
        &self.nib
    }

    pub fn stats(&self) -> &EgretStats {
        &self.stats
    }

    /// Declares an anchor's base (its default configuration): relative weights over its
    /// children in the NIB, in their order. `services`: a DNS server's service names.
    pub fn manage(&mut self, anchor: &str, base: Vec<u32>) -> Result<(), EgretError> {
        let node = self.nib.node(anchor)?.clone();
        let ports = self.nib.children(anchor)?;
        let kind = match node.kind {
            NodeType::LoadBalancer => AnchorKind::Lb,
            NodeType::SdnSwitch => AnchorKind::Sdn { segments: Vec::new() },
            NodeType::DnsServer => AnchorKind::Dns { services: Vec::new() },
            NodeType::MmePool => AnchorKind::MmePool,
            _ => return Err(EgretError::NotAnAnchor { anchor: anchor.to_string() }),
        };
        let stack = MaskStack::new(base, self.policy)
            .map_err(|error| EgretError::Mask { anchor: anchor.to_string(), error })?;
        if stack.ports() != ports.len() {
            return Err(EgretError::Mask {
                anchor: anchor.to_string(),
                error: MaskError::BaseLength { got: stack.ports(), ports: ports.len() },
            });
        }
        let mut a = Anchor { kind, ports, stack };
        if let AnchorKind::Sdn { segments } = &mut a.kind {
            *segments = config::initial_segments(&a.stack.weights(0));
        }
        self.anchors.insert(anchor.to_string(), a);
        Ok(())
    }

    /// A DNS anchor's services, in class order (class `i` is `services[i]`).
    pub fn set_services(&mut self, anchor: &str, names: &[&str]) -> Result<(), EgretError> {
        match self.anchors.get_mut(anchor).map(|a| &mut a.kind) {
            Some(AnchorKind::Dns { services }) => {
                *services = names.iter().map(|s| s.to_string()).collect();
                Ok(())
            }
            _ => Err(EgretError::NotAnAnchor { anchor: anchor.to_string() }),
        }
    }

    /// The deployed weights of an anchor for a class (ppm per child).
    pub fn weights(&self, anchor: &str, class: u32) -> Option<Vec<u32>> {
        self.anchors.get(anchor).map(|a| a.stack.weights(class))
    }

    /// The anchor's stack (for inspection).
    pub fn stack(&self, anchor: &str) -> Option<&MaskStack> {
        self.anchors.get(anchor).map(|a| &a.stack)
    }

    /// Table 2: `add([params]) -> mask-id`; with a timeout the mask reverts itself.
    pub fn add(
        &mut self,
        now: Time,
        intent: Intent,
        timeout: Option<Dur>,
    ) -> Result<MaskId, EgretError> {
        self.stats.api_calls += 1;
        let id = MaskId(self.next_id);
        let expires = timeout.map(|d| now + d);
        let r = self.place(id, &intent, expires, false);
        match r {
            Ok(anchor) => {
                self.next_id += 1;
                self.jobs
                    .insert(id, (Job { intent: intent.clone(), anchor: anchor.clone() }, expires));
                self.push_configs(anchor.as_deref(), Some(&intent.target));
                if let Some(a) = &anchor {
                    self.state_moves(a, id, &intent);
                }
                Ok(id)
            }
            Err(e) => {
                self.stats.rejected += 1;
                Err(e)
            }
        }
    }

    /// Table 2: `update(mask-id, [params])`. The base is updated with [`Egret::update_base`].
    pub fn update(&mut self, id: MaskId, intent: Intent) -> Result<(), EgretError> {
        self.stats.api_calls += 1;
        let (job, expires) = self.jobs.get(&id).cloned().ok_or(EgretError::NoSuchMask(id))?;
        let r = match self.locate(&intent) {
            // Same anchor: the mask keeps its place in the stack.
            Ok(a) if a == job.anchor => self.place(id, &intent, expires, true),
            // Another anchor (or a local job): off the old one, on top of the new one.
            Ok(_) => {
                let saved = self.anchors.clone();
                self.unplace(id, &job);
                self.place(id, &intent, expires, false).inspect_err(|_| self.anchors = saved)
            }
            Err(e) => Err(e),
        };
        match r {
            Ok(anchor) => {
                self.jobs
                    .insert(id, (Job { intent: intent.clone(), anchor: anchor.clone() }, expires));
                if anchor != job.anchor || intent.target != job.intent.target {
                    self.push_configs(job.anchor.as_deref(), Some(&job.intent.target));
                }
                self.push_configs(anchor.as_deref(), Some(&intent.target));
                Ok(())
            }
            Err(e) => {
                self.stats.rejected += 1;
                Err(e)
            }
        }
    }

    /// Table 2: `update(base, [params])`: the operator re-adjusts an anchor's default.
    pub fn update_base(&mut self, anchor: &str, base: Vec<u32>) -> Result<(), EgretError> {
        self.stats.api_calls += 1;
        let a = self
            .anchors
            .get_mut(anchor)
            .ok_or_else(|| EgretError::NotAnAnchor { anchor: anchor.into() })?;
        a.stack
            .set_base(base)
            .map_err(|error| EgretError::Mask { anchor: anchor.into(), error })?;
        self.stats.base_updates += 1;
        self.push_configs(Some(anchor), None);
        Ok(())
    }

    /// Table 2: `revert(mask-id)`.
    pub fn revert(&mut self, id: MaskId) -> Result<(), EgretError> {
        self.stats.api_calls += 1;
        let (job, _) = self.jobs.remove(&id).ok_or(EgretError::NoSuchMask(id))?;
        self.unplace(id, &job);
        self.push_configs(job.anchor.as_deref(), Some(&job.intent.target));
        Ok(())
    }

    /// Egret 3.2.3: a failure detected "automatically through common SDN topology discovery"
    /// updates the base; every mask is reapplied to it.
    pub fn handle_link(&mut self, anchor: &str, child: &str, up: bool) -> Result<(), EgretError> {
        let a = self
            .anchors
            .get_mut(anchor)
            .ok_or_else(|| EgretError::NotAnAnchor { anchor: anchor.into() })?;
        let port = a.ports.iter().position(|p| p == child).ok_or_else(|| {
            EgretError::PeerNotUnderAnchor { peer: child.into(), anchor: anchor.into() }
        })?;
        a.stack
            .set_port_up(port, up)
            .map_err(|error| EgretError::Mask { anchor: anchor.into(), error })?;
        self.stats.base_updates += 1;
        self.push_configs(Some(anchor), None);
        Ok(())
    }

    pub fn handle_timeout(&mut self, now: Time) {
        let due: Vec<MaskId> = self
            .jobs
            .iter()
            .filter(|(_, (_, e))| e.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let (job, _) = self.jobs.remove(&id).expect("invariant: listed above");
            self.unplace(id, &job);
            self.push_configs(job.anchor.as_deref(), Some(&job.intent.target));
            self.out.push_back(EgretOutput::Expired(id));
        }
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        self.jobs.values().filter_map(|(_, e)| *e).min()
    }

    pub fn poll_output(&mut self) -> Option<EgretOutput> {
        self.out.pop_front()
    }

    /// Discovers the mechanism and anchors, and puts the mask on the anchor where the
    /// target's and the peers' paths meet. Returns that anchor (`None`: local).
    /// Mechanism and anchor discovery for an intent: the anchor its mask goes on (`None`:
    /// local). The mask goes on the closest common ancestor: the first anchor that reaches the
    /// target and every peer. Anchors below it on either side only forward.
    fn locate(&self, intent: &Intent) -> Result<Option<String>, EgretError> {
        let anchors = match self.nib.discover(&intent.target, &intent.peers)? {
            Mechanism::Local => return Ok(None),
            Mechanism::Remote { anchors } => anchors,
        };
        anchors
            .iter()
            .find(|a| {
                self.anchors.contains_key(*a)
                    && self.port_of(a, &intent.target).is_some()
                    && intent.peers.iter().all(|p| self.port_of(a, p).is_some())
            })
            .cloned()
            .map(Some)
            .ok_or_else(|| EgretError::NotAnAnchor { anchor: anchors.join(",") })
    }

    /// Puts the intent's mask on its anchor (or, `replace`, updates it in place there).
    /// Returns that anchor (`None`: local).
    fn place(
        &mut self,
        id: MaskId,
        intent: &Intent,
        expires: Option<Time>,
        replace: bool,
    ) -> Result<Option<String>, EgretError> {
        let Some(anchor) = self.locate(intent)? else { return Ok(None) };
        let target = self.port_of(&anchor, &intent.target).expect("invariant: checked");
        let mut peers: Vec<usize> = Vec::new();
        let mut weights: Vec<u32> = Vec::new();
        for (i, p) in intent.peers.iter().enumerate() {
            let port = self.port_of(&anchor, p).expect("invariant: checked");
            let w = intent.weights.get(i).copied().unwrap_or(1);
            match peers.iter().position(|&q| q == port) {
                Some(j) => weights[j] += w,
                None => {
                    peers.push(port);
                    weights.push(w);
                }
            }
        }
        if !intent.weights.is_empty() && intent.weights.len() != intent.peers.len() {
            return Err(EgretError::Mask {
                anchor,
                error: MaskError::WeightsMismatch {
                    weights: intent.weights.len(),
                    peers: intent.peers.len(),
                },
            });
        }
        let mask = AnchorMask {
            target,
            peers: (!peers.is_empty()).then_some(peers),
            weights: (!intent.weights.is_empty()).then_some(weights),
            fraction: intent.fraction,
            filters: intent.filters.clone(),
        };
        let a = self.anchors.get_mut(&anchor).expect("invariant: found above");
        let r = if replace { a.stack.update(id, mask) } else { a.stack.add(id, mask, expires) };
        r.map_err(|error| EgretError::Mask { anchor: anchor.clone(), error })?;
        Ok(Some(anchor))
    }

    fn unplace(&mut self, id: MaskId, job: &Job) {
        if let Some(a) = job.anchor.as_ref().and_then(|a| self.anchors.get_mut(a)) {
            a.stack.revert(id).expect("invariant: a placed job has its mask");
        }
    }

    /// The port of `anchor` through which `node` is reached (itself or an ancestor of it).
    fn port_of(&self, anchor: &str, node: &str) -> Option<usize> {
        let a = self.anchors.get(anchor)?;
        let mut cur = node.to_string();
        loop {
            if let Some(p) = a.ports.iter().position(|x| *x == cur) {
                return Some(p);
            }
            cur = self.nib.parent(&cur).ok()??;
            if cur == anchor {
                return None;
            }
        }
    }

    /// The configuration of an anchor (and of a local target) now, pushed as one output.
    fn push_configs(&mut self, anchor: Option<&str>, target: Option<&str>) {
        match anchor {
            Some(name) => {
                let a = self.anchors.get_mut(name).expect("invariant: a placed anchor exists");
                let w = a.stack.weights(0);
                let named =
                    |w: &[u32]| a.ports.iter().cloned().zip(w.iter().copied()).collect::<Vec<_>>();
                let config = match &mut a.kind {
                    AnchorKind::Lb => DeviceConfig::LbWeights(named(&w)),
                    AnchorKind::Sdn { segments } => {
                        *segments = config::rebalance(segments, &w);
                        DeviceConfig::SdnEntries(segments.clone())
                    }
                    AnchorKind::Dns { services } => DeviceConfig::DnsRecords(
                        services
                            .iter()
                            .enumerate()
                            .map(|(c, s)| (s.clone(), named(&a.stack.weights(c as u32))))
                            .collect(),
                    ),
                    AnchorKind::MmePool => DeviceConfig::MmeCapacity(
                        a.ports.iter().cloned().zip(config::mme_capacity(&w)).collect(),
                    ),
                };
                self.stats.device_configs += 1;
                self.out.push_back(EgretOutput::Configure { device: name.to_string(), config });
            }
            None => {
                let Some(t) = target else { return };
                let Ok(NodeType::Router { links }) = self.nib.node(t).map(|n| n.kind.clone())
                else {
                    return;
                };
                let drained =
                    self.jobs.values().any(|(j, _)| j.anchor.is_none() && j.intent.target == t);
                let costs = links
                    .into_iter()
                    .map(|(l, c)| (l, if drained { OSPF_DRAIN } else { c }))
                    .collect();
                self.stats.device_configs += 1;
                self.out.push_back(EgretOutput::Configure {
                    device: t.to_string(),
                    config: DeviceConfig::OspfWeights(costs),
                });
            }
        }
    }

    /// Observation 3: "Stateful network functions require two separate migrations for both
    /// new and existing traffic." New traffic follows the anchor's new configuration; the
    /// existing traffic of a stateful target is moved to the sinks in the mask's proportions.
    fn state_moves(&mut self, anchor: &str, id: MaskId, intent: &Intent) {
        let stateful = matches!(
            self.nib.node(&intent.target).map(|n| &n.kind),
            Ok(NodeType::Function { stateful: true })
        );
        if !stateful {
            return;
        }
        let a = &self.anchors[anchor];
        let eff = a.stack.effective(id).expect("invariant: just placed");
        for (port, &share) in eff.iter().enumerate() {
            if share > 0 {
                let share = (share as u64 * intent.fraction as u64 / FULL as u64) as u32;
                self.stats.state_moves += 1;
                self.out.push_back(EgretOutput::MoveState {
                    src: intent.target.clone(),
                    dst: a.ports[port].clone(),
                    share,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb_with_firewalls() -> Egret {
        let mut nib = Nib::new();
        nib.add("lb", NodeType::LoadBalancer);
        for f in ["fw1", "fw2", "fw3"] {
            nib.add(f, NodeType::Function { stateful: false });
            nib.link("lb", f).unwrap();
        }
        let mut e = Egret::new(nib, ConflictPolicy::Reject);
        e.manage("lb", vec![1, 1, 1]).unwrap();
        e
    }

    fn drain_outputs(e: &mut Egret) -> Vec<EgretOutput> {
        std::iter::from_fn(|| e.poll_output()).collect()
    }

    #[test]
    fn drain_firewall_then_failure_then_revert() {
        let mut e = lb_with_firewalls();
        let id = e.add(Time::ZERO, Intent::target("fw1"), None).unwrap();
        assert_eq!(e.weights("lb", 0).unwrap(), vec![0, FULL / 2, FULL / 2]);
        e.handle_link("lb", "fw2", false).unwrap();
        assert_eq!(e.weights("lb", 0).unwrap(), vec![0, 0, FULL]);
        e.revert(id).unwrap();
        assert_eq!(e.weights("lb", 0).unwrap(), vec![FULL / 2, 0, FULL / 2]);
        let outs = drain_outputs(&mut e);
        assert_eq!(outs.len(), 3, "one configuration per change: {outs:?}");
        assert_eq!(e.stats().api_calls, 2);
    }

    #[test]
    fn timeout_reverts_the_mask() {
        let mut e = lb_with_firewalls();
        e.add(Time::ZERO, Intent::target("fw1"), Some(Dur::from_millis(5))).unwrap();
        assert_eq!(e.poll_timeout(), Some(Time::ZERO + Dur::from_millis(5)));
        e.handle_timeout(Time::ZERO + Dur::from_millis(5));
        assert_eq!(e.weights("lb", 0).unwrap(), vec![FULL / 3 + 1, FULL / 3, FULL / 3]);
        assert!(drain_outputs(&mut e).contains(&EgretOutput::Expired(MaskId(1))));
    }

    #[test]
    fn router_drains_locally() {
        let mut nib = Nib::new();
        nib.add("pe1", NodeType::Router { links: vec![("a".into(), 10), ("b".into(), 20)] });
        let mut e = Egret::new(nib, ConflictPolicy::Reject);
        let id = e.add(Time::ZERO, Intent::target("pe1"), None).unwrap();
        e.revert(id).unwrap();
        let outs = drain_outputs(&mut e);
        let costs: Vec<_> = outs
            .iter()
            .map(|o| match o {
                EgretOutput::Configure { config: DeviceConfig::OspfWeights(c), .. } => c.clone(),
                o => panic!("unexpected {o:?}"),
            })
            .collect();
        assert_eq!(costs[0], vec![("a".into(), OSPF_DRAIN), ("b".into(), OSPF_DRAIN)]);
        assert_eq!(costs[1], vec![("a".into(), 10), ("b".into(), 20)]);
    }

    #[test]
    fn update_changes_a_mask_in_place_and_refusals_change_nothing() {
        let mut e = lb_with_firewalls();
        let id = e.add(Time::ZERO, Intent::target("fw1"), None).unwrap();
        e.update(id, Intent::target("fw1").peers(&["fw3"])).unwrap();
        assert_eq!(e.weights("lb", 0).unwrap(), vec![0, FULL / 3, FULL - FULL / 3]);
        e.update(id, Intent::target("fw2")).unwrap();
        let w = e.weights("lb", 0).unwrap();
        assert_eq!((w[1], w[0] + w[2]), (0, FULL), "{w:?}");
        let before = e.weights("lb", 0).unwrap();
        assert!(e.update(id, Intent::target("fw2").peers(&["fw2"])).is_err());
        assert!(e.update(id, Intent::target("nope")).is_err());
        assert_eq!(e.weights("lb", 0).unwrap(), before);
        e.revert(id).unwrap();
        assert_eq!(e.weights("lb", 0).unwrap(), vec![FULL / 3 + 1, FULL / 3, FULL / 3]);
    }

    /// Egret 4.1: "{Target: server-A, Peer: server-C}" on different racks: the mask goes on
    /// the aggregation switch, the closest common ancestor, over its ToR ports.
    #[test]
    fn figure2_mask_goes_on_the_common_ancestor() {
        let mut nib = Nib::new();
        nib.add("agg", NodeType::SdnSwitch);
        for (tor, servers) in [("tor1", ["A", "B"]), ("tor2", ["C", "D"])] {
            nib.add(tor, NodeType::SdnSwitch);
            nib.link("agg", tor).unwrap();
            for s in servers {
                nib.add(s, NodeType::Function { stateful: false });
                nib.link(tor, s).unwrap();
            }
        }
        let mut e = Egret::new(nib, ConflictPolicy::Reject);
        for a in ["agg", "tor1", "tor2"] {
            e.manage(a, vec![1, 1]).unwrap();
        }
        e.add(Time::ZERO, Intent::target("A").peers(&["C"]), None).unwrap();
        assert_eq!(e.stack("agg").unwrap().masks().count(), 1);
        assert_eq!(e.stack("tor1").unwrap().masks().count(), 0);
        assert_eq!(e.weights("agg", 0).unwrap(), vec![0, FULL]);
        match e.poll_output() {
            Some(EgretOutput::Configure { device, config: DeviceConfig::SdnEntries(s) }) => {
                assert_eq!(device, "agg");
                assert!(s.iter().all(|seg| seg.port == 1), "{s:?}");
            }
            o => panic!("unexpected {o:?}"),
        }
        // Same rack: the ToR is the common ancestor.
        e.add(Time::ZERO, Intent::target("D").peers(&["C"]), None).unwrap();
        assert_eq!(e.weights("tor2", 0).unwrap(), vec![FULL, 0]);
    }

    #[test]
    fn unknown_target_and_mask_are_errors() {
        let mut e = lb_with_firewalls();
        assert!(matches!(e.add(Time::ZERO, Intent::target("fw9"), None), Err(EgretError::Nib(_))));
        assert_eq!(e.revert(MaskId(7)), Err(EgretError::NoSuchMask(MaskId(7))));
        assert_eq!(e.stats().rejected, 1);
    }
}
