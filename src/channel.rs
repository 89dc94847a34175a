//! Memory object streams (anyio): a channel with cloneable send and receive
//! halves, shared by threads and tasks, built on [`Queue`]: bounded,
//! unbounded, or a rendezvous (capacity 0); send permits (`reserve`); a
//! `Stream` of the items and a `Sink` for them.
//!
//! # Layout
//!
//! ```text
//!  Arc<Shared<T>>
//!  +--------------------------------------------------------------+
//!  | queue: Queue<T>      the items and every waiter (its store and |
//!  |                      its putters / getters wait queues)       |
//!  | senders: AtomicUsize   open `Sender` clones                    |
//!  | receivers: AtomicUsize open `Receiver` clones                  |
//!  +--------------------------------------------------------------+
//! ```
//!
//! There is no second queue: sending is the queue's `put`, receiving its
//! `get`, and disconnection is its `shutdown`:
//!
//! | event | queue | what the other side sees |
//! |---|---|---|
//! | the last `Sender` goes | `shutdown(false)` | receivers drain what is buffered, then `Disconnected` (the end of the stream) |
//! | the last `Receiver` goes | `shutdown(true)` (buffered items dropped) | every send, blocked or not, fails at once with its item back |
//!
//! The queue is made by `Queue::for_channel`: its store takes
//! reservations (a bounded channel's ring keeps the count of held slots in
//! its tail word, so a plain send or receive costs what a queue's does),
//! and capacity 0 is the queue's rendezvous store, whose room is the
//! receivers waiting (see `queue/store.rs`).
//!
//! | channel operation | queue |
//! |---|---|
//! | `reserve` / `try_reserve` | a reservation waiting among the putters / `try_reserve` |
//! | `SendPermit::send` / drop | `send_reserved` (no room check) / `unreserve` (the slot goes to the front putter) |
//! | `Sink::poll_ready` / `start_send` | `poll_reserve_with` (a waiter boxed in the `Sender`) / `send_reserved` |
//!
//! # Invariants
//!
//! 1. `senders` (`receivers`) counts the live `Sender` (`Receiver`) values;
//!    it only reaches 0 once, when the last one is dropped, and that drop
//!    shuts the queue down. A count never goes up from 0 (a clone needs a
//!    live half).
//! 2. A receiver's `Stream` wait is a waiter node boxed in the `Receiver`
//!    (pinned on the heap, reused across items); the receiver cancels it
//!    before it lets go of the channel. A sender's `Sink` wait likewise.
//! 3. Every held slot belongs to exactly one owner: a `SendPermit`, an
//!    `OwnedSendPermit`, or a `Sender` whose `Sink` is ready. The owner
//!    fills it (`send_reserved`) or releases it (`unreserve`) exactly once,
//!    and a borrowed permit keeps its `Sender` alive, an owned one holds a
//!    clone: so while a slot is held the senders count is not 0, and only
//!    the *receivers* can shut the queue down under it (the permit's item
//!    is then dropped, as buffered items are).

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::driver::{Waitable, impl_future, impl_operation};
use crate::engine::node::WaitCx;
use crate::engine::sync::{AtomicUsize, Ordering};
use crate::engine::waiter::Waiter;
use crate::error::{
    GetError, PutError, PutTimeoutError, RecvError, RecvTimeoutError, SendError, SendTimeoutError,
    TryGetError, TryPutError, TryRecvError, TryReserveError, TrySendError,
};
use crate::queue::{Get, ItemCell, PushError, Put, Queue};

/// For a channel operation that is a queue operation (its field `$field`,
/// structurally pinned: never moved out of the pinned operation, which has
/// no `Drop` of its own) mapped to the channel's output: the
/// [`Waitable`] methods that are the field's. Expands inside the
/// `impl Waitable`.
macro_rules! wait_through {
    ($field:ident) => {
        fn wait_state(self: Pin<&Self>) -> &crate::engine::sync::AtomicU32 {
            // SAFETY: structural pinning of the field (see the macro).
            unsafe { self.map_unchecked(|s| &s.$field) }.wait_state()
        }

        fn is_terminated(&self) -> bool {
            self.$field.is_terminated()
        }
    };
}

