//! Async waits from C (issue 12, part 4): operations (`dualsync_op_t`)
//! started without blocking, announced through a file descriptor or a
//! callback, polled, cancelled. Driven through the C ABI directly.

use std::ffi::c_void;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::ptr::null_mut;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use dualsync::Semaphore;
use dualsync::ffi::dualsync_status::{self, *};
use dualsync::ffi::*;

/// A pointer that may cross threads (the C ABI is thread-safe).
struct P<T>(*mut T);
impl<T> Clone for P<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for P<T> {}
impl<T> P<T> {
    fn p(self) -> *mut T {
        self.0
    }
}
// SAFETY: handles and operations are thread-safe; every test keeps them
// alive until the threads using them are joined.
unsafe impl<T> Send for P<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for P<T> {}

fn item(n: usize) -> *mut c_void {
    std::ptr::without_provenance_mut(n)
}

fn get_start(q: *mut dualsync_queue_t) -> *mut dualsync_op_t {
    let mut op = null_mut();
    // SAFETY: `q` is live; `op` is a valid out pointer.
    let st = unsafe { dualsync_queue_get_start(q, -1, None, null_mut(), &mut op) };
    assert_eq!(st, DUALSYNC_OK);
    op
}

fn acquire_start(s: *mut dualsync_semaphore_t, n: usize) -> *mut dualsync_op_t {
    let mut op = null_mut();
    // SAFETY: `s` is live; `op` is a valid out pointer.
    let st = unsafe { dualsync_semaphore_acquire_start(s, n, -1, None, null_mut(), &mut op) };
    assert_eq!(st, DUALSYNC_OK);
    op
}

/// Polls a queue operation: its status and item.
fn poll_item(op: *mut dualsync_op_t) -> (dualsync_status, usize) {
    let mut out: *mut c_void = null_mut();
    // SAFETY: `op` is live; `out` valid.
    let st = unsafe { dualsync_op_poll(op, (&raw mut out).cast()) };
    (st, out as usize)
}

fn poll(op: *mut dualsync_op_t) -> dualsync_status {
    // SAFETY: `op` is live; a semaphore operation takes no item.
    unsafe { dualsync_op_poll(op, null_mut()) }
}

fn cancel(op: *mut dualsync_op_t) -> dualsync_status {
    // SAFETY: live.
    unsafe { dualsync_op_cancel(op) }
}

fn free(op: *mut dualsync_op_t) -> dualsync_status {
    // SAFETY: live, and not used after a successful free.
    unsafe { dualsync_op_free(op) }
}

#[test]
fn bad_arguments() {
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    let s = dualsync_semaphore_new(0, false);
    let mut op = null_mut();
    // SAFETY: NULL or live handles, valid or NULL out pointers.
    unsafe {
        assert_eq!(
            dualsync_queue_get_start(null_mut(), -1, None, null_mut(), &mut op),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_queue_get_start(q, -1, None, null_mut(), null_mut()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_queue_get_start(q, -7, None, null_mut(), &mut op),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_semaphore_acquire_start(s, usize::MAX, -1, None, null_mut(), &mut op),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert!(op.is_null(), "written only on success");
        assert_eq!(
            dualsync_op_poll(null_mut(), null_mut()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(dualsync_op_cancel(null_mut()), DUALSYNC_INVALID_ARGUMENT);
        assert_eq!(dualsync_op_free(null_mut()), DUALSYNC_OK);
    }
    // A queue get needs somewhere to put its item.
    let op = get_start(q);
    // SAFETY: live.
    assert_eq!(
        unsafe { dualsync_op_poll(op, null_mut()) },
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(free(op), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    unsafe {
        assert_eq!(dualsync_queue_free(q), DUALSYNC_OK);
        assert_eq!(dualsync_semaphore_free(s), DUALSYNC_OK);
    }
}

/// The primitive's `_free` is refused while an operation on it is pending,
/// and allowed once it completed, was cancelled or freed.
#[test]
fn free_refused_while_operations_pending() {
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    let s = dualsync_semaphore_new(1, true);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_try_acquire(s) }, DUALSYNC_OK);
    let g = get_start(q);
    let a = acquire_start(s, 1);
    // SAFETY: live handles.
    unsafe {
        assert_eq!(dualsync_queue_free(q), DUALSYNC_BUSY);
        assert_eq!(dualsync_semaphore_free(s), DUALSYNC_BUSY);
    }
    assert_eq!(poll_item(g).0, DUALSYNC_WOULD_BLOCK);
    assert_eq!(cancel(g), DUALSYNC_OK);
    assert_eq!(cancel(g), DUALSYNC_CANCELLED);
    assert_eq!(poll_item(g).0, DUALSYNC_CANCELLED);
    // SAFETY: live; the get no longer pins it... but the op is not freed:
    // the handle is free to go, the op keeps its own reference.
    assert_eq!(unsafe { dualsync_queue_free(q) }, DUALSYNC_OK);
    assert_eq!(free(g), DUALSYNC_OK);

    // Completed: the outcome must be taken before the op is freed, and
    // the primitive is no longer pinned by a completed op.
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_release(s, 1) }, DUALSYNC_OK);
    assert_eq!(poll(a), DUALSYNC_OK);
    assert_eq!(poll(a), DUALSYNC_DONE);
    assert_eq!(cancel(a), DUALSYNC_DONE);
    // SAFETY: live; the acquired permit goes back first.
    unsafe {
        assert_eq!(dualsync_semaphore_release(s, 1), DUALSYNC_OK);
        assert_eq!(dualsync_semaphore_free(s), DUALSYNC_OK);
    }
    assert_eq!(free(a), DUALSYNC_OK);

    // Freeing a pending op cancels it and unpins the handle.
    let s = dualsync_semaphore_new(0, false);
    let a = acquire_start(s, 3);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_free(s) }, DUALSYNC_BUSY);
    assert_eq!(free(a), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_semaphore_free(s) }, DUALSYNC_OK);
}

