//! Flow traces as CSV, so that one trace feeds every scheme.
//!
//! ```text
//! # dist=websearch            <- optional `# key=value` lines before the header: how the
//! # load=0.8                     trace was made (all five keys, or the trace has no metadata;
//! # link_bps=10000000000         other comment lines are ignored)
//! # duration_ns=10000000000
//! # seed=1
//! flow_id,start_ns,size_bytes,src,dst,sport,dport,proto
//! 0,1021311,4211,10.0.0.0,172.16.0.0,1024,80,6
//! ```
//!
//! Rules a trace must satisfy (reading checks each, and fails on the first broken one with its
//! line and column; nothing is returned half-loaded): the header is exactly as above; 8 fields
//! per row; `flow_id`, `start_ns`, `size_bytes` are whole numbers, `size_bytes >= 1`; `src`,
//! `dst` dotted IPv4; ports 0..=65535; `proto` 0..=255; `start_ns` non-decreasing; `flow_id`
//! unique. Writing then reading gives back exactly the same trace.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::str::FromStr;

use base::{Bps, Dur, Time};

use crate::flow::{FiveTuple, Flow, FlowId};

/// The header line.
pub const HEADER: &str = "flow_id,start_ns,size_bytes,src,dst,sport,dport,proto";
const COLUMNS: [&str; 8] =
    ["flow_id", "start_ns", "size_bytes", "src", "dst", "sport", "dport", "proto"];

/// How a generated trace was made.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceMeta {
    /// The distribution's name or path.
    pub dist: String,
    pub load: f64,
    pub link: Bps,
    /// Flows start in `[0, duration)`.
    pub duration: Dur,
    pub seed: u64,
}

/// A list of flows in start order, with how it was made if known.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub meta: Option<TraceMeta>,
    pub flows: Vec<Flow>,
}

/// Why a trace could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{file}: cannot {op} the trace")]
    Io {
        file: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{file}:{line}: expected the header `{HEADER}`, found `{found}`")]
    BadHeader { file: String, line: usize, found: String },
    #[error("{file}:{line}: expected 8 comma-separated fields ({HEADER}), found {found}")]
    FieldCount { file: String, line: usize, found: usize },
    #[error("{file}:{line}: column {col} ({column}) `{text}` is not {expected}")]
    BadField {
        file: String,
        line: usize,
        col: usize,
        column: &'static str,
        text: String,
        expected: &'static str,
    },
    #[error(
        "{file}:{line}: column 2 (start_ns) {start_ns} is before the previous row's {prev_ns}; \
         rows must be sorted by start time"
    )]
    OutOfOrder { file: String, line: usize, start_ns: u64, prev_ns: u64 },
    #[error("{file}:{line}: column 1 (flow_id) {id} already used on line {first_line}")]
    DuplicateId { file: String, line: usize, id: u64, first_line: usize },
    #[error("{file}:{line}: metadata `{key}` has value `{text}`, expected {expected}")]
    BadMeta { file: String, line: usize, key: &'static str, text: String, expected: &'static str },
}

impl Trace {
    /// Sum of flow sizes.
    pub fn total_bytes(&self) -> u128 {
        self.flows.iter().map(|f| f.size_bytes as u128).sum()
    }

    /// Bits offered per second over `duration`, as a fraction of `link`.
    pub fn offered_load(&self, link: Bps, duration: Dur) -> f64 {
        self.total_bytes() as f64 * 8.0 / (link.0 as f64 * duration.as_secs_f64())
    }

    /// Writes the CSV (metadata lines first if known).
    pub fn write_csv<W: Write>(&self, w: &mut W) -> io::Result<()> {
        write_flows(w, self.meta.as_ref(), self.flows.iter().copied()).map(|_| ())
    }

    /// Writes to `path` through a temporary file in the same folder, renamed into place once
    /// complete, so an interrupted run never leaves a half-written trace under `path`.
    pub fn write_file(&self, path: &Path) -> Result<(), TraceError> {
        write_flows_file(path, self.meta.as_ref(), self.flows.iter().copied()).map(|_| ())
    }

