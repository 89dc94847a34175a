//! Minimal reproductions of a loom 0.7 defect that dualsync's models ran
//! into, using loom's own APIs only (no dualsync code).
//!
//! loom's `Thread::unpark` ends whatever blocking its target is in, not only
//! a `thread::park`: `rt::thread::Thread::set_unparked` turns any `Blocked`
//! state back into `Runnable`. `JoinHandle::join` blocks on an internal
//! `rt::Notify` and, when resumed, asserts that it was notified
//! (`rt/notify.rs`, `assert!(state.notified)`). So an `unpark` that reaches a
//! thread while it is in `join` resumes the join before the joined thread has
//! finished, and the model aborts with `assertion failed: state.notified`.
//! With std this program is correct: `join` is not `park`; the unpark only
//! leaves a token for the thread's next `park`.
//!
//! Upstream: tokio-rs/loom#249 (open), fix proposed in tokio-rs/loom#418.
//!
//! The tests expect the panic; when loom is fixed they fail, and these tests
//! (and the engine's workaround: unpark only a waiter flagged `PARKED`, see
//! `engine::queue::QueueGuard::complete`) can go.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use loom::sync::atomic::AtomicBool;
use loom::thread;

/// The path needs 3 preemptions: the bound is fixed here so that the
/// expected panic does not depend on `LOOM_MAX_PREEMPTIONS`.
fn bounded() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b
}

/// The bare defect: the joined thread unparks the joiner.
#[test]
#[should_panic(expected = "state.notified")]
fn loom_defect_unpark_during_join() {
    bounded().check(|| {
        let main = thread::current();
        let h = thread::spawn(move || main.unpark());
        h.join().unwrap();
    });
}

/// The pattern dualsync's driver used: the waker publishes an outcome, then
/// releases a lock word the waiter also touches (dualsync: the queue lock),
/// then unparks the waiter. The waiter may see the outcome, touch the lock
/// word and go on to `join` before that `unpark`; the late `unpark` then
/// lands in the join. With std the program is correct (the unpark becomes a
/// stale token for a `park` that never comes).
#[test]
#[should_panic(expected = "state.notified")]
fn loom_defect_late_unpark_after_flag() {
    bounded().check(|| {
        let done = Arc::new(AtomicBool::new(false));
        let lock = Arc::new(AtomicBool::new(true));
        let main = thread::current();
        let (d, l) = (done.clone(), lock.clone());
        let h = thread::spawn(move || {
            d.store(true, Ordering::Release);
            l.store(false, Ordering::Release);
            main.unpark();
        });
        while !done.load(Ordering::Acquire) {
            thread::park();
        }
        let _ = lock.load(Ordering::Acquire);
        h.join().unwrap();
    });
}
