//! `RawRwLock`: the reader-writer lock's state machine, its waiter queue and
//! its fairness, without the data. [`RwLock<T>`](crate::RwLock) and its
//! guards are a typed layer over it; the C ABI uses it directly.
//!
//! # State word
//!
//! ```text
//!   31 ................ 6     5       4        3       2          1          0
//!  +---------------------+-------+---------+------+---------+------------+--------+
//!  |  readers (26 bits)  | WOKEN | WQUEUED | FIFO | WAITERS | UPGRADABLE | WRITER |
//!  +---------------------+-------+---------+------+---------+------------+--------+
//! ```
//!
//! * `readers`: read locks held (one handed to a waiter that has not picked
//!   its guard up yet counts as held). At most [`MAX_READERS`].
//! * `WRITER`: a writer holds the lock (or it was handed to one).
//! * `UPGRADABLE`: an upgradable reader holds the lock (at most one). It
//!   coexists with readers, not with a writer.
//! * `WAITERS`: the wait queue is not empty: every release that could let a
//!   waiter in takes the slow path.
//! * `WQUEUED` (`WRITER_QUEUED`): a writer, or an upgrade, is queued. **New
//!   readers and upgradable readers queue while it is set**: a queued writer
//!   stops new readers, so readers cannot starve it.
//! * `FIFO`: every newcomer queues (fast paths fail): in strict mode whenever
//!   `WAITERS` is set; in bounded-barging mode when the head has waited past
//!   [`FAIRNESS_BOUND`](crate::FAIRNESS_BOUND).
//! * `WOKEN` (bounded-barging mode only): a release woke the head group in
//!   place and its head has not looked since. While it is set, and the head
//!   is within the fairness bound (the deadline in `aux`), a writer's release
//!   only frees the lock: one CAS, no queue lock, nobody to wake (the head
//!   is already on its way). See invariant 6 for who sets and clears it.
//!
//! `WAITERS`, `WQUEUED`, `FIFO` and `WOKEN` are set and cleared only under
//! the queue lock; `WQUEUED`, `FIFO` and `WOKEN` never without `WAITERS`.
//! Beside the word, a second one (`aux`), written only under the queue lock:
//!
//! ```text
//!     31      30 .............. 20   19 ........................ 0
//!  +--------+----------------------+------------------------------+
//!  | STRICT | deadline (11 bits)   | queued writers (20 bits)     |
//!  +--------+----------------------+------------------------------+
//! ```
//!
//! * `STRICT`: strict hand-off mode (constant).
//! * `deadline`: while `WOKEN` is set, when the woken head reaches the
//!   fairness bound, as a [`Fairness::short_deadline`] (32 µs units, rounded
//!   down, wrapping every ~65 ms: a whole `u32` as the mutex keeps has no
//!   room here). The first writer's release past it serves under the queue
//!   lock, which hands the lock to the head and clears `WOKEN`, as before.
//!   Only if no writer releases between the deadline and ~65 ms after it
//!   (while the woken head, off its core or not polled, has still not
//!   looked) can a release in the bound's span before the wrap take it for
//!   ahead again: barging writers may then overtake that head for up to
//!   one more bound, per ~65 ms it stays unlooked.
//! * `queued writers`: the number of queued `Write` and `Upgrade` nodes
//!   (`WQUEUED` says whether it is zero); at most `2^20 - 1`, one more
//!   queued writer panics.
//!
//! `size_of::<RwLock<()>>()` is 16.
//!
//! Holders (flags aside):
//!
//! | `WRITER` | `UPGRADABLE` | readers | meaning                                            |
//! |----------|--------------|---------|----------------------------------------------------|
//! | 0        | 0            | 0       | free                                               |
//! | 0        | 0            | n > 0   | n readers                                          |
//! | 0        | 1            | n ≥ 0   | one upgradable reader and n readers (a pending upgrade waits at the head of the queue for n to reach 0) |
//! | 1        | 0            | 0       | one writer                                         |
//!
//! `WRITER` with `UPGRADABLE` or with readers never exists. Flags:
//!
//! | flags                      | meaning                                                      |
//! |----------------------------|--------------------------------------------------------------|
//! | none                       | nobody waits; every acquire and release is one atomic instruction (a read lock: a load and a CAS) |
//! | `WAITERS`                  | only readers or upgradable readers queued (behind a writer that holds, or woken to come in): newcomers that fit come in |
//! | `WAITERS\|WQUEUED`         | a writer or upgrade queued: readers and upgradable readers queue; a writer may barge into a free lock |
//! | `WAITERS\|FIFO` (`\|WQUEUED`) | every newcomer queues (strict mode, or the head waited past the bound) |
//! | `WAITERS\|WOKEN` (`\|WQUEUED`) | as without `WOKEN`, and the head group was woken in place within the bound and its head has not looked yet: a writer's release only frees the lock |
//!
//! `WOKEN` with `FIFO` never exists (a release that finds the head past the
//! bound hands the lock over, which clears `WOKEN`). In strict mode
//! `WOKEN` never exists.
//!
//! Uncontended: `read` is a load and a CAS adding one reader, its release
//! one `fetch_sub`; `write` is one CAS `0 -> WRITER`, its release one CAS
//! `WRITER -> 0`. None touches the queue. A barging writer's release while
//! the woken head has not run yet is a load of `aux`, a clock read and one
//! CAS `WRITER|WAITERS|WOKEN(|WQUEUED) -> WAITERS|WOKEN(|WQUEUED)`.
//!
//! # The queue and who is served
//!
//! One FIFO queue holds every kind of waiter (its node payload, [`Kind`]):
//! `Read`, `Write`, `Upgradable` and `Upgrade` (an upgradable reader waiting
//! for the readers to leave). Serving ([`RawRwLock::serve`], under the queue
//! lock) looks at the head and serves the **head group**:
//!
//! * a run of readers (with at most one upgradable reader among them) at the
//!   head comes in together once no writer holds the lock; the run ends at
//!   the first writer (readers behind it wait for it: FIFO);
//! * a writer at the head comes in alone, once the lock is free;
//! * an `Upgrade` is linked at the *front* (the engine's
//!   [`Link::WaitFirst`]): it already holds the upgradable lock, so no
//!   writer or upgradable reader queued could be served before it, and it
//!   stops new readers like a writer. It is handed the write lock when the
//!   last reader leaves.
//!
//! How the head group comes in follows the engine's fairness policy
//! ([`crate::engine::fair`]). In bounded-barging mode, while the head has
//! waited less than the bound, a release frees the lock and wakes the head
//! group *in place* (they stay queued, and come in when they run): a
//! newcomer writer may take the free lock first (never a newcomer reader
//! while a writer is queued), and a thread that was woken but is still off
//! its core holds nothing up (no convoy behind a sleeping reader). Once the
//! head has waited longer, or always in strict mode, the lock is *handed* to
//! the head group (`GRANTED`), readers together in one critical section.
//! An upgrade is always handed the lock.
//!
//! # Invariants
//!
//! 1. `WAITERS` is set iff the queue is non-empty, and `WQUEUED` iff a
//!    `Write` or `Upgrade` node is linked (`aux`'s count), whenever the
//!    queue lock is not held; `FIFO` only with `WAITERS`.
//! 2. A waiter links only after a last look under the queue lock that found
//!    it blocked, in the same CAS that sets its flags (so the state it was
//!    blocked by has not changed). Every release that can let a waiter in
//!    (a writer's, an upgradable reader's, a downgrade) sees `WAITERS` and
//!    serves the head group under the queue lock, in the same critical
//!    section as the release, unless the head group is already awake
//!    (invariant 6). A read release can only let in a writer or an
//!    upgrade (nobody else waits for readers to leave), so it is the *last*
//!    reader's release that finds `WQUEUED` that serves, after its
//!    `fetch_sub` (a writer linking in between would find the lock free of
//!    readers at its last look). So a queued waiter is never stranded.
//! 3. Outside the queue lock the word changes only by fast-path acquires
//!    (which fail while a holder bit, `WQUEUED` or `FIFO` says so), by read
//!    releases, by writers barging into a free lock (`FIFO` clear), and by
//!    writers' releases beside a woken head (invariant 6). The serving code
//!    CASes and re-reads.
//! 4. A waiter that leaves the queue (cancelled, timed out, or woken and now
//!    holding the lock) re-runs the serving step under the same lock: the
//!    readers a cancelled writer held back come in at once (the parking_lot
//!    #465 bug), and a woken head that leaves passes its wake-up on. A
//!    cancelled waiter that had been `GRANTED` releases what it was given
//!    through the ordinary release path (an `Upgrade` goes back to
//!    upgradable-held, which its operation then releases).
//! 5. A node woken in place (node flag `WOKEN`) is one of the head group
//!    and looks past the newcomers' gates (`WQUEUED`, `FIFO`), not past the
//!    holders.
//! 6. The word's `WOKEN` is set only while the queue's head was woken in
//!    place by a serve that found the lock open to it and has not looked
//!    since (its node flag is set, or it cleared it and waits for the queue
//!    lock to look), and `aux`'s deadline is that head's: so a release that
//!    sees it can skip the wake-up. Only [`serve`](RawRwLock::serve) sets
//!    it, under the queue lock, with the deadline stored first and after
//!    waking the group, in one `Release` CAS (`FIFO` clear). Whoever stops
//!    the head from being that woken, unlooked waiter clears it under the
//!    queue lock, *before* deciding anything from the word: the look of a
//!    woken waiter (in the CAS that enters, or alone when it cannot enter),
//!    a hand-off (in the CAS that grants), a waiter leaving the queue (its
//!    `withdrawn`, before serving), an upgrade linking at the front (in the
//!    CAS that sets its flags), and a downgrade (in the CAS that exchanges
//!    the holder bits). A serve that wakes nobody also clears it, in its
//!    last CAS; any `WOKEN` it finds there belongs to a head still queued
//!    and awake, so that needs no care. A writer's release that
//!    finds `WOKEN` and the head within the deadline frees the lock
//!    *without* the queue lock, in one CAS from a word with `WOKEN`, which
//!    fails if any of those came first (it then serves under the queue
//!    lock); if it comes first, the clearer finds the lock free and serves
//!    it. While a writer holds the lock no head group can be let in, so no
//!    serve sets `WOKEN` after the one that may be waking the head as the
//!    writer arrived: the deadline a writer reads after seeing `WOKEN`
//!    (`Acquire`) is the one stored with it.

