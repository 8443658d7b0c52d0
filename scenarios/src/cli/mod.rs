//! One module per `nftwin` subcommand.

pub mod bench;
pub mod check;
pub mod e2;
pub mod live;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod validate;
pub mod whatif;
pub mod workload;
