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
//!  | returned: Returned<T>           items given back by dropped gets |
//!  | getters: WaitQueue<ItemCell<T>> blocked `get`s, items handed them|
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
//! or getters lock around a store operation (lock order: putters ->
//! store, getters -> store; the rendezvous store's count of receivers,
//! which the getters side changes, is one atomic word and takes no lock).
//!
//! `unfinished_tasks` is not stored: it is `store.pushed() - done`, where
//! `pushed` is derived from the ring's tail (or a counter the locked store
//! keeps under its lock). So the join bookkeeping costs `put`/`get` no
//! atomic operation at all; `task_done` is one CAS on `done`.
//!
//! # Waking without losing wake-ups
//!
//! A waiter takes its queue's lock (a `SeqCst` read-modify-write of the
//! waiter-queue word), queues itself, unlocks, and looks at the store
//! again with `SeqCst` loads (`has_item`/`has_room`/closed; `unfinished`
//! for joiners); if what it waits for is there it withdraws and retries.
//! The operation that makes it ready changes the store with a `SeqCst` CAS
//! (or a locked section followed by a `SeqCst` fence), then loads the
//! waiter-queue word with `SeqCst`, counting a waiter that holds the lock
//! to link as a waiter (`has_waiters_seqcst`). Store buffering is
//! impossible between the two, so either the waiter sees the change or the
//! changer sees the waiter (or its lock, and then takes the lock and finds
//! it linked).
//!
//! * A successful push with getters queued pops the oldest item for the
//!   front getter, thread or task, and completes it with `DONE`, the item
//!   in its node (`notify_getter`): its get is over before it runs, and the
//!   slot is free for the next put at once, so a producer never waits for a
//!   consumer's wake-up to put again. A getter handed an item and dropped
//!   before it ran gives the item back (`give_back`): to the next waiting
//!   getter, or, when none waits, into `returned`, whose items every pop
//!   takes before the store's (they left the store before those). A timed-out
//!   thread getter that was handed an item returns it.
//! * A successful pop with putters queued serves the front putter: a
//!   *thread* putter's item is moved from its node into the store right
//!   there (`DONE`: the put is finished before the thread even wakes, so a
//!   consumer never waits for a producer thread's wake-up); a *task*
//!   putter is completed with `NOTIFIED` and pushes when it runs. (Moving a
//!   task's item would finish a put whose future may then be dropped
//!   unpolled: the caller would see a cancelled put whose item was sent.)
//!   A queued *reservation* is given the slot there (`GRANTED`), thread or
//!   task: one dropped before it runs releases it again, which serves the
//!   next putter.
//!
//! # A channel's queue: reservations and the rendezvous
//!
//! A channel makes its queue with `for_channel`, whose store can *hold*
//! slots for send permits: `reserve` waits among the putters (a
//! `Reservers` policy on the same waiter queue, so puts and reservations
//! are served in one order), `send_reserved` pushes into a held slot
//! without a room check, `unreserve` frees one and serves the front
//! putter, as a pop does. A held slot counts as taken for every push.
//!
//! Capacity 0 is the **rendezvous** store, whose room is the number of
//! getters linked in the getters queue (counted in by `Getters::enqueue`,
//! out by `withdrawn` and by every completion of a getter), less the
//! slots permits hold, in one atomic word (`rendezvous.rs`). So:
//!
//! * a push succeeds only while a linked getter has no item yet. With a
//!   getter queued and nothing buffered or given back before it, the item
//!   goes straight into the front getter's node (`push_to_getter`, `DONE`,
//!   under the getters lock): one store step takes that getter's unit of
//!   room and its count (a permit's send takes its held slot instead).
//!   Otherwise the item is pushed and the `after_push` that follows hands
//!   it to a getter: the store holds it from the push to that hand-off
//!   (or, if the getter it came for withdrew meanwhile, until the next
//!   getter pops it), and items buffered come out first. An item a
//!   dropped getter gives back goes to the next getter or to `returned`,
//!   as on any queue;
//! * a getter that finds the store empty takes the item of the front
//!   putter itself, thread or task (`take_from_putter`, `DONE`: the put is
//!   done once a getter has its item);
//! * a getter that links brings room, so its re-check first serves the
//!   front putter (its item moves into the store, or a reservation takes
//!   the slot: a reservation needs a getter that waits).
//!
//! # Invariants
//!
//! 1. A getter stays queued only after it saw the store empty and open
//!    after queueing; a putter only after it saw it full and open.
//! 2. A `NOTIFIED` getter (putter) that is cancelled passes the wake-up to
//!    the next one if the store has an item (room), so nothing is stranded
//!    next to a sleeping waiter; a getter handed an item (`DONE`) that is
//!    cancelled passes the item itself (`give_back`).
//! 3. An item lives in exactly one place: the caller, a `Put`'s node
//!    (`PutSlot`), the store, `returned`, a `Get`'s node (`ItemCell`), or a
//!    `Get`'s return value. A thread putter's item (any putter's on a
//!    rendezvous queue) moves node -> store, or node -> a rendezvous
//!    getter, under the putters lock while the node is `QUEUED`; an item
//!    moves store/`returned` -> a getter's node under the getters lock
//!    while that node is `QUEUED`; otherwise only the node's owner touches
//!    its cell.
//! 4. `done <= pushed` always: `task_done` only increments `done` below
//!    `pushed`, and `shutdown(true)` adds the discarded items clamped to it.
//!    A joiner is completed when `pushed - done` is seen at 0 (an event, as
//!    in asyncio: it returns even if new items arrive before it runs).
//! 5. Items are dropped with no lock held (a `Drop` may re-enter the queue).
//! 6. Every held slot has one owner (a channel's permit), which fills it
//!    or releases it once; a slot `GRANTED` to a reservation that is then
//!    dropped is released by its `pass_on`.
//!
//! # Order and fairness
//!
//! Items come out in the store's order, items given back first. Blocked
//! getters, putters and joiners are each served in arrival order. Getters
//! are served strictly in order (each is handed its item), as are thread
//! putters (their items move in directly) and reservations (the slot is
//! taken for them), which wait in the same order as the puts. A `put` that
//! arrives while a notified task putter has not run yet may take the slot
//! first (barging, as in asyncio); the notified putter then re-queues at
//! the *front*, so nobody starves while the queue makes progress.

mod rendezvous;
mod ring;
mod store;

use core::cell::{Cell, UnsafeCell};
use core::cmp::Reverse;
use core::fmt;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::Poll;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::engine::driver::{
    Waitable, block_pinned_until, deadline_after, impl_future, impl_operation,
};
use crate::engine::loom_const_fn;
use crate::engine::node::{NOTIFIED, WaitCx};
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicUsize, Ordering};
use crate::engine::waiter::{Link, MAX_SPIN_DELAY, Policy, SpinPace, Taken, Waiter};
use crate::engine::wake::WakeList;
use crate::error::{
    GetError, GetTimeoutError, PutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError,
};
pub(crate) use store::PushError;
use store::{FifoStore, Locked, LockedFifo, PopError, Returned, Stack, Store};

