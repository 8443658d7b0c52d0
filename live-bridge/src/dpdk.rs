//! The DPDK shim's Rust side: the only module of the workspace with `unsafe` (FFI into
//! `shim/nfw_dpdk.c`). Built only with the `dpdk` feature.
//!
//! One [`Eal`] per process (DPDK's EAL starts once per process and pins the calling thread):
//! the host binary makes it, the test and `nftwin live` processes never do.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr, CString};

/// Frames per burst (the shim's `NFW_BURST`).
pub const BURST: usize = 32;
/// Bytes per frame slot in a burst buffer (a 1514-byte frame fits).
pub const STRIDE: usize = 1536;

extern "C" {
    fn nfw_eal_init(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn nfw_last_error() -> *const c_char;
    fn nfw_port_count() -> u16;
    fn nfw_port_start(port: u16, rx_desc: u16, tx_desc: u16) -> c_int;
    fn nfw_port_mac(port: u16, out: *mut u8) -> c_int;
    fn nfw_rx(port: u16, buf: *mut u8, stride: u16, lens: *mut u16, max: u16) -> u16;
    fn nfw_tx(port: u16, buf: *const u8, stride: u16, lens: *const u16, n: u16) -> c_int;
    fn nfw_port_stats(port: u16, out: *mut u64) -> c_int;
    fn nfw_cleanup();
}

/// DPDK's environment, started once; dropping it stops and closes the ports.
pub struct Eal {
    ports: u16,
}

/// A burst of frames in one flat buffer, the shim's format.
pub struct Burst {
    buf: Vec<u8>,
    lens: [u16; BURST],
    n: usize,
}

impl Default for Burst {
    fn default() -> Self {
        Burst { buf: vec![0; BURST * STRIDE], lens: [0; BURST], n: 0 }
    }
}

impl Burst {
    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn is_full(&self) -> bool {
        self.n == BURST
    }
    pub fn clear(&mut self) {
        self.n = 0;
    }
    pub fn frame(&self, i: usize) -> &[u8] {
        &self.buf[i * STRIDE..i * STRIDE + usize::from(self.lens[i])]
    }
    /// Appends a frame; false (nothing appended) when the burst is full or the frame too long.
    pub fn push(&mut self, frame: &[u8]) -> bool {
        if self.n == BURST || frame.len() > STRIDE {
            return false;
        }
        self.buf[self.n * STRIDE..self.n * STRIDE + frame.len()].copy_from_slice(frame);
        self.lens[self.n] = frame.len() as u16;
        self.n += 1;
        true
    }
    /// Drops the first `k` frames (those a port took).
    pub fn consume(&mut self, k: usize) {
        let k = k.min(self.n);
        self.buf.copy_within(k * STRIDE..self.n * STRIDE, 0);
        self.lens.copy_within(k..self.n, 0);
        self.n -= k;
    }
}

/// Port counters as DPDK keeps them.
#[derive(Copy, Clone, Debug, Default)]
pub struct PortStats {
    pub rx: u64,
    pub tx: u64,
    /// Frames the port's RX ring had no room for.
    pub rx_missed: u64,
    pub errors: u64,
}

impl Eal {
    /// Starts the EAL with `args` (argv[0] first); on failure, DPDK's own reason.
    pub fn init(args: &[String]) -> Result<Eal, String> {
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()).map_err(|_| format!("NUL in EAL argument {a:?}")))
            .collect::<Result<_, _>>()?;
        // rte_eal_init permutes argv: hand it a private array of pointers (the strings stay
        // owned by `cargs`, which outlives the call).
        let mut argv: Vec<*mut c_char> = cargs.iter().map(|c| c.as_ptr() as *mut c_char).collect();
        // SAFETY: argv holds argc valid NUL-terminated strings that live across the call.
        let rc = unsafe { nfw_eal_init(argv.len() as c_int, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(last_error());
        }
        // SAFETY: the EAL is up.
        let ports = unsafe { nfw_port_count() };
        Ok(Eal { ports })
    }

    pub fn port_count(&self) -> u16 {
        self.ports
    }

    /// Starts `port` with `desc` RX and TX descriptors.
    pub fn start_port(&self, port: u16, desc: u16) -> Result<[u8; 6], String> {
        if port >= self.ports {
            return Err(format!("no port {port}: {} available", self.ports));
        }
        // SAFETY: the port exists and the EAL is up.
        let rc = unsafe { nfw_port_start(port, desc, desc) };
        if rc < 0 {
            return Err(format!("port {port} did not start: error {rc} ({})", last_error()));
        }
        let mut mac = [0u8; 6];
        // SAFETY: `mac` has the 6 bytes the shim writes.
        unsafe { nfw_port_mac(port, mac.as_mut_ptr()) };
        Ok(mac)
    }

    /// Receives a burst into `b` (cleared first); returns how many frames arrived.
    pub fn rx(&self, port: u16, b: &mut Burst) -> usize {
        // SAFETY: buf has BURST slots of STRIDE bytes and lens BURST entries.
        let n = unsafe {
            nfw_rx(port, b.buf.as_mut_ptr(), STRIDE as u16, b.lens.as_mut_ptr(), BURST as u16)
        };
        b.n = usize::from(n);
        b.n
    }

    /// Offers `b`'s frames to the port and removes the ones it took; returns their number.
    pub fn tx(&self, port: u16, b: &mut Burst) -> usize {
        if b.n == 0 {
            return 0;
        }
        // SAFETY: the first b.n slots and lengths are initialised.
        let rc =
            unsafe { nfw_tx(port, b.buf.as_ptr(), STRIDE as u16, b.lens.as_ptr(), b.n as u16) };
        let took = usize::try_from(rc).unwrap_or(0);
        b.consume(took);
        took
    }

    pub fn stats(&self, port: u16) -> PortStats {
        let mut s = [0u64; 4];
        // SAFETY: `s` has the 4 counters the shim writes.
        unsafe { nfw_port_stats(port, s.as_mut_ptr()) };
        PortStats { rx: s[0], tx: s[1], rx_missed: s[2], errors: s[3] }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: called once, after the last use of the ports.
        unsafe { nfw_cleanup() };
    }
}

fn last_error() -> String {
    // SAFETY: rte_strerror returns a static or thread-local NUL-terminated string.
    unsafe { CStr::from_ptr(nfw_last_error()) }.to_string_lossy().into_owned()
}
