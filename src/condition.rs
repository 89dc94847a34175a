//! `Condition`: asyncio's `Condition`, shared by threads and tasks, over
//! dualsync's [`Mutex`].
//!
//! # State
//!
//! A `Condition` is only its one-word waiter queue (8 bytes): it keeps no
//! flag and no count, because a notification is an edge, not a level: it is
//! recorded in the node of the waiter it wakes (`NOTIFIED`).
//!
//! # A wait, step by step
//!
//! ```text
//!  Start ──poll──> Waiting ──NOTIFIED──> Relocking ──lock granted──> Done
//!  (holds guard)   (linked in the         (linked in the mutex's
//!                   condition's queue,     queue, or has the lock)
//!                   lock released)
//! ```
//!
//! 1. *Start*: the operation holds the caller's guard. Its first poll links
//!    its node at the back of the condition's queue **then** releases the
//!    mutex, so a `notify` by whoever takes the mutex next always sees it.
//! 2. *Waiting*: `notify(n)` unlinks up to `n` nodes from the front and
//!    completes them with `NOTIFIED`.
//! 3. *Relocking*: the woken waiter re-acquires the mutex with a second node
//!    (the raw mutex's lock lifecycle), in the mutex's own order, with no
//!    deadline, then rebuilds the guard.
//!
//! # Invariants
//!
//! 1. A node is linked in the condition's queue only in *Waiting*, and only
//!    after it was linked does the waiter release the mutex.
//! 2. A notification is never lost: a waiter that is dropped after being
//!    notified (in *Waiting* with `NOTIFIED`, or in *Relocking*) notifies the
//!    next waiter in its place. A timed wait whose deadline races a
//!    notification that reached it keeps it: it reports "notified".
//! 3. The mutex lock is owned by exactly one party at all times: the guard
//!    (*Start*), nobody (*Waiting*), the mutex's hand-off (*Relocking*), the
//!    rebuilt guard (*Done*).

use core::fmt;
use core::ops::DerefMut;
use core::pin::Pin;
use core::task::Poll;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::driver::{Waitable, block_until, deadline_after, impl_future};
use crate::engine::loom_const_fn;
use crate::engine::node::{NOTIFIED, WaitCx};
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::AtomicU32;
use crate::engine::waiter::{Link, Policy, Taken, Waiter, polled_after_completion};
use crate::engine::wake::WakeList;
use crate::mutex::raw::RawMutex;
use crate::mutex::{Mutex, MutexGuard, OwnedMutexGuard};

mod sealed {
    use crate::mutex::raw::RawMutex;

    /// How a condition wait takes a guard apart and puts it back together.
    pub trait Sealed: Sized {
        /// The guard without its lock: how to find the mutex again.
        type Held;
        /// Takes the guard apart, keeping the lock held.
        fn into_held(self) -> Self::Held;
        /// The raw mutex.
        fn raw(held: &Self::Held) -> &RawMutex;
        /// Rebuilds the guard.
        ///
        /// # Safety
        ///
        /// The mutex is locked and no guard owns that lock.
        unsafe fn adopt(held: Self::Held) -> Self;
    }
}

/// A guard a [`Condition`] can wait with: [`MutexGuard`] (borrowed) or
/// [`OwnedMutexGuard`] (from [`Mutex::lock_arc`]). Sealed.
pub trait ConditionGuard: sealed::Sealed + DerefMut {}

impl<'a, T: ?Sized> sealed::Sealed for MutexGuard<'a, T> {
    type Held = &'a Mutex<T>;
    fn into_held(self) -> &'a Mutex<T> {
        MutexGuard::into_locked(self)
    }
    fn raw(held: &&'a Mutex<T>) -> &'a RawMutex {
        held.raw()
    }
    unsafe fn adopt(held: &'a Mutex<T>) -> Self {
        // SAFETY: forwarded from the caller: locked, no guard owns it.
        unsafe { MutexGuard::adopt(held) }
    }
}
impl<T: ?Sized> ConditionGuard for MutexGuard<'_, T> {}

