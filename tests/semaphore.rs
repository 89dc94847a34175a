//! Semaphore and BoundedSemaphore: every mode (`.await`, `.block()`,
//! `.block_for()`, `.block_until()`, `try_*`), threads and tasks mixed,
//! FIFO and the head-of-line rule, cancellation at every point, timeouts
//! racing releases, close, overflow and over-release.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use dualsync::{
    AcquireError, AcquireTimeoutError, BoundedSemaphore, MAX_PERMITS, ReleaseError, Semaphore,
    TryAcquireError,
};

mod common;
use common::{eventually, poll_once, rt};

#[test]
fn size_and_auto_traits() {
    assert!(std::mem::size_of::<Semaphore>() <= 16);
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Semaphore>();
    send_sync::<BoundedSemaphore>();
    send_sync::<dualsync::Permit<'static>>();
    send_sync::<dualsync::OwnedPermit>();
    send_sync::<dualsync::SemaphoreAcquire<'static>>();
    send_sync::<dualsync::SemaphoreAcquireArc>();
}

#[test]
fn try_acquire_release_forget_merge() {
    let s = Semaphore::new(3);
    let a = s.try_acquire().unwrap();
    assert_eq!(a.num_permits(), 1);
    let mut b = s.try_acquire_many(2).unwrap();
    assert_eq!(s.available_permits(), 0);
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    b.merge(a);
    assert_eq!(b.num_permits(), 3);
    drop(b);
    assert_eq!(s.available_permits(), 3);
    s.try_acquire().unwrap().forget();
    assert_eq!(s.available_permits(), 2);
    s.release().unwrap();
    s.add_permits(5).unwrap();
    assert_eq!(s.available_permits(), 8);
    // Zero permits: succeeds at once.
    let z = s.try_acquire_many(0).unwrap();
    assert_eq!(z.num_permits(), 0);
    assert_eq!(s.available_permits(), 8);
}

#[test]
fn every_mode() {
    let s = Semaphore::new(1);
    // block
    let p = s.acquire().block().unwrap();
    // block_for times out, leaving no trace
    let t0 = Instant::now();
    let e: AcquireTimeoutError = s
        .acquire()
        .block_for(Duration::from_millis(20))
        .unwrap_err();
    assert_eq!(e, AcquireTimeoutError::Timeout);
    assert_eq!(e, s.acquire().block_for(Duration::ZERO).unwrap_err());
    assert!(t0.elapsed() >= Duration::from_millis(20));
    assert!(s.acquire().block_until(Instant::now()).is_err());
    assert_eq!(s.statistics().waiting, 0);
    drop(p);
    // block_for / block_until succeed when free
    s.acquire()
        .block_for(Duration::from_secs(1))
        .unwrap()
        .forget();
    s.release().unwrap();
    let p = s
        .acquire()
        .block_until(Instant::now() + Duration::from_secs(1))
        .unwrap();
    drop(p);
    // await
    rt().block_on(async {
        let p = s.acquire().await.unwrap();
        assert_eq!(s.available_permits(), 0);
        drop(p);
        let p = s.acquire_many(1).await.unwrap();
        drop(p);
    });
    // smol as the second executor
    smol::block_on(async {
        let p = s.acquire().await.unwrap();
        drop(p);
    });
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn owned_permit_thread_to_task_and_back() {
    let s = Arc::new(Semaphore::new(1));
    let p = s.acquire_arc().block().unwrap();
    assert_eq!(p.num_permits(), 1);
    let rt = rt();
    let p = rt.block_on(async move {
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            p
        })
        .await
        .unwrap()
    });
    assert!(s.try_acquire_arc().is_err());
    drop(p);
    let p2 = rt.block_on(s.acquire_many_arc(1)).unwrap();
    assert_eq!(s.available_permits(), 0);
    std::thread::spawn(move || drop(p2)).join().unwrap();
    assert_eq!(s.available_permits(), 1);
    let p3 = s.try_acquire_many_arc(1).unwrap();
    assert!(p3.is_from(&s));
    assert!(!p3.is_from(&Semaphore::new(1)));
    assert_eq!(s.available_permits(), 0);
}

