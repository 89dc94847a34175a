//! Compiles every `c-examples/*.c` against the library of the current build
//! (static and shared), runs it, and compares its stdout byte for byte with
//! `c-examples/NAME.expected` (exit status 0 required). When `valgrind` is
//! installed, both binaries also run under memcheck.
//!
//! Where the library comes from: `cargo test` compiles the `dualsync` lib
//! for the integration tests once, with every crate type of `[lib]` (`rlib`,
//! `staticlib`, `cdylib`, one rustc invocation), into `target/<profile>/deps/`
//! — the directory of this test binary — as `libdualsync.rlib`,
//! `libdualsync.a` and `libdualsync.so`. It does *not* copy ("uplift") them
//! to `target/<profile>/`: only `cargo build` does, so the copies there may
//! be stale (or absent in a fresh clone) and are never used here. If `deps/`
//! lacks them, or they are older than the newest `libdualsync*.rlib` there
//! (a `crate-type` change, an unusual layout), a nested `cargo build --lib`
//! with its own `CARGO_TARGET_DIR` builds them (its own target dir, so it
//! never waits on the lock held by the outer `cargo test`).
//! `DUALSYNC_LIB_DIR` overrides the library directory.
//!
//! Valgrind: `--errors-for-leak-kinds=definite`. A definite leak means a
//! block nothing points to any more (a handle never freed, a box leaked by
//! the ABI): a real bug. "Possibly lost" is excluded because Rust's
//! allocations are often referenced by interior pointers (`Arc` headers,
//! thread stacks and TLS of runtime threads), which memcheck reports as
//! possible leaks although they are not; "still reachable" is excluded
//! because Rust's std and glibc keep process-lifetime allocations (stdout
//! buffers, thread-local registries) on purpose. Indirect leaks only exist
//! below a definite one, which already fails. `DUALSYNC_NO_VALGRIND=1` skips
//! the valgrind runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one native run may take before it counts as hung.
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// The same under valgrind (much slower, and serializes threads).
const VALGRIND_LIMIT: Duration = Duration::from_secs(600);

