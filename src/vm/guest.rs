//! What runs inside FreeBSD: the loader's configuration, bsdx's guest
//! script, and the job file that tells it what to run.
//!
//! The boot, in order (every step is FreeBSD's own code from the release's
//! files, except the two scripts here):
//!
//! 1. amd64: the BIOS boots the ISO's El Torito image `boot/cdboot`
//!    (no emulation), which loads `boot/loader` from the ISO. arm64: the
//!    EFI firmware boots `EFI/BOOT/BOOTAA64.EFI` (= `boot/loader.efi`) from
//!    the ISO's El Torito EFI system partition image; the loader then finds
//!    `/boot` on the ISO itself.
//! 2. The loader reads `/boot/loader.conf` ([`loader_conf`]): serial
//!    console, no menu, no delay, root `cd9660:` on the ISO, and the kenv
//!    `init_script=/bsdx/init` for init(8).
//! 3. The kernel mounts the ISO as `/` (read-only) and starts FreeBSD's
//!    `/sbin/init`, which runs `init_script` with the console as its
//!    terminal before anything else ([`INIT_SCRIPT`]).
//! 4. The script mounts tmpfs on `/tmp` and `/var`, the FAT data disk on
//!    `/mnt`, sources `/mnt/.bsdx/job` ([`job`]) and runs the program as
//!    the unprivileged `tests` user of FreeBSD's base (uid/gid 977; `--root`
//!    runs it as root), its stdout and stderr tagged line by line on the
//!    console; it writes the exit status to `/mnt/.bsdx/out/exit`, prints
//!    it, unmounts and powers off (`reboot -q -p`). With QEMU's
//!    `-no-reboot` a panic's reboot ends QEMU too.
//! 5. Should the script ever return, init would run `/etc/rc`: bsdx's
//!    [`RC_FALLBACK`] says so on the console and powers off.

use std::fmt::Write as _;

use crate::env::sh_quote;
use crate::model::target::Target;

use super::console::{PROTOCOL, TAG};

/// Programs from base.txz the guest needs (bsdx's guest script uses these).
pub const REQUIRED_TOOLS: &[&str] = &[
    "bin/sh",
    "bin/mkdir",
    "bin/sleep",
    "bin/sync",
    "sbin/init",
    "sbin/mount",
    "sbin/mount_msdosfs",
    "sbin/umount",
    "sbin/reboot",
    "sbin/sysctl",
    "usr/bin/awk",
    "usr/bin/env",
    "usr/bin/mkfifo",
    "usr/bin/uname",
    "usr/sbin/chown",
    "usr/sbin/chroot",
];

/// A few more tools, for programs and tests that run them (kept when the
/// release has them).
pub const EXTRA_TOOLS: &[&str] = &[
    "bin/[",
    "bin/cat",
    "bin/chmod",
    "bin/cp",
    "bin/date",
    "bin/dd",
    "bin/echo",
    "bin/expr",
    "bin/hostname",
    "bin/kill",
    "bin/ln",
    "bin/ls",
    "bin/mv",
    "bin/ps",
    "bin/pwd",
    "bin/realpath",
    "bin/rm",
    "bin/rmdir",
    "bin/test",
    "usr/bin/basename",
    "usr/bin/cut",
    "usr/bin/dirname",
    "usr/bin/false",
    "usr/bin/find",
    "usr/bin/grep",
    "usr/bin/head",
    "usr/bin/id",
    "usr/bin/mktemp",
    "usr/bin/printf",
    "usr/bin/sed",
    "usr/bin/sort",
    "usr/bin/stat",
    "usr/bin/tail",
    "usr/bin/tee",
    "usr/bin/touch",
    "usr/bin/tr",
    "usr/bin/true",
    "usr/bin/wc",
    "usr/bin/which",
    "usr/bin/xargs",
];

/// `/etc` basics from base.txz (user and group databases, hosts, services).
pub const ETC_FILES: &[&str] = &[
    "etc/group",
    "etc/hosts",
    "etc/login.conf",
    "etc/netconfig",
    "etc/nsswitch.conf",
    "etc/passwd",
    "etc/protocols",
    "etc/pwd.db",
    "etc/services",
    "etc/shells",
];

/// Kernel modules kept from kernel.txz: GENERIC has these file systems
/// built in; should a kernel not, mount(8) loads them from /boot/kernel.
pub const KERNEL_MODULES: &[&str] = &["tmpfs.ko", "msdosfs.ko", "linker.hints"];

/// The unprivileged user programs run as: `tests` in FreeBSD's own
/// `/etc/master.passwd` ("Unprivileged user for tests").
pub const USER: (&str, u32) = ("tests", 977);
/// Where the data disk is mounted in the guest, and the program's working
/// directory.
pub const MOUNT: &str = "/mnt";
/// bsdx's files on the data disk.
pub const DATA_DIR: &str = ".bsdx";
/// The volume label of the data disk.
pub const DATA_LABEL: &str = "BSDXDATA";

