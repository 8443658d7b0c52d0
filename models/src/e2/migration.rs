//! # E2 section 5.4: splitting an NF instance with migration avoidance, and two strawmen
//!
//! E2 splits an overloaded instance A into A and A' (here [`Instance::Original`] and
//! [`Instance::New`]) by partitioning A's range of flow IDs `[X, Y)` at `M`: new flows with a
//! flow ID in `[M, Y)` go to A', while the flows A already handles, `F_old(A)`, stay with A
//! until they end (affinity). Three strategies:
//!
//! - **Migration avoidance** (E2's, Figure 6): "the range filter [X, Y) on the hardware switch
//!   is initially unchanged, and the new filters (two new ranges plus exceptions) are installed
//!   in the E2D of the server that hosts A"; exceptions are removed as flows end; "when the
//!   number of exceptions drops below some threshold, the new ranges and remaining exceptions
//!   are pushed to the switch, replacing the original rule [X, Y) -> A".
//! - **Never migrate** (section 7.2's strawman): exceptions are pushed straight to the hardware
//!   switch (one rule at a time, 1-8 ms each, a 2,048-entry table), with `[M, Y)` shrunk so the
//!   exceptions of its active flows fill the table ("we can reduce the range [M, Y) to keep
//!   the number of exceptions small, but this causes an uneven traffic split"; section 7.2:
//!   "consuming all 2,048 rules"). Flows of `[M, Y)` that start at A while the exceptions are
//!   written find no entry left and lose affinity when the ranges go in.
//! - **Always migrate** (section 7.2's strawman, after OpenNF): "migrates half the active flows
//!   to the new NF instance"; the flows' traffic is paused (held at A's E2D) while their state
//!   moves, then released to A'. (This timed sketch of the move is kept with its unit tests;
//!   the split experiment in `scenarios` runs always-migrate as the project's OpenNF move,
//!   `crate::opennf`, instead.)
//!
//! ```text
//!              hardware switch                     E2D of A's server               A
//!  traffic ──► [X,Y) -> E2D(A)  ──────────────────► exceptions f -> A  ──────────► (state of F_old)
//!              (after the push:                     [X,M) -> A
//!               exceptions -> E2D(A),               [M,Y) -> A' (tagged, back through the switch)
//!               [X,M) -> E2D(A), [M,Y) -> E2D(A'))        │
//!                                                         └──► switch ──► E2D(A') ──► A'
//!
//!  E2 Manager (SplitController)            E2D of A (E2d)
//!     Split ───────────────────────────────► E2dCmd::Split{m}        (20 us per rule)
//!     ◄─── SplitApplied{exceptions} ──────────
//!     ◄─── ExceptionsLeft{n} (as flows end) ──
//!     n <= threshold: FlowMods{exceptions, [X,M) -> A, [X,Y) -> A'} ──► hardware switch
//!     ◄─── FlowModsDone ───────────────────────────────────────────────
//! ```
//!
//! Both machines are sans-IO: time comes in, commands and events go out through `poll_output`,
//! the E2D's rule updates complete at `poll_timeout`. The driver carries packets, the E2D's
//! events to the controller, the controller's commands to the E2D and the hardware switch
//! (a [`crate::switch::Switch`]), and, for always-migrate, the flows' state from A to A'.
//!
//! Choices that are ours (the paper does not give them) are named where they are made:
//! the E2D's flow tracker is its exception list (the E2D "can track individual, active
//! flows"), so the exceptions are the tracked flows of `[M, Y)` at the instant the split takes
//! effect; a flow ends at its last packet (a FIN); never-migrate sizes `[M, Y)` so the
//! active flows at the split fill the table's free entries.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use base::{Dur, Time};

use crate::packet::{FiveTuple, Flags, FlowId, Packet, PortId, Xid};
use crate::switch::{Action, Cookie, FlowMod, Match, Rule, SwitchCtrl};

/// The flow-ID space `R = [0, 2^N)`, N = 32 (the packets' flow hash).
pub const FLOW_ID_SPACE: u64 = 1 << 32;

/// The two instances of a split: A and A'.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Instance {
    Original,
    New,
}

/// How a split preserves affinity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    MigrationAvoidance,
    NeverMigrate,
    AlwaysMigrate,
}

impl Strategy {
    pub const ALL: [Strategy; 3] =
        [Strategy::MigrationAvoidance, Strategy::NeverMigrate, Strategy::AlwaysMigrate];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::MigrationAvoidance => "migration-avoidance",
            Strategy::NeverMigrate => "never-migrate",
            Strategy::AlwaysMigrate => "always-migrate",
        }
    }
}

/// An active flow as A's E2D tracks it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrackedFlow {
    pub flow: FlowId,
    pub tuple: FiveTuple,
    pub hash: u32,
}

// ---------------------------------------------------------------------------------------------
// The E2D of A's server: flow tracking, range filters and exceptions, the hold of always-migrate.

