//! An SDN switch: a flow table with priorities, rule updates that take time, packet-in and
//! packet-out.
//!
//! ```text
//!            FlowMods{xid} / PacketOut                    FlowModsDone / FlowModFailed /
//! controller ───────────────────────────► update queue ──► FlowRemoved / PacketIn ──► controller
//!                                         (latency model)
//! in_port, packet ──► lookup (highest priority; ties: first installed) ──► actions ──► ports
//! ```
//!
//! - **Matches**: in-port, 5-tuple fields with wildcards and address prefixes, a flow-hash range
//!   `[lo, hi)`, and the packet's tag. Rules whose match is an exact 5-tuple are indexed; the rest
//!   are scanned in priority order.
//! - **Actions**, in order: set-tag, output, to-controller (packet-in, the packet goes no
//!   further), duplicate-to-controller (a copy goes to the controller, the packet goes on), drop.
//!   A rule with no output and no to-controller action drops. A packet that matches no rule
//!   follows the table-miss policy.
//! - **Rule updates are not instant.** A `FlowMods` batch joins a FIFO. `hardware`: one rule at a
//!   time, each taking a latency drawn from a truncated exponential on `[min, max]` with the
//!   configured mean (E2 section 7.2 measured 1-8 ms, mean 3 ms, on a hardware switch; the shape
//!   is ours); each rule takes effect when its own update completes. `software`: `per_rule` per
//!   rule (E2: 20 us in its software dataplane), and a batch's rules take effect together when
//!   the batch completes. `FlowModsDone { xid }` follows the batch's last rule.
//! - **Capacity**: an add that would exceed the table is not applied and is reported
//!   (`FlowModFailed { TableFull }`), never silently dropped.
//! - **Idle timeouts**: a rule unmatched for its idle timeout is removed and reported
//!   (`FlowRemoved`), as SHarP's detection phase needs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use base::{Dur, Rng, Time};

use crate::fxhash::FxHashMap;
use crate::packet::{FiveTuple, Packet, PortId, Xid};

/// The in-port of packets the controller injects through the table.
pub const CONTROLLER_PORT: PortId = PortId(u16::MAX);

/// A rule's identity, chosen by the controller.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cookie(pub u64);

/// An IPv4 prefix.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: u32,
    pub len: u8,
}

impl Prefix {
    pub fn exact(addr: u32) -> Prefix {
        Prefix { addr, len: 32 }
    }
    #[inline]
    pub fn contains(&self, a: u32) -> bool {
        let mask = if self.len == 0 { 0 } else { u32::MAX << (32 - self.len.min(32)) };
        (a ^ self.addr) & mask == 0
    }
}

/// What a rule matches; `None` is a wildcard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Match {
    pub in_port: Option<PortId>,
    pub src: Option<Prefix>,
    pub dst: Option<Prefix>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub proto: Option<u8>,
    /// Flow-hash range `[lo, hi)` (E2's range filters).
    pub hash: Option<(u32, u32)>,
    pub tag: Option<u16>,
}

impl Match {
    /// Matches every packet.
    pub fn any() -> Match {
        Match::default()
    }

