//! `dualsync_semaphore_t`: a `Semaphore`, optionally bounded (asyncio's
//! `BoundedSemaphore`). Permits acquired from C are plain counts: the caller
//! gives them back with `dualsync_semaphore_release`.
//!
//! Permit counts are `size_t`, as in Rust (`usize`), with the same rules:
//! a count of 0 is a no-op that succeeds (`acquire_many(0)`,
//! `release(0)`: Rust's `acquire_many(0)` / `add_permits(0)`); a semaphore
//! holds at most `DUALSYNC_SEMAPHORE_MAX_PERMITS` (`SIZE_MAX >> 8`, Rust's
//! `MAX_PERMITS`). Asking for more than that at once is
//! `DUALSYNC_INVALID_ARGUMENT` (Rust panics: it could never be met);
//! releasing past it is `DUALSYNC_OVERFLOW` (Rust's
//! `ReleaseError::Overflow`), past a bounded semaphore's bound
//! `DUALSYNC_OVER_RELEASE` (`ReleaseError::OverRelease`).

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, InCall, IntoC, Operation, Start, Wait, boundary, boundary_or, dualsync_op_callback_t,
    dualsync_op_t, free_boxed, handle, impl_handle, last_ref, read_out, start_op, uncounted,
    write_out,
};
use crate::error::{AcquireError, AcquireTimeoutError, ReleaseError, TryAcquireError};
use crate::semaphore::{BoundedSemaphore, MAX_PERMITS, Permit, Semaphore, SemaphoreAcquire};

/// The largest number of permits a semaphore holds (`SIZE_MAX >> 8`; Rust's
/// `dualsync::MAX_PERMITS`).
pub const DUALSYNC_SEMAPHORE_MAX_PERMITS: usize = usize::MAX >> 8;
// Spelled out above for cbindgen, which only reads `src/ffi`.
const _: () = assert!(DUALSYNC_SEMAPHORE_MAX_PERMITS == MAX_PERMITS);

/// An opaque semaphore handle.
///
/// Rust reaches the semaphore behind it with the handle's `semaphore()`
/// (made by `dualsync_semaphore_new(n, false)`) or `bounded_semaphore()`
/// (`bounded` true), and hands a semaphore of its own to C with
/// `dualsync_semaphore_t::from_arc` or `from_bounded_arc`.
pub struct dualsync_semaphore_t {
    sem: Sem,
    calls: Calls,
}

#[derive(Clone)]
enum Sem {
    Plain(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
}

impl Sem {
    /// The semaphore holding the count.
    fn core(&self) -> &Semaphore {
        match self {
            Sem::Plain(s) => s,
            Sem::Bounded(s) => s.core(),
        }
    }
}

impl dualsync_semaphore_t {
    fn boxed(sem: Sem) -> *mut dualsync_semaphore_t {
        Box::into_raw(Box::new(dualsync_semaphore_t {
            sem,
            calls: Calls::new(),
        }))
    }

    /// A new C handle on a [`Semaphore`] made in Rust. The handle holds one
    /// reference: `dualsync_semaphore_free` drops that one only (the
    /// semaphore lives on while Rust holds it), and the semaphore outlives
    /// Rust's `Arc`s until the handle is freed. C releases are refused past
    /// `DUALSYNC_SEMAPHORE_MAX_PERMITS` (`DUALSYNC_OVERFLOW`), as Rust's
    /// `add_permits`. The semaphore keeps its mode: one made with
    /// [`Semaphore::new`] (bounded barging) lets a C `try_acquire` take a
    /// free permit while others wait, as in Rust; `dualsync_semaphore_new`
    /// makes strict FIFO ones ([`Semaphore::new_fair`]).
    ///
    /// Permits acquired through C are counts (as always in C): give them
    /// back with `dualsync_semaphore_release` or Rust's `add_permits`.
    pub fn from_arc(sem: Arc<Semaphore>) -> *mut dualsync_semaphore_t {
        Self::boxed(Sem::Plain(sem))
    }