/// Outcome of a putter whose item was moved into the store (a thread's
/// put; any put on a rendezvous queue) or taken by a receiver (rendezvous).
const DONE: u32 = NOTIFIED + 1;
/// Outcome of a reservation that was given a slot while it waited.
const GRANTED: u32 = DONE + 1;

/// A reservation failed: the queue is shut down (a channel maps it to its
/// own error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShutDown;

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

/// The item a waiter's node carries: a blocked put's item, or the item
/// handed to a blocked get. Touched by the node's owner while the node is
/// not `QUEUED`, and by a server holding the node's waiter-queue lock while
/// it is (invariant 3).
pub(crate) struct ItemCell<T>(UnsafeCell<Option<T>>);

// SAFETY: the cell is touched by the node's owner while the node is not
// `QUEUED`, and by a server holding the queue's lock while it is; the
// state word's Release/Acquire transitions and the lock order the two, so
// accesses never overlap. Items only move between threads (`T: Send`).
unsafe impl<T: Send> Sync for ItemCell<T> {}

impl<T> ItemCell<T> {
    #[inline]
    const fn new(item: Option<T>) -> Self {
        ItemCell(UnsafeCell::new(item))
    }

    /// Takes the item. Caller: the node's owner while it is not queued, or
    /// a holder of the node's queue lock while it is.
    #[inline]
    unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access per the caller contract above.
        unsafe { (*self.0.get()).take() }
    }

    /// Puts an item in (same contract).
    #[inline]
    unsafe fn set(&self, item: T) {
        // SAFETY: exclusive access per the caller contract.
        unsafe { *self.0.get() = Some(item) }
    }
}

/// A blocked putter's payload: its item (none for a reservation), whether
/// a consumer may move the item into the store for it (thread putters; any
/// putter of a rendezvous queue), and whether it is a reservation (which a
/// consumer always serves in place: it takes a slot for it).
pub(crate) struct PutSlot<T> {
    item: ItemCell<T>,
    refill: Cell<bool>,
    reserve: bool,
}

// SAFETY: `refill` follows the item's rule (`ItemCell`): the owner writes
// it while the node is not `QUEUED`, a putters-lock holder reads it while
// it is.
unsafe impl<T: Send> Sync for PutSlot<T> {}

impl<T> PutSlot<T> {
    /// The payload of a put of `item`.
    #[inline]
    fn put(item: T) -> Self {
        PutSlot {
            item: ItemCell::new(Some(item)),
            refill: Cell::new(false),
            reserve: false,
        }
    }

    /// The payload of a reservation.
    #[inline]
    fn reservation() -> Self {
        PutSlot {
            item: ItemCell::new(None),
            refill: Cell::new(true),
            reserve: true,
        }
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
/// **Cancel-safety**: dropping a `get` never loses an item (one handed to
/// it while it waited goes to the next waiting getter, or back to the front
/// of the queue). Dropping a `put` drops its item, which was never enqueued: use
/// [`Put::cancel`] on a pinned put to get the item back (a timed-out
/// [`Put::block_for`] gives it back by itself). Dropping a `join` has no
/// effect on the queue.
///
/// **Order**: items come out in the queue's order; blocked getters, blocked
/// putters and joiners are each served in arrival order. A blocked getter
/// is handed its item directly, so a `get` that arrives later cannot take
/// it first; so is a blocked *thread* putter: a consumer that frees a slot
/// moves its item in. A `put` that arrives while a woken *task* putter has
/// not run yet may take the slot first (barging, as in asyncio); the woken
/// putter then re-queues at the *front*, so nobody starves while the queue
/// makes progress.
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
    /// Items handed to getters that were dropped before they ran: they
    /// come out first (`give_back`).
    returned: Returned<T>,
    getters: WaitQueue<ItemCell<T>>,
    putters: WaitQueue<PutSlot<T>>,
    joiners: WaitQueue<()>,
    done: AtomicUsize,
    _order: PhantomData<fn() -> O>,
}

// Items move whole between the caller, the store and the waiters' slots;
// no operation leaves a half-moved item or a half-linked waiter behind a
// panic (the stores' and queues' critical sections do not panic).
impl<T, O: Order<T>> core::panic::UnwindSafe for Queue<T, O> {}
impl<T, O: Order<T>> core::panic::RefUnwindSafe for Queue<T, O> {}

impl<T> Queue<T, Fifo> {
    /// A FIFO queue holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0: there is no zero-capacity queue; an unbounded
    /// one is [`unbounded`](Self::unbounded) (see
    /// [`with_maxsize`](Self::with_maxsize) for how 0 reads in C).
    pub fn bounded(capacity: usize) -> Self {
        Self::make(Some(capacity))
    }

    /// A channel's queue: capacity `Some(0)` is a rendezvous, a bounded one
    /// takes reservations (see `FifoStore::for_channel`); `None` is
    /// unbounded.
    pub(crate) fn for_channel(capacity: Option<usize>) -> Self {
        Self::from_store(FifoStore::for_channel(capacity))
    }

    loom_const_fn! {
        /// A FIFO queue without a size limit (`put` never waits). `const`, so
        /// a queue can live in a `static`.
        ///
        /// ```
        /// static JOBS: dualsync::Queue<u32> = dualsync::Queue::unbounded();
        /// JOBS.try_put(7).unwrap();
        /// assert_eq!(JOBS.try_get(), Ok(7));
        /// ```
        pub fn unbounded() -> Self {
            Self::from_store(FifoStore::Locked(LockedFifo::Plain(Locked::unbounded(
                VecDeque::new()
            ))))
        }
    }
}

impl<T> Queue<T, Lifo> {
    /// A LIFO queue holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (see [`Queue::with_maxsize`]).
    pub fn bounded_lifo(capacity: usize) -> Self {
        Self::make(Some(capacity))
    }

    loom_const_fn! {
        /// A LIFO queue without a size limit (`const`).
        pub fn unbounded_lifo() -> Self {
            Self::from_store(Locked::unbounded(store::Stack(Vec::new())))
        }
    }
}

impl<T: Ord> Queue<T, Priority> {
    /// A priority queue (smallest first) holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (see [`Queue::with_maxsize`]).
    pub fn bounded_priority(capacity: usize) -> Self {
        Self::make(Some(capacity))
    }

