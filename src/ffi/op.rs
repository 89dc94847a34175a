//! `dualsync_op_t`: a wait started from C without blocking a thread, whose
//! completion C learns of later (a callback and/or a file descriptor that
//! becomes readable), and that C may cancel: the model of a Rust future.
//!
//! One generic operation serves every primitive. An operation is an
//! `Op<F, K>` in one `Arc` allocation: the C header ([`dualsync_op_t`]:
//! how it announces progress, its call count, a table of its typed
//! functions), the Rust operation future `F` (the queue's `Get`, the
//! semaphore's `SemaphoreAcquire`, ...) inline, and `K`, the `Arc`s that
//! keep the primitive(s) the future borrows alive. The `Arc` is also the
//! future's `Waker`: nothing else is allocated per wait.
//!
//! Adding an operation takes an `impl Operation for TheFuture<'static> {}`
//! (plus an [`IntoC`] impl if its output type is new: the status and the
//! result `dualsync_op_poll` hands over) and a `_start` export whose body
//! is `start_op(handle, .., |h, start| start.run(keep, make_the_future))`;
//! see the starts in each primitive's file.
//!
//! Starting polls the future once, so the wait takes its FIFO place at
//! once; the waker announces progress; `dualsync_op_poll` polls it again
//! and hands over the result; cancelling or freeing drops it, with the
//! pass-on guarantee of a dropped Rust future (a wake-up or item it was
//! given goes to the next waiter; an item is only taken in the poll that
//! returns it), unless the future can say that it had completed
//! ([`Operation::withdraw`]: a barrier arrival counted, a put done): then
//! the outcome is kept for `dualsync_op_poll`.
//!
//! The handles of the primitive(s) count a pending operation as a call in
//! progress: their `_free` is refused (`DUALSYNC_BUSY`) until a poll (the
//! one at `_start` included) finds the operation complete, or it is
//! cancelled or freed. (It keeps its own references to the primitives.)

use core::ffi::{c_int, c_void};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Wake;

use super::dualsync_status::{self, *};
use super::{Calls, Handle, QueueItem, boundary, handle, impl_handle};

