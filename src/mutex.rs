//! `Mutex<T>`: asyncio's `Lock` / anyio's `Lock`, shared by threads and tasks.
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
//!   path. Set (under the queue lock) by a waiter about to enqueue, and only
//!   while `LOCKED` is set; cleared (under the queue lock) when the queue
//!   empties.
//!
//! Uncontended, `lock` is one CAS `0 -> LOCKED` and `unlock` one CAS
//! `LOCKED -> 0`; neither touches the queue.
//!
//! # Invariants
//!
//! 1. `WAITERS` is set iff the queue is non-empty, whenever the queue lock is
//!    not held.
//! 2. `LOCKED` goes 1 -> 0 while `WAITERS` is set only under the queue lock,
//!    by an unlock that, in the same critical section, wakes the head waiter
//!    (`NOTIFIED`) — or it does not go to 0 at all and the lock is handed to
//!    the head (`GRANTED`). So a queued waiter is never stranded.
//! 3. A waiter's node payload holds the time (µs, `core::now_micros`) it
//!    first queued. A `NOTIFIED` waiter that loses the race to a barging
//!    newcomer re-queues at the *front* with its original time.
//!
//! # Fairness
//!
//! Waiters are served in arrival order. On release, if the head waiter has
//! waited less than [`FAIRNESS_BOUND`] the lock is released and the head
//! woken; a thread that arrives before the head runs may take the lock
//! ("barging", which avoids lock convoys). Once the head has waited
//! `FAIRNESS_BOUND` or more, the lock is handed to it directly: no waiter is
//! overtaken for longer than that bound. [`Mutex::new_fair`] makes every
//! release a direct hand-off (strict FIFO, slower under contention).

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::Poll;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_utils::Backoff;

use crate::core::driver::{WaitCx, Waitable, impl_operation};
use crate::core::queue::{IDLE, NOTIFIED, Node, QUEUED, WaitQueue, WakeList};
use crate::core::sync::{AtomicU8, AtomicU32, Ordering, spin_step};
use crate::core::{loom_const_fn, now_micros};

const LOCKED: u8 = 1;
const WAITERS: u8 = 2;

/// Node outcome: the lock was handed over; the waiter owns it.
const GRANTED: u32 = 3;

/// How long the head waiter may be overtaken by barging newcomers before a
/// release hands the lock to it directly.
pub const FAIRNESS_BOUND: Duration = Duration::from_micros(FAIRNESS_BOUND_US as u64);
const FAIRNESS_BOUND_US: u32 = 500;

