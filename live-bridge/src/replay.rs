//! The controller's log of a live run, and `nftwin replay`: re-driving the controller machine
//! from the logged inputs must give the logged outputs exactly.
//!
//! ```text
//!  # nftwin-live-controller v1 protocol=reroute priority=1000 per_msg_ns=10000 buffer_capacity=10000
//!  <ns> in move 1 -,-,-,-,-,-,-,- 2 2 1 0 1 2      an input, fed with handle(<ns>, input)
//!  <ns> timeout                                    handle_timeout(<ns>)
//!  <ns> out ToSwitch { to: NodeId(1), msg: ... }   each output, as its Debug text, in order
//! ```
//!
//! Times are the controller's own clock (ns since the run started), so a replay needs no
//! wall clock and gives the same outputs on any machine.

use std::fmt::Write as _;
use std::io::Write;

use base::{Dur, Time};
use models::controller::{Controller, ControllerConfig, ControllerInput, ControllerOutput};
use models::opennf::{OpenNf, OpenNfConfig};
use models::oracle::Guarantee;
use models::reroute::{Reroute, RerouteConfig};
use models::sharp::{Sharp, SharpConfig};
use thiserror::Error;

use crate::ctrlmsg::{self, CtrlMsgError};

const MAGIC: &str = "# nftwin-live-controller v1";

/// What the controller was built from; the log's first line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerSetup {
    /// The protocol's name: `reroute`, `sharp` or `opennf-loss-free`.
    pub protocol: String,
    pub priority: u16,
    pub per_msg_ns: u64,
    pub buffer_capacity: u32,
    /// SHarP's maximum silence (the detection entry's idle timeout); unused by reroute.
    pub max_silence_ns: u64,
}

impl ControllerSetup {
    /// The reroute baseline with the twin's defaults.
    pub fn reroute() -> Self {
        let c = ControllerConfig::default();
        ControllerSetup {
            protocol: "reroute".into(),
            priority: RerouteConfig::default().priority,
            per_msg_ns: c.per_msg.as_nanos(),
            buffer_capacity: c.buffer_capacity,
            max_silence_ns: SharpConfig::default().max_silence.as_nanos(),
        }
    }

    /// SHarP with the twin's defaults (`r = 100`, the maximum silence given, section III-C's
    /// START_HO after the detection phase), the controller's 10 us per message.
    pub fn sharp(max_silence_ns: u64) -> Self {
        let c = ControllerConfig::default();
        ControllerSetup {
            protocol: "sharp".into(),
            priority: SharpConfig::default().priority,
            per_msg_ns: c.per_msg.as_nanos(),
            buffer_capacity: c.buffer_capacity,
            max_silence_ns,
        }
    }

    /// OpenNF's loss-free move with the twin's defaults for it (parallelizing, early release
    /// and late locking on: `OpenNfConfig::opennf`), the controller's 10 us per message.
    pub fn opennf() -> Self {
        let c = ControllerConfig::default();
        ControllerSetup {
            protocol: "opennf-loss-free".into(),
            priority: OpenNfConfig::opennf(Guarantee::LossFree).priority,
            per_msg_ns: c.per_msg.as_nanos(),
            buffer_capacity: c.buffer_capacity,
            max_silence_ns: SharpConfig::default().max_silence.as_nanos(),
        }
    }

    pub fn build(&self) -> Result<Controller, ReplayError> {
        let cfg = ControllerConfig {
            per_msg: Dur::from_nanos(self.per_msg_ns),
            buffer_capacity: self.buffer_capacity,
        };
        let protocol: Box<dyn models::controller::Protocol> = match self.protocol.as_str() {
            "reroute" => Box::new(Reroute::new(RerouteConfig { priority: self.priority })),
            "sharp" => Box::new(Sharp::new(SharpConfig {
                priority: self.priority,
                max_silence: Dur::from_nanos(self.max_silence_ns),
                ..SharpConfig::default()
            })),
            "opennf-loss-free" => Box::new(OpenNf::new(OpenNfConfig {
                priority: self.priority,
                ..OpenNfConfig::opennf(Guarantee::LossFree)
            })),
            _ => return Err(ReplayError::UnknownProtocol(self.protocol.clone())),
        };
        Ok(Controller::new(cfg, protocol))
    }

    fn header(&self) -> String {
        let mut h = format!(
            "{MAGIC} protocol={} priority={} per_msg_ns={} buffer_capacity={}",
            self.protocol, self.priority, self.per_msg_ns, self.buffer_capacity
        );
        if self.protocol == "sharp" {
            let _ = write!(h, " max_silence_ns={}", self.max_silence_ns);
        }
        h
    }

