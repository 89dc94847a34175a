//! Tests of `rwlock` that need its private items: unit tests of the state
//! word, and loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(not(loom))]
mod unit {
    use crate::RwLock;
    use crate::rwlock::raw::RawRwLock;

    #[test]
    fn sixteen_bytes() {
        assert_eq!(size_of::<RwLock<()>>(), 16);
        assert_eq!(size_of::<RawRwLock>(), 16);
    }

    #[test]
    fn checked_unlocks_change_nothing_when_not_held() {
        let l = RwLock::new(());
        let raw = l.raw();
        assert!(!raw.unlock_read_checked());
        assert!(!raw.unlock_write_checked());
        assert!(raw.try_write());
        assert!(!raw.unlock_read_checked(), "a writer holds, not a reader");
        assert!(raw.unlock_write_checked());
        assert!(!raw.unlock_write_checked());
        assert!(raw.try_read() && raw.try_read());
        assert!(!raw.unlock_write_checked(), "readers hold, not a writer");
        assert!(raw.unlock_read_checked() && raw.unlock_read_checked());
        assert!(!raw.unlock_read_checked());
        assert!(!l.is_locked());
    }

    /// Every guard kind, mapped and owned, through upgrades and downgrades:
    /// the pointer work of the guards (run under Miri by scripts/miri.sh).
    #[test]
    fn guards_maps_upgrades_and_downgrades() {
        use crate::{
            MappedRwLockReadGuard, MappedRwLockWriteGuard, OwnedRwLockMappedWriteGuard,
            OwnedRwLockReadGuard, OwnedRwLockUpgradableReadGuard, OwnedRwLockWriteGuard,
            RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
        };
        use std::sync::Arc;

        let l = RwLock::new((1u32, String::from("a")));
        let r = RwLockReadGuard::map(l.read().block(), |t| &t.1);
        let r = MappedRwLockReadGuard::map(r, |s| s.as_str());
        let r2 = RwLockReadGuard::try_map(l.try_read().unwrap(), |t| Some(&t.0))
            .ok()
            .unwrap();
        assert_eq!((&*r, *r2), ("a", 1));
        drop((r, r2));
        let w = RwLockWriteGuard::map(l.write().block(), |t| &mut t.1);
        let mut w = MappedRwLockWriteGuard::map(w, |s| s);
        w.push('b');
        drop(w);
        let up = l.upgradable_read().block();
        let r = l.read().block();
        let up = RwLockUpgradableReadGuard::try_upgrade(up).unwrap_err();
        drop(r);
        let mut w = RwLockUpgradableReadGuard::upgrade(up).block();
        w.0 += 1;
        let up = RwLockWriteGuard::downgrade_to_upgradable(w);
        let r = RwLockUpgradableReadGuard::downgrade(up);
        assert_eq!(*r, (2, String::from("ab")));
        drop(r);
        let w = RwLockWriteGuard::try_map(l.write().block(), |_| None::<&mut u32>).unwrap_err();
        let r = RwLockWriteGuard::downgrade(w);
        drop(r);

        let a = Arc::new(RwLock::new((1u32, vec![1u8])));
        let r = OwnedRwLockReadGuard::map(a.read_arc().block(), |t| &t.1);
        let r = OwnedRwLockReadGuard::map(r, |v| &v[0]);
        assert_eq!(*r, 1);
        drop(r);
        let w = OwnedRwLockWriteGuard::map(a.write_arc().block(), |t| &mut t.1);
        let mut w = OwnedRwLockMappedWriteGuard::map(w, |v| v);
        w.push(2);
        drop(w);
        let up = a.upgradable_read_arc().block();
        let w = OwnedRwLockUpgradableReadGuard::upgrade(up).block();
        let up = OwnedRwLockWriteGuard::downgrade_to_upgradable(w);
        let r = OwnedRwLockUpgradableReadGuard::downgrade(up);
        assert_eq!(r.1, [1, 2]);
        drop(r);
        let w = a.try_write_arc().unwrap();
        drop(OwnedRwLockWriteGuard::downgrade(w));
        let up = a.try_upgradable_read_arc().unwrap();
        drop(
            OwnedRwLockUpgradableReadGuard::try_upgrade(up)
                .ok()
                .unwrap(),
        );
        assert!(!a.is_locked() && !l.is_locked());
    }

    /// Threads queued behind a writer, one of them cancelled (a timed-out
    /// writer) while a reader waits behind it: the nodes on the waiters'
    /// stacks, the hand-offs and the wake-ups (run under Miri too).
    #[test]
    fn queued_threads_and_a_cancelled_writer() {
        use std::sync::Arc;
        use std::time::Duration;

        let l = Arc::new(RwLock::new(0u32));
        let inside = l.read_arc().block();
        let l1 = l.clone();
        let writer =
            std::thread::spawn(move || l1.write().block_for(Duration::from_millis(50)).is_err());
        // (Under Miri the writer's 50 ms may pass before this thread looks.)
        while l.statistics().waiting != 1 && !writer.is_finished() {
            std::thread::yield_now();
        }
        let l2 = l.clone();
        let reader = std::thread::spawn(move || *l2.read().block());
        assert!(writer.join().unwrap(), "the read lock is held");
        assert_eq!(reader.join().unwrap(), 0);
        let l3 = l.clone();
        let late_writer = std::thread::spawn(move || *l3.write().block() += 1);
        while l.statistics().waiting != 1 {
            std::thread::yield_now();
        }
        drop(inside);
        late_writer.join().unwrap();
        assert_eq!(*l.read().block(), 1);
    }
}

