//! [`WakeList`]: wake-ups gathered under a queue lock and run after it.
//!
//! Wakers are cloned before the queue lock is taken, and woken or dropped
//! after it is released, so a waker that re-enters the primitive cannot
//! deadlock. Every primitive gets this for free through
//! [`WaitQueue::with_lock`](super::queue::WaitQueue::with_lock), which runs
//! the list after the guard is gone.

use core::mem::{ManuallyDrop, MaybeUninit};
use core::task::Waker;
use std::collections::VecDeque;

/// One pending wake-up, collected under the lock and run after it.
pub(super) enum Wake {
    Task(Waker),
    /// A waker to drop (not wake) once the lock is released.
    Drop(Waker),
    /// A `parking_lot_core` key: the address of the node's state word.
    #[cfg(not(loom))]
    Thread(usize),
    #[cfg(loom)]
    Thread(loom::thread::Thread),
}

pub(super) const INLINE_WAKES: usize = 8;

/// Wake-ups gathered while the queue lock is held, run by [`WakeList::wake_all`]
/// (or on drop) after it is released. The first few live inline; a crowd
/// woken at once (a `notify_all` on many waiters) spills to the heap.
///
/// Why a spill and not batches: the wakers of the nodes one call completes
/// must all be moved out under the lock (a completed node may be freed by
/// its owner at once), and waking in batches would mean dropping and
/// re-taking the lock between them, which lets newcomers interleave with a
/// `set()` / `notify_all()` / `close()` that must complete "everyone queued
/// now" in one critical section. The heap is only touched when one call
/// wakes more than 8 waiters: one growing buffer for all of them, so the
/// cost per wake-up stays a small constant.
///
/// A waker that panics in `wake()` does not cost the others their wake-up:
/// the rest of the list still runs, then the panic goes on.
///
/// Only `inline[done..len]` is initialized: a new list writes two counters
/// and a null spill pointer (no per-slot tags to write, move or drop), and
/// the usual list (one wake-up, or none) never touches the spill: pushing
/// and running it are a few inlined instructions, and dropping an empty
/// list is two compares.
pub(crate) struct WakeList {
    inline: [MaybeUninit<Wake>; INLINE_WAKES],
    /// Slots `0..len` were filled...
    len: usize,
    /// ...and `0..done` already ran (their wake-ups were moved out).
    done: usize,
    /// Made on the ninth push only. Boxed so that the usual list carries
    /// (and drops) one null pointer instead of an empty deque, whose drop
    /// is an out-of-line call. `ManuallyDrop`: the list's `Drop` empties
    /// it out of line (`drop_slow`), so that the list's drop glue stays a
    /// few inlined compares instead of a call at every critical section.
    #[allow(clippy::box_collection)]
    spill: ManuallyDrop<Option<Box<VecDeque<Wake>>>>,
}

