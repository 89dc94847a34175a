//! `dualsync_rwlock_t`: a `RwLock<()>` held without guards from C (a C
//! caller owns a read or write lock between `_read`/`_write` and
//! `_read_unlock`/`_write_unlock`; releasing one that is not held is
//! `NOT_LOCKED`).

use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{Calls, Wait, boundary, boundary_or, free_boxed, handle, impl_handle, write_out};
use super::{arc_bridge, last_ref};
use crate::RwLock;
use crate::rwlock::raw::{Kind, RawRwLock};

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
/// in progress.
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

/// The blocking, try and timed forms of one kind of acquire.
fn acquire(raw: &RawRwLock, kind: Kind, wait: Wait) -> dualsync_status {
    let ok = match wait {
        Wait::Try => match kind {
            Kind::Read => raw.try_read(),
            _ => raw.try_write(),
        },
        Wait::Forever => {
            raw.acquire(kind).block();
            true
        }
        // The C caller owns the lock (no guard) until its unlock call.
        Wait::Until(t) => {
            return raw
                .acquire(kind)
                .block_until(t)
                .map_or(DUALSYNC_TIMED_OUT, |()| DUALSYNC_OK);
        }
    };
    if ok {
        DUALSYNC_OK
    } else {
        DUALSYNC_WOULD_BLOCK
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
    boundary(|| acquire(handle!(rwlock).0.raw(), Kind::Read, Wait::Forever))
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
    boundary(|| acquire(handle!(rwlock).0.raw(), Kind::Read, Wait::Try))
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
    boundary(|| {
        acquire(
            handle!(rwlock).0.raw(),
            Kind::Read,
            Wait::from_ns(timeout_ns),
        )
    })
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
    boundary(|| acquire(handle!(rwlock).0.raw(), Kind::Write, Wait::Forever))
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
    boundary(|| acquire(handle!(rwlock).0.raw(), Kind::Write, Wait::Try))
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
    boundary(|| {
        acquire(
            handle!(rwlock).0.raw(),
            Kind::Write,
            Wait::from_ns(timeout_ns),
        )
    })
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
        if handle!(rwlock).0.raw().unlock_read_checked() {
            DUALSYNC_OK
        } else {
            DUALSYNC_NOT_LOCKED
        }
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
        if handle!(rwlock).0.raw().unlock_write_checked() {
            DUALSYNC_OK
        } else {
            DUALSYNC_NOT_LOCKED
        }
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
