//! `nftwin-host`: one live host. Started by the lab as
//! `ip netns exec NS nftwin-host <EAL args> -- --role ROLE --name NAME [role args]`.
//!
//! Prints `READY` once its ports are up and, when done (source) or told to stop (SIGTERM:
//! switch, sink), one `RESULT k=v ...` line; logs go to stderr. Exit status: 0, 2 for bad
//! arguments, 3 when the EAL does not start, 4 when built without the `dpdk` feature.

use std::collections::BTreeMap;
use std::process::ExitCode;

#[cfg(feature = "dpdk")]
use live_bridge::lab::EXIT_EAL;
use live_bridge::lab::{EXIT_NO_DPDK, EXIT_USAGE};

/// The application's arguments (after `--`), read before the EAL sees argv.
struct App {
    role: String,
    name: String,
    opts: BTreeMap<String, String>,
}

impl App {
    fn parse(args: &[String]) -> Result<App, String> {
        let mut opts = BTreeMap::new();
        let mut it = args.iter();
        while let Some(k) = it.next() {
            let key = k.strip_prefix("--").ok_or_else(|| format!("unexpected argument {k:?}"))?;
            let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
            opts.insert(key.to_string(), v.clone());
        }
        let role = opts.remove("role").ok_or("--role is required")?;
        let name = opts.remove("name").unwrap_or_else(|| role.clone());
        Ok(App { role, name, opts })
    }

    #[allow(dead_code)] // only the dpdk build reads role options
    fn num(&self, k: &str, default: u64) -> Result<u64, String> {
        match self.opts.get(k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{k} {v:?} is not a number")),
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let split = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let eal: Vec<String> = argv[..split].to_vec();
    let app = match App::parse(argv.get(split + 1..).unwrap_or(&[])) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nftwin-host: {e}");
            return ExitCode::from(EXIT_USAGE as u8);
        }
    };
    run(eal, app)
}

#[cfg(not(feature = "dpdk"))]
fn run(_eal: Vec<String>, app: App) -> ExitCode {
    eprintln!(
        "nftwin-host {} ({}): built without the `dpdk` feature; rebuild with --features live-bridge/dpdk",
        app.name, app.role
    );
    ExitCode::from(EXIT_NO_DPDK as u8)
}

#[cfg(feature = "dpdk")]
fn run(eal: Vec<String>, app: App) -> ExitCode {
    use live_bridge::dpdk::Eal;
    let _ = EXIT_NO_DPDK;
    live_bridge::sys::catch_stop_signals();
    let e = match Eal::init(&eal) {
        Ok(e) => e,
        Err(err) => {
            eprintln!("nftwin-host {}: EAL start failed: {err}", app.name);
            return ExitCode::from(EXIT_EAL as u8);
        }
    };
    // DPDK 22.11 logs a failed vdev probe ("Bus (vdev) probe failed") but still returns
    // success from rte_eal_init: a port we asked for and did not get is an EAL start failure.
    let wanted = eal.iter().filter(|a| a.starts_with("--vdev")).count();
    if usize::from(e.port_count()) < wanted {
        eprintln!(
            "nftwin-host {}: EAL start failed: {} of {wanted} ports probed (see the EAL lines above)",
            app.name,
            e.port_count()
        );
        drop(e);
        return ExitCode::from(EXIT_EAL as u8);
    }
    let result = live::run_role(&e, &app);
    drop(e);
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("nftwin-host {}: {err}", app.name);
            ExitCode::from(1)
        }
    }
}

#[cfg(feature = "dpdk")]
mod live {
    use std::io::Write;
    use std::thread;
    use std::time::Duration;

    use base::RngStreams;
    use live_bridge::clock::{wall, Mono};
    use live_bridge::control::HostChannel;
    use live_bridge::ctrlmsg;
    use live_bridge::dpdk::{Burst, Eal};
    use live_bridge::nfhost::{NfHost, NfHostOutput};
    use live_bridge::roles::{self, Busy, Report, SinkStats, SourcePlan};
    use live_bridge::sys::stop_requested;
    use models::nf::NfConfig;
    use models::sharp::HslConfig;
    use models::switch::{
        Action, Cookie, Match, Rule, Switch, SwitchConfig, SwitchEvent, SwitchOutput, TableMiss,
        UpdateLatency,
    };
    use models::wire::{self, Mac};
    use models::{NodeId, PortId};

