//! The asyncio `Barrier` story: three workers meet at a barrier for two
//! rounds; each learns its index (arrival order) and the last one to arrive
//! is the leader. Then a fourth worker waits with a timeout, gives up, and
//! withdraws without breaking the barrier; a fifth waits and is woken by
//! `abort()`; `reset()` makes the barrier usable again.
//!
//! Arrivals are staggered (each starts once the previous one waits) and
//! `main` prints the reports sorted, so the printout is deterministic.

use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use dualsync::{Barrier, BarrierTimeoutError, BrokenBarrier};

use crate::story::{self, Handle, Mode, join_all, runtime, until};

/// Told three times: all tasks, all threads, threads and tasks mixed.
pub fn run() {
    story::by_mode(story);
}

/// Worker `id` waits at the barrier (giving up after `timeout`, if any)
/// and reports the outcome.
fn worker(
    rt: &tokio::runtime::Runtime,
    mode: Mode,
    id: usize,
    timeout: Option<Duration>,
    b: Arc<Barrier>,
    tx: Sender<String>,
) -> Handle {
    let who = format!("worker {id} ({})", mode.name());
    let report = move |r: Option<Result<dualsync::BarrierWaitResult, BrokenBarrier>>| {
        let line = match r {
            Some(Ok(r)) if r.is_leader() => {
                format!("{who} passed with index {} (leader)", r.index())
            }
            Some(Ok(r)) => format!("{who} passed with index {}", r.index()),
            Some(Err(e)) => format!("{who}: {e}"),
            None => format!("{who} gave up waiting and withdrew"),
        };
        tx.send(line).expect("main listens");
    };
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move {
            let r = match timeout {
                // Race the pinned wait; when the timer wins, `cancel` says
                // whether the arrival had been counted after all.
                Some(d) => {
                    let mut wait = std::pin::pin!(b.wait());
                    match tokio::time::timeout(d, wait.as_mut()).await {
                        Ok(r) => Some(r),
                        Err(_) => wait.as_mut().cancel(),
                    }
                }
                None => Some(b.wait().await),
            };
            report(r)
        })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            let r = match timeout {
                Some(d) => match b.wait().block_for(d) {
                    Ok(r) => Some(Ok(r)),
                    Err(BarrierTimeoutError::Broken) => Some(Err(BrokenBarrier)),
                    Err(BarrierTimeoutError::Timeout) => None,
                },
                None => Some(b.wait().block()),
            };
            report(r)
        })),
    }
}

fn story(mode_of: impl Fn(usize) -> Mode) {
    let rt = runtime();
    let b = Arc::new(Barrier::new(3));
    let (tx, rx) = channel();
    let mut handles = Vec::new();
    for round in 1..=2 {
        println!("round {round}: {b:?}");
        for id in 1..=3 {
            let mode = mode_of(id);
            println!("worker {id} ({}) arrives", mode.name());
            handles.push(worker(&rt, mode, id, None, b.clone(), tx.clone()));
            if id < 3 {
                until("arrival", || b.n_waiting() == id);
            }
        }
        let mut lines: Vec<String> = (0..3).map(|_| rx.recv().expect("report")).collect();
        lines.sort();
        for l in lines {
            println!("{l}");
        }
    }

    let mode = mode_of(4);
    println!("worker 4 ({}) waits at most 20 ms", mode.name());
    handles.push(worker(
        &rt,
        mode,
        4,
        Some(Duration::from_millis(20)),
        b.clone(),
        tx.clone(),
    ));
    println!("{}", rx.recv().expect("worker 4 reports"));
    println!("after the withdrawal: {b:?} (not broken)");

    let mode = mode_of(5);
    println!("worker 5 ({}) arrives", mode.name());
    handles.push(worker(&rt, mode, 5, None, b.clone(), tx.clone()));
    until("worker 5 waits", || b.n_waiting() == 1);
    b.abort();
    println!("main aborted the barrier");
    println!("{}", rx.recv().expect("worker 5 reports"));
    println!(
        "a new wait: {:?}; {b:?}",
        b.wait().block().map(|r| r.index())
    );
    b.reset();
    println!("main reset the barrier: {b:?}");

    join_all(&rt, handles);
}
