//! The bridge between Rust and C (issue 12, part 3): Rust reaches the
//! primitive behind every C handle, and hands a primitive it made (an
//! `Arc`) to C as a handle that keeps it alive. The C ABI is driven
//! directly, from plain threads, as a C program would.

use std::collections::HashSet;
use std::ffi::c_void;
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;
use dualsync::{
    Barrier, BoundedSemaphore, CapacityLimiter, Condition, Event, Mutex, Queue, ResourceGuard,
    Semaphore,
};

/// A handle pointer that may cross threads (the C ABI is thread-safe).
struct H<T>(*mut T);
impl<T> Clone for H<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for H<T> {}
impl<T> H<T> {
    /// The pointer (a method, so that closures capture the whole `H`).
    fn p(self) -> *mut T {
        self.0
    }
}
// SAFETY: the handle types are thread-safe (every C call on them may come
// from any thread); each test keeps a handle alive until every thread that
// uses it is joined.
unsafe impl<T> Send for H<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for H<T> {}

/// An integer disguised as an item: the queue never dereferences it.
fn item(n: usize) -> *mut c_void {
    std::ptr::without_provenance_mut(n)
}

/// Polls `f` until it holds (at most 10 s).
fn until(mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "condition not reached in 10 s");
        thread::sleep(Duration::from_millis(1));
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// C threads `dualsync_queue_put` into a C queue; tokio tasks drain it
/// through the Rust view (`.await`): every item arrives exactly once, and a
/// C shutdown ends the tasks.
#[test]
fn c_threads_feed_a_queue_tokio_tasks_drain() {
    const PRODUCERS: usize = 4;
    const PER: usize = 2_000;
    let h = H(dualsync_queue_new(16, DUALSYNC_QUEUE_FIFO));
    assert!(!h.p().is_null());
    // SAFETY: `h` is live until the end of the test.
    let view = unsafe { &*h.p() };
    let q: Arc<Queue<QueueItem>> = view.fifo().expect("a FIFO queue").clone();
    assert!(view.lifo().is_none() && view.priority().is_none());
    assert!(matches!(view.queue(), QueueRef::Fifo(_)));

    let rt = rt();
    let drainers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            rt.spawn(async move {
                let mut mine = Vec::new();
                while let Ok(it) = q.get().await {
                    mine.push(it.as_ptr() as usize);
                    q.task_done().unwrap();
                }
                mine
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            thread::spawn(move || {
                for i in 0..PER {
                    // Integers disguised as pointers: never dereferenced.
                    let item = item(p * PER + i + 1);
                    // SAFETY: `h` is live until the producers are joined.
                    assert_eq!(unsafe { dualsync_queue_put(h.p(), item, 0) }, DUALSYNC_OK);
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_queue_join(h.p()) }, DUALSYNC_OK);
    // SAFETY: live.
    assert_eq!(
        unsafe { dualsync_queue_shutdown(h.p(), false) },
        DUALSYNC_OK
    );
    let mut seen = HashSet::new();
    for d in drainers {
        for x in rt.block_on(d).unwrap() {
            assert!(seen.insert(x), "item {x} delivered twice");
        }
    }
    assert_eq!(seen.len(), PRODUCERS * PER);
    assert!((1..=PRODUCERS * PER).all(|x| seen.contains(&x)));
    drop(q);
    // SAFETY: live; every thread and task using it is done.
    assert_eq!(unsafe { dualsync_queue_free(h.p()) }, DUALSYNC_OK);
}

/// The other way round: a queue made in Rust, handed to C; a C thread
/// gets what a tokio task puts, and real heap items change owner.
#[test]
fn rust_queue_handed_to_c() {
    let q = Arc::new(Queue::<QueueItem>::bounded(4));
    let h = H(dualsync_queue_t::from_fifo(q.clone()));
    let getter = thread::spawn(move || {
        let mut sum = 0u64;
        for _ in 0..100 {
            let mut out: *mut c_void = std::ptr::null_mut();
            // SAFETY: live until joined; `out` is a valid pointer.
            assert_eq!(unsafe { dualsync_queue_get(h.p(), &mut out) }, DUALSYNC_OK);
            // SAFETY: every item is a `Box<u64>` the putter gave up.
            sum += *unsafe { Box::from_raw(out.cast::<u64>()) };
        }
        sum
    });
    rt().block_on(async {
        for i in 0..100u64 {
            q.put(QueueItem::from(Box::into_raw(Box::new(i))))
                .await
                .unwrap();
        }
    });
    assert_eq!(getter.join().unwrap(), (0..100).sum::<u64>());
    // SAFETY: live; no call in progress.
    assert_eq!(unsafe { dualsync_queue_free(h.p()) }, DUALSYNC_OK);
    assert_eq!(Arc::strong_count(&q), 1, "the handle dropped its reference");
}

/// LIFO and priority queues have their Rust views too; priorities from C
/// and from Rust order together (equal priorities in put order).
#[test]
fn lifo_and_priority_views() {
    let h = H(dualsync_queue_new(0, DUALSYNC_QUEUE_PRIORITY));
    // SAFETY: live until freed below.
    let pq = unsafe { &*h.p() }.priority().expect("priority").clone();
    // SAFETY: live.
    unsafe {
        assert_eq!(dualsync_queue_put(h.p(), item(1), 5), DUALSYNC_OK);
        assert_eq!(dualsync_queue_put(h.p(), item(2), 1), DUALSYNC_OK);
    }
    pq.try_put(PriorityItem::new(1, item(3))).unwrap();
    pq.try_put(PriorityItem::new(0, item(4))).unwrap();
    let order: Vec<usize> = (0..4)
        .map(|_| {
            let it = pq.try_get().unwrap();
            it.item().as_ptr() as usize
        })
        .collect();
    assert_eq!(order, [4, 2, 3, 1]);
    drop(pq);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(h.p()) }, DUALSYNC_OK);

    let lq = Arc::new(Queue::<QueueItem, dualsync::Lifo>::unbounded_lifo());
    let h = H(dualsync_queue_t::from_lifo(lq.clone()));
    // SAFETY: live.
    assert!(matches!(unsafe { &*h.p() }.queue(), QueueRef::Lifo(_)));
    lq.try_put(QueueItem(item(1))).unwrap();
    lq.try_put(QueueItem(item(2))).unwrap();
    let mut out = std::ptr::null_mut();
    // SAFETY: live; `out` valid.
    assert_eq!(
        unsafe { dualsync_queue_try_get(h.p(), &mut out) },
        DUALSYNC_OK
    );
    assert_eq!(out as usize, 2);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_queue_free(h.p()) }, DUALSYNC_OK);
    assert_eq!(lq.len(), 1, "the Rust side keeps the queue and its items");
}

