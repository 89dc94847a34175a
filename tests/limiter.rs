//! CapacityLimiter: borrower rules, FIFO order across threads and tasks,
//! resizing, cancel-safety, statistics, and the `dualsync_limiter_*` C ABI.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;
use dualsync::{
    AcquireTokenTimeoutError, AlreadyBorrowed, Borrower, CapacityLimiter, NotBorrowed,
    TryAcquireTokenError, ZeroTokens,
};

mod common;
use common::{poll_once, rt, until_waiting};

#[test]
fn counts_and_release_on_drop() {
    let l = CapacityLimiter::new(2);
    assert_eq!(
        (l.total_tokens(), l.borrowed_tokens(), l.available_tokens()),
        (2, 0, 2)
    );
    let a = l.acquire_on_behalf_of(Borrower::id(1)).block().unwrap();
    let b = l.try_acquire_on_behalf_of(Borrower::id(2)).unwrap();
    assert_eq!((l.borrowed_tokens(), l.available_tokens()), (2, 0));
    assert_eq!(
        l.try_acquire_on_behalf_of(Borrower::id(3)).unwrap_err(),
        TryAcquireTokenError::WouldBlock
    );
    assert_eq!(a.borrower(), Borrower::id(1));
    drop(a);
    assert_eq!(l.borrowed_tokens(), 1);
    assert!(!l.is_borrowing(Borrower::id(1)));
    assert!(l.is_borrowing(Borrower::id(2)));
    b.release();
    assert_eq!(l.borrowed_tokens(), 0);
}

#[test]
#[should_panic(expected = "at least one token")]
fn zero_tokens_panics_in_new() {
    let _ = CapacityLimiter::new(0);
}

#[test]
fn a_thread_is_one_borrower_in_every_mode() {
    let l = CapacityLimiter::new(5);
    let me = Borrower::current_thread();
    assert_eq!(me, Borrower::current_thread());
    let t = l.acquire().block().unwrap();
    assert_eq!(t.borrower(), me);
    // Every other form for the same thread fails at once, with tokens free.
    let t0 = Instant::now();
    assert_eq!(l.acquire().block().unwrap_err(), AlreadyBorrowed(me));
    assert_eq!(
        l.acquire().block_for(Duration::from_secs(30)).unwrap_err(),
        AcquireTokenTimeoutError::AlreadyBorrowed(me)
    );
    assert_eq!(
        l.acquire()
            .block_until(Instant::now() + Duration::from_secs(30))
            .unwrap_err(),
        AcquireTokenTimeoutError::AlreadyBorrowed(me)
    );
    assert_eq!(
        l.try_acquire().unwrap_err(),
        TryAcquireTokenError::AlreadyBorrowed(AlreadyBorrowed(me))
    );
    assert_eq!(
        l.acquire_on_behalf_of(me).block().unwrap_err(),
        AlreadyBorrowed(me)
    );
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "an AlreadyBorrowed error waited"
    );
    // Another thread is another borrower.
    thread::scope(|s| {
        s.spawn(|| {
            let t = l.acquire().block().unwrap();
            assert_ne!(t.borrower(), me);
        });
    });
    assert_eq!(l.borrowed_tokens(), 1);
    drop(t);
    // Released: the same thread may borrow again.
    assert!(l.try_acquire().is_ok());
}

#[test]
fn already_borrowed_is_reported_at_once_even_when_full() {
    // No free token: the waiting forms must still report the error, not wait.
    let l = CapacityLimiter::new(1);
    let b = Borrower::id(7);
    let _t = l.try_acquire_on_behalf_of(b).unwrap();
    let r = futures::executor::block_on(l.acquire_on_behalf_of(b));
    assert_eq!(r.unwrap_err(), AlreadyBorrowed(b));
    assert_eq!(
        l.acquire_on_behalf_of(b)
            .block_for(Duration::ZERO)
            .unwrap_err(),
        AcquireTokenTimeoutError::AlreadyBorrowed(b)
    );
    assert_eq!(l.statistics().waiting, 0);
}

