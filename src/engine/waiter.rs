//! The waiting lifecycle, written once for every primitive.
//!
//! A primitive describes one kind of wait with a small [`Policy`]: how to
//! try without waiting, what to check under the queue lock before linking,
//! what an outcome handed to a waiter means, what to pass on when a waiter
//! that was handed something goes away, and what to fix up when a queued
//! waiter leaves. The engine's [`Waiter`] does the rest, the same way for
//! all of them:
//!
//! ```text
//!            try_now ok                        take: Done
//!   IDLE ───────────────────────> FINISHED <───────────────────┐
//!    │ try_now fails                                             │
//!    │ (thread: pure spin, try again)                            │
//!    │ enqueue under the lock: Wait                              │
//!    v                                                           │
//!   QUEUED ──a waker completes it──> outcome ───take: Retry──> IDLE (front)
//!    │  ^
//!    │  │ look failed              woken in place (WOKEN): look again
//!    └──┴── try_now ok: leave the queue ─────────────────────> FINISHED
//!    │                                  │
//!    │ dropped / timed out              │ dropped before taken
//!    v                                  v
//!   withdraw: unlink, `withdrawn`     `pass_on` the outcome
//! ```
//!
//! * **Two ways to wake a waiter.** A waker either completes it with an
//!   outcome (it leaves the queue: a grant, or a wake-up to look again and
//!   re-queue at the front if it loses), or wakes it *in place*
//!   ([`QueueGuard::wake_front`](super::queue::QueueGuard::wake_front)): it
//!   stays the head, with its stamp, while it looks. The granting primitives
//!   use the second in bounded-barging mode, so that a woken head that the
//!   scheduler keeps off the CPU is still the head the fairness bound is
//!   measured on (a dequeued one would leave the queue empty, and barging
//!   unbounded, until it runs).
//! * **Arrival** is stamped the first time the operation has to wait (its
//!   first failed try), not when it finally links, and a waiter that is
//!   woken, loses the race to a barging newcomer and re-queues keeps its
//!   stamp and goes back to the *front*. The fairness bound
//!   ([`fair`](super::fair)) is measured from that stamp.
//! * **A caller that has to wait takes its place before it gives its core
//!   away**: a thread only *spins* (no yield, no sleep) before it links,
//!   and only when the policy allows barging and its core is not crowded
//!   (its last yield ran another thread); the driver's yields and parking
//!   come after the node is queued.
//! * **Cancel** (the operation is dropped, or a `block_for` times out) is
//!   O(1): unlink under the lock and let the policy fix its state, or pass
//!   on an outcome that landed first. Nothing is lost either way.
//! * **After `Ready`** the node is `FINISHED`: a further poll panics with
//!   one message for every operation, and `FusedFuture::is_terminated`
//!   reads it.

use core::task::Poll;

use super::node::{FINISHED, IDLE, Node, QUEUED, WaitCx};
use super::queue::{QueueGuard, WaitQueue};
#[cfg(not(loom))]
use super::sync::AtomicU32;
#[cfg(loom)]
use super::sync::{Ordering, fence};
use super::wake::WakeList;

/// What [`Policy::enqueue`] decides under the queue lock.
pub(crate) enum Link<T> {
    /// Link the node and wait.
    Wait,
    /// Link the node at the *front* and wait: for a waiter that already
    /// holds part of what it waits for (an upgradable read lock waiting to
    /// become a write lock), which nobody queued could be served before.
    WaitFirst,
    /// The state changed before the lock was taken: finish with this.
    Done(T),
    /// The state changed: try again without the lock.
    Retry,
}

/// What an outcome handed to a waiter means to its owner.
pub(crate) enum Taken<T> {
    /// The operation is over, with this output.
    Done(T),
    /// A wake-up to look again (the waiter re-queues at the front if the
    /// look fails).
    Retry,
}

/// One kind of wait of one primitive. The methods are called by the
/// [`Waiter`] lifecycle only; `data` is the waiter's node payload.
pub(crate) trait Policy {
    /// The node payload (read by wakers under the queue lock).
    type Data;
    /// What a finished wait gives the operation.
    type Output;

    /// Whether the primitive's releases read arrival stamps (the fairness
    /// bound); others skip the clock read.
    const STAMPS: bool = false;

