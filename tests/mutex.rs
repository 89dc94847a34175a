//! Mutex: every mode (`.await` on tokio and on a second executor, `.block()`,
//! `.block_for()`, `.block_until()`, `try_lock`, owned guards moved between
//! threads and tasks), threads and tasks mixed on one mutex, FIFO order,
//! timeouts, cancellation at every await point, panics, thread-local
//! destructors, blocking inside a runtime, re-entrant wakers, introspection.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread;
use std::time::{Duration, Instant};

use dualsync::{Lock, LockArc, Mutex, MutexGuard, OwnedMutexGuard, Timeout};

mod common;
use common::{counting, new_mutex, rt, until_waiting, within};

/// Data whose read-modify-write is not atomic and that notices overlap:
/// two holders at once fail the test even if the total comes out right.
#[derive(Default)]
struct Checked {
    inside: AtomicBool,
    n: u64,
}
impl Checked {
    fn bump(&mut self) {
        assert!(
            !self.inside.swap(true, Ordering::SeqCst),
            "two holders at once"
        );
        let v = self.n;
        std::hint::black_box(&v);
        self.n = v + 1;
        self.inside.store(false, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------- basics

#[test]
fn sizes_and_auto_traits() {
    assert!(size_of::<Mutex<()>>() <= 16, "{}", size_of::<Mutex<()>>());
    let m = Mutex::new(());
    let op = m.lock();
    assert!(size_of_val(&op) <= 48, "{}", size_of_val(&op));
    drop(op);

    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Mutex<Cell<u32>>>();
    sync::<Mutex<Cell<u32>>>();
    send::<MutexGuard<'static, u32>>();
    sync::<MutexGuard<'static, u32>>();
    send::<MutexGuard<'static, Cell<u32>>>();
    send::<OwnedMutexGuard<u32>>();
    sync::<OwnedMutexGuard<u32>>();
    send::<OwnedMutexGuard<Cell<u32>>>();
    send::<Lock<'static, u32>>();
    sync::<Lock<'static, u32>>();
    send::<LockArc<u32>>();
    send::<Timeout>();
    sync::<Timeout>();
}

#[test]
fn try_lock_get_mut_into_inner_default_from() {
    let mut m = Mutex::new(vec![1]);
    m.get_mut().push(2);
    {
        let mut g = m.try_lock().expect("free");
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        g.push(3);
        assert_eq!(MutexGuard::mutex(&g) as *const _, &m as *const _);
        MutexGuard::unlock(g);
    }
    assert!(!m.is_locked());
    assert_eq!(m.into_inner(), [1, 2, 3]);

    let d: Mutex<u8> = Mutex::default();
    assert_eq!(*d.try_lock().unwrap(), 0);
    let f = Mutex::from(7u8);
    assert!(!f.is_fair());
    assert!(Mutex::new_fair(()).is_fair());

    let a = Arc::new(Mutex::new(5));
    let g = a.try_lock_arc().unwrap();
    assert!(a.try_lock_arc().is_none());
    assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &a));
    OwnedMutexGuard::unlock(g);
    assert!(a.try_lock().is_some());

    // force_unlock after forgetting a guard.
    std::mem::forget(a.try_lock().unwrap());
    assert!(a.is_locked());
    // SAFETY: locked, and its guard was forgotten.
    unsafe { a.force_unlock() };
    assert!(!a.is_locked());
}

#[test]
fn debug_and_statistics() {
    let m = Arc::new(Mutex::new(1));
    assert_eq!(format!("{m:?}"), "Mutex { locked: false, waiters: 0, .. }");
    let st = m.statistics();
    assert!(!st.locked && !st.fair);
    assert_eq!(st.waiting, 0);
    let g = m.try_lock().unwrap();
    assert_eq!(format!("{g:?}"), "1");
    assert_eq!(format!("{g}"), "1");
    // One task and one thread waiting.
    let (_c, w) = counting();
    let mut cx = Context::from_waker(&w);
    let mut fut = pin!(m.lock());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    let m2 = m.clone();
    let t = thread::spawn(move || *m2.lock().block() += 1);
    until_waiting(&m, 2);
    assert_eq!(format!("{m:?}"), "Mutex { locked: true, waiters: 2, .. }");
    let st = m.statistics();
    assert!(st.locked);
    assert_eq!(st.waiting, 2);
    drop(g);
    // The task is first: take its guard, then let the thread in.
    let g = loop {
        if let Poll::Ready(g) = fut.as_mut().poll(&mut cx) {
            break g;
        }
        thread::yield_now();
    };
    drop(g);
    t.join().unwrap();
    assert_eq!(*m.try_lock().unwrap(), 2);

    let f = Mutex::new_fair(());
    let _g = f.try_lock().unwrap();
    assert_eq!(
        format!("{f:?}"),
        "Mutex { locked: true, waiters: 0, fair: true, .. }"
    );
    assert!(f.statistics().fair);
}

// ---------------------------------------------------------------- every mode

const N: u64 = 300;

#[test]
fn await_on_tokio_multi_thread() {
    within(60, || {
        let m = Arc::new(Mutex::new(Checked::default()));
        rt().block_on(async {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    let m = m.clone();
                    tokio::spawn(async move {
                        for i in 0..N {
                            m.lock().await.bump();
                            if i % 16 == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        assert_eq!(m.try_lock().unwrap().n, 8 * N);
        assert_eq!(m.statistics().waiting, 0);
    });
}

#[test]
fn await_on_smol_and_futures_executor() {
    within(60, || {
        let m = Arc::new(Mutex::new(Checked::default()));
        let ex = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::unbounded::<()>();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let ex = ex.clone();
                let stopped = stopped.clone();
                thread::spawn(move || smol::block_on(ex.run(stopped.recv())))
            })
            .collect();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                ex.spawn(async move {
                    for _ in 0..N {
                        m.lock().await.bump();
                        smol::future::yield_now().await;
                    }
                })
            })
            .collect();
        // futures::executor on this thread, competing with the smol tasks.
        futures::executor::block_on(async {
            for _ in 0..N {
                let mut g = m.lock_arc().await;
                g.bump();
            }
        });
        smol::block_on(async {
            for t in tasks {
                t.await;
            }
        });
        drop(stop);
        for w in workers {
            let _ = w.join().unwrap();
        }
        assert_eq!(m.try_lock().unwrap().n, 5 * N);
    });
}

#[test]
fn block_threads_and_every_timed_form() {
    within(60, || {
        let m = Arc::new(Mutex::new(Checked::default()));
        let hs: Vec<_> = (0..4)
            .map(|k| {
                let m = m.clone();
                thread::spawn(move || {
                    for i in 0..N {
                        match (k + i) % 4 {
                            0 => m.lock().block().bump(),
                            1 => m.lock().block_for(Duration::from_secs(30)).unwrap().bump(),
                            2 => m
                                .lock()
                                .block_until(Instant::now() + Duration::from_secs(30))
                                .unwrap()
                                .bump(),
                            _ => m.lock_arc().block().bump(),
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(m.try_lock().unwrap().n, 4 * N);
    });
}

#[test]
fn threads_and_tasks_on_one_mutex_exact_total() {
    for fair in [false, true] {
        within(90, move || {
            let m = Arc::new(new_mutex(fair, Checked::default()));
            let rt = rt();
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let m = m.clone();
                    rt.spawn(async move {
                        for _ in 0..N {
                            m.lock().await.bump();
                        }
                    })
                })
                .collect();
            let threads: Vec<_> = (0..3)
                .map(|k| {
                    let m = m.clone();
                    thread::spawn(move || {
                        for _ in 0..N {
                            if k == 0 {
                                m.lock().block_for(Duration::from_secs(30)).unwrap().bump();
                            } else {
                                m.lock().block().bump();
                            }
                        }
                    })
                })
                .collect();
            let m2 = m.clone();
            let smol_task = thread::spawn(move || {
                smol::block_on(async {
                    for _ in 0..N {
                        m2.lock().await.bump();
                    }
                })
            });
            for t in threads {
                t.join().unwrap();
            }
            smol_task.join().unwrap();
            rt.block_on(async {
                for t in tasks {
                    t.await.unwrap();
                }
            });
            assert_eq!(m.try_lock().unwrap().n, 8 * N);
            assert_eq!(m.statistics().waiting, 0);
        });
    }
}

// ---------------------------------------------------------------- owned guards

#[test]
fn owned_guard_taken_on_thread_released_in_task_and_back() {
    within(30, || {
        let m = Arc::new(Mutex::new(0u32));
        let rt = rt();
        // Thread takes it, a task releases it ("a callback releases the lock").
        let g = m.lock_arc().block();
        let (tx, rx) = tokio::sync::oneshot::channel::<OwnedMutexGuard<u32>>();
        let releaser = rt.spawn(async move {
            let mut g = rx.await.unwrap();
            *g += 1;
            drop(g);
        });
        let m2 = m.clone();
        let waiter = thread::spawn(move || *m2.lock().block() += 10);
        until_waiting(&m, 1);
        tx.send(g).ok().unwrap();
        rt.block_on(releaser).unwrap();
        waiter.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 11);

        // A task takes it, a thread releases it, a task was waiting.
        let (gtx, grx) = mpsc::channel::<OwnedMutexGuard<u32>>();
        let m3 = m.clone();
        rt.block_on(async move {
            let g = m3.lock_arc().await;
            gtx.send(g).unwrap();
        });
        assert!(m.is_locked());
        let m4 = m.clone();
        let task_waiter = rt.spawn(async move { *m4.lock().await += 100 });
        until_waiting(&m, 1);
        thread::spawn(move || {
            let mut g = grx.recv().unwrap();
            *g += 1000;
        })
        .join()
        .unwrap();
        rt.block_on(task_waiter).unwrap();
        assert_eq!(*m.try_lock().unwrap(), 1111);
    });
}

// ---------------------------------------------------------------- FIFO order

/// Queues `n` waiters one at a time (alternating threads and tasks, waiting
/// until each is queued before starting the next) behind a held lock, then
/// releases. Nobody barges (the holder never comes back, and each waiter
/// locks once), so the order of service must be exactly the arrival order,
/// in both modes.
fn fifo_order(fair: bool) {
    let n = 8;
    let m = Arc::new(new_mutex(fair, Vec::new()));
    let rt = rt();
    let held = m.lock().block();
    let mut threads = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..n {
        let m2 = m.clone();
        match i % 3 {
            0 => threads.push(thread::spawn(move || m2.lock().block().push(i))),
            1 => tasks.push(rt.spawn(async move { m2.lock().await.push(i) })),
            _ => threads.push(thread::spawn(move || {
                m2.lock()
                    .block_for(Duration::from_secs(30))
                    .unwrap()
                    .push(i)
            })),
        }
        until_waiting(&m, i + 1);
    }
    drop(held);
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*m.try_lock().unwrap(), (0..n).collect::<Vec<_>>());
}

#[test]
fn fifo_across_threads_and_tasks_fair() {
    within(60, || fifo_order(true));
}

#[test]
fn fifo_across_threads_and_tasks_default_mode_without_barging() {
    within(60, || fifo_order(false));
}

/// Strict mode: a release hands the lock to the head waiter directly, so a
/// `try_lock` right after a release with waiters always fails.
#[test]
fn fair_mode_never_lets_try_lock_barge() {
    within(30, || {
        let m = Arc::new(Mutex::new_fair(0u32));
        for round in 0..20 {
            let g = m.lock().block();
            let m2 = m.clone();
            let (go, wait_go) = mpsc::channel::<()>();
            let t = thread::spawn(move || {
                let mut g = m2.lock().block();
                *g += 1;
                wait_go.recv().unwrap(); // hold it until told
            });
            until_waiting(&m, 1);
            drop(g);
            // Handed to the waiter (which keeps it until `go`): the lock is
            // never free in between, so it is not ours to take.
            assert!(m.try_lock().is_none(), "round {round}: barged a fair mutex");
            go.send(()).unwrap();
            t.join().unwrap();
        }
        assert_eq!(*m.try_lock().unwrap(), 20);
    });
}

// ---------------------------------------------------------------- timeouts

#[test]
fn timeouts_zero_short_max_and_past_deadline() {
    within(30, || {
        let m = Arc::new(Mutex::new(0u32));
        // Free: every timed form succeeds at once, even with no time at all.
        drop(m.lock().block_for(Duration::ZERO).unwrap());
        drop(
            m.lock()
                .block_until(Instant::now() - Duration::from_millis(5))
                .unwrap(),
        );
        drop(m.lock().block_for(Duration::MAX).unwrap());

        let g = m.lock().block();
        let e: Timeout = m.lock().block_for(Duration::ZERO).map(drop).unwrap_err();
        assert_eq!(e.to_string(), "the operation timed out");
        let past = Instant::now() - Duration::from_secs(1);
        assert!(m.lock().block_until(past).is_err());
        let t0 = Instant::now();
        assert!(m.lock().block_for(Duration::from_millis(20)).is_err());
        assert!(t0.elapsed() >= Duration::from_millis(20));
        assert!(m.lock_arc().block_for(Duration::from_millis(1)).is_err());
        assert_eq!(
            m.statistics().waiting,
            0,
            "a timed-out waiter stayed queued"
        );
        assert!(m.is_locked());

        // Duration::MAX waits for as long as it takes.
        let m2 = m.clone();
        let t = thread::spawn(move || *m2.lock().block_for(Duration::MAX).unwrap() += 1);
        until_waiting(&m, 1);
        thread::sleep(Duration::from_millis(20));
        drop(g);
        t.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 1);
    });
}

/// A `block_for` whose deadline races the release, many times: whichever
/// wins, the lock is never lost and nobody stays queued.
#[test]
fn block_for_timing_out_while_release_races() {
    for fair in [false, true] {
        within(60, move || {
            let m = Arc::new(new_mutex(fair, 0u64));
            let mut wins = 0;
            for i in 0..300u64 {
                let g = m.lock().block();
                let m2 = m.clone();
                let racer = thread::spawn(move || {
                    m2.lock()
                        .block_for(Duration::from_micros(50 + i % 50))
                        .map(|mut g| *g += 1)
                        .is_ok()
                });
                // Release around the racer's deadline.
                let spin = Instant::now();
                while spin.elapsed() < Duration::from_micros(i % 120) {
                    std::hint::spin_loop();
                }
                drop(g);
                wins += u64::from(racer.join().unwrap());
                // The lock must be free again (a lost hand-off would keep it
                // locked forever) and the queue empty.
                let g = m
                    .lock()
                    .block_for(Duration::from_secs(10))
                    .expect("lock lost");
                assert_eq!(*g, wins);
                drop(g);
                assert_eq!(m.statistics().waiting, 0);
            }
        });
    }
}

// ---------------------------------------------------------------- cancellation

#[test]
fn dropping_a_pending_lock_future_leaves_no_trace() {
    let m = Mutex::new(0);
    let g = m.lock().block();
    let (c, w) = counting();
    let mut cx = Context::from_waker(&w);
    {
        let mut f = pin!(m.lock());
        assert!(f.as_mut().poll(&mut cx).is_pending());
        assert!(f.as_mut().poll(&mut cx).is_pending()); // re-poll: same place
        assert_eq!(m.statistics().waiting, 1);
    }
    assert_eq!(m.statistics().waiting, 0);
    {
        let a = Arc::new(Mutex::new(0));
        let _ga = a.try_lock().unwrap();
        let mut f = pin!(a.lock_arc());
        assert!(f.as_mut().poll(&mut cx).is_pending());
        assert_eq!(a.statistics().waiting, 1);
    }
    drop(g);
    assert!(!m.is_locked());
    assert_eq!(c.0.load(Ordering::SeqCst), 0, "a dropped waiter was woken");
    // Never polled at all: nothing happens either.
    drop(m.lock());
    assert!(m.try_lock().is_some());
}

/// The lock is handed to (fair) or a wake-up given to (default) a waiting
/// future that is then dropped without being polled: it must pass to the
/// next waiter, a thread.
#[test]
fn lock_handed_to_a_future_that_is_dropped_passes_on() {
    for fair in [true, false] {
        within(30, move || {
            let m = Arc::new(new_mutex(fair, 0));
            let g = m.lock().block();
            let (c, w) = counting();
            let mut cx = Context::from_waker(&w);
            let mut f = Box::pin(m.lock_arc());
            assert!(f.as_mut().poll(&mut cx).is_pending());
            let m2 = m.clone();
            let t = thread::spawn(move || *m2.lock().block() += 1);
            until_waiting(&m, 2);
            drop(g);
            assert_eq!(c.0.load(Ordering::SeqCst), 1, "head waiter not woken");
            if fair {
                // Handed over: still locked, owned by the unpolled future.
                assert!(m.is_locked());
                assert!(m.try_lock().is_none());
            }
            drop(f);
            t.join().unwrap();
            assert_eq!(*m.try_lock().unwrap(), 1);
            assert_eq!(m.statistics().waiting, 0);
        });
    }
}

/// Tokio tasks cancelled at their await point (aborted, or losing a
/// `select!` to a timer) while threads and other tasks keep locking.
#[test]
fn cancelled_tasks_under_contention_lose_nothing() {
    within(60, || {
        let m = Arc::new(Mutex::new(Checked::default()));
        let rt = rt();
        let done = Arc::new(AtomicUsize::new(0));
        let holders: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || {
                    for _ in 0..N {
                        let mut g = m.lock().block();
                        g.bump();
                        thread::sleep(Duration::from_micros(20));
                    }
                })
            })
            .collect();
        rt.block_on(async {
            let mut cancelled = Vec::new();
            for i in 0..100u64 {
                let m = m.clone();
                let done = done.clone();
                let h = tokio::spawn(async move {
                    tokio::select! {
                        mut g = m.lock() => { g.bump(); done.fetch_add(1, Ordering::SeqCst); }
                        _ = tokio::time::sleep(Duration::from_micros(10 + i)) => {}
                    }
                });
                if i % 3 == 0 {
                    h.abort();
                }
                cancelled.push(h);
            }
            for h in cancelled {
                let _ = h.await;
            }
        });
        for h in holders {
            h.join().unwrap();
        }
        let g = m
            .lock()
            .block_for(Duration::from_secs(10))
            .expect("lock lost");
        assert_eq!(g.n, 2 * N + done.load(Ordering::SeqCst) as u64);
        drop(g);
        assert_eq!(m.statistics().waiting, 0);
    });
}

