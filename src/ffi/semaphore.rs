//! `dualsync_semaphore_t`: a `Semaphore`, optionally bounded (asyncio's
//! `BoundedSemaphore`). Permits acquired from C are plain counts: the caller
//! gives them back with `dualsync_semaphore_release`.
//!
//! Permit counts are `size_t`, as in Rust (`usize`), with the same rules:
//! a count of 0 is a no-op that succeeds (`acquire_many(0)`,
//! `release(0)`: Rust's `acquire_many(0)` / `add_permits(0)`); a semaphore
//! holds at most `DUALSYNC_SEMAPHORE_MAX_PERMITS` (`SIZE_MAX >> 4`, Rust's
//! `MAX_PERMITS`). Asking for more than that at once is
//! `DUALSYNC_INVALID_ARGUMENT` (Rust panics: it could never be met);
//! releasing past it is `DUALSYNC_OVERFLOW` (Rust's
//! `ReleaseError::Overflow`), past a bounded semaphore's bound
//! `DUALSYNC_OVER_RELEASE` (`ReleaseError::OverRelease`).

use super::dualsync_status::{self, *};
use super::{Calls, Wait, boundary, boundary_or, free_boxed, handle, impl_handle, write_out};
use crate::error::{AcquireTimeoutError, ReleaseError, TryAcquireError};
use std::sync::Arc;

use super::last_ref;
use crate::semaphore::{BoundedSemaphore, MAX_PERMITS, Semaphore};

/// The largest number of permits a semaphore holds (`SIZE_MAX >> 4`; Rust's
/// `dualsync::MAX_PERMITS`).
pub const DUALSYNC_SEMAPHORE_MAX_PERMITS: usize = usize::MAX >> 4;
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

enum Sem {
    Plain(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
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
        match &self.sem {
            Sem::Plain(s) => s,
            Sem::Bounded(s) => s.core(),
        }
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

    /// A reference to the semaphore for an operation (`dualsync_op_t`).
    pub(crate) fn op_keep(&self) -> super::op::Keep {
        match &self.sem {
            Sem::Plain(s) => super::op::Keep::Sem(s.clone()),
            Sem::Bounded(b) => super::op::Keep::Bounded(b.clone()),
        }
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

fn acquire(s: &dualsync_semaphore_t, n: usize, timeout_ns: u64) -> dualsync_status {
    if n > MAX_PERMITS {
        // Rust's `acquire_many` panics: a request that could never be met.
        return DUALSYNC_INVALID_ARGUMENT;
    }
    let r = match Wait::from_ns(timeout_ns) {
        Wait::Try => return try_status(s.core().try_take(n)),
        Wait::Forever => s
            .core()
            .acquire_many(n)
            .block()
            .map_err(AcquireTimeoutError::from),
        Wait::Until(t) => s.core().acquire_many(n).block_until(t),
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
/// (`SIZE_MAX >> 4`) or allocation fails.
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
/// waiter returns and frees. Retry once those calls are done.
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
    boundary(|| acquire(&*handle!(sem), 1, super::DUALSYNC_TIMEOUT_INFINITE))
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
    boundary(|| acquire(&*handle!(sem), n, super::DUALSYNC_TIMEOUT_INFINITE))
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
    boundary(|| acquire(&*handle!(sem), 1, 0))
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
    boundary(|| acquire(&*handle!(sem), n, 0))
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
    boundary(|| acquire(&*handle!(sem), 1, timeout_ns))
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
    boundary(|| acquire(&*handle!(sem), n, timeout_ns))
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
        let s = handle!(sem);
        match s.core().give(n, s.limit(), false) {
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
    unsafe { write_out(sem, out, |s| s.core().available_permits()) }
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
    unsafe { write_out(sem, out, |s| s.core().is_closed()) }
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