    loom_const_fn! {
        /// A priority queue (smallest first) without a size limit (`const`).
        pub fn unbounded_priority() -> Self {
            Self::from_store(Locked::unbounded(BinaryHeap::new()))
        }
    }
}

impl<T, O: Order<T>> Queue<T, O> {
    /// A queue in any order holding at most `maxsize` items (asyncio's
    /// `maxsize`), or unbounded with `None`. (Not a preallocation, unlike
    /// std's `with_capacity`.) [`capacity`](Self::capacity) reports the
    /// `maxsize` given, `usize::MAX` included.
    ///
    /// **Capacity 0**: one meaning in Rust and C, "no zero-capacity queue":
    /// a queue holds at least one item, or is unbounded. Rust says
    /// unbounded with `None` and refuses `Some(0)` (a panic); C, which has
    /// no `Option`, spells `None` as 0 (`dualsync_queue_new(0, ...)`,
    /// `DUALSYNC_QUEUE_UNBOUNDED`, and a `capacity` of 0 in
    /// `dualsync_queue_statistics`), as asyncio's `maxsize=0` does.
    ///
    /// # Panics
    ///
    /// If `maxsize` is `Some(0)`.
    ///
    /// ```
    /// use dualsync::{Lifo, Queue};
    /// let q = Queue::<u32, Lifo>::with_maxsize(Some(2));
    /// assert_eq!(q.capacity(), Some(2));
    /// assert_eq!(Queue::<u32, Lifo>::with_maxsize(None).capacity(), None);
    /// let huge = Queue::<u32, Lifo>::with_maxsize(Some(usize::MAX));
    /// assert_eq!(huge.capacity(), Some(usize::MAX));
    /// ```
    pub fn with_maxsize(maxsize: Option<usize>) -> Self {
        Self::make(maxsize)
    }

    fn make(capacity: Option<usize>) -> Self {
        assert!(
            capacity != Some(0),
            "a bounded Queue needs a capacity of at least 1"
        );
        Self::from_store(O::Store::make(capacity))
    }

    loom_const_fn! {
        fn from_store(store: O::Store) -> Self {
            Queue {
                store,
                returned: Returned::new(),
                getters: WaitQueue::new(),
                putters: WaitQueue::new(),
                joiners: WaitQueue::new(),
                done: AtomicUsize::new(0),
                _order: PhantomData,
            }
        }
    }

    // ------------------------------------------------------------ put side

    /// Puts `item` in the queue, waiting for room while it is full: `.await`
    /// it, or `.block()`, `.block_for(d)`, `.block_until(t)` on a thread.
    ///
    /// Fails with [`PutError::ShutDown`] (giving the item back) once the
    /// queue is shut down, including for a putter blocked when that happens.
    /// Blocked putters are served in arrival order.
    ///
    /// **Cancel-safety**: the queue is left as if the put never happened, but
    /// an awaited `put` that is *dropped* while it waits (a lost `select!`
    /// branch, a `tokio::time::timeout`) drops its item with it: in tokio's
    /// sense it is *not* cancel-safe for the caller. To keep the item, pin
    /// the put and race it by reference, then [`Put::cancel`] it: that gives
    /// the item back. [`Put::block_for`] gives it back on timeout.
    ///
    /// ```
    /// let q = dualsync::Queue::bounded(1);
    /// q.put(1).block().unwrap();                       // a thread
    /// futures::executor::block_on(async {
    ///     assert_eq!(q.get().await, Ok(1));            // a task
    ///     q.put(2).await.unwrap();
    /// });
    /// assert_eq!(q.try_get(), Ok(2));
    /// ```
    #[inline]
    pub fn put(&self, item: T) -> Put<'_, T, O> {
        Put {
            queue: self,
            waiter: Waiter::new(PutSlot::put(item)),
        }
    }

