//! The item stores behind a [`Queue`](crate::Queue).
//!
//! Every store offers the same closable, non-blocking interface
//! ([`Store`]): `try_push` / `try_pop` that either succeed or say `Full` /
//! `Empty` / `Closed`, plus the counts `Queue` needs. Two implementations:
//!
//! * [`Ring`]: lock-free, bounded FIFO (capacity up to [`RING_MAX`]).
//! * [`Locked`]: a short spin lock around a plain buffer (`VecDeque`, `Vec`
//!   or a binary heap): LIFO, priority, unbounded FIFO and very large
//!   bounded FIFO queues.
//!
//! Ordering contract (what `Queue`'s lost-wake-up argument needs): a
//! successful `try_push` / `try_pop` is followed by a `SeqCst` ordering point
//! after the change became visible, and the `has_*` checks read the state
//! with `SeqCst` (or under the store's lock).

use core::cell::UnsafeCell;
use core::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::ring::Ring;
pub(crate) use super::ring::{PopError, PushError};
use crate::engine::loom_const_fn;
use crate::engine::queue::WaitQueue;
use crate::engine::sync::{AtomicBool, AtomicUsize, Ordering, fence};

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
    #[doc(hidden)]
    fn len(&self) -> usize;
    /// The capacity asked for; `None` when unbounded.
    #[doc(hidden)]
    fn capacity(&self) -> Option<usize>;
    /// Pushes ever accepted.
    #[doc(hidden)]
    fn pushed(&self) -> usize;
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
/// that never holds waiters). `closed` and `pushed` are written under the
/// lock and mirrored in atomics for lock-free reads.
#[doc(hidden)]
pub struct Locked<B> {
    lock: WaitQueue<()>,
    buf: UnsafeCell<B>,
    /// The most items it holds (`usize::MAX` when unbounded, which no
    /// buffer reaches).
    cap: usize,
    /// Made with a capacity, even `usize::MAX`: reported as asked.
    bounded: bool,
    closed: AtomicBool,
    pushed: AtomicUsize,
}

// SAFETY: `buf` is only touched with `lock` held, which serializes threads;
// the items it holds move between threads, hence `B: Send`.
unsafe impl<B: Send> Send for Locked<B> {}
// SAFETY: as above.
unsafe impl<B: Send> Sync for Locked<B> {}

impl<B> Locked<B> {
    loom_const_fn! {
        /// An unbounded store around an empty `buf`; `const`, for queues in a
        /// `static`.
        pub(crate) fn unbounded(buf: B) -> Self {
            Locked {
                lock: WaitQueue::new(),
                buf: UnsafeCell::new(buf),
                cap: usize::MAX,
                bounded: false,
                closed: AtomicBool::new(false),
                pushed: AtomicUsize::new(0),
            }
        }
    }

    /// Runs `f` on the buffer with the lock held.
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut B) -> R) -> R {
        let _g = self.lock.lock();
        // SAFETY: the lock is held until `_g` drops, after `f` returns.
        f(unsafe { &mut *self.buf.get() })
    }
}

impl<T, B: Plain<T>> Store<T> for Locked<B> {
    fn make(capacity: Option<usize>) -> Self {
        let (cap, pre) = match capacity {
            Some(c) => (c, c.min(PREALLOC)),
            None => (usize::MAX, 0),
        };
        Locked {
            lock: WaitQueue::new(),
            buf: UnsafeCell::new(B::with_capacity(pre)),
            cap,
            bounded: capacity.is_some(),
            closed: AtomicBool::new(false),
            pushed: AtomicUsize::new(0),
        }
    }

    #[inline]
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let r = self.with(|b| {
            if self.closed.load(Ordering::Relaxed) {
                Err(PushError::Closed(item))
            } else if b.len() >= self.cap {
                Err(PushError::Full(item))
            } else {
                b.push(item);
                let n = self.pushed.load(Ordering::Relaxed);
                self.pushed.store(n.wrapping_add(1), Ordering::Relaxed);
                Ok(())
            }
        });
        if r.is_ok() {
            fence(Ordering::SeqCst); // the ordering point after the unlock
        }
        r
    }

    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        let r = self.with(|b| match b.pop() {
            Some(t) => Ok(t),
            None if self.closed.load(Ordering::Relaxed) => Err(PopError::Closed),
            None => Err(PopError::Empty),
        });
        if r.is_ok() {
            fence(Ordering::SeqCst);
        }
        r
    }

    fn close(&self) -> bool {
        self.with(|_| !self.closed.swap(true, Ordering::SeqCst))
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn has_item(&self) -> bool {
        self.with(|b| b.len() > 0)
    }

    fn has_room(&self) -> bool {
        self.with(|b| b.len() < self.cap)
    }

    fn len(&self) -> usize {
        self.with(|b| b.len())
    }

    fn capacity(&self) -> Option<usize> {
        self.bounded.then_some(self.cap)
    }

    fn pushed(&self) -> usize {
        self.pushed.load(Ordering::SeqCst)
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
    Locked(Locked<VecDeque<T>>),
}

macro_rules! fifo_dispatch {
    ($s:expr, $x:ident => $e:expr) => {
        match $s {
            FifoStore::Ring($x) => $e,
            FifoStore::Locked($x) => $e,
        }
    };
}

impl<T> Store<T> for FifoStore<T> {
    fn make(capacity: Option<usize>) -> Self {
        match capacity {
            Some(c) if c <= RING_MAX => FifoStore::Ring(Ring::new(c)),
            _ => FifoStore::Locked(Locked::make(capacity)),
        }
    }
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
    fn len(&self) -> usize {
        fifo_dispatch!(self, s => s.len())
    }
    fn capacity(&self) -> Option<usize> {
        match self {
            FifoStore::Ring(r) => Some(r.capacity()),
            FifoStore::Locked(l) => l.capacity(),
        }
    }
    fn pushed(&self) -> usize {
        fifo_dispatch!(self, s => s.pushed())
    }
}
