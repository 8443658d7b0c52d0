//! `nftwin validate FILE...`: parse and check scenario files.
//!
//! Prints `FILE: ok (N nodes, M links, K sweep points)` (and, for an `[e2]` policy, the
//! ambiguity check's result) for a valid file and every diagnostic
//! (`file:line:col: error: ...` and a `help:` line) for an invalid one. Fails if any file is
//! invalid, after checking them all.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use scenarios::spec;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files (TOML; see docs/scenarios.md).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: ValidateArgs) -> Result<()> {
    let mut bad = 0usize;
    for file in &args.files {
        // A policy file (`[e2]`, no `[[nodes]]`) is checked as one; see docs/scenarios.md.
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if spec::e2::is_policy_file(&text) {
            match spec::e2::load(file) {
                Ok(p) => println!("{}: ok ({})", file.display(), p.summary()),
                Err(e) => {
                    bad += 1;
                    eprintln!("{e}");
                }
            }
            continue;
        }
        match spec::load(file) {
            Ok(s) => {
                println!(
                    "{}: ok ({} nodes, {} links, {} sweep points)",
                    file.display(),
                    s.config.nodes.len(),
                    s.config.links.len(),
                    s.sweep.len()
                );
                if let Some(p) = &s.e2 {
                    println!("  {}", p.summary());
                }
            }
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        bail!("{bad} of {} scenario files are invalid", args.files.len());
    }
    Ok(())
}
