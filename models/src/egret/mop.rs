//! The three Methods of Procedure of Egret section 2.2 as executed operator plans, and the same
//! jobs done through Egret's API, on one small device model, so that Table 3's operations and
//! state variables are counted from what runs, not typed in.
//!
//! A MOP is a list of [`Step`]s an operator carries out one by one. Every step is one
//! operation. A `Read*` step copies a value from a device into the operator's notebook: each
//! notebook entry is a *state variable* the operator must acquire and keep (Egret 2.5: "operators
//! need to maintain state variables for reverse traffic migrations"). Steps that restore a
//! value take it from the notebook, so a MOP whose notebook misses a value fails.
//!
//! Counting rules (ours; the paper does not define its counts): one device command, file line
//! edit, query or verification is one operation; health checks after each step (the paper's
//! footnote 1) are not counted, nor is the upgrade itself. Egret's operations are its API calls;
//! its state variables are the Table 1 parameters the operator supplies plus the mask ids it
//! returns.

use std::collections::{BTreeMap, BTreeSet};

use base::Time;

use super::{
    ConflictPolicy, DeviceConfig, Egret, EgretOutput, Filter, Intent, Nib, NodeType, FULL,
};

/// The devices both plans act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Devices {
    /// (router, link) -> OSPF weight.
    pub ospf: BTreeMap<(String, String), u16>,
    /// (router, CE) -> BGP session up.
    pub bgp: BTreeMap<(String, String), bool>,
    /// MME -> RelativeMmeCapacity.
    pub mme_capacity: BTreeMap<String, u8>,
    /// MME -> connected UEs.
    pub ues: BTreeMap<String, u64>,
    /// (site router, route) -> next-hop MME, while installed.
    pub static_routes: BTreeMap<(String, String), String>,
    /// (DNS file, zone) -> record weight (ppm of the file's answers).
    pub dns: BTreeMap<(String, String), u32>,
    /// Devices whose link is down (a what-if fault): a step that sends them something fails.
    pub unreachable: BTreeSet<String>,
}

/// A value an operator writes: a constant or one they wrote down earlier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Const(u64),
    Noted(String),
    /// A noted value divided by a constant (an even split).
    NotedDiv(String, u64),
}

/// One operator operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    ReadOspf { router: String, link: String },
    SetOspf { router: String, link: String, to: Val },
    VerifyDrained { router: String },
    SetBgp { router: String, ce: String, up: bool },
    ReadCapacity { mme: String },
    SetCapacity { mme: String, to: Val },
    ReadUes { mme: String },
    MoveUes { from: String, to: String, count: Val },
    ReadRoute { router: String, route: String },
    DeleteRoute { router: String, route: String },
    AddRoute { router: String, route: String, to: Val },
    ReadDns { file: String, zone: String },
    SetDns { file: String, zone: String, to: Val },
}

impl Step {
    /// Whether the step changes a device (a configuration pushed or UEs moved), as opposed to
    /// reading or verifying one.
    pub fn changes_device(&self) -> bool {
        !matches!(
            self,
            Step::ReadOspf { .. }
                | Step::VerifyDrained { .. }
                | Step::ReadCapacity { .. }
                | Step::ReadUes { .. }
                | Step::ReadRoute { .. }
                | Step::ReadDns { .. }
        )
    }