    use super::App;

    /// RX/TX descriptors per port.
    const DESC: u16 = 1024;
    /// Empty polls in a row before an idle host sleeps between polls, and how long: two
    /// cores are shared by every host and the builds, so a host must not spin when there is
    /// nothing to do. (Sleeping after every short burst instead cost more loss, not less.)
    const IDLE_POLLS: u32 = 16;
    const IDLE_SLEEP: Duration = Duration::from_micros(50);

    /// The idle nap: `--idle-us` (default [`IDLE_SLEEP`]). SHarP's six hosts nap longer: each
    /// wake-up costs CPU (a timer in a KVM guest), and six hosts waking every 50 us took most
    /// of the 2 cores (docs/live.md, "SHarP live").
    fn idle_sleep(app: &App) -> Result<Duration, String> {
        app.opts.get("idle-us").map_or(Ok(IDLE_SLEEP), |v| {
            v.parse()
                .map(Duration::from_micros)
                .map_err(|_| format!("--idle-us {v:?} is not a number"))
        })
    }
    /// The source's shortest sleep: its pacing granularity (at 100,000 pps about 10 packets
    /// leave together; the sink's delay includes up to this much of the source's batching).
    const SOURCE_QUANTUM: Duration = Duration::from_micros(100);

    /// After a TX that took nothing, let the kernel run: the frames a port has not taken wait
    /// for the kernel's own work (often a softirq thread at normal priority), which a
    /// real-time host spinning on the same core would starve.
    fn tx_backoff(took: usize) {
        if took == 0 {
            thread::sleep(Duration::from_micros(20));
        }
    }

    pub fn run_role(e: &Eal, app: &App) -> Result<Report, String> {
        let ports = e.port_count();
        if ports == 0 {
            return Err("no DPDK port (give --vdev=net_af_packet0,iface=...)".into());
        }
        let mut macs = Vec::new();
        for p in 0..ports {
            macs.push(Mac(e.start_port(p, DESC)?));
        }
        let mut chan = HostChannel::connect_from_env(&app.name)
            .map_err(|e| format!("control channel: {e}"))?;
        println!("READY");
        let _ = std::io::stdout().flush();
        let mut r = match app.role.as_str() {
            "source" => source(e, app)?,
            "switch" => switch(e, app, ports, &mut chan)?,
            "sink" => sink(e, ports)?,
            "client" => client(e, app, &mut chan)?,
            "echo" => echo(e, app)?,
            "nf" => nf(e, app, ports, &mut chan)?,
            other => {
                return Err(format!(
                    "unknown role {other:?} (source, switch, sink, client, echo, nf)"
                ))
            }
        };
        r.set("cpu_ns", live_bridge::sys::cpu_time_ns());
        if let Some(c) = &chan {
            use std::sync::atomic::Ordering;
            r.set("ctrl_accepted", c.accepted.load(Ordering::SeqCst));
            r.set("ctrl_rejected", c.rejected.load(Ordering::SeqCst));
            c.report_waits_into(&mut r);
        }
        for p in 0..ports {
            let s = e.stats(p);
            r.set(&format!("port{p}_rx"), s.rx);
            r.set(&format!("port{p}_tx"), s.tx);
            r.set(&format!("port{p}_rx_missed"), s.rx_missed);
            r.set(&format!("port{p}_errors"), s.errors);
        }
        Ok(r)
    }

