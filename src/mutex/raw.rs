//! `RawMutex`: the mutex's state machine, its waiter queue and its fairness,
//! without the data. [`Mutex<T>`](crate::Mutex) and its guards are a typed
//! layer over it (as `lock_api` puts a `Mutex<T>` over a raw lock);
//! [`Condition`](crate::Condition) and the C ABI use it directly.
//!
//! # State word
//!
//! ```text
//!   15 ...... 6   5 ...... 3    2        1         0
//!  +------------+-----------+-------+---------+--------+
//!  |   unused   |   ALLOW   | WOKEN | WAITERS | LOCKED |
//!  +------------+-----------+-------+---------+--------+
//! ```
//!
//! 16 bits for 6 used ones: `lock`'s `fetch_or(LOCKED)` is then one
//! `lock bts` on x86-64, which has no 8-bit form.
//!
//! * `LOCKED`: someone owns the lock (a guard exists, or ownership was handed
//!   to a waiter that has not picked it up yet).
//! * `WAITERS`: the wait queue is not empty, so `unlock` must take the slow
//!   path. Set under the queue lock by a waiter about to link; cleared under
//!   the queue lock when the queue empties.
//! * `WOKEN` (bounded-barging mode only): a barging release woke the head in
//!   place and it has not looked since. While it is set, and the head is
//!   within the fairness bound (`deadline`, beside the word), a release
//!   only frees the lock: one CAS, no queue lock, nobody to wake (the head
//!   is already on its way). Set with `deadline` under the queue lock;
//!   cleared by the head's look (under the queue lock), by a hand-off, and
//!   when the woken head leaves.
//! * `ALLOW` (3 bits, only with `WOKEN`): how many of the next such
//!   releases may skip the clock read too
//!   ([`MAX_ALLOWANCE`](crate::engine::fair::MAX_ALLOWANCE)). Each release
//!   that reads the clock sets it from the pace of the releases since the
//!   previous reading (`checked`, beside the word) and the time the head
//!   has left; each release that skips the clock takes one. Cleared with
//!   `WOKEN`, and when `WOKEN` is set.
//!
//! | word                      | meaning                                            |
//! |---------------------------|----------------------------------------------------|
//! | `0`                       | free, nobody waits                                 |
//! | `LOCKED`                  | held, nobody waits                                 |
//! | `LOCKED\|WAITERS`         | held, waiters queued, the head asleep (or not told yet) |
//! | `LOCKED\|WAITERS\|WOKEN` (+ `ALLOW`) | held (by a barging newcomer), waiters queued, the head woken and not looked yet |
//! | `WAITERS` / `WAITERS\|WOKEN` (+ `ALLOW`) | free, waiters queued: a barging release woke the head in place, which has not looked yet |
//!
//! `WOKEN` without `WAITERS` never exists, nor a non-zero `ALLOW` without
//! `WOKEN` (whatever clears `WOKEN` clears `ALLOW` in the same write). In
//! strict mode only `0`, `LOCKED` and `LOCKED|WAITERS` exist.
//!
//! Uncontended, `lock` is one `fetch_or(LOCKED)` and `unlock` one CAS
//! `LOCKED -> 0`; neither touches the queue. While the woken head has not
//! run yet, a barging newcomer's `lock` is the same one `fetch_or` (it
//! takes a free lock whatever the other bits are, and writes back an
//! unchanged word when the lock is held), and its `unlock` one CAS
//! `LOCKED|WAITERS|WOKEN|ALLOW -> WAITERS|WOKEN|ALLOW-1`, with a clock read
//! when `ALLOW` is 0.
//!
//! The unlock knows the word to expect without reading it: `last`, beside
//! the word, holds the word as the last release left it (`0`, or
//! `WAITERS|WOKEN|ALLOW`), and the unlock tries `last|LOCKED ->` its
//! successor. `last` is only a hint: every change of the word is still a
//! CAS from the exact value (or a write under the queue lock), so a stale
//! `last` makes that CAS fail and the unlock read the word and go on as
//! without it; it never makes a transition the tables above do not have.
//! Writers of `last`: releases (just before their CAS), the hand-off and
//! the woken head that takes the lock (to `0`), and the release that
//! wakes the head in place.
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
//! 4. `WOKEN` is set only while the queue's head is woken in place (node
//!    flag `WOKEN`) or about to look (it cleared its node flag and waits
//!    for the queue lock to look): so a release that sees it can skip the
//!    wake-up. Whoever removes the woken head under the queue lock (its own
//!    look, a hand-off, its cancel) clears it or wakes the new head in the
//!    same critical section; a release that frees the lock without the
//!    queue lock does so in one CAS from a word with `WOKEN`, which fails
//!    if any of them came first.
//!
//! # Fairness
//!
//! The engine's policy ([`crate::engine::fair`]): a release wakes the head
//! and lets a newcomer barge while the head has waited less than
//! [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND); after that, or always in
//! strict mode, it hands the lock to the head. A release beside a woken
//! head reads the clock only when `ALLOW` is spent: at a steady pace of
//! releases the bound holds exactly; if the holds grow suddenly the head
//! can be overtaken by at most `MAX_ALLOWANCE` more holds.