    /// Puts `item` if there is room right now; never waits. Gives the item
    /// back in [`TryPutError::Full`] or [`TryPutError::ShutDown`].
    #[inline]
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        match self.push(item) {
            Ok(()) => Ok(()),
            Err(PushError::Full(t)) => Err(TryPutError::Full(t)),
            Err(PushError::Closed(t)) => Err(TryPutError::ShutDown(t)),
        }
    }

    /// How often a thread about to queue looks at the store while it spins
    /// (`Policy::spin_gap`, a power of two of pauses). At capacity 0 or 1
    /// a producer and a consumer go in lock-step, each waiting for one
    /// hand-off of the other: look every 2 pauses. A larger queue looks
    /// every 16 at most, which lets a producer that is ahead fill a batch
    /// that the consumer then drains without waiting (looking more often
    /// was measured to halve the throughput at capacity 1024).
    #[inline]
    fn spin_gap(&self) -> u32 {
        match self.store.capacity() {
            Some(0 | 1) => 1,
            _ => 4,
        }
    }

    /// A hand-off queue (capacity 1, or a rendezvous channel's 0): a
    /// blocking thread `put` or `get` that must wait links at once,
    /// without the spin before it (the spin after it, on its own state
    /// word, stays). Every item is then a hand-off done by the other side
    /// in the same step as its own operation: a pop moves a linked thread
    /// putter's item into the freed slot (or wakes a task putter), a push
    /// hands its item to a linked getter and leaves the slot free for the
    /// next push; on a rendezvous channel a send hands its item to a
    /// linked receiver and returns at once, and a receive takes a linked
    /// send's item. So two items are in flight, the slot's (or the linked
    /// send's) and the linked waiter's, instead of one, and a hand-off no
    /// longer waits for the spinning side to see the change.
    /// Measured (2-core VM, 4 interleaved rounds, median ns per item):
    /// `spsc_cap1_sync` 667 -> 532 (kanal 488-507, crossbeam 692-742), the
    /// channel 742 -> 558, through permits 787 -> 574; `spsc_cap1_mixed`
    /// (thread producer, task consumer) 3,552 -> 2,585 (kanal
    /// 2,310-2,443); `spsc_cap0_sync` 787 -> 619 (kanal 694-738), once
    /// a rendezvous receiver no longer spun for a send to link. At
    /// capacity 1 a reservation still spins: it carries no item to move
    /// in, and linking it at once too made the permit row slower (665 ->
    /// 890 in a trial).
    #[inline]
    fn hand_off(&self) -> bool {
        matches!(self.store.capacity(), Some(0 | 1))
    }

    /// The longest spin delay of a blocking `get` or `put` (see
    /// `engine::waiter::spin_until`; [`SpinPace::Ahead`]): half the
    /// capacity in pauses, about the time the other side needs to move that
    /// many items, at most [`MAX_SPIN_DELAY`]; 0 at capacity 0 or 1, where
    /// every item is a hand-off and a late look only adds latency. A
    /// consumer behind a streaming producer then drains batches (measured
    /// at capacity 1024, 2 threads: 38-53 ns per item with no delay, 20-22
    /// with it; std 19), while a ping-pong over the queue (never two items
    /// in it, so never "ahead") keeps looking at once (a probe over two
    /// capacity-1024 queues: 0.2-0.6 µs per round trip, against 15 µs with a
    /// fixed 512-pause delay; std 60-78 µs).
    #[inline]
    fn max_spin_delay(&self) -> u32 {
        match self.store.capacity() {
            Some(c) => (c / 2).min(MAX_SPIN_DELAY as usize) as u32,
            None => MAX_SPIN_DELAY,
        }
    }

    /// One push that does not wait, and the hand-off to a waiting getter
    /// it makes possible: the store's push, then [`after_push`](Self::after_push);
    /// on a rendezvous queue with a getter waiting, the item goes straight
    /// into that getter's node instead ([`push_to_getter`](Self::push_to_getter)).
    #[inline(always)]
    fn push(&self, item: T) -> Result<(), PushError<T>> {
        let Some(item) = self.not_handed(item, false) else {
            return Ok(());
        };
        self.store.try_push(item)?;
        self.after_push();
        Ok(())
    }

    /// `item` back unless this is a rendezvous queue and
    /// [`push_to_getter`](Self::push_to_getter) handed it to a getter.
    #[inline(always)]
    fn not_handed(&self, item: T, held: bool) -> Option<T> {
        if self.store.is_rendezvous()
            && self.getters.has_waiters_seqcst()
            && self.returned.is_empty_hint()
        {
            self.push_to_getter(item, held)
        } else {
            Some(item)
        }
    }

    /// Rendezvous: hands `item` to the front getter (`DONE`) with one
    /// store step (`push_to_receiver`: its room unit, or the slot `held`
    /// by a permit, and the getter's count), where pushing it and popping
    /// it back out for that getter would take three.
    /// `Some(item)`: not handed; the store's push decides (no getter
    /// waits, items given back or buffered must come out first, the room
    /// is held by a permit, or closed). The caller saw a getter waiting
    /// and no item given back (`SeqCst` load, then the hint).
    #[inline(never)]
    fn push_to_getter(&self, item: T, held: bool) -> Option<T> {
        let mut item = Some(item);
        self.getters.with_lock(|g, wakes| {
            g.pop_front(wakes, |head| {
                // Under the getters lock, where items are given back: one
                // given back now comes out first (the getter that re-checks
                // takes it).
                if self.returned.len() != 0 {
                    return None;
                }
                self.store.push_to_receiver(held).ok()?;
                let t = item.take().expect("handed once");
                // SAFETY: the head is queued and we hold the getters lock:
                // its cell is ours to fill (invariant 3).
                unsafe { head.data.set(t) };
                Some(DONE)
            })
        });
        item
    }

    /// After a successful push: wake a getter if one waits.
    #[inline]
    fn after_push(&self) {
        if self.getters.has_waiters_seqcst() {
            self.notify_getter();
        }
    }

    /// After a slot was freed (a pop, a released reservation, a rendezvous
    /// receiver come to wait): serve a putter if one waits.
    #[inline]
    fn after_pop(&self) {
        if self.putters.has_waiters_seqcst() {
            self.serve_putter();
        }
    }

    /// An item came (or a wake-up was given up): hand the oldest item to
    /// the front getter (`DONE`: its get is over before it even runs, and
    /// the slot is free for the next put at once), then serve a putter for
    /// the slot. The getter stays queued if a barging get took the item.
    #[cold]
    fn notify_getter(&self) {
        let handed = self.getters.with_lock(|g, wakes| {
            let handed = g.pop_front(wakes, |head| {
                let item = self.pop().ok()?;
                // SAFETY: the head is queued and we hold the getters lock:
                // its cell is ours to fill (invariant 3).
                unsafe { head.data.set(item) };
                Some(DONE)
            });
            if handed.is_some() {
                self.store.remove_receivers(1);
            }
            handed.is_some()
        });
        if handed {
            self.after_pop();
        }
    }

    /// A getter handed `item` was dropped before it ran: the item goes to
    /// the next waiting getter, or, when none waits, it is kept to come out
    /// before every item in the store (FIFO holds: it left the store before
    /// them). After `shutdown(true)` it is discarded instead.
    #[cold]
    fn give_back(&self, item: T) {
        let mut item = Some(item);
        self.getters.with_lock(|g, wakes| {
            let handed = g.pop_front(wakes, |head| {
                // SAFETY: as in `notify_getter`.
                unsafe { head.data.set(item.take()?) };
                Some(DONE)
            });
            if handed.is_some() {
                self.store.remove_receivers(1);
            } else if let Some(t) = item.take() {
                // Under the getters lock: a getter that links after this
                // sees it in its re-check (invariant 1).
                item = self.returned.push(t).err();
            }
        });
        if item.is_some() {
            drop(item); // with no lock held (invariant 5)
            self.count_discarded(1);
        }
    }

    /// A slot was freed: take it for the front reservation (`GRANTED`),
    /// move the front thread putter's item into the store (`DONE`; any
    /// putter's on a rendezvous queue), or wake the front task putter
    /// (`NOTIFIED`).
    #[cold]
    fn serve_putter(&self) {
        let served = self.putters.with_lock(|p, wakes| {
            p.pop_front(wakes, |head| {
                let slot = &head.data;
                if slot.reserve {
                    // A reservation handed to a waiter that is then dropped
                    // is released again (`Reservers::pass_on`). A full or
                    // closed store leaves it queued (shutdown wakes it).
                    return self.store.try_reserve().is_ok().then_some(GRANTED);
                }
                if !slot.refill.get() {
                    return Some(NOTIFIED);
                }
                // SAFETY: the head is queued and we hold the putters lock:
                // its slot is ours to use (invariant 3).
                let item = unsafe { slot.item.take() }.expect("a queued putter holds its item");
                match self.store.try_push(item) {
                    Ok(()) => Some(DONE),
                    // A barging put took the slot, or shutdown began (which
                    // wakes every putter): the putter keeps its item and its
                    // place.
                    Err(PushError::Full(t) | PushError::Closed(t)) => {
                        // SAFETY: as above.
                        unsafe { slot.item.set(t) };
                        None
                    }
                }
            })
        });
        if served == Some(DONE) {
            self.after_push();
        }
    }

    // ------------------------------------------------------------ get side

    /// Takes the next item, waiting while the queue is empty: `.await` it,
    /// or `.block()`, `.block_for(d)`, `.block_until(t)` on a thread.
    ///
    /// After `shutdown(false)` the remaining items are still handed out,
    /// then [`GetError::ShutDown`]; after `shutdown(true)` (or once drained)
    /// it fails at once, and blocked getters wake with it.
    ///
    /// **Cancel-safety**, in tokio's sense too: dropping a pending `get`
    /// loses no item, and the caller loses nothing. A blocked getter is
    /// handed the oldest item as soon as one comes (the get is over before
    /// it runs); if it is dropped before it runs, the item goes to the next
    /// waiting getter, or, when none waits, back to the front of the queue,
    /// before every item still in it (several given back come out in the
    /// order they were given back). Such an item holds no slot: for a
    /// moment [`len`](Self::len) may pass the capacity by their number.
    /// After `shutdown(true)` an item given back is discarded (counted
    /// done). A timed-out [`Get::block_for`] that was handed an item just
    /// as it gave up returns it.
    ///
    /// **Order**: blocked getters are served strictly in arrival order.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = dualsync::Queue::unbounded();
    /// assert!(q.get().block_for(Duration::from_millis(1)).is_err()); // empty
    /// q.try_put("job").unwrap();
    /// assert_eq!(futures::executor::block_on(q.get()), Ok("job"));
    /// ```
    #[inline]
    pub fn get(&self) -> Get<'_, T, O> {
        Get {
            queue: self,
            waiter: Self::get_waiter(),
        }
    }

    /// Takes the next item if there is one; never waits.
    /// [`TryGetError::ShutDown`] once shut down and empty.
    #[inline]
    pub fn try_get(&self) -> Result<T, TryGetError> {
        match self.take_item() {
            Ok(t) => Ok(t),
            Err(PopError::Empty) => Err(TryGetError::Empty),
            Err(PopError::Closed) => Err(TryGetError::ShutDown),
        }
    }

    /// Pops the oldest item: one given back by a dropped getter, else the
    /// store's front. Serves no putter (the caller does, after its locks).
    #[inline(always)]
    fn pop(&self) -> Result<T, PopError> {
        if self.returned.is_empty_hint() {
            self.store.try_pop()
        } else {
            self.pop_returned()
        }
    }

    /// [`pop`](Self::pop) when items may have been given back.
    #[cold]
    #[inline(never)]
    fn pop_returned(&self) -> Result<T, PopError> {
        match self.returned.pop() {
            Some(t) => Ok(t),
            None => self.store.try_pop(),
        }
    }

    /// Whether a get would find an item (`SeqCst`).
    #[inline]
    fn has_item(&self) -> bool {
        self.store.has_item() || self.returned.len() != 0
    }

    /// A get that does not wait: pops (serving a putter after it), or on a
    /// rendezvous queue takes the item of the front putter.
    #[inline(always)]
    fn take_item(&self) -> Result<T, PopError> {
        match self.pop() {
            Ok(t) => {
                self.after_pop();
                Ok(t)
            }
            Err(PopError::Empty)
                if self.store.is_rendezvous() && self.putters.has_waiters_seqcst() =>
            {
                self.take_from_putter().ok_or(PopError::Empty)
            }
            Err(e) => Err(e),
        }
    }

    /// Rendezvous: takes the item of the front putter (a thread's or a
    /// task's), which is then done (`DONE`): its send happened. `None` when
    /// no putter waits, the front one is a reservation (which needs a
    /// receiver that waits: the getter queues and serves it), or an item
    /// was buffered or given back since the caller's pop: that one goes
    /// first (the getter queues, and its re-check finds it), since it may
    /// be an earlier item of the same sender (a permit's, buffered after
    /// the receiver it claimed left). The caller saw a putter waiting
    /// (`SeqCst` load).
    #[cold]
    fn take_from_putter(&self) -> Option<T> {
        let mut item = None;
        self.putters.with_lock(|p, wakes| {
            p.pop_front(wakes, |head| {
                // A reservation needs a receiver that waits; an item
                // buffered or given back since our pop goes first (it may
                // be this putter's earlier one: a permit's, say).
                if head.data.reserve || self.has_item() {
                    return None;
                }
                // SAFETY: the head is queued and we hold the putters lock:
                // its slot is ours to use (invariant 3).
                item = unsafe { head.data.item.take() };
                debug_assert!(item.is_some(), "a queued putter holds its item");
                Some(DONE)
            })
        });
        item
    }

    /// A `get` driven through a waiter that the caller keeps (pinned, and
    /// reused across items: a channel's `Stream`), instead of a [`Get`]
    /// value. Cancel with [`cancel_get_with`](Self::cancel_get_with).
    #[inline]
    pub(crate) fn poll_get_with(
        &self,
        waiter: Pin<&Waiter<ItemCell<T>>>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<T, GetError>> {
        let waiter = waiter.get_ref();
        if waiter.is_finished() {
            waiter.reuse();
        }
        waiter.poll(&Getters(self), cx)
    }

    /// A waiter for [`poll_get_with`](Self::poll_get_with).
    #[inline]
    pub(crate) fn get_waiter() -> Waiter<ItemCell<T>> {
        Waiter::new(ItemCell::new(None))
    }

    /// Cancels a [`poll_get_with`](Self::poll_get_with) wait (an item it
    /// was handed passes on, as for a dropped [`Get`]).
    pub(crate) fn cancel_get_with(&self, waiter: Pin<&Waiter<ItemCell<T>>>) {
        waiter.get_ref().cancel(&Getters(self));
    }

    // ------------------------------------------------------------ reservations
    //
    // A channel's send permits: a slot held in the store (counted as taken
    // by every other push) until the permit's item fills it or the permit
    // lets it go. Reservations wait in the putters' queue, in order with
    // the puts. Only a channel's store (`FifoStore::for_channel`) or a
    // locked one takes them.

    /// Waits for a free slot and holds it: the operation's `Ok` means the
    /// caller holds one slot.
    #[inline]
    pub(crate) fn reserve(&self) -> Reserve<'_, T, O> {
        Reserve {
            queue: self,
            waiter: Self::reservation(),
        }
    }

    /// A waiter for [`poll_reserve_with`](Self::poll_reserve_with).
    #[inline]
    pub(crate) fn reservation() -> Waiter<PutSlot<T>> {
        Waiter::new(PutSlot::reservation())
    }

    /// Holds a free slot now, if there is one.
    #[inline]
    pub(crate) fn try_reserve(&self) -> Result<(), PushError<()>> {
        self.store.try_reserve()
    }

    /// Fills a held slot with `item`; never waits. The item comes back when
    /// the queue is shut down (the slot is released all the same).
    #[inline]
    pub(crate) fn send_reserved(&self, item: T) -> Result<(), T> {
        let Some(item) = self.not_handed(item, true) else {
            return Ok(());
        };
        self.store.push_reserved(item)?;
        self.after_push();
        Ok(())
    }

    /// Releases a held slot: it goes to the front putter.
    pub(crate) fn unreserve(&self) {
        self.store.unreserve();
        self.after_pop();
    }

    /// Slots held now.
    pub(crate) fn reserved(&self) -> usize {
        self.store.reserved()
    }

    /// A [`reserve`](Self::reserve) driven through a waiter the caller keeps
    /// (pinned, reused: a channel `Sink`'s `poll_ready`). Cancel with
    /// [`cancel_reserve_with`](Self::cancel_reserve_with).
    pub(crate) fn poll_reserve_with(
        &self,
        waiter: Pin<&Waiter<PutSlot<T>>>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<(), ShutDown>> {
        let waiter = waiter.get_ref();
        if waiter.is_finished() {
            waiter.reuse();
        }
        waiter.poll(&Reservers(self), cx)
    }

    /// Cancels a [`poll_reserve_with`](Self::poll_reserve_with) wait (a
    /// slot it was handed is released and passed on).
    pub(crate) fn cancel_reserve_with(&self, waiter: Pin<&Waiter<PutSlot<T>>>) {
        waiter.get_ref().cancel(&Reservers(self));
    }

    // ------------------------------------------------------------ join side

    /// Items put and not yet marked done (loads `done` first: `pushed` only
    /// grows, so the difference never underflows).
    #[inline]
    pub(crate) fn unfinished(&self) -> usize {
        let done = self.done.load(Ordering::SeqCst);
        self.store.pushed().wrapping_sub(done)
    }

    /// Marks one item taken from the queue as processed (asyncio's
    /// `task_done`). When every item put so far is done, joiners wake.
    /// Calling it more times than items were put is a [`TaskDoneError`] and
    /// changes nothing.
    ///
    /// ```
    /// let q = dualsync::Queue::unbounded();
    /// q.try_put("a").unwrap();
    /// let job = q.try_get().unwrap();
    /// // ... process `job` ...
    /// q.task_done().unwrap();
    /// assert!(q.task_done().is_err()); // more calls than items put
    /// ```
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
        self.joiners
            .with_lock(|j, wakes| j.complete_all(NOTIFIED, wakes));
    }

    /// Waits until every item put has been marked done with
    /// [`task_done`](Self::task_done) (or discarded by `shutdown(true)`):
    /// `.await` it, or `.block()`, `.block_for(d)`, `.block_until(t)`.
    /// Returns at once when nothing is unfinished. Cancel-safe (dropping it
    /// changes nothing); all joiners wake together.
    ///
    /// ```
    /// let q = dualsync::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// q.try_get().unwrap();
    /// q.task_done().unwrap();
    /// q.join().block(); // nothing unfinished: returns at once
    /// ```
    #[inline]
    pub fn join(&self) -> Join<'_, T, O> {
        Join {
            queue: self,
            waiter: Waiter::new(()),
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
    ///
    /// ```
    /// use dualsync::{GetError, PutError, Queue};
    /// let q = Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// q.shutdown(false);                                   // no more puts...
    /// assert_eq!(q.put(2).block(), Err(PutError::ShutDown(2)));
    /// assert_eq!(q.get().block(), Ok(1));                  // ...but getters drain
    /// assert_eq!(q.get().block(), Err(GetError::ShutDown));
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        self.store.close();
        if immediate {
            // Closed: `pushed` is final now, and items given back from now
            // on are discarded (`give_back`). Items are dropped as they
            // come out, with no lock held.
            self.returned.close();
            let mut discarded = 0usize;
            while let Ok(item) = self.pop() {
                drop(item);
                discarded += 1;
            }
            self.count_discarded(discarded);
        }
        self.getters.with_lock(|g, wakes| {
            let n = g.complete_all(NOTIFIED, wakes);
            self.store.remove_receivers(n);
        });
        self.putters
            .with_lock(|p, wakes| p.complete_all(NOTIFIED, wakes));
    }

    /// `n` items were discarded: they count as done (clamped to `pushed`,
    /// invariant 4); wakes the joiners if nothing is unfinished now.
    fn count_discarded(&self, n: usize) {
        if n == 0 {
            return;
        }
        let pushed = self.store.pushed();
        let mut done = self.done.load(Ordering::SeqCst);
        while let Err(d) = self.done.compare_exchange_weak(
            done,
            done.saturating_add(n).min(pushed),
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            done = d;
        }
        if self.unfinished() == 0 {
            self.finish_joiners();
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.store.is_closed()
    }

    // ------------------------------------------------------------ sizes

    /// Number of items in the queue now (asyncio's `qsize()`).
    ///
    /// Items that getters were handed and gave back (dropped before they
    /// ran) count too, and hold no slot: for a moment the length may pass
    /// the capacity by their number.
    pub fn len(&self) -> usize {
        self.store.len() + self.returned.len()
    }

    /// Whether the queue holds no item now.
    pub fn is_empty(&self) -> bool {
        !self.has_item()
    }

    /// Whether the queue is at capacity now (never for an unbounded queue).
    pub fn is_full(&self) -> bool {
        !self.store.has_room()
    }

    /// The capacity (asyncio's `maxsize`), as given when the queue was made;
    /// `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.store.capacity()
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

// ---------------------------------------------------------------- policies
//
// The three kinds of wait on a queue, for the engine's lifecycle. The store
// changes without any waiter-queue lock, so each re-checks after linking
// (`RECHECK`, the `SeqCst` pairing of the module docs).

/// Blocked `put`s.
struct Putters<'a, T, O: Order<T>>(&'a Queue<T, O>);
/// Blocked reservations (a channel's send permits): in the putters' queue,
/// served in the same order as the puts.
struct Reservers<'a, T, O: Order<T>>(&'a Queue<T, O>);
/// Blocked `get`s.
struct Getters<'a, T, O: Order<T>>(&'a Queue<T, O>);
/// Blocked `join`s.
struct Joiners<'a, T, O: Order<T>>(&'a Queue<T, O>);

