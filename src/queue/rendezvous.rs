//! The rendezvous store: the item store of a channel of capacity 0.
//!
//! Its room is the receivers waiting: the queue counts a getter in
//! ([`add_receiver`](Rendezvous::add_receiver)) while it is linked in the
//! getters queue, and a send that finds such a receiver unclaimed hands
//! the item straight to it ([`push_to_receiver`](Rendezvous::push_to_receiver),
//! under the getters lock). The buffer holds an item only when the receiver
//! a push was for left before taking it (a push that found room, then the
//! queue's hand-off found that getter gone): the next pop takes it.
//!
//! The counts live in one word changed by atomic read-modify-writes, so
//! that the two steps of every item, a receiver coming to wait and a send
//! handing it its item, take no lock of their own (the getters lock they
//! run under is the queue's). Only the buffer, touched on the rare paths,
//! has a lock.
//!
//! # State word
//!
//! ```text
//!   63                                2   1   0
//!  +------------------------------------+---+---+
//!  |  room (two's complement, signed)   | I | C |
//!  +------------------------------------+---+---+
//!   C (CLOSED): closed to pushes; set once (under the buffer lock), never
//!               cleared
//!   I (ITEM):   the buffer holds an item
//!   room:       receivers - reserved - buffered, where
//!                 receivers: getters linked now, each room for one item,
//!                 reserved:  slots held by send permits,
//!                 buffered:  items in the buffer;
//!               a push (or a reservation) fits while room > 0
//! ```
//!
//! | C | I | room  | state                                                   |
//! |---|---|-------|---------------------------------------------------------|
//! | 0 | 0 | > 0   | a receiver waits that no send or permit claimed: a push hands it the item |
//! | 0 | 0 | <= 0  | no unclaimed receiver: a push is `Full`, a pop `Empty`    |
//! | 0 | 1 | any   | an item whose receiver left is buffered: the next pop takes it, a direct hand-off waits behind it |
//! | 1 | any | any | closed: pushes and reservations fail; a buffered item still comes out |
//!
//! Room can be negative: permits that claimed receivers which then left
//! hold more slots than receivers wait.
//!
//! # Invariants
//!
//! 1. The room part counts exactly `receivers - reserved - buffered`: every
//!    change of one of the three changes the word in one read-modify-write
//!    (a push into the buffer takes a unit of room and sets `I` in one CAS;
//!    a pop gives it back and clears `I` with the last item in one add).
//! 2. `I` is set exactly while the buffer holds an item, as seen under the
//!    buffer lock: only lock holders change `I` and the buffer, and `C`.
//! 3. A direct hand-off ([`push_to_receiver`](Rendezvous::push_to_receiver))
//!    runs under the queue's getters lock, which holds the receiver it
//!    hands to in place; it fails while `I` is set, so a buffered item (an
//!    earlier send's) goes first.
//! 4. `reserved` mirrors the held slots for statistics; the word is what
//!    decides. `direct` is written only under the getters lock (plain
//!    load and store); the buffer (a plain [`Locked`] store) counts the
//!    pushes into it under its own lock.
//! 5. Every change that can end a wait is a `SeqCst` read-modify-write of
//!    the word (followed, on the locked paths, by a `SeqCst` fence after
//!    the unlock): the ordering point of the queue's lost-wake-up argument.

use std::collections::VecDeque;

use super::ring::{PopError, PushError};
use super::store::{Locked, Store};
use crate::engine::sync::{AtomicUsize, Ordering, fence};

/// The word's closed bit.
const CLOSED: usize = 1;
/// The word's "an item is buffered" bit.
const ITEM: usize = 2;
/// One unit of room in the word.
const UNIT: usize = 4;
/// Where the room count starts in the word.
const SHIFT: u32 = 2;

/// The room a word holds (signed).
#[inline(always)]
fn room(word: usize) -> isize {
    (word as isize) >> SHIFT
}

/// The store behind a rendezvous channel (see the module docs).
#[doc(hidden)]
pub struct Rendezvous<T> {
    /// `room << 2 | ITEM | CLOSED` (see the module docs).
    word: AtomicUsize,
    /// The buffer: the plain locked store, unbounded (its own room and
    /// look word go unused: the word above decides). It counts the pushes
    /// into it.
    buf: Locked<VecDeque<T>>,
    /// Slots held by permits (statistics only).
    reserved: AtomicUsize,
    /// Items handed straight to a receiver (written under the getters lock).
    direct: AtomicUsize,
}