mod permit;
mod sink;

pub use permit::{ChannelReserve, ChannelReserveOwned, OwnedSendPermit, SendPermit};

struct Shared<T> {
    queue: Queue<T>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

/// A channel holding at most `capacity` items, with one [`Sender`] and one
/// [`Receiver`] (clone either for more): anyio's
/// `create_memory_object_stream(capacity)`, MPMC, shared by threads and
/// tasks.
///
/// * When every `Sender` is gone, receivers get what is left, then
///   [`RecvError`] (the end of the stream; `Stream` ends, `iter()` stops).
/// * When every `Receiver` is gone, every send fails at once with its item
///   given back ([`SendError::Disconnected`]).
///
/// # Capacity 0: a rendezvous channel
///
/// `channel(0)` (anyio's default, trio's) buffers nothing: a send
/// completes only once a receiver has its item.
///
/// * A `send` that finds a receiver waiting hands the item to it and
///   returns at once; otherwise it waits until a receiver takes the item
///   from it. [`Sender::try_send`] succeeds only when a receiver is waiting
///   (one that no other send or permit has claimed), else
///   [`TrySendError::Full`]; [`Receiver::try_recv`] succeeds only when a
///   send is waiting, else [`TryRecvError::Empty`].
/// * A send dropped or timed out while it waits did not deliver:
///   [`ChannelSend::cancel`] gives the item back, `block_for` returns it in
///   [`SendTimeoutError::Timeout`]. Once a receiver took the item the send
///   is done: `cancel` says `None`, `block_for` returns `Ok`, a dropped
///   send future simply did not see its `Ok`.
/// * A receiver handed an item that is dropped before it runs passes the
///   item to the next waiting receiver; when none waits, the item stays in
///   the channel and the next `recv` or `try_recv` gets it (a timed-out
///   `block_for` handed an item as it gave up returns it). That is the
///   only time a rendezvous channel holds an item
///   ([`ChannelStatistics::current_buffer_used`] counts it). Nothing is
///   lost or received twice.
/// * [`Sender::reserve`] waits until a receiver is waiting that no other
///   send or permit has claimed, and claims it: the permit's `send` hands
///   the item over without waiting (if that receiver gave up meanwhile,
///   the item waits in the channel for the next one, as above).
///
/// ```
/// let (tx, rx) = dualsync::channel(0);
/// assert!(tx.try_send(1).is_err()); // nobody is receiving
/// let t = std::thread::spawn(move || tx.send(2).block()); // waits for a receiver
/// assert_eq!(rx.recv().block(), Ok(2)); // takes the item from the send
/// t.join().unwrap().unwrap();
/// ```
///
/// A bounded channel:
///
/// ```
/// let (tx, rx) = dualsync::channel(8);
/// let producer = std::thread::spawn(move || {
///     for i in 0..5 {
///         tx.send(i).block().unwrap(); // a thread
///     }
/// }); // the last sender goes: the stream ends once drained
/// let got: Vec<i32> = futures::executor::block_on(async {
///     let mut v = vec![];
///     while let Ok(i) = rx.recv().await { // a task
///         v.push(i);
///     }
///     v
/// });
/// producer.join().unwrap();
/// assert_eq!(got, [0, 1, 2, 3, 4]);
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    halves(Queue::for_channel(Some(capacity)))
}

/// A channel without a size limit: `send` never waits (it fails only once
/// every receiver is gone); nor does [`Sender::reserve`], whose permits
/// limit nothing (they are only counted in the statistics).
///
/// ```
/// let (tx, rx) = dualsync::unbounded_channel();
/// tx.try_send("a").unwrap();
/// drop(tx);
/// assert_eq!(rx.iter().collect::<Vec<_>>(), ["a"]);
/// ```
pub fn unbounded_channel<T>() -> (Sender<T>, Receiver<T>) {
    halves(Queue::for_channel(None))
}

