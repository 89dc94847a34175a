//! The bounded FIFO store of a [`Queue`](crate::Queue): a lock-free ring of
//! slots with per-slot sequence stamps (D. Vyukov's bounded MPMC queue),
//! closable.
//!
//! # Positions
//!
//! `head` (next pop) and `tail` (next push) are *positions*:
//!
//! ```text
//!   63 ...................... k+1 |  k   | k-1 ............ 0
//!  +------------------------------+------+------------------+
//!  |  lap number                  |  C   |  index (< cap)   |
//!  +------------------------------+------+------------------+
//!   bit k = `closed`: (cap + 1).next_power_of_two(); one lap = 2^(k+1)
//!   C (tail only): the ring is closed, no push can succeed any more
//! ```
//!
//! Advancing a position moves to the next index, or from the last index to
//! index 0 of the next lap, so positions never collide within 2^64 / lap laps.
//!
//! # Slots
//!
//! Each slot has a `stamp` (a position) saying what it waits for:
//!
//! * `stamp == p`: empty, ready for the push at position `p`;
//! * `stamp == p + 1`: holds the item pushed at `p`, ready for the pop at `p`.
//!   The pop then stores `p + lap`: empty for the push one lap later.
//!
//! # Invariants
//!
//! 1. A push owns the slot at `tail` between winning the `tail` CAS (while
//!    the stamp said "empty for `tail`") and storing the stamp `tail + 1`
//!    (`Release`); a pop likewise owns it between winning the `head` CAS and
//!    storing `head + lap`. So at most one thread touches a value at a time.
//! 2. `head <= tail` (as positions, closed bit aside) and `tail - head` is at
//!    most one lap's worth of `cap` items.
//! 3. Once `C` is set it stays set; pushes that won their CAS before it still
//!    complete, so after `close` the items in the ring are exactly what the
//!    pops will still find.
//! 4. The `head`/`tail` CASes are `SeqCst`: with a `SeqCst` load of a waiter
//!    queue after them, and a `SeqCst` fence after a waiter queues, a waiter
//!    and the operation that would wake it cannot both miss each other (the
//!    store-buffering pattern; see `Queue`).

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

use crossbeam_utils::{Backoff, CachePadded};

use crate::engine::sync::{AtomicUsize, Ordering, fence, spin_step};

/// Why a push failed; the item comes back.
#[doc(hidden)]
pub enum PushError<T> {
    Full(T),
    Closed(T),
}

/// Why a pop found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum PopError {
    Empty,
    Closed,
}

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

#[doc(hidden)]
pub struct Ring<T> {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    cap: usize,
    /// The closed bit of `tail`; also one past the largest index.
    closed: usize,
    /// One lap: `2 * closed`.
    lap: usize,
}

// SAFETY: values move between threads through the slots (T: Send); access to
// a slot's value is exclusive by invariant 1, so sharing the ring hands out
// no `&T`.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Ring<T> {}

/// Under loom, a spin on another thread's progress must yield to it.
#[inline]
fn relax(backoff: &Backoff) {
    #[cfg(not(loom))]
    backoff.spin();
    #[cfg(loom)]
    spin_step(backoff);
}

impl<T> Ring<T> {
    /// A ring of `cap >= 1` slots.
    pub(crate) fn new(cap: usize) -> Self {
        assert!((1..=usize::MAX / 4).contains(&cap));
        let closed = (cap + 1).next_power_of_two();
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            cap,
            closed,
            lap: closed * 2,
        }
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// The position after `p` (closed bit clear).
    #[inline]
    fn next(&self, p: usize) -> usize {
        let index = p & (self.closed - 1);
        if index + 1 < self.cap {
            p + 1
        } else {
            (p & !(self.lap - 1)).wrapping_add(self.lap)
        }
    }

    #[inline]
    fn slot(&self, p: usize) -> &Slot<T> {
        &self.slots[p & (self.closed - 1)]
    }

