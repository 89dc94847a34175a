//! Send permits: a slot held in the channel (see `Sender::reserve`), and
//! the operations that wait for one.

use core::fmt;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::task::Poll;

use super::Sender;
use crate::engine::driver::{Waitable, impl_operation};
use crate::engine::node::WaitCx;
use crate::error::{ReserveError, ReserveTimeoutError};
use crate::queue::{Reserve, ShutDown};

/// The operation returned by [`Sender::reserve`]: `.await` it, or
/// `.block()`, `.block_for(d)`, `.block_until(t)`. Gives a [`SendPermit`]
/// holding one slot. Dropping it while it waits takes no slot and loses no
/// item (it carries none); a slot it was handed first goes to the next
/// waiting sender.
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct ChannelReserve<'a, T> {
    sender: &'a Sender<T>,
    reserve: Reserve<'a, T>,
}

impl<'a, T> ChannelReserve<'a, T> {
    #[inline]
    pub(super) fn new(sender: &'a Sender<T>) -> Self {
        ChannelReserve {
            sender,
            reserve: sender.shared.queue.reserve(),
        }
    }

    #[inline]
    fn reserve(self: Pin<&mut Self>) -> Pin<&mut Reserve<'a, T>> {
        // SAFETY: structural pinning: `reserve` is never moved out of a
        // pinned `ChannelReserve` (no method takes it by value, and there
        // is no Drop of its own).
        unsafe { self.map_unchecked_mut(|s| &mut s.reserve) }
    }
}

/// The permit a finished reservation gives, or why there is none.
#[inline]
fn permit<T>(
    sender: &Sender<T>,
    r: Result<(), ShutDown>,
) -> Result<SendPermit<'_, T>, ReserveError> {
    match r {
        Ok(()) => Ok(SendPermit::new(sender)),
        Err(ShutDown) => Err(ReserveError::Disconnected),
    }
}

impl<'a, T> Waitable for ChannelReserve<'a, T> {
    type Output = Result<SendPermit<'a, T>, ReserveError>;

    #[inline]
    fn poll_wait(mut self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        let sender = self.sender;
        let r = self.as_mut().reserve().poll_wait(cx);
        r.map(|r| permit(sender, r))
    }

    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<Self::Output> {
        let sender = self.sender;
        self.reserve.try_unpinned().map(|r| permit(sender, r))
    }

    wait_through!(reserve);
}

impl_operation!(impl['a, T] ChannelReserve<'a, T> => Result<SendPermit<'a, T>, ReserveError>, timed: ReserveTimeoutError);

impl<T> fmt::Debug for ChannelReserve<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelReserve").finish_non_exhaustive()
    }
}

/// The operation returned by [`Sender::reserve_owned`]: as
/// [`ChannelReserve`], giving an [`OwnedSendPermit`].
#[must_use = "an operation does nothing until awaited or blocked on"]
pub struct ChannelReserveOwned<'a, T> {
    reserve: ChannelReserve<'a, T>,
}

impl<'a, T> ChannelReserveOwned<'a, T> {
    #[inline]
    pub(super) fn new(sender: &'a Sender<T>) -> Self {
        ChannelReserveOwned {
            reserve: ChannelReserve::new(sender),
        }
    }

    #[inline]
    fn reserve(self: Pin<&mut Self>) -> Pin<&mut ChannelReserve<'a, T>> {
        // SAFETY: structural pinning, as in `ChannelReserve::reserve`.
        unsafe { self.map_unchecked_mut(|s| &mut s.reserve) }
    }
}

impl<T> Waitable for ChannelReserveOwned<'_, T> {
    type Output = Result<OwnedSendPermit<T>, ReserveError>;

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output> {
        self.reserve()
            .poll_wait(cx)
            .map(|r| r.map(SendPermit::into_owned))
    }

    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<Self::Output> {
        self.reserve
            .try_unpinned()
            .map(|r| r.map(SendPermit::into_owned))
    }

    wait_through!(reserve);
}

impl_operation!(impl['a, T] ChannelReserveOwned<'a, T> => Result<OwnedSendPermit<T>, ReserveError>, timed: ReserveTimeoutError);

impl<T> fmt::Debug for ChannelReserveOwned<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelReserveOwned")
            .finish_non_exhaustive()
    }
}

