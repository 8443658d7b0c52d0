//! The E2 split experiment of section 7.2 ("Dynamic Scaling", Figures 10 and 11 and the two
//! strawmen): one NF instance A behind a hardware switch splits in two; the split follows one
//! of [`Strategy`]'s three strategies.
//!
//! A small dedicated driver (the generic scenario driver has no E2D, no range-split controller
//! and no per-instance time series): it carries packets between the `models` machines, a
//! [`Switch`] with the hardware switch's rule-update model and table, A's [`E2d`], the
//! [`SplitController`], and checks affinity with the project's [`Oracle`].
//!
//! ```text
//!  source ──► hardware switch ──port 1──► E2D(A) ──► A ──► sink
//!                  ▲  │                     │ detour (tagged, back through the switch)
//!                  └──┼─────────────────────┘
//!                     └──port 2──► E2D(A') ──► A' ──► sink
//! ```
//!
//! **Parameters and where they come from** (E2 section 7.2 unless marked *ours*):
//! - 1 Gbps offered, 2,000 new flows per second (Poisson), ~10,000 concurrent flows.
//! - Flow lifetimes: Lomax (Pareto type II), shape 2, scale 5 s, so the mean is 5 s and, by
//!   Little's law, 2,000 flows/s give the paper's ~10,000 concurrent flows; the median is
//!   2.1 s. *Ours*: the paper draws "flow length distributions ... from published measurement
//!   studies" (Lee and Brownlee 2007), which report heavy-tailed lifetimes with most flows
//!   short; we had no access to their data, so the shape is our choice of a heavy tail with a
//!   finite mean. The run starts in steady state: flows arrive from 600 s before time 0 and
//!   those alive at 0 are in progress.
//! - Bytes per flow ([`FlowBytes`]): every flow carries the mean, 1 Gbps / 2,000 flows/s =
//!   62.5 kB (41-42 packets of 1,500 bytes), spread evenly over its lifetime
//!   ([`FlowBytes::EqualBytes`]). *Ours*: the paper gives the mean bytes per flow and the mean
//!   lifetime but not how they go together. We chose bytes independent of the lifetime
//!   because the alternative, equal rates (bytes proportional to the lifetime,
//!   [`FlowBytes::EqualRate`], load proportional to flows), cannot give the paper's shift of
//!   "roughly 5,000 flows in 5.6 seconds" with *any* lifetime distribution of mean 5 s other
//!   than nearly constant ones: the new instance's load after `t` is then
//!   `lambda/2 E[min(S, t)]`, and `E[min(S, 5.6 s)] >= 0.9 E[S]` needs `E[(S - 5.6 s)+] <=
//!   0.5 s` (exponential lifetimes give 67% of the load at 5.6 s, our Lomax 53%). With equal
//!   bytes the new instance's share after `t` is `E[min(S, t) / S]` (90% at 5.6 s for our
//!   Lomax), carried by the many short flows, while the heavy tail still holds the concurrent
//!   flows (and the exceptions) at Little's law's 10,000. Flows in progress at 0 whose next
//!   packet comes after 1 s send one packet in the first second (see `PRIME_S`).
//! - Split at 2 s (Figure 10), `M` = the middle of the flow-ID space (never-migrate shrinks
//!   `[M, Y)` until its active flows fill the table's free entries, see
//!   `models::e2::migration`).
//! - Hardware switch: 2,048 entries, one update at a time, 1-8 ms, mean 3 ms; E2D: 20 us per
//!   rule.
//! - Links: 10 Gbps, 1 us propagation (*ours*); a packet's latency is its hops (serialization
//!   and propagation; links are ~10% loaded, so their queues are not modelled) plus its wait
//!   and service at the instance (FIFO, one core).
//! - NF service 6 us per packet (*ours*: A alone runs at 50% of its core at 1 Gbps, ~83k
//!   packets/s).
//! - Migration avoidance pushes the filters to the switch at 500 remaining exceptions (*ours*:
//!   the paper says "some threshold"; 500 leave room in a 2,048-entry table and take ~1.5 s
//!   to write).
//! - Always-migrate ("migrates half the active flows to the new NF instance", after OpenNF
//!   [21]) is the project's OpenNF move, [`models::opennf::OpenNf`] inside a
//!   [`models::controller::Controller`], with both instances as [`models::nf::Nf`] machines
//!   (the same machines the `opennf-enh` reproduction drives): a loss-free move
//!   ([`SplitExperiment::move_guarantee`]) with parallelizing and late locking / early
//!   release of the flows `[M, 2^32 - 1)` (a `u32` hash range cannot name `Y = 2^32`; the one
//!   flow ID `2^32 - 1` stays at A, with its state) from A to A', then the redirecting rule
//!   for them in the hardware switch. *Ours*: the controller is `ControllerConfig::default()`
//!   (10 us per input, room for 10,000 packets) and the instances' export and import cost
//!   `NfConfig::default()`'s 5 us per flow, 1,000 packets of input queue; control messages
//!   are not delayed (as everywhere in this driver). The instance exports every flow it has
//!   state for in `[M, Y)` (it keeps the state of ended flows; E2's "active flows" are the
//!   E2D's, which OpenNF does not see). The pause, the packets buffered at the controller and
//!   any lost update come from that mechanism; `pause` is the move's start to the import of
//!   the last flow's state (the longest a moved flow's packets wait at the controller).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use base::{Bps, Dur, Rng, RngStreams, Time};
use models::controller::{
    Controller, ControllerConfig, ControllerInput, ControllerOutput, MoveId, MoveLog, MoveRequest,
};
use models::e2::migration::FLOW_ID_SPACE;
use models::e2::migration::{
    E2d, E2dEvent, Instance, SplitConfig, SplitController, SplitOutput, SplitPhase, Steer,
    Strategy, TrackedFlow,
};
use models::e2::scaling::{OverloadConfig, OverloadDetector};
use models::fxhash::FxHashMap;
use models::nf::{Nf, NfConfig, NfDrop, NfOutput};
use models::opennf::{OpenNf, OpenNfConfig};
use models::oracle::{Guarantee, LossCause};
use models::oracle::{Oracle, OracleReport, UpdateLog};
use models::packet::{FiveTuple, Flags, FlowId, NodeId, Packet, PortId};
use models::switch::{
    Action, Cookie, Match, Rule, Switch, SwitchConfig, SwitchEvent, SwitchOutput, UpdateLatency,
};

