//! `dualsync_queue_t`: a [`Queue`](crate::Queue) of `void *` items, FIFO,
//! LIFO or priority (a `uint64_t` per item, smallest first, equal priorities
//! in put order), bounded or unbounded, with `task_done` / `join` and
//! `shutdown`.
//!
//! Items are opaque pointers, NULL included: the queue never dereferences
//! or frees them. Items still in a queue when it is freed (or discarded by
//! `shutdown(immediate)`) remain the C caller's to own and free.
//!
//! Statuses: `FULL` (`try_put`, or `put_timeout` with 0), `EMPTY`
//! (`try_get`, or `get_timeout` with 0), `TIMED_OUT`, `SHUT_DOWN`,
//! `WOULD_BLOCK` (`try_join`, or `join_timeout` with 0, while items are
//! unfinished),
//! `OVER_RELEASE` (`task_done` called more times than items were put),
//! `INVALID_ARGUMENT` (NULL handle or out pointer, unknown order),
//! `BUSY` (`free` while threads wait on the queue).

use core::ffi::{c_int, c_void};
use core::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use super::dualsync_status::{self, *};
use super::{
    Calls, IntoC, Operation, PriorityItem, QueueItem, Start, Wait, boundary, boundary_or,
    dualsync_op_callback_t, dualsync_op_t, free_boxed, handle, impl_handle, last_ref, start_op,
    write_out,
};
use crate::queue::{Get, Join, Order, Put};
use crate::{
    GetError, GetTimeoutError, Lifo, Priority, PutError, PutTimeoutError, Queue, TryGetError,
    TryPutError,
};

/// `capacity` argument of `dualsync_queue_new`: no limit (Rust's `None`;
/// there is no zero-capacity queue). Also the `capacity` that
/// `dualsync_queue_statistics` reports for such a queue.
pub const DUALSYNC_QUEUE_UNBOUNDED: usize = 0;

/// `order` argument of `dualsync_queue_new`: first in, first out.
pub const DUALSYNC_QUEUE_FIFO: u32 = 0;
/// `order` argument of `dualsync_queue_new`: last in, first out.
pub const DUALSYNC_QUEUE_LIFO: u32 = 1;
/// `order` argument of `dualsync_queue_new`: smallest priority first.
pub const DUALSYNC_QUEUE_PRIORITY: u32 = 2;

// One heap allocation per handle (plus the shared queue's own).
enum Inner {
    Fifo(Arc<Queue<QueueItem>>),
    Lifo(Arc<Queue<QueueItem, Lifo>>),
    Prio(Arc<Queue<PriorityItem, Priority>>),
}

/// An opaque queue handle. Its items are `void *` values, NULL included: the
/// queue stores the pointer as given, never dereferences or frees it, and a
/// get returns it unchanged (so a NULL item is not an error, and `*out ==
/// NULL` after a successful get is an item).
///
/// Rust code sees the queue behind a handle as a `dualsync::Queue` of
/// `QueueItem` (FIFO or LIFO) or of `PriorityItem` (priority), through the
/// handle's `queue()`, `fifo()`, `lifo()` or `priority()`, and may `.await`
/// its operations in tasks while C threads block in `dualsync_queue_get`; a
/// queue made in Rust becomes a C handle with `dualsync_queue_t::from_fifo`
/// (`from_lifo`, `from_priority`).
pub struct dualsync_queue_t(Inner, Calls);

impl_handle!(dualsync_queue_t => 1);