    /// A new C handle on a [`BoundedSemaphore`] made in Rust (as
    /// [`from_arc`](Self::from_arc)); C releases past its bound are
    /// `DUALSYNC_OVER_RELEASE`.
    pub fn from_bounded_arc(sem: Arc<BoundedSemaphore>) -> *mut dualsync_semaphore_t {
        Self::boxed(Sem::Bounded(sem))
    }

    /// The Rust [`Semaphore`] behind this handle, unless it is bounded.
    pub fn semaphore(&self) -> Option<&Arc<Semaphore>> {
        match &self.sem {
            Sem::Plain(s) => Some(s),
            Sem::Bounded(_) => None,
        }
    }

    /// The Rust [`BoundedSemaphore`] behind this handle, if it is bounded.
    pub fn bounded_semaphore(&self) -> Option<&Arc<BoundedSemaphore>> {
        match &self.sem {
            Sem::Plain(_) => None,
            Sem::Bounded(s) => Some(s),
        }
    }

    /// The semaphore holding the count.
    fn core(&self) -> &Semaphore {
        self.sem.core()
    }

    /// How far a release may fill the count.
    fn limit(&self) -> usize {
        match &self.sem {
            Sem::Plain(_) => MAX_PERMITS,
            Sem::Bounded(s) => s.bound(),
        }
    }

    fn is_bounded(&self) -> bool {
        matches!(self.sem, Sem::Bounded(_))
    }

    fn last_ref(&self) -> bool {
        match &self.sem {
            Sem::Plain(s) => last_ref(s),
            Sem::Bounded(s) => last_ref(s),
        }
    }
}

impl_handle!(dualsync_semaphore_t => calls);

fn try_status(r: Result<(), TryAcquireError>) -> dualsync_status {
    match r {
        Ok(()) => DUALSYNC_OK,
        Err(TryAcquireError::NoPermits) => DUALSYNC_WOULD_BLOCK,
        Err(TryAcquireError::Closed) => DUALSYNC_CLOSED,
    }
}

/// Every acquire form. The first try is not counted as a call in progress
/// (see `Calls`): its CAS, or the load that refuses, is its last access;
/// a wait counts.
fn acquire(s: &dualsync_semaphore_t, n: usize, timeout_ns: u64) -> dualsync_status {
    if n > MAX_PERMITS {
        // Rust's `acquire_many` panics: a request that could never be met.
        return DUALSYNC_INVALID_ARGUMENT;
    }
    let wait = Wait::from_ns(timeout_ns);
    match s.core().try_take(n) {
        Err(TryAcquireError::NoPermits) if !matches!(wait, Wait::Try) => {}
        r => return try_status(r),
    }
    let _call = InCall::of(s);
    let r = match wait {
        Wait::Until(t) => s.core().acquire_many(n).block_until(t),
        _ => s
            .core()
            .acquire_many(n)
            .block()
            .map_err(AcquireTimeoutError::from),
    };
    match r {
        Ok(p) => {
            // The C caller owns the permits until `_release`.
            p.forget();
            DUALSYNC_OK
        }
        Err(AcquireTimeoutError::Closed) => DUALSYNC_CLOSED,
        Err(AcquireTimeoutError::Timeout) => DUALSYNC_TIMED_OUT,
    }
}

/// Creates a semaphore with `initial` permits, served in strict FIFO order
/// (every release with waiters hands its permits to the head; a try form
/// fails while anyone waits). When `bounded` is nonzero,
/// releasing above `initial` is refused with `DUALSYNC_OVER_RELEASE`.
/// Returns NULL if `initial` is above `DUALSYNC_SEMAPHORE_MAX_PERMITS`
/// (`SIZE_MAX >> 8`) or allocation fails.
/// Free it with `dualsync_semaphore_free`.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_semaphore_new(
    initial: usize,
    bounded: bool,
) -> *mut dualsync_semaphore_t {
    boundary_or(core::ptr::null_mut(), || {
        if initial > MAX_PERMITS {
            return core::ptr::null_mut();
        }
        // Strict hand-off: C callers were promised "free and nobody
        // waits" for the try forms, and FIFO service.
        dualsync_semaphore_t::boxed(if bounded {
            Sem::Bounded(Arc::new(BoundedSemaphore::new_fair(initial)))
        } else {
            Sem::Plain(Arc::new(Semaphore::new_fair(initial)))
        })
    })
}