    /// Paces the plan's packets in real time; a burst the port does not take is offered again
    /// (never dropped), so every packet counted in `sent` left the host.
    fn source(e: &Eal, app: &App) -> Result<Report, String> {
        let plan = SourcePlan {
            rate_pps: app.num("rate-pps", 1000)?.max(1),
            count: app.num("count", 1000)?,
            flows: app.num("flows", 1)?.max(1),
            size_bytes: app.num("size", 128)? as u32,
        };
        let (src, dst) = (Mac::for_node(1), Mac::for_node(2));
        let clock = Mono::start();
        let mut burst = Burst::default();
        let mut frame = Vec::with_capacity(wire::MAX_FRAME);
        let (mut next, mut sent, mut partial) = (0u64, 0u64, 0u64);
        while sent < plan.count {
            if stop_requested() {
                break;
            }
            let due = plan.due(clock.now().as_nanos());
            while next < due && !burst.is_full() {
                wire::encode(&plan.packet(next, wall()), src, dst, &mut frame);
                burst.push(&frame);
                next += 1;
            }
            if !burst.is_empty() {
                let offered = burst.len();
                let took = e.tx(0, &mut burst);
                sent += took as u64;
                if took < offered {
                    partial += 1;
                    tx_backoff(took);
                }
                continue;
            }
            // Nothing due: sleep until the next packet is, but at least SOURCE_QUANTUM, so that
            // at high rates packets leave in small bursts (one syscall each on af_packet)
            // instead of one by one from a spinning core.
            let next_at = next * 1_000_000_000 / plan.rate_pps;
            let wait = next_at.saturating_sub(clock.now().as_nanos());
            thread::sleep(
                Duration::from_nanos(wait).clamp(SOURCE_QUANTUM, Duration::from_millis(1)),
            );
        }
        let mut r = Report::default();
        r.set("sent", sent);
        r.set("tx_partial_bursts", partial);
        r.set("send_ns", clock.now().as_nanos());
        Ok(r)
    }

