//! `Queue<T>`: asyncio's `Queue` / `LifoQueue` / `PriorityQueue` (Python
//! 3.13, with `shutdown`), shared by threads and tasks.
//!
//! # State layout
//!
//! ```text
//!  Queue<T, O>
//!  +-----------------------------------------------------------------+
//!  | getters: WaitQueue<()>  <- its queue lock is THE queue lock (L)  |
//!  | putters: WaitQueue<()>  <- its own lock, only taken while L held |
//!  | joiners: WaitQueue<()>  <- its own lock, only taken while L held |
//!  | inner (under L): buf (VecDeque | Vec | BinaryHeap<Reverse<T>>), |
//!  |                  unfinished: usize, shutdown: bool              |
//!  | capacity: usize (usize::MAX = unbounded)                        |
//!  +-----------------------------------------------------------------+
//! ```
//!
//! One implementation underneath: the order (`Fifo`, `Lifo`, `Priority`)
//! only picks the buffer type. Every operation is one short critical section
//! under `L` (a `fetch_or` and a store when uncontended); the `putters` and
//! `joiners` queue locks nest inside `L` (lock order `L` -> putters,
//! `L` -> joiners), so while `L` is held the emptiness of those queues is
//! exact. The join bookkeeping is a plain counter under `L`: it costs the
//! put/get path no atomic operation at all.
//!
//! Waiting getters and putters are *notified*, never handed items: a `put`
//! that finds getters queued moves its item into the buffer and completes
//! the front getter with `NOTIFIED`; the getter takes an item from the buffer
//! when it runs. Items therefore only ever live in the buffer or in an
//! operation value (a `Put` holds its item until the critical section that
//! pushes it), which is what makes cancellation trivially item-safe.
//!
//! # Invariants (whenever `L` is not held)
//!
//! 1. A getter queues only while the buffer is empty; a putter queues only
//!    while the buffer is full (or never, unbounded). Nobody queues after
//!    `shutdown` (getters: once shut down *and* empty).
//! 2. While getters are queued, `buf.len() <= notified getters that have not
//!    run yet`: every push with getters queued notifies one; a notified
//!    getter that finds the buffer empty (a barging `get` took the item)
//!    re-queues at the *front*; a notified getter that is cancelled passes
//!    the notification to the next queued getter if an item is there. So an
//!    item is never stranded next to a sleeping getter.
//! 3. The same holds for putters and free slots (`capacity - len`).
//! 4. `unfinished` = items put − `task_done` calls − items discarded by
//!    `shutdown(true)`, never below 0; when it reaches 0 every joiner is
//!    completed (an event, as in asyncio: a completed joiner returns even if
//!    new items arrive before it runs).
//! 5. Items are moved, never cloned, and dropped outside `L` (a `Drop` may
//!    re-enter the queue).
//!
//! # Order and fairness
//!
//! Waiters of each kind are woken in arrival order. A `get`/`put` that
//! arrives while a woken waiter has not run yet may take the item/slot first
//! (barging, as in asyncio); the woken waiter then keeps its place at the
//! front, so nobody starves while the queue makes progress.

use core::cell::UnsafeCell;
use core::cmp::Reverse;
use core::fmt;
use core::marker::PhantomData;
use core::pin::{Pin, pin};
use core::task::Poll;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::core::driver::{WaitCx, Waitable, block_pinned_until, deadline_after, impl_operation};
use crate::core::queue::{IDLE, NOTIFIED, Node, QUEUED, QueueGuard, WaitQueue, WakeList};
use crate::core::sync::AtomicU32;

mod sealed {
    /// The storage behind an order. Not nameable outside the crate.
    pub trait Buffer<T>: Default {
        fn with_capacity(n: usize) -> Self;
        fn push(&mut self, item: T);
        fn pop(&mut self) -> Option<T>;
        fn len(&self) -> usize;
    }
    pub trait Sealed {}
}
use sealed::Buffer;

/// The order in which a [`Queue`] hands out its items: [`Fifo`], [`Lifo`]
/// or [`Priority`]. Sealed: the three orders are the only ones.
pub trait Order<T>: sealed::Sealed {
    #[doc(hidden)]
    type Buf: sealed::Buffer<T>;
    #[doc(hidden)]
    const NAME: &'static str;
}

/// First in, first out (asyncio's `Queue`), the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;
/// Last in, first out (asyncio's `LifoQueue`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;
/// Smallest item first (asyncio's `PriorityQueue`; `T: Ord`). Equal items
/// come out in an unspecified order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Priority;

impl sealed::Sealed for Fifo {}
impl sealed::Sealed for Lifo {}
impl sealed::Sealed for Priority {}

impl<T> Order<T> for Fifo {
    type Buf = VecDeque<T>;
    const NAME: &'static str = "Queue";
}
impl<T> Order<T> for Lifo {
    type Buf = LifoBuf<T>;
    const NAME: &'static str = "LifoQueue";
}
impl<T: Ord> Order<T> for Priority {
    type Buf = BinaryHeap<Reverse<T>>;
    const NAME: &'static str = "PriorityQueue";
}

