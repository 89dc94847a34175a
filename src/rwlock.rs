//! `RwLock<T>`: a reader-writer lock shared by threads and tasks (tokio's,
//! async-lock's and parking_lot's `RwLock`, with async-lock's upgradable
//! reads).
//!
//! A typed layer over [`RawRwLock`](raw::RawRwLock), which holds the state
//! word, the waiter queue and the policy (see `rwlock/raw.rs` for the
//! state-word layout, its legal states, the serving rules and the
//! invariants). This file adds the data, the guards and the public
//! operations.
//!
//! # Invariants
//!
//! 1. A guard exists only while the raw lock of its kind is held, and owns
//!    that hold: every way to build one (a finished operation, a `try_`, an
//!    upgrade or a downgrade) has just acquired or converted it, and its
//!    `Drop` releases it. Mapped guards take over the hold of the guard they
//!    were made from (which is forgotten, not dropped).
//! 2. `data` is reached only through a guard (shared for read and
//!    upgradable guards, exclusive for write guards) or `&mut self`.

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::Poll;
use std::sync::Arc;

use crate::engine::driver::{Waitable, impl_operation};
use crate::engine::fair::Fairness;
use crate::engine::loom_const_fn;
use crate::engine::node::WaitCx;
use crate::engine::sync::AtomicU32;
use crate::engine::waiter::{Waiter, polled_after_completion};

pub(crate) mod raw;
#[cfg(test)]
mod tests;

pub use raw::MAX_READERS;
use raw::{As, Kind, RawRwLock};

/// A reader-writer lock that threads and async tasks share: any number of
/// readers, or one writer, at a time (tokio's, async-lock's and
/// parking_lot's `RwLock`).
///
/// * [`read()`](Self::read), [`write()`](Self::write) and
///   [`upgradable_read()`](Self::upgradable_read) return an operation:
///   `.await` it in a task, or finish it on a thread with `.block()`,
///   `.block_for(d)` or `.block_until(t)` (those two give `Err(Timeout)`
///   when the time runs out). Threads and tasks wait in one FIFO queue.
/// * An **upgradable read** coexists with readers (at most one at a time) and
///   can become the write lock with
///   [`RwLockUpgradableReadGuard::upgrade`], itself a waiting operation that
///   waits for the readers to leave, without letting a writer in between.
/// * A write lock can be [downgraded](RwLockWriteGuard::downgrade) to a read
///   lock, and an upgradable one to a read lock, without letting a writer in.
/// * `_arc` forms give owned `'static` guards; guards can be
///   [mapped](RwLockReadGuard::map) to a part of the data.
/// * `try_*` never waits. No poisoning: a panic while holding a guard
///   releases the lock.
///
/// **Order.** Waiters are served in arrival order (arrival is the moment an
/// operation first had to wait), and nobody starves:
///
/// * a queued writer (or pending upgrade) stops new readers and upgradable
///   readers from entering, so a stream of readers cannot starve it;
/// * readers queued behind a writer enter together after it (the run of
///   readers at the head of the queue is let in in one go, up to the next
///   writer);
/// * writers are served in arrival order.
///
/// [`RwLock::new`] allows *bounded barging* (the fairness policy every
/// granting primitive shares): when the lock comes free, the first waiter
/// (a writer, or the run of readers at the head) is woken to come in, and a
/// newcomer *writer* that arrives before they run may take the lock first
/// (so a thread that was woken but is still off its core holds nobody up),
/// but only while the first waiter has waited less than
/// [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND) (500 µs); after that the lock is
/// handed to the first waiter(s) directly. A newcomer *reader* never gets in
/// ahead of a queued writer. [`RwLock::new_fair`] hands the lock to the
/// first waiter(s) on every release, and every newcomer queues behind
/// anyone waiting: strict FIFO, slower under contention (every hand-off
/// waits for its receiver to run).
///
/// **Cancel-safety.** Dropping a pending `read`, `write` or
/// `upgradable_read` operation (or a `block_for` timing out) leaves the lock
/// as if it had never been called: if the lock had already been handed to
/// it, it is released again and passes to the next waiters; if it was a
/// queued writer holding readers back, those readers enter at once. The
/// caller loses only its place in the queue. Dropping a pending `upgrade`
/// releases the upgradable lock it consumed (see
/// [`RwLockUpgradableReadGuard::upgrade`]).
///
/// `size_of::<RwLock<()>>()` is 16 bytes: a 4-byte state word, a 4-byte word
/// with the fairness mode, the count of queued writers and the woken first
/// waiter's deadline, and the one-word waiter queue.
///
/// ```
/// use dualsync::RwLock;
/// use std::sync::Arc;
///
/// let lock = Arc::new(RwLock::new(vec![1]));
/// let writer = {
///     let lock = lock.clone();
///     std::thread::spawn(move || lock.write().block().push(2)) // a thread writes
/// };
/// futures::executor::block_on(async {
///     let v = lock.read().await; // a task reads
///     assert!(v.len() == 1 || v.len() == 2);
/// });
/// writer.join().unwrap();
/// assert_eq!(*lock.try_read().unwrap(), [1, 2]);
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one owner at a time, from any
// thread (needs `T: Send`), and `&T` to many at once (needs `T: Sync` to be
// shared), like `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// As std's `RwLock`, usable across `catch_unwind` without
/// `AssertUnwindSafe`. There is no poisoning: a panic while a guard is held
/// releases the lock, and the data may be seen as the panic left it.
impl<T: ?Sized> core::panic::UnwindSafe for RwLock<T> {}
impl<T: ?Sized> core::panic::RefUnwindSafe for RwLock<T> {}

