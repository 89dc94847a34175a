//! The C ABI: `dualsync_<type>_<verb>` functions over opaque handles.
//!
//! Rules every export follows:
//!
//! * Every body runs inside `boundary`: a Rust panic never unwinds into C;
//!   it becomes [`dualsync_status::DUALSYNC_PANIC`].
//! * Every pointer is checked: a NULL handle or NULL out pointer is
//!   `DUALSYNC_INVALID_ARGUMENT`. Outputs are written only on success.
//! * Waiting calls come in three forms: blocking, `try_`, and
//!   `_timeout(..., uint64_t timeout_ns)` on the monotonic clock, where `0`
//!   tries once and `DUALSYNC_TIMEOUT_INFINITE` (`UINT64_MAX`) waits forever.
//! * Misuse (unlocking an unlocked mutex, over-releasing...) returns its own
//!   status and leaves the primitive unchanged.
//! * Every call on a handle that may still touch it after another thread
//!   could see its effect is counted while it runs (`handle!` gives an
//!   `InCall` guard): `_free` refuses with `DUALSYNC_BUSY` while any such
//!   call has not returned yet, blocked or not (a thread that woke a waiter
//!   may still be inside its call when the waiter returns and frees), then
//!   checks the primitive's own state (waiting Rust tasks, held locks)
//!   under its lock (`free_boxed`). Fast paths whose last access is one
//!   atomic operation are not counted (`uncounted!`): the list and the
//!   argument are at `Calls` (`src/ffi/mod.rs`).
//!
//! `include/dualsync.h` is generated from this module and every `mod` it
//! declares (nothing else in the crate) by `build.rs` with cbindgen
//! (`cbindgen.toml`) when the crate is built with the `capi` feature: `pub`
//! `extern "C"` functions, `#[repr(C)]` types, `pub const`s, and each `pub
//! struct` handle as an opaque `typedef struct dualsync_x_t dualsync_x_t;`,
//! with their doc comments. Regenerate it with `make header` and commit it
//! with any change here (a `capi` build fails while it is stale); see
//! `c-examples/README.md` for the build, the install and the link lines.
//!
//! Rust code that reaches the primitive behind a handle (`mutex()`,
//! `event()`...) is not counted: it must be done with it before the handle
//! is freed.
//!
//! # The bridge between Rust and C
//!
//! Every handle holds its primitive through an `Arc`, so the bridge goes
//! both ways for every handle type:
//!
//! * Rust reaches the primitive behind a C handle: a borrow (`mutex()`,
//!   `semaphore()`, `queue()`...) or an `Arc` of its own (`mutex_arc()`,
//!   ...), which keeps the primitive alive after the handle is freed.
//! * A primitive created in Rust is handed to C as a new handle with
//!   `from_arc` (`dualsync_mutex_t::from_arc(Arc<Mutex<()>>)`, ...): the
//!   handle holds one reference, and its `_free` drops only that reference.
//!   Several handles may share one primitive.
//!
//! `_free` refuses with `DUALSYNC_BUSY` while a call on *that handle* is in
//! progress. The checks on the primitive's own state (waiters, a held lock,
//! borrowed tokens) apply only when the handle holds the last reference:
//! when Rust (or another handle) still owns the primitive, those waiters
//! and holders are theirs, and freeing the handle only lets go of it.
//!
//! # Waits that do not block: operations
//!
//! Every waiting call has a `_start` form, next to it in its primitive's
//! file (`dualsync_queue_get_start`, `dualsync_condition_wait_start`,
//! `dualsync_barrier_wait_start`, `dualsync_rwlock_read_start`...): it
//! returns a `dualsync_op_t` (`op.rs`, one generic operation for all of
//! them) that owns the Rust operation future, announces progress on a file
//! descriptor and/or through a callback, and is polled
//! (`dualsync_op_poll`), cancelled (`dualsync_op_cancel`, a dropped future)
//! and freed (`dualsync_op_free`). A pending operation counts as a call in
//! progress on its primitive's handle(s). Adding one is an `impl Operation
//! for TheFuture<'static> {}` and a `_start` export that calls
//! `Start::run` (see `op.rs`).
//!
//! The queue's items are `void *`: its Rust view is a
//! [`Queue`](crate::Queue) of [`QueueItem`] (a raw pointer that the queue
//! never dereferences), or of [`PriorityItem`] for a priority queue.