/// The callback of an operation: called with the `user_data` given at its
/// start when the operation may have progressed (see `dualsync_op_t`).
pub type dualsync_op_callback_t = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// An opaque operation handle: one wait started from C without blocking.
/// Every waiting operation can be started this way:
///
/// | start | completes like | `dualsync_op_poll` result on `DUALSYNC_OK` |
/// |---|---|---|
/// | `dualsync_queue_get_start` | `dualsync_queue_get` | the item, in `*(void **)result_out` |
/// | `dualsync_queue_put_start` | `dualsync_queue_put` | none (the item is in the queue) |
/// | `dualsync_queue_join_start` | `dualsync_queue_join` | none |
/// | `dualsync_semaphore_acquire_start` | `dualsync_semaphore_acquire_many` | none (the permits are the caller's) |
/// | `dualsync_mutex_lock_start` | `dualsync_mutex_lock` | none (the lock is the caller's) |
/// | `dualsync_rwlock_read_start`, `_write_start` | `dualsync_rwlock_read`, `_write` | none (the lock is the caller's) |
/// | `dualsync_condition_wait_start` | `dualsync_condition_wait` | none (notified; the mutex is the caller's again) |
/// | `dualsync_event_wait_start` | `dualsync_event_wait` | none |
/// | `dualsync_barrier_wait_start` | `dualsync_barrier_wait` | the index, in `*(size_t *)result_out` |
/// | `dualsync_limiter_acquire_start` | `dualsync_limiter_acquire` | none (the borrower holds a token) |
///
/// Life of an operation:
///
/// 1. `_start` queues the wait (in FIFO order with blocked threads and Rust
///    tasks) and returns at once with the operation in `*op_out`.
/// 2. When it may have progressed, the operation announces it: it writes
///    the 8-byte value 1 to `notify_fd` (an `eventfd`, or a pipe's write
///    end; `-1` for none) and/or calls `callback(user_data)` (`NULL` for
///    none). An announcement may be spurious, and one `eventfd` may serve
///    many operations.
/// 3. `dualsync_op_poll` then gives the outcome (`DUALSYNC_OK` and the
///    result, or the operation's error), or `DUALSYNC_WOULD_BLOCK` while it
///    is still pending (wait for the next announcement). It never blocks.
/// 4. `dualsync_op_cancel` withdraws a pending wait, as dropping a Rust
///    future does: whatever was handed to it passes on to the next waiter,
///    nothing is lost, nothing is taken. Free the operation with
///    `dualsync_op_free` (which cancels a pending one).
///
/// **Timeouts.** An operation has no deadline and dualsync runs no timer
/// thread: an event loop times a wait out with its own timer (the
/// `poll`/`epoll_wait` timeout, a `timerfd`, the loop library's timer) and
/// `dualsync_op_cancel` when it fires. `DUALSYNC_OK` from the cancel: the
/// wait timed out and took nothing (an item, permit, lock or notification
/// handed to it meanwhile went to the next waiter: nothing is lost; a
/// condition wait does not hold the mutex, see
/// `dualsync_condition_wait_start`). `DUALSYNC_DONE`: it completed first;
/// `dualsync_op_poll` gives its outcome as usual. So a timeout never loses
/// a result and never delivers one twice, which is what `_timeout` calls
/// promise to blocked threads.
///
/// Which thread announces: the thread whose call completes the wait (a C
/// thread inside `dualsync_queue_put`, `dualsync_queue_get` (room for a
/// put), `dualsync_semaphore_release`, `dualsync_mutex_unlock`,
/// `dualsync_event_set`, `dualsync_condition_notify`,
/// `dualsync_barrier_wait`...; a Rust thread or task doing the same; a
/// thread closing or shutting down; a thread cancelling a wait that passes
/// its hand-off on), possibly before that call returns; or the thread
/// calling `_start`/`dualsync_op_poll` when the wait completes at once. So
/// the callback must be thread-safe, must not block, and must not call any
/// dualsync function (it may be running inside one): record the event and
/// return (write to a pipe or eventfd, set an atomic flag, post to the
/// event loop). Announcements of one operation do not overlap, and none
/// starts after `dualsync_op_cancel` or `dualsync_op_free` returns (each
/// waits for one in progress to end). `notify_fd` must stay open until
/// then.
///
/// Calls on one operation are thread-safe, but `dualsync_op_free` is
/// refused (`DUALSYNC_BUSY`) while another call on it is in progress.
pub struct dualsync_op_t {
    /// The typed functions of the `Op<F, K>` this header starts.
    vtable: &'static VTable,
    /// How progress is announced; `None` once cancelled or freed (no
    /// announcement starts after that). Locked while announcing.
    notify: Mutex<Option<Notify>>,
    calls: Calls,
}

impl_handle!(dualsync_op_t => calls);

/// A Rust operation future that C can run as a `dualsync_op_t`: its
/// output says what C gets ([`IntoC`]); [`withdraw`](Self::withdraw) how a
/// cancel learns what became of it. Most futures need only
/// `impl Operation for TheFuture<'static> {}`.
pub(crate) trait Operation: Future<Output: IntoC> + Send + 'static {
    /// Cancels the pending operation in place. `None`: withdrawn (the
    /// future's drop, which follows, passes on whatever was handed to it, as
    /// a dropped Rust future does). `Some(output)`: it had completed before
    /// the cancel; the output is kept for `dualsync_op_poll` and the cancel
    /// says `DUALSYNC_DONE`. By default the drop decides (`None`).
    fn withdraw(self: Pin<&mut Self>) -> Option<Self::Output> {
        None
    }
}

