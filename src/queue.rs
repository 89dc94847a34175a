//! `Queue<T>`: asyncio's `Queue` / `LifoQueue` / `PriorityQueue` (Python
//! 3.13, with `shutdown`), shared by threads and tasks.
//!
//! # State layout
//!
//! ```text
//!  Queue<T, O>
//!  +------------------------------------------------------------------+
//!  | store: O::Store  the items; closable, non-blocking push/pop:     |
//!  |        Fifo  -> lock-free ring (bounded <= 65536), else locked   |
//!  |                 VecDeque; Lifo -> locked Vec; Priority -> locked |
//!  |                 binary heap (see `store.rs`, `ring.rs`)          |
//!  | getters: WaitQueue<()>          blocked `get`s                   |
//!  | putters: WaitQueue<PutSlot<T>>  blocked `put`s, with their items |
//!  | joiners: WaitQueue<()>          blocked `join`s                  |
//!  | done: AtomicUsize               task_done calls + discarded items|
//!  +------------------------------------------------------------------+
//! ```
//!
//! There is no queue-wide lock. `put` and `get` are one `try_push` /
//! `try_pop` on the store (for the ring: one CAS and one stamp store), then
//! one `SeqCst` load of the other side's waiter-queue word: when nobody
//! waits that is the whole operation. The three waiter queues have their
//! own locks, never nested in each other; the only nesting is a putters
//! lock around a store push (lock order: putters -> store).
//!
//! `unfinished_tasks` is not stored: it is `store.pushed() - done`, where
//! `pushed` is derived from the ring's tail (or a counter the locked store
//! keeps under its lock). So the join bookkeeping costs `put`/`get` no
//! atomic operation at all; `task_done` is one CAS on `done`.
//!
//! # Waking without losing wake-ups
//!
//! A waiter queues itself, then issues a `SeqCst` fence and looks at the
//! store again (`has_item`/`has_room`/closed; `unfinished` for joiners);
//! if what it waits for is there it withdraws and retries. The operation
//! that makes it ready changes the store with a `SeqCst` CAS (or a locked
//! section followed by a `SeqCst` fence), then loads the waiter-queue word
//! with `SeqCst`. Store buffering is impossible between the two, so either
//! the waiter sees the change or the changer sees the waiter.
//!
//! * A successful push with getters queued completes the front getter with
//!   `NOTIFIED`; the getter pops when it runs.
//! * A successful pop with putters queued serves the front putter: a
//!   *thread* putter's item is moved from its node into the store right
//!   there (`DONE`: the put is finished before the thread even wakes, so a
//!   consumer never waits for a producer thread's wake-up); a *task*
//!   putter is completed with `NOTIFIED` and pushes when it runs. (Moving a
//!   task's item would finish a put whose future may then be dropped
//!   unpolled: the caller would see a cancelled put whose item was sent.)
//!
//! # Invariants
//!
//! 1. A getter stays queued only after it saw the store empty and open
//!    after queueing; a putter only after it saw it full and open.
//! 2. A `NOTIFIED` getter (putter) that is cancelled passes the wake-up to
//!    the next one if the store has an item (room), so nothing is stranded
//!    next to a sleeping waiter.
//! 3. An item lives in exactly one place: the caller, a `Put`'s node
//!    (`PutSlot`), the store, or a `Get`'s return value. A thread putter's
//!    item moves node -> store under the putters lock while the node is
//!    `QUEUED`; otherwise only the node's owner touches its slot.
//! 4. `done <= pushed` always: `task_done` only increments `done` below
//!    `pushed`, and `shutdown(true)` adds the discarded items clamped to it.
//!    A joiner is completed when `pushed - done` is seen at 0 (an event, as
//!    in asyncio: it returns even if new items arrive before it runs).
//! 5. Items are dropped with no lock held (a `Drop` may re-enter the queue).
//!
//! # Order and fairness
//!
//! Items come out in the store's order. Blocked getters, putters and
//! joiners are each served in arrival order. A `get`/`put` that arrives
//! while a notified waiter has not run yet may take the item/slot first
//! (barging, as in asyncio); the notified waiter then re-queues at the
//! *front*, so nobody starves while the queue makes progress. Thread
//! putters are served strictly in order (their items move in directly).

mod ring;
mod store;

