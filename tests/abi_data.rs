//! The shipped ABI data is exactly what `bsdx abi import` makes of the
//! real FreeBSD 13.5 dump in ../shared (skipped, saying so, where ../shared
//! is absent; `BSDX_TEST_REQUIRE_ALL=1` makes that a failure).

use crate::support::*;

#[test]
fn import_of_the_real_13_5_dump_reproduces_the_shipped_file() {
    let Some(dump) = shared_input("freebsd/base-13.5-amd64-abi.json") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("13.5-amd64.json");
    bsdx()
        .args(["abi", "import"])
        .arg_path(&dump)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .success()
        .stdout_has("199 libraries");
    let shipped = std::fs::read(repo().join("stubs/abi/13.5-amd64.json")).unwrap();
    assert!(
        std::fs::read(&out).unwrap() == shipped,
        "stubs/abi/13.5-amd64.json differs from a fresh import"
    );
    bsdx()
        .args(["abi", "import"])
        .arg_path(&dump)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .failure(1)
        .stderr_has("--force");
}

#[test]
fn import_of_zigs_abilists_reproduces_the_shipped_files() {
    let zig_lib = std::process::Command::new("python3")
        .args([
            "-c",
            "import ziglang, os; print(os.path.dirname(ziglang.__file__))",
        ])
        .output()
        .expect("python3 runs");
    let dir = String::from_utf8_lossy(&zig_lib.stdout).trim().to_string();
    let lists = std::path::Path::new(&dir).join("lib/libc/freebsd/abilists");
    assert!(
        lists.is_file(),
        "{} missing: install ziglang==0.15.2 (.ci/setup-debian)",
        lists.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    for arch in ["amd64", "arm64"] {
        let out = tmp.path().join(format!("{arch}.json"));
        bsdx()
            .args(["abi", "import", "--zig-abilists"])
            .arg_path(&lists)
            .args(["--arch", arch, "--out"])
            .arg_path(&out)
            .run()
            .success()
            .stdout_has("9 libraries");
        let shipped =
            std::fs::read(repo().join(format!("stubs/abi/zig-14-libc-{arch}.json"))).unwrap();
        assert!(
            std::fs::read(&out).unwrap() == shipped,
            "stubs/abi/zig-14-libc-{arch}.json differs from a fresh import"
        );
    }
}

#[test]
fn import_from_a_sysroot_reads_the_real_libraries() {
    let tmp = tempfile::tempdir().unwrap();
    let base = crate::env::fake_base(tmp.path(), &[]);
    let out = tmp.path().join("14.4-amd64.json");
    bsdx()
        .args(["abi", "import", "--release", "14.4", "--sysroot"])
        .arg_path(&base)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .success()
        .stdout_has("5 libraries");
    let set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let libs = set["libraries"].as_array().unwrap();
    let procstat = libs
        .iter()
        .find(|l| l["soname"] == "libprocstat.so.1")
        .unwrap();
    assert_eq!(procstat["path"], "/usr/lib/libprocstat.so.1");
    let syms = procstat["symbols"].as_array().unwrap();
    assert_eq!(
        syms.len(),
        41,
        "the 13.5 libprocstat's 41 exports, read back from the ELF"
    );
    assert!(syms.iter().any(|s| s["name"] == "procstat_get_vnode_info"
        && s["version"] == "FBSD_1.2"
        && s["hidden"] == true));
    let devstat = libs
        .iter()
        .find(|l| l["soname"] == "libdevstat.so.7")
        .unwrap();
    assert!(devstat["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "devstat_errbuf" && s["type"] == "object" && s["size"] == 2048));
    // --out is a directory: the file gets the shipped data's name.
    let dir = tmp.path().join("abi");
    bsdx()
        .args(["abi", "import", "--release", "14.4", "--sysroot"])
        .arg_path(&base)
        .args(["--out"])
        .arg_path(&dir)
        .run()
        .success();
    assert_eq!(
        std::fs::read(dir.join("14.4-amd64.json")).unwrap(),
        std::fs::read(&out).unwrap()
    );
    // An unknown release is a usage error naming the known ones, as on
    // every command.
    bsdx()
        .args(["abi", "import", "--release", "16.0", "--sysroot"])
        .arg_path(&base)
        .args(["--out"])
        .arg_path(&tmp.path().join("x.json"))
        .run()
        .failure(2)
        .stderr_has("possible values: 13.5, 14.2");
}
