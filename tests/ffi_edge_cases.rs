//! The C ABI's edge cases (issue 12, part 2), from Rust: one test each.
//!
//! * `_free` while another call is in progress: refused (`BUSY`), also for
//!   a call that is no longer a waiter (a notified condition waiter still
//!   re-locking); and a woken thread that frees the handle at once, for
//!   every waiting primitive, never frees it under its waker. The barrier
//!   round is the case the C suite found: the last arrival resets the count
//!   and then unlocks the queue after the other party can already see its
//!   result. Under ThreadSanitizer (`scripts/tsan.sh` runs this file) the
//!   old `_free`, which read the count without the lock and without waiting
//!   for the waker's call to end, is a reported race.
//! * The other way round: the C fast paths that are not counted (a lock,
//!   unlock, acquire or release in one atomic step, nobody waiting) never
//!   make a `_free` refuse, and a free right after one of them, by the
//!   thread that saw its effect, frees nothing still in use.
//! * Semaphore counts: 0 and past `MAX_PERMITS`, the same answer in C and
//!   in Rust (`add_permits`, `acquire_many`, `BoundedSemaphore`).
//! * Queue capacity: `SIZE_MAX` reported as given (C and Rust), 0 is C's
//!   spelling of Rust's `None`, `Queue::bounded(0)` panics.
//! * `dualsync_queue_try_join`; NULL queue items.
//! * `n_waiting` for the mutex, the event and the condition (Rust waiters
//!   count too).
//! * The header says all of it (`try_wait` of the condition included).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;
use dualsync::{BoundedSemaphore, Lifo, MAX_PERMITS, Priority, Queue, ReleaseError, Semaphore};

/// A C handle that crosses threads (the C ABI is thread-safe).
struct P<T>(*mut T);
impl<T> Clone for P<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for P<T> {}
impl<T> P<T> {
    /// The pointer (a method, so that closures capture the whole `P`).
    fn p(self) -> *mut T {
        self.0
    }
}
// SAFETY: every handle type is `Sync` and its C functions are thread-safe;
// each test uses a handle only while it is live (see `c!`).
unsafe impl<T> Send for P<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for P<T> {}

/// Calls a C ABI function. Every call in this file passes NULL or a live
/// handle (a handle is freed only by the last thread that uses it, after
/// its last call) and out pointers that are NULL or point to a local.
macro_rules! c {
    ($e:expr) => {{
        // SAFETY: see the macro's doc: live or NULL handles, valid or NULL
        // out pointers.
        #[allow(unused_unsafe)]
        unsafe {
            $e
        }
    }};
}

/// Polls `count` until it returns `want` (20 s at most).
fn wait_until(what: &str, want: usize, mut count: impl FnMut() -> usize) {
    let start = Instant::now();
    while count() != want {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} never reached {want}"
        );
        std::thread::yield_now();
    }
}

/// Frees with `free`, retrying while it is BUSY; returns how many times it
/// was.
fn free_retrying(mut free: impl FnMut() -> dualsync_status) -> usize {
    let mut busy = 0;
    loop {
        match free() {
            DUALSYNC_OK => return busy,
            DUALSYNC_BUSY => {
                busy += 1;
                std::thread::yield_now();
            }
            s => panic!("free: {s:?}"),
        }
    }
}

fn mutex_waiting(m: P<dualsync_mutex_t>) -> usize {
    let mut n = usize::MAX;
    assert_eq!(c!(dualsync_mutex_n_waiting(m.p(), &mut n)), DUALSYNC_OK);
    n
}
fn event_waiting(e: P<dualsync_event_t>) -> usize {
    let mut n = usize::MAX;
    assert_eq!(c!(dualsync_event_n_waiting(e.p(), &mut n)), DUALSYNC_OK);
    n
}
fn cond_waiting(cv: P<dualsync_condition_t>) -> usize {
    let mut n = usize::MAX;
    assert_eq!(
        c!(dualsync_condition_n_waiting(cv.p(), &mut n)),
        DUALSYNC_OK
    );
    n
}

// ---- free while a call is in progress ----

#[test]
fn barrier_free_right_after_a_round_waits_for_the_leader() {
    const ROUNDS: usize = 1000;
    let mut busy = 0;
    for _ in 0..ROUNDS {
        let b = P(dualsync_barrier_new(2));
        assert!(!b.p().is_null());
        // Both parties wait; the one that is not the leader (index 0) frees
        // the barrier as soon as its wait returns, while the leader may
        // still be inside its own call.
        let party = move || {
            let mut index = usize::MAX;
            assert_eq!(c!(dualsync_barrier_wait(b.p(), &mut index)), DUALSYNC_OK);
            if index == 0 {
                free_retrying(|| c!(dualsync_barrier_free(b.p())))
            } else {
                assert_eq!(index, 1);
                0
            }
        };
        let t = std::thread::spawn(party);
        busy += party() + t.join().unwrap();
    }
    eprintln!("barrier: free said BUSY {busy} times in {ROUNDS} rounds");
}