    /// Could a packet match both? False only when some field both constrain cannot agree
    /// (different ports or protocols, disjoint prefixes or hash ranges); true otherwise.
    pub fn may_overlap(&self, other: &Match) -> bool {
        fn agree<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
        }
        // Two prefixes overlap iff one contains the other.
        let prefixes = |a: &Option<Prefix>, b: &Option<Prefix>| match (a, b) {
            (Some(a), Some(b)) => a.contains(b.addr) || b.contains(a.addr),
            _ => true,
        };
        let hashes = match (self.hash, other.hash) {
            (Some((a0, a1)), Some((b0, b1))) => a0 < b1 && b0 < a1,
            _ => true,
        };
        agree(&self.in_port, &other.in_port)
            && agree(&self.sport, &other.sport)
            && agree(&self.dport, &other.dport)
            && agree(&self.proto, &other.proto)
            && agree(&self.tag, &other.tag)
            && prefixes(&self.src, &other.src)
            && prefixes(&self.dst, &other.dst)
            && hashes
    }

    /// Exactly this 5-tuple.
    pub fn flow(t: &FiveTuple) -> Match {
        Match {
            src: Some(Prefix::exact(t.src)),
            dst: Some(Prefix::exact(t.dst)),
            sport: Some(t.sport),
            dport: Some(t.dport),
            proto: Some(t.proto),
            ..Match::default()
        }
    }

    /// Flows whose hash is in `[lo, hi)`.
    pub fn hash_range(lo: u32, hi: u32) -> Match {
        Match { hash: Some((lo, hi)), ..Match::default() }
    }

    /// Does `pkt`, arriving on `in_port`, match?
    #[inline]
    pub fn matches(&self, in_port: PortId, pkt: &Packet) -> bool {
        self.in_port.is_none_or(|p| p == in_port)
            && self.matches_flow(pkt)
            && self.tag.is_none_or(|t| t == pkt.tag)
    }

    /// The 5-tuple and hash part only (what an NF's flow filter looks at).
    #[inline]
    pub fn matches_flow(&self, pkt: &Packet) -> bool {
        self.matches_tuple(&pkt.tuple, pkt.hash)
    }

    #[inline]
    pub fn matches_tuple(&self, t: &FiveTuple, hash: u32) -> bool {
        self.src.is_none_or(|p| p.contains(t.src))
            && self.dst.is_none_or(|p| p.contains(t.dst))
            && self.sport.is_none_or(|p| p == t.sport)
            && self.dport.is_none_or(|p| p == t.dport)
            && self.proto.is_none_or(|p| p == t.proto)
            && self.hash.is_none_or(|(lo, hi)| lo <= hash && hash < hi)
    }

    /// The 5-tuple, if this match pins every 5-tuple field exactly (the indexed case).
    fn exact_tuple(&self) -> Option<FiveTuple> {
        let (src, dst) = (self.src?, self.dst?);
        (src.len == 32 && dst.len == 32).then_some(FiveTuple {
            src: src.addr,
            dst: dst.addr,
            sport: self.sport?,
            dport: self.dport?,
            proto: self.proto?,
        })
    }
}

/// What a matching rule does, applied in order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Output(PortId),
    /// Packet-in; the packet goes no further.
    ToController,
    /// A copy goes to the controller; the packet goes on.
    DupToController,
    SetTag(u16),
    Drop,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub cookie: Cookie,
    pub priority: u16,
    pub matcher: Match,
    pub actions: Vec<Action>,
    pub idle_timeout: Option<Dur>,
}

/// A change to the flow table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowMod {
    /// Add a rule, replacing any rule with the same cookie.
    Add(Rule),
    /// Replace the actions of the rule with this cookie.
    Modify {
        cookie: Cookie,
        actions: Vec<Action>,
    },
    Delete {
        cookie: Cookie,
    },
}

impl FlowMod {
    fn cookie(&self) -> Cookie {
        match self {
            FlowMod::Add(r) => r.cookie,
            FlowMod::Modify { cookie, .. } | FlowMod::Delete { cookie } => *cookie,
        }
    }
}

/// How long rule updates take.
#[derive(Clone, Debug, PartialEq)]
pub enum UpdateLatency {
    /// One rule at a time, each drawn from a truncated exponential on `[min, max]` with mean
    /// `mean` (E2 section 7.2: 1-8 ms, mean 3 ms).
    Hardware { min: Dur, max: Dur, mean: Dur },
    /// `per_rule` for each rule; a batch takes effect at once when done (E2: 20 us).
    Software { per_rule: Dur },
}

impl UpdateLatency {
    pub fn e2_hardware() -> Self {
        UpdateLatency::Hardware {
            min: Dur::from_millis(1),
            max: Dur::from_millis(8),
            mean: Dur::from_millis(3),
        }
    }
    pub fn e2_software() -> Self {
        UpdateLatency::Software { per_rule: Dur::from_micros(20) }
    }
}

/// What the switch does with a packet that matches no rule.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TableMiss {
    Drop,
    ToController,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SwitchConfig {
    pub table_capacity: usize,
    pub update: UpdateLatency,
    pub table_miss: TableMiss,
}

impl Default for SwitchConfig {
    /// E2's defaults: 2,048 entries (section 7.2's switch), hardware update latency.
    fn default() -> Self {
        SwitchConfig {
            table_capacity: 2048,
            update: UpdateLatency::e2_hardware(),
            table_miss: TableMiss::Drop,
        }
    }
}

/// Controller to switch.
#[derive(Clone, Debug, PartialEq)]
pub enum SwitchCtrl {
    FlowMods {
        xid: Xid,
        mods: Vec<FlowMod>,
    },
    /// Inject a packet: out of a port, or through the table (in-port [`CONTROLLER_PORT`]).
    PacketOut {
        packet: Packet,
        out: Option<PortId>,
    },
    /// Inject a packet through the table as if it had entered on `in_port` (OpenFlow's
    /// packet-out with its `in_port` field set and the action `OFPP_TABLE`).
    PacketOutTable {
        packet: Packet,
        in_port: PortId,
    },
}

