//! Rehearsing a device job of Egret section 2.2 in time, with faults: the MOP's steps or the
//! Egret jobs are carried out one after the other on the device model of [`super::mop`], each
//! taking a duration the caller draws, while the faults happen at their times. Every count is
//! of what ran: the steps the operator executed (and redid), the notebook they kept, the
//! configurations Egret emitted.
//!
//! ```text
//! caller --durations (draw), faults--> rehearse
//!   MOP:   step, step, ... (a step towards an unreachable MME fails: the operator redoes (3))
//!          upgrade (fails to come back? +rollback) step, ... (reverse steps from the notebook)
//!   Egret: add --Configure/MoveState--> upgrade (+rollback) revert --Configure-->
//!          link down/up --handle_link: base update, every mask reapplied--> Configure
//!   interleaved Egret: a job is admitted when the pool, with its masks and failed links,
//!          keeps every member within `headroom` times its base share
//! ```
//!
//! The two faults (ours: the paper names the failures, not their timing):
//! - **A pool member's link goes down** ([`DeviceFault::PeerLinkDown`]) for a while: Egret
//!   3.2.3, "a failure happens rendering the existing configuration obsolete (e.g. the number
//!   of available ports decreases because of a failed link)": Egret updates the base and
//!   reapplies every mask. The MOP's operator finds out when a step fails: moving UEs
//!   (MOP 2.2.2 step (3)) to an unreachable MME; they re-query the target's UEs and move them
//!   evenly over the members they can reach (observation 4), instead of the remaining moves.
//! - **The upgraded device fails to come back** ([`DeviceFault::UpgradeFails`]): the first
//!   device, in the job's order, whose upgrade has not finished by the fault's time is rolled
//!   back to its old software, which takes `rollback` minutes, while it stays drained; then
//!   traffic comes back as planned: the MOP's reverse steps from the operator's notebook, or
//!   Egret's `revert(id)`. A job that holds its drain longer holds the pool's headroom longer.
//!
//! Egret 2.5 on why this matters: "externally maintained states ... leave operators
//! susceptible to run-time failures".

use base::Time;

use super::mop::{self, Devices, MopError, Operator, Sites, Step, Val};
use super::{ConflictPolicy, Egret, EgretOutput, Intent, MaskId, FULL};

/// The jobs a what-if plan rehearses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeviceJob {
    /// Egret 2.2.1: drain Router-1, upgrade it, bring its traffic back.
    PeRouterDrain,
    /// Egret 2.2.2: isolate an MME from its pool, upgrade it, bring it back; MME-1, MME-2, ...
    MmeUpgrade,
}

/// How the job is carried out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Procedure {
    /// The operators' MOP, step by step, one device after the other (Egret 2.5: "operators
    /// always perform operations sequentially").
    Mop,
    /// Egret jobs (add, upgrade, revert), one device after the other.
    Egret,
    /// Egret jobs side by side on the MME pool (Egret 3.2.1, job interleaving).
    EgretInterleaved,
}

/// A fault rehearsed during the window; times in minutes from the window's start.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceFault {
    /// The link between the MME pool and member `mme` (its number) is down over
    /// `[at_min, at_min + down_min)`.
    PeerLinkDown { mme: u32, at_min: f64, down_min: f64 },
    /// The first device whose upgrade has not finished by `at_min` fails to come back and is
    /// rolled back to its old software in `rollback_min`.
    UpgradeFails { at_min: f64, rollback_min: f64 },
}

/// What the caller draws a duration for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Draw {
    /// One operator operation (a MOP step or an Egret API call) and its health check.
    Operation,
    /// The upgrade of one drained device.
    Upgrade,
}

