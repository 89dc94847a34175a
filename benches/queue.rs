//! Queue benchmarks: dualsync's `Queue` against `std::sync::mpsc::sync_channel`,
//! `crossbeam-channel`, `flume`, `async-channel`, `kanal` and
//! `tokio::sync::mpsc`, each in the modes it supports, in one run.
//!
//! Groups (`queue/<scenario>`), time per item (`iter_custom`: `n` items go
//! through; every producer and consumer, thread or task, times itself
//! with `common::Race`, and the sample is the first start to the last
//! end):
//!
//! * `spsc_cap1024_sync`, `spsc_cap1_sync`: one producer thread, one consumer
//!   thread, blocking API.
//! * `spsc_cap1024_async`, `spsc_cap1_async`: one producer task, one
//!   consumer task on a 2-worker tokio runtime.
//! * `spsc_cap1024_mixed`, `spsc_cap1_mixed`: a producer thread (blocking
//!   API) feeding a consumer task (async API).
//! * `spsc_cap1024_sync_one_core`: as `spsc_cap1024_sync`, with the producer
//!   and the consumer pinned to one CPU (the first this process may use;
//!   Linux only, elsewhere unpinned): the two partners share a core, as
//!   on a busy, oversubscribed machine, or as the scheduler sometimes
//!   places two fresh threads (`spsc_cap1024_sync` is bimodal for that
//!   reason: a waiter that never sleeps is never placed again).
//! * `pingpong_cap1024_sync`: a request/reply round trip between two
//!   threads over two capacity-1024 channels, time per round trip: the
//!   latency side of a large queue (a consumer that waited before its first
//!   look, to drain batches in `spsc_cap1024_sync`, would add that wait to
//!   every hop here).
//! * `mpmc2x2_sync`, `mpmc2x2_async`: two producers, two consumers, capacity
//!   1024 (std and tokio's channels have a single receiver: not in these).
//! * `spsc_cap1_async_one_thread`, `spsc_cap0_async_one_thread`: as
//!   `spsc_cap1_async` and `spsc_cap0_async`, on a tokio *current-thread*
//!   runtime: both tasks take turns on one thread, so no worker parks,
//!   sleeps on a futex or steals, and the time per item is the CPU work of
//!   the hand-off itself (the channel's and the executor's): a gap that
//!   shows here too is a library cost, not a scheduling effect. Less noisy
//!   than the 2-worker rows, not free of noise (medians measured 3-30%
//!   apart between two runs on a shared 2-core machine).
//! * `spsc_cap0_sync`, `spsc_cap0_async`, `spsc_cap0_mixed`: rendezvous
//!   channels (capacity 0: a send completes when the receiver has the
//!   item), 2 threads, 2 tasks, thread -> task; the peers that have one
//!   (std `sync_channel(0)` and crossbeam on threads, flume, kanal;
//!   async-channel and tokio refuse capacity 0, and a dualsync `Queue`
//!   has none: only the channel runs there).
//!
//! `dualsync_channel` is the same path through `dualsync::channel` (the
//! memory object stream halves, built on the same `Queue`), and
//! `dualsync_channel_reserve` sends each item through a permit
//! (`reserve()`, then `SendPermit::send`): the path whose sender can be
//! cancelled while it waits without risking its item.
//!
//! **Reading the async capacity 0 and 1 rows against kanal.** On those
//! rows the two tasks go in lock-step, and the count of task polls per
//! item is set by what a send may do with its item. A dualsync `send`
//! keeps its item in its future until the item is in the channel (a send
//! dropped while it waits was not sent), so a producer poll finishes at
//! most `capacity + 1` items: one handed to the waiting receiver, then the
//! free slots; the next send waits with its item. kanal's receiver also
//! takes the item of a *waiting* task sender, whose future may be dropped
//! before it learns the item went (a cancelled send that was sent), so its
//! polls finish `capacity + 2`. Counted with callgrind on a current-thread
//! runtime (one producer task, one consumer task): at capacity 1, 1.0 polls
//! per item for dualsync and flume, 0.667 for kanal, 2.0 for async-channel
//! and tokio's mpsc; at capacity 0, where a receiver takes a waiting sender's
//! item in both (a rendezvous send is done once a receiver has it), 1.0
//! for both. tokio's own work is about 375 instructions per poll, kanal's
//! whole cost at capacity 1 about 455 per item: with one poll per item, a
//! library would need about 80 instructions of its own per item to match
//! it, under a third of what kanal itself spends per poll. So at capacity 1 the
//! ratio to kanal measures the guarantee as well as the code; compare with
//! async-channel and tokio's mpsc, which keep it. At capacity 0 the poll
//! counts are equal and the gap was the library's own work, in locked
//! instructions more than in instructions: counted per instruction with
//! callgrind (tokio's included), 10.0 per item for dualsync, 9.0 for
//! kanal (whose waker clones and drops cost tokio two more per item than
//! ours). Two went: a task's node is completed with a plain store instead
//! of a swap, and a re-checking waiter needs no fence after linking (its
//! lock's `SeqCst` read-modify-write does that work). 8.0 per item now;
//! `spsc_cap0_async` 1.11x -> 0.97-1.01x kanal and `_one_thread` 1.11x
//! -> 0.96-1.05x (one run before, two after, in one session),
//! `spsc_cap1_async` 1.71x -> 1.45-1.57x.
//! A permit (`dualsync_channel_reserve`) cannot close either gap: at
//! capacity 1 it polls as often as a send, and at capacity 0 twice as
//! often (a permit needs a receiver that waits, which the permit's send
//! then wakes).
//!
//! **Reading `spsc_cap1024_sync_one_core` against kanal.** With both
//! threads on one CPU the producer fills the ring, then the consumer
//! drains it: `perf stat` counts about one context switch per 600-650
//! items for dualsync and kanal alike, so the row measures what an
//! uncontended push and pop cost. There a lock around a `VecDeque`
//! (kanal) is cheapest: callgrind, one thread, 512 puts then 512 gets,
//! counts 63 instructions per item for kanal, 118 for the `Queue`'s ring
//! (per-slot stamps, a CAS on each end), 213 for crossbeam's. The row's
//! time does not follow our count closely: three cuts, from 154 to 137
//! (the put's blocking call inlined), in a trial to 121 (the operation's
//! node skipped), and from 137 to 118 (a blocking call that completes at
//! once forgets its operation), each left the row within noise (44.8 ->
//! 45.2, 40.7 -> 40.4, and 37.0-44.7 -> 41.5-41.6 ns over two rounds
//! each; kanal 28-33). `perf` shows where the time
//! goes: both libraries are bound by one locked CAS per operation. In
//! kanal 83-86% of each loop's samples follow its lock's CAS (its unlock
//! is a plain store). In ours 46-47% follow the `head`/`tail` CAS, and
//! about a third more the loads after it (the position, then the slot's
//! stamp: the ring touches 16 bytes per item, kanal's `VecDeque<u64>`
//! 8). Why the same one locked instruction costs the ring more: on x86
//! a locked instruction is a full fence, so the loads of the next
//! operation wait for it, and the ring's CAS needs two loads in a row
//! first (the position, then the stamp of the slot it names), where a
//! lock's CAS has a constant operand and its loads and stores come after
//! it. A one-thread loop of each, pinned to one CPU, 20 million
//! operations, 3 rounds: load, dependent load, CAS: 10.4-10.7 ns per
//! operation; lock CAS, then plain loads and stores and a releasing
//! store: 7.3-7.6 ns; a `fetch_add` with the same stores: 7.0 ns. Two
//! operations per item make about 6 ns, the row's whole gap (23.5 ns
//! against kanal's 17.7 in one run). A `fetch_add` ring cannot refuse a
//! push when it is full, so a put could no longer wait in the engine's
//! queue and be cancelled there: the gap stays. The same lock is what
//! makes kanal slower than the ring where two threads run at once: in
//! two runs on a 2-core machine, 31-40x on `spsc_cap1024_sync` and
//! 6.6-7.7x on `mpmc2x2_sync`.
//!
//! **Reading `spsc_cap1024_async` against kanal.** The two tasks take
//! turns rather than run at once. A probe (2 million items, capacity
//! 1024, a 2-worker runtime, each task started on its own worker) counted
//! the items that completed while the other task was inside a poll:
//! 0.5-1.6% for the `Queue` and 0.2-0.5% for kanal (4 runs each after a
//! first, warming one), with one `Pending` per about 512 items on either
//! side, the same for both. So the producer fills half the ring while the
//! consumer is parked, and the consumer then drains it: a push and a pop
//! one after the other on one core, the `_one_core` row in tasks, where
//! the ring's locked CAS after two dependent loads costs more than kanal's
//! lock (above). In that probe 28.2-29.7 ns per item against kanal's
//! 26.4-29.3; in criterion 1.00-1.15x kanal over six runs in one session
//! (December 2026; `Queue` and channel alike), against 0.25-0.28x tokio's
//! mpsc, 0.29-0.34x async-channel and 0.38-0.68x flume. `mpmc2x2_async`
//! (four tasks on two workers) is the same case: 1.02-1.06x kanal in one
//! run with the current clock.
//!
//! **The thread rows at capacity 0 and 1** (`spsc_cap0_sync`,
//! `spsc_cap1_sync`, and the producer thread of the `_mixed` rows). There
//! every item is a hand-off, and a blocked thread `put`, `get`, `send` or
//! `recv` links at once instead of spinning first, so that the other
//! side completes it in the same step as its own operation: a pop moves a
//! linked thread's item into the freed slot (at capacity 0 a receive takes
//! it), a push hands its item to a linked getter. Two items are then in
//! flight instead of one; with a spinning waiter each item cost two cache
//! line transfers in a row. Interleaved on a 2-core machine, median ns
//! per item, before -> after: `spsc_cap1_sync` 667 -> 532 (kanal
//! 488-507), `spsc_cap1_mixed` 3,552 -> 2,585 (kanal 2,310-2,443),
//! `spsc_cap0_sync` 798 -> 658 (kanal 700-734). A permit (`_reserve`)
//! still spins at capacity 1 (it carries no item to move in); at capacity
//! 0 it needs a receiver that waits, and its send then wakes that
//! receiver: two hand-offs in a row per item, where a send that waits
//! with its item needs one, so that row stays near twice the send's.
//! Neither side sleeps on these rows once running: `perf stat` on a
//! two-thread probe (400k items, capacity 1, blocking put and get) counts
//! 85 futex calls in all for the `Queue` and 17 for kanal (which yields
//! instead: 1.35 `sched_yield` per item). They are bound by cache-line
//! transfers between the two cores: one round trip of a single atomic
//! between two spinning threads takes 210-224 ns on the 2-core VM these
//! figures come from (so about 105 ns a transfer), and an item took
//! 470-543 ns for the `Queue` and the channel, 415-495 for kanal and
//! 657-686 for crossbeam (3 runs each): about 4.5 transfers per item for
//! dualsync and kanal alike, where a lock-step hand-off needs 2 at least
//! (the item to the consumer, the free slot back).
//!
//! Run: `cargo bench --bench queue -- --warm-up-time 1 --measurement-time 3`,
//! then `python3 scripts/ratios.py`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use criterion::Criterion;
use dualsync::Queue;

