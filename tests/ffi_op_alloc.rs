//! "No allocation per wait beyond the operation handle" (issue 12, part 4):
//! a counting global allocator watches this thread while it starts, polls,
//! cancels and frees thousands of operations of every kind. Starting one
//! allocates exactly once (the handle, which holds the future inline and
//! is its own waker); polling, cancelling and freeing allocate nothing.

use std::ffi::c_void;
use std::ptr::null_mut;

use dualsync::ffi::dualsync_status::{self, *};
use dualsync::ffi::*;

mod common;
use common::alloc_count::{Counting, allocs};

#[global_allocator]
static A: Counting = Counting;

/// One kind of operation, driven round after round on one primitive. Every
/// closure is a C call on live handles with valid pointers.
struct Case {
    name: &'static str,
    /// Starts the operation, which must be pending.
    start: Box<dyn Fn(*mut *mut dualsync_op_t) -> dualsync_status>,
    /// Another party's call that completes it.
    complete: Box<dyn Fn()>,
    /// The status and result (`usize`, read from `*result_out`; 0 if none)
    /// the completed operation gives.
    outcome: (dualsync_status, usize),
    /// Puts the primitive back in the state where a start waits again,
    /// after a completed (`true`) or a cancelled (`false`) round.
    reset: Box<dyn Fn(bool)>,
    /// Frees the primitive.
    free: Box<dyn Fn() -> dualsync_status>,
}

/// Calls a C ABI function (live handles, valid or NULL out pointers).
macro_rules! c {
    ($e:expr) => {{
        // SAFETY: see the macro's doc.
        #[allow(unused_unsafe)]
        unsafe {
            $e
        }
    }};
}