/// A completed op whose outcome was not taken refuses `_free`; a wait that
/// completes at once is announced like any other.
#[test]
fn immediate_completion_is_announced_and_kept() {
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_queue_put(q, item(5), 0) }, DUALSYNC_OK);
    let (mut r, w) = std::io::pipe().unwrap();
    let mut op = null_mut();
    // SAFETY: live; `w` stays open until the op is freed.
    let st = unsafe { dualsync_queue_get_start(q, w.as_raw_fd(), None, null_mut(), &mut op) };
    assert_eq!(st, DUALSYNC_OK);
    let mut buf = [0u8; 8];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(u64::from_ne_bytes(buf), 1);
    assert_eq!(free(op), DUALSYNC_BUSY, "the item would be lost");
    assert_eq!(cancel(op), DUALSYNC_DONE);
    assert_eq!(poll_item(op), (DUALSYNC_OK, 5));
    assert_eq!(free(op), DUALSYNC_OK);
    drop(w);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(q) }, DUALSYNC_OK);
}

/// Pass-on: an item (or permit) handed to an op that is then cancelled
/// before it was polled goes to the next waiter, here another op.
#[test]
fn cancel_after_hand_off_passes_on() {
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    let first = get_start(q);
    let second = get_start(q);
    // SAFETY: live. The item is handed to `first` (the head).
    assert_eq!(unsafe { dualsync_queue_put(q, item(9), 0) }, DUALSYNC_OK);
    assert_eq!(cancel(first), DUALSYNC_OK);
    assert_eq!(poll_item(second), (DUALSYNC_OK, 9));
    assert_eq!(free(first), DUALSYNC_OK);
    assert_eq!(free(second), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(q) }, DUALSYNC_OK);

    let s = dualsync_semaphore_new(0, false);
    let first = acquire_start(s, 1);
    let second = acquire_start(s, 1);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_release(s, 1) }, DUALSYNC_OK);
    assert_eq!(cancel(first), DUALSYNC_OK);
    assert_eq!(poll(second), DUALSYNC_OK);
    let mut avail = 9;
    // SAFETY: live; `avail` valid.
    assert_eq!(
        unsafe { dualsync_semaphore_available(s, &mut avail) },
        DUALSYNC_OK
    );
    assert_eq!(
        avail, 0,
        "the permit is the second op's, not lost, not doubled"
    );
    assert_eq!(free(first), DUALSYNC_OK);
    assert_eq!(free(second), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_semaphore_free(s) }, DUALSYNC_OK);
}

/// Cancel racing completion: a thread puts items while the main thread
/// starts gets and cancels them at once. Every item ends up exactly once
/// either with an op (cancel too late: `DUALSYNC_DONE`, then polled) or
/// still in the queue; none is lost or doubled.
#[test]
fn cancel_racing_completion_loses_nothing() {
    const N: usize = 3_000;
    let q = P(dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO));
    let putter = thread::spawn(move || {
        for i in 1..=N {
            // SAFETY: live until joined.
            assert_eq!(
                unsafe { dualsync_queue_put(q.p(), item(i), 0) },
                DUALSYNC_OK
            );
            if i % 64 == 0 {
                thread::yield_now();
            }
        }
    });
    let mut got = Vec::new();
    let mut too_late = 0;
    while !putter.is_finished() || got.len() < N {
        let op = get_start(q.p());
        match cancel(op) {
            DUALSYNC_OK => {}
            DUALSYNC_DONE => {
                too_late += 1;
                let (st, x) = poll_item(op);
                assert_eq!(st, DUALSYNC_OK);
                got.push(x);
            }
            other => panic!("cancel: {other:?}"),
        }
        assert_eq!(free(op), DUALSYNC_OK);
        // Drain what the cancelled ones left, now and then.
        if got.len() % 7 == 0 {
            let mut out = null_mut();
            // SAFETY: live; `out` valid.
            while unsafe { dualsync_queue_try_get(q.p(), &mut out) } == DUALSYNC_OK {
                got.push(out as usize);
            }
        }
        if putter.is_finished() {
            let mut out = null_mut();
            // SAFETY: live; `out` valid.
            while unsafe { dualsync_queue_try_get(q.p(), &mut out) } == DUALSYNC_OK {
                got.push(out as usize);
            }
        }
    }
    putter.join().unwrap();
    got.sort_unstable();
    assert_eq!(got, (1..=N).collect::<Vec<_>>());
    eprintln!("{too_late} of the cancels came too late");
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(q.p()) }, DUALSYNC_OK);
}

/// The same race for a semaphore: permits acquired by ops plus permits
/// left equal permits released.
#[test]
fn cancel_racing_release_loses_no_permit() {
    const N: usize = 3_000;
    let s = P(dualsync_semaphore_new(0, false));
    let releaser = thread::spawn(move || {
        for i in 0..N {
            // SAFETY: live until joined.
            assert_eq!(unsafe { dualsync_semaphore_release(s.p(), 1) }, DUALSYNC_OK);
            if i % 64 == 0 {
                thread::yield_now();
            }
        }
    });
    let mut acquired = 0;
    while !releaser.is_finished() {
        let op = acquire_start(s.p(), 1);
        match cancel(op) {
            DUALSYNC_OK => {}
            DUALSYNC_DONE => {
                assert_eq!(poll(op), DUALSYNC_OK);
                acquired += 1;
            }
            other => panic!("cancel: {other:?}"),
        }
        assert_eq!(free(op), DUALSYNC_OK);
    }
    releaser.join().unwrap();
    let mut avail = 0;
    // SAFETY: live; `avail` valid.
    assert_eq!(
        unsafe { dualsync_semaphore_available(s.p(), &mut avail) },
        DUALSYNC_OK
    );
    assert_eq!(acquired + avail, N);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_semaphore_free(s.p()) }, DUALSYNC_OK);
}

