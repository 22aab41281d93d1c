//! `bsdx run` and `bsdx test` without a FreeBSD kernel: what can be checked
//! on a machine that cannot boot one.
//!
//! * media assembly from kernel.txz/base.txz-shaped tarballs built here
//!   (layout, loader configuration, trimmed root, determinism, hostile
//!   archives, the kernel.txz lock file), inspected with xorriso and mtools;
//! * the QEMU command line per machine and accelerator (`--dry-run`);
//! * console parsing against real FreeBSD 13.2 console logs from
//!   `../shared/freebsd/serial-logs` (skipped, saying so, without them);
//! * whole runs and the cargo runner plumbing with a FAKE QEMU: a shell
//!   script first on PATH that checks the arguments it gets and replays a
//!   console log (a real one, its test-harness lines rewritten into bsdx's
//!   protocol, or one made up here where no real one exists: panic,
//!   mountroot). None of this is a FreeBSD run: the boot itself is only
//!   exercised by a user with the release's files (README).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

// ------------------------------------------------------------ environment

/// A real console log from `../shared/freebsd/serial-logs`.
fn serial_log(name: &str) -> Option<Vec<u8>> {
    shared_input(&format!("freebsd/serial-logs/{name}")).map(|p| std::fs::read(p).unwrap())
}

/// xorriso and mtools (`.ci/run` installs them).
fn host_tools() -> bool {
    let missing: Vec<&str> = ["xorriso", "mformat", "mcopy", "mmd", "mdir"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .collect();
    input_present(
        missing.is_empty(),
        &format!(
            "{} not installed (apt-get install xorriso mtools)",
            missing.join(", ")
        ),
    )
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// `zig` as cargo-zigbuild finds it: `python3 -m ziglang`, else `zig`.
fn zig() -> Command {
    let py = Command::new("python3")
        .args(["-m", "ziglang", "version"])
        .output();
    if py.is_ok_and(|o| o.status.success()) {
        let mut c = Command::new("python3");
        c.args(["-m", "ziglang"]);
        c
    } else {
        Command::new("zig")
    }
}

/// `zig cc` for x86_64-freebsd. Fixtures persist in the shared test
/// directory: one whose inputs (sources and flags) are unchanged is reused.
fn zig_cc(args: &[&std::ffi::OsStr]) {
    let out = Path::new(args[args.iter().position(|a| *a == "-o").unwrap() + 1]);
    let mut key = format!("{args:?}");
    for a in args {
        if let Ok(b) = std::fs::read(a) {
            if Path::new(a).extension().is_some_and(|e| e == "c") {
                key.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }
    let stamp = out.with_extension("stamp");
    if out.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|k| k == key) {
        return;
    }
    let o = zig()
        .args(["cc", "-target", "x86_64-freebsd", "-O1"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "zig cc {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::write(&stamp, key).unwrap();
}

/// A FreeBSD shared library with `soname`, needing `deps`.
fn shlib(dir: &Path, soname: &str, deps: &[&Path]) -> PathBuf {
    let src = dir.join(format!("{soname}.c"));
    let func = |name: &str| format!("{}_fn", name.split('.').next().unwrap().replace('-', "_"));
    // Call every dependency, so the linker keeps it in DT_NEEDED.
    let mut c = String::new();
    let mut body = String::from("7");
    for d in deps {
        let f = func(&d.file_name().unwrap().to_string_lossy());
        c.push_str(&format!("int {f}(void);\n"));
        body.push_str(&format!(" + {f}()"));
    }
    c.push_str(&format!(
        "int {}(void) {{ return {body}; }}\n",
        func(soname)
    ));
    std::fs::write(&src, c).unwrap();
    let out = dir.join(soname);
    let soflag = format!("-Wl,-soname,{soname}");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-shared".as_ref(),
        "-nostdlib".as_ref(),
        soflag.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        src.as_os_str(),
    ];
    args.extend(deps.iter().map(|d| d.as_os_str()));
    zig_cc(&args);
    out
}

/// A FreeBSD executable from C `source`, linked with `deps`.
fn exe(dir: &Path, name: &str, source: &str, deps: &[&Path]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let mut args: Vec<&std::ffi::OsStr> = vec!["-o".as_ref(), out.as_os_str(), src.as_os_str()];
    args.extend(deps.iter().map(|d| d.as_os_str()));
    zig_cc(&args);
    out
}

// ------------------------------------------------------------ fake release files

enum Member<'a> {
    File(&'a str, Vec<u8>, u32),
    Link(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Dev(&'a str),
}

/// An xz-compressed tar with FreeBSD's member spelling (`./path`).
fn txz(path: &Path, members: &[Member]) -> PathBuf {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_gnu();
        match m {
            Member::File(p, data, mode) => {
                h.set_size(data.len() as u64);
                h.set_mode(*mode);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mtime(1_700_000_000);
                // The name's bytes as given: the tar crate refuses `..` and
                // absolute paths, and hostile archives have them.
                let name = if p.starts_with('/') {
                    p.to_string()
                } else {
                    format!("./{p}")
                };
                h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
                h.set_cksum();
                b.append(&h, data.as_slice()).unwrap();
            }
            Member::Link(p, t) => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Symlink);
                b.append_link(&mut h, format!("./{p}"), t).unwrap();
            }
            Member::Hard(p, t) => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Link);
                b.append_link(&mut h, format!("./{p}"), format!("./{t}"))
                    .unwrap();
            }
            Member::Dev(p) => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Char);
                h.set_path(format!("./{p}")).unwrap();
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    let tar = b.into_inner().unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&tar).unwrap();
    std::fs::write(path, xz.finish().unwrap()).unwrap();
    path.to_path_buf()
}

/// Fixtures shared by the tests: real FreeBSD ELF files built with zig.
struct Elves {
    /// Needs libedit.so.8 (which needs libncursesw.so.9), like /bin/sh.
    sh: Vec<u8>,
    libs: Vec<(&'static str, &'static str, Vec<u8>)>,
    /// Needs libkvm.so.7 (-> libelf.so.2) and libc.so.7.
    program: PathBuf,
    /// Calls secure_getenv@FBSD_1.7, which FreeBSD 13.5's libc lacks.
    refused: PathBuf,
}

fn elves() -> &'static Elves {
    static E: std::sync::OnceLock<Elves> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        let d = shared_dir("run-elves");
        let ncurses = shlib(&d, "libncursesw.so.9", &[]);
        let edit = shlib(&d, "libedit.so.8", &[&ncurses]);
        let elf = shlib(&d, "libelf.so.2", &[]);
        let kvm = shlib(&d, "libkvm.so.7", &[&elf]);
        let unused = shlib(&d, "libunused.so.1", &[]);
        let sh = exe(&d, "sh", "int libedit_fn(void);\nint main(void) { return libedit_fn(); }\n", &[&edit]);
        let program = exe(&d, "sysinfo-probe", "int libkvm_fn(void);\nint main(void) { return libkvm_fn() - 7; }\n", &[&kvm]);
        let refused = exe(&d, "freebsd-bot", "#define _GNU_SOURCE\n#include <stdlib.h>\n#include <stdio.h>\nint main(void) { puts(secure_getenv(\"HOME\") ? \"y\" : \"n\"); return 0; }\n", &[]);
        let read = |p: &Path| std::fs::read(p).unwrap();
        Elves {
            sh: read(&sh),
            libs: vec![
                ("lib", "libncursesw.so.9", read(&ncurses)),
                ("usr/lib", "libedit.so.8", read(&edit)),
                ("lib", "libelf.so.2", read(&elf)),
                ("lib", "libkvm.so.7", read(&kvm)),
                ("lib", "libunused.so.1", read(&unused)),
                ("lib", "libc.so.7", read(&shlib(&d, "libc.so.7", &[]))),
            ],
            program,
            refused,
        }
    })
}

