//! The bounded FIFO store of a [`Queue`](crate::Queue): a lock-free ring of
//! slots with per-slot sequence stamps (D. Vyukov's bounded MPMC queue),
//! closable, and (for a channel) with slots that a send permit can hold.
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
//! A ring made [`reservable`](Ring::reservable) (a channel's) also keeps in
//! `tail`, above the position, `R`: how many slots send permits hold.
//! Positions then wrap at 2^s instead of 2^64 (every position is masked
//! with `pos`), which still leaves at least 2^24 laps:
//!
//! ```text
//!   63 ......... s | s-1 ........ k+1 |  k  | k-1 ......... 0
//!  +---------------+------------------+-----+----------------+
//!  |  R            |  lap number      |  C  |  index         |
//!  +---------------+------------------+-----+----------------+
//!   s = 64 - (bits of cap): R counts 0..=cap; `head` has no R
//! ```
//!
//! A reservation is one CAS of `tail` that adds 1 to `R` while the slot `R`
//! positions past the tail is free (so the permit's item will have a slot);
//! releasing it subtracts 1; a permit's push moves the tail one position
//! and takes 1 from `R` in the same CAS. A plain push with `R > 0` checks
//! for room `R` slots ahead of the tail, for the same reason. With `R = 0`
//! (always, in a queue's ring) a push is exactly Vyukov's.
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
//! 1. A push owns the slot at `tail` between winning the `tail` CAS and
//!    storing the stamp `tail + 1` (`Release`), from the moment the stamp
//!    says "empty for `tail`" (read before the CAS when `R = 0`, awaited
//!    after it otherwise); a pop likewise owns it between winning the
//!    `head` CAS and storing `head + lap`. So at most one thread touches a
//!    value at a time.
//! 2. `head <= tail` (as positions, closed bit aside), and the items
//!    (`tail - head`) plus `R` are at most `cap`. So when a push wins
//!    position `p` with room checked `R` slots ahead, or with a held slot,
//!    the pop of the slot's previous lap (position `p - lap`) has already
//!    won its CAS: the push waits at most for that pop to finish reading.
//! 3. Once `C` is set it stays set; pushes that won their CAS before it still
//!    complete, so after `close` the items in the ring are exactly what the
//!    pops will still find.
//! 4. The `head`/`tail` CASes (and `R`'s changes) are `SeqCst`: with a
//!    `SeqCst` load of a waiter queue after them, and a waiter's `SeqCst`
//!    lock of that queue before its `SeqCst` re-check, a waiter and the
//!    operation that would wake it cannot both miss each other (the
//!    store-buffering pattern; see `Queue`).
//! 5. Every position's index is below `cap`: `head` and `tail` start at
//!    index 0 of a lap, and `next`/`advance` go from index `cap - 1` to
//!    index 0 of the next lap. So `slot` indexes `slots` without a bounds
//!    check.

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

/// Lap-number bits a reservable ring keeps at the least (positions wrap
/// after 2^24 laps: far more than a thread stalled between two reads of a
/// position can see go by).
const MIN_LAP_BITS: u32 = 24;

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
    /// The position bits of a `tail` or `head` word: all ones unless the
    /// ring is reservable (then `R` sits above them, in `tail`).
    pos: usize,
    /// Where `R` starts in `tail` (reservable rings only).
    rshift: u32,
    /// `closed | !pos`: a `tail` with any of these bits set takes the
    /// out-of-line push (closed, or slots held).
    slow: usize,
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

/// What a push or a reservation finds `R` slots past the tail.
enum Room {
    /// A free slot: go ahead.
    Free,
    /// Items and held slots fill the ring.
    Full,
    /// The ring is closed.
    Closed,
    /// The slot's last item is being popped: look again soon.
    Popping,
    /// The tail read is stale (another push moved it): read it again.
    Stale,
}

impl<T> Ring<T> {
    /// A ring of `cap >= 1` slots.
    pub(crate) fn new(cap: usize) -> Self {
        Self::build(cap, false)
    }

    /// A ring of `cap >= 1` slots whose slots send permits can hold
    /// ([`try_reserve`](Self::try_reserve)); `None` when `R` and the
    /// positions do not fit in one word together (a huge capacity on a
    /// 32-bit target).
    pub(crate) fn reservable(cap: usize) -> Option<Self> {
        let rbits = usize::BITS - cap.leading_zeros();
        let pbits = (cap + 1).next_power_of_two().trailing_zeros() + 1;
        (rbits + pbits + MIN_LAP_BITS <= usize::BITS).then(|| Self::build(cap, true))
    }