#![allow(non_camel_case_types)]

use core::sync::atomic::{AtomicUsize, Ordering, fence};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::driver::{Waitable, block_until};

mod barrier;
mod condition;
mod event;
mod limiter;
mod mutex;
mod op;
mod queue;
mod resource_guard;
mod rwlock;
mod semaphore;

pub use barrier::*;
pub use condition::*;
pub use event::*;
pub use limiter::*;
pub use mutex::*;
pub use op::*;
pub use queue::*;
pub use resource_guard::*;
pub use rwlock::*;
pub use semaphore::*;

pub use crate::bridge::{PriorityItem, QueueItem};

/// `timeout_ns` value meaning "wait forever".
pub const DUALSYNC_TIMEOUT_INFINITE: u64 = u64::MAX;

/// The version of this C ABI. The shared library's SONAME is
/// `libdualsync.so.<DUALSYNC_ABI_VERSION>`; it changes whenever a change
/// breaks programs built against an earlier header (a function removed or
/// changed, a status renumbered, a type's layout changed). Adding functions
/// keeps it.
pub const DUALSYNC_ABI_VERSION: u32 = 0;

/// The result of every fallible C call.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dualsync_status {
    /// Success.
    DUALSYNC_OK = 0,
    /// A `_timeout` call's time ran out; nothing was acquired.
    DUALSYNC_TIMED_OUT = 1,
    /// A `try_` call (or a `_timeout` with 0) would have had to wait.
    DUALSYNC_WOULD_BLOCK = 2,
    /// A NULL handle or out pointer, or an argument out of range.
    DUALSYNC_INVALID_ARGUMENT = 3,
    /// Unlocking a mutex (or releasing a read or write lock) that is not
    /// held.
    DUALSYNC_NOT_LOCKED = 4,
    /// Releasing more than a bounded primitive allows.
    DUALSYNC_OVER_RELEASE = 5,
    /// The barrier is broken (aborted, or reset while waiting).
    DUALSYNC_BROKEN = 6,
    /// The queue was shut down.
    DUALSYNC_SHUT_DOWN = 7,
    /// The primitive was closed.
    DUALSYNC_CLOSED = 8,
    /// The resource is in use; or a `_free` refused: a call on the handle
    /// is in progress (a waiter, or a call not yet returned), or the
    /// primitive is held (a locked mutex, borrowed tokens).
    ///
    /// A call that is done with the handle before it returns is not "in
    /// progress": one whose last access is a single atomic step, nobody
    /// waiting. Those are `dualsync_mutex_lock`/`_try_lock`/`_lock_timeout`
    /// taking a free lock, `dualsync_mutex_unlock` with nobody queued;
    /// `dualsync_semaphore_acquire*`/`_try_acquire*` taking free permits,
    /// `dualsync_semaphore_release` with nobody waiting; the rwlock's
    /// read/write acquires that need no wait and its unlocks with nobody to
    /// serve; `dualsync_event_clear`, and the event waits that find it set;
    /// `dualsync_resource_guard_enter`/`_exit`; the getters that read one
    /// word (`dualsync_mutex_is_locked`, `dualsync_semaphore_available`,
    /// `_is_closed`, `dualsync_event_is_set`); and every failed `try_` of
    /// these. A thread that sees such a call's effect (the lock taken or
    /// free again, the permits there) may free at once.
    DUALSYNC_BUSY = 9,
    /// A Rust panic was caught at the boundary.
    DUALSYNC_PANIC = 10,
    /// The queue is empty (`try_get`).
    DUALSYNC_EMPTY = 11,
    /// The queue is full (`try_put`).
    DUALSYNC_FULL = 12,
    /// A count would overflow (permits, tokens).
    DUALSYNC_OVERFLOW = 13,
    /// The borrower already holds a token of this capacity limiter.
    DUALSYNC_ALREADY_BORROWED = 14,
    /// The operation (`dualsync_op_t`) was cancelled.
    DUALSYNC_CANCELLED = 15,
    /// The operation (`dualsync_op_t`) has already completed: too late to
    /// cancel it (poll its outcome), or its outcome was already given.
    DUALSYNC_DONE = 16,
}

use dualsync_status::*;