struct Counter {
    n: AtomicUsize,
}

unsafe extern "C" fn count(user_data: *mut c_void) {
    // SAFETY: `user_data` is the test's `Counter`, alive until the ops are
    // freed.
    unsafe { &*user_data.cast::<Counter>() }
        .n
        .fetch_add(1, Ordering::SeqCst);
}

/// An event loop thread waits on a pipe (the fd) for a queue op and a
/// callback for a semaphore op; C-style threads put, a tokio task
/// releases. After cancel and free, nothing is announced any more.
#[test]
fn event_loop_with_a_tokio_releaser() {
    const ITEMS: usize = 200;
    const PERMITS: usize = 20;
    let q = P(dualsync_queue_new(4, DUALSYNC_QUEUE_FIFO));
    let sem = Arc::new(Semaphore::new(0));
    let s = P(dualsync_semaphore_t::from_arc(sem.clone()));
    let counter = Box::new(Counter {
        n: AtomicUsize::new(0),
    });
    let ud = P((&raw const *counter).cast_mut().cast::<c_void>());
    let (mut r, w) = std::io::pipe().unwrap();
    let wfd = w.as_raw_fd();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let releaser = rt.spawn(async move {
        for _ in 0..PERMITS {
            tokio::time::sleep(Duration::from_micros(300)).await;
            sem.add_permits(1).unwrap();
        }
    });
    let putter = thread::spawn(move || {
        for i in 1..=ITEMS {
            // SAFETY: live until joined.
            assert_eq!(
                unsafe { dualsync_queue_put(q.p(), item(i), 0) },
                DUALSYNC_OK
            );
        }
    });

    let start_get = || {
        let mut op = null_mut();
        // SAFETY: live; the pipe stays open until every op is freed.
        let st = unsafe { dualsync_queue_get_start(q.p(), wfd, None, null_mut(), &mut op) };
        assert_eq!(st, DUALSYNC_OK);
        op
    };
    let start_acq = || {
        let mut op = null_mut();
        // SAFETY: live; `count` may run on any thread with `ud`, alive
        // until the end.
        let st =
            unsafe { dualsync_semaphore_acquire_start(s.p(), 1, -1, Some(count), ud.p(), &mut op) };
        assert_eq!(st, DUALSYNC_OK);
        op
    };
    let (mut g, mut a) = (start_get(), start_acq());
    let (mut items, mut sum, mut permits) = (0, 0, 0);
    let mut buf = [0u8; 8];
    while items < ITEMS || permits < PERMITS {
        // Callbacks seen before this turn's polls: one after it means news.
        let seen = counter.n.load(Ordering::SeqCst);
        // The loop sleeps on the pipe for the queue; the callback counts
        // for the semaphore (checked on each turn: a short read timeout
        // stands in for a second fd).
        loop {
            let (st, x) = poll_item(g);
            if st == DUALSYNC_WOULD_BLOCK {
                break;
            }
            assert_eq!(st, DUALSYNC_OK);
            items += 1;
            sum += x;
            assert_eq!(free(g), DUALSYNC_OK);
            g = start_get();
        }
        loop {
            let st = poll(a);
            if st == DUALSYNC_WOULD_BLOCK {
                break;
            }
            assert_eq!(st, DUALSYNC_OK);
            permits += 1;
            assert_eq!(free(a), DUALSYNC_OK);
            a = start_acq();
        }
        if items < ITEMS {
            r.read_exact(&mut buf).unwrap();
        } else if permits < PERMITS {
            // Only the semaphore is left: sleep until its callback runs.
            let end = std::time::Instant::now() + Duration::from_secs(10);
            while counter.n.load(Ordering::SeqCst) == seen {
                assert!(std::time::Instant::now() < end, "no callback in 10 s");
                thread::yield_now();
            }
        }
    }
    putter.join().unwrap();
    rt.block_on(releaser).unwrap();
    assert_eq!(sum, ITEMS * (ITEMS + 1) / 2);
    // Not one callback per permit: a poll may take a permit before the
    // announcement of its hand-off runs (which then finds the op freed).
    assert!(counter.n.load(Ordering::SeqCst) > 0);
    assert_eq!(cancel(g), DUALSYNC_OK);
    assert_eq!(cancel(a), DUALSYNC_OK);
    let before = counter.n.load(Ordering::SeqCst);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_release(s.p(), 5) }, DUALSYNC_OK);
    assert_eq!(
        counter.n.load(Ordering::SeqCst),
        before,
        "no announcement after cancel"
    );
    assert_eq!(free(g), DUALSYNC_OK);
    assert_eq!(free(a), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    unsafe {
        assert_eq!(dualsync_queue_free(q.p()), DUALSYNC_OK);
        assert_eq!(dualsync_semaphore_free(s.p()), DUALSYNC_OK);
    }
    drop(w);
}

/// A mutex lock as an operation: queued behind a C holder, announced on
/// the fd when unlocked, owned by the caller once polled; a lock handed to
/// a cancelled op passes on to the next one.
#[test]
fn mutex_lock_operation() {
    let m = P(dualsync_mutex_new(true));
    let (mut r, w) = std::io::pipe().unwrap();
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_lock(m.p()) }, DUALSYNC_OK);
    let start = || {
        let mut op = null_mut();
        // SAFETY: live; the pipe stays open until the ops are freed.
        let st =
            unsafe { dualsync_mutex_lock_start(m.p(), w.as_raw_fd(), None, null_mut(), &mut op) };
        assert_eq!(st, DUALSYNC_OK);
        op
    };
    let first = start();
    let second = start();
    assert_eq!(poll(first), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_free(m.p()) }, DUALSYNC_BUSY);
    // Unlocked from another thread: the lock goes to `first`, which is
    // cancelled before being polled: it passes on to `second`.
    thread::spawn(move || {
        // SAFETY: live until joined.
        assert_eq!(unsafe { dualsync_mutex_unlock(m.p()) }, DUALSYNC_OK);
    })
    .join()
    .unwrap();
    let mut buf = [0u8; 8];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(cancel(first), DUALSYNC_OK);
    assert_eq!(poll(second), DUALSYNC_OK);
    let mut locked = false;
    // SAFETY: live; `locked` valid.
    assert_eq!(
        unsafe { dualsync_mutex_is_locked(m.p(), &mut locked) },
        DUALSYNC_OK
    );
    assert!(locked, "the caller owns the lock");
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_unlock(m.p()) }, DUALSYNC_OK);
    assert_eq!(free(first), DUALSYNC_OK);
    assert_eq!(free(second), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_mutex_free(m.p()) }, DUALSYNC_OK);
}

