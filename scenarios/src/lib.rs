//! # scenarios: the nftwin driver and command line
//!
//! Owns what turns the engine and the models into something a user runs: the reference
//! benchmarks, scenario files, the sim driver, sweeps, reproduce targets, plots and summaries,
//! and the `nftwin` CLI (`src/main.rs`, one module per subcommand under `src/cli/`).
//! It holds no protocol logic: that lives in `models`.

#![forbid(unsafe_code)]

pub mod bench;
pub mod check;
pub mod config;
pub mod driver;
pub mod e2_place;
pub mod live_compare;
pub mod output;
pub mod progress;
pub mod report;
pub mod reproduce;
pub mod spec;
pub mod sweep;
pub mod testkit;
pub mod whatif;
