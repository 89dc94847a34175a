//! `RawMutex`: the mutex's state machine, its waiter queue and its fairness,
//! without the data. [`Mutex<T>`](crate::Mutex) and its guards are a typed
//! layer over it (as `lock_api` puts a `Mutex<T>` over a raw lock);
//! [`Condition`](crate::Condition) and the C ABI use it directly.
//!
//! # State word
//!
//! ```text
//!    7 ............ 2     1         0
//!  +----------------+---------+--------+
//!  |     unused     | WAITERS | LOCKED |
//!  +----------------+---------+--------+
//! ```
//!
//! * `LOCKED`: someone owns the lock (a guard exists, or ownership was handed
//!   to a waiter that has not picked it up yet).
//! * `WAITERS`: the wait queue is not empty, so `unlock` must take the slow
//!   path. Set under the queue lock by a waiter about to link; cleared under
//!   the queue lock when the queue empties.
//!
//! | word               | meaning                                                   |
//! |--------------------|-----------------------------------------------------------|
//! | `0`                | free, nobody waits                                        |
//! | `LOCKED`           | held, nobody waits                                        |
//! | `LOCKED\|WAITERS`  | held, waiters queued                                      |
//! | `WAITERS`          | free, waiters queued: a barging release woke the head in place, which has not looked yet (bounded-barging mode only) |
//!
//! Uncontended, `lock` is one CAS `0 -> LOCKED` and `unlock` one CAS
//! `LOCKED -> 0`; neither touches the queue.
//!
//! # Invariants
//!
//! 1. `WAITERS` is set iff the queue is non-empty, whenever the queue lock is
//!    not held. (So a granted waiter's `unlock`, racing the releaser that
//!    is still in its critical section, always takes the slow path and waits
//!    for the queue lock.)
//! 2. A waiter links only while `LOCKED` is set. `LOCKED` goes 1 -> 0 while
//!    `WAITERS` is set only under the queue lock, by a release that in the
//!    same critical section wakes the head in place (`WOKEN`: it stays the
//!    head and looks again), or it does not go to 0 at all and the lock is
//!    handed to the head (`GRANTED`). A head that leaves while the lock is
//!    free passes the wake-up to the next. So a queued waiter is never
//!    stranded.
//! 3. In strict mode `WAITERS` without `LOCKED` never happens: every release
//!    with waiters hands off.
//!
//! # Fairness
//!
//! The engine's policy ([`crate::engine::fair`]): a release wakes the head
//! and lets a newcomer barge while the head has waited less than
//! [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND); after that, or always in
//! strict mode, it hands the lock to the head.

use crate::engine::driver::{Waitable, impl_future};
use crate::engine::fair::Fairness;
use crate::engine::loom_const_fn;
use crate::engine::node::WaitCx;
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicU8, Ordering};
use crate::engine::waiter::{Link, Policy, Taken, Waiter};
use crate::engine::wake::WakeList;

use core::pin::Pin;
use core::task::Poll;

const LOCKED: u8 = 1;
const WAITERS: u8 = 2;

/// Node outcome: the lock was handed over; the waiter owns it.
const GRANTED: u32 = 3;

/// The mutex without its data.
pub struct RawMutex {
    state: AtomicU8,
    fairness: Fairness,
    queue: WaitQueue<()>,
}

impl RawMutex {
    loom_const_fn! {
        pub(crate) fn new(fairness: Fairness) -> RawMutex {
            RawMutex {
                state: AtomicU8::new(0),
                fairness,
                queue: WaitQueue::new(),
            }
        }
    }

