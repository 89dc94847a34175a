//! Mutex benchmarks: dualsync against parking_lot, std, tokio, async-lock and
//! futures, in one run and one harness.
//!
//! Groups (`mutex/<scenario>`), function ids are the crate names
//! (`dualsync`, `dualsync_fair`, `parking_lot`, `std`, `tokio`, `async_lock`,
//! `futures`):
//!
//! * `uncontended_blocking`: one thread, lock + increment + unlock with each
//!   crate's blocking API.
//! * `uncontended_async`: one lock future created, polled once with a no-op
//!   waker (it must be ready), guard dropped. Same harness for every peer.
//! * `contended_2_threads`: two threads, each doing N blocking
//!   lock/increment/unlock; time per operation = total time / total ops.
//! * `contended_2_tasks`: two tasks on a 2-worker tokio runtime, each doing
//!   N `lock().await`.
//! * `contended_2_threads_async`: two threads, each driving the async API
//!   with `futures::executor::block_on`.
//! * `mixed_thread_task`: one blocking thread and one tokio task on the same
//!   mutex (dualsync: `.block()` / `.await`; tokio: `blocking_lock()`;
//!   async-lock: `lock_blocking()`; futures: `executor::block_on(lock())`).
//!   parking_lot and std cannot serve a task without blocking the executor,
//!   so they are not in this row.
//!
//! The binary also prints `size_of` of each mutex and of its `lock()` future
//! before the measurements.
//!
//! Every contended row is timed by its contenders themselves
//! (`common::Race`: first start to last end; see `rwlock.rs` for why). With
//! that change, same session, two runs each, old helper -> new:
//! `contended_2_threads` dualsync 13.3/14.0 -> 15.9/15.6 ns, std 33/22 ->
//! 80/87, parking_lot 37/34 -> 33/33; `dualsync_fair` 42/13 -> 207/166: a
//! strict FIFO mutex whose two threads really contend hands the lock from
//! core to core on every operation. The task and mixed rows moved to the
//! same clock later (December 2026), with no change beyond noise:
//! `contended_2_tasks` dualsync 16.6/14.8 -> 15.8/15.9 ns, `dualsync_fair`
//! 122/110 -> 124/111, futures 21.0/18.7 -> 19.0/19.2; `mixed_thread_task`
//! dualsync 15.8/14.6 -> 14.3/13.8. A first try, whose waiting tasks
//! yielded to the executor at the start line, put both tasks on one worker
//! and measured each one's share run alone (`dualsync_fair` 12.7/12.8 ns);
//! see `Race::lap_async`.
//!
//! Run: `cargo bench --bench mutex -- --warm-up-time 1 --measurement-time 3`,
//! then `python3 scripts/ratios.py`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;

mod common;
use common::{poll_ready, runtime, two_threads};

// ---------------------------------------------------------------- sizes

fn print_sizes() {
    use std::mem::{size_of, size_of_val};
    let d = dualsync::Mutex::new(());
    let t = tokio::sync::Mutex::new(());
    let a = async_lock::Mutex::new(());
    let f = futures::lock::Mutex::new(());
    println!("size_of::<Mutex<()>>() and of its lock() future, in bytes:");
    println!(
        "  {:<12} mutex {:>3}  lock() {:>3}",
        "dualsync",
        size_of::<dualsync::Mutex<()>>(),
        size_of_val(&d.lock())
    );
    println!(
        "  {:<12} mutex {:>3}",
        "parking_lot",
        size_of::<parking_lot::Mutex<()>>()
    );
    println!(
        "  {:<12} mutex {:>3}",
        "std",
        size_of::<std::sync::Mutex<()>>()
    );
    println!(
        "  {:<12} mutex {:>3}  lock() {:>3}",
        "tokio",
        size_of::<tokio::sync::Mutex<()>>(),
        size_of_val(&t.lock())
    );
    println!(
        "  {:<12} mutex {:>3}  lock() {:>3}",
        "async_lock",
        size_of::<async_lock::Mutex<()>>(),
        size_of_val(&a.lock())
    );
    println!(
        "  {:<12} mutex {:>3}  lock() {:>3}",
        "futures",
        size_of::<futures::lock::Mutex<()>>(),
        size_of_val(&f.lock())
    );
}