mod common;
use common::{Race, runtime};

/// A tokio runtime that runs every task on the calling thread (the
/// `_one_thread` groups).
fn one_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// The CPU every bench thread of the `_one_core` groups pins itself to
/// (`usize::MAX`: none); set around those groups only.
static PIN: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Pins the calling thread to the CPU in [`PIN`], if any (Linux only).
fn pin_here() {
    let cpu = PIN.load(Ordering::Relaxed);
    if cpu == usize::MAX {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `set` is a plain bit set, zeroed and then filled by libc's
    // own macro; `sched_setaffinity` only reads it, for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The first CPU this process may run on (0 where that cannot be asked).
fn first_cpu() -> usize {
    #[cfg(target_os = "linux")]
    // SAFETY: as in `pin_here`; `sched_getaffinity` fills `set` for the
    // calling thread, and `CPU_ISSET` only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) == 0
            && let Some(c) = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &set))
        {
            return c;
        }
    }
    0
}

/// `P` producer threads each sending `n / P` items, `C` consumer threads each
/// receiving `n / C`, timed by the threads themselves ([`Race`]).
macro_rules! threads {
    ($n:expr, $p:expr, $c:expr, $make:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let (p, c): (u64, u64) = ($p, $c);
        let n = ($n).max(p * c) / (p * c) * (p * c);
        let (tx0, rx0) = $make;
        let race = Race::new((p + c) as usize);
        let mut hs = Vec::new();
        for _ in 0..p {
            let ($tx, race) = (tx0.clone(), race.clone());
            hs.push(thread::spawn(move || {
                pin_here();
                race.lap(|| {
                    for $v in 0..n / p {
                        $send;
                    }
                    0u64
                })
            }));
        }
        for _ in 0..c {
            let ($rx, race) = (rx0.clone(), race.clone());
            hs.push(thread::spawn(move || {
                pin_here();
                race.lap(|| {
                    let mut s = 0u64;
                    for _ in 0..n / c {
                        s = s.wrapping_add($recv);
                    }
                    s
                })
            }));
        }
        drop((tx0, rx0));
        for h in hs {
            black_box(h.join().unwrap());
        }
        race.elapsed()
    }};
}

