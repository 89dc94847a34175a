//! Queue<T>: order, try_* errors, task_done/join, shutdown in both modes with
//! blocked putters and getters, cancellation (a notified getter that is
//! dropped passes its wake-up on), timed puts giving their item back, and
//! conservation of items under mixed thread/task producers and consumers with
//! random cancellation.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use dualsync::{
    GetError, GetTimeoutError, Order, PutError, PutTimeoutError, Queue, TaskDoneError, TryGetError,
    TryPutError,
};

mod common;
use common::{eventually, poll_once, rt};

#[test]
fn fifo_lifo_priority_order() {
    let q = Queue::unbounded();
    let l = Queue::unbounded_lifo();
    let p = Queue::unbounded_priority();
    for x in [3, 1, 4, 1, 5, 9, 2, 6] {
        q.try_put(x).unwrap();
        l.try_put(x).unwrap();
        p.try_put(x).unwrap();
    }
    let drain = |f: &dyn Fn() -> Result<i32, TryGetError>| {
        let mut v = vec![];
        while let Ok(x) = f() {
            v.push(x);
        }
        v
    };
    assert_eq!(drain(&|| q.try_get()), [3, 1, 4, 1, 5, 9, 2, 6]);
    assert_eq!(drain(&|| l.try_get()), [6, 2, 9, 5, 1, 4, 1, 3]);
    assert_eq!(drain(&|| p.try_get()), [1, 1, 2, 3, 4, 5, 6, 9]);
}

#[test]
fn try_errors_sizes_and_debug() {
    let q = Queue::bounded(2);
    assert_eq!(q.capacity(), Some(2));
    assert!(q.is_empty() && !q.is_full());
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
    q.try_put("a").unwrap();
    q.try_put("b").unwrap();
    assert!(q.is_full());
    assert_eq!(q.len(), 2);
    assert_eq!(q.try_put("c"), Err(TryPutError::Full("c")));
    assert_eq!(
        format!("{q:?}"),
        "Queue { maxsize: 2, qsize: 2, getters: 0, putters: 0, unfinished_tasks: 2 }"
    );
    q.shutdown(false);
    assert_eq!(q.try_put("d").unwrap_err().into_inner(), "d");
    assert_eq!(q.try_get(), Ok("a"));
    assert_eq!(q.try_get(), Ok("b"));
    assert_eq!(q.try_get(), Err(TryGetError::ShutDown));
    let u: Queue<u8> = Queue::unbounded();
    assert_eq!(u.capacity(), None);
    assert!(!u.is_full());
}

/// The locked stores (LIFO, priority, a FIFO too large for the ring) tell
/// empty, full and shut down apart as the ring does, also when they
/// answer from their published flags without taking their lock.
#[test]
fn try_errors_of_the_locked_stores() {
    fn check<O: Order<u32>>(q: Queue<u32, O>, cap: usize, order: [u32; 2]) {
        assert_eq!(q.try_get(), Err(TryGetError::Empty));
        assert!(q.is_empty() && !q.is_full());
        for x in 0..cap as u32 - 2 {
            q.try_put(100 + x).unwrap();
        }
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        assert!(q.is_full());
        assert_eq!(q.try_put(3), Err(TryPutError::Full(3)));
        q.shutdown(false);
        assert_eq!(q.try_put(4), Err(TryPutError::ShutDown(4)));
        let mut got = vec![];
        while let Ok(x) = q.try_get() {
            got.push(x);
        }
        assert_eq!(got.len(), cap);
        assert!(got.iter().filter(|&&x| x < 100).eq(order.iter()));
        assert_eq!(q.try_get(), Err(TryGetError::ShutDown));
        assert_eq!(
            q.get().block_for(Duration::ZERO),
            Err(GetTimeoutError::ShutDown)
        );
    }
    check(Queue::bounded_lifo(2), 2, [2, 1]);
    check(Queue::bounded_priority(2), 2, [1, 2]);
    check(Queue::<u32>::with_maxsize(Some(70_000)), 70_000, [1, 2]);
}

