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
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Two threads each run `work(iters)` on a shared `m`; returns the time per
/// operation (total time / total ops) scaled for criterion's `iters`.
///
/// The time is taken by the two threads themselves: from the first one's
/// start to the last one's end. Both start together: each announces
/// itself and yields until the other has too, so neither sleeps on a
/// futex it must be woken from. Timing from the spawning thread instead
/// counted two sleeping threads' wake-ups (the start barrier's and the
/// join's: tens of microseconds each on a 2-core VM, against samples of a
/// few hundred) and a third runnable thread beside the two contenders.
pub fn two_threads<M, F>(iters: u64, m: Arc<M>, work: F) -> Duration
where
    M: Send + Sync + 'static,
    F: Fn(&M, u64) + Send + Sync + Copy + 'static,
{
    let arrived = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (m, arrived) = (m.clone(), arrived.clone());
            std::thread::spawn(move || {
                arrived.fetch_add(1, Ordering::SeqCst);
                while arrived.load(Ordering::SeqCst) < 2 {
                    std::thread::yield_now();
                }
                let t0 = Instant::now();
                work(&m, iters);
                (t0, Instant::now())
            })
        })
        .collect();
    let spans: Vec<(Instant, Instant)> = handles
        .into_iter()
        .map(|h| h.join().expect("bench thread panicked"))
        .collect();
    let start = spans.iter().map(|s| s.0).min().expect("two spans");
    let end = spans.iter().map(|s| s.1).max().expect("two spans");
    (end - start) / 2
}

/// Two tokio tasks each run `work(iters)`; time per operation.
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
    rt.block_on(async {
        let t0 = Instant::now();
        let a = tokio::spawn(work(m.clone(), iters));
        let b = tokio::spawn(work(m, iters));
        a.await.unwrap();
        b.await.unwrap();
        t0.elapsed() / 2
    })
}

/// One blocking thread and one tokio task each run their `iters`
/// operations; time per operation.
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
    let m2 = m.clone();
    rt.block_on(async {
        let t0 = Instant::now();
        let th = std::thread::spawn(move || thread_work(&m2, iters));
        tokio::spawn(task_work(m, iters)).await.unwrap();
        th.join().unwrap();
        t0.elapsed() / 2
    })
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
    let t0 = Instant::now();
    let ts: Vec<_> = (0..tasks)
        .map(|_| {
            let c = c.clone();
            rt.spawn(async move {
                for _ in 0..iters {
                    c.task_op().await;
                }
            })
        })
        .collect();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..iters {
                    c.thread_op();
                }
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
    t0.elapsed()
}
