//! `Semaphore` and `BoundedSemaphore`: asyncio's / anyio's semaphores, shared
//! by threads and tasks.
//!
//! # State word
//!
//! ```text
//!   63 ................. 8   7 ... 5    4       3       2        1         0
//!  +----------------------+---------+-------+--------+------+---------+--------+
//!  |  available permits   |  ALLOW  | WOKEN | STRICT | FIFO | WAITERS | CLOSED |
//!  +----------------------+---------+-------+--------+------+---------+--------+
//! ```
//!
//! * `permits` (`usize >> 8`, so at most [`MAX_PERMITS`]): permits nobody
//!   holds. Permits granted to a waiter that has not picked them up yet are
//!   already subtracted (they are held by that waiter).
//! * `WAITERS`: the wait queue is not empty. Set and cleared only under the
//!   queue lock.
//! * `FIFO`: newcomers must queue (fast paths fail): in strict mode whenever
//!   `WAITERS` is set; in bounded-barging mode when the head waiter has
//!   waited past [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND) and could not be served. Set and cleared
//!   only under the queue lock.
//! * `STRICT`: the semaphore was made with `new_fair` (constant).
//! * `CLOSED`: [`Semaphore::close`] was called; never cleared.
//! * `WOKEN` (bounded-barging mode only): a serve woke the head in place to
//!   take the free permits and it has not looked since (invariant 6). While
//!   it is set, a release with `ALLOW` left only adds its permits: one CAS,
//!   no queue lock, no clock, nobody to wake (the head is already on its
//!   way). Set only under the queue lock, by the serve that wakes the head
//!   ([`Semaphore::serve_locked`]); cleared in the head's look (its CAS,
//!   under the queue lock, whether it takes the permits or not), by a
//!   hand-off to the head, when a waiter leaves and the head does not fit
//!   any more, when the queue empties, and by `close`.
//! * `ALLOW` (3 bits, only with `WOKEN`): how many of the next releases
//!   beside the woken head may skip the queue lock
//!   ([`MAX_ALLOWANCE`](crate::engine::fair::MAX_ALLOWANCE)). A release
//!   that finds it spent serves under the queue lock, reads the clock, and
//!   (the head still within the bound) sets it from the pace of the
//!   releases since the previous reading (a [`Pace`] record in the head's
//!   node) and the time the head has left; each release that skips the
//!   lock takes one. Cleared with `WOKEN`, and 0 when `WOKEN` is set anew.
//!
//! | flags                 | meaning                                                    |
//! |-----------------------|------------------------------------------------------------|
//! | none                  | nobody waits; acquire/release are one CAS                  |
//! | `WAITERS`             | barging mode: waiters queued, the head asleep (or not told yet); newcomers may take free permits |
//! | `WAITERS\|WOKEN` (+ `ALLOW`) | barging mode: as `WAITERS`, and the head was woken in place within the bound and has not looked yet: a release with `ALLOW` left only adds its permits |
//! | `WAITERS\|FIFO`       | waiters queued, newcomers queue behind them                |
//! | `CLOSED`              | closed: every acquire fails; releases still count          |
//!
//! `FIFO` without `WAITERS`, and `WAITERS` or `FIFO` with `CLOSED`, never
//! exist outside the queue lock. `WOKEN` never exists without `WAITERS`,
//! with `FIFO` or in strict mode (outside the queue lock), nor a non-zero
//! `ALLOW` without `WOKEN` (whatever clears `WOKEN` clears `ALLOW` in the
//! same write).
//!
//! Uncontended, `acquire` is one CAS subtracting from the count and a release
//! one CAS adding to it (a CAS rather than a `fetch_add` so that the count can
//! saturate with an error instead of wrapping); neither touches the queue.
//! A barging holder's release while the woken head has not run yet is one
//! CAS too, `+n permits, ALLOW-1`, with the queue lock and a clock read
//! when `ALLOW` is 0.
//!
//! # Invariants
//!
//! 1. `WAITERS` is set iff the queue is non-empty, whenever the queue lock is
//!    not held.
//! 2. A release that finds `WAITERS` (and no `ALLOW`: invariant 6) takes
//!    the queue lock and serves from the head: the head is handed its
//!    permits (`GRANTED`) when the fairness policy says hand off (strict
//!    mode, or it waited past the bound), or, when they are free for it,
//!    woken *in place* to take them (barging mode: it stays the head, and
//!    when it leaves the next one is looked at); serving stops at the first
//!    waiter that does not fit, so a release costs O(1 + waiters served),
//!    never a walk of the queue.
//! 3. Outside the queue lock the word changes without it only by fast-path
//!    acquires (which fail while `FIFO` is set), fast-path releases (which
//!    fail while `WAITERS` is set, unless they take one of `ALLOW`); the
//!    serving code CASes and re-reads.
//! 4. A node's payload (the permits it asks for, and the bound it may refill
//!    up to) is fixed before it is linked. Outcome `GRANTED` means those
//!    permits were moved to it; `CLOSED_OUT` means the semaphore closed while
//!    it waited.
//! 5. A waiter that leaves the queue (cancelled, timed out) re-runs the
//!    serving step under the same lock, so the waiters behind a cancelled
//!    head that now fit are served at once (the head-of-line bug of some
//!    intrusive semaphores), and a woken head that leaves passes its wake-up
//!    on the same way. A cancelled waiter that had been `GRANTED` gives its
//!    permits back through the ordinary release path.
//! 6. `WOKEN` is set only while the queue's head is woken in place (node
//!    flag `WOKEN`) or about to look (it cleared its node flag and waits
//!    for the queue lock to look), within the bound as of the last clock
//!    read: so a release that sees it may add its permits without waking
//!    anyone, since the head will look after them. Whoever changes that
//!    under the queue lock clears it in the same critical section: the
//!    head's look (in the CAS that takes its permits or finds too few), a
//!    hand-off (in the CAS that moves the permits), a waiter's leaving
//!    (the serve after it cannot tell whether the woken head left: it
//!    clears `WOKEN` first, in one RMW whose result it decides from, then
//!    wakes the head again if it fits, which a woken head ignores), and
//!    `close`. A release that adds permits
//!    without the queue lock does so in one CAS from a word with `WOKEN`
//!    and `ALLOW`, which fails if any of them came first; it then serves
//!    under the queue lock as in invariant 2.
//!
//! # Fairness
//!
//! The engine's policy ([`crate::engine::fair`]), as the
//! [`Mutex`](crate::Mutex) applies it: a release beside a woken head skips
//! the clock only while `ALLOW` lasts, so at a steady pace of releases the
//! bound holds exactly; if the holds grow suddenly the head can be
//! overtaken by at most `MAX_ALLOWANCE` more holds.