impl<T> Buffer<T> for VecDeque<T> {
    #[inline]
    fn with_capacity(n: usize) -> Self {
        VecDeque::with_capacity(n)
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.push_back(item)
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    #[inline]
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
}

#[doc(hidden)]
pub struct LifoBuf<T>(Vec<T>);

impl<T> Default for LifoBuf<T> {
    fn default() -> Self {
        LifoBuf(Vec::new())
    }
}

impl<T> Buffer<T> for LifoBuf<T> {
    #[inline]
    fn with_capacity(n: usize) -> Self {
        LifoBuf(Vec::with_capacity(n))
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push(item)
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> Buffer<T> for BinaryHeap<Reverse<T>> {
    #[inline]
    fn with_capacity(n: usize) -> Self {
        BinaryHeap::with_capacity(n)
    }
    #[inline]
    fn push(&mut self, item: T) {
        BinaryHeap::push(self, Reverse(item))
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        BinaryHeap::pop(self).map(|Reverse(t)| t)
    }
    #[inline]
    fn len(&self) -> usize {
        BinaryHeap::len(self)
    }
}

/// How many slots a bounded queue allocates up front (it grows past this).
const PREALLOC: usize = 1024;

/// A FIFO queue (asyncio's `Queue`).
pub type FifoQueue<T> = Queue<T, Fifo>;
/// A LIFO queue (asyncio's `LifoQueue`).
pub type LifoQueue<T> = Queue<T, Lifo>;
/// A priority queue, smallest first (asyncio's `PriorityQueue`).
pub type PriorityQueue<T> = Queue<T, Priority>;

struct Inner<B> {
    buf: B,
    unfinished: usize,
    shutdown: bool,
}

/// A multi-producer multi-consumer queue that threads and async tasks share,
/// with asyncio's semantics: bounded or unbounded, FIFO ([`Fifo`], the
/// default), LIFO ([`Lifo`]) or smallest-first ([`Priority`]),
/// `task_done`/`join`, and `shutdown(immediate)` (Python 3.13).
///
/// * [`put`](Self::put), [`get`](Self::get) and [`join`](Self::join) return
///   operations: `.await` them in a task, or finish them on a thread with
///   `.block()`, `.block_for(d)` or `.block_until(t)`. Threads and tasks wait
///   in the same FIFO waiter queues.
/// * [`try_put`](Self::try_put) / [`try_get`](Self::try_get) never wait.
/// * Items are moved, never cloned; `T` needs no trait beyond `Send` (and
///   `Ord` for [`Priority`]).
///
/// **Cancel-safety**: dropping a `get` never loses an item (it only takes
/// one in the poll that returns it; a wake-up it received passes to the next
/// getter); dropping a `put` drops its item, which was never enqueued; a
/// timed-out [`Put::block_for`] gives the item back. Dropping a `join` has
/// no effect on the queue.
///
/// **Order**: items come out in the queue's order; blocked getters, blocked
/// putters and joiners are each woken in arrival order (see the module docs
/// for barging).
///
/// ```
/// use dualsync::Queue;
/// use std::sync::Arc;
///
/// let q = Arc::new(Queue::bounded(2));
/// let producer = {
///     let q = q.clone();
///     std::thread::spawn(move || {
///         for i in 0..5 {
///             q.put(i).block().unwrap(); // a thread waits for room
///         }
///         q.shutdown(false);
///     })
/// };
/// let sum = futures::executor::block_on(async {
///     let mut sum = 0;
///     while let Ok(i) = q.get().await { // a task drains until shutdown
///         sum += i;
///         q.task_done().unwrap();
///     }
///     sum
/// });
/// producer.join().unwrap();
/// assert_eq!(sum, 10);
/// q.join().block(); // every item was marked done
/// ```
pub struct Queue<T, O: Order<T> = Fifo> {
    getters: WaitQueue<()>,
    putters: WaitQueue<()>,
    joiners: WaitQueue<()>,
    inner: UnsafeCell<Inner<O::Buf>>,
    capacity: usize,
    _order: PhantomData<fn() -> O>,
}

// SAFETY: `inner` (which owns the `T`s) is only accessed under the queue
// lock `L`, which serializes all threads; items move between threads, so
// `T: Send` is required, and nothing hands out `&T`, so `Sync` needs no more.
unsafe impl<T: Send, O: Order<T>> Send for Queue<T, O> {}
// SAFETY: as above.
unsafe impl<T: Send, O: Order<T>> Sync for Queue<T, O> {}

impl<T> Queue<T, Fifo> {
    /// A FIFO queue holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (use [`unbounded`](Self::unbounded)).
    pub fn bounded(capacity: usize) -> Self {
        Self::make(Some(capacity))
    }

    /// A FIFO queue without a size limit (`put` never waits).
    pub fn unbounded() -> Self {
        Self::make(None)
    }
}

impl<T> Queue<T, Lifo> {
    /// A LIFO queue holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    pub fn bounded_lifo(capacity: usize) -> Self {
        Self::make(Some(capacity))
    }

    /// A LIFO queue without a size limit.
    pub fn unbounded_lifo() -> Self {
        Self::make(None)
    }
}

impl<T: Ord> Queue<T, Priority> {
    /// A priority queue (smallest first) holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    pub fn bounded_priority(capacity: usize) -> Self {
        Self::make(Some(capacity))
    }

