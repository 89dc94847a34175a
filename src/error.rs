//! Every error type of the crate, in one place.
//!
//! Each is `Debug`, `Display`, `std::error::Error`, `Clone` and `PartialEq`
//! (the item-carrying queue errors give their item back with
//! `into_inner`). Each primitive's operations name theirs in their docs;
//! the crate docs have the whole table.
//!
//! Timed waits (`block_for` / `block_until`) return one flat error per
//! operation, as std, crossbeam and flume do: an operation that cannot fail
//! otherwise gives [`Timeout`]; one that can gives an enum with a `Timeout`
//! variant next to its own failures ([`AcquireTimeoutError`],
//! [`AcquireTokenTimeoutError`], [`BarrierTimeoutError`],
//! [`GetTimeoutError`], [`PutTimeoutError`], [`SendTimeoutError`],
//! [`RecvTimeoutError`], [`ReserveTimeoutError`]). Each converts from `Timeout`
//! and from the operation's untimed error, so `?` works across them.

use std::borrow::Cow;
use std::fmt;

use crate::limiter::Borrower;

// ---------------------------------------------------------------- engine timeouts

/// The error of a `block_for` / `block_until` whose time ran out. The
/// operation was cancelled: nothing was acquired, nothing was lost.
///
/// ```
/// let m = dualsync::Mutex::new(());
/// let _g = m.lock().block();
/// let e = m.lock().block_for(std::time::Duration::from_millis(1)).unwrap_err();
/// assert_eq!(format!("{e:?}"), "Timeout");
/// assert_eq!(e.to_string(), "the operation timed out");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timeout(pub(crate) ());

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Timeout")
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation timed out")
    }
}

impl std::error::Error for Timeout {}

/// For a flat timed-wait error enum with a `Timeout` variant: `From<Timeout>`,
/// `Display` (one message per variant) and `Error`.
macro_rules! timeout_error {
    ($name:ident { $($var:ident => $msg:literal),+ $(,)? }) => {
        impl From<Timeout> for $name {
            fn from(_: Timeout) -> Self {
                $name::Timeout
            }
        }

        timeout_error_display!($name { $($var => $msg),+ });
    };
}

/// `Display` (one message per variant) and `Error` for an error enum.
macro_rules! timeout_error_display {
    ($name:ident { $($var:ident => $msg:literal),+ $(,)? }) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $($name::$var { .. } => $msg,)+
                })
            }
        }

        impl std::error::Error for $name {}
    };
}

// ---------------------------------------------------------------- Barrier

/// The error of a wait on a broken barrier: [`Barrier::abort`](crate::Barrier::abort) was called
/// (before or during the wait), or [`Barrier::reset`](crate::Barrier::reset) during the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrokenBarrier;

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl std::error::Error for BrokenBarrier {}

/// The error of [`BarrierWait::block_for`](crate::BarrierWait::block_for)
/// / `block_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BarrierTimeoutError {
    /// The time ran out before the round completed: the arrival was
    /// withdrawn (it was not counted).
    Timeout,
    /// The barrier is broken (as [`BrokenBarrier`]).
    Broken,
}

timeout_error!(BarrierTimeoutError {
    Timeout => "the operation timed out",
    Broken => "the barrier is broken",
});

impl From<BrokenBarrier> for BarrierTimeoutError {
    fn from(_: BrokenBarrier) -> Self {
        BarrierTimeoutError::Broken
    }
}

/// The error of [`Barrier::try_new`](crate::Barrier::try_new) with zero
/// parties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ZeroParties;

impl fmt::Display for ZeroParties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a barrier needs at least one party")
    }
}

impl std::error::Error for ZeroParties {}

/// Why [`Barrier::try_wait`](crate::Barrier::try_wait) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryWaitError {
    /// The barrier is broken.
    Broken,
    /// This arrival would not complete the generation, so it would wait;
    /// nothing changed.
    WouldBlock,
}

impl fmt::Display for TryWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryWaitError::Broken => f.write_str("the barrier is broken"),
            TryWaitError::WouldBlock => f.write_str("the barrier would wait"),
        }
    }
}

impl std::error::Error for TryWaitError {}

// ---------------------------------------------------------------- Semaphore

