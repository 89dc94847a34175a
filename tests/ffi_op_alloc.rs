//! "No allocation per wait beyond the operation handle" (issue 12, part 4):
//! a counting global allocator watches this thread while it starts, polls,
//! completes, cancels and frees thousands of operations. Starting one
//! allocates exactly once (the handle, which holds the future inline and
//! is its own waker); nothing else allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::null_mut;

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;

struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc() {
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

#[global_allocator]
static A: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocs<R>(f: impl FnOnce() -> R) -> (R, usize) {
    ALLOCS.with(|c| c.set(0));
    MEASURING.with(|m| m.set(true));
    let r = f();
    MEASURING.with(|m| m.set(false));
    (r, ALLOCS.with(Cell::get))
}

#[test]
fn one_allocation_per_operation() {
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    let s = dualsync_semaphore_new(0, false);
    let mut out: *mut c_void = null_mut();
    for round in 0..2_000 {
        let mut g = null_mut();
        let mut a = null_mut();
        // SAFETY (every call below): live handles and operations, valid
        // out pointers; each operation is freed once, last.
        let (st, n) =
            allocs(|| unsafe { dualsync_queue_get_start(q, -1, None, null_mut(), &mut g) });
        assert_eq!((st, n), (DUALSYNC_OK, 1), "get_start");
        let (st, n) = allocs(|| unsafe {
            dualsync_semaphore_acquire_start(s, 1, -1, None, null_mut(), &mut a)
        });
        assert_eq!((st, n), (DUALSYNC_OK, 1), "acquire_start");
        let (st, n) = allocs(|| unsafe { dualsync_op_poll(g, &mut out) });
        assert_eq!((st, n), (DUALSYNC_WOULD_BLOCK, 0), "poll pending");
        // Complete one of each on odd rounds, cancel on even ones.
        if round % 2 == 1 {
            // SAFETY: live.
            unsafe {
                assert_eq!(dualsync_queue_put(q, null_mut(), 0), DUALSYNC_OK);
                assert_eq!(dualsync_semaphore_release(s, 1), DUALSYNC_OK);
            }
            let (st, n) = allocs(|| unsafe { dualsync_op_poll(g, &mut out) });
            assert_eq!((st, n), (DUALSYNC_OK, 0), "poll completed get");
            let (st, n) = allocs(|| unsafe { dualsync_op_poll(a, null_mut()) });
            assert_eq!((st, n), (DUALSYNC_OK, 0), "poll completed acquire");
        } else {
            let (st, n) = allocs(|| unsafe { dualsync_op_cancel(g) });
            assert_eq!((st, n), (DUALSYNC_OK, 0), "cancel");
        }
        let (st, n) = allocs(|| unsafe { dualsync_op_free(g) });
        assert_eq!((st, n), (DUALSYNC_OK, 0), "free get");
        let (st, n) = allocs(|| unsafe { dualsync_op_free(a) });
        assert_eq!((st, n), (DUALSYNC_OK, 0), "free acquire");
    }
    // SAFETY: live, unused from now on.
    unsafe {
        assert_eq!(dualsync_queue_free(q), DUALSYNC_OK);
        assert_eq!(dualsync_semaphore_free(s), DUALSYNC_OK);
    }
}
