//! Memory object streams (`channel`): every mode, disconnection from either
//! side, cloned halves, `Stream`, `iter`, `recv_many`, statistics, the
//! item handed back by a cancelled send, and a mixed thread/task stress.

mod common;

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};
use std::time::Duration;

use common::{eventually, rt, within};
use dualsync::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, channel,
    unbounded_channel,
};
use futures::StreamExt;

const SHORT: Duration = Duration::from_millis(5);

#[test]
fn every_mode_and_flat_errors() {
    let (tx, rx) = channel(1);
    tx.send(1).block().unwrap();
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!(
        tx.send(2).block_for(SHORT),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.recv().block_for(SHORT), Ok(1));
    assert_eq!(rx.recv().block_for(SHORT), Err(RecvTimeoutError::Timeout));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    futures::executor::block_on(async {
        tx.send(3).await.unwrap();
        assert_eq!(rx.recv().await, Ok(3));
    });
    tx.try_send(4).unwrap();
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(TrySendError::Full(0).to_string(), "the channel is full");
    assert_eq!(
        format!("{:?}", SendError::Disconnected(String::from("x"))),
        "SendError::Disconnected(..)"
    );
}

#[test]
fn the_last_sender_ends_the_stream_after_the_buffer_drains() {
    let (tx, rx) = channel(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    assert!(!rx.is_disconnected(), "a clone is still open");
    tx2.close();
    assert!(rx.is_disconnected());
    assert_eq!(rx.recv().block(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv().block(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(
        rx.recv().block_for(SHORT),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn blocked_receivers_wake_when_the_last_sender_goes() {
    let (tx, rx) = channel::<u32>(2);
    let rt = rt();
    let th = {
        let rx = rx.clone();
        std::thread::spawn(move || rx.recv().block())
    };
    let task = {
        let rx = rx.clone();
        rt.spawn(async move { rx.recv().await })
    };
    eventually("two receivers queued", || {
        rx.statistics().receivers_waiting == 2
    });
    drop(tx);
    assert_eq!(th.join().unwrap(), Err(RecvError));
    assert_eq!(rt.block_on(task).unwrap(), Err(RecvError));
}

/// Counts its drops, to see items dropped with the channel.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_last_receiver_fails_every_send_with_the_item_back() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel(1);
    tx.try_send(Counted(drops.clone())).unwrap();
    let rt = rt();
    let th = {
        let tx = tx.clone();
        let d = drops.clone();
        std::thread::spawn(move || tx.send(Counted(d)).block().map_err(|e| e.into_inner()))
    };
    let task = {
        let tx = tx.clone();
        let d = drops.clone();
        rt.spawn(async move { tx.send(Counted(d)).await.map_err(|e| e.into_inner()) })
    };
    eventually("two senders queued", || {
        tx.statistics().senders_waiting == 2
    });
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_disconnected());
    rx2.close();
    assert!(tx.is_disconnected());
    // The buffered item is dropped with the channel's last reader...
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // ...and each blocked send gets its own item back.
    let back_th = th.join().unwrap().unwrap_err();
    let back_task = rt.block_on(task).unwrap().unwrap_err();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop((back_th, back_task));
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert!(matches!(
        tx.try_send(Counted(drops.clone())),
        Err(TrySendError::Disconnected(_))
    ));
}

#[test]
fn statistics_count_halves_and_waiters() {
    let (tx, rx) = channel::<u8>(3);
    let tx2 = tx.clone();
    let st = rx.statistics();
    assert_eq!(
        (
            st.current_buffer_used,
            st.max_buffer_size,
            st.open_send_streams,
            st.open_receive_streams
        ),
        (0, Some(3), 2, 1)
    );
    tx2.try_send(1).unwrap();
    drop(tx2);
    let st = tx.statistics();
    assert_eq!((st.current_buffer_used, st.open_send_streams), (1, 1));
    assert!(format!("{rx:?}").contains("buffered: 1"));
    assert_eq!(
        unbounded_channel::<u8>().0.statistics().max_buffer_size,
        None
    );
    assert!(tx.same_channel(&tx.clone()));
    assert!(!tx.same_channel(&channel(1).0));
}

#[test]
fn a_cancelled_send_gives_its_item_back() {
    let (tx, rx) = channel(1);
    tx.try_send("first").unwrap();
    let rt = rt();
    let back = rt.block_on(async {
        let mut send = pin!(tx.send("second"));
        match tokio::time::timeout(SHORT, send.as_mut()).await {
            Ok(r) => panic!("full: {r:?}"),
            Err(_) => send.as_mut().cancel(),
        }
    });
    assert_eq!(back, Some("second"));
    assert_eq!(rx.try_recv(), Ok("first"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn stream_iter_and_recv_many() {
    let (tx, rx) = channel(2);
    let producer = std::thread::spawn(move || {
        for i in 0..10 {
            tx.send(i).block().unwrap();
        }
    });
    let got: Vec<u32> = futures::executor::block_on(rx.collect());
    producer.join().unwrap();
    assert_eq!(got, (0..10).collect::<Vec<_>>());

    let (tx, rx) = unbounded_channel();
    for i in 0..7 {
        tx.try_send(i).unwrap();
    }
    let mut buf = vec![];
    assert_eq!(rx.recv_many(&mut buf, 5).block(), 5);
    assert_eq!(futures::executor::block_on(rx.recv_many(&mut buf, 5)), 2);
    assert!(
        rx.recv_many(&mut buf, 5).block_for(SHORT).is_err(),
        "empty: times out"
    );
    drop(tx);
    assert_eq!(
        rx.recv_many(&mut buf, 5).block(),
        0,
        "the end of the stream"
    );
    assert_eq!(buf, (0..7).collect::<Vec<_>>());

    let (tx, rx) = channel(3);
    let t = std::thread::spawn(move || {
        for i in 1..=4 {
            tx.send(i).block().unwrap();
        }
    });
    assert_eq!(rx.iter().sum::<u64>(), 10);
    t.join().unwrap();
}

#[test]
fn a_stream_next_that_loses_a_select_takes_no_item() {
    let (tx, mut rx) = channel(4);
    let rt = rt();
    rt.block_on(async {
        // Lose against an immediate branch many times: nothing is taken.
        for _ in 0..100 {
            tokio::select! {
                biased;
                () = async {} => {}
                _ = rx.next() => panic!("empty"),
            }
        }
        tx.try_send(7).unwrap();
        assert_eq!(rx.next().await, Some(7));
        drop(tx);
        assert_eq!(rx.next().await, None);
    });
    // A pending next, then the receiver dropped: the waiter leaves cleanly.
    let (tx, mut rx) = channel::<u8>(1);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(rx.poll_next_unpin(&mut cx).is_pending());
    assert_eq!(tx.statistics().receivers_waiting, 1);
    drop(rx);
    assert_eq!(tx.statistics().receivers_waiting, 0);
    assert!(tx.is_disconnected());
}

#[test]
fn mixed_producers_and_consumers_lose_nothing() {
    within(60, || {
        const EACH: u64 = 5_000;
        let (tx, rx) = channel(8);
        let rt = rt();
        let sum = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        let mut producers = vec![];
        let mut tasks = vec![];
        for p in 0..4u64 {
            let tx = tx.clone();
            if p % 2 == 0 {
                producers.push(std::thread::spawn(move || {
                    for i in 0..EACH {
                        tx.send(p * EACH + i + 1).block().unwrap();
                    }
                }));
            } else {
                tasks.push(rt.spawn(async move {
                    for i in 0..EACH {
                        tx.send(p * EACH + i + 1).await.unwrap();
                    }
                }));
            }
        }
        drop(tx);
        let mut consumers = vec![];
        for c in 0..4 {
            let (rx, sum, count) = (rx.clone(), sum.clone(), count.clone());
            if c % 2 == 0 {
                consumers.push(std::thread::spawn(move || {
                    for x in rx.iter() {
                        sum.fetch_add(x as usize, Ordering::Relaxed);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            } else {
                tasks.push(rt.spawn(async move {
                    let mut rx = rx;
                    while let Some(x) = rx.next().await {
                        sum.fetch_add(x as usize, Ordering::Relaxed);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
        }
        drop(rx);
        for t in producers.into_iter().chain(consumers) {
            t.join().unwrap();
        }
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        let n = 4 * EACH;
        assert_eq!(count.load(Ordering::Relaxed) as u64, n);
        assert_eq!(sum.load(Ordering::Relaxed) as u64, n * (n + 1) / 2);
    });
}