/// Why [`Semaphore::acquire`](crate::Semaphore::acquire) failed: the semaphore is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcquireError {
    /// [`Semaphore::close`](crate::Semaphore::close) was called; closing is permanent.
    Closed,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the semaphore is closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`](crate::Semaphore::try_acquire) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits now, or earlier waiters are queued (FIFO: a
    /// `try_acquire` never overtakes a waiter).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("the semaphore is closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Why [`Semaphore::add_permits`](crate::Semaphore::add_permits) / [`BoundedSemaphore::release`](crate::BoundedSemaphore::release) failed.
/// The semaphore is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseError {
    /// A bounded semaphore would hold more permits than its initial value
    /// (asyncio's `ValueError`).
    OverRelease,
    /// The count would exceed [`MAX_PERMITS`](crate::MAX_PERMITS).
    Overflow,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseError::OverRelease => {
                f.write_str("released more permits than the bounded semaphore's initial value")
            }
            ReleaseError::Overflow => f.write_str("the permit count would overflow"),
        }
    }
}

impl std::error::Error for ReleaseError {}

/// The error of [`SemaphoreAcquire::block_for`](crate::SemaphoreAcquire::block_for)
/// / `block_until` (and of the `_arc` form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcquireTimeoutError {
    /// The time ran out; nothing was acquired.
    Timeout,
    /// The semaphore is closed (as [`AcquireError::Closed`]).
    Closed,
}

timeout_error!(AcquireTimeoutError {
    Timeout => "the operation timed out",
    Closed => "the semaphore is closed",
});

impl From<AcquireError> for AcquireTimeoutError {
    fn from(e: AcquireError) -> Self {
        match e {
            AcquireError::Closed => AcquireTimeoutError::Closed,
        }
    }
}

// ---------------------------------------------------------------- CapacityLimiter

/// Asking for a second token for a borrower that already holds one (anyio's
/// `RuntimeError`). Nothing was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyBorrowed(pub Borrower);

impl fmt::Display for AlreadyBorrowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is already holding one of this CapacityLimiter's tokens",
            self.0
        )
    }
}

impl std::error::Error for AlreadyBorrowed {}

/// The error of [`CapacityLimiter::try_acquire`](crate::CapacityLimiter::try_acquire) and
/// [`try_acquire_on_behalf_of`](crate::CapacityLimiter::try_acquire_on_behalf_of).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireTokenError {
    /// No token is free right now (or others are queued for one).
    WouldBlock,
    /// The borrower already holds a token.
    AlreadyBorrowed(AlreadyBorrowed),
}

impl fmt::Display for TryAcquireTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireTokenError::WouldBlock => {
                f.write_str("no token of the CapacityLimiter is free")
            }
            TryAcquireTokenError::AlreadyBorrowed(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for TryAcquireTokenError {}

/// The error of [`LimiterAcquire::block_for`](crate::LimiterAcquire::block_for)
/// / `block_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireTokenTimeoutError {
    /// The time ran out; no token was taken.
    Timeout,
    /// The borrower already holds a token (as [`AlreadyBorrowed`]).
    AlreadyBorrowed(Borrower),
}

timeout_error!(AcquireTokenTimeoutError {
    Timeout => "the operation timed out",
    AlreadyBorrowed => "this borrower already holds a token of the limiter",
});

impl From<AlreadyBorrowed> for AcquireTokenTimeoutError {
    fn from(e: AlreadyBorrowed) -> Self {
        AcquireTokenTimeoutError::AlreadyBorrowed(e.0)
    }
}

impl From<AlreadyBorrowed> for TryAcquireTokenError {
    fn from(e: AlreadyBorrowed) -> Self {
        TryAcquireTokenError::AlreadyBorrowed(e)
    }
}

/// [`CapacityLimiter::release_on_behalf_of`](crate::CapacityLimiter::release_on_behalf_of) for a borrower holding nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotBorrowed(pub Borrower);

impl fmt::Display for NotBorrowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not holding any of this CapacityLimiter's tokens",
            self.0
        )
    }
}

impl std::error::Error for NotBorrowed {}

/// [`CapacityLimiter::set_total_tokens`](crate::CapacityLimiter::set_total_tokens) with 0 (a limiter needs at least
/// one token, as in anyio). Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroTokens;

impl fmt::Display for ZeroTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CapacityLimiter needs at least one token")
    }
}

