//! The lab: network namespaces, veth pairs and host processes for one live run, and their
//! removal, always.
//!
//! ```text
//!  Lab::new ─► namespace per host ─► veth per link ─► spawn hosts (ip netns exec ... nftwin-host)
//!                                                            │ stdout: READY, RESULT k=v ...
//!  Drop / teardown ◄── run over, error, Ctrl-C, host crash ◄─┘ stderr: <run dir>/<host>.log
//! ```
//!
//! Every name carries the run's random id (`nfw<id>...`), so runs never collide and what a
//! run left behind can be found ([`leftovers`]). Teardown kills the hosts (SIGTERM, then
//! SIGKILL), deletes the namespaces (which deletes the veths in them) and DPDK's runtime
//! directories `/var/run/dpdk/<file-prefix>`; it runs on drop, so an early return or a panic
//! tears down too.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use thiserror::Error;

use crate::control::{ControlServer, SOCKET_ENV, TOKEN_ENV};
use crate::roles::Report;
use crate::sys;

/// Exit status of a host whose EAL did not start.
pub const EXIT_EAL: i32 = 3;
/// Exit status of a host binary built without the `dpdk` feature.
pub const EXIT_NO_DPDK: i32 = 4;
/// Exit status of a host given bad arguments.
pub const EXIT_USAGE: i32 = 2;
/// The line a host prints once its ports are up.
pub const READY: &str = "READY";
/// The hosts' real-time priority (`chrt --rr`, 1..99; low: above every normal process, below
/// the kernel's own real-time threads).
pub const HOST_RT_PRIORITY: u32 = 5;
/// The cookie of the harmless rule [`Lab::flowmods`] installs (no preinstalled or controller
/// rule uses it: those count from 1, the reroute controller's from its move).
pub const CALIBRATION_COOKIE: u64 = 0xCA11_B8A7E;
/// Where DPDK keeps its per-prefix runtime directories.
pub const DPDK_RUN_DIR: &str = "/var/run/dpdk";

#[derive(Debug, Error)]
pub enum LabError {
    #[error("the live bridge needs root (network namespaces, veths, raw packet sockets): run it with sudo or as root")]
    NotRoot,
    #[error("this nftwin was built without the `dpdk` feature: rebuild with `cargo build --release --features live-bridge/dpdk` (needs `apt-get install libdpdk-dev pkg-config`)")]
    NoDpdk,
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command { cmd: String, status: String, stderr: String },
    #[error("host `{host}` failed its EAL start; its last log lines:\n{log_tail}")]
    EalStart { host: String, log_tail: String },
    #[error(
        "host `{host}` exited ({status}) before the run ended; its last log lines:\n{log_tail}"
    )]
    HostCrashed { host: String, status: String, log_tail: String },
    #[error("host `{host}`: {what} within {secs} s; its last log lines:\n{log_tail}")]
    Timeout { host: String, what: String, secs: u64, log_tail: String },
    #[error("host `{host}` ended without a RESULT line; its last log lines:\n{log_tail}")]
    NoResult { host: String, log_tail: String },
    #[error("no host named `{0}` in this run")]
    UnknownHost(String),
    #[error("interrupted (SIGINT/SIGTERM); the lab was torn down")]
    Interrupted,
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

/// One host process.
struct Host {
    name: String,
    prefix: String,
    child: Option<Child>,
    pid: u32,
    lines: Arc<Mutex<Vec<String>>>,
    log: PathBuf,
    reader: Option<thread::JoinHandle<()>>,
}

/// Namespaces, links and hosts of one live run.
pub struct Lab {
    id: String,
    dir: PathBuf,
    host_bin: PathBuf,
    namespaces: Vec<(String, String)>,
    links: usize,
    hosts: Vec<Host>,
    control: ControlServer,
    torn_down: bool,
}