/// An operation's output in C terms: its status, and the result that
/// `dualsync_op_poll` writes when the status is `DUALSYNC_OK`.
pub(crate) trait IntoC {
    type Result: CResult;
    fn into_c(self) -> (dualsync_status, Self::Result);
}

/// What `dualsync_op_poll` writes to its `result_out` on `DUALSYNC_OK`.
pub(crate) trait CResult: Copy + Send + 'static {
    /// Whether there is a result (then `result_out` may not be NULL).
    const WRITTEN: bool;
    /// # Safety
    ///
    /// `out` is valid for a write of this result's C type.
    unsafe fn write(self, out: *mut c_void);
}

/// No result: `result_out` is not used.
impl CResult for () {
    const WRITTEN: bool = false;
    unsafe fn write(self, _: *mut c_void) {}
}

/// A queue item: `void *`.
impl CResult for QueueItem {
    const WRITTEN: bool = true;
    unsafe fn write(self, out: *mut c_void) {
        // SAFETY: the caller's contract (a `void **` for a queue get).
        unsafe { out.cast::<*mut c_void>().write(self.0) }
    }
}

/// An index: `size_t`.
impl CResult for usize {
    const WRITTEN: bool = true;
    unsafe fn write(self, out: *mut c_void) {
        // SAFETY: the caller's contract (a `size_t *` for a barrier wait).
        unsafe { out.cast::<usize>().write(self) }
    }
}

/// Operations that end with nothing to hand over (a join, an event, a lock
/// acquired without a guard: the C caller holds it).
impl IntoC for () {
    type Result = ();
    fn into_c(self) -> (dualsync_status, ()) {
        (DUALSYNC_OK, ())
    }
}

struct Notify {
    fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: UserData,
}

/// The C caller's `user_data`, passed back to its callback only.
struct UserData(*mut c_void);
// SAFETY: never dereferenced here, only passed to the C callback, which the
// caller promised may run on any thread (documented on `dualsync_op_t`).
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

/// A pending operation counted as a call in progress on a handle of its
/// primitive (so that the handle's `_free` refuses); uncounted on drop.
struct OnHandle(*const Calls);
// SAFETY: `Calls` is an atomic counter, usable from any thread; the handle
// stays alive while it is counted (its `_free` refuses).
unsafe impl Send for OnHandle {}
// SAFETY: as above.
unsafe impl Sync for OnHandle {}

impl OnHandle {
    fn enter(c: &Calls) -> OnHandle {
        // As `InCall::enter`: before the operation touches the primitive.
        c.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        OnHandle(c)
    }
}

impl Drop for OnHandle {
    fn drop(&mut self) {
        // SAFETY: the handle is alive while this is counted (its `_free`
        // refuses); this `Release` is the operation's last access to it.
        unsafe { &*self.0 }
            .0
            .fetch_sub(1, core::sync::atomic::Ordering::Release);
    }
}

/// The most handles one operation counts on (a condition wait: the
/// condition's and the mutex's).
const MAX_HANDLES: usize = 2;

#[derive(Clone, Copy)]
enum Outcome<R> {
    /// Waiting: the future is live.
    Pending,
    /// Completed, not handed over yet (the poll at `_start`, or a cancel
    /// that found it complete): kept for `dualsync_op_poll`.
    Ready(dualsync_status, R),
    /// The outcome was handed over.
    Taken,
    /// Cancelled while pending.
    Cancelled,
}

/// What `dualsync_op_poll` hands over for `F`.
type ResultOf<F> = <<F as Future>::Output as IntoC>::Result;

struct State<F: Operation> {
    // Field order is drop order: the future (which borrows the primitive)
    // before the handle counts; `Op::keep` comes after the whole state.
    fut: Option<F>,
    on: [Option<OnHandle>; MAX_HANDLES],
    outcome: Outcome<ResultOf<F>>,
}

