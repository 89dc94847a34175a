//! The operation driver: one waiting operation, finished by `.await` or on a
//! thread by `.block()`, `.block_for(d)` or `.block_until(t)`.
//!
//! An operation implements [`Waitable::poll_wait`], which is an ordinary
//! `Future::poll` that is told whether it runs for a task (a `Context` with a
//! waker) or for a thread (which will sleep on the node's state word). The
//! blocking driver pins the operation on the thread's stack, polls it, then
//! spins briefly on the node's state word and parks in `parking_lot_core`
//! until the state changes or the deadline passes. A timed-out wait drops the
//! operation, which is exactly a cancellation.

use core::pin::Pin;
use core::task::Poll;
use std::time::{Duration, Instant};

use super::node::{PARKED, QUEUED, WaitCx};
#[cfg(not(loom))]
use super::sync::spin_rounds;
use super::sync::{AtomicU32, Ordering};
use crate::error::Timeout;

/// Implemented by every operation value.
pub(crate) trait Waitable {
    type Output;

    /// Polls the operation. Returns `Pending` only with the operation's node
    /// linked in a queue (so that [`wait_state`](Self::wait_state) will change
    /// when there is something to do).
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<Self::Output>;

    /// The state word of the operation's node, watched by a blocked thread.
    fn wait_state(self: Pin<&Self>) -> &AtomicU32;

    /// Whether the operation returned its output (polling it again would
    /// panic): `FusedFuture::is_terminated`.
    fn is_terminated(&self) -> bool;

    /// A blocking call's first try, before the operation is pinned on its
    /// own cache lines ([`OwnLines`]): `Some` finishes the operation
    /// (it is then terminated), `None` leaves it as it was (never linked).
    /// An operation that does not wait costs no move into the aligned slot.
    ///
    /// On `Some` the operation must own nothing left to drop: what it held
    /// (an item, an `Arc`) went into the output, or back to the caller in
    /// it. [`block_until`] then forgets the operation instead of dropping
    /// it, so that its `Drop` (an atomic load of the node's state, which
    /// the compiler cannot fold into the try's own store) is not run on
    /// the path that did not wait. Every implementation keeps this: the
    /// engine's own operations hold references and a [`Waiter`] whose
    /// payload is plain data or an item slot the try emptied (a queue put,
    /// whose item went into the queue or into the error), and the channel's
    /// wrap those.
    ///
    /// [`Waiter`]: super::waiter::Waiter
    #[inline(always)]
    fn try_unpinned(&mut self) -> Option<Self::Output> {
        None
    }
}

/// The two [`Waitable`] methods every operation built on an engine
/// [`Waiter`](super::waiter::Waiter) field named `waiter` writes the same
/// way (`wait_state`, `is_terminated`); expands inside the `impl Waitable`.
macro_rules! waiter_methods {
    () => {
        fn wait_state(self: ::core::pin::Pin<&Self>) -> &$crate::engine::sync::AtomicU32 {
            self.get_ref().waiter.state_word()
        }

        fn is_terminated(&self) -> bool {
            self.waiter.is_finished()
        }
    };
}
pub(crate) use waiter_methods;

/// Runs `op` to completion on the current thread, or until `deadline`.
/// `None` waits forever. A timed-out operation is dropped (cancelled).
///
/// The first try is inlined into the caller and made on the operation where
/// it was built ([`Waitable::try_unpinned`]), so that an operation that
/// completes at once is never copied into the aligned slot ([`OwnLines`]):
/// measured, a blocking `put` + `get` pair on one thread went from 24.7 to
/// 18.3 ns (a channel's `send` + `recv` from 26.3 to 18.0). Everything else
/// (the pinning, the pinned poll, the wait loop) is out of line, so that
/// the caller's frame holds the operation and the try only.
#[inline(always)]
pub(crate) fn block_until<W: Waitable>(
    mut op: W,
    deadline: Option<Instant>,
) -> Result<W::Output, Timeout> {
    if let Some(v) = op.try_unpinned() {
        // Nothing left to drop (the contract of `try_unpinned`); its
        // `Drop` would only find the node finished.
        core::mem::forget(op);
        return Ok(v);
    }
    block_pinned(op, deadline)
}