use core::fmt;
use core::pin::Pin;
use core::task::Poll;
use std::sync::Arc;

use crate::engine::driver::{Waitable, impl_operation};
use crate::engine::fair::{Fairness, MAX_ALLOWANCE, Pace};
use crate::engine::loom_const_fn;
use crate::engine::node::WaitCx;
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicU32, AtomicUsize, Ordering};
use crate::engine::waiter::{Link, Policy, SpinPace, Taken, Waiter, polled_after_completion};
use crate::engine::wake::WakeList;
use crate::error::{AcquireError, AcquireTimeoutError, ReleaseError, TryAcquireError};

const CLOSED: usize = 1;
const WAITERS: usize = 2;
const FIFO: usize = 4;
const STRICT: usize = 8;
const WOKEN: usize = 16;
/// `ALLOW`'s unit and mask.
const ALLOW_ONE: usize = 32;
const ALLOW: usize = 7 * ALLOW_ONE;
const SHIFT: u32 = 8;
const FLAGS: usize = (1 << SHIFT) - 1;
const _: () = assert!(ALLOW / ALLOW_ONE == MAX_ALLOWANCE as usize && ALLOW < 1 << SHIFT);

/// The largest number of permits a semaphore can hold (`usize::MAX >> 8`).
///
/// Permit counts are `usize` (not `u32` as in tokio): eight bits of the
/// state word are flags, the rest is the count.
pub const MAX_PERMITS: usize = usize::MAX >> SHIFT;

/// Node outcome: the requested permits were moved to the waiter.
const GRANTED: u32 = 3;
/// Node outcome: the semaphore was closed.
const CLOSED_OUT: u32 = 4;

#[inline]
const fn permits(s: usize) -> usize {
    s >> SHIFT
}

/// A waiter's payload: what it asks for, and what its permit may refill up
/// to (a bounded semaphore's bound, else [`MAX_PERMITS`]); while it is the
/// head woken in place, the pace of the releases beside it.
pub(crate) struct Request {
    n: usize,
    limit: usize,
    /// A [`Pace`] record, written and read only under the queue lock while
    /// the node is the woken head (`WOKEN`).
    pace: AtomicU32,
}