    /// Pushes at the tail, or gives the item back.
    #[inline]
    pub(crate) fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.closed != 0 {
                return Err(PushError::Closed(item));
            }
            let slot = self.slot(tail);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we won position `tail` while its slot was
                        // empty for it: the value is ours until the stamp
                        // store below (invariant 1).
                        unsafe { (*slot.value.get()).write(item) };
                        slot.stamp.store(tail + 1, Ordering::Release);
                        #[cfg(loom)]
                        fence(Ordering::SeqCst); // loom models SeqCst RMWs as AcqRel
                        return Ok(());
                    }
                    Err(t) => {
                        tail = t;
                        relax(&backoff);
                    }
                }
            } else if stamp.wrapping_add(self.lap) == tail + 1 {
                // The slot still holds last lap's item: full, unless a pop
                // of it is under way.
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.lap) == tail {
                    return Err(PushError::Full(item));
                }
                relax(&backoff);
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another push got this position first and is writing.
                spin_step(&backoff);
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops at the head.
    #[inline]
    pub(crate) fn try_pop(&self) -> Result<T, PopError> {
        let backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we won position `head` while its slot held
                        // the item pushed there (invariant 1): we move it out
                        // and mark the slot empty for the next lap.
                        let item = unsafe { (*slot.value.get()).assume_init_read() };
                        slot.stamp
                            .store(head.wrapping_add(self.lap), Ordering::Release);
                        #[cfg(loom)]
                        fence(Ordering::SeqCst);
                        return Ok(item);
                    }
                    Err(h) => {
                        head = h;
                        relax(&backoff);
                    }
                }
            } else if stamp == head {
                // Empty, unless a push of this position is under way.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                if tail & !self.closed == head {
                    return Err(if tail & self.closed != 0 {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                spin_step(&backoff);
                head = self.head.load(Ordering::Relaxed);
            } else {
                // Another pop took this position and is reading.
                spin_step(&backoff);
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Closes the ring to pushes. `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        self.tail.fetch_or(self.closed, Ordering::SeqCst) & self.closed == 0
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.closed != 0
    }

    /// Whether a pop would find an item (possibly one still being written).
    #[inline]
    pub(crate) fn has_item(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        tail & !self.closed != self.head.load(Ordering::SeqCst)
    }

    /// Whether a push would find a free slot (possibly one still being
    /// read).
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        head.wrapping_add(self.lap) != tail & !self.closed
    }

    /// A cheap hint for a spinning consumer: the head slot holds an item.
    /// Reads only the head slot's stamp (the line the producer writes
    /// anyway), not `tail`, whose line a spinning reader would keep taking
    /// away from producers.
    #[inline]
    pub(crate) fn peek_item(&self) -> bool {
        let head = self.head.load(Ordering::Relaxed);
        self.slot(head).stamp.load(Ordering::Relaxed) == head.wrapping_add(1)
    }

    /// The same for a spinning producer: the tail slot is free (or closed).
    #[inline]
    pub(crate) fn peek_room(&self) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        tail & self.closed != 0 || self.slot(tail).stamp.load(Ordering::Relaxed) == tail
    }

    /// Items in the ring (pushes under way included), a consistent snapshot.
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) != tail {
                continue;
            }
            let tail = tail & !self.closed;
            let (hi, ti) = (head & (self.closed - 1), tail & (self.closed - 1));
            return if hi < ti {
                ti - hi
            } else if hi > ti {
                self.cap - hi + ti
            } else if tail == head {
                0
            } else {
                self.cap
            };
        }
    }

    /// Pushes ever accepted (each at its own position), from `tail`.
    #[inline]
    pub(crate) fn pushed(&self) -> usize {
        let tail = self.tail.load(Ordering::SeqCst) & !self.closed;
        (tail / self.lap)
            .wrapping_mul(self.cap)
            .wrapping_add(tail & (self.closed - 1))
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread; every started push has finished.
        let tail = self.tail.load(Ordering::Relaxed) & !self.closed;
        let mut head = self.head.load(Ordering::Relaxed);
        while head != tail {
            let slot = self.slot(head);
            // SAFETY: positions in head..tail hold initialized items that no
            // pop has taken (invariant 2); each is dropped once.
            unsafe { (*slot.value.get()).assume_init_drop() };
            head = self.next(head);
        }
    }
}

#[cfg(test)]
mod tests;