impl<F: Operation> State<F> {
    /// Drops the future (the cancel of a dropped Rust future: pass-on), then
    /// uncounts the operation on the handles.
    fn finish(&mut self, outcome: Outcome<ResultOf<F>>) {
        self.fut = None;
        self.on = Default::default();
        self.outcome = outcome;
    }

    fn cancel(&mut self) -> dualsync_status {
        match self.outcome {
            Outcome::Pending => {
                // SAFETY: the future lives in the operation's `Arc`
                // allocation and is never moved out of it (dropped in
                // place by `finish`).
                let fut = self.fut.as_mut().map(|f| unsafe { Pin::new_unchecked(f) });
                match fut.and_then(F::withdraw) {
                    Some(out) => {
                        let (status, r) = out.into_c();
                        self.finish(Outcome::Ready(status, r));
                        DUALSYNC_DONE
                    }
                    None => {
                        self.finish(Outcome::Cancelled);
                        DUALSYNC_OK
                    }
                }
            }
            Outcome::Ready(..) | Outcome::Taken => DUALSYNC_DONE,
            Outcome::Cancelled => DUALSYNC_CANCELLED,
        }
    }
}

/// The typed functions behind a `dualsync_op_t`.
struct VTable {
    poll: unsafe fn(*const dualsync_op_t, *mut c_void) -> dualsync_status,
    cancel: unsafe fn(*const dualsync_op_t) -> dualsync_status,
    free: unsafe fn(*mut dualsync_op_t) -> dualsync_status,
}

/// One operation: the C header first (a `*const Op` is a `*const
/// dualsync_op_t`), the state with the future, then what the future
/// borrows.
#[repr(C)]
struct Op<F: Operation, K> {
    head: dualsync_op_t,
    state: Mutex<State<F>>,
    /// Only held: the references that keep the primitive(s) alive for the
    /// future (dropped after it: field order).
    keep: K,
}

/// Locks, ignoring poisoning: nothing here leaves data half-updated on a
/// panic that matters to the next user (a panicking poll leaves the future
/// as the future left it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl dualsync_op_t {
    /// Announces possible progress (under the `notify` lock, so that
    /// cancel/free wait for it and none starts after them).
    fn announce(&self) {
        let n = lock(&self.notify);
        let Some(n) = &*n else { return };
        #[cfg(unix)]
        if n.fd >= 0 {
            use std::io::Write;
            use std::os::fd::FromRawFd;
            // SAFETY: the caller keeps `fd` open until the operation is
            // cancelled or freed (documented), which has not happened (the
            // notify is still set); `ManuallyDrop` keeps it open here.
            let mut f = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(n.fd) });
            // An eventfd whose counter is full, or a full pipe, already
            // announces: the error is not worth reporting to anyone.
            let _ = f.write(&1u64.to_ne_bytes());
        }
        if let Some(cb) = n.callback {
            // SAFETY: the C caller's callback and data, called as promised
            // (any thread, never after cancel/free returned).
            unsafe { cb(n.user_data.0) };
        }
    }

    /// No announcement starts after this returns (one in progress is
    /// waited for).
    fn silence(&self) {
        *lock(&self.notify) = None;
    }
}

impl<F: Operation, K: Send + Sync + 'static> Wake for Op<F, K> {
    fn wake(self: Arc<Self>) {
        self.head.announce();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.head.announce();
    }
}

