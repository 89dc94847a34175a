//! # dualsync
//!
//! Synchronization primitives that OS threads and async tasks share **on the
//! same object**, with one FIFO waiter queue, timeouts, cancel-safety and a C
//! ABI.
//!
//! ## One operation, four ways to finish it
//!
//! Every operation that may wait returns an *operation value*, which is a
//! [`Future`]. The caller finishes it in whichever
//! world it lives in:
//!
//! ```
//! # use dualsync::Mutex;
//! # use std::time::{Duration, Instant};
//! # let mutex = Mutex::new(());
//! # futures::executor::block_on(async {
//! let guard = mutex.lock().await;                                 // a task: never blocks the executor
//! # drop(guard); });
//! let guard = mutex.lock().block();                               // a thread: parks it
//! # drop(guard);
//! let guard = mutex.lock().block_for(Duration::from_millis(5));   // Err(Timeout) after 5 ms
//! # drop(guard);
//! let guard = mutex.lock().block_until(Instant::now());           // with a deadline
//! # drop(guard);
//! let guard = mutex.try_lock();                                   // never waits
//! ```
//!
//! Rules that hold for every primitive:
//!
//! * **Dual-mode on one object**: threads and tasks wait in the same FIFO
//!   queue; a release by a thread wakes a task and the other way round.
//! * **No allocation per wait**: the waiter's node lives in the operation
//!   value (a pinned future, or the blocked thread's stack).
//! * **Cancel-safe**: dropping an operation before it completes (or a
//!   `block_for` timing out) leaves the primitive as if it was never called;
//!   whatever had already been handed to it passes to the next waiter. What
//!   the *caller* gives up by dropping a pending operation (tokio's sense of
//!   the word) is in the table below: most give up nothing but their place;
//!   a `put` gives up its item unless it is cancelled with [`Put::cancel`].
//! * **Fair**: waiters are served in arrival order; a release may let a
//!   newcomer barge only while the head waiter has waited less than
//!   [`FAIRNESS_BOUND`]; `new_fair` constructors hand off strictly. A
//!   [`RwLock`] with a writer queued lets no new reader in.
//! * **Fused**: operations are `FusedFuture`s; polling one again after it
//!   finished panics, with the same message for all.
//! * **Blocking inside a runtime never panics**: it blocks that worker thread.
//! * **Runtime-agnostic**: no executor dependency.
//!
//! ## Every waiting operation
//!
//! `.await` and `.block()` give the output; `.block_for(d)` /
//! `.block_until(t)` give `Result<_, E>` with one flat error `E` that holds
//! both the timeout and the operation's own failure (as std, crossbeam and
//! flume do); `try_*` never waits.
//!
//! | operation | `.await` / `.block()` | `.block_for` / `.block_until` error | never waits | dropped while pending, the caller loses |
//! |---|---|---|---|---|
//! | [`Mutex::lock`] / [`Mutex::lock_arc`] | guard | [`Timeout`] | [`Mutex::try_lock`] | its place |
//! | [`RwLock::read`] / [`RwLock::write`] / [`RwLock::upgradable_read`] / `_arc` | guard | [`Timeout`] | [`RwLock::try_read`] / `try_write` / `try_upgradable_read` | its place |
//! | [`RwLockUpgradableReadGuard::upgrade`] | write guard | [`Timeout`] | [`RwLockUpgradableReadGuard::try_upgrade`] | **the upgradable lock** (released; `try_upgrade` keeps it) |
//! | [`Semaphore::acquire`] / `acquire_many` / `_arc` (and [`BoundedSemaphore`]) | `Result<Permit, AcquireError>` | [`AcquireTimeoutError`] | [`Semaphore::try_acquire`] | its place |
//! | [`CapacityLimiter::acquire`] / `acquire_on_behalf_of` | `Result<LimiterToken, AlreadyBorrowed>` | [`AcquireTokenTimeoutError`] | [`CapacityLimiter::try_acquire_on_behalf_of`] | its place |
//! | [`Event::wait`] | `()` | [`Timeout`] | [`Event::try_wait`] | nothing |
//! | [`Condition::wait`] / `wait_while` | guard | `(guard, WaitTimeoutResult)` | – | the guard it was given (a notification it got passes on) |
//! | [`Barrier::wait`] | `Result<BarrierWaitResult, BrokenBarrier>` | [`BarrierTimeoutError`] | [`Barrier::try_wait`] | its arrival, and its index if its round completed ([`BarrierWait::cancel`] tells) |
//! | [`Queue::put`] | `Result<(), PutError<T>>` | [`PutTimeoutError<T>`] (item back) | [`Queue::try_put`] | **the item** ([`Put::cancel`] gives it back) |
//! | [`Queue::get`] | `Result<T, GetError>` | [`GetTimeoutError`] | [`Queue::try_get`] | nothing (an item handed to it passes on, or goes back to the front) |
//! | [`Queue::join`] | `()` | [`Timeout`] | – | nothing |
//! | [`Sender::send`] | `Result<(), SendError<T>>` | [`SendTimeoutError<T>`] (item back) | [`Sender::try_send`] | **the item** ([`ChannelSend::cancel`] gives it back; [`Sender::reserve`] first risks none) |
//! | [`Sender::reserve`] / [`Sender::reserve_owned`] | `Result<SendPermit, ReserveError>` | [`ReserveTimeoutError`] | [`Sender::try_reserve`] | its place (a slot it was handed passes on) |
//! | [`Receiver::recv`] / [`Receiver::recv_many`] | `Result<T, RecvError>` / count | [`RecvTimeoutError`] / [`Timeout`] | [`Receiver::try_recv`] | nothing (an item handed to it passes on) |
//! | [`ResourceGuard::enter`] | – | – | `Result<token, BusyResource>` | – |
//!
//! ## Names
//!
//! | dualsync | asyncio / anyio | tokio | parking_lot / std |
//! |---|---|---|---|
//! | [`Mutex::lock`] `.await` / `.block()` | `async with lock` / `Lock.acquire()` | `Mutex::lock().await` / `blocking_lock()` | `Mutex::lock()` |
//! | [`Mutex::try_lock`] | `Lock.acquire_nowait()` (anyio) | `try_lock()` | `try_lock()` |
//! | `.block_for(d)` | `asyncio.wait_for(lock.acquire(), d)` | `tokio::time::timeout` | `try_lock_for(d)` |
//! | [`Mutex::lock_arc`] | a lock released from a callback | `lock_owned()` | `lock_arc()` |
//! | [`Mutex::is_locked`] | `Lock.locked()` | – | `is_locked()` |
//! | [`Mutex::statistics`] | `Lock.statistics()` (anyio) | – | – |
//! | [`RwLock::read`] / [`RwLock::write`] | – | `RwLock::read().await` / `blocking_read()` | `RwLock::read()` / `write()` |
//! | [`RwLock::upgradable_read`] / [`RwLockUpgradableReadGuard::upgrade`] | – | – (async-lock: `upgradable_read`) | `upgradable_read()` / `upgrade()` (parking_lot) |
//! | [`RwLockWriteGuard::downgrade`] / [`RwLockReadGuard::map`] | – | `downgrade()` / `map()` | `downgrade()` / `map()` (parking_lot) |
//! | [`Semaphore::acquire`] / [`Semaphore::acquire_many`] | `async with sem` / `Semaphore.acquire()` | `acquire().await` / `acquire_many(n)` | – |
//! | [`Semaphore::try_acquire`] | `Semaphore.acquire_nowait()` (anyio) | `try_acquire()` | – |
//! | [`Semaphore::release`] / [`Semaphore::add_permits`] | `Semaphore.release()` | `add_permits(n)` | – |
//! | [`BoundedSemaphore`] | `asyncio.BoundedSemaphore` (`ValueError` → [`ReleaseError::OverRelease`]) | – | – |
//! | [`Barrier::wait`] | `await barrier.wait()` (index) | `Barrier::wait().await` (leader) | `std::sync::Barrier::wait()` |
//! | [`Barrier::abort`] / [`Barrier::reset`] | `Barrier.abort()` / `Barrier.reset()` | – | – |
//! | [`CapacityLimiter::acquire`] / [`CapacityLimiter::acquire_on_behalf_of`] | `async with limiter` / `CapacityLimiter.acquire_on_behalf_of(b)` (anyio) | `Semaphore::acquire` (no borrower) | – |
//! | [`CapacityLimiter::try_acquire_on_behalf_of`] | `acquire_on_behalf_of_nowait(b)` (anyio) | `try_acquire()` | – |
//! | [`CapacityLimiter::set_total_tokens`] | `limiter.total_tokens = n` (anyio) | `add_permits` / `forget_permits` | – |
//! | [`Event::wait`] / [`Event::set`] / [`Event::clear`] | `await event.wait()` / `set()` / `clear()` | `Notify` (no level) | – |
//! | [`Event::is_set`] / [`Event::try_wait`] | `Event.is_set()` | – | – |
//! | [`Condition::wait`] / [`Condition::wait_while`] | `await cond.wait()` / `await cond.wait_for(pred)` | – | `Condvar::wait` / `wait_while` |
//! | [`Condition::notify`] / [`Condition::notify_all`] | `cond.notify(n)` / `notify_all()` | – | `notify_one` / `notify_all` |
//! | [`Queue::put`] / [`Queue::get`] | `await q.put(x)` / `await q.get()` | `mpsc::Sender::send` / `Receiver::recv` | `SyncSender::send` / `Receiver::recv` |
//! | [`Queue::try_put`] / [`Queue::try_get`] | `put_nowait` / `get_nowait` | `try_send` / `try_recv` | `try_send` / `try_recv` |
//! | [`Queue::task_done`] / [`Queue::join`] | `task_done()` / `await q.join()` | – | – |
//! | [`Queue::shutdown`] | `q.shutdown(immediate)` (3.13) | `close()` | – |
//! | `Queue<T, Lifo>` / `Queue<T, Priority>` | `LifoQueue` / `PriorityQueue` | – | – |
//! | [`channel`] / [`Sender::send`] / [`Receiver::recv`] | `create_memory_object_stream(n)` / `send` / `receive` (anyio) | `mpsc::channel(n)` / `send` / `recv` | `crossbeam_channel::bounded(n)`, `std::sync::mpsc::sync_channel(n)` |
//! | `channel(0)` | `create_memory_object_stream()` (anyio's default; trio) | – | `bounded(0)` / `sync_channel(0)` |
//! | [`Sender::reserve`] / [`SendPermit::send`] | – | `Sender::reserve` / `Permit::send` | – |
//! | [`Sender::close`] / `Sink` / `Stream` | `aclose()` (anyio) | drop / `PollSender` / `ReceiverStream` | drop |
//! | [`ResourceGuard::enter`] | `with ResourceGuard(action):` (anyio, `BusyResourceError`) | – | – |
//!
//! ## The C ABI
//!
//! `include/dualsync.h` declares `dualsync_mutex_*` and friends, which
//! [`ffi`] defines. The C library (`libdualsync.a`, `libdualsync.so` with
//! its SONAME, `dualsync.pc`) is a build of this crate with the `capi`
//! feature: `make` and `make install PREFIX=...` in a checkout (see the
//! README). A Rust crate that depends on dualsync builds the rlib only, and
//! no build step of it writes outside `OUT_DIR`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod barrier;
mod bridge;
mod channel;
mod condition;
pub(crate) mod engine;
mod error;
mod event;
pub mod ffi;
mod limiter;
mod mutex;
mod queue;
mod resource_guard;
mod rwlock;
mod semaphore;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use channel::{
    ChannelRecv, ChannelRecvMany, ChannelReserve, ChannelReserveOwned, ChannelSend,
    ChannelStatistics, OwnedSendPermit, Receiver, SendPermit, Sender, channel, unbounded_channel,
};
pub use condition::{
    Condition, ConditionGuard, ConditionStatistics, ConditionWait, WaitTimeoutResult, WaitWhile,
};
pub use error::{
    AcquireError, AcquireTimeoutError, AcquireTokenTimeoutError, AlreadyBorrowed,
    BarrierTimeoutError, BrokenBarrier, BusyResource, GetError, GetTimeoutError, NotBorrowed,
    PutError, PutTimeoutError, RecvError, RecvTimeoutError, ReleaseError, ReserveError,
    ReserveTimeoutError, SendError, SendTimeoutError, TaskDoneError, Timeout, TryAcquireError,
    TryAcquireTokenError, TryGetError, TryPutError, TryRecvError, TryReserveError, TrySendError,
    TryWaitError, ZeroParties, ZeroTokens,
};
pub use event::{Event, EventStatistics, EventWait};
pub use limiter::{Borrower, CapacityLimiter, LimiterAcquire, LimiterStatistics, LimiterToken};
pub use mutex::{
    FAIRNESS_BOUND, Lock, LockArc, Mutex, MutexGuard, MutexStatistics, OwnedMutexGuard,
};
pub use queue::{
    Fifo, FifoQueue, Get, Join, Lifo, LifoQueue, Order, Priority, PriorityQueue, Put, Queue,
    QueueStatistics,
};
pub use resource_guard::{ResourceGuard, ResourceGuardToken};
pub use rwlock::{
    MAX_READERS, MappedRwLockReadGuard, MappedRwLockWriteGuard, OwnedRwLockMappedWriteGuard,
    OwnedRwLockReadGuard, OwnedRwLockUpgradableReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockRead, RwLockReadArc, RwLockReadGuard, RwLockStatistics, RwLockUpgradableRead,
    RwLockUpgradableReadArc, RwLockUpgradableReadGuard, RwLockUpgrade, RwLockUpgradeArc,
    RwLockWrite, RwLockWriteArc, RwLockWriteGuard,
};
pub use semaphore::{
    BoundedSemaphore, MAX_PERMITS, OwnedPermit, Permit, Semaphore, SemaphoreAcquire,
    SemaphoreAcquireArc, SemaphoreStatistics,
};