impl SwitchCtrl {
    /// The packet a packet-out injects, if this is one.
    pub fn injected(&self) -> Option<&Packet> {
        match self {
            SwitchCtrl::FlowMods { .. } => None,
            SwitchCtrl::PacketOut { packet, .. } | SwitchCtrl::PacketOutTable { packet, .. } => {
                Some(packet)
            }
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PacketInReason {
    Action,
    Duplicate,
    TableMiss,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FlowModError {
    TableFull,
    NoSuchRule,
}

/// Switch to controller.
#[derive(Clone, Debug, PartialEq)]
pub enum SwitchEvent {
    PacketIn { in_port: PortId, packet: Packet, reason: PacketInReason },
    FlowModsDone { xid: Xid },
    FlowModFailed { xid: Xid, cookie: Cookie, error: FlowModError },
    FlowRemoved { cookie: Cookie, packets: u64, bytes: u64 },
}

/// Why a switch dropped a packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SwitchDrop {
    TableMiss,
    Rule,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SwitchOutput {
    Transmit { port: PortId, packet: Packet },
    ToController(SwitchEvent),
    Dropped { packet: Packet, cause: SwitchDrop },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwitchStats {
    pub packets: u64,
    pub table_misses: u64,
    pub rule_drops: u64,
    pub packet_ins: u64,
    pub rules_applied: u64,
    pub rules_failed: u64,
    pub rules_expired: u64,
    pub max_rules: usize,
}

/// Per-rule counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleCounters {
    pub packets: u64,
    pub bytes: u64,
}

struct Entry {
    rule: Rule,
    /// Installation order, for deterministic ties between equal priorities.
    order: u64,
    counters: RuleCounters,
    last_hit: Time,
}

/// The flow table. Rules live in a slab with stable indices; `by_cookie` names them; exact
/// 5-tuple rules are indexed by tuple and the others kept sorted by priority (descending), then
/// installation order, so a lookup touches only candidate rules.
#[derive(Default)]
struct FlowTable {
    slab: Vec<Option<Entry>>,
    free: Vec<usize>,
    by_cookie: BTreeMap<Cookie, usize>,
    exact: FxHashMap<FiveTuple, Vec<usize>>,
    /// `(priority, order, slot)` of the non-exact rules.
    wild: Vec<(Reverse<u16>, u64, usize)>,
    next_order: u64,
}

impl FlowTable {
    fn len(&self) -> usize {
        self.by_cookie.len()
    }

    fn get(&self, cookie: Cookie) -> Option<&Entry> {
        self.by_cookie.get(&cookie).map(|&i| self.entry(i))
    }

    fn get_mut(&mut self, cookie: Cookie) -> Option<&mut Entry> {
        let i = *self.by_cookie.get(&cookie)?;
        self.slab[i].as_mut()
    }

    #[inline]
    fn entry(&self, i: usize) -> &Entry {
        self.slab[i].as_ref().expect("invariant: indexed slots hold a rule")
    }

    fn insert(&mut self, now: Time, rule: Rule) {
        self.remove(rule.cookie);
        let order = self.next_order;
        self.next_order += 1;
        let cookie = rule.cookie;
        let exact = rule.matcher.exact_tuple();
        let priority = rule.priority;
        let entry = Entry { rule, order, counters: RuleCounters::default(), last_hit: now };
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i] = Some(entry);
                i
            }
            None => {
                self.slab.push(Some(entry));
                self.slab.len() - 1
            }
        };
        self.by_cookie.insert(cookie, slot);
        match exact {
            Some(t) => self.exact.entry(t).or_default().push(slot),
            None => {
                let key = (Reverse(priority), order, slot);
                let at = self.wild.partition_point(|k| *k < key);
                self.wild.insert(at, key);
            }
        }
    }

    fn remove(&mut self, cookie: Cookie) -> Option<Entry> {
        let slot = self.by_cookie.remove(&cookie)?;
        let e = self.slab[slot].take().expect("invariant: a named slot holds a rule");
        self.free.push(slot);
        match e.rule.matcher.exact_tuple() {
            Some(t) => {
                if let Some(v) = self.exact.get_mut(&t) {
                    v.retain(|&i| i != slot);
                    if v.is_empty() {
                        self.exact.remove(&t);
                    }
                }
            }
            None => self.wild.retain(|k| k.2 != slot),
        }
        Some(e)
    }

    /// The winning rule's slot: highest priority, then earliest installed.
    #[inline]
    fn lookup(&self, in_port: PortId, pkt: &Packet) -> Option<usize> {
        let mut best: Option<(Reverse<u16>, u64, usize)> = None;
        if !self.exact.is_empty() {
            if let Some(cands) = self.exact.get(&pkt.tuple) {
                for &i in cands {
                    let e = self.entry(i);
                    if e.rule.matcher.matches(in_port, pkt) {
                        let k = (Reverse(e.rule.priority), e.order, i);
                        if best.is_none_or(|b| k < b) {
                            best = Some(k);
                        }
                    }
                }
            }
        }
        for k in &self.wild {
            if best.is_some_and(|b| b < *k) {
                break;
            }
            if self.entry(k.2).rule.matcher.matches(in_port, pkt) {
                best = Some(*k);
                break;
            }
        }
        best.map(|b| b.2)
    }
}

struct Batch {
    xid: Xid,
    mods: VecDeque<FlowMod>,
}

/// The switch machine. Call contract: feed one input, drain `poll_output` until `None`, then
/// read `poll_timeout`. `now` never decreases between calls.
pub struct Switch {
    cfg: SwitchConfig,
    table: FlowTable,
    queue: VecDeque<Batch>,
    /// The update in progress completes at this time.
    update_done_at: Option<Time>,
    /// Candidate idle-timeout deadlines, checked lazily against each rule's last hit.
    idle: BinaryHeap<Reverse<(Time, Cookie)>>,
    /// Scale of the truncated exponential part of the hardware latency, in ns.
    hw_scale_ns: f64,
    rng: Rng,
    out: VecDeque<SwitchOutput>,
    stats: SwitchStats,
}

impl Switch {
    /// `rng` draws the hardware update latencies (the driver names it `"switch/<name>/updates"`).
    pub fn new(cfg: SwitchConfig, rng: Rng) -> Switch {
        let hw_scale_ns = match cfg.update {
            UpdateLatency::Hardware { min, max, mean } => truncated_exp_scale(
                (max.as_nanos() - min.as_nanos()) as f64,
                (mean.as_nanos() - min.as_nanos()) as f64,
            ),
            UpdateLatency::Software { .. } => 0.0,
        };
        Switch {
            cfg,
            table: FlowTable::default(),
            queue: VecDeque::new(),
            update_done_at: None,
            idle: BinaryHeap::new(),
            hw_scale_ns,
            rng,
            out: VecDeque::new(),
            stats: SwitchStats::default(),
        }
    }

