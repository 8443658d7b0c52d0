//! `nftwin e2 place FILE`: what E2 would do with the `[e2]` policy of FILE (a policy file or
//! a scenario): the pGraph, sizing, the iGraph and the placement.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use scenarios::e2_place::{report, Strategy};
use scenarios::spec;

#[derive(Debug, Args)]
pub struct E2Args {
    #[command(subcommand)]
    pub command: E2Command,
}

#[derive(Debug, Subcommand)]
pub enum E2Command {
    /// Print the pGraph, sizing, iGraph and placement of FILE's `[e2]` policy.
    Place(PlaceArgs),
}

#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// A policy file (`[e2]` and no `[[nodes]]`) or a scenario with an `[e2]` table.
    pub file: PathBuf,
    /// Placement algorithm: E2's local search, a strawman, or all three.
    #[arg(long, value_enum, default_value = "e2")]
    pub strategy: StrategyArg,
    /// Seed of the Random strategy.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum StrategyArg {
    E2,
    Packing,
    Random,
    All,
}

pub fn run(args: E2Args) -> Result<()> {
    match args.command {
        E2Command::Place(a) => {
            let cfg = spec::e2::load_any(&a.file)?;
            let strategies: Vec<Strategy> = match a.strategy {
                StrategyArg::E2 => vec![Strategy::E2],
                StrategyArg::Packing => vec![Strategy::Packing],
                StrategyArg::Random => vec![Strategy::Random],
                StrategyArg::All => Strategy::ALL.to_vec(),
            };
            print!("{}", report(&cfg, &strategies, a.seed));
            Ok(())
        }
    }
}