impl<T> RwLock<T> {
    loom_const_fn! {
        /// A new unlocked lock with bounded barging (see [`RwLock`]).
        ///
        /// ```
        /// static CONFIG: dualsync::RwLock<u32> = dualsync::RwLock::new(1);
        /// *CONFIG.write().block() += 1;
        /// assert_eq!(*CONFIG.read().block(), 2);
        /// ```
        pub fn new(value: T) -> RwLock<T> {
            RwLock {
                raw: RawRwLock::new(Fairness::Barging),
                data: UnsafeCell::new(value),
            }
        }
    }

    loom_const_fn! {
        /// A new unlocked lock in strict hand-off mode: every release that
        /// lets a waiter in hands the lock to the first waiter(s); nobody
        /// barges.
        ///
        /// ```
        /// let lock = dualsync::RwLock::new_fair(());
        /// assert!(lock.is_fair());
        /// ```
        pub fn new_fair(value: T) -> RwLock<T> {
            RwLock {
                raw: RawRwLock::new(Fairness::Strict),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the lock, returning the data.
    ///
    /// ```
    /// let lock = dualsync::RwLock::new(5);
    /// assert_eq!(lock.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading: `.await` it, or `.block()`, `.block_for(d)`,
    /// `.block_until(t)` on a thread. Shares the lock with other readers
    /// and an upgradable reader.
    ///
    /// Waits while a writer holds the lock **or a writer is queued** (a
    /// queued writer stops new readers; in strict mode, while anyone is
    /// queued); readers queued behind a writer enter together after it.
    /// Cancel-safe: dropped while pending, the caller loses only its place
    /// (a read lock already handed to it is released and passed on).
    ///
    /// # Panics
    ///
    /// If [`MAX_READERS`] read locks are held already.
    ///
    /// ```
    /// use dualsync::RwLock;
    /// use std::time::Duration;
    ///
    /// let lock = RwLock::new(1);
    /// let r1 = lock.read().block();                                  // a thread
    /// let r2 = futures::executor::block_on(lock.read());             // a task
    /// assert_eq!(*r1 + *r2, 2);
    /// assert!(lock.write().block_for(Duration::from_millis(1)).is_err()); // readers inside
    /// ```
    #[inline]
    pub fn read(&self) -> RwLockRead<'_, T> {
        RwLockRead {
            lock: self,
            waiter: Waiter::new(Kind::Read),
        }
    }

    /// Locks for writing: `.await` it, or `.block()`, `.block_for(d)`,
    /// `.block_until(t)` on a thread. Exclusive.
    ///
    /// Waits until no reader, upgradable reader or writer holds the lock;
    /// while it waits, new readers queue behind it. Writers are served in
    /// arrival order (within the fairness bound in the default mode, see
    /// [`RwLock`]). Cancel-safe: dropped while pending, the caller loses only
    /// its place; the readers it was holding back enter at once, and a lock
    /// already handed to it passes on.
    ///
    /// # Panics
    ///
    /// If it has to wait while `2^20 - 1` (1,048,575) writers already wait
    /// for this lock.
    ///
    /// ```
    /// use dualsync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// *lock.write().block() += 1;                                       // a thread
    /// futures::executor::block_on(async { *lock.write().await += 1 });  // a task
    /// assert_eq!(*lock.read().block(), 3);
    /// ```
    #[inline]
    pub fn write(&self) -> RwLockWrite<'_, T> {
        RwLockWrite {
            lock: self,
            waiter: Waiter::new(Kind::Write),
        }
    }

    /// Locks for an upgradable read: shared with readers, but at most one
    /// upgradable reader at a time, and it can later
    /// [`upgrade`](RwLockUpgradableReadGuard::upgrade) to the write lock
    /// without another writer getting in first.
    ///
    /// Waits while a writer or another upgradable reader holds the lock, or
    /// a writer is queued (as [`read`](Self::read)). Cancel-safe, like
    /// `read`.
    ///
    /// ```
    /// use dualsync::{RwLock, RwLockUpgradableReadGuard};
    ///
    /// let lock = RwLock::new(0);
    /// let up = lock.upgradable_read().block();
    /// let reader = lock.try_read().unwrap(); // readers still come in
    /// assert!(lock.try_upgradable_read().is_none()); // one at a time
    /// drop(reader);
    /// if *up == 0 {
    ///     let mut w = RwLockUpgradableReadGuard::upgrade(up).block();
    ///     *w = 1;
    /// }
    /// assert_eq!(*lock.read().block(), 1);
    /// ```
    #[inline]
    pub fn upgradable_read(&self) -> RwLockUpgradableRead<'_, T> {
        RwLockUpgradableRead {
            lock: self,
            waiter: Waiter::new(Kind::Upgradable),
        }
    }

    /// [`read`](Self::read) through an `Arc`, for an owned `'static` guard.
    ///
    /// ```
    /// use dualsync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(7));
    /// let g = lock.read_arc().block();
    /// // 'static: it can move into another thread or task.
    /// assert_eq!(std::thread::spawn(move || *g).join().unwrap(), 7);
    /// ```
    #[inline]
    pub fn read_arc(self: &Arc<Self>) -> RwLockReadArc<T> {
        RwLockReadArc {
            lock: Some(self.clone()),
            waiter: Waiter::new(Kind::Read),
        }
    }

