//! The dualsync tour: the classic asyncio synchronization stories, each told
//! three times — all tasks, all threads, and threads and tasks mixed on the
//! same object. Run with `cargo run --release --example tour`.
//!
//! Each primitive's story lives in its own file here and exposes `run()`.

mod barrier;
mod channel;
mod condition;
mod event;
mod limiter;
mod mutex;
mod queue;
mod rwlock;
mod semaphore;
mod story;

/// Prints a heading for one primitive's story.
fn heading(title: &str) {
    println!();
    println!("=== {title} ===");
}

fn main() {
    println!("dualsync tour");
    heading("Mutex (asyncio.Lock)");
    mutex::run();
    heading("RwLock (tokio / async-lock / parking_lot)");
    rwlock::run();
    heading("Semaphore (asyncio.Semaphore)");
    semaphore::run();
    heading("Barrier (asyncio.Barrier)");
    barrier::run();
    heading("Queue (asyncio.Queue)");
    queue::run();
    heading("CapacityLimiter and ResourceGuard (anyio)");
    limiter::run();
    heading("Event (asyncio.Event)");
    event::run();
    heading("Condition (asyncio.Condition)");
    condition::run();
    heading("Memory object streams (anyio): channel");
    channel::run();
}