#[test]
fn thread_release_wakes_task_and_task_release_wakes_thread() {
    let s = Arc::new(Semaphore::new(0));
    let rt = rt();
    let task = {
        let s = s.clone();
        rt.spawn(async move { s.acquire().await.unwrap().forget() })
    };
    eventually("task queued", || s.statistics().waiting == 1);
    s.release().unwrap(); // from this thread
    rt.block_on(task).unwrap();

    let th = {
        let s = s.clone();
        std::thread::spawn(move || s.acquire().block().unwrap().forget())
    };
    eventually("thread queued", || s.statistics().waiting == 1);
    rt.block_on(async { s.release().unwrap() });
    th.join().unwrap();
    assert_eq!(s.available_permits(), 0);
}

#[test]
fn fifo_big_head_is_not_overtaken() {
    let s = Semaphore::new_fair(1);
    assert!(s.is_fair());
    let mut big = Box::pin(s.acquire_many(3));
    assert!(poll_once(big.as_mut()).is_pending());
    let mut small = Box::pin(s.acquire());
    assert!(poll_once(small.as_mut()).is_pending());
    // One permit is free, but the head wants 3: nobody behind it barges.
    assert_eq!(s.available_permits(), 1);
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    s.add_permits(1).unwrap();
    assert!(poll_once(small.as_mut()).is_pending());
    s.add_permits(1).unwrap();
    // Now the head fits; the small one still waits.
    let p = match poll_once(big.as_mut()) {
        Poll::Ready(p) => p.unwrap(),
        Poll::Pending => panic!("head not served"),
    };
    assert_eq!(p.num_permits(), 3);
    assert!(poll_once(small.as_mut()).is_pending());
    drop(p);
    assert!(poll_once(small.as_mut()).is_ready());
}

#[test]
fn barging_newcomers_stop_once_the_head_waited_past_the_bound() {
    let s = Semaphore::new(1);
    assert!(!s.is_fair());
    let mut big = Box::pin(s.acquire_many(3));
    assert!(poll_once(big.as_mut()).is_pending());
    // Within the bound a newcomer may take a free permit the head cannot use.
    let p = s.try_acquire().expect("barging within the bound");
    drop(p);
    std::thread::sleep(dualsync::FAIRNESS_BOUND * 2);
    // The next release sees the head waited too long: newcomers queue now.
    s.add_permits(1).unwrap();
    assert_eq!(s.available_permits(), 2);
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    let mut small = Box::pin(s.acquire());
    assert!(poll_once(small.as_mut()).is_pending());
    // The permits go to the head (handed over, not raced for).
    s.add_permits(1).unwrap();
    assert_eq!(s.available_permits(), 0);
    let Poll::Ready(p) = poll_once(big.as_mut()) else {
        panic!("head not served")
    };
    assert_eq!(p.unwrap().num_permits(), 3);
    assert!(poll_once(small.as_mut()).is_ready());
}

/// A head that waited past the bound sets FIFO (newcomers queue); when it
/// leaves, the young waiter behind it is woken in place and must be able
/// to take the free permit although FIFO is still set.
#[test]
fn a_woken_head_is_not_held_back_by_fifo() {
    let s = Semaphore::new(0);
    let mut big = Box::pin(s.acquire_many(5));
    assert!(poll_once(big.as_mut()).is_pending());
    std::thread::sleep(dualsync::FAIRNESS_BOUND * 2);
    s.add_permits(1).unwrap(); // big waited too long and does not fit: FIFO
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    let mut a = Box::pin(s.acquire());
    assert!(poll_once(a.as_mut()).is_pending());
    drop(big); // a fits the free permit
    let Poll::Ready(p) = poll_once(a.as_mut()) else {
        panic!("the woken head was held back by FIFO")
    };
    assert_eq!(p.unwrap().num_permits(), 1);
    assert_eq!(s.statistics().waiting, 0);
}

