//! Compiles every `c-examples/*.c` against the C library of the current
//! profile (static and shared), runs it, and compares its stdout byte for
//! byte with `c-examples/NAME.expected` (exit status 0 required). When
//! `valgrind` is installed, both binaries also run under memcheck.
//!
//! Where the library comes from: the crate's `[lib]` is an rlib only (Rust
//! dependents pay nothing for C), so the C library is built here the way
//! the top-level `Makefile` builds it (`make lib`):
//!
//! ```text
//! cargo rustc --lib --profile <this profile> --features capi \
//!     --crate-type staticlib,cdylib -- -C link-arg=-Wl,-soname,libdualsync.so.<ABI>
//! ```
//!
//! into its own target dir, `target/capi` (the outer `cargo test` holds the
//! lock on `target/`), plus the `libdualsync.so.<ABI>` link the Makefile
//! makes next to it. The `capi` feature also fails that build when
//! `include/dualsync.h` is stale (`make header`), so the examples never
//! compile against a header that does not describe the library.
//! `DUALSYNC_LIB_DIR` overrides the library directory (it must hold
//! `libdualsync.a`, `libdualsync.so` and `libdualsync.so.<ABI>`).
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

/// `libdualsync.so.<ABI>`: the SONAME, the name programs load.
fn soname() -> String {
    format!("libdualsync.so.{}", dualsync::ffi::DUALSYNC_ABI_VERSION)
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
        for f in ["libdualsync.a", "libdualsync.so", &soname()] {
            assert!(
                d.join(f).exists(),
                "DUALSYNC_LIB_DIR={} does not hold {f}",
                d.display()
            );
        }
        return d;
    }
    let here = profile_dir();
    // `debug` is the `dev` profile; other profile dirs are named after
    // their profile (`release`, or a custom one).
    let dir_name = here.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let profile = if dir_name == "debug" { "dev" } else { dir_name };
    let target = here
        .parent()
        .expect("profile dir has a parent")
        .join("capi");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(manifest_dir())
        .args(["rustc", "--lib", "--quiet", "--profile", profile])
        .args(["--features", "capi", "--crate-type", "staticlib,cdylib"])
        // The same arguments as the Makefile's, so that `make` reuses this
        // build (cargo fingerprints them).
        .args(["--", "-C"])
        .arg(format!("link-arg=-Wl,-soname,{}", soname()))
        .env("CARGO_TARGET_DIR", &target);
    eprintln!("c_examples: building the C library: {cmd:?}");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run {cargo:?} rustc: {e}"));
    assert!(
        status.success(),
        "building the C library failed ({status}); if it says include/dualsync.h \
         is stale, run `make header` and commit the header"
    );
    let built = target.join(dir_name);
    let link = built.join(soname());
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("libdualsync.so", &link)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
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
        "{} is missing: `make header` generates it",
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