fn halves<T>(queue: Queue<T>) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        queue,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    (
        Sender {
            shared: shared.clone(),
            sink: sink::SinkState::new(),
        },
        Receiver {
            stream: None,
            shared,
        },
    )
}

/// A snapshot returned by `statistics()` on either half (anyio's
/// `MemoryObjectStreamStatistics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelStatistics {
    /// Items buffered now (on a rendezvous channel: items handed to a
    /// receiver that has not taken them yet).
    pub current_buffer_used: usize,
    /// The capacity (`Some(0)` for a rendezvous channel); `None` when
    /// unbounded.
    pub max_buffer_size: Option<usize>,
    /// Slots held by send permits ([`Sender::reserve`]) and by ready
    /// `Sink`s; they count as taken for other sends.
    pub send_permits: usize,
    /// Live `Sender` clones.
    pub open_send_streams: usize,
    /// Live `Receiver` clones.
    pub open_receive_streams: usize,
    /// Threads and tasks blocked in `send`.
    pub senders_waiting: usize,
    /// Threads and tasks blocked in `recv`.
    pub receivers_waiting: usize,
}

impl<T> Shared<T> {
    fn statistics(&self) -> ChannelStatistics {
        let q = self.queue.statistics();
        ChannelStatistics {
            current_buffer_used: q.len,
            max_buffer_size: q.capacity,
            send_permits: self.queue.reserved(),
            open_send_streams: self.senders.load(Ordering::Relaxed),
            open_receive_streams: self.receivers.load(Ordering::Relaxed),
            senders_waiting: q.putters_waiting,
            receivers_waiting: q.getters_waiting,
        }
    }
}

// ---------------------------------------------------------------- Sender

/// The send half of a [`channel`]. `Clone` for more producers; the channel
/// ends for the receivers when the last clone is dropped (or
/// [`close`](Self::close)d).
///
/// Sending: [`send`](Self::send) (waits for room), [`try_send`](Self::try_send),
/// or a permit first ([`reserve`](Self::reserve), [`try_reserve`](Self::try_reserve),
/// [`reserve_owned`](Self::reserve_owned)) so that a send that is given up
/// never risks its item; and the `futures_sink::Sink` impl.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    /// The `Sink`'s state: its wait is boxed on first use (invariant 2).
    sink: sink::SinkState<T>,
}