    /// [`write`](Self::write) through an `Arc`, for an owned `'static` guard.
    ///
    /// ```
    /// use dualsync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(0));
    /// let mut g = lock.write_arc().block();
    /// std::thread::spawn(move || *g += 1).join().unwrap(); // released there
    /// assert_eq!(*lock.read().block(), 1);
    /// ```
    #[inline]
    pub fn write_arc(self: &Arc<Self>) -> RwLockWriteArc<T> {
        RwLockWriteArc {
            lock: Some(self.clone()),
            waiter: Waiter::new(Kind::Write),
        }
    }

    /// [`upgradable_read`](Self::upgradable_read) through an `Arc`, for an
    /// owned `'static` guard.
    #[inline]
    pub fn upgradable_read_arc(self: &Arc<Self>) -> RwLockUpgradableReadArc<T> {
        RwLockUpgradableReadArc {
            lock: Some(self.clone()),
            waiter: Waiter::new(Kind::Upgradable),
        }
    }

    /// Takes a read lock if that needs no wait: no writer holds the lock or
    /// is queued for it (a `try_read` never overtakes a queued writer; in
    /// strict mode, any queued waiter).
    ///
    /// # Panics
    ///
    /// If [`MAX_READERS`] read locks are held already.
    ///
    /// ```
    /// let lock = dualsync::RwLock::new(());
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_read().is_some());
    /// assert!(lock.try_write().is_none());
    /// drop(r);
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw.try_read().then(|| RwLockReadGuard { lock: self })
    }

    /// Takes the write lock if nobody holds the lock. In the default mode it
    /// may take a free lock ahead of the queued waiters that were just woken
    /// for it, within the fairness bound; in strict mode it fails while
    /// anyone is queued.
    ///
    /// ```
    /// let lock = dualsync::RwLock::new(());
    /// let w = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_none());
    /// drop(w);
    /// ```
    #[inline]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw
            .try_write()
            .then(|| RwLockWriteGuard { lock: self })
    }

    /// Takes the upgradable read lock if that needs no wait (as
    /// [`try_read`](Self::try_read), and no other upgradable reader).
    #[inline]
    pub fn try_upgradable_read(&self) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        self.raw
            .try_upgradable()
            .then(|| RwLockUpgradableReadGuard { lock: self })
    }

    /// [`try_read`](Self::try_read) for an owned guard.
    #[inline]
    pub fn try_read_arc(self: &Arc<Self>) -> Option<OwnedRwLockReadGuard<T>> {
        self.raw
            .try_read()
            .then(|| OwnedRwLockReadGuard::new(self.clone()))
    }

    /// [`try_write`](Self::try_write) for an owned guard.
    #[inline]
    pub fn try_write_arc(self: &Arc<Self>) -> Option<OwnedRwLockWriteGuard<T>> {
        self.raw
            .try_write()
            .then(|| OwnedRwLockWriteGuard { lock: self.clone() })
    }

    /// [`try_upgradable_read`](Self::try_upgradable_read) for an owned guard.
    #[inline]
    pub fn try_upgradable_read_arc(self: &Arc<Self>) -> Option<OwnedRwLockUpgradableReadGuard<T>> {
        self.raw
            .try_upgradable()
            .then(|| OwnedRwLockUpgradableReadGuard { lock: self.clone() })
    }

    /// Whether anyone (reader, upgradable reader or writer) holds the lock
    /// now (a snapshot).
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Whether a writer holds the lock now (a snapshot).
    #[inline]
    pub fn is_locked_exclusive(&self) -> bool {
        self.raw.is_write_locked()
    }

    /// Whether this lock is in strict hand-off mode ([`RwLock::new_fair`]).
    pub fn is_fair(&self) -> bool {
        self.raw.fairness().is_strict()
    }

    /// Mutable access without locking: `&mut self` proves nobody else can.
    ///
    /// ```
    /// let mut lock = dualsync::RwLock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(*lock.read().block(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// A snapshot of the lock's state (anyio's `statistics()`): readers
    /// inside, whether a writer or an upgradable reader holds it, and how
    /// many threads and tasks are queued. A lock handed to a waiter that
    /// has not run yet counts as held.
    ///
    /// ```
    /// let lock = dualsync::RwLock::new(());
    /// let _r = lock.read().block();
    /// let _u = lock.upgradable_read().block();
    /// let st = lock.statistics();
    /// assert_eq!((st.readers, st.writer, st.upgradable, st.waiting), (1, false, true, 0));
    /// ```
    pub fn statistics(&self) -> RwLockStatistics {
        RwLockStatistics {
            readers: self.raw.readers(),
            writer: self.raw.is_write_locked(),
            upgradable: self.raw.is_upgradable_locked(),
            waiting: self.raw.n_waiting(),
            fair: self.is_fair(),
        }
    }

    /// The raw lock (for the C ABI).
    #[inline]
    pub(crate) fn raw(&self) -> &RawRwLock {
        &self.raw
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized> fmt::Debug for RwLock<T> {
    /// `RwLock { readers: 2, writer: false, upgradable: false, waiters: 1, .. }`
    /// (and `fair: true` in strict mode). The data is not shown: reading it
    /// would need the lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.statistics();
        let mut d = f.debug_struct("RwLock");
        d.field("readers", &st.readers)
            .field("writer", &st.writer)
            .field("upgradable", &st.upgradable)
            .field("waiters", &st.waiting);
        if st.fair {
            d.field("fair", &true);
        }
        d.finish_non_exhaustive()
    }
}