/// A static, NUL-terminated name for a status (`"DUALSYNC_OK"`, ...);
/// `"DUALSYNC_UNKNOWN"` for a value outside the enum.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_status_str(status: i32) -> *const core::ffi::c_char {
    let s: &'static [u8] = match status {
        0 => b"DUALSYNC_OK\0",
        1 => b"DUALSYNC_TIMED_OUT\0",
        2 => b"DUALSYNC_WOULD_BLOCK\0",
        3 => b"DUALSYNC_INVALID_ARGUMENT\0",
        4 => b"DUALSYNC_NOT_LOCKED\0",
        5 => b"DUALSYNC_OVER_RELEASE\0",
        6 => b"DUALSYNC_BROKEN\0",
        7 => b"DUALSYNC_SHUT_DOWN\0",
        8 => b"DUALSYNC_CLOSED\0",
        9 => b"DUALSYNC_BUSY\0",
        10 => b"DUALSYNC_PANIC\0",
        11 => b"DUALSYNC_EMPTY\0",
        12 => b"DUALSYNC_FULL\0",
        13 => b"DUALSYNC_OVERFLOW\0",
        14 => b"DUALSYNC_ALREADY_BORROWED\0",
        15 => b"DUALSYNC_CANCELLED\0",
        16 => b"DUALSYNC_DONE\0",
        _ => b"DUALSYNC_UNKNOWN\0",
    };
    s.as_ptr().cast()
}

/// Runs `f`, turning a panic into `DUALSYNC_PANIC`.
#[inline]
pub(crate) fn boundary(f: impl FnOnce() -> dualsync_status) -> dualsync_status {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(DUALSYNC_PANIC)
}

/// Runs `f` for a value-returning call (`_new`, `_is_locked`...): a panic
/// gives `fallback`.
#[inline]
pub(crate) fn boundary_or<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// How long a `_timeout` call may wait.
pub(crate) enum Wait {
    /// `timeout_ns == 0`: try once.
    Try,
    /// Until this instant.
    Until(Instant),
    /// `DUALSYNC_TIMEOUT_INFINITE`, or a deadline too far to represent.
    Forever,
}

impl Wait {
    pub(crate) fn from_ns(timeout_ns: u64) -> Wait {
        match timeout_ns {
            0 => Wait::Try,
            DUALSYNC_TIMEOUT_INFINITE => Wait::Forever,
            ns => Instant::now()
                .checked_add(Duration::from_nanos(ns))
                .map_or(Wait::Forever, Wait::Until),
        }
    }
}

