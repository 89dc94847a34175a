//! `dualsync_rwlock_t`: a `RwLock<()>` held without guards from C (a C
//! caller owns a read or write lock between `_read`/`_write` and
//! `_read_unlock`/`_write_unlock`; releasing one that is not held is
//! `NOT_LOCKED`).

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, InCall, Operation, Start, Wait, boundary, boundary_or, dualsync_op_callback_t,
    dualsync_op_t, free_boxed, impl_handle, start_op, uncounted, wait_counted, write_out,
};
use super::{arc_bridge, last_ref};
use crate::RwLock;
use crate::rwlock::raw::{Kind, RawAcquire};

/// An opaque reader-writer lock handle.
///
/// Rust code that receives one from C can wait on it with the Rust API
/// through its `rwlock()` method (for example `.await` a read lock in a task
/// while C threads wait in `dualsync_rwlock_write`): they share one FIFO
/// queue.
pub struct dualsync_rwlock_t(Arc<RwLock<()>>, Calls);

impl_handle!(dualsync_rwlock_t => 1);
arc_bridge!(
    dualsync_rwlock_t,
    RwLock<()>,
    "dualsync_rwlock_free",
    rwlock_arc
);

impl dualsync_rwlock_t {
    /// The Rust [`RwLock`] behind this handle.
    ///
    /// A guard taken here releases on drop, as usual. The C functions work
    /// on the same lock without guards; a Rust guard may also be forgotten
    /// (`mem::forget`) and the lock released from C.
    ///
    /// ```
    /// use dualsync::ffi::*;
    ///
    /// let h = dualsync_rwlock_new(false);
    /// // SAFETY: `h` is a live handle from `dualsync_rwlock_new`.
    /// let lock = unsafe { &*h }.rwlock();
    /// assert_eq!(unsafe { dualsync_rwlock_read(h) }, dualsync_status::DUALSYNC_OK);
    /// assert_eq!(lock.statistics().readers, 1);
    /// assert!(lock.try_write().is_none());
    /// assert_eq!(unsafe { dualsync_rwlock_read_unlock(h) }, dualsync_status::DUALSYNC_OK);
    /// drop(lock.try_write().expect("released by the C call"));
    /// assert_eq!(unsafe { dualsync_rwlock_free(h) }, dualsync_status::DUALSYNC_OK);
    /// ```
    pub fn rwlock(&self) -> &RwLock<()> {
        &self.0
    }
}

/// Creates an unlocked reader-writer lock (strict FIFO hand-off when `fair`
/// is true; otherwise bounded barging, see the Rust `RwLock`). A queued writer stops new readers; readers queued behind a
/// writer enter together after it. Returns NULL if allocation fails. Free
/// it with `dualsync_rwlock_free`.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_rwlock_new(fair: bool) -> *mut dualsync_rwlock_t {
    boundary_or(core::ptr::null_mut(), || {
        let l = if fair {
            RwLock::new_fair(())
        } else {
            RwLock::new(())
        };
        Box::into_raw(Box::new(dualsync_rwlock_t(Arc::new(l), Calls::new())))
    })
}

/// Frees a reader-writer lock handle. `NULL` does nothing (`DUALSYNC_OK`).
/// A handle that Rust made from a lock it still holds only lets go of its
/// reference. A lock that is held (read or write) or has waiters is not
/// freed: `DUALSYNC_BUSY`; so is one with another call on the handle still
/// in progress (but for a call already done with it: a lock taken or
/// released in one atomic step with nobody waiting; see `DUALSYNC_BUSY`).
///
/// # Safety
///
/// `rwlock` is NULL or came from `dualsync_rwlock_new` (or Rust's
/// `dualsync_rwlock_t::from_arc`) and was not freed; no call on it starts
/// during or after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_free(rwlock: *mut dualsync_rwlock_t) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe {
        free_boxed(rwlock, |l| {
            last_ref(&l.0) && l.0.is_locked() || l.0.statistics().waiting > 0
        })
    }
}

/// The blocking, try and timed forms of one kind of acquire. The first try
/// is not counted as a call in progress (see `Calls`): the CAS that enters,
/// or the load that refuses, is its last access; a wait counts.
fn acquire(l: &dualsync_rwlock_t, kind: Kind, wait: Wait) -> dualsync_status {
    let raw = l.0.raw();
    let entered = match kind {
        Kind::Read => raw.try_read(),
        _ => raw.try_write(),
    };
    if entered {
        return DUALSYNC_OK;
    }
    // The C caller owns the lock (no guard) until its unlock call.
    wait_counted(l, wait, DUALSYNC_WOULD_BLOCK, || raw.acquire(kind))
}

/// A release: not counted when `fast` settles it (one CAS: see `Calls`),
/// else counted around `slow`.
fn release(
    l: &dualsync_rwlock_t,
    fast: impl FnOnce() -> Option<bool>,
    slow: impl FnOnce() -> bool,
) -> dualsync_status {
    let released = fast().unwrap_or_else(|| {
        let _call = InCall::of(l);
        slow()
    });
    if released {
        DUALSYNC_OK
    } else {
        DUALSYNC_NOT_LOCKED
    }
}

