//! `bsdx rcd`: a project's declared service (Cargo.toml
//! `[package.metadata.bsdx.service]`, read by [`crate::project`]) turned
//! into its rc.d script and newsyslog drop-in ([`generate`]), and `bsdx rcd
//! lint`, which checks any rc.d script against rc.subr and daemon(8)
//! ([`lint`], findings in [`report`]).

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::model::service::Service;
use crate::project::Project;

pub mod generate;
pub mod lint;
pub mod report;
mod shell;

pub use report::{Code, Finding, Report};

/// What `bsdx rcd` generated (and wrote, with `--out`).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Generated {
    pub schema: u32,
    pub name: String,
    pub service: Service,
    /// The rc.d script (`/usr/local/etc/rc.d/<name>`).
    pub script: String,
    /// The newsyslog drop-in (`/usr/local/etc/newsyslog.conf.d/<name>.conf`).
    pub newsyslog: String,
    /// Files written with `--out`.
    pub written: Vec<PathBuf>,
}

/// Generate the project's files; with `out`, write `out/rc.d/<name>` and
/// `out/newsyslog.conf.d/<name>.conf` (never replacing a file unless
/// `force`; each written to a temporary file and renamed).
pub fn generate_for(project: &Project, out: Option<&Path>, force: bool) -> Result<Generated> {
    let s = &project.service;
    let script = generate::script(s);
    let newsyslog = generate::newsyslog(s);
    let mut written = Vec::new();
    if let Some(out) = out {
        let files = [
            (out.join("rc.d").join(&s.name), &script, 0o755),
            (
                out.join("newsyslog.conf.d")
                    .join(format!("{}.conf", s.name)),
                &newsyslog,
                0o644,
            ),
        ];
        for (path, _, _) in &files {
            crate::output::refuse_existing(path, force)?;
        }
        for (path, text, mode) in files {
            written.push(crate::output::write_new(
                &path,
                text.as_bytes(),
                mode,
                force,
            )?);
        }
    }
    Ok(Generated {
        schema: 1,
        name: s.name.clone(),
        service: s.clone(),
        script,
        newsyslog,
        written,
    })
}
