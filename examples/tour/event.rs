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

use crate::story::{self, Handle, Mode, join_all, runtime, until};

/// Told three times: all tasks, all threads, threads and tasks mixed.
pub fn run() {
    story::three_times(
        story::MIXED,
        || story([Mode::Task, Mode::Task]),
        || story([Mode::Thread, Mode::Thread]),
        || story([Mode::Thread, Mode::Task]),
    );
}

fn story(who: [Mode; 2]) {
    let rt = runtime();
    let event = Arc::new(Event::new());
    // Orders the "got it" lines: waiter 2 prints after waiter 1.
    let printed = Arc::new(Event::new());
    let mut handles = Vec::new();
    for (i, w) in who.into_iter().enumerate() {
        let (ev, printed) = (event.clone(), printed.clone());
        let n = i + 1;
        println!("waiter {n} ({}) waiting for it ...", w.name());
        match w {
            Mode::Thread => handles.push(Handle::Thread(std::thread::spawn(move || {
                ev.wait().block();
                if n == 2 {
                    printed.wait().block();
                }
                println!("waiter {n} (thread) ... got it!");
                printed.set();
            }))),
            Mode::Task => handles.push(Handle::Task(rt.spawn(async move {
                ev.wait().await;
                if n == 2 {
                    printed.wait().await;
                }
                println!("waiter {n} (task) ... got it!");
                printed.set();
            }))),
        }
        until("waiters queued", || event.statistics().waiting >= n);
    }
    println!("callback: setting the event: {event:?}");
    event.set();
    join_all(&rt, handles);
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
