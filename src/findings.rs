//! What every findings report shares (`bsdx check`, `bsdx rcd lint`, the
//! problems of `bsdx package --inspect`): a finding's [`Level`], the
//! [`Tally`] of a report's findings, and the exit code it gives.

use schemars::JsonSchema;
use serde::Serialize;

use crate::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    /// The word the human views print (`error`, `warning`, `info`).
    pub fn label(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

// How many findings of each level a report has, and how many inputs could
// not be read, flattened into each report's `--json`. (A plain comment: a
// doc comment would become the reports' schema description.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Tally {
    pub errors: usize,
    pub warnings: usize,
    pub unreadable: usize,
}

impl Tally {
    /// Count the `levels` of every finding; `unreadable` inputs as given.
    pub fn count(levels: impl IntoIterator<Item = Level>, unreadable: usize) -> Tally {
        let mut t = Tally {
            unreadable,
            ..Tally::default()
        };
        for l in levels {
            match l {
                Level::Error => t.errors += 1,
                Level::Warning => t.warnings += 1,
                Level::Info => {}
            }
        }
        t
    }

    /// [`exit::OK`] no errors, [`exit::FAILURE`] errors (or warnings with
    /// `strict`), [`exit::UNREADABLE`] an input could not be read.
    pub fn exit_code(&self, strict: bool) -> i32 {
        if self.unreadable > 0 {
            exit::UNREADABLE
        } else if self.errors > 0 || (strict && self.warnings > 0) {
            exit::FAILURE
        } else {
            exit::OK
        }
    }

    /// `N error(s), M warning(s)` and `, K unreadable` when there are any:
    /// the end of each report's summary line.
    pub fn summary(&self) -> String {
        let mut s = format!("{} error(s), {} warning(s)", self.errors, self.warnings);
        if self.unreadable > 0 {
            s.push_str(&format!(", {} unreadable", self.unreadable));
        }
        s
    }
}

/// The string serde writes for `value`, a unit enum variant (a finding's
/// `Code`, spelled by its `#[serde(rename_all = ...)]`): the one spelling
/// `--json`, the human views and the README share.
pub fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("serde_name of a value that is not a unit variant: {other:?}"),
    }
}

/// `as_str` and `Display` for a findings `Code` enum, both the string
/// serde writes for it in `--json` ([`serde_name`]): no hand-written table.
macro_rules! spelled_by_serde {
    ($code:ty) => {
        impl $code {
            /// The name as serde spells it in `--json`.
            pub fn as_str(self) -> String {
                $crate::findings::serde_name(&self)
            }
        }

        impl std::fmt::Display for $code {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.as_str())
            }
        }
    };
}
pub(crate) use spelled_by_serde;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_exit_codes() {
        let t = Tally::count([Level::Info, Level::Warning, Level::Info], 0);
        assert_eq!((t.errors, t.warnings, t.unreadable), (0, 1, 0));
        assert_eq!(t.exit_code(false), exit::OK);
        assert_eq!(t.exit_code(true), exit::FAILURE);
        assert_eq!(t.summary(), "0 error(s), 1 warning(s)");

        let t = Tally::count([Level::Error], 0);
        assert_eq!(t.exit_code(false), exit::FAILURE);

        // An unreadable input wins over findings.
        let t = Tally::count([Level::Error, Level::Warning], 2);
        assert_eq!(t.exit_code(false), exit::UNREADABLE);
        assert_eq!(t.summary(), "1 error(s), 1 warning(s), 2 unreadable");

        assert_eq!(Tally::count([], 0).exit_code(true), exit::OK);
        assert_eq!(Level::Warning.label(), "warning");
        assert_eq!(serde_name(&Level::Warning), "warning");
    }
}
