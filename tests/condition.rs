//! Condition: every mode (`.await`, `.block()`, `.block_for()`,
//! `.block_until()`), borrowed and owned guards, threads and tasks mixed,
//! notify counts, several conditions on one mutex, cancellation at every
//! await point (waiting, re-locking), notifications passed on, timeouts
//! racing notifications, and the C ABI (misuse included).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;
use dualsync::{Condition, Mutex};

mod common;
use common::{counting, rt, until_waiting};

#[test]
fn debug_statistics_and_notify_without_waiters() {
    let c = Condition::new();
    assert_eq!(format!("{c:?}"), "Condition { waiters: 0 }");
    assert_eq!(c.notify(3), 0);
    assert!(!c.notify_one());
    assert_eq!(c.notify_all(), 0);
    assert_eq!(c.statistics().waiting, 0);
    assert_eq!(Condition::default().statistics().waiting, 0);
}

#[test]
fn wait_releases_the_lock_and_gives_it_back() {
    let s = Arc::new((Mutex::new(0), Condition::new()));
    let t = {
        let s = s.clone();
        thread::spawn(move || {
            let (m, c) = &*s;
            let mut g = m.lock().block();
            *g = 1;
            let mut g = c.wait(g).block();
            assert!(m.is_locked());
            assert_eq!(*g, 2);
            *g = 3;
        })
    };
    let (m, c) = &*s;
    until_waiting(c, 1);
    {
        // The waiter released the lock.
        let mut g = m.try_lock().expect("the waiter released the lock");
        assert_eq!(*g, 1);
        *g = 2;
        assert!(c.notify_one());
    }
    t.join().unwrap();
    assert_eq!(*m.lock().block(), 3);
}

#[test]
fn notify_counts_five_consumers_mixed() {
    // notify(1), then notify(2), then notify_all(): the asyncio demo, with
    // three threads and two tasks.
    let s = Arc::new((Mutex::new(Vec::<usize>::new()), Condition::new()));
    let rt = rt();
    let mut threads = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..5 {
        let s = s.clone();
        if i % 2 == 0 {
            threads.push(thread::spawn(move || {
                let (m, c) = &*s;
                let mut g = c.wait(m.lock().block()).block();
                g.push(i);
            }));
        } else {
            tasks.push(rt.spawn(async move {
                let (m, c) = &*s;
                let mut g = c.wait(m.lock().await).await;
                g.push(i);
            }));
        }
    }
    let (m, c) = &*s;
    until_waiting(c, 5);
    assert_eq!(c.notify(1), 1);
    let t0 = Instant::now();
    while m.lock().block().is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(10));
        thread::yield_now();
    }
    assert_eq!(c.statistics().waiting, 4);
    assert_eq!(c.notify(2), 2);
    while m.lock().block().len() < 3 {
        assert!(t0.elapsed() < Duration::from_secs(10));
        thread::yield_now();
    }
    assert_eq!(m.lock().block().len(), 3);
    assert_eq!(c.notify_all(), 2);
    for t in threads {
        t.join().unwrap();
    }
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    let mut v = m.lock().block().clone();
    v.sort();
    assert_eq!(v, vec![0, 1, 2, 3, 4]);
}

#[test]
fn notified_in_arrival_order() {
    let s = Arc::new((Mutex::new(Vec::new()), Condition::new()));
    let mut hs = Vec::new();
    for i in 0..4 {
        let s2 = s.clone();
        hs.push(thread::spawn(move || {
            let (m, c) = &*s2;
            let mut g = c.wait(m.lock().block()).block();
            g.push(i);
        }));
        until_waiting(&s.1, i + 1);
    }
    for i in 0..4 {
        assert!(s.1.notify_one());
        let t0 = Instant::now();
        while s.0.lock().block().len() <= i {
            assert!(t0.elapsed() < Duration::from_secs(10));
            thread::yield_now();
        }
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*s.0.lock().block(), vec![0, 1, 2, 3]);
}

#[test]
fn timed_waits_always_give_the_guard_back() {
    let m = Mutex::new(5);
    let c = Condition::new();
    let (g, r) = c
        .wait(m.lock().block())
        .block_for(Duration::from_millis(10));
    assert!(r.timed_out());
    assert!(m.is_locked());
    assert_eq!(*g, 5);
    let (g, r) = c
        .wait(g)
        .block_until(Instant::now() + Duration::from_millis(2));
    assert!(r.timed_out());
    let (g, r) = c.wait(g).block_for(Duration::ZERO);
    assert!(r.timed_out());
    assert_eq!(c.statistics().waiting, 0);
    drop(g);
    assert!(!m.is_locked());
}

