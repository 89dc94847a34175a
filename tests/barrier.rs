//! Barrier: every mode, threads and tasks mixed, generations, indices,
//! withdrawal on cancellation and timeout, abort / reset, timeouts racing
//! the completing arrival.

use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use dualsync::{
    Barrier, BarrierTimeoutError, BarrierWaitResult, BrokenBarrier, TryWaitError, ZeroParties,
};

mod common;
use common::{eventually, poll_once, rt};

/// Checks one generation's results: indices are exactly `0..parties`, one
/// leader, which has the last index.
fn check_round(parties: usize, mut rs: Vec<BarrierWaitResult>) {
    assert_eq!(rs.len(), parties);
    rs.sort_by_key(|r| r.index());
    for (i, r) in rs.iter().enumerate() {
        assert_eq!(r.index(), i);
        assert_eq!(r.is_leader(), i == parties - 1);
    }
}

#[test]
fn zero_parties_is_an_error() {
    assert_eq!(Barrier::try_new(0).unwrap_err(), ZeroParties);
    assert!(!ZeroParties.to_string().is_empty());
    assert_eq!(BrokenBarrier.to_string(), "the barrier is broken");
}

#[test]
fn one_party_passes_at_once_in_every_mode() {
    let b = Barrier::new(1);
    let r = b.wait().block().unwrap();
    assert_eq!((r.index(), r.is_leader()), (0, true));
    b.wait().block_for(Duration::ZERO).unwrap();
    b.wait().block_until(Instant::now()).unwrap();
    futures::executor::block_on(b.wait()).unwrap();
    assert_eq!(b.try_wait().unwrap().index(), 0);
    assert_eq!(b.parties(), 1);
    assert_eq!(b.n_waiting(), 0);
}

#[test]
fn threads_many_generations() {
    const N: usize = 4;
    const ROUNDS: usize = 50;
    let b = Arc::new(Barrier::new(N));
    let results = Arc::new(Mutex::new(vec![Vec::new(); ROUNDS]));
    let hs: Vec<_> = (0..N)
        .map(|i| {
            let (b, results) = (b.clone(), results.clone());
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let r = match i {
                        0 => b.wait().block_for(Duration::from_secs(30)).unwrap(),
                        1 => b
                            .wait()
                            .block_until(Instant::now() + Duration::from_secs(30))
                            .unwrap(),
                        _ => b.wait().block().unwrap(),
                    };
                    results.lock().unwrap()[round].push(r);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    for round in results.lock().unwrap().drain(..) {
        check_round(N, round);
    }
    assert_eq!(b.n_waiting(), 0);
}

#[test]
fn tasks_many_generations() {
    const N: usize = 3;
    const ROUNDS: usize = 50;
    let b = Arc::new(Barrier::new(N));
    let results = Arc::new(Mutex::new(vec![Vec::new(); ROUNDS]));
    rt().block_on(async {
        let ts: Vec<_> = (0..N)
            .map(|_| {
                let (b, results) = (b.clone(), results.clone());
                tokio::spawn(async move {
                    for round in 0..ROUNDS {
                        let r = b.wait().await.unwrap();
                        results.lock().unwrap()[round].push(r);
                    }
                })
            })
            .collect();
        for t in ts {
            t.await.unwrap();
        }
    });
    for round in results.lock().unwrap().drain(..) {
        check_round(N, round);
    }
}

#[test]
fn threads_and_tasks_mixed() {
    const ROUNDS: usize = 50;
    let b = Arc::new(Barrier::new(4));
    let results = Arc::new(Mutex::new(vec![Vec::new(); ROUNDS]));
    let rt = rt();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (b, results) = (b.clone(), results.clone());
            rt.spawn(async move {
                for round in 0..ROUNDS {
                    let r = b.wait().await.unwrap();
                    results.lock().unwrap()[round].push(r);
                }
            })
        })
        .collect();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (b, results) = (b.clone(), results.clone());
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let r = b.wait().block().unwrap();
                    results.lock().unwrap()[round].push(r);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    for round in results.lock().unwrap().drain(..) {
        check_round(4, round);
    }
}

#[test]
fn cancelled_waiter_withdraws_without_breaking() {
    let b = Barrier::new(3);
    // Dropped before the first poll: never arrived.
    drop(b.wait());
    assert_eq!(b.n_waiting(), 0);
    let mut a = Box::pin(b.wait());
    let mut w = Box::pin(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(w.as_mut()).is_pending());
    assert_eq!(b.n_waiting(), 2);
    drop(a); // withdraws
    assert_eq!(b.n_waiting(), 1);
    assert!(!b.is_broken());
    let mut c = Box::pin(b.wait());
    assert!(poll_once(c.as_mut()).is_pending());
    assert_eq!(b.try_wait().map(|r| r.index()), Ok(2));
    let Poll::Ready(rw) = poll_once(w.as_mut()) else {
        panic!("w not released")
    };
    let Poll::Ready(rc) = poll_once(c.as_mut()) else {
        panic!("c not released")
    };
    // Indices are 0..3 with no gap and no duplicate, the withdrawn one
    // never got one.
    assert_eq!(rw.unwrap().index(), 0);
    assert_eq!(rc.unwrap().index(), 1);
    assert_eq!(b.n_waiting(), 0);
}