/// An event wait as an operation, set by a tokio task through the Rust
/// view of the handle; announced through the callback.
#[test]
fn event_wait_operation() {
    let e = P(dualsync_event_new());
    let counter = Box::new(Counter {
        n: AtomicUsize::new(0),
    });
    let ud = (&raw const *counter).cast_mut().cast::<c_void>();
    let mut op = null_mut();
    // SAFETY: live; `count` may run with `ud` (alive) until the op is freed.
    let st = unsafe { dualsync_event_wait_start(e.p(), -1, Some(count), ud, &mut op) };
    assert_eq!(st, DUALSYNC_OK);
    assert_eq!(poll(op), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_event_free(e.p()) }, DUALSYNC_BUSY);
    // SAFETY: live until freed below.
    let ev = unsafe { &*e.p() }.event_arc();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async move { tokio::spawn(async move { ev.set() }).await.unwrap() });
    assert_eq!(counter.n.load(Ordering::SeqCst), 1);
    assert_eq!(poll(op), DUALSYNC_OK);
    assert_eq!(free(op), DUALSYNC_OK);
    // Already set: completes at start, announced there.
    let mut op = null_mut();
    // SAFETY: as above.
    let st = unsafe { dualsync_event_wait_start(e.p(), -1, Some(count), ud, &mut op) };
    assert_eq!(st, DUALSYNC_OK);
    assert_eq!(counter.n.load(Ordering::SeqCst), 2);
    assert_eq!(poll(op), DUALSYNC_OK);
    assert_eq!(free(op), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_event_free(e.p()) }, DUALSYNC_OK);
}

/// A queue put as an operation: waits while full; a cancelled put never
/// enqueues its item; shutdown ends a pending put with SHUT_DOWN.
#[test]
fn queue_put_operation() {
    let q = dualsync_queue_new(1, DUALSYNC_QUEUE_FIFO);
    let put = |x: usize| {
        let mut op = null_mut();
        // SAFETY: live; `op` valid.
        let st = unsafe { dualsync_queue_put_start(q, item(x), 0, -1, None, null_mut(), &mut op) };
        assert_eq!(st, DUALSYNC_OK);
        op
    };
    let a = put(1);
    assert_eq!(poll(a), DUALSYNC_OK, "room for one: at once");
    let b = put(2);
    let c = put(3);
    assert_eq!(poll(b), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_queue_free(q) }, DUALSYNC_BUSY);
    let mut out = null_mut();
    // SAFETY: live; `out` valid.
    assert_eq!(unsafe { dualsync_queue_try_get(q, &mut out) }, DUALSYNC_OK);
    assert_eq!(out as usize, 1);
    assert_eq!(poll(b), DUALSYNC_OK, "room made: the put went in");
    assert_eq!(poll(c), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_queue_shutdown(q, false) }, DUALSYNC_OK);
    assert_eq!(poll(c), DUALSYNC_SHUT_DOWN);
    let d = put(4);
    assert_eq!(poll(d), DUALSYNC_SHUT_DOWN);
    // SAFETY: live; `out` valid.
    assert_eq!(unsafe { dualsync_queue_try_get(q, &mut out) }, DUALSYNC_OK);
    assert_eq!(out as usize, 2, "only the completed puts were enqueued");
    for op in [a, b, c, d] {
        assert_eq!(free(op), DUALSYNC_OK);
    }
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(q) }, DUALSYNC_OK);

    // Cancel a pending put: the item is not enqueued.
    let q2 = dualsync_queue_new(1, DUALSYNC_QUEUE_PRIORITY);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_queue_put(q2, item(1), 5) }, DUALSYNC_OK);
    let mut op = null_mut();
    // SAFETY: live; `op` valid.
    let st = unsafe { dualsync_queue_put_start(q2, item(2), 0, -1, None, null_mut(), &mut op) };
    assert_eq!(st, DUALSYNC_OK);
    assert_eq!(cancel(op), DUALSYNC_OK);
    // SAFETY: live; `out` valid.
    unsafe {
        assert_eq!(dualsync_queue_try_get(q2, &mut out), DUALSYNC_OK);
        assert_eq!(out as usize, 1);
        assert_eq!(dualsync_queue_try_get(q2, &mut out), DUALSYNC_EMPTY);
    }
    assert_eq!(free(op), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(q2) }, DUALSYNC_OK);
}

/// A queue join as an operation: completes once every item is done.
#[test]
fn queue_join_operation() {
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_LIFO);
    let join = || {
        let mut op = null_mut();
        // SAFETY: live; `op` valid.
        let st = unsafe { dualsync_queue_join_start(q, -1, None, null_mut(), &mut op) };
        assert_eq!(st, DUALSYNC_OK);
        op
    };
    let idle = join();
    assert_eq!(poll(idle), DUALSYNC_OK, "nothing unfinished: at once");
    assert_eq!(free(idle), DUALSYNC_OK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_queue_put(q, item(1), 0) }, DUALSYNC_OK);
    let op = join();
    assert_eq!(poll(op), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_queue_free(q) }, DUALSYNC_BUSY);
    let mut out = null_mut();
    // SAFETY: live; `out` valid.
    unsafe {
        assert_eq!(dualsync_queue_try_get(q, &mut out), DUALSYNC_OK);
        assert_eq!(poll(op), DUALSYNC_WOULD_BLOCK, "taken, not done yet");
        assert_eq!(dualsync_queue_task_done(q), DUALSYNC_OK);
    }
    assert_eq!(poll(op), DUALSYNC_OK);
    assert_eq!(free(op), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(q) }, DUALSYNC_OK);
}