#[test]
fn timed_wait_notified_in_time_does_not_time_out() {
    let s = Arc::new((Mutex::new(false), Condition::new()));
    let t = {
        let s = s.clone();
        thread::spawn(move || {
            let (m, c) = &*s;
            let (g, r) = c
                .wait_while(m.lock().block(), |ready| !*ready)
                .block_for(Duration::from_secs(30));
            assert!(!r.timed_out());
            assert!(*g);
        })
    };
    let (m, c) = &*s;
    until_waiting(c, 1);
    *m.lock().block() = true;
    assert!(c.notify_one());
    t.join().unwrap();
}

#[test]
fn wait_while_timeout_reports_the_predicate() {
    let m = Mutex::new(0);
    let c = Condition::new();
    // Already false: returns at once, without releasing the lock.
    let (g, r) = c
        .wait_while(m.lock().block(), |n| *n > 0)
        .block_for(Duration::ZERO);
    assert!(!r.timed_out());
    let (mut g, r) = c
        .wait_while(g, |n| *n == 0)
        .block_for(Duration::from_millis(5));
    assert!(r.timed_out());
    *g = 1;
    let g = c.wait_while(g, |n| *n == 0).block();
    assert_eq!(*g, 1);
}

#[test]
fn owned_guards_wait_in_spawned_tasks() {
    let m = Arc::new(Mutex::new(0u32));
    let c = Arc::new(Condition::new());
    let rt = rt();
    let task = {
        let (m, c) = (m.clone(), c.clone());
        rt.spawn(async move {
            let g = m.lock_arc().await;
            let g = c.wait_while(g, |n| *n < 2).await;
            *g
        })
    };
    let th = {
        let (m, c) = (m.clone(), c.clone());
        thread::spawn(move || {
            let g = m.lock_arc().block();
            let mut g = c.wait_while(g, |n| *n < 1).block();
            *g += 1;
            c.notify_all();
        })
    };
    until_waiting(&c, 2);
    *m.lock().block() = 1;
    c.notify_all();
    th.join().unwrap();
    assert_eq!(rt.block_on(task).unwrap(), 2);
    assert!(!m.is_locked());
}

#[test]
fn several_conditions_share_one_mutex() {
    // A bounded buffer: not_empty and not_full over one mutex, producers as
    // threads, consumers as tasks.
    const CAP: usize = 2;
    const N: usize = 200;
    let s = Arc::new((
        Mutex::new(std::collections::VecDeque::new()),
        Condition::new(),
        Condition::new(),
    ));
    let rt = rt();
    let producer = {
        let s = s.clone();
        thread::spawn(move || {
            let (m, not_empty, not_full) = &*s;
            for i in 0..N {
                let mut g = not_full
                    .wait_while(m.lock().block(), |q| q.len() == CAP)
                    .block();
                g.push_back(i);
                not_empty.notify_one();
            }
        })
    };
    let consumer = {
        let s = s.clone();
        rt.spawn(async move {
            let (m, not_empty, not_full) = &*s;
            let mut got = Vec::new();
            while got.len() < N {
                let mut g = not_empty.wait_while(m.lock().await, |q| q.is_empty()).await;
                got.push(g.pop_front().unwrap());
                not_full.notify_one();
            }
            got
        })
    };
    producer.join().unwrap();
    let got = rt.block_on(consumer).unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}

#[test]
fn one_condition_with_two_mutexes() {
    let m1 = Arc::new(Mutex::new(()));
    let m2 = Arc::new(Mutex::new(()));
    let c = Arc::new(Condition::new());
    let hs: Vec<_> = [m1.clone(), m2.clone()]
        .into_iter()
        .map(|m| {
            let c = c.clone();
            thread::spawn(move || {
                let g = c.wait(m.lock().block()).block();
                assert!(m.is_locked());
                drop(g);
            })
        })
        .collect();
    until_waiting(&c, 2);
    assert_eq!(c.notify_all(), 2);
    for h in hs {
        h.join().unwrap();
    }
    assert!(!m1.is_locked() && !m2.is_locked());
}

#[test]
fn dropped_before_poll_releases_the_lock() {
    let m = Mutex::new(());
    let c = Condition::new();
    drop(c.wait(m.lock().block()));
    assert!(!m.is_locked());
    assert_eq!(c.statistics().waiting, 0);
}

