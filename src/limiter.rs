//! `CapacityLimiter`: anyio's `CapacityLimiter`, shared by threads and tasks.
//!
//! A capacity limiter is a semaphore whose permits ("tokens") are tied to a
//! *borrower*: each borrower holds at most one token at a time, and asking
//! for a second one is an error ([`AlreadyBorrowed`]), not a deadlock. The
//! number of tokens can change at runtime ([`CapacityLimiter::set_total_tokens`]).
//!
//! # State
//!
//! ```text
//!   queue word (core::queue):  | tail pointer | L |   L = queue lock
//!   under L:                   Inner { total, borrowers: BorrowerSet }
//!   mirrors (Relaxed reads):   total: AtomicUsize, borrowed: AtomicUsize
//! ```
//!
//! The set of borrowers has to be stored somewhere (one entry per *holder*,
//! never per wait), so every acquire and release takes the queue lock, which
//! also guards `Inner`. The lock is the engine's one-word spin lock: an
//! uncontended acquire is one `fetch_or`, a set insert and one store. The
//! set keeps its first few holders in an inline array (a short linear scan,
//! no hashing, no allocation) and only spills to a hash set past them. The
//! two atomics mirror `Inner` for lock-free reads of
//! [`total_tokens`](CapacityLimiter::total_tokens) and
//! [`borrowed_tokens`](CapacityLimiter::borrowed_tokens); they are written
//! only under the lock.
//!
//! # Invariants (whenever the queue lock is free)
//!
//! 1. If the queue is non-empty, `borrowers.len() >= total`, or the head was
//!    woken in place (bounded-barging mode) to take a free token and has
//!    not looked yet: a waiter only stays queued while no token is free for
//!    it, or while it is on its way to take one.
//! 2. A waiter's borrower is fixed before it is queued and stored in its
//!    node; whoever hands it a token inserts that borrower into the set in
//!    the same critical section (`GRANTED`), so a granted token is never
//!    counted twice nor lost. A waiter whose borrower became a holder while
//!    it waited is completed with `REFUSED` (its result is `AlreadyBorrowed`).
//! 3. A `GRANTED` waiter that is dropped before it sees its token releases it
//!    as a holder would, which serves the next waiter.
//!
//! # Order
//!
//! The engine's fairness policy ([`crate::engine::fair`]): in the default
//! bounded-barging mode a release with waiters frees the token and wakes
//! the head, and a newcomer may take a free token while the head has waited
//! less than [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND); after that the
//! token is handed to the head. [`CapacityLimiter::new_fair`] hands off
//! every time and a newcomer never takes a token while anyone is queued
//! (like anyio, whose `acquire_nowait` fails while the wait queue is
//! non-empty).
//!
//! # "The current borrower"
//!
//! See [`Borrower`]: a thread is its own borrower; an awaited
//! [`acquire()`](CapacityLimiter::acquire) borrows for that one operation.

use core::cell::UnsafeCell;
use core::fmt;
use core::hash::{BuildHasherDefault, Hash, Hasher};
use core::pin::Pin;
use core::task::Poll;
use std::collections::HashSet;

use crate::engine::driver::{Waitable, impl_operation};
use crate::engine::fair::Fairness;
use crate::engine::loom_const_fn;
use crate::engine::node::WaitCx;
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use crate::engine::waiter::{Link, Policy, SpinPace, Taken, Waiter};
use crate::engine::wake::WakeList;
use crate::error::{
    AcquireTokenTimeoutError, AlreadyBorrowed, NotBorrowed, TryAcquireTokenError, ZeroTokens,
};

/// Node outcome: a token was handed over; the borrower is already recorded.
const GRANTED: u32 = 3;
/// Node outcome: the waiter's borrower became a holder while it waited.
const REFUSED: u32 = 4;

const KIND_ID: u8 = 0;
const KIND_ANON: u8 = 1;

