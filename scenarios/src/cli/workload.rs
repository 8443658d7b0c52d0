//! `nftwin workload`: generate flow traces and print workload statistics.
//!
//! - `gen`: Poisson flow arrivals at a load of a link, sizes from a catalog entry or a CDF
//!   file, written as a trace CSV (through a temporary file renamed into place).
//! - `stats`: for a distribution, its exact mean, median, p99 and byte shares; for a trace,
//!   its flows, offered load, mean size and time-average active flows under open-loop pacing.
//! - `list`: the built-in catalog.
//!
//! Formats and models: `docs/workloads.md`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use sim_core::{Bps, Dur, RngStreams};
use workloads::{
    arrival_rate, catalog, trace, ArrivalParams, Arrivals, FlowSizeDist, Pacing, Packetizer, Trace,
    TraceMeta, CATALOG,
};

#[derive(Debug, Args)]
pub struct WorkloadArgs {
    #[command(subcommand)]
    pub which: Workload,
}

#[derive(Debug, Subcommand)]
pub enum Workload {
    /// Generate a flow trace: Poisson arrivals offering LOAD of a link of GBPS.
    #[command(allow_negative_numbers = true)]
    Gen {
        /// A built-in distribution (see `nftwin workload list`) or a `size_bytes,cdf` CSV file.
        #[arg(long)]
        dist: String,
        /// Offered load as a fraction of the link (0 < L <= 10; 1.0 = the link's capacity).
        #[arg(long)]
        load: f64,
        /// The link rate the load refers to, in Gbit/s.
        #[arg(long, default_value_t = 10.0)]
        link_gbps: f64,
        /// Seconds during which flows start.
        #[arg(long, default_value_t = 1.0)]
        duration: f64,
        /// Master seed (same seed, same bytes).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the trace CSV.
        #[arg(long)]
        out: PathBuf,
    },
    /// Statistics of a distribution (NAME or CDF FILE) or of a trace CSV.
    #[command(allow_negative_numbers = true)]
    Stats {
        /// A built-in name, a `size_bytes,cdf` file, or a trace written by `workload gen`.
        target: String,
        /// For a trace: the link rate in Gbit/s (default: from the trace's metadata).
        #[arg(long)]
        link_gbps: Option<f64>,
        /// For a trace: seconds the trace covers (default: from the trace's metadata).
        #[arg(long)]
        duration: Option<f64>,
        /// For a trace: the per-flow open-loop sending rate in Gbit/s (default: the link rate).
        #[arg(long)]
        flow_gbps: Option<f64>,
        /// For a trace: the MTU in bytes used to cut flows into packets.
        #[arg(long, default_value_t = workloads::DEFAULT_MTU)]
        mtu: u32,
    },
    /// The built-in distributions.
    List,
}

pub fn run(args: WorkloadArgs) -> Result<()> {
    match args.which {
        Workload::Gen { dist, load, link_gbps, duration, seed, out } => {
            gen(&dist, load, link_gbps, duration, seed, &out)
        }
        Workload::Stats { target, link_gbps, duration, flow_gbps, mtu } => {
            stats(&target, link_gbps, duration, flow_gbps, mtu)
        }
        Workload::List => {
            for e in CATALOG {
                let d = e.dist();
                println!("{:<11} mean {:>10.0} B  {}  [{}]", e.name, d.mean(), e.source, e.file);
            }
            Ok(())
        }
    }
}

fn gbps(flag: &str, g: f64) -> Result<Bps> {
    if !(1e-9..=10_000.0).contains(&g) {
        bail!("{flag} is in Gbit/s and must be in [1e-9, 10000] (at least 1 bit/s), got {g} (e.g. {flag} 10)");
    }
    Ok(Bps((g * 1e9).round() as u64))
}

fn seconds(flag: &str, s: f64) -> Result<Dur> {
    if !(s.is_finite() && s > 0.0 && s <= 86_400.0) {
        bail!("{flag} is in seconds and must be in (0, 86400], got {s} (e.g. {flag} 10)");
    }
    Ok(Dur::from_secs_f64(s))
}