    fn parse_header(line: &str) -> Result<Self, ReplayError> {
        let rest = line.strip_prefix(MAGIC).ok_or(ReplayError::NotALog)?;
        let mut s = ControllerSetup::reroute();
        for kv in rest.split_whitespace() {
            let bad = || ReplayError::Line { line: 1, what: format!("bad header field {kv:?}") };
            let (k, v) = kv.split_once('=').ok_or_else(bad)?;
            match k {
                "protocol" => s.protocol = v.to_string(),
                "priority" => s.priority = v.parse().map_err(|_| bad())?,
                "per_msg_ns" => s.per_msg_ns = v.parse().map_err(|_| bad())?,
                "buffer_capacity" => s.buffer_capacity = v.parse().map_err(|_| bad())?,
                "max_silence_ns" => s.max_silence_ns = v.parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            }
        }
        Ok(s)
    }
}

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("not a live controller log (its first line must start with `{MAGIC}`)")]
    NotALog,
    #[error("the log's protocol `{0}` cannot be replayed (reroute, sharp and opennf-loss-free run live)")]
    UnknownProtocol(String),
    #[error("line {line}: {what}")]
    Line { line: usize, what: String },
    #[error("line {line}: input does not parse: {source}")]
    Input { line: usize, source: CtrlMsgError },
    #[error("line {line}: the replayed controller output\n  {got}\nbut the log says\n  {logged}")]
    Mismatch { line: usize, got: String, logged: String },
    #[error("after line {line}: the replayed controller output {got} that the log does not have")]
    Extra { line: usize, got: String },
}

/// The controller of a live run: drives the machine and writes every input and output.
pub struct LoggedController {
    ctl: Controller,
    log: Vec<u8>,
}

impl LoggedController {
    pub fn new(setup: &ControllerSetup) -> Result<Self, ReplayError> {
        let mut log = Vec::new();
        let _ = writeln!(log, "{}", setup.header());
        Ok(LoggedController { ctl: setup.build()?, log })
    }

    /// Feeds an input; returns the outputs it caused.
    pub fn handle(
        &mut self,
        now: Time,
        input: ControllerInput,
    ) -> Result<Vec<ControllerOutput>, CtrlMsgError> {
        let line = ctrlmsg::encode_input(&input)?;
        let _ = writeln!(self.log, "{} in {line}", now.as_nanos());
        self.ctl.handle(now, input);
        Ok(self.drain(now))
    }

    /// [`handle`](Self::handle) for the live drivers, whose inputs always encode.
    pub fn handle_live(&mut self, now: Time, input: ControllerInput) -> Vec<ControllerOutput> {
        self.handle(now, input).expect("invariant: the live inputs are encodable")
    }

    /// How long a live driver may wait for a host's message: until the controller's next
    /// deadline, and at most 1 ms (so the driver's own timeline, a move's start or a source's
    /// end, is seen within a millisecond).
    pub fn wait_ns(&self, now: Time) -> u64 {
        self.ctl
            .poll_timeout()
            .map_or(1_000_000, |t| t.as_nanos().saturating_sub(now.as_nanos()).min(1_000_000))
    }

    /// Runs the controller's timer if it is due; returns the outputs it caused.
    pub fn tick(&mut self, now: Time) -> Vec<ControllerOutput> {
        if self.ctl.poll_timeout().is_none_or(|t| t > now) {
            return Vec::new();
        }
        let _ = writeln!(self.log, "{} timeout", now.as_nanos());
        self.ctl.handle_timeout(now);
        self.drain(now)
    }

    fn drain(&mut self, now: Time) -> Vec<ControllerOutput> {
        let mut outs = Vec::new();
        while let Some(o) = self.ctl.poll_output() {
            let _ = writeln!(self.log, "{} out {o:?}", now.as_nanos());
            outs.push(o);
        }
        outs
    }

    /// The log so far.
    pub fn log(&self) -> &[u8] {
        &self.log
    }

    pub fn controller(&self) -> &Controller {
        &self.ctl
    }
}

/// What a replay checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReplaySummary {
    pub inputs: usize,
    pub timeouts: usize,
    pub outputs: usize,
}