const CFLAGS: &[&str] = &["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"];
/// Rust's std inside the static library needs these.
const STATIC_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>` (or `target/<triple>/<profile>`) of this build.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent dir");
    deps.parent().expect("deps/ has a parent dir").to_path_buf()
}

/// A fresh directory under `target/<profile>/c-examples/`, private to this
/// test process (several `cargo test` runs may share a target dir; they must
/// not overwrite each other's binaries).
fn scratch_dir(what: &str) -> PathBuf {
    let d = profile_dir()
        .join("c-examples")
        .join(format!("{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
    d
}

/// Removes a scratch dir once its test has passed (kept on failure, to
/// look at).
fn remove_scratch(d: &Path) {
    let _ = std::fs::remove_dir_all(d);
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).ok()?.modified().ok()
}

/// Whether `dir` holds a static and a shared library at least as new as the
/// newest rlib there (they are produced by the same rustc invocation, so a
/// `.a`/`.so` much older than the rlib is left over from an earlier build).
fn libs_usable(dir: &Path) -> bool {
    let (Some(a), Some(so)) = (
        mtime(&dir.join("libdualsync.a")),
        mtime(&dir.join("libdualsync.so")),
    ) else {
        return false;
    };
    let newest_rlib = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("libdualsync") && n.ends_with(".rlib")
        })
        .filter_map(|e| mtime(&e.path()))
        .max();
    match newest_rlib {
        // Allow a little skew between the three writes.
        Some(rlib) => [a, so].iter().all(|t| {
            rlib.duration_since(*t)
                .is_ok_and(|d| d < Duration::from_secs(60))
                || *t >= rlib
        }),
        None => true,
    }
}

/// Finds (or builds) the directory holding `libdualsync.a` and `.so`, once
/// per test process (the tests here run in parallel).
fn lib_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(find_or_build_lib_dir).clone()
}

fn find_or_build_lib_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DUALSYNC_LIB_DIR") {
        let d = PathBuf::from(d);
        assert!(
            libs_usable(&d),
            "DUALSYNC_LIB_DIR={} does not hold libdualsync.a and libdualsync.so",
            d.display()
        );
        return d;
    }
    let deps = std::env::current_exe()
        .expect("current_exe")
        .parent()
        .expect("test binary has a parent dir")
        .to_path_buf();
    if libs_usable(&deps) {
        return deps;
    }
    let here = profile_dir();
    // Fallback: a nested build in its own target dir (no lock contention
    // with the outer cargo). Same profile as this test binary.
    let profile = here.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let target = here
        .parent()
        .expect("profile dir has a parent")
        .join("c-examples-lib");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(manifest_dir())
        .args(["build", "--lib", "--quiet"])
        .env("CARGO_TARGET_DIR", &target);
    if profile != "debug" {
        // The profile dir is named after the profile (`release`, or a
        // custom one); `debug` is the `dev` profile, the default.
        cmd.args(["--profile", profile]);
    }
    eprintln!(
        "c_examples: no fresh libdualsync.a/.so in {}; building them into {}",
        deps.display(),
        target.display()
    );
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run {cargo:?} build --lib: {e}"));
    assert!(
        status.success(),
        "nested `cargo build --lib` failed: {status}"
    );
    let built = target.join(profile);
    assert!(
        libs_usable(&built),
        "nested build did not produce libdualsync.a and libdualsync.so in {} \
         (is `crate-type` still [\"rlib\", \"staticlib\", \"cdylib\"] in Cargo.toml?)",
        built.display()
    );
    built
}

struct Outcome {
    status: Option<i32>,
    /// How it ended, in words (`exit status: 1`, `signal: 11 (SIGSEGV)`).
    how: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
}

/// Runs `cmd`, killing it after `limit`. Output goes to files so a chatty
/// child can never block on a full pipe.
fn run_with_limit(mut cmd: Command, scratch: &Path, limit: Duration) -> Outcome {
    let out_path = scratch.with_extension("stdout");
    let err_path = scratch.with_extension("stderr");
    let out = std::fs::File::create(&out_path).expect("create stdout file");
    let err = std::fs::File::create(&err_path).expect("create stderr file");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    let start = Instant::now();
    let mut timed_out = false;
    let (status, how) = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break (s.code(), s.to_string());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break (None, "killed".to_string());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        status,
        how,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
        timed_out,
    }
}

fn have_valgrind() -> bool {
    if std::env::var_os("DUALSYNC_NO_VALGRIND").is_some_and(|v| v != "0") {
        return false;
    }
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The first line where `got` differs from `want`, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<_>, Vec<_>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            return format!(
                "line {}: expected {:?}, got {:?}",
                i + 1,
                w.get(i).copied().unwrap_or("<end of output>"),
                g.get(i).copied().unwrap_or("<end of output>")
            );
        }
    }
    "same lines; the difference is in line endings or a final newline".to_string()
}

/// Compiles, runs and checks one example; returns the failures.
fn check_example(
    src: &Path,
    expected: &[u8],
    lib: &Path,
    include: &Path,
    build: &Path,
    valgrind: bool,
) -> Vec<String> {
    let name = src.file_stem().unwrap().to_str().unwrap().to_owned();
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let mut failures = Vec::new();
    for variant in ["static", "shared"] {
        let exe = build.join(format!("{name}-{variant}"));
        let mut cmd = Command::new(&cc);
        cmd.args(CFLAGS)
            .arg("-I")
            .arg(include)
            .arg("-o")
            .arg(&exe)
            .arg(src);
        if variant == "static" {
            cmd.arg(lib.join("libdualsync.a")).args(STATIC_LIBS);
        } else {
            cmd.arg("-L")
                .arg(lib)
                .arg(format!("-Wl,-rpath,{}", lib.display()))
                .args(["-ldualsync", "-lpthread"]);
        }
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!(
                    "{name}-{variant}: could not run the C compiler {cc:?}: {e}"
                ));
                continue;
            }
        };
        if !out.status.success() {
            failures.push(format!(
                "{name}-{variant}: compilation failed ({}):\n{:?}\n{}",
                out.status,
                cmd,
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }

        let mut runs = vec![("native", Command::new(&exe), RUN_LIMIT)];
        if valgrind {
            let mut vg = Command::new("valgrind");
            vg.args([
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--show-leak-kinds=definite",
                // Examples spin with sched_yield; fair scheduling keeps
                // valgrind's one-thread-at-a-time model from starving them.
                "--fair-sched=try",
                "--quiet",
            ])
            .arg(&exe);
            runs.push(("valgrind", vg, VALGRIND_LIMIT));
        }
        for (how, mut cmd, limit) in runs {
            cmd.env("LD_LIBRARY_PATH", lib);
            let label = format!("{name}-{variant} ({how})");
            let o = run_with_limit(cmd, &build.join(format!("{name}-{variant}-{how}")), limit);
            let stderr = String::from_utf8_lossy(&o.stderr);
            if o.timed_out {
                failures.push(format!(
                    "{label}: still running after {limit:?} (deadlock?), killed\nstderr:\n{stderr}"
                ));
                continue;
            }
            if o.status != Some(0) {
                failures.push(format!(
                    "{label}: {}, expected exit status 0\nstdout:\n{}\nstderr:\n{stderr}",
                    o.how,
                    String::from_utf8_lossy(&o.stdout)
                ));
                continue;
            }
            if o.stdout != expected {
                let want = String::from_utf8_lossy(expected);
                let got = String::from_utf8_lossy(&o.stdout);
                failures.push(format!(
                    "{label}: stdout differs from {name}.expected ({})\n--- got ---\n{got}--- end ---\nstderr:\n{stderr}",
                    first_difference(&want, &got)
                ));
            }
        }
    }
    failures
}

#[test]
fn c_examples_match_expected_output() {
    let root = manifest_dir();
    let examples = root.join("c-examples");
    let include = root.join("include");
    assert!(
        include.join("dualsync.h").is_file(),
        "{} is missing: build.rs generates it on `cargo build`",
        include.join("dualsync.h").display()
    );

    // NAME -> (source, expected output)
    let mut found: BTreeMap<String, (PathBuf, Option<Vec<u8>>)> = BTreeMap::new();
    for entry in std::fs::read_dir(&examples)
        .unwrap_or_else(|e| panic!("reading {}: {e}", examples.display()))
    {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "c") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let expected = std::fs::read(path.with_extension("expected")).ok();
            found.insert(name, (path, expected));
        }
    }
    assert!(!found.is_empty(), "no *.c files in {}", examples.display());

    let lib = lib_dir();
    eprintln!("c_examples: libdualsync.a/.so from {}", lib.display());
    let build = scratch_dir("examples");
    let valgrind = have_valgrind();
    if !valgrind {
        eprintln!(
            "c_examples: valgrind not installed (or DUALSYNC_NO_VALGRIND set): memcheck runs skipped"
        );
    }

    // One thread per example: valgrind runs are slow and independent.
    let results: Vec<(String, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = found
            .iter()
            .map(|(name, (src, expected))| {
                let (lib, include, build) = (&lib, &include, &build);
                s.spawn(move || {
                    let failures = match expected {
                        None => vec![format!(
                            "{name}: missing {name}.expected (the exact stdout the program must print)"
                        )],
                        Some(exp) => check_example(src, exp, lib, include, build, valgrind),
                    };
                    (name.clone(), failures)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("example thread panicked"))
            .collect()
    });

    let mut report = String::new();
    for (name, failures) in &results {
        if failures.is_empty() {
            eprintln!(
                "c_examples: {name}: ok (static, shared{})",
                if valgrind { ", under valgrind" } else { "" }
            );
        }
        for f in failures {
            let _ = writeln!(report, "\n==== {f}");
        }
    }
    assert!(
        report.is_empty(),
        "C examples failed (library from {}; binaries kept in {}):{report}",
        lib.display(),
        build.display()
    );
    remove_scratch(&build);
}

/// `dualsync.h` compiles on its own (every type it uses comes from the
/// includes it carries), as strict C99 and, when a C++ compiler exists, as
/// C++11.
#[test]
fn header_is_self_contained() {
    let include = manifest_dir().join("include");
    let dir = scratch_dir("header");
    let src = dir.join("header_only.c");
    std::fs::write(
        &src,
        "#include \"dualsync.h\"\nint main(void) { return DUALSYNC_OK; }\n",
    )
    .expect("write header_only.c");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let mut compilers = vec![(cc, vec!["-std=c99", "-pedantic"])];
    let cxx = std::env::var_os("CXX").unwrap_or_else(|| "c++".into());
    if Command::new(&cxx)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        compilers.push((cxx, vec!["-x", "c++", "-std=c++11"]));
    }
    for (compiler, flags) in compilers {
        let out = Command::new(&compiler)
            .args(&flags)
            .args(["-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I"])
            .arg(&include)
            .arg(&src)
            .output()
            .unwrap_or_else(|e| panic!("could not run {compiler:?}: {e}"));
        assert!(
            out.status.success(),
            "include/dualsync.h does not compile on its own with {compiler:?} {flags:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    remove_scratch(&dir);
}

/// `dualsync.pc.in`, installed into a scratch prefix the way
/// `c-examples/README.md` says, gives `pkg-config` flags that build and link
/// a C example against the shared and the static library. Skipped (with a
/// message) when `pkg-config` is not installed.
#[test]
fn pkg_config_template_builds_an_example() {
    if !Command::new("pkg-config")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("pkg-config not installed: skipped");
        return;
    }
    let root = manifest_dir();
    let lib = lib_dir();
    let prefix = scratch_dir("pkgconfig-prefix");
    for d in ["include", "lib/pkgconfig"] {
        std::fs::create_dir_all(prefix.join(d)).expect("create prefix");
    }
    let copy = |from: PathBuf, to: PathBuf| {
        std::fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), to.display()));
    };
    copy(
        root.join("include/dualsync.h"),
        prefix.join("include/dualsync.h"),
    );
    copy(lib.join("libdualsync.a"), prefix.join("lib/libdualsync.a"));
    copy(
        lib.join("libdualsync.so"),
        prefix.join("lib/libdualsync.so"),
    );
    let template =
        std::fs::read_to_string(root.join("dualsync.pc.in")).expect("read dualsync.pc.in");
    assert!(template.contains("@PREFIX@") && template.contains("@VERSION@"));
    let pc = template
        .replace("@PREFIX@", prefix.to_str().expect("UTF-8 path"))
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"));
    std::fs::write(prefix.join("lib/pkgconfig/dualsync.pc"), pc).expect("write dualsync.pc");

    let pkg = |args: &[&str]| -> Vec<String> {
        let out = Command::new("pkg-config")
            .args(args)
            .arg("dualsync")
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .output()
            .expect("run pkg-config");
        assert!(
            out.status.success(),
            "pkg-config {args:?} dualsync failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(pkg(&["--modversion"]), [env!("CARGO_PKG_VERSION")]);
    let cflags = pkg(&["--cflags"]);
    let libdir = pkg(&["--variable=libdir"]).concat();

    let src = root.join("c-examples/mutex_counter.c");
    let expected = std::fs::read(root.join("c-examples/mutex_counter.expected")).expect("expected");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let static_lib = format!("{libdir}/libdualsync.a");
    let variants: [(&str, Vec<String>); 2] = [
        // The README's shared link line.
        (
            "shared",
            [pkg(&["--libs"]), vec![format!("-Wl,-rpath,{libdir}")]].concat(),
        ),
        // The README's static link line.
        (
            "static",
            [vec![static_lib], pkg(&["--libs-only-l", "--static"])].concat(),
        ),
    ];
    for (variant, libs) in variants {
        let exe = prefix.join(format!("mutex_counter-pc-{variant}"));
        let out = Command::new(&cc)
            .args(CFLAGS)
            .args(&cflags)
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .args(
                libs.iter()
                    .filter(|l| *l != "-ldualsync" || variant == "shared"),
            )
            .output()
            .expect("run cc");
        assert!(
            out.status.success(),
            "{variant} build with pkg-config flags failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = run_with_limit(Command::new(&exe), &exe.with_extension("run"), RUN_LIMIT);
        assert_eq!(
            run.status,
            Some(0),
            "{variant}: {}\nstderr:\n{}",
            run.how,
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(
            run.stdout == expected,
            "{variant}: output differs from mutex_counter.expected"
        );
    }
    remove_scratch(&prefix);
}