/// Who holds a token of a [`CapacityLimiter`]: an opaque, hashable id.
///
/// There are two namespaces, which never collide:
///
/// * **chosen ids**: [`Borrower::id`] (the C ABI's `uintptr_t` borrower maps
///   to `Borrower::id(n)`, so Rust and C agree on them) and
///   [`Borrower::of`] (a 64-bit hash of any `Hash` value, anyio's "any
///   hashable object"; two different values collide with probability
///   about 2⁻⁶⁴);
/// * **generated ids**: [`Borrower::current_thread`] and
///   [`Borrower::unique`], drawn from one process-wide counter, never reused.
///
/// ## "The current borrower"
///
/// * **A thread** is one borrower: [`Borrower::current_thread`], assigned on
///   the thread's first use and never reused (the role of anyio's "current
///   task", keyed like `std::thread::ThreadId`). [`CapacityLimiter::try_acquire`]
///   and [`CapacityLimiter::acquire`] finished with `.block()`,
///   `.block_for()` or `.block_until()` borrow for the calling thread.
/// * **A task** has no identity a runtime-agnostic library can see (and the
///   thread that polls it changes from poll to poll), so an **awaited
///   [`acquire()`](CapacityLimiter::acquire) borrows for that one operation**:
///   a fresh [`Borrower::unique`] is drawn when the operation is first
///   polled by `.await`. It therefore never fails with [`AlreadyBorrowed`].
///   To get anyio's per-task rule, draw `let me = Borrower::unique();` once
///   in the task and use [`acquire_on_behalf_of(me)`](CapacityLimiter::acquire_on_behalf_of)
///   and [`try_acquire_on_behalf_of(me)`](CapacityLimiter::try_acquire_on_behalf_of).
/// * Do not call [`try_acquire`](CapacityLimiter::try_acquire) from a task:
///   it borrows for the worker thread, shared by every task it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Borrower {
    kind: u8,
    raw: u64,
}

/// The counter behind generated ids (not a synchronization variable, so it
/// stays a std atomic even under loom).
static NEXT_ANON: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Borrower {
    /// A borrower chosen by the caller (the C ABI's `uintptr_t` borrower).
    #[inline]
    pub const fn id(id: u64) -> Borrower {
        Borrower {
            kind: KIND_ID,
            raw: id,
        }
    }

    /// A borrower named by any hashable value (anyio lets any hashable object
    /// borrow): its 64-bit hash with a fixed-key SipHash, so the same value
    /// gives the same borrower in every thread of the process.
    pub fn of<T: Hash + ?Sized>(value: &T) -> Borrower {
        let mut h = std::hash::DefaultHasher::new();
        value.hash(&mut h);
        Borrower::id(h.finish())
    }

    /// A borrower nobody else has: use one per task for anyio's "one token
    /// per task" rule in async code.
    #[inline]
    pub fn unique() -> Borrower {
        Borrower {
            kind: KIND_ANON,
            raw: NEXT_ANON.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The calling thread's borrower: the same value for the whole life of
    /// the thread, different from every other thread's.
    #[inline]
    pub fn current_thread() -> Borrower {
        std::thread_local! {
            static ME: Borrower = Borrower::unique();
        }
        ME.with(|b| *b)
    }

    /// `Some(n)` for a borrower made by [`Borrower::id`] / [`Borrower::of`].
    pub fn as_id(self) -> Option<u64> {
        (self.kind == KIND_ID).then_some(self.raw)
    }
}

impl Hash for Borrower {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.raw ^ ((self.kind as u64) << 63).rotate_right(7));
    }
}

impl fmt::Debug for Borrower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            KIND_ID => write!(f, "Borrower::id({})", self.raw),
            _ => write!(f, "Borrower::unique(#{})", self.raw),
        }
    }
}

/// A cheap hasher for borrower sets: ids are already well spread (or
/// counters, which a multiply spreads).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 ^= self.0 >> 29;
    }
}

/// How many holders [`BorrowerSet`] keeps inline, without hashing or
/// allocating.
const INLINE_BORROWERS: usize = 8;

/// The set of borrowers holding a token (one entry per holder).
///
/// Every acquisition inserts its borrower and every release removes it,
/// under the queue lock, so this is on the uncontended fast path. The first
/// [`INLINE_BORROWERS`] holders live in an inline array searched linearly
/// (for a few 16-byte entries a scan is cheaper than hashing, and it never
/// allocates); holders beyond them go to a hash set, which stays empty and
/// unallocated unless more than `INLINE_BORROWERS` tokens are held at once.
///
/// Invariants: `inline[..inline_len]` and `spill` hold no borrower twice
/// and share none. `spill` may be non-empty while inline slots are free
/// (a release from the inline part does not pull one back from `spill`,
/// which could cost a scan of a large, sparse table on every release); a
/// lookup then checks both.
struct BorrowerSet {
    inline: [Borrower; INLINE_BORROWERS],
    /// The number of slots of `inline` in use, a prefix.
    inline_len: usize,
    spill: HashSet<Borrower, BuildHasherDefault<IdHasher>>,
}