/// A tokio task releases a semaphore that a thread blocked in
/// `dualsync_semaphore_acquire` waits on.
#[test]
fn tokio_task_releases_a_c_waiter() {
    let h = H(dualsync_semaphore_new(0, false));
    // SAFETY: live until freed below.
    let sem = unsafe { &*h.p() }.semaphore().expect("unbounded").clone();
    assert!(unsafe { &*h.p() }.bounded_semaphore().is_none());
    let waiter = thread::spawn(move || {
        // SAFETY: live until joined.
        unsafe { dualsync_semaphore_acquire(h.p()) }
    });
    until(|| sem.statistics().waiting == 1);
    let s2 = sem.clone();
    rt().block_on(async move {
        tokio::spawn(async move { s2.add_permits(1).unwrap() })
            .await
            .unwrap();
    });
    assert_eq!(waiter.join().unwrap(), DUALSYNC_OK);
    assert_eq!(
        sem.available_permits(),
        0,
        "the permit went to the C waiter"
    );
    drop(sem);
    // SAFETY: live; nothing uses it any more.
    assert_eq!(unsafe { dualsync_semaphore_free(h.p()) }, DUALSYNC_OK);
}

/// A Rust semaphore handed to C: C waiters and Rust tasks share its queue;
/// the bounded one keeps its bound for C releases.
#[test]
fn rust_semaphores_handed_to_c() {
    let sem = Arc::new(Semaphore::new_fair(0));
    let h = H(dualsync_semaphore_t::from_arc(sem.clone()));
    let waiter = thread::spawn(move || {
        // SAFETY: live until joined.
        unsafe { dualsync_semaphore_acquire_many(h.p(), 2) }
    });
    until(|| sem.statistics().waiting == 1);
    sem.add_permits(2).unwrap();
    assert_eq!(waiter.join().unwrap(), DUALSYNC_OK);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_release(h.p(), 1) }, DUALSYNC_OK);
    assert_eq!(sem.available_permits(), 1);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_semaphore_free(h.p()) }, DUALSYNC_OK);

    let b = Arc::new(BoundedSemaphore::new(1));
    let h = H(dualsync_semaphore_t::from_bounded_arc(b.clone()));
    // SAFETY: live.
    assert!(unsafe { &*h.p() }.semaphore().is_none());
    // SAFETY: live.
    unsafe {
        assert_eq!(dualsync_semaphore_release(h.p(), 1), DUALSYNC_OVER_RELEASE);
        assert_eq!(dualsync_semaphore_try_acquire(h.p()), DUALSYNC_OK);
    }
    assert!(b.try_acquire().is_err());
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_release(h.p(), 1) }, DUALSYNC_OK);
    assert_eq!(b.available_permits(), 1);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_semaphore_free(h.p()) }, DUALSYNC_OK);
}