impl Request {
    #[inline]
    fn new(n: usize, limit: usize) -> Request {
        Request {
            n,
            limit,
            pace: AtomicU32::new(0),
        }
    }
}

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
/// **Order** (the fairness policy every granting primitive shares):
/// waiters are served in arrival order, arrival being the moment an acquire
/// first had to wait, and a request for many permits at the head is not
/// overtaken by smaller ones queued behind it. [`Semaphore::new`] allows
/// *bounded barging*: a release with waiters frees the permits and wakes the
/// head, and a caller that comes before the head runs may take them (the
/// releaser often takes its permit straight back, which avoids a convoy of
/// context switches), but only while the head has waited less than
/// [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND) (500 µs); after that the release hands the permits to
/// the head and newcomers queue behind it until it is served. (Releases
/// beside a head that was woken and has not run yet check the time only
/// every few releases, at the pace of the previous ones: if the holds
/// suddenly grow longer, the head may be overtaken by up to 7 more of
/// them.) [`Semaphore::new_fair`] hands off on every release: strict FIFO, and
/// `try_acquire` fails while anyone waits.
///
/// **Cancel-safety**: dropping an acquire operation (or a `block_for`
/// timing out) leaves the semaphore as if it had never been called; permits
/// already granted to it go back and on to the next waiters, and the waiters
/// behind a cancelled head are re-checked at once. The caller loses only its
/// place in the queue. Cancelling costs the same whatever the queue length.
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
/// drop(p); // the permit goes to the task
/// assert_eq!(t.join().unwrap(), 1);
/// assert_eq!(sem.available_permits(), 1);
/// ```
pub struct Semaphore {
    state: AtomicUsize,
    queue: WaitQueue<Request>,
}

/// The acquire side of the public API, the same for [`Semaphore`] and
/// [`BoundedSemaphore`]. Each type gives it three private accessors:
/// `core()`, the [`Semaphore`] that holds the count; `limit()`, the count a
/// returned permit may refill up to (its bound, or [`MAX_PERMITS`]); and
/// `owned()`, the type behind an owned permit. They are trivial and inline,
/// so the fast paths are those of a hand-written copy.
macro_rules! acquire_api {
    () => {
        /// Waits for one permit. Cancel-safe; served in arrival order within
        /// the fairness bound (see [`Semaphore`]).
        ///
        /// ```
        /// # use std::time::Duration;
        /// let sem = dualsync::Semaphore::new(1);
        /// let p = sem.acquire().block().unwrap();                      // a thread
        /// assert!(sem.acquire().block_for(Duration::from_millis(1)).is_err()); // none left
        /// drop(p);
        /// futures::executor::block_on(async { sem.acquire().await.unwrap(); }); // a task
        /// ```
        #[inline]
        pub fn acquire(&self) -> SemaphoreAcquire<'_> {
            self.acquire_many(1)
        }

        /// Waits for `n` permits at once. Cancel-safe; while it is the head
        /// of the queue, nobody queued behind it is served.
        ///
        /// `n == 0` succeeds at once (with an empty permit) unless the
        /// semaphore is closed.
        ///
        /// # Panics
        ///
        /// If `n > MAX_PERMITS` (a request that could never be met).
        ///
        /// ```
        /// let sem = dualsync::Semaphore::new(3);
        /// let p = sem.acquire_many(2).block().unwrap();
        /// assert_eq!((p.num_permits(), sem.available_permits()), (2, 1));
        /// ```
        #[inline]
        pub fn acquire_many(&self, n: usize) -> SemaphoreAcquire<'_> {
            assert!(n <= MAX_PERMITS, "acquire_many: more than MAX_PERMITS");
            SemaphoreAcquire {
                sem: self.core(),
                waiter: Waiter::new(Request::new(n, self.limit())),
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
                waiter: Waiter::new(Request::new(n, self.limit())),
            }
        }

        /// Takes one permit if one is free; never waits. Fails while a
        /// waiter that has waited past the fairness bound is queued (in
        /// strict mode: while anyone waits).
        ///
        /// ```
        /// let sem = dualsync::Semaphore::new(1);
        /// let p = sem.try_acquire().unwrap();
        /// assert!(sem.try_acquire().is_err());
        /// drop(p);
        /// ```
        #[inline]
        pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
            self.try_acquire_many(1)
        }

        /// Takes `n` permits if they are free; never waits. Same rule as
        /// [`try_acquire`](Self::try_acquire).
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

        /// Permits free now (a snapshot).
        #[inline]
        pub fn available_permits(&self) -> usize {
            permits(self.core().state.load(Ordering::Relaxed))
        }

        /// Closes the semaphore: every waiter wakes with
        /// [`AcquireError::Closed`], and so does every later acquire.
        /// Permanent. Permits held now can still be returned (they raise the
        /// count, which nobody can take any more).
        ///
        /// ```
        /// use dualsync::{AcquireError, Semaphore};
        /// let s = Semaphore::new(0);
        /// s.close();
        /// assert_eq!(s.acquire().block().unwrap_err(), AcquireError::Closed);
        /// ```
        pub fn close(&self) {
            self.core().close_core();
        }

        /// Whether [`close`](Self::close) was called.
        #[inline]
        pub fn is_closed(&self) -> bool {
            self.core().state.load(Ordering::Relaxed) & CLOSED != 0
        }

        /// Whether this semaphore hands off strictly (made with `new_fair`).
        #[inline]
        pub fn is_fair(&self) -> bool {
            self.core().state.load(Ordering::Relaxed) & STRICT != 0
        }

        /// A snapshot of the semaphore's state (anyio's `statistics()`).
        pub fn statistics(&self) -> SemaphoreStatistics {
            self.core().statistics_core()
        }
    };
}

