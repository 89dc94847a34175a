//! The item stores behind a [`Queue`](crate::Queue).
//!
//! Every store offers the same closable, non-blocking interface
//! ([`Store`]): `try_push` / `try_pop` that either succeed or say `Full` /
//! `Empty` / `Closed`, plus the counts `Queue` needs. Three implementations:
//!
//! * [`Ring`]: lock-free, bounded FIFO (capacity up to [`RING_MAX`]).
//! * [`Locked`]: a short spin lock around a plain buffer (`VecDeque`, `Vec`
//!   or a binary heap): LIFO, priority, unbounded FIFO and very large
//!   bounded FIFO queues.
//! * [`Rendezvous`]: a channel of capacity 0 (`rendezvous.rs`).
//!
//! A channel's store also lets a send permit *hold* a slot
//! (`try_reserve`, then `push_reserved` or `unreserve`): held slots count
//! as taken for every other push. A queue never holds slots.
//!
//! The **rendezvous** store (a channel of capacity 0) has as much room as
//! receivers wait: the queue counts a getter in (`add_receiver`) while it
//! is linked, so that a push succeeds only when a waiting receiver has no
//! item yet, and the queue then hands the item to a waiting receiver: the
//! buffer holds an item from the push to that hand-off (or, if the
//! receiver it came for left meanwhile, until the next receiver takes it).
//!
//! Ordering contract (what `Queue`'s lost-wake-up argument needs): a
//! successful `try_push` / `try_pop` is followed by a `SeqCst` ordering point
//! after the change became visible, and the `has_*` checks read the state
//! with `SeqCst` (or under the store's lock).

use core::cell::UnsafeCell;
use core::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::rendezvous::Rendezvous;
use super::ring::Ring;
pub(crate) use super::ring::{PopError, PushError};
use crate::engine::loom_const_fn;
use crate::engine::queue::WaitQueue;
use crate::engine::sync::{AtomicUsize, Ordering, fence};

/// Bounded FIFO queues up to this capacity use the lock-free ring (which
/// allocates every slot up front); larger ones a locked `VecDeque`.
pub(crate) const RING_MAX: usize = 1 << 16;

/// How many slots a locked bounded buffer allocates up front (it grows).
const PREALLOC: usize = 1024;

