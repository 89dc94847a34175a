//! The shared engine. Every primitive is written on top of it:
//!
//! * [`node`]: the waiter node that lives in an operation value, and who is
//!   waiting ([`node::WaitCx`]: a task's context or a thread);
//! * [`queue`]: the intrusive FIFO waiter queue (one word, its own spin
//!   lock), with [`queue::WaitQueue::with_lock`] and
//!   [`queue::QueueGuard::pop_front`] for the primitives;
//! * [`wake`]: wake-ups gathered under the lock and run after it;
//! * [`waiter`]: the whole waiting lifecycle (try, spin, queue, re-poll,
//!   cancel, pass on, finish) over a small per-primitive
//!   [`waiter::Policy`];
//! * [`fair`]: the fairness policy (bounded barging or strict hand-off);
//! * [`driver`]: `.await` / `.block()` / `.block_for()` / `.block_until()`;
//! * [`sync`]: the loom facade.
//!
//! Dependencies point one way: `sync` ← `node` ← `wake` ← `queue` ←
//! `waiter`, `fair`, `driver`.

pub(crate) mod driver;
pub(crate) mod fair;
pub(crate) mod node;
pub(crate) mod queue;
pub(crate) mod sync;
pub(crate) mod waiter;
pub(crate) mod wake;

#[cfg(all(test, loom))]
mod loom_defects;
#[cfg(test)]
mod tests;

#[cfg(not(loom))]
use std::sync::OnceLock;
#[cfg(not(loom))]
use std::time::Instant;

/// Microseconds since the first call, wrapping every ~71 minutes: a compact
/// timestamp for fairness bounds (compare with `wrapping_sub`).
#[inline]
pub(crate) fn now_micros() -> u32 {
    // Loom replays executions and needs them deterministic: no wall clock.
    #[cfg(loom)]
    {
        0
    }
    #[cfg(not(loom))]
    {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        let epoch = *EPOCH.get_or_init(Instant::now);
        Instant::now().saturating_duration_since(epoch).as_micros() as u32
    }
}

/// Defines a `const fn` normally and a plain `fn` under loom, whose atomics
/// cannot be built in const context.
macro_rules! loom_const_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($args:tt)*) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$m])*
        $vis const fn $name($($args)*) -> $ret $body
        #[cfg(loom)]
        $(#[$m])*
        $vis fn $name($($args)*) -> $ret $body
    };
}
pub(crate) use loom_const_fn;

/// A loom model builder with room for the queue lock's bounded spin, which
/// costs loom branches (loom's default limit, 1000, is too tight for models
/// whose waiters spin before they queue).
#[cfg(all(test, loom))]
pub(crate) fn loom_builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.max_branches = b.max_branches.max(20_000);
    b
}

/// `loom::model` with the branch room of [`loom_builder`].
#[cfg(all(test, loom))]
pub(crate) fn loom_model(f: impl Fn() + Sync + Send + 'static) {
    loom_builder().check(f);
}