/// The Rust view of the queue behind a `dualsync_queue_t`: one variant per
/// order, each the shared [`Queue`] (clone the `Arc` to keep it beyond the
/// handle).
#[derive(Debug, Clone, Copy)]
pub enum QueueRef<'a> {
    /// A `DUALSYNC_QUEUE_FIFO` queue.
    Fifo(&'a Arc<Queue<QueueItem>>),
    /// A `DUALSYNC_QUEUE_LIFO` queue.
    Lifo(&'a Arc<Queue<QueueItem, Lifo>>),
    /// A `DUALSYNC_QUEUE_PRIORITY` queue.
    Priority(&'a Arc<Queue<PriorityItem, Priority>>),
}

impl dualsync_queue_t {
    fn boxed(inner: Inner) -> *mut dualsync_queue_t {
        Box::into_raw(Box::new(dualsync_queue_t(inner, Calls::new())))
    }

    /// A new C handle on a FIFO queue made in Rust. The handle holds one
    /// reference: `dualsync_queue_free` drops that one only (the queue
    /// lives on while Rust holds it), and the queue lives on after Rust
    /// drops its `Arc`s until the handle is freed. Its capacity and order
    /// are the Rust queue's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dualsync::Queue;
    /// use dualsync::ffi::*;
    ///
    /// let q = Arc::new(Queue::<QueueItem>::unbounded());
    /// let h = dualsync_queue_t::from_fifo(q.clone());
    /// let mut x = 7u32;
    /// // SAFETY: `h` is a live handle; the item is never dereferenced.
    /// let st = unsafe { dualsync_queue_put(h, (&raw mut x).cast(), 0) };
    /// assert_eq!(st, dualsync_status::DUALSYNC_OK);
    /// assert_eq!(q.try_get().unwrap().as_ptr(), (&raw mut x).cast());
    /// drop(q); // the handle keeps the queue alive
    /// // SAFETY: live, and no call on it is in progress.
    /// assert_eq!(unsafe { dualsync_queue_free(h) }, dualsync_status::DUALSYNC_OK);
    /// ```
    pub fn from_fifo(queue: Arc<Queue<QueueItem>>) -> *mut dualsync_queue_t {
        Self::boxed(Inner::Fifo(queue))
    }

    /// A new C handle on a LIFO queue made in Rust (as
    /// [`from_fifo`](Self::from_fifo)).
    pub fn from_lifo(queue: Arc<Queue<QueueItem, Lifo>>) -> *mut dualsync_queue_t {
        Self::boxed(Inner::Lifo(queue))
    }

    /// A new C handle on a priority queue made in Rust (as
    /// [`from_fifo`](Self::from_fifo)). C puts give each item its
    /// priority; Rust puts make a [`PriorityItem`].
    pub fn from_priority(queue: Arc<Queue<PriorityItem, Priority>>) -> *mut dualsync_queue_t {
        Self::boxed(Inner::Prio(queue))
    }

    /// The Rust queue behind this handle.
    ///
    /// A borrow ends before the handle is freed; clone the `Arc` inside to
    /// keep the queue longer.
    pub fn queue(&self) -> QueueRef<'_> {
        match &self.0 {
            Inner::Fifo(q) => QueueRef::Fifo(q),
            Inner::Lifo(q) => QueueRef::Lifo(q),
            Inner::Prio(q) => QueueRef::Priority(q),
        }
    }

    /// The queue, if this is a FIFO queue.
    pub fn fifo(&self) -> Option<&Arc<Queue<QueueItem>>> {
        match &self.0 {
            Inner::Fifo(q) => Some(q),
            _ => None,
        }
    }

    /// The queue, if this is a LIFO queue.
    pub fn lifo(&self) -> Option<&Arc<Queue<QueueItem, Lifo>>> {
        match &self.0 {
            Inner::Lifo(q) => Some(q),
            _ => None,
        }
    }

    /// The queue, if this is a priority queue.
    pub fn priority(&self) -> Option<&Arc<Queue<PriorityItem, Priority>>> {
        match &self.0 {
            Inner::Prio(q) => Some(q),
            _ => None,
        }
    }

    /// Whether this handle holds the last reference to its queue.
    fn last_ref(&self) -> bool {
        match &self.0 {
            Inner::Fifo(q) => last_ref(q),
            Inner::Lifo(q) => last_ref(q),
            Inner::Prio(q) => last_ref(q),
        }
    }
}

/// The item type of a C queue: a `void *` (with its priority for a
/// priority queue) in, a `void *` out.
pub(crate) trait CItem: Send + 'static {
    fn from_c(item: *mut c_void, priority: u64) -> Self;
    fn into_c(self) -> QueueItem;
}

impl CItem for QueueItem {
    #[inline]
    fn from_c(item: *mut c_void, _priority: u64) -> QueueItem {
        QueueItem(item)
    }
    #[inline]
    fn into_c(self) -> QueueItem {
        self
    }
}

impl CItem for PriorityItem {
    #[inline]
    fn from_c(item: *mut c_void, priority: u64) -> PriorityItem {
        PriorityItem::new(priority, QueueItem(item))
    }
    #[inline]
    fn into_c(self) -> QueueItem {
        self.item()
    }
}

