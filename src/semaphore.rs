//! `Semaphore` and `BoundedSemaphore`: asyncio's / anyio's semaphores, shared
//! by threads and tasks.
//!
//! # State word
//!
//! ```text
//!   63 ................................. 2     1         0
//!  +--------------------------------------+---------+--------+
//!  |          available permits           | WAITERS | CLOSED |
//!  +--------------------------------------+---------+--------+
//! ```
//!
//! * `permits` (`usize >> 2`, so at most [`MAX_PERMITS`]): permits nobody
//!   holds. Permits granted to a waiter that has not picked them up yet are
//!   already subtracted (they are held by that waiter).
//! * `WAITERS`: the wait queue is not empty. Set and cleared only under the
//!   queue lock.
//! * `CLOSED`: [`Semaphore::close`] was called; never cleared.
//!
//! Uncontended, `acquire` is one CAS subtracting from the count and a release
//! one CAS adding to it (a CAS rather than a `fetch_add` so that the count can
//! saturate with an error instead of wrapping); neither touches the queue.
//!
//! # Invariants
//!
//! 1. `WAITERS` is set iff the queue is non-empty, whenever the queue lock is
//!    not held.
//! 2. Whenever the queue lock is not held and `WAITERS` is set, the head
//!    waiter asks for more permits than are available (otherwise the release
//!    that made them available would have granted them). So with `WAITERS`
//!    set, newcomers (and `try_acquire`) never take permits: strict FIFO, a
//!    big request at the head is never overtaken by small ones behind it.
//! 3. While `WAITERS` is set, the word changes only under the queue lock
//!    (fast paths CAS on a word without `WAITERS`, or fail).
//! 4. A node's payload is the number of permits it asks for, fixed before it
//!    is linked. Outcome `GRANTED` means those permits were moved to it;
//!    outcome `CLOSED_OUT` means the semaphore closed while it waited.
//! 5. Removing a queued node (cancellation) re-runs the grant loop at once,
//!    so the waiters behind a cancelled head that now fit are served
//!    immediately (the head-of-line bug of some intrusive semaphores).
//!    A cancelled waiter that had been `GRANTED` gives its permits back
//!    through the ordinary release path, which grants them onwards.

use core::fmt;
use core::pin::Pin;
use core::task::Poll;
use std::sync::Arc;

use crate::core::driver::{WaitCx, Waitable, impl_operation};
use crate::core::queue::{IDLE, Node, QUEUED, QueueGuard, WaitQueue, WakeList};
use crossbeam_utils::Backoff;

use crate::core::sync::{AtomicU32, AtomicUsize, Ordering, spin_step};

const CLOSED: usize = 1;
const WAITERS: usize = 2;
const SHIFT: u32 = 2;

/// The largest number of permits a semaphore can hold (`usize::MAX >> 2`).
///
/// Permit counts are `usize` (not `u32` as in tokio): two bits of the state
/// word are flags, the rest is the count.
pub const MAX_PERMITS: usize = usize::MAX >> SHIFT;

/// Node outcome: the requested permits were moved to the waiter.
const GRANTED: u32 = 3;
/// Node outcome: the semaphore was closed.
const CLOSED_OUT: u32 = 4;

#[inline]
const fn permits(s: usize) -> usize {
    s >> SHIFT
}

/// Why [`Semaphore::acquire`] failed: the semaphore is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcquireError {
    /// [`Semaphore::close`] was called; closing is permanent.
    Closed,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the semaphore is closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits now, or earlier waiters are queued (FIFO: a
    /// `try_acquire` never overtakes a waiter).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("the semaphore is closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Why [`Semaphore::add_permits`] / [`BoundedSemaphore::release`] failed.
/// The semaphore is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseError {
    /// A bounded semaphore would hold more permits than its initial value
    /// (asyncio's `ValueError`).
    OverRelease,
    /// The count would exceed [`MAX_PERMITS`].
    Overflow,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseError::OverRelease => {
                f.write_str("released more permits than the bounded semaphore's initial value")
            }
            ReleaseError::Overflow => f.write_str("the permit count would overflow"),
        }
    }
}

impl std::error::Error for ReleaseError {}

