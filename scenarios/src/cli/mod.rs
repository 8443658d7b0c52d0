//! One module per `nftwin` subcommand.

pub mod bench;
pub mod run;
pub mod validate;
pub mod workload;