/// A snapshot returned by [`RwLock::statistics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RwLockStatistics {
    /// Read locks held (an upgradable reader is not counted here).
    pub readers: usize,
    /// A writer held the lock.
    pub writer: bool,
    /// An upgradable reader held the lock.
    pub upgradable: bool,
    /// Threads and tasks queued for it (any kind).
    pub waiting: usize,
    /// Strict hand-off mode.
    pub fair: bool,
}

// ---------------------------------------------------------------- operations

/// What a dropped operation does: leave the queue or pass on what it was
/// handed; an upgrade then also releases the upgradable lock it consumed.
#[inline]
fn cancel_operation(raw: &RawRwLock, waiter: &Waiter<Kind>) {
    if *waiter.data() == Kind::Upgrade {
        if !waiter.is_finished() {
            // A granted upgrade went back to upgradable-held in `pass_on`.
            waiter.cancel(raw);
            raw.unlock_upgradable();
        }
    } else {
        waiter.cancel(raw);
    }
}

/// Declares an operation over `&'a RwLock<T>` that finishes with `$guard`.
macro_rules! rwlock_operation {
    ($(#[$attr:meta])* $name:ident($k:path) => $guard:ident) => {
        $(#[$attr])*
        #[must_use = "an operation does nothing until awaited or blocked on"]
        pub struct $name<'a, T: ?Sized> {
            lock: &'a RwLock<T>,
            waiter: Waiter<Kind>,
        }

        impl<'a, T: ?Sized> Waitable for $name<'a, T> {
            type Output = $guard<'a, T>;

            #[inline]
            fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<$guard<'a, T>> {
                let this = self.into_ref().get_ref();
                let lock = this.lock;
                this.waiter
                    .poll(&As::<{ $k }>(&lock.raw), cx)
                    .map(|()| $guard { lock })
            }

            #[inline(always)]
            fn try_unpinned(&mut self) -> Option<$guard<'a, T>> {
                let lock = self.lock;
                self.waiter
                    .try_unpinned(&As::<{ $k }>(&lock.raw))
                    .map(|()| $guard { lock })
            }

            fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
                self.get_ref().waiter.state_word()
            }

            fn is_terminated(&self) -> bool {
                self.waiter.is_finished()
            }
        }

        impl<T: ?Sized> Drop for $name<'_, T> {
            #[inline]
            fn drop(&mut self) {
                cancel_operation(&self.lock.raw, &self.waiter);
            }
        }

        impl_operation!(impl['a, T: ?Sized] $name<'a, T> => $guard<'a, T>);

        impl<T: ?Sized> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("state", &self.waiter.state())
                    .finish()
            }
        }
    };
}

