//! Barrier benchmarks: rounds of a 2-party barrier, dualsync against std,
//! tokio and async-lock, in one run.
//!
//! Groups (`barrier/<scenario>`), function ids are the crate names
//! (`dualsync`, `std`, `tokio`, `async_lock`); time per round, taken by
//! the two parties themselves (`common::Race`: first start to last end):
//!
//! * `rounds_threads`: two threads each pass the barrier N times.
//! * `rounds_tasks`: two tasks on a 2-worker tokio runtime.
//! * `rounds_mixed`: one thread and one task.
//!
//! Threads use each crate's blocking API where it has one (dualsync
//! `.block()`, std, async-lock `wait_blocking()`), else
//! `futures::executor::block_on` (tokio). std's barrier cannot serve a task,
//! so it appears only in the thread row.
//!
//! Run: `cargo bench --bench barrier -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;

mod common;
use common::{Contender, runtime, threads_and_tasks};

// The contender's operation: one wait at the barrier, from a thread and from
// a task.

impl Contender for dualsync::Barrier {
    fn make(n: usize) -> Self {
        dualsync::Barrier::new(n)
    }
    fn thread_op(&self) {
        black_box(self.wait().block().unwrap());
    }
    async fn task_op(&self) {
        black_box(self.wait().await.unwrap());
    }
}

impl Contender for std::sync::Barrier {
    fn make(n: usize) -> Self {
        std::sync::Barrier::new(n)
    }
    fn thread_op(&self) {
        black_box(self.wait());
    }
    async fn task_op(&self) {
        unreachable!("std is not benchmarked from tasks")
    }
}

impl Contender for tokio::sync::Barrier {
    fn make(n: usize) -> Self {
        tokio::sync::Barrier::new(n)
    }
    fn thread_op(&self) {
        black_box(futures::executor::block_on(self.wait()));
    }
    async fn task_op(&self) {
        black_box(self.wait().await);
    }
}

impl Contender for async_lock::Barrier {
    fn make(n: usize) -> Self {
        async_lock::Barrier::new(n)
    }
    fn thread_op(&self) {
        black_box(self.wait_blocking());
    }
    async fn task_op(&self) {
        black_box(self.wait().await);
    }
}

/// `threads` threads and `tasks` tasks pass one barrier `iters` times;
/// returns the total time (= time per round, scaled).
fn rounds<B: Contender>(
    rt: &tokio::runtime::Runtime,
    threads: usize,
    tasks: usize,
    iters: u64,
) -> Duration {
    threads_and_tasks::<B>(rt, threads + tasks, threads, tasks, iters)
}

fn scenario(c: &mut Criterion, name: &str, threads: usize, tasks: usize) {
    let rt = runtime();
    let mut g = c.benchmark_group(name);
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| rounds::<dualsync::Barrier>(&rt, threads, tasks, n))
    });
    if tasks == 0 {
        g.bench_function("std", |b| {
            b.iter_custom(|n| rounds::<std::sync::Barrier>(&rt, threads, tasks, n))
        });
    }
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| rounds::<tokio::sync::Barrier>(&rt, threads, tasks, n))
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| rounds::<async_lock::Barrier>(&rt, threads, tasks, n))
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    scenario(&mut c, "barrier/rounds_threads", 2, 0);
    scenario(&mut c, "barrier/rounds_tasks", 0, 2);
    scenario(&mut c, "barrier/rounds_mixed", 1, 1);
    c.final_summary();
}