#[test]
fn an_awaited_acquire_borrows_for_that_operation() {
    let l = CapacityLimiter::new(2);
    futures::executor::block_on(async {
        let a = l.acquire().await.unwrap();
        let b = l.acquire().await.unwrap();
        assert_ne!(a.borrower(), b.borrower());
        assert_ne!(a.borrower(), Borrower::current_thread());
        // An explicit per-task borrower gets anyio's rule.
        drop(a);
        let me = Borrower::unique();
        let _c = l.acquire_on_behalf_of(me).await.unwrap();
        assert_eq!(
            l.acquire_on_behalf_of(me).await.unwrap_err(),
            AlreadyBorrowed(me)
        );
        drop(b);
    });
}

#[test]
fn borrower_namespaces() {
    assert_eq!(Borrower::id(5), Borrower::id(5));
    assert_ne!(Borrower::id(5), Borrower::id(6));
    assert_eq!(Borrower::of("job-1"), Borrower::of("job-1"));
    assert_ne!(Borrower::of("job-1"), Borrower::of("job-2"));
    assert_ne!(Borrower::unique(), Borrower::unique());
    let u = Borrower::unique();
    assert_eq!(u.as_id(), None);
    assert_eq!(Borrower::id(9).as_id(), Some(9));
    // A generated id never equals a chosen one with the same number.
    let t = Borrower::current_thread();
    assert!((0..1000).all(|n| Borrower::id(n) != t));
    let other = thread::spawn(Borrower::current_thread).join().unwrap();
    assert_ne!(other, t);
}

/// More holders than the borrower set keeps inline (8): the borrower rules
/// and the statistics hold for the ones kept in its overflow set too.
#[test]
fn many_holders_at_once() {
    const N: u64 = 40;
    let l = CapacityLimiter::new(N as usize);
    let mut tokens: Vec<_> = (0..N)
        .map(|i| l.try_acquire_on_behalf_of(Borrower::id(i)).unwrap())
        .collect();
    assert_eq!(l.borrowed_tokens(), N as usize);
    for i in 0..N {
        let b = Borrower::id(i);
        assert!(l.is_borrowing(b));
        assert_eq!(
            l.acquire_on_behalf_of(b).block().unwrap_err(),
            AlreadyBorrowed(b)
        );
    }
    let mut listed: Vec<u64> = l
        .statistics()
        .borrowers
        .iter()
        .map(|b| b.as_id().unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, (0..N).collect::<Vec<_>>());
    // Release the first half (inline and overflow entries alike), then let
    // new borrowers in and old ones back.
    tokens.retain(|t| t.borrower().as_id().unwrap() % 2 == 1);
    assert_eq!(l.borrowed_tokens(), N as usize / 2);
    for i in (0..N).step_by(2) {
        assert!(!l.is_borrowing(Borrower::id(i)));
        assert_eq!(
            l.release_on_behalf_of(Borrower::id(i)),
            Err(NotBorrowed(Borrower::id(i)))
        );
    }
    for i in (0..N).step_by(2) {
        tokens.push(l.try_acquire_on_behalf_of(Borrower::id(i + 1000)).unwrap());
    }
    assert_eq!(
        l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap_err(),
        TryAcquireTokenError::WouldBlock
    );
    for i in (1..N).step_by(2) {
        assert_eq!(
            l.try_acquire_on_behalf_of(Borrower::id(i)).unwrap_err(),
            TryAcquireTokenError::AlreadyBorrowed(AlreadyBorrowed(Borrower::id(i)))
        );
    }
    assert_eq!(l.statistics().borrowers.len(), N as usize);
    drop(tokens);
    assert_eq!(l.borrowed_tokens(), 0);
    assert!(l.statistics().borrowers.is_empty());
}

#[test]
fn release_on_behalf_of() {
    let l = CapacityLimiter::new(1);
    let b = Borrower::id(3);
    assert_eq!(l.release_on_behalf_of(b), Err(NotBorrowed(b)));
    std::mem::forget(l.try_acquire_on_behalf_of(b).unwrap());
    assert_eq!(l.borrowed_tokens(), 1);
    assert_eq!(l.release_on_behalf_of(b), Ok(()));
    assert_eq!(l.borrowed_tokens(), 0);
    assert_eq!(l.release_on_behalf_of(b), Err(NotBorrowed(b)));
}

