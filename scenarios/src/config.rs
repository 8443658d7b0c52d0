//! A validated scenario: what `spec` (the TOML file) becomes after every check, and what the
//! sim driver builds a simulation from. Nothing here can be wrong: names are resolved to
//! indices, units to `Dur`/`Bps`, and every default is filled in.
//!
//! The file format and its defaults (with their sources) are in `docs/scenarios.md`.

use base::{Bps, Dur, Time};
use models::controller::ControllerConfig;
use models::nf::NfConfig;
use models::opennf::OpenNfConfig;
use models::reroute::RerouteConfig;
use models::switch::{Action, Match, SwitchConfig};
use workloads::FlowSizeDist;

/// Index into [`ScenarioConfig::nodes`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeIdx(pub u32);

/// Index into [`ScenarioConfig::links`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkIdx(pub u32);

/// The control channel's jitter (`[controller] control_jitter`, `control_ordered`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ControlJitter {
    /// Each message takes `control_latency` plus a delay drawn uniformly in `[0, max]`.
    pub max: Dur,
    /// Each sender's messages to one peer arrive in sending order (a TCP connection); when
    /// `false`, a message may overtake an earlier one.
    pub ordered: bool,
}

#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    pub name: String,
    /// Master seed of the first replication; replication `i` uses `seed + i`.
    pub seed: u64,
    pub replications: u32,
    /// Sources start flows during `[0, duration)`.
    pub duration: Dur,
    /// After `duration`, the run goes on until the network is empty, but no longer than this
    /// past `duration` (a guard against a scenario that never drains).
    pub drain_limit: Dur,
    /// Every node; a node's index is its `NodeIdx` (and its `models::NodeId`).
    pub nodes: Vec<NodeConfig>,
    pub links: Vec<LinkConfig>,
    /// One latency from the controller to every switch and NF instance (each way).
    pub control_latency: Dur,
    /// A random extra delay per control message (`None`: every message takes exactly
    /// `control_latency`).
    pub control_jitter: Option<ControlJitter>,
    pub workloads: Vec<WorkloadConfig>,
    pub protocol: ProtocolConfig,
    /// Sorted by time (stable: file order among equal times).
    pub timeline: Vec<TimelineEvent>,
    pub metrics: MetricsConfig,
}

/// Which results to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// The metrics written to the tidy CSV (`None`: all of `driver::METRIC_NAMES`).
    pub record: Option<Vec<String>>,
    /// Also write the controller buffer's occupancy over time, per replication.
    pub controller_buffer_series: bool,
    /// Also measure the one-way delay of the packets sent during `[from, to)` (e.g. during a
    /// move): metrics `window_mean_delay_us` and `window_pkts`, and, with a move in the
    /// timeline, the same split by what became of each packet (HotMiddlebox 6.1's cases):
    /// `window_{src_output,reprocessed,dst_only}_pkts` and `window_mean_delay_<case>_us`
    /// (see `driver::results::window_paths`). Set by code (reproduce targets), not by
    /// scenario files.
    pub delay_window: Option<(Time, Time)>,
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub name: String,
    pub kind: NodeKind,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A traffic source; what it sends is given by the `workloads` naming it.
    Source,
    /// The receiving host and the oracle's receiver.
    Sink,
    Switch(SwitchNode),
    Nf(NfConfig),
    Controller(ControllerConfig),
}

#[derive(Clone, Debug)]
pub struct SwitchNode {
    pub config: SwitchConfig,
    /// The ingress switch records each flow's arrival order for the oracle. Default: the
    /// switches adjacent to a source.
    pub ingress: bool,
    /// Installed before the run.
    pub rules: Vec<RuleConfig>,
}

/// A rule as the file names it; the driver turns neighbour names into port numbers.
#[derive(Clone, Debug)]
pub struct RuleConfig {
    pub name: String,
    pub priority: u16,
    /// The match without its in-port; `in_from` gives the in-port by neighbour.
    pub matcher: Match,
    /// Match packets arriving from this neighbour (`None`: any port).
    pub in_from: Option<NodeIdx>,
    pub actions: Vec<RuleAction>,
    pub idle_timeout: Option<Dur>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleAction {
    /// Out of the port facing this neighbour.
    OutputTo(NodeIdx),
    /// Any other action (to-controller, duplicate, set-tag, drop).
    Other(Action),
}

/// A full-duplex link: two one-way links with the same parameters. Ports are numbered on each
/// switch in the order its links appear in the file, from 0.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    pub a: NodeIdx,
    pub b: NodeIdx,
    pub rate: Bps,
    pub delay: Dur,
    pub max_waiting_pkts: Option<u32>,
    pub max_waiting_bytes: Option<u64>,
    pub loss: f64,
}