/// Declares an operation over `Arc<RwLock<T>>` that finishes with the owned
/// guard `$guard`, built by `$make(arc)`.
macro_rules! rwlock_arc_operation {
    ($(#[$attr:meta])* $name:ident($k:path) => $guard:ty, $make:expr) => {
        $(#[$attr])*
        #[must_use = "an operation does nothing until awaited or blocked on"]
        pub struct $name<T: ?Sized> {
            /// Taken out (into the guard) when the operation finishes.
            lock: Option<Arc<RwLock<T>>>,
            waiter: Waiter<Kind>,
        }

        impl<T: ?Sized> Waitable for $name<T> {
            type Output = $guard;

            #[inline]
            fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<$guard> {
                // SAFETY: `waiter` is never moved out of the pinned
                // operation; taking the `Arc` out of its `Option` does not
                // move it.
                let this = unsafe { self.get_unchecked_mut() };
                let Some(lock) = this.lock.as_ref() else {
                    polled_after_completion()
                };
                match this.waiter.poll(&As::<{ $k }>(&lock.raw), cx) {
                    Poll::Ready(()) => {
                        let lock = this.lock.take().expect("checked above");
                        Poll::Ready($make(lock))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }

            fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
                self.get_ref().waiter.state_word()
            }

            fn is_terminated(&self) -> bool {
                self.waiter.is_finished()
            }
        }

        impl<T: ?Sized> Drop for $name<T> {
            #[inline]
            fn drop(&mut self) {
                if let Some(lock) = &self.lock {
                    cancel_operation(&lock.raw, &self.waiter);
                }
            }
        }

        impl_operation!(impl[T: ?Sized] $name<T> => $guard);

        impl<T: ?Sized> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("state", &self.waiter.state())
                    .finish()
            }
        }
    };
}

rwlock_operation!(
    /// The operation returned by [`RwLock::read`]: `.await` it, or
    /// `.block()`, `.block_for(d)`, `.block_until(t)`.
    ///
    /// Dropping it cancels the wait: the lock is left as if `read()` had
    /// never been called (a read lock already handed to it is released and
    /// passes on); the caller loses only its place in the queue. Polling it
    /// again after it returned its guard panics; it is a `FusedFuture`.
    RwLockRead(raw::READ) => RwLockReadGuard
);

rwlock_operation!(
    /// The operation returned by [`RwLock::write`]: `.await` it, or
    /// `.block()`, `.block_for(d)`, `.block_until(t)`.
    ///
    /// Dropping it cancels the wait: the lock is left as if `write()` had
    /// never been called; readers it was holding back enter at once, and a
    /// write lock already handed to it passes on. The caller loses only its
    /// place in the queue. Polling it again after it returned its guard
    /// panics; it is a `FusedFuture`.
    RwLockWrite(raw::WRITE) => RwLockWriteGuard
);

rwlock_operation!(
    /// The operation returned by [`RwLock::upgradable_read`]. Same rules as
    /// [`RwLockRead`].
    RwLockUpgradableRead(raw::UPGRADABLE_READ) => RwLockUpgradableReadGuard
);

rwlock_operation!(
    /// The operation returned by [`RwLockUpgradableReadGuard::upgrade`]:
    /// waits for the readers to leave, then gives the write lock. `.await`
    /// it, or `.block()`, `.block_for(d)`, `.block_until(t)`.
    ///
    /// It holds the upgradable lock while it waits; no writer can get in
    /// first, and new readers queue behind it. **Dropping it** while pending
    /// (or a `block_for` timing out) **releases the upgradable lock**: the
    /// caller loses its read access too (use
    /// [`try_upgrade`](RwLockUpgradableReadGuard::try_upgrade) to keep it
    /// when the upgrade cannot happen at once). A write lock already handed
    /// to it is released too. Polling it again after it finished panics; it
    /// is a `FusedFuture`.
    RwLockUpgrade(raw::UPGRADE) => RwLockWriteGuard
);

rwlock_arc_operation!(
    /// The operation returned by [`RwLock::read_arc`]; gives an
    /// [`OwnedRwLockReadGuard`]. Same rules as [`RwLockRead`].
    RwLockReadArc(raw::READ) => OwnedRwLockReadGuard<T>, OwnedRwLockReadGuard::new
);

rwlock_arc_operation!(
    /// The operation returned by [`RwLock::write_arc`]; gives an
    /// [`OwnedRwLockWriteGuard`]. Same rules as [`RwLockWrite`].
    RwLockWriteArc(raw::WRITE) => OwnedRwLockWriteGuard<T>, |lock| OwnedRwLockWriteGuard { lock }
);

rwlock_arc_operation!(
    /// The operation returned by [`RwLock::upgradable_read_arc`]; gives an
    /// [`OwnedRwLockUpgradableReadGuard`]. Same rules as [`RwLockRead`].
    RwLockUpgradableReadArc(raw::UPGRADABLE_READ) => OwnedRwLockUpgradableReadGuard<T>,
    |lock| OwnedRwLockUpgradableReadGuard { lock }
);

rwlock_arc_operation!(
    /// The operation returned by [`OwnedRwLockUpgradableReadGuard::upgrade`];
    /// gives an [`OwnedRwLockWriteGuard`]. Same rules as [`RwLockUpgrade`]
    /// (dropping it while pending releases the upgradable lock).
    RwLockUpgradeArc(raw::UPGRADE) => OwnedRwLockWriteGuard<T>, |lock| OwnedRwLockWriteGuard { lock }
);

// ---------------------------------------------------------------- borrowed guards

/// Shared access to a [`RwLock`]'s data; releases its read lock when
/// dropped. `Send` when `T: Send + Sync`, so it may move between threads and
/// tasks.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// The lock this guard holds.
    pub fn rwlock(guard: &Self) -> &'a RwLock<T> {
        guard.lock
    }

    /// A guard for a part of the data, holding the same read lock (if `f`
    /// panics, the lock is released).
    ///
    /// ```
    /// use dualsync::{RwLock, RwLockReadGuard};
    ///
    /// let lock = RwLock::new((1, String::from("two")));
    /// let name = RwLockReadGuard::map(lock.read().block(), |t| t.1.as_str());
    /// assert_eq!(&*name, "two");
    /// ```
    pub fn map<U: ?Sized>(guard: Self, f: impl FnOnce(&T) -> &U) -> MappedRwLockReadGuard<'a, U> {
        let lock = guard.lock;
        // SAFETY: the guard holds a read lock: shared access for 'a.
        let data = NonNull::from(f(unsafe { &*lock.data.get() }));
        core::mem::forget(guard);
        MappedRwLockReadGuard {
            raw: &lock.raw,
            data,
            _marker: PhantomData,
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): the guard
    /// comes back unchanged.
    pub fn try_map<U: ?Sized>(
        guard: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<MappedRwLockReadGuard<'a, U>, Self> {
        let lock = guard.lock;
        // SAFETY: the guard holds a read lock: shared access for 'a.
        match f(unsafe { &*lock.data.get() }) {
            Some(u) => {
                let data = NonNull::from(u);
                core::mem::forget(guard);
                Ok(MappedRwLockReadGuard {
                    raw: &lock.raw,
                    data,
                    _marker: PhantomData,
                })
            }
            None => Err(guard),
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a read lock: no writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_read();
    }
}

