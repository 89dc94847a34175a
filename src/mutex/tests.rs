//! Loom models of the mutex: a thread waiter and a task waiter on one
//! mutex, cancelled waiters, a timed-out `block_for` (one look under
//! loom) and a release racing them. A lost wake-up is a loom deadlock;
//! mutual exclusion is checked by loom's `UnsafeCell` tracking.

use core::task::{Context, Waker};
use std::sync::Arc;
use std::time::Duration;

use loom::cell::UnsafeCell;

use crate::Mutex;

type Counter = Mutex<UnsafeCell<usize>>;

/// A shared counter behind a fair or a barging mutex.
fn counter(fair: bool) -> Arc<Counter> {
    Arc::new(if fair {
        Mutex::new_fair(UnsafeCell::new(0))
    } else {
        Mutex::new(UnsafeCell::new(0))
    })
}

fn bump(m: &Counter) {
    let g = m.lock().block();
    // SAFETY: the guard gives exclusive access; loom checks it.
    g.with_mut(|p| unsafe { *p += 1 });
}

fn total(m: &Counter) -> usize {
    let g = m
        .try_lock()
        .expect("every waiter is gone: the lock is free");
    // SAFETY: as above.
    g.with(|p| unsafe { *p })
}

fn thread_and_task(fair: bool) {
    loom::model(move || {
        let m = counter(fair);
        let m1 = m.clone();
        let thread = loom::thread::spawn(move || bump(&m1));
        let m2 = m.clone();
        let task = loom::thread::spawn(move || {
            loom::future::block_on(async {
                let g = m2.lock().await;
                // SAFETY: as above.
                g.with_mut(|p| unsafe { *p += 1 });
            })
        });
        bump(&m);
        thread.join().unwrap();
        task.join().unwrap();
        assert_eq!(total(&m), 3);
        assert_eq!(m.statistics().waiting, 0);
    });
}

#[test]
fn loom_mutex_thread_and_task() {
    thread_and_task(false);
}

#[test]
fn loom_mutex_thread_and_task_fair() {
    thread_and_task(true);
}

/// The holder releases while a task's lock future (polled once, so
/// queued, maybe already handed the lock) is dropped and a thread waits:
/// the thread must get the lock whatever the interleaving.
fn cancelled_future_passes_on(fair: bool) {
    loom::model(move || {
        let m = counter(fair);
        let held = m.lock().block();
        let m1 = m.clone();
        let dropper = loom::thread::spawn(move || {
            let mut f = Box::pin(m1.lock());
            let mut cx = Context::from_waker(Waker::noop());
            let got = f.as_mut().poll(&mut cx).is_ready();
            loom::thread::yield_now();
            drop(f); // cancel: queued, GRANTED or NOTIFIED
            got
        });
        let m2 = m.clone();
        let waiter = loom::thread::spawn(move || bump(&m2));
        drop(held);
        let _ = dropper.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(total(&m), 1);
        assert_eq!(m.statistics().waiting, 0);
    });
}

#[test]
fn loom_mutex_cancelled_future() {
    cancelled_future_passes_on(false);
}

#[test]
fn loom_mutex_cancelled_future_fair() {
    cancelled_future_passes_on(true);
}

/// The holder releases (bounded barging: the queued task is woken in
/// place), a newcomer thread may take the free lock, and the woken task's
/// future is dropped before it looks, while a thread may wait behind it:
/// every release must still reach the thread (a stale `WOKEN` would let a
/// release free the lock without waking anyone and strand it).
#[test]
fn loom_mutex_woken_head_cancelled_under_a_barger() {
    loom::model(|| {
        let m = counter(false);
        let held = m.lock().block();
        let mut f = Box::pin(m.lock());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(f.as_mut().poll(&mut cx).is_pending()); // queued first
        let m2 = m.clone();
        let waiter = loom::thread::spawn(move || bump(&m2));
        drop(held); // wakes the task in place (or hands off: no)
        let m3 = m.clone();
        let barger = loom::thread::spawn(move || bump(&m3));
        drop(f); // the woken head leaves before it looks
        barger.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(total(&m), 2);
        assert_eq!(m.statistics().waiting, 0);
    });
}

/// A `block_for` that times out (one look under loom) while the release
/// races it, and a task waiter behind it: nothing is lost.
fn timeout_races_release(fair: bool) {
    loom::model(move || {
        let m = counter(fair);
        let held = m.lock().block();
        let m1 = m.clone();
        let timed =
            loom::thread::spawn(move || match m1.lock().block_for(Duration::from_secs(5)) {
                Ok(g) => {
                    // SAFETY: as above.
                    g.with_mut(|p| unsafe { *p += 1 });
                    true
                }
                Err(_) => false,
            });
        let m2 = m.clone();
        let task = loom::thread::spawn(move || {
            loom::future::block_on(async {
                let g = m2.lock().await;
                // SAFETY: as above.
                g.with_mut(|p| unsafe { *p += 1 });
            })
        });
        drop(held);
        let got = timed.join().unwrap();
        task.join().unwrap();
        assert_eq!(total(&m), 1 + usize::from(got));
        assert_eq!(m.statistics().waiting, 0);
    });
}

#[test]
fn loom_mutex_timeout_races_release() {
    timeout_races_release(false);
}

#[test]
fn loom_mutex_timeout_races_release_fair() {
    timeout_races_release(true);
}
