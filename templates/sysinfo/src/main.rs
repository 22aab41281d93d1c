//! bsdx-sysinfo-template: prints a few host statistics using the `sysinfo` crate.
//!
//! Built for FreeBSD with `bsdx build`; also runs natively on Linux/macOS.

use std::fmt;
use std::process::ExitCode;

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

/// A snapshot of the host's statistics.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    /// `None` where the platform has no load average (Windows).
    load_avg: Option<(f64, f64, f64)>,
    total_memory_bytes: u64,
    uptime_secs: u64,
    processes: usize,
}

impl Snapshot {
    fn collect() -> Result<Self, sysinfo::Error> {
        let mut sys = System::new()?;
        sys.refresh_memory();
        sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing(),
        );
        let load_avg = match System::load_average() {
            Ok(l) => Some((l.one, l.five, l.fifteen)),
            Err(sysinfo::Error::Unsupported) => None,
            Err(e) => return Err(e),
        };
        Ok(Snapshot {
            load_avg,
            total_memory_bytes: sys.total_memory(),
            uptime_secs: System::uptime()?,
            processes: sys.processes().len(),
        })
    }
}

fn format_uptime(secs: u64) -> String {
    let days = secs / 86_400;
    let hours = (secs % 86_400) / 3_600;
    let minutes = (secs % 3_600) / 60;
    if days > 0 {
        format!("{days}d {hours}h {minutes}m")
    } else {
        format!("{hours}h {minutes}m")
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.load_avg {
            Some((one, five, fifteen)) => {
                writeln!(f, "load average: {one:.2} {five:.2} {fifteen:.2}")?
            }
            None => writeln!(f, "load average: n/a")?,
        }
        writeln!(
            f,
            "total memory: {} MiB",
            self.total_memory_bytes / (1024 * 1024)
        )?;
        writeln!(f, "uptime:       {}", format_uptime(self.uptime_secs))?;
        write!(f, "processes:    {}", self.processes)
    }
}

fn main() -> ExitCode {
    match Snapshot::collect() {
        Ok(snapshot) => {
            println!("{snapshot}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot read system information: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_snapshot_and_collects_sane_values() {
        let s = Snapshot {
            load_avg: Some((0.5, 1.25, 2.0)),
            total_memory_bytes: 8 * 1024 * 1024 * 1024,
            uptime_secs: 90_061,
            processes: 42,
        };
        assert_eq!(
            s.to_string(),
            "load average: 0.50 1.25 2.00\n\
             total memory: 8192 MiB\n\
             uptime:       1d 1h 1m\n\
             processes:    42"
        );

        let live = Snapshot::collect().expect("collect system information");
        assert!(live.total_memory_bytes > 0);
        assert!(live.processes > 0);
    }
}
