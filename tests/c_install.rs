//! The C library's real install, tested for real: `make install` and
//! `make install-static` into scratch prefixes (with this test's profile
//! and the `target/capi` build that `tests/c_examples.rs` makes, so no extra
//! compile), then a C program built with `pkg-config` flags three ways and
//! run:
//!
//! * shared: `cc app.c $(pkg-config --cflags --libs dualsync)` (plus an
//!   rpath, the prefix being outside the loader's path); it must load
//!   `libdualsync.so.<ABI>`, the SONAME;
//! * static, only `libdualsync.a` installed:
//!   `cc app.c $(pkg-config --cflags --static --libs dualsync)`;
//! * static next to the shared library (GNU ld):
//!   `-Wl,-Bstatic $(pkg-config --libs dualsync) -Wl,-Bdynamic
//!   $(pkg-config --variable=native_static_libs dualsync)`;
//!
//! the static programs must not need `libdualsync.so`. Also: the installed
//! layout (header, `libdualsync.a`, `libdualsync.so.<version>` with its
//! SONAME and the two links), the generated `dualsync.pc`, that the install
//! leaves `git status` as it was, and that `make uninstall` removes every
//! file.
//!
//! Needs `make` and `pkg-config` (CI installs them); without them the test
//! says so and passes. `readelf` (binutils, which comes with the C
//! compiler) checks SONAME and NEEDED entries.

use std::path::{Path, PathBuf};
use std::process::Command;