    fn build(cap: usize, reservable: bool) -> Self {
        Self::build_at(cap, reservable, 0)
    }

    /// A ring whose positions start at lap `first_lap` (tests: the wrap of
    /// the positions, masked or at 2^64, is reached in a few pushes).
    fn build_at(cap: usize, reservable: bool, first_lap: usize) -> Self {
        assert!((1..=usize::MAX / 4).contains(&cap));
        let closed = (cap + 1).next_power_of_two();
        let (pos, rshift) = if reservable {
            let rshift = cap.leading_zeros();
            ((1usize << rshift) - 1, rshift)
        } else {
            (!0, usize::BITS - 1) // `tail & !pos` is 0: any shift reads R = 0
        };
        let start = first_lap.wrapping_mul(closed * 2) & pos;
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(start + i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicUsize::new(start)),
            tail: CachePadded::new(AtomicUsize::new(start)),
            slots,
            cap,
            closed,
            lap: closed * 2,
            pos,
            rshift,
            slow: closed | !pos,
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
            (p & !(self.lap - 1)).wrapping_add(self.lap) & self.pos
        }
    }

    /// The position `n <= cap` places after `p` (closed bit clear).
    #[inline]
    fn advance(&self, p: usize, n: usize) -> usize {
        let index = p & (self.closed - 1);
        if index + n < self.cap {
            p + n
        } else {
            (p & !(self.lap - 1))
                .wrapping_add(self.lap)
                .wrapping_add(index + n - self.cap)
                & self.pos
        }
    }

    /// `p` one lap later (or earlier, from a stamp): masked.
    #[inline]
    fn lap_after(&self, p: usize) -> usize {
        p.wrapping_add(self.lap) & self.pos
    }

    /// `R`, the slots held by permits, from a `tail` word.
    #[inline]
    fn reserved_in(&self, tail: usize) -> usize {
        (tail & !self.pos) >> self.rshift
    }

    /// The slot of position `p` (invariant 5: its index is below `cap`).
    #[inline(always)]
    fn slot(&self, p: usize) -> &Slot<T> {
        let index = p & (self.closed - 1);
        debug_assert!(index < self.cap, "a position's index is below cap");
        // SAFETY: `p` is a position (read from `head` or `tail`, or made
        // from one by `next`/`advance`), so its index is below `cap`, the
        // length of `slots` (invariant 5). The bounds check this skips
        // was a third of the ring's own instructions per item.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// Whether the slot `r` positions past `p` (an open tail position) is
    /// free: room for the `r` held slots and one more item.
    #[inline]
    fn room(&self, p: usize, r: usize) -> Room {
        if r >= self.cap {
            return Room::Full;
        }
        let target = self.advance(p, r);
        let stamp = self.slot(target).stamp.load(Ordering::Acquire);
        if stamp == target {
            Room::Free
        } else {
            self.not_free(target, stamp)
        }
    }

    /// Why the slot for position `target`, whose stamp is `stamp`, is not
    /// free for it.
    #[inline]
    fn not_free(&self, target: usize, stamp: usize) -> Room {
        if self.lap_after(stamp) == target + 1 {
            // The slot still holds last lap's item: full, unless a pop of
            // it is under way.
            fence(Ordering::SeqCst);
            let head = self.head.load(Ordering::Relaxed);
            if self.lap_after(head) == target {
                Room::Full
            } else {
                Room::Popping
            }
        } else {
            // Another push got this position first and is writing.
            Room::Stale
        }
    }

    /// Pushes at the tail, or gives the item back. With no slot held (`R =
    /// 0`) this is Vyukov's push: the bits that say "closed" or "slots
    /// held" are tested together, so the fast path costs what it did
    /// before reservations.
    ///
    /// The first attempt is inline (a few instructions in the caller);
    /// anything else (a lost race, a full or closed ring, held slots) is
    /// the out-of-line [`push_contended`](Self::push_contended).
    #[inline]
    pub(crate) fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & self.slow == 0 {
            let slot = self.slot(tail);
            if slot.stamp.load(Ordering::Acquire) == tail && self.claim(&self.tail, tail) {
                // SAFETY: `claim` won position `tail` while its slot was
                // empty for it.
                unsafe { Self::fill(slot, tail, item) };
                return Ok(());
            }
        }
        self.push_contended(item)
    }

    /// Moves a position (`head` or `tail`) from `p` to the next one:
    /// `true` if this thread won position `p`.
    #[inline(always)]
    fn claim(&self, position: &AtomicUsize, p: usize) -> bool {
        Self::swap_word(position, p, self.next(p))
    }

    /// One attempt to replace the word `old` of `head` or `tail` by `new`
    /// (`SeqCst`, invariant 4): the CAS of every inline first attempt.
    #[inline(always)]
    fn swap_word(position: &AtomicUsize, old: usize, new: usize) -> bool {
        position
            .compare_exchange_weak(old, new, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
    }

    /// Writes `item` into `slot`, the slot of position `p`, and marks it
    /// full.
    ///
    /// # Safety
    ///
    /// The caller won position `p` (the `tail` CAS) and the slot's stamp
    /// said "empty for `p`": the value is the caller's until the stamp store
    /// (invariant 1).
    #[inline(always)]
    unsafe fn fill(slot: &Slot<T>, p: usize, item: T) {
        // SAFETY: the caller's contract (invariant 1).
        unsafe { (*slot.value.get()).write(item) };
        slot.stamp.store(p + 1, Ordering::Release);
        #[cfg(loom)]
        fence(Ordering::SeqCst); // loom models SeqCst RMWs as AcqRel
    }

    /// Moves the item out of `slot`, the slot of position `p`, and marks
    /// it empty for the next lap.
    ///
    /// # Safety
    ///
    /// The caller won position `p` (the `head` CAS) while the slot held the
    /// item pushed there (invariant 1).
    #[inline(always)]
    unsafe fn take(&self, slot: &Slot<T>, p: usize) -> T {
        // SAFETY: the caller's contract (invariant 1): the value was written
        // by the push of `p`, and nobody else reads it.
        let item = unsafe { (*slot.value.get()).assume_init_read() };
        slot.stamp.store(self.lap_after(p), Ordering::Release);
        #[cfg(loom)]
        fence(Ordering::SeqCst);
        item
    }

    /// The push loop: retries a lost race, waits out a pop or a push under
    /// way, and tells full and closed apart.
    #[cold]
    #[inline(never)]
    fn push_contended(&self, item: T) -> Result<(), PushError<T>> {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.slow != 0 {
                return self.push_slow(item, false);
            }
            let slot = self.slot(tail);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                if self.claim(&self.tail, tail) {
                    // SAFETY: we won position `tail` while its slot was
                    // empty for it.
                    unsafe { Self::fill(slot, tail, item) };
                    return Ok(());
                }
                relax(&backoff);
            } else {
                match self.not_free(tail, stamp) {
                    Room::Full => return Err(PushError::Full(item)),
                    Room::Popping => relax(&backoff),
                    _ => spin_step(&backoff), // Stale
                }
            }
            tail = self.tail.load(Ordering::Relaxed);
        }
    }

    /// Pushes into a slot held by [`try_reserve`](Self::try_reserve),
    /// releasing it: never full. When the ring is closed the item comes
    /// back and the slot is released all the same.
    ///
    /// The first attempt is inline, as [`try_push`](Self::try_push)'s: an
    /// open tail whose slot is empty for it is won by one CAS that also
    /// takes 1 from `R` (the held slot may be any of the `R`: they are
    /// counted, not named). A slot still being popped, a lost race or a
    /// closed ring is the out-of-line [`push_slow`](Self::push_slow).
    #[inline]
    pub(crate) fn push_reserved(&self, item: T) -> Result<(), T> {
        let tail = self.tail.load(Ordering::Relaxed);
        debug_assert!(self.reserved_in(tail) > 0, "a held slot is counted in R");
        if tail & self.closed == 0 {
            let p = tail & self.pos;
            let slot = self.slot(p);
            let word = self.next(p) | ((tail & !self.pos) - (1 << self.rshift));
            if slot.stamp.load(Ordering::Acquire) == p && Self::swap_word(&self.tail, tail, word) {
                // SAFETY: we won position `p` while its slot was empty for
                // it (invariant 1).
                unsafe { Self::fill(slot, p, item) };
                return Ok(());
            }
        }
        self.push_reserved_slow(item)
    }

    /// [`push_reserved`](Self::push_reserved) after its first attempt.
    #[cold]
    #[inline(never)]
    fn push_reserved_slow(&self, item: T) -> Result<(), T> {
        match self.push_slow(item, true) {
            Ok(()) => Ok(()),
            Err(PushError::Closed(t) | PushError::Full(t)) => {
                self.unreserve();
                Err(t)
            }
        }
    }

    /// A push while the ring is closed or slots are held (`R > 0`), or
    /// `held`: into a slot a permit holds (no room check). The room check
    /// looks `R` slots past the tail, and the push may win a position
    /// whose slot a pop is still reading: it waits for that pop
    /// (invariant 2).
    #[cold]
    #[inline(never)]
    fn push_slow(&self, item: T, held: bool) -> Result<(), PushError<T>> {
        let won = self.cas_tail(|tail| {
            let (p, r) = (tail & self.pos, self.reserved_in(tail));
            if !held {
                match self.room(p, r) {
                    Room::Free => {}
                    other => return Err(other),
                }
            }
            debug_assert!(!held || r > 0, "a held slot is counted in R");
            Ok(self.next(p) | (r - usize::from(held)) << self.rshift)
        });
        let p = match won {
            Ok(tail) => tail & self.pos,
            Err(PushError::Full(())) => return Err(PushError::Full(item)),
            Err(PushError::Closed(())) => return Err(PushError::Closed(item)),
        };
        // Invariant 2: the pop of the slot's previous lap won its CAS; wait
        // until it has read the value.
        let slot = self.slot(p);
        let wait = Backoff::new();
        while slot.stamp.load(Ordering::Acquire) != p {
            spin_step(&wait);
        }
        // SAFETY: we won position `p` and its slot is empty for it (its
        // stamp says so).
        unsafe { Self::fill(slot, p, item) };
        Ok(())
    }

    /// Holds one slot for a later [`push_reserved`](Self::push_reserved):
    /// `Full` while the items and the held slots fill the ring. Reservable
    /// rings only.
    ///
    /// The first attempt is inline: with no slot held and the ring open,
    /// the tail slot free for the tail is the one room check, and one CAS
    /// adds 1 to `R`. Anything else is
    /// [`reserve_contended`](Self::reserve_contended).
    #[inline]
    pub(crate) fn try_reserve(&self) -> Result<(), PushError<()>> {
        debug_assert_ne!(self.pos, !0, "a ring made without reservations");
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & self.slow == 0
            && self.slot(tail).stamp.load(Ordering::Acquire) == tail
            && Self::swap_word(&self.tail, tail, tail + (1 << self.rshift))
        {
            #[cfg(loom)]
            fence(Ordering::SeqCst); // loom models SeqCst RMWs as AcqRel
            return Ok(());
        }
        self.reserve_contended()
    }

    /// The reservation's CAS loop: held slots, a lost race, a full or
    /// closed ring.
    #[cold]
    #[inline(never)]
    fn reserve_contended(&self) -> Result<(), PushError<()>> {
        self.cas_tail(
            |tail| match self.room(tail & self.pos, self.reserved_in(tail)) {
                Room::Free => Ok(tail + (1 << self.rshift)),
                other => Err(other),
            },
        )
        .map(drop)
    }

    /// The CAS loop on `tail` of the out-of-line push and of a
    /// reservation: `new` gives the word to put in place of an open `tail`
    /// word, or the [`Room`] that stops it (full) or makes it wait (a pop
    /// or a push under way). Returns the `tail` word it replaced.
    #[inline]
    fn cas_tail(&self, new: impl Fn(usize) -> Result<usize, Room>) -> Result<usize, PushError<()>> {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let word = if tail & self.closed != 0 {
                Err(Room::Closed)
            } else {
                new(tail)
            };
            match word {
                Ok(word) => match self.tail.compare_exchange_weak(
                    tail,
                    word,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        #[cfg(loom)]
                        fence(Ordering::SeqCst); // loom models SeqCst RMWs as AcqRel
                        return Ok(tail);
                    }
                    Err(t) => {
                        tail = t;
                        relax(&backoff);
                        continue;
                    }
                },
                Err(Room::Full) => return Err(PushError::Full(())),
                Err(Room::Closed) => return Err(PushError::Closed(())),
                Err(Room::Popping | Room::Free) => relax(&backoff),
                Err(Room::Stale) => spin_step(&backoff),
            }
            tail = self.tail.load(Ordering::Relaxed);
        }
    }

    /// Releases a slot held by [`try_reserve`](Self::try_reserve).
    pub(crate) fn unreserve(&self) {
        let old = self.tail.fetch_sub(1 << self.rshift, Ordering::SeqCst);
        debug_assert!(self.reserved_in(old) > 0, "no slot was held");
        #[cfg(loom)]
        fence(Ordering::SeqCst);
    }

    /// Pops at the head. The first attempt is inline; an empty or closed
    /// ring, or a lost race, is [`pop_contended`](Self::pop_contended).
    #[inline]
    pub(crate) fn try_pop(&self) -> Result<T, PopError> {
        let head = self.head.load(Ordering::Relaxed);
        let slot = self.slot(head);
        if slot.stamp.load(Ordering::Acquire) == head + 1 && self.claim(&self.head, head) {
            // SAFETY: we won position `head` while its slot held the item
            // pushed there.
            return Ok(unsafe { self.take(slot, head) });
        }
        self.pop_contended()
    }

    /// The pop loop: retries a lost race, waits out a push or a pop under
    /// way, and tells empty and closed apart.
    #[cold]
    #[inline(never)]
    fn pop_contended(&self) -> Result<T, PopError> {
        let backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                if self.claim(&self.head, head) {
                    // SAFETY: we won position `head` while its slot held the
                    // item pushed there.
                    return Ok(unsafe { self.take(slot, head) });
                }
                relax(&backoff);
            } else if stamp == head {
                // Empty, unless a push of this position is under way.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                if tail & self.pos & !self.closed == head {
                    return Err(if tail & self.closed != 0 {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                spin_step(&backoff);
            } else {
                // Another pop took this position and is reading.
                spin_step(&backoff);
            }
            head = self.head.load(Ordering::Relaxed);
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
        tail & self.pos & !self.closed != self.head.load(Ordering::SeqCst)
    }

    /// Whether a push would find a free slot (possibly one still being
    /// read), the held slots counted as taken.
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        let (len, r) = self.counts();
        len + r < self.cap
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

    /// The same for a spinning producer: the slot it would need is free (or
    /// the ring is closed).
    #[inline]
    pub(crate) fn peek_room(&self) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        let r = self.reserved_in(tail);
        if tail & self.closed != 0 {
            return true;
        }
        if r >= self.cap {
            return false;
        }
        let target = self.advance(tail & self.pos, r);
        self.slot(target).stamp.load(Ordering::Relaxed) == target
    }

    /// Another spinning hint: the slot after the head slot holds an item
    /// too (at least two items: the producers are ahead of this consumer).
    #[inline]
    pub(crate) fn peek_items_ahead(&self) -> bool {
        if self.cap < 2 {
            return false;
        }
        let next = self.next(self.head.load(Ordering::Relaxed));
        self.slot(next).stamp.load(Ordering::Relaxed) == next.wrapping_add(1)
    }

    /// The same for a producer: the slot after the one it needs is free
    /// too (the consumers are ahead of this producer).
    #[inline]
    pub(crate) fn peek_room_ahead(&self) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        let r = self.reserved_in(tail);
        if tail & self.closed != 0 || r + 2 > self.cap {
            return false;
        }
        let target = self.advance(tail & self.pos, r + 1);
        self.slot(target).stamp.load(Ordering::Relaxed) == target
    }

    /// Items in the ring (pushes under way included), a consistent snapshot.
    pub(crate) fn len(&self) -> usize {
        self.counts().0
    }

    /// Slots held by permits now.
    pub(crate) fn reserved(&self) -> usize {
        self.reserved_in(self.tail.load(Ordering::SeqCst))
    }

    /// Items and held slots, from one consistent (`tail`, `head`) pair.
    fn counts(&self) -> (usize, usize) {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) != tail {
                continue;
            }
            let r = self.reserved_in(tail);
            let tail = tail & self.pos & !self.closed;
            let (hi, ti) = (head & (self.closed - 1), tail & (self.closed - 1));
            let len = if hi < ti {
                ti - hi
            } else if hi > ti {
                self.cap - hi + ti
            } else if tail == head {
                0
            } else {
                self.cap
            };
            return (len, r);
        }
    }

    /// Pushes ever accepted (each at its own position), from `tail`. In a
    /// reservable ring it wraps with the positions (a channel has no
    /// `join`).
    #[inline]
    pub(crate) fn pushed(&self) -> usize {
        let tail = self.tail.load(Ordering::SeqCst) & self.pos & !self.closed;
        (tail / self.lap)
            .wrapping_mul(self.cap)
            .wrapping_add(tail & (self.closed - 1))
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread; every started push has finished.
        let tail = self.tail.load(Ordering::Relaxed) & self.pos & !self.closed;
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