impl<T: ?Sized> sealed::Sealed for OwnedMutexGuard<T> {
    type Held = Arc<Mutex<T>>;
    fn into_held(self) -> Arc<Mutex<T>> {
        OwnedMutexGuard::into_locked_arc(self)
    }
    fn raw(held: &Arc<Mutex<T>>) -> &RawMutex {
        held.raw()
    }
    unsafe fn adopt(held: Arc<Mutex<T>>) -> Self {
        // SAFETY: forwarded from the caller: locked, no guard owns it.
        unsafe { OwnedMutexGuard::adopt(held) }
    }
}
impl<T: ?Sized> ConditionGuard for OwnedMutexGuard<T> {}

/// A lock held on a [`RawMutex`] without a guard: the C ABI's mutex, whose
/// lock belongs to the C caller. Dropping it does *not* unlock (the caller
/// still owns the lock); it derefs to `()`.
pub(crate) struct RawLocked<'a> {
    raw: &'a RawMutex,
    unit: (),
}

impl<'a> RawLocked<'a> {
    /// # Safety
    ///
    /// `raw` is locked, and the caller owns that lock.
    pub(crate) unsafe fn new(raw: &'a RawMutex) -> Self {
        RawLocked { raw, unit: () }
    }
}

impl core::ops::Deref for RawLocked<'_> {
    type Target = ();
    fn deref(&self) -> &() {
        &self.unit
    }
}

impl DerefMut for RawLocked<'_> {
    fn deref_mut(&mut self) -> &mut () {
        &mut self.unit
    }
}

impl<'a> sealed::Sealed for RawLocked<'a> {
    type Held = &'a RawMutex;
    fn into_held(self) -> &'a RawMutex {
        self.raw
    }
    fn raw(held: &&'a RawMutex) -> &'a RawMutex {
        held
    }
    unsafe fn adopt(held: &'a RawMutex) -> Self {
        RawLocked {
            raw: held,
            unit: (),
        }
    }
}
impl ConditionGuard for RawLocked<'_> {}