impl<T> Sender<T> {
    /// Sends `item`, waiting for room while the channel is full: `.await`
    /// it, or `.block()`, `.block_for(d)`, `.block_until(t)` on a thread.
    /// Fails with [`SendError::Disconnected`] (the item back) once every
    /// receiver is gone, including for a send blocked when that happens.
    /// Blocked senders (and [`reserve`](Self::reserve)s) are served in
    /// arrival order. On a rendezvous channel (`channel(0)`) it waits for a
    /// receiver to take the item (see [`channel`]).
    ///
    /// **Cancel-safety**: the channel is left as if the send never
    /// happened, but a dropped pending send drops its item: pin it and use
    /// [`ChannelSend::cancel`] to get the item back (a timed-out `block_for` gives
    /// it back by itself), or take a permit first with
    /// [`reserve`](Self::reserve): a dropped `reserve` loses no item.
    ///
    /// ```
    /// let (tx, rx) = dualsync::channel(1);
    /// tx.send(1).block().unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).block().unwrap_err().into_inner(), 2);
    /// ```
    #[inline]
    pub fn send(&self, item: T) -> ChannelSend<'_, T> {
        ChannelSend {
            put: self.shared.queue.put(item),
        }
    }

    /// Sends `item` if there is room right now; never waits. On a
    /// rendezvous channel: if a receiver is waiting (it is handed the item).
    ///
    /// ```
    /// use dualsync::TrySendError;
    /// let (tx, rx) = dualsync::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    #[inline]
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        self.shared.queue.try_put(item).map_err(|e| match e {
            TryPutError::Full(t) => TrySendError::Full(t),
            TryPutError::ShutDown(t) => TrySendError::Disconnected(t),
        })
    }

    /// Waits for a free slot and holds it: `.await` it, or `.block()`,
    /// `.block_for(d)`, `.block_until(t)` on a thread. The
    /// [`SendPermit`] then sends one item without waiting and without
    /// failing ([`SendPermit::send`]); dropping it unused gives the slot to
    /// the next waiting sender. Fails with [`ReserveError::Disconnected`](crate::ReserveError::Disconnected)
    /// once every receiver is gone. Waiting reservations and sends are
    /// served together, in arrival order.
    ///
    /// **Cancel-safety**: the point of it. A `reserve` carries no item, so
    /// dropping it while it waits (a lost `select!` branch, a timeout)
    /// loses nothing but its place; a slot it was handed just before it
    /// was dropped goes to the next waiting sender. Only once the slot is
    /// held is the item given, to a send that cannot wait.
    ///
    /// * Unbounded channel: never waits; permits limit nothing.
    /// * Rendezvous channel (`channel(0)`): waits until a receiver is
    ///   waiting that no other send or permit has claimed, and claims it
    ///   (see [`channel`]).
    ///
    /// **Cost**: more than a [`send`](Self::send). On a buffered channel a
    /// permit is two atomic steps per item (hold a slot, then fill it)
    /// where a send that finds room is one. On a rendezvous channel every
    /// item is two hand-offs (a receiver that comes to wait wakes the
    /// waiting permit, whose send then wakes that receiver), where a send
    /// that waits with its item is one (the receiver takes it). Measured
    /// in `benches/queue.rs`: about twice a send's time per item where
    /// sends find room (capacity 1024) and on a rendezvous channel, about
    /// the same at capacity 1 (where both wait for every item). Reach for
    /// it where a lost wait must not cost the item, not as the default.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = dualsync::channel(1);
    /// let permit = tx.reserve().block().unwrap(); // holds the only slot
    /// assert!(tx.try_send(0).is_err());           // so the channel is full
    /// assert!(tx.reserve().block_for(Duration::from_millis(1)).is_err());
    /// permit.send(1);                             // cannot wait, cannot fail
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// futures::executor::block_on(async {
    ///     let permit = tx.reserve().await.unwrap();
    ///     drop(permit);                           // unused: the slot is free again
    ///     tx.send(2).await.unwrap();
    /// });
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    #[inline]
    pub fn reserve(&self) -> ChannelReserve<'_, T> {
        ChannelReserve::new(self)
    }

    /// Holds a free slot if there is one right now; never waits (on a
    /// rendezvous channel: claims a waiting receiver, if one is free).
    ///
    /// ```
    /// use dualsync::TryReserveError;
    /// let (tx, rx) = dualsync::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.try_reserve().unwrap_err(), TryReserveError::Full);
    /// permit.send("x");
    /// assert_eq!(rx.try_recv(), Ok("x"));
    /// ```
    #[inline]
    pub fn try_reserve(&self) -> Result<SendPermit<'_, T>, TryReserveError> {
        match self.shared.queue.try_reserve() {
            Ok(()) => Ok(SendPermit::new(self)),
            Err(PushError::Full(())) => Err(TryReserveError::Full),
            Err(PushError::Closed(())) => Err(TryReserveError::Disconnected),
        }
    }

    /// [`reserve`](Self::reserve) for a permit that owns a clone of this
    /// sender ([`OwnedSendPermit`]: `'static`, to move into a callback or
    /// another task). The same waiting, errors and cancel-safety.
    ///
    /// ```
    /// let (tx, rx) = dualsync::channel(1);
    /// let permit = tx.reserve_owned().block().unwrap();
    /// drop(tx); // the permit's clone keeps the channel open
    /// std::thread::spawn(move || {
    ///     let tx = permit.send(5); // gives the clone back
    ///     drop(tx);
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [5]);
    /// ```
    #[inline]
    pub fn reserve_owned(&self) -> ChannelReserveOwned<'_, T> {
        ChannelReserveOwned::new(self)
    }

    /// [`try_reserve`](Self::try_reserve) for an [`OwnedSendPermit`].
    ///
    /// ```
    /// let (tx, rx) = dualsync::channel(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// assert!(tx.try_reserve_owned().is_err()); // the only slot is held
    /// std::thread::spawn(move || drop(permit.send(1))).join().unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    #[inline]
    pub fn try_reserve_owned(&self) -> Result<OwnedSendPermit<T>, TryReserveError> {
        self.try_reserve().map(SendPermit::into_owned)
    }

    /// Whether every receiver is gone (sends fail).
    pub fn is_disconnected(&self) -> bool {
        self.shared.receivers.load(Ordering::Acquire) == 0
    }

    /// Closes this send half (anyio's `close()`): the same as dropping it.
    /// When it was the last, receivers drain what is left, then see the end
    /// of the stream. (The `Sink` impl's `poll_close` does the same
    /// without consuming the value.)
    pub fn close(self) {
        drop(self);
    }

    /// Stops counting this value as an open send half (its `Drop`, or a
    /// `Sink`'s `poll_close`): the last one ends the stream.
    fn release_half(&self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last producer: receivers drain, then the stream ends.
            self.shared.queue.shutdown(false);
        }
    }

    /// A snapshot of the channel (anyio's `statistics()`).
    pub fn statistics(&self) -> ChannelStatistics {
        self.shared.statistics()
    }

    /// Whether `self` and `other` are halves of the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// A clone is a new open send half; the clone of a `Sink` closed with