use crate::engine::driver::{Waitable, impl_future};
use crate::engine::fair::{Fairness, Pace};
use crate::engine::loom_const_fn;
use crate::engine::node::WaitCx;
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicU8, AtomicU16, Ordering};
use crate::engine::waiter::{Link, Policy, SpinPace, Taken, Waiter};
use crate::engine::wake::WakeList;

use core::pin::Pin;
use core::task::Poll;

/// The state word's type: 16 bits, of which 6 are used, so that `lock`'s
/// `fetch_or` of one bit is one `lock bts` on x86-64 (there is no 8-bit
/// form; an 8-bit `fetch_or` whose result is read is a CAS loop).
type Word = u16;

const LOCKED: Word = 1;
const WAITERS: Word = 2;
const WOKEN: Word = 4;
/// `ALLOW`'s unit and mask.
const ALLOW_ONE: Word = 8;
const ALLOW: Word = 7 * ALLOW_ONE;

/// Node outcome: the lock was handed over; the waiter owns it.
const GRANTED: u32 = 3;

/// The mutex without its data.
pub struct RawMutex {
    state: AtomicU16,
    fairness: Fairness,
    /// While `WOKEN` is set: when the woken head reaches the fairness bound,
    /// as a [`Fairness::short_deadline`] (compared with
    /// [`Fairness::short_left`]; the first release after it passes hands
    /// off and clears `WOKEN`, as a short deadline requires). In the padding
    /// before `queue`, with `checked` and `last`: the size stays two words.
    deadline: AtomicU16,
    /// While `WOKEN` is set: the pace of the releases beside the woken head
    /// (a [`Pace`] with 13 bits of time: the last clock read by such a
    /// release and the `ALLOW` it gave), what [`Fairness::allowance`] needs.
    /// A heuristic (a stale value only changes how often the clock is
    /// read); also in the padding.
    checked: AtomicU16,
    /// The word as the last release left it (without `LOCKED`): `0` when
    /// nobody waits, `WAITERS|WOKEN|ALLOW` while newcomers barge beside a
    /// woken head. A hint, written by whoever frees or takes over the lock:
    /// an unlock tries `last|LOCKED ->` the next word, one CAS that fails
    /// (and falls back to reading the word) if the hint is stale. So a
    /// barging holder's unlock is one CAS, as an uncontended one is.
    last: AtomicU8,
    queue: WaitQueue<()>,
}

impl RawMutex {
    loom_const_fn! {
        pub(crate) fn new(fairness: Fairness) -> RawMutex {
            RawMutex {
                state: AtomicU16::new(0),
                fairness,
                deadline: AtomicU16::new(0),
                checked: AtomicU16::new(0),
                last: AtomicU8::new(0),
                queue: WaitQueue::new(),
            }
        }
    }