/// How a flow's bytes relate to its lifetime. The paper gives the mean bytes per flow
/// (1 Gbps / 2,000 flows/s = 62.5 kB) and the mean lifetime (10,000 / 2,000 = 5 s), not
/// how the two go together.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FlowBytes {
    /// Every flow sends at the same rate (1 Gbps / 10,000 = 100 kbps): bytes grow with the
    /// lifetime, so load is proportional to concurrent flows and long flows carry most of it.
    EqualRate,
    /// Every flow carries the mean bytes (62.5 kB, 41-42 packets) spread evenly over its
    /// lifetime, independent of it: each lifetime class carries load in proportion to how
    /// many such flows arrive, so short flows carry most of it.
    EqualBytes,
}

/// One run's parameters (see the module doc for the values and their sources).
#[derive(Clone, Debug, PartialEq)]
pub struct SplitExperiment {
    pub strategy: Strategy,
    pub seed: u64,
    /// Traffic runs for this long; the run ends then.
    pub duration: Dur,
    /// An operator's split at this time; `None`: the overload detector decides.
    pub split_at: Option<Dur>,
    pub overload: Option<OverloadConfig>,
    pub new_flows_per_s: f64,
    pub lifetime_scale_s: f64,
    pub lifetime_shape: f64,
    pub flow_bytes: FlowBytes,
    pub load: Bps,
    pub mtu: u32,
    pub link: Bps,
    pub link_delay: Dur,
    pub nf_service: Dur,
    pub push_threshold: usize,
    pub hw_table: usize,
    /// Always-migrate: the OpenNF move's guarantee (`LossFree` in the paper's experiment).
    pub move_guarantee: Guarantee,
    /// Always-migrate: the OpenNF controller.
    pub controller: ControllerConfig,
    /// The time series' bin.
    pub bin: Dur,
}

impl SplitExperiment {
    /// Section 7.2's experiment with `strategy`, split at 2 s, `duration` of traffic.
    pub fn paper(strategy: Strategy, seed: u64, duration: Dur) -> Self {
        SplitExperiment {
            strategy,
            seed,
            duration,
            split_at: Some(Dur::from_secs(2)),
            overload: None,
            new_flows_per_s: 2000.0,
            lifetime_scale_s: 5.0,
            lifetime_shape: 2.0,
            flow_bytes: FlowBytes::EqualBytes,
            load: Bps(1_000_000_000),
            mtu: 1500,
            link: Bps(10_000_000_000),
            link_delay: Dur::from_micros(1),
            nf_service: Dur::from_micros(6),
            push_threshold: 500,
            hw_table: 2048,
            move_guarantee: Guarantee::LossFree,
            controller: ControllerConfig::default(),
            bin: Dur::from_millis(100),
        }
    }

    fn mean_lifetime_s(&self) -> f64 {
        self.lifetime_scale_s / (self.lifetime_shape - 1.0)
    }

    /// Mean packets per flow: the offered load over the arrival rate.
    fn mean_packets(&self) -> f64 {
        self.load.0 as f64 / self.new_flows_per_s / (self.mtu as f64 * 8.0)
    }

    /// One flow's "worth" of load (the paper's unit for the shift), in Mbps: the load over
    /// the concurrent flows of Little's law.
    pub fn flow_worth_mbps(&self) -> f64 {
        self.load.0 as f64 / 1e6 / (self.new_flows_per_s * self.mean_lifetime_s())
    }
}

