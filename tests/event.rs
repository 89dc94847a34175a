//! Event: every mode (`.await`, `.block()`, `.block_for()`, `.block_until()`,
//! `try_wait`), threads and tasks mixed, set/clear generation semantics,
//! cancellation, timeouts racing `set`, and the C ABI (misuse included).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;
use dualsync::{Event, Timeout};

mod common;
use common::{counting, rt, until_waiting};

#[test]
fn flag_basics_debug_and_size() {
    let ev = Event::new();
    assert!(!ev.is_set());
    assert!(!ev.try_wait());
    assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 0 }");
    ev.set();
    ev.set(); // idempotent
    assert!(ev.is_set() && ev.try_wait());
    assert_eq!(format!("{ev:?}"), "Event { set: true, waiters: 0 }");
    let st = ev.statistics();
    assert!(st.set);
    assert_eq!(st.waiting, 0);
    ev.clear();
    assert!(!ev.is_set());
    assert!(std::mem::size_of::<Event>() <= 16);
    assert!(!Event::default().is_set());
}

#[test]
fn wait_returns_at_once_when_set_in_every_mode() {
    let ev = Event::new();
    ev.set();
    ev.wait().block();
    assert_eq!(ev.wait().block_for(Duration::ZERO), Ok(()));
    assert_eq!(ev.wait().block_until(Instant::now()), Ok(()));
    futures::executor::block_on(ev.wait());
    smol::block_on(ev.wait());
    let mut f = pin!(ev.wait());
    assert_eq!(
        f.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(())
    );
}

#[test]
fn timed_waits_time_out_and_leave_nothing_queued() {
    let ev = Event::new();
    let e: Timeout = ev.wait().block_for(Duration::ZERO).unwrap_err();
    assert_eq!(e.to_string(), "the operation timed out");
    let t0 = Instant::now();
    assert!(ev.wait().block_for(Duration::from_millis(20)).is_err());
    assert!(t0.elapsed() >= Duration::from_millis(20));
    assert!(
        ev.wait()
            .block_until(Instant::now() + Duration::from_millis(5))
            .is_err()
    );
    assert_eq!(ev.statistics().waiting, 0);
    // The event still works afterwards.
    ev.set();
    ev.wait().block();
}

