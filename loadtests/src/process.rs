//! The server process as `/proc` shows it, for the scenarios that report its CPU and memory
//! (`compare`, `fanout`, `search`; `--server-pid`): parsing `/proc/<pid>/stat` and
//! `/proc/<pid>/status`, and the CPU arithmetic. The parsing is pure and tested here.

use anyhow::{Context, Result};
use serde::Serialize;

/// What the report reads of `/proc/<pid>/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// The command name (field 2), without its parentheses.
    pub comm: String,
    /// Field 3: `R`, `S`, `D`…
    pub state: char,
    /// Fields 14 and 15: CPU time in user and kernel mode, in clock ticks, all threads.
    pub utime: u64,
    pub stime: u64,
    /// Field 20.
    pub threads: u64,
}

impl ProcStat {
    pub fn cpu_ticks(&self) -> u64 {
        self.utime + self.stime
    }
}

/// Parses `/proc/<pid>/stat`. The command name may hold spaces and parentheses (a thread can
/// rename itself to anything), so it runs from the first `(` to the *last* `)` and the other
/// fields are counted after that.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // `fields[0]` is field 3 of proc(5).
    let field = |n: usize| fields.get(n - 3).copied();
    Some(ProcStat {
        comm: text[open + 1..close].to_string(),
        state: field(3)?.chars().next()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        threads: field(20)?.parse().ok()?,
    })
}

/// The resident set now and at its peak, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident set since the process started.
    pub hwm_kib: u64,
    /// `RssAnon`: the part of `VmRSS` the program allocated. The rest is mostly file pages
    /// (the binary's code, the mapped search index), which the kernel can drop and re-read,
    /// and whose size depends on the kernel's fault-around as much as on the program.
    pub anon_kib: Option<u64>,
}

/// Reads `VmRSS`, `VmHWM` and `RssAnon` (in kB) from `/proc/<pid>/status`.
pub fn parse_memory(status: &str) -> Option<Memory> {
    Some(Memory {
        rss_kib: status_kib(status, "VmRSS:")?,
        hwm_kib: status_kib(status, "VmHWM:")?,
        anon_kib: status_kib(status, "RssAnon:"),
    })
}

/// A `kB` field of `/proc/<pid>/status`, e.g. `VmRSS:`.
pub fn status_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(value)
}

/// The server process, read through `/proc` (it must run on this machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerProcess {
    pub pid: u32,
}

impl ServerProcess {
    pub fn stat(self) -> Result<ProcStat> {
        let path = format!("/proc/{}/stat", self.pid);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("reading {path} (is --server-pid right?)"))?;
        parse_stat(&text).with_context(|| format!("no utime/stime in {path}"))
    }

    pub fn memory(self) -> Result<Memory> {
        let path = format!("/proc/{}/status", self.pid);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("reading {path} (is --server-pid right?)"))?;
        parse_memory(&text).with_context(|| format!("no VmRSS/VmHWM in {path}"))
    }

    /// `utime + stime` of every thread, in clock ticks.
    pub fn cpu_ticks(self) -> Result<u64> {
        Ok(self.stat()?.cpu_ticks())
    }

    /// `VmRSS`, in KiB.
    pub fn rss_kib(self) -> Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("reading {path} (is --server-pid right?)"))?;
        status_kib(&text, "VmRSS:").with_context(|| format!("no VmRSS in {path}"))
    }
}

/// The clock ticks per second `/proc/<pid>/stat` counts in (`USER_HZ`).
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: `sysconf` only reads a configuration value; it has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // -1 means unknown; 100 is the value on every Linux this runs on.
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// Server CPU per request in microseconds: `ticks` over a phase, at `ticks_per_sec`, divided
/// by the requests of that phase; `None` without requests.
pub fn cpu_us_per_request(ticks: u64, ticks_per_sec: u64, requests: u64) -> Option<f64> {
    (requests > 0 && ticks_per_sec > 0).then(|| ticks as f64 * 1_000_000.0 / ticks_per_sec as f64 / requests as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (clowder) S 1 4242 4242 0 -1 4194560 2071 0 0 0 1234 567 0 0 20 0 9 0 100 \
                        41234432 5120 18446744073709551615 1 1 0 0 0 0 0 4096 17987 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn proc_stat_fields_are_counted_after_the_command_name() {
        let stat = parse_stat(STAT).unwrap();
        assert_eq!(stat.comm, "clowder");
        assert_eq!((stat.state, stat.utime, stat.stime, stat.threads), ('S', 1234, 567, 9));
        assert_eq!(stat.cpu_ticks(), 1801);
    }

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let odd = STAT.replace("(clowder)", "(tokio (rt) ) w)");
        let stat = parse_stat(&odd).unwrap();
        assert_eq!(stat.comm, "tokio (rt) ) w");
        assert_eq!((stat.state, stat.utime, stat.stime, stat.threads), ('S', 1234, 567, 9));
        // Without the last `)` or with fields missing there is nothing to read.
        assert_eq!(parse_stat("4242 (clowder S 1 2"), None);
        assert_eq!(parse_stat("4242 (clowder) S 1 4242"), None);
        assert_eq!(parse_stat(") 4242 ("), None);
    }

    #[test]
    fn proc_status_gives_the_resident_set_and_its_peak() {
        let status = "Name:\tclowder\nVmPeak:\t 1000 kB\nVmHWM:\t   90112 kB\nVmRSS:\t   81920 kB\nThreads:\t9\n";
        assert_eq!(parse_memory(status), Some(Memory { rss_kib: 81920, hwm_kib: 90112, anon_kib: None }));
        let status = "VmHWM:\t   90112 kB\nVmRSS:\t   81920 kB\nRssAnon:\t   40960 kB\n";
        assert_eq!(parse_memory(status), Some(Memory { rss_kib: 81920, hwm_kib: 90112, anon_kib: Some(40960) }));
        assert_eq!(parse_memory("VmRSS:\t 1 kB\n"), None);
        assert_eq!(parse_memory("VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n"), None);
    }

    #[test]
    fn proc_status_and_stat_are_read() {
        let status = "Name:\tclowder\nVmPeak:\t  300000 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 40000 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(51234));
        assert_eq!(status_kib("Name:\tx\n", "VmRSS:"), None);
        // The name may hold spaces and parentheses.
        let stat = "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_stat(stat).map(|s| s.cpu_ticks()), Some(1234 + 567));
        assert_eq!(parse_stat("4242 (short) S 1"), None);
    }
}