    /// Whether the primitive's state changes without its queue lock (a
    /// lock-free store): then a linked waiter re-checks
    /// [`still_blocked`](Self::still_blocked) with `SeqCst` loads after
    /// unlocking, pairing its lock's `SeqCst` read-modify-write of the
    /// queue word with the other side's `SeqCst` change of the state and
    /// `SeqCst` load of that word
    /// ([`has_waiters_seqcst`](WaitQueue::has_waiters_seqcst)).
    const RECHECK: bool = false;

    /// The waiter queue.
    fn queue(&self) -> &WaitQueue<Self::Data>;

    /// Tries to finish at once, without the queue lock. `None`: must wait.
    fn try_now(&self, data: &Self::Data, cx: &WaitCx<'_, '_>) -> Option<Self::Output>;

    /// [`try_now`](Self::try_now) for a waiter woken in place, under the
    /// queue lock (its node still linked). The default is `try_now`; a
    /// primitive whose state lives under the queue lock overrides it.
    #[inline]
    fn try_linked(
        &self,
        _q: &mut QueueGuard<'_, Self::Data>,
        data: &Self::Data,
        cx: &WaitCx<'_, '_>,
    ) -> Option<Self::Output> {
        self.try_now(data, cx)
    }

    /// A thread about to queue may spin while this says `Some(false)`
    /// ("not yet"); `Some(true)` means a try may succeed now; `None` means
    /// queue at once (barging is not allowed, or someone already waits).
    /// The default never spins.
    #[inline]
    fn spin_check(&self, _data: &Self::Data) -> Option<bool> {
        None
    }

    /// The longest gap between two [`spin_check`](Self::spin_check)s, as
    /// a power of two of pause instructions. The spin lasts as long
    /// whatever this is; only how often it looks changes. The default
    /// lets the gaps keep doubling (few looks: for a primitive whose look
    /// touches a contended word). A primitive whose partner comes back
    /// within a microsecond (a queue in lock-step with its consumer) caps
    /// it, so that a late look does not add the gap to every hand-off.
    #[inline]
    #[cfg_attr(loom, allow(dead_code))] // no spin under loom
    fn spin_gap(&self) -> u32 {
        u32::MAX
    }

    /// How a spinning thread's delay before its first look adapts to this
    /// primitive ([`SpinPace`]). The default looks at once, always.
    #[cfg_attr(loom, allow(dead_code))] // no spin under loom
    const SPIN_PACE: SpinPace = SpinPace::Never;

    /// The longest delay, in pauses, a spinning thread lets pass before
    /// its first [`spin_check`](Self::spin_check) (on top of the spin
    /// itself): see [`SpinPace`].
    #[inline]
    #[cfg_attr(loom, allow(dead_code))] // no spin under loom
    fn max_spin_delay(&self) -> u32 {
        MAX_SPIN_DELAY
    }

    /// [`SpinPace::Ahead`]: after a look that found what it waited for,
    /// whether the other side is ahead by more than that (a second item
    /// behind the first, a second free slot).
    #[inline]
    #[cfg_attr(loom, allow(dead_code))] // no spin under loom
    fn spin_ahead(&self, _data: &Self::Data) -> bool {
        false
    }

    /// Under the queue lock, just before the node is linked (at the back,
    /// or at the `front` for a waiter that lost a race after a wake-up):
    /// the last look at the state, and the bookkeeping that says "someone
    /// waits".
    fn enqueue(
        &self,
        q: &mut QueueGuard<'_, Self::Data>,
        data: &Self::Data,
        front: bool,
        wakes: &mut WakeList,
    ) -> Link<Self::Output>;

    /// See [`RECHECK`](Self::RECHECK): `false` means withdraw and try again.
    #[inline]
    fn still_blocked(&self, _data: &Self::Data) -> bool {
        true
    }

    /// What `outcome` (handed by a waker) means.
    fn take(&self, data: &Self::Data, outcome: u32) -> Taken<Self::Output>;

    /// A waiter handed `outcome` goes away before taking it: pass on what it
    /// was given, so that nothing is lost.
    fn pass_on(&self, data: &Self::Data, outcome: u32);

