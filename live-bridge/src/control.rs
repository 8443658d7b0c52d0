//! The control channel between the live run's process and its hosts.
//!
//! ```text
//!  nftwin live / tests                              host (any namespace)
//!  ControlServer::bind(<run dir>/control.sock)
//!        ◄──────────── HELLO <token> <host> ──────── HostChannel::connect (token from env)
//!        ──────────── <token> stop ────────────────► sets the stop flag
//!        ──────────── <anything else> ─────────────► ignored, counted (`ctrl_rejected`)
//! ```
//!
//! - A Unix domain socket: network namespaces do not separate the file system, so every host
//!   reaches it, and nothing of it shows on the veths the data plane uses.
//! - Each run draws a fresh random token (128 bits from the kernel) and hands it to its hosts
//!   in the environment ([`TOKEN_ENV`]), not on the command line. A message without it is
//!   ignored and counted, on both sides.
//! - One line per message, `<token> <verb> [args]`. Everything sent and received is logged
//!   with its wall-clock time in `<run dir>/control.log` (`<ns> <dir> <host> <line>`).
//! - The run stamps each message with its wall-clock send time (`<token>@<ns> <verb>`), so a
//!   host can tell where a message waited: on the way in (socket and its reader thread, until
//!   the reader has it) or in the host (until its loop takes it); [`HostChannel`] reports both
//!   (`ctrl_transit_*`, `ctrl_queue_*`, and the same for rule updates, `flowmods_*`). The
//!   other way, a host stamps each line it sends (`<line> @<ns>`); the run strips the stamp
//!   and keeps, per host, where its lines waited: on the way (until the run's reader thread
//!   has the line) and in the run (until its loop takes it), [`ControlServer::waits`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::clock::wall;
use crate::lab::random_bytes;

/// The environment variable that carries the run's token to a host.
pub const TOKEN_ENV: &str = "NFTWIN_LIVE_TOKEN";
/// The environment variable that carries the control socket's path to a host.
pub const SOCKET_ENV: &str = "NFTWIN_LIVE_CONTROL";

/// A fresh random token: 32 hex digits.
pub fn fresh_token() -> String {
    random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect()
}

/// The run side: accepts hosts that know the token and sends them commands.
pub struct ControlServer {
    token: String,
    path: PathBuf,
    hosts: Arc<Mutex<BTreeMap<String, UnixStream>>>,
    rejected: Arc<AtomicU64>,
    log: Arc<Mutex<File>>,
    /// Each line with its host's send stamp (0: none) and the reader's receipt time.
    inbox: Mutex<Receiver<(String, String, u64, u64)>>,
    /// Per host, where its lines waited: all of them, and events (`event ...`) alone.
    waits: Mutex<BTreeMap<String, (Waits, Waits)>>,
}