/// Freeing a handle that shares its semaphore with Rust drops only its
/// reference, even while Rust tasks wait on the semaphore; a handle that
/// holds the last reference still refuses while waiters remain.
#[test]
fn free_with_rust_waiters_on_a_shared_primitive() {
    let rt = rt();
    let sem = Arc::new(Semaphore::new(0));
    let h = H(dualsync_semaphore_t::from_arc(sem.clone()));
    let s2 = sem.clone();
    let task = rt.spawn(async move { s2.acquire().await.map(|p| p.forget()) });
    until(|| sem.statistics().waiting == 1);
    // SAFETY: live; no call on it in progress.
    assert_eq!(unsafe { dualsync_semaphore_free(h.p()) }, DUALSYNC_OK);
    sem.add_permits(1).unwrap();
    rt.block_on(task).unwrap().unwrap();

    // The last reference: a Rust task waiting through the handle's borrow
    // (`'static` here because the handle outlives the task) makes `_free`
    // refuse.
    let h = H(dualsync_semaphore_new(0, false));
    // SAFETY: live until the successful free below, after the task ended.
    let s: &'static Semaphore = unsafe { &*h.p() }.semaphore().unwrap();
    let task = rt.spawn(async move { s.acquire().await.map(|p| p.forget()) });
    until(|| s.statistics().waiting == 1);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_free(h.p()) }, DUALSYNC_BUSY);
    // SAFETY: live.
    assert_eq!(unsafe { dualsync_semaphore_release(h.p(), 1) }, DUALSYNC_OK);
    rt.block_on(task).unwrap().unwrap();
    // SAFETY: live; nothing uses it any more.
    assert_eq!(unsafe { dualsync_semaphore_free(h.p()) }, DUALSYNC_OK);
}

/// For every simple handle type: a handle made from a Rust `Arc` outlives
/// the Rust side, and an `Arc` taken from a C handle outlives the handle;
/// either way the primitive is freed once both are gone (no leak: the weak
/// reference dies) and not before (no use after free: it is used last).
macro_rules! both_ways {
    ($name:ident, $t:ty, $make:expr, $h:ident, $free:ident, $arc:ident, $use_c:expr, $use_rust:expr) => {
        #[test]
        fn $name() {
            // Rust to C: the handle outlives Rust's Arc.
            let a: Arc<$t> = Arc::new($make);
            let w: Weak<$t> = Arc::downgrade(&a);
            let h = $h::from_arc(a);
            assert!(!h.is_null());
            assert!(w.upgrade().is_some(), "the handle keeps it alive");
            let st = $use_c(h);
            assert_eq!(st, DUALSYNC_OK);
            // SAFETY: live; no call in progress.
            assert_eq!(unsafe { $free(h) }, DUALSYNC_OK);
            assert!(w.upgrade().is_none(), "freed with the last reference");

            // C to Rust: Rust's Arc outlives the handle.
            let a: Arc<$t> = Arc::new($make);
            let h = $h::from_arc(a.clone());
            // SAFETY: live.
            let mine: Arc<$t> = unsafe { &*h }.$arc();
            drop(a);
            let w = Arc::downgrade(&mine);
            // SAFETY: live; no call in progress.
            assert_eq!(unsafe { $free(h) }, DUALSYNC_OK);
            assert_eq!(Arc::strong_count(&mine), 1);
            ($use_rust)(&*mine);
            drop(mine);
            assert!(w.upgrade().is_none());
        }
    };
}