impl BorrowerSet {
    const fn new() -> Self {
        BorrowerSet {
            inline: [Borrower::id(0); INLINE_BORROWERS],
            inline_len: 0,
            spill: HashSet::with_hasher(BuildHasherDefault::new()),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.inline_len + self.spill.len()
    }

    /// The inline slot holding `b`, if any.
    #[inline]
    fn inline_position(&self, b: Borrower) -> Option<usize> {
        self.inline[..self.inline_len].iter().position(|x| *x == b)
    }

    #[inline]
    fn contains(&self, b: Borrower) -> bool {
        self.inline_position(b).is_some() || (!self.spill.is_empty() && self.spill.contains(&b))
    }

    /// Adds `b`; `false` (and no change) if it is already in.
    #[inline]
    fn insert(&mut self, b: Borrower) -> bool {
        if self.contains(b) {
            return false;
        }
        if self.inline_len < INLINE_BORROWERS {
            self.inline[self.inline_len] = b;
            self.inline_len += 1;
            true
        } else {
            self.spill.insert(b)
        }
    }

    /// Removes `b`; `false` if it was not in.
    #[inline]
    fn remove(&mut self, b: Borrower) -> bool {
        if let Some(i) = self.inline_position(b) {
            self.inline_len -= 1;
            self.inline[i] = self.inline[self.inline_len];
            return true;
        }
        !self.spill.is_empty() && self.spill.remove(&b)
    }

    fn iter(&self) -> impl Iterator<Item = Borrower> + '_ {
        self.inline[..self.inline_len]
            .iter()
            .chain(self.spill.iter())
            .copied()
    }
}

/// The waiter's payload: its borrower, written by the owner while the node
/// is not linked, read by wakers under the queue lock (which orders both).
pub(crate) struct BorrowerSlot {
    kind: AtomicU8,
    raw: AtomicU64,
}

impl BorrowerSlot {
    fn new() -> Self {
        BorrowerSlot {
            kind: AtomicU8::new(0),
            raw: AtomicU64::new(0),
        }
    }
    fn set(&self, b: Borrower) {
        self.kind.store(b.kind, Ordering::Relaxed);
        self.raw.store(b.raw, Ordering::Relaxed);
    }
    fn get(&self) -> Borrower {
        Borrower {
            kind: self.kind.load(Ordering::Relaxed),
            raw: self.raw.load(Ordering::Relaxed),
        }
    }
}

struct Inner {
    total: usize,
    borrowers: BorrowerSet,
}

/// The queue lock with the state it guards.
struct Locked<'q, 'a> {
    q: &'q mut QueueGuard<'a, BorrowerSlot>,
    inner: &'q mut Inner,
}