/// The calls in progress on one handle (every handle type has one).
///
/// Entering a call is a `Relaxed` increment, before the call touches the
/// primitive: whatever another thread learns of the call through the
/// primitive (with the primitive's own ordering) comes after the increment,
/// so a `_free` that thread then runs sees it. Leaving is a `Release`
/// decrement, the call's last access to the handle; `_free` reads the count
/// with `Acquire`, so everything a finished call did happens before the
/// memory is freed (the same protocol as `Arc`'s count).
///
/// Cost: two uncontended atomic read-modify-writes per counted call, on the
/// handle's own cache line: on the cheapest calls (an uncontended mutex
/// lock + unlock, one CAS each) that doubled the cost. So the fast paths
/// below are not counted.
///
/// # Why the count exists, and which calls need none
///
/// `_free` must not succeed while another thread is still inside a call
/// that will touch the handle or the primitive again: typically a thread
/// that woke a waiter, still finishing its call (taking the queue lock,
/// resetting a count) when the woken waiter returns and frees. A call needs
/// no count when **its last access to the handle and the primitive is one
/// atomic operation `X`**, and what it does before `X` leaves no trace
/// (loads, a failed CAS):
///
/// * `X` fails or only reads (a `try_lock` that finds the lock taken, an
///   `is_set` load): the call leaves no trace on the object, so no thread
///   can learn of it there. A `_free` is ordered after it only by the
///   program's own synchronization, which orders the whole call before the
///   free; a `_free` not ordered after it races with the call's start,
///   which the `_free` contract forbids ("no call on it starts during or
///   after this call"), exactly as for a counted call between its start and
///   its increment.
/// * `X` succeeds and is the call's only effect (a lock CAS, a permit CAS,
///   an unlock CAS that found nobody queued): a thread that learns of the
///   call through the object learns of `X`, which is the call's last
///   access, so a `_free` it then runs is not under the call. When `X`
///   leaves the primitive held (a lock or permits taken), `_free` also
///   refuses while it is held.
///
/// The accesses before `X` are the loads that find the primitive (handle
/// → `Arc` → state word), on which `X`'s address depends: no thread can
/// see `X` before they are done. (The same ordering the counted protocol
/// relies on for what precedes its `Relaxed` increment, and `Arc`'s drop
/// for the reference it holds while another thread frees.) `free_boxed`
/// ends its checks with an `Acquire` fence, so a `Release` `X` that the
/// freeing thread observed, even through a `Relaxed` load, happens before
/// the memory is freed.
///
/// A call with such a fast path tries it first through an uncounted borrow
/// (`uncounted!`), and enters the count ([`InCall::of`]) only when it needs
/// the slow path, before the slow path does anything another thread can
/// see (its fast attempt left no trace). Which calls, and their `X`:
///
/// | calls | not counted when | `X` |
/// |---|---|---|
/// | `dualsync_mutex_lock`, `_lock_timeout` | the lock is free | the CAS taking it |
/// | `dualsync_mutex_try_lock` (and `_lock_timeout(.., 0)`) | always | the CAS taking it, or the load finding it taken |
/// | `dualsync_mutex_unlock` | nobody is queued | the CAS releasing it, or the load finding it unlocked |
/// | `dualsync_mutex_is_locked` | always | one load |
/// | `dualsync_semaphore_acquire*` (blocking, timed) | the permits are free, or it is closed | the CAS taking them, or the load finding it closed |
/// | `dualsync_semaphore_try_acquire*` | always | the CAS, or the load that refuses |
/// | `dualsync_semaphore_release` | nobody waits | the CAS adding the permits, or the load refusing them |
/// | `dualsync_semaphore_available`, `_is_closed` | always | one load |
/// | `dualsync_rwlock_read`, `_write` (blocking, timed) | it enters without waiting | the CAS entering |
/// | `dualsync_rwlock_try_read`, `_try_write` | always | the CAS, or the load that refuses |
/// | `dualsync_rwlock_read_unlock` | not the last reader with a writer queued | the CAS, or the load finding no reader |
/// | `dualsync_rwlock_write_unlock` | nobody is queued | the CAS, or the load finding no writer |
/// | `dualsync_event_is_set`, `_try_wait`; `_wait`, `_wait_timeout` when set | always; set | one load |
/// | `dualsync_event_clear` | always | one `fetch_and` |
/// | `dualsync_resource_guard_enter`, `_exit` | always | one CAS |
///
/// Counted always:
///
/// * `dualsync_event_set`: its one `fetch_or` is also what tells it whether
///   to wake waiters, so when it must, the count would come after its
///   effect (a waiter that times out and frees in between would free under
///   the wake-up).
/// * the condition, the barrier, the capacity limiter, the queue: every
///   call takes the queue lock (the limiter's borrower set; the barrier's
///   count), or makes more than one access on its fast path (the queue's
///   ring: a slot and an index), and the limiter writes a count that
///   lock-free readers see before it unlocks;
/// * every statistic that takes the queue lock (`_n_waiting`,
///   `dualsync_queue_statistics`...), every `_start` (an operation counts
///   for as long as it is pending), and every slow path above.
#[derive(Debug, Default)]
pub(crate) struct Calls(AtomicUsize);

impl Calls {
    pub(crate) const fn new() -> Calls {
        Calls(AtomicUsize::new(0))
    }

    /// Whether some call on the handle has not returned yet.
    fn any(&self) -> bool {
        self.0.load(Ordering::Acquire) != 0
    }
}

/// A handle type: the primitive, and the count of calls in progress on it.
pub(crate) trait Handle {
    fn calls(&self) -> &Calls;
}

/// Implements [`Handle`] for handle types whose field `$f` is their
/// [`Calls`].
macro_rules! impl_handle {
    ($($t:ty => $f:tt),* $(,)?) => {$(
        impl $crate::ffi::Handle for $t {
            #[inline]
            fn calls(&self) -> &$crate::ffi::Calls {
                &self.$f
            }
        }
    )*};
}
pub(crate) use impl_handle;