/// [`block_until`] after its unpinned try.
#[inline(never)]
fn block_pinned<W: Waitable>(op: W, deadline: Option<Instant>) -> Result<W::Output, Timeout> {
    pin_own_lines!(let mut op = op);
    if let Poll::Ready(v) = op.as_mut().poll_wait(&mut WaitCx::Thread) {
        return Ok(v);
    }
    // On `None`, dropping `op` unlinks the node or passes on what it got.
    wait_pinned(op, deadline).ok_or(Timeout(()))
}

/// An operation a thread blocks on, on cache lines of its own.
///
/// While the owner spins on its node's state word, the waker writes the
/// node (links, state, payload). Where the node falls in the owner's frame
/// is otherwise up to the compiler: it may straddle two lines, or share one
/// with a local the owner writes while it spins (the backoff counter), and
/// either adds cache-line transfers to every hand-off. Measured on the
/// two-thread barrier round (`benches/barrier.rs`, `rounds_threads`): the
/// same code ran 1.3-1.5x slower in one build than in another, and 1.0x
/// with the operation aligned like this.
#[repr(align(64))]
pub(crate) struct OwnLines<W>(pub(crate) W);

impl<W> OwnLines<W> {
    /// The operation, still pinned.
    #[inline(always)]
    pub(crate) fn project(self: Pin<&mut Self>) -> Pin<&mut W> {
        // SAFETY: structural pinning of the only field: `OwnLines` has no
        // `Drop`, never moves the field out, and is `Unpin` only when `W`
        // is.
        unsafe { self.map_unchecked_mut(|s| &mut s.0) }
    }
}

/// `pin_own_lines!(let mut op = expr);` pins `expr` in the caller's frame
/// inside an [`OwnLines`] and binds `op: Pin<&mut _>` to it: how every
/// blocking path pins the operation it waits on.
macro_rules! pin_own_lines {
    (let mut $name:ident = $e:expr) => {
        let mut slot = ::core::pin::pin!($crate::engine::driver::OwnLines($e));
        let mut $name = slot.as_mut().project();
    };
}
pub(crate) use pin_own_lines;

/// The wait loop of a blocked operation whose first poll returned `Pending`.
/// Returns `None` when the deadline passed, leaving `op` with the caller.
#[inline(never)]
fn wait_pinned<W: Waitable>(mut op: Pin<&mut W>, deadline: Option<Instant>) -> Option<W::Output> {
    loop {
        if !wait_on(op.as_ref().wait_state(), deadline) {
            // Last look: an outcome may have landed just now.
            return match op.as_mut().poll_wait(&mut WaitCx::Thread) {
                Poll::Ready(v) => Some(v),
                Poll::Pending => None,
            };
        }
        if let Poll::Ready(v) = op.as_mut().poll_wait(&mut WaitCx::Thread) {
            return Some(v);
        }
    }
}

/// `Instant::now() + d`, or `None` (forever) when that does not fit.
#[inline]
pub(crate) fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

/// After the spin, how many times a blocked thread yields its core before it
/// parks. Parking costs the waker a futex call and, on an idle virtual CPU, a
/// wake-up that can take tens of microseconds; a thread that parks while its
/// partner, a task whose worker sleeps, is being woken pays that twice. A
/// yield gives way to any runnable thread, so the phase costs little when
/// the machine is busy; kanal yields 256 times too, std's mutex spins
/// without yielding. Measured, a thread producer feeding a task consumer
/// through a capacity-1 queue: ~50 µs to ~7 µs per item with 16 to 1024
/// yields on one 2-core VM, where 64 levelled off; on another (2026-12),
/// 64 left the producer parking once per 4 items (futex waits counted with
/// `perf`) and `queue/spsc_cap1_mixed` at 11.3-12.5 µs, 3.4-3.7x kanal,
/// `spsc_cap0_mixed` at 27.6 µs, 4.8x; 256 took them to 3.37 µs (0.97x)
/// and 4.94 µs (1.01x), with the thread-only rows of the same bench
/// within their noise (`spsc_cap1_sync` 311 -> 299 ns, `spsc_cap1024_sync`
/// 13.2 -> 14.4, `pingpong` 649 -> 662, `_one_core` 23.5 -> 23.6). Three
/// more interleaved rounds of the thread rows, 64 -> 256, medians of the
/// rounds (ns): `spsc_cap1_sync` 314 -> 313, `spsc_cap1024_sync` 14.0 ->
/// 14.0, `spsc_cap0_sync` 330 -> 349 (ranges 316-352 and 323-375),
/// `mpmc2x2_sync` 16.4 -> 16.4, `pingpong` 640 -> 662 (636-653 and
/// 634-663).
#[cfg(not(loom))]
const YIELDS: usize = 256;

