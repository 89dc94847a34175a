//! Tests of `queue` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models of the queue's put/get hand-off: a thread getter that
    //! gives up (a timed-out `block_for` is one look under loom, then a
    //! cancellation, possibly after it was notified) racing a task getter
    //! and a putter. A lost wake-up is a loom deadlock; a lost or duplicated
    //! item fails the final count.

    use std::sync::Arc;
    use std::time::Duration;

    use crate::queue::{GetError, Queue};

    /// A capacity-1 queue holding the item 1.
    fn full_of_one() -> Arc<Queue<u32>> {
        let q = Arc::new(Queue::bounded(1));
        q.try_put(1).unwrap();
        q
    }

    /// Everything left in the queue, in order.
    fn drain(q: &Queue<u32>) -> Vec<u32> {
        core::iter::from_fn(|| q.try_get().ok()).collect()
    }

    /// One item, a cancellable thread getter and a task getter: whatever
    /// the thread getter did (took the item, timed out while queued, or was
    /// notified and then gave up), an item it did not take reaches the task
    /// getter (a notification lost by the cancelled getter strands the task
    /// getter: a loom deadlock). If the thread took the item, a second one
    /// releases the task getter. Every item is accounted for exactly once.
    #[test]
    fn loom_queue_cancelled_getter_passes_on() {
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::unbounded());
            let q1 = q.clone();
            let thread_getter =
                loom::thread::spawn(move || q1.get().block_for(Duration::from_millis(1)).ok());
            let q2 = q.clone();
            let task_getter = loom::thread::spawn(move || loom::future::block_on(q2.get()));
            q.try_put(1).unwrap();
            let by_thread = thread_getter.join().unwrap();
            if by_thread.is_some() {
                q.try_put(2).unwrap();
            }
            let by_task = task_getter.join().unwrap().unwrap();
            let mut all = vec![by_task];
            all.extend(by_thread);
            all.sort_unstable();
            assert_eq!(
                all,
                if by_thread.is_some() {
                    vec![1, 2]
                } else {
                    vec![1]
                }
            );
            assert!(q.is_empty());
            let s = q.statistics();
            assert_eq!((s.getters_waiting, s.putters_waiting), (0, 0));
        });
    }

    /// Capacity 1: a putter thread blocked on a full queue, a task getter
    /// making room, and a shutdown racing them. The putter either enqueued
    /// its item or got it back; nothing is lost or duplicated.
    #[test]
    fn loom_queue_bounded_put_get_shutdown() {
        loom::model(|| {
            let q = full_of_one();
            let q1 = q.clone();
            let putter =
                loom::thread::spawn(move || q1.put(2).block().err().map(|e| e.into_inner()));
            let q2 = q.clone();
            let getter = loom::thread::spawn(move || loom::future::block_on(q2.get()));
            q.shutdown(false);
            let returned = putter.join().unwrap();
            let mut all: Vec<u32> = returned.into_iter().collect();
            if let Ok(x) = getter.join().unwrap() {
                all.push(x);
            }
            all.extend(drain(&q));
            all.sort_unstable();
            assert_eq!(all, [1, 2]);
            assert_eq!(loom::future::block_on(q.get()), Err(GetError::ShutDown));
        });
    }

    /// The lock-free ring (bounded FIFO) and a blocked thread getter: a
    /// task putter's push races the getter's queue-then-recheck. A lost
    /// wake-up (neither sees the other) is a loom deadlock.
    #[test]
    fn loom_ring_getter_putter_no_lost_wakeup() {
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::bounded(1));
            let q1 = q.clone();
            let getter = loom::thread::spawn(move || q1.get().block());
            loom::future::block_on(q.put(5)).unwrap();
            assert_eq!(getter.join().unwrap(), Ok(5));
            assert!(q.is_empty());
        });
    }

    /// Capacity 1, full: a thread putter that gives up (one look under
    /// loom, then a cancellation) races a task getter that frees the slot
    /// and may move the putter's item into the ring. The put either
    /// reports success and its item is in the queue, or times out and the
    /// item comes back: never both, never neither.
    #[test]
    fn loom_ring_refill_races_timeout() {
        loom::model(|| {
            let q = full_of_one();
            let q1 = q.clone();
            let putter = loom::thread::spawn(move || q1.put(2).block_for(Duration::from_millis(1)));
            assert_eq!(loom::future::block_on(q.get()), Ok(1));
            let put = putter.join().unwrap();
            let rest = drain(&q);
            match put {
                Ok(()) => assert_eq!(rest, [2]),
                Err(e) => {
                    assert_eq!(e.into_inner(), 2);
                    assert!(rest.is_empty());
                }
            }
            let s = q.statistics();
            assert_eq!((s.getters_waiting, s.putters_waiting), (0, 0));
        });
    }

    /// A task putter that was woken for a free slot and then dropped passes
    /// the slot on to the thread putter queued behind it (else that thread
    /// sleeps forever next to a free slot: a loom deadlock).
    #[test]
    fn loom_notified_task_putter_cancel_passes_on() {
        use core::future::Future;
        use core::task::{Context, Waker};
        loom::model(|| {
            let q = full_of_one();
            let mut task_put = Box::pin(q.put(2));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(task_put.as_mut().poll(&mut cx).is_pending()); // queued first
            let q1 = q.clone();
            let thread_put = loom::thread::spawn(move || q1.put(3).block());
            let q2 = q.clone();
            let getter = loom::thread::spawn(move || q2.try_get());
            let got = getter.join().unwrap();
            drop(task_put); // notified or not: cancelled now, item 2 dropped
            if got.is_ok() {
                // The freed slot must reach the thread putter.
                thread_put.join().unwrap().unwrap();
                assert_eq!(q.try_get(), Ok(3));
            } else {
                // The getter ran before anything: release the thread putter.
                assert_eq!(q.try_get(), Ok(1));
                thread_put.join().unwrap().unwrap();
                assert_eq!(q.try_get(), Ok(3));
            }
            assert!(q.is_empty());
        });
    }

    /// Capacity 1: a task getter queued on the empty ring is handed the
    /// item of a thread's `try_put`, and looks once more or is dropped before it
    /// takes it, while a thread getter waits or comes: an item the task did
    /// not take reaches the thread getter (passed on to it, or kept for it
    /// to take first); a lost item leaves the thread asleep (a loom
    /// deadlock). If the task kept it, a second put releases the thread.
    #[test]
    fn loom_queue_item_handed_to_a_dropped_task_getter_passes_on() {
        use core::future::Future;
        use core::task::{Context, Poll, Waker};
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::bounded(1));
            let mut task_get = Box::pin(q.get());
            let mut cx = Context::from_waker(Waker::noop());
            assert!(task_get.as_mut().poll(&mut cx).is_pending()); // queued first
            let q1 = q.clone();
            let putter = loom::thread::spawn(move || q1.try_put(1));
            let q2 = q.clone();
            let thread_get = loom::thread::spawn(move || q2.get().block());
            let by_task = match task_get.as_mut().poll(&mut cx) {
                Poll::Ready(r) => Some(r.unwrap()),
                Poll::Pending => None,
            };
            drop(task_get);
            putter.join().unwrap().unwrap();
            if by_task.is_some() {
                q.try_put(2).unwrap();
            }
            let by_thread = thread_get.join().unwrap().unwrap();
            match by_task {
                Some(x) => assert_eq!((x, by_thread), (1, 2)),
                None => assert_eq!(by_thread, 1),
            }
            assert!(q.is_empty());
            let s = q.statistics();
            assert_eq!((s.getters_waiting, s.putters_waiting), (0, 0));
            assert_eq!(s.unfinished_tasks, 1 + usize::from(by_task.is_some()));
        });
    }

    /// `join` in a task while a thread takes the item and marks it done.
    #[test]
    fn loom_queue_join_task_done() {
        loom::model(|| {
            let q: Arc<Queue<u32>> = Arc::new(Queue::unbounded());
            q.try_put(7).unwrap();
            let q1 = q.clone();
            let worker = loom::thread::spawn(move || {
                assert_eq!(q1.get().block(), Ok(7));
                q1.task_done().unwrap();
            });
            loom::future::block_on(q.join());
            worker.join().unwrap();
            assert!(q.task_done().is_err());
        });
    }
}