/// One time bin's measurements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bin {
    pub bytes_original: u64,
    pub bytes_new: u64,
    /// Of `bytes_original`, those of flows in `[M, Y)` (flows A keeps for affinity).
    pub bytes_pinned: u64,
    /// Packets delivered in the bin and the sum of their latencies.
    pub delivered: u64,
    pub latency_ns: u128,
    /// Bytes the hardware switch received (ingress plus detoured packets coming back).
    pub switch_bytes: u64,
    pub detoured: u64,
    /// Delivered packets that took the detour through A's E2D, and their latencies.
    pub detoured_delivered: u64,
    pub detoured_latency_ns: u128,
    /// At the end of the bin: rules in the hardware switch, exceptions in A's E2D, packets held.
    pub hw_rules: usize,
    pub exceptions: usize,
    pub held: usize,
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct SplitResult {
    pub bins: Vec<Bin>,
    pub bin: Dur,
    pub oracle: OracleReport,
    /// When the split was requested (operator or overload), and when each phase was reached.
    pub split_requested: Option<Time>,
    pub phases: Vec<(Time, SplitPhase)>,
    pub max_hw_rules: usize,
    pub hw_rules_failed: u64,
    pub max_exceptions: usize,
    pub raced_flows: u64,
    pub flows_moved: u64,
    pub held_pkts: u64,
    pub max_held: usize,
    /// Always-migrate: from the move's start to the import of the last flow's state.
    pub pause: Option<Dur>,
    /// Always-migrate: packets dropped by the instances' queues and the controller's buffer.
    pub nf_queue_drops: u64,
    pub ctrl_buffer_drops: u64,
    /// Always-migrate: why the OpenNF move failed, if it did.
    pub move_failed: Option<String>,
    pub flows_at_split: usize,
    pub flows: u64,
    pub unexpected: u64,
}

impl SplitResult {
    /// When the split reached `phase` first.
    pub fn phase_at(&self, phase: SplitPhase) -> Option<Time> {
        self.phases.iter().find(|p| p.1 == phase).map(|p| p.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// The source sends flow `i`'s next packet.
    Send(u32),
    /// The packet reaches the hardware switch on `port`.
    Hw(PortId),
    E2dA,
    E2dB,
    Nf(Instance),
    Split,
}

struct Pending {
    at: Time,
    seq: u64,
    ev: Ev,
    pkt: Option<Packet>,
}
impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Flow {
    id: FlowId,
    tuple: FiveTuple,
    hash: u32,
    next: Time,
    /// Between two of its packets.
    gap: Dur,
    /// Between its first and second packet, when not `gap` (see `PRIME_S`).
    first_gap: Option<Dur>,
    seq: u32,
    packets: u32,
}

struct NfInstance {
    busy_until: Time,
    logs: FxHashMap<FlowId, UpdateLog>,
}

/// Always-migrate's machines: OpenNF's controller and the two instances as `models::nf`
/// machines (A = `NodeId(0)`, A' = `NodeId(1)`).
struct OpenNfArm {
    ctrl: Controller,
    nfs: [Nf; 2],
    /// `M`, once the split is requested.
    m: Option<u64>,
    started: Option<Time>,
    nf_queue_drops: u64,
    ctrl_buffer_drops: u64,
    failed: Option<String>,
}

const HW_NODE: NodeId = NodeId(10);

const PORT_SOURCE: PortId = PortId(0);
const PORT_A: PortId = PortId(1);
const PORT_B: PortId = PortId(2);
const ORIGINAL_RULE: Cookie = Cookie(1);
const DETOUR_RULE: Cookie = Cookie(2);
const DETOUR_TAG: u16 = 0xE2;

/// See [`flows`]: flows in progress at 0 show themselves within this long.
const PRIME_S: f64 = 1.0;

/// Draws the flows: arrivals from 600 s before 0 to `duration`, kept if alive at 0 or later.
fn flows(x: &SplitExperiment, rng: &mut Rng) -> Vec<Flow> {
    let equal_rate_gap_s =
        x.mtu as f64 * 8.0 / (x.load.0 as f64 / (x.new_flows_per_s * x.mean_lifetime_s()));
    let mean_packets = x.mean_packets();
    let warm = 600.0;
    let end = x.duration.as_secs_f64();
    let mut t = -warm;
    let mut out = Vec::new();
    let mut k = 0u64;
    loop {
        t += rng.exp(1.0 / x.new_flows_per_s);
        if t >= end {
            break;
        }
        let u = rng.uniform();
        let life = x.lifetime_scale_s * ((1.0 - u).powf(-1.0 / x.lifetime_shape) - 1.0);
        let (packets, gap_s) = match x.flow_bytes {
            FlowBytes::EqualRate => {
                (((life / equal_rate_gap_s).ceil() as u64).max(1), equal_rate_gap_s)
            }
            FlowBytes::EqualBytes => {
                // The mean, rounded at random so the load comes out exact; the first packet
                // at the start, the last at the end of the lifetime.
                let whole = mean_packets.floor();
                let extra = u64::from(rng.uniform() < mean_packets - whole);
                let n = (whole as u64 + extra).max(1);
                (n, if n > 1 { life / (n - 1) as f64 } else { life })
            }
        };
        let last_at = t + (packets - 1) as f64 * gap_s;
        if last_at < 0.0 {
            continue;
        }
        // The first packet at or after 0.
        let skip = if t < 0.0 { ((-t) / gap_s).ceil() as u64 } else { 0 };
        let mut first = t + skip as f64 * gap_s;
        let mut remaining = packets - skip;
        if remaining == 0 {
            continue;
        }
        // A flow in progress at 0 has state at A from its packets before 0, which the run
        // does not send. When its next packet comes after `PRIME`, one packet standing for
        // those is sent at a random instant of `[0, PRIME)`, so A holds (and its E2D tracks)
        // the flow before the split, as in a run that started earlier. (Only long flows of
        // equal bytes are this sparse: a gap over 1 s is a lifetime over ~41 s.)
        let mut first_gap = None;
        if t < 0.0 && first > PRIME_S {
            let at = rng.uniform() * PRIME_S;
            first_gap = Some(Dur::from_secs_f64(first - at));
            first = at;
            remaining += 1;
        }
        let tuple = workloads::FiveTuple::synthetic(k);
        let hash = (tuple.hash64() >> 32) as u32;
        out.push(Flow {
            id: FlowId(k),
            tuple: FiveTuple {
                src: u32::from(tuple.src),
                dst: u32::from(tuple.dst),
                sport: tuple.sport,
                dport: tuple.dport,
                proto: tuple.proto,
            },
            hash,
            next: Time::ZERO + Dur::from_secs_f64(first.max(0.0)),
            gap: Dur::from_secs_f64(gap_s),
            first_gap,
            seq: 0,
            packets: u32::try_from(remaining).unwrap_or(u32::MAX),
        });
        k += 1;
    }
    out
}

struct Run<'a> {
    x: &'a SplitExperiment,
    hop: Dur,
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    flows: Vec<Flow>,
    hw: Switch,
    e2d: E2d,
    ctrl: SplitController,
    nfs: [NfInstance; 2],
    oracle: Oracle,
    bins: Vec<Bin>,
    detector: Option<OverloadDetector>,
    split_requested: Option<Time>,
    phases: Vec<(Time, SplitPhase)>,
    hold_at: Option<Time>,
    pause: Option<Dur>,
    flows_at_split: usize,
    onf: Option<OpenNfArm>,
}

impl Run<'_> {
    fn push(&mut self, at: Time, ev: Ev, pkt: Option<Packet>) {
        self.seq += 1;
        self.heap.push(Reverse(Pending { at, seq: self.seq, ev, pkt }));
    }