/// A counting semaphore that threads and async tasks share (asyncio's
/// `Semaphore`, anyio's `Semaphore`, tokio's `Semaphore`).
///
/// * [`acquire()`](Self::acquire) / [`acquire_many(n)`](Self::acquire_many)
///   return an operation: `.await` it in a task, or finish it on a thread
///   with [`.block()`](SemaphoreAcquire::block),
///   [`.block_for(d)`](SemaphoreAcquire::block_for) or
///   [`.block_until(t)`](SemaphoreAcquire::block_until). It gives a
///   [`Permit`] guard that returns the permits when dropped, or keeps them
///   with [`Permit::forget`].
/// * [`acquire_arc()`](Self::acquire_arc) gives an owned `'static`
///   [`OwnedPermit`].
/// * [`try_acquire()`](Self::try_acquire) never waits.
/// * [`release()`](Self::release) / [`add_permits(n)`](Self::add_permits)
///   add permits without a guard (asyncio's `release()`).
/// * [`close()`](Self::close) wakes every waiter with
///   [`AcquireError::Closed`]; later acquires fail the same way. Closing is
///   permanent. Permits held when it closes may still be returned.
///
/// **Order**: strict FIFO. A request for many permits at the head of the
/// queue is not overtaken by smaller ones behind it, and `try_acquire`
/// fails while anyone waits. (asyncio lets a newcomer take a free permit
/// ahead of a woken waiter; dualsync does not, so no waiter can starve.)
///
/// **Cancel-safety**: dropping an acquire operation (or a `block_for`
/// timing out) leaves the semaphore as if it had never been called; permits
/// already granted to it go back and on to the next waiters, and the waiters
/// behind a cancelled head are re-checked at once.
///
/// `size_of::<Semaphore>()` is two words.
///
/// ```
/// use dualsync::Semaphore;
/// use std::sync::Arc;
///
/// let sem = Arc::new(Semaphore::new(1));
/// let p = sem.acquire().block().unwrap(); // a thread takes the permit
/// let t = {
///     let sem = sem.clone();
///     // a task waits for it
///     std::thread::spawn(move || futures::executor::block_on(async {
///         sem.acquire().await.unwrap().num_permits()
///     }))
/// };
/// drop(p); // hands the permit to the task
/// assert_eq!(t.join().unwrap(), 1);
/// assert_eq!(sem.available_permits(), 1);
/// ```
pub struct Semaphore {
    state: AtomicUsize,
    queue: WaitQueue<usize>,
}