/// Whether a timed condition wait timed out (like
/// `std::sync::WaitTimeoutResult`). The guard comes back either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// `true` if the deadline passed without a notification (for
    /// `wait_while`: with the predicate still asking to wait).
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable that tasks and threads wait on together (asyncio's
/// `Condition`), used with dualsync's [`Mutex`] guards.
///
/// * [`wait(guard)`](Self::wait) releases the lock, waits for a
///   notification and gives the guard back re-locked: `.await` it, or
///   [`.block()`](ConditionWait::block),
///   [`.block_for(d)`](ConditionWait::block_for),
///   [`.block_until(t)`](ConditionWait::block_until) on a thread. The timed
///   forms **always** give the guard back, re-locked, with a
///   [`WaitTimeoutResult`]; the re-lock after a timeout waits for the mutex
///   without a deadline, like `pthread_cond_timedwait`.
/// * [`wait_while(guard, pred)`](Self::wait_while) waits while `pred`
///   returns `true` (asyncio's `wait_for(predicate)` waits *until* it is
///   true: the Rust name and sense follow `std::sync::Condvar::wait_while`).
/// * [`notify(n)`](Self::notify), [`notify_one()`](Self::notify_one),
///   [`notify_all()`](Self::notify_all) wake waiters and say how many.
///
/// **Which mutex.** A `Condition` is not bound to one mutex: several
/// Conditions may share one `Mutex`, and a Condition may be used with
/// different mutexes over time, even at once (each waiter re-locks the mutex
/// its guard came from). asyncio binds one lock per Condition; here nothing
/// can go wrong without the binding, so it is not enforced.
///
/// **Notifying without the lock.** `notify*` take `&self`, not a guard
/// (like `std::sync::Condvar`; asyncio raises if the lock is not held). A
/// notification reaches every waiter that started waiting before the
/// notifier took the mutex; notifying without holding the mutex may miss a
/// waiter that is starting to wait at that very moment.
///
/// **No `try_` form.** A notification is not stored: a wait that never waits
/// could only ever time out, so there is no `try_wait`;
/// `wait(g).block_for(Duration::ZERO)` releases and re-takes the lock once.
///
/// **Cancel-safety.** Dropping a wait operation (the usual way to put a
/// timeout on the async form, e.g. `tokio::time::timeout`) drops the guard
/// it owns: if it is still waiting for a notification the lock was already
/// released and nothing more happens; if it is re-locking, the re-lock is
/// cancelled. A notification already handed to it passes on to the next
/// waiter: nothing is lost (the bug CPython and anyio both shipped).
///
/// **Order.** Waiters are notified in arrival order; notified waiters then
/// re-take the mutex in the mutex's FIFO order.
///
/// ```
/// use dualsync::{Condition, Mutex};
/// use std::sync::Arc;
///
/// let shared = Arc::new((Mutex::new(false), Condition::new()));
/// let t = {
///     let shared = shared.clone();
///     std::thread::spawn(move || {
///         let (m, c) = &*shared;
///         let ready = c.wait_while(m.lock().block(), |r| !*r).block(); // a thread
///         assert!(*ready);
///     })
/// };
/// let (m, c) = &*shared;
/// futures::executor::block_on(async {
///     let mut g = m.lock().await; // a task
///     *g = true;
///     c.notify_all();
/// });
/// t.join().unwrap();
/// ```
pub struct Condition {
    queue: WaitQueue<()>,
}

impl Condition {
    loom_const_fn! {
        /// A new condition with no waiters.
        pub fn new() -> Condition {
            Condition {
                queue: WaitQueue::new(),
            }
        }
    }

    /// Releases `guard`'s lock, waits for a notification and returns the
    /// guard re-locked. The lock is released on the operation's first poll
    /// (or on drop, if it is never polled). Cancel-safe (see the type docs).
    ///
    /// ```
    /// use dualsync::{Condition, Mutex};
    /// use std::sync::Arc;
    /// let pair = Arc::new((Mutex::new(false), Condition::new()));
    /// let t = {
    ///     let pair = pair.clone();
    ///     std::thread::spawn(move || {
    ///         let (m, c) = &*pair;
    ///         let mut ready = m.lock().block();
    ///         while !*ready {
    ///             ready = c.wait(ready).block(); // releases the lock while waiting
    ///         }
    ///     })
    /// };
    /// futures::executor::block_on(async {
    ///     let (m, c) = &*pair;
    ///     *m.lock().await = true;
    ///     c.notify_all();
    /// });
    /// t.join().unwrap();
    /// ```
    #[inline]
    pub fn wait<G: ConditionGuard>(&self, guard: G) -> ConditionWait<'_, G> {
        ConditionWait {
            cond: self,
            phase: Phase::Start,
            guard: Some(guard),
            held: None,
            waiter: Waiter::new(()),
            relock: Waiter::new(()),
        }
    }

    /// Waits while `pred` (called with the lock held) returns `true`; returns
    /// at once, without releasing the lock, if it is `false` already. The
    /// predicate is checked again after every wake-up.
    ///
    /// ```
    /// use dualsync::{Condition, Mutex};
    /// use std::time::Duration;
    /// let (m, c) = (Mutex::new(0), Condition::new());
    /// let (g, r) = c.wait_while(m.lock().block(), |n| *n == 0).block_for(Duration::from_millis(1));
    /// assert!(r.timed_out());  // nobody changed it in time...
    /// assert_eq!(*g, 0);       // ...and the guard comes back either way
    /// ```
    #[inline]
    pub fn wait_while<G, F>(&self, guard: G, pred: F) -> WaitWhile<'_, G, F>
    where
        G: ConditionGuard,
        F: FnMut(&mut G::Target) -> bool,
    {
        WaitWhile {
            inner: self.wait(guard),
            pred,
            checked: false,
        }
    }

    /// Wakes up to `n` waiters, longest-waiting first; returns how many.
    ///
    /// ```
    /// let c = dualsync::Condition::new();
    /// assert_eq!(c.notify(2), 0); // nobody waits: a notification is not stored
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        if n == 0 || self.queue.is_empty_hint() {
            return 0;
        }
        self.notify_slow(n)
    }

    /// Wakes the longest waiter; `true` if there was one.
    #[inline]
    pub fn notify_one(&self) -> bool {
        self.notify(1) == 1
    }

    /// Wakes every waiter; returns how many.
    #[inline]
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }

    /// A snapshot of the condition's state (anyio's `statistics()`; the
    /// lock's own statistics are the mutex's).
    pub fn statistics(&self) -> ConditionStatistics {
        ConditionStatistics {
            waiting: self.queue.lock().len(),
        }
    }

    #[cold]
    fn notify_slow(&self, n: usize) -> usize {
        self.queue.with_lock(|q, wakes| {
            let mut woken = 0;
            while woken < n && q.complete_front(NOTIFIED, wakes) {
                woken += 1;
            }
            woken
        })
    }
}

