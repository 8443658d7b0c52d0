//! # live-bridge: nftwin's live driver
//!
//! Runs the same `models` logic as the twin on real hosts: each host (traffic source, switch,
//! NF instance, sink) is one process (`nftwin-host`) in its own network namespace, with one
//! DPDK port (`net_af_packet` on a veth end) per link, exchanging real Ethernet/IPv4/UDP
//! frames written by `models::wire`.
//!
//! ```text
//!   nftwin live / tests ── Lab ──► ip netns add, ip link add veth ...
//!        │                  └────► ip netns exec <ns> nftwin-host <EAL args> -- --role R ...
//!        │                                 │  stdout: READY, RESULT k=v ...; stderr: log
//!        ▼                                 ▼
//!   reports, comparison        source ══veth══ switch ══veth══ sink     (DPDK af_packet ports)
//! ```
//!
//! - [`lab`]: namespaces, veths, host processes, and teardown that always runs (drop, error,
//!   Ctrl-C, host crash).
//! - [`roles`]: what the source and the sink compute (pacing, the oracle's receiver), free of
//!   DPDK; the switch role is `models::switch::Switch`.
//! - [`control`]: the control channel (a Unix socket, a fresh random token per run, a log of
//!   every message with its wall-clock time).
//! - [`reroute`]: the `models` controller (reroute baseline) live, over the control channel,
//!   with its log; [`replay`] re-drives the controller from that log.
//! - [`ctrlmsg`]: the text form of the controller's messages, packets and peer messages.
//! - [`nfhost`]: the NF instance role (`models::nf::Nf` behind SHarP's HSL), free of DPDK.
//! - [`opennf`]: OpenNF's loss-free move of every flow between two NF hosts, live.
//! - [`sharp`]: SHarP's Figure 1 testbed live, the `models` SHarP controller driving both
//!   switch hosts.
//! - [`forward`]: the sustained-forwarding measurement (source, switch, sink).
//! - `dpdk` (feature `dpdk`): the FFI to the C shim `shim/nfw_dpdk.c`, the only `unsafe` of
//!   the workspace besides [`sys`] (root check, signals).
//!
//! Everything here may read the wall clock: it is the live side.

#![deny(unsafe_code)]

pub mod clock;
pub mod control;
pub mod ctrlmsg;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod forward;
pub mod lab;
pub mod nfhost;
pub mod opennf;
pub mod replay;
pub mod reroute;
pub mod roles;
pub mod sharp;
pub mod sys;

/// Was this crate built with the DPDK shim?
pub const HAS_DPDK: bool = cfg!(feature = "dpdk");
