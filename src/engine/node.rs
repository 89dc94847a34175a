//! The waiter node: what a waiting operation links into a [`WaitQueue`].
//!
//! A [`Node`] lives inside the operation value that waits (a pinned future,
//! or the same future pinned on a blocked thread's stack): there is no
//! allocation per wait. Its `state` word says where it stands:
//!
//! ```text
//!   31       30      29 ............................. 0
//!  +--------+-------+---------------------------------+
//!  | PARKED | WOKEN | IDLE (0) | QUEUED (1) | outcome  |
//!  +--------+-------+---------------------------------+
//! ```
//!
//! | state      | linked | who may touch the node                        |
//! |------------|--------|-----------------------------------------------|
//! | `IDLE`     | no     | its owner, freely                              |
//! | `QUEUED`   | yes    | links, waker, state: only under the queue lock |
//! | `QUEUED\|WOKEN` | yes | as `QUEUED`; the owner may clear `WOKEN`  |
//! | outcome    | no     | its owner, after an `Acquire` read of `state`  |
//! | `FINISHED` | no     | nobody: the operation returned its output      |
//!
//! * an outcome (`>= 2`, meaning chosen by the primitive): a waker unlinked
//!   the node and handed it something (the lock, permits, a notification).
//!   The store of the outcome (`Release`) is the waker's last access to the
//!   node; the owner reads it with `Acquire` and owns the node again.
//! * `WOKEN` (only with `QUEUED`): a release woke this waiter *in place*
//!   to look again while it keeps its place and its arrival stamp (the
//!   bounded-barging mode of the fairness policy). Set under the queue lock
//!   with `Release`; the owner clears it with `Acquire` before it looks, so
//!   a release that comes after the look sees it clear and wakes it again.
//! * `PARKED` is set by a blocked thread just before it sleeps in
//!   `parking_lot_core`, keyed by the address of the state word; whoever
//!   completes the node then unparks that key after the queue lock is dropped.
//!   Only the blocking driver sets it, and its nodes store no waker: so a
//!   node that stores a waker (a task's) is never `PARKED`, and a waker
//!   completes it with a plain store where a thread's needs a swap to
//!   learn whether to unpark.
//!
//! # Invariants
//!
//! 1. A node is in at most one queue, and linked iff its state is `QUEUED`.
//! 2. A linked node is pinned and is not dropped until it is unlinked: the
//!    owning operation's `Drop` takes the queue lock and unlinks it (the
//!    engine's [`Waiter`](super::waiter::Waiter) does this for every
//!    primitive).
//! 3. A node's links and waker cell are initialized while, and only while,
//!    it is `QUEUED` (written by the queue's `link`, consumed by
//!    `complete`/`set_idle`). A fresh node writes nothing but its state word,
//!    its arrival stamp and its payload, so an operation value that completes
//!    on its first poll is cheap to build and to move (a fully written node
//!    made every `.await` copy a partly overlapping store, which the CPU
//!    cannot forward).
//! 4. The arrival stamp is written by the owner while the node is not linked
//!    and read by wakers under the queue lock (the lock orders the two).
//! 5. A node that was never pinned was never linked (invariant 2), so no
//!    other thread can reach it: an owner that holds it by `&mut` (a
//!    blocking call's first try, on the operation it holds by value) reads
//!    and writes its state with plain accesses ([`Node::state_mut`]).

use core::cell::{Cell, UnsafeCell};
use core::marker::PhantomPinned;
use core::mem::MaybeUninit;
use core::task::{Context, Waker};

use super::sync::{AtomicU32, Ordering};

/// Not linked, nothing pending.
pub(crate) const IDLE: u32 = 0;
/// Linked in a queue.
pub(crate) const QUEUED: u32 = 1;
/// A generic outcome: "you were woken, look again".
pub(crate) const NOTIFIED: u32 = 2;
/// The operation returned its output: polling it again is a bug (it
/// panics), dropping it does nothing. Never handed out by a waker.
pub(crate) const FINISHED: u32 = WOKEN - 1;
/// Flag, with `QUEUED`: woken in place to look again.
pub(crate) const WOKEN: u32 = 1 << 30;
/// Flag: a thread sleeps on this node's state word.
pub(crate) const PARKED: u32 = 1 << 31;

/// A waiter: links, the task waker (if the waiter is a task), the state word,
/// the arrival stamp and a primitive-defined payload `D`.
pub(crate) struct Node<D> {
    /// Initialized while linked (invariant 3).
    pub(super) prev: Cell<MaybeUninit<*const Node<D>>>,
    /// Initialized while linked (invariant 3).
    pub(super) next: Cell<MaybeUninit<*const Node<D>>>,
    /// Initialized while linked (invariant 3): `Some` for a task, `None` for
    /// a thread.
    pub(super) waker: UnsafeCell<MaybeUninit<Option<Waker>>>,
    #[cfg(loom)]
    pub(super) thread: UnsafeCell<Option<loom::thread::Thread>>,
    pub(super) state: AtomicU32,
    /// When the operation first had to wait (µs, [`now_micros`](super::now_micros)),
    /// for the fairness bound (invariant 4).
    arrival: AtomicU32,
    /// Payload; its own synchronization is the primitive's business (it is
    /// read by wakers under the queue lock).
    pub(crate) data: D,
    _pin: PhantomPinned,
}