impl ControlServer {
    /// Listens on `<dir>/control.sock` and logs to `<dir>/control.log`.
    pub fn bind(dir: &Path) -> std::io::Result<ControlServer> {
        let path = dir.join("control.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        let log = Arc::new(Mutex::new(File::create(dir.join("control.log"))?));
        let token = fresh_token();
        let hosts = Arc::new(Mutex::new(BTreeMap::new()));
        let rejected = Arc::new(AtomicU64::new(0));
        let (tx, inbox) = mpsc::channel();
        let (t, h, r, l) =
            (token.clone(), Arc::clone(&hosts), Arc::clone(&rejected), Arc::clone(&log));
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (t, h, r, l) = (t.clone(), Arc::clone(&h), Arc::clone(&r), Arc::clone(&l));
                let tx = tx.clone();
                thread::spawn(move || accept(conn, &t, &h, &r, &l, &tx));
            }
        });
        Ok(ControlServer {
            token,
            path,
            hosts,
            rejected,
            log,
            inbox: Mutex::new(inbox),
            waits: Mutex::new(BTreeMap::new()),
        })
    }

    /// The run's token (for the hosts' environment).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The socket's path (for the hosts' environment).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Has host `name` said hello with the right token?
    pub fn connected(&self, name: &str) -> bool {
        self.hosts.lock().expect("invariant: hosts lock").contains_key(name)
    }

    /// Connections refused for a wrong or missing token.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::SeqCst)
    }

    /// The next line a connected host sent, as `(host, line)`, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<(String, String)> {
        let (host, line, sent, read) =
            self.inbox.lock().expect("invariant: inbox lock").recv_timeout(timeout).ok()?;
        let taken = wall().as_nanos();
        let mut waits = self.waits.lock().expect("invariant: waits lock");
        let (all, events) = waits.entry(host.clone()).or_default();
        all.add(sent, read, taken);
        if line.starts_with("event ") {
            events.add(sent, read, taken);
        }
        Some((host, line))
    }

    /// Per host, where the lines it sent waited ([`Waits`]: `transit` from the host's stamp
    /// to the run's reader thread, `queue` from there to the run's loop taking it), for all
    /// its lines and for its events alone.
    pub fn waits(&self) -> BTreeMap<String, (Waits, Waits)> {
        self.waits.lock().expect("invariant: waits lock").clone()
    }

    /// Sends `<token> <msg>` to host `name`; false if it is not connected.
    pub fn send(&self, name: &str, msg: &str) -> bool {
        self.send_line(name, &format!("{}@{} {msg}", self.token, wall().as_nanos()))
    }

    /// Sends a raw line (tests use it to send a message without the token).
    pub fn send_line(&self, name: &str, line: &str) -> bool {
        let mut hosts = self.hosts.lock().expect("invariant: hosts lock");
        let Some(s) = hosts.get_mut(name) else { return false };
        let ok = writeln!(s, "{line}").and_then(|()| s.flush()).is_ok();
        log_line(&self.log, "out", name, line);
        ok
    }
}

fn accept(
    conn: UnixStream,
    token: &str,
    hosts: &Mutex<BTreeMap<String, UnixStream>>,
    rejected: &AtomicU64,
    log: &Mutex<File>,
    inbox: &Sender<(String, String, u64, u64)>,
) {
    let Ok(reader_half) = conn.try_clone() else { return };
    let mut lines = BufReader::new(reader_half).lines();
    let Some(Ok(hello)) = lines.next() else { return };
    let mut f = hello.split_whitespace();
    let (verb, got, name) = (f.next(), f.next(), f.next());
    if verb != Some("HELLO") || got != Some(token) || name.is_none() {
        rejected.fetch_add(1, Ordering::SeqCst);
        log_line(log, "in-rejected", name.unwrap_or("?"), &hello);
        return;
    }
    let name = name.expect("invariant: checked above").to_string();
    log_line(log, "in", &name, &hello);
    hosts.lock().expect("invariant: hosts lock").insert(name.clone(), conn);
    // The connection was authenticated by its hello: what follows is the host's.
    for line in lines.map_while(Result::ok) {
        let read = wall().as_nanos();
        log_line(log, "in", &name, &line);
        let (line, sent) = split_stamp(&line);
        if inbox.send((name.clone(), line.to_string(), sent.unwrap_or(0), read)).is_err() {
            break;
        }
    }
}

fn log_line(log: &Mutex<File>, dir: &str, host: &str, line: &str) {
    let mut f = log.lock().expect("invariant: log lock");
    let _ = writeln!(f, "{} {dir} {host} {line}", wall().as_nanos());
}

/// The host side: connects, says hello, turns `<token> stop` into the stop flag and hands
/// every other command carrying the token to the host's loop ([`HostChannel::try_command`]).
pub struct HostChannel {
    pub accepted: Arc<AtomicU64>,
    pub rejected: Arc<AtomicU64>,
    /// Each command with the run's send stamp (0: none) and the reader's receipt time.
    commands: Receiver<(u64, u64, String)>,
    out: UnixStream,
    all: std::cell::Cell<Waits>,
    flowmods: std::cell::Cell<Waits>,
}

