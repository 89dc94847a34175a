//! Semaphore benchmarks: dualsync against tokio, async-lock,
//! futures-intrusive and a std `Mutex` + `Condvar` semaphore, in one run.
//!
//! Groups (`semaphore/<scenario>`), function ids are the crate names
//! (`dualsync`, `tokio`, `async_lock`, `futures_intrusive`, `std`):
//!
//! * `uncontended`: one thread acquires one permit and gives it back. The
//!   async crates poll their acquire future once with a no-op waker (it must
//!   be ready); `dualsync_block` is the same through `.block()`; `std` is
//!   the Mutex + Condvar semaphore written here.
//! * `contended1_threads` / `contended1_tasks` / `contended1_mixed`: one
//!   permit, two contenders (2 threads; 2 tasks on a 2-worker tokio
//!   runtime; 1 thread + 1 task), each doing N acquire/release cycles.
//!   Time per operation = total time / contenders, the time taken by the
//!   contenders themselves (`common::Race`: first start to last end).
//! * `contended2_threads` / `contended2_tasks` / `contended2_mixed`: two
//!   permits, three contenders each taking one permit per cycle (3 threads;
//!   3 tasks; 2 threads + 1 task).
//! * `contended1_block_on`: one permit, two threads that each drive the
//!   *async* API with `futures::executor::block_on` (`dualsync_block_on`;
//!   tokio and futures-intrusive do this in every thread row anyway).
//! * `permits2_threads` / `permits2_tasks`: two permits, two contenders.
//!
//! `dualsync` is the default (bounded barging, see `FAIRNESS_BOUND`);
//! `dualsync_fair` is the same semaphore made with `new_fair` (strict
//! hand-off), in every contended group.
//!
//! Threads use each crate's blocking API where it has one (dualsync
//! `.block()`, async-lock `acquire_blocking()`, std), else
//! `futures::executor::block_on` of the future (tokio, futures-intrusive).
//! The std semaphore cannot serve a task without blocking the executor, so
//! it appears only in the thread rows.
//!
//! Run: `cargo bench --bench semaphore -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;

mod common;
use common::{Contender, poll_ready, runtime, threads_and_tasks, uncontended_async_peers};

/// A counting semaphore from std's Mutex and Condvar (the blocking baseline).
struct StdSemaphore {
    count: std::sync::Mutex<usize>,
    cv: std::sync::Condvar,
}

impl StdSemaphore {
    fn new(n: usize) -> Self {
        StdSemaphore {
            count: std::sync::Mutex::new(n),
            cv: std::sync::Condvar::new(),
        }
    }
    fn acquire(&self) {
        let mut c = self.count.lock().unwrap();
        while *c == 0 {
            c = self.cv.wait(c).unwrap();
        }
        *c -= 1;
    }
    fn release(&self) {
        *self.count.lock().unwrap() += 1;
        self.cv.notify_one();
    }
}

// The contender's operation: one acquire/release cycle, from a thread and
// from a task.

impl Contender for dualsync::Semaphore {
    fn make(n: usize) -> Self {
        dualsync::Semaphore::new(n)
    }
    fn thread_op(&self) {
        drop(black_box(self.acquire().block().unwrap()));
    }
    async fn task_op(&self) {
        drop(black_box(self.acquire().await.unwrap()));
    }
}

impl Contender for tokio::sync::Semaphore {
    fn make(n: usize) -> Self {
        tokio::sync::Semaphore::new(n)
    }
    fn thread_op(&self) {
        drop(black_box(
            futures::executor::block_on(self.acquire()).unwrap(),
        ));
    }
    async fn task_op(&self) {
        drop(black_box(self.acquire().await.unwrap()));
    }
}

impl Contender for async_lock::Semaphore {
    fn make(n: usize) -> Self {
        async_lock::Semaphore::new(n)
    }
    fn thread_op(&self) {
        drop(black_box(self.acquire_blocking()));
    }
    async fn task_op(&self) {
        drop(black_box(self.acquire().await));
    }
}

impl Contender for futures_intrusive::sync::Semaphore {
    fn make(n: usize) -> Self {
        // Fair, like the others (FIFO).
        futures_intrusive::sync::Semaphore::new(true, n)
    }
    fn thread_op(&self) {
        drop(black_box(futures::executor::block_on(self.acquire(1))));
    }
    async fn task_op(&self) {
        drop(black_box(self.acquire(1).await));
    }
}

impl Contender for StdSemaphore {
    fn make(n: usize) -> Self {
        StdSemaphore::new(n)
    }
    fn thread_op(&self) {
        self.acquire();
        self.release();
    }
    async fn task_op(&self) {
        unreachable!("std is not benchmarked from tasks")
    }
}