#[test]
fn barging_cancelled_head_wakes_the_ones_behind() {
    let s = Semaphore::new(0);
    let mut big = Box::pin(s.acquire_many(5));
    assert!(poll_once(big.as_mut()).is_pending());
    let mut a = Box::pin(s.acquire());
    let mut b = Box::pin(s.acquire());
    let mut c = Box::pin(s.acquire());
    for f in [&mut a, &mut b, &mut c] {
        assert!(poll_once(f.as_mut()).is_pending());
    }
    s.add_permits(2).unwrap(); // the head wants 5: nobody is served
    assert_eq!(s.statistics().waiting, 4);
    // a fits: it is woken in place (still queued, still first); or, if the
    // machine was slow enough for a to wait past the bound, handed a permit,
    // and then b is handed the other one (past the bound too: 1 waiting) or
    // woken in place (b was stamped later, and the bound ran out between
    // the two: 2 waiting; seen once under ThreadSanitizer on a loaded
    // 2-core machine).
    drop(big);
    let waiting = s.statistics().waiting;
    assert!((1..=3).contains(&waiting), "{waiting} waiting");
    // a takes its permit and leaves, which wakes b for the other one.
    let Poll::Ready(pa) = poll_once(a.as_mut()) else {
        panic!("a not served")
    };
    let Poll::Ready(pb) = poll_once(b.as_mut()) else {
        panic!("b not served")
    };
    assert!(poll_once(c.as_mut()).is_pending());
    drop((pa, pb));
    assert!(poll_once(c.as_mut()).is_ready());
    assert_eq!(s.statistics().waiting, 0);
}

#[test]
fn cancelled_head_rechecks_the_ones_behind_at_once() {
    let s = Semaphore::new_fair(2);
    let mut big = Box::pin(s.acquire_many(5));
    assert!(poll_once(big.as_mut()).is_pending());
    let mut a = Box::pin(s.acquire());
    let mut b = Box::pin(s.acquire());
    let mut c = Box::pin(s.acquire());
    for f in [&mut a, &mut b, &mut c] {
        assert!(poll_once(f.as_mut()).is_pending());
    }
    drop(big); // the head goes: a and b fit now, c does not
    let Poll::Ready(pa) = poll_once(a.as_mut()) else {
        panic!("a not served")
    };
    let Poll::Ready(pb) = poll_once(b.as_mut()) else {
        panic!("b not served")
    };
    assert!(poll_once(c.as_mut()).is_pending());
    drop((pa, pb));
    assert!(poll_once(c.as_mut()).is_ready());
    assert_eq!(s.statistics().waiting, 0);
}

#[test]
fn cancelled_head_rechecks_a_blocked_thread() {
    let s = Arc::new(Semaphore::new_fair(1));
    let mut big = Box::pin(s.acquire_many(2));
    assert!(poll_once(big.as_mut()).is_pending());
    let th = {
        let s = s.clone();
        std::thread::spawn(move || s.acquire().block().unwrap().num_permits())
    };
    eventually("thread queued", || s.statistics().waiting == 2);
    drop(big);
    assert_eq!(th.join().unwrap(), 1);
}

#[test]
fn cancel_before_poll_queued_and_after_grant() {
    let s = Semaphore::new_fair(0);
    // Before the first poll: nothing to undo.
    drop(s.acquire());
    assert_eq!(s.statistics().waiting, 0);
    // While queued.
    let mut a = Box::pin(s.acquire());
    assert!(poll_once(a.as_mut()).is_pending());
    drop(a);
    assert_eq!(s.statistics().waiting, 0);
    // After the grant, before the waiter ran: the permit passes on.
    let mut a = Box::pin(s.acquire());
    let mut b = Box::pin(s.acquire());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    s.release().unwrap(); // granted to a
    assert_eq!(s.available_permits(), 0);
    drop(a);
    let Poll::Ready(pb) = poll_once(b.as_mut()) else {
        panic!("the grant was lost")
    };
    pb.unwrap().forget();
    assert_eq!(s.available_permits(), 0);
    // Granted and nobody behind: back to the count.
    let mut c = Box::pin(s.acquire_many(2));
    assert!(poll_once(c.as_mut()).is_pending());
    s.add_permits(2).unwrap();
    drop(c);
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn barging_wake_up_given_to_a_dropped_waiter_passes_on() {
    let s = Semaphore::new(0);
    let mut a = Box::pin(s.acquire());
    let mut b = Box::pin(s.acquire());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    s.release().unwrap();
    if s.available_permits() == 1 {
        // Within the bound: free, and `a` woken in place to take it.
        assert_eq!(s.statistics().waiting, 2);
    } else {
        // `a` waited past the bound (a slow machine): handed the permit.
        assert_eq!(s.statistics().waiting, 1);
    }
    drop(a); // leaves without looking: its wake-up or permit goes to `b`
    assert!(s.statistics().waiting <= 1);
    let Poll::Ready(pb) = poll_once(b.as_mut()) else {
        panic!("the wake-up was lost")
    };
    pb.unwrap().forget();
    assert_eq!(s.available_permits(), 0);
}

#[test]
fn close_wakes_waiters_and_is_permanent() {
    let s = Arc::new(Semaphore::new(1));
    let held = s.try_acquire_arc().unwrap();
    let rt = rt();
    let task = {
        let s = s.clone();
        rt.spawn(async move { s.acquire().await.map(|_| ()) })
    };
    let th = {
        let s = s.clone();
        std::thread::spawn(move || s.acquire_many(2).block().map(|_| ()))
    };
    eventually("two queued", || s.statistics().waiting == 2);
    s.close();
    assert_eq!(rt.block_on(task).unwrap(), Err(AcquireError::Closed));
    assert_eq!(th.join().unwrap(), Err(AcquireError::Closed));
    assert!(s.is_closed());
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::Closed);
    assert_eq!(s.acquire().block().unwrap_err(), AcquireError::Closed);
    assert_eq!(
        s.acquire().block_for(Duration::from_millis(1)).unwrap_err(),
        AcquireTimeoutError::Closed
    );
    // Held permits can still be returned; nothing reopens it.
    drop(held);
    s.add_permits(3).unwrap();
    assert_eq!(s.available_permits(), 4);
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::Closed);
    assert!(format!("{s:?}").contains("closed: true"));
}