/// Re-drives a fresh controller from `log` and checks every output against the logged one.
pub fn replay(log: &str) -> Result<ReplaySummary, ReplayError> {
    let mut lines = log.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();
    let (_, first) = lines.next().ok_or(ReplayError::NotALog)?;
    let setup = ControllerSetup::parse_header(first)?;
    let mut ctl = setup.build()?;
    let mut sum = ReplaySummary { inputs: 0, timeouts: 0, outputs: 0 };
    while let Some((n, line)) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let (t, rest) = line
            .split_once(' ')
            .ok_or_else(|| ReplayError::Line { line: n, what: "no time".into() })?;
        let now = Time::from_nanos(
            t.parse()
                .map_err(|_| ReplayError::Line { line: n, what: format!("bad time {t:?}") })?,
        );
        if let Some(input) = rest.strip_prefix("in ") {
            let input = ctrlmsg::decode_input(input)
                .map_err(|source| ReplayError::Input { line: n, source })?;
            ctl.handle(now, input);
            sum.inputs += 1;
        } else if rest == "timeout" {
            ctl.handle_timeout(now);
            sum.timeouts += 1;
        } else {
            return Err(ReplayError::Line {
                line: n,
                what: format!("expected an input or a timeout, found {rest:?}"),
            });
        }
        while let Some(o) = ctl.poll_output() {
            let mut got = String::new();
            let _ = write!(got, "{o:?}");
            match lines.next() {
                Some((m, l)) => {
                    let logged = l.split_once(" out ").map(|(_, x)| x).unwrap_or("");
                    if logged != got {
                        return Err(ReplayError::Mismatch { line: m, got, logged: l.to_string() });
                    }
                    sum.outputs += 1;
                }
                None => return Err(ReplayError::Extra { line: n, got }),
            }
        }
        // Every logged output must have been produced.
        if let Some((m, l)) = lines.peek() {
            if l.contains(" out ") {
                return Err(ReplayError::Mismatch {
                    line: *m,
                    got: "(no further output)".into(),
                    logged: l.to_string(),
                });
            }
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::controller::{MoveId, MoveRequest};
    use models::switch::{Match, SwitchEvent};
    use models::{NodeId, PortId, Xid};

    fn run_once() -> String {
        let mut c = LoggedController::new(&ControllerSetup::reroute()).expect("controller");
        let req = MoveRequest {
            id: MoveId(1),
            flows: Match::any(),
            src: NodeId(2),
            dst: NodeId(2),
            switch: NodeId(1),
            in_ports: vec![PortId(0)],
            src_port: PortId(1),
            dst_port: PortId(2),
        };
        let mut t = 1_000;
        c.handle(Time::from_nanos(t), ControllerInput::Move(req)).expect("encodable");
        // Time passes in the live loop; the per-message cost is a timer.
        while let Some(d) = c.controller().poll_timeout() {
            t = t.max(d.as_nanos());
            c.tick(Time::from_nanos(t));
        }
        t += 150_000;
        let done = SwitchEvent::FlowModsDone { xid: Xid(1) };
        c.handle(Time::from_nanos(t), ControllerInput::Switch { from: NodeId(1), event: done })
            .expect("encodable");
        while let Some(d) = c.controller().poll_timeout() {
            t = t.max(d.as_nanos());
            c.tick(Time::from_nanos(t));
        }
        String::from_utf8(c.log().to_vec()).expect("utf8")
    }

    #[test]
    fn replay_of_a_logged_run_gives_its_outputs() {
        let log = run_once();
        let s = replay(&log).expect("identical");
        assert_eq!(s.inputs, 2);
        assert!(s.outputs >= 3, "flow mods, started, finished: {log}");
        assert!(log.contains("out ToSwitch"), "{log}");
    }

    #[test]
    fn replay_finds_a_changed_output() {
        let log = run_once().replacen("priority: 1000", "priority: 999", 1);
        assert!(matches!(replay(&log), Err(ReplayError::Mismatch { .. })), "{log}");
    }

    #[test]
    fn replay_finds_a_missing_and_an_extra_output() {
        let log = run_once();
        let without: String = {
            let mut seen = false;
            log.lines()
                .filter(|l| {
                    let drop = !seen && l.contains(" out ToSwitch");
                    seen |= drop;
                    !drop
                })
                .map(|l| format!("{l}\n"))
                .collect()
        };
        assert!(replay(&without).is_err());
        let extra = format!("{log}1 out Dropped {{ invented }}\n");
        assert!(replay(&extra).is_err());
    }

    #[test]
    fn replay_refuses_what_is_not_a_log() {
        assert!(matches!(replay("hello"), Err(ReplayError::NotALog)));
        assert!(matches!(replay(""), Err(ReplayError::NotALog)));
    }
}
