//! Memory object streams (`channel`): every mode, disconnection from either
//! side, cloned halves, `Stream`, `iter`, `recv_many`, statistics, the
//! item handed back by a cancelled send, and a mixed thread/task stress;
//! the rendezvous channel (`channel(0)`), send permits (`reserve`) and the
//! `Sink`, each in every mode and with cancellation at every await point.

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{eventually, poll_once, rt, within};
use dualsync::{
    Receiver, RecvError, RecvTimeoutError, ReserveError, ReserveTimeoutError, SendError,
    SendTimeoutError, Sender, TryRecvError, TryReserveError, TrySendError, channel,
    unbounded_channel,
};
use futures::{SinkExt, StreamExt};

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

/// Two thread and two task producers, two thread (`iter`) and two task
/// (`Stream`) consumers, more threads than cores: every item arrives once.
/// Capacity 8, and 1, where every blocked thread links at once and is
/// completed by the other side (`Queue::hand_off`).
#[test]
fn mixed_producers_and_consumers_lose_nothing() {
    mixed_lose_nothing(8);
    mixed_lose_nothing(1);
}

fn mixed_lose_nothing(capacity: usize) {
    within(60, move || {
        const EACH: u64 = 5_000;
        let (tx, rx) = channel(capacity);
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

// ---------------------------------------------------------------- rendezvous

/// How a party of a test finishes its operation.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Thread,
    Task,
}

const MODES: [Mode; 2] = [Mode::Thread, Mode::Task];

/// The end of a party started on a thread or a task: its result.
type Joined<T> = Box<dyn FnOnce(&tokio::runtime::Runtime) -> T>;

/// Sends `item` on a thread or a tokio task; the handle gives the result.
fn spawn_send(
    rt: &tokio::runtime::Runtime,
    mode: Mode,
    tx: Sender<u32>,
    item: u32,
) -> Joined<Result<(), SendError<u32>>> {
    match mode {
        Mode::Thread => {
            let h = std::thread::spawn(move || tx.send(item).block());
            Box::new(move |_| h.join().unwrap())
        }
        Mode::Task => {
            let h = rt.spawn(async move { tx.send(item).await });
            Box::new(move |rt| rt.block_on(h).unwrap())
        }
    }
}

/// Receives on a thread or a tokio task; the handle gives the result.
fn spawn_recv(
    rt: &tokio::runtime::Runtime,
    mode: Mode,
    rx: Receiver<u32>,
) -> Joined<Result<u32, RecvError>> {
    match mode {
        Mode::Thread => {
            let h = std::thread::spawn(move || rx.recv().block());
            Box::new(move |_| h.join().unwrap())
        }
        Mode::Task => {
            let h = rt.spawn(async move { rx.recv().await });
            Box::new(move |rt| rt.block_on(h).unwrap())
        }
    }
}

#[test]
fn rendezvous_try_operations_need_a_partner() {
    let (tx, rx) = channel::<u32>(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.try_reserve().unwrap_err(), TryReserveError::Full);
    assert_eq!(
        tx.send(2).block_for(SHORT),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.recv().block_for(SHORT), Err(RecvTimeoutError::Timeout));
    assert_eq!(
        tx.reserve().block_for(SHORT).unwrap_err(),
        ReserveTimeoutError::Timeout
    );
    let st = tx.statistics();
    assert_eq!(
        (
            st.max_buffer_size,
            st.current_buffer_used,
            st.senders_waiting,
            st.receivers_waiting,
            st.send_permits
        ),
        (Some(0), 0, 0, 0, 0)
    );
    assert!(format!("{tx:?}").contains("capacity: Some(0)"));
}

/// A send waits until a receiver takes its item, whoever comes first,
/// between threads, tasks and both.
#[test]
fn rendezvous_send_and_recv_meet_in_every_mode() {
    within(60, || {
        let rt = rt();
        for send_mode in MODES {
            for recv_mode in MODES {
                for sender_first in [true, false] {
                    let (tx, rx) = channel::<u32>(0);
                    let (send, recv);
                    if sender_first {
                        send = spawn_send(&rt, send_mode, tx.clone(), 7);
                        eventually("the sender waits", || tx.statistics().senders_waiting == 1);
                        assert_eq!(tx.statistics().current_buffer_used, 0);
                        recv = spawn_recv(&rt, recv_mode, rx.clone());
                    } else {
                        recv = spawn_recv(&rt, recv_mode, rx.clone());
                        eventually("the receiver waits", || {
                            rx.statistics().receivers_waiting == 1
                        });
                        send = spawn_send(&rt, send_mode, tx.clone(), 7);
                    }
                    assert_eq!(recv(&rt), Ok(7), "{send_mode:?} -> {recv_mode:?}");
                    assert_eq!(send(&rt), Ok(()));
                    let st = tx.statistics();
                    assert_eq!(
                        (
                            st.current_buffer_used,
                            st.senders_waiting,
                            st.receivers_waiting
                        ),
                        (0, 0, 0)
                    );
                }
            }
        }
    });
}

/// `try_send` hands its item to a waiting receiver (and only then);
/// `try_recv` takes the item of a waiting sender.
#[test]
fn rendezvous_try_operations_meet_a_waiting_partner() {
    within(30, || {
        let rt = rt();
        for mode in MODES {
            let (tx, rx) = channel::<u32>(0);
            let recv = spawn_recv(&rt, mode, rx.clone());
            eventually("the receiver waits", || {
                rx.statistics().receivers_waiting == 1
            });
            tx.try_send(1).unwrap();
            assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)), "claimed");
            assert_eq!(recv(&rt), Ok(1));

            let send = spawn_send(&rt, mode, tx.clone(), 3);
            eventually("the sender waits", || tx.statistics().senders_waiting == 1);
            assert_eq!(rx.try_recv(), Ok(3));
            assert_eq!(send(&rt), Ok(()));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
    });
}