    pub fn stats(&self) -> &SwitchStats {
        &self.stats
    }

    pub fn rule_count(&self) -> usize {
        self.table.len()
    }

    /// The counters of the rule with this cookie, if installed.
    pub fn rule_counters(&self, cookie: Cookie) -> Option<RuleCounters> {
        self.table.get(cookie).map(|e| e.counters)
    }

    /// Installs rules at once, before the run (the initial configuration).
    pub fn preinstall(&mut self, now: Time, rules: Vec<Rule>) -> Result<(), FlowModError> {
        for r in rules {
            if self.table.len() >= self.cfg.table_capacity {
                return Err(FlowModError::TableFull);
            }
            self.install(now, r);
        }
        Ok(())
    }

    fn install(&mut self, now: Time, r: Rule) {
        if let Some(idle) = r.idle_timeout {
            self.idle.push(Reverse((now + idle, r.cookie)));
        }
        self.table.insert(now, r);
        self.stats.max_rules = self.stats.max_rules.max(self.table.len());
    }

    /// A data packet arrives on `in_port`.
    pub fn handle_packet(&mut self, now: Time, in_port: PortId, mut pkt: Packet) {
        self.stats.packets += 1;
        let Some(slot) = self.table.lookup(in_port, &pkt) else {
            self.stats.table_misses += 1;
            match self.cfg.table_miss {
                TableMiss::Drop => self
                    .out
                    .push_back(SwitchOutput::Dropped { packet: pkt, cause: SwitchDrop::TableMiss }),
                TableMiss::ToController => self.packet_in(in_port, pkt, PacketInReason::TableMiss),
            }
            return;
        };
        let e = self.table.slab[slot].as_mut().expect("invariant: looked-up rule exists");
        e.counters.packets += 1;
        e.counters.bytes += pkt.size_bytes as u64;
        e.last_hit = now;
        let mut forwarded = false;
        let mut to_controller = false;
        for &action in &e.rule.actions {
            match action {
                Action::SetTag(t) => pkt.tag = t,
                Action::Output(port) => {
                    forwarded = true;
                    self.out.push_back(SwitchOutput::Transmit { port, packet: pkt });
                }
                Action::DupToController => {
                    self.stats.packet_ins += 1;
                    self.out.push_back(SwitchOutput::ToController(SwitchEvent::PacketIn {
                        in_port,
                        packet: pkt,
                        reason: PacketInReason::Duplicate,
                    }));
                }
                Action::ToController => {
                    to_controller = true;
                    break;
                }
                Action::Drop => break,
            }
        }
        if to_controller {
            self.packet_in(in_port, pkt, PacketInReason::Action);
        } else if !forwarded {
            self.stats.rule_drops += 1;
            self.out.push_back(SwitchOutput::Dropped { packet: pkt, cause: SwitchDrop::Rule });
        }
    }

