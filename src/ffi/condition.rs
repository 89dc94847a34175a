//! `dualsync_condition_t`: a [`Condition`](crate::Condition) used with a
//! `dualsync_mutex_t` the caller has locked, like `pthread_cond_t`.
//!
//! A condition has no `try_` form (said in the handle's doc, which is in the
//! header): a notification is not stored, so a wait that never waits could
//! only time out. `dualsync_condition_wait_timeout` with `0` returns
//! `DUALSYNC_TIMED_OUT` at once without releasing the mutex.

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, Handle, IntoC, Operation, Start, Wait, boundary, boundary_or, dualsync_mutex_t,
    dualsync_op_callback_t, dualsync_op_t, free_boxed, handle, impl_handle, start_op, write_out,
};
use super::{arc_bridge, last_ref};
use crate::condition::RawLocked;
use crate::{Condition, ConditionWait};

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
/// waiter returns and frees. Retry once those calls are done. A call that
/// is done with the handle before it returns does not count: one that
/// takes or gives back a lock, permits or a flag in one atomic step with
/// nobody waiting (the list is at `DUALSYNC_BUSY`).
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

// ---- operations (`dualsync_op_t`) ----

/// The mutex is locked again, and the C caller owns it (a `RawLocked`
/// does not unlock on drop).
impl IntoC for RawLocked<'_> {
    type Result = ();
    fn into_c(self) -> (dualsync_status, ()) {
        (DUALSYNC_OK, ())
    }
}

impl Operation for ConditionWait<'static, RawLocked<'static>> {}

/// `dualsync_condition_wait` without blocking. The caller has locked
/// `mutex`; starting releases it (before this returns: the wait is queued
/// first, so a notification from whoever takes the mutex next reaches
/// it), and `dualsync_op_poll(op, NULL)` gives `DUALSYNC_OK` once the wait
/// was notified **and** has locked `mutex` again: from then on the caller
/// owns the lock, as when `dualsync_condition_wait` returns (the re-lock
/// queues with the mutex's other waiters, in their order). An unlocked
/// `mutex` gives `DUALSYNC_NOT_LOCKED` and starts nothing (the lock stays
/// as it was).
///
/// Who holds `mutex`, precisely: the caller until `_start` returns
/// `DUALSYNC_OK`; nobody through this operation while it is pending
/// (notified or not, re-locking or not: a lock handed to it is its own,
/// not yet the caller's); the caller again from the `dualsync_op_poll`
/// that returns `DUALSYNC_OK`. After `dualsync_op_cancel` returns
/// `DUALSYNC_OK` (or a `dualsync_op_free` of a pending operation) the
/// caller does **not** hold the mutex: unlike a timed-out
/// `dualsync_condition_wait_timeout` nothing re-locks it, since that could
/// block the event loop; start a `dualsync_mutex_lock_start` (or lock) to
/// take it again. Cancelling, like dropping the Rust `Condition::wait`
/// future, loses nothing: a notification it had received passes to the
/// next waiter, and a re-lock it had been handed passes to the mutex's
/// next waiter. `DUALSYNC_DONE` from the cancel means the outcome was
/// already given: the caller holds the mutex.
///
/// See `dualsync_op_t`. While it is pending, `dualsync_condition_free(cond)`
/// and `dualsync_mutex_free(mutex)` are refused.
///
/// # Safety
///
/// `cond` and `mutex` are NULL or live handles, and the caller owns the
/// lock of `mutex`; the rest as `dualsync_queue_get_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_condition_wait_start(
    cond: *const dualsync_condition_t,
    mutex: *const dualsync_mutex_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    let run = |c: &dualsync_condition_t, s: Start<'_>| {
        // (The mutex, like the condition, is NULL or live: the contract.)
        let m = handle!(mutex);
        if !s.is_valid() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        if !m.mutex().is_locked() {
            return DUALSYNC_NOT_LOCKED;
        }
        let keep = (c.condition_arc(), m.mutex_arc());
        s.counting(m.calls()).run(keep, |(c, m)| {
            // SAFETY: the mutex is locked and, per the caller's contract,
            // by the caller, who holds no guard (C has none).
            c.wait(unsafe { RawLocked::new(m.raw()) })
        })
    };
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(cond, notify_fd, callback, user_data, op_out, run) }
}
