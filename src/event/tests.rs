//! Tests of `event` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, loom))]
mod loom_event_tests {
    use crate::event::*;
    use core::future::Future;
    use loom::sync::Arc;

    /// A thread waits while a task that is already queued sees `set()` then
    /// `clear()`: the task was waiting when `set()` ran, so it completes
    /// although the flag is down; the thread either saw the flag, was woken
    /// with the task, or waits for the final `set()`.
    #[test]
    fn loom_event_thread_and_task_set_clear() {
        loom::model(|| {
            let ev = Arc::new(Event::new());
            let e1 = ev.clone();
            let t = loom::thread::spawn(move || e1.wait().block());
            loom::future::block_on(async {
                let mut w = core::pin::pin!(ev.wait());
                let first = core::future::poll_fn(|cx| Poll::Ready(w.as_mut().poll(cx))).await;
                assert!(first.is_pending());
                ev.set();
                ev.clear();
                w.await;
            });
            ev.set();
            t.join().unwrap();
            assert_eq!(ev.statistics().waiting, 0);
            assert_eq!(ev.state.load(Ordering::Relaxed) & WAITERS, 0);
        });
    }

    /// A thread's timed wait (loom: gives up after one look) races `set()`
    /// from the main thread, which then waits as a task. Nothing is left
    /// queued and the WAITERS bit ends clear.
    #[test]
    fn loom_event_timeout_races_set() {
        loom::model(|| {
            let ev = Arc::new(Event::new());
            let e1 = ev.clone();
            let t = loom::thread::spawn(move || {
                let _ = e1.wait().block_for(std::time::Duration::from_millis(1));
            });
            ev.set();
            loom::future::block_on(ev.wait());
            t.join().unwrap();
            assert_eq!(ev.statistics().waiting, 0);
            assert_eq!(ev.state.load(Ordering::Relaxed) & WAITERS, 0);
        });
    }
}