use core::cell::{Cell, UnsafeCell};
use core::cmp::Reverse;
use core::fmt;
use core::marker::PhantomData;
use core::pin::{Pin, pin};
use core::task::Poll;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::core::driver::{WaitCx, Waitable, block_pinned_until, deadline_after, impl_operation};
use crate::core::queue::{IDLE, NOTIFIED, Node, QUEUED, WaitQueue, WakeList};
use crate::core::sync::{AtomicU32, AtomicUsize, Ordering, fence};
use store::{FifoStore, Locked, PopError, PushError, Stack, Store};

/// Outcome of a thread putter whose item was moved into the store.
const DONE: u32 = NOTIFIED + 1;

mod sealed {
    pub trait Sealed {}
}

/// The order in which a [`Queue`] hands out its items: [`Fifo`], [`Lifo`]
/// or [`Priority`]. Sealed: the three orders are the only ones.
pub trait Order<T>: sealed::Sealed {
    #[doc(hidden)]
    type Store: store::Store<T>;
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
    type Store = FifoStore<T>;
    const NAME: &'static str = "Queue";
}
impl<T> Order<T> for Lifo {
    type Store = Locked<Stack<T>>;
    const NAME: &'static str = "LifoQueue";
}
impl<T: Ord> Order<T> for Priority {
    type Store = Locked<BinaryHeap<Reverse<T>>>;
    const NAME: &'static str = "PriorityQueue";
}

/// A FIFO queue (asyncio's `Queue`).
pub type FifoQueue<T> = Queue<T, Fifo>;
/// A LIFO queue (asyncio's `LifoQueue`).
pub type LifoQueue<T> = Queue<T, Lifo>;
/// A priority queue, smallest first (asyncio's `PriorityQueue`).
pub type PriorityQueue<T> = Queue<T, Priority>;

/// A blocked putter's payload: its item, and whether a consumer may move
/// the item into the store for it (thread putters only).
struct PutSlot<T> {
    item: UnsafeCell<Option<T>>,
    refill: Cell<bool>,
}

// SAFETY: the slot is touched by the node's owner while the node is not
// `QUEUED`, and by a server holding the putters lock while it is; the
// state word's Release/Acquire transitions and the lock order the two, so
// accesses never overlap. Items only move between threads (`T: Send`).
unsafe impl<T: Send> Sync for PutSlot<T> {}

impl<T> PutSlot<T> {
    /// Takes the item. Caller: the node's owner while it is not queued, or
    /// a putters-lock holder while it is.
    #[inline]
    unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access per the caller contract above.
        unsafe { (*self.item.get()).take() }
    }

    /// Puts the item back (same contract).
    #[inline]
    unsafe fn set(&self, item: T) {
        // SAFETY: exclusive access per the caller contract.
        unsafe { *self.item.get() = Some(item) }
    }
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
/// * A bounded FIFO queue of capacity up to 65536 is lock-free (a ring of
///   slots allocated up front); other queues use a short spin lock.
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
    store: O::Store,
    getters: WaitQueue<()>,
    putters: WaitQueue<PutSlot<T>>,
    joiners: WaitQueue<()>,
    done: AtomicUsize,
    _order: PhantomData<fn() -> O>,
}

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

/// Unlinks `node` if it is still queued (`true`); `false` if a waker
/// completed it first (its outcome is then in its state).
fn withdraw<D>(q: &WaitQueue<D>, node: &Node<D>) -> bool {
    let mut wakes = WakeList::new();
    let mut g = q.lock();
    if node.state() != QUEUED {
        return false;
    }
    g.remove(node);
    g.set_idle(node, &mut wakes);
    drop(g);
    true
}

/// A thread about to queue first spins a little while (no yields), watching
/// for `ready`: the other side is often mid-operation, and queueing would
/// cost both sides the waiter-queue locks and a wake-up. Short on purpose:
/// once a consumer sleeps, the producer runs ahead and the consumer later
/// drains a batch, which beats both sides spinning in lock-step on the same
/// cache lines. Tasks never spin: they would hold up their executor.
#[inline(never)]
fn spin_until(ready: impl Fn() -> bool) -> bool {
    #[cfg(not(loom))]
    for step in 0..SPIN_STEPS {
        for _ in 0..1u32 << step {
            core::hint::spin_loop();
        }
        if ready() {
            return true;
        }
    }
    #[cfg(loom)]
    {
        loom::thread::yield_now();
        if ready() {
            return true;
        }
    }
    false
}