#[test]
fn overflow_is_an_error_and_changes_nothing() {
    let s = Semaphore::new(MAX_PERMITS - 1);
    assert_eq!(s.add_permits(2), Err(ReleaseError::Overflow));
    assert_eq!(s.available_permits(), MAX_PERMITS - 1);
    s.release().unwrap();
    assert_eq!(s.release(), Err(ReleaseError::Overflow));
    assert_eq!(s.add_permits(usize::MAX), Err(ReleaseError::Overflow));
    assert_eq!(s.available_permits(), MAX_PERMITS);
    // A guard cannot fail: returning past the maximum saturates.
    let p = s.try_acquire_many(10).unwrap();
    s.add_permits(5).unwrap();
    drop(p);
    assert_eq!(s.available_permits(), MAX_PERMITS);
}

#[test]
#[should_panic]
fn new_above_max_panics() {
    let _ = Semaphore::new(MAX_PERMITS + 1);
}

#[test]
fn bounded_over_release() {
    let s = BoundedSemaphore::new(2);
    assert_eq!(s.bound(), 2);
    assert_eq!(s.release(), Err(ReleaseError::OverRelease));
    assert_eq!(s.available_permits(), 2);
    let p = s.acquire().block().unwrap();
    assert_eq!(s.add_permits(2), Err(ReleaseError::OverRelease));
    assert_eq!(s.available_permits(), 1);
    drop(p); // a guard never over-releases
    assert_eq!(s.available_permits(), 2);
    // Manual release while a guard is out, then the guard: clamped.
    let p = s.try_acquire().unwrap();
    s.release().unwrap();
    drop(p);
    assert_eq!(s.available_permits(), 2);
    // Forgotten permits may be released by hand.
    s.try_acquire_many(2).unwrap().forget();
    s.add_permits(2).unwrap();
    assert_eq!(s.release(), Err(ReleaseError::OverRelease));
    assert!(format!("{s:?}").starts_with("BoundedSemaphore { value: 2, bound: 2"));
}

#[test]
fn bounded_every_mode_and_owned() {
    let s = Arc::new(BoundedSemaphore::new(1));
    let p = s.acquire_arc().block().unwrap();
    assert!(s.try_acquire_arc().is_err());
    assert!(s.acquire().block_for(Duration::from_millis(5)).is_err());
    let waiter = {
        let s = s.clone();
        std::thread::spawn(move || {
            futures::executor::block_on(async { s.acquire_many_arc(1).await.unwrap() })
        })
    };
    eventually("queued", || s.statistics().waiting == 1);
    drop(p);
    let p = waiter.join().unwrap();
    s.release().unwrap(); // asyncio allows it: the count is below the bound
    assert_eq!(s.release(), Err(ReleaseError::OverRelease));
    drop(p); // clamped at the bound
    assert_eq!(s.available_permits(), 1);
    // The owned permit of a bounded semaphore clamps too.
    let p = s.try_acquire_many_arc(1).unwrap();
    s.release().unwrap();
    drop(p);
    assert_eq!(s.available_permits(), 1);
}

