//! RwLock benchmarks: dualsync against parking_lot, std, tokio and
//! async-lock, in one run and one harness.
//!
//! Groups (`rwlock/<scenario>`), function ids are the crate names
//! (`dualsync`, `dualsync_fair`, `parking_lot`, `std`, `tokio`,
//! `async_lock`):
//!
//! * `uncontended_read` / `uncontended_write`: one thread, lock + read (or
//!   increment) + unlock with each crate's blocking API (dualsync:
//!   `.block()`; tokio: `blocking_read`/`blocking_write`; async-lock:
//!   `read_blocking`/`write_blocking`).
//! * `uncontended_read_async` / `uncontended_write_async`: one operation
//!   future created, polled once with a no-op waker (it must be ready),
//!   guard dropped (dualsync, tokio, async-lock).
//! * `read_mostly_2_threads`: two threads, each doing N operations, one in
//!   ten a write (the two threads' writes are interleaved differently), the
//!   rest reads; time per operation = total time / total ops.
//! * `write_heavy_2_threads`: the same with nine in ten writes.
//! * `read_mostly_2_tasks`: two tokio tasks on a 2-worker runtime, one in
//!   ten a write (`.await`); parking_lot and std cannot serve a task without
//!   blocking the executor, so they are not in this row (nor the next).
//! * `read_mostly_thread_and_task`: one blocking thread and one tokio task
//!   on the same lock, one in ten a write (dualsync: `.block()` / `.await`;
//!   tokio: `blocking_*` / `.await`; async-lock: `*_blocking` / `.await`).
//!
//! The binary also prints `size_of` of each lock and of its `read()` future.
//!
//! **Reading the two-thread rows.** `common::two_threads` takes the time in
//! the two threads themselves (first start to last end), and starts them
//! together without a futex sleep. Until December 2026 it was taken by
//! the spawning thread around a `Barrier`, which counted two sleeping
//! threads' wake-ups and a third runnable thread on a 2-core VM; on
//! `read_mostly_2_threads` the peers' samples then split into two modes,
//! about 17 ns and 75-84 ns per operation (std's deciles 16.5 ... 75.3 in
//! one run). 17 ns is what a read or a write costs one thread alone: the
//! 2n operations of such a sample ran one after the other. Same session,
//! same library code, two runs with the old helper and three with the
//! new: dualsync 55.1-55.3 -> 61.4-62.6 ns, 1.61-2.00x std and 2.30-2.80x
//! parking_lot -> 0.73-0.76x std and 0.73-0.75x parking_lot. A separate
//! two-thread probe (50,000 to 2,000,000 operations per thread, one write
//! in ten, timed in the threads) agrees: dualsync 40-48 ns, parking_lot
//! 77-83, std 82-90. The `dualsync_fair` rows are strict FIFO: while both
//! threads contend, every write is a hand-off from one core to the other
//! (`write_heavy_2_threads` 195-221 ns against parking_lot's barging
//! 34-39; tokio's lock, also FIFO, 17 us in one run). The task rows moved
//! to the same clock (`common::Race`) later, with no change beyond noise
//! (two runs each, old -> new): `read_mostly_2_tasks` dualsync 23.2/21.6 ->
//! 21.8/21.6 ns, `dualsync_fair` 48.4/45.3 -> 45.9/44.3;
//! `read_mostly_thread_and_task` dualsync 20.3/21.3 -> 19.7/18.7.
//!
//! Run: `cargo bench --bench rwlock -- --warm-up-time 1 --measurement-time 3`,
//! then `python3 scripts/ratios.py --group-prefix rwlock/`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;

mod common;
use common::{poll_ready, runtime, thread_and_task, two_tasks, two_threads};

/// Whether operation `i` of worker `k` is a write, for a mix of `writes`
/// in 10.
#[inline(always)]
fn is_write(k: u64, i: u64, writes: u64) -> bool {
    (i + 5 * k) % 10 < writes
}

// ---------------------------------------------------------------- sizes