/// What the two waits in the putters' queue (puts and reservations) do
/// alike: they wait for room, spin on a hint of it, re-check it after
/// linking, and need no fix-up when they leave. Expands inside the
/// `impl Policy`; `$carries_item`: a put's (whose item a consumer can move
/// in), not a reservation's.
macro_rules! put_side {
    ($carries_item:expr) => {
        type Data = PutSlot<T>;
        const RECHECK: bool = true;

        #[inline]
        fn spin_gap(&self) -> u32 {
            self.0.spin_gap()
        }

        #[inline]
        fn queue(&self) -> &WaitQueue<PutSlot<T>> {
            &self.0.putters
        }

        /// Spins while room may come without our help. Not a put on a
        /// hand-off queue ([`Queue::hand_off`]): linked, its item is moved
        /// in (or, on a rendezvous queue, taken) by the consumer that
        /// comes. Not a reservation on a rendezvous queue either: its room
        /// is a receiver that waits, which links without spinning, and
        /// serves a linked reservation as it does. Elsewhere a
        /// reservation carries no item: it spins.
        #[inline]
        fn spin_check(&self, _: &PutSlot<T>) -> Option<bool> {
            if self.0.store.is_rendezvous() || ($carries_item && self.0.hand_off()) {
                return None;
            }
            Some(self.0.store.peek_room())
        }

        const SPIN_PACE: SpinPace = SpinPace::Ahead;

        #[inline]
        fn max_spin_delay(&self) -> u32 {
            self.0.max_spin_delay()
        }

        #[inline]
        fn spin_ahead(&self, _: &PutSlot<T>) -> bool {
            self.0.store.peek_room_ahead()
        }

        fn enqueue(
            &self,
            _: &mut QueueGuard<'_, PutSlot<T>>,
            _: &PutSlot<T>,
            _: bool,
            _: &mut WakeList,
        ) -> Link<Self::Output> {
            Link::Wait
        }

        #[inline]
        fn still_blocked(&self, _: &PutSlot<T>) -> bool {
            !self.0.store.has_room() && !self.0.store.is_closed()
        }

        fn withdrawn(&self, _: &mut QueueGuard<'_, PutSlot<T>>, _: &PutSlot<T>, _: &mut WakeList) {}
    };
}

impl<T, O: Order<T>> Policy for Putters<'_, T, O> {
    type Output = Result<(), PutError<T>>;
    put_side!(true);

    #[inline]
    fn try_now(&self, slot: &PutSlot<T>, cx: &WaitCx<'_, '_>) -> Option<Self::Output> {
        // SAFETY: the node is not queued: its slot is ours (invariant 3).
        let item = unsafe { slot.item.take() }.expect("a put holds its item until it finishes");
        match self.0.push(item) {
            Ok(()) => Some(Ok(())),
            Err(PushError::Closed(t)) => Some(Err(PutError::ShutDown(t))),
            Err(PushError::Full(t)) => {
                // SAFETY: as above. A consumer may move a *thread*'s item in
                // for it once it is queued (any putter's on a rendezvous
                // queue, where a send is done once a receiver has its item).
                unsafe { slot.item.set(t) };
                slot.refill
                    .set(cx.is_thread() || self.0.store.is_rendezvous());
                None
            }
        }
    }

    #[inline]
    fn take(&self, _: &PutSlot<T>, outcome: u32) -> Taken<Self::Output> {
        if outcome == DONE {
            Taken::Done(Ok(())) // a consumer moved the item in
        } else {
            Taken::Retry
        }
    }

    /// A wake-up for a free slot goes to the next putter (invariant 2).
    fn pass_on(&self, _: &PutSlot<T>, outcome: u32) {
        if outcome == NOTIFIED && self.0.store.has_room() {
            self.0.serve_putter();
        }
    }
}

