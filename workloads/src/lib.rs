//! # workloads: flow-size distributions, arrivals at a load, packetization, shared traces
//!
//! Purpose: produce the flows every scheme is compared on, the same way the papers do
//! (empirical flow-size CDFs, Poisson arrivals at a target load) and write them as a trace
//! that every scheme replays.
//!
//! Inputs: a flow-size CDF (a built-in [`catalog`] entry or a `size_bytes,cdf` CSV file), a
//! load, a link rate, a duration and a master seed.
//! Outputs: flows in start order ([`arrivals::Arrivals`]), their packet schedules
//! ([`packets::Packetizer`]), and flow traces as CSV ([`trace::Trace`]).
//!
//! - [`cdf`]: validated piecewise-linear CDFs; inverse-transform sampling; exact mean, second
//!   moment, quantiles and byte-weighted tails.
//! - [`catalog`]: `websearch`, `fb-cache`, `fb-hadoop`, `datamining`, `azure-wan`
//!   (provenance in `data/PROVENANCE.md`).
//! - [`flow`]: flow ids, synthetic 5-tuples and the stable flow hash (fixed across versions).
//! - [`arrivals`]: Poisson arrivals with `lambda = load * C / (8 * mean bytes)`.
//! - [`packets`]: MTU cutting and open-loop pacing; time-average active flows.
//! - [`fairshare`]: a sender's flows sharing its link round robin (TCP-like fair share), with
//!   an optional slow start.
//! - [`trace`]: CSV write (atomic) and read (line and column errors, all or nothing).
//!
//! Invariants: the same seed gives a byte-identical trace on every machine (randomness only
//! from the named streams `"workload/arrivals"` and `"workload/sizes"`, exponentials from
//! base's platform-independent `Rng::exp_dur`, floats printed in shortest round-trip form);
//! flows come out in non-decreasing start order with dense ids `0..n`; a CDF or trace that
//! breaks a rule is an error naming the file, the line and the rule, never a partial result.
//! This crate knows nothing of protocols.

#![forbid(unsafe_code)]

pub mod arrivals;
pub mod catalog;
pub mod cdf;
pub mod fairshare;
pub mod flow;
pub mod packets;
pub mod trace;

pub use arrivals::{arrival_rate, ArrivalError, ArrivalParams, Arrivals};
pub use catalog::{builtin, resolve, CatalogEntry, DistLookupError, CATALOG};
pub use cdf::{CdfError, FlowSizeDist};
pub use fairshare::{FairShare, FairShareSchedule, SentPacket, SlowStart, DEFAULT_INITIAL_WINDOW};
pub use flow::{bucket, FiveTuple, Flow, FlowId};
pub use packets::{Pacing, Packet, Packetizer, DEFAULT_MTU};
pub use trace::{Trace, TraceError, TraceMeta};