/// Manager to E2D.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum E2dCmd {
    /// Install `[X, M) -> A`, `[M, Y) -> A'` and an exception `f -> A` for every tracked flow
    /// with a flow ID in `[M, Y)`; report the remaining exceptions
    /// ([`E2dEvent::ExceptionsRemaining`]) once at most `report_at` remain.
    Split { m: u64, report_at: usize },
    /// Always-migrate: hold (pause) the packets of flows with a flow ID in `[M, Y)`.
    Hold { m: u64 },
    /// Always-migrate: the held flows' state is at A'; send `[M, Y)` to A' from now on and
    /// release the held packets to A' in arrival order.
    Release { m: u64 },
}

/// E2D to manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum E2dEvent {
    /// A new flow reached A (the server agent's flow tracking).
    FlowStarted(TrackedFlow),
    /// A tracked flow ended.
    FlowEnded { flow: FlowId },
    /// The split's filters are in place with `exceptions` exceptions.
    SplitApplied { exceptions: usize },
    /// An exception was removed (its flow ended); `left` remain.
    ExceptionsLeft { left: usize },
    /// At most the split's `report_at` exceptions remain: these (sent once, over the control
    /// channel, so that the manager can push them to the hardware switch; E2 5.4: "when the
    /// number of exceptions drops below some threshold, the new ranges and remaining
    /// exceptions are pushed to the switch").
    ExceptionsRemaining { flows: Vec<TrackedFlow> },
    /// The hold is in place; `flows` are the tracked flows it covers (the state to move).
    HoldApplied { flows: Vec<TrackedFlow> },
    /// `[M, Y)` now goes to A'; the held packets were released.
    Released,
}

/// Where the E2D sends a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Steer {
    /// To A on this server.
    Local(Packet),
    /// Tagged and sent back through the hardware switch to A' on its server.
    Detour(Packet),
    /// Held (always-migrate's pause).
    Held,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct E2dStats {
    pub max_exceptions: usize,
    pub detoured: u64,
    pub held: u64,
    pub max_held: usize,
    pub rules_applied: u64,
}

/// The E2D steering module of A's server. Call contract: feed one input, drain `poll_output`
/// until `None`, then read `poll_timeout`; `now` never decreases.
pub struct E2d {
    per_rule: Dur,
    /// Active flows steered to A, by flow ID order of arrival (a `BTreeMap` so listings are
    /// deterministic).
    tracked: BTreeMap<FlowId, TrackedFlow>,
    /// `M` once the split's filters are in place.
    split_m: Option<u64>,
    /// The exceptions: flows of `F_old(A)` in `[M, Y)`.
    exceptions: BTreeSet<FlowId>,
    /// The split's `report_at`, until the remaining exceptions are reported.
    report_at: Option<usize>,
    hold_m: Option<u64>,
    held: VecDeque<Packet>,
    /// Commands in progress: each applies when its rules are written (software dataplane:
    /// `per_rule` per rule, a command's rules together).
    pending: VecDeque<(Time, E2dCmd)>,
    out: VecDeque<E2dEvent>,
    released: VecDeque<Packet>,
    stats: E2dStats,
}

impl E2d {
    /// `per_rule`: the software dataplane's rule-update time (E2 section 7.2: 20 us).
    pub fn new(per_rule: Dur) -> E2d {
        E2d {
            per_rule,
            tracked: BTreeMap::new(),
            split_m: None,
            exceptions: BTreeSet::new(),
            report_at: None,
            hold_m: None,
            held: VecDeque::new(),
            pending: VecDeque::new(),
            out: VecDeque::new(),
            released: VecDeque::new(),
            stats: E2dStats::default(),
        }
    }

    pub fn stats(&self) -> &E2dStats {
        &self.stats
    }
    pub fn exceptions(&self) -> usize {
        self.exceptions.len()
    }
    pub fn tracked(&self) -> usize {
        self.tracked.len()
    }
    /// The remaining exceptions' flows (for the push to the hardware switch).
    pub fn exception_flows(&self) -> Vec<TrackedFlow> {
        self.exceptions.iter().map(|f| self.tracked[f]).collect()
    }
    /// The tracked flows (F_old(A) as the server agent reports it).
    pub fn tracked_flows(&self) -> Vec<TrackedFlow> {
        self.tracked.values().copied().collect()
    }
    /// Packets held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Steers one packet arriving from the hardware switch.
    pub fn steer(&mut self, pkt: Packet) -> Steer {
        let flow = pkt.flow;
        let upper = |m: Option<u64>| m.is_some_and(|m| pkt.hash as u64 >= m);
        let last = pkt.flags.contains(Flags::LAST);
        if self.exceptions.contains(&flow) {
            // E2 5.4: "keep sending flows in F_old(A) to A until they naturally terminate".
            if last {
                self.end(flow);
            }
            return Steer::Local(pkt);
        }
        if upper(self.hold_m) {
            self.stats.held += 1;
            self.held.push_back(pkt);
            self.stats.max_held = self.stats.max_held.max(self.held.len());
            return Steer::Held;
        }
        if upper(self.split_m) {
            self.stats.detoured += 1;
            return Steer::Detour(pkt);
        }
        if !self.tracked.contains_key(&flow) && !last {
            let t = TrackedFlow { flow, tuple: pkt.tuple, hash: pkt.hash };
            self.tracked.insert(flow, t);
            self.out.push_back(E2dEvent::FlowStarted(t));
        }
        if last {
            self.end(flow);
        }
        Steer::Local(pkt)
    }

