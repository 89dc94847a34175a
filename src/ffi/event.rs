//! `dualsync_event_t`: an [`Event`](crate::Event) (asyncio's `Event`).

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, Operation, Start, Wait, boundary, boundary_or, dualsync_op_callback_t, dualsync_op_t,
    free_boxed, handle, impl_handle, read_out, start_op, uncounted, wait_counted, write_out,
};
use super::{arc_bridge, last_ref};
use crate::{Event, EventWait};

/// An opaque event handle.
///
/// Rust code that receives one from C can wait on it with the Rust API
/// through [`event()`](Self::event) (for example `.await` in a task while C
/// threads wait in `dualsync_event_wait`).
pub struct dualsync_event_t(Arc<Event>, Calls);

impl_handle!(dualsync_event_t => 1);
arc_bridge!(dualsync_event_t, Event, "dualsync_event_free", event_arc);

impl dualsync_event_t {
    /// The Rust [`Event`] behind this handle.
    pub fn event(&self) -> &Event {
        &self.0
    }
}

/// Every wait form. A set event is seen with one load, not counted as a
/// call in progress (see `Calls`); a wait counts.
fn wait(e: &dualsync_event_t, wait: Wait) -> dualsync_status {
    if e.0.is_set() {
        return DUALSYNC_OK;
    }
    wait_counted(e, wait, DUALSYNC_WOULD_BLOCK, || e.0.wait())
}

/// Creates an event, not set. Returns NULL if allocation fails. Free it with
/// `dualsync_event_free`.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_event_new() -> *mut dualsync_event_t {
    boundary_or(core::ptr::null_mut(), || {
        Box::into_raw(Box::new(dualsync_event_t(
            Arc::new(Event::new()),
            Calls::new(),
        )))
    })
}

/// Frees an event handle. `NULL` does nothing (`DUALSYNC_OK`). A handle that
/// Rust made from a primitive it still holds (or that shares its primitive
/// with another handle) only lets go of its reference: the checks on
/// the primitive's state (next) are skipped. An event that
/// threads still wait on is not freed: `DUALSYNC_BUSY`.
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
/// `event` is NULL or came from `dualsync_event_new` (or Rust's
/// `dualsync_event_t::from_arc`) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_free(event: *mut dualsync_event_t) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe { free_boxed(event, |e| last_ref(&e.0) && e.0.statistics().waiting > 0) }
}

/// Sets the event: every waiter wakes, and waits return at once until
/// `dualsync_event_clear`.
///
/// # Safety
///
/// `event` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_set(event: *const dualsync_event_t) -> dualsync_status {
    boundary(|| {
        handle!(event).0.set();
        DUALSYNC_OK
    })
}

/// Clears the event. Waiters already woken by a set still return.
///
/// # Safety
///
/// `event` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_clear(event: *const dualsync_event_t) -> dualsync_status {
    boundary(|| {
        // One `fetch_and`: not counted (see `Calls`).
        uncounted!(event).0.clear();
        DUALSYNC_OK
    })
}

/// Writes whether the event is set (1) or not (0) to `*out`.
///
/// # Safety
///
/// `event` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_is_set(
    event: *const dualsync_event_t,
    out: *mut bool,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { read_out(event, out, |e| e.0.is_set()) }
}

/// Waits until the event is set (returns at once if it is).
///
/// # Safety
///
/// `event` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_wait(event: *const dualsync_event_t) -> dualsync_status {
    boundary(|| wait(uncounted!(event), Wait::Forever))
}

/// `DUALSYNC_OK` if the event is set, else `DUALSYNC_WOULD_BLOCK`.
///
/// # Safety
///
/// `event` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_try_wait(
    event: *const dualsync_event_t,
) -> dualsync_status {
    boundary(|| wait(uncounted!(event), Wait::Try))
}

/// Waits at most `timeout_ns` nanoseconds for the event: `DUALSYNC_TIMED_OUT`
/// when the time runs out (`0` tries once and gives `DUALSYNC_WOULD_BLOCK`;
/// `DUALSYNC_TIMEOUT_INFINITE` waits forever).
///
/// # Safety
///
/// `event` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_wait_timeout(
    event: *const dualsync_event_t,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| wait(uncounted!(event), Wait::from_ns(timeout_ns)))
}

/// Writes the number of threads (and Rust tasks) waiting for the event to
/// `*out`. A waiter counts from the moment it is queued (a
/// blocked call may spin briefly first), so a thread that sees this reach
/// `n` knows `n` calls are blocked (e.g. before a free, which is refused
/// while they are).
///
/// # Safety
///
/// `event` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_n_waiting(
    event: *const dualsync_event_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(event, out, |e| e.0.statistics().waiting) }
}

// ---- operations (`dualsync_op_t`) ----

impl Operation for EventWait<'static> {}

/// Starts waiting for `event` to be set, without blocking:
/// `dualsync_op_poll(op, NULL)` gives `DUALSYNC_OK` once it is set (at
/// once if it already is). See `dualsync_op_t`. While it is pending,
/// `dualsync_event_free(event)` is refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `event` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_event_wait_start(
    event: *const dualsync_event_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    let run = |e: &dualsync_event_t, s: Start<'_>| s.run(e.event_arc(), |e| e.wait());
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(event, notify_fd, callback, user_data, op_out, run) }
}
