//! Tests of `limiter` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, not(loom)))]
mod borrower_set_tests {
    //! `BorrowerSet` against `std`'s `HashSet` as the reference, across the
    //! inline/spill boundary.

    use std::collections::HashSet;

    use crate::limiter::{Borrower, BorrowerSet, INLINE_BORROWERS};

    fn check(set: &BorrowerSet, reference: &HashSet<Borrower>) {
        assert_eq!(set.len(), reference.len());
        let listed: Vec<Borrower> = set.iter().collect();
        assert_eq!(listed.len(), reference.len(), "a borrower listed twice");
        assert_eq!(listed.into_iter().collect::<HashSet<_>>(), *reference);
    }

    #[test]
    fn matches_a_hash_set_under_random_operations() {
        // Ids from a small range, so that inserts of present borrowers and
        // removes of absent ones are frequent; both namespaces, with equal
        // raw values, so that `kind` has to be compared too.
        let universe = 3 * INLINE_BORROWERS as u64;
        let mut set = BorrowerSet::new();
        let mut reference = HashSet::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut max_len = 0;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let raw = (x >> 8) % universe;
            let b = if x & 1 == 0 {
                Borrower::id(raw)
            } else {
                Borrower {
                    kind: crate::limiter::KIND_ANON,
                    raw,
                }
            };
            // Grow for a while, then shrink, then mix: every phase crosses
            // the inline/spill boundary in both directions.
            let insert = match (step / 2_000) % 3 {
                0 => x & 6 != 0,
                1 => x & 6 == 0,
                _ => x & 2 != 0,
            };
            if insert {
                assert_eq!(set.insert(b), reference.insert(b), "insert {b:?}");
            } else {
                assert_eq!(set.remove(b), reference.remove(&b), "remove {b:?}");
            }
            assert_eq!(set.contains(b), reference.contains(&b));
            max_len = max_len.max(set.len());
            check(&set, &reference);
        }
        assert!(max_len > INLINE_BORROWERS, "the spill set was never used");
    }

    #[test]
    fn inline_slots_are_reused_while_the_spill_set_holds_some() {
        let mut set = BorrowerSet::new();
        let n = INLINE_BORROWERS as u64 + 3;
        for i in 0..n {
            assert!(set.insert(Borrower::id(i)));
        }
        assert_eq!(set.spill.len(), 3);
        // Free two inline slots; the spilled ones stay where they are.
        assert!(set.remove(Borrower::id(0)));
        assert!(set.remove(Borrower::id(1)));
        assert!(!set.remove(Borrower::id(1)));
        assert_eq!(set.len(), n as usize - 2);
        // A spilled borrower is still found, and is not inserted twice.
        assert!(set.contains(Borrower::id(n - 1)));
        assert!(!set.insert(Borrower::id(n - 1)));
        // New holders take the free inline slots.
        assert!(set.insert(Borrower::id(100)));
        assert!(set.insert(Borrower::id(101)));
        assert_eq!(set.inline_len, INLINE_BORROWERS);
        assert_eq!(set.spill.len(), 3);
        assert!(set.remove(Borrower::id(n - 1)));
        assert!(!set.contains(Borrower::id(n - 1)));
        assert_eq!(set.len(), n as usize - 1);
    }
}

