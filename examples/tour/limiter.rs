//! The anyio `CapacityLimiter` story: a limiter of 2 tokens that `main`
//! holds at first (as borrowers "main" and "reserve"); workers 1..4 queue in
//! that order. Raising the total to 3 lets exactly worker 1 in; each worker
//! checks that a second token for itself is refused (one token per
//! borrower), then gives its token back, which lets the next one in, in
//! FIFO order. Lowering the total below what is borrowed takes nothing
//! away. Finally a `ResourceGuard` refuses a second writer instead of
//! making it wait.
//!
//! Workers report to `main` over a channel, and `main` prints; every report
//! is causally ordered, so the printout is deterministic.

use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use dualsync::{Borrower, CapacityLimiter, ResourceGuard};

use crate::story::{self, Handle, Mode, join_all, runtime, until};

/// Told three times: all tasks, all threads, threads and tasks mixed.
pub fn run() {
    story::by_mode(story);
}

fn story(mode_of: impl Fn(usize) -> Mode) {
    let rt = runtime();
    let limiter = Arc::new(CapacityLimiter::new(2));
    let (tx, rx) = channel::<String>();
    let main_b = Borrower::of("main");
    let reserve = Borrower::of("reserve");
    let t_main = limiter.try_acquire_on_behalf_of(main_b).unwrap();
    let t_reserve = limiter.try_acquire_on_behalf_of(reserve).unwrap();
    println!("main holds both tokens: {limiter:?}");

    let mut handles = Vec::new();
    for id in 1..=4 {
        let (l, tx): (Arc<CapacityLimiter>, Sender<String>) = (limiter.clone(), tx.clone());
        let h = match mode_of(id) {
            Mode::Task => Handle::Task(rt.spawn(async move {
                // A task names its borrower to get anyio's one-token rule.
                let me = Borrower::unique();
                let token = l.acquire_on_behalf_of(me).await.unwrap();
                tx.send(format!(
                    "task {id} got a token ({} borrowed)",
                    l.borrowed_tokens()
                ))
                .unwrap();
                let again = l.acquire_on_behalf_of(me).await;
                tx.send(
                    format!("task {id} asks again: {}", again.unwrap_err())
                        .replace(&format!("{me:?}"), "it"),
                )
                .unwrap();
                tx.send(format!("task {id} gives its token back")).unwrap();
                drop(token);
            })),
            Mode::Thread => Handle::Thread(std::thread::spawn(move || {
                // A thread is its own borrower.
                let token = l.acquire().block().unwrap();
                tx.send(format!(
                    "thread {id} got a token ({} borrowed)",
                    l.borrowed_tokens()
                ))
                .unwrap();
                let again = l.acquire().block_for(Duration::from_secs(5));
                tx.send(format!(
                    "thread {id} asks again: {}",
                    again
                        .unwrap_err()
                        .to_string()
                        .replace(&format!("{:?}", Borrower::current_thread()), "it")
                ))
                .unwrap();
                tx.send(format!("thread {id} gives its token back"))
                    .unwrap();
                drop(token);
            })),
        };
        handles.push(h);
        until("worker queued", || limiter.statistics().waiting >= id);
    }
    drop(tx);
    println!("4 workers wait: {limiter:?}");
    println!("main raises the total to 3");
    limiter.set_total_tokens(3).unwrap();
    for line in rx.iter() {
        println!("  {line}");
    }
    join_all(&rt, handles);
    println!("main lowers the total to 1 while holding 2");
    limiter.set_total_tokens(1).unwrap();
    println!(
        "  nothing is taken away: {} borrowed of {}, {} available",
        limiter.borrowed_tokens(),
        limiter.total_tokens(),
        limiter.available_tokens()
    );
    drop(t_reserve);
    drop(t_main);
    println!("main gives both back: {limiter:?}");

    let guard = Arc::new(ResourceGuard::new("writing to"));
    let writing = guard.enter().unwrap();
    let g2 = guard.clone();
    let second = rt.block_on(async move {
        tokio::spawn(async move { g2.enter().map(drop) })
            .await
            .unwrap()
    });
    println!(
        "a second writer, while the first writes: {}",
        second.unwrap_err()
    );
    drop(writing);
    println!(
        "after the first is done: entered = {}",
        guard.enter().is_ok()
    );
}