/// The two directions of the bridge for a handle type `$h(Arc<$t>, Calls)`:
/// `from_arc` (Rust to C) and `$arc` (an owned reference to the primitive
/// behind a C handle; the borrow accessor is written by hand).
macro_rules! arc_bridge {
    ($h:ident, $t:ty, $free:literal, $arc:ident) => {
        impl $h {
            #[doc = concat!(
                                "A new C handle on a `", stringify!($t), "` made in Rust.\n\n",
                                "The handle holds one reference to it: `", $free, "` drops ",
                                "that reference only (the primitive lives on while Rust or ",
                                "another handle holds it), and the primitive outlives every ",
                                "Rust `Arc` while the handle is not freed. C calls on the ",
                                "handle and Rust calls on the `Arc` work on the same ",
                                "primitive (one waiter queue).\n\n",
                                "The returned pointer is never NULL; pass it to C, and free ",
                                "it once with `", $free, "`."
                            )]
            pub fn from_arc(primitive: ::std::sync::Arc<$t>) -> *mut $h {
                ::std::boxed::Box::into_raw(::std::boxed::Box::new($h(
                    primitive,
                    $crate::ffi::Calls::new(),
                )))
            }

            #[doc = concat!(
                                "A reference of Rust's own to the `", stringify!($t),
                                "` behind this handle: it stays alive after `", $free,
                                "` frees the handle."
                            )]
            pub fn $arc(&self) -> ::std::sync::Arc<$t> {
                ::std::sync::Arc::clone(&self.0)
            }
        }
    };
}
pub(crate) use arc_bridge;

/// One call in progress on a live handle: counted from [`InCall::enter`]
/// until drop. Derefs to the handle.
pub(crate) struct InCall<'a, T: Handle> {
    h: &'a T,
}

impl<'a, T: Handle> InCall<'a, T> {
    /// Counts a call on `p`; `None` for NULL.
    ///
    /// # Safety
    ///
    /// `p` is NULL or a live handle, which is not freed before the guard is
    /// dropped (`_free` refuses while it is counted).
    #[inline]
    pub(crate) unsafe fn enter(p: *const T) -> Option<InCall<'a, T>> {
        // SAFETY: NULL or live (the caller's contract).
        unsafe { p.as_ref() }.map(InCall::of)
    }

    /// Counts a call on `h`, borrowed so far without counting
    /// (`uncounted!`): the slow path of a call whose fast path is exempt
    /// (see [`Calls`]), entered before that slow path does anything another
    /// thread can see.
    #[inline]
    pub(crate) fn of(h: &'a T) -> InCall<'a, T> {
        h.calls().0.fetch_add(1, Ordering::Relaxed);
        InCall { h }
    }
}

impl<T: Handle> core::ops::Deref for InCall<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.h
    }
}

impl<T: Handle> Drop for InCall<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // The call's last access to the handle: once the count is back to 0
        // a `_free` may release the memory (as in `Arc`'s drop, the
        // reference is not used after this).
        self.h.calls().0.fetch_sub(1, Ordering::Release);
    }
}

/// Enters a call on a handle (an [`InCall`], which derefs to it), or returns
/// `DUALSYNC_INVALID_ARGUMENT` from the enclosing function when it is NULL.
/// The call counts until the guard drops: bind it (`let h = handle!(p);`)
/// or use it within one expression.
macro_rules! handle {
    ($p:expr) => {
        // SAFETY: the caller's contract: the handle is NULL or live, and
        // stays live while the call is counted.
        match unsafe { $crate::ffi::InCall::enter($p) } {
            Some(h) => h,
            None => return $crate::ffi::dualsync_status::DUALSYNC_INVALID_ARGUMENT,
        }
    };
}
pub(crate) use handle;

/// The rest of a waiting call whose first try (not counted: see [`Calls`])
/// failed: `wait` is [`Wait::Try`] gives `would_block`; otherwise `op()`'s
/// wait, counted as a call in progress on `h`, gives `DUALSYNC_OK`, or
/// `DUALSYNC_TIMED_OUT` at the deadline.
pub(crate) fn wait_counted<H: Handle, W: Waitable<Output = ()>>(
    h: &H,
    wait: Wait,
    would_block: dualsync_status,
    op: impl FnOnce() -> W,
) -> dualsync_status {
    let deadline = match wait {
        Wait::Try => return would_block,
        Wait::Forever => None,
        Wait::Until(t) => Some(t),
    };
    let _call = InCall::of(h);
    block_until(op(), deadline).map_or(DUALSYNC_TIMED_OUT, |()| DUALSYNC_OK)
}