/// What a rehearsal counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rehearsal {
    pub window_min: f64,
    /// Operations carried out (MOP steps, failed and redone ones included; Egret API calls).
    pub operations: u32,
    /// The same procedure's operations without faults.
    pub planned_operations: u32,
    /// Values the operator noted and kept (MOP) or Egret's intent parameters and mask ids.
    pub state_variables: u32,
    /// Most devices drained at once.
    pub parallel_devices: u32,
    /// Configurations pushed to devices: the MOP's steps that change a device (UE moves
    /// included); Egret's `Configure` and `MoveState` outputs (base updates included).
    pub device_configs: u32,
    /// Devices whose upgrade failed and were rolled back.
    pub rollbacks: u32,
}

/// Rehearses `k` devices of `job` by `procedure`. `draw` gives each operation's and each
/// upgrade's duration in minutes, called in the order they happen.
pub fn rehearse(
    sites: &Sites,
    job: DeviceJob,
    k: u32,
    procedure: Procedure,
    headroom: f64,
    faults: &[DeviceFault],
    draw: &mut dyn FnMut(Draw) -> f64,
) -> Result<Rehearsal, String> {
    let links = link_events(sites, job, k, faults)?;
    let mut fails = UpgradeFailure::new(faults);
    match procedure {
        Procedure::Mop => mop_sequential(sites, job, k, &links, &mut fails, draw),
        Procedure::Egret => egret_sequential(sites, job, k, &links, &mut fails, draw),
        Procedure::EgretInterleaved => {
            if job != DeviceJob::MmeUpgrade {
                return Err("interleaving is modelled for the MME pool only".into());
            }
            egret_interleaved(sites, k, headroom, &links, &mut fails, draw)
        }
    }
}

/// A link going down or up: (minute, member, up).
type LinkEvent = (f64, u32, bool);

fn link_events(
    sites: &Sites,
    job: DeviceJob,
    k: u32,
    faults: &[DeviceFault],
) -> Result<Vec<LinkEvent>, String> {
    let mut down: Vec<(u32, f64, f64)> = Vec::new();
    for f in faults {
        if let DeviceFault::PeerLinkDown { mme, at_min, down_min } = *f {
            if job != DeviceJob::MmeUpgrade {
                return Err("a link-down fault is modelled for the MME pool's members only".into());
            }
            if mme <= k || mme > sites.mmes {
                return Err(format!(
                    "MME-{mme} is not a pool member the job leaves in service (MME-{} to MME-{})",
                    k + 1,
                    sites.mmes
                ));
            }
            down.push((mme, at_min, at_min + down_min));
        }
    }
    // Overlapping failures of one link are one outage: it is up again when the last ends.
    down.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut merged: Vec<(u32, f64, f64)> = Vec::new();
    for (m, from, to) in down {
        match merged.last_mut() {
            Some(last) if last.0 == m && from <= last.2 => last.2 = last.2.max(to),
            _ => merged.push((m, from, to)),
        }
    }
    let mut ev: Vec<LinkEvent> =
        merged.iter().flat_map(|&(m, from, to)| [(from, m, false), (to, m, true)]).collect();
    ev.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(ev)
}

fn down_at(links: &[LinkEvent], t: f64) -> Vec<u32> {
    let mut down: Vec<u32> = Vec::new();
    for &(_, m, up) in links.iter().take_while(|e| e.0 <= t) {
        if up {
            down.retain(|&x| x != m);
        } else if !down.contains(&m) {
            down.push(m);
        }
    }
    down
}

/// Which upgrade fails: the first, in the job's order, not finished by the fault's time.
struct UpgradeFailure {
    pending: Vec<(f64, f64)>,
}

impl UpgradeFailure {
    fn new(faults: &[DeviceFault]) -> Self {
        let pending = faults
            .iter()
            .filter_map(|f| match *f {
                DeviceFault::UpgradeFails { at_min, rollback_min } => Some((at_min, rollback_min)),
                _ => None,
            })
            .collect();
        UpgradeFailure { pending }
    }