#[test]
#[should_panic]
fn zero_capacity_panics() {
    let _ = Queue::<u8>::bounded(0);
}

#[test]
fn task_done_and_join() {
    let q = Arc::new(Queue::unbounded());
    assert!(matches!(q.task_done(), Err(TaskDoneError { .. })));
    q.join().block(); // nothing unfinished: returns at once
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    assert!(q.join().block_for(Duration::from_millis(10)).is_err());
    let joined = Arc::new(AtomicUsize::new(0));
    let t = {
        let (q, joined) = (q.clone(), joined.clone());
        thread::spawn(move || {
            q.join().block();
            joined.fetch_add(1, Ordering::SeqCst);
        })
    };
    let rt = rt();
    let task = {
        let (q, joined) = (q.clone(), joined.clone());
        rt.spawn(async move {
            q.join().await;
            joined.fetch_add(1, Ordering::SeqCst);
        })
    };
    eventually("two joiners queued", || q.statistics().joiners_waiting == 2);
    assert_eq!(q.try_get(), Ok(1));
    q.task_done().unwrap();
    thread::sleep(Duration::from_millis(20));
    assert_eq!(
        joined.load(Ordering::SeqCst),
        0,
        "one item is still unfinished"
    );
    assert_eq!(q.try_get(), Ok(2));
    q.task_done().unwrap();
    t.join().unwrap();
    rt.block_on(task).unwrap();
    assert_eq!(joined.load(Ordering::SeqCst), 2);
    assert!(q.task_done().is_err(), "over-call is an error");
    assert_eq!(q.statistics().unfinished_tasks, 0);
}

#[test]
fn shutdown_graceful_with_blocked_putters_and_drain() {
    let q = Arc::new(Queue::bounded(1));
    q.try_put(0).unwrap();
    let rt = rt();
    let tp = {
        let q = q.clone();
        thread::spawn(move || q.put(1).block())
    };
    let ap = {
        let q = q.clone();
        rt.spawn(async move { q.put(2).await })
    };
    eventually("two putters queued", || q.statistics().putters_waiting == 2);
    q.shutdown(false);
    assert_eq!(tp.join().unwrap(), Err(PutError::ShutDown(1)));
    assert_eq!(rt.block_on(ap).unwrap(), Err(PutError::ShutDown(2)));
    // Getters drain what is left, then see ShutDown.
    assert_eq!(q.get().block(), Ok(0));
    assert_eq!(q.get().block(), Err(GetError::ShutDown));
    assert_eq!(rt.block_on(q.get()), Err(GetError::ShutDown));
    assert_eq!(
        q.put(9).block_for(Duration::from_secs(1)),
        Err(PutTimeoutError::ShutDown(9))
    );
}

#[test]
fn shutdown_graceful_wakes_blocked_getters() {
    let q: Arc<Queue<u32>> = Arc::new(Queue::unbounded());
    let rt = rt();
    let tg = {
        let q = q.clone();
        thread::spawn(move || q.get().block())
    };
    let ag = {
        let q = q.clone();
        rt.spawn(async move { q.get().await })
    };
    eventually("two getters queued", || q.statistics().getters_waiting == 2);
    q.shutdown(false);
    assert_eq!(tg.join().unwrap(), Err(GetError::ShutDown));
    assert_eq!(rt.block_on(ag).unwrap(), Err(GetError::ShutDown));
}