#[cfg(all(test, not(loom)))]
mod unit {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::engine::driver::Waitable;
    use crate::engine::waiter::{MAX_SPIN_DELAY, spin_delay_now};
    use crate::queue::{GetTimeoutError, PutTimeoutError, Queue};

    /// A blocking call tries its operation before pinning it
    /// (`Waitable::try_unpinned`): a try that succeeds finishes the
    /// operation; one that fails links nothing and keeps the item, and the
    /// operation then waits (here: times out) as a whole.
    #[test]
    fn a_blocking_call_tries_before_it_pins() {
        let q = Queue::bounded(1);
        let mut put = q.put(1);
        assert!(matches!(put.try_unpinned(), Some(Ok(()))));
        assert!(put.is_terminated());
        drop(put);

        let mut put = q.put(2);
        assert!(put.try_unpinned().is_none());
        assert!(!put.is_terminated());
        assert_eq!(q.statistics().putters_waiting, 0);
        let moved = put; // never linked: it may still move
        assert_eq!(
            moved.block_for(Duration::from_millis(1)),
            Err(PutTimeoutError::Timeout(2))
        );

        let mut get = q.get();
        assert_eq!(get.try_unpinned(), Some(Ok(1)));
        assert!(get.is_terminated());
        drop(get);
        let mut get = q.get();
        assert_eq!(get.try_unpinned(), None);
        assert_eq!(q.statistics().getters_waiting, 0);
        assert_eq!(
            get.block_for(Duration::from_millis(1)),
            Err(GetTimeoutError::Timeout)
        );
        assert_eq!(q.len(), 0);
    }