    /// A priority queue (smallest first) without a size limit.
    pub fn unbounded_priority() -> Self {
        Self::make(None)
    }
}

/// The queue lock `L` held, with the state it protects.
struct Locked<'a, B> {
    getters: QueueGuard<'a, ()>,
    inner: &'a mut Inner<B>,
}

impl<T, O: Order<T>> Queue<T, O> {
    /// A queue in any order; `None` = unbounded.
    ///
    /// # Panics
    ///
    /// If `capacity` is `Some(0)`.
    pub fn with_capacity(capacity: Option<usize>) -> Self {
        Self::make(capacity)
    }

    fn make(capacity: Option<usize>) -> Self {
        let (cap, pre) = match capacity {
            Some(0) => panic!("a bounded Queue needs a capacity of at least 1"),
            Some(c) => (c, c.min(PREALLOC)),
            None => (usize::MAX, 0),
        };
        Queue {
            getters: WaitQueue::new(),
            putters: WaitQueue::new(),
            joiners: WaitQueue::new(),
            inner: UnsafeCell::new(Inner {
                buf: O::Buf::with_capacity(pre),
                unfinished: 0,
                shutdown: false,
            }),
            capacity: cap,
            _order: PhantomData,
        }
    }

    #[inline]
    fn lock(&self) -> Locked<'_, O::Buf> {
        let getters = self.getters.lock();
        // SAFETY: `inner` is only accessed under `L` (the getters queue
        // lock), which `getters` holds for as long as the reference lives
        // (both are dropped together with `Locked`).
        let inner = unsafe { &mut *self.inner.get() };
        Locked { getters, inner }
    }

    // ------------------------------------------------------------ put side

    /// Puts `item` in the queue, waiting for room while it is full: `.await`
    /// it, or `.block()`, `.block_for(d)`, `.block_until(t)` on a thread.
    ///
    /// Fails with [`PutError::ShutDown`] (giving the item back) once the
    /// queue is shut down, including for a putter blocked when that happens.
    /// Cancel-safe: a dropped `Put` drops its item, which was never
    /// enqueued; [`Put::block_for`] gives it back on timeout. Blocked
    /// putters are served in arrival order.
    #[inline]
    pub fn put(&self, item: T) -> Put<'_, T, O> {
        Put {
            queue: self,
            item: Some(item),
            node: Node::new(()),
        }
    }

    /// Puts `item` if there is room right now; never waits. Gives the item
    /// back in [`TryPutError::Full`] or [`TryPutError::ShutDown`].
    #[inline]
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        let l = self.lock();
        if l.inner.shutdown {
            return Err(TryPutError::ShutDown(item));
        }
        if l.inner.buf.len() >= self.capacity {
            return Err(TryPutError::Full(item));
        }
        self.push_locked(l, item);
        Ok(())
    }

    /// Pushes under `L` (room checked) and releases `L`.
    #[inline]
    fn push_locked(&self, l: Locked<'_, O::Buf>, item: T) {
        l.inner.buf.push(item);
        l.inner.unfinished += 1;
        if !l.getters.is_empty() {
            Self::wake_getter(l);
        }
    }

    /// Completes the front getter and releases `L`.
    #[cold]
    fn wake_getter(mut l: Locked<'_, O::Buf>) {
        let mut wakes = WakeList::new();
        l.getters.complete_front(NOTIFIED, &mut wakes);
        drop(l);
        wakes.wake_all();
    }

    /// Completes the front putter (with `L` held) and releases `L`.
    #[cold]
    fn wake_putter(&self, l: Locked<'_, O::Buf>) {
        let mut wakes = WakeList::new();
        self.putters.lock().complete_front(NOTIFIED, &mut wakes);
        drop(l);
        wakes.wake_all();
    }

    fn poll_put(
        &self,
        item: &mut Option<T>,
        node: &Node<()>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<(), PutError<T>>> {
        let front = match node.state() {
            IDLE => false,
            QUEUED => return self.poll_queued(&self.putters, true, node, cx),
            _ => {
                node.set_unlinked_state(IDLE);
                true
            }
        };
        let it = item.take().expect("Put polled after completion");
        // Fast attempt, without cloning a waker.
        let l = self.lock();
        match self.put_attempt(l, it) {
            Ok(r) => Poll::Ready(r),
            Err((l, it)) if cx.is_thread() => {
                // A thread's notifier clones nothing: queue in this section.
                *item = Some(it);
                let mut p = self.putters.lock();
                if front {
                    p.push_front(node, cx.notifier());
                } else {
                    p.push_back(node, cx.notifier());
                }
                drop(p);
                drop(l);
                Poll::Pending
            }
            Err((l, it)) => {
                drop(l);
                let notifier = cx.notifier(); // cloned outside `L`
                let l = self.lock();
                match self.put_attempt(l, it) {
                    Ok(r) => Poll::Ready(r),
                    Err((l, it)) => {
                        *item = Some(it);
                        let mut p = self.putters.lock();
                        if front {
                            p.push_front(node, notifier);
                        } else {
                            p.push_back(node, notifier);
                        }
                        drop(p);
                        drop(l);
                        Poll::Pending
                    }
                }
            }
        }
    }

    /// Under `L`: finishes the put (`Ok`, `L` released) or hands `L` and the
    /// item back because the queue is full.
    #[inline]
    #[allow(clippy::type_complexity)]
    fn put_attempt<'a>(
        &self,
        l: Locked<'a, O::Buf>,
        item: T,
    ) -> Result<Result<(), PutError<T>>, (Locked<'a, O::Buf>, T)> {
        if l.inner.shutdown {
            drop(l);
            return Ok(Err(PutError::ShutDown(item)));
        }
        if l.inner.buf.len() >= self.capacity {
            return Err((l, item));
        }
        self.push_locked(l, item);
        Ok(Ok(()))
    }

    /// A queued putter or getter polled again: refresh its waker if the
    /// task's changed, or run it if it was completed meanwhile.
    #[cold]
    fn poll_queued<R>(
        &self,
        q: &WaitQueue<()>,
        _putter: bool,
        node: &Node<()>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<R> {
        let Some(w) = cx.waker() else {
            return Poll::Pending;
        };
        {
            let _l = self.lock();
            let same = if core::ptr::eq(q, &self.getters) {
                node.state() == QUEUED && _l.getters.waker_will_wake(node, w)
            } else {
                node.state() == QUEUED && q.lock().waker_will_wake(node, w)
            };
            if same {
                return Poll::Pending;
            }
        }
        let new = w.clone();
        let old = {
            let mut l = self.lock();
            if core::ptr::eq(q, &self.getters) {
                l.getters.replace_waker(node, new)
            } else {
                let r = q.lock().replace_waker(node, new);
                drop(l);
                r
            }
        };
        match old {
            Ok(old) => {
                drop(old);
                Poll::Pending
            }
            // Completed meanwhile: the caller polls again and sees it.
            Err(new) => {
                drop(new);
                cx_wake(cx);
                Poll::Pending
            }
        }
    }

    /// A `Put` is dropped (or timed out): unlink it, or pass on the wake-up
    /// it got. Its item, if any, stays with the caller.
    #[inline]
    fn cancel_put(&self, node: &Node<()>) {
        if node.state() != IDLE {
            self.cancel_put_slow(node);
        }
    }

    #[cold]
    fn cancel_put_slow(&self, node: &Node<()>) {
        let mut wakes = WakeList::new();
        let l = self.lock();
        let mut p = self.putters.lock();
        if node.state() == QUEUED {
            p.remove(node);
            p.set_idle(node, &mut wakes);
        } else {
            node.set_unlinked_state(IDLE);
            // A wake-up for a free slot: give it to the next putter.
            if !l.inner.shutdown && l.inner.buf.len() < self.capacity {
                p.complete_front(NOTIFIED, &mut wakes);
            }
        }
        drop(p);
        drop(l);
        wakes.wake_all();
    }

    // ------------------------------------------------------------ get side

    /// Takes the next item, waiting while the queue is empty: `.await` it,
    /// or `.block()`, `.block_for(d)`, `.block_until(t)` on a thread.
    ///
    /// After `shutdown(false)` the remaining items are still handed out,
    /// then [`GetError::ShutDown`]; after `shutdown(true)` (or once drained)
    /// it fails at once, and blocked getters wake with it. Cancel-safe: an
    /// item is only taken in the poll that returns it, and a wake-up given to
    /// a cancelled getter passes to the next one. Blocked getters are served
    /// in arrival order.
    #[inline]
    pub fn get(&self) -> Get<'_, T, O> {
        Get {
            queue: self,
            node: Node::new(()),
        }
    }

    /// Takes the next item if there is one; never waits.
    /// [`TryGetError::ShutDown`] once shut down and empty.
    #[inline]
    pub fn try_get(&self) -> Result<T, TryGetError> {
        let l = self.lock();
        match self.get_attempt(l) {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(GetError::ShutDown)) => Err(TryGetError::ShutDown),
            Err(_) => Err(TryGetError::Empty),
        }
    }

    /// Under `L`: takes an item (`L` released), reports shutdown, or hands
    /// `L` back because the queue is empty.
    #[inline]
    fn get_attempt<'a>(
        &self,
        l: Locked<'a, O::Buf>,
    ) -> Result<Result<T, GetError>, Locked<'a, O::Buf>> {
        match l.inner.buf.pop() {
            Some(t) => {
                // `L` held: the putters queue word is only written under `L`.
                if !self.putters.is_empty_hint() {
                    self.wake_putter(l);
                }
                Ok(Ok(t))
            }
            None if l.inner.shutdown => Ok(Err(GetError::ShutDown)),
            None => Err(l),
        }
    }

    fn poll_get(&self, node: &Node<()>, cx: &mut WaitCx<'_, '_>) -> Poll<Result<T, GetError>> {
        let front = match node.state() {
            IDLE => false,
            QUEUED => return self.poll_queued(&self.getters, false, node, cx),
            _ => {
                node.set_unlinked_state(IDLE);
                true
            }
        };
        let l = self.lock();
        match self.get_attempt(l) {
            Ok(r) => Poll::Ready(r),
            Err(mut l) if cx.is_thread() => {
                // A thread's notifier clones nothing: queue in this section.
                if front {
                    l.getters.push_front(node, cx.notifier());
                } else {
                    l.getters.push_back(node, cx.notifier());
                }
                Poll::Pending
            }
            Err(l) => {
                drop(l);
                let notifier = cx.notifier(); // cloned outside `L`
                let l = self.lock();
                match self.get_attempt(l) {
                    Ok(r) => Poll::Ready(r),
                    Err(mut l) => {
                        if front {
                            l.getters.push_front(node, notifier);
                        } else {
                            l.getters.push_back(node, notifier);
                        }
                        Poll::Pending
                    }
                }
            }
        }
    }

    #[inline]
    fn cancel_get(&self, node: &Node<()>) {
        if node.state() != IDLE {
            self.cancel_get_slow(node);
        }
    }

    #[cold]
    fn cancel_get_slow(&self, node: &Node<()>) {
        let mut wakes = WakeList::new();
        let mut l = self.lock();
        if node.state() == QUEUED {
            l.getters.remove(node);
            l.getters.set_idle(node, &mut wakes);
        } else {
            node.set_unlinked_state(IDLE);
            // A wake-up for an item: give it to the next getter.
            if l.inner.buf.len() > 0 {
                l.getters.complete_front(NOTIFIED, &mut wakes);
            }
        }
        drop(l);
        wakes.wake_all();
    }

    // ------------------------------------------------------------ join side

    /// Marks one item taken from the queue as processed (asyncio's
    /// `task_done`). When every item put so far is done, joiners wake.
    /// Calling it more times than items were put is a [`TaskDoneError`] and
    /// changes nothing.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let l = self.lock();
        if l.inner.unfinished == 0 {
            return Err(TaskDoneError(()));
        }
        l.inner.unfinished -= 1;
        if l.inner.unfinished == 0 {
            self.finish_joiners(l);
        }
        Ok(())
    }

    /// With `unfinished == 0`: wakes every joiner and releases `L`.
    fn finish_joiners(&self, l: Locked<'_, O::Buf>) {
        if self.joiners.is_empty_hint() {
            return;
        }
        let mut wakes = WakeList::new();
        let mut j = self.joiners.lock();
        while j.complete_front(NOTIFIED, &mut wakes) {}
        drop(j);
        drop(l);
        wakes.wake_all();
    }

    /// Waits until every item put has been marked done with
    /// [`task_done`](Self::task_done) (or discarded by `shutdown(true)`):
    /// `.await` it, or `.block()`, `.block_for(d)`, `.block_until(t)`.
    /// Returns at once when nothing is unfinished. Cancel-safe (dropping it
    /// changes nothing); all joiners wake together.
    #[inline]
    pub fn join(&self) -> Join<'_, T, O> {
        Join {
            queue: self,
            node: Node::new(()),
        }
    }

    fn poll_join(&self, node: &Node<()>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        match node.state() {
            IDLE => {}
            QUEUED => return self.poll_queued(&self.joiners, false, node, cx),
            _ => {
                // Completed: the count reached 0 (an event, as in asyncio).
                node.set_unlinked_state(IDLE);
                return Poll::Ready(());
            }
        }
        if self.lock().inner.unfinished == 0 {
            return Poll::Ready(());
        }
        let notifier = cx.notifier();
        let l = self.lock();
        if l.inner.unfinished == 0 {
            return Poll::Ready(());
        }
        self.joiners.lock().push_back(node, notifier);
        drop(l);
        Poll::Pending
    }

    #[inline]
    fn cancel_join(&self, node: &Node<()>) {
        if node.state() == IDLE {
            return;
        }
        let mut wakes = WakeList::new();
        let l = self.lock();
        if node.state() == QUEUED {
            let mut j = self.joiners.lock();
            j.remove(node);
            j.set_idle(node, &mut wakes);
        } else {
            node.set_unlinked_state(IDLE);
        }
        drop(l);
        wakes.wake_all();
    }

    // ------------------------------------------------------------ shutdown

    /// Shuts the queue down (Python 3.13's `Queue.shutdown`).
    ///
    /// Afterwards every `put` fails with `ShutDown` (giving its item back),
    /// and blocked putters wake with it. With `immediate = false`, getters
    /// drain what is left, then get `ShutDown`; with `immediate = true` the
    /// remaining items are dropped (they count as done for
    /// [`join`](Self::join)) and blocked getters wake with `ShutDown`.
    /// Calling it again is harmless (an immediate call still discards).
    pub fn shutdown(&self, immediate: bool) {
        let mut wakes = WakeList::new();
        let mut l = self.lock();
        l.inner.shutdown = true;
        let mut discarded = O::Buf::default();
        if immediate {
            discarded = core::mem::take(&mut l.inner.buf);
            let n = discarded.len();
            if n > 0 && l.inner.unfinished > 0 {
                l.inner.unfinished = l.inner.unfinished.saturating_sub(n);
                if l.inner.unfinished == 0 {
                    let mut j = self.joiners.lock();
                    while j.complete_front(NOTIFIED, &mut wakes) {}
                }
            }
        }
        while l.getters.complete_front(NOTIFIED, &mut wakes) {}
        {
            let mut p = self.putters.lock();
            while p.complete_front(NOTIFIED, &mut wakes) {}
        }
        drop(l);
        wakes.wake_all();
        drop(discarded); // outside `L`: an item's drop may re-enter
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.lock().inner.shutdown
    }

    // ------------------------------------------------------------ sizes

    /// Number of items in the queue now (asyncio's `qsize()`).
    pub fn len(&self) -> usize {
        self.lock().inner.buf.len()
    }

    /// Whether the queue holds no item now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue is at capacity now (never for an unbounded queue).
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// The capacity (asyncio's `maxsize`); `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        (self.capacity != usize::MAX).then_some(self.capacity)
    }

    /// A snapshot of the queue's state (anyio-style `statistics()`).
    pub fn statistics(&self) -> QueueStatistics {
        let l = self.lock();
        QueueStatistics {
            len: l.inner.buf.len(),
            capacity: self.capacity(),
            getters_waiting: l.getters.len(),
            putters_waiting: self.putters.lock().len(),
            joiners_waiting: self.joiners.lock().len(),
            unfinished_tasks: l.inner.unfinished,
            shut_down: l.inner.shutdown,
        }
    }
}