#[test]
fn shutdown_immediate_discards_and_counts_as_done() {
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Arc::new(Queue::bounded(3));
    for _ in 0..3 {
        q.try_put(Tracked(drops.clone())).unwrap();
    }
    let first = q.try_get().ok().unwrap(); // taken, not yet done
    let rt = rt();
    let putter = {
        let (q, d) = (q.clone(), drops.clone());
        q.try_put(Tracked(d.clone())).unwrap(); // fills it again
        thread::spawn(move || q.put(Tracked(d)).block().map_err(PutError::into_inner))
    };
    let joiner = {
        let q = q.clone();
        rt.spawn(async move { q.join().await })
    };
    eventually("putter and joiner queued", || {
        let s = q.statistics();
        s.putters_waiting == 1 && s.joiners_waiting == 1
    });
    q.shutdown(true);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3,
        "the 3 queued items were dropped"
    );
    assert!(
        putter.join().unwrap().is_err(),
        "the putter got its item back"
    );
    assert_eq!(q.len(), 0);
    assert!(matches!(q.try_get(), Err(TryGetError::ShutDown)));
    assert_eq!(
        q.statistics().unfinished_tasks,
        1,
        "the taken item is not done"
    );
    q.task_done().unwrap();
    rt.block_on(joiner).unwrap();
    drop(first);
}

#[test]
fn shutdown_immediate_wakes_getters_of_other_kinds() {
    let q: Arc<Queue<u32, dualsync::Lifo>> = Arc::new(Queue::bounded_lifo(4));
    let tg = {
        let q = q.clone();
        thread::spawn(move || q.get().block_for(Duration::from_secs(30)))
    };
    eventually("getter queued", || q.statistics().getters_waiting == 1);
    q.shutdown(true);
    assert_eq!(tg.join().unwrap(), Err(GetTimeoutError::ShutDown));
}

#[test]
fn timed_put_gives_the_item_back() {
    let q = Queue::bounded(1);
    q.try_put(String::from("in")).unwrap();
    let e = q
        .put(String::from("out"))
        .block_for(Duration::from_millis(5))
        .unwrap_err();
    assert_eq!(e, PutTimeoutError::Timeout(String::from("out")));
    assert_eq!(q.statistics().putters_waiting, 0);
    assert_eq!(q.len(), 1);
    assert!(q.put(String::from("x")).block_for(Duration::ZERO).is_err());
    assert_eq!(q.get().block_for(Duration::ZERO), Ok(String::from("in")));
    assert!(q.get().block_for(Duration::from_millis(5)).is_err());
}

#[test]
fn cancelled_handed_getter_passes_the_item_on() {
    let q = Queue::unbounded();
    let mut g1 = Box::pin(q.get());
    let mut g2 = pin!(q.get());
    assert!(poll_once(g1.as_mut()).is_pending());
    assert!(poll_once(g2.as_mut()).is_pending());
    q.try_put(7).unwrap(); // handed to g1
    drop(g1); // cancelled before it took the item: g2 must get it
    assert_eq!(poll_once(g2.as_mut()), Poll::Ready(Ok(7)));
    assert!(q.is_empty());
}

#[test]
fn item_given_back_by_a_dropped_getter_comes_out_first() {
    let q = Queue::bounded(2);
    let mut g = Box::pin(q.get());
    assert!(poll_once(g.as_mut()).is_pending());
    q.try_put(1).unwrap(); // handed to g: the ring stays empty
    assert_eq!(q.len(), 0);
    q.try_put(2).unwrap();
    q.try_put(3).unwrap();
    assert_eq!(q.try_put(4), Err(TryPutError::Full(4)));
    drop(g); // nobody waits: 1 is kept to come out first
    assert_eq!(q.len(), 3, "a given-back item holds no slot");
    assert_eq!(q.try_put(4), Err(TryPutError::Full(4)));
    assert_eq!(q.statistics().unfinished_tasks, 3);
    assert_eq!(q.try_get(), Ok(1));
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(q.get().block(), Ok(3));
    assert!(q.is_empty());
}

#[test]
fn item_given_back_after_an_immediate_shutdown_is_discarded() {
    let q = Queue::bounded(1);
    let mut g = Box::pin(q.get());
    assert!(poll_once(g.as_mut()).is_pending());
    q.try_put(String::from("x")).unwrap(); // handed to g
    q.shutdown(true);
    assert_eq!(q.statistics().unfinished_tasks, 1); // g holds it
    drop(g); // given back after the discard: discarded too, and done
    assert_eq!(q.len(), 0);
    assert_eq!(q.statistics().unfinished_tasks, 0);
    q.join().block();
    assert_eq!(q.try_get(), Err(TryGetError::ShutDown));
}

