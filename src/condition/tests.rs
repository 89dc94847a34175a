//! Tests of `condition` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, loom))]
mod loom_condition_tests {
    use crate::condition::*;
    use loom::sync::Arc;

    /// Polls `op` once (from inside a task) and returns what it said.
    async fn poll_once<F: Future + Unpin>(op: &mut F) -> Poll<F::Output> {
        core::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *op).poll(cx))).await
    }

    /// A thread (`wait_while`) and a task (already queued) wait together;
    /// the task's side flips the flag and notifies all under the lock. Both
    /// return holding the lock; everything ends unlocked and empty.
    #[test]
    fn loom_condition_thread_and_task_notify_all() {
        loom::model(|| {
            let s = Arc::new((Mutex::new(false), Condition::new()));
            let s1 = s.clone();
            let t = loom::thread::spawn(move || {
                let (m, c) = &*s1;
                assert!(*c.wait_while(m.lock().block(), |r| !*r).block());
            });
            let (m, c) = &*s;
            loom::future::block_on(async {
                let mut op = Box::pin(c.wait_while(m.lock().await, |r| !*r));
                if poll_once(&mut op).await.is_pending() {
                    let mut g = m.lock().await;
                    *g = true;
                    c.notify_all();
                    drop(g);
                    assert!(*op.await);
                }
            });
            t.join().unwrap();
            assert!(!m.is_locked());
            assert_eq!(c.statistics().waiting, 0);
        });
    }

    /// A notification (sent from a task) races a thread's timeout (loom:
    /// the deadline gives up after one look): the wait reports "notified"
    /// exactly when `notify_one` reported a waiter woken.
    #[test]
    fn loom_condition_notify_races_timeout() {
        loom::model(|| {
            let s = Arc::new((Mutex::new(()), Condition::new()));
            let s1 = s.clone();
            let t = loom::thread::spawn(move || {
                let (m, c) = &*s1;
                let (_g, r) = c.wait(m.lock().block()).block_for(Duration::from_millis(1));
                !r.timed_out()
            });
            let (m, c) = &*s;
            let woke = loom::future::block_on(async {
                let _g = m.lock().await;
                c.notify_one()
            });
            assert_eq!(t.join().unwrap(), woke);
            assert!(!m.is_locked());
            assert_eq!(c.statistics().waiting, 0);
        });
    }

    /// A task's wait is cancelled (dropped after one poll) after a
    /// notification that may have gone to it; a thread waits too. A
    /// notification handed to the cancelled task must pass on to the thread,
    /// or the thread would wait forever (loom reports the deadlock).
    #[test]
    fn loom_condition_cancelled_task_passes_notification() {
        loom::model(|| {
            let s = Arc::new((Mutex::new(0usize), Condition::new()));
            let s1 = s.clone();
            let t = loom::thread::spawn(move || {
                let (m, c) = &*s1;
                let mut g = c.wait_while(m.lock().block(), |n| *n == 0).block();
                *g -= 1;
            });
            let (m, c) = &*s;
            loom::future::block_on(async {
                let mut op = Box::pin(c.wait(m.lock().await));
                assert!(poll_once(&mut op).await.is_pending());
                let mut g = m.lock().await;
                *g += 1;
                c.notify_one();
                drop(g);
                drop(op); // cancelled: whatever it got passes on
            });
            t.join().unwrap();
            assert_eq!(*m.lock().block(), 0);
            assert_eq!(c.statistics().waiting, 0);
        });
    }
}
