//! Tests of `semaphore` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models: a thread waiter and a task waiter on one semaphore, a
    //! timed-out `block_for` (one look under loom) and a cancelled queued
    //! head racing a release. A lost grant is a loom deadlock; the final
    //! count checks that no permit is lost or duplicated.

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
                    drop(p.unwrap());
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
