//! # sim-core: nftwin's domain-free discrete-event engine
//!
//! Purpose: run a model of entities that exchange messages over links, in simulated time,
//! deterministically. It knows nothing of packets' meaning, switches or NFs: those live in
//! `models` and are hosted by the sim driver in `scenarios`.
//!
//! - [`time`]: `Time`/`Dur` (u64 ns) and the one rate-to-duration rounding, [`time::tx_time`].
//! - [`queue`]: the event queue keyed `(time, insertion seq)`; ties are FIFO.
//! - [`sim`]: [`Simulation`], [`Entity`], [`Ctx`]; timers that go stale instead of being
//!   searched for; run control (until a time, until empty, until a predicate) and progress.
//! - [`link`]: rate, propagation, drop-tail queue bounded in packets and bytes, random loss,
//!   up/down.
//! - [`rng`]: one master seed, one stream per stable name.
//! - [`metrics`]: counters, time series, exact and bounded-memory histograms.
//!
//! Invariants: simulated time never decreases; the same model and seed give the same sequence
//! of events; no wall clock and no unseeded randomness are read here.

#![forbid(unsafe_code)]

pub mod link;
pub mod metrics;
pub mod queue;
pub mod sim;

/// Simulated time, rates and random streams live in the `base` crate, shared with `models`.
pub use base::{rng, time};

pub use link::{LinkParams, LinkStats, Offer};
pub use rng::{Rng, RngStreams};
pub use sim::{
    Ctx, EngineStats, Entity, EntityId, LinkId, Origin, Progress, Simulation, StopReason,
    TimerHandle,
};
pub use time::{tx_time, Bps, Dur, Time};