/// Spin rounds of [`spin_until`] (doubling: about 2^SPIN_STEPS pauses).
#[cfg(not(loom))]
const SPIN_STEPS: u32 = 7;

/// Links `node` at the front (a waiter that was woken and lost its item or
/// slot to a barging operation keeps its place) or the back.
#[inline]
fn enqueue<D>(q: &WaitQueue<D>, node: &Node<D>, front: bool, cx: &WaitCx<'_, '_>) {
    let notifier = cx.notifier(); // cloned before the lock
    let mut g = q.lock();
    if front {
        g.push_front(node, notifier);
    } else {
        g.push_back(node, notifier);
    }
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
        assert!(
            capacity != Some(0),
            "a bounded Queue needs a capacity of at least 1"
        );
        Queue {
            store: O::Store::make(capacity),
            getters: WaitQueue::new(),
            putters: WaitQueue::new(),
            joiners: WaitQueue::new(),
            done: AtomicUsize::new(0),
            _order: PhantomData,
        }
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
            node: Node::new(PutSlot {
                item: UnsafeCell::new(Some(item)),
                refill: Cell::new(false),
            }),
        }
    }

    /// Puts `item` if there is room right now; never waits. Gives the item
    /// back in [`TryPutError::Full`] or [`TryPutError::ShutDown`].
    #[inline]
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        match self.store.try_push(item) {
            Ok(()) => {
                self.after_push();
                Ok(())
            }
            Err(PushError::Full(t)) => Err(TryPutError::Full(t)),
            Err(PushError::Closed(t)) => Err(TryPutError::ShutDown(t)),
        }
    }

    /// After a successful push: wake a getter if one waits.
    #[inline]
    fn after_push(&self) {
        if self.getters.has_waiters_seqcst() {
            self.notify_getter();
        }
    }

    /// After a successful pop: serve a putter if one waits.
    #[inline]
    fn after_pop(&self) {
        if self.putters.has_waiters_seqcst() {
            self.serve_putter();
        }
    }

    #[cold]
    fn notify_getter(&self) {
        let mut wakes = WakeList::new();
        self.getters.lock().complete_front(NOTIFIED, &mut wakes);
    }

    /// A slot was freed: move the front thread putter's item into the store
    /// (`DONE`), or wake the front task putter (`NOTIFIED`).
    #[cold]
    fn serve_putter(&self) {
        let mut wakes = WakeList::new();
        let mut p = self.putters.lock();
        let slot: *const PutSlot<T> = match p.front() {
            None => return,
            Some(f) if !f.data.refill.get() => {
                p.complete_front(NOTIFIED, &mut wakes);
                return;
            }
            Some(f) => &f.data,
        };
        // SAFETY: the front node stays linked (so alive, invariant 2 of the
        // waiter queue) until we complete it, and we hold the putters lock:
        // its slot is ours to use (invariant 3).
        let slot = unsafe { &*slot };
        // SAFETY: as above.
        let item = unsafe { slot.take() }.expect("a queued putter holds its item");
        match self.store.try_push(item) {
            Ok(()) => {
                p.complete_front(DONE, &mut wakes);
                drop(p);
                drop(wakes);
                self.after_push();
            }
            // A barging put took the slot, or shutdown began (which wakes
            // every putter): the putter keeps its item and its place.
            // SAFETY: as above.
            Err(PushError::Full(t) | PushError::Closed(t)) => unsafe { slot.set(t) },
        }
    }

    #[inline]
    fn poll_put(
        &self,
        node: &Node<PutSlot<T>>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<(), PutError<T>>> {
        if node.state() == IDLE {
            // SAFETY: the node is not queued: its slot is ours.
            let item = unsafe { node.data.take() }.expect("Put polled after completion");
            match self.store.try_push(item) {
                Ok(()) => {
                    self.after_push();
                    return Poll::Ready(Ok(()));
                }
                Err(PushError::Closed(t)) => return Poll::Ready(Err(PutError::ShutDown(t))),
                // SAFETY: as above.
                Err(PushError::Full(t)) => unsafe { node.data.set(t) },
            }
        }
        self.poll_put_slow(node, cx)
    }

    #[inline(never)]
    fn poll_put_slow(
        &self,
        node: &Node<PutSlot<T>>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<(), PutError<T>>> {
        let (mut front, mut spun) = (false, false);
        loop {
            match node.state() {
                IDLE => {}
                QUEUED => {
                    if self.putters.refresh_waiter(node, cx) {
                        return Poll::Pending;
                    }
                    continue;
                }
                DONE => {
                    node.set_unlinked_state(IDLE);
                    return Poll::Ready(Ok(()));
                }
                _ => {
                    node.set_unlinked_state(IDLE);
                    front = true;
                }
            }
            // SAFETY: the node is not queued: its slot is ours.
            let item = unsafe { node.data.take() }.expect("Put polled after completion");
            match self.store.try_push(item) {
                Ok(()) => {
                    self.after_push();
                    return Poll::Ready(Ok(()));
                }
                Err(PushError::Closed(t)) => return Poll::Ready(Err(PutError::ShutDown(t))),
                // SAFETY: as above.
                Err(PushError::Full(t)) => unsafe { node.data.set(t) },
            }
            if cx.is_thread() && !spun {
                spun = true;
                if spin_until(|| self.store.peek_room()) {
                    continue;
                }
            }
            if self.park_putter(node, front, cx) {
                return Poll::Pending;
            }
        }
    }

    /// Queues a putter that found the store full. `false`: room appeared
    /// (or shutdown) before the putter was visible, and it withdrew or was
    /// completed: the caller looks at its state and retries.
    #[cold]
    fn park_putter(&self, node: &Node<PutSlot<T>>, front: bool, cx: &WaitCx<'_, '_>) -> bool {
        node.data.refill.set(cx.is_thread());
        enqueue(&self.putters, node, front, cx);
        fence(Ordering::SeqCst);
        if !self.store.has_room() && !self.store.is_closed() {
            return true;
        }
        withdraw(&self.putters, node);
        false
    }

    /// A `Put` is dropped: unlink it, or pass on the wake-up it got. Its
    /// item, if it still has one, drops with it.
    #[inline]
    fn cancel_put(&self, node: &Node<PutSlot<T>>) {
        if node.state() != IDLE {
            self.cancel_put_slow(node);
        }
    }

    #[cold]
    fn cancel_put_slow(&self, node: &Node<PutSlot<T>>) {
        if node.state() == QUEUED && withdraw(&self.putters, node) {
            return;
        }
        let outcome = node.state();
        node.set_unlinked_state(IDLE);
        // A wake-up for a free slot: give it to the next putter.
        if outcome == NOTIFIED && self.store.has_room() {
            self.serve_putter();
        }
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
        match self.store.try_pop() {
            Ok(t) => {
                self.after_pop();
                Ok(t)
            }
            Err(PopError::Empty) => Err(TryGetError::Empty),
            Err(PopError::Closed) => Err(TryGetError::ShutDown),
        }
    }

    #[inline]
    fn poll_get(&self, node: &Node<()>, cx: &mut WaitCx<'_, '_>) -> Poll<Result<T, GetError>> {
        if node.state() == IDLE {
            match self.store.try_pop() {
                Ok(t) => {
                    self.after_pop();
                    return Poll::Ready(Ok(t));
                }
                Err(PopError::Closed) => return Poll::Ready(Err(GetError::ShutDown)),
                Err(PopError::Empty) => {}
            }
        }
        self.poll_get_slow(node, cx)
    }

    #[inline(never)]
    fn poll_get_slow(&self, node: &Node<()>, cx: &mut WaitCx<'_, '_>) -> Poll<Result<T, GetError>> {
        let (mut front, mut spun) = (false, false);
        loop {
            match node.state() {
                IDLE => {}
                QUEUED => {
                    if self.getters.refresh_waiter(node, cx) {
                        return Poll::Pending;
                    }
                    continue;
                }
                _ => {
                    node.set_unlinked_state(IDLE);
                    front = true;
                }
            }
            match self.store.try_pop() {
                Ok(t) => {
                    self.after_pop();
                    return Poll::Ready(Ok(t));
                }
                Err(PopError::Closed) => return Poll::Ready(Err(GetError::ShutDown)),
                Err(PopError::Empty) => {}
            }
            if cx.is_thread() && !spun {
                spun = true;
                if spin_until(|| self.store.peek_item()) {
                    continue;
                }
            }
            if self.park_getter(node, front, cx) {
                return Poll::Pending;
            }
        }
    }

    /// Queues a getter that found the store empty (see `park_putter`).
    #[cold]
    fn park_getter(&self, node: &Node<()>, front: bool, cx: &WaitCx<'_, '_>) -> bool {
        enqueue(&self.getters, node, front, cx);
        fence(Ordering::SeqCst);
        if !self.store.has_item() && !self.store.is_closed() {
            return true;
        }
        withdraw(&self.getters, node);
        false
    }

    #[inline]
    fn cancel_get(&self, node: &Node<()>) {
        if node.state() != IDLE {
            self.cancel_get_slow(node);
        }
    }

    #[cold]
    fn cancel_get_slow(&self, node: &Node<()>) {
        if node.state() == QUEUED && withdraw(&self.getters, node) {
            return;
        }
        node.set_unlinked_state(IDLE);
        // A wake-up for an item: give it to the next getter.
        if self.store.has_item() {
            self.notify_getter();
        }
    }

    // ------------------------------------------------------------ join side

    /// Items put and not yet marked done (loads `done` first: `pushed` only
    /// grows, so the difference never underflows).
    #[inline]
    fn unfinished(&self) -> usize {
        let done = self.done.load(Ordering::SeqCst);
        self.store.pushed().wrapping_sub(done)
    }

    /// Marks one item taken from the queue as processed (asyncio's
    /// `task_done`). When every item put so far is done, joiners wake.
    /// Calling it more times than items were put is a [`TaskDoneError`] and
    /// changes nothing.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut done = self.done.load(Ordering::SeqCst);
        loop {
            if self.store.pushed().wrapping_sub(done) == 0 {
                return Err(TaskDoneError(()));
            }
            match self.done.compare_exchange_weak(
                done,
                done + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(d) => done = d,
            }
        }
        // `done <= pushed`: if `pushed` is `done + 1` now, nothing was
        // unfinished at this instant.
        if self.store.pushed() == done + 1 && self.joiners.has_waiters_seqcst() {
            self.finish_joiners();
        }
        Ok(())
    }

    /// Nothing is unfinished: wakes every joiner.
    #[cold]
    fn finish_joiners(&self) {
        let mut wakes = WakeList::new();
        let mut j = self.joiners.lock();
        while j.complete_front(NOTIFIED, &mut wakes) {}
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
        loop {
            match node.state() {
                IDLE => {}
                QUEUED => {
                    if self.joiners.refresh_waiter(node, cx) {
                        return Poll::Pending;
                    }
                    continue;
                }
                _ => {
                    // Completed: the count reached 0 (an event, as in asyncio).
                    node.set_unlinked_state(IDLE);
                    return Poll::Ready(());
                }
            }
            if self.unfinished() == 0 {
                return Poll::Ready(());
            }
            enqueue(&self.joiners, node, false, cx);
            fence(Ordering::SeqCst);
            if self.unfinished() != 0 {
                return Poll::Pending;
            }
            if withdraw(&self.joiners, node) {
                return Poll::Ready(());
            }
        }
    }

    #[inline]
    fn cancel_join(&self, node: &Node<()>) {
        if node.state() == QUEUED && withdraw(&self.joiners, node) {
            return;
        }
        if node.state() != IDLE {
            node.set_unlinked_state(IDLE);
        }
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
        self.store.close();
        if immediate {
            // Closed: `pushed` is final now. Items are dropped as they come
            // out, with no lock held.
            let mut discarded = 0usize;
            while let Ok(item) = self.store.try_pop() {
                drop(item);
                discarded += 1;
            }
            if discarded > 0 {
                let pushed = self.store.pushed();
                let mut done = self.done.load(Ordering::SeqCst);
                while let Err(d) = self.done.compare_exchange_weak(
                    done,
                    done.saturating_add(discarded).min(pushed),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    done = d;
                }
                if self.unfinished() == 0 {
                    self.finish_joiners();
                }
            }
        }
        let mut wakes = WakeList::new();
        {
            let mut g = self.getters.lock();
            while g.complete_front(NOTIFIED, &mut wakes) {}
        }
        {
            let mut p = self.putters.lock();
            while p.complete_front(NOTIFIED, &mut wakes) {}
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.store.is_closed()
    }

    // ------------------------------------------------------------ sizes

    /// Number of items in the queue now (asyncio's `qsize()`).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the queue holds no item now.
    pub fn is_empty(&self) -> bool {
        !self.store.has_item()
    }

    /// Whether the queue is at capacity now (never for an unbounded queue).
    pub fn is_full(&self) -> bool {
        !self.store.has_room()
    }

    /// The capacity (asyncio's `maxsize`); `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        let c = self.store.capacity();
        (c != usize::MAX).then_some(c)
    }

    /// A snapshot of the queue's state (anyio-style `statistics()`); each
    /// field is read separately, so it is exact only when the queue is
    /// quiet.
    pub fn statistics(&self) -> QueueStatistics {
        QueueStatistics {
            len: self.len(),
            capacity: self.capacity(),
            getters_waiting: self.getters.lock().len(),
            putters_waiting: self.putters.lock().len(),
            joiners_waiting: self.joiners.lock().len(),
            unfinished_tasks: self.unfinished(),
            shut_down: self.is_shut_down(),
        }
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

/// Declares a queue operation: the value holds the queue and one waiter
/// node, polls through `$poll`, and cancels through `$cancel` when dropped.
macro_rules! queue_operation {
    ($(#[$attr:meta])* $name:ident, $data:ty, $out:ty, $poll:ident, $cancel:ident) => {
        $(#[$attr])*
        #[must_use = "an operation does nothing until awaited or blocked on"]
        pub struct $name<'a, T, O: Order<T> = Fifo> {
            queue: &'a Queue<T, O>,
            node: Node<$data>,
        }

        impl<T, O: Order<T>> Waitable for $name<'_, T, O> {
            type Output = $out;

            #[inline]
            fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<$out> {
                let this = self.into_ref().get_ref();
                this.queue.$poll(&this.node, cx)
            }

            fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
                self.get_ref().node.state_word()
            }
        }

        impl<T, O: Order<T>> Drop for $name<'_, T, O> {
            #[inline]
            fn drop(&mut self) {
                self.queue.$cancel(&self.node);
            }
        }

        impl<T, O: Order<T>> fmt::Debug for $name<'_, T, O> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("state", &self.node.state())
                    .finish()
            }
        }
    };
}