/// The concurrent store interface (sealed: implemented here only).
pub trait Store<T> {
    #[doc(hidden)]
    fn make(capacity: Option<usize>) -> Self;
    #[doc(hidden)]
    fn try_push(&self, item: T) -> Result<(), PushError<T>>;
    #[doc(hidden)]
    fn try_pop(&self) -> Result<T, PopError>;
    /// Closes to pushes; `true` if this call closed it.
    #[doc(hidden)]
    fn close(&self) -> bool;
    #[doc(hidden)]
    fn is_closed(&self) -> bool;
    /// A pop would not find it empty (an item, possibly being written).
    #[doc(hidden)]
    fn has_item(&self) -> bool;
    /// A push would not find it full.
    #[doc(hidden)]
    fn has_room(&self) -> bool;
    /// Spinning hints (may be stale; no ordering promised): an item / a
    /// free slot seems to be there.
    #[doc(hidden)]
    fn peek_item(&self) -> bool {
        self.has_item()
    }
    #[doc(hidden)]
    fn peek_room(&self) -> bool {
        self.has_room()
    }
    /// Spinning hints for [`Queue`](crate::Queue)'s spin delay: at least
    /// two items / two free slots seem to be there (the other side is
    /// ahead of this one by more than one). `false` where the store has
    /// no cheap way to tell (then the delay stays 0).
    #[doc(hidden)]
    fn peek_items_ahead(&self) -> bool {
        false
    }
    #[doc(hidden)]
    fn peek_room_ahead(&self) -> bool {
        false
    }
    #[doc(hidden)]
    fn len(&self) -> usize;
    /// The capacity asked for; `None` when unbounded.
    #[doc(hidden)]
    fn capacity(&self) -> Option<usize>;
    /// Pushes ever accepted.
    #[doc(hidden)]
    fn pushed(&self) -> usize;
    /// Holds one slot for a later [`push_reserved`](Self::push_reserved):
    /// `Full` while the items and the held slots fill the capacity.
    #[doc(hidden)]
    fn try_reserve(&self) -> Result<(), PushError<()>>;
    /// Pushes into a held slot, releasing it: never `Full`. When the store
    /// is closed the item comes back (and the slot is released).
    #[doc(hidden)]
    fn push_reserved(&self, item: T) -> Result<(), T>;
    /// Releases a held slot.
    #[doc(hidden)]
    fn unreserve(&self);
    /// Slots held now.
    #[doc(hidden)]
    fn reserved(&self) -> usize;
    /// Whether this is a rendezvous store (room = receivers waiting).
    #[doc(hidden)]
    fn is_rendezvous(&self) -> bool {
        false
    }
    /// Rendezvous: a getter is linked (one more unit of room). A `SeqCst`
    /// read-modify-write and no fence: its only caller, a getter's
    /// `enqueue`, is followed by the getter's `SeqCst` re-check of the
    /// putters queue, which then serves a putter that queued before it
    /// could see the room (the putter's lock and re-check are `SeqCst`
    /// too, so one of the two sees the other).
    #[doc(hidden)]
    fn add_receiver(&self) {}
    /// Rendezvous: `n` getters left the queue (completed or withdrawn).
    #[doc(hidden)]
    fn remove_receivers(&self, _n: usize) {}
    /// Rendezvous: a push that goes straight to a linked getter, which
    /// the caller then completes under the getters lock: takes one unit
    /// of room (`held`: the slot a permit holds, as `push_reserved`) and
    /// that getter's count (`remove_receivers(1)`) in one step, and counts
    /// the push. `Full` when an item is buffered (it must go first: the
    /// caller pushes instead) or, unheld, the room is held by permits;
    /// `Closed` when closed. Never `Ok` on other stores.
    #[doc(hidden)]
    fn push_to_receiver(&self, _held: bool) -> Result<(), PushError<()>> {
        Err(PushError::Full(()))
    }
}

/// A plain single-threaded buffer in some order.
pub trait Plain<T> {
    #[doc(hidden)]
    fn with_capacity(n: usize) -> Self;
    #[doc(hidden)]
    fn push(&mut self, item: T);
    #[doc(hidden)]
    fn pop(&mut self) -> Option<T>;
    #[doc(hidden)]
    fn len(&self) -> usize;
}

