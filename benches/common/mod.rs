//! Bench support shared by the benchmarks (`mod common;` in each file): the
//! tokio runtime, polling an uncontended future, and the timed drivers that
//! run contenders on threads, on tasks, or both.
//!
//! Every bench file is its own crate and uses only some of these helpers, so
//! the ones a file does not use would be reported as dead code there: hence
//! the `allow` below (the whole set is used across the files).
#![allow(dead_code)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;

/// The 2-worker multi-thread tokio runtime the async contenders run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime")
}

/// Polls a future once with a no-op waker; it must be ready (uncontended).
#[inline(always)]
pub fn poll_ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an uncontended operation was pending"),
    }
}

/// The semaphore peers' uncontended async acquire + release of one permit
/// (function ids `tokio`, `async_lock`), added to group `g`.
pub fn uncontended_async_peers(g: &mut BenchmarkGroup<'_, WallTime>) {
    let s = tokio::sync::Semaphore::new(1);
    g.bench_function("tokio", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire()).unwrap()))
    });
    let s = async_lock::Semaphore::new(1);
    g.bench_function("async_lock", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire())))
    });
}

/// The start line and the clock of contenders that time themselves.
///
/// Each contender (a thread or a task) calls [`Race::lap`] or
/// [`Race::lap_async`] around its work: it announces itself, waits by
/// yielding (never on a futex it must be woken from) until every party has
/// arrived (a task only where each party can have a worker thread: see
/// `lap_async`), then runs and records its own start and end.
/// [`Race::elapsed`] is the first start to the last end.
///
/// Timing from the spawning side instead counts what is not the contest:
/// sleeping threads' and workers' wake-ups at the start and at the join
/// (tens of microseconds each on a 2-core VM, against samples of a few
/// hundred), the spawns, and a third runnable thread beside the
/// contenders, which on 2 cores let one contender run its whole share
/// before the other started (the peers' `rwlock/read_mostly_2_threads`
/// samples split into a 17 ns and a 75 ns mode that way).
pub struct Race {
    parties: usize,
    arrived: AtomicUsize,
    /// (first start, last end) over the finished laps.
    span: Mutex<Option<(Instant, Instant)>>,
}

impl Race {
    /// A race for `parties` contenders.
    pub fn new(parties: usize) -> Arc<Race> {
        Arc::new(Race {
            parties,
            arrived: AtomicUsize::new(0),
            span: Mutex::new(None),
        })
    }

    fn arrive(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
    }

    fn all_in(&self) -> bool {
        self.arrived.load(Ordering::SeqCst) >= self.parties
    }

    fn record(&self, t0: Instant) {
        let t1 = Instant::now();
        let mut span = self.span.lock().expect("race clock");
        *span = Some(match *span {
            None => (t0, t1),
            Some((a, b)) => (a.min(t0), b.max(t1)),
        });
    }

    /// Runs `work` on this thread once every party is in, timing it.
    pub fn lap<R>(&self, work: impl FnOnce() -> R) -> R {
        self.arrive();
        while !self.all_in() {
            std::thread::yield_now();
        }
        let t0 = Instant::now();
        let r = work();
        self.record(t0);
        r
    }

    /// Runs `work` in this task, timing it: once every party is in if
    /// each party can have a worker thread of its own, else at once.
    ///
    /// With no more parties than the runtime has workers, a task waits at
    /// the start line *holding its worker thread* (it yields the thread,
    /// not the executor; at most 5 ms, then it yields to the executor), so
    /// the parties still to come are taken by the other workers. A task
    /// that yielded to the executor there was queued on its own worker,
    /// where the next party spawned was often taken too while the idle
    /// worker was not woken to steal: a probe of `mutex/contended_2_tasks`
    /// counted the fraction of operations during which both tasks had
    /// started and not yet finished, 0.000 in 5 of 5 runs that way (each
    /// task ran its share alone: an uncontended lock), 0.87-1.00 with the
    /// worker held. With more parties than workers (`mpmc2x2_async`: 4
    /// tasks, 2 workers) holding would split them 1 + 3 (one worker must
    /// stay free to poll the rest), which measured `mpmc2x2_async` 26-27
    /// ns per item for the `Queue` in 3 runs against 20-21 in 2 runs
    /// timed from the spawning side; so there each task starts at its
    /// first poll, where tokio placed it.
    pub async fn lap_async<R>(&self, work: impl Future<Output = R>) -> R {
        self.arrive();
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        if self.parties <= workers {
            let since = Instant::now();
            while !self.all_in() {
                if since.elapsed() < Duration::from_millis(5) {
                    std::thread::yield_now();
                } else {
                    tokio::task::yield_now().await;
                }
            }
        }
        let t0 = Instant::now();
        let r = work.await;
        self.record(t0);
        r
    }

