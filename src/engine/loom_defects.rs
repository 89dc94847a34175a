//! Minimal reproductions of loom 0.7 defects that dualsync's models ran
//! into, using loom's own APIs only (no dualsync code). Two defects: an
//! unpark that ends a `join` (this text), and a load that reads its own
//! read-modify-write's value past a newer store it is ordered after
//! ([`loom_defect_load_sees_own_rmw_over_a_newer_store`]).
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

/// A thread's read-modify-write that finds the value it writes (here a
/// `fetch_or` of a bit already set, as a one-instruction `try_lock` does on
/// a held lock) is followed, in modification order, by another thread's
/// store; the first thread then acquires a flag the storer released after
/// its store, and loads. C11 coherence says the load reads that store (or
/// later): the store happens-before the load and comes after the RMW in
/// modification order. loom 0.7.2 returns the RMW's own older value, and a
/// CAS against it then succeeds.
///
/// What it broke: a mutex lock made of one `fetch_or(LOCKED)` deadlocks
/// in `loom_mutex_cancelled_future_fair`: the waiter's failed `fetch_or`,
/// then under the queue lock its last look reads the lock as still held
/// (its own write) although the releaser stored `0` under the queue lock
/// before, so it parks on a free lock. With std atomics the program is
/// correct. So `RawMutex::try_lock` is one `fetch_or` in real builds (5 ns
/// of a 14 ns contended lock/unlock pair) and a CAS loop under loom, which
/// loom checks correctly. The two differ only on a held lock, where the
/// `fetch_or` writes back the very value it read: no other thread's CAS
/// from that value fails because of it, an RMW continues any release
/// sequence it joins, and the writer's own later loads read it or a later
/// value, as after the CAS's load.
#[test]
#[should_panic(expected = "loaded 1 after the newer store of 0")]
fn loom_defect_load_sees_own_rmw_over_a_newer_store() {
    use loom::sync::atomic::AtomicU8;
    bounded().check(|| {
        let x = Arc::new(AtomicU8::new(1));
        let stored = Arc::new(AtomicBool::new(false));
        let (x1, s1) = (x.clone(), stored.clone());
        let h = thread::spawn(move || {
            x1.store(0, Ordering::Relaxed);
            s1.store(true, Ordering::Release);
        });
        let old = x.fetch_or(1, Ordering::Relaxed);
        if old == 1 && stored.load(Ordering::Acquire) {
            let v = x.load(Ordering::Relaxed);
            assert_eq!(v, 0, "loaded {v} after the newer store of 0");
        }
        h.join().unwrap();
    });
}
