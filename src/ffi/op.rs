//! `dualsync_op_t`: a wait started from C without blocking a thread, whose
//! completion C learns of later (a callback and/or a file descriptor that
//! becomes readable), and that C may cancel: the model of a Rust future.
//!
//! An operation owns the Rust operation future (the queue's `Get`, `Put` or
//! `Join`, the semaphore's `SemaphoreAcquire`, the mutex's `Lock`, the
//! event's `EventWait`, the limiter's `LimiterAcquire`), inline in the one
//! allocation of the handle (an `Arc`, which is also the future's `Waker`:
//! nothing else is allocated per wait). Starting polls it once, so the wait
//! takes its FIFO place at once; the waker announces progress;
//! `dualsync_op_poll` polls it again and hands over the result; cancelling
//! or freeing drops it, with the pass-on guarantee of a dropped Rust future
//! (a wake-up or item it was given goes to the next waiter; an item is only
//! taken in the poll that returns it).
//!
//! The handle of the primitive counts a pending operation as a call in
//! progress: its `_free` is refused (`DUALSYNC_BUSY`) until the operation
//! completes (its result polled), is cancelled or is freed. The operation
//! keeps its own reference to the primitive.

use core::ffi::{c_int, c_void};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Wake;

use super::dualsync_status::{self, *};
use super::{
    Calls, Handle, PriorityItem, QueueItem, boundary, dualsync_event_t, dualsync_limiter_t,
    dualsync_mutex_t, dualsync_queue_t, dualsync_semaphore_t, handle, impl_handle,
};
use crate::queue::{Get, Join, Lifo, Priority, Put, Queue};
use crate::semaphore::{BoundedSemaphore, MAX_PERMITS, Semaphore, SemaphoreAcquire};
use crate::{Borrower, CapacityLimiter, Event, EventWait, LimiterAcquire, Lock, Mutex as DsMutex};

/// The callback of an operation: called with the `user_data` given at its
/// start when the operation may have progressed (see `dualsync_op_t`).
pub type dualsync_op_callback_t = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// An opaque operation handle: one wait started from C without blocking
/// (`dualsync_queue_get_start`, `dualsync_queue_put_start`,
/// `dualsync_semaphore_acquire_start`, `dualsync_mutex_lock_start`,
/// `dualsync_event_wait_start`, `dualsync_queue_join_start`,
/// `dualsync_limiter_acquire_start`). Not operations (yet): condition
/// wait, barrier wait.
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
/// 3. `dualsync_op_poll` then gives the result (`DUALSYNC_OK` and the
///    item, the permits...), or `DUALSYNC_WOULD_BLOCK` while it is still
///    pending (wait for the next announcement). It never blocks.
/// 4. `dualsync_op_cancel` withdraws a pending wait, as dropping a Rust
///    future does: whatever was handed to it passes on to the next waiter,
///    nothing is lost, nothing is taken. Free the operation with
///    `dualsync_op_free` (which cancels a pending one).
///
/// Which thread announces: the thread whose call completes the wait (a C
/// thread inside `dualsync_queue_put`, `dualsync_queue_get` (room for a
/// put), `dualsync_semaphore_release`, `dualsync_mutex_unlock` or
/// `dualsync_event_set`; a Rust thread or task doing the same; a thread
/// closing or shutting down; a thread cancelling a wait that passes its
/// hand-off on), possibly before that call returns; or the thread calling
/// `_start`/`dualsync_op_poll` when the wait completes at once. So the
/// callback must be thread-safe, must not block, and must not call any
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
    /// How progress is announced; `None` once cancelled or freed (no
    /// announcement starts after that). Locked while announcing.
    notify: Mutex<Option<Notify>>,
    /// The operation; locked while polling, cancelling and freeing.
    state: Mutex<State>,
    /// Whether `dualsync_op_poll` writes an item (`item_out` required).
    gives_item: bool,
    calls: Calls,
}

impl_handle!(dualsync_op_t => calls);

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