impl Semaphore {
    loom_const_fn! {
        /// A semaphore with `permits` permits and bounded barging.
        ///
        /// # Panics
        ///
        /// If `permits > MAX_PERMITS`.
        ///
        /// ```
        /// static POOL: dualsync::Semaphore = dualsync::Semaphore::new(2);
        /// let p = POOL.acquire().block().unwrap();
        /// assert_eq!(POOL.available_permits(), 1);
        /// # drop(p);
        /// ```
        pub fn new(permits: usize) -> Semaphore {
            Semaphore::with_fairness(permits, Fairness::Barging)
        }
    }

    loom_const_fn! {
        /// A semaphore with `permits` permits in strict hand-off mode: every
        /// release with waiters hands the permits to the head; nobody barges.
        ///
        /// # Panics
        ///
        /// If `permits > MAX_PERMITS`.
        pub fn new_fair(permits: usize) -> Semaphore {
            Semaphore::with_fairness(permits, Fairness::Strict)
        }
    }

    loom_const_fn! {
        pub(crate) fn with_fairness(permits: usize, fairness: Fairness) -> Semaphore {
            assert!(
                permits <= MAX_PERMITS,
                "a semaphore holds at most MAX_PERMITS permits"
            );
            let strict = match fairness {
                Fairness::Strict => STRICT,
                Fairness::Barging => 0,
            };
            Semaphore {
                state: AtomicUsize::new((permits << SHIFT) | strict),
                queue: WaitQueue::new(),
            }
        }
    }

    acquire_api!();

