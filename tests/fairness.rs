//! The fairness bound, measured where it used to break: a holder that
//! re-locks every ~20 µs, every core kept busy by other threads (a
//! service with more runnable threads than cores), and one `lock().block()`
//! whose overtakes are counted from the moment of the call.
//!
//! Strict hand-off (`new_fair`): at most 2 re-locks (the one in progress
//! when the call starts, and none after the caller queued). Bounded barging
//! (`new`): at most `FAIRNESS_BOUND / hold + 2`, because a woken head stays
//! the head while it is off the CPU. Each bound is checked on every call but
//! the worst of 15: a caller preempted in the few hundred nanoseconds
//! between its failed try and its queueing owes its delay to the scheduler,
//! not to the lock; once queued, nothing but the bound lets it be
//! overtaken.
//!
//! The tests run one at a time (`ONE_AT_A_TIME`): each sets up its own
//! oversubscription (one busy thread per core, the holder and the caller).
//! Run side by side, the ten of them made 40 runnable threads on 2 cores;
//! a caller then went off the CPU for milliseconds in its pre-queue window
//! often enough that two calls in fifteen were overtaken 77 and 160 times
//! (a ThreadSanitizer CI run, where everything is 5-15x slower), which
//! measures the scheduler, not the lock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use dualsync::{BoundedSemaphore, CapacityLimiter, FAIRNESS_BOUND, Mutex, RwLock, Semaphore};

const HOLD: Duration = Duration::from_micros(20);
const CALLS: usize = 15;

/// Held by each test for its whole measurement (see the module docs).
static ONE_AT_A_TIME: StdMutex<()> = StdMutex::new(());

fn spin_for(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Busy threads on every core until `stop`.
fn oversubscribe(stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    spin_for(Duration::from_micros(50));
                }
            })
        })
        .collect()
}

/// Runs `CALLS` measured acquisitions against a re-acquiring holder and
/// returns the second-largest number of the holder's re-acquisitions
/// during one (every call but the worst).
fn overtakes<L: Send + Sync + 'static>(
    lock: L,
    hold_once: fn(&L, Duration),
    acquire_once: fn(&L),
) -> u64 {
    // A test that failed still released it: its poisoning is not ours.
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let lock = Arc::new(lock);
    let stop = Arc::new(AtomicBool::new(false));
    let relocks = Arc::new(AtomicU64::new(0));
    let holder = {
        let (lock, stop, relocks) = (lock.clone(), stop.clone(), relocks.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                hold_once(&lock, HOLD);
                relocks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let busy = oversubscribe(&stop);
    // Let the holder get going.
    while relocks.load(Ordering::SeqCst) < 100 {
        std::thread::yield_now();
    }
    let mut counts: Vec<u64> = (0..CALLS)
        .map(|_| {
            let before = relocks.load(Ordering::SeqCst);
            acquire_once(&lock);
            let n = relocks.load(Ordering::SeqCst) - before;
            // Give the holder the lock back for a while.
            std::thread::sleep(Duration::from_millis(2));
            n
        })
        .collect();
    stop.store(true, Ordering::Relaxed);
    holder.join().unwrap();
    for b in busy {
        b.join().unwrap();
    }
    counts.sort_unstable();
    eprintln!("overtakes per call, sorted: {counts:?}");
    counts[CALLS - 2]
}

fn mutex_hold(m: &Mutex<()>, d: Duration) {
    let _g = m.lock().block();
    spin_for(d);
}

fn mutex_acquire(m: &Mutex<()>) {
    drop(m.lock().block());
}

fn sem_hold(s: &Semaphore, d: Duration) {
    let _p = s.acquire().block().unwrap();
    spin_for(d);
}

fn sem_acquire(s: &Semaphore) {
    drop(s.acquire().block().unwrap());
}

fn bounded_hold(s: &BoundedSemaphore, d: Duration) {
    let _p = s.acquire().block().unwrap();
    spin_for(d);
}

fn bounded_acquire(s: &BoundedSemaphore) {
    drop(s.acquire().block().unwrap());
}

fn limiter_hold(l: &CapacityLimiter, d: Duration) {
    let _t = l.acquire().block().unwrap();
    spin_for(d);
}

fn limiter_acquire(l: &CapacityLimiter) {
    drop(l.acquire().block().unwrap());
}

fn rw_hold(l: &RwLock<()>, d: Duration) {
    let _g = l.write().block();
    spin_for(d);
}

fn rw_acquire(l: &RwLock<()>) {
    drop(l.write().block());
}

fn barging_limit() -> u64 {
    (FAIRNESS_BOUND.as_micros() / HOLD.as_micros()) as u64 + 2
}

/// A strict test (`new_fair`: at most 2 re-acquisitions during one call)
/// and a bounded-barging test (`new`: within [`barging_limit`]) for one
/// primitive.
macro_rules! fairness_tests {
    ($strict:ident, $barging:ident, $fair:expr, $new:expr, $hold:expr, $acquire:expr) => {
        #[test]
        fn $strict() {
            let n = overtakes($fair, $hold, $acquire);
            assert!(n <= 2, "overtakes {n} > 2");
        }

        #[test]
        fn $barging() {
            let n = overtakes($new, $hold, $acquire);
            assert!(n <= barging_limit(), "overtakes {n} > {}", barging_limit());
        }
    };
}

fairness_tests!(
    strict_mutex_is_not_overtaken,
    barging_mutex_is_overtaken_within_the_bound,
    Mutex::new_fair(()),
    Mutex::new(()),
    mutex_hold,
    mutex_acquire
);
fairness_tests!(
    strict_semaphore_is_not_overtaken,
    barging_semaphore_is_overtaken_within_the_bound,
    Semaphore::new_fair(1),
    Semaphore::new(1),
    sem_hold,
    sem_acquire
);
fairness_tests!(
    strict_bounded_semaphore_is_not_overtaken,
    barging_bounded_semaphore_is_overtaken_within_the_bound,
    BoundedSemaphore::new_fair(1),
    BoundedSemaphore::new(1),
    bounded_hold,
    bounded_acquire
);
fairness_tests!(
    strict_limiter_is_not_overtaken,
    barging_limiter_is_overtaken_within_the_bound,
    CapacityLimiter::new_fair(1),
    CapacityLimiter::new(1),
    limiter_hold,
    limiter_acquire
);
fairness_tests!(
    strict_rwlock_writer_is_not_overtaken,
    barging_rwlock_writer_is_overtaken_within_the_bound,
    RwLock::new_fair(()),
    RwLock::new(()),
    rw_hold,
    rw_acquire
);