/// Waiting for a notification (the first stage of a wait; the re-lock is
/// the mutex's own lifecycle).
impl Policy for Condition {
    type Data = ();
    type Output = ();

    #[inline]
    fn queue(&self) -> &WaitQueue<()> {
        &self.queue
    }

    /// A notification is an edge: a new wait always waits.
    #[inline]
    fn try_now(&self, _: &(), _: &WaitCx<'_, '_>) -> Option<()> {
        None
    }

    fn enqueue(&self, _: &mut QueueGuard<'_, ()>, _: &(), _: bool, _: &mut WakeList) -> Link<()> {
        Link::Wait
    }

    #[inline]
    fn take(&self, _: &(), outcome: u32) -> Taken<()> {
        debug_assert_eq!(outcome, NOTIFIED);
        Taken::Done(())
    }

    /// Notified, never used it: pass it on (invariant 2).
    fn pass_on(&self, _: &(), _: u32) {
        self.notify(1);
    }

    fn withdrawn(&self, _: &mut QueueGuard<'_, ()>, _: &(), _: &mut WakeList) {}
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.statistics().waiting)
            .finish()
    }
}

/// A snapshot returned by [`Condition::statistics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConditionStatistics {
    /// Threads and tasks waiting for a notification (not those re-locking).
    pub waiting: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Waiting,
    Relocking,
    Done,
}

/// The operation returned by [`Condition::wait`]: `.await` it (output: the
/// guard), or `.block()`, `.block_for(d)`, `.block_until(t)` (output: the
/// guard and a [`WaitTimeoutResult`]). Dropping it drops the guard and
/// passes on a notification it had received.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct ConditionWait<'c, G: ConditionGuard> {
    cond: &'c Condition,
    phase: Phase,
    guard: Option<G>,
    held: Option<<G as sealed::Sealed>::Held>,
    /// Waits for the notification.
    waiter: Waiter<()>,
    /// Re-locks the mutex.
    relock: Waiter<()>,
}

