//! The C ABI: `dualsync_<type>_<verb>` functions over opaque handles.
//!
//! Rules every export follows:
//!
//! * Every body runs inside `boundary`: a Rust panic never unwinds into C;
//!   it becomes [`dualsync_status::DUALSYNC_PANIC`].
//! * Every pointer is checked: a NULL handle or NULL out pointer is
//!   `DUALSYNC_INVALID_ARGUMENT`. Outputs are written only on success.
//! * Waiting calls come in three forms: blocking, `try_`, and
//!   `_timeout(..., uint64_t timeout_ns)` on the monotonic clock, where `0`
//!   tries once and `DUALSYNC_TIMEOUT_INFINITE` (`UINT64_MAX`) waits forever.
//! * Misuse (unlocking an unlocked mutex, over-releasing...) returns its own
//!   status and leaves the primitive unchanged.
//!
//! `include/dualsync.h` is generated from this module and every `mod` it
//! declares (nothing else in the crate) by `build.rs` with cbindgen
//! (`cbindgen.toml`): `pub` `extern "C"` functions, `#[repr(C)]` types,
//! `pub const`s, and each `pub struct` handle as an opaque
//! `typedef struct dualsync_x_t dualsync_x_t;`, with their doc comments.
//! Commit the regenerated header with any change here; see
//! `c-examples/README.md` for the link lines and the staleness check.

#![allow(non_camel_case_types)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

mod barrier;
mod condition;
mod event;
mod limiter;
mod mutex;
mod queue;
mod resource_guard;
mod rwlock;
mod semaphore;

pub use barrier::*;
pub use condition::*;
pub use event::*;
pub use limiter::*;
pub use mutex::*;
pub use queue::*;
pub use resource_guard::*;
pub use rwlock::*;
pub use semaphore::*;

/// `timeout_ns` value meaning "wait forever".
pub const DUALSYNC_TIMEOUT_INFINITE: u64 = u64::MAX;

/// The result of every fallible C call.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dualsync_status {
    /// Success.
    DUALSYNC_OK = 0,
    /// A `_timeout` call's time ran out; nothing was acquired.
    DUALSYNC_TIMED_OUT = 1,
    /// A `try_` call (or a `_timeout` with 0) would have had to wait.
    DUALSYNC_WOULD_BLOCK = 2,
    /// A NULL handle or out pointer, or an argument out of range.
    DUALSYNC_INVALID_ARGUMENT = 3,
    /// Unlocking a mutex (or releasing a read or write lock) that is not
    /// held.
    DUALSYNC_NOT_LOCKED = 4,
    /// Releasing more than a bounded primitive allows.
    DUALSYNC_OVER_RELEASE = 5,
    /// The barrier is broken (aborted, or reset while waiting).
    DUALSYNC_BROKEN = 6,
    /// The queue was shut down.
    DUALSYNC_SHUT_DOWN = 7,
    /// The primitive was closed.
    DUALSYNC_CLOSED = 8,
    /// The resource is in use (or a primitive with waiters cannot be freed).
    DUALSYNC_BUSY = 9,
    /// A Rust panic was caught at the boundary.
    DUALSYNC_PANIC = 10,
    /// The queue is empty (`try_get`).
    DUALSYNC_EMPTY = 11,
    /// The queue is full (`try_put`).
    DUALSYNC_FULL = 12,
    /// A count would overflow (permits, tokens).
    DUALSYNC_OVERFLOW = 13,
    /// The borrower already holds a token of this capacity limiter.
    DUALSYNC_ALREADY_BORROWED = 14,
}

use dualsync_status::*;

