//! The asyncio `Queue` story (the classic `asyncio_queue.py` demo): a
//! producer puts numbered jobs into a small bounded queue, then one stop
//! signal (`None`) per consumer, and waits in `join()` until every job has
//! been marked done; two consumers take jobs, work on them, and call
//! `task_done()` for each, stop signals included.
//!
//! Told three times: all tasks, all threads, and a thread producer feeding
//! task consumers. Which consumer takes which job depends on timing, so the
//! per-job lines may interleave differently from run to run; the totals at
//! the end do not.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use dualsync::Queue;

use crate::story::{self, runtime};

const JOBS: u32 = 6;
const CONSUMERS: usize = 2;

type Jobs = Arc<Queue<Option<u32>>>;

/// Told three times: all tasks, all threads, a thread producer feeding task
/// consumers.
pub fn run() {
    story::three_times(
        "a thread producer feeding task consumers",
        tasks,
        threads,
        mixed,
    );
}

fn new_queue() -> Jobs {
    let q = Arc::new(Queue::bounded(2));
    println!("queue created: {q:?}");
    q
}

fn summary(q: &Jobs, done: &[u32]) {
    println!(
        "producer: join() returned, every job is done; consumers did {done:?} jobs (total {})",
        done.iter().sum::<u32>()
    );
    println!("queue at the end: {q:?}");
}

// ------------------------------------------------------------------ tasks

async fn consumer_task(n: usize, q: Jobs) -> u32 {
    println!("consumer {n} (task): starting");
    let mut done = 0;
    loop {
        println!("consumer {n} (task): waiting for a job");
        let job = q.get().await.expect("not shut down");
        match job {
            None => {
                println!("consumer {n} (task): got the stop signal");
                q.task_done().unwrap();
                return done;
            }
            Some(j) => {
                println!("consumer {n} (task): working on job {j}");
                tokio::time::sleep(Duration::from_millis(5 + j as u64)).await;
                done += 1;
                q.task_done().unwrap();
            }
        }
    }
}

async fn producer_task(q: Jobs) {
    for j in 0..JOBS {
        q.put(Some(j)).await.unwrap();
        println!("producer (task): put job {j}");
    }
    for _ in 0..CONSUMERS {
        q.put(None).await.unwrap();
    }
    println!("producer (task): stop signals sent, waiting in join()");
    q.join().await;
}

fn tasks() {
    let rt = runtime();
    let q = new_queue();
    rt.block_on(async {
        let consumers: Vec<_> = (1..=CONSUMERS)
            .map(|n| tokio::spawn(consumer_task(n, q.clone())))
            .collect();
        producer_task(q.clone()).await;
        let mut done = vec![];
        for c in consumers {
            done.push(c.await.unwrap());
        }
        summary(&q, &done);
    });
}

// ------------------------------------------------------------------ threads

fn consumer_thread(n: usize, q: Jobs) -> u32 {
    println!("consumer {n} (thread): starting");
    let mut done = 0;
    loop {
        println!("consumer {n} (thread): waiting for a job");
        match q.get().block().expect("not shut down") {
            None => {
                println!("consumer {n} (thread): got the stop signal");
                q.task_done().unwrap();
                return done;
            }
            Some(j) => {
                println!("consumer {n} (thread): working on job {j}");
                thread::sleep(Duration::from_millis(5 + j as u64));
                done += 1;
                q.task_done().unwrap();
            }
        }
    }
}

fn producer_thread(q: Jobs) {
    for j in 0..JOBS {
        q.put(Some(j)).block().unwrap();
        println!("producer (thread): put job {j}");
    }
    for _ in 0..CONSUMERS {
        q.put(None).block().unwrap();
    }
    println!("producer (thread): stop signals sent, waiting in join()");
    q.join().block();
}

fn threads() {
    let q = new_queue();
    let consumers: Vec<_> = (1..=CONSUMERS)
        .map(|n| {
            let q = q.clone();
            thread::spawn(move || consumer_thread(n, q))
        })
        .collect();
    producer_thread(q.clone());
    let done: Vec<u32> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    summary(&q, &done);
}

// ------------------------------------------------------------------ mixed

fn mixed() {
    let rt = runtime();
    let q = new_queue();
    let consumers: Vec<_> = (1..=CONSUMERS)
        .map(|n| rt.spawn(consumer_task(n, q.clone())))
        .collect();
    // The producer is a plain thread: it blocks on a full queue while the
    // task consumers await the same queue.
    let producer = {
        let q = q.clone();
        thread::spawn(move || producer_thread(q))
    };
    producer.join().unwrap();
    let done: Vec<u32> = consumers
        .into_iter()
        .map(|c| rt.block_on(c).unwrap())
        .collect();
    summary(&q, &done);
}
