//! The loom facade: std atomics and parking normally, loom's under `--cfg loom`.
//!
//! Every atomic the engine and the primitives touch comes from here, so that a
//! `RUSTFLAGS="--cfg loom"` build explores their interleavings.

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
};

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
};

pub(crate) use std::sync::atomic::Ordering;

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::fence;

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::fence;

/// Sets `bits` in the address of the pointer in `a` and returns the pointer
/// it held, keeping its provenance (strict provenance: no integer-to-pointer
/// cast). One `fetch_or` normally; loom's `AtomicPtr` has no `fetch_or`, so
/// there it is a `fetch_update` loop (speed does not matter under loom).
#[inline(always)]
pub(crate) fn fetch_or_addr<T>(a: &AtomicPtr<T>, bits: usize, order: Ordering) -> *mut T {
    #[cfg(not(loom))]
    {
        a.fetch_or(bits, order)
    }
    #[cfg(loom)]
    {
        let load = match order {
            Ordering::Release => Ordering::Relaxed,
            Ordering::AcqRel => Ordering::Acquire,
            o => o,
        };
        match a.fetch_update(order, load, |p| Some(p.map_addr(|x| x | bits))) {
            Ok(p) | Err(p) => p,
        }
    }
}

/// One step of a bounded busy-wait. Under loom this yields to the model
/// checker instead, which is what loom needs to make progress in spin loops.
#[inline]
pub(crate) fn spin_step(backoff: &crossbeam_utils::Backoff) {
    #[cfg(not(loom))]
    backoff.snooze();
    #[cfg(loom)]
    {
        // One step only, and mark the backoff completed: a loom `yield_now`
        // never advances it, so a bounded spin (a thread waiter spinning
        // before it queues) would otherwise never end and the queueing and
        // parking paths would go unexplored.
        while !backoff.is_completed() {
            backoff.snooze();
        }
        loom::thread::yield_now();
    }
}

/// The one pause loop of the engine (a thread before it queues,
/// `waiter::spin_until`; after, `driver::wait_on`; a contended queue lock,
/// `WaitQueue::lock_contended`): rounds of 1, 2, 4, ...
/// pause instructions, each round at most `2^max_gap` pauses, `total`
/// pauses in all. `look` runs before each round; the spin ends with its
/// first `Some`. `None` when the pauses ran out first (the caller may look
/// once more).
#[cfg(not(loom))]
#[inline]
pub(crate) fn spin_rounds<R>(
    total: u32,
    max_gap: u32,
    mut look: impl FnMut() -> Option<R>,
) -> Option<R> {
    let (mut left, mut step) = (total, 0u32);
    while left > 0 {
        if let Some(r) = look() {
            return Some(r);
        }
        let n = (1u32 << step.min(max_gap)).min(left);
        for _ in 0..n {
            core::hint::spin_loop();
        }
        left -= n;
        step += 1;
    }
    None
}

/// Gives the processor away after a bounded spin has not been enough.
#[inline]
#[cfg_attr(loom, allow(dead_code))] // the queue lock is a loom mutex there
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}