/// As `threads!`, with tasks on `$rt`.
macro_rules! tasks {
    ($rt:expr, $n:expr, $p:expr, $c:expr, $make:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let (p, c): (u64, u64) = ($p, $c);
        let n = ($n).max(p * c) / (p * c) * (p * c);
        let (tx0, rx0) = $make;
        let race = Race::new((p + c) as usize);
        let mut hs = Vec::new();
        for _ in 0..p {
            let ($tx, race) = (tx0.clone(), race.clone());
            hs.push($rt.spawn(async move {
                race.lap_async(async {
                    for $v in 0..n / p {
                        $send;
                    }
                    0u64
                })
                .await
            }));
        }
        for _ in 0..c {
            let ($rx, race) = (rx0.clone(), race.clone());
            hs.push($rt.spawn(async move {
                race.lap_async(async {
                    let mut s = 0u64;
                    for _ in 0..n / c {
                        s = s.wrapping_add($recv);
                    }
                    s
                })
                .await
            }));
        }
        drop((tx0, rx0));
        $rt.block_on(async {
            for h in hs {
                black_box(h.await.unwrap());
            }
        });
        race.elapsed()
    }};
}

/// One producer thread (blocking API) feeding one consumer task, timed by
/// the two themselves ([`Race`]).
macro_rules! mixed {
    ($rt:expr, $n:expr, $make:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let n: u64 = $n;
        let ($tx, $rx) = $make;
        let race = Race::new(2);
        let consumer = {
            let race = race.clone();
            $rt.spawn(async move {
                #[allow(unused_mut)]
                let mut $rx = $rx;
                race.lap_async(async {
                    let mut s = 0u64;
                    for _ in 0..n {
                        s = s.wrapping_add($recv);
                    }
                    s
                })
                .await
            })
        };
        let producer = {
            let race = race.clone();
            thread::spawn(move || {
                race.lap(|| {
                    for $v in 0..n {
                        $send;
                    }
                })
            })
        };
        producer.join().unwrap();
        black_box($rt.block_on(consumer).unwrap());
        race.elapsed()
    }};
}

