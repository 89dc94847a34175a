//! Tests of `barrier` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models: a thread and a task meeting at a barrier; a timed-out
    //! thread (one look under loom) withdrawing while a task and the main
    //! thread arrive; abort racing waiters. A stranded waiter is a loom
    //! deadlock.

    use std::sync::Arc;
    use std::time::Duration;

    use crate::barrier::{Barrier, BrokenBarrier};

    // `loom::model` with room for the queue lock's bounded spin.
    use crate::engine::loom_model as model;

    #[test]
    fn loom_barrier_thread_and_task() {
        model(|| {
            let b = Arc::new(Barrier::new(2));
            let b1 = b.clone();
            let t = loom::thread::spawn(move || b1.wait().block().unwrap());
            let r = loom::future::block_on(b.wait()).unwrap();
            let rt = t.join().unwrap();
            assert_eq!(r.index() + rt.index(), 1);
            assert!(r.is_leader() != rt.is_leader());
            assert_eq!(b.n_waiting(), 0);
        });
    }

    #[test]
    fn loom_barrier_timeout_withdraws() {
        model(|| {
            let b = Arc::new(Barrier::new(2));
            let b1 = b.clone();
            let timed =
                loom::thread::spawn(move || b1.wait().block_for(Duration::from_millis(1)).is_ok());
            let b2 = b.clone();
            let task = loom::thread::spawn(move || loom::future::block_on(b2.wait()).unwrap());
            let passed = timed.join().unwrap();
            if !passed {
                // The timed one withdrew: complete the task's round.
                b.wait().block().unwrap();
            }
            let r = task.join().unwrap();
            assert!(r.index() < 2);
            assert_eq!(b.n_waiting(), 0);
            assert!(!b.is_broken());
        });
    }

    #[test]
    fn loom_barrier_abort_races_waiters() {
        // Three threads: one preemption keeps the model small enough.
        let mut b = crate::engine::loom_builder();
        b.preemption_bound = Some(1);
        b.check(|| {
            let b = Arc::new(Barrier::new(3));
            let b1 = b.clone();
            let t = loom::thread::spawn(move || b1.wait().block());
            let b2 = b.clone();
            let task = loom::thread::spawn(move || loom::future::block_on(b2.wait()));
            b.abort();
            assert_eq!(t.join().unwrap(), Err(BrokenBarrier));
            assert_eq!(task.join().unwrap(), Err(BrokenBarrier));
            assert!(b.is_broken());
        });
    }
}