    /// Adds one permit (asyncio's `release()`), serving the head waiter if
    /// it now fits. `Err(Overflow)` (unchanged) beyond [`MAX_PERMITS`].
    ///
    /// ```
    /// let sem = dualsync::Semaphore::new(0);
    /// sem.release().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[inline]
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.add_permits(1)
    }

    /// Adds `n` permits, serving waiters in arrival order.
    /// `Err(Overflow)`, with the semaphore unchanged, if the count would
    /// exceed [`MAX_PERMITS`].
    #[inline]
    pub fn add_permits(&self, n: usize) -> Result<(), ReleaseError> {
        self.give(n, MAX_PERMITS, false)
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

    #[inline]
    fn fairness(s: usize) -> Fairness {
        if s & STRICT != 0 {
            Fairness::Strict
        } else {
            Fairness::Barging
        }
    }

    fn close_core(&self) {
        self.queue.with_lock(|q, wakes| {
            // Clear the waiters' flags: the queue is emptied below.
            self.state
                .fetch_and(!(WAITERS | FIFO | WOKEN | ALLOW), Ordering::Relaxed);
            self.state.fetch_or(CLOSED, Ordering::Release);
            q.complete_all(CLOSED_OUT, wakes);
        });
    }

    fn statistics_core(&self) -> SemaphoreStatistics {
        let q = self.queue.lock();
        let waiting = q.len();
        let s = self.state.load(Ordering::Relaxed);
        drop(q);
        SemaphoreStatistics {
            available: permits(s),
            waiting,
            closed: s & CLOSED != 0,
        }
    }

    /// Takes `n` permits without waiting, unless `FIFO` holds newcomers
    /// back.
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
            if s & FIFO != 0 || permits(s) < n {
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
        match self.give_fast(n, limit, clamp) {
            Some(r) => r,
            None => self.give_slow(n, limit, clamp),
        }
    }

    /// [`give`](Self::give) while nobody waits, or beside a woken head
    /// with `ALLOW` left (invariant 6: it takes one, and wakes nobody):
    /// one CAS (or the load that refuses the count), the call's last access
    /// to the semaphore (the C ABI relies on it: such a release is not
    /// counted as a call in progress). `None`, nothing changed, when waiters
    /// must be served.
    #[inline]
    pub(crate) fn give_fast(
        &self,
        n: usize,
        limit: usize,
        clamp: bool,
    ) -> Option<Result<(), ReleaseError>> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            // ALLOW implies WOKEN and WAITERS.
            let flags = match (s & WAITERS != 0, s & ALLOW != 0) {
                (false, _) => s & FLAGS,
                (true, true) => (s & FLAGS) - ALLOW_ONE,
                (true, false) => return None,
            };
            let new = match new_count(permits(s), n, limit, clamp) {
                Ok(new) => new,
                Err(e) => return Some(Err(e)),
            };
            match self.state.compare_exchange_weak(
                s,
                (new << SHIFT) | flags,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Ok(())),
                Err(x) => s = x,
            }
        }
    }

    #[cold]
    fn give_slow(&self, n: usize, limit: usize, clamp: bool) -> Result<(), ReleaseError> {
        self.queue.with_lock(|q, wakes| {
            let mut s = self.state.load(Ordering::Relaxed);
            loop {
                let new = new_count(permits(s), n, limit, clamp)?;
                match self.state.compare_exchange_weak(
                    s,
                    (new << SHIFT) | (s & FLAGS),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(x) => s = x,
                }
            }
            self.serve_locked(q, true, wakes);
            Ok(())
        })
    }

    /// Under the queue lock: serves from the head while the free permits
    /// cover it (invariant 2), then recomputes `WAITERS`, `FIFO`, `WOKEN`
    /// and `ALLOW`. Looks at one waiter more than it serves: O(1) when
    /// nobody can be served.
    ///
    /// `release`: called for a release, which also recomputes `FIFO` from
    /// the head's wait, and finds a `WOKEN` it did not clear still true
    /// (invariant 6): it only refreshes `ALLOW` then. Called for a waiter
    /// that left (`release == false`), it cannot tell whether the woken
    /// head is the one that left, so it clears `WOKEN` before it looks
    /// (else a release beside the stale `WOKEN` could add permits after
    /// the look, waking nobody), then wakes the head again if it fits (a
    /// head already woken is not woken twice); it keeps `FIFO` as it was
    /// (a release will recompute it), so a cancel that serves nobody reads
    /// no clock.
    fn serve_locked(&self, q: &mut QueueGuard<'_, Request>, release: bool, wakes: &mut WakeList) {
        let mut s = self.state.load(Ordering::Acquire);
        if !release && s & WOKEN != 0 {
            // The woken head may be the one that left: clear WOKEN before
            // deciding (invariant 6), so that a release after this serves
            // under the queue lock, and the permits of one before it are
            // in the word read here.
            s = self.state.fetch_and(!(WOKEN | ALLOW), Ordering::AcqRel) & !(WOKEN | ALLOW);
        }
        if q.is_empty() {
            if s & (WAITERS | FIFO | WOKEN | ALLOW) != 0 {
                self.state
                    .fetch_and(!(WAITERS | FIFO | WOKEN | ALLOW), Ordering::Relaxed);
            }
            return;
        }
        let clock = Self::fairness(s).clock();
        // What the head's in-place wake-up leaves in the word.
        let mut woken = Woken::Clear;
        loop {
            if s & CLOSED != 0 {
                return; // `close` emptied the queue; nothing to serve
            }
            let Some(head) = q.front() else { break };
            let n = head.data.n;
            if n > permits(s) {
                if release && s & WOKEN != 0 {
                    woken = Woken::Keep; // still on its way to look
                }
                break;
            }
            if !clock.must_hand_off(head) {
                // Free for it: it takes them itself (it stays the head;
                // when it leaves, the next one is looked at).
                woken = self.mark_woken(q, release && s & WOKEN != 0, clock.now(), wakes);
                break;
            }
            // Hand them over; the next head is not woken.
            let new = (s - (n << SHIFT)) & !(WOKEN | ALLOW);
            if let Err(x) =
                self.state
                    .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                s = x;
                continue;
            }
            s = new;
            q.pop_front(wakes, |_| Some(GRANTED));
        }
        // The flags: WAITERS iff queued; FIFO iff queued and the head may not
        // be overtaken any more (then it is not left woken either).
        let (flags, woken) = match q.front() {
            None => (0, Woken::Clear),
            Some(_) if !release => (WAITERS | (s & FIFO), woken),
            Some(head) if clock.must_hand_off(head) => (WAITERS | FIFO, Woken::Clear),
            Some(_) => (WAITERS, woken),
        };
        // A CAS loop: fast acquires and releases (which may take one of
        // ALLOW) change the word meanwhile.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let new = (s & !(WAITERS | FIFO | WOKEN | ALLOW))
                | flags
                | match woken {
                    Woken::Clear => 0,
                    Woken::Keep => s & (WOKEN | ALLOW),
                    Woken::Set(bits) => bits,
                };
            if new == s {
                break;
            }
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(x) => s = x,
            }
        }
    }

    /// Under the queue lock, for a head within the bound that the free
    /// permits cover: wakes it in place (`already`: it was woken and has
    /// not looked yet, so it needs no second wake-up) and says what to set
    /// in the word: `WOKEN`, with the `ALLOW` its pace record gives when
    /// it was already woken (a fresh record otherwise: `ALLOW` 0).
    #[inline]
    fn mark_woken(
        &self,
        q: &mut QueueGuard<'_, Request>,
        already: bool,
        now: u32,
        wakes: &mut WakeList,
    ) -> Woken {
        let Some(head) = q.front() else {
            return Woken::Clear;
        };
        let pace = &head.data.pace;
        if already {
            let (allow, next) =
                Pace::<29>(pace.load(Ordering::Relaxed)).recheck(now, Fairness::deadline(head));
            pace.store(next.0, Ordering::Relaxed);
            return Woken::Set(WOKEN | (usize::from(allow) * ALLOW_ONE));
        }
        pace.store(Pace::<29>::woken(now).0, Ordering::Relaxed);
        q.wake_front(wakes);
        Woken::Set(WOKEN)
    }

    /// The woken head's look, under the queue lock: takes its `n` permits
    /// if they are free, and either way clears `WOKEN` and `ALLOW` in the
    /// same CAS (it has looked: the next release must serve it again).
    #[inline]
    fn look(&self, n: usize) -> Option<Result<(), AcquireError>> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Some(Err(AcquireError::Closed));
            }
            let fits = permits(s) >= n;
            let taken = if fits { s - (n << SHIFT) } else { s };
            let new = taken & !(WOKEN | ALLOW);
            if new == s {
                return None; // not enough, and WOKEN already clear
            }
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return fits.then_some(Ok(())),
                Err(x) => s = x,
            }
        }
    }
}