    /// Takes the lock if it is free right now, whatever the other bits say
    /// (a free lock with `WAITERS` exists only in bounded-barging mode,
    /// where newcomers may barge; the release enforces the bound).
    ///
    /// One `fetch_or(LOCKED)` (`lock bts`): it takes a free lock whatever
    /// the other bits are (a barging newcomer beside a woken head), and on
    /// a held lock it writes back the value it read, changing nothing. The
    /// loom build does the same with CAS steps instead: loom 0.7 wrongly
    /// lets a later load of the same thread return a value-preserving
    /// RMW's value after a newer store (`engine/loom_defects.rs`),
    /// which strands waiters in its models though no real execution can.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        #[cfg(not(loom))]
        {
            self.state.fetch_or(LOCKED, Ordering::Acquire) & LOCKED == 0
        }
        #[cfg(loom)]
        {
            let mut s = 0;
            loop {
                match self.state.compare_exchange_weak(
                    s,
                    s | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(x) if x & LOCKED != 0 => return false,
                    Err(x) => s = x,
                }
            }
        }
    }

    /// The `last` hint, as a word.
    #[inline]
    fn last(&self) -> Word {
        Word::from(self.last.load(Ordering::Relaxed))
    }

    /// Sets the `last` hint (`w` is `0` or `WAITERS|WOKEN|ALLOW`: 6 bits).
    #[inline]
    fn set_last(&self, w: Word) {
        debug_assert!(w & !(WAITERS | WOKEN | ALLOW) == 0);
        self.last.store(w as u8, Ordering::Relaxed);
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

    /// Releases a lock the caller owns: one CAS, `LOCKED -> 0` with nobody
    /// queued, or beside a woken head with `ALLOW` left (no clock, no queue
    /// lock), from the word `last` predicts; the slow path otherwise.
    #[inline]
    pub(crate) fn unlock(&self) {
        let h = self.last();
        if h == 0 {
            if self
                .state
                .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        } else if h & ALLOW != 0 {
            // Beside a woken head (ALLOW implies WOKEN and WAITERS), if the
            // word is still what the lock found plus LOCKED (invariant 4).
            let next = h - ALLOW_ONE;
            self.set_last(next);
            if self
                .state
                .compare_exchange(h | LOCKED, next, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        self.unlock_slow(self.state.load(Ordering::Relaxed));
    }

    /// Releases the lock on behalf of anyone (asyncio's `Lock.release()`,
    /// the C ABI). Returns `false`, changing nothing, if it was not locked.
    pub(crate) fn unlock_checked(&self) -> bool {
        self.unlock_checked_fast()
            .unwrap_or_else(|| self.unlock_slow(self.state.load(Ordering::Relaxed)))
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
    /// decides). With the head already woken and within the bound, only
    /// free it (invariant 4): without reading the clock while `ALLOW` lasts.
    #[cold]
    fn unlock_slow(&self, mut s: Word) -> bool {
        if s == LOCKED {
            // `last` was stale: nobody waits after all.
            self.set_last(0);
            match self
                .state
                .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(x) => s = x, // a waiter linked meanwhile
            }
        }
        if s & !ALLOW == LOCKED | WAITERS | WOKEN {
            if s & ALLOW != 0 {
                self.set_last(s - LOCKED - ALLOW_ONE);
                if self
                    .state
                    .compare_exchange(
                        s,
                        s - LOCKED - ALLOW_ONE,
                        Ordering::Release,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    return true;
                }
            } else if self.release_beside_woken(s) {
                return true;
            }
        }
        let now = self.fairness.now();
        self.queue.with_lock(|q, wakes| {
            if self.state.load(Ordering::Relaxed) & LOCKED == 0 {
                return false;
            }
            let Some(head) = q.front() else {
                // Nobody queued (a racing cancel emptied it): plain release.
                // With LOCKED set, nobody else changes the word without the
                // queue lock.
                self.set_last(0);
                self.state.store(0, Ordering::Release);
                return true;
            };
            if self.fairness.must_hand_off(head, now) {
                q.pop_front(wakes, |_| Some(GRANTED));
                self.set_last(0);
                // Invariant 1: until we unlock the queue the word still has
                // WAITERS, so the head cannot release the lock under us.
                self.state.store(LOCKED | waiters_bit(q), Ordering::Relaxed);
            } else {
                // Free the lock first, then wake the head (it stays queued,
                // and stays the head the bound is measured on).
                self.mark_woken(head, now);
                self.set_last(WAITERS | WOKEN);
                self.state.store(WAITERS | WOKEN, Ordering::Release);
                q.wake_front(wakes);
            }
            true
        })
    }

    /// A release beside a woken head with `ALLOW` spent (`s` is
    /// `LOCKED|WAITERS|WOKEN`): reads the clock; within the bound, frees
    /// the lock and sets `ALLOW` from the pace since the last reading.
    /// `false`, nothing changed, if the queue lock is needed.
    #[inline]
    fn release_beside_woken(&self, s: Word) -> bool {
        let now = self.fairness.now();
        let deadline = u32::from(self.deadline.load(Ordering::Relaxed));
        let Some(left) = Fairness::short_left(now, deadline) else {
            return false;
        };
        let pace = Pace::<PACE_BITS>(u32::from(self.checked.load(Ordering::Relaxed)));
        let (allow, pace) = pace.recheck(now, now.wrapping_add(left));
        self.checked.store(pace.0 as u16, Ordering::Relaxed);
        let next = WAITERS | WOKEN | (Word::from(allow) * ALLOW_ONE);
        self.set_last(next);
        self.state
            .compare_exchange(s, next, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }

    /// Under the queue lock, as `WOKEN` is set for `head`: its deadline,
    /// and a fresh pace record (`ALLOW` starts at 0).
    #[inline]
    fn mark_woken(&self, head: &crate::engine::node::Node<()>, now: u32) {
        self.deadline
            .store(Fairness::short_deadline(head) as u16, Ordering::Relaxed);
        self.checked
            .store(Pace::<PACE_BITS>::woken(now).0 as u16, Ordering::Relaxed);
    }

    /// Under the queue lock, with the lock free and waiters queued: the head
    /// must be awake to take it (invariant 2).
    fn wake_head(&self, q: &mut QueueGuard<'_, ()>, wakes: &mut WakeList) {
        let Some(head) = q.front() else { return };
        self.mark_woken(head, self.fairness.now());
        let _ = self
            .state
            .fetch_update(Ordering::Release, Ordering::Relaxed, |s| {
                Some((s & !ALLOW) | WOKEN)
            });
        q.wake_front(wakes);
    }
}

/// `checked` is a [`Pace`] with 13 bits of time (8 ms; a woken head's
/// readings are less than the bound apart), so that it fits in 16 bits.
const PACE_BITS: u32 = 13;
const _: () = assert!(((((1u32 << PACE_BITS) - 1) << 3) | 7) <= u16::MAX as u32);

/// `WAITERS` if the queue is not empty.
#[inline]
fn waiters_bit(q: &QueueGuard<'_, ()>) -> Word {
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
        self.try_lock().then_some(())
    }

    /// A lock: a first look that finds it still taken is a holder's
    /// burst (see `engine::waiter::spin_until`).
    const SPIN_PACE: SpinPace = SpinPace::Held;

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

    /// The woken head's look (under the queue lock): take the lock if it is
    /// free, and either way clear `WOKEN` (the head has looked: the next
    /// release must wake it again).
    #[inline]
    fn try_linked(&self, _: &mut QueueGuard<'_, ()>, _: &(), _: &WaitCx<'_, '_>) -> Option<()> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let free = s & LOCKED == 0;
            let new = if free {
                (s | LOCKED) & !(WOKEN | ALLOW)
            } else {
                s & !(WOKEN | ALLOW)
            };
            if new == s {
                return None; // held, and WOKEN already clear
            }
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) if free => {
                    // Ours now: the word no longer has WOKEN.
                    self.set_last(0);
                    return Some(());
                }
                Ok(_) => return None,
                Err(x) => s = x,
            }
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
    /// cancelled): clear WAITERS (and WOKEN) if it was the last. Otherwise,
    /// if the head is not awake (the woken head may be the one that left):
    /// with the lock free the wake-up goes to it; with the lock held a stale
    /// `WOKEN` is cleared, so that the holder's release wakes it. A CAS
    /// loop: a release may free the lock meanwhile without the queue lock.
    fn withdrawn(&self, q: &mut QueueGuard<'_, ()>, _: &(), wakes: &mut WakeList) {
        if q.is_empty() {
            self.state
                .fetch_and(!(WAITERS | WOKEN | ALLOW), Ordering::Relaxed);
            return;
        }
        let head_awake = q.front().is_some_and(|h| h.is_woken());
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & LOCKED == 0 {
                if !head_awake {
                    self.wake_head(q, wakes);
                }
                return;
            }
            if s & WOKEN == 0 || head_awake {
                return;
            }
            match self.state.compare_exchange_weak(
                s,
                s & !(WOKEN | ALLOW),
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(x) => s = x,
            }
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

    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<()> {
        self.waiter.try_unpinned(self.raw)
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