/// Asks the task to poll again (a queued node was completed while we were
/// refreshing its waker).
fn cx_wake(cx: &mut WaitCx<'_, '_>) {
    if let Some(w) = cx.waker() {
        w.wake_by_ref();
    }
}

impl<T, O: Order<T>> Drop for Queue<T, O> {
    fn drop(&mut self) {
        // Operations borrow the queue: none can be pending now.
        debug_assert!(self.getters.is_empty_hint() && self.putters.is_empty_hint());
    }
}

impl<T, O: Order<T>> fmt::Debug for Queue<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.statistics();
        let mut d = f.debug_struct(O::NAME);
        match s.capacity {
            Some(c) => d.field("maxsize", &c),
            None => d.field("maxsize", &"unbounded"),
        };
        d.field("qsize", &s.len)
            .field("getters", &s.getters_waiting)
            .field("putters", &s.putters_waiting)
            .field("unfinished_tasks", &s.unfinished_tasks);
        if s.shut_down {
            d.field("shutdown", &true);
        }
        d.finish()
    }
}

/// A snapshot returned by [`Queue::statistics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStatistics {
    /// Items in the queue.
    pub len: usize,
    /// The capacity, `None` when unbounded.
    pub capacity: Option<usize>,
    /// Threads and tasks blocked in `get`.
    pub getters_waiting: usize,
    /// Threads and tasks blocked in `put`.
    pub putters_waiting: usize,
    /// Threads and tasks blocked in `join`.
    pub joiners_waiting: usize,
    /// Items put and not yet marked done.
    pub unfinished_tasks: usize,
    /// `shutdown` was called.
    pub shut_down: bool,
}