/// Runs `$body` with `$q` bound to the handle's typed queue (an `&Arc<Queue<T,
/// O>>` whose `T` is a [`CItem`]).
macro_rules! with_queue {
    ($h:expr, |$q:ident| $body:expr) => {
        match &$h.0 {
            Inner::Fifo($q) => $body,
            Inner::Lifo($q) => $body,
            Inner::Prio($q) => $body,
        }
    };
}

/// Creates a queue holding at most `capacity` items, any value from 1 to
/// `SIZE_MAX` (reported as given by `dualsync_queue_statistics`), or
/// without limit for `DUALSYNC_QUEUE_UNBOUNDED` (0: there is no
/// zero-capacity queue; Rust's `Queue::with_maxsize(None)`, whose
/// `Some(0)` panics), in `order` (`DUALSYNC_QUEUE_FIFO`, `_LIFO` or
/// `_PRIORITY`). Returns NULL for an unknown order or if allocation fails.
/// Free it with `dualsync_queue_free`.
#[unsafe(no_mangle)]
pub extern "C" fn dualsync_queue_new(capacity: usize, order: u32) -> *mut dualsync_queue_t {
    boundary_or(core::ptr::null_mut(), || {
        let cap = (capacity != DUALSYNC_QUEUE_UNBOUNDED).then_some(capacity);
        let inner = match order {
            DUALSYNC_QUEUE_FIFO => Inner::Fifo(Arc::new(Queue::with_maxsize(cap))),
            DUALSYNC_QUEUE_LIFO => Inner::Lifo(Arc::new(Queue::with_maxsize(cap))),
            DUALSYNC_QUEUE_PRIORITY => Inner::Prio(Arc::new(Queue::with_maxsize(cap))),
            _ => return core::ptr::null_mut(),
        };
        dualsync_queue_t::boxed(inner)
    })
}

/// Frees a queue handle. `NULL` does nothing (`DUALSYNC_OK`). A queue that
/// threads wait on (in put, get or join) is not freed: `DUALSYNC_BUSY`.
/// Items left in it are not touched: they are the caller's.
///
/// A handle that Rust made from a queue it still holds (or that shares its
/// queue with another handle) only lets go of its reference: the waiter
/// check is skipped, the queue and its items stay with the other owners.
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
/// `queue` is NULL or came from `dualsync_queue_new` (or Rust's
/// `dualsync_queue_t::from_fifo` and siblings) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_free(queue: *mut dualsync_queue_t) -> dualsync_status {
    // SAFETY: NULL or from `dualsync_queue_new` and unused from now on
    // (caller's contract), which is `free_boxed`'s.
    unsafe {
        free_boxed(queue, |h| {
            h.last_ref()
                && with_queue!(h, |q| {
                    let s = q.statistics();
                    s.getters_waiting + s.putters_waiting + s.joiners_waiting > 0
                })
        })
    }
}

fn put_wait(h: &dualsync_queue_t, item: *mut c_void, priority: u64, wait: Wait) -> dualsync_status {
    with_queue!(h, |q| {
        let it = CItem::from_c(item, priority);
        let deadline: Option<Instant> = match wait {
            Wait::Try => {
                return match q.try_put(it) {
                    Ok(()) => DUALSYNC_OK,
                    Err(TryPutError::Full(_)) => DUALSYNC_FULL,
                    Err(TryPutError::ShutDown(_)) => DUALSYNC_SHUT_DOWN,
                };
            }
            Wait::Forever => None,
            Wait::Until(t) => Some(t),
        };
        match deadline {
            None => match q.put(it).block() {
                Ok(()) => DUALSYNC_OK,
                Err(PutError::ShutDown(_)) => DUALSYNC_SHUT_DOWN,
            },
            Some(t) => match q.put(it).block_until(t) {
                Ok(()) => DUALSYNC_OK,
                Err(PutTimeoutError::Timeout(_)) => DUALSYNC_TIMED_OUT,
                Err(PutTimeoutError::ShutDown(_)) => DUALSYNC_SHUT_DOWN,
            },
        }
    })
}