impl<T> Plain<T> for VecDeque<T> {
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

/// LIFO: a stack.
#[doc(hidden)]
pub struct Stack<T>(pub(crate) Vec<T>);

impl<T> Plain<T> for Stack<T> {
    #[inline]
    fn with_capacity(n: usize) -> Self {
        Stack(Vec::with_capacity(n))
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

impl<T: Ord> Plain<T> for BinaryHeap<Reverse<T>> {
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

/// A plain buffer behind a spin lock (the lock bit of a `WaitQueue` word
/// that never holds waiters). What the lock-free readers need is written
/// under the lock and mirrored in atomics: `pushed`, and the `look` word.
///
/// ```text
///   look: usize            written only under the lock, after each change
///   +-------------+------+------+--------+
///   |     0 ...   | ROOM | ITEM | CLOSED |
///   +-------------+------+------+--------+
///    ITEM: the buffer holds an item; ROOM: one more fits beside the held
///    slots; CLOSED: closed to pushes (set once, never cleared)
/// ```
///
/// So `has_item` / `has_room` / `is_closed` are one load, and a push that
/// finds no room or a pop that finds nothing fail without the lock.
/// The three flags come from one store, so a failure reads a state the
/// store was in (empty *and* open, say), as it would under the lock: each
/// locked change takes effect, for these readers, at its `look` store.
#[doc(hidden)]
pub struct Locked<B> {
    lock: WaitQueue<()>,
    buf: UnsafeCell<Inner<B>>,
    /// The most items it holds (`usize::MAX` when unbounded, which no
    /// buffer reaches).
    cap: usize,
    /// Made with a capacity, even `usize::MAX`: reported as asked.
    bounded: bool,
    /// The flags [`CLOSED`] | [`ITEM`] | [`ROOM`] (see the type's docs).
    look: AtomicUsize,
    pushed: AtomicUsize,
}

/// [`Locked`]'s `look`: closed to pushes.
const CLOSED: usize = 1;
/// [`Locked`]'s `look`: the buffer holds an item.
const ITEM: usize = 2;
/// [`Locked`]'s `look`: one more item fits.
const ROOM: usize = 4;

// SAFETY: `buf` is only touched with `lock` held, which serializes threads;
// the items it holds move between threads, hence `B: Send`.
unsafe impl<B: Send> Send for Locked<B> {}
// SAFETY: as above.
unsafe impl<B: Send> Sync for Locked<B> {}

/// What a [`Locked`] store keeps under its lock.
pub(super) struct Inner<B> {
    pub(super) buf: B,
    /// How many items fit: the capacity less the held slots, kept up to
    /// date by the (rare) changes of the latter, so that a push compares
    /// one number.
    limit: usize,
    /// Slots held by send permits.
    reserved: usize,
}

impl<B> Inner<B> {
    /// Recomputes `limit` after `reserved` changed.
    #[inline]
    fn set_limit(&mut self, cap: usize) {
        self.limit = cap.saturating_sub(self.reserved);
    }
}

impl<B> Locked<B> {
    loom_const_fn! {
        /// An unbounded store around an empty `buf`; `const`, for queues in a
        /// `static`.
        pub(crate) fn unbounded(buf: B) -> Self {
            Self::with_cap(buf, usize::MAX, false)
        }
    }

    loom_const_fn! {
        fn with_cap(buf: B, cap: usize, bounded: bool) -> Self {
            Locked {
                lock: WaitQueue::new(),
                buf: UnsafeCell::new(Inner {
                    buf,
                    limit: cap,
                    reserved: 0,
                }),
                cap,
                bounded,
                look: AtomicUsize::new(ROOM),
                pushed: AtomicUsize::new(0),
            }
        }
    }

    /// Runs `f` on the buffer with the lock held, then publishes the
    /// `look` flags of what it left.
    #[inline]
    pub(super) fn with<T, R>(&self, f: impl FnOnce(&mut Inner<B>) -> R) -> R
    where
        B: Plain<T>,
    {
        let _g = self.lock.lock();
        // SAFETY: the lock is held until `_g` drops, after `f` returns and
        // the flags are read off the buffer.
        let i = unsafe { &mut *self.buf.get() };
        let r = f(i);
        let mut look = self.look.load(Ordering::Relaxed) & CLOSED;
        if i.buf.len() > 0 {
            look |= ITEM;
        }
        if self.fits::<T>(i) {
            look |= ROOM;
        }
        // Only lock holders write it: a plain store. Release: a reader that
        // sees a flag sees the change behind it; the `SeqCst` ordering
        // point is the fence each change that can end a wait issues after
        // unlocking (see the module docs).
        self.look.store(look, Ordering::Release);
        r
    }

    /// The `look` flags (`SeqCst`: the re-check of a waiter that linked).
    #[inline]
    fn look(&self) -> usize {
        self.look.load(Ordering::SeqCst)
    }

    /// Under the lock: whether the store is closed.
    #[inline]
    fn closed_locked(&self) -> bool {
        self.look.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// Under the lock: whether one more item fits beside the held slots.
    #[inline]
    fn fits<T>(&self, i: &Inner<B>) -> bool
    where
        B: Plain<T>,
    {
        i.buf.len() < i.limit
    }
}

impl<B> Locked<B> {
    /// `try_push` once the look word showed room: decides under the lock.
    #[inline(never)]
    fn push_under_lock<T>(&self, item: T) -> Result<(), PushError<T>>
    where
        B: Plain<T>,
    {
        let r = self.with(|i| {
            if self.closed_locked() {
                Err(PushError::Closed(item))
            } else if !self.fits::<T>(i) {
                Err(PushError::Full(item))
            } else {
                self.push_locked(i, item);
                Ok(())
            }
        });
        if r.is_ok() {
            fence(Ordering::SeqCst); // the ordering point after the unlock
        }
        r
    }

    /// `try_pop` once the look word showed an item: decides under the lock.
    #[inline(never)]
    fn pop_under_lock<T>(&self) -> Result<T, PopError>
    where
        B: Plain<T>,
    {
        let r = self.with(|i| match i.buf.pop() {
            Some(t) => Ok(t),
            None if self.closed_locked() => Err(PopError::Closed),
            None => Err(PopError::Empty),
        });
        if r.is_ok() {
            fence(Ordering::SeqCst);
        }
        r
    }
}

impl<T, B: Plain<T>> Store<T> for Locked<B> {
    fn make(capacity: Option<usize>) -> Self {
        let (cap, pre) = match capacity {
            Some(c) => (c, c.min(PREALLOC)),
            None => (usize::MAX, 0),
        };
        Self::with_cap(B::with_capacity(pre), cap, capacity.is_some())
    }

    /// The look word's answer inline (a full or closed store refuses
    /// without a call); the lock out of line.
    #[inline]
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        match self.look() & (CLOSED | ROOM) {
            ROOM => self.push_under_lock(item),
            0 => Err(PushError::Full(item)),
            _ => Err(PushError::Closed(item)),
        }
    }

    /// As `try_push`: an empty or closed store answers inline.
    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        match self.look() & (CLOSED | ITEM) {
            0 => Err(PopError::Empty),
            CLOSED => Err(PopError::Closed),
            _ => self.pop_under_lock(),
        }
    }

    fn close(&self) -> bool {
        self.with::<T, _>(|_| self.look.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0)
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.look() & CLOSED != 0
    }

    #[inline]
    fn has_item(&self) -> bool {
        self.look() & ITEM != 0
    }

    #[inline]
    fn has_room(&self) -> bool {
        self.look() & ROOM != 0
    }

    fn len(&self) -> usize {
        self.with::<T, _>(|i| i.buf.len())
    }

    fn capacity(&self) -> Option<usize> {
        self.bounded.then_some(self.cap)
    }

    fn pushed(&self) -> usize {
        self.pushed.load(Ordering::SeqCst)
    }

    fn try_reserve(&self) -> Result<(), PushError<()>> {
        match self.look() & (CLOSED | ROOM) {
            ROOM => {}
            0 => return Err(PushError::Full(())),
            _ => return Err(PushError::Closed(())),
        }
        self.with::<T, _>(|i| {
            if self.closed_locked() {
                Err(PushError::Closed(()))
            } else if !self.fits::<T>(i) {
                Err(PushError::Full(()))
            } else {
                i.reserved += 1;
                i.set_limit(self.cap);
                Ok(())
            }
        })
    }

    fn push_reserved(&self, item: T) -> Result<(), T> {
        let r = self.with(|i| {
            debug_assert!(i.reserved > 0, "no slot was held");
            i.reserved -= 1;
            i.set_limit(self.cap);
            if self.closed_locked() {
                Err(item)
            } else {
                self.push_locked(i, item);
                Ok(())
            }
        });
        fence(Ordering::SeqCst); // an item, or a free slot: as after a push
        r
    }

    fn unreserve(&self) {
        self.with::<T, _>(|i| {
            debug_assert!(i.reserved > 0, "no slot was held");
            i.reserved -= 1;
            i.set_limit(self.cap);
        });
        fence(Ordering::SeqCst); // a free slot: as after a pop
    }

    fn reserved(&self) -> usize {
        self.with::<T, _>(|i| i.reserved)
    }
}

impl<B> Locked<B> {
    /// Pushes under the lock (room checked or held) and counts it.
    #[inline]
    pub(super) fn push_locked<T>(&self, i: &mut Inner<B>, item: T)
    where
        B: Plain<T>,
    {
        i.buf.push(item);
        self.count_push();
    }

    /// Under the lock: one more push accepted (`pushed`, which only lock
    /// holders write).
    #[inline]
    fn count_push(&self) {
        let n = self.pushed.load(Ordering::Relaxed);
        self.pushed.store(n.wrapping_add(1), Ordering::Relaxed);
    }
}

/// Items handed to getters that were dropped before they ran (see
/// `Queue::give_back`): they come out before the store's items, in the
/// order they were given back. A locked `VecDeque` (given back items are
/// rare: a cancelled wait that was just served) with its length mirrored in
/// an atomic, so that a pop looks at one word to know there are none.
/// Closed by `shutdown(true)`: items given back afterwards are discarded.
pub(crate) struct Returned<T> {
    items: Locked<VecDeque<T>>,
    /// The buffer's length, written under its lock.
    len: AtomicUsize,
}

impl<T> Returned<T> {
    loom_const_fn! {
        pub(crate) fn new() -> Self {
            Returned {
                items: Locked::unbounded(VecDeque::new()),
                len: AtomicUsize::new(0),
            }
        }
    }

    /// A hint for the pop fast path: none were given back (no ordering
    /// promised; the `SeqCst` look is [`len`](Self::len)).
    #[inline]
    pub(crate) fn is_empty_hint(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Items held now (`SeqCst`, the re-check of a getter that linked).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    /// Keeps `item` behind those given back before; gives it back once
    /// closed (discarding).
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        self.items.with(|i| {
            if self.items.closed_locked() {
                return Err(item);
            }
            i.buf.push_back(item);
            self.len.store(i.buf.len(), Ordering::SeqCst);
            Ok(())
        })
    }

    /// The oldest item given back, if any.
    #[cold]
    pub(crate) fn pop(&self) -> Option<T> {
        self.items.with(|i| {
            let t = i.buf.pop_front();
            self.len.store(i.buf.len(), Ordering::SeqCst);
            t
        })
    }

    /// From now on, items given back are discarded.
    pub(crate) fn close(&self) {
        Store::<T>::close(&self.items);
    }
}

/// The FIFO store: a ring when bounded and small enough, else locked.
#[doc(hidden)]
// The ring's cache-padded indices make it the larger variant; the locked
// one is for unbounded or huge queues, where a few hundred bytes per queue
// do not matter, and boxing the ring would add a load to every operation.
#[allow(clippy::large_enum_variant)]
pub enum FifoStore<T> {
    Ring(Ring<T>),
    Locked(LockedFifo<T>),
}

/// The FIFO stores with a lock: a plain one, or a rendezvous (nested, so
/// that telling the ring from the rest stays one compare).
#[doc(hidden)]
pub enum LockedFifo<T> {
    Plain(Locked<VecDeque<T>>),
    Rendezvous(Rendezvous<T>),
}

macro_rules! fifo_dispatch {
    ($s:expr, $x:ident => $e:expr) => {
        match $s {
            FifoStore::Ring($x) => $e,
            FifoStore::Locked(LockedFifo::Plain($x)) => $e,
            FifoStore::Locked(LockedFifo::Rendezvous($x)) => $e,
        }
    };
}

impl<T> FifoStore<T> {
    /// A channel's store: a rendezvous store for `Some(0)`, a ring whose
    /// slots permits can hold when bounded and small enough, else locked.
    pub(crate) fn for_channel(capacity: Option<usize>) -> Self {
        match capacity {
            Some(0) => FifoStore::Locked(LockedFifo::Rendezvous(Rendezvous::new())),
            Some(c) if c <= RING_MAX => match Ring::reservable(c) {
                Some(ring) => FifoStore::Ring(ring),
                None => FifoStore::Locked(LockedFifo::Plain(Locked::make(capacity))),
            },
            _ => FifoStore::Locked(LockedFifo::Plain(Locked::make(capacity))),
        }
    }
}

impl<T> Store<T> for FifoStore<T> {
    fn make(capacity: Option<usize>) -> Self {
        match capacity {
            Some(c) if c <= RING_MAX => FifoStore::Ring(Ring::new(c)),
            _ => FifoStore::Locked(LockedFifo::Plain(Locked::make(capacity))),
        }
    }
    /// The ring's first attempt inline; the locked and rendezvous stores'
    /// look words inline too, their locks out of line (they would otherwise
    /// make every caller's frame save registers).
    #[inline]
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        fifo_dispatch!(self, s => s.try_push(item))
    }
    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        fifo_dispatch!(self, s => s.try_pop())
    }
    fn close(&self) -> bool {
        fifo_dispatch!(self, s => s.close())
    }
    fn is_closed(&self) -> bool {
        fifo_dispatch!(self, s => s.is_closed())
    }
    fn has_item(&self) -> bool {
        fifo_dispatch!(self, s => s.has_item())
    }
    fn has_room(&self) -> bool {
        fifo_dispatch!(self, s => s.has_room())
    }
    #[inline]
    fn peek_item(&self) -> bool {
        fifo_dispatch!(self, s => s.peek_item())
    }
    #[inline]
    fn peek_room(&self) -> bool {
        fifo_dispatch!(self, s => s.peek_room())
    }
    #[inline]
    fn peek_items_ahead(&self) -> bool {
        match self {
            FifoStore::Ring(r) => r.peek_items_ahead(),
            FifoStore::Locked(_) => false,
        }
    }
    #[inline]
    fn peek_room_ahead(&self) -> bool {
        match self {
            FifoStore::Ring(r) => r.peek_room_ahead(),
            FifoStore::Locked(_) => false,
        }
    }
    fn len(&self) -> usize {
        fifo_dispatch!(self, s => s.len())
    }
    fn capacity(&self) -> Option<usize> {
        match self {
            FifoStore::Ring(r) => Some(r.capacity()),
            FifoStore::Locked(LockedFifo::Plain(l)) => l.capacity(),
            FifoStore::Locked(LockedFifo::Rendezvous(_)) => Some(0),
        }
    }
    fn pushed(&self) -> usize {
        fifo_dispatch!(self, s => s.pushed())
    }
    #[inline]
    fn try_reserve(&self) -> Result<(), PushError<()>> {
        fifo_dispatch!(self, s => s.try_reserve())
    }
    #[inline]
    fn push_reserved(&self, item: T) -> Result<(), T> {
        fifo_dispatch!(self, s => s.push_reserved(item))
    }
    fn unreserve(&self) {
        fifo_dispatch!(self, s => s.unreserve())
    }
    fn reserved(&self) -> usize {
        fifo_dispatch!(self, s => s.reserved())
    }
    #[inline]
    fn is_rendezvous(&self) -> bool {
        matches!(self, FifoStore::Locked(LockedFifo::Rendezvous(_)))
    }
    #[inline]
    fn add_receiver(&self) {
        if let FifoStore::Locked(LockedFifo::Rendezvous(r)) = self {
            r.add_receiver();
        }
    }
    #[inline]
    fn remove_receivers(&self, n: usize) {
        if let FifoStore::Locked(LockedFifo::Rendezvous(r)) = self {
            r.remove_receivers(n);
        }
    }
    #[inline]
    fn push_to_receiver(&self, held: bool) -> Result<(), PushError<()>> {
        match self {
            FifoStore::Locked(LockedFifo::Rendezvous(r)) => r.push_to_receiver(held),
            FifoStore::Ring(_) | FifoStore::Locked(LockedFifo::Plain(_)) => {
                Err(PushError::Full(()))
            }
        }
    }
}
