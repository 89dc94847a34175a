//! The asyncio `Condition` story (the classic `asyncio_condition.py` demo):
//! five consumers wait on a condition; the producer wakes one with
//! `notify(1)`, then two with `notify(2)`, then the rest with
//! `notify_all()`. Each consumer holds the lock again when its wait returns.
//!
//! The printout is deterministic: consumers queue one after the other
//! (FIFO, so they wake in that order), the producer waits until each batch
//! has run before the next notification, and a batch's lines are printed in
//! consumer order by the producer.

use std::sync::Arc;
use std::time::Duration;

use dualsync::{Condition, Mutex};

use crate::story::{self, Handle, Mode, join_all, runtime, until};

/// Told three times: all tasks, all threads, threads and tasks mixed.
pub fn run() {
    story::by_mode(story);
}

/// What the consumers share: the list of who was triggered, under the lock.
struct Shared {
    triggered: Mutex<Vec<usize>>,
    cond: Condition,
}

fn story(mode_of: fn(usize) -> Mode) {
    let rt = runtime();
    let s = Arc::new(Shared {
        triggered: Mutex::new(Vec::new()),
        cond: Condition::new(),
    });
    let mut handles = Vec::new();
    for i in 1..=5 {
        let s2 = s.clone();
        let mode = mode_of(i);
        println!("consumer {i} ({}) is waiting", mode.name());
        handles.push(match mode {
            Mode::Task => Handle::Task(rt.spawn(async move {
                let g = s2.triggered.lock().await;
                let mut g = s2.cond.wait(g).await;
                g.push(i); // the lock is held again here
            })),
            Mode::Thread => Handle::Thread(std::thread::spawn(move || {
                let g = s2.triggered.lock().block();
                let mut g = s2.cond.wait(g).block();
                g.push(i);
            })),
        });
        until("consumer queued", || s.cond.statistics().waiting >= i);
    }
    let mut seen = 0;
    for (what, n) in [("notify(1)", 1), ("notify(2)", 2), ("notify_all()", 5)] {
        let woken = {
            let _g = s.triggered.lock().block();
            if n == 5 {
                s.cond.notify_all()
            } else {
                s.cond.notify(n)
            }
        };
        println!("producer: {what} woke {woken}");
        seen += woken;
        let batch = loop {
            let g = s.triggered.lock().block();
            if g.len() == seen {
                let mut b = g[seen - woken..].to_vec();
                b.sort();
                break b;
            }
            drop(g);
            std::thread::sleep(Duration::from_millis(1));
        };
        for i in batch {
            println!("consumer {i} ({}) triggered", mode_of(i).name());
        }
    }
    join_all(&rt, handles);
    println!("done: {:?}", s.cond);
}