/// A pool of tokens, one per borrower, that threads and async tasks share
/// (anyio's `CapacityLimiter`).
///
/// * [`acquire()`](Self::acquire) /
///   [`acquire_on_behalf_of(b)`](Self::acquire_on_behalf_of) return an
///   operation: `.await` it in a task, or finish it on a thread with
///   [`.block()`](LimiterAcquire::block), [`.block_for(d)`](LimiterAcquire::block_for) or
///   [`.block_until(t)`](LimiterAcquire::block_until). Its output is
///   `Result<LimiterToken, AlreadyBorrowed>`: a borrower that already holds
///   a token gets the error **at once**, without waiting. A borrower that
///   becomes a holder through another operation while this one waits gets
///   the error when its turn comes.
/// * [`try_acquire()`](Self::try_acquire) /
///   [`try_acquire_on_behalf_of(b)`](Self::try_acquire_on_behalf_of) never
///   wait.
/// * The [`LimiterToken`] gives the token back on drop (or
///   [`release_on_behalf_of`](Self::release_on_behalf_of) for a token that
///   was forgotten, as the C ABI does).
/// * [`set_total_tokens(n)`](Self::set_total_tokens) changes the capacity:
///   raising it serves as many waiters as now fit, in FIFO order; lowering
///   it never takes a token from a holder (borrowed may exceed total until
///   they release).
///
/// Who "the current borrower" is: see [`Borrower`] (a thread is one
/// borrower; an awaited `acquire()` borrows for that operation alone).
///
/// **Cancel-safety**: dropping a `LimiterAcquire` operation (or a `block_for`
/// timing out) leaves the limiter as if it had never been called; a token
/// already handed to it goes to the next waiter. The caller loses only its
/// place in the queue. Cancelling costs the same whatever the queue length.
///
/// **Order**: threads and tasks wait in one queue, served in arrival order
/// (arrival being the moment an acquire first had to wait).
/// [`CapacityLimiter::new`] allows *bounded barging*: a release with waiters
/// frees the token and wakes the head, and a newcomer may take it while the
/// head has waited less than [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND)
/// (500 µs); after that the token is handed to the head.
/// [`CapacityLimiter::new_fair`] hands off every time: strict FIFO, and a
/// newcomer never overtakes a waiter (anyio's order).
///
/// ```
/// use dualsync::{Borrower, CapacityLimiter};
/// use std::sync::Arc;
///
/// let limiter = Arc::new(CapacityLimiter::new(2));
/// let t = {
///     let limiter = limiter.clone();
///     // A thread borrows for itself.
///     std::thread::spawn(move || {
///         let token = limiter.acquire().block().unwrap();
///         assert!(limiter.acquire().block().is_err()); // one token per borrower
///         drop(token);
///     })
/// };
/// futures::executor::block_on(async {
///     // A task names its borrower to get the same one-token rule.
///     let me = Borrower::unique();
///     let _token = limiter.acquire_on_behalf_of(me).await.unwrap();
///     assert!(limiter.try_acquire_on_behalf_of(me).is_err());
/// });
/// t.join().unwrap();
/// assert_eq!(limiter.borrowed_tokens(), 0);
/// limiter.set_total_tokens(3).unwrap();
/// assert_eq!(limiter.available_tokens(), 3);
/// ```
pub struct CapacityLimiter {
    queue: WaitQueue<BorrowerSlot>,
    inner: UnsafeCell<Inner>,
    total: AtomicUsize,
    borrowed: AtomicUsize,
    fairness: Fairness,
}

// SAFETY: `inner` is only accessed while the queue lock is held (`locked`),
// which serializes all threads; everything else is atomic or the queue.
unsafe impl Send for CapacityLimiter {}
// SAFETY: as above.
unsafe impl Sync for CapacityLimiter {}

// `inner` is only changed under the queue lock, in sections that leave it
// consistent (a borrower set insert or remove): unwind-safe like std's types.
impl core::panic::UnwindSafe for CapacityLimiter {}
impl core::panic::RefUnwindSafe for CapacityLimiter {}

impl CapacityLimiter {
    loom_const_fn! {
        /// A limiter with `total_tokens` tokens, none borrowed; bounded barging.
        ///
        /// # Panics
        ///
        /// If `total_tokens` is 0 (anyio requires at least one token too).
        ///
        /// ```
        /// static DB_SLOTS: dualsync::CapacityLimiter = dualsync::CapacityLimiter::new(4);
        /// assert_eq!(DB_SLOTS.total_tokens(), 4);
        /// ```
        pub fn new(total_tokens: usize) -> CapacityLimiter {
            Self::with_fairness(total_tokens, Fairness::Barging)
        }
    }

    loom_const_fn! {
        /// A limiter in strict hand-off mode: every release with waiters hands
        /// the token to the head, and a newcomer never overtakes a waiter.
        ///
        /// # Panics
        ///
        /// If `total_tokens` is 0.
        pub fn new_fair(total_tokens: usize) -> CapacityLimiter {
            Self::with_fairness(total_tokens, Fairness::Strict)
        }
    }

    loom_const_fn! {
        fn with_fairness(total_tokens: usize, fairness: Fairness) -> CapacityLimiter {
            assert!(
                total_tokens >= 1,
                "a capacity limiter needs at least one token"
            );
            CapacityLimiter {
                queue: WaitQueue::new(),
                inner: UnsafeCell::new(Inner {
                    total: total_tokens,
                    borrowers: BorrowerSet::new(),
                }),
                total: AtomicUsize::new(total_tokens),
                borrowed: AtomicUsize::new(0),
                fairness,
            }
        }
    }

    /// Whether this limiter hands off strictly ([`new_fair`](Self::new_fair)).
    pub fn is_fair(&self) -> bool {
        self.fairness.is_strict()
    }