/// Takes a read lock, waiting as long as it takes (while a writer holds the
/// lock or is queued for it).
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_read(rwlock: *const dualsync_rwlock_t) -> dualsync_status {
    boundary(|| acquire(uncounted!(rwlock), Kind::Read, Wait::Forever))
}

/// Takes a read lock if that needs no wait, else `DUALSYNC_WOULD_BLOCK`.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_try_read(
    rwlock: *const dualsync_rwlock_t,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(rwlock), Kind::Read, Wait::Try))
}

/// Takes a read lock, waiting at most `timeout_ns` nanoseconds:
/// `DUALSYNC_TIMED_OUT` when the time runs out (`0` tries once and gives
/// `DUALSYNC_WOULD_BLOCK`; `DUALSYNC_TIMEOUT_INFINITE` waits forever).
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_read_timeout(
    rwlock: *const dualsync_rwlock_t,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(rwlock), Kind::Read, Wait::from_ns(timeout_ns)))
}

/// Takes the write lock, waiting as long as it takes.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_write(
    rwlock: *const dualsync_rwlock_t,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(rwlock), Kind::Write, Wait::Forever))
}

/// Takes the write lock if nobody holds the lock, else
/// `DUALSYNC_WOULD_BLOCK`.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_try_write(
    rwlock: *const dualsync_rwlock_t,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(rwlock), Kind::Write, Wait::Try))
}

/// Takes the write lock, waiting at most `timeout_ns` nanoseconds (as
/// `dualsync_rwlock_read_timeout`). A writer that times out lets in the
/// readers it was holding back.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_write_timeout(
    rwlock: *const dualsync_rwlock_t,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| acquire(uncounted!(rwlock), Kind::Write, Wait::from_ns(timeout_ns)))
}

/// Releases one read lock (any thread may release one); with no read lock
/// held, `DUALSYNC_NOT_LOCKED`, changing nothing.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_read_unlock(
    rwlock: *const dualsync_rwlock_t,
) -> dualsync_status {
    boundary(|| {
        let l = uncounted!(rwlock);
        let raw = l.0.raw();
        release(
            l,
            || raw.unlock_read_checked_fast(),
            || raw.unlock_read_checked(),
        )
    })
}

/// Releases the write lock (any thread may release it); when it is not
/// held, `DUALSYNC_NOT_LOCKED`, changing nothing.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_write_unlock(
    rwlock: *const dualsync_rwlock_t,
) -> dualsync_status {
    boundary(|| {
        let l = uncounted!(rwlock);
        let raw = l.0.raw();
        release(
            l,
            || raw.unlock_write_checked_fast(),
            || raw.unlock_write_checked(),
        )
    })
}

/// Writes the number of threads and tasks queued on the lock to `*out`.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_n_waiting(
    rwlock: *const dualsync_rwlock_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(rwlock, out, |l| l.0.statistics().waiting) }
}

/// Writes the number of read locks held to `*out`.
///
/// # Safety
///
/// `rwlock` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_n_readers(
    rwlock: *const dualsync_rwlock_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(rwlock, out, |l| l.0.statistics().readers) }
}

// ---- operations (`dualsync_op_t`) ----

impl Operation for RawAcquire<'static> {}

/// Starts taking a read lock on `rwlock` without blocking: the wait is
/// queued with blocked threads and Rust tasks (behind a queued writer), and
/// once `dualsync_op_poll(op, NULL)` gives `DUALSYNC_OK` the caller holds a
/// read lock, as after `dualsync_rwlock_read` (release it with
/// `dualsync_rwlock_read_unlock`). Cancelling an op that was handed the
/// lock but not polled releases it (the writer it held back, if any, goes
/// in). See `dualsync_op_t`. While it is pending,
/// `dualsync_rwlock_free(rwlock)` is refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `rwlock` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_read_start(
    rwlock: *const dualsync_rwlock_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    // SAFETY: forwarded from the caller's contract.
    unsafe { acquire_start(rwlock, Kind::Read, notify_fd, callback, user_data, op_out) }
}

/// Starts taking the write lock on `rwlock` without blocking (as
/// `dualsync_rwlock_read_start`; while it is queued it stops new readers,
/// as a blocked `dualsync_rwlock_write` does). Once `dualsync_op_poll(op,
/// NULL)` gives `DUALSYNC_OK` the caller holds the write lock (release it
/// with `dualsync_rwlock_write_unlock`). Cancelling it lets in the readers
/// it held back, and passes on a lock it had been handed.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `rwlock` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_rwlock_write_start(
    rwlock: *const dualsync_rwlock_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    // SAFETY: forwarded from the caller's contract.
    unsafe { acquire_start(rwlock, Kind::Write, notify_fd, callback, user_data, op_out) }
}

/// # Safety
///
/// As `dualsync_rwlock_read_start`.
unsafe fn acquire_start(
    rwlock: *const dualsync_rwlock_t,
    kind: Kind,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    let run =
        |l: &dualsync_rwlock_t, s: Start<'_>| s.run(l.rwlock_arc(), move |l| l.raw().acquire(kind));
    // SAFETY: the caller's contract is `start_op`'s.
    unsafe { start_op(rwlock, notify_fd, callback, user_data, op_out, run) }
}
