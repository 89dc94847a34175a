//! `dualsync_condition_t`: a [`Condition`](crate::Condition) used with a
//! `dualsync_mutex_t` the caller has locked, like `pthread_cond_t`.
//!
//! A condition has no `try_` form (said in the handle's doc, which is in the
//! header): a notification is not stored, so a wait that never waits could
//! only time out. `dualsync_condition_wait_timeout` with `0` returns
//! `DUALSYNC_TIMED_OUT` at once without releasing the mutex.

use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, Wait, boundary, boundary_or, dualsync_mutex_t, free_boxed, handle, impl_handle,
    write_out,
};
use super::{arc_bridge, last_ref};
use crate::Condition;
use crate::condition::RawLocked;

/// An opaque condition handle, used with a `dualsync_mutex_t` the caller
/// has locked, like `pthread_cond_t`.
///
/// There is no `dualsync_condition_try_wait`, unlike every other waiting
/// call: a notification is not stored, so a wait that may not block could
/// only ever time out. That call is `dualsync_condition_wait_timeout(cond,
/// mutex, 0)`: `DUALSYNC_TIMED_OUT` at once, the mutex still locked.
///
/// Rust code that receives one from C can use it with the Rust API through
/// [`condition()`](Self::condition) (for example a task waiting with the
/// guard of a `dualsync_mutex_t`'s `mutex()`).
pub struct dualsync_condition_t(Arc<Condition>, Calls);

impl_handle!(dualsync_condition_t => 1);
arc_bridge!(
    dualsync_condition_t,
    Condition,
    "dualsync_condition_free",
    condition_arc
);

impl dualsync_condition_t {
    /// The Rust [`Condition`] behind this handle.
    pub fn condition(&self) -> &Condition {
        &self.0
    }
}

/// Creates a condition. Returns NULL if allocation fails. Free it with
/// `dualsync_condition_free`. It may be used with any mutex (even different
/// ones over time).
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_condition_new() -> *mut dualsync_condition_t {
    boundary_or(core::ptr::null_mut(), || {
        Box::into_raw(Box::new(dualsync_condition_t(
            Arc::new(Condition::new()),
            Calls::new(),
        )))
    })
}

/// Frees a condition handle. `NULL` does nothing (`DUALSYNC_OK`). A handle that
/// Rust made from a primitive it still holds (or that shares its primitive
/// with another handle) only lets go of its reference: the checks on
/// the primitive's state (next) are skipped. A condition that
/// threads still wait on is not freed: `DUALSYNC_BUSY`, also while a
/// notified waiter has not yet returned from its wait (it is re-locking the
/// mutex).
///
/// Like every `_free`, it also refuses (`DUALSYNC_BUSY`, nothing freed)
/// while any other call on the handle has not returned, blocked or not: a
/// thread that released a waiter may still be finishing its call when that
/// waiter returns and frees. Retry once those calls are done.
///
/// # Safety
///
/// `cond` is NULL or came from `dualsync_condition_new` (or Rust's
/// `dualsync_condition_t::from_arc`) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_condition_free(
    cond: *mut dualsync_condition_t,
) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe { free_boxed(cond, |c| last_ref(&c.0) && c.0.statistics().waiting > 0) }
}

/// Releases `mutex` (which the caller has locked), waits for a notification
/// and locks `mutex` again before returning `DUALSYNC_OK`. An unlocked
/// `mutex` gives `DUALSYNC_NOT_LOCKED` and changes nothing.
///
/// # Safety
///
/// `cond` and `mutex` are NULL or live handles; the caller owns the lock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_condition_wait(
    cond: *const dualsync_condition_t,
    mutex: *const dualsync_mutex_t,
) -> dualsync_status {
    // SAFETY: forwarded from the caller's contract.
    unsafe { dualsync_condition_wait_timeout(cond, mutex, super::DUALSYNC_TIMEOUT_INFINITE) }
}

/// Like `dualsync_condition_wait`, giving up after `timeout_ns`
/// nanoseconds: then `DUALSYNC_TIMED_OUT`, with `mutex` locked again all the
/// same (the re-lock has no deadline, like `pthread_cond_timedwait`). `0`
/// returns `DUALSYNC_TIMED_OUT` at once, keeping the lock;
/// `DUALSYNC_TIMEOUT_INFINITE` waits forever.
///
/// # Safety
///
/// `cond` and `mutex` are NULL or live handles; the caller owns the lock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_condition_wait_timeout(
    cond: *const dualsync_condition_t,
    mutex: *const dualsync_mutex_t,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| {
        let c = handle!(cond);
        let m = handle!(mutex);
        if !m.mutex().is_locked() {
            return DUALSYNC_NOT_LOCKED;
        }
        let wait = Wait::from_ns(timeout_ns);
        if let Wait::Try = wait {
            return DUALSYNC_TIMED_OUT;
        }
        // SAFETY: the mutex is locked and, per the caller's contract, by the
        // caller, who holds no guard (C has none).
        let held = unsafe { RawLocked::new(m.mutex().raw()) };
        let op = c.0.wait(held);
        // Either way the caller owns the lock again, as a raw C lock (a
        // `RawLocked` does not unlock on drop).
        let timed_out = match wait {
            Wait::Until(t) => op.block_until(t).1.timed_out(),
            _ => {
                op.block();
                false
            }
        };
        if timed_out {
            DUALSYNC_TIMED_OUT
        } else {
            DUALSYNC_OK
        }
    })
}

/// Wakes up to `n` waiters (longest-waiting first) and writes how many to
/// `*woken`.
///
/// # Safety
///
/// `cond` is NULL or a live handle; `woken` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_condition_notify(
    cond: *const dualsync_condition_t,
    n: usize,
    woken: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(cond, woken, |c| c.0.notify(n)) }
}

/// Wakes every waiter and writes how many to `*woken`.
///
/// # Safety
///
/// `cond` is NULL or a live handle; `woken` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_condition_notify_all(
    cond: *const dualsync_condition_t,
    woken: *mut usize,
) -> dualsync_status {
    // SAFETY: forwarded from the caller's contract.
    unsafe { dualsync_condition_notify(cond, usize::MAX, woken) }
}

/// Writes the number of threads (and Rust tasks) waiting for a notification
/// to `*out`. A waiter counts from the moment it is queued, which is when
/// it has released the mutex: a thread that locks the mutex and sees this
/// reach `n` knows a notification now reaches `n` waiters. A notified
/// waiter no longer counts, even while it is still re-locking the mutex
/// (it is still inside its call then: `dualsync_condition_free` refuses).
///
/// # Safety
///
/// `cond` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_condition_n_waiting(
    cond: *const dualsync_condition_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(cond, out, |c| c.0.statistics().waiting) }
}