#[cfg(loom)]
mod loom_tests {
    //! Loom models: a thread reader, a task writer and a cancelled writer
    //! future on one lock; a queued writer that times out (one look under
    //! loom) or is dropped while readers queue behind it; an upgrade racing
    //! readers. A lost wake-up or a stranded waiter is a loom deadlock;
    //! exclusion is checked by loom's `UnsafeCell` tracking.

    use core::task::{Context, Poll, Waker};
    use std::sync::Arc;
    use std::time::Duration;

    use loom::cell::UnsafeCell;

    use crate::engine::loom_model as model;
    use crate::{RwLock, RwLockUpgradableReadGuard};

    type Shared = RwLock<UnsafeCell<usize>>;

    fn shared(fair: bool) -> Arc<Shared> {
        Arc::new(if fair {
            RwLock::new_fair(UnsafeCell::new(0))
        } else {
            RwLock::new(UnsafeCell::new(0))
        })
    }

    fn value(l: &Shared) -> usize {
        let g = l.try_read().expect("every holder and waiter is gone");
        // SAFETY: a read guard: shared access; loom checks it.
        g.with(|p| unsafe { *p })
    }

    fn quiescent(l: &Shared) {
        let st = l.statistics();
        assert_eq!(
            (st.readers, st.writer, st.upgradable, st.waiting),
            (0, false, false, 0)
        );
    }