#[test]
fn fifo_across_threads_and_tasks() {
    let rt = rt();
    let l = Arc::new(CapacityLimiter::new(1));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let holder = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
    let mut threads = Vec::new();
    let mut tasks = Vec::new();
    for i in 1..=6usize {
        let (l2, o2) = (l.clone(), order.clone());
        if i % 2 == 1 {
            threads.push(thread::spawn(move || {
                let t = l2.acquire().block().unwrap();
                o2.lock().unwrap().push(i);
                drop(t);
            }));
        } else {
            tasks.push(rt.spawn(async move {
                let t = l2.acquire().await.unwrap();
                o2.lock().unwrap().push(i);
                drop(t);
            }));
        }
        until_waiting(&l, i);
    }
    // Newcomers do not overtake the queue, even with the token about to free.
    assert_eq!(
        l.try_acquire_on_behalf_of(Borrower::id(99)).unwrap_err(),
        TryAcquireTokenError::WouldBlock
    );
    drop(holder);
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(l.borrowed_tokens(), 0);
}

#[test]
fn raising_total_wakes_as_many_as_fit_in_order() {
    let rt = rt();
    let l = Arc::new(CapacityLimiter::new(1));
    let holder = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
    let got = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let holders = |l: &CapacityLimiter| {
        let mut v: Vec<u64> = l
            .statistics()
            .borrowers
            .iter()
            .map(|b| b.as_id().unwrap())
            .collect();
        v.sort();
        v
    };
    let wait_got = |n: usize| {
        let t0 = Instant::now();
        while got.load(Ordering::SeqCst) < n {
            assert!(t0.elapsed() < Duration::from_secs(10));
            thread::sleep(Duration::from_millis(1));
        }
    };
    let mut handles = Vec::new();
    for i in 1..=4u64 {
        let (l2, g2, r2) = (l.clone(), got.clone(), release.clone());
        let me = Borrower::id(i);
        if i % 2 == 0 {
            let h = rt.spawn(async move {
                let t = l2.acquire_on_behalf_of(me).await.unwrap();
                g2.fetch_add(1, Ordering::SeqCst);
                r2.acquire().await.unwrap().forget();
                drop(t);
            });
            handles.push(Err(h));
        } else {
            handles.push(Ok(thread::spawn(move || {
                let t = l2.acquire_on_behalf_of(me).block().unwrap();
                g2.fetch_add(1, Ordering::SeqCst);
                futures::executor::block_on(r2.acquire()).unwrap().forget();
                drop(t);
            })));
        }
        until_waiting(&l, i as usize);
    }
    // 1 held, raise to 3: exactly the first two waiters get in.
    l.set_total_tokens(3).unwrap();
    assert_eq!(holders(&l), vec![0, 1, 2]);
    assert_eq!(l.statistics().waiting, 2);
    wait_got(2);
    assert_eq!(l.borrowed_tokens(), 3);
    // Zero is refused and changes nothing.
    assert_eq!(l.set_total_tokens(0), Err(ZeroTokens));
    assert_eq!(l.total_tokens(), 3);
    // Lowering takes nothing away from holders.
    l.set_total_tokens(1).unwrap();
    assert_eq!((l.borrowed_tokens(), l.available_tokens()), (3, 0));
    drop(holder); // 2 borrowed, total 1: still nobody gets in
    assert_eq!(holders(&l), vec![1, 2]);
    assert_eq!(l.statistics().waiting, 2);
    // Raise by one: only the next in line (3) gets in.
    l.set_total_tokens(3).unwrap();
    assert_eq!(holders(&l), vec![1, 2, 3]);
    l.set_total_tokens(10).unwrap();
    assert_eq!(holders(&l), vec![1, 2, 3, 4]);
    wait_got(4);
    release.add_permits(4);
    for h in handles {
        match h {
            Ok(t) => t.join().unwrap(),
            Err(h) => rt.block_on(h).unwrap(),
        }
    }
    assert_eq!(l.borrowed_tokens(), 0);
}