    /// From the first start to the last end; call once every lap is done.
    pub fn elapsed(&self) -> Duration {
        let span = self.span.lock().expect("race clock");
        let (a, b) = span.expect("no lap finished");
        b - a
    }
}

/// Two threads each run `work(iters)` on a shared `m`; returns the time per
/// operation (total time / total ops) scaled for criterion's `iters`,
/// timed by the threads themselves ([`Race`]).
pub fn two_threads<M, F>(iters: u64, m: Arc<M>, work: F) -> Duration
where
    M: Send + Sync + 'static,
    F: Fn(&M, u64) + Send + Sync + Copy + 'static,
{
    let race = Race::new(2);
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (m, race) = (m.clone(), race.clone());
            std::thread::spawn(move || race.lap(|| work(&m, iters)))
        })
        .collect();
    for h in handles {
        h.join().expect("bench thread panicked");
    }
    race.elapsed() / 2
}

/// Two tokio tasks each run `work(iters)`; time per operation, timed by
/// the tasks themselves ([`Race`]).
pub fn two_tasks<M, F, Fut>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    m: Arc<M>,
    work: F,
) -> Duration
where
    M: Send + Sync + 'static,
    F: Fn(Arc<M>, u64) -> Fut + Copy,
    Fut: Future<Output = ()> + Send + 'static,
{
    let race = Race::new(2);
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (race, work) = (race.clone(), work(m.clone(), iters));
            rt.spawn(async move { race.lap_async(work).await })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.expect("bench task panicked");
        }
    });
    race.elapsed() / 2
}

/// One blocking thread and one tokio task each run their `iters`
/// operations; time per operation, timed by the contenders ([`Race`]).
pub fn thread_and_task<M, T, F, Fut>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    m: Arc<M>,
    thread_work: T,
    task_work: F,
) -> Duration
where
    M: Send + Sync + 'static,
    T: Fn(&M, u64) + Send + 'static,
    F: Fn(Arc<M>, u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let race = Race::new(2);
    let task = {
        let (race, work) = (race.clone(), task_work(m.clone(), iters));
        rt.spawn(async move { race.lap_async(work).await })
    };
    let th = {
        let race = race.clone();
        std::thread::spawn(move || race.lap(|| thread_work(&m, iters)))
    };
    th.join().expect("bench thread panicked");
    rt.block_on(task).expect("bench task panicked");
    race.elapsed() / 2
}

/// What a contender does in [`threads_and_tasks`]: one operation as a
/// thread (blocking) and one as a task (`.await`), on an object made for
/// `n` (parties, permits).
pub trait Contender: Send + Sync + 'static {
    /// The object the contenders share, for `n` parties or permits.
    fn make(n: usize) -> Self;
    /// One operation, blocking the calling thread.
    fn thread_op(&self);
    /// One operation, awaited by a task.
    fn task_op(&self) -> impl Future<Output = ()> + Send;
}

/// `threads` threads and `tasks` tasks on `rt` each do `iters` operations on
/// one `C::make(n)`, all at once; returns the total time (the caller scales
/// it to its unit).
pub fn threads_and_tasks<C: Contender>(
    rt: &tokio::runtime::Runtime,
    n: usize,
    threads: usize,
    tasks: usize,
    iters: u64,
) -> Duration {
    let c = Arc::new(C::make(n));
    let race = Race::new(threads + tasks);
    let ts: Vec<_> = (0..tasks)
        .map(|_| {
            let (c, race) = (c.clone(), race.clone());
            rt.spawn(async move {
                race.lap_async(async {
                    for _ in 0..iters {
                        c.task_op().await;
                    }
                })
                .await
            })
        })
        .collect();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (c, race) = (c.clone(), race.clone());
            std::thread::spawn(move || {
                race.lap(|| {
                    for _ in 0..iters {
                        c.thread_op();
                    }
                })
            })
        })
        .collect();
    for h in hs {
        h.join().expect("bench thread");
    }
    rt.block_on(async {
        for t in ts {
            t.await.expect("bench task");
        }
    });
    race.elapsed()
}
