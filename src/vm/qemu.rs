//! The QEMU command line per machine and accelerator, and the probe that
//! decides whether KVM can run FreeBSD here.
//!
//! amd64: `qemu-system-x86_64 -machine pc` (i440FX: the boot ISO on the
//! PIIX IDE CD-ROM, which SeaBIOS boots via El Torito; the data disk on
//! virtio-blk). arm64: `qemu-system-aarch64 -machine virt` with edk2 EFI
//! firmware (`-bios`), both images on virtio-blk. The serial console is
//! QEMU's stdio, there is no display, network or monitor, and
//! `-no-reboot` makes a reboot (a panic's) end QEMU like a power-off.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::model::target::Target;

/// How the guest's CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Accel {
    /// Hardware virtualization (/dev/kvm).
    Kvm,
    /// QEMU's software emulation.
    Tcg,
}

/// `--accel`: a choice, or `auto` (probe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM when a probe shows /dev/kvm really runs a guest, else TCG.
    Auto,
    Kvm,
    Tcg,
}

/// What the VM is.
#[derive(Debug, Clone)]
pub struct Machine {
    pub target: Target,
    pub accel: Accel,
    pub memory_mb: u32,
    pub cpus: u32,
    /// arm64 only: the EFI firmware.
    pub firmware: Option<PathBuf>,
}

/// The arguments after the QEMU binary.
pub fn args(m: &Machine, iso: &Path, data: &Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    push("-name");
    push("bsdx-run");
    let (cpu, accel) = match (m.target.machine, m.accel) {
        (_, Accel::Kvm) => ("host", "kvm"),
        ("amd64", Accel::Tcg) => ("max", "tcg"),
        (_, Accel::Tcg) => ("cortex-a57", "tcg"),
    };
    push("-machine");
    push(match (m.target.machine, m.accel) {
        ("amd64", _) => "pc",
        (_, Accel::Kvm) => "virt,gic-version=host",
        _ => "virt",
    });
    push("-accel");
    push(accel);
    push("-cpu");
    push(cpu);
    push("-smp");
    push(&m.cpus.to_string());
    push("-m");
    push(&m.memory_mb.to_string());
    for s in [
        "-display",
        "none",
        "-nic",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
    ] {
        push(s);
    }
    let drive = |file: &Path, rest: &str| {
        let mut d = OsString::from("file=");
        // QEMU splits options on commas; a comma in a path is doubled.
        d.push(file.as_os_str().to_string_lossy().replace(',', ",,"));
        d.push(",format=raw,");
        d.push(rest);
        d
    };
    if m.target.machine == "amd64" {
        a.push("-drive".into());
        a.push(drive(iso, "if=ide,index=0,media=cdrom,readonly=on"));
        a.push("-boot".into());
        a.push("order=d".into());
    } else {
        a.push("-bios".into());
        a.push(m.firmware.clone().unwrap_or_default().into_os_string());
        a.push("-drive".into());
        a.push(drive(iso, "if=none,id=root,readonly=on"));
        a.push("-device".into());
        a.push("virtio-blk-pci,drive=root".into());
    }
    a.push("-drive".into());
    a.push(drive(data, "if=none,id=data"));
    a.push("-device".into());
    a.push("virtio-blk-pci,drive=data".into());
    a
}

/// The machine this host is, in FreeBSD's terms.
pub fn host_machine() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Virtual CPUs when `--cpus` is not given. Under TCG one: a real FreeBSD
/// 14.2 kernel booted by `bsdx run` was up in 3.4 s with one vCPU and in
/// 10-14 s with two (the whole run 11.7 s vs 21.9 s; issue 21, measured on a
/// 2-core host). `--cpus` still gives more. With KVM two.
pub fn default_cpus(accel: Accel) -> u32 {
    match accel {
        Accel::Tcg => 1,
        Accel::Kvm => 2,
    }
}

/// The accelerator to use and, when it is TCG, why (for the note).
pub fn choose(
    choice: AccelChoice,
    target: &Target,
    qemu: &Path,
    firmware: Option<&Path>,
) -> (Accel, Option<String>) {
    match choice {
        AccelChoice::Kvm => (Accel::Kvm, None),
        AccelChoice::Tcg => (Accel::Tcg, Some("--accel tcg".into())),
        AccelChoice::Auto => match probe(target, qemu, firmware) {
            Ok(()) => (Accel::Kvm, None),
            Err(why) => (Accel::Tcg, Some(why)),
        },
    }
}

