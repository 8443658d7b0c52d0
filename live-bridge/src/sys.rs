//! The few operating-system facts the live driver needs that `std` does not give: whether we
//! are root, and a flag set by SIGINT / SIGTERM so that a run can tear down what it built.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM set the flag [`stop_requested`] reads instead of killing
/// the process.
pub fn catch_stop_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Has SIGINT or SIGTERM arrived since [`catch_stop_signals`]?
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Is this process's effective user root?
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGKILL: i32 = libc::SIGKILL;

/// Sends `sig` to process `pid` (errors ignored: the process may be gone already).
pub fn kill(pid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// CPU time (user + system) this process has used, in nanoseconds.
pub fn cpu_time_ns() -> u64 {
    // SAFETY: getrusage writes into the struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Sets the flag [`stop_requested`] reads, as a signal would (the control channel's `stop`).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Puts the calling thread (and the threads it creates afterwards) under `SCHED_RR` at
/// `priority`, as the lab does for the hosts: the live controller then answers a host's
/// event without waiting behind the machine's other work. Fails without root.
pub fn set_realtime(priority: i32) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: priority };
    // SAFETY: `param` is a valid sched_param for the duration of the call.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