// SAFETY: the raw links and the waker cell are only accessed under the queue
// lock (invariants 1-3 above), which serializes all threads; the payload is
// required to be Send + Sync itself.
unsafe impl<D: Send + Sync> Send for Node<D> {}
// SAFETY: as above.
unsafe impl<D: Send + Sync> Sync for Node<D> {}

impl<D> Node<D> {
    #[inline]
    pub(crate) fn new(data: D) -> Self {
        Node {
            prev: Cell::new(MaybeUninit::uninit()),
            next: Cell::new(MaybeUninit::uninit()),
            waker: UnsafeCell::new(MaybeUninit::uninit()),
            #[cfg(loom)]
            thread: UnsafeCell::new(None),
            state: AtomicU32::new(IDLE),
            arrival: AtomicU32::new(0),
            data,
            _pin: PhantomPinned,
        }
    }

    /// The state without the `PARKED` and `WOKEN` flags (`Acquire`).
    #[inline]
    pub(crate) fn state(&self) -> u32 {
        self.state.load(Ordering::Acquire) & !(PARKED | WOKEN)
    }

    /// Whether a queued node was woken in place (`Acquire`).
    #[inline]
    pub(crate) fn is_woken(&self) -> bool {
        self.state.load(Ordering::Acquire) & WOKEN != 0
    }

    /// The owner takes the in-place wake-up before it looks again
    /// (`Acquire`: pairs with the waker's `Release` `fetch_or`, so the
    /// look sees what the release did; a later release finds the flag clear
    /// and wakes it again). Harmless on a node completed meanwhile (an
    /// outcome never has the flag).
    #[inline]
    pub(crate) fn clear_woken(&self) {
        self.state.fetch_and(!WOKEN, Ordering::Acquire);
    }

    /// Sets the state of a node that is not linked (the owner's business).
    #[inline]
    pub(crate) fn set_unlinked_state(&self, s: u32) {
        debug_assert_ne!(self.state(), QUEUED);
        self.state.store(s, Ordering::Relaxed);
    }

    /// The state word through an exclusive borrow, read and written with
    /// plain accesses: a `&mut` node is one nobody else can reach (linking
    /// needs the node pinned, and a pinned node is never lent out by
    /// `&mut`), so the compiler may fold these into the owner's own stores,
    /// which it never does for an atomic access.
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) fn state_mut(&mut self) -> &mut u32 {
        self.state.get_mut()
    }

    /// The word a blocked thread watches.
    #[inline]
    pub(crate) fn state_word(&self) -> &AtomicU32 {
        &self.state
    }

    /// When the operation first had to wait (µs).
    #[inline]
    pub(crate) fn arrival(&self) -> u32 {
        self.arrival.load(Ordering::Relaxed)
    }

    /// Stamps the arrival. Owner only, while the node is not linked.
    #[inline]
    pub(crate) fn set_arrival(&self, t: u32) {
        self.arrival.store(t, Ordering::Relaxed);
    }

    /// The previous node. Caller: the node is linked and the lock is held.
    #[inline]
    pub(super) unsafe fn prev(&self) -> *const Node<D> {
        // SAFETY: a linked node's links are initialized (invariant 3).
        unsafe { self.prev.get().assume_init() }
    }

    /// The next node. Caller: the node is linked and the lock is held.
    #[inline]
    pub(super) unsafe fn next(&self) -> *const Node<D> {
        // SAFETY: a linked node's links are initialized (invariant 3).
        unsafe { self.next.get().assume_init() }
    }

    #[inline]
    pub(super) fn set_links(&self, prev: *const Node<D>, next: *const Node<D>) {
        self.prev.set(MaybeUninit::new(prev));
        self.next.set(MaybeUninit::new(next));
    }

    /// Moves the stored waker out, leaving the cell uninitialized. Caller:
    /// the lock is held and the node is still `QUEUED` (about to leave it).
    #[inline]
    pub(super) unsafe fn take_waker(&self) -> Option<Waker> {
        // SAFETY: the caller holds the lock and the node is `QUEUED`, so the
        // cell is initialized (invariant 3) and nobody else reads it; the
        // caller moves the node out of `QUEUED` right after.
        unsafe { (*self.waker.get()).assume_init_read() }
    }
}

/// Who to wake once the queue lock is released.
pub(crate) enum Notifier {
    Task(Waker),
    Thread,
}

/// Who is waiting: a task (with its context) or the current thread.
pub(crate) enum WaitCx<'a, 'b> {
    Task(&'a mut Context<'b>),
    Thread,
}

impl WaitCx<'_, '_> {
    /// The notifier to store in a node. Clones the task's waker: call it
    /// before taking a queue lock (a waker's clone may re-enter).
    #[inline]
    pub(crate) fn notifier(&self) -> Notifier {
        match self {
            WaitCx::Task(cx) => Notifier::Task(cx.waker().clone()),
            WaitCx::Thread => Notifier::Thread,
        }
    }

    #[inline]
    pub(crate) fn waker(&self) -> Option<&Waker> {
        match self {
            WaitCx::Task(cx) => Some(cx.waker()),
            WaitCx::Thread => None,
        }
    }

    #[inline]
    pub(crate) fn is_thread(&self) -> bool {
        matches!(self, WaitCx::Thread)
    }
}