/// Frees a semaphore handle. `NULL` does nothing (`DUALSYNC_OK`). A
/// semaphore that threads wait on is not freed: `DUALSYNC_BUSY`. A handle
/// that Rust made from a semaphore it still holds (or that shares its
/// semaphore with another handle) only lets go of its reference, waiters
/// or not.
///
/// Like every `_free`, it also refuses (`DUALSYNC_BUSY`, nothing freed)
/// while any other call on the handle has not returned, blocked or not: a
/// thread that released a waiter may still be finishing its call when that
/// waiter returns and frees. Retry once those calls are done. A call that
/// is done with the handle before it returns does not count: one that
/// takes or gives back a lock, permits or a flag in one atomic step with
/// nobody waiting (the list is at `DUALSYNC_BUSY`).
///
/// # Safety
///
/// `sem` is NULL or came from `dualsync_semaphore_new` (or Rust's
/// `dualsync_semaphore_t::from_arc`) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_free(
    sem: *mut dualsync_semaphore_t,
) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe { free_boxed(sem, |s| s.last_ref() && s.core().statistics().waiting > 0) }
}

/// Acquires one permit, waiting as long as it takes (FIFO).
/// `DUALSYNC_CLOSED` if the semaphore is or becomes closed.
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_acquire(
    sem: *const dualsync_semaphore_t,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(sem), 1, super::DUALSYNC_TIMEOUT_INFINITE))
}

/// Acquires `n` permits at once, waiting as long as it takes. While it waits
/// at the head of the queue, nobody behind it is served. `n == 0` succeeds
/// at once (unless the semaphore is closed: `DUALSYNC_CLOSED`); `n` above
/// `DUALSYNC_SEMAPHORE_MAX_PERMITS` is `DUALSYNC_INVALID_ARGUMENT` (it
/// could never be met).
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_acquire_many(
    sem: *const dualsync_semaphore_t,
    n: usize,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(sem), n, super::DUALSYNC_TIMEOUT_INFINITE))
}

/// Acquires one permit if free and nobody waits, else `DUALSYNC_WOULD_BLOCK`.
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_try_acquire(
    sem: *const dualsync_semaphore_t,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(sem), 1, 0))
}

/// Acquires `n` permits if free and nobody waits, else `DUALSYNC_WOULD_BLOCK`.
/// `n == 0` succeeds unless the semaphore is closed; `n` above
/// `DUALSYNC_SEMAPHORE_MAX_PERMITS` is `DUALSYNC_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_try_acquire_many(
    sem: *const dualsync_semaphore_t,
    n: usize,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(sem), n, 0))
}

/// Acquires one permit, waiting at most `timeout_ns` (`DUALSYNC_TIMED_OUT`;
/// `0` tries once and gives `DUALSYNC_WOULD_BLOCK`;
/// `DUALSYNC_TIMEOUT_INFINITE` waits forever).
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_acquire_timeout(
    sem: *const dualsync_semaphore_t,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(sem), 1, timeout_ns))
}

/// Acquires `n` permits, waiting at most `timeout_ns` (as
/// `dualsync_semaphore_acquire_timeout`; `n` as in
/// `dualsync_semaphore_acquire_many`).
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_acquire_many_timeout(
    sem: *const dualsync_semaphore_t,
    n: usize,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(sem), n, timeout_ns))
}