    /// Reads a trace file; see [`Trace::parse`].
    pub fn from_path(path: &Path) -> Result<Trace, TraceError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
            file: file.clone(),
            op: "read",
            source,
        })?;
        Trace::parse(&file, &text)
    }

    /// Parses trace CSV text; `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Trace, TraceError> {
        let f = || file.to_string();
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let mut meta = MetaBuilder::default();
        let mut header = None;
        for (line, l) in lines.by_ref() {
            if let Some(c) = l.strip_prefix('#') {
                meta.take(file, line, c.trim())?;
            } else if !l.trim().is_empty() {
                header = Some((line, l));
                break;
            }
        }
        let (hline, h) = header.ok_or(TraceError::BadHeader {
            file: f(),
            line: text.lines().count().max(1),
            found: String::new(),
        })?;
        if h.trim() != HEADER {
            return Err(TraceError::BadHeader { file: f(), line: hline, found: h.to_string() });
        }
        let mut flows = Vec::new();
        let mut ids: Vec<(u64, usize)> = Vec::new();
        let mut prev = 0u64;
        for (line, l) in lines {
            if l.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = l.split(',').map(str::trim).collect();
            if fields.len() != 8 {
                return Err(TraceError::FieldCount { file: f(), line, found: fields.len() });
            }
            let bad = |col: usize, expected: &'static str| TraceError::BadField {
                file: f(),
                line,
                col: col + 1,
                column: COLUMNS[col],
                text: fields[col].to_string(),
                expected,
            };
            let num =
                |col: usize| fields[col].parse::<u64>().map_err(|_| bad(col, "a whole number"));
            let ip = |col: usize| {
                Ipv4Addr::from_str(fields[col]).map_err(|_| bad(col, "a dotted IPv4 address"))
            };
            let port =
                |col: usize| fields[col].parse::<u16>().map_err(|_| bad(col, "a port 0..=65535"));
            let id = num(0)?;
            let start_ns = num(1)?;
            let size_bytes = num(2)?;
            if size_bytes == 0 {
                return Err(bad(2, "a positive number of bytes"));
            }
            let tuple = FiveTuple {
                src: ip(3)?,
                dst: ip(4)?,
                sport: port(5)?,
                dport: port(6)?,
                proto: fields[7].parse::<u8>().map_err(|_| bad(7, "a protocol number 0..=255"))?,
            };
            if start_ns < prev {
                return Err(TraceError::OutOfOrder { file: f(), line, start_ns, prev_ns: prev });
            }
            prev = start_ns;
            ids.push((id, line));
            flows.push(Flow {
                id: FlowId(id),
                start: Time::from_nanos(start_ns),
                size_bytes,
                tuple,
            });
        }
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(TraceError::DuplicateId {
                file: f(),
                line: w[1].1,
                id: w[1].0,
                first_line: w[0].1,
            });
        }
        Ok(Trace { meta: meta.finish(), flows })
    }
}

/// How many flows and bytes a write saw.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub flows: u64,
    pub bytes: u128,
}