    /// `models::switch::Switch` between the ports. Preinstalled rules from `--route` (default
    /// `0:1,1:0`: in-port 0 to port 1 and back, priority 1); rule updates and the events they
    /// cause travel on the control channel (`ctrl <flowmods ...>` in, `event <...>` out).
    fn switch(
        e: &Eal,
        app: &App,
        ports: u16,
        chan: &mut Option<HostChannel>,
    ) -> Result<Report, String> {
        let idle_nap = idle_sleep(app)?;
        let clock = Mono::start();
        // E2's software dataplane: 20 us per rule (models::switch::UpdateLatency::e2_software).
        let cfg = SwitchConfig {
            table_capacity: 2048,
            update: UpdateLatency::e2_software(),
            table_miss: TableMiss::Drop,
        };
        let mut sw = Switch::new(cfg, RngStreams::new(0).stream("live/switch"));
        let route = app.opts.get("route").map_or("0:1,1:0", String::as_str);
        let mut rules = Vec::new();
        for (k, pair) in route.split(',').enumerate() {
            let (i, o) =
                pair.split_once(':').ok_or_else(|| format!("--route {pair:?}: want IN:OUT"))?;
            let port =
                |x: &str| {
                    x.parse::<u16>().ok().filter(|&p| p < ports).map(PortId).ok_or_else(|| {
                        format!("--route {pair:?}: no port {x} (this host has {ports})")
                    })
                };
            rules.push(Rule {
                cookie: Cookie(k as u64 + 1),
                priority: 1,
                matcher: Match { in_port: Some(port(i)?), ..Match::any() },
                actions: vec![Action::Output(port(o)?)],
                idle_timeout: None,
            });
        }
        sw.preinstall(clock.now(), rules).map_err(|e| format!("preinstall: {e:?}"))?;
        let me = Mac::for_node(10);
        let mut rx = Burst::default();
        let mut out: Vec<Burst> = (0..ports).map(|_| Burst::default()).collect();
        let mut frame = Vec::with_capacity(wire::MAX_FRAME);
        let (mut foreign, mut forwarded, mut dropped, mut idle) = (0u64, 0u64, 0u64, 0u32);
        let (mut ctrl_in, mut ctrl_bad, mut events_out, mut unsent) = (0u64, 0u64, 0u64, 0u64);
        let (mut ctrl_at, mut ctrl_to_event_ns) = (0u64, 0u64);
        // Each rule update's time from its loop taking it to its `done` leaving (calibration:
        // what a rule update costs this host, `Lab::flowmods`; one update at a time).
        let mut done_ns: Vec<u64> = Vec::new();
        let mut busy = Busy::default();
        while !stop_requested() {
            let t0 = clock.now();
            let mut got = 0;
            let mut pkts = 0u64;
            // Control first: a rule update takes effect before the next burst is looked up.
            while let Some(cmd) = chan.as_ref().and_then(HostChannel::try_command) {
                if cmd == "ping" {
                    // Calibration of the control latency: answered from the same loop that
                    // applies rule updates, so it pays the same polling delay.
                    if let Some(c) = chan.as_mut() {
                        let _ = c.send("pong");
                    }
                    continue;
                }
                match cmd.strip_prefix("ctrl ").map(ctrlmsg::decode_switch_ctrl) {
                    Some(Ok(msg)) => {
                        ctrl_in += 1;
                        ctrl_at = clock.now().as_nanos();
                        sw.handle_ctrl(clock.now(), msg);
                    }
                    _ => ctrl_bad += 1,
                }
                got += 1;
            }
            if sw.poll_timeout().is_some_and(|t| t <= clock.now()) {
                sw.handle_timeout(clock.now());
            }
            for p in 0..ports {
                let n = e.rx(p, &mut rx);
                got += n;
                pkts += n as u64;
                for i in 0..n {
                    let Ok((pkt, _)) = wire::decode(rx.frame(i)) else {
                        foreign += 1;
                        continue;
                    };
                    sw.handle_packet(clock.now(), PortId(p), pkt);
                }
                // Drain after each port's burst: packets and events leave in the order produced.
                while let Some(o) = sw.poll_output() {
                    match o {
                        SwitchOutput::Transmit { port, packet } if port.0 < ports => {
                            let q = usize::from(port.0);
                            wire::encode(&packet, me, Mac::for_node(20 + port.0), &mut frame);
                            while !out[q].push(&frame) {
                                let took = e.tx(port.0, &mut out[q]);
                                tx_backoff(took);
                            }
                            forwarded += 1;
                        }
                        SwitchOutput::ToController(ev) => {
                            let is_done = matches!(ev, SwitchEvent::FlowModsDone { .. });
                            let sent = match (ctrlmsg::encode_switch_event(&ev), chan.as_mut()) {
                                (Ok(line), Some(c)) => c.send(&format!("event {line}")).is_ok(),
                                _ => false,
                            };
                            if sent {
                                // How long the host took from a rule update's arrival to its
                                // event (the switch's update latency plus the loop's own).
                                ctrl_to_event_ns = clock.now().as_nanos().saturating_sub(ctrl_at);
                                if is_done {
                                    done_ns.push(ctrl_to_event_ns);
                                }
                                events_out += 1;
                            } else {
                                unsent += 1;
                            }
                        }
                        _ => dropped += 1,
                    }
                }
            }
            for (q, b) in out.iter_mut().enumerate() {
                while !b.is_empty() && !stop_requested() {
                    let took = e.tx(q as u16, b);
                    tx_backoff(took);
                }
            }
            busy.iteration(t0, clock.now(), pkts, got as u64);
            idle = if got == 0 { idle.saturating_add(1) } else { 0 };
            if idle > IDLE_POLLS {
                // A pending rule update completes on time: never sleep past its deadline.
                let nap = match sw.poll_timeout() {
                    Some(t) => {
                        Duration::from_nanos(t.as_nanos().saturating_sub(clock.now().as_nanos()))
                            .min(idle_nap)
                    }
                    None => idle_nap,
                };
                if !nap.is_zero() {
                    thread::sleep(nap);
                }
            }
        }
        let mut r = Report::default();
        r.set("forwarded", forwarded);
        r.set("dropped", dropped);
        r.set("foreign", foreign);
        r.set("switch_packets", sw.stats().packets);
        r.set("rules_applied", sw.stats().rules_applied);
        r.set("ctrl_msgs", ctrl_in);
        r.set("ctrl_bad", ctrl_bad);
        r.set("events_sent", events_out);
        r.set("events_unsent", unsent);
        r.set("last_ctrl_to_event_ns", ctrl_to_event_ns);
        done_ns.sort_unstable();
        r.set("flowmods_done_n", done_ns.len() as u64);
        if let Some(&m) = done_ns.get(done_ns.len() / 2) {
            r.set("flowmods_done_median_ns", m);
            r.set("flowmods_done_max_ns", done_ns[done_ns.len() - 1]);
        }
        busy.report_into(&mut r);
        Ok(r)
    }

