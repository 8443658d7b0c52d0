//! One module per `nftwin` subcommand.

pub mod bench;
pub mod validate;
pub mod workload;