/// One thread sends `n` requests over one channel and waits for each
/// reply on another; an echo thread answers each: the time of the `n`
/// round trips. `$make` builds each of the two channels.
macro_rules! ping_pong {
    ($n:expr, $make:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let n: u64 = $n;
        let ((req_tx, req_rx), (rep_tx, rep_rx)) = ($make, $make);
        let race = Race::new(2);
        let r2 = race.clone();
        let echo = thread::spawn(move || {
            r2.lap(|| {
                for _ in 0..n {
                    let $v = {
                        let $rx = &req_rx;
                        $recv
                    };
                    let $tx = &rep_tx;
                    $send;
                }
            })
        });
        race.lap(|| {
            for $v in 0..n {
                {
                    let $tx = &req_tx;
                    $send;
                }
                let $rx = &rep_rx;
                black_box($recv);
            }
        });
        echo.join().unwrap();
        race.elapsed()
    }};
}

fn ping_pong_group(c: &mut Criterion) {
    const CAP: usize = 1024;
    let mut g = c.benchmark_group("queue/pingpong_cap1024_sync");
    g.bench_function("dualsync", |b| {
        b.iter_custom(|n| {
            ping_pong!(n, dq(CAP), |q, v| q.put(v).block().unwrap(), |q| q
                .get()
                .block()
                .unwrap())
        })
    });
    g.bench_function("dualsync_channel", |b| {
        b.iter_custom(|n| {
            ping_pong!(
                n,
                dualsync::channel::<u64>(CAP),
                |tx, v| tx.send(v).block().unwrap(),
                |rx| rx.recv().block().unwrap()
            )
        })
    });
    g.bench_function("std", |b| {
        b.iter_custom(|n| {
            ping_pong!(
                n,
                std::sync::mpsc::sync_channel::<u64>(CAP),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap()
            )
        })
    });
    g.bench_function("crossbeam", |b| {
        b.iter_custom(|n| {
            ping_pong!(
                n,
                crossbeam_channel::bounded::<u64>(CAP),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap()
            )
        })
    });
    g.bench_function("flume", |b| {
        b.iter_custom(|n| {
            ping_pong!(
                n,
                flume::bounded::<u64>(CAP),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap()
            )
        })
    });
    g.bench_function("kanal", |b| {
        b.iter_custom(|n| {
            ping_pong!(
                n,
                kanal::bounded::<u64>(CAP),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap()
            )
        })
    });
    g.finish();
}