const TOOLS: &[&str] = &[
    "bin/mkdir",
    "bin/sleep",
    "bin/sync",
    "sbin/init",
    "sbin/mount",
    "sbin/mount_msdosfs",
    "sbin/umount",
    "sbin/reboot",
    "sbin/sysctl",
    "usr/bin/env",
    "usr/bin/mkfifo",
    "usr/bin/awk",
    "usr/bin/uname",
    "usr/sbin/chown",
    "usr/sbin/chroot",
    "bin/test",
];

/// A base.txz-shaped tarball for `machine`.
fn base_txz(dir: &Path, machine: &str) -> PathBuf {
    let e = elves();
    let mut m: Vec<Member> = vec![
        Member::File("bin/sh", e.sh.clone(), 0o555),
        Member::Hard("bin/[", "bin/test"),
        Member::File("libexec/ld-elf.so.1", b"\x7fELF not really".to_vec(), 0o555),
        Member::File("usr/bin/cc", b"a compiler nobody needs here".to_vec(), 0o555),
        Member::File("usr/lib/libc.a", b"!<arch>\n".to_vec(), 0o444),
        Member::File("etc/passwd", b"root:*:0:0:Charlie &:/root:/bin/sh\ntests:*:977:977:Unprivileged user for tests:/nonexistent:/usr/sbin/nologin\n".to_vec(), 0o644),
        Member::File("etc/master.passwd", b"secret".to_vec(), 0o600),
        Member::Link("etc/termcap", "/usr/share/misc/termcap"),
        Member::File("boot/defaults/loader.conf", b"# FreeBSD's defaults\n".to_vec(), 0o444),
        Member::File("boot/lua/loader.lua", b"-- FreeBSD's Lua loader\n".to_vec(), 0o444),
        Member::File("boot/device.hints", b"hint.uart.0.flags=\"0x10\"\n".to_vec(), 0o444),
        Member::File("boot/dtb/board.dtb", b"dtb".to_vec(), 0o444),
        Member::Link("usr/lib/libkvm.so", "../../lib/libkvm.so.7"),
    ];
    for t in TOOLS {
        // The tools' bytes do not matter here (they are not ELF: no NEEDED).
        if *t != "bin/test" {
            m.push(Member::File(t, format!("#!tool {t}\n").into_bytes(), 0o555));
        }
    }
    m.push(Member::File("bin/test", b"#!tool test\n".to_vec(), 0o555));
    // Hard links come after their target in a real archive.
    let hard = m
        .iter()
        .position(|x| matches!(x, Member::Hard(..)))
        .unwrap();
    let h = m.remove(hard);
    m.push(h);
    for (d, name, bytes) in &e.libs {
        let p: &'static str = Box::leak(format!("{d}/{name}").into_boxed_str());
        m.push(Member::File(p, bytes.clone(), 0o444));
    }
    match machine {
        "amd64" => {
            m.push(Member::File("boot/cdboot", vec![0xfa; 2048], 0o444));
            m.push(Member::File(
                "boot/loader_lua",
                b"BTX loader".to_vec(),
                0o555,
            ));
            m.push(Member::Hard("boot/loader", "boot/loader_lua"));
        }
        _ => m.push(Member::File(
            "boot/loader.efi",
            b"MZ loader.efi".repeat(100),
            0o444,
        )),
    }
    txz(&dir.join(format!("base-{machine}.txz")), &m)
}

fn kernel_txz(dir: &Path, name: &str) -> PathBuf {
    txz(
        &dir.join(name),
        &[
            Member::File(
                "boot/kernel/kernel",
                format!("\x7fELF kernel {name}").into_bytes(),
                0o555,
            ),
            Member::File("boot/kernel/tmpfs.ko", b"\x7fELF tmpfs".to_vec(), 0o555),
            Member::File("boot/kernel/if_em.ko", b"\x7fELF em".to_vec(), 0o555),
        ],
    )
}

/// Fake inputs in a directory every test shares (built once).
fn inputs() -> &'static (PathBuf, PathBuf, PathBuf) {
    static I: std::sync::OnceLock<(PathBuf, PathBuf, PathBuf)> = std::sync::OnceLock::new();
    I.get_or_init(|| {
        let d = shared_dir("run-inputs");
        (
            kernel_txz(&d, "kernel.txz"),
            base_txz(&d, "amd64"),
            base_txz(&d, "arm64"),
        )
    })
}

fn run_cmd(cache: &Path) -> Bsdx {
    let (kernel, base, _) = inputs();
    bsdx()
        .env("BSDX_CACHE_DIR", cache)
        .env("BSDX_KERNEL_TXZ", kernel)
        .env("BSDX_BASE_TXZ", base)
        .env("BSDX_ACCEL", "tcg")
        .env("BSDX_RELEASE", "14.4")
        .env_remove("BSDX_RUN_MOUNT")
        .args(["run"])
}