/// Puts `item` (any pointer, NULL included: stored as given), waiting while
/// the queue is full. `priority` orders a priority queue (smallest first)
/// and is ignored by FIFO and LIFO queues.
/// `DUALSYNC_SHUT_DOWN` once the queue is shut down (also for a put blocked
/// when that happens); the item was then not enqueued.
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_put(
    queue: *const dualsync_queue_t,
    item: *mut c_void,
    priority: u64,
) -> dualsync_status {
    boundary(|| put_wait(&*handle!(queue), item, priority, Wait::Forever))
}

/// Puts `item` if there is room now: else `DUALSYNC_FULL` (or
/// `DUALSYNC_SHUT_DOWN`).
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_try_put(
    queue: *const dualsync_queue_t,
    item: *mut c_void,
    priority: u64,
) -> dualsync_status {
    boundary(|| put_wait(&*handle!(queue), item, priority, Wait::Try))
}

/// Puts `item`, waiting at most `timeout_ns`: `DUALSYNC_TIMED_OUT` when the
/// time runs out (the item was not enqueued; `0` tries once and gives
/// `DUALSYNC_FULL`; `DUALSYNC_TIMEOUT_INFINITE` waits forever).
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_put_timeout(
    queue: *const dualsync_queue_t,
    item: *mut c_void,
    priority: u64,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| put_wait(&*handle!(queue), item, priority, Wait::from_ns(timeout_ns)))
}

fn get_wait(h: &dualsync_queue_t, out: *mut *mut c_void, wait: Wait) -> dualsync_status {
    if out.is_null() {
        return DUALSYNC_INVALID_ARGUMENT;
    }
    let r: Result<QueueItem, dualsync_status> = with_queue!(h, |q| {
        match wait {
            Wait::Try => q.try_get().map(CItem::into_c).map_err(|e| match e {
                TryGetError::Empty => DUALSYNC_EMPTY,
                TryGetError::ShutDown => DUALSYNC_SHUT_DOWN,
            }),
            Wait::Forever => q
                .get()
                .block()
                .map(CItem::into_c)
                .map_err(|GetError::ShutDown| DUALSYNC_SHUT_DOWN),
            Wait::Until(t) => match q.get().block_until(t) {
                Ok(x) => Ok(x.into_c()),
                Err(GetTimeoutError::ShutDown) => Err(DUALSYNC_SHUT_DOWN),
                Err(GetTimeoutError::Timeout) => Err(DUALSYNC_TIMED_OUT),
            },
        }
    });
    match r {
        Ok(p) => {
            // SAFETY: checked non-NULL; valid for a write per the contract.
            unsafe { out.write(p.0) };
            DUALSYNC_OK
        }
        Err(s) => s,
    }
}

/// Takes the next item into `*out`, waiting while the queue is empty.
/// After `shutdown(false)` the remaining items are still handed out; then,
/// or after `shutdown(true)`, `DUALSYNC_SHUT_DOWN`.
///
/// # Safety
///
/// `queue` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_get(
    queue: *const dualsync_queue_t,
    out: *mut *mut c_void,
) -> dualsync_status {
    boundary(|| get_wait(&*handle!(queue), out, Wait::Forever))
}

/// Takes the next item into `*out` if there is one: else `DUALSYNC_EMPTY`
/// (or `DUALSYNC_SHUT_DOWN` once shut down and empty).
///
/// # Safety
///
/// `queue` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_try_get(
    queue: *const dualsync_queue_t,
    out: *mut *mut c_void,
) -> dualsync_status {
    boundary(|| get_wait(&*handle!(queue), out, Wait::Try))
}

/// Takes the next item into `*out`, waiting at most `timeout_ns`
/// (`DUALSYNC_TIMED_OUT`; `0` tries once and gives `DUALSYNC_EMPTY`).
///
/// # Safety
///
/// `queue` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_get_timeout(
    queue: *const dualsync_queue_t,
    out: *mut *mut c_void,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| get_wait(&*handle!(queue), out, Wait::from_ns(timeout_ns)))
}

/// Marks one taken item as processed. `DUALSYNC_OVER_RELEASE` (nothing
/// changes) when called more times than items were put.
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_task_done(
    queue: *const dualsync_queue_t,
) -> dualsync_status {
    boundary(|| {
        let h = handle!(queue);
        match with_queue!(h, |q| q.task_done()) {
            Ok(()) => DUALSYNC_OK,
            Err(_) => DUALSYNC_OVER_RELEASE,
        }
    })
}