/// A pending send that is cancelled gives its item back; once a receiver
/// took the item, `cancel` says it was sent.
#[test]
fn rendezvous_cancelled_send_keeps_or_delivers_its_item() {
    let (tx, rx) = channel::<&str>(0);
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut send = pin!(tx.send("kept"));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        assert_eq!(tx.statistics().senders_waiting, 1);
        assert_eq!(send.as_mut().cancel(), Some("kept"));
        assert_eq!(tx.statistics().senders_waiting, 0);
    }
    {
        let mut send = pin!(tx.send("taken"));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        assert_eq!(rx.try_recv(), Ok("taken"));
        assert_eq!(send.as_mut().cancel(), None, "the receiver has it");
    }
    {
        // Dropped unpolled after the item was taken: delivered, not lost.
        let mut send = Box::pin(tx.send("dropped"));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        assert_eq!(rx.try_recv(), Ok("dropped"));
        drop(send);
    }
    {
        // Taken, then polled: Ok.
        let mut send = Box::pin(tx.send("polled"));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        let got = rx.recv().block();
        assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        assert_eq!(got, Ok("polled"));
    }
    let st = tx.statistics();
    assert_eq!((st.senders_waiting, st.current_buffer_used), (0, 0));
}

/// A receiver that was handed an item and is dropped before it runs passes
/// the item to the next waiting receiver, or, with none, leaves it in the
/// channel for the next one.
#[test]
fn rendezvous_item_handed_to_a_cancelled_receiver_passes_on() {
    let mut cx = Context::from_waker(Waker::noop());
    // No other receiver: the item waits in the channel.
    let (tx, rx) = channel::<u32>(0);
    let mut recv = Box::pin(rx.recv());
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    tx.try_send(1).unwrap(); // handed to the pending recv
    drop(recv);
    let st = tx.statistics();
    assert_eq!((st.current_buffer_used, st.receivers_waiting), (1, 0));
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)), "no receiver");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));

    // Another receiver waits: it gets the item.
    within(10, move || {
        let mut first = Box::pin(rx.recv());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        let rx2 = rx.clone();
        let second = std::thread::spawn(move || rx2.recv().block());
        eventually("two receivers", || rx.statistics().receivers_waiting == 2);
        tx.try_send(3).unwrap(); // to the first (front)
        drop(first);
        assert_eq!(second.join().unwrap(), Ok(3));
        // An orphaned item goes before any later send; then the end.
        let mut third = Box::pin(rx.recv());
        assert!(third.as_mut().poll(&mut cx).is_pending());
        tx.try_send(4).unwrap();
        drop(third);
        drop(tx);
        assert_eq!(rx.recv().block(), Ok(4));
        assert_eq!(rx.recv().block(), Err(RecvError));
    });
}

