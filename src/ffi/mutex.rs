//! `dualsync_mutex_t`: a `Mutex<()>` with asyncio-style release (any thread
//! may unlock a locked mutex; unlocking an unlocked one is `NOT_LOCKED`).

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, InCall, Operation, Start, Wait, boundary, boundary_or, dualsync_op_callback_t,
    dualsync_op_t, free_boxed, impl_handle, read_out, start_op, uncounted, wait_counted, write_out,
};
use super::{arc_bridge, last_ref};
use crate::Mutex;
use crate::mutex::raw::RawLock;

/// An opaque mutex handle.
///
/// Rust code that receives one from C can wait on it with the Rust API
/// through its `mutex()` method (for example `.await` in a task while C
/// threads wait in `dualsync_mutex_lock`): they share one FIFO queue.
pub struct dualsync_mutex_t(Arc<Mutex<()>>, Calls);

impl_handle!(dualsync_mutex_t => 1);
arc_bridge!(
    dualsync_mutex_t,
    Mutex<()>,
    "dualsync_mutex_free",
    mutex_arc
);

impl dualsync_mutex_t {
    /// The Rust [`Mutex`] behind this handle.
    ///
    /// A guard taken here unlocks on drop, as usual. The C functions work on
    /// the same lock without guards (a C caller owns the lock between
    /// `dualsync_mutex_lock` and `dualsync_mutex_unlock`); a Rust guard may
    /// also be forgotten (`mem::forget`) and the lock released from C.
    ///
    /// ```
    /// use dualsync::ffi::*;
    ///
    /// let h = dualsync_mutex_new(false);
    /// // SAFETY: `h` is a live handle from `dualsync_mutex_new`.
    /// let m = unsafe { &*h }.mutex();
    /// assert_eq!(unsafe { dualsync_mutex_lock(h) }, dualsync_status::DUALSYNC_OK);
    /// assert!(m.is_locked());
    /// assert_eq!(unsafe { dualsync_mutex_unlock(h) }, dualsync_status::DUALSYNC_OK);
    /// drop(m.try_lock().expect("unlocked by the C call"));
    /// assert_eq!(unsafe { dualsync_mutex_free(h) }, dualsync_status::DUALSYNC_OK);
    /// ```
    pub fn mutex(&self) -> &Mutex<()> {
        &self.0
    }
}

/// Creates an unlocked mutex (strict FIFO hand-off when `fair` is true;
/// otherwise bounded barging, see the Rust `Mutex`).
/// Returns NULL if allocation fails. Free it with `dualsync_mutex_free`.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_mutex_new(fair: bool) -> *mut dualsync_mutex_t {
    boundary_or(core::ptr::null_mut(), || {
        let m = if fair {
            Mutex::new_fair(())
        } else {
            Mutex::new(())
        };
        Box::into_raw(Box::new(dualsync_mutex_t(Arc::new(m), Calls::new())))
    })
}

/// Frees a mutex handle. `NULL` does nothing (`DUALSYNC_OK`). A handle that
/// Rust made from a primitive it still holds (or that shares its primitive
/// with another handle) only lets go of its reference: the checks on
/// the primitive's state (next) are skipped. A mutex that is
/// locked or has waiters is not freed: `DUALSYNC_BUSY`.
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
/// `mutex` is NULL or came from `dualsync_mutex_new` (or Rust's
/// `dualsync_mutex_t::from_arc`) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_free(mutex: *mut dualsync_mutex_t) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe {
        free_boxed(mutex, |m| {
            last_ref(&m.0) && m.0.is_locked() || m.0.statistics().waiting > 0
        })
    }
}

/// Every lock form: `wait` as the `_timeout` forms take it. The first try
/// is not counted as a call in progress (see `Calls`): the CAS that takes
/// the lock, or the load that finds it taken, is its last access; a wait
/// counts.
fn lock(m: &dualsync_mutex_t, wait: Wait) -> dualsync_status {
    let raw = m.0.raw();
    if raw.try_lock() {
        return DUALSYNC_OK;
    }
    // The C caller owns the lock (no guard) until `_unlock`.
    wait_counted(m, wait, DUALSYNC_WOULD_BLOCK, || raw.lock())
}

/// Locks, waiting as long as it takes.
///
/// # Safety
///
/// `mutex` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_lock(mutex: *const dualsync_mutex_t) -> dualsync_status {
    boundary(|| lock(uncounted!(mutex), Wait::Forever))
}

/// Locks if free right now, else `DUALSYNC_WOULD_BLOCK`.
///
/// # Safety
///
/// `mutex` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_try_lock(
    mutex: *const dualsync_mutex_t,
) -> dualsync_status {
    boundary(|| lock(uncounted!(mutex), Wait::Try))
}

/// Locks, waiting at most `timeout_ns` nanoseconds: `DUALSYNC_TIMED_OUT`
/// when the time runs out (`0` tries once and gives `DUALSYNC_WOULD_BLOCK`;
/// `DUALSYNC_TIMEOUT_INFINITE` waits forever).
///
/// # Safety
///
/// `mutex` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_lock_timeout(
    mutex: *const dualsync_mutex_t,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| lock(uncounted!(mutex), Wait::from_ns(timeout_ns)))
}

/// Unlocks. Any thread may unlock a locked mutex (asyncio semantics);
/// unlocking an unlocked mutex gives `DUALSYNC_NOT_LOCKED` and changes
/// nothing.
///
/// # Safety
///
/// `mutex` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_unlock(mutex: *const dualsync_mutex_t) -> dualsync_status {
    boundary(|| {
        let m = uncounted!(mutex);
        // Not counted while nobody is queued (see `Calls`): one CAS.
        let raw = m.0.raw();
        let unlocked = raw.unlock_checked_fast().unwrap_or_else(|| {
            let _call = InCall::of(m);
            raw.unlock_checked()
        });
        if unlocked {
            DUALSYNC_OK
        } else {
            DUALSYNC_NOT_LOCKED
        }
    })
}

/// Writes the number of threads (and Rust tasks) queued for the lock to
/// `*out`. A waiter counts from the moment it is queued (a
/// blocked call may spin briefly first), so a thread that sees this reach
/// `n` knows `n` calls are blocked (e.g. before a free, which is refused
/// while they are).
///
/// # Safety
///
/// `mutex` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_n_waiting(
    mutex: *const dualsync_mutex_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(mutex, out, |m| m.0.statistics().waiting) }
}

/// Writes whether the mutex is locked (1) or not (0) to `*out`.
///
/// # Safety
///
/// `mutex` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_is_locked(
    mutex: *const dualsync_mutex_t,
    out: *mut bool,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { read_out(mutex, out, |m| m.0.is_locked()) }
}

// ---- operations (`dualsync_op_t`) ----

impl Operation for RawLock<'static> {}

/// Starts locking `mutex` without blocking: the lock is queued with
/// blocked threads and Rust tasks, and once `dualsync_op_poll(op, NULL)`
/// gives `DUALSYNC_OK` the caller owns the lock, as after
/// `dualsync_mutex_lock` (unlock with `dualsync_mutex_unlock`). Cancelling
/// a lock handed to the op but not polled passes it on. See
/// `dualsync_op_t`. While it is pending, `dualsync_mutex_free(mutex)` is
/// refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `mutex` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_mutex_lock_start(
    mutex: *const dualsync_mutex_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    let run = |m: &dualsync_mutex_t, s: Start<'_>| s.run(m.mutex_arc(), |m| m.raw().lock());
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(mutex, notify_fd, callback, user_data, op_out, run) }
}