// ---------------------------------------------------------------- operations

/// The operation returned by [`Queue::put`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the put and drops
/// the item, which was never enqueued.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct Put<'a, T, O: Order<T> = Fifo> {
    queue: &'a Queue<T, O>,
    item: Option<T>,
    node: Node<()>,
}

impl<T, O: Order<T>> Waitable for Put<'_, T, O> {
    type Output = Result<(), PutError<T>>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        // SAFETY: the node is never moved out of the pinned operation; only
        // the item (not structurally pinned) is moved.
        let this = unsafe { self.get_unchecked_mut() };
        this.queue.poll_put(&mut this.item, &this.node, cx)
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl<T, O: Order<T>> Drop for Put<'_, T, O> {
    #[inline]
    fn drop(&mut self) {
        self.queue.cancel_put(&self.node);
    }
}

impl<T, O: Order<T>> Put<'_, T, O> {
    /// Finishes the put on this thread, parking it while the queue is full.
    /// Never panics inside an async runtime: it blocks that worker thread.
    #[inline]
    pub fn block(self) -> Result<(), PutError<T>> {
        match self.block_inner(None) {
            Ok(()) => Ok(()),
            Err(PutTimeoutError::ShutDown(t)) => Err(PutError::ShutDown(t)),
            Err(PutTimeoutError::Timeout(_)) => unreachable!("an untimed wait cannot time out"),
        }
    }

    /// Like [`block`](Self::block), giving up after `timeout`: the item
    /// comes back in [`PutTimeoutError::Timeout`] (never silently dropped).
    /// `Duration::ZERO` tries once.
    #[inline]
    pub fn block_for(self, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        self.block_inner(deadline_after(timeout))
    }

    /// Like [`block_for`](Self::block_for), with a deadline.
    #[inline]
    pub fn block_until(self, deadline: Instant) -> Result<(), PutTimeoutError<T>> {
        self.block_inner(Some(deadline))
    }

    fn block_inner(self, deadline: Option<Instant>) -> Result<(), PutTimeoutError<T>> {
        let mut op = pin!(self);
        match block_pinned_until(op.as_mut(), deadline) {
            Some(Ok(())) => Ok(()),
            Some(Err(PutError::ShutDown(t))) => Err(PutTimeoutError::ShutDown(t)),
            None => {
                // SAFETY: the node is not moved; we only take the item after
                // the node is unlinked (cancel_put), so the put is withdrawn.
                let this = unsafe { op.as_mut().get_unchecked_mut() };
                this.queue.cancel_put(&this.node);
                let item = this.item.take().expect("a pending put holds its item");
                Err(PutTimeoutError::Timeout(item))
            }
        }
    }
}