    /// On a hand-off queue (capacity 1, or a rendezvous channel) a blocked
    /// thread `put` or `get` links without spinning first, so that the
    /// other side's operation completes it; a reservation at capacity 1
    /// (no item to move in) and any larger queue spin first.
    #[test]
    fn hand_off_waiters_link_without_spinning() {
        use crate::engine::waiter::Policy;
        use crate::queue::{Getters, ItemCell, PutSlot, Putters, Reservers};

        let look = |q: &Queue<u8>| {
            (
                Putters(q).spin_check(&PutSlot::put(0)).is_some(),
                Reservers(q).spin_check(&PutSlot::reservation()).is_some(),
                Getters(q).spin_check(&ItemCell::new(None)).is_some(),
            )
        };
        assert_eq!(look(&Queue::bounded(1)), (false, true, false));
        assert_eq!(look(&Queue::for_channel(Some(1))), (false, true, false));
        assert_eq!(look(&Queue::bounded(2)), (true, true, true));
        assert_eq!(look(&Queue::unbounded()), (true, true, true));
        assert_eq!(look(&Queue::for_channel(Some(0))), (false, false, false));
    }

    /// A blocking `get` or `put` lets at most half the capacity in pauses
    /// pass before its first look, at most `MAX_SPIN_DELAY`, none at
    /// capacity 0 or 1 (every item a hand-off).
    #[test]
    fn spin_delay_scales_with_capacity() {
        for (cap, max) in [
            (1, 0),
            (2, 1),
            (64, 32),
            (1024, 512),
            (4096, MAX_SPIN_DELAY),
        ] {
            assert_eq!(Queue::<u8>::bounded(cap).max_spin_delay(), max, "cap {cap}");
        }
        assert_eq!(Queue::<u8>::unbounded().max_spin_delay(), MAX_SPIN_DELAY);
    }

    /// A ping-pong over two large queues (a request, then its reply) never
    /// has two items in a queue, so no waiter ever finds the other side
    /// ahead: both threads' delays stay 0 and each message is seen as soon
    /// as it lands (measured: 0.2-0.6 µs per round trip, against 15 µs with
    /// a fixed 512-pause delay).
    #[test]
    fn a_ping_pong_keeps_no_spin_delay() {
        let (a, b) = (
            Arc::new(Queue::<u32>::bounded(1024)),
            Arc::new(Queue::<u32>::bounded(1024)),
        );
        let echo = {
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    let v = a.get().block().unwrap();
                    b.put(v).block().unwrap();
                    assert_eq!(spin_delay_now(), 0);
                }
            })
        };
        for i in 0..20_000 {
            a.put(i).block().unwrap();
            assert_eq!(b.get().block().unwrap(), i);
            assert_eq!(spin_delay_now(), 0);
        }
        echo.join().unwrap();
    }
}