    fn packet_in(&mut self, in_port: PortId, packet: Packet, reason: PacketInReason) {
        self.stats.packet_ins += 1;
        self.out.push_back(SwitchOutput::ToController(SwitchEvent::PacketIn {
            in_port,
            packet,
            reason,
        }));
    }

    /// A message from the controller.
    pub fn handle_ctrl(&mut self, now: Time, msg: SwitchCtrl) {
        match msg {
            SwitchCtrl::FlowMods { xid, mods } => {
                self.queue.push_back(Batch { xid, mods: mods.into() });
                if self.update_done_at.is_none() {
                    self.start_update(now);
                }
            }
            SwitchCtrl::PacketOut { packet, out: Some(port) } => {
                self.out.push_back(SwitchOutput::Transmit { port, packet })
            }
            SwitchCtrl::PacketOut { packet, out: None } => {
                self.handle_packet(now, CONTROLLER_PORT, packet)
            }
            SwitchCtrl::PacketOutTable { packet, in_port } => {
                self.handle_packet(now, in_port, packet)
            }
        }
    }

    /// Starts the next update in the FIFO, if any: the next rule (hardware) or the next whole
    /// batch (software).
    fn start_update(&mut self, now: Time) {
        while let Some(b) = self.queue.front() {
            if b.mods.is_empty() {
                // An empty batch is a barrier: done as soon as it is reached.
                let xid = b.xid;
                self.queue.pop_front();
                self.out.push_back(SwitchOutput::ToController(SwitchEvent::FlowModsDone { xid }));
                continue;
            }
            let latency = match self.cfg.update {
                UpdateLatency::Hardware { min, max, .. } => {
                    let span = (max.as_nanos() - min.as_nanos()) as f64;
                    let x = if span > 0.0 {
                        self.rng.truncated_exp(self.hw_scale_ns, span)
                    } else {
                        0.0
                    };
                    min + Dur::from_nanos(x.round() as u64)
                }
                UpdateLatency::Software { per_rule } => {
                    Dur::from_nanos(per_rule.as_nanos() * b.mods.len() as u64)
                }
            };
            self.update_done_at = Some(now + latency);
            return;
        }
        self.update_done_at = None;
    }

    fn complete_update(&mut self, now: Time) {
        let hardware = matches!(self.cfg.update, UpdateLatency::Hardware { .. });
        let batch = self.queue.front_mut().expect("invariant: an update in progress has a batch");
        let xid = batch.xid;
        let mods: Vec<FlowMod> = if hardware {
            batch.mods.pop_front().into_iter().collect()
        } else {
            batch.mods.drain(..).collect()
        };
        let finished = batch.mods.is_empty();
        if finished {
            self.queue.pop_front();
        }
        for m in mods {
            self.apply(now, xid, m);
        }
        if finished {
            self.out.push_back(SwitchOutput::ToController(SwitchEvent::FlowModsDone { xid }));
        }
        self.start_update(now);
    }

