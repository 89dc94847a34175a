//! The asyncio `Event` story (the classic `asyncio_event.py` demo): two
//! waiters wait for an event; a callback sets it later and both are released
//! by that one `set()`. Then the event is cleared and a late waiter waits for
//! the next `set()`.
//!
//! The printout is deterministic: the callback fires only once both waiters
//! are queued, and the "got it" lines are printed in turn (waiter 2 prints
//! after waiter 1, waiting on a second event).

use std::sync::Arc;
use std::time::Duration;

use dualsync::Event;

/// Told three times: all tasks, all threads, threads and tasks mixed.
pub fn run() {
    println!("-- all tasks (tokio) --");
    story([Who::Task, Who::Task]);
    println!();
    println!("-- all threads --");
    story([Who::Thread, Who::Thread]);
    println!();
    println!("-- threads and tasks mixed --");
    story([Who::Thread, Who::Task]);
}

#[derive(Clone, Copy)]
enum Who {
    Thread,
    Task,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Thread => "thread",
            Who::Task => "task",
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime")
}

/// Sleeps until `n` threads and tasks wait on `ev`.
fn until_waiting(ev: &Event, n: usize) {
    while ev.statistics().tasks_waiting < n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn story(who: [Who; 2]) {
    let rt = runtime();
    let event = Arc::new(Event::new());
    // Orders the "got it" lines: waiter 2 prints after waiter 1.
    let printed = Arc::new(Event::new());
    let mut threads = Vec::new();
    let mut tasks = Vec::new();
    for (i, w) in who.into_iter().enumerate() {
        let (ev, printed) = (event.clone(), printed.clone());
        let n = i + 1;
        println!("waiter {n} ({}) waiting for it ...", w.name());
        match w {
            Who::Thread => threads.push(std::thread::spawn(move || {
                ev.wait().block();
                if n == 2 {
                    printed.wait().block();
                }
                println!("waiter {n} (thread) ... got it!");
                printed.set();
            })),
            Who::Task => tasks.push(rt.spawn(async move {
                ev.wait().await;
                if n == 2 {
                    printed.wait().await;
                }
                println!("waiter {n} (task) ... got it!");
                printed.set();
            })),
        }
        until_waiting(&event, n);
    }
    println!("callback: setting the event: {event:?}");
    event.set();
    for t in threads {
        t.join().expect("waiter thread");
    }
    for t in tasks {
        rt.block_on(t).expect("waiter task");
    }
    println!("after the set: {event:?}");
    event.clear();
    println!("cleared: {event:?}");
    let late = event.wait().block_for(Duration::from_millis(10));
    println!(
        "a late waiter waits for the next set: {}",
        if late.is_err() {
            "timed out"
        } else {
            "got it?!"
        }
    );
}
