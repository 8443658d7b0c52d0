//! Builds the DPDK shim (`shim/nfw_dpdk.c`) when the `dpdk` feature is on.
//!
//! Flags come from `pkg-config libdpdk`, plus the two the `pkg-config` crate drops from
//! `--cflags` (`-include rte_config.h -march=corei7`; without them DPDK's headers fail with
//! "_mm_alignr_epi8: target specific option mismatch"). See `shared/dpdk-notes.md`.

fn main() {
    println!("cargo:rerun-if-changed=shim/nfw_dpdk.c");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_DPDK").is_none() {
        return;
    }
    let lib = match pkg_config::Config::new()
        .atleast_version("22.11")
        .cargo_metadata(false)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => panic!(
            "the `dpdk` feature needs Debian's libdpdk (22.11 or later) and pkg-config: \
             apt-get install libdpdk-dev pkg-config ({e})"
        ),
    };
    let mut cc = cc::Build::new();
    cc.file("shim/nfw_dpdk.c")
        .flag("-include")
        .flag("rte_config.h")
        .flag("-march=corei7")
        .warnings(true);
    for p in &lib.include_paths {
        cc.include(p);
    }
    for (k, v) in &lib.defines {
        cc.define(k, v.as_deref());
    }
    // The shim first, then the libraries it needs: with `--as-needed` a shared library named
    // before the object that uses it would be dropped.
    cc.compile("nfw_dpdk");
    for p in &lib.link_paths {
        println!("cargo:rustc-link-search=native={}", p.display());
    }
    for l in &lib.libs {
        println!("cargo:rustc-link-lib={l}");
    }
}