    /// The state guarded by the queue lock, next to the guard that proves it
    /// is held.
    #[inline]
    fn locked<'q, 'a>(&'q self, q: &'q mut QueueGuard<'a, BorrowerSlot>) -> Locked<'q, 'a> {
        // SAFETY: `q` proves we hold the queue lock, which guards `inner`;
        // the `&mut` lives in `Locked`, next to the borrow of the guard, and
        // every caller builds one `Locked` per critical section.
        let inner = unsafe { &mut *self.inner.get() };
        Locked { q, inner }
    }

    /// Runs `f` under the queue lock with the state it guards; wake-ups run
    /// after unlocking.
    #[inline]
    fn with_locked<R>(&self, f: impl FnOnce(&mut Locked<'_, '_>, &mut WakeList) -> R) -> R {
        self.queue
            .with_lock(|q, wakes| f(&mut self.locked(q), wakes))
    }

    /// Takes a token for the current borrower: `.await` it, or `.block()`,
    /// `.block_for(d)`, `.block_until(t)` on a thread. Cancel-safe; served
    /// in arrival order within the fairness bound.
    ///
    /// Blocking forms borrow for the calling thread; an awaited one borrows
    /// for this operation alone (see [`Borrower`]).
    ///
    /// ```
    /// let limiter = dualsync::CapacityLimiter::new(1);
    /// let token = limiter.acquire().block().unwrap(); // for this thread
    /// assert_eq!(limiter.borrowed_tokens(), 1);
    /// drop(token);
    /// futures::executor::block_on(async {
    ///     let _t = limiter.acquire().await.unwrap(); // for this operation
    /// });
    /// ```
    #[inline]
    pub fn acquire(&self) -> LimiterAcquire<'_> {
        LimiterAcquire {
            limiter: self,
            borrower: None,
            waiter: Waiter::new(BorrowerSlot::new()),
        }
    }

    /// Takes a token for `borrower`, from a thread or a task. Cancel-safe;
    /// same order as [`acquire`](Self::acquire). Fails at once with
    /// [`AlreadyBorrowed`] if `borrower` holds one.
    ///
    /// ```
    /// use dualsync::{Borrower, CapacityLimiter};
    /// let limiter = CapacityLimiter::new(2);
    /// let job = Borrower::id(7);
    /// let t = limiter.acquire_on_behalf_of(job).block().unwrap();
    /// assert!(limiter.acquire_on_behalf_of(job).block().is_err()); // one per borrower
    /// drop(t);
    /// ```
    #[inline]
    pub fn acquire_on_behalf_of(&self, borrower: Borrower) -> LimiterAcquire<'_> {
        LimiterAcquire {
            limiter: self,
            borrower: Some(borrower),
            waiter: Waiter::new(BorrowerSlot::new()),
        }
    }

    /// Takes a token for the calling thread ([`Borrower::current_thread`])
    /// if one is free; never waits. Meant for threads: in a task use
    /// [`try_acquire_on_behalf_of`](Self::try_acquire_on_behalf_of).
    #[inline]
    pub fn try_acquire(&self) -> Result<LimiterToken<'_>, TryAcquireTokenError> {
        self.try_acquire_on_behalf_of(Borrower::current_thread())
    }

    /// Takes a token for `borrower` if one is free; never waits (anyio's
    /// `acquire_on_behalf_of_nowait`). Fails when no token is free. A token
    /// is free beside queued waiters only while the head has waited less
    /// than the fairness bound (a later release hands it to the head), and
    /// never in strict mode, so this never overtakes a waiter beyond the
    /// bound.
    #[inline]
    pub fn try_acquire_on_behalf_of(
        &self,
        borrower: Borrower,
    ) -> Result<LimiterToken<'_>, TryAcquireTokenError> {
        match self.take_now(borrower) {
            Some(Ok(())) => Ok(LimiterToken {
                limiter: self,
                borrower,
            }),
            Some(Err(e)) => Err(e.into()),
            None => Err(TryAcquireTokenError::WouldBlock),
        }
    }

    /// [`take_locked`](Self::take_locked) for a newcomer, under a plain lock:
    /// taking a token wakes nobody, so the fast path builds no wake list.
    #[inline]
    fn take_now(&self, borrower: Borrower) -> Option<Result<(), AlreadyBorrowed>> {
        let mut q = self.queue.lock();
        self.take_locked(&mut self.locked(&mut q), borrower)
    }

    /// Under the lock: `Some(Ok)` took a token, `Some(Err)` the borrower
    /// already holds one, `None` it would have to wait (no free token).
    ///
    /// A free token may be taken even while waiters are queued, and no
    /// clock is read here: every path that frees a token with a waiter
    /// queued goes through [`serve_waiters`](Self::serve_waiters), which
    /// hands the token to the head directly once the head has waited past
    /// the fairness bound (always, in strict mode). So a token is only free
    /// beside a queued waiter while the head was under the bound at the
    /// last release, and a newcomer that takes it overtakes the head at
    /// most once more: the bound plus one hold, as documented.
    #[inline]
    fn take_locked(
        &self,
        l: &mut Locked<'_, '_>,
        borrower: Borrower,
    ) -> Option<Result<(), AlreadyBorrowed>> {
        let blocked = l.inner.borrowers.len() >= l.inner.total;
        if blocked {
            if l.inner.borrowers.contains(borrower) {
                return Some(Err(AlreadyBorrowed(borrower)));
            }
            return None;
        }
        // One scan on the fast path: `insert` says if it was there.
        if !l.inner.borrowers.insert(borrower) {
            return Some(Err(AlreadyBorrowed(borrower)));
        }
        self.borrowed
            .store(l.inner.borrowers.len(), Ordering::Relaxed);
        Some(Ok(()))
    }

    /// Gives back the token `borrower` holds (anyio's
    /// `release_on_behalf_of`), serving the next waiter. For tokens whose
    /// [`LimiterToken`] was forgotten (the C ABI); releasing a borrower whose
    /// token still exists makes that token's later drop release whatever the
    /// borrower holds then.
    pub fn release_on_behalf_of(&self, borrower: Borrower) -> Result<(), NotBorrowed> {
        // A plain lock: with nobody queued, giving a token back wakes nobody.
        let mut q = self.queue.lock();
        let l = self.locked(&mut q);
        if !l.inner.borrowers.remove(borrower) {
            return Err(NotBorrowed(borrower));
        }
        if l.q.is_empty() {
            self.borrowed
                .store(l.inner.borrowers.len(), Ordering::Relaxed);
        } else {
            q.then_wake(|q, wakes| self.serve_waiters(&mut self.locked(q), false, wakes));
        }
        Ok(())
    }

    /// Serves waiters from the front while tokens are free: hands a token
    /// to the head when the fairness policy says so, or always with
    /// `hand_off` (a borrower that became a holder meanwhile is `REFUSED`),
    /// or else wakes it in place to take one. Looks at one waiter more than
    /// it serves.
    fn serve_waiters(&self, l: &mut Locked<'_, '_>, hand_off: bool, wakes: &mut WakeList) {
        let clock = if hand_off {
            Fairness::Strict
        } else {
            self.fairness
        }
        .clock();
        while l.inner.borrowers.len() < l.inner.total {
            let Some(head) = l.q.front() else { break };
            if !clock.must_hand_off(head) {
                // Wake it in place to take the free token (it stays the
                // head; when it leaves, the next one is looked at).
                l.q.wake_front(wakes);
                break;
            }
            let inner = &mut *l.inner;
            l.q.pop_front(wakes, |head| {
                Some(if inner.borrowers.insert(head.data.get()) {
                    GRANTED
                } else {
                    REFUSED
                })
            });
        }
        self.borrowed
            .store(l.inner.borrowers.len(), Ordering::Relaxed);
    }

    /// The number of tokens (a snapshot).
    #[inline]
    pub fn total_tokens(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Changes the number of tokens. Raising it hands the new tokens to
    /// waiters at once, in arrival order (directly, in either fairness mode:
    /// there is no releaser to barge); lowering it takes nothing from
    /// holders (new borrowers wait until enough tokens come back).
    /// `0` is refused with [`ZeroTokens`] and changes nothing.
    ///
    /// ```
    /// use dualsync::{Borrower, CapacityLimiter};
    /// let l = CapacityLimiter::new(1);
    /// let _a = l.try_acquire_on_behalf_of(Borrower::id(1)).unwrap();
    /// assert!(l.try_acquire_on_behalf_of(Borrower::id(2)).is_err());
    /// l.set_total_tokens(2).unwrap(); // one more token
    /// assert!(l.try_acquire_on_behalf_of(Borrower::id(2)).is_ok());
    /// ```
    pub fn set_total_tokens(&self, total_tokens: usize) -> Result<(), ZeroTokens> {
        if total_tokens == 0 {
            return Err(ZeroTokens);
        }
        self.with_locked(|l, wakes| {
            l.inner.total = total_tokens;
            self.total.store(total_tokens, Ordering::Relaxed);
            self.serve_waiters(l, true, wakes);
        });
        Ok(())
    }

    /// The number of tokens held now (a snapshot; may exceed
    /// [`total_tokens`](Self::total_tokens) right after it was lowered).
    #[inline]
    pub fn borrowed_tokens(&self) -> usize {
        self.borrowed.load(Ordering::Relaxed)
    }

    /// `total - borrowed`, or 0 when more are borrowed than exist (a
    /// snapshot).
    pub fn available_tokens(&self) -> usize {
        self.with_locked(|l, _| l.inner.total.saturating_sub(l.inner.borrowers.len()))
    }

    /// A consistent snapshot (anyio's `statistics()`).
    pub fn statistics(&self) -> LimiterStatistics {
        self.with_locked(|l, _| LimiterStatistics {
            borrowed_tokens: l.inner.borrowers.len(),
            total_tokens: l.inner.total,
            borrowers: l.inner.borrowers.iter().collect(),
            waiting: l.q.len(),
        })
    }

    /// Threads and tasks queued for a token (a snapshot; the C ABI's
    /// `dualsync_limiter_n_waiting`, without building the borrower list of
    /// [`statistics`](Self::statistics)).
    pub(crate) fn n_waiting(&self) -> usize {
        self.queue.lock().len()
    }

    /// Whether `borrower` holds a token now (a snapshot).
    pub fn is_borrowing(&self, borrower: Borrower) -> bool {
        self.with_locked(|l, _| l.inner.borrowers.contains(borrower))
    }
}

