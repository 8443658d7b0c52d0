//! The simulation: entities, links and timers driven by one event queue.
//!
//! ```text
//!            schedule / send / set_timer / transmit
//!   Entity ─────────────────────────────────────────► Ctx ──► EventQueue (time, seq)
//!     ▲                                                              │
//!     └──── on_event(ctx, origin, msg) ◄──── Simulation::run ◄───────┘
//! ```
//!
//! An entity is any `'static` type implementing [`Entity<M>`], where `M` is the one message type
//! of the model (packets, control messages and timer payloads alike). Entities never see each
//! other; they exchange messages through links ([`Ctx::transmit`]) or directly with a fixed
//! delay ([`Ctx::send`]). The heap holds three kinds of event: a direct delivery, a timer, and
//! the arrival of a link's head packet (at most one per link; see [`crate::link`]).
//!
//! Determinism: events at the same instant run in the order they were scheduled, entities are
//! started in id order, and nothing here reads a clock or an unseeded random source.

use std::any::Any;

use crate::link::{Link, LinkParams, LinkStats, Offer};
use crate::queue::EventQueue;
use crate::rng::RngStreams;
use crate::time::{Dur, Time};

/// Index of an entity in its simulation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityId(pub u32);

/// Index of a link in its simulation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u32);

/// A cancellable timer. A fired or cancelled handle is stale: cancelling it again is a no-op.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerHandle {
    slot: u32,
    gen: u32,
}

/// Where a message came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The far end of this link delivered it.
    Link(LinkId),
    /// An entity sent it with [`Ctx::send`] (possibly itself).
    Entity(EntityId),
    /// This timer of the receiving entity fired.
    Timer(TimerHandle),
    /// Scheduled from outside the simulation ([`Simulation::schedule`]).
    External,
}

/// A participant in the simulation.
pub trait Entity<M>: Any {
    /// Called once for each entity, in id order, at time zero before the first event.
    fn on_start(&mut self, _ctx: &mut Ctx<'_, M>) {}
    /// A message for this entity.
    fn on_event(&mut self, ctx: &mut Ctx<'_, M>, origin: Origin, msg: M);
}

enum Action<M> {
    Deliver { to: EntityId, origin: Origin, msg: M },
    Timer { to: EntityId, handle: TimerHandle, msg: M },
    LinkHead { link: LinkId, epoch: u32 },
}

struct LinkSlot<M> {
    link: Link<M>,
    from: EntityId,
    to: EntityId,
}

/// Why [`Simulation::run`] returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// No event is left.
    Exhausted,
    /// The next event is later than the limit; the clock was advanced to the limit.
    TimeLimit,
    /// The predicate returned true.
    Predicate,
    /// An entity called [`Ctx::stop`].
    Stopped,
}

/// What a progress callback is told.
#[derive(Copy, Clone, Debug)]
pub struct Progress {
    pub now: Time,
    pub events: u64,
    pub pending: usize,
}

/// Counters of the engine itself.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events popped and acted on (stale ones excluded).
    pub events: u64,
    pub stale_timers: u64,
    pub stale_link_events: u64,
}

/// Everything but the entities, so an entity can be borrowed while its context borrows this.
struct Core<M> {
    now: Time,
    queue: EventQueue<Action<M>>,
    links: Vec<LinkSlot<M>>,
    timer_gen: Vec<u32>,
    free_timers: Vec<u32>,
    stop: bool,
    stats: EngineStats,
}

/// The handle an entity acts through while it handles an event.
pub struct Ctx<'a, M> {
    core: &'a mut Core<M>,
    me: EntityId,
}

