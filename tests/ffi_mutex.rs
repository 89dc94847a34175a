//! Rust-side tests of the `dualsync_mutex_*` C ABI: bad input, misuse,
//! timeouts, free, status names, and a C-style thread and a tokio task
//! waiting on the same handle.

use std::ffi::CStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::{self, *};
use dualsync::ffi::*;

/// A handle that can cross threads (the C ABI is thread-safe).
#[derive(Clone, Copy)]
struct H(*mut dualsync_mutex_t);
// SAFETY: `dualsync_mutex_t` is `Sync` and its C functions are thread-safe;
// every test keeps the handle alive until all threads using it are joined.
unsafe impl Send for H {}
// SAFETY: as above.
unsafe impl Sync for H {}

fn new(fair: bool) -> H {
    let h = dualsync_mutex_new(fair);
    assert!(!h.is_null(), "dualsync_mutex_new returned NULL");
    H(h)
}

// Thin safe wrappers: every call below passes a live handle (or NULL, which
// the ABI accepts).
fn lock(h: H) -> dualsync_status {
    // SAFETY: `h` is NULL or live (each test frees it last).
    unsafe { dualsync_mutex_lock(h.0) }
}
fn try_lock(h: H) -> dualsync_status {
    // SAFETY: as in `lock`.
    unsafe { dualsync_mutex_try_lock(h.0) }
}
fn lock_timeout(h: H, ns: u64) -> dualsync_status {
    // SAFETY: as in `lock`.
    unsafe { dualsync_mutex_lock_timeout(h.0, ns) }
}
fn unlock(h: H) -> dualsync_status {
    // SAFETY: as in `lock`.
    unsafe { dualsync_mutex_unlock(h.0) }
}
fn is_locked(h: H) -> bool {
    let mut out = false;
    // SAFETY: as in `lock`; `out` is a valid bool.
    assert_eq!(
        unsafe { dualsync_mutex_is_locked(h.0, &mut out) },
        DUALSYNC_OK
    );
    out
}
fn free(h: H) -> dualsync_status {
    // SAFETY: `h` is NULL or live, and no other thread uses it any more.
    unsafe { dualsync_mutex_free(h.0) }
}
/// The Rust mutex behind a handle. `'static` because every test frees the
/// handle only after everything that borrowed it is gone.
fn rust_mutex(h: H) -> &'static dualsync::Mutex<()> {
    // SAFETY: `h` is live until the test frees it, after its last use.
    unsafe { &*h.0 }.mutex()
}
fn waiting(h: H) -> usize {
    rust_mutex(h).statistics().waiting
}
fn wait_for_waiters(h: H, n: usize) {
    let start = Instant::now();
    while waiting(h) != n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "waiters never reached {n}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
fn status_name(s: i32) -> String {
    let p = dualsync_status_str(s);
    assert!(!p.is_null());
    // SAFETY: `dualsync_status_str` returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

#[test]
fn null_handles_and_out_pointers_are_invalid_argument() {
    let null = H(std::ptr::null_mut());
    assert_eq!(lock(null), DUALSYNC_INVALID_ARGUMENT);
    assert_eq!(try_lock(null), DUALSYNC_INVALID_ARGUMENT);
    assert_eq!(lock_timeout(null, 0), DUALSYNC_INVALID_ARGUMENT);
    assert_eq!(lock_timeout(null, 1_000), DUALSYNC_INVALID_ARGUMENT);
    assert_eq!(
        lock_timeout(null, DUALSYNC_TIMEOUT_INFINITE),
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(unlock(null), DUALSYNC_INVALID_ARGUMENT);
    let mut out = true;
    // SAFETY: NULL handle is allowed; `out` is valid.
    assert_eq!(
        unsafe { dualsync_mutex_is_locked(null.0, &mut out) },
        DUALSYNC_INVALID_ARGUMENT
    );
    assert!(out, "out must not be written on failure");

    let h = new(false);
    // SAFETY: live handle, NULL out pointer is allowed.
    assert_eq!(
        unsafe { dualsync_mutex_is_locked(h.0, std::ptr::null_mut()) },
        DUALSYNC_INVALID_ARGUMENT
    );
    assert_eq!(free(h), DUALSYNC_OK);
}

#[test]
fn free_null_is_ok() {
    assert_eq!(free(H(std::ptr::null_mut())), DUALSYNC_OK);
}

#[test]
fn lock_unlock_and_is_locked() {
    for fair in [false, true] {
        let h = new(fair);
        assert_eq!(rust_mutex(h).is_fair(), fair);
        assert!(!is_locked(h));
        assert_eq!(lock(h), DUALSYNC_OK);
        assert!(is_locked(h));
        assert_eq!(try_lock(h), DUALSYNC_WOULD_BLOCK);
        assert_eq!(unlock(h), DUALSYNC_OK);
        assert!(!is_locked(h));
        assert_eq!(try_lock(h), DUALSYNC_OK);
        assert!(is_locked(h));
        assert_eq!(unlock(h), DUALSYNC_OK);
        assert_eq!(free(h), DUALSYNC_OK);
    }
}

#[test]
fn unlock_unlocked_is_not_locked_and_changes_nothing() {
    let h = new(false);
    assert_eq!(unlock(h), DUALSYNC_NOT_LOCKED);
    assert!(!is_locked(h));
    // Still fully usable: one lock, one unlock, then NOT_LOCKED again.
    assert_eq!(lock(h), DUALSYNC_OK);
    assert_eq!(unlock(h), DUALSYNC_OK);
    assert_eq!(unlock(h), DUALSYNC_NOT_LOCKED);
    assert!(!is_locked(h));
    assert_eq!(try_lock(h), DUALSYNC_OK);
    assert_eq!(unlock(h), DUALSYNC_OK);
    assert_eq!(free(h), DUALSYNC_OK);
}

#[test]
fn unlock_from_another_thread() {
    // asyncio semantics: any thread may release a locked mutex.
    let h = new(false);
    assert_eq!(lock(h), DUALSYNC_OK);
    assert_eq!(
        std::thread::spawn(move || unlock(h)).join().unwrap(),
        DUALSYNC_OK
    );
    assert!(!is_locked(h));
    assert_eq!(free(h), DUALSYNC_OK);
}

#[test]
fn timeouts_zero_finite_infinite() {
    let h = new(false);
    // Free: every form succeeds.
    assert_eq!(lock_timeout(h, 0), DUALSYNC_OK);
    assert_eq!(unlock(h), DUALSYNC_OK);
    assert_eq!(lock_timeout(h, 1_000_000), DUALSYNC_OK);
    assert_eq!(unlock(h), DUALSYNC_OK);
    assert_eq!(lock_timeout(h, DUALSYNC_TIMEOUT_INFINITE), DUALSYNC_OK);

    // Held (by this thread; the C mutex is not owner-tracked): 0 is a try,
    // a finite timeout waits at least that long and times out.
    assert_eq!(lock_timeout(h, 0), DUALSYNC_WOULD_BLOCK);
    let t = Instant::now();
    assert_eq!(lock_timeout(h, 20_000_000), DUALSYNC_TIMED_OUT);
    assert!(
        t.elapsed() >= Duration::from_millis(20),
        "returned early: {:?}",
        t.elapsed()
    );
    // A timed-out waiter leaves nothing behind.
    assert_eq!(waiting(h), 0);
    assert!(is_locked(h));

    // A huge finite timeout (deadline not representable -> forever) and
    // INFINITE both succeed once another thread unlocks.
    for ns in [u64::MAX - 1, DUALSYNC_TIMEOUT_INFINITE] {
        let waiter = std::thread::spawn(move || lock_timeout(h, ns));
        wait_for_waiters(h, 1);
        assert_eq!(unlock(h), DUALSYNC_OK);
        assert_eq!(waiter.join().unwrap(), DUALSYNC_OK);
        assert!(is_locked(h), "the waiter owns it now");
    }

    // A finite timeout that is long enough succeeds.
    let waiter = std::thread::spawn(move || lock_timeout(h, 30_000_000_000));
    wait_for_waiters(h, 1);
    assert_eq!(unlock(h), DUALSYNC_OK);
    assert_eq!(waiter.join().unwrap(), DUALSYNC_OK);
    assert_eq!(unlock(h), DUALSYNC_OK);
    assert_eq!(free(h), DUALSYNC_OK);
}

#[test]
fn free_locked_or_waited_on_is_busy() {
    let h = new(true);
    assert_eq!(lock(h), DUALSYNC_OK);
    assert_eq!(free(h), DUALSYNC_BUSY);
    // Still usable after the refusal.
    assert!(is_locked(h));
    let waiter = std::thread::spawn(move || {
        let s = lock(h);
        (s, unlock(h))
    });
    wait_for_waiters(h, 1);
    assert_eq!(free(h), DUALSYNC_BUSY);
    assert_eq!(unlock(h), DUALSYNC_OK);
    assert_eq!(waiter.join().unwrap(), (DUALSYNC_OK, DUALSYNC_OK));
    assert!(!is_locked(h));
    assert_eq!(free(h), DUALSYNC_OK);
}

#[test]
fn status_str_names_every_status() {
    let all = [
        DUALSYNC_OK,
        DUALSYNC_TIMED_OUT,
        DUALSYNC_WOULD_BLOCK,
        DUALSYNC_INVALID_ARGUMENT,
        DUALSYNC_NOT_LOCKED,
        DUALSYNC_OVER_RELEASE,
        DUALSYNC_BROKEN,
        DUALSYNC_SHUT_DOWN,
        DUALSYNC_CLOSED,
        DUALSYNC_BUSY,
        DUALSYNC_PANIC,
        DUALSYNC_EMPTY,
        DUALSYNC_FULL,
        DUALSYNC_OVERFLOW,
    ];
    for (i, s) in all.iter().enumerate() {
        // Explicit, dense values from 0, and the name is the variant's name.
        assert_eq!(*s as i32, i as i32);
        assert_eq!(status_name(*s as i32), format!("{s:?}"));
    }
    // Statuses added later by other primitives continue the dense range:
    // every value up to the first unknown one has its own DUALSYNC_ name.
    let mut names = std::collections::HashSet::new();
    let mut v = 0;
    loop {
        let name = status_name(v);
        if name == "DUALSYNC_UNKNOWN" {
            break;
        }
        assert!(name.starts_with("DUALSYNC_"), "{v}: {name}");
        assert!(names.insert(name.clone()), "{v}: {name} named twice");
        v += 1;
    }
    assert!(v as usize >= all.len(), "status {v} has no name");
    for unknown in [-1, v, v + 1, 1000, i32::MIN, i32::MAX] {
        assert_eq!(status_name(unknown), "DUALSYNC_UNKNOWN", "{unknown}");
    }
}

#[test]
fn contended_counter_from_threads() {
    for fair in [false, true] {
        let h = new(fair);
        let counter = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for j in 0..2_000 {
                        let s = match (i + j) % 3 {
                            0 => lock(h),
                            1 => lock_timeout(h, DUALSYNC_TIMEOUT_INFINITE),
                            _ => loop {
                                if try_lock(h) == DUALSYNC_OK {
                                    break DUALSYNC_OK;
                                }
                                std::thread::yield_now();
                            },
                        };
                        assert_eq!(s, DUALSYNC_OK);
                        // Non-atomic read-modify-write: lost updates would
                        // show if mutual exclusion failed.
                        let v = counter.load(Ordering::Relaxed);
                        counter.store(v + 1, Ordering::Relaxed);
                        assert_eq!(unlock(h), DUALSYNC_OK);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 8_000);
        assert_eq!(free(h), DUALSYNC_OK);
    }
}

#[test]
fn c_thread_and_tokio_task_wait_on_the_same_handle() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Strict FIFO so that the order of service is deterministic.
    let h = new(true);
    assert_eq!(lock(h), DUALSYNC_OK);
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));

    // 1st waiter: a thread using only the C functions.
    let c_thread = {
        let order = order.clone();
        std::thread::spawn(move || {
            assert_eq!(lock(h), DUALSYNC_OK);
            order.lock().unwrap().push("c thread");
            // Hold it a moment so the task really has to wait.
            std::thread::sleep(Duration::from_millis(10));
            assert_eq!(unlock(h), DUALSYNC_OK);
        })
    };
    wait_for_waiters(h, 1);

    // 2nd waiter: a tokio task awaiting the Rust mutex behind the handle.
    let task = {
        let order = order.clone();
        rt.spawn(async move {
            let m = rust_mutex(h);
            let guard = m.lock().await;
            order.lock().unwrap().push("tokio task");
            drop(guard);
        })
    };
    wait_for_waiters(h, 2);

    // Released by the C API from this thread: the thread, then the task.
    assert_eq!(unlock(h), DUALSYNC_OK);
    c_thread.join().unwrap();
    rt.block_on(task).unwrap();
    assert_eq!(*order.lock().unwrap(), ["c thread", "tokio task"]);
    assert!(!is_locked(h));

    // And the other way round: a task holds it, a C thread waits, the
    // task's guard release wakes the thread.
    let m = rust_mutex(h);
    let guard = rt.block_on(async { m.lock().await });
    let c_thread = std::thread::spawn(move || {
        let s = lock_timeout(h, 30_000_000_000);
        (s, unlock(h))
    });
    wait_for_waiters(h, 1);
    drop(guard);
    assert_eq!(c_thread.join().unwrap(), (DUALSYNC_OK, DUALSYNC_OK));
    drop(rt);
    assert_eq!(free(h), DUALSYNC_OK);
}