fn ok(st: dualsync_status) {
    assert_eq!(st, DUALSYNC_OK);
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();

    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    v.push(Case {
        name: "queue get",
        start: Box::new(move |op| c!(dualsync_queue_get_start(q, -1, None, null_mut(), op))),
        complete: Box::new(move || ok(c!(dualsync_queue_put(q, 7 as *mut c_void, 0)))),
        outcome: (DUALSYNC_OK, 7),
        reset: Box::new(|_| {}),
        free: Box::new(move || c!(dualsync_queue_free(q))),
    });

    // Full (capacity 1, one item): a put waits for room.
    let q = dualsync_queue_new(1, DUALSYNC_QUEUE_PRIORITY);
    ok(c!(dualsync_queue_put(q, null_mut(), 0)));
    let take = move || {
        let mut out = null_mut();
        ok(c!(dualsync_queue_try_get(q, &mut out)));
    };
    v.push(Case {
        name: "queue put",
        start: Box::new(move |op| {
            c!(dualsync_queue_put_start(
                q,
                null_mut(),
                3,
                -1,
                None,
                null_mut(),
                op
            ))
        }),
        complete: Box::new(take),
        outcome: (DUALSYNC_OK, 0),
        // Full again either way: the put's item went in, or it was
        // cancelled and never did.
        reset: Box::new(|_| {}),
        free: Box::new(move || {
            take();
            c!(dualsync_queue_free(q))
        }),
    });

    // One item taken and not done: a join waits.
    let q = dualsync_queue_new(0, DUALSYNC_QUEUE_LIFO);
    let unfinished = move || {
        let mut out = null_mut();
        ok(c!(dualsync_queue_put(q, null_mut(), 0)));
        ok(c!(dualsync_queue_try_get(q, &mut out)));
    };
    unfinished();
    v.push(Case {
        name: "queue join",
        start: Box::new(move |op| c!(dualsync_queue_join_start(q, -1, None, null_mut(), op))),
        complete: Box::new(move || ok(c!(dualsync_queue_task_done(q)))),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(move |done| {
            if done {
                unfinished();
            }
        }),
        free: Box::new(move || {
            ok(c!(dualsync_queue_task_done(q)));
            c!(dualsync_queue_free(q))
        }),
    });

    let s = dualsync_semaphore_new(0, false);
    v.push(Case {
        name: "semaphore acquire",
        start: Box::new(move |op| {
            c!(dualsync_semaphore_acquire_start(
                s,
                2,
                -1,
                None,
                null_mut(),
                op
            ))
        }),
        complete: Box::new(move || ok(c!(dualsync_semaphore_release(s, 2)))),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(|_| {}),
        free: Box::new(move || c!(dualsync_semaphore_free(s))),
    });

    // Locked by this thread: a lock waits; the completed op's lock is then
    // this thread's again.
    let m = dualsync_mutex_new(false);
    ok(c!(dualsync_mutex_lock(m)));
    v.push(Case {
        name: "mutex lock",
        start: Box::new(move |op| c!(dualsync_mutex_lock_start(m, -1, None, null_mut(), op))),
        complete: Box::new(move || ok(c!(dualsync_mutex_unlock(m)))),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(|_| {}),
        free: Box::new(move || {
            ok(c!(dualsync_mutex_unlock(m)));
            c!(dualsync_mutex_free(m))
        }),
    });

    let l = dualsync_rwlock_new(true);
    ok(c!(dualsync_rwlock_write(l)));
    v.push(Case {
        name: "rwlock write",
        start: Box::new(move |op| c!(dualsync_rwlock_write_start(l, -1, None, null_mut(), op))),
        complete: Box::new(move || ok(c!(dualsync_rwlock_write_unlock(l)))),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(|_| {}),
        free: Box::new(move || {
            ok(c!(dualsync_rwlock_write_unlock(l)));
            c!(dualsync_rwlock_free(l))
        }),
    });

    let l = dualsync_rwlock_new(false);
    ok(c!(dualsync_rwlock_write(l)));
    v.push(Case {
        name: "rwlock read",
        start: Box::new(move |op| c!(dualsync_rwlock_read_start(l, -1, None, null_mut(), op))),
        complete: Box::new(move || ok(c!(dualsync_rwlock_write_unlock(l)))),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(move |done| {
            if done {
                ok(c!(dualsync_rwlock_read_unlock(l)));
                ok(c!(dualsync_rwlock_try_write(l)));
            }
        }),
        free: Box::new(move || {
            ok(c!(dualsync_rwlock_write_unlock(l)));
            c!(dualsync_rwlock_free(l))
        }),
    });

    let e = dualsync_event_new();
    v.push(Case {
        name: "event wait",
        start: Box::new(move |op| c!(dualsync_event_wait_start(e, -1, None, null_mut(), op))),
        complete: Box::new(move || ok(c!(dualsync_event_set(e)))),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(move |_| ok(c!(dualsync_event_clear(e)))),
        free: Box::new(move || c!(dualsync_event_free(e))),
    });

    // Borrower 1 holds the only token: borrower 2 waits.
    let t = dualsync_limiter_new(1);
    ok(c!(dualsync_limiter_acquire(t, 1)));
    v.push(Case {
        name: "limiter acquire",
        start: Box::new(move |op| {
            c!(dualsync_limiter_acquire_start(
                t,
                2,
                -1,
                None,
                null_mut(),
                op
            ))
        }),
        complete: Box::new(move || ok(c!(dualsync_limiter_release(t, 1)))),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(move |done| {
            if done {
                ok(c!(dualsync_limiter_release(t, 2)));
                ok(c!(dualsync_limiter_try_acquire(t, 1)));
            }
        }),
        free: Box::new(move || {
            ok(c!(dualsync_limiter_release(t, 1)));
            c!(dualsync_limiter_free(t))
        }),
    });

    let b = dualsync_barrier_new(2);
    v.push(Case {
        name: "barrier wait",
        start: Box::new(move |op| c!(dualsync_barrier_wait_start(b, -1, None, null_mut(), op))),
        complete: Box::new(move || {
            let mut index = usize::MAX;
            ok(c!(dualsync_barrier_try_wait(b, &mut index)));
            assert_eq!(index, 1);
        }),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(|_| {}),
        free: Box::new(move || c!(dualsync_barrier_free(b))),
    });

    // The mutex is this thread's: the wait releases it, and gives it back
    // (completed) or not (cancelled).
    let (cv, m) = (dualsync_condition_new(), dualsync_mutex_new(true));
    ok(c!(dualsync_mutex_lock(m)));
    v.push(Case {
        name: "condition wait",
        start: Box::new(move |op| {
            c!(dualsync_condition_wait_start(
                cv,
                m,
                -1,
                None,
                null_mut(),
                op
            ))
        }),
        complete: Box::new(move || {
            let mut woken = 0;
            ok(c!(dualsync_condition_notify(cv, 1, &mut woken)));
            assert_eq!(woken, 1);
        }),
        outcome: (DUALSYNC_OK, 0),
        reset: Box::new(move |done| {
            if !done {
                ok(c!(dualsync_mutex_try_lock(m)));
            }
        }),
        free: Box::new(move || {
            ok(c!(dualsync_mutex_unlock(m)));
            ok(c!(dualsync_condition_free(cv)));
            c!(dualsync_mutex_free(m))
        }),
    });
    v
}

#[test]
fn one_allocation_per_operation() {
    for case in cases() {
        let name = case.name;
        for round in 0..1_000 {
            let mut op = null_mut();
            let (st, n) = allocs(|| (case.start)(&mut op));
            assert_eq!((st, n), (DUALSYNC_OK, 1), "{name}: start");
            let mut result = 0usize;
            let out = (&raw mut result).cast::<c_void>();
            let (st, n) = allocs(|| c!(dualsync_op_poll(op, out)));
            assert_eq!((st, n), (DUALSYNC_WOULD_BLOCK, 0), "{name}: poll pending");
            // Complete on odd rounds, cancel on even ones.
            let done = round % 2 == 1;
            if done {
                (case.complete)();
                let (st, n) = allocs(|| c!(dualsync_op_poll(op, out)));
                assert_eq!((st, n), (case.outcome.0, 0), "{name}: poll completed");
                assert_eq!(result, case.outcome.1, "{name}: result");
            } else {
                let (st, n) = allocs(|| c!(dualsync_op_cancel(op)));
                assert_eq!((st, n), (DUALSYNC_OK, 0), "{name}: cancel");
            }
            let (st, n) = allocs(|| c!(dualsync_op_free(op)));
            assert_eq!((st, n), (DUALSYNC_OK, 0), "{name}: free");
            (case.reset)(done);
        }
        assert_eq!((case.free)(), DUALSYNC_OK, "{name}: primitive free");
    }
}
