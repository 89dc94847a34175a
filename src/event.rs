//! `Event`: asyncio's `Event` / anyio's `Event`, shared by threads and tasks.
//!
//! # State word
//!
//! ```text
//!   31 ............ 2     1        0
//!  +----------------+---------+-----+
//!  |     unused     | WAITERS | SET |
//!  +----------------+---------+-----+
//! ```
//!
//! * `SET`: the flag users see (`is_set()`).
//! * `WAITERS`: the wait queue is not empty, so `set` must take the queue
//!   lock and wake the crowd. Set by a waiter, under the queue lock, with a
//!   CAS that also checks `SET` is clear; cleared under the queue lock when
//!   the queue empties.
//!
//! | word            | meaning                                             |
//! |-----------------|-----------------------------------------------------|
//! | `0`             | down, nobody waits                                  |
//! | `SET`           | up (nobody waits: a waiter never links on a set event) |
//! | `WAITERS`       | down, waiters queued                                |
//! | `SET\|WAITERS`  | transient: `set()` raised the flag and is about to take the queue lock to wake the waiters |
//!
//! Uncontended, `set`, `clear`, `is_set` and a `wait` on a set event are one
//! atomic instruction each and never touch the queue.
//!
//! # Invariants
//!
//! 1. `WAITERS` is set iff the queue is non-empty, whenever the queue lock is
//!    not held.
//! 2. A waiter links itself only after a CAS that saw `SET` clear and set
//!    `WAITERS`. `set()` is one `fetch_or`: in the word's modification order
//!    it comes either before that CAS (the waiter sees `SET` and returns) or
//!    after it (`set()` sees `WAITERS`, takes the queue lock, which the waiter
//!    holds until it is linked, and completes it). No waiter is stranded.
//! 3. `set()` completes *every* queued node in one critical section. A node
//!    that was completed returns from `wait()` whatever happens to the flag
//!    afterwards: "everyone waiting when `set()` is called wakes, even if
//!    `clear()` follows immediately". Waiters that link after that critical
//!    section (after a `clear()`) wait for the next `set()`. No generation
//!    counter is needed: the completion is recorded in the node itself.

use core::fmt;
use core::pin::Pin;
use core::task::Poll;

use crate::engine::driver::{Waitable, impl_operation};
use crate::engine::loom_const_fn;
use crate::engine::node::{NOTIFIED, WaitCx};
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicU32, Ordering};
use crate::engine::waiter::{Link, Policy, Taken, Waiter};
use crate::engine::wake::WakeList;

const SET: u32 = 1;
const WAITERS: u32 = 2;

/// A flag that tasks and threads wait on until it is set (asyncio's
/// `Event`).
///
/// * [`set()`](Self::set) raises the flag and wakes every waiter;
///   [`clear()`](Self::clear) lowers it; [`is_set()`](Self::is_set) reads it.
/// * [`wait()`](Self::wait) returns an operation: `.await` it in a task, or
///   finish it on a thread with [`.block()`](EventWait::block),
///   [`.block_for(d)`](EventWait::block_for) or
///   [`.block_until(t)`](EventWait::block_until). A wait that starts while
///   the flag is up returns at once. [`try_wait()`](Self::try_wait) is the
///   never-waiting form (it is `is_set()`).
/// * Reusable: every waiter queued when `set()` runs wakes, even if `clear()`
///   follows immediately; waiters that arrive after the `clear()` wait for
///   the next `set()` (asyncio's semantics).
///
/// **Cancel-safety**: dropping a [`EventWait`] (or a `block_for` timing out)
/// leaves the event as if `wait()` had never been called. A wake-up is not a
/// resource: `set()` wakes everyone, so nothing needs passing on.
///
/// **Order**: `set()` wakes all waiters at once, in arrival order.
///
/// **Size**: 16 bytes (a 4-byte state word and the one-word waiter queue,
/// padded to the word).
///
/// ```
/// use dualsync::Event;
/// use std::sync::Arc;
///
/// let ev = Arc::new(Event::new());
/// let t = {
///     let ev = ev.clone();
///     std::thread::spawn(move || ev.wait().block()) // a thread waits
/// };
/// let task = {
///     let ev = ev.clone();
///     std::thread::spawn(move || futures::executor::block_on(async { ev.wait().await })) // a task waits
/// };
/// ev.set(); // both wake
/// t.join().unwrap();
/// task.join().unwrap();
/// assert!(ev.is_set());
/// ev.clear();
/// assert!(!ev.try_wait());
/// ```
pub struct Event {
    state: AtomicU32,
    queue: WaitQueue<()>,
}

impl Event {
    loom_const_fn! {
        /// A new event, not set.
        pub fn new() -> Event {
            Event {
                state: AtomicU32::new(0),
                queue: WaitQueue::new(),
            }
        }
    }

