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
///
/// Read by every release that has to decide whether a waiter may still be
/// overtaken, so its cost is on the contended paths: on x86-64, where the
/// kernel keeps time with the TSC, it is one `rdtsc` and a multiply (about
/// 10 ns here, against 25 ns for `Instant::now`); elsewhere `Instant`.
#[inline]
pub(crate) fn now_micros() -> u32 {
    // Loom replays executions and needs them deterministic: no wall clock.
    #[cfg(loom)]
    {
        0
    }
    #[cfg(not(loom))]
    {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if let Some(tsc) = tsc::clock() {
            return tsc.micros();
        }
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        let epoch = *EPOCH.get_or_init(Instant::now);
        Instant::now().saturating_duration_since(epoch).as_micros() as u32
    }
}

/// The time-stamp counter as a microsecond clock.
#[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
mod tsc {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// `micros = (rdtsc - base) * mult >> 32`.
    pub(super) struct Tsc {
        base: u64,
        mult: u64,
    }

    impl Tsc {
        #[inline]
        pub(super) fn micros(&self) -> u32 {
            let ticks = read().wrapping_sub(self.base);
            ((u128::from(ticks) * u128::from(self.mult)) >> 32) as u32
        }
    }

    #[inline]
    fn read() -> u64 {
        // SAFETY: `rdtsc` exists on every x86-64 processor and has no
        // preconditions; it only reads the counter.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    /// The calibrated clock, or `None` where the TSC may not be trusted.
    #[inline]
    pub(super) fn clock() -> Option<&'static Tsc> {
        static TSC: OnceLock<Option<Tsc>> = OnceLock::new();
        TSC.get_or_init(calibrate).as_ref()
    }

    /// An `Instant` and the TSC read at the same moment: the TSC read just
    /// before and just after, their midpoint taken, and the pair thrown away
    /// when the two reads are far apart (the thread was preempted between
    /// them). `None` if that keeps happening.
    fn pair() -> Option<(Instant, u64)> {
        for _ in 0..100 {
            let a = read();
            let i = Instant::now();
            let b = read();
            if b.wrapping_sub(a) < 5_000 {
                return Some((i, a + (b - a) / 2));
            }
        }
        None
    }

    /// Used only where the kernel's own clocksource is the TSC: the kernel
    /// chose it because it is invariant and synchronized across CPUs, so
    /// stamps taken on different CPUs compare. Calibrated once against
    /// `Instant` over 200 µs, between two tightly bracketed readings (at
    /// most a few microseconds of error at the ends: about 1 % in the worst
    /// case, well inside what a 500 µs bound needs).
    #[cold]
    fn calibrate() -> Option<Tsc> {
        // Read into a stack buffer: no heap allocation (the operations'
        // "one allocation per wait" holds from the first wait on).
        let mut buf = [0u8; 16];
        let n = std::io::Read::read(
            &mut std::fs::File::open(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .ok()?,
            &mut buf,
        )
        .ok()?;
        if buf[..n].trim_ascii() != b"tsc" {
            return None;
        }
        let (i0, t0) = pair()?;
        while i0.elapsed() < Duration::from_micros(200) {
            core::hint::spin_loop();
        }
        let (i1, t1) = pair()?;
        let ticks = t1.checked_sub(t0).filter(|&t| t > 0)?;
        let nanos = i1.duration_since(i0).as_nanos();
        let mult = (nanos << 32) / (u128::from(ticks) * 1000);
        Some(Tsc {
            base: t0,
            mult: u64::try_from(mult).ok().filter(|&m| m > 0)?,
        })
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