/// Ok when KVM runs a real guest here, else why not.
pub fn probe(target: &Target, qemu: &Path, firmware: Option<&Path>) -> Result<(), String> {
    if host_machine() != target.machine {
        return Err(format!(
            "this is an {} host, the guest is {}",
            host_machine(),
            target.machine
        ));
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return Err(format!("/dev/kvm cannot be opened ({e})"));
    }
    if Path::new("/sys/module/kvm_pvm").exists() {
        return Err("/dev/kvm is a nested PVM hypervisor (kvm_pvm), which runs simple guests but not FreeBSD's loader".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(qemu);
    let expect: &[u8] = match target.machine {
        "amd64" => {
            let image = dir.path().join("probe.img");
            std::fs::File::create(&image)
                .and_then(|mut f| f.write_all(PROBE_X86))
                .map_err(|e| e.to_string())?;
            let mut d = OsString::from("file=");
            d.push(&image);
            d.push(",format=raw,if=ide,index=0");
            cmd.args([
                "-machine",
                "pc",
                "-accel",
                "kvm",
                "-cpu",
                "host",
                "-m",
                "32",
                "-nodefaults",
                "-display",
                "none",
                "-no-reboot",
                "-serial",
                "stdio",
                "-device",
                "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-drive",
            ])
            .arg(d);
            b"64"
        }
        _ => {
            let Some(fw) = firmware else {
                return Err("no EFI firmware to probe with".into());
            };
            cmd.args([
                "-machine",
                "virt,gic-version=host",
                "-accel",
                "kvm",
                "-cpu",
                "host",
                "-m",
                "128",
                "-display",
                "none",
                "-nic",
                "none",
                "-no-reboot",
                "-serial",
                "stdio",
                "-bios",
            ])
            .arg(fw);
            b"UEFI"
        }
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", qemu.display()))?;
    let out = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut out = out;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            let _ = tx.send(seen.clone());
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ok = false;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(seen) if seen.windows(expect.len()).any(|w| w == expect) => {
                ok = true;
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    if ok {
        Ok(())
    } else {
        Err("a probe guest did not run under KVM within 10 s".into())
    }
}

/// The amd64 probe guest: a 512-byte boot sector that switches to 64-bit
/// long mode, writes "64" to COM1 and exits QEMU through
/// `isa-debug-exit`. Built from `probe_x86.S` beside this file (the
/// commands are in it); a unit test checks its shape. A hypervisor that
/// runs this but not FreeBSD (the nested PVM of FACTS.md §8) is caught by
/// the kvm_pvm check first.
pub const PROBE_X86: &[u8; 512] = include_bytes!("probe_x86.bin");

/// The command line, quoted for a shell (for `--dry-run` and reports).
pub fn shell_line(qemu: &Path, args: &[OsString]) -> String {
    let quote = |s: &str| {
        if !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=,./:+".contains(&b))
        {
            s.to_string()
        } else {
            crate::env::sh_quote(s)
        }
    };
    std::iter::once(quote(&qemu.display().to_string()))
        .chain(args.iter().map(|a| quote(&a.to_string_lossy())))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_is_a_boot_sector() {
        assert_eq!(&PROBE_X86[510..], &[0x55, 0xaa]);
        assert_eq!(PROBE_X86[0], 0xfa, "starts with cli");
    }

    fn line(machine: &str, accel: Accel) -> String {
        let m = Machine {
            target: Target::parse(machine).unwrap(),
            accel,
            memory_mb: 1024,
            cpus: 2,
            firmware: Some("/fw/QEMU_EFI.fd".into()),
        };
        shell_line(
            Path::new("qemu"),
            &args(&m, Path::new("/c/root.iso"), Path::new("/r/data,1.img")),
        )
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            line("amd64", Accel::Tcg),
            "qemu -name bsdx-run -machine pc -accel tcg -cpu max -smp 2 -m 1024 -display none -nic none -monitor none -serial stdio -no-reboot -drive file=/c/root.iso,format=raw,if=ide,index=0,media=cdrom,readonly=on -boot order=d -drive file=/r/data,,1.img,format=raw,if=none,id=data -device virtio-blk-pci,drive=data"
        );
        assert!(line("amd64", Accel::Kvm).contains("-machine pc -accel kvm -cpu host"));
        assert_eq!(
            line("arm64", Accel::Tcg),
            "qemu -name bsdx-run -machine virt -accel tcg -cpu cortex-a57 -smp 2 -m 1024 -display none -nic none -monitor none -serial stdio -no-reboot -bios /fw/QEMU_EFI.fd -drive file=/c/root.iso,format=raw,if=none,id=root,readonly=on -device virtio-blk-pci,drive=root -drive file=/r/data,,1.img,format=raw,if=none,id=data -device virtio-blk-pci,drive=data"
        );
        assert!(line("arm64", Accel::Kvm)
            .contains("-machine virt,gic-version=host -accel kvm -cpu host"));
    }
}