    /// An upgrade ending at `end`: the rollback it needs (0 if none), and consumes the fault.
    fn rollback(&mut self, end: f64) -> f64 {
        match self.pending.iter().position(|&(at, _)| end > at) {
            Some(i) => self.pending.remove(i).1,
            None => 0.0,
        }
    }
}

/// The MOP of a job for device `i` (1-based).
fn mop_plan(sites: &Sites, job: DeviceJob, i: u32) -> Vec<Step> {
    match job {
        DeviceJob::PeRouterDrain => sites.mop_router(),
        DeviceJob::MmeUpgrade => sites.mop_mme_for(i),
    }
}

fn mop_sequential(
    sites: &Sites,
    job: DeviceJob,
    k: u32,
    links: &[LinkEvent],
    fails: &mut UpgradeFailure,
    draw: &mut dyn FnMut(Draw) -> f64,
) -> Result<Rehearsal, String> {
    let mut dev = sites.devices();
    let mut r = Rehearsal { parallel_devices: 1, ..Rehearsal::default() };
    let mut now = 0.0;
    for i in 1..=k {
        let plan = mop_plan(sites, job, i);
        r.planned_operations += plan.len() as u32;
        let upgrade_at = plan.iter().position(Step::restores).unwrap_or(plan.len());
        let mut op = Operator::default();
        let mut todo: std::collections::VecDeque<Step> =
            plan[..upgrade_at].iter().cloned().collect();
        run_steps(&mut op, &mut dev, &mut todo, links, &mut now, &mut r, draw)?;
        // (4)/(5): the upgrade; the device stays drained through a rollback.
        now += draw(Draw::Upgrade);
        let rb = fails.rollback(now);
        if rb > 0.0 {
            r.rollbacks += 1;
            now += rb;
        }
        let mut todo = plan[upgrade_at..].iter().cloned().collect();
        run_steps(&mut op, &mut dev, &mut todo, links, &mut now, &mut r, draw)?;
        r.state_variables += op.state_variables();
    }
    r.window_min = now;
    Ok(r)
}

/// Carries out the steps in order, each at `now` for a drawn duration. A UE move towards an
/// unreachable MME fails; the operator then re-queries the target's UEs and moves them evenly
/// over the members they can reach, in place of the remaining moves of step (3).
fn run_steps(
    op: &mut Operator,
    dev: &mut Devices,
    todo: &mut std::collections::VecDeque<Step>,
    links: &[LinkEvent],
    now: &mut f64,
    r: &mut Rehearsal,
    draw: &mut dyn FnMut(Draw) -> f64,
) -> Result<(), String> {
    let mut n = 0usize;
    while let Some(s) = todo.pop_front() {
        dev.unreachable = down_at(links, *now).into_iter().map(mop::mme).collect();
        r.operations += 1;
        *now += draw(Draw::Operation);
        match op.step(dev, n, &s) {
            Ok(()) => r.device_configs += s.changes_device() as u32,
            Err(MopError::Unreachable { .. }) => {
                let Step::MoveUes { from, .. } = &s else {
                    return Err("invariant: only a UE move reaches an MME".into());
                };
                while matches!(todo.front(), Some(Step::MoveUes { .. })) {
                    todo.pop_front();
                }
                let reach: Vec<String> = dev
                    .ues
                    .keys()
                    .filter(|m| *m != from && !dev.unreachable.contains(*m))
                    .cloned()
                    .collect();
                let mut redo = vec![Step::ReadUes { mme: from.clone() }];
                for m in &reach {
                    redo.push(Step::MoveUes {
                        from: from.clone(),
                        to: m.clone(),
                        count: Val::NotedDiv(format!("ues/{from}"), reach.len() as u64),
                    });
                }
                for s in redo.into_iter().rev() {
                    todo.push_front(s);
                }
            }
            Err(e) => return Err(e.to_string()),
        }
        n += 1;
    }
    Ok(())
}