    fn apply(&mut self, now: Time, xid: Xid, m: FlowMod) {
        let cookie = m.cookie();
        let result = match m {
            FlowMod::Add(rule) => {
                let replaces = self.table.get(rule.cookie).is_some();
                if !replaces && self.table.len() >= self.cfg.table_capacity {
                    Err(FlowModError::TableFull)
                } else {
                    self.install(now, rule);
                    Ok(())
                }
            }
            FlowMod::Modify { cookie, actions } => match self.table.get_mut(cookie) {
                Some(e) => {
                    e.rule.actions = actions;
                    Ok(())
                }
                None => Err(FlowModError::NoSuchRule),
            },
            FlowMod::Delete { cookie } => {
                self.table.remove(cookie).map(|_| ()).ok_or(FlowModError::NoSuchRule)
            }
        };
        match result {
            Ok(()) => self.stats.rules_applied += 1,
            Err(error) => {
                self.stats.rules_failed += 1;
                self.out.push_back(SwitchOutput::ToController(SwitchEvent::FlowModFailed {
                    xid,
                    cookie,
                    error,
                }));
            }
        }
    }

    fn expire_idle(&mut self, now: Time) {
        while let Some(&Reverse((deadline, cookie))) = self.idle.peek() {
            if deadline > now {
                break;
            }
            self.idle.pop();
            let Some(e) = self.table.get(cookie) else { continue };
            let Some(idle) = e.rule.idle_timeout else { continue };
            let due = e.last_hit + idle;
            if due > now {
                self.idle.push(Reverse((due, cookie))); // hit since: check again later
                continue;
            }
            let e = self.table.remove(cookie).expect("invariant: present");
            self.stats.rules_expired += 1;
            self.out.push_back(SwitchOutput::ToController(SwitchEvent::FlowRemoved {
                cookie,
                packets: e.counters.packets,
                bytes: e.counters.bytes,
            }));
        }
    }

    /// Early or stale calls are no-ops.
    pub fn handle_timeout(&mut self, now: Time) {
        if self.update_done_at.is_some_and(|t| t <= now) {
            self.complete_update(now);
        }
        self.expire_idle(now);
    }