/// What a source sends.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    pub source: NodeIdx,
    pub flows: FlowSource,
    pub mtu: u32,
    /// Each flow's open-loop pacing rate (default: the rate of the source's link).
    pub flow_rate: Bps,
    /// How the source spaces the packets of its flows.
    pub pacing: SourcePacing,
}

/// How a source spaces its flows' packets (`docs/workloads.md`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SourcePacing {
    /// Every flow at its own `flow_rate`, whatever the others do (`workloads::Packetizer`).
    #[default]
    OpenLoop,
    /// The source's flows share its link round robin, with an optional slow start
    /// (`workloads::FairShare`; `flow_rate` is not used). Every workload of the source must
    /// use the same.
    FairShare { slow_start: Option<workloads::SlowStart> },
}

#[derive(Clone, Debug)]
pub enum FlowSource {
    /// Poisson arrivals at `load` of `reference` (default: the source's link rate), sizes from
    /// `dist`; the streams are `"workload/<source>/arrivals"` and `".../sizes"`.
    Generated { dist: FlowSizeDist, load: f64, reference: Bps },
    /// A trace file's flows, starting at their recorded times.
    Trace { path: std::path::PathBuf, flows: Vec<workloads::Flow> },
}

#[derive(Clone, Debug)]
pub enum ProtocolConfig {
    Reroute(RerouteConfig),
    /// OpenNF's move (and, without parallelizing and LLER, Split/Merge's).
    OpenNf(OpenNfConfig),
    /// U-HAUL's `moveElephant` over OpenNF's per-flow moves (built in code; no scenario key).
    Uhaul(models::uhaul::UhaulConfig),
    /// SHarP's handover: the controller side, and the handover support layer every NF
    /// instance then runs.
    Sharp(models::sharp::SharpConfig, models::sharp::HslConfig),
    /// E2's migration avoidance (section 5.4): a move splits `src`'s flow-ID space, the top
    /// `share` going to `dst`, affinity kept; `src`'s server runs an E2D and the move's switch
    /// gets the tunnel rule for the E2D's detour.
    E2MigrationAvoidance(models::e2::avoidance::E2AvoidanceConfig),
}

impl ProtocolConfig {
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolConfig::Reroute(_) => "reroute",
            ProtocolConfig::OpenNf(c) if !(c.parallelize || c.early_release || c.late_locking) => {
                "split-merge"
            }
            ProtocolConfig::OpenNf(_) => "opennf",
            ProtocolConfig::Uhaul(_) => "uhaul",
            ProtocolConfig::Sharp(..) => "sharp",
            ProtocolConfig::E2MigrationAvoidance(_) => "e2-migration-avoidance",
        }
    }
}

#[derive(Clone, Debug)]
pub struct TimelineEvent {
    pub at: Time,
    pub what: TimelineAction,
}

#[derive(Clone, Debug)]
pub enum TimelineAction {
    /// Move the flows matching `flows` from NF `src` to NF `dst` with the scenario's protocol.
    Move {
        flows: Match,
        src: NodeIdx,
        dst: NodeIdx,
    },
    LinkDown(LinkIdx),
    LinkUp(LinkIdx),
    NfFail(NodeIdx),
    NfRestore(NodeIdx),
    /// From now on, the source's generated workload offers `load` (of its reference rate).
    SetLoad {
        source: NodeIdx,
        load: f64,
    },
    /// A configuration pushed to a switch by a controller outside the scenario's protocol
    /// (Egret's configuration execution): the rule changes reach the switch after the control
    /// latency, as one batch. Set by code (reproduce targets), not by scenario files.
    SwitchRules {
        switch: NodeIdx,
        mods: Vec<models::switch::FlowMod>,
    },
}

impl ScenarioConfig {
    pub fn node(&self, i: NodeIdx) -> &NodeConfig {
        &self.nodes[i.0 as usize]
    }

    pub fn find(&self, name: &str) -> Option<NodeIdx> {
        self.nodes.iter().position(|n| n.name == name).map(|i| NodeIdx(i as u32))
    }

    /// The controller's index, if the scenario has one.
    pub fn controller(&self) -> Option<NodeIdx> {
        self.nodes
            .iter()
            .position(|n| matches!(n.kind, NodeKind::Controller(_)))
            .map(|i| NodeIdx(i as u32))
    }
}
