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

/// Gives the processor away after a bounded spin has not been enough.
#[inline]
#[cfg_attr(loom, allow(dead_code))] // the queue lock is a loom mutex there
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}