    fn bin(&mut self, t: Time) -> &mut Bin {
        let i = (t.as_nanos() / self.x.bin.as_nanos()) as usize;
        if self.bins.len() <= i {
            self.bins.resize(i + 1, Bin::default());
        }
        &mut self.bins[i]
    }

    fn next_timer(&self) -> Option<Time> {
        let onf = self.onf.as_ref().map_or([None; 3], |o| {
            [o.ctrl.poll_timeout(), o.nfs[0].poll_timeout(), o.nfs[1].poll_timeout()]
        });
        [self.hw.poll_timeout(), self.e2d.poll_timeout(), self.ctrl.poll_timeout()]
            .into_iter()
            .chain(onf)
            .flatten()
            .min()
    }

    fn timers(&mut self, now: Time) {
        self.hw.handle_timeout(now);
        self.e2d.handle_timeout(now);
        self.ctrl.handle_timeout(now);
        if let Some(o) = &mut self.onf {
            o.ctrl.handle_timeout(now);
            o.nfs.iter_mut().for_each(|n| n.handle_timeout(now));
        }
        self.drain(now);
    }

    /// The OpenNF arm's instances' next service or state-transfer completion, if any.
    fn onf_serving(&self) -> Option<Time> {
        self.onf.as_ref().and_then(|o| o.nfs.iter().filter_map(|n| n.poll_timeout()).min())
    }

