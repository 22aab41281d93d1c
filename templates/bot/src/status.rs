//! Host status for `/status`, collected with `sysinfo`.

use std::fmt;

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// 1, 5 and 15 minute load averages; `None` where unsupported (Windows).
    pub load_avg: Option<[f64; 3]>,
    pub used_memory: u64,
    pub total_memory: u64,
    pub uptime_secs: u64,
    pub processes: usize,
}

impl Status {
    /// Reads the current values. Blocking (walks the process table): call it
    /// from `tokio::task::spawn_blocking` in async code.
    pub fn collect() -> Result<Self, sysinfo::Error> {
        let mut sys = System::new()?;
        sys.refresh_memory();
        sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing(),
        );
        let load_avg = match System::load_average() {
            Ok(l) => Some([l.one, l.five, l.fifteen]),
            Err(sysinfo::Error::Unsupported) => None,
            Err(e) => return Err(e),
        };
        Ok(Status {
            load_avg,
            used_memory: sys.used_memory(),
            total_memory: sys.total_memory(),
            uptime_secs: System::uptime()?,
            processes: sys.processes().len(),
        })
    }
}

/// `1536` → `1.5 KiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `90061` → `1d 1h 1m`.
pub fn format_uptime(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m {}s", secs % 60),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h {minutes}m"),
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.load_avg {
            Some([a, b, c]) => writeln!(f, "Load average: {a:.2} {b:.2} {c:.2}")?,
            None => writeln!(f, "Load average: n/a")?,
        }
        let pct = if self.total_memory == 0 {
            0.0
        } else {
            self.used_memory as f64 * 100.0 / self.total_memory as f64
        };
        writeln!(
            f,
            "Memory: {} / {} ({pct:.0}%)",
            format_bytes(self.used_memory),
            format_bytes(self.total_memory)
        )?;
        writeln!(f, "Uptime: {}", format_uptime(self.uptime_secs))?;
        write!(f, "Processes: {}", self.processes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_status() {
        let s = Status {
            load_avg: Some([0.5, 1.25, 2.0]),
            used_memory: 2 * 1024 * 1024 * 1024,
            total_memory: 8 * 1024 * 1024 * 1024,
            uptime_secs: 90_061,
            processes: 123,
        };
        assert_eq!(
            s.to_string(),
            "Load average: 0.50 1.25 2.00\n\
             Memory: 2.0 GiB / 8.0 GiB (25%)\n\
             Uptime: 1d 1h 1m\n\
             Processes: 123"
        );
        let s = Status {
            load_avg: None,
            total_memory: 0,
            used_memory: 0,
            ..s
        };
        assert!(
            s.to_string()
                .starts_with("Load average: n/a\nMemory: 0 B / 0 B (0%)\n")
        );
    }

    #[test]
    fn formats_bytes_and_uptime() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(format_uptime(59), "0m 59s");
        assert_eq!(format_uptime(3_600 + 120), "1h 2m");
        assert_eq!(format_uptime(2 * 86_400), "2d 0h 0m");
    }

    #[test]
    fn collects_sane_values() {
        let s = Status::collect().expect("collect status");
        assert!(s.total_memory > 0);
        assert!(s.used_memory <= s.total_memory);
        assert!(s.processes > 0);
        if let Some(load) = s.load_avg {
            assert!(load.iter().all(|l| l.is_finite() && *l >= 0.0));
        }
    }
}