impl<T> Rendezvous<T> {
    /// An empty, open store with no receiver waiting.
    pub(crate) fn new() -> Self {
        Rendezvous {
            word: AtomicUsize::new(0),
            buf: Locked::unbounded(VecDeque::new()),
            reserved: AtomicUsize::new(0),
            direct: AtomicUsize::new(0),
        }
    }

    /// The word, `SeqCst` (the re-check of a waiter that linked).
    #[inline]
    fn look(&self) -> usize {
        self.word.load(Ordering::SeqCst)
    }

    /// Adds `d` to the word (wrapping: `d` may stand for a negative change).
    #[inline]
    fn add(&self, d: usize) {
        self.word.fetch_add(d, Ordering::SeqCst);
        #[cfg(loom)]
        fence(Ordering::SeqCst); // loom models SeqCst RMWs as AcqRel
    }

    /// Takes one unit of room, setting the bits `extra` in the same step:
    /// `Full` when there is none (or, `direct`, while an item is
    /// buffered), `Closed` once closed.
    #[inline]
    fn take_room(&self, extra: usize, direct: bool) -> Result<(), PushError<()>> {
        let mut w = self.word.load(Ordering::Relaxed);
        loop {
            if w & CLOSED != 0 {
                return Err(PushError::Closed(()));
            }
            if room(w) <= 0 || (direct && w & ITEM != 0) {
                return Err(PushError::Full(()));
            }
            match self.word.compare_exchange_weak(
                w,
                (w - UNIT) | extra,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    #[cfg(loom)]
                    fence(Ordering::SeqCst);
                    return Ok(());
                }
                Err(x) => w = x,
            }
        }
    }

    /// Pushes if a receiver waits unclaimed; `Full` otherwise. The word
    /// answers a refusal inline; the buffer's lock is out of line. (The
    /// queue hands items to waiting receivers with
    /// [`push_to_receiver`](Self::push_to_receiver) first: a push reaches
    /// the buffer only when that could not.)
    #[inline]
    pub(crate) fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let w = self.look();
        if w & CLOSED != 0 {
            Err(PushError::Closed(item))
        } else if room(w) <= 0 {
            Err(PushError::Full(item))
        } else {
            self.buffer(item, false)
        }
    }

    /// Puts `item` in the buffer: into a unit of room it takes (`held`:
    /// the slot a permit holds, which the item then fills: room unchanged).
    #[cold]
    #[inline(never)]
    fn buffer(&self, item: T, held: bool) -> Result<(), PushError<T>> {
        let r = self.buf.with(|i| {
            if held {
                if self.word.load(Ordering::Relaxed) & CLOSED != 0 {
                    // The slot is released; the item goes back.
                    self.reserved.fetch_sub(1, Ordering::Relaxed);
                    self.add(UNIT);
                    return Err(PushError::Closed(item));
                }
                self.reserved.fetch_sub(1, Ordering::Relaxed);
                if i.buf.is_empty() {
                    self.add(ITEM);
                }
            } else {
                let extra = if i.buf.is_empty() { ITEM } else { 0 };
                match self.take_room(extra, false) {
                    Ok(()) => {}
                    Err(PushError::Full(())) => return Err(PushError::Full(item)),
                    Err(PushError::Closed(())) => return Err(PushError::Closed(item)),
                }
            }
            self.buf.push_locked(i, item);
            Ok(())
        });
        fence(Ordering::SeqCst); // an item, or a released slot: after the unlock
        r
    }

    /// Pops a buffered item; the word answers `Empty` (the usual answer:
    /// receivers wait for sends) inline.
    #[inline]
    pub(crate) fn try_pop(&self) -> Result<T, PopError> {
        match self.look() & (CLOSED | ITEM) {
            0 => Err(PopError::Empty),
            CLOSED => Err(PopError::Closed),
            _ => self.pop_buffered(),
        }
    }

    /// `try_pop` once the word showed an item.
    #[cold]
    #[inline(never)]
    fn pop_buffered(&self) -> Result<T, PopError> {
        let r = self.buf.with(|i| match i.buf.pop_front() {
            Some(t) => {
                // A unit of room back; `I` (known set) clears with the last
                // item: adding `UNIT - ITEM` carries the set bit into the
                // room.
                self.add(if i.buf.is_empty() { UNIT - ITEM } else { UNIT });
                Ok(t)
            }
            None if self.word.load(Ordering::Relaxed) & CLOSED != 0 => Err(PopError::Closed),
            None => Err(PopError::Empty),
        });
        if r.is_ok() {
            fence(Ordering::SeqCst);
        }
        r
    }

    /// Closes to pushes; `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        self.buf
            .with::<T, _>(|_| self.word.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0)
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.look() & CLOSED != 0
    }

    /// An item is buffered (the rare case: see the module docs).
    #[inline]
    pub(crate) fn has_item(&self) -> bool {
        self.look() & ITEM != 0
    }

    /// A receiver waits that no send or permit claimed.
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        room(self.look()) > 0
    }

    /// [`has_item`](Self::has_item) for a spinner (no ordering promised).
    #[inline]
    pub(crate) fn peek_item(&self) -> bool {
        self.word.load(Ordering::Relaxed) & ITEM != 0
    }

    /// [`has_room`](Self::has_room) for a spinner (no ordering promised).
    #[inline]
    pub(crate) fn peek_room(&self) -> bool {
        room(self.word.load(Ordering::Relaxed)) > 0
    }

    /// Items buffered now.
    pub(crate) fn len(&self) -> usize {
        Store::<T>::len(&self.buf)
    }

    /// Sends accepted: handed to a receiver or buffered.
    pub(crate) fn pushed(&self) -> usize {
        let direct = self.direct.load(Ordering::SeqCst);
        direct.wrapping_add(Store::<T>::pushed(&self.buf))
    }

    /// Holds a unit of room (claims a waiting receiver) for a permit.
    #[inline]
    pub(crate) fn try_reserve(&self) -> Result<(), PushError<()>> {
        self.take_room(0, false)?;
        self.reserved.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A permit's item, when the queue could not hand it to a receiver
    /// (its receiver left, or an item is buffered ahead of it): into the
    /// buffer, or back once closed (the slot is released either way).
    pub(crate) fn push_reserved(&self, item: T) -> Result<(), T> {
        self.buffer(item, true)
            .map_err(|(PushError::Full(t) | PushError::Closed(t))| t)
    }

    /// Releases a held slot.
    pub(crate) fn unreserve(&self) {
        self.reserved.fetch_sub(1, Ordering::Relaxed);
        self.add(UNIT);
    }

    /// Slots held now.
    pub(crate) fn reserved(&self) -> usize {
        self.reserved.load(Ordering::SeqCst)
    }

    /// A getter is linked: one more unit of room. Issues no fence of its
    /// own: its only caller, a getter's `enqueue`, is followed by the
    /// getter's `SeqCst` re-check of the putters queue (see
    /// [`Store::add_receiver`]).
    #[inline]
    pub(crate) fn add_receiver(&self) {
        self.word.fetch_add(UNIT, Ordering::SeqCst);
    }

    /// `n` getters left the getters queue (completed or withdrawn).
    #[inline]
    pub(crate) fn remove_receivers(&self, n: usize) {
        self.add(n.wrapping_mul(UNIT).wrapping_neg());
    }

    /// A push that goes straight to the front getter, which the caller (under
    /// the getters lock, invariant 3) then completes: takes that getter's
    /// unit of room, or (`held`) fills the slot a permit holds, which takes
    /// the getter's unit and the held slot together (room unchanged).
    /// `Full` while an item is buffered (it goes first) or, unheld, when no
    /// unclaimed receiver waits; `Closed` once closed.
    #[inline]
    pub(crate) fn push_to_receiver(&self, held: bool) -> Result<(), PushError<()>> {
        if held {
            let w = self.look();
            if w & CLOSED != 0 {
                return Err(PushError::Closed(()));
            }
            if w & ITEM != 0 {
                return Err(PushError::Full(()));
            }
            self.reserved.fetch_sub(1, Ordering::Relaxed);
        } else {
            self.take_room(0, true)?;
        }
        // Only getters-lock holders write it (invariant 4).
        let n = self.direct.load(Ordering::Relaxed);
        self.direct.store(n.wrapping_add(1), Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! The store's answers, one step at a time (also under Miri: the
    //! buffer's unsafe cell, and items left in it at drop).

    use super::*;

    fn full<T>(r: Result<(), PushError<T>>) -> bool {
        matches!(r, Err(PushError::Full(_)))
    }

    fn closed<T>(r: Result<(), PushError<T>>) -> bool {
        matches!(r, Err(PushError::Closed(_)))
    }

    #[test]
    fn room_is_the_receivers_waiting() {
        let s = Rendezvous::<String>::new();
        assert!(!s.has_room() && !s.has_item() && !s.is_closed());
        assert!(full(s.try_push("a".into())));
        assert!(full(s.push_to_receiver(false)));
        assert!(full(s.try_reserve()));
        assert_eq!(s.try_pop(), Err(PopError::Empty));

        s.add_receiver();
        s.add_receiver();
        assert!(s.has_room() && s.peek_room());
        // A direct hand-off takes one receiver's unit; the buffer stays empty.
        assert!(s.push_to_receiver(false).is_ok());
        assert!(s.has_room() && !s.has_item());
        // A push into the buffer takes the other one and shows the item.
        assert!(s.try_push("b".into()).is_ok());
        assert!(!s.has_room() && s.has_item() && s.peek_item());
        assert_eq!((s.len(), s.pushed()), (1, 2));
        assert!(full(s.try_push("c".into())));
        // A buffered item goes first: no direct hand-off, even with room.
        s.add_receiver();
        assert!(full(s.push_to_receiver(false)));
        assert_eq!(s.try_pop(), Ok("b".to_string()));
        assert!(!s.has_item());
        // Its unit came back with the pop: two receivers' worth now.
        assert!(s.push_to_receiver(false).is_ok());
        assert!(s.push_to_receiver(false).is_ok());
        assert!(full(s.push_to_receiver(false)));
        assert_eq!(s.pushed(), 4);
    }

    #[test]
    fn a_permit_claims_a_receiver() {
        let s = Rendezvous::<u32>::new();
        s.add_receiver();
        assert!(s.try_reserve().is_ok());
        assert_eq!(s.reserved(), 1);
        assert!(!s.has_room(), "the only receiver is claimed");
        assert!(full(s.try_reserve()));
        // The permit's send fills its claim: room unchanged (none).
        assert!(s.push_to_receiver(true).is_ok());
        assert_eq!((s.reserved(), s.pushed()), (0, 1));
        assert!(!s.has_room());

        // A claimed receiver that leaves: the permit's item is buffered
        // for the next one, and room goes negative until receivers come.
        s.add_receiver();
        assert!(s.try_reserve().is_ok());
        s.remove_receivers(1);
        s.add_receiver();
        assert!(!s.has_room(), "the new receiver is owed to the permit");
        assert!(s.push_reserved(7).is_ok());
        assert_eq!((s.reserved(), s.len()), (0, 1));
        assert!(!s.has_room(), "the buffered item is for that receiver");
        assert_eq!(s.try_pop(), Ok(7));
        assert!(s.has_room(), "the receiver is free again");

        // A released permit gives its unit back.
        assert!(s.try_reserve().is_ok());
        s.unreserve();
        assert!(s.has_room());
        assert_eq!(s.reserved(), 0);
    }

    #[test]
    fn closing_refuses_pushes_and_keeps_the_buffer() {
        let s = Rendezvous::<Box<u32>>::new();
        s.add_receiver();
        s.add_receiver();
        assert!(s.try_reserve().is_ok());
        assert!(s.try_push(Box::new(1)).is_ok());
        assert!(s.close());
        assert!(!s.close(), "closed once");
        assert!(s.is_closed());
        assert!(closed(s.try_push(Box::new(2))));
        assert!(closed(s.push_to_receiver(false)));
        assert!(closed(s.push_to_receiver(true)));
        assert!(closed(s.try_reserve()));
        // The permit's item comes back; its slot is released.
        assert_eq!(s.push_reserved(Box::new(3)), Err(Box::new(3)));
        assert_eq!(s.reserved(), 0);
        // What was buffered still comes out, then `Closed`.
        assert_eq!(s.try_pop(), Ok(Box::new(1)));
        assert_eq!(s.try_pop(), Err(PopError::Closed));
    }

    #[test]
    fn items_left_in_the_buffer_are_dropped_with_it() {
        let s = Rendezvous::<std::sync::Arc<u32>>::new();
        let item = std::sync::Arc::new(5);
        s.add_receiver();
        assert!(s.try_push(item.clone()).is_ok());
        assert_eq!(std::sync::Arc::strong_count(&item), 2);
        drop(s);
        assert_eq!(std::sync::Arc::strong_count(&item), 1);
    }
}