/// What [`Semaphore::serve_locked`] leaves of `WOKEN` and `ALLOW`.
#[derive(Clone, Copy)]
enum Woken {
    /// Clear both: nobody is woken in place (or the head is past the bound).
    Clear,
    /// Leave them as they are now: the woken head is still on its way.
    Keep,
    /// Set these (`WOKEN`, and `ALLOW`).
    Set(usize),
}

impl Policy for Semaphore {
    type Data = Request;
    type Output = Result<(), AcquireError>;
    const STAMPS: bool = true;

    #[inline]
    fn queue(&self) -> &WaitQueue<Request> {
        &self.queue
    }

    #[inline]
    fn try_now(&self, r: &Request, _: &WaitCx<'_, '_>) -> Option<Self::Output> {
        taken(self.try_take(r.n))
    }

    /// The head woken in place looks (`FIFO` holds newcomers back, not the
    /// head), and clears `WOKEN` (invariant 6).
    #[inline]
    fn try_linked(
        &self,
        _: &mut QueueGuard<'_, Request>,
        r: &Request,
        _: &WaitCx<'_, '_>,
    ) -> Option<Self::Output> {
        self.look(r.n)
    }

    /// As a lock: a first look that finds no permits yet is the holders'
    /// burst (see `engine::waiter::spin_until`).
    const SPIN_PACE: SpinPace = SpinPace::Held;

