//! Loom models of the channel (`RUSTFLAGS="--cfg loom"`): disconnection
//! (the last half of one side going away while the other side waits), the
//! rendezvous hand-off and send permits, each with a thread and a task
//! waiter and a cancellation (a thread's timed wait is one look under
//! loom, then a cancellation). A waiter left asleep is a loom deadlock; a
//! lost or duplicated item fails the counts; a slot left held fails the
//! statistics.

#[cfg(loom)]
mod loom_models {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};
    use std::time::Duration;

    use crate::channel::{Receiver, Sender, channel};
    use crate::engine::loom_model as model;

    const ONE_LOOK: Duration = Duration::from_millis(1);

    /// `op`, boxed and polled once by a task whose waker does nothing: it
    /// waits (queued) when this returns.
    fn queued<F: Future>(op: F) -> Pin<Box<F>> {
        let mut op = Box::pin(op);
        assert!(poll_again(&mut op).is_none(), "it waits first");
        op
    }

    /// One more poll of a task's operation: its output, if it has one.
    fn poll_again<F: Future>(op: &mut Pin<Box<F>>) -> Option<F::Output> {
        match op.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        }
    }

    /// A thread that sends `item` through a permit (`reserve`, then the
    /// permit's `send`) on a clone of `tx`.
    fn permit_send(tx: &Sender<u32>, item: u32) -> loom::thread::JoinHandle<()> {
        let tx = tx.clone();
        loom::thread::spawn(move || tx.reserve().block().unwrap().send(item))
    }

    /// Nothing is left behind: no item, no waiter, no held slot.
    fn quiet<T>(tx: &Sender<T>, rx: &Receiver<T>) {
        let st = tx.statistics();
        assert_eq!(
            (
                st.current_buffer_used,
                st.senders_waiting,
                st.receivers_waiting,
                st.send_permits
            ),
            (0, 0, 0, 0)
        );
        assert!(rx.try_recv().is_err());
    }

    /// Rendezvous: a task receiver is handed an item (by a thread send)
    /// and may be dropped before it takes it, while a thread receiver
    /// waits: the item reaches exactly one of them (passed on, or left in
    /// the channel for the thread); if the task kept it, a second item
    /// releases the thread.
    #[test]
    fn loom_rendezvous_item_handed_to_a_dropped_receiver_passes_on() {
        model(|| {
            let (tx, rx) = channel::<u32>(0);
            let mut task = queued(rx.recv());
            let tx1 = tx.clone();
            let sender = loom::thread::spawn(move || tx1.send(1).block());
            let rx1 = rx.clone();
            let thread = loom::thread::spawn(move || rx1.recv().block());
            // The task looks once more, then goes away.
            let by_task = poll_again(&mut task).map(Result::unwrap);
            drop(task);
            if by_task.is_some() {
                tx.send(2).block().unwrap();
            }
            sender.join().unwrap().unwrap();
            let by_thread = thread.join().unwrap().unwrap();
            match by_task {
                Some(x) => assert_eq!((x, by_thread), (1, 2)),
                None => assert_eq!(by_thread, 1),
            }
            quiet(&tx, &rx);
        });
    }

    /// Capacity 1: a task receiver's `Stream`, queued on the empty
    /// channel, is handed the item of a thread's `try_send`, and the receiver
    /// clone is dropped before or after it looks again, while a thread
    /// receiver waits or comes: an item the stream did not yield reaches
    /// the thread (passed on, or kept for it to take first); if the stream
    /// yielded it, a second item releases the thread.
    #[test]
    fn loom_channel_item_handed_to_a_dropped_stream_passes_on() {
        use futures_core::Stream;
        model(|| {
            let (tx, rx) = channel::<u32>(1);
            let mut stream = rx.clone();
            let mut cx = Context::from_waker(Waker::noop());
            assert!(Pin::new(&mut stream).poll_next(&mut cx).is_pending()); // queued first
            let tx1 = tx.clone();
            let sender = loom::thread::spawn(move || tx1.try_send(1));
            let rx1 = rx.clone();
            let thread = loom::thread::spawn(move || rx1.recv().block());
            let by_task = match Pin::new(&mut stream).poll_next(&mut cx) {
                Poll::Ready(x) => Some(x.unwrap()),
                Poll::Pending => None,
            };
            drop(stream);
            sender.join().unwrap().unwrap();
            if by_task.is_some() {
                tx.send(2).block().unwrap();
            }
            let by_thread = thread.join().unwrap().unwrap();
            match by_task {
                Some(x) => assert_eq!((x, by_thread), (1, 2)),
                None => assert_eq!(by_thread, 1),
            }
            quiet(&tx, &rx);
        });
    }

    /// Rendezvous: a thread send that gives up races a task receiver. The
    /// send either delivered (`Ok`: the task has the item) or did not (the
    /// item comes back; a second send releases the task): never both.
    #[test]
    fn loom_rendezvous_send_that_gives_up() {
        model(|| {
            let (tx, rx) = channel::<u32>(0);
            let tx1 = tx.clone();
            let quitter = loom::thread::spawn(move || tx1.send(1).block_for(ONE_LOOK));
            let rx1 = rx.clone();
            let task = loom::thread::spawn(move || loom::future::block_on(rx1.recv()));
            let sent = match quitter.join().unwrap() {
                Ok(()) => 1,
                Err(e) => {
                    assert_eq!(e.into_inner(), 1);
                    tx.send(2).block().unwrap();
                    2
                }
            };
            assert_eq!(task.join().unwrap(), Ok(sent));
            quiet(&tx, &rx);
        });
    }

    /// Rendezvous: a thread reservation claims a task receiver that may
    /// be dropped before the permit sends; the permit's item then waits in
    /// the channel for the next receiver (the main thread, whose wait also
    /// lets a reservation that found no receiver go through).
    #[test]
    fn loom_rendezvous_reserve_claims_a_receiver_that_goes_away() {
        model(|| {
            let (tx, rx) = channel::<u32>(0);
            let mut task = queued(rx.recv());
            let reserver = permit_send(&tx, 1);
            let got = match poll_again(&mut task) {
                Some(r) => r.unwrap(),
                None => {
                    drop(task);
                    rx.recv().block().unwrap()
                }
            };
            assert_eq!(got, 1);
            reserver.join().unwrap();
            quiet(&tx, &rx);
        });
    }

    /// Rendezvous: a thread permit and a thread send race for the one
    /// task receiver waiting, while the main thread comes to receive too.
    /// The unit of room a waiting receiver brings is taken by one CAS, so
    /// exactly one of the two claims the task; the other waits until the
    /// main thread's receive (its item taken, or its reservation let in by
    /// the receiver that links). Each item arrives once, and nothing is
    /// left held or waiting.
    #[test]
    fn loom_rendezvous_permit_and_send_race_for_one_receiver() {
        model(|| {
            let (tx, rx) = channel::<u32>(0);
            let mut task = queued(rx.recv());
            let reserver = permit_send(&tx, 1);
            let tx2 = tx.clone();
            let sender = loom::thread::spawn(move || tx2.send(2).block().unwrap());
            let main = rx.recv().block().unwrap();
            reserver.join().unwrap();
            sender.join().unwrap();
            let task = poll_again(&mut task)
                .expect("the task was handed one")
                .unwrap();
            let mut got = [task, main];
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
            quiet(&tx, &rx);
        });
    }

    /// Rendezvous: one sender's items arrive in the order it sent them
    /// when the first one is buffered and the second could go straight to
    /// a waiting receiver. A permit claims a task receiver's room, the task
    /// is dropped, and the permit sends while a thread receiver comes: its
    /// item goes straight to the thread if it is queued, else it waits in
    /// the channel. The same sender then sends a second item: if the thread
    /// queued after the first was buffered (and has not looked again), the
    /// second must not be handed to it ahead of the first
    /// (`push_to_receiver` refuses while an item is buffered).
    #[test]
    fn loom_rendezvous_buffered_item_goes_before_a_direct_send() {
        model(|| {
            let (tx, rx) = channel::<u32>(0);
            let task = queued(rx.recv());
            let permit = tx.try_reserve().expect("the task receiver is room");
            let rx1 = rx.clone();
            let thread = loom::thread::spawn(move || {
                let a = rx1.recv().block().unwrap();
                (a, rx1.recv().block().unwrap())
            });
            drop(task);
            permit.send(1);
            tx.send(2).block().unwrap();
            assert_eq!(thread.join().unwrap(), (1, 2));
            quiet(&tx, &rx);
        });
    }

    /// A task reservation queued first on a full channel is granted the
    /// slot a receiver frees, and is dropped before it runs: the slot goes
    /// on to the thread send queued behind it (else that thread sleeps
    /// next to a free slot: a loom deadlock).
    #[test]
    fn loom_granted_reserve_dropped_passes_the_slot_on() {
        model(|| {
            let (tx, rx) = channel::<u32>(1);
            tx.try_send(0).unwrap();
            let reserve = queued(tx.reserve()); // queued first
            let tx1 = tx.clone();
            let sender = loom::thread::spawn(move || tx1.send(1).block());
            let rx1 = rx.clone();
            let getter = loom::thread::spawn(move || rx1.try_recv());
            let got = getter.join().unwrap();
            drop(reserve); // granted or not: cancelled now
            if got.is_err() {
                // The getter ran before anything: free the slot now.
                assert_eq!(rx.try_recv(), Ok(0));
            }
            sender.join().unwrap().unwrap();
            assert_eq!(rx.try_recv(), Ok(1));
            quiet(&tx, &rx);
        });
    }

    /// A thread waits for a slot with a reservation while a task receives
    /// from the full channel: the freed slot reaches the reservation (or
    /// its look), and its permit's item reaches the task.
    #[test]
    fn loom_thread_permit_and_task_receiver() {
        model(|| {
            let (tx, rx) = channel::<u32>(1);
            tx.try_send(0).unwrap();
            let sender = permit_send(&tx, 1);
            let rx1 = rx.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(async { (rx1.recv().await, rx1.recv().await) })
            });
            sender.join().unwrap();
            assert_eq!(task.join().unwrap(), (Ok(0), Ok(1)));
            quiet(&tx, &rx);
        });
    }

    /// The last sender goes while a thread receiver and a task receiver
    /// wait on an empty channel: both see the end of the stream.
    #[test]
    fn loom_channel_last_sender_wakes_receivers() {
        model(|| {
            let (tx, rx) = channel::<u32>(1);
            let rx1 = rx.clone();
            let thread = loom::thread::spawn(move || rx1.recv().block());
            let task = loom::thread::spawn(move || loom::future::block_on(rx.recv()));
            drop(tx);
            assert!(thread.join().unwrap().is_err());
            assert!(task.join().unwrap().is_err());
        });
    }

    /// The last receiver goes while a thread sender and a task sender are
    /// blocked on a full channel: both get their items back.
    #[test]
    fn loom_channel_last_receiver_fails_blocked_senders() {
        model(|| {
            let (tx, rx) = channel::<u32>(1);
            tx.try_send(0).unwrap();
            let tx1 = tx.clone();
            let thread =
                loom::thread::spawn(move || tx1.send(1).block().map_err(|e| e.into_inner()));
            let tx2 = tx.clone();
            let task = loom::thread::spawn(move || {
                loom::future::block_on(tx2.send(2)).map_err(|e| e.into_inner())
            });
            drop(rx);
            assert_eq!(thread.join().unwrap(), Err(1));
            assert_eq!(task.join().unwrap(), Err(2));
            assert!(tx.is_disconnected());
        });
    }
}