    /// Carries the OpenNF arm's outputs once; true if there were any.
    fn drain_onf(&mut self, now: Time) -> bool {
        let Some(o) = &mut self.onf else { return false };
        let mut nf_out = vec![];
        for (k, nf) in o.nfs.iter_mut().enumerate() {
            while let Some(x) = nf.poll_output() {
                nf_out.push((k, x));
            }
        }
        let ctrl_out: Vec<ControllerOutput> = std::iter::from_fn(|| o.ctrl.poll_output()).collect();
        let progressed = !nf_out.is_empty() || !ctrl_out.is_empty();
        for (k, x) in nf_out {
            match x {
                NfOutput::Transmit(p) if p.is_data() => {
                    let inst = if k == 0 { Instance::Original } else { Instance::New };
                    self.record(now, now, inst, &p);
                }
                NfOutput::Transmit(_) | NfOutput::StateCreated { .. } | NfOutput::ToPeer { .. } => {
                }
                NfOutput::ToController(event) => {
                    let from = NodeId(k as u32);
                    let o = self.onf.as_mut().expect("invariant: the arm is here");
                    o.ctrl.handle(now, ControllerInput::Nf { from, event });
                }
                NfOutput::Dropped { packet, cause } => {
                    let cause = match cause {
                        NfDrop::Queue => LossCause::NfQueue,
                        NfDrop::Down => LossCause::NfDown,
                        NfDrop::Protocol => LossCause::Protocol,
                    };
                    if packet.is_data() {
                        self.onf.as_mut().expect("invariant: the arm is here").nf_queue_drops += 1;
                        self.oracle.on_drop(packet.key(), cause);
                    }
                }
            }
        }
        for x in ctrl_out {
            match x {
                ControllerOutput::ToSwitch { msg, .. } => self.hw.handle_ctrl(now, msg),
                ControllerOutput::ToNf { to, msg } => {
                    let o = self.onf.as_mut().expect("invariant: the arm is here");
                    o.nfs[to.0 as usize].handle_ctrl(now, msg);
                }
                ControllerOutput::Dropped { packet, cause } => {
                    self.onf.as_mut().expect("invariant: the arm is here").ctrl_buffer_drops += 1;
                    self.oracle.on_drop(packet.key(), cause);
                }
                ControllerOutput::Log { at, log } => {
                    let o = self.onf.as_mut().expect("invariant: the arm is here");
                    match log {
                        MoveLog::Started { .. } => {
                            o.started = Some(at);
                            self.phases.push((at, SplitPhase::MovingState));
                        }
                        MoveLog::StateMoved { .. } => {
                            self.pause = o.started.map(|s| at.saturating_since(s));
                            self.phases.push((at, SplitPhase::Releasing));
                        }
                        MoveLog::Finished { .. } => self.phases.push((at, SplitPhase::Converged)),
                        MoveLog::Failed { reason, .. } => o.failed = Some(reason),
                    }
                }
            }
        }
        progressed
    }

    /// A packet leaves instance `inst` at `done`; its bytes count in the bin of `at`.
    fn record(&mut self, at: Time, done: Time, inst: Instance, p: &Packet) {
        self.oracle.on_output(p);
        let m = self.onf.as_ref().and_then(|o| o.m).or(self.ctrl.stats().m);
        let pinned = m.is_some_and(|m| p.hash as u64 >= m);
        let delivered = done + self.hop;
        let lat = delivered.saturating_since(p.sent).as_nanos() as u128;
        let b = self.bin(at);
        match inst {
            Instance::Original => {
                b.bytes_original += p.size_bytes as u64;
                if pinned {
                    b.bytes_pinned += p.size_bytes as u64;
                }
            }
            Instance::New => b.bytes_new += p.size_bytes as u64,
        }
        b.delivered += 1;
        b.latency_ns += lat;
        if p.tag == DETOUR_TAG {
            b.detoured_delivered += 1;
            b.detoured_latency_ns += lat;
        }
    }

    /// Carries every machine's outputs until all are quiet.
    fn drain(&mut self, now: Time) {
        loop {
            let mut progressed = false;
            while let Some(o) = self.hw.poll_output() {
                progressed = true;
                match o {
                    SwitchOutput::ToController(event) if self.onf.is_some() => {
                        let o = self.onf.as_mut().expect("invariant: checked");
                        o.ctrl.handle(now, ControllerInput::Switch { from: HW_NODE, event });
                    }
                    SwitchOutput::Transmit { port, packet } => {
                        let ev = if port == PORT_A { Ev::E2dA } else { Ev::E2dB };
                        self.push(now + self.hop, ev, Some(packet));
                    }
                    SwitchOutput::ToController(SwitchEvent::FlowModsDone { xid }) => {
                        self.ctrl.handle_switch_done(now, xid)
                    }
                    SwitchOutput::ToController(SwitchEvent::FlowModFailed { cookie, .. }) => {
                        self.ctrl.handle_switch_failed(cookie)
                    }
                    SwitchOutput::ToController(_) => {}
                    SwitchOutput::Dropped { packet, .. } => {
                        self.oracle.on_drop(packet.key(), models::oracle::LossCause::RuleDrop)
                    }
                }
            }
            while let Some(ev) = self.e2d.poll_event() {
                progressed = true;
                let check =
                    matches!(ev, E2dEvent::SplitApplied { .. } | E2dEvent::ExceptionsLeft { .. });
                if let E2dEvent::HoldApplied { .. } = ev {
                    self.hold_at = Some(now);
                }
                if let E2dEvent::Released = ev {
                    self.pause = self.hold_at.map(|h| now.saturating_since(h));
                }
                self.ctrl.handle_e2d(now, ev);
                if check && self.e2d.exceptions() <= self.x.push_threshold {
                    let remaining = self.e2d.exception_flows();
                    self.ctrl.exceptions_left(now, &remaining);
                }
            }
            while let Some(p) = self.e2d.poll_released() {
                progressed = true;
                self.detour(now, p);
            }
            while let Some(o) = self.ctrl.poll_output() {
                progressed = true;
                match o {
                    SplitOutput::ToSwitch(m) => self.hw.handle_ctrl(now, m),
                    SplitOutput::ToE2d(c) => self.e2d.handle_cmd(now, c),
                    SplitOutput::MoveState { flows } => {
                        for f in flows {
                            if let Some(log) = self.nfs[0].logs.remove(&f) {
                                self.nfs[1].logs.insert(f, log);
                            }
                        }
                    }
                    SplitOutput::Phase { at, phase } => self.phases.push((at, phase)),
                }
            }
            progressed |= self.drain_onf(now);
            if !progressed {
                return;
            }
        }
    }