/// Egret over the job's devices: the NIB, the pool's base (even) and the link events so far.
struct EgretRun<'a> {
    e: Egret,
    links: &'a [LinkEvent],
    applied: usize,
    configs: u32,
}

impl<'a> EgretRun<'a> {
    fn new(sites: &Sites, job: DeviceJob, links: &'a [LinkEvent]) -> Result<Self, String> {
        let mut e = Egret::new(sites.nib(), ConflictPolicy::Reject);
        if job == DeviceJob::MmeUpgrade {
            e.manage("mme-pool", vec![1; sites.mmes as usize]).map_err(|e| e.to_string())?;
        }
        Ok(EgretRun { e, links, applied: 0, configs: 0 })
    }

    /// Egret 3.2.3: the link events up to `t`, each a base update through topology discovery.
    fn links_until(&mut self, t: f64) -> Result<(), String> {
        while let Some(&(_, m, up)) = self.links.get(self.applied).filter(|e| e.0 <= t) {
            self.e.handle_link("mme-pool", &mop::mme(m), up).map_err(|e| e.to_string())?;
            self.applied += 1;
            self.count();
        }
        Ok(())
    }

    fn count(&mut self) {
        while let Some(o) = self.e.poll_output() {
            if matches!(o, EgretOutput::Configure { .. } | EgretOutput::MoveState { .. }) {
                self.configs += 1;
            }
        }
    }

    fn add(&mut self, intent: Intent) -> Result<MaskId, String> {
        let id = self.e.add(Time::ZERO, intent, None).map_err(|e| e.to_string())?;
        self.count();
        Ok(id)
    }

    fn revert(&mut self, id: MaskId) -> Result<(), String> {
        self.e.revert(id).map_err(|e| e.to_string())?;
        self.count();
        Ok(())
    }
}

/// Egret 2.3's intent for device `i`: `{Target = Router-1}`, or `{Target = MME-i, Peers = the
/// other members, Weights = even}`.
fn intent(sites: &Sites, job: DeviceJob, i: u32) -> Intent {
    match job {
        DeviceJob::PeRouterDrain => Intent::target("Router-1"),
        DeviceJob::MmeUpgrade => {
            let peers: Vec<String> = (1..=sites.mmes).filter(|&m| m != i).map(mop::mme).collect();
            let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
            Intent::target(&mop::mme(i)).peers(&refs).weights(&vec![10; refs.len()])
        }
    }
}

fn egret_sequential(
    sites: &Sites,
    job: DeviceJob,
    k: u32,
    links: &[LinkEvent],
    fails: &mut UpgradeFailure,
    draw: &mut dyn FnMut(Draw) -> f64,
) -> Result<Rehearsal, String> {
    let mut run = EgretRun::new(sites, job, links)?;
    let mut r = Rehearsal { parallel_devices: 1, planned_operations: 2 * k, ..Default::default() };
    let mut now = 0.0;
    for i in 1..=k {
        let intent = intent(sites, job, i);
        r.state_variables += intent.parameters_given() + 1;
        run.links_until(now)?;
        let id = run.add(intent)?;
        now += draw(Draw::Operation);
        now += draw(Draw::Upgrade);
        let rb = fails.rollback(now);
        if rb > 0.0 {
            r.rollbacks += 1;
            now += rb;
        }
        run.links_until(now)?;
        run.revert(id)?;
        now += draw(Draw::Operation);
    }
    run.links_until(now)?;
    r.operations = run.e.stats().api_calls as u32;
    r.device_configs = run.configs;
    r.window_min = now;
    Ok(r)
}