fn print_sizes() {
    use std::mem::{size_of, size_of_val};
    let d = dualsync::RwLock::new(());
    let t = tokio::sync::RwLock::new(());
    let a = async_lock::RwLock::new(());
    println!("size_of::<RwLock<()>>() and of its read() future, in bytes:");
    println!(
        "  {:<12} rwlock {:>3}  read() {:>3}",
        "dualsync",
        size_of::<dualsync::RwLock<()>>(),
        size_of_val(&d.read())
    );
    println!(
        "  {:<12} rwlock {:>3}",
        "parking_lot",
        size_of::<parking_lot::RwLock<()>>()
    );
    println!(
        "  {:<12} rwlock {:>3}",
        "std",
        size_of::<std::sync::RwLock<()>>()
    );
    println!(
        "  {:<12} rwlock {:>3}  read() {:>3}",
        "tokio",
        size_of::<tokio::sync::RwLock<()>>(),
        size_of_val(&t.read())
    );
    println!(
        "  {:<12} rwlock {:>3}  read() {:>3}",
        "async_lock",
        size_of::<async_lock::RwLock<()>>(),
        size_of_val(&a.read())
    );
}

// ---------------------------------------------------------------- uncontended

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("rwlock/uncontended_read");
    let l = dualsync::RwLock::new(1u64);
    g.bench_function("dualsync", |b| b.iter(|| *black_box(&l).read().block()));
    let l = parking_lot::RwLock::new(1u64);
    g.bench_function("parking_lot", |b| b.iter(|| *black_box(&l).read()));
    let l = std::sync::RwLock::new(1u64);
    g.bench_function("std", |b| b.iter(|| *black_box(&l).read().unwrap()));
    let l = tokio::sync::RwLock::new(1u64);
    g.bench_function("tokio", |b| b.iter(|| *black_box(&l).blocking_read()));
    let l = async_lock::RwLock::new(1u64);
    g.bench_function("async_lock", |b| b.iter(|| *black_box(&l).read_blocking()));
    g.finish();

    let mut g = c.benchmark_group("rwlock/uncontended_write");
    let l = dualsync::RwLock::new(1u64);
    g.bench_function("dualsync", |b| {
        b.iter(|| *black_box(&l).write().block() += 1)
    });
    let l = parking_lot::RwLock::new(1u64);
    g.bench_function("parking_lot", |b| b.iter(|| *black_box(&l).write() += 1));
    let l = std::sync::RwLock::new(1u64);
    g.bench_function("std", |b| b.iter(|| *black_box(&l).write().unwrap() += 1));
    let l = tokio::sync::RwLock::new(1u64);
    g.bench_function("tokio", |b| b.iter(|| *black_box(&l).blocking_write() += 1));
    let l = async_lock::RwLock::new(1u64);
    g.bench_function("async_lock", |b| {
        b.iter(|| *black_box(&l).write_blocking() += 1)
    });
    g.finish();

    let mut g = c.benchmark_group("rwlock/uncontended_read_async");
    let l = dualsync::RwLock::new(1u64);
    g.bench_function("dualsync", |b| b.iter(|| *poll_ready(black_box(&l).read())));
    let l = tokio::sync::RwLock::new(1u64);
    g.bench_function("tokio", |b| b.iter(|| *poll_ready(black_box(&l).read())));
    let l = async_lock::RwLock::new(1u64);
    g.bench_function("async_lock", |b| {
        b.iter(|| *poll_ready(black_box(&l).read()))
    });
    g.finish();

    let mut g = c.benchmark_group("rwlock/uncontended_write_async");
    let l = dualsync::RwLock::new(1u64);
    g.bench_function("dualsync", |b| {
        b.iter(|| *poll_ready(black_box(&l).write()) += 1)
    });
    let l = tokio::sync::RwLock::new(1u64);
    g.bench_function("tokio", |b| {
        b.iter(|| *poll_ready(black_box(&l).write()) += 1)
    });
    let l = async_lock::RwLock::new(1u64);
    g.bench_function("async_lock", |b| {
        b.iter(|| *poll_ready(black_box(&l).write()) += 1)
    });
    g.finish();
}

// ---------------------------------------------------------------- two threads

/// `two_threads` with each crate's blocking read and write, `writes` in 10.
macro_rules! two_threads_mix {
    ($g:expr, $id:literal, $new:expr, $writes:expr, |$l:ident| read $read:expr, write $write:expr) => {
        $g.bench_function($id, |b| {
            b.iter_custom(|n| {
                // Each thread gets its own phase of the write pattern.
                two_threads(n, shared($new), move |m, n| {
                    let $l = &m.0;
                    let k = m.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    for i in 0..n {
                        if is_write(k, i, $writes) {
                            $write;
                        } else {
                            black_box($read);
                        }
                    }
                })
            })
        });
    };
}