    fn end(&mut self, flow: FlowId) {
        if self.tracked.remove(&flow).is_some() {
            self.out.push_back(E2dEvent::FlowEnded { flow });
        }
        if self.exceptions.remove(&flow) {
            // E2 5.4: "As flows in F_old(A) gradually terminate, the corresponding exception
            // rules can be removed".
            self.out.push_back(E2dEvent::ExceptionsLeft { left: self.exceptions.len() });
            self.report_remaining();
        }
    }

    /// Reports the remaining exceptions once they are at most the split's `report_at`.
    fn report_remaining(&mut self) {
        if self.report_at.is_some_and(|r| self.exceptions.len() <= r) {
            self.report_at = None;
            let flows = self.exception_flows();
            self.out.push_back(E2dEvent::ExceptionsRemaining { flows });
        }
    }

    pub fn handle_cmd(&mut self, now: Time, cmd: E2dCmd) {
        let rules = match &cmd {
            E2dCmd::Split { m, .. } => {
                2 + self.tracked.values().filter(|t| t.hash as u64 >= *m).count()
            }
            E2dCmd::Hold { .. } => 1,
            E2dCmd::Release { .. } => 1,
        };
        let start = self.pending.back().map_or(now, |p| p.0.max(now));
        self.pending
            .push_back((start + Dur::from_nanos(self.per_rule.as_nanos() * rules as u64), cmd));
    }

    pub fn handle_timeout(&mut self, now: Time) {
        while self.pending.front().is_some_and(|p| p.0 <= now) {
            let (_, cmd) = self.pending.pop_front().expect("invariant: checked non-empty");
            self.apply(cmd);
        }
    }