// ---------------------------------------------------------------- uncontended

fn uncontended_blocking(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex/uncontended_blocking");
    let m = dualsync::Mutex::new(0u64);
    g.bench_function("dualsync", |b| {
        b.iter(|| *black_box(&m).lock().block() += 1)
    });
    let m = parking_lot::Mutex::new(0u64);
    g.bench_function("parking_lot", |b| b.iter(|| *black_box(&m).lock() += 1));
    let m = std::sync::Mutex::new(0u64);
    g.bench_function("std", |b| b.iter(|| *black_box(&m).lock().unwrap() += 1));
    let m = tokio::sync::Mutex::new(0u64);
    g.bench_function("tokio", |b| b.iter(|| *black_box(&m).blocking_lock() += 1));
    let m = async_lock::Mutex::new(0u64);
    g.bench_function("async_lock", |b| {
        b.iter(|| *black_box(&m).lock_blocking() += 1)
    });
    g.finish();
}

fn uncontended_async(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex/uncontended_async");
    let m = dualsync::Mutex::new(0u64);
    g.bench_function("dualsync", |b| {
        b.iter(|| *poll_ready(black_box(&m).lock()) += 1)
    });
    let m = tokio::sync::Mutex::new(0u64);
    g.bench_function("tokio", |b| {
        b.iter(|| *poll_ready(black_box(&m).lock()) += 1)
    });
    let m = async_lock::Mutex::new(0u64);
    g.bench_function("async_lock", |b| {
        b.iter(|| *poll_ready(black_box(&m).lock()) += 1)
    });
    let m = futures::lock::Mutex::new(0u64);
    g.bench_function("futures", |b| {
        b.iter(|| *poll_ready(black_box(&m).lock()) += 1)
    });
    g.finish();
}

// ---------------------------------------------------------------- contended

fn contended_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex/contended_2_threads");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(dualsync::Mutex::new(0u64)), |m, n| {
                for _ in 0..n {
                    *m.lock().block() += 1;
                }
            })
        })
    });
    g.bench_function("dualsync_fair", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(dualsync::Mutex::new_fair(0u64)), |m, n| {
                for _ in 0..n {
                    *m.lock().block() += 1;
                }
            })
        })
    });
    g.bench_function("parking_lot", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(parking_lot::Mutex::new(0u64)), |m, n| {
                for _ in 0..n {
                    *m.lock() += 1;
                }
            })
        })
    });
    g.bench_function("std", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(std::sync::Mutex::new(0u64)), |m, n| {
                for _ in 0..n {
                    *m.lock().unwrap() += 1;
                }
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(tokio::sync::Mutex::new(0u64)), |m, n| {
                for _ in 0..n {
                    *m.blocking_lock() += 1;
                }
            })
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(async_lock::Mutex::new(0u64)), |m, n| {
                for _ in 0..n {
                    *m.lock_blocking() += 1;
                }
            })
        })
    });
    g.finish();
}

/// Two threads, each driving the async API with `futures::executor::block_on`.
fn contended_2_threads_async(c: &mut Criterion) {
    use futures::executor::block_on;
    let mut g = c.benchmark_group("mutex/contended_2_threads_async");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(dualsync::Mutex::new(0u64)), |m, n| {
                block_on(async {
                    for _ in 0..n {
                        *m.lock().await += 1;
                    }
                })
            })
        })
    });
    g.bench_function("dualsync_fair", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(dualsync::Mutex::new_fair(0u64)), |m, n| {
                block_on(async {
                    for _ in 0..n {
                        *m.lock().await += 1;
                    }
                })
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(tokio::sync::Mutex::new(0u64)), |m, n| {
                block_on(async {
                    for _ in 0..n {
                        *m.lock().await += 1;
                    }
                })
            })
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(async_lock::Mutex::new(0u64)), |m, n| {
                block_on(async {
                    for _ in 0..n {
                        *m.lock().await += 1;
                    }
                })
            })
        })
    });
    g.bench_function("futures", |b| {
        b.iter_custom(|n| {
            two_threads(n, Arc::new(futures::lock::Mutex::new(0u64)), |m, n| {
                block_on(async {
                    for _ in 0..n {
                        *m.lock().await += 1;
                    }
                })
            })
        })
    });
    g.finish();
}

