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
/// The Mutex's and the Semaphore's releases beside a head that was woken
/// and has not run yet read the clock only every few releases, as many as
/// the pace of the previous ones says fit into half the time the head has
/// left: at a steady pace the bound holds as stated; if holds suddenly grow
/// longer, the head may be overtaken by up to 7 more of them. The RwLock
/// keeps the woken head's deadline in 11 bits of 32 µs (it has no room for
/// more): should that head not run for ~65 ms while no writer releases,
/// barging writers may overtake it for one more bound per ~65 ms.
pub const FAIRNESS_BOUND: Duration = Duration::from_micros(BOUND_US as u64);
const BOUND_US: u32 = 500;

/// At most this many releases in a row, by barging holders beside a head
/// that was woken and has not run yet, free the lock without reading the
/// clock ([`Fairness::allowance`]): a clock read is most of such a release's
/// cost. So the head can be overtaken past the bound only if the holds
/// suddenly grow longer, and then by at most this many holds.
pub(crate) const MAX_ALLOWANCE: u8 = 7;

/// Bits of a [`Fairness::short_deadline`].
pub(crate) const SHORT_DEADLINE_BITS: u32 = 11;
const SHORT_MASK: u32 = (1 << SHORT_DEADLINE_BITS) - 1;
/// A short deadline's unit: 2^5 µs.
const SHORT_UNIT_SHIFT: u32 = 5;
/// The bound in short units, rounded up: how far ahead of the time a
/// short deadline taken within the bound can be.
const SHORT_BOUND: u32 = BOUND_US.div_ceil(1 << SHORT_UNIT_SHIFT);
const _: () = assert!(SHORT_BOUND < SHORT_MASK / 64);

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
    /// less than ~35 minutes apart). The primitives keep short deadlines
    /// ([`short_left`](Self::short_left)); the tests check them against this.
    #[cfg(all(test, not(loom)))]
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

    /// [`deadline`](Self::deadline) squeezed into [`SHORT_DEADLINE_BITS`]
    /// bits, for a primitive with no room for a whole word beside its state
    /// (the [`RwLock`](crate::RwLock)): counted in 32 µs units and rounded
    /// down (it comes early, never late), wrapping every ~65 ms. Compare it
    /// with [`before_short`](Self::before_short) only.
    #[inline]
    pub(crate) fn short_deadline<D>(head: &Node<D>) -> u32 {
        (Self::deadline(head) >> SHORT_UNIT_SHIFT) & SHORT_MASK
    }

    /// Whether `now` (from [`now`](Self::now)) comes before a
    /// [`short_deadline`](Self::short_deadline) taken while the head was
    /// within the bound. A short deadline is believed only in the bound's
    /// span before it (where every deadline taken within the bound lies,
    /// from the moment it is taken): once it has passed it reads as passed
    /// for the next ~65 ms less one bound, then (if it is still looked at)
    /// as ahead again for one bound, and so on. So it may only stand for a
    /// deadline that someone clears or replaces when it passes (in practice:
    /// at the first release after it).
    #[inline]
    pub(crate) fn before_short(now: u32, deadline: u32) -> bool {
        let left = deadline.wrapping_sub(now >> SHORT_UNIT_SHIFT) & SHORT_MASK;
        left != 0 && left <= SHORT_BOUND
    }

    /// The time left before a short deadline, in µs, when
    /// [`before_short`](Self::before_short) says it has not passed: rounded
    /// down to whole 32 µs units less one, so it is never more than the
    /// time really left before the full [`deadline`](Self::deadline) (what
    /// [`allowance`](Self::allowance) needs: `now + left` stands for the
    /// deadline there). `None` when it has passed.
    #[inline]
    pub(crate) fn short_left(now: u32, deadline: u32) -> Option<u32> {
        let left = deadline.wrapping_sub(now >> SHORT_UNIT_SHIFT) & SHORT_MASK;
        (left != 0 && left <= SHORT_BOUND).then(|| (left - 1) << SHORT_UNIT_SHIFT)
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

/// The pace record of a release beside a head that was woken in place and
/// has not run yet: the low `TIME_BITS` bits of the time (µs) of the last
/// clock read by such a release, and the allowance it gave
/// (`time << 3 | allow`). The [`Semaphore`](crate::Semaphore) keeps a
/// `Pace<29>` in the woken head's node (under its queue lock); the
/// [`Mutex`](crate::Mutex) a `Pace<13>` in the 16 bits of padding it has
/// (8 ms of time: a woken head's bound is 0.5 ms). A heuristic: a stale
/// record only changes how often the clock is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pace<const TIME_BITS: u32>(pub(crate) u32);

impl<const TIME_BITS: u32> Pace<TIME_BITS> {
    const TIME_MASK: u32 = (1 << TIME_BITS) - 1;

    /// A fresh record, as the head is woken at `now`: no allowance yet.
    #[inline]
    pub(crate) fn woken(now: u32) -> Self {
        Pace((now & Self::TIME_MASK) << 3)
    }

    /// A release beside the woken head read `now`, before `deadline`: the
    /// allowance for the next releases ([`Fairness::allowance`], at the
    /// pace of the releases since the last reading) and the new record.
    #[inline]
    pub(crate) fn recheck(self, now: u32, deadline: u32) -> (u8, Self) {
        let since = now.wrapping_sub(self.0 >> 3) & Self::TIME_MASK;
        let allow = Fairness::allowance(now, deadline, since, (self.0 & 7) + 1);
        (
            allow,
            Pace(((now & Self::TIME_MASK) << 3) | u32::from(allow)),
        )
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
        self.fairness.is_strict() || self.fairness.must_hand_off(head, self.now())
    }

    /// The time read by an earlier [`must_hand_off`](Self::must_hand_off)
    /// (or now, if none read it yet).
    #[inline]
    pub(crate) fn now(&self) -> u32 {
        match self.now.get() {
            Some(t) => t,
            None => {
                let t = super::now_micros();
                self.now.set(Some(t));
                t
            }
        }
    }
}
