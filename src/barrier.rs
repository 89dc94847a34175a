//! `Barrier`: asyncio's `Barrier`, shared by threads and tasks.
//!
//! # State word
//!
//! ```text
//!   63 .................................. 1      0
//!  +---------------------------------------+--------+
//!  |  waiting (arrivals still present)     | BROKEN |
//!  +---------------------------------------+--------+
//! ```
//!
//! The word is only written under the queue lock; it exists so that
//! [`Barrier::n_waiting`] and [`Barrier::is_broken`] can read it without the
//! lock. Every waiting arrival of the current generation is a node in the
//! queue, in arrival order.
//!
//! # Generations and indices
//!
//! The arrival that brings the number of *present* waiters to `parties`
//! completes the generation, under the queue lock and in one critical
//! section: it unlinks every queued node, writes each one's index into its
//! payload, completes it `PASSED`, and resets the count to zero. So there is
//! no separate "draining" phase: the next arrival already belongs to the
//! next generation.
//!
//! Indices are handed out by that completer, not at arrival: a waiter's index
//! is *the number of earlier arrivals still present* when the generation
//! completes; the completer (the last arrival) gets `parties - 1` and is the
//! leader. Because a waiter that withdraws (cancelled, timed out) never
//! received an index, no index is ever handed out twice in a generation, and
//! every generation hands out exactly `0..parties`. (asyncio assigns the
//! index at arrival, which a withdrawal would leave with a gap or a
//! duplicate; dualsync chooses the rule that keeps both promises.)
//!
//! | word                | meaning                                     |
//! |---------------------|---------------------------------------------|
//! | `k * ONE`, k < parties | k arrivals of this round wait (queued)   |
//! | `BROKEN`            | aborted: every wait fails until `reset()`   |
//!
//! `BROKEN` with waiters never exists outside the queue lock (`abort()`
//! wakes them all in the same critical section).
//!
//! # Invariants
//!
//! 1. Outside the queue lock, `waiting` equals the queue length and is less
//!    than `parties`; it is `0` while `BROKEN`.
//! 2. A node's payload is written (its index) before it is completed
//!    `PASSED`; the `Release` store of the outcome publishes it.
//! 3. `BROKEN` is set only by [`Barrier::abort`] and cleared only by
//!    [`Barrier::reset`].

use core::fmt;
use core::pin::Pin;
use core::task::Poll;

use std::time::{Duration, Instant};

use crate::Timeout;
use crate::engine::driver::{Waitable, block_pinned_until, deadline_after, flatten, impl_future};
use crate::engine::loom_const_fn;
use crate::engine::node::WaitCx;
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicUsize, Ordering};
use crate::engine::waiter::{Link, Policy, Taken, Waiter};
use crate::engine::wake::WakeList;
use crate::error::{BarrierTimeoutError, BrokenBarrier, TryWaitError, ZeroParties};

const BROKEN: usize = 1;
const ONE: usize = 2;

/// Node outcome: the generation completed; the index is in the payload.
const PASSED: u32 = 3;
/// Node outcome: the barrier was aborted or reset while waiting.
const BROKEN_OUT: u32 = 4;

/// What a successful [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarrierWaitResult {
    index: usize,
    is_leader: bool,
}

impl BarrierWaitResult {
    /// This waiter's index in `0..parties` (asyncio's `wait()` result): the
    /// number of earlier arrivals of the generation still present when it
    /// completed. Unique within the generation.
    pub fn index(&self) -> usize {
        self.index
    }

    /// `true` for exactly one waiter per generation: the last arrival, whose
    /// index is `parties - 1`.
    pub fn is_leader(&self) -> bool {
        self.is_leader
    }
}

