//! The RwLock story (asyncio has no reader-writer lock; this is the shape
//! tokio's, async-lock's and parking_lot's users know): a config that main
//! reads while a writer wants to update it.
//!
//! 1. Main holds a read lock. A writer queues for the write lock; then two
//!    readers arrive and queue *behind the writer* (a queued writer stops
//!    new readers, so a stream of readers cannot starve it). Main finishes
//!    reading: the writer updates the config, and the two readers enter
//!    together after it (each waits inside until the other is in too).
//! 2. An auditor takes an upgradable read beside main's read lock, sees the
//!    config is stale and upgrades: the upgrade waits for main's read lock
//!    to go, then writes, then downgrades to a read lock without letting
//!    anyone write in between.
//!
//! Told three times: all workers tasks, all threads, and mixed. The
//! printout is deterministic: main waits (on `statistics()`) until each
//! worker is queued before the next step, and the two readers' lines are
//! printed by main, in order, after they are done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dualsync::{RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard};

use crate::story::{self, Handle, Mode, join_all, runtime, until};

type Config = Arc<RwLock<u32>>;

/// Told three times, the workers' modes chosen by `story::by_mode`.
pub fn run() {
    story::by_mode(tell);
}

fn waiting(config: &Config) -> usize {
    config.statistics().waiting
}

/// The writer, inside: bumps the version.
fn update(mode: Mode, g: &mut RwLockWriteGuard<'_, u32>) {
    println!(
        "writer ({}) updates the config: v{} -> v{}",
        mode.name(),
        **g,
        **g + 1
    );
    **g += 1;
    println!(
        "writer ({}) done: the readers queued behind it enter together",
        mode.name()
    );
}

fn start_writer(rt: &tokio::runtime::Runtime, mode: Mode, config: Config) -> Handle {
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move {
            let mut g = config.write().await;
            update(mode, &mut g);
        })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            let mut g = config.write().block();
            update(mode, &mut g);
        })),
    }
}

/// What the two readers share: how many of them are inside, and what each
/// saw.
#[derive(Default)]
struct Readers {
    inside: AtomicUsize,
    seen: Mutex<Vec<String>>,
}

/// A reader: once inside, it holds its read lock until the other reader
/// is inside too (they were let in together), then notes what it saw.
fn start_reader(
    rt: &tokio::runtime::Runtime,
    id: usize,
    mode: Mode,
    config: Config,
    readers: Arc<Readers>,
) -> Handle {
    let line = move |v: u32| {
        format!(
            "reader {id} ({}) read v{v}, with the other reader inside too",
            mode.name()
        )
    };
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move {
            let g = config.read().await;
            readers.inside.fetch_add(1, Ordering::SeqCst);
            while readers.inside.load(Ordering::SeqCst) < 2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            readers.seen.lock().unwrap().push(line(*g));
        })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            let g = config.read().block();
            readers.inside.fetch_add(1, Ordering::SeqCst);
            until("both readers inside", || {
                readers.inside.load(Ordering::SeqCst) == 2
            });
            readers.seen.lock().unwrap().push(line(*g));
        })),
    }
}

/// The auditor: an upgradable read, then an upgrade that has to wait for
/// main's read lock, a write, and a downgrade.
fn start_auditor(rt: &tokio::runtime::Runtime, mode: Mode, config: Config) -> Handle {
    let name = mode.name();
    let looked = move |v: u32| {
        println!("auditor ({name}) takes an upgradable read beside main's: v{v} is stale");
        println!("auditor ({name}) upgrades: it waits for main's read lock to go");
    };
    let upgraded = move |g: RwLockWriteGuard<'_, u32>| {
        let mut g = g;
        *g += 1;
        println!("auditor ({name}) upgraded: writes v{}", *g);
        let r = RwLockWriteGuard::downgrade(g);
        println!("auditor ({name}) downgrades to a read lock: v{}", *r);
    };
    match mode {
        Mode::Task => Handle::Task(rt.spawn(async move {
            let up = config.upgradable_read().await;
            looked(*up);
            upgraded(RwLockUpgradableReadGuard::upgrade(up).await);
        })),
        Mode::Thread => Handle::Thread(std::thread::spawn(move || {
            let up = config.upgradable_read().block();
            looked(*up);
            upgraded(RwLockUpgradableReadGuard::upgrade(up).block());
        })),
    }
}

fn tell(mode: fn(usize) -> Mode) {
    let rt = runtime();
    let config: Config = Arc::new(RwLock::new(1));

    // 1. A writer queued behind main's read lock stops new readers.
    let main_read = config.read().block();
    println!("main reads the config: v{}", *main_read);
    let writer = start_writer(&rt, mode(1), config.clone());
    until("the writer queued", || waiting(&config) == 1);
    println!(
        "writer ({}) wants to update it: queued behind main's read lock",
        mode(1).name()
    );
    let shared = Arc::new(Readers::default());
    let mut readers = Vec::new();
    for id in [2, 3] {
        readers.push(start_reader(
            &rt,
            id,
            mode(id),
            config.clone(),
            shared.clone(),
        ));
        until("the reader queued", || waiting(&config) == id);
        println!(
            "reader {id} ({}) arrives: queued behind the writer (a queued writer stops new readers)",
            mode(id).name()
        );
    }
    println!("main done reading: {config:?}");
    drop(main_read);
    join_all(&rt, vec![writer]);
    join_all(&rt, readers);
    let mut seen = shared.seen.lock().unwrap().clone();
    seen.sort();
    for line in &seen {
        println!("{line}");
    }

    // 2. An upgrade waits for the readers inside, then writes.
    let main_read = config.read().block();
    println!("main reads the config again: v{}", *main_read);
    let auditor = start_auditor(&rt, mode(2), config.clone());
    until("the upgrade queued", || waiting(&config) == 1);
    println!("main done reading: {config:?}");
    drop(main_read);
    join_all(&rt, vec![auditor]);
    let v = *config.read().block();
    println!("main reads v{v}; at rest: {config:?}");
}