#[test]
fn every_primitive_freed_by_the_thread_it_woke() {
    const ROUNDS: usize = 200;
    let mut busy = 0;
    for round in 0..ROUNDS {
        // Mutex: the unlock hands the lock to a blocked locker, which
        // unlocks and frees.
        let m = P(dualsync_mutex_new(round % 2 == 0));
        assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
        let t = std::thread::spawn(move || {
            assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
            assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
            free_retrying(|| c!(dualsync_mutex_free(m.p())))
        });
        wait_until("mutex waiters", 1, || mutex_waiting(m));
        assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
        busy += t.join().unwrap();

        // Event.
        let e = P(dualsync_event_new());
        let t = std::thread::spawn(move || {
            assert_eq!(c!(dualsync_event_wait(e.p())), DUALSYNC_OK);
            free_retrying(|| c!(dualsync_event_free(e.p())))
        });
        wait_until("event waiters", 1, || event_waiting(e));
        assert_eq!(c!(dualsync_event_set(e.p())), DUALSYNC_OK);
        busy += t.join().unwrap();

        // Condition (and its mutex).
        let (cv, m) = (P(dualsync_condition_new()), P(dualsync_mutex_new(false)));
        let t = std::thread::spawn(move || {
            assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
            assert_eq!(c!(dualsync_condition_wait(cv.p(), m.p())), DUALSYNC_OK);
            assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
            free_retrying(|| c!(dualsync_condition_free(cv.p())))
                + free_retrying(|| c!(dualsync_mutex_free(m.p())))
        });
        wait_until("condition waiters", 1, || cond_waiting(cv));
        assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
        let mut woken = 0;
        assert_eq!(
            c!(dualsync_condition_notify(cv.p(), 1, &mut woken)),
            DUALSYNC_OK
        );
        assert_eq!(woken, 1);
        assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
        busy += t.join().unwrap();

        // Semaphore.
        let s = P(dualsync_semaphore_new(0, false));
        let t = std::thread::spawn(move || {
            assert_eq!(c!(dualsync_semaphore_acquire(s.p())), DUALSYNC_OK);
            free_retrying(|| c!(dualsync_semaphore_free(s.p())))
        });
        wait_until("semaphore waiters", 1, || {
            let mut n = 0;
            assert_eq!(c!(dualsync_semaphore_n_waiting(s.p(), &mut n)), DUALSYNC_OK);
            n
        });
        assert_eq!(c!(dualsync_semaphore_release(s.p(), 1)), DUALSYNC_OK);
        busy += t.join().unwrap();

        // Queue.
        let q = P(dualsync_queue_new(
            if round % 2 == 0 { 4 } else { 0 },
            DUALSYNC_QUEUE_FIFO,
        ));
        let t = std::thread::spawn(move || {
            let mut item = std::ptr::null_mut();
            assert_eq!(c!(dualsync_queue_get(q.p(), &mut item)), DUALSYNC_OK);
            assert_eq!(item, q.p().cast());
            free_retrying(|| c!(dualsync_queue_free(q.p())))
        });
        wait_until("queue getters", 1, || {
            let mut st = dualsync_queue_stats_t::default();
            assert_eq!(c!(dualsync_queue_statistics(q.p(), &mut st)), DUALSYNC_OK);
            st.getters_waiting
        });
        assert_eq!(c!(dualsync_queue_put(q.p(), q.p().cast(), 0)), DUALSYNC_OK);
        busy += t.join().unwrap();

        // Capacity limiter.
        let l = P(dualsync_limiter_new(1));
        assert_eq!(c!(dualsync_limiter_acquire(l.p(), 1)), DUALSYNC_OK);
        let t = std::thread::spawn(move || {
            assert_eq!(c!(dualsync_limiter_acquire(l.p(), 2)), DUALSYNC_OK);
            assert_eq!(c!(dualsync_limiter_release(l.p(), 2)), DUALSYNC_OK);
            free_retrying(|| c!(dualsync_limiter_free(l.p())))
        });
        wait_until("limiter waiters", 1, || {
            let mut n = 0;
            assert_eq!(c!(dualsync_limiter_n_waiting(l.p(), &mut n)), DUALSYNC_OK);
            n
        });
        assert_eq!(c!(dualsync_limiter_release(l.p(), 1)), DUALSYNC_OK);
        busy += t.join().unwrap();
    }
    eprintln!("free said BUSY {busy} times in {ROUNDS} rounds of 6 primitives");
}