/// A limiter token as an operation, for a named borrower.
#[test]
fn limiter_acquire_operation() {
    let l = dualsync_limiter_new(1);
    let acquire = |b: usize| {
        let mut op = null_mut();
        // SAFETY: live; `op` valid.
        let st = unsafe { dualsync_limiter_acquire_start(l, b, -1, None, null_mut(), &mut op) };
        assert_eq!(st, DUALSYNC_OK);
        op
    };
    let a = acquire(1);
    assert_eq!(poll(a), DUALSYNC_OK, "a free token: at once");
    let again = acquire(1);
    assert_eq!(poll(again), DUALSYNC_ALREADY_BORROWED);
    let b = acquire(2);
    let c = acquire(3);
    assert_eq!(poll(b), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_limiter_free(l) }, DUALSYNC_BUSY);
    // SAFETY: live. Borrower 1 gives the token back: it goes to 2, which
    // is cancelled before it polls: on to 3.
    assert_eq!(unsafe { dualsync_limiter_release(l, 1) }, DUALSYNC_OK);
    assert_eq!(cancel(b), DUALSYNC_OK);
    assert_eq!(poll(c), DUALSYNC_OK);
    // SAFETY: live. The cancelled borrower holds nothing.
    assert_eq!(
        unsafe { dualsync_limiter_release(l, 2) },
        DUALSYNC_NOT_LOCKED
    );
    for op in [a, again, b, c] {
        assert_eq!(free(op), DUALSYNC_OK);
    }
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_limiter_release(l, 3) }, DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_limiter_free(l) }, DUALSYNC_OK);
}

/// Starts an operation with `start` (given `op_out`); it must succeed.
fn started(start: impl FnOnce(*mut *mut dualsync_op_t) -> dualsync_status) -> *mut dualsync_op_t {
    let mut op = null_mut();
    assert_eq!(start(&mut op), DUALSYNC_OK);
    op
}

/// Polls a barrier wait: its status and index.
fn poll_index(op: *mut dualsync_op_t) -> (dualsync_status, usize) {
    let mut index = usize::MAX;
    // SAFETY: `op` is live; `index` is a valid `size_t`.
    let st = unsafe { dualsync_op_poll(op, (&raw mut index).cast()) };
    (st, index)
}

/// What a getter writes (it must succeed).
fn get<T: Default>(getter: impl FnOnce(&mut T) -> dualsync_status) -> T {
    let mut v = T::default();
    assert_eq!(getter(&mut v), DUALSYNC_OK);
    v
}

/// A blocking `dualsync_barrier_wait` (as a C thread makes it): its index.
fn barrier_wait(b: P<dualsync_barrier_t>) -> usize {
    // SAFETY: live (until the threads that call this are joined); the out
    // pointer is valid.
    get(|index| unsafe { dualsync_barrier_wait(b.p(), index) })
}

fn barrier_waiting(b: P<dualsync_barrier_t>) -> usize {
    // SAFETY: live; the out pointer is valid.
    get(|n| unsafe { dualsync_barrier_n_waiting(b.p(), n) })
}

/// A barrier arrival as an operation: counted at once, completed by a C
/// thread's blocking wait with its index, announced on the fd; an arrival
/// that completes the round completes at start; a cancelled one is
/// withdrawn without breaking the barrier; an abort ends it BROKEN.
#[test]
fn barrier_wait_operation() {
    let b = P(dualsync_barrier_new(2));
    let (mut r, w) = std::io::pipe().unwrap();
    let wfd = w.as_raw_fd();
    // SAFETY (each start): live; the pipe stays open until the ops are freed.
    let start =
        || started(|op| unsafe { dualsync_barrier_wait_start(b.p(), wfd, None, null_mut(), op) });
    let op = start();
    assert_eq!(poll_index(op).0, DUALSYNC_WOULD_BLOCK);
    assert_eq!(barrier_waiting(b), 1, "the arrival counts at once");
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_barrier_free(b.p()) }, DUALSYNC_BUSY);
    // SAFETY: live; the index goes to a `size_t`, not NULL.
    assert_eq!(
        unsafe { dualsync_op_poll(op, null_mut()) },
        DUALSYNC_INVALID_ARGUMENT
    );
    let t = thread::spawn(move || barrier_wait(b));
    let mut buf = [0u8; 8];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(poll_index(op), (DUALSYNC_OK, 0));
    assert_eq!(
        t.join().unwrap(),
        1,
        "the thread completed the round: leader"
    );
    assert_eq!(poll_index(op).0, DUALSYNC_DONE);
    assert_eq!(free(op), DUALSYNC_OK);

    // The arrival that completes a round completes at start (announced).
    let t = thread::spawn(move || barrier_wait(b));
    common_until(|| barrier_waiting(b) == 1);
    let op = start();
    r.read_exact(&mut buf).unwrap();
    assert_eq!(cancel(op), DUALSYNC_DONE, "too late: the round is done");
    assert_eq!(poll_index(op), (DUALSYNC_OK, 1));
    assert_eq!(t.join().unwrap(), 0);
    assert_eq!(free(op), DUALSYNC_OK);

    // Cancelled alone: withdrawn, the barrier is not broken.
    let op = start();
    assert_eq!(cancel(op), DUALSYNC_OK);
    assert_eq!(barrier_waiting(b), 0);
    // SAFETY: live; the out pointer is valid.
    assert!(!get(|x| unsafe { dualsync_barrier_is_broken(b.p(), x) }));
    assert_eq!(poll_index(op).0, DUALSYNC_CANCELLED);
    assert_eq!(free(op), DUALSYNC_OK);

    // Aborted while pending: BROKEN, no index.
    let op = start();
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_barrier_abort(b.p()) }, DUALSYNC_OK);
    assert_eq!(poll_index(op), (DUALSYNC_BROKEN, usize::MAX));
    assert_eq!(free(op), DUALSYNC_OK);
    drop(w);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_barrier_free(b.p()) }, DUALSYNC_OK);
}