    /// Under the queue lock, right after a queued waiter left (cancelled,
    /// timed out): fix the primitive's state and serve whoever can be
    /// served now. Must be O(1) apart from the waiters it actually serves.
    fn withdrawn(
        &self,
        q: &mut QueueGuard<'_, Self::Data>,
        data: &Self::Data,
        wakes: &mut WakeList,
    );
}

/// The panic of an operation polled after it returned its output.
#[cold]
#[track_caller]
pub(crate) fn polled_after_completion() -> ! {
    panic!("a dualsync operation was polled after it completed")
}

/// The waiting half of an operation value: its node, and the lifecycle.
pub(crate) struct Waiter<D> {
    node: Node<D>,
}

impl<D> Waiter<D> {
    #[inline]
    pub(crate) fn new(data: D) -> Self {
        Waiter {
            node: Node::new(data),
        }
    }

    /// The payload.
    #[inline]
    pub(crate) fn data(&self) -> &D {
        &self.node.data
    }

    /// The word a blocked thread watches.
    #[inline]
    pub(crate) fn state_word(&self) -> &super::sync::AtomicU32 {
        self.node.state_word()
    }

    /// The node's state (for `Debug`).
    #[inline]
    pub(crate) fn state(&self) -> u32 {
        self.node.state()
    }

    /// Whether the operation returned its output (`FusedFuture`).
    #[inline]
    pub(crate) fn is_finished(&self) -> bool {
        self.node.state() == FINISHED
    }