impl<F: Operation, K: Send + Sync + 'static> Op<F, K> {
    const VTABLE: &'static VTable = &VTable {
        poll: Self::poll,
        cancel: Self::cancel,
        free: Self::free,
    };

    /// Borrows the `Arc` behind an operation handle for the length of a
    /// call.
    ///
    /// # Safety
    ///
    /// `p` is a live operation handle made by [`Start::run`] for this
    /// `Op<F, K>` (its vtable is `Self::VTABLE`).
    unsafe fn arc(p: *const dualsync_op_t) -> ManuallyDrop<Arc<Self>> {
        // SAFETY: from `Arc::into_raw` of an `Arc<Self>` (the caller's
        // contract; `Op` is `repr(C)` with the header first), live; not
        // dropped, so the handle's reference stays.
        ManuallyDrop::new(unsafe { Arc::from_raw(p.cast::<Self>()) })
    }

    /// Polls the future once if it is pending: a result moves to
    /// `outcome` (`Ready`) and the future is dropped.
    fn drive(self: &Arc<Self>, st: &mut State<F>) {
        if !matches!(st.outcome, Outcome::Pending) {
            return;
        }
        let Some(fut) = st.fut.as_mut() else { return };
        // A clone of this `Arc`: no allocation.
        let waker = Waker::from(Arc::clone(self));
        // SAFETY: the future lives inside this operation's `Arc` allocation
        // and is never moved out of it; it is only dropped in place
        // (`State::finish`, or the drop of the `Arc`).
        let fut = unsafe { Pin::new_unchecked(fut) };
        if let Poll::Ready(out) = fut.poll(&mut Context::from_waker(&waker)) {
            let (status, r) = out.into_c();
            st.finish(Outcome::Ready(status, r));
        }
    }

    /// `dualsync_op_poll`.
    ///
    /// # Safety
    ///
    /// As [`arc`](Self::arc); `out` is NULL or valid for a write of the
    /// result.
    unsafe fn poll(p: *const dualsync_op_t, out: *mut c_void) -> dualsync_status {
        if ResultOf::<F>::WRITTEN && out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        // SAFETY: the caller's contract.
        let op = unsafe { Self::arc(p) };
        let mut st = lock(&op.state);
        op.drive(&mut st);
        match st.outcome {
            Outcome::Pending => DUALSYNC_WOULD_BLOCK,
            Outcome::Taken => DUALSYNC_DONE,
            Outcome::Cancelled => DUALSYNC_CANCELLED,
            Outcome::Ready(status, r) => {
                st.outcome = Outcome::Taken;
                if status == DUALSYNC_OK {
                    // SAFETY: checked non-NULL where written; valid for a
                    // write (the caller's contract).
                    unsafe { r.write(out) };
                }
                status
            }
        }
    }

    /// `dualsync_op_cancel`.
    ///
    /// # Safety
    ///
    /// As [`arc`](Self::arc).
    unsafe fn cancel(p: *const dualsync_op_t) -> dualsync_status {
        // SAFETY: the caller's contract.
        let op = unsafe { &*p.cast::<Self>() };
        // Announcements first (not under the state lock: a poll holds it
        // while its future may wake this operation, which takes the notify
        // lock).
        op.head.silence();
        lock(&op.state).cancel()
    }

    /// `dualsync_op_free`, once no other call is in progress.
    ///
    /// # Safety
    ///
    /// As [`arc`](Self::arc); no call on `p` starts during or after this
    /// one.
    unsafe fn free(p: *mut dualsync_op_t) -> dualsync_status {
        {
            // SAFETY: the caller's contract.
            let op = unsafe { &*p.cast::<Self>() };
            let mut st = lock(&op.state);
            // (The same lock order as a poll: the state, then the notify.)
            op.head.silence();
            st.cancel();
            if matches!(st.outcome, Outcome::Ready(..)) {
                // Its outcome (an item, permits, a lock) is the caller's
                // and would be lost: poll it first.
                return DUALSYNC_BUSY;
            }
        }
        // SAFETY: from `Arc::into_raw` in `Start::run`, not freed (the
        // caller's contract); the handle's reference goes. Wakers still
        // held by the primitive keep the memory until they drop, and
        // announce nothing.
        drop(unsafe { Arc::from_raw(p.cast_const().cast::<Self>()) });
        DUALSYNC_OK
    }
}

