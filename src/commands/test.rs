use std::path::Path;

use anyhow::{Context, Result};

use super::*;
use crate::cli::TestArgs;

fn absolute(p: &Path) -> Result<String> {
    let abs = std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))?;
    Ok(abs.display().to_string())
}

pub fn execute(mut a: TestArgs) -> Result<i32> {
    let (target, release) = (a.target.target, a.target.release);
    let libs = a.libs.libs(release)?;
    a.vm.make_paths_absolute()?;
    let (_, libs) = enter_project(&a.path, libs)?;
    let env = crate::env::compute(&target, release, &libs, &crate::env::Paths::current()?)?;
    let zigbuild = crate::toolchain::cargo_zigbuild()?;
    // Each test binary runs with the package directory (cargo's working
    // directory for tests) copied to /mnt, unless --mount says otherwise.
    let mount = match &a.vm.mount {
        Some(m) => absolute(m)?,
        None => ".".into(),
    };
    let mut extra = vec!["--mount".to_string(), mount];
    for e in &a.vm.env {
        extra.push("--env".into());
        extra.push(e.clone());
    }
    let runner = crate::env::runner_command(&release.release, &target, &extra)?;
    let runner_var = format!("{}RUNNER", target.cargo_env_prefix());
    let mut args: Vec<String> = vec!["test".into(), "--target".into(), target.triple.into()];
    args.extend(a.cargo_args.iter().cloned());
    let mut cmd = env
        .apply(duct::cmd(&zigbuild.path, &args))
        .env(&runner_var, &runner);
    // The VM options reach every `bsdx run` cargo starts through their variables.
    let vm = &a.vm;
    let lock = match &vm.lock {
        Some(l) => absolute(l)?,
        None => crate::vm::lock::default_lock()?.display().to_string(),
    };
    let mut vars: Vec<(&str, String)> = vec![
        ("BSDX_RUN_TIMEOUT", vm.timeout.to_string()),
        ("BSDX_RUN_MEMORY", vm.memory.to_string()),
        ("BSDX_RUN_LOCK", lock),
        (
            "BSDX_ACCEL",
            clap::ValueEnum::to_possible_value(&vm.accel)
                .expect("not skipped")
                .get_name()
                .to_string(),
        ),
    ];
    if let Some(n) = vm.cpus {
        vars.push(("BSDX_RUN_CPUS", n.to_string()));
    }
    for (name, file) in [
        ("BSDX_KERNEL_TXZ", &vm.kernel_txz),
        ("BSDX_BASE_TXZ", &vm.base_txz),
    ] {
        if let Some(f) = file {
            vars.push((name, absolute(f)?));
        }
    }
    if let Some(m) = &vm.mirror {
        vars.push(("BSDX_MIRROR", m.clone()));
    }
    for (name, on) in [
        ("BSDX_RUN_ROOT", vm.root),
        ("BSDX_RUN_CONSOLE", vm.console),
        ("BSDX_RUN_QUIET", vm.quiet),
    ] {
        vars.push((name, if on { "true" } else { "false" }.into()));
    }
    for (k, v) in &vars {
        cmd = cmd.env(k, v);
    }
    cmd = cmd.env_remove("BSDX_RUN_MOUNT");
    eprintln!(
        "bsdx: testing for {} on FreeBSD {} in QEMU: each test binary boots its own VM\n      {runner_var}={runner}",
        env.target, env.release
    );
    if a.json {
        return summarise(cmd, &env, &zigbuild.path);
    }
    let status = cmd
        .unchecked()
        .run()
        .with_context(|| format!("cannot run {} test", zigbuild.path.display()))?
        .status;
    Ok(status.code().unwrap_or(exit::FAILURE))
}

/// `bsdx test --json`: cargo's and the tests' output go on to stderr as
/// they come, and a summary of the runs to stdout at the end.
fn summarise(cmd: duct::Expression, env: &crate::env::CrossEnv, zigbuild: &Path) -> Result<i32> {
    use std::io::{BufRead, BufReader};
    let reader = cmd
        .stderr_to_stdout()
        .unchecked()
        .reader()
        .with_context(|| format!("cannot run {} test", zigbuild.display()))?;
    let mut summary = crate::test_summary::Summary::new(&env.target, &env.release);
    let mut lines = BufReader::new(&reader);
    let mut line = String::new();
    while lines
        .read_line(&mut line)
        .context("reading cargo's output")?
        != 0
    {
        eprint!("{line}");
        summary.read_line(&line);
        line.clear();
    }
    let output = reader.try_wait()?.context("cargo did not finish")?;
    summary.exit_code = output.status.code().unwrap_or(exit::FAILURE);
    print_json(&summary)?;
    Ok(summary.exit_code)
}