impl<G: ConditionGuard> ConditionWait<'_, G> {
    fn poll_inner(&mut self, cx: &mut WaitCx<'_, '_>) -> Poll<G> {
        loop {
            match self.phase {
                Phase::Start => {
                    let Some(g) = self.guard.take() else {
                        polled_after_completion()
                    };
                    // Linked first, unlocked second (invariant 1): the first
                    // poll of a condition wait always queues.
                    let linked = self.waiter.poll(self.cond, cx);
                    debug_assert!(linked.is_pending());
                    let held = g.into_held();
                    G::raw(&held).unlock();
                    self.held = Some(held);
                    self.phase = Phase::Waiting;
                    return Poll::Pending;
                }
                Phase::Waiting => match self.waiter.poll(self.cond, cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => self.phase = Phase::Relocking,
                },
                Phase::Relocking => {
                    let held = self.held.as_ref().expect("held while relocking");
                    match self.relock.poll(G::raw(held), cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) => {
                            self.phase = Phase::Done;
                            let held = self.held.take().expect("checked above");
                            // SAFETY: the re-lock just gave us the lock, and
                            // no guard owns it (invariant 3).
                            return Poll::Ready(unsafe { G::adopt(held) });
                        }
                    }
                }
                Phase::Done => polled_after_completion(),
            }
        }
    }

    /// After a timeout: stop waiting for a notification. `true` if none had
    /// reached us. Either way the operation goes on to re-lock.
    fn give_up(&mut self) -> bool {
        if self.phase != Phase::Waiting {
            return false; // already notified and re-locking
        }
        let timed_out = self.waiter.withdraw(self.cond).is_none();
        self.phase = Phase::Relocking;
        timed_out
    }

    /// Finishes the wait on this thread; returns the guard re-locked.
    pub fn block(self) -> G {
        block_forever(self)
    }

    /// Like [`block`](Self::block), giving up waiting for a notification
    /// after `timeout`. Always returns the guard, re-locked (the re-lock
    /// itself has no deadline), and whether the wait timed out.
    pub fn block_for(self, timeout: Duration) -> (G, WaitTimeoutResult) {
        self.block_deadline(deadline_after(timeout))
    }

    /// Like [`block_for`](Self::block_for) with a deadline.
    pub fn block_until(self, deadline: Instant) -> (G, WaitTimeoutResult) {
        self.block_deadline(Some(deadline))
    }

    fn block_deadline(self, deadline: Option<Instant>) -> (G, WaitTimeoutResult) {
        crate::engine::driver::pin_own_lines!(let mut op = self);
        if let Ok(g) = block_until(Stage(op.as_mut()), deadline) {
            return (g, WaitTimeoutResult(false));
        }
        // SAFETY: `give_up` moves nothing out of the pinned operation.
        let timed_out = unsafe { op.as_mut().get_unchecked_mut() }.give_up();
        let g = block_forever(Stage(op.as_mut()));
        (g, WaitTimeoutResult(timed_out))
    }
}

impl<G: ConditionGuard> Waitable for ConditionWait<'_, G> {
    type Output = G;

    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<G> {
        // SAFETY: the nodes are never moved out of the pinned operation;
        // only the guard / phase fields are replaced.
        unsafe { self.get_unchecked_mut() }.poll_inner(cx)
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        let this = self.get_ref();
        match this.phase {
            Phase::Relocking => this.relock.state_word(),
            _ => this.waiter.state_word(),
        }
    }

    fn is_terminated(&self) -> bool {
        self.phase == Phase::Done
    }
}

impl_future!(impl['c, G: ConditionGuard] ConditionWait<'c, G> => G);

impl<G: ConditionGuard> Drop for ConditionWait<'_, G> {
    fn drop(&mut self) {
        match self.phase {
            // `guard` (if any) drops with the struct and unlocks.
            Phase::Start | Phase::Done => {}
            // Withdraws, or passes on a notification it never used
            // (invariant 2).
            Phase::Waiting => self.waiter.cancel(self.cond),
            Phase::Relocking => {
                if let Some(held) = &self.held {
                    self.relock.cancel(G::raw(held));
                }
                // The notification it used is passed on too.
                self.cond.notify(1);
            }
        }
    }
}

impl<G: ConditionGuard> fmt::Debug for ConditionWait<'_, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWait")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

/// Blocks this thread on `op` with no deadline, which cannot time out.
fn block_forever<W: Waitable>(op: W) -> W::Output {
    match block_until(op, None) {
        Ok(out) => out,
        Err(_) => unreachable!("an untimed wait cannot time out"),
    }
}

/// Lends a pinned operation to the generic driver without giving it away:
/// when the driver drops the `Stage` on timeout, the operation lives on.
struct Stage<'x, W>(Pin<&'x mut W>);

