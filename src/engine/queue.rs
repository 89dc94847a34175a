//! The intrusive FIFO waiter queue shared by every primitive.
//!
//! # Layout
//!
//! A [`WaitQueue`] is one machine word:
//!
//! ```text
//!   63                                   2   1   0
//!  +--------------------------------------+---+---+
//!  |  pointer to the tail Node (aligned)  | K | L |
//!  +--------------------------------------+---+---+
//!   L = 1: the queue lock is held
//!   K = 1 (LINKING, only with L): the holder is a waiter that may link
//!         and will re-check after unlocking (`has_waiters_seqcst`)
//! ```
//!
//! The nodes form a circular doubly linked list: `tail.next` is the head, so
//! one pointer is enough to push at either end and pop the front, and any node
//! unlinks itself in O(1). The queue lock is a bit in the same word: taking it
//! is one `fetch_or`; releasing it is one store that writes the (possibly
//! new) tail pointer with the bits clear. Contenders spin, then
//! yield (see [`LOCK_SPIN_PAUSES`]); critical sections are a handful of
//! pointer writes.
//!
//! The word is an `AtomicPtr`, and the lock bit is set and read through the
//! strict-provenance address methods (`fetch_or` on the pointer, `addr`,
//! `map_addr`): no integer ever becomes a pointer again, so the tail keeps
//! the provenance of the node it was made from (Miri checks this).
//!
//! # Who touches what
//!
//! Primitives never touch node links. They take the lock through
//! [`WaitQueue::with_lock`] (which runs the gathered wake-ups after
//! unlocking), serve waiters with [`QueueGuard::pop_front`], and leave the
//! rest of a waiter's life (queueing, re-polling, cancelling, passing on) to
//! the engine's [`Waiter`](super::waiter::Waiter).

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;
use core::task::Waker;

use super::node::{IDLE, NOTIFIED, Node, Notifier, PARKED, QUEUED, WOKEN, WaitCx};
#[cfg(not(loom))]
use super::sync::spin_rounds;
#[cfg(not(loom))]
use super::sync::yield_now;
use super::sync::{AtomicPtr, Ordering, fetch_or_addr};
use super::wake::{Wake, WakeList};

pub(super) const LOCKED: usize = 1;
/// With `LOCKED`: the holder is a waiter that may link and will then
/// re-check without a fence (see [`WaitQueue::has_waiters_seqcst`]).
/// Cleared by the unlock, like `LOCKED`; set only together with it.
const LINKING: usize = 2;

// The two flags live in the tail pointer's alignment bits.
const _: () = assert!(align_of::<Node<()>>() > LOCKED | LINKING);

/// How many pause instructions a contender spins on the queue lock before
/// it starts yielding its core (about 30 µs at 14 ns a pause).
///
/// A critical section is a handful of pointer writes and a primitive's own
/// bookkeeping: well under a microsecond, a few under ThreadSanitizer. A
/// `yield` on a busy machine (more runnable threads than cores) hands the
/// core to another thread for the rest of its time slice, milliseconds,
/// and a caller that yields here has not queued yet: nothing counts its
/// wait, and a barging holder may take the resource a hundred times
/// meanwhile (measured: a `CapacityLimiter`, whose every acquire and
/// release takes this lock, overtaken 60-160 times in 2 calls of 15 under
/// ThreadSanitizer with crossbeam's backoff, which yields after about 130
/// pauses). So the spin outlasts any critical section whose holder is
/// running; only a holder that was itself preempted makes contenders yield.
#[cfg(not(loom))]
const LOCK_SPIN_PAUSES: u32 = 1 << 11;

/// The longest run of pauses between two looks at the lock word while
/// spinning, as a power of two (64): short, so a freed lock is seen within
/// about a microsecond.
#[cfg(not(loom))]
const LOCK_SPIN_GAP: u32 = 6;

/// The queue itself: one word (see the module docs).
pub(crate) struct WaitQueue<D> {
    /// The tail node, with `LOCKED` in its low (alignment) bit.
    pub(super) word: AtomicPtr<Node<D>>,
    /// Under loom the queue lock is also a loom mutex: loom cannot explore a
    /// spin lock with several spinners (every yield may hand the processor
    /// to another spinner, so the model never ends). The word still goes
    /// through the same atomic steps.
    #[cfg(loom)]
    lock: loom::sync::Mutex<()>,
    _marker: PhantomData<*const Node<D>>,
}