use core::pin::Pin;
use core::task::Poll;

use crate::engine::driver::{Waitable, impl_future};
use crate::engine::fair::{Fairness, SHORT_DEADLINE_BITS};
use crate::engine::node::WaitCx;
use crate::engine::queue::{QueueGuard, WaitQueue};
use crate::engine::sync::{AtomicU32, Ordering};
use crate::engine::waiter::{Link, Policy, SpinPace, Taken, Waiter};
use crate::engine::wake::WakeList;
use crate::engine::{loom_const_fn, now_micros};

#[cfg(doc)]
use crate::engine::waiter::Link::WaitFirst;

const WRITER: u32 = 1;
const UPGRADABLE: u32 = 2;
const WAITERS: u32 = 4;
const FIFO: u32 = 8;
const WQUEUED: u32 = 16;
const WOKEN: u32 = 32;
const SHIFT: u32 = 6;
const ONE_READER: u32 = 1 << SHIFT;
const READERS: u32 = !(ONE_READER - 1);

/// `aux`: strict hand-off mode (constant).
const STRICT: u32 = 1 << 31;
/// `aux`: the woken head's [`Fairness::short_deadline`], while `WOKEN` is
/// set.
const DEADLINE_SHIFT: u32 = 20;
const DEADLINE: u32 = STRICT - (1 << DEADLINE_SHIFT);
/// `aux`: the number of queued `Write` and `Upgrade` nodes.
const QUEUED_WRITERS: u32 = (1 << DEADLINE_SHIFT) - 1;
const _: () = assert!(DEADLINE >> DEADLINE_SHIFT == (1 << SHORT_DEADLINE_BITS) - 1);