/// The guest's device names, per machine, for the QEMU command line in
/// [`super::qemu`]: (root, data disk).
pub fn devices(target: &Target) -> (&'static str, &'static str) {
    match target.machine {
        // PIIX IDE CD-ROM (atapicd, via CAM) for the ISO; virtio-blk for data.
        "amd64" => ("/dev/cd0", "/dev/vtbd0"),
        // Both on virtio-blk (GENERIC has virtio_blk; edk2 boots El Torito
        // from it); the ISO is attached first.
        _ => ("/dev/vtbd0", "/dev/vtbd1"),
    }
}

/// `/boot/loader.conf` for `target`.
pub fn loader_conf(target: &Target) -> String {
    let (root, _) = devices(target);
    let console = match target.machine {
        "amd64" => "console=\"comconsole\"\ncomconsole_speed=\"115200\"\n",
        _ => "console=\"efi\"\n",
    };
    format!(
        "# bsdx run: boot straight into bsdx's guest script, unattended.\n\
         autoboot_delay=\"-1\"\n\
         beastie_disable=\"YES\"\n\
         loader_color=\"NO\"\n\
         {console}\
         vfs.root.mountfrom=\"cd9660:{root}\"\n\
         init_path=\"/sbin/init\"\n\
         init_shell=\"/bin/sh\"\n\
         init_script=\"/bsdx/init\"\n\
         # a panic reboots at once (QEMU runs with -no-reboot, so it exits)\n\
         kern.panic_reboot_wait_time=\"0\"\n\
         debug.debugger_on_panic=\"0\"\n\
         # under emulation: no boot-time memory test, no 5 s CAM settle\n\
         # delay, 100 timer interrupts a second instead of 1000\n\
         hw.memtest.tests=\"0\"\n\
         kern.cam.scsi_delay=\"100\"\n\
         kern.hz=\"100\"\n\
         # no /boot/entropy on a read-only medium\n\
         entropy_cache_load=\"NO\"\n"
    )
}

/// `/bsdx/init`, run by init(8) through the `init_script` kenv.
/// `@DATA@` is the data disk's device, `@USER@` the uid.
pub const INIT_SCRIPT: &str = r##"#!/bin/sh
# bsdx run: the guest side. FreeBSD's init(8) runs this first (kenv
# init_script, from /boot/loader.conf), with the console as its terminal.
# It mounts the data disk, runs the job bsdx wrote there, reports on the
# console in lines that start with "#bsdx:", and powers the VM off.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
umask 022
say() { echo "#bsdx:$*"; }
off() {
	cd /
	sync
	umount @MOUNT@ >/dev/null 2>&1
	say poweroff
	# FreeBSD waits kern.shutdown.poweroff_delay (5000 ms by default,
	# sys/kern/kern_shutdown.c) before powering off, for disk write caches:
	# nothing here is written but the FAT disk, synced and unmounted above.
	sysctl kern.shutdown.poweroff_delay=0 >/dev/null 2>&1
	/sbin/reboot -q -p
	sleep 60
	exit 0
}
fail() { say "error $*"; off; }
say "hello @PROTOCOL@ $(uname -r) $(uname -p)"
mount -t tmpfs tmpfs /tmp || fail "cannot mount a tmpfs on /tmp"
mount -t tmpfs tmpfs /var || fail "cannot mount a tmpfs on /var"
mkdir -p /var/tmp /var/run /var/log /tmp/home
chown @USER@:@USER@ /tmp/home
mount_msdosfs -u @USER@ -g @USER@ -m 755 -M 755 @DATA@ @MOUNT@ ||
	fail "cannot mount the data disk @DATA@ on @MOUNT@"
[ -r @MOUNT@/@DIR@/job ] || fail "no job file on the data disk"
. @MOUNT@/@DIR@/job || fail "cannot read the job file"
hostname bsdx 2>/dev/null
ulimit -c 0
cd @MOUNT@ || fail "cannot enter @MOUNT@"
mkfifo /tmp/.bsdx-out /tmp/.bsdx-err || fail "cannot create the output pipes"
# One tagger per stream: every line (a last one without its newline too)
# becomes one complete console line, written at once.
awk '{ print "#bsdx:o:" $0; fflush() }' </tmp/.bsdx-out &
out=$!
awk '{ print "#bsdx:e:" $0; fflush() }' </tmp/.bsdx-err &
err=$!
say start
bsdx_job </dev/null >/tmp/.bsdx-out 2>/tmp/.bsdx-err
rc=$?
# The taggers end when the last writer closes the pipes; a process the
# program left behind may hold them open, so wait 15 s at most.
(sleep 15; kill $out $err) >/dev/null 2>&1 &
wait $out $err
echo "$rc" >@MOUNT@/@DIR@/out/exit
say "exit $rc"
off
"##;

/// `/etc/rc`: init(8) runs it only if the guest script returned.
pub const RC_FALLBACK: &str = "#!/bin/sh\n\
# bsdx run: init(8) runs /etc/rc only if bsdx's guest script returned.\n\
echo \"#bsdx:error init(8) reached /etc/rc: bsdx's guest script returned without powering off\"\n\
/sbin/reboot -q -p\n";

