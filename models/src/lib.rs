//! # models: nftwin's sans-IO domain logic
//!
//! Every switch, NF instance, host, controller and migration protocol is written here once, as
//! a state machine that is told the time and returns what it wants done. Two drivers host these
//! machines: the simulator (`scenarios`, simulated time) and the live bridge (wall-clock time,
//! real frames). Nothing here reads a clock, does I/O, spawns threads or depends on the engine.
//!
//! Call contract of every machine: feed one input (`handle_*`), drain `poll_output` until
//! `None`, then read `poll_timeout`; `now` never decreases between calls; `handle_timeout` at an
//! early or stale time is a no-op. A peer's unexpected message is counted and reported, never a
//! panic; a broken invariant of our own panics with `invariant: ...`.

#![forbid(unsafe_code)]

pub mod controller;
pub mod e2;
pub mod egret;
pub mod fxhash;
pub mod host;
pub mod nf;
pub mod opennf;
pub mod oracle;
pub mod packet;
pub mod reroute;
pub mod sharp;
pub mod switch;
pub mod uhaul;
pub mod wire;

pub use packet::{FiveTuple, Flags, FlowId, NodeId, Packet, PacketKey, PortId, Xid};
