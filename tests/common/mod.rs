//! Test support shared by the integration tests (`mod common;` in each file):
//! a tokio runtime, polling once with a no-op waker, bounded waits that fail
//! with a message instead of hanging, a waker that counts its wake-ups, and
//! (`alloc_count`) a counting global allocator for the tests that register
//! it.
//!
//! Every integration test file is its own crate and uses only some of these
//! helpers, so the ones a file does not use would be reported as dead code
//! there: hence the `allow` below (the whole set is used across the files).
#![allow(dead_code)]

pub mod alloc_count;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use dualsync::{CapacityLimiter, Condition, Event, Mutex, RwLock};

/// How long a bounded wait ([`eventually`], [`until_waiting`]) may take
/// before it fails the test.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A 2-worker multi-thread tokio runtime with time (and I/O) enabled.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Polls `f` once with a no-op waker.
pub fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Waits (sleeping 1 ms between checks) until `cond` holds; fails naming
/// `what` after [`PATIENCE`].
pub fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < PATIENCE, "never: {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A primitive whose statistics count the threads and tasks queued on it.
pub trait Waiters: Debug {
    /// `statistics().waiting`.
    fn waiting(&self) -> usize;
}

impl Waiters for Condition {
    fn waiting(&self) -> usize {
        self.statistics().waiting
    }
}

impl Waiters for Event {
    fn waiting(&self) -> usize {
        self.statistics().waiting
    }
}

impl Waiters for CapacityLimiter {
    fn waiting(&self) -> usize {
        self.statistics().waiting
    }
}

impl<T: ?Sized + Debug> Waiters for Mutex<T> {
    fn waiting(&self) -> usize {
        self.statistics().waiting
    }
}

impl<T: ?Sized> Waiters for RwLock<T> {
    fn waiting(&self) -> usize {
        self.statistics().waiting
    }
}

impl<W: Waiters + ?Sized> Waiters for Arc<W> {
    fn waiting(&self) -> usize {
        (**self).waiting()
    }
}

/// Waits (sleeping 1 ms between checks) until exactly `n` threads/tasks are
/// queued on `w`; fails with its state after [`PATIENCE`].
pub fn until_waiting(w: &(impl Waiters + ?Sized), n: usize) {
    let t0 = Instant::now();
    while w.waiting() != n {
        assert!(t0.elapsed() < PATIENCE, "never got {n} waiters: {w:?}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `f` on its own thread and fails (instead of hanging) if it does not
/// finish within `secs`: a lost wake-up or a deadlock becomes a failure.
pub fn within<F: FnOnce() + Send + 'static>(secs: u64, f: F) {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => h.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: surface its panic.
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: not done within {secs}s"),
    }
}

/// A mutex in the fair (strict FIFO hand-off) or the default mode.
pub fn new_mutex<T>(fair: bool, value: T) -> Mutex<T> {
    if fair {
        Mutex::new_fair(value)
    } else {
        Mutex::new(value)
    }
}

/// A reader-writer lock in the fair (strict FIFO hand-off) or the default
/// mode.
pub fn new_rwlock<T>(fair: bool, value: T) -> RwLock<T> {
    if fair {
        RwLock::new_fair(value)
    } else {
        RwLock::new(value)
    }
}

/// A waker that counts how often it was woken.
pub struct CountWaker(pub AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fresh [`CountWaker`] (to read the count) and the [`Waker`] over it.
pub fn counting() -> (Arc<CountWaker>, Waker) {
    let c = Arc::new(CountWaker(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}