#[test]
fn a_token_handed_to_a_dropped_waiter_passes_on() {
    // Strict hand-off: the token is moved to the head, and passed on by it.
    let l = CapacityLimiter::new_fair(1);
    assert!(l.is_fair());
    let holder = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
    let mut a = Box::pin(l.acquire_on_behalf_of(Borrower::id(1)));
    let mut b = Box::pin(l.acquire_on_behalf_of(Borrower::id(2)));
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(holder); // the token goes to `a`...
    assert!(l.is_borrowing(Borrower::id(1)));
    drop(a); // ...which leaves without looking: it passes to `b`
    assert!(l.is_borrowing(Borrower::id(2)));
    match poll_once(b.as_mut()) {
        Poll::Ready(Ok(t)) => assert_eq!(t.borrower(), Borrower::id(2)),
        _ => panic!("b did not get the passed-on token"),
    }
    assert_eq!(l.borrowed_tokens(), 0);
}

#[test]
fn a_wake_up_given_to_a_dropped_waiter_passes_on() {
    // Bounded barging: a release frees the token and wakes the young head;
    // a head that leaves without looking passes the wake-up on.
    let l = CapacityLimiter::new(1);
    assert!(!l.is_fair());
    let holder = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
    let mut a = Box::pin(l.acquire_on_behalf_of(Borrower::id(1)));
    let mut b = Box::pin(l.acquire_on_behalf_of(Borrower::id(2)));
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(holder);
    if l.borrowed_tokens() == 0 {
        // Within the bound: the token is free, `a` woken in place.
        assert_eq!(l.statistics().waiting, 2);
    } else {
        // `a` waited past the bound (a slow machine): handed the token.
        assert!(l.is_borrowing(Borrower::id(1)));
    }
    drop(a); // leaves without looking: its wake-up or token goes to `b`
    assert!(l.statistics().waiting <= 1);
    match poll_once(b.as_mut()) {
        Poll::Ready(Ok(t)) => assert_eq!(t.borrower(), Borrower::id(2)),
        _ => panic!("b did not get the token"),
    }
    assert_eq!(l.borrowed_tokens(), 0);
}

#[test]
fn a_cancelled_waiter_leaves_no_trace() {
    let l = CapacityLimiter::new(1);
    let holder = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
    {
        let mut a = pin!(l.acquire_on_behalf_of(Borrower::id(1)));
        assert!(poll_once(a.as_mut()).is_pending());
        assert_eq!(l.statistics().waiting, 1);
    }
    assert_eq!(l.statistics().waiting, 0);
    // A timed-out block_for is the same as a drop.
    let t0 = Instant::now();
    let r = l
        .acquire_on_behalf_of(Borrower::id(1))
        .block_for(Duration::from_millis(20));
    assert!(r.is_err());
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let r = l
        .acquire()
        .block_until(Instant::now() + Duration::from_millis(5));
    assert!(r.is_err());
    assert_eq!(l.statistics().waiting, 0);
    assert_eq!(l.borrowed_tokens(), 1);
    drop(holder);
    assert_eq!(l.borrowed_tokens(), 0);
    assert!(l.try_acquire_on_behalf_of(Borrower::id(1)).is_ok());
}

#[test]
fn a_waiter_whose_borrower_got_a_token_meanwhile_is_refused() {
    let l = CapacityLimiter::new(1);
    let holder = l.try_acquire_on_behalf_of(Borrower::id(0)).unwrap();
    let b = Borrower::id(1);
    let mut first = Box::pin(l.acquire_on_behalf_of(b));
    let mut second = Box::pin(l.acquire_on_behalf_of(b));
    let mut third = Box::pin(l.acquire_on_behalf_of(Borrower::id(2)));
    assert!(poll_once(first.as_mut()).is_pending());
    assert!(poll_once(second.as_mut()).is_pending());
    assert!(poll_once(third.as_mut()).is_pending());
    drop(holder);
    let t1 = match poll_once(first.as_mut()) {
        Poll::Ready(Ok(t)) => t,
        _ => panic!("first should hold the token"),
    };
    // Room for two more: `second` is refused (b holds one), `third` served.
    l.set_total_tokens(3).unwrap();
    assert!(matches!(poll_once(second.as_mut()), Poll::Ready(Err(AlreadyBorrowed(x))) if x == b));
    assert!(matches!(poll_once(third.as_mut()), Poll::Ready(Ok(_))));
    assert_eq!(l.borrowed_tokens(), 1);
    drop(t1);
}