    fn detour(&mut self, now: Time, mut p: Packet) {
        p.tag = DETOUR_TAG;
        self.bin(now).detoured += 1;
        self.push(now + self.hop, Ev::Hw(PORT_A), Some(p));
    }

    fn request_split(&mut self, now: Time) {
        if self.split_requested.is_some() {
            return;
        }
        self.split_requested = Some(now);
        let tracked: Vec<TrackedFlow> = self.e2d.tracked_flows();
        self.flows_at_split = tracked.len();
        if let Some(o) = &mut self.onf {
            // Always-migrate: an OpenNF move of `[M, Y)`'s flows from A to A', which also
            // points the hardware switch's `[M, Y)` at A'.
            let m = FLOW_ID_SPACE / 2;
            o.m = Some(m);
            let req = MoveRequest {
                id: MoveId(1),
                flows: Match::hash_range(m as u32, u32::MAX),
                src: NodeId(0),
                dst: NodeId(1),
                switch: HW_NODE,
                in_ports: vec![PORT_SOURCE],
                src_port: PORT_A,
                dst_port: PORT_B,
            };
            o.ctrl.handle(now, ControllerInput::Move(req));
        } else {
            self.ctrl.split(now, &tracked);
        }
        self.drain(now);
    }

    fn event(&mut self, now: Time, ev: Ev, pkt: Option<Packet>) {
        match ev {
            Ev::Send(i) => {
                let f = &mut self.flows[i as usize];
                let gap = f.gap;
                let mut flags = Flags::empty();
                if f.seq + 1 == f.packets {
                    flags.insert(Flags::LAST);
                }
                let p = Packet {
                    flow: f.id,
                    seq: f.seq,
                    tuple: f.tuple,
                    hash: f.hash,
                    size_bytes: self.x.mtu,
                    sent: now,
                    flags,
                    tag: 0,
                };
                f.seq += 1;
                let more = f.seq < f.packets;
                f.next = now + f.first_gap.take().unwrap_or(gap);
                let next = f.next;
                self.oracle.on_sent(&p);
                if more && next < Time::ZERO + self.x.duration {
                    self.push(next, Ev::Send(i), None);
                }
                self.push(now + self.hop, Ev::Hw(PORT_SOURCE), Some(p));
            }
            Ev::Hw(port) => {
                let p = pkt.expect("invariant: packet events carry a packet");
                if port == PORT_SOURCE {
                    self.oracle.on_ingress(&p);
                }
                self.bin(now).switch_bytes += p.size_bytes as u64;
                self.hw.handle_packet(now, port, p);
                self.drain(now);
            }
            Ev::E2dA => {
                let p = pkt.expect("invariant: packet events carry a packet");
                if !p.is_data() {
                    // OpenNF's marker, for A: the E2D tracks no flow for it.
                    self.push(now, Ev::Nf(Instance::Original), Some(p));
                    return;
                }
                match self.e2d.steer(p) {
                    Steer::Local(p) => self.push(now, Ev::Nf(Instance::Original), Some(p)),
                    Steer::Detour(p) => self.detour(now, p),
                    Steer::Held => {}
                }
                self.drain(now);
            }
            Ev::E2dB => {
                // A''s E2D would untag here; the tag is kept to the NF so the latency of
                // detoured packets can be told apart.
                let p = pkt.expect("invariant: packet events carry a packet");
                self.push(now, Ev::Nf(Instance::New), Some(p));
            }
            Ev::Nf(inst) => {
                let p = pkt.expect("invariant: packet events carry a packet");
                let k = inst as usize;
                if let Some(o) = &mut self.onf {
                    o.nfs[k].handle_packet(now, p);
                    self.drain(now);
                    return;
                }
                let start = self.nfs[k].busy_until.max(now);
                let done = start + self.x.nf_service;
                self.nfs[k].busy_until = done;
                self.nfs[k].logs.entry(p.flow).or_default().apply(now, p.seq);
                if inst == Instance::Original {
                    let wait = start.saturating_since(now);
                    if let Some(d) = &mut self.detector {
                        if d.observe(now, wait) {
                            self.request_split(now);
                        }
                    }
                }
                self.record(now, done, inst, &p);
            }
            Ev::Split => self.request_split(now),
        }
    }
}

