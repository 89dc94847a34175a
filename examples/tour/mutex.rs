//! The asyncio `Lock` story (the classic `asyncio_lock.py` demo): the lock is
//! taken before two workers start; both queue up for it; a callback releases
//! it later; the workers then get it in the order they arrived. Worker 1 uses
//! the guard's scope (`async with lock:`), worker 2 acquires and releases
//! explicitly (`await lock.acquire()` ... `lock.release()`).
//!
//! The callback holds an owned guard from `lock_arc()`, moved into it: the
//! lock taken by `main` is released by someone else, as in asyncio.
//!
//! The printout is deterministic: worker 2 starts only once worker 1 is
//! queued, the callback fires only once both are queued, and every line is
//! printed by whoever holds the lock (or before anyone could overtake it).

use std::sync::Arc;
use std::time::Duration;

use dualsync::{Mutex, MutexGuard, OwnedMutexGuard};

use crate::story::{self, runtime, until};

/// Told three times: all tasks, all threads, threads and tasks mixed.
pub fn run() {
    story::three_times(story::MIXED, tasks, threads, mixed);
}

/// How many threads and tasks are queued on the lock right now.
fn waiting(lock: &Mutex<()>) -> usize {
    lock.statistics().waiting
}

/// What the callback does once both workers wait: release the lock that
/// `main` took (`lock.release()` in asyncio), by dropping the owned guard.
fn release(who: &str, lock: &Mutex<()>, guard: OwnedMutexGuard<()>) {
    println!("{who} releasing the lock: {lock:?}");
    drop(guard);
}

/// Worker 1, scoped guard (`async with lock:`), as a task.
async fn worker1_task(lock: Arc<Mutex<()>>) {
    println!("worker 1 (task) waiting for the lock");
    {
        let _guard = lock.lock().await;
        println!("worker 1 (task) acquired the lock");
        println!("worker 1 (task) leaves its scope: the guard releases the lock");
    }
}

/// Worker 2, explicit acquire and release, as a task.
async fn worker2_task(lock: Arc<Mutex<()>>) {
    println!("worker 2 (task) waiting for the lock");
    let guard = lock.lock().await;
    println!("worker 2 (task) acquired the lock");
    println!("worker 2 (task) releases the lock");
    MutexGuard::unlock(guard);
}

/// Worker 1, scoped guard, as a thread.
fn worker1_thread(lock: Arc<Mutex<()>>) {
    println!("worker 1 (thread) waiting for the lock");
    {
        let _guard = lock.lock().block();
        println!("worker 1 (thread) acquired the lock");
        println!("worker 1 (thread) leaves its scope: the guard releases the lock");
    }
}

/// Worker 2, explicit acquire and release, as a thread.
fn worker2_thread(lock: Arc<Mutex<()>>) {
    println!("worker 2 (thread) waiting for the lock");
    let guard = lock.lock().block();
    println!("worker 2 (thread) acquired the lock");
    println!("worker 2 (thread) releases the lock");
    MutexGuard::unlock(guard);
}

fn tasks() {
    runtime().block_on(async {
        let lock = Arc::new(Mutex::new(()));
        println!("main (task) acquiring the lock before starting the workers");
        let guard = lock.lock_arc().await;
        println!("main (task) lock acquired: locked={}", lock.is_locked());

        // `loop.call_later(...)`: a task that releases the lock later.
        let callback = {
            let lock = lock.clone();
            tokio::spawn(async move {
                while waiting(&lock) < 2 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                release("callback (task)", &lock, guard);
            })
        };

        println!("main (task) waiting for the workers");
        let w1 = tokio::spawn(worker1_task(lock.clone()));
        while waiting(&lock) < 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let w2 = tokio::spawn(worker2_task(lock.clone()));
        for t in [callback, w1, w2] {
            t.await.expect("tour task panicked");
        }
        println!("main (task) done: {lock:?}");
    });
}

/// `main` (a thread) takes the lock before starting the workers; the owned
/// guard will go to the callback.
fn main_thread_takes_the_lock() -> (Arc<Mutex<()>>, OwnedMutexGuard<()>) {
    let lock = Arc::new(Mutex::new(()));
    println!("main (thread) acquiring the lock before starting the workers");
    let guard = lock.lock_arc().block();
    println!("main (thread) lock acquired: locked={}", lock.is_locked());
    (lock, guard)
}

/// `main` (a thread) starts worker 1 as a thread and waits until it is
/// queued on the lock, so that worker 2 arrives second.
fn start_worker1_thread(lock: &Arc<Mutex<()>>) -> std::thread::JoinHandle<()> {
    println!("main (thread) waiting for the workers");
    let w1 = {
        let lock = lock.clone();
        std::thread::spawn(move || worker1_thread(lock))
    };
    until("worker 1 queued", || waiting(lock) >= 1);
    w1
}

fn threads() {
    let (lock, guard) = main_thread_takes_the_lock();

    let callback = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            until("both workers queued", || waiting(&lock) >= 2);
            release("callback (thread)", &lock, guard);
        })
    };

    let w1 = start_worker1_thread(&lock);
    let w2 = {
        let lock = lock.clone();
        std::thread::spawn(move || worker2_thread(lock))
    };
    for t in [callback, w1, w2] {
        t.join().expect("tour thread panicked");
    }
    println!("main (thread) done: {lock:?}");
}

/// `main` is a thread; the callback that releases its lock is a task (the
/// owned guard moves from the thread into the task); worker 1 is a thread
/// and worker 2 a task, queued on the same lock.
fn mixed() {
    let rt = runtime();
    let (lock, guard) = main_thread_takes_the_lock();

    let callback = {
        let lock = lock.clone();
        rt.spawn(async move {
            while waiting(&lock) < 2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            release("callback (task)", &lock, guard);
        })
    };

    let w1 = start_worker1_thread(&lock);
    let w2 = rt.spawn(worker2_task(lock.clone()));
    w1.join().expect("tour thread panicked");
    rt.block_on(async {
        callback.await.expect("tour task panicked");
        w2.await.expect("tour task panicked");
    });
    println!("main (thread) done: {lock:?}");
}
