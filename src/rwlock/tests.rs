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
}

#[cfg(loom)]
mod loom_tests {
    //! Loom models: a thread reader, a task writer and a cancelled writer
    //! future on one lock; a queued writer that times out (one look under
    //! loom) or is dropped while readers queue behind it; an upgrade racing
    //! readers. A lost wake-up or a stranded waiter is a loom deadlock;
    //! exclusion is checked by loom's `UnsafeCell` tracking.

    use core::task::{Context, Waker};
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

    /// A thread reads, a task writes, and a third party polls a write
    /// future once (queued, or handed the lock, or done) and drops it:
    /// whatever the interleaving, the write happens once, the reader sees 0
    /// or 1, and the lock ends free with nobody queued.
    fn thread_reader_task_writer_cancel(fair: bool) {
        model(move || {
            let l = shared(fair);
            let held = l.read().block(); // everyone has to wait for something
            let l1 = l.clone();
            let reader = loom::thread::spawn(move || {
                let g = l1.read().block();
                // SAFETY: a read guard; loom checks it.
                g.with(|p| unsafe { *p })
            });
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
            let seen = reader.join().unwrap();
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

    /// A pending upgrade that is dropped (after one poll, readers inside)
    /// releases the upgradable lock: a writer waiting for it gets in.
    #[test]
    fn loom_rwlock_dropped_upgrade_releases_upgradable() {
        model(|| {
            let l = shared(false);
            let r = l.read_arc().block();
            let up = l.upgradable_read().block();
            let l1 = l.clone();
            let writer = loom::thread::spawn(move || {
                let g = l1.write().block();
                // SAFETY: the write guard; loom checks it.
                g.with_mut(|p| unsafe { *p += 1 });
            });
            let mut f = Box::pin(RwLockUpgradableReadGuard::upgrade(up));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(f.as_mut().poll(&mut cx).is_pending(), "a reader is inside");
            let release = loom::thread::spawn(move || drop(r));
            drop(f);
            release.join().unwrap();
            writer.join().unwrap();
            assert_eq!(value(&l), 1);
            quiescent(&l);
        });
    }
}