impl<T, O: Order<T>> Policy for Reservers<'_, T, O> {
    type Output = Result<(), ShutDown>;
    put_side!(false);

    #[inline]
    fn try_now(&self, _: &PutSlot<T>, _: &WaitCx<'_, '_>) -> Option<Self::Output> {
        match self.0.store.try_reserve() {
            Ok(()) => Some(Ok(())),
            Err(PushError::Closed(())) => Some(Err(ShutDown)),
            Err(PushError::Full(())) => None,
        }
    }

    #[inline]
    fn take(&self, _: &PutSlot<T>, outcome: u32) -> Taken<Self::Output> {
        if outcome == GRANTED {
            Taken::Done(Ok(())) // a consumer took a slot for us
        } else {
            Taken::Retry // shutdown: look again
        }
    }

    /// A slot taken for a reservation that went away is released, and goes
    /// to the next putter (invariant 2).
    fn pass_on(&self, _: &PutSlot<T>, outcome: u32) {
        if outcome == GRANTED {
            self.0.unreserve();
        } else if self.0.store.has_room() {
            self.0.serve_putter();
        }
    }
}

impl<T, O: Order<T>> Policy for Getters<'_, T, O> {
    type Data = ItemCell<T>;
    type Output = Result<T, GetError>;
    const RECHECK: bool = true;

    #[inline]
    fn spin_gap(&self) -> u32 {
        self.0.spin_gap()
    }

    #[inline]
    fn queue(&self) -> &WaitQueue<ItemCell<T>> {
        &self.0.getters
    }

    #[inline]
    fn try_now(&self, _: &ItemCell<T>, _: &WaitCx<'_, '_>) -> Option<Self::Output> {
        match self.0.take_item() {
            Ok(t) => Some(Ok(t)),
            Err(PopError::Closed) => Some(Err(GetError::ShutDown)),
            Err(PopError::Empty) => None,
        }
    }

    /// Spins for an item. Not on a hand-off queue ([`Queue::hand_off`],
    /// a rendezvous included): linked, it is handed the item by the push
    /// that brings it.
    #[inline]
    fn spin_check(&self, _: &ItemCell<T>) -> Option<bool> {
        if self.0.hand_off() {
            return None;
        }
        Some(self.0.store.peek_item() || !self.0.returned.is_empty_hint())
    }

    const SPIN_PACE: SpinPace = SpinPace::Ahead;

    #[inline]
    fn max_spin_delay(&self) -> u32 {
        self.0.max_spin_delay()
    }

    #[inline]
    fn spin_ahead(&self, _: &ItemCell<T>) -> bool {
        self.0.store.peek_items_ahead()
    }

    /// A rendezvous getter is room for one item while it is linked.
    fn enqueue(
        &self,
        _: &mut QueueGuard<'_, ItemCell<T>>,
        _: &ItemCell<T>,
        _: bool,
        _: &mut WakeList,
    ) -> Link<Self::Output> {
        self.0.store.add_receiver();
        Link::Wait
    }

    /// Rendezvous: the room this getter brought goes to a putter that
    /// queued before it could see it (its item comes into the store and
    /// wakes a getter; a reservation takes the slot).
    #[inline]
    fn still_blocked(&self, _: &ItemCell<T>) -> bool {
        if self.0.store.is_rendezvous() {
            self.0.after_pop();
        }
        !self.0.has_item() && !self.0.store.is_closed()
    }

    /// `DONE`: an item was handed to us; `NOTIFIED` (shutdown): look again.
    #[inline]
    fn take(&self, slot: &ItemCell<T>, outcome: u32) -> Taken<Self::Output> {
        if outcome == DONE {
            // SAFETY: the node is not queued: its cell is ours (invariant 3).
            let item = unsafe { slot.take() }.expect("a handed getter holds its item");
            Taken::Done(Ok(item))
        } else {
            Taken::Retry
        }
    }

    /// An item handed to us goes to the next getter, or back to the queue's
    /// front (`give_back`); a wake-up for an item goes to the next getter
    /// (invariant 2).
    fn pass_on(&self, slot: &ItemCell<T>, outcome: u32) {
        if outcome == DONE {
            // SAFETY: the node left the queue: its cell is ours (invariant 3).
            let item = unsafe { slot.take() }.expect("a handed getter holds its item");
            self.0.give_back(item);
        } else if self.0.has_item() {
            self.0.notify_getter();
        }
    }

    /// A rendezvous getter that leaves takes its room with it.
    fn withdrawn(&self, _: &mut QueueGuard<'_, ItemCell<T>>, _: &ItemCell<T>, _: &mut WakeList) {
        self.0.store.remove_receivers(1);
    }
}

