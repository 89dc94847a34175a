//! `dualsync_barrier_t`: a reusable `Barrier` (asyncio's `Barrier`).
//!
//! A wait's index is in `0..parties`; the waiter with index `parties - 1`
//! is the round's leader (the last arrival). A `_timeout` wait that runs out
//! withdraws its arrival without breaking the barrier.

use core::ffi::{c_int, c_void};
use core::pin::Pin;
use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{
    Calls, IntoC, Operation, Start, Wait, boundary, boundary_or, dualsync_op_callback_t,
    dualsync_op_t, free_boxed, handle, impl_handle, start_op, write_out,
};
use super::{arc_bridge, last_ref};
use crate::{
    Barrier, BarrierTimeoutError, BarrierWait, BarrierWaitResult, BrokenBarrier, TryWaitError,
};

/// An opaque barrier handle.
pub struct dualsync_barrier_t(Arc<Barrier>, Calls);

impl_handle!(dualsync_barrier_t => 1);
arc_bridge!(
    dualsync_barrier_t,
    Barrier,
    "dualsync_barrier_free",
    barrier_arc
);

impl dualsync_barrier_t {
    /// The Rust [`Barrier`] behind this handle: Rust tasks `.await` its
    /// `wait()` and C threads call `dualsync_barrier_wait`, as parties of
    /// the same rounds.
    pub fn barrier(&self) -> &Barrier {
        &self.0
    }
}

fn wait(b: &dualsync_barrier_t, timeout_ns: u64, index_out: *mut usize) -> dualsync_status {
    if index_out.is_null() {
        return DUALSYNC_INVALID_ARGUMENT;
    }
    let r = match Wait::from_ns(timeout_ns) {
        Wait::Try => match b.0.try_wait() {
            Ok(r) => Ok(r),
            Err(TryWaitError::Broken) => Err(BarrierTimeoutError::Broken),
            Err(TryWaitError::WouldBlock) => return DUALSYNC_WOULD_BLOCK,
        },
        Wait::Forever => b.0.wait().block().map_err(BarrierTimeoutError::from),
        Wait::Until(t) => b.0.wait().block_until(t),
    };
    match r {
        Ok(r) => {
            // SAFETY: checked non-NULL; valid for a write per the contract.
            unsafe { index_out.write(r.index()) };
            DUALSYNC_OK
        }
        Err(BarrierTimeoutError::Broken) => DUALSYNC_BROKEN,
        Err(BarrierTimeoutError::Timeout) => DUALSYNC_TIMED_OUT,
    }
}

/// Creates a barrier for `parties` waiters. Returns NULL if `parties` is 0
/// or allocation fails. Free it with `dualsync_barrier_free`.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_barrier_new(parties: usize) -> *mut dualsync_barrier_t {
    boundary_or(core::ptr::null_mut(), || match Barrier::try_new(parties) {
        Ok(b) => Box::into_raw(Box::new(dualsync_barrier_t(Arc::new(b), Calls::new()))),
        Err(_) => core::ptr::null_mut(),
    })
}

/// Frees a barrier handle. `NULL` does nothing (`DUALSYNC_OK`). A handle that
/// Rust made from a primitive it still holds (or that shares its primitive
/// with another handle) only lets go of its reference: the checks on
/// the primitive's state (next) are skipped. A barrier that
/// threads wait on is not freed: `DUALSYNC_BUSY`.
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
/// `barrier` is NULL or came from `dualsync_barrier_new` (or Rust's
/// `dualsync_barrier_t::from_arc`) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_free(
    barrier: *mut dualsync_barrier_t,
) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe { free_boxed(barrier, |b| last_ref(&b.0) && b.0.n_waiting_locked() > 0) }
}

/// Arrives and waits for the round to complete; writes this waiter's index
/// (`0..parties`) to `*index_out`. `DUALSYNC_BROKEN` if the barrier is
/// aborted, or reset while waiting.
///
/// # Safety
///
/// `barrier` is NULL or a live handle; `index_out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_wait(
    barrier: *const dualsync_barrier_t,
    index_out: *mut usize,
) -> dualsync_status {
    boundary(|| {
        wait(
            &*handle!(barrier),
            super::DUALSYNC_TIMEOUT_INFINITE,
            index_out,
        )
    })
}

