//! Build script. Without the `capi` feature (every Rust dependent) it does
//! nothing: no cbindgen, nothing written anywhere.
//!
//! With `capi` (the C library build: `make`, or `cargo rustc --features capi
//! --crate-type staticlib,cdylib`, see `c-examples/README.md`):
//!
//! * cbindgen generates the C header from `src/ffi` into
//!   `$OUT_DIR/dualsync.h`;
//! * that header is compared with the committed `include/dualsync.h`, and a
//!   difference fails the build ("stale header": run `make header` and
//!   commit it), so a C library is never built next to a header that does
//!   not describe it. This is also CI's staleness check;
//! * with `DUALSYNC_HEADER_OUT=path` set (`make header` sets it to
//!   `include/dualsync.h`) the generated header is written there instead of
//!   compared: the only way this script writes outside `OUT_DIR`, and only
//!   on request.
//!
//! The SONAME is not set here: `cargo:rustc-cdylib-link-arg` needs a
//! `cdylib` in `[lib] crate-type` (cargo warns otherwise, cargo#9562), and
//! Rust dependents must not build one. The Makefile passes it to rustc
//! (`-C link-arg=-Wl,-soname,libdualsync.so.<DUALSYNC_ABI_VERSION>`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "capi")]
    capi::main();
}

#[cfg(feature = "capi")]
mod capi {
    use std::path::{Path, PathBuf};

    pub(super) fn main() {
        println!("cargo:rerun-if-changed=cbindgen.toml");
        println!("cargo:rerun-if-changed=src/ffi");
        // A hand-edited, regenerated or deleted header is compared again.
        println!("cargo:rerun-if-changed=include/dualsync.h");
        println!("cargo:rerun-if-env-changed=DUALSYNC_HEADER_OUT");

        let root = PathBuf::from(env("CARGO_MANIFEST_DIR"));
        let out_dir = PathBuf::from(env("OUT_DIR"));
        let header = match generate(&root, &out_dir) {
            Ok(h) => h,
            Err(e) => fail(&format!(
                "the C header could not be generated from src/ffi: {e}"
            )),
        };

        match std::env::var_os("DUALSYNC_HEADER_OUT").filter(|v| !v.is_empty()) {
            Some(dest) => {
                if let Err(e) = write_if_changed(Path::new(&dest), &header) {
                    fail(&e);
                }
            }
            None => {
                let committed = root.join("include/dualsync.h");
                if std::fs::read(&committed).ok().as_deref() != Some(&header[..]) {
                    fail(&format!(
                        "{} is stale: it differs from the header cbindgen generates from \
                         src/ffi ({}). Regenerate it with `make header` (or \
                         DUALSYNC_HEADER_OUT=$PWD/include/dualsync.h cargo build --features capi) \
                         and commit it.",
                        committed.display(),
                        out_dir.join("dualsync.h").display()
                    ))
                }
            }
        }
    }

    fn env(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| fail(&format!("{name} is not set")))
    }

    /// Stops the build with `msg` (on stderr, which cargo shows).
    fn fail(msg: &str) -> ! {
        eprintln!("error: dualsync: {msg}");
        std::process::exit(1)
    }

    /// Runs cbindgen over `src/ffi` into `out_dir/dualsync.h`; returns it.
    fn generate(root: &Path, out_dir: &Path) -> Result<Vec<u8>, String> {
        let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
            .map_err(|e| format!("cbindgen.toml: {e}"))?;
        let generated = out_dir.join("dualsync.h");
        // cbindgen reports parse errors as `Err`; be safe against a panic on
        // unusual source too.
        let built = std::panic::catch_unwind(|| {
            cbindgen::Builder::new()
                .with_config(config)
                // Only the C ABI: `src/ffi/mod.rs` and every `mod` it declares.
                .with_src(root.join("src/ffi/mod.rs"))
                .generate()
        })
        .map_err(|_| "cbindgen panicked".to_string())?
        .map_err(|e| format!("cbindgen: {e}"))?;
        built.write_to_file(&generated);
        std::fs::read(&generated).map_err(|e| format!("reading {}: {e}", generated.display()))
    }

    /// Writes `content` to `dest` unless it already holds it, through a
    /// temporary file and a rename, so that a C compiler never sees a
    /// half-written header.
    fn write_if_changed(dest: &Path, content: &[u8]) -> Result<(), String> {
        if std::fs::read(dest).ok().as_deref() == Some(content) {
            return Ok(());
        }
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = dest
            .file_name()
            .ok_or_else(|| format!("DUALSYNC_HEADER_OUT={} names no file", dest.display()))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        std::fs::write(&tmp, content).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dest).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("renaming to {}: {e}", dest.display())
        })
    }
}