impl<T, O: Order<T>> core::future::Future for Put<'_, T, O> {
    type Output = Result<(), PutError<T>>;
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> Poll<Self::Output> {
        Waitable::poll_wait(self, &mut WaitCx::Task(cx))
    }
}

impl<T, O: Order<T>> fmt::Debug for Put<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("state", &self.node.state())
            .finish()
    }
}

/// The operation returned by [`Queue::get`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the get; no item
/// is lost.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct Get<'a, T, O: Order<T> = Fifo> {
    queue: &'a Queue<T, O>,
    node: Node<()>,
}

impl<T, O: Order<T>> Waitable for Get<'_, T, O> {
    type Output = Result<T, GetError>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        let this = self.into_ref().get_ref();
        this.queue.poll_get(&this.node, cx)
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl<T, O: Order<T>> Drop for Get<'_, T, O> {
    #[inline]
    fn drop(&mut self) {
        self.queue.cancel_get(&self.node);
    }
}

impl_operation!(impl['a, T, O: Order<T>] Get<'a, T, O> => Result<T, GetError>);

impl<T, O: Order<T>> fmt::Debug for Get<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("state", &self.node.state())
            .finish()
    }
}

/// The operation returned by [`Queue::join`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct Join<'a, T, O: Order<T> = Fifo> {
    queue: &'a Queue<T, O>,
    node: Node<()>,
}

