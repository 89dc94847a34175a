//! No heap allocation per wait: a counting global allocator watches the
//! waiting thread while it goes through thousands of contended lock waits,
//! as a thread (`.block()`, `.block_for()`) and as a task (`.await` under
//! `futures::executor::block_on`, which does not allocate per poll).
//!
//! Every measured wait is a real one: a helper thread holds the lock and
//! releases it only after it has seen the waiter queued
//! (`statistics().waiting == 1`), and the task variant also counts its
//! `Pending` polls. Only allocations made by the measuring thread, after a
//! warm-up (parking_lot_core's table and thread data, the runtime's
//! thread-locals), are counted.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use dualsync::{Mutex, RwLock};

mod common;
use common::alloc_count::{self, Counting};
use common::new_mutex;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while running `f`.
fn allocations_in(f: impl FnOnce()) -> usize {
    alloc_count::allocs(f).1
}

const WARMUP: usize = 50;
const WAITS: usize = 2000;

/// The lock-step protocol between the helper (holder) and the waiter.
struct Stage {
    /// The round the helper holds the lock for (set after it locked).
    held: AtomicUsize,
    /// Rounds the waiter has finished (it released the lock).
    done: AtomicUsize,
    /// Rounds in which the helper saw the waiter queued before releasing.
    seen_waiting: AtomicUsize,
}

fn spin_until(f: impl Fn() -> bool) {
    let mut n = 0u32;
    while !f() {
        n += 1;
        if n < 64 {
            std::hint::spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

/// For `rounds` rounds: lock, wait until the waiter is queued, release,
/// wait until the waiter is done.
fn helper(m: Arc<Mutex<u64>>, st: Arc<Stage>, rounds: usize) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for i in 0..rounds {
            let g = m.lock().block();
            st.held.store(i + 1, Ordering::SeqCst);
            spin_until(|| m.statistics().waiting == 1);
            if i < 5 {
                // Early warm-up rounds: hold on long enough for the waiter
                // to finish spinning and really park, so that its first
                // park (parking_lot_core's per-thread data) is not measured.
                thread::sleep(Duration::from_millis(5));
            }
            st.seen_waiting.fetch_add(1, Ordering::SeqCst);
            drop(g);
            spin_until(|| st.done.load(Ordering::SeqCst) == i + 1);
        }
    })
}

/// A mutex (fair or not) held by a [`helper`] for `WARMUP + WAITS` rounds.
fn start(fair: bool) -> (Arc<Mutex<u64>>, Arc<Stage>, thread::JoinHandle<()>) {
    let m = Arc::new(new_mutex(fair, 0));
    let st = Arc::new(Stage {
        held: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        seen_waiting: AtomicUsize::new(0),
    });
    let h = helper(m.clone(), st.clone(), WARMUP + WAITS);
    (m, st, h)
}

/// Joins the helper; every round was a real wait and counted once.
fn finish(m: &Mutex<u64>, st: &Stage, h: thread::JoinHandle<()>) {
    h.join().unwrap();
    assert_eq!(st.seen_waiting.load(Ordering::SeqCst), WARMUP + WAITS);
    assert_eq!(*m.try_lock().unwrap(), (WARMUP + WAITS) as u64);
}

fn thread_waits(fair: bool) {
    let (m, st, h) = start(fair);
    let round = |i: usize| {
        spin_until(|| st.held.load(Ordering::SeqCst) == i + 1);
        match i % 3 {
            0 => *m.lock().block() += 1,
            1 => *m.lock().block_for(Duration::from_secs(60)).unwrap() += 1,
            _ => *m.lock_arc().block() += 1,
        }
        st.done.store(i + 1, Ordering::SeqCst);
    };
    for i in 0..WARMUP {
        round(i);
    }
    let allocs = allocations_in(|| {
        for i in WARMUP..WARMUP + WAITS {
            round(i);
        }
    });
    finish(&m, &st, h);
    assert_eq!(allocs, 0, "{allocs} allocations in {WAITS} thread waits");
}

/// Counts the `Pending` polls of the future it wraps.
struct CountPending<'a, F> {
    inner: F,
    pending: &'a Cell<usize>,
}

impl<F: Future + Unpin> Future for CountPending<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let r = Pin::new(&mut self.inner).poll(cx);
        if r.is_pending() {
            self.pending.set(self.pending.get() + 1);
        }
        r
    }
}