#[test]
fn cancelled_while_waiting_leaves_no_trace() {
    let m = Mutex::new(());
    let c = Condition::new();
    {
        let mut f = pin!(c.wait(m.lock().block()));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(f.as_mut().poll(&mut cx).is_pending());
        assert!(!m.is_locked(), "waiting releases the lock");
        assert_eq!(c.statistics().waiting, 1);
    }
    assert!(!m.is_locked());
    assert_eq!(c.statistics().waiting, 0);
    assert_eq!(c.notify_all(), 0);
}

#[test]
fn notification_to_a_cancelled_waiter_passes_on() {
    let m = Mutex::new(());
    let c = Condition::new();
    let (ca, wa) = counting();
    let (cb, wb) = counting();
    let mut a = Box::pin(c.wait(m.lock().block()));
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    let mut b = pin!(c.wait(m.lock().block()));
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    assert!(c.notify_one()); // goes to A, the first
    assert_eq!(ca.0.load(Ordering::SeqCst), 1);
    assert_eq!(cb.0.load(Ordering::SeqCst), 0);
    drop(a); // cancelled before it took the notification: B gets it
    assert_eq!(cb.0.load(Ordering::SeqCst), 1);
    assert_eq!(c.statistics().waiting, 0);
    match b.as_mut().poll(&mut Context::from_waker(&wb)) {
        Poll::Ready(g) => drop(g),
        Poll::Pending => panic!("B should hold the notification and a free lock"),
    }
    assert!(!m.is_locked());
}

#[test]
fn cancelled_while_relocking_passes_the_notification_on() {
    let m = Mutex::new(());
    let c = Condition::new();
    let (_ca, wa) = counting();
    let (cb, wb) = counting();
    let mut a = Box::pin(c.wait(m.lock().block()));
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    let mut b = pin!(c.wait(m.lock().block()));
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    let held = m.lock().block();
    assert!(c.notify_one());
    // A wakes but the lock is held: it queues on the mutex.
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    assert_eq!(m.statistics().waiting, 1);
    assert_eq!(c.statistics().waiting, 1);
    drop(a); // cancelled while re-locking
    assert_eq!(m.statistics().waiting, 0);
    assert_eq!(c.statistics().waiting, 0);
    assert_eq!(cb.0.load(Ordering::SeqCst), 1, "B got the notification");
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    drop(held);
    match b.as_mut().poll(&mut Context::from_waker(&wb)) {
        Poll::Ready(g) => drop(g),
        Poll::Pending => panic!("B should get the lock once it is released"),
    }
    assert!(!m.is_locked());
}

#[test]
fn cancelled_after_the_lock_was_granted_releases_it() {
    let m = Mutex::new_fair(());
    let c = Condition::new();
    let mut a = Box::pin(c.wait(m.lock().block()));
    let (_ca, wa) = counting();
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    let held = m.lock().block();
    c.notify_one();
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    drop(held); // fair mutex: handed to A directly
    assert!(m.is_locked());
    drop(a); // A never picks it up: the lock is released
    assert!(!m.is_locked());
}

#[test]
fn tokio_timeout_around_an_async_wait() {
    let m = Arc::new(Mutex::new(()));
    let c = Arc::new(Condition::new());
    let rt = rt();
    rt.block_on(async {
        let g = m.lock().await;
        let r = tokio::time::timeout(Duration::from_millis(10), c.wait(g)).await;
        assert!(r.is_err());
    });
    assert!(!m.is_locked());
    assert_eq!(c.statistics().waiting, 0);
}

#[test]
fn smol_task_and_thread() {
    let s = Arc::new((Mutex::new(false), Condition::new()));
    let th = {
        let s = s.clone();
        thread::spawn(move || {
            let (m, c) = &*s;
            until_waiting(c, 1);
            *m.lock().block() = true;
            c.notify_all();
        })
    };
    smol::block_on(async {
        let (m, c) = &*s;
        let g = c.wait_while(m.lock().await, |r| !*r).await;
        assert!(*g);
    });
    th.join().unwrap();
}