impl<M> Ctx<'_, M> {
    #[inline]
    pub fn now(&self) -> Time {
        self.core.now
    }

    #[inline]
    pub fn me(&self) -> EntityId {
        self.me
    }

    /// Delivers `msg` to `to` after `delay` (a direct channel with no queue: a control channel
    /// of fixed latency, or a message to oneself).
    #[inline]
    pub fn send(&mut self, to: EntityId, delay: Dur, msg: M) {
        let at = self.core.now + delay;
        self.core.queue.push(at, Action::Deliver { to, origin: Origin::Entity(self.me), msg });
    }

    /// Arms a cancellable timer that delivers `msg` to this entity at `at` (not before now).
    pub fn set_timer(&mut self, at: Time, msg: M) -> TimerHandle {
        assert!(at >= self.core.now, "invariant: a timer in the past");
        let slot = match self.core.free_timers.pop() {
            Some(s) => s,
            None => {
                self.core.timer_gen.push(0);
                (self.core.timer_gen.len() - 1) as u32
            }
        };
        let handle = TimerHandle { slot, gen: self.core.timer_gen[slot as usize] };
        self.core.queue.push(at, Action::Timer { to: self.me, handle, msg });
        handle
    }

    /// Cancels a timer. Returns false if it had already fired or been cancelled. The queued
    /// event is not searched for: it is recognised as stale when it comes up, and ignored.
    pub fn cancel_timer(&mut self, h: TimerHandle) -> bool {
        self.core.retire_timer(h)
    }

    /// Offers `msg`, `bytes` long on the wire, to `link`, which must start at this entity.
    #[inline]
    pub fn transmit(&mut self, link: LinkId, msg: M, bytes: u32) -> Offer<M> {
        let now = self.core.now;
        let slot = &mut self.core.links[link.0 as usize];
        assert_eq!(slot.from, self.me, "invariant: {link:?} does not start at {:?}", self.me);
        let was_empty = slot.link.in_flight() == 0;
        let offer = slot.link.offer(now, msg, bytes);
        if let Offer::Queued { arrives } = offer {
            if was_empty {
                let epoch = slot.link.epoch;
                self.core.queue.push(arrives, Action::LinkHead { link, epoch });
            }
        }
        offer
    }

    /// Takes a link down (returning every packet that was on it) or brings it back up (an
    /// empty vector). See [`crate::link`] for the semantics.
    pub fn set_link_up(&mut self, link: LinkId, up: bool) -> Vec<M> {
        self.core.set_link_up(link, up)
    }

    pub fn link_stats(&self, link: LinkId) -> &LinkStats {
        self.core.links[link.0 as usize].link.stats()
    }

    /// Packets waiting behind `link`'s transmitter now.
    pub fn link_waiting(&mut self, link: LinkId) -> usize {
        let now = self.core.now;
        self.core.links[link.0 as usize].link.waiting_pkts(now)
    }

    /// Ends the run after this event.
    pub fn stop(&mut self) {
        self.core.stop = true;
    }
}

impl<M> Core<M> {
    fn retire_timer(&mut self, h: TimerHandle) -> bool {
        let gen = &mut self.timer_gen[h.slot as usize];
        if *gen != h.gen {
            return false;
        }
        *gen = gen.wrapping_add(1);
        self.free_timers.push(h.slot);
        true
    }

    fn set_link_up(&mut self, link: LinkId, up: bool) -> Vec<M> {
        let now = self.now;
        let l = &mut self.links[link.0 as usize].link;
        if up {
            l.set_up(now);
            Vec::new()
        } else {
            l.set_down(now)
        }
    }
}

type ProgressFn = Box<dyn FnMut(Progress)>;

/// A discrete-event simulation over messages of type `M`.
pub struct Simulation<M> {
    core: Core<M>,
    entities: Vec<Box<dyn Entity<M>>>,
    rng: RngStreams,
    started: bool,
    /// `(mask, callback)`: called when `events & mask == 0`.
    progress: Option<(u64, ProgressFn)>,
}