/// `poll_close` is closed too (it does not count, and its `Sink` fails).
impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let mut sink = sink::SinkState::new();
        if self.sink.is_closed() {
            sink.mark_closed();
        } else {
            self.shared.senders.fetch_add(1, Ordering::Relaxed);
        }
        Sender {
            shared: self.shared.clone(),
            sink,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Invariants 2 and 3: the `Sink`'s wait and slot go first.
        self.sink.release(&self.shared.queue);
        if !self.sink.is_closed() {
            self.release_half();
        } // else `poll_close` released the half already
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.statistics();
        f.debug_struct("Sender")
            .field("buffered", &st.current_buffer_used)
            .field("capacity", &st.max_buffer_size)
            .field("permits", &st.send_permits)
            .field("disconnected", &self.is_disconnected())
            .finish_non_exhaustive()
    }
}

/// The operation returned by [`Sender::send`]: `.await` it, or `.block()`,
/// `.block_for(d)`, `.block_until(t)`. Dropping it cancels the send and
/// drops its item; [`cancel`](Self::cancel) gives the item back instead.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct ChannelSend<'a, T> {
    put: Put<'a, T>,
}

impl<'a, T> ChannelSend<'a, T> {
    #[inline]
    fn put(self: Pin<&mut Self>) -> Pin<&mut Put<'a, T>> {
        // SAFETY: structural pinning: `put` is never moved out of a pinned
        // `Send` (no method takes it by value, and `Send` has no Drop of
        // its own).
        unsafe { self.map_unchecked_mut(|s| &mut s.put) }
    }

    /// Finishes the send on this thread, parking it while the channel is
    /// full.
    #[inline]
    pub fn block(self) -> Result<(), SendError<T>> {
        self.put.block().map_err(SendError::from)
    }

    /// Like [`block`](Self::block), giving up after `timeout`: the item
    /// comes back in [`SendTimeoutError::Timeout`].
    #[inline]
    pub fn block_for(self, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.put.block_for(timeout).map_err(timed)
    }

    /// Like [`block_for`](Self::block_for), with a deadline.
    #[inline]
    pub fn block_until(self, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.put.block_until(deadline).map_err(timed)
    }

    /// Cancels the send and gives the item back if it was not sent
    /// (`Some(item)`); `None` if it was. See [`Put::cancel`].
    pub fn cancel(self: Pin<&mut Self>) -> Option<T> {
        self.put().cancel()
    }
}

fn timed<T>(e: PutTimeoutError<T>) -> SendTimeoutError<T> {
    match e {
        PutTimeoutError::Timeout(t) => SendTimeoutError::Timeout(t),
        PutTimeoutError::ShutDown(t) => SendTimeoutError::Disconnected(t),
    }
}