    /// Whether the flag is up now (asyncio's `is_set()`).
    #[inline]
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// The never-waiting form of [`wait`](Self::wait): `true` if the flag is
    /// up (a wait would return at once). Same as [`is_set`](Self::is_set).
    #[inline]
    pub fn try_wait(&self) -> bool {
        self.is_set()
    }

    /// Raises the flag and wakes every waiter (threads and tasks, in arrival
    /// order). Setting a set event does nothing.
    ///
    /// ```
    /// let ev = std::sync::Arc::new(dualsync::Event::new());
    /// let t = { let ev = ev.clone(); std::thread::spawn(move || ev.wait().block()) };
    /// ev.set(); // wakes the thread (and any task) waiting now
    /// t.join().unwrap();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    #[inline]
    pub fn set(&self) {
        let old = self.state.fetch_or(SET, Ordering::AcqRel);
        if old & WAITERS != 0 {
            self.wake_everyone();
        }
    }

    #[cold]
    fn wake_everyone(&self) {
        self.queue.with_lock(|q, wakes| {
            q.complete_all(NOTIFIED, wakes);
            self.state.fetch_and(!WAITERS, Ordering::Relaxed);
        });
    }

    /// Lowers the flag. Waiters already woken by a `set()` still return;
    /// new waits wait for the next `set()`.
    #[inline]
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::Release);
    }

    /// Waits until the flag is up: `.await` it, or `.block()`,
    /// `.block_for(d)`, `.block_until(t)` on a thread. Returns at once if it
    /// is up already. Cancel-safe.
    ///
    /// ```
    /// use dualsync::Event;
    /// use std::time::Duration;
    /// let ev = Event::new();
    /// assert!(ev.wait().block_for(Duration::from_millis(1)).is_err()); // not set: times out
    /// ev.set();
    /// ev.wait().block();                               // set: returns at once
    /// futures::executor::block_on(ev.wait());          // in a task too
    /// ```
    #[inline]
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            waiter: Waiter::new(()),
        }
    }

    /// A snapshot of the event's state (anyio's `statistics()`).
    pub fn statistics(&self) -> EventStatistics {
        let waiting = self.queue.lock().len();
        EventStatistics {
            set: self.is_set(),
            waiting,
        }
    }
}

impl Policy for Event {
    type Data = ();
    type Output = ();

    #[inline]
    fn queue(&self) -> &WaitQueue<()> {
        &self.queue
    }

    #[inline]
    fn try_now(&self, _: &(), _: &WaitCx<'_, '_>) -> Option<()> {
        self.is_set().then_some(())
    }

    fn enqueue(&self, _: &mut QueueGuard<'_, ()>, _: &(), _: bool, _: &mut WakeList) -> Link<()> {
        // Invariant 2: link only after a CAS that saw SET clear.
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & SET != 0 {
                return Link::Done(());
            }
            match self.state.compare_exchange_weak(
                s,
                s | WAITERS,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Link::Wait,
                Err(x) => s = x,
            }
        }
    }

    #[inline]
    fn take(&self, _: &(), outcome: u32) -> Taken<()> {
        debug_assert_eq!(outcome, NOTIFIED);
        Taken::Done(())
    }

    /// A wake-up is not a resource: `set()` woke everyone, nothing to pass.
    fn pass_on(&self, _: &(), _: u32) {}

    fn withdrawn(&self, q: &mut QueueGuard<'_, ()>, _: &(), _: &mut WakeList) {
        if q.is_empty() {
            self.state.fetch_and(!WAITERS, Ordering::Relaxed);
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.statistics();
        f.debug_struct("Event")
            .field("set", &st.set)
            .field("waiters", &st.waiting)
            .finish()
    }
}

/// A snapshot returned by [`Event::statistics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventStatistics {
    /// The flag was up.
    pub set: bool,
    /// Threads and tasks waiting for it.
    pub waiting: usize,
}

/// The operation returned by [`Event::wait`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the wait.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct EventWait<'a> {
    event: &'a Event,
    waiter: Waiter<()>,
}

impl Waitable for EventWait<'_> {
    type Output = ();

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        let this = self.into_ref().get_ref();
        this.waiter.poll(this.event, cx)
    }

    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<()> {
        self.waiter.try_unpinned(self.event)
    }

    crate::engine::driver::waiter_methods!();
}

impl Drop for EventWait<'_> {
    #[inline]
    fn drop(&mut self) {
        self.waiter.cancel(self.event);
    }
}

impl_operation!(impl['a] EventWait<'a> => ());

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("state", &self.waiter.state())
            .finish()
    }
}

#[cfg(test)]
mod tests;