/// Runs one experiment.
pub fn run(x: &SplitExperiment) -> SplitResult {
    let streams = RngStreams::new(x.seed);
    let mut rng = streams.stream("e2-split/flows");
    let flows = flows(x, &mut rng);
    let hw_cfg = SwitchConfig {
        table_capacity: x.hw_table,
        update: UpdateLatency::e2_hardware(),
        table_miss: models::switch::TableMiss::Drop,
    };
    let mut hw = Switch::new(hw_cfg, streams.stream("e2-split/switch/updates"));
    let rule = |cookie, priority, matcher, port| Rule {
        cookie,
        priority,
        matcher,
        actions: vec![Action::Output(port)],
        idle_timeout: None,
    };
    hw.preinstall(
        Time::ZERO,
        vec![
            // [X, Y) -> A: the whole flow-ID space.
            rule(ORIGINAL_RULE, 10, Match::any(), PORT_A),
            // The tunnel from A's E2D to A''s server (section 6: "tagging and untagging
            // packets with tunneling headers to route between servers").
            rule(
                DETOUR_RULE,
                40,
                Match { in_port: Some(PORT_A), tag: Some(DETOUR_TAG), ..Match::any() },
                PORT_B,
            ),
        ],
    )
    .expect("invariant: two rules fit");
    let nf = models::nf::NfConfig::default();
    let ctrl = SplitController::new(SplitConfig {
        strategy: x.strategy,
        port_original: PORT_A,
        port_new: PORT_B,
        original_rule: Some(ORIGINAL_RULE),
        // The split's traffic arrives from the source, and the instances' output leaves
        // without crossing the hardware switch again (the driver's sink is behind them).
        in_port: None,
        // E2 7.2: the split is in half.
        new_share: 0.5,
        push_threshold: x.push_threshold,
        hw_free_entries: x.hw_table - 2,
        export_per_flow: nf.export_per_flow,
        import_per_flow: nf.import_per_flow,
    });
    let hop = x.link_delay + base::tx_time(x.mtu as u128 * 8, x.link);
    let mut r = Run {
        x,
        hop,
        heap: BinaryHeap::new(),
        seq: 0,
        flows,
        hw,
        e2d: E2d::new(Dur::from_micros(20)),
        ctrl,
        nfs: [
            NfInstance { busy_until: Time::ZERO, logs: FxHashMap::default() },
            NfInstance { busy_until: Time::ZERO, logs: FxHashMap::default() },
        ],
        oracle: Oracle::new(),
        bins: Vec::new(),
        detector: x.overload.clone().map(OverloadDetector::new),
        split_requested: None,
        phases: Vec::new(),
        hold_at: None,
        pause: None,
        flows_at_split: 0,
        onf: (x.strategy == Strategy::AlwaysMigrate).then(|| {
            let inst = NfConfig { service: x.nf_service, ..NfConfig::default() };
            let protocol = OpenNf::new(OpenNfConfig::opennf(x.move_guarantee));
            OpenNfArm {
                ctrl: Controller::new(x.controller.clone(), Box::new(protocol)),
                nfs: [Nf::new(inst.clone()), Nf::new(inst)],
                m: None,
                started: None,
                nf_queue_drops: 0,
                ctrl_buffer_drops: 0,
                failed: None,
            }
        }),
    };
    for i in 0..r.flows.len() {
        let at = r.flows[i].next;
        r.push(at, Ev::Send(i as u32), None);
    }
    if let Some(s) = x.split_at {
        r.push(Time::ZERO + s, Ev::Split, None);
    }
    let end = Time::ZERO + x.duration;
    // Sources stop at `end`; the run goes on until the packets in flight are delivered (so
    // the oracle's accounting closes), but rule updates still pending then are not waited for.
    loop {
        let ev_at = r.heap.peek().map(|p| p.0.at);
        let timer = r.next_timer();
        match (ev_at, timer) {
            (Some(e), Some(t)) if t <= e => r.timers(t),
            (None, Some(t)) if t <= end => r.timers(t),
            // Always-migrate's instances serve what is still in their queues (the driver's own
            // instance model serves each packet on arrival).
            (None, Some(_)) if r.onf_serving().is_some() => {
                let t = r.onf_serving().expect("invariant: checked");
                r.timers(t)
            }
            (Some(_), _) => {
                let Reverse(p) = r.heap.pop().expect("invariant: peeked");
                r.event(p.at, p.ev, p.pkt);
            }
            _ => break,
        }
        // The tables' state after this step, recorded in the bin of the next step (so each
        // bin ends with the state at its end); the run's last instant belongs to the last bin.
        let last = Time::ZERO + Dur::from_nanos(x.duration.as_nanos() - 1);
        let now = r.heap.peek().map_or(last, |p| p.0.at.min(last));
        let ctrl_held = r.onf.as_ref().map_or(0, |o| o.ctrl.buffer().len() as usize);
        let (rules, exc, held) = (r.hw.rule_count(), r.e2d.exceptions(), r.e2d.held() + ctrl_held);
        let b = r.bin(now);
        b.hw_rules = rules;
        b.exceptions = exc;
        b.held = held;
    }
    // The bins of the traffic's duration only (the drain's stragglers are in the oracle).
    let n_bins = x.duration.as_nanos().div_ceil(x.bin.as_nanos()) as usize;
    r.bins.resize(n_bins, Bin::default());
    let oracle = match &r.onf {
        Some(o) => r.oracle.finish(o.nfs.iter().enumerate().flat_map(|(k, n)| {
            n.states().into_iter().map(move |(f, s)| (NodeId(k as u32), f, &s.log))
        })),
        None => r.oracle.finish(
            r.nfs
                .iter()
                .enumerate()
                .flat_map(|(k, n)| n.logs.iter().map(move |(f, l)| (NodeId(k as u32), *f, l))),
        ),
    };
    let mut s = r.ctrl.stats().clone();
    let (mut held_pkts, mut max_held) = (r.e2d.stats().held, r.e2d.stats().max_held);
    let (mut nf_queue_drops, mut ctrl_buffer_drops, mut move_failed) = (0, 0, None);
    if let Some(o) = &r.onf {
        s.flows_moved = o.nfs[0].stats().flows_exported;
        s.unexpected += o.ctrl.stats().unexpected
            + o.ctrl
                .protocol()
                .counters()
                .iter()
                .find(|c| c.0 == "protocol_unexpected")
                .map_or(0, |c| c.1 as u64);
        held_pkts = o.nfs[0].stats().events_raised;
        max_held = o.ctrl.buffer().max() as usize;
        (nf_queue_drops, ctrl_buffer_drops, move_failed) =
            (o.nf_queue_drops, o.ctrl_buffer_drops, o.failed.clone());
    }
    SplitResult {
        bins: r.bins,
        bin: x.bin,
        oracle,
        split_requested: r.split_requested,
        phases: r.phases,
        max_hw_rules: r.hw.stats().max_rules,
        hw_rules_failed: s.hw_rules_failed,
        max_exceptions: r.e2d.stats().max_exceptions,
        raced_flows: s.raced_flows,
        flows_moved: s.flows_moved,
        held_pkts,
        max_held,
        pause: r.pause,
        nf_queue_drops,
        ctrl_buffer_drops,
        move_failed,
        flows_at_split: r.flows_at_split,
        flows: r.flows.len() as u64,
        unexpected: s.unexpected,
    }
}