both_ways!(
    mutex_both_ways,
    Mutex<()>,
    Mutex::new(()),
    dualsync_mutex_t,
    dualsync_mutex_free,
    mutex_arc,
    |h| {
        // SAFETY: live (the caller's).
        let s = unsafe { dualsync_mutex_lock(h) };
        // SAFETY: live.
        assert_eq!(unsafe { dualsync_mutex_unlock(h) }, DUALSYNC_OK);
        s
    },
    |m: &Mutex<()>| drop(m.try_lock().unwrap())
);
both_ways!(
    event_both_ways,
    Event,
    Event::new(),
    dualsync_event_t,
    dualsync_event_free,
    event_arc,
    |h| {
        // SAFETY: live.
        unsafe { dualsync_event_set(h) }
    },
    |e: &Event| {
        e.set();
        assert!(e.is_set())
    }
);
both_ways!(
    condition_both_ways,
    Condition,
    Condition::new(),
    dualsync_condition_t,
    dualsync_condition_free,
    condition_arc,
    |h| {
        let mut woken = 7usize;
        // SAFETY: live; `woken` valid.
        let s = unsafe { dualsync_condition_notify_all(h, &mut woken) };
        assert_eq!(woken, 0);
        s
    },
    |c: &Condition| assert_eq!(c.statistics().waiting, 0)
);
both_ways!(
    barrier_both_ways,
    Barrier,
    Barrier::new(1),
    dualsync_barrier_t,
    dualsync_barrier_free,
    barrier_arc,
    |h| {
        let mut idx = 9usize;
        // SAFETY: live; `idx` valid.
        let s = unsafe { dualsync_barrier_wait(h, &mut idx) };
        assert_eq!(idx, 0);
        s
    },
    |b: &Barrier| {
        b.wait().block().unwrap();
    }
);
both_ways!(
    limiter_both_ways,
    CapacityLimiter,
    CapacityLimiter::new(1),
    dualsync_limiter_t,
    dualsync_limiter_free,
    limiter_arc,
    |h| {
        // SAFETY: live.
        let s = unsafe { dualsync_limiter_acquire(h, 1) };
        // SAFETY: live.
        assert_eq!(unsafe { dualsync_limiter_release(h, 1) }, DUALSYNC_OK);
        s
    },
    |l: &CapacityLimiter| assert_eq!(l.available_tokens(), 1)
);
both_ways!(
    resource_guard_both_ways,
    ResourceGuard,
    ResourceGuard::new("using it"),
    dualsync_resource_guard_t,
    dualsync_resource_guard_free,
    resource_guard_arc,
    |h| {
        // SAFETY: live.
        let s = unsafe { dualsync_resource_guard_enter(h) };
        // SAFETY: live.
        assert_eq!(unsafe { dualsync_resource_guard_exit(h) }, DUALSYNC_OK);
        s
    },
    |g: &ResourceGuard| drop(g.enter().unwrap())
);

/// Borrow accessors exist for every handle type.
#[test]
fn borrow_accessors() {
    let b = dualsync_barrier_new(2);
    // SAFETY: live until freed.
    assert_eq!(unsafe { &*b }.barrier().parties(), 2);
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_barrier_free(b) }, DUALSYNC_OK);
    // SAFETY: a valid NUL-terminated string.
    let g = unsafe { dualsync_resource_guard_new(c"reading".as_ptr()) };
    // SAFETY: live until freed.
    assert!(!unsafe { &*g }.resource_guard().is_busy());
    // SAFETY: live, unused from now on.
    assert_eq!(unsafe { dualsync_resource_guard_free(g) }, DUALSYNC_OK);
}