    /// Whether the operation was never polled, or left the queue without
    /// an outcome (nothing to cancel).
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.node.state() == IDLE
    }

    /// Marks the operation finished without an output (it was cancelled
    /// through an API that returned what it had, like `Put::cancel`):
    /// polling it again panics, dropping it does nothing. The waiter must
    /// not be queued.
    #[inline]
    pub(crate) fn retire(&self) {
        debug_assert_ne!(self.node.state(), QUEUED);
        self.node.set_unlinked_state(FINISHED);
    }

    /// Makes a finished waiter ready for another wait (an operation that
    /// waits several times, like `Condition::wait_while`).
    #[inline]
    pub(crate) fn reuse(&self) {
        debug_assert!(matches!(self.node.state(), IDLE | FINISHED));
        self.node.set_unlinked_state(IDLE);
    }

    #[inline]
    fn finish<T>(&self, v: T) -> Poll<T> {
        self.node.set_unlinked_state(FINISHED);
        Poll::Ready(v)
    }

    /// A blocking call's first try, on the operation before it is pinned
    /// (`Waitable::try_unpinned`): `try_now` on an idle node, which links
    /// nothing, so the node may still move afterwards.
    ///
    /// When it fails, the pinned poll that follows tries once more before
    /// it waits: a second look that costs a call which is about to wait
    /// anyway a few nanoseconds, where a flag to skip it would grow every
    /// operation by a word. Under loom it does not try (the pinned poll's
    /// try is the same `try_now`, which the models explore): the models
    /// keep their state space instead of exploring every try twice.
    ///
    /// The node is unlinked and borrowed `&mut`, so its state is read and
    /// written with plain accesses ([`Node::state_mut`]): a blocking call
    /// that succeeds here keeps no trace of the node in its code (the
    /// driver then forgets the operation, see `Waitable::try_unpinned`).
    #[inline(always)]
    pub(crate) fn try_unpinned<P: Policy<Data = D>>(&mut self, p: &P) -> Option<P::Output> {
        #[cfg(loom)]
        {
            let _ = p;
            None
        }
        #[cfg(not(loom))]
        {
            if *self.node.state_mut() != IDLE {
                return None;
            }
            let v = p.try_now(&self.node.data, &WaitCx::Thread)?;
            *self.node.state_mut() = FINISHED;
            Some(v)
        }
    }

    /// Polls the operation. The first try is inline, and so is the poll
    /// that finds an outcome a waker handed it (the usual second poll of
    /// a wait); everything else is out of line.
    #[inline(always)]
    pub(crate) fn poll<P: Policy<Data = D>>(
        &self,
        p: &P,
        cx: &mut WaitCx<'_, '_>,
    ) -> Poll<P::Output> {
        match self.node.state() {
            IDLE => {
                if let Some(v) = p.try_now(&self.node.data, cx) {
                    return self.finish(v);
                }
                self.wait(p, cx, true, false)
            }
            QUEUED | FINISHED => self.wait(p, cx, false, false),
            outcome => self.handed(p, cx, outcome),
        }
    }

    /// A poll that found `outcome`: takes it, without the frame of
    /// [`wait`](Self::wait) unless the outcome says "look again".
    #[inline(never)]
    fn handed<P: Policy<Data = D>>(
        &self,
        p: &P,
        cx: &mut WaitCx<'_, '_>,
        outcome: u32,
    ) -> Poll<P::Output> {
        match self.take_outcome(p, outcome) {
            Some(v) => self.finish(v),
            None => self.wait(p, cx, false, true),
        }
    }

    /// Owns the node again after a waker handed it `outcome`, and asks the
    /// policy what it means: `None` is a wake-up to look again.
    #[inline(always)]
    fn take_outcome<P: Policy<Data = D>>(&self, p: &P, outcome: u32) -> Option<P::Output> {
        self.node.set_unlinked_state(IDLE);
        match p.take(&self.node.data, outcome) {
            Taken::Done(v) => Some(v),
            Taken::Retry => None,
        }
    }

    /// The rest of [`poll`](Self::poll). `tried`: the node is `IDLE` and
    /// `try_now` just failed. `front`: a woken waiter that must look again
    /// and keeps its place if the look fails.
    #[inline(never)]
    fn wait<P: Policy<Data = D>>(
        &self,
        p: &P,
        cx: &mut WaitCx<'_, '_>,
        mut tried: bool,
        mut front: bool,
    ) -> Poll<P::Output> {
        let node = &self.node;
        let (mut stamped, mut spun) = (false, false);
        loop {
            match node.state() {
                IDLE => {
                    if !tried && let Some(v) = p.try_now(&node.data, cx) {
                        return self.finish(v);
                    }
                }
                QUEUED => {
                    if node.is_woken() {
                        // Woken in place: look again from our place. Clear
                        // the flag first, so that a release after this look
                        // wakes us again. The look and the leaving are one
                        // critical section, so no waker can hand us
                        // something in between.
                        node.clear_woken();
                        let got = p.queue().with_lock(|q, wakes| {
                            if node.state() != QUEUED {
                                return None; // completed: the loop takes it
                            }
                            let v = p.try_linked(q, &node.data, cx)?;
                            q.remove(node);
                            q.set_idle(node, wakes);
                            p.withdrawn(q, &node.data, wakes);
                            Some(v)
                        });
                        if let Some(v) = got {
                            return self.finish(v);
                        }
                    }
                    if p.queue().refresh_waiter(node, cx) {
                        return Poll::Pending;
                    }
                    // Completed meanwhile: look at the outcome now (the
                    // completion woke the waker stored before, maybe not
                    // this task's).
                    continue;
                }
                FINISHED => polled_after_completion(),
                outcome => match self.take_outcome(p, outcome) {
                    Some(v) => return self.finish(v),
                    None => {
                        // Keep the place (and the stamp) it had.
                        front = true;
                        tried = false;
                        continue;
                    }
                },
            }
            tried = false;
            // Must wait. Arrival is now, unless this is a woken waiter that
            // lost a race (it keeps its first stamp).
            if P::STAMPS && !front && !stamped {
                stamped = true;
                node.set_arrival(super::now_micros());
            }
            if cx.is_thread() && !spun {
                spun = true;
                if spin_until(p, &node.data) {
                    continue;
                }
            }
            let mut notifier = Some(cx.notifier()); // cloned before the lock
            let link = p.queue().with_lock_to_link(P::RECHECK, |q, wakes| {
                let link = p.enqueue(q, &node.data, front, wakes);
                if let Link::Wait | Link::WaitFirst = link {
                    let n = notifier.take().expect("linked once");
                    if front || matches!(link, Link::WaitFirst) {
                        q.push_front(node, n);
                    } else {
                        q.push_back(node, n);
                    }
                }
                link
            });
            drop(notifier); // unused: dropped after the lock
            match link {
                Link::Wait | Link::WaitFirst => {
                    if !P::RECHECK {
                        return Poll::Pending;
                    }
                    // No fence before the re-check: the lock's `SeqCst`
                    // read-modify-write of the queue word, which set
                    // `LINKING`, came first, and a changer's `SeqCst` load
                    // of that word sees it as a waiter
                    // (`WaitQueue::has_waiters_seqcst`). Loom models
                    // `SeqCst` read-modify-writes as `AcqRel`: there the
                    // fence stands in for that.
                    #[cfg(loom)]
                    fence(Ordering::SeqCst);
                    if p.still_blocked(&node.data) {
                        return Poll::Pending;
                    }
                    // The state changed while we linked: leave and look
                    // again, or take what a waker handed us meanwhile.
                    if let Some(outcome) = self.leave(p) {
                        match p.take(&node.data, outcome) {
                            Taken::Done(v) => return self.finish(v),
                            Taken::Retry => front = true,
                        }
                    }
                }
                Link::Done(v) => return self.finish(v),
                Link::Retry => {}
            }
        }
    }

    /// Unlinks a queued node (the policy's `withdrawn` runs under the same
    /// lock). Returns the outcome a waker handed it first, if any; the node
    /// is not queued afterwards.
    fn leave<P: Policy<Data = D>>(&self, p: &P) -> Option<u32> {
        let node = &self.node;
        if node.state() == QUEUED {
            let left = p.queue().with_lock(|q, wakes| {
                if node.state() != QUEUED {
                    return false;
                }
                q.remove(node);
                q.set_idle(node, wakes);
                p.withdrawn(q, &node.data, wakes);
                true
            });
            if left {
                return None;
            }
        }
        match node.state() {
            IDLE | FINISHED => None,
            outcome => {
                node.set_unlinked_state(IDLE);
                Some(outcome)
            }
        }
    }

    /// Cancels the operation (its `Drop`): leaves the queue, or passes on
    /// what it was handed. O(1) in the queue length.
    #[inline]
    pub(crate) fn cancel<P: Policy<Data = D>>(&self, p: &P) {
        let s = self.node.state();
        if s != IDLE && s != FINISHED {
            self.cancel_slow(p);
        }
    }

    #[cold]
    fn cancel_slow<P: Policy<Data = D>>(&self, p: &P) {
        if let Some(outcome) = self.leave(p) {
            p.pass_on(&self.node.data, outcome);
        }
    }

    /// A timed-out wait that wants to know what happened: leaves the queue
    /// (`None`), or finishes with an outcome that landed after the last look
    /// (`Some`). A wake-up that only said "look again" is passed on.
    pub(crate) fn withdraw<P: Policy<Data = D>>(&self, p: &P) -> Option<P::Output> {
        let outcome = self.leave(p)?;
        match p.take(&self.node.data, outcome) {
            Taken::Done(v) => {
                self.node.set_unlinked_state(FINISHED);
                Some(v)
            }
            Taken::Retry => {
                p.pass_on(&self.node.data, outcome);
                None
            }
        }
    }
}