impl Lab {
    /// A new, empty lab whose hosts run `host_bin` (the `nftwin-host` binary).
    pub fn new(host_bin: &Path) -> Result<Lab, LabError> {
        if !sys::is_root() {
            return Err(LabError::NotRoot);
        }
        run_cmd(Command::new("ip").arg("-V"))?;
        let id = random_id();
        let dir = std::env::temp_dir().join(format!("nftwin-live-{id}"));
        fs::create_dir_all(&dir)
            .map_err(|source| LabError::Io { what: format!("create {}", dir.display()), source })?;
        let control = ControlServer::bind(&dir).map_err(|source| LabError::Io {
            what: format!("open the control socket in {}", dir.display()),
            source,
        })?;
        Ok(Lab {
            control,
            id,
            dir,
            host_bin: host_bin.to_path_buf(),
            namespaces: Vec::new(),
            links: 0,
            hosts: Vec::new(),
            torn_down: false,
        })
    }

    /// The run's random id, part of every name it creates.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The control channel to the hosts.
    pub fn control(&self) -> &ControlServer {
        &self.control
    }

    /// The folder with the hosts' logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Round trips of `ping` to host `name` over the control channel (it answers `pong` from
    /// its packet loop), `n` times; returns them in nanoseconds, sorted.
    pub fn ping(&mut self, name: &str, n: usize) -> Result<Vec<u64>, LabError> {
        let clock = crate::clock::Mono::start();
        let mut rtts = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = clock.now().as_nanos();
            self.control.send(name, "ping");
            loop {
                match self.control.recv_timeout(Duration::from_secs(5)) {
                    Some((h, l)) if h == name && l == "pong" => break,
                    Some(_) => continue,
                    None => {
                        return Err(self.timeout(
                            self.index(name)?,
                            "answer a ping",
                            Duration::from_secs(5),
                        ))
                    }
                }
            }
            rtts.push(clock.now().as_nanos() - t0);
            thread::sleep(Duration::from_millis(2));
        }
        rtts.sort_unstable();
        Ok(rtts)
    }

    /// `n` pings to host `name` sent at once, and the time until its `n`th `pong`: the
    /// control channel's throughput (per message: this over `n`), where [`Lab::ping`] gives
    /// its latency. A burst of controller messages (SHarP's packet-outs, OpenNF's
    /// `putPerflow`s) meets this, not the round trip.
    pub fn ping_burst(&mut self, name: &str, n: usize) -> Result<u64, LabError> {
        let clock = crate::clock::Mono::start();
        for _ in 0..n {
            self.control.send(name, "ping");
        }
        let mut pongs = 0;
        while pongs < n {
            match self.control.recv_timeout(Duration::from_secs(5)) {
                Some((h, l)) if h == name && l == "pong" => pongs += 1,
                Some(_) => continue,
                None => {
                    return Err(self.timeout(
                        self.index(name)?,
                        "answer a burst of pings",
                        Duration::from_secs(5),
                    ))
                }
            }
        }
        Ok(clock.now().as_nanos())
    }

    /// `n` rule updates to switch host `name`, one at a time (each waits for its `done`, then
    /// 2 ms): a harmless rule (priority 0, matching an in-port the host does not have, the same
    /// cookie each time, so it replaces itself and never matches a packet). The host times
    /// each from its loop taking it to its `done` leaving (its report's
    /// `flowmods_done_median_ns`: the switch's update latency, 20 us per rule, plus the loop's
    /// own delay); returns the run's round trips, sorted.
    pub fn flowmods(&mut self, name: &str, n: usize) -> Result<Vec<u64>, LabError> {
        use models::switch::{Action, Cookie, FlowMod, Match, Rule, SwitchCtrl};
        use models::Xid;
        let clock = crate::clock::Mono::start();
        let mut rtts = Vec::with_capacity(n);
        for k in 1..=n as u64 {
            let rule = Rule {
                cookie: Cookie(CALIBRATION_COOKIE),
                priority: 0,
                matcher: Match { in_port: Some(models::PortId(u16::MAX - 1)), ..Match::any() },
                actions: vec![Action::Drop],
                idle_timeout: None,
            };
            let msg = SwitchCtrl::FlowMods { xid: Xid(k), mods: vec![FlowMod::Add(rule)] };
            let line = crate::ctrlmsg::encode_switch_ctrl(&msg)
                .expect("invariant: a flow mod has a text form");
            let done = format!("event done {k}");
            let t0 = clock.now().as_nanos();
            self.control.send(name, &format!("ctrl {line}"));
            loop {
                match self.control.recv_timeout(Duration::from_secs(5)) {
                    Some((h, l)) if h == name && l == done => break,
                    Some(_) => continue,
                    None => {
                        return Err(self.timeout(
                            self.index(name)?,
                            "confirm a rule update",
                            Duration::from_secs(5),
                        ))
                    }
                }
            }
            rtts.push(clock.now().as_nanos() - t0);
            thread::sleep(Duration::from_millis(2));
        }
        rtts.sort_unstable();
        Ok(rtts)
    }

    /// How late this thread wakes from the control channel's `recv_timeout(timeout)` when no
    /// message comes: the live controller's loop waits for its next deadline (its per-message
    /// time) this way (`reroute::run`). `n` tries, 2 ms apart; the lateness beyond `timeout`
    /// of each, sorted (a try that got a message is not counted).
    pub fn timer_lateness(&mut self, timeout: Duration, n: usize) -> Vec<u64> {
        let clock = crate::clock::Mono::start();
        let mut late = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = clock.now().as_nanos();
            if self.control.recv_timeout(timeout).is_none() {
                let took = clock.now().as_nanos() - t0;
                late.push(took.saturating_sub(timeout.as_nanos() as u64));
            }
            thread::sleep(Duration::from_millis(2));
        }
        late.sort_unstable();
        late
    }

    /// The network namespace of host `name` (created on first use).
    pub fn namespace(&mut self, name: &str) -> Result<String, LabError> {
        if let Some((_, ns)) = self.namespaces.iter().find(|(h, _)| h == name) {
            return Ok(ns.clone());
        }
        let ns = format!("nfw{}{}", self.id, name);
        // Recorded before it exists, so a half-made namespace is still deleted.
        self.namespaces.push((name.to_string(), ns.clone()));
        run_cmd(Command::new("ip").args(["netns", "add", &ns]))?;
        run_cmd(Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"]))?;
        Ok(ns)
    }

    /// A veth pair between hosts `a` and `b`, both ends up, no addresses (DPDK owns them).
    /// Returns the interface names in `a` and in `b`.
    pub fn link(&mut self, a: &str, b: &str) -> Result<(String, String), LabError> {
        let (na, nb) = (self.namespace(a)?, self.namespace(b)?);
        let k = self.links;
        self.links += 1;
        let (ia, ib) = (format!("n{}{}a", self.id, k), format!("n{}{}b", self.id, k));
        // Both ends are created in `a`'s namespace and one is moved: a failure half-way leaves
        // nothing outside the run's namespaces.
        run_cmd(Command::new("ip").args([
            "-n", &na, "link", "add", &ia, "type", "veth", "peer", "name", &ib, "netns", &nb,
        ]))?;
        run_cmd(Command::new("ip").args(["-n", &na, "link", "set", &ia, "up"]))?;
        run_cmd(Command::new("ip").args(["-n", &nb, "link", "set", &ib, "up"]))?;
        Ok((ia, ib))
    }

    /// Starts host `name` in its namespace with one DPDK port per interface of `ifaces` (port
    /// `i` is `ifaces[i]`) and the application arguments `app`. Returns once it is started,
    /// not once it is ready ([`Lab::wait_ready`]).
    pub fn spawn(&mut self, name: &str, ifaces: &[String], app: &[String]) -> Result<(), LabError> {
        let ns = self.namespace(name)?;
        let prefix = format!("nfw{}{}", self.id, name);
        let log = self.dir.join(format!("{name}.log"));
        let log_file = fs::File::create(&log)
            .map_err(|source| LabError::Io { what: format!("create {}", log.display()), source })?;
        // Hosts run under SCHED_RR: on a machine shared with builds, a descheduled host is the
        // main cause of loss (its RX ring overflows), which is not what a live run measures.
        // `nice -10` was not enough (a switch host waited on the run queue longer than it ran,
        // with five compilers beside it). The kernel's RT throttling (95% by default) and the
        // hosts' idle sleeps leave the rest of the machine its share.
        let mut cmd = Command::new("chrt");
        cmd.args(["--rr", &HOST_RT_PRIORITY.to_string(), "ip", "netns", "exec", &ns]);
        cmd.arg(&self.host_bin);
        // EAL arguments (shared/dpdk-notes.md): no hugepages, no PCI, one lcore that may float
        // over both cores, a private file prefix per host.
        cmd.args(["--no-huge", "-m", "64", "--no-pci", "--lcores=0@(0-1)"]);
        cmd.arg(format!("--file-prefix={prefix}"));
        cmd.arg("--log-level=lib.eal:error");
        for (i, ifc) in ifaces.iter().enumerate() {
            // framecnt: the default ring lost about 45% of the frames under load, 4096..8192
            // none (shared/dpdk-notes.md); 16384 (32 MB of ring at 2 KB a frame) rides out a
            // host descheduled for 160 ms at 100,000 pps by the other builds on 2 cores.
            cmd.arg(format!("--vdev=net_af_packet{i},iface={ifc},framecnt=16384"));
        }
        cmd.arg("--").args(app).arg("--name").arg(name);
        cmd.env(SOCKET_ENV, self.control.path()).env(TOKEN_ENV, self.control.token());
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(log_file));
        let mut child = cmd.spawn().map_err(|source| LabError::Io {
            what: format!("start host {name} ({})", self.host_bin.display()),
            source,
        })?;
        let pid = child.id();
        let stdout = child.stdout.take().expect("invariant: stdout is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("invariant: reader lock").push(line);
            }
        });
        self.hosts.push(Host {
            name: name.to_string(),
            prefix,
            child: Some(child),
            pid,
            lines,
            log,
            reader: Some(reader),
        });
        Ok(())
    }

    /// Waits until host `name` prints `READY`.
    pub fn wait_ready(&mut self, name: &str, timeout: Duration) -> Result<(), LabError> {
        self.wait_line(name, timeout, "become ready", |l| l == READY)?;
        // A host says hello on the control channel before READY; the server's accept thread
        // may still be on it.
        let step = Duration::from_millis(5);
        let mut waited = Duration::ZERO;
        while !self.control.connected(name) {
            if waited >= timeout {
                return Err(self.timeout(self.index(name)?, "reach the control channel", timeout));
            }
            self.check_alive()?;
            thread::sleep(step);
            waited += step;
        }
        Ok(())
    }

    /// Waits until host `name` exits by itself and returns its report.
    pub fn wait_exit(&mut self, name: &str, timeout: Duration) -> Result<Report, LabError> {
        let i = self.index(name)?;
        let mut waited = Duration::ZERO;
        let step = Duration::from_millis(20);
        loop {
            if sys::stop_requested() {
                return Err(LabError::Interrupted);
            }
            if let Some(status) = self.try_wait(i)? {
                return self.report_of(i, status);
            }
            if waited >= timeout {
                return Err(self.timeout(i, "did not finish", timeout));
            }
            // Meanwhile, any other host that dies is a crash.
            self.check_alive_except(Some(i))?;
            thread::sleep(step);
            waited += step;
        }
    }

    /// Host `name`'s report if it has exited by itself (an error if it failed), `None` while it
    /// runs. Other hosts that died meanwhile are a crash.
    pub fn finished(&mut self, name: &str) -> Result<Option<Report>, LabError> {
        let i = self.index(name)?;
        if sys::stop_requested() {
            return Err(LabError::Interrupted);
        }
        self.check_alive_except(Some(i))?;
        match self.try_wait(i)? {
            Some(status) => self.report_of(i, status).map(Some),
            None => Ok(None),
        }
    }

    /// Asks host `name` to stop (`stop` on the control channel, SIGTERM if it is not
    /// connected; it prints its report and exits) and returns the report.
    pub fn stop(&mut self, name: &str, timeout: Duration) -> Result<Report, LabError> {
        let i = self.index(name)?;
        self.check_alive_except(None)?;
        if !self.control.send(name, "stop") {
            // A host that never reached the control channel still stops on SIGTERM.
            signal(self.hosts[i].pid, libc_sigterm());
        }
        self.wait_exit(name, timeout)
    }

    /// Fails with [`LabError::HostCrashed`] (or [`LabError::EalStart`]) if a host has exited.
    pub fn check_alive(&mut self) -> Result<(), LabError> {
        self.check_alive_except(None)
    }

    /// Sleeps `d`, watching for crashes and Ctrl-C.
    pub fn sleep(&mut self, d: Duration) -> Result<(), LabError> {
        let step = Duration::from_millis(20);
        let mut waited = Duration::ZERO;
        while waited < d {
            if sys::stop_requested() {
                return Err(LabError::Interrupted);
            }
            self.check_alive()?;
            thread::sleep(step.min(d - waited));
            waited += step;
        }
        Ok(())
    }

    /// The kernel's counters of every interface of the run (`ip -s -o link` in each
    /// namespace): where frames were dropped outside DPDK's sight.
    pub fn kernel_link_stats(&self) -> String {
        let mut out = String::new();
        for (host, ns) in &self.namespaces {
            if let Ok(o) = Command::new("ip").args(["-n", ns, "-s", "-o", "link"]).output() {
                for l in String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.contains(" lo:"))
                {
                    out.push_str(&format!(
                        "{host}: {}\n",
                        l.split_whitespace().collect::<Vec<_>>().join(" ")
                    ));
                }
            }
        }
        out
    }

    /// The process id of host `name` (for tests that play a crash).
    pub fn pid(&self, name: &str) -> Result<u32, LabError> {
        Ok(self.hosts[self.index(name)?].pid)
    }

    /// The last `n` lines of host `name`'s log.
    pub fn log_tail(&self, name: &str, n: usize) -> String {
        self.hosts.iter().find(|h| h.name == name).map_or_else(String::new, |h| tail(&h.log, n))
    }

    /// Kills every host, deletes every namespace (and so every veth) and DPDK runtime folder.
    /// Idempotent; errors are printed, not returned, so that teardown always goes to the end.
    pub fn teardown(&mut self) {
        if self.torn_down {
            return;
        }
        self.torn_down = true;
        for h in &self.hosts {
            if h.child.is_some() {
                signal(h.pid, libc_sigterm());
            }
        }
        for h in &mut self.hosts {
            if let Some(mut c) = h.child.take() {
                let mut gone = false;
                for _ in 0..50 {
                    if matches!(c.try_wait(), Ok(Some(_))) {
                        gone = true;
                        break;
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                if !gone {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
            if let Some(r) = h.reader.take() {
                let _ = r.join();
            }
            let _ = fs::remove_dir_all(Path::new(DPDK_RUN_DIR).join(&h.prefix));
        }
        for (_, ns) in self.namespaces.drain(..).rev() {
            if let Err(e) = run_cmd(Command::new("ip").args(["netns", "del", &ns])) {
                eprintln!("live-bridge teardown: {e}");
            }
        }
    }

    fn index(&self, name: &str) -> Result<usize, LabError> {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .ok_or_else(|| LabError::UnknownHost(name.to_string()))
    }

    fn try_wait(&mut self, i: usize) -> Result<Option<ExitStatus>, LabError> {
        let h = &mut self.hosts[i];
        let Some(c) = h.child.as_mut() else {
            return Ok(None);
        };
        let st = c
            .try_wait()
            .map_err(|source| LabError::Io { what: format!("wait for host {}", h.name), source })?;
        if st.is_some() {
            h.child = None;
            if let Some(r) = h.reader.take() {
                let _ = r.join();
            }
        }
        Ok(st)
    }

    fn check_alive_except(&mut self, skip: Option<usize>) -> Result<(), LabError> {
        for i in 0..self.hosts.len() {
            if Some(i) == skip || self.hosts[i].child.is_none() {
                continue;
            }
            if let Some(status) = self.try_wait(i)? {
                return Err(self.exit_error(i, status));
            }
        }
        Ok(())
    }

    fn exit_error(&self, i: usize, status: ExitStatus) -> LabError {
        let h = &self.hosts[i];
        let log_tail = tail(&h.log, 12);
        match status.code() {
            Some(EXIT_EAL) => LabError::EalStart { host: h.name.clone(), log_tail },
            Some(EXIT_NO_DPDK) => LabError::NoDpdk,
            _ => {
                LabError::HostCrashed { host: h.name.clone(), status: status.to_string(), log_tail }
            }
        }
    }

    fn report_of(&self, i: usize, status: ExitStatus) -> Result<Report, LabError> {
        if !status.success() {
            return Err(self.exit_error(i, status));
        }
        let h = &self.hosts[i];
        let lines = h.lines.lock().expect("invariant: reader lock");
        lines
            .iter()
            .rev()
            .find_map(|l| Report::parse(l))
            .ok_or_else(|| LabError::NoResult { host: h.name.clone(), log_tail: tail(&h.log, 12) })
    }

    fn wait_line(
        &mut self,
        name: &str,
        timeout: Duration,
        what: &str,
        want: impl Fn(&str) -> bool,
    ) -> Result<String, LabError> {
        let i = self.index(name)?;
        let step = Duration::from_millis(10);
        let mut waited = Duration::ZERO;
        loop {
            if let Some(l) =
                self.hosts[i].lines.lock().expect("invariant: reader lock").iter().find(|l| want(l))
            {
                return Ok(l.clone());
            }
            if sys::stop_requested() {
                return Err(LabError::Interrupted);
            }
            self.check_alive()?;
            if waited >= timeout {
                return Err(self.timeout(i, what, timeout));
            }
            thread::sleep(step);
            waited += step;
        }
    }

    fn timeout(&self, i: usize, what: &str, t: Duration) -> LabError {
        let h = &self.hosts[i];
        LabError::Timeout {
            host: h.name.clone(),
            what: format!("did not {}", what.trim_start_matches("did not ")),
            secs: t.as_secs(),
            log_tail: tail(&h.log, 12),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A host's command-line arguments, as owned strings.
pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The `source` role's arguments: `count` packets of `size_bytes` at `rate_pps`, over `flows`.
pub fn source_args(rate_pps: u64, count: u64, flows: u64, size_bytes: u32) -> Vec<String> {
    args(&[
        "--role",
        "source",
        "--rate-pps",
        &rate_pps.to_string(),
        "--count",
        &count.to_string(),
        "--flows",
        &flows.to_string(),
        "--size",
        &size_bytes.to_string(),
    ])
}

/// What a run with id `id` left on the machine: namespaces, interfaces, DPDK runtime folders.
/// Empty after a lab is dropped.
pub fn leftovers(id: &str) -> Vec<String> {
    let tag = format!("nfw{id}");
    let mut left = Vec::new();
    if let Ok(out) = Command::new("ip").args(["netns", "list"]).output() {
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if l.contains(&tag) {
                left.push(format!("namespace {l}"));
            }
        }
    }
    if let Ok(out) = Command::new("ip").args(["-o", "link"]).output() {
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if l.contains(&format!("n{id}")) {
                left.push(format!("link {l}"));
            }
        }
    }
    if let Ok(rd) = fs::read_dir(DPDK_RUN_DIR) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&tag) {
                left.push(format!("dpdk runtime folder {DPDK_RUN_DIR}/{n}"));
            }
        }
    }
    left
}

/// Is process `pid` still there (and not a zombie)?
pub fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn run_cmd(cmd: &mut Command) -> Result<(), LabError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out =
        cmd.output().map_err(|source| LabError::Io { what: format!("run {shown}"), source })?;
    if out.status.success() {
        return Ok(());
    }
    Err(LabError::Command {
        cmd: shown,
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

fn signal(pid: u32, sig: i32) {
    sys::kill(pid, sig);
}

fn libc_sigterm() -> i32 {
    sys::SIGTERM
}

/// The last `n` lines of a file (empty if unreadable).
fn tail(path: &Path, n: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Five random hex digits from the kernel, for names (and a per-run token elsewhere).
fn random_id() -> String {
    let b = random_bytes::<3>();
    format!("{:05x}", (u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2])) & 0xfffff)
}

/// `N` bytes from `/dev/urandom`.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("invariant: /dev/urandom is readable");
    b
}