#[test]
fn statistics_and_debug() {
    let l = CapacityLimiter::new(2);
    let _a = l.try_acquire_on_behalf_of(Borrower::id(1)).unwrap();
    let _b = l.try_acquire_on_behalf_of(Borrower::id(2)).unwrap();
    let mut w = Box::pin(l.acquire_on_behalf_of(Borrower::id(3)));
    assert!(poll_once(w.as_mut()).is_pending());
    let st = l.statistics();
    assert_eq!((st.borrowed_tokens, st.total_tokens, st.waiting), (2, 2, 1));
    let mut bs = st.borrowers.clone();
    bs.sort_by_key(|b| b.as_id());
    assert_eq!(bs, vec![Borrower::id(1), Borrower::id(2)]);
    assert_eq!(
        format!("{l:?}"),
        "CapacityLimiter { borrowed: 2, total: 2, waiters: 1, .. }"
    );
    drop(w);
    assert_eq!(l.statistics().waiting, 0);
}

#[test]
fn a_token_moves_between_threads_and_tasks() {
    let rt = rt();
    let l: &'static CapacityLimiter = Box::leak(Box::new(CapacityLimiter::new(1)));
    let t = l.acquire().block().unwrap();
    let me = Borrower::current_thread();
    rt.block_on(async move {
        tokio::spawn(async move {
            assert_eq!(t.borrower(), me);
            drop(t); // released by a task, for the thread that took it
        })
        .await
        .unwrap();
    });
    assert_eq!(l.borrowed_tokens(), 0);
}