    pub fn poll_output(&mut self) -> Option<SwitchOutput> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        let idle = self.idle.peek().map(|r| r.0 .0);
        match (self.update_done_at, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The scale `s` of an exponential truncated to `[0, span]` whose mean is `mean`
/// (`0 < mean < span / 2`), by bisection on `m(s) = s - span / (exp(span / s) - 1)`, which
/// rises from 0 to `span / 2` as `s` grows. A mean at or above `span / 2` gets the uniform limit.
fn truncated_exp_scale(span: f64, mean: f64) -> f64 {
    if span <= 0.0 || mean <= 0.0 {
        return 1.0;
    }
    let m = |s: f64| s - span / ((span / s).exp() - 1.0);
    let (mut lo, mut hi) = (span * 1e-6, span * 1e6);
    if mean >= m(hi) {
        return hi;
    }
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if m(mid) < mean {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo * hi).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base::RngStreams;

    fn pkt(sport: u16, hash: u32) -> Packet {
        Packet { hash, ..Packet::for_test(sport as u64, 0) }
    }

    fn rule(cookie: u64, priority: u16, matcher: Match, actions: Vec<Action>) -> Rule {
        Rule { cookie: Cookie(cookie), priority, matcher, actions, idle_timeout: None }
    }

    fn sw(update: UpdateLatency, capacity: usize) -> Switch {
        let cfg = SwitchConfig { table_capacity: capacity, update, table_miss: TableMiss::Drop };
        Switch::new(cfg, RngStreams::new(1).stream("switch/s1/updates"))
    }

    fn drain(s: &mut Switch) -> Vec<SwitchOutput> {
        std::iter::from_fn(|| s.poll_output()).collect()
    }

    fn ms(x: u64) -> Time {
        Time::ZERO + Dur::from_millis(x)
    }

    #[test]
    fn matches_overlap_unless_a_shared_field_is_disjoint() {
        let lo = Match::hash_range(0, 100);
        let hi = Match::hash_range(100, 200);
        assert!(!lo.may_overlap(&hi));
        assert!(lo.may_overlap(&Match::any()));
        assert!(Match::hash_range(50, 150).may_overlap(&hi));
        let web = Match { dport: Some(80), ..Match::any() };
        let dns = Match { dport: Some(53), ..Match::any() };
        assert!(!web.may_overlap(&dns) && web.may_overlap(&lo));
        let net = |addr, len| Match { src: Some(Prefix { addr, len }), ..Match::any() };
        assert!(net(0x0a00_0000, 8).may_overlap(&net(0x0a01_0000, 16)));
        assert!(!net(0x0a00_0000, 8).may_overlap(&net(0x0b00_0000, 8)));
    }

    #[test]
    fn highest_priority_wins_and_ties_go_to_the_first_installed() {
        let mut s = sw(UpdateLatency::e2_software(), 10);
        let p = pkt(1000, 7);
        s.preinstall(
            Time::ZERO,
            vec![
                rule(1, 10, Match::any(), vec![Action::Output(PortId(1))]),
                rule(2, 20, Match::hash_range(0, 8), vec![Action::Output(PortId(2))]),
                rule(3, 20, Match::flow(&p.tuple), vec![Action::Output(PortId(3))]),
            ],
        )
        .unwrap();
        s.handle_packet(Time::ZERO, PortId(0), p);
        // Rules 2 and 3 tie at priority 20; rule 2 was installed first.
        assert_eq!(drain(&mut s), vec![SwitchOutput::Transmit { port: PortId(2), packet: p }]);
        s.handle_packet(Time::ZERO, PortId(0), pkt(1000, 9)); // outside [0, 8): rule 3 exact
        assert!(matches!(drain(&mut s)[0], SwitchOutput::Transmit { port: PortId(3), .. }));
        s.handle_packet(Time::ZERO, PortId(0), pkt(1001, 9)); // only the catch-all
        assert!(matches!(drain(&mut s)[0], SwitchOutput::Transmit { port: PortId(1), .. }));
    }

    #[test]
    fn a_rule_is_not_in_effect_before_its_update_completes() {
        let mut s = sw(UpdateLatency::Software { per_rule: Dur::from_micros(20) }, 10);
        let add = FlowMod::Add(rule(1, 1, Match::any(), vec![Action::Output(PortId(1))]));
        s.handle_ctrl(Time::ZERO, SwitchCtrl::FlowMods { xid: Xid(1), mods: vec![add] });
        assert_eq!(s.poll_timeout(), Some(Time::ZERO + Dur::from_micros(20)));
        s.handle_packet(Time::from_nanos(19_999), PortId(0), pkt(1, 0));
        assert!(matches!(
            drain(&mut s)[0],
            SwitchOutput::Dropped { cause: SwitchDrop::TableMiss, .. }
        ));
        s.handle_timeout(Time::from_nanos(20_000));
        assert_eq!(
            drain(&mut s),
            vec![SwitchOutput::ToController(SwitchEvent::FlowModsDone { xid: Xid(1) })]
        );
        s.handle_packet(Time::from_nanos(20_000), PortId(0), pkt(1, 0));
        assert!(matches!(drain(&mut s)[0], SwitchOutput::Transmit { .. }));
    }

    #[test]
    fn a_software_batch_takes_effect_at_once_after_k_times_per_rule() {
        let mut s = sw(UpdateLatency::Software { per_rule: Dur::from_micros(20) }, 10);
        let mods = (0..5).map(|i| FlowMod::Add(rule(i, 1, Match::any(), vec![]))).collect();
        s.handle_ctrl(Time::ZERO, SwitchCtrl::FlowMods { xid: Xid(1), mods });
        assert_eq!(s.poll_timeout(), Some(Time::ZERO + Dur::from_micros(100)));
        s.handle_timeout(Time::ZERO + Dur::from_micros(100));
        assert_eq!(s.rule_count(), 5);
    }

    #[test]
    fn a_hardware_switch_applies_updates_one_at_a_time() {
        let mut s = sw(UpdateLatency::e2_hardware(), 100);
        let mods: Vec<FlowMod> =
            (0..3).map(|i| FlowMod::Add(rule(i, 1, Match::any(), vec![]))).collect();
        s.handle_ctrl(Time::ZERO, SwitchCtrl::FlowMods { xid: Xid(7), mods });
        let mut completions = vec![];
        while let Some(t) = s.poll_timeout() {
            s.handle_timeout(t);
            completions.push((t, s.rule_count()));
        }
        // Three completions, one more rule each, each 1-8 ms after the previous.
        assert_eq!(completions.iter().map(|c| c.1).collect::<Vec<_>>(), vec![1, 2, 3]);
        let mut prev = Time::ZERO;
        for (t, _) in &completions {
            let d = *t - prev;
            assert!(Dur::from_millis(1) <= d && d <= Dur::from_millis(8), "{d}");
            prev = *t;
        }
        assert_eq!(
            drain(&mut s).last(),
            Some(&SwitchOutput::ToController(SwitchEvent::FlowModsDone { xid: Xid(7) }))
        );
    }

    #[test]
    fn hardware_latencies_have_the_configured_range_and_mean() {
        let mut s = sw(UpdateLatency::e2_hardware(), 100_000);
        let n = 20_000;
        let mods = (0..n).map(|i| FlowMod::Add(rule(i, 1, Match::any(), vec![]))).collect();
        s.handle_ctrl(Time::ZERO, SwitchCtrl::FlowMods { xid: Xid(1), mods });
        let mut prev = Time::ZERO;
        let (mut sum, mut lo, mut hi) = (0u64, u64::MAX, 0u64);
        while let Some(t) = s.poll_timeout() {
            s.handle_timeout(t);
            let d = (t - prev).as_nanos();
            (sum, lo, hi) = (sum + d, lo.min(d), hi.max(d));
            prev = t;
        }
        let mean_ms = sum as f64 / n as f64 / 1e6;
        // The truncated exponential on [0, 7] ms with mean 2 ms has sd ~1.7 ms; the standard
        // error over 20k draws is 0.012 ms, so 0.06 ms is five of them.
        assert!((mean_ms - 3.0).abs() < 0.06, "mean {mean_ms} ms");
        assert!(lo >= 1_000_000 && hi <= 8_000_000, "[{lo}, {hi}]");
    }

    #[test]
    fn a_full_table_reports_the_failure() {
        let mut s = sw(UpdateLatency::Software { per_rule: Dur::ZERO }, 2);
        let mods = (0..3).map(|i| FlowMod::Add(rule(i, 1, Match::any(), vec![]))).collect();
        s.handle_ctrl(Time::ZERO, SwitchCtrl::FlowMods { xid: Xid(3), mods });
        s.handle_timeout(Time::ZERO);
        let out = drain(&mut s);
        assert_eq!(s.rule_count(), 2);
        assert!(out.contains(&SwitchOutput::ToController(SwitchEvent::FlowModFailed {
            xid: Xid(3),
            cookie: Cookie(2),
            error: FlowModError::TableFull,
        })));
        assert_eq!(s.stats().rules_failed, 1);
    }

    #[test]
    fn an_idle_rule_expires_and_is_reported_but_a_hit_keeps_it() {
        let mut s = sw(UpdateLatency::e2_software(), 10);
        let mut r = rule(1, 1, Match::any(), vec![Action::Output(PortId(1))]);
        r.idle_timeout = Some(Dur::from_millis(10));
        s.preinstall(Time::ZERO, vec![r]).unwrap();
        s.handle_packet(ms(8), PortId(0), pkt(1, 0)); // refreshes to 18 ms
        drain(&mut s);
        s.handle_timeout(ms(10));
        assert_eq!(s.rule_count(), 1);
        assert_eq!(s.poll_timeout(), Some(ms(18)));
        s.handle_timeout(ms(18));
        assert_eq!(s.rule_count(), 0);
        assert_eq!(
            drain(&mut s),
            vec![SwitchOutput::ToController(SwitchEvent::FlowRemoved {
                cookie: Cookie(1),
                packets: 1,
                bytes: 1500
            })]
        );
    }

    #[test]
    fn set_tag_duplicate_and_packet_out_through_the_table() {
        let mut s = sw(UpdateLatency::e2_software(), 10);
        s.preinstall(
            Time::ZERO,
            vec![
                rule(
                    1,
                    5,
                    Match::any(),
                    vec![Action::SetTag(9), Action::DupToController, Action::Output(PortId(4))],
                ),
                rule(
                    2,
                    9,
                    Match { in_port: Some(CONTROLLER_PORT), ..Match::any() },
                    vec![Action::Output(PortId(6))],
                ),
            ],
        )
        .unwrap();
        s.handle_packet(Time::ZERO, PortId(0), pkt(1, 0));
        let out = drain(&mut s);
        assert_eq!(out.len(), 2);
        assert!(
            matches!(&out[0], SwitchOutput::ToController(SwitchEvent::PacketIn { packet, reason: PacketInReason::Duplicate, .. }) if packet.tag == 9)
        );
        assert!(
            matches!(&out[1], SwitchOutput::Transmit { port: PortId(4), packet } if packet.tag == 9)
        );
        s.handle_ctrl(Time::ZERO, SwitchCtrl::PacketOut { packet: pkt(2, 0), out: None });
        assert!(matches!(drain(&mut s)[0], SwitchOutput::Transmit { port: PortId(6), .. }));
    }

    #[test]
    fn prefixes_and_wildcards_match_as_masks() {
        let p = Prefix { addr: 0x0a00_0000, len: 8 };
        assert!(p.contains(0x0aff_ffff) && !p.contains(0x0b00_0000));
        assert!(Prefix { addr: 0, len: 0 }.contains(u32::MAX));
    }
}