/// Gives back (or adds) `n` permits, serving waiters in FIFO order.
/// A bounded semaphore refuses to go above its initial value
/// (`DUALSYNC_OVER_RELEASE`); an unbounded one refuses to go above
/// `DUALSYNC_SEMAPHORE_MAX_PERMITS` (`DUALSYNC_OVERFLOW`; also for any
/// `n` above it). Refused calls change nothing. `n == 0` changes nothing
/// and returns `DUALSYNC_OK` (Rust's `add_permits(0)`). Releases work on a
/// closed semaphore too.
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_release(
    sem: *const dualsync_semaphore_t,
    n: usize,
) -> dualsync_status {
    boundary(|| {
        let s = uncounted!(sem);
        // Not counted while nobody waits (see `Calls`): one CAS.
        let r = s.core().give_fast(n, s.limit(), false).unwrap_or_else(|| {
            let _call = InCall::of(s);
            s.core().give(n, s.limit(), false)
        });
        match r {
            Ok(()) => DUALSYNC_OK,
            Err(_) if s.is_bounded() => DUALSYNC_OVER_RELEASE,
            Err(ReleaseError::OverRelease) => DUALSYNC_OVER_RELEASE,
            Err(ReleaseError::Overflow) => DUALSYNC_OVERFLOW,
        }
    })
}

/// Writes the number of free permits to `*out`.
///
/// # Safety
///
/// `sem` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_available(
    sem: *const dualsync_semaphore_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { read_out(sem, out, |s| s.core().available_permits()) }
}

/// Closes the semaphore for good: waiters and later acquires get
/// `DUALSYNC_CLOSED`. Releases still work.
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_close(
    sem: *const dualsync_semaphore_t,
) -> dualsync_status {
    boundary(|| {
        handle!(sem).core().close();
        DUALSYNC_OK
    })
}

/// Writes whether the semaphore is closed to `*out`.
///
/// # Safety
///
/// `sem` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_is_closed(
    sem: *const dualsync_semaphore_t,
    out: *mut bool,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { read_out(sem, out, |s| s.core().is_closed()) }
}

/// Writes the number of threads (and Rust tasks) waiting for permits to
/// `*out`.
///
/// # Safety
///
/// `sem` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_n_waiting(
    sem: *const dualsync_semaphore_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(sem, out, |s| s.core().statistics().waiting) }
}

// ---- operations (`dualsync_op_t`) ----

impl IntoC for Result<Permit<'_>, AcquireError> {
    type Result = ();
    fn into_c(self) -> (dualsync_status, ()) {
        match self {
            Ok(p) => {
                // The C caller owns the permits (as after
                // `dualsync_semaphore_acquire`).
                p.forget();
                (DUALSYNC_OK, ())
            }
            Err(AcquireError::Closed) => (DUALSYNC_CLOSED, ()),
        }
    }
}

impl Operation for SemaphoreAcquire<'static> {}

/// Starts acquiring `n` permits of `sem` without blocking: the wait takes
/// its place in the FIFO line with blocked threads and Rust tasks and
/// completes as `dualsync_semaphore_acquire_many` would (the permits, then
/// owned by the caller until `dualsync_semaphore_release`; or
/// `DUALSYNC_CLOSED`). `n` above `DUALSYNC_SEMAPHORE_MAX_PERMITS` is
/// `DUALSYNC_INVALID_ARGUMENT`. Permits handed to it pass on if it is
/// cancelled before it is polled. See `dualsync_op_t` for `notify_fd`,
/// `callback` and `user_data`. On `DUALSYNC_OK`, `*op_out` is the
/// operation; `dualsync_op_poll(op, NULL)` gives the outcome. While it is
/// pending, `dualsync_semaphore_free(sem)` is refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `sem` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_acquire_start(
    sem: *const dualsync_semaphore_t,
    n: usize,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    let run = |h: &dualsync_semaphore_t, s: Start<'_>| {
        if n > MAX_PERMITS {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        s.run(h.sem.clone(), move |sem| sem.core().acquire_many(n))
    };
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(sem, notify_fd, callback, user_data, op_out, run) }
}