/// Where control messages waited (wall clock, ns): `transit` from the run's send stamp to the
/// host's reader thread having the line, `queue` from there to the host's loop taking it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Waits {
    pub n: u64,
    pub transit_sum: u64,
    pub transit_max: u64,
    pub queue_sum: u64,
    pub queue_max: u64,
}

impl Waits {
    pub fn add(&mut self, sent: u64, read: u64, taken: u64) {
        self.n += 1;
        if sent > 0 {
            let t = read.saturating_sub(sent);
            self.transit_sum += t;
            self.transit_max = self.transit_max.max(t);
        }
        let q = taken.saturating_sub(read);
        self.queue_sum += q;
        self.queue_max = self.queue_max.max(q);
    }

    /// `<prefix>_n`, `<prefix>_transit_mean_ns`, `_transit_max_ns`, `_queue_mean_ns`,
    /// `_queue_max_ns` into a report.
    pub fn report_into(&self, prefix: &str, r: &mut crate::roles::Report) {
        let mean = |sum: u64| sum.checked_div(self.n).unwrap_or(0);
        r.set(&format!("{prefix}_n"), self.n);
        r.set(&format!("{prefix}_transit_mean_ns"), mean(self.transit_sum));
        r.set(&format!("{prefix}_transit_max_ns"), self.transit_max);
        r.set(&format!("{prefix}_queue_mean_ns"), mean(self.queue_sum));
        r.set(&format!("{prefix}_queue_max_ns"), self.queue_max);
    }
}

impl HostChannel {
    /// Connects to the run's control socket if the environment names one (a host started by
    /// hand runs without). Messages are read on a thread of their own.
    pub fn connect_from_env(name: &str) -> std::io::Result<Option<HostChannel>> {
        let (Ok(path), Ok(token)) = (std::env::var(SOCKET_ENV), std::env::var(TOKEN_ENV)) else {
            return Ok(None);
        };
        let mut s = UnixStream::connect(path)?;
        writeln!(s, "HELLO {token} {name}")?;
        s.flush()?;
        let out = s.try_clone()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let rejected = Arc::new(AtomicU64::new(0));
        let (a, r) = (Arc::clone(&accepted), Arc::clone(&rejected));
        let (tx, commands) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                let read = wall().as_nanos();
                match parse_command(&line, &token) {
                    Some(cmd) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let sent = parse_stamp(&line).unwrap_or(0);
                        if cmd == "stop" {
                            crate::sys::request_stop();
                        } else if tx.send((sent, read, cmd.to_string())).is_err() {
                            break;
                        }
                    }
                    None => {
                        r.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
        Ok(Some(HostChannel {
            accepted,
            rejected,
            commands,
            out,
            all: Default::default(),
            flowmods: Default::default(),
        }))
    }

    /// The next command (other than `stop`), if one has arrived.
    pub fn try_command(&self) -> Option<String> {
        let (sent, read, cmd) = self.commands.try_recv().ok()?;
        let taken = wall().as_nanos();
        let mut w = self.all.get();
        w.add(sent, read, taken);
        self.all.set(w);
        if cmd.starts_with("ctrl flowmods") {
            let mut w = self.flowmods.get();
            w.add(sent, read, taken);
            self.flowmods.set(w);
        }
        Some(cmd)
    }

    /// Where this host's control messages waited ([`Waits`]): `ctrl_*` for all, `flowmods_*`
    /// for rule updates.
    pub fn report_waits_into(&self, r: &mut crate::roles::Report) {
        self.all.get().report_into("ctrl", r);
        self.flowmods.get().report_into("flowmods", r);
    }

    /// Sends a line to the run (the connection was authenticated by the hello), stamped with
    /// its wall-clock send time (`<line> @<ns>`; the run strips it, [`split_stamp`]).
    pub fn send(&mut self, line: &str) -> std::io::Result<()> {
        writeln!(self.out, "{line} @{}", wall().as_nanos())?;
        self.out.flush()
    }
}

/// The command of a line that carries `token` (optionally stamped, `<token>@<ns>`); `None`
/// for any other line.
pub fn parse_command<'a>(line: &'a str, token: &str) -> Option<&'a str> {
    let (t, cmd) = line.split_once(' ')?;
    let t = t.split_once('@').map_or(t, |(t, _)| t);
    (t == token && !cmd.trim().is_empty()).then(|| cmd.trim())
}