queue_operation!(
    /// The operation returned by [`Queue::put`]: `.await` it, or `.block()`,
    /// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the put and
    /// drops the item, which was never enqueued.
    ///
    /// The item waits in the node's slot: a consumer may move it into the
    /// store while a blocked thread's put is queued (`Queue::serve_putter`).
    Put, PutSlot<T>, Result<(), PutError<T>>, poll_put, cancel_put
);

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

    #[inline(always)]
    fn block_inner(self, deadline: Option<Instant>) -> Result<(), PutTimeoutError<T>> {
        let mut op = pin!(self);
        // The first attempt inline, so that a put that does not wait never
        // moves the operation or calls out of line.
        match op.as_mut().poll_wait(&mut WaitCx::Thread) {
            Poll::Ready(Ok(())) => Ok(()),
            Poll::Ready(Err(PutError::ShutDown(t))) => Err(PutTimeoutError::ShutDown(t)),
            Poll::Pending => Self::block_slow(op, deadline),
        }
    }

    /// The put queued: wait, and on timeout withdraw it and recover the item.
    #[inline(never)]
    fn block_slow(
        mut op: Pin<&mut Self>,
        deadline: Option<Instant>,
    ) -> Result<(), PutTimeoutError<T>> {
        match block_pinned_until(op.as_mut(), deadline) {
            Some(Ok(())) => Ok(()),
            Some(Err(PutError::ShutDown(t))) => Err(PutTimeoutError::ShutDown(t)),
            None => {
                let this = op.into_ref().get_ref();
                let (q, node) = (this.queue, &this.node);
                if !(node.state() == QUEUED && withdraw(&q.putters, node)) {
                    // Completed after the driver's last look.
                    let outcome = node.state();
                    node.set_unlinked_state(IDLE);
                    if outcome == DONE {
                        return Ok(()); // a consumer moved the item in
                    }
                    if q.store.has_room() {
                        q.serve_putter(); // pass the wake-up on
                    }
                }
                // SAFETY: the node is idle now: the slot is ours.
                let item = unsafe { node.data.take() }.expect("a pending put holds its item");
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

queue_operation!(
    /// The operation returned by [`Queue::get`]: `.await` it, or `.block()`,
    /// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the get; no
    /// item is lost.
    Get, (), Result<T, GetError>, poll_get, cancel_get
);

impl_operation!(impl['a, T, O: Order<T>] Get<'a, T, O> => Result<T, GetError>);

queue_operation!(
    /// The operation returned by [`Queue::join`]: `.await` it, or
    /// `.block()`, `.block_for(d)`, `.block_until(t)`.
    Join, (), (), poll_join, cancel_join
);

impl_operation!(impl['a, T, O: Order<T>] Join<'a, T, O> => ());

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

    /// A capacity-1 queue holding the item 1.
    fn full_of_one() -> Arc<Queue<u32>> {
        let q = Arc::new(Queue::bounded(1));
        q.try_put(1).unwrap();
        q
    }

    /// Everything left in the queue, in order.
    fn drain(q: &Queue<u32>) -> Vec<u32> {
        core::iter::from_fn(|| q.try_get().ok()).collect()
    }

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
            let q = full_of_one();
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
            all.extend(drain(&q));
            all.sort_unstable();
            assert_eq!(all, [1, 2]);
            assert_eq!(loom::future::block_on(q.get()), Err(GetError::ShutDown));
        });
    }

    /// The lock-free ring (bounded FIFO) and a blocked thread getter: a
    /// task putter's push races the getter's queue-then-recheck. A lost
    /// wake-up (neither sees the other) is a loom deadlock.
    #[test]
    fn loom_ring_getter_putter_no_lost_wakeup() {
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::bounded(1));
            let q1 = q.clone();
            let getter = loom::thread::spawn(move || q1.get().block());
            loom::future::block_on(q.put(5)).unwrap();
            assert_eq!(getter.join().unwrap(), Ok(5));
            assert!(q.is_empty());
        });
    }

    /// Capacity 1, full: a thread putter that gives up (one look under
    /// loom, then a cancellation) races a task getter that frees the slot
    /// and may move the putter's item into the ring. The put either
    /// reports success and its item is in the queue, or times out and the
    /// item comes back: never both, never neither.
    #[test]
    fn loom_ring_refill_races_timeout() {
        loom::model(|| {
            let q = full_of_one();
            let q1 = q.clone();
            let putter = loom::thread::spawn(move || q1.put(2).block_for(Duration::from_millis(1)));
            assert_eq!(loom::future::block_on(q.get()), Ok(1));
            let put = putter.join().unwrap();
            let rest = drain(&q);
            match put {
                Ok(()) => assert_eq!(rest, [2]),
                Err(e) => {
                    assert_eq!(e.into_inner(), 2);
                    assert!(rest.is_empty());
                }
            }
            let s = q.statistics();
            assert_eq!((s.getters_waiting, s.putters_waiting), (0, 0));
        });
    }

    /// A task putter that was woken for a free slot and then dropped passes
    /// the slot on to the thread putter queued behind it (else that thread
    /// sleeps forever next to a free slot: a loom deadlock).
    #[test]
    fn loom_notified_task_putter_cancel_passes_on() {
        use core::future::Future;
        use core::task::{Context, Waker};
        loom::model(|| {
            let q = full_of_one();
            let mut task_put = Box::pin(q.put(2));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(task_put.as_mut().poll(&mut cx).is_pending()); // queued first
            let q1 = q.clone();
            let thread_put = loom::thread::spawn(move || q1.put(3).block());
            let q2 = q.clone();
            let getter = loom::thread::spawn(move || q2.try_get());
            let got = getter.join().unwrap();
            drop(task_put); // notified or not: cancelled now, item 2 dropped
            if got.is_ok() {
                // The freed slot must reach the thread putter.
                thread_put.join().unwrap().unwrap();
                assert_eq!(q.try_get(), Ok(3));
            } else {
                // The getter ran before anything: release the thread putter.
                assert_eq!(q.try_get(), Ok(1));
                thread_put.join().unwrap().unwrap();
                assert_eq!(q.try_get(), Ok(3));
            }
            assert!(q.is_empty());
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