const CFLAGS: &[&str] = &["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>` of this build.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps")
        .to_path_buf()
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `cmd`, panicking with its output unless it succeeds; returns stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// `git status --porcelain` of the repository, or `None` outside a git
/// checkout (a source tarball).
fn git_status() -> Option<String> {
    let out = Command::new("git")
        .current_dir(manifest_dir())
        .args(["status", "--porcelain", "--untracked-files=all"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `readelf -d` lines of `file` that mention `tag` (`SONAME`, `NEEDED`).
fn dynamic_entries(file: &Path, tag: &str) -> Vec<String> {
    let out = run(Command::new("readelf").arg("-d").arg(file));
    out.lines()
        .filter(|l| l.contains(&format!("({tag})")))
        .map(|l| l.trim().to_owned())
        .collect()
}

/// Everything under `dir` that is not a directory.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn make_install_then_pkg_config_builds_shared_and_static() {
    for tool in ["make", "pkg-config"] {
        if !have(tool) {
            eprintln!("c_install: {tool} not installed: skipped");
            return;
        }
    }
    let root = manifest_dir();
    let here = profile_dir();
    let dir_name = here.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let profile = if dir_name == "debug" { "dev" } else { dir_name };
    let target = here.parent().expect("target dir").join("capi");
    let scratch = here.join("c-install").join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("create scratch dir");
    let both = scratch.join("both");
    let static_only = scratch.join("static");

    let version = env!("CARGO_PKG_VERSION");
    let abi = dualsync::ffi::DUALSYNC_ABI_VERSION;
    let soname = format!("libdualsync.so.{abi}");

    let before = git_status();
    let make = |target_name: &str, prefix: &Path| {
        run(Command::new("make")
            .current_dir(&root)
            .arg("--no-print-directory")
            .arg(target_name)
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("PROFILE={profile}"))
            .arg(format!("CARGO_TARGET_DIR={}", target.display()))
            // A `make -jN` calling `cargo test` must not leak its jobserver.
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS"))
    };
    make("install", &both);
    make("install-static", &static_only);
    if let Some(before) = before {
        assert_eq!(
            git_status().as_deref(),
            Some(&before[..]),
            "make install changed `git status` (a file written into the repository)"
        );
    }

    // The layout.
    let lib = both.join("lib");
    let header = std::fs::read(root.join("include/dualsync.h")).expect("read header");
    assert_eq!(
        std::fs::read(both.join("include/dualsync.h")).expect("installed header"),
        header
    );
    assert!(lib.join("libdualsync.a").is_file());
    let real = lib.join(format!("libdualsync.so.{version}"));
    assert!(real.is_file() && !real.is_symlink());
    assert_eq!(
        std::fs::read_link(lib.join(&soname)).expect("SONAME link"),
        PathBuf::from(format!("libdualsync.so.{version}"))
    );
    assert_eq!(
        std::fs::read_link(lib.join("libdualsync.so")).expect("dev link"),
        PathBuf::from(&soname)
    );
    assert_eq!(
        files_under(&static_only),
        [
            "include/dualsync.h",
            "lib/libdualsync.a",
            "lib/pkgconfig/dualsync.pc"
        ]
        .map(|f| static_only.join(f))
    );
    let have_readelf = have("readelf");
    if have_readelf {
        let so = dynamic_entries(&real, "SONAME");
        assert!(
            so.len() == 1 && so[0].ends_with(&format!("[{soname}]")),
            "SONAME of the installed library: {so:?}"
        );
    } else {
        eprintln!("c_install: readelf not installed: SONAME and NEEDED not checked");
    }

    // The pkg-config file.
    let pkg = |prefix: &Path, args: &[&str]| -> String {
        run(Command::new("pkg-config")
            .args(args)
            .arg("dualsync")
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .env_remove("PKG_CONFIG_LIBDIR"))
    };
    assert_eq!(pkg(&both, &["--modversion"]).trim(), version);
    assert_eq!(
        words(&pkg(&both, &["--variable=libdir"])),
        [lib.display().to_string()]
    );
    let static_line = words(&pkg(&both, &["--static", "--libs"]));
    for l in ["-ldualsync", "-lpthread", "-ldl", "-lm"] {
        assert!(
            static_line.iter().any(|w| w == l),
            "pkg-config --static --libs dualsync lacks {l}: {static_line:?}"
        );
    }

    // A C program, three ways.
    let src = root.join("c-examples/mutex_counter.c");
    let expected = std::fs::read(root.join("c-examples/mutex_counter.expected")).expect("expected");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let both_libdir = lib.display().to_string();
    let variants: [(&str, Vec<String>, bool); 3] = [
        (
            "shared",
            [
                words(&pkg(&both, &["--cflags", "--libs"])),
                vec![format!("-Wl,-rpath,{both_libdir}")],
            ]
            .concat(),
            true,
        ),
        (
            "static-only",
            words(&pkg(&static_only, &["--cflags", "--static", "--libs"])),
            false,
        ),
        (
            "static-next-to-shared",
            [
                words(&pkg(&both, &["--cflags"])),
                vec!["-Wl,-Bstatic".into()],
                words(&pkg(&both, &["--libs"])),
                vec!["-Wl,-Bdynamic".into()],
                words(&pkg(&both, &["--variable=native_static_libs"])),
            ]
            .concat(),
            false,
        ),
    ];
    for (name, flags, shared) in variants {
        let exe = scratch.join(format!("mutex_counter-{name}"));
        run(Command::new(&cc)
            .args(CFLAGS)
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .args(&flags));
        let out = Command::new(&exe)
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .expect("run the program");
        assert!(
            out.status.success(),
            "{name}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout == expected,
            "{name}: output differs from mutex_counter.expected:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        if have_readelf {
            let needed = dynamic_entries(&exe, "NEEDED");
            let uses_so = needed.iter().any(|l| l.contains("libdualsync"));
            assert_eq!(uses_so, shared, "{name}: NEEDED {needed:?}");
            if shared {
                assert!(
                    needed.iter().any(|l| l.ends_with(&format!("[{soname}]"))),
                    "{name}: must load {soname}: {needed:?}"
                );
            }
        }
    }

    make("uninstall", &both);
    assert_eq!(
        files_under(&both),
        Vec::<PathBuf>::new(),
        "left after uninstall"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