/// Threads and tasks contend for 2 permits: never more than 2 holders, and
/// every acquisition completes.
#[test]
fn mixed_stress_never_exceeds_permits() {
    const ROUNDS: usize = 300;
    let s = Arc::new(Semaphore::new(2));
    let holders = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let rt = rt();
    let mut tasks = Vec::new();
    for i in 0..3 {
        let (s, h, d) = (s.clone(), holders.clone(), done.clone());
        tasks.push(rt.spawn(async move {
            for _ in 0..ROUNDS {
                let p = s.acquire_many(1 + i % 2).await.unwrap();
                assert!(h.fetch_add(p.num_permits(), Ordering::SeqCst) + p.num_permits() <= 2);
                tokio::task::yield_now().await;
                h.fetch_sub(p.num_permits(), Ordering::SeqCst);
                drop(p);
                d.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut threads = Vec::new();
    for i in 0..3 {
        let (s, h, d) = (s.clone(), holders.clone(), done.clone());
        threads.push(std::thread::spawn(move || {
            for k in 0..ROUNDS {
                let n = 1 + i % 2;
                let p = if k % 3 == 0 {
                    match s.acquire_many(n).block_for(Duration::from_micros(50)) {
                        Ok(p) => p,
                        Err(_) => s.acquire_many(n).block().unwrap(),
                    }
                } else {
                    s.acquire_many(n).block().unwrap()
                };
                assert!(h.fetch_add(n, Ordering::SeqCst) + n <= 2);
                std::hint::spin_loop();
                h.fetch_sub(n, Ordering::SeqCst);
                drop(p);
                d.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(done.load(Ordering::Relaxed), 6 * ROUNDS);
    assert_eq!(s.available_permits(), 2);
    assert_eq!(s.statistics().waiting, 0);
}

/// Timeouts racing releases: whatever wins, no permit is lost or duplicated.
#[test]
fn timeouts_racing_releases_lose_nothing() {
    let s = Arc::new(Semaphore::new(0));
    let got = Arc::new(AtomicUsize::new(0));
    for _ in 0..300 {
        let th = {
            let (s, got) = (s.clone(), got.clone());
            std::thread::spawn(move || {
                if let Ok(p) = s.acquire().block_for(Duration::from_micros(30)) {
                    p.forget();
                    got.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        std::thread::sleep(Duration::from_micros(25));
        s.release().unwrap();
        th.join().unwrap();
        assert_eq!(s.statistics().waiting, 0);
    }
    // Every release either went to a waiter (forgotten) or is still free.
    assert_eq!(got.load(Ordering::Relaxed) + s.available_permits(), 300);
}

/// Tokio timeouts (task cancellation) racing releases.
#[test]
fn task_cancellation_racing_releases_lose_nothing() {
    let s = Arc::new(Semaphore::new(0));
    let got = Arc::new(AtomicUsize::new(0));
    let rt = rt();
    for i in 0..200 {
        let task = {
            let (s, got) = (s.clone(), got.clone());
            rt.spawn(async move {
                let r = tokio::time::timeout(Duration::from_micros(50), s.acquire()).await;
                if let Ok(p) = r {
                    p.unwrap().forget();
                    got.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        if i % 2 == 0 {
            std::thread::yield_now();
        }
        s.release().unwrap();
        rt.block_on(task).unwrap();
    }
    assert_eq!(s.statistics().waiting, 0);
    assert_eq!(got.load(Ordering::Relaxed) + s.available_permits(), 200);
}

#[test]
fn debug_and_statistics() {
    let s = Semaphore::new(3);
    assert_eq!(format!("{s:?}"), "Semaphore { value: 3, waiters: 0 }");
    let _p = s.try_acquire_many(3).unwrap();
    let mut w = Box::pin(s.acquire());
    assert!(poll_once(w.as_mut()).is_pending());
    let st = s.statistics();
    assert_eq!((st.available, st.waiting, st.closed), (0, 1, false));
    assert_eq!(format!("{s:?}"), "Semaphore { value: 0, waiters: 1 }");
    assert!(format!("{:?}", w).contains("SemaphoreAcquire"));
}

#[test]
fn errors_display() {
    assert_eq!(AcquireError::Closed.to_string(), "the semaphore is closed");
    assert_eq!(
        TryAcquireError::NoPermits.to_string(),
        "no permits available"
    );
    assert!(ReleaseError::OverRelease.to_string().contains("bounded"));
    assert!(ReleaseError::Overflow.to_string().contains("overflow"));
}
