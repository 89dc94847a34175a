//! `futures_sink::Sink` for [`Sender`]: `poll_ready` holds a slot (a
//! reservation, waiting through a node boxed in the sender and reused
//! across items), `start_send` fills it.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::{SendPermit, Sender};
use crate::engine::node::WaitCx;
use crate::engine::waiter::Waiter;
use crate::error::ReserveError;
use crate::queue::{PutSlot, Queue, ShutDown};

/// What a [`Sender`] keeps for its `Sink` impl.
pub(super) struct SinkState<T> {
    /// `poll_ready`'s reservation, boxed on its first `Pending`-able poll
    /// and reused (a linked node must not move: invariant 2).
    waiter: Option<Pin<Box<Waiter<PutSlot<T>>>>>,
    /// `poll_ready` succeeded: a slot is held for the next `start_send`
    /// (invariant 3).
    held: bool,
    /// `poll_close` ran: this value no longer counts as an open send half.
    closed: bool,
}

impl<T> SinkState<T> {
    #[inline]
    pub(super) const fn new() -> Self {
        SinkState {
            waiter: None,
            held: false,
            closed: false,
        }
    }

    #[inline]
    pub(super) fn is_closed(&self) -> bool {
        self.closed
    }

    /// For the clone of a closed sender.
    pub(super) fn mark_closed(&mut self) {
        self.closed = true;
    }

    /// Cancels a pending `poll_ready` (a slot it was handed passes on) and
    /// frees a held slot: the sender is going away, or closing.
    #[inline]
    pub(super) fn release(&mut self, queue: &Queue<T>) {
        if let Some(w) = &self.waiter {
            queue.cancel_reserve_with(w.as_ref());
        }
        if core::mem::take(&mut self.held) {
            queue.unreserve();
        }
    }
}

/// The sending half as a `Sink` (futures' `SinkExt::send`, `send_all`,
/// `StreamExt::forward`), for tasks.
///
/// * `poll_ready` waits for a free slot and holds it, like
///   [`Sender::reserve`]: waiting senders, reservations and sinks are
///   served in arrival order, and a sink dropped while it waits loses
///   nothing (it holds no item yet).
/// * `start_send` puts the item into the held slot: it never waits.
///   Calling it without a successful `poll_ready` first is a contract
///   violation of `Sink` and panics.
/// * `poll_flush` is always ready: a sent item is in the channel already.
/// * `poll_close` frees a held slot and closes *this* send half, as
///   [`Sender::close`] does without consuming it: when it was the last,
///   receivers drain what is left and then see the end of the stream.
///   Afterwards the sink fails with [`ReserveError::Disconnected`] (the
///   value's own `send`/`reserve` methods still work while another half
///   keeps the channel open). A clone of it is closed too.
/// * Errors: [`ReserveError::Disconnected`] once every receiver is gone
///   (an item given to `start_send` then is dropped) or after `poll_close`.
///
/// The sender's own [`send`](Sender::send) and [`close`](Sender::close)
/// methods come before `SinkExt`'s in method syntax: call those as
/// `SinkExt::send(&mut tx, x)` and `SinkExt::close(&mut tx)`.
///
/// ```
/// use futures::{SinkExt, StreamExt};
/// let (mut tx, rx) = dualsync::channel(1);
/// let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
/// futures::executor::block_on(async {
///     SinkExt::send(&mut tx, 1).await.unwrap(); // poll_ready, start_send, flush
///     let mut items = futures::stream::iter([2, 3]).map(Ok);
///     tx.send_all(&mut items).await.unwrap();
///     SinkExt::close(&mut tx).await.unwrap(); // the last sender: the stream ends
/// });
/// assert_eq!(consumer.join().unwrap(), [1, 2, 3]);
/// ```
impl<T> futures_sink::Sink<T> for Sender<T> {
    type Error = ReserveError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ReserveError>> {
        let this = self.get_mut();
        let sink = &mut this.sink;
        if sink.closed {
            return Poll::Ready(Err(ReserveError::Disconnected));
        }
        if sink.held {
            return Poll::Ready(Ok(()));
        }
        let waiter = sink
            .waiter
            .get_or_insert_with(|| Box::pin(Queue::<T>::reservation()));
        match this
            .shared
            .queue
            .poll_reserve_with(waiter.as_ref(), &mut WaitCx::Task(cx))
        {
            Poll::Ready(Ok(())) => {
                sink.held = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(ShutDown)) => Poll::Ready(Err(ReserveError::Disconnected)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), ReserveError> {
        let this = self.get_mut();
        if this.sink.closed {
            return Err(ReserveError::Disconnected);
        }
        assert!(
            core::mem::take(&mut this.sink.held),
            "Sink::start_send on a dualsync Sender without a successful poll_ready"
        );
        if this.is_disconnected() {
            // The slot goes (as an unused permit's); the item is dropped.
            drop(SendPermit::new(this));
            return Err(ReserveError::Disconnected);
        }
        SendPermit::new(this).send(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ReserveError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ReserveError>> {
        let this = self.get_mut();
        this.sink.release(&this.shared.queue);
        if !this.sink.closed {
            this.sink.closed = true;
            this.release_half();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T> fmt::Debug for SinkState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkState")
            .field("held", &self.held)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}