fn gen(dist: &str, load: f64, link_gbps: f64, duration: f64, seed: u64, out: &Path) -> Result<()> {
    if !(load.is_finite() && load > 0.0 && load <= 10.0) {
        bail!(
            "--load is a fraction of the link and must be in (0, 10], got {load} (e.g. --load 0.8)"
        );
    }
    let link = gbps("--link-gbps", link_gbps)?;
    let duration = seconds("--duration", duration)?;
    let d = catalog::resolve(dist)?;
    let params = ArrivalParams { load, link, duration };
    let flows = Arrivals::new(&d, &params, &RngStreams::new(seed))?;
    let meta = TraceMeta { dist: dist.to_string(), load, link, duration, seed };
    // Streamed to the file: a long trace is never held in memory.
    let n = trace::write_flows_file(out, Some(&meta), flows)?;
    let offered = n.bytes as f64 * 8.0 / (link.0 as f64 * duration.as_secs_f64());
    println!(
        "wrote {} flows to {} (offered load {offered:.4}, target {load})",
        n.flows,
        out.display()
    );
    Ok(())
}

/// Whether a file is a CDF or a trace, from its first line that is not blank or a comment.
fn looks_like_trace(path: &Path) -> Result<bool> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l) if l == trace::HEADER => Ok(true),
        Some("size_bytes,cdf") => Ok(false),
        _ => bail!(
            "{}: neither a flow-size CDF (header `size_bytes,cdf`) nor a trace (header `{}`)",
            path.display(),
            trace::HEADER
        ),
    }
}

fn stats(
    target: &str,
    link_gbps: Option<f64>,
    duration: Option<f64>,
    flow_gbps: Option<f64>,
    mtu: u32,
) -> Result<()> {
    let path = Path::new(target);
    if catalog::entry(target).is_none() && path.is_file() && looks_like_trace(path)? {
        return trace_stats(path, link_gbps, duration, flow_gbps, mtu);
    }
    dist_stats(&catalog::resolve(target)?);
    Ok(())
}

fn dist_stats(d: &FlowSizeDist) {
    println!("distribution          {}", d.name());
    println!("rows                  {}", d.rows().count());
    println!("mean_bytes            {:.0}", d.mean());
    println!("median_bytes          {:.0}", d.quantile(0.5));
    println!("p99_bytes             {:.0}", d.quantile(0.99));
    println!("max_bytes             {:.0}", d.max());
    for mb in [1u32, 3, 10] {
        let key = format!("bytes_above_{mb}mb_pct");
        println!("{key:<21} {:.1}", 100.0 * d.byte_fraction_above(f64::from(mb) * 1e6));
    }
    let ten_g = Bps(10_000_000_000);
    println!(
        "flows_per_s_at_10g    {:.1}  (load 1.0 of 10 Gbit/s)",
        arrival_rate(1.0, ten_g, d.mean())
    );
}

fn trace_stats(
    path: &Path,
    link_gbps: Option<f64>,
    duration: Option<f64>,
    flow_gbps: Option<f64>,
    mtu: u32,
) -> Result<()> {
    let t = Trace::from_path(path)?;
    let link = match (link_gbps, &t.meta) {
        (Some(g), _) => gbps("--link-gbps", g)?,
        (None, Some(m)) => m.link,
        (None, None) => bail!(
            "{}: the trace has no metadata; pass --link-gbps G and --duration S",
            path.display()
        ),
    };
    let horizon = match (duration, &t.meta) {
        (Some(s), _) => seconds("--duration", s)?,
        (None, Some(m)) => m.duration,
        (None, None) => bail!(
            "{}: the trace has no metadata; pass --link-gbps G and --duration S",
            path.display()
        ),
    };
    let rate = match flow_gbps {
        Some(g) => gbps("--flow-gbps", g)?,
        None => link,
    };
    if mtu == 0 {
        bail!("--mtu must be a positive number of bytes, got 0 (e.g. --mtu 1500)");
    }
    let pk = Packetizer::new(mtu, Pacing::OpenLoop { rate });
    let n = t.flows.len();
    println!("trace                 {}", path.display());
    if let Some(m) = &t.meta {
        println!("generated_from        dist {} load {} seed {}", m.dist, m.load, m.seed);
    }
    println!("flows                 {n}");
    println!("duration_s            {}", horizon.as_secs_f64());
    println!("link_gbps             {}", link.0 as f64 / 1e9);
    println!("offered_load          {:.4}", t.offered_load(link, horizon));
    let mean = if n == 0 { 0.0 } else { t.total_bytes() as f64 / n as f64 };
    println!("mean_size_bytes       {mean:.0}");
    println!("flows_per_s           {:.1}", n as f64 / horizon.as_secs_f64());
    println!(
        "pacing                open-loop at {} Gbit/s per flow, MTU {mtu} B",
        rate.0 as f64 / 1e9
    );
    println!("time_avg_active_flows {:.3}", pk.time_avg_active(&t.flows, horizon));
    Ok(())
}