    /// Main holds the write lock; a task queues for it; a third party
    /// polls a write future once (queued, or handed the lock, or done) and
    /// drops it; main releases and reads as a thread (queued behind the
    /// writers or not). Whatever the interleaving, the write happens once,
    /// the reader sees 0 or 1, and the lock ends free with nobody queued.
    fn thread_reader_task_writer_cancel(fair: bool) {
        model(move || {
            let l = shared(fair);
            let held = l.write().block(); // everyone has to wait for something
            let l2 = l.clone();
            let writer = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    let g = l2.write().await;
                    // SAFETY: the write guard; loom checks it.
                    g.with_mut(|p| unsafe { *p += 1 });
                })
            });
            let l3 = l.clone();
            let dropper = loom::thread::spawn(move || {
                let mut f = Box::pin(l3.write());
                let mut cx = Context::from_waker(Waker::noop());
                let _ = f.as_mut().poll(&mut cx).is_ready();
                loom::thread::yield_now();
                drop(f); // cancel: queued, GRANTED, woken, or done
            });
            drop(held);
            let seen = {
                let g = l.read().block();
                // SAFETY: a read guard; loom checks it.
                g.with(|p| unsafe { *p })
            };
            writer.join().unwrap();
            dropper.join().unwrap();
            assert!(seen <= 1);
            assert_eq!(value(&l), 1);
            quiescent(&l);
        });
    }

    #[test]
    fn loom_rwlock_thread_reader_task_writer_cancel() {
        thread_reader_task_writer_cancel(false);
    }

    #[test]
    fn loom_rwlock_thread_reader_task_writer_cancel_fair() {
        thread_reader_task_writer_cancel(true);
    }

    /// parking_lot #465: a writer queued behind a held read lock stops a new
    /// reader; the writer gives up (a timed-out `block_for`, one look under
    /// loom) while the read lock is still held. The reader (a task) must get
    /// in then, without waiting for the read lock to go.
    fn timed_out_writer_releases_readers(fair: bool) {
        model(move || {
            let l = shared(fair);
            let held = l.read().block();
            let l1 = l.clone();
            let writer = loom::thread::spawn(move || {
                assert!(
                    l1.write().block_for(Duration::from_secs(5)).is_err(),
                    "the read lock is held throughout"
                );
            });
            let l2 = l.clone();
            let reader = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    let g = l2.read().await;
                    // SAFETY: a read guard; loom checks it.
                    g.with(|p| unsafe { *p })
                })
            });
            writer.join().unwrap();
            // Still holding `held`: a reader stuck behind the gone writer
            // would deadlock here.
            assert_eq!(reader.join().unwrap(), 0);
            drop(held);
            quiescent(&l);
        });
    }

    #[test]
    fn loom_rwlock_timed_out_writer_releases_readers() {
        timed_out_writer_releases_readers(false);
    }

    #[test]
    fn loom_rwlock_timed_out_writer_releases_readers_fair() {
        timed_out_writer_releases_readers(true);
    }

    /// The same with the writer a task future that is dropped after one
    /// poll (queued behind the held read lock), and a thread reader.
    #[test]
    fn loom_rwlock_dropped_writer_releases_readers() {
        model(|| {
            let l = shared(false);
            let held = l.read().block();
            let l1 = l.clone();
            let writer = loom::thread::spawn(move || {
                let mut f = Box::pin(l1.write());
                let mut cx = Context::from_waker(Waker::noop());
                assert!(f.as_mut().poll(&mut cx).is_pending());
                loom::thread::yield_now();
                drop(f);
            });
            let l2 = l.clone();
            let reader = loom::thread::spawn(move || drop(l2.read().block()));
            writer.join().unwrap();
            reader.join().unwrap();
            drop(held);
            quiescent(&l);
        });
    }

    /// An upgradable reader upgrades while a reader inside leaves (a
    /// thread) and a task takes a read lock: the upgrade waits for the
    /// reader inside (or finds it gone); the task enters before the upgrade
    /// or after the write. The write never overlaps a read (loom's
    /// `UnsafeCell` check), and everyone finishes.
    fn upgrade_races_readers(fair: bool) {
        model(move || {
            let l = shared(fair);
            let up = l.upgradable_read().block();
            let inside = l.read_arc().block();
            let leaves = loom::thread::spawn(move || {
                // SAFETY: a read guard; loom checks it.
                let v = inside.with(|p| unsafe { *p });
                drop(inside);
                v
            });
            let l2 = l.clone();
            let task_reader = loom::thread::spawn(move || {
                loom::future::block_on(async {
                    let g = l2.read().await;
                    // SAFETY: a read guard; loom checks it.
                    g.with(|p| unsafe { *p })
                })
            });
            let w = RwLockUpgradableReadGuard::upgrade(up).block();
            // SAFETY: the write guard; loom checks it.
            w.with_mut(|p| unsafe { *p = 7 });
            drop(w);
            assert_eq!(leaves.join().unwrap(), 0);
            let b = task_reader.join().unwrap();
            assert!(b == 0 || b == 7);
            assert_eq!(value(&l), 7);
            quiescent(&l);
        });
    }

    #[test]
    fn loom_rwlock_upgrade_races_readers() {
        upgrade_races_readers(false);
    }

    #[test]
    fn loom_rwlock_upgrade_races_readers_fair() {
        upgrade_races_readers(true);
    }

    /// A writer releases (bounded barging: the queued task writer is woken
    /// in place), a newcomer writer (a thread's `try_write`) may barge into
    /// the free lock, and the woken writer's future is dropped before it
    /// looks, with a reader's future queued behind it: every release must
    /// still reach the reader, so that it finishes when polled again. A
    /// stale `WOKEN` after the head left would let the barger's release
    /// free the lock without the queue lock and without waking anyone
    /// (the reader stays queued, and its poll is `Pending`).
    ///
    /// Two threads and no blocking wait: the stranding needs the barger's
    /// release racing the head's withdrawal, nothing more (a blocking
    /// barger and a blocking reader thread made this model cost minutes).
    #[test]
    fn loom_rwlock_woken_head_cancelled_under_a_barger() {
        model(|| {
            let l = shared(false);
            let held = l.write().block();
            let mut cx = Context::from_waker(Waker::noop());
            let mut f = Box::pin(l.write());
            assert!(f.as_mut().poll(&mut cx).is_pending(), "queued first");
            let mut r = Box::pin(l.read());
            assert!(r.as_mut().poll(&mut cx).is_pending(), "behind the writer");
            drop(held); // wakes the writer in place (never a hand-off here)
            let l2 = l.clone();
            let barger = loom::thread::spawn(move || {
                let Some(g) = l2.try_write() else {
                    return 0;
                };
                // SAFETY: the write guard; loom checks it.
                g.with_mut(|p| unsafe { *p += 1 });
                1
            });
            drop(f); // the woken head leaves before it looks
            let wrote = barger.join().unwrap();
            let Poll::Ready(g) = r.as_mut().poll(&mut cx) else {
                panic!("the reader behind the cancelled head was stranded");
            };
            // SAFETY: a read guard; loom checks it.
            assert_eq!(g.with(|p| unsafe { *p }), wrote);
            drop(g);
            quiescent(&l);
        });
    }

    /// A pending upgrade (polled once: a reader is inside) is dropped while
    /// that reader leaves on another thread (so the upgrade may be handed
    /// the write lock just then): the upgradable lock and any write lock it
    /// was handed are released, and main, now a writer, gets in.
    #[test]
    fn loom_rwlock_dropped_upgrade_releases_upgradable() {
        model(|| {
            let l = shared(false);
            let r = l.read_arc().block();
            let up = l.upgradable_read().block();
            let mut f = Box::pin(RwLockUpgradableReadGuard::upgrade(up));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(f.as_mut().poll(&mut cx).is_pending(), "a reader is inside");
            let release = loom::thread::spawn(move || drop(r));
            drop(f);
            {
                let g = l.write().block();
                // SAFETY: the write guard; loom checks it.
                g.with_mut(|p| unsafe { *p += 1 });
            }
            release.join().unwrap();
            assert_eq!(value(&l), 1);
            quiescent(&l);
        });
    }
}