/// The spin of a queued thread before it yields: rounds of 1, 2, 4, ...
/// 64 pauses ([`spin_rounds`]), looking at its state word before each.
#[cfg(not(loom))]
const QUEUED_SPIN_PAUSES: u32 = (1 << 7) - 1;

/// A yield that kept the thread off its core this long (µs) means another
/// runnable thread shares the core: see [`crowded`]. A yield with nobody
/// else to run comes back in 0.7 µs here (200,000 yields on an idle
/// 2-core VM: median 0.66-0.68 µs, 99.9th percentile 1.2-2.8 µs, 0.05-0.08%
/// at 3 µs or more). 10 µs, the value before, missed the common crowded
/// case: a partner that runs a short burst (a producer filling 1024 slots
/// in about 5 µs) and yields back.
#[cfg(not(loom))]
const CROWDED_YIELD_US: u32 = 3;

#[cfg(not(loom))]
std::thread_local! {
    /// Whether this thread's last yield gave its core to another thread
    /// for at least [`CROWDED_YIELD_US`].
    static CROWDED: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Whether the calling thread shares its core with another runnable thread
/// (its last yield, while it waited, handed the core over for a while).
/// Then the long spin before queueing (`spin_until`, up to 1023 pauses:
/// 35 µs where a pause is 34 ns) only keeps that thread, often the very
/// partner it waits for, from running: a thread that has to wait on a
/// crowded core queues at once, and waits with the yields below, without
/// their short spin. Cleared by the next yield that comes straight back.
///
/// Without it, a producer and a consumer thread that the scheduler placed
/// on one core (at their start, say) stay there: neither ever sleeps, so the
/// scheduler never places them again, and each spins its whole spin while
/// the other cannot run. Measured (`queue/spsc_cap1024_sync_one_core`, both
/// threads pinned to one CPU): 88-100 ns per item without it, 37-38 with
/// it (std 28-30, kanal 15-17); unpinned, one run in three of a producer
/// and a consumer took 60-85 ns per item instead of 7-15. A crowded thread
/// also skips the spin of [`wait_on`] once it is queued, and the yield
/// that says "crowded" is 3 µs or longer ([`CROWDED_YIELD_US`]): on
/// another machine, same row, 28.1 -> 19.3 ns per item (kanal 11.1, std
/// 28.3), where the queued spin had been a quarter of the time.
#[cfg(not(loom))]
#[inline]
pub(crate) fn crowded() -> bool {
    CROWDED.with(|c| c.get())
}

/// One yield of a waiting thread, timed to keep [`crowded`] up to date.
#[cfg(not(loom))]
fn timed_yield() {
    let t = super::now_micros();
    std::thread::yield_now();
    let long = super::now_micros().wrapping_sub(t) >= CROWDED_YIELD_US;
    CROWDED.with(|c| c.set(long));
}

/// Sleeps until `state` leaves `QUEUED`, or `deadline`. `true` if it left.
#[cfg(not(loom))]
fn wait_on(state: &AtomicU32, deadline: Option<Instant>) -> bool {
    let queued = |s: u32| s & !PARKED == QUEUED;
    // Spin, then yield: an OS wake-up costs microseconds, a hand-off often
    // less. The yields are timed (`crowded`). On a crowded core the spin is
    // skipped: the thread that would end the wait may be the one this spin
    // keeps off the core (measured, `spsc_cap1024_sync_one_core`: the spin
    // was a quarter of the time, 127 pauses per wait of either side).
    if deadline.is_none_or(|d| d > Instant::now()) {
        if !crowded()
            && spin_rounds(QUEUED_SPIN_PAUSES, u32::MAX, || {
                (!queued(state.load(Ordering::Acquire))).then_some(())
            })
            .is_some()
        {
            return true;
        }
        for _ in 0..YIELDS {
            if !queued(state.load(Ordering::Acquire)) {
                return true;
            }
            if deadline.is_some_and(|d| d <= Instant::now()) {
                break; // the park below reports the timeout
            }
            timed_yield();
        }
    }
    let key = state as *const AtomicU32 as usize;
    loop {
        match state.compare_exchange(
            QUEUED,
            QUEUED | PARKED,
            Ordering::Relaxed,
            Ordering::Acquire,
        ) {
            Ok(_) => {}
            Err(s) if !queued(s) => return true,
            Err(_) => {} // already PARKED (a spurious wake-up before)
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return !queued(state.load(Ordering::Acquire));
        }
        // SAFETY: `validate` and the other callbacks do not call into
        // parking_lot_core; the key is the address of our own state word,
        // which outlives the call.
        unsafe {
            parking_lot_core::park(
                key,
                || state.load(Ordering::Relaxed) == QUEUED | PARKED,
                || {},
                |_, _| {},
                parking_lot_core::DEFAULT_PARK_TOKEN,
                deadline,
            );
        }
        if !queued(state.load(Ordering::Acquire)) {
            return true;
        }
    }
}

/// Loom has no clock: a deadline means "give up after one look".
///
/// As in the real driver, a thread announces with `PARKED` that it is about
/// to park, and a waker unparks it only then (clearing the flag as it does):
/// the one `park` below consumes that one `unpark`. An `unpark` sent to a
/// thread that saw its outcome without parking would be a stale token with
/// std (harmless), but loom 0.7 lets an `unpark` end *any* blocking of its
/// target, including a `JoinHandle::join` or a loom `Mutex::lock` the thread
/// went on to, which then panics (`assertion failed: state.notified`;
/// tokio-rs/loom#249, see `loom_defects.rs`).
#[cfg(loom)]
fn wait_on(state: &AtomicU32, deadline: Option<Instant>) -> bool {
    let queued = |s: u32| s & !PARKED == QUEUED;
    if deadline.is_some() {
        if !queued(state.load(Ordering::Acquire)) {
            return true;
        }
        loom::thread::yield_now();
        return !queued(state.load(Ordering::Acquire));
    }
    loop {
        match state.compare_exchange(
            QUEUED,
            QUEUED | PARKED,
            Ordering::Relaxed,
            Ordering::Acquire,
        ) {
            Ok(_) => {}
            Err(s) if !queued(s) => return true,
            Err(_) => {} // already PARKED (back from a park that was not ours)
        }
        // Returns once the waker that saw `PARKED` has unparked us.
        loom::thread::park();
        if !queued(state.load(Ordering::Acquire)) {
            return true;
        }
    }
}

/// Gives an operation type its four ways to finish: `Future`, `.block()`,
/// `.block_for(d)` and `.block_until(t)`.
///
/// `impl_operation!(impl['a, T: ?Sized] Lock<'a, T> => MutexGuard<'a, T>);`
macro_rules! impl_operation {
    (impl[$($gen:tt)*] $ty:ty => $out:ty) => {
        impl<$($gen)*> $ty {
            /// Finishes the operation on this thread, parking it until done.
            ///
            /// Never panics inside an async runtime: it blocks the calling
            /// worker thread, like any blocking call would.
            #[inline(always)]
            pub fn block(self) -> $out {
                match $crate::engine::driver::block_until(self, None) {
                    Ok(v) => v,
                    Err(_) => unreachable!("an untimed wait cannot time out"),
                }
            }

            /// Like [`block`](Self::block), giving up after `timeout`.
            ///
            /// `Duration::ZERO` tries once; a timeout too large to represent
            /// waits forever. On `Err(Timeout)` the operation was cancelled
            /// and left no trace.
            #[inline(always)]
            pub fn block_for(self, timeout: ::std::time::Duration) -> Result<$out, $crate::Timeout> {
                $crate::engine::driver::block_until(self, $crate::engine::driver::deadline_after(timeout))
            }

            /// Like [`block`](Self::block), giving up at `deadline`.
            ///
            /// On `Err(Timeout)` the operation was cancelled and left no trace.
            #[inline(always)]
            pub fn block_until(self, deadline: ::std::time::Instant) -> Result<$out, $crate::Timeout> {
                $crate::engine::driver::block_until(self, Some(deadline))
            }
        }

        $crate::engine::driver::impl_future!(impl[$($gen)*] $ty => $out);
    };
    // An operation that can fail: its untimed forms give `Result<$ok, $err>`,
    // its timed forms one flat error `$terr` (`Timeout` plus `$err`'s cases).
    (impl[$($gen:tt)*] $ty:ty => Result<$ok:ty, $err:ty>, timed: $terr:ty) => {
        impl<$($gen)*> $ty {
            /// Finishes the operation on this thread, parking it until done.
            ///
            /// Never panics inside an async runtime: it blocks the calling
            /// worker thread, like any blocking call would.
            #[inline(always)]
            pub fn block(self) -> Result<$ok, $err> {
                match $crate::engine::driver::block_until(self, None) {
                    Ok(v) => v,
                    Err(_) => unreachable!("an untimed wait cannot time out"),
                }
            }

            /// Like [`block`](Self::block), giving up after `timeout`, with
            /// one flat error: its `Timeout` variant when the time ran out
            /// (the operation was cancelled and left no trace), or the
            /// operation's own failure.
            ///
            /// `Duration::ZERO` tries once; a timeout too large to represent
            /// waits forever.
            #[inline(always)]
            pub fn block_for(self, timeout: ::std::time::Duration) -> Result<$ok, $terr> {
                $crate::engine::driver::flatten($crate::engine::driver::block_until(
                    self,
                    $crate::engine::driver::deadline_after(timeout),
                ))
            }

            /// Like [`block_for`](Self::block_for), giving up at `deadline`.
            #[inline(always)]
            pub fn block_until(self, deadline: ::std::time::Instant) -> Result<$ok, $terr> {
                $crate::engine::driver::flatten($crate::engine::driver::block_until(
                    self,
                    Some(deadline),
                ))
            }
        }

        $crate::engine::driver::impl_future!(impl[$($gen)*] $ty => Result<$ok, $err>);
    };
}
pub(crate) use impl_operation;

/// A timed wait's `Result<Result<T, E>, Timeout>` as one flat `Result<T, F>`.
#[inline(always)]
pub(crate) fn flatten<T, E, F>(r: Result<Result<T, E>, Timeout>) -> Result<T, F>
where
    F: From<E> + From<Timeout>,
{
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.into()),
        Err(t) => Err(t.into()),
    }
}

