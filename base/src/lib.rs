//! # base: the types the engine and the sans-IO models share
//!
//! - [`time`]: simulated `Time` and `Dur` (u64 ns), `Bps`, and [`time::tx_time`], the one
//!   rate-to-duration rounding.
//! - [`rng`]: one master seed, one reproducible random stream per stable name.
//!
//! A leaf crate, so that `models` (which must not depend on the engine) and `sim-core` use one
//! `Time` and one RNG derivation. It depends on nothing but `libm`.

#![forbid(unsafe_code)]

pub mod rng;
pub mod time;

pub use rng::{Rng, RngStreams};
pub use time::{tx_time, Bps, Dur, Time};
