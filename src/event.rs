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

use crate::core::driver::{WaitCx, Waitable, impl_operation};
use crate::core::loom_const_fn;
use crate::core::queue::{IDLE, NOTIFIED, Node, QUEUED, WaitQueue, WakeList};
use crate::core::sync::{AtomicU32, Ordering};

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
/// **Size**: 8 bytes (a state word and the one-word waiter queue).
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
    #[inline]
    pub fn set(&self) {
        let old = self.state.fetch_or(SET, Ordering::AcqRel);
        if old & WAITERS != 0 {
            self.wake_everyone();
        }
    }

    #[cold]
    fn wake_everyone(&self) {
        let mut wakes = WakeList::new();
        let mut q = self.queue.lock();
        while q.complete_front(NOTIFIED, &mut wakes) {}
        self.state.fetch_and(!WAITERS, Ordering::Relaxed);
        drop(q);
        wakes.wake_all();
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
    #[inline]
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            node: Node::new(()),
        }
    }

    /// A snapshot of the event's state (anyio's `statistics()`).
    pub fn statistics(&self) -> EventStatistics {
        let tasks_waiting = self.queue.lock().len();
        EventStatistics {
            set: self.is_set(),
            tasks_waiting,
        }
    }

    fn poll_node(&self, node: &Node<()>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        match node.state() {
            IDLE => {
                if self.is_set() {
                    return Poll::Ready(());
                }
                self.enqueue(node, cx)
            }
            QUEUED => self.poll_queued(node, cx),
            _ => {
                debug_assert_eq!(node.state(), NOTIFIED);
                node.set_unlinked_state(IDLE);
                Poll::Ready(())
            }
        }
    }

    #[cold]
    fn enqueue(&self, node: &Node<()>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        let notifier = cx.notifier(); // cloned before the queue lock
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & SET != 0 {
                drop(q);
                drop(notifier);
                return Poll::Ready(());
            }
            match self.state.compare_exchange_weak(
                s,
                s | WAITERS,
                Ordering::AcqRel,
                Ordering::Acquire,
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
    fn poll_queued(&self, node: &Node<()>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        // Completed meanwhile: take the outcome now (the completion woke
        // the waker stored before, maybe not this task's).
        if self.queue.refresh_waiter(node, cx) {
            Poll::Pending
        } else {
            self.poll_node(node, cx)
        }
    }

    #[cold]
    fn cancel(&self, node: &Node<()>) {
        let mut wakes = WakeList::new();
        let mut q = self.queue.lock();
        if node.state() == QUEUED {
            q.remove(node);
            q.set_idle(node, &mut wakes);
            if q.is_empty() {
                self.state.fetch_and(!WAITERS, Ordering::Relaxed);
            }
        } else {
            // Woken by `set()`: a wake-up is not a resource, nothing to pass on.
            node.set_unlinked_state(IDLE);
        }
        drop(q);
        wakes.wake_all();
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
            .field("waiters", &st.tasks_waiting)
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
    pub tasks_waiting: usize,
}

/// The operation returned by [`Event::wait`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the wait.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct EventWait<'a> {
    event: &'a Event,
    node: Node<()>,
}

impl Waitable for EventWait<'_> {
    type Output = ();

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        let this = self.into_ref().get_ref();
        this.event.poll_node(&this.node, cx)
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl Drop for EventWait<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.node.state() != IDLE {
            self.event.cancel(&self.node);
        }
    }
}

impl_operation!(impl['a] EventWait<'a> => ());

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("state", &self.node.state())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_event_tests {
    use super::*;
    use core::future::Future;
    use loom::sync::Arc;

    /// A thread waits while a task that is already queued sees `set()` then
    /// `clear()`: the task was waiting when `set()` ran, so it completes
    /// although the flag is down; the thread either saw the flag, was woken
    /// with the task, or waits for the final `set()`.
    #[test]
    fn loom_event_thread_and_task_set_clear() {
        loom::model(|| {
            let ev = Arc::new(Event::new());
            let e1 = ev.clone();
            let t = loom::thread::spawn(move || e1.wait().block());
            loom::future::block_on(async {
                let mut w = core::pin::pin!(ev.wait());
                let first = core::future::poll_fn(|cx| Poll::Ready(w.as_mut().poll(cx))).await;
                assert!(first.is_pending());
                ev.set();
                ev.clear();
                w.await;
            });
            ev.set();
            t.join().unwrap();
            assert_eq!(ev.statistics().tasks_waiting, 0);
            assert_eq!(ev.state.load(Ordering::Relaxed) & WAITERS, 0);
        });
    }

    /// A thread's timed wait (loom: gives up after one look) races `set()`
    /// from the main thread, which then waits as a task. Nothing is left
    /// queued and the WAITERS bit ends clear.
    #[test]
    fn loom_event_timeout_races_set() {
        loom::model(|| {
            let ev = Arc::new(Event::new());
            let e1 = ev.clone();
            let t = loom::thread::spawn(move || {
                let _ = e1.wait().block_for(std::time::Duration::from_millis(1));
            });
            ev.set();
            loom::future::block_on(ev.wait());
            t.join().unwrap();
            assert_eq!(ev.statistics().tasks_waiting, 0);
            assert_eq!(ev.state.load(Ordering::Relaxed) & WAITERS, 0);
        });
    }
}