#[test]
fn timeouts_racing_notifications_lose_nothing() {
    // Every notify_one() that reports a waiter woke must show up as a wait
    // that reports "notified" (not timed out): a notification that reached a
    // waiter racing its deadline is kept, never dropped.
    for round in 0..100u64 {
        let s = Arc::new((Mutex::new(()), Condition::new()));
        let n = 4;
        let start = Arc::new(Barrier::new(n + 1));
        let notified = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let (s, start, notified) = (s.clone(), start.clone(), notified.clone());
                thread::spawn(move || {
                    let (m, c) = &*s;
                    start.wait();
                    let g = m.lock().block();
                    let (_g, r) = c.wait(g).block_for(Duration::from_micros(20 * (round % 7)));
                    if !r.timed_out() {
                        notified.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        start.wait();
        let (m, c) = &*s;
        let mut woke = 0;
        for _ in 0..n {
            let _g = m.lock().block();
            woke += c.notify(1);
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(notified.load(Ordering::SeqCst), woke, "round {round}");
        assert_eq!(c.statistics().waiting, 0);
        assert!(!m.is_locked());
    }
}

// ------------------------------------------------------------------ C ABI

#[derive(Clone, Copy)]
struct H(*mut dualsync_condition_t, *mut dualsync_mutex_t);
// SAFETY: the C handles are thread-safe; tests free them after joining.
unsafe impl Send for H {}

#[test]
fn c_abi_condition() {
    let h = H(dualsync_condition_new(), dualsync_mutex_new(false));
    assert!(!h.0.is_null() && !h.1.is_null());
    // SAFETY: the handles stay live until freed at the end; NULL is accepted.
    unsafe {
        let mut woken = 99usize;
        let null_c = std::ptr::null();
        let null_m = std::ptr::null();
        // Misuse, state unchanged.
        assert_eq!(dualsync_condition_wait(h.0, h.1), DUALSYNC_NOT_LOCKED);
        assert_eq!(
            dualsync_condition_wait_timeout(h.0, h.1, 1000),
            DUALSYNC_NOT_LOCKED
        );
        assert_eq!(
            dualsync_condition_wait(null_c, h.1),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_condition_wait(h.0, null_m),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_condition_notify(h.0, 1, std::ptr::null_mut()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_condition_notify(null_c, 1, &mut woken),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_condition_notify_all(null_c, &mut woken),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(woken, 99, "outputs are written only on success");
        assert_eq!(dualsync_condition_free(std::ptr::null_mut()), DUALSYNC_OK);
        assert_eq!(dualsync_condition_notify(h.0, 3, &mut woken), DUALSYNC_OK);
        assert_eq!(woken, 0);

        // Timeouts keep (give back) the lock.
        assert_eq!(dualsync_mutex_lock(h.1), DUALSYNC_OK);
        assert_eq!(
            dualsync_condition_wait_timeout(h.0, h.1, 0),
            DUALSYNC_TIMED_OUT
        );
        assert_eq!(
            dualsync_condition_wait_timeout(h.0, h.1, 2_000_000),
            DUALSYNC_TIMED_OUT
        );
        let mut locked = false;
        assert_eq!(dualsync_mutex_is_locked(h.1, &mut locked), DUALSYNC_OK);
        assert!(locked);

        // A C-style thread waits; free is refused while it does; notify
        // wakes it and it returns holding the lock.
        assert_eq!(dualsync_mutex_unlock(h.1), DUALSYNC_OK);
        let t = thread::spawn(move || {
            let h = h;
            assert_eq!(dualsync_mutex_lock(h.1), DUALSYNC_OK);
            let st = dualsync_condition_wait(h.0, h.1);
            let mut locked = false;
            assert_eq!(dualsync_mutex_is_locked(h.1, &mut locked), DUALSYNC_OK);
            assert!(locked);
            assert_eq!(dualsync_mutex_unlock(h.1), DUALSYNC_OK);
            st
        });
        until_waiting((*h.0).condition(), 1);
        assert_eq!(dualsync_condition_free(h.0), DUALSYNC_BUSY);
        // A Rust task waits on the same condition with the C mutex.
        let rt = rt();
        let task = rt.spawn(async move {
            let h = h;
            let m = (*h.1).mutex();
            let c = (*h.0).condition();
            drop(c.wait(m.lock().await).await);
        });
        until_waiting((*h.0).condition(), 2);
        assert_eq!(dualsync_mutex_lock(h.1), DUALSYNC_OK);
        assert_eq!(dualsync_condition_notify_all(h.0, &mut woken), DUALSYNC_OK);
        assert_eq!(woken, 2);
        assert_eq!(dualsync_mutex_unlock(h.1), DUALSYNC_OK);
        assert_eq!(t.join().unwrap(), DUALSYNC_OK);
        rt.block_on(task).unwrap();
        assert_eq!(dualsync_condition_free(h.0), DUALSYNC_OK);
        assert_eq!(dualsync_mutex_free(h.1), DUALSYNC_OK);
    }
}