/// A reusable barrier that threads and async tasks share (asyncio's
/// `Barrier`): `parties` waiters block in [`wait()`](Self::wait) until the
/// last one arrives, then all go on together, and the barrier is ready for
/// the next round.
///
/// * `wait()` returns an operation: `.await` it, or `.block()`,
///   `.block_for(d)`, `.block_until(t)` on a thread; it gives a
///   [`BarrierWaitResult`] (index in `0..parties`, leader flag) or
///   [`BrokenBarrier`].
/// * [`try_wait()`](Self::try_wait) passes only if this arrival completes
///   the round; otherwise it fails without arriving.
/// * [`abort()`](Self::abort) breaks the barrier for current and future
///   waiters until [`reset()`](Self::reset); `reset()` wakes current
///   waiters with `BrokenBarrier` and returns to an empty barrier.
///
/// **Indices**: a waiter's index is the number of earlier arrivals of its
/// round still present when the round completes; the last arrival gets
/// `parties - 1` and is the leader. A withdrawn arrival never receives an
/// index, so every round hands out exactly `0..parties`, each once.
/// (asyncio numbers arrivals as they come, which a withdrawal would leave
/// with a gap or a duplicate.)
///
/// **Rounds end in one step**: the arrival that completes a round releases
/// every party of it at once, and each one's result is recorded for it.
/// A `reset()` or `abort()` called right after (even by a party of that
/// round, before the others have run) cannot take it back: they still
/// return their indices, as in asyncio and `threading`; only waiters of the
/// *next* round are affected.
///
/// **Cancel-safety**: a wait dropped (or timed out) before its round
/// completes withdraws its arrival: the barrier is not broken and
/// `n_waiting` drops by one. In tokio's sense the caller loses the arrival:
/// dropping an awaited `wait()` whose round completed meanwhile throws its
/// index away. [`BarrierWait::cancel`] cancels a pinned wait and says which
/// happened (not counted, or counted with this index), as `block_for` does
/// for a thread.
///
/// **Order**: a round completes when `parties` waiters are present; they are
/// released together, indices in arrival order.
///
/// ```
/// use dualsync::Barrier;
/// use std::sync::Arc;
///
/// let b = Arc::new(Barrier::new(2));
/// let t = {
///     let b = b.clone();
///     std::thread::spawn(move || b.wait().block().unwrap()) // a thread
/// };
/// let r = futures::executor::block_on(b.wait()).unwrap(); // a task
/// let rt = t.join().unwrap();
/// assert_eq!(r.index() + rt.index(), 1);
/// assert!(r.is_leader() != rt.is_leader());
/// ```
pub struct Barrier {
    state: AtomicUsize,
    parties: usize,
    queue: WaitQueue<AtomicUsize>,
}

impl Barrier {
    loom_const_fn! {
        /// A barrier for `parties` waiters.
        ///
        /// # Panics
        ///
        /// If `parties` is 0 (see [`try_new`](Self::try_new)).
        ///
        /// ```
        /// static START: std::sync::LazyLock<dualsync::Barrier> =
        ///     std::sync::LazyLock::new(|| dualsync::Barrier::new(1));
        /// assert!(START.wait().block().unwrap().is_leader());
        /// ```
        pub fn new(parties: usize) -> Barrier {
            match Barrier::try_new(parties) {
                Ok(b) => b,
                Err(_) => panic!("a barrier needs at least one party"),
            }
        }
    }

    loom_const_fn! {
        /// A barrier for `parties` waiters; `Err(ZeroParties)` for 0.
        pub fn try_new(parties: usize) -> Result<Barrier, ZeroParties> {
            if parties == 0 {
                return Err(ZeroParties);
            }
            Ok(Barrier {
                state: AtomicUsize::new(0),
                parties,
                queue: WaitQueue::new(),
            })
        }
    }