#[test]
fn condition_and_mutex_free_are_busy_during_a_condition_wait() {
    let (cv, m) = (P(dualsync_condition_new()), P(dualsync_mutex_new(false)));
    let t = std::thread::spawn(move || {
        assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
        assert_eq!(c!(dualsync_condition_wait(cv.p(), m.p())), DUALSYNC_OK);
        assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
    });
    wait_until("condition waiters", 1, || cond_waiting(cv));
    // A condition waiter links first and releases the mutex second, so the
    // count above can come before the unlock: wait for that too.
    wait_until("the waiter's unlock", 0, || {
        let mut locked = true;
        assert_eq!(
            c!(dualsync_mutex_is_locked(m.p(), &mut locked)),
            DUALSYNC_OK
        );
        usize::from(locked)
    });
    // The waiter released the mutex (unlocked, nobody queued on it), but
    // its `dualsync_condition_wait` will lock it again: the mutex is in use.
    assert_eq!(mutex_waiting(m), 0);
    assert_eq!(c!(dualsync_mutex_free(m.p())), DUALSYNC_BUSY);
    assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
    let mut woken = 0;
    assert_eq!(
        c!(dualsync_condition_notify(cv.p(), 1, &mut woken)),
        DUALSYNC_OK
    );
    assert_eq!(woken, 1);
    // Notified: no longer a condition waiter, but blocked re-locking the
    // mutex main holds, inside `dualsync_condition_wait`.
    wait_until("mutex waiters", 1, || mutex_waiting(m));
    assert_eq!(cond_waiting(cv), 0);
    assert_eq!(c!(dualsync_condition_free(cv.p())), DUALSYNC_BUSY);
    // The mutex: locked and waited on.
    assert_eq!(c!(dualsync_mutex_free(m.p())), DUALSYNC_BUSY);
    assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
    t.join().unwrap();
    assert_eq!(c!(dualsync_condition_free(cv.p())), DUALSYNC_OK);
    assert_eq!(c!(dualsync_mutex_free(m.p())), DUALSYNC_OK);
}

#[test]
fn barrier_free_is_busy_while_a_party_waits() {
    let b = P(dualsync_barrier_new(2));
    let t = std::thread::spawn(move || {
        let mut index = usize::MAX;
        assert_eq!(c!(dualsync_barrier_wait(b.p(), &mut index)), DUALSYNC_OK);
        index
    });
    wait_until("barrier waiters", 1, || {
        let mut n = 0;
        assert_eq!(c!(dualsync_barrier_n_waiting(b.p(), &mut n)), DUALSYNC_OK);
        n
    });
    assert_eq!(c!(dualsync_barrier_free(b.p())), DUALSYNC_BUSY);
    let mut index = usize::MAX;
    assert_eq!(c!(dualsync_barrier_wait(b.p(), &mut index)), DUALSYNC_OK);
    assert_eq!((index, t.join().unwrap()), (1, 0));
    assert_eq!(c!(dualsync_barrier_free(b.p())), DUALSYNC_OK);
}

/// Runs `other` on a thread and `this` here, `ROUNDS` times, each round on
/// a fresh handle from `new`: `other` makes fast-path calls and raises its
/// flag at a point `this` waits for; `this` then learns of `other`'s last
/// call through the primitive only and frees the handle at once, while
/// `other` may still be returning from that call. The free must succeed
/// (a fast path is not counted) and free nothing in use (ThreadSanitizer
/// and valgrind runs of this file would see it).
fn free_after_fast_path<H: 'static>(
    what: &str,
    new: fn() -> *mut H,
    other: fn(P<H>, &AtomicBool),
    this: fn(P<H>, &AtomicBool) -> dualsync_status,
) {
    const ROUNDS: usize = 500;
    for round in 0..ROUNDS {
        let h = P(new());
        assert!(!h.p().is_null());
        let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let t = std::thread::spawn(move || other(h, flag));
        assert_eq!(this(h, flag), DUALSYNC_OK, "{what}: free, round {round}");
        t.join().unwrap();
        // SAFETY: leaked above, no thread uses it any more.
        drop(unsafe { Box::from_raw(std::ptr::from_ref(flag).cast_mut()) });
    }
}

fn spin_until(cond: impl Fn() -> bool) {
    wait_until("the other thread", 1, || usize::from(cond()));
}

