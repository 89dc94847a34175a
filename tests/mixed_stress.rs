//! Stress: threads, tokio tasks and smol tasks hammer one mutex while some of
//! them time out or are cancelled at random points; the total must be exact,
//! the lock never lost and the queue empty at the end. Plus a liveness check
//! of the barging bound: a waiter is never starved by a tight re-locker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use dualsync::Mutex;

mod common;
use common::{new_mutex, rt, within};

/// A tiny deterministic PRNG (xorshift), one per worker.
fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

fn stress(fair: bool) {
    const ROUNDS: u64 = 3000;
    let m = Arc::new(new_mutex(fair, 0u64));
    let expected = Arc::new(AtomicU64::new(0));
    let rt = rt();

    let threads: Vec<_> = (0..3u64)
        .map(|k| {
            let (m, expected) = (m.clone(), expected.clone());
            thread::spawn(move || {
                let mut r = rng(k + 1);
                for _ in 0..ROUNDS {
                    let got = match r() % 4 {
                        0 => Some(m.lock().block()),
                        1 => m.lock().block_for(Duration::from_micros(r() % 200)).ok(),
                        2 => m.try_lock(),
                        _ => m.lock().block_for(Duration::ZERO).ok(),
                    };
                    if let Some(mut g) = got {
                        *g += 1;
                        expected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();

    let tokio_tasks: Vec<_> = (0..4u64)
        .map(|k| {
            let (m, expected) = (m.clone(), expected.clone());
            rt.spawn(async move {
                let mut r = rng(100 + k);
                for _ in 0..ROUNDS {
                    if r().is_multiple_of(3) {
                        // Cancelled at the await point by a short timer.
                        let t = Duration::from_micros(r() % 300);
                        if let Ok(mut g) = tokio::time::timeout(t, m.lock()).await {
                            *g += 1;
                            expected.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        let mut g = m.lock_arc().await;
                        *g += 1;
                        expected.fetch_add(1, Ordering::Relaxed);
                        drop(g);
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();

    let smol_side = {
        let (m, expected) = (m.clone(), expected.clone());
        thread::spawn(move || {
            smol::block_on(async {
                let mut r = rng(7);
                for _ in 0..ROUNDS {
                    let lock = m.lock();
                    if r().is_multiple_of(3) {
                        // Polled a little, then dropped (or completed).
                        let timer = smol::Timer::after(Duration::from_micros(r() % 300));
                        let res = smol::future::or(async { Some(lock.await) }, async {
                            timer.await;
                            None
                        })
                        .await;
                        if let Some(mut g) = res {
                            *g += 1;
                            expected.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        *lock.await += 1;
                        expected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
    };

    for t in threads {
        t.join().unwrap();
    }
    smol_side.join().unwrap();
    rt.block_on(async {
        for t in tokio_tasks {
            t.await.unwrap();
        }
    });
    let g = m
        .lock()
        .block_for(Duration::from_secs(10))
        .expect("lock lost");
    assert_eq!(*g, expected.load(Ordering::Relaxed));
    drop(g);
    assert_eq!(m.statistics().waiting, 0);
    assert!(!m.is_locked());
}

#[test]
fn mixed_stress_default() {
    within(120, || stress(false));
}

#[test]
fn mixed_stress_fair() {
    within(120, || stress(true));
}

/// A thread re-locks in a tight loop (barging whenever it can); queued
/// waiters, a thread and a task, still get the lock: the barging bound
/// prevents starvation. A liveness check only (no timing is asserted).
#[test]
fn barging_cannot_starve_a_waiter() {
    within(60, || {
        let m = Arc::new(Mutex::new(0u64));
        let stop = Arc::new(AtomicBool::new(false));
        let barger = {
            let (m, stop) = (m.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    *m.lock().block() += 1;
                }
            })
        };
        for _ in 0..50 {
            let m2 = m.clone();
            let t = thread::spawn(move || *m2.lock().block() += 1);
            futures::executor::block_on(async { *m.lock().await += 1 });
            t.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        barger.join().unwrap();
    });
}