/// One producer thread running `produce`, one consumer thread running
/// `consume` (each pinned as in `threads!`), timed by the two themselves:
/// the SPSC rows of the peers whose receiver cannot be cloned.
fn pair_of_threads(
    produce: impl FnOnce() + Send + 'static,
    consume: impl FnOnce() -> u64 + Send + 'static,
) -> Duration {
    let race = Race::new(2);
    let r = race.clone();
    let prod = thread::spawn(move || {
        pin_here();
        r.lap(produce)
    });
    let r = race.clone();
    let cons = thread::spawn(move || {
        pin_here();
        r.lap(consume)
    });
    prod.join().unwrap();
    black_box(cons.join().unwrap());
    race.elapsed()
}

fn dq(cap: usize) -> (Arc<Queue<u64>>, Arc<Queue<u64>>) {
    let q = Arc::new(Queue::bounded(cap));
    (q.clone(), q)
}

fn sync_group(c: &mut Criterion, name: &str, cap: usize, p: u64, cn: u64) {
    let mut g = c.benchmark_group(name);
    if cap > 0 {
        g.bench_function("dualsync", |b| {
            b.iter_custom(|n| {
                threads!(n, p, cn, dq(cap), |q, v| q.put(v).block().unwrap(), |q| q
                    .get()
                    .block()
                    .unwrap())
            })
        });
    }
    g.bench_function("dualsync_channel", |b| {
        b.iter_custom(|n| {
            threads!(
                n,
                p,
                cn,
                dualsync::channel::<u64>(cap),
                |tx, v| tx.send(v).block().unwrap(),
                |rx| rx.recv().block().unwrap()
            )
        })
    });
    g.bench_function("dualsync_channel_reserve", |b| {
        b.iter_custom(|n| {
            threads!(
                n,
                p,
                cn,
                dualsync::channel::<u64>(cap),
                |tx, v| tx.reserve().block().unwrap().send(v),
                |rx| rx.recv().block().unwrap()
            )
        })
    });
    if p == 1 && cn == 1 {
        g.bench_function("std", |b| {
            b.iter_custom(|n| {
                let n = n.max(1);
                let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(cap);
                pair_of_threads(
                    move || {
                        for v in 0..n {
                            tx.send(v).unwrap();
                        }
                    },
                    move || (0..n).fold(0u64, |s, _| s.wrapping_add(rx.recv().unwrap())),
                )
            })
        });
    }
    g.bench_function("crossbeam", |b| {
        b.iter_custom(|n| {
            threads!(
                n,
                p,
                cn,
                crossbeam_channel::bounded::<u64>(cap),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap()
            )
        })
    });
    g.bench_function("flume", |b| {
        b.iter_custom(|n| {
            threads!(
                n,
                p,
                cn,
                flume::bounded::<u64>(cap),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap()
            )
        })
    });
    if cap > 0 {
        g.bench_function("async_channel", |b| {
            b.iter_custom(|n| {
                threads!(
                    n,
                    p,
                    cn,
                    async_channel::bounded::<u64>(cap),
                    |tx, v| tx.send_blocking(v).unwrap(),
                    |rx| rx.recv_blocking().unwrap()
                )
            })
        });
    }
    g.bench_function("kanal", |b| {
        b.iter_custom(|n| {
            threads!(
                n,
                p,
                cn,
                kanal::bounded::<u64>(cap),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap()
            )
        })
    });
    if p == 1 && cn == 1 && cap > 0 {
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| {
                let n = n.max(1);
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(cap);
                pair_of_threads(
                    move || {
                        for v in 0..n {
                            tx.blocking_send(v).unwrap();
                        }
                    },
                    move || (0..n).fold(0u64, |s, _| s.wrapping_add(rx.blocking_recv().unwrap())),
                )
            })
        });
    }
    g.finish();
}