/// Exclusive access to a [`RwLock`]'s data; releases the write lock when
/// dropped. `Send` when `T: Send + Sync`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// The lock this guard holds.
    pub fn rwlock(guard: &Self) -> &'a RwLock<T> {
        guard.lock
    }

    /// Turns the write lock into a read lock without releasing it (no writer
    /// can get in between); the readers queued at the head enter with it.
    ///
    /// ```
    /// use dualsync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(0);
    /// let mut w = lock.write().block();
    /// *w = 1;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 1);
    /// assert!(lock.try_read().is_some()); // other readers come in
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let lock = ManuallyDrop::new(guard).lock;
        lock.raw.downgrade_write();
        RwLockReadGuard { lock }
    }

    /// Turns the write lock into the upgradable read lock without releasing
    /// it; the readers queued at the head enter with it.
    pub fn downgrade_to_upgradable(guard: Self) -> RwLockUpgradableReadGuard<'a, T> {
        let lock = ManuallyDrop::new(guard).lock;
        lock.raw.downgrade_write_to_upgradable();
        RwLockUpgradableReadGuard { lock }
    }

    /// A guard for a part of the data, holding the same write lock (if `f`
    /// panics, the lock is released).
    ///
    /// ```
    /// use dualsync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(vec![1, 2]);
    /// let mut first = RwLockWriteGuard::map(lock.write().block(), |v| &mut v[0]);
    /// *first = 10;
    /// drop(first);
    /// assert_eq!(*lock.read().block(), [10, 2]);
    /// ```
    pub fn map<U: ?Sized>(
        guard: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> MappedRwLockWriteGuard<'a, U> {
        let lock = guard.lock;
        // SAFETY: the guard holds the write lock: exclusive access for 'a.
        let data = NonNull::from(f(unsafe { &mut *lock.data.get() }));
        core::mem::forget(guard);
        MappedRwLockWriteGuard {
            raw: &lock.raw,
            data,
            _marker: PhantomData,
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): the guard
    /// comes back unchanged.
    pub fn try_map<U: ?Sized>(
        guard: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedRwLockWriteGuard<'a, U>, Self> {
        let lock = guard.lock;
        // SAFETY: the guard holds the write lock: exclusive access for 'a.
        match f(unsafe { &mut *lock.data.get() }) {
            Some(u) => {
                let data = NonNull::from(u);
                core::mem::forget(guard);
                Ok(MappedRwLockWriteGuard {
                    raw: &lock.raw,
                    data,
                    _marker: PhantomData,
                })
            }
            None => Err(guard),
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the write lock: no other access exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this access unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_write();
    }
}

/// Shared access to a [`RwLock`]'s data that can become exclusive
/// ([`upgrade`](Self::upgrade)); releases the upgradable lock when dropped.
/// At most one exists per lock; readers coexist with it.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockUpgradableReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockUpgradableReadGuard<'a, T> {
    /// The lock this guard holds.
    pub fn rwlock(guard: &Self) -> &'a RwLock<T> {
        guard.lock
    }

    /// Upgrades to the write lock: an operation that waits until the readers
    /// inside have left (`.await`, `.block()`, `.block_for(d)`,
    /// `.block_until(t)`). Nobody else can get the write lock first, and
    /// while it waits new readers queue behind it; it is served before any
    /// queued waiter.
    ///
    /// **Cancel-safety:** the operation holds the upgradable lock; dropping
    /// it before it finishes (or a `block_for` timing out) **releases that
    /// lock**, so the caller loses its read access as well as the upgrade.
    /// To keep the read access when the upgrade cannot happen at once, use
    /// [`try_upgrade`](Self::try_upgrade).
    ///
    /// ```
    /// use dualsync::{RwLock, RwLockUpgradableReadGuard};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(0));
    /// let up = lock.upgradable_read().block();
    /// let reader = lock.read_arc().block();
    /// let t = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(10));
    ///     drop(reader); // the upgrade waits for this
    /// });
    /// let mut w = futures::executor::block_on(RwLockUpgradableReadGuard::upgrade(up));
    /// *w += 1;
    /// t.join().unwrap();
    /// ```
    pub fn upgrade(guard: Self) -> RwLockUpgrade<'a, T> {
        RwLockUpgrade {
            lock: ManuallyDrop::new(guard).lock,
            waiter: Waiter::new(Kind::Upgrade),
        }
    }

    /// Upgrades to the write lock if no reader is inside; otherwise gives
    /// the guard back. Never waits.
    ///
    /// ```
    /// use dualsync::{RwLock, RwLockUpgradableReadGuard};
    ///
    /// let lock = RwLock::new(0);
    /// let up = lock.upgradable_read().block();
    /// let r = lock.read().block();
    /// let up = RwLockUpgradableReadGuard::try_upgrade(up).unwrap_err(); // a reader is inside
    /// drop(r);
    /// let w = RwLockUpgradableReadGuard::try_upgrade(up).unwrap();
    /// assert!(lock.is_locked_exclusive());
    /// # drop(w);
    /// ```
    pub fn try_upgrade(guard: Self) -> Result<RwLockWriteGuard<'a, T>, Self> {
        if guard.lock.raw.try_upgrade() {
            let lock = ManuallyDrop::new(guard).lock;
            Ok(RwLockWriteGuard { lock })
        } else {
            Err(guard)
        }
    }

    /// Turns the upgradable lock into a plain read lock without releasing
    /// it (another upgradable reader may then enter).
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let lock = ManuallyDrop::new(guard).lock;
        lock.raw.downgrade_upgradable();
        RwLockReadGuard { lock }
    }
}

impl<T: ?Sized> Deref for RwLockUpgradableReadGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the upgradable lock: no writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockUpgradableReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_upgradable();
    }
}

/// A read guard for a part of a [`RwLock`]'s data, from
/// [`RwLockReadGuard::map`]; releases the read lock when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct MappedRwLockReadGuard<'a, T: ?Sized> {
    raw: &'a RawRwLock,
    data: NonNull<T>,
    _marker: PhantomData<&'a T>,
}