/// Borrows a handle **without counting the call**, or returns
/// `DUALSYNC_INVALID_ARGUMENT` from the enclosing function when it is NULL.
/// Only for the fast paths listed at [`Calls`] (one atomic operation is the
/// call's last access); a slow path counts itself with [`InCall::of`]
/// first.
macro_rules! uncounted {
    ($p:expr) => {
        // SAFETY: the caller's contract: the handle is NULL or live; the
        // fast path that uses this borrow ends with its one atomic
        // operation (see `Calls`).
        match unsafe { $p.as_ref() } {
            Some(h) => h,
            None => return $crate::ffi::dualsync_status::DUALSYNC_INVALID_ARGUMENT,
        }
    };
}
pub(crate) use uncounted;

/// Whether `a` is the last reference to its primitive: only then do a
/// `_free`'s checks on the primitive's state (waiters, holders) apply.
/// Otherwise the primitive outlives the handle, and freeing the handle only
/// drops its reference (memory-safe whatever the primitive's state: every
/// Rust user and every other handle holds a reference of its own).
#[inline]
pub(crate) fn last_ref<T>(a: &Arc<T>) -> bool {
    Arc::strong_count(a) == 1
}

/// The body of every `dualsync_<type>_free`: NULL does nothing
/// (`DUALSYNC_OK`); a handle with a call in progress, or that `busy` reports
/// in use, is left alone (`DUALSYNC_BUSY`); any other is dropped.
///
/// `busy` looks at the primitive itself (Rust tasks waiting through the
/// Rust API, a lock held between calls); it reads under the primitive's
/// lock where it has one, so that a Rust caller still inside a critical
/// section of it is waited for.
///
/// # Safety
///
/// `handle` is NULL or came from `Box::into_raw` in the type's `_new` or
/// `from_arc` and was not freed; no call on it starts during or after this call.
pub(crate) unsafe fn free_boxed<T: Handle>(
    handle: *mut T,
    busy: impl FnOnce(&T) -> bool,
) -> dualsync_status {
    if handle.is_null() {
        return DUALSYNC_OK;
    }
    boundary(|| {
        // SAFETY: non-NULL and from `Box::into_raw` (caller's contract).
        let h = unsafe { &*handle };
        // Calls first: a call that has returned is done with the handle
        // (this `Acquire` pairs with its `Release` exit).
        if h.calls().any() || busy(h) {
            return DUALSYNC_BUSY;
        }
        // An uncounted fast path (see `Calls`) whose `Release` operation
        // this thread has observed, by any load, happens before the free.
        fence(Ordering::Acquire);
        // SAFETY: as above; no call is in progress, and none may start now.
        drop(unsafe { Box::from_raw(handle) });
        DUALSYNC_OK
    })
}

/// The body of every export that writes a result through a trailing
/// pointer: borrows `handle`, checks `out`, then (only with both valid)
/// runs `f` and writes its result to `*out`. A NULL pointer is
/// `DUALSYNC_INVALID_ARGUMENT`, and `f` does not run.
///
/// # Safety
///
/// `handle` is NULL or a live handle; `out` is NULL or valid for a write.
pub(crate) unsafe fn write_out<H: Handle, T>(
    handle: *const H,
    out: *mut T,
    f: impl FnOnce(&H) -> T,
) -> dualsync_status {
    // SAFETY: forwarded.
    unsafe { out_with(handle, out, true, f) }
}

/// [`write_out`] for a getter whose `f` is one load of the primitive's
/// state: not counted (see [`Calls`]).
///
/// # Safety
///
/// As [`write_out`].
pub(crate) unsafe fn read_out<H: Handle, T>(
    handle: *const H,
    out: *mut T,
    f: impl FnOnce(&H) -> T,
) -> dualsync_status {
    // SAFETY: forwarded.
    unsafe { out_with(handle, out, false, f) }
}

/// # Safety
///
/// As [`write_out`].
#[inline]
unsafe fn out_with<H: Handle, T>(
    handle: *const H,
    out: *mut T,
    counted: bool,
    f: impl FnOnce(&H) -> T,
) -> dualsync_status {
    boundary(|| {
        let h = uncounted!(handle);
        if out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let _call = counted.then(|| InCall::of(h));
        let v = f(h);
        // SAFETY: checked non-NULL; valid for a write per the contract.
        unsafe { out.write(v) };
        DUALSYNC_OK
    })
}