    /// Arrives and waits for the round to complete. Cancel-safe (a dropped
    /// wait withdraws its arrival).
    ///
    /// ```
    /// use dualsync::Barrier;
    /// use std::sync::Arc;
    /// let b = Arc::new(Barrier::new(3));
    /// let threads: Vec<_> = (0..2)
    ///     .map(|_| { let b = b.clone(); std::thread::spawn(move || b.wait().block().unwrap()) })
    ///     .collect();
    /// let mine = futures::executor::block_on(b.wait()).unwrap();
    /// let mut indices: Vec<_> = threads.into_iter().map(|t| t.join().unwrap().index()).collect();
    /// indices.push(mine.index());
    /// indices.sort();
    /// assert_eq!(indices, [0, 1, 2]); // each index once per round
    /// ```
    #[inline]
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            waiter: Waiter::new(AtomicUsize::new(0)),
        }
    }

    /// Passes if this arrival completes the round (all the others are
    /// waiting); otherwise `Err(WouldBlock)` without arriving, or
    /// `Err(Broken)`.
    pub fn try_wait(&self) -> Result<BarrierWaitResult, TryWaitError> {
        self.queue.with_lock(|q, wakes| {
            let s = self.state.load(Ordering::Relaxed);
            if s & BROKEN != 0 {
                return Err(TryWaitError::Broken);
            }
            if s / ONE + 1 < self.parties {
                return Err(TryWaitError::WouldBlock);
            }
            Ok(self.pass_locked(q, wakes))
        })
    }

    /// The number of waiters a round needs.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Waiters present in the current round (a snapshot).
    pub fn n_waiting(&self) -> usize {
        self.state.load(Ordering::Relaxed) / ONE
    }

    /// Waiters present, read under the queue lock: an arrival that completes
    /// a round resets the count and then releases the lock, so a caller that
    /// sees 0 here knows that arrival is done with the barrier's state (the
    /// C ABI's `dualsync_barrier_free` relies on it).
    pub(crate) fn n_waiting_locked(&self) -> usize {
        let _q = self.queue.lock();
        self.state.load(Ordering::Relaxed) / ONE
    }

    /// Whether the barrier is broken ([`abort`](Self::abort) was called and
    /// no [`reset`](Self::reset) since).
    pub fn is_broken(&self) -> bool {
        self.state.load(Ordering::Relaxed) & BROKEN != 0
    }

    /// Returns to an empty, unbroken barrier; the current waiters wake with
    /// [`BrokenBarrier`] (asyncio's `reset()`).
    pub fn reset(&self) {
        self.break_waiters(false);
    }

    /// Breaks the barrier: current waiters and every later `wait()` get
    /// [`BrokenBarrier`] until [`reset`](Self::reset) (asyncio's `abort()`).
    ///
    /// ```
    /// use dualsync::{Barrier, BrokenBarrier};
    /// let b = Barrier::new(2);
    /// b.abort();
    /// assert_eq!(b.wait().block(), Err(BrokenBarrier));
    /// b.reset();
    /// assert!(!b.is_broken());
    /// ```
    pub fn abort(&self) {
        self.break_waiters(true);
    }

    fn break_waiters(&self, broken: bool) {
        self.queue.with_lock(|q, wakes| {
            q.complete_all(BROKEN_OUT, wakes);
            self.state
                .store(if broken { BROKEN } else { 0 }, Ordering::Release);
        });
    }

    /// Under the queue lock, with `parties - 1` waiters queued: releases
    /// them all with their indices; the caller is the leader.
    fn pass_locked(
        &self,
        q: &mut QueueGuard<'_, AtomicUsize>,
        wakes: &mut WakeList,
    ) -> BarrierWaitResult {
        let mut index = 0;
        while q
            .pop_front(wakes, |n| {
                n.data.store(index, Ordering::Relaxed);
                Some(PASSED)
            })
            .is_some()
        {
            index += 1;
        }
        debug_assert_eq!(index, self.parties - 1);
        self.state.store(0, Ordering::Release);
        BarrierWaitResult {
            index,
            is_leader: true,
        }
    }
}

impl Policy for Barrier {
    type Data = AtomicUsize;
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    #[inline]
    fn queue(&self) -> &WaitQueue<AtomicUsize> {
        &self.queue
    }

    /// An arrival is counted under the queue lock: nothing to try before.
    #[inline]
    fn try_now(&self, _: &AtomicUsize, _: &WaitCx<'_, '_>) -> Option<Self::Output> {
        None
    }

    fn enqueue(
        &self,
        q: &mut QueueGuard<'_, AtomicUsize>,
        _: &AtomicUsize,
        _front: bool,
        wakes: &mut WakeList,
    ) -> Link<Self::Output> {
        let s = self.state.load(Ordering::Relaxed);
        if s & BROKEN != 0 {
            return Link::Done(Err(BrokenBarrier));
        }
        if s / ONE + 1 >= self.parties {
            return Link::Done(Ok(self.pass_locked(q, wakes)));
        }
        self.state.store(s + ONE, Ordering::Relaxed);
        Link::Wait
    }

    #[inline]
    fn take(&self, index: &AtomicUsize, outcome: u32) -> Taken<Self::Output> {
        Taken::Done(if outcome == PASSED {
            Ok(BarrierWaitResult {
                index: index.load(Ordering::Relaxed),
                is_leader: false,
            })
        } else {
            debug_assert_eq!(outcome, BROKEN_OUT);
            Err(BrokenBarrier)
        })
    }

    /// The round passed (or broke) with it: nothing to give back.
    fn pass_on(&self, _: &AtomicUsize, _: u32) {}