impl<M: 'static> Simulation<M> {
    /// A simulation whose random streams all derive from `master_seed`.
    pub fn new(master_seed: u64) -> Self {
        Simulation {
            core: Core {
                now: Time::ZERO,
                queue: EventQueue::with_capacity(1024),
                links: Vec::new(),
                timer_gen: Vec::new(),
                free_timers: Vec::new(),
                stop: false,
                stats: EngineStats::default(),
            },
            entities: Vec::new(),
            rng: RngStreams::new(master_seed),
            started: false,
            progress: None,
        }
    }

    /// The run's random streams: an entity takes its own by name when it is built.
    pub fn rng(&self) -> &RngStreams {
        &self.rng
    }

    pub fn add_entity(&mut self, e: impl Entity<M>) -> EntityId {
        self.entities.push(Box::new(e));
        EntityId((self.entities.len() - 1) as u32)
    }

    /// A one-way link from `from` to `to`. `name` names its loss stream (`"link/<name>/loss"`).
    pub fn add_link(&mut self, name: &str, from: EntityId, to: EntityId, p: LinkParams) -> LinkId {
        assert!((0.0..=1.0).contains(&p.loss), "invariant: loss probability in [0, 1]");
        let loss_rng = (p.loss > 0.0).then(|| self.rng.stream(&format!("link/{name}/loss")));
        self.core.links.push(LinkSlot { link: Link::new(p, loss_rng), from, to });
        LinkId((self.core.links.len() - 1) as u32)
    }

    /// The entity `id`, if it is a `T`.
    pub fn entity<T: Entity<M>>(&self, id: EntityId) -> Option<&T> {
        let e: &dyn Any = &*self.entities[id.0 as usize];
        e.downcast_ref()
    }

    /// The entity `id` mutably, if it is a `T` (to wire it up before the run).
    pub fn entity_mut<T: Entity<M>>(&mut self, id: EntityId) -> Option<&mut T> {
        let e: &mut dyn Any = &mut *self.entities[id.0 as usize];
        e.downcast_mut()
    }

    pub fn link(&self, id: LinkId) -> &Link<M> {
        &self.core.links[id.0 as usize].link
    }

    pub fn now(&self) -> Time {
        self.core.now
    }

    pub fn stats(&self) -> EngineStats {
        self.core.stats
    }

    /// Events waiting in the queue (including stale ones not yet reached).
    pub fn pending(&self) -> usize {
        self.core.queue.len()
    }

    /// Delivers `msg` to `to` at `at`, with origin [`Origin::External`].
    pub fn schedule(&mut self, at: Time, to: EntityId, msg: M) {
        assert!(at >= self.core.now, "invariant: scheduling in the past");
        self.core.queue.push(at, Action::Deliver { to, origin: Origin::External, msg });
    }

    /// Takes a link down or up from outside the run (see [`Ctx::set_link_up`]).
    pub fn set_link_up(&mut self, link: LinkId, up: bool) -> Vec<M> {
        self.core.set_link_up(link, up)
    }

    /// Calls `f` every `every_events` events (rounded up to a power of two) with the progress.
    pub fn set_progress(&mut self, every_events: u64, f: impl FnMut(Progress) + 'static) {
        self.progress = Some((every_events.max(1).next_power_of_two() - 1, Box::new(f)));
    }

    /// Runs until no event is left.
    pub fn run_to_end(&mut self) -> StopReason {
        self.run_until(Time::MAX)
    }

    /// Runs every event at or before `until`. If events remain, the clock is left at `until`.
    pub fn run_until(&mut self, until: Time) -> StopReason {
        self.run_inner(until, |_: &Self| false)
    }

    /// Runs until `pred` (checked after every event) holds, no event is left, or `until`.
    pub fn run_while_not(
        &mut self,
        until: Time,
        mut pred: impl FnMut(&Self) -> bool,
    ) -> StopReason {
        self.run_inner(until, &mut pred)
    }

    fn start(&mut self) {
        self.started = true;
        for (i, e) in self.entities.iter_mut().enumerate() {
            e.on_start(&mut Ctx { core: &mut self.core, me: EntityId(i as u32) });
        }
    }

    fn run_inner(&mut self, until: Time, mut pred: impl FnMut(&Self) -> bool) -> StopReason {
        if !self.started {
            self.start();
        }
        self.core.stop = false;
        loop {
            if self.core.stop {
                return StopReason::Stopped;
            }
            let Some((t, action)) = self.core.queue.pop_until(until) else {
                if self.core.queue.is_empty() {
                    return StopReason::Exhausted;
                }
                self.core.now = until;
                return StopReason::TimeLimit;
            };
            self.core.now = t;
            if !self.dispatch(action) {
                continue;
            }
            self.core.stats.events += 1;
            if let Some((mask, f)) = &mut self.progress {
                if self.core.stats.events & *mask == 0 {
                    f(Progress {
                        now: self.core.now,
                        events: self.core.stats.events,
                        pending: self.core.queue.len(),
                    });
                }
            }
            if pred(self) {
                return StopReason::Predicate;
            }
        }
    }

    /// Acts on one event; false if it was stale.
    #[inline]
    fn dispatch(&mut self, action: Action<M>) -> bool {
        let (to, origin, msg) = match action {
            Action::Deliver { to, origin, msg } => (to, origin, msg),
            Action::Timer { to, handle, msg } => {
                if !self.core.retire_timer(handle) {
                    self.core.stats.stale_timers += 1;
                    return false;
                }
                (to, Origin::Timer(handle), msg)
            }
            Action::LinkHead { link, epoch } => {
                let slot = &mut self.core.links[link.0 as usize];
                if slot.link.epoch != epoch {
                    self.core.stats.stale_link_events += 1;
                    return false;
                }
                let msg = slot.link.pop_head();
                let to = slot.to;
                if let Some(next) = slot.link.head_arrival() {
                    self.core.queue.push(next, Action::LinkHead { link, epoch });
                }
                (to, Origin::Link(link), msg)
            }
        };
        let entity = &mut self.entities[to.0 as usize];
        entity.on_event(&mut Ctx { core: &mut self.core, me: to }, origin, msg);
        true
    }
}