impl Policy for CapacityLimiter {
    type Data = BorrowerSlot;
    type Output = Result<(), AlreadyBorrowed>;
    const STAMPS: bool = true;

    #[inline]
    fn queue(&self) -> &WaitQueue<BorrowerSlot> {
        &self.queue
    }

    #[inline]
    fn try_now(&self, slot: &BorrowerSlot, _: &WaitCx<'_, '_>) -> Option<Self::Output> {
        let b = slot.get();
        self.take_now(b)
    }

    #[inline]
    fn try_linked(
        &self,
        q: &mut QueueGuard<'_, BorrowerSlot>,
        slot: &BorrowerSlot,
        _: &WaitCx<'_, '_>,
    ) -> Option<Self::Output> {
        self.take_locked(&mut self.locked(q), slot.get())
    }

    /// As a lock: a first look that finds no tokens yet is the holders'
    /// burst (see `engine::waiter::spin_until`).
    const SPIN_PACE: SpinPace = SpinPace::Held;

    /// A thread spins while nobody is queued and the tokens may come back
    /// soon (barging mode only).
    #[inline]
    fn spin_check(&self, _: &BorrowerSlot) -> Option<bool> {
        if self.fairness.is_strict() || !self.queue.is_empty_hint() {
            return None;
        }
        Some(self.borrowed.load(Ordering::Relaxed) < self.total.load(Ordering::Relaxed))
    }