/// The acquire side of the public API, the same for [`Semaphore`] and
/// [`BoundedSemaphore`]. Each type gives it three private accessors:
/// `core()`, the [`Semaphore`] that holds the count; `limit()`, the count a
/// returned permit may refill up to (its bound, or [`MAX_PERMITS`]); and
/// `owned()`, the type behind an owned permit. They are trivial and inline,
/// so the fast paths are those of a hand-written copy.
macro_rules! acquire_api {
    () => {
        /// Waits for one permit. Cancel-safe; FIFO.
        #[inline]
        pub fn acquire(&self) -> SemaphoreAcquire<'_> {
            self.acquire_many(1)
        }

        /// Waits for `n` permits at once. Cancel-safe; FIFO: while it is the
        /// head of the queue, nobody behind it is served.
        ///
        /// `n == 0` succeeds at once (with an empty permit) unless the
        /// semaphore is closed.
        ///
        /// # Panics
        ///
        /// If `n > MAX_PERMITS` (a request that could never be met).
        #[inline]
        pub fn acquire_many(&self, n: usize) -> SemaphoreAcquire<'_> {
            assert!(n <= MAX_PERMITS, "acquire_many: more than MAX_PERMITS");
            SemaphoreAcquire {
                sem: self.core(),
                limit: self.limit(),
                node: Node::new(n),
            }
        }

        /// Waits for one permit through an `Arc`, for an owned `'static`
        /// permit.
        pub fn acquire_arc(self: &Arc<Self>) -> SemaphoreAcquireArc {
            self.acquire_many_arc(1)
        }

        /// Waits for `n` permits through an `Arc`. Same rules as
        /// [`acquire_many`](Self::acquire_many).
        pub fn acquire_many_arc(self: &Arc<Self>, n: usize) -> SemaphoreAcquireArc {
            assert!(n <= MAX_PERMITS, "acquire_many_arc: more than MAX_PERMITS");
            SemaphoreAcquireArc {
                sem: Some(Self::owned(self)),
                node: Node::new(n),
            }
        }

        /// Takes one permit if one is free and nobody waits; never waits.
        #[inline]
        pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
            self.try_acquire_many(1)
        }

        /// Takes `n` permits if they are free and nobody waits; never waits.
        #[inline]
        pub fn try_acquire_many(&self, n: usize) -> Result<Permit<'_>, TryAcquireError> {
            self.core().try_take(n)?;
            Ok(Permit {
                sem: self.core(),
                limit: self.limit(),
                n,
            })
        }

        /// [`try_acquire`](Self::try_acquire) for an owned permit.
        pub fn try_acquire_arc(self: &Arc<Self>) -> Result<OwnedPermit, TryAcquireError> {
            self.try_acquire_many_arc(1)
        }

        /// [`try_acquire_many`](Self::try_acquire_many) for an owned permit.
        pub fn try_acquire_many_arc(
            self: &Arc<Self>,
            n: usize,
        ) -> Result<OwnedPermit, TryAcquireError> {
            self.core().try_take(n)?;
            Ok(OwnedPermit {
                sem: Self::owned(self),
                n,
            })
        }
    };
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits > MAX_PERMITS`.
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore holds at most MAX_PERMITS permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            queue: WaitQueue::new(),
        }
    }

    acquire_api!();

    /// Adds one permit (asyncio's `release()`), waking the head waiter if it
    /// now fits. `Err(Overflow)` (unchanged) beyond [`MAX_PERMITS`].
    #[inline]
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.add_permits(1)
    }

    /// Adds `n` permits, granting them to waiters in FIFO order.
    /// `Err(Overflow)`, with the semaphore unchanged, if the count would
    /// exceed [`MAX_PERMITS`].
    #[inline]
    pub fn add_permits(&self, n: usize) -> Result<(), ReleaseError> {
        self.give(n, MAX_PERMITS, false)
    }

    /// Permits free now (a snapshot).
    #[inline]
    pub fn available_permits(&self) -> usize {
        permits(self.state.load(Ordering::Relaxed))
    }

    /// Closes the semaphore: every waiter wakes with
    /// [`AcquireError::Closed`], and so does every later acquire. Permanent.
    /// Permits held now can still be returned (they raise the count, which
    /// nobody can take any more).
    pub fn close(&self) {
        let mut wakes = WakeList::new();
        let mut q = self.queue.lock();
        // Clear WAITERS: the queue is emptied below.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            match self.state.compare_exchange_weak(
                s,
                (s | CLOSED) & !WAITERS,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(x) => s = x,
            }
        }
        while let Some(n) = q.front() {
            let n: *const Node<usize> = n;
            // SAFETY: `n` is linked, valid under the queue lock; the
            // reference is not used after `complete`.
            let n = unsafe { &*n };
            q.remove(n);
            q.complete(n, CLOSED_OUT, &mut wakes);
        }
        drop(q);
        wakes.wake_all();
    }

    /// Whether [`close`](Self::close) was called.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// A snapshot of the semaphore's state (anyio's `statistics()`).
    pub fn statistics(&self) -> SemaphoreStatistics {
        let q = self.queue.lock();
        let waiting = q.len();
        let s = self.state.load(Ordering::Relaxed);
        drop(q);
        SemaphoreStatistics {
            available: permits(s),
            tasks_waiting: waiting,
            closed: s & CLOSED != 0,
        }
    }

    // ---- what `acquire_api!` needs ----

    /// The semaphore that holds the count: this one.
    #[inline(always)]
    fn core(&self) -> &Semaphore {
        self
    }

    /// The count a returned permit may refill up to: no bound.
    #[inline(always)]
    fn limit(&self) -> usize {
        MAX_PERMITS
    }

    /// This semaphore, behind an owned permit.
    fn owned(self: &Arc<Self>) -> OwnedSem {
        OwnedSem::Plain(self.clone())
    }

    // ---- engine side ----

    /// Takes `n` permits without waiting.
    #[inline]
    pub(crate) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if n == 0 {
                return Ok(());
            }
            if s & WAITERS != 0 || permits(s) < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                s,
                s - (n << SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(x) => s = x,
            }
        }
    }

    /// Adds `n` permits. A count above `limit` is an error (`OverRelease`
    /// when `limit < MAX_PERMITS`, else `Overflow`), or with `clamp` is cut
    /// to `limit` (for guards, whose drop cannot fail).
    #[inline]
    pub(crate) fn give(&self, n: usize, limit: usize, clamp: bool) -> Result<(), ReleaseError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 {
                return self.give_slow(n, limit, clamp);
            }
            let new = new_count(permits(s), n, limit, clamp)?;
            match self.state.compare_exchange_weak(
                s,
                (new << SHIFT) | (s & CLOSED),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(x) => s = x,
            }
        }
    }

    #[cold]
    fn give_slow(&self, n: usize, limit: usize, clamp: bool) -> Result<(), ReleaseError> {
        let mut wakes = WakeList::new();
        let mut q = self.queue.lock();
        let r = self.grant_locked(&mut q, n, limit, clamp, &mut wakes);
        drop(q);
        wakes.wake_all();
        r
    }

    /// Under the queue lock: adds `n` permits, then grants from the head
    /// while they suffice, and stores the new word (with `WAITERS` iff the
    /// queue is still non-empty).
    fn grant_locked(
        &self,
        q: &mut QueueGuard<'_, usize>,
        n: usize,
        limit: usize,
        clamp: bool,
        wakes: &mut WakeList,
    ) -> Result<(), ReleaseError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let mut count = new_count(permits(s), n, limit, clamp)?;
            // Decide first, commit after the CAS: nothing is unlinked until
            // the word is ours.
            let mut granted = 0usize;
            let mut len = 0usize;
            for node in q.iter() {
                len += 1;
                if granted == len - 1 && node.data <= count {
                    count -= node.data;
                    granted += 1;
                }
            }
            let w = if granted < len { WAITERS } else { 0 };
            let new = (count << SHIFT) | (s & CLOSED) | w;
            match self
                .state
                .compare_exchange(s, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    for _ in 0..granted {
                        let head: *const Node<usize> = q.front().expect("counted above");
                        // SAFETY: linked, valid under the queue lock; not
                        // used after `complete`.
                        let head = unsafe { &*head };
                        q.remove(head);
                        q.complete(head, GRANTED, wakes);
                    }
                    return Ok(());
                }
                Err(x) => s = x,
            }
        }
    }

    /// Drives an acquisition of `node.data` permits.
    #[inline]
    fn poll_acquire(
        &self,
        node: &Node<usize>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<(), AcquireError>> {
        match node.state() {
            IDLE => match self.try_take(node.data) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => Poll::Ready(Err(AcquireError::Closed)),
                Err(TryAcquireError::NoPermits) => self.acquire_slow(node, cx),
            },
            QUEUED => self.poll_queued(node, cx),
            GRANTED => {
                node.set_unlinked_state(IDLE);
                Poll::Ready(Ok(()))
            }
            _ => {
                debug_assert_eq!(node.state(), CLOSED_OUT);
                node.set_unlinked_state(IDLE);
                Poll::Ready(Err(AcquireError::Closed))
            }
        }
    }

    #[cold]
    fn acquire_slow(
        &self,
        node: &Node<usize>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<(), AcquireError>> {
        // A thread spins a little while nobody is queued: a holder is
        // probably about to give permits back, and parking costs
        // microseconds. Nobody is overtaken: with a waiter queued
        // (`WAITERS`) it stops spinning and queues behind. Tasks never spin.
        if cx.is_thread() {
            let backoff = Backoff::new();
            while !backoff.is_completed() {
                spin_step(&backoff);
                let s = self.state.load(Ordering::Relaxed);
                if s & (WAITERS | CLOSED) != 0 {
                    break;
                }
                if permits(s) >= node.data && self.try_take(node.data).is_ok() {
                    return Poll::Ready(Ok(()));
                }
            }
        }
        let notifier = cx.notifier(); // cloned before the queue lock
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                drop(q);
                return Poll::Ready(Err(AcquireError::Closed));
            }
            if s & WAITERS == 0 && permits(s) >= node.data {
                match self.state.compare_exchange_weak(
                    s,
                    s - (node.data << SHIFT),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        drop(q);
                        return Poll::Ready(Ok(()));
                    }
                    Err(x) => {
                        s = x;
                        continue;
                    }
                }
            }
            if s & WAITERS != 0 {
                break;
            }
            match self.state.compare_exchange_weak(
                s,
                s | WAITERS,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(x) => s = x,
            }
        }
        q.push_back(node, notifier);
        Poll::Pending
    }

    /// A queued waiter polled again: refresh its waker if the task's changed.
    #[cold]
    fn poll_queued(
        &self,
        node: &Node<usize>,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<Result<(), AcquireError>> {
        // Completed meanwhile: take the outcome now (the completion woke
        // the waker stored before, maybe not this task's).
        if self.queue.refresh_waiter(node, cx) {
            Poll::Pending
        } else {
            self.poll_acquire(node, cx)
        }
    }

    /// Cancels an acquisition: unlinks the node and re-checks the waiters
    /// behind it, or gives back permits already granted.
    #[inline]
    fn cancel_acquire(&self, node: &Node<usize>, limit: usize) {
        if node.state() != IDLE {
            self.cancel_slow(node, limit);
        }
    }

    #[cold]
    fn cancel_slow(&self, node: &Node<usize>, limit: usize) {
        let mut outcome = node.state();
        if outcome == QUEUED {
            let mut wakes = WakeList::new();
            let mut q = self.queue.lock();
            outcome = node.state();
            if outcome == QUEUED {
                q.remove(node);
                q.set_idle(node, &mut wakes);
                // The ones behind it may fit now (and WAITERS is recomputed).
                let _ = self.grant_locked(&mut q, 0, MAX_PERMITS, true, &mut wakes);
                drop(q);
                wakes.wake_all();
                return;
            }
        }
        node.set_unlinked_state(IDLE);
        if outcome == GRANTED {
            let _ = self.give(node.data, limit, true);
        }
    }
}

/// `count + n`, checked against `limit`.
#[inline]
fn new_count(count: usize, n: usize, limit: usize, clamp: bool) -> Result<usize, ReleaseError> {
    match count.checked_add(n) {
        Some(c) if c <= limit => Ok(c),
        _ if clamp => Ok(limit.max(count)),
        _ if limit < MAX_PERMITS => Err(ReleaseError::OverRelease),
        _ => Err(ReleaseError::Overflow),
    }
}

impl Semaphore {
    /// The `Debug` of both semaphore types, like Python's repr: the count,
    /// the bound of a bounded one, the waiters, and `closed` once closed.
    fn fmt_debug(
        &self,
        f: &mut fmt::Formatter<'_>,
        name: &str,
        bound: Option<usize>,
    ) -> fmt::Result {
        let st = self.statistics();
        let mut d = f.debug_struct(name);
        d.field("value", &st.available);
        if let Some(bound) = bound {
            d.field("bound", &bound);
        }
        d.field("waiters", &st.tasks_waiting);
        if st.closed {
            d.field("closed", &true);
        }
        d.finish()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_debug(f, "Semaphore", None)
    }
}

/// A snapshot returned by [`Semaphore::statistics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SemaphoreStatistics {
    /// Permits free (asyncio's `_value`, anyio's `value`).
    pub available: usize,
    /// Threads and tasks queued for permits.
    pub tasks_waiting: usize,
    /// The semaphore was closed.
    pub closed: bool,
}

