//! Loom models of the channel's disconnection (`RUSTFLAGS="--cfg loom"`):
//! the last half of one side going away while the other side waits, with a
//! thread and a task waiter. A waiter left asleep is a loom deadlock; a lost
//! or duplicated item fails the counts.

#[cfg(loom)]
mod loom_models {
    use crate::channel::channel;
    use crate::engine::loom_model as model;

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
