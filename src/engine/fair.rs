//! The one fairness policy, shared by every primitive that grants something
//! (Mutex, Semaphore, BoundedSemaphore, CapacityLimiter, RwLock).
//!
//! Waiters are served in arrival order. A primitive is in one of two modes,
//! chosen per object at construction:
//!
//! * **bounded barging** (the default): a release with waiters frees the
//!   resource and wakes the head waiter, and a caller that arrives before
//!   the head runs again may take it ("barging": the releaser often takes it
//!   straight back, which avoids a convoy of context switches). Barging is
//!   allowed only while the head has waited less than [`FAIRNESS_BOUND`]
//!   since its arrival: once it has waited that long, a release hands the
//!   resource to it directly and newcomers queue behind it. So no waiter is
//!   overtaken for longer than the bound (plus one hand-off).
//! * **strict hand-off** (`new_fair` and friends): every release with
//!   waiters hands the resource to the head; nobody ever barges, and a
//!   thread queues without spinning first.
//!
//! Arrival is the moment the operation first had to wait (its first failed
//! try, stamped by the engine's [`Waiter`](super::waiter::Waiter)), not the
//! moment it finally linked; a woken head that lost the race re-queues at
//! the front with its first stamp.

use core::time::Duration;

use super::node::Node;

/// How long the head waiter may be overtaken by barging newcomers before a
/// release hands the resource to it directly (bounded-barging mode of
/// [`Mutex`](crate::Mutex), [`Semaphore`](crate::Semaphore),
/// [`BoundedSemaphore`](crate::BoundedSemaphore),
/// [`CapacityLimiter`](crate::CapacityLimiter) and
/// [`RwLock`](crate::RwLock)).
///
/// The Mutex's releases beside a head that was woken and has not run yet
/// read the clock only every few releases, as many as the pace of the
/// previous ones says fit into half the time the head has left: at a steady
/// pace the bound holds as stated; if holds suddenly grow longer, the head
/// may be overtaken by up to 7 more of them.
pub const FAIRNESS_BOUND: Duration = Duration::from_micros(BOUND_US as u64);
const BOUND_US: u32 = 500;

/// At most this many releases in a row, by barging holders beside a head
/// that was woken and has not run yet, free the lock without reading the
/// clock ([`Fairness::allowance`]): a clock read is most of such a release's
/// cost. So the head can be overtaken past the bound only if the holds
/// suddenly grow longer, and then by at most this many holds.
pub(crate) const MAX_ALLOWANCE: u8 = 7;

/// Whether a primitive lets newcomers barge (within the bound) or hands off
/// strictly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fairness {
    /// Bounded barging.
    Barging,
    /// Strict hand-off: FIFO, nobody overtakes a waiter.
    Strict,
}

impl Fairness {
    /// `true` in strict mode.
    #[inline]
    pub(crate) fn is_strict(self) -> bool {
        self == Fairness::Strict
    }

    /// The clock a release compares arrival stamps with (not read in strict
    /// mode, where every release hands off).
    #[inline]
    pub(crate) fn now(self) -> u32 {
        if self.is_strict() {
            0
        } else {
            super::now_micros()
        }
    }

    /// Whether a release must hand the resource to `head` directly rather
    /// than free it and wake the head to compete for it. `now` comes from
    /// [`now`](Self::now).
    #[inline]
    pub(crate) fn must_hand_off<D>(self, head: &Node<D>, now: u32) -> bool {
        self.is_strict() || now.wrapping_sub(head.arrival()) >= BOUND_US
    }

    /// The time (on [`now`](Self::now)'s clock) at which `head`'s wait
    /// reaches the bound: a release before it may let a newcomer barge.
    #[inline]
    pub(crate) fn deadline<D>(head: &Node<D>) -> u32 {
        head.arrival().wrapping_add(BOUND_US)
    }

    /// Whether `now` comes before `deadline` (both from [`now`](Self::now),
    /// less than ~35 minutes apart).
    #[inline]
    pub(crate) fn before(now: u32, deadline: u32) -> bool {
        (deadline.wrapping_sub(now) as i32) > 0
    }

    /// How many of the next releases beside a woken head may skip the
    /// clock (see [`MAX_ALLOWANCE`]). A release that has just read `now`
    /// (before `deadline`) gives the next ones as many as fit, at the pace
    /// of the last `releases` releases (which took `since` µs), into half
    /// the time the head has left. At a steady pace no release skips past
    /// the deadline; the half is the margin for a pace that slows down
    /// gradually.
    #[inline]
    pub(crate) fn allowance(now: u32, deadline: u32, since: u32, releases: u32) -> u8 {
        let left = u64::from(deadline.wrapping_sub(now));
        if since == 0 {
            return MAX_ALLOWANCE;
        }
        let fit = left * u64::from(releases) / (2 * u64::from(since));
        fit.min(u64::from(MAX_ALLOWANCE)) as u8
    }

    /// A clock for one serving pass that reads the time only if a decision
    /// needs it (never in strict mode, never when nobody can be served):
    /// a cancel that serves nobody costs no clock read.
    #[inline]
    pub(crate) fn clock(self) -> Clock {
        Clock {
            fairness: self,
            now: core::cell::Cell::new(None),
        }
    }
}

/// See [`Fairness::clock`].
pub(crate) struct Clock {
    fairness: Fairness,
    now: core::cell::Cell<Option<u32>>,
}

impl Clock {
    /// [`Fairness::must_hand_off`], with the time read at the first call.
    #[inline]
    pub(crate) fn must_hand_off<D>(&self, head: &Node<D>) -> bool {
        if self.fairness.is_strict() {
            return true;
        }
        let now = match self.now.get() {
            Some(t) => t,
            None => {
                let t = super::now_micros();
                self.now.set(Some(t));
                t
            }
        };
        self.fairness.must_hand_off(head, now)
    }
}