impl WakeList {
    #[inline]
    pub(crate) fn new() -> Self {
        WakeList {
            inline: [const { MaybeUninit::uninit() }; INLINE_WAKES],
            len: 0,
            done: 0,
            spill: ManuallyDrop::new(None),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, w: Wake) {
        if self.len < INLINE_WAKES {
            self.inline[self.len].write(w);
            self.len += 1;
        } else {
            self.push_spill(w);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_spill(&mut self, w: Wake) {
        self.spill.get_or_insert_default().push_back(w);
    }

    /// Keeps a waker alive until the list runs, then drops it without
    /// waking it: a `Waker`'s drop may re-enter the primitive.
    pub(crate) fn drop_later(&mut self, w: Waker) {
        self.push(Wake::Drop(w));
    }

    /// Runs every wake-up, in the order they were gathered. Must be called
    /// without any queue lock held.
    ///
    /// If a waker panics, the remaining wake-ups still run (while the panic
    /// unwinds), then the first panic goes on to the caller.
    #[inline(always)]
    pub(crate) fn wake_all(&mut self) {
        // Inline slots fill first: an empty inline part means nothing at all.
        // Most lists are empty: this test is all they cost, inlined at the
        // caller (the run itself saves every register it uses).
        if self.len != 0 {
            self.run_all();
        }
    }

    #[inline(never)]
    fn run_all(&mut self) {
        if self.len == 1 && self.done == 0 && self.spill.is_none() {
            // The usual list: one wake-up. Taken out before it runs, so a
            // panic in it leaves nothing behind to resume.
            self.len = 0;
            // SAFETY: slot 0 is initialized (`done..len` is `0..1`, the
            // type's invariant); `len = 0` above hands it over to us.
            let w = unsafe { self.inline[0].assume_init_read() };
            run_wake(w);
            return;
        }
        let resume = Resume(self);
        resume.0.run();
        core::mem::forget(resume);
    }

    /// Runs what is left, taking each wake-up out before running it, so that
    /// a run cut short by a panicking waker can be resumed where it stopped.
    #[inline]
    fn run(&mut self) {
        while self.done < self.len {
            // SAFETY: slots `done..len` are initialized (the type's
            // invariant); advancing `done` first hands this one over to us,
            // so a resumed run never reads it again.
            let w = unsafe { self.inline[self.done].assume_init_read() };
            self.done += 1;
            run_wake(w);
        }
        (self.len, self.done) = (0, 0);
        if self.spill.is_some() {
            self.run_spill();
        }
    }

    #[cold]
    #[inline(never)]
    fn run_spill(&mut self) {
        if let Some(spill) = self.spill.as_mut() {
            while let Some(w) = spill.pop_front() {
                run_wake(w);
            }
        }
    }
}

/// Finishes a [`WakeList`] whose run a panicking waker interrupted: dropped
/// only while that panic unwinds (it is forgotten otherwise).
struct Resume<'a>(&'a mut WakeList);

impl Drop for Resume<'_> {
    #[cold]
    fn drop(&mut self) {
        // Each panic consumed the waker that raised it, so every round makes
        // progress; catching the later ones keeps a second panicking waker
        // from aborting the process (a panic escaping a drop during
        // unwinding would). The first panic goes on unwinding afterwards.
        let list = &mut *self.0;
        while std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| list.run())).is_err() {}
    }
}

impl Drop for WakeList {
    /// Two compares inline for the usual list (already run, never
    /// spilled); the rest out of line.
    #[inline(always)]
    fn drop(&mut self) {
        if self.len != 0 || self.spill.is_some() {
            self.drop_slow();
        }
    }
}

impl WakeList {
    /// Runs what is left, then frees the spill, also when a waker panics
    /// (the guard's drop runs while that panic unwinds, after `run_all`'s
    /// `Resume` has run every other wake-up, the spilled ones included).
    /// The `None` left behind owns nothing, so `spill` needs no drop of
    /// its own.
    #[cold]
    #[inline(never)]
    fn drop_slow(&mut self) {
        struct FreeSpill<'a>(&'a mut WakeList);
        impl Drop for FreeSpill<'_> {
            fn drop(&mut self) {
                drop(self.0.spill.take());
            }
        }
        let list = FreeSpill(self);
        list.0.wake_all();
    }
}

#[inline]
fn run_wake(w: Wake) {
    match w {
        Wake::Task(waker) => waker.wake(),
        Wake::Drop(waker) => drop(waker),
        #[cfg(not(loom))]
        Wake::Thread(key) => unpark(key),
        #[cfg(loom)]
        Wake::Thread(t) => t.unpark(),
    }
}

/// Wakes the thread parked on `key` (out of line: the parking lot's
/// lookup is long, and the task wake-ups beside it stay short).
#[cfg(not(loom))]
#[inline(never)]
fn unpark(key: usize) {
    // SAFETY: `unpark_one` only uses the key as a hash-table key; it never
    // dereferences it, so a node that has already been freed (its owner saw
    // the outcome and returned) is harmless: at worst a thread now parked on
    // a reused address wakes spuriously and re-checks its own state.
    unsafe {
        parking_lot_core::unpark_one(key, |_| parking_lot_core::DEFAULT_UNPARK_TOKEN);
    }
}