fn iso_listing(iso: &Path) -> String {
    let o = Command::new("xorriso")
        .args(["-indev"])
        .arg(iso)
        .args(["-find", "/", "-exec", "lsdl"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn iso_file(iso: &Path, path: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f");
    let o = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(iso)
        .args(["-extract", path])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(&out).unwrap()
}

// ------------------------------------------------------------ media

#[test]
fn the_boot_iso_has_freebsds_boot_and_a_root_trimmed_to_the_program() {
    if !host_tools() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let r = run_cmd(cache.path())
        .args(["--dry-run", "--json"])
        .arg_path(&elves().program)
        .args(["--flag", "two words"])
        .run()
        .success()
        .json();
    assert_eq!(r["outcome"], "dry-run");
    assert_eq!(
        r["target"], "x86_64-unknown-freebsd",
        "read from the ELF file"
    );
    assert_eq!(
        r["media"]["libraries"],
        serde_json::json!(["libc.so.7", "libkvm.so.7"]),
        "{r:#}"
    );
    assert_eq!(r["media"]["missing"], serde_json::json!([]));
    assert_eq!(r["inputs"][1]["trust"]["how"], "local");
    let iso = PathBuf::from(r["media"]["iso"].as_str().unwrap());
    let ls = iso_listing(&iso);
    for want in [
        "'/boot/cdboot'",
        "'/boot/loader'",
        "'/boot/loader.conf'",
        "'/boot/lua/loader.lua'",
        "'/boot/defaults/loader.conf'",
        "'/boot/device.hints'",
        "'/boot/kernel/kernel'",
        "'/boot/kernel/tmpfs.ko'",
        "'/bsdx/init'",
        "'/etc/rc'",
        "'/etc/passwd'",
        "'/libexec/ld-elf.so.1'",
        "'/bin/sh'",
        "'/bin/['",
        "'/usr/sbin/chroot'",
        // the closure: the program's libkvm (-> libelf) and libc; sh's libedit (-> libncursesw)
        "'/lib/libkvm.so.7'",
        "'/lib/libelf.so.2'",
        "'/lib/libc.so.7'",
        "'/usr/lib/libedit.so.8'",
        "'/lib/libncursesw.so.9'",
        "'/dev'",
        "'/mnt'",
        "'/tmp'",
        "'/var'",
    ] {
        assert!(ls.contains(want), "{want} missing from the ISO:\n{ls}");
    }
    for unwanted in [
        "libunused",
        "if_em.ko",
        "usr/bin/cc",
        "libc.a",
        "master.passwd",
        "termcap",
        "dtb",
        "libkvm.so'",
    ] {
        assert!(
            !ls.contains(unwanted),
            "{unwanted} should not be on the ISO:\n{ls}"
        );
    }
    // Rock Ridge: ownership root, the scripts executable.
    let init_line = ls.lines().find(|l| l.contains("'/bsdx/init'")).unwrap();
    assert!(
        init_line.starts_with("-r-xr-xr-x") && init_line.contains(" 0 "),
        "{init_line}"
    );
    let conf = iso_file(&iso, "/boot/loader.conf");
    for line in [
        "autoboot_delay=\"-1\"",
        "beastie_disable=\"YES\"",
        "console=\"comconsole\"",
        "vfs.root.mountfrom=\"cd9660:/dev/cd0\"",
        "init_script=\"/bsdx/init\"",
        "init_path=\"/sbin/init\"",
    ] {
        assert!(
            conf.lines().any(|l| l == line),
            "{line} not in loader.conf:\n{conf}"
        );
    }
    let init = iso_file(&iso, "/bsdx/init");
    assert!(
        init.contains("mount_msdosfs -u 977 -g 977 -m 755 -M 755 /dev/vtbd0 /mnt"),
        "{init}"
    );
    assert!(init.contains("/sbin/reboot -q -p"), "{init}");
    // El Torito: BIOS, no emulation, boot/cdboot.
    let o = Command::new("xorriso")
        .args(["-indev"])
        .arg(&iso)
        .args(["-report_el_torito", "plain"])
        .output()
        .unwrap();
    let et = String::from_utf8_lossy(&o.stdout);
    assert!(
        et.contains("BIOS") && et.contains("none") && et.contains("/boot/cdboot"),
        "{et}"
    );
    // The data disk: the program and a job that passes every argument.
    let line = r["qemu"].as_str().unwrap();
    let data = line
        .split("file=")
        .nth(2)
        .unwrap()
        .split(",format")
        .next()
        .unwrap();
    let o = Command::new("mcopy")
        .args(["-i", data, "::/.bsdx/job", "-"])
        .output()
        .unwrap();
    let job = String::from_utf8_lossy(&o.stdout);
    assert!(
        job.contains("/usr/sbin/chroot -u 977 -g 977 -G 977 /"),
        "{job}"
    );
    assert!(
        job.contains("'/mnt/.bsdx/bin/sysinfo-probe' '--flag' 'two words'"),
        "{job}"
    );
    let o = Command::new("mdir")
        .args(["-i", data, "-b", "::/.bsdx/bin"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("sysinfo-probe"));

    // The same program again: the media come from the cache.
    let again = run_cmd(cache.path())
        .args(["--dry-run", "--json"])
        .arg_path(&elves().program)
        .run()
        .success()
        .json();
    assert_eq!(again["media"]["cached"], true);
    assert_eq!(again["media"]["iso"], r["media"]["iso"]);
    // Another program (only libc): another root.
    let other = run_cmd(cache.path())
        .args(["--dry-run", "--json"])
        .arg_path(&elves().refused)
        .run()
        .success()
        .json();
    assert_ne!(other["media"]["iso"], r["media"]["iso"]);
    assert!(!iso_listing(Path::new(other["media"]["iso"].as_str().unwrap())).contains("libkvm"));
}

#[test]
fn media_are_byte_identical_when_built_twice() {
    if !host_tools() {
        return;
    }
    let (kernel, _, base_arm) = inputs();
    let mut isos: Vec<Vec<u8>> = Vec::new();
    for round in 0..2 {
        if round == 1 {
            // A second later, in other directories: nothing may depend on either.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        for machine in ["amd64", "arm64"] {
            let cache = tempfile::tempdir().unwrap();
            let mut cmd = run_cmd(cache.path()).args(["--dry-run", "--json", "--target", machine]);
            if machine == "arm64" {
                let fw = cache.path().join("QEMU_EFI.fd");
                std::fs::write(&fw, "firmware").unwrap();
                cmd = cmd
                    .env("BSDX_BASE_TXZ", base_arm)
                    .env("BSDX_KERNEL_TXZ", kernel)
                    .env("BSDX_QEMU_EFI", &fw);
            }
            let script = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(script.path(), "#!/bin/sh\necho hi\n").unwrap();
            let r = cmd.arg_path(script.path()).run().success().json();
            let iso = Path::new(r["media"]["iso"].as_str().unwrap()).to_path_buf();
            if machine == "arm64" && round == 0 {
                assert!(r["qemu"].as_str().unwrap().contains("-bios "), "{r}");
                let et = Command::new("xorriso")
                    .arg("-indev")
                    .arg(&iso)
                    .args(["-report_el_torito", "plain"])
                    .output()
                    .unwrap();
                let et = String::from_utf8_lossy(&et.stdout);
                assert!(et.contains("UEFI") && et.contains("/boot/efi.img"), "{et}");
                let ls = iso_listing(&iso);
                assert!(
                    ls.contains("'/boot/loader.efi'") && !ls.contains("cdboot"),
                    "{ls}"
                );
                let conf = iso_file(&iso, "/boot/loader.conf");
                assert!(
                    conf.contains("console=\"efi\"") && conf.contains("cd9660:/dev/vtbd0"),
                    "{conf}"
                );
                // The EFI system partition: FreeBSD's loader as the default boot file.
                let esp = cache.path().join("efi.img");
                let o = Command::new("xorriso")
                    .args(["-osirrox", "on", "-indev"])
                    .arg(&iso)
                    .args(["-extract", "/boot/efi.img"])
                    .arg(&esp)
                    .output()
                    .unwrap();
                assert!(o.status.success());
                let o = Command::new("mdir")
                    .arg("-i")
                    .arg(&esp)
                    .args(["-b", "::/EFI/BOOT"])
                    .output()
                    .unwrap();
                assert!(
                    String::from_utf8_lossy(&o.stdout).contains("BOOTAA64.EFI"),
                    "{o:?}"
                );
            }
            isos.push(std::fs::read(iso).unwrap());
        }
    }
    assert!(isos[0] == isos[2], "amd64: two builds of the ISO differ");
    assert!(isos[1] == isos[3], "arm64: two builds of the ISO differ");
}

#[test]
fn hostile_archives_are_refused_naming_the_member() {
    if !host_tools() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (_, base, _) = inputs();
    let cases: Vec<(&str, Vec<Member>, &str)> = vec![
        (
            "dotdot",
            vec![Member::File("boot/../../evil", b"x".to_vec(), 0o644)],
            "`..` component",
        ),
        (
            "absolute",
            vec![Member::File("/etc/evil", b"x".to_vec(), 0o644)],
            "absolute path",
        ),
        (
            "escape",
            vec![Member::Link("boot/kernel/x", "../../../../etc")],
            "leaves the archive",
        ),
        (
            "device",
            vec![Member::Dev("boot/kernel/mem")],
            "device file",
        ),
    ];
    for (name, members, why) in cases {
        let k = txz(&d.path().join(format!("{name}.txz")), &members);
        let cache = d.path().join(format!("cache-{name}"));
        run_cmd(&cache)
            .env("BSDX_KERNEL_TXZ", &k)
            .env("BSDX_BASE_TXZ", base)
            .args(["--dry-run"])
            .arg_path(&elves().program)
            .run()
            .failure(1)
            .stderr_has("refusing")
            .stderr_has(why);
        let inputs_dir = cache.join("run/inputs");
        let left: Vec<_> = std::fs::read_dir(&inputs_dir)
            .map(|r| r.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.iter()
                .all(|n| !n.to_string_lossy().starts_with("kernel-")),
            "{name}: {left:?}"
        );
    }
    // A file under a link the archive made itself is never written through it.
    let b = txz(
        &d.path().join("under-link.txz"),
        &[
            Member::Link("lib/libdir.so", "."),
            Member::File("lib/libdir.so/libc.so.7", b"x".to_vec(), 0o444),
        ],
    );
    run_cmd(&d.path().join("cache-under-link"))
        .env("BSDX_BASE_TXZ", &b)
        .args(["--dry-run"])
        .arg_path(&elves().program)
        .run()
        .failure(1)
        .stderr_has("refusing")
        .stderr_has("lies under `libdir.so`");
}

#[test]
fn kernel_txz_is_trusted_on_first_use_and_locked() {
    if !host_tools() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mirror = d.path().join("mirror");
    let rel = mirror.join("amd64/amd64/14.4-RELEASE");
    std::fs::create_dir_all(&rel).unwrap();
    let kernel = kernel_txz(&rel, "kernel.txz");
    let sha = sha256_of(&kernel);
    std::fs::write(
        rel.join("MANIFEST"),
        format!("kernel.txz\t{sha}\t3\tkernel\t\"Kernel (MANDATORY)\"\ton\n"),
    )
    .unwrap();
    let lock = d.path().join("bsdx.lock");
    let (_, base, _) = inputs();
    let cache = d.path().join("cache");
    let first = run_cmd(&cache)
        .env_remove("BSDX_KERNEL_TXZ")
        .env("BSDX_MIRROR", format!("file://{}", mirror.display()))
        .env("BSDX_BASE_TXZ", base)
        .args(["--dry-run", "--json", "--lock"])
        .arg_path(&lock)
        .arg_path(&elves().program)
        .run()
        .success()
        .stderr_has("trust on first use");
    let r = first.json();
    assert_eq!(r["inputs"][0]["sha256"], sha);
    assert_eq!(r["inputs"][0]["trust"]["how"], "first-use");
    let l: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
    assert_eq!(l["kernel_txz"]["14.4-amd64"]["sha256"], sha);
    assert!(l["kernel_txz"]["14.4-amd64"]["manifest"]
        .as_str()
        .unwrap()
        .ends_with("14.4-RELEASE/MANIFEST"));
    assert!(l["about"].as_str().unwrap().contains("trust on first use"));

    // A kernel.txz that changed on the mirror no longer matches the lock.
    kernel_txz(&rel, "kernel.txz");
    std::fs::write(rel.join("kernel.txz"), b"tampered").unwrap();
    let cache2 = d.path().join("cache2");
    run_cmd(&cache2)
        .env_remove("BSDX_KERNEL_TXZ")
        .env("BSDX_MIRROR", format!("file://{}", mirror.display()))
        .env("BSDX_BASE_TXZ", base)
        .args(["--dry-run", "--lock"])
        .arg_path(&lock)
        .arg_path(&elves().program)
        .run()
        .failure(1)
        .stderr_has("sha256 mismatch")
        .stderr_has(&sha);

    // A MANIFEST whose base.txz line contradicts bsdx's pin is not believed.
    std::fs::write(
        rel.join("MANIFEST"),
        format!(
            "base.txz\t{}\t1\tbase\t\"Base\"\ton\nkernel.txz\t{sha}\t3\tkernel\t\"Kernel\"\ton\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    run_cmd(&d.path().join("cache3"))
        .env_remove("BSDX_KERNEL_TXZ")
        .env("BSDX_MIRROR", format!("file://{}", mirror.display()))
        .env("BSDX_BASE_TXZ", base)
        .args(["--dry-run", "--lock"])
        .arg_path(&d.path().join("fresh.lock"))
        .arg_path(&elves().program)
        .run()
        .failure(1)
        .stderr_has("refusing to trust its kernel.txz hash");
}

#[test]
fn qemu_command_lines_per_machine_and_accelerator() {
    if !host_tools() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let kvm = run_cmd(cache.path())
        .args([
            "--dry-run",
            "--json",
            "--accel",
            "kvm",
            "--memory",
            "512",
            "--cpus",
            "1",
        ])
        .arg_path(&elves().program)
        .run()
        .success()
        .json();
    let line = kvm["qemu"].as_str().unwrap();
    assert!(line.contains("qemu-system-x86_64 -name bsdx-run -machine pc -accel kvm -cpu host -smp 1 -m 512 -display none -nic none -monitor none -serial stdio -no-reboot -drive file="), "{line}");
    assert!(
        line.contains(
            ",format=raw,if=ide,index=0,media=cdrom,readonly=on -boot order=d -drive file="
        ),
        "{line}"
    );
    assert!(
        line.ends_with("/data.img,format=raw,if=none,id=data -device virtio-blk-pci,drive=data"),
        "{line}"
    );
    let tcg = run_cmd(cache.path())
        .args(["--dry-run", "--json"])
        .arg_path(&elves().program)
        .run()
        .success()
        .json();
    assert!(
        tcg["qemu"]
            .as_str()
            .unwrap()
            .contains("-accel tcg -cpu max -smp 1 -m 1024"),
        "{tcg}"
    );
    assert_eq!(tcg["accel"], "tcg");
    // Under TCG one vCPU unless asked (a second made the boot 2-3x slower).
    assert_eq!(tcg["cpus"], 1, "{tcg}");
    let two = run_cmd(cache.path())
        .args(["--dry-run", "--json", "--cpus", "2"])
        .arg_path(&elves().program)
        .run()
        .success()
        .json();
    assert!(
        two["qemu"]
            .as_str()
            .unwrap()
            .contains("-accel tcg -cpu max -smp 2 -m 1024")
            && two["cpus"] == 2,
        "{two}"
    );
    // A FreeBSD/arm64 program asked to run as amd64 is refused before anything boots.
    let script = cache.path().join("a.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    run_cmd(cache.path())
        .args(["--target", "arm64", "--dry-run"])
        .arg_path(&elves().program)
        .run()
        .failure(1)
        .stderr_has("is an amd64 program");
}

// ------------------------------------------------------------ console parsing (real logs)

fn summary(
    log: &[u8],
) -> (
    bsdx::vm::console::Summary,
    Vec<bsdx::vm::console::Event>,
    Vec<String>,
) {
    bsdx::vm::console::Summary::of_log(log)
}

#[test]
fn real_freebsd_consoles_are_understood() {
    use bsdx::vm::console::{Event, RefusalKind, Stage};
    let Some(ok) = serial_log("sysinfo-ok.log") else {
        return;
    };
    let (s, _, tail) = summary(&ok);
    assert_eq!(
        s.banner.as_deref(),
        Some("FreeBSD 13.2-RELEASE FBSDRUN amd64")
    );
    assert_eq!(s.root.as_deref(), Some("cd9660:/dev/cd0"));
    assert_eq!(
        s.stage,
        Some(Stage::Root),
        "the log's own init is not bsdx's"
    );
    assert!(s.shutdown, "Uptime / Powering system off");
    assert!(s.refusals.is_empty() && s.panic.is_none() && s.stuck.is_none());
    assert_eq!(
        tail.last().map(String::as_str),
        Some("acpi0: Powering system off")
    );
    assert!(!tail.iter().any(|l| l.contains('\u{8}') || l.contains('\r')));

    let Some(bot) = serial_log("bot-refused-by-loader.log") else {
        return;
    };
    let (s, events, _) = summary(&bot);
    let refusals: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::Refusal(_)))
        .collect();
    assert_eq!(refusals.len(), 3, "three invocations, three refusals");
    assert_eq!(s.refusals.len(), 1, "the same refusal, once");
    assert_eq!(s.refusals[0].object, "/mnt/freebsd-bot");
    assert_eq!(
        s.refusals[0].kind,
        RefusalKind::UndefinedSymbol {
            symbol: "secure_getenv@FBSD_1.7".into()
        }
    );

    let Some(several) = serial_log("several-tests.log") else {
        return;
    };
    let (s, _, _) = summary(&several);
    let sigs: Vec<(String, i32, bool)> = s
        .signals
        .iter()
        .map(|x| (x.name.clone(), x.signal, x.core_dumped))
        .collect();
    assert_eq!(
        sigs,
        [
            ("missing-symbol".to_string(), 10, true),
            ("sh".to_string(), 11, true)
        ]
    );
    assert_eq!(s.stage, Some(Stage::Root));
    assert!(s.shutdown);
}

// ------------------------------------------------------------ whole runs, FAKE QEMU

/// Rewrite a real log from the shared harness into what bsdx's guest
/// prints: its init's lines become bsdx's protocol lines, the program's
/// lines between its markers become tagged stdout (`map` picks them and
/// may rewrite), the FreeBSD lines stay as they are. The result is what a
/// FreeBSD console would show with bsdx's guest script, not a new capture.
fn as_bsdx_protocol(real: &[u8], map: &dyn Fn(&str) -> Option<String>) -> Vec<u8> {
    let text = String::from_utf8_lossy(real);
    let mut out = String::new();
    let mut inside = false;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        let body = match line.strip_prefix('[') {
            Some(r) if r.contains("] ") => r.split_once("] ").unwrap().1,
            _ => line,
        };
        if body.starts_with("fbsdrun-init: started") {
            out.push_str("#bsdx:hello 1 13.2-RELEASE amd64\r\n");
        } else if body == "===FBSDRUN-BEGIN===" {
            inside = true;
            out.push_str("#bsdx:start\r\n");
        } else if body == "===FBSDRUN-END===" {
            inside = false;
        } else if body.starts_with("fbsdrun-init: wait4") {
            // replaced by the exit line the caller's map produced
        } else if body.starts_with("fbsdrun-init: powering off") {
            out.push_str("#bsdx:poweroff\r\n");
        } else if body.starts_with("fbsdrun-init:") {
        } else if inside {
            if let Some(l) = map(body) {
                out.push_str(&l);
                out.push_str("\r\n");
            } else if body.starts_with("pid ") || body.starts_with("random: ") {
                // The kernel's own lines stay, untagged.
                out.push_str(raw);
                out.push('\n');
            }
        } else {
            out.push_str(raw);
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// A directory holding a FAKE `qemu-system-x86_64` (and `-aarch64`): it
/// checks its arguments, records them, replays `$FAKE_QEMU_LOG` as the
/// console, optionally writes an exit status into the data disk's results
/// area (as the guest would), sleeps, prints `$FAKE_QEMU_STDERR` and exits
/// with `$FAKE_QEMU_STATUS`. Not QEMU and not FreeBSD.
fn fake_qemu() -> PathBuf {
    let dir = shared_dir("run-fake-qemu");
    let script = r#"#!/bin/sh
# FAKE QEMU for bsdx's tests: replays a console log; boots nothing.
printf '%s\n' "$@" > "${FAKE_QEMU_ARGS:-/dev/null}"
case " $* " in
  *" -no-reboot "*) ;;
  *) echo "fake qemu: expected -no-reboot" >&2; exit 3 ;;
esac
case " $* " in
  *" -serial stdio "*) ;;
  *) echo "fake qemu: expected -serial stdio" >&2; exit 3 ;;
esac
data=$(printf '%s\n' "$@" | sed -n 's/^file=\(.*data\.img\),format=raw,if=none,id=data$/\1/p')
[ -f "$data" ] || { echo "fake qemu: no data disk in the arguments" >&2; exit 3; }
mcopy -i "$data" ::/.bsdx/job - >/dev/null 2>&1 || { echo "fake qemu: no job on the data disk" >&2; exit 3; }
if [ -n "$FAKE_QEMU_EXPECT_FILE" ]; then
  mdir -i "$data" -b "::/$FAKE_QEMU_EXPECT_FILE" >/dev/null 2>&1 || { echo "fake qemu: $FAKE_QEMU_EXPECT_FILE is not on the data disk" >&2; exit 3; }
fi
[ -n "$FAKE_QEMU_JOB" ] && mcopy -i "$data" ::/.bsdx/job "$FAKE_QEMU_JOB"
[ -n "$FAKE_QEMU_LOG" ] && cat "$FAKE_QEMU_LOG"
if [ -n "$FAKE_QEMU_RESULT" ]; then
  printf '%s\n' "$FAKE_QEMU_RESULT" > "$data.exit"
  MTOOLS_SKIP_CHECK=1 mcopy -o -i "$data" "$data.exit" ::/.bsdx/out/exit
fi
[ -n "$FAKE_QEMU_SLEEP" ] && exec sleep "$FAKE_QEMU_SLEEP"
[ -n "$FAKE_QEMU_STDERR" ] && printf '%s\n' "$FAKE_QEMU_STDERR" >&2
exit "${FAKE_QEMU_STATUS:-0}"
"#;
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        for name in ["qemu-system-x86_64", "qemu-system-aarch64"] {
            // Written beside and renamed: a script another test runs is never rewritten in place.
            let p = dir.join(name);
            let tmp = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&tmp, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::rename(&tmp, &p).unwrap();
        }
    });
    dir
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut p = std::ffi::OsString::from(dir.as_os_str());
    p.push(":");
    p.push(std::env::var_os("PATH").unwrap_or_default());
    p
}

/// What `bsdx run` shows on stderr, whole, for a snapshot: the boot time
/// and the kept console log's name (a time stamp and a pid) redacted, after
/// checking that the log is really kept in the cache.
fn report_view(stderr: &str) -> String {
    let logs = shared_dir("run-cache").join("run/logs");
    let mut out = String::new();
    for line in stderr.lines() {
        // Printed only by whichever test first fills the shared cache (the
        // tests run in parallel): not part of the report's view.
        if line.starts_with("bsdx: building the boot ISO ")
            || (line.starts_with("bsdx: warning: ")
                && line.contains(" is not the pinned base.txz "))
        {
            continue;
        }
        if let Some(p) = line.strip_prefix("  the whole console: ") {
            let p = Path::new(p);
            assert_eq!(p.parent(), Some(logs.as_path()), "{stderr}");
            assert!(p.is_file(), "the console log is kept: {stderr}");
            out.push_str("  the whole console: [CACHE]/run/logs/console-[STAMP]-[PID].log\n");
        } else if let Some((before, after)) = line.split_once(" up after ") {
            let (_, rest) = after.split_once(" s;").unwrap_or(("", after));
            out.push_str(&format!("{before} up after [SECONDS] s;{rest}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `bsdx run` with the FAKE QEMU replaying `log`.
fn fake_run(log: &[u8]) -> (Bsdx, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let log_path = tmp.path().join("console.log");
    std::fs::write(&log_path, log).unwrap();
    let cmd = run_cmd(&shared_dir("run-cache"))
        .env("PATH", path_with(&fake_qemu()))
        .env("FAKE_QEMU_LOG", &log_path)
        .env("FAKE_QEMU_ARGS", tmp.path().join("args"))
        .env("BSDX_RUN_TIMEOUT", "60");
    (cmd, tmp)
}

#[test]
fn a_clean_run_streams_stdout_and_exits_with_the_programs_status() {
    if !host_tools() {
        return;
    }
    let Some(real) = serial_log("sysinfo-ok.log") else {
        return;
    };
    let log = as_bsdx_protocol(&real, &|l| {
        (!l.starts_with("random:")).then(|| format!("#bsdx:o:{l}"))
    });
    let mut log = log;
    // The exit line goes where the harness printed its wait4 line: after the program.
    let at = String::from_utf8_lossy(&log)
        .find("#bsdx:poweroff")
        .unwrap();
    log.splice(at..at, b"#bsdx:exit 0\r\n".iter().copied());
    let (cmd, tmp) = fake_run(&log);
    let r = cmd.arg_path(&elves().program).run().success();
    insta::assert_snapshot!("report-exited", report_view(&r.stderr()));
    assert_eq!(
        r.stdout(),
        "load average: 0.96 0.20 0.07\ntotal memory: 482 MiB\nuptime:       0h 0m\nprocesses:    2\n\n",
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr()
            .contains("bsdx: FreeBSD 13.2-RELEASE amd64 up after"),
        "{}",
        r.stderr()
    );
    let args = std::fs::read_to_string(tmp.path().join("args")).unwrap();
    assert!(
        args.lines().any(|l| l == "-accel") && args.contains("\ntcg\n"),
        "{args}"
    );
    // --json: the same, as data.
    let (cmd, _tmp) = fake_run(&log);
    let j = cmd
        .args(["--json"])
        .arg_path(&elves().program)
        .run()
        .success()
        .json();
    assert_eq!(j["outcome"], "exited");
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["stage"], "finished");
    assert!(j["stdout"]
        .as_str()
        .unwrap()
        .starts_with("load average: 0.96"));
}

#[test]
fn a_signal_gives_128_plus_n_and_says_which() {
    if !host_tools() {
        return;
    }
    let Some(real) = serial_log("several-tests.log") else {
        return;
    };
    // The log's last program was `kill -SEGV $$` in sh (rc 139): its
    // status becomes the exit line; the kernel's own line stays.
    let log = as_bsdx_protocol(&real, &|l| {
        l.starts_with("crash rc=").then(|| "#bsdx:exit 139".into())
    });
    let (cmd, _tmp) = fake_run(&log);
    let r = cmd
        .arg_path(&elves().program)
        .run()
        .failure(139)
        .stderr_has("was killed by signal 11 (SIGSEGV), core dumped; exit status 139");
    insta::assert_snapshot!("report-signaled", report_view(&r.stderr()));
    let (cmd, _tmp) = fake_run(&log);
    let j = cmd
        .args(["--json"])
        .arg_path(&elves().program)
        .run()
        .failure(139)
        .json();
    assert_eq!(j["outcome"], "signaled");
    assert_eq!(j["signal"]["number"], 11);
    assert_eq!(j["signal"]["core_dumped"], true);
    assert_eq!(
        j["console_log"],
        serde_json::Value::Null,
        "kept only for failed boots"
    );
}

#[test]
fn a_loader_refusal_is_shown_with_the_check_finding_that_predicted_it() {
    if !host_tools() {
        return;
    }
    let Some(real) = serial_log("bot-refused-by-loader.log") else {
        return;
    };
    // The first of the log's three invocations: the loader's line is the
    // program's stderr, its status (rc=1) the exit line.
    let first = std::cell::Cell::new(true);
    let log = as_bsdx_protocol(&real, &|l| {
        (l.starts_with("ld-elf.so.1:") && first.replace(false))
            .then(|| format!("#bsdx:e:{l}\r\n#bsdx:exit 1"))
    });
    let (cmd, _tmp) = fake_run(&log);
    let r = cmd
        .args(["--release", "13.5"])
        .arg_path(&elves().refused)
        .run()
        .failure(1);
    insta::assert_snapshot!("report-loader-refusal", report_view(&r.stderr()));
    r.stderr_has("FreeBSD's loader refused to start freebsd-bot")
        .stderr_has("ld-elf.so.1: /mnt/freebsd-bot: Undefined symbol \"secure_getenv@FBSD_1.7\"")
        .stderr_has("bsdx check --release 13.5 predicted it:")
        .stderr_has("[missing-symbol-version] FreeBSD 13.5 does not export secure_getenv@FBSD_1.7");
    let (cmd, _tmp) = fake_run(&log);
    let j = cmd
        .args(["--release", "13.5", "--json"])
        .arg_path(&elves().refused)
        .run()
        .failure(1)
        .json();
    assert_eq!(j["refusals"][0]["symbol"], "secure_getenv@FBSD_1.7");
    assert_eq!(j["predicted"][0]["code"], "missing-symbol-version");
    assert!(j["stderr"].as_str().unwrap().contains("Undefined symbol"));
}

/// The real boot up to the root mount, then `rest` (a made-up ending:
/// no real console of these exists).
fn boot_then(rest: &str) -> Option<Vec<u8>> {
    let real = serial_log("sysinfo-ok.log")?;
    let text = String::from_utf8_lossy(&real);
    let cut = text.find("cd0 at ata0").unwrap();
    Some(format!("{}{rest}", &text[..cut]).into_bytes())
}

#[test]
fn a_kernel_panic_is_reported_with_the_consoles_last_lines() {
    if !host_tools() {
        return;
    }
    // Made up in the format of sys/kern/kern_shutdown.c (no real panic log exists).
    let Some(log) = boot_then("panic: vm_fault_lookup: fault on nofault entry, addr: 0\r\ncpuid = 0\r\ntime = 2\r\nKDB: stack backtrace:\r\n#0 0xffffffff80b9002d at kdb_backtrace+0x5d\r\nUptime: 2s\r\nRebooting...\r\n") else { return };
    let (cmd, _tmp) = fake_run(&log);
    let r = cmd.arg_path(&elves().program).run().failure(125);
    insta::assert_snapshot!("report-panic", report_view(&r.stderr()));
    r.stderr_has("the FreeBSD kernel panicked while the kernel mounted the boot ISO as root: vm_fault_lookup")
        .stderr_has("| KDB: stack backtrace:")
        .stderr_has("the whole console: ");
}

#[test]
fn a_stuck_boot_and_a_timeout_end_with_the_last_lines() {
    if !host_tools() {
        return;
    }
    // The kernel's prompt when it cannot mount root (made up: the prompt's format from vfs_mountroot.c).
    let Some(log) = boot_then("mountroot: unable to remount devfs under /dev (error 2)\r\n\r\nLoader variables:\r\n  vfs.root.mountfrom=cd9660:/dev/cd0\r\n\r\nmountroot> ") else { return };
    let (cmd, _tmp) = fake_run(&log);
    let t = std::time::Instant::now();
    let r = cmd
        .env("FAKE_QEMU_SLEEP", "30")
        .arg_path(&elves().program)
        .run()
        .failure(125)
        .stderr_has("could not mount the boot ISO as its root file system and stopped at its mountroot> prompt");
    assert!(t.elapsed().as_secs() < 20, "bsdx stops QEMU at the prompt");
    insta::assert_snapshot!("report-stuck-at-mountroot", report_view(&r.stderr()));

    // A real boot that goes quiet before the program reports: --timeout.
    let Some(real) = serial_log("sysinfo-ok.log") else {
        return;
    };
    let text = String::from_utf8_lossy(&real);
    let cut = text.find("fbsdrun-init: started").unwrap();
    let (cmd, _tmp) = fake_run(&text.as_bytes()[..cut]);
    let t = std::time::Instant::now();
    let r = cmd
        .env("FAKE_QEMU_SLEEP", "30")
        .args(["--timeout", "2"])
        .arg_path(&elves().program)
        .run()
        .failure(124)
        .stderr_has("no result after 2 s (--timeout); it stopped while the kernel mounted the boot ISO as root")
        .stderr_has("| cd1: Attempt to query device size failed: NOT READY, Medium not present");
    assert!(t.elapsed().as_secs() < 15, "{}", r.stderr());
    insta::assert_snapshot!("report-timeout", report_view(&r.stderr()));
}

#[test]
fn the_results_area_and_qemus_own_errors() {
    if !host_tools() {
        return;
    }
    let Some(real) = serial_log("sysinfo-ok.log") else {
        return;
    };
    // The console lost the exit line; the guest's results area has it.
    let log = as_bsdx_protocol(&real, &|l| Some(format!("#bsdx:o:{l}")));
    let (cmd, _tmp) = fake_run(&log);
    cmd.env("FAKE_QEMU_RESULT", "7")
        .arg_path(&elves().program)
        .run()
        .failure(7);
    // QEMU refusing to start: its message, and the fix.
    let (cmd, _tmp) = fake_run(b"");
    let r = cmd
        .env(
            "FAKE_QEMU_STDERR",
            "qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied",
        )
        .env("FAKE_QEMU_STATUS", "1")
        .arg_path(&elves().program)
        .run()
        .failure(125);
    insta::assert_snapshot!("report-qemu-failed", report_view(&r.stderr()));
    r.stderr_has("QEMU failed")
        .stderr_has("| qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied")
        .stderr_has("bsdx doctor");
    // No QEMU at all.
    let empty = tempfile::tempdir().unwrap();
    let path = std::ffi::OsString::from(empty.path());
    for t in ["xorriso", "mformat", "mcopy", "mmd"] {
        std::os::unix::fs::symlink(which(t).unwrap(), empty.path().join(t)).unwrap();
    }
    run_cmd(&shared_dir("run-cache"))
        .env("PATH", &path)
        .arg_path(&elves().program)
        .run()
        .failure(125)
        .stderr_has("qemu-system-x86_64")
        .stderr_has("apt-get install qemu-system-x86");
}

#[test]
fn doctor_names_the_debian_packages_for_run() {
    let empty = tempfile::tempdir().unwrap();
    let r = bsdx()
        .env("PATH", empty.path())
        .args(["doctor", "--target", "arm64"])
        .run();
    let out = r.stdout();
    for (tool, package) in [
        ("qemu-system-aarch64", "qemu-system-arm"),
        ("xorriso", "xorriso"),
        ("mformat", "mtools"),
        ("mcopy", "mtools"),
    ] {
        let at = out
            .find(&format!("run: {tool}"))
            .unwrap_or_else(|| panic!("{tool}: {out}"));
        assert!(
            out[at..].contains(&format!("apt-get install {package}")),
            "{tool}: {out}"
        );
    }
    // The firmware is looked for in fixed places, which PATH does not hide.
    let fw = out
        .lines()
        .find(|l| l.contains("run: EFI firmware"))
        .unwrap_or_else(|| panic!("{out}"));
    if fw.contains("[missing]") {
        assert!(out.contains("apt-get install qemu-efi-aarch64"), "{out}");
    }
    assert!(
        out.contains("(only `bsdx run` and `bsdx test` need it)"),
        "{out}"
    );
}

// ------------------------------------------------------------ the cargo runner (FAKE QEMU, FAKE cargo-zigbuild)

/// What libtest prints, as a console would carry it (made up; the test
/// names are this file's).
fn libtest_console() -> Vec<u8> {
    b"\r\n---<<BOOT>>---\r\nFreeBSD 14.4-RELEASE GENERIC amd64\r\nTrying to mount root from cd9660:/dev/cd0 []...\r\n#bsdx:hello 1 14.4-RELEASE amd64\r\n#bsdx:start\r\n#bsdx:o:\r\n#bsdx:o:running 2 tests\r\n#bsdx:o:test tests::one ... ok\r\n#bsdx:o:test tests::two ... ok\r\n#bsdx:o:\r\n#bsdx:o:test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\r\n#bsdx:o:\r\n#bsdx:exit 0\r\n#bsdx:poweroff\r\nUptime: 3s\r\nacpi0: Powering system off\r\n".to_vec()
}

#[test]
fn cargos_runner_runs_each_test_binary_through_bsdx_run() {
    if !host_tools() {
        return;
    }
    let env = bsdx()
        .args(["env", "--runner", "--release", "14.4"])
        .env_remove("CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_RUNNER")
        .run()
        .success()
        .stdout();
    let line = env
        .lines()
        .find(|l| l.starts_with("export CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_RUNNER="))
        .unwrap_or_else(|| panic!("{env}"));
    let runner = line.split_once('=').unwrap().1.trim_matches('\'');
    assert!(
        runner.ends_with(" run --release 14.4 --target x86_64-unknown-freebsd --mount . --"),
        "{runner}"
    );
    // Run it the way cargo does: the runner's words, the test binary, its arguments,
    // in the package directory.
    let pkg = tempfile::tempdir().unwrap();
    std::fs::write(pkg.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    std::fs::create_dir_all(pkg.path().join("tests/data")).unwrap();
    std::fs::write(pkg.path().join("tests/data/input.txt"), "fixture\n").unwrap();
    std::fs::create_dir_all(pkg.path().join("target/debug")).unwrap();
    std::fs::write(
        pkg.path().join("target/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    )
    .unwrap();
    let log = pkg.path().join("../console.log");
    std::fs::write(&log, libtest_console()).unwrap();
    let jobfile = tempfile::NamedTempFile::new().unwrap();
    let words: Vec<&str> = runner.split_whitespace().collect();
    let (kernel, base, _) = inputs();
    let o = Command::new(words[0])
        .args(&words[1..])
        .arg(&elves().program)
        .args(["--test-threads", "1"])
        .current_dir(pkg.path())
        .env("PATH", path_with(&fake_qemu()))
        .env("BSDX_CACHE_DIR", shared_dir("run-cache"))
        .env("BSDX_KERNEL_TXZ", kernel)
        .env("BSDX_BASE_TXZ", base)
        .env("BSDX_ACCEL", "tcg")
        .env("CARGO_MANIFEST_DIR", pkg.path())
        .env("RUST_TEST_THREADS", "1")
        .env("FAKE_QEMU_LOG", &log)
        .env("FAKE_QEMU_EXPECT_FILE", "tests/data/input.txt")
        .env("FAKE_QEMU_JOB", jobfile.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("test result: ok. 2 passed"), "{stdout}");
    let job = std::fs::read_to_string(jobfile.path()).unwrap();
    assert!(job.contains("'--test-threads' '1'"), "{job}");
    assert!(
        job.contains("'CARGO_MANIFEST_DIR=/mnt'") && job.contains("'RUST_TEST_THREADS=1'"),
        "{job}"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("not copied: target/ (a cache or .git)"),
        "{stderr}"
    );
}

#[test]
fn bsdx_test_gives_cargo_the_runner_and_passes_its_status_on() {
    if !host_tools() {
        return;
    }
    // A FAKE cargo-zigbuild: it answers --version, records how it was
    // called and runs the runner on one test binary, as cargo would.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("called");
    let fake = format!(
        "#!/bin/sh\n# FAKE cargo-zigbuild for bsdx's tests\n[ \"$1\" = --version ] && {{ echo 'cargo-zigbuild 0.24.1'; exit 0; }}\nprintf '%s\\n' \"$*\" \"$CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_RUNNER\" \"$BSDX_RUN_TIMEOUT\" \"$PWD\" > {record}\necho '     Running unittests src/lib.rs (target/x86_64-unknown-freebsd/debug/deps/demo-1a2b)' >&2\n$CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_RUNNER {prog} --quiet || exit 101\n",
        record = record.display(),
        prog = elves().program.display()
    );
    let f = bin.path().join("cargo-zigbuild");
    std::fs::write(&f, fake).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut path = std::ffi::OsString::from(bin.path());
    path.push(":");
    path.push(path_with(&fake_qemu()));
    let pkg = tempfile::tempdir().unwrap();
    let log = bin.path().join("console.log");
    std::fs::write(&log, libtest_console()).unwrap();
    let (kernel, base, _) = inputs();
    let r = bsdx()
        .dir(pkg.path())
        .env("PATH", &path)
        .env("BSDX_CACHE_DIR", shared_dir("run-cache"))
        .env("FAKE_QEMU_LOG", &log)
        .args([
            "test",
            "--stubs",
            "--release",
            "14.4",
            "--timeout",
            "77",
            "--accel",
            "tcg",
            "--kernel-txz",
        ])
        .arg_path(kernel)
        .args(["--base-txz"])
        .arg_path(base)
        .args(["--", "--lib"])
        .run()
        .success();
    let called = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = called.lines().collect();
    assert_eq!(
        lines[0], "test --target x86_64-unknown-freebsd --lib",
        "{called}"
    );
    assert!(
        lines[1].ends_with(" run --release 14.4 --target x86_64-unknown-freebsd --mount . --"),
        "{called}"
    );
    assert_eq!(lines[2], "77");
    assert!(
        r.stdout().contains("test result: ok. 2 passed"),
        "{}",
        r.stdout()
    );
    // --json: the same run, summarised on stdout; the output on stderr. The
    // project given as PATH from elsewhere: cargo runs there.
    let elsewhere = tempfile::tempdir().unwrap();
    let r = bsdx()
        .dir(elsewhere.path())
        .env("PATH", &path)
        .env("BSDX_CACHE_DIR", shared_dir("run-cache"))
        .env("FAKE_QEMU_LOG", &log)
        .args([
            "test",
            "--json",
            "--stubs",
            "--accel",
            "tcg",
            "--kernel-txz",
        ])
        .arg_path(kernel)
        .args(["--base-txz"])
        .arg_path(base)
        .arg_path(pkg.path())
        .run()
        .success();
    let called = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        called.lines().nth(3).map(std::path::PathBuf::from),
        Some(std::fs::canonicalize(pkg.path()).unwrap()),
        "{called}"
    );
    let j = r.json();
    assert_eq!(j["exit_code"], 0, "{j:#}");
    assert_eq!(j["release"], "14.4");
    assert_eq!(j["runs"][0]["name"], "unittests src/lib.rs", "{j:#}");
    assert_eq!(j["runs"][0]["result"]["ok"], true, "{j:#}");
    assert_eq!(j["runs"][0]["result"]["passed"], 2, "{j:#}");
    assert_eq!(j["passed"], 2);
    assert!(
        r.stderr().contains("test result: ok. 2 passed"),
        "{}",
        r.stderr()
    );
    // A failing test binary: cargo's status comes back.
    std::fs::write(
        &log,
        String::from_utf8_lossy(&libtest_console()).replace("#bsdx:exit 0", "#bsdx:exit 101"),
    )
    .unwrap();
    bsdx()
        .dir(pkg.path())
        .env("PATH", &path)
        .env("BSDX_CACHE_DIR", shared_dir("run-cache"))
        .env("FAKE_QEMU_LOG", &log)
        .args(["test", "--stubs", "--accel", "tcg", "--kernel-txz"])
        .arg_path(kernel)
        .args(["--base-txz"])
        .arg_path(base)
        .run()
        .failure(101);
}

// ------------------------------------------------------------ the guest script, on this host

/// bsdx's guest script run by this host's `sh`, with STAND-INS for the
/// FreeBSD commands it calls (mount, mount_msdosfs, reboot, sed -l, …) and
/// its paths moved into a temporary directory: its own logic (the
/// protocol's order, tagging stdout and stderr through the pipes, the exit
/// status in the results area, the quoting of the job) as the console
/// parser reads it. Not FreeBSD: FreeBSD's sh, init and kernel are not here.
#[test]
fn the_guest_scripts_own_logic_runs_under_a_posix_sh() {
    use bsdx::vm::console::{Event, Milestone, Summary};
    use bsdx::vm::guest;
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let stub = root.join("stub");
    std::fs::create_dir_all(&stub).unwrap();
    for (name, body) in [
        ("mount", "exit 0".to_string()),
        ("mount_msdosfs", "exit 0".to_string()),
        ("umount", "exit 0".to_string()),
        ("chown", "exit 0".to_string()),
        ("hostname", "exit 0".to_string()),
        ("sync", "exit 0".to_string()),
        (
            "uname",
            "[ \"$1\" = -r ] && echo 14.4-RELEASE || echo amd64".to_string(),
        ),
        (
            "reboot",
            "echo \"reboot: poweroff_delay=$(cat \"$(dirname \"$0\")/delay\" 2>/dev/null)\" >&2; echo 'Uptime: 1s'; echo 'acpi0: Powering system off'".to_string(),
        ),
        (
            "sysctl",
            "[ \"$1\" = kern.shutdown.poweroff_delay=0 ] && echo 0 >\"$(dirname \"$0\")/delay\"".to_string(),
        ),
    ] {
        let p = stub.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let target = bsdx::model::target::Target::parse("amd64").unwrap();
    let r = |p: &str| root.join(p.trim_start_matches('/')).display().to_string();
    let script = guest::init_script(&target)
        .replace(
            "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
            &format!("PATH={}:/usr/bin:/bin", stub.display()),
        )
        .replace("/sbin/reboot -q -p", "reboot")
        .replace("\tsleep 60\n", "")
        .replace("(sleep 15;", "(sleep 1;")
        .replace(" /tmp", &format!(" {}", r("/tmp")))
        .replace("</tmp", &format!("<{}", r("/tmp")))
        .replace(">/tmp", &format!(">{}", r("/tmp")))
        .replace(" /var", &format!(" {}", r("/var")))
        .replace("/mnt", &r("/mnt"));
    for d in ["tmp", "var", "mnt/.bsdx/out", "mnt/.bsdx/bin"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let program = root.join("mnt/.bsdx/bin/prog");
    std::fs::write(&program, "#!/bin/sh\necho \"out: $1|$2|$HOME|$USER\"\necho 'err line' >&2\nprintf 'no newline'\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let job = guest::job(&guest::Job {
        program: "prog".into(),
        args: vec!["it's".into(), "two words".into()],
        guest_env: vec![],
        root: true,
    })
    .replace("/mnt", &r("/mnt"));
    std::fs::write(root.join("mnt/.bsdx/job"), job).unwrap();
    let init = root.join("init");
    std::fs::write(&init, script).unwrap();
    let o = Command::new("sh").arg(&init).output().unwrap();
    let console = o.stdout;
    let (s, events, _) = Summary::of_log(&console);
    let text = String::from_utf8_lossy(&console);
    assert!(
        o.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(s.exit, Some(3), "{text}");
    assert!(s.shutdown && s.guest_error.is_none(), "{text}");
    // The poweroff delay (5 s by default) was set to 0 before reboot ran.
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("reboot: poweroff_delay=0\n"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Stdout(_) | Event::Stderr(_)))
        .collect();
    assert!(
        out.contains(&&Event::Stdout("out: it's|two words|/tmp/home|root".into())),
        "{text}"
    );
    assert!(out.contains(&&Event::Stderr("err line".into())), "{text}");
    assert!(out.contains(&&Event::Stdout("no newline".into())), "{text}");
    let order: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Milestone(Milestone::Guest { .. }) => Some("hello".into()),
            Event::Milestone(Milestone::Started) => Some("start".into()),
            Event::Exit(c) => Some(format!("exit {c}")),
            Event::Milestone(Milestone::PoweringOff) => Some("poweroff".into()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["hello", "start", "exit 3", "poweroff"], "{text}");
    // Every program line came before the exit line.
    let exit_at = text.find("#bsdx:exit 3").unwrap();
    assert!(
        text.rfind("#bsdx:o:").unwrap() < exit_at && text.rfind("#bsdx:e:").unwrap() < exit_at,
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("mnt/.bsdx/out/exit")).unwrap(),
        "3\n"
    );
    // A program killed by a signal: sh reports 128+N.
    std::fs::write(&program, "#!/bin/sh\nkill -SEGV $$\n").unwrap();
    for f in [".bsdx-out", ".bsdx-err"] {
        std::fs::remove_file(root.join("tmp").join(f)).unwrap(); // a fresh tmpfs in the guest
    }
    let o = Command::new("sh").arg(&init).output().unwrap();
    let (s, _, _) = Summary::of_log(&o.stdout);
    assert_eq!(s.exit, Some(139), "{}", String::from_utf8_lossy(&o.stdout));
}