/// A semaphore whose count may never exceed its initial value (asyncio's
/// `BoundedSemaphore`): [`release`](Self::release) /
/// [`add_permits`](Self::add_permits) beyond it return
/// `Err(ReleaseError::OverRelease)` and change nothing.
///
/// It derefs to [`Semaphore`] for the non-waiting calls, but its own
/// `acquire*` give permits that know the bound: a [`Permit`] dropped after
/// a manual `release()` already refilled the semaphore cannot push the count
/// above the bound (the excess is dropped, since `Drop` cannot fail).
/// Same order and cancel-safety as [`Semaphore`].
///
/// ```
/// use dualsync::{BoundedSemaphore, ReleaseError};
///
/// let sem = BoundedSemaphore::new(2);
/// let p = sem.acquire().block().unwrap();
/// assert_eq!(sem.release(), Ok(())); // back to 2 (asyncio style, no guard)
/// assert_eq!(sem.release(), Err(ReleaseError::OverRelease));
/// p.forget();
/// assert_eq!(sem.available_permits(), 2);
/// ```
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits, which is also its bound.
    ///
    /// # Panics
    ///
    /// If `permits > MAX_PERMITS`.
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            sem: Semaphore::new(permits),
            bound: permits,
        }
    }

    /// The bound (the initial number of permits).
    pub fn bound(&self) -> usize {
        self.bound
    }

    // ---- what `acquire_api!` needs ----

    /// The semaphore that holds the count.
    #[inline(always)]
    fn core(&self) -> &Semaphore {
        &self.sem
    }

    /// The count a returned permit may refill up to: the bound.
    #[inline(always)]
    fn limit(&self) -> usize {
        self.bound
    }

    /// This semaphore, behind an owned permit (which then knows the bound).
    fn owned(self: &Arc<Self>) -> OwnedSem {
        OwnedSem::Bounded(self.clone())
    }

    // ---- public API ----

    acquire_api!();

    /// Adds one permit; `Err(OverRelease)` (unchanged) if that would exceed
    /// the bound.
    #[inline]
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.add_permits(1)
    }

    /// Adds `n` permits; `Err(OverRelease)` (unchanged) if that would exceed
    /// the bound.
    #[inline]
    pub fn add_permits(&self, n: usize) -> Result<(), ReleaseError> {
        if self.bound == MAX_PERMITS {
            return self
                .sem
                .give(n, MAX_PERMITS, false)
                .map_err(|_| ReleaseError::OverRelease);
        }
        self.sem.give(n, self.bound, false)
    }
}

