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
    /// The twin's per-packet path without migration: 2 switches, 4 NF instances (by flow hash),
    /// websearch at `--load` of 10 Gbps; prints packet-hops per second of the event loop.
    Twin {
        #[arg(long, default_value_t = 0.8)]
        load: f64,
        /// Seconds of traffic.
        #[arg(long, default_value_t = 1.0)]
        duration: f64,
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
        Bench::Twin { load, duration, seed } => {
            if !(load.is_finite() && load > 0.0) {
                bail!("--load must be a positive number, got {load} (e.g. --load 0.8)");
            }
            if !(duration.is_finite() && duration > 0.0 && duration <= 3600.0) {
                bail!("--duration is in seconds and must be in (0, 3600], got {duration}");
            }
            let cfg = scenarios::testkit::two_switch_four_nf(load, Dur::from_secs_f64(duration));
            let mut built = scenarios::driver::build(&cfg, seed);
            let bar = attach_sim_bar(&mut built.sim, scenarios::driver::horizon(&cfg), "twin");
            // The benchmark reports wall time by definition; nothing simulated reads it.
            #[allow(clippy::disallowed_methods)]
            let t0 = std::time::Instant::now();
            built.run();
            let wall_s = t0.elapsed().as_secs_f64();
            bar.finish_and_clear();
            let r = built.outcome(&cfg);
            println!("load,T,sent,delivered,lost,packet_hops,events,wall_s,packet_hops_per_s");
            println!(
                "{load},{duration},{},{},{},{},{},{wall_s:.4},{:.0}",
                r.oracle.sent,
                r.oracle.delivered,
                r.oracle.lost_packets_total(),
                r.packet_hops,
                r.events,
                r.packet_hops as f64 / wall_s
            );
            Ok(())
        }
    }
}