/// The most read locks one `RwLock` can hold at once (`2^26 - 1`); one more
/// `read()` panics.
pub const MAX_READERS: usize = (u32::MAX >> SHIFT) as usize;

/// Node outcome: the lock (of the node's kind) was handed over.
const GRANTED: u32 = 3;

/// What a queued waiter waits for (its node payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A read lock.
    Read,
    /// The write lock.
    Write,
    /// The upgradable read lock.
    Upgradable,
    /// An upgradable reader waiting for the other readers to leave.
    Upgrade,
}

/// The state that `kind` entering `s` leads to, if it may enter: no holder
/// is in its way and none of the `gate` bits is set. A new reader at the
/// count's limit may not enter (see [`MAX_READERS`]).
#[inline]
fn entered(kind: Kind, s: u32, gate: u32) -> Option<u32> {
    match kind {
        Kind::Read => {
            (s & (WRITER | gate) == 0 && s & READERS != READERS).then_some(s + ONE_READER)
        }
        Kind::Upgradable => (s & (WRITER | UPGRADABLE | gate) == 0).then_some(s | UPGRADABLE),
        Kind::Write => (s & (WRITER | UPGRADABLE | READERS | gate) == 0).then_some(s | WRITER),
        Kind::Upgrade => {
            debug_assert!(s & UPGRADABLE != 0, "upgrading without the upgradable lock");
            (s & READERS == 0).then_some((s & !UPGRADABLE) | WRITER)
        }
    }
}

/// What stops a newcomer of `kind` (besides the holders): readers and
/// upgradable readers queue behind a queued writer (or upgrade), and
/// everyone behind a head that may not be overtaken; an upgrade never
/// queues behind anyone.
#[inline]
fn gate(kind: Kind) -> u32 {
    match kind {
        Kind::Read | Kind::Upgradable => WQUEUED | FIFO,
        Kind::Write => FIFO,
        Kind::Upgrade => 0,
    }
}

/// Whether a waiter of `kind` stops new readers while it is queued.
#[inline]
fn stops_readers(kind: Kind) -> bool {
    matches!(kind, Kind::Write | Kind::Upgrade)
}

/// The reader-writer lock without its data.
///
/// `repr(C)`: the state word sits at the lock's address and the data 16
/// bytes on, as in std's `RwLock`. The compiler's order put the queue word
/// first and the state 8 bytes before the data, and an uncontended write
/// (CAS, increment of the data, CAS) took 16.3-17.2 ns against std's
/// 14.2-15.3 in a one-thread loop; 14.4-14.9 with this order. criterion,
/// two runs each: `rwlock/uncontended_write` 15.9/16.0 -> 14.3/14.4 ns
/// (1.07-1.12x -> 1.01x std), `uncontended_read` 13.2/12.5 -> 12.4/12.8
/// (1.03-1.09x -> 1.02-1.04x), the async rows unchanged. (The same change
/// to `RawMutex` moved its blocking row 15.0-15.5 -> 14.1-14.6 ns but its
/// async row 12.7-13.0 -> 15.4-15.7, so it was not kept.)
#[repr(C)]
pub struct RawRwLock {
    state: AtomicU32,
    /// `STRICT` and the count of queued writers and upgrades (changed only
    /// under the queue lock).
    aux: AtomicU32,
    queue: WaitQueue<Kind>,
}

