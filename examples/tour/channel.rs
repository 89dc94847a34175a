//! anyio's memory object stream story: two producers with cloned send
//! halves and two consumers with cloned receive halves share one channel;
//! the stream ends for the consumers when the last producer is done (its
//! send half dropped), after they have drained what is buffered.
//!
//! Told three times: all tasks, all threads, then producer and consumer 1
//! as tasks and 2 as threads. The printout is deterministic: it reports
//! totals, not which consumer got which item.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dualsync::{Receiver, Sender, channel};
use futures::StreamExt;

use crate::story::{self, Handle, Mode, join_all, runtime};

const ITEMS: u64 = 100;

pub fn run() {
    story::by_mode(story);
}

fn story(mode_of: fn(usize) -> Mode) {
    let rt = runtime();
    let (tx, rx) = channel::<u64>(4);
    println!("a channel of capacity 4: {:?}", tx.statistics());
    let sum = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for id in 1..=2 {
        handles.push(producer(&rt, mode_of(id), id as u64, tx.clone()));
    }
    // Our own send half goes now: the stream ends once both producers have.
    drop(tx);
    for id in 1..=2 {
        handles.push(consumer(&rt, mode_of(id), rx.clone(), sum.clone()));
    }
    drop(rx);
    join_all(&rt, handles);
    let n = 2 * ITEMS;
    assert_eq!(
        sum.load(Ordering::Relaxed),
        n * (n + 1) / 2,
        "an item lost or doubled"
    );
    println!(
        "the stream ended: {n} items received once each, sum {} (expected {})",
        sum.load(Ordering::Relaxed),
        n * (n + 1) / 2
    );
}

/// Sends its share of the items, then drops its send half.
fn producer(rt: &tokio::runtime::Runtime, mode: Mode, id: u64, tx: Sender<u64>) -> Handle {
    let first = (id - 1) * ITEMS + 1;
    println!(
        "producer {id} ({}) sends items {first}..={}",
        mode.name(),
        first + ITEMS - 1
    );
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move {
            for i in first..first + ITEMS {
                tx.send(i).await.expect("the consumers are there");
            }
        })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            for i in first..first + ITEMS {
                tx.send(i).block().expect("the consumers are there");
            }
        })),
    }
}

/// Receives until the end of the stream: a task as a `Stream`, a thread
/// with the blocking iterator.
fn consumer(
    rt: &tokio::runtime::Runtime,
    mode: Mode,
    rx: Receiver<u64>,
    sum: Arc<AtomicU64>,
) -> Handle {
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move {
            let mut rx = rx;
            while let Some(i) = rx.next().await {
                sum.fetch_add(i, Ordering::Relaxed);
            }
        })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            for i in rx.iter() {
                sum.fetch_add(i, Ordering::Relaxed);
            }
        })),
    }
}