fn async_group(
    c: &mut Criterion,
    name: &str,
    rt: tokio::runtime::Runtime,
    cap: usize,
    p: u64,
    cn: u64,
) {
    let mut g = c.benchmark_group(name);
    if cap > 0 {
        g.bench_function("dualsync", |b| {
            b.iter_custom(|n| {
                tasks!(rt, n, p, cn, dq(cap), |q, v| q.put(v).await.unwrap(), |q| q
                    .get()
                    .await
                    .unwrap())
            })
        });
    }
    g.bench_function("dualsync_channel", |b| {
        b.iter_custom(|n| {
            tasks!(
                rt,
                n,
                p,
                cn,
                dualsync::channel::<u64>(cap),
                |tx, v| tx.send(v).await.unwrap(),
                |rx| rx.recv().await.unwrap()
            )
        })
    });
    g.bench_function("dualsync_channel_reserve", |b| {
        b.iter_custom(|n| {
            tasks!(
                rt,
                n,
                p,
                cn,
                dualsync::channel::<u64>(cap),
                |tx, v| tx.reserve().await.unwrap().send(v),
                |rx| rx.recv().await.unwrap()
            )
        })
    });
    g.bench_function("flume", |b| {
        b.iter_custom(|n| {
            tasks!(
                rt,
                n,
                p,
                cn,
                flume::bounded::<u64>(cap),
                |tx, v| tx.send_async(v).await.unwrap(),
                |rx| rx.recv_async().await.unwrap()
            )
        })
    });
    if cap > 0 {
        g.bench_function("async_channel", |b| {
            b.iter_custom(|n| {
                tasks!(
                    rt,
                    n,
                    p,
                    cn,
                    async_channel::bounded::<u64>(cap),
                    |tx, v| tx.send(v).await.unwrap(),
                    |rx| rx.recv().await.unwrap()
                )
            })
        });
    }
    g.bench_function("kanal", |b| {
        b.iter_custom(|n| {
            tasks!(
                rt,
                n,
                p,
                cn,
                kanal::bounded_async::<u64>(cap),
                |tx, v| tx.send(v).await.unwrap(),
                |rx| rx.recv().await.unwrap()
            )
        })
    });
    if p == 1 && cn == 1 && cap > 0 {
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| {
                let n = n.max(1);
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(cap);
                let race = Race::new(2);
                let r2 = race.clone();
                let prod = rt.spawn(async move {
                    r2.lap_async(async {
                        for v in 0..n {
                            tx.send(v).await.unwrap();
                        }
                    })
                    .await
                });
                let r3 = race.clone();
                let cons = rt.spawn(async move {
                    r3.lap_async(async {
                        let mut s = 0u64;
                        for _ in 0..n {
                            s = s.wrapping_add(rx.recv().await.unwrap());
                        }
                        s
                    })
                    .await
                });
                rt.block_on(async {
                    prod.await.unwrap();
                    black_box(cons.await.unwrap());
                });
                race.elapsed()
            })
        });
    }
    g.finish();
}