/// A mutual-exclusion lock that threads and async tasks share.
///
/// * [`lock()`](Self::lock) returns an operation: `.await` it in a task,
///   or finish it on a thread with [`.block()`](Lock::block),
///   [`.block_for(d)`](Lock::block_for) or
///   [`.block_until(t)`](Lock::block_until). Threads and tasks wait in one
///   FIFO queue.
/// * [`lock_arc()`](Self::lock_arc) gives an owned `'static` guard that can be
///   moved into a callback, another thread or a task, and released there (the
///   asyncio pattern of a callback releasing a lock).
/// * No poisoning: a panic while holding the guard unlocks the mutex.
///
/// **Cancel-safety**: dropping a `Lock` operation (or a `block_for` timing
/// out) leaves the mutex as if `lock()` had never been called; if the lock
/// had already been handed to it, it is passed to the next waiter.
///
/// **Order**: waiters are served in arrival order; see the module docs for
/// the barging bound ([`FAIRNESS_BOUND`]) and [`Mutex::new_fair`].
///
/// ```
/// use dualsync::Mutex;
/// use std::sync::Arc;
///
/// let m = Arc::new(Mutex::new(0));
/// let t = {
///     let m = m.clone();
///     std::thread::spawn(move || *m.lock().block() += 1) // a thread
/// };
/// futures::executor::block_on(async { *m.lock().await += 1 }); // a task
/// t.join().unwrap();
/// assert_eq!(*m.try_lock().unwrap(), 2);
/// ```
pub struct Mutex<T: ?Sized> {
    state: AtomicU8,
    fair: bool,
    queue: WaitQueue<AtomicU32>,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one owner at a time, from any
// thread: that needs `T: Send`, like `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    loom_const_fn! {
        /// A new unlocked mutex with bounded barging (see [`FAIRNESS_BOUND`]).
        pub fn new(value: T) -> Mutex<T> {
            Mutex {
                state: AtomicU8::new(0),
                fair: false,
                queue: WaitQueue::new(),
                data: UnsafeCell::new(value),
            }
        }
    }

    loom_const_fn! {
        /// A new unlocked mutex in strict hand-off mode: every release with
        /// waiters gives the lock to the longest waiter; nobody barges.
        pub fn new_fair(value: T) -> Mutex<T> {
            Mutex {
                state: AtomicU8::new(0),
                fair: true,
                queue: WaitQueue::new(),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the mutex, returning the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex: `.await` it, or `.block()`, `.block_for(d)`,
    /// `.block_until(t)` on a thread. Cancel-safe; FIFO.
    #[inline]
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            node: Node::new(AtomicU32::new(0)),
        }
    }

    /// Locks the mutex through an `Arc`, for an owned `'static` guard.
    /// Cancel-safe; FIFO.
    #[inline]
    pub fn lock_arc(self: &Arc<Self>) -> LockArc<T> {
        LockArc {
            mutex: Some(self.clone()),
            node: Node::new(AtomicU32::new(0)),
        }
    }

    /// Takes the lock if it is free right now; never waits.
    ///
    /// In the default (barging) mode this may take a free lock ahead of a
    /// woken waiter, within the fairness bound; in strict mode a free lock
    /// never has waiters.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.try_acquire() {
            Some(MutexGuard { mutex: self })
        } else {
            None
        }
    }

    /// [`try_lock`](Self::try_lock) for an owned guard.
    #[inline]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<OwnedMutexGuard<T>> {
        if self.try_acquire() {
            Some(OwnedMutexGuard {
                mutex: self.clone(),
            })
        } else {
            None
        }
    }

    /// Whether the mutex is locked now (a snapshot).
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Whether this mutex is in strict hand-off mode ([`Mutex::new_fair`]).
    pub fn is_fair(&self) -> bool {
        self.fair
    }

    /// Mutable access without locking: `&mut self` proves nobody else can.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// A snapshot of the mutex's state (anyio's `statistics()`).
    pub fn statistics(&self) -> MutexStatistics {
        let waiting = self.queue.lock().len();
        MutexStatistics {
            locked: self.is_locked(),
            tasks_waiting: waiting,
            fair: self.fair,
        }
    }

    /// Releases the lock without a guard.
    ///
    /// # Safety
    ///
    /// The mutex must be locked, and the guard that owns that lock must have
    /// been forgotten (`mem::forget`): otherwise the guard would unlock it a
    /// second time.
    pub unsafe fn force_unlock(&self) {
        self.unlock();
    }

    // ---- the engine side, shared with `Condition` and the C ABI ----

    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
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

    /// Drives an acquisition whose waiter node is `node`.
    #[inline]
    pub(crate) fn poll_acquire(&self, node: &Node<AtomicU32>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        match node.state() {
            IDLE => {
                if self
                    .state
                    .compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Poll::Ready(());
                }
                self.acquire_slow(node, cx, false)
            }
            QUEUED => self.poll_queued(node, cx),
            GRANTED => {
                node.set_unlinked_state(IDLE);
                Poll::Ready(())
            }
            _ => {
                debug_assert_eq!(node.state(), NOTIFIED);
                node.set_unlinked_state(IDLE);
                self.acquire_slow(node, cx, true)
            }
        }
    }

    #[cold]
    fn acquire_slow(
        &self,
        node: &Node<AtomicU32>,
        cx: &mut WaitCx<'_, '_>,
        front: bool,
    ) -> Poll<()> {
        let backoff = Backoff::new();
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & LOCKED == 0 {
                if self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Poll::Ready(());
                }
                continue;
            }
            // A thread spins a little while nobody is queued: the holder is
            // probably about to release. Tasks never spin.
            if cx.is_thread() && s & WAITERS == 0 && !backoff.is_completed() {
                spin_step(&backoff);
                continue;
            }
            let notifier = cx.notifier(); // cloned before the queue lock
            let stamp = if front || self.fair {
                node.data.load(Ordering::Relaxed)
            } else {
                now_micros()
            };
            let mut q = self.queue.lock();
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
                drop(q);
                drop(notifier);
                continue;
            }
            node.data.store(stamp, Ordering::Relaxed);
            if front {
                q.push_front(node, notifier);
            } else {
                q.push_back(node, notifier);
            }
            return Poll::Pending;
        }
    }

    /// A queued waiter polled again: refresh its waker if the task's changed.
    #[cold]
    fn poll_queued(&self, node: &Node<AtomicU32>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        // Completed meanwhile: take the outcome now (the completion woke
        // the waker stored before, maybe not this task's).
        if self.queue.refresh_waiter(node, cx) {
            Poll::Pending
        } else {
            self.poll_acquire(node, cx)
        }
    }

    /// Cancels an acquisition (its operation is dropped): unlinks the node,
    /// or gives away whatever it was handed.
    #[inline]
    pub(crate) fn cancel_acquire(&self, node: &Node<AtomicU32>) {
        if node.state() != IDLE {
            self.cancel_slow(node);
        }
    }

    #[cold]
    fn cancel_slow(&self, node: &Node<AtomicU32>) {
        let mut outcome = node.state();
        if outcome == QUEUED {
            let mut wakes = WakeList::new();
            let mut q = self.queue.lock();
            outcome = node.state();
            if outcome == QUEUED {
                q.remove(node);
                q.set_idle(node, &mut wakes);
                if q.is_empty() {
                    self.state.fetch_and(!WAITERS, Ordering::Relaxed);
                }
                return;
            }
        }
        node.set_unlinked_state(IDLE);
        match outcome {
            GRANTED => self.unlock(),
            NOTIFIED => self.pass_notification(),
            _ => {}
        }
    }

    /// A woken (`NOTIFIED`) waiter went away: if the lock is still free, give
    /// it to the next waiter so the wake-up is not lost.
    #[cold]
    fn pass_notification(&self) {
        let mut wakes = WakeList::new();
        let mut q = self.queue.lock();
        if q.is_empty() {
            return;
        }
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED != 0 {
                // The holder's release will see WAITERS and wake someone.
                return;
            }
            match self.state.compare_exchange_weak(
                s,
                s | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(x) => s = x,
            }
        }
        self.hand_off_front(&mut q, &mut wakes);
    }

    /// With the lock held by us and the queue locked and non-empty: give the
    /// lock to the head waiter.
    fn hand_off_front(
        &self,
        q: &mut crate::core::queue::QueueGuard<'_, AtomicU32>,
        wakes: &mut WakeList,
    ) {
        let head: *const Node<AtomicU32> = q.front().expect("hand-off with an empty queue");
        // SAFETY: `head` is linked and stays valid under the queue lock.
        let head = unsafe { &*head };
        q.remove(head);
        let w = if q.is_empty() { 0 } else { WAITERS };
        self.state.store(LOCKED | w, Ordering::Relaxed);
        q.complete(head, GRANTED, wakes);
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
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                return false;
            }
            if s & WAITERS != 0 {
                return self.unlock_slow();
            }
            match self.state.compare_exchange_weak(
                s,
                s & !LOCKED,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(x) => s = x,
            }
        }
    }

    #[cold]
    fn unlock_slow(&self) -> bool {
        let now = if self.fair { 0 } else { now_micros() };
        let mut wakes = WakeList::new();
        let mut q = self.queue.lock();
        let s = self.state.load(Ordering::Relaxed);
        if s & LOCKED == 0 {
            return false;
        }
        let Some(head) = q.front() else {
            // Nobody queued (WAITERS cannot be set): plain release. With
            // LOCKED set, nobody else changes the word without the queue lock.
            self.state.store(0, Ordering::Release);
            return true;
        };
        let waited = now.wrapping_sub(head.data.load(Ordering::Relaxed));
        if self.fair || waited >= FAIRNESS_BOUND_US {
            self.hand_off_front(&mut q, &mut wakes);
        } else {
            let head: *const Node<AtomicU32> = head;
            // SAFETY: linked, valid under the queue lock.
            let head = unsafe { &*head };
            q.remove(head);
            let w = if q.is_empty() { 0 } else { WAITERS };
            self.state.store(w, Ordering::Release);
            q.complete(head, NOTIFIED, &mut wakes);
        }
        drop(q);
        wakes.wake_all();
        true
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.statistics();
        let mut d = f.debug_struct("Mutex");
        d.field("locked", &st.locked)
            .field("waiters", &st.tasks_waiting);
        if st.fair {
            d.field("fair", &true);
        }
        d.finish_non_exhaustive()
    }
}