    /// Whether the step writes back a value from the notebook: the first such step of a MOP
    /// starts its reverse traffic migration (the device's change, the upgrade, comes before).
    pub fn restores(&self) -> bool {
        matches!(
            self,
            Step::SetOspf { to: Val::Noted(_), .. }
                | Step::SetCapacity { to: Val::Noted(_), .. }
                | Step::AddRoute { to: Val::Noted(_), .. }
                | Step::SetDns { to: Val::Noted(_), .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MopError {
    #[error("step {step}: the operator never noted `{key}`")]
    NotNoted { step: usize, key: String },
    #[error("step {step}: no such device entry `{what}`")]
    NoSuchEntry { step: usize, what: String },
    #[error("step {step}: verification failed: {what}")]
    VerifyFailed { step: usize, what: String },
    #[error("step {step}: `{device}` cannot be reached (its link is down)")]
    Unreachable { step: usize, device: String },
}

/// What executing a plan cost the operator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanCount {
    pub operations: u32,
    pub state_variables: u32,
}

/// Runs a MOP step by step. Returns the operator's counts.
pub fn execute(dev: &mut Devices, plan: &[Step]) -> Result<PlanCount, MopError> {
    let mut op = Operator::default();
    for (step, s) in plan.iter().enumerate() {
        op.step(dev, step, s)?;
    }
    Ok(PlanCount { operations: plan.len() as u32, state_variables: op.state_variables() })
}

/// An operator carrying out a MOP one step at a time, with the notebook of the values they
/// must keep (what-if rehearsals interleave the steps with faults).
#[derive(Clone, Debug, Default)]
pub struct Operator {
    notebook: BTreeMap<String, u64>,
    /// Route next hops are names; the notebook keeps them by index into this list.
    names: Vec<String>,
}

impl Operator {
    /// The notebook's entries: the state variables so far.
    pub fn state_variables(&self) -> u32 {
        self.notebook.len() as u32
    }

    /// Carries out step number `step` (its index, for errors) on the devices.
    pub fn step(&mut self, dev: &mut Devices, step: usize, s: &Step) -> Result<(), MopError> {
        let val = |v: &Val, nb: &BTreeMap<String, u64>| -> Result<u64, MopError> {
            match v {
                Val::Const(c) => Ok(*c),
                Val::Noted(k) => {
                    nb.get(k).copied().ok_or(MopError::NotNoted { step, key: k.clone() })
                }
                Val::NotedDiv(k, d) => {
                    nb.get(k).map(|x| x / d).ok_or(MopError::NotNoted { step, key: k.clone() })
                }
            }
        };
        let missing = |what: String| MopError::NoSuchEntry { step, what };
        match s {
            Step::ReadOspf { router, link } => {
                let v = dev
                    .ospf
                    .get(&(router.clone(), link.clone()))
                    .ok_or_else(|| missing(link.clone()))?;
                self.notebook.insert(format!("ospf/{router}/{link}"), *v as u64);
            }
            Step::SetOspf { router, link, to } => {
                let v = val(to, &self.notebook)? as u16;
                *dev.ospf
                    .get_mut(&(router.clone(), link.clone()))
                    .ok_or_else(|| missing(link.clone()))? = v;
            }
            Step::VerifyDrained { router } => {
                let up = dev.ospf.iter().any(|((r, _), &w)| r == router && w != super::OSPF_DRAIN);
                if up {
                    return Err(MopError::VerifyFailed {
                        step,
                        what: format!("{router} still carries traffic"),
                    });
                }
            }
            Step::SetBgp { router, ce, up } => {
                *dev.bgp
                    .get_mut(&(router.clone(), ce.clone()))
                    .ok_or_else(|| missing(ce.clone()))? = *up;
            }
            Step::ReadCapacity { mme } => {
                let v = dev.mme_capacity.get(mme).ok_or_else(|| missing(mme.clone()))?;
                self.notebook.insert(format!("capacity/{mme}"), *v as u64);
            }
            Step::SetCapacity { mme, to } => {
                let v = val(to, &self.notebook)? as u8;
                *dev.mme_capacity.get_mut(mme).ok_or_else(|| missing(mme.clone()))? = v;
            }
            Step::ReadUes { mme } => {
                let v = dev.ues.get(mme).ok_or_else(|| missing(mme.clone()))?;
                self.notebook.insert(format!("ues/{mme}"), *v);
            }
            Step::MoveUes { from, to, count } => {
                if dev.unreachable.contains(to) {
                    return Err(MopError::Unreachable { step, device: to.clone() });
                }
                let n = val(count, &self.notebook)?;
                let have = dev.ues.get_mut(from).ok_or_else(|| missing(from.clone()))?;
                let n = n.min(*have);
                *have -= n;
                *dev.ues.get_mut(to).ok_or_else(|| missing(to.clone()))? += n;
            }
            Step::ReadRoute { router, route } => {
                let hop = dev
                    .static_routes
                    .get(&(router.clone(), route.clone()))
                    .ok_or_else(|| missing(route.clone()))?;
                self.names.push(hop.clone());
                self.notebook
                    .insert(format!("route/{router}/{route}"), self.names.len() as u64 - 1);
            }
            Step::DeleteRoute { router, route } => {
                dev.static_routes
                    .remove(&(router.clone(), route.clone()))
                    .ok_or_else(|| missing(route.clone()))?;
            }
            Step::AddRoute { router, route, to } => {
                let i = val(to, &self.notebook)? as usize;
                dev.static_routes.insert((router.clone(), route.clone()), self.names[i].clone());
            }
            Step::ReadDns { file, zone } => {
                let v = dev
                    .dns
                    .get(&(file.clone(), zone.clone()))
                    .ok_or_else(|| missing(format!("{file}/{zone}")))?;
                self.notebook.insert(format!("dns/{file}/{zone}"), *v as u64);
            }
            Step::SetDns { file, zone, to } => {
                let v = val(to, &self.notebook)? as u32;
                *dev.dns
                    .get_mut(&(file.clone(), zone.clone()))
                    .ok_or_else(|| missing(format!("{file}/{zone}")))? = v;
            }
        }
        Ok(())
    }
}

/// The sites of Table 3, with the parameters we had to choose named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sites {
    /// The PE router's core links (ours: dual-homed to two P routers).
    pub pe_links: u32,
    /// The PE router's BGP sessions to CE routers (ours: two customer edges).
    pub pe_ces: u32,
    /// MMEs in the pool (Egret 2.3: MME-1 to MME-11).
    pub mmes: u32,
    /// Connected UEs per MME before the job (ours).
    pub ues_per_mme: u64,
    /// Static routes towards one MME: its S1-MME, S11 and S6a interfaces on each of two site
    /// routers (ours: 3 x 2).
    pub routes_per_mme: u32,
    /// Network zones (Egret 2.2.3: NZ1 to NZ6).
    pub zones: u32,
    /// DNS files per service (ours: the paper does not say how many files "a list of DNS
    /// files" is; one file per APN, 4 APNs per service).
    pub apns_per_service: u32,
}

impl Default for Sites {
    fn default() -> Self {
        Sites {
            pe_links: 2,
            pe_ces: 2,
            mmes: 11,
            ues_per_mme: 10_000,
            routes_per_mme: 6,
            zones: 6,
            apns_per_service: 4,
        }
    }
}

/// The services of MOP 2.2.3 and where they go: Phone, Broadband, VoLTE to NZ1, NZ3-NZ6;
/// Roaming to NZ3, NZ4.
pub const SERVICES: [&str; 4] = ["Phone", "Broadband", "VoLTE", "Roaming"];

fn zone(i: u32) -> String {
    format!("NZ{i}")
}

/// The name of pool member `i` (`MME-1` to `MME-11` in Egret 2.3).
pub fn mme(i: u32) -> String {
    format!("MME-{i}")
}

fn dns_file(service: &str, apn: u32) -> String {
    format!("{service}-apn{apn}")
}

fn dns_peers(service: &str, zones: u32) -> Vec<u32> {
    if service == "Roaming" {
        vec![3, 4]
    } else {
        (1..=zones).filter(|&z| z != 2).collect()
    }
}

impl Sites {
    /// The devices before any job.
    pub fn devices(&self) -> Devices {
        let mut d = Devices::default();
        for l in 0..self.pe_links {
            d.ospf.insert(("Router-1".into(), format!("core{l}")), 10 * (l as u16 + 1));
        }
        for c in 0..self.pe_ces {
            d.bgp.insert(("Router-1".into(), format!("CE-{c}")), true);
        }
        for m in 1..=self.mmes {
            d.mme_capacity.insert(mme(m), 255);
            d.ues.insert(mme(m), self.ues_per_mme);
            for r in 0..self.routes_per_mme {
                d.static_routes
                    .insert((format!("site{}", r % 2), format!("{}-if{}", mme(m), r / 2)), mme(m));
            }
        }
        let even = super::mask::apportion(FULL as u64, &vec![1; self.zones as usize]);
        for s in SERVICES {
            for a in 0..self.apns_per_service {
                for z in 1..=self.zones {
                    d.dns.insert((dns_file(s, a), zone(z)), even[z as usize - 1]);
                }
            }
        }
        d
    }

    /// The NIB Egret reads for the same devices.
    pub fn nib(&self) -> Nib {
        let mut n = Nib::new();
        let links = (0..self.pe_links).map(|l| (format!("core{l}"), 10 * (l as u16 + 1))).collect();
        n.add("Router-1", NodeType::Router { links });
        n.add("mme-pool", NodeType::MmePool);
        for m in 1..=self.mmes {
            n.add(&mme(m), NodeType::Function { stateful: true });
            n.link("mme-pool", &mme(m)).expect("invariant: both added");
        }
        n.add("alnapnrndns01", NodeType::DnsServer);
        for z in 1..=self.zones {
            n.add(&zone(z), NodeType::Zone);
            n.link("alnapnrndns01", &zone(z)).expect("invariant: both added");
        }
        n
    }

    /// MOP 2.2.1, traffic migration steps (1), (2), (3), (5), (6).
    pub fn mop_router(&self) -> Vec<Step> {
        let r = || "Router-1".to_string();
        let links: Vec<String> = (0..self.pe_links).map(|l| format!("core{l}")).collect();
        let ces: Vec<String> = (0..self.pe_ces).map(|c| format!("CE-{c}")).collect();
        let mut p = Vec::new();
        // (1) "Increase the OSPF weights on the PE router to 65535" (noting each, for (5))
        for l in &links {
            p.push(Step::ReadOspf { router: r(), link: l.clone() });
            p.push(Step::SetOspf {
                router: r(),
                link: l.clone(),
                to: Val::Const(super::OSPF_DRAIN as u64),
            });
        }
        // (2) "Verify that traffic is drained"
        p.push(Step::VerifyDrained { router: r() });
        // (3) "Shutdown BGP sessions to CE routers"
        for c in &ces {
            p.push(Step::SetBgp { router: r(), ce: c.clone(), up: false });
        }
        // (5) "Reset the OSPF weights on the PE router"
        for l in &links {
            p.push(Step::SetOspf {
                router: r(),
                link: l.clone(),
                to: Val::Noted(format!("ospf/Router-1/{l}")),
            });
        }
        // (6) "Re-establish BGP sessions with CE routers"
        for c in &ces {
            p.push(Step::SetBgp { router: r(), ce: c.clone(), up: true });
        }
        p
    }

    /// MOP 2.2.2, steps (1)-(4), (6), (7) for MME-1.
    pub fn mop_mme(&self) -> Vec<Step> {
        self.mop_mme_for(1)
    }

    /// MOP 2.2.2 for MME-`target`: its UEs go evenly to every other member of the pool.
    pub fn mop_mme_for(&self, target: u32) -> Vec<Step> {
        let t = mme(target);
        let mut p = vec![
            // (1) "Reduce RelativeMmeCapacity of the target MME to 0"
            Step::ReadCapacity { mme: t.clone() },
            Step::SetCapacity { mme: t.clone(), to: Val::Const(0) },
            // (2) "Verify that number of connected UEs is below threshold"
            Step::ReadUes { mme: t.clone() },
        ];
        // (3) "Move connected UEs to other MMEs in the pool": evenly (observation 4)
        for m in (1..=self.mmes).filter(|&m| m != target) {
            p.push(Step::MoveUes {
                from: t.clone(),
                to: mme(m),
                count: Val::NotedDiv(format!("ues/{t}"), self.mmes as u64 - 1),
            });
        }
        // (4) "Delete static routes towards the isolated MME" (noted, for (7))
        let routes: Vec<(String, String)> = (0..self.routes_per_mme)
            .map(|r| (format!("site{}", r % 2), format!("{t}-if{}", r / 2)))
            .collect();
        for (router, route) in &routes {
            p.push(Step::ReadRoute { router: router.clone(), route: route.clone() });
            p.push(Step::DeleteRoute { router: router.clone(), route: route.clone() });
        }
        // (6) "Reset RelativeMmeCapacity to its original value"
        p.push(Step::SetCapacity { mme: t.clone(), to: Val::Noted(format!("capacity/{t}")) });
        // (7) "Reinstall the static routes towards the target MME"
        for (router, route) in &routes {
            p.push(Step::AddRoute {
                router: router.clone(),
                route: route.clone(),
                to: Val::Noted(format!("route/{router}/{route}")),
            });
        }
        p
    }

    /// MOP 2.2.3: "Edit a list of DNS files": in every file of a moved service, NZ2's record
    /// is set to 0 and the receiving zones' records take its share evenly; the operator notes
    /// every record they change.
    pub fn mop_dns(&self, dev: &Devices) -> Vec<Step> {
        let mut p = Vec::new();
        for s in SERVICES {
            let peers = dns_peers(s, self.zones);
            for a in 0..self.apns_per_service {
                let f = dns_file(s, a);
                let changed: Vec<u32> = std::iter::once(2).chain(peers.iter().copied()).collect();
                for &z in &changed {
                    p.push(Step::ReadDns { file: f.clone(), zone: zone(z) });
                }
                let nz2 = dev.dns[&(f.clone(), zone(2))] as u64;
                let gives = super::mask::apportion(nz2, &vec![1; peers.len()]);
                p.push(Step::SetDns { file: f.clone(), zone: zone(2), to: Val::Const(0) });
                for (&z, g) in peers.iter().zip(gives) {
                    let now = dev.dns[&(f.clone(), zone(z))] as u64;
                    p.push(Step::SetDns {
                        file: f.clone(),
                        zone: zone(z),
                        to: Val::Const(now + g as u64),
                    });
                }
            }
        }
        p
    }
}

/// One row of Table 3: a job done by MOP and by Egret on the same devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table3Row {
    pub job: &'static str,
    pub mop: PlanCount,
    pub egret: PlanCount,
    /// Device configurations Egret pushed (automated, not operator work).
    pub egret_device_configs: u64,
    /// State moves Egret asked for (observation 3).
    pub egret_state_moves: u64,
}

/// Runs the three MOPs and the three Egret jobs, checks that both leave the devices the same
/// where they overlap, and counts.
pub fn table3(sites: &Sites) -> Result<Vec<Table3Row>, String> {
    let mut rows = Vec::new();
    // Router: drain and bring back.
    let mut dev = sites.devices();
    let mop = execute(&mut dev, &sites.mop_router()).map_err(|e| e.to_string())?;
    let mut e = Egret::new(sites.nib(), ConflictPolicy::Reject);
    let intent = Intent::target("Router-1");
    let given = intent.parameters_given();
    let id = e.add(Time::ZERO, intent, None).map_err(|e| e.to_string())?;
    let drained = configs(&mut e);
    e.revert(id).map_err(|e| e.to_string())?;
    let restored = configs(&mut e);
    check_ospf(&drained, super::OSPF_DRAIN)?;
    if restored.last() != Some(&DeviceConfig::OspfWeights(sites.nib_links())) {
        return Err("Egret did not restore the OSPF weights".into());
    }
    if dev != sites.devices() {
        return Err("the router MOP did not restore the devices".into());
    }
    rows.push(row("router", mop, &e, given));

    // MME: isolate MME-1, move its UEs, bring it back.
    let mut dev = sites.devices();
    let mop = execute(&mut dev, &sites.mop_mme()).map_err(|e| e.to_string())?;
    let mut e = Egret::new(sites.nib(), ConflictPolicy::Reject);
    e.manage("mme-pool", vec![1; sites.mmes as usize]).map_err(|e| e.to_string())?;
    let peers: Vec<String> = (2..=sites.mmes).map(mme).collect();
    let peer_refs: Vec<&str> = peers.iter().map(|s| s.as_str()).collect();
    let intent = Intent::target(&mme(1)).peers(&peer_refs).weights(&vec![10; peers.len()]);
    let given = intent.parameters_given();
    let id = e.add(Time::ZERO, intent, None).map_err(|e| e.to_string())?;
    let mut egret_dev = sites.devices();
    let at_start = egret_dev.ues.clone();
    for o in std::iter::from_fn(|| e.poll_output()) {
        apply(&mut egret_dev, o, &at_start);
    }
    e.revert(id).map_err(|e| e.to_string())?;
    for o in std::iter::from_fn(|| e.poll_output()) {
        apply(&mut egret_dev, o, &at_start);
    }
    if egret_dev.ues != dev.ues {
        return Err(format!(
            "MOP and Egret moved UEs differently: {:?} vs {:?}",
            dev.ues, egret_dev.ues
        ));
    }
    if egret_dev.mme_capacity != dev.mme_capacity {
        return Err("MOP and Egret left different MME capacities".into());
    }
    rows.push(row("mme", mop, &e, given));

    // DNS: move NZ2's services away (no reverse migration in the MOP).
    let mut dev = sites.devices();
    let plan = sites.mop_dns(&dev);
    let mop = execute(&mut dev, &plan).map_err(|e| e.to_string())?;
    let mut e = Egret::new(sites.nib(), ConflictPolicy::Reject);
    e.manage("alnapnrndns01", vec![1; sites.zones as usize]).map_err(|e| e.to_string())?;
    e.set_services("alnapnrndns01", &SERVICES).map_err(|e| e.to_string())?;
    // Egret 2.3: two intents, one per set of peers.
    let all: Vec<String> = dns_peers("Phone", sites.zones).into_iter().map(zone).collect();
    let all: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    let classes = |names: &[&str]| -> Vec<Filter> {
        names
            .iter()
            .map(|n| Filter::exact(SERVICES.iter().position(|s| s == n).expect("known") as u32))
            .collect()
    };
    let i1 = Intent::target("NZ2").peers(&all).filters(&classes(&["Phone", "Broadband", "VoLTE"]));
    let i2 = Intent::target("NZ2").peers(&["NZ3", "NZ4"]).filters(&classes(&["Roaming"]));
    let given = i1.parameters_given().max(i2.parameters_given());
    e.add(Time::ZERO, i1, None).map_err(|e| e.to_string())?;
    e.add(Time::ZERO, i2, None).map_err(|e| e.to_string())?;
    let mut egret_dev = sites.devices();
    for o in std::iter::from_fn(|| e.poll_output()) {
        apply_dns(&mut egret_dev, o, sites.apns_per_service);
    }
    if egret_dev.dns != dev.dns {
        return Err("MOP and Egret left different DNS records".into());
    }
    let mut r = row("dns", mop, &e, given);
    // No reverse migration: the operator need not keep the mask ids, but they are returned.
    r.egret.state_variables = given + 2;
    rows.push(r);
    Ok(rows)
}

impl Sites {
    fn nib_links(&self) -> Vec<(String, u16)> {
        (0..self.pe_links).map(|l| (format!("core{l}"), 10 * (l as u16 + 1))).collect()
    }
}

fn row(job: &'static str, mop: PlanCount, e: &Egret, given: u32) -> Table3Row {
    let s = e.stats();
    Table3Row {
        job,
        mop,
        egret: PlanCount { operations: s.api_calls as u32, state_variables: given + 1 },
        egret_device_configs: s.device_configs,
        egret_state_moves: s.state_moves,
    }
}

fn configs(e: &mut Egret) -> Vec<DeviceConfig> {
    std::iter::from_fn(|| e.poll_output())
        .filter_map(|o| match o {
            EgretOutput::Configure { config, .. } => Some(config),
            _ => None,
        })
        .collect()
}

fn check_ospf(cfgs: &[DeviceConfig], want: u16) -> Result<(), String> {
    match cfgs.last() {
        Some(DeviceConfig::OspfWeights(w)) if w.iter().all(|(_, c)| *c == want) => Ok(()),
        other => Err(format!("Egret did not drain the router: {other:?}")),
    }
}

/// Carries out an Egret output on the device model (MME pool); shares are of the UEs each
/// MME held when the job started.
fn apply(dev: &mut Devices, o: EgretOutput, at_start: &BTreeMap<String, u64>) {
    match o {
        EgretOutput::Configure { config: DeviceConfig::MmeCapacity(c), .. } => {
            for (m, v) in c {
                dev.mme_capacity.insert(m, v);
            }
        }
        EgretOutput::MoveState { src, dst, share } => {
            let n = at_start[&src] * share as u64 / FULL as u64;
            *dev.ues.get_mut(&src).expect("known MME") -= n;
            *dev.ues.get_mut(&dst).expect("known MME") += n;
        }
        _ => {}
    }
}

/// Carries out an Egret DNS configuration: every APN file of a service gets its records.
fn apply_dns(dev: &mut Devices, o: EgretOutput, apns: u32) {
    if let EgretOutput::Configure { config: DeviceConfig::DnsRecords(per_service), .. } = o {
        for (s, zones) in per_service {
            for a in 0..apns {
                for (z, w) in &zones {
                    dev.dns.insert((dns_file(&s, a), z.clone()), *w);
                }
            }
        }
    }
}

/// One point of the interleaving comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub k: u32,
    pub mop_minutes: f64,
    pub egret_minutes: f64,
    /// The most devices Egret had drained at once.
    pub egret_parallel: u32,
}