    /// Takes the lock if it is free right now.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                s | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(x) => s = x,
            }
        }
    }

    /// The lock operation (dual-mode, cancel-safe).
    #[inline]
    pub(crate) fn lock(&self) -> RawLock<'_> {
        RawLock {
            raw: self,
            waiter: Waiter::new(()),
        }
    }

    /// Whether the lock is held now (a snapshot).
    #[inline]
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    #[inline]
    pub(crate) fn fairness(&self) -> Fairness {
        self.fairness
    }

    /// Threads and tasks queued (walks the queue: introspection only).
    pub(crate) fn n_waiting(&self) -> usize {
        self.queue.lock().len()
    }

    /// Releases a lock the caller owns.
    #[inline]
    pub(crate) fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    /// Releases the lock on behalf of anyone (asyncio's `Lock.release()`,
    /// the C ABI). Returns `false`, changing nothing, if it was not locked.
    pub(crate) fn unlock_checked(&self) -> bool {
        self.unlock_checked_fast()
            .unwrap_or_else(|| self.unlock_slow())
    }

    /// [`unlock_checked`](Self::unlock_checked) while nobody is queued: one
    /// CAS (or the load that finds the lock free), the call's last access
    /// to the mutex (the C ABI relies on it: such an unlock is not counted
    /// as a call in progress). `None`, nothing changed, when a waiter must
    /// be served.
    #[inline]
    pub(crate) fn unlock_checked_fast(&self) -> Option<bool> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                return Some(false);
            }
            if s & WAITERS != 0 {
                return None;
            }
            match self.state.compare_exchange_weak(
                s,
                s & !LOCKED,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(true),
                Err(x) => s = x,
            }
        }
    }

    /// The release with waiters: hand the lock to the head, or free it and
    /// wake the head in place to compete for it (the fairness policy
    /// decides).
    #[cold]
    fn unlock_slow(&self) -> bool {
        let now = self.fairness.now();
        self.queue.with_lock(|q, wakes| {
            if self.state.load(Ordering::Relaxed) & LOCKED == 0 {
                return false;
            }
            let Some(head) = q.front() else {
                // Nobody queued (a racing cancel emptied it): plain release.
                // With LOCKED set, nobody else changes the word without the
                // queue lock.
                self.state.store(0, Ordering::Release);
                return true;
            };
            if self.fairness.must_hand_off(head, now) {
                q.pop_front(wakes, |_| Some(GRANTED));
                // Invariant 1: until we unlock the queue the word still has
                // WAITERS, so the head cannot release the lock under us.
                self.state.store(LOCKED | waiters_bit(q), Ordering::Relaxed);
            } else {
                // Free the lock first, then wake the head (it stays queued,
                // and stays the head the bound is measured on).
                self.state.store(WAITERS, Ordering::Release);
                q.wake_front(wakes);
            }
            true
        })
    }
}

/// `WAITERS` if the queue is not empty.
#[inline]
fn waiters_bit(q: &QueueGuard<'_, ()>) -> u8 {
    if q.is_empty() { 0 } else { WAITERS }
}

impl Policy for RawMutex {
    type Data = ();
    type Output = ();
    const STAMPS: bool = true;

    #[inline]
    fn queue(&self) -> &WaitQueue<()> {
        &self.queue
    }

    #[inline]
    fn try_now(&self, _: &(), _: &WaitCx<'_, '_>) -> Option<()> {
        if self
            .state
            .compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return Some(());
        }
        self.try_lock().then_some(())
    }

    #[inline]
    fn spin_check(&self, _: &()) -> Option<bool> {
        if self.fairness.is_strict() {
            return None;
        }
        let s = self.state.load(Ordering::Relaxed);
        if s & WAITERS != 0 {
            None
        } else {
            Some(s & LOCKED == 0)
        }
    }

    fn enqueue(
        &self,
        _: &mut QueueGuard<'_, ()>,
        _: &(),
        _front: bool,
        _: &mut WakeList,
    ) -> Link<()> {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & LOCKED != 0 && s & WAITERS == 0 {
            match self.state.compare_exchange_weak(
                s,
                s | WAITERS,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => s |= WAITERS,
                Err(x) => s = x,
            }
        }
        if s & LOCKED == 0 {
            // Released while we were getting here: try again.
            Link::Retry
        } else {
            Link::Wait
        }
    }

    /// The only outcome: the lock was handed over.
    #[inline]
    fn take(&self, _: &(), outcome: u32) -> Taken<()> {
        debug_assert_eq!(outcome, GRANTED);
        Taken::Done(())
    }

    /// A granted lock goes on to the next waiter.
    fn pass_on(&self, _: &(), outcome: u32) {
        debug_assert_eq!(outcome, GRANTED);
        self.unlock();
    }

    /// A waiter left (it took the lock after an in-place wake-up, or was
    /// cancelled): clear WAITERS if it was the last; if the lock is free,
    /// the wake-up it may have had goes to the new head.
    fn withdrawn(&self, q: &mut QueueGuard<'_, ()>, _: &(), wakes: &mut WakeList) {
        if q.is_empty() {
            self.state.fetch_and(!WAITERS, Ordering::Relaxed);
        } else if self.state.load(Ordering::Acquire) & LOCKED == 0 {
            q.wake_front(wakes);
        }
    }
}

/// Locking a [`RawMutex`]; the output is the lock itself (no guard).
#[must_use = "an operation does nothing until awaited or blocked on"]
pub(crate) struct RawLock<'a> {
    raw: &'a RawMutex,
    waiter: Waiter<()>,
}

impl Waitable for RawLock<'_> {
    type Output = ();

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        let this = self.into_ref().get_ref();
        this.waiter.poll(this.raw, cx)
    }

    crate::engine::driver::waiter_methods!();
}

impl Drop for RawLock<'_> {
    #[inline]
    fn drop(&mut self) {
        self.waiter.cancel(self.raw);
    }
}

impl_future!(impl['a] RawLock<'a> => ());
