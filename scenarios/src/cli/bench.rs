//! `nftwin bench`: reference benchmarks.

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use scenarios::bench::star::{self, StarParams, StarReport};
use scenarios::progress::attach_sim_bar;
use sim_core::{Dur, Time};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Bench,
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// The `star` benchmark of shared/bench/star.md: 16 Poisson sources, one switch, one sink.
    Star {
        /// Offered load at the bottleneck (0 < rho; above 1 the port overflows and drops).
        #[arg(long, default_value_t = 0.8)]
        rho: f64,
        /// Seconds during which the sources send (the run then drains the network).
        #[arg(long, default_value_t = 1.0)]
        duration: f64,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub fn run(args: BenchArgs) -> Result<()> {
    match args.which {
        Bench::Star { rho, duration, seed } => {
            if !(rho.is_finite() && rho > 0.0) {
                bail!("--rho must be a positive number, got {rho} (e.g. --rho 0.8)");
            }
            if !(duration.is_finite() && duration > 0.0 && duration <= 3600.0) {
                bail!("--duration is in seconds and must be in (0, 3600], got {duration}");
            }
            let params = StarParams { rho, duration: Dur::from_secs_f64(duration), seed };
            let mut built = star::Star::build(&params);
            let bar = attach_sim_bar(built.sim_mut(), Time::ZERO + params.duration, "star");
            let report = built.run();
            bar.finish_and_clear();
            println!("{}", StarReport::HEADER);
            println!("{}", report.csv_line());
            Ok(())
        }
    }
}
