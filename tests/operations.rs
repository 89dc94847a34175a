//! The `Future` contract, the same for every operation: polled to `Ready`,
//! an operation reports `is_terminated()` (it is a `FusedFuture`, so
//! `select!` takes it without `.fuse()`), and a further poll panics with one
//! message. (Before: `Lock` and `SemaphoreAcquire` silently acquired a
//! second time, `LockArc` panicked with its own message.)

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use dualsync::{
    Barrier, BoundedSemaphore, CapacityLimiter, Condition, Event, Mutex,
    OwnedRwLockUpgradableReadGuard, Queue, RwLock, RwLockUpgradableReadGuard, Semaphore,
};
use futures::future::FusedFuture;

const MESSAGE: &str = "a dualsync operation was polled after it completed";

/// Polls `op` to `Ready` (it must be ready at once), checks the fused
/// state before and after, then checks that one more poll panics with the
/// common message.
fn contract<F: Future + FusedFuture>(name: &str, op: F) {
    let mut op = Box::pin(op);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(!op.is_terminated(), "{name}: terminated before it ran");
    let out = match op.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("{name}: not ready"),
    };
    drop(out); // a guard, a permit: released before the second poll
    assert!(op.is_terminated(), "{name}: not terminated after Ready");
    let again = catch_unwind(AssertUnwindSafe(|| op.as_mut().poll(&mut cx).is_ready()));
    let payload = again.expect_err(&format!("{name}: a second poll did not panic"));
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert_eq!(msg, MESSAGE, "{name}: wrong panic message");
}

#[test]
fn every_operation_is_fused_and_panics_when_polled_again() {
    let m = Arc::new(Mutex::new(0));
    contract("Mutex::lock", m.lock());
    contract("Mutex::lock_arc", m.lock_arc());
    let s = Arc::new(Semaphore::new(1));
    contract("Semaphore::acquire", s.acquire());
    contract("Semaphore::acquire_arc", s.acquire_arc());
    let b = Arc::new(BoundedSemaphore::new(1));
    contract("BoundedSemaphore::acquire", b.acquire());
    contract("BoundedSemaphore::acquire_arc", b.acquire_arc());
    let l = CapacityLimiter::new(1);
    contract("CapacityLimiter::acquire", l.acquire());
    let e = Event::new();
    e.set();
    contract("Event::wait", e.wait());
    let barrier = Barrier::new(1);
    contract("Barrier::wait", barrier.wait());
    let q = Queue::unbounded();
    contract("Queue::put", q.put(1));
    contract("Queue::get", q.get());
    q.task_done().unwrap();
    contract("Queue::join", q.join());
    // A condition wait whose predicate is already false returns at once.
    let cv = Condition::new();
    let g = m.try_lock().unwrap();
    contract("Condition::wait_while", cv.wait_while(g, |_| false));
    let rw = Arc::new(RwLock::new(0));
    contract("RwLock::read", rw.read());
    contract("RwLock::write", rw.write());
    contract("RwLock::upgradable_read", rw.upgradable_read());
    contract("RwLock::read_arc", rw.read_arc());
    contract("RwLock::write_arc", rw.write_arc());
    contract("RwLock::upgradable_read_arc", rw.upgradable_read_arc());
    contract(
        "RwLockUpgradableReadGuard::upgrade",
        RwLockUpgradableReadGuard::upgrade(rw.try_upgradable_read().unwrap()),
    );
    contract(
        "OwnedRwLockUpgradableReadGuard::upgrade",
        OwnedRwLockUpgradableReadGuard::upgrade(rw.try_upgradable_read_arc().unwrap()),
    );
}

#[test]
fn a_condition_wait_is_fused_after_its_notification() {
    let m = Mutex::new(());
    let cv = Condition::new();
    let mut w = Box::pin(cv.wait(m.try_lock().unwrap()));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(w.as_mut().poll(&mut cx).is_pending());
    assert!(!w.is_terminated());
    assert!(cv.notify_one());
    let Poll::Ready(g) = w.as_mut().poll(&mut cx) else {
        panic!("not woken")
    };
    drop(g);
    assert!(w.is_terminated());
    let again = catch_unwind(AssertUnwindSafe(|| w.as_mut().poll(&mut cx).is_ready()));
    assert!(again.is_err());
}

#[test]
fn operations_go_straight_into_select() {
    let m = Mutex::new(1);
    let ev = Event::new();
    futures::executor::block_on(async {
        let mut lock = pin!(m.lock());
        let mut wait = pin!(ev.wait());
        // No `.fuse()`: the operations are `FusedFuture`s.
        let first = futures::select! {
            g = lock => *g,
            () = wait => 0,
        };
        assert_eq!(first, 1);
        assert!(lock.is_terminated());
        ev.set();
        futures::select! {
            _ = lock => unreachable!("a terminated branch is skipped"),
            () = wait => {}
        }
    });
}
