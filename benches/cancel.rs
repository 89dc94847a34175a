//! The cost of cancelling a queued waiter, as the queue grows: a timeout
//! storm must not freeze a primitive.
//!
//! Group `cancel/<primitive>`, function id `N` (1 000, 10 000, 100 000
//! waiters): N waiters are created and each polled once with a no-op waker
//! (so each is queued), then all are dropped, oldest first; the time
//! reported is the drop time **per waiter**. A cost that does not grow with
//! N means every cancel is O(1) in the queue length. `tokio_semaphore` is
//! the peer (tokio's intrusive list, also O(1)).
//!
//! Run: `cargo bench --bench cancel -- --warm-up-time 1 --measurement-time 2`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

type Op<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Polls every operation once (each must stay pending), then times dropping
/// them all; returns the time per waiter.
fn storm<'a>(ops: Vec<Op<'a>>) -> Duration {
    let mut ops = ops;
    let mut cx = Context::from_waker(Waker::noop());
    for op in &mut ops {
        assert!(
            op.as_mut().poll(&mut cx).is_pending(),
            "a waiter did not queue"
        );
    }
    let n = ops.len() as u32;
    let t0 = Instant::now();
    drop(ops);
    t0.elapsed() / n
}

fn bench(c: &mut Criterion, name: &str, run: impl Fn(usize) -> Duration) {
    let mut g = c.benchmark_group(format!("cancel/{name}"));
    g.sample_size(10);
    for n in SIZES {
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_custom(|iters| (0..iters).map(|_| run(n)).sum())
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, "mutex", |n| {
        let m = dualsync::Mutex::new(());
        let _held = m.try_lock().unwrap();
        storm(
            (0..n)
                .map(|_| Box::pin(async { drop(m.lock().await) }) as Op)
                .collect(),
        )
    });
    bench(&mut c, "semaphore", |n| {
        let s = dualsync::Semaphore::new(0);
        storm(
            (0..n)
                .map(|_| Box::pin(async { drop(s.acquire().await) }) as Op)
                .collect(),
        )
    });
    bench(&mut c, "semaphore_fair", |n| {
        let s = dualsync::Semaphore::new_fair(0);
        storm(
            (0..n)
                .map(|_| Box::pin(async { drop(s.acquire().await) }) as Op)
                .collect(),
        )
    });
    bench(&mut c, "limiter", |n| {
        let l = dualsync::CapacityLimiter::new(1);
        let _held = l
            .try_acquire_on_behalf_of(dualsync::Borrower::id(0))
            .unwrap();
        let l = &l;
        storm(
            (0..n)
                .map(|i| {
                    let b = dualsync::Borrower::id(i as u64 + 1);
                    Box::pin(async move { drop(l.acquire_on_behalf_of(b).await) }) as Op
                })
                .collect(),
        )
    });
    bench(&mut c, "event", |n| {
        let e = dualsync::Event::new();
        storm((0..n).map(|_| Box::pin(e.wait()) as Op).collect())
    });
    bench(&mut c, "barrier", |n| {
        let b = dualsync::Barrier::new(n + 1);
        storm(
            (0..n)
                .map(|_| {
                    Box::pin(async {
                        let _ = b.wait().await;
                    }) as Op
                })
                .collect(),
        )
    });
    bench(&mut c, "condition", |n| {
        let m = dualsync::Mutex::new(());
        let cv = dualsync::Condition::new();
        let (m, cv) = (&m, &cv);
        // Each wait takes the lock, queues on the condition, then unlocks.
        storm(
            (0..n)
                .map(|_| Box::pin(async move { drop(cv.wait(m.lock().await).await) }) as Op)
                .collect(),
        )
    });
    bench(&mut c, "queue_get", |n| {
        let q = dualsync::Queue::<u32>::unbounded();
        storm(
            (0..n)
                .map(|_| {
                    Box::pin(async {
                        let _ = q.get().await;
                    }) as Op
                })
                .collect(),
        )
    });
    bench(&mut c, "queue_put", |n| {
        let q = dualsync::Queue::bounded(1);
        q.try_put(0u32).unwrap();
        storm(
            (0..n)
                .map(|_| {
                    Box::pin(async {
                        let _ = q.put(1).await;
                    }) as Op
                })
                .collect(),
        )
    });
    bench(&mut c, "tokio_semaphore", |n| {
        let s = Arc::new(tokio::sync::Semaphore::new(0));
        storm(
            (0..n)
                .map(|_| Box::pin(async { drop(s.acquire().await) }) as Op)
                .collect(),
        )
    });
    c.final_summary();
}