/// Metrics of a result for figures and tests.
impl SplitResult {
    /// Load at each instance per bin, in Mbps.
    pub fn load_mbps(&self, b: &Bin) -> (f64, f64) {
        let s = self.bin.as_secs_f64();
        (b.bytes_original as f64 * 8.0 / s / 1e6, b.bytes_new as f64 * 8.0 / s / 1e6)
    }

    /// `100 (max - min) / max` of the two instances' loads summed over `[from, to)`.
    pub fn imbalance_pct(&self, from: Time, to: Time) -> f64 {
        let (a, b) = self.bytes_between(from, to);
        let (hi, lo) = (a.max(b) as f64, a.min(b) as f64);
        if hi == 0.0 {
            0.0
        } else {
            100.0 * (hi - lo) / hi
        }
    }

    /// The paper's "within 10% of ideal": the larger instance's load over the even share,
    /// `100 (max - (a + b) / 2) / ((a + b) / 2)` = `100 (max - min) / (max + min)`.
    pub fn imbalance_from_ideal_pct(&self, from: Time, to: Time) -> f64 {
        let (a, b) = self.bytes_between(from, to);
        if a + b == 0 {
            0.0
        } else {
            100.0 * a.abs_diff(b) as f64 / (a + b) as f64
        }
    }

    fn bins_between(&self, from: Time, to: Time) -> impl Iterator<Item = &Bin> {
        let w = self.bin.as_nanos();
        let (i, j) = ((from.as_nanos() / w) as usize, (to.as_nanos() / w) as usize);
        self.bins.iter().take(j).skip(i)
    }

    pub fn bytes_between(&self, from: Time, to: Time) -> (u64, u64) {
        self.bins_between(from, to)
            .fold((0, 0), |(a, b), x| (a + x.bytes_original, b + x.bytes_new))
    }

    /// Mean packet latency over `[from, to)`, in us.
    pub fn mean_latency_us(&self, from: Time, to: Time) -> f64 {
        let (n, l) = self
            .bins_between(from, to)
            .fold((0u64, 0u128), |(n, l), b| (n + b.delivered, l + b.latency_ns));
        if n == 0 {
            0.0
        } else {
            l as f64 / n as f64 / 1e3
        }
    }

    /// The first time after the split from which every `window` (sliding by one bin) has an
    /// imbalance within `pct` until the end of the run, if any.
    pub fn balanced_from(&self, pct: f64, window: Dur) -> Option<Time> {
        let split = self.split_requested?;
        let w = self.bin.as_nanos();
        let per_s = (window.as_nanos() / w).max(1) as usize;
        let first = (split.as_nanos() / w) as usize;
        let n = self.bins.len();
        let mut found = None;
        for i in (first..=n.saturating_sub(per_s)).rev() {
            let from = Time::ZERO + Dur::from_nanos(i as u64 * w);
            let to = Time::ZERO + Dur::from_nanos((i + per_s) as u64 * w);
            if self.imbalance_pct(from, to) <= pct {
                found = Some(from);
            } else {
                break;
            }
        }
        found
    }
}
