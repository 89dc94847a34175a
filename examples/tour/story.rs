//! What the stories share: telling one three times under its headings, the
//! tokio runtime they run their tasks on, whether a worker is a task or a
//! thread (and its handle), and a bounded wait for the next step.

use std::time::{Duration, Instant};

/// The heading of the third telling in most stories.
pub const MIXED: &str = "threads and tasks mixed";

/// Tells a story three times, each under its heading: all tasks (tokio),
/// all threads, and then `mixed_title`.
pub fn three_times(
    mixed_title: &str,
    tasks: impl FnOnce(),
    threads: impl FnOnce(),
    mixed: impl FnOnce(),
) {
    println!("-- all tasks (tokio) --");
    tasks();
    println!();
    println!("-- all threads --");
    threads();
    println!();
    println!("-- {mixed_title} --");
    mixed();
}

/// Tells `story` three times, telling it which kind worker number `id` is:
/// all tasks, all threads, then the odd-numbered workers as tasks and the
/// even-numbered ones as threads.
pub fn by_mode(story: impl Fn(fn(usize) -> Mode)) {
    three_times(
        MIXED,
        || story(|_| Mode::Task),
        || story(|_| Mode::Thread),
        || story(Mode::alternating),
    );
}

/// Whether a worker is a tokio task or an OS thread.
#[derive(Clone, Copy)]
pub enum Mode {
    Task,
    Thread,
}

impl Mode {
    /// `"task"` or `"thread"`, as the printout names it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Task => "task",
            Mode::Thread => "thread",
        }
    }

    /// Odd-numbered workers are tasks, even-numbered ones threads.
    pub fn alternating(id: usize) -> Mode {
        if id % 2 == 1 {
            Mode::Task
        } else {
            Mode::Thread
        }
    }
}

/// A worker started as a task or as a thread.
pub enum Handle {
    Task(tokio::task::JoinHandle<()>),
    Thread(std::thread::JoinHandle<()>),
}

/// Waits for every worker to finish (tasks on `rt`); a panic in one is
/// passed on.
pub fn join_all(rt: &tokio::runtime::Runtime, handles: Vec<Handle>) {
    for h in handles {
        match h {
            Handle::Task(t) => rt.block_on(t).expect("tour task"),
            Handle::Thread(t) => t.join().expect("tour thread"),
        }
    }
}

/// A 2-worker multi-thread tokio runtime with timers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// Sleeps until `cond` holds; stops the tour, naming `what`, if that takes
/// more than 10 s (a stuck story, rather than a hang).
pub fn until(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "stuck: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