/// A snapshot returned by [`Mutex::statistics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MutexStatistics {
    /// The mutex was locked.
    pub locked: bool,
    /// Threads and tasks queued for it.
    pub tasks_waiting: usize,
    /// Strict hand-off mode.
    pub fair: bool,
}

/// The operation returned by [`Mutex::lock`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the wait.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct Lock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    node: Node<AtomicU32>,
}

impl<'a, T: ?Sized> Waitable for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.into_ref().get_ref();
        match this.mutex.poll_acquire(&this.node, cx) {
            Poll::Ready(()) => Poll::Ready(MutexGuard { mutex: this.mutex }),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.cancel_acquire(&self.node);
    }
}

impl_operation!(impl['a, T: ?Sized] Lock<'a, T> => MutexGuard<'a, T>);

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("state", &self.node.state())
            .finish()
    }
}

/// The operation returned by [`Mutex::lock_arc`]; gives an
/// [`OwnedMutexGuard`]. Same rules as [`Lock`].
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct LockArc<T: ?Sized> {
    mutex: Option<Arc<Mutex<T>>>,
    node: Node<AtomicU32>,
}

impl<T: ?Sized> Waitable for LockArc<T> {
    type Output = OwnedMutexGuard<T>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<OwnedMutexGuard<T>> {
        // SAFETY: we never move `node` out of the pinned operation; taking the
        // `Arc` out of its `Option` does not move the node.
        let this = unsafe { self.get_unchecked_mut() };
        let mutex = this
            .mutex
            .as_ref()
            .expect("LockArc polled after completion");
        match mutex.poll_acquire(&this.node, cx) {
            Poll::Ready(()) => Poll::Ready(OwnedMutexGuard {
                mutex: this.mutex.take().expect("checked above"),
            }),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().node.state_word()
    }
}

impl<T: ?Sized> Drop for LockArc<T> {
    fn drop(&mut self) {
        if let Some(m) = &self.mutex {
            m.cancel_acquire(&self.node);
        }
    }
}

impl_operation!(impl[T: ?Sized] LockArc<T> => OwnedMutexGuard<T>);

impl<T: ?Sized> fmt::Debug for LockArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockArc")
            .field("state", &self.node.state())
            .finish()
    }
}