impl<T> Waitable for ChannelSend<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        self.put()
            .poll_wait(cx)
            .map(|r| r.map_err(|PutError::ShutDown(t)| SendError::Disconnected(t)))
    }

    wait_through!(put);
}

impl_future!(impl['a, T] ChannelSend<'a, T> => Result<(), SendError<T>>);

impl<T> fmt::Debug for ChannelSend<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSend").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------- Receiver

/// The receive half of a [`channel`]. `Clone` for more consumers (each item
/// goes to one of them); a `Stream` of the items in a task, and
/// [`iter`](Self::iter) on a thread. When the last clone is dropped (or
/// [`close`](Self::close)d), buffered items are dropped and every send
/// fails with its item back.
pub struct Receiver<T> {
    /// The `Stream`'s wait, made on its first poll (invariant 2).
    stream: Option<Pin<Box<Waiter<ItemCell<T>>>>>,
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next item, waiting while the channel is empty: `.await`
    /// it, or `.block()`, `.block_for(d)`, `.block_until(t)` on a thread.
    /// After the last sender is gone it returns what is left, then
    /// [`RecvError`]. Cancel-safe in tokio's sense too: a waiting receiver
    /// is handed the oldest item as soon as one comes; dropped before it
    /// runs, it passes the item to the next waiting receiver, or, when none
    /// waits, back to the front of the channel (see [`Queue::get`]): nothing
    /// is lost and the caller loses nothing. Blocked receivers are served
    /// strictly in arrival order. On a rendezvous channel a waiting receiver
    /// is what lets a send complete (see [`channel`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = dualsync::channel::<u8>(4);
    /// assert_eq!(
    ///     rx.recv().block_for(Duration::from_millis(1)),
    ///     Err(dualsync::RecvTimeoutError::Timeout)
    /// );
    /// drop(tx);
    /// assert_eq!(rx.recv().block(), Err(dualsync::RecvError));
    /// ```
    #[inline]
    pub fn recv(&self) -> ChannelRecv<'_, T> {
        ChannelRecv {
            get: self.shared.queue.get(),
        }
    }

    /// Receives an item if one is buffered (on a rendezvous channel: if a
    /// send is waiting, whose item it takes); never waits.
    ///
    /// ```
    /// use dualsync::TryRecvError;
    /// let (tx, rx) = dualsync::channel(2);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.shared.queue.try_get().map_err(|e| match e {
            TryGetError::Empty => TryRecvError::Empty,
            TryGetError::ShutDown => TryRecvError::Disconnected,
        })
    }

    /// Waits for at least one item, then moves up to `limit` items into
    /// `buf` (the first waited for, the rest only if already buffered);
    /// gives how many. `0` means the stream ended (every sender gone, all
    /// drained), or `limit` is 0.
    ///
    /// ```
    /// let (tx, rx) = dualsync::unbounded_channel();
    /// for i in 0..5 { tx.try_send(i).unwrap(); }
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 3).block(), 3);
    /// assert_eq!(rx.recv_many(&mut buf, 3).block(), 2);
    /// assert_eq!(buf, [0, 1, 2, 3, 4]);
    /// ```
    pub fn recv_many<'a>(&'a self, buf: &'a mut Vec<T>, limit: usize) -> ChannelRecvMany<'a, T> {
        ChannelRecvMany {
            rx: self,
            first: self.shared.queue.get(),
            buf,
            limit,
        }
    }

    /// A blocking iterator over the items, for threads: it ends when every
    /// sender is gone and the channel is drained.
    ///
    /// ```
    /// let (tx, rx) = dualsync::channel(2);
    /// let t = std::thread::spawn(move || for i in 0..4 { tx.send(i).block().unwrap() });
    /// assert_eq!(rx.iter().sum::<i32>(), 6);
    /// t.join().unwrap();
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        core::iter::from_fn(move || self.recv().block().ok())
    }

    /// Whether every sender is gone (the stream ends once drained).
    pub fn is_disconnected(&self) -> bool {
        self.shared.senders.load(Ordering::Acquire) == 0
    }

    /// Closes this receive half (anyio's `close()`): the same as dropping
    /// it. When it was the last, buffered items are dropped and sends fail.
    pub fn close(self) {
        drop(self);
    }

    /// A snapshot of the channel (anyio's `statistics()`).
    pub fn statistics(&self) -> ChannelStatistics {
        self.shared.statistics()
    }

    /// Whether `self` and `other` are halves of the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            stream: None,
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Invariant 2: the stream's waiter leaves the queue (passing on a
        // wake-up it got) before the channel may go.
        if let Some(w) = &self.stream {
            self.shared.queue.cancel_get_with(w.as_ref());
        }
        if self.shared.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last consumer: nobody will ever receive; sends fail.
            self.shared.queue.shutdown(true);
        }
    }
}