impl core::ops::Deref for BoundedSemaphore {
    type Target = Semaphore;
    fn deref(&self) -> &Semaphore {
        &self.sem
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.sem.fmt_debug(f, "BoundedSemaphore", Some(self.bound))
    }
}

/// The operation returned by `acquire()` / `acquire_many(n)`: `.await` it,
/// or `.block()`, `.block_for(d)`, `.block_until(t)`. Dropping it cancels
/// the wait.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    limit: usize,
    node: Node<usize>,
}

impl<'a> Waitable for SemaphoreAcquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        let this = self.into_ref().get_ref();
        match this.sem.poll_acquire(&this.node, cx) {
            Poll::Ready(r) => Poll::Ready(r.map(|()| Permit {
                sem: this.sem,
                limit: this.limit,
                n: this.node.data,
            })),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl Drop for SemaphoreAcquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.cancel_acquire(&self.node, self.limit);
    }
}

impl_operation!(impl['a] SemaphoreAcquire<'a> => Result<Permit<'a>, AcquireError>);

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("permits", &self.node.data)
            .field("state", &self.node.state())
            .finish()
    }
}

/// The semaphore behind an owned permit.
#[derive(Clone)]
enum OwnedSem {
    Plain(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
}

impl OwnedSem {
    fn sem(&self) -> &Semaphore {
        match self {
            OwnedSem::Plain(s) => s,
            OwnedSem::Bounded(b) => &b.sem,
        }
    }

