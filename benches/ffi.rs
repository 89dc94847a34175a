//! C ABI benchmarks: the cheapest C calls, made through `dualsync::ffi`
//! exactly as a C program makes them (same functions, opaque handles),
//! next to the Rust API of the same primitive and to its peers, in one run
//! and one harness. They measure what a C call adds on top of the Rust
//! operation: the boundary (`catch_unwind`, NULL checks) and, on a slow
//! path only, the count of calls in progress (the fast paths are not
//! counted: see `Calls` in `src/ffi/mod.rs`).
//!
//! Groups (`ffi/<scenario>`), one thread, nothing contended:
//!
//! * `mutex_lock_unlock`: lock + unlock. `dualsync_c`:
//!   `dualsync_mutex_lock` + `dualsync_mutex_unlock` on a
//!   `dualsync_mutex_new(false)` handle; `dualsync`: the Rust
//!   `Mutex<()>`'s `lock().block()` + guard drop; `parking_lot`, `std`:
//!   their `lock()` + guard drop.
//! * `mutex_try_lock_unlock`: the same with `try_lock` (`dualsync_c`:
//!   `dualsync_mutex_try_lock`).
//! * `semaphore_acquire_release`: one permit taken and given back.
//!   `dualsync_c`: `dualsync_semaphore_acquire` +
//!   `dualsync_semaphore_release(s, 1)` on `dualsync_semaphore_new(1,
//!   false)` (strict FIFO); `dualsync`: the Rust `Semaphore::new_fair(1)`'s
//!   `acquire().block()` + permit drop.
//! * `rwlock_read_unlock`: a read lock taken and released (`dualsync_c`:
//!   `dualsync_rwlock_read` + `_read_unlock`; `dualsync`: `read().block()`
//!   + guard drop; `parking_lot`, `std`).
//!
//! The function ids starting with `dualsync` are the variants
//! `scripts/ratios.py` compares with the peers (`parking_lot`, `std`).
//!
//! Run: `cargo bench --bench ffi -- --warm-up-time 1 --measurement-time 3`,
//! then `python3 scripts/ratios.py --group-prefix ffi/`.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use dualsync::ffi::dualsync_status::DUALSYNC_OK;
use dualsync::ffi::*;

/// The `dualsync_c` row of group `g`: `pair(handle)` (two C calls, direct
/// as in a C program) per iteration, on a handle from `new`, freed with
/// `free` at the end.
fn c_row<T>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    new: fn() -> *mut T,
    free: unsafe extern "C" fn(*mut T) -> dualsync_status,
    pair: impl Fn(*mut T),
) {
    let h = new();
    g.bench_function("dualsync_c", |b| b.iter(|| pair(black_box(h))));
    // SAFETY: live, freed once, no call in progress.
    assert_eq!(unsafe { free(h) }, DUALSYNC_OK);
}

fn mutex_lock_unlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("ffi/mutex_lock_unlock");
    let new = || dualsync_mutex_new(false);
    c_row(&mut g, new, dualsync_mutex_free, |m| {
        // SAFETY: a live handle; the lock taken is released.
        unsafe {
            assert_eq!(dualsync_mutex_lock(m), DUALSYNC_OK);
            assert_eq!(dualsync_mutex_unlock(m), DUALSYNC_OK);
        }
    });
    let m = dualsync::Mutex::new(());
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(black_box(&m).lock().block()))
    });
    let m = parking_lot::Mutex::new(());
    g.bench_function("parking_lot", |b| b.iter(|| drop(black_box(&m).lock())));
    let m = std::sync::Mutex::new(());
    g.bench_function("std", |b| b.iter(|| drop(black_box(&m).lock().unwrap())));
    g.finish();
}

fn mutex_try_lock_unlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("ffi/mutex_try_lock_unlock");
    let new = || dualsync_mutex_new(false);
    c_row(&mut g, new, dualsync_mutex_free, |m| {
        // SAFETY: a live handle; the lock taken is released.
        unsafe {
            assert_eq!(dualsync_mutex_try_lock(m), DUALSYNC_OK);
            assert_eq!(dualsync_mutex_unlock(m), DUALSYNC_OK);
        }
    });
    let m = dualsync::Mutex::new(());
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(black_box(&m).try_lock().unwrap()))
    });
    let m = parking_lot::Mutex::new(());
    g.bench_function("parking_lot", |b| {
        b.iter(|| drop(black_box(&m).try_lock().unwrap()))
    });
    let m = std::sync::Mutex::new(());
    g.bench_function("std", |b| {
        b.iter(|| drop(black_box(&m).try_lock().unwrap()))
    });
    g.finish();
}

fn semaphore_acquire_release(c: &mut Criterion) {
    let mut g = c.benchmark_group("ffi/semaphore_acquire_release");
    let new = || dualsync_semaphore_new(1, false);
    c_row(&mut g, new, dualsync_semaphore_free, |s| {
        // SAFETY: a live handle; the permit taken is given back.
        unsafe {
            assert_eq!(dualsync_semaphore_acquire(s), DUALSYNC_OK);
            assert_eq!(dualsync_semaphore_release(s, 1), DUALSYNC_OK);
        }
    });
    let s = dualsync::Semaphore::new_fair(1);
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(black_box(&s).acquire().block().unwrap()))
    });
    g.finish();
}

fn rwlock_read_unlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("ffi/rwlock_read_unlock");
    let new = || dualsync_rwlock_new(false);
    c_row(&mut g, new, dualsync_rwlock_free, |l| {
        // SAFETY: a live handle; the read lock taken is released.
        unsafe {
            assert_eq!(dualsync_rwlock_read(l), DUALSYNC_OK);
            assert_eq!(dualsync_rwlock_read_unlock(l), DUALSYNC_OK);
        }
    });
    let l = dualsync::RwLock::new(());
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(black_box(&l).read().block()))
    });
    let l = parking_lot::RwLock::new(());
    g.bench_function("parking_lot", |b| b.iter(|| drop(black_box(&l).read())));
    let l = std::sync::RwLock::new(());
    g.bench_function("std", |b| b.iter(|| drop(black_box(&l).read().unwrap())));
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    mutex_lock_unlock(&mut c);
    mutex_try_lock_unlock(&mut c);
    semaphore_acquire_release(&mut c);
    rwlock_read_unlock(&mut c);
    c.final_summary();
}