    /// A withdrawn arrival no longer counts.
    fn withdrawn(&self, _: &mut QueueGuard<'_, AtomicUsize>, _: &AtomicUsize, _: &mut WakeList) {
        let s = self.state.load(Ordering::Relaxed);
        self.state.store(s - ONE, Ordering::Relaxed);
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        let mut d = f.debug_struct("Barrier");
        d.field("parties", &self.parties)
            .field("waiting", &(s / ONE));
        if s & BROKEN != 0 {
            d.field("broken", &true);
        }
        d.finish()
    }
}

/// The operation returned by [`Barrier::wait`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`. Dropping it before the round
/// completes withdraws the arrival.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    waiter: Waiter<AtomicUsize>,
}

impl Waitable for BarrierWait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        let this = self.into_ref().get_ref();
        this.waiter.poll(this.barrier, cx)
    }

    crate::engine::driver::waiter_methods!();
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        self.waiter.cancel(self.barrier);
    }
}

impl_future!(impl['a] BarrierWait<'a> => Result<BarrierWaitResult, BrokenBarrier>);

impl BarrierWait<'_> {
    /// Finishes the wait on this thread, parking it until the round
    /// completes (or the barrier breaks).
    ///
    /// Never panics inside an async runtime: it blocks the calling worker
    /// thread, like any blocking call would.
    pub fn block(self) -> Result<BarrierWaitResult, BrokenBarrier> {
        match self.finish(None) {
            Ok(r) => r,
            Err(_) => unreachable!("an untimed wait cannot time out"),
        }
    }

    /// Like [`block`](Self::block), giving up after `timeout`: then the
    /// arrival is withdrawn and `Err(BarrierTimeoutError::Timeout)`
    /// returned. A timeout that loses the race with the arrival completing
    /// the round reports the round's result instead: `Timeout` always means
    /// "not counted".
    ///
    /// ```
    /// use dualsync::{Barrier, BarrierTimeoutError};
    /// use std::time::Duration;
    ///
    /// let b = Barrier::new(2);
    /// let r = b.wait().block_for(Duration::from_millis(1));
    /// assert_eq!(r, Err(BarrierTimeoutError::Timeout)); // alone: withdrawn
    /// assert_eq!(b.n_waiting(), 0);
    /// ```
    pub fn block_for(self, timeout: Duration) -> Result<BarrierWaitResult, BarrierTimeoutError> {
        flatten(self.finish(deadline_after(timeout)))
    }

    /// Like [`block_for`](Self::block_for), with a deadline.
    pub fn block_until(self, deadline: Instant) -> Result<BarrierWaitResult, BarrierTimeoutError> {
        flatten(self.finish(Some(deadline)))
    }

    fn finish(
        self,
        deadline: Option<Instant>,
    ) -> Result<Result<BarrierWaitResult, BrokenBarrier>, Timeout> {
        crate::engine::driver::pin_own_lines!(let mut op = self);
        if let Some(r) = block_pinned_until(op.as_mut(), deadline) {
            return Ok(r);
        }
        // Timed out: withdraw, unless the round completed (or broke) in the
        // meantime; the operation's drop then has nothing left to do.
        op.cancel().ok_or(Timeout(()))
    }

    /// Cancels the wait and says what became of the arrival: `None` if it
    /// was not counted (never polled, or withdrawn now: the barrier goes on
    /// without it), `Some(result)` if its round completed (or the barrier
    /// broke) before the cancellation: the index it would have returned.
    /// The wait is finished afterwards (polling it again panics).
    ///
    /// This is how a task that gives up waiting (a timeout, a lost
    /// `select!` branch) learns whether it was counted.
    ///
    /// ```
    /// use dualsync::Barrier;
    /// use std::pin::pin;
    /// use std::task::{Context, Waker};
    ///
    /// let b = Barrier::new(2);
    /// let mut w = pin!(b.wait());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(w.as_mut().poll(&mut cx).is_pending()); // arrived, waiting
    /// b.try_wait().unwrap(); // the second party completes the round
    /// let r = w.as_mut().cancel().expect("counted");
    /// assert_eq!(r.unwrap().index(), 0);
    /// ```
    pub fn cancel(self: Pin<&mut Self>) -> Option<Result<BarrierWaitResult, BrokenBarrier>> {
        let this = self.into_ref().get_ref();
        let r = this.waiter.withdraw(this.barrier);
        this.waiter.retire();
        r
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("state", &self.waiter.state())
            .finish()
    }
}

#[cfg(test)]
mod tests;