/// Times of the maintenance-window comparison (all ours; the paper gives none).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowTimes {
    /// One operator operation (a command typed and its health check), minutes.
    pub op_min: f64,
    /// The upgrade of one drained device, minutes.
    pub upgrade_min: f64,
    /// A member may carry at most this multiple of its base share (the pool's headroom).
    pub headroom: f64,
}

impl Default for WindowTimes {
    fn default() -> Self {
        WindowTimes { op_min: 1.0, upgrade_min: 30.0, headroom: 1.5 }
    }
}

/// Egret 2.5: "operators always perform operations sequentially even when there are multiple
/// devices in the same pool that need to be upgraded". The MOP upgrades `k` MMEs one after the
/// other, each costing its executed plan's operations; Egret interleaves jobs (add, upgrade,
/// revert), admitting a new job whenever the composed pool weights keep every member within
/// its headroom.
pub fn interleave(sites: &Sites, times: &WindowTimes, k: u32) -> Result<Window, String> {
    let n = sites.mmes;
    let mut dev = sites.devices();
    let per_device = execute(&mut dev, &sites.mop_mme()).map_err(|e| e.to_string())?.operations;
    let mop_minutes = k as f64 * (per_device as f64 * times.op_min + times.upgrade_min);

    let mut e = Egret::new(sites.nib(), ConflictPolicy::Reject);
    e.manage("mme-pool", vec![1; n as usize]).map_err(|e| e.to_string())?;
    let cap = (times.headroom * FULL as f64 / n as f64) as u32;
    let job_min = 2.0 * times.op_min + times.upgrade_min;
    let mut waiting: Vec<u32> = (1..=k).rev().collect();
    let mut running: Vec<(f64, super::MaskId)> = Vec::new();
    let mut now = 0.0f64;
    let mut parallel = 0u32;
    while !waiting.is_empty() || !running.is_empty() {
        // Admit jobs while the pool stays within its headroom.
        while let Some(&m) = waiting.last() {
            let id = e.add(Time::ZERO, Intent::target(&mme(m)), None).map_err(|e| e.to_string())?;
            if e.weights("mme-pool", 0).expect("managed").iter().any(|&w| w > cap) {
                e.revert(id).map_err(|e| e.to_string())?;
                break;
            }
            waiting.pop();
            running.push((now + job_min, id));
            parallel = parallel.max(running.len() as u32);
        }
        if running.is_empty() {
            return Err(format!("one drained MME alone exceeds the headroom of a pool of {n}"));
        }
        running.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (t, id) = running.remove(0);
        now = t;
        e.revert(id).map_err(|e| e.to_string())?;
    }
    Ok(Window { k, mop_minutes, egret_minutes: now, egret_parallel: parallel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table3_counts_come_from_the_plans() {
        let rows = table3(&Sites::default()).unwrap();
        let r = &rows[0];
        // 2 links x (read, raise, reset) + verify + 2 CEs x (down, up)
        assert_eq!(r.mop, PlanCount { operations: 11, state_variables: 2 });
        assert_eq!(r.egret, PlanCount { operations: 2, state_variables: 2 });
        let m = &rows[1];
        assert_eq!(m.egret.operations, 2);
        assert_eq!(m.egret.state_variables, 4);
        assert_eq!(m.egret_state_moves, 10);
        assert!(m.mop.operations > 2 * m.egret.operations);
        let d = &rows[2];
        assert_eq!(d.egret.operations, 2);
        assert!(d.mop.operations > 50);
    }

    /// The MME MOP costs what its steps say: `4 + P + 3R` operations (the capacity read, set
    /// and reset; the UE query; one move per peer; per static route a read, a delete and a
    /// reinstall) and `2 + R` state variables (the capacity, the UE count, the routes), for P
    /// peers and R routes per MME. With the paper's pool of 11 (P = 10), its "> 40" and "> 10"
    /// both hold from R = 9 on.
    #[test]
    fn mme_mop_counts_follow_its_steps() {
        for routes in [2, 6, 8, 9, 12] {
            for mmes in [3, 11] {
                let s = Sites { routes_per_mme: routes, mmes, ..Sites::default() };
                let c = execute(&mut s.devices(), &s.mop_mme()).unwrap();
                assert_eq!(c.operations, 4 + (mmes - 1) + 3 * routes, "R={routes}, n={mmes}");
                assert_eq!(c.state_variables, 2 + routes, "R={routes}, n={mmes}");
                if mmes == 11 {
                    let papers = c.operations > 40 && c.state_variables > 10;
                    assert_eq!(papers, routes >= 9, "R={routes}");
                }
            }
        }
    }

    /// The DNS MOP edits every file of a moved service: per file, the operator reads and
    /// sets NZ2's record and each receiving zone's (`2 (1 + peers)` operations, `1 + peers`
    /// state variables).
    #[test]
    fn dns_mop_counts_follow_its_steps() {
        for apns in [1, 4] {
            let s = Sites { apns_per_service: apns, ..Sites::default() };
            let dev = s.devices();
            let c = execute(&mut dev.clone(), &s.mop_dns(&dev)).unwrap();
            let per_apn: u32 =
                SERVICES.iter().map(|sv| 1 + dns_peers(sv, s.zones).len() as u32).sum();
            assert_eq!(c.operations, 2 * apns * per_apn);
            assert_eq!(c.state_variables, apns * per_apn);
        }
    }

    #[test]
    fn a_mop_missing_a_note_fails() {
        let s = Sites::default();
        let mut plan = s.mop_router();
        plan.retain(|st| !matches!(st, Step::ReadOspf { .. }));
        assert!(matches!(execute(&mut s.devices(), &plan), Err(MopError::NotNoted { .. })));
    }

    #[test]
    fn interleaving_is_bounded_by_headroom() {
        let s = Sites::default();
        let w = interleave(&s, &WindowTimes::default(), 6).unwrap();
        assert!(w.egret_parallel >= 2);
        assert!(w.egret_minutes < w.mop_minutes);
        let one = interleave(&s, &WindowTimes::default(), 1).unwrap();
        assert_eq!(one.egret_parallel, 1);
    }
}