    /// The oracle's receiver, on every port: loss, reordering, duplicates, delay.
    fn sink(e: &Eal, ports: u16) -> Result<Report, String> {
        let mut rx = Burst::default();
        let mut stats = SinkStats::default();
        let (mut foreign, mut idle) = (0u64, 0u32);
        let mut per_port = vec![0u64; usize::from(ports)];
        while !stop_requested() {
            let mut n = 0;
            for port in 0..ports {
                let got = e.rx(port, &mut rx);
                n += got;
                let now = wall();
                for i in 0..got {
                    match wire::decode(rx.frame(i)) {
                        Ok((p, _)) => {
                            per_port[usize::from(port)] += 1;
                            stats.on_packet(&p, now)
                        }
                        Err(_) => foreign += 1,
                    }
                }
            }
            idle = if n == 0 { idle.saturating_add(1) } else { 0 };
            if idle > IDLE_POLLS {
                thread::sleep(IDLE_SLEEP);
            }
        }
        let mut r = stats.report();
        r.set("foreign", foreign);
        for (p, n) in per_port.iter().enumerate() {
            r.set(&format!("data_port{p}"), *n);
        }
        Ok(r)
    }

    /// SHarP's Host1: the source's packets on port 0, and the oracle's receiver for the answers coming back on the same port (their delay is the
    /// round trip: an answer keeps its request's send time). Says `sent <n>` on the control channel once every
    /// packet has left, then keeps receiving until told to stop.
    fn client(e: &Eal, app: &App, chan: &mut Option<HostChannel>) -> Result<Report, String> {
        let idle_nap = idle_sleep(app)?;
        let plan = SourcePlan {
            rate_pps: app.num("rate-pps", 1000)?.max(1),
            count: app.num("count", 1000)?,
            flows: app.num("flows", 1)?.max(1),
            size_bytes: app.num("size", 128)? as u32,
        };
        let (src, dst) = (Mac::for_node(1), Mac::for_node(2));
        let clock = Mono::start();
        let mut burst = Burst::default();
        let mut rx = Burst::default();
        let mut frame = Vec::with_capacity(wire::MAX_FRAME);
        let mut stats = SinkStats::default();
        let (mut next, mut sent, mut partial, mut foreign) = (0u64, 0u64, 0u64, 0u64);
        let (mut told, mut idle, mut send_ns) = (false, 0u32, 0u64);
        while !stop_requested() {
            let got = e.rx(0, &mut rx);
            let now = wall();
            for i in 0..got {
                match wire::decode(rx.frame(i)) {
                    Ok((p, _)) => stats.on_packet(&p, now),
                    Err(_) => foreign += 1,
                }
            }
            if sent < plan.count {
                let due = plan.due(clock.now().as_nanos());
                while next < due && !burst.is_full() {
                    wire::encode(&plan.packet(next, wall()), src, dst, &mut frame);
                    burst.push(&frame);
                    next += 1;
                }
                if !burst.is_empty() {
                    let offered = burst.len();
                    let took = e.tx(0, &mut burst);
                    sent += took as u64;
                    if took < offered {
                        partial += 1;
                        tx_backoff(took);
                    }
                    continue;
                }
                if got == 0 {
                    // Until the next packet is due, but no longer than an idle host naps:
                    // the answers' delay is measured on arrival.
                    let next_at = next * 1_000_000_000 / plan.rate_pps;
                    let wait = next_at.saturating_sub(clock.now().as_nanos());
                    thread::sleep(Duration::from_nanos(wait).clamp(Duration::ZERO, idle_nap));
                }
                continue;
            }
            if !told {
                told = true;
                send_ns = clock.now().as_nanos();
                if let Some(c) = chan.as_mut() {
                    let _ = c.send(&format!("sent {sent}"));
                }
            }
            idle = if got == 0 { idle.saturating_add(1) } else { 0 };
            if idle > IDLE_POLLS {
                thread::sleep(idle_nap);
            }
        }
        let mut r = stats.report();
        r.set("sent", sent);
        r.set("tx_partial_bursts", partial);
        r.set("send_ns", send_ns);
        r.set("foreign", foreign);
        Ok(r)
    }