/// A thread about to queue spins a little (pause instructions only: no
/// yield, no sleep, so it keeps its core and its place in time), asking
/// [`Policy::spin_check`] after each round: `Some(true)` ends the spin
/// with "try again", `None` ends it with "queue now". Tasks never spin:
/// they would hold up their executor.
///
/// The rounds double, up to `2^`[`Policy::spin_gap`] pauses; the whole
/// spin is [`SPIN_PAUSES`] pauses, after the thread's spin delay (below).
/// A thread whose core is crowded ([`crowded`](super::driver::crowded):
/// its last yield ran another thread) does not spin here at all.
///
/// **The spin delay.** Looking at once is right for a hand-off (a lock
/// released and not taken back, the reply to a request), and wrong beside
/// a thread in a burst: a lock holder that re-locks in a loop, a producer
/// streaming into a queue. Each look then takes the contended cache line
/// (the lock word, the slot being written) away from that thread, and the
/// first look that succeeds ends its burst: the two threads trade every
/// lock or every item, one line transfer each. A waiter that lets the
/// burst run first takes over a lock that was held for a while, or drains
/// a batch. Measured, 2 threads, ns per operation, delay 0 / 64 / 256 /
/// 1024 pauses: mutex `contended_2_threads` 20.2 / 13.4 / 12.8 / 12.0
/// (parking_lot 16.6); rwlock `write_heavy_2_threads` 27.3 / 15.7 / 14.9 /
/// 13.7 (std 17.1); queue `spsc_cap1024_sync` 43 / - / 23 / 33 (512: 21;
/// std 19).
///
/// So each thread keeps a delay (thread-local: its recent waits), which
/// grows (doubling, +16, up to [`Policy::max_spin_delay`]) when its waits
/// meet a burst and shrinks by an eighth when they meet a hand-off, by the
/// primitive's [`SpinPace`].
#[inline(never)]
fn spin_until<P: Policy>(p: &P, data: &P::Data) -> bool {
    #[cfg(not(loom))]
    {
        if super::driver::crowded() {
            // Another runnable thread shares this core: spinning would
            // only keep it from running. Queue now; the driver's yields
            // come after (its short spin too, once the core is not
            // crowded any more).
            return false;
        }
        let max = p.max_spin_delay();
        let delay = if matches!(P::SPIN_PACE, SpinPace::Never) {
            0
        } else {
            SPIN_DELAY.with(|c| c.get()).min(max)
        };
        for _ in 0..delay {
            core::hint::spin_loop();
        }
        let mut first = true;
        let verdict = super::sync::spin_rounds(SPIN_PAUSES, p.spin_gap(), || {
            let look = p.spin_check(data);
            let burst = match (P::SPIN_PACE, look) {
                (SpinPace::Held, Some(ready)) if first => Some(!ready),
                (SpinPace::Ahead, Some(true)) => Some(p.spin_ahead(data)),
                _ => None,
            };
            if let Some(burst) = burst {
                let next = next_spin_delay(delay, burst, max);
                if next != delay {
                    SPIN_DELAY.with(|c| c.set(next));
                }
            }
            first = false;
            match look {
                Some(false) => None,
                Some(true) => Some(true),
                None => Some(false),
            }
        });
        if let Some(try_again) = verdict {
            return try_again;
        }
    }
    #[cfg(loom)]
    {
        if p.spin_check(data).is_some() {
            loom::thread::yield_now();
        }
    }
    p.spin_check(data) == Some(true)
}