#[test]
fn threads_and_tasks_woken_by_one_set() {
    let ev = Arc::new(Event::new());
    let rt = rt();
    let done = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for _ in 0..3 {
        let (ev, done) = (ev.clone(), done.clone());
        threads.push(thread::spawn(move || {
            ev.wait().block();
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (ev, done) = (ev.clone(), done.clone());
        tasks.push(rt.spawn(async move {
            ev.wait().await;
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    until_waiting(&ev, 6);
    assert_eq!(done.load(Ordering::SeqCst), 0);
    ev.set();
    for t in threads {
        t.join().unwrap();
    }
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 6);
}

#[test]
fn set_then_clear_still_wakes_everyone_waiting_but_not_latecomers() {
    let ev = Arc::new(Event::new());
    let rt = rt();
    let th = {
        let ev = ev.clone();
        thread::spawn(move || ev.wait().block())
    };
    let task = {
        let ev = ev.clone();
        rt.spawn(async move { ev.wait().await })
    };
    until_waiting(&ev, 2);
    ev.set();
    ev.clear();
    th.join().unwrap();
    rt.block_on(task).unwrap();
    // Arrived after the clear: waits for the next set.
    assert!(ev.wait().block_for(Duration::from_millis(10)).is_err());
    let late = {
        let ev = ev.clone();
        thread::spawn(move || ev.wait().block())
    };
    until_waiting(&ev, 1);
    ev.set();
    late.join().unwrap();
}

#[test]
fn set_clear_with_a_pending_future_that_is_polled_later() {
    let ev = Event::new();
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(ev.wait());
    assert!(f.as_mut().poll(&mut cx).is_pending());
    ev.set();
    ev.clear();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    // It was waiting when set() ran: it completes although the flag is down.
    assert!(f.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn cancelled_waits_leave_no_trace() {
    let ev = Event::new();
    {
        let mut f = pin!(ev.wait());
        assert!(
            f.as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
        assert_eq!(ev.statistics().waiting, 1);
    }
    assert_eq!(ev.statistics().waiting, 0);
    // Dropped after being woken, before being polled again.
    {
        let mut f = pin!(ev.wait());
        assert!(
            f.as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
        ev.set();
    }
    assert_eq!(format!("{ev:?}"), "Event { set: true, waiters: 0 }");
    // Dropped without being polled at all.
    drop(ev.wait());
    assert_eq!(ev.statistics().waiting, 0);
}

#[test]
fn repolled_with_a_new_waker_wakes_the_new_one() {
    let ev = Event::new();
    let (c1, w1) = counting();
    let (c2, w2) = counting();
    let mut f = pin!(ev.wait());
    assert!(f.as_mut().poll(&mut Context::from_waker(&w1)).is_pending());
    assert!(f.as_mut().poll(&mut Context::from_waker(&w2)).is_pending());
    assert_eq!(ev.statistics().waiting, 1);
    ev.set();
    assert_eq!(c1.0.load(Ordering::SeqCst), 0);
    assert_eq!(c2.0.load(Ordering::SeqCst), 1);
    assert!(f.as_mut().poll(&mut Context::from_waker(&w2)).is_ready());
}

#[test]
fn tokio_timeout_cancels_an_async_wait() {
    let ev = Arc::new(Event::new());
    let rt = rt();
    rt.block_on(async {
        let r = tokio::time::timeout(Duration::from_millis(10), ev.wait()).await;
        assert!(r.is_err());
    });
    assert_eq!(ev.statistics().waiting, 0);
}

#[test]
fn mixed_ping_pong_thread_and_task() {
    let ping = Arc::new(Event::new());
    let pong = Arc::new(Event::new());
    let rt = rt();
    let task = {
        let (ping, pong) = (ping.clone(), pong.clone());
        rt.spawn(async move {
            for _ in 0..500 {
                ping.wait().await;
                ping.clear();
                pong.set();
            }
        })
    };
    for _ in 0..500 {
        ping.set();
        pong.wait().block();
        pong.clear();
    }
    rt.block_on(task).unwrap();
}

#[test]
fn smol_tasks_and_threads_share_an_event() {
    let ev = Arc::new(Event::new());
    let th = {
        let ev = ev.clone();
        thread::spawn(move || ev.wait().block())
    };
    let ex = smol::Executor::new();
    let task = ex.spawn({
        let ev = ev.clone();
        async move { ev.wait().await }
    });
    let setter = {
        let ev = ev.clone();
        thread::spawn(move || {
            until_waiting(&ev, 2);
            ev.set();
        })
    };
    smol::block_on(ex.run(task));
    th.join().unwrap();
    setter.join().unwrap();
}

#[test]
fn timeouts_racing_set_never_strand_a_waiter() {
    for round in 0..200 {
        let ev = Arc::new(Event::new());
        let n = 4;
        let start = Arc::new(Barrier::new(n + 1));
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let (ev, start) = (ev.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    if i % 2 == 0 {
                        let _ = ev.wait().block_for(Duration::from_micros(50 * (round % 5)));
                    } else {
                        ev.wait().block();
                    }
                })
            })
            .collect();
        start.wait();
        ev.set();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(ev.statistics().waiting, 0);
        // The WAITERS bit was left clear: after a clear, a timed wait times
        // out and a set wakes a new waiter.
        ev.clear();
        assert!(ev.wait().block_for(Duration::ZERO).is_err());
    }
}

// ------------------------------------------------------------------ C ABI

#[derive(Clone, Copy)]
struct H(*mut dualsync_event_t);
// SAFETY: the C event is thread-safe; tests free it after joining users.
unsafe impl Send for H {}

#[test]
fn c_abi_event() {
    let h = H(dualsync_event_new());
    assert!(!h.0.is_null());
    // SAFETY: `h` is live until the free at the end; NULL is accepted.
    unsafe {
        let mut out = true;
        assert_eq!(dualsync_event_is_set(h.0, &mut out), DUALSYNC_OK);
        assert!(!out);
        assert_eq!(dualsync_event_try_wait(h.0), DUALSYNC_WOULD_BLOCK);
        assert_eq!(dualsync_event_wait_timeout(h.0, 0), DUALSYNC_WOULD_BLOCK);
        assert_eq!(
            dualsync_event_wait_timeout(h.0, 1_000_000),
            DUALSYNC_TIMED_OUT
        );
        // Misuse.
        assert_eq!(
            dualsync_event_is_set(h.0, std::ptr::null_mut()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_event_set(std::ptr::null()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_event_clear(std::ptr::null()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_event_wait(std::ptr::null()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_event_try_wait(std::ptr::null()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_event_wait_timeout(std::ptr::null(), 5),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(dualsync_event_free(std::ptr::null_mut()), DUALSYNC_OK);

        // A C-style thread waits; freeing now is refused.
        let t = thread::spawn(move || {
            let h = h;
            dualsync_event_wait(h.0)
        });
        until_waiting((*h.0).event(), 1);
        assert_eq!(dualsync_event_free(h.0), DUALSYNC_BUSY);
        assert_eq!(dualsync_event_set(h.0), DUALSYNC_OK);
        assert_eq!(t.join().unwrap(), DUALSYNC_OK);
        assert_eq!(dualsync_event_is_set(h.0, &mut out), DUALSYNC_OK);
        assert!(out);
        assert_eq!(dualsync_event_try_wait(h.0), DUALSYNC_OK);
        assert_eq!(dualsync_event_wait_timeout(h.0, 0), DUALSYNC_OK);
        assert_eq!(dualsync_event_wait_timeout(h.0, u64::MAX), DUALSYNC_OK);
        assert_eq!(dualsync_event_clear(h.0), DUALSYNC_OK);
        assert_eq!(dualsync_event_try_wait(h.0), DUALSYNC_WOULD_BLOCK);
        assert_eq!(dualsync_event_free(h.0), DUALSYNC_OK);
    }
}