/// The body of every `_start` export: borrows `handle` (NULL:
/// `DUALSYNC_INVALID_ARGUMENT`) for the length of the call, and hands it to
/// `run` with the [`Start`] of the export's last four arguments, counting
/// the operation on that handle; `run` makes the operation with
/// [`Start::run`]. Inside `boundary`.
///
/// # Safety
///
/// `handle` is NULL or a live handle; `op_out` is NULL or valid for a
/// write; `callback` (if not NULL) may be called with `user_data` from any
/// thread until the operation is cancelled or freed; `notify_fd` is `-1` or
/// an open descriptor that stays open until then.
pub(crate) unsafe fn start_op<H: Handle>(
    handle: *const H,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
    run: impl FnOnce(&H, Start<'_>) -> dualsync_status,
) -> dualsync_status {
    boundary(|| {
        let h = handle!(handle);
        let start = Start {
            notify: Notify {
                fd: notify_fd,
                callback,
                user_data: UserData(user_data),
            },
            op_out,
            on: [Some(h.calls()), None],
        };
        run(&h, start)
    })
}

/// The arguments every `_start` call ends with (how the operation
/// announces progress, and where it goes), and the handles it will count
/// on. Made by [`start_op`], under its contract.
pub(crate) struct Start<'a> {
    notify: Notify,
    op_out: *mut *mut dualsync_op_t,
    on: [Option<&'a Calls>; MAX_HANDLES],
}

impl<'a> Start<'a> {
    /// Counts the operation on one more handle too (a condition wait: its
    /// mutex's).
    pub(crate) fn counting(mut self, calls: &'a Calls) -> Start<'a> {
        let free = self.on.iter_mut().find(|c| c.is_none());
        *free.expect("at most MAX_HANDLES handles") = Some(calls);
        self
    }

    /// `op_out` is not NULL and `notify_fd` is `-1` or a descriptor (only
    /// `-1` where there are no file descriptors).
    pub(crate) fn is_valid(&self) -> bool {
        let fd = self.notify.fd;
        !self.op_out.is_null() && fd >= -1 && (cfg!(unix) || fd == -1)
    }

    /// Makes an operation and writes it to `*op_out`: `keep` (the
    /// primitive's `Arc`s) goes into the operation's allocation, and `make`
    /// makes the future over it. The operation counts as a call in progress
    /// on the handles until it completes, is cancelled or freed. It is
    /// polled once (the wait takes its place in the queue now), and
    /// announced at once when that completed it.
    /// `DUALSYNC_INVALID_ARGUMENT` (nothing made) unless
    /// [`is_valid`](Self::is_valid).
    pub(crate) fn run<K: Send + Sync + 'static, F: Operation>(
        self,
        keep: K,
        make: impl FnOnce(&'static K) -> F,
    ) -> dualsync_status {
        if !self.is_valid() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let op = Arc::new(Op {
            head: dualsync_op_t {
                vtable: Op::<F, K>::VTABLE,
                notify: Mutex::new(Some(self.notify)),
                calls: Calls::new(),
            },
            state: Mutex::new(State {
                fut: None,
                on: Default::default(),
                outcome: Outcome::Pending,
            }),
            keep,
        });
        // SAFETY: `keep` lives in the operation's `Arc` allocation, which
        // does not move, and outlives the future: `State` (the future) is
        // dropped before `keep` (field order), and `finish` drops the
        // future earlier still.
        let fut = make(unsafe { &(*Arc::as_ptr(&op)).keep });
        let ready = {
            let mut st = lock(&op.state);
            st.fut = Some(fut);
            // Counted while the `_start` call still is (no gap).
            st.on = self.on.map(|c| c.map(OnHandle::enter));
            op.drive(&mut st);
            matches!(st.outcome, Outcome::Ready(..))
        };
        if ready {
            // Completed at once: announced like any completion, so that
            // event loops need no special case.
            op.head.announce();
        }
        // SAFETY: checked non-NULL; valid for a write (`start_op`'s
        // contract).
        unsafe {
            self.op_out
                .write(Arc::into_raw(op).cast::<dualsync_op_t>().cast_mut())
        };
        DUALSYNC_OK
    }
}

/// Gives the outcome of an operation without blocking:
///
/// * `DUALSYNC_WOULD_BLOCK`: still pending (wait for its next
///   announcement);
/// * `DUALSYNC_OK`: completed; the result, if the operation has one, is
///   written to `result_out`: a queue get's item to `*(void **)result_out`,
///   a barrier wait's index to `*(size_t *)result_out` (for these two
///   `result_out` must not be NULL; other operations do not use it and it
///   may be NULL). A semaphore acquire's permits, a mutex or rwlock lock, a
///   limiter token and a condition wait's mutex are now the caller's; a
///   put's item is in the queue;
/// * the operation's error (`DUALSYNC_SHUT_DOWN`, `DUALSYNC_CLOSED`,
///   `DUALSYNC_BROKEN`, `DUALSYNC_ALREADY_BORROWED`);
/// * `DUALSYNC_CANCELLED` once cancelled, `DUALSYNC_DONE` once the outcome
///   was given (each outcome is given once).
///
/// # Safety
///
/// `op` is NULL or a live operation; `result_out` is NULL or valid for a
/// write of the operation's result type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_op_poll(
    op: *const dualsync_op_t,
    result_out: *mut c_void,
) -> dualsync_status {
    boundary(|| {
        let h = handle!(op);
        // SAFETY: live (counted by `h`) and made by `Start::run` with this
        // vtable; `result_out` per the contract.
        unsafe { (h.vtable.poll)(op, result_out) }
    })
}

/// Withdraws a pending operation, as dropping a Rust future does: nothing
/// is taken, and a wake-up (or the item, the permits, the lock, the
/// notification) already handed to it passes on to the next waiter.
/// Returns `DUALSYNC_OK` when it withdrew the wait; `DUALSYNC_DONE` when
/// the operation had already completed (its outcome is for
/// `dualsync_op_poll`, or was given): a barrier wait whose round completed
/// (its arrival counted: poll gives its index) and a put whose item went
/// into the queue say so too, instead of losing that; `DUALSYNC_CANCELLED`
/// when already cancelled. After it returns, the operation announces
/// nothing more (a callback running is waited for: do not call this from
/// the operation's own callback).
///
/// This is how an event loop times a wait out (see `dualsync_op_t`).
///
/// # Safety
///
/// `op` is NULL or a live operation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_op_cancel(op: *const dualsync_op_t) -> dualsync_status {
    boundary(|| {
        let h = handle!(op);
        // SAFETY: live (counted by `h`) and made by `Start::run` with this
        // vtable.
        unsafe { (h.vtable.cancel)(op) }
    })
}

/// Frees an operation, cancelling it if pending (as
/// `dualsync_op_cancel`). `NULL` does nothing (`DUALSYNC_OK`). Refused
/// with `DUALSYNC_BUSY`, the operation kept, while another call on the
/// operation is in progress, and while a completed outcome has not been
/// taken with `dualsync_op_poll` (an item, permits or a lock would be
/// lost: poll first). That includes an outcome this call's cancel finds
/// (a barrier round that completed, a put that happened, as
/// `dualsync_op_cancel` reports them): then it is no longer pending, and
/// announces nothing more.
///
/// # Safety
///
/// `op` is NULL or came from a `_start` call and was not freed; no call on
/// it starts during or after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_op_free(op: *mut dualsync_op_t) -> dualsync_status {
    if op.is_null() {
        return DUALSYNC_OK;
    }
    boundary(|| {
        // SAFETY: live (the caller's contract).
        let h = unsafe { &*op };
        if h.calls.any() {
            return DUALSYNC_BUSY;
        }
        // SAFETY: made by `Start::run` with this vtable; no other call in
        // progress, none may start (the contract).
        unsafe { (h.vtable.free)(op) }
    })
}
