//! daemon(8)'s command line as daemon itself reads it (its getopt letters
//! and long names), for the rules about a service started through it.

use std::collections::{BTreeMap, BTreeSet};

/// daemon(8)'s options: (letter, takes a value), and the long names.
const DAEMON_FLAGS: &str = "cfHrSh";
const DAEMON_VALUED: &str = "pPuotlsTmR";
const DAEMON_LONG: &[(&str, char)] = &[
    ("change-dir", 'c'),
    ("close-fds", 'f'),
    ("sighup", 'H'),
    ("syslog", 'S'),
    ("output-file", 'o'),
    ("output-mask", 'm'),
    ("child-pidfile", 'p'),
    ("supervisor-pidfile", 'P'),
    ("restart", 'r'),
    ("restart-delay", 'R'),
    ("title", 't'),
    ("user", 'u'),
    ("syslog-priority", 's'),
    ("syslog-facility", 'l'),
    ("syslog-tag", 'T'),
    ("help", 'h'),
];

#[derive(Debug, Default, Clone)]
pub(super) struct DaemonArgs {
    pub flags: BTreeSet<char>,
    pub values: BTreeMap<char, String>,
    /// The command daemon runs, and its arguments.
    pub child: Vec<String>,
}

impl DaemonArgs {
    /// `-r` or `-R`: daemon restarts the child.
    pub fn restarts(&self) -> bool {
        self.flags.contains(&'r') || self.values.contains_key(&'R')
    }

    /// daemon stays as a supervisor (restarts, pid files, output).
    pub fn supervises(&self) -> bool {
        self.restarts()
            || self.values.contains_key(&'P')
            || self.values.contains_key(&'p')
            || self.values.contains_key(&'o')
    }

    /// The pid file daemon writes: the supervisor's (`-P`), else the
    /// child's (`-p`).
    pub fn pidfile(&self) -> Option<&String> {
        self.values.get(&'P').or(self.values.get(&'p'))
    }
}

pub(super) fn parse_daemon(args: &[String]) -> DaemonArgs {
    let mut d = DaemonArgs::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (k, v) = match long.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (long, None),
            };
            if let Some((_, ch)) = DAEMON_LONG.iter().find(|(n, _)| *n == k) {
                if DAEMON_VALUED.contains(*ch) {
                    let v = v.or_else(|| {
                        i += 1;
                        args.get(i).cloned()
                    });
                    d.values.insert(*ch, v.unwrap_or_default());
                } else {
                    d.flags.insert(*ch);
                }
            }
            i += 1;
            continue;
        }
        if !a.starts_with('-') || a.len() < 2 {
            break;
        }
        let letters: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        while j < letters.len() {
            let ch = letters[j];
            if DAEMON_VALUED.contains(ch) {
                let rest: String = letters[j + 1..].iter().collect();
                let v = if rest.is_empty() {
                    i += 1;
                    args.get(i).cloned().unwrap_or_default()
                } else {
                    rest
                };
                d.values.insert(ch, v);
                break;
            }
            if DAEMON_FLAGS.contains(ch) {
                d.flags.insert(ch);
            }
            j += 1;
        }
        i += 1;
    }
    d.child = args[i.min(args.len())..].to_vec();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> DaemonArgs {
        let a: Vec<String> = s.split(' ').map(str::to_string).collect();
        parse_daemon(&a)
    }

    #[test]
    fn daemon_options_like_getopt() {
        let d = parse("-fr -R 10 -P/x.pid -u bob --output-file=/l -H /bin/x -v");
        assert!(d.flags.contains(&'f') && d.flags.contains(&'r') && d.flags.contains(&'H'));
        assert_eq!(d.values[&'P'], "/x.pid");
        assert_eq!(d.values[&'R'], "10");
        assert_eq!(d.values[&'o'], "/l");
        assert_eq!(d.child, ["/bin/x", "-v"]);
        assert!(d.restarts() && d.supervises());
        assert_eq!(d.pidfile().map(String::as_str), Some("/x.pid"));
    }

    #[test]
    fn plain_daemon_and_the_end_of_options() {
        let d = parse("-f --child-pidfile /c.pid -- -x");
        assert!(!d.restarts() && d.supervises());
        assert_eq!(d.pidfile().map(String::as_str), Some("/c.pid"));
        assert_eq!(d.child, ["-x"]);
        let d = parse("-f /bin/x");
        assert!(!d.supervises() && d.pidfile().is_none());
    }
}