/// Disconnection on a rendezvous channel: waiting senders get their items
/// back when the last receiver goes; waiting receivers see the end when
/// the last sender goes.
#[test]
fn rendezvous_disconnection() {
    within(30, || {
        let rt = rt();
        let (tx, rx) = channel::<u32>(0);
        let a = spawn_send(&rt, Mode::Thread, tx.clone(), 1);
        let b = spawn_send(&rt, Mode::Task, tx.clone(), 2);
        eventually("two senders", || tx.statistics().senders_waiting == 2);
        drop(rx);
        assert_eq!(a(&rt), Err(SendError::Disconnected(1)));
        assert_eq!(b(&rt), Err(SendError::Disconnected(2)));
        assert_eq!(
            tx.reserve().block().unwrap_err(),
            ReserveError::Disconnected
        );

        let (tx, rx) = channel::<u32>(0);
        let a = spawn_recv(&rt, Mode::Thread, rx.clone());
        let b = spawn_recv(&rt, Mode::Task, rx.clone());
        eventually("two receivers", || rx.statistics().receivers_waiting == 2);
        drop(tx);
        assert_eq!(a(&rt), Err(RecvError));
        assert_eq!(b(&rt), Err(RecvError));
    });
}

/// Reservations on a rendezvous channel claim a waiting receiver: a second
/// one waits for a second receiver; a dropped permit frees its receiver
/// for a plain send.
#[test]
fn rendezvous_reserve_claims_a_waiting_receiver() {
    within(30, || {
        let rt = rt();
        let (tx, rx) = channel::<u32>(0);
        let recv = spawn_recv(&rt, Mode::Task, rx.clone());
        eventually("a receiver", || rx.statistics().receivers_waiting == 1);
        let permit = tx.try_reserve().unwrap();
        assert_eq!(tx.statistics().send_permits, 1);
        assert_eq!(tx.try_reserve().unwrap_err(), TryReserveError::Full);
        assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)), "claimed");
        drop(permit); // unused: the receiver is free again
        tx.try_send(1).unwrap();
        assert_eq!(recv(&rt), Ok(1));

        // A permit's send goes to the receiver it claimed, and leaves
        // nothing counted behind (no item, receiver or held slot).
        for mode in MODES {
            let recv = spawn_recv(&rt, mode, rx.clone());
            eventually("a receiver", || rx.statistics().receivers_waiting == 1);
            tx.try_reserve().unwrap().send(2);
            assert_eq!(recv(&rt), Ok(2));
            let st = tx.statistics();
            assert_eq!(
                (
                    st.current_buffer_used,
                    st.receivers_waiting,
                    st.send_permits
                ),
                (0, 0, 0)
            );
        }

        // A reserve that waits for a receiver, in a task and on a thread.
        for mode in MODES {
            let tx2 = tx.clone();
            let reserver: Joined<()> = match mode {
                Mode::Thread => {
                    let h = std::thread::spawn(move || {
                        tx2.reserve().block().unwrap().send(5);
                    });
                    Box::new(move |_| h.join().unwrap())
                }
                Mode::Task => {
                    let h = rt.spawn(async move {
                        tx2.reserve().await.unwrap().send(5);
                    });
                    Box::new(move |rt| rt.block_on(h).unwrap())
                }
            };
            eventually("the reservation waits", || {
                tx.statistics().senders_waiting == 1
            });
            assert_eq!(rx.recv().block(), Ok(5));
            reserver(&rt);
            assert_eq!(tx.statistics().send_permits, 0);
        }
    });
}

