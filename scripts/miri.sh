#!/usr/bin/env bash
# Runs the engine's unit tests (`engine::`: the intrusive waiter queue, the
# driver, a gate built on them), the queue's ring and the RwLock's unit tests
# (`rwlock::`: the pointer work of its mapped and owned guards, threads
# queued on it) under Miri, when Miri can be had.
#
# Tries to install the `miri` component for the nightly toolchain; when that
# is impossible (no nightly, no access to the rustup server, sysroot build
# failing) it prints `miri: SKIPPED (reason)` and exits 0. When Miri runs, its
# verdict is the script's exit status.
#
# Extra Miri flags can be given in MIRIFLAGS (e.g. -Zmiri-many-seeds=0..8).
set -u
cd "$(dirname "$0")/.."

skip() {
    echo "miri: SKIPPED ($1)"
    exit 0
}

command -v rustup >/dev/null 2>&1 || skip "rustup not found"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    timeout 600 rustup toolchain install nightly --profile minimal >/dev/null 2>&1 ||
        skip "no nightly toolchain, and installing one failed (no access to the rustup server?)"
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    timeout 600 rustup component add --toolchain nightly miri rust-src >/dev/null 2>&1 ||
        skip "the miri component could not be installed (no access to the rustup server?)"
fi
cargo +nightly miri --version >/dev/null 2>&1 || skip "cargo miri is not usable after installing it"
timeout 1200 cargo +nightly miri setup >/dev/null 2>&1 ||
    skip "cargo miri setup (building Miri's sysroot) failed"

echo "miri: $(cargo +nightly miri --version 2>/dev/null)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/miri}"
exec cargo +nightly miri test --lib -- engine:: queue::ring queue::rendezvous rwlock::
