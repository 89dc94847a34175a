//! Tests of `semaphore` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models: a thread waiter and a task waiter on one semaphore, a
    //! timed-out `block_for` (one look under loom) and a cancelled queued
    //! head racing a release. A lost grant is a loom deadlock; the final
    //! count checks that no permit is lost or duplicated.

    use core::task::{Context, Waker};
    use std::sync::Arc;
    use std::time::Duration;

    use crate::semaphore::Semaphore;

    // `loom::model` with room for the queue lock's bounded spin.
    use crate::engine::loom_model as model;

    #[test]
    fn loom_semaphore_thread_and_task_one_permit() {
        model(|| {
            let s = Arc::new(Semaphore::new(1));
            let s1 = s.clone();
            let t = loom::thread::spawn(move || drop(s1.acquire().block().unwrap()));
            loom::future::block_on(async {
                let p = s.acquire().await.unwrap();
                assert_eq!(s.available_permits(), 0);
                drop(p);
            });
            t.join().unwrap();
            assert_eq!(s.available_permits(), 1);
        });
    }

    #[test]
    fn loom_semaphore_timeout_and_task_racing_release() {
        model(|| {
            let s = Arc::new(Semaphore::new(0));
            let s1 = s.clone();
            // A thread that gives up after one look, then a task that waits
            // for good: the one permit must end with the task or the count.
            let t = loom::thread::spawn(move || {
                if let Ok(p) = s1.acquire().block_for(Duration::from_millis(1)) {
                    drop(p);
                }
            });
            let s2 = s.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async { s2.acquire().await.unwrap().forget() })
            });
            s.release().unwrap();
            t.join().unwrap();
            task.join().unwrap();
            assert_eq!(s.available_permits(), 0);
        });
    }

    #[test]
    fn loom_semaphore_cancelled_head_unblocks_next() {
        model(|| {
            let s = Arc::new(Semaphore::new(1));
            let s1 = s.clone();
            // A big request that times out (withdraws) while a small one
            // waits behind it: the small one must get the free permit.
            let big = loom::thread::spawn(move || {
                let r = s1.acquire_many(2).block_for(Duration::from_millis(1));
                assert!(r.is_err(), "2 permits never exist");
            });
            let s2 = s.clone();
            let small = loom::thread::spawn(move || {
                loom::future::block_on(async { drop(s2.acquire().await.unwrap()) })
            });
            big.join().unwrap();
            small.join().unwrap();
            assert_eq!(s.available_permits(), 1);
        });
    }

    /// A release racing a queued head (a task future polled once) that is
    /// dropped, with a thread queued behind it: in barging mode the head is
    /// woken in place and must pass the wake-up on when it leaves; in strict
    /// mode it is handed the permit and must give it back. Either way the
    /// thread gets the permit.
    fn woken_head_cancelled(fair: bool) {
        model(move || {
            let s = Arc::new(if fair {
                Semaphore::new_fair(0)
            } else {
                Semaphore::new(0)
            });
            let s1 = s.clone();
            let dropper = loom::thread::spawn(move || {
                let mut f = Box::pin(s1.acquire());
                let mut cx = Context::from_waker(Waker::noop());
                let got = f.as_mut().poll(&mut cx).is_ready();
                loom::thread::yield_now();
                drop(f); // queued, woken in place, granted, or done
                got
            });
            let s2 = s.clone();
            let waiter = loom::thread::spawn(move || s2.acquire().block().unwrap().forget());
            s.release().unwrap();
            let _ = dropper.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(s.available_permits(), 0);
            assert_eq!(s.statistics().waiting, 0);
        });
    }

    #[test]
    fn loom_semaphore_woken_head_cancelled() {
        woken_head_cancelled(false);
    }

    #[test]
    fn loom_semaphore_woken_head_cancelled_fair() {
        woken_head_cancelled(true);
    }

    /// The holder releases (bounded barging: the queued task is woken in
    /// place, `WOKEN`), a try by the main thread releases beside it under
    /// the queue lock (which gives `ALLOW`), a barging thread may take the
    /// permit and give it back with one CAS beside the woken head, and the
    /// woken task's future is dropped before it looks, while a thread may
    /// wait behind it: every permit must still reach the thread (a stale
    /// `WOKEN` would let a release add its permit without waking anyone and
    /// strand it).
    #[test]
    fn loom_semaphore_woken_head_cancelled_under_a_barger() {
        model(|| {
            let s = Arc::new(Semaphore::new(1));
            let held = s.acquire().block().unwrap();
            let mut f = Box::pin(s.acquire());
            let mut cx = Context::from_waker(Waker::noop());
            assert!(f.as_mut().poll(&mut cx).is_pending()); // queued first
            let s1 = s.clone();
            let waiter = loom::thread::spawn(move || drop(s1.acquire().block().unwrap()));
            drop(held); // wakes the task in place
            if let Ok(p) = s.try_acquire() {
                drop(p); // beside the woken head: sets ALLOW
            }
            let s2 = s.clone();
            let barger = loom::thread::spawn(move || drop(s2.acquire().block().unwrap()));
            drop(f); // the woken head leaves before it looks
            barger.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(s.available_permits(), 1);
            assert_eq!(s.statistics().waiting, 0);
        });
    }

    #[test]
    fn loom_semaphore_close_wakes_thread_and_task() {
        model(|| {
            let s = Arc::new(Semaphore::new(0));
            let s1 = s.clone();
            let t = loom::thread::spawn(move || s1.acquire().block().is_err());
            let s2 = s.clone();
            let task = loom::thread::spawn(move || loom::future::block_on(s2.acquire()).is_err());
            s.close();
            assert!(t.join().unwrap());
            assert!(task.join().unwrap());
        });
    }
}