// SAFETY: the queue only holds pointers to nodes, which are Send + Sync when
// D is; all access to them goes through the queue lock.
unsafe impl<D: Send + Sync> Send for WaitQueue<D> {}
// SAFETY: as above.
unsafe impl<D: Send + Sync> Sync for WaitQueue<D> {}

// A panic cannot leave the queue half-changed where a caller could see it:
// every critical section is a few pointer writes that do not panic, and
// wakers run (and may panic) only after the lock is released. So the queue,
// and the primitives built on it, are unwind-safe like std's.
impl<D> core::panic::UnwindSafe for WaitQueue<D> {}
impl<D> core::panic::RefUnwindSafe for WaitQueue<D> {}

impl<D> WaitQueue<D> {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        WaitQueue {
            word: AtomicPtr::new(ptr::null_mut()),
            _marker: PhantomData,
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        WaitQueue {
            word: AtomicPtr::new(ptr::null_mut()),
            lock: loom::sync::Mutex::new(()),
            _marker: PhantomData,
        }
    }

    /// Takes the queue lock.
    #[inline]
    pub(crate) fn lock(&self) -> QueueGuard<'_, D> {
        self.lock_with(LOCKED)
    }

    /// Takes the queue lock, setting `bits` (`LOCKED`, and `LINKING` for
    /// a waiter that will re-check) with one `SeqCst` read-modify-write
    /// (`SeqCst`, not just `Acquire`: see `has_waiters_seqcst`).
    #[inline(always)]
    fn lock_with(&self, bits: usize) -> QueueGuard<'_, D> {
        #[cfg(loom)]
        {
            // See the `lock` field: the loom mutex serializes holders, so
            // the bit is never contended here.
            let held = self.lock.lock().unwrap();
            let old = fetch_or_addr(&self.word, bits, Ordering::SeqCst);
            assert_eq!(
                old.addr() & LOCKED,
                0,
                "queue lock bit set without the loom mutex"
            );
            QueueGuard {
                queue: self,
                tail: old,
                _held: held,
            }
        }
        #[cfg(not(loom))]
        {
            // On a held lock this sets `LINKING` early, which only makes a
            // changer look under the lock for a waiter not linked yet; the
            // holder's unlock clears it, and the winning CAS sets it again.
            let old = fetch_or_addr(&self.word, bits, Ordering::SeqCst);
            if old.addr() & LOCKED != 0 {
                return self.lock_contended(bits);
            }
            QueueGuard {
                queue: self,
                tail: old,
            }
        }
    }

    /// Runs `f` under the queue lock with a [`WakeList`], then unlocks and
    /// runs the wake-ups it gathered (always in that order: no waker ever
    /// runs or drops under the lock).
    #[inline]
    pub(crate) fn with_lock<R>(
        &self,
        f: impl FnOnce(&mut QueueGuard<'_, D>, &mut WakeList) -> R,
    ) -> R {
        self.with_lock_bits(LOCKED, f)
    }

    /// [`with_lock`](Self::with_lock) for a waiter that may link: with
    /// `recheck` (its policy re-checks after linking, `Policy::RECHECK`)
    /// the lock also says so (`LINKING`), which is what lets the re-check
    /// go without a fence ([`has_waiters_seqcst`](Self::has_waiters_seqcst)).
    #[inline]
    pub(crate) fn with_lock_to_link<R>(
        &self,
        recheck: bool,
        f: impl FnOnce(&mut QueueGuard<'_, D>, &mut WakeList) -> R,
    ) -> R {
        self.with_lock_bits(if recheck { LOCKED | LINKING } else { LOCKED }, f)
    }

    #[inline(always)]
    fn with_lock_bits<R>(
        &self,
        bits: usize,
        f: impl FnOnce(&mut QueueGuard<'_, D>, &mut WakeList) -> R,
    ) -> R {
        let mut wakes = WakeList::new();
        let r = {
            let mut q = self.lock_with(bits);
            f(&mut q, &mut wakes)
        };
        wakes.wake_all();
        r
    }

    /// Spins (pause instructions, looking every few) for up to
    /// [`LOCK_SPIN_PAUSES`], then yields between looks. See there for why
    /// the spin is long.
    #[cfg(not(loom))]
    #[cold]
    fn lock_contended(&self, bits: usize) -> QueueGuard<'_, D> {
        let take = || {
            let mut w = self.word.load(Ordering::Relaxed);
            while w.addr() & LOCKED == 0 {
                match self.word.compare_exchange_weak(
                    w,
                    w.map_addr(|a| a | bits),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        return Some(QueueGuard {
                            queue: self,
                            tail: w,
                        });
                    }
                    Err(x) => w = x,
                }
            }
            None
        };
        if let Some(g) = spin_rounds(LOCK_SPIN_PAUSES, LOCK_SPIN_GAP, take) {
            return g;
        }
        loop {
            if let Some(g) = take() {
                return g;
            }
            yield_now();
        }
    }

    /// A lock-free hint: `true` if the queue was empty when last unlocked.
    #[inline]
    pub(crate) fn is_empty_hint(&self) -> bool {
        self.word.load(Ordering::Relaxed).addr() & !(LOCKED | LINKING) == 0
    }

    /// Whether some waiter may be queued, read with `SeqCst`: for primitives
    /// that pair a `SeqCst` change of their own state with this load,
    /// against a waiter that queues and then re-checks that state with
    /// `SeqCst` loads (`Policy::RECHECK`).
    ///
    /// A waiter about to link counts as a waiter: its first step is the
    /// lock's `SeqCst` read-modify-write of this word, which sets `LINKING`
    /// ([`with_lock_to_link`](Self::with_lock_to_link)), so of the two
    /// `SeqCst` sequences (the changer's change, then this load; the
    /// waiter's lock, then its re-check) one sees the other, with no fence
    /// on either side. Either this load sees `LINKING` (or the tail the
    /// unlock stores after linking), and the caller takes the lock, which
    /// waits for the linking to end, and serves the waiter; or it comes
    /// before the lock in the single `SeqCst` order, and then so does the
    /// change, which the waiter's re-check sees. A holder that did not
    /// link after all costs a caller that looked only the lock it took. Other
    /// holders (serving, cancelling) do not set the flag: a caller that took
    /// the lock for each of them was measured 10-15% slower on two producer
    /// and two consumer tasks (`queue/mpmc2x2_async`).
    #[inline]
    pub(crate) fn has_waiters_seqcst(&self) -> bool {
        #[cfg(loom)]
        super::sync::fence(Ordering::SeqCst); // loom treats SeqCst loads as Acquire
        self.word.load(Ordering::SeqCst).addr() & !LOCKED != 0
    }

    /// A waiter whose node this queue linked is polled again (the `QUEUED`
    /// arm of its poll): keeps the node's stored waker pointed at the task
    /// polling now.
    ///
    /// Returns `true` while the node is still queued: the caller returns
    /// `Pending`. Returns `false` when a waker completed the node meanwhile:
    /// its outcome (read with `Acquire` by [`Node::state`]) is the caller's
    /// to act on now, because the completion woke the waker stored before,
    /// maybe not this task's (re-poll at once, or wake the task itself).
    ///
    /// The stored waker is compared under the queue lock; only when it
    /// would wake another task is the new one cloned, with the lock released
    /// (a clone may re-enter the primitive), then swapped in under the lock,
    /// and the old one dropped after unlocking. A thread (no waker) is
    /// answered `true` without a look: its driver watches the state word.
    ///
    /// A node woken in place (`WOKEN`) also answers `false`: its wake-up may
    /// have found no waker to wake (the previous one was spent on an
    /// earlier in-place wake-up and the task had not stored a new one yet),
    /// so the caller must look again now rather than sleep. The check is in
    /// the same critical section as the waker's store, which is where
    /// [`QueueGuard::wake_front`] looks for it.
    #[cold]
    pub(crate) fn refresh_waiter(&self, node: &Node<D>, cx: &WaitCx<'_, '_>) -> bool {
        let Some(w) = cx.waker() else {
            return true;
        };
        {
            let q = self.lock();
            if node.state() != QUEUED || node.is_woken() {
                return false;
            }
            if q.waker_will_wake(node, w) {
                return true;
            }
        }
        let new = w.clone();
        let mut q = self.lock();
        let old = q.replace_waker(node, new);
        let queued = old.is_ok() && !node.is_woken();
        drop(q);
        // `old` (the replaced waker, or ours back if the node was completed
        // in between) drops here, after the guard.
        drop(old);
        queued
    }
}