#[test]
fn free_right_after_uncounted_fast_paths() {
    // Mutex: the other thread locks (one CAS), waits to be seen, unlocks
    // (one CAS, nobody queued: this thread only tries); this thread takes
    // the lock the moment it is free, unlocks and frees.
    free_after_fast_path(
        "mutex",
        || dualsync_mutex_new(false),
        |m, seen| {
            assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
            spin_until(|| seen.load(Ordering::Acquire));
            assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
        },
        |m, seen| {
            spin_until(|| {
                let mut locked = false;
                assert_eq!(
                    c!(dualsync_mutex_is_locked(m.p(), &mut locked)),
                    DUALSYNC_OK
                );
                locked
            });
            seen.store(true, Ordering::Release);
            spin_until(|| c!(dualsync_mutex_try_lock(m.p())) == DUALSYNC_OK);
            assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
            c!(dualsync_mutex_free(m.p()))
        },
    );
    // Semaphore: the other thread acquires and releases (one CAS each,
    // nobody waiting); this thread takes the permit back the moment it is
    // released, and frees.
    free_after_fast_path(
        "semaphore",
        || dualsync_semaphore_new(1, false),
        |s, seen| {
            assert_eq!(c!(dualsync_semaphore_acquire(s.p())), DUALSYNC_OK);
            seen.store(true, Ordering::Release);
            assert_eq!(c!(dualsync_semaphore_release(s.p(), 1)), DUALSYNC_OK);
        },
        |s, seen| {
            spin_until(|| seen.load(Ordering::Acquire));
            spin_until(|| c!(dualsync_semaphore_try_acquire(s.p())) == DUALSYNC_OK);
            c!(dualsync_semaphore_free(s.p()))
        },
    );
    // RwLock, read then write: the other thread's unlock is the last call.
    free_after_fast_path(
        "rwlock read",
        || dualsync_rwlock_new(false),
        |l, seen| {
            assert_eq!(c!(dualsync_rwlock_read(l.p())), DUALSYNC_OK);
            seen.store(true, Ordering::Release);
            assert_eq!(c!(dualsync_rwlock_read_unlock(l.p())), DUALSYNC_OK);
        },
        |l, seen| {
            spin_until(|| seen.load(Ordering::Acquire));
            spin_until(|| c!(dualsync_rwlock_try_write(l.p())) == DUALSYNC_OK);
            assert_eq!(c!(dualsync_rwlock_write_unlock(l.p())), DUALSYNC_OK);
            c!(dualsync_rwlock_free(l.p()))
        },
    );
    free_after_fast_path(
        "rwlock write",
        || dualsync_rwlock_new(true),
        |l, seen| {
            assert_eq!(c!(dualsync_rwlock_write(l.p())), DUALSYNC_OK);
            seen.store(true, Ordering::Release);
            assert_eq!(c!(dualsync_rwlock_write_unlock(l.p())), DUALSYNC_OK);
        },
        |l, seen| {
            spin_until(|| seen.load(Ordering::Acquire));
            spin_until(|| c!(dualsync_rwlock_try_read(l.p())) == DUALSYNC_OK);
            assert_eq!(c!(dualsync_rwlock_read_unlock(l.p())), DUALSYNC_OK);
            c!(dualsync_rwlock_free(l.p()))
        },
    );
    // Event: the other thread's wait finds it set (one load), then it
    // clears it (one `fetch_and`); this thread frees once it sees it clear.
    free_after_fast_path(
        "event",
        || {
            let e = dualsync_event_new();
            assert_eq!(c!(dualsync_event_set(e)), DUALSYNC_OK);
            e
        },
        |e, _| {
            assert_eq!(c!(dualsync_event_wait(e.p())), DUALSYNC_OK);
            assert_eq!(c!(dualsync_event_clear(e.p())), DUALSYNC_OK);
        },
        |e, _| {
            spin_until(|| c!(dualsync_event_try_wait(e.p())) == DUALSYNC_WOULD_BLOCK);
            c!(dualsync_event_free(e.p()))
        },
    );
    // Resource guard: enter and exit are one CAS each.
    free_after_fast_path(
        "resource guard",
        || c!(dualsync_resource_guard_new(c"using".as_ptr())),
        |g, seen| {
            assert_eq!(c!(dualsync_resource_guard_enter(g.p())), DUALSYNC_OK);
            seen.store(true, Ordering::Release);
            assert_eq!(c!(dualsync_resource_guard_exit(g.p())), DUALSYNC_OK);
        },
        |g, seen| {
            spin_until(|| seen.load(Ordering::Acquire));
            spin_until(|| c!(dualsync_resource_guard_enter(g.p())) == DUALSYNC_OK);
            assert_eq!(c!(dualsync_resource_guard_exit(g.p())), DUALSYNC_OK);
            c!(dualsync_resource_guard_free(g.p()))
        },
    );
}