/// Many senders and receivers, threads and tasks, some giving up (timed
/// out sends give their items back, timed out receives take nothing):
/// every item sent is received exactly once, none is left over.
#[test]
fn rendezvous_mixed_with_timeouts_loses_nothing() {
    within(120, || {
        const EACH: u32 = 300;
        let rt = rt();
        let (tx, rx) = channel::<u32>(0);
        let sent = Arc::new(AtomicUsize::new(0));
        let sum_sent = Arc::new(AtomicUsize::new(0));
        let got = Arc::new(AtomicUsize::new(0));
        let sum_got = Arc::new(AtomicUsize::new(0));
        let mut threads = vec![];
        let mut tasks = vec![];
        for p in 0..4u32 {
            let (tx, sent, sum_sent) = (tx.clone(), sent.clone(), sum_sent.clone());
            let count = move |x: u32| {
                sent.fetch_add(1, Ordering::Relaxed);
                sum_sent.fetch_add(x as usize, Ordering::Relaxed);
            };
            if p % 2 == 0 {
                threads.push(std::thread::spawn(move || {
                    for i in 0..EACH {
                        let x = p * EACH + i + 1;
                        match tx.send(x).block_for(Duration::from_micros(50)) {
                            Ok(()) => count(x),
                            Err(e) => assert_eq!(e.into_inner(), x),
                        }
                    }
                }));
            } else {
                tasks.push(rt.spawn(async move {
                    for i in 0..EACH {
                        let x = p * EACH + i + 1;
                        if i % 3 == 0 {
                            let mut send = pin!(tx.send(x));
                            let r = tokio::time::timeout(Duration::from_micros(50), send.as_mut())
                                .await;
                            match r {
                                Ok(r) => {
                                    r.unwrap();
                                    count(x);
                                }
                                Err(_) => match send.as_mut().cancel() {
                                    None => count(x), // taken after all
                                    Some(back) => assert_eq!(back, x),
                                },
                            }
                        } else {
                            tx.send(x).await.unwrap();
                            count(x);
                        }
                    }
                }));
            }
        }
        drop(tx);
        for c in 0..4 {
            let (rx, got, sum_got) = (rx.clone(), got.clone(), sum_got.clone());
            let count = move |x: u32| {
                got.fetch_add(1, Ordering::Relaxed);
                sum_got.fetch_add(x as usize, Ordering::Relaxed);
            };
            if c % 2 == 0 {
                threads.push(std::thread::spawn(move || {
                    loop {
                        match rx.recv().block_for(Duration::from_micros(30)) {
                            Ok(x) => count(x),
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                }));
            } else {
                tasks.push(rt.spawn(async move {
                    let mut n = 0u32;
                    loop {
                        n += 1;
                        let r = if n.is_multiple_of(4) {
                            match tokio::time::timeout(Duration::from_micros(30), rx.recv()).await {
                                Ok(r) => r,
                                Err(_) => continue, // dropped: passes on what it got
                            }
                        } else {
                            rx.recv().await
                        };
                        match r {
                            Ok(x) => count(x),
                            Err(RecvError) => break,
                        }
                    }
                }));
            }
        }
        drop(rx);
        for t in threads {
            t.join().unwrap();
        }
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(got.load(Ordering::Relaxed), sent.load(Ordering::Relaxed));
        assert_eq!(
            sum_got.load(Ordering::Relaxed),
            sum_sent.load(Ordering::Relaxed)
        );
        assert!(sent.load(Ordering::Relaxed) > 0);
    });
}

// ---------------------------------------------------------------- reservations

#[test]
fn reserve_in_every_mode() {
    let (tx, rx) = channel::<u32>(2);
    let p1 = tx.reserve().block().unwrap();
    let p2 = futures::executor::block_on(tx.reserve()).unwrap();
    assert_eq!(tx.statistics().send_permits, 2);
    assert_eq!(tx.try_reserve().unwrap_err(), TryReserveError::Full);
    assert_eq!(
        tx.reserve().block_for(SHORT).unwrap_err(),
        ReserveTimeoutError::Timeout
    );
    assert_eq!(
        tx.reserve_owned()
            .block_until(std::time::Instant::now() + SHORT)
            .unwrap_err(),
        ReserveTimeoutError::Timeout
    );
    assert_eq!(tx.try_send(0), Err(TrySendError::Full(0)));
    assert!(format!("{p1:?}").contains("SendPermit"));
    p2.send(2); // order is the order of the sends, not of the reservations
    p1.send(1);
    assert_eq!(tx.statistics().send_permits, 0);
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(TryReserveError::Full.to_string(), "the channel is full");
    assert_eq!(
        ReserveError::Disconnected.to_string(),
        "the channel is disconnected"
    );
    // Unbounded: never waits, counts its permits.
    let (tx, rx) = unbounded_channel::<u32>();
    let permits: Vec<_> = (0..100).map(|_| tx.reserve().block().unwrap()).collect();
    assert_eq!(tx.statistics().send_permits, 100);
    tx.try_send(0).unwrap();
    for (i, p) in permits.into_iter().enumerate() {
        p.send(i as u32 + 1);
    }
    assert_eq!(rx.iter().take(101).count(), 101);
    assert_eq!(tx.statistics().send_permits, 0);
}

/// A blocked reserve (thread or task) fails when the last receiver goes;
/// a permit's item sent after that is dropped, and its slot released.
#[test]
fn reserve_and_permits_after_disconnection() {
    within(30, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel::<Counted>(1);
        let permit = tx.try_reserve().unwrap();
        let rt = rt();
        let th = {
            let tx = tx.clone();
            std::thread::spawn(move || tx.reserve().block().map(drop))
        };
        let task = {
            let tx = tx.clone();
            rt.spawn(async move { tx.reserve_owned().await.map(drop) })
        };
        eventually("two reservations wait", || {
            tx.statistics().senders_waiting == 2
        });
        drop(rx);
        assert_eq!(th.join().unwrap(), Err(ReserveError::Disconnected));
        assert_eq!(rt.block_on(task).unwrap(), Err(ReserveError::Disconnected));
        permit.send(Counted(drops.clone())); // nobody will receive it
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(tx.statistics().send_permits, 0);
        assert_eq!(tx.try_reserve().unwrap_err(), TryReserveError::Disconnected);
    });
}

/// An unused permit's slot goes to the next waiting sender, in arrival
/// order: a thread send queued before a task reserve gets it first.
#[test]
fn a_dropped_permit_passes_its_slot_in_order() {
    within(30, || {
        let rt = rt();
        let (tx, rx) = channel::<u32>(1);
        let permit = tx.try_reserve().unwrap();
        let th = {
            let tx = tx.clone();
            std::thread::spawn(move || tx.send(1).block())
        };
        eventually("the send waits", || tx.statistics().senders_waiting == 1);
        let task = {
            let tx = tx.clone();
            rt.spawn(async move {
                let p = tx.reserve().await.unwrap();
                p.send(2);
            })
        };
        eventually("the reserve waits", || tx.statistics().senders_waiting == 2);
        drop(permit);
        th.join().unwrap().unwrap();
        assert_eq!(rx.recv().block(), Ok(1)); // frees the slot for the task
        rt.block_on(task).unwrap();
        assert_eq!(rx.recv().block(), Ok(2));
        assert_eq!(tx.statistics().send_permits, 0);
    });
}

/// Cancellation at every point of a reservation: dropped while it waits
/// (nothing taken), dropped after it was granted a slot but before it ran
/// (the slot goes to the sender behind it), timed out in `block_for`, and
/// lost in a `select!`. No slot stays held; no item is ever at risk.
#[test]
fn a_cancelled_reserve_takes_nothing_and_passes_a_granted_slot_on() {
    within(30, || {
        let mut cx = Context::from_waker(Waker::noop());
        let (tx, rx) = channel::<u32>(1);
        tx.try_send(0).unwrap();
        // Dropped while queued.
        let mut r = Box::pin(tx.reserve());
        assert!(r.as_mut().poll(&mut cx).is_pending());
        assert_eq!(tx.statistics().senders_waiting, 1);
        drop(r);
        assert_eq!(tx.statistics().senders_waiting, 0);

        // Granted, then dropped before it is polled: the slot passes to the
        // thread send queued behind it.
        let mut r = Box::pin(tx.reserve());
        assert!(r.as_mut().poll(&mut cx).is_pending());
        let th = {
            let tx = tx.clone();
            std::thread::spawn(move || tx.send(1).block())
        };
        eventually("the send queued behind", || {
            tx.statistics().senders_waiting == 2
        });
        assert_eq!(rx.try_recv(), Ok(0)); // frees the slot: granted to `r`
        assert_eq!(tx.statistics().send_permits, 1);
        drop(r);
        th.join().unwrap().unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(tx.statistics().send_permits, 0);

        // Granted, then polled: the permit.
        tx.try_send(2).unwrap();
        let mut r = Box::pin(tx.reserve());
        assert!(r.as_mut().poll(&mut cx).is_pending());
        assert_eq!(rx.try_recv(), Ok(2));
        let Poll::Ready(Ok(permit)) = r.as_mut().poll(&mut cx) else {
            panic!("granted")
        };
        permit.send(3);
        assert_eq!(rx.try_recv(), Ok(3));

        // Timed out, and lost in a select: nothing held afterwards.
        tx.try_send(4).unwrap();
        assert_eq!(
            tx.reserve().block_for(SHORT).unwrap_err(),
            ReserveTimeoutError::Timeout
        );
        let rt = rt();
        rt.block_on(async {
            tokio::select! {
                biased;
                () = tokio::time::sleep(SHORT) => {}
                _ = tx.reserve() => panic!("full"),
            }
        });
        let st = tx.statistics();
        assert_eq!((st.send_permits, st.senders_waiting), (0, 0));
        assert_eq!(rx.try_recv(), Ok(4));
    });
}

/// The owned permit: `'static`, moves into a task, keeps the channel open
/// while held, gives its sender back.
#[test]
fn owned_permits() {
    within(30, || {
        let rt = rt();
        let (tx, rx) = channel::<u32>(1);
        let permit = rt.block_on(tx.reserve_owned()).unwrap();
        assert!(tx.try_reserve_owned().is_err());
        drop(tx);
        assert!(!rx.is_disconnected(), "the permit's clone holds it open");
        let back = rt
            .spawn(async move {
                let tx = permit.send(1);
                let again = tx.try_reserve_owned().unwrap_err();
                assert_eq!(again, TryReserveError::Full);
                tx
            })
            .block_on_in(&rt);
        assert_eq!(rx.try_recv(), Ok(1));
        let permit = back.try_reserve_owned().unwrap();
        let tx = permit.release();
        assert_eq!(tx.statistics().send_permits, 0);
        let permit = tx.try_reserve().unwrap().into_owned();
        assert!(format!("{permit:?}").contains("OwnedSendPermit"));
        drop((tx, back));
        assert!(!rx.is_disconnected());
        drop(permit);
        assert!(rx.is_disconnected());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// `rt.spawn(..).block_on_in(&rt)`: the task's output.
trait BlockOnIn<T> {
    fn block_on_in(self, rt: &tokio::runtime::Runtime) -> T;
}

impl<T> BlockOnIn<T> for tokio::task::JoinHandle<T> {
    fn block_on_in(self, rt: &tokio::runtime::Runtime) -> T {
        rt.block_on(self).unwrap()
    }
}

/// Producers that send only through permits (threads and tasks, some
/// giving up while they wait for one) and plain senders, with consumers:
/// every item is received once, and no slot is held at the end. A sender
/// that gave up never had its item at risk.
#[test]
fn permits_and_sends_mixed_lose_nothing() {
    within(120, || {
        const EACH: u64 = 2_000;
        let rt = rt();
        let (tx, rx) = channel::<u64>(2);
        let sent = Arc::new(AtomicUsize::new(0));
        let mut threads = vec![];
        let mut tasks = vec![];
        for p in 0..4u64 {
            let (tx, sent) = (tx.clone(), sent.clone());
            match p {
                0 => threads.push(std::thread::spawn(move || {
                    let mut i = 0;
                    while i < EACH {
                        if let Ok(permit) = tx.reserve().block_for(Duration::from_micros(20)) {
                            permit.send(p * EACH + i + 1);
                            sent.fetch_add(1, Ordering::Relaxed);
                            i += 1;
                        }
                    }
                })),
                1 => tasks.push(rt.spawn(async move {
                    let mut i = 0;
                    while i < EACH {
                        let r = tokio::time::timeout(Duration::from_micros(20), tx.reserve()).await;
                        if let Ok(permit) = r {
                            permit.unwrap().send(p * EACH + i + 1);
                            sent.fetch_add(1, Ordering::Relaxed);
                            i += 1;
                        }
                    }
                })),
                2 => threads.push(std::thread::spawn(move || {
                    for i in 0..EACH {
                        tx.send(p * EACH + i + 1).block().unwrap();
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })),
                _ => tasks.push(rt.spawn(async move {
                    for i in 0..EACH {
                        if i % 2 == 0 {
                            tx.reserve_owned().await.unwrap().send(p * EACH + i + 1);
                        } else {
                            tx.send(p * EACH + i + 1).await.unwrap();
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })),
            }
        }
        let stats_tx = tx.clone();
        drop(tx);
        let got = Arc::new(AtomicUsize::new(0));
        let sum = Arc::new(AtomicUsize::new(0));
        for c in 0..2 {
            let (rx, got, sum) = (rx.clone(), got.clone(), sum.clone());
            if c == 0 {
                threads.push(std::thread::spawn(move || {
                    for x in rx.iter() {
                        got.fetch_add(1, Ordering::Relaxed);
                        sum.fetch_add(x as usize, Ordering::Relaxed);
                    }
                }));
            } else {
                tasks.push(rt.spawn(async move {
                    let mut rx = rx;
                    while let Some(x) = rx.next().await {
                        got.fetch_add(1, Ordering::Relaxed);
                        sum.fetch_add(x as usize, Ordering::Relaxed);
                    }
                }));
            }
        }
        drop(rx);
        // Producers first (the consumers end when the last sender goes).
        let consumers_threads = threads.split_off(2);
        for t in threads {
            t.join().unwrap();
        }
        let consumer_task = tasks.pop().unwrap();
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(stats_tx.statistics().send_permits, 0);
        drop(stats_tx);
        for t in consumers_threads {
            t.join().unwrap();
        }
        rt.block_on(consumer_task).unwrap();
        let n = 4 * EACH as usize;
        assert_eq!(sent.load(Ordering::Relaxed), n);
        assert_eq!(got.load(Ordering::Relaxed), n);
        assert_eq!(sum.load(Ordering::Relaxed), n * (n + 1) / 2);
    });
}

// ---------------------------------------------------------------- Sink

#[test]
fn sink_send_send_all_and_forward() {
    within(30, || {
        let rt = rt();
        let (mut tx, rx) = channel::<u32>(1);
        let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
        rt.block_on(async {
            SinkExt::send(&mut tx, 1).await.unwrap();
            let mut more = futures::stream::iter(2..=50).map(Ok);
            tx.send_all(&mut more).await.unwrap();
            // `forward` drives a stream into the sink and closes it: the
            // last sender, so the stream ends for the consumer.
            futures::stream::iter(51..=60)
                .map(Ok)
                .forward(tx)
                .await
                .unwrap();
        });
        assert_eq!(consumer.join().unwrap(), (1..=60).collect::<Vec<_>>());
    });
}

/// A receiver's `Stream` forwarded into another channel's `Sink`, across a
/// rendezvous channel, between tasks.
#[test]
fn stream_forward_through_a_rendezvous_sink() {
    within(30, || {
        let rt = rt();
        let (tx1, rx1) = channel::<u32>(4);
        let (tx2, mut rx2) = channel::<u32>(0);
        let relay = rt.spawn(rx1.map(Ok).forward(tx2));
        let producer = rt.spawn(async move {
            for i in 0..100 {
                tx1.send(i).await.unwrap();
            }
        });
        let got = rt.block_on(async {
            let mut v = vec![];
            while let Some(x) = rx2.next().await {
                v.push(x);
            }
            v
        });
        rt.block_on(producer).unwrap();
        rt.block_on(relay).unwrap().unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

/// `poll_close` closes this half only; a closed sink fails; a ready sink
/// holds a slot until it sends, closes or goes; a sink dropped while it
/// waits leaves nothing behind.
#[test]
fn sink_close_and_cancellation() {
    use futures::Sink;
    let mut cx = Context::from_waker(Waker::noop());
    let (mut tx, rx) = channel::<u32>(1);
    let tx2 = tx.clone();
    // Ready: a slot is held.
    assert_eq!(Pin::new(&mut tx).poll_ready(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(tx.statistics().send_permits, 1);
    assert_eq!(tx2.try_send(0), Err(TrySendError::Full(0)));
    // Ready again without sending: the same slot.
    assert_eq!(Pin::new(&mut tx).poll_ready(&mut cx), Poll::Ready(Ok(())));
    Pin::new(&mut tx).start_send(1).unwrap();
    assert_eq!(tx.statistics().send_permits, 0);
    // Full: poll_ready waits (queued), and the wait is cancelled by close.
    assert!(Pin::new(&mut tx).poll_ready(&mut cx).is_pending());
    assert_eq!(tx.statistics().senders_waiting, 1);
    assert_eq!(Pin::new(&mut tx).poll_flush(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(Pin::new(&mut tx).poll_close(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(tx.statistics().senders_waiting, 0);
    assert_eq!(tx.statistics().open_send_streams, 1, "tx2 is still open");
    assert_eq!(
        Pin::new(&mut tx).poll_ready(&mut cx),
        Poll::Ready(Err(ReserveError::Disconnected))
    );
    assert_eq!(
        Pin::new(&mut tx).start_send(2),
        Err(ReserveError::Disconnected)
    );
    let mut closed_clone = tx.clone();
    assert_eq!(tx.statistics().open_send_streams, 1);
    assert!(Pin::new(&mut closed_clone).poll_ready(&mut cx).is_ready());
    drop((tx, closed_clone));
    assert!(!rx.is_disconnected());
    assert_eq!(rx.try_recv(), Ok(1));

    // A ready sink that is dropped frees its slot for the sender behind.
    let mut sink = tx2.clone();
    assert_eq!(Pin::new(&mut sink).poll_ready(&mut cx), Poll::Ready(Ok(())));
    let th = {
        let tx2 = tx2.clone();
        std::thread::spawn(move || tx2.send(5).block())
    };
    eventually("the send waits", || tx2.statistics().senders_waiting == 1);
    drop(sink);
    th.join().unwrap().unwrap();
    assert_eq!(rx.try_recv(), Ok(5));

    // A sink waiting when the receivers go fails; the last sink closing
    // ends the stream.
    let mut sink = tx2;
    let (keep, rx_end) = (rx.clone(), rx);
    drop(keep);
    assert_eq!(Pin::new(&mut sink).poll_ready(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(Pin::new(&mut sink).poll_close(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(sink.statistics().send_permits, 0);
    assert!(rx_end.is_disconnected(), "the last sender closed");
    assert_eq!(rx_end.try_recv(), Err(TryRecvError::Disconnected));
    drop(rx_end);
    let (mut tx, rx) = channel::<u32>(1);
    tx.try_send(0).unwrap();
    assert!(Pin::new(&mut tx).poll_ready(&mut cx).is_pending());
    drop(rx);
    assert_eq!(
        Pin::new(&mut tx).poll_ready(&mut cx),
        Poll::Ready(Err(ReserveError::Disconnected))
    );
}

#[test]
#[should_panic(expected = "without a successful poll_ready")]
fn sink_start_send_without_poll_ready_panics() {
    use futures::Sink;
    let (mut tx, _rx) = channel::<u32>(1);
    let _ = Pin::new(&mut tx).start_send(1);
}

/// A `Sink` on a rendezvous channel from a task, receivers on threads.
#[test]
fn sink_on_a_rendezvous_channel() {
    within(30, || {
        let (mut tx, rx) = channel::<u32>(0);
        let consumer = std::thread::spawn(move || rx.iter().sum::<u32>());
        futures::executor::block_on(async {
            let mut items = futures::stream::iter(1..=100).map(Ok);
            tx.send_all(&mut items).await.unwrap();
        });
        drop(tx);
        assert_eq!(consumer.join().unwrap(), 5050);
    });
}

#[test]
fn poll_once_of_a_rendezvous_recv_is_pending() {
    let (_tx, rx) = channel::<u32>(0);
    let mut recv = pin!(rx.recv());
    assert!(poll_once(recv.as_mut()).is_pending());
}
