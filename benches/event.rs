//! Event benchmarks: a ping-pong round trip between two parties through two
//! events (ping, pong), dualsync against std, parking_lot, event_listener and
//! tokio, in one run and one harness.
//!
//! Groups (`event/<scenario>`), function ids are the crate names:
//!
//! * `pingpong_thread_thread`: two OS threads. dualsync: `Event::wait().block()`
//!   then `clear()`; std / parking_lot: a `Mutex<bool>` + `Condvar` per
//!   direction (auto-reset flag); event_listener: an `AtomicBool` flag + an
//!   `Event` (`listen()` then `wait()`); tokio: `Notify` driven by
//!   `futures::executor::block_on(notified())` (Notify has no blocking wait).
//! * `pingpong_task_task`: two tasks on a 2-worker tokio runtime (dualsync,
//!   event_listener, tokio; std and parking_lot cannot wait in a task).
//! * `pingpong_thread_task`: an OS thread (blocking API) and a tokio task
//!   (async API) on the same pair of events.
//!
//! Time per iteration = one full round trip (ping set -> partner wakes ->
//! pong set -> we wake), timed by the two partners themselves
//! (`common::Race`: first start to last end). The binary also prints
//! `size_of` of each event.
//!
//! Run: `cargo bench --bench event -- --warm-up-time 1 --measurement-time 3`,
//! then `python3 scripts/ratios.py`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::Criterion;
use event_listener::Listener;

mod common;
use common::{Race, runtime};

/// One direction of the ping-pong: an auto-reset signal.
trait Signal: Send + Sync + 'static {
    fn create() -> Self;
    fn set(&self);
    /// Waits on this thread, then resets the signal.
    fn wait_block(&self);
    /// Waits in a task, then resets the signal.
    fn wait_async(&self) -> impl Future<Output = ()> + Send + '_;
}

struct Ds(dualsync::Event);
impl Signal for Ds {
    fn create() -> Self {
        Ds(dualsync::Event::new())
    }
    fn set(&self) {
        self.0.set();
    }
    fn wait_block(&self) {
        self.0.wait().block();
        self.0.clear();
    }
    async fn wait_async(&self) {
        self.0.wait().await;
        self.0.clear();
    }
}

struct StdCv(std::sync::Mutex<bool>, std::sync::Condvar);
impl Signal for StdCv {
    fn create() -> Self {
        StdCv(std::sync::Mutex::new(false), std::sync::Condvar::new())
    }
    fn set(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_one();
    }
    fn wait_block(&self) {
        let mut g = self.0.lock().unwrap();
        while !*g {
            g = self.1.wait(g).unwrap();
        }
        *g = false;
    }
    async fn wait_async(&self) {
        unreachable!("std cannot wait in a task")
    }
}

struct PlCv(parking_lot::Mutex<bool>, parking_lot::Condvar);
impl Signal for PlCv {
    fn create() -> Self {
        PlCv(parking_lot::Mutex::new(false), parking_lot::Condvar::new())
    }
    fn set(&self) {
        *self.0.lock() = true;
        self.1.notify_one();
    }
    fn wait_block(&self) {
        let mut g = self.0.lock();
        while !*g {
            self.1.wait(&mut g);
        }
        *g = false;
    }
    async fn wait_async(&self) {
        unreachable!("parking_lot cannot wait in a task")
    }
}

struct El(AtomicBool, event_listener::Event);
impl Signal for El {
    fn create() -> Self {
        El(AtomicBool::new(false), event_listener::Event::new())
    }
    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
        self.1.notify(1);
    }
    fn wait_block(&self) {
        while let Some(l) = self.take_or_listen() {
            l.wait();
        }
    }
    async fn wait_async(&self) {
        while let Some(l) = self.take_or_listen() {
            l.await;
        }
    }
}

impl El {
    /// Takes the signal if it is set (`None`); otherwise a listener that was
    /// registered before a second look, so a `set` in between is not missed.
    #[inline(always)]
    fn take_or_listen(&self) -> Option<event_listener::EventListener> {
        if self.0.swap(false, Ordering::SeqCst) {
            return None;
        }
        let l = self.1.listen();
        if self.0.swap(false, Ordering::SeqCst) {
            return None;
        }
        Some(l)
    }
}

struct Tk(tokio::sync::Notify);
impl Signal for Tk {
    fn create() -> Self {
        Tk(tokio::sync::Notify::new())
    }
    fn set(&self) {
        self.0.notify_one();
    }
    fn wait_block(&self) {
        futures::executor::block_on(self.0.notified());
    }
    async fn wait_async(&self) {
        self.0.notified().await;
    }
}

/// The driving side, on a thread: `iters` round trips (set `ping`, wait
/// for `pong`).
fn thread_round_trips<S: Signal>(ping: &S, pong: &S, iters: u64) {
    for _ in 0..iters {
        ping.set();
        pong.wait_block();
    }
}