/// The slow paths still count: a C call blocked on a handle that Rust
/// also holds (so `_free` skips the checks on the primitive's state and
/// only the count can refuse) keeps the handle from being freed.
#[test]
fn blocked_calls_still_count() {
    let m = Arc::new(dualsync::Mutex::new(()));
    let guard = m.try_lock().unwrap();
    let hm = P(dualsync_mutex_t::from_arc(m.clone()));
    let s = Arc::new(Semaphore::new_fair(0));
    let hs = P(dualsync_semaphore_t::from_arc(s.clone()));
    let l = Arc::new(dualsync::RwLock::new(()));
    let wguard = l.try_write().unwrap();
    let hl = P(dualsync_rwlock_t::from_arc(l.clone()));
    let threads = [
        std::thread::spawn(move || {
            assert_eq!(c!(dualsync_mutex_lock(hm.p())), DUALSYNC_OK);
            assert_eq!(c!(dualsync_mutex_unlock(hm.p())), DUALSYNC_OK);
        }),
        std::thread::spawn(move || {
            assert_eq!(c!(dualsync_semaphore_acquire(hs.p())), DUALSYNC_OK);
        }),
        std::thread::spawn(move || {
            assert_eq!(c!(dualsync_rwlock_read(hl.p())), DUALSYNC_OK);
            assert_eq!(c!(dualsync_rwlock_read_unlock(hl.p())), DUALSYNC_OK);
        }),
    ];
    wait_until("mutex waiters", 1, || m.statistics().waiting);
    wait_until("semaphore waiters", 1, || s.statistics().waiting);
    wait_until("rwlock waiters", 1, || l.statistics().waiting);
    assert_eq!(c!(dualsync_mutex_free(hm.p())), DUALSYNC_BUSY);
    assert_eq!(c!(dualsync_semaphore_free(hs.p())), DUALSYNC_BUSY);
    assert_eq!(c!(dualsync_rwlock_free(hl.p())), DUALSYNC_BUSY);
    drop(guard);
    s.add_permits(1).unwrap();
    drop(wguard);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(c!(dualsync_mutex_free(hm.p())), DUALSYNC_OK);
    assert_eq!(c!(dualsync_semaphore_free(hs.p())), DUALSYNC_OK);
    assert_eq!(c!(dualsync_rwlock_free(hl.p())), DUALSYNC_OK);
}

// ---- semaphore counts: C and Rust agree ----

/// A C status for a Rust release result, the way the header maps them.
fn release_status(r: Result<(), ReleaseError>) -> dualsync_status {
    match r {
        Ok(()) => DUALSYNC_OK,
        Err(ReleaseError::OverRelease) => DUALSYNC_OVER_RELEASE,
        Err(ReleaseError::Overflow) => DUALSYNC_OVERFLOW,
    }
}

#[test]
fn semaphore_counts_agree_with_rust() {
    assert_eq!(DUALSYNC_SEMAPHORE_MAX_PERMITS, MAX_PERMITS);
    assert_eq!(MAX_PERMITS, usize::MAX >> 8);
    // (initial, bounded, permits taken first, release n)
    let cases = [
        (0, false, 0, 0),
        (0, false, 0, 1),
        (3, false, 0, 0),
        (0, false, 0, MAX_PERMITS),
        (0, false, 0, MAX_PERMITS + 1),
        (1, false, 0, MAX_PERMITS),
        (MAX_PERMITS, false, 0, 1),
        (MAX_PERMITS, false, 1, 1),
        (0, false, 0, usize::MAX),
        (5, false, 0, usize::MAX),
        (3, true, 0, 0),
        (3, true, 0, 1),
        (2, true, 1, 1),
        (2, true, 1, 2),
        (2, true, 2, usize::MAX),
        (0, true, 0, 0),
        (0, true, 0, 1),
        (MAX_PERMITS, true, 0, 1),
        (MAX_PERMITS, true, 3, 3),
        (MAX_PERMITS, true, 3, usize::MAX),
    ];
    for (initial, bounded, take, n) in cases {
        let s = dualsync_semaphore_new(initial, bounded);
        assert!(!s.is_null());
        if take > 0 {
            assert_eq!(
                c!(dualsync_semaphore_try_acquire_many(s, take)),
                DUALSYNC_OK
            );
        }
        let rust = if bounded {
            let r = BoundedSemaphore::new(initial);
            r.try_acquire_many(take).unwrap().forget();
            release_status(r.add_permits(n))
        } else {
            let r = Semaphore::new(initial);
            r.try_acquire_many(take).unwrap().forget();
            release_status(r.add_permits(n))
        };
        let mut before = 0;
        assert_eq!(
            c!(dualsync_semaphore_available(s, &mut before)),
            DUALSYNC_OK
        );
        let got = c!(dualsync_semaphore_release(s, n));
        assert_eq!(
            got, rust,
            "release({n}) on new({initial}, bounded {bounded}) less {take}: C {got:?}, Rust {rust:?}"
        );
        let mut after = 0;
        assert_eq!(c!(dualsync_semaphore_available(s, &mut after)), DUALSYNC_OK);
        if got == DUALSYNC_OK {
            assert_eq!(after, before + n);
        } else {
            assert_eq!(after, before, "a refused release changes nothing");
        }
        assert_eq!(c!(dualsync_semaphore_free(s)), DUALSYNC_OK);
    }
    // Spot checks of the mapping the header states.
    let s = dualsync_semaphore_new(0, false);
    assert_eq!(c!(dualsync_semaphore_release(s, 0)), DUALSYNC_OK);
    assert_eq!(
        c!(dualsync_semaphore_release(s, MAX_PERMITS + 1)),
        DUALSYNC_OVERFLOW
    );
    assert_eq!(c!(dualsync_semaphore_free(s)), DUALSYNC_OK);
    let s = dualsync_semaphore_new(MAX_PERMITS, true);
    assert_eq!(
        c!(dualsync_semaphore_release(s, usize::MAX)),
        DUALSYNC_OVER_RELEASE
    );
    assert_eq!(c!(dualsync_semaphore_free(s)), DUALSYNC_OK);
}