#[test]
fn timed_out_thread_getter_keeps_an_item_it_was_handed() {
    // Whichever comes first, the put or the deadline, the item is in
    // exactly one place: the getter's result or the queue.
    for _ in 0..200 {
        let q = Arc::new(Queue::bounded(1));
        let q1 = q.clone();
        let getter = thread::spawn(move || q1.get().block_for(Duration::from_micros(50)));
        thread::sleep(Duration::from_micros(40));
        q.try_put(5).unwrap();
        match getter.join().unwrap() {
            Ok(x) => {
                assert_eq!(x, 5);
                assert!(q.is_empty());
            }
            Err(GetTimeoutError::Timeout) => assert_eq!(q.try_get(), Ok(5)),
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn cancelled_notified_putter_passes_the_slot_on() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let mut p1 = Box::pin(q.put(1));
    let mut p2 = pin!(q.put(2));
    assert!(poll_once(p1.as_mut()).is_pending());
    assert!(poll_once(p2.as_mut()).is_pending());
    assert_eq!(q.try_get(), Ok(0)); // notifies p1
    drop(p1); // its item is dropped, never enqueued; p2 gets the slot
    assert_eq!(poll_once(p2.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
}

#[test]
fn a_waiting_getter_is_handed_the_item_before_a_newcomer() {
    let q = Queue::unbounded();
    let mut g1 = pin!(q.get());
    let mut g2 = pin!(q.get());
    assert!(poll_once(g1.as_mut()).is_pending());
    assert!(poll_once(g2.as_mut()).is_pending());
    q.try_put(1).unwrap(); // handed to g1
    assert_eq!(q.try_get(), Err(TryGetError::Empty), "no barging");
    q.try_put(2).unwrap(); // handed to g2
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
    assert_eq!(poll_once(g2.as_mut()), Poll::Ready(Ok(2)));
    assert_eq!(poll_once(g1.as_mut()), Poll::Ready(Ok(1)));
}

#[test]
fn thread_and_task_ping_pong_capacity_one() {
    let q = Arc::new(Queue::bounded(1));
    let back = Arc::new(Queue::bounded(1));
    let rt = rt();
    let n = 2000u32;
    let t = {
        let (q, back) = (q.clone(), back.clone());
        thread::spawn(move || {
            for i in 0..n {
                q.put(i).block().unwrap();
                assert_eq!(back.get().block(), Ok(i + 1));
            }
        })
    };
    rt.block_on(async {
        for _ in 0..n {
            let i = q.get().await.unwrap();
            back.put(i + 1).await.unwrap();
        }
    });
    t.join().unwrap();
}

/// Every item delivered exactly once, with thread and task producers and
/// consumers, random timeouts (cancellation) on both sides; capacity 4 and
/// 1.
#[test]
fn conservation_under_mixed_cancellation() {
    conservation(Queue::bounded(4)); // the lock-free ring
    // A hand-off queue: blocked threads link at once, and the other side
    // completes them (a pop moves a linked thread's item in, a push hands
    // its item to a linked getter), while timeouts cancel them.
    conservation(Queue::bounded(1));
}

/// The same for the locked stores: unbounded FIFO, a FIFO too large for the
/// ring, LIFO and priority (bounded, so putters block too).
#[test]
fn conservation_under_mixed_cancellation_locked_stores() {
    conservation(Queue::unbounded());
    conservation(Queue::<u64>::with_maxsize(Some(100_000)));
    conservation(Queue::bounded_lifo(4));
    conservation(Queue::bounded_priority(4));
}

fn conservation<O: Order<u64> + 'static>(q: Queue<u64, O>)
where
    Queue<u64, O>: Send + Sync,
{
    const PER_PRODUCER: u64 = 3000;
    const PRODUCERS: u64 = 4; // 2 threads, 2 tasks
    let q = Arc::new(q);
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rt = rt();
    let seed = Arc::new(AtomicUsize::new(0x9e37));
    let rnd = move |s: &AtomicUsize| {
        let x = s.fetch_add(0x6b43_a9b5, Ordering::Relaxed);
        (x ^ (x >> 7)).wrapping_mul(2_654_435_761) % 5
    };

    let mut threads = vec![];
    for p in 0..2u64 {
        let (q, seed) = (q.clone(), seed.clone());
        threads.push(thread::spawn(move || {
            for i in 0..PER_PRODUCER {
                let mut item = p * PER_PRODUCER + i;
                loop {
                    let d = Duration::from_micros(rnd(&seed) as u64 * 20);
                    match q.put(item).block_for(d) {
                        Ok(()) => break,
                        Err(PutTimeoutError::Timeout(it)) => item = it,
                        Err(PutTimeoutError::ShutDown(_)) => panic!("shut down early"),
                    }
                }
            }
        }));
    }
    let mut tasks = vec![];
    for p in 2..PRODUCERS {
        let (q, seed) = (q.clone(), seed.clone());
        tasks.push(rt.spawn(async move {
            for i in 0..PER_PRODUCER {
                let item = p * PER_PRODUCER + i;
                loop {
                    let d = Duration::from_micros(rnd(&seed) as u64 * 20);
                    // A cancelled put drops its item (a copy here), never
                    // enqueued: retrying must not duplicate it.
                    if let Ok(r) = tokio::time::timeout(d, q.put(item)).await {
                        r.unwrap();
                        break;
                    }
                }
            }
        }));
    }
    let mut consumers = vec![];
    for _ in 0..2 {
        let (q, got, seed) = (q.clone(), got.clone(), seed.clone());
        consumers.push(thread::spawn(move || {
            let mut mine = vec![];
            loop {
                let d = Duration::from_micros(rnd(&seed) as u64 * 20);
                match q.get().block_for(d) {
                    Ok(x) => mine.push(x),
                    Err(GetTimeoutError::ShutDown) => break,
                    Err(GetTimeoutError::Timeout) => {} // cancelled
                }
            }
            got.lock().unwrap().extend(mine);
        }));
    }
    let mut consumer_tasks = vec![];
    for _ in 0..2 {
        let (q, got, seed) = (q.clone(), got.clone(), seed.clone());
        consumer_tasks.push(rt.spawn(async move {
            let mut mine = vec![];
            loop {
                let d = Duration::from_micros(rnd(&seed) as u64 * 20);
                match tokio::time::timeout(d, q.get()).await {
                    Ok(Ok(x)) => mine.push(x),
                    Ok(Err(GetError::ShutDown)) => break,
                    Err(_) => {}
                }
            }
            got.lock().unwrap().extend(mine);
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    q.shutdown(false);
    for c in consumers {
        c.join().unwrap();
    }
    for c in consumer_tasks {
        rt.block_on(c).unwrap();
    }
    let mut got = std::mem::take(&mut *got.lock().unwrap());
    got.sort_unstable();
    assert_eq!(
        got.len() as u64,
        PRODUCERS * PER_PRODUCER,
        "lost or duplicated items"
    );
    assert!(got.iter().copied().eq(0..PRODUCERS * PER_PRODUCER));
    assert_eq!(
        q.statistics().unfinished_tasks as u64,
        PRODUCERS * PER_PRODUCER
    );
}

#[test]
fn works_on_a_second_executor() {
    let q = Arc::new(Queue::bounded(2));
    let t = {
        let q = q.clone();
        thread::spawn(move || {
            for i in 0..100 {
                q.put(i).block().unwrap();
            }
            q.shutdown(false);
        })
    };
    let sum = smol::block_on(async {
        let mut s = 0;
        while let Ok(x) = q.get().await {
            s += x;
        }
        s
    });
    t.join().unwrap();
    assert_eq!(sum, 4950);
}

/// Thread putters blocked on a full queue are served strictly in arrival
/// order: each freed slot receives the front putter's item directly.
#[test]
fn blocked_thread_putters_are_served_in_order() {
    let q = Arc::new(Queue::bounded(1));
    q.try_put(0).unwrap();
    let mut putters = vec![];
    for i in 1..=3 {
        let q2 = q.clone();
        putters.push(thread::spawn(move || q2.put(i).block()));
        eventually("the putter queued", || {
            q.statistics().putters_waiting == i as usize
        });
    }
    let got: Vec<i32> = (0..4).map(|_| q.get().block().unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 3]);
    for p in putters {
        p.join().unwrap().unwrap();
    }
    assert!(q.is_empty());
    assert_eq!(q.statistics().unfinished_tasks, 4);
}

/// Capacities: the ring takes up to 65536 slots, larger bounded FIFO queues
/// (up to "unbounded in practice") allocate as they grow.
#[test]
fn capacities_small_large_and_huge() {
    for cap in [1usize, 3, 65_536, 65_537, usize::MAX / 2] {
        let q: Queue<usize> = Queue::bounded(cap);
        assert_eq!(q.capacity(), Some(cap));
        for i in 0..cap.min(2000) {
            q.try_put(i).unwrap();
        }
        assert_eq!(q.len(), cap.min(2000));
        assert_eq!(q.is_full(), cap <= 2000);
        for i in 0..cap.min(2000) {
            assert_eq!(q.try_get(), Ok(i));
        }
        assert!(q.is_empty());
    }
}

/// A blocking put or get that completes on its first try (the driver then
/// forgets the finished operation instead of dropping it) leaks nothing and
/// drops nothing twice: every item is in the queue, in the caller's hands,
/// or back in the error of a put on a shut-down queue, once.
#[test]
fn blocking_calls_that_complete_at_once_keep_every_item_once() {
    let token = Arc::new(());
    let fifo: Queue<Arc<()>> = Queue::bounded(4);
    let lifo: Queue<Arc<()>, dualsync::Lifo> = Queue::unbounded_lifo();
    for _ in 0..2 {
        fifo.put(token.clone()).block().unwrap();
        fifo.put(token.clone()).block_for(Duration::ZERO).unwrap();
        lifo.put(token.clone()).block().unwrap();
    }
    assert_eq!(Arc::strong_count(&token), 7);
    let got = fifo.get().block().unwrap();
    let got2 = lifo.get().block_for(Duration::from_secs(1)).unwrap();
    assert_eq!(Arc::strong_count(&token), 7, "moved out, not copied");
    drop((got, got2));
    assert_eq!(Arc::strong_count(&token), 5);
    fifo.shutdown(false);
    match fifo.put(token.clone()).block() {
        Err(PutError::ShutDown(back)) => assert!(Arc::ptr_eq(&back, &token)),
        other => panic!("a put on a shut-down queue gives its item back: {other:?}"),
    }
    assert_eq!(
        Arc::strong_count(&token),
        5,
        "the item given back was dropped once"
    );
    drop((fifo, lifo));
    assert_eq!(Arc::strong_count(&token), 1);
}

/// Items still in a queue when it is dropped are dropped with it, once.
#[test]
fn dropping_the_queue_drops_its_items() {
    let token = Arc::new(());
    {
        let ring: Queue<Arc<()>> = Queue::bounded(8);
        let locked: Queue<Arc<()>, dualsync::Lifo> = Queue::unbounded_lifo();
        for _ in 0..5 {
            ring.try_put(token.clone()).unwrap();
            locked.try_put(token.clone()).unwrap();
        }
        drop(ring.try_get().unwrap()); // the ring's head moved: drop walks from it
        assert_eq!(Arc::strong_count(&token), 10);
    }
    assert_eq!(Arc::strong_count(&token), 1);
}