/// A host's line without its send stamp (`<line> @<ns>`), and the stamp if it had one.
pub fn split_stamp(line: &str) -> (&str, Option<u64>) {
    match line.rsplit_once(" @") {
        Some((l, ns)) => match ns.parse() {
            Ok(ns) => (l, Some(ns)),
            Err(_) => (line, None),
        },
        None => (line, None),
    }
}

/// The run's send stamp of a line (`<token>@<ns> ...`), if it has one.
pub fn parse_stamp(line: &str) -> Option<u64> {
    let (t, _) = line.split_once(' ')?;
    t.split_once('@')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_32_hex_digits() {
        let (a, b) = (fresh_token(), fresh_token());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_command_without_the_token_is_not_a_command() {
        assert_eq!(parse_command("abc stop", "abc"), Some("stop"));
        assert_eq!(parse_command("abd stop", "abc"), None);
        assert_eq!(parse_command("stop", "abc"), None);
        assert_eq!(parse_command("abc ", "abc"), None);
        assert_eq!(parse_command(" abc stop", "abc"), None);
        assert_eq!(parse_command("abc@123 stop", "abc"), Some("stop"));
        assert_eq!(parse_command("abd@123 stop", "abc"), None);
        assert_eq!((parse_stamp("abc@123 stop"), parse_stamp("abc stop")), (Some(123), None));
        assert_eq!(split_stamp("event done 1 @42"), ("event done 1", Some(42)));
        assert_eq!(split_stamp("pong"), ("pong", None));
        assert_eq!(split_stamp("event x @y"), ("event x @y", None));
        let mut w = Waits::default();
        w.add(100, 150, 400);
        w.add(0, 500, 510); // no stamp: no transit
        assert_eq!((w.n, w.transit_max, w.transit_sum, w.queue_max), (2, 50, 50, 250));
    }

    #[test]
    fn server_accepts_only_hosts_with_the_token() {
        let dir = std::env::temp_dir().join(format!("nftwin-ctrl-test-{}", fresh_token()));
        std::fs::create_dir_all(&dir).expect("dir");
        let srv = ControlServer::bind(&dir).expect("bind");
        let mut bad = UnixStream::connect(srv.path()).expect("connect");
        writeln!(bad, "HELLO not-the-token intruder").expect("write");
        let mut good = UnixStream::connect(srv.path()).expect("connect");
        writeln!(good, "HELLO {} sw", srv.token()).expect("write");
        // The accept threads run on their own; wait for both verdicts (bounded).
        for _ in 0..500 {
            if srv.connected("sw") && srv.rejected() == 1 {
                break;
            }
            thread::sleep(std::time::Duration::from_millis(2));
        }
        assert!(srv.connected("sw"));
        assert!(!srv.connected("intruder"));
        assert_eq!(srv.rejected(), 1);
        // A host's stamped line arrives without its stamp, and its wait is counted.
        writeln!(good, "event done 1 @1").expect("write");
        let got = srv.recv_timeout(std::time::Duration::from_secs(5));
        assert_eq!(got, Some(("sw".to_string(), "event done 1".to_string())));
        assert_eq!(srv.waits()["sw"].1.n, 1);
        assert!(srv.send("sw", "stop"));
        let mut got = String::new();
        BufReader::new(good).read_line(&mut got).expect("read");
        assert_eq!(parse_command(got.trim_end(), srv.token()), Some("stop"));
        let log = std::fs::read_to_string(dir.join("control.log")).expect("log");
        assert!(log.contains(" in-rejected intruder HELLO not-the-token"), "{log}");
        assert!(log.contains(" out sw "), "{log}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
