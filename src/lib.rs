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
//!   whatever had already been handed to it passes to the next waiter.
//! * **Blocking inside a runtime never panics**: it blocks that worker thread.
//! * **Runtime-agnostic**: no executor dependency.
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
//! | [`Semaphore::acquire`] / [`Semaphore::acquire_many`] | `async with sem` / `Semaphore.acquire()` | `acquire().await` / `acquire_many(n)` | – |
//! | [`Semaphore::try_acquire`] | `Semaphore.acquire_nowait()` (anyio) | `try_acquire()` | – |
//! | [`Semaphore::release`] / [`Semaphore::add_permits`] | `Semaphore.release()` | `add_permits(n)` | – |
//! | [`BoundedSemaphore`] | `asyncio.BoundedSemaphore` (`ValueError` → [`ReleaseError::OverRelease`]) | – | – |
//! | [`Barrier::wait`] | `await barrier.wait()` (index) | `Barrier::wait().await` (leader) | `std::sync::Barrier::wait()` |
//! | [`Barrier::abort`] / [`Barrier::reset`] | `Barrier.abort()` / `Barrier.reset()` | – | – |
//! | [`CapacityLimiter::acquire`] / [`CapacityLimiter::acquire_on_behalf_of`] | `async with limiter` / `CapacityLimiter.acquire_on_behalf_of(b)` (anyio) | `Semaphore::acquire` (no borrower) | – |
//! | [`CapacityLimiter::try_acquire_on_behalf_of`] | `acquire_on_behalf_of_nowait(b)` (anyio) | `try_acquire()` | – |
//! | [`CapacityLimiter::set_total_tokens`] | `limiter.total_tokens = n` (anyio) | `add_permits` / `forget_permits` | – |
//! | [`ResourceGuard::enter`] | `with ResourceGuard(action):` (anyio, `BusyResourceError`) | – | – |
//!
//! ## The C ABI
//!
//! `include/dualsync.h` declares `dualsync_mutex_*` and friends; see the
//! README for the link line.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod barrier;
mod condition;
pub(crate) mod engine;
mod error;
mod event;
pub mod ffi;
mod limiter;
mod mutex;
mod queue;
mod resource_guard;
mod semaphore;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use condition::{
    Condition, ConditionGuard, ConditionStatistics, ConditionWait, WaitTimeoutResult, WaitWhile,
};
pub use error::{
    AcquireError, AlreadyBorrowed, BrokenBarrier, BusyResource, GetError, NotBorrowed, PutError,
    PutTimeoutError, ReleaseError, TaskDoneError, Timeout, TryAcquireError, TryAcquireTokenError,
    TryGetError, TryPutError, TryWaitError, ZeroParties, ZeroTokens,
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
pub use semaphore::{
    BoundedSemaphore, MAX_PERMITS, OwnedPermit, Permit, Semaphore, SemaphoreAcquire,
    SemaphoreAcquireArc, SemaphoreStatistics,
};