    fn limit(&self) -> usize {
        match self {
            OwnedSem::Plain(_) => MAX_PERMITS,
            OwnedSem::Bounded(b) => b.bound,
        }
    }
}

/// The operation returned by `acquire_arc()` / `acquire_many_arc(n)`; gives
/// an [`OwnedPermit`]. Same rules as [`SemaphoreAcquire`].
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct SemaphoreAcquireArc {
    sem: Option<OwnedSem>,
    node: Node<usize>,
}

impl Waitable for SemaphoreAcquireArc {
    type Output = Result<OwnedPermit, AcquireError>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        // SAFETY: `node` is never moved out of the pinned operation; taking
        // the `Arc` out of its `Option` does not move the node.
        let this = unsafe { self.get_unchecked_mut() };
        let sem = this
            .sem
            .as_ref()
            .expect("SemaphoreAcquireArc polled after completion");
        match sem.sem().poll_acquire(&this.node, cx) {
            Poll::Ready(r) => {
                let sem = this.sem.take().expect("checked above");
                Poll::Ready(r.map(|()| OwnedPermit {
                    sem,
                    n: this.node.data,
                }))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl Drop for SemaphoreAcquireArc {
    fn drop(&mut self) {
        if let Some(s) = &self.sem {
            s.sem().cancel_acquire(&self.node, s.limit());
        }
    }
}

impl_operation!(impl[] SemaphoreAcquireArc => Result<OwnedPermit, AcquireError>);

impl fmt::Debug for SemaphoreAcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquireArc")
            .field("permits", &self.node.data)
            .field("state", &self.node.state())
            .finish()
    }
}

/// Permits held from a [`Semaphore`] or [`BoundedSemaphore`]; returned when
/// dropped (granting them to waiters in FIFO order), or kept for good with
/// [`forget`](Self::forget). `Send`, so it may move between threads and
/// tasks.
///
/// Returning permits saturates: if the count cannot take them all (at
/// [`MAX_PERMITS`], or at a bounded semaphore's bound after a manual
/// `release()`), the excess is dropped rather than wrapping.
#[must_use = "if unused the permits are returned at once"]
pub struct Permit<'a> {
    sem: &'a Semaphore,
    limit: usize,
    n: usize,
}

impl Permit<'_> {
    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits: the semaphore's count stays lower.
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// Merges `other` into this guard (both from the same semaphore).
    ///
    /// # Panics
    ///
    /// If the permits come from different semaphores.
    pub fn merge(&mut self, mut other: Permit<'_>) {
        assert!(
            core::ptr::eq(self.sem, other.sem),
            "merging permits of different semaphores"
        );
        self.n += core::mem::take(&mut other.n);
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.n != 0 {
            let _ = self.sem.give(self.n, self.limit, true);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("permits", &self.n).finish()
    }
}

/// Owned (`'static`) permits from `acquire_arc()`; same rules as
/// [`Permit`].
#[must_use = "if unused the permits are returned at once"]
pub struct OwnedPermit {
    sem: OwnedSem,
    n: usize,
}

impl OwnedPermit {
    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits: the semaphore's count stays lower.
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// The semaphore these permits come from.
    pub fn semaphore(&self) -> &Semaphore {
        self.sem.sem()
    }
}

impl Drop for OwnedPermit {
    #[inline]
    fn drop(&mut self) {
        if self.n != 0 {
            let _ = self.sem.sem().give(self.n, self.sem.limit(), true);
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("permits", &self.n)
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models: a thread waiter and a task waiter on one semaphore, a
    //! timed-out `block_for` (one look under loom) and a cancelled queued
    //! head racing a release. A lost grant is a loom deadlock; the final
    //! count checks that no permit is lost or duplicated.

    use std::sync::Arc;
    use std::time::Duration;

    use super::Semaphore;

    // `loom::model` with room for the queue lock's bounded spin.
    use crate::core::loom_model as model;

    #[test]
    fn loom_semaphore_thread_and_task_one_permit() {
        model(|| {
            let s = Arc::new(Semaphore::new(1));
            let s1 = s.clone();
            let t = loom::thread::spawn(move || drop(s1.acquire().block().unwrap()));
            loom::future::block_on(async {
                let p = s.acquire().await.unwrap();
                assert_eq!(s.available_permits(), 0);
                drop(p);
            });
            t.join().unwrap();
            assert_eq!(s.available_permits(), 1);
        });
    }

    #[test]
    fn loom_semaphore_timeout_and_task_racing_release() {
        model(|| {
            let s = Arc::new(Semaphore::new(0));
            let s1 = s.clone();
            // A thread that gives up after one look, then a task that waits
            // for good: the one permit must end with the task or the count.
            let t = loom::thread::spawn(move || {
                if let Ok(p) = s1.acquire().block_for(Duration::from_millis(1)) {
                    drop(p.unwrap());
                }
            });
            let s2 = s.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async { s2.acquire().await.unwrap().forget() })
            });
            s.release().unwrap();
            t.join().unwrap();
            task.join().unwrap();
            assert_eq!(s.available_permits(), 0);
        });
    }

    #[test]
    fn loom_semaphore_cancelled_head_unblocks_next() {
        model(|| {
            let s = Arc::new(Semaphore::new(1));
            let s1 = s.clone();
            // A big request that times out (withdraws) while a small one
            // waits behind it: the small one must get the free permit.
            let big = loom::thread::spawn(move || {
                let r = s1.acquire_many(2).block_for(Duration::from_millis(1));
                assert!(r.is_err(), "2 permits never exist");
            });
            let s2 = s.clone();
            let small = loom::thread::spawn(move || {
                loom::future::block_on(async { drop(s2.acquire().await.unwrap()) })
            });
            big.join().unwrap();
            small.join().unwrap();
            assert_eq!(s.available_permits(), 1);
        });
    }

    #[test]
    fn loom_semaphore_close_wakes_thread_and_task() {
        model(|| {
            let s = Arc::new(Semaphore::new(0));
            let s1 = s.clone();
            let t = loom::thread::spawn(move || s1.acquire().block().is_err());
            let s2 = s.clone();
            let task = loom::thread::spawn(move || loom::future::block_on(s2.acquire()).is_err());
            s.close();
            assert!(t.join().unwrap());
            assert!(task.join().unwrap());
        });
    }
}