    /// SHarP's Host2: the oracle's receiver on port 0, answering every data packet at once
    /// (`roles::echo`) out of the same port.
    fn echo(e: &Eal, app: &App) -> Result<Report, String> {
        let idle_nap = idle_sleep(app)?;
        let me = Mac::for_node(2);
        let mut rx = Burst::default();
        let mut out = Burst::default();
        let mut frame = Vec::with_capacity(wire::MAX_FRAME);
        let mut stats = SinkStats::default();
        let (mut foreign, mut answered, mut idle) = (0u64, 0u64, 0u32);
        while !stop_requested() {
            let got = e.rx(0, &mut rx);
            let now = wall();
            for i in 0..got {
                match wire::decode(rx.frame(i)) {
                    Ok((p, _)) => {
                        stats.on_packet(&p, now);
                        if p.is_data() {
                            wire::encode(&roles::echo(&p), me, Mac::for_node(1), &mut frame);
                            while !out.push(&frame) {
                                let took = e.tx(0, &mut out);
                                tx_backoff(took);
                            }
                            answered += 1;
                        }
                    }
                    Err(_) => foreign += 1,
                }
            }
            while !out.is_empty() && !stop_requested() {
                let took = e.tx(0, &mut out);
                tx_backoff(took);
            }
            idle = if got == 0 { idle.saturating_add(1) } else { 0 };
            if idle > IDLE_POLLS {
                thread::sleep(idle_nap);
            }
        }
        let mut r = stats.report();
        r.set("answered", answered);
        r.set("foreign", foreign);
        Ok(r)
    }