impl std::error::Error for ZeroTokens {}

// ---------------------------------------------------------------- Queue

/// The error of [`Queue::put`](crate::Queue::put): the queue is shut down. The item comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum PutError<T> {
    /// The queue was shut down; here is the item.
    ShutDown(T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutError::ShutDown(t) => t,
        }
    }
}

/// The error of [`Queue::try_put`](crate::Queue::try_put). The item comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TryPutError<T> {
    /// The queue is full; here is the item.
    Full(T),
    /// The queue was shut down; here is the item.
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(t) | TryPutError::ShutDown(t) => t,
        }
    }
}

/// The error of [`Put::block_for`](crate::Put::block_for) / [`Put::block_until`](crate::Put::block_until). The item comes
/// back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum PutTimeoutError<T> {
    /// The time ran out while the queue was full; here is the item.
    Timeout(T),
    /// The queue was shut down; here is the item.
    ShutDown(T),
}

impl<T> PutTimeoutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutTimeoutError::Timeout(t) | PutTimeoutError::ShutDown(t) => t,
        }
    }
}

/// The error of [`Queue::get`](crate::Queue::get): shut down (and, for `shutdown(false)`,
/// drained).
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum GetError {
    /// The queue was shut down and has no item left for this getter.
    ShutDown,
}

/// The error of [`Queue::try_get`](crate::Queue::try_get).
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum TryGetError {
    /// No item right now.
    Empty,
    /// The queue was shut down and has no item left.
    ShutDown,
}

/// [`Queue::task_done`](crate::Queue::task_done) was called more times than items were put
/// (asyncio's `ValueError`).
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub struct TaskDoneError(pub(crate) ());

macro_rules! item_error {
    ($ty:ident, $($var:ident => $msg:literal),+) => {
        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($ty::$var(_) => f.write_str(concat!(stringify!($ty), "::", stringify!($var), "(..)")),)+
                }
            }
        }
        impl<T> fmt::Display for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($ty::$var(_) => f.write_str($msg),)+
                }
            }
        }
        impl<T> std::error::Error for $ty<T> {}
    };
}
item_error!(PutError, ShutDown => "the queue is shut down");
item_error!(TryPutError, Full => "the queue is full", ShutDown => "the queue is shut down");
item_error!(PutTimeoutError, Timeout => "the put timed out", ShutDown => "the queue is shut down");
item_error!(SendError, Disconnected => "every receiver is gone");
item_error!(TrySendError, Full => "the channel is full", Disconnected => "every receiver is gone");
item_error!(SendTimeoutError, Timeout => "the send timed out", Disconnected => "every receiver is gone");

impl<T> From<PutError<T>> for SendError<T> {
    fn from(e: PutError<T>) -> Self {
        SendError::Disconnected(e.into_inner())
    }
}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(e: SendError<T>) -> Self {
        SendTimeoutError::Disconnected(e.into_inner())
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down")
    }
}
impl std::error::Error for GetError {}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::Empty => "the queue is empty",
            TryGetError::ShutDown => "the queue is shut down",
        })
    }
}
impl std::error::Error for TryGetError {}

/// The error of [`Get::block_for`](crate::Get::block_for) / `block_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetTimeoutError {
    /// The time ran out while the queue was empty; nothing was taken.
    Timeout,
    /// The queue was shut down and has no item left for this getter (as
    /// [`GetError::ShutDown`]).
    ShutDown,
}

timeout_error!(GetTimeoutError {
    Timeout => "the operation timed out",
    ShutDown => "the queue is shut down",
});

impl From<GetError> for GetTimeoutError {
    fn from(e: GetError) -> Self {
        match e {
            GetError::ShutDown => GetTimeoutError::ShutDown,
        }
    }
}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than items were put")
    }
}
impl std::error::Error for TaskDoneError {}

// ---------------------------------------------------------------- ResourceGuard

/// The error of [`ResourceGuard::enter`](crate::ResourceGuard::enter) when someone is already inside;
/// its `Display` names the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyResource {
    pub(crate) action: Cow<'static, str>,
}

impl BusyResource {
    /// The action the guard protects.
    pub fn action(&self) -> &str {
        &self.action
    }
}

impl fmt::Display for BusyResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this resource is busy: another thread or task is already {} it",
            self.action
        )
    }
}