impl RawRwLock {
    loom_const_fn! {
        pub(crate) fn new(fairness: Fairness) -> RawRwLock {
            RawRwLock {
                state: AtomicU32::new(0),
                aux: AtomicU32::new(match fairness {
                    Fairness::Strict => STRICT,
                    Fairness::Barging => 0,
                }),
                queue: WaitQueue::new(),
            }
        }
    }

    #[inline]
    pub(crate) fn fairness(&self) -> Fairness {
        if self.aux.load(Ordering::Relaxed) & STRICT != 0 {
            Fairness::Strict
        } else {
            Fairness::Barging
        }
    }

    // ------------------------------------------------------------ acquire

    /// Takes a read lock if no writer holds or waits for the lock (and no
    /// queued waiter may not be overtaken); never waits.
    ///
    /// # Panics
    ///
    /// If [`MAX_READERS`] read locks are held.
    #[inline]
    pub(crate) fn try_read(&self) -> bool {
        let s = self.state.load(Ordering::Relaxed);
        if s & (WRITER | WQUEUED | FIFO) == 0
            && s & READERS != READERS
            && self
                .state
                .compare_exchange_weak(s, s + ONE_READER, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            return true;
        }
        self.try_read_slow()
    }

    #[cold]
    fn try_read_slow(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & (WRITER | WQUEUED | FIFO) != 0 {
                return false;
            }
            if s & READERS == READERS {
                too_many_readers();
            }
            match self.state.compare_exchange_weak(
                s,
                s + ONE_READER,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(x) => s = x,
            }
        }
    }

    /// Takes the write lock if it is free and no waiter may not be
    /// overtaken (a writer may barge past a woken head within the fairness
    /// bound); never waits.
    #[inline]
    pub(crate) fn try_write(&self) -> bool {
        self.state
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            || self.try_enter_slow(Kind::Write)
    }

    /// Takes the upgradable read lock if nobody holds it or the write lock
    /// and no writer is queued (as `try_read`); never waits.
    #[inline]
    pub(crate) fn try_upgradable(&self) -> bool {
        self.try_enter_slow(Kind::Upgradable)
    }

    /// Turns the caller's upgradable lock into the write lock if no reader
    /// holds the lock; never waits.
    #[inline]
    pub(crate) fn try_upgrade(&self) -> bool {
        self.try_enter_slow(Kind::Upgrade)
    }

    /// The CAS loop of a newcomer of `kind`, stopped by the holders and by
    /// its [`gate`].
    #[inline]
    fn try_enter_slow(&self, kind: Kind) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        while let Some(new) = entered(kind, s, gate(kind)) {
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(x) => s = x,
            }
        }
        false
    }

    // ------------------------------------------------------------ release

    /// Releases a read lock the caller holds.
    #[inline]
    pub(crate) fn unlock_read(&self) {
        let prev = self.state.fetch_sub(ONE_READER, Ordering::Release);
        debug_assert!(prev & READERS != 0, "unlock_read without a read lock");
        // Only a writer or an upgrade waits for the readers to leave.
        if prev & (READERS | WQUEUED) == ONE_READER | WQUEUED {
            self.serve_slow(0);
        }
    }

    /// Releases the write lock the caller holds.
    #[inline]
    pub(crate) fn unlock_write(&self) {
        // With WRITER set the only other bits are WAITERS and FIFO.
        if self
            .state
            .compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_write_slow();
        }
    }

    /// A write release that found waiters: beside a woken head within the
    /// bound it only frees the lock (invariant 6); otherwise it serves.
    #[cold]
    fn unlock_write_slow(&self) {
        if !self.unlock_write_beside_woken() {
            self.serve_slow(WRITER);
        }
    }

    /// Frees the write lock the caller holds if the head group is woken and
    /// has not looked yet, within the fairness bound: one CAS from a word
    /// with `WOKEN`, the call's last access to the lock (invariant 6).
    /// `false`, nothing changed, otherwise: the release must serve.
    #[inline]
    fn unlock_write_beside_woken(&self) -> bool {
        // Acquire: pairs with the serve that set WOKEN after storing the
        // deadline (invariant 6).
        const BESIDE_WOKEN: u32 = WRITER | WOKEN | FIFO;
        let mut s = self.state.load(Ordering::Acquire);
        if s & BESIDE_WOKEN != WRITER | WOKEN {
            return false;
        }
        let deadline = (self.aux.load(Ordering::Relaxed) & DEADLINE) >> DEADLINE_SHIFT;
        if !Fairness::before_short(now_micros(), deadline) {
            return false;
        }
        loop {
            match self.state.compare_exchange_weak(
                s,
                s & !WRITER,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                // Newcomers' flags may change meanwhile; WOKEN may only go.
                Err(x) if x & BESIDE_WOKEN == WRITER | WOKEN => s = x,
                Err(_) => return false,
            }
        }
    }

    /// Releases the upgradable lock the caller holds.
    #[inline]
    pub(crate) fn unlock_upgradable(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            debug_assert!(s & UPGRADABLE != 0, "unlock_upgradable without the lock");
            if s & WAITERS != 0 {
                return self.serve_slow(UPGRADABLE);
            }
            match self.state.compare_exchange_weak(
                s,
                s & !UPGRADABLE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(x) => s = x,
            }
        }
    }

    /// The caller's write lock becomes a read lock; the readers (and an
    /// upgradable reader) at the head of the queue enter with it.
    #[inline]
    pub(crate) fn downgrade_write(&self) {
        self.exchange_held(WRITER, ONE_READER);
    }

    /// The caller's write lock becomes the upgradable read lock; the readers
    /// at the head of the queue enter with it.
    #[inline]
    pub(crate) fn downgrade_write_to_upgradable(&self) {
        self.exchange_held(WRITER, UPGRADABLE);
    }

    /// The caller's upgradable lock becomes a read lock; an upgradable
    /// reader at the head of the queue (and the readers behind it) may
    /// enter.
    #[inline]
    pub(crate) fn downgrade_upgradable(&self) {
        self.exchange_held(UPGRADABLE, ONE_READER);
    }

    /// Replaces the held `from` (`WRITER` or `UPGRADABLE`) with `to` (one
    /// reader, or `UPGRADABLE`); with waiters, under the queue lock, then
    /// serves them. The lock stays held throughout, so no writer can barge.
    #[inline]
    fn exchange_held(&self, from: u32, to: u32) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            debug_assert!(s & from != 0);
            if s & WAITERS != 0 {
                return self.exchange_held_slow(from, to);
            }
            match self.state.compare_exchange_weak(
                s,
                s - from + to,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(x) => s = x,
            }
        }
    }

    #[cold]
    fn exchange_held_slow(&self, from: u32, to: u32) {
        self.queue.with_lock(|q, wakes| {
            let mut s = self.state.load(Ordering::Relaxed);
            loop {
                // The holders change: the serve below decides WOKEN anew
                // (invariant 6).
                match self.state.compare_exchange_weak(
                    s,
                    (s - from + to) & !WOKEN,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(x) => s = x,
                }
            }
            self.serve(q, 0, true, wakes);
        });
    }

    /// Releases a read lock on behalf of anyone (the C ABI). `false`,
    /// changing nothing, if no read lock is held.
    pub(crate) fn unlock_read_checked(&self) -> bool {
        self.unlock_read_checked_with(true)
            .expect("a release that may serve always finishes")
    }

    /// [`unlock_read_checked`](Self::unlock_read_checked) unless it is the
    /// last reader's release with a writer queued: one CAS (or the load
    /// that finds no reader), the call's last access to the lock (the C ABI
    /// relies on it: such a release is not counted as a call in progress).
    /// `None`, nothing changed, when it would have to serve the writer.
    #[inline]
    pub(crate) fn unlock_read_checked_fast(&self) -> Option<bool> {
        self.unlock_read_checked_with(false)
    }

    #[inline]
    fn unlock_read_checked_with(&self, may_serve: bool) -> Option<bool> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & READERS == 0 {
                return Some(false);
            }
            // Only a writer or an upgrade waits for the readers to leave.
            let serve = s & (READERS | WQUEUED) == ONE_READER | WQUEUED;
            if serve && !may_serve {
                return None;
            }
            match self.state.compare_exchange_weak(
                s,
                s - ONE_READER,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if serve {
                        self.serve_slow(0);
                    }
                    return Some(true);
                }
                Err(x) => s = x,
            }
        }
    }

    /// Releases the write lock on behalf of anyone (the C ABI). `false`,
    /// changing nothing, if it is not held.
    pub(crate) fn unlock_write_checked(&self) -> bool {
        self.unlock_write_checked_fast().unwrap_or_else(|| {
            self.queue.with_lock(|q, wakes| {
                // Only the holder clears WRITER; look again under the lock.
                if self.state.load(Ordering::Relaxed) & WRITER == 0 {
                    return false;
                }
                self.serve(q, WRITER, true, wakes);
                true
            })
        })
    }

    /// [`unlock_write_checked`](Self::unlock_write_checked) while nobody is
    /// queued, or beside a woken head (invariant 6): one CAS (or the load
    /// that finds no writer), the call's last access to the lock (the C ABI
    /// relies on it: such a release is not counted as a call in progress).
    /// `None`, nothing changed, when waiters must be served.
    #[inline]
    pub(crate) fn unlock_write_checked_fast(&self) -> Option<bool> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WRITER == 0 {
                return Some(false);
            }
            if s & WAITERS != 0 {
                return self.unlock_write_beside_woken().then_some(true);
            }
            match self.state.compare_exchange_weak(
                s,
                s & !WRITER,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(true),
                Err(x) => s = x,
            }
        }
    }

    /// A release that found `WAITERS`: releases `clear` and serves, under
    /// the queue lock.
    #[cold]
    fn serve_slow(&self, clear: u32) {
        self.queue
            .with_lock(|q, wakes| self.serve(q, clear, true, wakes));
    }

    /// Under the queue lock: releases the holder bit `clear` (`WRITER`,
    /// `UPGRADABLE`, or `0` when the caller already released) and serves the
    /// head group (see the module docs), then recomputes `WAITERS`,
    /// `WQUEUED` and `FIFO`. Looks at one waiter more than it serves or
    /// wakes: O(1) when nobody can come in, whatever the queue length.
    ///
    /// A head group that is handed the lock gets it in the same CAS that
    /// releases `clear`, so no newcomer can slip in between. `release`: a
    /// release (or downgrade) also recomputes `FIFO` from the head's wait; a
    /// waiter leaving keeps it as it was (the next release recomputes it), so
    /// a cancel that serves nobody reads no clock.
    pub(crate) fn serve(
        &self,
        q: &mut QueueGuard<'_, Kind>,
        mut clear: u32,
        release: bool,
        wakes: &mut WakeList,
    ) {
        let strict = self.fairness().is_strict();
        let clock = self.fairness().clock();
        let mut s = self.state.load(Ordering::Acquire);
        // The woken head's deadline, if the head group is woken in place.
        let mut woken = None;
        if let Some(head) = q.front() {
            let kind = head.data;
            if entered(kind, s & !clear, 0).is_some() {
                if kind == Kind::Upgrade || clock.must_hand_off(head) {
                    s = self.grant_run(q, s, clear, wakes);
                } else {
                    // Bounded barging: free the lock first, then wake the
                    // head group in place (it stays queued, and the bound
                    // stays measured on its head).
                    woken = Some(Fairness::short_deadline(head));
                    if clear != 0 {
                        s = self.state.fetch_and(!clear, Ordering::Release) & !clear;
                    }
                    if kind == Kind::Write {
                        q.wake_front(wakes);
                    } else {
                        let mut upgradable = s & UPGRADABLE != 0;
                        q.wake_run(wakes, |n| match n.data {
                            Kind::Read => true,
                            Kind::Upgradable if !upgradable => {
                                upgradable = true;
                                true
                            }
                            _ => false,
                        });
                    }
                }
                clear = 0;
            }
        }
        if clear != 0 {
            s = self.state.fetch_and(!clear, Ordering::Release) & !clear;
        }
        // WAITERS iff queued; WQUEUED iff a writer or upgrade is queued; FIFO
        // iff queued and newcomers may not overtake the head (strict mode,
        // or a head past the bound); WOKEN iff the head group was just woken
        // in place (within the bound, so without FIFO), with its deadline
        // stored first (invariant 6).
        let aux = self.aux.load(Ordering::Relaxed);
        let queued_writers = aux & QUEUED_WRITERS != 0;
        let flags = match q.front() {
            None => 0,
            Some(_) if strict => WAITERS | FIFO,
            Some(_) if woken.is_some() => WAITERS | WOKEN,
            Some(_) if !release => WAITERS | (s & FIFO),
            Some(head) if head.data != Kind::Upgrade && clock.must_hand_off(head) => WAITERS | FIFO,
            Some(_) => WAITERS,
        } | if queued_writers { WQUEUED } else { 0 };
        debug_assert!(flags & WAITERS != 0 || !queued_writers);
        if let Some(d) = woken {
            self.aux
                .store((aux & !DEADLINE) | (d << DEADLINE_SHIFT), Ordering::Relaxed);
        }
        const FLAGS: u32 = WAITERS | WQUEUED | FIFO | WOKEN;
        let mut s = self.state.load(Ordering::Relaxed);
        // Clearing a WOKEN found here is safe: whoever removed the head it
        // was set for cleared it first (invariant 6), so its head is still
        // queued and awake, and a writer that frees the lock beside it
        // meanwhile strands nobody.
        while s & FLAGS != flags {
            match self.state.compare_exchange_weak(
                s,
                (s & !FLAGS) | flags,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(x) => s = x,
            }
        }
    }

    /// Hands the lock to the head group: the head, and behind a reader the
    /// run of readers (and an upgradable reader) that fit, each in the CAS
    /// that also releases `clear` the first time. Returns the state after.
    fn grant_run(
        &self,
        q: &mut QueueGuard<'_, Kind>,
        mut s: u32,
        mut clear: u32,
        wakes: &mut WakeList,
    ) -> u32 {
        while let Some(head) = q.front() {
            let kind = head.data;
            // The head group is let in: the head it woke is gone (the
            // first CAS clears WOKEN, invariant 6).
            let Some(new) = entered(kind, s & !clear, 0).map(|n| n & !WOKEN) else {
                break;
            };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    s = new;
                    clear = 0;
                }
                Err(x) => {
                    s = x;
                    continue;
                }
            }
            q.pop_front(wakes, |_| Some(GRANTED));
            if stops_readers(kind) {
                self.aux.fetch_sub(1, Ordering::Relaxed);
                break; // exclusive: nobody else now
            }
        }
        if clear != 0 {
            s = self.state.fetch_and(!clear, Ordering::Release) & !clear;
        }
        s
    }

    // ------------------------------------------------------------ introspection

    /// Read locks held now (a snapshot).
    #[inline]
    pub(crate) fn readers(&self) -> usize {
        (self.state.load(Ordering::Relaxed) >> SHIFT) as usize
    }

    /// Whether a writer holds the lock now (a snapshot).
    #[inline]
    pub(crate) fn is_write_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & WRITER != 0
    }

    /// Whether an upgradable reader holds the lock now (a snapshot).
    #[inline]
    pub(crate) fn is_upgradable_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & UPGRADABLE != 0
    }

    /// Whether anyone holds the lock now (a snapshot).
    #[inline]
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & (WRITER | UPGRADABLE | READERS) != 0
    }

    /// Threads and tasks queued (walks the queue: introspection only).
    pub(crate) fn n_waiting(&self) -> usize {
        self.queue.lock().len()
    }
}