/// A static, NUL-terminated name for a status (`"DUALSYNC_OK"`, ...);
/// `"DUALSYNC_UNKNOWN"` for a value outside the enum.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_status_str(status: i32) -> *const core::ffi::c_char {
    let s: &'static [u8] = match status {
        0 => b"DUALSYNC_OK\0",
        1 => b"DUALSYNC_TIMED_OUT\0",
        2 => b"DUALSYNC_WOULD_BLOCK\0",
        3 => b"DUALSYNC_INVALID_ARGUMENT\0",
        4 => b"DUALSYNC_NOT_LOCKED\0",
        5 => b"DUALSYNC_OVER_RELEASE\0",
        6 => b"DUALSYNC_BROKEN\0",
        7 => b"DUALSYNC_SHUT_DOWN\0",
        8 => b"DUALSYNC_CLOSED\0",
        9 => b"DUALSYNC_BUSY\0",
        10 => b"DUALSYNC_PANIC\0",
        11 => b"DUALSYNC_EMPTY\0",
        12 => b"DUALSYNC_FULL\0",
        13 => b"DUALSYNC_OVERFLOW\0",
        14 => b"DUALSYNC_ALREADY_BORROWED\0",
        _ => b"DUALSYNC_UNKNOWN\0",
    };
    s.as_ptr().cast()
}

/// Runs `f`, turning a panic into `DUALSYNC_PANIC`.
#[inline]
pub(crate) fn boundary(f: impl FnOnce() -> dualsync_status) -> dualsync_status {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(DUALSYNC_PANIC)
}

/// Runs `f` for a value-returning call (`_new`, `_is_locked`...): a panic
/// gives `fallback`.
#[inline]
pub(crate) fn boundary_or<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// How long a `_timeout` call may wait.
pub(crate) enum Wait {
    /// `timeout_ns == 0`: try once.
    Try,
    /// Until this instant.
    Until(Instant),
    /// `DUALSYNC_TIMEOUT_INFINITE`, or a deadline too far to represent.
    Forever,
}

impl Wait {
    pub(crate) fn from_ns(timeout_ns: u64) -> Wait {
        match timeout_ns {
            0 => Wait::Try,
            DUALSYNC_TIMEOUT_INFINITE => Wait::Forever,
            ns => Instant::now()
                .checked_add(Duration::from_nanos(ns))
                .map_or(Wait::Forever, Wait::Until),
        }
    }
}

/// Borrows a handle, or returns `DUALSYNC_INVALID_ARGUMENT` from the
/// enclosing function when it is NULL.
macro_rules! handle {
    ($p:expr) => {
        // SAFETY: the caller's contract: the handle is NULL or live.
        match unsafe { $p.as_ref() } {
            Some(h) => h,
            None => return $crate::ffi::dualsync_status::DUALSYNC_INVALID_ARGUMENT,
        }
    };
}
pub(crate) use handle;

/// The body of every `dualsync_<type>_free`: NULL does nothing
/// (`DUALSYNC_OK`); a handle that `busy` reports in use is left alone
/// (`DUALSYNC_BUSY`); any other is dropped.
///
/// # Safety
///
/// `handle` is NULL or came from `Box::into_raw` in the type's `_new` and
/// was not freed; no thread uses it during or after this call (other than
/// ones that make `busy` say so).
pub(crate) unsafe fn free_boxed<T>(
    handle: *mut T,
    busy: impl FnOnce(&T) -> bool,
) -> dualsync_status {
    if handle.is_null() {
        return DUALSYNC_OK;
    }
    boundary(|| {
        // SAFETY: non-NULL and from `Box::into_raw` (caller's contract).
        if busy(unsafe { &*handle }) {
            return DUALSYNC_BUSY;
        }
        // SAFETY: as above, and nobody else uses it any more.
        drop(unsafe { Box::from_raw(handle) });
        DUALSYNC_OK
    })
}

/// The body of every export that writes a result through a trailing
/// pointer: borrows `handle`, checks `out`, then (only with both valid)
/// runs `f` and writes its result to `*out`. A NULL pointer is
/// `DUALSYNC_INVALID_ARGUMENT`, and `f` does not run.
///
/// # Safety
///
/// `handle` is NULL or a live handle; `out` is NULL or valid for a write.
pub(crate) unsafe fn write_out<H, T>(
    handle: *const H,
    out: *mut T,
    f: impl FnOnce(&H) -> T,
) -> dualsync_status {
    boundary(|| {
        let h = handle!(handle);
        if out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let v = f(h);
        // SAFETY: checked non-NULL; valid for a write per the contract.
        unsafe { out.write(v) };
        DUALSYNC_OK
    })
}
