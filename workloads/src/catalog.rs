//! The built-in catalog: CDFs copied into `workloads/data/` and embedded in the binary.
//!
//! Provenance of every file (source repository, commit, conversion) and the derivation of the
//! reconstructed `azure-wan` CDF are in `workloads/data/PROVENANCE.md`.

use std::path::Path;

use crate::cdf::{CdfError, FlowSizeDist};

/// One built-in distribution.
#[derive(Copy, Clone, Debug)]
pub struct CatalogEntry {
    /// The short name users type (`--dist websearch`).
    pub name: &'static str,
    /// The file under `workloads/data/`.
    pub file: &'static str,
    /// One line on where it comes from.
    pub source: &'static str,
    csv: &'static str,
}

impl CatalogEntry {
    /// The parsed distribution, named by its short name.
    pub fn dist(&self) -> FlowSizeDist {
        FlowSizeDist::parse(&format!("builtin:{}", self.file), self.csv)
            .expect("invariant: every built-in CDF is valid (tested)")
            .with_name(self.name)
    }
}

/// Every built-in distribution, in a fixed order.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "websearch",
        file: "websearch_dctcp_hpcc.csv",
        source: "DCTCP web search (Alizadeh et al. 2010), HPCC's WebSearch_distribution.txt",
        csv: include_str!("../data/websearch_dctcp_hpcc.csv"),
    },
    CatalogEntry {
        name: "fb-cache",
        file: "fb_cache_follower_homa.csv",
        source: "Facebook cache follower (Roy et al. 2015), HomaSimulation's table",
        csv: include_str!("../data/fb_cache_follower_homa.csv"),
    },
    CatalogEntry {
        name: "fb-hadoop",
        file: "fb_hadoop_hpcc.csv",
        source: "Facebook Hadoop (Roy et al. 2015), HPCC's FbHdp_distribution.txt",
        csv: include_str!("../data/fb_hadoop_hpcc.csv"),
    },
    CatalogEntry {
        name: "datamining",
        file: "datamining_vl2_pfabric.csv",
        source: "VL2 data mining (Greenberg et al. 2009), pFabric/PIAS CDF_vl2.tcl x 1460 B",
        csv: include_str!("../data/datamining_vl2_pfabric.csv"),
    },
    CatalogEntry {
        name: "azure-wan",
        file: "azure_wan_uhaul_reconstructed.csv",
        source: "reconstructed from the facts U-HAUL (sections 2, 4.2, 4.5) states about Azure WAN",
        csv: include_str!("../data/azure_wan_uhaul_reconstructed.csv"),
    },
];

/// The catalog entry called `name`, if any.
pub fn entry(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|e| e.name == name)
}

/// The built-in distribution called `name`, if any.
pub fn builtin(name: &str) -> Option<FlowSizeDist> {
    entry(name).map(CatalogEntry::dist)
}

/// The names users can type, comma-separated (for error messages).
pub fn names() -> String {
    CATALOG.iter().map(|e| e.name).collect::<Vec<_>>().join(", ")
}

/// Why `--dist NAME|FILE` could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum DistLookupError {
    #[error("`{given}` is neither a built-in distribution ({known}) nor an existing CSV file")]
    Unknown { given: String, known: String },
    #[error(transparent)]
    Cdf(#[from] CdfError),
}

/// Resolves a catalog name first, then a path to a `size_bytes,cdf` file.
pub fn resolve(name_or_path: &str) -> Result<FlowSizeDist, DistLookupError> {
    if let Some(d) = builtin(name_or_path) {
        return Ok(d);
    }
    let p = Path::new(name_or_path);
    if p.is_file() {
        return Ok(FlowSizeDist::from_path(p)?);
    }
    Err(DistLookupError::Unknown { given: name_or_path.to_string(), known: names() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_parses_and_names_are_unique() {
        for e in CATALOG {
            let d = e.dist();
            assert_eq!(d.name(), e.name);
            assert!(d.mean() > 0.0);
        }
        let mut n: Vec<_> = CATALOG.iter().map(|e| e.name).collect();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), CATALOG.len());
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = resolve("websarch").unwrap_err();
        assert!(e.to_string().contains("websearch, fb-cache"), "{e}");
    }
}