/// One slot of a channel, held for one item: [`send`](Self::send) fills
/// it without waiting and without failing; dropping the permit unused
/// frees the slot for the next waiting sender. From [`Sender::reserve`] or
/// [`Sender::try_reserve`]; it borrows the sender, which keeps the channel
/// open for the receivers while the slot is held.
#[must_use = "a permit holds a slot until it sends or is dropped"]
pub struct SendPermit<'a, T> {
    sender: &'a Sender<T>,
}

impl<'a, T> SendPermit<'a, T> {
    /// The permit of a slot the caller holds (invariant 3: it becomes
    /// this permit's).
    #[inline]
    pub(super) fn new(sender: &'a Sender<T>) -> Self {
        SendPermit { sender }
    }

    /// Sends `item` into the held slot: never waits, never fails. If every
    /// receiver is gone by now the item is dropped here, as the items still
    /// buffered were when the last receiver left (tokio's `Permit::send`
    /// does the same); check [`Sender::is_disconnected`] first to keep it.
    ///
    /// ```
    /// let (tx, rx) = dualsync::channel(4);
    /// let permit = tx.try_reserve().unwrap();
    /// permit.send("hello");
    /// assert_eq!(rx.try_recv(), Ok("hello"));
    /// ```
    #[inline]
    pub fn send(self, item: T) {
        let sender = ManuallyDrop::new(self).sender; // the slot is filled, not freed
        // Disconnected: nobody will ever receive it; it is dropped here.
        let _ = sender.shared.queue.send_reserved(item);
    }

    /// The same permit, owning a clone of the sender (`'static`).
    ///
    /// ```
    /// let (tx, rx) = dualsync::channel(1);
    /// let permit = tx.try_reserve().unwrap().into_owned();
    /// drop(tx);
    /// permit.send(1);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn into_owned(self) -> OwnedSendPermit<T> {
        let sender = ManuallyDrop::new(self).sender.clone();
        OwnedSendPermit {
            sender: Some(sender),
        }
    }
}

/// An unused permit frees its slot: the next waiting sender gets it.
impl<T> Drop for SendPermit<'_, T> {
    fn drop(&mut self) {
        self.sender.shared.queue.unreserve();
    }
}

impl<T> fmt::Debug for SendPermit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendPermit").finish_non_exhaustive()
    }
}

/// A [`SendPermit`] that owns a clone of its [`Sender`] (`'static`: it
/// can move into a callback or another task): from
/// [`Sender::reserve_owned`], [`Sender::try_reserve_owned`] or
/// [`SendPermit::into_owned`]. The clone keeps the channel open for the
/// receivers while the slot is held.
#[must_use = "a permit holds a slot until it sends or is dropped"]
pub struct OwnedSendPermit<T> {
    /// `None` once it sent or released.
    sender: Option<Sender<T>>,
}

impl<T> OwnedSendPermit<T> {
    /// Sends `item` into the held slot (never waits, never fails; the item
    /// is dropped if every receiver is gone, as for [`SendPermit::send`]),
    /// and gives the sender clone back.
    ///
    /// ```
    /// let (tx, rx) = dualsync::channel(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx2 = permit.send(3);
    /// assert!(tx2.same_channel(&tx));
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn send(mut self, item: T) -> Sender<T> {
        let sender = self.sender.take().expect("a permit sends once");
        SendPermit::new(&sender).send(item);
        sender
    }

    /// Frees the slot unused (as dropping the permit does) and gives the
    /// sender clone back.
    ///
    /// ```
    /// let (tx, _rx) = dualsync::channel::<u8>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// assert!(tx.try_reserve().is_err());
    /// let _tx2 = permit.release();
    /// assert!(tx.try_reserve().is_ok());
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("a permit is released once");
        drop(SendPermit::new(&sender));
        sender
    }
}

/// An unused permit frees its slot (the next waiting sender gets it), then
/// drops its sender clone.
impl<T> Drop for OwnedSendPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            drop(SendPermit::new(sender));
        }
    }
}

impl<T> fmt::Debug for OwnedSendPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSendPermit").finish_non_exhaustive()
    }
}