    /// A thread spins while nobody is queued and the permits may come back
    /// soon (barging mode only).
    #[inline]
    fn spin_check(&self, r: &Request) -> Option<bool> {
        let s = self.state.load(Ordering::Relaxed);
        if s & (STRICT | WAITERS) != 0 {
            None
        } else {
            Some(s & CLOSED != 0 || permits(s) >= r.n)
        }
    }

    fn enqueue(
        &self,
        _: &mut QueueGuard<'_, Request>,
        r: &Request,
        _front: bool,
        _: &mut WakeList,
    ) -> Link<Self::Output> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Link::Done(Err(AcquireError::Closed));
            }
            if s & FIFO == 0 && permits(s) >= r.n {
                // Freed while we got here (or barging is allowed): take them.
                match self.state.compare_exchange_weak(
                    s,
                    s - (r.n << SHIFT),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Link::Done(Ok(())),
                    Err(x) => {
                        s = x;
                        continue;
                    }
                }
            }
            // In strict mode a waiter also stops newcomers.
            let flags = if s & STRICT != 0 {
                WAITERS | FIFO
            } else {
                WAITERS
            };
            if s & flags == flags {
                return Link::Wait;
            }
            match self.state.compare_exchange_weak(
                s,
                s | flags,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Link::Wait,
                Err(x) => s = x,
            }
        }
    }

    #[inline]
    fn take(&self, _: &Request, outcome: u32) -> Taken<Self::Output> {
        Taken::Done(if outcome == GRANTED {
            Ok(())
        } else {
            debug_assert_eq!(outcome, CLOSED_OUT);
            Err(AcquireError::Closed)
        })
    }

    /// Granted permits go back: the release path serves the next waiters.
    fn pass_on(&self, r: &Request, outcome: u32) {
        if outcome == GRANTED {
            let _ = self.give(r.n, r.limit, true);
        }
    }

    /// A waiter left (it took its permits after an in-place wake-up, or was
    /// cancelled): the ones behind it may fit now, and the flags are
    /// recomputed.
    fn withdrawn(&self, q: &mut QueueGuard<'_, Request>, _: &Request, wakes: &mut WakeList) {
        self.serve_locked(q, false, wakes);
    }
}

/// A try's result as a wait's: done (permits or closed), or must wait.
#[inline]
fn taken(r: Result<(), TryAcquireError>) -> Option<Result<(), AcquireError>> {
    match r {
        Ok(()) => Some(Ok(())),
        Err(TryAcquireError::Closed) => Some(Err(AcquireError::Closed)),
        Err(TryAcquireError::NoPermits) => None,
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
        let st = self.statistics_core();
        let mut d = f.debug_struct(name);
        d.field("value", &st.available);
        if let Some(bound) = bound {
            d.field("bound", &bound);
        }
        d.field("waiters", &st.waiting);
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
    pub waiting: usize,
    /// The semaphore was closed.
    pub closed: bool,
}

/// A semaphore whose count may never exceed its initial value (asyncio's
/// `BoundedSemaphore`): [`release`](Self::release) /
/// [`add_permits`](Self::add_permits) beyond it return
/// `Err(ReleaseError::OverRelease)` and change nothing.
///
/// It is its own type, built *around* a [`Semaphore`] (it does not deref to
/// one): no `&Semaphore` can be had from it, so no code that releases a plain
/// semaphore can push it over its bound. Its permits know the bound too: a
/// [`Permit`] dropped after a manual `release()` already refilled the
/// semaphore cannot push the count above it (the excess is dropped, since
/// `Drop` cannot fail). Same order, fairness and cancel-safety as
/// [`Semaphore`].
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
///
/// Code written for a plain [`Semaphore`] cannot be handed a bounded one
/// (there is no `Deref` to go through), so it cannot over-release it:
///
/// ```compile_fail
/// fn give_back(s: &dualsync::Semaphore) {
///     s.release().unwrap();
/// }
/// give_back(&dualsync::BoundedSemaphore::new(1)); // error: mismatched types
/// ```
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
}

