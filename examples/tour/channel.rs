//! anyio's memory object stream story: two producers with cloned send
//! halves and two consumers with cloned receive halves share one channel;
//! the stream ends for the consumers when the last producer is done (its
//! send half dropped), after they have drained what is buffered.
//!
//! Told three times: all tasks, all threads, then producer and consumer 1
//! as tasks and 2 as threads; and each time twice: through a channel of
//! capacity 4, then through a rendezvous channel (capacity 0, anyio's
//! default), where every send waits for a receiver to take its item.
//! Producer 1 sends plainly; producer 2 first takes a permit for a slot
//! (`reserve`) and only then makes its item and sends it through the
//! permit, which cannot wait or fail: a producer that gives up while it
//! waits for room never has an item at risk. The printout is
//! deterministic: it reports totals, not which consumer got which item.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dualsync::{Receiver, Sender, channel};
use futures::StreamExt;

use crate::story::{self, Handle, Mode, join_all, runtime};

const ITEMS: u64 = 100;

pub fn run() {
    story::by_mode(|mode_of| {
        for capacity in [4, 0] {
            story(mode_of, capacity);
        }
    });
}

fn story(mode_of: fn(usize) -> Mode, capacity: usize) {
    let rt = runtime();
    let (tx, rx) = channel::<u64>(capacity);
    if capacity == 0 {
        println!("a rendezvous channel (capacity 0): a send waits for a receiver");
    } else {
        println!("a channel of capacity {capacity}: {:?}", tx.statistics());
    }
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
    let stats_rx = rx.clone();
    drop(rx);
    join_all(&rt, handles);
    let n = 2 * ITEMS;
    assert_eq!(
        sum.load(Ordering::Relaxed),
        n * (n + 1) / 2,
        "an item lost or doubled"
    );
    let st = stats_rx.statistics();
    assert_eq!((st.current_buffer_used, st.send_permits), (0, 0));
    println!(
        "the stream ended: {n} items received once each, sum {} (expected {}); \
         {} buffered, {} slots held",
        sum.load(Ordering::Relaxed),
        n * (n + 1) / 2,
        st.current_buffer_used,
        st.send_permits
    );
}

/// Sends its share of the items, then drops its send half. Producer 2
/// takes a permit for each item before it makes it.
fn producer(rt: &tokio::runtime::Runtime, mode: Mode, id: u64, tx: Sender<u64>) -> Handle {
    let first = (id - 1) * ITEMS + 1;
    let items = first..first + ITEMS;
    let permits = id == 2;
    println!(
        "producer {id} ({}) sends items {first}..={}{}",
        mode.name(),
        first + ITEMS - 1,
        if permits {
            ", each through a permit (reserve, then send)"
        } else {
            ""
        }
    );
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move {
            for i in items {
                if permits {
                    let permit = tx.reserve().await.expect("the consumers are there");
                    permit.send(i); // never waits, never fails
                } else {
                    tx.send(i).await.expect("the consumers are there");
                }
            }
        })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            for i in items {
                if permits {
                    let permit = tx.reserve().block().expect("the consumers are there");
                    permit.send(i);
                } else {
                    tx.send(i).block().expect("the consumers are there");
                }
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
