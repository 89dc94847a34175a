//! CapacityLimiter benchmarks: dualsync against `tokio::sync::Semaphore` and
//! `async_lock::Semaphore`, the closest peers (a limiter is a semaphore whose
//! permits remember their borrower, so dualsync pays for a borrower-set
//! insert and remove per acquisition that the peers do not do).
//!
//! Groups (`limiter/<scenario>`), function ids `dualsync`, `tokio`,
//! `async_lock`:
//!
//! * `uncontended_try`: try-acquire + release one token, one thread.
//! * `uncontended_async`: one acquire future polled once with a no-op waker
//!   (it must be ready), token dropped.
//! * `uncontended_blocking`: the blocking form on one thread (dualsync
//!   `acquire().block()`, borrowing for the thread; async_lock
//!   `acquire_blocking()`; tokio has no blocking acquire).
//! * `contended_2_threads`: two threads, 1 token, each doing N blocking
//!   acquire/release (tokio through `futures::executor::block_on`).
//! * `contended_2_tasks`: two tasks on a 2-worker tokio runtime, 1 token,
//!   each doing N `acquire().await`.
//! * `mixed_thread_task`: one blocking thread and one tokio task, 1 token.
//!
//! Run: `cargo bench --bench limiter -- --warm-up-time 1 --measurement-time 3`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::Criterion;
use dualsync::{Borrower, CapacityLimiter};

#[inline(always)]
fn poll_ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an uncontended acquire was pending"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime")
}

fn uncontended(c: &mut Criterion) {
    let me = Borrower::id(1);
    let mut g = c.benchmark_group("limiter/uncontended_try");
    let l = CapacityLimiter::new(1);
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(black_box(&l).try_acquire_on_behalf_of(me).unwrap()))
    });
    let s = tokio::sync::Semaphore::new(1);
    g.bench_function("tokio", |b| {
        b.iter(|| drop(black_box(&s).try_acquire().unwrap()))
    });
    let s = async_lock::Semaphore::new(1);
    g.bench_function("async_lock", |b| {
        b.iter(|| drop(black_box(&s).try_acquire().unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("limiter/uncontended_async");
    let l = CapacityLimiter::new(1);
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).acquire_on_behalf_of(me)).unwrap()))
    });
    let s = tokio::sync::Semaphore::new(1);
    g.bench_function("tokio", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire()).unwrap()))
    });
    let s = async_lock::Semaphore::new(1);
    g.bench_function("async_lock", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire())))
    });
    g.finish();

    let mut g = c.benchmark_group("limiter/uncontended_blocking");
    let l = CapacityLimiter::new(1);
    g.bench_function("dualsync", |b| {
        b.iter(|| drop(black_box(&l).acquire().block().unwrap()))
    });
    let s = async_lock::Semaphore::new(1);
    g.bench_function("async_lock", |b| {
        b.iter(|| drop(black_box(&s).acquire_blocking()))
    });
    g.finish();
}

/// Two threads each run `work(iters)`; time per operation.
fn two_threads<M, F>(iters: u64, m: Arc<M>, work: F) -> Duration
where
    M: Send + Sync + 'static,
    F: Fn(&M, u64) + Send + Sync + Copy + 'static,
{
    let start = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (m, start) = (m.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                work(&m, iters);
            })
        })
        .collect();
    start.wait();
    let t0 = Instant::now();
    for h in handles {
        h.join().expect("bench thread panicked");
    }
    t0.elapsed() / 2
}

fn contended_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("limiter/contended_2_threads");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(CapacityLimiter::new(1)), |l, n| {
                for _ in 0..n {
                    drop(black_box(l.acquire().block().unwrap()));
                }
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(tokio::sync::Semaphore::new(1)), |s, n| {
                for _ in 0..n {
                    drop(black_box(futures::executor::block_on(s.acquire()).unwrap()));
                }
            })
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(async_lock::Semaphore::new(1)), |s, n| {
                for _ in 0..n {
                    drop(black_box(s.acquire_blocking()));
                }
            })
        })
    });
    g.finish();
}

/// Two tokio tasks each run `work(iters)`; time per operation.
fn two_tasks<M, F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, m: Arc<M>, work: F) -> Duration
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

fn contended_2_tasks(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("limiter/contended_2_tasks");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            two_tasks(
                &rt,
                n,
                Arc::new(CapacityLimiter::new(1)),
                |l, n| async move {
                    let me = Borrower::unique();
                    for _ in 0..n {
                        drop(black_box(l.acquire_on_behalf_of(me).await.unwrap()));
                    }
                },
            )
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            two_tasks(
                &rt,
                n,
                Arc::new(tokio::sync::Semaphore::new(1)),
                |s, n| async move {
                    for _ in 0..n {
                        drop(black_box(s.acquire().await.unwrap()));
                    }
                },
            )
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            two_tasks(
                &rt,
                n,
                Arc::new(async_lock::Semaphore::new(1)),
                |s, n| async move {
                    for _ in 0..n {
                        drop(black_box(s.acquire().await));
                    }
                },
            )
        })
    });
    g.finish();
}

/// One blocking thread and one tokio task; time per operation.
fn thread_and_task<M, T, F, Fut>(
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

fn mixed_thread_task(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("limiter/mixed_thread_task");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            thread_and_task(
                &rt,
                n,
                Arc::new(CapacityLimiter::new(1)),
                |l, n| {
                    for _ in 0..n {
                        drop(black_box(l.acquire().block().unwrap()));
                    }
                },
                |l, n| async move {
                    let me = Borrower::unique();
                    for _ in 0..n {
                        drop(black_box(l.acquire_on_behalf_of(me).await.unwrap()));
                    }
                },
            )
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            thread_and_task(
                &rt,
                n,
                Arc::new(tokio::sync::Semaphore::new(1)),
                |s, n| {
                    for _ in 0..n {
                        drop(black_box(futures::executor::block_on(s.acquire()).unwrap()));
                    }
                },
                |s, n| async move {
                    for _ in 0..n {
                        drop(black_box(s.acquire().await.unwrap()));
                    }
                },
            )
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            thread_and_task(
                &rt,
                n,
                Arc::new(async_lock::Semaphore::new(1)),
                |s, n| {
                    for _ in 0..n {
                        drop(black_box(s.acquire_blocking()));
                    }
                },
                |s, n| async move {
                    for _ in 0..n {
                        drop(black_box(s.acquire().await));
                    }
                },
            )
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    uncontended(&mut c);
    contended_2_threads(&mut c);
    contended_2_tasks(&mut c);
    mixed_thread_task(&mut c);
    c.final_summary();
}