fn join_wait(h: &dualsync_queue_t, wait: Wait) -> dualsync_status {
    with_queue!(h, |q| match wait {
        Wait::Forever => {
            q.join().block();
            DUALSYNC_OK
        }
        Wait::Try => match q.unfinished() {
            0 => DUALSYNC_OK,
            _ => DUALSYNC_WOULD_BLOCK,
        },
        Wait::Until(t) => match q.join().block_until(t) {
            Ok(()) => DUALSYNC_OK,
            Err(_) => DUALSYNC_TIMED_OUT,
        },
    })
}

/// Waits until every item put has been marked done (or discarded by an
/// immediate shutdown). Returns `DUALSYNC_OK` at once if none is
/// unfinished; a shutdown does not end the wait (the items still count
/// until marked done or discarded).
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_join(queue: *const dualsync_queue_t) -> dualsync_status {
    boundary(|| join_wait(&*handle!(queue), Wait::Forever))
}

/// `dualsync_queue_join` waiting at most `timeout_ns` (`DUALSYNC_TIMED_OUT`;
/// `0` is `dualsync_queue_try_join`; `DUALSYNC_TIMEOUT_INFINITE` waits
/// forever).
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_join_timeout(
    queue: *const dualsync_queue_t,
    timeout_ns: u64,
) -> dualsync_status {
    boundary(|| join_wait(&*handle!(queue), Wait::from_ns(timeout_ns)))
}

/// `DUALSYNC_OK` if every item put has been marked done (or discarded),
/// else `DUALSYNC_WOULD_BLOCK`; never waits (the `try_` form of
/// `dualsync_queue_join`).
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_try_join(
    queue: *const dualsync_queue_t,
) -> dualsync_status {
    boundary(|| join_wait(&*handle!(queue), Wait::Try))
}

/// Shuts the queue down: puts fail with `DUALSYNC_SHUT_DOWN` and blocked
/// putters wake with it; with `immediate` false getters drain what is left,
/// with `immediate` true the remaining items are discarded (not freed: they
/// are the caller's pointers; they count as done for `join`) and blocked
/// getters wake with `DUALSYNC_SHUT_DOWN`.
///
/// # Safety
///
/// `queue` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_shutdown(
    queue: *const dualsync_queue_t,
    immediate: bool,
) -> dualsync_status {
    boundary(|| {
        let h = handle!(queue);
        with_queue!(h, |q| q.shutdown(immediate));
        DUALSYNC_OK
    })
}

/// Writes the number of items in the queue to `*out`.
///
/// # Safety
///
/// `queue` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_len(
    queue: *const dualsync_queue_t,
    out: *mut usize,
) -> dualsync_status {
    // SAFETY: the caller's contract is `write_out`'s.
    unsafe { write_out(queue, out, |h| with_queue!(h, |q| q.len())) }
}

/// A snapshot of a queue, written by `dualsync_queue_statistics`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct dualsync_queue_stats_t {
    /// Items in the queue.
    pub len: usize,
    /// The capacity given to `dualsync_queue_new`, as given (`SIZE_MAX`
    /// included); `DUALSYNC_QUEUE_UNBOUNDED` (0) = unbounded.
    pub capacity: usize,
    /// Threads (and Rust tasks) blocked in `get`.
    pub getters_waiting: usize,
    /// Threads (and Rust tasks) blocked in `put`.
    pub putters_waiting: usize,
    /// Threads (and Rust tasks) blocked in `join`.
    pub joiners_waiting: usize,
    /// Items put and not yet marked done with `task_done`.
    pub unfinished_tasks: usize,
    /// `dualsync_queue_shutdown` was called.
    pub shut_down: bool,
}