impl BoundedSemaphore {
    loom_const_fn! {
        /// A bounded semaphore with `permits` permits, which is also its bound;
        /// bounded barging.
        ///
        /// # Panics
        ///
        /// If `permits > MAX_PERMITS`.
        ///
        /// ```
        /// static S: dualsync::BoundedSemaphore = dualsync::BoundedSemaphore::new(1);
        /// assert_eq!(S.bound(), 1);
        /// ```
        pub fn new(permits: usize) -> BoundedSemaphore {
            BoundedSemaphore {
                sem: Semaphore::new(permits),
                bound: permits,
            }
        }
    }

    loom_const_fn! {
        /// A bounded semaphore in strict hand-off mode (see
        /// [`Semaphore::new_fair`]).
        pub fn new_fair(permits: usize) -> BoundedSemaphore {
            BoundedSemaphore {
                sem: Semaphore::new_fair(permits),
                bound: permits,
            }
        }
    }

    /// The bound (the initial number of permits).
    pub fn bound(&self) -> usize {
        self.bound
    }

    // ---- what `acquire_api!` needs ----

    /// The semaphore that holds the count.
    #[inline(always)]
    pub(crate) fn core(&self) -> &Semaphore {
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

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.sem.fmt_debug(f, "BoundedSemaphore", Some(self.bound))
    }
}

/// The operation returned by `acquire()` / `acquire_many(n)`: `.await` it,
/// or `.block()`, `.block_for(d)`, `.block_until(t)`.
///
/// Dropping it cancels the wait: permits already granted to it go back (and
/// on to the next waiters); the caller loses only its place in the queue.
/// Polling it again after it finished panics; it is a `FusedFuture`.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    waiter: Waiter<Request>,
}

impl<'a> SemaphoreAcquire<'a> {
    /// The permit of a finished acquire.
    #[inline]
    fn permit(&self) -> Permit<'a> {
        let r = self.waiter.data();
        Permit {
            sem: self.sem,
            limit: r.limit,
            n: r.n,
        }
    }
}

impl<'a> Waitable for SemaphoreAcquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        let this = self.into_ref().get_ref();
        this.waiter
            .poll(this.sem, cx)
            .map(|res| res.map(|()| this.permit()))
    }

    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<Self::Output> {
        let sem = self.sem;
        let got = self.waiter.try_unpinned(sem)?;
        Some(got.map(|()| self.permit()))
    }

    crate::engine::driver::waiter_methods!();
}

impl Drop for SemaphoreAcquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.waiter.cancel(self.sem);
    }
}

impl_operation!(impl['a] SemaphoreAcquire<'a> => Result<Permit<'a>, AcquireError>, timed: AcquireTimeoutError);

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("permits", &self.waiter.data().n)
            .field("state", &self.waiter.state())
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
    /// Taken out (into the permit) when the operation finishes.
    sem: Option<OwnedSem>,
    waiter: Waiter<Request>,
}

impl Waitable for SemaphoreAcquireArc {
    type Output = Result<OwnedPermit, AcquireError>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        // SAFETY: `waiter` is never moved out of the pinned operation; taking
        // the `Arc` out of its `Option` does not move it.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(sem) = this.sem.as_ref() else {
            polled_after_completion()
        };
        match this.waiter.poll(sem.sem(), cx) {
            Poll::Ready(r) => {
                let sem = this.sem.take().expect("checked above");
                let n = this.waiter.data().n;
                Poll::Ready(r.map(|()| OwnedPermit { sem, n }))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    crate::engine::driver::waiter_methods!();
}

impl Drop for SemaphoreAcquireArc {
    fn drop(&mut self) {
        if let Some(s) = &self.sem {
            self.waiter.cancel(s.sem());
        }
    }
}

impl_operation!(impl[] SemaphoreAcquireArc => Result<OwnedPermit, AcquireError>, timed: AcquireTimeoutError);

impl fmt::Debug for SemaphoreAcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquireArc")
            .field("permits", &self.waiter.data().n)
            .field("state", &self.waiter.state())
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

    /// Whether these permits come from `sem`.
    pub fn is_from(&self, sem: &Semaphore) -> bool {
        matches!(&self.sem, OwnedSem::Plain(s) if core::ptr::eq(&**s, sem))
    }

    /// Whether these permits come from the bounded semaphore `sem`.
    pub fn is_from_bounded(&self, sem: &BoundedSemaphore) -> bool {
        matches!(&self.sem, OwnedSem::Bounded(s) if core::ptr::eq(&**s, sem))
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

#[cfg(test)]
mod tests;
