//! The shared engine: the loom facade, the intrusive FIFO waiter queue, and
//! the operation driver (`.await` / `.block()` / `.block_for()` /
//! `.block_until()`). Every primitive is written on top of these.

pub(crate) mod driver;
pub(crate) mod queue;
pub(crate) mod sync;

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