/// Gives a [`Waitable`] operation its `Future` and `FusedFuture` impls (for
/// operations whose blocking forms are written by hand).
macro_rules! impl_future {
    (impl[$($gen:tt)*] $ty:ty => $out:ty) => {
        impl<$($gen)*> ::core::future::Future for $ty {
            type Output = $out;
            #[inline]
            fn poll(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
            ) -> ::core::task::Poll<$out> {
                $crate::engine::driver::Waitable::poll_wait(
                    self,
                    &mut $crate::engine::node::WaitCx::Task(cx),
                )
            }
        }

        impl<$($gen)*> ::futures_core::future::FusedFuture for $ty {
            /// `true` once the operation returned its output: polling it
            /// again would panic. `select!` skips it then.
            #[inline]
            fn is_terminated(&self) -> bool {
                $crate::engine::driver::Waitable::is_terminated(self)
            }
        }
    };
}
pub(crate) use impl_future;

/// Like [`block_until`], but the operation stays with the caller: on timeout
/// it returns `None` and `op` is still pinned (linked, or holding an
/// outcome), so that the caller can cancel it itself and recover what it
/// carries (a `put` gives its item back this way).
pub(crate) fn block_pinned_until<W: Waitable>(
    mut op: Pin<&mut W>,
    deadline: Option<Instant>,
) -> Option<W::Output> {
    if let Poll::Ready(v) = op.as_mut().poll_wait(&mut WaitCx::Thread) {
        return Some(v);
    }
    wait_pinned(op, deadline)
}
