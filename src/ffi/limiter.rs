//! `dualsync_limiter_t`: a `CapacityLimiter` with explicit borrowers.
//!
//! C has no notion of "the current task", so every call names its borrower:
//! a `uintptr_t` (a thread index, a pointer to the caller's context...),
//! which is `Borrower::id(borrower)` on the Rust side. A borrower holds at
//! most one token: asking again gives `DUALSYNC_ALREADY_BORROWED` at once.
//! Tokens are given back with `dualsync_limiter_release(limiter, borrower)`,
//! from any thread.

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, IntoC, Operation, Start, Wait, boundary, boundary_or, dualsync_op_callback_t,
    dualsync_op_t, free_boxed, handle, impl_handle, start_op, write_out,
};
use super::{arc_bridge, last_ref};
use crate::{
    AcquireTokenTimeoutError, AlreadyBorrowed, Borrower, CapacityLimiter, LimiterAcquire,
    LimiterToken, TryAcquireTokenError,
};

/// An opaque capacity limiter handle.
pub struct dualsync_limiter_t(Arc<CapacityLimiter>, Calls);

impl_handle!(dualsync_limiter_t => 1);
arc_bridge!(
    dualsync_limiter_t,
    CapacityLimiter,
    "dualsync_limiter_free",
    limiter_arc
);

impl dualsync_limiter_t {
    /// The Rust limiter behind the handle (for Rust code sharing a handle
    /// with C, and for tests).
    pub fn limiter(&self) -> &CapacityLimiter {
        &self.0
    }
}

#[inline]
fn borrower_of(b: usize) -> Borrower {
    Borrower::id(b as u64)
}

/// The token is now owned by the borrower's entry in the limiter; the C
/// caller gives it back with `dualsync_limiter_release`.
#[inline]
fn keep(token: LimiterToken<'_>) -> dualsync_status {
    core::mem::forget(token);
    DUALSYNC_OK
}

fn try_status(r: Result<LimiterToken<'_>, TryAcquireTokenError>) -> dualsync_status {
    match r {
        Ok(t) => keep(t),
        Err(TryAcquireTokenError::WouldBlock) => DUALSYNC_WOULD_BLOCK,
        Err(TryAcquireTokenError::AlreadyBorrowed(_)) => DUALSYNC_ALREADY_BORROWED,
    }
}

/// Creates a limiter with `total_tokens` tokens (at least 1). Returns NULL
/// if `total_tokens` is 0 or allocation fails. Free it with
/// `dualsync_limiter_free`.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_limiter_new(total_tokens: usize) -> *mut dualsync_limiter_t {
    boundary_or(core::ptr::null_mut(), || {
        if total_tokens == 0 {
            return core::ptr::null_mut();
        }
        Box::into_raw(Box::new(dualsync_limiter_t(
            Arc::new(CapacityLimiter::new(total_tokens)),
            Calls::new(),
        )))
    })
}

/// Frees a limiter handle. `NULL` does nothing (`DUALSYNC_OK`). A handle that
/// Rust made from a primitive it still holds (or that shares its primitive
/// with another handle) only lets go of its reference: the checks on
/// the primitive's state (next) are skipped. A limiter with
/// borrowed tokens or waiters is not freed: `DUALSYNC_BUSY`.
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
/// `limiter` is NULL or came from `dualsync_limiter_new` (or Rust's
/// `dualsync_limiter_t::from_arc`) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_free(
    limiter: *mut dualsync_limiter_t,
) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe {
        free_boxed(limiter, |l| {
            last_ref(&l.0) && {
                let st = l.0.statistics();
                st.borrowed_tokens > 0 || st.waiting > 0
            }
        })
    }
}

/// Takes a token for `borrower`, waiting as long as it takes (FIFO).
/// `DUALSYNC_ALREADY_BORROWED` at once if `borrower` holds one.
///
/// # Safety
///
/// `limiter` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_acquire(
    limiter: *const dualsync_limiter_t,
    borrower: usize,
) -> dualsync_status {
    boundary(|| {
        let l = handle!(limiter);
        match l.0.acquire_on_behalf_of(borrower_of(borrower)).block() {
            Ok(t) => keep(t),
            Err(_) => DUALSYNC_ALREADY_BORROWED,
        }
    })
}

/// Takes a token for `borrower` if one is free and nobody waits, else
/// `DUALSYNC_WOULD_BLOCK` (or `DUALSYNC_ALREADY_BORROWED`).
///
/// # Safety
///
/// `limiter` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_try_acquire(
    limiter: *const dualsync_limiter_t,
    borrower: usize,
) -> dualsync_status {
    boundary(|| {
        let l = handle!(limiter);
        try_status(l.0.try_acquire_on_behalf_of(borrower_of(borrower)))
    })
}