impl<T, O: Order<T>> Policy for Joiners<'_, T, O> {
    type Data = ();
    type Output = ();
    const RECHECK: bool = true;

    #[inline]
    fn queue(&self) -> &WaitQueue<()> {
        &self.0.joiners
    }

    #[inline]
    fn try_now(&self, _: &(), _: &WaitCx<'_, '_>) -> Option<()> {
        (self.0.unfinished() == 0).then_some(())
    }

    fn enqueue(&self, _: &mut QueueGuard<'_, ()>, _: &(), _: bool, _: &mut WakeList) -> Link<()> {
        Link::Wait
    }

    #[inline]
    fn still_blocked(&self, _: &()) -> bool {
        self.0.unfinished() != 0
    }

    /// Completed: the count reached 0 (an event, as in asyncio).
    #[inline]
    fn take(&self, _: &(), _: u32) -> Taken<()> {
        Taken::Done(())
    }

    /// Every joiner was woken: nothing to pass on.
    fn pass_on(&self, _: &(), _: u32) {}

    fn withdrawn(&self, _: &mut QueueGuard<'_, ()>, _: &(), _: &mut WakeList) {}
}

// ---------------------------------------------------------------- operations

/// Declares a queue operation: the value holds the queue and its waiter,
/// and runs the engine's lifecycle with the `$policy` side of the queue.
macro_rules! queue_operation {
    ($(#[$attr:meta])* $name:ident, $data:ty, $out:ty, $policy:ident) => {
        $(#[$attr])*
        #[must_use = "an operation does nothing until awaited or blocked on"]
        pub struct $name<'a, T, O: Order<T> = Fifo> {
            queue: &'a Queue<T, O>,
            waiter: Waiter<$data>,
        }

        impl<T, O: Order<T>> Waitable for $name<'_, T, O> {
            type Output = $out;

            #[inline]
            fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<$out> {
                let this = self.into_ref().get_ref();
                this.waiter.poll(&$policy(this.queue), cx)
            }

            #[inline(always)]
            fn try_unpinned(&mut self) -> Option<$out> {
                self.waiter.try_unpinned(&$policy(self.queue))
            }

            crate::engine::driver::waiter_methods!();
        }

        impl<T, O: Order<T>> Drop for $name<'_, T, O> {
            #[inline]
            fn drop(&mut self) {
                self.waiter.cancel(&$policy(self.queue));
            }
        }

        impl<T, O: Order<T>> fmt::Debug for $name<'_, T, O> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("state", &self.waiter.state())
                    .finish()
            }
        }
    };
}

