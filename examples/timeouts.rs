//! Async timeouts and `select!` with dualsync operations, and what each
//! one costs the caller when it loses.
//!
//! * Most operations give up nothing but their place when dropped: wrap
//!   them in `tokio::time::timeout` or race them in `select!` freely
//!   (`lock`, `acquire`, `get`, `wait`, `join`).
//! * A `put` carries its item: race it *by reference* (pinned) and, if it
//!   lost, `Put::cancel` hands the item back.
//! * A barrier arrival may have been counted just before the timer fired:
//!   `BarrierWait::cancel` says whether it was, and with which index.
//! * Operations are `FusedFuture`s: `futures::select!` takes them as they
//!   are, without `.fuse()`.
//!
//! Run: `cargo run --release --example timeouts`.

use std::pin::pin;
use std::time::Duration;

use dualsync::{Barrier, Event, Mutex, Queue, Semaphore};

const SHORT: Duration = Duration::from_millis(10);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A timeout around a lock: the lock is held, so it times out, and the
    // mutex is left as if the call never happened.
    let m = Mutex::new(0);
    let held = m.lock().await;
    assert!(tokio::time::timeout(SHORT, m.lock()).await.is_err());
    drop(held);
    *tokio::time::timeout(SHORT, m.lock())
        .await
        .expect("free now") += 1;
    println!(
        "lock: timed out while held, then locked: {}",
        *m.lock().await
    );

    // select! between a queue and a shutdown event: `get` only takes an
    // item in the poll that returns it, so the losing branch loses nothing.
    let q = Queue::unbounded();
    let stop = Event::new();
    q.try_put("job").unwrap();
    stop.set();
    let first = tokio::select! {
        biased;
        r = q.get() => format!("got {:?}", r.unwrap()),
        () = stop.wait() => "stopped".to_string(),
    };
    println!("select!: {first}; queue now holds {} item(s)", q.len());

    // A put that loses keeps its item when cancelled through the pin.
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let mut put = pin!(q.put(2));
    let kept = match tokio::time::timeout(SHORT, put.as_mut()).await {
        Ok(r) => {
            r.unwrap();
            None
        }
        Err(_) => put.as_mut().cancel(),
    };
    assert_eq!(kept, Some(2));
    println!("put: timed out on a full queue, item {kept:?} handed back");

    // A barrier arrival cancelled after its round completed still learns
    // its index.
    let b = Barrier::new(2);
    let mut wait = pin!(b.wait());
    assert!(tokio::time::timeout(SHORT, wait.as_mut()).await.is_err()); // alone: waits
    b.try_wait().expect("the second party completes the round");
    match wait.as_mut().cancel() {
        Some(r) => println!("barrier: counted after all, index {}", r.unwrap().index()),
        None => println!("barrier: withdrawn, not counted"),
    }

    // futures::select! with no `.fuse()`: dualsync operations are fused.
    let sem = Semaphore::new(0);
    let ready = Event::new();
    ready.set();
    let mut acquire = pin!(sem.acquire());
    let mut wait = pin!(ready.wait());
    let winner = futures::select! {
        _ = acquire => "acquire",
        () = wait => "event",
    };
    println!("futures::select!: {winner} won; the acquire is simply dropped");
}