#[cold]
#[track_caller]
fn too_many_readers() -> ! {
    panic!("RwLock: too many read locks (MAX_READERS)")
}

/// `aux` counts queued writers in 20 bits.
#[cold]
#[track_caller]
fn too_many_writers() -> ! {
    panic!("RwLock: too many queued writers (2^20 - 1)")
}

impl Policy for RawRwLock {
    type Data = Kind;
    type Output = ();
    const STAMPS: bool = true;

    #[inline]
    fn queue(&self) -> &WaitQueue<Kind> {
        &self.queue
    }

    #[inline]
    fn try_now(&self, kind: &Kind, _: &WaitCx<'_, '_>) -> Option<()> {
        match kind {
            Kind::Read => self.try_read(),
            Kind::Write => self.try_write(),
            Kind::Upgradable => self.try_upgradable(),
            Kind::Upgrade => self.try_upgrade(),
        }
        .then_some(())
    }

    /// A waiter woken in place (one of the head group) looks past the
    /// newcomers' gates: they are there to keep newcomers behind it
    /// (invariant 5).
    /// Either way it clears the word's `WOKEN`: it has looked, so the next
    /// release must wake it again (invariant 6).
    #[inline]
    fn try_linked(
        &self,
        _: &mut QueueGuard<'_, Kind>,
        kind: &Kind,
        _: &WaitCx<'_, '_>,
    ) -> Option<()> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let (new, entered) = match entered(*kind, s, 0) {
                Some(new) => (new & !WOKEN, true),
                None if s & WOKEN != 0 => (s & !WOKEN, false),
                None => return None,
            };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return entered.then_some(()),
                Err(x) => s = x,
            }
        }
    }

    /// A lock: a first look that finds it still taken is a holder's
    /// burst (see `engine::waiter::spin_until`).
    const SPIN_PACE: SpinPace = SpinPace::Held;

    /// A thread spins before it queues while nobody is queued and the lock
    /// may soon let it in (bounded-barging mode); an upgrade spins while
    /// readers are inside, in either mode (nobody can overtake it). A writer
    /// does not spin while readers are inside: spinning would not stop new
    /// readers, queueing does.
    #[inline]
    fn spin_check(&self, kind: &Kind) -> Option<bool> {
        let s = self.state.load(Ordering::Relaxed);
        if *kind == Kind::Upgrade {
            return Some(s & READERS == 0);
        }
        if self.fairness().is_strict() || s & WAITERS != 0 {
            return None;
        }
        if *kind == Kind::Write && s & (READERS | UPGRADABLE) != 0 {
            return None;
        }
        Some(entered(*kind, s, 0).is_some())
    }

    fn enqueue(
        &self,
        _: &mut QueueGuard<'_, Kind>,
        kind: &Kind,
        _front: bool,
        _: &mut WakeList,
    ) -> Link<()> {
        let kind = *kind;
        let mut flags = WAITERS;
        if self.fairness().is_strict() {
            flags |= FIFO;
        }
        if stops_readers(kind) {
            if self.aux.load(Ordering::Relaxed) & QUEUED_WRITERS == QUEUED_WRITERS {
                too_many_writers();
            }
            flags |= WQUEUED;
        }
        // An upgrade becomes the head in front of a woken group: WOKEN goes
        // (invariant 6).
        let unwoken = if kind == Kind::Upgrade { !WOKEN } else { !0 };
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            // Under the queue lock the flags say exactly who is queued, so
            // the newcomer's gate is the queue's state.
            if let Some(new) = entered(kind, s, gate(kind)) {
                match self
                    .state
                    .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
                {
                    Ok(_) => return Link::Done(()),
                    Err(x) => {
                        s = x;
                        continue;
                    }
                }
            }
            // Blocked: say so in the same CAS that checks the state we were
            // blocked by (invariant 2).
            let new = (s | flags) & unwoken;
            if new != s
                && let Err(x) =
                    self.state
                        .compare_exchange_weak(s, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                s = x;
                continue;
            }
            if stops_readers(kind) {
                self.aux.fetch_add(1, Ordering::Relaxed);
            }
            return if kind == Kind::Upgrade {
                Link::WaitFirst
            } else {
                Link::Wait
            };
        }
    }

    /// The only outcome: the lock of the node's kind was handed over.
    #[inline]
    fn take(&self, _: &Kind, outcome: u32) -> Taken<()> {
        debug_assert_eq!(outcome, GRANTED);
        Taken::Done(())
    }

    /// A granted lock is released again, serving the next waiters; a
    /// granted upgrade goes back to the upgradable lock it came from (its
    /// operation then releases that).
    fn pass_on(&self, kind: &Kind, outcome: u32) {
        debug_assert_eq!(outcome, GRANTED);
        match kind {
            Kind::Read => self.unlock_read(),
            Kind::Write => self.unlock_write(),
            Kind::Upgradable => self.unlock_upgradable(),
            Kind::Upgrade => self.downgrade_write_to_upgradable(),
        }
    }

    /// A waiter left (cancelled, timed out, or woken and now holding the
    /// lock): whoever it held back is served now (invariant 4).
    /// The woken head may be the one that left: `WOKEN` goes first, before
    /// serving looks at the word (invariant 6), so that a writer's release
    /// from then on serves under the queue lock, and one that came before
    /// leaves the lock free for this serve to see.
    fn withdrawn(&self, q: &mut QueueGuard<'_, Kind>, kind: &Kind, wakes: &mut WakeList) {
        if stops_readers(*kind) {
            self.aux.fetch_sub(1, Ordering::Relaxed);
        }
        if self.state.load(Ordering::Relaxed) & WOKEN != 0 {
            self.state.fetch_and(!WOKEN, Ordering::Relaxed);
        }
        self.serve(q, 0, false, wakes);
    }
}