    fn enqueue(
        &self,
        q: &mut QueueGuard<'_, BorrowerSlot>,
        slot: &BorrowerSlot,
        _front: bool,
        _: &mut WakeList,
    ) -> Link<Self::Output> {
        match self.take_locked(&mut self.locked(q), slot.get()) {
            Some(r) => Link::Done(r),
            None => Link::Wait,
        }
    }

    #[inline]
    fn take(&self, slot: &BorrowerSlot, outcome: u32) -> Taken<Self::Output> {
        Taken::Done(if outcome == GRANTED {
            Ok(())
        } else {
            debug_assert_eq!(outcome, REFUSED);
            Err(AlreadyBorrowed(slot.get()))
        })
    }

    /// A granted token passes on to the next waiter.
    fn pass_on(&self, slot: &BorrowerSlot, outcome: u32) {
        if outcome == GRANTED {
            let _ = self.release_on_behalf_of(slot.get());
        }
    }

    /// A waiter left (it took a token after an in-place wake-up, or was
    /// cancelled): a free token goes to the new head.
    fn withdrawn(
        &self,
        q: &mut QueueGuard<'_, BorrowerSlot>,
        _: &BorrowerSlot,
        wakes: &mut WakeList,
    ) {
        self.serve_waiters(&mut self.locked(q), false, wakes);
    }
}

