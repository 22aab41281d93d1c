use std::time::Duration;

use anyhow::{bail, Result};

use super::*;
use crate::cli::{RunArgs, VmArgs};
use crate::model::target::Target;
use crate::vm::{inputs::Sources, Options, Outcome};

/// Variables a program always gets from the host (cargo's test harness
/// settings, package metadata, nextest's), besides `--env`.
fn passed_on(name: &str) -> bool {
    ["RUST_", "CARGO_PKG_", "NEXTEST_"]
        .iter()
        .any(|p| name.starts_with(p))
        || name == "CARGO_CRATE_NAME"
}

/// The guest environment `--env` and the host ask for.
pub(super) fn guest_env(vm: &VmArgs) -> Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| passed_on(k)).collect();
    env.sort();
    for e in &vm.env {
        let (k, v) = match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => match std::env::var(e) {
                Ok(v) => (e.clone(), v),
                Err(_) => {
                    eprintln!("bsdx: note: --env {e}: not set here, so not passed on");
                    continue;
                }
            },
        };
        if k.is_empty() || k.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            bail!("--env {e}: `{k}` is not an environment variable name\n  fix: --env NAME=VALUE, NAME made of letters, digits and _");
        }
        env.retain(|(n, _)| *n != k);
        env.push((k, v));
    }
    Ok(env)
}

pub(super) fn options(vm: &VmArgs, release: String, target: Target) -> Result<Options> {
    Ok(Options {
        target,
        release,
        binary: Default::default(),
        args: vec![],
        timeout: Duration::from_secs(vm.timeout),
        mount: vm.mount.clone(),
        root: vm.root,
        guest_env: guest_env(vm)?,
        accel: vm.accel,
        memory_mb: vm.memory,
        cpus: vm.cpus,
        sources: Sources {
            kernel_txz: vm.kernel_txz.clone(),
            base_txz: vm.base_txz.clone(),
            lock: vm.lock.clone(),
            mirror: vm.mirror.clone(),
        },
        capture: false,
        console: vm.console,
        quiet: vm.quiet,
        dry_run: false,
    })
}

pub fn execute(a: RunArgs) -> Result<i32> {
    let explicit = a.target.is_some();
    let target = a.target.unwrap_or_else(|| {
        Target::parse(crate::model::target::DEFAULT).expect("the default parses")
    });
    let mut opts = options(&a.vm, a.release, target)?;
    opts.binary = a.binary;
    opts.args = a.args;
    opts.capture = a.json;
    opts.dry_run = a.dry_run;
    let report = crate::vm::run(opts, explicit)?;
    if a.json {
        print_json(&report)?;
    } else if report.outcome == Outcome::DryRun {
        eprintln!(
            "bsdx: boot ISO {}{}",
            report.media.iso.display(),
            if report.media.cached { " (cached)" } else { "" }
        );
        println!("{}", report.qemu);
    } else {
        eprint!("{}", report.render());
    }
    Ok(report.exit_code)
}