/// How a primitive's waits tell a burst from a hand-off, for the spin
/// delay of [`spin_until`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) enum SpinPace {
    /// No delay: look at once.
    Never,
    /// A lock: the first look, after the delay, finds it still taken (a
    /// burst: a holder that re-locks, or long holds, where an earlier
    /// look would not have helped either) or free (a hand-off: look
    /// sooner).
    Held,
    /// A queue: a look that finds what it waited for also finds the other
    /// side ahead by more ([`Policy::spin_ahead`]: a producer streaming)
    /// or not (a single message: a request, a reply).
    Ahead,
}

/// The longest spin delay, in pauses: about 17 µs where a pause takes
/// 34 ns (1024 gave the locks 0.5-1 ns more and a queue 50% less).
#[cfg_attr(loom, allow(dead_code))]
pub(crate) const MAX_SPIN_DELAY: u32 = 512;

/// The next spin delay after a wait that met a `burst` (or a hand-off).
#[inline]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn next_spin_delay(delay: u32, burst: bool, max: u32) -> u32 {
    if burst {
        (delay * 2 + 16).min(max)
    } else {
        delay - delay.div_ceil(8)
    }
}

#[cfg(not(loom))]
std::thread_local! {
    /// This thread's spin delay ([`spin_until`]).
    static SPIN_DELAY: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// This thread's spin delay now (tests).
#[cfg(all(test, not(loom)))]
pub(crate) fn spin_delay_now() -> u32 {
    SPIN_DELAY.with(|c| c.get())
}

/// Pauses [`spin_until`] spins at most (ten doubling rounds: 1 + 2 + ...
/// + 512).
#[cfg(not(loom))]
const SPIN_PAUSES: u32 = (1 << 10) - 1;

#[cfg(not(loom))]
const _: () = assert!(FINISHED > QUEUED && size_of::<AtomicU32>() == 4);