/// The operation's future. Each borrows the primitive for `'static`: the
/// primitive is kept alive by [`Keep`] in the same [`State`], which drops
/// the future first.
enum Fut {
    Done,
    QueueFifo(Get<'static, QueueItem>),
    QueueLifo(Get<'static, QueueItem, Lifo>),
    QueuePrio(Get<'static, PriorityItem, Priority>),
    Acquire(SemaphoreAcquire<'static>),
    PutFifo(Put<'static, QueueItem>),
    PutLifo(Put<'static, QueueItem, Lifo>),
    PutPrio(Put<'static, PriorityItem, Priority>),
    Lock(Lock<'static, ()>),
    EventWait(EventWait<'static>),
    JoinFifo(Join<'static, QueueItem>),
    JoinLifo(Join<'static, QueueItem, Lifo>),
    JoinPrio(Join<'static, PriorityItem, Priority>),
    Limiter(LimiterAcquire<'static>),
}

/// The operation's own reference to its primitive.
pub(crate) enum Keep {
    QueueFifo(Arc<Queue<QueueItem>>),
    QueueLifo(Arc<Queue<QueueItem, Lifo>>),
    QueuePrio(Arc<Queue<PriorityItem, Priority>>),
    Sem(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
    Mutex(Arc<DsMutex<()>>),
    Event(Arc<Event>),
    Limiter(Arc<CapacityLimiter>),
}

/// A pending operation counted as a call in progress on the primitive's
/// handle (so that the handle's `_free` refuses); uncounted on drop.
struct OnHandle(*const Calls);
// SAFETY: `Calls` is an atomic counter, usable from any thread; the handle
// stays alive while it is counted (its `_free` refuses).
unsafe impl Send for OnHandle {}
// SAFETY: as above.
unsafe impl Sync for OnHandle {}

impl OnHandle {
    fn enter<H: Handle>(h: &H) -> OnHandle {
        // As `InCall::enter`: before the operation touches the primitive.
        h.calls()
            .0
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        OnHandle(h.calls())
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

enum Outcome {
    /// Waiting: the future is live.
    Pending,
    /// Completed in a poll that could not hand the result over (the poll
    /// at `_start`): kept for `dualsync_op_poll`.
    Ready(dualsync_status, QueueItem),
    /// The result was handed over.
    Taken,
    /// Cancelled while pending.
    Cancelled,
}

struct State {
    // Field order is drop order: the future (which borrows the primitive)
    // before the handle count, before the primitive's reference.
    fut: Fut,
    on: Option<OnHandle>,
    outcome: Outcome,
    /// Only held: the reference that keeps the primitive alive for `fut`.
    #[allow(dead_code)]
    keep: Keep,
}

impl State {
    /// Drops the future (the cancel of a dropped Rust future: pass-on), then
    /// uncounts the operation on the handle.
    fn finish(&mut self, outcome: Outcome) {
        self.fut = Fut::Done;
        self.on = None;
        self.outcome = outcome;
    }
}

/// Locks, ignoring poisoning: nothing here leaves data half-updated on a
/// panic that matters to the next user (a panicking poll leaves the future
/// as the future left it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `&'static` to the primitive inside `a`.
///
/// # Safety
///
/// The reference is used only while `a` (or a clone) is alive.
unsafe fn forever<T>(a: &Arc<T>) -> &'static T {
    // SAFETY: `Arc`'s pointee does not move and lives while `a` does (the
    // caller's contract).
    unsafe { &*Arc::as_ptr(a) }
}

impl Wake for dualsync_op_t {
    fn wake(self: Arc<Self>) {
        self.announce();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.announce();
    }
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

    /// Polls the future once if it is pending: a result moves to
    /// `outcome` (`Ready`) and the future is dropped.
    fn drive(self: &Arc<Self>, st: &mut State) {
        if !matches!(st.outcome, Outcome::Pending) {
            return;
        }
        // A clone of this `Arc`: no allocation.
        let waker = Waker::from(Arc::clone(self));
        let mut cx = Context::from_waker(&waker);
        // SAFETY (each `new_unchecked`): the future lives inside this
        // operation's `Arc` allocation and is never moved out of it; it is
        // only dropped in place (`State::finish`, or the drop of the `Arc`).
        let r: Poll<(dualsync_status, QueueItem)> = match &mut st.fut {
            Fut::Done => return,
            Fut::QueueFifo(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| r.map_or((DUALSYNC_SHUT_DOWN, NONE), |it| (DUALSYNC_OK, it))),
            Fut::QueueLifo(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| r.map_or((DUALSYNC_SHUT_DOWN, NONE), |it| (DUALSYNC_OK, it))),
            Fut::QueuePrio(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| r.map_or((DUALSYNC_SHUT_DOWN, NONE), |it| (DUALSYNC_OK, it.item()))),
            Fut::Acquire(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| match r {
                    Ok(p) => {
                        // The C caller owns the permits (as after
                        // `dualsync_semaphore_acquire`).
                        p.forget();
                        (DUALSYNC_OK, NONE)
                    }
                    Err(_) => (DUALSYNC_CLOSED, NONE),
                }),
            Fut::PutFifo(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| (r.map_or(DUALSYNC_SHUT_DOWN, |()| DUALSYNC_OK), NONE)),
            Fut::PutLifo(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| (r.map_or(DUALSYNC_SHUT_DOWN, |()| DUALSYNC_OK), NONE)),
            Fut::PutPrio(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| (r.map_or(DUALSYNC_SHUT_DOWN, |()| DUALSYNC_OK), NONE)),
            Fut::Lock(f) => unsafe { Pin::new_unchecked(f) }.poll(&mut cx).map(|g| {
                // The C caller owns the lock until `dualsync_mutex_unlock`
                // (as after `dualsync_mutex_lock`).
                core::mem::forget(g);
                (DUALSYNC_OK, NONE)
            }),
            Fut::EventWait(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|()| (DUALSYNC_OK, NONE)),
            Fut::JoinFifo(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|()| (DUALSYNC_OK, NONE)),
            Fut::JoinLifo(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|()| (DUALSYNC_OK, NONE)),
            Fut::JoinPrio(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|()| (DUALSYNC_OK, NONE)),
            Fut::Limiter(f) => unsafe { Pin::new_unchecked(f) }
                .poll(&mut cx)
                .map(|r| match r {
                    Ok(t) => {
                        // The borrower holds the token until
                        // `dualsync_limiter_release` (as after
                        // `dualsync_limiter_acquire`).
                        core::mem::forget(t);
                        (DUALSYNC_OK, NONE)
                    }
                    Err(_) => (DUALSYNC_ALREADY_BORROWED, NONE),
                }),
        };
        if let Poll::Ready((status, item)) = r {
            st.finish(Outcome::Ready(status, item));
        }
    }

    /// Makes an operation, counted on the handle `h` of its primitive, and
    /// polls it once (the wait takes its place in the queue now).
    fn start<H: Handle>(
        h: &H,
        keep: Keep,
        gives_item: bool,
        notify_fd: c_int,
        callback: dualsync_op_callback_t,
        user_data: *mut c_void,
        make: impl FnOnce(&Keep) -> Fut,
    ) -> Result<*mut dualsync_op_t, dualsync_status> {
        if notify_fd < -1 || (cfg!(not(unix)) && notify_fd != -1) {
            return Err(DUALSYNC_INVALID_ARGUMENT);
        }
        let fut = make(&keep);
        let op = Arc::new(dualsync_op_t {
            notify: Mutex::new(Some(Notify {
                fd: notify_fd,
                callback,
                user_data: UserData(user_data),
            })),
            state: Mutex::new(State {
                fut,
                on: Some(OnHandle::enter(h)),
                outcome: Outcome::Pending,
                keep,
            }),
            gives_item,
            calls: Calls::new(),
        });
        let ready = {
            let mut st = lock(&op.state);
            op.drive(&mut st);
            matches!(st.outcome, Outcome::Ready(..))
        };
        if ready {
            // Completed at once: announced like any completion, so that
            // event loops need no special case.
            op.announce();
        }
        Ok(Arc::into_raw(op).cast_mut())
    }
}

const NONE: QueueItem = QueueItem(core::ptr::null_mut());

/// Borrows the `Arc` behind an operation handle for the length of a call.
///
/// # Safety
///
/// `op` is a live operation handle (from `Arc::into_raw`).
unsafe fn arc_of(op: *const dualsync_op_t) -> ManuallyDrop<Arc<dualsync_op_t>> {
    // SAFETY: from `Arc::into_raw` and live (the caller's contract); not
    // dropped, so the handle's reference stays.
    ManuallyDrop::new(unsafe { Arc::from_raw(op) })
}

/// Writes the operation handle to `*op_out`.
fn finish_start(
    r: Result<*mut dualsync_op_t, dualsync_status>,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    match r {
        Ok(op) => {
            // SAFETY: checked non-NULL by the caller before starting; valid
            // for a write (the export's contract).
            unsafe { op_out.write(op) };
            DUALSYNC_OK
        }
        Err(e) => e,
    }
}

/// Starts a get on `queue` without blocking: the get waits in line with
/// blocked getters and Rust tasks, and completes as `dualsync_queue_get`
/// would (an item, or `DUALSYNC_SHUT_DOWN`). See `dualsync_op_t` for
/// `notify_fd` (`-1`: none), `callback` (`NULL`: none) and `user_data`.
/// On `DUALSYNC_OK`, `*op_out` is the operation; take its item with
/// `dualsync_op_poll(op, &item)`, and free it with `dualsync_op_free`.
/// While it is pending, `dualsync_queue_free(queue)` is refused.
///
/// # Safety
///
/// `queue` is NULL or a live handle; `op_out` is NULL or valid for a write;
/// `callback` (if not NULL) may be called with `user_data` from any thread
/// until the operation is cancelled or freed; `notify_fd` is `-1` or an
/// open descriptor that stays open until then.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_get_start(
    queue: *const dualsync_queue_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    boundary(|| {
        let q = handle!(queue);
        if op_out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let r = dualsync_op_t::start(
            &*q,
            q.op_keep(),
            true,
            notify_fd,
            callback,
            user_data,
            |k| match k {
                // SAFETY (each `forever`): the future is dropped before
                // `keep` (`State`'s field order; `finish`).
                Keep::QueueFifo(q) => Fut::QueueFifo(unsafe { forever(q) }.get()),
                Keep::QueueLifo(q) => Fut::QueueLifo(unsafe { forever(q) }.get()),
                Keep::QueuePrio(q) => Fut::QueuePrio(unsafe { forever(q) }.get()),
                _ => unreachable!("a queue keeps a queue"),
            },
        );
        finish_start(r, op_out)
    })
}

/// Starts acquiring `n` permits of `sem` without blocking: the wait takes
/// its place in the FIFO line with blocked threads and Rust tasks and
/// completes as `dualsync_semaphore_acquire_many` would (the permits, then
/// owned by the caller until `dualsync_semaphore_release`; or
/// `DUALSYNC_CLOSED`). `n` above `DUALSYNC_SEMAPHORE_MAX_PERMITS` is
/// `DUALSYNC_INVALID_ARGUMENT`. See `dualsync_op_t` for `notify_fd`,
/// `callback` and `user_data`. On `DUALSYNC_OK`, `*op_out` is the
/// operation; `dualsync_op_poll(op, NULL)` gives the outcome. While it is
/// pending, `dualsync_semaphore_free(sem)` is refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`, with `sem` for `queue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_semaphore_acquire_start(
    sem: *const dualsync_semaphore_t,
    n: usize,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    boundary(|| {
        let s = handle!(sem);
        if op_out.is_null() || n > MAX_PERMITS {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let r = dualsync_op_t::start(
            &*s,
            s.op_keep(),
            false,
            notify_fd,
            callback,
            user_data,
            |k| match k {
                // SAFETY (each `forever`): as in `dualsync_queue_get_start`.
                Keep::Sem(s) => Fut::Acquire(unsafe { forever(s) }.acquire_many(n)),
                Keep::Bounded(b) => Fut::Acquire(unsafe { forever(b) }.core().acquire_many(n)),
                _ => unreachable!("a semaphore keeps a semaphore"),
            },
        );
        finish_start(r, op_out)
    })
}

/// Starts putting `item` (with `priority` for a priority queue, as in
/// `dualsync_queue_put`) without blocking: the put waits in line while the
/// queue is full and completes as `dualsync_queue_put` would (`DUALSYNC_OK`:
/// enqueued; `DUALSYNC_SHUT_DOWN`: not enqueued, the item is still the
/// caller's). Cancelling it withdraws the item (not enqueued). See
/// `dualsync_op_t` for `notify_fd`, `callback` and `user_data`;
/// `dualsync_op_poll(op, NULL)` gives the outcome. While it is pending,
/// `dualsync_queue_free(queue)` is refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_put_start(
    queue: *const dualsync_queue_t,
    item: *mut c_void,
    priority: u64,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    boundary(|| {
        let q = handle!(queue);
        if op_out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let it = QueueItem(item);
        let r = dualsync_op_t::start(
            &*q,
            q.op_keep(),
            false,
            notify_fd,
            callback,
            user_data,
            |k| match k {
                // SAFETY (each `forever`): as in `dualsync_queue_get_start`.
                Keep::QueueFifo(q) => Fut::PutFifo(unsafe { forever(q) }.put(it)),
                Keep::QueueLifo(q) => Fut::PutLifo(unsafe { forever(q) }.put(it)),
                Keep::QueuePrio(q) => {
                    Fut::PutPrio(unsafe { forever(q) }.put(PriorityItem::new(priority, it)))
                }
                _ => unreachable!("a queue keeps a queue"),
            },
        );
        finish_start(r, op_out)
    })
}

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
    boundary(|| {
        let m = handle!(mutex);
        if op_out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let r = dualsync_op_t::start(
            &*m,
            Keep::Mutex(m.mutex_arc()),
            false,
            notify_fd,
            callback,
            user_data,
            |k| match k {
                // SAFETY: as in `dualsync_queue_get_start`.
                Keep::Mutex(m) => Fut::Lock(unsafe { forever(m) }.lock()),
                _ => unreachable!("a mutex keeps a mutex"),
            },
        );
        finish_start(r, op_out)
    })
}

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
    boundary(|| {
        let e = handle!(event);
        if op_out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let r = dualsync_op_t::start(
            &*e,
            Keep::Event(e.event_arc()),
            false,
            notify_fd,
            callback,
            user_data,
            |k| match k {
                // SAFETY: as in `dualsync_queue_get_start`.
                Keep::Event(e) => Fut::EventWait(unsafe { forever(e) }.wait()),
                _ => unreachable!("an event keeps an event"),
            },
        );
        finish_start(r, op_out)
    })
}

/// Starts waiting until every item put in `queue` has been marked done
/// (`dualsync_queue_join` without blocking): `dualsync_op_poll(op, NULL)`
/// gives `DUALSYNC_OK` then (at once if nothing is unfinished). See
/// `dualsync_op_t`. While it is pending, `dualsync_queue_free(queue)` is
/// refused.
///
/// # Safety
///
/// As `dualsync_queue_get_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_join_start(
    queue: *const dualsync_queue_t,
    notify_fd: c_int,
    callback: dualsync_op_callback_t,
    user_data: *mut c_void,
    op_out: *mut *mut dualsync_op_t,
) -> dualsync_status {
    boundary(|| {
        let q = handle!(queue);
        if op_out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let r = dualsync_op_t::start(
            &*q,
            q.op_keep(),
            false,
            notify_fd,
            callback,
            user_data,
            |k| match k {
                // SAFETY (each `forever`): as in `dualsync_queue_get_start`.
                Keep::QueueFifo(q) => Fut::JoinFifo(unsafe { forever(q) }.join()),
                Keep::QueueLifo(q) => Fut::JoinLifo(unsafe { forever(q) }.join()),
                Keep::QueuePrio(q) => Fut::JoinPrio(unsafe { forever(q) }.join()),
                _ => unreachable!("a queue keeps a queue"),
            },
        );
        finish_start(r, op_out)
    })
}

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
    boundary(|| {
        let l = handle!(limiter);
        if op_out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        let r = dualsync_op_t::start(
            &*l,
            Keep::Limiter(l.limiter_arc()),
            false,
            notify_fd,
            callback,
            user_data,
            |k| match k {
                // SAFETY: as in `dualsync_queue_get_start`.
                Keep::Limiter(l) => Fut::Limiter(
                    unsafe { forever(l) }.acquire_on_behalf_of(Borrower::id(borrower as u64)),
                ),
                _ => unreachable!("a limiter keeps a limiter"),
            },
        );
        finish_start(r, op_out)
    })
}

/// Gives the outcome of an operation without blocking:
///
/// * `DUALSYNC_WOULD_BLOCK`: still pending (wait for its next
///   announcement);
/// * `DUALSYNC_OK`: completed; a queue get writes its item to `*item_out`
///   (which must not be NULL for a queue get; it is not used otherwise), a
///   semaphore acquire's permits and a mutex lock are now the caller's, a
///   put's item is enqueued;
/// * the operation's error (`DUALSYNC_SHUT_DOWN`, `DUALSYNC_CLOSED`,
///   `DUALSYNC_ALREADY_BORROWED`);
/// * `DUALSYNC_CANCELLED` once cancelled, `DUALSYNC_DONE` once the outcome
///   was given (each outcome is given once).
///
/// # Safety
///
/// `op` is NULL or a live operation; `item_out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_op_poll(
    op: *const dualsync_op_t,
    item_out: *mut *mut c_void,
) -> dualsync_status {
    boundary(|| {
        let h = handle!(op);
        if h.gives_item && item_out.is_null() {
            return DUALSYNC_INVALID_ARGUMENT;
        }
        // SAFETY: live (counted by `h`).
        let arc = unsafe { arc_of(op) };
        let mut st = lock(&h.state);
        arc.drive(&mut st);
        match st.outcome {
            Outcome::Pending => DUALSYNC_WOULD_BLOCK,
            Outcome::Taken => DUALSYNC_DONE,
            Outcome::Cancelled => DUALSYNC_CANCELLED,
            Outcome::Ready(status, item) => {
                st.outcome = Outcome::Taken;
                if h.gives_item && status == DUALSYNC_OK {
                    // SAFETY: checked non-NULL; valid for a write (contract).
                    unsafe { item_out.write(item.0) };
                }
                status
            }
        }
    })
}

/// Withdraws a pending operation, as dropping a Rust future does: nothing
/// is taken, and a wake-up (or the item, or the permits) already handed to
/// it passes on to the next waiter. Returns `DUALSYNC_OK` when it
/// withdrew the wait; `DUALSYNC_DONE` when the operation had already
/// completed (its outcome is for `dualsync_op_poll`, or was given);
/// `DUALSYNC_CANCELLED` when already cancelled. After it returns, the
/// operation announces nothing more (a callback running is waited for: do
/// not call this from the operation's own callback).
///
/// # Safety
///
/// `op` is NULL or a live operation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_op_cancel(op: *const dualsync_op_t) -> dualsync_status {
    boundary(|| {
        let h = handle!(op);
        cancel(&h)
    })
}

fn cancel(h: &dualsync_op_t) -> dualsync_status {
    // Announcements first (not under the state lock: a poll holds it while
    // its future may wake this operation, which takes the notify lock).
    *lock(&h.notify) = None;
    let mut st = lock(&h.state);
    match st.outcome {
        Outcome::Pending => {
            st.finish(Outcome::Cancelled);
            DUALSYNC_OK
        }
        Outcome::Ready(..) | Outcome::Taken => DUALSYNC_DONE,
        Outcome::Cancelled => DUALSYNC_CANCELLED,
    }
}

/// Frees an operation, cancelling it if pending (as
/// `dualsync_op_cancel`). `NULL` does nothing (`DUALSYNC_OK`). Refused
/// with `DUALSYNC_BUSY`, nothing changed, while another call on the
/// operation is in progress, and while a completed outcome has not been
/// taken with `dualsync_op_poll` (an item or permits would be lost: poll
/// first).
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
        if h.calls.any() || matches!(lock(&h.state).outcome, Outcome::Ready(..)) {
            return DUALSYNC_BUSY;
        }
        cancel(h);
        // SAFETY: from `Arc::into_raw` in `start`, not freed (contract); the
        // handle's reference goes; wakers still held by the primitive keep
        // the memory until they drop, and announce nothing.
        drop(unsafe { Arc::from_raw(op.cast_const()) });
        DUALSYNC_OK
    })
}
