//! A counting global allocator, for the "no allocation per wait" tests
//! (`tests/no_alloc.rs`, `tests/ffi_op_alloc.rs`). It counts only what the
//! measuring thread allocates between [`start`] and [`stop`] (or inside
//! [`allocs`]); everything is forwarded to the system allocator.
//!
//! A test file registers it itself (the other users of `common` keep the
//! system allocator):
//!
//! ```ignore
//! #[global_allocator]
//! static A: common::alloc_count::Counting = common::alloc_count::Counting;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The allocator: counts, then forwards to [`System`].
pub struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc() {
    // `try_with`: the allocator may run during thread teardown.
    if MEASURING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping touches only const-initialized thread-locals without
// destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Starts counting this thread's allocations, from 0 (after
/// [`set_up_parking`]).
pub fn start() {
    set_up_parking();
    ALLOCS.with(|c| c.set(0));
    MEASURING.with(|m| m.set(true));
}

/// Stops counting; returns the count since [`start`].
pub fn stop() -> usize {
    MEASURING.with(|m| m.set(false));
    ALLOCS.with(Cell::get)
}

/// Runs `f`; returns its result and the allocations this thread made.
pub fn allocs<R>(f: impl FnOnce() -> R) -> (R, usize) {
    start();
    let r = f();
    (r, stop())
}

/// The first time a thread parks, `parking_lot_core` (which the library's
/// blocking waits park in) allocates the thread's parking data and may grow
/// its global table: once per thread, not per wait. Done here before
/// counting, so that a test does not rely on its warm-up rounds having
/// really parked: on an oversubscribed machine they may all have been
/// served while spinning, and the first park then fell into the measured
/// rounds (2 allocations, seen with two busy processes beside the tests).
fn set_up_parking() {
    let here = 0u8;
    // SAFETY: `validate` returns `false`, so the thread does not park and
    // nothing else runs; the key (an address on this stack frame) is one no
    // other thread parks on; no callback panics or calls into
    // `parking_lot_core`.
    unsafe {
        parking_lot_core::park(
            core::ptr::from_ref(&here).addr(),
            || false,
            || {},
            |_, _| {},
            parking_lot_core::DEFAULT_PARK_TOKEN,
            None,
        );
    }
}