impl<T, O: Order<T>> Waitable for Join<'_, T, O> {
    type Output = ();

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        let this = self.into_ref().get_ref();
        this.queue.poll_join(&this.node, cx)
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl<T, O: Order<T>> Drop for Join<'_, T, O> {
    #[inline]
    fn drop(&mut self) {
        self.queue.cancel_join(&self.node);
    }
}

impl_operation!(impl['a, T, O: Order<T>] Join<'a, T, O> => ());

impl<T, O: Order<T>> fmt::Debug for Join<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("state", &self.node.state())
            .finish()
    }
}

// ---------------------------------------------------------------- errors

/// The error of [`Queue::put`]: the queue is shut down. The item comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum PutError<T> {
    /// The queue was shut down; here is the item.
    ShutDown(T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutError::ShutDown(t) => t,
        }
    }
}

/// The error of [`Queue::try_put`]. The item comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TryPutError<T> {
    /// The queue is full; here is the item.
    Full(T),
    /// The queue was shut down; here is the item.
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(t) | TryPutError::ShutDown(t) => t,
        }
    }
}

/// The error of [`Put::block_for`] / [`Put::block_until`]. The item comes
/// back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum PutTimeoutError<T> {
    /// The time ran out while the queue was full; here is the item.
    Timeout(T),
    /// The queue was shut down; here is the item.
    ShutDown(T),
}

impl<T> PutTimeoutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutTimeoutError::Timeout(t) | PutTimeoutError::ShutDown(t) => t,
        }
    }
}