/// Threads and tasks of two executors hammer a limiter that is resized
/// meanwhile; nobody ever sees more holders than tokens allowed at the time
/// it got in, and everybody finishes.
#[test]
fn mixed_stress_with_resizing() {
    const ROUNDS: usize = 300;
    let rt = rt();
    let l = Arc::new(CapacityLimiter::new(2));
    let inside = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let work = |l: &CapacityLimiter, inside: &AtomicUsize, max_seen: &AtomicUsize| {
        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
        max_seen.fetch_max(n, Ordering::SeqCst);
        // The caller holds a token. (`n` is not compared with
        // `borrowed_tokens()`: another holder may leave and release between
        // the two reads; the bound on `n` is checked through `max_seen`.)
        assert!(l.borrowed_tokens() >= 1);
        inside.fetch_sub(1, Ordering::SeqCst);
    };
    let mut threads = Vec::new();
    for k in 0..3 {
        let (l, inside, max_seen, done) =
            (l.clone(), inside.clone(), max_seen.clone(), done.clone());
        threads.push(thread::spawn(move || {
            for i in 0..ROUNDS {
                let t = match (k + i) % 3 {
                    0 => l.acquire().block().unwrap(),
                    1 => loop {
                        if let Ok(t) = l.acquire().block_for(Duration::from_micros(50)) {
                            break t;
                        }
                    },
                    _ => loop {
                        if let Ok(t) = l.try_acquire() {
                            break t;
                        }
                        thread::yield_now();
                    },
                };
                work(&l, &inside, &max_seen);
                drop(t);
            }
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (l, inside, max_seen, done) =
            (l.clone(), inside.clone(), max_seen.clone(), done.clone());
        tasks.push(rt.spawn(async move {
            let me = Borrower::unique();
            for _ in 0..ROUNDS {
                let t = l.acquire_on_behalf_of(me).await.unwrap();
                work(&l, &inside, &max_seen);
                tokio::task::yield_now().await;
                drop(t);
            }
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    let smol_task = {
        let (l, inside, max_seen) = (l.clone(), inside.clone(), max_seen.clone());
        thread::spawn(move || {
            smol::block_on(async {
                for _ in 0..ROUNDS {
                    let t = l.acquire().await.unwrap();
                    work(&l, &inside, &max_seen);
                    drop(t);
                }
            })
        })
    };
    for n in [1, 3, 2, 4, 1, 2] {
        l.set_total_tokens(n).unwrap();
        thread::sleep(Duration::from_millis(2));
    }
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    smol_task.join().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 6);
    assert!(max_seen.load(Ordering::SeqCst) <= 4);
    assert_eq!(l.borrowed_tokens(), 0);
    assert_eq!(l.statistics().waiting, 0);
}

// ---- the C ABI, from Rust ----

#[derive(Clone, Copy)]
struct H(*mut dualsync_limiter_t);
// SAFETY: the limiter handle is thread-safe; tests free it after joining.
unsafe impl Send for H {}

#[test]
fn ffi_limiter() {
    // SAFETY (whole test): every handle passed is NULL or live until freed
    // at the end; out pointers point to locals.
    unsafe {
        assert!(dualsync_limiter_new(0).is_null());
        let h = dualsync_limiter_new(2);
        assert!(!h.is_null());
        let mut n = 0usize;
        assert_eq!(dualsync_limiter_total_tokens(h, &mut n), DUALSYNC_OK);
        assert_eq!(n, 2);
        assert_eq!(dualsync_limiter_acquire(h, 10), DUALSYNC_OK);
        assert_eq!(dualsync_limiter_acquire(h, 10), DUALSYNC_ALREADY_BORROWED);
        assert_eq!(
            dualsync_limiter_try_acquire(h, 10),
            DUALSYNC_ALREADY_BORROWED
        );
        assert_eq!(
            dualsync_limiter_acquire_timeout(h, 10, 1_000),
            DUALSYNC_ALREADY_BORROWED
        );
        assert_eq!(dualsync_limiter_try_acquire(h, 11), DUALSYNC_OK);
        assert_eq!(dualsync_limiter_try_acquire(h, 12), DUALSYNC_WOULD_BLOCK);
        assert_eq!(
            dualsync_limiter_acquire_timeout(h, 12, 0),
            DUALSYNC_WOULD_BLOCK
        );
        assert_eq!(
            dualsync_limiter_acquire_timeout(h, 12, 2_000_000),
            DUALSYNC_TIMED_OUT
        );
        assert_eq!(dualsync_limiter_borrowed_tokens(h, &mut n), DUALSYNC_OK);
        assert_eq!(n, 2);
        assert_eq!(dualsync_limiter_available_tokens(h, &mut n), DUALSYNC_OK);
        assert_eq!(n, 0);
        // A C thread waits; raising the total lets it in.
        let hh = H(h);
        let waiter = thread::spawn(move || {
            let hh = hh;
            dualsync_limiter_acquire_timeout(hh.0, 12, DUALSYNC_TIMEOUT_INFINITE)
        });
        assert_eq!(dualsync_limiter_n_waiting(h, &mut n), DUALSYNC_OK);
        assert!(n <= 1);
        let t0 = Instant::now();
        while (*h).limiter().statistics().waiting == 0 {
            assert!(t0.elapsed() < Duration::from_secs(10));
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(dualsync_limiter_n_waiting(h, &mut n), DUALSYNC_OK);
        assert_eq!(n, 1);
        assert_eq!(dualsync_limiter_free(h), DUALSYNC_BUSY);
        assert_eq!(
            dualsync_limiter_set_total_tokens(h, 0),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(dualsync_limiter_set_total_tokens(h, 3), DUALSYNC_OK);
        assert_eq!(waiter.join().unwrap(), DUALSYNC_OK);
        assert_eq!(dualsync_limiter_n_waiting(h, &mut n), DUALSYNC_OK);
        assert_eq!(n, 0);
        for b in [10, 11, 12] {
            assert_eq!(dualsync_limiter_release(h, b), DUALSYNC_OK);
        }
        assert_eq!(dualsync_limiter_release(h, 10), DUALSYNC_NOT_LOCKED);
        // Bad input.
        assert_eq!(
            dualsync_limiter_acquire(std::ptr::null(), 1),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_limiter_total_tokens(h, std::ptr::null_mut()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_limiter_borrowed_tokens(std::ptr::null(), &mut n),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_limiter_n_waiting(h, std::ptr::null_mut()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_limiter_n_waiting(std::ptr::null(), &mut n),
            DUALSYNC_INVALID_ARGUMENT
        );
        let name = std::ffi::CStr::from_ptr(dualsync_status_str(DUALSYNC_ALREADY_BORROWED as i32));
        assert_eq!(name.to_str().unwrap(), "DUALSYNC_ALREADY_BORROWED");
        assert_eq!(dualsync_limiter_free(h), DUALSYNC_OK);
        assert_eq!(dualsync_limiter_free(std::ptr::null_mut()), DUALSYNC_OK);
    }
}