queue_operation!(
    /// The operation returned by [`Queue::put`]: `.await` it, or `.block()`,
    /// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the put and
    /// drops the item, which was never enqueued (see [`Queue::put`]).
    ///
    /// The item waits in the waiter's slot: a consumer may move it into the
    /// store while a blocked thread's put is queued (`Queue::serve_putter`).
    Put, PutSlot<T>, Result<(), PutError<T>>, Putters
);

impl<T, O: Order<T>> Put<'_, T, O> {
    /// Finishes the put on this thread, parking it while the queue is full.
    /// Never panics inside an async runtime: it blocks that worker thread.
    #[inline(always)]
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
    #[inline(always)]
    pub fn block_for(self, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        self.block_inner(deadline_after(timeout))
    }

    /// Like [`block_for`](Self::block_for), with a deadline.
    #[inline(always)]
    pub fn block_until(self, deadline: Instant) -> Result<(), PutTimeoutError<T>> {
        self.block_inner(Some(deadline))
    }

    /// The unpinned try inline (a put that does not wait never moves the
    /// operation), the rest out of line (as `engine::driver::block_until`).
    #[inline(always)]
    fn block_inner(mut self, deadline: Option<Instant>) -> Result<(), PutTimeoutError<T>> {
        match self.try_unpinned() {
            Some(Ok(())) => Ok(()),
            Some(Err(PutError::ShutDown(t))) => Err(PutTimeoutError::ShutDown(t)),
            None => self.block_pinned(deadline),
        }
    }

    /// [`block_inner`](Self::block_inner) after its unpinned try.
    #[inline(never)]
    fn block_pinned(self, deadline: Option<Instant>) -> Result<(), PutTimeoutError<T>> {
        crate::engine::driver::pin_own_lines!(let mut op = self);
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
            // Leave the queue, unless a consumer moved the item in after the
            // driver's last look.
            None => match op.cancel() {
                Some(item) => Err(PutTimeoutError::Timeout(item)),
                None => Ok(()),
            },
        }
    }

    /// Cancels the put and gives the item back if it was not put:
    /// `Some(item)` if it never entered the queue (it never will now),
    /// `None` if the put already happened. The operation is finished
    /// afterwards (polling it again panics).
    ///
    /// This is how a task keeps its item when it gives up waiting for room
    /// (a timeout, a lost `select!` branch): pin the put, race it by
    /// reference, and cancel it if it lost.
    ///
    /// ```
    /// use dualsync::Queue;
    /// use std::pin::pin;
    /// use std::task::{Context, Waker};
    ///
    /// let q = Queue::bounded(1);
    /// q.try_put("first").unwrap();
    /// let mut put = pin!(q.put("second"));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(put.as_mut().poll(&mut cx).is_pending()); // full: it waits
    /// assert_eq!(put.as_mut().cancel(), Some("second")); // and gives it back
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn cancel(self: Pin<&mut Self>) -> Option<T> {
        let this = self.into_ref().get_ref();
        let done = this.waiter.withdraw(&Putters(this.queue)).is_some();
        // SAFETY: the waiter left the queue (or never joined it): the slot is
        // ours (invariant 3).
        let item = unsafe { this.waiter.data().item.take() };
        this.waiter.retire();
        debug_assert!(!(done && item.is_some()), "an item both put and kept");
        item
    }
}

impl_future!(impl['a, T, O: Order<T>] Put<'a, T, O> => Result<(), PutError<T>>);

queue_operation!(
    /// The operation returned by [`Queue::get`]: `.await` it, or `.block()`,
    /// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the get; no
    /// item is lost (one it was handed passes on, see [`Queue::get`]).
    Get, ItemCell<T>, Result<T, GetError>, Getters
);

impl_operation!(impl['a, T, O: Order<T>] Get<'a, T, O> => Result<T, GetError>, timed: GetTimeoutError);

queue_operation!(
    /// The operation returned by [`Queue::join`]: `.await` it, or
    /// `.block()`, `.block_for(d)`, `.block_until(t)`. Dropping it changes
    /// nothing.
    Join, (), (), Joiners
);

impl_operation!(impl['a, T, O: Order<T>] Join<'a, T, O> => ());

queue_operation!(
    /// A reservation of one slot (the waiting half of a channel's
    /// `reserve`): finishes holding the slot, which
    /// [`Queue::send_reserved`] fills or [`Queue::unreserve`] releases.
    /// Dropping it while it waits takes no slot (one it was handed is
    /// released and passed on).
    Reserve, PutSlot<T>, Result<(), ShutDown>, Reservers
);

#[cfg(test)]
mod tests;
