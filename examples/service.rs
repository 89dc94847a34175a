//! The headline use: a tokio service in which async tasks and plain OS
//! threads share one bounded queue, one semaphore and one shutdown event,
//! with timeouts everywhere.
//!
//! * 3 producer tasks put jobs into a bounded `Queue` (a full queue makes
//!   them wait; one that gives up after a timeout gets its job back with
//!   `Put::cancel` and retries, so no job is ever lost).
//! * 2 blocking worker threads (think: CPU-bound or FFI work) and 2 worker
//!   tasks take jobs with a timeout, so that they notice the shutdown event.
//! * A `Semaphore` with 2 permits guards a scarce resource (a connection
//!   pool) that threads and tasks use alike.
//! * When the producers are done, `queue.join()` waits until every job was
//!   marked done, then the shutdown `Event` stops the workers.
//!
//! Run: `cargo run --release --example service`.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use dualsync::{Event, GetTimeoutError, Queue, Semaphore};

const PRODUCERS: u64 = 3;
const JOBS_EACH: u64 = 2_000;

struct Shared {
    jobs: Queue<u64>,
    pool: Semaphore,
    shutdown: Event,
    /// Sum of the processed job ids, and how many, by workers of each kind.
    sum: AtomicU64,
    by_threads: AtomicUsize,
    by_tasks: AtomicUsize,
    /// Connections in use right now (never above the pool's 2).
    in_pool: AtomicUsize,
    retried_puts: AtomicUsize,
}

impl Shared {
    /// The work itself: a short stretch holding one pool connection.
    fn process(&self, job: u64) {
        let n = self.in_pool.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n <= 2, "{n} connections in use");
        self.sum.fetch_add(job, Ordering::Relaxed);
        self.in_pool.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A blocking worker thread: waits at most 10 ms for a job, so that it
/// checks the shutdown event regularly.
fn thread_worker(s: Arc<Shared>) {
    while !s.shutdown.is_set() {
        match s.jobs.get().block_for(Duration::from_millis(10)) {
            Ok(job) => {
                let conn = s.pool.acquire().block().expect("the pool is never closed");
                s.process(job);
                drop(conn);
                s.by_threads.fetch_add(1, Ordering::Relaxed);
                s.jobs.task_done().unwrap();
            }
            Err(GetTimeoutError::Timeout) => {} // nothing yet: look at the event
            Err(GetTimeoutError::ShutDown) => break,
        }
    }
}

/// A worker task: races the next job against the shutdown event. `get` is
/// cancel-safe: when the event wins, no job is lost.
async fn task_worker(s: Arc<Shared>) {
    loop {
        let job = tokio::select! {
            r = s.jobs.get() => match r {
                Ok(job) => job,
                Err(_) => break,
            },
            () = s.shutdown.wait() => break,
        };
        let conn = s.pool.acquire().await.expect("the pool is never closed");
        s.process(job);
        drop(conn);
        s.by_tasks.fetch_add(1, Ordering::Relaxed);
        s.jobs.task_done().unwrap();
    }
}

/// A producer task: a put that waits too long for room is cancelled with
/// `Put::cancel`, which hands the job back, and retried.
async fn producer(s: Arc<Shared>, id: u64) {
    for k in 0..JOBS_EACH {
        let mut job = id * JOBS_EACH + k + 1;
        loop {
            let mut put = pin!(s.jobs.put(job));
            match tokio::time::timeout(Duration::from_micros(200), put.as_mut()).await {
                Ok(r) => {
                    r.expect("the queue is not shut down while producing");
                    break;
                }
                Err(_) => match put.as_mut().cancel() {
                    Some(back) => {
                        job = back; // not lost: try again
                        s.retried_puts.fetch_add(1, Ordering::Relaxed);
                    }
                    None => break, // it went in just before the timer fired
                },
            }
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("tokio runtime");
    let s = Arc::new(Shared {
        jobs: Queue::bounded(16),
        pool: Semaphore::new(2),
        shutdown: Event::new(),
        sum: AtomicU64::new(0),
        by_threads: AtomicUsize::new(0),
        by_tasks: AtomicUsize::new(0),
        in_pool: AtomicUsize::new(0),
        retried_puts: AtomicUsize::new(0),
    });

    let threads: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || thread_worker(s))
        })
        .collect();
    let tasks: Vec<_> = (0..2).map(|_| rt.spawn(task_worker(s.clone()))).collect();

    rt.block_on(async {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|id| tokio::spawn(producer(s.clone(), id)))
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        // Every job was put; wait (with a bound) until each was processed.
        tokio::time::timeout(Duration::from_secs(30), s.jobs.join())
            .await
            .expect("the workers drain the queue");
        s.shutdown.set();
        for t in tasks {
            t.await.unwrap();
        }
    });
    for t in threads {
        t.join().unwrap();
    }

    let n = PRODUCERS * JOBS_EACH;
    let (by_threads, by_tasks) = (
        s.by_threads.load(Ordering::Relaxed),
        s.by_tasks.load(Ordering::Relaxed),
    );
    assert_eq!(
        (by_threads + by_tasks) as u64,
        n,
        "every job processed once"
    );
    assert_eq!(
        s.sum.load(Ordering::Relaxed),
        n * (n + 1) / 2,
        "no job lost or doubled"
    );
    println!("{n} jobs: {by_threads} by 2 threads, {by_tasks} by 2 tasks");
    println!(
        "{} puts timed out and were retried with their job handed back",
        s.retried_puts.load(Ordering::Relaxed)
    );
    println!("at most 2 pool connections at once; every job accounted for");
}