// SAFETY: it gives `&T` (shared across threads: `T: Sync`) and releases a
// read lock, which any thread may do.
unsafe impl<T: ?Sized + Sync> Send for MappedRwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for MappedRwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> MappedRwLockReadGuard<'a, T> {
    /// Maps again, to a part of this part.
    pub fn map<U: ?Sized>(guard: Self, f: impl FnOnce(&T) -> &U) -> MappedRwLockReadGuard<'a, U> {
        // SAFETY: the guard holds a read lock: `data` is valid and shared
        // for 'a.
        let data = NonNull::from(f(unsafe { guard.data.as_ref() }));
        let raw = ManuallyDrop::new(guard).raw;
        MappedRwLockReadGuard {
            raw,
            data,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MappedRwLockReadGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a read lock, and `data` points into the
        // lock's data (invariant 1).
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Drop for MappedRwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.raw.unlock_read();
    }
}

/// A write guard for a part of a [`RwLock`]'s data, from
/// [`RwLockWriteGuard::map`]; releases the write lock when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct MappedRwLockWriteGuard<'a, T: ?Sized> {
    raw: &'a RawRwLock,
    data: NonNull<T>,
    _marker: PhantomData<&'a mut T>,
}

// SAFETY: it gives `&mut T` (moved across threads: `T: Send`) and releases
// the write lock, which any thread may do.
unsafe impl<T: ?Sized + Send> Send for MappedRwLockWriteGuard<'_, T> {}
// SAFETY: `&MappedRwLockWriteGuard` gives only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MappedRwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> MappedRwLockWriteGuard<'a, T> {
    /// Maps again, to a part of this part.
    pub fn map<U: ?Sized>(
        guard: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> MappedRwLockWriteGuard<'a, U> {
        let mut guard = guard;
        // SAFETY: the guard holds the write lock: `data` is valid and
        // exclusive for 'a. If `f` panics, the guard releases the lock.
        let data = NonNull::from(f(unsafe { guard.data.as_mut() }));
        let raw = ManuallyDrop::new(guard).raw;
        MappedRwLockWriteGuard {
            raw,
            data,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MappedRwLockWriteGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the write lock, and `data` points into the
        // lock's data (invariant 1).
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for MappedRwLockWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this access unique.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for MappedRwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.raw.unlock_write();
    }
}

// ---------------------------------------------------------------- owned guards

/// An owned read guard from [`RwLock::read_arc`]: `'static`, movable into a
/// callback, thread or task, and released wherever it is dropped. `U` is the
/// part of the data it gives access to after
/// [`map`](OwnedRwLockReadGuard::map) (all of it by default).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: NonNull<U>,
}

// SAFETY: it keeps the lock alive through an `Arc` (shared across threads:
// `RwLock<T>: Send + Sync`) and gives `&U` (`U: Sync`).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedRwLockReadGuard<T, U> {}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// A guard over all the data for a read lock the caller holds.
    fn new(lock: Arc<RwLock<T>>) -> Self {
        // SAFETY: `UnsafeCell::get` never returns NULL.
        let data = unsafe { NonNull::new_unchecked(lock.data.get()) };
        OwnedRwLockReadGuard { lock, data }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// The lock this guard holds.
    pub fn rwlock(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }

    /// A guard for a part of the data, holding the same read lock.
    ///
    /// ```
    /// use dualsync::{OwnedRwLockReadGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// let second = OwnedRwLockReadGuard::map(lock.read_arc().block(), |t| &t.1);
    /// assert_eq!(*second, 2);
    /// ```
    pub fn map<V: ?Sized>(guard: Self, f: impl FnOnce(&U) -> &V) -> OwnedRwLockReadGuard<T, V> {
        // SAFETY: the guard holds a read lock: `data` is valid and shared
        // while the guard (or its successor) lives.
        let data = NonNull::from(f(unsafe { guard.data.as_ref() }));
        OwnedRwLockReadGuard {
            lock: Self::into_arc(guard),
            data,
        }
    }

    /// Takes the `Arc` out without releasing the lock.
    fn into_arc(guard: Self) -> Arc<RwLock<T>> {
        let guard = ManuallyDrop::new(guard);
        // SAFETY: `guard` is never dropped (ManuallyDrop), so the `Arc` is
        // read out exactly once and its count stays balanced.
        unsafe { core::ptr::read(&guard.lock) }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    #[inline]
    fn deref(&self) -> &U {
        // SAFETY: the guard holds a read lock, and `data` points into the
        // lock's data (invariant 1).
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_read();
    }
}

/// An owned write guard from [`RwLock::write_arc`]: `'static`, released
/// wherever it is dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// The lock this guard holds.
    pub fn rwlock(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }

    /// Takes the `Arc` out without releasing the lock.
    fn into_arc(guard: Self) -> Arc<RwLock<T>> {
        let guard = ManuallyDrop::new(guard);
        // SAFETY: `guard` is never dropped, so the `Arc` is read out once.
        unsafe { core::ptr::read(&guard.lock) }
    }

    /// Turns the write lock into a read lock without releasing it.
    ///
    /// ```
    /// use dualsync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let r = OwnedRwLockWriteGuard::downgrade(lock.write_arc().block());
    /// assert_eq!((*r, lock.statistics().readers), (1, 1));
    /// ```
    pub fn downgrade(guard: Self) -> OwnedRwLockReadGuard<T> {
        let lock = Self::into_arc(guard);
        lock.raw.downgrade_write();
        OwnedRwLockReadGuard::new(lock)
    }

    /// Turns the write lock into the upgradable read lock without releasing
    /// it.
    pub fn downgrade_to_upgradable(guard: Self) -> OwnedRwLockUpgradableReadGuard<T> {
        let lock = Self::into_arc(guard);
        lock.raw.downgrade_write_to_upgradable();
        OwnedRwLockUpgradableReadGuard { lock }
    }

    /// A guard for a part of the data, holding the same write lock (if `f`
    /// panics, the lock is released).
    pub fn map<U: ?Sized>(
        mut guard: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedRwLockMappedWriteGuard<T, U> {
        let data = NonNull::from(f(&mut *guard));
        OwnedRwLockMappedWriteGuard {
            lock: Self::into_arc(guard),
            data,
        }
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the write lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the write lock; `&mut self` is unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_write();
    }
}

/// An owned write guard for a part of the data, from
/// [`OwnedRwLockWriteGuard::map`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized> {
    lock: Arc<RwLock<T>>,
    data: NonNull<U>,
}

