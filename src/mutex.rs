//! `Mutex<T>`: asyncio's `Lock` / anyio's `Lock`, shared by threads and tasks.
//!
//! A typed layer over [`RawMutex`](raw::RawMutex), which holds the state
//! word, the waiter queue and the fairness policy (see `mutex/raw.rs` for the
//! state-word layout, its legal states and invariants). This file adds the
//! data, the guards and the public operations.
//!
//! # Invariants
//!
//! 1. A `MutexGuard` / `OwnedMutexGuard` exists only while the raw lock is
//!    held, and at most one exists per lock: every way to build one
//!    (`lock`, `try_lock`, a finished `Lock`, `Condition`'s re-lock) has just
//!    acquired the raw lock, and its `Drop` releases it.
//! 2. `data` is only reached through a guard (or `&mut self`).

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::Poll;
use std::sync::Arc;

use crate::engine::driver::{Waitable, impl_operation};
use crate::engine::fair::Fairness;
use crate::engine::loom_const_fn;
use crate::engine::node::WaitCx;
use crate::engine::waiter::{Waiter, polled_after_completion};

pub(crate) mod raw;
#[cfg(all(test, loom))]
mod tests;

pub use crate::engine::fair::FAIRNESS_BOUND;
use raw::RawMutex;

/// A mutual-exclusion lock that threads and async tasks share (asyncio's
/// `Lock`, anyio's `Lock`).
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
/// had already been handed to it, it is passed to the next waiter. The
/// caller loses nothing but its place in the queue.
///
/// **Order** (the fairness policy every granting primitive shares):
/// waiters are served in arrival order, arrival being the moment a `lock()`
/// first had to wait. [`Mutex::new`] allows *bounded barging*: a release
/// frees the lock and wakes the head waiter, and a caller that comes before
/// the head runs may take it (this avoids lock convoys), but only while the
/// head has waited less than [`FAIRNESS_BOUND`] (500 µs); after that the
/// release hands the lock to the head directly, so nobody is overtaken for
/// longer than the bound (plus one hold; a release beside a head that was
/// woken and has not run yet reads the clock only every few releases, at
/// a rate set by their pace, so holds that suddenly grow longer can add up
/// to 7 more). [`Mutex::new_fair`] hands off on every release
/// with waiters: strict FIFO, nobody barges, slower under contention.
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
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one owner at a time, from any
// thread: that needs `T: Send`, like `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// As std's `Mutex`, usable across `catch_unwind` without
/// `AssertUnwindSafe`. There is no poisoning: a panic while a guard is held
/// unlocks the mutex, and the data may be seen as the panic left it.
impl<T: ?Sized> core::panic::UnwindSafe for Mutex<T> {}
impl<T: ?Sized> core::panic::RefUnwindSafe for Mutex<T> {}

impl<T> Mutex<T> {
    loom_const_fn! {
        /// A new unlocked mutex with bounded barging (see [`FAIRNESS_BOUND`]).
        ///
        /// ```
        /// static COUNT: dualsync::Mutex<u32> = dualsync::Mutex::new(0);
        /// *COUNT.lock().block() += 1;
        /// assert_eq!(*COUNT.try_lock().unwrap(), 1);
        /// ```
        pub fn new(value: T) -> Mutex<T> {
            Mutex {
                raw: RawMutex::new(Fairness::Barging),
                data: UnsafeCell::new(value),
            }
        }
    }