/// Egret 3.2.1: jobs start and finish independently. A job (`add`, upgrade, `revert`) is
/// admitted, in the order of the devices, whenever the pool with its mask on top keeps every
/// member within `headroom` times its base share (checked on a copy of Egret: the admission is
/// ours, the paper has no policy for it); it holds its mask until its `revert` completes.
fn egret_interleaved(
    sites: &Sites,
    k: u32,
    headroom: f64,
    links: &[LinkEvent],
    fails: &mut UpgradeFailure,
    draw: &mut dyn FnMut(Draw) -> f64,
) -> Result<Rehearsal, String> {
    let n = sites.mmes;
    let mut run = EgretRun::new(sites, DeviceJob::MmeUpgrade, links)?;
    let mut r = Rehearsal { planned_operations: 2 * k, ..Default::default() };
    let cap = (headroom * FULL as f64 / n as f64) as u32;
    let mut waiting: Vec<u32> = (1..=k).rev().collect();
    // (revert completes, mask)
    let mut running: Vec<(f64, MaskId)> = Vec::new();
    let mut now = 0.0f64;
    loop {
        run.links_until(now)?;
        while let Some(&m) = waiting.last() {
            // `{Target}` alone: peers inferred (every other member). Naming them would make a
            // member another job drains both a source and a sink: a conflict (Figure 3-c).
            let intent = Intent::target(&mop::mme(m));
            let mut trial = run.e.clone();
            trial.add(Time::ZERO, intent.clone(), None).map_err(|e| e.to_string())?;
            if trial.weights("mme-pool", 0).expect("managed").iter().any(|&w| w > cap) {
                break;
            }
            r.state_variables += intent.parameters_given() + 1;
            let id = run.add(intent)?;
            waiting.pop();
            let mut end = now + draw(Draw::Operation) + draw(Draw::Upgrade);
            let rb = fails.rollback(end);
            if rb > 0.0 {
                r.rollbacks += 1;
                end += rb;
            }
            running.push((end + draw(Draw::Operation), id));
            r.parallel_devices = r.parallel_devices.max(running.len() as u32);
        }
        if waiting.is_empty() && running.is_empty() {
            break;
        }
        let next_job = running.iter().map(|j| j.0).min_by(f64::total_cmp);
        let next_link = links.get(run.applied).map(|e| e.0);
        now = match (next_job, next_link) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => {
                return Err(format!("one drained MME alone exceeds the headroom of a pool of {n}"))
            }
        };
        run.links_until(now)?;
        running.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        while running.first().is_some_and(|j| j.0 <= now) {
            let (_, id) = running.remove(0);
            run.revert(id)?;
        }
    }
    r.operations = run.e.stats().api_calls as u32;
    r.device_configs = run.configs;
    r.window_min = now;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(op: f64, upgrade: f64) -> impl FnMut(Draw) -> f64 {
        move |d| match d {
            Draw::Operation => op,
            Draw::Upgrade => upgrade,
        }
    }

    /// A rehearsal on the default sites, headroom 1.5, 1-minute operations, 30-minute upgrades.
    fn run(
        job: DeviceJob,
        k: u32,
        p: Procedure,
        faults: &[DeviceFault],
    ) -> Result<Rehearsal, String> {
        rehearse(&Sites::default(), job, k, p, 1.5, faults, &mut fixed(1.0, 30.0))
    }

    /// Without faults and with fixed durations the rehearsal is Table 3's executed counts and
    /// the interleaving comparison's window.
    #[test]
    fn without_faults_the_rehearsal_is_table3_and_the_interleaving() {
        let s = Sites::default();
        let rows = mop::table3(&s).unwrap();
        for (job, row) in [(DeviceJob::PeRouterDrain, &rows[0]), (DeviceJob::MmeUpgrade, &rows[1])]
        {
            let r = run(job, 1, Procedure::Mop, &[]).unwrap();
            assert_eq!(
                (r.operations, r.state_variables),
                (row.mop.operations, row.mop.state_variables)
            );
            assert_eq!(r.window_min, row.mop.operations as f64 + 30.0);
            let e = run(job, 1, Procedure::Egret, &[]).unwrap();
            assert_eq!(
                (e.operations, e.state_variables),
                (row.egret.operations, row.egret.state_variables)
            );
            assert_eq!(e.device_configs as u64, row.egret_device_configs + row.egret_state_moves);
        }
        let times = mop::WindowTimes::default();
        for k in [1, 3, 6, 11] {
            let w = mop::interleave(&s, &times, k).unwrap();
            let r = run(DeviceJob::MmeUpgrade, k, Procedure::EgretInterleaved, &[]).unwrap();
            assert_eq!(
                (r.window_min, r.parallel_devices),
                (w.egret_minutes, w.egret_parallel),
                "k={k}"
            );
            let m = run(DeviceJob::MmeUpgrade, k, Procedure::Mop, &[]).unwrap();
            assert_eq!(m.window_min, w.mop_minutes, "k={k}");
            assert_eq!(m.operations, m.planned_operations);
        }
    }

    /// MME-11's link is down when the operator moves MME-1's UEs (MOP step (3) runs from
    /// minute 3 to 13): the move to MME-11, the last, fails; the operator re-queries the UEs
    /// and spreads what is left over the 9 members they reach: 1 failed move + 1 query + 9
    /// moves in place of no remaining move. Egret's base update reapplies the mask twice (down
    /// and up): two more configurations, no more API calls.
    #[test]
    fn a_peer_link_down_during_the_ue_moves_makes_the_operator_redo_them() {
        let f = [DeviceFault::PeerLinkDown { mme: 11, at_min: 5.0, down_min: 60.0 }];
        let calm = run(DeviceJob::MmeUpgrade, 1, Procedure::Mop, &[]).unwrap();
        let r = run(DeviceJob::MmeUpgrade, 1, Procedure::Mop, &f).unwrap();
        assert_eq!(r.operations, calm.operations + 1 + 9, "{r:?}");
        assert_eq!(r.planned_operations, calm.operations);
        assert_eq!(r.window_min, calm.window_min + 10.0);
        assert_eq!(r.state_variables, calm.state_variables, "the re-query overwrites the note");
        // After the window the link is back; a fault after step (3) costs the MOP nothing.
        let late = [DeviceFault::PeerLinkDown { mme: 11, at_min: 20.0, down_min: 5.0 }];
        let r = run(DeviceJob::MmeUpgrade, 1, Procedure::Mop, &late).unwrap();
        assert_eq!(r.operations, calm.operations);

        let calm = run(DeviceJob::MmeUpgrade, 1, Procedure::Egret, &[]).unwrap();
        let e = run(DeviceJob::MmeUpgrade, 1, Procedure::Egret, &late).unwrap();
        assert_eq!((e.operations, e.device_configs), (calm.operations, calm.device_configs + 2));
    }

    /// A failed link shrinks the pool: with MME-11 down, three drained MMEs would leave the
    /// other 7 at 1/7 of the traffic each, above 1.5 x 1/11, so only two jobs run at once.
    #[test]
    fn a_peer_link_down_shrinks_the_interleaving() {
        let f = [DeviceFault::PeerLinkDown { mme: 11, at_min: 0.0, down_min: 600.0 }];
        let calm = run(DeviceJob::MmeUpgrade, 3, Procedure::EgretInterleaved, &[]).unwrap();
        let r = run(DeviceJob::MmeUpgrade, 3, Procedure::EgretInterleaved, &f).unwrap();
        assert_eq!((calm.parallel_devices, r.parallel_devices), (3, 2));
        assert_eq!(r.window_min, 2.0 * calm.window_min);
    }

    /// The upgrade that fails is the first not finished by the fault's time; the window grows
    /// by the rollback, the operations do not.
    #[test]
    fn a_failed_upgrade_is_rolled_back_before_traffic_returns() {
        for at in [0.0, 36.0, 40.0] {
            let f = [DeviceFault::UpgradeFails { at_min: at, rollback_min: 10.0 }];
            let r = run(DeviceJob::PeRouterDrain, 1, Procedure::Mop, &f).unwrap();
            // 7 forward steps, then the upgrade ends at 37.
            assert_eq!(r.rollbacks, (at < 37.0) as u32, "at {at}");
            assert_eq!(r.window_min, 41.0 + 10.0 * r.rollbacks as f64, "at {at}");
            assert_eq!(r.operations, 11);
        }
        // Egret, one MME after another, 32 minutes each: MME-2's upgrade runs from minute 33
        // to 63, so a fault at minute 50 fails it (and not MME-3's).
        let f = [DeviceFault::UpgradeFails { at_min: 50.0, rollback_min: 10.0 }];
        let r = run(DeviceJob::MmeUpgrade, 3, Procedure::Egret, &f).unwrap();
        assert_eq!((r.rollbacks, r.window_min), (1, 3.0 * 32.0 + 10.0));
    }

    /// Two overlapping failures of one link are one outage, in the MOP's view and Egret's.
    #[test]
    fn overlapping_failures_of_one_link_are_one_outage() {
        let one = [DeviceFault::PeerLinkDown { mme: 11, at_min: 5.0, down_min: 60.0 }];
        let two = [
            DeviceFault::PeerLinkDown { mme: 11, at_min: 5.0, down_min: 6.0 },
            DeviceFault::PeerLinkDown { mme: 11, at_min: 8.0, down_min: 57.0 },
        ];
        for p in [Procedure::Mop, Procedure::Egret, Procedure::EgretInterleaved] {
            let a = run(DeviceJob::MmeUpgrade, 1, p, &one);
            let b = run(DeviceJob::MmeUpgrade, 1, p, &two);
            assert_eq!(a, b, "{p:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Under any fault times and durations: Egret's operator work is two calls a device;
        /// the MOP never does less than its plan; interleaving never drains more members than
        /// the headroom admits without faults (a failed link only shrinks the pool); each
        /// failed-upgrade fault rolls back at most one device.
        #[test]
        fn rehearsals_keep_their_invariants(
            k in 1u32..=4,
            at in 0.0f64..200.0,
            down in 0.0f64..120.0,
            member in 5u32..=11,
            fail_at in 0.0f64..200.0,
            durations in proptest::collection::vec(0.1f64..3.0, 64),
        ) {
            let s = Sites::default();
            let faults = [
                DeviceFault::PeerLinkDown { mme: member, at_min: at, down_min: down },
                DeviceFault::UpgradeFails { at_min: fail_at, rollback_min: 10.0 },
            ];
            for p in [Procedure::Mop, Procedure::Egret, Procedure::EgretInterleaved] {
                let mut i = 0;
                let mut draw = |d: Draw| {
                    i += 1;
                    let x = durations[i % durations.len()];
                    if d == Draw::Upgrade { 10.0 * x } else { x }
                };
                let r = rehearse(&s, DeviceJob::MmeUpgrade, k, p, 1.5, &faults, &mut draw).unwrap();
                proptest::prop_assert!(r.operations >= r.planned_operations);
                proptest::prop_assert!(r.rollbacks <= 1);
                proptest::prop_assert!(r.window_min > 0.0);
                if p != Procedure::Mop {
                    proptest::prop_assert_eq!(r.operations, 2 * k);
                }
                if p == Procedure::EgretInterleaved {
                    proptest::prop_assert!((1..=3.min(k)).contains(&r.parallel_devices));
                }
            }
        }
    }

    #[test]
    fn faults_a_job_cannot_take_are_errors() {
        let f = [DeviceFault::PeerLinkDown { mme: 2, at_min: 0.0, down_min: 1.0 }];
        assert!(run(DeviceJob::PeRouterDrain, 1, Procedure::Mop, &f).is_err());
        let e = run(DeviceJob::MmeUpgrade, 3, Procedure::Mop, &f).unwrap_err();
        assert!(e.contains("MME-4 to MME-11"), "{e}");
    }
}