    fn apply(&mut self, cmd: E2dCmd) {
        match cmd {
            E2dCmd::Split { m, report_at } => {
                // Our choice: the exceptions are the flow tracker's entries of [M, Y) at the
                // instant the filters take effect, so no flow of F_old(A) is missed.
                self.exceptions =
                    self.tracked.values().filter(|t| t.hash as u64 >= m).map(|t| t.flow).collect();
                self.stats.rules_applied += 2 + self.exceptions.len() as u64;
                self.stats.max_exceptions = self.stats.max_exceptions.max(self.exceptions.len());
                self.split_m = Some(m);
                self.out.push_back(E2dEvent::SplitApplied { exceptions: self.exceptions.len() });
                self.report_at = Some(report_at);
                self.report_remaining();
            }
            E2dCmd::Hold { m } => {
                self.stats.rules_applied += 1;
                self.hold_m = Some(m);
                let flows = self.tracked.values().filter(|t| t.hash as u64 >= m).copied().collect();
                self.out.push_back(E2dEvent::HoldApplied { flows });
            }
            E2dCmd::Release { m } => {
                self.stats.rules_applied += 1;
                // The moved flows now belong to A'; A's tracker forgets them.
                self.tracked.retain(|_, t| (t.hash as u64) < m);
                self.hold_m = None;
                self.split_m = Some(m);
                self.stats.detoured += self.held.len() as u64;
                self.released.extend(self.held.drain(..));
                self.out.push_back(E2dEvent::Released);
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<E2dEvent> {
        self.out.pop_front()
    }

    /// Packets released by a hold, to be detoured to A' in this order.
    pub fn poll_released(&mut self) -> Option<Packet> {
        self.released.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        self.pending.front().map(|p| p.0)
    }
}

// ---------------------------------------------------------------------------------------------
// The E2 Manager's side of a split.

/// How the manager reaches the hardware switch and sizes a split.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitConfig {
    pub strategy: Strategy,
    /// The hardware switch's port to A's server and to A''s server.
    pub port_original: PortId,
    pub port_new: PortId,
    /// The hardware switch's rule `[X, Y) -> A` (here the whole space, `[0, 2^32)`), which
    /// the push turns into `[M, Y) -> A'`. `None`: the manager cannot name it (a controller
    /// protocol sees no cookie of the operator's rules), so the push adds its own `[M, Y) ->
    /// A'` below `[X, M) -> A`, both above the original rule, which they shadow.
    pub original_rule: Option<Cookie>,
    /// The hardware switch's port the traffic to split arrives on: every rule of the split
    /// matches it. `None`: any port. A switch that A's output passes through again (one switch
    /// in front of and behind the instances) needs it, or the split's rules would send A's
    /// output back to A.
    pub in_port: Option<PortId>,
    /// The fraction of A's flow-ID space that goes to A' (`[M, Y)`, so `M = Y - share (Y -
    /// X)`); E2 7.2 splits in half, 0.5. In (0, 1].
    pub new_share: f64,
    /// Migration avoidance pushes the filters to the switch when at most this many exceptions
    /// remain. The paper gives no value (ours; see the figure definition).
    pub push_threshold: usize,
    /// Hardware table entries free for the split's rules (never-migrate sizes `[M, Y)` by it).
    pub hw_free_entries: usize,
    /// Always-migrate's state move, per flow (OpenNF's export and import).
    pub export_per_flow: Dur,
    pub import_per_flow: Dur,
}

/// Where a split is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SplitPhase {
    Idle,
    /// Migration avoidance: the E2D's filters are being written.
    SplittingInE2d,
    /// Migration avoidance: new flows of `[M, Y)` go to A' through the E2D; exceptions drain.
    Detouring,
    /// Filters being written to the hardware switch.
    PushingToSwitch,
    /// Always-migrate: the hold is being installed, then the state moves.
    Pausing,
    MovingState,
    Releasing,
    /// Every filter is where it ends.
    Converged,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SplitOutput {
    ToSwitch(SwitchCtrl),
    ToE2d(E2dCmd),
    /// Always-migrate: move these flows' state from A to A' now.
    MoveState {
        flows: Vec<FlowId>,
    },
    /// The split reached `phase`.
    Phase {
        at: Time,
        phase: SplitPhase,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitStats {
    /// `M`, once chosen.
    pub m: Option<u64>,
    pub hw_rules_sent: u64,
    pub hw_rules_failed: u64,
    pub hw_rules_deleted: u64,
    pub flows_moved: u64,
    /// Never-migrate: flows that started in `[M, Y)` at A while its range rule was being
    /// written; they cannot be excepted in time (the hardware-only approach's race).
    pub raced_flows: u64,
    /// Inputs not expected in the phase (counted, never a panic).
    pub unexpected: u64,
}

const PRIO_EXCEPTION: u16 = 30;
const PRIO_RANGE: u16 = 20;
/// `[M, Y) -> A'` when the manager adds it itself (`original_rule: None`): below `[X, M)`.
const PRIO_UPPER: u16 = 19;
/// Cookies of the range rules the manager adds when it cannot name the original rule.
const COOKIE_LOWER: Cookie = Cookie(0xE2 << 48 | 1);
const COOKIE_UPPER: Cookie = Cookie(0xE2 << 48 | 2);

/// The manager's split machine. Call contract as [`E2d`]'s.
pub struct SplitController {
    cfg: SplitConfig,
    phase: SplitPhase,
    m: u64,
    next_xid: u64,
    /// Xids of the batches in flight, and whether a batch is the last of the push.
    in_flight: BTreeMap<Xid, bool>,
    /// Exceptions installed or queued on the hardware switch.
    hw_exceptions: BTreeSet<FlowId>,
    /// Flows whose exception on the switch awaits deletion (ended while rules were pending).
    ended: BTreeSet<FlowId>,
    /// Never-migrate: flows of `[M, Y)` that started at A since the last batch.
    newcomers: Vec<TrackedFlow>,
    final_sent: bool,
    /// Never-migrate: hardware entries still free for exceptions.
    hw_room: usize,
    move_done_at: Option<Time>,
    moving: Vec<FlowId>,
    out: VecDeque<SplitOutput>,
    stats: SplitStats,
}

impl SplitController {
    pub fn new(cfg: SplitConfig) -> SplitController {
        SplitController {
            cfg,
            phase: SplitPhase::Idle,
            m: FLOW_ID_SPACE / 2,
            next_xid: 1,
            in_flight: BTreeMap::new(),
            hw_exceptions: BTreeSet::new(),
            ended: BTreeSet::new(),
            newcomers: Vec::new(),
            final_sent: false,
            hw_room: 0,
            move_done_at: None,
            moving: Vec::new(),
            out: VecDeque::new(),
            stats: SplitStats::default(),
        }
    }

    pub fn phase(&self) -> SplitPhase {
        self.phase
    }
    pub fn stats(&self) -> &SplitStats {
        &self.stats
    }
    pub fn config(&self) -> &SplitConfig {
        &self.cfg
    }
    /// Exceptions installed or queued on the hardware switch (their flows have not ended).
    pub fn hw_exceptions(&self) -> usize {
        self.hw_exceptions.len()
    }

    /// `M`: `[M, Y)`, the top `new_share` of the flow-ID space, goes to A'.
    fn split_point(&self) -> u64 {
        let share = self.cfg.new_share.clamp(0.0, 1.0);
        FLOW_ID_SPACE - (share * FLOW_ID_SPACE as f64).round() as u64
    }

    fn enter(&mut self, now: Time, phase: SplitPhase) {
        self.phase = phase;
        self.out.push_back(SplitOutput::Phase { at: now, phase });
    }

    fn xid(&mut self) -> Xid {
        let x = Xid(self.next_xid);
        self.next_xid += 1;
        x
    }

    fn exception_rule(&self, t: &TrackedFlow) -> FlowMod {
        FlowMod::Add(Rule {
            cookie: Cookie(t.flow.0 | 1 << 63),
            priority: PRIO_EXCEPTION,
            matcher: Match { in_port: self.cfg.in_port, ..Match::flow(&t.tuple) },
            actions: vec![Action::Output(self.cfg.port_original)],
            idle_timeout: None,
        })
    }

    /// `[X, M) -> A`, then the original rule `[X, Y) -> A` becomes `[M, Y) -> A'` (lower
    /// priority than `[X, M)`, so it only sees `[M, Y)`), replacing the original rule.
    fn range_rules(&self) -> Vec<FlowMod> {
        let in_port = self.cfg.in_port;
        let lower = |cookie| {
            FlowMod::Add(Rule {
                cookie,
                priority: PRIO_RANGE,
                // `M` is at most 2^32 - 1 here: a share is above 0.
                matcher: Match { in_port, ..Match::hash_range(0, self.m as u32) },
                actions: vec![Action::Output(self.cfg.port_original)],
                idle_timeout: None,
            })
        };
        match self.cfg.original_rule {
            Some(original) => vec![
                lower(Cookie(original.0 ^ 0x5eed)),
                FlowMod::Modify {
                    cookie: original,
                    actions: vec![Action::Output(self.cfg.port_new)],
                },
            ],
            // A `u32` hash range cannot name `Y = 2^32`: `[M, Y)` is everything `[X, M)` does
            // not take, one priority below it.
            None => vec![
                lower(COOKIE_LOWER),
                FlowMod::Add(Rule {
                    cookie: COOKIE_UPPER,
                    priority: PRIO_UPPER,
                    matcher: Match { in_port, ..Match::any() },
                    actions: vec![Action::Output(self.cfg.port_new)],
                    idle_timeout: None,
                }),
            ],
        }
    }

    fn send_hw(&mut self, mods: Vec<FlowMod>, last: bool) {
        let xid = self.xid();
        self.stats.hw_rules_sent += mods.len() as u64;
        self.in_flight.insert(xid, last);
        self.out.push_back(SplitOutput::ToSwitch(SwitchCtrl::FlowMods { xid, mods }));
    }

    fn send_exceptions(&mut self, flows: &[TrackedFlow], then_ranges: bool) {
        let mut mods: Vec<FlowMod> = flows.iter().map(|t| self.exception_rule(t)).collect();
        self.hw_exceptions.extend(flows.iter().map(|t| t.flow));
        if then_ranges {
            mods.extend(self.range_rules());
            self.final_sent = true;
        }
        self.send_hw(mods, then_ranges);
    }

    /// Split A now. `tracked` is A's E2D's flow tracker (F_old(A)); never-migrate sizes
    /// `[M, Y)` by it.
    pub fn split(&mut self, now: Time, tracked: &[TrackedFlow]) {
        if self.phase != SplitPhase::Idle {
            self.stats.unexpected += 1;
            return;
        }
        match self.cfg.strategy {
            Strategy::MigrationAvoidance => {
                self.m = self.split_point();
                let report_at = self.cfg.push_threshold;
                self.out.push_back(SplitOutput::ToE2d(E2dCmd::Split { m: self.m, report_at }));
                self.enter(now, SplitPhase::SplittingInE2d);
            }
            Strategy::NeverMigrate => {
                // E2 5.4: "we can reduce the range [M, Y) to keep the number of exceptions
                // small"; 7.2: never-migrate ended "consuming all 2,048 rules on the switch"
                // after "we needed to add close to 2,000 rules". Our reading: [M, Y) is the
                // top of the flow-ID space holding as many active flows as the table has
                // free entries (one kept for [X, M)), so every active flow of [M, Y) becomes
                // an exact exception and the exceptions fill the table.
                let room = self.cfg.hw_free_entries.saturating_sub(1);
                let mut hashes: Vec<u64> = tracked.iter().map(|t| t.hash as u64).collect();
                hashes.sort_unstable_by(|a, b| b.cmp(a));
                self.m = if room == 0 {
                    FLOW_ID_SPACE
                } else if hashes.len() <= room {
                    self.split_point()
                } else {
                    // Just above the first flow that does not fit (flows sharing its hash
                    // stay below M with it).
                    hashes[room] + 1
                }
                .max(self.split_point());
                let old: Vec<TrackedFlow> =
                    tracked.iter().filter(|t| t.hash as u64 >= self.m).copied().collect();
                self.hw_room = room - old.len();
                self.send_exceptions(&old, false);
                self.enter(now, SplitPhase::PushingToSwitch);
            }
            Strategy::AlwaysMigrate => {
                // E2 7.2: "migrates half the active flows to the new NF instance".
                self.m = self.split_point();
                self.out.push_back(SplitOutput::ToE2d(E2dCmd::Hold { m: self.m }));
                self.enter(now, SplitPhase::Pausing);
            }
        }
        self.stats.m = Some(self.m);
    }

    pub fn handle_e2d(&mut self, now: Time, ev: E2dEvent) {
        match (self.cfg.strategy, self.phase, ev) {
            (
                Strategy::MigrationAvoidance,
                SplitPhase::SplittingInE2d,
                E2dEvent::SplitApplied { .. },
            ) => self.enter(now, SplitPhase::Detouring),
            (Strategy::MigrationAvoidance, _, E2dEvent::ExceptionsLeft { .. }) => {}
            // The E2D's report of its remaining exceptions (a driver that reads the E2D
            // directly may already have called `exceptions_left`: then this is a no-op).
            (Strategy::MigrationAvoidance, _, E2dEvent::ExceptionsRemaining { flows }) => {
                self.exceptions_left(now, &flows)
            }
            (_, _, E2dEvent::FlowEnded { flow }) => {
                self.newcomers.retain(|t| t.flow != flow);
                if self.hw_exceptions.contains(&flow) {
                    if self.phase == SplitPhase::Converged {
                        self.delete_exception(flow);
                    } else {
                        self.ended.insert(flow);
                    }
                }
            }
            (Strategy::NeverMigrate, SplitPhase::PushingToSwitch, E2dEvent::FlowStarted(t)) => {
                if t.hash as u64 >= self.m {
                    if self.final_sent {
                        self.stats.raced_flows += 1;
                    } else {
                        self.newcomers.push(t);
                    }
                }
            }
            (Strategy::AlwaysMigrate, SplitPhase::Pausing, E2dEvent::HoldApplied { flows }) => {
                // OpenNF streams the export: each flow's state is imported as soon as it is
                // exported, so the move takes n exports plus the last import.
                let n = flows.len() as u64;
                self.moving = flows.iter().map(|t| t.flow).collect();
                self.move_done_at = Some(
                    now + Dur::from_nanos(self.cfg.export_per_flow.as_nanos() * n)
                        + self.cfg.import_per_flow,
                );
                self.enter(now, SplitPhase::MovingState);
            }
            (Strategy::AlwaysMigrate, SplitPhase::Releasing, E2dEvent::Released) => {
                let mods = self.range_rules();
                self.send_hw(mods, true);
                self.enter(now, SplitPhase::PushingToSwitch);
            }
            (_, _, E2dEvent::FlowStarted(_))
            | (_, _, E2dEvent::ExceptionsLeft { .. })
            | (_, _, E2dEvent::ExceptionsRemaining { .. }) => {}
            _ => self.stats.unexpected += 1,
        }
    }

    /// Migration avoidance's check, called by the driver with the E2D's remaining exceptions
    /// whenever they change: "when the number of exceptions drops below some threshold, the
    /// new ranges and remaining exceptions are pushed to the switch".
    pub fn exceptions_left(&mut self, now: Time, remaining: &[TrackedFlow]) {
        if self.cfg.strategy == Strategy::MigrationAvoidance
            && self.phase == SplitPhase::Detouring
            && remaining.len() <= self.cfg.push_threshold
        {
            self.send_exceptions(remaining, true);
            self.enter(now, SplitPhase::PushingToSwitch);
        }
    }

    fn delete_exception(&mut self, flow: FlowId) {
        if self.hw_exceptions.remove(&flow) {
            self.stats.hw_rules_deleted += 1;
            let xid = self.xid();
            self.in_flight.insert(xid, false);
            let mods = vec![FlowMod::Delete { cookie: Cookie(flow.0 | 1 << 63) }];
            self.out.push_back(SplitOutput::ToSwitch(SwitchCtrl::FlowMods { xid, mods }));
        }
    }

    /// The hardware switch finished batch `xid`.
    pub fn handle_switch_done(&mut self, now: Time, xid: Xid) {
        let Some(last) = self.in_flight.remove(&xid) else {
            self.stats.unexpected += 1;
            return;
        };
        if last {
            self.enter(now, SplitPhase::Converged);
            for f in std::mem::take(&mut self.ended) {
                self.delete_exception(f);
            }
            return;
        }
        if self.cfg.strategy == Strategy::NeverMigrate
            && self.phase == SplitPhase::PushingToSwitch
            && !self.final_sent
            && self.in_flight.is_empty()
        {
            // Catch up with the flows of [M, Y) that started at A meanwhile; when none did,
            // write the ranges.
            let newcomers = std::mem::take(&mut self.newcomers);
            let mut live: Vec<TrackedFlow> =
                newcomers.into_iter().filter(|t| !self.ended.contains(&t.flow)).collect();
            // The table is full: a flow that started at A meanwhile and finds no entry left
            // cannot be excepted; the ranges go in and it loses affinity (the hardware-only
            // approach's race, which the oracle reports).
            if live.len() > self.hw_room {
                self.stats.raced_flows += (live.len() - self.hw_room) as u64;
                live.truncate(self.hw_room);
                self.hw_room = 0;
                self.send_exceptions(&live, true);
            } else {
                self.hw_room -= live.len();
                self.send_exceptions(&live, live.is_empty());
            }
        }
    }

    /// A rule of the split was refused (e.g. the table is full).
    pub fn handle_switch_failed(&mut self, cookie: Cookie) {
        self.stats.hw_rules_failed += 1;
        self.hw_exceptions.remove(&FlowId(cookie.0 & !(1 << 63)));
    }

    pub fn handle_timeout(&mut self, now: Time) {
        if self.move_done_at.is_some_and(|t| t <= now) {
            self.move_done_at = None;
            let flows = std::mem::take(&mut self.moving);
            self.stats.flows_moved = flows.len() as u64;
            self.out.push_back(SplitOutput::MoveState { flows });
            self.out.push_back(SplitOutput::ToE2d(E2dCmd::Release { m: self.m }));
            self.enter(now, SplitPhase::Releasing);
        }
    }

    pub fn poll_output(&mut self) -> Option<SplitOutput> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        self.move_done_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(flow: u64, seq: u32, hash: u32, last: bool) -> Packet {
        let mut p = Packet::for_test(flow, seq);
        p.hash = hash;
        if last {
            p.flags.insert(Flags::LAST);
        }
        p
    }

    const HI: u32 = 3 << 30; // in [M, Y) for M = 2^31
    const LO: u32 = 1 << 30;

    fn events(e: &mut E2d) -> Vec<E2dEvent> {
        std::iter::from_fn(|| e.poll_event()).collect()
    }

    #[test]
    fn e2d_split_keeps_old_flows_local_and_detours_new_flows_of_the_upper_range() {
        let mut e = E2d::new(Dur::from_micros(20));
        assert!(matches!(e.steer(pkt(1, 0, HI, false)), Steer::Local(_)));
        assert!(matches!(e.steer(pkt(2, 0, LO, false)), Steer::Local(_)));
        events(&mut e);
        e.handle_cmd(Time::ZERO, E2dCmd::Split { m: FLOW_ID_SPACE / 2, report_at: 0 });
        // Two ranges and one exception at 20 us each.
        assert_eq!(e.poll_timeout(), Some(Time::ZERO + Dur::from_micros(60)));
        e.handle_timeout(Time::ZERO + Dur::from_micros(60));
        assert_eq!(events(&mut e), vec![E2dEvent::SplitApplied { exceptions: 1 }]);
        assert!(matches!(e.steer(pkt(1, 1, HI, false)), Steer::Local(_)), "an exception");
        assert!(matches!(e.steer(pkt(3, 0, HI, false)), Steer::Detour(_)), "a new flow");
        assert!(matches!(e.steer(pkt(4, 0, LO, false)), Steer::Local(_)), "[X, M)");
        events(&mut e);
        assert!(matches!(e.steer(pkt(1, 2, HI, true)), Steer::Local(_)));
        assert_eq!(
            events(&mut e),
            vec![
                E2dEvent::FlowEnded { flow: FlowId(1) },
                E2dEvent::ExceptionsLeft { left: 0 },
                E2dEvent::ExceptionsRemaining { flows: vec![] }
            ]
        );
        // The flow's ID space is A''s now.
        assert!(matches!(e.steer(pkt(1, 3, HI, false)), Steer::Detour(_)));
    }

    #[test]
    fn e2d_hold_pauses_the_upper_range_and_release_sends_it_to_the_new_instance_in_order() {
        let mut e = E2d::new(Dur::from_micros(20));
        e.steer(pkt(1, 0, HI, false));
        events(&mut e);
        e.handle_cmd(Time::ZERO, E2dCmd::Hold { m: FLOW_ID_SPACE / 2 });
        e.handle_timeout(Time::ZERO + Dur::from_micros(20));
        assert!(
            matches!(&events(&mut e)[..], [E2dEvent::HoldApplied { flows }] if flows.len() == 1)
        );
        assert_eq!(e.steer(pkt(1, 1, HI, false)), Steer::Held);
        assert_eq!(e.steer(pkt(1, 2, HI, false)), Steer::Held);
        e.handle_cmd(Time::ZERO, E2dCmd::Release { m: FLOW_ID_SPACE / 2 });
        e.handle_timeout(Time::ZERO + Dur::from_micros(40));
        let seqs: Vec<u32> = std::iter::from_fn(|| e.poll_released()).map(|p| p.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
        assert!(matches!(e.steer(pkt(1, 3, HI, false)), Steer::Detour(_)));
    }

    fn cfg(strategy: Strategy) -> SplitConfig {
        SplitConfig {
            strategy,
            port_original: PortId(1),
            port_new: PortId(2),
            original_rule: Some(Cookie(1)),
            in_port: None,
            new_share: 0.5,
            push_threshold: 1,
            hw_free_entries: 2046,
            export_per_flow: Dur::from_micros(5),
            import_per_flow: Dur::from_micros(5),
        }
    }

    fn tracked(flow: u64, hash: u32) -> TrackedFlow {
        let p = Packet::for_test(flow, 0);
        TrackedFlow { flow: FlowId(flow), tuple: p.tuple, hash }
    }

    fn outputs(c: &mut SplitController) -> Vec<SplitOutput> {
        std::iter::from_fn(|| c.poll_output()).collect()
    }

    #[test]
    fn migration_avoidance_splits_in_the_e2d_then_pushes_remaining_exceptions_and_ranges() {
        let mut c = SplitController::new(cfg(Strategy::MigrationAvoidance));
        c.split(Time::ZERO, &[tracked(1, HI), tracked(2, HI)]);
        let out = outputs(&mut c);
        assert_eq!(
            out[0],
            SplitOutput::ToE2d(E2dCmd::Split { m: FLOW_ID_SPACE / 2, report_at: 1 })
        );
        c.handle_e2d(Time::ZERO, E2dEvent::SplitApplied { exceptions: 2 });
        assert_eq!(c.phase(), SplitPhase::Detouring);
        // Two exceptions are above the threshold of one: nothing is pushed yet.
        c.exceptions_left(Time::ZERO, &[tracked(1, HI), tracked(2, HI)]);
        assert_eq!(c.phase(), SplitPhase::Detouring);
        c.exceptions_left(Time::ZERO, &[tracked(2, HI)]);
        assert_eq!(c.phase(), SplitPhase::PushingToSwitch);
        let out = outputs(&mut c);
        let Some(SplitOutput::ToSwitch(SwitchCtrl::FlowMods { xid, mods })) =
            out.iter().find(|o| matches!(o, SplitOutput::ToSwitch(_))).cloned()
        else {
            panic!("{out:?}")
        };
        // The exception first, then [X, M) -> A, then the original rule becomes [M, Y) -> A'.
        assert_eq!(mods.len(), 3);
        assert!(matches!(&mods[0], FlowMod::Add(r) if r.priority == PRIO_EXCEPTION));
        assert!(matches!(&mods[1], FlowMod::Add(r) if r.matcher.hash == Some((0, 1 << 31))));
        assert_eq!(
            mods[2],
            FlowMod::Modify { cookie: Cookie(1), actions: vec![Action::Output(PortId(2))] }
        );
        c.handle_e2d(Time::ZERO, E2dEvent::FlowEnded { flow: FlowId(2) });
        c.handle_switch_done(Time::ZERO, xid);
        assert_eq!(c.phase(), SplitPhase::Converged);
        // The exception of the flow that ended meanwhile is deleted.
        assert!(outputs(&mut c).iter().any(|o| matches!(o,
            SplitOutput::ToSwitch(SwitchCtrl::FlowMods { mods, .. })
                if mods == &vec![FlowMod::Delete { cookie: Cookie(2 | 1 << 63) }])));
        assert_eq!(c.stats().unexpected, 0);
    }

    #[test]
    fn never_migrate_fills_the_table_with_exceptions_then_races_newcomers() {
        let mut c = SplitController::new(cfg(Strategy::NeverMigrate));
        let flows: Vec<TrackedFlow> =
            (0..10_000u64).map(|i| tracked(i, (i as u32).wrapping_mul(429_497))).collect();
        c.split(Time::ZERO, &flows);
        let m = c.stats().m.unwrap();
        // [M, Y) holds exactly as many active flows as there are free entries but one (kept
        // for [X, M)): 2,045 of 10,000, ~20% of the space.
        let expected = flows.iter().filter(|t| t.hash as u64 >= m).count();
        assert_eq!(expected, 2045);
        let w = (FLOW_ID_SPACE - m) as f64 / FLOW_ID_SPACE as f64;
        assert!((w - 0.2045).abs() < 0.002, "{w}");
        let Some(SplitOutput::ToSwitch(SwitchCtrl::FlowMods { xid, mods })) = c.poll_output()
        else {
            panic!()
        };
        assert_eq!(mods.len(), expected);
        outputs(&mut c);
        // Two flows of [M, Y) start at A while the exceptions are written: no entry is left
        // for them, so the ranges go in and both are counted as raced.
        c.handle_e2d(Time::ZERO, E2dEvent::FlowStarted(tracked(20_000, u32::MAX)));
        c.handle_e2d(Time::ZERO, E2dEvent::FlowStarted(tracked(20_001, u32::MAX - 1)));
        c.handle_switch_done(Time::ZERO, xid);
        assert_eq!(c.stats().raced_flows, 2);
        let out = outputs(&mut c);
        assert!(
            matches!(&out[..], [SplitOutput::ToSwitch(SwitchCtrl::FlowMods { mods, .. })]
                if mods.len() == 2 && matches!(mods[0], FlowMod::Add(ref r) if r.priority == PRIO_RANGE)),
            "{out:?}"
        );
    }

    #[test]
    fn an_unexpected_event_is_counted() {
        let mut c = SplitController::new(cfg(Strategy::AlwaysMigrate));
        c.handle_e2d(Time::ZERO, E2dEvent::Released);
        c.handle_switch_done(Time::ZERO, Xid(99));
        assert_eq!(c.stats().unexpected, 2);
    }
}