#[cfg(all(test, loom))]
mod loom_limiter_tests {
    //! Loom models of the limiter: a thread waiter and a task waiter sharing
    //! one token, a resize racing both, and a cancelled waiter racing the
    //! release that may hand it the token. A lost wake-up is a loom
    //! deadlock; over-subscription is checked with a counter. Borrowers are
    //! explicit: loom threads share one OS thread, so `current_thread` would
    //! name the same borrower for all of them.

    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Waker};
    use std::sync::Arc;

    use loom::sync::atomic::{AtomicUsize, Ordering};

    use crate::limiter::{Borrower, CapacityLimiter};

    struct Shared {
        l: CapacityLimiter,
        inside: AtomicUsize,
    }

    fn work(s: &Shared, max: usize) {
        let n = s.inside.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n <= max, "{n} inside a limiter of {max}");
        s.inside.fetch_sub(1, Ordering::SeqCst);
    }

    #[test]
    fn loom_limiter_thread_and_task() {
        loom::model(|| {
            let s = Arc::new(Shared {
                l: CapacityLimiter::new(1),
                inside: AtomicUsize::new(0),
            });
            let s1 = s.clone();
            let thread = loom::thread::spawn(move || {
                let t = s1.l.acquire_on_behalf_of(Borrower::id(1)).block().unwrap();
                work(&s1, 1);
                drop(t);
            });
            let s2 = s.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    let t = s2.l.acquire_on_behalf_of(Borrower::id(2)).await.unwrap();
                    work(&s2, 1);
                    drop(t);
                })
            });
            let t = s.l.acquire_on_behalf_of(Borrower::id(0)).block().unwrap();
            work(&s, 1);
            drop(t);
            thread.join().unwrap();
            task.join().unwrap();
            assert_eq!(s.l.borrowed_tokens(), 0);
            assert_eq!(s.l.statistics().waiting, 0);
        });
    }

    /// Raising the total while a thread and a task wait lets both in.
    #[test]
    fn loom_limiter_resize_wakes_waiters() {
        loom::model(|| {
            let l = Arc::new(CapacityLimiter::new(1));
            let held = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
            let l1 = l.clone();
            let thread = loom::thread::spawn(move || {
                let t = l1.acquire_on_behalf_of(Borrower::id(1)).block().unwrap();
                core::mem::forget(t);
            });
            let l2 = l.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    let t = l2.acquire_on_behalf_of(Borrower::id(2)).await.unwrap();
                    core::mem::forget(t);
                })
            });
            l.set_total_tokens(3).unwrap();
            thread.join().unwrap();
            task.join().unwrap();
            // Nobody released: all three hold a token at once.
            assert_eq!(l.borrowed_tokens(), 3);
            drop(held);
            assert_eq!(l.statistics().borrowed_tokens, 2);
        });
    }

    /// The holder releases while a task's acquire (polled once, so queued or
    /// already served) is dropped and a thread waits behind it: the thread
    /// must get the token whatever the interleaving.
    fn cancelled_waiter_passes_on(fair: bool) {
        loom::model(move || {
            let l = Arc::new(if fair {
                CapacityLimiter::new_fair(1)
            } else {
                CapacityLimiter::new(1)
            });
            let held = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
            let l1 = l.clone();
            let dropper = loom::thread::spawn(move || {
                let mut f = pin!(l1.acquire_on_behalf_of(Borrower::id(1)));
                let mut cx = Context::from_waker(Waker::noop());
                let got = f.as_mut().poll(&mut cx).is_ready();
                loom::thread::yield_now();
                drop(f); // cancel: queued, or GRANTED and passed on
                got
            });
            let l2 = l.clone();
            let waiter = loom::thread::spawn(move || {
                let t = l2.acquire_on_behalf_of(Borrower::id(2)).block().unwrap();
                drop(t);
            });
            drop(held);
            let _ = dropper.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(l.borrowed_tokens(), 0);
            assert_eq!(l.statistics().waiting, 0);
        });
    }

    /// Bounded barging: the release frees the token and wakes the queued
    /// head in place; the head (a task future) is dropped before or after it
    /// looks.
    #[test]
    fn loom_limiter_cancelled_waiter_passes_on() {
        cancelled_waiter_passes_on(false);
    }

    /// Strict hand-off: the token is moved to the head, which passes it on.
    #[test]
    fn loom_limiter_cancelled_waiter_passes_on_fair() {
        cancelled_waiter_passes_on(true);
    }

    /// A `block_for` that gives up (one look under loom) racing the
    /// release, with a task queued behind it: the token is not lost.
    #[test]
    fn loom_limiter_timeout_races_release() {
        loom::model(|| {
            let l = Arc::new(CapacityLimiter::new(1));
            let held = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
            let l1 = l.clone();
            let timed = loom::thread::spawn(move || {
                let r = l1
                    .acquire_on_behalf_of(Borrower::id(1))
                    .block_for(std::time::Duration::from_millis(1));
                if let Ok(t) = r {
                    drop(t);
                }
            });
            let l2 = l.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    drop(l2.acquire_on_behalf_of(Borrower::id(2)).await.unwrap());
                })
            });
            drop(held);
            timed.join().unwrap();
            task.join().unwrap();
            assert_eq!(l.borrowed_tokens(), 0);
            assert_eq!(l.statistics().waiting, 0);
        });
    }
}