fn two_threads_group(c: &mut Criterion, name: &str, writes: u64) {
    let mut g = c.benchmark_group(name);
    two_threads_mix!(
        g,
        "dualsync",
        dualsync::RwLock::new(0u64),
        writes,
        |l| read * l.read().block(),
        write * l.write().block() += 1
    );
    two_threads_mix!(
        g,
        "dualsync_fair",
        dualsync::RwLock::new_fair(0u64),
        writes,
        |l| read * l.read().block(),
        write * l.write().block() += 1
    );
    two_threads_mix!(
        g,
        "parking_lot",
        parking_lot::RwLock::new(0u64),
        writes,
        |l| read * l.read(),
        write * l.write() += 1
    );
    two_threads_mix!(
        g,
        "std",
        std::sync::RwLock::new(0u64),
        writes,
        |l| read * l.read().unwrap(),
        write * l.write().unwrap() += 1
    );
    two_threads_mix!(
        g,
        "tokio",
        tokio::sync::RwLock::new(0u64),
        writes,
        |l| read * l.blocking_read(),
        write * l.blocking_write() += 1
    );
    two_threads_mix!(
        g,
        "async_lock",
        async_lock::RwLock::new(0u64),
        writes,
        |l| read * l.read_blocking(),
        write * l.write_blocking() += 1
    );
    g.finish();
}

fn read_mostly_2_threads(c: &mut Criterion) {
    two_threads_group(c, "rwlock/read_mostly_2_threads", 1);
}

fn write_heavy_2_threads(c: &mut Criterion) {
    two_threads_group(c, "rwlock/write_heavy_2_threads", 9);
}

// ---------------------------------------------------------------- tasks

/// A task body: `n` operations, one in ten a write, phase `k`.
macro_rules! task_mix {
    (|$l:ident| read $read:expr, write $write:expr) => {
        |m: Arc<_>, n: u64| async move {
            let $l = &m.0;
            let k = m.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            for i in 0..n {
                if is_write(k, i, 1) {
                    $write;
                } else {
                    black_box($read);
                }
            }
        }
    };
}

fn shared<L>(l: L) -> Arc<(L, std::sync::atomic::AtomicU64)> {
    Arc::new((l, std::sync::atomic::AtomicU64::new(0)))
}

fn read_mostly_2_tasks(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("rwlock/read_mostly_2_tasks");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            two_tasks(
                &rt,
                n,
                shared(dualsync::RwLock::new(0u64)),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.bench_function("dualsync_fair", |b| {
        b.iter_custom(|n| {
            two_tasks(
                &rt,
                n,
                shared(dualsync::RwLock::new_fair(0u64)),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            two_tasks(
                &rt,
                n,
                shared(tokio::sync::RwLock::new(0u64)),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            two_tasks(
                &rt,
                n,
                shared(async_lock::RwLock::new(0u64)),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.finish();
}

/// A thread body: `n` operations, one in ten a write, phase `k`.
macro_rules! thread_mix {
    (|$l:ident| read $read:expr, write $write:expr) => {
        |m: &(_, std::sync::atomic::AtomicU64), n: u64| {
            let $l = &m.0;
            let k = m.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            for i in 0..n {
                if is_write(k, i, 1) {
                    $write;
                } else {
                    black_box($read);
                }
            }
        }
    };
}

fn read_mostly_thread_and_task(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("rwlock/read_mostly_thread_and_task");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            thread_and_task(
                &rt,
                n,
                shared(dualsync::RwLock::new(0u64)),
                thread_mix!(|l| read * l.read().block(), write * l.write().block() += 1),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.bench_function("dualsync_fair", |b| {
        b.iter_custom(|n| {
            thread_and_task(
                &rt,
                n,
                shared(dualsync::RwLock::new_fair(0u64)),
                thread_mix!(|l| read * l.read().block(), write * l.write().block() += 1),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|n| {
            thread_and_task(
                &rt,
                n,
                shared(tokio::sync::RwLock::new(0u64)),
                thread_mix!(
                    |l| read * l.blocking_read(),
                    write * l.blocking_write() += 1
                ),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.bench_function("async_lock", |b| {
        b.iter_custom(|n| {
            thread_and_task(
                &rt,
                n,
                shared(async_lock::RwLock::new(0u64)),
                thread_mix!(
                    |l| read * l.read_blocking(),
                    write * l.write_blocking() += 1
                ),
                task_mix!(|l| read * l.read().await, write * l.write().await += 1),
            )
        })
    });
    g.finish();
}

fn main() {
    print_sizes();
    let mut c = Criterion::default().configure_from_args();
    uncontended(&mut c);
    read_mostly_2_threads(&mut c);
    write_heavy_2_threads(&mut c);
    read_mostly_2_tasks(&mut c);
    read_mostly_thread_and_task(&mut c);
    c.final_summary();
}