/// Writes a consistent snapshot of the queue to `*out`: its length,
/// capacity, how many threads wait in get, put and join, the unfinished
/// task count, and whether it is shut down. A waiter counts from the moment
/// it is queued (so a thread that sees `getters_waiting` reach 1 knows the
/// getter is blocked, e.g. before `dualsync_queue_free` or a shutdown).
///
/// # Safety
///
/// `queue` is NULL or a live handle; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_queue_statistics(
    queue: *const dualsync_queue_t,
    out: *mut dualsync_queue_stats_t,
) -> dualsync_status {
    // SAFETY: the caller's contract is `write_out`'s.
    unsafe {
        write_out(queue, out, |h| {
            let s = with_queue!(h, |q| q.statistics());
            dualsync_queue_stats_t {
                len: s.len,
                capacity: s.capacity.unwrap_or(DUALSYNC_QUEUE_UNBOUNDED),
                getters_waiting: s.getters_waiting,
                putters_waiting: s.putters_waiting,
                joiners_waiting: s.joiners_waiting,
                unfinished_tasks: s.unfinished_tasks,
                shut_down: s.shut_down,
            }
        })
    }
}

// ---- operations (`dualsync_op_t`) ----

impl<T: CItem> IntoC for Result<T, GetError> {
    type Result = QueueItem;
    fn into_c(self) -> (dualsync_status, QueueItem) {
        match self {
            Ok(x) => (DUALSYNC_OK, x.into_c()),
            Err(GetError::ShutDown) => (DUALSYNC_SHUT_DOWN, QueueItem(core::ptr::null_mut())),
        }
    }
}

impl<T> IntoC for Result<(), PutError<T>> {
    type Result = ();
    fn into_c(self) -> (dualsync_status, ()) {
        match self {
            Ok(()) => (DUALSYNC_OK, ()),
            // The item is the caller's pointer: nothing to free.
            Err(PutError::ShutDown(_)) => (DUALSYNC_SHUT_DOWN, ()),
        }
    }
}

impl<T: CItem, O: Order<T> + 'static> Operation for Get<'static, T, O> where Self: Send {}
impl<T: CItem, O: Order<T> + 'static> Operation for Join<'static, T, O> where Self: Send {}

impl<T: CItem, O: Order<T> + 'static> Operation for Put<'static, T, O>
where
    Self: Send,
{
    /// A put whose item went in before the cancel reports it (not "the
    /// item is still yours").
    fn withdraw(self: Pin<&mut Self>) -> Option<Self::Output> {
        match self.cancel() {
            Some(_item) => None,
            None => Some(Ok(())),
        }
    }
}

/// Starts a get on `queue` without blocking: the get waits in line with
/// blocked getters and Rust tasks, and completes as `dualsync_queue_get`
/// would (an item, or `DUALSYNC_SHUT_DOWN`). See `dualsync_op_t` for
/// `notify_fd` (`-1`: none), `callback` (`NULL`: none) and `user_data`.
/// On `DUALSYNC_OK`, `*op_out` is the operation; take its item with
/// `dualsync_op_poll(op, &item)` (a `void **`), and free it with
/// `dualsync_op_free`. An item handed to it is only taken by that poll: a
/// cancel passes it to the next getter. While it is pending,
/// `dualsync_queue_free(queue)` is refused.
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
    let run =
        |h: &dualsync_queue_t, s: Start<'_>| with_queue!(h, |q| s.run(q.clone(), |q| q.get()));
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(queue, notify_fd, callback, user_data, op_out, run) }
}

/// Starts putting `item` (with `priority` for a priority queue, as in
/// `dualsync_queue_put`) without blocking: the put waits in line while the
/// queue is full and completes as `dualsync_queue_put` would (`DUALSYNC_OK`:
/// enqueued; `DUALSYNC_SHUT_DOWN`: not enqueued, the item is still the
/// caller's). Cancelling it withdraws the item (not enqueued; or
/// `DUALSYNC_DONE` if it went in first). See `dualsync_op_t` for
/// `notify_fd`, `callback` and `user_data`; `dualsync_op_poll(op, NULL)`
/// gives the outcome. While it is pending, `dualsync_queue_free(queue)` is
/// refused.
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
    let run = |h: &dualsync_queue_t, s: Start<'_>| {
        with_queue!(h, |q| s
            .run(q.clone(), |q| q.put(CItem::from_c(item, priority))))
    };
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(queue, notify_fd, callback, user_data, op_out, run) }
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
    let run =
        |h: &dualsync_queue_t, s: Start<'_>| with_queue!(h, |q| s.run(q.clone(), |q| q.join()));
    // SAFETY: the export's contract is `start_op`'s.
    unsafe { start_op(queue, notify_fd, callback, user_data, op_out, run) }
}