/// dualsync in strict hand-off mode (`Semaphore::new_fair`).
struct DsFair(dualsync::Semaphore);

impl Contender for DsFair {
    fn make(n: usize) -> Self {
        DsFair(dualsync::Semaphore::new_fair(n))
    }
    fn thread_op(&self) {
        drop(black_box(self.0.acquire().block().unwrap()));
    }
    async fn task_op(&self) {
        drop(black_box(self.0.acquire().await.unwrap()));
    }
}

/// dualsync driven from threads through its async API and `block_on`.
struct DsBlockOn(dualsync::Semaphore);

impl Contender for DsBlockOn {
    fn make(n: usize) -> Self {
        DsBlockOn(dualsync::Semaphore::new(n))
    }
    fn thread_op(&self) {
        drop(black_box(
            futures::executor::block_on(self.0.acquire()).unwrap(),
        ));
    }
    async fn task_op(&self) {
        drop(black_box(self.0.acquire().await.unwrap()));
    }
}

/// `threads` threads and `tasks` tasks each run `iters` cycles on one
/// semaphore with `permits` permits; returns the time per operation.
fn contend<S: Contender>(
    rt: &tokio::runtime::Runtime,
    permits: usize,
    threads: usize,
    tasks: usize,
    iters: u64,
) -> Duration {
    threads_and_tasks::<S>(rt, permits, threads, tasks, iters) / (threads + tasks) as u32
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore/uncontended");
    let s = dualsync::Semaphore::new(1);
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire()).unwrap()))
    });
    g.bench_function("dualsync_block", |b| {
        b.iter(|| drop(black_box(&s).acquire().block().unwrap()))
    });
    uncontended_async_peers(&mut g);
    let s = futures_intrusive::sync::Semaphore::new(true, 1);
    g.bench_function("futures_intrusive", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire(1))))
    });
    let s = StdSemaphore::new(1);
    g.bench_function("std", |b| {
        b.iter(|| {
            black_box(&s).acquire();
            s.release();
        })
    });
    g.finish();
}

/// One group: `permits` permits, `threads` + `tasks` contenders.
fn scenario(
    c: &mut Criterion,
    name: &str,
    permits: usize,
    threads: usize,
    tasks: usize,
    block_on: bool,
) {
    let rt = runtime();
    let mut g = c.benchmark_group(name);
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| contend::<dualsync::Semaphore>(&rt, permits, threads, tasks, n))
    });
    g.bench_function("dualsync_fair", |b| {
        b.iter_custom(|n| contend::<DsFair>(&rt, permits, threads, tasks, n))
    });
    if block_on && threads > 0 {
        g.bench_function("dualsync_block_on", |b| {
            b.iter_custom(|n| contend::<DsBlockOn>(&rt, permits, threads, tasks, n))
        });
    }
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| contend::<tokio::sync::Semaphore>(&rt, permits, threads, tasks, n))
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| contend::<async_lock::Semaphore>(&rt, permits, threads, tasks, n))
    });
    g.bench_function("futures_intrusive", |b| {
        b.iter_custom(|n| {
            contend::<futures_intrusive::sync::Semaphore>(&rt, permits, threads, tasks, n)
        })
    });
    if tasks == 0 {
        g.bench_function("std", |b| {
            b.iter_custom(|n| contend::<StdSemaphore>(&rt, permits, threads, tasks, n))
        });
    }
    g.finish();
}

fn contended(c: &mut Criterion) {
    scenario(c, "semaphore/contended1_threads", 1, 2, 0, false);
    scenario(c, "semaphore/contended1_block_on", 1, 2, 0, true);
    scenario(c, "semaphore/contended1_tasks", 1, 0, 2, false);
    scenario(c, "semaphore/contended1_mixed", 1, 1, 1, false);
    scenario(c, "semaphore/contended2_threads", 2, 3, 0, false);
    scenario(c, "semaphore/contended2_tasks", 2, 0, 3, false);
    scenario(c, "semaphore/contended2_mixed", 2, 2, 1, false);
    scenario(c, "semaphore/permits2_threads", 2, 2, 0, false);
    scenario(c, "semaphore/permits2_tasks", 2, 0, 2, false);
}

fn main() {
    println!(
        "size_of: dualsync::Semaphore {} B, tokio {} B, async_lock {} B, futures_intrusive {} B",
        std::mem::size_of::<dualsync::Semaphore>(),
        std::mem::size_of::<tokio::sync::Semaphore>(),
        std::mem::size_of::<async_lock::Semaphore>(),
        std::mem::size_of::<futures_intrusive::sync::Semaphore>(),
    );
    let mut c = Criterion::default().configure_from_args();
    uncontended(&mut c);
    contended(&mut c);
    c.final_summary();
}