/// Writes a trace CSV from a stream of flows (in start order), without holding them: the
/// same bytes as [`Trace::write_csv`] on the collected flows.
pub fn write_flows<W: Write, I: IntoIterator<Item = Flow>>(
    w: &mut W,
    meta: Option<&TraceMeta>,
    flows: I,
) -> io::Result<Written> {
    let mut buf = String::with_capacity(64 * 1024);
    if let Some(m) = meta {
        // `{}` on f64 prints the shortest string that parses back to the same bits.
        let dist: String = m.dist.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
        writeln!(buf, "# dist={dist}").expect("invariant: String writes cannot fail");
        writeln!(buf, "# load={}", m.load).expect("invariant: String writes cannot fail");
        writeln!(buf, "# link_bps={}", m.link.0).expect("invariant: String writes cannot fail");
        writeln!(buf, "# duration_ns={}", m.duration.as_nanos()).expect("invariant: String");
        writeln!(buf, "# seed={}", m.seed).expect("invariant: String writes cannot fail");
    }
    buf.push_str(HEADER);
    buf.push('\n');
    let mut n = Written::default();
    for f in flows {
        let t = &f.tuple;
        writeln!(
            buf,
            "{},{},{},{},{},{},{},{}",
            f.id.0,
            f.start.as_nanos(),
            f.size_bytes,
            t.src,
            t.dst,
            t.sport,
            t.dport,
            t.proto
        )
        .expect("invariant: String writes cannot fail");
        n.flows += 1;
        n.bytes += f.size_bytes as u128;
        if buf.len() > 60 * 1024 {
            w.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    w.write_all(buf.as_bytes())?;
    Ok(n)
}

/// [`write_flows`] to `path` through a temporary file in the same folder, renamed into place
/// once complete and synced, so an interrupted run never leaves a half-written trace there.
pub fn write_flows_file<I: IntoIterator<Item = Flow>>(
    path: &Path,
    meta: Option<&TraceMeta>,
    flows: I,
) -> Result<Written, TraceError> {
    let io_err = |source| TraceError::Io { file: path.display().to_string(), op: "write", source };
    let name = path.file_name().ok_or_else(|| {
        io_err(io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))
    })?;
    let tmp =
        path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = io::BufWriter::new(f);
        let n = write_flows(&mut w, meta, flows)?;
        w.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

#[derive(Default)]
struct MetaBuilder {
    dist: Option<String>,
    load: Option<f64>,
    link_bps: Option<u64>,
    duration_ns: Option<u64>,
    seed: Option<u64>,
}

impl MetaBuilder {
    fn take(&mut self, file: &str, line: usize, comment: &str) -> Result<(), TraceError> {
        let Some((key, value)) = comment.split_once('=') else { return Ok(()) };
        let value = value.trim();
        let bad = |key: &'static str, expected: &'static str| TraceError::BadMeta {
            file: file.to_string(),
            line,
            key,
            text: value.to_string(),
            expected,
        };
        let whole = |key| value.parse::<u64>().map_err(|_| bad(key, "a whole number"));
        match key.trim() {
            "dist" => self.dist = Some(value.to_string()),
            "load" => {
                self.load = Some(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|l| l.is_finite() && *l > 0.0)
                        .ok_or_else(|| bad("load", "a positive number"))?,
                )
            }
            "link_bps" => self.link_bps = Some(whole("link_bps")?),
            "duration_ns" => self.duration_ns = Some(whole("duration_ns")?),
            "seed" => self.seed = Some(whole("seed")?),
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Option<TraceMeta> {
        Some(TraceMeta {
            dist: self.dist?,
            load: self.load?,
            link: Bps(self.link_bps.filter(|&b| b > 0)?),
            duration: Dur::from_nanos(self.duration_ns.filter(|&d| d > 0)?),
            seed: self.seed?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "flow_id,start_ns,size_bytes,src,dst,sport,dport,proto\n\
                      0,10,100,10.0.0.0,172.16.0.0,1024,80,6\n\
                      1,20,1500,10.0.0.1,172.16.0.1,1024,80,17\n";

    #[test]
    fn a_small_trace_parses() {
        let t = Trace::parse("t.csv", OK).unwrap();
        assert_eq!(t.flows.len(), 2);
        assert_eq!(t.meta, None);
        assert_eq!(t.flows[1].tuple.proto, 17);
        assert_eq!(t.total_bytes(), 1600);
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let e = Trace::parse("t.csv", &OK.replace("1500", "15x0")).unwrap_err();
        assert_eq!(e.to_string(), "t.csv:3: column 3 (size_bytes) `15x0` is not a whole number");
        let e = Trace::parse("t.csv", &OK.replace("10.0.0.1,", "10.0.0.300,")).unwrap_err();
        assert!(matches!(e, TraceError::BadField { line: 3, col: 4, .. }), "{e}");
        let e = Trace::parse("t.csv", &OK.replace(",80,17", ",70000,17")).unwrap_err();
        assert!(matches!(e, TraceError::BadField { line: 3, col: 7, .. }), "{e}");
        let e = Trace::parse("t.csv", &OK.replace(",20,", ",5,")).unwrap_err();
        assert!(matches!(e, TraceError::OutOfOrder { line: 3, .. }), "{e}");
        let e = Trace::parse("t.csv", &OK.replace("1,20", "0,20")).unwrap_err();
        assert!(matches!(e, TraceError::DuplicateId { line: 3, first_line: 2, .. }), "{e}");
        let e = Trace::parse("t.csv", &OK.replace(",6\n", ",6,1\n")).unwrap_err();
        assert!(matches!(e, TraceError::FieldCount { line: 2, found: 9, .. }), "{e}");
        let e = Trace::parse("t.csv", &OK.replace(",100,", ",0,")).unwrap_err();
        assert!(matches!(e, TraceError::BadField { line: 2, col: 3, .. }), "{e}");
        let e = Trace::parse("t.csv", "# load=-1\n").unwrap_err();
        assert!(matches!(e, TraceError::BadMeta { line: 1, key: "load", .. }), "{e}");
        let e = Trace::parse("t.csv", "size_bytes,cdf\n0,0\n").unwrap_err();
        assert!(matches!(e, TraceError::BadHeader { line: 1, .. }), "{e}");
    }

    #[test]
    fn write_file_leaves_no_temporary_behind() {
        let dir = std::env::temp_dir().join(format!("nftwin-trace-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = Trace::parse("t.csv", OK).unwrap();
        let p = dir.join("t.csv");
        t.write_file(&p).unwrap();
        assert_eq!(Trace::from_path(&p).unwrap(), t);
        let names: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("t.csv")]);
        // A folder that does not exist is an error naming the path, and leaves nothing.
        let e = t.write_file(&dir.join("no/such/t.csv")).unwrap_err();
        assert!(e.to_string().contains("no/such/t.csv"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