/// Waits (yielding) until `cond` holds; fails after 20 s.
fn common_until(cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(20), "never happened");
        thread::yield_now();
    }
}

/// Polls `op` a few times (while another thread may be completing it),
/// then cancels it if it did not complete; returns whether it did. The
/// cancel always withdraws: a pending op is only completed by a poll.
fn poll_then_cancel(op: *mut dualsync_op_t) -> bool {
    let done = (0..50).any(|_| match poll(op) {
        DUALSYNC_OK => true,
        DUALSYNC_WOULD_BLOCK => {
            std::hint::spin_loop();
            false
        }
        other => panic!("poll: {other:?}"),
    });
    if !done {
        assert_eq!(cancel(op), DUALSYNC_OK);
    }
    done
}

/// Cancel racing the round: a C thread arrives (blocking) while this
/// thread starts an arrival and cancels it at once. Either the cancel
/// withdrew the arrival (then this thread arrives again, blocking, to let
/// the other one go) or it came too late (`DUALSYNC_DONE`) and the index
/// is still there: every round hands out 0 and 1 exactly once.
#[test]
fn barrier_cancel_racing_the_round_loses_no_index() {
    const ROUNDS: usize = 2_000;
    let b = P(dualsync_barrier_new(2));
    let mut too_late = 0;
    for round in 0..ROUNDS {
        let t = thread::spawn(move || barrier_wait(b));
        if round % 8 == 0 {
            // Now and then the thread is surely first: the start completes
            // the round, and the cancel is surely too late.
            common_until(|| barrier_waiting(b) == 1);
        }
        // SAFETY: live.
        let op =
            started(|op| unsafe { dualsync_barrier_wait_start(b.p(), -1, None, null_mut(), op) });
        let mine = match cancel(op) {
            DUALSYNC_OK => barrier_wait(b),
            DUALSYNC_DONE => {
                too_late += 1;
                let (st, index) = poll_index(op);
                assert_eq!(st, DUALSYNC_OK);
                index
            }
            other => panic!("cancel: {other:?}"),
        };
        assert_eq!(free(op), DUALSYNC_OK);
        let theirs = t.join().unwrap();
        assert_eq!(mine + theirs, 1, "indices {mine} and {theirs}");
        assert_eq!(barrier_waiting(b), 0);
    }
    eprintln!("{too_late} of {ROUNDS} cancels came too late");
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_barrier_free(b.p()) }, DUALSYNC_OK);
}

fn rwlock_readers(l: P<dualsync_rwlock_t>) -> usize {
    // SAFETY: live; the out pointer is valid.
    get(|n| unsafe { dualsync_rwlock_n_readers(l.p(), n) })
}

/// Read and write locks as operations: readers queued behind a writer
/// enter together, a queued write op stops new readers, a read lock
/// handed to a cancelled op is released (the writer behind it goes in).
#[test]
fn rwlock_operations() {
    let l = P(dualsync_rwlock_new(true));
    // SAFETY (each start): live.
    let read =
        || started(|op| unsafe { dualsync_rwlock_read_start(l.p(), -1, None, null_mut(), op) });
    let write =
        || started(|op| unsafe { dualsync_rwlock_write_start(l.p(), -1, None, null_mut(), op) });
    // Free: both kinds complete at once.
    let r = read();
    assert_eq!(poll(r), DUALSYNC_OK);
    assert_eq!(rwlock_readers(l), 1);
    let w = write();
    assert_eq!(poll(w), DUALSYNC_WOULD_BLOCK, "a reader holds the lock");
    let r2 = read();
    assert_eq!(
        poll(r2),
        DUALSYNC_WOULD_BLOCK,
        "a queued writer stops readers"
    );
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_rwlock_free(l.p()) }, DUALSYNC_BUSY);
    // SAFETY: live. The writer goes in, then the reader behind it.
    assert_eq!(unsafe { dualsync_rwlock_read_unlock(l.p()) }, DUALSYNC_OK);
    assert_eq!(poll(w), DUALSYNC_OK);
    assert_eq!(poll(r2), DUALSYNC_WOULD_BLOCK);
    let r3 = read();
    let w2 = write();
    // SAFETY: live. Strict mode: the two readers are handed read locks.
    assert_eq!(unsafe { dualsync_rwlock_write_unlock(l.p()) }, DUALSYNC_OK);
    assert_eq!(rwlock_readers(l), 2, "handed to r2 and r3");
    // r2 is cancelled before it polls: its read lock is released.
    assert_eq!(cancel(r2), DUALSYNC_OK);
    assert_eq!(rwlock_readers(l), 1);
    assert_eq!(poll(r3), DUALSYNC_OK);
    assert_eq!(poll(w2), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live. The last reader leaves: the writer is handed the lock.
    assert_eq!(unsafe { dualsync_rwlock_read_unlock(l.p()) }, DUALSYNC_OK);
    assert_eq!(poll(w2), DUALSYNC_OK);
    // SAFETY: live.
    assert_eq!(
        unsafe { dualsync_rwlock_try_read(l.p()) },
        DUALSYNC_WOULD_BLOCK
    );
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_rwlock_write_unlock(l.p()) }, DUALSYNC_OK);
    for op in [r, w, r2, r3, w2] {
        assert_eq!(free(op), DUALSYNC_OK);
    }
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_rwlock_free(l.p()) }, DUALSYNC_OK);
}

