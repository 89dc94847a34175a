#!/usr/bin/env bash
# Runs the concurrency tests under ThreadSanitizer, when a nightly toolchain
# with `rust-src` can be had (the way tokio and crossbeam run sanitizers in
# their CI).
#
# Which tests: the library's unit tests (--lib) and every integration test
# file tests/*.rs except tests/c_examples.rs and tests/c_install.rs, which
# build C programs against the uninstrumented C library and run them (under
# valgrind: nothing for TSan to see there, and valgrind cannot run a TSan
# binary). tests/fairness.rs is in: it counts a holder's re-locks only
# while the measured caller is queued, which TSan's 5-15x slowdown does
# not stretch. (It was left out while it counted from the call: a
# caller's pre-queue window then outlasted a time slice, and barging
# CapacityLimiter calls were overtaken 74-221 times in 3 runs of 8.) It
# runs the hand-off and barging paths of the five primitives that grant
# something with more runnable threads than cores.
# tests/ffi_edge_cases.rs is in: it drives the C ABI from Rust
# threads, frees included. Doc tests are not run:
# naming the targets explicitly (--lib/--test) leaves them out.
#
# Tries to install the nightly toolchain and its `rust-src` component; when
# that is impossible (no rustup, no access to the rustup server) it prints
# `tsan: SKIPPED (reason)` and exits 0. When the tests run, their verdict is
# the script's exit status: a failing test or any TSan report fails it.
#
# Extra TSan options can be given in TSAN_OPTIONS (they come after ours, so
# they win); extra arguments to this script go to the test harness, e.g.
#   bash scripts/tsan.sh stress
set -u
cd "$(dirname "$0")/.."

skip() {
    echo "tsan: SKIPPED ($1)"
    exit 0
}

command -v rustup >/dev/null 2>&1 || skip "rustup not found"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    timeout 600 rustup toolchain install nightly --profile minimal >/dev/null 2>&1 ||
        skip "no nightly toolchain, and installing one failed (no access to the rustup server?)"
fi
# -Zbuild-std rebuilds std from source: that needs rust-src.
if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
    timeout 600 rustup component add --toolchain nightly rust-src >/dev/null 2>&1 ||
        skip "the rust-src component could not be installed (no access to the rustup server?)"
fi
rustc +nightly -vV >/dev/null 2>&1 || skip "rustc +nightly is not usable after installing it"

# The host triple: --target must be given explicitly, so that RUSTFLAGS
# (the sanitizer) reaches only the target's crates and std, not build
# scripts and proc macros (build.rs, uninstrumented).
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
[[ -n "$host" ]] || skip "could not read the host triple from rustc +nightly -vV"

# Test targets: --lib, plus each integration test file but the C ones.
test_args=(--lib)
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    [[ "$name" == c_examples || "$name" == c_install ]] && continue
    test_args+=(--test "$name")
done

echo "tsan: $(rustc +nightly --version 2>/dev/null), target $host"
echo "tsan: test targets: ${test_args[*]}"

# - The sanitizer flag must reach every crate, std included (-Zbuild-std):
#   std built without it hides its own synchronisation (Arc, thread join,
#   channels) from TSan, which then reports false races.
# - Its own target dir: sanitizer-built artifacts must never mix with the
#   normal build's.
# - CARGO_INCREMENTAL=0: nothing to reuse between CI runs, and it is smaller.
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/tsan}"
export CARGO_INCREMENTAL=0
# TSan options:
# - halt_on_error=1: the first report aborts the test binary, so a report
#   always fails the run (and cannot be lost among passing test output).
# - second_deadlock_stack=1: lock-order reports show both acquisitions.
# - history_size=4: a longer per-thread history, so a report's "previous
#   access" stack is not lost on long tests ("failed to restore the stack").
# No suppressions file: none is needed (see the last run's report count).
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"

start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# --no-fail-fast: every test binary runs even when one fails, so one run
# tells about all of them. The harness output is kept to count tests and
# reports below.
cargo +nightly test -Zbuild-std --target "$host" --no-fail-fast \
    "${test_args[@]}" -- "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

elapsed=$((SECONDS - start))
passed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed;.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) failed;.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
reports=$(grep -c '^WARNING: ThreadSanitizer:' "$log")
echo
echo "tsan: $passed tests passed, $failed failed, $reports ThreadSanitizer report(s), ${elapsed}s (build included)"
if [[ $rc -ne 0 ]]; then
    echo "tsan: FAILED (cargo test exit $rc)"
fi
exit "$rc"