#[test]
fn semaphore_acquire_counts_agree_with_rust() {
    let s = dualsync_semaphore_new(1, false);
    let rust = Semaphore::new_fair(1);
    // 0 permits: succeeds at once, even with a waiter queued (Rust too).
    assert_eq!(c!(dualsync_semaphore_acquire_many(s, 0)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_semaphore_try_acquire_many(s, 0)), DUALSYNC_OK);
    assert_eq!(
        c!(dualsync_semaphore_acquire_many_timeout(s, 0, 0)),
        DUALSYNC_OK
    );
    assert_eq!(
        c!(dualsync_semaphore_acquire_many_timeout(s, 0, 1_000_000)),
        DUALSYNC_OK
    );
    assert!(rust.try_acquire_many(0).is_ok());
    assert!(rust.acquire_many(0).block().is_ok());
    let mut free = 0;
    assert_eq!(c!(dualsync_semaphore_available(s, &mut free)), DUALSYNC_OK);
    assert_eq!(free, 1);
    // More than a semaphore can hold: C refuses, Rust panics.
    for n in [MAX_PERMITS + 1, usize::MAX] {
        assert_eq!(
            c!(dualsync_semaphore_acquire_many(s, n)),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            c!(dualsync_semaphore_try_acquire_many(s, n)),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert!(std::panic::catch_unwind(|| drop(rust.acquire_many(n))).is_err());
    }
    // Closed: 0 permits is CLOSED too (Rust: Err(Closed)).
    assert_eq!(c!(dualsync_semaphore_close(s)), DUALSYNC_OK);
    rust.close();
    assert_eq!(c!(dualsync_semaphore_acquire_many(s, 0)), DUALSYNC_CLOSED);
    assert_eq!(
        c!(dualsync_semaphore_try_acquire_many(s, 0)),
        DUALSYNC_CLOSED
    );
    assert!(rust.try_acquire_many(0).is_err());
    assert_eq!(c!(dualsync_semaphore_release(s, 0)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_semaphore_free(s)), DUALSYNC_OK);
}

// ---- queue ----

fn queue_stats(q: *mut dualsync_queue_t) -> dualsync_queue_stats_t {
    let mut st = dualsync_queue_stats_t::default();
    assert_eq!(c!(dualsync_queue_statistics(q, &mut st)), DUALSYNC_OK);
    st
}

const ORDERS: [u32; 3] = [
    DUALSYNC_QUEUE_FIFO,
    DUALSYNC_QUEUE_LIFO,
    DUALSYNC_QUEUE_PRIORITY,
];

#[test]
fn queue_capacity_is_reported_as_given() {
    for order in ORDERS {
        for cap in [
            1,
            2,
            65_536,
            65_537,
            usize::MAX / 2,
            usize::MAX - 1,
            usize::MAX,
        ] {
            let q = dualsync_queue_new(cap, order);
            assert!(!q.is_null());
            assert_eq!(queue_stats(q).capacity, cap, "order {order}");
            assert_eq!(c!(dualsync_queue_free(q)), DUALSYNC_OK);
        }
        let q = dualsync_queue_new(DUALSYNC_QUEUE_UNBOUNDED, order);
        assert_eq!(queue_stats(q).capacity, 0);
        assert_eq!(c!(dualsync_queue_free(q)), DUALSYNC_OK);
    }
    // Rust reports the same capacities.
    for cap in [1, 65_537, usize::MAX] {
        assert_eq!(Queue::<u8>::bounded(cap).capacity(), Some(cap));
        assert_eq!(Queue::<u8>::with_maxsize(Some(cap)).capacity(), Some(cap));
        assert_eq!(Queue::<u8, Lifo>::bounded_lifo(cap).capacity(), Some(cap));
        assert_eq!(
            Queue::<u8, Priority>::bounded_priority(cap).capacity(),
            Some(cap)
        );
    }
    assert_eq!(Queue::<u8>::unbounded().capacity(), None);
}

#[test]
fn queue_capacity_zero_is_unbounded_in_c_and_refused_in_rust() {
    // C: 0 is `DUALSYNC_QUEUE_UNBOUNDED`, Rust's `None`: more items than
    // the largest ring (65536) go in without waiting.
    assert_eq!(DUALSYNC_QUEUE_UNBOUNDED, 0);
    for order in ORDERS {
        let q = dualsync_queue_new(0, order);
        for i in 0..70_000usize {
            assert_eq!(
                c!(dualsync_queue_try_put(
                    q,
                    std::ptr::without_provenance_mut(i),
                    0
                )),
                DUALSYNC_OK
            );
        }
        assert_eq!(queue_stats(q).len, 70_000);
        assert_eq!(c!(dualsync_queue_free(q)), DUALSYNC_OK);
    }
    // Rust: `None` is unbounded; `Some(0)` (a zero-capacity queue, which
    // exists in neither API) panics.
    assert!(std::panic::catch_unwind(|| Queue::<u8>::bounded(0)).is_err());
    assert!(std::panic::catch_unwind(|| Queue::<u8>::with_maxsize(Some(0))).is_err());
    assert!(std::panic::catch_unwind(|| Queue::<u8, Lifo>::bounded_lifo(0)).is_err());
    assert!(std::panic::catch_unwind(|| Queue::<u8, Priority>::bounded_priority(0)).is_err());
}

#[test]
fn queue_null_items_are_items() {
    let mut x = 5u8;
    let p: *mut core::ffi::c_void = (&raw mut x).cast();
    for order in ORDERS {
        let q = dualsync_queue_new(2, order);
        // NULL with the smallest priority, so every order gives it first.
        assert_eq!(c!(dualsync_queue_try_put(q, p, 2)), DUALSYNC_OK);
        assert_eq!(
            c!(dualsync_queue_put(q, std::ptr::null_mut(), 1)),
            DUALSYNC_OK
        );
        assert_eq!(queue_stats(q).len, 2);
        // Full: a NULL put is refused like any other.
        assert_eq!(
            c!(dualsync_queue_try_put(q, std::ptr::null_mut(), 0)),
            DUALSYNC_FULL
        );
        let mut got = Vec::new();
        for _ in 0..2 {
            let mut out = p; // non-NULL, to see NULL written
            assert_eq!(c!(dualsync_queue_try_get(q, &mut out)), DUALSYNC_OK);
            got.push(out.is_null());
        }
        let want = if order == DUALSYNC_QUEUE_FIFO {
            [false, true]
        } else {
            [true, false]
        };
        assert_eq!(got, want, "order {order}: which gets were NULL");
        let mut out = p;
        assert_eq!(c!(dualsync_queue_try_get(q, &mut out)), DUALSYNC_EMPTY);
        assert_eq!(out, p, "not written on failure");
        // A blocked getter receives a NULL item as an item.
        let qp = P(q);
        let t = std::thread::spawn(move || {
            let mut out: *mut core::ffi::c_void = std::ptr::dangling_mut::<u8>().cast();
            let s = c!(dualsync_queue_get_timeout(qp.p(), &mut out, 20_000_000_000));
            (s, out.is_null())
        });
        wait_until("getters", 1, || queue_stats(q).getters_waiting);
        assert_eq!(
            c!(dualsync_queue_put(q, std::ptr::null_mut(), 0)),
            DUALSYNC_OK
        );
        assert_eq!(t.join().unwrap(), (DUALSYNC_OK, true));
        assert_eq!(c!(dualsync_queue_free(q)), DUALSYNC_OK);
    }
}

#[test]
fn queue_try_join() {
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    assert_eq!(c!(dualsync_queue_try_join(q)), DUALSYNC_OK); // nothing put
    assert_eq!(c!(dualsync_queue_try_put(q, q.cast(), 0)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_queue_try_join(q)), DUALSYNC_WOULD_BLOCK);
    assert_eq!(c!(dualsync_queue_join_timeout(q, 0)), DUALSYNC_WOULD_BLOCK);
    let mut out = std::ptr::null_mut();
    assert_eq!(c!(dualsync_queue_try_get(q, &mut out)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_queue_try_join(q)), DUALSYNC_WOULD_BLOCK); // taken, not done
    assert_eq!(c!(dualsync_queue_task_done(q)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_queue_try_join(q)), DUALSYNC_OK);
    // An immediate shutdown discards (and so finishes) what is left.
    assert_eq!(c!(dualsync_queue_try_put(q, q.cast(), 0)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_queue_try_join(q)), DUALSYNC_WOULD_BLOCK);
    assert_eq!(c!(dualsync_queue_shutdown(q, true)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_queue_try_join(q)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_queue_free(q)), DUALSYNC_OK);
    assert_eq!(
        c!(dualsync_queue_try_join(std::ptr::null())),
        DUALSYNC_INVALID_ARGUMENT
    );
}

// ---- n_waiting ----

#[test]
fn n_waiting_of_mutex_event_and_condition() {
    // Mutex: a C thread, then a Rust thread on the same handle.
    let m = P(dualsync_mutex_new(false));
    assert_eq!(mutex_waiting(m), 0);
    assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
    let c_thread = std::thread::spawn(move || {
        assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
        assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
    });
    wait_until("mutex waiters", 1, || mutex_waiting(m));
    let rust_thread = std::thread::spawn(move || {
        // SAFETY: live until freed below, after this thread is joined.
        let rust = unsafe { &*m.p() }.mutex();
        drop(rust.lock().block());
    });
    wait_until("mutex waiters", 2, || mutex_waiting(m));
    assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
    c_thread.join().unwrap();
    rust_thread.join().unwrap();
    assert_eq!(mutex_waiting(m), 0);
    assert_eq!(c!(dualsync_mutex_free(m.p())), DUALSYNC_OK);

    // Event.
    let e = P(dualsync_event_new());
    assert_eq!(event_waiting(e), 0);
    let ts: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || assert_eq!(c!(dualsync_event_wait(e.p())), DUALSYNC_OK))
        })
        .collect();
    wait_until("event waiters", 3, || event_waiting(e));
    assert_eq!(c!(dualsync_event_set(e.p())), DUALSYNC_OK);
    ts.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(event_waiting(e), 0);
    assert_eq!(c!(dualsync_event_free(e.p())), DUALSYNC_OK);

    // Condition: counts until notified.
    let (cv, m) = (P(dualsync_condition_new()), P(dualsync_mutex_new(true)));
    let ts: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                assert_eq!(c!(dualsync_mutex_lock(m.p())), DUALSYNC_OK);
                assert_eq!(c!(dualsync_condition_wait(cv.p(), m.p())), DUALSYNC_OK);
                assert_eq!(c!(dualsync_mutex_unlock(m.p())), DUALSYNC_OK);
            })
        })
        .collect();
    wait_until("condition waiters", 2, || cond_waiting(cv));
    let mut woken = 0;
    assert_eq!(
        c!(dualsync_condition_notify(cv.p(), 1, &mut woken)),
        DUALSYNC_OK
    );
    assert_eq!((woken, cond_waiting(cv)), (1, 1));
    assert_eq!(
        c!(dualsync_condition_notify_all(cv.p(), &mut woken)),
        DUALSYNC_OK
    );
    assert_eq!((woken, cond_waiting(cv)), (1, 0));
    ts.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(c!(dualsync_condition_free(cv.p())), DUALSYNC_OK);
    assert_eq!(c!(dualsync_mutex_free(m.p())), DUALSYNC_OK);

    // NULL handles and out pointers.
    let mut n = 7;
    let (m, e, cv) = (
        dualsync_mutex_new(false),
        dualsync_event_new(),
        dualsync_condition_new(),
    );
    assert_eq!(
        c!(dualsync_mutex_n_waiting(std::ptr::null(), &mut n)),
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(
        c!(dualsync_event_n_waiting(std::ptr::null(), &mut n)),
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(
        c!(dualsync_condition_n_waiting(std::ptr::null(), &mut n)),
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(n, 7, "not written on failure");
    assert_eq!(
        c!(dualsync_mutex_n_waiting(m, std::ptr::null_mut())),
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(
        c!(dualsync_event_n_waiting(e, std::ptr::null_mut())),
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(
        c!(dualsync_condition_n_waiting(cv, std::ptr::null_mut())),
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(c!(dualsync_mutex_free(m)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_event_free(e)), DUALSYNC_OK);
    assert_eq!(c!(dualsync_condition_free(cv)), DUALSYNC_OK);
}

// ---- the header says it ----

#[test]
fn header_documents_the_edge_cases() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/dualsync.h");
    let h = std::fs::read_to_string(&path).expect("read include/dualsync.h");
    // Doc comments are wrapped (` * ` at each line's start): compare their
    // text with the prefixes gone and whitespace collapsed.
    let flat = h
        .lines()
        .map(|l| {
            let l = l.trim_start();
            l.strip_prefix("* ")
                .unwrap_or(if l == "*" { "" } else { l })
        })
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        // Semaphore counts.
        "#define DUALSYNC_SEMAPHORE_MAX_PERMITS (SIZE_MAX >> 8)",
        "`n == 0` changes nothing and returns `DUALSYNC_OK` (Rust's `add_permits(0)`)",
        "`DUALSYNC_SEMAPHORE_MAX_PERMITS` (`DUALSYNC_OVERFLOW`; also for any `n` above it)",
        // Queue capacity and NULL items.
        "#define DUALSYNC_QUEUE_UNBOUNDED 0",
        "any value from 1 to `SIZE_MAX` (reported as given by `dualsync_queue_statistics`)",
        "Its items are `void *` values, NULL included",
        "dualsync_queue_try_join(const struct dualsync_queue_t *queue);",
        // The condition's missing try_wait.
        "There is no `dualsync_condition_try_wait`",
        // n_waiting.
        "dualsync_mutex_n_waiting(const struct dualsync_mutex_t *mutex, size_t *out);",
        "dualsync_event_n_waiting(const struct dualsync_event_t *event, size_t *out);",
        "dualsync_condition_n_waiting(const struct dualsync_condition_t *cond, size_t *out);",
        // Free while a call is in progress.
        "while any other call on the handle has not returned, blocked or not",
        "A call that is done with the handle before it returns does not count",
        "#define DUALSYNC_ABI_VERSION 0",
    ] {
        assert!(
            flat.contains(needle),
            "include/dualsync.h does not say: {needle}"
        );
    }
}