// ---------------------------------------------------------------- panics, TLS, runtimes

#[test]
fn panic_in_critical_section_does_not_poison() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let r = thread::spawn(move || {
        let mut g = m2.lock().block();
        *g = 2;
        panic!("inside the lock");
    })
    .join();
    assert!(r.is_err());
    assert!(!m.is_locked());
    assert_eq!(*m.lock().block(), 2);

    let m3 = m.clone();
    let rt = rt();
    let r = rt.block_on(rt.spawn(async move {
        let mut g = m3.lock().await;
        *g = 3;
        panic!("inside the lock, in a task");
    }));
    assert!(r.is_err());
    assert_eq!(*m.try_lock().unwrap(), 3);
}

static TLS_MUTEX: Mutex<u32> = Mutex::new(0);

struct LocksOnDrop;
impl Drop for LocksOnDrop {
    fn drop(&mut self) {
        // Runs in a thread-local destructor, and has to wait.
        *TLS_MUTEX.lock().block() += 1;
        *TLS_MUTEX.lock().block_for(Duration::from_secs(10)).unwrap() += 1;
    }
}
thread_local! {
    static TLS: LocksOnDrop = const { LocksOnDrop };
}

#[test]
fn lock_from_a_thread_local_destructor() {
    within(30, || {
        let g = TLS_MUTEX.lock().block();
        let t = thread::spawn(|| TLS.with(|_| ()));
        until_waiting(&TLS_MUTEX, 1);
        drop(g);
        t.join().unwrap();
        assert_eq!(*TLS_MUTEX.try_lock().unwrap(), 2);
    });
}