/// Cancel racing the hand-off: a C thread releases the write lock while
/// this thread polls the read or write op queued for it once and, if it
/// was not complete yet, cancels it. The lock ends with the op (polled:
/// this thread holds it) or free (a lock handed to the cancelled op was
/// released): never held by nobody, never held twice.
#[test]
fn rwlock_cancel_racing_release_loses_no_lock() {
    const ROUNDS: usize = 2_000;
    for fair in [true, false] {
        let l = P(dualsync_rwlock_new(fair));
        let mut got = 0;
        for i in 0..ROUNDS {
            // SAFETY: live.
            assert_eq!(unsafe { dualsync_rwlock_write(l.p()) }, DUALSYNC_OK);
            let read = i % 2 == 0;
            let op = started(|op| {
                // SAFETY: live.
                unsafe {
                    if read {
                        dualsync_rwlock_read_start(l.p(), -1, None, null_mut(), op)
                    } else {
                        dualsync_rwlock_write_start(l.p(), -1, None, null_mut(), op)
                    }
                }
            });
            let t = thread::spawn(move || {
                // SAFETY: live until joined.
                assert_eq!(unsafe { dualsync_rwlock_write_unlock(l.p()) }, DUALSYNC_OK);
            });
            let mine = poll_then_cancel(op);
            t.join().unwrap();
            // SAFETY (the calls below): live.
            if mine {
                got += 1;
                assert_eq!(
                    unsafe { dualsync_rwlock_try_write(l.p()) },
                    DUALSYNC_WOULD_BLOCK
                );
                let st = unsafe {
                    if read {
                        dualsync_rwlock_read_unlock(l.p())
                    } else {
                        dualsync_rwlock_write_unlock(l.p())
                    }
                };
                assert_eq!(st, DUALSYNC_OK);
            }
            assert_eq!(
                unsafe { dualsync_rwlock_try_write(l.p()) },
                DUALSYNC_OK,
                "round {i}: a lock was kept by a cancelled op"
            );
            assert_eq!(unsafe { dualsync_rwlock_write_unlock(l.p()) }, DUALSYNC_OK);
            assert_eq!(free(op), DUALSYNC_OK);
        }
        eprintln!("fair {fair}: {got} of {ROUNDS} polls took the lock");
        // SAFETY: live, unused from now on.
        assert_eq!(unsafe { dualsync_rwlock_free(l.p()) }, DUALSYNC_OK);
    }
}

fn is_locked(m: P<dualsync_mutex_t>) -> bool {
    // SAFETY: live; the out pointer is valid.
    get(|l| unsafe { dualsync_mutex_is_locked(m.p(), l) })
}

fn cond_waiting(cv: P<dualsync_condition_t>) -> usize {
    // SAFETY: live; the out pointer is valid.
    get(|n| unsafe { dualsync_condition_n_waiting(cv.p(), n) })
}

fn notify(cv: P<dualsync_condition_t>, n: usize) -> usize {
    // SAFETY: live; the out pointer is valid.
    get(|woken| unsafe { dualsync_condition_notify(cv.p(), n, woken) })
}

/// A condition wait as an operation, and who holds the mutex at each step:
/// the caller until the start (which releases it), nobody through the op
/// while it waits or re-locks, the caller again from the poll that returns
/// `DUALSYNC_OK` (notified and re-locked, in the mutex's order).
#[test]
fn condition_wait_operation_relocks() {
    let (cv, m) = (P(dualsync_condition_new()), P(dualsync_mutex_new(true)));
    let (mut r, w) = std::io::pipe().unwrap();
    let wfd = w.as_raw_fd();
    // SAFETY (each start): live; the pipe outlives the ops.
    let start = || unsafe {
        let mut op = null_mut();
        let st = dualsync_condition_wait_start(cv.p(), m.p(), wfd, None, null_mut(), &mut op);
        (st, op)
    };
    // Not locked: refused, nothing started.
    let (st, op) = start();
    assert_eq!((st, op), (DUALSYNC_NOT_LOCKED, null_mut()));
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_lock(m.p()) }, DUALSYNC_OK);
    let (st, op) = start();
    assert_eq!(st, DUALSYNC_OK);
    assert!(!is_locked(m), "starting released the mutex");
    assert_eq!(cond_waiting(cv), 1);
    assert_eq!(poll(op), DUALSYNC_WOULD_BLOCK);
    // SAFETY: live. Both handles are in use by the pending op.
    unsafe {
        assert_eq!(dualsync_condition_free(cv.p()), DUALSYNC_BUSY);
        assert_eq!(dualsync_mutex_free(m.p()), DUALSYNC_BUSY);
    }
    // Another thread takes the mutex and notifies: notified, but the
    // re-lock waits for the mutex.
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_lock(m.p()) }, DUALSYNC_OK);
    assert_eq!(notify(cv, 1), 1);
    let mut buf = [0u8; 8];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(poll(op), DUALSYNC_WOULD_BLOCK, "notified, re-locking");
    assert_eq!(cond_waiting(cv), 0);
    // SAFETY: live; the out pointer is valid.
    let n = get(|n| unsafe { dualsync_mutex_n_waiting(m.p(), n) });
    assert_eq!(n, 1, "the re-lock is queued on the mutex");
    thread::spawn(move || {
        // SAFETY: live until joined.
        assert_eq!(unsafe { dualsync_mutex_unlock(m.p()) }, DUALSYNC_OK);
    })
    .join()
    .unwrap();
    r.read_exact(&mut buf).unwrap();
    assert_eq!(poll(op), DUALSYNC_OK);
    assert!(is_locked(m), "the caller holds the mutex again");
    assert_eq!(cancel(op), DUALSYNC_DONE);
    assert_eq!(free(op), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    unsafe {
        assert_eq!(dualsync_mutex_unlock(m.p()), DUALSYNC_OK);
        assert_eq!(dualsync_condition_free(cv.p()), DUALSYNC_OK);
        assert_eq!(dualsync_mutex_free(m.p()), DUALSYNC_OK);
    }
    drop(w);
}

