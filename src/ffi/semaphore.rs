//! `dualsync_semaphore_t`: a `Semaphore`, optionally bounded (asyncio's
//! `BoundedSemaphore`). Permits acquired from C are plain counts: the caller
//! gives them back with `dualsync_semaphore_release`.
//!
//! Permit counts are `size_t`. A count of 0, or above the largest count a
//! semaphore can hold (`SIZE_MAX >> 4`), is `DUALSYNC_INVALID_ARGUMENT`.

use super::dualsync_status::{self, *};
use super::{Wait, boundary, boundary_or, free_boxed, handle, write_out};
use crate::error::{AcquireTimeoutError, ReleaseError, TryAcquireError};
use crate::semaphore::{MAX_PERMITS, Semaphore};

/// An opaque semaphore handle.
pub struct dualsync_semaphore_t {
    sem: Semaphore,
    /// The bound of a bounded semaphore, else `MAX_PERMITS`.
    limit: usize,
}

fn valid_n(n: usize) -> bool {
    n != 0 && n <= MAX_PERMITS
}

fn try_status(r: Result<(), TryAcquireError>) -> dualsync_status {
    match r {
        Ok(()) => DUALSYNC_OK,
        Err(TryAcquireError::NoPermits) => DUALSYNC_WOULD_BLOCK,
        Err(TryAcquireError::Closed) => DUALSYNC_CLOSED,
    }
}

fn acquire(s: &dualsync_semaphore_t, n: usize, timeout_ns: u64) -> dualsync_status {
    if !valid_n(n) {
        return DUALSYNC_INVALID_ARGUMENT;
    }
    let r = match Wait::from_ns(timeout_ns) {
        Wait::Try => return try_status(s.sem.try_take(n)),
        Wait::Forever => s
            .sem
            .acquire_many(n)
            .block()
            .map_err(AcquireTimeoutError::from),
        Wait::Until(t) => s.sem.acquire_many(n).block_until(t),
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
/// Returns NULL if `initial` is above `SIZE_MAX >> 4` or allocation fails.
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
        Box::into_raw(Box::new(dualsync_semaphore_t {
            // Strict hand-off: C callers were promised "free and nobody
            // waits" for the try forms, and FIFO service.
            sem: Semaphore::new_fair(initial),
            limit: if bounded { initial } else { MAX_PERMITS },
        }))
    })
}

/// Frees a semaphore. `NULL` does nothing (`DUALSYNC_OK`). A semaphore
/// that threads wait on is not freed: `DUALSYNC_BUSY`.
///
/// # Safety
///
/// `sem` is NULL or came from `dualsync_semaphore_new` and was not freed;
/// no thread uses it during or after this call (other than waiters this
/// call reports as BUSY).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_free(
    sem: *mut dualsync_semaphore_t,
) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe { free_boxed(sem, |s| s.sem.statistics().waiting > 0) }
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
    boundary(|| acquire(handle!(sem), 1, super::DUALSYNC_TIMEOUT_INFINITE))
}

/// Acquires `n` permits at once, waiting as long as it takes. While it waits
/// at the head of the queue, nobody behind it is served.
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_acquire_many(
    sem: *const dualsync_semaphore_t,
    n: usize,
) -> dualsync_status {
    boundary(|| acquire(handle!(sem), n, super::DUALSYNC_TIMEOUT_INFINITE))
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
    boundary(|| acquire(handle!(sem), 1, 0))
}

/// Acquires `n` permits if free and nobody waits, else `DUALSYNC_WOULD_BLOCK`.
///
/// # Safety
///
/// `sem` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_try_acquire_many(
    sem: *const dualsync_semaphore_t,
    n: usize,
) -> dualsync_status {
    boundary(|| acquire(handle!(sem), n, 0))
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
    boundary(|| acquire(handle!(sem), 1, timeout_ns))
}

/// Acquires `n` permits, waiting at most `timeout_ns` (as
/// `dualsync_semaphore_acquire_timeout`).
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
    boundary(|| acquire(handle!(sem), n, timeout_ns))
}

/// Gives back (or adds) `n` permits, serving waiters in FIFO order.
/// A bounded semaphore refuses to go above its initial value
/// (`DUALSYNC_OVER_RELEASE`); any semaphore refuses a count above
/// `SIZE_MAX >> 4` (`DUALSYNC_OVERFLOW`). Refused calls change nothing.
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
        if !valid_n(n) {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        match s.sem.give(n, s.limit, false) {
            Ok(()) => DUALSYNC_OK,
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
    unsafe { write_out(sem, out, |s| s.sem.available_permits()) }
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
        handle!(sem).sem.close();
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
    unsafe { write_out(sem, out, |s| s.sem.is_closed()) }
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
    unsafe { write_out(sem, out, |s| s.sem.statistics().waiting) }
}