impl std::error::Error for BusyResource {}

// ---------------------------------------------------------------- channel

/// The error of [`Sender::send`](crate::Sender::send): every
/// [`Receiver`](crate::Receiver) is gone, so the item can never be
/// received. The item comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendError<T> {
    /// Every receiver is gone; here is the item.
    Disconnected(T),
}

impl<T> SendError<T> {
    /// The item that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendError::Disconnected(t) => t,
        }
    }
}

/// The error of [`Sender::try_send`](crate::Sender::try_send). The item
/// comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel is full; here is the item.
    Full(T),
    /// Every receiver is gone; here is the item.
    Disconnected(T),
}

impl<T> TrySendError<T> {
    /// The item that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Disconnected(t) => t,
        }
    }
}

/// The error of [`ChannelSend::block_for`](crate::ChannelSend::block_for) /
/// `block_until`. The item comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The time ran out while the channel was full; here is the item.
    Timeout(T),
    /// Every receiver is gone; here is the item.
    Disconnected(T),
}

impl<T> SendTimeoutError<T> {
    /// The item that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(t) | SendTimeoutError::Disconnected(t) => t,
        }
    }
}

/// The error of [`Receiver::recv`](crate::Receiver::recv): every sender is
/// gone and nothing is left to receive (the end of the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every sender is gone and the channel is empty")
    }
}

impl std::error::Error for RecvError {}

impl From<GetError> for RecvError {
    fn from(_: GetError) -> Self {
        RecvError
    }
}

/// The error of [`Receiver::try_recv`](crate::Receiver::try_recv).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// Nothing to receive right now.
    Empty,
    /// Every sender is gone and the channel is empty.
    Disconnected,
}

timeout_error_display!(TryRecvError {
    Empty => "the channel is empty",
    Disconnected => "every sender is gone and the channel is empty",
});

/// The error of [`ChannelRecv::block_for`](crate::ChannelRecv::block_for) /
/// `block_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// The time ran out while the channel was empty; nothing was taken.
    Timeout,
    /// Every sender is gone and the channel is empty (as [`RecvError`]).
    Disconnected,
}

timeout_error!(RecvTimeoutError {
    Timeout => "the operation timed out",
    Disconnected => "every sender is gone and the channel is empty",
});

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> Self {
        RecvTimeoutError::Disconnected
    }
}

/// The error of [`Sender::reserve`](crate::Sender::reserve) and
/// [`Sender::reserve_owned`](crate::Sender::reserve_owned): every
/// [`Receiver`](crate::Receiver) is gone, so no slot will ever be free.
/// Also the error of the [`Sender`](crate::Sender)'s `Sink` impl, where it
/// means the same, or that this send half was closed with `poll_close`
/// (as for a closed `futures::channel::mpsc::Sender`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReserveError {
    /// Every receiver is gone (or, for the `Sink`, this half was closed).
    Disconnected,
}

timeout_error_display!(ReserveError {
    Disconnected => "the channel is disconnected",
});

/// The error of [`Sender::try_reserve`](crate::Sender::try_reserve) and
/// [`Sender::try_reserve_owned`](crate::Sender::try_reserve_owned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryReserveError {
    /// No free slot right now (on a rendezvous channel: no receiver
    /// waiting that no send or permit has claimed).
    Full,
    /// Every receiver is gone.
    Disconnected,
}

timeout_error_display!(TryReserveError {
    Full => "the channel is full",
    Disconnected => "the channel is disconnected",
});

/// The error of [`ChannelReserve::block_for`](crate::ChannelReserve::block_for)
/// / `block_until` (and the same of
/// [`ChannelReserveOwned`](crate::ChannelReserveOwned)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReserveTimeoutError {
    /// The time ran out while the channel was full; no slot is held.
    Timeout,
    /// Every receiver is gone (as [`ReserveError::Disconnected`]).
    Disconnected,
}

timeout_error!(ReserveTimeoutError {
    Timeout => "the operation timed out",
    Disconnected => "the channel is disconnected",
});

impl From<ReserveError> for ReserveTimeoutError {
    fn from(e: ReserveError) -> Self {
        match e {
            ReserveError::Disconnected => ReserveTimeoutError::Disconnected,
        }
    }
}