fn mixed_group(c: &mut Criterion, name: &str, cap: usize) {
    let rt = runtime();
    let mut g = c.benchmark_group(name);
    if cap > 0 {
        g.bench_function("dualsync", |b| {
            b.iter_custom(|n| {
                mixed!(rt, n, dq(cap), |tx, v| tx.put(v).block().unwrap(), |rx| rx
                    .get()
                    .await
                    .unwrap())
            })
        });
    }
    g.bench_function("dualsync_channel", |b| {
        b.iter_custom(|n| {
            mixed!(
                rt,
                n,
                dualsync::channel::<u64>(cap),
                |tx, v| tx.send(v).block().unwrap(),
                |rx| rx.recv().await.unwrap()
            )
        })
    });
    g.bench_function("dualsync_channel_reserve", |b| {
        b.iter_custom(|n| {
            mixed!(
                rt,
                n,
                dualsync::channel::<u64>(cap),
                |tx, v| tx.reserve().block().unwrap().send(v),
                |rx| rx.recv().await.unwrap()
            )
        })
    });
    g.bench_function("flume", |b| {
        b.iter_custom(|n| {
            mixed!(
                rt,
                n,
                flume::bounded::<u64>(cap),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv_async().await.unwrap()
            )
        })
    });
    if cap > 0 {
        g.bench_function("async_channel", |b| {
            b.iter_custom(|n| {
                mixed!(
                    rt,
                    n,
                    async_channel::bounded::<u64>(cap),
                    |tx, v| tx.send_blocking(v).unwrap(),
                    |rx| rx.recv().await.unwrap()
                )
            })
        });
    }
    g.bench_function("kanal", |b| {
        b.iter_custom(|n| {
            let (tx, rx) = kanal::bounded::<u64>(cap);
            mixed!(
                rt,
                n,
                (tx, rx.to_async()),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().await.unwrap()
            )
        })
    });
    if cap > 0 {
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| {
                mixed!(
                    rt,
                    n,
                    tokio::sync::mpsc::channel::<u64>(cap),
                    |tx, v| tx.blocking_send(v).unwrap(),
                    |rx| rx.recv().await.unwrap()
                )
            })
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    sync_group(&mut c, "queue/spsc_cap1024_sync", 1024, 1, 1);
    sync_group(&mut c, "queue/spsc_cap1_sync", 1, 1, 1);
    PIN.store(first_cpu(), Ordering::Relaxed);
    sync_group(&mut c, "queue/spsc_cap1024_sync_one_core", 1024, 1, 1);
    PIN.store(usize::MAX, Ordering::Relaxed);
    ping_pong_group(&mut c);
    async_group(&mut c, "queue/spsc_cap1024_async", runtime(), 1024, 1, 1);
    async_group(&mut c, "queue/spsc_cap1_async", runtime(), 1, 1, 1);
    mixed_group(&mut c, "queue/spsc_cap1024_mixed", 1024);
    mixed_group(&mut c, "queue/spsc_cap1_mixed", 1);
    sync_group(&mut c, "queue/mpmc2x2_sync", 1024, 2, 2);
    async_group(&mut c, "queue/mpmc2x2_async", runtime(), 1024, 2, 2);
    sync_group(&mut c, "queue/spsc_cap0_sync", 0, 1, 1);
    async_group(&mut c, "queue/spsc_cap0_async", runtime(), 0, 1, 1);
    mixed_group(&mut c, "queue/spsc_cap0_mixed", 0);
    let name = "queue/spsc_cap1_async_one_thread";
    async_group(&mut c, name, one_thread_runtime(), 1, 1, 1);
    let name = "queue/spsc_cap0_async_one_thread";
    async_group(&mut c, name, one_thread_runtime(), 0, 1, 1);
    c.final_summary();
}