impl fmt::Debug for CapacityLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.statistics();
        f.debug_struct("CapacityLimiter")
            .field("borrowed", &st.borrowed_tokens)
            .field("total", &st.total_tokens)
            .field("waiters", &st.waiting)
            .finish_non_exhaustive()
    }
}

/// A snapshot returned by [`CapacityLimiter::statistics`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimiterStatistics {
    /// Tokens held.
    pub borrowed_tokens: usize,
    /// Tokens in total.
    pub total_tokens: usize,
    /// Who holds them (in no particular order).
    pub borrowers: Vec<Borrower>,
    /// Threads and tasks queued for a token.
    pub waiting: usize,
}

/// The operation returned by [`CapacityLimiter::acquire`] and
/// [`acquire_on_behalf_of`](CapacityLimiter::acquire_on_behalf_of):
/// `.await` it, or `.block()`, `.block_for(d)`, `.block_until(t)`.
/// Dropping it cancels the wait (a token already handed to it passes on);
/// the caller loses only its place in the queue. Polling it again after it
/// finished panics; it is a `FusedFuture`.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct LimiterAcquire<'a> {
    limiter: &'a CapacityLimiter,
    /// `None` until first polled for `acquire()` (see [`Borrower`]).
    borrower: Option<Borrower>,
    waiter: Waiter<BorrowerSlot>,
}

impl<'a> Waitable for LimiterAcquire<'a> {
    type Output = Result<LimiterToken<'a>, AlreadyBorrowed>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        // SAFETY: `waiter` is never moved out of the pinned operation; only
        // the plain `borrower` field is written.
        let this = unsafe { self.get_unchecked_mut() };
        let borrower = match this.borrower {
            Some(b) => b,
            None => {
                let b = if cx.is_thread() {
                    Borrower::current_thread()
                } else {
                    Borrower::unique()
                };
                this.borrower = Some(b);
                b
            }
        };
        if this.waiter.is_idle() {
            // Not linked: the payload is ours to write (its readers take the
            // queue lock after we link it).
            this.waiter.data().set(borrower);
        }
        let limiter = this.limiter;
        this.waiter
            .poll(limiter, cx)
            .map(|r| r.map(|()| LimiterToken { limiter, borrower }))
    }

    crate::engine::driver::waiter_methods!();
}

impl Drop for LimiterAcquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.waiter.cancel(self.limiter);
    }
}

impl_operation!(impl['a] LimiterAcquire<'a> => Result<LimiterToken<'a>, AlreadyBorrowed>, timed: AcquireTokenTimeoutError);

impl fmt::Debug for LimiterAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimiterAcquire")
            .field("borrower", &self.borrower)
            .field("state", &self.waiter.state())
            .finish()
    }
}

/// Proof that a borrower holds a token of a [`CapacityLimiter`]; gives it
/// back on drop. `Send`: it may move between threads and tasks (it stays
/// the same borrower's token).
#[must_use = "if unused the token is given back at once"]
pub struct LimiterToken<'a> {
    limiter: &'a CapacityLimiter,
    borrower: Borrower,
}

impl<'a> LimiterToken<'a> {
    /// Who holds this token.
    pub fn borrower(&self) -> Borrower {
        self.borrower
    }

    /// The limiter it came from.
    pub fn limiter(&self) -> &'a CapacityLimiter {
        self.limiter
    }

    /// Gives the token back now (same as dropping it).
    pub fn release(self) {
        drop(self);
    }

    /// Keeps the token without a guard: the borrower goes on holding it
    /// until [`CapacityLimiter::release_on_behalf_of`] gives it back (as
    /// `Permit::forget` keeps a semaphore permit).
    ///
    /// ```
    /// use dualsync::{Borrower, CapacityLimiter};
    /// let l = CapacityLimiter::new(1);
    /// let job = Borrower::id(1);
    /// l.acquire_on_behalf_of(job).block().unwrap().forget();
    /// assert!(l.is_borrowing(job));
    /// l.release_on_behalf_of(job).unwrap();
    /// assert_eq!(l.borrowed_tokens(), 0);
    /// ```
    pub fn forget(self) {
        core::mem::forget(self);
    }
}

impl Drop for LimiterToken<'_> {
    #[inline]
    fn drop(&mut self) {
        let _ = self.limiter.release_on_behalf_of(self.borrower);
    }
}

impl fmt::Debug for LimiterToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimiterToken")
            .field("borrower", &self.borrower)
            .finish()
    }
}

#[cfg(test)]
mod tests;