/// The queue lock, held. Unlocks (publishing the new tail) on drop.
pub(crate) struct QueueGuard<'a, D> {
    queue: &'a WaitQueue<D>,
    tail: *const Node<D>,
    /// Released after `drop` has stored the word (fields drop after it).
    #[cfg(loom)]
    _held: loom::sync::MutexGuard<'a, ()>,
}

impl<D> Drop for QueueGuard<'_, D> {
    #[inline]
    fn drop(&mut self) {
        self.queue
            .word
            .store(self.tail.cast_mut(), Ordering::Release);
    }
}

impl<D> QueueGuard<'_, D> {
    /// The rest of a critical section that turned out to need wake-ups:
    /// runs `f` with a [`WakeList`] under this lock, then unlocks and runs
    /// the wake-ups (as [`WaitQueue::with_lock`], for a fast path that took
    /// the plain lock and found waiters to serve).
    #[cold]
    pub(crate) fn then_wake<R>(mut self, f: impl FnOnce(&mut Self, &mut WakeList) -> R) -> R {
        let mut wakes = WakeList::new();
        let r = f(&mut self, &mut wakes);
        drop(self);
        wakes.wake_all();
        r
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.tail.is_null()
    }

    /// The first waiter, if any.
    #[inline]
    pub(crate) fn front(&self) -> Option<&Node<D>> {
        // SAFETY: linked nodes stay valid while linked (node invariant 2) and
        // we hold the lock; the reference borrows the guard.
        self.front_ptr().map(|p| unsafe { &*p })
    }

    #[inline]
    fn front_ptr(&self) -> Option<*const Node<D>> {
        if self.tail.is_null() {
            None
        } else {
            // SAFETY: the tail is linked and valid under the lock; tail.next
            // is the head of the circular list.
            Some(unsafe { (*self.tail).next() })
        }
    }

    /// Number of linked waiters (walks the list: for introspection only).
    pub(crate) fn len(&self) -> usize {
        self.iter().count()
    }

    /// Walks the waiters front to back.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Node<D>> + '_ {
        let head = self.front().map_or(ptr::null(), |n| n as *const Node<D>);
        let mut cur = head;
        let mut first = true;
        core::iter::from_fn(move || {
            if cur.is_null() || (!first && cur == head) {
                return None;
            }
            first = false;
            // SAFETY: linked node, lock held (node invariant 2).
            let n = unsafe { &*cur };
            // SAFETY: as above.
            cur = unsafe { n.next() };
            Some(n)
        })
    }

    fn link(&mut self, node: &Node<D>, notifier: Notifier, at_front: bool) {
        debug_assert_eq!(node.state(), IDLE, "linking a node that is not idle");
        // SAFETY: the node is not linked (state IDLE), so nobody else reads
        // its waker cell (which holds nothing: node invariant 3); we hold the lock
        // for the future readers.
        unsafe {
            (*node.waker.get()).write(match notifier {
                Notifier::Task(w) => Some(w),
                Notifier::Thread => {
                    #[cfg(loom)]
                    {
                        *node.thread.get() = Some(loom::thread::current());
                    }
                    None
                }
            });
        }
        let p = node as *const Node<D>;
        if self.tail.is_null() {
            node.set_links(p, p);
            self.tail = p;
        } else {
            // SAFETY: tail and head are linked nodes, valid under the lock.
            unsafe {
                let tail = &*self.tail;
                let head = &*tail.next();
                node.set_links(self.tail, head);
                tail.next.set(MaybeUninit::new(p));
                head.prev.set(MaybeUninit::new(p));
            }
            if !at_front {
                self.tail = p;
            }
        }
        node.state.store(QUEUED, Ordering::Relaxed);
    }

    /// Links `node` at the back.
    ///
    /// The caller guarantees (node invariant 2) that the node is pinned and that
    /// its owner will unlink it (under this lock) before it is dropped.
    #[inline]
    pub(crate) fn push_back(&mut self, node: &Node<D>, notifier: Notifier) {
        self.link(node, notifier, false);
    }

    /// Links `node` at the front (a woken waiter that lost a race keeps its
    /// place). Same contract as [`push_back`](Self::push_back).
    #[inline]
    pub(crate) fn push_front(&mut self, node: &Node<D>, notifier: Notifier) {
        self.link(node, notifier, true);
    }

    /// Unlinks `node`, which must be linked in this queue. Its state is left
    /// `QUEUED`: follow with [`complete`](Self::complete) or
    /// [`set_idle`](Self::set_idle).
    pub(crate) fn remove(&mut self, node: &Node<D>) {
        debug_assert_eq!(node.state(), QUEUED);
        let p = node as *const Node<D>;
        // SAFETY: the node is linked (caller) and we hold the lock.
        let (prev, next) = unsafe { (node.prev(), node.next()) };
        if next == p {
            self.tail = ptr::null();
        } else {
            // SAFETY: neighbours of a linked node are linked, valid under the lock.
            unsafe {
                (*prev).next.set(MaybeUninit::new(next));
                (*next).prev.set(MaybeUninit::new(prev));
            }
            if self.tail == p {
                self.tail = prev;
            }
        }
        // The links are stale from here on; nothing reads them until the
        // node is linked again (node invariant 3).
    }

    /// Finishes an unlinked node by its owner (a cancelled or retrying
    /// waiter): drops its stored waker into `wakes`' care and sets `IDLE`.
    pub(crate) fn set_idle(&mut self, node: &Node<D>, wakes: &mut WakeList) {
        debug_assert_eq!(node.state(), QUEUED);
        // SAFETY: we hold the lock and the node is still `QUEUED` (caller);
        // it leaves that state below.
        let w = unsafe { node.take_waker() };
        #[cfg(loom)]
        // SAFETY: as above.
        unsafe {
            (*node.thread.get()).take();
        }
        if let Some(w) = w {
            // Dropped after the lock is released, never under it.
            wakes.drop_later(w);
        }
        node.state.store(IDLE, Ordering::Relaxed);
    }

    /// Hands `outcome` (>= 2) to an unlinked node and queues its wake-up.
    ///
    /// After this call the node may be freed at any moment by its owner: the
    /// caller must not touch it again.
    pub(crate) fn complete(&mut self, node: &Node<D>, outcome: u32, wakes: &mut WakeList) {
        debug_assert!(outcome >= NOTIFIED && outcome & PARKED == 0);
        debug_assert_eq!(node.state(), QUEUED);
        // SAFETY: we hold the lock and the node is still `QUEUED` (caller);
        // the store or swap below moves it out of that state.
        let waker = unsafe { node.take_waker() };
        #[cfg(loom)]
        // SAFETY: as above.
        let thread = unsafe { (*node.thread.get()).take() };
        // From the store (or swap) on, the node is the owner's again.
        let old = if let Some(w) = waker {
            // A task's node is never `PARKED` (only the blocking driver,
            // whose nodes store no waker, sets that flag), and the only
            // other write to it while it is `QUEUED`, the owner's
            // `clear_woken`, clears a flag no outcome has: a plain store
            // says all, where a swap would cost a locked instruction per
            // hand-off to a task.
            node.state.store(outcome, Ordering::Release);
            wakes.push(Wake::Task(w));
            0
        } else {
            node.state.swap(outcome, Ordering::Release)
        };
        #[cfg(not(loom))]
        if old & PARKED != 0 {
            // The address only (no provenance exposed): it is a hash key.
            wakes.push(Wake::Thread(ptr::from_ref(&node.state).addr()));
        }
        // Only a thread that announced `PARKED` is unparked, as above: one
        // that saw the outcome without parking may have gone on to a
        // `join` or a loom lock, which loom 0.7 lets a stray `unpark` end
        // (tokio-rs/loom#249; see `driver::wait_on`).
        #[cfg(loom)]
        if old & PARKED != 0
            && let Some(t) = thread
        {
            wakes.push(Wake::Thread(t));
        }
    }

    /// Serves the front waiter: `decide` looks at it (payload, arrival) and
    /// picks the outcome to hand it, or `None` to leave it queued. A chosen
    /// node is unlinked and completed (its wake-up goes to `wakes`). Returns
    /// the outcome handed, `None` if the queue was empty or `decide` said no.
    ///
    /// This is the only way a primitive takes a waiter off the queue: the
    /// node reference never escapes the call.
    #[inline]
    pub(crate) fn pop_front(
        &mut self,
        wakes: &mut WakeList,
        decide: impl FnOnce(&Node<D>) -> Option<u32>,
    ) -> Option<u32> {
        let head = self.front_ptr()?;
        // SAFETY: `head` is linked, so valid while we hold the lock
        // (invariant 2 of the node); the reference ends with this call.
        let head = unsafe { &*head };
        let outcome = decide(head)?;
        self.remove(head);
        self.complete(head, outcome, wakes);
        Some(outcome)
    }

    /// Wakes the front waiter *in place*: it stays linked, keeps its place
    /// and its arrival stamp, and looks again when it runs (`WOKEN`).
    /// Returns `false` if the queue is empty or the front was already woken
    /// (one wake-up per look is enough).
    ///
    /// The caller makes the change the waiter should see (a free lock,
    /// permits) *before* this call: the `Release` here pairs with the
    /// owner's `Acquire` when it clears the flag.
    pub(crate) fn wake_front(&mut self, wakes: &mut WakeList) -> bool {
        match self.front() {
            Some(head) => Self::wake_linked(head, wakes),
            None => false,
        }
    }

    /// Wakes in place (as [`wake_front`](Self::wake_front)) the run of
    /// waiters at the front for which `more` says yes, front to back,
    /// stopping at the first it says no to (a reader-writer lock wakes the
    /// readers at the head together). Waiters already woken are passed over
    /// without a second wake-up. Returns how many were woken now.
    pub(crate) fn wake_run(
        &mut self,
        wakes: &mut WakeList,
        mut more: impl FnMut(&Node<D>) -> bool,
    ) -> usize {
        let Some(head) = self.front_ptr() else {
            return 0;
        };
        let (mut cur, mut n) = (head, 0);
        loop {
            // SAFETY: `cur` is linked, so valid while we hold the lock (node
            // invariant 2); the reference ends with this iteration.
            let node = unsafe { &*cur };
            if !more(node) {
                break;
            }
            n += usize::from(Self::wake_linked(node, wakes));
            // SAFETY: as above.
            cur = unsafe { node.next() };
            if cur == head {
                break;
            }
        }
        n
    }

    /// Wakes one linked node in place; `false` if it was already woken.
    fn wake_linked(node: &Node<D>, wakes: &mut WakeList) -> bool {
        // Set WOKEN and take PARKED: the one unpark below answers the one
        // park the owner announced (a later completion only unparks a park
        // announced after this).
        let mut old = node.state.load(Ordering::Relaxed);
        loop {
            if old & WOKEN != 0 {
                return false;
            }
            match node.state.compare_exchange_weak(
                old,
                (old | WOKEN) & !PARKED,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(s) => old = s,
            }
        }
        // SAFETY: we hold the lock and the node is linked, so its waker cell
        // is initialized (node invariant 3); it stays initialized (`None`):
        // the owner stores a fresh waker when it polls again.
        let waker = unsafe { (*node.waker.get()).assume_init_mut().take() };
        if let Some(w) = waker {
            wakes.push(Wake::Task(w));
        }
        #[cfg(not(loom))]
        if old & PARKED != 0 {
            wakes.push(Wake::Thread(ptr::from_ref(&node.state).addr()));
        }
        #[cfg(loom)]
        if old & PARKED != 0 {
            // SAFETY: as above; the handle stays for a later completion.
            if let Some(t) = unsafe { (*node.thread.get()).clone() } {
                wakes.push(Wake::Thread(t));
            }
        }
        true
    }

    /// Completes the front waiter with `outcome`; `false` if the queue was
    /// empty.
    #[inline]
    pub(crate) fn complete_front(&mut self, outcome: u32, wakes: &mut WakeList) -> bool {
        self.pop_front(wakes, |_| Some(outcome)).is_some()
    }

    /// Completes every waiter with `outcome`, front to back; returns how
    /// many.
    pub(crate) fn complete_all(&mut self, outcome: u32, wakes: &mut WakeList) -> usize {
        let mut n = 0;
        while self.complete_front(outcome, wakes) {
            n += 1;
        }
        n
    }

    /// Replaces the stored waker of a linked node, returning the old one so
    /// that the caller drops it after unlocking. Returns `Err(waker)` if the
    /// node is no longer queued.
    pub(crate) fn replace_waker(
        &mut self,
        node: &Node<D>,
        w: Waker,
    ) -> Result<Option<Waker>, Waker> {
        if node.state() != QUEUED {
            return Err(w);
        }
        // SAFETY: lock held, the node is `QUEUED`, so its waker cell is
        // initialized (node invariant 3).
        Ok(unsafe { (*node.waker.get()).assume_init_mut().replace(w) })
    }

    /// `true` if `node` is still queued and its stored waker would wake the
    /// same task.
    pub(crate) fn waker_will_wake(&self, node: &Node<D>, w: &Waker) -> bool {
        node.state() == QUEUED
            // SAFETY: lock held, the node is `QUEUED`, so its waker cell is
            // initialized (node invariant 3).
            && unsafe { (*node.waker.get()).assume_init_ref() }
                .as_ref()
                .is_some_and(|s| s.will_wake(w))
    }
}