// SAFETY: it keeps the lock alive through an `Arc` (`RwLock<T>: Send +
// Sync`) and gives `&mut U` (moved across threads: `U: Send`).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send> Send for OwnedRwLockMappedWriteGuard<T, U> {}
// SAFETY: `&OwnedRwLockMappedWriteGuard` gives only `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedRwLockMappedWriteGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// The lock this guard holds.
    pub fn rwlock(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }

    /// Maps again, to a part of this part (if `f` panics, the lock is
    /// released).
    pub fn map<V: ?Sized>(
        mut guard: Self,
        f: impl FnOnce(&mut U) -> &mut V,
    ) -> OwnedRwLockMappedWriteGuard<T, V> {
        let data = NonNull::from(f(&mut *guard));
        let guard = ManuallyDrop::new(guard);
        // SAFETY: `guard` is never dropped, so the `Arc` is read out once.
        let lock = unsafe { core::ptr::read(&guard.lock) };
        OwnedRwLockMappedWriteGuard { lock, data }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    #[inline]
    fn deref(&self) -> &U {
        // SAFETY: the guard holds the write lock, and `data` points into the
        // lock's data (invariant 1).
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    #[inline]
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `&mut self` is unique.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_write();
    }
}

/// An owned upgradable read guard from [`RwLock::upgradable_read_arc`]:
/// `'static`, released wherever it is dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockUpgradableReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> OwnedRwLockUpgradableReadGuard<T> {
    /// The lock this guard holds.
    pub fn rwlock(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }

    /// Takes the `Arc` out without releasing the lock.
    fn into_arc(guard: Self) -> Arc<RwLock<T>> {
        let guard = ManuallyDrop::new(guard);
        // SAFETY: `guard` is never dropped, so the `Arc` is read out once.
        unsafe { core::ptr::read(&guard.lock) }
    }

    /// Upgrades to the write lock, waiting for the readers to leave. Same
    /// rules as [`RwLockUpgradableReadGuard::upgrade`]: dropping the
    /// operation while pending releases the upgradable lock.
    ///
    /// ```
    /// use dualsync::{OwnedRwLockUpgradableReadGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let up = lock.upgradable_read_arc().block();
    /// let mut w = OwnedRwLockUpgradableReadGuard::upgrade(up).block();
    /// *w += 1;
    /// drop(w);
    /// assert_eq!(*lock.read().block(), 2);
    /// ```
    pub fn upgrade(guard: Self) -> RwLockUpgradeArc<T> {
        RwLockUpgradeArc {
            lock: Some(Self::into_arc(guard)),
            waiter: Waiter::new(Kind::Upgrade),
        }
    }

    /// Upgrades to the write lock if no reader is inside; otherwise gives
    /// the guard back. Never waits.
    pub fn try_upgrade(guard: Self) -> Result<OwnedRwLockWriteGuard<T>, Self> {
        if guard.lock.raw.try_upgrade() {
            Ok(OwnedRwLockWriteGuard {
                lock: Self::into_arc(guard),
            })
        } else {
            Err(guard)
        }
    }

    /// Turns the upgradable lock into a plain read lock without releasing
    /// it.
    pub fn downgrade(guard: Self) -> OwnedRwLockReadGuard<T> {
        let lock = Self::into_arc(guard);
        lock.raw.downgrade_upgradable();
        OwnedRwLockReadGuard::new(lock)
    }
}

impl<T: ?Sized> Deref for OwnedRwLockUpgradableReadGuard<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the upgradable lock: no writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockUpgradableReadGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_upgradable();
    }
}

// ---------------------------------------------------------------- Debug / Display

macro_rules! forward_fmt {
    ($([$($gen:tt)*] $ty:ty;)*) => {$(
        impl<$($gen)*> fmt::Debug for $ty
        where
            <$ty as Deref>::Target: fmt::Debug,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($gen)*> fmt::Display for $ty
        where
            <$ty as Deref>::Target: fmt::Display,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}

forward_fmt! {
    ['a, T: ?Sized] RwLockReadGuard<'a, T>;
    ['a, T: ?Sized] RwLockWriteGuard<'a, T>;
    ['a, T: ?Sized] RwLockUpgradableReadGuard<'a, T>;
    ['a, T: ?Sized] MappedRwLockReadGuard<'a, T>;
    ['a, T: ?Sized] MappedRwLockWriteGuard<'a, T>;
    [T: ?Sized, U: ?Sized] OwnedRwLockReadGuard<T, U>;
    [T: ?Sized] OwnedRwLockWriteGuard<T>;
    [T: ?Sized, U: ?Sized] OwnedRwLockMappedWriteGuard<T, U>;
    [T: ?Sized] OwnedRwLockUpgradableReadGuard<T>;
}