    loom_const_fn! {
        /// A new unlocked mutex in strict hand-off mode: every release with
        /// waiters gives the lock to the longest waiter; nobody barges.
        ///
        /// ```
        /// let m = dualsync::Mutex::new_fair(());
        /// assert!(m.is_fair());
        /// ```
        pub fn new_fair(value: T) -> Mutex<T> {
            Mutex {
                raw: RawMutex::new(Fairness::Strict),
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
    /// `.block_until(t)` on a thread. Cancel-safe; served in arrival order
    /// within the fairness bound (see [`Mutex`]).
    ///
    /// ```
    /// use dualsync::Mutex;
    /// use std::time::Duration;
    ///
    /// let m = Mutex::new(1);
    /// let g = m.lock().block();                                  // a thread
    /// assert!(m.lock().block_for(Duration::from_millis(1)).is_err()); // held: times out
    /// drop(g);
    /// futures::executor::block_on(async { *m.lock().await += 1 });  // a task
    /// assert_eq!(*m.lock().block(), 2);
    /// ```
    #[inline]
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            waiter: Waiter::new(()),
        }
    }

    /// Locks the mutex through an `Arc`, for an owned `'static` guard.
    /// Cancel-safe; same order as [`lock`](Self::lock).
    ///
    /// ```
    /// use dualsync::Mutex;
    /// use std::sync::Arc;
    ///
    /// let m = Arc::new(Mutex::new(0));
    /// let mut g = m.lock_arc().block();
    /// // The guard is 'static: released by whoever ends up holding it.
    /// std::thread::spawn(move || *g += 1).join().unwrap();
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    #[inline]
    pub fn lock_arc(self: &Arc<Self>) -> LockArc<T> {
        LockArc {
            mutex: Some(self.clone()),
            waiter: Waiter::new(()),
        }
    }

    /// Takes the lock if it is free right now; never waits.
    ///
    /// In the default (barging) mode this may take a free lock ahead of a
    /// woken waiter, within the fairness bound; in strict mode a free lock
    /// never has waiters.
    ///
    /// ```
    /// let m = dualsync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            Some(MutexGuard { mutex: self })
        } else {
            None
        }
    }

    /// [`try_lock`](Self::try_lock) for an owned guard.
    #[inline]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<OwnedMutexGuard<T>> {
        if self.raw.try_lock() {
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
        self.raw.is_locked()
    }

    /// Whether this mutex is in strict hand-off mode ([`Mutex::new_fair`]).
    pub fn is_fair(&self) -> bool {
        self.raw.fairness().is_strict()
    }

    /// Mutable access without locking: `&mut self` proves nobody else can.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// A snapshot of the mutex's state (anyio's `statistics()`).
    ///
    /// ```
    /// let m = dualsync::Mutex::new(());
    /// let _g = m.lock().block();
    /// let st = m.statistics();
    /// assert!(st.locked);
    /// assert_eq!(st.waiting, 0);
    /// ```
    pub fn statistics(&self) -> MutexStatistics {
        MutexStatistics {
            locked: self.is_locked(),
            waiting: self.raw.n_waiting(),
            fair: self.is_fair(),
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
        self.raw.unlock();
    }

    /// The raw lock (for `Condition` and the C ABI).
    #[inline]
    pub(crate) fn raw(&self) -> &RawMutex {
        &self.raw
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
        d.field("locked", &st.locked).field("waiters", &st.waiting);
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
    pub waiting: usize,
    /// Strict hand-off mode.
    pub fair: bool,
}

/// The operation returned by [`Mutex::lock`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`.
///
/// Dropping it cancels the wait: the mutex is left as if `lock()` had never
/// been called (a lock already handed to it passes to the next waiter), and
/// the caller loses only its place in the queue. Polling it again after it
/// returned its guard panics; it is a `FusedFuture`.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct Lock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    waiter: Waiter<()>,
}

impl<'a, T: ?Sized> Waitable for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.into_ref().get_ref();
        let mutex = this.mutex;
        this.waiter
            .poll(&mutex.raw, cx)
            .map(|()| MutexGuard { mutex })
    }

    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<MutexGuard<'a, T>> {
        let mutex = self.mutex;
        self.waiter
            .try_unpinned(&mutex.raw)
            .map(|()| MutexGuard { mutex })
    }

    crate::engine::driver::waiter_methods!();
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.waiter.cancel(&self.mutex.raw);
    }
}

impl_operation!(impl['a, T: ?Sized] Lock<'a, T> => MutexGuard<'a, T>);

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("state", &self.waiter.state())
            .finish()
    }
}

/// The operation returned by [`Mutex::lock_arc`]; gives an
/// [`OwnedMutexGuard`]. Same rules as [`Lock`].
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct LockArc<T: ?Sized> {
    /// Taken out (into the guard) when the operation finishes.
    mutex: Option<Arc<Mutex<T>>>,
    waiter: Waiter<()>,
}

impl<T: ?Sized> Waitable for LockArc<T> {
    type Output = OwnedMutexGuard<T>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<OwnedMutexGuard<T>> {
        // SAFETY: we never move `waiter` out of the pinned operation; taking
        // the `Arc` out of its `Option` does not move it.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(mutex) = this.mutex.as_ref() else {
            polled_after_completion()
        };
        match this.waiter.poll(&mutex.raw, cx) {
            Poll::Ready(()) => Poll::Ready(OwnedMutexGuard {
                mutex: this.mutex.take().expect("checked above"),
            }),
            Poll::Pending => Poll::Pending,
        }
    }

    crate::engine::driver::waiter_methods!();
}

impl<T: ?Sized> Drop for LockArc<T> {
    fn drop(&mut self) {
        if let Some(m) = &self.mutex {
            self.waiter.cancel(&m.raw);
        }
    }
}

impl_operation!(impl[T: ?Sized] LockArc<T> => OwnedMutexGuard<T>);

impl<T: ?Sized> fmt::Debug for LockArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockArc")
            .field("state", &self.waiter.state())
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
        self.mutex.raw.unlock();
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
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// ---- crate-private guard plumbing for `Condition` ----

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Takes the guard apart without unlocking: the caller now owns the raw
    /// lock (and must unlock it, or rebuild a guard with [`adopt`](Self::adopt)).
    pub(crate) fn into_locked(guard: Self) -> &'a Mutex<T> {
        let guard = core::mem::ManuallyDrop::new(guard);
        guard.mutex
    }

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