/// Two tasks on the 2-worker runtime `rt`, each doing `n` times `$body`
/// (lock/increment/unlock); time per operation (`common::two_tasks`).
macro_rules! two_tasks {
    ($rt:expr, $n:expr, $m:expr, |$mm:ident| $body:expr) => {
        common::two_tasks(&$rt, $n, Arc::new($m), |$mm, n| async move {
            for _ in 0..n {
                $body;
            }
        })
    };
}

fn contended_2_tasks(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("mutex/contended_2_tasks");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| two_tasks!(rt, n, dualsync::Mutex::new(0u64), |m| *m.lock().await += 1))
    });
    g.bench_function("dualsync_fair", |b| {
        b.iter_custom(|n| {
            two_tasks!(rt, n, dualsync::Mutex::new_fair(0u64), |m| *m
                .lock()
                .await += 1)
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            two_tasks!(rt, n, tokio::sync::Mutex::new(0u64), |m| *m.lock().await +=
                1)
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            two_tasks!(rt, n, async_lock::Mutex::new(0u64), |m| *m.lock().await +=
                1)
        })
    });
    g.bench_function("futures", |b| {
        b.iter_custom(|n| {
            two_tasks!(rt, n, futures::lock::Mutex::new(0u64), |m| *m
                .lock()
                .await += 1)
        })
    });
    g.finish();
}

/// One blocking thread running `$thread` and one tokio task running `$task`,
/// `n` operations each, on the same mutex; time per operation
/// (`common::thread_and_task`).
macro_rules! thread_and_task {
    ($rt:expr, $n:expr, $m:expr, thread |$tm:ident| $thread:expr, task |$km:ident| $task:expr) => {
        common::thread_and_task(
            &$rt,
            $n,
            Arc::new($m),
            |$tm, n| {
                for _ in 0..n {
                    $thread;
                }
            },
            |$km, n| async move {
                for _ in 0..n {
                    $task;
                }
            },
        )
    };
}

fn mixed_thread_task(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("mutex/mixed_thread_task");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            thread_and_task!(
                rt,
                n,
                dualsync::Mutex::new(0u64),
                thread | m | *m.lock().block() += 1,
                task | m | *m.lock().await += 1
            )
        })
    });
    g.bench_function("dualsync_fair", |b| {
        b.iter_custom(|n| {
            thread_and_task!(
                rt,
                n,
                dualsync::Mutex::new_fair(0u64),
                thread | m | *m.lock().block() += 1,
                task | m | *m.lock().await += 1
            )
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            thread_and_task!(
                rt,
                n,
                tokio::sync::Mutex::new(0u64),
                thread | m | *m.blocking_lock() += 1,
                task | m | *m.lock().await += 1
            )
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            thread_and_task!(
                rt,
                n,
                async_lock::Mutex::new(0u64),
                thread | m | *m.lock_blocking() += 1,
                task | m | *m.lock().await += 1
            )
        })
    });
    g.bench_function("futures", |b| {
        b.iter_custom(|n| {
            thread_and_task!(
                rt,
                n,
                futures::lock::Mutex::new(0u64),
                thread | m | *futures::executor::block_on(m.lock()) += 1,
                task | m | *m.lock().await += 1
            )
        })
    });
    g.finish();
}

fn main() {
    print_sizes();
    let mut c = Criterion::default().configure_from_args();
    uncontended_blocking(&mut c);
    uncontended_async(&mut c);
    contended_2_threads(&mut c);
    contended_2_tasks(&mut c);
    contended_2_threads_async(&mut c);
    mixed_thread_task(&mut c);
    c.final_summary();
}
