//! Rust-side tests of the `dualsync_rwlock_*` C ABI: timeouts, misuse,
//! free while held or waited on, and C-style threads and tokio tasks
//! waiting on the same handle (a C writer that times out lets a Rust task
//! reader in).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;

mod common;
use common::{rt, within};

/// A handle that can cross threads (the C ABI is thread-safe).
#[derive(Clone, Copy)]
struct H(*mut dualsync_rwlock_t);
// SAFETY: `dualsync_rwlock_t` is `Sync` and its C functions are
// thread-safe; every test keeps the handle alive until all threads using it
// are joined.
unsafe impl Send for H {}
// SAFETY: as above.
unsafe impl Sync for H {}

impl H {
    fn new(fair: bool) -> H {
        let h = dualsync_rwlock_new(fair);
        assert!(!h.is_null());
        H(h)
    }
    /// The raw handle (a method, so that closures capture the whole `H`).
    fn p(self) -> *mut dualsync_rwlock_t {
        self.0
    }
    fn rust(self) -> &'static dualsync::RwLock<()> {
        // SAFETY: live until `free`, which each test calls last.
        unsafe { &*self.0 }.rwlock()
    }
    fn waiting(self) -> usize {
        let mut n = usize::MAX;
        // SAFETY: live handle, valid out pointer.
        assert_eq!(
            unsafe { dualsync_rwlock_n_waiting(self.0, &mut n) },
            DUALSYNC_OK
        );
        n
    }
    fn until_waiting(self, n: usize) {
        let t0 = Instant::now();
        while self.waiting() != n {
            assert!(t0.elapsed() < Duration::from_secs(10), "never {n} waiters");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

// Every call below passes a live handle (each test frees it last).
macro_rules! c {
    ($f:ident($($a:expr),*)) => {
        // SAFETY: see above.
        unsafe { $f($($a),*) }
    };
}

#[test]
fn timeouts_zero_finite_infinite() {
    let h = H::new(false);
    assert_eq!(c!(dualsync_rwlock_read_timeout(h.p(), 0)), DUALSYNC_OK);
    assert_eq!(
        c!(dualsync_rwlock_write_timeout(h.p(), 0)),
        DUALSYNC_WOULD_BLOCK
    );
    let t0 = Instant::now();
    assert_eq!(
        c!(dualsync_rwlock_write_timeout(h.p(), 20_000_000)),
        DUALSYNC_TIMED_OUT
    );
    assert!(t0.elapsed() >= Duration::from_millis(20));
    assert_eq!(
        c!(dualsync_rwlock_read_timeout(
            h.p(),
            DUALSYNC_TIMEOUT_INFINITE
        )),
        DUALSYNC_OK
    );
    assert_eq!(h.rust().statistics().readers, 2);
    assert_eq!(c!(dualsync_rwlock_read_unlock(h.p())), DUALSYNC_OK);
    assert_eq!(c!(dualsync_rwlock_read_unlock(h.p())), DUALSYNC_OK);
    assert_eq!(c!(dualsync_rwlock_read_unlock(h.p())), DUALSYNC_NOT_LOCKED);
    assert_eq!(
        c!(dualsync_rwlock_write_timeout(
            h.0,
            DUALSYNC_TIMEOUT_INFINITE
        )),
        DUALSYNC_OK
    );
    assert_eq!(
        c!(dualsync_rwlock_read_timeout(h.p(), 1_000_000)),
        DUALSYNC_TIMED_OUT
    );
    assert_eq!(c!(dualsync_rwlock_write_unlock(h.p())), DUALSYNC_OK);
    assert_eq!(c!(dualsync_rwlock_free(h.p())), DUALSYNC_OK);
}

#[test]
fn free_with_holders_or_waiters_is_busy() {
    within(30, || {
        let h = H::new(true);
        assert_eq!(c!(dualsync_rwlock_try_write(h.p())), DUALSYNC_OK);
        assert_eq!(c!(dualsync_rwlock_free(h.p())), DUALSYNC_BUSY);
        let t = std::thread::spawn(move || c!(dualsync_rwlock_read(h.p())));
        h.until_waiting(1);
        // Released from another thread than the one that locked.
        std::thread::spawn(move || {
            assert_eq!(c!(dualsync_rwlock_write_unlock(h.p())), DUALSYNC_OK)
        })
        .join()
        .unwrap();
        assert_eq!(t.join().unwrap(), DUALSYNC_OK);
        assert_eq!(
            c!(dualsync_rwlock_free(h.p())),
            DUALSYNC_BUSY,
            "a reader holds"
        );
        assert_eq!(c!(dualsync_rwlock_read_unlock(h.p())), DUALSYNC_OK);
        assert_eq!(c!(dualsync_rwlock_free(h.p())), DUALSYNC_OK);
    });
}

/// A C thread holds a read lock; a C writer thread queues with a timeout;
/// a Rust task reader queues behind it through `rwlock()`. The writer times
/// out, and the task gets in while the C read lock is still held.
#[test]
fn c_writer_times_out_and_a_rust_task_reader_gets_in() {
    within(30, || {
        let h = H::new(false);
        assert_eq!(c!(dualsync_rwlock_read(h.p())), DUALSYNC_OK);
        let writer =
            std::thread::spawn(move || c!(dualsync_rwlock_write_timeout(h.p(), 500_000_000)));
        h.until_waiting(1);
        let rt = rt();
        let task = rt.spawn(async move {
            let g = h.rust().read().await;
            drop(g);
        });
        h.until_waiting(2);
        assert_eq!(writer.join().unwrap(), DUALSYNC_TIMED_OUT);
        rt.block_on(task).unwrap();
        assert_eq!(
            h.rust().statistics().readers,
            1,
            "the C read lock is still held"
        );
        assert_eq!(c!(dualsync_rwlock_read_unlock(h.p())), DUALSYNC_OK);
        assert_eq!(c!(dualsync_rwlock_free(h.p())), DUALSYNC_OK);
    });
}

/// C threads (readers and a writer) and tokio tasks (readers and a writer)
/// on one handle: every write counted, nobody left queued.
#[test]
fn c_threads_and_rust_tasks_share_one_lock() {
    within(60, || {
        let h = H::new(false);
        let writes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let threads: Vec<_> = (0..3)
            .map(|k| {
                let writes = writes.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        if (i + k) % 5 == 0 {
                            assert_eq!(c!(dualsync_rwlock_write(h.p())), DUALSYNC_OK);
                            writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            assert_eq!(c!(dualsync_rwlock_write_unlock(h.p())), DUALSYNC_OK);
                        } else {
                            assert_eq!(c!(dualsync_rwlock_read(h.p())), DUALSYNC_OK);
                            assert_eq!(c!(dualsync_rwlock_read_unlock(h.p())), DUALSYNC_OK);
                        }
                    }
                })
            })
            .collect();
        let rt = rt();
        let tasks: Vec<_> = (0..2)
            .map(|k| {
                let writes = writes.clone();
                rt.spawn(async move {
                    for i in 0..500 {
                        if (i + k) % 5 == 0 {
                            let g = h.rust().write().await;
                            writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            drop(g);
                        } else {
                            drop(h.rust().read().await);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(writes.load(std::sync::atomic::Ordering::Relaxed), 5 * 100);
        assert_eq!(h.waiting(), 0);
        assert_eq!(c!(dualsync_rwlock_free(h.p())), DUALSYNC_OK);
    });
}