#[test]
fn block_inside_a_tokio_worker_does_not_panic() {
    within(30, || {
        let m = Arc::new(Mutex::new(0));
        let g = m.lock_arc().block();
        let rt = rt();
        let m2 = m.clone();
        let h = rt.spawn(async move {
            // Blocks this worker thread (documented), does not panic.
            *m2.lock().block() += 1;
            *m2.lock().block_for(Duration::from_secs(5)).unwrap() += 1;
        });
        until_waiting(&m, 1);
        thread::spawn(move || drop(g)).join().unwrap();
        rt.block_on(h).unwrap();
        assert_eq!(*m.try_lock().unwrap(), 2);
    });
}

// ---------------------------------------------------------------- re-entrant wakers

/// A waker whose clone, wake and drop all call back into the mutex. If any
/// of them ran under the queue lock, the test would deadlock (and fail via
/// `within`).
struct Reentrant {
    m: Arc<Mutex<u32>>,
    calls: AtomicUsize,
    woken: AtomicUsize,
}

impl Reentrant {
    fn poke(&self) {
        let _ = self.m.is_locked();
        let _ = self.m.statistics();
        let _ = format!("{:?}", self.m);
        drop(self.m.try_lock());
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

static REENTRANT_VTABLE: RawWakerVTable = RawWakerVTable::new(
    |p| {
        // SAFETY: `p` came from `Arc::into_raw` of an `Arc<Reentrant>`.
        let r = unsafe { &*(p as *const Reentrant) };
        r.poke();
        // SAFETY: as above; one more strong count for the clone.
        unsafe { Arc::increment_strong_count(p as *const Reentrant) };
        RawWaker::new(p, &REENTRANT_VTABLE)
    },
    |p| {
        // SAFETY: as above; `wake` consumes this waker's count.
        let r = unsafe { Arc::from_raw(p as *const Reentrant) };
        r.poke();
        r.woken.fetch_add(1, Ordering::SeqCst);
    },
    |p| {
        // SAFETY: as above, without consuming.
        let r = unsafe { &*(p as *const Reentrant) };
        r.poke();
        r.woken.fetch_add(1, Ordering::SeqCst);
    },
    |p| {
        // SAFETY: as above; `drop` releases this waker's count.
        let r = unsafe { Arc::from_raw(p as *const Reentrant) };
        r.poke();
    },
);

fn reentrant_waker(r: &Arc<Reentrant>) -> Waker {
    let p = Arc::into_raw(r.clone()) as *const ();
    // SAFETY: the vtable upholds the RawWaker contract over an Arc count.
    unsafe { Waker::from_raw(RawWaker::new(p, &REENTRANT_VTABLE)) }
}

#[test]
fn reentrant_waker_does_not_deadlock() {
    for fair in [false, true] {
        within(30, move || {
            let m = Arc::new(new_mutex(fair, 0));
            let r = Arc::new(Reentrant {
                m: m.clone(),
                calls: AtomicUsize::new(0),
                woken: AtomicUsize::new(0),
            });
            let g = m.lock_arc().block();
            // Cancelled while queued: its stored waker is dropped.
            {
                let w = reentrant_waker(&r);
                let mut cx = Context::from_waker(&w);
                let mut f = pin!(m.lock());
                assert!(f.as_mut().poll(&mut cx).is_pending());
                // Re-poll with a different waker: the old one is dropped.
                let w2 = reentrant_waker(&r);
                let mut cx2 = Context::from_waker(&w2);
                assert!(f.as_mut().poll(&mut cx2).is_pending());
            }
            // Woken by a release from another thread.
            let w = reentrant_waker(&r);
            let mut cx = Context::from_waker(&w);
            let mut f = pin!(m.lock());
            assert!(f.as_mut().poll(&mut cx).is_pending());
            thread::spawn(move || drop(g)).join().unwrap();
            assert_eq!(r.woken.load(Ordering::SeqCst), 1);
            let got = loop {
                if let Poll::Ready(g) = f.as_mut().poll(&mut cx) {
                    break g;
                }
                thread::yield_now();
            };
            assert!(MutexGuard::mutex(&got).try_lock().is_none());
            drop(got);
            drop(w);
            assert!(r.calls.load(Ordering::SeqCst) >= 4);
            assert_eq!(Arc::strong_count(&r), 1, "a waker clone leaked");
        });
    }
}