/// The error of [`Queue::get`]: shut down (and, for `shutdown(false)`,
/// drained).
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum GetError {
    /// The queue was shut down and has no item left for this getter.
    ShutDown,
}

/// The error of [`Queue::try_get`].
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum TryGetError {
    /// No item right now.
    Empty,
    /// The queue was shut down and has no item left.
    ShutDown,
}

/// [`Queue::task_done`] was called more times than items were put
/// (asyncio's `ValueError`).
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub struct TaskDoneError(());

macro_rules! item_error {
    ($ty:ident, $($var:ident => $msg:literal),+) => {
        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($ty::$var(_) => f.write_str(concat!(stringify!($ty), "::", stringify!($var), "(..)")),)+
                }
            }
        }
        impl<T> fmt::Display for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($ty::$var(_) => f.write_str($msg),)+
                }
            }
        }
        impl<T> std::error::Error for $ty<T> {}
    };
}
item_error!(PutError, ShutDown => "the queue is shut down");
item_error!(TryPutError, Full => "the queue is full", ShutDown => "the queue is shut down");
item_error!(PutTimeoutError, Timeout => "the put timed out", ShutDown => "the queue is shut down");

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down")
    }
}
impl std::error::Error for GetError {}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::Empty => "the queue is empty",
            TryGetError::ShutDown => "the queue is shut down",
        })
    }
}
impl std::error::Error for TryGetError {}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than items were put")
    }
}
impl std::error::Error for TaskDoneError {}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models of the queue's put/get hand-off: a thread getter that
    //! gives up (a timed-out `block_for` is one look under loom, then a
    //! cancellation, possibly after it was notified) racing a task getter
    //! and a putter. A lost wake-up is a loom deadlock; a lost or duplicated
    //! item fails the final count.

    use std::sync::Arc;
    use std::time::Duration;

    use super::{GetError, Queue};

    /// One item, a cancellable thread getter and a task getter: whatever
    /// the thread getter did (took the item, timed out while queued, or was
    /// notified and then gave up), an item it did not take reaches the task
    /// getter (a notification lost by the cancelled getter strands the task
    /// getter: a loom deadlock). If the thread took the item, a second one
    /// releases the task getter. Every item is accounted for exactly once.
    #[test]
    fn loom_queue_cancelled_getter_passes_on() {
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::unbounded());
            let q1 = q.clone();
            let thread_getter = loom::thread::spawn(move || {
                q1.get()
                    .block_for(Duration::from_millis(1))
                    .ok()
                    .map(|r| r.unwrap())
            });
            let q2 = q.clone();
            let task_getter = loom::thread::spawn(move || loom::future::block_on(q2.get()));
            q.try_put(1).unwrap();
            let by_thread = thread_getter.join().unwrap();
            if by_thread.is_some() {
                q.try_put(2).unwrap();
            }
            let by_task = task_getter.join().unwrap().unwrap();
            let mut all = vec![by_task];
            all.extend(by_thread);
            all.sort_unstable();
            assert_eq!(
                all,
                if by_thread.is_some() {
                    vec![1, 2]
                } else {
                    vec![1]
                }
            );
            assert!(q.is_empty());
            let s = q.statistics();
            assert_eq!((s.getters_waiting, s.putters_waiting), (0, 0));
        });
    }

    /// Capacity 1: a putter thread blocked on a full queue, a task getter
    /// making room, and a shutdown racing them. The putter either enqueued
    /// its item or got it back; nothing is lost or duplicated.
    #[test]
    fn loom_queue_bounded_put_get_shutdown() {
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::bounded(1));
            q.try_put(1).unwrap();
            let q1 = q.clone();
            let putter =
                loom::thread::spawn(move || q1.put(2).block().err().map(|e| e.into_inner()));
            let q2 = q.clone();
            let getter = loom::thread::spawn(move || loom::future::block_on(q2.get()));
            q.shutdown(false);
            let returned = putter.join().unwrap();
            let mut all: Vec<u32> = returned.into_iter().collect();
            if let Ok(x) = getter.join().unwrap() {
                all.push(x);
            }
            loop {
                match q.try_get() {
                    Ok(x) => all.push(x),
                    Err(_) => break,
                }
            }
            all.sort_unstable();
            assert_eq!(all, [1, 2]);
            assert_eq!(loom::future::block_on(q.get()), Err(GetError::ShutDown));
        });
    }

    /// `join` in a task while a thread takes the item and marks it done.
    #[test]
    fn loom_queue_join_task_done() {
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::unbounded());
            q.try_put(7).unwrap();
            let q1 = q.clone();
            let worker = loom::thread::spawn(move || {
                assert_eq!(q1.get().block(), Ok(7));
                q1.task_done().unwrap();
            });
            loom::future::block_on(q.join());
            worker.join().unwrap();
            assert!(q.task_done().is_err());
        });
    }
}