/// The policy of one kind of wait with the kind a constant (`K` is a
/// [`Kind`] as `u8`): the operations poll through it, so that the first
/// try of `read().block()` is the read fast path itself, inlined, not a
/// dispatch on the node's payload. Everything else is the lock's own
/// policy (which reads the kind from the payload, as cancelling does).
pub(crate) struct As<'a, const K: u8>(pub(crate) &'a RawRwLock);

/// `K` of [`As`] for each kind.
pub(crate) const READ: u8 = Kind::Read as u8;
pub(crate) const WRITE: u8 = Kind::Write as u8;
pub(crate) const UPGRADABLE_READ: u8 = Kind::Upgradable as u8;
pub(crate) const UPGRADE: u8 = Kind::Upgrade as u8;

impl<const K: u8> Policy for As<'_, K> {
    type Data = Kind;
    type Output = ();
    const STAMPS: bool = <RawRwLock as Policy>::STAMPS;

    #[inline]
    fn queue(&self) -> &WaitQueue<Kind> {
        &self.0.queue
    }

    #[inline(always)]
    fn try_now(&self, kind: &Kind, _: &WaitCx<'_, '_>) -> Option<()> {
        debug_assert_eq!(*kind as u8, K);
        match K {
            READ => self.0.try_read(),
            WRITE => self.0.try_write(),
            UPGRADABLE_READ => self.0.try_upgradable(),
            _ => self.0.try_upgrade(),
        }
        .then_some(())
    }

    #[inline]
    fn try_linked(
        &self,
        q: &mut QueueGuard<'_, Kind>,
        kind: &Kind,
        cx: &WaitCx<'_, '_>,
    ) -> Option<()> {
        self.0.try_linked(q, kind, cx)
    }

    /// A lock: a first look that finds it still taken is a holder's
    /// burst (see `engine::waiter::spin_until`).
    const SPIN_PACE: SpinPace = SpinPace::Held;

    #[inline]
    fn spin_check(&self, kind: &Kind) -> Option<bool> {
        self.0.spin_check(kind)
    }

    fn enqueue(
        &self,
        q: &mut QueueGuard<'_, Kind>,
        kind: &Kind,
        front: bool,
        wakes: &mut WakeList,
    ) -> Link<()> {
        self.0.enqueue(q, kind, front, wakes)
    }

    #[inline]
    fn take(&self, kind: &Kind, outcome: u32) -> Taken<()> {
        self.0.take(kind, outcome)
    }

    fn pass_on(&self, kind: &Kind, outcome: u32) {
        self.0.pass_on(kind, outcome)
    }

    fn withdrawn(&self, q: &mut QueueGuard<'_, Kind>, kind: &Kind, wakes: &mut WakeList) {
        self.0.withdrawn(q, kind, wakes)
    }
}

