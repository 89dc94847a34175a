//! What a Rust user expects of the API shape: `static` primitives (`const
//! fn new`), unwind safety as std's, flat errors from timed waits that
//! compare and print well, `?` across them, and the "give it back" forms of
//! cancellation (`Put::cancel`, `BarrierWait::cancel`).

mod common;

use std::panic::{RefUnwindSafe, UnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::rt;
use dualsync::{
    AcquireTimeoutError, AcquireTokenTimeoutError, Barrier, BarrierTimeoutError, Borrower,
    BoundedSemaphore, CapacityLimiter, Condition, Event, GetTimeoutError, Mutex, PutTimeoutError,
    Queue, ResourceGuard, RwLock, Semaphore, Timeout,
};

const SHORT: Duration = Duration::from_millis(5);

// ---------------------------------------------------------------- statics

static LOCK: Mutex<u32> = Mutex::new(0);
static FAIR: Mutex<()> = Mutex::new_fair(());
static SEM: Semaphore = Semaphore::new(2);
static BOUNDED: BoundedSemaphore = BoundedSemaphore::new(1);
static READY: Event = Event::new();
static COND: Condition = Condition::new();
static START: Barrier = Barrier::new(1);
static JOBS: Queue<u32> = Queue::unbounded();
static STACK: Queue<u32, dualsync::Lifo> = Queue::unbounded_lifo();
static HEAP: Queue<u32, dualsync::Priority> = Queue::unbounded_priority();
static SLOTS: CapacityLimiter = CapacityLimiter::new(1);
static PORT: ResourceGuard = ResourceGuard::from_static("writing to");
static TABLE: RwLock<u32> = RwLock::new(0);
static FAIR_TABLE: RwLock<()> = RwLock::new_fair(());

#[test]
fn every_primitive_can_live_in_a_static() {
    *LOCK.lock().block() += 1;
    drop(FAIR.try_lock().unwrap());
    let p = SEM.acquire().block().unwrap();
    assert_eq!(SEM.available_permits(), 1);
    drop(p);
    assert_eq!(BOUNDED.release(), Err(dualsync::ReleaseError::OverRelease));
    READY.set();
    READY.wait().block();
    assert_eq!(COND.notify_all(), 0);
    assert!(START.wait().block().unwrap().is_leader());
    JOBS.try_put(1).unwrap();
    STACK.try_put(2).unwrap();
    HEAP.try_put(3).unwrap();
    assert_eq!(
        (JOBS.try_get(), STACK.try_get(), HEAP.try_get()),
        (Ok(1), Ok(2), Ok(3))
    );
    drop(SLOTS.acquire_on_behalf_of(Borrower::id(1)).block().unwrap());
    drop(PORT.enter().unwrap());
    *TABLE.write().block() += 1;
    assert_eq!(*TABLE.read().block(), 1);
    drop(FAIR_TABLE.try_upgradable_read().unwrap());
}

// ---------------------------------------------------------------- unwind safety

fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn primitives_are_unwind_safe_like_std() {
    unwind_safe::<Mutex<Vec<u8>>>();
    unwind_safe::<Semaphore>();
    unwind_safe::<BoundedSemaphore>();
    unwind_safe::<Event>();
    unwind_safe::<Condition>();
    unwind_safe::<Barrier>();
    unwind_safe::<Queue<String>>();
    unwind_safe::<CapacityLimiter>();
    unwind_safe::<ResourceGuard>();
    unwind_safe::<RwLock<Vec<u8>>>();
    // No AssertUnwindSafe needed:
    let sem = Semaphore::new(0);
    assert!(catch_unwind(|| sem.add_permits(1)).unwrap().is_ok());
    let m = Mutex::new(1);
    let r = catch_unwind(|| {
        let _g = m.lock().block();
        panic!("inside");
    });
    assert!(r.is_err());
    assert!(!m.is_locked(), "a panic unlocks (no poisoning)");
}

// ---------------------------------------------------------------- flat errors

#[test]
fn timed_waits_return_one_flat_error() {
    // Cannot fail otherwise: `Timeout`, which prints as itself.
    let m = Mutex::new(());
    let g = m.lock().block();
    let e = m.lock().block_for(SHORT).unwrap_err();
    let _: Timeout = e;
    assert_eq!(format!("{e:?}"), "Timeout");
    drop(g);
    let rw = RwLock::new(());
    let w = rw.write().block();
    let _: Timeout = rw.read().block_for(SHORT).unwrap_err();
    drop(w);
    let u = rw.upgradable_read().block();
    let r = rw.read().block();
    let _: Timeout = dualsync::RwLockUpgradableReadGuard::upgrade(u)
        .block_for(SHORT)
        .unwrap_err();
    drop(r);

    let s = Semaphore::new(0);
    assert_eq!(
        s.acquire().block_for(SHORT).unwrap_err(),
        AcquireTimeoutError::Timeout
    );
    s.close();
    assert_eq!(
        s.acquire().block_for(SHORT).unwrap_err(),
        AcquireTimeoutError::Closed
    );
    assert_eq!(
        AcquireTimeoutError::Closed.to_string(),
        "the semaphore is closed"
    );

    let q = Queue::<u32>::bounded(1);
    assert_eq!(q.get().block_for(SHORT), Err(GetTimeoutError::Timeout));
    q.try_put(1).unwrap();
    assert_eq!(
        q.put(2).block_for(SHORT),
        Err(PutTimeoutError::Timeout(2)),
        "the item comes back"
    );
    q.shutdown(true);
    assert_eq!(q.get().block_for(SHORT), Err(GetTimeoutError::ShutDown));

    let b = Barrier::new(2);
    assert_eq!(b.wait().block_for(SHORT), Err(BarrierTimeoutError::Timeout));
    b.abort();
    assert_eq!(
        b.wait().block_until(std::time::Instant::now()),
        Err(BarrierTimeoutError::Broken)
    );

    let l = CapacityLimiter::new(1);
    let me = Borrower::id(3);
    let t = l.acquire_on_behalf_of(me).block().unwrap();
    assert_eq!(
        l.acquire_on_behalf_of(me).block_for(SHORT).unwrap_err(),
        AcquireTokenTimeoutError::AlreadyBorrowed(me)
    );
    assert_eq!(
        l.acquire_on_behalf_of(Borrower::id(4))
            .block_for(SHORT)
            .unwrap_err(),
        AcquireTokenTimeoutError::Timeout
    );
    drop(t);
}

#[test]
fn question_mark_goes_from_untimed_to_timed_errors() {
    fn take(s: &Semaphore) -> Result<usize, AcquireTimeoutError> {
        let p = s.acquire().block()?; // AcquireError -> AcquireTimeoutError
        let q = s.acquire().block_for(SHORT)?;
        Ok(p.num_permits() + q.num_permits())
    }
    assert_eq!(take(&Semaphore::new(2)), Ok(2));
    assert_eq!(take(&Semaphore::new(1)), Err(AcquireTimeoutError::Timeout));
    let closed = Semaphore::new(1);
    closed.close();
    assert_eq!(take(&closed), Err(AcquireTimeoutError::Closed));
    fn boxed(q: &Queue<u8>) -> Result<u8, Box<dyn std::error::Error>> {
        Ok(q.get().block_for(SHORT)?)
    }
    assert_eq!(
        boxed(&Queue::unbounded()).unwrap_err().to_string(),
        "the operation timed out"
    );
}

// ---------------------------------------------------------------- constructors

#[test]
fn barrier_new_panics_on_zero_and_try_new_says_why() {
    assert!(catch_unwind(|| Barrier::new(0)).is_err());
    assert_eq!(Barrier::try_new(0).err(), Some(dualsync::ZeroParties));
    assert_eq!(Barrier::try_new(3).unwrap().parties(), 3);
}

#[test]
fn a_limiter_token_can_be_forgotten_and_released_later() {
    let l = CapacityLimiter::new(1);
    let who = Borrower::id(9);
    l.try_acquire_on_behalf_of(who).unwrap().forget();
    assert!(l.is_borrowing(who));
    assert_eq!(l.statistics().borrowed_tokens, 1);
    l.release_on_behalf_of(who).unwrap();
    assert_eq!(l.borrowed_tokens(), 0);
}

// ---------------------------------------------------------------- cancel with a result

#[test]
fn a_cancelled_put_gives_its_item_back_in_every_mode() {
    let q = Arc::new(Queue::bounded(1));
    q.try_put(0u32).unwrap();
    // A task that races its put against a timer keeps the item.
    let rt = rt();
    let q2 = q.clone();
    let back = rt.block_on(async move {
        let mut put = pin!(q2.put(1));
        match tokio::time::timeout(SHORT, put.as_mut()).await {
            Ok(r) => panic!("the queue is full: {r:?}"),
            Err(_) => put.as_mut().cancel(),
        }
    });
    assert_eq!(back, Some(1));
    assert_eq!(q.len(), 1);
    // A put that finished has nothing to give back.
    let mut put = pin!(q.put(5));
    assert_eq!(q.try_get(), Ok(0));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(put.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(put.as_mut().cancel(), None);
    // Never polled: the item was never offered.
    let mut put = pin!(q.put(6));
    assert_eq!(put.as_mut().cancel(), Some(6));
    assert_eq!(q.try_get(), Ok(5));
}

#[test]
fn a_cancelled_barrier_wait_says_whether_it_was_counted() {
    let b = Barrier::new(2);
    let mut cx = Context::from_waker(Waker::noop());
    // Withdrawn before the round completed: not counted.
    let mut w = pin!(b.wait());
    assert!(w.as_mut().poll(&mut cx).is_pending());
    assert_eq!(b.n_waiting(), 1);
    assert_eq!(w.as_mut().cancel(), None);
    assert_eq!(b.n_waiting(), 0);
    // Counted: the round completed before the cancel.
    let mut w = pin!(b.wait());
    assert!(w.as_mut().poll(&mut cx).is_pending());
    let leader = b.try_wait().unwrap();
    assert!(leader.is_leader());
    let r = w.as_mut().cancel().expect("counted").unwrap();
    assert_eq!(r.index(), 0);
}

// ---------------------------------------------------------------- barrier rounds

/// A party that resets (or aborts) the barrier right after its round
/// completed does not take that round back from the other parties: they
/// return their indices, as in asyncio and `threading`.
fn reset_right_after_the_round(abort: bool, threads: usize, tasks: usize) {
    let parties = threads + tasks + 1;
    let b = Arc::new(Barrier::new(parties));
    let rt = rt();
    let ths: Vec<_> = (0..threads)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || b.wait().block())
        })
        .collect();
    let tks: Vec<_> = (0..tasks)
        .map(|_| {
            let b = b.clone();
            rt.spawn(async move { b.wait().await })
        })
        .collect();
    common::eventually("every other party waits", || b.n_waiting() == parties - 1);
    let last = b.wait().block().unwrap();
    assert!(last.is_leader());
    if abort {
        b.abort();
    } else {
        b.reset();
    }
    let mut indices = vec![last.index()];
    for t in ths {
        indices.push(t.join().unwrap().expect("the round completed").index());
    }
    for t in tks {
        indices.push(
            rt.block_on(t)
                .unwrap()
                .expect("the round completed")
                .index(),
        );
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..parties).collect::<Vec<_>>());
    assert_eq!(b.is_broken(), abort);
}

#[test]
fn a_reset_right_after_a_round_does_not_take_it_back() {
    for abort in [false, true] {
        reset_right_after_the_round(abort, 2, 0);
        reset_right_after_the_round(abort, 0, 2);
        reset_right_after_the_round(abort, 1, 1);
    }
}