/// Passes only if this arrival completes the round, else
/// `DUALSYNC_WOULD_BLOCK` without arriving.
///
/// # Safety
///
/// `barrier` is NULL or a live handle; `index_out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_try_wait(
    barrier: *const dualsync_barrier_t,
    index_out: *mut usize,
) -> dualsync_status {
    boundary(|| wait(&*handle!(barrier), 0, index_out))
}

/// Like `dualsync_barrier_wait`, giving up after `timeout_ns`
/// (`DUALSYNC_TIMED_OUT`, the arrival withdrawn; `0` is
/// `dualsync_barrier_try_wait`; `DUALSYNC_TIMEOUT_INFINITE` waits forever).
///
/// # Safety
///
/// `barrier` is NULL or a live handle; `index_out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_wait_timeout(
    barrier: *const dualsync_barrier_t,
    timeout_ns: u64,
    index_out: *mut usize,
) -> dualsync_status {
    boundary(|| wait(&*handle!(barrier), timeout_ns, index_out))
}

/// Wakes current waiters with `DUALSYNC_BROKEN` and returns the barrier to
/// an empty, unbroken state.
///
/// # Safety
///
/// `barrier` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_reset(
    barrier: *const dualsync_barrier_t,
) -> dualsync_status {
    boundary(|| {
        handle!(barrier).0.reset();
        DUALSYNC_OK
    })
}

/// Breaks the barrier: current and later waiters get `DUALSYNC_BROKEN`
/// until `dualsync_barrier_reset`.
///
/// # Safety
///
/// `barrier` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_abort(
    barrier: *const dualsync_barrier_t,
) -> dualsync_status {
    boundary(|| {
        handle!(barrier).0.abort();
        DUALSYNC_OK
    })
}

/// Writes the number of parties to `*out`.
///
/// # Safety
///
/// `barrier` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_parties(
    barrier: *const dualsync_barrier_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(barrier, out, |b| b.0.parties()) }
}

/// Writes the number of waiters in the current round to `*out`.
///
/// # Safety
///
/// `barrier` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_n_waiting(
    barrier: *const dualsync_barrier_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(barrier, out, |b| b.0.n_waiting()) }
}

/// Writes whether the barrier is broken to `*out`.
///
/// # Safety
///
/// `barrier` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_is_broken(
    barrier: *const dualsync_barrier_t,
    out: *mut bool,
) -> dualsync_status {
    // SAFETY: this function's contract is `write_out`'s.
    unsafe { write_out(barrier, out, |b| b.0.is_broken()) }
}

// ---- operations (`dualsync_op_t`) ----

impl IntoC for Result<BarrierWaitResult, BrokenBarrier> {
    type Result = usize;
    fn into_c(self) -> (dualsync_status, usize) {
        match self {
            Ok(r) => (DUALSYNC_OK, r.index()),
            Err(BrokenBarrier) => (DUALSYNC_BROKEN, 0),
        }
    }
}

impl Operation for BarrierWait<'static> {
    /// An arrival whose round completed before the cancel was counted: its
    /// index is kept for `dualsync_op_poll` (a drop would throw it away).
    fn withdraw(self: Pin<&mut Self>) -> Option<Self::Output> {
        self.cancel()
    }
}

/// Arrives at `barrier` without blocking: the arrival counts at once (as a
/// blocked `dualsync_barrier_wait`'s), and `dualsync_op_poll(op, &index)`
/// (a `size_t *`) gives `DUALSYNC_OK` and this party's index
/// (`0..parties`; `parties - 1` for the round's leader, the last arrival)
/// once the round completes, or `DUALSYNC_BROKEN` (aborted, or reset while
/// waiting). An arrival that completes the round completes at once.
///
/// Cancelling withdraws the arrival without breaking the barrier (the
/// round now needs another party), as a timed-out
/// `dualsync_barrier_wait_timeout` does; if the round completed first,
/// `dualsync_op_cancel` says `DUALSYNC_DONE` and the index is still there
/// for `dualsync_op_poll`: an arrival is never counted without its index
/// reaching the caller. See `dualsync_op_t`. While it is pending,
/// `dualsync_barrier_free(barrier)` is refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `barrier` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_barrier_wait_start(
    barrier: *const dualsync_barrier_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    let run = |b: &dualsync_barrier_t, s: Start<'_>| s.run(b.barrier_arc(), |b| b.wait());
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(barrier, notify_fd, callback, user_data, op_out, run) }
}