/// Proof of holding a [`Mutex`]; unlocks on drop. `Send` when `T: Send`, so
/// it may move between threads and tasks.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: the guard gives `&T` through `&MutexGuard`: sharing it across
// threads needs `T: Sync` (and `Send`, for the mutex itself).
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard holds.
    pub fn mutex(guard: &Self) -> &'a Mutex<T> {
        guard.mutex
    }

    /// Releases the lock now (same as dropping the guard).
    pub fn unlock(guard: Self) {
        drop(guard);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock: no other reference to
        // the data exists.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this access unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owned guard from [`Mutex::lock_arc`]: `'static`, movable into a
/// callback, thread or task, and released wherever it is dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    pub fn mutex(guard: &Self) -> &Arc<Mutex<T>> {
        &guard.mutex
    }

    /// Releases the lock now (same as dropping the guard).
    pub fn unlock(guard: Self) {
        drop(guard);
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves we hold the lock; `&mut self` is unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// ---- crate-private guard plumbing for `Condition` and the C ABI ----

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Builds a guard for a lock the caller already holds without one.
    ///
    /// # Safety
    ///
    /// `mutex` is locked and no other guard owns that lock.
    pub(crate) unsafe fn adopt(mutex: &'a Mutex<T>) -> Self {
        MutexGuard { mutex }
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Builds an owned guard for a lock the caller already holds.
    ///
    /// # Safety
    ///
    /// `mutex` is locked and no other guard owns that lock.
    pub(crate) unsafe fn adopt(mutex: Arc<Mutex<T>>) -> Self {
        OwnedMutexGuard { mutex }
    }

    /// Takes the `Arc` out of the guard without unlocking: the caller now
    /// owns the lock (and must unlock it or adopt it again).
    pub(crate) fn into_locked_arc(guard: Self) -> Arc<Mutex<T>> {
        let guard = core::mem::ManuallyDrop::new(guard);
        // SAFETY: `guard` is never dropped (ManuallyDrop), so the `Arc` is
        // read out exactly once and its count stays balanced.
        unsafe { core::ptr::read(&guard.mutex) }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models of the mutex: a thread waiter and a task waiter on one
    //! mutex, cancelled waiters, a timed-out `block_for` (one look under
    //! loom) and a release racing them. A lost wake-up is a loom deadlock;
    //! mutual exclusion is checked by loom's `UnsafeCell` tracking.

    use core::task::{Context, Waker};
    use std::sync::Arc;
    use std::time::Duration;

    use loom::cell::UnsafeCell;

    use super::Mutex;

    type Counter = Mutex<UnsafeCell<usize>>;

    /// A shared counter behind a fair or a barging mutex.
    fn counter(fair: bool) -> Arc<Counter> {
        Arc::new(if fair {
            Mutex::new_fair(UnsafeCell::new(0))
        } else {
            Mutex::new(UnsafeCell::new(0))
        })
    }

    fn bump(m: &Counter) {
        let g = m.lock().block();
        // SAFETY: the guard gives exclusive access; loom checks it.
        g.with_mut(|p| unsafe { *p += 1 });
    }

    fn total(m: &Counter) -> usize {
        let g = m
            .try_lock()
            .expect("every waiter is gone: the lock is free");
        // SAFETY: as above.
        g.with(|p| unsafe { *p })
    }

    fn thread_and_task(fair: bool) {
        loom::model(move || {
            let m = counter(fair);
            let m1 = m.clone();
            let thread = loom::thread::spawn(move || bump(&m1));
            let m2 = m.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    let g = m2.lock().await;
                    // SAFETY: as above.
                    g.with_mut(|p| unsafe { *p += 1 });
                })
            });
            bump(&m);
            thread.join().unwrap();
            task.join().unwrap();
            assert_eq!(total(&m), 3);
            assert_eq!(m.statistics().tasks_waiting, 0);
        });
    }

    #[test]
    fn loom_mutex_thread_and_task() {
        thread_and_task(false);
    }

    #[test]
    fn loom_mutex_thread_and_task_fair() {
        thread_and_task(true);
    }

    /// The holder releases while a task's lock future (polled once, so
    /// queued, maybe already handed the lock) is dropped and a thread waits:
    /// the thread must get the lock whatever the interleaving.
    fn cancelled_future_passes_on(fair: bool) {
        loom::model(move || {
            let m = counter(fair);
            let held = m.lock().block();
            let m1 = m.clone();
            let dropper = loom::thread::spawn(move || {
                let mut f = Box::pin(m1.lock());
                let mut cx = Context::from_waker(Waker::noop());
                let got = f.as_mut().poll(&mut cx).is_ready();
                loom::thread::yield_now();
                drop(f); // cancel: queued, GRANTED or NOTIFIED
                got
            });
            let m2 = m.clone();
            let waiter = loom::thread::spawn(move || bump(&m2));
            drop(held);
            let _ = dropper.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(total(&m), 1);
            assert_eq!(m.statistics().tasks_waiting, 0);
        });
    }

    #[test]
    fn loom_mutex_cancelled_future() {
        cancelled_future_passes_on(false);
    }

    #[test]
    fn loom_mutex_cancelled_future_fair() {
        cancelled_future_passes_on(true);
    }

    /// A `block_for` that times out (one look under loom) while the release
    /// races it, and a task waiter behind it: nothing is lost.
    fn timeout_races_release(fair: bool) {
        loom::model(move || {
            let m = counter(fair);
            let held = m.lock().block();
            let m1 = m.clone();
            let timed =
                loom::thread::spawn(move || match m1.lock().block_for(Duration::from_secs(5)) {
                    Ok(g) => {
                        // SAFETY: as above.
                        g.with_mut(|p| unsafe { *p += 1 });
                        true
                    }
                    Err(_) => false,
                });
            let m2 = m.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    let g = m2.lock().await;
                    // SAFETY: as above.
                    g.with_mut(|p| unsafe { *p += 1 });
                })
            });
            drop(held);
            let got = timed.join().unwrap();
            task.join().unwrap();
            assert_eq!(total(&m), 1 + usize::from(got));
            assert_eq!(m.statistics().tasks_waiting, 0);
        });
    }

    #[test]
    fn loom_mutex_timeout_races_release() {
        timeout_races_release(false);
    }

    #[test]
    fn loom_mutex_timeout_races_release_fair() {
        timeout_races_release(true);
    }
}