impl<W: Waitable> Waitable for Stage<'_, W> {
    type Output = W::Output;
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<W::Output> {
        self.get_mut().0.as_mut().poll_wait(cx)
    }
    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().0.as_ref().wait_state()
    }
    fn is_terminated(&self) -> bool {
        self.0.as_ref().get_ref().is_terminated()
    }
}

/// The operation returned by [`Condition::wait_while`]: `.await` it (output:
/// the guard, with the predicate `false`), or `.block()`, `.block_for(d)`,
/// `.block_until(t)`. Same cancel-safety as [`ConditionWait`].
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct WaitWhile<'c, G: ConditionGuard, F> {
    inner: ConditionWait<'c, G>,
    pred: F,
    checked: bool,
}

impl<G, F> WaitWhile<'_, G, F>
where
    G: ConditionGuard,
    F: FnMut(&mut G::Target) -> bool,
{
    fn poll_inner(&mut self, cx: &mut WaitCx<'_, '_>) -> Poll<G> {
        loop {
            if !self.checked {
                let Some(g) = self.inner.guard.as_mut() else {
                    polled_after_completion()
                };
                if !(self.pred)(&mut **g) {
                    self.inner.phase = Phase::Done;
                    return Poll::Ready(self.inner.guard.take().expect("checked above"));
                }
                self.checked = true;
            }
            match self.inner.poll_inner(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(g) => {
                    // Woken: look again, with the lock held.
                    self.inner.guard = Some(g);
                    self.inner.phase = Phase::Start;
                    self.inner.waiter.reuse();
                    self.inner.relock.reuse();
                    self.checked = false;
                }
            }
        }
    }

    /// Finishes the wait on this thread; returns the guard, re-locked, with
    /// the predicate `false`.
    pub fn block(self) -> G {
        block_forever(self)
    }

    /// Like [`block`](Self::block), giving up after `timeout`. Always returns
    /// the guard, re-locked; `timed_out()` is `true` if the predicate still
    /// asked to wait when time ran out.
    pub fn block_for(self, timeout: Duration) -> (G, WaitTimeoutResult) {
        self.block_deadline(deadline_after(timeout))
    }

    /// Like [`block_for`](Self::block_for) with a deadline.
    pub fn block_until(self, deadline: Instant) -> (G, WaitTimeoutResult) {
        self.block_deadline(Some(deadline))
    }

    fn block_deadline(self, deadline: Option<Instant>) -> (G, WaitTimeoutResult) {
        crate::engine::driver::pin_own_lines!(let mut op = self);
        if let Ok(g) = block_until(Stage(op.as_mut()), deadline) {
            return (g, WaitTimeoutResult(false));
        }
        // SAFETY: nothing is moved out of the pinned operation; `inner` is
        // re-pinned in place.
        let this = unsafe { op.as_mut().get_unchecked_mut() };
        this.inner.give_up();
        // SAFETY: `inner` is a field of a pinned value and is never moved.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let mut g = block_forever(Stage(inner));
        this.inner.phase = Phase::Done;
        let still = (this.pred)(&mut *g);
        (g, WaitTimeoutResult(still))
    }
}

impl<G, F> Waitable for WaitWhile<'_, G, F>
where
    G: ConditionGuard,
    F: FnMut(&mut G::Target) -> bool,
{
    type Output = G;

    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<G> {
        // SAFETY: the nodes inside `inner` are never moved.
        unsafe { self.get_unchecked_mut() }.poll_inner(cx)
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        // SAFETY: projection to a field of a pinned value.
        unsafe { self.map_unchecked(|s| &s.inner) }.wait_state()
    }

    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl_future!(impl['c, G: ConditionGuard, F: FnMut(&mut G::Target) -> bool] WaitWhile<'c, G, F> => G);

impl<G: ConditionGuard, F> fmt::Debug for WaitWhile<'_, G, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitWhile")
            .field("phase", &self.inner.phase)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