/// Acquiring a [`RawRwLock`] for reading or writing (the C ABI); the
/// output is the lock itself (no guard: the caller releases it with
/// `unlock_read` / `unlock_write`).
#[must_use = "an operation does nothing until awaited or blocked on"]
pub(crate) struct RawAcquire<'a> {
    raw: &'a RawRwLock,
    waiter: Waiter<Kind>,
}

impl RawRwLock {
    /// The read (`Kind::Read`) or write (`Kind::Write`) operation.
    #[inline]
    pub(crate) fn acquire(&self, kind: Kind) -> RawAcquire<'_> {
        debug_assert!(matches!(kind, Kind::Read | Kind::Write));
        RawAcquire {
            raw: self,
            waiter: Waiter::new(kind),
        }
    }
}

impl Waitable for RawAcquire<'_> {
    type Output = ();

    #[inline]
    fn poll_wait(self: Pin<&mut Self>, cx: &mut WaitCx<'_, '_>) -> Poll<()> {
        let this = self.into_ref().get_ref();
        this.waiter.poll(this.raw, cx)
    }

    fn wait_state(self: Pin<&Self>) -> &AtomicU32 {
        self.get_ref().waiter.state_word()
    }

    fn is_terminated(&self) -> bool {
        self.waiter.is_finished()
    }
}

impl Drop for RawAcquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.waiter.cancel(self.raw);
    }
}

impl_future!(impl['a] RawAcquire<'a> => ());

#[cfg(not(loom))]
const _: () = assert!(MAX_READERS == (1 << 26) - 1);