/// Takes a token for `borrower`, waiting at most `timeout_ns` nanoseconds:
/// `DUALSYNC_TIMED_OUT` when the time runs out (`0` tries once and gives
/// `DUALSYNC_WOULD_BLOCK`; `DUALSYNC_TIMEOUT_INFINITE` waits forever).
///
/// # Safety
///
/// `limiter` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_acquire_timeout(
    limiter: *const dualsync_limiter_t,
    borrower: usize,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| {
        let l = handle!(limiter);
        let op = l.0.acquire_on_behalf_of(borrower_of(borrower));
        let r = match Wait::from_ns(timeout_ns) {
            Wait::Try => {
                drop(op);
                return try_status(l.0.try_acquire_on_behalf_of(borrower_of(borrower)));
            }
            Wait::Forever => op.block().map_err(AcquireTokenTimeoutError::from),
            Wait::Until(t) => op.block_until(t),
        };
        match r {
            Ok(t) => keep(t),
            Err(AcquireTokenTimeoutError::AlreadyBorrowed(_)) => DUALSYNC_ALREADY_BORROWED,
            Err(AcquireTokenTimeoutError::Timeout) => DUALSYNC_TIMED_OUT,
        }
    })
}

/// Gives back the token `borrower` holds (from any thread), serving the
/// next waiter. `DUALSYNC_NOT_LOCKED` if `borrower` holds none (the closest
/// existing status: "releasing what is not held"); nothing changes then.
///
/// # Safety
///
/// `limiter` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_release(
    limiter: *const dualsync_limiter_t,
    borrower: usize,
) -> dualsync_status {
    boundary(|| {
        let l = handle!(limiter);
        match l.0.release_on_behalf_of(borrower_of(borrower)) {
            Ok(()) => DUALSYNC_OK,
            Err(_) => DUALSYNC_NOT_LOCKED,
        }
    })
}

/// Sets the number of tokens. Raising it serves waiters at once (FIFO);
/// lowering it takes no token from a holder. `0` is
/// `DUALSYNC_INVALID_ARGUMENT` and changes nothing.
///
/// # Safety
///
/// `limiter` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_set_total_tokens(
    limiter: *const dualsync_limiter_t,
    total_tokens: usize,
) -> dualsync_status {
    boundary(|| {
        let l = handle!(limiter);
        match l.0.set_total_tokens(total_tokens) {
            Ok(()) => DUALSYNC_OK,
            Err(_) => DUALSYNC_INVALID_ARGUMENT,
        }
    })
}

/// Writes the number of tokens to `*out`.
///
/// # Safety
///
/// `limiter` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_total_tokens(
    limiter: *const dualsync_limiter_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(limiter, out, |l| l.0.total_tokens()) }
}

/// Writes the number of borrowed tokens to `*out`.
///
/// # Safety
///
/// `limiter` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_borrowed_tokens(
    limiter: *const dualsync_limiter_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(limiter, out, |l| l.0.borrowed_tokens()) }
}

/// Writes the number of free tokens (`total - borrowed`, or 0) to `*out`.
///
/// # Safety
///
/// `limiter` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_available_tokens(
    limiter: *const dualsync_limiter_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(limiter, out, |l| l.0.available_tokens()) }
}

/// Writes the number of threads (and Rust tasks) queued for a token to
/// `*out`. A waiter counts from the moment it is queued, so a thread that
/// sees this reach `n` knows `n` acquires are blocked.
///
/// # Safety
///
/// `limiter` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_n_waiting(
    limiter: *const dualsync_limiter_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(limiter, out, |l| l.0.n_waiting()) }
}

// ---- operations (`dualsync_op_t`) ----

impl IntoC for Result<LimiterToken<'_>, AlreadyBorrowed> {
    type Result = ();
    fn into_c(self) -> (dualsync_status, ()) {
        match self {
            Ok(t) => (keep(t), ()),
            Err(_) => (DUALSYNC_ALREADY_BORROWED, ()),
        }
    }
}

impl Operation for LimiterAcquire<'static> {}

/// Starts taking a token of `limiter` for `borrower` without blocking
/// (`dualsync_limiter_acquire` as an operation): once
/// `dualsync_op_poll(op, NULL)` gives `DUALSYNC_OK` the borrower holds the
/// token (give it back with `dualsync_limiter_release(limiter, borrower)`);
/// `DUALSYNC_ALREADY_BORROWED` if the borrower already holds one. A token
/// handed to a cancelled op passes on. See `dualsync_op_t`. While it is
/// pending, `dualsync_limiter_free(limiter)` is refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `limiter` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_limiter_acquire_start(
    limiter: *const dualsync_limiter_t,
    borrower: usize,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    let run = |l: &dualsync_limiter_t, s: Start<'_>| {
        s.run(l.limiter_arc(), move |l| {
            l.acquire_on_behalf_of(borrower_of(borrower))
        })
    };
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(limiter, notify_fd, callback, user_data, op_out, run) }
}