/// Cancelling a condition wait loses nothing and leaves the mutex with
/// nobody: a notification it had received goes to the next waiter, a
/// re-lock it had been handed goes to the mutex's next waiter (or frees
/// the mutex).
#[test]
fn condition_wait_cancel_passes_on() {
    let (cv, m) = (P(dualsync_condition_new()), P(dualsync_mutex_new(true)));
    // SAFETY (each start): live; the caller holds the mutex.
    let start = || {
        // SAFETY: live.
        assert_eq!(unsafe { dualsync_mutex_lock(m.p()) }, DUALSYNC_OK);
        started(|op| unsafe {
            dualsync_condition_wait_start(cv.p(), m.p(), -1, None, null_mut(), op)
        })
    };
    // Cancelled while waiting: withdrawn; the caller does not hold the
    // mutex.
    let a = start();
    assert_eq!(cancel(a), DUALSYNC_OK);
    assert!(!is_locked(m));
    assert_eq!(cond_waiting(cv), 0);
    assert_eq!(poll(a), DUALSYNC_CANCELLED);
    assert_eq!(free(a), DUALSYNC_OK);

    // Notified, then cancelled before it looked: the notification goes to
    // the next waiter.
    let first = start();
    let second = start();
    assert_eq!(cond_waiting(cv), 2);
    assert_eq!(notify(cv, 1), 1);
    assert_eq!(cancel(first), DUALSYNC_OK);
    assert!(!is_locked(m), "the cancelled op holds nothing");
    assert_eq!(cond_waiting(cv), 0, "passed on to the second");
    assert_eq!(poll(second), DUALSYNC_OK);
    assert!(is_locked(m));
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_unlock(m.p()) }, DUALSYNC_OK);
    assert_eq!(free(first), DUALSYNC_OK);
    assert_eq!(free(second), DUALSYNC_OK);

    // Notified and handed the mutex (strict hand-off) while re-locking,
    // then cancelled: the mutex goes on (here: free again), and so does
    // the notification (to the waiter behind).
    let first = start();
    let second = start();
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_lock(m.p()) }, DUALSYNC_OK);
    assert_eq!(notify(cv, 1), 1);
    assert_eq!(poll(first), DUALSYNC_WOULD_BLOCK, "queued on the mutex");
    // SAFETY: live. Strict hand-off: the lock goes to `first`.
    assert_eq!(unsafe { dualsync_mutex_unlock(m.p()) }, DUALSYNC_OK);
    assert!(is_locked(m), "handed to the op, not yet polled");
    assert_eq!(cancel(first), DUALSYNC_OK);
    assert_eq!(cond_waiting(cv), 0, "the notification went to the second");
    assert_eq!(poll(second), DUALSYNC_OK, "which re-locked the freed mutex");
    assert!(is_locked(m));
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_mutex_unlock(m.p()) }, DUALSYNC_OK);
    assert!(!is_locked(m));
    assert_eq!(free(first), DUALSYNC_OK);
    assert_eq!(free(second), DUALSYNC_OK);
    // SAFETY: live, unused from now on.
    unsafe {
        assert_eq!(dualsync_condition_free(cv.p()), DUALSYNC_OK);
        assert_eq!(dualsync_mutex_free(m.p()), DUALSYNC_OK);
    }
}

/// Cancel racing the notification and the re-lock: a C thread locks,
/// notifies and unlocks while this thread polls its wait once and cancels
/// it if not complete. The mutex ends with this thread (polled) or with
/// nobody: a lock handed to the cancelled op is never kept.
#[test]
fn condition_wait_cancel_racing_notify_keeps_no_lock() {
    const ROUNDS: usize = 2_000;
    for fair in [true, false] {
        let (cv, m) = (P(dualsync_condition_new()), P(dualsync_mutex_new(fair)));
        let mut got = 0;
        for _ in 0..ROUNDS {
            // SAFETY: live.
            assert_eq!(unsafe { dualsync_mutex_lock(m.p()) }, DUALSYNC_OK);
            // SAFETY: live; the caller holds the mutex.
            let op = started(|op| unsafe {
                dualsync_condition_wait_start(cv.p(), m.p(), -1, None, null_mut(), op)
            });
            let t = thread::spawn(move || {
                // SAFETY: live until joined.
                unsafe {
                    assert_eq!(dualsync_mutex_lock(m.p()), DUALSYNC_OK);
                    let mut woken = 0;
                    assert_eq!(
                        dualsync_condition_notify(cv.p(), 1, &mut woken),
                        DUALSYNC_OK
                    );
                    // 0 when the cancel came first.
                    assert!(woken <= 1);
                    assert_eq!(dualsync_mutex_unlock(m.p()), DUALSYNC_OK);
                }
            });
            let mine = poll_then_cancel(op);
            t.join().unwrap();
            if mine {
                got += 1;
                assert!(is_locked(m));
                // SAFETY: live.
                assert_eq!(unsafe { dualsync_mutex_unlock(m.p()) }, DUALSYNC_OK);
            }
            assert!(!is_locked(m), "a cancelled op kept the mutex");
            assert_eq!(cond_waiting(cv), 0);
            assert_eq!(free(op), DUALSYNC_OK);
        }
        eprintln!("fair {fair}: {got} of {ROUNDS} waits completed before the cancel");
        // SAFETY: live, unused from now on.
        unsafe {
            assert_eq!(dualsync_condition_free(cv.p()), DUALSYNC_OK);
            assert_eq!(dualsync_mutex_free(m.p()), DUALSYNC_OK);
        }
    }
}