/// The partner, on a thread: answers each of `iters` pings with a pong.
fn thread_partner<S: Signal>(ping: &S, pong: &S, iters: u64) {
    for _ in 0..iters {
        ping.wait_block();
        pong.set();
    }
}

/// The partner, as a task: answers each of `iters` pings with a pong.
async fn task_partner<S: Signal>(ping: &S, pong: &S, iters: u64) {
    for _ in 0..iters {
        ping.wait_async().await;
        pong.set();
    }
}

/// The two signals of a ping-pong and the race that times both sides
/// ([`Race`]: from the first side's start to the last one's end).
fn pair<S: Signal>() -> (Arc<S>, Arc<S>, Arc<Race>) {
    (Arc::new(S::create()), Arc::new(S::create()), Race::new(2))
}

fn thread_thread<S: Signal>(iters: u64) -> Duration {
    let (ping, pong, race) = pair::<S>();
    let partner = {
        let (ping, pong, race) = (ping.clone(), pong.clone(), race.clone());
        std::thread::spawn(move || race.lap(|| thread_partner(&*ping, &*pong, iters)))
    };
    race.lap(|| thread_round_trips(&*ping, &*pong, iters));
    partner.join().unwrap();
    race.elapsed()
}

fn task_task<S: Signal>(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    let (ping, pong, race) = pair::<S>();
    let partner = {
        let (ping, pong, race) = (ping.clone(), pong.clone(), race.clone());
        rt.spawn(async move { race.lap_async(task_partner(&*ping, &*pong, iters)).await })
    };
    let driver = {
        let race = race.clone();
        rt.spawn(async move {
            race.lap_async(async {
                for _ in 0..iters {
                    ping.set();
                    pong.wait_async().await;
                }
            })
            .await
        })
    };
    rt.block_on(async {
        driver.await.unwrap();
        partner.await.unwrap();
    });
    race.elapsed()
}

fn thread_task<S: Signal>(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    let (ping, pong, race) = pair::<S>();
    let partner = {
        let (ping, pong, race) = (ping.clone(), pong.clone(), race.clone());
        rt.spawn(async move { race.lap_async(task_partner(&*ping, &*pong, iters)).await })
    };
    race.lap(|| thread_round_trips(&*ping, &*pong, iters));
    rt.block_on(partner).unwrap();
    race.elapsed()
}

fn pingpong_thread_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("event/pingpong_thread_thread");
    g.bench_function("dualsync", |b| b.iter_custom(thread_thread::<Ds>));
    g.bench_function("std", |b| b.iter_custom(thread_thread::<StdCv>));
    g.bench_function("parking_lot", |b| b.iter_custom(thread_thread::<PlCv>));
    g.bench_function("event_listener", |b| b.iter_custom(thread_thread::<El>));
    g.bench_function("tokio", |b| b.iter_custom(thread_thread::<Tk>));
    g.finish();
}

/// A ping-pong driver that uses the runtime.
type Driver = fn(&tokio::runtime::Runtime, u64) -> Duration;

/// The two groups whose ping-pongs use a (fresh) runtime.
fn pingpong_on_runtime(c: &mut Criterion) {
    let groups: [(&str, [(&str, Driver); 3]); 2] = [
        (
            "event/pingpong_task_task",
            [
                ("dualsync", task_task::<Ds>),
                ("event_listener", task_task::<El>),
                ("tokio", task_task::<Tk>),
            ],
        ),
        (
            "event/pingpong_thread_task",
            [
                ("dualsync", thread_task::<Ds>),
                ("event_listener", thread_task::<El>),
                ("tokio", thread_task::<Tk>),
            ],
        ),
    ];
    for (name, drivers) in groups {
        let rt = runtime();
        let mut g = c.benchmark_group(name);
        for (id, driver) in drivers {
            g.bench_function(id, |b| b.iter_custom(|n| driver(&rt, n)));
        }
        g.finish();
    }
}

fn print_sizes() {
    use std::mem::size_of;
    println!(
        "size_of dualsync::Event           = {}",
        size_of::<dualsync::Event>()
    );
    println!("size_of std Mutex<bool>+Condvar   = {}", size_of::<StdCv>());
    println!("size_of parking_lot Mutex+Condvar = {}", size_of::<PlCv>());
    println!(
        "size_of event_listener::Event     = {}",
        size_of::<event_listener::Event>()
    );
    println!(
        "size_of tokio::sync::Notify       = {}",
        size_of::<tokio::sync::Notify>()
    );
}

fn main() {
    print_sizes();
    let mut c = Criterion::default().configure_from_args();
    pingpong_thread_thread(&mut c);
    pingpong_on_runtime(&mut c);
    c.final_summary();
}
