//! The host programs `bsdx run` drives, and the Debian package of each
//! (what `bsdx doctor` tells a user to install).

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::model::target::Target;

/// A host program and the Debian/Ubuntu package that has it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    pub package: &'static str,
    /// What bsdx uses it for.
    pub purpose: &'static str,
}

pub const XORRISO: Tool = Tool {
    name: "xorriso",
    package: "xorriso",
    purpose: "writes the boot ISO (ISO 9660 + Rock Ridge, El Torito)",
};
pub const MFORMAT: Tool = Tool {
    name: "mformat",
    package: "mtools",
    purpose: "formats the FAT data disk and the EFI system partition",
};
pub const MCOPY: Tool = Tool {
    name: "mcopy",
    package: "mtools",
    purpose: "copies files to and from FAT images",
};
pub const MMD: Tool = Tool {
    name: "mmd",
    package: "mtools",
    purpose: "creates directories in FAT images",
};

/// The QEMU system emulator for a target.
pub fn qemu(target: &Target) -> Tool {
    match target.machine {
        "amd64" => Tool {
            name: "qemu-system-x86_64",
            package: "qemu-system-x86",
            purpose: "runs the FreeBSD amd64 VM",
        },
        _ => Tool {
            name: "qemu-system-aarch64",
            package: "qemu-system-arm",
            purpose: "runs the FreeBSD arm64 VM",
        },
    }
}

/// Every tool a run for `target` needs (the firmware is [`firmware`]).
pub fn all(target: &Target) -> Vec<Tool> {
    vec![qemu(target), XORRISO, MFORMAT, MCOPY, MMD]
}

fn install(packages: &str) -> String {
    format!(
        "`apt-get install {packages}` (Debian/Ubuntu; other systems: the package with QEMU, mtools or xorriso), or `nix develop`"
    )
}

/// The tool on PATH.
pub fn find(tool: &Tool) -> Result<PathBuf, Error> {
    which::which(tool.name).map_err(|_| Error::MissingTool {
        tool: tool.name,
        why: format!(
            "`{}` is not on PATH (bsdx run: {})",
            tool.name, tool.purpose
        ),
        fix: install(tool.package),
    })
}

/// The EFI firmware files QEMU's arm64 `virt` machine can boot with
/// `-bios`, in the order bsdx looks for them; `qemu` is the emulator
/// found on PATH (its own `share/qemu`, as in Nix, comes first).
pub fn firmware_candidates(qemu: Option<&Path>) -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(v) = std::env::var_os("BSDX_QEMU_EFI").filter(|v| !v.is_empty()) {
        c.push(PathBuf::from(v));
    }
    if let Some(prefix) = qemu
        .and_then(|q| std::fs::canonicalize(q).ok())
        .and_then(|q| q.parent().and_then(Path::parent).map(Path::to_path_buf))
    {
        c.push(prefix.join("share/qemu/edk2-aarch64-code.fd"));
    }
    for p in [
        "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
        "/usr/share/AAVMF/AAVMF_CODE.fd",
        "/usr/share/qemu/edk2-aarch64-code.fd",
        "/usr/share/edk2/aarch64/QEMU_EFI.fd",
        "/usr/share/edk2/aarch64/QEMU_CODE.fd",
    ] {
        c.push(PathBuf::from(p));
    }
    c
}

/// The arm64 EFI firmware.
pub fn firmware(qemu: Option<&Path>) -> Result<PathBuf, Error> {
    let candidates = firmware_candidates(qemu);
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| Error::MissingTool {
            tool: "EFI firmware for arm64",
            why: format!(
                "QEMU's arm64 virt machine needs UEFI firmware; looked at {}",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix: format!(
                "{}; or set BSDX_QEMU_EFI to an edk2 aarch64 firmware file",
                install("qemu-efi-aarch64")
            ),
        })
}