fn task_waits(fair: bool) {
    let (m, st, h) = start(fair);
    let pending = Cell::new(0);
    let mut allocs = 0;
    futures::executor::block_on(async {
        for i in 0..WARMUP + WAITS {
            if i == WARMUP {
                pending.set(0);
                alloc_count::start();
            }
            spin_until(|| st.held.load(Ordering::SeqCst) == i + 1);
            if i % 2 == 0 {
                let op = std::pin::pin!(m.lock());
                *CountPending {
                    inner: op,
                    pending: &pending,
                }
                .await += 1;
            } else {
                let op = std::pin::pin!(m.lock_arc());
                *CountPending {
                    inner: op,
                    pending: &pending,
                }
                .await += 1;
            }
            st.done.store(i + 1, Ordering::SeqCst);
        }
        allocs = alloc_count::stop();
    });
    finish(&m, &st, h);
    assert!(
        pending.get() >= WAITS,
        "only {} of {WAITS} lock futures ever waited",
        pending.get()
    );
    assert_eq!(allocs, 0, "{allocs} allocations in {WAITS} task waits");
}

#[test]
fn no_allocation_per_thread_wait() {
    thread_waits(false);
}

#[test]
fn no_allocation_per_thread_wait_fair() {
    thread_waits(true);
}

#[test]
fn no_allocation_per_task_wait() {
    task_waits(false);
}

#[test]
fn no_allocation_per_task_wait_fair() {
    task_waits(true);
}

/// [`helper`] for a reader-writer lock: holds the write lock each round
/// until the waiter is queued.
fn rw_helper(l: Arc<RwLock<u64>>, st: Arc<Stage>, rounds: usize) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for i in 0..rounds {
            let g = l.write().block();
            st.held.store(i + 1, Ordering::SeqCst);
            spin_until(|| l.statistics().waiting == 1);
            if i < 5 {
                thread::sleep(Duration::from_millis(5));
            }
            st.seen_waiting.fetch_add(1, Ordering::SeqCst);
            drop(g);
            spin_until(|| st.done.load(Ordering::SeqCst) == i + 1);
        }
    })
}

/// RwLock waits, as a thread (read and write, blocking and timed) and as a
/// task (read and write `.await`), allocate nothing either.
#[test]
fn no_allocation_per_rwlock_wait() {
    for task in [false, true] {
        let l = Arc::new(RwLock::new(0u64));
        let st = Arc::new(Stage {
            held: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            seen_waiting: AtomicUsize::new(0),
        });
        let h = rw_helper(l.clone(), st.clone(), WARMUP + WAITS);
        let pending = Cell::new(0);
        let round = |i: usize| {
            spin_until(|| st.held.load(Ordering::SeqCst) == i + 1);
            if task {
                futures::executor::block_on(async {
                    if i.is_multiple_of(2) {
                        let op = std::pin::pin!(l.write());
                        *CountPending {
                            inner: op,
                            pending: &pending,
                        }
                        .await += 1;
                    } else {
                        let op = std::pin::pin!(l.read());
                        let g = CountPending {
                            inner: op,
                            pending: &pending,
                        }
                        .await;
                        drop(g);
                        *l.try_write().unwrap() += 1;
                    }
                });
            } else {
                match i % 4 {
                    0 => *l.write().block() += 1,
                    1 => *l.write().block_for(Duration::from_secs(60)).unwrap() += 1,
                    2 => {
                        drop(l.read().block());
                        *l.try_write().unwrap() += 1;
                    }
                    _ => {
                        drop(l.read().block_for(Duration::from_secs(60)).unwrap());
                        *l.try_write().unwrap() += 1;
                    }
                }
            }
            st.done.store(i + 1, Ordering::SeqCst);
        };
        for i in 0..WARMUP {
            round(i);
        }
        pending.set(0);
        let allocs = allocations_in(|| {
            for i in WARMUP..WARMUP + WAITS {
                round(i);
            }
        });
        h.join().unwrap();
        assert_eq!(st.seen_waiting.load(Ordering::SeqCst), WARMUP + WAITS);
        assert_eq!(*l.try_read().unwrap(), (WARMUP + WAITS) as u64);
        if task {
            assert!(pending.get() >= WAITS, "only {} waited", pending.get());
        }
        assert_eq!(
            allocs, 0,
            "{allocs} allocations in {WAITS} rwlock waits (task: {task})"
        );
    }
}

/// The counter itself works: an allocation on the measuring thread is seen
/// (so a zero above is not a broken counter).
#[test]
fn the_counter_sees_allocations() {
    let n = allocations_in(|| drop(std::hint::black_box(Box::new(1u64))));
    assert!(n >= 1);
}