#[test]
fn dropped_after_release_changes_nothing() {
    let b = Barrier::new(2);
    let mut a = Box::pin(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    b.wait().block().unwrap(); // completes the round
    drop(a); // released but never polled again: nothing to undo
    assert_eq!(b.n_waiting(), 0);
    assert!(!b.is_broken());
    let mut x = Box::pin(b.wait());
    assert!(poll_once(x.as_mut()).is_pending());
    assert_eq!(b.n_waiting(), 1);
}

#[test]
fn timed_out_thread_withdraws() {
    let b = Barrier::new(2);
    let t0 = Instant::now();
    assert!(b.wait().block_for(Duration::from_millis(20)).is_err());
    assert!(t0.elapsed() >= Duration::from_millis(20));
    assert!(b.wait().block_until(Instant::now()).is_err());
    assert_eq!(b.n_waiting(), 0);
    assert!(!b.is_broken());
    // Still works.
    std::thread::scope(|s| {
        let h = s.spawn(|| b.wait().block().unwrap());
        let r = b.wait().block().unwrap();
        check_round(2, vec![r, h.join().unwrap()]);
    });
}

#[test]
fn task_cancelled_by_tokio_timeout_withdraws() {
    let b = Arc::new(Barrier::new(2));
    let rt = rt();
    rt.block_on(async {
        assert!(
            tokio::time::timeout(Duration::from_millis(10), b.wait())
                .await
                .is_err()
        );
    });
    assert_eq!(b.n_waiting(), 0);
    let t = {
        let b = b.clone();
        rt.spawn(async move { b.wait().await.unwrap() })
    };
    let r = b.wait().block().unwrap();
    check_round(2, vec![r, rt.block_on(t).unwrap()]);
}

#[test]
fn abort_breaks_until_reset() {
    let b = Arc::new(Barrier::new(3));
    let rt = rt();
    let task = {
        let b = b.clone();
        rt.spawn(async move { b.wait().await })
    };
    let th = {
        let b = b.clone();
        std::thread::spawn(move || b.wait().block())
    };
    eventually("two waiting", || b.n_waiting() == 2);
    b.abort();
    assert_eq!(rt.block_on(task).unwrap(), Err(BrokenBarrier));
    assert_eq!(th.join().unwrap(), Err(BrokenBarrier));
    assert!(b.is_broken());
    assert_eq!(b.n_waiting(), 0);
    assert_eq!(b.wait().block(), Err(BrokenBarrier));
    assert_eq!(rt.block_on(b.wait()), Err(BrokenBarrier));
    assert_eq!(
        b.wait().block_for(Duration::from_millis(1)),
        Err(BarrierTimeoutError::Broken)
    );
    assert_eq!(b.try_wait(), Err(TryWaitError::Broken));
    assert!(format!("{b:?}").contains("broken: true"));
    b.reset();
    assert!(!b.is_broken());
    std::thread::scope(|s| {
        let h1 = s.spawn(|| b.wait().block().unwrap());
        let h2 = s.spawn(|| b.wait().block().unwrap());
        let r = rt.block_on(b.wait()).unwrap();
        check_round(3, vec![r, h1.join().unwrap(), h2.join().unwrap()]);
    });
}

#[test]
fn reset_wakes_waiters_broken_and_empties() {
    let b = Arc::new(Barrier::new(2));
    let th = {
        let b = b.clone();
        std::thread::spawn(move || b.wait().block())
    };
    eventually("one waiting", || b.n_waiting() == 1);
    b.reset();
    assert_eq!(th.join().unwrap(), Err(BrokenBarrier));
    assert!(!b.is_broken());
    assert_eq!(b.n_waiting(), 0);
    let mut a = Box::pin(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert_eq!(b.try_wait().unwrap().index(), 1);
    assert!(poll_once(a.as_mut()).is_ready());
}

#[test]
fn try_wait_never_arrives_unless_it_completes() {
    let b = Barrier::new(2);
    assert_eq!(b.try_wait(), Err(TryWaitError::WouldBlock));
    assert_eq!(b.n_waiting(), 0);
    assert!(!TryWaitError::WouldBlock.to_string().is_empty());
}

/// A timed wait racing the arrival that would complete it: either both pass
/// (with indices 0 and 1) or the timed one withdrew and the other times out
/// too; never one without the other, never a leftover arrival.
#[test]
fn timeouts_racing_the_last_arrival() {
    let b = Arc::new(Barrier::new(2));
    let mut passed = 0;
    for i in 0..300 {
        let h = {
            let b = b.clone();
            std::thread::spawn(move || b.wait().block_for(Duration::from_micros(40)))
        };
        if i % 3 == 0 {
            std::thread::sleep(Duration::from_micros(30));
        }
        let mine = b.wait().block_for(Duration::from_micros(40));
        let theirs = h.join().unwrap();
        match (mine, theirs) {
            (Ok(m), Ok(t)) => {
                check_round(2, vec![m, t]);
                passed += 1;
            }
            (Err(_), Err(_)) => {}
            (m, t) => panic!("one passed alone: {m:?} / {t:?}"),
        }
        assert_eq!(b.n_waiting(), 0);
        assert!(!b.is_broken());
    }
    let _ = passed;
}

#[test]
fn debug_shows_state() {
    let b = Barrier::new(3);
    let mut a = Box::pin(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert_eq!(format!("{b:?}"), "Barrier { parties: 3, waiting: 1 }");
    assert!(format!("{a:?}").contains("BarrierWait"));
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Barrier>();
    send_sync::<dualsync::BarrierWait<'static>>();
}