    /// An NF instance (`live_bridge::nfhost::NfHost`: `models::nf::Nf` behind SHarP's HSL)
    /// between port 0 (ingress switch) and port 1 (egress switch). Its HSL replies go to the
    /// controller as `event hsl ...`; its peer-to-peer state transfer travels on the control
    /// channel (`peer <node> <message>` out, relayed by the run, `peer <message>` in).
    fn nf(
        e: &Eal,
        app: &App,
        ports: u16,
        chan: &mut Option<HostChannel>,
    ) -> Result<Report, String> {
        if ports < 2 {
            return Err(format!("the nf role needs 2 ports, this host has {ports}"));
        }
        let idle_nap = idle_sleep(app)?;
        let clock = Mono::start();
        let cfg = NfConfig {
            service: base::Dur::from_nanos(app.num("service-ns", 10_000)?),
            queue_capacity: app.num("queue", 1_000_000)? as u32,
            state_bytes_per_flow: app.num("state-bytes", 10_000)? as u32,
            ..NfConfig::default()
        };
        let hsl = HslConfig {
            transfer_delay: base::Dur::from_nanos(app.num("transfer-delay-ns", 0)?),
            fault: None,
        };
        let me = NodeId(app.num("node", 3)? as u32);
        // `--hsl 0`: the NF alone (OpenNF's moves), without SHarP's handover support layer.
        let hsl = (app.num("hsl", 1)? != 0).then_some(hsl);
        let mut host = NfHost::new(me, cfg, hsl);
        let mac = Mac::for_node(30 + me.0 as u16);
        let mut rx = Burst::default();
        let mut out: Vec<Burst> = (0..ports).map(|_| Burst::default()).collect();
        let mut frame = Vec::with_capacity(wire::MAX_FRAME);
        let (mut foreign, mut idle, mut peer_in, mut ctrl_bad) = (0u64, 0u32, 0u64, 0u64);
        let mut ctrl_in = 0u64;
        let (mut events, mut unsent, mut transmitted) = (0u64, 0u64, 0u64);
        let mut busy = Busy::default();
        while !stop_requested() {
            let t0 = clock.now();
            let (mut pkts, mut outputs) = (0u64, 0u64);
            let mut got = 0;
            while let Some(cmd) = chan.as_ref().and_then(HostChannel::try_command) {
                got += 1;
                if let Some(Ok(msg)) = cmd.strip_prefix("peer ").map(ctrlmsg::decode_peer) {
                    peer_in += 1;
                    host.on_peer(clock.now(), msg);
                } else if let Some(Ok(msg)) = cmd.strip_prefix("ctrl ").map(ctrlmsg::decode_nf_ctrl)
                {
                    ctrl_in += 1;
                    host.on_ctrl(clock.now(), msg);
                } else {
                    ctrl_bad += 1;
                }
            }
            if host.poll_timeout().is_some_and(|t| t <= clock.now()) {
                host.handle_timeout(clock.now());
            }
            for p in 0..2u16 {
                let n = e.rx(p, &mut rx);
                got += n;
                pkts += n as u64;
                for i in 0..n {
                    match wire::decode(rx.frame(i)) {
                        Ok((pkt, _)) => host.on_packet(clock.now(), p, pkt),
                        Err(_) => foreign += 1,
                    }
                }
            }
            while let Some(o) = host.poll_output() {
                outputs += 1;
                match o {
                    NfHostOutput::Transmit { port, packet } => {
                        let q = usize::from(port);
                        wire::encode(&packet, mac, Mac::for_node(40 + port), &mut frame);
                        while !out[q].push(&frame) {
                            let took = e.tx(port, &mut out[q]);
                            tx_backoff(took);
                        }
                        transmitted += 1;
                    }
                    NfHostOutput::ToController(ev) => {
                        let sent = match (ctrlmsg::encode_nf_event(&ev), chan.as_mut()) {
                            (Ok(line), Some(c)) => c.send(&format!("event {line}")).is_ok(),
                            _ => false,
                        };
                        if sent {
                            events += 1;
                        } else {
                            unsent += 1;
                        }
                    }
                    NfHostOutput::ToPeer { peer, msg } => {
                        let line = format!("peer {} {}", peer.0, ctrlmsg::encode_peer(&msg));
                        if chan.as_mut().is_none_or(|c| c.send(&line).is_err()) {
                            unsent += 1;
                        }
                    }
                }
            }
            for (q, b) in out.iter_mut().enumerate() {
                while !b.is_empty() && !stop_requested() {
                    let took = e.tx(q as u16, b);
                    tx_backoff(took);
                }
            }
            busy.iteration(t0, clock.now(), pkts, got as u64 + outputs);
            idle = if got == 0 { idle.saturating_add(1) } else { 0 };
            if idle > IDLE_POLLS {
                // The NF's service and the HSL's transfer delay complete on time.
                let nap = match host.poll_timeout() {
                    Some(t) => {
                        Duration::from_nanos(t.as_nanos().saturating_sub(clock.now().as_nanos()))
                            .min(idle_nap)
                    }
                    None => idle_nap,
                };
                if !nap.is_zero() {
                    thread::sleep(nap);
                }
            }
        }
        let mut r = host.report();
        r.set("transmitted", transmitted);
        r.set("foreign", foreign);
        r.set("peer_in", peer_in);
        r.set("ctrl_msgs", ctrl_in);
        r.set("ctrl_bad", ctrl_bad);
        r.set("events_sent", events);
        r.set("events_unsent", unsent);
        busy.report_into(&mut r);
        Ok(r)
    }
}