/// A `Stream` of the items, for tasks: `None` once every sender is gone
/// and the channel is drained. Cancel-safe: a `next()` dropped while it
/// waits takes no item.
impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let waiter = this
            .stream
            .get_or_insert_with(|| Box::pin(Queue::<T>::get_waiter()))
            .as_ref();
        match this
            .shared
            .queue
            .poll_get_with(waiter, &mut WaitCx::Task(cx))
        {
            Poll::Ready(Ok(item)) => Poll::Ready(Some(item)),
            Poll::Ready(Err(GetError::ShutDown)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.statistics();
        f.debug_struct("Receiver")
            .field("buffered", &st.current_buffer_used)
            .field("capacity", &st.max_buffer_size)
            .field("disconnected", &self.is_disconnected())
            .finish_non_exhaustive()
    }
}

/// The operation returned by [`Receiver::recv`]: `.await` it, or
/// `.block()`, `.block_for(d)`, `.block_until(t)`. Dropping it cancels the
/// receive; no item is lost.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct ChannelRecv<'a, T> {
    get: Get<'a, T>,
}

impl<T> Waitable for ChannelRecv<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning: `get` is never moved out of a pinned
        // `Recv`.
        unsafe { self.map_unchecked_mut(|s| &mut s.get) }
            .poll_wait(cx)
            .map(|r| r.map_err(RecvError::from))
    }

    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<Self::Output> {
        self.get.try_unpinned().map(|r| r.map_err(RecvError::from))
    }

    wait_through!(get);
}

impl_operation!(impl['a, T] ChannelRecv<'a, T> => Result<T, RecvError>, timed: RecvTimeoutError);

impl<T> fmt::Debug for ChannelRecv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelRecv").finish_non_exhaustive()
    }
}

/// The operation returned by [`Receiver::recv_many`]: `.await` it, or
/// `.block()`, `.block_for(d)`, `.block_until(t)` (then `Err(Timeout)` when
/// nothing came in time). Dropping it takes no item.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct ChannelRecvMany<'a, T> {
    rx: &'a Receiver<T>,
    first: Get<'a, T>,
    buf: &'a mut Vec<T>,
    limit: usize,
}

impl<T> Waitable for ChannelRecvMany<'_, T> {
    type Output = usize;

    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<usize> {
        // SAFETY: structural pinning of `first`; the other fields are
        // plain data that may be used in place.
        let this = unsafe { self.get_unchecked_mut() };
        if this.limit == 0 {
            return Poll::Ready(0);
        }
        // SAFETY: `first` is never moved out of the pinned operation.
        let first = unsafe { Pin::new_unchecked(&mut this.first) };
        match first.poll_wait(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(0),
            Poll::Ready(Ok(item)) => {
                this.buf.push(item);
                let mut n = 1;
                while n < this.limit {
                    match this.rx.try_recv() {
                        Ok(item) => {
                            this.buf.push(item);
                            n += 1;
                        }
                        Err(_) => break,
                    }
                }
                Poll::Ready(n)
            }
        }
    }

    wait_through!(first);
}

impl_operation!(impl['a, T] ChannelRecvMany<'a, T> => usize);

impl<T> fmt::Debug for ChannelRecvMany<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelRecvMany")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
