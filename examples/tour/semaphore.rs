//! The asyncio `Semaphore` story: a pool of 2 permits that `main` holds at
//! first; worker 1 queues for both at once, workers 2 and 3 for one each.
//! `main` gives the permits back one at a time: one free permit is not
//! enough for worker 1 at the head of the queue, and workers 2 and 3 do not
//! overtake it (strict FIFO; asyncio would let them). With the second
//! permit worker 1 runs, and its permits then go to workers 2 and 3.
//! Finally the semaphore is closed under a waiting worker 4.
//!
//! Workers report to `main` over a channel, and `main` prints; where two
//! reports may arrive in either order, it sorts them, so the printout is
//! deterministic.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use dualsync::Semaphore;

use crate::story::{self, Handle, Mode, join_all, runtime, until};

/// Told three times: all tasks, all threads, threads and tasks mixed.
pub fn run() {
    story::by_mode(story);
}

/// Worker `id` asks for `n` permits, reports what it got, and gives the
/// permits back at once.
fn worker(
    rt: &tokio::runtime::Runtime,
    mode: Mode,
    id: usize,
    n: usize,
    sem: Arc<Semaphore>,
    tx: Sender<String>,
) -> Handle {
    let who = format!("worker {id} ({})", mode.name());
    let report = move |r: Result<dualsync::Permit<'_>, dualsync::AcquireError>| {
        // The permits are given back only after the report is sent.
        let line = match &r {
            Ok(p) => format!("{who} got {} permit(s)", p.num_permits()),
            Err(e) => format!("{who}: {e}"),
        };
        tx.send(line).expect("main listens");
        drop(r);
    };
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move { report(sem.acquire_many(n).await) })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            report(sem.acquire_many(n).block())
        })),
    }
}

fn story(mode_of: impl Fn(usize) -> Mode) {
    let rt = runtime();
    let sem = Arc::new(Semaphore::new(2));
    let (tx, rx): (Sender<String>, Receiver<String>) = channel();
    let held = sem.try_acquire_many(2).expect("2 permits free");
    println!("main holds both permits: {sem:?}");

    let mut handles = Vec::new();
    for (k, (id, n)) in [(1, 2), (2, 1), (3, 1)].into_iter().enumerate() {
        let mode = mode_of(id);
        println!("worker {id} ({}) asks for {n} permit(s)", mode.name());
        handles.push(worker(&rt, mode, id, n, sem.clone(), tx.clone()));
        until("worker queued", || sem.statistics().waiting == k + 1);
    }
    println!("all three wait: {sem:?}");

    held.forget(); // main gives them back by hand, asyncio style
    sem.release().expect("below the maximum");
    println!("main released 1 permit: {sem:?}");
    println!(
        "try_acquire now: {:?} (worker 1 is at the head and needs 2)",
        sem.try_acquire().map(|p| p.num_permits())
    );
    sem.release().expect("below the maximum");
    println!("main released another permit");
    println!("{}", rx.recv().expect("worker 1 reports"));
    let mut rest = vec![rx.recv().expect("report"), rx.recv().expect("report")];
    rest.sort();
    for line in rest {
        println!("{line}");
    }
    until("permits back", || sem.available_permits() == 2);
    println!("everyone is done: {sem:?}");

    let held = sem.try_acquire_many(2).expect("free again");
    let mode = mode_of(4);
    println!(
        "main holds both again; worker 4 ({}) asks for 1",
        mode.name()
    );
    handles.push(worker(&rt, mode, 4, 1, sem.clone(), tx.clone()));
    until("worker 4 queued", || sem.statistics().waiting == 1);
    sem.close();
    println!("main closed the semaphore");
    println!("{}", rx.recv().expect("worker 4 reports"));
    drop(held);
    println!(
        "after close: {sem:?}, try_acquire: {:?}",
        sem.try_acquire().map(|_| ())
    );

    join_all(&rt, handles);
}