/// The guest script for `target`, placeholders filled in.
pub fn init_script(target: &Target) -> String {
    let (_, data) = devices(target);
    INIT_SCRIPT
        .replace("@PROTOCOL@", &PROTOCOL.to_string())
        .replace("@DATA@", data)
        .replace("@MOUNT@", MOUNT)
        .replace("@DIR@", DATA_DIR)
        .replace("@USER@", &USER.1.to_string())
}

/// The program to run and how.
#[derive(Debug, Clone)]
pub struct Job {
    /// The program's file name in `/mnt/.bsdx/bin/`.
    pub program: String,
    pub args: Vec<String>,
    /// The guest environment the program asks for (nothing else is inherited).
    pub guest_env: Vec<(String, String)>,
    pub root: bool,
}

impl Job {
    /// The program's path in the guest.
    pub fn guest_path(&self) -> String {
        format!("{MOUNT}/{DATA_DIR}/bin/{}", self.program)
    }

    /// The environment the program starts with: a small fixed base, then
    /// `guest_env` (later entries win).
    pub fn environment(&self) -> Vec<(String, String)> {
        let (name, _) = USER;
        let user = if self.root { "root" } else { name };
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), "/bin:/usr/bin:/sbin:/usr/sbin".into()),
            ("HOME".into(), "/tmp/home".into()),
            ("USER".into(), user.into()),
            ("LOGNAME".into(), user.into()),
            ("TMPDIR".into(), "/tmp".into()),
            ("TERM".into(), "dumb".into()),
        ];
        for (k, v) in &self.guest_env {
            vars.retain(|(n, _)| n != k);
            vars.push((k.clone(), v.clone()));
        }
        vars
    }
}

/// `/mnt/.bsdx/job`: sh code defining `bsdx_job`, which runs the program
/// with exactly its arguments and environment (every word single-quoted).
pub fn job(job: &Job) -> String {
    let mut cmd = String::new();
    if !job.root {
        let uid = USER.1;
        // chroot(8) to / only to drop privileges: numeric ids need no
        // password database; -G replaces root's supplementary groups.
        let _ = write!(cmd, "/usr/sbin/chroot -u {uid} -g {uid} -G {uid} / ");
    }
    cmd.push_str("/usr/bin/env -i");
    for (k, v) in job.environment() {
        cmd.push(' ');
        cmd.push_str(&sh_quote(&format!("{k}={v}")));
    }
    if !job.root {
        // chroot leaves the working directory at /: go back.
        let _ = write!(
            cmd,
            " /bin/sh -c {} sh",
            sh_quote(&format!("cd {MOUNT} && exec \"$@\""))
        );
    }
    cmd.push(' ');
    cmd.push_str(&sh_quote(&job.guest_path()));
    for a in &job.args {
        cmd.push(' ');
        cmd.push_str(&sh_quote(a));
    }
    format!(
        "# bsdx run: the job, written by bsdx on the host ({TAG} protocol {PROTOCOL}).\n\
         bsdx_job() {{\n\t{cmd}\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amd64() -> Target {
        Target::parse("amd64").unwrap()
    }

    #[test]
    fn the_script_has_no_placeholder_left() {
        for t in crate::model::target::TARGETS {
            let s = init_script(t);
            assert!(!s.contains('@'), "{s}");
            assert!(s.starts_with("#!/bin/sh\n"));
        }
        assert!(init_script(&amd64())
            .contains("mount_msdosfs -u 977 -g 977 -m 755 -M 755 /dev/vtbd0 /mnt"));
        let arm = Target::parse("arm64").unwrap();
        assert!(loader_conf(&arm).contains("vfs.root.mountfrom=\"cd9660:/dev/vtbd0\""));
        assert!(loader_conf(&amd64()).contains("vfs.root.mountfrom=\"cd9660:/dev/cd0\""));
    }

    #[test]
    fn job_quotes_every_word() {
        let j = Job {
            program: "my prog".into(),
            args: vec!["it's".into(), "$HOME".into(), "a\nb".into()],
            guest_env: vec![
                ("RUST_BACKTRACE".into(), "1".into()),
                ("HOME".into(), "/x".into()),
            ],
            root: false,
        };
        let text = job(&j);
        assert!(text.contains("/usr/sbin/chroot -u 977 -g 977 -G 977 / /usr/bin/env -i 'PATH=/bin:/usr/bin:/sbin:/usr/sbin'"), "{text}");
        assert!(
            text.contains(" 'HOME=/x'") && !text.contains("'HOME=/tmp/home'"),
            "{text}"
        );
        assert!(text.contains(r#"/bin/sh -c 'cd /mnt && exec "$@"' sh '/mnt/.bsdx/bin/my prog' 'it'\''s' '$HOME' 'a
b'"#), "{text}");
        let root = job(&Job { root: true, ..j });
        assert!(
            root.contains("\t/usr/bin/env -i 'PATH=") && root.contains("'USER=root'"),
            "{root}"
        );
        assert!(!root.contains("chroot"));
    }
}
